/*
 * tmpl_val: the values templates are rendered from (struct tval, the
 * tval_* calls of tmpl.h), and the read side the renderer uses
 * (tmpl_val.h). Maps keep insertion order and are looked up linearly
 * (they are small).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tmpl.h"
#include "tmpl_val.h"

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

/* ---- reading, for the renderer (tmpl_val.h) ---- */

/* The value of key s[0..len) in map v, or NULL (also when v is no map). */
const struct tval *
tval_get(const struct tval *v, const char *s, size_t len)
{
	const struct tent	*e;

	if (v == NULL || v->type != TVAL_MAP ||
	    (e = tval_entry(v, s, len)) == NULL)
		return NULL;
	return e->v;
}

/* The type of v; TVAL_NULL for NULL. */
enum tval_type
tval_type_of(const struct tval *v)
{
	return v == NULL ? TVAL_NULL : v->type;
}

/* The bytes of a string (NUL-terminated) with their count; NULL else. */
const char *
tval_bytes(const struct tval *v, size_t *len)
{
	if (v == NULL || v->type != TVAL_STR) {
		*len = 0;
		return NULL;
	}
	*len = v->len;
	return v->s;
}

/* A bool's value (1 or 0); 0 for anything else. */
int
tval_is_true(const struct tval *v)
{
	return v != NULL && v->type == TVAL_BOOL && v->b;
}

/* The items of a list, the entries of a map; 0 for anything else. */
size_t
tval_count(const struct tval *v)
{
	if (v == NULL || (v->type != TVAL_LIST && v->type != TVAL_MAP))
		return 0;
	return v->n;
}

/* Item i of a list; NULL past the end or for anything but a list. */
const struct tval *
tval_item(const struct tval *v, size_t i)
{
	if (v == NULL || v->type != TVAL_LIST || i >= v->n)
		return NULL;
	return v->items[i];
}
