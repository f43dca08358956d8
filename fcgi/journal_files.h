/*
 * journal_files: the result files of the journal, STATE/results/ID.png,
 * the same whatever stores the rows; not for use outside fcgi/journal*.c.
 * A file is written to a temporary file, fsync'd and renamed before the
 * row that counts it is committed, and removed before its row on
 * eviction. Every call is thread-safe: the directory never changes after
 * open, and a job's file is only written by the one thread finishing it.
 * Errors go to journal_seterr(j, ...) unless said otherwise.
 */
#ifndef SLUICE_JOURNAL_FILES_H
#define SLUICE_JOURNAL_FILES_H

#include <stddef.h>

#include "journal.h"

/* Joins dir and name into a malloc'd path; NULL on ENOMEM/overflow. */
char	*journal_join(const char *dir, const char *name);
/*
 * Makes sure path is a directory, creating it (mode 0750) when missing.
 * The parent must exist. 0, or -1 with a message naming the path in err.
 */
int	 journal_mkdir(const char *path, char *err, size_t errlen);
/*
 * Builds STATE/results/ID.png into out; 0, or -1 (nothing recorded) for a
 * malformed id or when it does not fit.
 */
int	 journal_png_build(const struct journal *j, const char *id, char *out,
	    size_t outlen);
/*
 * Writes png to path atomically: a temporary file in the same directory,
 * written, fsync'd, closed, then renamed over path. 0 or -1 (error set;
 * no temporary file left behind).
 */
int	 journal_write_png(struct journal *j, const char *path,
	    const unsigned char *png, size_t len);
/* Removes the file at path, if any, ignoring errors (undoing a write). */
void	 journal_png_discard(const char *path);
/*
 * Removes job id's result file; a missing one is fine. 0, or -1 with
 * "FUNC: ..." recorded.
 */
int	 journal_png_unlink(struct journal *j, const char *id,
	    const char *func);

#endif
