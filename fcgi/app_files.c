/*
 * app_files: a job's files over HTTP: what its worker produced
 * (/jobs/{id}/files/{name}), what was uploaded for it
 * (/jobs/{id}/inputs/{name}) and its first PNG (/jobs/{id}/result.png).
 * Only files the job lists are served (never a path probed on disk), to
 * the job's session only; another session's is "no such job". See
 * app_int.h.
 */
#include "config.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "app_int.h"
#include "jobdir.h"

/*
 * What is served of one file. Its type was checked when it was stored
 * (jobdir_checked_type: an image type only for bytes that are one).
 */
struct served {
	char		 type[128];
	const char	*id;
	enum jobdir_kind kind;
	char		 name[JOBDIR_NAME_MAX + 1];
	char		 path[PATH_MAX];	/* "" unless an older ID.png */
	char		 download[JOBDIR_NAME_MAX + 8];
};

/*
 * Finds name among the job's outputs (kind JOBDIR_OUT: the files array)
 * or uploads (JOBDIR_IN: the inputs object) and fills sv. 0, or -1 when
 * the job lists no such file.
 */
static int
served_find(struct app *a, const struct job *j, enum jobdir_kind kind,
    const char *name, struct served *sv)
{
	json_t		*v, *f = NULL, *e;
	const char	*type;
	size_t		 i;
	int		 rc = -1;

	v = json_loads(kind == JOBDIR_OUT ? j->files : j->inputs, 0, NULL);
	if (kind == JOBDIR_IN)
		f = json_object_get(v, name);
	else
		json_array_foreach(v, i, e)
			if (json_is_string(json_object_get(e, "name")) &&
			    strcmp(json_string_value(json_object_get(e,
			    "name")), name) == 0)
				f = e;
	if ((type = json_string_value(json_object_get(f, "type"))) == NULL ||
	    a->journal == NULL || !jobdir_name_ok(name))
		goto out;
	sv->id = j->id;
	sv->kind = kind;
	snprintf(sv->name, sizeof(sv->name), "%s", name);
	sv->path[0] = '\0';
	snprintf(sv->type, sizeof(sv->type), "%s", type);
	jobdir_download_name(name, type, sv->download, sizeof(sv->download));
	rc = 0;
out:
	json_decref(v);
	return rc;
}

/*
 * The file sv as the answer: images inline with their type, anything
 * else as application/octet-stream to be saved (attachment), never
 * sniffed into something else (X-Content-Type-Options: every answer
 * carries it, http.h). From this disk or, in the cluster, the database
 * (journal_file_open). 0, or -1 when it is gone (evicted).
 */
static int
served_answer(struct app *a, const struct served *sv, struct http_resp *resp)
{
	char	 disp[JOBDIR_NAME_MAX + 40];
	int	 show = jobdir_type_inline(sv->type), fd;

	if (sv->path[0] != '\0') {
		if (http_resp_file(resp, sv->path) == -1)
			return -1;
	} else if ((fd = journal_file_open(a->journal, sv->id, sv->kind,
	    sv->name)) == -1 || http_resp_fd(resp, fd) == -1)
		return -1;
	resp->status = 200;
	snprintf(disp, sizeof(disp), "%s; filename=\"%s\"", show ? "inline" :
	    "attachment", sv->download);
	http_resp_header(resp, "Content-Type", show ? sv->type :
	    "application/octet-stream");
	http_resp_header(resp, "Content-Disposition", disp);
	/* A job's files never change; only eviction removes them. */
	http_resp_header(resp, "Cache-Control", "private, max-age=3600");
	return 0;
}

/* Answers file name (of kind) of job id, or 404. */
static void
answer_file(struct app *a, struct http_req *req, const char *id,
    enum jobdir_kind kind, const char *name, struct http_resp *resp)
{
	struct job	 j;
	struct served	 sv;

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK)
		app_error_answer(a, req, 404, "no such job", 0, resp);
	else if (served_find(a, &j, kind, name, &sv) == -1 ||
	    served_answer(a, &sv, resp) == -1)
		app_error_answer(a, req, 404, "no such file for this job (a "
		    "job's files are removed when it expires)", 0, resp);
	job_clear(&j);
}

void
app_job_file(struct app *a, struct http_req *req, const char *id,
    const char *name, struct http_resp *resp)
{
	answer_file(a, req, id, JOBDIR_OUT, name, resp);
}

void
app_job_input(struct app *a, struct http_req *req, const char *id,
    const char *name, struct http_resp *resp)
{
	answer_file(a, req, id, JOBDIR_IN, name, resp);
}

/* The name of the job's first PNG output, into name; 0, or -1 if none. */
static int
first_png(const struct job *j, char *name, size_t len)
{
	json_t		*v, *f;
	size_t		 i;
	int		 rc = -1;

	v = j->files != NULL ? json_loads(j->files, 0, NULL) : NULL;
	json_array_foreach(v, i, f)
		if (json_is_string(json_object_get(f, "type")) &&
		    strcmp(json_string_value(json_object_get(f, "type")),
		    "image/png") == 0 &&
		    jobdir_name_ok(json_string_value(json_object_get(f,
		    "name")))) {
			snprintf(name, len, "%s", json_string_value(
			    json_object_get(f, "name")));
			rc = 0;
			break;
		}
	json_decref(v);
	return rc;
}

/*
 * The first PNG a job produced; a job from before files kept it as
 * STATE/results/ID.png.
 */
void
app_job_png(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	struct job	 j;
	struct served	 sv;
	char		 name[JOBDIR_NAME_MAX + 1];

	memset(&j, 0, sizeof(j));
	memset(&sv, 0, sizeof(sv));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK ||
	    !j.has_png || a->journal == NULL)
		goto none;
	if (first_png(&j, name, sizeof(name)) == 0) {
		if (served_find(a, &j, JOBDIR_OUT, name, &sv) == -1)
			goto none;
	} else if (journal_png_path(a->journal, j.id, sv.path,
	    sizeof(sv.path)) == -1)
		goto none;
	snprintf(sv.type, sizeof(sv.type), "image/png");
	snprintf(sv.download, sizeof(sv.download), "result.png");
	if (served_answer(a, &sv, resp) == -1)
		goto none;
	job_clear(&j);
	return;
none:
	app_error_answer(a, req, 404, "no image for this job", 0, resp);
	job_clear(&j);
}

/* ---------------------------------------------------------------------- */
/* What the job page shows of a job's files */

/* "512 B", "12.3 KiB", "4.0 MiB". */
static struct tval *
bytes_text(json_int_t n)
{
	if (n < 1024)
		return tval_printf("%lld B", (long long)n);
	if (n < 1024 * 1024)
		return tval_printf("%.1f KiB", (double)n / 1024);
	return tval_printf("%.1f MiB", (double)n / (1024 * 1024));
}

/*
 * One file as the page shows it: url, name, type, size, and whether it
 * is an image (inline) or a download (with the name it is saved as).
 */
static struct tval *
file_row(struct tval *list, const char *id, const char *what,
    const char *name, const json_t *f)
{
	struct tval	*row;
	const char	*type = json_string_value(json_object_get(f, "type"));
	char		 download[JOBDIR_NAME_MAX + 8];

	if (type == NULL || (row = tval_push_map(list)) == NULL)
		return NULL;
	tval_set_printf(row, "url", "/jobs/%s/%s/%s", id, what, name);
	tval_set_str(row, "name", name);
	tval_set_str(row, "type", type);
	tval_set(row, "size", bytes_text(json_integer_value(json_object_get(f,
	    "bytes"))));
	jobdir_download_name(name, type, download, sizeof(download));
	tval_set_str(row, "download", download);
	tval_set_bool(row, "image", jobdir_type_inline(type));
	return row;
}

/* The worker's files: images (a gallery when several) and downloads. */
static void
outputs_context(struct tval *ctx, const struct job *j)
{
	struct tval	*images, *downloads;
	json_t		*v, *f;
	const char	*name, *type;
	size_t		 i, nimages = 0, ndownloads = 0;

	if (j->files == NULL || !json_is_array(v = json_loads(j->files, 0,
	    NULL)))
		return;
	images = tval_set_list(ctx, "images");
	downloads = tval_set_list(ctx, "downloads");
	json_array_foreach(v, i, f) {
		name = json_string_value(json_object_get(f, "name"));
		type = json_string_value(json_object_get(f, "type"));
		if (!jobdir_name_ok(name) || type == NULL)
			continue;
		if (jobdir_type_inline(type))
			nimages++;
		else
			ndownloads++;
		file_row(jobdir_type_inline(type) ? images : downloads, j->id,
		    "files", name, f);
	}
	tval_set_bool(ctx, "gallery", nimages > 1);
	tval_set_bool(ctx, "has_images", nimages > 0);
	tval_set_bool(ctx, "has_downloads", ndownloads > 0);
	json_decref(v);
}

/* The uploads, each with what the client called it and its size. */
static void
inputs_context(struct tval *ctx, const struct app *a, const struct job *j)
{
	const struct conf_task	*t = conf_find_task(a->conf, j->task);
	struct tval		*list, *row;
	json_t			*v, *f, *w;
	const char		*name, *label = NULL;
	size_t			 i;

	if (j->inputs == NULL || !json_is_object(v = json_loads(j->inputs, 0,
	    NULL)))
		return;
	list = tval_set_list(ctx, "uploads");
	tval_set_bool(ctx, "has_uploads", json_object_size(v) > 0);
	json_object_foreach(v, name, f) {
		if (!jobdir_name_ok(name) ||
		    (row = file_row(list, j->id, "inputs", name, f)) == NULL)
			continue;
		for (i = 0; t != NULL && i < t->ninputs; i++)
			if (strcmp(t->inputs[i].name, name) == 0)
				label = t->inputs[i].label;
		tval_set_str(row, "label", label != NULL ? label : name);
		tval_set_str(row, "filename", json_string_value(
		    json_object_get(f, "filename")));
		if ((w = json_object_get(f, "width")) != NULL)
			tval_set_printf(row, "dims", "%lld x %lld",
			    (long long)json_integer_value(w),
			    (long long)json_integer_value(json_object_get(f,
			    "height")));
	}
	json_decref(v);
}

void
app_files_context(struct tval *ctx, const struct app *a, const struct job *j)
{
	inputs_context(ctx, a, j);
	if (j->state != JOB_DONE)
		return;
	outputs_context(ctx, j);
	/* A job from before files kept its one image as ID.png. */
	tval_set_bool(ctx, "legacy_png", j->has_png && j->files == NULL);
}
