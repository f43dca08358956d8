/*
 * super: the supervisor's API, its thread and its timers. See super.h
 * for the contract and super_int.h for how its files share the work.
 */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/queue.h>

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "super_int.h"

#define SUPER_EPOLL_BATCH	64

int64_t
super_now_ns(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wakes the thread (any thread, with or without mu). */
void
super_wake(struct super *sv)
{
	uint64_t	 one = 1;

	while (write(sv->wakefd, &one, sizeof(one)) == -1 && errno == EINTR)
		continue;
}

/* s[0..n) with no quote, backslash or control character, into out. */
void
super_quote(const char *s, size_t n, char *out, size_t outlen)
{
	size_t	 i, o = 0;

	for (i = 0; i < n && o + 3 < outlen; i++) {
		if (s[i] == '"' || s[i] == '\\')
			out[o++] = '\\';
		out[o++] = (unsigned char)s[i] < 0x20 ? ' ' : s[i];
	}
	out[o] = '\0';
}

void
super_logf(struct super *sv, const char *fmt, ...)
{
	va_list	 ap;

	if (sv->opts.log == NULL)
		return;
	va_start(ap, fmt);
	vfprintf(sv->opts.log, fmt, ap);
	va_end(ap);
	fputc('\n', sv->opts.log);
	fflush(sv->opts.log);
}

/* Under mu: queues an event for the owner about w. */
void
super_event(struct super *sv, enum sev_kind kind, const struct wproc *w,
    const char *job, double fraction, const char *text)
{
	struct sev	*e;

	if (sv->stop || (e = calloc(1, sizeof(*e))) == NULL)
		return;
	e->kind = kind;
	snprintf(e->task, sizeof(e->task), "%s", w->task);
	e->slot = w->slot;
	snprintf(e->job, sizeof(e->job), "%s", job != NULL ? job : "");
	snprintf(e->device, sizeof(e->device), "%s", w->devname);
	e->fraction = fraction;
	if (text != NULL && (e->text = strdup(text)) == NULL) {
		free(e);
		return;
	}
	STAILQ_INSERT_TAIL(&sv->events, e, link);
}

/* Delivers the queued events; the thread calls it outside mu. */
static void
super_deliver(struct super *sv)
{
	struct sev_queue	 q;
	struct sev		*e;
	const struct super_events *ev = &sv->ev;

	pthread_mutex_lock(&sv->mu);
	q = sv->events;
	STAILQ_INIT(&sv->events);
	if (STAILQ_EMPTY(&q))
		STAILQ_INIT(&q);	/* its tail pointed into sv */
	pthread_mutex_unlock(&sv->mu);
	while ((e = STAILQ_FIRST(&q)) != NULL) {
		STAILQ_REMOVE_HEAD(&q, link);
		if (e->kind == SEV_READY && ev->ready != NULL)
			ev->ready(ev->arg, e->task, e->slot, e->device);
		else if (e->kind == SEV_UNREADY && ev->ready != NULL)
			ev->ready(ev->arg, e->task, e->slot, NULL);
		else if (e->kind == SEV_FAILING && ev->failing != NULL)
			ev->failing(ev->arg, e->task, e->text);
		else if (e->kind == SEV_RECOVERED && ev->failing != NULL)
			ev->failing(ev->arg, e->task, NULL);
		else if (e->kind == SEV_PROGRESS && ev->progress != NULL)
			ev->progress(ev->arg, e->job, e->fraction, e->text);
		free(e->text);
		free(e);
	}
}

/* Under mu: the counters of device (-1: cpu), created when missing. */
struct dev_stats *
super_dev(struct super *sv, int device)
{
	struct dev_stats	*d;

	LIST_FOREACH(d, &sv->devs, link)
		if (d->s.device == device)
			return d;
	if ((d = calloc(1, sizeof(*d))) == NULL)
		return NULL;
	d->s.device = device;
	LIST_INSERT_HEAD(&sv->devs, d, link);
	return d;
}

/* Under mu: ends w's call in state with error (NULL for done). */
void
super_call_end(struct wproc *w, enum job_state state, const char *error)
{
	struct call	*c = w->call;
	struct dev_stats *d;

	if (c == NULL)
		return;
	c->out->state = state;
	snprintf(c->out->device, sizeof(c->out->device), "%s", w->devname);
	if (error != NULL) {
		free(c->out->error);
		c->out->error = strdup(error);
	}
	if (state == JOB_FAILED && w->sent && (d = super_dev(w->sv,
	    w->device)) != NULL)
		d->s.failures++;
	c->done = 1;
	pthread_cond_signal(&c->cv);
	w->call = NULL;
	w->sent = 0;
	w->cancel = 0;
}

/* ---------------------------------------------------------------------- */
/* Workers by (task, slot) */

/* The task of conf called name that runs workers, or NULL. */
static const struct conf_task *
super_task(const struct super *sv, const char *name)
{
	return conf_find_task(sv->conf, name);
}

/* Slots of the task's worker lock. */
static int
task_slots(const struct conf *c, const struct conf_task *t)
{
	return c->locks[t->lock_index[t->worker_lock]].slots;
}

/* The configured device of the task's slot; -1 for a CPU slot. */
static int
task_device(const struct conf *c, const struct conf_task *t, int slot)
{
	const struct conf_lock	*cl = &c->locks[t->lock_index[t->worker_lock]];

	return cl->devices != NULL && slot < cl->slots ? cl->devices[slot] : -1;
}

/* What makes a worker the same one after a reload, as text; NULL on ENOMEM. */
static char *
worker_ident(const struct super *sv, const struct conf_task *t, int slot)
{
	char	*s = NULL, *argv = NULL, *p;
	size_t	 i, len = 0;
	FILE	*f;

	if ((f = open_memstream(&argv, &len)) == NULL)
		return NULL;
	if (t->worker != NULL)
		for (i = 0; t->worker[i] != NULL; i++)
			fprintf(f, "%s%c", t->worker[i], 0);
	else
		fprintf(f, "%s%c--kernel%c%s", sv->kernel_worker, 0, 0,
		    t->kernel);
	fclose(f);
	for (p = argv; p < argv + len; p++)
		if (*p == '\0')
			*p = '\x1f';
	/*
	 * A worker program's inputs are part of what it runs; a kernel task's
	 * narrowed ranges are not (sluice-worker knows its kernel's own), so
	 * a reload that only narrows them keeps its workers and their GPU
	 * contexts.
	 */
	if (asprintf(&s, "%s|%d|%s", argv, task_device(sv->conf, t, slot),
	    t->kernel == NULL && t->inputs_sig != NULL ? t->inputs_sig : "") ==
	    -1)
		s = NULL;
	free(argv);
	return s;
}

/* The live (not retiring) worker of (task, slot), or NULL. */
static struct wproc *
worker_find(struct super *sv, const char *task, int slot)
{
	struct wproc	*w;

	LIST_FOREACH(w, &sv->workers, link)
		if (!w->retire && w->slot == slot &&
		    strcmp(w->task, task) == 0)
			return w;
	return NULL;
}

static void
worker_free(struct wproc *w)
{
	size_t	 i;

	for (i = 0; w->argv != NULL && w->argv[i] != NULL; i++)
		free(w->argv[i]);
	free(w->argv);
	for (i = 0; i < WFD__MAX; i++)
		lbuf_free(&w->fds[i].lb);
	free(w->ident);
	free(w);
}

/* argv of t's workers, argv[0] as configured (resolved at spawn). */
static char **
worker_argv(const struct super *sv, const struct conf_task *t)
{
	char	**v;
	size_t	 i, n = 3;

	if (t->worker != NULL)
		for (n = 0; t->worker[n] != NULL; n++)
			continue;
	if ((v = calloc(n + 1, sizeof(*v))) == NULL)
		return NULL;
	for (i = 0; i < n; i++) {
		v[i] = strdup(t->worker != NULL ? t->worker[i] : i == 0 ?
		    sv->kernel_worker : i == 1 ? "--kernel" : t->kernel);
		if (v[i] == NULL) {
			while (i-- > 0)
				free(v[i]);
			free(v);
			return NULL;
		}
	}
	return v;
}

/* Under mu: a new worker (state W_OFF) of task t, slot; NULL on ENOMEM. */
static struct wproc *
worker_new(struct super *sv, const struct conf_task *t, int slot)
{
	struct wproc	*w;
	int		 i;

	if ((w = calloc(1, sizeof(*w))) == NULL)
		return NULL;
	w->sv = sv;
	snprintf(w->task, sizeof(w->task), "%s", t->name);
	w->slot = slot;
	w->device = task_device(sv->conf, t, slot);
	if (w->device >= 0)
		snprintf(w->devname, sizeof(w->devname), "cuda:%d", w->device);
	else
		snprintf(w->devname, sizeof(w->devname), "cpu");
	w->timeout = t->timeout;
	w->cancel_grace = t->cancel_grace;
	w->start_timeout = t->start_timeout;
	w->preload = t->preload;
	for (i = 0; i < WFD__MAX; i++) {
		w->fds[i].w = w;
		w->fds[i].kind = (enum wfd_kind)i;
		w->fds[i].fd = -1;
		w->fds[i].lb.max = i == WFD_SOCK ? WMSG_LINE_MAX :
		    SUPER_LOG_LINE_MAX;
	}
	if ((w->ident = worker_ident(sv, t, slot)) == NULL ||
	    (w->argv = worker_argv(sv, t)) == NULL) {
		worker_free(w);
		return NULL;
	}
	LIST_INSERT_HEAD(&sv->workers, w, link);
	return w;
}

/* Under mu: (task, slot)'s worker, made when the config has it. */
static struct wproc *
worker_get(struct super *sv, const char *task, int slot)
{
	const struct conf_task	*t;
	struct wproc		*w;

	if ((w = worker_find(sv, task, slot)) != NULL)
		return w;
	if ((t = super_task(sv, task)) == NULL || slot < 0 ||
	    slot >= task_slots(sv->conf, t))
		return NULL;
	return worker_new(sv, t, slot);
}

/* Under mu: a worker that is off starts as soon as the thread looks. */
static void
worker_request(struct wproc *w)
{
	if (w->state != W_OFF)
		return;
	w->state = W_WAIT;
	w->deadline = super_now_ns();
	super_wake(w->sv);
}

void
super_want(struct super *sv, const char *task, int slot)
{
	struct wproc	*w;

	pthread_mutex_lock(&sv->mu);
	if (!sv->stop && (w = worker_get(sv, task, slot)) != NULL)
		worker_request(w);
	pthread_mutex_unlock(&sv->mu);
}

/* ---------------------------------------------------------------------- */
/* Jobs */

static void
outcome_fail(struct super_outcome *out, const char *why)
{
	out->state = JOB_FAILED;
	free(out->error);
	out->error = strdup(why);
}

/* Under mu: 1 when id was cancelled before its call (forgotten then). */
static int
early_cancelled(struct super *sv, const char *id)
{
	unsigned	 i;

	for (i = 0; i < SUPER_EARLY_MAX; i++)
		if (strcmp(sv->early[i], id) == 0) {
			sv->early[i][0] = '\0';
			return 1;
		}
	return 0;
}

void
super_run(struct super *sv, const struct super_job *job,
    struct super_outcome *out)
{
	struct call	 c;
	struct wproc	*w;

	memset(out, 0, sizeof(*out));
	memset(&c, 0, sizeof(c));
	c.job = job;
	c.out = out;
	pthread_cond_init(&c.cv, NULL);
	pthread_mutex_lock(&sv->mu);
	if (sv->stop)
		outcome_fail(out, "the server is stopping");
	else if ((w = worker_get(sv, job->task, job->slot)) == NULL)
		outcome_fail(out, "no worker for this task and slot (removed "
		    "by a reload?)");
	else if (w->call != NULL)
		outcome_fail(out, "internal error: the worker is busy");
	else if (early_cancelled(sv, job->id)) {
		out->state = JOB_CANCELLED;
		out->error = strdup("cancelled");
	} else {
		c.ready_by = super_now_ns() + (int64_t)w->start_timeout *
		    1000000000;
		w->call = &c;
		/*
		 * A ready worker gets the job from this thread at once: no
		 * round trip through the supervisor's thread (it only reads
		 * the answer). Otherwise the thread sends it once it is ready.
		 */
		if (w->state == W_READY)
			(void)wproc_send_job(w);
		else {
			worker_request(w);
			super_wake(sv);
		}
		while (!c.done)
			pthread_cond_wait(&c.cv, &sv->mu);
	}
	pthread_mutex_unlock(&sv->mu);
	pthread_cond_destroy(&c.cv);
}

void
super_outcome_free(struct super_outcome *out)
{
	size_t	 i;

	for (i = 0; i < out->nfiles; i++) {
		free(out->files[i].path);
		free(out->files[i].type);
	}
	free(out->files);
	free(out->result);
	free(out->error);
	memset(out, 0, sizeof(*out));
}

int
super_cancel(struct super *sv, const char *id)
{
	struct wproc	*w;
	int		 rc = -1;

	pthread_mutex_lock(&sv->mu);
	LIST_FOREACH(w, &sv->workers, link) {
		if (w->call == NULL || strcmp(w->call->job->id, id) != 0)
			continue;
		rc = 0;
		if (!w->sent) {	/* not sent yet: it never starts */
			super_call_end(w, JOB_CANCELLED, "cancelled");
			break;
		}
		if (!w->cancel) {
			w->cancel = 1;
			w->deadline = super_now_ns() +
			    (int64_t)w->cancel_grace * 1000000000;
			(void)wproc_send_cancel(w);
			super_wake(sv);
		}
		break;
	}
	if (rc == -1 && strlen(id) <= JOB_ID_LEN) {
		/* Not at a worker yet: super_run ends it when it comes. */
		snprintf(sv->early[sv->nearly++ % SUPER_EARLY_MAX],
		    JOB_ID_LEN + 1, "%s", id);
		rc = 0;
	}
	pthread_mutex_unlock(&sv->mu);
	return rc;
}

size_t
super_device_stats(struct super *sv, struct super_device_stats *out,
    size_t max)
{
	struct dev_stats	*d;
	size_t			 n = 0;

	pthread_mutex_lock(&sv->mu);
	LIST_FOREACH(d, &sv->devs, link)
		if (n < max)
			out[n++] = d->s;
	pthread_mutex_unlock(&sv->mu);
	return n;
}

/* ---------------------------------------------------------------------- */
/* Timers */

/* Under mu: the timer of w's state is due at now. */
static void
worker_due(struct wproc *w, int64_t now)
{
	char	 why[200];

	switch (w->state) {
	case W_WAIT:
		if (wproc_spawn(w) == -1)
			wproc_start_failed(w, w->why);
		break;
	case W_STARTING:
		snprintf(why, sizeof(why), "the worker was not ready after %d s",
		    w->start_timeout);
		wproc_kill(w, SIGKILL);
		wproc_start_failed(w, why);
		w->state = W_STOPPING;	/* its exit only restarts it */
		w->kill_at = 0;
		break;
	case W_BUSY:
		if (w->cancel) {
			snprintf(why, sizeof(why), "cancelled (the worker did "
			    "not stop within %d s and was killed)",
			    w->cancel_grace);
			super_call_end(w, JOB_CANCELLED, why);
		} else {
			snprintf(why, sizeof(why), "timed out after %d s",
			    w->timeout);
			super_call_end(w, JOB_FAILED, why);
		}
		wproc_kill(w, SIGKILL);
		wproc_unready(w);
		w->state = W_STOPPING;
		w->kill_at = 0;
		break;
	case W_STOPPING:
		if (w->kill_at != 0 && now >= w->kill_at) {
			wproc_kill(w, SIGKILL);
			w->kill_at = 0;
		}
		break;
	default:
		break;
	}
}

/* Under mu: the timer of w, 0 when none. */
static int64_t
worker_deadline(const struct wproc *w)
{
	if (w->state == W_STOPPING)
		return w->kill_at;
	if (w->state == W_BUSY && !w->cancel && w->timeout <= 0)
		return 0;
	if (w->state == W_WAIT || w->state == W_STARTING ||
	    w->state == W_BUSY)
		return w->deadline;
	return 0;
}

/*
 * Under mu: runs what is due (timers, calls waiting for ready too long,
 * calls to send), removes retired workers that are gone, and returns the
 * next deadline (0: none).
 */
static int64_t
super_tick(struct super *sv)
{
	struct wproc	*w, *tmp;
	int64_t		 now = super_now_ns(), next = 0, dl;

	for (w = LIST_FIRST(&sv->workers); w != NULL; w = tmp) {
		tmp = LIST_NEXT(w, link);
		if ((dl = worker_deadline(w)) != 0 && dl <= now)
			worker_due(w, now);
		if (w->sock_eof_at != 0 && w->sock_eof_at <= now) {
			w->sock_eof_at = 0;
			if (w->pid != 0 && w->state != W_STOPPING)
				wproc_violation(w, "it closed its protocol "
				    "socket");
		}
		if (w->call != NULL && !w->sent && w->state == W_READY)
			(void)wproc_send_job(w);
		if (w->call != NULL && !w->sent && now >= w->call->ready_by)
			super_call_end(w, JOB_FAILED, w->why[0] != '\0' ?
			    w->why : "the worker was not ready in time");
		if (w->retire && w->pid == 0 && w->call == NULL) {
			LIST_REMOVE(w, link);
			worker_free(w);
			continue;
		}
		if (w->retire && w->pid != 0 && w->state == W_READY) {
			w->state = W_STOPPING;
			w->kill_at = now + SUPER_STOP_GRACE_MS * 1000000LL;
			wproc_kill(w, SIGTERM);
		}
		if ((dl = worker_deadline(w)) != 0 && (next == 0 || dl < next))
			next = dl;
		if (w->sock_eof_at != 0 && (next == 0 || w->sock_eof_at < next))
			next = w->sock_eof_at;
		if (w->call != NULL && !w->sent &&
		    (next == 0 || w->call->ready_by < next))
			next = w->call->ready_by;
	}
	return next;
}

/* ---------------------------------------------------------------------- */
/* The thread */

static void
super_drain_wake(struct super *sv)
{
	uint64_t	 n;

	while (read(sv->wakefd, &n, sizeof(n)) == -1 && errno == EINTR)
		continue;
}

static void *
super_main(void *arg)
{
	struct super		*sv = arg;
	struct epoll_event	 evs[SUPER_EPOLL_BATCH];
	int64_t			 next;
	int			 i, n, timeout, done = 0;

	while (!done) {
		pthread_mutex_lock(&sv->mu);
		next = super_tick(sv);
		done = sv->stop && LIST_EMPTY(&sv->workers);
		pthread_mutex_unlock(&sv->mu);
		super_deliver(sv);
		if (done)
			break;
		timeout = -1;
		if (next != 0) {
			next -= super_now_ns();
			timeout = next <= 0 ? 0 : (int)(next / 1000000 + 1);
		}
		n = epoll_wait(sv->epfd, evs, SUPER_EPOLL_BATCH, timeout);
		pthread_mutex_lock(&sv->mu);
		for (i = 0; i < n; i++) {
			if (evs[i].data.ptr == NULL)
				super_drain_wake(sv);
			else
				wproc_readable(evs[i].data.ptr);
		}
		pthread_mutex_unlock(&sv->mu);
	}
	super_deliver(sv);
	return NULL;
}

/* Under mu: workers of preload tasks, on every slot. */
static void
super_preload(struct super *sv)
{
	const struct conf_task	*t;
	struct wproc		*w;
	size_t			 i;
	int			 slot;

	for (i = 0; i < sv->conf->ntasks; i++) {
		t = &sv->conf->tasks[i];
		if (!t->preload)
			continue;
		for (slot = 0; slot < task_slots(sv->conf, t); slot++)
			if ((w = worker_get(sv, t->name, slot)) != NULL)
				worker_request(w);
	}
}

static int
super_init_fds(struct super *sv, char *err, size_t errlen)
{
	struct epoll_event	 ev;

	sv->epfd = epoll_create1(EPOLL_CLOEXEC);
	sv->wakefd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (sv->epfd == -1 || sv->wakefd == -1) {
		snprintf(err, errlen, "supervisor: %s", strerror(errno));
		return -1;
	}
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = NULL;
	if (epoll_ctl(sv->epfd, EPOLL_CTL_ADD, sv->wakefd, &ev) == -1) {
		snprintf(err, errlen, "supervisor: epoll: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static void
super_free(struct super *sv)
{
	struct wproc		*w;
	struct dev_stats	*d;
	struct sev		*e;

	while ((w = LIST_FIRST(&sv->workers)) != NULL) {
		LIST_REMOVE(w, link);
		wproc_close_fds(w);
		worker_free(w);
	}
	while ((d = LIST_FIRST(&sv->devs)) != NULL) {
		LIST_REMOVE(d, link);
		free(d);
	}
	while ((e = STAILQ_FIRST(&sv->events)) != NULL) {
		STAILQ_REMOVE_HEAD(&sv->events, link);
		free(e->text);
		free(e);
	}
	if (sv->epfd != -1)
		close(sv->epfd);
	if (sv->wakefd != -1)
		close(sv->wakefd);
	pthread_mutex_destroy(&sv->mu);
	free(sv->state);
	free(sv->kernel_worker);
	free(sv);
}

struct super *
super_create(const struct conf *conf, const struct super_opts *opts,
    const struct super_events *ev, char *err, size_t errlen)
{
	struct super	*sv;

	if ((sv = calloc(1, sizeof(*sv))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	sv->epfd = sv->wakefd = -1;
	sv->conf = conf;
	sv->opts = *opts;
	if (ev != NULL)
		sv->ev = *ev;
	if (sv->opts.backoff_ms <= 0)
		sv->opts.backoff_ms = 1000;
	sv->self = getpid();
	LIST_INIT(&sv->workers);
	LIST_INIT(&sv->devs);
	STAILQ_INIT(&sv->events);
	pthread_mutex_init(&sv->mu, NULL);
	sv->state = strdup(opts->state != NULL ? opts->state : ".");
	sv->kernel_worker = strdup(opts->kernel_worker != NULL ?
	    opts->kernel_worker : "sluice-worker");
	if (sv->state == NULL || sv->kernel_worker == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	if (super_init_fds(sv, err, errlen) == -1)
		goto fail;
	pthread_mutex_lock(&sv->mu);
	super_preload(sv);
	pthread_mutex_unlock(&sv->mu);
	if (pthread_create(&sv->thread, NULL, super_main, sv) != 0) {
		snprintf(err, errlen, "supervisor: pthread_create failed");
		goto fail;
	}
	sv->thread_started = 1;
	return sv;
fail:
	super_free(sv);
	return NULL;
}

/* Under mu: w stops (once idle) and is forgotten. */
static void
worker_retire(struct wproc *w)
{
	if (w->retire)
		return;
	w->retire = 1;
	wproc_unready(w);
	if (w->pid != 0 && w->call == NULL && w->state != W_STOPPING) {
		w->state = W_STOPPING;
		w->kill_at = super_now_ns() + SUPER_STOP_GRACE_MS * 1000000LL;
		wproc_kill(w, SIGTERM);
	} else if (w->pid == 0)
		w->state = W_OFF;
}

int
super_reconfigure(struct super *sv, const struct conf *conf)
{
	const struct conf_task	*t;
	struct wproc		*w;
	char			*id;

	pthread_mutex_lock(&sv->mu);
	sv->conf = conf;
	LIST_FOREACH(w, &sv->workers, link) {
		if (w->retire)
			continue;
		t = super_task(sv, w->task);
		id = t != NULL && w->slot < task_slots(conf, t) ?
		    worker_ident(sv, t, w->slot) : NULL;
		if (id == NULL || strcmp(id, w->ident) != 0)
			worker_retire(w);
		else {
			w->timeout = t->timeout;
			w->cancel_grace = t->cancel_grace;
			w->start_timeout = t->start_timeout;
			w->preload = t->preload;
		}
		free(id);
	}
	super_preload(sv);
	pthread_mutex_unlock(&sv->mu);
	super_wake(sv);
	return 0;
}

void
super_destroy(struct super *sv)
{
	struct wproc	*w;

	if (sv == NULL)
		return;
	pthread_mutex_lock(&sv->mu);
	sv->stop = 1;
	LIST_FOREACH(w, &sv->workers, link) {
		super_call_end(w, JOB_FAILED, "the server stopped");
		w->retire = 1;
		if (w->pid != 0 && w->state != W_STOPPING) {
			w->state = W_STOPPING;
			w->kill_at = super_now_ns() + SUPER_STOP_GRACE_MS *
			    1000000LL;
			wproc_kill(w, SIGTERM);
		} else if (w->pid == 0)
			w->state = W_OFF;
	}
	pthread_mutex_unlock(&sv->mu);
	super_wake(sv);
	if (sv->thread_started)
		pthread_join(sv->thread, NULL);
	super_free(sv);
}
