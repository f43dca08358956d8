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

	cr_assert_null(params_value_from_text(&specs[0], "12.5", err,
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
	cr_assert_str_eq(text, "{\"n\":1024,\"cx\":-3,\"seed\":4294967295}");
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
