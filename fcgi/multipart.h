/*
 * multipart: multipart/form-data bodies (RFC 7578), with the delimiters of
 * RFC 2046 section 5.1.1, made strict where the RFCs are lenient: no
 * preamble, no epilogue, no transport padding, part headers in CRLF lines
 * only, one Content-Disposition "form-data" with one name, text fields in
 * UTF-8. Whatever is refused refuses the whole body, with a message for
 * the user that names the field when its name is known. Thread-safe: no
 * global state; a struct multipart belongs to the request that parsed it.
 */
#ifndef SLUICE_MULTIPART_H
#define SLUICE_MULTIPART_H

#include <stddef.h>

#define MULTIPART_MAX_PARTS	64
#define MULTIPART_BOUNDARY_MAX	70	/* RFC 2046 */
#define MULTIPART_HEADERS_MAX	8192	/* bytes of one part's header lines */
#define MULTIPART_NAME_MAX	256	/* bytes of a field name */
#define MULTIPART_FILENAME_MAX	1024	/* bytes of a filename, decoded */

struct multipart_part {
	/* Content-Disposition name=, 1..MULTIPART_NAME_MAX bytes of UTF-8
	   without control characters, NUL-terminated; malloc'd. */
	char			*name;
	/* filename*= (RFC 8187, UTF-8 only) when given, else filename=,
	   as sent (a path such as "../x" or "C:\x\a.txt" is kept verbatim:
	   it is metadata, never a path to open); UTF-8 without control
	   characters, at most MULTIPART_FILENAME_MAX bytes; "" for a file
	   field left empty; NULL: not a file part (a text field). */
	char			*filename;
	/* The Content-Type media type, lower case, without parameters
	   ("image/png"); NULL when the part has no Content-Type. */
	char			*type;
	/* The part's body: len bytes inside the caller's buffer (no copy,
	   valid while it is), any bytes for a file part, UTF-8 without NUL
	   for a text field. Not NUL-terminated. */
	const unsigned char	*data;
	size_t			 len;
};

struct multipart {
	/* In body order, repeated names kept; NULL when nparts is 0.
	   After a successful parse, 1..MULTIPART_MAX_PARTS parts. */
	struct multipart_part	*parts;
	size_t			 nparts;
};

struct multipart_err {
	/* The name of the part at fault when it is known (valid UTF-8,
	   no control characters), else "". */
	char	field[MULTIPART_NAME_MAX + 1];
	/* The 1-based number of the part at fault, 0 for the body as a
	   whole (a missing closing boundary, too many parts). */
	size_t	part;
	/* For the user, in plain words: "part headers must end in CRLF".
	   It never quotes the body. */
	char	message[200];
};

/*
 * The boundary parameter of a Content-Type value such as
 * "multipart/form-data; boundary=----x" (the media type case-insensitive,
 * the boundary a token or a quoted string): checked (1 to 70 of the
 * characters RFC 2046 allows, not ending in a space; a repeated
 * parameter or a syntax error in any parameter is refused). Returns 0
 * with the boundary NUL-terminated in out (outlen of at least
 * MULTIPART_BOUNDARY_MAX + 1), or -1 with a message in err (when err is
 * not NULL and errlen > 0). Thread-safe.
 */
int	multipart_boundary(const char *content_type, char *out, size_t outlen,
	    char *err, size_t errlen);

/*
 * Parses body[0..len) (not NUL-terminated; nothing past len is read) with
 * boundary (as multipart_boundary() gave it). Returns 0 with mp filled
 * (1 to MULTIPART_MAX_PARTS parts, their data pointing into body), or -1
 * with e filled (when not NULL) and mp empty. Either way the caller
 * multipart_free()s mp. Linear in len: the delimiters are found with
 * memmem() and the part data is neither copied nor scanned, except a text
 * field's, which is checked for UTF-8. Thread-safe, no global state.
 */
int	multipart_parse(const unsigned char *body, size_t len,
	    const char *boundary, struct multipart *mp,
	    struct multipart_err *e);

/* Frees what multipart_parse() stored in mp and empties it (not mp
   itself, nor the body). Harmless on an empty mp, twice, or on NULL. */
void	multipart_free(struct multipart *);

#endif
