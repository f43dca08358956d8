/*
 * sched: runs jobs under the keyed locks of the config. See sched.h for
 * the contract; this comment says how.
 *
 * One mutex (sched.mu) protects everything below: waiter lists, sessions,
 * stats, the ready list. Each lock keeps its waiters in arrival (seq)
 * order; a job that needs several locks waits in each of their lists at
 * once and counts against each lock's `queue`.
 *
 * Dispatch runs, under the mutex, after every event (submit, finish,
 * cancel, expiry). For each lock with a free slot it takes the first
 * waiter, in that lock's order, whose locks ALL have a free slot, and
 * starts it: all of its slots are claimed at once under the mutex, or
 * none, so there is no hold-and-wait and no deadlock. Starting only
 * consumes slots, so one pass over the locks leaves no waiter that could
 * start (work-conserving).
 *
 * Order. fifo: by seq. fair: by (the session's turn on this lock, seq),
 * where a lock's turn counter advances by 2 at every start and the
 * session served gets the new value; a session that starts waiting on a
 * lock gets max(its turn, turn - 1), i.e. it goes behind every session
 * that has waited since before the last start but ahead of the one just
 * served, and the one just served (its turn is the lock's) stays behind
 * even when its next job comes while the last one still runs. So sessions
 * alternate: one session's ten jobs do not block another's one.
 *
 * When a candidate found on one lock also needs other locks, it must be
 * the first startable waiter of each of its fifo locks too; if not, the
 * earlier startable waiter found there is started instead (this strictly
 * lowers seq, so it ends). Then the same is tried for its fair locks, as
 * long as it keeps the fifo property (bounded hops: with tasks that mix
 * orders, two fair locks can disagree, and fifo wins). Hence: on a fifo
 * lock a later job starts before an earlier one only when the earlier one
 * could not start at that instant anyway (one of its other locks was
 * full). That is what keeps the scheduler work-conserving; the earlier
 * job may then wait longer than under a strict FIFO.
 *
 * Started jobs go to a ready list consumed by worker threads (default:
 * the sum of all slots, which bounds the running jobs). A worker runs the
 * kernel outside the mutex, journals the end, then releases the slots and
 * dispatches; it keeps the mutex and runs the first job that dispatch
 * started itself (no other worker is woken for that one), so a slot's
 * release and its next start are one critical section apart. A timer
 * thread expires waiters past a lock's wait_timeout (within a lock the
 * list is in arrival order, so only heads need looking at), and writes
 * again the final states the journal refused (struct sretry), backing off
 * from 1 s to 60 s, until it takes them: a job's row never stays
 * "running" because one write failed. An image that cannot be stored
 * does not hold the final state back: the job ends done without it.
 *
 * Devices. When one of the job's locks has devices (conf_load allows one
 * per task; the first such lock counts), the job's slot s of that lock
 * maps to the configured index devices[s]. If kernel_device_count() (read
 * once, at sched_create) is > 0, the kernel runs on that CUDA device and
 * the job's device is "cuda:N"; otherwise the kernel runs with KERNEL_CPU
 * and the job's device is "cpu". The test hook always gets the configured
 * index (devices[s]) when such a lock exists, KERNEL_CPU otherwise.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "conf.h"
#include "job.h"
#include "journal.h"
#include "kernel.h"
#include "lock.h"
#include "params.h"
#include "sched.h"

#define SCHED_KEEP_FINISHED	4096	/* finished jobs kept in memory ... */
#define SCHED_KEEP_NOJOURNAL	65536	/* ... and without a journal */
#define SCHED_ID_BUCKETS	16384
#define SCHED_SESS_BUCKETS	4096
#define SCHED_SEED_MS		1000.0	/* run time guess before any run */
#define SCHED_EMA_ALPHA		0.2
#define SCHED_FAIR_HOPS		64
#define SCHED_RETRY_MAX		3600
#define SCHED_JRETRY_MS		1000	/* first retry of a final write ... */
#define SCHED_JRETRY_MAX_MS	60000	/* ... doubling up to this */

const int64_t sched_hist_bounds_ms[SCHED_HIST_N] = {
	1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000,
	50000, 100000, 200000, 600000
};
#define hist_bounds	sched_hist_bounds_ms
#define HIST_N		((size_t)SCHED_HIST_N)

const char *const sched_state_names[SCHED_NSTATES] = {
	"queued", "running", "done", "failed", "expired", "cancelled"
};

struct hist {
	uint64_t	 b[HIST_N + 1];	/* per bucket (not cumulative); last: +Inf */
	double		 sum;
	uint64_t	 n;
};

struct sjob;

struct wnode {
	struct sjob	*job;
	struct wnode	*prev, *next;
};

struct sess {
	char		 sid[JOB_SESSION_LEN + 1];
	int		 active;	/* pending + queued + running */
	int64_t		*turn;		/* per lock: fair order key */
	int		*nwait;		/* per lock: waiters */
	struct sess	*next;
};

struct stask {
	const struct conf_task	*ct;		/* NULL once removed by reload */
	const struct kernel	*k;
	double			 ema_ms;
	int			 seen;
	int			 nqueued, nrunning;	/* incl. pending */
	uint64_t		 admitted, refused;
	uint64_t		 ended[SCHED_NSTATES];
	double			 run_sum_ms;
	uint64_t		 run_n;
	struct stask		*retired_next;
};

struct sjob {
	struct job	 job;
	struct stask	*st;
	struct sess	*sess;
	const struct kernel *k;		/* as admitted (a reload may change the task's) */
	size_t		 nlocks;	/* the locks it was admitted with */
	size_t		*lidx;		/* per job lock: index in s->locks; SIZE_MAX: removed */
	int		*slots;		/* per job lock */
	struct wnode	*w;		/* per job lock */
	int		 pending;	/* admitted, journal write in flight */
	int		 evicted;	/* row evicted before job_end: forget */
	int		 run_device;	/* for kernel->run */
	int		 hook_device;	/* for opts.run_hook */
	int64_t		 enq_ns, start_ns;
	struct sjob	*id_next, *nonce_next;
	struct sjob	*ready_next;
	struct sjob	*prev, *next;	/* running or finished list */
};

struct slock {
	const struct conf_lock	*cl;
	struct lock		 lk;
	int			 busy;	/* == lock_busy(&lk), kept under mu */
	struct wnode		*head, *tail;
	int			 nwait, npending;
	int64_t			 turn;
	int			 shrunk;	/* busy may exceed slots (reload) */
	uint64_t		 admitted, refused, started;
	uint64_t		 ended[SCHED_NSTATES];
	struct hist		 wait, run;
};

struct slist {
	struct sjob	*head, *tail;
	size_t		 n;
};

/*
 * A final state the journal did not take (disk full, I/O error): kept
 * here and written again by the timer thread until it is, so that the row
 * never stays "running" (which a restart would turn into "interrupted").
 * Added by any thread under mu (at the head); removed only by the timer
 * thread (or sched_destroy once it has stopped), so the timer may walk
 * the entries it marked without the mutex.
 */
struct sretry {
	struct job	*job;		/* the final record, owned */
	int64_t		 png_bytes;	/* its result file, already stored */
	int		 tries;		/* failed writes so far */
	int64_t		 due_ns;	/* next attempt, mono_ns() */
	int		 trying, ok;	/* timer thread only */
	struct sretry	*next;
};

struct sched {
	const struct conf	*conf;
	struct journal		*jr;
	struct sched_opts	 opts;
	int			 ngpu;
	pthread_mutex_t		 mu;
	pthread_cond_t		 work_cv, timer_cv, drain_cv;
	struct slock		*locks;
	size_t			 nlocks;
	struct stask		**tasks;
	size_t			 ntasks;
	struct stask		*retired;	/* tasks removed by reload */
	int			 npending;	/* journal writes of submits in flight */
	int			 reconf;	/* a reconfigure waits for npending == 0 */
	pthread_cond_t		 reconf_cv;
	struct sjob		**by_id, **by_nonce;
	struct sess		**sessions;
	struct sjob		*ready_head, *ready_tail;
	struct slist		 running, finished;
	struct sretry		*retry;		/* final writes to repeat */
	int64_t			 next_seq;
	int			 active;	/* pending + queued + running */
	int			 idle;		/* workers waiting for work */
	int			 self_take;	/* a finishing worker takes the next start */
	int			 draining, stop;
	int			 drain_waiters;
	int			 audit_starts;
	uint64_t		 fifo_violations;
	pthread_t		*workers;
	int			 nworkers;
	pthread_t		 timer;
	int			 timer_started;
};

/* ---------------------------------------------------------------------- */
/* Small helpers */

/* CLOCK_MONOTONIC in ns: the clock of every duration and condvar wait. */
static int64_t
mono_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void errf(char *, size_t, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
errf(char *err, size_t errlen, const char *fmt, ...)
{
	va_list	 ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/*
 * One key=value line per job transition on opts.log (DESIGN.md, logs):
 * wait_ms/run_ms < 0 and an empty device print as "-"; error is quoted.
 * Called outside the mutex: a slow log must not stall the scheduler.
 */
static void
sched_log(struct sched *s, const char *event, const char *id,
    const char *task, const char *session, int64_t wait_ms, int64_t run_ms,
    const char *device, const char *error)
{
	char		 w[24], r[24], e[256];
	const char	*p;
	size_t		 n = 0;

	if (s->opts.log == NULL)
		return;
	snprintf(w, sizeof(w), wait_ms >= 0 ? "%lld" : "-",
	    (long long)wait_ms);
	snprintf(r, sizeof(r), run_ms >= 0 ? "%lld" : "-", (long long)run_ms);
	e[0] = '\0';
	if (error != NULL) {
		/* Quote: no raw quote, backslash or control character. */
		for (p = error; *p != '\0' && n + 3 < sizeof(e); p++) {
			if (*p == '"' || *p == '\\')
				e[n++] = '\\';
			e[n++] = (unsigned char)*p < 0x20 ? ' ' : *p;
		}
		e[n] = '\0';
	}
	fprintf(s->opts.log, "level=info event=%s id=%s task=%s session=%.8s "
	    "wait_ms=%s run_ms=%s device=%s%s%s%s\n", event, id,
	    task != NULL ? task : "-", session != NULL ? session : "-", w, r,
	    device != NULL && device[0] != '\0' ? device : "-",
	    error != NULL ? " error=\"" : "", e, error != NULL ? "\"" : "");
	fflush(s->opts.log);
}

/* Logs a job from its (final) record: times from its timestamps. */
static void
sched_log_job(struct sched *s, const char *event, const struct job *jb)
{
	int64_t	 wait = -1, run = -1;

	if (jb->started_ms > 0 && jb->created_ms > 0)
		wait = jb->started_ms - jb->created_ms;
	else if (jb->finished_ms > 0 && jb->created_ms > 0)
		wait = jb->finished_ms - jb->created_ms;
	if (jb->started_ms > 0 && jb->finished_ms > 0)
		run = jb->finished_ms - jb->started_ms;
	sched_log(s, event, jb->id, jb->task, jb->session, wait, run,
	    jb->device, jb->error);
}

static const char *
event_name(enum job_state st)
{
	switch (st) {
	case JOB_DONE:		return "job_done";
	case JOB_FAILED:	return "job_failed";
	case JOB_EXPIRED:	return "job_expired";
	case JOB_CANCELLED:	return "job_cancelled";
	case JOB_RUNNING:	return "job_started";
	default:		return "job_queued";
	}
}

static uint64_t
hash_str(const char *a, const char *b)
{
	uint64_t	 h = UINT64_C(1469598103934665603);

	for (; *a != '\0'; a++)
		h = (h ^ (unsigned char)*a) * UINT64_C(1099511628211);
	if (b != NULL) {
		h = (h ^ 0xff) * UINT64_C(1099511628211);
		for (; *b != '\0'; b++)
			h = (h ^ (unsigned char)*b) *
			    UINT64_C(1099511628211);
	}
	return h;
}

static void
hist_add(struct hist *h, double ms)
{
	size_t	 i;

	if (!(ms >= 0))
		ms = 0;
	for (i = 0; i < HIST_N && ms > (double)hist_bounds[i]; i++)
		continue;
	h->b[i]++;
	h->sum += ms;
	h->n++;
}

static void
slist_add(struct slist *l, struct sjob *j)
{
	j->next = NULL;
	j->prev = l->tail;
	if (l->tail != NULL)
		l->tail->next = j;
	else
		l->head = j;
	l->tail = j;
	l->n++;
}

static void
slist_del(struct slist *l, struct sjob *j)
{
	if (j->prev != NULL)
		j->prev->next = j->next;
	else
		l->head = j->next;
	if (j->next != NULL)
		j->next->prev = j->prev;
	else
		l->tail = j->prev;
	j->prev = j->next = NULL;
	l->n--;
}

static struct stask *
stask_find(struct sched *s, const char *name)
{
	size_t	 i;

	for (i = 0; i < s->ntasks; i++)
		if (strcmp(s->tasks[i]->ct->name, name) == 0)
			return s->tasks[i];
	return NULL;
}

/* Index into the job's locks of config lock li, or -1. */
static int
job_lock_pos(const struct sjob *j, size_t li)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (j->lidx[i] == li)
			return (int)i;
	return -1;
}

/* Lock i of j; NULL only for a running job's lock removed by reload. */
static struct slock *
job_lock(struct sched *s, const struct sjob *j, size_t i)
{
	if (j->lidx[i] >= s->nlocks)
		return NULL;
	return &s->locks[j->lidx[i]];
}

static void
sjob_free(struct sjob *j)
{
	if (j == NULL)
		return;
	job_clear(&j->job);
	free(j->lidx);
	free(j->slots);
	free(j->w);
	free(j);
}

/* ---------------------------------------------------------------------- */
/* Indexes: jobs by id, by (session, nonce); sessions. */

static struct sjob *
id_find(struct sched *s, const char *id)
{
	struct sjob	*j;

	j = s->by_id[hash_str(id, NULL) % SCHED_ID_BUCKETS];
	for (; j != NULL; j = j->id_next)
		if (strcmp(j->job.id, id) == 0)
			return j;
	return NULL;
}

static void
id_add(struct sched *s, struct sjob *j)
{
	struct sjob	**bp;

	bp = &s->by_id[hash_str(j->job.id, NULL) % SCHED_ID_BUCKETS];
	j->id_next = *bp;
	*bp = j;
}

static void
id_del(struct sched *s, struct sjob *j)
{
	struct sjob	**pp;

	pp = &s->by_id[hash_str(j->job.id, NULL) % SCHED_ID_BUCKETS];
	for (; *pp != NULL; pp = &(*pp)->id_next)
		if (*pp == j) {
			*pp = j->id_next;
			return;
		}
}

static struct sjob *
nonce_find(struct sched *s, const char *session, const char *nonce)
{
	struct sjob	*j;

	j = s->by_nonce[hash_str(session, nonce) % SCHED_ID_BUCKETS];
	for (; j != NULL; j = j->nonce_next)
		if (strcmp(j->job.session, session) == 0 &&
		    strcmp(j->job.nonce, nonce) == 0)
			return j;
	return NULL;
}

static void
nonce_add(struct sched *s, struct sjob *j)
{
	struct sjob	**bp;

	if (j->job.nonce[0] == '\0')
		return;
	bp = &s->by_nonce[hash_str(j->job.session, j->job.nonce) %
	    SCHED_ID_BUCKETS];
	j->nonce_next = *bp;
	*bp = j;
}

static void
nonce_del(struct sched *s, struct sjob *j)
{
	struct sjob	**pp;

	if (j->job.nonce[0] == '\0')
		return;
	pp = &s->by_nonce[hash_str(j->job.session, j->job.nonce) %
	    SCHED_ID_BUCKETS];
	for (; *pp != NULL; pp = &(*pp)->nonce_next)
		if (*pp == j) {
			*pp = j->nonce_next;
			return;
		}
}

/* The session entry, created when create is set; NULL on ENOMEM/absent. */
static struct sess *
sess_get(struct sched *s, const char *sid, int create)
{
	struct sess	**bp, *e;

	bp = &s->sessions[hash_str(sid, NULL) % SCHED_SESS_BUCKETS];
	for (e = *bp; e != NULL; e = e->next)
		if (strcmp(e->sid, sid) == 0)
			return e;
	if (!create)
		return NULL;
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return NULL;
	e->turn = calloc(s->nlocks, sizeof(*e->turn));
	e->nwait = calloc(s->nlocks, sizeof(*e->nwait));
	if (e->turn == NULL || e->nwait == NULL) {
		free(e->turn);
		free(e->nwait);
		free(e);
		return NULL;
	}
	snprintf(e->sid, sizeof(e->sid), "%s", sid);
	e->next = *bp;
	*bp = e;
	return e;
}

/* Frees the session entry once it has no active job. */
static void
sess_put(struct sched *s, struct sess *e)
{
	struct sess	**pp;

	if (e == NULL || e->active > 0)
		return;
	pp = &s->sessions[hash_str(e->sid, NULL) % SCHED_SESS_BUCKETS];
	for (; *pp != NULL; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			break;
		}
	free(e->turn);
	free(e->nwait);
	free(e);
}

/* ---------------------------------------------------------------------- */
/* Waiters and order */

static int
lock_has_room(const struct slock *L)
{
	return L->busy < L->cl->slots;
}

/* 1 when every lock of j has a free slot now. */
static int
startable(struct sched *s, const struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		if (!lock_has_room(job_lock(s, j, i)))
			return 0;
	return 1;
}

/* 1 when a goes before b in lock li's order (both wait on li). */
static int
order_before(struct sched *s, size_t li, const struct sjob *a,
    const struct sjob *b)
{
	int64_t	 ta, tb;

	if (s->locks[li].cl->order == CONF_ORDER_FAIR) {
		ta = a->sess->turn[li];
		tb = b->sess->turn[li];
		if (ta != tb)
			return ta < tb;
	}
	return a->job.seq < b->job.seq;
}

/* The first waiter of lock li, in its order, that could start now. */
static struct sjob *
first_startable(struct sched *s, size_t li)
{
	struct slock	*L = &s->locks[li];
	struct wnode	*w;
	struct sjob	*best = NULL;

	if (!lock_has_room(L))
		return NULL;
	for (w = L->head; w != NULL; w = w->next) {
		if (!startable(s, w->job))
			continue;
		if (L->cl->order == CONF_ORDER_FIFO)
			return w->job;
		if (best == NULL || order_before(s, li, w->job, best))
			best = w->job;
	}
	return best;
}

/*
 * For a startable c: a waiter that goes before c on one of c's locks of
 * the given order and could start now, or NULL when c is first on all.
 */
static struct sjob *
blocker(struct sched *s, struct sjob *c, enum conf_order order)
{
	struct sjob	*f;
	size_t		 i, li;

	for (i = 0; i < c->nlocks; i++) {
		li = c->lidx[i];
		if (s->locks[li].cl->order != order)
			continue;
		f = first_startable(s, li);
		if (f != NULL && f != c)
			return f;
	}
	return NULL;
}

/* See the comment at the top: which startable job to start for c. */
static struct sjob *
resolve(struct sched *s, struct sjob *c)
{
	struct sjob	*f;
	int		 hops;

	while ((f = blocker(s, c, CONF_ORDER_FIFO)) != NULL)
		c = f;	/* f->job.seq < c->job.seq: this ends */
	for (hops = 0; hops < SCHED_FAIR_HOPS; hops++) {
		f = blocker(s, c, CONF_ORDER_FAIR);
		if (f == NULL || blocker(s, f, CONF_ORDER_FIFO) != NULL)
			break;
		c = f;
	}
	return c;
}

/* Appends j to the waiter list of each of its locks, in seq order. */
static void
waiter_insert(struct sched *s, struct sjob *j)
{
	struct slock	*L;
	struct wnode	*w, *at;
	size_t		 i, li;
	int		 signal = 0;

	for (i = 0; i < j->nlocks; i++) {
		li = j->lidx[i];
		L = &s->locks[li];
		w = &j->w[i];
		w->job = j;
		for (at = L->tail; at != NULL && at->job->job.seq > j->job.seq;
		    at = at->prev)
			continue;
		w->prev = at;
		w->next = at != NULL ? at->next : L->head;
		if (w->next != NULL)
			w->next->prev = w;
		else
			L->tail = w;
		if (at != NULL)
			at->next = w;
		else {
			L->head = w;
			if (L->cl->wait_timeout > 0)
				signal = 1;
		}
		L->nwait++;
		/*
		 * A session that starts waiting goes behind the one just
		 * served, never ahead of its own last start: a session with
		 * a job still running keeps the turn job_start gave it (its
		 * entry lives while it has an active job), so submitting its
		 * next job does not jump it back ahead of the others.
		 */
		if (j->sess->nwait[li]++ == 0 &&
		    j->sess->turn[li] < L->turn - 1)
			j->sess->turn[li] = L->turn - 1;
	}
	j->st->nqueued++;
	if (signal)
		pthread_cond_signal(&s->timer_cv);
}

static void
waiter_remove(struct sched *s, struct sjob *j)
{
	struct slock	*L;
	struct wnode	*w;
	size_t		 i;

	for (i = 0; i < j->nlocks; i++) {
		L = job_lock(s, j, i);
		w = &j->w[i];
		if (w->prev != NULL)
			w->prev->next = w->next;
		else
			L->head = w->next;
		if (w->next != NULL)
			w->next->prev = w->prev;
		else
			L->tail = w->prev;
		w->prev = w->next = NULL;
		L->nwait--;
		j->sess->nwait[j->lidx[i]]--;
	}
	j->st->nqueued--;
}

/* ---------------------------------------------------------------------- */
/* Start, end, dispatch */

/* Audit: counts a start on a fifo lock ahead of a startable earlier job. */
static void
audit_start(struct sched *s, struct sjob *c)
{
	struct wnode	*w;
	size_t		 i;

	for (i = 0; i < c->nlocks; i++) {
		if (job_lock(s, c, i)->cl->order != CONF_ORDER_FIFO)
			continue;
		for (w = job_lock(s, c, i)->head; w != NULL && w->job != c;
		    w = w->next)
			if (startable(s, w->job))
				s->fifo_violations++;
	}
}

static void
job_start(struct sched *s, struct sjob *j)
{
	const struct conf_lock	*cld = NULL;
	struct slock		*L;
	size_t			 i, li;
	int64_t			 now = mono_ns();
	int			 slot;

	waiter_remove(s, j);
	for (i = 0; i < j->nlocks; i++) {
		li = j->lidx[i];
		L = &s->locks[li];
		if (lock_try_acquire(&L->lk, &slot) == -1)
			slot = -1;	/* cannot happen: busy < slots */
		j->slots[i] = slot;
		L->busy++;
		L->turn += 2;
		j->sess->turn[li] = L->turn;
		L->started++;
		hist_add(&L->wait, (double)(now - j->enq_ns) / 1e6);
	}
	j->st->nrunning++;
	j->job.state = JOB_RUNNING;
	j->job.started_ms = job_now_ms();
	j->start_ns = now;
	j->job.slot = j->slots[0];

	/* The device: the first of the job's locks that has devices. */
	j->run_device = j->hook_device = KERNEL_CPU;
	snprintf(j->job.device, sizeof(j->job.device), "cpu");
	for (i = 0; i < j->nlocks; i++) {
		cld = job_lock(s, j, i)->cl;
		if (cld->devices != NULL)
			break;
	}
	if (i < j->nlocks && j->slots[i] >= 0) {
		j->hook_device = cld->devices[j->slots[i]];
		if (s->ngpu > 0) {
			j->run_device = j->hook_device;
			snprintf(j->job.device, sizeof(j->job.device),
			    "cuda:%d", j->run_device);
		}
	}

	slist_add(&s->running, j);
	j->ready_next = NULL;
	if (s->ready_tail != NULL)
		s->ready_tail->ready_next = j;
	else
		s->ready_head = j;
	s->ready_tail = j;
	/*
	 * A worker that just finished a job runs the first job its dispatch
	 * starts itself (it is awake and holds the mutex): waking another
	 * worker for it would only add a condvar round trip to the slot gap.
	 */
	if (s->self_take)
		s->self_take = 0;
	else if (s->idle > 0)
		pthread_cond_signal(&s->work_cv);
}

static void
dispatch(struct sched *s)
{
	struct sjob	*c;
	size_t		 li;

	if (s->stop)
		return;
	/* Starting only takes slots, so one pass leaves nothing startable. */
	for (li = 0; li < s->nlocks; li++)
		while ((c = first_startable(s, li)) != NULL) {
			c = resolve(s, c);
			if (s->audit_starts)
				audit_start(s, c);
			job_start(s, c);
		}
}

/* Drops finished job j from memory (lookups go to the journal). */
static void
finished_forget(struct sched *s, struct sjob *j)
{
	slist_del(&s->finished, j);
	id_del(s, j);
	nonce_del(s, j);
	sjob_free(j);
}

/* Drops the oldest finished jobs from memory beyond the bound. */
static void
finished_trim(struct sched *s)
{
	size_t		 keep;

	keep = s->jr != NULL ? SCHED_KEEP_FINISHED : SCHED_KEEP_NOJOURNAL;
	while (s->finished.n > keep)
		finished_forget(s, s->finished.head);
}

/*
 * Moves j (queued or running) to a final state, taking ownership of
 * result and error (malloc'd or NULL). Accounting only: no journal.
 */
static void
job_end(struct sched *s, struct sjob *j, enum job_state state,
    char *result, char *error, int has_png)
{
	struct slock	*L;
	double		 run_ms = 0;
	size_t		 i;
	int		 was_running = j->job.state == JOB_RUNNING;

	if (was_running) {
		run_ms = (double)(mono_ns() - j->start_ns) / 1e6;
		slist_del(&s->running, j);
		j->st->nrunning--;
	} else
		waiter_remove(s, j);
	for (i = 0; i < j->nlocks; i++) {
		if ((L = job_lock(s, j, i)) == NULL)
			continue;	/* lock removed by reload */
		if (was_running) {
			if (lock_release(&L->lk, j->slots[i]) == 0)
				L->busy--;
			hist_add(&L->run, run_ms);
		}
		L->ended[state]++;
	}
	if (was_running) {
		j->st->run_sum_ms += run_ms;
		j->st->run_n++;
		if (state == JOB_DONE) {
			if (!j->st->seen)
				j->st->ema_ms = run_ms;
			else
				j->st->ema_ms = (1 - SCHED_EMA_ALPHA) *
				    j->st->ema_ms + SCHED_EMA_ALPHA * run_ms;
			j->st->seen = 1;
		}
	}
	j->st->ended[state]++;
	j->job.state = state;
	j->job.finished_ms = job_now_ms();
	free(j->job.result);
	free(j->job.error);
	j->job.result = result;
	j->job.error = error;
	j->job.has_png = has_png;
	j->sess->active--;
	sess_put(s, j->sess);
	j->sess = NULL;
	s->active--;
	slist_add(&s->finished, j);
	if (j->evicted)
		finished_forget(s, j);	/* see evict_forget */
	finished_trim(s);
	/* sched_drain waits for active == 0 only: wake it then, not per job. */
	if (s->drain_waiters > 0 && s->active == 0)
		pthread_cond_broadcast(&s->drain_cv);
}

/* ---------------------------------------------------------------------- */
/* Final writes to the journal, and their retries */

/* A deep copy of a final record, or NULL (logged) on ENOMEM. */
static struct job *
final_copy(const struct job *jb, const char *func)
{
	struct job	*c;

	if ((c = calloc(1, sizeof(*c))) == NULL || job_copy(c, jb) == -1) {
		free(c);
		fprintf(stderr, "%s: job %s: out of memory: final state %s "
		    "not journaled\n", func, jb->id, job_state_name(jb->state));
		return NULL;
	}
	return c;
}

/* A final write failed: says so, with the journal's reason. */
static void
final_failed(struct sched *s, const char *func, const struct job *jb,
    int tries, int64_t next_ms)
{
	fprintf(stderr, "%s: job %s: final state %s not journaled (try %d), "
	    "retrying in %lld ms: %s\n", func, jb->id,
	    job_state_name(jb->state), tries, (long long)next_ms,
	    journal_error(s->jr));
}

/* Delay before the next write of a record that failed tries times. */
static int64_t
retry_delay_ms(int tries)
{
	int64_t	 ms = SCHED_JRETRY_MS;

	while (--tries > 0 && ms < SCHED_JRETRY_MAX_MS)
		ms *= 2;
	return ms < SCHED_JRETRY_MAX_MS ? ms : SCHED_JRETRY_MAX_MS;
}

/*
 * Hands the final record c (taken; the journal refused it once) to the
 * timer thread, which writes it again until the journal takes it. Under
 * mu.
 */
static void
retry_add(struct sched *s, struct job *c, int64_t png_bytes)
{
	struct sretry	*r;

	if ((r = calloc(1, sizeof(*r))) == NULL) {
		fprintf(stderr, "%s: job %s: out of memory: final state %s "
		    "lost\n", __func__, c->id, job_state_name(c->state));
		job_clear(c);
		free(c);
		return;
	}
	r->job = c;
	r->png_bytes = png_bytes;
	r->tries = 1;
	r->due_ns = mono_ns() + retry_delay_ms(1) * 1000000;
	r->next = s->retry;
	s->retry = r;
	pthread_cond_signal(&s->timer_cv);
}

/* The record of job id waiting to be written again, or NULL. Under mu. */
static const struct job *
retry_find(struct sched *s, const char *id)
{
	struct sretry	*r;

	for (r = s->retry; r != NULL; r = r->next)
		if (strcmp(r->job->id, id) == 0)
			return r->job;
	return NULL;
}

/*
 * Timer thread, under mu: writes again the records due by now (letting
 * go of the mutex meanwhile), drops those the journal took and sets the
 * next attempt of the others. Returns 1 when it wrote (the mutex was let
 * go), else 0 with *next lowered to the earliest due time.
 */
static int
retry_run(struct sched *s, int64_t now, int64_t *next)
{
	struct sretry	*r, **pp, *head;
	int		 n = 0;

	for (r = s->retry; r != NULL; r = r->next)
		if (r->due_ns <= now) {
			r->trying = 1;
			n++;
		} else if (r->due_ns < *next)
			*next = r->due_ns;
	if (n == 0)
		return 0;
	/* Others only add at the head: from head on, the list holds still. */
	head = s->retry;
	pthread_mutex_unlock(&s->mu);
	for (r = head; r != NULL; r = r->next) {
		if (!r->trying)
			continue;
		r->ok = journal_finish_stored(s->jr, r->job, r->png_bytes) == 0;
		if (r->ok)
			fprintf(stderr, "%s: job %s: final state %s journaled "
			    "after %d failed tries\n", __func__, r->job->id,
			    job_state_name(r->job->state), r->tries);
		else {
			r->tries++;
			final_failed(s, __func__, r->job, r->tries,
			    retry_delay_ms(r->tries));
		}
	}
	pthread_mutex_lock(&s->mu);
	now = mono_ns();
	for (pp = &s->retry; (r = *pp) != NULL;) {
		if (!r->trying) {
			pp = &r->next;
			continue;
		}
		r->trying = 0;
		if (r->ok) {
			*pp = r->next;
			job_clear(r->job);
			free(r->job);
			free(r);
			continue;
		}
		r->due_ns = now + retry_delay_ms(r->tries) * 1000000;
		pp = &r->next;
	}
	return 1;
}

/*
 * sched_destroy, threads stopped: one last write of each record left;
 * a state still refused is lost (the row stays running, and the restart
 * fails it), and so is its result file, which nothing would count.
 */
static void
retry_flush(struct sched *s)
{
	struct sretry	*r;
	char		 path[4096];

	while ((r = s->retry) != NULL) {
		s->retry = r->next;
		if (journal_finish_stored(s->jr, r->job, r->png_bytes) == -1) {
			fprintf(stderr, "%s: job %s: final state %s lost after "
			    "%d tries: %s\n", __func__, r->job->id,
			    job_state_name(r->job->state), r->tries + 1,
			    journal_error(s->jr));
			if (r->job->has_png && journal_png_path(s->jr,
			    r->job->id, path, sizeof(path)) == 0)
				(void)unlink(path);
		}
		job_clear(r->job);
		free(r->job);
		free(r);
	}
}

/* A deep copy for a journal write outside the mutex; NULL if not needed. */
static struct job *
journal_snapshot(struct sched *s, const struct sjob *j)
{
	if (s->jr == NULL && s->opts.log == NULL)
		return NULL;
	return final_copy(&j->job, __func__);
}

/*
 * Writes (outside the mutex) and logs a final record of a job that did
 * not run to its end (cancelled, expired, failed by a reload), taking c.
 * A write the journal refuses goes to the retry list.
 */
static void
journal_snapshot_write(struct sched *s, struct job *c)
{
	if (c == NULL)
		return;
	sched_log_job(s, event_name(c->state), c);
	if (s->jr != NULL && journal_finish_stored(s->jr, c, 0) == -1) {
		final_failed(s, __func__, c, 1, retry_delay_ms(1));
		pthread_mutex_lock(&s->mu);
		retry_add(s, c, 0);
		pthread_mutex_unlock(&s->mu);
		return;
	}
	job_clear(c);
	free(c);
}

/*
 * The kernel's image could not be stored: the job still ends done, with
 * has_png 0, "image":"not stored" added to its result object (the job
 * page lists the result) and the reason as its error. On ENOMEM what can
 * be done is done.
 */
static void
png_unstored(char **result, char **error, const char *why)
{
	struct buf	 b;
	size_t		 n = *result != NULL ? strlen(*result) : 0;

	buf_init(&b);
	if (n >= 2 && (*result)[0] == '{' && (*result)[n - 1] == '}') {
		buf_append(&b, *result, n - 1);
		if (n > 2)
			buf_putc(&b, ',');
		buf_puts(&b, "\"image\":\"not stored\"}");
		if (buf_ok(&b)) {
			free(*result);
			*result = buf_take(&b);
		}
	}
	buf_free(&b);
	buf_printf(&b, "result image could not be stored: %s", why);
	if (buf_ok(&b)) {
		free(*error);
		*error = buf_take(&b);
	}
	buf_free(&b);
}

/* ---------------------------------------------------------------------- */
/* ETA */

/* Estimated ms of work left in the jobs running on lock li. */
static double
running_left_ms(struct sched *s, size_t li, int64_t now)
{
	struct sjob	*j;
	double		 left, sum = 0;

	for (j = s->running.head; j != NULL; j = j->next) {
		if (job_lock_pos(j, li) < 0)
			continue;
		left = j->st->ema_ms - (double)(now - j->start_ns) / 1e6;
		if (left > 0)
			sum += left;
	}
	return sum;
}

/*
 * Estimated ms until the first running job on lock li ends, which is when
 * a waiter moves up and a place in the queue frees (Retry-After of a full
 * queue). A job past its estimate is taken to need a tenth of it more,
 * not nothing: an overrun says the estimate was low.
 */
static double
running_first_end_ms(struct sched *s, size_t li, int64_t now)
{
	struct sjob	*j;
	double		 left, best = -1;

	for (j = s->running.head; j != NULL; j = j->next) {
		if (job_lock_pos(j, li) < 0)
			continue;
		left = j->st->ema_ms - (double)(now - j->start_ns) / 1e6;
		if (left < j->st->ema_ms / 10)
			left = j->st->ema_ms / 10;
		if (best < 0 || left < best)
			best = left;
	}
	return best < 0 ? 0 : best;
}

/*
 * ETA of a job of st on its first lock behind the waiters before stop
 * (NULL: all of them). Sets *pos to how many waiters are ahead.
 */
static int64_t
eta_ms(struct sched *s, const struct stask *st, const struct sjob *self,
    int *pos)
{
	size_t		 li = self != NULL ? self->lidx[0] :
			    st->ct->lock_index[0];
	struct slock	*L = &s->locks[li];
	struct wnode	*w;
	double		 ahead_ms = 0, eta;
	int		 n = 0;

	for (w = L->head; w != NULL; w = w->next) {
		if (w->job == self)
			continue;
		if (self != NULL && !order_before(s, li, w->job, self))
			continue;
		ahead_ms += w->job->st->ema_ms;
		n++;
	}
	if (pos != NULL)
		*pos = n;
	eta = st->ema_ms;
	if (n > 0 || !lock_has_room(L))
		eta += (ahead_ms + running_left_ms(s, li, mono_ns())) /
		    L->cl->slots;
	return (int64_t)ceil(eta);
}

static int
retry_secs(double ms)
{
	double	 sec = ceil(ms / 1000.0);

	if (!(sec >= 1))
		return 1;
	return sec > SCHED_RETRY_MAX ? SCHED_RETRY_MAX : (int)sec;
}

/* ---------------------------------------------------------------------- */
/* Threads */

/*
 * Runs j's kernel with its stored params (validated when it was admitted
 * or recovered, read back here by the one params codec). Returns 0 with
 * res filled, or -1 with the reason in err.
 */
static int
run_kernel(const struct sjob *j, struct kernel_result *res, char *err,
    size_t errlen)
{
	double	 values[KERNEL_MAX_PARAMS];
	json_t	*obj;
	char	 why[200];
	int	 rc = -1;

	if (j->k->nparams > KERNEL_MAX_PARAMS ||
	    (obj = params_decode(j->k->params, j->k->nparams, j->job.params,
	    why, sizeof(why))) == NULL) {
		snprintf(err, errlen, "invalid params: %s",
		    j->k->nparams > KERNEL_MAX_PARAMS ? "too many" : why);
		return -1;
	}
	if (params_numbers(j->k->params, j->k->nparams, obj, values, why,
	    sizeof(why)) == -1)
		snprintf(err, errlen, "invalid params: %s", why);
	else if ((rc = kernel_run(j->k, values, j->run_device, res)) != 0)
		snprintf(err, errlen, "%s", res->error);
	json_decref(obj);
	return rc;
}

/*
 * Runs j (taken off the ready list) outside the mutex, then takes the
 * mutex, ends j and dispatches. Returns with the mutex held, so that the
 * worker picks its next job without letting go of it in between.
 */
static void
worker_run(struct sched *s, struct sjob *j)
{
	struct kernel_result	 res;
	struct job		 fin, *again = NULL;
	enum job_state		 state;
	char			 err[256];
	char			*result = NULL, *error = NULL;
	int64_t			 png_bytes = 0;
	int			 rc, has_png = 0;

	if (s->jr != NULL && journal_start(s->jr, j->job.id,
	    j->job.started_ms, j->job.slot, j->job.device) == -1)
		fprintf(stderr, "%s: job %s: %s\n", __func__, j->job.id,
		    journal_error(s->jr));
	sched_log(s, "job_started", j->job.id, j->job.task, j->job.session,
	    (j->start_ns - j->enq_ns) / 1000000, -1, j->job.device, NULL);

	memset(&res, 0, sizeof(res));
	err[0] = '\0';
	if (s->opts.run_hook != NULL)
		rc = s->opts.run_hook(&j->job, j->slots, j->hook_device,
		    s->opts.run_arg, err, sizeof(err));
	else if (j->k == NULL) {
		snprintf(err, sizeof(err), "kernel %s is not available",
		    j->job.kernel);
		rc = -1;
	} else {
		rc = run_kernel(j, &res, err, sizeof(err));
		if (rc == 0) {
			result = res.json;
			res.json = NULL;
		}
	}
	if (rc == 0)
		state = JOB_DONE;
	else {
		state = JOB_FAILED;
		error = strdup(err[0] != '\0' ? err : "kernel failed");
	}

	/* The image first; without it the job still ends, done. */
	if (s->jr != NULL && rc == 0 && res.png != NULL) {
		if (journal_store_png(s->jr, j->job.id, res.png,
		    res.png_len) == 0) {
			has_png = 1;
			png_bytes = (int64_t)res.png_len;
		} else {
			fprintf(stderr, "%s: job %s: %s\n", __func__,
			    j->job.id, journal_error(s->jr));
			png_unstored(&result, &error, journal_error(s->jr));
		}
	}

	/* Nobody else writes a running job: a shallow copy is safe. */
	fin = j->job;
	fin.state = state;
	fin.finished_ms = job_now_ms();
	fin.result = result;
	fin.error = error;
	fin.has_png = has_png;
	if (s->jr != NULL && journal_finish_stored(s->jr, &fin,
	    png_bytes) == -1) {
		final_failed(s, __func__, &fin, 1, retry_delay_ms(1));
		again = final_copy(&fin, __func__);
	}
	if (s->opts.run_hook == NULL && j->k != NULL)
		kernel_result_clear(&res);
	sched_log(s, state == JOB_DONE ? "job_done" : "job_failed", j->job.id,
	    j->job.task, j->job.session, (j->start_ns - j->enq_ns) / 1000000,
	    (mono_ns() - j->start_ns) / 1000000, j->job.device, error);

	pthread_mutex_lock(&s->mu);
	if (again != NULL)
		retry_add(s, again, png_bytes);
	job_end(s, j, state, result, error, has_png);
	s->self_take = 1;
	dispatch(s);
	s->self_take = 0;
}

static void *
worker_main(void *arg)
{
	struct sched	*s = arg;
	struct sjob	*j;

	pthread_mutex_lock(&s->mu);
	for (;;) {
		while (s->ready_head == NULL && !s->stop) {
			s->idle++;
			pthread_cond_wait(&s->work_cv, &s->mu);
			s->idle--;
		}
		if ((j = s->ready_head) == NULL)
			break;	/* stopping, nothing left to run */
		if ((s->ready_head = j->ready_next) == NULL)
			s->ready_tail = NULL;
		j->ready_next = NULL;
		pthread_mutex_unlock(&s->mu);
		worker_run(s, j);	/* returns with s->mu held */
	}
	pthread_mutex_unlock(&s->mu);
	return NULL;
}

/* Ends waiter j in state with msg; its snapshot is added to *snaps. */
static void
end_waiter(struct sched *s, struct sjob *j, enum job_state state,
    const char *msg, struct job ***snaps, size_t *nsnaps)
{
	struct job	**grown, *c;

	job_end(s, j, state, NULL, strdup(msg), 0);
	if ((c = journal_snapshot(s, j)) == NULL)
		return;
	grown = realloc(*snaps, (*nsnaps + 1) * sizeof(**snaps));
	if (grown == NULL) {
		job_clear(c);
		free(c);
		return;
	}
	*snaps = grown;
	(*snaps)[(*nsnaps)++] = c;
}

static void
expire_one(struct sched *s, struct sjob *j, const struct conf_lock *cl,
    struct job ***snaps, size_t *nsnaps)
{
	char	 msg[160];

	snprintf(msg, sizeof(msg), "waited longer than %d s for lock %s",
	    cl->wait_timeout, cl->name);
	end_waiter(s, j, JOB_EXPIRED, msg, snaps, nsnaps);
}

static void *
timer_main(void *arg)
{
	struct sched	*s = arg;
	struct slock	*L;
	struct job	**snaps = NULL;
	struct timespec	 ts;
	int64_t		 now, next, dl;
	size_t		 li, nsnaps, i;

	pthread_mutex_lock(&s->mu);
	while (!s->stop) {
		now = mono_ns();
		next = INT64_MAX;
		nsnaps = 0;
		for (li = 0; li < s->nlocks; li++) {
			L = &s->locks[li];
			if (L->cl->wait_timeout <= 0)
				continue;
			while (L->head != NULL) {
				dl = L->head->job->enq_ns +
				    (int64_t)L->cl->wait_timeout * 1000000000;
				if (dl > now) {
					if (dl < next)
						next = dl;
					break;
				}
				expire_one(s, L->head->job, L->cl, &snaps,
				    &nsnaps);
			}
		}
		if (nsnaps > 0) {
			dispatch(s);
			pthread_mutex_unlock(&s->mu);
			for (i = 0; i < nsnaps; i++)
				journal_snapshot_write(s, snaps[i]);
			pthread_mutex_lock(&s->mu);
			continue;
		}
		if (s->retry != NULL && retry_run(s, now, &next))
			continue;
		if (next == INT64_MAX)
			pthread_cond_wait(&s->timer_cv, &s->mu);
		else {
			ts.tv_sec = next / 1000000000;
			ts.tv_nsec = next % 1000000000;
			pthread_cond_timedwait(&s->timer_cv, &s->mu, &ts);
		}
	}
	pthread_mutex_unlock(&s->mu);
	free(snaps);
	return NULL;
}

/* ---------------------------------------------------------------------- */
/* Job construction */

/* A new job of st (not yet indexed or queued); NULL on ENOMEM. */
static struct sjob *
sjob_new(struct stask *st, const char *session, const char *nonce,
    const char *params_json)
{
	struct sjob	*j;
	struct buf	 b;
	size_t		 i, n = st->ct->nlocks;

	if ((j = calloc(1, sizeof(*j))) == NULL)
		return NULL;
	buf_init(&b);
	j->st = st;
	j->k = st->k;
	j->nlocks = n;
	j->lidx = calloc(n, sizeof(*j->lidx));
	j->slots = calloc(n, sizeof(*j->slots));
	j->w = calloc(n, sizeof(*j->w));
	if (j->lidx == NULL || j->slots == NULL || j->w == NULL)
		goto fail;
	for (i = 0; i < n; i++) {
		j->lidx[i] = st->ct->lock_index[i];
		j->slots[i] = -1;
	}

	snprintf(j->job.session, sizeof(j->job.session), "%s", session);
	snprintf(j->job.nonce, sizeof(j->job.nonce), "%s", nonce);
	j->job.task = strdup(st->ct->name);
	j->job.kernel = strdup(st->ct->kernel);
	buf_putc(&b, '[');
	for (i = 0; i < n; i++) {
		if (i > 0)
			buf_putc(&b, ',');
		buf_json_str(&b, st->ct->locks[i]);
	}
	buf_putc(&b, ']');
	if (!buf_ok(&b))
		goto fail;
	j->job.locks = buf_take(&b);
	j->job.params = strdup(params_json != NULL ? params_json : "{}");
	if (j->job.task == NULL || j->job.kernel == NULL ||
	    j->job.params == NULL)
		goto fail;
	j->job.state = JOB_QUEUED;
	j->job.slot = -1;
	j->job.position = -1;
	j->job.eta_ms = -1;
	return j;
fail:
	buf_free(&b);
	sjob_free(j);
	return NULL;
}

/* Counts j as admitted everywhere (under mu). */
static void
count_admitted(struct sched *s, struct sjob *j)
{
	size_t	 i;

	for (i = 0; i < j->nlocks; i++)
		job_lock(s, j, i)->admitted++;
	j->st->admitted++;
}

/* ---------------------------------------------------------------------- */
/* Recovery */

struct recover_list {
	struct job	*jobs;
	size_t		 n, cap;
	int		 oom;
};

static void
recover_cb(const struct job *job, void *arg)
{
	struct recover_list	*rl = arg;
	struct job		*grown;
	size_t			 cap;

	if (rl->oom)
		return;
	if (rl->n == rl->cap) {
		cap = rl->cap ? rl->cap * 2 : 64;
		if (cap > SIZE_MAX / sizeof(*grown) ||
		    (grown = realloc(rl->jobs, cap * sizeof(*grown))) == NULL) {
			rl->oom = 1;
			return;
		}
		rl->jobs = grown;
		rl->cap = cap;
	}
	memset(&rl->jobs[rl->n], 0, sizeof(rl->jobs[rl->n]));
	if (job_copy(&rl->jobs[rl->n], job) == -1) {
		rl->oom = 1;
		return;
	}
	rl->n++;
}

/* Fails a recovered job in the journal with msg. */
static void
recover_fail(struct sched *s, struct job *job, const char *msg)
{
	struct job	*again;

	job->state = JOB_FAILED;
	job->finished_ms = job_now_ms();
	free(job->error);
	job->error = strdup(msg);
	if (journal_finish_stored(s->jr, job, 0) == -1) {
		final_failed(s, __func__, job, 1, retry_delay_ms(1));
		if ((again = final_copy(job, __func__)) != NULL) {
			pthread_mutex_lock(&s->mu);
			retry_add(s, again, 0);
			pthread_mutex_unlock(&s->mu);
		}
	}
	sched_log_job(s, "job_failed", job);
}

/* Queues a job read back from the journal again (before any thread runs). */
static void
recover_one(struct sched *s, struct job *job)
{
	struct stask	*st;
	struct sjob	*j;
	struct sess	*e;
	json_t		*params = NULL;
	char		 why[200], msg[256];

	if (job->task == NULL || (st = stask_find(s, job->task)) == NULL) {
		recover_fail(s, job, "task no longer configured");
		return;
	}
	if (st->k != NULL && (params = params_decode(st->k->params,
	    st->k->nparams, job->params, why, sizeof(why))) == NULL) {
		snprintf(msg, sizeof(msg), "invalid params after restart: %s",
		    why);
		recover_fail(s, job, msg);
		return;
	}
	json_decref(params);
	if ((j = sjob_new(st, job->session, job->nonce, job->params)) == NULL ||
	    (e = sess_get(s, j->job.session, 1)) == NULL) {
		sjob_free(j);
		recover_fail(s, job, "out of memory during recovery");
		return;
	}
	memcpy(j->job.id, job->id, sizeof(j->job.id));
	j->job.seq = job->seq;
	j->job.created_ms = job->created_ms;
	if (job->seq >= s->next_seq)
		s->next_seq = job->seq + 1;
	j->sess = e;
	e->active++;
	s->active++;
	j->enq_ns = mono_ns();	/* wait_timeout counts from here */
	id_add(s, j);
	nonce_add(s, j);
	count_admitted(s, j);
	waiter_insert(s, j);
	sched_log(s, "job_queued", j->job.id, j->job.task, j->job.session, -1,
	    -1, NULL, NULL);
}

static int
recover(struct sched *s, char *err, size_t errlen)
{
	struct recover_list	 rl;
	int64_t			 max;
	size_t			 i;
	int			 rc = -1;

	memset(&rl, 0, sizeof(rl));
	/* Numbering from 1 over a journal we cannot read would reuse seqs. */
	if ((max = journal_max_seq(s->jr)) == -1) {
		errf(err, errlen, "journal: reading the last seq: %s",
		    journal_error(s->jr));
		goto out;
	}
	if (max > 0)
		s->next_seq = max + 1;
	/* The callback may run under the journal's lock: only collect. */
	if (journal_recover(s->jr, job_now_ms(), recover_cb, &rl) == -1) {
		errf(err, errlen, "journal recovery: %s",
		    journal_error(s->jr));
		goto out;
	}
	if (rl.oom) {
		errf(err, errlen, "journal recovery: %s", "out of memory");
		goto out;
	}
	for (i = 0; i < rl.n; i++)
		recover_one(s, &rl.jobs[i]);
	rc = 0;
out:
	for (i = 0; i < rl.n; i++)
		job_clear(&rl.jobs[i]);
	free(rl.jobs);
	return rc;
}

/* ---------------------------------------------------------------------- */
/* Config checks shared by create and reconfigure */

/* What the scheduler needs of a config, beyond conf_load's checks. */
static int
conf_check(struct sched *s, const struct conf *conf, char *err,
    size_t errlen)
{
	const struct conf_task	*ct;
	size_t			 i, k, m;
	long			 total = 0;

	if (conf->nlocks == 0 || conf->ntasks == 0) {
		errf(err, errlen, "no locks or no tasks");
		return -1;
	}
	for (i = 0; i < conf->nlocks; i++) {
		if (conf->locks[i].slots < 1 ||
		    conf->locks[i].slots > LOCK_MAX_SLOTS) {
			errf(err, errlen, "locks.%s.slots: must be 1..1024",
			    conf->locks[i].name);
			return -1;
		}
		total += conf->locks[i].slots;
	}
	/* More slots than workers: started jobs would hold slots unrun. */
	if (total > CONF_MAX_TOTAL_SLOTS) {
		errf(err, errlen, "locks: %ld slots in all, more than %d",
		    total, CONF_MAX_TOTAL_SLOTS);
		return -1;
	}
	for (i = 0; i < conf->ntasks; i++) {
		ct = &conf->tasks[i];
		if (kernel_find(ct->kernel) == NULL &&
		    s->opts.run_hook == NULL) {
			errf(err, errlen, "tasks.%s.kernel: unknown kernel %s",
			    ct->name, ct->kernel);
			return -1;
		}
		if (ct->nlocks == 0) {
			errf(err, errlen, "tasks.%s.locks: empty", ct->name);
			return -1;
		}
		for (k = 0; k < ct->nlocks; k++) {
			for (m = 0; m < k; m++)
				if (ct->lock_index[m] == ct->lock_index[k])
					break;
			if (ct->lock_index[k] >= conf->nlocks || m < k) {
				errf(err, errlen, "tasks.%s.locks: bad or "
				    "repeated lock %s", ct->name, ct->locks[k]);
				return -1;
			}
		}
	}
	return 0;
}

/* Points st at task ct of a (checked) config. */
static void
stask_bind(struct stask *st, const struct conf_task *ct)
{
	st->ct = ct;
	st->k = kernel_find(ct->kernel);
}

/* ---------------------------------------------------------------------- */
/* Public API */

struct sched *
sched_create(const struct conf *conf, struct journal *jr,
    const struct sched_opts *opts, char *err, size_t errlen)
{
	struct sched		*s;
	pthread_condattr_t	 ca;
	size_t			 i, k;
	long			 total = 0;
	int			 inited = 0;

	if ((s = calloc(1, sizeof(*s))) == NULL) {
		errf(err, errlen, "out of memory");
		return NULL;
	}
	s->conf = conf;
	s->jr = jr;
	if (opts != NULL)
		s->opts = *opts;
	s->next_seq = 1;
	s->ngpu = kernel_device_count();
	if (conf->nlocks == 0 || conf->ntasks == 0) {
		errf(err, errlen, "no locks or no tasks");
		goto fail;
	}
	s->nlocks = conf->nlocks;
	s->ntasks = conf->ntasks;
	s->locks = calloc(s->nlocks, sizeof(*s->locks));
	s->tasks = calloc(s->ntasks, sizeof(*s->tasks));
	s->by_id = calloc(SCHED_ID_BUCKETS, sizeof(*s->by_id));
	s->by_nonce = calloc(SCHED_ID_BUCKETS, sizeof(*s->by_nonce));
	s->sessions = calloc(SCHED_SESS_BUCKETS, sizeof(*s->sessions));
	if (s->locks == NULL || s->tasks == NULL || s->by_id == NULL ||
	    s->by_nonce == NULL || s->sessions == NULL) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	if (conf_check(s, conf, err, errlen) == -1)
		goto fail;
	for (i = 0; i < s->nlocks; i++) {
		s->locks[i].cl = &conf->locks[i];
		lock_init(&s->locks[i].lk, conf->locks[i].slots);
		total += conf->locks[i].slots;
	}
	for (i = 0; i < s->ntasks; i++) {
		if ((s->tasks[i] = calloc(1, sizeof(**s->tasks))) == NULL) {
			errf(err, errlen, "out of memory");
			goto fail;
		}
		s->tasks[i]->ema_ms = SCHED_SEED_MS;
		stask_bind(s->tasks[i], &conf->tasks[i]);
	}

	if (pthread_mutex_init(&s->mu, NULL) != 0) {
		errf(err, errlen, "pthread_mutex_init failed");
		goto fail;
	}
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&s->work_cv, NULL);
	pthread_cond_init(&s->timer_cv, &ca);
	pthread_cond_init(&s->drain_cv, &ca);
	pthread_cond_init(&s->reconf_cv, NULL);
	pthread_condattr_destroy(&ca);
	inited = 1;

	if (jr != NULL && recover(s, err, errlen) == -1)
		goto fail;

	/* One worker per slot (conf_check bounds the total). */
	k = s->opts.threads > 0 ? (size_t)s->opts.threads : (size_t)total;
	if ((s->workers = calloc(k, sizeof(*s->workers))) == NULL) {
		errf(err, errlen, "out of memory");
		goto fail;
	}
	s->nworkers = (int)k;
	pthread_mutex_lock(&s->mu);
	dispatch(s);	/* recovered jobs */
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < (size_t)s->nworkers; i++)
		if (pthread_create(&s->workers[i], NULL, worker_main, s) != 0) {
			s->nworkers = (int)i;
			errf(err, errlen, "pthread_create failed");
			goto fail;
		}
	if (pthread_create(&s->timer, NULL, timer_main, s) != 0) {
		errf(err, errlen, "pthread_create failed");
		goto fail;
	}
	s->timer_started = 1;
	return s;
fail:
	if (inited) {
		sched_destroy(s);
		return NULL;
	}
	if (s->tasks != NULL)
		for (i = 0; i < s->ntasks; i++)
			free(s->tasks[i]);
	free(s->locks);
	free(s->tasks);
	free(s->by_id);
	free(s->by_nonce);
	free(s->sessions);
	free(s);
	return NULL;
}

enum sched_rc
sched_submit(struct sched *s, const char *task, const struct kernel *k,
    const char *session, const char *nonce, const char *params_json,
    char id[JOB_ID_LEN + 1], int *retry_after)
{
	struct stask	*st;
	struct sjob	*j = NULL, *old;
	struct sess	*e;
	struct slock	*L;
	struct job	 found;
	enum sched_rc	 rc;
	size_t		 i;
	int		 r, queued = 0;

	if (retry_after != NULL)
		*retry_after = 0;
	if (nonce == NULL)
		nonce = "";
	if (session == NULL || strlen(session) > JOB_SESSION_LEN ||
	    strlen(nonce) > JOB_NONCE_MAX)
		return SCHED_ERROR;
	if (task == NULL)
		return SCHED_UNKNOWN_TASK;

	/*
	 * A repeated nonce: in memory first, then in the journal. It answers
	 * with the job it made, but only for the same task: a nonce reused
	 * for another task is a client error (CONFLICT), not that job.
	 */
	if (nonce[0] != '\0') {
		pthread_mutex_lock(&s->mu);
		old = nonce_find(s, session, nonce);
		if (old != NULL) {
			memcpy(id, old->job.id, JOB_ID_LEN + 1);
			rc = strcmp(old->job.task, task) == 0 ? SCHED_OK :
			    SCHED_CONFLICT;
		}
		pthread_mutex_unlock(&s->mu);
		if (old != NULL)
			return rc;
		if (s->jr != NULL) {
			memset(&found, 0, sizeof(found));
			r = journal_find_nonce(s->jr, session, nonce, &found);
			if (r == 1) {
				memcpy(id, found.id, JOB_ID_LEN + 1);
				rc = found.task != NULL &&
				    strcmp(found.task, task) == 0 ? SCHED_OK :
				    SCHED_CONFLICT;
				job_clear(&found);
				return rc;
			}
			if (r == -1)
				return SCHED_ERROR;
		}
	}

	/* The task is looked up under the mutex: a reload may change it. */
	pthread_mutex_lock(&s->mu);
	while (s->reconf)
		pthread_cond_wait(&s->reconf_cv, &s->mu);
	if ((st = stask_find(s, task)) == NULL) {
		rc = SCHED_UNKNOWN_TASK;
		goto unlock;
	}
	/*
	 * params fit the kernel of the caller's config generation; a SIGHUP
	 * since may have given the task another kernel (other parameters,
	 * other count): running it with these values would be garbage.
	 */
	if (st->k != k) {
		if (retry_after != NULL)
			*retry_after = 1;
		rc = SCHED_CHANGED;
		goto unlock;
	}
	if ((j = sjob_new(st, session, nonce, params_json)) == NULL) {
		rc = SCHED_ERROR;
		goto unlock;
	}
	job_new_id(j->job.id);
	j->job.created_ms = job_now_ms();
	if (s->draining) {
		rc = SCHED_DRAINING;
		goto unlock;
	}
	if (nonce[0] != '\0' && (old = nonce_find(s, session, nonce)) != NULL) {
		memcpy(id, old->job.id, JOB_ID_LEN + 1);
		rc = strcmp(old->job.task, task) == 0 ? SCHED_OK : SCHED_CONFLICT;
		goto unlock;
	}
	if ((e = sess_get(s, session, 1)) == NULL) {
		rc = SCHED_ERROR;
		goto unlock;
	}
	if (e->active >= s->conf->max_active) {
		st->refused++;
		if (retry_after != NULL)
			*retry_after = retry_secs(eta_ms(s, st, NULL, NULL));
		sess_put(s, e);
		rc = SCHED_SESSION_LIMIT;
		goto unlock;
	}
	for (i = 0; i < st->ct->nlocks; i++) {
		L = &s->locks[st->ct->lock_index[i]];
		/* A free slot is room too, so that queue = 0 still runs. */
		if (L->nwait + L->npending >= L->cl->queue +
		    (L->cl->slots - L->busy))
			break;
	}
	if (i < st->ct->nlocks) {
		L->refused++;
		st->refused++;
		if (retry_after != NULL)
			*retry_after = retry_secs(running_first_end_ms(s,
			    st->ct->lock_index[i], mono_ns()));
		sess_put(s, e);
		rc = SCHED_QUEUE_FULL;
		goto unlock;
	}

	/* Admitted, pending the journal write. */
	j->sess = e;
	e->active++;
	s->active++;
	j->job.seq = s->next_seq++;
	j->enq_ns = mono_ns();
	id_add(s, j);
	nonce_add(s, j);
	st->nqueued++;
	if (s->jr != NULL) {
		j->pending = 1;
		s->npending++;
		for (i = 0; i < j->nlocks; i++)
			job_lock(s, j, i)->npending++;
		pthread_mutex_unlock(&s->mu);
		/* Logged now: no worker can start it before the relock. */
		sched_log(s, "job_queued", j->job.id, task, session, -1, -1,
		    NULL, NULL);
		r = journal_insert(s->jr, &j->job);
		if (r == -1)
			sched_log(s, "job_failed", j->job.id, task, session,
			    -1, -1, NULL, "journal write failed");
		pthread_mutex_lock(&s->mu);
		j->pending = 0;
		for (i = 0; i < j->nlocks; i++)
			job_lock(s, j, i)->npending--;
		if (--s->npending == 0 && s->reconf)
			pthread_cond_broadcast(&s->reconf_cv);
		if (r == -1) {
			fprintf(stderr, "%s: job %s: %s\n", __func__,
			    j->job.id, journal_error(s->jr));
			st->nqueued--;
			id_del(s, j);
			nonce_del(s, j);
			e->active--;
			sess_put(s, e);
			s->active--;
			if (s->drain_waiters > 0)
				pthread_cond_broadcast(&s->drain_cv);
			rc = SCHED_ERROR;
			goto unlock;
		}
	}
	st->nqueued--;	/* waiter_insert counts it again */
	count_admitted(s, j);
	waiter_insert(s, j);
	memcpy(id, j->job.id, JOB_ID_LEN + 1);
	j = NULL;	/* owned by the scheduler now */
	dispatch(s);
	rc = SCHED_OK;
	queued = s->jr == NULL;	/* else logged before the journal write */
unlock:
	pthread_mutex_unlock(&s->mu);
	sjob_free(j);
	if (queued)
		sched_log(s, "job_queued", id, task, session, -1, -1, NULL,
		    NULL);
	return rc;
}

enum sched_rc
sched_cancel(struct sched *s, const char *id, const char *session)
{
	struct sjob	*j;
	struct job	*snap = NULL, found;
	enum sched_rc	 rc;
	int		 r;

	if (id == NULL)
		return SCHED_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	j = id_find(s, id);
	if (j == NULL) {
		pthread_mutex_unlock(&s->mu);
		if (s->jr == NULL)
			return SCHED_NOT_FOUND;
		memset(&found, 0, sizeof(found));
		if ((r = journal_get(s->jr, id, &found)) != 1)
			return SCHED_NOT_FOUND;
		rc = session == NULL || strcmp(found.session, session) == 0 ?
		    SCHED_CONFLICT : SCHED_NOT_FOUND;
		job_clear(&found);
		return rc;
	}
	if ((session != NULL && strcmp(j->job.session, session) != 0) ||
	    j->pending)
		rc = SCHED_NOT_FOUND;
	else if (j->job.state != JOB_QUEUED)
		rc = SCHED_CONFLICT;
	else {
		job_end(s, j, JOB_CANCELLED, NULL, strdup("cancelled"), 0);
		snap = journal_snapshot(s, j);
		dispatch(s);
		rc = SCHED_OK;
	}
	pthread_mutex_unlock(&s->mu);
	journal_snapshot_write(s, snap);
	return rc;
}

enum sched_rc
sched_lookup(struct sched *s, const char *id, const char *session,
    struct job *out)
{
	struct sjob	*j;
	const struct job *rj = NULL;
	enum sched_rc	 rc = SCHED_NOT_FOUND;
	int64_t		 left;
	int		 pos;

	memset(out, 0, sizeof(*out));
	if (id == NULL)
		return SCHED_NOT_FOUND;
	pthread_mutex_lock(&s->mu);
	/* A record not journaled yet is newer than the journal's row. */
	if ((j = id_find(s, id)) == NULL && (rj = retry_find(s, id)) != NULL) {
		if (session != NULL && strcmp(rj->session, session) != 0)
			goto unlock;
		rc = job_copy(out, rj) == -1 ? SCHED_ERROR : SCHED_OK;
		out->position = -1;
		out->eta_ms = -1;
	} else if (j != NULL) {
		if (session != NULL && strcmp(j->job.session, session) != 0)
			goto unlock;
		if (job_copy(out, &j->job) == -1) {
			rc = SCHED_ERROR;
			goto unlock;
		}
		out->position = -1;
		out->eta_ms = -1;
		if (j->job.state == JOB_QUEUED) {
			out->eta_ms = eta_ms(s, j->st, j->pending ? NULL : j,
			    &pos);
			out->position = pos;
		} else if (j->job.state == JOB_RUNNING) {
			left = (int64_t)ceil(j->st->ema_ms -
			    (double)(mono_ns() - j->start_ns) / 1e6);
			out->eta_ms = left > 0 ? left : 0;
		}
		rc = SCHED_OK;
	}
unlock:
	pthread_mutex_unlock(&s->mu);
	if (j != NULL || rj != NULL || s->jr == NULL)
		return rc;
	if (journal_get(s->jr, id, out) != 1) {
		memset(out, 0, sizeof(*out));
		return SCHED_NOT_FOUND;
	}
	if (session != NULL && strcmp(out->session, session) != 0) {
		job_clear(out);
		return SCHED_NOT_FOUND;
	}
	out->position = -1;
	out->eta_ms = -1;
	return SCHED_OK;
}

void
sched_lock_counts(struct sched *s, size_t lock_index, int *busy, int *queued)
{
	int	 b = 0, q = 0;

	pthread_mutex_lock(&s->mu);
	if (lock_index < s->nlocks) {
		b = s->locks[lock_index].busy;
		q = s->locks[lock_index].nwait + s->locks[lock_index].npending;
	}
	pthread_mutex_unlock(&s->mu);
	if (busy != NULL)
		*busy = b;
	if (queued != NULL)
		*queued = q;
}

int64_t
sched_task_eta(struct sched *s, const char *task)
{
	struct stask	*st;
	int64_t		 eta = -1;

	if (task == NULL)
		return -1;
	pthread_mutex_lock(&s->mu);
	if ((st = stask_find(s, task)) != NULL)
		eta = eta_ms(s, st, NULL, NULL);
	pthread_mutex_unlock(&s->mu);
	return eta;
}

static void
hist_get(struct sched_hist *out, const struct hist *h)
{
	uint64_t	 cum = 0;
	size_t		 i;

	for (i = 0; i <= HIST_N; i++) {
		cum += h->b[i];
		out->cum[i] = cum;
	}
	out->sum_ms = h->sum;
	out->count = h->n;
}

int
sched_stats_get(struct sched *s, struct sched_stats *out)
{
	struct sched_lock_stats	*ls;
	struct sched_task_stats	*ts;
	struct slock		*L;
	struct stask		*st;
	size_t			 i;

	memset(out, 0, sizeof(*out));
	pthread_mutex_lock(&s->mu);
	out->locks = calloc(s->nlocks, sizeof(*out->locks));
	out->tasks = calloc(s->ntasks, sizeof(*out->tasks));
	if (out->locks == NULL || out->tasks == NULL) {
		pthread_mutex_unlock(&s->mu);
		sched_stats_free(out);
		return -1;
	}
	out->nlocks = s->nlocks;
	out->ntasks = s->ntasks;
	for (i = 0; i < s->nlocks; i++) {
		L = &s->locks[i];
		ls = &out->locks[i];
		snprintf(ls->name, sizeof(ls->name), "%s", L->cl->name);
		ls->slots = L->cl->slots;
		ls->busy = L->busy;
		ls->queued = L->nwait + L->npending;
		ls->queue = L->cl->queue;
		ls->fair = L->cl->order == CONF_ORDER_FAIR;
		ls->admitted = L->admitted;
		ls->refused = L->refused;
		ls->started = L->started;
		memcpy(ls->ended, L->ended, sizeof(ls->ended));
		hist_get(&ls->wait, &L->wait);
		hist_get(&ls->run, &L->run);
	}
	for (i = 0; i < s->ntasks; i++) {
		st = s->tasks[i];
		ts = &out->tasks[i];
		snprintf(ts->name, sizeof(ts->name), "%s", st->ct->name);
		ts->queued = st->nqueued;
		ts->running = st->nrunning;
		ts->admitted = st->admitted;
		ts->refused = st->refused;
		memcpy(ts->ended, st->ended, sizeof(ts->ended));
		ts->run_sum_ms = st->run_sum_ms;
		ts->run_n = st->run_n;
		ts->eta_run_ms = st->ema_ms;
	}
	pthread_mutex_unlock(&s->mu);
	return 0;
}

void
sched_stats_free(struct sched_stats *st)
{
	if (st == NULL)
		return;
	free(st->locks);
	free(st->tasks);
	memset(st, 0, sizeof(*st));
}

static void
hist_json(struct buf *b, const struct sched_hist *h)
{
	size_t	 i;

	buf_puts(b, "{\"buckets\":{");
	for (i = 0; i < HIST_N; i++)
		buf_printf(b, "\"%lld\":%llu,", (long long)hist_bounds[i],
		    (unsigned long long)h->cum[i]);
	buf_printf(b, "\"+Inf\":%llu},\"sum\":",
	    (unsigned long long)h->cum[HIST_N]);
	buf_json_num(b, h->sum_ms);
	buf_printf(b, ",\"count\":%llu}", (unsigned long long)h->count);
}

void
sched_stats_json(struct sched *s, struct buf *b)
{
	struct sched_stats		 ss;
	const struct sched_lock_stats	*L;
	const struct sched_task_stats	*st;
	size_t				 i, k;

	if (sched_stats_get(s, &ss) == -1) {
		buf_puts(b, "{\"locks\":{},\"tasks\":{}}");
		return;
	}
	buf_puts(b, "{\"locks\":{");
	for (i = 0; i < ss.nlocks; i++) {
		L = &ss.locks[i];
		if (i > 0)
			buf_putc(b, ',');
		buf_json_str(b, L->name);
		buf_printf(b, ":{\"slots\":%d,\"busy\":%d,\"queued\":%d,"
		    "\"queue\":%d,\"order\":\"%s\",\"admitted\":%llu,"
		    "\"refused\":%llu,\"started\":%llu",
		    L->slots, L->busy, L->queued, L->queue,
		    L->fair ? "fair" : "fifo",
		    (unsigned long long)L->admitted,
		    (unsigned long long)L->refused,
		    (unsigned long long)L->started);
		for (k = JOB_DONE; k < SCHED_NSTATES; k++)
			buf_printf(b, ",\"%s\":%llu", sched_state_names[k],
			    (unsigned long long)L->ended[k]);
		buf_puts(b, ",\"wait_ms\":");
		hist_json(b, &L->wait);
		buf_puts(b, ",\"run_ms\":");
		hist_json(b, &L->run);
		buf_putc(b, '}');
	}
	buf_puts(b, "},\"tasks\":{");
	for (i = 0; i < ss.ntasks; i++) {
		st = &ss.tasks[i];
		if (i > 0)
			buf_putc(b, ',');
		buf_json_str(b, st->name);
		buf_printf(b, ":{\"queued\":%d,\"running\":%d", st->queued,
		    st->running);
		for (k = JOB_DONE; k < SCHED_NSTATES; k++)
			buf_printf(b, ",\"%s\":%llu", sched_state_names[k],
			    (unsigned long long)st->ended[k]);
		buf_printf(b, ",\"admitted\":%llu,\"refused\":%llu,"
		    "\"mean_run_ms\":", (unsigned long long)st->admitted,
		    (unsigned long long)st->refused);
		if (st->run_n > 0)
			buf_json_num(b, st->run_sum_ms / (double)st->run_n);
		else
			buf_puts(b, "null");
		buf_puts(b, ",\"eta_run_ms\":");
		buf_json_num(b, round(st->eta_run_ms));
		buf_putc(b, '}');
	}
	buf_puts(b, "}}");
	sched_stats_free(&ss);
}

/*
 * journal_evict's callback: forgets evicted job id in memory, so that
 * /jobs/ID stops showing a job whose row and image are gone. A job whose
 * final row is written but which has not yet ended here (the worker takes
 * the mutex after the write) is marked, and job_end forgets it.
 */
static void
evict_forget(const char *id, void *arg)
{
	struct sched	*s = arg;
	struct sjob	*j;

	pthread_mutex_lock(&s->mu);
	if ((j = id_find(s, id)) != NULL) {
		if (job_state_final(j->job.state))
			finished_forget(s, j);
		else if (j->job.state == JOB_RUNNING)
			j->evicted = 1;
	}
	pthread_mutex_unlock(&s->mu);
}

int
sched_evict(struct sched *s, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes)
{
	if (s->jr == NULL)
		return 0;
	return journal_evict(s->jr, now_ms, ttl_ms, max_bytes, evict_forget,
	    s);
}

int
sched_drain(struct sched *s, int64_t timeout_ms)
{
	struct timespec	 ts;
	int64_t		 dl;
	int		 n;

	if (timeout_ms < 0)
		timeout_ms = 0;
	dl = mono_ns() + (timeout_ms > INT64_MAX / 2000000 ?
	    INT64_MAX / 2 : timeout_ms * 1000000);
	ts.tv_sec = dl / 1000000000;
	ts.tv_nsec = dl % 1000000000;
	pthread_mutex_lock(&s->mu);
	s->draining = 1;
	s->drain_waiters++;
	while (s->active > 0)
		if (pthread_cond_timedwait(&s->drain_cv, &s->mu, &ts) ==
		    ETIMEDOUT)
			break;
	s->drain_waiters--;
	n = s->active;
	pthread_mutex_unlock(&s->mu);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Reload */

/* Per-session arrays of the new lock layout, allocated before committing. */
struct reconf_sess {
	int64_t	*turn;
	int	*nwait;
};

/* Why queued job j cannot stay under conf, or NULL when it can. */
static const char *
reconf_doom(struct sched *s, const struct conf *conf, const struct sjob *j,
    const size_t *lmap, char *buf, size_t len)
{
	size_t	 i;

	if (conf_find_task(conf, j->job.task) == NULL)
		return "task removed by reload";
	for (i = 0; i < j->nlocks; i++)
		if (lmap[j->lidx[i]] == SIZE_MAX) {
			snprintf(buf, len, "lock %s removed by reload",
			    s->locks[j->lidx[i]].cl->name);
			return buf;
		}
	return NULL;
}

int
sched_reconfigure(struct sched *s, const struct conf *conf, char *err,
    size_t errlen)
{
	struct slock		*nl = NULL, *L;
	struct stask		**nt = NULL, **fresh = NULL, *st;
	struct sjob		*j, **queued = NULL;
	struct sess		*e;
	struct reconf_sess	*rs = NULL;
	struct job		**snaps = NULL;
	pthread_t		*grown;
	const struct conf_task	*ct;
	size_t			*lmap = NULL, *rmap = NULL, nqueued = 0, nsess = 0;
	size_t			 i, k, n, nsnaps = 0, used = 0, want;
	long			 total = 0;
	int			 rc = -1, held = 0;
	char			 why[160];
	const char		*msg;

	if (conf_check(s, conf, err, errlen) == -1)
		return -1;
	nl = calloc(conf->nlocks, sizeof(*nl));
	nt = calloc(conf->ntasks, sizeof(*nt));
	fresh = calloc(conf->ntasks, sizeof(*fresh));
	rmap = calloc(conf->nlocks, sizeof(*rmap));
	if (nl == NULL || nt == NULL || fresh == NULL || rmap == NULL)
		goto oom;
	for (i = 0; i < conf->ntasks; i++)
		if ((fresh[i] = calloc(1, sizeof(*fresh[i]))) == NULL)
			goto oom;

	pthread_mutex_lock(&s->mu);
	held = 1;
	while (s->reconf)
		pthread_cond_wait(&s->reconf_cv, &s->mu);
	s->reconf = 1;
	/* No admission is half done (journal write in flight) from here. */
	while (s->npending > 0)
		pthread_cond_wait(&s->reconf_cv, &s->mu);

	/* Old lock index -> new one (SIZE_MAX: removed), and back. */
	if ((lmap = calloc(s->nlocks, sizeof(*lmap))) == NULL)
		goto oom;
	for (k = 0; k < conf->nlocks; k++)
		rmap[k] = SIZE_MAX;
	for (i = 0; i < s->nlocks; i++) {
		lmap[i] = SIZE_MAX;
		for (k = 0; k < conf->nlocks; k++)
			if (strcmp(s->locks[i].cl->name,
			    conf->locks[k].name) == 0) {
				lmap[i] = k;
				rmap[k] = i;
				break;
			}
	}

	/* Every allocation before any change: the queued jobs, sessions. */
	n = 0;
	for (i = 0; i < SCHED_ID_BUCKETS; i++)
		for (j = s->by_id[i]; j != NULL; j = j->id_next)
			if (j->job.state == JOB_QUEUED)
				n++;
	if (n > 0 && (queued = calloc(n, sizeof(*queued))) == NULL)
		goto oom;
	for (i = 0; i < SCHED_SESS_BUCKETS; i++)
		for (e = s->sessions[i]; e != NULL; e = e->next)
			nsess++;
	if (nsess > 0 && (rs = calloc(nsess, sizeof(*rs))) == NULL)
		goto oom;
	for (i = 0; i < nsess; i++) {
		rs[i].turn = calloc(conf->nlocks, sizeof(*rs[i].turn));
		rs[i].nwait = calloc(conf->nlocks, sizeof(*rs[i].nwait));
		if (rs[i].turn == NULL || rs[i].nwait == NULL)
			goto oom;
	}

	/* Commit. 1: fail the queued jobs that lost their task or a lock. */
	for (i = 0; i < SCHED_ID_BUCKETS; i++)
		for (j = s->by_id[i]; j != NULL; j = j->id_next)
			if (j->job.state == JOB_QUEUED && nqueued < n)
				queued[nqueued++] = j;
	for (i = 0; i < nqueued; i++) {
		j = queued[i];
		msg = reconf_doom(s, conf, j, lmap, why, sizeof(why));
		if (msg != NULL)
			end_waiter(s, j, JOB_FAILED, msg, &snaps, &nsnaps);
	}

	/* 2: the new locks, moving the state of those kept. */
	for (k = 0; k < conf->nlocks; k++) {
		L = &nl[k];
		if (rmap[k] != SIZE_MAX) {
			*L = s->locks[rmap[k]];
			lock_resize(&L->lk, conf->locks[k].slots);
			L->shrunk = L->busy > conf->locks[k].slots;
		} else
			lock_init(&L->lk, conf->locks[k].slots);
		L->cl = &conf->locks[k];
		total += conf->locks[k].slots;
	}

	/* 3: tasks: kept ones (by name) keep their counters. */
	/* retired_next == itself marks a task not (yet) in the new set. */
	for (i = 0; i < s->ntasks; i++)
		s->tasks[i]->retired_next = s->tasks[i];
	for (k = 0; k < conf->ntasks; k++) {
		ct = &conf->tasks[k];
		st = NULL;
		for (i = 0; i < s->ntasks; i++)
			if (strcmp(s->tasks[i]->ct->name, ct->name) == 0) {
				st = s->tasks[i];
				break;
			}
		if (st == NULL) {
			st = fresh[used];
			fresh[used++] = NULL;
			st->ema_ms = SCHED_SEED_MS;
		} else
			st->retired_next = NULL;
		stask_bind(st, ct);
		nt[k] = st;
	}
	for (i = 0; i < s->ntasks; i++) {
		st = s->tasks[i];
		if (st->retired_next != st)
			continue;
		st->ct = NULL;	/* only running or finished jobs point here */
		st->retired_next = s->retired;
		s->retired = st;
	}

	/* 4: jobs and sessions to the new lock indices. */
	for (i = 0; i < SCHED_ID_BUCKETS; i++)
		for (j = s->by_id[i]; j != NULL; j = j->id_next)
			for (k = 0; k < j->nlocks; k++)
				if (j->lidx[k] < s->nlocks)
					j->lidx[k] = lmap[j->lidx[k]];
	n = 0;
	for (i = 0; i < SCHED_SESS_BUCKETS; i++)
		for (e = s->sessions[i]; e != NULL && n < nsess; e = e->next) {
			for (k = 0; k < conf->nlocks; k++)
				if (rmap[k] != SIZE_MAX) {
					rs[n].turn[k] = e->turn[rmap[k]];
					rs[n].nwait[k] = e->nwait[rmap[k]];
				}
			free(e->turn);
			free(e->nwait);
			e->turn = rs[n].turn;
			e->nwait = rs[n].nwait;
			rs[n].turn = NULL;
			rs[n].nwait = NULL;
			n++;
		}

	free(s->locks);
	s->locks = nl;
	s->nlocks = conf->nlocks;
	nl = NULL;
	free(s->tasks);
	s->tasks = nt;
	s->ntasks = conf->ntasks;
	nt = NULL;
	s->conf = conf;

	/* 5: enough workers for every slot; grown locks start at once. */
	want = s->opts.threads > 0 ? (size_t)s->opts.threads : (size_t)total;
	if (want > (size_t)s->nworkers && !s->stop &&
	    (grown = realloc(s->workers, want * sizeof(*grown))) != NULL) {
		s->workers = grown;
		while ((size_t)s->nworkers < want && pthread_create(
		    &s->workers[s->nworkers], NULL, worker_main, s) == 0)
			s->nworkers++;
	}
	dispatch(s);
	pthread_cond_broadcast(&s->timer_cv);
	rc = 0;
	goto out;
oom:
	errf(err, errlen, "out of memory");
out:
	if (held) {
		s->reconf = 0;
		pthread_cond_broadcast(&s->reconf_cv);
		pthread_mutex_unlock(&s->mu);
	}
	for (i = 0; i < nsnaps; i++)
		journal_snapshot_write(s, snaps[i]);
	free(snaps);
	if (fresh != NULL)
		for (i = 0; i < conf->ntasks; i++)
			free(fresh[i]);
	for (i = 0; i < nsess && rs != NULL; i++) {
		free(rs[i].turn);
		free(rs[i].nwait);
	}
	free(rs);
	free(queued);
	free(lmap);
	free(rmap);
	free(fresh);
	free(nt);
	free(nl);
	return rc;
}

void
sched_destroy(struct sched *s)
{
	struct sjob	*j;
	struct wnode	*w;
	struct sess	*e;
	struct stask	*st;
	size_t		 i;
	int		 k;

	if (s == NULL)
		return;
	pthread_mutex_lock(&s->mu);
	s->stop = 1;
	s->draining = 1;
	pthread_cond_broadcast(&s->work_cv);
	pthread_cond_broadcast(&s->timer_cv);
	pthread_mutex_unlock(&s->mu);
	for (k = 0; k < s->nworkers; k++)
		pthread_join(s->workers[k], NULL);
	if (s->timer_started)
		pthread_join(s->timer, NULL);
	retry_flush(s);

	/* Queued jobs stay journaled as queued; free their memory. */
	for (i = 0; i < s->nlocks; i++)
		while ((w = s->locks[i].head) != NULL) {
			j = w->job;
			waiter_remove(s, j);
			id_del(s, j);
			sjob_free(j);
		}
	while ((j = s->finished.head) != NULL) {
		slist_del(&s->finished, j);
		sjob_free(j);
	}
	while ((j = s->running.head) != NULL) {	/* only if workers failed */
		slist_del(&s->running, j);
		sjob_free(j);
	}
	for (i = 0; i < SCHED_SESS_BUCKETS; i++)
		while ((e = s->sessions[i]) != NULL) {
			s->sessions[i] = e->next;
			free(e->turn);
			free(e->nwait);
			free(e);
		}
	pthread_cond_destroy(&s->work_cv);
	pthread_cond_destroy(&s->timer_cv);
	pthread_cond_destroy(&s->drain_cv);
	pthread_cond_destroy(&s->reconf_cv);
	pthread_mutex_destroy(&s->mu);
	free(s->workers);
	free(s->locks);
	for (i = 0; i < s->ntasks; i++)
		free(s->tasks[i]);
	while ((st = s->retired) != NULL) {
		s->retired = st->retired_next;
		free(st);
	}
	free(s->tasks);
	free(s->by_id);
	free(s->by_nonce);
	free(s->sessions);
	free(s);
}

/* ---------------------------------------------------------------------- */
/* Self-check for tests (declared in lock.h) */

void
sched_audit_starts(struct sched *s, int on)
{
	pthread_mutex_lock(&s->mu);
	s->audit_starts = on;
	pthread_mutex_unlock(&s->mu);
}

int
sched_audit(struct sched *s, char *err, size_t errlen)
{
	struct slock	*L;
	struct sjob	*j;
	struct wnode	*w;
	size_t		 li;
	int		 holders, nw, rc = -1;
	char		 num[32];

	pthread_mutex_lock(&s->mu);
	for (li = 0; li < s->nlocks; li++) {
		L = &s->locks[li];
		holders = 0;
		for (j = s->running.head; j != NULL; j = j->next)
			if (job_lock_pos(j, li) >= 0)
				holders++;
		if ((L->busy > L->cl->slots && !L->shrunk) ||
		    L->busy != lock_busy(&L->lk) ||
		    L->busy != holders) {
			snprintf(num, sizeof(num), "%d/%d/%d", L->busy,
			    lock_busy(&L->lk), holders);
			errf(err, errlen, "lock %s: busy/bitmap/holders %s",
			    L->cl->name, num);
			goto out;
		}
		nw = 0;
		for (w = L->head; w != NULL; w = w->next) {
			nw++;
			if (w->next != NULL &&
			    w->next->job->job.seq <= w->job->job.seq) {
				errf(err, errlen, "lock %s: waiters out of "
				    "order", L->cl->name);
				goto out;
			}
			if (!s->stop && startable(s, w->job)) {
				errf(err, errlen, "lock %s: job %s could start "
				    "but waits", L->cl->name, w->job->job.id);
				goto out;
			}
		}
		if (nw != L->nwait) {
			errf(err, errlen, "lock %s: waiter count",
			    L->cl->name);
			goto out;
		}
	}
	if (s->fifo_violations > 0) {
		snprintf(num, sizeof(num), "%llu",
		    (unsigned long long)s->fifo_violations);
		errf(err, errlen, "%s starts passed an earlier startable "
		    "job on a fifo lock", num);
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&s->mu);
	return rc;
}
