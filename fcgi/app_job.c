/*
 * app_job: a job's page, its JSON and its cancel (its files are
 * app_files.c's).
 * Every lookup is scoped to the request's session: another session's job
 * is "no such job". See app_int.h.
 */
#include "config.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app_int.h"

/*
 * The text a table cell shows for v: a string without its quotes, a
 * number as its shortest JSON text that reads back the same, anything
 * else (objects, arrays, true, false, null) as its compact JSON. Returns
 * a new tval, or NULL on ENOMEM.
 */
static struct tval *
json_cell(const json_t *v)
{
	struct tval	*cell;
	struct buf	 b;
	char		*text;

	if (json_is_string(v))
		return tval_strn(json_string_value(v), json_string_length(v));
	buf_init(&b);
	if (json_is_integer(v))
		buf_printf(&b, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		buf_json_num(&b, json_real_value(v));
	else if ((text = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) !=
	    NULL) {
		buf_puts(&b, text);
		free(text);
	} else
		b.oom = 1;
	cell = buf_ok(&b) ? tval_str(buf_cstr(&b)) : NULL;
	buf_free(&b);
	return cell;
}

/*
 * Pushes one {key, value} row onto list for each member of the JSON
 * object in text (the job's params or result, as kernels and the params
 * codec write them), in the text's order. Text that is not an object
 * (or not JSON, or has a key twice) gives no rows.
 */
static void
json_rows(const char *text, struct tval *list)
{
	json_t		*obj, *v;
	const char	*key;
	struct tval	*row;

	if (text == NULL || (obj = json_loads(text, JSON_REJECT_DUPLICATES,
	    NULL)) == NULL)
		return;
	if (json_is_object(obj))
		json_object_foreach(obj, key, v) {
			if ((row = tval_push_map(list)) == NULL)
				break;
			tval_set_str(row, "key", key);
			tval_set(row, "value", json_cell(v));
		}
	json_decref(obj);
}

/* What the job page shows of a job in each state; now in ms. */
typedef void	job_state_context(struct tval *ctx, const struct job *,
		    int64_t now);

static void
job_queued_context(struct tval *ctx, const struct job *j, int64_t now)
{
	(void)now;
	tval_set(ctx, "queued", tval_bool(1));
	tval_set(ctx, "first", tval_bool(j->position <= 0));
	tval_set(ctx, "ahead", tval_printf("%d", j->position));
	if (j->eta_ms >= 0)
		tval_set(ctx, "eta_s", tval_printf("%.1f",
		    (double)j->eta_ms / 1000.0));
}

static void
job_running_context(struct tval *ctx, const struct job *j, int64_t now)
{
	tval_set(ctx, "running", tval_bool(1));
	if (j->has_progress) {
		tval_set(ctx, "progress", tval_bool(1));
		tval_set(ctx, "progress_pct", tval_printf("%.0f",
		    j->progress * 100));
		if (j->progress_message != NULL)
			tval_set_str(ctx, "progress_message",
			    j->progress_message);
	}
	tval_set(ctx, "elapsed_s", tval_printf("%.1f",
	    (double)(now - j->started_ms) / 1000.0));
}

static void
job_done_context(struct tval *ctx, const struct job *j, int64_t now)
{
	struct tval	*rows;
	char		 err[JOB_ERROR_SHOWN];

	(void)now;
	tval_set(ctx, "done", tval_bool(1));
	if (j->error != NULL)	/* done, but its files could not be kept */
		tval_set_str(ctx, "note", job_error_public(j->error, err,
		    sizeof(err)));
	tval_set(ctx, "wait_ms", tval_printf("%lld",
	    (long long)(j->started_ms - j->created_ms)));
	tval_set(ctx, "run_ms", tval_printf("%lld",
	    (long long)(j->finished_ms - j->started_ms)));
	rows = tval_list();
	json_rows(j->result, rows);
	tval_set(ctx, "result", rows);
}

/* Failed, expired, cancelled. */
static void
job_ended_badly_context(struct tval *ctx, const struct job *j, int64_t now)
{
	char	 err[JOB_ERROR_SHOWN];

	(void)now;
	tval_set(ctx, "ended_badly", tval_bool(1));
	if (j->error != NULL)
		tval_set_str(ctx, "error", job_error_public(j->error, err,
		    sizeof(err)));
}

static job_state_context *const job_state_contexts[] = {
	[JOB_QUEUED] = job_queued_context,
	[JOB_RUNNING] = job_running_context,
	[JOB_DONE] = job_done_context,
	[JOB_FAILED] = job_ended_badly_context,
	[JOB_EXPIRED] = job_ended_badly_context,
	[JOB_CANCELLED] = job_ended_badly_context,
};

#define JOB_NSTATE_CONTEXTS \
	(sizeof(job_state_contexts) / sizeof(job_state_contexts[0]))

/* The job page's context of job j for session's page; caller frees. */
static struct tval *
job_context(struct app *a, const struct job *j, const char *session)
{
	const struct conf_task	*t = conf_find_task(a->conf, j->task);
	struct tval		*ctx, *rows;
	char			 csrf[65];

	app_csrf_token(a, session, csrf);
	ctx = app_page_context("Job");
	tval_set_str(ctx, "id", j->id);
	tval_set_str(ctx, "task", j->task);
	tval_set_str(ctx, "task_title", t != NULL && t->title != NULL ?
	    t->title : j->task);
	tval_set_str(ctx, "state", job_state_name(j->state));
	tval_set_str(ctx, "csrf", csrf);
	tval_set_str(ctx, "device", j->device[0] != '\0' ? j->device : "cpu");
	if (!job_state_final(j->state))
		tval_set_str(ctx, "refresh", j->state == JOB_QUEUED ? "2" :
		    "1");
	if (j->removed_ms > 0)
		tval_set(ctx, "files_removed", tval_bool(1));
	if (j->unsaved)	/* the page says it plainly, and why */
		tval_set_str(ctx, "unsaved", a->journal != NULL &&
		    journal_unwritable(a->journal) != NULL ?
		    journal_unwritable(a->journal) : "the server could not "
		    "record it yet");
	if ((unsigned)j->state < JOB_NSTATE_CONTEXTS &&
	    job_state_contexts[j->state] != NULL)
		job_state_contexts[j->state](ctx, j, job_now_ms());
	else
		job_ended_badly_context(ctx, j, 0);
	rows = tval_list();
	json_rows(j->params, rows);
	tval_set(ctx, "params", rows);
	app_files_context(ctx, a, j);
	return ctx;
}

void
app_job_page(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	struct job	 j;
	struct tval	*ctx;

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK) {
		app_error_answer(a, req, 404, "no such job", 0, resp);
		return;
	}
	ctx = job_context(a, &j, req->session);
	app_render_page(a, "job", ctx, 200, resp);
	tval_free(ctx);
	job_clear(&j);
}

void
app_job_json_answer(struct app *a, const char *id, const char *session,
    int status, struct http_resp *resp)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, session, &j) != SCHED_OK) {
		http_resp_json_error(resp, 404, "no such job");
		return;
	}
	resp->status = status;
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_reset(&resp->body);
	job_to_json(&j, &resp->body);
	buf_putc(&resp->body, '\n');
	job_clear(&j);
}

void
app_job_json(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	app_job_json_answer(a, id, req->session, 200, resp);
}

void
app_job_cancel(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	enum sched_rc	 rc;
	char		 loc[80];

	if (app_parse_form_body(a, req, resp) == -1 ||
	    app_check_csrf(a, req, resp) == -1)
		return;
	if ((rc = sched_cancel(a->sched, id, req->session)) == SCHED_CONFLICT)
		app_error_answer(a, req, 409, "this job is no longer queued: "
		    "it runs or has ended, and cannot be cancelled", 0, resp);
	else if (rc != SCHED_OK)
		app_error_answer(a, req, 404, "no such job", 0, resp);
	else if (http_wants_json(req))
		app_job_json_answer(a, id, req->session, 200, resp);
	else {
		snprintf(loc, sizeof(loc), "/jobs/%s", id);
		http_resp_redirect(resp, loc);
	}
}
