/*
 * journal_pg_files: a job's files in the cluster's database (the table
 * job_files), so that every node serves them and any node can run a job
 * that has uploads. The uploads are stored in the admission's
 * transaction, the outputs in the final write's (after its fence: a
 * refused end stores none; a repeated one adds nothing), and both go
 * with the row (eviction) or with its files (room for results).
 *
 * In the cluster a node's disk holds a job's files only while it runs
 * there: the admitting node's copy goes once the admission commits, the
 * running node fetches the uploads before the run (journal_files_fetch)
 * and drops the directory after the final write. So no node keeps files
 * that another node's eviction made stale. On one machine (no node set)
 * nothing here runs: the files stay on its disk.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libpq-fe.h>

#include "jobdir.h"
#include "journal.h"
#include "journal_int.h"
#include "journal_pg.h"

/* A kind as the table spells it. */
static const char *const jpg_kind[] = {
	[JOBDIR_IN] = "in",
	[JOBDIR_OUT] = "out"
};

/* Reads the regular file fd whole into *data (malloc'd). 0 or -1. */
static int
jpg_read_whole(int fd, unsigned char **data, size_t *len)
{
	struct stat	 st;
	size_t		 got = 0;
	ssize_t		 n;

	*data = NULL;
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > INT_MAX) {
		errno = EFBIG;
		return -1;
	}
	if ((*data = malloc((size_t)st.st_size + 1)) == NULL)
		return -1;
	while (got < (size_t)st.st_size) {
		n = read(fd, *data + got, (size_t)st.st_size - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0) {
			free(*data);
			*data = NULL;
			errno = n == 0 ? EIO : errno;	/* shrank under us */
			return -1;
		}
		got += (size_t)n;
	}
	*len = got;
	return 0;
}

/*
 * In the caller's transaction, with the mutex: the local file name (of
 * kind) of job id into the table; one already there stays. A file that
 * is not on this disk is skipped: its row says what there is. 0 or -1.
 */
static int
jpg_file_put(struct journal *j, const char *id, enum jobdir_kind kind,
    const char *name, const char *func)
{
	struct jpg_params	 p = { .n = 0 };
	unsigned char		*data = NULL;
	size_t			 len = 0;
	int			 fd, rc = -1;

	if ((fd = jobdir_open(journal_results_dir(j), id, kind, name)) == -1) {
		if (errno == ENOENT)
			return 0;
		journal_seterr(j, "%s: job %s: file %s: %s", func, id, name,
		    strerror(errno));
		return -1;
	}
	if (jpg_read_whole(fd, &data, &len) == -1) {
		journal_seterr(j, "%s: job %s: file %s: %s", func, id, name,
		    strerror(errno));
		goto out;
	}
	jpg_str(&p, id);
	jpg_str(&p, jpg_kind[kind]);
	jpg_str(&p, name);
	jpg_bin(&p, data, len);
	if (journal_pg_cmd(j, "INSERT INTO job_files (job, kind, name, data) "
	    "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING", &p, func) != -1)
		rc = 0;
out:
	free(data);
	close(fd);
	return rc;
}

int
journal_pg_files_put(struct journal *j, const char *id, enum jobdir_kind kind,
    const char *list, const char *func)
{
	json_t		*v, *e;
	const char	*key, *name;
	size_t		 i;
	int		 rc = 0;

	if (j->node[0] == '\0' || list == NULL)
		return 0;
	if ((v = json_loads(list, 0, NULL)) == NULL) {
		journal_seterr(j, "%s: job %s: its list of files is not JSON",
		    func, id);
		return -1;
	}
	if (kind == JOBDIR_IN) {
		json_object_foreach(v, key, e)
			if (rc == 0 && jobdir_name_ok(key))
				rc = jpg_file_put(j, id, kind, key, func);
	} else {
		json_array_foreach(v, i, e) {
			name = json_string_value(json_object_get(e, "name"));
			if (rc == 0 && name != NULL && jobdir_name_ok(name))
				rc = jpg_file_put(j, id, kind, name, func);
		}
	}
	json_decref(v);
	return rc;
}

int
journal_pg_files_read(struct journal *j, const char *id,
    enum jobdir_kind kind, const char *name, journal_file_cb cb, void *arg)
{
	static const char	 func[] = "journal_file_open";
	struct jpg_params	 p = { .n = 0 };
	PGresult		*res = NULL;
	char			 fname[JOBDIR_NAME_MAX + 1];
	int			 i, n = -1;

	jpg_str(&p, id);
	jpg_str(&p, jpg_kind[kind]);
	jpg_str(&p, name);
	p.binary_result = 1;	/* the bytes, not their hex */
	if (journal_pg_enter(j, func) == 0)
		res = journal_pg_run(j, "SELECT name, data FROM job_files "
		    "WHERE job = $1 AND kind = $2 AND ($3::text IS NULL OR "
		    "name = $3) ORDER BY name", &p, func);
	pthread_mutex_unlock(&j->mtx);
	if (res == NULL)
		return -1;
	/* The rows outlive the connection's turn: cb runs unlocked. */
	for (i = 0, n = 0; i < PQntuples(res) && n >= 0; i++) {
		if (PQgetlength(res, i, 0) > JOBDIR_NAME_MAX)
			continue;
		memcpy(fname, PQgetvalue(res, i, 0), (size_t)PQgetlength(res,
		    i, 0));
		fname[PQgetlength(res, i, 0)] = '\0';
		if (!jobdir_name_ok(fname))
			continue;
		if (cb(fname, (const unsigned char *)PQgetvalue(res, i, 1),
		    (size_t)PQgetlength(res, i, 1), arg) == -1) {
			journal_seterr(j, "%s: job %s: file %s: %s", func, id,
			    fname, strerror(errno));
			n = -1;
		} else
			n++;
	}
	PQclear(res);
	return n;
}
