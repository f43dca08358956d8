/*
 * tmpl_parse: the compiled form of a template, a tree of nodes, and the
 * compiler that builds it from the template's source (tmpl_parse.c). For
 * the files of tmpl_ only (tmpl.c loads and renders with it).
 */
#ifndef SLUICE_TMPL_PARSE_H
#define SLUICE_TMPL_PARSE_H

#include <stddef.h>

enum tnode_type {
	TN_TEXT,
	TN_VAR,		/* {{name}}, escaped */
	TN_RAW,		/* {{{name}}} */
	TN_SECTION,	/* {{#name}} */
	TN_INVERTED,	/* {{^name}} */
	TN_PARTIAL	/* {{> name}} */
};

struct tnode;

struct tnodes {
	struct tnode	*v;
	size_t		 n, cap;
};

struct tnode {
	enum tnode_type	 type;
	const char	*s;	/* text or name, inside the template source */
	size_t		 len;
	int		 line;	/* where the tag starts */
	size_t		 partial;	/* TN_PARTIAL: index into the set */
	struct tnodes	 kids;	/* TN_SECTION, TN_INVERTED */
};


/*
 * Compiles src[0..len) (file names it in messages) into out, which must be
 * empty. Text and names of the nodes point into src, which must outlive
 * them. Returns 0, or -1 with "FILE:LINE: what" in err (syntax error or
 * ENOMEM); out may then hold nodes: the caller frees out with
 * tnodes_free() either way. Thread-safe (no shared state).
 */
int	tmpl_compile(const char *src, size_t len, const char *file,
	    struct tnodes *out, char *err, size_t errlen);
/* Frees the nodes of ns and their children; ns is left empty. */
void	tnodes_free(struct tnodes *ns);

#endif
