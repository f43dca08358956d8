/*
 * route: maps a method and a raw path to one of the application's routes.
 * Pure functions over constant tables: thread-safe and fuzzable.
 */
#ifndef SLUICE_ROUTE_H
#define SLUICE_ROUTE_H

#include <stddef.h>

enum route_id {
	ROUTE_INDEX,		/* GET  /                        */
	ROUTE_TASK_SUBMIT,	/* POST /tasks/{task}            */
	ROUTE_JOB_PAGE,		/* GET  /jobs/{id}               */
	ROUTE_JOB_JSON,		/* GET  /jobs/{id}.json          */
	ROUTE_JOB_PNG,		/* GET  /jobs/{id}/result.png    */
	ROUTE_JOB_CANCEL,	/* POST /jobs/{id}/cancel        */
	ROUTE_JOB_FILE,		/* GET  /jobs/{id}/files/{name}  */
	ROUTE_JOB_INPUT,	/* GET  /jobs/{id}/inputs/{name} */
	ROUTE_JOB_EVENTS,	/* GET  /jobs/{id}/events        */
	ROUTE_EVENTS,		/* GET  /events                  */
	ROUTE_SESSION,		/* GET  /session.json            */
	ROUTE_STATUS,		/* GET  /status.json             */
	ROUTE_METRICS,		/* GET  /metrics                 */
	ROUTE_HEALTHZ,		/* GET  /healthz                 */
	ROUTE__MAX
};

#define ROUTE_ARG_MAX	64
#define ROUTE_NAME_MAX	64	/* JOBDIR_NAME_MAX */

struct route_match {
	enum route_id	id;
	char		arg[ROUTE_ARG_MAX];	/* {task} or {id}, "" when none */
	char		name[ROUTE_NAME_MAX + 1]; /* {name}, "" when none */
	int		head;			/* HEAD: answer like GET, no body */
};

/*
 * Finds the route for method and path (raw, without query). Returns 200
 * with m filled, 405 with the allowed methods in allow ("GET, HEAD"), or
 * 404. A {task} must match [A-Za-z0-9_-]{1,63}, an {id} 32 lowercase
 * hex characters and a {name} jobdir_name_ok(), so nothing encoded, no
 * dot segment and no slash can reach a handler through them.
 */
int	route_find(const char *method, const char *path,
	    struct route_match *m, char *allow, size_t allowlen);

/* The route's name for logs and metrics ("index", "job_json", ...). */
const char *route_name(enum route_id);

#endif
