/*
 * Unit tests for buf: the growable buffer every text of Sluice is built
 * in: appends, growth, hand-over, and the HTML and JSON writers.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "buf.h"

Test(buf, empty_is_an_empty_string)
{
	struct buf	 b;

	buf_init(&b);
	cr_expect_str_eq(buf_cstr(&b), "");
	cr_expect_eq(b.len, 0);
	cr_expect(buf_ok(&b));
	buf_reset(&b);
	cr_expect_str_eq(buf_cstr(&b), "");
	buf_free(&b);
	cr_expect_null(b.data);
}

Test(buf, appends_grow_and_stay_terminated)
{
	struct buf	 b;
	size_t		 i;

	buf_init(&b);
	buf_puts(&b, "ab");
	buf_putc(&b, 'c');
	buf_append(&b, "dexx", 2);
	buf_printf(&b, "%d-%s", 42, "z");
	cr_expect_str_eq(buf_cstr(&b), "abcde42-z");
	cr_expect_eq(b.len, 9);
	/* Far past the first allocation, in many small steps. */
	for (i = 0; i < 10000; i++)
		buf_putc(&b, (char)('a' + i % 26));
	cr_expect_eq(b.len, 10009);
	cr_expect_eq(strlen(buf_cstr(&b)), 10009);
	cr_expect_eq(b.data[9], 'a');
	cr_expect_eq(b.data[10008], (char)('a' + 9999 % 26));
	buf_reset(&b);
	cr_expect_eq(b.len, 0);
	cr_expect_str_eq(buf_cstr(&b), "");
	buf_free(&b);
}

Test(buf, printf_longer_than_the_room_left)
{
	struct buf	 b;
	char		 big[3000];

	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	buf_init(&b);
	buf_puts(&b, "<");
	buf_printf(&b, "%s>", big);
	cr_expect_eq(b.len, sizeof(big) + 1);
	cr_expect_eq(b.data[b.len - 1], '>');
	buf_free(&b);
}

Test(buf, reserve_makes_room_at_once)
{
	struct buf	 b;
	char		*before;

	buf_init(&b);
	cr_assert_eq(buf_reserve(&b, 5000), 0);
	cr_expect_geq(b.cap, 5001);
	cr_expect_str_eq(buf_cstr(&b), "");
	before = b.data;
	buf_printf(&b, "%4999d", 1);
	cr_expect_eq(b.data, before, "reallocated within the reserved room");
	buf_free(&b);
}

Test(buf, take_hands_over_and_resets)
{
	struct buf	 b;
	char		*p;

	buf_init(&b);
	p = buf_take(&b);
	cr_assert_not_null(p);
	cr_expect_str_eq(p, "");
	free(p);
	buf_puts(&b, "kept");
	p = buf_take(&b);
	cr_expect_str_eq(p, "kept");
	cr_expect_null(b.data);
	cr_expect_eq(b.len, 0);
	free(p);
	/* A failed buffer hands over nothing. */
	buf_puts(&b, "x");
	b.oom = 1;
	cr_expect_null(buf_take(&b));
	cr_expect(buf_ok(&b));
}

Test(buf, failed_buffer_ignores_appends)
{
	struct buf	 b;

	buf_init(&b);
	buf_puts(&b, "abc");
	b.oom = 1;
	buf_puts(&b, "def");
	buf_printf(&b, "%d", 1);
	cr_expect_eq(b.len, 3);
	cr_expect_not(buf_ok(&b));
	cr_expect_eq(buf_reserve(&b, 1), -1);
	buf_free(&b);
	cr_expect(buf_ok(&b), "buf_free starts over");
}

Test(buf, html_escapes_the_five)
{
	struct buf	 b;
	const char	*s = "a&b<c>d\"e'f";

	buf_init(&b);
	buf_html(&b, s, strlen(s));
	cr_expect_str_eq(buf_cstr(&b), "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	buf_reset(&b);
	/* Only n bytes, NULs included as they are. */
	buf_html(&b, "<<x", 2);
	cr_expect_str_eq(buf_cstr(&b), "&lt;&lt;");
	buf_free(&b);
}

/* Inline arrays: Criterion copies parameters into each test's process. */
struct json_case {
	char	 in[16], out[48];
};

static struct json_case json_cases[] = {
	{ "plain", "\"plain\"" },
	{ "q\"b\\", "\"q\\\"b\\\\\"" },
	{ "n\nr\rt\t", "\"n\\nr\\rt\\t\"" },
	{ "\x01\x1f", "\"\\u0001\\u001f\"" },
	{ "</script>&", "\"\\u003c/script\\u003e\\u0026\"" },
	{ "caf\xc3\xa9", "\"caf\xc3\xa9\"" },
	{ "", "\"\"" },
};

ParameterizedTestParameters(buf, json_str)
{
	return cr_make_param_array(struct json_case, json_cases,
	    sizeof(json_cases) / sizeof(json_cases[0]));
}

ParameterizedTest(struct json_case *c, buf, json_str)
{
	struct buf	 b;

	buf_init(&b);
	buf_json_str(&b, c->in);
	cr_expect_str_eq(buf_cstr(&b), c->out);
	buf_free(&b);
}

Test(buf, json_str_null)
{
	struct buf	 b;

	buf_init(&b);
	buf_json_str(&b, NULL);
	cr_expect_str_eq(buf_cstr(&b), "null");
	buf_free(&b);
}

struct num_case {
	double	 v;
	char	 out[24];
};

static struct num_case num_cases[] = {
	{ 0, "0" },
	{ 12, "12" },
	{ -3, "-3" },
	{ 1.5, "1.5" },
	{ 0.1, "0.1" },
	{ 0.1 + 0.2, "0.30000000000000004" },
	{ 1e20, "1e+20" },
	{ 1234.567, "1234.567" },
};

ParameterizedTestParameters(buf, json_num)
{
	return cr_make_param_array(struct num_case, num_cases,
	    sizeof(num_cases) / sizeof(num_cases[0]));
}

/* Whole numbers as integers; others the shortest text that reads back. */
ParameterizedTest(struct num_case *c, buf, json_num)
{
	struct buf	 b;

	buf_init(&b);
	buf_json_num(&b, c->v);
	cr_expect_str_eq(buf_cstr(&b), c->out);
	cr_expect_eq(strtod(buf_cstr(&b), NULL), c->v);
	buf_free(&b);
}

Test(buf, json_num_not_finite_is_null)
{
	struct buf	 b;

	buf_init(&b);
	buf_json_num(&b, NAN);
	buf_putc(&b, ',');
	buf_json_num(&b, INFINITY);
	buf_putc(&b, ',');
	buf_json_num(&b, -INFINITY);
	cr_expect_str_eq(buf_cstr(&b), "null,null,null");
	buf_free(&b);
}
