/*
 * multipart: multipart/form-data parsing. See multipart.h.
 *
 * The body, as accepted (RFC 2046 5.1.1 and RFC 7578, made strict):
 *
 *   body      = dash-bound CRLF part *( delimiter CRLF part )
 *               delimiter "--" [ CRLF ]
 *   dash-bound = "--" boundary        ; the very first bytes: no preamble
 *   delimiter = CRLF dash-bound       ; found only after a CRLF
 *   part      = *( header CRLF ) CRLF data
 *
 * RFC 2046 allows a preamble, an epilogue and transport padding (spaces
 * after a delimiter); browsers and curl send none of them, so all three
 * are refused, as is a body without its closing delimiter. The data of a
 * part runs up to the first "CRLF--boundary" after its headers (the
 * boundary must not occur in the data: the sender chose it so), found
 * with memmem(): linear time, the data never copied.
 *
 * Part headers: CRLF lines only (a bare CR or LF anywhere in the header
 * block is refused), no obs-fold, no NUL or other control character,
 * names are tokens (case-insensitive), at most MULTIPART_HEADERS_MAX
 * bytes. Content-Disposition (RFC 7578 4.2, RFC 6266 grammar) is
 * required once: form-data with one name and optional filename and
 * filename* (RFC 8187); Content-Type (media type kept) and
 * Content-Transfer-Encoding (7bit, 8bit, binary only: RFC 7578 4.7
 * deprecates it) at most once each; other headers are ignored.
 *
 * Quoted strings: a backslash is a literal character, not an escape.
 * Browsers (WHATWG HTML, "multipart/form-data encoding algorithm") never
 * backslash-escape: they percent-encode '"' as %22 and CR and LF as %0D
 * and %0A in names and filenames, and send the rest as raw UTF-8. So
 * filename="C:\x\a.txt" keeps its backslashes, and "%22" is kept as sent
 * (decoding it would turn a real "%22" in a name into a quote).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "form.h"
#include "multipart.h"

/* "\r\n--" and the boundary: the needle searched for in the body. */
#define MP_DELIM_MAX	(4 + MULTIPART_BOUNDARY_MAX)

/* One parameter of a header value (name=value), pointing into it. */
struct mp_param {
	const char	*name;
	size_t		 nlen;
	const char	*val;		/* without the quotes */
	size_t		 vlen;
	int		 quoted;
};

/* The headers a part may have, in the order they are applied. */
enum mp_hdr {
	MP_H_DISPOSITION,	/* first: later errors can name the field */
	MP_H_TYPE,
	MP_H_CTE,
	MP_H__MAX
};

/* What mp_headers() found of them: the first value and a count. */
struct mp_hdrs {
	const char	*val[MP_H__MAX];
	size_t		 vlen[MP_H__MAX];
	unsigned	 count[MP_H__MAX];
};

/* The Content-Disposition parameters that are read. */
enum mp_dparam {
	MP_P_NAME,
	MP_P_FILENAME,
	MP_P_FILENAME_EXT,	/* filename*, RFC 8187 */
	MP_P__MAX
};

static const char *const mp_dparams[MP_P__MAX] = {
	"name", "filename", "filename*"
};

static int	mp_fail(struct multipart_err *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

/* Sets e->message; returns -1, for "return mp_fail(...)". */
static int
mp_fail(struct multipart_err *e, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(e->message, sizeof(e->message), fmt, ap);
	va_end(ap);
	return -1;
}

static int
mp_alnum(unsigned char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
	    (c >= 'A' && c <= 'Z');
}

/* 1 when c is one of set (c not NUL). */
static int
mp_in(unsigned char c, const char *set)
{
	return c != '\0' && strchr(set, c) != NULL;
}

/* tchar, RFC 9110 5.6.2. */
static int
mp_tchar(unsigned char c)
{
	return mp_alnum(c) || mp_in(c, "!#$%&'*+-.^_`|~");
}

/* bchars, RFC 2046 5.1.1 (bcharsnospace and the space). */
static int
mp_bchar(unsigned char c)
{
	return mp_alnum(c) || mp_in(c, "'()+_,-./:=? ");
}

/* attr-char, RFC 8187 3.2.1. */
static int
mp_attr_char(unsigned char c)
{
	return mp_alnum(c) || mp_in(c, "!#$&+-.^_`|~");
}

/* A control character that a header value may not hold (HTAB may). */
static int
mp_ctl(unsigned char c)
{
	return (c < 0x20 && c != '\t') || c == 0x7f;
}

/* Inside a quoted string: qdtext, and the backslash as a literal. */
static int
mp_qdtext(unsigned char c)
{
	return !mp_ctl(c) && c != '"';
}

static int
mp_hex(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
		return (c | 0x20) - 'a' + 10;
	return -1;
}

/* How many of the first bytes of s[0..len) are tchars. */
static size_t
mp_token(const char *s, size_t len)
{
	size_t	 n = 0;

	while (n < len && mp_tchar((unsigned char)s[n]))
		n++;
	return n;
}

/* 1 when s[0..len) is word, ignoring case. */
static int
mp_ieq(const char *s, size_t len, const char *word)
{
	return strlen(word) == len && strncasecmp(s, word, len) == 0;
}

static const char *
mp_skip_ows(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/*
 * The length of the media type "type/subtype" (two tokens, RFC 9110
 * 8.3.1) that s[0..len) begins with, or 0 when it does not begin so.
 */
static size_t
mp_media_type(const char *s, size_t len)
{
	size_t	 t, u;

	t = mp_token(s, len);
	if (t == 0 || t == len || s[t] != '/')
		return 0;
	u = mp_token(s + t + 1, len - t - 1);
	return u == 0 ? 0 : t + 1 + u;
}

/*
 * The next parameter, OWS ";" OWS token "=" ( token / quoted-string ),
 * at *pp (before end); no space around '=' and no empty parameter.
 * Returns 1 with prm filled and *pp past it, 0 when only OWS is left, or
 * -1 with the problem in *why.
 */
static int
mp_param_next(const char **pp, const char *end, struct mp_param *prm,
    const char **why)
{
	const char	*p = mp_skip_ows(*pp, end), *q;

	if (p == end)
		return 0;
	*why = "parameters must be separated by ';'";
	if (*p != ';')
		return -1;
	p = mp_skip_ows(p + 1, end);
	prm->name = p;
	prm->nlen = mp_token(p, (size_t)(end - p));
	p += prm->nlen;
	*why = "a parameter has no name";
	if (prm->nlen == 0)
		return -1;
	*why = "a parameter has no '=' right after its name";
	if (p == end || *p != '=')
		return -1;
	p++;
	prm->quoted = p < end && *p == '"';
	if (prm->quoted) {
		for (q = ++p; q < end && mp_qdtext((unsigned char)*q); q++)
			continue;
		*why = "a quoted string is not closed";
		if (q == end || *q != '"')
			return -1;
		prm->val = p;
		prm->vlen = (size_t)(q - p);
		p = q + 1;
	} else {
		prm->val = p;
		prm->vlen = mp_token(p, (size_t)(end - p));
		p += prm->vlen;
		*why = "a parameter has an empty or invalid value";
		if (prm->vlen == 0)
			return -1;
	}
	*pp = p;
	return 1;
}

/* NULL when b[0..len) is a boundary RFC 2046 allows, else the problem. */
static const char *
mp_boundary_check(const char *b, size_t len)
{
	size_t	 i;

	if (len == 0)
		return "the boundary is empty";
	if (len > MULTIPART_BOUNDARY_MAX)
		return "the boundary is longer than 70 characters";
	if (b[len - 1] == ' ')
		return "the boundary ends in a space";
	for (i = 0; i < len; i++)
		if (!mp_bchar((unsigned char)b[i]))
			return "the boundary has a character that RFC 2046 "
			    "does not allow";
	return NULL;
}

/*
 * Finds the boundary parameter of the Content-Type ct[0..len) into
 * *b, *blen. Returns NULL, or the problem.
 */
static const char *
mp_ct_boundary(const char *ct, size_t len, const char **b, size_t *blen)
{
	struct mp_param	 prm;
	const char	*p, *end = ct + len, *why = NULL;
	size_t		 n;
	int		 r;

	p = mp_skip_ows(ct, end);
	n = mp_media_type(p, (size_t)(end - p));
	if (!mp_ieq(p, n, "multipart/form-data"))
		return "the Content-Type is not multipart/form-data";
	p += n;
	*b = NULL;
	while ((r = mp_param_next(&p, end, &prm, &why)) == 1) {
		if (!mp_ieq(prm.name, prm.nlen, "boundary"))
			continue;
		if (*b != NULL)
			return "the Content-Type has two boundary parameters";
		*b = prm.val;
		*blen = prm.vlen;
	}
	if (r == -1)
		return why;
	if (*b == NULL)
		return "the Content-Type has no boundary parameter";
	return mp_boundary_check(*b, *blen);
}

/*
 * The boundary of a Content-Type; see multipart.h. Thread-safe.
 */
int
multipart_boundary(const char *content_type, char *out, size_t outlen,
    char *err, size_t errlen)
{
	const char	*why, *b = NULL;
	size_t		 blen = 0;

	if (out != NULL && outlen > 0)
		out[0] = '\0';
	if (content_type == NULL)
		why = "the request has no Content-Type";
	else
		why = mp_ct_boundary(content_type, strlen(content_type), &b,
		    &blen);
	if (why == NULL && (out == NULL || outlen <= blen))
		why = "no room for the boundary";
	if (why != NULL) {
		if (err != NULL && errlen > 0)
			snprintf(err, errlen, "%s", why);
		return -1;
	}
	memcpy(out, b, blen);
	out[blen] = '\0';
	if (err != NULL && errlen > 0)
		err[0] = '\0';
	return 0;
}

/*
 * NULL when s[0..len) is valid UTF-8 without control characters (C0,
 * DEL, C1), else the problem, to follow "the field name" or "the
 * filename".
 */
static const char *
mp_text_check(const char *s, size_t len)
{
	const unsigned char	*p = (const unsigned char *)s;
	size_t			 i;

	if (!form_utf8_valid(s, len))
		return "is not valid UTF-8";
	for (i = 0; i < len; i++)
		if (p[i] < 0x20 || p[i] == 0x7f ||
		    (p[i] == 0xc2 && i + 1 < len && p[i + 1] <= 0x9f))
			return "has a control character";
	return NULL;
}

/* A malloc'd copy of s[0..len) (no NUL inside), lower-cased if lower. */
static char *
mp_strdup(const char *s, size_t len, int lower)
{
	char	*d;
	size_t	 i;

	if ((d = strndup(s, len)) != NULL && lower)
		for (i = 0; d[i] != '\0'; i++)
			if (d[i] >= 'A' && d[i] <= 'Z')
				d[i] = (char)(d[i] - 'A' + 'a');
	return d;
}

/* Checks and stores the name; from now on errors name the field. */
static int
mp_set_name(const struct mp_param *prm, struct multipart_part *part,
    struct multipart_err *e)
{
	const char	*why;

	if (prm->vlen == 0)
		return mp_fail(e, "the field name is empty");
	if (prm->vlen > MULTIPART_NAME_MAX)
		return mp_fail(e, "the field name is longer than %d bytes",
		    MULTIPART_NAME_MAX);
	if ((why = mp_text_check(prm->val, prm->vlen)) != NULL)
		return mp_fail(e, "the field name %s", why);
	if ((part->name = mp_strdup(prm->val, prm->vlen, 0)) == NULL)
		return mp_fail(e, "out of memory");
	memcpy(e->field, prm->val, prm->vlen);
	e->field[prm->vlen] = '\0';
	return 0;
}

/*
 * Decodes the filename* ext-value UTF-8'[language]'pct-encoded (RFC
 * 8187 3.2.1; the charset case-insensitive, UTF-8 only) into a new
 * *out of *outlen bytes. Returns NULL, or the problem.
 */
static const char *
mp_ext_value(const struct mp_param *prm, char **out, size_t *outlen)
{
	const char	*v = prm->val, *end = prm->val + prm->vlen, *q;
	size_t		 n = 0;
	int		 hi, lo;

	if (prm->quoted)
		return "filename* must not be a quoted string";
	if (prm->vlen < 7 || strncasecmp(v, "UTF-8'", 6) != 0)
		return "filename* must be in UTF-8 (UTF-8''name)";
	for (q = v + 6; q < end && (mp_alnum((unsigned char)*q) ||
	    *q == '-'); q++)
		continue;
	if (q == end || *q != '\'')
		return "filename* has a bad language tag";
	if ((*out = malloc((size_t)(end - q))) == NULL)
		return "out of memory";
	for (q++; q < end; q++) {
		if (*q != '%') {
			if (!mp_attr_char((unsigned char)*q))
				return "filename* has a character that must "
				    "be percent-encoded";
			(*out)[n++] = *q;
			continue;
		}
		if (end - q < 3 || (hi = mp_hex((unsigned char)q[1])) < 0 ||
		    (lo = mp_hex((unsigned char)q[2])) < 0)
			return "filename* has a bad percent escape";
		(*out)[n++] = (char)(hi * 16 + lo);
		q += 2;
	}
	(*out)[n] = '\0';
	*outlen = n;
	return NULL;
}

/*
 * Sets part->filename from filename* when given, else from filename,
 * else leaves it NULL (a text field).
 */
static int
mp_set_filename(const struct mp_param *prm, const unsigned *count,
    struct multipart_part *part, struct multipart_err *e)
{
	const char	*why = NULL;
	size_t		 len = 0;

	if (count[MP_P_FILENAME_EXT] > 0)
		why = mp_ext_value(&prm[MP_P_FILENAME_EXT], &part->filename,
		    &len);
	else if (count[MP_P_FILENAME] > 0) {
		len = prm[MP_P_FILENAME].vlen;
		part->filename = mp_strdup(prm[MP_P_FILENAME].val, len, 0);
		if (part->filename == NULL)
			why = "out of memory";
	} else
		return 0;
	if (why != NULL)
		return mp_fail(e, "%s", why);
	if (len > MULTIPART_FILENAME_MAX)
		return mp_fail(e, "the filename is longer than %d bytes",
		    MULTIPART_FILENAME_MAX);
	if ((why = mp_text_check(part->filename, len)) != NULL)
		return mp_fail(e, "the filename %s", why);
	return 0;
}

/* Content-Disposition: form-data; name=...[; filename=...][; filename*=...] */
static int
mp_disposition(const char *v, size_t len, struct multipart_part *part,
    struct multipart_err *e)
{
	struct mp_param	 prm[MP_P__MAX] = { { NULL, 0, NULL, 0, 0 } }, cur;
	unsigned	 count[MP_P__MAX] = { 0 };
	const char	*p = v, *end = v + len, *why = NULL;
	size_t		 i;
	int		 r;

	if (!mp_ieq(v, mp_token(v, len), "form-data"))
		return mp_fail(e, "the Content-Disposition is not form-data");
	p += strlen("form-data");
	while ((r = mp_param_next(&p, end, &cur, &why)) == 1)
		for (i = 0; i < MP_P__MAX; i++)
			if (mp_ieq(cur.name, cur.nlen, mp_dparams[i]) &&
			    count[i]++ == 0)
				prm[i] = cur;
	if (r == -1)
		return mp_fail(e, "Content-Disposition: %s", why);
	if (count[MP_P_NAME] == 0)
		return mp_fail(e, "the part has no name (Content-Disposition "
		    "name=)");
	if (count[MP_P_NAME] > 1)
		return mp_fail(e, "the part has two names");
	if (mp_set_name(&prm[MP_P_NAME], part, e) == -1)
		return -1;
	for (i = 0; i < MP_P__MAX; i++)
		if (count[i] > 1)
			return mp_fail(e, "the Content-Disposition has two %s "
			    "parameters", mp_dparams[i]);
	return mp_set_filename(prm, count, part, e);
}

/* Content-Type: type/subtype[; parameters]; keeps the media type. */
static int
mp_ctype(const char *v, size_t len, struct multipart_part *part,
    struct multipart_err *e)
{
	struct mp_param	 prm;
	const char	*p = v, *end = v + len, *why = NULL;
	size_t		 n;
	int		 r;

	if ((n = mp_media_type(v, len)) == 0)
		return mp_fail(e, "the part's Content-Type is not a "
		    "type/subtype media type");
	p += n;
	while ((r = mp_param_next(&p, end, &prm, &why)) == 1)
		continue;
	if (r == -1)
		return mp_fail(e, "Content-Type: %s", why);
	if ((part->type = mp_strdup(v, n, 1)) == NULL)
		return mp_fail(e, "out of memory");
	return 0;
}

/* Content-Transfer-Encoding: the identity encodings only. */
static int
mp_cte(const char *v, size_t len, struct multipart_part *part,
    struct multipart_err *e)
{
	(void)part;
	if (mp_ieq(v, len, "7bit") || mp_ieq(v, len, "8bit") ||
	    mp_ieq(v, len, "binary"))
		return 0;
	return mp_fail(e, "the Content-Transfer-Encoding must be 7bit, 8bit "
	    "or binary");
}

static const struct mp_hdr_def {
	const char	*name;
	int		(*apply)(const char *, size_t, struct multipart_part *,
			    struct multipart_err *);
	int		 required;
} mp_hdr_defs[MP_H__MAX] = {
	{ "Content-Disposition", mp_disposition, 1 },
	{ "Content-Type", mp_ctype, 0 },
	{ "Content-Transfer-Encoding", mp_cte, 0 },
};

/*
 * Checks one header line (without its CRLF) and records its value when
 * it is one of mp_hdr_defs.
 */
static int
mp_header_line(const char *line, size_t len, struct mp_hdrs *h,
    struct multipart_err *e)
{
	const char	*colon, *v, *end = line + len;
	size_t		 i;

	for (i = 0; i < len; i++) {
		if (line[i] == '\r')
			return mp_fail(e, "part headers must end each line "
			    "in CRLF");
		if (line[i] == '\0')
			return mp_fail(e, "NUL byte in the part headers");
		if (mp_ctl((unsigned char)line[i]))
			return mp_fail(e, "control character in the part "
			    "headers");
	}
	if (line[0] == ' ' || line[0] == '\t')
		return mp_fail(e, "folded part header lines (obs-fold) are "
		    "not allowed");
	if ((colon = memchr(line, ':', len)) == NULL)
		return mp_fail(e, "part header line without a colon (or no "
		    "empty line after the headers)");
	if (colon == line || mp_token(line, len) != (size_t)(colon - line))
		return mp_fail(e, "a part header name is not a token");
	v = mp_skip_ows(colon + 1, end);
	while (end > v && (end[-1] == ' ' || end[-1] == '\t'))
		end--;
	for (i = 0; i < MP_H__MAX; i++)
		if (mp_ieq(line, (size_t)(colon - line), mp_hdr_defs[i].name) &&
		    h->count[i]++ == 0) {
			h->val[i] = v;
			h->vlen[i] = (size_t)(end - v);
		}
	return 0;
}

/*
 * Scans the header lines at p (before end) up to the empty line; *data is
 * set past it. At most MULTIPART_HEADERS_MAX bytes of lines, so at most
 * that and the empty line are looked at.
 */
static int
mp_headers(const char *p, const char *end, struct mp_hdrs *h,
    const char **data, struct multipart_err *e)
{
	const char	*lim = end, *lf;

	if ((size_t)(end - p) > MULTIPART_HEADERS_MAX + 2)
		lim = p + MULTIPART_HEADERS_MAX + 2;
	memset(h, 0, sizeof(*h));
	for (;;) {
		if ((lf = memchr(p, '\n', (size_t)(lim - p))) == NULL) {
			if (lim < end)
				return mp_fail(e, "the part headers are longer "
				    "than %d bytes", MULTIPART_HEADERS_MAX);
			return mp_fail(e, "the body ends inside the part "
			    "headers");
		}
		if (lf == p || lf[-1] != '\r')
			return mp_fail(e, "part headers must end each line "
			    "in CRLF");
		if (lf - 1 == p)
			break;
		if (mp_header_line(p, (size_t)(lf - 1 - p), h, e) == -1)
			return -1;
		p = lf + 1;
	}
	*data = lf + 1;
	return 0;
}

/* Applies the headers found, Content-Disposition first. */
static int
mp_apply(const struct mp_hdrs *h, struct multipart_part *part,
    struct multipart_err *e)
{
	size_t	 i;

	for (i = 0; i < MP_H__MAX; i++) {
		if (h->count[i] == 0) {
			if (mp_hdr_defs[i].required)
				return mp_fail(e, "the part has no %s header",
				    mp_hdr_defs[i].name);
			continue;
		}
		if (mp_hdr_defs[i].apply(h->val[i], h->vlen[i], part, e) == -1)
			return -1;
		if (h->count[i] > 1)
			return mp_fail(e, "the part has more than one %s "
			    "header", mp_hdr_defs[i].name);
	}
	return 0;
}

/*
 * One part at p (past its delimiter's CRLF): headers, then the data up to
 * the next delimiter delim[0..dlen) ("\r\n--boundary"), *next set past
 * that delimiter.
 */
static int
mp_part(const char *p, const char *end, const char *delim, size_t dlen,
    struct multipart_part *part, const char **next, struct multipart_err *e)
{
	struct mp_hdrs	 h;
	const char	*data = NULL, *d;

	if (mp_headers(p, end, &h, &data, e) == -1 ||
	    mp_apply(&h, part, e) == -1)
		return -1;
	/*
	 * From the CRLF of the empty line: a delimiter right after the
	 * headers ends a part that has no data at all.
	 */
	d = memmem(data - 2, (size_t)(end - (data - 2)), delim, dlen);
	if (d == NULL)
		return mp_fail(e, "the body ends before the closing boundary");
	part->data = (const unsigned char *)data;
	part->len = d > data ? (size_t)(d - data) : 0;
	*next = d + dlen;
	if (part->filename != NULL)
		return 0;
	if (memchr(part->data, '\0', part->len) != NULL)
		return mp_fail(e, "the value has a NUL byte");
	if (!form_utf8_valid((const char *)part->data, part->len))
		return mp_fail(e, "the value is not valid UTF-8");
	return 0;
}

/*
 * After a delimiter (*p past "--boundary"): returns 1 with *p past the
 * CRLF when a part follows, 0 after the closing "--" and an optional
 * CRLF that end the body, or -1.
 */
static int
mp_after_delim(const char **p, const char *end, struct multipart_err *e)
{
	const char	*s = *p;
	size_t		 left = (size_t)(end - s);

	if (left >= 2 && s[0] == '-' && s[1] == '-') {
		if (left == 2 || (left == 4 && s[2] == '\r' && s[3] == '\n'))
			return 0;
		return mp_fail(e, "nothing may follow the closing boundary "
		    "(no epilogue)");
	}
	if (left >= 2 && s[0] == '\r' && s[1] == '\n') {
		*p = s + 2;
		return 1;
	}
	if (left == 0)
		return mp_fail(e, "the body ends before the closing boundary");
	return mp_fail(e, "a boundary must be followed by CRLF or \"--\"");
}

/*
 * The parts after the first delimiter (p past it) into mp. Returns 0 or
 * -1; mp holds what was parsed either way.
 */
static int
mp_parts(const char *p, const char *end, const char *delim, size_t dlen,
    struct multipart *mp, struct multipart_err *e)
{
	struct multipart_part	*part;
	int			 r;

	while ((r = mp_after_delim(&p, end, e)) == 1) {
		if (mp->nparts == MULTIPART_MAX_PARTS) {
			e->part = 0;
			e->field[0] = '\0';
			return mp_fail(e, "too many parts (more than %d)",
			    MULTIPART_MAX_PARTS);
		}
		if (mp->parts == NULL && (mp->parts = calloc(
		    MULTIPART_MAX_PARTS, sizeof(*mp->parts))) == NULL)
			return mp_fail(e, "out of memory");
		part = &mp->parts[mp->nparts++];
		e->part = mp->nparts;
		e->field[0] = '\0';
		if (mp_part(p, end, delim, dlen, part, &p, e) == -1)
			return -1;
		e->part = 0;	/* what follows is not in this part */
		e->field[0] = '\0';
	}
	if (r == 0 && mp->nparts == 0)
		return mp_fail(e, "the body has no parts");
	return r;
}

/*
 * Parses a multipart/form-data body; see multipart.h. On -1 mp is left
 * empty and e says what is wrong. Thread-safe (no shared state).
 */
int
multipart_parse(const unsigned char *body, size_t len, const char *boundary,
    struct multipart *mp, struct multipart_err *e)
{
	struct multipart_err	 scratch;
	char			 delim[MP_DELIM_MAX];
	size_t			 blen, dlen;
	int			 rc = -1;

	if (e == NULL)
		e = &scratch;
	memset(e, 0, sizeof(*e));
	mp->parts = NULL;
	mp->nparts = 0;
	blen = boundary == NULL ? 0 : strnlen(boundary,
	    MULTIPART_BOUNDARY_MAX + 1);
	if (blen == 0 || mp_boundary_check(boundary, blen) != NULL) {
		mp_fail(e, "invalid boundary");
		goto out;
	}
	dlen = 4 + blen;
	memcpy(delim, "\r\n--", 4);
	memcpy(delim + 4, boundary, blen);
	/* The first delimiter opens the body, without its CRLF. */
	if (body == NULL || len < dlen - 2 ||
	    memcmp(body, delim + 2, dlen - 2) != 0) {
		mp_fail(e, "the body must begin with the boundary (no "
		    "preamble)");
		goto out;
	}
	rc = mp_parts((const char *)body + dlen - 2, (const char *)body + len,
	    delim, dlen, mp, e);
	if (rc == 0)
		memset(e, 0, sizeof(*e));
out:
	if (rc == -1)
		multipart_free(mp);
	return rc;
}

/* Frees what multipart_parse() stored in mp and empties it. */
void
multipart_free(struct multipart *mp)
{
	size_t	 i;

	if (mp == NULL)
		return;
	for (i = 0; i < mp->nparts; i++) {
		free(mp->parts[i].name);
		free(mp->parts[i].filename);
		free(mp->parts[i].type);
	}
	free(mp->parts);
	mp->parts = NULL;
	mp->nparts = 0;
}
