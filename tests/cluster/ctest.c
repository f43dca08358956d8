/* ctest: the cluster tests' harness. See ctest.h. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "ctest.h"
#include "rm_tree.h"

long long
ctest_now_ms(void)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Appends to out the text of in with every key of subs replaced; 0/-1. */
static int
ctest_fill(const char *in, const char *const subs[][2], struct buf *out)
{
	const char	*p = in, *at, *best;
	size_t		 i, bi = 0;

	for (;;) {
		best = NULL;
		for (i = 0; subs[i][0] != NULL; i++)
			if ((at = strstr(p, subs[i][0])) != NULL &&
			    (best == NULL || at < best)) {
				best = at;
				bi = i;
			}
		if (best == NULL)
			break;
		buf_append(out, p, (size_t)(best - p));
		buf_append(out, subs[bi][1], strlen(subs[bi][1]));
		p = best + strlen(subs[bi][0]);
	}
	buf_append(out, p, strlen(p));
	return 0;
}

/* Reads a whole file into a NUL-terminated buf; 0 or -1. */
static int
ctest_read(const char *path, struct buf *b)
{
	char	 chunk[4096];
	size_t	 n;
	FILE	*f;

	if ((f = fopen(path, "r")) == NULL)
		return -1;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		buf_append(b, chunk, n);
	fclose(f);
	buf_cstr(b);
	return 0;
}

/* tests/cluster/cluster.conf with conninfo, the worker and the log. */
static int
ctest_write_conf(struct ctest *ct, const char *conninfo)
{
	char		 tmpl[512], worker[512];
	const char	*subs[][2] = {
		{ "@DATABASE@", conninfo },
		{ "@WORKER@", itest_src("tests/cluster/cluster_worker.py",
		    worker, sizeof(worker)) },
		{ "@LOG@", ct->log },
		{ NULL, NULL },
	};
	struct buf	 in, out;
	FILE		*f;
	int		 rc = -1;

	buf_init(&in);
	buf_init(&out);
	if (strchr(conninfo, '"') != NULL || strchr(conninfo, '\\') != NULL)
		goto out;	/* libconfig's string would need escapes */
	if (ctest_read(itest_src("tests/cluster/cluster.conf", tmpl,
	    sizeof(tmpl)), &in) == -1 || ctest_fill(in.data, subs, &out) == -1)
		goto out;
	if ((f = fopen(ct->conf, "w")) == NULL)
		goto out;
	if (fwrite(out.data, 1, out.len, f) == out.len)
		rc = 0;
	if (fclose(f) != 0)
		rc = -1;
out:
	buf_free(&in);
	buf_free(&out);
	return rc;
}

/*
 * Node i's pid from sluice-serve's PREFIX/run/sluice-I.pid (rewritten
 * when --restart starts it again), kept among its lives; 0 or -1.
 */
static int
ctest_read_pid(struct ctest *ct, int i)
{
	char	 path[400];
	long	 v = 0;
	int	 k;
	FILE	*f;

	snprintf(path, sizeof(path), "%s/run/sluice-%d.pid", ct->srv.prefix, i);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = 0;
	fclose(f);
	if (v <= 0)
		return -1;
	ct->pid[i] = (pid_t)v;
	for (k = 0; k < ct->nlives[i] && ct->lives[i][k] != ct->pid[i]; k++)
		;
	if (k == ct->nlives[i] && k < CTEST_LIVES_MAX)
		ct->lives[i][ct->nlives[i]++] = ct->pid[i];
	return 0;
}

/* Every node's current pid (a node restarted since has a new one). */
static void
ctest_read_pids(struct ctest *ct)
{
	int	 i;

	for (i = 1; i <= ct->nodes; i++)
		(void)ctest_read_pid(ct, i);
}

int
ctest_start(struct ctest *ct, int nodes, const char *conninfo, int restart)
{
	char		 n[16];
	const char	*extra[] = { "--backends", n, "--cluster",
	    "--node-prefix", "n", "--submit-rate", "0", "--conn-limit", "0",
	    "--stream-limit", "0", restart ? "--restart" : NULL, NULL };
	int		 i;

	memset(ct, 0, sizeof(*ct));
	if (nodes < 1 || nodes > CTEST_NODES_MAX)
		return -1;
	ct->nodes = nodes;
	snprintf(n, sizeof(n), "%d", nodes);
	snprintf(ct->dir, sizeof(ct->dir), "/tmp/sluice-ct.XXXXXX");
	if (mkdtemp(ct->dir) == NULL)
		return -1;
	snprintf(ct->conf, sizeof(ct->conf), "%s/cluster.conf", ct->dir);
	snprintf(ct->log, sizeof(ct->log), "%s/runs.log", ct->dir);
	if (ctest_write_conf(ct, conninfo) == -1 ||
	    itest_start(&ct->srv, ct->conf, NULL, extra) == -1)
		goto fail;
	for (i = 1; i <= nodes; i++) {
		ct->node[i] = ct->srv;
		snprintf(ct->node[i].unix_path, sizeof(ct->node[i].unix_path),
		    "%s/run/http-%d.sock", ct->srv.prefix, i);
		if (ctest_read_pid(ct, i) == -1)
			goto fail;
	}
	return 0;
fail:
	ctest_stop(ct);
	return -1;
}

int
ctest_stop(struct ctest *ct)
{
	int	 rc = -1;

	if (ct->srv.pid > 0)
		rc = itest_stop(&ct->srv);
	if (ct->srv.prefix[0] != '\0')
		rm_tree(ct->srv.prefix);
	if (ct->dir[0] != '\0')
		rm_tree(ct->dir);
	ct->srv.prefix[0] = ct->dir[0] = '\0';
	return rc;
}

int
ctest_signal(struct ctest *ct, int node, int sig)
{
	ctest_read_pids(ct);
	if (node < 1 || node > ct->nodes || ct->pid[node] <= 0)
		return -1;
	return kill(ct->pid[node], sig);
}

int
ctest_node_of(const struct ctest *ct, pid_t pid)
{
	int	 i, k;

	for (i = 1; i <= ct->nodes; i++)
		for (k = 0; k < ct->nlives[i]; k++)
			if (ct->lives[i][k] == pid)
				return i;
	return 0;
}

int
ctest_pg(const char *verb)
{
	const char	*ctl = getenv("SLUICE_TEST_PG_CTL");
	char		 cmd[1024];

	if (ctl == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s %s", ctl, verb);
	return system(cmd) == 0 ? 0 : -1;
}

/* One log line into r; 0 or -1. */
static int
ctest_run_parse(const struct ctest *ct, const char *line,
    struct ctest_run *r)
{
	json_t		*o;
	const char	*job, *slot;
	int		 rc = -1;

	if ((o = json_loads(line, 0, NULL)) == NULL)
		return -1;
	job = json_string_value(json_object_get(o, "job"));
	slot = json_string_value(json_object_get(o, "slot"));
	if (job != NULL && strlen(job) == 32 &&
	    json_is_integer(json_object_get(o, "ppid"))) {
		memcpy(r->job, job, 33);
		r->node = ctest_node_of(ct, (pid_t)json_integer_value(
		    json_object_get(o, "ppid")));
		r->slot = slot != NULL ? atoi(slot) : -1;
		rc = 0;
	}
	json_decref(o);
	return rc;
}

int
ctest_runs(struct ctest *ct, struct ctest_run **runs, size_t *n)
{
	struct buf	 b;
	struct ctest_run *v = NULL, *nv;
	char		*line, *save = NULL;
	size_t		 cap = 0;
	int		 rc = -1;

	*runs = NULL;
	*n = 0;
	ctest_read_pids(ct);
	buf_init(&b);
	if (ctest_read(ct->log, &b) == -1) {
		/* No job ran yet: no log. */
		buf_free(&b);
		return 0;
	}
	for (line = strtok_r(b.data, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 64;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL)
				goto out;
			v = nv;
		}
		if (ctest_run_parse(ct, line, &v[*n]) == -1)
			goto out;
		(*n)++;
	}
	rc = 0;
out:
	buf_free(&b);
	if (rc == -1) {
		free(v);
		v = NULL;
		*n = 0;
	}
	*runs = v;
	return rc;
}

int
ctest_run_count(const struct ctest_run *runs, size_t n, const char *id,
    int *node)
{
	size_t	 i;
	int	 count = 0;

	for (i = 0; i < n; i++)
		if (strcmp(runs[i].job, id) == 0) {
			count++;
			if (node != NULL)
				*node = runs[i].node;
		}
	return count;
}

int
ctest_submit(const struct itest_server *s, const char *sid, const char *csrf,
    const char *task, const char *fields, char id[33], long *status,
    char *retry_after, size_t ralen)
{
	static const char *const form[] = {
		"Content-Type: application/x-www-form-urlencoded", NULL };
	struct itest_resp	 r;
	char			 body[2048], path[128];
	int			 rc;

	*status = 0;
	if (retry_after != NULL && ralen > 0)
		retry_after[0] = '\0';
	snprintf(body, sizeof(body), "csrf=%s%s%s", csrf,
	    fields[0] != '\0' ? "&" : "", fields);
	snprintf(path, sizeof(path), "/tasks/%s", task);
	if (itest_req(s, "POST", path, body, strlen(body), form, sid,
	    &r) == -1)
		return -1;
	*status = r.status;
	if ((rc = itest_job_location(&r, id)) == -1 && retry_after != NULL)
		(void)itest_header(&r, "Retry-After", retry_after, ralen);
	itest_resp_free(&r);
	return rc;
}
