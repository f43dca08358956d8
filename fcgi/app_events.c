/*
 * app_events: the event streams of a job and of the app page. The
 * responder only decides who may watch what: nginx's nchan holds every
 * stream (no responder thread ever waits on a watcher). A job's stream
 * is its session's alone (another session's is 404, as every job URL);
 * the answer is an X-Accel-Redirect to nchan's internal subscriber
 * location with the job's channel, a name keyed with the secret that
 * nobody outside learns. A job that has ended gets its final event at
 * once, and the stream ends. See app_int.h and events.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app_int.h"

/* nginx's internal nchan subscriber location (sluice-serve, sluice.conf). */
#define APP_EVENTS_LOCATION	"/_sluice/events/"

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

/* An ended job: its final event, and the stream ends with the answer. */
static void
answer_final(const struct job *j, struct http_resp *resp)
{
	struct buf	 json;

	buf_init(&json);
	job_to_json(j, &json);
	resp->status = 200;
	http_resp_header(resp, "Content-Type", "text/event-stream");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_reset(&resp->body);
	events_format(&resp->body, "job", buf_cstr(&json));
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
		answer_final(&j, resp);
	else if (a->sh->events == NULL)
		answer_off(a, req, resp);
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
	(void)arg;
	if (a->sh->events == NULL)
		answer_off(a, req, resp);
	else
		answer_redirect(a->sh->gauges_channel, resp);
}
