/* itest: integration test helpers. See itest.h. */
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <ctype.h>
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

static const char *
env_dir(const char *name)
{
	const char *v = getenv(name);

	return v != NULL ? v : ".";
}

const char *
itest_src(const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", env_dir("top_srcdir"), rel);
	return out;
}

const char *
itest_build(const char *rel, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s/%s", env_dir("top_builddir"), rel);
	return out;
}

int
itest_free_port(void)
{
	struct sockaddr_in	 sa;
	socklen_t		 len = sizeof(sa);
	int			 fd, port = -1;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int
itest_connect(const struct itest_server *s)
{
	struct sockaddr_in	 sa;
	int			 fd;

	if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (s->source[0] != '\0' && (inet_pton(AF_INET, s->source,
	    &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa,
	    sizeof(sa)) == -1)) {
		close(fd);
		return -1;
	}
	sa.sin_port = htons((unsigned short)s->port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

int
itest_start(struct itest_server *s, const char *config, const char *state,
    const char *const *extra)
{
	char	 serve[512], conf[512], sluice[512], tmpl[512], stat[512];
	char	 py[1600], k[512], ex[512], tw[512];
	char	 portstr[16], line[256];
	const char *argv[40];
	int	 pfd[2], argc = 0, i;
	FILE	*f;

	memset(s, 0, sizeof(*s));
	snprintf(s->prefix, sizeof(s->prefix), "/tmp/sluice-it.XXXXXX");
	if (mkdtemp(s->prefix) == NULL)
		return -1;
	if (state != NULL)
		snprintf(s->state, sizeof(s->state), "%s", state);
	else
		snprintf(s->state, sizeof(s->state), "%s/state", s->prefix);
	if ((s->port = itest_free_port()) <= 0 || pipe(pfd) == -1)
		return -1;
	snprintf(portstr, sizeof(portstr), "%d", s->port);
	snprintf(s->base, sizeof(s->base), "http://127.0.0.1:%d", s->port);
	argv[argc++] = itest_build("nginx/sluice-serve", serve, sizeof(serve));
	argv[argc++] = "--port";
	argv[argc++] = portstr;
	argv[argc++] = "--config";
	if (config[0] == '/')
		snprintf(conf, sizeof(conf), "%s", config);
	else
		itest_src(config, conf, sizeof(conf));
	argv[argc++] = conf;
	argv[argc++] = "--prefix";
	argv[argc++] = s->prefix;
	argv[argc++] = "--state";
	argv[argc++] = s->state;
	argv[argc++] = "--sluice";
	argv[argc++] = itest_build("sluice", sluice, sizeof(sluice));
	argv[argc++] = "--templates";
	argv[argc++] = itest_src("templates", tmpl, sizeof(tmpl));
	argv[argc++] = "--static";
	argv[argc++] = itest_src("nginx/static", stat, sizeof(stat));
	argv[argc++] = "--quiet";
	/* Python workers: the helper, the examples, the test workers. */
	snprintf(py, sizeof(py), "%s:%s:%s", itest_src("kernels", k,
	    sizeof(k)), itest_src("kernels/examples", ex, sizeof(ex)),
	    itest_src("tests/data/workers", tw, sizeof(tw)));
	argv[argc++] = "--python";
	argv[argc++] = py;
	for (i = 0; extra != NULL && extra[i] != NULL && argc < 38; i++)
		argv[argc++] = extra[i];
	argv[argc] = NULL;
	if ((s->pid = fork()) == -1)
		return -1;
	if (s->pid == 0) {
		dup2(pfd[1], 1);
		close(pfd[0]);
		close(pfd[1]);
		/* Its own process group, so a stop reaches nginx and responders. */
		setpgid(0, 0);
		/* A test killed by its timeout takes it along (its TERM trap
		   stops nginx and the responders). */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		execv(argv[0], (char *const *)argv);
		_exit(127);
	}
	close(pfd[1]);
	if ((f = fdopen(pfd[0], "r")) == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "ready ", 6) == 0) {
			fclose(f);
			return 0;
		}
	fclose(f);
	itest_stop(s);
	return -1;
}

int
itest_stop(struct itest_server *s)
{
	int st;

	if (s->pid <= 0)
		return -1;
	kill(s->pid, SIGTERM);
	if (waitpid(s->pid, &st, 0) == -1)
		return -1;
	s->pid = 0;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static size_t
collect(char *p, size_t size, size_t n, void *arg)
{
	buf_append(arg, p, size * n);
	return size * n;
}

int
itest_req(const struct itest_server *s, const char *method, const char *path,
    const char *body, size_t bodylen, const char *const *headers,
    const char *cookie, struct itest_resp *r)
{
	CURL			*c;
	struct curl_slist	*hl = NULL;
	char			 url[1024], ck[128];
	int			 i, rc = -1;

	buf_init(&r->headers);
	buf_init(&r->body);
	r->status = 0;
	if ((c = curl_easy_init()) == NULL)
		return -1;
	snprintf(url, sizeof(url), "%s%s", s->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "HEAD") == 0)
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
		    (curl_off_t)bodylen);
	}
	for (i = 0; headers != NULL && headers[i] != NULL; i++)
		hl = curl_slist_append(hl, headers[i]);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	if (s->source[0] != '\0')
		curl_easy_setopt(c, CURLOPT_INTERFACE, s->source);
	if (s->unix_path[0] != '\0')
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, s->unix_path);
	if (cookie != NULL) {
		snprintf(ck, sizeof(ck), "sid=%s", cookie);
		curl_easy_setopt(c, CURLOPT_COOKIE, ck);
	}
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &r->headers);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &r->body);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 60L);
	if (curl_easy_perform(c) == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
		rc = 0;
	}
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	buf_cstr(&r->body);
	return rc;
}

void
itest_resp_free(struct itest_resp *r)
{
	buf_free(&r->headers);
	buf_free(&r->body);
}

/* 1 when the header line from p to end is one of name (n long). */
static int
header_is(const char *p, const char *end, const char *name, size_t n)
{
	return (size_t)(end - p) > n && strncasecmp(p, name, n) == 0 &&
	    p[n] == ':';
}

int
itest_header(const struct itest_resp *r, const char *name, char *out,
    size_t outlen)
{
	const char	*p = r->headers.data, *end, *v;
	size_t		 n = strlen(name);

	if (p == NULL)
		return -1;
	while ((end = strstr(p, "\r\n")) != NULL) {
		if (header_is(p, end, name, n)) {
			for (v = p + n + 1; *v == ' '; v++)
				;
			snprintf(out, outlen, "%.*s", (int)(end - v), v);
			return 0;
		}
		p = end + 2;
	}
	return -1;
}

int
itest_header_count(const struct itest_resp *r, const char *name)
{
	const char	*p = r->headers.data, *end;
	size_t		 n = strlen(name);
	int		 count = 0;

	if (p == NULL)
		return 0;
	for (; (end = strstr(p, "\r\n")) != NULL; p = end + 2)
		if (header_is(p, end, name, n))
			count++;
	return count;
}

int
itest_stream(const struct itest_server *s, const char *path,
    const char *cookie, struct itest_resp *r)
{
	static const char *const sse[] = { "Accept: text/event-stream", NULL };
	struct itest_resp	 one;
	struct buf		 all;
	long			 ms;
	int			 tries;

	buf_init(&all);
	memset(r, 0, sizeof(*r));
	for (tries = 1;; tries++) {
		if (itest_req(s, "GET", path, NULL, 0, sse, cookie, &one) != 0) {
			buf_free(&all);
			return -1;
		}
		buf_append(&all, one.body.data, one.body.len);
		ms = strncmp(buf_cstr(&one.body), "retry: ", 7) == 0 ?
		    atol(buf_cstr(&one.body) + 7) : -1;
		if (ms < 0 || tries == 50)
			break;
		itest_resp_free(&one);
		usleep((useconds_t)ms * 1000);
	}
	buf_free(&one.body);
	one.body = all;
	*r = one;
	return 0;
}

/* Sends req on a new connection; what came within 200 ms of quiet. */
static int
raw_exchange(const struct itest_server *s, const char *req, char *b,
    size_t blen)
{
	struct pollfd	 p;
	ssize_t		 k;
	size_t		 n = 0;
	int		 fd;

	if ((fd = itest_connect(s)) == -1)
		return -1;
	if (send(fd, req, strlen(req), MSG_NOSIGNAL) > 0) {
		p.fd = fd;
		p.events = POLLIN;
		while (n < blen - 1 && poll(&p, 1, 200) > 0 &&
		    (k = recv(fd, b + n, blen - 1 - n, 0)) > 0)
			n += (size_t)k;
	}
	b[n] = '\0';
	close(fd);
	return 0;
}

int
itest_stream_held(const struct itest_server *s, const char *path,
    const char *cookie)
{
	char	 req[512], b[4096];
	int	 tries;

	snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: localhost\r\n"
	    "Accept: text/event-stream\r\n%s%s%s\r\n", path,
	    cookie != NULL ? "Cookie: sid=" : "", cookie != NULL ? cookie : "",
	    cookie != NULL ? "\r\n" : "");
	for (tries = 0; tries < 50; tries++) {
		if (raw_exchange(s, req, b, sizeof(b)) == -1)
			return -1;
		if (strncmp(b, "HTTP/1.1 200", 12) == 0 &&
		    strstr(b, "\r\n\r\n") != NULL &&
		    strstr(b, "retry: ") == NULL)
			return 0;
		usleep(100000);
	}
	return -1;
}

int
itest_new_session(const struct itest_server *s, char sid[33])
{
	struct itest_resp	 r;
	char			 v[256];
	int			 rc = -1;

	if (itest_req(s, "GET", "/healthz", NULL, 0, NULL, NULL, &r) == 0 &&
	    itest_header(&r, "Set-Cookie", v, sizeof(v)) == 0 &&
	    strncmp(v, "sid=", 4) == 0 && strlen(v) >= 36) {
		memcpy(sid, v + 4, 32);
		sid[32] = '\0';
		rc = 0;
	}
	itest_resp_free(&r);
	return rc;
}

int
itest_csrf(const struct itest_server *s, const char *sid, char csrf[65])
{
	struct itest_resp	 r;
	const char		*p;
	int			 rc = -1;

	if (itest_req(s, "GET", "/session.json", NULL, 0, NULL, sid, &r) == 0 &&
	    r.status == 200 && (p = strstr(buf_cstr(&r.body), "\"csrf\":\"")) !=
	    NULL && strlen(p + 8) >= 64) {
		memcpy(csrf, p + 8, 64);
		csrf[64] = '\0';
		rc = 0;
	}
	itest_resp_free(&r);
	return rc;
}

static const char *const itest_form_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };

int
itest_submit(const struct itest_server *s, const char *sid, const char *task,
    const char *fields, const char *const *headers, struct itest_resp *r)
{
	char	 csrf[65], body[2048], path[128];

	if (itest_csrf(s, sid, csrf) == -1)
		return -1;
	snprintf(body, sizeof(body), "csrf=%s%s%s", csrf,
	    fields[0] != '\0' ? "&" : "", fields);
	snprintf(path, sizeof(path), "/tasks/%s", task);
	return itest_req(s, "POST", path, body, strlen(body),
	    headers != NULL ? headers : itest_form_h, sid, r);
}

int
itest_submit_id(const struct itest_server *s, const char *sid,
    const char *task, const char *fields, char id[33], long *status)
{
	struct itest_resp	 r;
	int			 rc;

	if (itest_submit(s, sid, task, fields, NULL, &r) == -1)
		return -1;
	if (status != NULL)
		*status = r.status;
	rc = itest_job_location(&r, id);
	itest_resp_free(&r);
	return rc;
}

int
itest_job_location(const struct itest_resp *r, char id[33])
{
	char	 loc[128];

	if (r->status != 303 ||
	    itest_header(r, "Location", loc, sizeof(loc)) == -1 ||
	    strncmp(loc, "/jobs/", 6) != 0 || strlen(loc) != 38)
		return -1;
	memcpy(id, loc + 6, 32);
	id[32] = '\0';
	return 0;
}

void
itest_job_field(const struct itest_server *s, const char *sid, const char *id,
    const char *key, char *out, size_t len)
{
	struct itest_resp	 r;
	char			 path[128], pat[64];
	const char		*p;

	snprintf(out, len, "?");
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (itest_req(s, "GET", path, NULL, 0, NULL, sid, &r) == 0 &&
	    r.status == 200 && (p = strstr(r.body.data, pat)) != NULL) {
		p += strlen(pat);
		if (*p == '"')
			snprintf(out, len, "%.*s", (int)strcspn(p + 1, "\""),
			    p + 1);
		else
			snprintf(out, len, "%.*s", (int)strcspn(p, ",}"), p);
	}
	itest_resp_free(&r);
}

int
itest_wait_state(const struct itest_server *s, const char *sid,
    const char *id, const char *want, int timeout_ms, char *last,
    size_t lastlen)
{
	int waited;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		itest_job_field(s, sid, id, "state", last, lastlen);
		if (strcmp(last, want) == 0)
			return 0;
		usleep(50000);
	}
	return -1;
}

json_t *
itest_job_json(const struct itest_server *s, const char *sid, const char *id)
{
	struct itest_resp	 r;
	char			 path[96];
	json_t			*o = NULL;

	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	if (itest_req(s, "GET", path, NULL, 0, NULL, sid, &r) == 0 &&
	    r.status == 200)
		o = json_loads(r.body.data, 0, NULL);
	itest_resp_free(&r);
	return o;
}

json_t *
itest_wait_final(const struct itest_server *s, const char *sid,
    const char *id, int timeout_ms)
{
	json_t		*o;
	const char	*st;
	int		 waited;

	for (waited = 0; waited < timeout_ms; waited += 50) {
		if ((o = itest_job_json(s, sid, id)) != NULL) {
			st = json_string_value(json_object_get(o, "state"));
			if (st != NULL && strcmp(st, "queued") != 0 &&
			    strcmp(st, "running") != 0)
				return o;
			json_decref(o);
		}
		usleep(50000);
	}
	return NULL;
}
