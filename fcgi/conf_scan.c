/*
 * conf_scan: the pre-scan of the config text, run before libconfig sees it.
 *
 * What libconfig 1.5 gets wrong is handled here: an integer literal that
 * does not fit 32 bits wraps silently (threads = 4294967297 reads as 1),
 * so such literals are given the 64-bit "L" suffix and range-checked like
 * any other; a string left open at the end of the text leaks libconfig's
 * buffer, so it is refused first; and @include is refused, since it would
 * read arbitrary files (from conf_load_string too) and blur which file a
 * line refers to. NUL bytes are refused as well.
 */
#include <ctype.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"

/*
 * The pre-scan: a copy of the text as libconfig 1.5's scanner will see it,
 * token by token (strings, comments, names, numbers, punctuation).
 */
struct conf_scan {
	const char	*text;
	size_t		 len, i;	/* input and position */
	char		*out;		/* the copy, built as we go */
	size_t		 o;
	int		 line;
	int		 prev;		/* last token: see conf_scan_string() */
	char		*stack;		/* open brackets, innermost last */
	size_t		 depth;
	int		 lost;		/* brackets mismatched: stop judging */
};

static int
conf_scan_peek(const struct conf_scan *sc, size_t ahead)
{
	return sc->i + ahead < sc->len ? (unsigned char)sc->text[sc->i + ahead]
	    : -1;
}

/* Copies one byte, counting lines. */
static void
conf_scan_copy(struct conf_scan *sc)
{
	if (sc->text[sc->i] == '\n')
		sc->line++;
	sc->out[sc->o++] = sc->text[sc->i++];
}

/*
 * A string literal. libconfig 1.5 leaks a string's buffer when the string
 * is left open at the end of the text, and when a string is the token at
 * which bison finds a syntax error. A string can only be valid after "=" or
 * ":", "[" or "(", another string (they concatenate), or "," inside [ ] or
 * ( ); anywhere else it is a syntax error, so its bytes are replaced with a
 * "!" (a token libconfig refuses without allocating) and blanks, keeping
 * the newlines: libconfig still reports the first error at its own line.
 */
static int
conf_scan_string(struct conf_ctx *ctx, struct conf_scan *sc)
{
	size_t	 start = sc->o, k;
	int	 sline = sc->line, ok, top;

	top = sc->depth > 0 ? sc->stack[sc->depth - 1] : 0;
	ok = sc->lost || sc->prev == '"' || sc->prev == '=' ||
	    sc->prev == '[' || sc->prev == '(' ||
	    (sc->prev == ',' && (top == '[' || top == '('));
	conf_scan_copy(sc);
	while (sc->i < sc->len && sc->text[sc->i] != '"' &&
	    sc->text[sc->i] != '\0') {
		if (sc->text[sc->i] == '\\' && conf_scan_peek(sc, 1) > 0)
			conf_scan_copy(sc);
		conf_scan_copy(sc);
	}
	if (sc->i >= sc->len) {
		conf_err(ctx, sline, "syntax error: unterminated string");
		return -1;
	}
	if (sc->text[sc->i] == '"')
		conf_scan_copy(sc);
	if (!ok) {
		sc->out[start] = '!';
		for (k = start + 1; k < sc->o; k++)
			if (sc->out[k] != '\n')
				sc->out[k] = ' ';
	}
	sc->prev = '"';
	return 0;
}

/* # and // comments to the end of the line, and block comments. */
static void
conf_scan_comment(struct conf_scan *sc)
{
	if (sc->text[sc->i] != '/' || conf_scan_peek(sc, 1) != '*') {
		while (sc->i < sc->len && sc->text[sc->i] != '\n' &&
		    sc->text[sc->i] != '\0')
			conf_scan_copy(sc);
		return;
	}
	conf_scan_copy(sc);
	conf_scan_copy(sc);
	while (sc->i < sc->len && sc->text[sc->i] != '\0' &&
	    !(sc->text[sc->i] == '*' && conf_scan_peek(sc, 1) == '/'))
		conf_scan_copy(sc);
	if (sc->i < sc->len && sc->text[sc->i] == '*') {
		conf_scan_copy(sc);
		conf_scan_copy(sc);
	}
}

/* Skips a float's fraction and exponent from position j; returns the end. */
static size_t
conf_scan_float_end(const struct conf_scan *sc, size_t j)
{
	const char	*t = sc->text;

	if (j < sc->len && t[j] == '.')
		for (j++; j < sc->len && isdigit((unsigned char)t[j]);)
			j++;
	if (j < sc->len && (t[j] == 'e' || t[j] == 'E')) {
		j++;
		if (j < sc->len && (t[j] == '+' || t[j] == '-'))
			j++;
		while (j < sc->len && isdigit((unsigned char)t[j]))
			j++;
	}
	return j;
}

/*
 * A number: decimal or hex integer (optionally with L), or a float. An
 * integer beyond 32 bits gets an "L" so that libconfig reads it as 64-bit
 * instead of wrapping it; one beyond 64 bits is refused.
 */
static int
conf_scan_number(struct conf_ctx *ctx, struct conf_scan *sc)
{
	const char	*t = sc->text;
	size_t		 j = sc->i, start = sc->i;
	uint64_t	 v = 0, d, base;
	int		 neg, over = 0;

	neg = t[j] == '-';
	if (t[j] == '-' || t[j] == '+')
		j++;
	base = 10;
	if (t[j] == '0' && j + 2 < sc->len && (t[j + 1] == 'x' ||
	    t[j + 1] == 'X') && isxdigit((unsigned char)t[j + 2])) {
		base = 16;
		j += 2;
	}
	if (base == 10 && t[j] == '.') {
		j = conf_scan_float_end(sc, j);
		goto copy;
	}
	for (; j < sc->len && (base == 16 ? isxdigit((unsigned char)t[j]) :
	    isdigit((unsigned char)t[j])); j++) {
		d = isdigit((unsigned char)t[j]) ? (uint64_t)(t[j] - '0') :
		    (uint64_t)(tolower((unsigned char)t[j]) - 'a' + 10);
		if (v > (UINT64_MAX - d) / base)
			over = 1;
		else
			v = v * base + d;
	}
	if (base == 10 && j < sc->len && (t[j] == '.' || t[j] == 'e' ||
	    t[j] == 'E')) {
		j = conf_scan_float_end(sc, j);
		goto copy;
	}
	/* Largest magnitude: INT64_MAX, one more when negative. */
	if (over || v > (uint64_t)INT64_MAX + (neg && base == 10)) {
		conf_err(ctx, sc->line, "syntax error: integer out of range");
		return -1;
	}
	memcpy(sc->out + sc->o, t + start, j - start);
	sc->o += j - start;
	sc->i = j;
	if ((j >= sc->len || t[j] != 'L') &&
	    v > (uint64_t)INT32_MAX + (neg && base == 10))
		sc->out[sc->o++] = 'L';
	sc->prev = 'n';
	return 0;
copy:
	memcpy(sc->out + sc->o, t + start, j - start);
	sc->o += j - start;
	sc->i = j;
	sc->prev = 'n';
	return 0;
}

/* Punctuation: tracks brackets and the previous token. */
static void
conf_scan_punct(struct conf_scan *sc)
{
	int	 ch = (unsigned char)sc->text[sc->i];
	int	 open;

	switch (ch) {
	case '{': case '[': case '(':
		sc->stack[sc->depth++] = (char)ch;
		sc->prev = ch;
		break;
	case '}': case ']': case ')':
		open = ch == '}' ? '{' : ch == ']' ? '[' : '(';
		if (sc->depth == 0 || sc->stack[sc->depth - 1] != open)
			sc->lost = 1;
		else
			sc->depth--;
		sc->prev = ch;
		break;
	case '=': case ':':
		sc->prev = '=';
		break;
	case ',': case ';':
		sc->prev = ch;
		break;
	default:
		if (!isspace(ch))
			sc->prev = 'x';
		break;
	}
	conf_scan_copy(sc);
}

/*
 * The start of a number at sc->i: a digit, or a sign or "." followed by a
 * digit, or a sign followed by "." and a digit.
 */
static int
conf_scan_is_number(const struct conf_scan *sc, int ch)
{
	if (isdigit(ch))
		return 1;
	if ((ch == '-' || ch == '+' || ch == '.') && conf_scan_peek(sc, 1) >= 0 &&
	    isdigit(conf_scan_peek(sc, 1)))
		return 1;
	return (ch == '-' || ch == '+') && conf_scan_peek(sc, 1) == '.' &&
	    conf_scan_peek(sc, 2) >= 0 && isdigit(conf_scan_peek(sc, 2));
}

/* A name (or a "*"-pattern libconfig reads the same way). */
static void
conf_scan_name(struct conf_scan *sc)
{
	while (sc->i < sc->len && (isalnum((unsigned char)sc->text[sc->i]) ||
	    sc->text[sc->i] == '-' || sc->text[sc->i] == '_' ||
	    sc->text[sc->i] == '*'))
		conf_scan_copy(sc);
	sc->prev = 'x';
}

/*
 * Copies len bytes of text into *outp (NUL-terminated, to be freed) as
 * conf_scan_*() amend it. Refuses NUL bytes, @include, strings left open
 * and integers beyond 64 bits with an error in ctx. Thread-safe.
 */
int
conf_prescan(struct conf_ctx *ctx, const char *text, size_t len, char **outp)
{
	struct conf_scan	 sc;
	int			 ch, rc = -1;

	*outp = NULL;
	memset(&sc, 0, sizeof(sc));
	sc.text = text;
	sc.len = len;
	sc.line = 1;
	/* Each added 'L' follows at least 10 bytes of literal. */
	sc.out = malloc(len + len / 10 + 2);
	sc.stack = malloc(len + 1);
	if (sc.out == NULL || sc.stack == NULL) {
		conf_err(ctx, 0, "out of memory");
		goto out;
	}
	while (sc.i < len) {
		ch = (unsigned char)text[sc.i];
		if (ch == '\0') {
			conf_err(ctx, sc.line, "syntax error: NUL byte in "
			    "file");
			goto out;
		} else if (ch == '"') {
			if (conf_scan_string(ctx, &sc) == -1)
				goto out;
		} else if (ch == '#' || (ch == '/' &&
		    (conf_scan_peek(&sc, 1) == '/' ||
		    conf_scan_peek(&sc, 1) == '*'))) {
			conf_scan_comment(&sc);
		} else if (ch == '@' && len - sc.i >= 8 &&
		    strncmp(text + sc.i, "@include", 8) == 0) {
			conf_err(ctx, sc.line, "syntax error: @include is "
			    "not supported");
			goto out;
		} else if (isalpha(ch) || ch == '*') {
			conf_scan_name(&sc);
		} else if (conf_scan_is_number(&sc, ch)) {
			if (conf_scan_number(ctx, &sc) == -1)
				goto out;
		} else
			conf_scan_punct(&sc);
	}
	sc.out[sc.o] = '\0';
	*outp = sc.out;
	sc.out = NULL;
	rc = 0;
out:
	free(sc.out);
	free(sc.stack);
	return rc;
}
