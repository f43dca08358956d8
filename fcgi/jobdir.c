/* jobdir: a job's input and output files. See jobdir.h. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "job.h"
#include "jobdir.h"

static const char *const jobdir_kinds[] = {
	[JOBDIR_IN] = "in",
	[JOBDIR_OUT] = "out",
};

int
jobdir_name_ok(const char *name)
{
	size_t	 i;

	if (name == NULL || name[0] == '\0' || name[0] == '.')
		return 0;
	for (i = 0; name[i] != '\0'; i++) {
		if (i >= JOBDIR_NAME_MAX)
			return 0;
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		    (name[i] >= 'A' && name[i] <= 'Z') ||
		    (name[i] >= '0' && name[i] <= '9') ||
		    name[i] == '.' || name[i] == '_' || name[i] == '-'))
			return 0;
	}
	return 1;
}

int
jobdir_path(const char *root, const char *id, enum jobdir_kind k,
    const char *name, char *out, size_t outlen)
{
	int	 n;

	if (!job_id_valid(id) || (name != NULL && !jobdir_name_ok(name)) ||
	    (unsigned)k > JOBDIR_OUT) {
		errno = EINVAL;
		return -1;
	}
	if (name != NULL)
		n = snprintf(out, outlen, "%s/%s/%s/%s", root, id,
		    jobdir_kinds[k], name);
	else
		n = snprintf(out, outlen, "%s/%s/%s", root, id, jobdir_kinds[k]);
	if (n < 0 || (size_t)n >= outlen) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

/* mkdir that is happy with an existing directory. */
static int
make_dir(const char *path)
{
	struct stat	 st;

	if (mkdir(path, 0750) == 0)
		return 0;
	if (errno != EEXIST)
		return -1;
	if (lstat(path, &st) == -1)
		return -1;
	if (!S_ISDIR(st.st_mode)) {
		errno = ENOTDIR;
		return -1;
	}
	return 0;
}

int
jobdir_make(const char *root, const char *id, enum jobdir_kind k, char *err,
    size_t errlen)
{
	char	 path[PATH_MAX];
	char	*slash;

	if (jobdir_path(root, id, k, NULL, path, sizeof(path)) == -1) {
		snprintf(err, errlen, "job %s: bad id or path too long", id);
		return -1;
	}
	slash = strrchr(path, '/');
	*slash = '\0';
	if (make_dir(path) == -1)
		goto fail;
	*slash = '/';
	if (make_dir(path) == -1)
		goto fail;
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", path, strerror(errno));
	return -1;
}

/* write(2) all of p, retrying on EINTR and short writes. */
static int
write_all(int fd, const unsigned char *p, size_t len)
{
	ssize_t	 n;

	while (len > 0) {
		if ((n = write(fd, p, len)) == -1) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* fsync of the directory holding path, so that a rename into it lasts. */
static int
sync_parent(const char *path)
{
	char	 dir[PATH_MAX];
	char	*slash;
	int	 fd, rc;

	snprintf(dir, sizeof(dir), "%s", path);
	if ((slash = strrchr(dir, '/')) == NULL)
		return 0;
	*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) == -1)
		return -1;
	rc = fsync(fd);
	close(fd);
	return rc;
}

/*
 * The file's path and a temporary one beside it (".NAME.tmp": a name no
 * file of a job can have), the directories made. 0, or -1 with err.
 */
static int
paths_of(const char *root, const char *id, enum jobdir_kind k,
    const char *name, char *path, char *tmp, char *err, size_t errlen)
{
	char	 dir[PATH_MAX];

	if (jobdir_path(root, id, k, name, path, PATH_MAX) == -1 ||
	    jobdir_path(root, id, k, NULL, dir, sizeof(dir)) == -1 ||
	    (size_t)snprintf(tmp, PATH_MAX, "%s/.%s.tmp", dir, name) >=
	    PATH_MAX) {
		snprintf(err, errlen, "job %s: bad id or file name, or path "
		    "too long", id);
		return -1;
	}
	return jobdir_make(root, id, k, err, errlen);
}

/* Renames tmp over path and syncs the directory; 0 or -1 with err. */
static int
put_in_place(const char *tmp, const char *path, char *err, size_t errlen)
{
	if (rename(tmp, path) == -1 || sync_parent(path) == -1) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return 0;
}

int
jobdir_write(const char *root, const char *id, enum jobdir_kind k,
    const char *name, const void *data, size_t len, char *err, size_t errlen)
{
	char	 path[PATH_MAX], tmp[PATH_MAX];
	int	 fd;

	if (paths_of(root, id, k, name, path, tmp, err, errlen) == -1)
		return -1;
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW |
	    O_CLOEXEC, 0640)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	if (write_all(fd, data, len) == -1 || fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		close(fd);
		(void)unlink(tmp);
		return -1;
	}
	if (close(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		(void)unlink(tmp);
		return -1;
	}
	return put_in_place(tmp, path, err, errlen);
}

/* Copies all of regular file fd into a new file tmp; 0 or -1. */
static int
copy_to(int fd, const char *tmp)
{
	struct stat	 st;
	off_t		 in = 0;
	ssize_t		 n;
	int		 out, rc = -1;

	if (fstat(fd, &st) == -1 || (out = open(tmp, O_WRONLY | O_CREAT |
	    O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0640)) == -1)
		return -1;
	while (in < st.st_size) {
		n = copy_file_range(fd, &in, out, NULL,
		    (size_t)(st.st_size - in), 0);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			goto out;
	}
	rc = fsync(out);
out:
	if (close(out) == -1)
		rc = -1;
	if (rc == -1)
		(void)unlink(tmp);
	return rc;
}

int
jobdir_adopt(const char *root, const char *id, enum jobdir_kind k,
    const char *name, int fd, char *err, size_t errlen)
{
	char	 path[PATH_MAX], tmp[PATH_MAX], self[64];

	if (paths_of(root, id, k, name, path, tmp, err, errlen) == -1)
		return -1;
	(void)unlink(tmp);	/* left by a crash */
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	/* Without /proc, or across filesystems: a copy. */
	if (linkat(AT_FDCWD, self, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == -1 &&
	    copy_to(fd, tmp) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		return -1;
	}
	return put_in_place(tmp, path, err, errlen);
}

int
jobdir_open(const char *root, const char *id, enum jobdir_kind k,
    const char *name)
{
	char	 path[PATH_MAX];

	if (jobdir_path(root, id, k, name, path, sizeof(path)) == -1)
		return -1;
	return open(path, O_RDONLY | O_NOFOLLOW | O_NOCTTY | O_CLOEXEC);
}

static int
remove_entry(const char *path, const struct stat *st, int flag,
    struct FTW *ftw)
{
	(void)st;
	(void)ftw;
	if (flag == FTW_DP)
		return rmdir(path) == -1 && errno != ENOENT ? -1 : 0;
	return unlink(path) == -1 && errno != ENOENT ? -1 : 0;
}

/* Removes the tree at path; a missing one is fine. */
static int
remove_tree(const char *path)
{
	if (nftw(path, remove_entry, 8, FTW_DEPTH | FTW_PHYS) == -1 &&
	    errno != ENOENT)
		return -1;
	return 0;
}

int
jobdir_remove(const char *root, const char *id)
{
	char	 path[PATH_MAX];

	if (!job_id_valid(id) || (size_t)snprintf(path, sizeof(path), "%s/%s",
	    root, id) >= sizeof(path)) {
		errno = EINVAL;
		return -1;
	}
	return remove_tree(path);
}

int
jobdir_remove_kind(const char *root, const char *id, enum jobdir_kind k)
{
	char	 path[PATH_MAX];

	if (jobdir_path(root, id, k, NULL, path, sizeof(path)) == -1)
		return -1;
	return remove_tree(path);
}

/* ---------------------------------------------------------------------- */
/* Types and download names */

/* The image types shown inline, each told by its first bytes. */
static const struct image_magic {
	const char	*type;
	size_t		 off;		/* where magic starts */
	const char	*magic;
	size_t		 len;
	const char	*suffix;
} image_magics[] = {
	{ "image/png", 0, "\x89PNG\r\n\x1a\n", 8, ".png" },
	{ "image/jpeg", 0, "\xff\xd8\xff", 3, ".jpg" },
	{ "image/webp", 8, "WEBP", 4, ".webp" },	/* after "RIFF" + size */
};

/* Other types a download is named after. */
static const struct type_suffix {
	const char	*type;
	const char	*suffix;
} type_suffixes[] = {
	{ "text/plain", ".txt" },
	{ "text/csv", ".csv" },
	{ "application/json", ".json" },
	{ "application/pdf", ".pdf" },
	{ "application/zip", ".zip" },
	{ "application/gzip", ".gz" },
	{ "application/x-npy", ".npy" },
};

#define NELEM(a)	(sizeof(a) / sizeof((a)[0]))

/* 1 for a media type of tokens: "type/subtype", at most 100 bytes. */
static int
type_well_formed(const char *t)
{
	size_t	 i, slashes = 0;

	if (t == NULL || t[0] == '\0' || t[0] == '/' || strlen(t) > 100)
		return 0;
	for (i = 0; t[i] != '\0'; i++) {
		if (t[i] == '/')
			slashes++;
		else if (!((t[i] >= 'a' && t[i] <= 'z') ||
		    (t[i] >= '0' && t[i] <= '9') ||
		    strchr("!#$&^_.+-", t[i]) != NULL))
			return 0;
	}
	return slashes == 1 && t[i - 1] != '/';
}

const char *
jobdir_checked_type(const char *declared, const unsigned char *head,
    size_t len)
{
	const struct image_magic	*m;
	size_t				 i;

	if (!type_well_formed(declared))
		return "application/octet-stream";
	for (i = 0; i < NELEM(image_magics); i++) {
		m = &image_magics[i];
		if (strcmp(declared, m->type) != 0)
			continue;
		if (len >= m->off + m->len &&
		    memcmp(head + m->off, m->magic, m->len) == 0 &&
		    (m->off == 0 || memcmp(head, "RIFF", 4) == 0))
			return m->type;
		return "application/octet-stream";
	}
	if (strncmp(declared, "image/", 6) == 0)
		return "application/octet-stream";
	return declared;
}

int
jobdir_type_inline(const char *type)
{
	size_t	 i;

	for (i = 0; type != NULL && i < NELEM(image_magics); i++)
		if (strcmp(type, image_magics[i].type) == 0)
			return 1;
	return 0;
}

/* The usual suffix of type, or "". */
static const char *
suffix_of(const char *type)
{
	size_t	 i;

	for (i = 0; i < NELEM(image_magics); i++)
		if (strcmp(type, image_magics[i].type) == 0)
			return image_magics[i].suffix;
	for (i = 0; i < NELEM(type_suffixes); i++)
		if (strcmp(type, type_suffixes[i].type) == 0)
			return type_suffixes[i].suffix;
	return "";
}

void
jobdir_download_name(const char *name, const char *type, char *out,
    size_t outlen)
{
	if (!jobdir_name_ok(name))
		name = "file";
	snprintf(out, outlen, "%s%s", name, strchr(name, '.') != NULL ||
	    type == NULL ? "" : suffix_of(type));
}
