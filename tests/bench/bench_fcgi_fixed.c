/*
 * bench_fcgi_fixed: the ceiling for GET / through nginx. A FastCGI
 * responder that does no work: one thread, one epoll set, records read
 * with our own record layer (fcgi_rec), every request answered with the
 * same bytes (a page captured once, with the headers Sluice sends),
 * FCGI_KEEP_CONN honoured. What nginx's FastCGI path and the kernel cost,
 * and nothing else: bench-http.sh compares GET / with it.
 *
 * usage: bench_fcgi_fixed -l unix:PATH [other sluice options, ignored]
 * The page's bytes are read from the file named by $BENCH_FIXED_PAGE.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "fcgi_rec.h"
#include "http.h"

/* Bytes read at once: a whole request from nginx in one read. */
#define FIXED_READ	(64 * 1024)

struct fixed_conn {
	int			 fd;
	struct fcgi_rec_parser	 p;
};

static const struct fcgi_rec_limits fixed_lim = {
	.params_max = 64 * 1024, .stdin_max = 64 * 1024,
	.max_conns = 1024, .max_reqs = 1024
};

/* The answer's STDOUT records, END_REQUEST included, for request id. */
static struct buf	 wire;
static unsigned		 wire_id;
static struct buf	 page;

static void
wire_build(unsigned id)
{
	struct buf	 head;

	buf_init(&head);
	buf_printf(&head, "Status: 200 OK\r\n" HTTP_HARDENING_HEADERS
	    "Content-Type: text/html; charset=utf-8\r\n"
	    "Cache-Control: no-store\r\nContent-Length: %zu\r\n\r\n", page.len);
	buf_reset(&wire);
	fcgi_rec_put(&wire, FCGI_REC_STDOUT, id, head.data, head.len);
	fcgi_rec_put(&wire, FCGI_REC_STDOUT, id, page.data, page.len);
	fcgi_rec_put(&wire, FCGI_REC_STDOUT, id, NULL, 0);
	fcgi_rec_put_end(&wire, id, FCGI_REC_REQUEST_COMPLETE);
	buf_free(&head);
	wire_id = id;
}

/* Blocking write of len bytes (the socket is non-blocking: poll-free
 * spin on EAGAIN is fine for a few KB on loopback). 0, or -1. */
static int
put_all(int fd, const char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n == -1 && (errno == EINTR || errno == EAGAIN))
			continue;
		else
			return -1;
	}
	return 0;
}

/* Feeds n bytes of c; 0 to go on, -1 to close it. */
static int
fixed_feed(struct fixed_conn *c, const char *data, size_t n)
{
	enum fcgi_rec_status	 st;
	size_t			 used;

	while (n > 0) {
		st = fcgi_rec_feed(&c->p, data, n, &used);
		data += used;
		n -= used;
		if (c->p.out.len > 0 &&
		    put_all(c->fd, c->p.out.data, c->p.out.len) == -1)
			return -1;
		buf_reset(&c->p.out);
		if (st == FCGI_REC_CLOSE)
			return -1;
		if (st != FCGI_REC_READY)
			continue;
		if (wire_id != c->p.req.id)
			wire_build(c->p.req.id);
		if (!buf_ok(&wire) || put_all(c->fd, wire.data, wire.len) == -1 ||
		    !c->p.req.keep_conn)
			return -1;
		fcgi_rec_reset(&c->p, NULL);
	}
	return 0;
}

static void
fixed_close(struct fixed_conn *c)
{
	close(c->fd);
	fcgi_rec_free(&c->p);
	free(c);
}

static int
fixed_listen(const char *spec)
{
	struct sockaddr_un	 sun;
	int			 fd;

	if (strncmp(spec, "unix:", 5) != 0 ||
	    strlen(spec + 5) >= sizeof(sun.sun_path))
		return -1;
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, spec + 5);
	unlink(sun.sun_path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1 ||
	    listen(fd, SOMAXCONN) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

static int
page_load(const char *path)
{
	char	 b[8192];
	FILE	*f;
	size_t	 n;

	if (path == NULL || (f = fopen(path, "rb")) == NULL)
		return -1;
	while ((n = fread(b, 1, sizeof(b), f)) > 0)
		buf_append(&page, b, n);
	fclose(f);
	return buf_ok(&page) && page.len > 0 ? 0 : -1;
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 ev, evs[64];
	struct fixed_conn	*c;
	static char		 in[FIXED_READ];
	const char		*spec = NULL;
	ssize_t			 r;
	int			 i, k, n, lfd, epfd, fd;

	for (i = 1; i + 1 < argc; i++)
		if (strcmp(argv[i], "-l") == 0)
			spec = argv[i + 1];
	signal(SIGPIPE, SIG_IGN);
	buf_init(&page);
	buf_init(&wire);
	if (spec == NULL || page_load(getenv("BENCH_FIXED_PAGE")) == -1 ||
	    (lfd = fixed_listen(spec)) == -1 ||
	    (epfd = epoll_create1(0)) == -1) {
		fprintf(stderr, "usage: BENCH_FIXED_PAGE=FILE %s -l unix:PATH\n",
		    argv[0]);
		return 1;
	}
	wire_build(1);
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	epoll_ctl(epfd, EPOLL_CTL_ADD, lfd, &ev);
	for (;;) {
		if ((n = epoll_wait(epfd, evs, 64, -1)) == -1 && errno != EINTR)
			return 1;
		for (k = 0; k < n; k++) {
			if ((c = evs[k].data.ptr) == NULL) {
				while ((fd = accept4(lfd, NULL, NULL,
				    SOCK_NONBLOCK | SOCK_CLOEXEC)) != -1) {
					if ((c = calloc(1, sizeof(*c))) == NULL) {
						close(fd);
						continue;
					}
					c->fd = fd;
					fcgi_rec_init(&c->p, &fixed_lim);
					ev.data.ptr = c;
					if (epoll_ctl(epfd, EPOLL_CTL_ADD, fd,
					    &ev) == -1)
						fixed_close(c);
				}
				continue;
			}
			/* Level-triggered: one read a turn, the rest later. */
			if ((r = read(c->fd, in, sizeof(in))) > 0) {
				if (fixed_feed(c, in, (size_t)r) == -1)
					fixed_close(c);
			} else if (r == 0 || (errno != EAGAIN && errno != EINTR))
				fixed_close(c);
		}
	}
}
