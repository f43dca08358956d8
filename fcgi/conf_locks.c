/*
 * conf_locks: the locks and tasks sections. A lock is a named set of
 * slots (optionally one CUDA device per slot); a task names a kernel and
 * the locks a job of it holds. Checked here: names, slot and device
 * counts, the slots of all locks together, locks a task names that do not
 * exist or twice, unknown kernels, and devices on two locks of one task.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf_int.h"
#include "kernel.h"

#define CONF_MAX_DEVICE	1023		/* highest CUDA device index */

static const char *const conf_lock_keys[] = {
	"slots", "queue", "wait_timeout", "devices", "order", "scope", NULL
};
/* Indexed by enum conf_order and enum conf_scope. */
static const char *const conf_orders[] = { "fifo", "fair", NULL };
static const char *const conf_scopes[] = { "node", "cluster", NULL };
static const char *const conf_task_keys[] = {
	"kernel", "worker", "inputs", "params", "locks", "title", "preload",
	"timeout", "cancel_grace", "start_timeout", NULL
};

/* Lock and task names: [A-Za-z0-9_-], 1..CONF_NAME_MAX bytes. */
static int
conf_name_ok(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= CONF_NAME_MAX)
			return 0;
		if (!isalnum((unsigned char)name[i]) && name[i] != '_' &&
		    name[i] != '-')
			return 0;
	}
	return 1;
}

/* The devices array of lock group g: one device index per slot. */
static int
conf_load_devices(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_lock *l)
{
	config_setting_t	*s, *e;
	long long		 v;
	int			 i, n;

	if ((s = config_setting_get_member(g, "devices")) == NULL)
		return 0;
	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_serr(ctx, s, "must be an array of integers");
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (!conf_is_int(e)) {
			conf_serr(ctx, s, "must be an array of integers");
			return -1;
		}
	}
	if (n != l->slots) {
		conf_serr(ctx, s, "must list one device per slot "
		    "(slots = %d, devices has %d)", l->slots, n);
		return -1;
	}
	if ((l->devices = calloc((size_t)n, sizeof(*l->devices))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		v = config_setting_get_int64(e);
		if (v < 0 || v > CONF_MAX_DEVICE) {
			conf_serr(ctx, e, "must be a device index 0..%d",
			    CONF_MAX_DEVICE);
			return -1;
		}
		l->devices[i] = (int)v;
	}
	return 0;
}

/* One lock: the group g, named after the lock, into l. */
static int
conf_load_lock(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_lock *l)
{
	const char		*name = config_setting_name(g);
	long long		 v;
	int			 e;

	if (!conf_name_ok(name)) {
		conf_serr(ctx, g, "lock names must be 1..%d characters of "
		    "A-Z a-z 0-9 _ -", CONF_NAME_MAX);
		return -1;
	}
	if (!config_setting_is_group(g)) {
		conf_serr(ctx, g, "must be a group");
		return -1;
	}
	if ((l->name = strdup(name)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	if (conf_check_keys(ctx, g, conf_lock_keys) == -1)
		return -1;
	if (conf_int(ctx, g, "slots", 1, CONF_MAX_SLOTS, 0, 1, &v) == -1)
		return -1;
	l->slots = (int)v;
	if (conf_int(ctx, g, "queue", 0, 1000000, 64, 0, &v) == -1)
		return -1;
	l->queue = (int)v;
	if (conf_int(ctx, g, "wait_timeout", 0, 31536000, 600, 0, &v) == -1)
		return -1;
	l->wait_timeout = (int)v;
	if (conf_load_devices(ctx, g, l) == -1)
		return -1;
	if (conf_enum(ctx, g, "order", conf_orders, CONF_ORDER_FIFO,
	    &e) == -1)
		return -1;
	l->order = (enum conf_order)e;
	return 0;
}

/*
 * The lock's scope: "node" (this host's slots, the default) or "cluster"
 * (slots shared by every node), which needs a cluster group and binds no
 * devices (a GPU belongs to one host: bind it with a node lock).
 */
static int
conf_load_scope(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_lock *l, const struct conf *c)
{
	const config_setting_t	*s = config_setting_get_member(g, "scope");
	int			 e;

	if (conf_enum(ctx, g, "scope", conf_scopes, CONF_SCOPE_NODE,
	    &e) == -1)
		return -1;
	l->scope = (enum conf_scope)e;
	if (l->scope == CONF_SCOPE_CLUSTER && c->cluster_database == NULL) {
		conf_serr(ctx, s, "\"cluster\" needs a cluster group "
		    "(cluster.database)");
		return -1;
	}
	if (l->scope == CONF_SCOPE_CLUSTER && l->devices != NULL) {
		conf_serr(ctx, s, "a lock of scope \"cluster\" binds no "
		    "devices (a GPU is one host's: bind it with a node lock)");
		return -1;
	}
	return 0;
}

/* Orders pointers to locks by name, for bsearch. */
static int
conf_lock_ptr_cmp(const void *a, const void *b)
{
	const struct conf_lock	*la = *(const struct conf_lock *const *)a;
	const struct conf_lock	*lb = *(const struct conf_lock *const *)b;

	return strcmp(la->name, lb->name);
}

/*
 * Resolves the task's lock names against the locks, sorted by name in
 * sorted (so that a long list costs n log n). seen[i] == stamp marks lock i
 * as already named by this task.
 */
static int
conf_task_locks(struct conf_ctx *ctx, const config_setting_t *s,
    struct conf_task *t, const struct conf *c,
    struct conf_lock *const *sorted, size_t *seen, size_t stamp)
{
	config_setting_t	*e;
	struct conf_lock	 key, *kp = &key, *const *hit;
	const char		*v;
	size_t			 idx;
	int			 i, n;

	if (!config_setting_is_array(s) && !config_setting_is_list(s)) {
		conf_serr(ctx, s, "must be an array of strings");
		return -1;
	}
	n = config_setting_length(s);
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			conf_serr(ctx, s, "must be an array of strings");
			return -1;
		}
	}
	if (n <= 0) {
		conf_serr(ctx, s, "must name at least one lock");
		return -1;
	}
	t->locks = calloc((size_t)n, sizeof(*t->locks));
	t->lock_index = calloc((size_t)n, sizeof(*t->lock_index));
	if (t->locks == NULL || t->lock_index == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(s, (unsigned int)i);
		v = config_setting_get_string(e);
		key.name = (char *)(v == NULL ? "" : v);
		hit = c->nlocks == 0 ? NULL : bsearch(&kp, sorted, c->nlocks,
		    sizeof(*sorted), conf_lock_ptr_cmp);
		if (hit == NULL) {
			conf_serr(ctx, e, "unknown lock \"%s\"", key.name);
			return -1;
		}
		idx = (size_t)(*hit - c->locks);
		if (seen[idx] == stamp) {
			conf_serr(ctx, e, "lock \"%s\" named twice", key.name);
			return -1;
		}
		seen[idx] = stamp;
		if ((t->locks[i] = strdup(key.name)) == NULL) {
			conf_err(ctx, 0, "out of memory");
			return -1;
		}
		t->lock_index[i] = idx;
		t->nlocks = (size_t)i + 1;
	}
	return 0;
}

/*
 * A job runs on one device: the device of its slot of the first of its
 * locks that has devices. A second lock with devices would only hold a
 * slot (and so a GPU) that the job never uses: refused.
 */
static int
conf_task_devices(struct conf_ctx *ctx, const config_setting_t *s,
    const struct conf_task *t, const struct conf *c)
{
	const char	*first = NULL, *name;
	size_t		 i;

	for (i = 0; i < t->nlocks; i++) {
		if (c->locks[t->lock_index[i]].devices == NULL)
			continue;
		name = c->locks[t->lock_index[i]].name;
		if (first != NULL) {
			conf_serr(ctx, s, "locks \"%s\" and \"%s\" both have "
			    "devices; a job runs on one device, so at most one "
			    "of a task's locks may list devices", first, name);
			return -1;
		}
		first = name;
	}
	return 0;
}

/* What t runs: a built-in kernel, or a worker program with its inputs. */
static int
conf_task_program(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t, const char **title)
{
	config_setting_t	*ks = config_setting_get_member(g, "kernel");
	config_setting_t	*ws = config_setting_get_member(g, "worker");
	config_setting_t	*is = NULL, *ps = NULL;
	const struct kernel_spec *k;

	if ((ks == NULL) == (ws == NULL)) {
		conf_serr(ctx, ks != NULL ? ws : g, "%s", ks != NULL ?
		    "a task has kernel or worker, not both" : "needs kernel = "
		    "\"NAME\" (a built-in) or worker = [\"program\", ...]");
		return -1;
	}
	if (conf_group(ctx, g, "inputs", &is) == -1 ||
	    conf_group(ctx, g, "params", &ps) == -1)
		return -1;
	if (ks != NULL) {
		if (is != NULL) {
			conf_serr(ctx, is, "only a worker task declares inputs "
			    "(a kernel task narrows its parameters in params)");
			return -1;
		}
		if (conf_str(ctx, g, "kernel", NULL, 1, &t->kernel, NULL) == -1)
			return -1;
		if ((k = kernel_find(t->kernel)) == NULL) {
			conf_serr(ctx, ks, "unknown kernel \"%s\"", t->kernel);
			return -1;
		}
		*title = k->title != NULL && k->title[0] != '\0' ? k->title :
		    t->name;
		return conf_load_narrow(ctx, ps, t, k);
	}
	if (ps != NULL) {
		conf_serr(ctx, ps, "only a kernel task has params (a worker "
		    "task's ranges are its inputs)");
		return -1;
	}
	if (conf_strings(ctx, ws, 1, 1, &t->worker) == -1)
		return -1;
	t->worker_line = config_setting_source_line(ws);
	*title = t->name;
	return conf_load_inputs(ctx, is, t);
}

/* How t's jobs and workers run: preload and the timeouts. */
static int
conf_task_run(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t)
{
	long long	 timeout, grace, start;

	if (conf_bool(ctx, g, "preload", 0, &t->preload) == -1 ||
	    conf_int(ctx, g, "timeout", 0, 604800, CONF_TIMEOUT_DEFAULT, 0,
	    &timeout) == -1 ||
	    conf_int(ctx, g, "cancel_grace", 0, 3600, 5, 0, &grace) == -1 ||
	    conf_int(ctx, g, "start_timeout", 1, 86400, 300, 0, &start) == -1)
		return -1;
	t->timeout = (int)timeout;
	t->cancel_grace = (int)grace;
	t->start_timeout = (int)start;
	return 0;
}

/* The lock whose slot picks the worker: the one with devices, else the first. */
static void
conf_task_worker_lock(struct conf_task *t, const struct conf *c)
{
	size_t	 i;

	t->worker_lock = 0;
	for (i = 0; i < t->nlocks; i++)
		if (c->locks[t->lock_index[i]].devices != NULL) {
			t->worker_lock = i;
			return;
		}
}

/* One task: the group g, named after the task, into t. */
/*
 * The largest body a submission of t may have: server.max_body for its
 * fields, and each upload's max_bytes with room for its part's headers.
 * The config's largest (conf.max_request_body) sizes what the server
 * reads and nginx's client_max_body_size.
 */
static void
conf_task_body(struct conf_task *t, const struct conf *c)
{
	size_t	 i;

	t->max_body = c->max_body;
	for (i = 0; i < t->ninputs; i++)
		if (KPARAM_IS_UPLOAD(t->inputs[i].type))
			t->max_body += (long)t->inputs[i].max_bytes +
			    CONF_PART_OVERHEAD;
}

static int
conf_load_task(struct conf_ctx *ctx, const config_setting_t *g,
    struct conf_task *t, const struct conf *c,
    struct conf_lock *const *sorted, size_t *seen, size_t stamp)
{
	config_setting_t	*s;
	const char		*name = config_setting_name(g), *title = NULL;

	if (!conf_name_ok(name)) {
		conf_serr(ctx, g, "task names must be 1..%d characters of "
		    "A-Z a-z 0-9 _ -", CONF_NAME_MAX);
		return -1;
	}
	if (!config_setting_is_group(g)) {
		conf_serr(ctx, g, "must be a group");
		return -1;
	}
	if ((t->name = strdup(name)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	if (conf_check_keys(ctx, g, conf_task_keys) == -1 ||
	    conf_task_program(ctx, g, t, &title) == -1 ||
	    conf_task_run(ctx, g, t) == -1)
		return -1;
	if ((s = config_setting_get_member(g, "locks")) == NULL) {
		conf_missing(ctx, g, "locks");
		return -1;
	}
	if (conf_task_locks(ctx, s, t, c, sorted, seen, stamp) == -1 ||
	    conf_task_devices(ctx, s, t, c) == -1)
		return -1;
	conf_task_worker_lock(t, c);
	conf_task_body(t, c);
	if ((t->inputs_sig = conf_inputs_sig(t)) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	return conf_str(ctx, g, "title", title, 0, &t->title, NULL);
}

/*
 * The locks group, in file order: each lock, then the total of their slots
 * against CONF_MAX_TOTAL_SLOTS. No group (or an empty one) is no locks.
 */
int
conf_load_locks(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g, *e;
	size_t			 i, n;
	long long		 total = 0;
	int			 len;

	if (conf_group(ctx, root, "locks", &g) == -1)
		return -1;
	if (g == NULL || (len = config_setting_length(g)) <= 0)
		return 0;
	n = (size_t)len;
	if ((c->locks = calloc(n, sizeof(*c->locks))) == NULL) {
		conf_err(ctx, 0, "out of memory");
		return -1;
	}
	c->nlocks = n;
	for (i = 0; i < n; i++) {
		e = config_setting_get_elem(g, (unsigned int)i);
		if (conf_load_lock(ctx, e, &c->locks[i]) == -1 ||
		    conf_load_scope(ctx, e, &c->locks[i], c) == -1)
			return -1;
		total += c->locks[i].slots;
	}
	if (total > CONF_MAX_TOTAL_SLOTS) {
		conf_serr(ctx, g, "the slots of all locks add up to %lld, more "
		    "than %d (one worker thread runs each held slot)", total,
		    CONF_MAX_TOTAL_SLOTS);
		return -1;
	}
	return 0;
}

/*
 * The tasks group (required, not empty), in file order; each task's locks
 * are resolved against c->locks, so the locks are loaded first.
 */
int
conf_load_tasks(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	 *g;
	struct conf_lock	**sorted = NULL;
	size_t			 *seen = NULL, i, n;
	int			  len, rc = -1;

	if (conf_group(ctx, root, "tasks", &g) == -1)
		goto out;
	if (g == NULL) {
		conf_err(ctx, 1, "tasks: missing (at least one task is "
		    "required)");
		goto out;
	}
	if ((len = config_setting_length(g)) <= 0) {
		conf_serr(ctx, g, "at least one task is required");
		goto out;
	}
	n = (size_t)len;
	c->max_request_body = c->max_body;
	if ((c->tasks = calloc(n, sizeof(*c->tasks))) == NULL)
		goto oom;
	c->ntasks = n;
	if (c->nlocks > 0) {
		sorted = calloc(c->nlocks, sizeof(*sorted));
		seen = calloc(c->nlocks, sizeof(*seen));
		if (sorted == NULL || seen == NULL)
			goto oom;
		for (i = 0; i < c->nlocks; i++)
			sorted[i] = &c->locks[i];
		qsort(sorted, c->nlocks, sizeof(*sorted), conf_lock_ptr_cmp);
	}
	for (i = 0; i < n; i++) {
		if (conf_load_task(ctx, config_setting_get_elem(g,
		    (unsigned int)i), &c->tasks[i], c, sorted,
		    seen, i + 1) == -1)
			goto out;
		if (c->tasks[i].max_body > c->max_request_body)
			c->max_request_body = c->tasks[i].max_body;
	}
	rc = 0;
	goto out;
oom:
	conf_err(ctx, 0, "out of memory");
out:
	free(sorted);
	free(seen);
	return rc;
}
