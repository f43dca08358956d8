/*
 * sw: the C side of the worker protocol, for workers (sluice_worker.h).
 * One connection, read with a line buffer of its own: sw_next() blocks
 * for the next job, sw_cancelled() only looks at what has arrived.
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "sluice_worker.h"

struct sw {
	int		 fd;
	char		*buf;		/* received, not yet consumed */
	size_t		 len, cap;
	int		 eof;
	json_t		*job;		/* the current job's message */
	char		 id[33];	/* its id; "" between jobs */
	int		 cancelled;
};

static void
sw_errf(char *err, size_t errlen, const char *msg, const char *detail)
{
	if (err != NULL && errlen > 0)
		snprintf(err, errlen, "%s%s", msg, detail != NULL ? detail : "");
}

struct sw *
sw_open(char *err, size_t errlen)
{
	const char	*proto = getenv("SLUICE_PROTOCOL");
	const char	*fds = getenv("SLUICE_FD");
	struct sw	*w;
	char		*end;
	long		 fd;

	if (proto == NULL || fds == NULL) {
		sw_errf(err, errlen, "not started by sluice: SLUICE_PROTOCOL "
		    "and SLUICE_FD are not set", NULL);
		return NULL;
	}
	if (strcmp(proto, "1") != 0) {
		sw_errf(err, errlen, "unknown SLUICE_PROTOCOL ", proto);
		return NULL;
	}
	errno = 0;
	fd = strtol(fds, &end, 10);
	if (errno != 0 || *end != '\0' || fd < 0 || fd > 65535 ||
	    fcntl((int)fd, F_GETFD) == -1) {
		sw_errf(err, errlen, "bad SLUICE_FD ", fds);
		return NULL;
	}
	if ((w = calloc(1, sizeof(*w))) == NULL) {
		sw_errf(err, errlen, "out of memory", NULL);
		return NULL;
	}
	w->fd = (int)fd;
	return w;
}

void
sw_close(struct sw *w)
{
	if (w == NULL)
		return;
	close(w->fd);
	json_decref(w->job);
	free(w->buf);
	free(w);
}

/* Writes msg (stolen) as one line. */
static int
sw_send(struct sw *w, json_t *msg)
{
	char	*text;
	size_t	 len, off = 0;
	ssize_t	 n;
	int	 rc = -1;

	if (msg == NULL) {
		fprintf(stderr, "sluice worker: out of memory\n");
		return -1;
	}
	/* 15 digits: a result's 1.263 stays 1.263, not 1.2629999999999999. */
	text = json_dumps(msg, JSON_COMPACT | JSON_ENSURE_ASCII |
	    JSON_REAL_PRECISION(15));
	json_decref(msg);
	if (text == NULL || (len = strlen(text)) > SW_LINE_MAX) {
		fprintf(stderr, "sluice worker: message %s\n", text == NULL ?
		    "could not be encoded" : "longer than 1 MiB");
		goto out;
	}
	text[len++] = '\n';	/* over the NUL: json_dumps left room */
	while (off < len) {
		n = send(w->fd, text + off, len - off, MSG_NOSIGNAL);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			fprintf(stderr, "sluice worker: send: %s\n",
			    strerror(errno));
			goto out;
		}
		off += (size_t)n;
	}
	rc = 0;
out:
	free(text);
	return rc;
}

int
sw_ready(struct sw *w, const char *device)
{
	json_t	*m = json_pack("{s:s}", "type", "ready");

	if (m != NULL && device != NULL)
		json_object_set_new(m, "device", json_string(device));
	return sw_send(w, m);
}

/*
 * Reads what the socket has (waiting when block is set) into the
 * buffer. Returns 0, or -1 on a read error or an over-long line.
 */
static int
sw_fill(struct sw *w, int block)
{
	char	*grown;
	ssize_t	 n;

	if (w->cap - w->len < 65536) {
		if (w->cap > SW_LINE_MAX + 65536 * 2) {
			fprintf(stderr, "sluice worker: line over 1 MiB\n");
			return -1;
		}
		if ((grown = realloc(w->buf, w->cap + 65536)) == NULL)
			return -1;
		w->buf = grown;
		w->cap += 65536;
	}
	do
		n = recv(w->fd, w->buf + w->len, w->cap - w->len,
		    block ? 0 : MSG_DONTWAIT);
	while (n == -1 && errno == EINTR);
	if (n == 0)
		w->eof = 1;
	else if (n > 0)
		w->len += (size_t)n;
	else if (errno != EAGAIN && errno != EWOULDBLOCK) {
		fprintf(stderr, "sluice worker: recv: %s\n", strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * The next whole message in the buffer, parsed, or NULL (*bad set on a
 * malformed one). The line is consumed.
 */
static json_t *
sw_take_line(struct sw *w, int *bad)
{
	json_error_t	 je;
	json_t		*m;
	char		*nl;
	size_t		 n;

	*bad = 0;
	if (w->len == 0 || (nl = memchr(w->buf, '\n', w->len)) == NULL)
		return NULL;
	n = (size_t)(nl - w->buf);
	m = json_loadb(w->buf, n, JSON_REJECT_DUPLICATES, &je);
	memmove(w->buf, nl + 1, w->len - n - 1);
	w->len -= n + 1;
	if (!json_is_object(m) || !json_is_string(json_object_get(m,
	    "type"))) {
		fprintf(stderr, "sluice worker: bad message from sluice: %s\n",
		    m == NULL ? je.text : "not an object with a type");
		json_decref(m);
		*bad = 1;
		return NULL;
	}
	return m;
}

static int
sw_type_is(const json_t *m, const char *type)
{
	return strcmp(json_string_value(json_object_get(m, "type")), type) == 0;
}

/* A cancel for the current job sets the flag; others are refused. */
static int
sw_handle_between(struct sw *w, json_t *m)
{
	const char	*id = json_string_value(json_object_get(m, "job"));
	int		 rc = 0;

	if (sw_type_is(m, "cancel")) {
		if (id != NULL && strcmp(id, w->id) == 0)
			w->cancelled = 1;
	} else {
		fprintf(stderr, "sluice worker: unexpected message %s\n",
		    json_string_value(json_object_get(m, "type")));
		rc = -1;
	}
	json_decref(m);
	return rc;
}

/* Checks a job message and fills job from it. */
static int
sw_job_fill(struct sw *w, json_t *m, struct sw_job *job)
{
	const char	*id = json_string_value(json_object_get(m, "job"));
	const char	*out = json_string_value(json_object_get(m, "out"));
	json_t		*params = json_object_get(m, "params");
	json_t		*inputs = json_object_get(m, "inputs");

	if (id == NULL || strlen(id) >= sizeof(w->id) || out == NULL ||
	    !json_is_object(params) ||
	    (inputs != NULL && !json_is_object(inputs))) {
		fprintf(stderr, "sluice worker: malformed job message\n");
		json_decref(m);
		return -1;
	}
	json_decref(w->job);
	w->job = m;
	snprintf(w->id, sizeof(w->id), "%s", id);
	w->cancelled = 0;
	job->id = w->id;
	job->params = params;
	job->inputs = inputs;
	job->out = out;
	return 0;
}

int
sw_next(struct sw *w, struct sw_job *job)
{
	json_t	*m;
	int	 bad;

	memset(job, 0, sizeof(*job));
	w->id[0] = '\0';
	for (;;) {
		while ((m = sw_take_line(w, &bad)) == NULL) {
			if (bad)
				return -1;
			if (w->eof)
				return 0;
			if (sw_fill(w, 1) == -1)
				return -1;
		}
		if (sw_type_is(m, "job"))
			return sw_job_fill(w, m, job) == 0 ? 1 : -1;
		/* A late cancel of a job already answered: nothing to do. */
		if (sw_handle_between(w, m) == -1)
			return -1;
	}
}

int
sw_cancelled(struct sw *w)
{
	json_t	*m;
	int	 bad;

	if (w->cancelled || w->eof)
		return 1;
	if (sw_fill(w, 0) == -1)
		return w->cancelled;
	while ((m = sw_take_line(w, &bad)) != NULL)
		(void)sw_handle_between(w, m);
	/* Sluice gone: nobody waits for the result any more. */
	return w->cancelled || w->eof;
}

int
sw_progress(struct sw *w, double fraction, const char *message)
{
	json_t	*m;
	char	 cut[SW_MESSAGE_MAX * 4 + 1];
	size_t	 n, chars = 0;

	if (!(fraction >= 0))
		fraction = 0;
	if (fraction > 1)
		fraction = 1;
	m = json_pack("{s:s,s:s,s:f}", "type", "progress", "job", w->id,
	    "fraction", fraction);
	if (m != NULL && message != NULL) {
		/* At most SW_MESSAGE_MAX characters, cut between them. */
		for (n = 0; message[n] != '\0' && n < sizeof(cut) - 1; n++) {
			if (((unsigned char)message[n] & 0xc0) != 0x80 &&
			    chars++ == SW_MESSAGE_MAX)
				break;
			cut[n] = message[n];
		}
		cut[n] = '\0';
		json_object_set_new(m, "message", json_string(cut));
	}
	return sw_send(w, m);
}

int
sw_result(struct sw *w, json_t *result, const struct sw_file *files,
    size_t nfiles)
{
	json_t	*m, *list;
	size_t	 i;

	if (result == NULL)
		result = json_object();
	list = json_array();
	for (i = 0; list != NULL && i < nfiles; i++)
		json_array_append_new(list, json_pack("{s:s,s:s,s:s}", "name",
		    files[i].name, "path", files[i].path, "type",
		    files[i].type));
	m = json_pack("{s:s,s:s,s:o,s:o}", "type", "result", "job", w->id,
	    "result", result, "files", list);
	w->id[0] = '\0';
	return sw_send(w, m);
}

int
sw_error(struct sw *w, const char *message)
{
	json_t	*m;

	m = json_pack("{s:s,s:s,s:s}", "type", "error", "job", w->id, "error",
	    message != NULL ? message : "failed");
	w->id[0] = '\0';
	return sw_send(w, m);
}

int
sw_serve(struct sw *w, const char *device,
    int (*fn)(struct sw *, const struct sw_job *, void *), void *arg)
{
	struct sw_job	 job;
	int		 r;

	if (sw_ready(w, device) == -1)
		return -1;
	while ((r = sw_next(w, &job)) == 1)
		if (fn(w, &job, arg) == -1 && w->id[0] != '\0' &&
		    sw_error(w, "worker failed") == -1)
			return -1;
	return r;
}
