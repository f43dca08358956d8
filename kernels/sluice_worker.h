/*
 * sluice_worker.h: write a Sluice worker in C or CUDA (worker protocol,
 * version 1; sluice-worker(7), DESIGN.md "Worker protocol").
 *
 * Sluice starts the worker program once per (task, slot) and keeps it:
 * load what is slow to load (a model, a CUDA context) before saying
 * ready, then serve job after job. A worker is a few lines:
 *
 *	static int
 *	run(struct sw *w, const struct sw_job *job, void *arg)
 *	{
 *		json_t *res = json_pack("{s:f}", "score", 0.93);
 *		sw_progress(w, 0.5, "half way");
 *		if (sw_cancelled(w))
 *			return sw_error(w, "cancelled");
 *		return sw_result(w, res, NULL, 0);
 *	}
 *
 *	int
 *	main(void)
 *	{
 *		struct sw *w = sw_open(NULL, 0);
 *		return w != NULL && sw_serve(w, NULL, run, NULL) == 0 ? 0 : 1;
 *	}
 *
 * Link with `pkg-config --cflags --libs sluice-worker` (it brings
 * jansson, whose json_t the jobs' params and the results are).
 *
 * Messages are JSON lines on the protocol socket (SLUICE_FD); all writes
 * are whole lines, so progress may be sent from any one thread at a time.
 * A struct sw is not thread-safe: one thread serves jobs. Functions
 * returning int return 0 on success and -1 on error (the reason on
 * stderr, which Sluice logs tagged with the task and slot).
 */
#ifndef SLUICE_WORKER_H
#define SLUICE_WORKER_H

#include <stddef.h>

#include <jansson.h>

#define SW_PROTOCOL	1
#define SW_LINE_MAX	(1024 * 1024)	/* bytes of one message, newline excluded */
#define SW_MESSAGE_MAX	200		/* characters of a progress message */

struct sw;

/* One job, valid until the next sw_next() (or sw_serve's next call). */
struct sw_job {
	const char	*id;		/* 32 hex */
	const json_t	*params;	/* object: name -> value, typed */
	const json_t	*inputs;	/* object: name -> {path,type,bytes,filename}
				   (images: width, height, orientation) */
	const char	*out;		/* absolute directory for output files */
};

/* An output file, relative to the job's out directory. */
struct sw_file {
	const char	*name;		/* shown to the user; [A-Za-z0-9._-] */
	const char	*path;		/* inside out: no "..", no link out */
	const char	*type;		/* MIME type, e.g. "image/png" */
};

/*
 * Opens the protocol socket named by the environment (SLUICE_PROTOCOL,
 * SLUICE_FD). Returns NULL, with the reason in err (unless NULL), when
 * the program was not started by Sluice or speaks another version.
 */
struct sw	*sw_open(char *err, size_t errlen);
void		 sw_close(struct sw *);

/*
 * Says ready: the worker can take jobs now. device, when not NULL, tells
 * which device it really uses ("cpu" when it found no GPU; Sluice shows
 * it as the job's device), else the slot's SLUICE_DEVICE stands.
 */
int		 sw_ready(struct sw *, const char *device);

/*
 * Waits for the next job. Returns 1 with job filled, 0 when Sluice has
 * closed the socket (stop serving and exit 0), -1 on a protocol error.
 */
int		 sw_next(struct sw *, struct sw_job *job);

/* Reports progress of the current job: fraction 0..1, message or NULL. */
int		 sw_progress(struct sw *, double fraction, const char *message);

/*
 * 1 once Sluice asked to cancel the current job (the worker should stop
 * and answer sw_error(w, "cancelled")), else 0. Never blocks; cheap
 * enough to call between rows of an image.
 */
int		 sw_cancelled(struct sw *);

/*
 * Ends the current job with result (an object, or NULL for {}; the
 * reference is stolen) and nfiles output files.
 */
int		 sw_result(struct sw *, json_t *result,
		    const struct sw_file *files, size_t nfiles);

/* Ends the current job with a message for the user. */
int		 sw_error(struct sw *, const char *message);

/*
 * The whole life of a worker: says ready (with device, as sw_ready), then
 * calls fn for every job until Sluice closes the socket. fn must end each
 * job with sw_result() or sw_error() and return 0; a job it returns -1
 * from without ending is ended with sw_error(w, "worker failed"). Returns
 * 0 when Sluice closed the socket, -1 on a protocol error.
 */
int		 sw_serve(struct sw *, const char *device,
		    int (*fn)(struct sw *, const struct sw_job *, void *),
		    void *arg);

#endif
