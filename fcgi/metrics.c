/* metrics: Prometheus text format 0.0.4. See metrics.h for the contract. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "job.h"
#include "kernel.h"
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

enum dev_field { DEV_FAILURES, DEV_IN_A_ROW, DEV_RESETS, DEV_UNUSABLE };

/* One series of kernel_device_health() over the CUDA devices. */
static void
device_series(struct buf *b, int ndev, enum dev_field f)
{
	static const struct {
		const char	*name, *type, *help;
	} series[] = {
		[DEV_FAILURES] = { "sluice_device_job_failures_total",
		    "counter", "Jobs that failed on each CUDA device." },
		[DEV_IN_A_ROW] = { "sluice_device_failures_in_a_row", "gauge",
		    "Jobs failed in a row on each CUDA device (0 after a "
		    "success)." },
		[DEV_RESETS] = { "sluice_device_resets_total", "counter",
		    "Resets of each CUDA device after an error broke its "
		    "context." },
		[DEV_UNUSABLE] = { "sluice_device_unusable", "gauge",
		    "1 while a CUDA device's reset failed: its jobs fail at "
		    "once." },
	};
	struct kernel_device_health	 h;
	long				 v;
	int				 d;

	head(b, series[f].name, series[f].type, series[f].help);
	for (d = 0; d < ndev; d++) {
		kernel_device_health(d, &h);
		v = f == DEV_FAILURES ? h.failures : f == DEV_IN_A_ROW ?
		    h.in_a_row : f == DEV_RESETS ? h.resets : h.unusable;
		buf_printf(b, "%s{device=\"cuda:%d\"} %ld\n", series[f].name,
		    d, v);
	}
}

static void
render_server(struct buf *b, const struct metrics_server *ms)
{
	char	 code[8];
	int	 i;

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
	head(b, "sluice_devices", "gauge", "CUDA devices found at start.");
	buf_printf(b, "sluice_devices %d\n", ms->devices);
	device_series(b, ms->devices, DEV_FAILURES);
	device_series(b, ms->devices, DEV_IN_A_ROW);
	device_series(b, ms->devices, DEV_RESETS);
	device_series(b, ms->devices, DEV_UNUSABLE);
	head(b, "sluice_config_reloads_total", "counter",
	    "SIGHUP reloads, by result.");
	buf_printf(b, "sluice_config_reloads_total{result=\"ok\"} %llu\n"
	    "sluice_config_reloads_total{result=\"error\"} %llu\n",
	    (unsigned long long)ms->reloads,
	    (unsigned long long)ms->reload_errors);
	head(b, "sluice_start_time_seconds", "gauge",
	    "Start time of the process, Unix seconds.");
	buf_printf(b, "sluice_start_time_seconds %.3f\n", ms->start_time_s);
}

void
metrics_render(struct buf *b, const struct sched_stats *ss,
    const struct metrics_server *ms)
{
	render_locks(b, ss);
	render_tasks(b, ss);
	render_server(b, ms);
}
