/*
 * sched_log: one key=value line per job transition (DESIGN.md, logs),
 * and the scheduler's small shared helpers (clock, error text).
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "sched_int.h"

/* CLOCK_MONOTONIC in ns: the clock of every duration and condvar wait. */
int64_t
sched_mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* printf into err (when not NULL). */
void
sched_errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* error with no raw quote, backslash or control character, into e. */
static void
log_quote(const char *error, char *e, size_t elen)
{
	const char	*p;
	size_t		 n = 0;

	for (p = error; *p != '\0' && n + 3 < elen; p++) {
		if (*p == '"' || *p == '\\')
			e[n++] = '\\';
		e[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
	}
	e[n] = '\0';
}

/*
 * wait_ms/run_ms < 0 and an empty device print as "-"; error is quoted.
 * Called outside the mutex: a slow log must not stall the scheduler.
 */
void
sched_log(struct sched *s, const char *event, const char *id,
    const char *task, const char *session, int64_t wait_ms, int64_t run_ms,
    const char *device, const char *error)
{
	char	 w[24], r[24], e[256];

	if (s->opts.log == NULL)
		return;
	snprintf(w, sizeof(w), wait_ms >= 0 ? "%lld" : "-",
	    (long long)wait_ms);
	snprintf(r, sizeof(r), run_ms >= 0 ? "%lld" : "-", (long long)run_ms);
	e[0] = '\0';
	if (error != NULL)
		log_quote(error, e, sizeof(e));
	fprintf(s->opts.log, "level=info event=%s id=%s task=%s session=%.8s "
	    "wait_ms=%s run_ms=%s device=%s%s%s%s\n", event, id,
	    task != NULL ? task : "-", session != NULL ? session : "-", w, r,
	    device != NULL && device[0] != '\0' ? device : "-",
	    error != NULL ? " error=\"" : "", e, error != NULL ? "\"" : "");
	fflush(s->opts.log);
}

/* The event of each state, indexed by enum job_state. */
static const char *const event_names[LOCK_NSTATES] = {
	"job_queued", "job_started", "job_done", "job_failed", "job_expired",
	"job_cancelled"
};

/* Logs a job from its record: the event of its state, times from its stamps. */
void
sched_log_job(struct sched *s, const struct job *jb)
{
	int64_t	 wait = -1, run = -1;

	if (jb->started_ms > 0 && jb->created_ms > 0)
		wait = jb->started_ms - jb->created_ms;
	else if (jb->finished_ms > 0 && jb->created_ms > 0)
		wait = jb->finished_ms - jb->created_ms;
	if (jb->started_ms > 0 && jb->finished_ms > 0)
		run = jb->finished_ms - jb->started_ms;
	sched_log(s, event_names[jb->state], jb->id, jb->task, jb->session,
	    wait, run, jb->device, jb->error);
}
