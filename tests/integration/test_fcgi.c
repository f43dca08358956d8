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
