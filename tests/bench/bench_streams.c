/*
 * bench_streams: hold N event streams open on one URL, a small epoll
 * client (make bench: "10,000 watchers at no thread cost").
 *
 * usage: bench_streams PORT PATH COOKIE N SECONDS
 *
 * Opens N connections to 127.0.0.1:PORT, at most STREAM_WINDOW of them
 * between connect and response head at a time (browsers do not all
 * connect in the same millisecond), sends "GET PATH" with COOKIE on each,
 * and keeps them open. Once every connection has its response headers
 * (or failed, or a minute has passed), prints one line
 *     open N ok M failed F in T ms
 * and keeps reading (counting SSE "event:" lines) until every open stream
 * has been ended by the server, for at most SECONDS, or until SIGTERM or
 * SIGINT; then prints
 *     events E ended M first_end_ms F last_end_ms L final_first_ms G final_last_ms H
 * (F, L: the wall clock, in ms, when the first and the last stream
 * ended; G, H: when the first and the last of those streams read its
 * last event, the final one; 0 if none did)
 * and exits 0. A connection answered anything but 200 text/event-stream
 * counts as failed; the first such answer's status line goes to stderr.
 * Exits 1 on a setup error.
 */
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>

#include <netinet/in.h>
#include <arpa/inet.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STREAM_HEAD_MAX	2048
#define STREAM_WINDOW	256

enum stream_state { S_CONNECTING, S_HEAD, S_OPEN, S_DEAD };

struct stream {
	int		 fd;
	enum stream_state state;
	size_t		 headlen;
	char		 head[STREAM_HEAD_MAX];
	char		 tail[8];	/* last bytes, for "event:" across reads */
	long		 event_ms;	/* wall clock of the last event read */
};

static char	 request[1024];
static size_t	 requestlen;
static long	 nok, nfailed, nevents, nended, npending;
static long	 first_end_ms, last_end_ms, final_first_ms, final_last_ms;
static volatile sig_atomic_t stop;

static void
on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static long
now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static long
wall_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

/* The stream is over: failed before its head, or ended by the server. */
static void
stream_end(struct stream *s)
{
	if (s->state == S_CONNECTING || s->state == S_HEAD) {
		nfailed++;
		npending--;
	} else if (s->state == S_OPEN) {
		if (nended++ == 0)
			first_end_ms = wall_ms();
		last_end_ms = wall_ms();
		if (s->event_ms > 0 && (final_first_ms == 0 ||
		    s->event_ms < final_first_ms))
			final_first_ms = s->event_ms;
		if (s->event_ms > final_last_ms)
			final_last_ms = s->event_ms;
	}
	s->state = S_DEAD;
	close(s->fd);
}

/* A response that is not a stream: counted, and the first one shown. */
static void
stream_refused(struct stream *s)
{
	static int	 shown;

	if (!shown++)
		fprintf(stderr, "bench_streams: refused: %.*s\n",
		    (int)strcspn(s->head, "\r\n"), s->head);
	stream_end(s);
}

/* Counts "\nevent:" in data, with the previous read's tail in front. */
static void
count_events(struct stream *s, const char *data, size_t len)
{
	char	 buf[8 + 4096];
	size_t	 tl = strlen(s->tail), n = tl + len, i;

	memcpy(buf, s->tail, tl);
	memcpy(buf + tl, data, len);
	for (i = 0; i + 7 <= n; i++)
		if (memcmp(buf + i, "\nevent:", 7) == 0) {
			nevents++;
			s->event_ms = wall_ms();
		}
	i = n < 6 ? n : 6;
	memcpy(s->tail, buf + n - i, i);
	s->tail[i] = '\0';
}

/* The response head so far: decided once it is complete. */
static void
stream_head(struct stream *s, const char *data, size_t len)
{
	size_t	 room = sizeof(s->head) - 1 - s->headlen;
	char	*end;

	if (len > room)
		len = room;
	memcpy(s->head + s->headlen, data, len);
	s->headlen += len;
	s->head[s->headlen] = '\0';
	if ((end = strstr(s->head, "\r\n\r\n")) == NULL) {
		if (s->headlen == sizeof(s->head) - 1)
			stream_refused(s);
		return;
	}
	if (strncmp(s->head, "HTTP/1.1 200", 12) != 0 ||
	    strcasestr(s->head, "text/event-stream") == NULL) {
		stream_refused(s);
		return;
	}
	s->state = S_OPEN;
	nok++;
	npending--;
	count_events(s, end + 2, s->headlen - (size_t)(end + 2 - s->head));
}

static void
stream_event(struct stream *s, uint32_t ev)
{
	char	 buf[4096];
	ssize_t	 n;

	if (s->state == S_CONNECTING) {
		if (ev & (EPOLLERR | EPOLLHUP) || write(s->fd, request,
		    requestlen) != (ssize_t)requestlen) {
			stream_end(s);
			return;
		}
		s->state = S_HEAD;
		return;
	}
	while ((n = read(s->fd, buf, sizeof(buf))) > 0) {
		if (s->state == S_HEAD)
			stream_head(s, buf, (size_t)n);
		else
			count_events(s, buf, (size_t)n);
		if (s->state == S_DEAD)
			return;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR))
		stream_end(s);
}

static int
stream_open(struct stream *s, int ep, const struct sockaddr_in *sa)
{
	struct epoll_event	 ev;

	memset(s, 0, sizeof(*s));
	if ((s->fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0)) == -1)
		return -1;
	if (connect(s->fd, (const struct sockaddr *)sa, sizeof(*sa)) == -1 &&
	    errno != EINPROGRESS) {
		close(s->fd);
		return -1;
	}
	s->state = S_CONNECTING;
	npending++;
	ev.events = EPOLLIN | EPOLLOUT | EPOLLET;
	ev.data.ptr = s;
	return epoll_ctl(ep, EPOLL_CTL_ADD, s->fd, &ev);
}

int
main(int argc, char *argv[])
{
	struct epoll_event	 evs[256];
	struct sockaddr_in	 sa;
	struct rlimit		 rl;
	struct stream		*ss;
	long			 n, i, opened = 0, until = 0, secs, start;
	int			 ep, k, announced = 0;

	if (argc != 6) {
		fprintf(stderr, "usage: bench_streams PORT PATH COOKIE N SECONDS\n");
		return 1;
	}
	n = atol(argv[4]);
	secs = atol(argv[5]);
	rl.rlim_cur = rl.rlim_max = (rlim_t)n + 64;
	if (setrlimit(RLIMIT_NOFILE, &rl) == -1 && (getrlimit(RLIMIT_NOFILE,
	    &rl) == -1 || rl.rlim_cur < (rlim_t)n + 16)) {
		fprintf(stderr, "bench_streams: cannot open %ld files\n", n);
		return 1;
	}
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	requestlen = (size_t)snprintf(request, sizeof(request),
	    "GET %s HTTP/1.1\r\nHost: localhost\r\nCookie: %s\r\n"
	    "Accept: text/event-stream\r\n\r\n", argv[2], argv[3]);
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((unsigned short)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if ((ss = calloc((size_t)n, sizeof(*ss))) == NULL ||
	    (ep = epoll_create1(0)) == -1)
		return 1;
	start = now_ms();
	for (;;) {
		for (; opened < n && npending < STREAM_WINDOW; opened++)
			if (stream_open(&ss[opened], ep, &sa) == -1) {
				perror("bench_streams: connect");
				return 1;
			}
		if (!announced && now_ms() - start > 60000)
			nfailed = n - nok;	/* still pending: failed */
		if (!announced && nok + nfailed >= n) {
			printf("open %ld ok %ld failed %ld in %ld ms\n", n, nok,
			    nfailed, now_ms() - start);
			fflush(stdout);
			announced = 1;
			until = now_ms() + secs * 1000L;
		}
		if (announced && (now_ms() >= until || nended >= nok))
			break;
		if (stop)
			break;
		k = epoll_wait(ep, evs, 256, 100);
		for (i = 0; i < k; i++)
			stream_event(evs[i].data.ptr, evs[i].events);
	}
	printf("events %ld ended %ld first_end_ms %ld last_end_ms %ld "
	    "final_first_ms %ld final_last_ms %ld\n", nevents, nended,
	    first_end_ms, last_end_ms, final_first_ms, final_last_ms);
	return 0;
}
