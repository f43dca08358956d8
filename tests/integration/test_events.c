/*
 * Integration tests for live updates through a real nginx with nchan:
 * a job's stream in order (queued with its place, running with progress
 * rising, done) and then its end; another session's 404; the internal
 * subscriber and the publisher out of reach from the public server; a
 * stream that outlives a responder restart; and without nchan, the flow
 * by polling while the responder logs and counts what it could not
 * publish.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "events.h"
#include "itest.h"

#define SSE	"Accept: text/event-stream"

static const char *const sse_headers[] = { SSE, NULL };

/* The jobs' JSON of every "event: job" message of an SSE body, in order. */
static size_t
job_events(const char *body, json_t **out, size_t max)
{
	const char	*p = body, *d, *nl;
	size_t		 n = 0;
	char		*line;

	while (n < max && (p = strstr(p, "event: job\n")) != NULL) {
		p += strlen("event: job\n");
		if ((d = strstr(p, "data: ")) == NULL)
			break;
		d += strlen("data: ");
		nl = strchr(d, '\n');
		line = strndup(d, nl != NULL ? (size_t)(nl - d) : strlen(d));
		cr_assert_not_null(line);
		out[n] = json_loads(line, 0, NULL);
		cr_assert_not_null(out[n], "event data is JSON: %s", line);
		free(line);
		n++;
	}
	return n;
}

static const char *
state_of(json_t *j)
{
	return json_string_value(json_object_get(j, "state"));
}

/* A sample's value from /metrics (-1 when it is not there). */
static double
metric(const struct itest_server *s, const char *name)
{
	struct itest_resp	 r;
	const char		*p;
	double			 v = -1;

	cr_assert_eq(itest_req(s, "GET", "/metrics", NULL, 0, NULL, NULL, &r),
	    0);
	if ((p = strstr(buf_cstr(&r.body), name)) != NULL)
		v = atof(p + strlen(name));
	itest_resp_free(&r);
	return v;
}

/* The channel a job's events go to, as the responder names it. */
static void
channel_of(const struct itest_server *s, const char *id,
    char out[EVENTS_CHANNEL_LEN + 1])
{
	unsigned char	 secret[EVENTS_SECRET_LEN];
	char		 path[400];
	int		 fd;

	snprintf(path, sizeof(path), "%s/secret", s->state);
	cr_assert_neq(fd = open(path, O_RDONLY), -1, "%s", path);
	cr_assert_eq(read(fd, secret, sizeof(secret)), (ssize_t)sizeof(secret));
	close(fd);
	events_job_channel(secret, id, out);
}

static int64_t
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Two burn jobs of one session: the first runs, the second waits. */
static void
two_burns(const struct itest_server *s, const char *sid, int ms_a, int ms_b,
    char a[33], char b[33])
{
	char	 fields[32];

	snprintf(fields, sizeof(fields), "ms=%d", ms_a);
	cr_assert_eq(itest_submit_id(s, sid, "burn", fields, a, NULL), 0);
	snprintf(fields, sizeof(fields), "ms=%d", ms_b);
	cr_assert_eq(itest_submit_id(s, sid, "burn", fields, b, NULL), 0);
}

/* Waits for job id to end, and expects it to end as want. */
static void
expect_final(const struct itest_server *s, const char *sid, const char *id,
    const char *want)
{
	json_t	*j;

	cr_assert_not_null(j = itest_wait_final(s, sid, id, 20000));
	cr_expect_str_eq(json_string_value(json_object_get(j, "state")), want);
	json_decref(j);
}

Test(events, a_jobs_stream_in_order_then_it_ends, .timeout = 60)
{
	struct itest_server	 s;
	struct itest_resp	 r;
	char			 sid[33], a[33], b[33], path[128], ct[64];
	json_t			*ev[256];
	double			 last_progress = -1;
	size_t			 n, i, nrunning = 0, nrising = 0;
	int			 phase = 0;	/* 0 queued, 1 running, 2 done */

	cr_assert_eq(itest_start(&s, "tests/data/it.conf", NULL, NULL), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	two_burns(&s, sid, 1200, 1500, a, b);
	snprintf(path, sizeof(path), "/jobs/%s/events", b);
	/* The request returns when nchan ends the stream (after "done"). */
	cr_assert_eq(itest_stream(&s, path, sid, &r), 0);
	cr_expect_eq(r.status, 200);
	cr_assert_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	cr_expect(strncmp(ct, "text/event-stream", 17) == 0, "%s", ct);
	cr_expect_neq(itest_header(&r, "X-Accel-Redirect", ct, sizeof(ct)), 0,
	    "the internal redirect stays inside nginx");
	n = job_events(buf_cstr(&r.body), ev, 256);
	cr_assert_geq(n, 3, "queued, running, done at least: %s",
	    buf_cstr(&r.body));
	cr_expect_str_eq(state_of(ev[0]), "queued");
	cr_expect(json_is_integer(json_object_get(ev[0], "position")),
	    "a waiter's place");
	cr_expect(json_is_integer(json_object_get(ev[0], "eta_ms")));
	for (i = 0; i < n; i++) {
		const char	*st = state_of(ev[i]);
		double		 p;

		cr_expect_str_eq(json_string_value(json_object_get(ev[i],
		    "id")), b);
		if (strcmp(st, "queued") == 0) {
			cr_expect_eq(phase, 0, "queued after running: %zu", i);
		} else if (strcmp(st, "running") == 0) {
			cr_expect_leq(phase, 1, "running after done: %zu", i);
			phase = 1;
			nrunning++;
			p = json_number_value(json_object_get(ev[i],
			    "progress"));
			cr_expect_geq(p, last_progress, "progress never falls: "
			    "%s", buf_cstr(&r.body));
			if (p > last_progress && last_progress >= 0)
				nrising++;
			last_progress = p;
		} else {
			cr_expect_str_eq(st, "done", "%zu", i);
			cr_expect_eq(i, n - 1, "done is the last event");
			phase = 2;
		}
	}
	cr_expect_eq(phase, 2, "the stream saw the end");
	cr_expect_geq(nrunning, 2, "progress events while running");
	cr_expect_geq(nrising, 1, "the progress rose");
	for (i = 0; i < n; i++)
		json_decref(ev[i]);
	itest_resp_free(&r);
	/* An ended job's stream: its final event at once, then the end. */
	cr_assert_eq(itest_req(&s, "GET", path, NULL, 0, sse_headers, sid,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	n = job_events(buf_cstr(&r.body), ev, 256);
	cr_expect_eq(n, 1);
	if (n == 1) {
		cr_expect_str_eq(state_of(ev[0]), "done");
		json_decref(ev[0]);
	}
	itest_resp_free(&r);
	itest_stop(&s);
}

Test(events, another_session_and_the_internals_are_out_of_reach,
    .timeout = 60)
{
	struct itest_server	 s;
	struct itest_resp	 r;
	char			 sid[33], other[33], a[33], b[33], path[128];
	char			 channel[EVENTS_CHANNEL_LEN + 1];

	cr_assert_eq(itest_start(&s, "tests/data/it.conf", NULL, NULL), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	cr_assert_eq(itest_new_session(&s, other), 0);
	two_burns(&s, sid, 1500, 200, a, b);
	snprintf(path, sizeof(path), "/jobs/%s/events", b);
	cr_assert_eq(itest_req(&s, "GET", path, NULL, 0, sse_headers, other,
	    &r), 0);
	cr_expect_eq(r.status, 404, "another session's stream");
	cr_expect_null(strstr(buf_cstr(&r.body), "event:"), "and no events");
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&s, "GET", "/jobs/0123456789abcdef0123456789"
	    "abcdef/events", NULL, 0, sse_headers, sid, &r), 0);
	cr_expect_eq(r.status, 404, "no such job");
	itest_resp_free(&r);
	/* Even knowing the channel, nchan's locations are not public. */
	channel_of(&s, b, channel);
	snprintf(path, sizeof(path), "/_sluice/events/%s", channel);
	cr_assert_eq(itest_req(&s, "GET", path, NULL, 0, sse_headers, other,
	    &r), 0);
	cr_expect_eq(r.status, 404, "the subscriber location is internal");
	cr_expect_null(strstr(buf_cstr(&r.body), "event:"));
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/pub/%s", channel);
	cr_assert_eq(itest_req(&s, "POST", path, "{\"state\":\"done\"}", 16,
	    NULL, other, &r), 0);
	cr_expect(r.status == 404 || r.status == 403,
	    "the publisher is not on the public server: %ld", r.status);
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&s, "DELETE", path, NULL, 0, NULL, other, &r),
	    0);
	cr_expect(r.status >= 400 && r.status < 500, "%ld", r.status);
	itest_resp_free(&r);
	/* The job ran on, untouched. */
	expect_final(&s, sid, b, "done");
	itest_stop(&s);
}

/* The app page's gauges: a stream that does not end; read a while. */
Test(events, the_app_pages_gauges, .timeout = 60)
{
	struct itest_server	 s;
	struct itest_resp	 r;
	char			 sid[33], a[33], b[33];
	json_t			*g;

	cr_assert_eq(itest_start(&s, "tests/data/it.conf", NULL, NULL), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	two_burns(&s, sid, 1500, 200, a, b);
	/* Long-poll (no Accept: text/event-stream): the newest message. */
	cr_assert_eq(itest_req(&s, "GET", "/events", NULL, 0, NULL, sid, &r),
	    0);
	cr_expect_eq(r.status, 200);
	cr_assert_not_null(g = json_loads(buf_cstr(&r.body), 0, NULL), "%s",
	    buf_cstr(&r.body));
	cr_expect(json_is_array(json_object_get(g, "locks")));
	cr_expect(json_is_array(json_object_get(g, "tasks")));
	cr_expect_gt(json_array_size(json_object_get(g, "locks")), 0);
	json_decref(g);
	itest_resp_free(&r);
	itest_stop(&s);
}

struct watch {
	const struct itest_server	*s;
	const char			*sid, *id;
	struct itest_resp		 r;
	int				 rc;
};

static void *
watch_main(void *arg)
{
	struct watch	*w = arg;
	char		 path[128];

	snprintf(path, sizeof(path), "/jobs/%s/events", w->id);
	w->rc = itest_stream(w->s, path, w->sid, &w->r);
	return NULL;
}

static pid_t
responder_pid(const struct itest_server *s)
{
	char	 path[400];
	FILE	*f;
	int	 pid = -1;

	snprintf(path, sizeof(path), "%s/run/sluice-1.pid", s->prefix);
	if ((f = fopen(path, "r")) != NULL) {
		if (fscanf(f, "%d", &pid) != 1)
			pid = -1;
		fclose(f);
	}
	return (pid_t)pid;
}

/*
 * nginx holds the streams: a responder killed and started again
 * (sluice-serve --restart, as systemd would) publishes to the same
 * channel, and the open stream goes on to the end.
 */
Test(events, a_stream_outlives_a_responder_restart, .timeout = 90)
{
	static const char *const extra[] = { "--restart", NULL };
	struct itest_server	 s;
	struct watch		 w;
	pthread_t		 t;
	char			 sid[33], a[33], b[33], path[128];
	json_t			*ev[256];
	int64_t			 killed_ms;
	size_t			 n, i;
	pid_t			 old;

	cr_assert_eq(itest_start(&s, "tests/data/it.conf", NULL, extra), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	two_burns(&s, sid, 3000, 300, a, b);
	/*
	 * Once b is published its channel holds it and nchan holds the
	 * stream; before, the responder would answer it (with a reconnect
	 * the kill could meet: the page would poll then).
	 */
	snprintf(path, sizeof(path), "/jobs/%s/events", b);
	cr_assert_eq(itest_stream_held(&s, path, sid), 0);
	memset(&w, 0, sizeof(w));
	w.s = &s;
	w.sid = sid;
	w.id = b;
	cr_assert_eq(pthread_create(&t, NULL, watch_main, &w), 0);
	usleep(500000);	/* the stream is open, b waiting */
	cr_assert_gt(old = responder_pid(&s), 0);
	killed_ms = now_ms();
	cr_assert_eq(kill(old, SIGKILL), 0);
	pthread_join(t, NULL);
	cr_assert_eq(w.rc, 0);
	cr_expect_eq(w.r.status, 200);
	cr_expect_neq(responder_pid(&s), old, "a new responder");
	n = job_events(buf_cstr(&w.r.body), ev, 256);
	cr_assert_geq(n, 2, "%s", buf_cstr(&w.r.body));
	cr_expect_str_eq(state_of(ev[0]), "queued", "before the restart");
	cr_expect_str_eq(state_of(ev[n - 1]), "done", "after it");
	cr_expect_geq(json_integer_value(json_object_get(ev[n - 1],
	    "started_ms")), killed_ms, "b ran on the new responder");
	for (i = 0; i < n; i++)
		json_decref(ev[i]);
	itest_resp_free(&w.r);
	/* The job killed while running says so. */
	expect_final(&s, sid, a, "failed");
	itest_stop(&s);
}

/* A plain nginx: no stream (503), the flow by polling. */
Test(events, without_nchan_the_page_polls, .timeout = 60)
{
	static const char *const extra[] = { "--no-nchan", NULL };
	struct itest_server	 s;
	struct itest_resp	 r;
	char			 sid[33], a[33], b[33], path[128];

	cr_assert_eq(itest_start(&s, "tests/data/it.conf", NULL, extra), 0);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	two_burns(&s, sid, 300, 300, a, b);
	snprintf(path, sizeof(path), "/jobs/%s/events", b);
	cr_assert_eq(itest_req(&s, "GET", path, NULL, 0, sse_headers, sid,
	    &r), 0);
	cr_expect_eq(r.status, 503, "no live updates: the page polls");
	itest_resp_free(&r);
	expect_final(&s, sid, b, "done");
	itest_stop(&s);
}

/*
 * A publisher that cannot be reached (nginx down, or no nchan where the
 * config says there is one): jobs run, pages answer, and the responder
 * logs and counts the events it dropped.
 */
Test(events, an_unreachable_publisher_drops_and_says_so, .timeout = 60)
{
	static const char *const extra[] = { "--no-nchan", NULL };
	struct itest_server	 s;
	struct itest_resp	 r;
	char			 sid[33], a[33], b[33], log[] =
				    "/tmp/sluice-it-events.XXXXXX";
	char			 text[65536];
	ssize_t			 len;
	int			 fd, saved;

	/* The responders' stderr, to read their log lines. */
	cr_assert_neq(fd = mkstemp(log), -1);
	saved = dup(2);
	dup2(fd, 2);
	cr_assert_eq(itest_start(&s, "tests/data/events-down.conf", NULL,
	    extra), 0);
	dup2(saved, 2);
	close(saved);
	cr_assert_eq(itest_new_session(&s, sid), 0);
	two_burns(&s, sid, 200, 200, a, b);
	expect_final(&s, sid, b, "done");
	cr_assert_eq(itest_req(&s, "GET", "/", NULL, 0, NULL, sid, &r), 0);
	cr_expect_eq(r.status, 200, "pages answer");
	itest_resp_free(&r);
	/*
	 * nginx never took the gauges, so their channel is empty: the
	 * responder answers the stream itself, once, and asks for a
	 * reconnect (an empty channel's subscribers crash nchan).
	 */
	cr_assert_eq(itest_req(&s, "GET", "/events", NULL, 0, sse_headers, sid,
	    &r), 0);
	cr_expect_eq(r.status, 200);
	cr_expect_eq(strncmp(buf_cstr(&r.body), "retry: 500\nevent: gauges\n"
	    "data: {\"locks\":[", 35), 0, "%s", buf_cstr(&r.body));
	itest_resp_free(&r);
	cr_expect_gt(metric(&s, "sluice_events_total{result=\"dropped\"} "),
	    0, "the drops are counted");
	itest_stop(&s);
	len = pread(fd, text, sizeof(text) - 1, 0);
	close(fd);
	unlink(log);
	cr_assert_gt(len, 0);
	text[len] = '\0';
	cr_expect_not_null(strstr(text, "live updates dropped"),
	    "the log says so: %s", text);
}
