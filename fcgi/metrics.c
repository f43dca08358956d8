/*
 * metrics: the snapshot, its Prometheus text (format 0.0.4) and its
 * /status.json object. See metrics.h for the contract.
 */
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "buf.h"
#include "job.h"
#include "metrics.h"
#include "sched.h"

/* A label value with \, " and newline escaped (exposition format). */
static void
label(struct buf *b, const char *v)
{
	for (; *v != '\0'; v++) {
		if (*v == '\\' || *v == '"')
			buf_putc(b, '\\');
		if (*v == '\n')
			buf_puts(b, "\\n");
		else
			buf_putc(b, *v);
	}
}

static void
head(struct buf *b, const char *name, const char *type, const char *help)
{
	buf_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{key="value"[,key2="value2"]} (no value yet). */
static void
sample(struct buf *b, const char *name, const char *k1, const char *v1,
    const char *k2, const char *v2)
{
	buf_puts(b, name);
	if (k1 != NULL) {
		buf_printf(b, "{%s=\"", k1);
		label(b, v1);
		buf_putc(b, '"');
		if (k2 != NULL) {
			buf_printf(b, ",%s=\"", k2);
			label(b, v2);
			buf_putc(b, '"');
		}
		buf_putc(b, '}');
	}
	buf_putc(b, ' ');
}

static void
lock_u64(struct buf *b, const struct sched_stats *ss, const char *name,
    const char *type, const char *help, size_t off)
{
	size_t	 i;

	head(b, name, type, help);
	for (i = 0; i < ss->nlocks; i++) {
		sample(b, name, "lock", ss->locks[i].name, NULL, NULL);
		buf_printf(b, "%llu\n", (unsigned long long)*(const uint64_t *)
		    ((const char *)&ss->locks[i] + off));
	}
}

static void
lock_int(struct buf *b, const struct sched_stats *ss, const char *name,
    const char *help, size_t off)
{
	size_t	 i;

	head(b, name, "gauge", help);
	for (i = 0; i < ss->nlocks; i++) {
		sample(b, name, "lock", ss->locks[i].name, NULL, NULL);
		buf_printf(b, "%d\n", *(const int *)
		    ((const char *)&ss->locks[i] + off));
	}
}

/* A histogram of ms values, exposed in seconds. */
static void
hist(struct buf *b, const char *name, const char *lock,
    const struct sched_hist *h)
{
	char	 le[32];
	size_t	 i;

	for (i = 0; i <= SCHED_HIST_N; i++) {
		if (i < SCHED_HIST_N)
			snprintf(le, sizeof(le), "%g",
			    (double)sched_hist_bounds_ms[i] / 1000.0);
		else
			snprintf(le, sizeof(le), "+Inf");
		buf_printf(b, "%s_bucket{lock=\"", name);
		label(b, lock);
		buf_printf(b, "\",le=\"%s\"} %llu\n", le,
		    (unsigned long long)h->cum[i]);
	}
	buf_printf(b, "%s_sum{lock=\"", name);
	label(b, lock);
	buf_printf(b, "\"} %.6f\n%s_count{lock=\"", h->sum_ms / 1000.0, name);
	label(b, lock);
	buf_printf(b, "\"} %llu\n", (unsigned long long)h->count);
}

static void
render_locks(struct buf *b, const struct sched_stats *ss)
{
	size_t	 i, k;

	lock_int(b, ss, "sluice_lock_slots", "Slots of each lock.",
	    offsetof(struct sched_lock_stats, slots));
	lock_int(b, ss, "sluice_lock_busy", "Slots held by running jobs.",
	    offsetof(struct sched_lock_stats, busy));
	lock_int(b, ss, "sluice_lock_queued", "Jobs waiting for each lock.",
	    offsetof(struct sched_lock_stats, queued));
	lock_int(b, ss, "sluice_lock_queue_limit", "Waiters each lock "
	    "admits before refusing.", offsetof(struct sched_lock_stats,
	    queue));
	lock_u64(b, ss, "sluice_lock_admitted_total", "counter",
	    "Jobs admitted to wait for each lock.",
	    offsetof(struct sched_lock_stats, admitted));
	lock_u64(b, ss, "sluice_lock_refused_total", "counter",
	    "Submissions refused because the lock's queue was full.",
	    offsetof(struct sched_lock_stats, refused));
	lock_u64(b, ss, "sluice_lock_started_total", "counter",
	    "Jobs started holding each lock.",
	    offsetof(struct sched_lock_stats, started));
	head(b, "sluice_lock_finished_total", "counter",
	    "Jobs of each lock that ended, by final state.");
	for (i = 0; i < ss->nlocks; i++)
		for (k = JOB_DONE; k < SCHED_NSTATES; k++) {
			sample(b, "sluice_lock_finished_total", "lock",
			    ss->locks[i].name, "state", sched_state_names[k]);
			buf_printf(b, "%llu\n",
			    (unsigned long long)ss->locks[i].ended[k]);
		}
	head(b, "sluice_lock_wait_seconds", "histogram",
	    "Time jobs waited for each lock before starting.");
	for (i = 0; i < ss->nlocks; i++)
		hist(b, "sluice_lock_wait_seconds", ss->locks[i].name,
		    &ss->locks[i].wait);
	head(b, "sluice_lock_run_seconds", "histogram",
	    "Time jobs held each lock.");
	for (i = 0; i < ss->nlocks; i++)
		hist(b, "sluice_lock_run_seconds", ss->locks[i].name,
		    &ss->locks[i].run);
}

static void
render_tasks(struct buf *b, const struct sched_stats *ss)
{
	const struct sched_task_stats	*t;
	size_t				 i, k;

	head(b, "sluice_task_jobs", "gauge",
	    "Jobs of each task now queued or running.");
	for (i = 0; i < ss->ntasks; i++) {
		t = &ss->tasks[i];
		sample(b, "sluice_task_jobs", "task", t->name, "state",
		    "queued");
		buf_printf(b, "%d\n", t->queued);
		sample(b, "sluice_task_jobs", "task", t->name, "state",
		    "running");
		buf_printf(b, "%d\n", t->running);
	}
	head(b, "sluice_task_finished_total", "counter",
	    "Jobs of each task that ended, by final state.");
	for (i = 0; i < ss->ntasks; i++)
		for (k = JOB_DONE; k < SCHED_NSTATES; k++) {
			sample(b, "sluice_task_finished_total", "task",
			    ss->tasks[i].name, "state", sched_state_names[k]);
			buf_printf(b, "%llu\n",
			    (unsigned long long)ss->tasks[i].ended[k]);
		}
	head(b, "sluice_task_admitted_total", "counter",
	    "Jobs of each task admitted.");
	for (i = 0; i < ss->ntasks; i++) {
		sample(b, "sluice_task_admitted_total", "task",
		    ss->tasks[i].name, NULL, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)ss->tasks[i].admitted);
	}
	head(b, "sluice_task_refused_total", "counter",
	    "Submissions of each task refused (queue full or session cap).");
	for (i = 0; i < ss->ntasks; i++) {
		sample(b, "sluice_task_refused_total", "task",
		    ss->tasks[i].name, NULL, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)ss->tasks[i].refused);
	}
	head(b, "sluice_task_workers_ready", "gauge",
	    "Slots of each task whose worker is ready for a job.");
	for (i = 0; i < ss->ntasks; i++) {
		sample(b, "sluice_task_workers_ready", "task",
		    ss->tasks[i].name, NULL, NULL);
		buf_printf(b, "%d\n", ss->tasks[i].workers_ready);
	}
	head(b, "sluice_task_workers_failing", "gauge",
	    "1 while a task's workers fail to start (its jobs fail at once).");
	for (i = 0; i < ss->ntasks; i++) {
		sample(b, "sluice_task_workers_failing", "task",
		    ss->tasks[i].name, NULL, NULL);
		buf_printf(b, "%d\n", ss->tasks[i].failing[0] != '\0');
	}
	head(b, "sluice_task_mean_run_seconds", "gauge",
	    "Mean run time of each task's jobs (absent before the first).");
	for (i = 0; i < ss->ntasks; i++) {
		t = &ss->tasks[i];
		if (t->run_n == 0)
			continue;
		sample(b, "sluice_task_mean_run_seconds", "task", t->name,
		    NULL, NULL);
		buf_printf(b, "%.6f\n", t->run_sum_ms / (double)t->run_n /
		    1000.0);
	}
}

/* "cuda:N" or "cpu" for device index d. */
static void
device_name(int d, char *out, size_t len)
{
	if (d < 0)
		snprintf(out, len, "cpu");
	else
		snprintf(out, len, "cuda:%d", d);
}

/* The per-device series: job failures and worker restarts. */
static void
device_series(struct buf *b, const struct metrics_snapshot *snap)
{
	char	 name[24];
	int	 d;

	head(b, "sluice_device_job_failures_total", "counter",
	    "Jobs failed on each device's slots by a worker's exit, crash, "
	    "protocol error or timeout.");
	for (d = 0; d < snap->ndevices; d++) {
		device_name(snap->devices[d].device, name, sizeof(name));
		sample(b, "sluice_device_job_failures_total", "device", name,
		    NULL, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)snap->devices[d].failures);
	}
	head(b, "sluice_device_worker_restarts_total", "counter",
	    "Worker processes started again on each device's slots (after "
	    "an exit, a crash, a timeout or a cancel that had to kill).");
	for (d = 0; d < snap->ndevices; d++) {
		device_name(snap->devices[d].device, name, sizeof(name));
		sample(b, "sluice_device_worker_restarts_total", "device", name,
		    NULL, NULL);
		buf_printf(b, "%llu\n",
		    (unsigned long long)snap->devices[d].restarts);
	}
}

static void
render_server(struct buf *b, const struct metrics_snapshot *snap)
{
	const struct metrics_server	*ms = &snap->server;
	char				 code[8];
	int				 i;

	head(b, "sluice_responder_threads", "gauge",
	    "Responder threads answering FastCGI requests.");
	buf_printf(b, "sluice_responder_threads %d\n", ms->threads);
	head(b, "sluice_responder_threads_busy", "gauge",
	    "Responder threads answering a request now.");
	buf_printf(b, "sluice_responder_threads_busy %d\n", ms->threads_busy);
	head(b, "sluice_http_requests_total", "counter",
	    "Requests answered, by HTTP status.");
	for (i = 0; i < METRICS_STATUS_CODES; i++) {
		if (ms->by_status[i] == 0)
			continue;
		snprintf(code, sizeof(code), "%d", i + 100);
		sample(b, "sluice_http_requests_total", "status", code, NULL,
		    NULL);
		buf_printf(b, "%llu\n", (unsigned long long)ms->by_status[i]);
	}
	head(b, "sluice_draining", "gauge",
	    "1 while stopping: no new submissions.");
	buf_printf(b, "sluice_draining %d\n", ms->draining ? 1 : 0);
	head(b, "sluice_devices", "gauge",
	    "CUDA devices the lock slots name.");
	buf_printf(b, "sluice_devices %d\n", ms->devices);
	device_series(b, snap);
	head(b, "sluice_config_reloads_total", "counter",
	    "SIGHUP reloads, by result.");
	buf_printf(b, "sluice_config_reloads_total{result=\"ok\"} %llu\n"
	    "sluice_config_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)ms->reloads,
	    (unsigned long long)ms->reload_errors);
	head(b, "sluice_config_generations", "gauge",
	    "Config generations in memory: the current one and the older "
	    "ones requests in flight still read.");
	buf_printf(b, "sluice_config_generations %ld\n", ms->generations);
	head(b, "sluice_events_total", "counter",
	    "Live updates: messages nginx's nchan took (published), lost "
	    "because it could not be reached (dropped), job streams ended.");
	buf_printf(b, "sluice_events_total{result=\"published\"} %llu\n"
	    "sluice_events_total{result=\"dropped\"} %llu\n"
	    "sluice_events_total{result=\"ended\"} %llu\n",
	    (unsigned long long)ms->events_published,
	    (unsigned long long)ms->events_dropped,
	    (unsigned long long)ms->events_ended);
	head(b, "sluice_start_time_seconds", "gauge",
	    "Start time of the process, Unix seconds.");
	buf_printf(b, "sluice_start_time_seconds %.3f\n", ms->start_time_s);
}

/* One gauge per node of the cluster, value's text of its entry. */
static void
node_series(struct buf *b, const struct metrics_cluster *c, const char *name,
    const char *help, int (*value)(const struct metrics_node *, char *,
    size_t))
{
	char	 v[32];
	int	 i;

	head(b, name, "gauge", help);
	for (i = 0; i < c->nnodes; i++) {
		if (value(&c->nodes[i], v, sizeof(v)) <= 0)
			continue;
		sample(b, name, "node", c->nodes[i].name, NULL, NULL);
		buf_printf(b, "%s\n", v);
	}
}

static int
node_up(const struct metrics_node *n, char *v, size_t len)
{
	return snprintf(v, len, "%d", n->lost ? 0 : 1);
}

static int
node_running(const struct metrics_node *n, char *v, size_t len)
{
	return snprintf(v, len, "%lld", (long long)n->running);
}

static int
node_heartbeat(const struct metrics_node *n, char *v, size_t len)
{
	return snprintf(v, len, "%.3f", n->heartbeat_age_s);
}

static int
node_generation(const struct metrics_node *n, char *v, size_t len)
{
	return snprintf(v, len, "%lld", (long long)n->generation);
}

/* The cluster's numbers, every node's view of them alike. */
static void
render_cluster(struct buf *b, const struct metrics_cluster *c)
{
	if (!c->has)
		return;
	head(b, "sluice_cluster_node_info", "gauge",
	    "This responder as a node of the cluster: its name and life.");
	buf_puts(b, "sluice_cluster_node_info{node=\"");
	label(b, c->node);
	buf_printf(b, "\",generation=\"%lld\"} 1\n",
	    (long long)c->generation);
	head(b, "sluice_cluster_queued", "gauge",
	    "Jobs queued for the whole cluster.");
	buf_printf(b, "sluice_cluster_queued %lld\n", (long long)c->queued);
	head(b, "sluice_cluster_read_age_seconds", "gauge",
	    "Since the cluster's numbers were read from the database.");
	buf_printf(b, "sluice_cluster_read_age_seconds %.3f\n", c->age_s);
	node_series(b, c, "sluice_cluster_node_up", "1 while a node holds "
	    "its lease, 0 once it was found lost.", node_up);
	node_series(b, c, "sluice_cluster_node_running", "Jobs running on "
	    "each node.", node_running);
	node_series(b, c, "sluice_cluster_node_heartbeat_age_seconds",
	    "Since each node last renewed its lease.", node_heartbeat);
	node_series(b, c, "sluice_cluster_node_generation", "Each node's "
	    "life: one more at every start.", node_generation);
}

void
metrics_render(struct buf *b, const struct metrics_snapshot *snap)
{
	render_locks(b, &snap->sched);
	render_tasks(b, &snap->sched);
	render_server(b, snap);
	render_cluster(b, &snap->cluster);
}

static int
device_cmp(const void *a, const void *b)
{
	const struct metrics_device *x = a, *y = b;

	return (x->device > y->device) - (x->device < y->device);
}

int
metrics_snapshot_devices(struct metrics_snapshot *snap,
    const struct metrics_device *from, int n)
{
	free(snap->devices);
	snap->devices = NULL;
	snap->ndevices = 0;
	if (n <= 0)
		return 0;
	if ((snap->devices = calloc((size_t)n, sizeof(*snap->devices))) ==
	    NULL)
		return -1;
	memcpy(snap->devices, from, (size_t)n * sizeof(*from));
	qsort(snap->devices, (size_t)n, sizeof(*snap->devices), device_cmp);
	snap->ndevices = n;
	return 0;
}

void
metrics_snapshot_free(struct metrics_snapshot *snap)
{
	sched_stats_free(&snap->sched);
	free(snap->devices);
	free(snap->cluster.nodes);
	memset(snap, 0, sizeof(*snap));
}

/* ---- /status.json ---- */

/*
 * Sets key of obj to v (a new reference, taken even on failure); clears
 * *ok when obj or v is NULL (ENOMEM) or the set fails.
 */
static void
jset(json_t *obj, const char *key, json_t *v, int *ok)
{
	if (json_object_set_new(obj, key, v) == -1)
		*ok = 0;
}

/* A counter as a JSON integer (counters never reach 2^63). */
static json_t *
jcount(uint64_t v)
{
	return json_integer((json_int_t)v);
}

/*
 * A number as buf_json_num writes it: whole values as integers, other
 * finite ones as reals, the others null.
 */
static json_t *
jnum(double v)
{
	if (!isfinite(v))
		return json_null();
	if (fabs(v) < 9e15 && v == (double)(long long)v)
		return json_integer((json_int_t)v);
	return json_real(v);
}

/* {"buckets":{"<bound ms>":cum,...,"+Inf":cum},"sum":ms,"count":n} */
static json_t *
hist_json(const struct sched_hist *h, int *ok)
{
	json_t	*o = json_object(), *buckets = json_object();
	char	 le[24];
	size_t	 i;

	for (i = 0; i < SCHED_HIST_N; i++) {
		snprintf(le, sizeof(le), "%lld",
		    (long long)sched_hist_bounds_ms[i]);
		jset(buckets, le, jcount(h->cum[i]), ok);
	}
	jset(buckets, "+Inf", jcount(h->cum[SCHED_HIST_N]), ok);
	jset(o, "buckets", buckets, ok);
	jset(o, "sum", jnum(h->sum_ms), ok);
	jset(o, "count", jcount(h->count), ok);
	return o;
}

/* The final states' counts (done, failed, expired, cancelled) into o. */
static void
ended_json(json_t *o, const uint64_t ended[SCHED_NSTATES], int *ok)
{
	size_t	 k;

	for (k = JOB_DONE; k < SCHED_NSTATES; k++)
		jset(o, sched_state_names[k], jcount(ended[k]), ok);
}

static json_t *
lock_json(const struct sched_lock_stats *l, int *ok)
{
	json_t	*o;

	o = json_pack("{s:i,s:i,s:i,s:i,s:s,s:o,s:o,s:o}", "slots", l->slots,
	    "busy", l->busy, "queued", l->queued, "queue", l->queue,
	    "order", l->fair ? "fair" : "fifo", "admitted",
	    jcount(l->admitted), "refused", jcount(l->refused), "started",
	    jcount(l->started));
	ended_json(o, l->ended, ok);
	jset(o, "wait_ms", hist_json(&l->wait, ok), ok);
	jset(o, "run_ms", hist_json(&l->run, ok), ok);
	return o;
}

static json_t *
task_json(const struct sched_task_stats *t, int *ok)
{
	json_t	*o;

	o = json_pack("{s:i,s:i}", "queued", t->queued, "running",
	    t->running);
	ended_json(o, t->ended, ok);
	jset(o, "admitted", jcount(t->admitted), ok);
	jset(o, "refused", jcount(t->refused), ok);
	jset(o, "mean_run_ms", t->run_n > 0 ? jnum(t->run_sum_ms /
	    (double)t->run_n) : json_null(), ok);
	jset(o, "eta_run_ms", jnum(round(t->eta_run_ms)), ok);
	jset(o, "workers_ready", json_integer(t->workers_ready), ok);
	jset(o, "failing", t->failing[0] != '\0' ? json_string(t->failing) :
	    json_null(), ok);
	return o;
}

/* "requests" by class ("1xx".."5xx") and "status" by code (seen only). */
static void
server_requests_json(json_t *o, const struct metrics_server *ms, int *ok)
{
	json_t	*classes = json_object(), *codes = json_object();
	char	 name[8];
	int	 i;

	for (i = 1; i < METRICS_STATUS_CLASSES; i++) {
		snprintf(name, sizeof(name), "%dxx", i);
		jset(classes, name, jcount(ms->requests[i]), ok);
	}
	for (i = 0; i < METRICS_STATUS_CODES; i++)
		if (ms->by_status[i] > 0) {
			snprintf(name, sizeof(name), "%d", i + 100);
			jset(codes, name, jcount(ms->by_status[i]), ok);
		}
	jset(o, "requests", classes, ok);
	jset(o, "status", codes, ok);
}

static json_t *
server_json(const struct metrics_server *ms, const char *version, int *ok)
{
	json_t	*o;

	o = json_pack("{s:s,s:I,s:i,s:i,s:b,s:i,s:o,s:o}", "version", version,
	    "uptime_s", (json_int_t)ms->uptime_s, "threads",
	    ms->threads, "threads_busy", ms->threads_busy, "draining",
	    ms->draining != 0, "devices", ms->devices, "reloads",
	    jcount(ms->reloads), "reload_errors", jcount(ms->reload_errors));
	jset(o, "generations", json_integer((json_int_t)ms->generations), ok);
	server_requests_json(o, ms, ok);
	jset(o, "events", json_pack("{s:b,s:o,s:o,s:o}", "on", ms->events != 0,
	    "published", jcount(ms->events_published), "dropped",
	    jcount(ms->events_dropped), "ended", jcount(ms->events_ended)), ok);
	return o;
}

/*
 * One object per device, the CPU first: {"device":"cuda:0",
 * "failures":..,"restarts":..}.
 */
static json_t *
devices_json(const struct metrics_snapshot *snap, int *ok)
{
	json_t	*a = json_array();
	char	 name[24];
	int	 d;

	for (d = 0; d < snap->ndevices; d++) {
		device_name(snap->devices[d].device, name, sizeof(name));
		if (json_array_append_new(a, json_pack("{s:s,s:I,s:I}",
		    "device", name, "failures",
		    (json_int_t)snap->devices[d].failures, "restarts",
		    (json_int_t)snap->devices[d].restarts)) == -1)
			*ok = 0;
	}
	return a;
}

json_t *
metrics_status_json(const struct metrics_snapshot *snap, const char *version)
{
	const struct sched_stats	*ss = &snap->sched;
	json_t				*o = json_object(), *locks, *tasks;
	size_t				 i;
	int				 ok = 1;

	jset(o, "server", server_json(&snap->server, version, &ok), &ok);
	if (snap->has_sched) {
		locks = json_object();
		for (i = 0; i < ss->nlocks; i++)
			jset(locks, ss->locks[i].name,
			    lock_json(&ss->locks[i], &ok), &ok);
		jset(o, "locks", locks, &ok);
		tasks = json_object();
		for (i = 0; i < ss->ntasks; i++)
			jset(tasks, ss->tasks[i].name,
			    task_json(&ss->tasks[i], &ok), &ok);
		jset(o, "tasks", tasks, &ok);
	}
	jset(o, "devices", devices_json(snap, &ok), &ok);
	if (!ok) {
		json_decref(o);
		return NULL;
	}
	return o;
}
