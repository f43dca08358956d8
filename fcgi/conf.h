/*
 * conf: the libconfig file, parsed and validated into plain structs.
 *
 * Every value is checked at load time so that nothing later has to: unknown
 * keys, wrong types, out-of-range numbers, tasks naming unknown locks or
 * kernels, devices/slots length mismatch, devices on two locks of one task,
 * more slots in all than CONF_MAX_TOTAL_SLOTS. Errors read
 * "FILE:LINE: path.to.key: what is wrong" (like nginx -t).
 * A struct conf is immutable once loaded and may be shared across threads.
 */
#ifndef SLUICE_CONF_H
#define SLUICE_CONF_H

#include <stddef.h>
#include <stdint.h>

#define CONF_MAX_SLOTS	1024
/*
 * The slots of all locks together: the scheduler runs one worker thread
 * per slot up to this many, so a job that took slots beyond it would hold
 * them without running.
 */
#define CONF_MAX_TOTAL_SLOTS	4096
#define CONF_NAME_MAX	63	/* lock and task names: [A-Za-z0-9_-], 1..63 */
/*
 * Seconds a task's job may run when the task sets no timeout: a job is
 * bounded unless the operator says otherwise (timeout = 0).
 */
#define CONF_TIMEOUT_DEFAULT	300
/* Bytes a multipart part takes besides its file: its delimiter and headers. */
#define CONF_PART_OVERHEAD	4096

enum conf_order {
	CONF_ORDER_FIFO,
	CONF_ORDER_FAIR
};

/*
 * Whose slots a lock counts: this host's (node, the default), or every
 * node's of the cluster together (cluster; needs a cluster group).
 */
enum conf_scope {
	CONF_SCOPE_NODE,
	CONF_SCOPE_CLUSTER
};

struct conf_lock {
	char		*name;
	int		 slots;		/* 1..1024 */
	int		 queue;		/* waiters allowed, 0..1000000 (default 64) */
	int		 wait_timeout;	/* seconds, 0 = none (default 600) */
	int		*devices;	/* one CUDA index per slot, or NULL; a
					   task names at most one such lock */
	enum conf_order	 order;		/* default fifo */
	enum conf_scope	 scope;		/* default node */
};

struct kparam_spec;

/*
 * A task runs a built-in kernel (kernel set) or the user's program
 * (worker set), never both; either way in worker processes, one per
 * slot of its worker lock (DESIGN.md, "Kernels and workers").
 */
struct conf_task {
	char		*name;
	char		*kernel;	/* a name kernel_find() knows, or NULL */
	char		**worker;	/* argv, NULL-terminated, or NULL */
	int		 worker_line;	/* where worker is, for messages */
	char		*title;		/* default: the kernel's title, or the name */
	char		**locks;	/* names of locks in conf.locks, >= 1 */
	size_t		 nlocks;
	size_t		*lock_index;	/* the same locks as indices into conf.locks */
	size_t		 worker_lock;	/* the one of locks (index in them) whose
					   slot picks the worker: the lock with
					   devices, else the first */
	/*
	 * The parameters a job takes: the kernel's, the kernel's narrowed by
	 * the task's params group, or the inputs group's.
	 */
	const struct kparam_spec *inputs;
	size_t		 ninputs;
	struct kparam_spec *own_inputs;	/* inputs of a worker task, or a
					   kernel task's narrowed copy (owned;
					   the copy borrows the kernel's
					   strings) */
	char		*inputs_sig;	/* kernel or inputs as text, for reloads */
	int		 preload;	/* start its workers at start-up */
	int		 timeout;	/* s a job may run, 0: no limit
					   (default CONF_TIMEOUT_DEFAULT) */
	int		 cancel_grace;	/* s a cancelled job has to stop */
	int		 start_timeout;	/* s a worker has to say ready */
	long		 max_body;	/* bytes a submission may have:
					   server.max_body + its uploads */
};

struct conf {
	char		*path;		/* the file this came from */
	/* server */
	char		*listen;	/* "unix:PATH" or "HOST:PORT"; default "unix:/run/sluice/sluice.sock" */
	int		 threads;	/* 1..1024, default 2 x CPUs (>= 4) */
	char		*templates;	/* directory, default SLUICE_DATADIR/templates */
	char		*state;		/* directory, default "/var/lib/sluice" */
	long		 max_body;	/* bytes, 1..1073741824, default 65536 */
	long		 max_request_body; /* the largest task's max_body
					   (>= max_body): what is read */
	int		 drain_timeout;	/* seconds, 0..86400, default 30 */
	/* results */
	long		 results_ttl;	/* seconds, 1..31536000, default 3600 */
	int64_t		 results_max_bytes; /* default 1 GiB */
	/* sessions */
	int		 max_active;	/* 1..1000000, default 2 */
	int64_t		 max_result_bytes; /* per session, default 256 MiB;
					     0: only results.max_bytes */
	/* clients: jobs one address (REMOTE_ADDR) may have at once */
	int		 client_max_active; /* 0..1000000, default 8; 0: none */
	/* events: nchan's publisher location, "unix:PATH" or "HOST:PORT";
	   NULL (the default): no live updates, pages poll */
	char		*events_publisher;
	/* cluster: several responders sharing one PostgreSQL database.
	   cluster_database NULL (no cluster group): one machine, SQLite */
	char		*cluster_database; /* libpq conninfo or URI */
	char		*cluster_node;	/* unique per host; default: the host name */
	int		 cluster_lease;	/* seconds, 1..3600, default 15 */
	/* locks and tasks, in file order */
	struct conf_lock *locks;
	size_t		 nlocks;
	struct conf_task *tasks;
	size_t		 ntasks;
};

/*
 * Loads and validates path. Returns the config, or NULL with a message of
 * the form "FILE:LINE: key.path: problem" in err. The caller frees the
 * result with conf_free(). Thread-safe (no shared state).
 */
struct conf	*conf_load(const char *path, char *err, size_t errlen);

/* Same, from a string; name is used in messages in place of a file name. */
struct conf	*conf_load_string(const char *text, const char *name,
		    char *err, size_t errlen);

void		 conf_free(struct conf *);

/*
 * Writes the value of key (a dotted path: server.max_body, results.ttl,
 * ...) as loaded, defaults applied, into out: numbers in decimal, strings
 * as they are. Only the scalar settings of server, results and sessions
 * are known (conf_value_keys). Returns 0, or -1 when key is unknown or
 * the value does not fit in out. Thread-safe.
 */
int		 conf_value(const struct conf *, const char *key, char *out,
		    size_t outlen);
/* The i-th key conf_value knows, or NULL past the last. */
const char	*conf_value_keys(size_t i);

/*
 * Finds prog as execvp would (a name with '/' as it is, else on PATH),
 * then among sluice's own programs (beside this one, then in its libexec
 * directory), and writes its path into out. Returns 0, or -1 when there
 * is no such executable. Thread-safe.
 */
int		 conf_program_path(const char *prog, char *out,
		    size_t outlen);

/* The longest node name (a host name's label). */
#define CONF_NODE_MAX	63

/*
 * Names this node of the cluster name (sluice -N, over cluster.node):
 * 0, or -1 with a message in err when conf has no cluster group or name
 * is not 1..CONF_NODE_MAX characters of A-Z a-z 0-9 . _ - (conf kept).
 */
int		 conf_set_node(struct conf *, const char *name, char *err,
		    size_t errlen);

/*
 * Checks that every worker task's program is found (conf_program_path)
 * and executable, which conf_load does not (a config may be written on
 * another machine, or before the program is installed): sluice -t does,
 * and the responder warns at start. Returns 0, or -1 with
 * "FILE:LINE: tasks.NAME.worker: program ... not found or not executable"
 * in err. Thread-safe.
 */
int		 conf_check_programs(const struct conf *, char *err,
		    size_t errlen);

/* Lookups by name; NULL when absent. */
const struct conf_lock	*conf_find_lock(const struct conf *, const char *);
const struct conf_task	*conf_find_task(const struct conf *, const char *);

#endif
