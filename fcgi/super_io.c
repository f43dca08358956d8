/*
 * super_io: what the supervisor's thread reads from a worker (protocol
 * lines on fd 3, output lines on stdout and stderr, its exit on the
 * pidfd) and what it writes to it (job, cancel). All functions run on
 * that thread under super.mu.
 */
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "super_int.h"

#define SUPER_SOCK_EOF_MS	500	/* fd 3 closed, process alive: killed */

void
lbuf_free(struct lbuf *lb)
{
	free(lb->data);
	memset(lb, 0, sizeof(*lb));
}

/* Room for n more bytes (the buffer never holds more than max + 1 line). */
static int
lbuf_room(struct lbuf *lb, size_t n)
{
	char	*grown;
	size_t	 cap = lb->cap > 0 ? lb->cap : 4096;

	while (cap - lb->len < n)
		cap *= 2;
	if (cap == lb->cap)
		return 0;
	if ((grown = realloc(lb->data, cap)) == NULL)
		return -1;
	lb->data = grown;
	lb->cap = cap;
	return 0;
}

/* ---------------------------------------------------------------------- */
/* Writing */

/* Writes all of data to w's socket, waiting at most SUPER_WRITE_MS. */
static int
sock_write(struct wproc *w, const char *data, size_t len)
{
	struct pollfd	 pfd;
	ssize_t		 n;
	size_t		 off = 0;

	pfd.fd = w->fds[WFD_SOCK].fd;
	pfd.events = POLLOUT;
	while (off < len) {
		n = send(pfd.fd, data + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno != EAGAIN)
			return -1;
		if (poll(&pfd, 1, SUPER_WRITE_MS) <= 0)
			return -1;
	}
	return 0;
}

/* Sends message m (taken) as a line. 0, or -1 (w broke off: killed). */
static int
send_msg(struct wproc *w, json_t *m)
{
	char	*text = m != NULL ? json_dumps(m, JSON_COMPACT) : NULL;
	size_t	 len;
	int	 rc = -1;

	json_decref(m);
	if (text == NULL) {
		wproc_violation(w, "the job could not be encoded");
		return -1;
	}
	len = strlen(text);
	text[len++] = '\n';	/* over the NUL: it is written by length */
	if (w->fds[WFD_SOCK].fd == -1 || sock_write(w, text, len) == -1)
		wproc_violation(w, "the worker does not read its socket");
	else
		rc = 0;
	free(text);
	return rc;
}

/* A JSON value from text (an object), or an empty object. */
static json_t *
object_of(const char *text)
{
	json_t	*v = text != NULL ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_object(v)) {
		json_decref(v);
		v = json_object();
	}
	return v;
}

int
wproc_send_job(struct wproc *w)
{
	const struct super_job	*job = w->call->job;
	json_t			*m;

	m = json_pack("{s:s,s:s,s:o,s:o,s:s}", "type", "job", "job", job->id,
	    "params", object_of(job->params), "inputs",
	    object_of(job->inputs), "out", job->out != NULL ? job->out : "");
	w->sent = 1;
	w->state = W_BUSY;
	w->deadline = w->timeout > 0 ? super_now_ns() +
	    (int64_t)w->timeout * 1000000000 : 0;
	return send_msg(w, m);
}

int
wproc_send_cancel(struct wproc *w)
{
	return send_msg(w, json_pack("{s:s,s:s}", "type", "cancel", "job",
	    w->call->job->id));
}

/* ---------------------------------------------------------------------- */
/* Reading */

/* w broke the protocol (why): its job fails, it is killed and restarted. */
void
wproc_violation(struct wproc *w, const char *why)
{
	char	 msg[300];

	snprintf(msg, sizeof(msg), "worker broke the protocol: %s", why);
	super_logf(w->sv, "level=warn msg=\"worker broke the protocol\" "
	    "task=%s slot=%d pid=%d error=\"%s\"", w->task, w->slot,
	    (int)w->pid, why);
	if (w->state == W_STARTING)
		wproc_start_failed(w, msg);
	else if (w->call != NULL && w->sent)
		super_call_end(w, JOB_FAILED, msg);
	wproc_kill(w, SIGKILL);
	wproc_unready(w);
	if (w->pid != 0) {
		w->state = W_STOPPING;
		w->kill_at = 0;
	}
}

static void
msg_ready(struct wproc *w, const struct wmsg *m)
{
	if (w->state != W_STARTING) {
		wproc_violation(w, "ready twice");
		return;
	}
	if (m->device[0] != '\0')
		snprintf(w->devname, sizeof(w->devname), "%s", m->device);
	w->state = W_READY;
	w->was_ready = w->said_ready = 1;
	super_logf(w->sv, "level=info msg=\"worker ready\" task=%s slot=%d "
	    "pid=%d device=%s", w->task, w->slot, (int)w->pid, w->devname);
	super_event(w->sv, SEV_READY, w, NULL, 0, NULL);
	if (w->fails > 0)
		super_event(w->sv, SEV_RECOVERED, w, NULL, 0, NULL);
	w->fails = 0;
	w->why[0] = '\0';
}

/* 1 when m is about the job w runs now. */
static int
msg_current(const struct wproc *w, const struct wmsg *m)
{
	return w->state == W_BUSY && w->call != NULL && w->sent &&
	    strcmp(w->call->job->id, m->job) == 0;
}

/* The job ended with m (result or error). */
static void
msg_end(struct wproc *w, struct wmsg *m)
{
	struct super_outcome	*out = w->call->out;

	if (m->type == WMSG_RESULT) {
		out->result = m->result;
		out->files = m->files;
		out->nfiles = m->nfiles;
		m->result = NULL;
		m->files = NULL;
		m->nfiles = 0;
		super_call_end(w, JOB_DONE, NULL);
	} else if (w->cancel && strcmp(m->error, "cancelled") == 0)
		super_call_end(w, JOB_CANCELLED, "cancelled");
	else
		super_call_end(w, JOB_FAILED, m->error);
	w->state = W_READY;
}

static void
sock_line(struct wproc *w, const char *line, size_t len)
{
	struct wmsg	 m;
	char		 why[200];

	if (wmsg_parse(line, len, &m, why, sizeof(why)) == -1) {
		wproc_violation(w, why);
		return;
	}
	if (m.type == WMSG_READY)
		msg_ready(w, &m);
	else if (!msg_current(w, &m)) {
		snprintf(why, sizeof(why), "%s for a job it does not run",
		    wmsg_type_name(m.type));
		wproc_violation(w, why);
	} else if (m.type == WMSG_PROGRESS)
		super_event(w->sv, SEV_PROGRESS, w, m.job, m.fraction,
		    m.message);
	else
		msg_end(w, &m);
	wmsg_free(&m);
}

static void
out_line(struct wproc *w, enum wfd_kind kind, const char *line, size_t len)
{
	char	 q[SUPER_LOG_LINE_MAX + 64];

	if (len > 0 && line[len - 1] == '\r')
		len--;
	super_quote(line, len, q, sizeof(q));
	if (kind == WFD_ERR)
		snprintf(w->last_err, sizeof(w->last_err), "%.*s",
		    (int)sizeof(w->last_err) - 1, q);
	super_logf(w->sv, "level=info msg=\"worker output\" task=%s slot=%d "
	    "job=%s stream=%s line=\"%s\"", w->task, w->slot,
	    w->call != NULL && w->sent ? w->call->job->id : "-",
	    kind == WFD_ERR ? "stderr" : "stdout", q);
}

/* Hands every whole line of f's buffer on; 0, or -1 when w was killed. */
static int
lines(struct wfd *f)
{
	struct lbuf	*lb = &f->lb;
	char		*nl;
	size_t		 n, off = 0;

	while (off < lb->len && (nl = memchr(lb->data + off, '\n',
	    lb->len - off)) != NULL) {
		n = (size_t)(nl - (lb->data + off));
		if (f->kind == WFD_SOCK)
			sock_line(f->w, lb->data + off, n);
		else
			out_line(f->w, f->kind, lb->data + off, n);
		off += n + 1;
		if (f->w->state == W_STOPPING)
			return -1;	/* the line got it killed */
	}
	if (f->w->state == W_STOPPING && f->kind == WFD_SOCK) {
		lb->len = 0;	/* nothing more it says counts */
		return -1;
	}
	memmove(lb->data, lb->data + off, lb->len - off);
	lb->len -= off;
	if (lb->len <= lb->max)
		return 0;
	if (f->kind == WFD_SOCK) {
		wproc_violation(f->w, "a line longer than 1 MiB");
		return -1;
	}
	out_line(f->w, f->kind, lb->data, lb->max);	/* cut: log it */
	lb->len = 0;
	return 0;
}

/* Closes one of w's fds (EOF). */
static void
fd_close(struct wfd *f)
{
	(void)epoll_ctl(f->w->sv->epfd, EPOLL_CTL_DEL, f->fd, NULL);
	close(f->fd);
	f->fd = -1;
}

/* Reads what f has; at EOF flushes the last line and closes it. */
static void
drain(struct wfd *f)
{
	ssize_t	 n;

	while (f->fd != -1) {
		if (lbuf_room(&f->lb, 65536) == -1)
			return;
		n = read(f->fd, f->lb.data + f->lb.len, f->lb.cap - f->lb.len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1)
			return;	/* EAGAIN: all read */
		if (n == 0) {
			if (f->lb.len > 0 && f->kind != WFD_SOCK)
				out_line(f->w, f->kind, f->lb.data,
				    f->lb.len);
			f->lb.len = 0;
			fd_close(f);
			if (f->kind == WFD_SOCK)
				f->w->sock_eof_at = super_now_ns() +
				    SUPER_SOCK_EOF_MS * 1000000LL;
			return;
		}
		f->lb.len += (size_t)n;
		if (lines(f) == -1)
			return;
	}
}

/* The process exited: what it wrote first, then its status. */
static void
exited(struct wproc *w)
{
	int	 st;
	pid_t	 r;

	drain(&w->fds[WFD_SOCK]);
	drain(&w->fds[WFD_OUT]);
	drain(&w->fds[WFD_ERR]);
	if (w->pid == 0)
		return;
	do
		r = waitpid(w->pid, &st, WNOHANG);
	while (r == -1 && errno == EINTR);
	if (r == w->pid)
		wproc_reaped(w, st);
	else if (r == -1) {
		st = 0;
		wproc_reaped(w, st);	/* not our child any more */
	}
}

void
wproc_readable(struct wfd *f)
{
	if (f->fd == -1)
		return;
	if (f->kind == WFD_PID)
		exited(f->w);
	else
		drain(f);
}
