/*
 * app_status: the small JSON and operational endpoints: /session.json,
 * /status.json, /metrics and /healthz. /status.json and /metrics render
 * one snapshot (app_stats_snapshot) through the metrics module, so both
 * show the same numbers. See app_int.h.
 */
#include "config.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "app_int.h"

void
app_session_json(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	char csrf[65];

	(void)arg;
	app_csrf_token(a, req->session, csrf);
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_printf(&resp->body, "{\"session\":\"%s\",\"csrf\":\"%s\"}\n",
	    req->session, csrf);
}

/* Distinct CUDA device indices the lock slots name. */
static int
conf_devices(const struct conf *c)
{
	unsigned char	 seen[4096] = { 0 };
	size_t		 i;
	int		 s, d, n = 0;

	for (i = 0; i < c->nlocks; i++)
		for (s = 0; c->locks[i].devices != NULL &&
		    s < c->locks[i].slots; s++) {
			d = c->locks[i].devices[s];
			if (d >= 0 && d < (int)sizeof(seen) && !seen[d]) {
				seen[d] = 1;
				n++;
			}
		}
	return n;
}

/* The server's own numbers, read once. */
static void
server_numbers(struct app *a, struct metrics_server *ms)
{
	struct events_stats	 ev;
	int			 i;

	memset(ms, 0, sizeof(*ms));
	ms->threads = atomic_load(&a->sh->threads);
	if (ms->threads == 0)
		ms->threads = a->conf->threads;
	ms->threads_busy = atomic_load(&a->sh->busy);
	ms->draining = atomic_load(&a->sh->draining);
	ms->devices = conf_devices(a->conf);
	ms->uptime_s = (double)(job_now_ms() - a->started_ms) / 1000.0;
	ms->start_time_s = (double)a->started_ms / 1000.0;
	ms->reloads = (uint64_t)atomic_load(&a->sh->reloads);
	ms->generations = atomic_load(&a->sh->live_gens);
	if (a->sh->events != NULL) {
		events_get_stats(a->sh->events, &ev);
		ms->events = 1;
		ms->events_published = ev.published;
		ms->events_dropped = ev.dropped;
		ms->events_ended = ev.ended;
	}
	ms->reload_errors = (uint64_t)atomic_load(&a->sh->reload_errors);
	for (i = 0; i < APP_STATUS_CLASSES; i++)
		ms->requests[i] = (uint64_t)atomic_load(&a->sh->requests[i]);
	for (i = 0; i < APP_STATUS_CODES; i++)
		ms->by_status[i] = (uint64_t)atomic_load(&a->sh->by_status[i]);
}

/* The executor's per-device counters into the snapshot. */
static int
device_stats(struct app *a, struct metrics_snapshot *out)
{
	struct metrics_device	 d[APP_MAX_DEVICES];
	size_t			 n;

	n = a->sh->device_stats(a->sh->device_arg, d, APP_MAX_DEVICES);
	return metrics_snapshot_devices(out, d, (int)n);
}

int
app_stats_snapshot(struct app *a, struct metrics_snapshot *out)
{
	int	 rc = 0;

	memset(out, 0, sizeof(*out));
	if (a->sched != NULL) {
		out->has_sched = 1;
		if (sched_stats_get(a->sched, &out->sched) == -1)
			rc = -1;
	}
	server_numbers(a, &out->server);
	if (a->sh->device_stats != NULL && device_stats(a, out) == -1)
		rc = -1;
	if (a->sh->cluster_stats != NULL &&
	    a->sh->cluster_stats(a->sh->cluster_arg, &out->cluster) == -1)
		rc = -1;
	return rc;
}

/*
 * Without memory for the scheduler's stats the answer still comes, with
 * empty "locks" and "tasks", as an operator polling it expects.
 */
void
app_status_json(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	struct metrics_snapshot	 snap;
	json_t			*o;
	char			*text = NULL;

	(void)req;
	(void)arg;
	(void)app_stats_snapshot(a, &snap);
	if ((o = metrics_status_json(&snap, PACKAGE_VERSION)) == NULL ||
	    (text = json_dumps(o, JSON_COMPACT)) == NULL) {
		http_resp_text(resp, 500, "out of memory");
		goto out;
	}
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_puts(&resp->body, text);
	buf_putc(&resp->body, '\n');
out:
	free(text);
	json_decref(o);
	metrics_snapshot_free(&snap);
}

void
app_metrics(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	struct metrics_snapshot	 snap;

	(void)req;
	(void)arg;
	if (app_stats_snapshot(a, &snap) == -1) {
		http_resp_text(resp, 500, "out of memory");
		goto out;
	}
	http_resp_header(resp, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_resp_header(resp, "Cache-Control", "no-store");
	metrics_render(&resp->body, &snap);
out:
	metrics_snapshot_free(&snap);
}

void
app_healthz(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	const char	*why;
	char		 msg[256];

	(void)req;
	(void)arg;
	if (atomic_load(&a->draining))
		http_resp_text(resp, 503, "draining");
	else if (a->journal != NULL &&
	    (why = journal_unwritable(a->journal)) != NULL) {
		/* Pages and JSON answer; a balancer sends jobs elsewhere. */
		snprintf(msg, sizeof(msg), "read-only: %s; new jobs are "
		    "refused", why);
		http_resp_text(resp, 503, msg);
	} else
		http_resp_text(resp, 200, "ok");
}
