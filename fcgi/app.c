/*
 * app: config generations, the view of one request, and the route table.
 * See app.h for the contract and app_int.h for how the module is split.
 */
#include "config.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "app_int.h"

/* A new generation over conf and tmpl, with its task forms; NULL on ENOMEM. */
static struct app_gen *
app_gen_new(const struct conf *conf, const struct tmpl_set *tmpl)
{
	struct app_gen	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL)
		return NULL;
	g->conf = conf;
	g->tmpl = tmpl;
	if ((g->skels = app_skels_new()) == NULL ||
	    (conf->ntasks > 0 && (g->forms = app_forms_build(conf)) == NULL)) {
		app_skels_free(g->skels);
		free(g);
		return NULL;
	}
	g->nforms = conf->ntasks;
	atomic_init(&g->refs, 1);	/* as the current one */
	return g;
}

static void
app_gen_free(struct app_shared *sh, struct app_gen *g)
{
	app_forms_free(g->forms, g->nforms);
	app_skels_free(g->skels);
	if (g->owned) {
		tmpl_free((struct tmpl_set *)g->tmpl);
		conf_free((struct conf *)g->conf);
	}
	free(g);
	atomic_fetch_sub(&sh->live_gens, 1);
}

/*
 * A reference on the current generation, for one request. Counted in
 * entering from before the pointer is read until its reference is, so
 * that app_reload knows when no request can still take one on the old.
 */
static struct app_gen *
app_gen_hold(struct app_shared *sh)
{
	struct app_gen	*g;

	atomic_fetch_add(&sh->entering, 1);
	g = atomic_load(&sh->gen);
	atomic_fetch_add(&g->refs, 1);
	atomic_fetch_sub(&sh->entering, 1);
	return g;
}

/* Drops a reference; the last one (never the current's) frees g. */
static void
app_gen_drop(struct app_shared *sh, struct app_gen *g)
{
	if (atomic_fetch_sub(&g->refs, 1) == 1)
		app_gen_free(sh, g);
}

struct app *
app_create(const struct conf *conf, const struct tmpl_set *tmpl,
    struct sched *sched, struct journal *journal,
    const unsigned char secret[APP_SECRET_LEN])
{
	struct app	*a;
	struct app_gen	*g;
	int		 i;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->sh = calloc(1, sizeof(*a->sh))) == NULL ||
	    (g = app_gen_new(conf, tmpl)) == NULL) {
		free(a->sh);
		free(a);
		return NULL;
	}
	a->conf = conf;
	a->tmpl = tmpl;
	a->forms = g->forms;
	a->sched = sched;
	a->journal = journal;
	memcpy(a->secret, secret, APP_SECRET_LEN);
	crypto_auth_hmacsha512256_init(&a->sh->csrf_key, secret,
	    APP_SECRET_LEN);
	a->started_ms = job_now_ms();
	atomic_init(&a->draining, 0);
	atomic_init(&a->sh->gen, g);
	pthread_mutex_init(&a->sh->gen_mu, NULL);
	atomic_init(&a->sh->entering, 0);
	atomic_init(&a->sh->live_gens, 1);
	atomic_init(&a->sh->draining, 0);
	atomic_init(&a->sh->busy, 0);
	atomic_init(&a->sh->threads, 0);
	atomic_init(&a->sh->reloads, 0);
	atomic_init(&a->sh->reload_errors, 0);
	for (i = 0; i < APP_STATUS_CLASSES; i++)
		atomic_init(&a->sh->requests[i], 0);
	for (i = 0; i < APP_STATUS_CODES; i++)
		atomic_init(&a->sh->by_status[i], 0);
	return a;
}

void
app_free(struct app *a)
{
	if (a == NULL)
		return;
	/* No request is in flight any more: this is the last reference. */
	app_gen_drop(a->sh, atomic_load(&a->sh->gen));
	pthread_mutex_destroy(&a->sh->gen_mu);
	sodium_memzero(&a->sh->csrf_key, sizeof(a->sh->csrf_key));
	free(a->sh);
	sodium_memzero(a->secret, sizeof(a->secret));
	free(a);
}

int
app_reload(struct app *a, struct conf *conf, struct tmpl_set *tmpl)
{
	struct app_gen	*g, *old;

	if ((g = app_gen_new(conf, tmpl)) == NULL) {
		atomic_fetch_add(&a->sh->reload_errors, 1);
		return -1;
	}
	g->owned = 1;
	atomic_fetch_add(&a->sh->live_gens, 1);
	pthread_mutex_lock(&a->sh->gen_mu);
	old = atomic_exchange(&a->sh->gen, g);
	/* A request that read old before the exchange counts its reference. */
	while (atomic_load(&a->sh->entering) != 0)
		sched_yield();
	pthread_mutex_unlock(&a->sh->gen_mu);
	app_gen_drop(a->sh, old);
	atomic_fetch_add(&a->sh->reloads, 1);
	return 0;
}

void
app_count_reload_error(struct app *a)
{
	atomic_fetch_add(&a->sh->reload_errors, 1);
}

const struct conf *
app_conf(struct app *a)
{
	return atomic_load(&a->sh->gen)->conf;
}

struct app_gen *
app_hold(struct app *a)
{
	return app_gen_hold(a->sh);
}

const struct conf *
app_gen_conf(const struct app_gen *g)
{
	return g->conf;
}

void
app_release(struct app *a, struct app_gen *g)
{
	app_gen_drop(a->sh, g);
}

long
app_generations(struct app *a)
{
	return atomic_load(&a->sh->live_gens);
}

/* Fills v, a per-request copy of a over the current generation. */
static void
app_view(struct app *a, struct app *v)
{
	struct app_gen	*g = app_gen_hold(a->sh);

	v->gen = g;
	v->conf = g->conf;
	v->tmpl = g->tmpl;
	v->forms = g->forms;
	v->sched = a->sched;
	v->journal = a->journal;
	memcpy(v->secret, a->secret, APP_SECRET_LEN);
	v->started_ms = a->started_ms;
	atomic_init(&v->draining, atomic_load(&a->sh->draining));
	v->sh = a->sh;
}

static void
app_view_done(struct app *v)
{
	app_gen_drop(v->sh, v->gen);
	sodium_memzero(v->secret, sizeof(v->secret));
}

void
app_set_draining(struct app *a, int on)
{
	atomic_store(&a->sh->draining, on);
}

void
app_responder_busy(struct app *a, int delta)
{
	atomic_fetch_add(&a->sh->busy, delta);
}

int
app_responders_busy(struct app *a)
{
	return atomic_load(&a->sh->busy);
}

void
app_maintain(struct app *a)
{
	const struct conf	*c = app_conf(a);
	int			 n;

	if (a->journal == NULL)
		return;
	/* A reload's limits hold from the next pass (30 s) on. */
	journal_set_limits(a->journal, c->results_max_bytes,
	    c->max_result_bytes);
	n = sched_evict(a->sched, job_now_ms(),
	    (int64_t)c->results_ttl * 1000, c->results_max_bytes);
	if (n > 0)
		fprintf(stderr, "level=info msg=\"results evicted\" jobs=%d "
		    "result_bytes=%lld\n", n,
		    (long long)journal_result_bytes(a->journal));
	else if (n < 0)
		fprintf(stderr, "level=error func=%s msg=\"eviction failed\" "
		    "error=\"%s\"\n", __func__, journal_error(a->journal));
}

void
app_set_responders(struct app *a, int n)
{
	atomic_store(&a->sh->threads, n);
}

void
app_count_request(struct app *a, int status)
{
	int c = status / 100;

	if (c >= 0 && c < APP_STATUS_CLASSES)
		atomic_fetch_add(&a->sh->requests[c], 1);
	if (status >= 100 && status < 100 + APP_STATUS_CODES)
		atomic_fetch_add(&a->sh->by_status[status - 100], 1);
}

void
app_error(struct app *a, const struct http_req *req, int status,
    const char *message, struct http_resp *resp)
{
	struct app	 v;

	app_view(a, &v);
	app_error_answer(&v, req, status, message, 0, resp);
	app_view_done(&v);
}

/*
 * What answers each route. The operational endpoints need no session
 * (nginx gives them none); every other route is refused without a valid
 * one before its handler runs.
 */
static const struct app_route {
	app_handler		*handler;
	int			 needs_session;
	app_file_handler	*file;		/* instead, for a {name} */
} app_routes[ROUTE__MAX] = {
	[ROUTE_INDEX] =		{ app_index_page, 1 },
	[ROUTE_TASK_SUBMIT] =	{ app_submit, 1 },
	[ROUTE_JOB_PAGE] =	{ app_job_page, 1 },
	[ROUTE_JOB_JSON] =	{ app_job_json, 1 },
	[ROUTE_JOB_PNG] =	{ app_job_png, 1 },
	[ROUTE_JOB_CANCEL] =	{ app_job_cancel, 1 },
	[ROUTE_JOB_FILE] =	{ NULL, 1, app_job_file },
	[ROUTE_JOB_INPUT] =	{ NULL, 1, app_job_input },
	[ROUTE_JOB_EVENTS] =	{ app_job_events, 1, NULL },
	[ROUTE_EVENTS] =	{ app_events, 1, NULL },
	[ROUTE_SESSION] =	{ app_session_json, 1 },
	[ROUTE_STATUS] =	{ app_status_json, 0 },
	[ROUTE_METRICS] =	{ app_metrics, 0 },
	[ROUTE_HEALTHZ] =	{ app_healthz, 0 },
};

/* app_handle over one request's view of the app. */
static void
app_dispatch(struct app *a, struct http_req *req, const struct route_match *m,
    struct http_resp *resp)
{
	const struct app_route	*r = NULL;

	if ((unsigned)m->id < ROUTE__MAX && (app_routes[m->id].handler != NULL ||
	    app_routes[m->id].file != NULL))
		r = &app_routes[m->id];
	if ((r == NULL || r->needs_session) &&
	    !app_session_valid(req->session)) {
		app_error_answer(a, req, 400, "missing or malformed session "
		    "(SLUICE_SESSION must be 32 hex characters; is nginx in "
		    "front?)", 0, resp);
		return;
	}
	if (r == NULL) {
		app_error_answer(a, req, 404, "not found", 0, resp);
		return;
	}
	if (r->file != NULL)
		r->file(a, req, m->arg, m->name, resp);
	else
		r->handler(a, req, m->arg, resp);
}

void
app_handle(struct app *a, struct http_req *req, const struct route_match *m,
    struct http_resp *resp)
{
	struct app	 v;

	app_view(a, &v);
	app_dispatch(&v, req, m, resp);
	app_view_done(&v);
}

void
app_set_events(struct app *a, struct events *events, const char *gauges_key)
{
	a->sh->events = events;
	events_gauges_channel(a->secret, gauges_key, a->sh->gauges_channel);
}

void
app_set_cluster_stats(struct app *a, app_cluster_stats_fn *fn, void *arg)
{
	a->sh->cluster_stats = fn;
	a->sh->cluster_arg = arg;
}

void
app_set_device_stats(struct app *a, app_device_stats_fn *fn, void *arg)
{
	a->sh->device_stats = fn;
	a->sh->device_arg = arg;
}
