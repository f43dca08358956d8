/*
 * super_int: what the supervisor's files share (super.h is the contract).
 *
 *  super.c       the API, the thread and its loop, timers
 *  super_proc.c  starting, signalling and reaping a worker process
 *  super_io.c    lines from the workers (protocol, stdout, stderr) and
 *                messages to them
 *
 * super.mu guards everything below. The supervisor's thread does all the
 * I/O; other threads only change requests (want, call, cancel) under mu
 * and wake it through an eventfd. Events for the owner are queued under
 * mu and delivered by the thread after it lets go of mu.
 */
#ifndef SLUICE_SUPER_INT_H
#define SLUICE_SUPER_INT_H

#include <sys/queue.h>
#include <sys/types.h>

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>

#include "conf.h"
#include "super.h"
#include "wmsg.h"

#define SUPER_BACKOFF_MAX_MS	60000	/* restart delay cap */
#define SUPER_STOP_GRACE_MS	2000	/* SIGTERM, then SIGKILL */
#define SUPER_LOG_LINE_MAX	4096	/* of a worker's output line in the log */
#define SUPER_WRITE_MS		5000	/* a worker must take a message in this */

enum wstate {
	W_OFF,		/* no process, nobody asked for one */
	W_WAIT,		/* no process; start at deadline (back-off) */
	W_STARTING,	/* process up, not ready yet (deadline: start_timeout) */
	W_READY,	/* can take a job */
	W_BUSY,		/* runs call's job (deadline: timeout or cancel grace) */
	W_STOPPING	/* signalled; its exit is awaited */
};

/* A runner waiting in super_run. */
struct call {
	const struct super_job	*job;
	struct super_outcome	*out;
	pthread_cond_t		 cv;
	int			 done;
	int64_t			 ready_by;	/* ns: give up waiting for ready */
};

/* One line buffer of a worker's fd. */
struct lbuf {
	char		*data;
	size_t		 len, cap, max;
	int		 overflow;	/* a line longer than max was cut */
};

enum wfd_kind { WFD_SOCK, WFD_OUT, WFD_ERR, WFD_PID, WFD__MAX };

struct wproc;
struct wfd {
	struct wproc	*w;
	enum wfd_kind	 kind;
	int		 fd;		/* -1 when closed */
	struct lbuf	 lb;
};

struct wproc {
	struct super		*sv;
	char			 task[CONF_NAME_MAX + 1];
	int			 slot;
	int			 device;	/* configured index; -1: cpu */
	char			*ident;		/* argv, device, inputs: reload compares */
	char			**argv;		/* argv[0] resolved to a path */
	int			 timeout, cancel_grace, start_timeout;
	int			 preload;
	enum wstate		 state;
	pid_t			 pid;		/* 0 when none */
	struct wfd		 fds[WFD__MAX];
	char			 devname[32];	/* reported, else the slot's */
	int64_t			 deadline;	/* ns, for the state's timer */
	int64_t			 kill_at;	/* ns, SIGKILL after SIGTERM */
	int64_t			 sock_eof_at;	/* ns: fd 3 closed, alive: kill */
	int			 fails;		/* failed starts in a row */
	int			 was_ready;	/* this process said ready */
	int			 said_ready;	/* the owner was told it is */
	int			 retire;	/* stop and forget when idle */
	int			 cancel;	/* a cancel was sent */
	struct call		*call;		/* job in flight or to send */
	int			 sent;		/* call's job was sent */
	char			 why[256];	/* last start failure */
	char			 last_err[160];	/* last stderr line */
	unsigned		 starts;
	LIST_ENTRY(wproc)	 link;
};
LIST_HEAD(wproc_list, wproc);

/* An event for the owner, delivered outside mu. */
enum sev_kind { SEV_READY, SEV_UNREADY, SEV_FAILING, SEV_RECOVERED,
	SEV_PROGRESS };
struct sev {
	enum sev_kind		 kind;
	char			 task[CONF_NAME_MAX + 1];
	int			 slot;
	char			 job[33];
	char			 device[32];
	double			 fraction;
	char			*text;		/* why, or progress message */
	STAILQ_ENTRY(sev)	 link;
};
STAILQ_HEAD(sev_queue, sev);

struct dev_stats {
	struct super_device_stats s;
	LIST_ENTRY(dev_stats)	 link;
};
LIST_HEAD(dev_stats_list, dev_stats);

#define SUPER_EARLY_MAX	64	/* cancels kept for jobs not at a worker */

struct super {
	const struct conf	*conf;
	struct super_opts	 opts;
	struct super_events	 ev;
	char			*state;
	char			*kernel_worker;
	pthread_mutex_t		 mu;
	pthread_t		 thread;
	int			 thread_started;
	int			 epfd, wakefd;
	int			 stop;		/* super_destroy began */
	struct wproc_list	 workers;
	struct sev_queue	 events;
	struct dev_stats_list	 devs;
	pid_t			 self;		/* for the children's check */
	/*
	 * Jobs cancelled before they reached a worker (the scheduler shows
	 * them running from dispatch on): super_run ends them at once. A
	 * ring: the oldest goes, and a job not run after all leaves its id.
	 */
	char			 early[SUPER_EARLY_MAX][JOB_ID_LEN + 1];
	unsigned		 nearly;
};

/* super.c */
int64_t		 super_now_ns(void);
void		 super_wake(struct super *);
void		 super_event(struct super *, enum sev_kind, const struct wproc *,
		    const char *job, double fraction, const char *text);
struct dev_stats *super_dev(struct super *, int device);
void		 super_logf(struct super *, const char *fmt, ...)
		    __attribute__((format(printf, 2, 3)));
void		 super_quote(const char *s, size_t n, char *out, size_t outlen);
void		 super_call_end(struct wproc *, enum job_state, const char *error);

/* super_proc.c */
int		 wproc_spawn(struct wproc *);
void		 wproc_kill(struct wproc *, int sig);
void		 wproc_unready(struct wproc *);
void		 wproc_reaped(struct wproc *, int status);
void		 wproc_start_failed(struct wproc *, const char *why);
void		 wproc_schedule_restart(struct wproc *);
void		 wproc_close_fds(struct wproc *);
void		 wproc_exit_text(int status, char *out, size_t outlen);

/* super_io.c */
void		 wproc_readable(struct wfd *);
int		 wproc_send_job(struct wproc *);
int		 wproc_send_cancel(struct wproc *);
void		 wproc_violation(struct wproc *, const char *why);
void		 lbuf_free(struct lbuf *);

#endif
