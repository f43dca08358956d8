/*
 * app_body: a POST body as a form, in either encoding a browser sends:
 * application/x-www-form-urlencoded (form.h) or multipart/form-data
 * (multipart.h). See app_int.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "app_int.h"
#include "multipart.h"

/* 1 when the media type of Content-Type value ct is want. */
static int
media_type_is(const char *ct, const char *want)
{
	size_t	 n = strlen(want);

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/*
 * The text parts of mp into req->form, in body order; with files NULL a
 * file part is refused. 0, or -1 after answering 400.
 */
static int
text_parts(struct app *a, struct http_req *req, const struct multipart *mp,
    int files_ok, struct http_resp *resp)
{
	const struct multipart_part	*p;
	size_t				 i;

	for (i = 0; i < mp->nparts; i++) {
		p = &mp->parts[i];
		if (p->filename != NULL) {
			if (files_ok)
				continue;
			app_field_error_answer(a, req, p->name, "a file is not "
			    "expected here", resp);
			return -1;
		}
		if (form_add(&req->form, p->name, strlen(p->name),
		    (const char *)p->data, p->len) == -1) {
			app_error_answer(a, req, 400, "too many fields", 0,
			    resp);
			return -1;
		}
	}
	return 0;
}

/* multipart/form-data into req->form and mp. 0, or -1 after answering. */
static int
parse_multipart(struct app *a, struct http_req *req, struct multipart *mp,
    int files_ok, struct http_resp *resp)
{
	struct multipart_err	 e;
	char			 boundary[MULTIPART_BOUNDARY_MAX + 1];
	char			 err[200];

	if (multipart_boundary(req->content_type, boundary, sizeof(boundary),
	    err, sizeof(err)) == -1) {
		app_error_answer(a, req, 400, err, 0, resp);
		return -1;
	}
	if (multipart_parse((const unsigned char *)(req->body != NULL ?
	    req->body : ""), req->body_len, boundary, mp, &e) == -1) {
		if (e.field[0] != '\0')
			app_field_error_answer(a, req, e.field, e.message,
			    resp);
		else
			app_error_answer(a, req, 400, e.message, 0, resp);
		return -1;
	}
	return text_parts(a, req, mp, files_ok, resp);
}

/* Either encoding; files NULL: no file parts allowed. */
static int
parse_body(struct app *a, struct http_req *req, struct multipart *files,
    struct http_resp *resp)
{
	struct multipart	 mp = { NULL, 0 };
	char			 err[160];
	int			 rc;

	if (media_type_is(req->content_type, "multipart/form-data")) {
		rc = parse_multipart(a, req, files != NULL ? files : &mp,
		    files != NULL, resp);
		multipart_free(&mp);
		return rc;
	}
	if (req->body_len > 0 && !media_type_is(req->content_type,
	    "application/x-www-form-urlencoded")) {
		app_error_answer(a, req, 415, "the body must be "
		    "application/x-www-form-urlencoded or multipart/form-data",
		    0, resp);
		return -1;
	}
	if (form_parse(req->body != NULL ? req->body : "", req->body_len,
	    &req->form, err, sizeof(err)) == -1) {
		app_error_answer(a, req, 400, err, 0, resp);
		return -1;
	}
	return 0;
}

int
app_parse_form_body(struct app *a, struct http_req *req,
    struct http_resp *resp)
{
	return parse_body(a, req, NULL, resp);
}

int
app_parse_upload_body(struct app *a, struct http_req *req,
    struct multipart *files, struct http_resp *resp)
{
	return parse_body(a, req, files, resp);
}
