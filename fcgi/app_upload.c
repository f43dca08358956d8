/*
 * app_upload: the files of a submission: checked against the task's
 * image and file inputs before the job is accepted, then stored as its
 * inputs (jobdir.h) under the id the job will take. See app_int.h.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "app_int.h"
#include "image.h"
#include "jobdir.h"
#include "multipart.h"

#define UPLOAD_FILENAME_MAX	255	/* bytes of a client's file name kept */

/* Index of the upload input called name of t, -1 for another input, -2 for none. */
static int
upload_index(const struct conf_task *t, const char *name)
{
	size_t	 i;

	for (i = 0; i < t->ninputs; i++)
		if (strcmp(t->inputs[i].name, name) == 0)
			return KPARAM_IS_UPLOAD(t->inputs[i].type) ? (int)i : -1;
	return -2;
}

/* "8 MiB" or "1500 bytes": a limit in the words of an error. */
static void
limit_text(long long n, char *out, size_t len)
{
	if (n >= 1024 * 1024 && n % (1024 * 1024) == 0)
		snprintf(out, len, "%lld MiB", n / (1024 * 1024));
	else if (n >= 1024 && n % 1024 == 0)
		snprintf(out, len, "%lld KiB", n / 1024);
	else
		snprintf(out, len, "%lld bytes", n);
}

/* 1 when name ends in one of the spec's accept suffixes (no case). */
static int
suffix_accepted(const struct kparam_spec *p, const char *name)
{
	size_t	 i, n = strlen(name), k;

	if (p->accept == NULL)
		return 1;
	for (i = 0; p->accept[i] != NULL; i++) {
		k = strlen(p->accept[i]);
		if (n > k && strcasecmp(name + n - k, p->accept[i]) == 0)
			return 1;
	}
	return 0;
}

/* "must be one of .txt, .csv" into err. */
static void
accept_error(const struct kparam_spec *p, char *err, size_t errlen)
{
	size_t	 i, n;

	n = (size_t)snprintf(err, errlen, "the file name must end in ");
	for (i = 0; p->accept[i] != NULL && n < errlen; i++)
		n += (size_t)snprintf(err + n, errlen - n, "%s%s", i > 0 ?
		    (p->accept[i + 1] == NULL ? " or " : ", ") : "",
		    p->accept[i]);
}

/*
 * Checks part against upload input p into u. 0, or -1 with a message for
 * the user in err.
 */
static int
check_one(const struct kparam_spec *p, const struct multipart_part *part,
    struct upload *u, char *err, size_t errlen)
{
	struct image_info	 info;
	char			 lim[32];

	memset(u, 0, sizeof(*u));
	u->spec = p;
	u->data = part->data;
	u->len = part->len;
	u->filename = part->filename;
	if ((long long)part->len > p->max_bytes) {
		limit_text(p->max_bytes, lim, sizeof(lim));
		snprintf(err, errlen, "the file is larger than the %s allowed",
		    lim);
		return -1;
	}
	if (p->type == KPARAM_FILE) {
		if (!suffix_accepted(p, part->filename)) {
			accept_error(p, err, errlen);
			return -1;
		}
		snprintf(u->type, sizeof(u->type), "%s", jobdir_checked_type(
		    part->type != NULL ? part->type : "", part->data,
		    part->len));
		return 0;
	}
	if (image_check(part->data, part->len, (uint64_t)p->max_pixels, &info,
	    err, errlen) == -1)
		return -1;
	snprintf(u->type, sizeof(u->type), "%s", info.mime);
	u->width = info.width;
	u->height = info.height;
	u->orientation = info.orientation;
	return 0;
}

/* 1 when part stands for "no file chosen": what a browser sends then. */
static int
part_empty(const struct multipart_part *part)
{
	return part->len == 0 && part->filename[0] == '\0';
}

/* 1 when up holds a file for input p. */
static int
uploaded(const struct uploads *up, const struct kparam_spec *p)
{
	size_t	 i;

	for (i = 0; i < up->n; i++)
		if (up->u[i].spec == p)
			return 1;
	return 0;
}

/* Refuses a file part that matches no upload input: the form's error. */
static void
refuse_part(const struct multipart_part *part, int idx, struct form_state *fs,
    char *ferr, size_t ferrlen, int *bad)
{
	snprintf(ferr, ferrlen, "field '%.*s': %s",
	    (int)form_utf8_cut(part->name, 40), part->name, idx == -2 ?
	    "unknown field" : "must be a value, not a file");
	fs->form_error = ferr;
	fs->extra_field = part->name;
	fs->extra_error = idx == -2 ? "unknown field" :
	    "must be a value, not a file";
	(*bad)++;
}

void
app_uploads_check(const struct conf_task *t, const struct multipart *files,
    struct uploads *up, struct form_state *fs, char errs[][128], char *ferr,
    size_t ferrlen, int *bad)
{
	const struct multipart_part	*part;
	int				 seen[KERNEL_MAX_PARAMS] = { 0 };
	size_t				 i;
	int				 idx;

	memset(up, 0, sizeof(*up));
	for (i = 0; files != NULL && i < files->nparts; i++) {
		part = &files->parts[i];
		if (part->filename == NULL)
			continue;	/* a text field: the form's */
		if ((idx = upload_index(t, part->name)) < 0) {
			refuse_part(part, idx, fs, ferr, ferrlen, bad);
			continue;
		}
		if (seen[idx]++ > 0) {
			snprintf(errs[idx], 128, "given more than once");
		} else if (part_empty(part))
			continue;
		else if (check_one(&t->inputs[idx], part, &up->u[up->n],
		    errs[idx], 128) == 0) {
			up->bytes += (int64_t)part->len;
			up->n++;
			continue;
		}
		fs->errors[idx] = errs[idx];
		(*bad)++;
	}
	for (i = 0; i < t->ninputs; i++)
		if (KPARAM_IS_UPLOAD(t->inputs[i].type) && !t->inputs[i].optional
		    && fs->errors[i] == NULL && !uploaded(up, &t->inputs[i])) {
			snprintf(errs[i], 128, "required: choose a file");
			fs->errors[i] = errs[i];
			(*bad)++;
		}
}

/*
 * The client's file name as kept (metadata only, never a path): valid
 * UTF-8 already (the parser checks), cut to UPLOAD_FILENAME_MAX bytes on
 * a character boundary.
 */
static json_t *
filename_value(const char *name)
{
	return json_stringn(name, form_utf8_cut(name, UPLOAD_FILENAME_MAX));
}

/* {"type","bytes","filename"[,"width","height","orientation"]} of u. */
static json_t *
upload_json(const struct upload *u)
{
	json_t	*o;

	o = json_pack("{s:s, s:I, s:o}", "type", u->type, "bytes",
	    (json_int_t)u->len, "filename", filename_value(u->filename));
	if (o != NULL && u->spec->type == KPARAM_IMAGE &&
	    (json_object_set_new(o, "width", json_integer(u->width)) == -1 ||
	    json_object_set_new(o, "height", json_integer(u->height)) == -1 ||
	    json_object_set_new(o, "orientation",
	    json_integer(u->orientation)) == -1)) {
		json_decref(o);
		return NULL;
	}
	return o;
}

char *
app_uploads_store(struct app *a, const char *id, const struct uploads *up,
    char *err, size_t errlen)
{
	const char	*root;
	json_t		*obj;
	char		*text = NULL;
	size_t		 i;

	err[0] = '\0';
	if (up->n == 0)
		return NULL;
	if (a->journal == NULL) {
		snprintf(err, errlen, "no journal to store uploads with");
		return NULL;
	}
	root = journal_files_root(a->journal);
	if ((obj = json_object()) == NULL) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	for (i = 0; i < up->n; i++)
		if (jobdir_write(root, id, JOBDIR_IN, up->u[i].spec->name,
		    up->u[i].data, up->u[i].len, err, errlen) == -1 ||
		    json_object_set_new(obj, up->u[i].spec->name,
		    upload_json(&up->u[i])) == -1)
			goto out;
	if ((text = json_dumps(obj, JSON_COMPACT | JSON_PRESERVE_ORDER)) ==
	    NULL)
		snprintf(err, errlen, "out of memory");
out:
	if (text == NULL && err[0] == '\0')
		snprintf(err, errlen, "out of memory");
	if (text == NULL)
		app_uploads_discard(a, id);
	json_decref(obj);
	return text;
}

void
app_uploads_discard(struct app *a, const char *id)
{
	if (a->journal != NULL)
		(void)jobdir_remove(journal_files_root(a->journal), id);
}
