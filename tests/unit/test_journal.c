/*
 * Unit tests for journal.c: round trips, PNG results, nonces, session
 * listings, crash recovery (a SIGKILLed child), eviction, concurrency and
 * open errors. Each test gets its own state directory under /tmp.
 */
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <sqlite3.h>

#include "rm_tree.h"
#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_sqlite.h"
#include "journal_store.h"

#define S1	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define S2	"bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define NOW	((int64_t)1700000000000)

static char		 tdir[64];
static struct journal	*jr;

static void
setup(void)
{
	char	 err[256];

	test_store_new();
	strcpy(tdir, "/tmp/sluice-journal-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir), "mkdtemp: %s", strerror(errno));
	jr = test_open(tdir, err, sizeof(err));
	cr_assert_not_null(jr, "journal_open: %s", err);
}

static void
teardown(void)
{
	journal_close(jr);
	jr = NULL;
	if (tdir[0] != '\0')
		rm_tree(tdir);
}

/* A queued job of session s, fields derived from seq. Caller job_clear()s. */
static void
mk(struct job *j, int64_t seq, const char *s, const char *nonce)
{
	char	 tmp[64];

	memset(j, 0, sizeof(*j));
	job_new_id(j->id);
	strcpy(j->session, s);
	strcpy(j->nonce, nonce);
	/* A documentation address (RFC 5737), one per seq. */
	snprintf(j->client, sizeof(j->client), "192.0.2.%d", (int)(seq % 250));
	j->task = strdup("burn");
	j->kernel = strdup("burn");
	j->locks = strdup("[\"cpu\"]");
	snprintf(tmp, sizeof(tmp), "{\"ms\":%lld}", (long long)seq);
	j->params = strdup(tmp);
	cr_assert(j->task && j->kernel && j->locks && j->params);
	j->state = JOB_QUEUED;
	j->seq = seq;
	j->created_ms = NOW + seq;
	j->slot = -1;
	j->eta_ms = -1;
}

static void
insert(struct job *j)
{
	cr_assert_eq(journal_insert(jr, j), 0, "insert: %s",
	    journal_error(jr));
}

static void
finish(struct job *j, enum job_state st, int64_t fin, const char *png)
{
	j->state = st;
	j->finished_ms = fin;
	cr_assert_eq(journal_finish(jr, j, (const unsigned char *)png,
	    png ? strlen(png) : 0), 0, "finish: %s", journal_error(jr));
}

static int
exists(const char *path)
{
	struct stat	 sb;

	return stat(path, &sb) == 0;
}

static void
png_path(const char *id, char *out)
{
	cr_assert_eq(journal_png_path(jr, id, out, PATH_MAX), 0);
}

static char *
slurp(const char *path)
{
	FILE	*f = fopen(path, "rb");
	char	*s;
	long	 n;

	if (f == NULL)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	s = calloc(1, (size_t)n + 1);
	cr_assert_not_null(s);
	cr_assert_eq(fread(s, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return s;
}

static int
str_eq_null(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static void
assert_same(const struct job *a, const struct job *b)
{
	cr_assert_str_eq(a->id, b->id);
	cr_assert_str_eq(a->session, b->session);
	cr_assert_str_eq(a->nonce, b->nonce);
	cr_assert_str_eq(a->client, b->client);
	cr_assert(str_eq_null(a->task, b->task));
	cr_assert(str_eq_null(a->kernel, b->kernel));
	cr_assert(str_eq_null(a->locks, b->locks));
	cr_assert(str_eq_null(a->params, b->params));
	cr_assert_eq(a->state, b->state);
	cr_assert_eq(a->seq, b->seq);
	cr_assert_eq(a->created_ms, b->created_ms);
	cr_assert_eq(a->started_ms, b->started_ms);
	cr_assert_eq(a->finished_ms, b->finished_ms);
	cr_assert_eq(a->slot, b->slot);
	cr_assert_str_eq(a->device, b->device);
	cr_assert(str_eq_null(a->result, b->result));
	cr_assert(str_eq_null(a->error, b->error));
	cr_assert_eq(!!a->has_png, !!b->has_png);
}

TestSuite(journal, .init = setup, .fini = teardown);

Test(journal, creates_layout)
{
	char		 p[PATH_MAX];
	struct stat	 sb;

#ifndef JOURNAL_TEST_PG
	snprintf(p, sizeof(p), "%s/jobs.db", tdir);
	cr_assert(exists(p));
#endif
	snprintf(p, sizeof(p), "%s/results", tdir);
	cr_assert_eq(stat(p, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777 & ~0750, 0, "mode %o", sb.st_mode);
	cr_assert_eq(journal_max_seq(jr), 0);
	cr_assert_eq(journal_result_bytes(jr), 0);
}

#ifndef JOURNAL_TEST_PG	/* SQLite's files */
Test(journal, uses_wal)
{
	struct job	 a;
	char		 p[PATH_MAX];

	mk(&a, 1, S1, "");
	insert(&a);
	job_clear(&a);
	snprintf(p, sizeof(p), "%s/jobs.db-wal", tdir);
	cr_assert(exists(p), "no WAL file: journal_mode is not WAL");
}
#endif

Test(journal, insert_get_round_trip_every_field)
{
	struct job	 a, b;

	mk(&a, 42, S1, "nonce-1");
	free(a.task);
	a.task = strdup("mandel \"brot\" ' é");
	a.state = JOB_DONE;
	a.started_ms = NOW + 100;
	a.finished_ms = NOW + 200;
	a.slot = 3;
	strcpy(a.device, "cuda:12");
	a.result = strdup("{\"ms\":1.5,\"s\":\"x'y\"}");
	a.error = strdup("it's \"fine\"; DROP TABLE jobs; --");
	a.has_png = 1;
	insert(&a);
	cr_assert_eq(journal_get(jr, a.id, &b), 1, "%s", journal_error(jr));
	assert_same(&a, &b);
	cr_assert_eq(b.eta_ms, -1);
	job_clear(&b);

	/* NULL strings come back NULL. */
	job_clear(&a);
	mk(&a, 43, S1, "");
	free(a.task);
	free(a.params);
	a.task = a.params = NULL;
	insert(&a);
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	assert_same(&a, &b);
	job_clear(&b);
	job_clear(&a);
	cr_assert_eq(journal_max_seq(jr), 43);
}

Test(journal, get_missing_and_malformed)
{
	struct job	 b;

	cr_assert_eq(journal_get(jr, "0123456789abcdef0123456789abcdef", &b),
	    0);
	cr_assert_eq(journal_get(jr, "' OR 1=1 --", &b), 0);
	cr_assert_eq(journal_get(jr, "", &b), 0);
}

Test(journal, duplicate_id_refused)
{
	struct job	 a;

	mk(&a, 1, S1, "");
	insert(&a);
	a.seq = 2;
	cr_assert_eq(journal_insert(jr, &a), -1);
	cr_assert(strstr(journal_error(jr), "journal_insert") != NULL, "%s",
	    journal_error(jr));
	cr_assert(strstr(journal_error(jr), a.id) != NULL);
	job_clear(&a);
}

Test(journal, invalid_id_refused)
{
	struct job	 a;

	mk(&a, 1, S1, "");
	strcpy(a.id, "not-an-id");
	cr_assert_eq(journal_insert(jr, &a), -1);
	cr_assert(strstr(journal_error(jr), "invalid job id") != NULL);
	job_clear(&a);
}

Test(journal, seq_zero_is_assigned)
{
	struct job	 a, b, c;

	mk(&a, 10, S1, "");
	insert(&a);
	mk(&b, 0, S1, "");
	insert(&b);
	cr_assert_eq(journal_get(jr, b.id, &c), 1);
	cr_assert_eq(c.seq, 11);
	cr_assert_eq(journal_max_seq(jr), 11);
	job_clear(&a);
	job_clear(&b);
	job_clear(&c);
}

Test(journal, start_then_finish)
{
	struct job	 a, b;

	mk(&a, 1, S1, "");
	insert(&a);
	cr_assert_eq(journal_start(jr, a.id, NOW + 5, 1, "cuda:5"), 0, "%s",
	    journal_error(jr));
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	cr_assert_eq(b.state, JOB_RUNNING);
	cr_assert_eq(b.started_ms, NOW + 5);
	cr_assert_eq(b.slot, 1);
	cr_assert_str_eq(b.device, "cuda:5");
	cr_assert_eq(b.finished_ms, 0);
	job_clear(&b);

	a.started_ms = 0;	/* finish keeps what start recorded */
	a.result = strdup("{\"elapsed_ms\":3}");
	finish(&a, JOB_DONE, NOW + 9, NULL);
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	cr_assert_eq(b.state, JOB_DONE);
	cr_assert_eq(b.started_ms, NOW + 5);
	cr_assert_eq(b.finished_ms, NOW + 9);
	cr_assert_eq(b.slot, 1);
	cr_assert_str_eq(b.device, "cuda:5");
	cr_assert_str_eq(b.result, "{\"elapsed_ms\":3}");
	cr_assert_null(b.error);
	cr_assert_eq(b.has_png, 0);
	job_clear(&b);
	job_clear(&a);
}

Test(journal, finish_states_and_errors)
{
	struct job	 a, b;

	mk(&a, 1, S1, "");
	insert(&a);
	a.error = strdup("waited too long");
	finish(&a, JOB_EXPIRED, NOW + 1, NULL);
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	cr_assert_eq(b.state, JOB_EXPIRED);
	cr_assert_str_eq(b.error, "waited too long");
	cr_assert_eq(b.started_ms, 0);
	cr_assert_eq(b.slot, -1);
	cr_assert_str_eq(b.device, "");
	job_clear(&b);

	a.state = JOB_RUNNING;	/* not final */
	cr_assert_eq(journal_finish(jr, &a, NULL, 0), -1);
	cr_assert(strstr(journal_error(jr), "not final") != NULL);
	job_clear(&a);

	mk(&a, 2, S1, "");	/* never inserted */
	a.state = JOB_DONE;
	cr_assert_eq(journal_finish(jr, &a, (const unsigned char *)"x", 1),
	    -1);
	cr_assert(strstr(journal_error(jr), "no such job") != NULL, "%s",
	    journal_error(jr));
	cr_assert_eq(journal_start(jr, a.id, NOW, 0, "cpu"), -1);
	cr_assert(strstr(journal_error(jr), "no such job") != NULL);
	job_clear(&a);
	/* The orphan PNG was removed again. */
	cr_assert_eq(journal_result_bytes(jr), 0);
}

Test(journal, png_written_and_counted)
{
	static const char png[] = "\x89PNG\r\n\x1a\n fake image data";
	struct job	 a, b;
	char		 p[PATH_MAX], *got;
	DIR		*d;
	struct dirent	*de;
	int		 files = 0;

	mk(&a, 1, S1, "");
	insert(&a);
	a.result = strdup("{\"ms\":2}");
	finish(&a, JOB_DONE, NOW + 2, png);
	png_path(a.id, p);
	cr_assert(strncmp(p, tdir, strlen(tdir)) == 0);
	cr_assert(strstr(p, "/results/") != NULL);
	cr_assert(strstr(p, a.id) != NULL);
	got = slurp(p);
	cr_assert_not_null(got, "%s missing", p);
	cr_assert_eq(memcmp(got, png, sizeof(png) - 1), 0);
	free(got);
	cr_assert_eq(journal_result_bytes(jr), (int64_t)strlen(png));
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	cr_assert_eq(b.has_png, 1);
	job_clear(&b);

	/* Only the final file: no temporary left behind. */
	snprintf(p, sizeof(p), "%s/results", tdir);
	cr_assert_not_null(d = opendir(p));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			files++;
	closedir(d);
	cr_assert_eq(files, 1);
	job_clear(&a);
}

/*
 * The final write of a job whose files are stored already (jobdir.h):
 * the row alone, with files, has_png and file_bytes (inputs counted
 * from the insert on). A row that cannot be written (no such job)
 * leaves the files for the retry; eviction removes the job's directory.
 */
Test(journal, finish_stored_counts_every_file)
{
	struct job	 a, b, ghost;
	char		 p[PATH_MAX], err[256];

	mk(&a, 1, S1, "");
	a.inputs = strdup("{\"photo\":{\"type\":\"image/png\",\"bytes\":4,"
	    "\"filename\":\"x.png\"}}");
	a.file_bytes = 4;
	cr_assert_eq(jobdir_write(journal_files_root(jr), a.id, JOBDIR_IN,
	    "photo", "\x89PNG", 4, err, sizeof(err)), 0, "%s", err);
	insert(&a);
	cr_expect_eq(journal_result_bytes(jr), 4, "inputs count at once");
	cr_assert_eq(jobdir_write(journal_files_root(jr), a.id, JOBDIR_OUT,
	    "image", "0123456789", 10, err, sizeof(err)), 0, "%s", err);

	mk(&ghost, 2, S1, "");	/* never inserted */
	ghost.state = JOB_DONE;
	cr_expect_eq(journal_finish_stored(jr, &ghost), -1);

	a.state = JOB_DONE;
	a.finished_ms = NOW + 5;
	a.has_png = 1;
	a.files = strdup("[{\"name\":\"image\",\"type\":\"image/png\","
	    "\"bytes\":10}]");
	a.file_bytes = 14;
	cr_assert_eq(journal_finish_stored(jr, &a), 0, "%s", journal_error(jr));
	cr_expect_eq(journal_result_bytes(jr), 14);
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	cr_expect_eq(b.state, JOB_DONE);
	cr_expect_eq(b.has_png, 1);
	cr_expect_eq(b.file_bytes, 14);
	cr_expect_str_eq(b.files, a.files);
	cr_expect_str_eq(b.inputs, a.inputs);
	job_clear(&b);

	/* Not final: refused. */
	mk(&b, 3, S1, "");
	insert(&b);
	cr_expect_eq(journal_finish_stored(jr, &b), -1, "queued");

	cr_assert_eq(journal_evict(jr, NOW + 10, 0, -1, NULL, NULL), 1);
	cr_assert_eq(jobdir_path(journal_files_root(jr), a.id, JOBDIR_IN, NULL,
	    p, sizeof(p)), 0);
	*strrchr(p, '/') = '\0';
	cr_expect(!exists(p), "%s removed with the job", p);
	cr_expect_eq(journal_result_bytes(jr), 0);
	job_clear(&a);
	job_clear(&b);
	job_clear(&ghost);
}

/* Eviction by bytes counts uploads and outputs, not just images. */
Test(journal, evict_by_bytes_counts_files)
{
	struct job	 a, b, got;

	mk(&a, 1, S1, "");
	a.file_bytes = 600;
	insert(&a);
	mk(&b, 2, S1, "");
	b.file_bytes = 600;
	insert(&b);
	a.state = JOB_DONE;
	a.finished_ms = NOW + 1;
	cr_assert_eq(journal_finish_stored(jr, &a), 0);
	b.state = JOB_DONE;
	b.finished_ms = NOW + 2;
	cr_assert_eq(journal_finish_stored(jr, &b), 0);
	cr_expect_eq(journal_evict(jr, NOW + 3, -1, 1000, NULL, NULL), 1);
	/* The older one lost its files; its row stays until the TTL. */
	cr_assert_eq(journal_get(jr, a.id, &got), 1);
	cr_expect_eq(got.file_bytes, 0);
	cr_expect_eq(got.removed_ms, NOW + 3);
	job_clear(&got);
	cr_expect_eq(journal_result_bytes(jr), 600);
	job_clear(&a);
	job_clear(&b);
}

Test(journal, png_path_checks)
{
	char	 p[PATH_MAX], small[8];

	cr_assert_eq(journal_png_path(jr, "../../etc/passwd", p, sizeof(p)),
	    -1);
	cr_assert_eq(journal_png_path(jr, "0123456789abcdef0123456789abcdef",
	    small, sizeof(small)), -1);
	cr_assert_eq(journal_png_path(jr, "0123456789abcdef0123456789abcdef",
	    p, sizeof(p)), 0);
	cr_assert(strstr(p, "/results/0123456789abcdef0123456789abcdef.png")
	    != NULL, "%s", p);
}

Test(journal, nonce_lookup)
{
	struct job	 a, b, c, out;

	mk(&a, 1, S1, "form-123");
	insert(&a);
	cr_assert_eq(journal_find_nonce(jr, S1, "form-123", &out), 1);
	cr_assert_str_eq(out.id, a.id);
	cr_assert_str_eq(out.nonce, "form-123");
	job_clear(&out);
	cr_assert_eq(journal_find_nonce(jr, S2, "form-123", &out), 0);
	cr_assert_eq(journal_find_nonce(jr, S1, "form-124", &out), 0);
	cr_assert_eq(journal_find_nonce(jr, S1, "", &out), 0);

	/* The same (session, nonce) cannot make a second job... */
	mk(&b, 2, S1, "form-123");
	cr_assert_eq(journal_insert(jr, &b), -1);
	/* SQLite says "UNIQUE constraint", PostgreSQL "unique constraint". */
	cr_assert(strcasestr(journal_error(jr), "unique") != NULL, "%s",
	    journal_error(jr));
	job_clear(&b);
	/* ...another session can, and empty nonces never collide. */
	mk(&b, 3, S2, "form-123");
	insert(&b);
	mk(&c, 4, S1, "");
	insert(&c);
	job_clear(&c);
	mk(&c, 5, S1, "");
	insert(&c);
	cr_assert_eq(journal_find_nonce(jr, S2, "form-123", &out), 1);
	cr_assert_str_eq(out.id, b.id);
	job_clear(&out);
	job_clear(&a);
	job_clear(&b);
	job_clear(&c);
}

Test(journal, session_jobs_newest_first)
{
	struct job	 a, *v;
	char		 ids[6][JOB_ID_LEN + 1];
	int		 i, n;

	for (i = 1; i <= 5; i++) {
		mk(&a, i * 2, S1, "");	/* seq 2,4,6,8,10 */
		insert(&a);
		strcpy(ids[i], a.id);
		job_clear(&a);
		mk(&a, i * 2 + 1, S2, "");
		if (i <= 2)
			insert(&a);
		job_clear(&a);
	}
	n = journal_session_jobs(jr, S1, 3, &v);
	cr_assert_eq(n, 3, "%d: %s", n, journal_error(jr));
	cr_assert_str_eq(v[0].id, ids[5]);
	cr_assert_str_eq(v[1].id, ids[4]);
	cr_assert_str_eq(v[2].id, ids[3]);
	cr_assert_eq(v[0].seq, 10);
	cr_assert_str_eq(v[0].params, "{\"ms\":10}");
	journal_free_jobs(v, n);

	n = journal_session_jobs(jr, S1, 100, &v);
	cr_assert_eq(n, 5);
	for (i = 0; i < 5; i++)
		cr_assert_str_eq(v[i].id, ids[5 - i]);
	journal_free_jobs(v, n);

	n = journal_session_jobs(jr, S2, 100, &v);
	cr_assert_eq(n, 2);
	cr_assert_eq(v[0].seq, 5);
	cr_assert_eq(v[1].seq, 3);
	journal_free_jobs(v, n);

	n = journal_session_jobs(jr, "cccccccccccccccccccccccccccccccc", 10,
	    &v);
	cr_assert_eq(n, 0);
	cr_assert_null(v);
	cr_assert_eq(journal_session_jobs(jr, S1, 0, &v), 0);
	cr_assert_null(v);
}

Test(journal, max_seq)
{
	struct job	 a;

	cr_assert_eq(journal_max_seq(jr), 0);
	mk(&a, 7, S1, "");
	insert(&a);
	job_clear(&a);
	mk(&a, 3, S1, "");
	insert(&a);
	job_clear(&a);
	cr_assert_eq(journal_max_seq(jr), 7);
}

/* Recovery callback state: what came back, in order. */
struct rec {
	int		 n;
	int64_t		 seq[4096];
	char		 id[4096][JOB_ID_LEN + 1];
	char		 params[4096][32];
	int		 bad;
};

static void
rec_cb(const struct job *j, void *arg)
{
	struct rec	*r = arg;

	if (r->n >= 4096 || j->state != JOB_QUEUED) {
		r->bad++;
		return;
	}
	r->seq[r->n] = j->seq;
	strcpy(r->id[r->n], j->id);
	snprintf(r->params[r->n], sizeof(r->params[0]), "%s",
	    j->params ? j->params : "(null)");
	r->n++;
}

/* Same id in the child and the parent: a fixed id per seq. */
static void
fixed_id(struct job *j, int64_t seq)
{
	snprintf(j->id, sizeof(j->id), "%032llx", (unsigned long long)seq);
}

/*
 * The child: journal A, B, C (queued), R (running), D (done with a PNG),
 * tell the parent, then keep inserting queued jobs until killed.
 * Exit codes: 2 open, 3 write.
 */
static void
crash_child(int wfd)
{
	struct journal	*cj;
	struct job	 j;
	char		 err[256];
	int64_t		 seq;

	if ((cj = test_open(tdir, err, sizeof(err))) == NULL)
		_exit(2);
	for (seq = 1; seq <= 5; seq++) {
		mk(&j, seq, S1, "");
		fixed_id(&j, seq);
		if (journal_insert(cj, &j) == -1)
			_exit(3);
		if (seq == 4 && journal_start(cj, j.id, NOW + 40, 0,
		    "cuda:0") == -1)
			_exit(3);
		if (seq == 5) {
			j.state = JOB_DONE;
			j.started_ms = NOW + 50;
			j.finished_ms = NOW + 51;
			j.slot = 0;
			strcpy(j.device, "cpu");
			j.result = strdup("{\"ms\":1}");
			if (journal_finish(cj, &j,
			    (const unsigned char *)"PNGDATA", 7) == -1)
				_exit(3);
		}
		job_clear(&j);
	}
	if (write(wfd, "k", 1) != 1)
		_exit(3);
	for (seq = 6; seq < 1000000; seq++) {
		mk(&j, seq, S2, "");
		fixed_id(&j, seq);
		if (journal_insert(cj, &j) == -1)
			_exit(3);
		job_clear(&j);
		if (seq == 60 && write(wfd, "m", 1) != 1)
			_exit(3);
	}
	_exit(0);
}

Test(journal, recover_after_sigkill)
{
	struct rec	*r;
	struct job	 b;
	char		 c, p[PATH_MAX], *got, err[256];
	char		 rid[JOB_ID_LEN + 1], did[JOB_ID_LEN + 1];
	int		 fds[2], status, n, i;
	pid_t		 pid;
	struct timespec	 ts = { 0, 20 * 1000000 };

	journal_close(jr);	/* the child writes; we reopen afterwards */
	jr = NULL;
	cr_assert_eq(pipe(fds), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		close(fds[0]);
		crash_child(fds[1]);
	}
	close(fds[1]);
	cr_assert_eq(read(fds[0], &c, 1), 1, "child died before committing");
	cr_assert_eq(c, 'k');
	/* Let it get well into the loop of further inserts, then kill it. */
	cr_assert_eq(read(fds[0], &c, 1), 1, "child died in its loop");
	nanosleep(&ts, NULL);
	cr_assert_eq(kill(pid, SIGKILL), 0);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	close(fds[0]);
	cr_assert(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
	    "child was not killed mid-way (status %d)", status);

	jr = test_open(tdir, err, sizeof(err));
	cr_assert_not_null(jr, "reopen: %s", err);
	r = calloc(1, sizeof(*r));
	cr_assert_not_null(r);
	n = journal_recover(jr, NOW + 1000, rec_cb, r);
	cr_assert_eq(n, r->n, "%d vs %d: %s", n, r->n, journal_error(jr));
	cr_assert_eq(r->bad, 0);
	cr_assert_geq(n, 3 + 55, "only %d queued came back", n);

	/* Queued jobs come back in seq order: A, B, C, then the loop's. */
	for (i = 0; i < 3; i++) {
		char	 want[JOB_ID_LEN + 1];

		snprintf(want, sizeof(want), "%032llx",
		    (unsigned long long)(i + 1));
		cr_assert_eq(r->seq[i], i + 1);
		cr_assert_str_eq(r->id[i], want);
	}
	/* Every committed loop insert is there, complete, with no gap. */
	for (i = 3; i < n; i++) {
		char	 want[32];

		cr_assert_eq(r->seq[i], i + 3, "gap at %d: seq %lld", i,
		    (long long)r->seq[i]);
		snprintf(want, sizeof(want), "{\"ms\":%d}", i + 3);
		cr_assert_str_eq(r->params[i], want);
	}
	cr_assert_eq(journal_max_seq(jr), (int64_t)n + 2);

	/* R was running: now failed, interrupted by restart. */
	snprintf(rid, sizeof(rid), "%032llx", 4ULL);
	cr_assert_eq(journal_get(jr, rid, &b), 1);
	cr_assert_eq(b.state, JOB_FAILED);
	cr_assert_str_eq(b.error, "interrupted by restart");
	cr_assert_eq(b.finished_ms, NOW + 1000);
	cr_assert_eq(b.started_ms, NOW + 40);
	cr_assert_str_eq(b.device, "cuda:0");
	job_clear(&b);

	/* D keeps its result and its PNG. */
	snprintf(did, sizeof(did), "%032llx", 5ULL);
	cr_assert_eq(journal_get(jr, did, &b), 1);
	cr_assert_eq(b.state, JOB_DONE);
	cr_assert_str_eq(b.result, "{\"ms\":1}");
	cr_assert_eq(b.has_png, 1);
	cr_assert_eq(b.finished_ms, NOW + 51);
	job_clear(&b);
	png_path(did, p);
	got = slurp(p);
	cr_assert_not_null(got);
	cr_assert_str_eq(got, "PNGDATA");
	free(got);
	cr_assert_eq(journal_result_bytes(jr), 7);

	/* A second recovery hands the same queued jobs over, R stays put. */
	memset(r, 0, sizeof(*r));
	cr_assert_eq(journal_recover(jr, NOW + 2000, rec_cb, r), n);
	cr_assert_eq(journal_get(jr, rid, &b), 1);
	cr_assert_eq(b.finished_ms, NOW + 1000);
	job_clear(&b);
	free(r);
}

/* A recovery callback may call back into the journal (no deadlock). */
static void
reentrant_cb(const struct job *j, void *arg)
{
	struct job	 b;

	if (journal_get(jr, j->id, &b) == 1) {
		(*(int *)arg)++;
		job_clear(&b);
	}
}

Test(journal, recover_callback_may_use_journal, .timeout = 30)
{
	struct job	 a;
	int		 seen = 0;

	mk(&a, 1, S1, "");
	insert(&a);
	job_clear(&a);
	mk(&a, 2, S1, "");
	insert(&a);
	cr_assert_eq(journal_start(jr, a.id, NOW, 0, "cpu"), 0);
	cr_assert_eq(journal_recover(jr, NOW + 1, reentrant_cb, &seen), 1);
	cr_assert_eq(seen, 1);
	job_clear(&a);
}

/* Inserts a finished job with seq, finish time and an optional PNG. */
/*
 * The recent jobs from memory say what the store says (ids, tasks,
 * states, newest first), after every kind of write, and never another
 * session's.
 */
static void
assert_recent_is_store(const char *session)
{
	struct journal_recent_job r[JOURNAL_RECENT_MAX];
	struct job	*v;
	int		 n, m, i, k;

	for (k = 0; k < 2; k++) {	/* a miss (fill), then a hit */
		n = journal_session_jobs(jr, session, 10, &v);
		m = journal_session_recent(jr, session, 10, r);
		cr_assert_eq(m, n, "recent %d, store %d: %s", m, n,
		    journal_error(jr));
		for (i = 0; i < n; i++) {
			cr_assert_str_eq(r[i].id, v[i].id);
			cr_assert_str_eq(r[i].task, v[i].task);
			cr_assert_eq(r[i].state, v[i].state, "job %d", i);
		}
		journal_free_jobs(v, n);
	}
}

Test(journal, recent_jobs_follow_every_write)
{
	struct job	 a[12], b;
	int		 i;

	assert_recent_is_store(S1);
	for (i = 0; i < 12; i++) {
		mk(&a[i], i + 1, i % 3 == 2 ? S2 : S1, "");
		insert(&a[i]);
		assert_recent_is_store(S1);
		assert_recent_is_store(S2);
	}
	cr_assert_eq(journal_start(jr, a[10].id, 500, 0, "cpu"), 0);
	assert_recent_is_store(S1);
	finish(&a[10], JOB_DONE, 1000, NULL);
	assert_recent_is_store(S1);
	a[11].state = JOB_FAILED;
	a[11].finished_ms = 1000;
	cr_assert_eq(journal_finish_stored(jr, &a[11]), 0);
	assert_recent_is_store(S2);
	finish(&a[0], JOB_CANCELLED, 1000, NULL);
	cr_assert_eq(journal_evict(jr, 10000, 5000, -1, NULL, NULL), 3,
	    "%s", journal_error(jr));
	assert_recent_is_store(S1);
	assert_recent_is_store(S2);
	cr_assert_eq(journal_get(jr, a[0].id, &b), 0);
	for (i = 0; i < 12; i++)
		job_clear(&a[i]);
}

static void
add_finished(struct job *a, int64_t seq, enum job_state st, int64_t fin,
    const char *png)
{
	mk(a, seq, S1, "");
	insert(a);
	finish(a, st, fin, png);
}

/* Collects the ids journal_evict reports. */
struct evicted {
	char	 id[8][JOB_ID_LEN + 1];
	int	 n;
};

static void
evicted_cb(const char *id, void *arg)
{
	struct evicted	*ev = arg;

	cr_assert_lt(ev->n, 8);
	snprintf(ev->id[ev->n++], sizeof(ev->id[0]), "%s", id);
}

Test(journal, evict_by_ttl)
{
	struct job	 d1, d2, d3, q, r, b;
	struct evicted	 ev = { .n = 0 };
	char		 p1[PATH_MAX], p3[PATH_MAX];

	add_finished(&d1, 1, JOB_DONE, 1000, "0123456789");
	add_finished(&d2, 2, JOB_FAILED, 2000, NULL);
	add_finished(&d3, 3, JOB_DONE, 9000, "abcde");
	mk(&q, 4, S1, "");
	insert(&q);
	mk(&r, 5, S1, "");
	insert(&r);
	cr_assert_eq(journal_start(jr, r.id, 500, 0, "cpu"), 0);
	png_path(d1.id, p1);
	png_path(d3.id, p3);
	cr_assert(exists(p1));
	cr_assert_eq(journal_result_bytes(jr), 15);

	cr_assert_eq(journal_evict(jr, 10000, 5000, -1, evicted_cb, &ev), 2,
	    "%s", journal_error(jr));
	cr_assert_eq(ev.n, 2, "the callback hears of each removed job");
	cr_expect_str_eq(ev.id[0], d1.id);
	cr_expect_str_eq(ev.id[1], d2.id);
	cr_assert_not(exists(p1));
	cr_assert(exists(p3));
	cr_assert_eq(journal_get(jr, d1.id, &b), 0);
	cr_assert_eq(journal_get(jr, d2.id, &b), 0);
	cr_assert_eq(journal_get(jr, d3.id, &b), 1);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, q.id, &b), 1);
	cr_assert_eq(b.state, JOB_QUEUED);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, r.id, &b), 1);
	cr_assert_eq(b.state, JOB_RUNNING);
	job_clear(&b);
	cr_assert_eq(journal_result_bytes(jr), 5);
	cr_assert_eq(journal_evict(jr, 10000, 5000, -1, NULL, NULL), 0);
	job_clear(&d1);
	job_clear(&d2);
	job_clear(&d3);
	job_clear(&q);
	job_clear(&r);
}

Test(journal, evict_by_bytes_oldest_finished_first)
{
	struct job	 d1, d2, d3, d4, q, r, b;
	char		 p1[PATH_MAX], p2[PATH_MAX], p3[PATH_MAX];
	char		 big[101];

	memset(big, 'x', 100);
	big[100] = '\0';
	add_finished(&d1, 1, JOB_DONE, 3000, big);
	add_finished(&d2, 2, JOB_DONE, 1000, big);	/* oldest */
	add_finished(&d3, 3, JOB_FAILED, 2000, big);
	add_finished(&d4, 4, JOB_DONE, 500, NULL);	/* no file */
	mk(&q, 5, S1, "");
	insert(&q);
	mk(&r, 6, S1, "");
	insert(&r);
	cr_assert_eq(journal_start(jr, r.id, 100, 0, "cpu"), 0);
	png_path(d1.id, p1);
	png_path(d2.id, p2);
	png_path(d3.id, p3);
	cr_assert_eq(journal_result_bytes(jr), 300);
	/* A file already gone is not an error. */
	cr_assert_eq(unlink(p2), 0);

	cr_assert_eq(journal_evict(jr, 4000, -1, 150, NULL, NULL), 2, "%s",
	    journal_error(jr));
	cr_assert_eq(journal_result_bytes(jr), 100);
	cr_assert(exists(p1));
	cr_assert_not(exists(p3));
	/* Their files went, their rows stay (until the TTL), marked. */
	cr_assert_eq(journal_get(jr, d2.id, &b), 1);
	cr_expect_eq(b.removed_ms, 4000);
	cr_expect_eq(b.has_png, 0);
	cr_expect_eq(b.file_bytes, 0);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, d3.id, &b), 1);
	cr_expect_eq(b.removed_ms, 4000);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, d1.id, &b), 1);
	cr_expect_eq(b.removed_ms, 0);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, d4.id, &b), 1);
	job_clear(&b);
	cr_assert_eq(journal_evict(jr, 4000, -1, 150, NULL, NULL), 0);

	/* A zero budget takes every finished file, never queued/running. */
	cr_assert_eq(journal_evict(jr, 4000, -1, 0, NULL, NULL), 1);
	cr_assert_not(exists(p1));
	cr_assert_eq(journal_result_bytes(jr), 0);
	cr_assert_eq(journal_get(jr, q.id, &b), 1);
	job_clear(&b);
	cr_assert_eq(journal_get(jr, r.id, &b), 1);
	job_clear(&b);
	job_clear(&d1);
	job_clear(&d2);
	job_clear(&d3);
	job_clear(&d4);
	job_clear(&q);
	job_clear(&r);
}

Test(journal, evict_ttl_then_bytes)
{
	struct job	 d1, d2, d3;

	add_finished(&d1, 1, JOB_DONE, 1000, "aaaaaaaaaa");
	add_finished(&d2, 2, JOB_DONE, 8000, "bbbbbbbbbb");
	add_finished(&d3, 3, JOB_DONE, 9000, "cccccccccc");
	/* TTL removes d1 (10 bytes); 20 left > 15, so d2 goes too. */
	cr_assert_eq(journal_evict(jr, 10000, 5000, 15, NULL, NULL), 2);
	cr_assert_eq(journal_result_bytes(jr), 10);
	job_clear(&d1);
	job_clear(&d2);
	job_clear(&d3);
}

enum { NTHREADS = 8, PER_THREAD = 150 };

struct conc {
	atomic_llong	 next_seq;
	char		 id[NTHREADS][PER_THREAD][JOB_ID_LEN + 1];
	atomic_int	 failures;
};

struct conc_arg {
	struct conc	*c;
	int		 t;
};

static void *
conc_worker(void *p)
{
	struct conc_arg	*a = p;
	struct job	 j, b;
	int		 i;

	for (i = 0; i < PER_THREAD; i++) {
		mk(&j, (int64_t)atomic_fetch_add(&a->c->next_seq, 1), S1, "");
		strcpy(a->c->id[a->t][i], j.id);
		if (journal_insert(jr, &j) == -1)
			atomic_fetch_add(&a->c->failures, 1);
		else if (journal_get(jr, j.id, &b) != 1)
			atomic_fetch_add(&a->c->failures, 1);
		else
			job_clear(&b);
		job_clear(&j);
	}
	return NULL;
}

Test(journal, concurrent_inserts_lose_nothing, .timeout = 120)
{
	struct conc	*c;
	struct conc_arg	 args[NTHREADS];
	pthread_t	 th[NTHREADS];
	struct job	 b;
	int		 t, i, n;
	struct job	*v;

	c = calloc(1, sizeof(*c));
	cr_assert_not_null(c);
	atomic_init(&c->next_seq, 1);
	for (t = 0; t < NTHREADS; t++) {
		args[t].c = c;
		args[t].t = t;
		cr_assert_eq(pthread_create(&th[t], NULL, conc_worker,
		    &args[t]), 0);
	}
	for (t = 0; t < NTHREADS; t++)
		pthread_join(th[t], NULL);
	cr_assert_eq(atomic_load(&c->failures), 0);
	cr_assert_eq(journal_max_seq(jr), NTHREADS * PER_THREAD);
	for (t = 0; t < NTHREADS; t++)
		for (i = 0; i < PER_THREAD; i++) {
			cr_assert_eq(journal_get(jr, c->id[t][i], &b), 1);
			job_clear(&b);
		}
	n = journal_session_jobs(jr, S1, NTHREADS * PER_THREAD + 10, &v);
	cr_assert_eq(n, NTHREADS * PER_THREAD);
	for (i = 1; i < n; i++)
		cr_assert_eq(v[i - 1].seq, v[i].seq + 1);
	journal_free_jobs(v, n);
	free(c);
}

Test(journal, open_non_directory_fails)
{
	char		 path[PATH_MAX], err[512];
	struct journal	*j2;
	int		 fd;

	snprintf(path, sizeof(path), "%s/plainfile", tdir);
	cr_assert_neq(fd = open(path, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	err[0] = '\0';
	j2 = test_open(path, err, sizeof(err));
	cr_assert_null(j2);
	cr_assert(strstr(err, path) != NULL, "message: %s", err);
	cr_assert(strstr(err, "not a directory") != NULL, "message: %s", err);
}

Test(journal, open_missing_parent_fails)
{
	char		 path[PATH_MAX], err[512];
	struct journal	*j2;

	snprintf(path, sizeof(path), "%s/no/such/dir", tdir);
	j2 = test_open(path, err, sizeof(err));
	cr_assert_null(j2);
	cr_assert(strstr(err, path) != NULL, "message: %s", err);
	cr_assert(strstr(err, strerror(ENOENT)) != NULL, "message: %s", err);
}

Test(journal, open_creates_state_dir_0750)
{
	char		 path[PATH_MAX], err[512];
	struct journal	*j2;
	struct stat	 sb;

	snprintf(path, sizeof(path), "%s/state", tdir);
	j2 = test_open(path, err, sizeof(err));
	cr_assert_not_null(j2, "%s", err);
	cr_assert_eq(stat(path, &sb), 0);
	cr_assert(S_ISDIR(sb.st_mode));
	cr_assert_eq(sb.st_mode & 0777 & ~0750, 0, "mode %o",
	    sb.st_mode & 0777);
	journal_close(j2);
}

Test(journal, results_not_directory_fails)
{
	char		 path[PATH_MAX], err[512];
	struct journal	*j2;
	int		 fd;

	snprintf(path, sizeof(path), "%s/st2", tdir);
	cr_assert_eq(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/st2/results", tdir);
	cr_assert_neq(fd = open(path, O_CREAT | O_WRONLY, 0600), -1);
	close(fd);
	snprintf(path, sizeof(path), "%s/st2", tdir);
	j2 = test_open(path, err, sizeof(err));
	cr_assert_null(j2);
	cr_assert(strstr(err, "results: not a directory") != NULL, "%s", err);
}

Test(journal, error_is_per_thread_and_journal)
{
	struct job	 a;

	cr_assert_str_eq(journal_error(jr), "no error");
	mk(&a, 1, S1, "");
	a.state = JOB_QUEUED;
	cr_assert_eq(journal_finish(jr, &a, NULL, 0), -1);
	cr_assert(strstr(journal_error(jr), "journal_finish") != NULL);
	cr_assert_str_eq(journal_error((struct journal *)&a), "no error");
	job_clear(&a);
}

Test(journal, reopen_keeps_jobs)
{
	struct job	 a, b;
	char		 err[256];

	mk(&a, 9, S1, "n");
	insert(&a);
	journal_close(jr);
	jr = test_open(tdir, err, sizeof(err));
	cr_assert_not_null(jr, "%s", err);
	cr_assert_eq(journal_get(jr, a.id, &b), 1);
	assert_same(&a, &b);
	job_clear(&a);
	job_clear(&b);
}

/*
 * A journal of schema version 1 (before files) is migrated on open: its
 * jobs stay, the image's png_bytes become file_bytes, inputs and files
 * are null, the client address is "" (version 3), the byte counts hold
 * what its rows hold (version 5), and the version is the newest.
 */
#ifndef JOURNAL_TEST_PG	/* SQLite's files */
Test(journal, migrates_version_1)
{
	static const char v1[] =
	    "CREATE TABLE jobs (id TEXT PRIMARY KEY NOT NULL,"
	    " seq INTEGER UNIQUE NOT NULL, session TEXT NOT NULL,"
	    " nonce TEXT NOT NULL DEFAULT '', task TEXT, kernel TEXT,"
	    " locks TEXT, params TEXT, state TEXT NOT NULL,"
	    " created_ms INTEGER NOT NULL DEFAULT 0,"
	    " started_ms INTEGER NOT NULL DEFAULT 0,"
	    " finished_ms INTEGER NOT NULL DEFAULT 0,"
	    " slot INTEGER NOT NULL DEFAULT -1,"
	    " device TEXT NOT NULL DEFAULT '', result TEXT, error TEXT,"
	    " has_png INTEGER NOT NULL DEFAULT 0,"
	    " png_bytes INTEGER NOT NULL DEFAULT 0);"
	    "INSERT INTO jobs (id, seq, session, task, state, has_png, "
	    "png_bytes) VALUES ('0123456789abcdef0123456789abcdef', 1, "
	    "'" S1 "', 'mandelbrot', 'done', 1, 77);"
	    "PRAGMA user_version = 1;";
	char		 dir[PATH_MAX - 16], db[PATH_MAX], err[256];
	struct journal	*j2;
	struct job	 a;
	sqlite3		*h;
	sqlite3_stmt	*st;

	snprintf(dir, sizeof(dir), "%s/old", tdir);
	cr_assert_eq(mkdir(dir, 0700), 0);
	snprintf(db, sizeof(db), "%s/jobs.db", dir);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_exec(h, v1, NULL, NULL, NULL), SQLITE_OK, "%s",
	    sqlite3_errmsg(h));
	sqlite3_close(h);
	j2 = test_open(dir, err, sizeof(err));
	cr_assert_not_null(j2, "%s", err);
	cr_assert_eq(journal_get(j2, "0123456789abcdef0123456789abcdef", &a),
	    1, "%s", journal_error(j2));
	cr_expect_eq(a.state, JOB_DONE);
	cr_expect_eq(a.has_png, 1);
	cr_expect_eq(a.file_bytes, 77);
	cr_expect_null(a.inputs);
	cr_expect_null(a.files);
	cr_expect_str_eq(a.client, "");
	cr_expect_eq(journal_result_bytes(j2), 77);
	job_clear(&a);
	journal_close(j2);
	cr_assert_eq(sqlite3_open(db, &h), SQLITE_OK);
	cr_assert_eq(sqlite3_prepare_v2(h, "PRAGMA user_version", -1, &st,
	    NULL), SQLITE_OK);
	cr_assert_eq(sqlite3_step(st), SQLITE_ROW);
	cr_expect_eq(sqlite3_column_int(st, 0), JOURNAL_SCHEMA_VERSION);
	sqlite3_finalize(st);
	sqlite3_close(h);
}
#endif

/* A directory of files whose job has no row (a crash between storing the
   uploads and the insert) goes at start-up; a recorded job's stays. */
Test(journal, sweep_removes_unrecorded_files)
{
	struct job	 a;
	char		 orphan[JOB_ID_LEN + 1], p[PATH_MAX], err[256];

	mk(&a, 1, S1, "");
	insert(&a);
	cr_assert_eq(jobdir_write(journal_files_root(jr), a.id, JOBDIR_IN, "x",
	    "1", 1, err, sizeof(err)), 0, "%s", err);
	job_new_id(orphan);
	cr_assert_eq(jobdir_write(journal_files_root(jr), orphan, JOBDIR_IN,
	    "x", "2", 1, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(journal_sweep(jr), 1);
	cr_assert_eq(jobdir_path(journal_files_root(jr), a.id, JOBDIR_IN, "x",
	    p, sizeof(p)), 0);
	cr_expect(exists(p));
	cr_assert_eq(jobdir_path(journal_files_root(jr), orphan, JOBDIR_IN,
	    "x", p, sizeof(p)), 0);
	cr_expect(!exists(p));
	cr_expect_eq(journal_sweep(jr), 0);
	job_clear(&a);
}
