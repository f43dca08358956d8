/* Unit tests for job.c: ids, state names, JSON, copies, clocks. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "buf.h"
#include "job.h"

static int
cmp_id(const void *a, const void *b)
{
	return strcmp((const char *)a, (const char *)b);
}

Test(job_id, is_32_lowercase_hex)
{
	char	 id[JOB_ID_LEN + 1];
	size_t	 i;

	memset(id, 'x', sizeof(id));
	job_new_id(id);
	cr_assert_eq(strlen(id), 32);
	for (i = 0; i < JOB_ID_LEN; i++)
		cr_assert(strchr("0123456789abcdef", id[i]) != NULL,
		    "id %s has a bad character at %zu", id, i);
	cr_assert(job_id_valid(id));
}

Test(job_id, ten_thousand_all_differ)
{
	enum { N = 10000 };
	char	(*ids)[JOB_ID_LEN + 1];
	size_t	 i;

	ids = calloc(N, sizeof(*ids));
	cr_assert_not_null(ids);
	for (i = 0; i < N; i++) {
		job_new_id(ids[i]);
		cr_assert(job_id_valid(ids[i]));
	}
	qsort(ids, N, sizeof(*ids), cmp_id);
	for (i = 1; i < N; i++)
		cr_assert_str_neq(ids[i - 1], ids[i], "duplicate id %s",
		    ids[i]);
	free(ids);
}

/* Inline strings: Criterion copies parameters into the test process. */
struct id_case {
	char		 s[40];
	int		 valid;
};

ParameterizedTestParameters(job_id, valid_table)
{
	static struct id_case cases[] = {
		{ "0123456789abcdef0123456789abcdef", 1 },
		{ "00000000000000000000000000000000", 1 },
		{ "ffffffffffffffffffffffffffffffff", 1 },
		{ "0123456789abcdef0123456789abcde", 0 },	/* 31 */
		{ "0123456789abcdef0123456789abcdef0", 0 },	/* 33 */
		{ "0123456789ABCDEF0123456789abcdef", 0 },	/* upper */
		{ "0123456789abcdeg0123456789abcdef", 0 },	/* g */
		{ "0123456789abcdef0123456789abcde/", 0 },
		{ "0123456789abcdef0123456789abcde:", 0 },
		{ "0123456789abcdef 123456789abcdef", 0 },
		{ "../../../../etc/passwd0000000000", 0 },
		{ "", 0 },
	};

	return cr_make_param_array(struct id_case, cases,
	    sizeof(cases) / sizeof(cases[0]));
}

ParameterizedTest(struct id_case *c, job_id, valid_table)
{
	cr_assert_eq(job_id_valid(c->s), c->valid, "job_id_valid(\"%s\")",
	    c->s);
}

Test(job_id, null_is_invalid)
{
	cr_assert_eq(job_id_valid(NULL), 0);
}

Test(job_state, names_round_trip)
{
	static const char *const names[] = { "queued", "running", "done",
	    "failed", "expired", "cancelled" };
	int	 i;

	for (i = 0; i < 6; i++) {
		cr_assert_str_eq(job_state_name((enum job_state)i), names[i]);
		cr_assert_eq(job_state_parse(names[i]), i);
		cr_assert_eq(job_state_parse(job_state_name(
		    (enum job_state)i)), i);
	}
	cr_assert_eq(JOB_QUEUED, 0);
	cr_assert_eq(job_state_parse("QUEUED"), -1);
	cr_assert_eq(job_state_parse(""), -1);
	cr_assert_eq(job_state_parse("queued "), -1);
	cr_assert_eq(job_state_parse(NULL), -1);
	cr_assert_null(job_state_name((enum job_state)6));
	cr_assert_null(job_state_name((enum job_state)-1));
}

Test(job_state, final)
{
	cr_assert_not(job_state_final(JOB_QUEUED));
	cr_assert_not(job_state_final(JOB_RUNNING));
	cr_assert(job_state_final(JOB_DONE));
	cr_assert(job_state_final(JOB_FAILED));
	cr_assert(job_state_final(JOB_EXPIRED));
	cr_assert(job_state_final(JOB_CANCELLED));
	cr_assert_not(job_state_final((enum job_state)42));
}

#define SAMPLE_ID	"0123456789abcdef0123456789abcdef"

/* A job as the scheduler would hold it; strings are literals (no clear). */
static struct job
sample(enum job_state st)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	strcpy(j.id, "0123456789abcdef0123456789abcdef");
	strcpy(j.session, "ffffffffffffffffffffffffffffffff");
	strcpy(j.nonce, "n-1");
	j.task = (char *)"mandelbrot";
	j.kernel = (char *)"mandelbrot";
	j.locks = (char *)"[\"gpu\"]";
	j.params = (char *)"{\"iters\":100}";
	j.state = st;
	j.seq = 7;
	j.created_ms = 1700000000000;
	j.slot = -1;
	j.position = 2;
	j.eta_ms = 1500;
	return j;
}

static char *
to_json(const struct job *j)
{
	struct buf	 b;

	buf_init(&b);
	job_to_json(j, &b);
	cr_assert(buf_ok(&b));
	return buf_take(&b);
}

Test(job_json, queued)
{
	struct job	 j = sample(JOB_QUEUED);
	char		*s = to_json(&j);

	cr_assert_str_eq(s, "{\"id\":\"0123456789abcdef0123456789abcdef\","
	    "\"task\":\"mandelbrot\",\"state\":\"queued\",\"position\":2,"
	    "\"eta_ms\":1500,\"created_ms\":1700000000000,"
	    "\"started_ms\":null,\"finished_ms\":null,\"locks\":[\"gpu\"],"
	    "\"slot\":null,\"device\":null,\"params\":{\"iters\":100},"
	    "\"result\":null,\"error\":null,\"has_png\":false,"
	    "\"kernel\":\"mandelbrot\",\"progress\":null,"
	    "\"progress_message\":null,\"files\":[],\"inputs\":{},"
	    "\"files_removed_ms\":null,\"saved\":true}");
	free(s);
}

Test(job_json, queued_unknown_eta)
{
	struct job	 j = sample(JOB_QUEUED);
	char		*s;

	j.position = 0;
	j.eta_ms = -1;
	s = to_json(&j);
	cr_assert(strstr(s, ",\"position\":0,\"eta_ms\":null,") != NULL, "%s",
	    s);
	free(s);
}

Test(job_json, done)
{
	struct job	 j = sample(JOB_DONE);
	char		*s;

	j.started_ms = 1700000000100;
	j.finished_ms = 1700000000350;
	j.slot = 0;
	strcpy(j.device, "cuda:0");
	j.result = (char *)"{\"ms\":250,\"mpix_s\":1.5}";
	j.has_png = 1;
	s = to_json(&j);
	cr_assert_str_eq(s, "{\"id\":\"0123456789abcdef0123456789abcdef\","
	    "\"task\":\"mandelbrot\",\"state\":\"done\",\"position\":null,"
	    "\"eta_ms\":null,\"created_ms\":1700000000000,"
	    "\"started_ms\":1700000000100,\"finished_ms\":1700000000350,"
	    "\"locks\":[\"gpu\"],\"slot\":0,\"device\":\"cuda:0\","
	    "\"params\":{\"iters\":100},\"result\":{\"ms\":250,\"mpix_s\":1.5},"
	    "\"error\":null,\"has_png\":true,\"kernel\":\"mandelbrot\","
	    "\"progress\":1,\"progress_message\":null,\"files\":[],"
	    "\"inputs\":{},\"files_removed_ms\":null,\"saved\":true}");
	free(s);
}

Test(job_json, failed)
{
	struct job	 j = sample(JOB_FAILED);
	char		*s;

	j.started_ms = 1700000000100;
	j.finished_ms = 1700000000200;
	j.slot = 1;
	strcpy(j.device, "cpu");
	j.error = (char *)"interrupted by restart";
	s = to_json(&j);
	cr_assert_str_eq(s, "{\"id\":\"0123456789abcdef0123456789abcdef\","
	    "\"task\":\"mandelbrot\",\"state\":\"failed\",\"position\":null,"
	    "\"eta_ms\":null,\"created_ms\":1700000000000,"
	    "\"started_ms\":1700000000100,\"finished_ms\":1700000000200,"
	    "\"locks\":[\"gpu\"],\"slot\":1,\"device\":\"cpu\","
	    "\"params\":{\"iters\":100},\"result\":null,"
	    "\"error\":\"interrupted by restart\",\"has_png\":false,"
	    "\"kernel\":\"mandelbrot\",\"progress\":null,"
	    "\"progress_message\":null,\"files\":[],\"inputs\":{},"
	    "\"files_removed_ms\":null,\"saved\":true}");
	free(s);
}

Test(job_json, error_is_escaped)
{
	struct job	 j = sample(JOB_FAILED);
	char		*s;

	j.error = (char *)"bad \"x\"\\\n\t</script>&\x01";
	s = to_json(&j);
	cr_assert(strstr(s, ",\"error\":\"bad \\\"x\\\"\\\\\\n\\t"
	    "\\u003c/script\\u003e\\u0026\\u0001\",") != NULL, "%s", s);
	free(s);
}

Test(job_json, never_exposes_session_or_nonce)
{
	struct job	 j = sample(JOB_RUNNING);
	char		*s = to_json(&j);

	cr_assert_null(strstr(s, "session"));
	cr_assert_null(strstr(s, "ffffffffffffffffffffffffffffffff"));
	cr_assert_null(strstr(s, "nonce"));
	cr_assert(strstr(s, "\"state\":\"running\",\"position\":null,"
	    "\"eta_ms\":null,") != NULL, "%s", s);
	free(s);
}

Test(job_json, nulls_for_missing_strings)
{
	struct job	 j;
	char		*s;

	memset(&j, 0, sizeof(j));
	strcpy(j.id, "0123456789abcdef0123456789abcdef");
	j.state = JOB_CANCELLED;
	j.slot = -1;
	j.params = (char *)"";	/* empty raw JSON must not break the object */
	s = to_json(&j);
	cr_assert_str_eq(s, "{\"id\":\"0123456789abcdef0123456789abcdef\","
	    "\"task\":null,\"state\":\"cancelled\",\"position\":null,"
	    "\"eta_ms\":null,\"created_ms\":null,\"started_ms\":null,"
	    "\"finished_ms\":null,\"locks\":null,\"slot\":null,"
	    "\"device\":null,\"params\":null,\"result\":null,\"error\":null,"
	    "\"has_png\":false,\"kernel\":null,\"progress\":null,"
	    "\"progress_message\":null,\"files\":[],\"inputs\":{},"
	    "\"files_removed_ms\":null,\"saved\":true}");
	free(s);
}

Test(job_json, appends)
{
	struct job	 j = sample(JOB_QUEUED);
	struct buf	 b;

	buf_init(&b);
	buf_puts(&b, "[");
	job_to_json(&j, &b);
	buf_puts(&b, "]");
	cr_assert(buf_ok(&b));
	cr_assert_eq(strncmp(buf_cstr(&b), "[{\"id\":", 7), 0);
	cr_assert_eq(strcmp(buf_cstr(&b) + b.len - 2, "}]"), 0);
	buf_free(&b);
}

Test(job_copy, deep_and_clear)
{
	struct job	 src = sample(JOB_DONE), dst;

	src.result = (char *)"{\"a\":1}";
	src.error = (char *)"e";
	strcpy(src.device, "cuda:1");
	cr_assert_eq(job_copy(&dst, &src), 0);
	cr_assert_str_eq(dst.id, src.id);
	cr_assert_str_eq(dst.session, src.session);
	cr_assert_str_eq(dst.nonce, src.nonce);
	cr_assert_str_eq(dst.device, "cuda:1");
	cr_assert_eq(dst.seq, 7);
	cr_assert_neq(dst.task, src.task);
	cr_assert_str_eq(dst.task, src.task);
	cr_assert_str_eq(dst.kernel, src.kernel);
	cr_assert_str_eq(dst.locks, src.locks);
	cr_assert_str_eq(dst.params, src.params);
	cr_assert_str_eq(dst.result, src.result);
	cr_assert_str_eq(dst.error, src.error);
	job_clear(&dst);
	cr_assert_null(dst.task);
	cr_assert_null(dst.result);
	cr_assert_eq(dst.id[0], '\0');
	cr_assert_eq(dst.seq, 0);
	job_clear(NULL);
}

Test(job_copy, null_strings_stay_null)
{
	struct job	 src, dst;

	memset(&src, 0, sizeof(src));
	cr_assert_eq(job_copy(&dst, &src), 0);
	cr_assert_null(dst.task);
	cr_assert_null(dst.error);
	job_clear(&dst);
}

Test(job_clock, sane)
{
	int64_t	 a, b, na, nb;

	a = job_now_ms();
	cr_assert_gt(a, (int64_t)1600000000000);	/* after 2020 */
	na = job_mono_ns();
	nb = job_mono_ns();
	cr_assert_geq(nb, na);
	b = job_mono_ms();
	cr_assert_geq(b, na / 1000000);
	cr_assert_gt(na, 0);
}

/* files and inputs come out with the URL each is served at. */
Test(job_json, files_and_inputs_with_urls)
{
	struct job	 j = sample(JOB_DONE);
	char		*s;

	j.files = (char *)"[{\"name\":\"image\",\"type\":\"image/png\","
	    "\"bytes\":10},{\"name\":\"log.txt\",\"type\":\"text/plain\","
	    "\"bytes\":3}]";
	j.inputs = (char *)"{\"photo\":{\"type\":\"image/jpeg\",\"bytes\":9,"
	    "\"filename\":\"../../etc/passwd\"}}";
	s = to_json(&j);
	cr_expect(strstr(s, "\"files\":[{\"name\":\"image\",\"type\":"
	    "\"image/png\",\"bytes\":10,\"url\":\"/jobs/" SAMPLE_ID
	    "/files/image\"},{\"name\":\"log.txt\",\"type\":\"text/plain\","
	    "\"bytes\":3,\"url\":\"/jobs/" SAMPLE_ID "/files/log.txt\"}]")
	    != NULL, "%s", s);
	cr_expect(strstr(s, "\"inputs\":{\"photo\":{\"type\":\"image/jpeg\","
	    "\"bytes\":9,\"filename\":\"../../etc/passwd\",\"url\":\"/jobs/"
	    SAMPLE_ID "/inputs/photo\"}},") != NULL, "%s", s);
	free(s);
	/* Text that is not what it should be gives nothing, not garbage. */
	j.files = (char *)"{\"not\":\"an array\"}";
	j.inputs = (char *)"[1,2";
	s = to_json(&j);
	cr_expect(strstr(s, "\"files\":[],\"inputs\":{},"
	    "\"files_removed_ms\":null,\"saved\":true}") != NULL, "%s", s);
	free(s);
}

/* Issue 15 item 14: what users see of an error names no server path. */
Test(job_error_public, cuts_paths_to_their_last_component)
{
	static const char *const cases[][2] = {
		{ "journal_write_png: /var/lib/sluice/results/ab.png.tmp.1: "
		    "No space left on device", "journal_write_png: "
		    "ab.png.tmp.1: No space left on device" },
		{ "worker program /opt/app/bin/worker.py: not found",
		    "worker program worker.py: not found" },
		{ "/srv/state/work/", "work" },
		{ "open '/etc/secret/key' failed", "open 'key' failed" },
		{ "see https://example.com/a/b and a / b", "see "
		    "https://example.com/a/b and a / b" },
		{ "ratio 1/2 is fine", "ratio 1/2 is fine" },
		{ "", "" },
	};
	char	 out[256];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		cr_expect_str_eq(job_error_public(cases[i][0], out,
		    sizeof(out)), cases[i][1], "case %zu", i);
	cr_expect_null(job_error_public(NULL, out, sizeof(out)));
	/* Truncated, never overrun. */
	cr_expect_str_eq(job_error_public("abcdef /x/y", out, 4), "abc");
}

Test(job_json, error_shows_no_server_path)
{
	struct job	 j;
	char		*s;

	memset(&j, 0, sizeof(j));
	job_new_id(j.id);
	j.state = JOB_FAILED;
	j.slot = -1;
	j.error = (char *)"result: /var/lib/sluice/results/x/out/a.png: "
	    "No space left on device";
	s = to_json(&j);
	cr_expect(strstr(s, "\"error\":\"result: a.png: No space left on "
	    "device\"") != NULL, "%s", s);
	cr_expect(strstr(s, "/var/lib") == NULL, "%s", s);
	free(s);
}
