/*
 * tmpl: a small mustache subset. See tmpl.h for the language.
 *
 * Templates are compiled once, at load, into a tree of nodes (text, var,
 * raw, section, inverted, partial: tmpl_parse.c); rendering is a walk of that tree and
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
 * Values (struct tval, tmpl_val.c) are only read here, through
 * tmpl_val.h. Lookup of a dotted name a.b.c finds the innermost context
 * that has a, then walks b and c from there; if that walk fails the name
 * is missing (outer contexts are not tried again), as in mustache.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "tmpl.h"
#include "tmpl_parse.h"
#include "tmpl_val.h"

#define TMPL_MAX_DEPTH		32		/* partials, at render */
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

/* ---- loading ---- */

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

	if (tmpl_compile(t.src, len, t.file, &t.body, err, errlen) == -1)
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

/* Walk state of the partial cycle check: where each template stands. */
struct tmpl_walk_state {
	const struct tmpl_set	*set;
	unsigned char		*mark;	/* 0 unseen, 1 on the path, 2 done */
	size_t			*path;	/* the templates being walked, in order */
	size_t			 depth;
	char			*err;
	size_t			 errlen;
};

static int	tmpl_acyclic_one(struct tmpl_walk_state *, size_t);

/* "FILE:LINE: partial 'x' includes itself: a > b > x" for n, under w->path. */
static void
tmpl_cycle_error(struct tmpl_walk_state *w, const struct tnode *n)
{
	const struct tmpl	*t = &w->set->v[w->path[w->depth - 1]];
	size_t			 i, at, from = 0;

	for (i = 0; i < w->depth; i++)
		if (w->path[i] == n->partial)
			from = i;
	at = (size_t)snprintf(w->err, w->errlen, "%s:%d: partial '%s' "
	    "includes itself:", t->file, n->line, w->set->v[n->partial].name);
	for (i = from; i < w->depth && at < w->errlen; i++)
		at += (size_t)snprintf(w->err + at, w->errlen - at, " %s >",
		    w->set->v[w->path[i]].name);
	if (at < w->errlen)
		snprintf(w->err + at, w->errlen - at, " %s",
		    w->set->v[n->partial].name);
}

static int
tmpl_acyclic_nodes(struct tmpl_walk_state *w, const struct tnodes *ns)
{
	const struct tnode	*n;
	size_t			 i;

	for (i = 0; i < ns->n; i++) {
		n = &ns->v[i];
		if (n->type != TN_PARTIAL)
			continue;	/* a section's kids may not render */
		if (w->mark[n->partial] == 1) {
			tmpl_cycle_error(w, n);
			return -1;
		} else if (w->mark[n->partial] == 0 &&
		    tmpl_acyclic_one(w, n->partial) == -1)
			return -1;
	}
	return 0;
}

static int
tmpl_acyclic_one(struct tmpl_walk_state *w, size_t i)
{
	w->mark[i] = 1;
	w->path[w->depth++] = i;
	if (tmpl_acyclic_nodes(w, &w->set->v[i].body) == -1)
		return -1;
	w->depth--;
	w->mark[i] = 2;
	return 0;
}

/*
 * A partial that includes itself unconditionally, directly or through
 * others, fails every page that uses it at render time: refuse the set at
 * load instead (sluice -t and a reload then say so, the running set
 * stays). Inside a section or an inverted section the inclusion depends
 * on the data (a tree rendered by a partial over its "kids"), so only
 * tags outside any section count; the render's depth limit covers the
 * rest.
 */
static int
tmpl_acyclic(const struct tmpl_set *set, char *err, size_t errlen)
{
	struct tmpl_walk_state	 w = { set, NULL, NULL, 0, err, errlen };
	size_t			 i;
	int			 rc = -1;

	w.mark = calloc(set->n + 1, 1);
	w.path = calloc(set->n + 1, sizeof(*w.path));
	if (w.mark == NULL || w.path == NULL) {
		snprintf(err, errlen, "templates: out of memory");
		goto out;
	}
	for (i = 0; i < set->n; i++)
		if (w.mark[i] == 0 && tmpl_acyclic_one(&w, i) == -1)
			goto out;
	rc = 0;
out:
	free(w.mark);
	free(w.path);
	return rc;
}

static int
tmpl_link(struct tmpl_set *set, char *err, size_t errlen)
{
	size_t	 i;

	for (i = 0; i < set->n; i++)
		if (tmpl_link_nodes(set, &set->v[i], &set->v[i].body, err,
		    errlen) == -1)
			return -1;
	return tmpl_acyclic(set, err, errlen);
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

/* Mustache truth: a non-empty string or list, true, any map. */
static int
tmpl_truthy(const struct tval *v)
{
	size_t	 len;

	switch (tval_type_of(v)) {
	case TVAL_STR:
		return tval_bytes(v, &len) != NULL && len > 0;
	case TVAL_BOOL:
		return tval_is_true(v);
	case TVAL_LIST:
		return tval_count(v) > 0;
	case TVAL_MAP:
		return 1;
	default:
		return 0;
	}
}

/* Writes a string or bool, escaped unless raw; nothing for the rest. */
static void
tmpl_put(struct buf *out, const struct tval *v, int raw)
{
	const char	*s;
	size_t		 n;

	switch (tval_type_of(v)) {
	case TVAL_STR:
		s = tval_bytes(v, &n);
		break;
	case TVAL_BOOL:
		s = tval_is_true(v) ? "true" : "false";
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
			if (tval_type_of(v) != TVAL_LIST) {
				f.v = v;
				if (tmpl_walk(r, &n->kids, &f, depth) == -1)
					return -1;
				break;
			}
			for (k = 0; k < tval_count(v); k++) {
				f.v = tval_item(v, k);
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
