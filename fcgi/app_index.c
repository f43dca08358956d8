/*
 * app_index: the app page (GET /): the locks and how busy they are, one
 * form per task and the session's recent jobs; and the form texts of a
 * generation's tasks. See app_int.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app_int.h"

static void
num_text(double v, char *out, size_t len)
{
	struct buf b;

	buf_init(&b);
	buf_json_num(&b, v);
	snprintf(out, len, "%s", buf_cstr(&b));
	buf_free(&b);
}

/* The texts of spec p; 0, or -1 when a number could not be formatted. */
static int
param_texts_fill(const struct kparam_spec *p, struct param_texts *t)
{
	if (p->type != KPARAM_INT && p->type != KPARAM_FLOAT)
		return 0;	/* no numbers to show */
	num_text(p->min, t->min, sizeof(t->min));
	num_text(p->max, t->max, sizeof(t->max));
	num_text(p->def, t->def, sizeof(t->def));
	if (p->step > 0)
		num_text(p->step, t->step, sizeof(t->step));
	else
		snprintf(t->step, sizeof(t->step), "%s",
		    p->type == KPARAM_INT ? "1" : "any");
	return t->min[0] != '\0' && t->max[0] != '\0' && t->def[0] != '\0' &&
	    t->step[0] != '\0' ? 0 : -1;
}

/*
 * Each task's inputs and the numbers of their specs as the form shows
 * them, formatted once per generation: a generation never changes, so
 * the app page runs no printf or strtod for them on every request.
 */
struct app_task_form *
app_forms_build(const struct conf *c)
{
	struct app_task_form	*forms;
	const struct conf_task	*t;
	size_t			 i, j;

	if (c->ntasks == 0 ||
	    (forms = calloc(c->ntasks, sizeof(*forms))) == NULL)
		return NULL;
	for (i = 0; i < c->ntasks; i++) {
		t = forms[i].task = &c->tasks[i];
		if (t->ninputs == 0)
			continue;
		if ((forms[i].params = calloc(t->ninputs,
		    sizeof(*forms[i].params))) == NULL)
			goto fail;
		for (j = 0; j < t->ninputs; j++)
			if (param_texts_fill(&t->inputs[j],
			    &forms[i].params[j]) == -1)
				goto fail;
	}
	return forms;
fail:
	app_forms_free(forms, c->ntasks);
	return NULL;
}

void
app_forms_free(struct app_task_form *forms, size_t n)
{
	size_t	 i;

	if (forms == NULL)
		return;
	for (i = 0; i < n; i++)
		free(forms[i].params);
	free(forms);
}

/* A text input longer than this is a textarea. */
#define APP_LINE_MAX	200

/* The value of input i as the form shows it: as sent, or the default. */
static const char *
input_value(const struct kparam_spec *p, const struct param_texts *pt,
    const struct form_state *fs, size_t i)
{
	if (fs != NULL && fs->values[i] != NULL)
		return fs->values[i];
	if (p->type == KPARAM_INT || p->type == KPARAM_FLOAT)
		return pt->def;
	if (p->type == KPARAM_BOOL)
		return p->def != 0 ? "true" : "false";
	return p->def_text != NULL ? p->def_text : "";
}

/* "8 MiB", "1.5 MiB", "512 KiB", "100 bytes": a limit as the form says it. */
static void
size_text(long long n, char *out, size_t len)
{
	if (n >= 1024 * 1024)
		snprintf(out, len, "%.3g MiB", (double)n / (1024 * 1024));
	else if (n >= 1024)
		snprintf(out, len, "%.3g KiB", (double)n / 1024);
	else
		snprintf(out, len, "%lld bytes", n);
}

/*
 * An upload's parts: the accept attribute and its limits in words
 * ("PNG or JPEG, at most 8 MiB and 16.8 megapixels").
 */
static void
input_upload(struct tval *pv, const struct kparam_spec *p)
{
	char	 size[32], acc[256] = "";
	size_t	 i, n = 0;

	tval_set_bool(pv, "is_upload", 1);
	tval_set_bool(pv, "required", !p->optional);
	size_text(p->max_bytes, size, sizeof(size));
	if (p->type == KPARAM_IMAGE) {
		tval_set_str(pv, "accept", "image/png,image/jpeg");
		tval_set_printf(pv, "limits", "PNG or JPEG, at most %s and "
		    "%.3g megapixels", size, (double)p->max_pixels / 1e6);
		return;
	}
	for (i = 0; p->accept != NULL && p->accept[i] != NULL; i++)
		n += (size_t)snprintf(acc + n, n < sizeof(acc) ? sizeof(acc) -
		    n : 0, "%s%s", i > 0 ? "," : "", p->accept[i]);
	if (acc[0] != '\0')
		tval_set_str(pv, "accept", acc);
	tval_set_printf(pv, "limits", "%s%sat most %s", acc, acc[0] != '\0' ?
	    "; " : "", size);
}

/* The type-specific parts of input p (value v) in map pv. */
static void
input_kind(struct tval *pv, const struct kparam_spec *p,
    const struct param_texts *pt, const char *v)
{
	struct tval	*choices, *cv;
	size_t		 i;

	switch (p->type) {
	case KPARAM_INT:
	case KPARAM_FLOAT:
		tval_set_bool(pv, "is_number", 1);
		tval_set_str(pv, "min", pt->min);
		tval_set_str(pv, "max", pt->max);
		tval_set_str(pv, "step", pt->step);
		break;
	case KPARAM_TEXT:
		tval_set_bool(pv, p->max_length > APP_LINE_MAX ? "is_textarea" :
		    "is_line", 1);
		tval_set_printf(pv, "max_length", "%ld", p->max_length);
		break;
	case KPARAM_CHOICE:
		tval_set_bool(pv, "is_choice", 1);
		choices = tval_set_list(pv, "choices");
		for (i = 0; choices != NULL && i < p->nchoices; i++) {
			if ((cv = tval_push_map(choices)) == NULL)
				break;
			tval_set_str(cv, "choice", p->choices[i]);
			tval_set_bool(cv, "selected",
			    strcmp(p->choices[i], v) == 0);
		}
		break;
	case KPARAM_BOOL:
		tval_set_bool(pv, "is_bool", 1);
		tval_set_bool(pv, "checked", strcmp(v, "true") == 0);
		break;
	case KPARAM_IMAGE:
	case KPARAM_FILE:
		input_upload(pv, p);
		break;
	}
}

/* Appends the inputs of form f to list params; *errors counts errors. */
static void
task_params(struct tval *params, const struct app_task_form *f,
    const struct form_state *fs, int *errors)
{
	const struct kparam_spec *p;
	const struct param_texts *pt;
	struct tval		*pv;
	const char		*v;
	size_t			 i;

	for (i = 0; i < f->task->ninputs; i++) {
		p = &f->task->inputs[i];
		pt = &f->params[i];
		if ((pv = tval_push_map(params)) == NULL)
			break;
		v = input_value(p, pt, fs, i);
		tval_set_str(pv, "name", p->name);
		tval_set_str(pv, "label", p->label != NULL ? p->label :
		    p->name);
		tval_set_str(pv, "unit", p->unit != NULL ? p->unit : "");
		tval_set_str(pv, "value", v);
		input_kind(pv, p, pt, v);
		if (fs != NULL && fs->errors[i] != NULL) {
			tval_set_str(pv, "error", fs->errors[i]);
			(*errors)++;
		}
	}
}

/*
 * What changes from one request of the app page to the next: the holes
 * of the pre-rendered page. Everything else on it is the same for every
 * session of a generation (without a form to re-fill), so it is rendered
 * once per generation and shape (app_skels) and only these are written
 * per request. Holes, by index: 0 the session's CSRF token; per lock j
 * 1 + 2j busy, 2 + 2j queued; per task t (from T) T + 3t its form's
 * nonce, + 1 its ETA, + 2 why it fails; per recent job i (from J) J + 4i
 * its id, + 1 short id, + 2 task, + 3 state.
 */
#define HOLE_MAX	272	/* a hole's text: "failing" is 255 at most */
#define HOLE_JOBS	10	/* recent jobs shown */

struct index_vals {
	size_t		 nlocks, ntasks, njobs;
	size_t		 n;		/* holes */
	char		(*val)[HOLE_MAX];
	unsigned char	*has;		/* per hole: set (the ETA, failing) */
	int		 skel;		/* building the skeleton: sentinels */
	char		 mark[24];	/* the sentinel of the last V() */
};

static size_t
hole_lock(size_t j)
{
	return 1 + 2 * j;
}

static size_t
hole_task(const struct index_vals *v, size_t t)
{
	return 1 + 2 * v->nlocks + 3 * t;
}

static size_t
hole_job(const struct index_vals *v, size_t i)
{
	return 1 + 2 * v->nlocks + 3 * v->ntasks + 4 * i;
}

/*
 * Hole k as the context shows it: its text, or in a skeleton its
 * sentinel (\001, the index, \002: bytes no config text, id or escape
 * makes, and that the HTML escaper leaves alone).
 */
static const char *
V(struct index_vals *v, size_t k)
{
	if (!v->skel)
		return v->val[k];
	snprintf(v->mark, sizeof(v->mark), "\001%zu\002", k);
	return v->mark;
}

/*
 * Appends the form of task t (its form texts f) to list tasks. Every
 * value is built inside the page's tree (tval builders), so the whole
 * page is a few allocations.
 */
static void
task_context(struct tval *tasks, const struct conf_task *t,
    const struct app_task_form *f, struct index_vals *v, size_t ti,
    const struct form_state *fs)
{
	struct tval		*tv, *params, *locks;
	char			 shown[256];
	size_t			 i, h = hole_task(v, ti);
	int			 errors = 0;

	if ((tv = tval_push_map(tasks)) == NULL)
		return;
	tval_set_str(tv, "name", t->name);
	tval_set_str(tv, "task", t->name);
	tval_set_str(tv, "title", t->title != NULL ? t->title : t->name);
	if (t->kernel != NULL)
		tval_set_str(tv, "kernel", t->kernel);
	else
		tval_set_str(tv, "worker", job_error_public(t->worker[0],
		    shown, sizeof(shown)));	/* no server path */
	tval_set_str(tv, "csrf", V(v, 0));
	tval_set_str(tv, "nonce", V(v, h));
	locks = tval_set_list(tv, "locks");
	for (i = 0; locks != NULL && i < t->nlocks; i++)
		tval_set_str(tval_push_map(locks), "name", t->locks[i]);
	if (v->has[h + 2])
		tval_set_str(tv, "failing", V(v, h + 2));
	if (v->has[h + 1])
		tval_set_str(tv, "eta_s", V(v, h + 1));
	if ((params = tval_set_list(tv, "params")) != NULL)
		task_params(params, f, fs, &errors);
	for (i = 0; i < t->ninputs; i++)
		if (KPARAM_IS_UPLOAD(t->inputs[i].type))
			tval_set_bool(tv, "multipart", 1);
	if (fs != NULL && fs->form_error != NULL) {
		tval_set_str(tv, "form_error", fs->form_error);
		errors++;
	}
	tval_set_bool(tv, "has_errors", errors > 0);
}

/*
 * Random bytes for the forms' nonces from a per-thread pool, refilled
 * from libsodium (one getrandom) every APP_RANDOM_POOL bytes instead of
 * once per page. Bytes handed out are wiped from the pool.
 */
#define APP_RANDOM_POOL	4096

static void
nonce_bytes(unsigned char *out, size_t n)
{
	static __thread unsigned char	 pool[APP_RANDOM_POOL];
	static __thread size_t		 left;
	unsigned char			*p;

	if (n > sizeof(pool)) {
		randombytes_buf(out, n);
		return;
	}
	if (left < n) {
		randombytes_buf(pool, sizeof(pool));
		left = sizeof(pool);
	}
	p = pool + sizeof(pool) - left;
	memcpy(out, p, n);
	sodium_memzero(p, n);
	left -= n;
}

/* The decimal text of v into out (printf costs more than a whole map). */
static void
int_text(long long v, char out[24])
{
	char			 s[24], *p = s + sizeof(s);
	unsigned long long	 u;

	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	memcpy(out, p, (size_t)(s + sizeof(s) - p));
}

/*
 * Milliseconds ms >= 0 as seconds to one decimal, rounded half up
 * ("12.3"), without printf's floating point (a fifth of the page's
 * formatting, issue 16). out: HOLE_MAX bytes.
 */
static void
tenths_text(int64_t ms, char *out)
{
	long long	 t = (ms + 50) / 100;
	size_t		 n;

	int_text(t / 10, out);
	n = strlen(out);
	out[n] = '.';
	out[n + 1] = (char)('0' + t % 10);
	out[n + 2] = '\0';
}

static void
set_int(struct tval *map, const char *key, long long v)
{
	char	 s[24];

	int_text(v, s);
	tval_set_str(map, key, s);
}

/* The locks' live counts into v. */
static void
vals_locks(struct app *a, struct index_vals *v)
{
	int	 busy, queued;
	size_t	 j;

	for (j = 0; j < v->nlocks; j++) {
		busy = queued = 0;
		if (a->sched != NULL)
			sched_lock_counts(a->sched, j, &busy, &queued);
		int_text(busy, v->val[hole_lock(j)]);
		int_text(queued, v->val[hole_lock(j) + 1]);
	}
}

/* Each form's nonce, ETA and failure into v. */
static void
vals_tasks(struct app *a, struct index_vals *v)
{
	const struct conf	*c = a->conf;
	unsigned char		 raw[16];
	char			 why[256];
	int64_t			 eta;
	size_t			 j, h;

	for (j = 0; j < v->ntasks; j++) {
		h = hole_task(v, j);
		/* One nonce per form: each form is its own submission. */
		nonce_bytes(raw, sizeof(raw));
		sodium_bin2hex(v->val[h], HOLE_MAX, raw, sizeof(raw));
		eta = a->sched != NULL ? sched_task_eta(a->sched,
		    c->tasks[j].name) : -1;
		if ((v->has[h + 1] = eta >= 0))
			tenths_text(eta, v->val[h + 1]);
		if ((v->has[h + 2] = a->sched != NULL &&
		    sched_task_failing_why(a->sched, c->tasks[j].name, why,
		    sizeof(why))))
			(void)job_error_public(why, v->val[h + 2], HOLE_MAX);
	}
	sodium_memzero(raw, sizeof(raw));
}

/* The session's most recent jobs into v. */
static void
vals_jobs(struct app *a, const char *session, struct index_vals *v)
{
	struct journal_recent_job recent[JOURNAL_RECENT_MAX];
	size_t	 i, h;
	int	 n;

	v->njobs = 0;
	if (a->journal == NULL || (n = journal_session_recent(a->journal,
	    session, HOLE_JOBS, recent)) <= 0)
		return;
	for (i = 0; i < (size_t)n; i++) {
		h = hole_job(v, i);
		memcpy(v->val[h], recent[i].id, sizeof(recent[i].id));
		memcpy(v->val[h + 1], recent[i].id, 8);
		v->val[h + 1][8] = '\0';
		memcpy(v->val[h + 2], recent[i].task, sizeof(recent[i].task));
		snprintf(v->val[h + 3], HOLE_MAX, "%s",
		    job_state_name(recent[i].state));
	}
	v->njobs = (size_t)n;
}

static void
vals_free(struct index_vals *v)
{
	if (v->val != NULL)	/* the CSRF token; the rest goes to the page */
		sodium_memzero(v->val[0], sizeof(v->val[0]));
	free(v->val);
	free(v->has);
}

/* Everything that changes per request of session; 0, or -1 (ENOMEM). */
static int
vals_fill(struct app *a, const char *session, const char *csrf,
    struct index_vals *v)
{
	size_t	 k;

	memset(v, 0, sizeof(*v));
	v->nlocks = a->conf->nlocks;
	v->ntasks = a->conf->ntasks;
	v->n = 1 + 2 * v->nlocks + 3 * v->ntasks + 4 * HOLE_JOBS;
	/* Not calloc: zeroing n * HOLE_MAX bytes (15 KB here) per page
	 * cost more than the holes' texts; each starts empty instead. */
	if ((v->val = reallocarray(NULL, v->n, sizeof(*v->val))) == NULL ||
	    (v->has = calloc(v->n, 1)) == NULL) {
		vals_free(v);
		return -1;
	}
	for (k = 0; k < v->n; k++)
		v->val[k][0] = '\0';
	snprintf(v->val[0], HOLE_MAX, "%s", csrf);
	vals_locks(a, v);
	vals_tasks(a, v);
	vals_jobs(a, session, v);
	return 0;
}

/* The locks of the page into list locks. */
static void
index_locks(struct app *a, struct tval *locks, struct index_vals *v)
{
	const struct conf	*c = a->conf;
	struct tval		*lv;
	size_t			 j;

	for (j = 0; j < c->nlocks; j++) {
		if ((lv = tval_push_map(locks)) == NULL)
			break;
		tval_set_str(lv, "name", c->locks[j].name);
		set_int(lv, "slots", c->locks[j].slots);
		set_int(lv, "queue", c->locks[j].queue);
		tval_set_str(lv, "busy", V(v, hole_lock(j)));
		tval_set_str(lv, "queued", V(v, hole_lock(j) + 1));
		tval_set_str(lv, "order", c->locks[j].order == CONF_ORDER_FAIR ?
		    "fair" : "fifo");
	}
}

/* The page's context over v; fs (may be NULL) re-fills one form. */
static struct tval *
index_context(struct app *a, struct index_vals *v,
    const struct form_state *fs)
{
	const struct conf	*c = a->conf;
	struct tval		*ctx, *list, *jv;
	size_t			 i, h;

	ctx = app_page_context("Tasks");
	if (fs != NULL)
		tval_set_str(ctx, "notice", "Some fields need attention: "
		    "see the messages below.");
	if ((list = tval_set_list(ctx, "locks")) != NULL)
		index_locks(a, list, v);
	for (i = 0; (list = i == 0 ? tval_set_list(ctx, "tasks") : list) !=
	    NULL && i < c->ntasks; i++)
		task_context(list, &c->tasks[i], &a->forms[i], v, i,
		    fs != NULL && strcmp(fs->task, c->tasks[i].name) == 0 ?
		    fs : NULL);
	if ((list = tval_set_list(ctx, "jobs")) == NULL)
		return ctx;
	for (i = 0; i < v->njobs; i++) {
		h = hole_job(v, i);
		if ((jv = tval_push_map(list)) == NULL)
			break;
		tval_set_str(jv, "id", V(v, h));
		tval_set_str(jv, "short_id", V(v, h + 1));
		tval_set_str(jv, "task", V(v, h + 2));
		tval_set_str(jv, "state", V(v, h + 3));
	}
	return ctx;
}

/*
 * A pre-rendered page: its bytes with the sentinels taken out, and where
 * each hole goes. Its shape (which forms show an ETA or a failure, how
 * many recent jobs) is its key: the same holes, other texts.
 */
struct skel_hole {
	size_t		 at;		/* offset in text */
	size_t		 k;		/* hole index */
};

struct skel {
	char		*key;
	size_t		 keylen;
	struct buf	 text;
	struct skel_hole *holes;
	size_t		 nholes;
};

/* Shapes kept per generation; a page of another shape is rendered. */
#define APP_SKELS	32
/* Tasks a shape is kept for, at most (its key's bytes). */
#define APP_SKEL_TASKS	256

struct app_skels {
	pthread_mutex_t		 mu;	/* against a second maker */
	_Atomic(struct skel *)	 s[APP_SKELS];
};

struct app_skels *
app_skels_new(void)
{
	struct app_skels	*k;
	size_t			 i;

	if ((k = calloc(1, sizeof(*k))) == NULL)
		return NULL;
	pthread_mutex_init(&k->mu, NULL);
	for (i = 0; i < APP_SKELS; i++)
		atomic_init(&k->s[i], NULL);
	return k;
}

static void
skel_free(struct skel *sk)
{
	if (sk == NULL)
		return;
	free(sk->key);
	buf_free(&sk->text);
	free(sk->holes);
	free(sk);
}

void
app_skels_free(struct app_skels *k)
{
	size_t	 i;

	if (k == NULL)
		return;
	for (i = 0; i < APP_SKELS; i++)
		skel_free(atomic_load(&k->s[i]));
	pthread_mutex_destroy(&k->mu);
	free(k);
}

/* The shape of v as a key into key (room for ntasks + 1 bytes). */
static size_t
vals_key(const struct index_vals *v, char *key)
{
	size_t	 t, h, n = 0;

	for (t = 0; t < v->ntasks; t++) {
		h = hole_task(v, t);
		key[n++] = (char)('0' + v->has[h + 1] + 2 * v->has[h + 2]);
	}
	key[n++] = (char)('a' + v->njobs);
	return n;
}

/*
 * Takes the sentinels out of the rendered page r, noting where each
 * hole was, into sk. 0, or -1 (ENOMEM, or a sentinel that is not one).
 */
static int
skel_split(struct skel *sk, const struct buf *r, size_t nvals)
{
	const char	*p = r->data, *end = r->data + r->len, *m, *e;
	char		*stop;
	size_t		 cap = 0;
	unsigned long	 k;

	while ((m = memchr(p, '\001', (size_t)(end - p))) != NULL) {
		buf_append(&sk->text, p, (size_t)(m - p));
		if ((e = memchr(m, '\002', (size_t)(end - m))) == NULL)
			return -1;
		k = strtoul(m + 1, &stop, 10);
		if (stop != e || k >= nvals)
			return -1;
		if (sk->nholes == cap) {
			cap = cap == 0 ? 32 : cap * 2;
			if ((sk->holes = reallocarray(sk->holes, cap,
			    sizeof(*sk->holes))) == NULL)
				return -1;
		}
		sk->holes[sk->nholes].at = sk->text.len;
		sk->holes[sk->nholes++].k = k;
		p = e + 1;
	}
	buf_append(&sk->text, p, (size_t)(end - p));
	return buf_ok(&sk->text) ? 0 : -1;
}

/* Renders the page of v's shape with sentinels: a skeleton, or NULL. */
static struct skel *
skel_make(struct app *a, struct index_vals *v, const char *key,
    size_t keylen)
{
	struct skel	*sk;
	struct tval	*ctx;
	struct buf	 r;
	int		 rc = -1;

	if ((sk = calloc(1, sizeof(*sk))) == NULL)
		return NULL;
	buf_init(&sk->text);
	buf_init(&r);
	v->skel = 1;
	ctx = index_context(a, v, NULL);
	v->skel = 0;
	if (ctx != NULL && tval_ok(ctx) && (sk->key = malloc(keylen)) != NULL &&
	    tmpl_render(a->tmpl, "index", ctx, &r) == 0 && buf_ok(&r)) {
		memcpy(sk->key, key, keylen);
		sk->keylen = keylen;
		rc = skel_split(sk, &r, v->n);
	}
	tval_free(ctx);
	buf_free(&r);
	if (rc == -1) {
		skel_free(sk);
		return NULL;
	}
	return sk;
}

/*
 * The skeleton of v's shape for this generation, made and kept when it
 * is new; NULL when it cannot be (then the page is rendered as it is).
 */
static struct skel *
skel_get(struct app *a, struct index_vals *v)
{
	struct app_skels	*k = a->gen != NULL ? a->gen->skels : NULL;
	struct skel		*sk, *made;
	char			 key[APP_SKEL_TASKS + 1];
	size_t			 i, keylen;

	if (k == NULL || v->ntasks > APP_SKEL_TASKS)
		return NULL;
	keylen = vals_key(v, key);
	for (i = 0; i < APP_SKELS && (sk = atomic_load(&k->s[i])) != NULL;
	    i++)
		if (sk->keylen == keylen && memcmp(sk->key, key, keylen) == 0)
			return sk;
	if (i == APP_SKELS || (made = skel_make(a, v, key, keylen)) == NULL)
		return NULL;
	/* Another thread may have made the same one meanwhile. */
	pthread_mutex_lock(&k->mu);
	for (i = 0; i < APP_SKELS && (sk = atomic_load(&k->s[i])) != NULL;
	    i++)
		if (sk->keylen == keylen && memcmp(sk->key, key, keylen) == 0)
			break;
	if (i < APP_SKELS && sk == NULL) {
		atomic_store(&k->s[i], made);
		sk = made;
		made = NULL;
	}
	pthread_mutex_unlock(&k->mu);
	if (made != NULL) {	/* not kept: used this once */
		skel_free(made);
		return NULL;
	}
	return sk;
}

/* The page: sk's text with v's holes written in, HTML-escaped. */
static void
skel_fill(const struct skel *sk, const struct index_vals *v, struct buf *out)
{
	size_t	 i, at = 0;

	buf_reserve(out, sk->text.len + 1024);
	for (i = 0; i < sk->nholes; i++) {
		buf_append(out, sk->text.data + at, sk->holes[i].at - at);
		buf_html(out, v->val[sk->holes[i].k],
		    strlen(v->val[sk->holes[i].k]));
		at = sk->holes[i].at;
	}
	buf_append(out, sk->text.data + at, sk->text.len - at);
}

void
app_index_render(struct app *a, const struct http_req *req, int status,
    const struct form_state *fs, struct http_resp *resp)
{
	struct index_vals	 v;
	struct tval		*ctx;
	struct skel		*sk;
	char			 csrf[65];

	app_csrf_token(a, req->session, csrf);
	if (vals_fill(a, req->session, csrf, &v) == -1) {
		sodium_memzero(csrf, sizeof(csrf));
		http_resp_text(resp, 500, "out of memory");
		return;
	}
	sodium_memzero(csrf, sizeof(csrf));
	/* A form re-filled is this request's alone: rendered, never kept. */
	if (fs == NULL && (sk = skel_get(a, &v)) != NULL) {
		buf_reset(&resp->body);
		skel_fill(sk, &v, &resp->body);
		if (buf_ok(&resp->body))
			app_page_headers(resp, status);
		else
			http_resp_text(resp, 500, "out of memory");
	} else {
		ctx = index_context(a, &v, fs);
		app_render_page(a, "index", ctx, status, resp);
		tval_free(ctx);
	}
	vals_free(&v);
}

void
app_index_page(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	(void)arg;
	app_index_render(a, req, 200, NULL, resp);
}
