/*
 * form: application/x-www-form-urlencoded parsing. See form.h.
 *
 * Follows the WHATWG URL Standard, section 5.1 "application/
 * x-www-form-urlencoded parsing":
 *   1. split the input on '&';
 *   2. skip empty sequences;
 *   3. split each sequence at its first '=' (no '=': the value is empty);
 *   4. replace '+' by a space in name and value;
 *   5. percent-decode name and value;
 *   6. UTF-8 decode the bytes.
 * Where the standard is lenient we are strict, and the whole body is
 * refused: a '%' not followed by two hex digits (the standard passes it
 * through), a NUL byte (raw or %00), and bytes that are not well-formed
 * UTF-8 (the standard substitutes U+FFFD). Fields are numbered from 1 in
 * body order, counting only non-empty sequences, in error messages.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"

enum form_err {
	FORM_OK,
	FORM_EESCAPE,	/* '%' not followed by two hex digits */
	FORM_ENUL,	/* NUL byte, raw or %00 */
	FORM_EUTF8,	/* decoded bytes are not well-formed UTF-8 */
	FORM_ENOMEM
};

static const char *
form_strerr(enum form_err e)
{
	switch (e) {
	case FORM_EESCAPE:
		return "malformed percent escape";
	case FORM_ENUL:
		return "NUL byte";
	case FORM_EUTF8:
		return "invalid UTF-8";
	case FORM_ENOMEM:
		return "out of memory";
	default:
		return "no error";
	}
}

/* The value of hex digit c, or -1. */
static int
form_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/*
 * 1 when s[0..len) is well-formed UTF-8 (Unicode 15, table 3-7): no
 * overlong forms, no surrogates (U+D800..U+DFFF), nothing above U+10FFFF,
 * no truncated sequence. See form.h.
 */
int
form_utf8_valid(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i = 0, need, k;
	unsigned char		 c, lo, hi;

	while (i < len) {
		c = p[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		lo = 0x80;
		hi = 0xbf;
		if (c >= 0xc2 && c <= 0xdf)
			need = 1;
		else if (c >= 0xe0 && c <= 0xef) {
			need = 2;
			if (c == 0xe0)
				lo = 0xa0;	/* overlong */
			else if (c == 0xed)
				hi = 0x9f;	/* surrogates */
		} else if (c >= 0xf0 && c <= 0xf4) {
			need = 3;
			if (c == 0xf0)
				lo = 0x90;	/* overlong */
			else if (c == 0xf4)
				hi = 0x8f;	/* above U+10FFFF */
		} else
			return 0;	/* 0x80..0xc1, 0xf5..0xff */
		if (need > len - i - 1)
			return 0;	/* truncated */
		if (p[i + 1] < lo || p[i + 1] > hi)
			return 0;
		for (k = 2; k <= need; k++)
			if (p[i + k] < 0x80 || p[i + k] > 0xbf)
				return 0;
		i += need + 1;
	}
	return 1;
}

/*
 * Decodes s[0..len) into a new NUL-terminated string in *out (length in
 * *outlen). On error *out is NULL and the kind is returned.
 */
static enum form_err
form_decode_err(const char *s, size_t len, int plus, char **out,
    size_t *outlen)
{
	char		*d = NULL;
	size_t		 i, n = 0;
	int		 hi, lo;
	unsigned char	 c;
	enum form_err	 e = FORM_OK;

	*out = NULL;
	*outlen = 0;
	if (s == NULL && len > 0)
		return FORM_ENUL;
	if (len == SIZE_MAX)
		return FORM_ENOMEM;
	/* Decoding never lengthens: len + 1 bytes always suffice. */
	if ((d = malloc(len + 1)) == NULL)
		return FORM_ENOMEM;
	for (i = 0; i < len; i++) {
		c = (unsigned char)s[i];
		if (c == '%') {
			if (len - i < 3 ||
			    (hi = form_hex((unsigned char)s[i + 1])) < 0 ||
			    (lo = form_hex((unsigned char)s[i + 2])) < 0) {
				e = FORM_EESCAPE;
				goto out;
			}
			c = (unsigned char)(hi * 16 + lo);
			i += 2;
		} else if (c == '+' && plus)
			c = ' ';
		if (c == '\0') {
			e = FORM_ENUL;
			goto out;
		}
		d[n++] = (char)c;
	}
	d[n] = '\0';
	if (!form_utf8_valid(d, n)) {
		e = FORM_EUTF8;
		goto out;
	}
	*out = d;
	*outlen = n;
	d = NULL;
out:
	free(d);
	return e;
}

/*
 * Decodes one component; see form.h. Returns a malloc'd string the caller
 * frees, or NULL (malformed escape, NUL, invalid UTF-8, ENOMEM).
 * Thread-safe.
 */
char *
form_decode(const char *s, size_t len, int plus, size_t *outlen)
{
	char	*out;
	size_t	 n;

	if (form_decode_err(s, len, plus, &out, &n) != FORM_OK)
		return NULL;
	if (outlen != NULL)
		*outlen = n;
	return out;
}

static void
form_seterr(char *err, size_t errlen, const char *what, size_t field)
{
	if (err == NULL || errlen == 0)
		return;
	if (field > 0)
		snprintf(err, errlen, "%s in field %zu", what, field);
	else
		snprintf(err, errlen, "%s", what);
}

/*
 * Parses an urlencoded body; see form.h. On -1 f is left empty (nothing
 * to free, though form_free() is harmless) and err names the problem and
 * the 1-based position of the field. Thread-safe (no shared state).
 */
int
form_parse(const char *body, size_t len, struct form *f, char *err,
    size_t errlen)
{
	const char	*seq, *end, *amp, *eq;
	size_t		 n = 0, i, klen, vlen, seqlen;
	enum form_err	 e;
	int		 rc = -1;
	char		 msg[64];

	f->fields = NULL;
	f->nfields = 0;
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	if (body == NULL && len > 0) {
		form_seterr(err, errlen, "no body", 0);
		return -1;
	}
	if (len == 0)
		return 0;
	end = body + len;

	/* Count the non-empty sequences first: one allocation, one bound. */
	for (seq = body; seq < end; seq = amp + 1) {
		if ((amp = memchr(seq, '&', (size_t)(end - seq))) == NULL)
			amp = end;
		if (amp > seq && ++n > FORM_MAX_FIELDS) {
			snprintf(msg, sizeof(msg),
			    "too many fields (more than %d)", FORM_MAX_FIELDS);
			form_seterr(err, errlen, msg, 0);
			return -1;
		}
	}
	if (n == 0)
		return 0;
	if ((f->fields = calloc(n, sizeof(*f->fields))) == NULL) {
		form_seterr(err, errlen, "out of memory", 0);
		return -1;
	}

	for (seq = body; seq < end; seq = amp + 1) {
		if ((amp = memchr(seq, '&', (size_t)(end - seq))) == NULL)
			amp = end;
		seqlen = (size_t)(amp - seq);
		if (seqlen == 0)
			continue;
		i = f->nfields;
		if ((eq = memchr(seq, '=', seqlen)) != NULL) {
			klen = (size_t)(eq - seq);
			vlen = seqlen - klen - 1;
		} else {
			klen = seqlen;
			vlen = 0;
		}
		e = form_decode_err(seq, klen, 1, &f->fields[i].key, &klen);
		if (e == FORM_OK)
			e = form_decode_err(eq != NULL ? eq + 1 : "", vlen, 1,
			    &f->fields[i].val, &vlen);
		if (e != FORM_OK) {
			free(f->fields[i].key);
			f->fields[i].key = NULL;
			form_seterr(err, errlen, form_strerr(e), i + 1);
			goto out;
		}
		f->nfields++;
	}
	rc = 0;
out:
	if (rc == -1)
		form_free(f);
	return rc;
}

/* Frees what form_parse() stored in f and empties it; f itself is not freed. */
void
form_free(struct form *f)
{
	size_t	 i;

	if (f == NULL)
		return;
	for (i = 0; i < f->nfields; i++) {
		free(f->fields[i].key);
		free(f->fields[i].val);
	}
	free(f->fields);
	f->fields = NULL;
	f->nfields = 0;
}

/* A malloc'd NUL-terminated copy of s[0..len), or NULL (ENOMEM). */
static char *
form_copy(const char *s, size_t len)
{
	char	*d;

	if (len == SIZE_MAX || (d = malloc(len + 1)) == NULL)
		return NULL;
	if (len > 0)
		memcpy(d, s, len);
	d[len] = '\0';
	return d;
}

/*
 * Appends a copy of a field; see form.h. On -1 f is unchanged.
 * Thread-safe on distinct forms.
 */
int
form_add(struct form *f, const char *key, size_t klen, const char *val,
    size_t vlen)
{
	struct form_field	*fields;
	char			*k = NULL, *v = NULL;
	int			 rc = -1;

	if (f == NULL || f->nfields >= FORM_MAX_FIELDS)
		return -1;
	if ((k = form_copy(key, klen)) == NULL ||
	    (v = form_copy(val, vlen)) == NULL)
		goto out;
	/* At most FORM_MAX_FIELDS entries: the size cannot overflow. */
	fields = realloc(f->fields, (f->nfields + 1) * sizeof(*fields));
	if (fields == NULL)
		goto out;
	fields[f->nfields].key = k;
	fields[f->nfields].val = v;
	f->fields = fields;
	f->nfields++;
	k = v = NULL;
	rc = 0;
out:
	free(k);
	free(v);
	return rc;
}

/* The first value of key (owned by f), or NULL when absent. */
const char *
form_get(const struct form *f, const char *key)
{
	size_t	 i;

	if (f == NULL || key == NULL)
		return NULL;
	for (i = 0; i < f->nfields; i++)
		if (strcmp(f->fields[i].key, key) == 0)
			return f->fields[i].val;
	return NULL;
}

/* How many fields are called key (0 when f or key is NULL). */
size_t
form_count(const struct form *f, const char *key)
{
	size_t	 i, n = 0;

	if (f == NULL || key == NULL)
		return 0;
	for (i = 0; i < f->nfields; i++)
		if (strcmp(f->fields[i].key, key) == 0)
			n++;
	return n;
}

/*
 * Backs up over at most three continuation bytes (10xxxxxx): the longest
 * UTF-8 sequence has three after its lead byte, so valid text never needs
 * more, and invalid text cannot make this walk far.
 */
size_t
form_utf8_cut(const char *s, size_t max)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 n, back;

	/* No object is longer than PTRDIFF_MAX: a larger max cuts nothing. */
	if ((n = strnlen(s, max < PTRDIFF_MAX ? max + 1 : PTRDIFF_MAX)) <= max)
		return n;
	for (n = max, back = 0; n > 0 && back < 3 && (p[n] & 0xc0) == 0x80;
	    back++)
		n--;
	return n;
}
