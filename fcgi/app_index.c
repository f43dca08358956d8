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
 * Appends the form of task t (its form texts f) to list tasks. Every
 * value is built inside the page's tree (tval builders), so the whole
 * page is a few allocations.
 */
static void
task_context(struct app *a, struct tval *tasks, const struct conf_task *t,
    const struct app_task_form *f, const char *csrf, const char *nonce,
    const struct form_state *fs)
{
	struct tval		*tv, *params, *locks;
	char			 why[256], shown[256];
	int64_t			 eta;
	size_t			 i;
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
	tval_set_str(tv, "csrf", csrf);
	tval_set_str(tv, "nonce", nonce);
	locks = tval_set_list(tv, "locks");
	for (i = 0; locks != NULL && i < t->nlocks; i++)
		tval_set_str(tval_push_map(locks), "name", t->locks[i]);
	if (a->sched != NULL && sched_task_failing_why(a->sched, t->name,
	    why, sizeof(why)))
		tval_set_str(tv, "failing", job_error_public(why, shown,
		    sizeof(shown)));
	eta = a->sched != NULL ? sched_task_eta(a->sched, t->name) : -1;
	if (eta >= 0)
		tval_set_printf(tv, "eta_s", "%.1f", (double)eta / 1000.0);
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

/* Forms on the app page that get a nonce from one randombytes_buf call. */
#define APP_NONCE_BATCH	16

/*
 * Sets key in map to the decimal text of v: the page shows a few of these
 * per lock, and printf costs more than building the whole rest of a map.
 */
static void
set_int(struct tval *map, const char *key, long long v)
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
	tval_set_str(map, key, p);
}

/* The locks of the page, with their live counts, into list locks. */
static void
index_locks(struct app *a, struct tval *locks)
{
	const struct conf	*c = a->conf;
	struct tval		*lv;
	int			 busy, queued;
	size_t			 j;

	for (j = 0; j < c->nlocks; j++) {
		busy = queued = 0;
		if (a->sched != NULL)
			sched_lock_counts(a->sched, j, &busy, &queued);
		if ((lv = tval_push_map(locks)) == NULL)
			break;
		tval_set_str(lv, "name", c->locks[j].name);
		set_int(lv, "slots", c->locks[j].slots);
		set_int(lv, "queue", c->locks[j].queue);
		set_int(lv, "busy", busy);
		set_int(lv, "queued", queued);
		tval_set_str(lv, "order", c->locks[j].order == CONF_ORDER_FAIR ?
		    "fair" : "fifo");
	}
}

/* One form per task into list tasks; fs (may be NULL) re-fills one. */
static void
index_tasks(struct app *a, struct tval *tasks, const char *csrf,
    const struct form_state *fs)
{
	const struct conf	*c = a->conf;
	char			 nonce[33];
	unsigned char		 raw[APP_NONCE_BATCH][16];
	size_t			 j;

	for (j = 0; j < c->ntasks; j++) {
		/*
		 * One nonce per form: each form is its own submission. The
		 * random bytes of up to APP_NONCE_BATCH forms come from one
		 * call (one getrandom), not one call per form.
		 */
		if (j % APP_NONCE_BATCH == 0)
			randombytes_buf(raw, sizeof(raw[0]) *
			    (c->ntasks - j < APP_NONCE_BATCH ?
			    c->ntasks - j : APP_NONCE_BATCH));
		sodium_bin2hex(nonce, sizeof(nonce), raw[j % APP_NONCE_BATCH],
		    sizeof(raw[0]));
		task_context(a, tasks, &c->tasks[j], &a->forms[j], csrf, nonce,
		    fs != NULL && strcmp(fs->task, c->tasks[j].name) == 0 ?
		    fs : NULL);
	}
	sodium_memzero(raw, sizeof(raw));
}

/* The session's ten most recent jobs into list jobs. */
static void
index_jobs(struct app *a, const char *session, struct tval *jobs)
{
	struct journal_recent_job recent[JOURNAL_RECENT_MAX];
	struct tval	*jv;
	int		 n, i;

	if (a->journal == NULL || (n = journal_session_recent(a->journal,
	    session, 10, recent)) <= 0)
		return;
	for (i = 0; i < n; i++) {
		if ((jv = tval_push_map(jobs)) == NULL)
			break;
		tval_set_str(jv, "id", recent[i].id);
		tval_set_strn(jv, "short_id", recent[i].id, 8);
		tval_set_str(jv, "task", recent[i].task);
		tval_set_str(jv, "state", job_state_name(recent[i].state));
	}
}

void
app_index_render(struct app *a, const struct http_req *req, int status,
    const struct form_state *fs, struct http_resp *resp)
{
	struct tval	*ctx, *list;
	char		 csrf[65];

	app_csrf_token(a, req->session, csrf);
	ctx = app_page_context("Tasks");
	if (fs != NULL)
		tval_set_str(ctx, "notice", "Some fields need attention: "
		    "see the messages below.");
	if ((list = tval_set_list(ctx, "locks")) != NULL)
		index_locks(a, list);
	if ((list = tval_set_list(ctx, "tasks")) != NULL)
		index_tasks(a, list, csrf, fs);
	if ((list = tval_set_list(ctx, "jobs")) != NULL)
		index_jobs(a, req->session, list);
	app_render_page(a, "index", ctx, status, resp);
	tval_free(ctx);
}

void
app_index_page(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	(void)arg;
	app_index_render(a, req, 200, NULL, resp);
}
