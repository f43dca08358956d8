/*
 * exec_files: a job's files as its worker sees them: the inputs it is
 * given (paths of the stored uploads) and the outputs it names (checked,
 * then stored with the job). See exec_int.h.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "exec.h"
#include "exec_int.h"
#include "jobdir.h"

char *
exec_inputs_json(const char *root, const char *id, const char *inputs)
{
	json_t		*v, *f;
	const char	*name;
	char		 path[PATH_MAX], *out = NULL;

	if (inputs == NULL)
		return strdup("{}");
	if (!json_is_object(v = json_loads(inputs, 0, NULL)))
		goto out;
	json_object_foreach(v, name, f)
		if (!json_is_object(f) || jobdir_path(root, id, JOBDIR_IN, name,
		    path, sizeof(path)) == -1 ||
		    json_object_set_new(f, "path", json_string(path)) == -1)
			goto out;
	out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
out:
	json_decref(v);
	return out;
}

/*
 * Opens path (as the worker named it) inside the directory dfd: no
 * absolute path, no "..", no symbolic link anywhere on the way (the
 * kernel's RESOLVE_BENEATH checks it, not a string test).
 */
static int
open_beneath(int dfd, const char *path)
{
	struct open_how	 how;

	memset(&how, 0, sizeof(how));
	how.flags = O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY;
	how.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS |
	    RESOLVE_NO_MAGICLINKS;
	return (int)syscall(SYS_openat2, dfd, path, &how, sizeof(how));
}

/* One output file, opened and checked; why is set when it cannot be. */
struct output {
	int		 fd;
	off_t		 bytes;
	const char	*type;		/* as served (jobdir_checked_type) */
	const char	*why;
};

static void
output_open(int dfd, const struct wmsg_file *f, struct output *o)
{
	struct stat	 st;
	unsigned char	 head[16];
	ssize_t		 n;

	memset(o, 0, sizeof(*o));
	if ((o->fd = open_beneath(dfd, f->path)) == -1) {
		o->why = errno == EXDEV || errno == ELOOP ? "outside the job's "
		    "directory (or through a symbolic link)" : strerror(errno);
		return;
	}
	if (fstat(o->fd, &st) == -1 || !S_ISREG(st.st_mode))
		o->why = "not a regular file";
	else if (st.st_size > EXEC_FILE_MAX)
		o->why = "larger than 256 MiB";
	else if ((n = pread(o->fd, head, sizeof(head), 0)) == -1)
		o->why = strerror(errno);
	else {
		o->bytes = st.st_size;
		o->type = jobdir_checked_type(f->type, head, (size_t)n);
	}
}

/* Appends {"name","type","bytes"} to arr; 0 or -1 on ENOMEM. */
static int
list_file(json_t *arr, const char *name, const struct output *o)
{
	json_t	*f;

	f = json_pack("{s:s, s:s, s:I}", "name", name, "type", o->type,
	    "bytes", (json_int_t)o->bytes);
	return f == NULL ? -1 : json_array_append_new(arr, f);
}

/*
 * Stores the files of so; 0 with out->files set, -1 with the job failed
 * (a file the worker named wrongly), or 1 when they could not be stored.
 */
static int
store_files(const char *root, const char *id, int dfd,
    const struct super_outcome *so, struct sched_outcome *out, char *msg,
    size_t msglen)
{
	struct output	 o;
	json_t		*arr;
	char		 err[300];
	size_t		 i;
	int		 rc = 0;

	if ((arr = json_array()) == NULL) {
		snprintf(msg, msglen, "out of memory");
		return 1;
	}
	for (i = 0; i < so->nfiles && rc == 0; i++) {
		output_open(dfd, &so->files[i], &o);
		if (o.why != NULL) {
			snprintf(msg, msglen, "result file %s: %s",
			    so->files[i].name, o.why);
			rc = -1;
		} else if (jobdir_adopt(root, id, JOBDIR_OUT, so->files[i].name,
		    o.fd, err, sizeof(err)) == -1 || list_file(arr,
		    so->files[i].name, &o) == -1) {
			fprintf(stderr, "level=error msg=\"result files not "
			    "stored\" job=%s error=\"%s\"\n", id, err);
			snprintf(msg, msglen, "the result files could not be "
			    "stored (the server's disk may be full)");
			rc = 1;
		} else {
			out->files_bytes += o.bytes;
			if (!out->has_png && strcmp(o.type, "image/png") == 0)
				out->has_png = 1;
		}
		if (o.fd != -1)
			close(o.fd);
	}
	if (rc == 0 && i > 0 &&
	    (out->files = json_dumps(arr, JSON_COMPACT)) == NULL)
		rc = 1;
	json_decref(arr);
	return rc;
}

void
exec_outcome(const char *root, const char *id, int dfd,
    struct super_outcome *so, struct sched_outcome *out)
{
	char	 msg[400];
	int	 rc;

	out->state = so->state;
	snprintf(out->device, sizeof(out->device), "%.*s",
	    (int)sizeof(out->device) - 1, so->device);
	if (so->state != JOB_DONE) {
		out->error = so->error;
		so->error = NULL;
		return;
	}
	if ((rc = store_files(root, id, dfd, so, out, msg, sizeof(msg))) != 0) {
		/* What was stored goes: a job keeps all its files or none. */
		(void)jobdir_remove_kind(root, id, JOBDIR_OUT);
		free(out->files);
		out->files = NULL;
		out->files_bytes = 0;
		out->has_png = 0;
		out->error = strdup(msg);
		if (rc == -1) {
			out->state = JOB_FAILED;
			return;
		}
	}
	out->result = so->result;
	so->result = NULL;
}
