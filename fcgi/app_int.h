/*
 * app_int: what the files of the app module share, private to them (the
 * module's contract for others is app.h). The module is split by concern:
 *
 *   app.c         create/free/reload of config generations, the view of
 *                 one request, the route table and its dispatch
 *   app_csrf.c    STATE/secret, CSRF tokens, the session and POST checks
 *   app_page.c    page context, rendering, error answers, the JSON 400
 *   app_index.c   the app page: locks, task forms, recent jobs
 *   app_submit.c  POST /tasks/{task}
 *   app_job.c     job page, result.png, cancel, job JSON
 *   app_status.c  session.json, status.json, metrics, healthz
 *
 * Every handler gets a view (struct app below) of one generation and may
 * be called from any responder thread at once.
 */
#ifndef SLUICE_APP_INT_H
#define SLUICE_APP_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include <sodium.h>

#include "app.h"
#include "events.h"
#include "form.h"
#include "kernel.h"
#include "metrics.h"

/* Requests counted by status class for /metrics (index: status / 100). */
#define APP_STATUS_CLASSES	METRICS_STATUS_CLASSES
/* ... and by status code, 100..599 (index: status - 100). */
#define APP_STATUS_CODES	METRICS_STATUS_CODES

/*
 * The numbers of one parameter spec as the form shows them (min, max,
 * step, default), formatted once per generation so that the app page
 * runs no printf or strtod for them on every request.
 */
struct param_texts {
	char	min[32], max[32], def[32], step[32];
};

/* The form of one task of a generation: its inputs' number texts. */
struct app_task_form {
	const struct conf_task	*task;
	struct param_texts	*params;	/* task->ninputs of them */
};

/*
 * One config generation: the conf and templates that requests read, and
 * the forms of conf's tasks (same index). A SIGHUP publishes a new one
 * with one atomic store. A generation is reference-counted: being the
 * current one is a reference, and each request holds one from its start
 * to its end (app_gen_hold, app_gen_drop), so an old generation is freed
 * when the last request that began on it ends, and a request never sees
 * its generation freed nor takes a mutex to read it.
 */
struct app_gen {
	const struct conf	*conf;
	const struct tmpl_set	*tmpl;
	struct app_task_form	*forms;		/* nforms: conf->ntasks */
	size_t			 nforms;
	struct app_skels	*skels;		/* the app page's static parts */
	int			 owned;		/* the last drop frees conf, tmpl */
	atomic_long		 refs;
};

/*
 * What all threads share: counters and the current generation. A request
 * takes its reference while counted in entering, so that a reload, after
 * publishing the new generation, can wait for the few that loaded the old
 * pointer and have not yet counted their reference (a window of three
 * instructions) before it drops the old generation's "current" reference.
 */
struct app_shared {
	_Atomic(struct app_gen *) gen;
	pthread_mutex_t		 gen_mu;	/* reload against reload */
	atomic_long		 entering;	/* requests taking a reference */
	atomic_long		 live_gens;	/* generations not yet freed */
	atomic_int		 draining;
	atomic_int		 busy, threads;	/* responder threads */
	atomic_llong		 reloads, reload_errors;
	atomic_llong		 requests[APP_STATUS_CLASSES];
	atomic_llong		 by_status[APP_STATUS_CODES];
	/* Set once before the responders start (app_set_device_stats). */
	app_device_stats_fn	*device_stats;
	void			*device_arg;
	app_cluster_stats_fn	*cluster_stats;	/* the same, of the cluster */
	void			*cluster_arg;
	/* Set once before the responders start (app_set_events). */
	struct events		*events;
	char			 gauges_channel[EVENTS_CHANNEL_LEN + 1];
	/* HMAC over the secret with its key blocks hashed once (CSRF). */
	crypto_auth_hmacsha512256_state csrf_key;
};

/* Devices one /metrics answer lists at most. */
#define APP_MAX_DEVICES	256

/*
 * The object the handlers read. The one app_create returns is shared by
 * all threads; app_handle and app_error give each request its own copy
 * (a "view") with conf, tmpl and forms of one generation, so a request
 * never mixes two configs. Shared mutable state lives behind sh, never
 * in the view (draining in a view is its value when the request began).
 */
struct app {
	const struct conf	*conf;
	const struct tmpl_set	*tmpl;
	const struct app_task_form *forms;	/* conf->ntasks of them */
	struct app_gen		*gen;		/* a view's held generation */
	struct sched		*sched;
	struct journal		*journal;
	unsigned char		 secret[APP_SECRET_LEN];
	int64_t			 started_ms;
	atomic_int		 draining;
	struct app_shared	*sh;
};

/*
 * A route's handler: answers req into resp. arg is the route's {task} or
 * {id} ("" when none). Never fails: problems become error answers.
 */
typedef void	app_handler(struct app *, struct http_req *, const char *arg,
		    struct http_resp *);

/* Submitted values and errors of one task's form, when re-rendering it. */
struct form_state {
	const char	*task;
	const char	*values[KERNEL_MAX_PARAMS];
	const char	*errors[KERNEL_MAX_PARAMS];
	const char	*form_error;	/* HTML: a field refused itself */
	/* JSON: a file part refused that is no input of the task. */
	const char	*extra_field, *extra_error;
	/*
	 * JSON: per field of the request's form (same index), why the field
	 * itself is refused (unknown, given more than once), set on its
	 * first occurrence only so that each name is one key; else NULL.
	 */
	const char	*field_errors[FORM_MAX_FIELDS];
};

/* ---- app_body.c ---- */

struct multipart;

/*
 * Parses a POST body as a form: urlencoded, or multipart/form-data whose
 * text parts join req->form as urlencoded fields would. A file part is
 * refused (400 naming its field): nothing here takes files. Returns 0,
 * or -1 after answering 415 (neither encoding) or 400 (malformed).
 */
int		 app_parse_form_body(struct app *, struct http_req *,
		    struct http_resp *);
/*
 * The same for a submission, whose file parts are kept in files (parts
 * pointing into req->body; the caller multipart_free()s it, also on -1).
 */
int		 app_parse_upload_body(struct app *, struct http_req *,
		    struct multipart *files, struct http_resp *);

/* ---- app_upload.c ---- */

/* One file of a submission, checked against its input. */
struct upload {
	const struct kparam_spec	*spec;
	const unsigned char		*data;	/* into the request body */
	size_t				 len;
	char				 type[128];	/* as it will be served */
	const char			*filename;	/* as the client sent it */
	long long			 width, height;	/* images */
	int				 orientation;	/* images: EXIF 1..8 */
};

struct uploads {
	struct upload	 u[KERNEL_MAX_PARAMS];
	size_t		 n;
	int64_t		 bytes;
};

/*
 * Checks the uploads of task t: every file part of files must be one
 * upload input of t, given once, within its limits (an image decoded,
 * image.h; a file's name ending in one of accept), and every upload
 * input that is not optional must be given. Each refusal is a message
 * in errs[i] and fs->errors[i] for input i, or fs->form_error, counted
 * in *bad. Fills up with what passed.
 */
void		 app_uploads_check(const struct conf_task *t,
		    const struct multipart *files, struct uploads *up,
		    struct form_state *fs, char errs[][128], char *ferr,
		    size_t ferrlen, int *bad);
/*
 * Stores up as the inputs of job id (jobdir.h; fsync'd before the job
 * exists). Returns the inputs JSON text (malloc'd; "{}"-free: NULL when
 * up is empty, with *err ""), or NULL with a message in err (for the
 * log: the user gets a plain reason), nothing left behind.
 */
char		*app_uploads_store(struct app *, const char *id,
		    const struct uploads *up, char *err, size_t errlen);
/* Removes what app_uploads_store stored for id. */
void		 app_uploads_discard(struct app *, const char *id);

/* ---- app_csrf.c ---- */

/*
 * 1 when token is session's CSRF token of today or yesterday (UTC days;
 * constant time; lowercase hex only), else 0. The _day forms take the day
 * number (app_csrf_today(): days since the epoch) for tests.
 */
int		 app_csrf_ok(const struct app *, const char *session,
		    const char *token);
int		 app_csrf_ok_day(const struct app *, const char *session,
		    const char *token, long today);
void		 app_csrf_token_day(const struct app *, const char *session,
		    long day, char out[65]);
long		 app_csrf_today(void);
/* 1 when s is a session id as nginx issues it (32 lowercase hex). */
int		 app_session_valid(const char *s);
/*
 * Checks the CSRF token of a POST (form field csrf, else X-CSRF-Token).
 * Returns 0, or -1 after answering 403.
 */
int		 app_check_csrf(struct app *, struct http_req *,
		    struct http_resp *);

/* ---- app_page.c ---- */

/* A context with what every page needs (title, version); caller frees. */
struct tval	*app_page_context(const char *title);
/* Sets status and the headers of an HTML page (app_render_page's). */
void		 app_page_headers(struct http_resp *, int status);
/*
 * Renders template name (one of tmpl_pages) with ctx into resp as HTML
 * with status; a failure to render answers 500 and logs. ctx may be NULL
 * (ENOMEM while building it: 500). The caller still frees ctx.
 */
void		 app_render_page(struct app *, const char *name,
		    struct tval *ctx, int status, struct http_resp *);
/*
 * The error answer of status with message: the error page, or JSON when
 * the client asked for it (and for /healthz); a 400 in JSON has the
 * {"error":...,"fields":{}} shape. retry_after > 0 adds Retry-After.
 */
void		 app_error_answer(struct app *, const struct http_req *,
		    int status, const char *message, int retry_after,
		    struct http_resp *);
/*
 * Answers 400 for one field that is wrong outside a form's parameters
 * (the nonce, a malformed part): JSON with it under "fields", or the
 * error page saying "name: message".
 */
void		 app_field_error_answer(struct app *, const struct http_req *,
		    const char *name, const char *message, struct http_resp *);
/*
 * A JSON 400 is {"error":...,"fields":{name: message, ...}} (DESIGN.md),
 * built in three steps: app_json_400_begin, one app_json_400_field per
 * field (*n counts them, for the commas; start it at 0), then
 * app_json_400_end.
 */
void		 app_json_400_begin(struct http_resp *, const char *error);
void		 app_json_400_field(struct http_resp *, int *n,
		    const char *name, const char *message);
void		 app_json_400_end(struct http_resp *);

/* ---- app_index.c ---- */

/*
 * The forms of every task of conf (conf->ntasks entries, same order), for
 * a new generation. Returns NULL on ENOMEM (or a conf without tasks,
 * which needs none). Free with app_forms_free(forms, conf->ntasks).
 */
struct app_task_form *app_forms_build(const struct conf *);
void		 app_forms_free(struct app_task_form *, size_t n);
/*
 * The app page pre-rendered, for one generation: its static parts
 * between holes for what changes per request (app_index.c). NULL on
 * ENOMEM. Thread-safe once made; freed with the generation.
 */
struct app_skels	*app_skels_new(void);
void		 app_skels_free(struct app_skels *);
/* Renders the app page with status; fs (may be NULL) re-fills a form. */
void		 app_index_render(struct app *, const struct http_req *,
		    int status, const struct form_state *fs,
		    struct http_resp *);
app_handler	 app_index_page;

/* ---- app_submit.c ---- */

app_handler	 app_submit;

/* ---- app_job.c ---- */

/*
 * Answers the job id of session as JSON with status (202 after a
 * submission, 200), or 404 JSON when there is no such job.
 */
void		 app_job_json_answer(struct app *, const char *id,
		    const char *session, int status, struct http_resp *);
app_handler	 app_job_page, app_job_json, app_job_cancel;

/* ---- app_files.c ---- */

/*
 * A handler of a route with a {name} too: answers file name of job id
 * (GET /jobs/{id}/files/{name}, /jobs/{id}/inputs/{name}).
 */
typedef void	app_file_handler(struct app *, struct http_req *,
		    const char *id, const char *name, struct http_resp *);
app_file_handler app_job_file, app_job_input;
app_handler	 app_job_png;
/*
 * Sets what the job page shows of j's files in ctx: "uploads" (each with
 * url, label, filename, size, image, dims), and once done "images" (with
 * "gallery" when several) and "downloads" (url, download, type, size).
 */
void		 app_files_context(struct tval *ctx, const struct app *,
		    const struct job *j);

/* ---- app_events.c ---- */

/* GET /jobs/{id}/events and GET /events: the streams (events.h). */
app_handler	 app_job_events, app_events;

/* ---- app_status.c ---- */

/*
 * One snapshot of every number /status.json and /metrics show: the
 * scheduler's stats, the server's counters and each CUDA device's health.
 * Returns 0, or -1 on ENOMEM (out holds what could be read: empty
 * scheduler stats, no devices). Free with metrics_snapshot_free.
 */
int		 app_stats_snapshot(struct app *, struct metrics_snapshot *out);
app_handler	 app_session_json, app_status_json, app_metrics, app_healthz;

#endif
