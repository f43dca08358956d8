/*
 * form: application/x-www-form-urlencoded parsing, following the WHATWG
 * URL standard's "application/x-www-form-urlencoded parsing" (section 5.1),
 * made strict where the standard is lenient: a malformed percent escape,
 * a NUL (raw or %00), or invalid UTF-8 refuses the whole body instead of
 * being passed through. Not thread-affine: a struct form belongs to the
 * request that parsed it.
 */
#ifndef SLUICE_FORM_H
#define SLUICE_FORM_H

#include <stddef.h>

#define FORM_MAX_FIELDS	256

struct form_field {
	char	*key;	/* decoded, NUL-terminated, may be "" */
	char	*val;	/* decoded, NUL-terminated, may be "" */
};

struct form {
	struct form_field	*fields;	/* in body order, repeats kept */
	size_t			 nfields;
};

/*
 * Parses body[0..len). Returns 0 and fills f, or -1 with f empty and a
 * message naming the problem in err ("malformed percent escape in field 2").
 * Empty sequences between '&' are skipped; a pair without '=' has an empty
 * value; more than FORM_MAX_FIELDS pairs is an error. The caller frees f
 * with form_free() in both cases.
 */
int		 form_parse(const char *body, size_t len, struct form *f,
		    char *err, size_t errlen);
void		 form_free(struct form *);

/*
 * Appends the field key[0..klen) = val[0..vlen), both copied and
 * NUL-terminated, to f (a form from form_parse(), or one zeroed: { NULL,
 * 0 }). Nothing is checked: the caller passes decoded text (a NUL inside
 * would cut the string that form_get() returns). Returns 0, or -1 on
 * ENOMEM or when f already holds FORM_MAX_FIELDS fields, with f unchanged.
 * Used to turn the text fields of a multipart/form-data body into a form.
 */
int		 form_add(struct form *f, const char *key, size_t klen,
		    const char *val, size_t vlen);

/* The first value of key, or NULL. */
const char	*form_get(const struct form *, const char *key);
/* How many times key occurs. */
size_t		 form_count(const struct form *, const char *key);

/*
 * 1 when s[0..len) is well-formed UTF-8 (Unicode 15, table 3-7: no
 * overlong forms, no surrogates, nothing above U+10FFFF, no truncated
 * sequence), else 0. NUL bytes are valid UTF-8: callers that refuse them
 * check separately. Thread-safe.
 */
int		 form_utf8_valid(const char *s, size_t len);

/*
 * The length of the longest prefix of s of at most max bytes that does
 * not end inside a UTF-8 sequence: strlen(s) when that is <= max, else
 * max less the bytes of a character cut at max. For quoting a decoded
 * (valid UTF-8) field name in a message without making it invalid, e.g.
 * printf("'%.*s'", (int)form_utf8_cut(key, 40), key). Thread-safe.
 */
size_t		 form_utf8_cut(const char *s, size_t max);

/*
 * Decodes one percent-encoded component (with '+' as space when plus is
 * set) into a new malloc'd string of *outlen bytes. Returns NULL on a
 * malformed escape, a NUL, invalid UTF-8, or ENOMEM. Used for URL paths.
 */
char		*form_decode(const char *s, size_t len, int plus, size_t *outlen);

#endif
