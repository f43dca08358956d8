/*
 * job: what one submission is, as the scheduler, the journal and the HTTP
 * layer share it, and its JSON form (DESIGN.md, "Job JSON").
 */
#ifndef SLUICE_JOB_H
#define SLUICE_JOB_H

#include <stdint.h>

#include "buf.h"

#define JOB_ID_LEN	32	/* lowercase hex of 128 random bits */
#define JOB_SESSION_LEN	32	/* nginx's sid: 32 hex characters */
#define JOB_NONCE_MAX	64
#define JOB_CLIENT_LEN	64	/* REMOTE_ADDR: an IPv6 address is 45 */

enum job_state {
	JOB_QUEUED,
	JOB_RUNNING,
	JOB_DONE,
	JOB_FAILED,
	JOB_EXPIRED,
	JOB_CANCELLED
};

/* The most of a job's error shown to users (job_error_public). */
#define JOB_ERROR_SHOWN	4096

struct job {
	char		 id[JOB_ID_LEN + 1];
	char		 session[JOB_SESSION_LEN + 1];
	char		 nonce[JOB_NONCE_MAX + 1];	/* "" when none */
	char		 client[JOB_CLIENT_LEN + 1];	/* REMOTE_ADDR, or "" */
	char		*task;		/* task name */
	char		*kernel;	/* kernel name */
	char		*locks;		/* JSON array of lock names, e.g. ["gpu"] */
	char		*params;	/* JSON object of validated params */
	enum job_state	 state;
	int64_t		 seq;		/* arrival order, increasing */
	int64_t		 created_ms;	/* Unix ms; 0 = null */
	int64_t		 started_ms;
	int64_t		 finished_ms;
	int		 slot;		/* slot of the first lock; -1 = none yet */
	char		 device[16];	/* "cpu", "cuda:N", or "" = null */
	char		*result;	/* JSON object, or NULL */
	char		*error;		/* message, or NULL */
	int		 has_png;	/* a result.png exists */
	/*
	 * Its files (jobdir.h), as JSON text or NULL: inputs, the uploads,
	 * {NAME: {"type","bytes","filename",...}}; files, what its worker
	 * produced, [{"name","type","bytes"}]. file_bytes counts them all.
	 */
	char		*inputs;
	char		*files;
	int64_t		 file_bytes;
	/* When its files were removed to make room (0: never). */
	int64_t		 removed_ms;
	/* Progress a worker reported (while running; memory only). */
	int		 has_progress;	/* 0: "progress" is null */
	double		 progress;	/* 0..1 */
	char		*progress_message; /* or NULL */
	/*
	 * Memory only: the state shown is not in the journal yet (it
	 * refused the write, which is repeated until it takes it).
	 */
	int		 unsaved;
	/* Only meaningful while queued; filled by the scheduler on lookup. */
	int		 position;	/* 0-based among waiters of its first lock */
	int64_t		 eta_ms;	/* estimated ms until it finishes; -1 = unknown */
};

/* "queued", "running", ...; NULL for an invalid value. */
const char	*job_state_name(enum job_state);
/* Parses a state name; returns -1 for an unknown one. */
int		 job_state_parse(const char *);
/* 1 for done, failed, expired and cancelled. */
int		 job_state_final(enum job_state);

/* Fills id with 32 lowercase hex from libsodium's randombytes_buf. */
void		 job_new_id(char id[JOB_ID_LEN + 1]);
/* 1 when s is exactly 32 lowercase hex characters. */
int		 job_id_valid(const char *s);

/*
 * Appends the job JSON object (DESIGN.md fields, nulls where unknown),
 * files and inputs with the URLs they are served at.
 */
void		 job_to_json(const struct job *, struct buf *);
/*
 * An error as users see it: every absolute path in it cut to its last
 * component, so that no page shows the server's layout
 * ("/var/lib/sluice/results/x.png.tmp: No space left on device" becomes
 * "x.png.tmp: No space left on device"); the journal and the log keep
 * the whole text. Writes at most outlen bytes with the NUL into out
 * (outlen > 0) and returns out; NULL in, NULL out. Thread-safe.
 */
const char	*job_error_public(const char *error, char *out, size_t outlen);

/* Deep copy into dst (strings duplicated); returns 0 or -1 on ENOMEM. */
int		 job_copy(struct job *dst, const struct job *src);
/* Frees the strings a job owns and zeroes it; the struct itself is the caller's. */
void		 job_clear(struct job *);

/* Wall clock in Unix ms, and a monotonic clock in ms / ns. */
int64_t		 job_now_ms(void);
int64_t		 job_mono_ms(void);
int64_t		 job_mono_ns(void);

#endif
