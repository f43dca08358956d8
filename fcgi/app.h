/*
 * app: the handlers behind every route, and the glue between the request
 * layer, the templates and the scheduler. Handlers never wait for a lock
 * or a kernel (DESIGN.md, "the one rule"): they validate, ask the
 * scheduler, render and return.
 *
 * A struct app is shared by all responder threads; every function here is
 * thread-safe.
 */
#ifndef SLUICE_APP_H
#define SLUICE_APP_H

#include <stdint.h>

#include "conf.h"
#include "http.h"
#include "journal.h"
#include "route.h"
#include "sched.h"
#include "tmpl.h"

#define APP_SECRET_LEN	32

struct app;
struct app_gen;

/*
 * Creates the application over conf, templates, scheduler and journal
 * (all must outlive it; journal may be NULL). secret keys the CSRF HMAC.
 * Returns NULL on ENOMEM.
 */
struct app	*app_create(const struct conf *, const struct tmpl_set *,
		    struct sched *, struct journal *,
		    const unsigned char secret[APP_SECRET_LEN]);
void		 app_free(struct app *);

/*
 * Publishes a new generation of config and templates (SIGHUP): requests
 * that begin afterwards see them, requests in flight finish on the old
 * ones. Takes ownership of conf and tmpl: they are freed with their
 * generation, when the last request that began on it ends (or by
 * app_free), so the old generation's conf may be gone when this returns.
 * The conf and templates given to app_create stay the caller's. The
 * scheduler must have been reconfigured to conf first. Returns 0, or -1
 * on ENOMEM (nothing changed; the caller still owns both). Thread-safe.
 */
int		 app_reload(struct app *, struct conf *, struct tmpl_set *);
/* Counts a refused reload for /metrics and /status.json. Thread-safe. */
void		 app_count_reload_error(struct app *);
/*
 * The config of the current generation; valid until the next app_reload,
 * so only for the thread that reloads (others: app_hold).
 */
const struct conf *app_conf(struct app *);
/*
 * A reference on the current generation, for a request that reads its
 * config: the generation (its conf, templates) stays alive, reloads or
 * not, until app_release. Never fails. Thread-safe.
 */
struct app_gen	*app_hold(struct app *);
const struct conf *app_gen_conf(const struct app_gen *);
void		 app_release(struct app *, struct app_gen *);
/* Generations not yet freed: 1, plus old ones requests still hold. */
long		 app_generations(struct app *);

/* Responder threads: delta +1/-1 around each request; the pool size. */
void		 app_responder_busy(struct app *, int delta);
/* Responder threads answering a request now. */
int		 app_responders_busy(struct app *);
/*
 * Housekeeping, called from the signal thread every few seconds and at
 * start: removes finished jobs older than results.ttl and, past
 * results.max_bytes, the oldest result files. Never blocks for long.
 */
void		 app_maintain(struct app *);
void		 app_set_responders(struct app *, int);

/*
 * Where /metrics and /status.json read the per-device counters of the
 * workers: fn fills at most max entries into out and returns how many
 * (thread-safe). Call before the responders start.
 */
struct metrics_device;
typedef size_t	 app_device_stats_fn(void *arg, struct metrics_device *out,
		    size_t max);
void		 app_set_device_stats(struct app *, app_device_stats_fn *fn,
		    void *arg);
/*
 * The same for the cluster's numbers (node.h): fn fills *out (its nodes
 * malloc'd; metrics_snapshot_free frees them); 0, or -1 on ENOMEM.
 */
struct metrics_cluster;
typedef int	 app_cluster_stats_fn(void *arg, struct metrics_cluster *out);
void		 app_set_cluster_stats(struct app *, app_cluster_stats_fn *fn,
		    void *arg);

/*
 * Live updates: events publishes them (events.h), gauges_key names this
 * responder's gauges channel; from now on /jobs/{id}/events and /events
 * redirect to nchan. Without it they answer 503 and pages poll. Call
 * before the responders start.
 */
struct events;
void		 app_set_events(struct app *, struct events *events,
		    const char *gauges_key);

/* From now on submissions get 503 and /healthz says draining. */
void		 app_set_draining(struct app *, int);

/*
 * Answers one request. req carries params and the body (already bounded
 * by max_body); m is the route route_find() matched. Fills resp; never
 * fails (an internal problem becomes a 500 page and a log line).
 */
void		 app_handle(struct app *, struct http_req *,
		    const struct route_match *, struct http_resp *);

/*
 * Renders a complete error answer (HTML page, or JSON when the client
 * asked for it) for status with message; used by the server for errors
 * found before a handler runs (404, 405, 413...).
 */
void		 app_error(struct app *, const struct http_req *, int status,
		    const char *message, struct http_resp *);

/* Counts a finished request of status for /metrics and /status.json. */
void		 app_count_request(struct app *, int status);

/*
 * Loads STATE/secret (32 random bytes, mode 0600), creating it when
 * missing, so CSRF tokens survive restarts and can be shared by several
 * responders. Safe when several responders start on one state directory
 * at once (all get the same secret) and against a crash while creating
 * it (the file appears complete or not at all). A file shorter than 32
 * bytes is refused, naming it. Returns 0, or -1 with a message in err
 * (secret is then zeroed).
 */
int		 app_load_secret(const char *state_dir,
		    unsigned char secret[APP_SECRET_LEN], char *err,
		    size_t errlen);

/*
 * The CSRF token of session for today (UTC; accepted until the end of
 * tomorrow): 64 lowercase hex characters + NUL. Thread-safe.
 */
void		 app_csrf_token(const struct app *, const char *session,
		    char out[65]);

#endif
