/*
 * The responder at the FastCGI level, without nginx: sluice on a unix
 * socket, requests sent with libfcgi's own cgi-fcgi client.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "itest.h"

static char	dir[64];
static char	sock[128];
static pid_t	pid;

static void
setup(void)
{
	char	 bin[512], conf[512], tmpl[512], listen[160], state[128];
	struct stat st;
	int	 i;

	snprintf(dir, sizeof(dir), "/tmp/sluice-fcgi.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
	snprintf(sock, sizeof(sock), "%s/s.sock", dir);
	snprintf(listen, sizeof(listen), "unix:%s", sock);
	snprintf(state, sizeof(state), "%s/state", dir);
	itest_build("sluice", bin, sizeof(bin));
	itest_src("tests/data/it.conf", conf, sizeof(conf));
	itest_src("templates", tmpl, sizeof(tmpl));
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		execl(bin, bin, "-q", "-R", "-c", conf, "-l", listen, "-s", state,
		    "-T", tmpl, (char *)NULL);
		_exit(127);
	}
	for (i = 0; i < 200 && stat(sock, &st) == -1; i++)
		usleep(50000);
	cr_assert_eq(stat(sock, &st), 0, "no socket at %s", sock);
	cr_expect_eq(st.st_mode & 0777, 0660, "socket mode %o",
	    st.st_mode & 0777);
}

static void
teardown(void)
{
	int status;

	if (pid > 0) {
		kill(pid, SIGTERM);
		cr_expect_eq(waitpid(pid, &status, 0), pid);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "sluice did not exit 0 on SIGTERM");
	}
	snprintf(sock, sizeof(sock), "rm -rf %s", dir);
	system(sock);
}

TestSuite(fcgi, .init = setup, .fini = teardown, .timeout = 60);

/* Sends one request through cgi-fcgi; returns its whole output (malloc'd). */
static char *
fcgi(const char *method, const char *uri, const char *body)
{
	char	 cmd[1024], *out;
	FILE	*p;
	size_t	 n = 0, cap = 1 << 20;

	snprintf(cmd, sizeof(cmd), "env -i REQUEST_METHOD=%s REQUEST_URI='%s' "
	    "SLUICE_SESSION=0123456789abcdef0123456789abcdef "
	    "CONTENT_TYPE=application/x-www-form-urlencoded "
	    "CONTENT_LENGTH=%zu cgi-fcgi -bind -connect %s", method, uri,
	    body != NULL ? strlen(body) : (size_t)0, sock);
	if (body != NULL) {
		char tmp[1200];
		snprintf(tmp, sizeof(tmp), "printf '%%s' '%s' | %s", body, cmd);
		snprintf(cmd, sizeof(cmd), "%s", tmp);
	} else
		strncat(cmd, " </dev/null", sizeof(cmd) - strlen(cmd) - 1);
	cr_assert_not_null(p = popen(cmd, "r"));
	out = malloc(cap);
	cr_assert_not_null(out);
	n = fread(out, 1, cap - 1, p);
	out[n] = '\0';
	pclose(p);
	return out;
}

Test(fcgi, get_index_200)
{
	char *o = fcgi("GET", "/", NULL);

	cr_expect(strncmp(o, "Status: 200", 11) == 0, "%.200s", o);
	cr_expect(strstr(o, "Content-Type: text/html") != NULL);
	cr_expect(strstr(o, "<form") != NULL);
	free(o);
}

/*
 * The hardening headers come from the responder itself, so a deployment
 * behind any nginx has them: a page and an error, each header once.
 */
Test(fcgi, hardening_headers_from_the_responder)
{
	const char	*uris[] = { "/", "/does/not/exist" };
	const char	*names[] = { "Content-Security-Policy: default-src 'self'",
	    "X-Content-Type-Options: nosniff\r\n",
	    "Referrer-Policy: same-origin\r\n" };
	char		*o, *head, *end, *at;
	size_t		 i, k;
	int		 n;

	for (i = 0; i < sizeof(uris) / sizeof(uris[0]); i++) {
		o = fcgi("GET", uris[i], NULL);
		cr_assert_not_null(end = strstr(o, "\r\n\r\n"), "%.200s", o);
		end[2] = '\0';		/* the head only */
		head = o;
		for (k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
			for (n = 0, at = head; (at = strstr(at, names[k])) != NULL;
			    at++)
				n++;
			cr_expect_eq(n, 1, "%s: \"%s\" %d times in %s", uris[i],
			    names[k], n, head);
		}
		free(o);
	}
}

Test(fcgi, unknown_404)
{
	char *o = fcgi("GET", "/does/not/exist", NULL);

	cr_expect(strncmp(o, "Status: 404", 11) == 0, "%.200s", o);
	free(o);
}

Test(fcgi, wrong_method_405)
{
	char *o = fcgi("DELETE", "/", NULL);

	cr_expect(strncmp(o, "Status: 405", 11) == 0, "%.200s", o);
	cr_expect(strstr(o, "Allow: GET, HEAD\r\n") != NULL, "%.300s", o);
	free(o);
	o = fcgi("GET", "/jobs/0123456789abcdef0123456789abcdef/cancel", NULL);
	cr_expect(strncmp(o, "Status: 405", 11) == 0, "%.200s", o);
	cr_expect(strstr(o, "Allow: POST\r\n") != NULL, "%.300s", o);
	free(o);
}

Test(fcgi, head_has_no_body)
{
	char *o = fcgi("HEAD", "/", NULL), *end;

	cr_expect(strncmp(o, "Status: 200", 11) == 0, "%.200s", o);
	cr_assert_not_null(end = strstr(o, "\r\n\r\n"));
	cr_expect_str_eq(end + 4, "", "HEAD answered with a body");
	cr_expect(strstr(o, "Content-Length: 0\r\n") == NULL);
	free(o);
}

Test(fcgi, query_string_ignored_by_router)
{
	char *o = fcgi("GET", "/healthz?x=1", NULL);

	cr_expect(strncmp(o, "Status: 200", 11) == 0, "%.200s", o);
	free(o);
}

Test(fcgi, missing_session_refused)
{
	char	 cmd[512], out[4096];
	FILE	*p;
	size_t	 n;

	snprintf(cmd, sizeof(cmd), "env -i REQUEST_METHOD=GET REQUEST_URI=/ "
	    "cgi-fcgi -bind -connect %s </dev/null", sock);
	cr_assert_not_null(p = popen(cmd, "r"));
	n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	pclose(p);
	cr_expect(strncmp(out, "Status: 400", 11) == 0, "%.200s", out);
	cr_expect(strstr(out, "session") != NULL);
}

Test(fcgi, bad_content_length)
{
	char	 cmd[512], out[4096];
	const char *cases[][2] = {
		{ "-5", "Status: 400" }, { "12abc", "Status: 400" },
		{ "99999999999999999999", "Status: 413" },
		{ "2048", "Status: 413" },
	};
	FILE	*p;
	size_t	 n, i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(cmd, sizeof(cmd), "env -i REQUEST_METHOD=POST "
		    "REQUEST_URI=/tasks/burn CONTENT_LENGTH=%s "
		    "SLUICE_SESSION=0123456789abcdef0123456789abcdef "
		    "cgi-fcgi -bind -connect %s </dev/null", cases[i][0], sock);
		cr_assert_not_null(p = popen(cmd, "r"));
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		pclose(p);
		cr_expect(strncmp(out, cases[i][1], 11) == 0,
		    "CONTENT_LENGTH=%s: %.100s", cases[i][0], out);
	}
}

/*
 * Kept connections (nginx's fastcgi_keep_conn), spoken with a small
 * FastCGI client of our own: cgi-fcgi closes after each request.
 */
#include <sys/socket.h>
#include <sys/un.h>

#include <poll.h>

enum { FC_BEGIN = 1, FC_END = 3, FC_PARAMS = 4, FC_STDIN = 5, FC_STDOUT = 6 };

static int
fc_connect(void)
{
	struct sockaddr_un	 sa;
	int			 fd;

	cr_assert_neq(fd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock, strlen(sock) + 1);
	cr_assert_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0,
	    "connect %s", sock);
	return fd;
}

static void
fc_write_all(int fd, const void *p, size_t len)
{
	const char	*c = p;
	ssize_t		 n;

	while (len > 0) {
		cr_assert_gt(n = write(fd, c, len), 0, "write to the responder");
		c += n;
		len -= (size_t)n;
	}
}

/* One record of type t with len bytes (len < 65536). */
static void
fc_record(int fd, int t, const void *p, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)t, 0, 1,
	    (unsigned char)(len >> 8), (unsigned char)len, 0, 0 };

	fc_write_all(fd, h, sizeof(h));
	if (len > 0)
		fc_write_all(fd, p, len);
}

/* Appends a name-value pair (both shorter than 128 bytes). */
static size_t
fc_pair(unsigned char *out, size_t at, const char *n, const char *v)
{
	out[at++] = (unsigned char)strlen(n);
	out[at++] = (unsigned char)strlen(v);
	memcpy(out + at, n, strlen(n));
	at += strlen(n);
	memcpy(out + at, v, strlen(v));
	return at + strlen(v);
}

/*
 * Sends one request with FCGI_KEEP_CONN on fd: method, uri, and a body of
 * body_len bytes of 'x' (Content-Length says clen) in records of at most
 * 60000 bytes.
 */
static void
fc_send(int fd, const char *method, const char *uri, size_t body_len,
    const char *clen)
{
	unsigned char	 begin[8] = { 0, 1, 1, 0, 0, 0, 0, 0 }, p[1024];
	static char	 chunk[60000];
	size_t		 at = 0, n;

	memset(chunk, 'x', sizeof(chunk));
	fc_record(fd, FC_BEGIN, begin, sizeof(begin));
	at = fc_pair(p, at, "REQUEST_METHOD", method);
	at = fc_pair(p, at, "REQUEST_URI", uri);
	at = fc_pair(p, at, "SLUICE_SESSION", "0123456789abcdef0123456789abcdef");
	at = fc_pair(p, at, "CONTENT_TYPE", "application/x-www-form-urlencoded");
	at = fc_pair(p, at, "CONTENT_LENGTH", clen);
	fc_record(fd, FC_PARAMS, p, at);
	fc_record(fd, FC_PARAMS, NULL, 0);
	for (; body_len > 0; body_len -= n) {
		n = body_len < sizeof(chunk) ? body_len : sizeof(chunk);
		fc_record(fd, FC_STDIN, chunk, n);
	}
	fc_record(fd, FC_STDIN, NULL, 0);
}

/* Reads exactly len bytes within 10 s; 0, or -1 (closed, timeout). */
static int
fc_read_all(int fd, void *p, size_t len)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		*c = p;
	ssize_t		 n;

	while (len > 0) {
		if (poll(&pfd, 1, 10000) != 1 || (n = read(fd, c, len)) <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads one response up to its END_REQUEST; returns its stdout's status
 * line code ("Status: NNN"), or -1 when the connection closed or nothing
 * came within 10 s.
 */
static int
fc_response(int fd)
{
	unsigned char	 h[8];
	static char	 body[1 << 16];
	char		 first[16] = "";
	size_t		 clen, have = 0;

	for (;;) {
		if (fc_read_all(fd, h, sizeof(h)) == -1)
			return -1;
		clen = (size_t)h[4] << 8 | h[5];
		if (fc_read_all(fd, body, clen + h[6]) == -1)
			return -1;
		if (h[1] == FC_STDOUT && have < sizeof(first) - 1) {
			clen = clen < sizeof(first) - 1 - have ? clen :
			    sizeof(first) - 1 - have;
			memcpy(first + have, body, clen);
			have += clen;
		}
		if (h[1] == FC_END)
			break;
	}
	first[have] = '\0';
	return strncmp(first, "Status: ", 8) == 0 ? atoi(first + 8) : -1;
}

Test(fcgi, kept_connection_serves_request_after_request)
{
	int	 fd = fc_connect(), i;

	for (i = 0; i < 3; i++) {
		fc_send(fd, "GET", "/healthz", 0, "");
		cr_expect_eq(fc_response(fd), 200, "request %d on one "
		    "connection", i + 1);
	}
	/* A body the responder never reads (too large: 413, 405) must not
	 * be taken for the next request. */
	fc_send(fd, "POST", "/tasks/burn", 150000, "150000");
	cr_expect_eq(fc_response(fd), 413);
	fc_send(fd, "POST", "/healthz", 3000, "3000");
	cr_expect_eq(fc_response(fd), 405);
	fc_send(fd, "GET", "/", 0, "");
	cr_expect_eq(fc_response(fd), 200, "the connection survived the "
	    "unread bodies");
	close(fd);
}

/*
 * Requests sent back to back in one write, before any answer (nginx does
 * not, a peer may): the responder reads what came at once and must keep
 * the bytes past the first request for the next ones, in order.
 */
Test(fcgi, requests_in_one_write_answered_in_order)
{
	static char	 all[1 << 16];
	static const int want[] = { 200, 405, 404, 200 };
	size_t		 len = 0;
	ssize_t		 n;
	int		 sp[2], fd = fc_connect(), i;

	/* fc_send writes record by record: gather them, then one write. */
	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	fc_send(sp[0], "GET", "/healthz", 0, "");
	fc_send(sp[0], "POST", "/healthz", 3000, "3000");
	fc_send(sp[0], "GET", "/no-such-page", 0, "");
	fc_send(sp[0], "GET", "/healthz", 0, "");
	close(sp[0]);
	while ((n = read(sp[1], all + len, sizeof(all) - len)) > 0)
		len += (size_t)n;
	close(sp[1]);
	cr_assert(len > 3000 && len < sizeof(all), "gathered %zu bytes", len);
	fc_write_all(fd, all, len);
	for (i = 0; i < 4; i++)
		cr_expect_eq(fc_response(fd), want[i], "request %d of 4 sent "
		    "at once", i + 1);
	close(fd);
}

Test(fcgi, idle_kept_connections_hold_no_thread)
{
	int	 fds[24], i, extra;

	/* Three times as many idle kept connections as threads (it.conf: 8). */
	for (i = 0; i < 24; i++) {
		fds[i] = fc_connect();
		fc_send(fds[i], "GET", "/healthz", 0, "");
		cr_assert_eq(fc_response(fds[i]), 200, "connection %d", i);
	}
	/* A new connection is still answered at once ... */
	extra = fc_connect();
	fc_send(extra, "GET", "/", 0, "");
	cr_expect_eq(fc_response(extra), 200, "a new connection starved "
	    "behind idle kept ones");
	close(extra);
	/* ... and so is each idle one when its next request comes, some
	 * after others closed theirs. */
	for (i = 0; i < 24; i += 2)
		close(fds[i]);
	for (i = 23; i > 0; i -= 2) {
		fc_send(fds[i], "GET", "/healthz", 0, "");
		cr_expect_eq(fc_response(fds[i]), 200, "idle connection %d",
		    i);
		close(fds[i]);
	}
}

Test(fcgi, garbage_on_a_connection_closes_only_it)
{
	int		 fd = fc_connect(), ok;
	const char	 junk[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";

	fc_write_all(fd, junk, sizeof(junk) - 1);
	cr_expect_eq(fc_response(fd), -1, "HTTP on the FastCGI socket was "
	    "answered");
	close(fd);
	ok = fc_connect();
	fc_send(ok, "GET", "/healthz", 0, "");
	cr_expect_eq(fc_response(ok), 200);
	close(ok);
}

/*
 * Socket activation: the listening socket on fd 0 belongs to the parent
 * (systemd). Stopping one responder must leave it usable for the next.
 */
static pid_t
start_on_fd0(int lfd, const char *state)
{
	char	 bin[512], conf[512], tmpl[512];
	pid_t	 p;

	itest_build("sluice", bin, sizeof(bin));
	itest_src("tests/data/it.conf", conf, sizeof(conf));
	itest_src("templates", tmpl, sizeof(tmpl));
	if ((p = fork()) == 0) {
		dup2(lfd, 0);
		execl(bin, bin, "-q", "-R", "-c", conf, "-s", state, "-T", tmpl,
		    (char *)NULL);
		_exit(127);
	}
	return p;
}

static int
healthz_via(const char *path)
{
	char	 cmd[512], out[256];
	FILE	*p;
	size_t	 n;
	int	 i;

	snprintf(cmd, sizeof(cmd), "env -i REQUEST_METHOD=GET "
	    "REQUEST_URI=/healthz timeout 5 cgi-fcgi -bind -connect %s "
	    "</dev/null 2>/dev/null", path);
	for (i = 0; i < 100; i++) {
		if ((p = popen(cmd, "r")) == NULL)
			return -1;
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		pclose(p);
		if (strncmp(out, "Status: 200", 11) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

Test(socket_activation, inherited_socket_survives_a_restart,
    .timeout = 60)
{
	struct sockaddr_un	 sa;
	char			 d[64], state[128], path[128];
	int			 lfd, status, round;
	pid_t			 p;

	snprintf(d, sizeof(d), "/tmp/sluice-act.XXXXXX");
	cr_assert_not_null(mkdtemp(d));
	snprintf(path, sizeof(path), "%s/s.sock", d);
	snprintf(state, sizeof(state), "%s/state", d);
	cr_assert_neq(lfd = socket(AF_UNIX, SOCK_STREAM, 0), -1);
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	cr_assert_lt(strlen(path), sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	cr_assert_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	cr_assert_eq(listen(lfd, 16), 0);
	for (round = 1; round <= 2; round++) {
		p = start_on_fd0(lfd, state);
		cr_assert_gt(p, 0);
		cr_expect_eq(healthz_via(path), 0,
		    "responder %d did not answer on the inherited socket",
		    round);
		kill(p, SIGTERM);
		cr_assert_eq(waitpid(p, &status, 0), p);
		cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
		    "responder %d did not exit 0", round);
	}
	close(lfd);
	snprintf(path, sizeof(path), "rm -rf %s", d);
	system(path);
}

/*
 * Partial requests (issue 15 item 9): a peer that stops halfway, or
 * trickles, must hold no responder thread, and is closed by the
 * responder once its request's deadline (5 s from its first byte)
 * passes. it.conf runs 8 threads: more partial requests than that.
 */
#define FC_PARTIAL	12

/* One record header of type t, request id, announcing len bytes. */
static void
fc_header(int fd, int t, unsigned id, size_t len)
{
	unsigned char h[8] = { 1, (unsigned char)t, (unsigned char)(id >> 8),
	    (unsigned char)id, (unsigned char)(len >> 8), (unsigned char)len,
	    0, 0 };

	fc_write_all(fd, h, sizeof(h));
}

/* BEGIN_REQUEST for id with role, FCGI_KEEP_CONN. */
static void
fc_begin(int fd, unsigned id, int role)
{
	unsigned char	 b[8] = { 0, (unsigned char)role, 1 };

	fc_header(fd, FC_BEGIN, id, sizeof(b));
	fc_write_all(fd, b, sizeof(b));
}

/* The params of GET /healthz for id, ended. */
static void
fc_params(int fd, unsigned id)
{
	unsigned char	 p[512];
	size_t		 at = 0;

	at = fc_pair(p, at, "REQUEST_METHOD", "GET");
	at = fc_pair(p, at, "REQUEST_URI", "/healthz");
	fc_header(fd, FC_PARAMS, id, at);
	fc_write_all(fd, p, at);
	fc_header(fd, FC_PARAMS, id, 0);
}

/* A request cut short: half a PARAMS record, or half a STDIN one. */
static int
fc_partial(int in_stdin)
{
	unsigned char	 half[50];
	int		 fd = fc_connect();

	memset(half, 'x', sizeof(half));
	fc_begin(fd, 1, 1);
	if (in_stdin) {
		fc_params(fd, 1);
		fc_header(fd, FC_STDIN, 1, 100);
	} else
		fc_header(fd, FC_PARAMS, 1, 100);
	fc_write_all(fd, half, sizeof(half));
	return fd;
}

/* 1 when the responder closed fd (EOF) within ms milliseconds. */
static int
fc_closed_within(int fd, int ms)
{
	struct pollfd	 pfd = { .fd = fd, .events = POLLIN };
	char		 c;

	return poll(&pfd, 1, ms) == 1 && read(fd, &c, 1) <= 0;
}

/* Opens FC_PARTIAL partial requests of each kind into fds. */
static void
fc_partials(int *fds)
{
	int	 i;

	for (i = 0; i < 2 * FC_PARTIAL; i++)
		fds[i] = fc_partial(i % 2);
}

/* GET /healthz on a fresh connection; its status, or -1. */
static int
fc_fresh_healthz(void)
{
	int	 fd = fc_connect(), st;

	fc_send(fd, "GET", "/healthz", 0, "");
	st = fc_response(fd);
	close(fd);
	return st;
}

Test(fcgi, partial_requests_hold_no_thread)
{
	int	 fds[2 * FC_PARTIAL], i;

	fc_partials(fds);
	cr_expect_eq(fc_fresh_healthz(), 200, "a whole request waited behind "
	    "%d partial ones", 2 * FC_PARTIAL);
	/* Answered while they were all still open ... */
	for (i = 0; i < 2 * FC_PARTIAL; i++)
		cr_expect(!fc_closed_within(fds[i], 0), "partial request %d "
		    "closed before the whole one was answered", i);
	/* ... and the responder closes them at their deadline. */
	for (i = 0; i < 2 * FC_PARTIAL; i++) {
		cr_expect(fc_closed_within(fds[i], 20000), "partial request "
		    "%d (%s) never closed by the responder", i, i % 2 ?
		    "in STDIN" : "in PARAMS");
		close(fds[i]);
	}
}

Test(fcgi, reconnecting_stallers_and_tricklers_are_closed)
{
	int	 fds[2 * FC_PARTIAL], i, round, fd, closed = 0;

	/* A client that reconnects as soon as it is closed, and stalls. */
	for (round = 0; round < 2; round++) {
		fc_partials(fds);
		cr_expect_eq(fc_fresh_healthz(), 200, "round %d", round);
		for (i = 0; i < 2 * FC_PARTIAL; i++) {
			cr_expect(fc_closed_within(fds[i], 20000), "round %d:"
			    " partial request %d never closed", round, i);
			close(fds[i]);
		}
	}
	/* One byte of a PARAMS record every 200 ms keeps no deadline off:
	 * it is from the request's first byte, not the last. */
	fd = fc_connect();
	fc_begin(fd, 1, 1);
	fc_header(fd, FC_PARAMS, 1, 1000);
	for (i = 0; i < 100 && !closed; i++) {
		if (send(fd, "x", 1, MSG_NOSIGNAL) != 1 ||
		    fc_closed_within(fd, 200))
			closed = 1;
	}
	cr_expect(closed, "a request trickling a byte every 200 ms was kept "
	    "open for 20 s");
	close(fd);
	cr_expect_eq(fc_fresh_healthz(), 200, "the responder stopped serving");
}

/*
 * Reads one record into body (up to cap bytes kept); returns its type
 * and sets *id and *len, or -1 when closed or nothing came within 10 s.
 */
static int
fc_read_record(int fd, unsigned *id, unsigned char *body, size_t cap,
    size_t *len)
{
	unsigned char	 h[8], skip[256 + 65536];

	if (fc_read_all(fd, h, sizeof(h)) == -1)
		return -1;
	*id = (unsigned)h[2] << 8 | h[3];
	*len = (size_t)h[4] << 8 | h[5];
	if (fc_read_all(fd, skip, *len + h[6]) == -1)
		return -1;
	memcpy(body, skip, *len < cap ? *len : cap);
	return h[1];
}

/* After the answers of its own, the connection serves a request; closed. */
static void
fc_still_serves(int fd)
{
	fc_send(fd, "GET", "/healthz", 0, "");
	cr_expect_eq(fc_response(fd), 200, "the connection stopped serving");
	close(fd);
}

enum { FC_GET_VALUES = 9, FC_GET_VALUES_RESULT = 10, FC_UNKNOWN_TYPE = 11 };

Test(fcgi, get_values_answers_the_names_asked)
{
	unsigned char	 q[128], r[256];
	char		 txt[256];
	size_t		 at = 0, len, i;
	unsigned	 id;
	int		 fd = fc_connect();

	at = fc_pair(q, at, "FCGI_MPXS_CONNS", "");
	at = fc_pair(q, at, "FCGI_MAX_CONNS", "");
	at = fc_pair(q, at, "NOT_A_VALUE", "");
	fc_header(fd, FC_GET_VALUES, 0, at);
	fc_write_all(fd, q, at);
	cr_assert_eq(fc_read_record(fd, &id, r, sizeof(r), &len),
	    FC_GET_VALUES_RESULT, "no FCGI_GET_VALUES_RESULT");
	cr_expect_eq(id, 0);
	/* Pairs as NAME=VALUE; lines for the check (lengths < 128). */
	for (i = 0, at = 0; i + 2 <= len && at + r[i] + r[i + 1] + 3 <
	    sizeof(txt);) {
		at += (size_t)snprintf(txt + at, sizeof(txt) - at, "%.*s=%.*s;",
		    r[i], (char *)r + i + 2, r[i + 1],
		    (char *)r + i + 2 + r[i]);
		i += 2 + r[i] + r[i + 1];
	}
	txt[at] = '\0';
	cr_expect(strstr(txt, "FCGI_MPXS_CONNS=0;") != NULL, "%s", txt);
	cr_expect(strstr(txt, "FCGI_MAX_CONNS=") != NULL &&
	    atoi(strstr(txt, "FCGI_MAX_CONNS=") + 15) > 0, "%s", txt);
	cr_expect(strstr(txt, "FCGI_MAX_REQS") == NULL, "not asked: %s", txt);
	cr_expect(strstr(txt, "NOT_A_VALUE") == NULL, "%s", txt);
	/* FCGI_MAX_REQS alone. */
	at = fc_pair(q, 0, "FCGI_MAX_REQS", "");
	fc_header(fd, FC_GET_VALUES, 0, at);
	fc_write_all(fd, q, at);
	cr_assert_eq(fc_read_record(fd, &id, r, sizeof(r), &len),
	    FC_GET_VALUES_RESULT);
	cr_expect(len > 15 && r[0] == 13 && memcmp(r + 2, "FCGI_MAX_REQS",
	    13) == 0 && atoi((char *)r + 15) >= 8, "FCGI_MAX_REQS: %.*s",
	    (int)len, (char *)r);
	fc_still_serves(fd);
}

Test(fcgi, unknown_management_type_answered)
{
	unsigned char	 r[16];
	size_t		 len;
	unsigned	 id;
	int		 fd = fc_connect();

	fc_header(fd, 99, 0, 3);
	fc_write_all(fd, "abc", 3);
	cr_assert_eq(fc_read_record(fd, &id, r, sizeof(r), &len),
	    FC_UNKNOWN_TYPE, "no FCGI_UNKNOWN_TYPE");
	cr_expect(id == 0 && len == 8 && r[0] == 99, "id %u len %zu type %d",
	    id, len, r[0]);
	fc_still_serves(fd);
}

Test(fcgi, other_roles_refused)
{
	unsigned char	 r[16];
	size_t		 len;
	unsigned	 id;
	int		 fd = fc_connect(), role;

	for (role = 2; role <= 3; role++) {	/* AUTHORIZER, FILTER */
		fc_begin(fd, 1, role);
		fc_params(fd, 1);
		fc_header(fd, FC_STDIN, 1, 0);
		cr_assert_eq(fc_read_record(fd, &id, r, sizeof(r), &len),
		    FC_END, "role %d: no END_REQUEST first", role);
		cr_expect(id == 1 && len == 8 && r[4] == 3, "role %d: "
		    "protocolStatus %d, not FCGI_UNKNOWN_ROLE", role, r[4]);
	}
	/* Nothing was served for them: the next answer is the next request. */
	fc_send(fd, "GET", "/", 0, "");
	cr_expect_eq(fc_response(fd), 200);
	close(fd);
}

Test(fcgi, second_request_on_a_connection_refused)
{
	unsigned char	 r[16];
	size_t		 len;
	unsigned	 id;
	int		 fd = fc_connect();

	fc_begin(fd, 1, 1);
	fc_params(fd, 1);
	fc_begin(fd, 2, 1);
	cr_assert_eq(fc_read_record(fd, &id, r, sizeof(r), &len), FC_END,
	    "no END_REQUEST for the multiplexed request");
	cr_expect(id == 2 && len == 8 && r[4] == 1, "id %u protocolStatus %d, "
	    "not FCGI_CANT_MPX_CONN", id, r[4]);
	fc_params(fd, 2);	/* records of a refused request: ignored */
	fc_header(fd, FC_STDIN, 2, 0);
	fc_header(fd, FC_STDIN, 1, 0);
	cr_expect_eq(fc_response(fd), 200, "the first request was not answered");
	close(fd);
}

/* Appends a pair whose value is len bytes of 'v' (4-byte value length). */
static size_t
fc_long_pair(unsigned char *out, size_t at, const char *n, size_t len)
{
	out[at++] = (unsigned char)strlen(n);
	out[at++] = (unsigned char)(0x80 | len >> 24);
	out[at++] = (unsigned char)(len >> 16);
	out[at++] = (unsigned char)(len >> 8);
	out[at++] = (unsigned char)len;
	memcpy(out + at, n, strlen(n));
	at += strlen(n);
	memset(out + at, 'v', len);
	return at + len;
}

Test(fcgi, params_over_64k_answered_431)
{
	static unsigned char	 p[65000];
	size_t			 at;
	int			 fd = fc_connect(), i;

	fc_begin(fd, 1, 1);
	for (i = 0; i < 2; i++) {	/* 2 x 60000 bytes of one header each */
		at = fc_long_pair(p, 0, i ? "HTTP_Y" : "HTTP_X", 60000);
		fc_header(fd, FC_PARAMS, 1, at);
		fc_write_all(fd, p, at);
	}
	fc_header(fd, FC_PARAMS, 1, 0);
	fc_header(fd, FC_STDIN, 1, 0);
	cr_expect_eq(fc_response(fd), 431);
	fc_still_serves(fd);
}
