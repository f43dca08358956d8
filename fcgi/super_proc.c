/*
 * super_proc: one worker process: started with fork and execve from the
 * supervisor's thread (after fork only async-signal-safe calls: the
 * responder is multi-threaded), its own process group, PR_SET_PDEATHSIG
 * tied to that thread (which lives as long as the process), fd 3 the
 * protocol socket, stdout and stderr into pipes the thread logs; its exit
 * seen through a pidfd. All functions run on the supervisor's thread
 * under super.mu.
 */
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "super_int.h"

extern char **environ;

/* What a child needs, prepared before fork (no allocation after it). */
struct spawn {
	char		 path[4096];	/* argv[0] resolved */
	char		 dir[4096];	/* scratch directory */
	char		**envp;
	int		 sock[2], out[2], err[2];
	int		 devnull;
};

static int
fd_nonblock(int fd)
{
	int	 fl = fcntl(fd, F_GETFL);

	return fl == -1 ? -1 : fcntl(fd, F_SETFL, fl | O_NONBLOCK);
}

/* Appends a formatted "NAME=value" to env at *k; -1 on ENOMEM. */
static int
env_add(char **env, size_t *k, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
env_add(char **env, size_t *k, const char *fmt, ...)
{
	va_list	 ap;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&env[*k], fmt, ap);
	va_end(ap);
	if (n == -1) {
		env[*k] = NULL;
		return -1;
	}
	(*k)++;
	return 0;
}

/* 1 for the variables a worker gets from its slot, not from us. */
static int
env_ours(const char *e)
{
	return strncmp(e, "SLUICE_", 7) == 0 ||
	    strncmp(e, "CUDA_VISIBLE_DEVICES=", 21) == 0;
}

/*
 * The environment of w's process: ours less SLUICE_* and
 * CUDA_VISIBLE_DEVICES, plus the slot's (DESIGN.md, worker protocol).
 * The inherited strings are borrowed; spawn_free frees the others.
 */
static char **
worker_env(const struct wproc *w)
{
	char	**env, **e;
	size_t	 n = 0, k = 0;

	for (e = environ; *e != NULL; e++)
		n++;
	if ((env = calloc(n + 7, sizeof(*env))) == NULL)
		return NULL;
	for (e = environ; *e != NULL; e++)
		if (!env_ours(*e))
			env[k++] = *e;
	if (env_add(env, &k, "SLUICE_PROTOCOL=1") == -1 ||
	    env_add(env, &k, "SLUICE_FD=3") == -1 ||
	    env_add(env, &k, "SLUICE_TASK=%s", w->task) == -1 ||
	    env_add(env, &k, "SLUICE_SLOT=%d", w->slot) == -1 ||
	    env_add(env, &k, "SLUICE_DEVICE=%s", w->device >= 0 ?
	    w->devname : "cpu") == -1 ||
	    (w->device >= 0 ? env_add(env, &k, "CUDA_VISIBLE_DEVICES=%d",
	    w->device) : env_add(env, &k, "CUDA_VISIBLE_DEVICES=")) == -1) {
		for (e = env; *e != NULL; e++)
			if (env_ours(*e))
				free(*e);
		free(env);
		return NULL;
	}
	return env;
}

static void
spawn_free(struct spawn *sp)
{
	char	**e;
	int	 i, *fds[] = { sp->sock, sp->out, sp->err };

	if (sp->envp != NULL) {
		for (e = sp->envp; *e != NULL; e++)
			if (env_ours(*e))
				free(*e);
		free(sp->envp);
	}
	for (i = 0; i < 3; i++) {
		if (fds[i][0] != -1)
			close(fds[i][0]);
		if (fds[i][1] != -1)
			close(fds[i][1]);
	}
	if (sp->devnull != -1)
		close(sp->devnull);
}

/* Everything the child needs; 0, or -1 with w->why set. */
static int
spawn_prepare(struct wproc *w, struct spawn *sp)
{
	char	 parent[4096];

	if (conf_program_path(w->argv[0], sp->path, sizeof(sp->path)) == -1) {
		snprintf(w->why, sizeof(w->why), "worker program %s: not "
		    "found or not executable", w->argv[0]);
		return -1;
	}
	snprintf(parent, sizeof(parent), "%s/work", w->sv->state);
	(void)mkdir(parent, 0700);
	if ((size_t)snprintf(sp->dir, sizeof(sp->dir), "%s/%s.%d", parent,
	    w->task, w->slot) >= sizeof(sp->dir)) {
		snprintf(w->why, sizeof(w->why), "state directory path too "
		    "long");
		return -1;
	}
	if ((mkdir(sp->dir, 0700) == -1 && errno != EEXIST) ||
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sp->sock) == -1 ||
	    pipe2(sp->out, O_CLOEXEC) == -1 || pipe2(sp->err, O_CLOEXEC) == -1 ||
	    (sp->devnull = open("/dev/null", O_RDWR | O_CLOEXEC)) == -1 ||
	    (sp->envp = worker_env(w)) == NULL) {
		snprintf(w->why, sizeof(w->why), "starting the worker: %s",
		    strerror(errno != 0 ? errno : ENOMEM));
		return -1;
	}
	return 0;
}

/* In the child: async-signal-safe calls only, then execve. */
static void
spawn_child(const struct wproc *w, const struct spawn *sp, pid_t parent)
{
	static const char msg[] = "sluice: exec of the worker failed\n";
	struct sigaction sa;
	sigset_t	 none;
	int		 sig;

	setpgid(0, 0);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(127);	/* the responder died before prctl */
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = SIG_DFL;
	for (sig = 1; sig < NSIG; sig++)
		(void)sigaction(sig, &sa, NULL);
	if (dup2(sp->devnull, 0) == -1 || dup2(sp->out[1], 1) == -1 ||
	    dup2(sp->err[1], 2) == -1 || dup2(sp->sock[1], 3) == -1 ||
	    chdir(sp->dir) == -1)
		_exit(127);
	execve(sp->path, w->argv, sp->envp);
	(void)!write(2, msg, sizeof(msg) - 1);
	_exit(127);
}

/* Adds w's fd of kind (the parent end, made non-blocking) to epoll. */
static int
watch(struct wproc *w, enum wfd_kind kind, int fd)
{
	struct epoll_event	 ev;

	w->fds[kind].fd = fd;
	memset(&ev, 0, sizeof(ev));
	ev.events = EPOLLIN;
	ev.data.ptr = &w->fds[kind];
	if (kind != WFD_PID && fd_nonblock(fd) == -1)
		return -1;
	return epoll_ctl(w->sv->epfd, EPOLL_CTL_ADD, fd, &ev);
}

int
wproc_spawn(struct wproc *w)
{
	struct spawn	 sp;
	pid_t		 pid, parent = getpid();
	int		 pidfd, rc = -1;

	memset(&sp, 0, sizeof(sp));
	sp.sock[0] = sp.sock[1] = sp.out[0] = sp.out[1] = -1;
	sp.err[0] = sp.err[1] = sp.devnull = -1;
	errno = 0;
	if (spawn_prepare(w, &sp) == -1)
		goto out;
	if ((pid = fork()) == -1) {
		snprintf(w->why, sizeof(w->why), "fork: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		spawn_child(w, &sp, parent);
	(void)setpgid(pid, pid);
	w->pid = pid;
	w->starts++;
	w->was_ready = 0;
	w->sock_eof_at = 0;
	w->last_err[0] = '\0';
	if ((pidfd = (int)syscall(SYS_pidfd_open, pid, 0)) == -1 ||
	    fcntl(pidfd, F_SETFD, FD_CLOEXEC) == -1 ||
	    watch(w, WFD_PID, pidfd) == -1 ||
	    watch(w, WFD_SOCK, sp.sock[0]) == -1 ||
	    watch(w, WFD_OUT, sp.out[0]) == -1 ||
	    watch(w, WFD_ERR, sp.err[0]) == -1) {
		snprintf(w->why, sizeof(w->why), "watching the worker: %s",
		    strerror(errno));
		sp.sock[0] = sp.out[0] = sp.err[0] = -1;
		wproc_kill(w, SIGKILL);
		goto out;
	}
	sp.sock[0] = sp.out[0] = sp.err[0] = -1;	/* w owns them */
	w->state = W_STARTING;
	w->deadline = super_now_ns() + (int64_t)w->start_timeout * 1000000000;
	if (w->starts > 1 && super_dev(w->sv, w->device) != NULL)
		super_dev(w->sv, w->device)->s.restarts++;
	super_logf(w->sv, "level=info msg=\"worker started\" task=%s slot=%d "
	    "pid=%d device=%s", w->task, w->slot, (int)pid, w->devname);
	rc = 0;
out:
	spawn_free(&sp);
	return rc;
}

/* The owner learns that w can no longer take a job, if it could. */
void
wproc_unready(struct wproc *w)
{
	if (!w->said_ready)
		return;
	w->said_ready = 0;
	super_event(w->sv, SEV_UNREADY, w, NULL, 0, NULL);
}

void
wproc_kill(struct wproc *w, int sig)
{
	if (w->pid > 0)
		(void)kill(-w->pid, sig);
}

void
wproc_close_fds(struct wproc *w)
{
	int	 i;

	for (i = 0; i < WFD__MAX; i++)
		if (w->fds[i].fd != -1) {
			(void)epoll_ctl(w->sv->epfd, EPOLL_CTL_DEL,
			    w->fds[i].fd, NULL);
			close(w->fds[i].fd);
			w->fds[i].fd = -1;
			w->fds[i].lb.len = 0;
		}
}

/* "worker exited: signal 11", "worker exited with status 3". */
void
wproc_exit_text(int status, char *out, size_t outlen)
{
	if (WIFSIGNALED(status))
		snprintf(out, outlen, "worker exited: signal %d (%s)",
		    WTERMSIG(status), strsignal(WTERMSIG(status)));
	else
		snprintf(out, outlen, "worker exited with status %d",
		    WEXITSTATUS(status));
}

/* A start failed (why): counted, said once, restarted with back-off. */
void
wproc_start_failed(struct wproc *w, const char *why)
{
	if (why != w->why)
		snprintf(w->why, sizeof(w->why), "%s", why);
	w->fails++;
	super_logf(w->sv, "level=warn msg=\"worker failed to start\" task=%s "
	    "slot=%d tries=%d error=\"%s\"", w->task, w->slot, w->fails,
	    w->why);
	if (w->fails == 1)
		super_event(w->sv, SEV_FAILING, w, NULL, 0, w->why);
	if (w->call != NULL && !w->sent)
		super_call_end(w, JOB_FAILED, w->why);
	if (w->pid == 0)
		wproc_schedule_restart(w);
}

/* No process: start again after the back-off, or stay off. */
void
wproc_schedule_restart(struct wproc *w)
{
	double	 ms = 0;
	int	 i;

	if (w->retire || w->sv->stop) {
		w->state = W_OFF;
		return;
	}
	if (w->fails > 0)
		for (ms = w->sv->opts.backoff_ms, i = 1; i < w->fails &&
		    ms < SUPER_BACKOFF_MAX_MS; i++)
			ms *= 2;
	if (ms > SUPER_BACKOFF_MAX_MS)
		ms = SUPER_BACKOFF_MAX_MS;
	w->state = W_WAIT;
	w->deadline = super_now_ns() + (int64_t)(ms * 1e6);
}

/* The process exited with status (reaped): its job and its next life. */
void
wproc_reaped(struct wproc *w, int status)
{
	enum wstate	 was = w->state;
	char		 why[256];

	wproc_exit_text(status, why, sizeof(why));
	if (w->last_err[0] != '\0' && !w->was_ready)
		snprintf(why + strlen(why), sizeof(why) - strlen(why),
		    " before it was ready: %s", w->last_err);
	super_logf(w->sv, "level=%s msg=\"worker exited\" task=%s slot=%d "
	    "pid=%d error=\"%s\"", was == W_STOPPING ? "info" : "warn",
	    w->task, w->slot, (int)w->pid, why);
	wproc_close_fds(w);
	w->pid = 0;
	wproc_unready(w);
	if (w->call != NULL && w->sent)
		super_call_end(w, w->cancel ? JOB_CANCELLED : JOB_FAILED,
		    w->cancel ? "cancelled" : why);
	if (was == W_STARTING) {
		w->state = W_WAIT;	/* wproc_start_failed restarts it */
		wproc_start_failed(w, why);
		return;
	}
	wproc_schedule_restart(w);
}
