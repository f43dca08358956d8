/*
 * tmpl: a small mustache subset, ours because Debian packages no C template
 * library. Supported:
 *   {{name}}        value, HTML-escaped (& < > " ')
 *   {{{name}}}      value, raw (the template asks for it by name)
 *   {{#name}}..{{/name}}  section: repeated for each item of a list, once
 *                   for a true/non-empty scalar, skipped for false/empty/missing
 *   {{^name}}..{{/name}}  inverted section: rendered when the value is
 *                   missing, false, "" or an empty list
 *   {{> partial}}   another loaded template, rendered in the current context
 *   {{! comment}}
 * Names may be dotted (a.b) and resolve through the context stack, innermost
 * first; "." is the current item. A missing variable renders as "".
 *
 * Data comes as a tree of struct tval built by the caller (tval_* helpers).
 * Templates are compiled at load; a syntax error (unterminated tag, unclosed
 * or mismatched section, unknown partial) is reported as "FILE:LINE: what".
 * A compiled set is immutable and may be rendered from many threads at once.
 */
#ifndef SLUICE_TMPL_H
#define SLUICE_TMPL_H

#include <stddef.h>

#include "buf.h"

/* ---- values ---- */

enum tval_type { TVAL_NULL, TVAL_STR, TVAL_BOOL, TVAL_LIST, TVAL_MAP };

struct tval;

/*
 * Constructors return a new value or NULL on ENOMEM; a NULL child passed to
 * tval_set/tval_push is tolerated (the container is marked failed and
 * tval_ok() reports it). Containers own their children; free the root once.
 */
struct tval	*tval_str(const char *);		/* copies */
struct tval	*tval_strn(const char *, size_t);
struct tval	*tval_printf(const char *, ...) __attribute__((format(printf, 1, 2)));
struct tval	*tval_bool(int);
struct tval	*tval_list(void);
struct tval	*tval_map(void);
/* Sets key in a map (replacing); returns the map. */
struct tval	*tval_set(struct tval *map, const char *key, struct tval *v);
/* Convenience: tval_set(map, key, tval_str(s)). */
struct tval	*tval_set_str(struct tval *map, const char *key, const char *s);
/* Appends to a list; returns the list. */
struct tval	*tval_push(struct tval *list, struct tval *v);
/*
 * Builders, for filling a tree fast: the new value is allocated inside the
 * container's memory (a per-tree arena, released in one go when the root is
 * freed) instead of by its own malloc. Same semantics as
 * tval_set(map, key, tval_...(...)) / tval_push(list, tval_map()): a key
 * already there is replaced; on failure (ENOMEM, wrong container type, NULL
 * key) the container is marked failed. tval_set_map, tval_set_list and
 * tval_push_map return the new empty container (owned by the parent; never
 * free it yourself) or NULL on failure; the others return map. Not for
 * sharing a value between two trees.
 */
struct tval	*tval_set_strn(struct tval *map, const char *key, const char *,
		    size_t);
struct tval	*tval_set_printf(struct tval *map, const char *key,
		    const char *, ...) __attribute__((format(printf, 3, 4)));
struct tval	*tval_set_bool(struct tval *map, const char *key, int);
struct tval	*tval_set_map(struct tval *map, const char *key);
struct tval	*tval_set_list(struct tval *map, const char *key);
struct tval	*tval_push_map(struct tval *list);
int		 tval_ok(const struct tval *);	/* no allocation failed inside */
void		 tval_free(struct tval *);

/* ---- templates ---- */

struct tmpl_set;

/*
 * The pages the responder renders (app.c, render_page), NULL-terminated:
 * "index", "job", "error". A template directory without one of them would
 * load fine and then turn every such answer into a 500, so tmpl_load_dir
 * refuses it. Partials need no entry: an unknown one is a load error.
 */
extern const char *const tmpl_pages[];

/*
 * Loads every *.html file of dir as a template named by its file name
 * without ".html" (index.html -> "index"; partials the same way), then
 * requires every name in required (NULL-terminated; NULL requires none).
 * Returns NULL with "FILE:LINE: what" in err on the first error; a missing
 * template reads "DIR/NAME.html:0: missing template 'NAME' ...".
 */
struct tmpl_set	*tmpl_load_dir_req(const char *dir,
		    const char *const *required, char *err, size_t errlen);

/*
 * The responder's template directory: tmpl_load_dir_req(dir, tmpl_pages,
 * ...). Start-up, sluice -t and every SIGHUP reload load through here, so
 * a directory that lacks a page is refused by all three alike.
 */
struct tmpl_set	*tmpl_load_dir(const char *dir, char *err, size_t errlen);

/* Builds a set from in-memory sources (tests, fuzzing); names[i] -> srcs[i]. */
struct tmpl_set	*tmpl_load_strings(const char *const *names,
		    const char *const *srcs, size_t n, char *err, size_t errlen);

void		 tmpl_free(struct tmpl_set *);

/* 1 when the set has a template called name. */
int		 tmpl_has(const struct tmpl_set *, const char *name);

/*
 * Renders template name with data ctx (a map) appended to out. Returns 0,
 * or -1 when there is no such template or recursion through partials goes
 * deeper than 32. Thread-safe for a given set.
 */
int		 tmpl_render(const struct tmpl_set *, const char *name,
		    const struct tval *ctx, struct buf *out);

#endif
