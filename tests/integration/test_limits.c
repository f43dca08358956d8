/*
 * Admission limits through real nginx (issue 15 items 5 and 6): the
 * responder's clients.max_active over many free sessions from one
 * address, nginx's limit_req on submissions and limit_conn per address
 * against a flood of slow uploads. "Another client" is 127.0.0.2: on
 * Linux all of 127/8 is loopback, so requests bound to it reach nginx on
 * 127.0.0.1 with REMOTE_ADDR 127.0.0.2, a different address to nginx's
 * zones and to the responder.
 */
#include <criterion/criterion.h>

#include <sys/socket.h>

#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "itest.h"

#define FLOOD		300	/* slow uploads from one address */
#define CONN_LIMIT	32	/* sluice-serve's (and sluice.conf's) limit_conn */
#define SUBMIT_BURST	20	/* ... and limit_req burst */
#define STREAM_LIMIT	32	/* ... and limit_conn on event streams */

static const char *const json_h[] = {
	"Content-Type: application/x-www-form-urlencoded",
	"Accept: application/json", NULL };
static const char *const html_h[] = {
	"Content-Type: application/x-www-form-urlencoded", NULL };

TestSuite(limits, .timeout = 120);

/* The server as a client bound to another loopback address sees it. */
static void
other_client(const struct itest_server *s, struct itest_server *out)
{
	*out = *s;
	snprintf(out->source, sizeof(out->source), "127.0.0.2");
}

/* One fresh session's burn submission as JSON: its status, body in r. */
static long
fresh_submit(const struct itest_server *s, struct itest_resp *r)
{
	char	 sid[33];

	cr_assert_eq(itest_new_session(s, sid), 0);
	cr_assert_eq(itest_submit(s, sid, "burn", "ms=3000", json_h, r), 0);
	return r->status;
}

/*
 * 40 fresh sessions from one address (nginx's limit_req off, so that
 * every submission reaches the responder): 8 are admitted, the cap holds
 * for the other 32 (429 naming clients.max_active, Retry-After), though
 * the lock's 4 slots and queue of 64 had room for all 40. Another address
 * is still admitted.
 */
Test(limits, client_cap_holds_over_40_sessions)
{
	static const char *const extra[] = { "--submit-rate", "0", NULL };
	struct itest_server	 srv, other;
	struct itest_resp	 r;
	char			 ra[16];
	int			 i, admitted = 0, capped = 0;

	cr_assert_eq(itest_start(&srv, "tests/data/limits.conf", NULL, extra),
	    0, "sluice-serve did not become ready");
	for (i = 0; i < 40; i++) {
		if (fresh_submit(&srv, &r) == 202)
			admitted++;
		else {
			cr_expect_eq(r.status, 429, "session %d: %ld %s", i,
			    r.status, buf_cstr(&r.body));
			cr_expect(strstr(buf_cstr(&r.body),
			    "clients.max_active: your address already has 8 "
			    "jobs queued or running") != NULL, "%s",
			    buf_cstr(&r.body));
			cr_expect_eq(itest_header(&r, "Retry-After", ra,
			    sizeof(ra)), 0);
			capped++;
		}
		itest_resp_free(&r);
	}
	cr_expect_eq(admitted, 8, "clients.max_active (default 8)");
	cr_expect_eq(capped, 32);
	other_client(&srv, &other);
	cr_expect_eq(fresh_submit(&other, &r), 202,
	    "127.0.0.2 is another client: %s", buf_cstr(&r.body));
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * nginx's limit_req on POST /tasks/: a burst from one address is let
 * through up to its allowance (here to the responder, which refuses the
 * forms without a CSRF token, 403), then answered 429 by nginx with the
 * JSON error to Accept: application/json and a page otherwise, and
 * Retry-After. Another address is not limited; pages are not either.
 */
Test(limits, submission_burst_gets_429_json)
{
	struct itest_server	 srv, other;
	struct itest_resp	 r;
	char			 ct[64], ra[16];
	int			 i, passed = 0, limited = 0;

	cr_assert_eq(itest_start(&srv, "tests/data/limits.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
	for (i = 0; i < 2 * SUBMIT_BURST + 10; i++) {
		cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "ms=1", 4,
		    json_h, NULL, &r), 0);
		if (r.status == 429) {
			limited++;
			cr_expect_str_eq(buf_cstr(&r.body), "{\"error\":\"too "
			    "many requests from your address; try again in a "
			    "moment\"}\n");
			cr_expect_eq(itest_header(&r, "Content-Type", ct,
			    sizeof(ct)), 0);
			cr_expect_str_eq(ct, "application/json");
			cr_expect_eq(itest_header(&r, "Retry-After", ra,
			    sizeof(ra)), 0);
		} else {
			cr_expect_eq(r.status, 403, "%s", buf_cstr(&r.body));
			cr_expect_eq(limited, 0, "let through after a 429");
			passed++;
		}
		itest_resp_free(&r);
	}
	/* 1 + burst at once, and maybe a token or two the rate added. */
	cr_expect_geq(passed, SUBMIT_BURST + 1, "within the burst allowance");
	cr_expect_leq(passed, SUBMIT_BURST + 4, "beyond the burst allowance");
	cr_expect_geq(limited, SUBMIT_BURST + 6);
	cr_assert_eq(itest_req(&srv, "POST", "/tasks/burn", "ms=1", 4, html_h,
	    NULL, &r), 0);
	cr_expect_eq(r.status, 429);
	cr_expect_eq(itest_header(&r, "Content-Type", ct, sizeof(ct)), 0);
	cr_expect_str_eq(ct, "text/html");
	cr_expect(strstr(buf_cstr(&r.body), "<h1>Too many requests</h1>") !=
	    NULL, "%s", buf_cstr(&r.body));
	itest_resp_free(&r);
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200, "pages are not submissions");
	itest_resp_free(&r);
	other_client(&srv, &other);
	cr_assert_eq(itest_req(&other, "POST", "/tasks/burn", "ms=1", 4,
	    json_h, NULL, &r), 0);
	cr_expect_eq(r.status, 403, "127.0.0.2 has its own allowance");
	itest_resp_free(&r);
	cr_expect_eq(itest_stop(&srv), 0);
}

/*
 * Whole headers and the first byte of a 1000-byte body, then nothing.
 * To "/", not /tasks/: limit_req would turn most away there first, and
 * the limit on connections must hold for any location.
 */
static int
slow_start(int fd)
{
	static const char req[] = "POST / HTTP/1.1\r\n"
	    "Host: localhost\r\n"
	    "Content-Type: application/x-www-form-urlencoded\r\n"
	    "Accept: application/json\r\n"
	    "Content-Length: 1000\r\n\r\nm";

	return send(fd, req, sizeof(req) - 1, MSG_NOSIGNAL) ==
	    (ssize_t)(sizeof(req) - 1) ? 0 : -1;
}

/*
 * Polls the flood until want connections have their answer or 20 s pass
 * (a bound on a stuck test, not a measurement: by the clock, since the
 * answers may come one per poll). answered[i] is the status read on fd i
 * (0: none yet).
 */
static int
flood_answers(const int *fds, int *answered, int n, int want)
{
	struct pollfd	 p[FLOOD];
	char		 b[4096];
	ssize_t		 k;
	int		 i, got = 0;
	time_t		 end = time(NULL) + 20;

	while (got < want && time(NULL) < end) {
		for (i = 0; i < n; i++) {
			p[i].fd = answered[i] != 0 ? -1 : fds[i];
			p[i].events = POLLIN;
			p[i].revents = 0;
		}
		if (poll(p, (nfds_t)n, 100) <= 0)
			continue;
		for (i = 0; i < n; i++) {
			if (!(p[i].revents & (POLLIN | POLLHUP)))
				continue;
			k = recv(fds[i], b, sizeof(b) - 1, 0);
			b[k > 0 ? k : 0] = '\0';
			answered[i] = strncmp(b, "HTTP/1.1 ", 9) == 0 ?
			    atoi(b + 9) : -1;
			got++;
		}
	}
	return got;
}

/*
 * 300 slow uploads from one address (headers, then a body that stalls,
 * as the flood of issue 15 item 6 trickled a byte every 8 s): nginx holds
 * CONN_LIMIT of them and answers the rest 429 at once instead of holding
 * a connection each for the body; while all are still open that address
 * gets 429 for anything new, another address is served, and once they
 * close the first address is served again.
 */
Test(limits, slow_upload_flood_is_limited_per_address)
{
	struct itest_server	 srv, other;
	struct itest_resp	 r;
	int			 fds[FLOOD], answered[FLOOD];
	int			 i, n429 = 0, held = 0, got;

	cr_assert_eq(itest_start(&srv, "tests/data/limits.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
	memset(answered, 0, sizeof(answered));
	for (i = 0; i < FLOOD; i++) {
		cr_assert_neq(fds[i] = itest_connect(&srv), -1, "connect %d",
		    i);
		cr_assert_eq(slow_start(fds[i]), 0);
	}
	got = flood_answers(fds, answered, FLOOD, FLOOD - CONN_LIMIT);
	for (i = 0; i < FLOOD; i++) {
		if (answered[i] == 429)
			n429++;
		else if (answered[i] == 0)
			held++;
		else
			cr_expect_fail("connection %d answered %d", i,
			    answered[i]);
	}
	cr_expect_eq(got, FLOOD - CONN_LIMIT, "answered: %d (429: %d, held %d)",
	    got, n429, held);
	cr_expect_eq(n429, FLOOD - CONN_LIMIT, "refused by limit_conn");
	cr_expect_eq(held, CONN_LIMIT, "bodies nginx still waits for");
	/* Keep the held ones inside client_body_timeout meanwhile. */
	for (i = 0; i < FLOOD; i++)
		if (answered[i] == 0)
			cr_expect_eq(send(fds[i], "=", 1, MSG_NOSIGNAL), 1);
	cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL, NULL,
	    &r), 0);
	cr_expect_eq(r.status, 429, "the flooding address is at its limit: "
	    "%ld %s", r.status, buf_cstr(&r.body));
	itest_resp_free(&r);
	other_client(&srv, &other);
	cr_assert_eq(itest_req(&other, "GET", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200, "another address is served meanwhile");
	itest_resp_free(&r);
	for (i = 0; i < FLOOD; i++)
		close(fds[i]);
	/* nginx notices the closed uploads at its next read of them. */
	for (i = 0, r.status = 0; i < 50 && r.status != 200; i++) {
		usleep(100000);
		cr_assert_eq(itest_req(&srv, "GET", "/healthz", NULL, 0, NULL,
		    NULL, &r), 0);
		itest_resp_free(&r);
	}
	cr_expect_eq(r.status, 200, "served again once the flood is gone");
	cr_expect_eq(itest_stop(&srv), 0);
}

/* Whether nginx's error log says a worker died (nchan asserts so). */
static int
nginx_worker_died(const struct itest_server *s)
{
	char	 path[600], line[1024];
	FILE	*f;
	int	 died = 0;

	snprintf(path, sizeof(path), "%s/logs/error.log", s->prefix);
	if ((f = fopen(path, "r")) == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strstr(line, "exited on signal") != NULL)
			died = 1;
	fclose(f);
	return died;
}

/*
 * Event streams have a limit of their own (STREAM_LIMIT per address, a
 * user's few tabs and more): 40 from one address, 32 open (200), 8 are
 * refused 429; the open ones do not count against the requests' limit
 * (a page is still served to that address), and another address opens
 * its own.
 */
Test(limits, event_streams_have_their_own_limit)
{
	static const char req[] = "GET /events HTTP/1.1\r\n"
	    "Host: localhost\r\nAccept: text/event-stream\r\n\r\n";
	struct itest_server	 srv, other;
	struct itest_resp	 r;
	int			 fds[40], answered[40];
	int			 i, open = 0, n429 = 0, other_fd;

	if (access("/usr/lib/nginx/modules/ngx_nchan_module.so", R_OK) != 0)
		cr_skip_test("no nchan module");
	cr_assert_eq(itest_start(&srv, "tests/data/limits.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
	cr_assert_eq(itest_stream_held(&srv, "/events", NULL), 0,
	    "nginx holds no gauges");
	memset(answered, 0, sizeof(answered));
	for (i = 0; i < 40; i++) {
		cr_assert_neq(fds[i] = itest_connect(&srv), -1);
		cr_assert_eq(send(fds[i], req, sizeof(req) - 1, MSG_NOSIGNAL),
		    (ssize_t)(sizeof(req) - 1));
	}
	cr_expect_eq(flood_answers(fds, answered, 40, 40), 40);
	for (i = 0; i < 40; i++) {
		open += answered[i] == 200;
		n429 += answered[i] == 429;
	}
	cr_expect_eq(open, STREAM_LIMIT, "streams open: %d (429: %d)", open,
	    n429);
	for (i = 0; i < 40; i++)
		if (answered[i] != 200 && answered[i] != 429)
			cr_expect_fail("stream %d answered %d", i, answered[i]);
	cr_expect_eq(n429, 40 - STREAM_LIMIT, "streams refused");
	cr_assert_eq(itest_req(&srv, "GET", "/", NULL, 0, NULL, NULL, &r), 0);
	cr_expect_eq(r.status, 200, "streams are not requests in progress");
	itest_resp_free(&r);
	other_client(&srv, &other);
	cr_assert_neq(other_fd = itest_connect(&other), -1);
	cr_assert_eq(send(other_fd, req, sizeof(req) - 1, MSG_NOSIGNAL),
	    (ssize_t)(sizeof(req) - 1));
	i = 0;
	cr_expect_eq(flood_answers(&other_fd, &i, 1, 1), 1);
	cr_expect_eq(i, 200, "another address has its own streams");
	close(other_fd);
	for (i = 0; i < 40; i++)
		close(fds[i]);
	cr_expect_not(nginx_worker_died(&srv), "an nginx worker died: %s/logs",
	    srv.prefix);
	cr_expect_eq(itest_stop(&srv), 0);
}
