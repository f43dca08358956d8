/* Unit tests for form: urlencoded parsing (WHATWG URL 5.1, made strict). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "form.h"

#define VEC_MAXKV	8

/*
 * One vector: a body (len 0: strlen), and either the expected fields as
 * key, value pairs, or the expected error message (exact). Strings are held
 * in arrays, not pointers: Criterion hands parameters to a separate worker
 * process, where the addresses of string literals need not be the same.
 */
struct vec {
	char	 what[48];
	char	 body[32];
	size_t	 len;
	char	 err[48];	/* "": must parse */
	size_t	 n;		/* expected field count */
	char	 kv[VEC_MAXKV * 2][12];
};

static struct vec vecs[] = {
	{ "simple pair", "a=b", 0, "", 1, { "a", "b" } },
	{ "plus is space", "a=b+c", 0, "", 1, { "a", "b c" } },
	{ "plus in key", "a+b=c+d", 0, "", 1, { "a b", "c d" } },
	{ "%20 is space", "a=b%20c", 0, "", 1, { "a", "b c" } },
	{ "%2B is plus", "a=1%2B1", 0, "", 1, { "a", "1+1" } },
	{ "lowercase hex", "k%3d=v%2b", 0, "", 1, { "k=", "v+" } },
	{ "mixed case hex", "%4A%4a=x", 0, "", 1, { "JJ", "x" } },
	{ "empty key", "=v", 0, "", 1, { "", "v" } },
	{ "empty value", "k=", 0, "", 1, { "k", "" } },
	{ "no equals", "k", 0, "", 1, { "k", "" } },
	{ "only equals", "=", 0, "", 1, { "", "" } },
	{ "equals in value", "a=b=c", 0, "", 1, { "a", "b=c" } },
	{ "repeated keys kept in order", "a=1&a=2&b=3&a=4", 0, "", 4,
	    { "a", "1", "a", "2", "b", "3", "a", "4" } },
	{ "double ampersand", "a=1&&b=2", 0, "", 2,
	    { "a", "1", "b", "2" } },
	{ "leading ampersand", "&a=1", 0, "", 1, { "a", "1" } },
	{ "trailing ampersand", "a=1&", 0, "", 1, { "a", "1" } },
	{ "only ampersands", "&&&", 0, "", 0, { "" } },
	{ "empty body", "", 0, "", 0, { "" } },
	{ "no double decoding", "a=%2525", 0, "", 1, { "a", "%25" } },
	{ "escaped ampersand", "a=x%26y=z", 0, "", 1, { "a", "x&y=z" } },
	{ "utf-8 escaped 2 bytes", "name=J%C3%BCrgen", 0, "", 1,
	    { "name", "J\xc3\xbcrgen" } },
	{ "utf-8 raw 3 bytes", "k=\xe2\x82\xac", 0, "", 1,
	    { "k", "\xe2\x82\xac" } },
	{ "utf-8 4 bytes", "k=%F0%9F%98%80", 0, "", 1,
	    { "k", "\xf0\x9f\x98\x80" } },
	{ "utf-8 max code point", "k=%F4%8F%BF%BF", 0, "", 1,
	    { "k", "\xf4\x8f\xbf\xbf" } },
	{ "lone percent", "k=%", 0,
	    "malformed percent escape in field 1", 0, { "" } },
	{ "one hex digit", "a=1&k=%4", 0,
	    "malformed percent escape in field 2", 0, { "" } },
	{ "non-hex digits", "k=%zz", 0,
	    "malformed percent escape in field 1", 0, { "" } },
	{ "second digit not hex", "k=%4g&x", 0,
	    "malformed percent escape in field 1", 0, { "" } },
	{ "bad escape in key", "%=v", 0,
	    "malformed percent escape in field 1", 0, { "" } },
	{ "position skips empty sequences", "a=1&&b=2&c=%", 0,
	    "malformed percent escape in field 3", 0, { "" } },
	{ "escaped NUL", "k=%00", 0, "NUL byte in field 1", 0, { "" } },
	{ "raw NUL", "a=b&k=a\0b", 9, "NUL byte in field 2", 0, { "" } },
	{ "raw NUL in key", "\0=v", 3, "NUL byte in field 1", 0, { "" } },
	{ "overlong 2 bytes", "k=%C0%AF", 0, "invalid UTF-8 in field 1", 0,
	    { "" } },
	{ "overlong 3 bytes", "k=%E0%80%AF", 0, "invalid UTF-8 in field 1",
	    0, { "" } },
	{ "overlong 4 bytes", "k=%F0%80%80%AF", 0,
	    "invalid UTF-8 in field 1", 0, { "" } },
	{ "surrogate", "k=%ED%A0%80", 0, "invalid UTF-8 in field 1", 0,
	    { "" } },
	{ "above U+10FFFF", "k=%F4%90%80%80", 0, "invalid UTF-8 in field 1",
	    0, { "" } },
	{ "truncated sequence", "x&k=%E2%82", 0, "invalid UTF-8 in field 2",
	    0, { "" } },
	{ "truncated then ascii", "k=%E2%82a", 0, "invalid UTF-8 in field 1",
	    0, { "" } },
	{ "lone continuation byte", "k=%80", 0, "invalid UTF-8 in field 1",
	    0, { "" } },
	{ "raw 0xff", "k=\xff", 0, "invalid UTF-8 in field 1", 0, { "" } },
	{ "invalid utf-8 in key", "%C3=v", 0, "invalid UTF-8 in field 1", 0,
	    { "" } },
};

ParameterizedTestParameters(form, vectors)
{
	return cr_make_param_array(struct vec, vecs,
	    sizeof(vecs) / sizeof(vecs[0]));
}

ParameterizedTest(struct vec *v, form, vectors)
{
	struct form	 f;
	char		 err[128];
	size_t		 len, i;
	int		 rc;

	len = v->len ? v->len : strlen(v->body);
	memset(err, 'x', sizeof(err));
	rc = form_parse(v->body, len, &f, err, sizeof(err));
	if (v->err[0] != '\0') {
		cr_expect_eq(rc, -1, "%s: parsed", v->what);
		cr_expect_str_eq(err, v->err, "%s", v->what);
		cr_expect_eq(f.nfields, 0, "%s: fields left", v->what);
		cr_expect_null(f.fields, "%s", v->what);
	} else {
		cr_assert_eq(rc, 0, "%s: %s", v->what, err);
		cr_assert_eq(f.nfields, v->n, "%s: %zu fields", v->what,
		    f.nfields);
		for (i = 0; i < v->n; i++) {
			cr_expect_str_eq(f.fields[i].key, v->kv[2 * i],
			    "%s: key %zu", v->what, i);
			cr_expect_str_eq(f.fields[i].val, v->kv[2 * i + 1],
			    "%s: value %zu", v->what, i);
		}
	}
	form_free(&f);
}

/* A body of n fields "k=v&k=v...". */
static char *
make_fields(size_t n, size_t *len)
{
	char	*s;
	size_t	 i;

	cr_assert_not_null(s = malloc(n * 4 + 1));
	for (i = 0; i < n; i++)
		memcpy(s + i * 4, "k=v&", 4);
	*len = n * 4;
	s[*len] = '\0';
	return s;
}

Test(form, max_fields_accepted)
{
	struct form	 f;
	char		 err[128], *s;
	size_t		 len;

	s = make_fields(FORM_MAX_FIELDS, &len);
	cr_assert_eq(form_parse(s, len, &f, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(f.nfields, FORM_MAX_FIELDS);
	cr_expect_eq(form_count(&f, "k"), FORM_MAX_FIELDS);
	form_free(&f);
	free(s);
}

Test(form, too_many_fields)
{
	struct form	 f;
	char		 err[128], *s;
	size_t		 len;

	s = make_fields(FORM_MAX_FIELDS + 1, &len);
	cr_expect_eq(form_parse(s, len, &f, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "too many fields (more than 256)");
	cr_expect_eq(f.nfields, 0);
	form_free(&f);
	free(s);
}

Test(form, empty_sequences_do_not_count)
{
	struct form	 f;
	char		 err[128], *s, *t;
	size_t		 len;

	/* 256 fields with an empty sequence between each: still fine. */
	s = make_fields(FORM_MAX_FIELDS, &len);
	cr_assert_not_null(t = malloc(len * 2 + 1));
	memset(t, '&', len * 2);
	for (size_t i = 0; i < FORM_MAX_FIELDS; i++)
		memcpy(t + i * 8, "k=v", 3);
	cr_assert_eq(form_parse(t, len * 2, &f, err, sizeof(err)), 0);
	cr_expect_eq(f.nfields, FORM_MAX_FIELDS);
	form_free(&f);
	free(t);
	free(s);
}

Test(form, null_err_buffer)
{
	struct form	 f;

	cr_expect_eq(form_parse("k=%", 3, &f, NULL, 0), -1);
	form_free(&f);
	cr_expect_eq(form_parse("k=v", 3, &f, NULL, 0), 0);
	form_free(&f);
}

Test(form, small_err_buffer_truncates)
{
	struct form	 f;
	char		 err[8];

	cr_expect_eq(form_parse("k=%", 3, &f, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "malform");
	form_free(&f);
}

Test(form, length_bounds_the_body)
{
	struct form	 f;

	/* Bytes past len are never read: "a=1" of "a=1%". */
	cr_assert_eq(form_parse("a=1%", 3, &f, NULL, 0), 0);
	cr_expect_str_eq(form_get(&f, "a"), "1");
	form_free(&f);
}

Test(form, free_twice_is_harmless)
{
	struct form	 f;

	cr_assert_eq(form_parse("a=1", 3, &f, NULL, 0), 0);
	form_free(&f);
	form_free(&f);
	form_free(NULL);
}

Test(form, get_and_count)
{
	struct form	 f;
	const char	*body = "a=1&b=&a=2&c&=e";

	cr_assert_eq(form_parse(body, strlen(body), &f, NULL, 0), 0);
	cr_expect_str_eq(form_get(&f, "a"), "1");
	cr_expect_str_eq(form_get(&f, "b"), "");
	cr_expect_str_eq(form_get(&f, "c"), "");
	cr_expect_str_eq(form_get(&f, ""), "e");
	cr_expect_null(form_get(&f, "d"));
	cr_expect_null(form_get(&f, NULL));
	cr_expect_null(form_get(NULL, "a"));
	cr_expect_eq(form_count(&f, "a"), 2);
	cr_expect_eq(form_count(&f, "b"), 1);
	cr_expect_eq(form_count(&f, "d"), 0);
	cr_expect_eq(form_count(NULL, "a"), 0);
	form_free(&f);
}

Test(form, get_on_empty_form)
{
	struct form	 f;

	cr_assert_eq(form_parse("", 0, &f, NULL, 0), 0);
	cr_expect_null(form_get(&f, "a"));
	cr_expect_eq(form_count(&f, "a"), 0);
	form_free(&f);
	cr_assert_eq(form_parse(NULL, 0, &f, NULL, 0), 0);
	form_free(&f);
}

Test(form, decode_plus_flag)
{
	char	*s;
	size_t	 n;

	cr_assert_not_null(s = form_decode("a+b%2Bc", 7, 1, &n));
	cr_expect_str_eq(s, "a b+c");
	cr_expect_eq(n, 5);
	free(s);
	cr_assert_not_null(s = form_decode("a+b%20c", 7, 0, &n));
	cr_expect_str_eq(s, "a+b c");
	cr_expect_eq(n, 5);
	free(s);
}

Test(form, decode_path)
{
	char	*s;
	size_t	 n;

	cr_assert_not_null(s = form_decode("/jobs/%E2%82%AC", 15, 0, &n));
	cr_expect_str_eq(s, "/jobs/\xe2\x82\xac");
	cr_expect_eq(n, 9);
	free(s);
	cr_assert_not_null(s = form_decode("", 0, 0, NULL));
	cr_expect_str_eq(s, "");
	free(s);
}

Test(form, decode_refuses)
{
	size_t	 n = 42;

	cr_expect_null(form_decode("%", 1, 0, &n));
	cr_expect_null(form_decode("%4", 2, 0, &n));
	cr_expect_null(form_decode("%zz", 3, 0, &n));
	cr_expect_null(form_decode("a%00", 4, 0, &n));
	cr_expect_null(form_decode("a\0b", 3, 0, &n));
	cr_expect_null(form_decode("%C0%80", 6, 0, &n));
	cr_expect_null(form_decode("%ED%BF%BF", 9, 0, &n));
	cr_expect_null(form_decode("%F5%80%80%80", 12, 0, &n));
	cr_expect_null(form_decode("%F0%9F%98", 9, 0, &n));
	cr_expect_null(form_decode(NULL, 3, 0, &n));
	/* Escape cut by len, even if the string goes on. */
	cr_expect_null(form_decode("%41", 2, 0, &n));
}

/* A cut never ends inside a UTF-8 sequence (1 to 4 bytes long). */
Test(form, utf8_cut)
{
	/* "a" then U+00E9 (2 bytes), U+20AC (3), U+1F600 (4): 10 bytes. */
	const char	*s = "a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80";
	const size_t	 want[] = { 0, 1, 1, 3, 3, 3, 6, 6, 6, 6, 10, 10 };
	size_t		 max;

	for (max = 0; max < sizeof(want) / sizeof(want[0]); max++)
		cr_expect_eq(form_utf8_cut(s, max), want[max],
		    "max %zu: %zu, want %zu", max, form_utf8_cut(s, max),
		    want[max]);
	cr_expect_eq(form_utf8_cut("", 0), 0);
	cr_expect_eq(form_utf8_cut("abc", 2), 2);
	cr_expect_eq(form_utf8_cut("abc", (size_t)-1), 3);
	/* Invalid input: the walk back stops after three bytes. */
	cr_expect_eq(form_utf8_cut("\x80\x80\x80\x80\x80\x80", 5), 2);
}

Test(form, utf8_valid)
{
	cr_expect(form_utf8_valid("", 0));
	cr_expect(form_utf8_valid("a\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80", 10));
	cr_expect(form_utf8_valid("a\0b", 3), "NUL is left to the caller");
	cr_expect(form_utf8_valid("\xf4\x8f\xbf\xbf", 4));
	cr_expect_not(form_utf8_valid("\xc0\xaf", 2), "overlong");
	cr_expect_not(form_utf8_valid("\xed\xa0\x80", 3), "surrogate");
	cr_expect_not(form_utf8_valid("\xf4\x90\x80\x80", 4), "> U+10FFFF");
	cr_expect_not(form_utf8_valid("\xe2\x82", 2), "truncated");
	cr_expect_not(form_utf8_valid("\x80", 1), "continuation");
	cr_expect_not(form_utf8_valid("\xff", 1));
	/* len bounds the check: the cut sequence is refused. */
	cr_expect_not(form_utf8_valid("\xc3\xa9", 1));
}

Test(form, add_to_empty_form)
{
	struct form	 f = { NULL, 0 };

	cr_assert_eq(form_add(&f, "name", 4, "J\xc3\xbcrgen", 7), 0);
	cr_assert_eq(form_add(&f, "", 0, NULL, 0), 0);
	cr_assert_eq(form_add(&f, "name", 4, "xyz", 2), 0);
	cr_assert_eq(f.nfields, 3);
	cr_expect_str_eq(f.fields[0].key, "name");
	cr_expect_str_eq(f.fields[0].val, "J\xc3\xbcrgen");
	cr_expect_str_eq(f.fields[1].key, "");
	cr_expect_str_eq(f.fields[1].val, "");
	cr_expect_str_eq(f.fields[2].val, "xy", "vlen bounds the copy");
	cr_expect_str_eq(form_get(&f, "name"), "J\xc3\xbcrgen");
	cr_expect_eq(form_count(&f, "name"), 2);
	form_free(&f);
	cr_expect_eq(f.nfields, 0);
}

Test(form, add_after_parse_keeps_order)
{
	struct form	 f;
	char		 key[] = "b";

	cr_assert_eq(form_parse("a=1&a=2", 7, &f, NULL, 0), 0);
	cr_assert_eq(form_add(&f, key, 1, "3", 1), 0);
	key[0] = 'z';	/* a copy was stored */
	cr_assert_eq(f.nfields, 3);
	cr_expect_str_eq(f.fields[1].val, "2");
	cr_expect_str_eq(f.fields[2].key, "b");
	cr_expect_str_eq(form_get(&f, "b"), "3");
	form_free(&f);
}

Test(form, add_past_max_fields)
{
	struct form	 f = { NULL, 0 };
	size_t		 i;

	for (i = 0; i < FORM_MAX_FIELDS; i++)
		cr_assert_eq(form_add(&f, "k", 1, "v", 1), 0, "field %zu", i);
	cr_expect_eq(form_add(&f, "k", 1, "v", 1), -1);
	cr_expect_eq(f.nfields, FORM_MAX_FIELDS, "unchanged on -1");
	cr_expect_eq(form_add(NULL, "k", 1, "v", 1), -1);
	form_free(&f);
}
