/* nchan: a client of nchan's publisher location. See nchan.h. */
#include "config.h"

#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "nchan.h"

#define NCHAN_RESP_MAX	16384	/* bytes of one response, head and body */

struct nchan {
	char	*addr;		/* as given */
	int	 fd;		/* -1: not connected */
	char	 buf[NCHAN_RESP_MAX];
	size_t	 len;		/* bytes of buf read, not yet parsed */
};

struct nchan *
nchan_new(const char *addr)
{
	struct nchan	*n;

	if (addr == NULL || (strncmp(addr, "unix:/", 6) != 0 &&
	    strrchr(addr, ':') == NULL))
		return NULL;
	if ((n = calloc(1, sizeof(*n))) == NULL)
		return NULL;
	if ((n->addr = strdup(addr)) == NULL) {
		free(n);
		return NULL;
	}
	n->fd = -1;
	return n;
}

static void
nchan_drop(struct nchan *n)
{
	if (n->fd != -1)
		close(n->fd);
	n->fd = -1;
	n->len = 0;
}

void
nchan_free(struct nchan *n)
{
	if (n == NULL)
		return;
	nchan_drop(n);
	free(n->addr);
	free(n);
}

/* Send and receive timeouts of NCHAN_TIMEOUT_MS on fd. */
static void
set_timeouts(int fd)
{
	struct timeval	 tv;

	tv.tv_sec = NCHAN_TIMEOUT_MS / 1000;
	tv.tv_usec = (NCHAN_TIMEOUT_MS % 1000) * 1000;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
}

static int
connect_unix(const char *path)
{
	struct sockaddr_un	 sun;
	int			 fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sun.sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(sun.sun_path, path, strlen(path) + 1);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) == -1)
		return -1;
	set_timeouts(fd);
	if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		close(fd);
		return -1;
	}
	return fd;
}

/* HOST:PORT (HOST may be [v6]). */
static int
connect_tcp(const char *addr)
{
	struct addrinfo	 hints, *res = NULL, *ai;
	char		 host[256];
	const char	*colon = strrchr(addr, ':');
	size_t		 hl = (size_t)(colon - addr);
	int		 fd = -1, one = 1;

	if (addr[0] == '[' && hl >= 2 && addr[hl - 1] == ']') {
		addr++;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host)) {
		errno = EINVAL;
		return -1;
	}
	memcpy(host, addr, hl);
	host[hl] = '\0';
	memset(&hints, 0, sizeof(hints));
	hints.ai_socktype = SOCK_STREAM;
	if (getaddrinfo(host, colon + 1, &hints, &res) != 0) {
		errno = EHOSTUNREACH;
		return -1;
	}
	for (ai = res; ai != NULL && fd == -1; ai = ai->ai_next) {
		if ((fd = socket(ai->ai_family, ai->ai_socktype | SOCK_CLOEXEC,
		    ai->ai_protocol)) == -1)
			continue;
		set_timeouts(fd);
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (connect(fd, ai->ai_addr, ai->ai_addrlen) == -1) {
			close(fd);
			fd = -1;
		}
	}
	freeaddrinfo(res);
	return fd;
}

/* Connects when not connected; 0, or -1 with err. */
static int
nchan_connect(struct nchan *n, char *err, size_t errlen)
{
	if (n->fd != -1)
		return 0;
	n->len = 0;
	n->fd = strncmp(n->addr, "unix:", 5) == 0 ? connect_unix(n->addr + 5) :
	    connect_tcp(n->addr);
	if (n->fd == -1) {
		snprintf(err, errlen, "%s: %s", n->addr, strerror(errno));
		return -1;
	}
	return 0;
}

/* Writes all of p; 0 or -1. */
static int
write_all(int fd, const char *p, size_t len)
{
	ssize_t	 w;

	while (len > 0) {
		w = send(fd, p, len, MSG_NOSIGNAL);
		if (w == -1 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/*
 * The length of the header block at buf (through the empty line), or 0
 * when it is not complete yet.
 */
static size_t
head_length(const char *buf, size_t len)
{
	size_t	 i;

	for (i = 3; i < len; i++)
		if (buf[i] == '\n' && buf[i - 1] == '\r' && buf[i - 2] == '\n' &&
		    buf[i - 3] == '\r')
			return i + 1;
	return 0;
}

/* Content-Length of the header block head[0..hl), or -1 when absent/bad. */
static long
content_length(const char *head, size_t hl)
{
	static const char	 name[] = "\r\ncontent-length:";
	const char		*p = head, *end = head + hl;
	char			*e;
	long			 v;

	for (; p + sizeof(name) - 1 < end; p++) {
		if (strncasecmp(p, name, sizeof(name) - 1) != 0)
			continue;
		p += sizeof(name) - 1;
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		errno = 0;
		v = strtol(p, &e, 10);
		if (e == p || errno != 0 || v < 0 || v > NCHAN_RESP_MAX)
			return -1;
		return v;
	}
	return -1;
}

int
nchan_parse_response(const char *buf, size_t len, int *status, size_t *used)
{
	size_t	 hl;
	long	 cl;
	int	 st;

	if (len >= 8 && strncmp(buf, "HTTP/1.", 7) != 0)
		return -1;
	if ((hl = head_length(buf, len)) == 0)
		return len >= NCHAN_RESP_MAX ? -1 : 0;
	if (hl < 12 || buf[8] != ' ' || buf[9] < '1' || buf[9] > '5' ||
	    buf[10] < '0' || buf[10] > '9' || buf[11] < '0' || buf[11] > '9')
		return -1;
	st = (buf[9] - '0') * 100 + (buf[10] - '0') * 10 + (buf[11] - '0');
	/* nchan always says how long its body is; chunked is not ours. */
	if ((cl = content_length(buf, hl)) < 0)
		return st == 204 || st == 304 ? (*status = st, *used = hl, 1) :
		    -1;
	if ((size_t)cl > NCHAN_RESP_MAX - hl)
		return -1;
	if (len < hl + (size_t)cl)
		return 0;
	*status = st;
	*used = hl + (size_t)cl;
	return 1;
}

/*
 * Reads one response; its status, or -1 with err (connection dropped).
 * Its body, cut to bodylen - 1 bytes, into body unless NULL.
 */
static int
read_response(struct nchan *n, char *body, size_t bodylen, char *err,
    size_t errlen)
{
	ssize_t	 r;
	size_t	 used, hl, k;
	int	 st, rc;

	for (;;) {
		if ((rc = nchan_parse_response(n->buf, n->len, &st, &used)) ==
		    1)
			break;
		if (rc == -1) {
			snprintf(err, errlen, "%s: not an HTTP answer", n->addr);
			goto fail;
		}
		r = recv(n->fd, n->buf + n->len, sizeof(n->buf) - n->len, 0);
		if (r == -1 && errno == EINTR)
			continue;
		if (r <= 0) {
			snprintf(err, errlen, "%s: %s", n->addr, r == 0 ?
			    "connection closed" : strerror(errno));
			goto fail;
		}
		n->len += (size_t)r;
	}
	if (body != NULL && bodylen > 0) {
		hl = head_length(n->buf, used);
		k = used - hl < bodylen - 1 ? used - hl : bodylen - 1;
		memcpy(body, n->buf + hl, k);
		body[k] = '\0';
	}
	memmove(n->buf, n->buf + used, n->len - used);
	n->len -= used;
	return st;
fail:
	nchan_drop(n);
	return -1;
}

/*
 * One request: method on /pub/channel with headers extra and body; the
 * answer's body into out (outlen, as read_response) unless NULL.
 * Reconnects once when a kept connection turns out closed.
 */
static int
request(struct nchan *n, const char *method, const char *channel,
    const char *extra, const char *body, size_t len, char *out, size_t outlen,
    char *err, size_t errlen)
{
	char	 head[512];
	int	 tries, st = -1, hn;

	hn = snprintf(head, sizeof(head), "%s /pub/%s HTTP/1.1\r\nHost: "
	    "sluice\r\n%sContent-Length: %zu\r\n\r\n", method, channel, extra,
	    len);
	if (hn < 0 || (size_t)hn >= sizeof(head)) {
		snprintf(err, errlen, "channel name too long");
		return -1;
	}
	for (tries = 0; tries < 2 && st == -1; tries++) {
		if (nchan_connect(n, err, errlen) == -1)
			return -1;
		if (write_all(n->fd, head, (size_t)hn) == -1 ||
		    (len > 0 && write_all(n->fd, body, len) == -1)) {
			snprintf(err, errlen, "%s: %s", n->addr,
			    strerror(errno));
			nchan_drop(n);
			continue;
		}
		st = read_response(n, out, outlen, err, errlen);
	}
	return st;
}

int
nchan_publish(struct nchan *n, const char *channel, const char *event,
    const char *data, size_t len, char *err, size_t errlen)
{
	char	 extra[128];

	snprintf(extra, sizeof(extra), "Content-Type: application/json\r\n"
	    "X-EventSource-Event: %s\r\n", event);
	return request(n, "POST", channel, extra, data, len, NULL, 0, err,
	    errlen);
}

int
nchan_delete(struct nchan *n, const char *channel, char *err, size_t errlen)
{
	return request(n, "DELETE", channel, "", NULL, 0, NULL, 0, err,
	    errlen);
}

int
nchan_queued(struct nchan *n, const char *channel, char *err, size_t errlen)
{
	static const char key[] = "queued messages: ";
	char		 info[512];
	const char	*p;
	int		 st;

	if ((st = request(n, "GET", channel, "Accept: text/plain\r\n", NULL,
	    0, info, sizeof(info), err, errlen)) == -1)
		return -1;
	if (st == 404)
		return 0;	/* no such channel: nothing held */
	if (st != 200 || (p = strstr(info, key)) == NULL) {
		snprintf(err, errlen, "%s: channel info: answered %d", n->addr,
		    st);
		return -1;
	}
	return atoi(p + sizeof(key) - 1);
}
