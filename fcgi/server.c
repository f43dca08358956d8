/* server: FastCGI accept loop, responder threads, signals. See server.h. */
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <fcgiapp.h>

#include "server_int.h"
#include "tmpl.h"

/*
 * Listen backlog. nginx opens one connection per request; when thousands
 * of browsers reopen their event streams at once (nginx restarted), a
 * short backlog on a unix socket fails the excess at once with EAGAIN
 * (nginx answers 502) instead of queueing them. The kernel caps it at
 * net.core.somaxconn.
 */
#define SERVER_BACKLOG		65535

void
server_block_signals(void)
{
	sigset_t set;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
}

/*
 * Creates the directory holding socket path (one level, mode 0750) when
 * it is missing; 0, or -1 with errno set.
 */
static int
make_socket_dir(const char *path)
{
	char		 dir[256];
	const char	*slash = strrchr(path, '/');
	size_t		 n;

	if (slash == NULL || slash == path)
		return 0;
	if ((n = (size_t)(slash - path)) >= sizeof(dir)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(dir, path, n);
	dir[n] = '\0';
	if (mkdir(dir, 0750) == 0)	/* nginx's group must reach the socket */
		return chmod(dir, 0750);
	return errno == EEXIST ? 0 : -1;
}

/* Opens listen ("unix:PATH" or "HOST:PORT"), or returns fd 0 if it is a socket. */
static int
open_listener(const char *listen, char *err, size_t errlen)
{
	struct stat	 st;
	const char	*path;
	mode_t		 old;
	int		 fd;

	if (fstat(0, &st) == 0 && S_ISSOCK(st.st_mode)) {
		fprintf(stderr, "level=info msg=\"listening on fd 0\"\n");
		return 0;
	}
	if (strncmp(listen, "unix:", 5) == 0) {
		path = listen + 5;
		/* The default /run/sluice may not exist yet (no tmpfiles.d). */
		if (make_socket_dir(path) == -1) {
			snprintf(err, errlen, "cannot create the directory of "
			    "%s: %s", path, strerror(errno));
			return -1;
		}
		/* Remove a stale socket of a previous run, nothing else. */
		if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode))
			unlink(path);
		old = umask(0117);	/* socket mode 0660 */
		fd = FCGX_OpenSocket(path, SERVER_BACKLOG);
		umask(old);
	} else
		fd = FCGX_OpenSocket(listen, SERVER_BACKLOG);
	if (fd < 0) {
		snprintf(err, errlen, "cannot listen on %s: %s", listen,
		    strerror(errno));
		return -1;
	}
	fprintf(stderr, "level=info msg=\"listening\" listen=%s\n", listen);
	return fd;
}

/* err with quotes and backslashes escaped, for a key="value" log field. */
static void
log_quoted(char *out, size_t outlen, const char *err)
{
	size_t	 n = 0;

	for (; *err != '\0' && n + 3 < outlen; err++) {
		if (*err == '"' || *err == '\\')
			out[n++] = '\\';
		out[n++] = (unsigned char)*err < 0x20 ? ' ' : *err;
	}
	out[n] = '\0';
}

static int
str_differs(const char *a, const char *b)
{
	return strcmp(a != NULL ? a : "", b != NULL ? b : "") != 0;
}

/*
 * The keys of conf that differ from old and need a restart, as
 * " server.KEY=changed" each, into out ("" when none).
 */
static void
restart_changes(const struct server_opts *o, const struct conf *old,
    const struct conf *conf, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s%s%s", o->listen == NULL &&
	    str_differs(old->listen, conf->listen) ? " server.listen=changed" :
	    "", old->threads != conf->threads ? " server.threads=changed" : "",
	    o->state == NULL && str_differs(old->state, conf->state) ?
	    " server.state=changed" : "");
}

/*
 * SIGHUP: loads the config file and its templates again and switches the
 * scheduler and the app to them; on any error keeps the old ones. The
 * old config is compared before app_reload, which may free it.
 */
static void
server_reload(struct server *s)
{
	const struct server_opts	*o = s->opts;
	struct conf			*conf = NULL;
	struct tmpl_set			*tmpl = NULL;
	char				 err[1024], q[1100], changed[96];

	err[0] = '\0';
	if (o->config == NULL) {
		snprintf(err, sizeof(err), "no config file to read");
		goto refused;
	}
	if ((conf = conf_load(o->config, err, sizeof(err))) == NULL ||
	    (o->node != NULL && conf_set_node(conf, o->node, err,
	    sizeof(err)) == -1))
		goto refused;
	/* Where the jobs live is fixed at start: the journal is open there. */
	if (str_differs(app_conf(s->app)->cluster_database,
	    conf->cluster_database) || str_differs(app_conf(s->app)->
	    cluster_node, conf->cluster_node)) {
		snprintf(err, sizeof(err), "%s: cluster.database and "
		    "cluster.node take a restart to change", o->config);
		goto refused;
	}
	if ((tmpl = tmpl_load_dir(o->templates != NULL ? o->templates :
	    conf->templates, err, sizeof(err))) == NULL)
		goto refused;
	if (sched_reconfigure(s->sched, conf, err, sizeof(err)) == -1)
		goto refused;
	if (o->reconfigure != NULL &&
	    o->reconfigure(o->reconfigure_arg, conf) == -1)
		fprintf(stderr, "level=error msg=\"reload: the workers could "
		    "not take the new config\"\n");
	restart_changes(o, app_conf(s->app), conf, changed, sizeof(changed));
	if (app_reload(s->app, conf, tmpl) == -1) {
		/* The scheduler runs on conf now: it must stay alive. */
		fprintf(stderr, "level=error msg=\"reload: out of memory; "
		    "templates not switched\"\n");
		tmpl_free(tmpl);
		return;
	}
	if (changed[0] != '\0')
		fprintf(stderr, "level=warn msg=\"reload: changes that need a "
		    "restart are not applied\"%s\n", changed);
	fprintf(stderr, "level=info msg=\"reloaded\" config=%s locks=%zu "
	    "tasks=%zu\n", o->config, conf->nlocks, conf->ntasks);
	return;
refused:
	log_quoted(q, sizeof(q), err);
	fprintf(stderr, "level=error msg=\"reload refused\" error=\"%s\"\n",
	    q);
	app_count_reload_error(s->app);
	tmpl_free(tmpl);
	conf_free(conf);
}

/*
 * Signals reach the signal thread through a pipe written by a handler.
 * sigwait() alone is not enough: libraries start threads of their own
 * before main() can block anything (OpenBLAS does, in a constructor), a
 * process-directed signal may land on one of them, and libfcgi's own
 * SIGTERM handler would then swallow it. The handler is the one piece of
 * global state here, and it only writes a byte.
 */
static int	sig_pipe[2] = { -1, -1 };

static void
on_signal(int sig)
{
	int		 saved = errno;
	unsigned char	 b = (unsigned char)sig;

	(void)write(sig_pipe[1], &b, 1);
	errno = saved;
}

/* Installs the handlers (after FCGX_Init, which sets its own); 0 or -1. */
static int
install_signals(void)
{
	struct sigaction	 sa;
	int			 sigs[] = { SIGTERM, SIGINT, SIGHUP };
	size_t			 i;

	if (sig_pipe[0] == -1 && pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return -1;
	return 0;
}

/* Seconds between result evictions (results.ttl, results.max_bytes). */
#define SERVER_MAINTAIN_S	30

/* Waits for SIGTERM/SIGINT; reloads on SIGHUP; evicts old results. */
static void
wait_for_stop(struct server *s)
{
	struct pollfd	 pfd;
	sigset_t	 set;
	unsigned char	 sig;
	int		 n;

	/* This thread takes the signals; responder threads keep them blocked. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_UNBLOCK, &set, NULL);
	pfd.fd = sig_pipe[0];
	pfd.events = POLLIN;
	for (;;) {
		/* The thread is idle otherwise: it also evicts results. */
		if ((n = poll(&pfd, 1, SERVER_MAINTAIN_S * 1000)) == 0) {
			app_maintain(s->app);
			continue;
		}
		if (n == -1 || read(sig_pipe[0], &sig, 1) != 1)
			continue;
		if (sig == SIGHUP) {
			fprintf(stderr, "level=info msg=\"SIGHUP: reloading\"\n");
			server_reload(s);
			continue;
		}
		fprintf(stderr, "level=info msg=\"stopping\" signal=%s\n",
		    sig == SIGTERM ? "TERM" : "INT");
		pthread_sigmask(SIG_BLOCK, &set, NULL);
		return;
	}
}

/* Adds fd to the epoll set, level-triggered, named by its slot in s. */
static int
watch(struct server *s, int *slot)
{
	struct epoll_event	 ev;

	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = slot;
	return epoll_ctl(s->epfd, EPOLL_CTL_ADD, *slot, &ev);
}

/*
 * Sets up the epoll set: the listening socket (non-blocking: a
 * responder thread never waits in accept), the stop and wake eventfds, and the
 * table of connections. Returns 0, or -1 with err set.
 */
static int
server_setup(struct server *s, char *err, size_t errlen)
{
	struct sockaddr_storage	 ss;
	struct rlimit		 rl;
	socklen_t		 sslen = sizeof(ss);
	int			 fl;

	if (getsockname(s->listen_fd, (struct sockaddr *)&ss, &sslen) == 0)
		s->listen_tcp = ss.ss_family == AF_INET ||
		    ss.ss_family == AF_INET6;
	if ((fl = fcntl(s->listen_fd, F_GETFL)) == -1 ||
	    fcntl(s->listen_fd, F_SETFL, fl | O_NONBLOCK) == -1 ||
	    (s->epfd = epoll_create1(EPOLL_CLOEXEC)) == -1 ||
	    (s->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1 ||
	    (s->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) == -1) {
		snprintf(err, errlen, "epoll: %s", strerror(errno));
		return -1;
	}
	if (watch(s, &s->listen_fd) == -1 || watch(s, &s->stop_fd) == -1 ||
	    watch(s, &s->wake_fd) == -1) {
		snprintf(err, errlen, "epoll_ctl: %s", strerror(errno));
		return -1;
	}
	/* Connections: up to half the descriptors, at most 4096. */
	s->nfds = 1024;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		s->nfds = rl.rlim_cur > 65536 ? 65536 : (int)rl.rlim_cur;
	s->conns_max = s->nfds / 2 > 4096 ? 4096 : s->nfds / 2;
	if ((s->conns = calloc((size_t)s->nfds, sizeof(*s->conns))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* Starts the responder threads; the count started. */
static int
start_threads(struct server *s, pthread_t *threads, int n, char *err,
    size_t errlen)
{
	int	 i;

	for (i = 0; i < n; i++)
		if ((errno = pthread_create(&threads[i], NULL, server_io_main,
		    s)) != 0) {
			snprintf(err, errlen, "pthread_create: %s",
			    strerror(errno));
			break;
		}
	return i;
}

/* Drains the scheduler while the responders keep answering job pages. */
static void
drain(struct server *s)
{
	int	 left;

	app_set_draining(s->app, 1);
	left = sched_drain(s->sched,
	    (int64_t)app_conf(s->app)->drain_timeout * 1000);
	if (left > 0)
		fprintf(stderr, "level=warn msg=\"drain timeout: jobs left in "
		    "the journal\" jobs=%d\n", left);
}

int
server_run(struct app *app, struct sched *sched, const struct conf *conf,
    const struct server_opts *opts, char *err, size_t errlen)
{
	struct server	 s;
	pthread_t	*threads = NULL;
	const char	*listen = opts->listen != NULL ? opts->listen :
			    conf->listen;
	uint64_t	 one = 1;
	int		 i, started = 0, rc = -1;

	memset(&s, 0, sizeof(s));
	s.app = app;
	s.sched = sched;
	s.opts = opts;
	s.quiet = opts->quiet;
	s.threads = conf->threads;
	s.listen_fd = s.epfd = s.stop_fd = s.wake_fd = -1;
	atomic_init(&s.stopping, 0);
	atomic_init(&s.pending, 0);
	atomic_init(&s.nparked, 0);
	atomic_init(&s.nconns, 0);
	atomic_init(&s.nreading, 0);
	atomic_init(&s.accept_fails, 0);
	pthread_mutex_init(&s.iolock, NULL);
	TAILQ_INIT(&s.reading);
	TAILQ_INIT(&s.parked);
	if (FCGX_Init() != 0) {
		snprintf(err, errlen, "FCGX_Init failed");
		goto out;
	}
	if (install_signals() == -1) {
		snprintf(err, errlen, "signal handlers: %s", strerror(errno));
		goto out;
	}
	/*
	 * What expired while the responder was down goes before the first
	 * request: no page shows a job the next pass removes.
	 */
	app_maintain(app);
	s.listen_fd = open_listener(listen, err, errlen);
	if (s.listen_fd < 0 || server_setup(&s, err, errlen) == -1)
		goto out;
	if ((threads = calloc((size_t)conf->threads, sizeof(*threads))) ==
	    NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	started = start_threads(&s, threads, conf->threads, err, errlen);
	if (started == conf->threads) {
		fprintf(stderr, "level=info msg=\"serving\" threads=%d\n",
		    conf->threads);
		app_set_responders(app, conf->threads);
		wait_for_stop(&s);
		drain(&s);
		rc = 0;
	}
	/*
	 * Every responder finishes the request in hand, wakes on the
	 * eventfd (level-triggered: all see it) and leaves; the connections left are
	 * closed then. An inherited socket (systemd, spawn-fcgi) is only
	 * closed, never shut down: it belongs to our parent too, for the
	 * next start.
	 */
	atomic_store(&s.stopping, 1);
	if (write(s.stop_fd, &one, sizeof(one)) != sizeof(one))
		fprintf(stderr, "level=error msg=\"stop: eventfd write "
		    "failed\"\n");
	for (i = 0; i < started; i++)
		pthread_join(threads[i], NULL);
	if (s.conns != NULL)
		server_close_all(&s);
	if (strncmp(listen, "unix:", 5) == 0 && s.listen_fd > 0)
		unlink(listen + 5);
out:
	if (s.listen_fd >= 0)
		close(s.listen_fd);
	if (s.epfd >= 0)
		close(s.epfd);
	if (s.stop_fd >= 0)
		close(s.stop_fd);
	if (s.wake_fd >= 0)
		close(s.wake_fd);
	pthread_mutex_destroy(&s.iolock);
	free(s.conns);
	free(threads);
	return rc;
}
