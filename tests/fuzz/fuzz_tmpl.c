/*
 * libFuzzer harness for tmpl: the input is compiled as template "t" in a
 * set with one fixed partial "p", and rendered with a fixed context that
 * has every kind of value. Load errors must be "t.html:LINE: ..." or name
 * the partial; a render returns 0 or -1 and leaves the buffer valid.
 * Built with FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION, which lowers the
 * render step budget so runaway templates stay fast.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static struct tval *
context(void)
{
	struct tval	*c, *l, *m, *n;

	c = tval_map();
	tval_set_str(c, "x", "<&\"'>");
	tval_set_str(c, "e", "");
	tval_set(c, "b", tval_bool(1));
	tval_set(c, "f", tval_bool(0));
	tval_set(c, "z", tval_str(NULL));
	l = tval_list();
	tval_push(l, tval_str("a"));
	m = tval_map();
	tval_set_str(m, "x", "inner");
	tval_push(l, m);
	tval_push(l, tval_list());
	tval_set(c, "l", l);
	n = tval_map();
	tval_set(n, "n", tval_map());
	tval_set_str(n, "s", "deep");
	tval_set(c, "m", n);
	tval_set(c, "el", tval_list());
	return c;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tval	*ctx;
	const char		*names[] = { "t", "p" };
	const char		*srcs[2];
	struct tmpl_set		*set;
	struct buf		 out;
	char			 err[256], *src;

	if (ctx == NULL) {
		ctx = context();
		check(tval_ok(ctx));
	}
	if ((src = malloc(size + 1)) == NULL)
		return 0;
	memcpy(src, data, size);
	src[size] = '\0';
	srcs[0] = src;
	srcs[1] = "[{{x}}{{#l}}{{.}}{{x}}{{/l}}{{^e}}{{{m.s}}}{{/e}}]";

	set = tmpl_load_strings(names, srcs, 2, err, sizeof(err));
	if (set == NULL) {
		check(strncmp(err, "t.html:", 7) == 0 ||
		    strncmp(err, "p.html:", 7) == 0);
		free(src);
		return 0;
	}
	check(tmpl_has(set, "t") && tmpl_has(set, "p"));
	buf_init(&out);
	buf_puts(&out, "pre");
	if (tmpl_render(set, "t", ctx, &out) == -1)
		check(out.len == 3 && strcmp(buf_cstr(&out), "pre") == 0);
	check(buf_ok(&out));
	buf_reset(&out);
	check(tmpl_render(set, "p", ctx, &out) == 0);
	buf_free(&out);
	tmpl_free(set);
	free(src);
	return 0;
}
