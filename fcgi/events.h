/*
 * events: live updates (DESIGN.md, "Live updates"). One publisher thread
 * takes what changed from the scheduler (sched_events_take: the
 * scheduler only marks, never waits for it) and publishes it to nginx's
 * nchan: each job's JSON to its job channel as an EventSource event
 * "job", ending the channel a little after its final state (nchan then
 * closes its streams), and the app page's gauges (every lock's busy and
 * queued, every task's ETA) to the gauges channel as "gauges", at most
 * four times a second. When nginx cannot be reached the events are
 * dropped (the job JSON stays the truth: pages fall back to polling) and
 * said so, at most every ten seconds, in the log and in the counters.
 *
 * Channel names are keyed with the responder's secret: nobody outside
 * can guess one (and nginx's subscriber location is internal anyway).
 * Every function is thread-safe.
 */
#ifndef SLUICE_EVENTS_H
#define SLUICE_EVENTS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "sched.h"

struct buf;

#define EVENTS_CHANNEL_LEN	32	/* lowercase hex */
#define EVENTS_SECRET_LEN	32

struct events;

/*
 * Starts the publisher for s to the nchan publisher at addr ("unix:/path"
 * or "HOST:PORT"); gauges_key names this responder's gauges channel
 * (several responders behind one nginx each have their own). log gets
 * the failure lines (NULL: stderr). Returns NULL with err.
 */
struct events	*events_start(struct sched *, const char *addr,
		    const unsigned char secret[EVENTS_SECRET_LEN],
		    const char *gauges_key, FILE *log, char *err,
		    size_t errlen);
/* Stops the thread (what is not published yet is dropped) and frees. */
void		 events_stop(struct events *);

struct events_stats {
	uint64_t	 published;	/* messages nginx took */
	uint64_t	 dropped;	/* messages lost: nginx unreachable */
	uint64_t	 ended;		/* job channels closed after the end */
};
void		 events_get_stats(struct events *, struct events_stats *);

/*
 * Whether nginx holds the gauges (it took them once): until then a stream
 * must not be sent to the channel, which would be empty (events.c says
 * why). events_gauges_json puts the gauges as they are now into b (reset
 * first): 0, or -1 out of memory. Both thread-safe.
 */
int		 events_gauges_held(struct events *);
int		 events_gauges_json(struct events *, struct buf *b);
/*
 * The moment (CLOCK_MONOTONIC ns) from which what nginx took is known to
 * be still there: max_age_ms ago (within nchan's message timeout), or
 * the last time nginx lost it (a failed publish, an empty store found),
 * whichever is later. For sched_events_fresh. Thread-safe.
 */
int64_t		 events_fresh_since_ns(struct events *, int max_age_ms);

/* The channel of job id, and of the gauges of gauges_key. */
void		 events_job_channel(const unsigned char secret[EVENTS_SECRET_LEN],
		    const char *id, char out[EVENTS_CHANNEL_LEN + 1]);
void		 events_gauges_channel(
		    const unsigned char secret[EVENTS_SECRET_LEN],
		    const char *gauges_key, char out[EVENTS_CHANNEL_LEN + 1]);

/*
 * One EventSource message "event: NAME" with data (one line of JSON),
 * appended to out, as nchan sends it and as the responder answers a
 * stream that has already ended.
 */
void		 events_format(struct buf *out, const char *name,
		    const char *data);

#endif
