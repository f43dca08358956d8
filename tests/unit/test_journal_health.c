/*
 * Unit tests for journal_health.c: a journal whose disk is full says so
 * and takes writes again once there is room (on a small tmpfs, mounted
 * when run as root, as CI is), a removed WAL loses no commit, a removed
 * jobs.db stops every write.
 */
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <signal.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "rm_tree.h"
#include "../fill_disk.h"
#include "job.h"
#include "journal.h"

#define SID	"cccccccccccccccccccccccccccccccc"

static char		 tdir[64];
static char		 mnt[96];	/* tdir/fs when a tmpfs is mounted */
static struct journal	*jr;

static void
setup(void)
{
	strcpy(tdir, "/tmp/sluice-jhealth-XXXXXX");
	cr_assert_not_null(mkdtemp(tdir), "mkdtemp: %s", strerror(errno));
	mnt[0] = '\0';
}

static void
teardown(void)
{
	journal_close(jr);
	jr = NULL;
	if (mnt[0] != '\0')
		(void)umount(mnt);
	rm_tree(tdir);
}

static struct journal *
open_at(const char *dir)
{
	char		 err[256];
	struct journal	*j = journal_open(dir, err, sizeof(err));

	cr_assert_not_null(j, "journal_open: %s", err);
	return j;
}

/* Inserts a queued job with a fresh id into id; journal_insert's rc. */
static int
insert(struct journal *j, char id[JOB_ID_LEN + 1])
{
	struct job	 jb;
	int		 rc;

	memset(&jb, 0, sizeof(jb));
	job_new_id(jb.id);
	strcpy(jb.session, SID);
	jb.task = strdup("burn");
	jb.params = strdup("{\"ms\":1}");
	jb.state = JOB_QUEUED;
	jb.slot = -1;
	rc = journal_insert(j, &jb);
	memcpy(id, jb.id, JOB_ID_LEN + 1);
	job_clear(&jb);
	return rc;
}

static int
has_job(struct journal *j, const char *id)
{
	struct job	 got;
	int		 rc = journal_get(j, id, &got);

	if (rc == 1)
		job_clear(&got);
	return rc;
}

TestSuite(journal_health, .init = setup, .fini = teardown);

Test(journal_health, full_disk_refuses_then_recovers)
{
	char	 id[JOB_ID_LEN + 1], fill[160];
	int	 i, refused = 0;

	if (geteuid() != 0)
		cr_skip_test("needs root to mount a small tmpfs (CI runs as "
		    "root)");
	snprintf(mnt, sizeof(mnt), "%s/fs", tdir);
	cr_assert_eq(mkdir(mnt, 0700), 0);
	if (mount("tmpfs", mnt, "tmpfs", 0, "size=1m") == -1) {
		mnt[0] = '\0';
		cr_skip_test("mount tmpfs: %s", strerror(errno));
	}
	jr = open_at(mnt);
	cr_assert_null(journal_unwritable(jr));
	cr_assert_eq(insert(jr, id), 0);
	fill_disk(mnt, fill, sizeof(fill));
	/* The WAL may have room left from earlier writes: write until not. */
	for (i = 0; i < 5000 && !refused; i++)
		refused = insert(jr, id) == -1;
	cr_assert(refused, "a full disk took 5000 inserts");
	cr_assert_not_null(journal_unwritable(jr));
	cr_assert(strstr(journal_unwritable(jr), "disk is full") != NULL,
	    "reason: %s", journal_unwritable(jr));
	cr_assert_null(strstr(journal_unwritable(jr), mnt),
	    "the reason names a path");
	cr_assert_eq(journal_probe(jr), -1);
	cr_assert_not_null(journal_unwritable(jr));
	cr_assert_eq(unlink(fill), 0);
	cr_assert_eq(journal_probe(jr), 0, "%s", journal_error(jr));
	cr_assert_null(journal_unwritable(jr));
	cr_assert_eq(insert(jr, id), 0, "%s", journal_error(jr));
	cr_assert_eq(has_job(jr, id), 1);
}

/* The child: a journal, a job, its WAL removed, a job, then kill -9. */
static void
wal_child(int fd)
{
	char	 ids[2][JOB_ID_LEN + 1], wal[128];
	struct stat st;

	jr = open_at(tdir);
	if (insert(jr, ids[0]) == -1)
		_exit(2);
	snprintf(wal, sizeof(wal), "%s/jobs.db-wal", tdir);
	if (unlink(wal) == -1)
		_exit(3);
	/* This commit goes into the removed file, then into jobs.db. */
	if (insert(jr, ids[1]) == -1 || journal_unwritable(jr) != NULL)
		_exit(4);
	if (stat(wal, &st) == -1)
		_exit(5);	/* no WAL at the path again */
	if (write(fd, ids, sizeof(ids)) != (ssize_t)sizeof(ids))
		_exit(6);
	raise(SIGKILL);	/* no close, no checkpoint on the way out */
}

Test(journal_health, removed_wal_loses_no_commit)
{
	char	 ids[2][JOB_ID_LEN + 1];
	int	 p[2], status;
	pid_t	 pid;

	cr_assert_eq(pipe(p), 0);
	if ((pid = fork()) == 0) {
		close(p[0]);
		wal_child(p[1]);
	}
	close(p[1]);
	cr_assert_eq(read(p[0], ids, sizeof(ids)), (ssize_t)sizeof(ids));
	close(p[0]);
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	cr_assert(WIFSIGNALED(status), "child exited %d", WEXITSTATUS(status));
	jr = open_at(tdir);
	cr_assert_eq(has_job(jr, ids[0]), 1, "the job before the unlink");
	cr_assert_eq(has_job(jr, ids[1]), 1, "the job after the unlink");
}

/* Reads on every call of journal.h that has a statement of its own. */
static void *
wal_reader(void *arg)
{
	const char	*id = arg;
	struct job	 jb, *v;
	int		 i, n;

	for (i = 0; i < 2000; i++) {
		if (journal_get(jr, id, &jb) == 0)
			job_clear(&jb);
		if (journal_find_nonce(jr, SID, "none", &jb) == 1)
			job_clear(&jb);
		if ((n = journal_session_jobs(jr, SID, 4, &v)) >= 0)
			journal_free_jobs(v, n);
		(void)journal_max_seq(jr);
		(void)journal_start(jr, id, 1, 0, "cpu");
	}
	return NULL;
}

/*
 * A WAL repair reopens the connection and prepares every statement anew
 * under the mutex: calls on other threads take their statement after the
 * lock, never one the repair freed (a responder crashed on it, seen in
 * test_ops's removed WAL test; ASan in CI sees a use of a freed one).
 */
Test(journal_health, repairs_under_concurrent_calls)
{
	char		 wal[128], id[JOB_ID_LEN + 1], more[JOB_ID_LEN + 1];
	pthread_t	 t[2];
	int		 i;

	jr = open_at(tdir);
	cr_assert_eq(insert(jr, id), 0);
	snprintf(wal, sizeof(wal), "%s/jobs.db-wal", tdir);
	for (i = 0; i < 2; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, wal_reader, id), 0);
	for (i = 0; i < 40; i++) {
		(void)unlink(wal);
		cr_expect_eq(insert(jr, more), 0, "insert %d: %s", i,
		    journal_error(jr));
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(has_job(jr, more), 1);
}

Test(journal_health, removed_db_stops_writes)
{
	char	 id[JOB_ID_LEN + 1], db[128];

	jr = open_at(tdir);
	cr_assert_eq(insert(jr, id), 0);
	snprintf(db, sizeof(db), "%s/jobs.db", tdir);
	cr_assert_eq(unlink(db), 0);
	cr_assert_eq(insert(jr, id), -1, "a write into a removed jobs.db "
	    "was reported saved");
	cr_assert_not_null(journal_unwritable(jr));
	cr_assert(strstr(journal_unwritable(jr), "restart") != NULL,
	    "reason: %s", journal_unwritable(jr));
	cr_assert_eq(journal_probe(jr), -1);
	cr_assert_eq(insert(jr, id), -1);
}
