/*
 * metrics: the Prometheus text exposition format (version 0.0.4) of the
 * scheduler's and the server's numbers, for GET /metrics. Pure rendering:
 * the caller takes the snapshots (sched_stats_get, its own counters), so
 * /metrics and /status.json show the same numbers.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdint.h>

#include "buf.h"
#include "sched.h"

#define METRICS_STATUS_CODES	500	/* HTTP statuses 100..599 */

struct metrics_server {
	int		 threads, threads_busy;	/* responder threads */
	int		 draining;
	int		 devices;		/* CUDA devices */
	double		 uptime_s, start_time_s;
	uint64_t	 reloads, reload_errors;
	uint64_t	 by_status[METRICS_STATUS_CODES];	/* index: status - 100 */
};

/*
 * Appends every metric, with HELP and TYPE lines, to b. ss may be empty
 * (no scheduler). Label values are escaped as the format requires. On
 * ENOMEM b is left in its failed state (buf_ok() == 0). Thread-safe.
 */
void	metrics_render(struct buf *b, const struct sched_stats *ss,
	    const struct metrics_server *ms);

#endif
