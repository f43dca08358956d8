/*
 * Hostile requests through real nginx: other sessions' job ids, malformed
 * and oversized cookies, header injection, path traversal and encoded
 * slashes, invalid UTF-8 and NUL in fields, oversized bodies, slow clients
 * and lying Content-Lengths. Raw sockets where libcurl would tidy the
 * request up (dot segments, bare CR/LF, a body that stops short).
 */
#include <criterion/criterion.h>

#include <sys/socket.h>
#include <sys/time.h>
#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "itest.h"

static struct itest_server srv;

static void
setup(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/it.conf", NULL, NULL), 0,
	    "sluice-serve did not become ready");
}

/* One responder thread: any request that holds it blocks every other. */
static void
setup_one(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/onethread.conf", NULL,
	    NULL), 0, "sluice-serve did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0, "sluice-serve did not exit cleanly");
}

TestSuite(hostile, .init = setup, .fini = teardown, .timeout = 120);
TestSuite(onethread, .init = setup_one, .fini = teardown, .timeout = 120);

static const char *const form_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };
static const char *const form_json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };

/* ---- helpers ---- */

static int
is_hex32(const char *s, size_t len)
{
	size_t i;

	if (len != 32)
		return 0;
	for (i = 0; i < 32; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* Connected TCP socket to the server, or -1. */
static int
raw_connect(void)
{
	return itest_connect(&srv);
}

static int
raw_send(int fd, const char *p, size_t len)
{
	ssize_t n;

	while (len > 0) {
		if ((n = send(fd, p, len, MSG_NOSIGNAL)) <= 0) {
			if (n == -1 && errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Reads from fd into out until the peer closes or nothing arrives for
 * idle_ms. Returns 0 when the peer closed, 1 on the idle timeout, -1 on error.
 */
static int
raw_read_all(int fd, struct buf *out, int idle_ms)
{
	struct pollfd	 p;
	char		 chunk[16384];
	ssize_t		 n;

	for (;;) {
		p.fd = fd;
		p.events = POLLIN;
		if (poll(&p, 1, idle_ms) == 0)
			return 1;
		if ((n = recv(fd, chunk, sizeof(chunk), 0)) == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return errno == ECONNRESET ? 0 : -1;
		}
		buf_append(out, chunk, (size_t)n);
	}
}

/* Sends req (which should say Connection: close) and reads the answer. */
static int
raw_req(const char *req, size_t len, struct buf *out)
{
	int fd, rc;

	buf_init(out);
	if ((fd = raw_connect()) == -1)
		return -1;
	rc = raw_send(fd, req, len) == 0 ? raw_read_all(fd, out, 10000) : -1;
	close(fd);
	buf_cstr(out);
	return rc == -1 ? -1 : 0;
}

/* The status of the first response in a raw answer, or 0. */
static int
raw_status(const char *resp)
{
	if (resp == NULL || strncmp(resp, "HTTP/1.1 ", 9) != 0)
		return 0;
	return atoi(resp + 9);
}

/*
 * Checks the header block of the raw response at resp: every line is
 * "Name: value" with a token name, no bare CR or LF or NUL anywhere, no
 * header named injected, every Set-Cookie is exactly a fresh sid and every
 * Location a job page or "/". Fails the test with what is wrong.
 */
static void
check_header_block(const char *resp, size_t len, const char *injected)
{
	const char	*end, *p, *eol, *colon, *q;
	size_t		 hlen, n;

	cr_assert(len > 0 && resp != NULL, "no response");
	end = memmem(resp, len, "\r\n\r\n", 4);
	cr_assert(end != NULL, "no end of header block: %.200s", resp);
	hlen = (size_t)(end - resp) + 2;
	cr_assert(memchr(resp, '\0', hlen) == NULL, "NUL in headers");
	p = strstr(resp, "\r\n");
	cr_assert(p != NULL);
	for (q = resp; q < p; q++)
		cr_assert(*q != '\n' && *q != '\r', "bare CR/LF in status line");
	for (p += 2; p < resp + hlen; p = eol + 2) {
		eol = memmem(p, hlen - (size_t)(p - resp), "\r\n", 2);
		cr_assert(eol != NULL);
		for (q = p; q < eol; q++)
			cr_assert(*q != '\n' && *q != '\r',
			    "bare CR or LF inside a header line: %.*s",
			    (int)(eol - p), p);
		colon = memchr(p, ':', (size_t)(eol - p));
		cr_assert(colon != NULL && colon > p,
		    "header line without a name: %.*s", (int)(eol - p), p);
		for (q = p; q < colon; q++)
			cr_assert(strchr("!#$%&'*+-.^_`|~", *q) != NULL ||
			    (*q >= '0' && *q <= '9') || (*q >= 'a' &&
			    *q <= 'z') || (*q >= 'A' && *q <= 'Z'),
			    "header name is not a token: %.*s",
			    (int)(eol - p), p);
		n = (size_t)(colon - p);
		if (injected != NULL && n == strlen(injected) &&
		    strncasecmp(p, injected, n) == 0)
			cr_assert_fail("injected header line: %.*s",
			    (int)(eol - p), p);
		for (q = colon + 1; *q == ' '; q++)
			;
		if (n == 10 && strncasecmp(p, "Set-Cookie", 10) == 0)
			cr_assert(eol - q == 4 + 32 + 32 &&
			    strncmp(q, "sid=", 4) == 0 && is_hex32(q + 4, 32) &&
			    strncmp(q + 36, "; Path=/; HttpOnly; SameSite=Lax",
			    32) == 0, "unexpected Set-Cookie: %.*s",
			    (int)(eol - q), q);
		if (n == 8 && strncasecmp(p, "Location", 8) == 0)
			cr_assert((eol - q == 1 && *q == '/') ||
			    (eol - q == 38 && strncmp(q, "/jobs/", 6) == 0 &&
			    is_hex32(q + 6, 32)), "unexpected Location: %.*s",
			    (int)(eol - q), q);
	}
}

/* The server still answers GET / with 200 (after something hostile). */
static void
assert_healthy(void)
{
	struct itest_resp r;

	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, NULL, &r), 0,
	    "no answer after a hostile request");
	cr_assert_eq(r.status, 200, "GET / answered %ld", r.status);
	itest_resp_free(&r);
}

static size_t
discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/*
 * GET / answers 200 within 8 s: well under nginx's 15 s client timeouts,
 * so a responder thread held by a stalled client (which only those
 * timeouts would free) shows up as a failure here, not as a slow pass.
 */
static void
assert_answers_promptly(void)
{
	CURL		*c;
	char		 url[128];
	long		 status = 0;
	CURLcode	 rc;

	cr_assert((c = curl_easy_init()) != NULL);
	snprintf(url, sizeof(url), "%s/", srv.base);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_COOKIE,
	    "sid=fedcba9876543210fedcba9876543210");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 8L);
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(c);
	cr_assert_eq(rc, CURLE_OK, "GET / did not answer within 8 s (%s): "
	    "a responder thread is held by a slow client",
	    curl_easy_strerror(rc));
	cr_assert_eq(status, 200, "GET / answered %ld", status);
}

/* POSTs "csrf=TOKEN&fields" for sid to path with headers. */
static int
submit(const char *sid, const char *path, const char *fields,
    const char *const *headers, struct itest_resp *r)
{
	char	 csrf[65], body[4096];

	if (itest_csrf(&srv, sid, csrf) == -1)
		return -1;
	snprintf(body, sizeof(body), "csrf=%s%s%s", csrf,
	    fields[0] != '\0' ? "&" : "", fields);
	return itest_req(&srv, "POST", path, body, strlen(body),
	    headers != NULL ? headers : form_h, sid, r);
}

/* Submits a burn job as JSON and returns its id. */
static void
submit_job(const char *sid, const char *fields, char id[33])
{
	struct itest_resp	 r;
	const char		*p;

	cr_assert_eq(submit(sid, "/tasks/burn", fields, form_json_h, &r), 0);
	cr_assert_eq(r.status, 202, "submit: %ld %s", r.status, r.body.data);
	p = strstr(r.body.data, "\"id\":\"");
	cr_assert(p != NULL && is_hex32(p + 6, strcspn(p + 6, "\"")));
	memcpy(id, p + 6, 32);
	id[32] = '\0';
	itest_resp_free(&r);
}

/* GET / with a raw Cookie header; checks a fresh 32-hex sid is issued. */
static void
expect_fresh_session(const char *cookie_header, const char *bad)
{
	struct itest_resp	 r;
	const char		*h[] = { cookie_header, NULL };
	char			 v[256], sid[33];
	const char		*p;

	cr_assert_eq(itest_req(&srv, "GET", "/session.json", NULL, 0, h, NULL,
	    &r), 0);
	cr_assert_eq(r.status, 200, "%s: status %ld", cookie_header, r.status);
	check_header_block(r.headers.data, r.headers.len, NULL);
	cr_assert_eq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0,
	    "%s: no fresh session", cookie_header);
	cr_assert(strncmp(v, "sid=", 4) == 0 && is_hex32(v + 4,
	    strcspn(v + 4, ";")), "not a 32 hex sid: %s", v);
	memcpy(sid, v + 4, 32);
	sid[32] = '\0';
	if (bad != NULL)
		cr_expect(strcasecmp(sid, bad) != 0, "malformed sid kept");
	/* The responder was given the same fresh session as the browser. */
	p = strstr(r.body.data, "\"session\":\"");
	cr_assert(p != NULL, "%s", r.body.data);
	cr_expect(strncmp(p + 11, sid, 32) == 0 && p[43] == '"',
	    "responder session %.40s is not the issued %s", p + 11, sid);
	itest_resp_free(&r);
}

/* ---- other sessions' jobs ---- */

Test(hostile, other_session_job_ids_404_everywhere)
{
	struct itest_resp	 r;
	char			 a[33], b[33], id[33], path[128], up[33];
	const char		*sfx[] = { "", ".json", "/result.png" };
	size_t			 i;

	cr_assert_eq(itest_new_session(&srv, a), 0);
	cr_assert_eq(itest_new_session(&srv, b), 0);
	submit_job(a, "ms=3000", id);
	for (i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		snprintf(path, sizeof(path), "/jobs/%s%s", id, sfx[i]);
		cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, b,
		    &r), 0);
		cr_expect_eq(r.status, 404, "%s for another session: %ld",
		    path, r.status);
		cr_expect(strstr(r.body.data, "ms") == NULL ||
		    strstr(r.body.data, "\"task\"") == NULL, "job leaked");
		itest_resp_free(&r);
		/* No cookie at all: a fresh session, still not its job. */
		cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, NULL,
		    &r), 0);
		cr_expect_eq(r.status, 404, "%s without a session: %ld", path,
		    r.status);
		itest_resp_free(&r);
	}
	/* Cancel by another session, with its own valid token: 404, no effect. */
	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	cr_assert_eq(submit(b, path, "", NULL, &r), 0);
	cr_expect_eq(r.status, 404, "cancel by another session: %ld", r.status);
	itest_resp_free(&r);
	/* The same id in upper case is not another spelling of it. */
	for (i = 0; i < 32; i++)
		up[i] = (char)(id[i] >= 'a' ? id[i] - 32 : id[i]);
	up[32] = '\0';
	snprintf(path, sizeof(path), "/jobs/%s.json", up);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, a, &r), 0);
	cr_expect_eq(r.status, 404, "upper-case id: %ld", r.status);
	itest_resp_free(&r);
	/* The owner still sees it, not cancelled. */
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, a, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect(strstr(r.body.data, "\"cancelled\"") == NULL,
	    "another session cancelled the job: %s", r.body.data);
	itest_resp_free(&r);
}

Test(hostile, guessed_job_ids_404)
{
	struct itest_resp	 r;
	const char		*paths[] = {
		"/jobs/00000000000000000000000000000000",
		"/jobs/ffffffffffffffffffffffffffffffff.json",
		"/jobs/0000000000000000000000000000000",
		"/jobs/000000000000000000000000000000000",
		"/jobs/0000000000000000000000000000000g",
		"/jobs/",
		"/jobs",
	};
	size_t i;

	for (i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
		cr_assert_eq(itest_req(&srv, "GET", paths[i], NULL, 0, NULL,
		    NULL, &r), 0);
		cr_expect_eq(r.status, 404, "%s: %ld", paths[i], r.status);
		itest_resp_free(&r);
	}
}

/* ---- cookies and sid ---- */

Test(hostile, sid_with_quotes_and_semicolons_fresh_session)
{
	expect_fresh_session("Cookie: sid=\"0123456789abcdef0123456789abcdef\"",
	    NULL);
	expect_fresh_session("Cookie: sid=\"abc;def\"", NULL);
	expect_fresh_session("Cookie: sid=0123456789abcdef;0123456789abcdef",
	    NULL);
	expect_fresh_session("Cookie: sid=';--\"<script>", NULL);
}

Test(hostile, sid_with_unicode_fresh_session)
{
	expect_fresh_session("Cookie: sid=\xc3\xbc" "n\xc3\xaf" "c\xc3\xb8"
	    "d\xc3\xa9" "0123456789abcdef01234", NULL);
	expect_fresh_session("Cookie: sid=\xff\xfe" "0123456789abcdef"
	    "0123456789abcd", NULL);
	expect_fresh_session("Cookie: sid=%30123456789abcdef0123456789abcdef",
	    NULL);
}

Test(hostile, sid_31_and_33_hex_fresh_session)
{
	expect_fresh_session("Cookie: sid=0123456789abcdef0123456789abcde",
	    "0123456789abcdef0123456789abcde");
	expect_fresh_session("Cookie: sid=0123456789abcdef0123456789abcdef0",
	    NULL);
}

Test(hostile, sid_uppercase_hex_fresh_session)
{
	expect_fresh_session("Cookie: sid=0123456789ABCDEF0123456789ABCDEF",
	    "0123456789ABCDEF0123456789ABCDEF");
}

Test(hostile, sid_empty_or_valueless_fresh_session)
{
	expect_fresh_session("Cookie: sid=", NULL);
	expect_fresh_session("Cookie: sid", NULL);
	expect_fresh_session("Cookie: other=1; sid=; x=y", NULL);
	/* nginx reads the first sid: a bad one first is a bad sid. */
	expect_fresh_session("Cookie: sid=zzz; sid=0123456789abcdef"
	    "0123456789abcdef", NULL);
}

Test(hostile, cookie_of_6k_fresh_session)
{
	struct buf h;

	buf_init(&h);
	buf_puts(&h, "Cookie: sid=");
	while (h.len < 6000)
		buf_puts(&h, "0123456789abcdef");
	expect_fresh_session(buf_cstr(&h), NULL);
	buf_free(&h);
	assert_healthy();
}

/*
 * A 100 KB Cookie is larger than nginx's large_client_header_buffers (4 x
 * 8k): nginx itself refuses it with 400 "Request Header Or Cookie Too
 * Large" and the responder never sees it. That is the one 4xx allowed.
 */
Test(hostile, cookie_of_100k_is_nginx_400)
{
	struct itest_resp	 r;
	struct buf		 h;
	char			 v[64];

	buf_init(&h);
	buf_puts(&h, "Cookie: sid=");
	while (h.len < 100 * 1024)
		buf_puts(&h, "0123456789abcdef");
	{
		const char *hl[] = { buf_cstr(&h), NULL };

		cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, hl, NULL,
		    &r), 0);
	}
	cr_expect_eq(r.status, 400, "100 KB cookie: %ld", r.status);
	cr_expect(strstr(r.body.data, "Request Header Or Cookie Too Large") !=
	    NULL, "not nginx's own 400: %.200s", r.body.data);
	cr_expect_neq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0,
	    "nginx's 400 set a cookie");
	check_header_block(r.headers.data, r.headers.len, NULL);
	itest_resp_free(&r);
	buf_free(&h);
	assert_healthy();
}

Test(hostile, no_sid_submit_fresh_session_then_403)
{
	struct itest_resp	 r;
	char			 v[256];

	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "ms=1", 4, form_h,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 403, "no sid, no csrf: %ld", r.status);
	cr_assert_eq(itest_header(&r, "Set-Cookie", v, sizeof(v)), 0);
	cr_expect(strncmp(v, "sid=", 4) == 0 && is_hex32(v + 4,
	    strcspn(v + 4, ";")), "%s", v);
	itest_resp_free(&r);
	/* JSON: 403 as JSON. */
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "ms=1", 4,
	    form_json_h, NULL, &r), 0);
	cr_expect_eq(r.status, 403);
	cr_expect(strncmp(r.body.data, "{\"error\":", 9) == 0, "%s",
	    r.body.data);
	itest_resp_free(&r);
	/* A token of another session does not carry over to a fresh one. */
	{
		char	 a[33], csrf[65], body[128];

		cr_assert_eq(itest_new_session(&srv, a), 0);
		cr_assert_eq(itest_csrf(&srv, a, csrf), 0);
		snprintf(body, sizeof(body), "csrf=%s&ms=1", csrf);
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body,
		    strlen(body), form_h, NULL, &r), 0);
		cr_expect_eq(r.status, 403, "another session's token: %ld",
		    r.status);
		itest_resp_free(&r);
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body,
		    strlen(body), form_h, "0123456789ABCDEF0123456789ABCDEF",
		    &r), 0);
		cr_expect_eq(r.status, 403, "malformed sid + token: %ld",
		    r.status);
		itest_resp_free(&r);
	}
}

/* ---- header injection ---- */

/* GET/POST a raw request and check no header line was injected. */
static int
raw_injection(const char *req)
{
	struct buf	 out;
	int		 st;

	cr_assert_eq(raw_req(req, strlen(req), &out), 0, "no answer");
	st = raw_status(out.data);
	cr_assert(st > 0, "no HTTP/1.1 answer to %.80s: %.200s", req,
	    out.data);
	check_header_block(out.data, out.len, "X-Injected");
	cr_expect(strstr(out.data, "\r\nSet-Cookie: evil") == NULL &&
	    strstr(out.data, "\nX-Injected") == NULL, "injected: %.400s",
	    out.data);
	buf_free(&out);
	return st;
}

Test(hostile, crlf_in_path_never_splits_a_header)
{
	int st;

	st = raw_injection("GET /jobs/%0d%0aX-Injected:%201 HTTP/1.1\r\n"
	    "Host: x\r\nConnection: close\r\n\r\n");
	cr_expect_eq(st, 404);
	st = raw_injection("GET /jobs/0123456789abcdef0123456789abcdef%0d%0a"
	    "Set-Cookie:%20evil=1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
	    "\r\n");
	cr_expect_eq(st, 404);
	st = raw_injection("POST /tasks/burn%0d%0aX-Injected:%201 HTTP/1.1\r\n"
	    "Host: x\r\nConnection: close\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 4\r\n\r\nms=1");
	cr_expect_eq(st, 404);
	st = raw_injection("GET /?next=%0d%0aX-Injected:%201&x=%0aLocation:"
	    "%20http://evil/ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	cr_expect_eq(st, 200);
	assert_healthy();
}

Test(hostile, crlf_in_fields_never_splits_a_header)
{
	struct itest_resp	 r;
	char			 sid[33];
	const char		*fields[] = {
		"ms=1&nonce=%0d%0aX-Injected:%201",
		"ms=1&nonce=%0aLocation:%20http://evil/",
		"ms=1%0d%0aX-Injected:%201",
		"m%0d%0aX-Injected:%201s=1",
	};
	size_t i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		cr_assert_eq(submit(sid, "/tasks/burn", fields[i], NULL, &r),
		    0);
		cr_expect(r.status == 303 || r.status == 400,
		    "%s: %ld", fields[i], r.status);
		cr_assert(r.headers.len > 0);
		check_header_block(r.headers.data, r.headers.len,
		    "X-Injected");
		itest_resp_free(&r);
		cr_assert_eq(submit(sid, "/tasks/burn", fields[i], form_json_h,
		    &r), 0);
		cr_expect(r.status == 202 || r.status == 400,
		    "%s (JSON): %ld", fields[i], r.status);
		check_header_block(r.headers.data, r.headers.len,
		    "X-Injected");
		itest_resp_free(&r);
	}
}

Test(hostile, crlf_in_request_headers_never_reaches_the_response)
{
	int st;

	/* A bare LF ends the Cookie line for nginx: Set-Cookie is a request header. */
	st = raw_injection("GET / HTTP/1.1\r\nHost: x\r\nCookie: sid="
	    "0123456789abcdef0123456789abcdef\nSet-Cookie: evil=1\r\n"
	    "Connection: close\r\n\r\n");
	cr_expect(st == 200 || st == 400, "%d", st);
	/* A bare CR inside a value. */
	st = raw_injection("GET / HTTP/1.1\r\nHost: x\r\nCookie: sid="
	    "0123456789abcdef0123456789abcdef\rX-Injected: 1\r\n"
	    "Connection: close\r\n\r\n");
	cr_expect(st == 200 || st == 400, "%d", st);
	/* Encoded CR/LF in the CSRF header. */
	st = raw_injection("POST /tasks/burn HTTP/1.1\r\nHost: x\r\n"
	    "X-CSRF-Token: %0d%0aX-Injected: 1\r\nContent-Type: application/"
	    "x-www-form-urlencoded\r\nContent-Length: 4\r\nConnection: close"
	    "\r\n\r\nms=1");
	cr_expect_eq(st, 403);
	/* An obsolete folded line. */
	st = raw_injection("GET / HTTP/1.1\r\nHost: x\r\nAccept: text/html\r\n"
	    " X-Injected: 1\r\nConnection: close\r\n\r\n");
	cr_expect(st == 200 || st == 400, "%d", st);
	assert_healthy();
}

/* ---- path traversal and encoded slashes ---- */

/*
 * Requests method path raw (no client-side normalisation) and expects 404
 * or nginx's 400, and no file content in the answer.
 */
static void
expect_no_traversal(const char *method, const char *path)
{
	struct buf	 out, req;
	int		 st;

	buf_init(&req);
	buf_printf(&req, "%s %s HTTP/1.1\r\nHost: x\r\nCookie: sid="
	    "0123456789abcdef0123456789abcdef\r\nConnection: close\r\n",
	    method, path);
	if (strcmp(method, "POST") == 0)
		buf_puts(&req, "Content-Type: application/x-www-form-urlencoded"
		    "\r\nContent-Length: 4\r\n\r\nms=1");
	else
		buf_puts(&req, "\r\n");
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	st = raw_status(out.data);
	cr_expect(st == 404 || st == 400, "%s %s: %d", method, path, st);
	cr_expect(strstr(out.data, "root:") == NULL &&
	    strstr(out.data, "#include") == NULL &&
	    strstr(out.data, "app_handle") == NULL &&
	    strstr(out.data, "Sluice: design") == NULL,
	    "%s %s: file content in the answer", method, path);
	check_header_block(out.data, out.len, NULL);
	buf_free(&out);
	buf_free(&req);
}

Test(hostile, traversal_in_jobs_paths)
{
	expect_no_traversal("GET", "/jobs/..%2f..%2fetc%2fpasswd");
	expect_no_traversal("GET", "/jobs/%2e%2e/x");
	expect_no_traversal("GET", "/jobs/%2e%2e/%2e%2e/etc/passwd");
	expect_no_traversal("GET", "/jobs/../../etc/passwd");
	expect_no_traversal("GET", "/jobs/..\\..\\etc\\passwd");
	expect_no_traversal("GET", "/jobs/0123456789abcdef0123456789abcdef"
	    "%2fresult.png");
	expect_no_traversal("GET", "/jobs/0123456789abcdef0123456789abcdef"
	    "/../../../etc/passwd");
	expect_no_traversal("POST", "/jobs/..%2f..%2fetc%2fpasswd/cancel");
	assert_healthy();
}

Test(hostile, traversal_in_tasks_paths)
{
	expect_no_traversal("POST", "/tasks/burn%2f..%2fx");
	expect_no_traversal("POST", "/tasks/../tasks/burn");
	expect_no_traversal("POST", "/tasks/./burn");
	expect_no_traversal("POST", "/tasks/burn/");
	expect_no_traversal("POST", "/tasks/burn%2f");
	expect_no_traversal("POST", "/tasks/%62urn");
	expect_no_traversal("POST", "/tasks/..%2f..%2fetc%2fpasswd");
	expect_no_traversal("GET", "/tasks/../../etc/passwd");
	assert_healthy();
}

Test(hostile, traversal_from_static)
{
	expect_no_traversal("GET", "/static/../fcgi/app.c");
	expect_no_traversal("GET", "/static/../../fcgi/app.c");
	expect_no_traversal("GET", "/static/..%2f..%2ffcgi%2fapp.c");
	expect_no_traversal("GET", "/static/%2e%2e/%2e%2e/fcgi/app.c");
	expect_no_traversal("GET", "/static/..%2f..%2f..%2f..%2f..%2f..%2f"
	    "etc%2fpasswd");
	expect_no_traversal("GET", "/static/../../../../../../etc/passwd");
	expect_no_traversal("GET", "/static%2f..%2f..%2fetc%2fpasswd");
	expect_no_traversal("GET", "/static../fcgi/app.c");
	expect_no_traversal("GET", "/static/app.css%00.html");
	assert_healthy();
}

Test(hostile, double_encoded_traversal)
{
	expect_no_traversal("GET", "/static/%252e%252e/%252e%252e/fcgi/app.c");
	expect_no_traversal("GET", "/static/..%252f..%252fetc%252fpasswd");
	expect_no_traversal("GET", "/jobs/%252e%252e%252fetc%252fpasswd");
	expect_no_traversal("POST", "/tasks/burn%252f..%252fx");
	expect_no_traversal("GET", "/%252e%252e/%252e%252e/etc/passwd");
	assert_healthy();
}

/* ---- invalid UTF-8 and NUL ---- */

/* Submits fields and expects 400 with want in the message (HTML and JSON). */
static void
expect_field_400(const char *fields, const char *want)
{
	struct itest_resp	 r;
	char			 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(submit(sid, "/tasks/burn", fields, NULL, &r), 0);
	cr_expect_eq(r.status, 400, "%s: %ld", fields, r.status);
	cr_expect(strstr(r.body.data, want) != NULL, "%s: no '%s' in the page",
	    fields, want);
	itest_resp_free(&r);
	cr_assert_eq(submit(sid, "/tasks/burn", fields, form_json_h, &r), 0);
	cr_expect_eq(r.status, 400, "%s (JSON): %ld", fields, r.status);
	cr_expect(strncmp(r.body.data, "{\"error\":", 9) == 0 &&
	    strstr(r.body.data, want) != NULL, "%s: %s", fields, r.body.data);
	itest_resp_free(&r);
	/* Nothing was started for the session. */
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect(strstr(r.body.data, "href=\"/jobs/") == NULL,
	    "%s: a job was started", fields);
	itest_resp_free(&r);
}

Test(hostile, invalid_utf8_in_fields_400)
{
	expect_field_400("ms=%C3%28", "invalid UTF-8");
	expect_field_400("ms=%ED%A0%80", "invalid UTF-8");	/* surrogate */
	expect_field_400("ms=%F8%88%80%80%80", "invalid UTF-8"); /* 5 bytes */
	expect_field_400("ms=%C0%AF", "invalid UTF-8");	/* overlong */
	expect_field_400("ms=%C3", "invalid UTF-8");		/* truncated */
	expect_field_400("m%C3%28s=1", "invalid UTF-8");	/* in a name */
}

Test(hostile, nul_in_fields_400)
{
	expect_field_400("ms=1%00", "NUL");
	expect_field_400("m%00s=1", "NUL");
	expect_field_400("ms=1&nonce=%00", "NUL");
}

Test(hostile, raw_nul_in_body_400)
{
	struct itest_resp	 r;
	char			 sid[33], csrf[65], body[128];
	size_t			 n;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	n = (size_t)snprintf(body, sizeof(body), "csrf=%s&ms=1", csrf);
	body[n - 1] = '\0';	/* "ms=\0" */
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, n,
	    form_json_h, sid, &r), 0);
	cr_expect_eq(r.status, 400, "raw NUL: %ld", r.status);
	cr_expect(strstr(r.body.data, "NUL") != NULL, "%s", r.body.data);
	itest_resp_free(&r);
}

/* ---- large bodies ---- */

static char *
big_body(size_t n)
{
	char *p;

	cr_assert((p = malloc(n)) != NULL);
	memset(p, 'a', n);
	memcpy(p, "ms=", 3);
	return p;
}

/* The count of 4xx answers the responder has given, from /status.json. */
static long long
responder_4xx(void)
{
	struct itest_resp	 r;
	const char		*p;
	long long		 v = -1;

	cr_assert_eq(itest_req(&srv, "GET", "/status.json", NULL, 0, NULL,
	    NULL, &r), 0);
	cr_assert_eq(r.status, 200);
	if ((p = strstr(r.body.data, "\"4xx\":")) != NULL)
		v = atoll(p + 6);
	itest_resp_free(&r);
	cr_assert_geq(v, 0, "no 4xx count in /status.json");
	return v;
}

Test(hostile, body_of_10mb_413)
{
	struct itest_resp	 r;
	char			 sid[33];
	size_t			 n = 10u << 20;
	char			*body = big_body(n);
	int			 i;

	char			 ct[128];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < 3; i++) {
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, n,
		    i == 1 ? form_json_h : form_h, sid, &r), 0);
		cr_expect_eq(r.status, 413, "10 MB body: %ld", r.status);
		/* nginx's own 413, in the form the client asked for. */
		cr_expect_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
		if (i == 1) {
			cr_expect(strncmp(ct, "application/json", 16) == 0,
			    "413 to a JSON client: %s", ct);
			cr_expect(r.body.data != NULL && strstr(r.body.data,
			    "\"error\":\"request body larger than") != NULL,
			    "413 body: %s", r.body.data);
		} else {
			cr_expect(strncmp(ct, "text/html", 9) == 0,
			    "413 to a form: %s", ct);
			cr_expect(r.body.data != NULL && strstr(r.body.data,
			    "<h1>Too large</h1>") != NULL, "413 body: %s",
			    r.body.data);
		}
		itest_resp_free(&r);
	}
	free(body);
	assert_healthy();
}

/*
 * A body larger than the responder's max_body must be refused by nginx
 * (client_max_body_size) before any of it reaches the responder: otherwise
 * nginx spools 10 MB to disk and streams it to a responder thread, which
 * libfcgi then drains on close. The responder's 4xx counter must not move.
 */
Test(hostile, body_of_10mb_refused_before_the_responder)
{
	struct itest_resp	 r;
	char			 sid[33];
	size_t			 n = 10u << 20;
	char			*body = big_body(n);
	long long		 before, after;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	before = responder_4xx();
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, n, form_h,
	    sid, &r), 0);
	cr_expect_eq(r.status, 413);
	itest_resp_free(&r);
	after = responder_4xx();
	cr_expect_eq(after, before, "the 10 MB body reached the responder "
	    "(it answered the 413 itself): nginx's client_max_body_size is "
	    "not the config's max_body");
	free(body);
}

Test(hostile, body_just_over_max_body_413_json)
{
	struct itest_resp	 r;
	char			 sid[33];
	char			*body = big_body(1025);

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body, 1025,
	    form_json_h, sid, &r), 0);
	cr_expect_eq(r.status, 413);
	itest_resp_free(&r);
	free(body);
}

Test(hostile, chunked_bodies_are_measured_too)
{
	struct itest_resp	 r;
	char			 sid[33], csrf[65], body[160];
	const char		*h[] = { "Content-Type: application/"
	    "x-www-form-urlencoded", "Accept: application/json",
	    "Transfer-Encoding: chunked", NULL };
	char			*big = big_body(5000);

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	snprintf(body, sizeof(body), "csrf=%s&ms=1", csrf);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", body,
	    strlen(body), h, sid, &r), 0);
	cr_expect_eq(r.status, 202, "chunked submit: %ld %s", r.status,
	    r.body.data);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", big, 5000, h, sid,
	    &r), 0);
	cr_expect_eq(r.status, 413, "5000 chunked bytes: %ld", r.status);
	itest_resp_free(&r);
	free(big);
}

/* ---- Content-Length that lies ---- */

Test(hostile, content_length_shorter_than_body)
{
	struct buf	 req, out;
	char		 sid[33], csrf[65], fields[128];
	const char	*second;
	size_t		 flen;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	flen = (size_t)snprintf(fields, sizeof(fields), "csrf=%s&ms=1", csrf);
	buf_init(&req);
	/* Content-Length covers the form; what follows is junk for nginx. */
	buf_printf(&req, "POST /tasks/burn HTTP/1.1\r\nHost: x\r\nCookie: "
	    "sid=%s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: %zu\r\n\r\n%s&ms=999999&junk\x01\x02\r\n\r\n",
	    sid, flen, fields);
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	cr_expect_eq(raw_status(out.data), 303, "first answer: %.200s",
	    out.data);
	check_header_block(out.data, out.len, NULL);
	/* The leftover is a malformed next request: nginx's 400, no 5xx. */
	second = strstr(out.data + 1, "HTTP/1.1 ");
	if (second != NULL)
		cr_expect_eq(raw_status(second), 400, "leftover: %.200s",
		    second);
	cr_expect(strstr(out.data, "HTTP/1.1 5") == NULL, "5xx: %s",
	    out.data);
	buf_free(&out);
	buf_reset(&req);
	/* Truncated form: Content-Length cuts the token in half: 403. */
	buf_printf(&req, "POST /tasks/burn HTTP/1.1\r\nHost: x\r\nCookie: "
	    "sid=%s\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	    "Connection: close\r\nContent-Length: 20\r\n\r\n%s", sid, fields);
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	cr_expect_eq(raw_status(out.data), 403, "%.200s", out.data);
	buf_free(&out);
	buf_free(&req);
	assert_healthy();
}

/*
 * A POST with neither Content-Length nor Transfer-Encoding has an empty
 * body (RFC 9112, 6.3), and nginx passes it on as such: a script that
 * cancels with the X-CSRF-Token header and no body (curl -X POST) must be
 * answered as a request with an empty form, not with 411.
 */
Test(hostile, post_without_content_length_is_an_empty_body)
{
	struct buf	 req, out;
	char		 sid[33], csrf[65], id[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	submit_job(sid, "ms=2000", id);
	buf_init(&req);
	buf_printf(&req, "POST /jobs/%s/cancel HTTP/1.1\r\nHost: x\r\n"
	    "Cookie: sid=%s\r\nX-CSRF-Token: %s\r\nAccept: application/json"
	    "\r\nConnection: close\r\n\r\n", id, sid, csrf);
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	cr_expect(raw_status(out.data) == 200 || raw_status(out.data) == 409,
	    "cancel without a body: %.300s", out.data);
	buf_free(&out);
	buf_reset(&req);
	buf_printf(&req, "POST /tasks/burn HTTP/1.1\r\nHost: x\r\n"
	    "Cookie: sid=%s\r\nX-CSRF-Token: %s\r\nConnection: close\r\n\r\n",
	    sid, csrf);
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	cr_expect(raw_status(out.data) == 303 || raw_status(out.data) == 429,
	    "submit of the defaults without a body: %.300s", out.data);
	buf_free(&out);
	buf_free(&req);
}

Test(hostile, content_length_invalid_nginx_400)
{
	const char *cls[] = { "-1", "abc", "1e3", "99999999999999999999999",
	    "4, 4" };
	struct buf	 req, out;
	size_t		 i;
	int		 st;

	for (i = 0; i < sizeof(cls) / sizeof(cls[0]); i++) {
		buf_init(&req);
		buf_printf(&req, "POST /tasks/burn HTTP/1.1\r\nHost: x\r\n"
		    "Connection: close\r\nContent-Type: application/x-www-form-"
		    "urlencoded\r\nContent-Length: %s\r\n\r\nms=1", cls[i]);
		cr_assert_eq(raw_req(req.data, req.len, &out), 0);
		st = raw_status(out.data);
		cr_expect(st == 400 || st == 413, "Content-Length %s: %d",
		    cls[i], st);
		buf_free(&out);
		buf_free(&req);
	}
	/* Both Content-Length and chunked: a smuggling attempt, refused. */
	buf_init(&req);
	buf_puts(&req, "POST /tasks/burn HTTP/1.1\r\nHost: x\r\nConnection: "
	    "close\r\nContent-Type: application/x-www-form-urlencoded\r\n"
	    "Content-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
	    "4\r\nms=1\r\n0\r\n\r\n");
	cr_assert_eq(raw_req(req.data, req.len, &out), 0);
	st = raw_status(out.data);
	cr_expect(st == 400 || st == 403, "CL + chunked: %d", st);
	cr_expect(strstr(out.data, "HTTP/1.1 5") == NULL, "%s", out.data);
	buf_free(&out);
	buf_free(&req);
	assert_healthy();
}

/* ---- slow clients (one responder thread) ---- */

/* Opens a connection that sent headers and half its body, then stalls. */
static int
stalled_body(void)
{
	char	 req[512];
	int	 fd, n;

	n = snprintf(req, sizeof(req), "POST /tasks/burn HTTP/1.1\r\nHost: x\r\n"
	    "Cookie: sid=0123456789abcdef0123456789abcdef\r\nContent-Type: "
	    "application/x-www-form-urlencoded\r\nContent-Length: 200\r\n\r\n"
	    "ms=1&nonce=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
	cr_assert((fd = raw_connect()) != -1);
	cr_assert_eq(raw_send(fd, req, (size_t)n), 0);
	return fd;
}

Test(onethread, config_has_one_thread)
{
	struct itest_resp r;

	cr_assert_eq(itest_req(&srv, "GET", "/status.json", NULL, 0, NULL,
	    NULL, &r), 0);
	cr_expect(strstr(r.body.data, "\"threads\":1,") != NULL,
	    "onethread.conf not in effect: %.200s", r.body.data);
	itest_resp_free(&r);
}

Test(onethread, stalled_body_holds_no_responder_thread)
{
	int	 fds[4];
	size_t	 i;

	for (i = 0; i < 4; i++)
		fds[i] = stalled_body();
	usleep(200000);
	/* With the only thread held, these would wait for the 15 s timeout. */
	for (i = 0; i < 5; i++)
		assert_answers_promptly();
	for (i = 0; i < 4; i++)
		close(fds[i]);
	assert_answers_promptly();
}

Test(onethread, stalled_headers_hold_no_responder_thread)
{
	const char	*part = "GET / HTTP/1.1\r\nHost: x\r\nCookie: sid=01234";
	int		 fd;

	cr_assert((fd = raw_connect()) != -1);
	cr_assert_eq(raw_send(fd, part, strlen(part)), 0);
	usleep(200000);
	assert_answers_promptly();
	close(fd);
	assert_answers_promptly();
}

Test(onethread, longer_content_length_then_close)
{
	const char	*req = "POST /tasks/burn HTTP/1.1\r\nHost: x\r\n"
	    "Cookie: sid=0123456789abcdef0123456789abcdef\r\nContent-Type: "
	    "application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"
	    "ms=1&nonce=x";
	struct itest_resp r;
	int		 fd, i;

	for (i = 0; i < 20; i++) {
		cr_assert((fd = raw_connect()) != -1);
		cr_assert_eq(raw_send(fd, req, strlen(req)), 0);
		close(fd);
	}
	assert_answers_promptly();
	cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	itest_resp_free(&r);
}

Test(onethread, client_that_never_reads_its_answer)
{
	struct buf	 req;
	int		 fds[4], i;

	/* Pipelined GETs whose answers are never read: nginx holds them. */
	buf_init(&req);
	for (i = 0; i < 50; i++)
		buf_puts(&req, "GET / HTTP/1.1\r\nHost: x\r\nCookie: sid="
		    "0123456789abcdef0123456789abcdef\r\n\r\n");
	for (i = 0; i < 4; i++) {
		cr_assert((fds[i] = raw_connect()) != -1);
		cr_assert_eq(raw_send(fds[i], req.data, req.len), 0);
	}
	usleep(300000);
	for (i = 0; i < 3; i++)
		assert_answers_promptly();
	for (i = 0; i < 4; i++)
		close(fds[i]);
	buf_free(&req);
	assert_answers_promptly();
}

/* nginx's timeouts for slow clients and body buffering are configured. */
Test(onethread, nginx_timeouts_configured)
{
	const char *files[] = { "nginx.conf", "fastcgi.conf" };
	char	 path[512], line[512];
	FILE	*f;
	int	 body = 0, header = 0, sendt = 0, buffering = 0;
	size_t	 i;

	/* The generated config and the FastCGI params it includes. */
	for (i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		snprintf(path, sizeof(path), "%s/conf/%s", srv.prefix, files[i]);
		cr_assert((f = fopen(path, "r")) != NULL, "%s", path);
		while (fgets(line, sizeof(line), f) != NULL) {
			body |= strstr(line, "client_body_timeout") != NULL;
			header |= strstr(line, "client_header_timeout") != NULL;
			sendt |= strstr(line, "send_timeout") != NULL;
			buffering |= strstr(line,
			    "fastcgi_request_buffering on") != NULL;
		}
		fclose(f);
	}
	cr_expect(body && header && sendt, "nginx timeouts missing");
	cr_expect(buffering, "fastcgi_request_buffering is not on");
}
