/*
 * Uploads through real nginx (tests/data/uploads.conf): images to the
 * example restyle worker and its result decoded, a text file to a file
 * input, the JSON API with multipart, every refusal with its field
 * message, the files of a job served to its session only with their
 * types, and a job's files gone when it expires.
 */
#include <criterion/criterion.h>

#include <sys/stat.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "image.h"
#include "itest.h"

#define BOUNDARY	"----sluicetestboundary7MA4YWxk"

static struct itest_server srv;

static void
setup(void)
{
	cr_assert_eq(itest_start(&srv, "tests/data/uploads.conf", NULL, NULL),
	    0, "sluice-serve did not become ready");
}

static void
teardown(void)
{
	cr_expect_eq(itest_stop(&srv), 0, "sluice-serve did not exit cleanly");
}

TestSuite(uploads, .init = setup, .fini = teardown, .timeout = 120);

/* ---- building bodies ---- */

/* The bytes of tests/data/images/NAME into b (appended). */
static void
put_fixture(struct buf *b, const char *name)
{
	char	 rel[128], path[PATH_MAX], chunk[4096];
	ssize_t	 n;
	int	 fd;

	snprintf(rel, sizeof(rel), "tests/data/images/%s", name);
	cr_assert_neq(fd = open(itest_src(rel, path, sizeof(path)), O_RDONLY),
	    -1, "%s: %s", path, strerror(errno));
	while ((n = read(fd, chunk, sizeof(chunk))) > 0)
		buf_append(b, chunk, (size_t)n);
	close(fd);
}

/* A text part. */
static void
part_text(struct buf *b, const char *name, const char *value)
{
	buf_printf(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"%s\"\r\n\r\n%s\r\n", name, value);
}

/* A file part: fixture's bytes (or data when fixture is NULL). */
static void
part_file(struct buf *b, const char *name, const char *filename,
    const char *type, const char *fixture, const char *data)
{
	buf_printf(b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"%s\"; filename=\"%s\"\r\nContent-Type: %s\r\n\r\n", name,
	    filename, type);
	if (fixture != NULL)
		put_fixture(b, fixture);
	else
		buf_puts(b, data);
	buf_puts(b, "\r\n");
}

static void
part_end(struct buf *b)
{
	buf_puts(b, "--" BOUNDARY "--\r\n");
}

/* The csrf and nonce parts every form has. */
static void
part_csrf(struct buf *b, const char *sid)
{
	char	 csrf[65];

	cr_assert_eq(itest_csrf(&srv, sid, csrf), 0);
	part_text(b, "csrf", csrf);
}

static const char *const mp_h[] = {
	"Content-Type: multipart/form-data; boundary=" BOUNDARY, NULL };
static const char *const mp_json_h[] = {
	"Content-Type: multipart/form-data; boundary=" BOUNDARY,
	"Accept: application/json", NULL };

/* POSTs body b to /tasks/task. */
static void
post(const char *sid, const char *task, struct buf *b, int json,
    struct itest_resp *r)
{
	char	 path[64];

	snprintf(path, sizeof(path), "/tasks/%s", task);
	cr_assert_eq(itest_req(&srv, "POST", path, b->data, b->len, json ?
	    mp_json_h : mp_h, sid, r), 0);
}

/* The id of the job a 303 points to. */
static void
id_of(const struct itest_resp *r, char id[33])
{
	char	 loc[128];

	cr_assert_eq(r->status, 303, "%ld: %s", r->status, r->body.data);
	cr_assert_eq(itest_header(r, "Location", loc, sizeof(loc)), 0);
	cr_assert(strncmp(loc, "/jobs/", 6) == 0 && strlen(loc) == 38, "%s",
	    loc);
	memcpy(id, loc + 6, 33);
}

/* Waits for job id of sid to end; asserts done; returns its JSON. */
static json_t *
wait_done(const char *sid, const char *id)
{
	json_t	*o = itest_wait_final(&srv, sid, id, 60000);

	cr_assert_not_null(o, "job %s did not end", id);
	cr_assert_str_eq(json_string_value(json_object_get(o, "state")),
	    "done", "%s: %s", id, json_string_value(json_object_get(o,
	    "error")));
	return o;
}

/* The entry of the files array called name. */
static json_t *
file_entry(json_t *job, const char *name)
{
	json_t	*f;
	size_t	 i;

	json_array_foreach(json_object_get(job, "files"), i, f)
		if (strcmp(json_string_value(json_object_get(f, "name")),
		    name) == 0)
			return f;
	cr_assert_fail("no file %s", name);
	return NULL;
}

static const char *
str(const json_t *o, const char *key)
{
	const char	*s = json_string_value(json_object_get(o, key));

	return s != NULL ? s : "(null)";
}

/* GETs path for sid; r filled. */
static void
get(const char *sid, const char *path, struct itest_resp *r)
{
	cr_assert_eq(itest_req(&srv, "GET", path, NULL, 0, NULL, sid, r), 0);
}

static void
expect_header(const struct itest_resp *r, const char *name, const char *want)
{
	char	 v[256];

	cr_assert_eq(itest_header(r, name, v, sizeof(v)), 0, "no %s", name);
	cr_expect_str_eq(v, want, "%s", name);
}

/* ---- the example image worker ---- */

/* Uploads fixture to restyle; returns the done job's JSON, its id in id. */
static json_t *
restyle(const char *sid, const char *fixture, const char *type, char id[33])
{
	struct itest_resp	 r;
	struct buf		 b;

	buf_init(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", fixture, type, fixture, NULL);
	part_text(&b, "style", "pencil");
	part_text(&b, "strength", "0.5");
	part_end(&b);
	post(sid, "restyle", &b, 0, &r);
	id_of(&r, id);
	itest_resp_free(&r);
	buf_free(&b);
	return wait_done(sid, id);
}

/* The result image of job id decoded: its size. */
static void
result_size(const char *sid, const char *url, uint32_t *w, uint32_t *h)
{
	struct itest_resp	 r;
	struct image_info	 info;
	char			 err[200];

	get(sid, url, &r);
	cr_assert_eq(r.status, 200, "%s: %ld", url, r.status);
	cr_assert_eq(image_check(r.body.data, r.body.len, 1 << 24, &info, err,
	    sizeof(err)), 0, "%s: %s", url, err);
	*w = info.width;
	*h = info.height;
	itest_resp_free(&r);
}

Test(uploads, png_and_jpeg_restyled)
{
	static const struct {
		const char	*fixture, *type;
		uint32_t	 w, h;
	} cases[] = {
		{ "photo.png", "image/png", 64, 48 },
		{ "photo.jpg", "image/jpeg", 80, 60 },
		/* EXIF orientation 6: the worker turns it upright. */
		{ "rotated.jpg", "image/jpeg", 60, 80 },
	};
	json_t		*job, *in;
	char		 sid[33], id[33], url[128];
	uint32_t	 w, h;
	size_t		 i;
	json_int_t	 orientation = 0;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		job = restyle(sid, cases[i].fixture, cases[i].type, id);
		in = json_object_get(json_object_get(job, "inputs"), "photo");
		cr_expect_str_eq(str(in, "type"), cases[i].type);
		cr_expect_str_eq(str(in, "filename"), cases[i].fixture);
		cr_expect_str_eq(str(file_entry(job, "restyled"), "type"),
		    "image/png");
		cr_expect_str_eq(str(file_entry(job, "palette"), "type"),
		    "text/csv");
		snprintf(url, sizeof(url), "/jobs/%s/files/restyled", id);
		cr_expect_str_eq(str(file_entry(job, "restyled"), "url"), url);
		result_size(sid, url, &w, &h);
		cr_expect(w == cases[i].w && h == cases[i].h, "%s: %ux%u",
		    cases[i].fixture, w, h);
		snprintf(url, sizeof(url), "/jobs/%s/result.png", id);
		result_size(sid, url, &w, &h);
		cr_expect_eq(w, cases[i].w);
		orientation = json_integer_value(json_object_get(in,
		    "orientation"));
		json_decref(job);
	}
	/* The last one was told of the orientation. */
	cr_expect_eq(orientation, 6);
}

/* Served files: images inline with their type, the rest to save. */
Test(uploads, served_files_have_their_types)
{
	struct itest_resp	 r;
	json_t			*job;
	char			 sid[33], id[33], url[128];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	job = restyle(sid, "photo.png", "image/png", id);
	snprintf(url, sizeof(url), "/jobs/%s/files/restyled", id);
	get(sid, url, &r);
	expect_header(&r, "Content-Type", "image/png");
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	expect_header(&r, "Content-Disposition",
	    "inline; filename=\"restyled.png\"");
	expect_header(&r, "Cache-Control", "private, max-age=3600");
	itest_resp_free(&r);
	snprintf(url, sizeof(url), "/jobs/%s/files/palette", id);
	get(sid, url, &r);
	cr_expect_eq(r.status, 200);
	expect_header(&r, "Content-Type", "application/octet-stream");
	expect_header(&r, "Content-Disposition",
	    "attachment; filename=\"palette.csv\"");
	expect_header(&r, "X-Content-Type-Options", "nosniff");
	cr_expect(strncmp(r.body.data, "rank,hex,share", 14) == 0);
	itest_resp_free(&r);
	/* The upload, as it was sent. */
	snprintf(url, sizeof(url), "/jobs/%s/inputs/photo", id);
	get(sid, url, &r);
	cr_expect_eq(r.status, 200);
	expect_header(&r, "Content-Type", "image/png");
	cr_expect_eq(r.body.len, 138);
	itest_resp_free(&r);
	json_decref(job);
}

/* The job page: the upload beside the result, the download listed. */
Test(uploads, job_page_shows_images_and_downloads)
{
	struct itest_resp	 r;
	json_t			*job;
	char			 sid[33], id[33], path[96], want[160];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	job = restyle(sid, "photo.jpg", "image/jpeg", id);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	get(sid, path, &r);
	cr_assert_eq(r.status, 200);
	snprintf(want, sizeof(want), "<img src=\"/jobs/%s/inputs/photo\"", id);
	cr_expect(strstr(r.body.data, want) != NULL, "%s", r.body.data);
	snprintf(want, sizeof(want), "<img src=\"/jobs/%s/files/restyled\"",
	    id);
	cr_expect(strstr(r.body.data, want) != NULL);
	cr_expect(strstr(r.body.data, "download=\"palette.csv\"") != NULL);
	cr_expect(strstr(r.body.data, "photo.jpg") != NULL);
	itest_resp_free(&r);
	json_decref(job);
}

/* ---- files, the JSON API, what the worker read ---- */

Test(uploads, file_input_and_json_api)
{
	struct itest_resp	 r;
	struct buf		 b;
	json_t			*o, *job, *seen, *res;
	char			 sid[33], url[128];
	const char		*id;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "photo.png", "image/png", "photo.png", NULL);
	part_file(&b, "notes", "notes.TXT", "text/plain", "notes.txt", NULL);
	part_text(&b, "caption", "caf\xc3\xa9");
	part_end(&b);
	post(sid, "files", &b, 1, &r);
	cr_assert_eq(r.status, 202, "%ld: %s", r.status, r.body.data);
	cr_assert_not_null(o = json_loads(r.body.data, 0, NULL));
	id = str(o, "id");
	cr_expect_eq(json_integer_value(json_object_get(json_object_get(
	    json_object_get(o, "inputs"), "notes"), "bytes")), 23);
	job = wait_done(sid, id);
	res = json_object_get(job, "result");
	seen = json_object_get(json_object_get(res, "inputs"), "notes");
	cr_expect_eq(json_integer_value(json_object_get(seen, "read")), 23,
	    "the worker read the whole file");
	cr_expect_str_eq(str(seen, "type"), "text/plain");
	cr_expect_str_eq(str(seen, "filename"), "notes.TXT");
	cr_expect_str_eq(str(seen, "sha256"), "c2097f55f01fc297fc7f4acf21438123"
	    "e06e4d409a818524428534e850642f4f");
	cr_expect(strncmp(str(json_object_get(json_object_get(res, "inputs"),
	    "photo"), "path"), srv.state, strlen(srv.state)) == 0,
	    "a path under the state directory");
	cr_expect_str_eq(str(json_object_get(job, "params"), "caption"),
	    "caf\xc3\xa9");
	/* HTML the worker called text/html, or image/png: never served so. */
	cr_expect_str_eq(str(file_entry(job, "fake"), "type"),
	    "application/octet-stream");
	snprintf(url, sizeof(url), "/jobs/%s/files/page", id);
	itest_resp_free(&r);
	get(sid, url, &r);
	expect_header(&r, "Content-Type", "application/octet-stream");
	expect_header(&r, "Content-Disposition",
	    "attachment; filename=\"page\"");
	itest_resp_free(&r);
	snprintf(url, sizeof(url), "/jobs/%s/inputs/notes", id);
	get(sid, url, &r);
	expect_header(&r, "Content-Type", "application/octet-stream");
	expect_header(&r, "Content-Disposition",
	    "attachment; filename=\"notes.txt\"");
	cr_expect_eq(r.body.len, 23);
	itest_resp_free(&r);
	json_decref(job);
	json_decref(o);
	buf_free(&b);
}

/* ---- refusals ---- */

/* One submission to files that must be refused: status and the field. */
static void
refused(const char *sid, struct buf *b, long status, const char *field,
    const char *words)
{
	struct itest_resp	 r;
	json_t			*o, *msg;

	post(sid, "files", b, 1, &r);
	cr_expect_eq(r.status, status, "%s: %ld %s", words, r.status,
	    r.body.data);
	o = json_loads(r.body.data, 0, NULL);
	cr_assert_not_null(o, "%s: not JSON: %s", words, r.body.data);
	/* Without a field: the message, wherever the part's name put it. */
	msg = json_object_get(json_object_get(o, "fields"), field);
	if (field != NULL)
		cr_expect(json_is_string(msg) && strstr(json_string_value(msg),
		    words) != NULL, "%s: %s", words, r.body.data);
	else
		cr_expect(strstr(r.body.data, words) != NULL, "%s: %s", words,
		    r.body.data);
	json_decref(o);
	itest_resp_free(&r);
}

/* A body for files with photo from fixture (or data) as type. */
static void
photo_body(struct buf *b, const char *sid, const char *fixture,
    const char *type, const char *data)
{
	buf_reset(b);
	part_csrf(b, sid);
	part_file(b, "photo", "x.png", type, fixture, data);
	part_end(b);
}

Test(uploads, bad_images_refused_with_the_reason)
{
	struct buf	 b;
	char		 sid[33], *big;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	photo_body(&b, sid, "photo.gif", "image/png", NULL);
	refused(sid, &b, 400, "photo", "not a PNG or JPEG");
	photo_body(&b, sid, NULL, "image/png", "\x89PNG but not really, "
	    "random bytes");
	refused(sid, &b, 400, "photo", "PNG");
	photo_body(&b, sid, NULL, "image/jpeg", "just some text");
	refused(sid, &b, 400, "photo", "not a PNG or JPEG");
	photo_body(&b, sid, "truncated.png", "image/png", NULL);
	refused(sid, &b, 400, "photo", "PNG");
	photo_body(&b, sid, "bomb.png", "image/png", NULL);
	refused(sid, &b, 400, "photo", "50000x50000");
	/* Over max_bytes (200000) but within what the task takes: 400
	   beside the field. */
	big = calloc(1, 201001);
	memset(big, 'x', 201000);
	memcpy(big, "\xff\xd8\xff", 3);
	photo_body(&b, sid, NULL, "image/jpeg", big);
	refused(sid, &b, 400, "photo", "larger than the 200000 bytes");
	free(big);
	/* 282 KB: more than the whole task takes (fields and uploads): 413. */
	photo_body(&b, sid, "big.jpg", "image/jpeg", NULL);
	refused(sid, &b, 413, NULL, "bytes this task takes");
	buf_free(&b);
}

Test(uploads, missing_and_misnamed_refused)
{
	struct buf	 b;
	char		 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	part_csrf(&b, sid);
	part_text(&b, "caption", "no photo");
	part_end(&b);
	refused(sid, &b, 400, "photo", "required");
	/* An empty file field is what a browser sends for "none chosen". */
	buf_reset(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "", "application/octet-stream", NULL, "");
	part_end(&b);
	refused(sid, &b, 400, "photo", "required");
	buf_reset(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "p.png", "image/png", "photo.png", NULL);
	part_file(&b, "notes", "run.exe", "text/plain", NULL, "MZ");
	part_end(&b);
	refused(sid, &b, 400, "notes", "must end in .txt or .csv");
	buf_reset(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "p.png", "image/png", "photo.png", NULL);
	part_file(&b, "extra", "e.txt", "text/plain", NULL, "x");
	part_end(&b);
	refused(sid, &b, 400, "extra", "unknown field");
	buf_reset(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "p.png", "image/png", "photo.png", NULL);
	part_file(&b, "photo", "q.png", "image/png", "photo.png", NULL);
	part_end(&b);
	refused(sid, &b, 400, "photo", "more than once");
	buf_reset(&b);
	part_csrf(&b, sid);
	part_file(&b, "photo", "p.png", "image/png", "photo.png", NULL);
	part_file(&b, "caption", "c.txt", "text/plain", NULL, "x");
	part_end(&b);
	refused(sid, &b, 400, "caption", "not a file");
	buf_free(&b);
}

Test(uploads, malformed_bodies_refused)
{
	struct buf	 b;
	char		 sid[33];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	/* A boundary that never ends. */
	part_csrf(&b, sid);
	buf_puts(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"photo\"; filename=\"a.png\"\r\n\r\nnever closed");
	refused(sid, &b, 400, NULL, "closing boundary");
	/* A bare LF in the part headers. */
	buf_reset(&b);
	buf_puts(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"caption\"\n\r\nx\r\n--" BOUNDARY "--\r\n");
	refused(sid, &b, 400, NULL, "CRLF");
	/* A NUL in a text field. */
	buf_reset(&b);
	buf_puts(&b, "--" BOUNDARY "\r\nContent-Disposition: form-data; "
	    "name=\"caption\"\r\n\r\n");
	buf_append(&b, "a\0b", 3);
	buf_puts(&b, "\r\n--" BOUNDARY "--\r\n");
	refused(sid, &b, 400, "caption", "NUL");
	buf_free(&b);
}

/* A body larger than a task takes: 413 from the responder. */
Test(uploads, body_over_the_task_limit_is_413)
{
	struct itest_resp	 r;
	struct buf		 b;
	char			 sid[33], *big;
	json_t			*o;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	part_csrf(&b, sid);
	big = malloc(20000);
	memset(big, 'a', 19999);
	big[19999] = '\0';
	part_text(&b, "n", big);
	part_end(&b);
	post(sid, "plain", &b, 1, &r);
	cr_expect_eq(r.status, 413, "%ld %s", r.status, r.body.data);
	o = json_loads(r.body.data, 0, NULL);
	cr_expect(o != NULL && strstr(str(o, "error"), "8192") != NULL,
	    "%s", r.body.data);
	json_decref(o);
	itest_resp_free(&r);
	free(big);
	buf_free(&b);
}

/* The client's file name is metadata: kept, shown escaped, never a path. */
Test(uploads, hostile_filename_kept_as_metadata)
{
	struct itest_resp	 r;
	struct buf		 b;
	json_t			*job;
	char			 sid[33], id[33], path[PATH_MAX];
	struct stat		 st;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	buf_init(&b);
	part_csrf(&b, sid);
	part_file(&b, "notes", "../../etc/<passwd>.txt", "text/plain", NULL,
	    "root:x:0:0\n");
	part_end(&b);
	post(sid, "doc", &b, 0, &r);
	id_of(&r, id);
	itest_resp_free(&r);
	job = wait_done(sid, id);
	cr_expect_str_eq(str(json_object_get(json_object_get(job, "inputs"),
	    "notes"), "filename"), "../../etc/<passwd>.txt");
	snprintf(path, sizeof(path), "/jobs/%s", id);
	get(sid, path, &r);
	cr_expect(strstr(r.body.data, "../../etc/&lt;passwd&gt;.txt") != NULL,
	    "shown escaped");
	cr_expect(strstr(r.body.data, "<passwd>") == NULL);
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "%s/results/%s/in/notes", srv.state, id);
	cr_expect_eq(stat(path, &st), 0, "stored under its input's name");
	snprintf(path, sizeof(path), "%s/etc", srv.state);
	cr_expect_neq(stat(path, &st), 0);
	json_decref(job);
	buf_free(&b);
}

/* ---- who may fetch a job's files ---- */

Test(uploads, files_of_another_session_and_bad_names_are_404)
{
	static const char *const bad[] = {
		"files/restyled/", "files/..", "files/%2e%2e", "files/a%2Fb",
		"files/..%2Finputs%2Fphoto", "files/.restyled", "files/nothere",
		"inputs/nothere", "inputs/../../jobs.db", "files/",
	};
	struct itest_resp	 r;
	json_t			*job;
	char			 sid[33], other[33], id[33], path[160];
	size_t			 i;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	cr_assert_eq(itest_new_session(&srv, other), 0);
	job = restyle(sid, "photo.png", "image/png", id);
	snprintf(path, sizeof(path), "/jobs/%s/files/restyled", id);
	get(other, path, &r);
	cr_expect_eq(r.status, 404, "another session's file");
	itest_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s/inputs/photo", id);
	get(other, path, &r);
	cr_expect_eq(r.status, 404, "another session's upload");
	itest_resp_free(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(path, sizeof(path), "/jobs/%s/%s", id, bad[i]);
		get(sid, path, &r);
		cr_expect_eq(r.status, 404, "%s: %ld", bad[i], r.status);
		itest_resp_free(&r);
	}
	json_decref(job);
}

/* ---- restarts ---- */

/*
 * An upload still queued when the responder dies (kill -9 of the whole
 * group, nginx too) keeps its inputs: after the restart it runs with
 * the file it was given, byte for byte, and its JSON still lists it.
 */
Test(uploads, a_queued_upload_keeps_its_inputs_across_a_crash, .timeout = 180)
{
	static const char notes[] = "line one\nline two\n";
#define NOTES_SHA256	"e9024f1a07d29d52ad3aa5e1a18e94db" \
			"1f3a9fd32b89e39d47c472cd99071e13"
	struct itest_resp	 r;
	struct buf		 b;
	json_t			*job, *in;
	char			 sid[33], id[33], hold[2][33], state[300];
	char			 last[32];
	int			 i, st;

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	for (i = 0; i < 2; i++) {
		cr_assert_eq(itest_submit_id(&srv, sid, "hold", "ms=60000",
		    hold[i], NULL), 0);
		cr_assert_eq(itest_wait_state(&srv, sid, hold[i], "running",
		    20000, last, sizeof(last)), 0, "%s", last);
	}
	buf_init(&b);
	part_csrf(&b, sid);
	part_file(&b, "notes", "notes.txt", "text/plain", NULL, notes);
	part_end(&b);
	post(sid, "doc", &b, 0, &r);
	id_of(&r, id);
	itest_resp_free(&r);
	buf_free(&b);
	snprintf(state, sizeof(state), "%s", srv.state);
	cr_assert_eq(kill(-srv.pid, SIGKILL), 0);
	waitpid(srv.pid, &st, 0);
	srv.pid = 0;
	cr_assert_eq(itest_start(&srv, "tests/data/uploads.conf", state, NULL),
	    0);
	job = wait_done(sid, id);
	in = json_object_get(json_object_get(json_object_get(job, "result"),
	    "inputs"), "notes");
	cr_assert_not_null(in, "the worker got no notes: %s",
	    json_dumps(job, 0));
	cr_expect_eq(json_integer_value(json_object_get(in, "read")),
	    (json_int_t)strlen(notes));
	cr_expect_str_eq(str(in, "sha256"), NOTES_SHA256);
	cr_expect_str_eq(str(json_object_get(json_object_get(job, "inputs"),
	    "notes"), "filename"), "notes.txt");
	json_decref(job);
}

/* ---- expiry ---- */

/* A restart after results.ttl: the job and its directory are gone. */
Test(uploads, files_removed_when_the_job_expires, .timeout = 180)
{
	struct stat	 st;
	json_t		*job;
	char		 sid[33], id[33], dir[PATH_MAX], state[300];

	cr_assert_eq(itest_new_session(&srv, sid), 0);
	job = restyle(sid, "photo.png", "image/png", id);
	json_decref(job);
	snprintf(dir, sizeof(dir), "%s/results/%s", srv.state, id);
	cr_assert_eq(stat(dir, &st), 0, "%s", dir);
	snprintf(state, sizeof(state), "%s", srv.state);
	cr_assert_eq(itest_stop(&srv), 0);
	sleep(2);
	cr_assert_eq(itest_start(&srv, "tests/data/uploads-ttl.conf", state,
	    NULL), 0);
	cr_expect_neq(stat(dir, &st), 0, "%s removed with its job", dir);
	cr_expect_null(itest_job_json(&srv, sid, id));
}
