/*
 * app_events: the event streams of a job and of the app page. The
 * responder only decides who may watch what: nginx's nchan holds every
 * stream (no responder thread ever waits on a watcher). A job's stream
 * is its session's alone (another session's is 404, as every job URL);
 * the answer is an X-Accel-Redirect to nchan's internal subscriber
 * location with the job's channel, a name keyed with the secret that
 * nobody outside learns. A job that has ended gets its final event at
 * once, and the stream ends; so does a stream whose channel may hold no
 * message yet (or no more), with a hint to reconnect (events.c says why
 * an empty channel must not be subscribed). See app_int.h and events.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app_int.h"

/* nginx's internal nchan subscriber location (sluice-serve, sluice.conf). */
#define APP_EVENTS_LOCATION	"/_sluice/events/"
#define APP_EVENTS_RETRY_MS	"500"	/* a stream answered here: again */
/*
 * A job published longer ago than this may have no message left in its
 * channel: well under nchan_message_timeout (10m in both nginx configs).
 */
#define APP_EVENTS_FRESH_MS	(5 * 60 * 1000)

/* No publisher: the page polls instead. */
static void
answer_off(struct app *a, const struct http_req *req, struct http_resp *resp)
{
	app_error_answer(a, req, 503, "live updates are off here (no "
	    "events.publisher): poll the job's JSON instead", 0, resp);
}

/* The stream is nchan's: an internal redirect to channel. */
static void
answer_redirect(const char *channel, struct http_resp *resp)
{
	char	 loc[sizeof(APP_EVENTS_LOCATION) + EVENTS_CHANNEL_LEN];

	snprintf(loc, sizeof(loc), APP_EVENTS_LOCATION "%s", channel);
	resp->status = 200;
	http_resp_header(resp, "X-Accel-Redirect", loc);
	http_resp_header(resp, "X-Accel-Buffering", "no");
	http_resp_header(resp, "Cache-Control", "no-store");
	http_resp_header(resp, "Content-Type", "text/plain; charset=utf-8");
	buf_reset(&resp->body);
}

/*
 * An event answered here, once, and the stream ends: an ended job's final
 * state, or what nchan's channel does not hold yet (the gauges before
 * nginx took any, a job not published lately; then with a hint to
 * reconnect soon, to the channel by then). To an EventSource as nchan
 * sends it, to a long-poll the message alone. json NULL: out of memory.
 */
static void
answer_now(struct app *a, const struct http_req *req, const char *name,
    struct buf *json, int reconnect, struct http_resp *resp)
{
	int	 sse;

	if (json == NULL || !buf_ok(json)) {
		app_error_answer(a, req, 503, "out of memory", 1, resp);
		return;
	}
	sse = req->accept != NULL &&
	    strstr(req->accept, "text/event-stream") != NULL;
	resp->status = 200;
	http_resp_header(resp, "Content-Type", sse ? "text/event-stream" :
	    "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_reset(&resp->body);
	if (sse) {
		if (reconnect)
			buf_puts(&resp->body, "retry: " APP_EVENTS_RETRY_MS
			    "\n");
		events_format(&resp->body, name, buf_cstr(json));
	} else
		buf_append(&resp->body, json->data, json->len);
}

/* A job's stream answered here: its state now; reconnect unless final. */
static void
answer_job_now(struct app *a, const struct http_req *req,
    const struct job *j, struct http_resp *resp)
{
	struct buf	 json;

	buf_init(&json);
	job_to_json(j, &json);
	answer_now(a, req, "job", &json, !job_state_final(j->state), resp);
	buf_free(&json);
}

void
app_job_events(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	struct job	 j;
	char		 channel[EVENTS_CHANNEL_LEN + 1];

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK)
		app_error_answer(a, req, 404, "no such job", 0, resp);
	else if (job_state_final(j.state))
		answer_job_now(a, req, &j, resp);
	else if (a->sh->events == NULL)
		answer_off(a, req, resp);
	else if (!sched_events_fresh(a->sched, j.id, events_fresh_since_ns(
	    a->sh->events, APP_EVENTS_FRESH_MS)))
		answer_job_now(a, req, &j, resp);
	else {
		events_job_channel(a->secret, j.id, channel);
		answer_redirect(channel, resp);
	}
	job_clear(&j);
}

void
app_events(struct app *a, struct http_req *req, const char *arg,
    struct http_resp *resp)
{
	struct buf	 json;

	(void)arg;
	if (a->sh->events == NULL)
		answer_off(a, req, resp);
	else if (!events_gauges_held(a->sh->events)) {
		buf_init(&json);
		answer_now(a, req, "gauges", events_gauges_json(a->sh->events,
		    &json) == 0 ? &json : NULL, 1, resp);
		buf_free(&json);
	} else
		answer_redirect(a->sh->gauges_channel, resp);
}
