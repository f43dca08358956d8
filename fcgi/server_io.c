/*
 * server_io: connections. Each responder thread takes events from the
 * shared epoll set, reads requests without blocking and answers each
 * whole one itself. See server_int.h.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "http.h"
#include "job.h"
#include "route.h"
#include "server_int.h"

/*
 * The configured body limit, read through a reference on the current
 * generation (a reload may free the one before). Any thread.
 */
static long
server_max_body(struct server *s)
{
	struct app_gen	*gen = app_hold(s->app);
	long		 max = app_gen_conf(gen)->max_request_body;

	app_release(s->app, gen);
	return max;
}

/* Bytes a thread reads from one connection before it looks at others. */
#define SERVER_READ_TURN	(256 * 1024)

/* The bound on requests in progress under a body limit of max_body. */
static int
pending_for(struct server *s, long max_body)
{
	long	 n = SERVER_PENDING_BYTES / (SERVER_PARAMS_MAX + max_body);

	/* Never below what the threads answer at once, plus a queue. */
	if (n < 2L * s->threads)
		n = 2L * s->threads;
	return n > 1024 ? 1024 : (int)n;
}

int
server_pending_max(struct server *s)
{
	return pending_for(s, server_max_body(s));
}

/* The limits of a connection's next request; one look at the config. */
static void
conn_limits(struct server *s, struct fcgi_rec_limits *l)
{
	long	 max_body = server_max_body(s);

	l->params_max = SERVER_PARAMS_MAX;
	l->stdin_max = (size_t)max_body;
	l->max_conns = s->conns_max;
	l->max_reqs = pending_for(s, max_body);
}

/* Closes c and frees it; the caller took it off any list and counter. */
static void
conn_free(struct server *s, struct conn *c)
{
	/* Before close: the descriptor may be reused by the next accept. */
	atomic_store(&s->conns[c->fd], NULL);
	close(c->fd);
	fcgi_rec_free(&c->p);
	buf_free(&c->in);
	free(c);
	atomic_fetch_sub(&s->nconns, 1);
}

/*
 * Writes the niov buffers of iov to fd (iov is consumed), waiting up to
 * SERVER_WRITE_TIMEOUT_S each time the peer's buffer is full (wait 0:
 * none). 0, or -1.
 */
static int
writev_all(int fd, struct iovec *iov, int niov, int wait)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLOUT };
	ssize_t		 n;

	while (niov > 0) {
		if (iov->iov_len == 0) {
			iov++;
			niov--;
			continue;
		}
		if ((n = writev(fd, iov, niov)) > 0) {
			for (; niov > 0 && (size_t)n >= iov->iov_len; niov--)
				n -= (ssize_t)(iov++)->iov_len;
			if (niov > 0) {
				iov->iov_base = (char *)iov->iov_base + n;
				iov->iov_len -= (size_t)n;
			}
		} else if (n == -1 && errno == EINTR)
			continue;
		else if (n == -1 && errno == EAGAIN && wait &&
		    poll(&pfd, 1, SERVER_WRITE_TIMEOUT_S * 1000) == 1)
			continue;
		else
			return -1;
	}
	return 0;
}

/* The same for len bytes at p. */
static int
write_all(int fd, const void *p, size_t len, int wait)
{
	struct iovec	 iov = { (void *)p, len };

	return writev_all(fd, &iov, 1, wait);
}

/*
 * Writes wire, then body (when not NULL: len bytes, already framed by
 * the record header ending wire), then tail, and empties wire and tail;
 * nothing once an earlier write failed. One system call when the
 * socket takes it all, and the body is not copied.
 */
static void
flush_parts(struct conn *c, struct buf *wire, const char *body, size_t len,
    struct buf *tail)
{
	struct iovec	 iov[3] = {
		{ wire->data, wire->len }, { (void *)body, body ? len : 0 },
		{ tail != NULL ? tail->data : NULL, tail != NULL ? tail->len : 0 }
	};

	if (!c->broken && (!buf_ok(wire) || (tail != NULL && !buf_ok(tail)) ||
	    writev_all(c->fd, iov, 3, 1) == -1))
		c->broken = 1;
	buf_reset(wire);
	if (tail != NULL)
		buf_reset(tail);
}

/* Writes and empties wire, unless an earlier write failed. */
static void
flush(struct conn *c, struct buf *wire)
{
	flush_parts(c, wire, NULL, 0, NULL);
}

/*
 * Writes len bytes of f (opened when the answer was decided) as STDOUT
 * records of at most 65535 bytes, read straight behind their header. If
 * the file shrank meanwhile the answer is short and nginx sees the
 * mismatch with Content-Length: nothing better can be done once the
 * headers are out.
 */
static void
stream_file(struct conn *c, FILE *f, size_t len)
{
	static const size_t	 max = FCGI_REC_MAX_CONTENT;
	unsigned char		*chunk;
	size_t			 n, left = len;

	if ((chunk = malloc(FCGI_REC_HEADER_LEN + max)) == NULL) {
		c->broken = 1;
		return;
	}
	while (left > 0 && !c->broken && (n = fread(chunk +
	    FCGI_REC_HEADER_LEN, 1, left < max ? left : max, f)) > 0) {
		fcgi_rec_header(chunk, FCGI_REC_STDOUT, c->p.req.id, n);
		if (write_all(c->fd, chunk, FCGI_REC_HEADER_LEN + n, 1) == -1)
			c->broken = 1;
		left -= n;
	}
	free(chunk);
}

static const char oom_answer[] = "Status: 500 Internal Server Error\r\n"
    HTTP_HARDENING_HEADERS
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n"
    "out of memory\n";

/*
 * Checks the body against CONTENT_LENGTH and the limit it was read under
 * and moves it into req. 0, or an HTTP status with a message in err.
 */
static int
take_body(struct fcgi_rec_req *fr, struct http_req *req, char *err,
    size_t errlen)
{
	size_t	 len;
	int	 st;

	/* The limit it was read under (conn_limits): no second look. */
	if ((st = http_body_length(req, (long)fr->stdin_max, &len, err,
	    errlen)) != 0)
		return st;
	if (len == 0)
		return 0;
	if (fr->stdin_total < len) {
		snprintf(err, errlen, "request body shorter than its "
		    "Content-Length");
		return 400;
	}
	/* Bytes past Content-Length are dropped, as before. */
	req->body_len = len;
	req->body = buf_take(&fr->body);
	req->body[len] = '\0';
	return 0;
}

/* Decides the answer to the request on c. m: the route it took. */
static int
answer(struct server *s, struct conn *c, struct http_req *req,
    struct route_match *m, struct http_resp *resp)
{
	char	 allow[32], err[160];
	int	 st;

	if (c->p.req.params_over) {
		app_error(s->app, req, 431, "request parameters (headers) too "
		    "large", resp);
		return 0;
	}
	m->head = strcmp(req->method, "HEAD") == 0;
	st = route_find(req->method, req->path, m, allow, sizeof(allow));
	if (st == 405) {
		http_resp_header(resp, "Allow", allow);
		app_error(s->app, req, 405, "this method is not allowed here",
		    resp);
		return 0;
	}
	if (st != 200) {
		app_error(s->app, req, 404, "not found", resp);
		return 0;
	}
	if ((st = take_body(&c->p.req, req, err, sizeof(err))) != 0)
		app_error(s->app, req, st, err, resp);
	else
		app_handle(s->app, req, m, resp);
	return 1;
}

/* Answers the whole request on c, ending it with END_REQUEST. */
static void
serve_one(struct server *s, struct conn *c)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct route_match	 m;
	struct buf		 head, wire, tail;
	unsigned char		 h[FCGI_REC_HEADER_LEN];
	const char		*apart = NULL;
	unsigned		 id = c->p.req.id;
	int			 routed = 0;
	int64_t			 t0 = job_mono_ns();

	http_resp_init(&resp);
	buf_init(&head);
	buf_init(&wire);
	buf_init(&tail);
	memset(&m, 0, sizeof(m));
	if (http_req_init(&req, c->p.req.envp) == -1)
		http_resp_text(&resp, 500, "out of memory");
	else
		routed = answer(s, c, &req, &m, &resp);
	/* Head, then the body from where it was built. */
	http_resp_serialize(&resp, m.head, 1, &head);
	if (buf_ok(&head) && buf_ok(&resp.body)) {
		fcgi_rec_put(&wire, FCGI_REC_STDOUT, id, head.data, head.len);
		/* A body of one record is written from where it was built. */
		if (!m.head && resp.file == NULL && resp.body.len > 0 &&
		    resp.body.len <= FCGI_REC_MAX_CONTENT) {
			fcgi_rec_header(h, FCGI_REC_STDOUT, id, resp.body.len);
			buf_append(&wire, h, sizeof(h));
			apart = resp.body.data;
		} else if (!m.head && resp.file == NULL && resp.body.len > 0)
			fcgi_rec_put(&wire, FCGI_REC_STDOUT, id,
			    resp.body.data, resp.body.len);
	} else
		fcgi_rec_put(&wire, FCGI_REC_STDOUT, id, oom_answer,
		    sizeof(oom_answer) - 1);
	if (resp.file != NULL && !m.head) {
		flush(c, &wire);
		stream_file(c, resp.file, resp.file_len);
	}
	fcgi_rec_put(&tail, FCGI_REC_STDOUT, id, NULL, 0);
	fcgi_rec_put_end(&tail, id, FCGI_REC_REQUEST_COMPLETE);
	flush_parts(c, &wire, apart, resp.body.len, &tail);
	app_count_request(s->app, resp.status);
	if (!s->quiet)
		fprintf(stderr, "level=info method=%s path=%.200s status=%d "
		    "route=%s us=%lld\n", req.method ? req.method : "-",
		    req.path ? req.path : "-", resp.status,
		    routed ? route_name(m.id) : "-",
		    (long long)(job_mono_ns() - t0) / 1000);
	buf_free(&tail);
	buf_free(&wire);
	buf_free(&head);
	http_resp_free(&resp);
	http_req_free(&req);
}

/* Tells a thread a slot freed, when connections wait for one. */
static void
wake_parked(struct server *s)
{
	uint64_t	 one = 1;

	if (atomic_load(&s->nparked) > 0 &&
	    write(s->wake_fd, &one, sizeof(one)) != sizeof(one))
		return;	/* already readable (EAGAIN): it will look anyway */
}

/* Arms c in the epoll set for its next bytes; 0, or -1. */
static int
conn_arm(struct server *s, struct conn *c)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = c;
	return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

/* Takes c off the reading list, if it is there. */
static void
io_unlist(struct server *s, struct conn *c)
{
	/* Only its owner lists it; 0 is the expirer's last touch. */
	if (!atomic_load(&c->listed))
		return;
	pthread_mutex_lock(&s->iolock);
	if (atomic_load(&c->listed)) {
		TAILQ_REMOVE(&s->reading, c, entry);
		atomic_store(&c->listed, 0);
		atomic_fetch_sub(&s->nreading, 1);
	}
	pthread_mutex_unlock(&s->iolock);
}

/* The owner closes c, in whatever state it holds it. */
static void
io_close(struct server *s, struct conn *c)
{
	io_unlist(s, c);
	if (c->state == CONN_READING) {
		atomic_fetch_sub(&s->pending, 1);
		wake_parked(s);
	}
	conn_free(s, c);
}

/*
 * Answers the request on c, then hands the connection back to the epoll
 * set (nginx asked to keep it and all went well) or closes it. 1 when
 * c stays in this thread's hands instead: kept, and bytes of its next
 * request were read already (the epoll set would not tell of them).
 */
static int
serve_conn(struct server *s, struct conn *c)
{
	int	 keep, held = 0;

	c->state = CONN_SERVING;
	app_responder_busy(s->app, 1);
	serve_one(s, c);
	app_responder_busy(s->app, -1);
	keep = c->p.req.keep_conn && !c->broken &&
	    !atomic_load(&s->stopping);
	fcgi_rec_reset(&c->p, NULL);
	c->state = CONN_IDLE;
	atomic_fetch_sub(&s->pending, 1);
	/* From conn_arm on, another thread may have it. */
	if (keep && c->in.len > 0)
		held = 1;
	else if (!keep || conn_arm(s, c) == -1)
		conn_free(s, c);
	wake_parked(s);
	return held;
}

/*
 * Keeps the state of c in step with its parser after bytes were fed: a
 * request (or record) started, with its deadline, or back to idle.
 */
static void
io_settle(struct server *s, struct conn *c)
{
	int	 idle = fcgi_rec_idle(&c->p);

	if (c->state == CONN_IDLE && !idle) {
		c->state = CONN_READING;
		c->deadline = job_mono_ns() +
		    (int64_t)SERVER_REQUEST_DEADLINE_S * 1000000000;
		atomic_fetch_add(&s->pending, 1);
	} else if (c->state == CONN_READING && idle) {
		io_unlist(s, c);
		c->state = CONN_IDLE;
		atomic_fetch_sub(&s->pending, 1);
		wake_parked(s);
	}
}

/*
 * Parks idle c when the bound on requests in progress (max, from the
 * limits of its next request) is reached, so its next request is not
 * read yet. 1 when parked (c is the list's then).
 */
static int
io_park(struct server *s, struct conn *c, int max)
{
	if (atomic_load(&s->pending) < max)
		return 0;
	/* Counted before the second look, so a thread freeing a slot
	 * meanwhile sees it and wakes one. */
	atomic_fetch_add(&s->nparked, 1);
	if (atomic_load(&s->pending) < max) {
		atomic_fetch_sub(&s->nparked, 1);
		return 0;
	}
	c->state = CONN_PARKED;
	pthread_mutex_lock(&s->iolock);
	TAILQ_INSERT_TAIL(&s->parked, c, entry);
	pthread_mutex_unlock(&s->iolock);
	return 1;
}

/*
 * Feeds n bytes of buf read from c; 0 to go on (with c->in first, when
 * not empty), 1 when c left this thread's hands (answered, closed).
 */
static int
io_feed(struct server *s, struct conn *c, const char *buf, size_t n)
{
	enum fcgi_rec_status	 st;
	size_t			 used;

	st = fcgi_rec_feed(&c->p, buf, n, &used);
	/* A whole request and more: the rest is the next one's. */
	if (st == FCGI_REC_READY && used < n) {
		buf_append(&c->in, buf + used, n - used);
		if (!buf_ok(&c->in))	/* out of memory: lost bytes */
			st = FCGI_REC_CLOSE;
	}
	/* Answers of our own (GET_VALUES, refusals) are small: a peer that
	 * does not take them is closed rather than waited for. */
	if (c->p.out.len > 0) {
		if (!buf_ok(&c->p.out) || write_all(c->fd, c->p.out.data,
		    c->p.out.len, 0) == -1)
			st = FCGI_REC_CLOSE;
		buf_reset(&c->p.out);
	}
	if (st == FCGI_REC_READY) {
		io_unlist(s, c);
		/* Whole, but after its deadline: closed as it would have
		 * been a moment earlier. */
		if (atomic_load(&c->expired))
			st = FCGI_REC_CLOSE;
	}
	if (st == FCGI_REC_CLOSE) {
		io_close(s, c);
		return 1;
	}
	io_settle(s, c);
	if (st == FCGI_REC_READY)
		return !serve_conn(s, c);
	return 0;
}

/*
 * Puts c, whose request is still partial, on the reading list (for its
 * deadline) before it goes back to the epoll set. The list stays in
 * deadline order but for the few microseconds of a turn.
 */
static void
io_list(struct server *s, struct conn *c)
{
	if (c->state != CONN_READING || atomic_load(&c->listed))
		return;
	pthread_mutex_lock(&s->iolock);
	TAILQ_INSERT_TAIL(&s->reading, c, entry);
	atomic_store(&c->listed, 1);
	atomic_fetch_add(&s->nreading, 1);
	pthread_mutex_unlock(&s->iolock);
}

/*
 * The next bytes of c into scratch: those read before (c->in), else
 * what the socket has, at most SERVER_SCRATCH. As read(2).
 */
static ssize_t
io_next(struct conn *c, char *scratch)
{
	ssize_t	 n;

	if (c->in.len == 0)
		return read(c->fd, scratch, SERVER_SCRATCH);
	/* Never more than one read left over: it fits. */
	n = (ssize_t)c->in.len;
	memcpy(scratch, c->in.data, c->in.len);
	buf_free(&c->in);	/* rare: an idle connection holds nothing */
	return n;
}

/*
 * Reads what c has, without blocking, up to SERVER_READ_TURN bytes,
 * answering each request as it is whole; then arms it for more, or
 * closes it. scratch: this thread's SERVER_SCRATCH bytes.
 */
static void
io_read(struct server *s, struct conn *c, char *scratch)
{
	struct fcgi_rec_limits	 lim;
	size_t			 turn = 0;
	ssize_t			 n;

	if (atomic_load(&c->expired)) {
		io_close(s, c);
		return;
	}
	/* Bytes in c->in are fed before it goes back: epoll would not
	 * tell of them. */
	while (turn < SERVER_READ_TURN || c->in.len > 0) {
		if (c->state == CONN_IDLE) {
			conn_limits(s, &lim);
			if (io_park(s, c, lim.max_reqs))
				return;
			fcgi_rec_reset(&c->p, &lim);
		}
		if ((n = io_next(c, scratch)) > 0) {
			turn += (size_t)n;
			if (io_feed(s, c, scratch, (size_t)n))
				return;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN)
			break;
		io_close(s, c);	/* the peer closed, or an error */
		return;
	}
	io_list(s, c);
	if (conn_arm(s, c) == -1)
		io_close(s, c);
}

/* Goes on with parked connections while slots are free. */
static void
io_unpark(struct server *s, char *scratch)
{
	struct conn	*c;
	int		 max;

	while (atomic_load(&s->nparked) > 0) {
		/* The bound reads the config (a generation's reference):
		 * not under iolock, which every thread's list edits take. */
		max = server_pending_max(s);
		pthread_mutex_lock(&s->iolock);
		if ((c = TAILQ_FIRST(&s->parked)) != NULL &&
		    atomic_load(&s->pending) < max) {
			TAILQ_REMOVE(&s->parked, c, entry);
			atomic_fetch_sub(&s->nparked, 1);
		} else
			c = NULL;
		pthread_mutex_unlock(&s->iolock);
		if (c == NULL)
			return;
		c->state = CONN_IDLE;
		io_read(s, c, scratch);
	}
}

/* Empties the wake eventfd (level-triggered: else every wait returns). */
static void
io_woken(struct server *s)
{
	uint64_t	 v;

	if (read(s->wake_fd, &v, sizeof(v)) == -1)
		return;	/* EAGAIN: another thread emptied it */
}

/*
 * Marks the partial requests past their deadline expired and shuts their
 * sockets down: the epoll set (or the thread reading one) then sees the
 * end and closes it. Whoever holds iolock first does it.
 */
static void
io_expire(struct server *s)
{
	struct conn	*c;
	int64_t		 now;

	if (atomic_load(&s->nreading) == 0 ||
	    pthread_mutex_trylock(&s->iolock) != 0)
		return;
	now = job_mono_ns();
	while ((c = TAILQ_FIRST(&s->reading)) != NULL && c->deadline <= now) {
		TAILQ_REMOVE(&s->reading, c, entry);
		atomic_fetch_sub(&s->nreading, 1);
		atomic_store(&c->expired, 1);
		shutdown(c->fd, SHUT_RDWR);
		/* Last: from here on its owner may close and free it. */
		atomic_store(&c->listed, 0);
		/* A flood must not flood the log as well. */
		if (++s->expired == 1 || s->expired % 1000 == 0)
			fprintf(stderr, "level=warn msg=\"partial FastCGI "
			    "request closed at its deadline\" deadline_s=%d "
			    "closed=%lu\n", SERVER_REQUEST_DEADLINE_S,
			    s->expired);
	}
	pthread_mutex_unlock(&s->iolock);
}

/* Milliseconds until the first deadline, at most 1000 (a safety net). */
static int
io_timeout(struct server *s)
{
	struct conn	*c;
	int64_t		 ms = 1000;

	if (atomic_load(&s->nreading) == 0)
		return 1000;
	pthread_mutex_lock(&s->iolock);
	if ((c = TAILQ_FIRST(&s->reading)) != NULL)
		ms = (c->deadline - job_mono_ns()) / 1000000 + 1;
	pthread_mutex_unlock(&s->iolock);
	return ms < 0 ? 0 : ms > 1000 ? 1000 : (int)ms;
}

/* Accepts one connection into the epoll set; 0, or -1 (none, error). */
static int
io_accept(struct server *s)
{
	struct epoll_event	 ev;
	struct conn		*c;
	int			 fd, fails, one = 1;

	if ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC |
	    SOCK_NONBLOCK)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED || errno == EPROTO)
			return -1;
		/*
		 * Out of descriptors, or a broken socket: it stays readable
		 * and fails at once, every time. Back off instead of
		 * spinning, and say so.
		 */
		fails = atomic_fetch_add(&s->accept_fails, 1) + 1;
		if (fails == 1 || fails % 100 == 0)
			fprintf(stderr, "level=error msg=\"accept failed\" "
			    "error=\"%s\" failures=%d\n", strerror(errno),
			    fails);
		usleep(fails < 10 ? 1000 : 100000);
		return -1;
	}
	atomic_store(&s->accept_fails, 0);
	if (fd >= s->nfds || atomic_load(&s->nconns) >= s->conns_max ||
	    (c = calloc(1, sizeof(*c))) == NULL) {
		close(fd);
		return 0;
	}
	/* Files are streamed in several records: with Nagle each would
	 * wait for an ACK on a kept TCP connection. */
	if (s->listen_tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->fd = fd;
	c->state = CONN_IDLE;
	atomic_init(&c->expired, 0);
	atomic_init(&c->listed, 0);
	buf_init(&c->p.out);	/* fcgi_rec_reset sets the rest (io_read) */
	buf_init(&c->in);
	atomic_fetch_add(&s->nconns, 1);
	atomic_store(&s->conns[fd], c);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.ptr = c;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) == -1)
		conn_free(s, c);
	return 0;
}

/* Events a thread takes at once: one, so a slow answer holds no other. */
#define SERVER_EVENTS	1

void *
server_io_main(void *arg)
{
	struct server		*s = arg;
	struct epoll_event	 evs[SERVER_EVENTS];
	char			*scratch;
	int			 i, n, k;

	if ((scratch = malloc(SERVER_SCRATCH)) == NULL) {
		fprintf(stderr, "level=error func=%s msg=\"out of memory: "
		    "a responder thread left\"\n", __func__);
		return NULL;
	}
	while (!atomic_load(&s->stopping)) {
		n = epoll_wait(s->epfd, evs, SERVER_EVENTS, io_timeout(s));
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == &s->stop_fd)
				goto out;
			if (evs[i].data.ptr == &s->listen_fd)
				for (k = 0; k < 64 && io_accept(s) == 0; k++)
					continue;
			else if (evs[i].data.ptr == &s->wake_fd)
				io_woken(s);
			else
				io_read(s, evs[i].data.ptr, scratch);
		}
		io_unpark(s, scratch);
		io_expire(s);
	}
out:
	free(scratch);
	return NULL;
}

void
server_close_all(struct server *s)
{
	struct conn	*c;
	int		 i;

	for (i = 0; i < s->nfds; i++)
		if ((c = atomic_load(&s->conns[i])) != NULL)
			conn_free(s, c);
}
