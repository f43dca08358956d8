/*
 * app_submit: POST /tasks/{task}, a submission in named steps: look up
 * the task, parse the body (urlencoded or multipart), check CSRF, check
 * the fields, turn them into params (the params codec), check the
 * uploads (app_upload.c), check the nonce, store the uploads under the
 * id the job will take, submit, answer. See app_int.h.
 */
#include "config.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app_int.h"
#include "multipart.h"
#include "params.h"

/* One submission, as its steps fill it in. */
struct submission {
	const struct conf_task	*task;
	struct form_state	 fs;
	char			 errs[KERNEL_MAX_PARAMS][128];
	char			 ferr[160];	/* the form's own error */
	int			 bad;		/* fields refused */
	char			*params;	/* the codec's text, or NULL */
	const char		*nonce;
	struct multipart	 files;		/* the body's parts */
	struct uploads		 up;		/* the files, checked */
	char			*inputs;	/* the stored uploads' JSON */
	char			 staged[JOB_ID_LEN + 1]; /* their job id, or "" */
	char			 id[JOB_ID_LEN + 1];
	int			 retry;		/* Retry-After it suggests */
};

/* What Retry-After a refused submission carries. */
enum submit_retry {
	SUBMIT_RETRY_NONE,
	SUBMIT_RETRY_SCHED,	/* the scheduler's suggestion */
	SUBMIT_RETRY_DRAIN	/* server.drain_timeout + 1 */
};

/* The cap a refusal names with its value: "you already have N ...". */
enum submit_cap {
	SUBMIT_CAP_NONE,
	SUBMIT_CAP_SESSION,	/* sessions.max_active */
	SUBMIT_CAP_CLIENT	/* clients.max_active */
};

static const struct submit_cap_text {
	const char		*prefix;	/* before the value */
	size_t			 off;		/* the int in struct conf */
} submit_caps[] = {
	[SUBMIT_CAP_SESSION] = { "you already have ",
	    offsetof(struct conf, max_active) },
	[SUBMIT_CAP_CLIENT] = { "clients.max_active: your address already "
	    "has ", offsetof(struct conf, client_max_active) },
};

/*
 * The answer to each refusal of sched_submit. An rc without an entry
 * (SCHED_ERROR, or one added later) is a 500 and a log line.
 */
static const struct submit_refusal {
	int			 status;
	const char		*message;
	enum submit_cap		 cap;
	enum submit_retry	 retry;
} submit_refusals[] = {
	[SCHED_QUEUE_FULL] = { 503, "the queue for this task is full; "
	    "try again later", SUBMIT_CAP_NONE, SUBMIT_RETRY_SCHED },
	[SCHED_SESSION_LIMIT] = { 429, "jobs queued or running; wait for "
	    "one to finish", SUBMIT_CAP_SESSION, SUBMIT_RETRY_SCHED },
	[SCHED_CLIENT_LIMIT] = { 429, "jobs queued or running; wait for "
	    "one to finish", SUBMIT_CAP_CLIENT, SUBMIT_RETRY_SCHED },
	[SCHED_DRAINING] = { 503, "the server is shutting down; submit "
	    "again in a moment", SUBMIT_CAP_NONE, SUBMIT_RETRY_DRAIN },
	[SCHED_UNKNOWN_TASK] = { 404, "no such task", SUBMIT_CAP_NONE,
	    SUBMIT_RETRY_NONE },
	[SCHED_CONFLICT] = { 409, "nonce: already used for a job of another "
	    "task", SUBMIT_CAP_NONE, SUBMIT_RETRY_NONE },
	[SCHED_CHANGED] = { 503, "the configuration changed; try again",
	    SUBMIT_CAP_NONE, SUBMIT_RETRY_SCHED },
	[SCHED_JOURNAL_DOWN] = { 503, "the server cannot record new jobs "
	    "right now; try again later", SUBMIT_CAP_NONE, SUBMIT_RETRY_SCHED },
};

#define SUBMIT_NREFUSALS (sizeof(submit_refusals) / sizeof(submit_refusals[0]))

/* Step 1: the task; answers 404 and returns -1 if none. */
static int
submit_find_task(struct app *a, const struct http_req *req,
    const char *task_name, struct submission *sub, struct http_resp *resp)
{
	if ((sub->task = conf_find_task(a->conf, task_name)) == NULL) {
		app_error_answer(a, req, 404, "no such task", 0, resp);
		return -1;
	}
	sub->fs.task = sub->task->name;
	return 0;
}

/* 1 when field i of f is the first one of its name. */
static int
field_is_first(const struct form *f, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(f->fields[j].key, f->fields[i].key) == 0)
			return 0;
	return 1;
}

/* Index of the input called name of task t, or -1. */
static int
input_index(const struct conf_task *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->ninputs; i++)
		if (strcmp(t->inputs[i].name, name) == 0)
			return (int)i;
	return -1;
}

/*
 * A checkbox sends nothing when it is not ticked, so the form puts a
 * hidden "false" before it: a bool given twice as "false" then "true" is
 * the form's own way of saying true (the last one counts).
 */
static int
bool_pair(const struct http_req *req, const struct kparam_spec *p)
{
	const char	*v[2];
	size_t		 i, n = 0;

	if (p->type != KPARAM_BOOL || form_count(&req->form, p->name) != 2)
		return 0;
	for (i = 0; i < req->form.nfields && n < 2; i++)
		if (strcmp(req->form.fields[i].key, p->name) == 0)
			v[n++] = req->form.fields[i].val;
	return n == 2 && strcmp(v[0], "false") == 0 &&
	    strcmp(v[1], "true") == 0;
}

/* The text of input p in the form (the last of a bool pair), or NULL. */
static const char *
field_text(const struct http_req *req, const struct kparam_spec *p)
{
	return bool_pair(req, p) ? "true" : form_get(&req->form, p->name);
}

/*
 * Step 4: every field must be a parameter (or csrf/nonce), given once;
 * each one refused is counted in sub->bad. The page quotes the name cut
 * to 40 bytes, on a character boundary: a cut inside a UTF-8 sequence
 * would put invalid text in it.
 */
static void
submit_check_fields(const struct http_req *req, struct submission *sub)
{
	const char	*key;
	size_t		 i;
	int		 first, idx;

	for (i = 0; i < req->form.nfields && i < FORM_MAX_FIELDS; i++) {
		key = req->form.fields[i].key;
		first = field_is_first(&req->form, i);
		if (strcmp(key, "csrf") == 0 || strcmp(key, "nonce") == 0)
			continue;
		if ((idx = input_index(sub->task, key)) < 0) {
			snprintf(sub->ferr, sizeof(sub->ferr), "unknown field "
			    "'%.*s'", (int)form_utf8_cut(key, 40), key);
			sub->fs.form_error = sub->ferr;
			if (first)
				sub->fs.field_errors[i] = "unknown field";
			sub->bad++;
		} else if (form_count(&req->form, key) > 1 &&
		    !bool_pair(req, &sub->task->inputs[idx])) {
			snprintf(sub->ferr, sizeof(sub->ferr), "field '%.*s' "
			    "given more than once", (int)form_utf8_cut(key,
			    40), key);
			sub->fs.form_error = sub->ferr;
			if (first)
				sub->fs.field_errors[i] =
				    "given more than once";
			sub->bad++;
		}
	}
}

/*
 * The params of task t from the form through the params codec: each
 * given field's text checked (its error in fs and errs, *bad counted),
 * the others at their default. Returns the codec's text (caller frees),
 * or NULL when a field was refused (*bad > 0) or on ENOMEM.
 */
static char *
form_params(const struct http_req *req, const struct conf_task *t,
    struct form_state *fs, char errs[][128], int *bad)
{
	const struct kparam_spec *p;
	json_t			*obj, *v;
	const char		*text;
	char			*out = NULL;
	size_t			 i;

	if ((obj = json_object()) == NULL)
		return NULL;
	for (i = 0; i < t->ninputs; i++) {
		p = &t->inputs[i];
		text = field_text(req, p);
		if (text == NULL && KPARAM_IS_UPLOAD(p->type))
			continue;	/* app_uploads_check's */
		if (text == NULL)
			v = params_default_value(p);
		else if ((v = params_value_from_text(p, text, errs[i],
		    sizeof(errs[i]))) == NULL) {
			fs->errors[i] = errs[i];
			(*bad)++;
		}
		if (text != NULL)
			fs->values[i] = text;
		if (v != NULL && json_object_set_new(obj, p->name, v) == -1)
			goto out;
	}
	if (*bad == 0)
		out = params_encode(t->inputs, t->ninputs, obj);
out:
	json_decref(obj);
	return out;
}

/*
 * Answers 400 for a form with field errors: JSON with one key per field
 * name, or the app page re-rendered with the messages.
 */
static void
answer_field_errors(struct app *a, struct http_req *req,
    const struct submission *sub, struct http_resp *resp)
{
	const struct conf_task	*t = sub->task;
	size_t			 i;
	int			 n = 0;

	if (!http_wants_json(req)) {
		app_index_render(a, req, 400, &sub->fs, resp);
		return;
	}
	app_json_400_begin(resp, "invalid fields");
	for (i = 0; i < req->form.nfields && i < FORM_MAX_FIELDS; i++)
		if (sub->fs.field_errors[i] != NULL)
			app_json_400_field(resp, &n, req->form.fields[i].key,
			    sub->fs.field_errors[i]);
	/* A parameter given twice is already a key: one message per name. */
	for (i = 0; i < t->ninputs; i++)
		if (sub->fs.errors[i] != NULL && (form_count(&req->form,
		    t->inputs[i].name) <= 1 || bool_pair(req, &t->inputs[i])))
			app_json_400_field(resp, &n, t->inputs[i].name,
			    sub->fs.errors[i]);
	if (sub->fs.extra_field != NULL)
		app_json_400_field(resp, &n, sub->fs.extra_field,
		    sub->fs.extra_error);
	app_json_400_end(resp);
}

/*
 * Steps 4 to 6: the fields, the params and the nonce. Returns 0 with
 * sub->params and sub->nonce set, or -1 after answering (400, or 500 on
 * ENOMEM).
 */
static int
submit_check(struct app *a, struct http_req *req, struct submission *sub,
    struct http_resp *resp)
{
	submit_check_fields(req, sub);
	sub->params = form_params(req, sub->task, &sub->fs, sub->errs,
	    &sub->bad);
	app_uploads_check(sub->task, &sub->files, &sub->up, &sub->fs,
	    sub->errs, sub->ferr, sizeof(sub->ferr), &sub->bad);
	if (sub->bad > 0) {
		answer_field_errors(a, req, sub, resp);
		return -1;
	}
	if ((sub->nonce = form_get(&req->form, "nonce")) == NULL)
		sub->nonce = "";
	if (strlen(sub->nonce) > JOB_NONCE_MAX) {
		app_field_error_answer(a, req, "nonce", "at most 64 "
		    "characters", resp);
		return -1;
	}
	if (sub->params == NULL) {
		app_error_answer(a, req, 500, "out of memory", 0, resp);
		return -1;
	}
	return 0;
}

/*
 * Step 1b: a body larger than this task takes (its fields and uploads)
 * is 413 before anything is parsed. Returns 0, or -1 after answering.
 */
static int
submit_body_limit(struct app *a, const struct http_req *req,
    const struct submission *sub, struct http_resp *resp)
{
	char	 text[160];

	if ((long long)req->body_len <= (long long)sub->task->max_body)
		return 0;
	snprintf(text, sizeof(text), "request body larger than the %ld bytes "
	    "this task takes", sub->task->max_body);
	app_error_answer(a, req, 413, text, 0, resp);
	return -1;
}

/*
 * Step 7: the uploads stored under a new id, which the job takes if it
 * is admitted (nothing else knows the id until then). A disk that cannot
 * take them is 503, as a journal that cannot write is. Returns 0, or -1
 * after answering.
 */
static int
submit_store(struct app *a, const struct http_req *req,
    struct submission *sub, struct http_resp *resp)
{
	char	 err[300];

	if (sub->up.n == 0)
		return 0;
	job_new_id(sub->staged);
	if ((sub->inputs = app_uploads_store(a, sub->staged, &sub->up, err,
	    sizeof(err))) != NULL)
		return 0;
	fprintf(stderr, "level=error msg=\"uploads not stored\" task=%s "
	    "error=\"%s\"\n", sub->task->name, err);
	sub->staged[0] = '\0';
	app_error_answer(a, req, 503, "the uploaded files could not be "
	    "stored; nothing was started, try again later", 5, resp);
	return -1;
}

/* Step 8: the answer to sched_submit's rc. */
static void
submit_answer(struct app *a, const struct http_req *req,
    const struct submission *sub, enum sched_rc rc, struct http_resp *resp)
{
	const struct submit_refusal	*r;
	char				 loc[80], text[160];
	int				 retry = 0, cap;

	if (rc == SCHED_OK) {
		snprintf(loc, sizeof(loc), "/jobs/%s", sub->id);
		if (http_wants_json(req)) {
			http_resp_header(resp, "Location", loc);
			app_job_json_answer(a, sub->id, req->session, 202,
			    resp);
		} else
			http_resp_redirect(resp, loc);
		return;
	}
	if ((unsigned)rc >= SUBMIT_NREFUSALS ||
	    (r = &submit_refusals[rc])->status == 0) {
		/* func= keeps the name the log has always carried. */
		fprintf(stderr, "level=error func=handle_submit task=%s "
		    "msg=\"submit failed\" rc=%d\n", sub->task->name, (int)rc);
		app_error_answer(a, req, 500, "the job could not be recorded; "
		    "nothing was started", 0, resp);
		return;
	}
	if (r->retry == SUBMIT_RETRY_SCHED)
		retry = sub->retry;
	else if (r->retry == SUBMIT_RETRY_DRAIN)
		retry = a->conf->drain_timeout + 1;
	if (r->cap != SUBMIT_CAP_NONE) {
		memcpy(&cap, (const char *)a->conf + submit_caps[r->cap].off,
		    sizeof(cap));
		snprintf(text, sizeof(text), "%s%d %s",
		    submit_caps[r->cap].prefix, cap, r->message);
	} else
		snprintf(text, sizeof(text), "%s", r->message);
	app_error_answer(a, req, r->status, text, retry, resp);
}

/*
 * Draining is the scheduler's answer (SCHED_DRAINING), given after its
 * nonce lookup: a repeated submission during a shutdown still gets the
 * job it already made.
 */
void
app_submit(struct app *a, struct http_req *req, const char *task_name,
    struct http_resp *resp)
{
	struct submission	 sub;
	struct sched_request	 rq;
	enum sched_rc		 rc;

	memset(&sub, 0, sizeof(sub));
	if (submit_find_task(a, req, task_name, &sub, resp) == -1 ||
	    submit_body_limit(a, req, &sub, resp) == -1 ||
	    app_parse_upload_body(a, req, &sub.files, resp) == -1 ||
	    app_check_csrf(a, req, resp) == -1 ||
	    submit_check(a, req, &sub, resp) == -1 ||
	    submit_store(a, req, &sub, resp) == -1)
		goto out;
	memset(&rq, 0, sizeof(rq));
	rq.task = sub.task->name;
	rq.sig = sub.task->inputs_sig;
	rq.session = req->session;
	rq.client = req->remote_addr;
	rq.nonce = sub.nonce;
	rq.params = sub.params;
	rq.inputs = sub.inputs;
	rq.input_bytes = sub.up.bytes;
	rq.id = sub.staged[0] != '\0' ? sub.staged : NULL;
	rc = sched_submit_req(a->sched, &rq, sub.id, &sub.retry);
	/* Refused, or the job an earlier use of the nonce made: not ours. */
	if (sub.staged[0] != '\0' && (rc != SCHED_OK ||
	    strcmp(sub.id, sub.staged) != 0))
		app_uploads_discard(a, sub.staged);
	submit_answer(a, req, &sub, rc, resp);
out:
	free(sub.params);
	free(sub.inputs);
	multipart_free(&sub.files);
}
