/* Unit tests for wmsg.c: the messages a worker sends, parsed and checked. */
#include <criterion/criterion.h>

#include <string.h>

#include "wmsg.h"

#define ID	"0123456789abcdef0123456789abcdef"

struct vec {
	const char	*line;
	int		 ok;
	const char	*err;	/* when refused: the reason, exactly */
};

static const struct vec vecs[] = {
	{ "{\"type\":\"ready\"}", 1, NULL },
	{ "{\"type\":\"ready\",\"device\":\"cuda:0\"}", 1, NULL },
	{ "{\"type\":\"ready\",\"device\":null,\"extra\":[1,2]}", 1, NULL },
	{ "{\"type\":\"ready\",\"device\":\"CUDA 0\"}", 0,
	    "ready: device must be like \"cpu\" or \"cuda:0\"" },
	{ "{\"type\":\"progress\",\"job\":\"" ID "\",\"fraction\":0.5}", 1,
	    NULL },
	{ "{\"type\":\"progress\",\"job\":\"" ID "\",\"fraction\":1,"
	    "\"message\":\"done\"}", 1, NULL },
	{ "{\"type\":\"progress\",\"job\":\"" ID "\",\"fraction\":1.5}", 0,
	    "progress: fraction must be a number 0..1" },
	{ "{\"type\":\"progress\",\"job\":\"" ID "\",\"fraction\":\"1\"}", 0,
	    "progress: fraction must be a number 0..1" },
	{ "{\"type\":\"progress\",\"job\":\"" ID "\",\"fraction\":0,"
	    "\"message\":7}", 0, "progress: message must be a string" },
	{ "{\"type\":\"progress\",\"fraction\":0}", 0,
	    "a job message must name its job" },
	{ "{\"type\":\"progress\",\"job\":\"abc\",\"fraction\":0}", 0,
	    "a job message must name its job" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"result\":{\"a\":1}}", 1,
	    NULL },
	{ "{\"type\":\"result\",\"job\":\"" ID "\"}", 1, NULL },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"result\":[1]}", 0,
	    "result: result must be an object" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":[{\"name\":"
	    "\"image\",\"path\":\"a.png\",\"type\":\"image/png\"}]}", 1, NULL },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":[{\"name\":"
	    "\"../x\",\"path\":\"a\"}]}", 0,
	    "result: a file name must be 1-64 of [A-Za-z0-9._-]" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":[{\"name\":"
	    "\"..\",\"path\":\"a\"}]}", 0,
	    "result: a file name must be 1-64 of [A-Za-z0-9._-]" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":[{\"name\":"
	    "\"a\",\"path\":\"x\"},{\"name\":\"a\",\"path\":\"y\"}]}", 0,
	    "result: two files with one name" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":{}}", 0,
	    "result: files must be an array of at most 64" },
	{ "{\"type\":\"result\",\"job\":\"" ID "\",\"files\":[\"a.png\"]}", 0,
	    "result: each file must be {\"name\",\"path\",\"type\"} strings" },
	{ "{\"type\":\"error\",\"job\":\"" ID "\",\"error\":\"boom\"}", 1,
	    NULL },
	{ "{\"type\":\"error\",\"job\":\"" ID "\"}", 0,
	    "error: error must be a string" },
	{ "{\"type\":\"job\"}", 0, "unknown message type" },
	{ "{\"type\":1}", 0, "a message must have a string type" },
	{ "{}", 0, "a message must have a string type" },
	{ "[1,2]", 0, "a message must be a JSON object" },
	{ "\"ready\"", 0, NULL },
	{ "{\"type\":\"ready\"", 0, NULL },
	{ "not json", 0, NULL },
	{ "", 0, NULL },
	{ "{\"type\":\"ready\",\"type\":\"ready\"}", 0, NULL },
	{ "{\"type\":\"error\",\"job\":\"" ID "\",\"error\":\"a\\u0000b\"}", 0,
	    NULL },
};

Test(wmsg, vectors)
{
	struct wmsg	 m;
	char		 err[200];
	size_t		 i;
	int		 rc;

	for (i = 0; i < sizeof(vecs) / sizeof(vecs[0]); i++) {
		err[0] = '\0';
		rc = wmsg_parse(vecs[i].line, strlen(vecs[i].line), &m, err,
		    sizeof(err));
		cr_expect_eq(rc, vecs[i].ok ? 0 : -1, "%zu: %s: %s", i,
		    vecs[i].line, err);
		if (!vecs[i].ok && vecs[i].err != NULL)
			cr_expect_str_eq(err, vecs[i].err, "%zu", i);
		if (!vecs[i].ok && vecs[i].err == NULL)
			cr_expect(strncmp(err, "not JSON: ", 10) == 0 ||
			    strcmp(err, "a message must be a JSON object") == 0,
			    "%zu: %s", i, err);
		wmsg_free(&m);
	}
}

Test(wmsg, fields_as_sent)
{
	struct wmsg	 m;
	char		 err[200];
	const char	*l = "{\"type\":\"result\",\"job\":\"" ID "\","
	    "\"result\":{\"ms\":1.263,\"n\":3},\"files\":[{\"name\":\"image\","
	    "\"path\":\"sub/a.png\",\"type\":\"image/png\"},{\"name\":\"log\","
	    "\"path\":\"log.txt\"}]}";

	cr_assert_eq(wmsg_parse(l, strlen(l), &m, err, sizeof(err)), 0, "%s",
	    err);
	cr_expect_eq(m.type, WMSG_RESULT);
	cr_expect_str_eq(m.job, ID);
	cr_expect_str_eq(m.result, "{\"ms\":1.263,\"n\":3}");
	cr_assert_eq(m.nfiles, 2);
	cr_expect_str_eq(m.files[0].name, "image");
	cr_expect_str_eq(m.files[0].path, "sub/a.png");
	cr_expect_str_eq(m.files[1].type, "application/octet-stream");
	wmsg_free(&m);
}

Test(wmsg, progress_message_cut_to_200_characters)
{
	struct wmsg	 m;
	char		 line[2048], msg[1200], err[200];
	size_t		 i, chars = 0;

	/* 300 two-byte characters. */
	for (i = 0; i < 300; i++)
		memcpy(msg + 2 * i, "\xc3\xa9", 2);
	msg[600] = '\0';
	snprintf(line, sizeof(line), "{\"type\":\"progress\",\"job\":\"" ID
	    "\",\"fraction\":0.1,\"message\":\"%s\"}", msg);
	cr_assert_eq(wmsg_parse(line, strlen(line), &m, err, sizeof(err)), 0,
	    "%s", err);
	for (i = 0; m.message[i] != '\0'; i++)
		if (((unsigned char)m.message[i] & 0xc0) != 0x80)
			chars++;
	cr_expect_eq(chars, WMSG_MESSAGE_MAX);
	cr_expect_eq(strlen(m.message), 2 * WMSG_MESSAGE_MAX);
	wmsg_free(&m);
}

Test(wmsg, over_long_line_refused)
{
	struct wmsg	 m;
	char		 err[200];

	cr_expect_eq(wmsg_parse("{}", WMSG_LINE_MAX + 1, &m, err,
	    sizeof(err)), -1);
	cr_expect_str_eq(err, "line longer than 1 MiB");
}

Test(wmsg, type_names)
{
	cr_expect_str_eq(wmsg_type_name(WMSG_READY), "ready");
	cr_expect_str_eq(wmsg_type_name(WMSG_ERROR), "error");
	cr_expect_str_eq(wmsg_type_name((enum wmsg_type)99), "unknown");
}
