/*
 * libFuzzer harness for multipart: the first input line (up to '\n') is a
 * Content-Type for multipart_boundary(), the rest the body, parsed by
 * multipart_parse() with the boundary it gave. Checks invariants, not only
 * crashes: a refused body leaves mp empty with a message; an accepted one
 * has 1..MULTIPART_MAX_PARTS parts, each named, its data inside the body
 * and after the previous part's, a text field's data UTF-8 without NUL;
 * and the parts written out again (name, filename*, type, data) parse to
 * the same parts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "form.h"
#include "multipart.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

/* A growing buffer for the body written out again. */
struct out {
	unsigned char	*s;
	size_t		 len, cap;
};

static void
out_add(struct out *o, const void *p, size_t n)
{
	if (o->len + n > o->cap) {
		o->cap = (o->len + n) * 2;
		check((o->s = realloc(o->s, o->cap)) != NULL);
	}
	if (n > 0)
		memcpy(o->s + o->len, p, n);
	o->len += n;
}

static void
out_str(struct out *o, const char *s)
{
	out_add(o, s, strlen(s));
}

/* s percent-encoded in full: "%41%42". */
static void
out_pct(struct out *o, const char *s)
{
	static const char	 hex[] = "0123456789ABCDEF";
	char			 esc[3];

	for (; *s != '\0'; s++) {
		esc[0] = '%';
		esc[1] = hex[(unsigned char)*s >> 4];
		esc[2] = hex[(unsigned char)*s & 15];
		out_add(o, esc, 3);
	}
}

/* One part as headers and data; 0 when its headers would be too long. */
static int
out_part(struct out *o, const char *boundary, const struct multipart_part *p)
{
	size_t	 hlen, at;

	out_str(o, "--");
	out_str(o, boundary);
	out_str(o, "\r\n");
	at = o->len;
	out_str(o, "Content-Disposition: form-data; name=\"");
	out_str(o, p->name);
	out_str(o, "\"");
	if (p->filename != NULL) {
		out_str(o, "; filename*=UTF-8''");
		out_pct(o, p->filename);
	}
	out_str(o, "\r\n");
	if (p->type != NULL) {
		out_str(o, "Content-Type: ");
		out_str(o, p->type);
		out_str(o, "\r\n");
	}
	hlen = o->len - at;
	out_str(o, "\r\n");
	out_add(o, p->data, p->len);
	out_str(o, "\r\n");
	return hlen <= MULTIPART_HEADERS_MAX;
}

static int
str_same(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* The parts written out again parse to the same parts. */
static void
roundtrip(const struct multipart *mp, const char *boundary)
{
	struct out		 o = { NULL, 0, 0 };
	struct multipart	 again;
	struct multipart_err	 e;
	const struct multipart_part *p, *q;
	size_t			 i;

	for (i = 0; i < mp->nparts; i++)
		if (!out_part(&o, boundary, &mp->parts[i]))
			goto out;
	out_str(&o, "--");
	out_str(&o, boundary);
	out_str(&o, "--\r\n");
	check(multipart_parse(o.s, o.len, boundary, &again, &e) == 0);
	check(again.nparts == mp->nparts);
	for (i = 0; i < mp->nparts; i++) {
		p = &mp->parts[i];
		q = &again.parts[i];
		check(strcmp(p->name, q->name) == 0);
		check(str_same(p->filename, q->filename));
		check(str_same(p->type, q->type));
		check(p->len == q->len);
		check(memcmp(p->data, q->data, p->len) == 0);
	}
	multipart_free(&again);
out:
	free(o.s);
}

static void
check_part(const struct multipart_part *p, const unsigned char *body,
    size_t size, const unsigned char *after)
{
	const char	*c;
	size_t		 n;

	check(p->name != NULL);
	n = strlen(p->name);
	check(n >= 1 && n <= MULTIPART_NAME_MAX);
	check(form_utf8_valid(p->name, n));
	if (p->filename != NULL) {
		n = strlen(p->filename);
		check(n <= MULTIPART_FILENAME_MAX);
		check(form_utf8_valid(p->filename, n));
	}
	if (p->type != NULL) {
		check(strchr(p->type, '/') != NULL);
		for (c = p->type; *c != '\0'; c++)
			check(*c < 'A' || *c > 'Z');
	}
	check(p->data >= after && p->data <= body + size);
	check(p->len <= (size_t)(body + size - p->data));
	if (p->filename == NULL) {
		check(memchr(p->data, '\0', p->len) == NULL);
		check(form_utf8_valid((const char *)p->data, p->len));
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t		*lf, *body;
	struct multipart	 mp;
	struct multipart_err	 e;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			*ct, err[128];
	size_t			 ctlen, len, i;
	const unsigned char	*after;

	lf = memchr(data, '\n', size);
	ctlen = lf != NULL ? (size_t)(lf - data) : size;
	body = lf != NULL ? lf + 1 : data + size;
	len = size - (size_t)(body - data);
	check((ct = malloc(ctlen + 1)) != NULL);
	memcpy(ct, data, ctlen);
	ct[ctlen] = '\0';
	err[0] = 'x';
	if (multipart_boundary(ct, boundary, sizeof(boundary), err,
	    sizeof(err)) == -1) {
		check(err[0] != '\0' && boundary[0] == '\0');
		free(ct);
		return 0;
	}
	free(ct);
	check(strlen(boundary) >= 1 &&
	    strlen(boundary) <= MULTIPART_BOUNDARY_MAX);

	memset(&e, 'x', sizeof(e));
	if (multipart_parse(body, len, boundary, &mp, &e) == 0) {
		check(e.message[0] == '\0' && e.field[0] == '\0');
		check(mp.nparts >= 1 && mp.nparts <= MULTIPART_MAX_PARTS);
		for (i = 0, after = body; i < mp.nparts; i++) {
			check_part(&mp.parts[i], body, len, after);
			after = mp.parts[i].data + mp.parts[i].len;
		}
		roundtrip(&mp, boundary);
	} else {
		check(mp.nparts == 0 && mp.parts == NULL);
		check(e.message[0] != '\0');
		check(memchr(e.message, '\0', sizeof(e.message)) != NULL);
		check(memchr(e.field, '\0', sizeof(e.field)) != NULL);
		check(form_utf8_valid(e.field, strlen(e.field)));
	}
	multipart_free(&mp);
	return 0;
}
