/*
 * tmpl: a small mustache subset. See tmpl.h for the language.
 *
 * Templates are compiled once, at load, into a tree of nodes (text, var,
 * raw, section, inverted, partial); rendering is a walk of that tree and
 * never looks at template syntax again. Text and names point into the
 * template's own copy of its source. Partials are resolved to the template
 * they name once the whole set is loaded, so an unknown partial is a load
 * error and rendering needs no lookup by name.
 *
 * Whitespace: text is kept byte for byte. Unlike full mustache, a line that
 * holds only a section, inverted, close, comment or partial tag keeps its
 * indentation and newline ("standalone" lines are not stripped). In HTML
 * this only leaves blank lines in the page source, and it keeps the
 * compiler simple and the output predictable.
 *
 * Values: a tree of struct tval. Maps keep insertion order and are looked
 * up linearly (they are small). Lookup of a dotted name a.b.c finds the
 * innermost context that has a, then walks b and c from there; if that
 * walk fails the name is missing (outer contexts are not tried again), as
 * in mustache.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"

#define TMPL_MAX_DEPTH		32		/* partials, at render */
#define TMPL_MAX_NEST		64		/* sections, at compile */
#define TMPL_MAX_FILE		(4 * 1024 * 1024)

/*
 * Bounds on one render, against runaway templates (sections nested over
 * lists, or partials used twice in a partial, grow exponentially). A real
 * page is far below both. Fuzzing builds use small ones to stay fast.
 */
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
#define TMPL_MAX_STEPS		((size_t)1 << 16)
#define TMPL_MAX_OUTPUT		((size_t)1 << 20)
#else
#define TMPL_MAX_STEPS		((size_t)1 << 22)
#define TMPL_MAX_OUTPUT		((size_t)64 << 20)
#endif

/* ---- values ---- */

/*
 * Memory. A value made by a constructor (tval_str, tval_map, ...) is one
 * malloc'd block ("heap" node; a string's bytes follow the node). A
 * container also owns an arena: a list of chunks from which its keys, its
 * item arrays and every child made through it by a builder (tval_set_str,
 * tval_set_map, tval_push_map, ...) are carved, and which is freed in one
 * go with the container. A child made by a builder shares the arena of the
 * container it was made in (its "owner", the heap node at the top), so a
 * page's whole tree is a handful of chunks instead of a malloc per node
 * and per key. Freeing walks the tree only to find heap nodes attached
 * inside it (tval_set/tval_push of a constructed value); arena nodes are
 * released with their owner's chunks. A value replaced by tval_set is
 * freed the same way (its arena bytes stay until the owner goes).
 */

/*
 * First chunk of an arena; each later one is four times the previous, up
 * to MAX (the app page's tree, some 17 KiB, takes three chunks).
 */
#define TARENA_FIRST		1024
#define TARENA_MAX		(32 * 1024)
#define TARENA_ALIGN		(sizeof(void *) > sizeof(size_t) ? \
				    sizeof(void *) : sizeof(size_t))

struct tchunk {
	struct tchunk	*next;
	size_t		 size, used;	/* of data */
	/* data follows, aligned */
};

#define TCHUNK_HEAD	((sizeof(struct tchunk) + TARENA_ALIGN - 1) & \
			    ~(TARENA_ALIGN - 1))

struct tent {
	const char	*key;		/* in the owner's arena, NUL-terminated */
	size_t		 klen;
	struct tval	*v;
};

struct tval {
	enum tval_type	  type;
	unsigned char	  failed;	/* an allocation inside failed */
	unsigned char	  b;		/* TVAL_BOOL */
	unsigned char	  heap;		/* malloc'd itself (else: arena) */
	const char	 *s;		/* TVAL_STR, NUL-terminated */
	size_t		  len;		/* TVAL_STR */
	struct tval	 *owner;	/* heap node whose arena we use */
	struct tchunk	 *chunks;	/* heap containers: the arena */
	struct tent	 *ents;		/* TVAL_MAP */
	struct tval	**items;	/* TVAL_LIST */
	size_t		  n, cap;
};

#define TVAL_SIZE	((sizeof(struct tval) + TARENA_ALIGN - 1) & \
			    ~(TARENA_ALIGN - 1))

/*
 * n bytes (aligned) from the arena of owner; NULL on ENOMEM or overflow.
 * Large requests get a chunk of their own so the current one is kept.
 */
static void *
tarena_alloc(struct tval *owner, size_t n)
{
	struct tchunk	*c = owner->chunks, *nc;
	size_t		 size;
	void		*p;

	if (n > SIZE_MAX / 2)
		return NULL;
	n = (n + TARENA_ALIGN - 1) & ~(TARENA_ALIGN - 1);
	if (c != NULL && c->size - c->used >= n) {
		p = (char *)c + TCHUNK_HEAD + c->used;
		c->used += n;
		return p;
	}
	size = c == NULL ? TARENA_FIRST :
	    (c->size < TARENA_MAX / 4 ? c->size * 4 : TARENA_MAX);
	if (n > size / 4)
		size = n;	/* a chunk of its own */
	if ((nc = malloc(TCHUNK_HEAD + size)) == NULL)
		return NULL;
	nc->size = size;
	nc->used = n;
	if (c != NULL && size == n) {
		nc->next = c->next;	/* keep filling the current one */
		c->next = nc;
	} else {
		nc->next = c;
		owner->chunks = nc;
	}
	return (char *)nc + TCHUNK_HEAD;
}

/*
 * A new node with extra bytes after it: in the arena of parent's owner
 * when parent is not NULL, else malloc'd (and owning its own arena).
 */
static struct tval *
tval_alloc(struct tval *parent, enum tval_type type, size_t extra)
{
	struct tval	*v;

	if (extra > SIZE_MAX - TVAL_SIZE)
		return NULL;
	if (parent != NULL) {
		if ((v = tarena_alloc(parent->owner, TVAL_SIZE + extra)) ==
		    NULL)
			return NULL;
		memset(v, 0, sizeof(*v));
		v->owner = parent->owner;
	} else {
		if ((v = malloc(TVAL_SIZE + extra)) == NULL)
			return NULL;
		memset(v, 0, sizeof(*v));
		v->heap = 1;
		v->owner = v;
	}
	v->type = type;
	return v;
}

/* A string node holding s[0..n), made like tval_alloc. */
static struct tval *
tval_mkstr(struct tval *parent, const char *s, size_t n)
{
	struct tval	*v;
	char		*d;

	if ((s == NULL && n > 0) || n == SIZE_MAX ||
	    (v = tval_alloc(parent, TVAL_STR, n + 1)) == NULL)
		return NULL;
	d = (char *)v + TVAL_SIZE;
	if (n > 0)
		memcpy(d, s, n);
	d[n] = '\0';
	v->s = d;
	v->len = n;
	return v;
}

/* A string node formatted like vprintf(3), made like tval_alloc. */
static struct tval *
tval_vmkprintf(struct tval *parent, const char *fmt, va_list ap)
{
	struct tval	*v;
	va_list		 ap2;
	char		 small[128], *d;
	int		 n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap);
	if (n < 0) {
		v = NULL;
		goto out;
	}
	if ((size_t)n < sizeof(small)) {
		v = tval_mkstr(parent, small, (size_t)n);
		goto out;
	}
	if ((v = tval_alloc(parent, TVAL_STR, (size_t)n + 1)) == NULL)
		goto out;
	d = (char *)v + TVAL_SIZE;
	vsnprintf(d, (size_t)n + 1, fmt, ap2);
	v->s = d;
	v->len = (size_t)n;
out:
	va_end(ap2);
	return v;
}

/*
 * A string value holding a copy of s[0..n) (embedded NULs are kept and
 * rendered). NULL on ENOMEM.
 */
struct tval *
tval_strn(const char *s, size_t n)
{
	return tval_mkstr(NULL, s, n);
}

/* A copy of s; a NULL s gives a TVAL_NULL value (renders ""). */
struct tval *
tval_str(const char *s)
{
	if (s == NULL)
		return tval_alloc(NULL, TVAL_NULL, 0);
	return tval_mkstr(NULL, s, strlen(s));
}

/* A string formatted like printf(3); NULL on ENOMEM or a format error. */
struct tval *
tval_printf(const char *fmt, ...)
{
	struct tval	*v;
	va_list		 ap;

	va_start(ap, fmt);
	v = tval_vmkprintf(NULL, fmt, ap);
	va_end(ap);
	return v;
}

struct tval *
tval_bool(int b)
{
	struct tval	*v;

	if ((v = tval_alloc(NULL, TVAL_BOOL, 0)) != NULL)
		v->b = b != 0;
	return v;
}

struct tval *
tval_list(void)
{
	return tval_alloc(NULL, TVAL_LIST, 0);
}

struct tval *
tval_map(void)
{
	return tval_alloc(NULL, TVAL_MAP, 0);
}

/* Room for one more item (or entry, for maps); 0 or -1. */
static int
tval_grow(struct tval *c)
{
	size_t	 cap, each;
	void	*p, *old;

	if (c->n < c->cap)
		return 0;
	each = c->type == TVAL_MAP ? sizeof(struct tent) :
	    sizeof(struct tval *);
	cap = c->cap ? c->cap * 2 : 8;
	if (cap < c->cap || cap > SIZE_MAX / 2 / each)
		return -1;
	if ((p = tarena_alloc(c->owner, cap * each)) == NULL)
		return -1;
	old = c->type == TVAL_MAP ? (void *)c->ents : (void *)c->items;
	if (c->n > 0)
		memcpy(p, old, c->n * each);
	if (c->type == TVAL_MAP)
		c->ents = p;
	else
		c->items = p;
	c->cap = cap;
	return 0;
}

/* The entry of key[0..len) in map, or NULL. */
static struct tent *
tval_entry(const struct tval *map, const char *key, size_t len)
{
	size_t	 i;

	for (i = 0; i < map->n; i++)
		if (map->ents[i].klen == len && (len == 0 ||
		    (map->ents[i].key[0] == key[0] &&
		    memcmp(map->ents[i].key, key, len) == 0)))
			return &map->ents[i];
	return NULL;
}

/*
 * Stores v (not NULL) at key in map (a map, key not NULL), replacing and
 * freeing an earlier value. 0, or -1 on ENOMEM (v is then not stored).
 */
static int
tval_put(struct tval *map, const char *key, struct tval *v)
{
	struct tent	*e;
	size_t		 len = strlen(key);
	char		*k;

	if ((e = tval_entry(map, key, len)) != NULL) {
		tval_free(e->v);
		e->v = v;
		return 0;
	}
	if (len == SIZE_MAX || tval_grow(map) == -1 ||
	    (k = tarena_alloc(map->owner, len + 1)) == NULL)
		return -1;
	memcpy(k, key, len + 1);
	e = &map->ents[map->n++];
	e->key = k;
	e->klen = len;
	e->v = v;
	return 0;
}

/*
 * Sets key in map to v, replacing (and freeing) an earlier value. The map
 * owns v from now on, also on failure (v is then freed and the map marked
 * failed). Returns map.
 */
struct tval *
tval_set(struct tval *map, const char *key, struct tval *v)
{
	if (map == NULL) {
		tval_free(v);
		return NULL;
	}
	if (map->type != TVAL_MAP || key == NULL || v == NULL ||
	    tval_put(map, key, v) == -1) {
		tval_free(v);
		map->failed = 1;
	}
	return map;
}

/*
 * Builders: the new value lives in map's arena. On any failure (map not a
 * map, key NULL, ENOMEM) the map is marked failed and NULL is returned by
 * those that return the child. The map-returning ones return map.
 */
static struct tval *
tval_set_new(struct tval *map, const char *key, struct tval *v)
{
	if (map == NULL)
		return NULL;
	if (v == NULL || key == NULL || tval_put(map, key, v) == -1) {
		tval_free(v);	/* arena node: releases nothing but heap kids */
		map->failed = 1;
		return NULL;
	}
	return v;
}

struct tval *
tval_set_str(struct tval *map, const char *key, const char *s)
{
	if (map == NULL || map->type != TVAL_MAP)
		return tval_set(map, key, tval_str(s));
	tval_set_new(map, key, s == NULL ? tval_alloc(map, TVAL_NULL, 0) :
	    tval_mkstr(map, s, strlen(s)));
	return map;
}

struct tval *
tval_set_strn(struct tval *map, const char *key, const char *s, size_t n)
{
	if (map == NULL || map->type != TVAL_MAP)
		return tval_set(map, key, tval_strn(s, n));
	tval_set_new(map, key, tval_mkstr(map, s, n));
	return map;
}

struct tval *
tval_set_printf(struct tval *map, const char *key, const char *fmt, ...)
{
	struct tval	*v;
	va_list		 ap;

	if (map == NULL || map->type != TVAL_MAP) {
		if (map != NULL)
			map->failed = 1;
		return map;
	}
	va_start(ap, fmt);
	v = tval_vmkprintf(map, fmt, ap);
	va_end(ap);
	tval_set_new(map, key, v);
	return map;
}

struct tval *
tval_set_bool(struct tval *map, const char *key, int b)
{
	struct tval	*v;

	if (map == NULL || map->type != TVAL_MAP)
		return tval_set(map, key, tval_bool(b));
	if ((v = tval_alloc(map, TVAL_BOOL, 0)) != NULL)
		v->b = b != 0;
	tval_set_new(map, key, v);
	return map;
}

/* A new empty container of type at key in map; NULL on failure. */
static struct tval *
tval_set_container(struct tval *map, const char *key, enum tval_type type)
{
	if (map == NULL)
		return NULL;
	if (map->type != TVAL_MAP) {
		map->failed = 1;
		return NULL;
	}
	return tval_set_new(map, key, tval_alloc(map, type, 0));
}

struct tval *
tval_set_map(struct tval *map, const char *key)
{
	return tval_set_container(map, key, TVAL_MAP);
}

struct tval *
tval_set_list(struct tval *map, const char *key)
{
	return tval_set_container(map, key, TVAL_LIST);
}

/* Appends v (not NULL) to list (a list); 0 or -1 on ENOMEM. */
static int
tval_append(struct tval *list, struct tval *v)
{
	if (tval_grow(list) == -1)
		return -1;
	list->items[list->n++] = v;
	return 0;
}

/* Appends v to list (which owns it from now on, also on failure). */
struct tval *
tval_push(struct tval *list, struct tval *v)
{
	if (list == NULL) {
		tval_free(v);
		return NULL;
	}
	if (list->type != TVAL_LIST || v == NULL ||
	    tval_append(list, v) == -1) {
		tval_free(v);
		list->failed = 1;
	}
	return list;
}

struct tval *
tval_push_map(struct tval *list)
{
	struct tval	*v;

	if (list == NULL)
		return NULL;
	if (list->type != TVAL_LIST ||
	    (v = tval_alloc(list, TVAL_MAP, 0)) == NULL ||
	    tval_append(list, v) == -1) {
		list->failed = 1;
		return NULL;
	}
	return v;
}

/* 1 when v is not NULL and nothing failed in v or below it. */
int
tval_ok(const struct tval *v)
{
	size_t	 i;

	if (v == NULL || v->failed)
		return 0;
	if (v->type == TVAL_MAP) {
		for (i = 0; i < v->n; i++)
			if (!tval_ok(v->ents[i].v))
				return 0;
	} else if (v->type == TVAL_LIST) {
		for (i = 0; i < v->n; i++)
			if (!tval_ok(v->items[i]))
				return 0;
	}
	return 1;
}

/*
 * Frees v and everything below it. For a node made by a builder only the
 * heap nodes attached below it are freed; its own memory goes with its
 * owner's arena.
 */
void
tval_free(struct tval *v)
{
	struct tchunk	*c, *next;
	size_t		 i;

	if (v == NULL)
		return;
	if (v->type == TVAL_MAP)
		for (i = 0; i < v->n; i++)
			tval_free(v->ents[i].v);
	else if (v->type == TVAL_LIST)
		for (i = 0; i < v->n; i++)
			tval_free(v->items[i]);
	if (!v->heap)
		return;
	for (c = v->chunks; c != NULL; c = next) {
		next = c->next;
		free(c);
	}
	free(v);
}

/* The value of key s[0..len) in map v, or NULL. */
static const struct tval *
tval_get(const struct tval *v, const char *s, size_t len)
{
	const struct tent	*e;

	if (v == NULL || v->type != TVAL_MAP ||
	    (e = tval_entry(v, s, len)) == NULL)
		return NULL;
	return e->v;
}

/* ---- compiled templates ---- */

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

struct tmpl {
	char		*name;
	char		*file;	/* for messages: "dir/name.html" */
	char		*src;	/* owned copy; nodes point into it */
	size_t		 srclen;
	struct tnodes	 body;
};

struct tmpl_set {
	struct tmpl	*v;
	size_t		 n, cap;
};

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

static void
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
 * Compiles tags and text into out until the end of the source (open is
 * NULL) or the tag closing open. Returns 0 or -1 with the error set; on
 * -1 out may hold nodes, which the caller frees.
 */
static int
tparse_block(struct tparse *p, struct tnodes *out, const struct tnode *open,
    char sigil)
{
	const char	*tag, *cs, *close, *name;
	size_t		 at, ce, end, nlen;
	struct tnode	 n;
	int		 line, raw;
	char		 c;

	for (;;) {
		tag = memmem(p->src + p->pos, p->len - p->pos, "{{", 2);
		at = tag != NULL ? (size_t)(tag - p->src) : p->len;
		if (at > p->pos) {
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
		}
		if (tag == NULL)
			break;

		line = p->line;
		raw = at + 2 < p->len && p->src[at + 2] == '{';
		cs = p->src + at + (raw ? 3 : 2);
		close = memmem(cs, (size_t)(p->src + p->len - cs),
		    raw ? "}}}" : "}}", raw ? 3 : 2);
		if (close == NULL) {
			tparse_err(p, line, "unterminated tag");
			return -1;
		}
		ce = (size_t)(close - p->src);
		end = ce + (raw ? 3 : 2);
		tparse_lines(p, at, end);
		p->pos = end;

		memset(&n, 0, sizeof(n));
		n.line = line;
		nlen = (size_t)(close - cs);
		c = raw ? '\0' : (nlen > 0 ? cs[0] : '\0');
		if (c == '!')
			continue;
		if (c == '#' || c == '^' || c == '/' || c == '>') {
			cs++;
			nlen--;
		}
		if ((name = tparse_name(p, line, cs, &nlen)) == NULL)
			return -1;
		n.s = name;
		n.len = nlen;

		switch (c) {
		case '#':
		case '^':
			if (p->nest >= TMPL_MAX_NEST) {
				tparse_err(p, line, "sections nested deeper "
				    "than %d", TMPL_MAX_NEST);
				return -1;
			}
			n.type = c == '#' ? TN_SECTION : TN_INVERTED;
			p->nest++;
			if (tparse_block(p, &n.kids, &n, c) == -1) {
				tnodes_free(&n.kids);
				return -1;
			}
			p->nest--;
			break;
		case '/':
			if (open == NULL) {
				tparse_err(p, line, "{{/%.*s}} closes no "
				    "section", nlen > 64 ? 64 : (int)nlen,
				    name);
				return -1;
			}
			if (nlen != open->len ||
			    memcmp(name, open->s, nlen) != 0) {
				tparse_err(p, line, "mismatched close: "
				    "{{/%.*s}} closes {{%c%.*s}} from line %d",
				    nlen > 64 ? 64 : (int)nlen, name, sigil,
				    open->len > 64 ? 64 : (int)open->len,
				    open->s, open->line);
				return -1;
			}
			return 0;
		case '>':
			n.type = TN_PARTIAL;
			break;
		default:
			n.type = raw ? TN_RAW : TN_VAR;
			break;
		}
		if (tnodes_add(out, &n) == -1) {
			tnodes_free(&n.kids);
			tparse_err(p, line, "out of memory");
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

static void
tmpl_one_free(struct tmpl *t)
{
	tnodes_free(&t->body);
	free(t->name);
	free(t->file);
	free(t->src);
}

/* Frees a set and every template in it. NULL is ignored. */
void
tmpl_free(struct tmpl_set *set)
{
	size_t	 i;

	if (set == NULL)
		return;
	for (i = 0; i < set->n; i++)
		tmpl_one_free(&set->v[i]);
	free(set->v);
	free(set);
}

static struct tmpl *
tmpl_find(const struct tmpl_set *set, const char *name, size_t len)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (strlen(set->v[i].name) == len &&
		    memcmp(set->v[i].name, name, len) == 0)
			return &set->v[i];
	return NULL;
}

/*
 * Compiles src[0..len) as template name (file for messages) and adds it
 * to set. Returns 0 or -1 with err set.
 */
static int
tmpl_add(struct tmpl_set *set, const char *name, const char *file,
    const char *src, size_t len, char *err, size_t errlen)
{
	struct tmpl	 t, *v;
	struct tparse	 p;
	size_t		 cap;

	memset(&t, 0, sizeof(t));
	if (tmpl_find(set, name, strlen(name)) != NULL) {
		snprintf(err, errlen, "%s:1: duplicate template '%s'", file,
		    name);
		return -1;
	}
	if (len == SIZE_MAX ||
	    (t.name = strdup(name)) == NULL ||
	    (t.file = strdup(file)) == NULL ||
	    (t.src = malloc(len + 1)) == NULL)
		goto nomem;
	if (len > 0)
		memcpy(t.src, src, len);
	t.src[len] = '\0';
	t.srclen = len;

	memset(&p, 0, sizeof(p));
	p.src = t.src;
	p.len = len;
	p.line = 1;
	p.file = t.file;
	p.err = err;
	p.errlen = errlen;
	if (tparse_block(&p, &t.body, NULL, '\0') == -1)
		goto fail;

	if (set->n == set->cap) {
		cap = set->cap ? set->cap * 2 : 8;
		if (cap > SIZE_MAX / sizeof(*v) ||
		    (v = realloc(set->v, cap * sizeof(*v))) == NULL)
			goto nomem;
		set->v = v;
		set->cap = cap;
	}
	set->v[set->n++] = t;
	return 0;
nomem:
	snprintf(err, errlen, "%s:1: out of memory", file);
fail:
	tmpl_one_free(&t);
	return -1;
}

/* Resolves the partials under ns to indices into set; 0 or -1. */
static int
tmpl_link_nodes(struct tmpl_set *set, const struct tmpl *t,
    struct tnodes *ns, char *err, size_t errlen)
{
	struct tmpl	*to;
	struct tnode	*n;
	size_t		 i;

	for (i = 0; i < ns->n; i++) {
		n = &ns->v[i];
		if (n->type == TN_PARTIAL) {
			if ((to = tmpl_find(set, n->s, n->len)) == NULL) {
				snprintf(err, errlen, "%s:%d: unknown partial "
				    "'%.*s'", t->file, n->line,
				    n->len > 64 ? 64 : (int)n->len, n->s);
				return -1;
			}
			n->partial = (size_t)(to - set->v);
		} else if (tmpl_link_nodes(set, t, &n->kids, err,
		    errlen) == -1)
			return -1;
	}
	return 0;
}

static int
tmpl_link(struct tmpl_set *set, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (tmpl_link_nodes(set, &set->v[i], &set->v[i].body, err,
		    errlen) == -1)
			return -1;
	return 0;
}

/*
 * Compiles srcs[i] as template names[i] (file names[i].html in messages).
 * Returns a set the caller frees with tmpl_free(), or NULL with
 * "FILE:LINE: what" in err.
 */
struct tmpl_set *
tmpl_load_strings(const char *const *names, const char *const *srcs,
    size_t n, char *err, size_t errlen)
{
	struct tmpl_set	*set;
	char		 file[PATH_MAX];
	char		 dummy[1];
	size_t		 i;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < n; i++) {
		if (names == NULL || srcs == NULL || names[i] == NULL ||
		    srcs[i] == NULL || names[i][0] == '\0') {
			snprintf(err, errlen, "template %zu: no name or "
			    "source", i);
			goto fail;
		}
		if ((size_t)snprintf(file, sizeof(file), "%s.html",
		    names[i]) >= sizeof(file)) {
			snprintf(err, errlen, "template %zu: name too long", i);
			goto fail;
		}
		if (tmpl_add(set, names[i], file, srcs[i], strlen(srcs[i]),
		    err, errlen) == -1)
			goto fail;
	}
	if (tmpl_link(set, err, errlen) == -1)
		goto fail;
	return set;
fail:
	tmpl_free(set);
	return NULL;
}

/* Reads a whole file into a new buffer; 0 or -1 with err set. */
static int
tmpl_read(const char *file, char **out, size_t *outlen, char *err,
    size_t errlen)
{
	FILE		*fp;
	struct stat	 st;
	char		*s = NULL;
	size_t		 n;
	int		 rc = -1;

	*out = NULL;
	if ((fp = fopen(file, "r")) == NULL) {
		snprintf(err, errlen, "%s:0: %s", file, strerror(errno));
		return -1;
	}
	if (fstat(fileno(fp), &st) == -1) {
		snprintf(err, errlen, "%s:0: %s", file, strerror(errno));
		goto out;
	}
	if (st.st_size < 0 || st.st_size > TMPL_MAX_FILE) {
		snprintf(err, errlen, "%s:0: larger than %d bytes", file,
		    TMPL_MAX_FILE);
		goto out;
	}
	if ((s = malloc((size_t)st.st_size + 1)) == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", file);
		goto out;
	}
	n = fread(s, 1, (size_t)st.st_size, fp);
	if (ferror(fp)) {
		snprintf(err, errlen, "%s:0: read error", file);
		goto out;
	}
	s[n] = '\0';
	*out = s;
	*outlen = n;
	s = NULL;
	rc = 0;
out:
	free(s);
	fclose(fp);
	return rc;
}

static int
tmpl_html_filter(const struct dirent *d)
{
	size_t	 n = strlen(d->d_name);

	return n > 5 && d->d_name[0] != '.' &&
	    strcmp(d->d_name + n - 5, ".html") == 0;
}

/* Keep in step with the render_page() calls of app.c. */
const char *const tmpl_pages[] = { "index", "job", "error", NULL };

/*
 * Loads dir/\*.html (in name order); see tmpl.h. Returns a set the caller
 * frees with tmpl_free(), or NULL with "FILE:LINE: what" in err (LINE 0
 * for errors that are not about a line, e.g. an unreadable file or a
 * missing required template).
 */
struct tmpl_set *
tmpl_load_dir_req(const char *dir, const char *const *required, char *err,
    size_t errlen)
{
	struct tmpl_set	 *set = NULL;
	struct dirent	**ents = NULL;
	struct stat	  st;
	char		  file[PATH_MAX], name[NAME_MAX + 1];
	char		  dummy[1], *src = NULL;
	size_t		  srclen, nlen;
	int		  i, nents;

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if ((nents = scandir(dir, &ents, tmpl_html_filter, alphasort)) < 0) {
		snprintf(err, errlen, "%s:0: %s", dir, strerror(errno));
		return NULL;
	}
	if ((set = calloc(1, sizeof(*set))) == NULL) {
		snprintf(err, errlen, "%s:0: out of memory", dir);
		goto fail;
	}
	for (i = 0; i < nents; i++) {
		if ((size_t)snprintf(file, sizeof(file), "%s/%s", dir,
		    ents[i]->d_name) >= sizeof(file)) {
			snprintf(err, errlen, "%s/%s:0: path too long", dir,
			    ents[i]->d_name);
			goto fail;
		}
		if (stat(file, &st) == -1 || !S_ISREG(st.st_mode))
			continue;
		nlen = strlen(ents[i]->d_name) - 5;
		memcpy(name, ents[i]->d_name, nlen);
		name[nlen] = '\0';
		if (tmpl_read(file, &src, &srclen, err, errlen) == -1)
			goto fail;
		if (tmpl_add(set, name, file, src, srclen, err, errlen) == -1)
			goto fail;
		free(src);
		src = NULL;
	}
	if (tmpl_link(set, err, errlen) == -1)
		goto fail;
	/*
	 * An empty or wrong directory loads without a syntax error; without
	 * this check it would pass sluice -t and a reload, and only the
	 * first page served would find out (a 500).
	 */
	for (; required != NULL && *required != NULL; required++)
		if (!tmpl_has(set, *required)) {
			snprintf(err, errlen, "%s/%s.html:0: missing template "
			    "'%s' (the responder renders it)", dir, *required,
			    *required);
			goto fail;
		}
	goto out;
fail:
	tmpl_free(set);
	set = NULL;
out:
	free(src);
	for (i = 0; i < nents; i++)
		free(ents[i]);
	free(ents);
	return set;
}

struct tmpl_set *
tmpl_load_dir(const char *dir, char *err, size_t errlen)
{
	return tmpl_load_dir_req(dir, tmpl_pages, err, errlen);
}

int
tmpl_has(const struct tmpl_set *set, const char *name)
{
	if (set == NULL || name == NULL)
		return 0;
	return tmpl_find(set, name, strlen(name)) != NULL;
}

/* ---- rendering ---- */

/* The context stack: one frame per section entered, on the C stack. */
struct tframe {
	const struct tval	*v;
	const struct tframe	*up;
};

/* Resolves name[0..len) (validated at compile) in the context stack. */
static const struct tval *
tmpl_lookup(const struct tframe *ctx, const char *name, size_t len)
{
	const struct tval	*v = NULL;
	const char		*dot, *end = name + len;
	size_t			 plen;

	if (len == 1 && name[0] == '.')
		return ctx != NULL ? ctx->v : NULL;
	dot = memchr(name, '.', len);
	plen = dot != NULL ? (size_t)(dot - name) : len;
	for (; ctx != NULL; ctx = ctx->up)
		if ((v = tval_get(ctx->v, name, plen)) != NULL)
			break;
	while (v != NULL && dot != NULL) {
		name = dot + 1;
		dot = memchr(name, '.', (size_t)(end - name));
		plen = (size_t)((dot != NULL ? dot : end) - name);
		v = tval_get(v, name, plen);
	}
	return v;
}

static int
tmpl_truthy(const struct tval *v)
{
	if (v == NULL)
		return 0;
	switch (v->type) {
	case TVAL_STR:
		return v->len > 0;
	case TVAL_BOOL:
		return v->b;
	case TVAL_LIST:
		return v->n > 0;
	case TVAL_MAP:
		return 1;
	default:
		return 0;
	}
}

static void
tmpl_put(struct buf *out, const struct tval *v, int raw)
{
	const char	*s;
	size_t		 n;

	if (v == NULL)
		return;
	switch (v->type) {
	case TVAL_STR:
		s = v->s;
		n = v->len;
		break;
	case TVAL_BOOL:
		s = v->b ? "true" : "false";
		n = strlen(s);
		break;
	default:
		return;		/* null, lists and maps render as "" */
	}
	if (raw)
		buf_append(out, s, n);
	else
		buf_html(out, s, n);
}

/* One render in progress. */
struct trender {
	const struct tmpl_set	*set;
	struct buf		*out;
	size_t			 mark;	/* out->len before the render */
	size_t			 steps;	/* nodes visited so far */
};

static int
tmpl_walk(struct trender *r, const struct tnodes *ns,
    const struct tframe *ctx, int depth)
{
	const struct tnode	*n;
	const struct tval	*v;
	struct tframe		 f;
	size_t			 i, k;

	for (i = 0; i < ns->n; i++) {
		n = &ns->v[i];
		if (++r->steps > TMPL_MAX_STEPS ||
		    r->out->len - r->mark > TMPL_MAX_OUTPUT)
			return -1;
		switch (n->type) {
		case TN_TEXT:
			buf_append(r->out, n->s, n->len);
			break;
		case TN_VAR:
		case TN_RAW:
			tmpl_put(r->out, tmpl_lookup(ctx, n->s, n->len),
			    n->type == TN_RAW);
			break;
		case TN_SECTION:
			v = tmpl_lookup(ctx, n->s, n->len);
			if (!tmpl_truthy(v))
				break;
			f.up = ctx;
			if (v->type != TVAL_LIST) {
				f.v = v;
				if (tmpl_walk(r, &n->kids, &f, depth) == -1)
					return -1;
				break;
			}
			for (k = 0; k < v->n; k++) {
				f.v = v->items[k];
				if (tmpl_walk(r, &n->kids, &f, depth) == -1)
					return -1;
			}
			break;
		case TN_INVERTED:
			v = tmpl_lookup(ctx, n->s, n->len);
			if (!tmpl_truthy(v) &&
			    tmpl_walk(r, &n->kids, ctx, depth) == -1)
				return -1;
			break;
		case TN_PARTIAL:
			if (depth >= TMPL_MAX_DEPTH)
				return -1;
			if (tmpl_walk(r, &r->set->v[n->partial].body, ctx,
			    depth + 1) == -1)
				return -1;
			break;
		}
	}
	return 0;
}

/*
 * Renders template name with ctx appended to out; see tmpl.h. Returns -1
 * for an unknown template, partials nested deeper than 32, and also for a
 * runaway render (more than TMPL_MAX_STEPS nodes visited or TMPL_MAX_OUTPUT
 * bytes written: nested sections over lists or branching partials can grow
 * exponentially). On -1 out is left as it was. Running out of memory shows
 * in buf_ok(out), not in the return. Thread-safe: set and ctx are only
 * read.
 */
int
tmpl_render(const struct tmpl_set *set, const char *name,
    const struct tval *ctx, struct buf *out)
{
	const struct tmpl	*t;
	struct trender		 r;
	struct tframe		 f;

	if (set == NULL || name == NULL || out == NULL ||
	    (t = tmpl_find(set, name, strlen(name))) == NULL)
		return -1;
	r.set = set;
	r.out = out;
	r.mark = out->len;
	r.steps = 0;
	f.v = ctx;
	f.up = NULL;
	if (tmpl_walk(&r, &t->body, ctx != NULL ? &f : NULL, 0) == -1) {
		if (out->data != NULL && r.mark <= out->len) {
			out->len = r.mark;
			out->data[r.mark] = '\0';
		}
		return -1;
	}
	return 0;
}
