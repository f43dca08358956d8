/*
 * jobdir: the files of one job, under the results directory (STATE/results,
 * the journal's): ID/in/NAME for the files a user uploaded (NAME is the
 * task's input name) and ID/out/NAME for those its worker produced (NAME
 * as the worker named it). The directory goes when the job is evicted.
 * Older jobs kept their only image as ID.png beside it (journal_files.c).
 *
 * Paths are built from a checked id and a checked name only, never from
 * anything a client sent as a file name. Functions that touch the disk
 * return 0, or -1 with errno set (and, where they take err, a message
 * naming the path). Thread-safe: no state of their own.
 */
#ifndef SLUICE_JOBDIR_H
#define SLUICE_JOBDIR_H

#include <stddef.h>
#include <stdint.h>

#define JOBDIR_NAME_MAX	64	/* bytes of a file's name */
#define JOBDIR_ROOT	"results"	/* under STATE */

enum jobdir_kind {
	JOBDIR_IN,	/* uploaded inputs */
	JOBDIR_OUT	/* what the worker produced */
};

/*
 * 1 when name may name a job's file: 1..JOBDIR_NAME_MAX of [A-Za-z0-9._-],
 * not starting with a dot (no ".", "..", hidden or temporary names).
 */
int	jobdir_name_ok(const char *name);

/*
 * ROOT/ID/in or ROOT/ID/out, and with name (not NULL) the file in it,
 * into out. -1 (EINVAL) for a bad id or name, or when it does not fit.
 */
int	jobdir_path(const char *root, const char *id, enum jobdir_kind,
	    const char *name, char *out, size_t outlen);

/* Makes ROOT/ID and ROOT/ID/KIND (mode 0750) where missing. */
int	jobdir_make(const char *root, const char *id, enum jobdir_kind,
	    char *err, size_t errlen);

/*
 * Writes data as file name of job id (temporary file, fsync, rename,
 * mode 0640, then the directory fsync'd), making the directories first.
 */
int	jobdir_write(const char *root, const char *id, enum jobdir_kind,
	    const char *name, const void *data, size_t len, char *err,
	    size_t errlen);

/*
 * Stores the open regular file fd as file name of job id: a hard link
 * (no copy) when fd lies on the same filesystem, else a copy; either way
 * through a temporary name renamed into place.
 */
int	jobdir_adopt(const char *root, const char *id, enum jobdir_kind,
	    const char *name, int fd, char *err, size_t errlen);

/*
 * Opens file name of job id for reading (no symbolic link followed), or
 * -1 (ENOENT when there is none).
 */
int	jobdir_open(const char *root, const char *id, enum jobdir_kind,
	    const char *name);

/* Removes ROOT/ID and everything in it; a missing one is fine. */
int	jobdir_remove(const char *root, const char *id);
/* Removes ROOT/ID/KIND only (a run's outputs that nothing will count). */
int	jobdir_remove_kind(const char *root, const char *id, enum jobdir_kind);

/*
 * The type a file of declared type is served as: image/png, image/jpeg
 * and image/webp only when its first bytes (head[0..len)) are one, else
 * the declared type with anything an image type would claim taken away
 * ("application/octet-stream" for a declared image that is not one).
 * Returns a static string, or declared itself.
 */
const char *jobdir_checked_type(const char *declared, const unsigned char *head,
	    size_t len);

/* 1 for the types shown inline (the three images); else 0 (download). */
int	jobdir_type_inline(const char *type);

/*
 * The name a download of file name (type) is offered under: name, with
 * the type's usual suffix added when name has no dot (image -> image.png).
 * Only characters of jobdir_name_ok. Into out; truncated to fit.
 */
void	jobdir_download_name(const char *name, const char *type, char *out,
	    size_t outlen);

#endif
