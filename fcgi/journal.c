/*
 * journal: the durable job store (see journal.h for the contract). This
 * file holds what does not depend on where the rows are kept; the rows are
 * in SQLite (journal_sqlite.c, journal_sqlite_jobs.c), the result files in
 * STATE/results (journal_files.c). The layout is in journal_int.h.
 *
 * Errors: the message of a failed call is kept in a thread-local buffer
 * together with the journal it concerns, so journal_error() answers "this
 * thread's last failed call" without racing other threads; the pointer
 * stays valid until this thread's next failing journal call.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "job.h"
#include "journal.h"
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
