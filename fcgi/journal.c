/*
 * journal: the durable job store (see journal.h for the contract). This
 * file holds what does not depend on where the rows are kept, and the
 * journal.h calls that hand over to the store's table (j->ops): the rows
 * are in SQLite (journal_sqlite*.c) or PostgreSQL (journal_pg*.c), the
 * result files in STATE/results (journal_files.c). The layout is in
 * journal_int.h.
 *
 * Errors: the message of a failed call is kept in a thread-local buffer
 * together with the journal it concerns, so journal_error() answers "this
 * thread's last failed call" without racing other threads; the pointer
 * stays valid until this thread's next failing journal call.
 */
#include "config.h"

#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_files.h"
#include "journal_int.h"

#define JOURNAL_ERR_MAX		512

/* This thread's last failure: which journal, and the message. */
struct journal_err {
	const struct journal	*j;
	char			 msg[JOURNAL_ERR_MAX];
};

static __thread struct journal_err journal_tls_err;

/* Records a failure of this thread's current call on j. */
void
journal_seterr(struct journal *j, const char *fmt, ...)
{
	va_list	 ap;

	va_start(ap, fmt);
	vsnprintf(journal_tls_err.msg, sizeof(journal_tls_err.msg), fmt, ap);
	va_end(ap);
	journal_tls_err.j = j;
}

/* Forgets this thread's last error if it concerns j. */
void
journal_err_forget(const struct journal *j)
{
	if (journal_tls_err.j == j)
		journal_tls_err.j = NULL;
}

/*
 * The message of this thread's last failed call on j ("no error" when
 * this thread has had none on j). The pointer is valid until this thread
 * makes another journal call that fails. Thread-safe.
 */
const char *
journal_error(struct journal *j)
{
	if (journal_tls_err.j != j || journal_tls_err.msg[0] == '\0')
		return "no error";
	return journal_tls_err.msg;
}

/* Checks that jb can be recorded as final; 0, or -1 with the error set. */
int
journal_final_ok(struct journal *j, const struct job *jb, const char *func)
{
	if (!job_id_valid(jb->id)) {
		journal_seterr(j, "%s: invalid job id", func);
		return -1;
	}
	if (!job_state_final(jb->state) || job_state_name(jb->state) == NULL) {
		journal_seterr(j, "%s: job %s: state is not final", func,
		    jb->id);
		return -1;
	}
	return 0;
}

/* Frees an array from journal_session_jobs() (NULL is fine). */
void
journal_free_jobs(struct job *v, int n)
{
	int	 i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++)
		job_clear(&v[i]);
	free(v);
}

int
journal_base_init(struct journal *j, const struct journal_store_ops *ops,
    const char *state_dir, char *err, size_t errlen)
{
	int	 rc;

	if ((rc = pthread_mutex_init(&j->mtx, NULL)) != 0) {
		snprintf(err, errlen, "%s: mutex: %s", state_dir, strerror(rc));
		return -1;
	}
	j->ops = ops;	/* journal_base_free: the mutex exists */
	if ((j->state_dir = strdup(state_dir)) == NULL ||
	    (j->results_dir = journal_join(state_dir, JOBDIR_ROOT)) == NULL ||
	    (j->recent = journal_recent_new()) == NULL) {
		snprintf(err, errlen, "%s: out of memory", state_dir);
		return -1;
	}
	if (journal_mkdir(j->state_dir, err, errlen) == -1 ||
	    journal_mkdir(j->results_dir, err, errlen) == -1)
		return -1;
	return 0;
}

void
journal_base_free(struct journal *j)
{
	/* ops is set once the mutex exists (journal_base_init). */
	if (j->ops != NULL)
		pthread_mutex_destroy(&j->mtx);
	free(j->state_dir);
	free(j->results_dir);
	journal_recent_free(j->recent);
	journal_err_forget(j);
}

#ifndef HAVE_LIBPQ
static const char journal_no_pg[] = "cluster.database: this sluice was "
	"built without PostgreSQL (configure found no libpq)";
#endif

/*
 * Opens the journal with its rows in SQLite (STATE/jobs.db). NULL with a
 * message naming the path in err (err may be NULL when errlen is 0).
 */
struct journal *
journal_open(const char *state_dir, char *err, size_t errlen)
{
	return journal_open_db(NULL, state_dir, err, errlen);
}

/*
 * Opens the journal with its rows in database (NULL: SQLite). NULL with a
 * message in err (err may be NULL when errlen is 0).
 */
struct journal *
journal_open_db(const char *database, const char *state_dir, char *err,
    size_t errlen)
{
	char	 dummy[256];

	if (err == NULL || errlen == 0) {
		err = dummy;
		errlen = sizeof(dummy);
	}
	err[0] = '\0';
	if (state_dir == NULL || state_dir[0] == '\0') {
		snprintf(err, errlen, "journal: no state directory given");
		return NULL;
	}
	if (database == NULL)
		return journal_sqlite_open(state_dir, err, errlen);
#ifdef HAVE_LIBPQ
	return journal_pg_open(database, state_dir, err, errlen);
#else
	snprintf(err, errlen, "%s", journal_no_pg);
	return NULL;
#endif
}

int
journal_db_check(const char *database, char *err, size_t errlen)
{
#ifdef HAVE_LIBPQ
	return journal_pg_check(database, err, errlen);
#else
	(void)database;
	snprintf(err, errlen, "%s", journal_no_pg);
	return -1;
#endif
}

/* Closes the journal's store and frees it; no other thread may use it. */
void
journal_close(struct journal *j)
{
	if (j != NULL)
		j->ops->close(j);
}

const char *
journal_unwritable(struct journal *j)
{
	return j->ops->unwritable(j);
}

int
journal_probe(struct journal *j)
{
	return j->ops->probe(j);
}

/*
 * Inserts jb (queued, as the scheduler gives it; a seq <= 0 takes
 * MAX(seq) + 1). -1 for an invalid id or state, a duplicate id, seq or
 * (session, nonce). Committed on return.
 */
int
journal_insert(struct journal *j, const struct job *jb)
{
	if (!job_id_valid(jb->id)) {
		journal_seterr(j, "%s: invalid job id", __func__);
		return -1;
	}
	if (job_state_name(jb->state) == NULL) {
		journal_seterr(j, "%s: job %s: invalid state", __func__,
		    jb->id);
		return -1;
	}
	return j->ops->insert(j, jb);
}

int
journal_start(struct journal *j, const char *id, int64_t started_ms,
    int slot, const char *device)
{
	if (!job_id_valid(id)) {
		journal_seterr(j, "%s: invalid job id", __func__);
		return -1;
	}
	return j->ops->start(j, id, started_ms, slot, device);
}

void
journal_set_node(struct journal *j, const char *node, int64_t generation)
{
	/* Under the mutex: a rejoin changes it while calls run. */
	pthread_mutex_lock(&j->mtx);
	snprintf(j->node, sizeof(j->node), "%s", node);
	j->generation = generation;
	pthread_mutex_unlock(&j->mtx);
}

int64_t
journal_generation(struct journal *j)
{
	int64_t	 g;

	pthread_mutex_lock(&j->mtx);
	g = j->generation;
	pthread_mutex_unlock(&j->mtx);
	return g;
}

/* 1 when j is a node of a cluster whose store speaks for it. */
static int
journal_clustered(const struct journal *j)
{
	return j->node[0] != '\0' && j->ops->admit != NULL;
}

int
journal_admit(struct journal *j, struct job *jb, int max_active,
    char old_id[JOB_ID_LEN + 1])
{
	if (!journal_clustered(j))
		return journal_insert(j, jb);
	if (!job_id_valid(jb->id) || jb->state != JOB_QUEUED) {
		journal_seterr(j, "%s: invalid job id or state", __func__);
		return -1;
	}
	return j->ops->admit(j, jb, max_active, old_id);
}

int
journal_claim(struct journal *j, const char *id, int64_t *started_ms,
    int slot, const char *device, const struct journal_slot *cl, size_t n)
{
	if (!journal_clustered(j))
		return journal_start(j, id, *started_ms, slot, device);
	if (!job_id_valid(id)) {
		journal_seterr(j, "%s: invalid job id", __func__);
		return -1;
	}
	return j->ops->claim(j, id, started_ms, slot, device, cl, n);
}

int
journal_notify(struct journal *j, const char *verb, const char *id)
{
	if (!journal_clustered(j))
		return 0;
	if (!job_id_valid(id) || strlen(verb) != 1) {
		journal_seterr(j, "%s: invalid job id or verb", __func__);
		return -1;
	}
	return j->ops->notify(j, verb, id);
}

int
journal_nodes(struct journal *j, struct journal_node **out, int64_t *queued)
{
	*out = NULL;
	*queued = 0;
	if (!journal_clustered(j)) {
		journal_seterr(j, "%s: not a node of a cluster", __func__);
		return -1;
	}
	return j->ops->nodes(j, out, queued);
}

int
journal_secret(struct journal *j, const char *name, unsigned char *secret,
    size_t len)
{
	if (!journal_clustered(j))
		return 0;
	if (len == 0 || len > 64) {
		journal_seterr(j, "%s: a secret is 1..64 bytes", __func__);
		return -1;
	}
	return j->ops->secret(j, name, secret, len);
}

/*
 * Records a final state of jb (state must be final): finished_ms, result,
 * error, files, has_png (forced to 1 when png is given), file_bytes, and
 * started_ms, slot and device too when jb has them. png, when not NULL,
 * is written first to STATE/results/ID.png (temp file + fsync + rename)
 * and png_len counted on top of jb->file_bytes; it is removed again if
 * the row cannot be updated. All or nothing: when the file cannot be
 * written, the row is not updated either. Committed on return.
 */
int
journal_finish(struct journal *j, const struct job *jb,
    const unsigned char *png, size_t png_len)
{
	char	 path[PATH_MAX];
	int	 ret;

	if (journal_final_ok(j, jb, __func__) == -1)
		return -1;
	if (png != NULL && png_len > INT64_MAX - 1 - (uint64_t)jb->file_bytes) {
		journal_seterr(j, "%s: job %s: result too large", __func__,
		    jb->id);
		return -1;
	}
	if (journal_png_build(j, jb->id, path, sizeof(path)) == -1) {
		journal_seterr(j, "%s: %s: path too long", __func__,
		    journal_results_dir(j));
		return -1;
	}
	/* The file first, outside the mutex: fsync may take a while. */
	if (png != NULL && journal_write_png(j, path, png, png_len) == -1)
		return -1;
	ret = j->ops->finish_row(j, jb, png != NULL || jb->has_png,
	    jb->file_bytes + (png != NULL ? (int64_t)png_len : 0), __func__);
	if (ret == -1 && png != NULL)
		journal_png_discard(path);
	return ret;
}

int
journal_get(struct journal *j, const char *id, struct job *out)
{
	if (!job_id_valid(id))
		return 0;	/* never one of ours */
	return j->ops->get(j, id, out);
}

int
journal_find_nonce(struct journal *j, const char *session, const char *nonce,
    struct job *out)
{
	if (session == NULL || nonce == NULL || nonce[0] == '\0')
		return 0;	/* an empty nonce never matches */
	return j->ops->find_nonce(j, session, nonce, out);
}

int
journal_session_jobs(struct journal *j, const char *session, int max,
    struct job **out)
{
	*out = NULL;
	if (session == NULL || max <= 0)
		return 0;
	return j->ops->session_jobs(j, session, max, out);
}

int
journal_running_jobs(struct journal *j, struct job **out)
{
	return j->ops->running_jobs(j, out);
}

int
journal_queued_jobs(struct journal *j, struct job **out)
{
	return j->ops->queued_jobs(j, 0, out);
}

int
journal_queued_after(struct journal *j, int64_t after_seq, struct job **out)
{
	return j->ops->queued_jobs(j, after_seq, out);
}

/*
 * The store's transaction, then, after it and without the journal's
 * mutex (cb may call the journal), each queued job to cb.
 */
int
journal_recover(struct journal *j, int64_t now_ms,
    void (*cb)(const struct job *, void *), void *arg)
{
	struct job	*v = NULL;
	int		 n, i;

	n = j->ops->recover(j, now_ms, &v);
	journal_recent_forget_all(j);
	if (n > 0 && cb != NULL)
		for (i = 0; i < n; i++)
			cb(&v[i], arg);
	journal_free_jobs(v, n);
	return n;
}

int64_t
journal_max_seq(struct journal *j)
{
	return j->ops->max_seq(j);
}

int
journal_evict(struct journal *j, int64_t now_ms, int64_t ttl_ms,
    int64_t max_bytes, void (*cb)(const char *id, void *), void *arg)
{
	return j->ops->evict(j, now_ms, ttl_ms, max_bytes, cb, arg);
}

int64_t
journal_result_bytes(struct journal *j)
{
	return j->ops->result_bytes(j);
}

/* STATE/results; never changes after open, so no lock. */
const char *
journal_results_dir(const struct journal *j)
{
	return j->results_dir;
}

/*
 * results.max_bytes and sessions.max_result_bytes (<= 0: no limit), kept
 * from the next final write on. Thread-safe.
 */
void
journal_set_limits(struct journal *j, int64_t max_bytes,
    int64_t max_session_bytes)
{
	pthread_mutex_lock(&j->mtx);
	j->max_bytes = max_bytes;
	j->max_session_bytes = max_session_bytes;
	pthread_mutex_unlock(&j->mtx);
}

/*
 * cb gets the id of each job whose files a final write removed to make
 * room, after the commit and without the journal's mutex. Set it before
 * any write (not thread-safe against them).
 */
void
journal_on_evict(struct journal *j, void (*cb)(const char *id, void *),
    void *arg)
{
	j->evicted = cb;
	j->evicted_arg = arg;
}

/* Appends id (not one of ours: skipped) to l; 0, or -1 on ENOMEM. */
int
journal_ids_add(struct journal_ids *l, const unsigned char *id)
{
	char	(*nv)[JOB_ID_LEN + 1];
	size_t	 ncap;

	if (id == NULL || !job_id_valid((const char *)id))
		return 0;	/* not ours: leave it alone */
	if (l->n == l->cap) {
		ncap = l->cap ? l->cap * 2 : 64;
		if (ncap > SIZE_MAX / sizeof(*l->id))
			return -1;
		if ((nv = realloc(l->id, ncap * sizeof(*l->id))) == NULL)
			return -1;
		l->id = nv;
		l->cap = ncap;
	}
	memcpy(l->id[l->n++], id, JOB_ID_LEN + 1);
	return 0;
}

/* After the commit: removes the files of l's jobs from index from on. */
void
journal_room_unlink(struct journal *j, const struct journal_ids *l,
    size_t from)
{
	const char	*root = journal_results_dir(j);
	size_t		 i;

	for (i = from; i < l->n; i++) {
		(void)journal_png_unlink(j, l->id[i], __func__);
		if (jobdir_remove(root, l->id[i]) == -1)
			fprintf(stderr, "level=warn msg=\"result files of a job "
			    "not removed\" job=%s\n", l->id[i]);
	}
}
