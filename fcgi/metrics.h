/*
 * metrics: one snapshot of the numbers the operators read, and its two
 * renderings: the Prometheus text exposition format (version 0.0.4) for
 * GET /metrics and the JSON object of GET /status.json. Pure rendering:
 * the caller fills the snapshot once per request (the scheduler's
 * sched_stats_get, its own counters, metrics_snapshot_devices), so both
 * endpoints show the same numbers from the same struct.
 */
#ifndef SLUICE_METRICS_H
#define SLUICE_METRICS_H

#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "sched.h"

#define METRICS_STATUS_CODES	500	/* HTTP statuses 100..599 */
#define METRICS_STATUS_CLASSES	6	/* status / 100: 0..5 */

struct metrics_server {
	int		 threads, threads_busy;	/* responder threads */
	int		 draining;
	int		 devices;		/* CUDA devices the locks name */
	double		 uptime_s, start_time_s;
	uint64_t	 reloads, reload_errors;
	long		 generations;	/* config generations alive */
	/* Live updates (events.h): on, and their counters. */
	int		 events;
	uint64_t	 events_published, events_dropped, events_ended;
	/* Requests answered, by status / 100 and by status - 100. */
	uint64_t	 requests[METRICS_STATUS_CLASSES];
	uint64_t	 by_status[METRICS_STATUS_CODES];
};

/* The workers of one device's slots (the supervisor's counters). */
struct metrics_device {
	int		 device;	/* CUDA index; -1: the CPU slots */
	uint64_t	 failures;	/* jobs failed by a worker's exit, crash,
					   protocol error or timeout */
	uint64_t	 restarts;	/* worker starts after the first */
};

/* A node of the cluster as the database last saw it (node.c). */
struct metrics_node {
	char		 name[64];
	int64_t		 generation;
	int		 lost;
	double		 heartbeat_age_s;
	int64_t		 running;	/* its running jobs */
};

/* The cluster, when this responder is a node of one (has set). */
struct metrics_cluster {
	int			 has;
	char			 node[64];	/* this node */
	int64_t			 generation;	/* its life */
	int64_t			 queued;	/* the cluster's queued jobs */
	double			 age_s;		/* since these were read */
	struct metrics_node	*nodes;		/* malloc'd */
	int			 nnodes;
};

struct metrics_snapshot {
	struct sched_stats	 sched;
	int			 has_sched;	/* 0: no scheduler */
	struct metrics_server	 server;
	struct metrics_device	*devices;	/* by device, cpu first */
	int			 ndevices;
	struct metrics_cluster	 cluster;
};

/*
 * Copies n devices' counters into snap->devices (sorted: the CPU, then
 * by index), replacing what was there. Returns 0, or -1 on ENOMEM (then
 * no devices).
 */
int	metrics_snapshot_devices(struct metrics_snapshot *,
	    const struct metrics_device *, int n);
/* Frees what the snapshot holds (sched stats, devices) and zeroes it. */
void	metrics_snapshot_free(struct metrics_snapshot *);

/*
 * Appends every metric, with HELP and TYPE lines, to b. The sched stats
 * may be empty (no scheduler). Label values are escaped as the format
 * requires. On ENOMEM b is left in its failed state (buf_ok() == 0).
 * Thread-safe.
 */
void	metrics_render(struct buf *b, const struct metrics_snapshot *);

/*
 * The /status.json object of the snapshot: {"server":{...}, "locks":
 * {name:{...}}, "tasks":{name:{...}}, "devices":[{...}]} ("locks" and
 * "tasks" only with a scheduler). version is the server's version text.
 * Returns a new object (the caller json_decref()s it), or NULL on
 * ENOMEM. Thread-safe.
 */
json_t	*metrics_status_json(const struct metrics_snapshot *,
	    const char *version);

#endif
