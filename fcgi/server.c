/* server: FastCGI accept loop, responder threads, signals. See server.h. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>

#include <netinet/in.h>
#include <netinet/tcp.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "http.h"
#include "job.h"
#include "route.h"
#include "server.h"
#include "tmpl.h"

/*
 * Connections. libfcgi's own loop has each thread block in accept() and
 * then in read() on its connection; with nginx's fastcgi_keep_conn a
 * thread would stay blocked on a kept connection between requests, so a
 * few idle connections could take every thread (DESIGN.md). Here the
 * threads share one epoll set instead: the listening socket, and every
 * kept connection between two requests (EPOLLONESHOT: one thread takes
 * it when its next request arrives, and hands it back after answering).
 * A thread is only ever busy with a request, never with an idle
 * connection, so kept connections are safe at any count, and they save
 * the connect, accept and close of every request.
 */
struct server {
	struct app		*app;
	struct sched		*sched;
	const struct server_opts *opts;
	int			 listen_fd;
	int			 listen_tcp;	/* TCP: no Nagle on connections */
	int			 epfd;
	int			 stop_fd;	/* eventfd, readable once stopping */
	int			 quiet;
	atomic_int		 stopping;
	atomic_int		 idle;		/* kept connections in epfd */
	int			 idle_max;
	/* kept[fd] != 0: fd is a kept connection, closed at the end. */
	atomic_uchar		*kept;
	int			 nkept;
};

/* Seconds a connection may keep a thread waiting for a request's bytes. */
#define SERVER_IO_TIMEOUT_S	60

/*
 * Listen backlog. nginx opens one connection per request; when thousands
 * of browsers reopen their event streams at once (nginx restarted), a
 * short backlog on a unix socket fails the excess at once with EAGAIN
 * (nginx answers 502) instead of queueing them. The kernel caps it at
 * net.core.somaxconn.
 */
#define SERVER_BACKLOG		65535

void
server_block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Creates the directory holding socket path (one level, mode 0750) when
 * it is missing; 0, or -1 with errno set.
 */
static int
make_socket_dir(const char *path)
{
	char		 dir[256];
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (slash == NULL || slash == path)
		return 0;
	if ((n = (size_t)(slash - path)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0750) == 0)	/* nginx's group must reach the socket */
		return chmod(dir, 0750);
	return errno == EEXIST ? 0 : -1;
}

/* Opens listen ("unix:PATH" or "HOST:PORT"), or returns fd 0 if it is a socket. */
static int
open_listener(const char *listen, char *err, size_t errlen)
{
	struct stat	 st;
	const char	*path;
	mode_t		 old;
	int		 fd;

	if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "level=info msg=\"listening on fd 0\"\n");
		return 0;
	}
	if (strncmp(listen, "unix:", 5) == 0) {
		path = listen + 5;
		/* The default /run/sluice may not exist yet (no tmpfiles.d). */
		if (make_socket_dir(path) == -1) {
			snprintf(err, errlen, "cannot create the directory of "
			    "%s: %s", path, strerror(errno));
			return -1;
		}
		/* Remove a stale socket of a previous run, nothing else. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		old = umask(0117);	/* socket mode 0660 */
		fd = FCGX_OpenSocket(path, SERVER_BACKLOG);
		umask(old);
	} else
		fd = FCGX_OpenSocket(listen, SERVER_BACKLOG);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		return -1;
	}
	fprintf(stderr, "level=info msg=\"listening\" listen=%s\n", listen);
	return fd;
}

/* Reads exactly len body bytes; returns 0, or -1 when the stream ends early. */
static int
read_body(FCGX_Stream *in, struct http_req *req, size_t len)
{
	size_t	 got = 0;
	int	 n;

	if ((req->body = malloc(len + 1)) == NULL)
		return -1;
	while (got < len) {
		n = FCGX_GetStr(req->body + got, (int)(len - got > 65536 ?
		    65536 : len - got), in);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	req->body[len] = '\0';
	req->body_len = len;
	return 0;
}

/*
 * Writes len bytes of f (opened when the answer was decided) in 64 KiB
 * chunks. If the file shrank meanwhile the answer is short and nginx sees
 * the mismatch with Content-Length: nothing better can be done once the
 * headers are out.
 */
static void
stream_file(FILE *f, size_t len, FCGX_Stream *out)
{
	char	 chunk[65536];
	size_t	 n, left = len;

	while (left > 0 && (n = fread(chunk, 1, left < sizeof(chunk) ?
	    left : sizeof(chunk), f)) > 0) {
		if (FCGX_PutStr(chunk, (int)n, out) != (int)n)
			break;
		left -= n;
	}
}

static const char oom_answer[] = "Status: 500 Internal Server Error\r\n"
    "Content-Type: text/plain; charset=utf-8\r\nContent-Length: 14\r\n\r\n"
    "out of memory\n";

/* Answers one FastCGI request. */
static void
serve_one(struct server *s, FCGX_Request *fr)
{
	struct http_req		 req;
	struct http_resp	 resp;
	struct route_match	 m;
	struct buf		 out;
	char			 allow[32], err[160];
	size_t			 len;
	int			 st = 0, routed = 0;
	int64_t			 t0 = job_mono_ns();
	struct app_gen		*gen = app_hold(s->app);	/* config */

	http_resp_init(&resp);
	buf_init(&out);
	memset(&m, 0, sizeof(m));
	if (http_req_init(&req, fr->envp) == -1) {
		http_resp_text(&resp, 500, "out of memory");
		goto write;
	}
	m.head = strcmp(req.method, "HEAD") == 0;
	st = route_find(req.method, req.path, &m, allow, sizeof(allow));
	if (st == 405) {
		http_resp_header(&resp, "Allow", allow);
		app_error(s->app, &req, 405, "this method is not allowed here",
		    &resp);
		goto write;
	}
	if (st != 200) {
		app_error(s->app, &req, 404, "not found", &resp);
		goto write;
	}
	routed = 1;
	if ((st = http_body_length(&req, app_gen_conf(gen)->max_request_body,
	    &len, err, sizeof(err))) != 0) {
		app_error(s->app, &req, st, err, &resp);
		goto write;
	}
	if (len > 0 && read_body(fr->in, &req, len) == -1) {
		app_error(s->app, &req, 400, "request body shorter than its "
		    "Content-Length", &resp);
		goto write;
	}
	app_handle(s->app, &req, &m, &resp);
write:
	/* Head, then the body from where it was built: no second copy. */
	http_resp_serialize(&resp, m.head, 1, &out);
	if (buf_ok(&out) && buf_ok(&resp.body)) {
		FCGX_PutStr(out.data, (int)out.len, fr->out);
		if (!m.head && resp.file == NULL && resp.body.len > 0)
			FCGX_PutStr(resp.body.data, (int)resp.body.len,
			    fr->out);
	} else
		FCGX_PutStr(oom_answer, (int)sizeof(oom_answer) - 1, fr->out);
	if (resp.file != NULL && !m.head)
		stream_file(resp.file, resp.file_len, fr->out);
	app_count_request(s->app, resp.status);
	if (!s->quiet)
		fprintf(stderr, "level=info method=%s path=%.200s status=%d "
		    "route=%s us=%lld\n", req.method ? req.method : "-",
		    req.path ? req.path : "-", resp.status,
		    routed ? route_name(m.id) : "-",
		    (long long)(job_mono_ns() - t0) / 1000);
	buf_free(&out);
	http_resp_free(&resp);
	http_req_free(&req);
	app_release(s->app, gen);
}

/*
 * Reads what is left of the request's stdin: on a kept connection the
 * next request starts after it. nginx always ends stdin with an empty
 * record, so this stops there.
 */
static void
skip_stdin(FCGX_Stream *in)
{
	char	 scratch[4096];

	while (FCGX_GetStr(scratch, sizeof(scratch), in) > 0)
		continue;
}

/*
 * Hands a kept connection back to the epoll set for its next request, or
 * closes it when the server stops or already keeps idle_max of them.
 * added: fd is in the set already (it came from there).
 */
static void
keep_conn(struct server *s, int fd, int added)
{
	struct epoll_event	 ev;

	if (atomic_load(&s->stopping) || fd >= s->nkept)
		goto close;
	if (atomic_fetch_add(&s->idle, 1) >= s->idle_max)
		goto uncount;
	/* Before epoll_ctl: from then on another thread may take it. */
	atomic_store(&s->kept[fd], 1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN | EPOLLONESHOT;
	ev.data.fd = fd;
	if (epoll_ctl(s->epfd, added ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, fd,
	    &ev) == 0)
		return;
	atomic_store(&s->kept[fd], 0);
uncount:
	atomic_fetch_sub(&s->idle, 1);
close:
	close(fd);
}

/*
 * Answers the request waiting on connection fd, then keeps or closes the
 * connection. added: fd is in the epoll set (a kept connection).
 */
static void
serve_conn(struct server *s, FCGX_Request *fr, int fd, int added)
{
	/*
	 * FCGX_Accept_r reads the request from fr->ipcFd when it is set,
	 * and accepts on fr->listen_sock (-1 here: never) only when not.
	 * It first finishes the previous request, which closes ipcFd
	 * unless that request kept its connection: say it did.
	 */
	if (fd < s->nkept)
		atomic_store(&s->kept[fd], 0);	/* ours until keep_conn */
	fr->ipcFd = fd;
	fr->keepConnection = 1;
	if (FCGX_Accept_r(fr) < 0)
		return;	/* the peer closed, or did not speak FastCGI:
			 * libfcgi closed it (then its accept on no socket
			 * failed at once) */
	app_responder_busy(s->app, 1);
	serve_one(s, fr);
	if (fr->keepConnection)
		skip_stdin(fr->in);
	FCGX_Finish_r(fr);
	app_responder_busy(s->app, -1);
	if (fr->ipcFd >= 0) {
		/* nginx asked to keep it (fastcgi_keep_conn) and all went well. */
		fr->ipcFd = -1;
		keep_conn(s, fd, added);
	}
}

/* Accepts one connection; returns its fd, or -1 (none waiting, or error). */
static int
accept_conn(struct server *s, int *fails)
{
	struct timeval	 tv = { SERVER_IO_TIMEOUT_S, 0 };
	int		 fd, one = 1;

	if ((fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC)) == -1) {
		if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ||
		    errno == ECONNABORTED || errno == EPROTO)
			return -1;
		/*
		 * Out of descriptors, or a broken socket: it stays readable
		 * and fails at once, every time. Back off instead of
		 * spinning, and say so.
		 */
		if (++*fails == 1 || *fails % 100 == 0)
			fprintf(stderr, "level=error msg=\"accept failed\" "
			    "error=\"%s\" failures=%d\n", strerror(errno),
			    *fails);
		usleep(*fails < 10 ? 1000 : 100000);
		return -1;
	}
	*fails = 0;
	/* A peer that stops halfway holds a thread this long, no longer. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	/* libfcgi writes the end of a response in two records: with Nagle
	 * the second would wait for an ACK on a kept TCP connection. */
	if (s->listen_tcp)
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	return fd;
}

static void *
responder_main(void *arg)
{
	struct server		*s = arg;
	FCGX_Request		 fr;
	struct epoll_event	 ev;
	int			 fd, fails = 0;

	if (FCGX_InitRequest(&fr, -1, 0) != 0)
		return NULL;
	while (!atomic_load(&s->stopping)) {
		/* The timeout only bounds how long a missed stop could wait. */
		if (epoll_wait(s->epfd, &ev, 1, 1000) != 1)
			continue;
		if (ev.data.fd == s->stop_fd)
			break;
		if (ev.data.fd == s->listen_fd) {
			if ((fd = accept_conn(s, &fails)) != -1)
				serve_conn(s, &fr, fd, 0);
		} else {
			atomic_fetch_sub(&s->idle, 1);
			serve_conn(s, &fr, ev.data.fd, 1);
		}
	}
	FCGX_Free(&fr, 0);
	return NULL;
}

/* err with quotes and backslashes escaped, for a key="value" log field. */
static void
log_quoted(char *out, size_t outlen, const char *err)
{
	size_t	 n = 0;

	for (; *err != '\0' && n + 3 < outlen; err++) {
		if (*err == '"' || *err == '\\')
			out[n++] = '\\';
		out[n++] = (unsigned char)*err < 0x20 ? ' ' : *err;
	}
	out[n] = '\0';
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/*
 * The keys of conf that differ from old and need a restart, as
 * " server.KEY=changed" each, into out ("" when none).
 */
static void
restart_changes(const struct server_opts *o, const struct conf *old,
    const struct conf *conf, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", o->listen == NULL &&
	    str_differs(old->listen, conf->listen) ? " server.listen=changed" :
	    "", old->threads != conf->threads ? " server.threads=changed" : "",
	    o->state == NULL && str_differs(old->state, conf->state) ?
	    " server.state=changed" : "");
}

/*
 * SIGHUP: loads the config file and its templates again and switches the
 * scheduler and the app to them; on any error keeps the old ones. The
 * old config is compared before app_reload, which may free it.
 */
static void
server_reload(struct server *s)
{
	const struct server_opts	*o = s->opts;
	struct conf			*conf = NULL;
	struct tmpl_set			*tmpl = NULL;
	char				 err[1024], q[1100], changed[96];

	err[0] = '\0';
	if (o->config == NULL) {
		snprintf(err, sizeof(err), "no config file to read");
		goto refused;
	}
	if ((conf = conf_load(o->config, err, sizeof(err))) == NULL)
		goto refused;
	if ((tmpl = tmpl_load_dir(o->templates != NULL ? o->templates :
	    conf->templates, err, sizeof(err))) == NULL)
		goto refused;
	if (sched_reconfigure(s->sched, conf, err, sizeof(err)) == -1)
		goto refused;
	if (o->reconfigure != NULL &&
	    o->reconfigure(o->reconfigure_arg, conf) == -1)
		fprintf(stderr, "level=error msg=\"reload: the workers could "
		    "not take the new config\"\n");
	restart_changes(o, app_conf(s->app), conf, changed, sizeof(changed));
	if (app_reload(s->app, conf, tmpl) == -1) {
		/* The scheduler runs on conf now: it must stay alive. */
		fprintf(stderr, "level=error msg=\"reload: out of memory; "
		    "templates not switched\"\n");
		tmpl_free(tmpl);
		return;
	}
	if (changed[0] != '\0')
		fprintf(stderr, "level=warn msg=\"reload: changes that need a "
		    "restart are not applied\"%s\n", changed);
	fprintf(stderr, "level=info msg=\"reloaded\" config=%s locks=%zu "
	    "tasks=%zu\n", o->config, conf->nlocks, conf->ntasks);
	return;
refused:
	log_quoted(q, sizeof(q), err);
	fprintf(stderr, "level=error msg=\"reload refused\" error=\"%s\"\n",
	    q);
	app_count_reload_error(s->app);
	tmpl_free(tmpl);
	conf_free(conf);
}

/*
 * Signals reach the signal thread through a pipe written by a handler.
 * sigwait() alone is not enough: libraries start threads of their own
 * before main() can block anything (OpenBLAS does, in a constructor), a
 * process-directed signal may land on one of them, and libfcgi's own
 * SIGTERM handler would then swallow it. The handler is the one piece of
 * global state here, and it only writes a byte.
 */
static int	sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int		 saved = errno;
	unsigned char	 b = (unsigned char)sig;

	(void)write(sig_pipe[1], &b, 1);
	errno = saved;
}

/* Installs the handlers (after FCGX_Init, which sets its own); 0 or -1. */
static int
install_signals(void)
{
	struct sigaction	 sa;
	int			 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	size_t			 i;

	if (sig_pipe[0] == -1 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

/* Seconds between result evictions (results.ttl, results.max_bytes). */
#define SERVER_MAINTAIN_S	30

/* Waits for SIGTERM/SIGINT; reloads on SIGHUP; evicts old results. */
static void
wait_for_stop(struct server *s)
{
	struct pollfd	 pfd;
	sigset_t	 set;
	unsigned char	 sig;
	int		 n;

	/* This thread takes the signals; responder threads keep them blocked. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pfd.fd = sig_pipe[0];
	pfd.events = POLLIN;
	app_maintain(s->app);
	for (;;) {
		/* The thread is idle otherwise: it also evicts results. */
		if ((n = poll(&pfd, 1, SERVER_MAINTAIN_S * 1000)) == 0) {
			app_maintain(s->app);
			continue;
		}
		if (n == -1 || read(sig_pipe[0], &sig, 1) != 1)
			continue;
		if (sig == SIGHUP) {
			fprintf(stderr, "level=info msg=\"SIGHUP: reloading\"\n");
			server_reload(s);
			continue;
		}
		fprintf(stderr, "level=info msg=\"stopping\" signal=%s\n",
		    sig == SIGTERM ? "TERM" : "INT");
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		return;
	}
}

/*
 * Sets up the epoll set: the listening socket (non-blocking: a thread
 * woken for a connection another took must not block in accept) and the
 * stop eventfd. Returns 0, or -1 with err set.
 */
static int
server_setup(struct server *s, char *err, size_t errlen)
{
	struct epoll_event	 ev;
	struct sockaddr_storage	 ss;
	struct rlimit		 rl;
	socklen_t		 sslen = sizeof(ss);
	int			 fl;

	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sslen) == 0)
		s->listen_tcp = ss.ss_family == AF_INET ||
		    ss.ss_family == AF_INET6;
	if ((fl = fcntl(s->listen_fd, F_GETFL)) == -1 ||
	    fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.fd = s->listen_fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->listen_fd, &ev) == -1)
		goto fail;
	ev.data.fd = s->stop_fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->stop_fd, &ev) == -1)
		goto fail;
	/* Kept connections: up to half the descriptors, at most 4096. */
	s->nkept = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		s->nkept = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	s->idle_max = s->nkept / 2 > 4096 ? 4096 : s->nkept / 2;
	if ((s->kept = calloc((size_t)s->nkept, sizeof(*s->kept))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
fail:
	snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
	return -1;
}

int
server_run(struct app *app, struct sched *sched, const struct conf *conf,
    const struct server_opts *opts, char *err, size_t errlen)
{
	struct server	 s;
	pthread_t	*threads = NULL;
	const char	*listen = opts->listen != NULL ? opts->listen :
			    conf->listen;
	uint64_t	 one = 1;
	int		 i, started = 0, rc = -1, left;

	memset(&s, 0, sizeof(s));
	s.app = app;
	s.sched = sched;
	s.opts = opts;
	s.quiet = opts->quiet;
	s.listen_fd = s.epfd = s.stop_fd = -1;
	atomic_init(&s.stopping, 0);
	atomic_init(&s.idle, 0);
	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "FCGX_Init failed");
		goto out;
	}
	if (install_signals() == -1) {
		snprintf(err, errlen, "signal handlers: %s", strerror(errno));
		goto out;
	}
	s.listen_fd = open_listener(listen, err, errlen);
	if (s.listen_fd < 0 || server_setup(&s, err, errlen) == -1)
		goto out;
	if ((threads = calloc((size_t)conf->threads, sizeof(*threads))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	for (i = 0; i < conf->threads; i++) {
		if ((errno = pthread_create(&threads[i], NULL, responder_main,
		    &s)) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(errno));
			break;
		}
		started++;
	}
	if (started == conf->threads) {
		fprintf(stderr, "level=info msg=\"serving\" threads=%d\n",
		    started);
		app_set_responders(app, started);
		wait_for_stop(&s);
		/* Drain while responders keep answering job pages. */
		app_set_draining(app, 1);
		left = sched_drain(sched,
		    (int64_t)app_conf(app)->drain_timeout * 1000);
		if (left > 0)
			fprintf(stderr, "level=warn msg=\"drain timeout: jobs "
			    "left in the journal\" jobs=%d\n", left);
		rc = 0;
	}
	/*
	 * Every thread wakes on the eventfd (level-triggered), finishes the
	 * request in hand and leaves; kept connections are closed then. An
	 * inherited socket (systemd, spawn-fcgi) is only closed, never shut
	 * down: it belongs to our parent too, for the next start.
	 */
	atomic_store(&s.stopping, 1);
	if (write(s.stop_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "level=error msg=\"stop: eventfd write "
		    "failed\"\n");
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	for (i = 0; i < s.nkept; i++)
		if (atomic_load(&s.kept[i]))
			close(i);
	if (strncmp(listen, "unix:", 5) == 0 && s.listen_fd > 0)
		unlink(listen + 5);
out:
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.stop_fd >= 0)
		close(s.stop_fd);
	free(s.kept);
	free(threads);
	return rc;
}
