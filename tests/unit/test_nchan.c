/*
 * Unit tests for nchan.c: the response parser (vectors), and the client
 * against a fake publisher on a unix socket (requests as nchan sees
 * them, a kept connection, a reconnect after nginx closed it, nothing
 * listening).
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "nchan.h"

struct resp_case {
	const char	*text;
	int		 rc, status;
	size_t		 used;
};

static const struct resp_case resp_cases[] = {
	{ "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhello", 1, 201,
	    48 },
	{ "HTTP/1.1 202 Accepted\r\ncontent-length:0\r\n\r\n", 1, 202, 43 },
	{ "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1", 1, 200,
	    40 },
	{ "HTTP/1.1 204 No Content\r\n\r\n", 1, 204, 27 },
	{ "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n\r\nhel", 0, 0, 0 },
	{ "HTTP/1.1 201 Created\r\nContent-Len", 0, 0, 0 },
	{ "HTTP/1.0 404 Not Found\r\nContent-Length: 0\r\n\r\n", 1, 404, 45 },
	{ "SSH-2.0-OpenSSH_9.2\r\n\r\n", -1, 0, 0 },
	{ "HTTP/1.1 2x1 Created\r\nContent-Length: 0\r\n\r\n", -1, 0, 0 },
	{ "HTTP/1.1 201 Created\r\nContent-Length: -1\r\n\r\n", -1, 0, 0 },
	{ "HTTP/1.1 201 Created\r\nContent-Length: 99999999\r\n\r\n", -1, 0,
	    0 },
	{ "HTTP/1.1 201 Created\r\nTransfer-Encoding: chunked\r\n\r\n", -1, 0,
	    0 },
	{ "HTTP/1.1 201\r\n\r\n", -1, 0, 0 },
};

Test(nchan, parse_response)
{
	const struct resp_case	*c;
	size_t			 i, used;
	int			 st, rc;

	for (i = 0; i < sizeof(resp_cases) / sizeof(resp_cases[0]); i++) {
		c = &resp_cases[i];
		st = 0;
		used = 0;
		rc = nchan_parse_response(c->text, strlen(c->text), &st,
		    &used);
		cr_expect_eq(rc, c->rc, "%zu: rc %d", i, rc);
		if (c->rc == 1) {
			cr_expect_eq(st, c->status, "%zu", i);
			cr_expect_eq(used, c->used, "%zu: used %zu", i, used);
		}
	}
}

/* A fake nchan: answers each request 201, closing after close_after. */
struct fake {
	char		 path[108];
	int		 lfd;
	int		 close_after;	/* requests per connection, 0: never */
	char		 seen[8192];	/* every request, concatenated */
	size_t		 nseen;
	int		 connections;
	pthread_t	 t;
};

/* The length of one whole request at buf (head and its body), or 0. */
static size_t
request_len(const char *buf, size_t len)
{
	const char	*end, *cl;
	size_t		 hl;

	if ((end = memmem(buf, len, "\r\n\r\n", 4)) == NULL)
		return 0;
	hl = (size_t)(end - buf) + 4;
	cl = memmem(buf, hl, "Content-Length: ", 16);
	hl += cl != NULL ? strtoul(cl + 16, NULL, 10) : 0;
	return hl <= len ? hl : 0;
}

/*
 * As nchan answers the request at req: a GET the channel's info (channel
 * "00": none, 404), anything else 201.
 */
static void
answer(int fd, const char *req)
{
	static const char ok[] = "HTTP/1.1 201 Created\r\nContent-Length: 4\r\n"
	    "\r\nsub:";
	static const char info[] = "HTTP/1.1 200 OK\r\nContent-Length: 69\r\n"
	    "\r\nqueued messages: 3\r\nlast requested: 1 sec. ago\r\n"
	    "active subscribers: 2";
	static const char none[] = "HTTP/1.1 404 Not Found\r\n"
	    "Content-Length: 0\r\n\r\n";

	if (strncmp(req, "GET /pub/00 ", 12) == 0)
		(void)write(fd, none, sizeof(none) - 1);
	else if (strncmp(req, "GET ", 4) == 0)
		(void)write(fd, info, sizeof(info) - 1);
	else
		(void)write(fd, ok, sizeof(ok) - 1);
}

static void *
fake_main(void *arg)
{
	struct fake	*f = arg;
	char		 buf[4096];
	size_t		 len, n;
	ssize_t		 r;
	int		 fd, served;

	while ((fd = accept(f->lfd, NULL, NULL)) != -1) {
		f->connections++;
		len = 0;
		served = 0;
		while ((r = read(fd, buf + len, sizeof(buf) - len)) > 0) {
			len += (size_t)r;
			while ((n = request_len(buf, len)) > 0) {
				if (f->nseen + n < sizeof(f->seen)) {
					memcpy(f->seen + f->nseen, buf, n);
					f->nseen += n;
				}
				answer(fd, buf);
				memmove(buf, buf + n, len - n);
				len -= n;
				if (++served == f->close_after)
					goto next;
			}
		}
next:
		close(fd);
	}
	return NULL;
}

static void
fake_start(struct fake *f, int close_after)
{
	struct sockaddr_un	 sun;

	memset(f, 0, sizeof(*f));
	f->close_after = close_after;
	snprintf(f->path, sizeof(f->path), "/tmp/sluice-nchan-%d.sock",
	    (int)getpid());
	unlink(f->path);
	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	strcpy(sun.sun_path, f->path);
	cr_assert_neq(f->lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	cr_assert_eq(bind(f->lfd, (struct sockaddr *)&sun, sizeof(sun)), 0);
	cr_assert_eq(listen(f->lfd, 8), 0);
	cr_assert_eq(pthread_create(&f->t, NULL, fake_main, f), 0);
}

static void
fake_stop(struct fake *f)
{
	shutdown(f->lfd, SHUT_RDWR);
	close(f->lfd);
	pthread_join(f->t, NULL);
	unlink(f->path);
}

Test(nchan, publish_and_delete_on_one_connection)
{
	struct fake	 f;
	struct nchan	*n;
	char		 addr[128], err[256];

	fake_start(&f, 0);
	snprintf(addr, sizeof(addr), "unix:%s", f.path);
	cr_assert_not_null(n = nchan_new(addr));
	cr_expect_eq(nchan_publish(n, "0123abcd", "job", "{\"a\":1}", 7, err,
	    sizeof(err)), 201, "%s", err);
	cr_expect_eq(nchan_publish(n, "0123abcd", "job", "{\"a\":2}", 7, err,
	    sizeof(err)), 201, "%s", err);
	cr_expect_eq(nchan_delete(n, "0123abcd", err, sizeof(err)), 201, "%s",
	    err);
	nchan_free(n);
	fake_stop(&f);
	cr_expect_eq(f.connections, 1, "one kept connection");
	f.seen[f.nseen] = '\0';
	cr_expect(strstr(f.seen, "POST /pub/0123abcd HTTP/1.1\r\n") != NULL,
	    "%s", f.seen);
	cr_expect(strstr(f.seen, "X-EventSource-Event: job\r\n") != NULL);
	cr_expect(strstr(f.seen, "Content-Length: 7\r\n\r\n{\"a\":1}") != NULL);
	cr_expect(strstr(f.seen, "DELETE /pub/0123abcd HTTP/1.1\r\n") != NULL);
}

/* What a channel holds: its info's count, 0 for no channel (404). */
Test(nchan, queued_counts_what_a_channel_holds)
{
	struct fake	 f;
	struct nchan	*n;
	char		 addr[128], err[256];

	fake_start(&f, 0);
	snprintf(addr, sizeof(addr), "unix:%s", f.path);
	cr_assert_not_null(n = nchan_new(addr));
	cr_expect_eq(nchan_queued(n, "0123abcd", err, sizeof(err)), 3, "%s",
	    err);
	cr_expect_eq(nchan_queued(n, "00", err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(nchan_publish(n, "0123abcd", "job", "{}", 2, err,
	    sizeof(err)), 201, "the connection is still in step: %s", err);
	nchan_free(n);
	fake_stop(&f);
	cr_expect_eq(f.connections, 1, "one kept connection");
	f.seen[f.nseen] = '\0';
	cr_expect(strstr(f.seen, "GET /pub/0123abcd HTTP/1.1\r\n") != NULL,
	    "%s", f.seen);
}

/* nginx closes a kept connection: the next message goes on a new one. */
Test(nchan, reconnects_after_a_close)
{
	struct fake	 f;
	struct nchan	*n;
	char		 addr[128], err[256];
	int		 i;

	fake_start(&f, 1);
	snprintf(addr, sizeof(addr), "unix:%s", f.path);
	cr_assert_not_null(n = nchan_new(addr));
	for (i = 0; i < 3; i++)
		cr_expect_eq(nchan_publish(n, "ff", "job", "{}", 2, err,
		    sizeof(err)), 201, "%d: %s", i, err);
	nchan_free(n);
	fake_stop(&f);
	cr_expect_eq(f.connections, 3);
}

Test(nchan, nothing_listening_is_an_error_not_a_hang)
{
	struct nchan	*n;
	char		 err[256];

	cr_assert_not_null(n = nchan_new("unix:/tmp/sluice-no-such.sock"));
	cr_expect_eq(nchan_publish(n, "ff", "job", "{}", 2, err, sizeof(err)),
	    -1);
	cr_expect(strstr(err, "sluice-no-such.sock") != NULL, "%s", err);
	nchan_free(n);
	cr_expect_null(nchan_new("nonsense"));
	cr_expect_null(nchan_new(NULL));
}
