/*
 * tmpl_parse: compiles a template's source into the node tree of
 * tmpl_parse.h, tag by tag: text, {{var}}, {{{raw}}}, {{#section}},
 * {{^inverted}}, {{/close}}, {{> partial}}, {{! comment}}. Sections nest
 * up to TMPL_MAX_NEST; a syntax error is "FILE:LINE: what", at the line
 * where the offending tag (or the unclosed section) starts.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl_parse.h"

#define TMPL_MAX_NEST		64		/* sections, at compile */

/* Compiler state for one template. */
struct tparse {
	const char	*src;
	size_t		 len;
	size_t		 pos;
	int		 line;
	int		 nest;
	const char	*file;
	char		*err;
	size_t		 errlen;
};

/* Frees the nodes of ns and their children; ns is left empty. */
void
tnodes_free(struct tnodes *ns)
{
	size_t	 i;

	for (i = 0; i < ns->n; i++)
		tnodes_free(&ns->v[i].kids);
	free(ns->v);
	ns->v = NULL;
	ns->n = ns->cap = 0;
}

/* Appends a copy of *n to ns (which then owns n's children); 0 or -1. */
static int
tnodes_add(struct tnodes *ns, const struct tnode *n)
{
	struct tnode	*v;
	size_t		 cap;

	if (ns->n == ns->cap) {
		cap = ns->cap ? ns->cap * 2 : 8;
		if (cap > SIZE_MAX / sizeof(*v))
			return -1;
		if ((v = realloc(ns->v, cap * sizeof(*v))) == NULL)
			return -1;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n++] = *n;
	return 0;
}

static void
tparse_err(struct tparse *p, int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
tparse_err(struct tparse *p, int line, const char *fmt, ...)
{
	char	 what[256];
	va_list	 ap;

	if (p->err == NULL || p->errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	snprintf(p->err, p->errlen, "%s:%d: %s", p->file, line, what);
}

static int
tmpl_isspace(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Counts the newlines of src[from..to) into p->line. */
static void
tparse_lines(struct tparse *p, size_t from, size_t to)
{
	const char	*s, *end;

	s = p->src + from;
	end = p->src + to;
	while (s < end && (s = memchr(s, '\n', (size_t)(end - s))) != NULL) {
		if (p->line < INT_MAX)
			p->line++;
		s++;
	}
}

/*
 * Trims s[0..*len) and checks it is a name: not empty, and either "." or
 * dot-separated non-empty parts. Returns the start, or NULL (error set).
 */
static const char *
tparse_name(struct tparse *p, int line, const char *s, size_t *len)
{
	size_t	 n = *len, i;

	while (n > 0 && tmpl_isspace(*s)) {
		s++;
		n--;
	}
	while (n > 0 && tmpl_isspace(s[n - 1]))
		n--;
	if (n == 0) {
		tparse_err(p, line, "empty tag name");
		return NULL;
	}
	*len = n;
	if (n == 1 && s[0] == '.')
		return s;
	for (i = 0; i < n; i++)
		if (s[i] == '.' && (i == 0 || i == n - 1 || s[i + 1] == '.')) {
			tparse_err(p, line, "bad name '%.*s'",
			    n > 64 ? 64 : (int)n, s);
			return NULL;
		}
	return s;
}

/*
 * Appends the text from p->pos up to at (when there is any) as a node and
 * moves p there. 0, or -1 with the error set.
 */
static int
tparse_text(struct tparse *p, struct tnodes *out, size_t at)
{
	struct tnode	 n;

	if (at <= p->pos)
		return 0;
	memset(&n, 0, sizeof(n));
	n.type = TN_TEXT;
	n.s = p->src + p->pos;
	n.len = at - p->pos;
	n.line = p->line;
	if (tnodes_add(out, &n) == -1) {
		tparse_err(p, p->line, "out of memory");
		return -1;
	}
	tparse_lines(p, p->pos, at);
	p->pos = at;
	return 0;
}

/*
 * Reads the tag that starts at at ("{{", or "{{{" for raw) and moves p past
 * its end. Sets *sigil to the tag's first character when it is one of
 * "!#^/>" (else, and for a raw tag, '\0') and *raw; fills n's line and,
 * unless the tag is a comment, its name. 0, or -1 with the error set.
 */
static int
tparse_tag(struct tparse *p, size_t at, struct tnode *n, char *sigil,
    int *raw)
{
	const char	*cs, *close, *name;
	size_t		 end, nlen;
	int		 line = p->line;
	char		 c;

	*raw = at + 2 < p->len && p->src[at + 2] == '{';
	cs = p->src + at + (*raw ? 3 : 2);
	close = memmem(cs, (size_t)(p->src + p->len - cs),
	    *raw ? "}}}" : "}}", *raw ? 3 : 2);
	if (close == NULL) {
		tparse_err(p, line, "unterminated tag");
		return -1;
	}
	end = (size_t)(close - p->src) + (*raw ? 3 : 2);
	tparse_lines(p, at, end);
	p->pos = end;

	memset(n, 0, sizeof(*n));
	n->line = line;
	nlen = (size_t)(close - cs);
	c = *raw ? '\0' : (nlen > 0 ? cs[0] : '\0');
	if (c != '!' && c != '#' && c != '^' && c != '/' && c != '>')
		c = '\0';
	*sigil = c;
	if (c == '!')
		return 0;
	if (c != '\0') {
		cs++;
		nlen--;
	}
	if ((name = tparse_name(p, line, cs, &nlen)) == NULL)
		return -1;
	n->s = name;
	n->len = nlen;
	return 0;
}

/*
 * Checks that the close tag n ({{/name}}) closes open, the section that
 * sigil opened. 0, or -1 with the error set.
 */
static int
tparse_close(struct tparse *p, const struct tnode *n,
    const struct tnode *open, char sigil)
{
	if (open == NULL) {
		tparse_err(p, n->line, "{{/%.*s}} closes no section",
		    n->len > 64 ? 64 : (int)n->len, n->s);
		return -1;
	}
	if (n->len != open->len || memcmp(n->s, open->s, n->len) != 0) {
		tparse_err(p, n->line, "mismatched close: {{/%.*s}} closes "
		    "{{%c%.*s}} from line %d", n->len > 64 ? 64 : (int)n->len,
		    n->s, sigil, open->len > 64 ? 64 : (int)open->len, open->s,
		    open->line);
		return -1;
	}
	return 0;
}

static int	tparse_block(struct tparse *, struct tnodes *,
		    const struct tnode *, char);

/*
 * Compiles the body of section n (opened by sigil '#' or '^') up to its
 * close into n's children. 0, or -1 with the error set and no children.
 */
static int
tparse_section(struct tparse *p, struct tnode *n, char sigil)
{
	if (p->nest >= TMPL_MAX_NEST) {
		tparse_err(p, n->line, "sections nested deeper than %d",
		    TMPL_MAX_NEST);
		return -1;
	}
	n->type = sigil == '#' ? TN_SECTION : TN_INVERTED;
	p->nest++;
	if (tparse_block(p, &n->kids, n, sigil) == -1) {
		tnodes_free(&n->kids);
		return -1;
	}
	p->nest--;
	return 0;
}

/*
 * Compiles tags and text into out until the end of the source (open is
 * NULL) or the tag closing open. Returns 0 or -1 with the error set; on
 * -1 out may hold nodes, which the caller frees.
 */
static int
tparse_block(struct tparse *p, struct tnodes *out, const struct tnode *open,
    char sigil)
{
	const char	*tag;
	size_t		 at;
	struct tnode	 n;
	int		 raw;
	char		 c;

	for (;;) {
		tag = memmem(p->src + p->pos, p->len - p->pos, "{{", 2);
		at = tag != NULL ? (size_t)(tag - p->src) : p->len;
		if (tparse_text(p, out, at) == -1)
			return -1;
		if (tag == NULL)
			break;
		if (tparse_tag(p, at, &n, &c, &raw) == -1)
			return -1;
		switch (c) {
		case '!':
			continue;
		case '#':
		case '^':
			if (tparse_section(p, &n, c) == -1)
				return -1;
			break;
		case '/':
			return tparse_close(p, &n, open, sigil);
		case '>':
			n.type = TN_PARTIAL;
			break;
		default:
			n.type = raw ? TN_RAW : TN_VAR;
			break;
		}
		if (tnodes_add(out, &n) == -1) {
			tnodes_free(&n.kids);
			tparse_err(p, n.line, "out of memory");
			return -1;
		}
	}
	if (open != NULL) {
		tparse_err(p, open->line, "unclosed section {{%c%.*s}}", sigil,
		    open->len > 64 ? 64 : (int)open->len, open->s);
		return -1;
	}
	return 0;
}

/*
 * Compiles src[0..len) into out; 0, or -1 with "FILE:LINE: what" in err
 * (the caller frees out either way). Thread-safe.
 */
int
tmpl_compile(const char *src, size_t len, const char *file,
    struct tnodes *out, char *err, size_t errlen)
{
	struct tparse	 p;

	memset(&p, 0, sizeof(p));
	p.src = src;
	p.len = len;
	p.line = 1;
	p.file = file;
	p.err = err;
	p.errlen = errlen;
	return tparse_block(&p, out, NULL, '\0');
}
