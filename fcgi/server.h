/*
 * server: the FastCGI side. Opens the listening socket (or takes fd 0),
 * runs conf->threads responder threads that accept in turn, and one
 * thread that handles signals with sigwait.
 */
#ifndef SLUICE_SERVER_H
#define SLUICE_SERVER_H

#include <stddef.h>

#include "app.h"
#include "conf.h"
#include "sched.h"

struct server_opts {
	const char	*listen;	/* overrides conf->listen when set */
	int		 quiet;		/* no per-request log lines */
};

/*
 * Blocks the signals the server handles; call first in main, before any
 * thread exists, so that every thread inherits the mask.
 */
void	server_block_signals(void);

/*
 * Serves until SIGTERM or SIGINT: then /healthz says draining, new
 * submissions get 503, queued and running jobs get drain_timeout seconds
 * to finish, accepting stops, every responder thread is joined, and 0 is
 * returned. Returns -1 with a message in err when the server cannot start
 * (socket, threads). FCGX_Init must not have been called.
 */
int	server_run(struct app *, struct sched *, const struct conf *,
	    const struct server_opts *, char *err, size_t errlen);

#endif
