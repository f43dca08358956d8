/*
 * Unit tests for multipart: multipart/form-data bodies (RFC 7578, RFC 2046
 * delimiters, made strict) and the boundary of a Content-Type.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "multipart.h"

#define CRLF	"\r\n"
#define BND	"AaB03x"
#define DASH	"--" BND
#define END	DASH "--" CRLF
#define CD	"Content-Disposition: form-data; "
/* A text part (not the last one). */
#define TEXT(n, v)	DASH CRLF CD "name=\"" n "\"" CRLF CRLF v CRLF
/* A part with the header lines h (each ending in CRLF) and data v. */
#define PART(h, v)	DASH CRLF h CRLF v CRLF
/* A string literal and its length, NUL bytes included. */
#define BYTES(s)	s, sizeof(s) - 1

#define VEC_MAXPARTS	3
/* The rest of a refused vector: the field expected in e.field. */
#define REFUSED(field)	field, 0, { { "", 0, "", "", "", 0 } }

/* An expected part. Arrays, not pointers: see struct vec. */
struct vpart {
	char	 name[24];
	int	 file;		/* 1: filename expected (maybe "") */
	char	 filename[48];
	char	 type[24];	/* "": no Content-Type */
	char	 data[48];
	size_t	 dlen;
};

/*
 * One vector: a body, and either the parts expected or the message and
 * field expected (exactly). Strings are held in arrays: Criterion hands
 * the parameters to a separate worker process, where the addresses of
 * string literals need not be the same.
 */
struct vec {
	char		 what[64];
	char		 body[640];
	size_t		 len;
	char		 err[100];	/* "": must parse */
	char		 field[24];	/* when refused: e.field */
	size_t		 nparts;
	struct vpart	 p[VEC_MAXPARTS];
};

static struct vec vecs[] = {
	/* Accepted. */
	{ "one text field", BYTES(TEXT("a", "hello") END), "", "", 1,
	    { { "a", 0, "", "", BYTES("hello") } } },
	{ "several fields, repeats kept in order",
	    BYTES(TEXT("a", "1") TEXT("b", "") TEXT("a", "3") END), "", "", 3,
	    { { "a", 0, "", "", BYTES("1") }, { "b", 0, "", "", BYTES("") },
	      { "a", 0, "", "", BYTES("3") } } },
	{ "file part: CRLF, -- and a partial boundary in the data",
	    BYTES(PART(CD "name=\"f\"; filename=\"a.txt\"" CRLF
	    "Content-Type: Text/Plain; charset=UTF-8" CRLF,
	    "x\r\n--y\r\n--AaB03\r\n-" BND "\r\n") END), "", "", 1,
	    { { "f", 1, "a.txt", "text/plain",
	      BYTES("x\r\n--y\r\n--AaB03\r\n-AaB03x\r\n") } } },
	{ "file part: any bytes, NUL included",
	    BYTES(PART(CD "name=\"f\"; filename=\"b.bin\"" CRLF
	    "Content-Type: application/octet-stream" CRLF,
	    "\0\xff\xfe\r") END), "", "", 1,
	    { { "f", 1, "b.bin", "application/octet-stream",
	      BYTES("\0\xff\xfe\r") } } },
	{ "empty file part keeps filename \"\"",
	    BYTES(PART(CD "name=\"f\"; filename=\"\"" CRLF
	    "Content-Type: application/octet-stream" CRLF, "")
	    TEXT("t", "x") END), "", "", 2,
	    { { "f", 1, "", "application/octet-stream", BYTES("") },
	      { "t", 0, "", "", BYTES("x") } } },
	{ "filename* (UTF-8, emoji) wins over filename",
	    BYTES(PART(CD "name=\"f\"; filename=\"e.txt\"; "
	    "filename*=UTF-8''%C3%A9t%C3%A9%20%F0%9F%98%80.txt" CRLF, "z")
	    END), "", "", 1,
	    { { "f", 1, "\xc3\xa9t\xc3\xa9 \xf0\x9f\x98\x80.txt", "",
	      BYTES("z") } } },
	{ "filename* before filename, lower-case charset, language",
	    BYTES(PART(CD "name=f; filename*=utf-8'fr'caf%c3%a9; "
	    "filename=cafe" CRLF, "") END), "", "", 1,
	    { { "f", 1, "caf\xc3\xa9", "", BYTES("") } } },
	{ "../../etc/passwd kept verbatim",
	    BYTES(PART(CD "name=\"f\"; filename=\"../../etc/passwd\"" CRLF,
	    "root") END), "", "", 1,
	    { { "f", 1, "../../etc/passwd", "", BYTES("root") } } },
	{ "backslashes are literal",
	    BYTES(PART(CD "name=\"f\"; filename=\"C:\\x\\a.txt\"" CRLF, "")
	    END), "", "", 1, { { "f", 1, "C:\\x\\a.txt", "", BYTES("") } } },
	{ "a trailing backslash does not escape the quote",
	    BYTES(PART(CD "filename=\"dir\\\"; name=\"f\"" CRLF, "") END),
	    "", "", 1, { { "f", 1, "dir\\", "", BYTES("") } } },
	{ "WHATWG %22 %0D %0A in filename kept as sent",
	    BYTES(PART(CD "name=\"f\"; filename=\"a%22b%0D%0A.txt\"" CRLF,
	    "") END), "", "", 1,
	    { { "f", 1, "a%22b%0D%0A.txt", "", BYTES("") } } },
	{ "raw UTF-8 in name and filename",
	    BYTES(PART(CD "name=\"pr\xc3\xa9nom\"; filename=\"\xc3\xa9.txt\""
	    CRLF, "") END), "", "", 1,
	    { { "pr\xc3\xa9nom", 1, "\xc3\xa9.txt", "", BYTES("") } } },
	{ "header names, form-data and parameters ignore case",
	    BYTES(PART("content-DISPOSITION: FORM-DATA; NAME=x" CRLF
	    "CONTENT-TYPE: IMAGE/PNG" CRLF, "v") END), "", "", 1,
	    { { "x", 0, "", "image/png", BYTES("v") } } },
	{ "other headers ignored, spaces trimmed, no space after ':'",
	    BYTES(PART("X-Foo: \"bar" CRLF
	    "Content-Disposition:form-data;name=\"a\"  \t" CRLF, "v") END),
	    "", "", 1, { { "a", 0, "", "", BYTES("v") } } },
	{ "Content-Transfer-Encoding binary and 8bit",
	    BYTES(PART(CD "name=\"a\"" CRLF
	    "Content-Transfer-Encoding: Binary" CRLF, "1")
	    PART(CD "name=\"b\"" CRLF "Content-Transfer-Encoding: 8bit" CRLF,
	    "2") END), "", "", 2,
	    { { "a", 0, "", "", BYTES("1") },
	      { "b", 0, "", "", BYTES("2") } } },
	{ "no CRLF after the closing delimiter",
	    BYTES(TEXT("a", "1") DASH "--"), "", "", 1,
	    { { "a", 0, "", "", BYTES("1") } } },
	{ "a delimiter right after the headers: no data",
	    BYTES(DASH CRLF CD "name=\"a\"" CRLF CRLF DASH "--"), "", "", 1,
	    { { "a", 0, "", "", BYTES("") } } },
	{ "text with CRLF, tab and a CR before the delimiter",
	    BYTES(TEXT("t", "l1\r\n\tl2\r") END), "", "", 1,
	    { { "t", 0, "", "", BYTES("l1\r\n\tl2\r") } } },
	{ "the boundary inside a line is data",
	    BYTES(TEXT("t", "x" DASH "--" CRLF "y") END), "", "", 1,
	    { { "t", 0, "", "", BYTES("x" DASH "--" CRLF "y") } } },
	{ "text field with a Content-Type",
	    BYTES(PART(CD "name=\"t\"" CRLF "Content-Type: text/plain; "
	    "charset=\"utf-8\"" CRLF, "\xe2\x82\xac") END), "", "", 1,
	    { { "t", 0, "", "text/plain", BYTES("\xe2\x82\xac") } } },

	/* The body around the parts. */
	{ "preamble", BYTES("hello" CRLF TEXT("a", "1") END),
	    "the body must begin with the boundary (no preamble)",
	    REFUSED("") },
	{ "CRLF before the first delimiter", BYTES(CRLF TEXT("a", "1") END),
	    "the body must begin with the boundary (no preamble)",
	    REFUSED("") },
	{ "empty body", BYTES(""),
	    "the body must begin with the boundary (no preamble)",
	    REFUSED("") },
	{ "other boundary", BYTES("--AaB03y" CRLF CD "name=a" CRLF CRLF),
	    "the body must begin with the boundary (no preamble)",
	    REFUSED("") },
	{ "epilogue", BYTES(TEXT("a", "1") END "bye"),
	    "nothing may follow the closing boundary (no epilogue)",
	    REFUSED("") },
	{ "two CRLFs after the closing delimiter",
	    BYTES(TEXT("a", "1") END CRLF),
	    "nothing may follow the closing boundary (no epilogue)",
	    REFUSED("") },
	{ "no closing delimiter", BYTES(TEXT("a", "1") TEXT("b", "2")),
	    "the body ends before the closing boundary", REFUSED("b") },
	{ "body ends right after a delimiter",
	    BYTES(TEXT("a", "1") DASH),
	    "the body ends before the closing boundary", REFUSED("") },
	{ "delimiter without CRLF",
	    BYTES(TEXT("a", "1") DASH "x" CRLF CD "name=b" CRLF CRLF END),
	    "a boundary must be followed by CRLF or \"--\"", REFUSED("") },
	{ "transport padding after a delimiter",
	    BYTES(DASH " " CRLF CD "name=\"a\"" CRLF CRLF "1" CRLF END),
	    "a boundary must be followed by CRLF or \"--\"", REFUSED("") },
	{ "half a closing delimiter", BYTES(TEXT("a", "1") DASH "-"),
	    "a boundary must be followed by CRLF or \"--\"", REFUSED("") },
	{ "no parts", BYTES(END), "the body has no parts", REFUSED("") },

	/* Header lines. */
	{ "bare LF in headers",
	    BYTES(DASH CRLF CD "name=\"a\"\n" CRLF "1" CRLF END),
	    "part headers must end each line in CRLF", REFUSED("") },
	{ "bare LF as the empty line",
	    BYTES(DASH CRLF CD "name=\"a\"" CRLF "\n1" CRLF END),
	    "part headers must end each line in CRLF", REFUSED("") },
	{ "bare CR inside a header line",
	    BYTES(DASH CRLF CD "\rname=\"a\"" CRLF CRLF "1" CRLF END),
	    "part headers must end each line in CRLF", REFUSED("") },
	{ "obs-fold",
	    BYTES(DASH CRLF "Content-Disposition: form-data;" CRLF
	    " name=\"a\"" CRLF CRLF "1" CRLF END),
	    "folded part header lines (obs-fold) are not allowed",
	    REFUSED("") },
	{ "NUL in a header", BYTES(TEXT("a\0b", "1") END),
	    "NUL byte in the part headers", REFUSED("") },
	{ "control character in a header",
	    BYTES(PART("X-Foo: a\x01" CRLF CD "name=a" CRLF, "1") END),
	    "control character in the part headers", REFUSED("") },
	{ "header line without a colon",
	    BYTES(PART("Content-Disposition form-data" CRLF, "1") END),
	    "part header line without a colon (or no empty line after the "
	    "headers)", REFUSED("") },
	{ "no empty line after the headers",
	    BYTES(DASH CRLF CD "name=\"a\"" CRLF END),
	    "part header line without a colon (or no empty line after the "
	    "headers)", REFUSED("") },
	{ "space before the colon",
	    BYTES(PART("Content-Disposition : form-data; name=a" CRLF, "1")
	    END), "a part header name is not a token", REFUSED("") },
	{ "body ends inside the headers",
	    BYTES(DASH CRLF CD "name=\"a\"" CRLF),
	    "the body ends inside the part headers", REFUSED("") },
	{ "CR LF injected into a quoted value",
	    BYTES(PART(CD "name=\"a" CRLF "Content-Type: text/html\"" CRLF,
	    "<b>") END),
	    "Content-Disposition: a quoted string is not closed", REFUSED("") },

	/* Content-Disposition. */
	{ "missing Content-Disposition",
	    BYTES(PART("Content-Type: text/plain" CRLF, "1") END),
	    "the part has no Content-Disposition header", REFUSED("") },
	{ "no headers at all", BYTES(DASH CRLF CRLF "1" CRLF END),
	    "the part has no Content-Disposition header", REFUSED("") },
	{ "two Content-Dispositions",
	    BYTES(PART(CD "name=\"a\"" CRLF CD "name=\"b\"" CRLF, "1") END),
	    "the part has more than one Content-Disposition header",
	    REFUSED("a") },
	{ "not form-data",
	    BYTES(PART("Content-Disposition: attachment; name=\"a\"" CRLF,
	    "1") END), "the Content-Disposition is not form-data",
	    REFUSED("") },
	{ "form-data and more in one token",
	    BYTES(PART("Content-Disposition: form-datax; name=\"a\"" CRLF,
	    "1") END), "the Content-Disposition is not form-data",
	    REFUSED("") },
	{ "name missing", BYTES(PART(CD "filename=\"a\"" CRLF, "1") END),
	    "the part has no name (Content-Disposition name=)", REFUSED("") },
	{ "name repeated, other case",
	    BYTES(PART(CD "name=\"a\"; Name=\"b\"" CRLF, "1") END),
	    "the part has two names", REFUSED("") },
	{ "name empty", BYTES(TEXT("", "1") END), "the field name is empty",
	    REFUSED("") },
	{ "name without a value", BYTES(PART(CD "name=" CRLF, "1") END),
	    "Content-Disposition: a parameter has an empty or invalid value",
	    REFUSED("") },
	{ "name with a control character", BYTES(TEXT("a\tb", "1") END),
	    "the field name has a control character", REFUSED("") },
	{ "name with a C1 control character",
	    BYTES(TEXT("a\xc2\x85", "1") END),
	    "the field name has a control character", REFUSED("") },
	{ "name not UTF-8", BYTES(TEXT("\xff", "1") END),
	    "the field name is not valid UTF-8", REFUSED("") },
	{ "parameters without ';'",
	    BYTES(PART("Content-Disposition: form-data name=\"a\"" CRLF, "1")
	    END), "Content-Disposition: parameters must be separated by ';'",
	    REFUSED("") },
	{ "trailing ';'", BYTES(PART(CD "name=\"a\";" CRLF, "1") END),
	    "Content-Disposition: a parameter has no name", REFUSED("") },
	{ "space before '='", BYTES(PART(CD "name =\"a\"" CRLF, "1") END),
	    "Content-Disposition: a parameter has no '=' right after its "
	    "name", REFUSED("") },
	{ "filename repeated",
	    BYTES(PART(CD "name=\"f\"; filename=\"a\"; filename=\"b\"" CRLF,
	    "1") END),
	    "the Content-Disposition has two filename parameters",
	    REFUSED("f") },
	{ "filename not UTF-8",
	    BYTES(PART(CD "name=\"f\"; filename=\"\xc0\xaf.txt\"" CRLF, "")
	    END), "the filename is not valid UTF-8", REFUSED("f") },
	{ "filename with a control character",
	    BYTES(PART(CD "filename=\"a\xc2\x9f\"; name=\"f\"" CRLF, "")
	    END),
	    "the filename has a control character", REFUSED("f") },
	{ "filename* in another charset",
	    BYTES(PART(CD "name=\"f\"; filename*=ISO-8859-1''caf%E9" CRLF,
	    "") END), "filename* must be in UTF-8 (UTF-8''name)",
	    REFUSED("f") },
	{ "filename* bad percent escape",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''a%4" CRLF, "") END),
	    "filename* has a bad percent escape", REFUSED("f") },
	{ "filename* non-hex escape",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''%zz" CRLF, "") END),
	    "filename* has a bad percent escape", REFUSED("f") },
	{ "filename* decodes to invalid UTF-8",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''caf%E9" CRLF, "")
	    END), "the filename is not valid UTF-8", REFUSED("f") },
	{ "filename* decodes to CR LF",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''a%0D%0Ab" CRLF, "")
	    END), "the filename has a control character", REFUSED("f") },
	{ "filename* decodes to NUL",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''a%00" CRLF, "")
	    END), "the filename has a control character", REFUSED("f") },
	{ "filename* quoted",
	    BYTES(PART(CD "name=\"f\"; filename*=\"UTF-8''a\"" CRLF, "")
	    END), "filename* must not be a quoted string", REFUSED("f") },
	{ "filename* with a raw character to encode",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8''a'b" CRLF, "") END),
	    "filename* has a character that must be percent-encoded",
	    REFUSED("f") },
	{ "filename* without language quotes",
	    BYTES(PART(CD "name=\"f\"; filename*=UTF-8'a.txt" CRLF, "")
	    END), "filename* has a bad language tag", REFUSED("f") },

	/* Content-Type, Content-Transfer-Encoding, the data. */
	{ "Content-Transfer-Encoding base64, before Content-Disposition",
	    BYTES(PART("Content-Transfer-Encoding: base64" CRLF
	    CD "name=\"f\"; filename=\"a\"" CRLF, "QQ==") END),
	    "the Content-Transfer-Encoding must be 7bit, 8bit or binary",
	    REFUSED("f") },
	{ "Content-Type garbage",
	    BYTES(PART(CD "name=\"f\"; filename=\"a\"" CRLF
	    "Content-Type: garbage" CRLF, "1") END),
	    "the part's Content-Type is not a type/subtype media type",
	    REFUSED("f") },
	{ "Content-Type with junk after the media type",
	    BYTES(PART(CD "name=\"f\"" CRLF "Content-Type: text/plain junk"
	    CRLF, "1") END),
	    "Content-Type: parameters must be separated by ';'", REFUSED("f") },
	{ "two Content-Types",
	    BYTES(PART(CD "name=\"f\"" CRLF "Content-Type: text/plain" CRLF
	    "Content-Type: text/html" CRLF, "1") END),
	    "the part has more than one Content-Type header", REFUSED("f") },
	{ "NUL in a text field", BYTES(TEXT("a", "1") TEXT("b", "x\0y") END),
	    "the value has a NUL byte", REFUSED("b") },
	{ "invalid UTF-8 in a text field", BYTES(TEXT("b", "\xc3\x28") END),
	    "the value is not valid UTF-8", REFUSED("b") },
	{ "a surrogate in a text field", BYTES(TEXT("b", "\xed\xa0\x80") END),
	    "the value is not valid UTF-8", REFUSED("b") },
};

ParameterizedTestParameters(multipart, vectors)
{
	return cr_make_param_array(struct vec, vecs,
	    sizeof(vecs) / sizeof(vecs[0]));
}

static void
check_part(const struct vec *v, size_t i, const struct multipart_part *p)
{
	const struct vpart	*w = &v->p[i];
	const unsigned char	*body = (const unsigned char *)v->body;

	cr_expect_str_eq(p->name, w->name, "%s: name %zu", v->what, i);
	if (w->file) {
		cr_assert_not_null(p->filename, "%s: filename %zu", v->what, i);
		cr_expect_str_eq(p->filename, w->filename, "%s: %zu", v->what,
		    i);
	} else
		cr_expect_null(p->filename, "%s: filename %zu", v->what, i);
	if (w->type[0] != '\0') {
		cr_assert_not_null(p->type, "%s: type %zu", v->what, i);
		cr_expect_str_eq(p->type, w->type, "%s: %zu", v->what, i);
	} else
		cr_expect_null(p->type, "%s: type %zu", v->what, i);
	cr_assert_eq(p->len, w->dlen, "%s: data %zu: %zu bytes", v->what, i,
	    p->len);
	cr_expect(memcmp(p->data, w->data, w->dlen) == 0, "%s: data %zu",
	    v->what, i);
	cr_expect(p->data >= body && p->data + p->len <= body + v->len,
	    "%s: data %zu outside the body", v->what, i);
}

ParameterizedTest(struct vec *v, multipart, vectors)
{
	struct multipart	 mp;
	struct multipart_err	 e;
	size_t			 i;
	int			 rc;

	memset(&e, 'x', sizeof(e));
	rc = multipart_parse((const unsigned char *)v->body, v->len, BND, &mp,
	    &e);
	if (v->err[0] != '\0') {
		cr_expect_eq(rc, -1, "%s: parsed", v->what);
		cr_expect_str_eq(e.message, v->err, "%s", v->what);
		cr_expect_str_eq(e.field, v->field, "%s: field", v->what);
		cr_expect_eq(mp.nparts, 0, "%s: parts left", v->what);
		cr_expect_null(mp.parts, "%s", v->what);
	} else {
		cr_assert_eq(rc, 0, "%s: %s", v->what, e.message);
		cr_expect_str_eq(e.message, "", "%s", v->what);
		cr_assert_eq(mp.nparts, v->nparts, "%s: %zu parts", v->what,
		    mp.nparts);
		for (i = 0; i < v->nparts; i++)
			check_part(v, i, &mp.parts[i]);
	}
	multipart_free(&mp);
}

/* One Content-Type and the boundary (or the message) expected. */
struct bvec {
	char	 ct[128];
	char	 want[80];	/* "": refused */
	char	 err[80];
};

#define B10	"0123456789"
#define B70	B10 B10 B10 B10 B10 B10 B10
#define MFD	"multipart/form-data; "

static struct bvec bvecs[] = {
	{ MFD "boundary=AaB03x", "AaB03x", "" },
	{ "Multipart/Form-Data; BOUNDARY=abc", "abc", "" },
	{ MFD "boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
	    "----WebKitFormBoundary7MA4YWxkTrZu0gW", "" },
	{ MFD "boundary=\"a b:c?d=(e),f/'+_.\"", "a b:c?d=(e),f/'+_.", "" },
	{ MFD "charset=utf-8; boundary=x; other=\"y z\"", "x", "" },
	{ "  multipart/form-data ;\tboundary=x  ", "x", "" },
	{ MFD "boundary=" B70, B70, "" },
	{ MFD "boundary=\"" B70 "\"", B70, "" },
	{ MFD "boundary=" B70 "0", "",
	    "the boundary is longer than 70 characters" },
	{ MFD "boundary=\"abc \"", "", "the boundary ends in a space" },
	{ MFD "boundary=\" \"", "", "the boundary ends in a space" },
	{ "multipart/form-data", "",
	    "the Content-Type has no boundary parameter" },
	{ MFD "charset=utf-8", "",
	    "the Content-Type has no boundary parameter" },
	{ MFD "boundary=\"\"", "", "the boundary is empty" },
	{ MFD "boundary=", "", "a parameter has an empty or invalid value" },
	{ MFD "boundary=ab$c", "",
	    "the boundary has a character that RFC 2046 does not allow" },
	{ MFD "boundary=\"a\\b\"", "",
	    "the boundary has a character that RFC 2046 does not allow" },
	{ MFD "boundary=\"a\xc3\xa9\"", "",
	    "the boundary has a character that RFC 2046 does not allow" },
	{ MFD "boundary=a; boundary=b", "",
	    "the Content-Type has two boundary parameters" },
	{ MFD "boundary=\"abc", "", "a quoted string is not closed" },
	{ MFD "boundary=\"a\tb\"x", "",
	    "parameters must be separated by ';'" },
	{ MFD "boundary=a;", "", "a parameter has no name" },
	{ "multipart/form-data boundary=a", "",
	    "parameters must be separated by ';'" },
	{ "application/x-www-form-urlencoded", "",
	    "the Content-Type is not multipart/form-data" },
	{ "multipart/mixed; boundary=x", "",
	    "the Content-Type is not multipart/form-data" },
	{ "multipart/form-datax; boundary=x", "",
	    "the Content-Type is not multipart/form-data" },
	{ "", "", "the Content-Type is not multipart/form-data" },
};

ParameterizedTestParameters(multipart, boundary)
{
	return cr_make_param_array(struct bvec, bvecs,
	    sizeof(bvecs) / sizeof(bvecs[0]));
}

ParameterizedTest(struct bvec *v, multipart, boundary)
{
	char	 out[MULTIPART_BOUNDARY_MAX + 1], err[128];
	int	 rc;

	memset(out, 'x', sizeof(out));
	memset(err, 'x', sizeof(err));
	rc = multipart_boundary(v->ct, out, sizeof(out), err, sizeof(err));
	if (v->want[0] != '\0') {
		cr_assert_eq(rc, 0, "%s: %s", v->ct, err);
		cr_expect_str_eq(out, v->want, "%s", v->ct);
		cr_expect_str_eq(err, "", "%s", v->ct);
	} else {
		cr_expect_eq(rc, -1, "%s: accepted", v->ct);
		cr_expect_str_eq(err, v->err, "%s", v->ct);
		cr_expect_str_eq(out, "", "%s", v->ct);
	}
}

Test(multipart, boundary_edge_cases)
{
	char	 out[8], err[64];

	cr_expect_eq(multipart_boundary(NULL, out, sizeof(out), err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "the request has no Content-Type");
	/* out too small for the boundary. */
	cr_expect_eq(multipart_boundary(MFD "boundary=12345678", out,
	    sizeof(out), err, sizeof(err)), -1);
	cr_expect_str_eq(err, "no room for the boundary");
	cr_expect_eq(multipart_boundary(MFD "boundary=1234567", out,
	    sizeof(out), NULL, 0), 0);
	cr_expect_str_eq(out, "1234567");
	cr_expect_eq(multipart_boundary(MFD "boundary=", out, sizeof(out),
	    NULL, 0), -1);
}

/* A growing body for the tests that need large ones. */
struct body {
	char	*s;
	size_t	 len, cap;
};

static void
body_add(struct body *b, const void *p, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2;
		cr_assert_not_null(b->s = realloc(b->s, b->cap));
	}
	memcpy(b->s + b->len, p, n);
	b->len += n;
}

static void
body_str(struct body *b, const char *s)
{
	body_add(b, s, strlen(s));
}

/* n text parts "k" = "v" and the closing delimiter. */
static void
body_parts(struct body *b, size_t n)
{
	size_t	 i;

	for (i = 0; i < n; i++)
		body_str(b, TEXT("k", "v"));
	body_str(b, END);
}

static int
parse(const struct body *b, const char *boundary, struct multipart *mp,
    struct multipart_err *e)
{
	return multipart_parse((const unsigned char *)b->s, b->len, boundary,
	    mp, e);
}

Test(multipart, parts_limit)
{
	struct body		 b = { NULL, 0, 0 };
	struct multipart	 mp;
	struct multipart_err	 e;

	body_parts(&b, MULTIPART_MAX_PARTS);
	cr_assert_eq(parse(&b, BND, &mp, &e), 0, "%s", e.message);
	cr_expect_eq(mp.nparts, MULTIPART_MAX_PARTS);
	cr_expect_str_eq(mp.parts[MULTIPART_MAX_PARTS - 1].name, "k");
	multipart_free(&mp);
	b.len = 0;
	body_parts(&b, MULTIPART_MAX_PARTS + 1);
	cr_expect_eq(parse(&b, BND, &mp, &e), -1);
	cr_expect_str_eq(e.message, "too many parts (more than 64)");
	cr_expect_str_eq(e.field, "");
	cr_expect_eq(e.part, 0);
	cr_expect_eq(mp.nparts, 0);
	cr_expect_null(mp.parts);
	multipart_free(&mp);
	free(b.s);
}

/* A part whose header lines take exactly n bytes (n >= 64). */
static void
body_header_block(struct body *b, size_t n)
{
	const char	*cd = CD "name=\"a\"" CRLF;
	char		*pad;
	size_t		 padlen = n - strlen(cd) - strlen("X: " CRLF);

	cr_assert_not_null(pad = malloc(padlen + 1));
	memset(pad, 'p', padlen);
	pad[padlen] = '\0';
	body_str(b, DASH CRLF);
	body_str(b, cd);
	body_str(b, "X: ");
	body_str(b, pad);
	body_str(b, CRLF CRLF "1" CRLF END);
	free(pad);
}

Test(multipart, header_block_limit)
{
	struct body		 b = { NULL, 0, 0 };
	struct multipart	 mp;
	struct multipart_err	 e;

	body_header_block(&b, MULTIPART_HEADERS_MAX);
	cr_assert_eq(parse(&b, BND, &mp, &e), 0, "%s", e.message);
	multipart_free(&mp);
	b.len = 0;
	body_header_block(&b, MULTIPART_HEADERS_MAX + 1);
	cr_expect_eq(parse(&b, BND, &mp, &e), -1);
	cr_expect_str_eq(e.message,
	    "the part headers are longer than 8192 bytes");
	cr_expect_eq(e.part, 1);
	multipart_free(&mp);
	free(b.s);
}

/* Content-Disposition: form-data; name="<n x 'n'>"; filename="<f x 'f'>" */
static void
body_named(struct body *b, size_t n, size_t f)
{
	char	*s;

	cr_assert_not_null(s = malloc((n > f ? n : f) + 1));
	body_str(b, DASH CRLF CD "name=\"");
	memset(s, 'n', n);
	body_add(b, s, n);
	body_str(b, "\"; filename=\"");
	memset(s, 'f', f);
	body_add(b, s, f);
	body_str(b, "\"" CRLF CRLF "data" CRLF END);
	free(s);
}

Test(multipart, name_and_filename_limits)
{
	struct body		 b = { NULL, 0, 0 };
	struct multipart	 mp;
	struct multipart_err	 e;

	body_named(&b, MULTIPART_NAME_MAX, MULTIPART_FILENAME_MAX);
	cr_assert_eq(parse(&b, BND, &mp, &e), 0, "%s", e.message);
	cr_expect_eq(strlen(mp.parts[0].name), MULTIPART_NAME_MAX);
	cr_expect_eq(strlen(mp.parts[0].filename), MULTIPART_FILENAME_MAX);
	multipart_free(&mp);

	b.len = 0;
	body_named(&b, MULTIPART_NAME_MAX + 1, 1);
	cr_expect_eq(parse(&b, BND, &mp, &e), -1);
	cr_expect_str_eq(e.message, "the field name is longer than 256 bytes");
	cr_expect_str_eq(e.field, "");
	multipart_free(&mp);

	b.len = 0;
	body_named(&b, MULTIPART_NAME_MAX, MULTIPART_FILENAME_MAX + 1);
	cr_expect_eq(parse(&b, BND, &mp, &e), -1);
	cr_expect_str_eq(e.message,
	    "the filename is longer than 1024 bytes");
	cr_expect_eq(strlen(e.field), MULTIPART_NAME_MAX, "the field named");
	multipart_free(&mp);
	free(b.s);
}

Test(multipart, boundary_of_70)
{
	struct body		 b = { NULL, 0, 0 };
	struct multipart	 mp;
	struct multipart_err	 e;

	body_str(&b, "--" B70 CRLF CD "name=a" CRLF CRLF "1" CRLF "--" B70
	    "--");
	cr_assert_eq(parse(&b, B70, &mp, &e), 0, "%s", e.message);
	cr_expect_eq(mp.nparts, 1);
	multipart_free(&mp);
	/* The parser checks its boundary too. */
	cr_expect_eq(parse(&b, B70 "0", &mp, &e), -1);
	cr_expect_str_eq(e.message, "invalid boundary");
	cr_expect_eq(parse(&b, "", &mp, &e), -1);
	cr_expect_eq(parse(&b, NULL, &mp, &e), -1);
	cr_expect_eq(parse(&b, "a ", &mp, &e), -1);
	free(b.s);
}

/* A 5 MiB file part: its data is the body's own bytes, not a copy. */
Test(multipart, large_file_part_not_copied)
{
	const size_t		 n = 5 << 20;
	struct body		 b = { NULL, 0, 0 };
	struct multipart	 mp;
	struct multipart_err	 e;
	unsigned char		*data;
	size_t			 i, off;

	cr_assert_not_null(data = malloc(n));
	for (i = 0; i < n; i++)
		data[i] = (unsigned char)(i * 131 + (i >> 9));
	/* Near misses of the delimiter, a CR at the very end. */
	for (i = 1000; i + 20 < n; i += 100000)
		memcpy(data + i, "\r\n--AaB03y\r\n--AaB03", 19);
	data[n - 1] = '\r';
	cr_assert_null(memmem(data, n, CRLF DASH, strlen(CRLF DASH)));
	body_str(&b, TEXT("a", "1"));
	body_str(&b, DASH CRLF CD "name=\"file\"; filename=\"big.bin\"" CRLF
	    "Content-Type: application/octet-stream" CRLF CRLF);
	off = b.len;
	body_add(&b, data, n);
	body_str(&b, CRLF END);
	cr_assert_eq(parse(&b, BND, &mp, &e), 0, "%s", e.message);
	cr_assert_eq(mp.nparts, 2);
	cr_expect_eq(mp.parts[1].data, (const unsigned char *)b.s + off);
	cr_expect_eq(mp.parts[1].len, n);
	cr_expect(memcmp(mp.parts[1].data, data, n) == 0);
	multipart_free(&mp);
	free(data);
	free(b.s);
}

Test(multipart, length_bounds_the_body)
{
	const char		*s = TEXT("a", "1") END "garbage";
	struct multipart	 mp;
	struct multipart_err	 e;
	size_t			 n = strlen(TEXT("a", "1") END);

	/* Bytes past len are never read. */
	cr_assert_eq(multipart_parse((const unsigned char *)s, n, BND, &mp,
	    &e), 0, "%s", e.message);
	multipart_free(&mp);
	/* Cut inside the closing delimiter. */
	cr_expect_eq(multipart_parse((const unsigned char *)s, n - 3, BND, &mp,
	    &e), -1);
	cr_expect_str_eq(e.message, "a boundary must be followed by CRLF or "
	    "\"--\"");
	cr_expect_eq(multipart_parse(NULL, 0, BND, &mp, &e), -1);
	multipart_free(&mp);
}

Test(multipart, error_names_part_and_field)
{
	const char		*s = TEXT("a", "1") TEXT("b", "2")
	    PART(CD "name=\"c\"" CRLF "Content-Type: x" CRLF, "3") END;
	struct multipart	 mp;
	struct multipart_err	 e;

	cr_expect_eq(multipart_parse((const unsigned char *)s, strlen(s), BND,
	    &mp, &e), -1);
	cr_expect_eq(e.part, 3);
	cr_expect_str_eq(e.field, "c");
	cr_expect_eq(mp.nparts, 0);
	multipart_free(&mp);
}

Test(multipart, null_err_and_free_twice)
{
	const char		*s = TEXT("a", "1") END;
	struct multipart	 mp;

	cr_expect_eq(multipart_parse((const unsigned char *)s, 5, BND, &mp,
	    NULL), -1);
	cr_assert_eq(multipart_parse((const unsigned char *)s, strlen(s), BND,
	    &mp, NULL), 0);
	cr_expect_eq(mp.nparts, 1);
	multipart_free(&mp);
	multipart_free(&mp);
	multipart_free(NULL);
	cr_expect_null(mp.parts);
}
