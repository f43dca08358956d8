/*
 * journal_int: what the files of the journal share, whatever stores the
 * rows; not for use outside fcgi/journal*.c.
 *
 *   journal.c              this thread's last error, checks and helpers
 *                          any store needs
 *   journal_files.c        the result files STATE/results/ID.png
 *                          (journal_files.h)
 *   journal_sqlite.c       the SQLite store: schema, statements, open and
 *                          close, reading rows (journal_sqlite.h)
 *   journal_sqlite_jobs.c  the SQLite store: the calls of journal.h that
 *                          read and write rows, recovery and eviction
 *
 * A second store (another database) implements the journal.h calls that
 * journal_sqlite*.c implement, and journal_results_dir(), and uses the
 * rest as it is.
 */
#ifndef SLUICE_JOURNAL_INT_H
#define SLUICE_JOURNAL_INT_H

#include "job.h"
#include "journal.h"

/* ---- journal.c ---- */

/*
 * Records a failure of this thread's current call on j: journal_error(j)
 * returns the message until this thread's next failure. Thread-safe (the
 * message is thread-local).
 */
void	journal_seterr(struct journal *j, const char *fmt, ...)
	    __attribute__((format(printf, 2, 3)));
/* Forgets this thread's last error if it concerns j (j is being freed). */
void	journal_err_forget(const struct journal *j);
/*
 * Checks that jb can be recorded as final (valid id, final state): 0, or
 * -1 with "FUNC: ..." recorded. Thread-safe.
 */
int	journal_final_ok(struct journal *j, const struct job *jb,
	    const char *func);

/* ---- journal_recent.c: the recent jobs of sessions, in memory ---- */

/* Sessions whose recent jobs are kept (a direct-mapped cache). */
#define JOURNAL_RECENT_SLOTS	1024

struct journal_recent;
/* An empty cache, or NULL (ENOMEM); freed with journal_recent_free. */
struct journal_recent	*journal_recent_new(void);
void	journal_recent_free(struct journal_recent *);
/*
 * After a commit that changed session's jobs: its cached list is dropped
 * (NULL or "": every session's). Thread-safe; the journal's mutex may be
 * held.
 */
void	journal_recent_forget(struct journal *j, const char *session);
/* After a commit that removed or changed many rows: every list dropped. */
void	journal_recent_forget_all(struct journal *j);

/* ---- the store (journal_sqlite.c) ---- */

/* STATE/results, fixed at open. Thread-safe. */
const char	*journal_results_dir(const struct journal *j);

#endif
