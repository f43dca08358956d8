/*
 * Unit tests for http: a request copied out of a FastCGI envp, the body
 * length checks, what a client asks for, and the response as it goes to
 * libfcgi (headers refused when they would split it, the serialized form).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "http.h"

Test(http, req_from_envp)
{
	char *envp[] = {
		"REQUEST_METHOD=POST",
		"REQUEST_URI=/tasks/burn?x=1",
		"CONTENT_TYPE=application/x-www-form-urlencoded",
		"HTTP_ACCEPT=application/json",
		"SLUICE_SESSION=0123456789abcdef0123456789abcdef",
		"HTTP_X_CSRF_TOKEN=tok",
		"REMOTE_ADDR=127.0.0.1",
		"CONTENT_LENGTH=12",
		"HTTP_ACCEPTX=not this one",
		NULL
	};
	struct http_req	 r;

	cr_assert_eq(http_req_init(&r, envp), 0);
	cr_expect_str_eq(r.method, "POST");
	cr_expect_str_eq(r.path, "/tasks/burn");
	cr_expect_str_eq(r.query, "x=1");
	cr_expect_str_eq(r.content_type,
	    "application/x-www-form-urlencoded");
	cr_expect_str_eq(r.accept, "application/json");
	cr_expect_str_eq(r.session, "0123456789abcdef0123456789abcdef");
	cr_expect_str_eq(r.csrf_header, "tok");
	cr_expect_str_eq(r.remote_addr, "127.0.0.1");
	cr_expect_str_eq(r.content_length, "12");
	cr_expect_null(r.body);
	http_req_free(&r);
	cr_expect_null(r.method, "http_req_free leaves the request zeroed");
}

Test(http, req_defaults_and_fallbacks)
{
	char *none[] = { NULL };
	char *script[] = { "SCRIPT_NAME=/metrics", "QUERY_STRING=a=b",
	    "REQUEST_URI=", NULL };
	char *qs[] = { "QUERY_STRING=from-env", "REQUEST_URI=/p?from-uri",
	    NULL };
	struct http_req	 r;

	cr_assert_eq(http_req_init(&r, none), 0);
	cr_expect_str_eq(r.method, "GET");
	cr_expect_str_eq(r.path, "/");
	cr_expect_str_eq(r.query, "");
	cr_expect_null(r.session);
	cr_expect_null(r.accept);
	http_req_free(&r);
	cr_assert_eq(http_req_init(&r, NULL), 0);
	cr_expect_str_eq(r.path, "/");
	http_req_free(&r);
	/* REQUEST_URI, even empty, wins over SCRIPT_NAME. */
	cr_assert_eq(http_req_init(&r, script), 0);
	cr_expect_str_eq(r.path, "");
	cr_expect_str_eq(r.query, "a=b");
	http_req_free(&r);
	/* QUERY_STRING wins over the URI's query; the path loses it. */
	cr_assert_eq(http_req_init(&r, qs), 0);
	cr_expect_str_eq(r.path, "/p");
	cr_expect_str_eq(r.query, "from-env");
	http_req_free(&r);
}

Test(http, req_path_stays_encoded)
{
	char *envp[] = { "REQUEST_URI=/jobs/a%2Fb", "DOCUMENT_URI=/jobs/a/b",
	    NULL };
	struct http_req	 r;

	cr_assert_eq(http_req_init(&r, envp), 0);
	cr_expect_str_eq(r.path, "/jobs/a%2Fb");
	http_req_free(&r);
}

/* Inline arrays: Criterion copies parameters into each test's process. */
struct len_case {
	int	 absent;	/* no CONTENT_LENGTH at all */
	char	 value[32];
	int	 status;
	size_t	 len;
};

static struct len_case len_cases[] = {
	{ 1, "", 0, 0 },
	{ 0, "", 0, 0 },
	{ 0, "0", 0, 0 },
	{ 0, "12", 0, 12 },
	{ 0, "100", 0, 100 },
	{ 0, "101", 413, 0 },
	{ 0, "99999999999999999999999", 413, 0 },
	{ 0, "-1", 400, 0 },
	{ 0, "+1", 400, 0 },
	{ 0, " 1", 400, 0 },
	{ 0, "1 ", 400, 0 },
	{ 0, "1x", 400, 0 },
	{ 0, "0x10", 400, 0 },
};

ParameterizedTestParameters(http, body_length)
{
	return cr_make_param_array(struct len_case, len_cases,
	    sizeof(len_cases) / sizeof(len_cases[0]));
}

/* CONTENT_LENGTH against a max_body of 100. */
ParameterizedTest(struct len_case *c, http, body_length)
{
	struct http_req	 r;
	char		 err[128] = "";
	size_t		 len = 77;

	memset(&r, 0, sizeof(r));
	r.content_length = c->absent ? NULL : c->value;
	cr_expect_eq(http_body_length(&r, 100, &len, err, sizeof(err)),
	    c->status, "Content-Length \"%s\"", c->value);
	cr_expect_eq(len, c->len);
	if (c->status == 413)
		cr_expect_str_eq(err, "request body larger than 100 bytes");
	else if (c->status == 400)
		cr_expect_str_eq(err, "Content-Length must be a non-negative "
		    "integer");
}

Test(http, wants_json)
{
	struct http_req	 r;

	memset(&r, 0, sizeof(r));
	cr_expect_not(http_wants_json(&r));
	r.accept = "text/html";
	cr_expect_not(http_wants_json(&r));
	r.accept = "application/json";
	cr_expect(http_wants_json(&r));
	r.accept = "text/html, application/json;q=0.9";
	cr_expect(http_wants_json(&r));
}

Test(http, header_injection_refused)
{
	struct http_resp p;

	http_resp_init(&p);
	cr_expect_eq(http_resp_header(&p, "X-A", "one\r\nSet-Cookie: x"), -1);
	cr_expect_eq(http_resp_header(&p, "X-A", "one\ntwo"), -1);
	cr_expect_eq(http_resp_header(&p, "X-A", "one\rtwo"), -1);
	cr_expect_eq(http_resp_header(&p, "X\r\nY", "v"), -1);
	cr_expect_eq(http_resp_header(&p, "X: Y", "v"), -1);
	cr_expect_eq(p.headers.len, 0, "a refused header added something");
	cr_expect_eq(http_resp_header(&p, "X-A", "fine: with colon"), 0);
	cr_expect_str_eq(buf_cstr(&p.headers), "X-A: fine: with colon\r\n");
	http_resp_free(&p);
}

Test(http, redirect_to_a_bad_location_goes_home)
{
	struct http_resp p;

	http_resp_init(&p);
	http_resp_redirect(&p, "/jobs/x\r\nSet-Cookie: a=b");
	cr_expect_eq(p.status, 303);
	cr_expect_str_eq(buf_cstr(&p.headers), "Location: /\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n");
	cr_expect_str_eq(buf_cstr(&p.body), "See Other\n");
	http_resp_free(&p);
}

Test(http, text_and_json_error_bodies)
{
	struct http_resp p;

	http_resp_init(&p);
	http_resp_text(&p, 503, "draining");
	cr_expect_eq(p.status, 503);
	cr_expect(p.has_type);
	cr_expect_str_eq(buf_cstr(&p.body), "draining\n");
	http_resp_free(&p);
	http_resp_init(&p);
	http_resp_json_error(&p, 404, "no \"such\" job");
	cr_expect_eq(p.status, 404);
	cr_expect_str_eq(buf_cstr(&p.headers),
	    "Content-Type: application/json\r\n");
	cr_expect_str_eq(buf_cstr(&p.body), "{\"error\":\"no \\\"such\\\" "
	    "job\"}\n");
	/* A type already set is kept. */
	http_resp_text(&p, 500, "x");
	cr_expect_str_eq(buf_cstr(&p.headers),
	    "Content-Type: application/json\r\n");
	http_resp_free(&p);
}

Test(http, serialize_head_body_and_apart)
{
	struct http_resp p;
	struct buf	 out;

	http_resp_init(&p);
	http_resp_header(&p, "Cache-Control", "no-store");
	buf_puts(&p.body, "hello");
	buf_init(&out);
	http_resp_serialize(&p, 0, 0, &out);
	cr_expect_str_eq(buf_cstr(&out), "Status: 200 OK\r\n"
	    "Content-Security-Policy: default-src 'self'; img-src 'self' "
	    "data:; frame-ancestors 'none'; base-uri 'none'; "
	    "form-action 'self'\r\n"
	    "X-Content-Type-Options: nosniff\r\n"
	    "Referrer-Policy: same-origin\r\n"
	    "Cache-Control: no-store\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\n\r\nhello");
	buf_reset(&out);
	/* HEAD: the same head, Content-Length included, no body. */
	http_resp_serialize(&p, 1, 0, &out);
	cr_expect_str_eq(buf_cstr(&out), "Status: 200 OK\r\n"
	    HTTP_HARDENING_HEADERS "Cache-Control: no-store\r\n"
	    "Content-Type: text/plain; charset=utf-8\r\n"
	    "Content-Length: 5\r\n\r\n");
	buf_reset(&out);
	p.status = 404;
	http_resp_header(&p, "Content-Type", "text/html");
	http_resp_serialize(&p, 0, 1, &out);
	cr_expect_str_eq(buf_cstr(&out), "Status: 404 Not Found\r\n"
	    HTTP_HARDENING_HEADERS "Cache-Control: no-store\r\nContent-Type: text/html\r\n"
	    "Content-Length: 5\r\n\r\n");
	buf_free(&out);
	http_resp_free(&p);
}

Test(http, file_body_streamed_not_copied)
{
	char		 path[] = "/tmp/sluice-http.XXXXXX";
	struct http_resp p;
	struct buf	 out;
	int		 fd;

	cr_assert_neq(fd = mkstemp(path), -1);
	cr_assert_eq(write(fd, "0123456789", 10), 10);
	close(fd);
	http_resp_init(&p);
	buf_puts(&p.body, "replaced");
	cr_assert_eq(http_resp_file(&p, path), 0);
	cr_expect_eq(p.body.len, 0);
	cr_expect_eq(p.file_len, 10);
	/* Removed after opening (eviction): still sent whole. */
	unlink(path);
	buf_init(&out);
	http_resp_serialize(&p, 0, 0, &out);
	cr_expect_not_null(strstr(buf_cstr(&out), "Content-Length: 10\r\n"
	    "\r\n"));
	cr_expect_str_eq(out.data + out.len - 4, "\r\n\r\n",
	    "the file was copied in");
	buf_free(&out);
	http_resp_free(&p);
	cr_expect_null(p.file);
	/* Not a regular file, or none: refused. */
	http_resp_init(&p);
	cr_expect_eq(http_resp_file(&p, "/tmp"), -1);
	cr_expect_eq(http_resp_file(&p, path), -1);
	cr_expect_null(p.file);
	http_resp_free(&p);
}

Test(http, reasons)
{
	static const struct {
		int		 status;
		const char	*reason;
	} r[] = {
		{ 200, "OK" }, { 202, "Accepted" }, { 303, "See Other" },
		{ 400, "Bad Request" }, { 403, "Forbidden" },
		{ 404, "Not Found" }, { 405, "Method Not Allowed" },
		{ 409, "Conflict" }, { 413, "Content Too Large" },
		{ 415, "Unsupported Media Type" },
		{ 429, "Too Many Requests" },
		{ 500, "Internal Server Error" },
		{ 503, "Service Unavailable" }, { 299, "Unknown" },
	};
	size_t	 i;

	for (i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		cr_expect_str_eq(http_reason(r[i].status), r[i].reason);
}
