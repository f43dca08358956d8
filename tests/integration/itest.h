/*
 * itest: helpers for integration tests: start sluice-serve (real nginx in
 * front of real responders) on a free port, and speak HTTP with libcurl.
 */
#ifndef SLUICE_ITEST_H
#define SLUICE_ITEST_H

#include <sys/types.h>

#include <jansson.h>

#include "buf.h"

struct itest_server {
	pid_t	pid;
	int	port;
	char	base[64];	/* "http://127.0.0.1:PORT" */
	char	prefix[256];	/* private prefix dir */
	char	state[300];
	/* The local address requests come from ("127.0.0.2": another
	   client on Linux loopback); "" = the kernel's choice. */
	char	source[64];
	/* nginx's unix socket to connect to instead of the port ("": the
	   port), e.g. a cluster node's own server (sluice-serve --cluster's
	   PREFIX/run/http-I.sock); base stays the port's. */
	char	unix_path[300];
};

struct itest_resp {
	long		 status;
	struct buf	 headers;	/* raw header block */
	struct buf	 body;
};

/* Path under top_srcdir / top_builddir (static buffer per call site: copy it). */
const char	*itest_src(const char *rel, char *out, size_t outlen);
const char	*itest_build(const char *rel, char *out, size_t outlen);

/*
 * Starts sluice-serve with config (path relative to top_srcdir, or
 * absolute: a config a test wrote) and extra
 * arguments (NULL-terminated list, may be NULL); waits for "ready".
 * Returns 0 or -1. The state directory persists across itest_stop/start
 * when state is given (NULL: fresh one in the prefix).
 */
int	itest_start(struct itest_server *, const char *config,
	    const char *state, const char *const *extra);
/* SIGTERM, wait; returns the exit status of sluice-serve or -1. */
int	itest_stop(struct itest_server *);

/*
 * One request. method "GET"/"POST"/"HEAD"; body may be NULL; headers is a
 * NULL-terminated list of "Name: value" lines or NULL; cookie the sid
 * value or NULL. Does not follow redirects. Returns 0 or -1 (transport).
 */
int	itest_req(const struct itest_server *, const char *method,
	    const char *path, const char *body, size_t bodylen,
	    const char *const *headers, const char *cookie,
	    struct itest_resp *);
void	itest_resp_free(struct itest_resp *);
/*
 * An event stream as EventSource follows it: GET path as
 * text/event-stream and, while an answer ends with a reconnect hint (the
 * responder answers "retry: MS" and one event itself when nchan's channel
 * may hold nothing yet), again after MS, up to 50 times. r: the last
 * answer's status and headers, every answer's body in order. 0 or -1.
 */
int	itest_stream(const struct itest_server *, const char *path,
	    const char *cookie, struct itest_resp *);
/*
 * Waits until the stream at path is one nchan holds (not the responder's
 * one-shot answer, "retry: ...", given while the channel may be empty).
 * 0, or -1 after 5 s.
 */
int	itest_stream_held(const struct itest_server *, const char *path,
	    const char *cookie);

/* Value of header name (case-insensitive) in r, copied into out; 0 or -1. */
int	itest_header(const struct itest_resp *, const char *name, char *out,
	    size_t outlen);

/* How many times header name (case-insensitive) is in r. */
int	itest_header_count(const struct itest_resp *, const char *name);

/* Fetches a new session: GET / and returns the sid from Set-Cookie. */
int	itest_new_session(const struct itest_server *, char sid[33]);
/* The CSRF token of a session via /session.json. */
int	itest_csrf(const struct itest_server *, const char *sid, char csrf[65]);

/*
 * POSTs "csrf=TOKEN&fields" (token fetched for sid) to /tasks/task with
 * headers (NULL: urlencoded content type only). Returns 0 or -1.
 */
int	itest_submit(const struct itest_server *, const char *sid,
	    const char *task, const char *fields, const char *const *headers,
	    struct itest_resp *);
/*
 * Same, expecting 303 to /jobs/ID: returns 0 with id set, or -1; the
 * status is stored in *status when status is not NULL.
 */
int	itest_submit_id(const struct itest_server *, const char *sid,
	    const char *task, const char *fields, char id[33], long *status);
/* r is a 303 to /jobs/ID: 0 with id set, else -1. */
int	itest_job_location(const struct itest_resp *r, char id[33]);
/* A field of a job's JSON ("?" when the job or field is not there). */
void	itest_job_field(const struct itest_server *, const char *sid,
	    const char *id, const char *key, char *out, size_t len);
/* The job's JSON (the caller json_decref()s it), or NULL. */
json_t	*itest_job_json(const struct itest_server *, const char *sid,
	    const char *id);
/* Polls until the job is in a final state: its JSON, or NULL after timeout_ms. */
json_t	*itest_wait_final(const struct itest_server *, const char *sid,
	    const char *id, int timeout_ms);
/* Polls the job's state until it is want; 0, or -1 after timeout_ms. */
int	itest_wait_state(const struct itest_server *, const char *sid,
	    const char *id, const char *want, int timeout_ms, char *last,
	    size_t lastlen);

/* A TCP connection to the server's nginx (raw requests), from
   s->source when set, or -1. */
int	itest_connect(const struct itest_server *);

/* Free TCP port on 127.0.0.1 (bind to 0, read, close). */
int	itest_free_port(void);

#endif
