/*
 * server: the FastCGI side. Opens the listening socket (or takes fd 0),
 * runs conf->threads responder threads that share one epoll set: each
 * accepts, reads a request to its end without blocking and answers it
 * itself (idle kept connections and partial requests hold no thread; a
 * partial one is closed 5 s after its first byte), and one thread that
 * handles signals. server_int.h has the details.
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
	/* For SIGHUP: the file to read again and the -s/-T overrides. */
	const char	*config;	/* NULL: reload refused */
	const char	*state;		/* overrides conf->state when set */
	const char	*templates;	/* overrides conf->templates when set */
	const char	*node;		/* overrides conf->cluster_node (-N) */
	/*
	 * Called on SIGHUP after the scheduler took the new config (the
	 * executor's turn); 0, or -1 (logged; the reload still stands).
	 */
	int		(*reconfigure)(void *arg, const struct conf *);
	void		*reconfigure_arg;
};

/*
 * Blocks the signals the server handles; call first in main, before any
 * thread exists, so that every thread inherits the mask.
 */
void	server_block_signals(void);

/*
 * Serves until SIGTERM or SIGINT. SIGHUP reloads opts->config: the new
 * config and templates are checked, the scheduler is reconfigured and the
 * app switched to them; on any error the line
 * level=error msg="reload refused" error="..." is logged and the old ones
 * stay. listen, threads and state cannot change without a restart (a
 * warning names them). conf is the config at start; the app owns the
 * reloaded ones. On SIGTERM or SIGINT: /healthz says draining, new
 * submissions get 503, queued and running jobs get drain_timeout seconds
 * to finish, accepting stops, every responder thread finishes the request
 * in hand and is joined, kept connections are closed, and 0 is returned
 * (an inherited socket on fd 0 is closed, never shut down). Returns -1 with a message in err when the server cannot start
 * (socket, threads). FCGX_Init must not have been called.
 */
int	server_run(struct app *, struct sched *, const struct conf *,
	    const struct server_opts *, char *err, size_t errlen);

#endif
