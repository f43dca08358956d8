/* Unit tests for tmpl: the mustache subset and the tval value tree. */
#include <sys/stat.h>

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "buf.h"
#include "tmpl.h"

/* Compiles src as template "t" (plus partials) and renders it with ctx. */
static char *
render_with(const char *src, const char *const *pnames,
    const char *const *psrcs, size_t np, const struct tval *ctx)
{
	const char	*names[8], *srcs[8];
	struct tmpl_set	*set;
	struct buf	 out;
	char		 err[256], *got;
	size_t		 i;

	cr_assert_lt(np, 8);
	names[0] = "t";
	srcs[0] = src;
	for (i = 0; i < np; i++) {
		names[i + 1] = pnames[i];
		srcs[i + 1] = psrcs[i];
	}
	set = tmpl_load_strings(names, srcs, np + 1, err, sizeof(err));
	cr_assert_not_null(set, "load: %s", err);
	buf_init(&out);
	cr_assert_eq(tmpl_render(set, "t", ctx, &out), 0, "render of %s",
	    src);
	cr_assert(buf_ok(&out));
	tmpl_free(set);
	got = strdup(buf_cstr(&out));
	cr_assert_not_null(got);
	buf_free(&out);
	return got;
}

static char *
render(const char *src, const struct tval *ctx)
{
	return render_with(src, NULL, NULL, 0, ctx);
}

static void
expect_render(const char *src, const struct tval *ctx, const char *want)
{
	char	*got;

	got = render(src, ctx);
	cr_expect_str_eq(got, want, "template %s", src);
	free(got);
}

/* Loading src as "t" must fail with exactly msg. */
static void
expect_error(const char *src, const char *msg)
{
	const char	*names[] = { "t" };
	const char	*srcs[] = { src };
	struct tmpl_set	*set;
	char		 err[256];

	set = tmpl_load_strings(names, srcs, 1, err, sizeof(err));
	cr_expect_null(set, "template %s loaded", src);
	cr_expect_str_eq(err, msg, "template %s", src);
	tmpl_free(set);
}

/* A map {name: s, ...} from NULL-terminated pairs. */
static struct tval *
map_of(const char *k, ...)
{
	struct tval	*m;
	va_list		 ap;
	const char	*v;

	cr_assert_not_null(m = tval_map());
	va_start(ap, k);
	while (k != NULL) {
		v = va_arg(ap, const char *);
		tval_set_str(m, k, v);
		k = va_arg(ap, const char *);
	}
	va_end(ap);
	cr_assert(tval_ok(m));
	return m;
}

/* ---- variables ---- */

Test(tmpl, escapes_all_five)
{
	struct tval	*c = map_of("v", "a&b<c>d\"e'f", NULL);

	expect_render("{{v}}", c, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	tval_free(c);
}

Test(tmpl, raw_is_not_escaped)
{
	struct tval	*c = map_of("v", "<b>&'\"</b>", NULL);

	expect_render("[{{{v}}}]", c, "[<b>&'\"</b>]");
	expect_render("[{{{ v }}}]", c, "[<b>&'\"</b>]");
	tval_free(c);
}

Test(tmpl, plain_text_and_braces)
{
	expect_render("", NULL, "");
	expect_render("hello\nworld\n", NULL, "hello\nworld\n");
	expect_render("{ } {x} }} {", NULL, "{ } {x} }} {");
}

Test(tmpl, whitespace_in_tags)
{
	struct tval	*c = map_of("v", "x", NULL);

	expect_render("{{ v }}|{{\tv\n}}", c, "x|x");
	tval_free(c);
}

Test(tmpl, missing_variable_is_empty)
{
	struct tval	*c = map_of("v", "x", NULL);

	expect_render("[{{nope}}][{{{nope}}}][{{a.b}}]", c, "[][][]");
	expect_render("[{{v}}]", NULL, "[]");
	tval_free(c);
}

Test(tmpl, bool_and_null_values)
{
	struct tval	*c = tval_map();

	tval_set(c, "t", tval_bool(1));
	tval_set(c, "f", tval_bool(0));
	tval_set(c, "n", tval_str(NULL));
	tval_set(c, "l", tval_list());
	cr_assert(tval_ok(c));
	expect_render("{{t}} {{f}} [{{n}}] [{{l}}]", c, "true false [] []");
	tval_free(c);
}

Test(tmpl, printf_and_strn_values)
{
	struct tval	*c = tval_map();

	tval_set(c, "n", tval_printf("%d-%s", 42, "x"));
	tval_set(c, "s", tval_strn("abcdef", 3));
	cr_assert(tval_ok(c));
	expect_render("{{n}} {{s}}", c, "42-x abc");
	tval_free(c);
}

Test(tmpl, set_replaces_value)
{
	struct tval	*c = map_of("v", "old", NULL);

	tval_set_str(c, "v", "new");
	expect_render("{{v}}", c, "new");
	tval_free(c);
}

/* ---- sections ---- */

Test(tmpl, section_over_list_of_maps)
{
	struct tval	*c = tval_map(), *l = tval_list();

	tval_push(l, map_of("name", "a<", NULL));
	tval_push(l, map_of("name", "b", NULL));
	tval_push(l, map_of("name", "c", NULL));
	tval_set(c, "items", l);
	cr_assert(tval_ok(c));
	expect_render("<ul>{{#items}}<li>{{name}}</li>{{/items}}</ul>", c,
	    "<ul><li>a&lt;</li><li>b</li><li>c</li></ul>");
	tval_free(c);
}

Test(tmpl, section_over_list_of_strings)
{
	struct tval	*c = tval_map(), *l = tval_list();

	tval_push(l, tval_str("x"));
	tval_push(l, tval_str("&"));
	tval_set(c, "l", l);
	expect_render("{{#l}}({{.}}){{/l}}", c, "(x)(&amp;)");
	tval_free(c);
}

Test(tmpl, section_over_scalars)
{
	struct tval	*c = map_of("s", "str", "e", "", NULL);

	tval_set(c, "t", tval_bool(1));
	tval_set(c, "f", tval_bool(0));
	expect_render("{{#s}}[{{.}}]{{/s}}", c, "[str]");
	expect_render("{{#t}}yes{{/t}}", c, "yes");
	expect_render("{{#f}}no{{/f}}", c, "");
	expect_render("{{#e}}no{{/e}}", c, "");
	expect_render("{{#missing}}no{{/missing}}", c, "");
	tval_free(c);
}

Test(tmpl, section_over_map_pushes_it)
{
	struct tval	*c = map_of("x", "outer", NULL);

	tval_set(c, "m", map_of("x", "inner", NULL));
	expect_render("{{#m}}{{x}}{{/m}} {{x}}", c, "inner outer");
	tval_free(c);
}

Test(tmpl, empty_list_section_skipped)
{
	struct tval	*c = tval_map();

	tval_set(c, "l", tval_list());
	expect_render("[{{#l}}x{{/l}}]", c, "[]");
	tval_free(c);
}

Test(tmpl, inverted_sections)
{
	struct tval	*c = map_of("e", "", "s", "x", NULL), *l;

	tval_set(c, "f", tval_bool(0));
	tval_set(c, "t", tval_bool(1));
	tval_set(c, "el", tval_list());
	l = tval_list();
	tval_push(l, tval_str("a"));
	tval_set(c, "l", l);
	expect_render("{{^missing}}A{{/missing}}", c, "A");
	expect_render("{{^f}}B{{/f}}", c, "B");
	expect_render("{{^e}}C{{/e}}", c, "C");
	expect_render("{{^el}}D{{/el}}", c, "D");
	expect_render("{{^t}}no{{/t}}", c, "");
	expect_render("{{^s}}no{{/s}}", c, "");
	expect_render("{{^l}}no{{/l}}", c, "");
	expect_render("{{#l}}yes{{/l}}{{^l}}no{{/l}}", c, "yes");
	tval_free(c);
}

Test(tmpl, nested_context_lookup)
{
	struct tval	*c = map_of("title", "T", "name", "root", NULL);
	struct tval	*l = tval_list(), *inner = tval_list(), *it;

	tval_push(inner, map_of("leaf", "x", NULL));
	it = map_of("name", "one", NULL);
	tval_set(it, "inner", inner);
	tval_push(l, it);
	tval_push(l, map_of("other", "y", NULL));
	tval_set(c, "items", l);
	cr_assert(tval_ok(c));
	/* Innermost first; outer contexts still visible. */
	expect_render("{{#items}}{{name}}/{{title}};{{/items}}", c,
	    "one/T;root/T;");
	expect_render("{{#items}}{{#inner}}{{leaf}}{{name}}{{title}}"
	    "{{/inner}}{{/items}}", c, "xoneT");
	tval_free(c);
}

Test(tmpl, dotted_names)
{
	struct tval	*c = tval_map(), *a = tval_map(), *b = tval_map();

	tval_set_str(b, "c", "deep<");
	tval_set(a, "b", b);
	tval_set_str(a, "s", "as");
	tval_set(c, "a", a);
	tval_set_str(c, "s", "root");
	cr_assert(tval_ok(c));
	expect_render("{{a.b.c}} {{{a.b.c}}} {{a.s}}", c,
	    "deep&lt; deep< as");
	expect_render("[{{a.x}}][{{a.b.c.d}}][{{x.y}}]", c, "[][][]");
	expect_render("{{#a.b}}{{c}}{{/a.b}}", c, "deep&lt;");
	expect_render("{{^a.x}}none{{/a.x}}", c, "none");
	/* a.s resolves from the innermost context that has "a" only. */
	expect_render("{{#a.b}}{{a.s}}{{/a.b}}", c, "as");
	tval_free(c);
}

Test(tmpl, dotted_name_does_not_fall_back)
{
	struct tval	*c = tval_map(), *a = tval_map(), *m = tval_map();

	tval_set_str(a, "b", "outer");
	tval_set(c, "a", a);
	tval_set(m, "a", tval_map());	/* inner "a" without "b" */
	tval_set(c, "m", m);
	expect_render("{{#m}}[{{a.b}}]{{/m}}", c, "[]");
	tval_free(c);
}

Test(tmpl, dot_is_current_item)
{
	struct tval	*c = map_of("s", "x", NULL);

	expect_render("[{{.}}]", c, "[]");	/* a map renders as "" */
	expect_render("{{#s}}{{.}}{{/s}}", c, "x");
	tval_free(c);
}

/* ---- partials and comments ---- */

Test(tmpl, partials_use_current_context)
{
	const char	*pn[] = { "item", "footer" };
	const char	*ps[] = { "<li>{{name}}</li>", "<p>{{title}}</p>" };
	struct tval	*c = map_of("title", "T&", NULL), *l = tval_list();
	char		*got;

	tval_push(l, map_of("name", "a", NULL));
	tval_push(l, map_of("name", "b", NULL));
	tval_set(c, "items", l);
	got = render_with("{{#items}}{{> item}}{{/items}}{{>footer}}", pn, ps,
	    2, c);
	cr_expect_str_eq(got, "<li>a</li><li>b</li><p>T&amp;</p>");
	free(got);
	tval_free(c);
}

Test(tmpl, partial_defined_after_use)
{
	const char	*names[] = { "a", "b" };
	const char	*srcs[] = { "A{{> b}}", "B" };
	struct tmpl_set	*set;
	struct buf	 out;
	char		 err[256];

	set = tmpl_load_strings(names, srcs, 2, err, sizeof(err));
	cr_assert_not_null(set, "%s", err);
	cr_expect(tmpl_has(set, "a"));
	cr_expect(tmpl_has(set, "b"));
	cr_expect(!tmpl_has(set, "c"));
	buf_init(&out);
	cr_expect_eq(tmpl_render(set, "a", NULL, &out), 0);
	cr_expect_str_eq(buf_cstr(&out), "AB");
	buf_free(&out);
	tmpl_free(set);
}

Test(tmpl, recursive_partial_over_a_tree)
{
	const char	*pn[] = { "node" };
	const char	*ps[] = { "({{name}}{{#kids}}{{> node}}{{/kids}})" };
	struct tval	*c = map_of("name", "r", NULL), *k = tval_list();
	struct tval	*k2 = tval_list(), *a = map_of("name", "a", NULL);
	char		*got;

	struct tval	*a1 = map_of("name", "a1", NULL);
	struct tval	*b = map_of("name", "b", NULL);

	/*
	 * Leaves need their own empty "kids": lookup would otherwise find
	 * the parent's list and recurse until the depth limit.
	 */
	tval_set(a1, "kids", tval_list());
	tval_set(b, "kids", tval_list());
	tval_push(k2, a1);
	tval_set(a, "kids", k2);
	tval_push(k, a);
	tval_push(k, b);
	tval_set(c, "kids", k);
	cr_assert(tval_ok(c));
	got = render_with("{{> node}}", pn, ps, 1, c);
	cr_expect_str_eq(got, "(r(a(a1))(b))");
	free(got);
	tval_free(c);
}

Test(tmpl, comments)
{
	struct tval	*c = map_of("v", "x", NULL);

	expect_render("a{{! a comment }}b", c, "ab");
	expect_render("a{{!}}b{{!{{v}}}}c", c, "ab}}c");
	expect_render("{{! multi\nline\n}}{{v}}", c, "x");
	tval_free(c);
}

/* ---- errors ---- */

Test(tmpl, error_unterminated_tag)
{
	expect_error("a\nb\n{{x", "t.html:3: unterminated tag");
	expect_error("{{x}", "t.html:1: unterminated tag");
	expect_error("line1\n{{{x}}", "t.html:2: unterminated tag");
	expect_error("{{", "t.html:1: unterminated tag");
	expect_error("{{! comment without end\n", "t.html:1: unterminated tag");
}

Test(tmpl, error_line_counts_multiline_tags)
{
	expect_error("{{! a\nb }}\n{{x", "t.html:3: unterminated tag");
}

Test(tmpl, error_unclosed_section)
{
	expect_error("x\n{{#a}}\nb\n", "t.html:2: unclosed section {{#a}}");
	expect_error("{{#a}}{{^b}}{{/b}}", "t.html:1: unclosed section {{#a}}");
	expect_error("\n\n{{^n}}", "t.html:3: unclosed section {{^n}}");
}

Test(tmpl, error_mismatched_close)
{
	expect_error("{{#a}}\n{{/b}}",
	    "t.html:2: mismatched close: {{/b}} closes {{#a}} from line 1");
	expect_error("{{#a}}{{^b}}\n\n{{/a}}{{/b}}",
	    "t.html:3: mismatched close: {{/a}} closes {{^b}} from line 1");
}

Test(tmpl, error_close_without_open)
{
	expect_error("x\n{{/a}}", "t.html:2: {{/a}} closes no section");
}

/* depth sections "{{#s}}" opened on line 1 and closed again. */
static char *
nested_sections(int depth)
{
	struct buf	 b;
	char		*s;
	int		 i;

	buf_init(&b);
	for (i = 0; i < depth; i++)
		buf_append(&b, "{{#s}}", 6);
	buf_append(&b, "{{v}}", 5);
	for (i = 0; i < depth; i++)
		buf_append(&b, "{{/s}}", 6);
	cr_assert(buf_ok(&b));
	s = strdup(buf_cstr(&b));
	cr_assert_not_null(s);
	buf_free(&b);
	return s;
}

Test(tmpl, error_sections_nested_too_deep)
{
	struct tval	*c = tval_map();
	char		*src, *got;

	tval_set_bool(c, "s", 1);
	tval_set_str(c, "v", "x");
	src = nested_sections(64);
	got = render(src, c);
	cr_expect_str_eq(got, "x");
	free(got);
	free(src);
	src = nested_sections(65);
	expect_error(src, "t.html:1: sections nested deeper than 64");
	free(src);
	tval_free(c);
}

Test(tmpl, error_empty_tag_name)
{
	expect_error("{{}}", "t.html:1: empty tag name");
	expect_error("a\n{{ }}", "t.html:2: empty tag name");
	expect_error("{{{}}}", "t.html:1: empty tag name");
	expect_error("{{#}}{{/}}", "t.html:1: empty tag name");
	expect_error("{{> }}", "t.html:1: empty tag name");
	expect_error("{{#a}}{{/ }}", "t.html:1: empty tag name");
}

Test(tmpl, error_bad_dotted_name)
{
	expect_error("{{a..b}}", "t.html:1: bad name 'a..b'");
	expect_error("{{.a}}", "t.html:1: bad name '.a'");
	expect_error("{{a.}}", "t.html:1: bad name 'a.'");
}

Test(tmpl, error_unknown_partial)
{
	expect_error("a\n{{> nope}}", "t.html:2: unknown partial 'nope'");
	expect_error("{{#s}}\n\n{{>x}}{{/s}}", "t.html:3: unknown partial 'x'");
}

/* Issue 15 item 16: refused at load, not a 500 on every page later. */
Test(tmpl, error_partial_includes_itself)
{
	const char	*names[] = { "page", "footer", "a", "b", "c" };
	const char	*self[] = { "x{{> footer}}", "f\n{{> footer}}" };
	const char	*loop[] = { "{{> a}}", "ok", "{{#s}}{{/s}}{{> b}}",
	    "{{> c}}", "\n\n{{> a}}" };
	const char	*dag[] = { "{{> a}}{{> b}}", "{{> c}}", "{{> c}}{{> c}}",
	    "{{> c}}", "leaf" };
	const char	*cond[] = { "{{> a}}", "ok", "{{> b}}", "{{> c}}",
	    "{{^x}}{{> a}}{{/x}}" };
	struct tmpl_set	*set;
	char		 err[256];

	cr_expect_null(tmpl_load_strings(names, self, 2, err, sizeof(err)));
	cr_expect_str_eq(err, "footer.html:2: partial 'footer' includes "
	    "itself: footer > footer");
	cr_expect_null(tmpl_load_strings(names, loop, 5, err, sizeof(err)));
	cr_expect_str_eq(err, "c.html:3: partial 'a' includes itself: "
	    "a > b > c > a");
	/* Shared partials are not cycles. */
	set = tmpl_load_strings(names, dag, 5, err, sizeof(err));
	cr_expect_not_null(set, "%s", err);
	tmpl_free(set);
	/* Inside a section the data decides (a tree over its "kids"). */
	set = tmpl_load_strings(names, cond, 5, err, sizeof(err));
	cr_expect_not_null(set, "%s", err);
	tmpl_free(set);
}

Test(tmpl, error_names_the_template)
{
	const char	*names[] = { "good", "bad" };
	const char	*srcs[] = { "fine", "\n{{#a}}" };
	char		 err[256];

	cr_expect_null(tmpl_load_strings(names, srcs, 2, err, sizeof(err)));
	cr_expect_str_eq(err, "bad.html:2: unclosed section {{#a}}");
}

Test(tmpl, error_duplicate_name)
{
	const char	*names[] = { "a", "a" };
	const char	*srcs[] = { "1", "2" };
	char		 err[256];

	cr_expect_null(tmpl_load_strings(names, srcs, 2, err, sizeof(err)));
	cr_expect_str_eq(err, "a.html:1: duplicate template 'a'");
}

Test(tmpl, error_too_deeply_nested)
{
	struct buf	 b;
	char		 err[256];
	const char	*names[] = { "t" };
	const char	*srcs[1];
	int		 i;

	buf_init(&b);
	for (i = 0; i < 100; i++)
		buf_puts(&b, "{{#a}}");
	srcs[0] = buf_cstr(&b);
	cr_expect_null(tmpl_load_strings(names, srcs, 1, err, sizeof(err)));
	cr_expect_str_eq(err, "t.html:1: sections nested deeper than 64");
	buf_free(&b);
}

Test(tmpl, error_null_err_buffer)
{
	const char	*names[] = { "t" };
	const char	*srcs[] = { "{{" };

	cr_expect_null(tmpl_load_strings(names, srcs, 1, NULL, 0));
}

/* ---- rendering failures ---- */

Test(tmpl, render_unknown_template)
{
	const char	*names[] = { "a" };
	const char	*srcs[] = { "x" };
	struct tmpl_set	*set;
	struct buf	 out;

	cr_assert_not_null(set = tmpl_load_strings(names, srcs, 1, NULL, 0));
	buf_init(&out);
	buf_puts(&out, "keep");
	cr_expect_eq(tmpl_render(set, "b", NULL, &out), -1);
	cr_expect_eq(tmpl_render(set, NULL, NULL, &out), -1);
	cr_expect_eq(tmpl_render(NULL, "a", NULL, &out), -1);
	cr_expect_str_eq(buf_cstr(&out), "keep");
	buf_free(&out);
	tmpl_free(set);
}

Test(tmpl, recursion_limit)
{
	const char	*names[] = { "loop" };
	/* "a" is found again in the parent at every level: no end. */
	const char	*srcs[] = { "x{{#a}}{{> loop}}{{/a}}" };
	struct tmpl_set	*set;
	struct tval	*c = map_of("a", "1", NULL);
	struct buf	 out;

	cr_assert_not_null(set = tmpl_load_strings(names, srcs, 1, NULL, 0));
	buf_init(&out);
	buf_puts(&out, "keep");
	cr_expect_eq(tmpl_render(set, "loop", c, &out), -1);
	cr_expect_str_eq(buf_cstr(&out), "keep", "output rolled back");
	buf_free(&out);
	tmpl_free(set);
	tval_free(c);
}

Test(tmpl, runaway_render_is_stopped)
{
	const char	*names[] = { "t" };
	const char	*srcs[1];
	struct tmpl_set	*set;
	struct tval	*c = tval_map(), *l = tval_list();
	struct buf	 src, out;
	int		 i;

	/* 40 nested sections over a 2-item list: 2^40 visits unbounded. */
	tval_push(l, tval_str("a"));
	tval_push(l, tval_str("b"));
	tval_set(c, "l", l);
	buf_init(&src);
	for (i = 0; i < 40; i++)
		buf_puts(&src, "{{#l}}");
	buf_puts(&src, "{{.}}");
	for (i = 0; i < 40; i++)
		buf_puts(&src, "{{/l}}");
	srcs[0] = buf_cstr(&src);
	cr_assert_not_null(set = tmpl_load_strings(names, srcs, 1, NULL, 0));
	buf_init(&out);
	cr_expect_eq(tmpl_render(set, "t", c, &out), -1);
	cr_expect_eq(out.len, 0);
	buf_free(&out);
	buf_free(&src);
	tmpl_free(set);
	tval_free(c);
}

/* A chain p0 -> p1 -> ... -> p(depth) of partials; render p0. */
static int
render_chain(int depth, char *got, size_t gotlen)
{
	char		*names[40], *srcs[40];
	struct tmpl_set	*set;
	struct buf	 out;
	char		 err[256];
	int		 i, rc;

	cr_assert_lt(depth, 39);
	for (i = 0; i <= depth; i++) {
		cr_assert_gt(asprintf(&names[i], "p%d", i), 0);
		if (i < depth)
			cr_assert_gt(asprintf(&srcs[i], "{{> p%d}}", i + 1), 0);
		else
			cr_assert_not_null(srcs[i] = strdup("end"));
	}
	set = tmpl_load_strings((const char *const *)names,
	    (const char *const *)srcs, (size_t)depth + 1, err, sizeof(err));
	cr_assert_not_null(set, "%s", err);
	buf_init(&out);
	rc = tmpl_render(set, "p0", NULL, &out);
	snprintf(got, gotlen, "%s", buf_cstr(&out));
	buf_free(&out);
	tmpl_free(set);
	for (i = 0; i <= depth; i++) {
		free(names[i]);
		free(srcs[i]);
	}
	return rc;
}

Test(tmpl, recursion_limit_is_32)
{
	char	 got[16];

	cr_expect_eq(render_chain(32, got, sizeof(got)), 0);
	cr_expect_str_eq(got, "end");
	cr_expect_eq(render_chain(33, got, sizeof(got)), -1);
	cr_expect_str_eq(got, "");
}

/* ---- tval ---- */

Test(tval, null_children_mark_failure)
{
	struct tval	*m = tval_map(), *l = tval_list();

	cr_expect(tval_ok(m));
	tval_set(m, "x", NULL);
	cr_expect(!tval_ok(m));
	cr_expect(tval_ok(l));
	tval_push(l, NULL);
	cr_expect(!tval_ok(l));
	tval_free(m);
	tval_free(l);
	cr_expect(!tval_ok(NULL));
}

Test(tval, failure_seen_through_parents)
{
	struct tval	*m = tval_map(), *l = tval_list();

	tval_set(m, "l", l);
	cr_expect(tval_ok(m));
	tval_push(l, NULL);
	cr_expect(!tval_ok(m));
	tval_free(m);
}

Test(tval, wrong_container_type)
{
	struct tval	*m = tval_map(), *l = tval_list();

	cr_expect_eq(tval_push(m, tval_str("x")), m);
	cr_expect(!tval_ok(m));
	cr_expect_eq(tval_set(l, "k", tval_str("x")), l);
	cr_expect(!tval_ok(l));
	cr_expect_null(tval_set(NULL, "k", tval_str("x")));
	cr_expect_null(tval_push(NULL, tval_str("x")));
	tval_free(m);
	tval_free(l);
	tval_free(NULL);
}

Test(tval, map_of_many_keys)
{
	struct tval	*m = tval_map();
	char		 k[16], want[16];
	int		 i;

	for (i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "k%d", i);
		tval_set(m, k, tval_printf("%d", i));
	}
	cr_assert(tval_ok(m));
	for (i = 0; i < 100; i += 33) {
		char	 src[32], *got;

		snprintf(src, sizeof(src), "{{k%d}}", i);
		snprintf(want, sizeof(want), "%d", i);
		got = render(src, m);
		cr_expect_str_eq(got, want);
		free(got);
	}
	tval_free(m);
}

Test(tval, string_with_nul_rendered_whole)
{
	struct tval	*m = tval_map();
	struct buf	 out;
	const char	*names[] = { "t" };
	const char	*srcs[] = { "[{{v}}]" };
	struct tmpl_set	*set;

	tval_set(m, "v", tval_strn("a\0<", 3));
	cr_assert_not_null(set = tmpl_load_strings(names, srcs, 1, NULL, 0));
	buf_init(&out);
	cr_assert_eq(tmpl_render(set, "t", m, &out), 0);
	cr_expect_eq(out.len, 8);
	cr_expect_eq(memcmp(out.data, "[a\0&lt;]", 8), 0);
	buf_free(&out);
	tmpl_free(set);
	tval_free(m);
}

/* ---- tval builders (values inside the tree's arena) ---- */

Test(tval, builders_render_like_constructors)
{
	struct tval	*m = tval_map(), *l, *row, *sub;

	tval_set_str(m, "s", "<a>");
	tval_set_strn(m, "n", "abcdef", 3);
	tval_set_printf(m, "p", "%d-%s", 7, "x");
	tval_set_bool(m, "t", 1);
	tval_set_bool(m, "f", 0);
	tval_set_str(m, "z", NULL);
	cr_assert_not_null(l = tval_set_list(m, "l"));
	cr_assert_not_null(row = tval_push_map(l));
	tval_set_str(row, "k", "1");
	cr_assert_not_null(row = tval_push_map(l));
	tval_set_str(row, "k", "2");
	cr_assert_not_null(sub = tval_set_map(m, "m"));
	tval_set_str(sub, "x", "'\"&");
	cr_assert(tval_ok(m));
	expect_render("{{s}}|{{{s}}}|{{n}}|{{p}}|{{t}}{{f}}[{{z}}]|"
	    "{{#l}}{{k}},{{/l}}|{{m.x}}|{{#f}}no{{/f}}{{^f}}yes{{/f}}", m,
	    "&lt;a&gt;|<a>|abc|7-x|truefalse[]|1,2,|&#39;&quot;&amp;|yes");
	tval_free(m);
}

Test(tval, builders_replace_existing_keys)
{
	struct tval	*m = tval_map(), *l;

	tval_set(m, "v", tval_str("heap"));
	tval_set_str(m, "v", "arena");
	expect_render("{{v}}", m, "arena");
	tval_set(m, "v", tval_str("heap again"));
	expect_render("{{v}}", m, "heap again");
	l = tval_set_list(m, "v");
	tval_push(l, tval_str("a"));	/* a heap value inside an arena one */
	tval_set_str(tval_push_map(l), "k", "b");
	expect_render("{{#v}}{{.}}{{k}}{{/v}}", m, "ab");
	tval_set_printf(m, "v", "%s", "last");
	expect_render("{{v}}", m, "last");
	cr_expect(tval_ok(m));
	tval_free(m);	/* ASan/valgrind: nothing leaks, nothing twice */
}

Test(tval, builders_mark_failure)
{
	struct tval	*m = tval_map(), *l = tval_list();

	cr_expect_null(tval_set_map(l, "k"));
	cr_expect(!tval_ok(l));
	cr_expect_null(tval_push_map(m));
	cr_expect(!tval_ok(m));
	tval_free(m);
	m = tval_map();
	tval_set_str(m, NULL, "x");
	cr_expect(!tval_ok(m));
	tval_free(m);
	m = tval_map();
	cr_expect_eq(tval_set_printf(l, "k", "%d", 1), l);
	cr_expect_eq(tval_set_bool(l, "k", 1), l);
	cr_expect_eq(tval_set_strn(l, "k", "x", 1), l);
	cr_expect_null(tval_set_list(NULL, "k"));
	cr_expect_null(tval_push_map(NULL));
	cr_expect_null(tval_set_str(NULL, "k", "x"));
	cr_expect_null(tval_set_printf(NULL, "k", "x"));
	cr_expect(tval_ok(m));
	tval_free(m);
	tval_free(l);
}

Test(tval, builders_large_and_many_values)
{
	struct tval	*m = tval_map(), *l, *row;
	char		*big, *got, want[16];
	size_t		 n = 100000;
	int		 i;

	cr_assert_not_null(big = malloc(n + 1));
	memset(big, 'x', n);
	big[n] = '\0';
	tval_set_str(m, "big", big);
	tval_set_printf(m, "pbig", "%s", big);
	l = tval_set_list(m, "l");
	for (i = 0; i < 5000; i++) {
		row = tval_push_map(l);
		tval_set_printf(row, "i", "%d", i);
		tval_set_str(row, "s", "padding to fill the chunks");
	}
	cr_assert(tval_ok(m));
	got = render("{{big}}", m);
	cr_expect_str_eq(got, big);
	free(got);
	got = render("{{pbig}}", m);
	cr_expect_str_eq(got, big);
	free(got);
	got = render("{{#l}}{{i}};{{/l}}", m);
	cr_expect_eq(strncmp(got, "0;1;2;", 6), 0);
	snprintf(want, sizeof(want), "%d;", 4999);
	cr_expect_str_eq(got + strlen(got) - strlen(want), want);
	free(got);
	free(big);
	tval_free(m);
}

/* ---- loading from a directory ---- */

static void
write_file(const char *dir, const char *name, const char *text)
{
	char	 path[PATH_MAX];
	FILE	*fp;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	cr_assert_not_null(fp = fopen(path, "w"), "%s", path);
	fputs(text, fp);
	fclose(fp);
}

static void
remove_dir(const char *dir, const char *const *names)
{
	char	 path[PATH_MAX];

	for (; *names != NULL; names++) {
		snprintf(path, sizeof(path), "%s/%s", dir, *names);
		unlink(path);
	}
	rmdir(dir);
}

Test(tmpl, load_dir)
{
	char		 dir[] = "/tmp/sluice-tmpl.XXXXXX";
	const char	*files[] = { "index.html", "item.html", "notes.txt",
	    NULL };
	struct tmpl_set	*set;
	struct tval	*c = map_of("name", "n", NULL);
	struct buf	 out;
	char		 err[512];

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "index.html", "<p>{{> item}}</p>\n");
	write_file(dir, "item.html", "{{name}}");
	write_file(dir, "notes.txt", "{{ignored");
	set = tmpl_load_dir_req(dir, NULL, err, sizeof(err));
	cr_assert_not_null(set, "%s", err);
	cr_expect(tmpl_has(set, "index"));
	cr_expect(tmpl_has(set, "item"));
	cr_expect(!tmpl_has(set, "notes"));
	buf_init(&out);
	cr_expect_eq(tmpl_render(set, "index", c, &out), 0);
	cr_expect_str_eq(buf_cstr(&out), "<p>n</p>\n");
	buf_free(&out);
	tmpl_free(set);
	tval_free(c);
	remove_dir(dir, files);
}

Test(tmpl, load_dir_error_names_full_path)
{
	char		 dir[] = "/tmp/sluice-tmpl.XXXXXX";
	const char	*files[] = { "bad.html", NULL };
	char		 err[512], want[512];

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "bad.html", "ok\n{{#a}}\n{{/b}}\n");
	cr_expect_null(tmpl_load_dir_req(dir, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/bad.html:3: mismatched close: "
	    "{{/b}} closes {{#a}} from line 2", dir);
	cr_expect_str_eq(err, want);
	remove_dir(dir, files);
}

Test(tmpl, load_dir_unknown_partial)
{
	char		 dir[] = "/tmp/sluice-tmpl.XXXXXX";
	const char	*files[] = { "a.html", NULL };
	char		 err[512], want[512];

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "a.html", "{{> b}}");
	cr_expect_null(tmpl_load_dir_req(dir, NULL, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/a.html:1: unknown partial 'b'", dir);
	cr_expect_str_eq(err, want);
	remove_dir(dir, files);
}

Test(tmpl, load_dir_missing)
{
	char	 err[512];

	cr_expect_null(tmpl_load_dir("/nonexistent/sluice", err,
	    sizeof(err)));
	cr_expect_str_eq(err, "/nonexistent/sluice:0: No such file or "
	    "directory");
}

/* An empty directory has no syntax error, but no page either. */
Test(tmpl, load_dir_empty_names_the_missing_page)
{
	char		 dir[] = "/tmp/sluice-tmpl.XXXXXX";
	const char	*files[] = { NULL };
	char		 err[512], want[512];

	cr_assert_not_null(mkdtemp(dir));
	cr_expect_null(tmpl_load_dir(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/index.html:0: missing template "
	    "'index' (the responder renders it)", dir);
	cr_expect_str_eq(err, want);
	remove_dir(dir, files);
}

/* Every page is required, not only the first: here "job" is missing. */
Test(tmpl, load_dir_requires_every_page)
{
	char		 dir[] = "/tmp/sluice-tmpl.XXXXXX";
	const char	*files[] = { "index.html", "error.html", "job.html",
	    NULL };
	struct tmpl_set	*set;
	char		 err[512], want[512];

	cr_assert_not_null(mkdtemp(dir));
	write_file(dir, "index.html", "i");
	write_file(dir, "error.html", "e");
	cr_expect_null(tmpl_load_dir(dir, err, sizeof(err)));
	snprintf(want, sizeof(want), "%s/job.html:0: missing template 'job' "
	    "(the responder renders it)", dir);
	cr_expect_str_eq(err, want);
	write_file(dir, "job.html", "j");
	set = tmpl_load_dir(dir, err, sizeof(err));
	cr_expect_not_null(set, "%s", err);
	tmpl_free(set);
	remove_dir(dir, files);
}

/* The templates shipped in templates/ compile and have every page. */
Test(tmpl, shipped_templates_compile)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[PATH_MAX], err[512];
	struct tmpl_set	*set;

	snprintf(dir, sizeof(dir), "%s/templates", top != NULL ? top : ".");
	set = tmpl_load_dir(dir, err, sizeof(err));
	cr_expect_not_null(set, "%s", err);
	tmpl_free(set);
}

/* ---- threads ---- */

struct render_arg {
	const struct tmpl_set	*set;
	const struct tval	*ctx;
	int			 ok;
};

static void *
render_thread(void *p)
{
	struct render_arg	*a = p;
	struct buf		 out;
	int			 i;

	a->ok = 1;
	for (i = 0; i < 200; i++) {
		buf_init(&out);
		if (tmpl_render(a->set, "t", a->ctx, &out) != 0 ||
		    strcmp(buf_cstr(&out), "<i>a&amp;</i><i>b</i>") != 0)
			a->ok = 0;
		buf_free(&out);
	}
	return NULL;
}

Test(tmpl, render_from_many_threads)
{
	const char		*names[] = { "t", "i" };
	const char		*srcs[] = { "{{#l}}{{> i}}{{/l}}",
	    "<i>{{.}}</i>" };
	struct tmpl_set		*set;
	struct tval		*c = tval_map(), *l = tval_list();
	struct render_arg	 a[4];
	pthread_t		 t[4];
	int			 i;

	tval_push(l, tval_str("a&"));
	tval_push(l, tval_str("b"));
	tval_set(c, "l", l);
	cr_assert_not_null(set = tmpl_load_strings(names, srcs, 2, NULL, 0));
	for (i = 0; i < 4; i++) {
		a[i].set = set;
		a[i].ctx = c;
		cr_assert_eq(pthread_create(&t[i], NULL, render_thread,
		    &a[i]), 0);
	}
	for (i = 0; i < 4; i++) {
		pthread_join(t[i], NULL);
		cr_expect(a[i].ok, "thread %d", i);
	}
	tmpl_free(set);
	tval_free(c);
}
