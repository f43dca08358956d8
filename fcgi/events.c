/* events: the live-update publisher. See events.h. */
#include "config.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "events.h"
#include "job.h"
#include "nchan.h"

#define EVENTS_BATCH		256	/* jobs taken at once */
#define EVENTS_GAUGES_MS	250	/* gauges at most this often */
#define EVENTS_END_MS		2000	/* a final state, then the channel ends */
#define EVENTS_ENDS_MAX		4096	/* channels waiting to end */
#define EVENTS_LOG_MS		10000	/* failure lines at most this often */
#define EVENTS_RETRY_MS		200	/* gauges nginx did not take, again */
#define EVENTS_REFRESH_MS	60000	/* gauges sent again at least this often */
#define EVENTS_CHECK_MS		5000	/* does nginx still hold the gauges? */

/* A job channel to end once its final event had time to reach everyone. */
struct ending {
	char	 channel[EVENTS_CHANNEL_LEN + 1];
	int64_t	 due_ms;
};

struct events {
	struct sched		*sched;
	struct nchan		*nchan;
	FILE			*log;
	unsigned char		 secret[EVENTS_SECRET_LEN];
	char			 gauges[EVENTS_CHANNEL_LEN + 1];
	int			 efd;		/* wakes the thread */
	atomic_int		 stop;
	pthread_t		 thread;
	struct ending		*ends;		/* a ring of EVENTS_ENDS_MAX */
	size_t			 ends_head, ends_n;
	int			 gauges_due;	/* gauges changed, not yet sent */
	int64_t			 gauges_ms;	/* last sent */
	int64_t			 log_ms;	/* last failure line */
	uint64_t		 unlogged;	/* drops since that line */
	int			 failing;
	atomic_int		 gauges_held;	/* nginx holds them */
	_Atomic int64_t		 held_since_ns;	/* what nginx took before: lost */
	int64_t			 check_ms;	/* last asked what nginx holds */
	atomic_ullong		 published, dropped, ended;
};

/* The scheduler's clock, which job stamps (sched_events_fresh) use. */
static int64_t
mono_ms(void)
{
	return sched_mono_ns() / 1000000;
}

/* HMAC of kind:key under secret, its first 16 bytes in hex. */
static void
channel_of(const unsigned char secret[EVENTS_SECRET_LEN], const char *kind,
    const char *key, char out[EVENTS_CHANNEL_LEN + 1])
{
	crypto_auth_hmacsha256_state	 st;
	unsigned char			 mac[crypto_auth_hmacsha256_BYTES];

	crypto_auth_hmacsha256_init(&st, secret, EVENTS_SECRET_LEN);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)kind,
	    strlen(kind));
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)":", 1);
	crypto_auth_hmacsha256_update(&st, (const unsigned char *)key,
	    strlen(key));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2hex(out, EVENTS_CHANNEL_LEN + 1, mac,
	    EVENTS_CHANNEL_LEN / 2);
}

void
events_job_channel(const unsigned char secret[EVENTS_SECRET_LEN],
    const char *id, char out[EVENTS_CHANNEL_LEN + 1])
{
	channel_of(secret, "job", id, out);
}

void
events_gauges_channel(const unsigned char secret[EVENTS_SECRET_LEN],
    const char *gauges_key, char out[EVENTS_CHANNEL_LEN + 1])
{
	channel_of(secret, "gauges", gauges_key, out);
}

void
events_format(struct buf *out, const char *name, const char *data)
{
	buf_printf(out, "event: %s\ndata: %s\n\n", name, data);
}

/*
 * nginx may hold none of what it took before (a publish failed: it may
 * have been restarted, and nchan's store with it): the gauges go out
 * again, and a job's stream is sent to its channel only once the job was
 * published again (events_fresh_since_ns).
 */
static void
lost(struct events *e)
{
	atomic_store(&e->gauges_held, 0);
	atomic_store(&e->held_since_ns, sched_mono_ns());
	e->gauges_due = 1;
}

/* A publish that failed: counted, said at most every EVENTS_LOG_MS. */
static void
failed(struct events *e, const char *what, const char *err)
{
	int64_t	 now = mono_ms();

	lost(e);

	atomic_fetch_add(&e->dropped, 1);
	e->unlogged++;
	if (e->failing && now - e->log_ms < EVENTS_LOG_MS)
		return;
	fprintf(e->log, "level=warn msg=\"live updates dropped: nginx's "
	    "nchan publisher cannot be reached (pages poll instead)\" "
	    "what=%s dropped=%llu error=\"%s\"\n", what,
	    (unsigned long long)e->unlogged, err);
	fflush(e->log);
	e->failing = 1;
	e->log_ms = now;
	e->unlogged = 0;
}

static void
delivered(struct events *e)
{
	atomic_fetch_add(&e->published, 1);
	if (e->failing) {
		fprintf(e->log, "level=info msg=\"live updates published "
		    "again\"\n");
		fflush(e->log);
		e->failing = 0;
	}
}

/* Publishes data to channel as event name; 0 or -1 (counted, logged). */
static int
publish(struct events *e, const char *channel, const char *name,
    const char *data, size_t len)
{
	char	 err[256];
	int	 st;

	st = nchan_publish(e->nchan, channel, name, data, len, err,
	    sizeof(err));
	if (st >= 200 && st < 300) {
		delivered(e);
		return 0;
	}
	if (st != -1)
		snprintf(err, sizeof(err), "nchan answered %d", st);
	failed(e, name, err);
	return -1;
}

/* Remembers channel to end at now + EVENTS_END_MS. */
static void
end_later(struct events *e, const char *channel)
{
	struct ending	*x;

	if (e->ends_n == EVENTS_ENDS_MAX)
		return;	/* nchan's message timeout ends it in the end */
	x = &e->ends[(e->ends_head + e->ends_n++) % EVENTS_ENDS_MAX];
	memcpy(x->channel, channel, sizeof(x->channel));
	x->due_ms = mono_ms() + EVENTS_END_MS;
}

/* Ends the channels that are due; ms until the next, or -1. */
static int
end_due(struct events *e)
{
	struct ending	*x;
	char		 err[256];
	int64_t		 now = mono_ms();

	while (e->ends_n > 0) {
		x = &e->ends[e->ends_head];
		if (x->due_ms > now)
			return (int)(x->due_ms - now);
		if (nchan_delete(e->nchan, x->channel, err, sizeof(err)) != -1)
			atomic_fetch_add(&e->ended, 1);
		e->ends_head = (e->ends_head + 1) % EVENTS_ENDS_MAX;
		e->ends_n--;
	}
	return -1;
}

/* The job id as it is now, to its channel; a final state ends it later. */
static void
publish_job(struct events *e, const char *id, struct buf *b)
{
	struct job	 j;
	char		 channel[EVENTS_CHANNEL_LEN + 1];

	memset(&j, 0, sizeof(j));
	if (sched_lookup(e->sched, id, NULL, &j) != SCHED_OK)
		return;	/* evicted meanwhile */
	buf_reset(b);
	job_to_json(&j, b);
	events_job_channel(e->secret, id, channel);
	if (buf_ok(b) && publish(e, channel, "job", buf_cstr(b), b->len) ==
	    0) {
		sched_events_published(e->sched, id);
		if (job_state_final(j.state))
			end_later(e, channel);
	}
	job_clear(&j);
}

/* {"locks":[{"name","busy","queued","slots","queue"}],"tasks":[{"name","eta_ms"}]} */
int
events_gauges_json(struct events *e, struct buf *b)
{
	struct sched_stats	 st;
	int64_t			 eta;
	size_t			 i;

	if (sched_stats_get(e->sched, &st) == -1)
		return -1;
	buf_reset(b);
	buf_puts(b, "{\"locks\":[");
	for (i = 0; i < st.nlocks; i++) {
		buf_puts(b, i > 0 ? ",{\"name\":" : "{\"name\":");
		buf_json_str(b, st.locks[i].name);
		buf_printf(b, ",\"busy\":%d,\"queued\":%d,\"slots\":%d,"
		    "\"queue\":%d}", st.locks[i].busy, st.locks[i].queued,
		    st.locks[i].slots, st.locks[i].queue);
	}
	buf_puts(b, "],\"tasks\":[");
	for (i = 0; i < st.ntasks; i++) {
		eta = sched_task_eta(e->sched, st.tasks[i].name);
		buf_puts(b, i > 0 ? ",{\"name\":" : "{\"name\":");
		buf_json_str(b, st.tasks[i].name);
		if (eta >= 0)
			buf_printf(b, ",\"eta_ms\":%lld}", (long long)eta);
		else
			buf_puts(b, ",\"eta_ms\":null}");
	}
	buf_puts(b, "]}");
	sched_stats_free(&st);
	return buf_ok(b) ? 0 : -1;
}

/*
 * The gauges when they changed and EVENTS_GAUGES_MS has passed; ms left.
 * The gauges channel must never be empty: nchan (1.3.x) aborts its worker
 * when two subscribers asking for the newest message (first_message -1)
 * meet on an open channel that holds none (slact/nchan#534, #720), which
 * every app page tab does. So the gauges go out at start, again until
 * nginx takes them, and again well inside nchan_message_timeout; until
 * nginx took them once, the responder answers streams itself
 * (events_gauges_held).
 */
static int
publish_gauges(struct events *e, struct buf *b)
{
	int64_t	 since = mono_ms() - e->gauges_ms;

	if (since >= EVENTS_REFRESH_MS)
		e->gauges_due = 1;
	if (!e->gauges_due)
		return (int)(EVENTS_REFRESH_MS - since);
	if (since < EVENTS_GAUGES_MS)
		return (int)(EVENTS_GAUGES_MS - since);
	e->gauges_ms = mono_ms();
	if (events_gauges_json(e, b) == 0 &&
	    publish(e, e->gauges, "gauges", buf_cstr(b), b->len) == 0) {
		e->gauges_due = 0;
		atomic_store(&e->gauges_held, 1);
		e->check_ms = mono_ms();
		return EVENTS_REFRESH_MS;
	}
	/* Not taken: once more after EVENTS_RETRY_MS, not at once. */
	e->gauges_ms += EVENTS_RETRY_MS - EVENTS_GAUGES_MS;
	return EVENTS_RETRY_MS;
}

/*
 * Every EVENTS_CHECK_MS while nginx holds the gauges: does it still? A
 * restarted nginx holds nothing, and its first publish may well succeed
 * (a new connection), so only asking tells. ms until the next check.
 */
static int
check_held(struct events *e)
{
	char	 err[256];
	int64_t	 since = mono_ms() - e->check_ms;

	if (!atomic_load(&e->gauges_held))
		return -1;
	if (since < EVENTS_CHECK_MS)
		return (int)(EVENTS_CHECK_MS - since);
	e->check_ms = mono_ms();
	if (nchan_queued(e->nchan, e->gauges, err, sizeof(err)) == 0) {
		fprintf(e->log, "level=warn msg=\"nginx holds no live updates "
		    "(restarted?): publishing them again\"\n");
		fflush(e->log);
		lost(e);
		return 0;
	}
	return EVENTS_CHECK_MS;
}

/* The earlier of two timeouts (-1: none). */
static int
sooner(int a, int b)
{
	if (a < 0)
		return b;
	if (b < 0)
		return a;
	return a < b ? a : b;
}

/* One round: what changed, published; the poll timeout for the next. */
static int
round_once(struct events *e, char (*ids)[JOB_ID_LEN + 1], struct buf *b)
{
	size_t	 i, n;
	int	 gauges, again;

	n = sched_events_take(e->sched, ids, EVENTS_BATCH, &gauges, &again);
	for (i = 0; i < n && !atomic_load(&e->stop); i++)
		publish_job(e, ids[i], b);
	if (gauges)
		e->gauges_due = 1;
	again = sooner(again, check_held(e));
	again = sooner(again, publish_gauges(e, b));
	return sooner(again, end_due(e));
}

static void *
events_main(void *arg)
{
	struct events	*e = arg;
	struct pollfd	 pfd;
	struct buf	 b;
	char		(*ids)[JOB_ID_LEN + 1];
	uint64_t	 v;
	int		 timeout = 0;	/* the first gauges at once */

	buf_init(&b);
	if ((ids = calloc(EVENTS_BATCH, sizeof(*ids))) == NULL)
		return NULL;
	pfd.fd = e->efd;
	pfd.events = POLLIN;
	while (!atomic_load(&e->stop)) {
		if (poll(&pfd, 1, timeout) > 0)
			(void)read(e->efd, &v, sizeof(v));
		if (atomic_load(&e->stop))
			break;
		timeout = round_once(e, ids, &b);
	}
	free(ids);
	buf_free(&b);
	return NULL;
}

/* The scheduler's hook, under its mutex: an eventfd write, no more. */
static void
events_notify(void *arg)
{
	struct events	*e = arg;
	uint64_t	 one = 1;

	(void)write(e->efd, &one, sizeof(one));
}

static void
events_free(struct events *e)
{
	if (e->efd != -1)
		close(e->efd);
	nchan_free(e->nchan);
	free(e->ends);
	sodium_memzero(e->secret, sizeof(e->secret));
	free(e);
}

struct events *
events_start(struct sched *s, const char *addr,
    const unsigned char secret[EVENTS_SECRET_LEN], const char *gauges_key,
    FILE *log, char *err, size_t errlen)
{
	struct events	*e;
	int		 rc;

	if ((e = calloc(1, sizeof(*e))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	e->efd = -1;
	e->sched = s;
	e->log = log != NULL ? log : stderr;
	e->gauges_due = 1;	/* the channel is never left empty */
	e->gauges_ms = mono_ms() - EVENTS_GAUGES_MS;
	e->check_ms = mono_ms();
	memcpy(e->secret, secret, EVENTS_SECRET_LEN);
	events_gauges_channel(secret, gauges_key, e->gauges);
	if ((e->nchan = nchan_new(addr)) == NULL ||
	    (e->ends = calloc(EVENTS_ENDS_MAX, sizeof(*e->ends))) == NULL ||
	    (e->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "events: %s", e->nchan == NULL ?
		    "bad publisher address or out of memory" : strerror(errno));
		events_free(e);
		return NULL;
	}
	if ((rc = pthread_create(&e->thread, NULL, events_main, e)) != 0) {
		snprintf(err, errlen, "events: thread: %s", strerror(rc));
		events_free(e);
		return NULL;
	}
	sched_events_attach(s, events_notify, e);
	return e;
}

void
events_stop(struct events *e)
{
	uint64_t	 one = 1;

	if (e == NULL)
		return;
	sched_events_attach(e->sched, NULL, NULL);
	atomic_store(&e->stop, 1);
	(void)write(e->efd, &one, sizeof(one));
	pthread_join(e->thread, NULL);
	events_free(e);
}

int
events_gauges_held(struct events *e)
{
	return atomic_load(&e->gauges_held);
}

int64_t
events_fresh_since_ns(struct events *e, int max_age_ms)
{
	int64_t	 since = sched_mono_ns() - (int64_t)max_age_ms * 1000000;
	int64_t	 lost_ns = atomic_load(&e->held_since_ns);

	return lost_ns > since ? lost_ns : since;
}

void
events_get_stats(struct events *e, struct events_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (e == NULL)
		return;
	out->published = atomic_load(&e->published);
	out->dropped = atomic_load(&e->dropped);
	out->ended = atomic_load(&e->ended);
}
