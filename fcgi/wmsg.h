/*
 * wmsg: the messages a worker sends (worker protocol v1, DESIGN.md): one
 * JSON object per line, parsed and checked here so that the supervisor
 * only ever sees well-formed values. Unknown fields are ignored; unknown
 * types, wrong field types, a missing job id and out-of-range values are
 * refused with a reason (the worker then broke the protocol: its job
 * fails with that reason and the worker is restarted).
 *
 * Pure functions: thread-safe and fuzzable (tests/fuzz/fuzz_wmsg.c).
 */
#ifndef SLUICE_WMSG_H
#define SLUICE_WMSG_H

#include <stddef.h>

#include <jansson.h>

#define WMSG_LINE_MAX		(1024 * 1024)	/* bytes, without the newline */
#define WMSG_MESSAGE_MAX	200		/* characters of progress text */
#define WMSG_FILES_MAX		64		/* output files of one job */
#define WMSG_NAME_MAX		64		/* bytes of an output file's name */
#define WMSG_ERROR_MAX		1000		/* bytes of an error kept */

enum wmsg_type {
	WMSG_READY,
	WMSG_PROGRESS,
	WMSG_RESULT,
	WMSG_ERROR
};

struct wmsg_file {
	char	 name[WMSG_NAME_MAX + 1];	/* [A-Za-z0-9._-], not "." or ".." */
	char	*path;				/* as sent; checked by the reader */
	char	*type;				/* MIME type as sent */
};

struct wmsg {
	enum wmsg_type	 type;
	char		 job[33];	/* "" for ready */
	char		 device[32];	/* ready: "cpu", "cuda:N", or "" */
	double		 fraction;	/* progress: 0..1 */
	char		*message;	/* progress text (cut to 200 characters), or NULL */
	char		*result;	/* result: compact JSON object */
	struct wmsg_file *files;	/* result */
	size_t		 nfiles;
	char		*error;		/* error: the worker's message */
};

/*
 * Parses line[0..len) (no newline). Returns 0 with m filled (the caller
 * wmsg_free()s it), or -1 with m empty and the reason in err, e.g.
 * "not JSON: ..." or "progress: fraction must be a number 0..1".
 */
int	wmsg_parse(const char *line, size_t len, struct wmsg *m, char *err,
	    size_t errlen);
void	wmsg_free(struct wmsg *);

/* "ready", "progress", ... */
const char *wmsg_type_name(enum wmsg_type);

#endif
