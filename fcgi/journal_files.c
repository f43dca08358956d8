/*
 * journal_files: the result files STATE/results/ID.png (see
 * journal_files.h), and the calls of journal.h that only concern files:
 * journal_png_path, journal_files_root and journal_sweep.
 */
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>

#include <dirent.h>

#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "jobdir.h"
#include "journal.h"
#include "journal_files.h"
#include "journal_int.h"

/* Joins dir and name into a malloc'd path; NULL on ENOMEM/overflow. */
char *
journal_join(const char *dir, const char *name)
{
	char	*p;

	if (asprintf(&p, "%s/%s", dir, name) == -1)
		return NULL;
	return p;
}

/*
 * Makes sure path is a directory, creating it (mode 0750) when missing.
 * The parent must exist. 0, or -1 with a message naming the path.
 */
int
journal_mkdir(const char *path, char *err, size_t errlen)
{
	struct stat	 sb;

	if (mkdir(path, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create directory: %s", path,
		    strerror(errno));
		return -1;
	}
	if (stat(path, &sb) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	if (!S_ISDIR(sb.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", path);
		return -1;
	}
	return 0;
}

/* write(2) all of p, retrying on EINTR and short writes; 0 or -1. */
static int
journal_write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		n = write(fd, p, len);
		if (n == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/*
 * Writes png to path atomically: a temporary file in the same directory,
 * written, fsync'd, closed, then renamed over path. 0 or -1 (error set;
 * no temporary file left behind).
 */
int
journal_write_png(struct journal *j, const char *path,
    const unsigned char *png, size_t len)
{
	char	*tmp = NULL;
	int	 fd = -1, ret = -1, saved;

	if (asprintf(&tmp, "%s.tmp.XXXXXX", path) == -1) {
		tmp = NULL;
		journal_seterr(j, "%s: out of memory", __func__);
		goto out;
	}
	if ((fd = mkstemp(tmp)) == -1) {
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(errno));
		goto out;
	}
	if (fchmod(fd, 0640) == -1 ||
	    journal_write_all(fd, png, len) == -1 ||
	    fsync(fd) == -1) {
		saved = errno;
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(saved));
		goto out;
	}
	if (close(fd) == -1) {
		fd = -1;
		journal_seterr(j, "%s: %s: %s", __func__, tmp, strerror(errno));
		goto out;
	}
	fd = -1;
	if (rename(tmp, path) == -1) {
		journal_seterr(j, "%s: %s: %s", __func__, path, strerror(errno));
		goto out;
	}
	free(tmp);
	tmp = NULL;
	ret = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp != NULL) {
		(void)unlink(tmp);
		free(tmp);
	}
	return ret;
}

/*
 * Builds STATE/results/ID.png into out; 0 or -1 for a malformed id or when
 * it does not fit. Needs no lock: results_dir never changes after open.
 */
int
journal_png_build(const struct journal *j, const char *id, char *out,
    size_t outlen)
{
	int	 n;

	if (!job_id_valid(id) || out == NULL || outlen == 0)
		return -1;
	n = snprintf(out, outlen, "%s/%s.png", journal_results_dir(j), id);
	if (n < 0 || (size_t)n >= outlen)
		return -1;
	return 0;
}

/* Removes the file at path, if any, ignoring errors. */
void
journal_png_discard(const char *path)
{
	(void)unlink(path);
}

/*
 * Removes job id's result file (a missing one is fine); 0, or -1 with the
 * error recorded under func.
 */
int
journal_png_unlink(struct journal *j, const char *id, const char *func)
{
	char	 path[PATH_MAX];

	if (journal_png_build(j, id, path, sizeof(path)) == -1) {
		journal_seterr(j, "%s: job %s: bad id or path too long", func,
		    id);
		return -1;
	}
	if (unlink(path) == -1 && errno != ENOENT) {
		journal_seterr(j, "%s: %s: %s", func, path, strerror(errno));
		return -1;
	}
	return 0;
}

/*
 * Writes STATE/results/ID.png into out. -1 for a malformed id or when
 * out is too small. Thread-safe (the directory never changes).
 */
int
journal_png_path(struct journal *j, const char *id, char *out, size_t outlen)
{
	if (journal_png_build(j, id, out, outlen) == -1) {
		journal_seterr(j, "%s: invalid id or buffer too small",
		    __func__);
		return -1;
	}
	return 0;
}

/* STATE/results. Thread-safe (it never changes). */
const char *
journal_files_root(struct journal *j)
{
	return journal_results_dir(j);
}

/* Writes a stored file into the anonymous file *arg (files_read's cb). */
static int
journal_to_memfd(const char *name, const unsigned char *data, size_t len,
    void *arg)
{
	(void)name;
	return journal_write_all(*(int *)arg, data, len);
}

int
journal_file_open(struct journal *j, const char *id, enum jobdir_kind kind,
    const char *name)
{
	int	 fd, n;

	if ((fd = jobdir_open(journal_results_dir(j), id, kind, name)) != -1 ||
	    errno != ENOENT || j->node[0] == '\0' ||
	    j->ops->files_read == NULL)
		return fd;
	if ((fd = memfd_create("sluice-file", MFD_CLOEXEC)) == -1) {
		journal_seterr(j, "journal_file_open: %s", strerror(errno));
		errno = EIO;
		return -1;
	}
	if ((n = j->ops->files_read(j, id, kind, name, journal_to_memfd,
	    &fd)) != 1 || lseek(fd, 0, SEEK_SET) == -1) {
		close(fd);
		errno = n == 0 ? ENOENT : EIO;
		return -1;
	}
	return fd;
}

/* The file name of the job *arg is, written where it is missing. */
struct journal_fetch {
	struct journal	*j;
	const char	*id;
	enum jobdir_kind kind;
};

static int
journal_fetch_one(const char *name, const unsigned char *data, size_t len,
    void *arg)
{
	struct journal_fetch	*f = arg;
	char			 err[256];
	int			 fd;

	if ((fd = jobdir_open(journal_results_dir(f->j), f->id, f->kind,
	    name)) != -1) {
		close(fd);
		return 0;
	}
	return jobdir_write(journal_results_dir(f->j), f->id, f->kind, name,
	    data, len, err, sizeof(err));
}

int
journal_files_fetch(struct journal *j, const char *id, enum jobdir_kind kind)
{
	struct journal_fetch	 f = { j, id, kind };

	if (j->node[0] == '\0' || j->ops->files_read == NULL)
		return 0;
	return j->ops->files_read(j, id, kind, NULL, journal_fetch_one, &f);
}

/*
 * Start-up: removes the file directories of jobs the journal does not
 * know: uploads stored for a submission that a crash ended before its
 * row was written (the id was the submission's alone); in the cluster,
 * where the database holds every job's files and a node's disk only
 * those of the jobs running there, every one. Returns how many went. Run before any request is served: a submission in flight would
 * look the same.
 */
int
journal_sweep(struct journal *j)
{
	struct dirent	*e;
	struct job	 found;
	DIR		*d;
	int		 n = 0, r;

	if ((d = opendir(journal_results_dir(j))) == NULL)
		return 0;
	while ((e = readdir(d)) != NULL) {
		if (!job_id_valid(e->d_name))
			continue;	/* ID.png, or not ours */
		memset(&found, 0, sizeof(found));
		/* The cluster's files are in its database; none runs yet. */
		if (j->node[0] != '\0')
			r = 0;
		else if ((r = journal_get(j, e->d_name, &found)) == 1)
			job_clear(&found);
		if (r == 0 && jobdir_remove(journal_results_dir(j),
		    e->d_name) == 0)
			n++;
	}
	closedir(d);
	if (n > 0)
		fprintf(stderr, "level=info msg=\"files of unrecorded "
		    "submissions removed\" dirs=%d\n", n);
	return n;
}
