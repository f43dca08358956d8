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
 * Socket activation: the listening socket on fd 0 belongs to the parent
 * (systemd). Stopping one responder must leave it usable for the next.
 */
#include <sys/socket.h>
#include <sys/un.h>

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
