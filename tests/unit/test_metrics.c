/*
 * Unit tests for metrics: one snapshot (struct metrics_snapshot) and its
 * two renderings, the Prometheus text of /metrics and the /status.json
 * object. Snapshots are built by hand, so every expected value is known;
 * the device series come from kernel_device_health with fake probes and
 * resets (no GPU here), as the device guard's tests in test_kernels.c do.
 */
#include "config.h"

#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "buf.h"
#include "metrics.h"
#include "stats_read.h"
#include "sched.h"

/* ---- a known snapshot ---- */

static struct sched_lock_stats	 t_locks[2];
static struct sched_task_stats	 t_tasks[1];
static struct metrics_device	 t_devices[2];

/*
 * Two locks ("gpu" fair, "cpu" fifo), one task ("burn"), two devices
 * and server numbers; every value distinct, so a value read from the
 * wrong field shows.
 */
static void
known_snapshot(struct metrics_snapshot *snap)
{
	struct sched_lock_stats	*l = &t_locks[0];
	struct sched_task_stats	*t = &t_tasks[0];
	size_t			 i;

	memset(snap, 0, sizeof(*snap));
	memset(t_locks, 0, sizeof(t_locks));
	memset(t_tasks, 0, sizeof(t_tasks));
	snprintf(l->name, sizeof(l->name), "gpu");
	l->slots = 2;
	l->busy = 1;
	l->queued = 3;
	l->queue = 32;
	l->fair = 1;
	l->admitted = 11;
	l->refused = 4;
	l->started = 9;
	l->ended[JOB_DONE] = 6;
	l->ended[JOB_FAILED] = 1;
	l->ended[JOB_EXPIRED] = 2;
	l->ended[JOB_CANCELLED] = 5;
	for (i = 0; i <= SCHED_HIST_N; i++) {
		l->wait.cum[i] = i < 3 ? i : 3;
		l->run.cum[i] = i < 10 ? 0 : 9;
	}
	l->wait.sum_ms = 7.25;
	l->wait.count = 3;
	l->run.sum_ms = 4500;
	l->run.count = 9;
	snprintf(t_locks[1].name, sizeof(t_locks[1].name), "cpu");
	t_locks[1].slots = 8;
	t_locks[1].queue = 64;
	snprintf(t->name, sizeof(t->name), "burn");
	t->queued = 3;
	t->running = 1;
	t->admitted = 11;
	t->refused = 4;
	t->ended[JOB_DONE] = 6;
	t->ended[JOB_FAILED] = 1;
	t->run_sum_ms = 1500;
	t->run_n = 6;
	t->eta_run_ms = 249.6;
	snap->sched.locks = t_locks;
	snap->sched.nlocks = 2;
	snap->sched.tasks = t_tasks;
	snap->sched.ntasks = 1;
	snap->has_sched = 1;
	snap->server.threads = 16;
	snap->server.threads_busy = 2;
	snap->server.draining = 1;
	snap->server.devices = 2;
	snap->server.uptime_s = 42.9;
	snap->server.start_time_s = 1700000000.5;
	snap->server.reloads = 3;
	snap->server.reload_errors = 1;
	snap->server.events = 1;
	snap->server.events_published = 40;
	snap->server.events_dropped = 3;
	snap->server.events_ended = 5;
	snap->server.requests[2] = 20;
	snap->server.requests[4] = 7;
	snap->server.by_status[200 - 100] = 18;
	snap->server.by_status[303 - 100] = 2;
	snap->server.by_status[404 - 100] = 7;
	memset(t_devices, 0, sizeof(t_devices));
	t_devices[0].device = -1;
	t_devices[0].failures = 2;
	t_devices[1].device = 1;
	t_devices[1].failures = 5;
	t_devices[1].restarts = 3;
	snap->devices = t_devices;
	snap->ndevices = 2;
}

/* The Prometheus text of snap; caller frees. */
static char *
prometheus(const struct metrics_snapshot *snap)
{
	struct buf	 b;

	buf_init(&b);
	metrics_render(&b, snap);
	cr_assert(buf_ok(&b));
	return buf_take(&b);
}

/* The /status.json object of snap, dumped and parsed back as a client does. */
static json_t *
status_json(const struct metrics_snapshot *snap)
{
	json_t	*o, *back;
	char	*text;

	cr_assert_not_null(o = metrics_status_json(snap, "1.2.3"));
	cr_assert_not_null(text = json_dumps(o, JSON_COMPACT));
	back = json_loads(text, JSON_REJECT_DUPLICATES, NULL);
	cr_assert_not_null(back, "%s", text);
	free(text);
	json_decref(o);
	return back;
}

/* The keys of object o, comma-separated, in order. */
static void
keys_of(const json_t *o, char *out, size_t len)
{
	const char	*key;
	json_t		*v;
	size_t		 n = 0;

	out[0] = '\0';
	json_object_foreach((json_t *)o, key, v)
		n += (size_t)snprintf(out + n, n < len ? len - n : 0, "%s%s",
		    n > 0 ? "," : "", key);
}

/* ---- /metrics ---- */

Test(metrics, prometheus_series_from_the_struct)
{
	struct metrics_snapshot	 snap;
	char			*t;

	known_snapshot(&snap);
	t = prometheus(&snap);
	cr_expect_eq(stats_sample(t, "sluice_lock_slots{lock=\"gpu\"}"), 2);
	cr_expect_eq(stats_sample(t, "sluice_lock_queued{lock=\"gpu\"}"), 3);
	cr_expect_eq(stats_sample(t, "sluice_lock_queue_limit{lock=\"cpu\"}"),
	    64);
	cr_expect_eq(stats_sample(t, "sluice_lock_refused_total{lock=\"gpu\"}"),
	    4);
	cr_expect_eq(stats_sample(t, "sluice_lock_finished_total{lock=\"gpu\","
	    "state=\"cancelled\"}"), 5);
	cr_expect_eq(stats_sample(t, "sluice_lock_wait_seconds_bucket{lock="
	    "\"gpu\",le=\"0.002\"}"), 1);
	cr_expect_eq(stats_sample(t, "sluice_lock_wait_seconds_bucket{lock="
	    "\"gpu\",le=\"+Inf\"}"), 3);
	cr_expect_eq(stats_sample(t, "sluice_lock_run_seconds_sum{lock="
	    "\"gpu\"}"), 4.5);
	cr_expect_eq(stats_sample(t, "sluice_task_jobs{task=\"burn\","
	    "state=\"running\"}"), 1);
	cr_expect_eq(stats_sample(t, "sluice_task_mean_run_seconds{task="
	    "\"burn\"}"), 0.25);
	cr_expect_eq(stats_sample(t, "sluice_http_requests_total{status="
	    "\"404\"}"), 7);
	cr_expect_eq(stats_sample(t, "sluice_draining"), 1);
	cr_expect_eq(stats_sample(t, "sluice_devices"), 2);
	cr_expect_eq(stats_sample(t, "sluice_device_worker_restarts_total{"
	    "device=\"cuda:1\"}"), 3);
	cr_expect_eq(stats_sample(t, "sluice_device_job_failures_total{"
	    "device=\"cpu\"}"), 2);
	cr_expect_eq(stats_sample(t, "sluice_config_reloads_total{result="
	    "\"error\"}"), 1);
	cr_expect_eq(stats_sample(t, "sluice_start_time_seconds"),
	    1700000000.5);
	/* A status never answered has no sample; HELP and TYPE come once. */
	cr_expect(isnan(stats_sample(t, "sluice_http_requests_total{status="
	    "\"500\"}")));
	cr_expect_not_null(strstr(t, "# HELP sluice_lock_slots Slots of each "
	    "lock.\n# TYPE sluice_lock_slots gauge\n"));
	free(t);
}

Test(metrics, label_values_escaped)
{
	struct metrics_snapshot	 snap;
	char			*t;

	known_snapshot(&snap);
	snprintf(t_tasks[0].name, sizeof(t_tasks[0].name), "a\"b\\c\nd");
	t = prometheus(&snap);
	cr_expect_not_null(strstr(t, "sluice_task_admitted_total{task="
	    "\"a\\\"b\\\\c\\nd\"} 11\n"), "%s", t);
	free(t);
}

Test(metrics, mean_run_absent_before_the_first_job)
{
	struct metrics_snapshot	 snap;
	char			*t;

	known_snapshot(&snap);
	t_tasks[0].run_n = 0;
	t = prometheus(&snap);
	cr_expect(isnan(stats_sample(t, "sluice_task_mean_run_seconds{task="
	    "\"burn\"}")));
	free(t);
}

/* ---- /status.json ---- */

Test(metrics, status_json_keys_in_order)
{
	struct metrics_snapshot	 snap;
	json_t			*o;
	char			 keys[1024];

	known_snapshot(&snap);
	o = status_json(&snap);
	keys_of(o, keys, sizeof(keys));
	cr_expect_str_eq(keys, "server,locks,tasks,devices");
	keys_of(json_object_get(o, "server"), keys, sizeof(keys));
	cr_expect_str_eq(keys, "version,uptime_s,threads,threads_busy,"
	    "draining,devices,reloads,reload_errors,generations,requests,"
	    "status,events");
	keys_of(json_object_get(json_object_get(o, "server"), "events"),
	    keys, sizeof(keys));
	cr_expect_str_eq(keys, "on,published,dropped,ended");
	keys_of(json_object_get(json_object_get(o, "server"), "requests"),
	    keys, sizeof(keys));
	cr_expect_str_eq(keys, "1xx,2xx,3xx,4xx,5xx");
	keys_of(json_object_get(json_object_get(o, "server"), "status"),
	    keys, sizeof(keys));
	cr_expect_str_eq(keys, "200,303,404");
	keys_of(json_object_get(o, "locks"), keys, sizeof(keys));
	cr_expect_str_eq(keys, "gpu,cpu");
	keys_of(json_object_get(json_object_get(o, "locks"), "gpu"), keys,
	    sizeof(keys));
	cr_expect_str_eq(keys, "slots,busy,queued,queue,order,admitted,"
	    "refused,started,done,failed,expired,cancelled,wait_ms,run_ms");
	keys_of(json_object_get(json_object_get(json_object_get(o, "locks"),
	    "gpu"), "wait_ms"), keys, sizeof(keys));
	cr_expect_str_eq(keys, "buckets,sum,count");
	keys_of(json_object_get(json_object_get(o, "tasks"), "burn"), keys,
	    sizeof(keys));
	cr_expect_str_eq(keys, "queued,running,done,failed,expired,cancelled,"
	    "admitted,refused,mean_run_ms,eta_run_ms,workers_ready,failing");
	keys_of(json_array_get(json_object_get(o, "devices"), 1), keys,
	    sizeof(keys));
	cr_expect_str_eq(keys, "device,failures,restarts");
	json_decref(o);
}

Test(metrics, status_json_values_from_the_struct)
{
	struct metrics_snapshot	 snap;
	json_t			*o, *srv, *gpu, *dev;

	known_snapshot(&snap);
	o = status_json(&snap);
	srv = json_object_get(o, "server");
	cr_expect_str_eq(json_string_value(json_object_get(srv, "version")),
	    "1.2.3");
	/* Whole seconds, as before: 42.9 s of uptime is 42. */
	cr_expect(json_is_integer(json_object_get(srv, "uptime_s")));
	cr_expect_eq(AT(srv, "uptime_s"), 42);
	cr_expect_eq(AT(srv, "threads"), 16);
	cr_expect(json_is_true(json_object_get(srv, "draining")));
	cr_expect_eq(AT(srv, "requests", "2xx"), 20);
	cr_expect_eq(AT(srv, "requests", "4xx"), 7);
	cr_expect_eq(AT(srv, "status", "303"), 2);
	gpu = json_object_get(json_object_get(o, "locks"), "gpu");
	cr_expect_str_eq(json_string_value(json_object_get(gpu, "order")),
	    "fair");
	cr_expect_eq(AT(gpu, "expired"), 2);
	cr_expect_eq(AT(gpu, "wait_ms", "buckets", "1"), 0);
	cr_expect_eq(AT(gpu, "wait_ms", "buckets", "2"), 1);
	cr_expect_eq(AT(gpu, "wait_ms", "buckets", "600000"), 3);
	cr_expect_eq(AT(gpu, "wait_ms", "buckets", "+Inf"), 3);
	cr_expect_eq(AT(gpu, "wait_ms", "sum"), 7.25);
	/* Whole numbers are integers, as buf_json_num wrote them. */
	cr_expect(json_is_integer(json_object_get(json_object_get(gpu,
	    "run_ms"), "sum")));
	cr_expect_eq(AT(o, "tasks", "burn", "mean_run_ms"), 250);
	cr_expect_eq(AT(o, "tasks", "burn", "eta_run_ms"), 250);
	dev = json_array_get(json_object_get(o, "devices"), 1);
	cr_expect_str_eq(json_string_value(json_object_get(dev, "device")),
	    "cuda:1");
	cr_expect_eq(AT(dev, "failures"), 5);
	cr_expect_eq(AT(dev, "restarts"), 3);
	json_decref(o);
}

Test(metrics, status_json_mean_null_and_no_scheduler)
{
	struct metrics_snapshot	 snap;
	json_t			*o;

	known_snapshot(&snap);
	t_tasks[0].run_n = 0;
	o = status_json(&snap);
	cr_expect(json_is_null(json_object_get(json_object_get(
	    json_object_get(o, "tasks"), "burn"), "mean_run_ms")));
	json_decref(o);
	/* Without a scheduler there are no "locks" and "tasks" at all. */
	snap.has_sched = 0;
	o = status_json(&snap);
	cr_expect_null(json_object_get(o, "locks"));
	cr_expect_null(json_object_get(o, "tasks"));
	cr_expect_not_null(json_object_get(o, "server"));
	json_decref(o);
}

/* Every number both renderings show, read from each: the same. */
Test(metrics, both_renderings_carry_the_same_values)
{
	static const struct {
		const char	*series;
		const char	*path[6];
		double		 scale;	/* JSON value * scale = sample */
	} same[] = {
		{ "sluice_lock_slots{lock=\"gpu\"}", { "locks", "gpu",
		    "slots" }, 1 },
		{ "sluice_lock_busy{lock=\"gpu\"}", { "locks", "gpu", "busy" },
		    1 },
		{ "sluice_lock_admitted_total{lock=\"gpu\"}", { "locks", "gpu",
		    "admitted" }, 1 },
		{ "sluice_lock_started_total{lock=\"gpu\"}", { "locks", "gpu",
		    "started" }, 1 },
		{ "sluice_lock_finished_total{lock=\"gpu\",state=\"done\"}",
		    { "locks", "gpu", "done" }, 1 },
		{ "sluice_lock_wait_seconds_sum{lock=\"gpu\"}", { "locks",
		    "gpu", "wait_ms", "sum" }, 0.001 },
		{ "sluice_lock_run_seconds_count{lock=\"gpu\"}", { "locks",
		    "gpu", "run_ms", "count" }, 1 },
		{ "sluice_lock_wait_seconds_bucket{lock=\"gpu\",le=\"0.005\"}",
		    { "locks", "gpu", "wait_ms", "buckets", "5" }, 1 },
		{ "sluice_task_jobs{task=\"burn\",state=\"queued\"}", {
		    "tasks", "burn", "queued" }, 1 },
		{ "sluice_task_finished_total{task=\"burn\",state=\"failed\"}",
		    { "tasks", "burn", "failed" }, 1 },
		{ "sluice_task_refused_total{task=\"burn\"}", { "tasks",
		    "burn", "refused" }, 1 },
		{ "sluice_task_mean_run_seconds{task=\"burn\"}", { "tasks",
		    "burn", "mean_run_ms" }, 0.001 },
		{ "sluice_responder_threads_busy", { "server",
		    "threads_busy" }, 1 },
		{ "sluice_http_requests_total{status=\"200\"}", { "server",
		    "status", "200" }, 1 },
		{ "sluice_devices", { "server", "devices" }, 1 },
		{ "sluice_config_reloads_total{result=\"ok\"}", { "server",
		    "reloads" }, 1 },
		{ "sluice_events_total{result=\"published\"}", { "server",
		    "events", "published" }, 1 },
		{ "sluice_events_total{result=\"dropped\"}", { "server",
		    "events", "dropped" }, 1 },
		{ "sluice_events_total{result=\"ended\"}", { "server",
		    "events", "ended" }, 1 },
	};
	struct metrics_snapshot	 snap;
	json_t			*o;
	char			*t;
	double			 js, pm;
	size_t			 i;

	known_snapshot(&snap);
	t = prometheus(&snap);
	o = status_json(&snap);
	for (i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		js = stats_json_at(o, same[i].path) * same[i].scale;
		pm = stats_sample(t, same[i].series);
		cr_expect(!isnan(js) && !isnan(pm) && fabs(js - pm) < 1e-9,
		    "%s: %g in /metrics, %g in /status.json", same[i].series,
		    pm, js);
	}
	json_decref(o);
	free(t);
}

/* ---- devices: the workers' counters ---- */

Test(metrics, devices_sorted_cpu_first_in_both)
{
	static const struct metrics_device from[] = {
		{ 3, 7, 1 }, { -1, 2, 0 }, { 0, 0, 4 },
	};
	struct metrics_snapshot	 snap;
	json_t			*o, *a;
	char			*t;

	memset(&snap, 0, sizeof(snap));
	cr_assert_eq(metrics_snapshot_devices(&snap, from, 3), 0);
	cr_assert_eq(snap.ndevices, 3);
	cr_expect_eq(snap.devices[0].device, -1);
	cr_expect_eq(snap.devices[1].device, 0);
	cr_expect_eq(snap.devices[2].device, 3);
	t = prometheus(&snap);
	cr_expect_not_null(strstr(t, "sluice_device_job_failures_total{device="
	    "\"cuda:3\"} 7\n"), "%s", t);
	cr_expect_not_null(strstr(t, "sluice_device_job_failures_total{device="
	    "\"cpu\"} 2\n"));
	cr_expect_not_null(strstr(t, "sluice_device_worker_restarts_total{"
	    "device=\"cuda:0\"} 4\n"));
	free(t);
	o = status_json(&snap);
	a = json_object_get(o, "devices");
	cr_assert_eq(json_array_size(a), 3);
	cr_expect_str_eq(json_string_value(json_object_get(json_array_get(a,
	    0), "device")), "cpu");
	cr_expect_eq(AT(json_array_get(a, 2), "failures"), 7);
	cr_expect_eq(AT(json_array_get(a, 2), "restarts"), 1);
	json_decref(o);
	metrics_snapshot_free(&snap);
}

Test(metrics, no_devices_no_device_samples)
{
	struct metrics_snapshot	 snap;
	char			*t;

	memset(&snap, 0, sizeof(snap));
	cr_assert_eq(metrics_snapshot_devices(&snap, NULL, 0), 0);
	cr_expect_null(snap.devices);
	t = prometheus(&snap);
	cr_expect_not_null(strstr(t, "# TYPE sluice_device_worker_restarts_total "
	    "counter\n# HELP"), "%s", t);
	cr_expect_null(strstr(t, "{device="));
	free(t);
	metrics_snapshot_free(&snap);
}
