/*
 * test_params: the parameters codec (kernels/params.h): field texts to
 * values, the stored text and back, and what a stored object may hold.
 */
#include "config.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "kernel.h"
#include "params.h"

static const struct kparam_spec specs[] = {
	KPARAM_NUMBER("n", KPARAM_INT, 16, 8192, 1024, 1, "Size", ""),
	KPARAM_NUMBER("cx", KPARAM_FLOAT, -4, 4, -0.5, 0, "Centre", ""),
	KPARAM_NUMBER("seed", KPARAM_INT, 0, 4294967295.0, 1, 1, "Seed", ""),
};
#define NSPECS	(sizeof(specs) / sizeof(specs[0]))

/* A params object from the defaults, changed by the texts given. */
static json_t *
from_texts(const char *n, const char *cx, const char *seed)
{
	const char	*texts[NSPECS] = { n, cx, seed };
	json_t		*obj = json_object(), *v;
	char		 err[128];
	size_t		 i;

	for (i = 0; i < NSPECS; i++) {
		v = texts[i] != NULL ? params_value_from_text(&specs[i],
		    texts[i], err, sizeof(err)) :
		    params_default_value(&specs[i]);
		cr_assert_not_null(v, "%s: %s", specs[i].name, err);
		cr_assert_eq(json_object_set_new(obj, specs[i].name, v), 0);
	}
	return obj;
}

Test(params, typed_values_from_texts)
{
	json_t	*obj = from_texts("512", "0.25", NULL);

	cr_assert(json_is_integer(json_object_get(obj, "n")));
	cr_assert_eq(json_integer_value(json_object_get(obj, "n")), 512);
	cr_assert(json_is_real(json_object_get(obj, "cx")));
	cr_assert_float_eq(json_real_value(json_object_get(obj, "cx")), 0.25,
	    1e-15);
	cr_assert_eq(json_integer_value(json_object_get(obj, "seed")), 1);
	json_decref(obj);
}

Test(params, field_text_refused_with_message)
{
	char	 err[128];

	cr_assert_null(params_value_from_text(&specs[0], "20.5", err,
	    sizeof(err)));
	cr_assert_str_eq(err, "must be a whole number");
	cr_assert_null(params_value_from_text(&specs[0], "9", err,
	    sizeof(err)));
	cr_assert_str_eq(err, "must be between 16 and 8192");
	cr_assert_null(params_value_from_text(&specs[1], " 1", err,
	    sizeof(err)));
	cr_assert_str_eq(err, "must be a number");
	cr_assert_null(params_value_from_text(&specs[1], "", err,
	    sizeof(err)));
	cr_assert_str_eq(err, "is required");
}

Test(params, encode_in_spec_order_shortest_numbers)
{
	json_t	*obj = json_object();
	char	*text;

	/* Inserted out of order: the text follows the specs. */
	json_object_set_new(obj, "seed", json_integer(4294967295LL));
	json_object_set_new(obj, "cx", json_real(0.1));
	json_object_set_new(obj, "n", json_integer(1024));
	text = params_encode(specs, NSPECS, obj);
	cr_assert_str_eq(text, "{\"n\":1024,\"cx\":0.1,\"seed\":4294967295}");
	free(text);
	json_object_set_new(obj, "cx", json_real(-3.0));
	text = params_encode(specs, NSPECS, obj);
	cr_assert_str_eq(text, "{\"n\":1024,\"cx\":-3.0,\"seed\":4294967295}");
	free(text);
	json_decref(obj);
}

Test(params, encode_refuses_missing_or_non_number)
{
	json_t	*obj = from_texts(NULL, NULL, NULL);

	json_object_del(obj, "cx");
	cr_assert_null(params_encode(specs, NSPECS, obj));
	json_object_set_new(obj, "cx", json_string("1"));
	cr_assert_null(params_encode(specs, NSPECS, obj));
	json_decref(obj);
}

Test(params, round_trip_is_exact)
{
	static const char *const texts[] = {
		"-0.7436438870371587", "0.1", "3.999999999999999", "-4",
		"1e-13", "0.30000000000000004",
	};
	json_t	*obj, *back;
	char	*text, err[128];
	double	 v[NSPECS];
	size_t	 i;

	for (i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		obj = from_texts("8192", texts[i], "4294967295");
		text = params_encode(specs, NSPECS, obj);
		cr_assert_not_null(text);
		back = params_decode(specs, NSPECS, text, err, sizeof(err));
		cr_assert_not_null(back, "%s: %s", text, err);
		cr_assert_eq(params_numbers(specs, NSPECS, back, v, err,
		    sizeof(err)), 0, "%s", err);
		cr_assert_eq(v[1], strtod(texts[i], NULL), "%s -> %s",
		    texts[i], text);
		cr_assert_eq(v[0], 8192);
		cr_assert_eq(v[2], 4294967295.0);
		json_decref(obj);
		json_decref(back);
		free(text);
	}
}

struct decode_case {
	const char	*text;
	const char	*err;
};

Test(params, decode_refuses_with_the_name)
{
	static const struct decode_case cases[] = {
		{ "{\"n\":16,\"cx\":0}", "seed: missing" },
		{ "{\"n\":15,\"cx\":0,\"seed\":1}", "n: out of range" },
		{ "{\"n\":16.5,\"cx\":0,\"seed\":1}", "n: must be a whole number" },
		{ "{\"n\":\"16\",\"cx\":0,\"seed\":1}", "n: must be a number" },
		{ "{\"n\":16,\"cx\":0,\"seed\":1,\"x\":2}", "unknown parameter" },
		{ "[1,2]", "not a JSON object" },
		{ "{\"n\":16,\"n\":17,\"cx\":0,\"seed\":1}", NULL },
		{ "{\"n\":16,", NULL },
	};
	char	 err[128];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		cr_assert_null(params_decode(specs, NSPECS, cases[i].text, err,
		    sizeof(err)), "%s", cases[i].text);
		if (cases[i].err != NULL)
			cr_assert_str_eq(err, cases[i].err, "%s",
			    cases[i].text);
		else
			cr_assert(strncmp(err, "malformed JSON: ", 16) == 0,
			    "%s: %s", cases[i].text, err);
	}
	cr_assert_null(params_decode(specs, NSPECS, NULL, err, sizeof(err)));
}

Test(params, whole_real_accepted_for_int)
{
	json_t	*obj;
	double	 v[NSPECS];
	char	 err[128];

	/* An older writer may have stored 1024.0: still the integer. */
	obj = params_decode(specs, NSPECS,
	    "{\"n\":1024.0,\"cx\":1,\"seed\":7}", err, sizeof(err));
	cr_assert_not_null(obj, "%s", err);
	cr_assert_eq(params_numbers(specs, NSPECS, obj, v, err, sizeof(err)),
	    0);
	cr_assert_eq(v[0], 1024);
	cr_assert_eq(v[1], 1);
	json_decref(obj);
}

Test(params, no_params_is_the_empty_object)
{
	json_t	*obj;
	char	*text, err[128];

	obj = params_decode(specs, 0, "{}", err, sizeof(err));
	cr_assert_not_null(obj, "%s", err);
	text = params_encode(specs, 0, obj);
	cr_assert_str_eq(text, "{}");
	free(text);
	json_decref(obj);
}

/* ---- text, choice, bool (worker inputs) ---- */

static const char *const styles[] = { "ink", "watercolour", "neon" };

static const struct kparam_spec ins[] = {
	{ .name = "prompt", .type = KPARAM_TEXT, .max_length = 5,
	    .def_text = "" },
	{ .name = "style", .type = KPARAM_CHOICE, .choices = styles,
	    .nchoices = 3, .def_text = "ink" },
	{ .name = "upscale", .type = KPARAM_BOOL, .def = 1 },
};
#define NINS	(sizeof(ins) / sizeof(ins[0]))

struct text_case {
	const char	*text;
	const char	*want;	/* JSON of the value, or NULL: refused */
	const char	*err;
};

Test(params, text_rules)
{
	static const struct text_case cases[] = {
		{ "hello", "\"hello\"", NULL },
		{ "h\u00e9llo", "\"h\u00e9llo\"", NULL },	/* 5 characters */
		{ "hello!", NULL, "must be at most 5 characters" },
		{ "a\r\nb", "\"a\\nb\"", NULL },	/* a form's CR LF */
		{ "a\rb", "\"a\\nb\"", NULL },
		{ "a\tb", "\"a\\tb\"", NULL },
		{ "a\x01b", NULL, "must not contain control characters" },
		{ "a\x7f", NULL, "must not contain control characters" },
		{ "\xff\xfe", NULL, "must be valid UTF-8 text" },
		{ "", "\"\"", NULL },
	};
	json_t	*v;
	char	*dump, err[128];
	size_t	 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		v = params_value_from_text(&ins[0], cases[i].text, err,
		    sizeof(err));
		if (cases[i].want == NULL) {
			cr_expect_null(v, "%zu accepted", i);
			cr_expect_str_eq(err, cases[i].err, "%zu", i);
			continue;
		}
		cr_assert_not_null(v, "%zu: %s", i, err);
		dump = json_dumps(v, JSON_ENCODE_ANY);
		cr_expect_str_eq(dump, cases[i].want, "%zu", i);
		free(dump);
		json_decref(v);
	}
}

Test(params, choice_and_bool)
{
	json_t	*v;
	char	 err[128];

	v = params_value_from_text(&ins[1], "neon", err, sizeof(err));
	cr_assert_not_null(v);
	cr_expect_str_eq(json_string_value(v), "neon");
	json_decref(v);
	cr_expect_null(params_value_from_text(&ins[1], "Neon", err,
	    sizeof(err)));
	cr_expect_str_eq(err, "must be one of ink, watercolour, neon");
	v = params_value_from_text(&ins[2], "true", err, sizeof(err));
	cr_expect(json_is_true(v));
	json_decref(v);
	v = params_value_from_text(&ins[2], "false", err, sizeof(err));
	cr_expect(json_is_false(v));
	json_decref(v);
	cr_expect_null(params_value_from_text(&ins[2], "on", err,
	    sizeof(err)));
	cr_expect_str_eq(err, "must be true or false");
	cr_expect_null(params_value_from_text(&ins[2], "1", err, sizeof(err)));
	cr_expect_null(params_value_from_text(&ins[2], "TRUE", err,
	    sizeof(err)));
}

Test(params, typed_inputs_round_trip)
{
	json_t	*obj = json_object(), *back;
	char	*text, err[128];
	size_t	 i;

	for (i = 0; i < NINS; i++)
		json_object_set_new(obj, ins[i].name,
		    params_default_value(&ins[i]));
	text = params_encode(ins, NINS, obj);
	cr_assert_str_eq(text, "{\"prompt\":\"\",\"style\":\"ink\","
	    "\"upscale\":true}");
	back = params_decode(ins, NINS, text, err, sizeof(err));
	cr_assert_not_null(back, "%s", err);
	cr_expect(json_equal(back, obj));
	json_decref(back);
	free(text);
	cr_expect_null(params_decode(ins, NINS, "{\"prompt\":1,\"style\":"
	    "\"ink\",\"upscale\":true}", err, sizeof(err)));
	cr_expect_str_eq(err, "prompt: must be a string");
	cr_expect_null(params_decode(ins, NINS, "{\"prompt\":\"toolong\","
	    "\"style\":\"ink\",\"upscale\":true}", err, sizeof(err)));
	cr_expect_str_eq(err, "prompt: must be at most 5 characters");
	cr_expect_null(params_decode(ins, NINS, "{\"prompt\":\"\",\"style\":"
	    "\"pop\",\"upscale\":true}", err, sizeof(err)));
	cr_expect_null(params_decode(ins, NINS, "{\"prompt\":\"\",\"style\":"
	    "\"ink\",\"upscale\":\"true\"}", err, sizeof(err)));
	cr_expect_str_eq(err, "upscale: must be true or false");
	cr_expect_null(params_decode(ins, NINS, "{\"prompt\":\"a\\u0000b\","
	    "\"style\":\"ink\",\"upscale\":true}", err, sizeof(err)),
	    "a NUL in a stored text");
	json_decref(obj);
}

Test(params, float_whole_reads_as_float)
{
	json_t	*obj = json_object();
	char	*text;

	json_object_set_new(obj, "n", json_integer(16));
	json_object_set_new(obj, "cx", json_real(2));
	json_object_set_new(obj, "seed", json_integer(0));
	text = params_encode(specs, NSPECS, obj);
	cr_expect_str_eq(text, "{\"n\":16,\"cx\":2.0,\"seed\":0}");
	free(text);
	json_decref(obj);
}
