/*
 * exec_int: what exec.c (the executor) and exec_files.c (a job's files:
 * the inputs its worker reads, the outputs it leaves) share. Not for use
 * outside the two.
 */
#ifndef SLUICE_EXEC_INT_H
#define SLUICE_EXEC_INT_H

#include "sched.h"
#include "super.h"

/*
 * The inputs object of the worker's job message: the job's uploads
 * (inputs: its JSON text, or NULL) with each file's absolute path under
 * root (STATE/results) added. Returns a malloc'd JSON text ("{}" for
 * none), or NULL on ENOMEM or unreadable inputs.
 */
char	*exec_inputs_json(const char *root, const char *id, const char *inputs);

/*
 * Turns the worker's outcome into the scheduler's (so's result, error and
 * device moved into out). For a done job, every file the worker listed is
 * opened beneath the job's directory dfd (no "..", no symbolic link, a
 * regular file of at most EXEC_FILE_MAX bytes: else the job fails with
 * the reason, and nothing outside the directory is ever read), then
 * stored as root/ID/out/NAME (jobdir_adopt: a link, no copy) and listed
 * in out->files with the type it is served as. A file that cannot be
 * stored (a full disk) leaves the job done without its files, saying so
 * in out->error.
 */
void	exec_outcome(const char *root, const char *id, int dfd,
	    struct super_outcome *so, struct sched_outcome *out);

#endif
