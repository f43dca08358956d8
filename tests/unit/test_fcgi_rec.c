/* fcgi_rec: requests parsed from records, answers of its own, writers. */
#include <criterion/criterion.h>

#include <string.h>

#include "fcgi_rec.h"

static const struct fcgi_rec_limits lim = {
	.params_max = 256, .stdin_max = 100, .max_conns = 42, .max_reqs = 7
};

/* Appends a record with content len (no padding unless pad). */
static void
rec(struct buf *b, int type, unsigned id, const void *p, size_t len,
    unsigned char pad)
{
	unsigned char h[8];

	fcgi_rec_header(h, type, id, len);
	h[6] = pad;
	buf_append(b, h, sizeof(h));
	if (len > 0)
		buf_append(b, p, len);
	while (pad-- > 0)
		buf_putc(b, '\0');
}

static void
begin(struct buf *b, unsigned id, int role, int keep)
{
	unsigned char body[8] = { 0, (unsigned char)role,
	    (unsigned char)keep };

	rec(b, FCGI_REC_BEGIN_REQUEST, id, body, sizeof(body), 0);
}

static void
pair(struct buf *b, const char *n, const char *v)
{
	buf_putc(b, (char)strlen(n));
	buf_putc(b, (char)strlen(v));
	buf_puts(b, n);
	buf_puts(b, v);
}

/* A whole request: params GET /x, body of blen bytes of 'b'. */
static void
request(struct buf *b, unsigned id, size_t blen)
{
	struct buf	 p;
	char		 body[300];

	buf_init(&p);
	pair(&p, "REQUEST_METHOD", "GET");
	pair(&p, "REQUEST_URI", "/x");
	begin(b, id, 1, 1);
	rec(b, FCGI_REC_PARAMS, id, p.data, p.len, 3);
	rec(b, FCGI_REC_PARAMS, id, NULL, 0, 0);
	memset(body, 'b', sizeof(body));
	if (blen > 0)
		rec(b, FCGI_REC_STDIN, id, body, blen, 0);
	rec(b, FCGI_REC_STDIN, id, NULL, 0, 0);
	buf_free(&p);
}

/* Feeds in reads of at most fcgi_rec_want bytes, as the server does. */
static enum fcgi_rec_status
feed_wanting(struct fcgi_rec_parser *p, const struct buf *b, size_t *at)
{
	enum fcgi_rec_status	 st = FCGI_REC_MORE;
	size_t			 n, used;

	while (*at < b->len && st == FCGI_REC_MORE) {
		n = fcgi_rec_want(p);
		cr_assert_gt(n, 0);
		n = n < b->len - *at ? n : b->len - *at;
		st = fcgi_rec_feed(p, b->data + *at, n, &used);
		cr_assert_eq(used, n, "a read was not used whole");
		*at += used;
	}
	return st;
}

/* A fresh parser fed b whole (as the server reads it). */
static enum fcgi_rec_status
parse(struct fcgi_rec_parser *p, const struct buf *b)
{
	size_t	 at = 0;

	fcgi_rec_init(p, &lim);
	return feed_wanting(p, b, &at);
}

Test(fcgi_rec, request_byte_by_byte)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	size_t			 i, used;
	enum fcgi_rec_status	 st = FCGI_REC_MORE;

	buf_init(&b);
	request(&b, 5, 10);
	fcgi_rec_init(&p, &lim);
	cr_expect(fcgi_rec_idle(&p));
	for (i = 0; i < b.len && st == FCGI_REC_MORE; i++) {
		st = fcgi_rec_feed(&p, b.data + i, 1, &used);
		if (i == 0)
			cr_expect(!fcgi_rec_idle(&p), "a header begun is not idle");
	}
	cr_assert_eq(st, FCGI_REC_READY);
	cr_expect_eq(i, b.len);
	cr_expect_eq(fcgi_rec_want(&p), 0);
	cr_expect_eq(p.req.id, 5);
	cr_expect(p.req.keep_conn);
	cr_assert_not_null(p.req.envp);
	cr_expect_str_eq(p.req.envp[0], "REQUEST_METHOD=GET");
	cr_expect_str_eq(p.req.envp[1], "REQUEST_URI=/x");
	cr_expect_null(p.req.envp[2]);
	cr_expect_eq(p.req.body.len, 10);
	cr_expect_eq(p.req.stdin_total, 10);
	cr_expect_eq(p.out.len, 0, "nothing to answer by itself");
	fcgi_rec_reset(&p, NULL);
	cr_expect(fcgi_rec_idle(&p));
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, want_never_reads_past_a_request)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	size_t			 at = 0, first;

	buf_init(&b);
	request(&b, 1, 50);
	first = b.len;
	request(&b, 2, 0);
	fcgi_rec_init(&p, &lim);
	cr_assert_eq(feed_wanting(&p, &b, &at), FCGI_REC_READY);
	cr_expect_eq(at, first, "read %zu bytes of a %zu-byte request", at,
	    first);
	cr_expect_eq(p.req.body.len, 50);
	fcgi_rec_reset(&p, NULL);
	cr_assert_eq(feed_wanting(&p, &b, &at), FCGI_REC_READY);
	cr_expect_eq(p.req.id, 2);
	cr_expect_eq(p.req.body.len, 0);
	fcgi_rec_free(&p);
	buf_free(&b);
}

/*
 * Feeds b from *at as the server reads it: whatever has arrived, up to
 * chunk bytes, at once; what a whole request leaves unused is the start
 * of the next feed. The feeds.
 */
static int
feed_arrived(struct fcgi_rec_parser *p, const struct buf *b, size_t *at,
    size_t chunk, enum fcgi_rec_status *st)
{
	size_t	 n, used;
	int	 feeds = 0;

	*st = FCGI_REC_MORE;
	while (*at < b->len && *st == FCGI_REC_MORE) {
		n = b->len - *at < chunk ? b->len - *at : chunk;
		*st = fcgi_rec_feed(p, b->data + *at, n, &used);
		cr_assert_leq(used, n);
		if (*st == FCGI_REC_MORE)
			cr_assert_eq(used, n, "bytes dropped before the end");
		*at += used;
		feeds++;
	}
	return feeds;
}

Test(fcgi_rec, a_read_past_a_request_leaves_the_rest_for_the_next)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	enum fcgi_rec_status	 st;
	size_t			 at = 0, first, chunk;

	buf_init(&b);
	request(&b, 1, 50);
	first = b.len;
	rec(&b, FCGI_REC_GET_VALUES, 0, NULL, 0, 0);
	request(&b, 2, 0);
	fcgi_rec_init(&p, &lim);
	cr_expect_eq(feed_arrived(&p, &b, &at, b.len, &st), 1, "one read");
	cr_assert_eq(st, FCGI_REC_READY);
	cr_expect_eq(at, first, "read %zu bytes of a %zu-byte request", at,
	    first);
	cr_expect_eq(p.req.body.len, 50);
	fcgi_rec_reset(&p, NULL);
	cr_expect_eq(feed_arrived(&p, &b, &at, b.len, &st), 1);
	cr_assert_eq(st, FCGI_REC_READY);
	cr_expect_eq(p.req.id, 2);
	cr_expect_eq(at, b.len);
	cr_expect_gt(p.out.len, 0, "GET_VALUES answered on the way");
	fcgi_rec_free(&p);
	/* Whatever has arrived when (any split), the same requests. */
	for (chunk = 1; chunk < first + 20; chunk++) {
		at = 0;
		fcgi_rec_init(&p, &lim);
		feed_arrived(&p, &b, &at, chunk, &st);
		cr_assert_eq(st, FCGI_REC_READY, "chunk %zu", chunk);
		cr_assert_eq(at, first, "chunk %zu: read %zu", chunk, at);
		cr_assert_eq(p.req.body.len, 50);
		fcgi_rec_reset(&p, NULL);
		feed_arrived(&p, &b, &at, chunk, &st);
		cr_assert_eq(st, FCGI_REC_READY, "chunk %zu", chunk);
		cr_assert_eq(p.req.id, 2);
		cr_assert_eq(at, b.len);
		fcgi_rec_free(&p);
	}
	buf_free(&b);
}

Test(fcgi_rec, body_kept_up_to_the_limit)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;

	buf_init(&b);
	request(&b, 1, 250);	/* stdin_max is 100 */
	cr_assert_eq(parse(&p, &b), FCGI_REC_READY);
	cr_expect_eq(p.req.body.len, 100);
	cr_expect_eq(p.req.stdin_total, 250);
	cr_expect_eq(p.req.stdin_max, 100);
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, params_over_the_limit_flagged)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b, v;
	char			 big[200];

	buf_init(&b);
	buf_init(&v);
	memset(big, 'v', 120);
	big[120] = '\0';
	pair(&v, "HTTP_A", big);
	pair(&v, "HTTP_B", big);
	pair(&v, "HTTP_C", big);	/* 3 x 128 > params_max 256 */
	begin(&b, 1, 1, 0);
	rec(&b, FCGI_REC_PARAMS, 1, v.data, v.len, 0);
	rec(&b, FCGI_REC_PARAMS, 1, NULL, 0, 0);
	rec(&b, FCGI_REC_STDIN, 1, NULL, 0, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_READY);
	cr_expect(p.req.params_over);
	cr_assert_not_null(p.req.envp);
	cr_expect_null(p.req.envp[0]);
	cr_expect_eq(p.params.len, 0, "the params were kept");
	fcgi_rec_free(&p);
	buf_free(&b);
	buf_free(&v);
}

Test(fcgi_rec, long_pair_lengths_and_odd_names)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b, v;
	unsigned char		 len4[8] = { 0x80, 0, 0, 4, 0x80, 0, 0, 2 };

	buf_init(&b);
	buf_init(&v);
	buf_append(&v, len4, sizeof(len4));	/* 4-byte lengths */
	buf_puts(&v, "NAMEvv");
	pair(&v, "A=B", "c");			/* ambiguous: left out */
	pair(&v, "", "empty");			/* left out */
	begin(&b, 1, 1, 0);
	rec(&b, FCGI_REC_PARAMS, 1, v.data, v.len, 0);
	rec(&b, FCGI_REC_PARAMS, 1, NULL, 0, 0);
	rec(&b, FCGI_REC_STDIN, 1, NULL, 0, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_READY);
	cr_expect_str_eq(p.req.envp[0], "NAME=vv");
	cr_expect_null(p.req.envp[1]);
	cr_expect(!p.req.keep_conn);
	fcgi_rec_free(&p);
	buf_free(&b);
	buf_free(&v);
}

Test(fcgi_rec, malformed_pairs_close)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	unsigned char		 bad[3] = { 10, 1, 'x' };	/* runs past */

	buf_init(&b);
	begin(&b, 1, 1, 1);
	rec(&b, FCGI_REC_PARAMS, 1, bad, sizeof(bad), 0);
	rec(&b, FCGI_REC_PARAMS, 1, NULL, 0, 0);
	cr_expect_eq(parse(&p, &b), FCGI_REC_CLOSE);
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, protocol_errors_close)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	const char		 http[] = "GET / HTTP/1.1\r\n";
	size_t			 used;

	fcgi_rec_init(&p, &lim);
	cr_expect_eq(fcgi_rec_feed(&p, http, sizeof(http) - 1, &used),
	    FCGI_REC_CLOSE, "version 'G' accepted");
	fcgi_rec_free(&p);
	/* STDIN before the params ended. */
	buf_init(&b);
	begin(&b, 1, 1, 1);
	rec(&b, FCGI_REC_STDIN, 1, "x", 1, 0);
	cr_expect_eq(parse(&p, &b), FCGI_REC_CLOSE);
	fcgi_rec_free(&p);
	/* BEGIN_REQUEST of the wrong size. */
	buf_reset(&b);
	rec(&b, FCGI_REC_BEGIN_REQUEST, 1, "abc", 3, 0);
	cr_expect_eq(parse(&p, &b), FCGI_REC_CLOSE);
	fcgi_rec_free(&p);
	buf_free(&b);
}

/* The record at *at of out: its type, id, content (pointer, length). */
static int
out_rec(const struct buf *out, size_t *at, unsigned *id,
    const unsigned char **c, size_t *len)
{
	const unsigned char *h = (const unsigned char *)out->data + *at;

	cr_assert_geq(out->len - *at, 8);
	cr_assert_eq(h[0], 1);
	*id = (unsigned)h[2] << 8 | h[3];
	*len = (size_t)h[4] << 8 | h[5];
	*c = h + 8;
	*at += 8 + *len + h[6];
	cr_assert_leq(*at, out->len);
	return h[1];
}

/* The first answer the parser wrote: its type; *id, *c, *len. */
static int
first_answer(const struct fcgi_rec_parser *p, unsigned *id,
    const unsigned char **c, size_t *len)
{
	size_t	 at = 0;

	return out_rec(&p->out, &at, id, c, len);
}

Test(fcgi_rec, get_values_answers_names_asked_once)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b, v;
	const unsigned char	*c;
	size_t			 at = 0, len;
	unsigned		 id;

	buf_init(&b);
	buf_init(&v);
	pair(&v, "FCGI_MAX_CONNS", "");
	pair(&v, "UNKNOWN", "");
	pair(&v, "FCGI_MPXS_CONNS", "");
	pair(&v, "FCGI_MAX_CONNS", "");
	rec(&b, FCGI_REC_GET_VALUES, 0, v.data, v.len, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_MORE);
	cr_expect(fcgi_rec_idle(&p));
	cr_assert_eq(out_rec(&p.out, &at, &id, &c, &len),
	    FCGI_REC_GET_VALUES_RESULT);
	cr_expect_eq(id, 0);
	cr_expect_eq(at, p.out.len);
	cr_expect_eq(len, 2 + 14 + 2 + 2 + 15 + 1);
	cr_expect(memcmp(c, "\016\002FCGI_MAX_CONNS42\017\001FCGI_MPXS_CONNS0",
	    len) == 0, "%.*s", (int)len, c);
	fcgi_rec_free(&p);
	buf_free(&b);
	buf_free(&v);
}

Test(fcgi_rec, unknown_management_type)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	const unsigned char	*c;
	size_t			 len;
	unsigned		 id;

	buf_init(&b);
	rec(&b, 42, 0, "zz", 2, 6);
	cr_assert_eq(parse(&p, &b), FCGI_REC_MORE);
	cr_assert_eq(first_answer(&p, &id, &c, &len),
	    FCGI_REC_UNKNOWN_TYPE);
	cr_expect(id == 0 && len == 8 && c[0] == 42);
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, other_roles_refused)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	const unsigned char	*c;
	size_t			 len;
	unsigned		 id;

	buf_init(&b);
	begin(&b, 3, 2, 1);	/* AUTHORIZER, keep the connection */
	rec(&b, FCGI_REC_PARAMS, 3, NULL, 0, 0);
	rec(&b, FCGI_REC_STDIN, 3, NULL, 0, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_MORE,
	    "the refused request was served");
	cr_assert_eq(first_answer(&p, &id, &c, &len),
	    FCGI_REC_END_REQUEST);
	cr_expect(id == 3 && len == 8 && c[4] == FCGI_REC_UNKNOWN_ROLE);
	fcgi_rec_free(&p);
	/* FILTER without FCGI_KEEP_CONN: refused, then closed. */
	buf_reset(&b);
	begin(&b, 1, 3, 0);
	cr_expect_eq(parse(&p, &b), FCGI_REC_CLOSE);
	cr_expect_eq(p.out.len, 16);
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, second_request_refused_and_ignored)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;
	const unsigned char	*c;
	size_t			 len;
	unsigned		 id;

	buf_init(&b);
	begin(&b, 1, 1, 1);
	rec(&b, FCGI_REC_PARAMS, 1, NULL, 0, 0);
	begin(&b, 2, 1, 1);
	rec(&b, FCGI_REC_STDIN, 2, NULL, 0, 0);	/* not its end: ignored */
	rec(&b, FCGI_REC_STDIN, 1, "ab", 2, 0);
	rec(&b, FCGI_REC_STDIN, 1, NULL, 0, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_READY);
	cr_expect_eq(p.req.id, 1);
	cr_expect_eq(p.req.body.len, 2);
	cr_assert_eq(first_answer(&p, &id, &c, &len),
	    FCGI_REC_END_REQUEST);
	cr_expect(id == 2 && c[4] == FCGI_REC_CANT_MPX_CONN);
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, abort_ends_the_request)
{
	struct fcgi_rec_parser	 p;
	struct buf		 b;

	buf_init(&b);
	begin(&b, 1, 1, 1);
	rec(&b, FCGI_REC_ABORT_REQUEST, 1, NULL, 0, 0);
	cr_assert_eq(parse(&p, &b), FCGI_REC_MORE);
	cr_expect(fcgi_rec_idle(&p));
	cr_expect_eq(p.out.len, 16, "no END_REQUEST for the aborted one");
	fcgi_rec_free(&p);
	buf_free(&b);
}

Test(fcgi_rec, put_splits_records)
{
	static char		 big[140000];
	struct buf		 b;
	const unsigned char	*c;
	size_t			 at = 0, len, total = 0;
	unsigned		 id;
	int			 n = 0;

	buf_init(&b);
	fcgi_rec_put(&b, FCGI_REC_STDOUT, 300, big, sizeof(big));
	while (at < b.len) {
		cr_assert_eq(out_rec(&b, &at, &id, &c, &len), FCGI_REC_STDOUT);
		cr_expect_eq(id, 300);
		cr_expect_leq(len, 65535);
		total += len;
		n++;
	}
	cr_expect_eq(total, sizeof(big));
	cr_expect_eq(n, 3);
	buf_reset(&b);
	fcgi_rec_put(&b, FCGI_REC_STDOUT, 1, NULL, 0);
	cr_expect_eq(b.len, 8, "the end of a stream is one empty record");
	fcgi_rec_put_end(&b, 1, FCGI_REC_REQUEST_COMPLETE);
	at = 8;
	cr_expect_eq(out_rec(&b, &at, &id, &c, &len), FCGI_REC_END_REQUEST);
	cr_expect(len == 8 && memcmp(c, "\0\0\0\0\0\0\0\0", 8) == 0);
	buf_free(&b);
}
