/*
 * test_conf: the config loader. The shipped example loads with the values
 * it documents, omitted keys take their defaults, every invalid file under
 * tests/data/conf/ is refused with its exact "FILE:LINE: key: problem"
 * message, and lookups find what was loaded. Run under ASan, the refusal
 * tests also show that every error path frees what it allocated.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/parameterized.h>

#include "conf.h"
#include "kernel.h"

#ifndef SLUICE_DATADIR	/* set by the makefile; the same fallback as conf.c */
#define SLUICE_DATADIR	"/usr/local/share/sluice"
#endif

#define ERRLEN	512

/* Writes top_srcdir/rel into out. */
static void
data_path(char *out, size_t outlen, const char *rel)
{
	const char	*top = getenv("top_srcdir");
	int		 n;

	n = snprintf(out, outlen, "%s/%s", top != NULL ? top : ".", rel);
	cr_assert(n > 0 && (size_t)n < outlen, "path too long: %s", rel);
}

static struct conf *
load_data(const char *rel, char *err)
{
	char	 path[PATH_MAX];

	data_path(path, sizeof(path), rel);
	return conf_load(path, err, ERRLEN);
}

/*
 * Loads first (the first line, e.g. "server = { threads = 7; };") followed
 * by one lock and one task, as name; NULL with the message in err.
 */
static struct conf *
load_first_line(const char *first, const char *name, char *err)
{
	char	 text[512];
	int	 n;

	n = snprintf(text, sizeof(text), "%s\n"
	    "locks = { a = { slots = 1; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };",
	    first);
	cr_assert(n > 0 && (size_t)n < sizeof(text), "too long: %s", first);
	return conf_load_string(text, name, err, ERRLEN);
}

/* Loads a file that must be valid. */
static struct conf *
load_good(const char *rel)
{
	char		 err[ERRLEN] = "";
	struct conf	*c;

	c = load_data(rel, err);
	cr_assert_not_null(c, "%s refused: %s", rel, err);
	cr_assert_str_empty(err);
	return c;
}

Test(conf, example_server)
{
	struct conf	*c = load_good("fcgi/sluice.conf");

	cr_expect_str_eq(c->listen, "unix:/run/sluice/sluice.sock");
	cr_expect_eq(c->threads, 16);
	cr_expect_str_eq(c->templates, SLUICE_DATADIR "/templates");
	cr_expect_str_eq(c->state, "/var/lib/sluice");
	cr_expect_eq(c->max_body, 65536);
	cr_expect_eq(c->drain_timeout, 30);
	cr_expect_eq(c->results_ttl, 3600);
	cr_expect_eq(c->results_max_bytes, 1073741824LL);
	cr_expect_eq(c->max_active, 2);
	cr_expect_eq(c->client_max_active, 8);
	cr_expect(strstr(c->path, "fcgi/sluice.conf") != NULL);
	conf_free(c);
}

Test(conf, example_locks)
{
	struct conf	*c = load_good("fcgi/sluice.conf");

	cr_assert_eq(c->nlocks, 2);
	cr_expect_str_eq(c->locks[0].name, "gpu");
	cr_expect_eq(c->locks[0].slots, 1);
	cr_expect_eq(c->locks[0].queue, 32);
	cr_expect_eq(c->locks[0].wait_timeout, 600);
	cr_assert_not_null(c->locks[0].devices);
	cr_expect_eq(c->locks[0].devices[0], 0);
	cr_expect_eq(c->locks[0].order, CONF_ORDER_FIFO);
	cr_expect_str_eq(c->locks[1].name, "cpu");
	cr_expect_eq(c->locks[1].slots, 2);
	cr_expect_eq(c->locks[1].queue, 64);
	cr_expect_eq(c->locks[1].wait_timeout, 600);
	cr_expect_null(c->locks[1].devices);
	cr_expect_eq(c->locks[1].order, CONF_ORDER_FAIR);
	conf_free(c);
}

Test(conf, example_tasks)
{
	struct conf	*c = load_good("fcgi/sluice.conf");
	static const struct {
		const char *name, *kernel, *title, *lock;
		size_t	 lock_index;
	} want[] = {
		{ "mandelbrot", "mandelbrot", "Mandelbrot set", "gpu", 0 },
		{ "sgemm", "sgemm", "Matrix multiply (SGEMM)", "gpu", 0 },
		{ "burn", "burn", "Burn (hold a slot)", "cpu", 1 },
	};
	size_t		 i;

	cr_assert_eq(c->ntasks, 6);
	for (i = 0; i < 3; i++) {
		cr_expect_str_eq(c->tasks[i].name, want[i].name);
		cr_expect_str_eq(c->tasks[i].kernel, want[i].kernel);
		cr_expect_str_eq(c->tasks[i].title, want[i].title);
		cr_assert_eq(c->tasks[i].nlocks, 1);
		cr_expect_str_eq(c->tasks[i].locks[0], want[i].lock);
		cr_expect_eq(c->tasks[i].lock_index[0], want[i].lock_index);
	}
	/* The example workers: Python (one with an upload) and C, on the
	   CPU lock. */
	cr_expect_str_eq(c->tasks[3].name, "heat");
	cr_expect_null(c->tasks[3].kernel);
	cr_expect_str_eq(c->tasks[3].worker[2], "sluice_example_heat");
	cr_expect_eq(c->tasks[3].ninputs, 6);
	cr_expect_str_eq(c->tasks[4].name, "restyle");
	cr_expect_eq(c->tasks[4].inputs[0].type, KPARAM_IMAGE);
	cr_expect_eq(c->max_request_body, c->tasks[4].max_body);
	cr_expect_str_eq(c->tasks[5].name, "primes");
	cr_expect_str_eq(c->tasks[5].worker[0], "sluice-example-primes");
	cr_expect_eq(c->tasks[5].lock_index[0], 1);
	conf_free(c);
}

Test(conf, defaults)
{
	struct conf	*c = load_good("tests/data/conf/good_minimal.conf");

	long		 cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int		 want = cpus < 2 ? 4 : cpus > 512 ? 1024 : 2 * (int)cpus;

	cr_expect_str_eq(c->listen, "unix:/run/sluice/sluice.sock");
	cr_expect_eq(c->threads, want, "threads %d, want twice the %ld CPUs "
	    "(at least 4)", c->threads, cpus);
	cr_expect_str_eq(c->templates, SLUICE_DATADIR "/templates");
	cr_expect_str_eq(c->state, "/var/lib/sluice");
	cr_expect_eq(c->max_body, 65536);
	cr_expect_eq(c->drain_timeout, 30);
	cr_expect_eq(c->results_ttl, 3600);
	cr_expect_eq(c->results_max_bytes, 1073741824LL);
	cr_expect_eq(c->max_active, 2);
	cr_assert_eq(c->nlocks, 1);
	cr_expect_eq(c->locks[0].slots, 1);
	cr_expect_eq(c->locks[0].queue, 64);
	cr_expect_eq(c->locks[0].wait_timeout, 600);
	cr_expect_null(c->locks[0].devices);
	cr_expect_eq(c->locks[0].order, CONF_ORDER_FIFO);
	conf_free(c);
}

Test(conf, default_title_is_kernel_title)
{
	struct conf		*c;
	const struct kernel_spec *k = kernel_find("burn");

	c = load_good("tests/data/conf/good_minimal.conf");
	cr_assert_not_null(k);
	cr_assert_eq(c->ntasks, 1);
	cr_expect_str_eq(c->tasks[0].title, k->title);
	conf_free(c);
}

Test(conf, every_key_set)
{
	struct conf	*c = load_good("tests/data/conf/good_full.conf");

	cr_expect_str_eq(c->listen, "unix:/run/sluice/sluice.sock");
	cr_expect_eq(c->threads, 4);
	cr_expect_str_eq(c->templates, "/opt/sluice/templates");
	cr_expect_str_eq(c->state, "/tmp/sluice-state");
	cr_expect_eq(c->max_body, 1024);
	cr_expect_eq(c->drain_timeout, 0);
	cr_expect_eq(c->results_ttl, 60);
	cr_expect_eq(c->results_max_bytes, 5000000000LL);
	cr_expect_eq(c->max_active, 7);
	cr_assert_eq(c->nlocks, 3);
	cr_expect_eq(c->locks[0].slots, 2);
	cr_expect_eq(c->locks[0].queue, 0);
	cr_expect_eq(c->locks[0].wait_timeout, 0);
	cr_expect_eq(c->locks[0].devices[0], 1);
	cr_expect_eq(c->locks[0].devices[1], 0);
	cr_expect_eq(c->locks[0].order, CONF_ORDER_FAIR);
	cr_expect_eq(c->locks[1].slots, 1024);
	cr_expect_eq(c->locks[1].queue, 1000000);
	cr_expect_eq(c->locks[1].wait_timeout, 31536000);
	cr_expect_str_eq(c->locks[2].name, "net-io_2");
	cr_expect_eq(c->locks[2].devices[2], 0);
	cr_assert_eq(c->ntasks, 2);
	cr_expect_str_eq(c->tasks[0].title, "Both locks");
	cr_assert_eq(c->tasks[0].nlocks, 2);
	cr_expect_str_eq(c->tasks[0].locks[0], "cpu");
	cr_expect_eq(c->tasks[0].lock_index[0], 1);
	cr_expect_str_eq(c->tasks[0].locks[1], "gpu");
	cr_expect_eq(c->tasks[0].lock_index[1], 0);
	cr_expect_eq(c->tasks[1].lock_index[0], 2);
	conf_free(c);
}

/*
 * A device lock that is not a task's first lock still gives the task its
 * device (the scheduler takes the first lock with devices), and exactly
 * 4096 slots in all are allowed.
 */
Test(conf, device_lock_anywhere_and_total_slots_edge)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load_string("locks = { cpu = { slots = 2; };\n"
	    "gpu = { slots = 1; devices = [3]; }; };\n"
	    "tasks = { t = { kernel = \"sgemm\"; locks = [\"cpu\", \"gpu\"];"
	    " }; };\n", "dev", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_null(c->locks[c->tasks[0].lock_index[0]].devices);
	cr_expect_eq(c->locks[c->tasks[0].lock_index[1]].devices[0], 3);
	conf_free(c);
	c = conf_load_string("locks = { a = { slots = 1024; };\n"
	    "b = { slots = 1024; }; c = { slots = 1024; };\n"
	    "d = { slots = 1024; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n",
	    "edge", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	conf_free(c);
}

/* clients.max_active: 8 when absent, 0 (no cap) allowed, range named. */
Test(conf, clients_max_active)
{
	static const char tail[] = "locks = { a = { slots = 1; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n";
	char		 err[ERRLEN], text[512], v[32];
	struct conf	*c;

	cr_assert_not_null(c = conf_load_string(tail, "dflt", err,
	    sizeof(err)), "%s", err);
	cr_expect_eq(c->client_max_active, 8);
	conf_free(c);
	snprintf(text, sizeof(text), "clients = { max_active = 0; };\n%s",
	    tail);
	cr_assert_not_null(c = conf_load_string(text, "zero", err,
	    sizeof(err)), "%s", err);
	cr_expect_eq(c->client_max_active, 0);
	cr_expect_eq(conf_value(c, "clients.max_active", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "0");
	conf_free(c);
	snprintf(text, sizeof(text), "clients = { max_active = -1; };\n%s",
	    tail);
	cr_expect_null(conf_load_string(text, "neg", err, sizeof(err)));
	cr_expect(strstr(err, "clients.max_active: must be 0..1000000") !=
	    NULL, "%s", err);
	snprintf(text, sizeof(text), "clients = { max = 1; };\n%s", tail);
	cr_expect_null(conf_load_string(text, "key", err, sizeof(err)));
	cr_expect(strstr(err, "clients.max: unknown key") != NULL, "%s", err);
}

Test(conf, plain_64bit_integer)
{
	struct conf	*c = load_good("tests/data/conf/good_bigint.conf");

	cr_expect_eq(c->results_max_bytes, 3000000000LL);
	conf_free(c);
}

Test(conf, lookups)
{
	struct conf		*c = load_good("fcgi/sluice.conf");
	const struct conf_lock	*l;
	const struct conf_task	*t;

	l = conf_find_lock(c, "cpu");
	cr_assert_not_null(l);
	cr_expect_eq(l, &c->locks[1]);
	cr_expect_null(conf_find_lock(c, "gpu0"));
	cr_expect_null(conf_find_lock(c, ""));
	cr_expect_null(conf_find_lock(c, NULL));
	t = conf_find_task(c, "sgemm");
	cr_assert_not_null(t);
	cr_expect_eq(t, &c->tasks[1]);
	cr_expect_null(conf_find_task(c, "SGEMM"));
	cr_expect_null(conf_find_task(c, "gpu"));
	cr_expect_null(conf_find_task(NULL, "sgemm"));
	conf_free(c);
}

Test(conf, free_null)
{
	conf_free(NULL);
}

Test(conf, from_string)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load_string("locks = { a = { slots = 3; }; };\n"
	    "tasks = { t = { kernel = \"sgemm\"; locks = [\"a\"];"
	    " title = \"T\"; }; };\n", "inline", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->path, "inline");
	cr_expect_eq(c->locks[0].slots, 3);
	cr_expect_str_eq(c->tasks[0].title, "T");
	conf_free(c);
}

Test(conf, string_errors_name_the_given_name)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load_string("locks = { a = { slots = 3; }; };\n"
	    "tasks = { t = { kernel = \"sgemm\"; locks = [\"b\"]; }; };\n",
	    "reload.conf", err, sizeof(err));
	cr_assert_null(c);
	cr_expect_str_eq(err, "reload.conf:2: tasks.t.locks[0]: "
	    "unknown lock \"b\"");
}

Test(conf, missing_file)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load("/nonexistent/sluice.conf", err, sizeof(err));
	cr_assert_null(c);
	cr_expect_str_eq(err, "/nonexistent/sluice.conf: cannot open: "
	    "No such file or directory");
}

Test(conf, small_error_buffer)
{
	char		 err[8];
	struct conf	*c;

	memset(err, 'x', sizeof(err));
	c = conf_load_string("bogus = 1;", "name.conf", err, sizeof(err));
	cr_assert_null(c);
	cr_expect_str_eq(err, "name.co");
	cr_expect_null(conf_load_string("bogus = 1;", "n", NULL, 0));
}

Test(conf, listen_forms)
{
	static const char *const good[] = {
		"unix:/run/sluice.sock", "localhost:1", "[::1]:65535",
		"0.0.0.0:9000",
	};
	static const char *const bad[] = {
		"unix:", "9000", ":9000", "host:", "host:0", "host:65536",
		"host:12x", "::1:9000", "[::1:9000", "a b:80", "host:+80",
	};
	char		 text[512], err[ERRLEN];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(text, sizeof(text), "server = { listen = \"%s\"; };",
		    good[i]);
		c = load_first_line(text, "l", err);
		cr_expect_not_null(c, "%s: %s", good[i], err);
		if (c != NULL)
			cr_expect_str_eq(c->listen, good[i]);
		conf_free(c);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(text, sizeof(text), "server = { listen = \"%s\"; };",
		    bad[i]);
		c = load_first_line(text, "l", err);
		cr_expect_null(c, "%s accepted", bad[i]);
		cr_expect(strncmp(err, "l:1: server.listen: ", 20) == 0,
		    "%s: %s", bad[i], err);
		conf_free(c);
	}
}

Test(conf, long_unix_path)
{
	char		 text[1024], path[200], err[ERRLEN];
	struct conf	*c;

	memset(path, 'a', sizeof(path) - 1);
	path[0] = '/';
	path[sizeof(path) - 1] = '\0';
	snprintf(text, sizeof(text), "server = { listen = \"unix:%s\"; };\n"
	    "locks = { a = { slots = 1; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };", path);
	c = conf_load_string(text, "l", err, sizeof(err));
	cr_assert_null(c);
	cr_expect_str_eq(err, "l:1: server.listen: unix socket path must be "
	    "at most 107 bytes");
}

/* Integer literals around the 32- and 64-bit edges. */
Test(conf, integer_edges)
{
	static const struct {
		const char	*lit;
		int64_t		 want;	/* 0: must be refused */
	} cases[] = {
		{ "2147483647", 2147483647LL },
		{ "2147483648", 2147483648LL },
		{ "9223372036854775807", INT64_MAX },
		{ "9223372036854775807L", INT64_MAX },
		{ "0x7fffffff", 0x7fffffffLL },
		{ "0xffffffff", 0xffffffffLL },
		{ "0x100000000", 0x100000000LL },
		{ "9223372036854775808", 0 },
		{ "99999999999999999999L", 0 },
		{ "0xffffffffffffffffL", 0 },
		{ "-1", 0 },
		{ "-4294967295", 0 },
	};
	char		 text[256], err[ERRLEN];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "results = { max_bytes = %s; };",
		    cases[i].lit);
		c = load_first_line(text, "i", err);
		if (cases[i].want == 0)
			cr_expect_null(c, "%s accepted", cases[i].lit);
		else if (c == NULL)
			cr_expect_fail("%s refused: %s", cases[i].lit, err);
		else
			cr_expect_eq(c->results_max_bytes, cases[i].want,
			    "%s", cases[i].lit);
		conf_free(c);
	}
}

/*
 * Signed numbers and floats in the forms the pre-scan knows as numbers
 * (-.5, +1.5e3, .5, -5, +7): each reaches libconfig as it was written, so
 * the message is about the value, not the syntax.
 */
Test(conf, prescan_number_forms)
{
	static const struct {
		const char	*lit;
		const char	*err;	/* NULL: loads with threads = 7 */
	} cases[] = {
		{ "+7", NULL },
		{ "-.5", "n:1: server.threads: must be an integer" },
		{ "+1.5e3", "n:1: server.threads: must be an integer" },
		{ ".5", "n:1: server.threads: must be an integer" },
		{ "-5", "n:1: server.threads: must be 1..1024" },
		{ "4294967297", "n:1: server.threads: must be 1..1024" },
		{ "-2147483649", "n:1: server.threads: must be 1..1024" },
	};
	char		 text[256], err[ERRLEN];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "server = { threads = %s; };",
		    cases[i].lit);
		c = load_first_line(text, "n", err);
		if (cases[i].err == NULL) {
			cr_expect_not_null(c, "%s refused: %s", cases[i].lit,
			    err);
			if (c != NULL)
				cr_expect_eq(c->threads, 7);
		} else {
			cr_expect_null(c, "%s accepted", cases[i].lit);
			cr_expect_str_eq(err, cases[i].err, "%s", cases[i].lit);
		}
		conf_free(c);
	}
}

/* Numbers inside strings and comments, and floats, are left alone. */
Test(conf, big_literals_in_strings_untouched)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load_string("# 99999999999999999999999\n"
	    "/* 3000000000 */ server = { state = \"/x/3000000000\"; };\n"
	    "// 3000000000\n"
	    "locks = { a = { slots = 1; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"];"
	    " title = \"\\\"3000000000\\\" .30000000000\"; }; };",
	    "s", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->state, "/x/3000000000");
	cr_expect_str_eq(c->tasks[0].title, "\"3000000000\" .30000000000");
	conf_free(c);
	c = conf_load_string("results = { max_bytes = .30000000000; };\n",
	    "f", err, sizeof(err));
	cr_assert_null(c);
	cr_expect_str_eq(err, "f:1: results.max_bytes: must be an integer");
}

/*
 * Refused or defused before libconfig sees them (libconfig 1.5 would leak
 * or misread them). Run under ASan to see that nothing leaks.
 */
Test(conf, prescan_refusals)
{
	char		 err[ERRLEN];

	cr_expect_null(conf_load_string("locks = {};\ntasks = { t = {\n"
	    "title = \"open\\\"\n", "u", err, sizeof(err)));
	cr_expect_str_eq(err, "u:3: syntax error: unterminated string");
	cr_expect_null(conf_load_string("a = 1;\n  @include \"x\"\n", "i",
	    err, sizeof(err)));
	cr_expect_str_eq(err, "i:2: syntax error: @include is not supported");
	/* A misplaced string: libconfig's own message, at its line. */
	cr_expect_null(conf_load_string("a = 1;\nb = 2 \"x\n y\";\n", "m",
	    err, sizeof(err)));
	cr_expect_str_eq(err, "m:2: syntax error: syntax error");
	cr_expect_null(conf_load_string("a = { b = 1, \"x\" };\n", "g",
	    err, sizeof(err)));
	cr_expect_str_eq(err, "g:1: syntax error: syntax error");
}

/* A task with many locks: all resolved, in order. */
Test(conf, many_locks)
{
	char		*text;
	size_t		 cap = 1 << 20, len = 0, i;
	char		 err[ERRLEN];
	struct conf	*c;

	text = malloc(cap);
	cr_assert_not_null(text);
	len += (size_t)snprintf(text + len, cap - len, "locks = {\n");
	for (i = 0; i < 500; i++)
		len += (size_t)snprintf(text + len, cap - len,
		    " l%zu = { slots = 1; };\n", i);
	len += (size_t)snprintf(text + len, cap - len,
	    "};\ntasks = { t = { kernel = \"burn\"; locks = [");
	for (i = 500; i > 0; i--)
		len += (size_t)snprintf(text + len, cap - len, "%s\"l%zu\"",
		    i < 500 ? ", " : "", i - 1);
	snprintf(text + len, cap - len, "]; }; };\n");
	c = conf_load_string(text, "m", err, sizeof(err));
	free(text);
	cr_assert_not_null(c, "%s", err);
	cr_assert_eq(c->tasks[0].nlocks, 500);
	for (i = 0; i < 500; i++)
		cr_expect_eq(c->tasks[0].lock_index[i], 499 - i);
	conf_free(c);
}

Test(conf, too_large)
{
	size_t		 n = 1024 * 1024 + 10;
	char		*text, err[ERRLEN];
	struct conf	*c;

	text = malloc(n + 1);
	cr_assert_not_null(text);
	memset(text, '#', n);
	text[n] = '\0';
	c = conf_load_string(text, "big", err, sizeof(err));
	free(text);
	cr_assert_null(c);
	cr_expect_str_eq(err, "big: too large (more than 1048576 bytes)");
}

/*
 * The refusal table: file under tests/data/conf/, line, and the message
 * after "FILE:LINE: ". Kept in char arrays so that Criterion can copy the
 * parameters into the test's process.
 */
struct bad_case {
	char	 file[48];
	int	 line;
	char	 msg[160];
};

static struct bad_case bad_cases[] = {
	{ "bad_syntax.conf", 3, "syntax error: syntax error" },
	{ "bad_duplicate.conf", 3, "syntax error: duplicate setting name" },
	{ "bad_include.conf", 2, "syntax error: @include is not supported" },
	{ "bad_int_range.conf", 2, "syntax error: integer out of range" },
	{ "bad_nul.conf", 2, "syntax error: NUL byte in file" },
	{ "bad_root_key.conf", 1, "servers: unknown key" },
	{ "bad_server_type.conf", 1, "server: must be a group" },
	{ "bad_server_key.conf", 3, "server.thread: unknown key" },
	{ "bad_threads_type.conf", 2, "server.threads: must be an integer" },
	{ "bad_threads_range.conf", 2, "server.threads: must be 1..1024" },
	{ "bad_threads_wrap.conf", 2, "server.threads: must be 1..1024" },
	{ "bad_listen_port.conf", 2, "server.listen: port must be 1..65535" },
	{ "bad_listen_unix.conf", 2,
	    "server.listen: unix socket path must be absolute" },
	{ "bad_listen_type.conf", 2, "server.listen: must be a string" },
	{ "bad_max_body.conf", 2, "server.max_body: must be 1..1073741824" },
	{ "bad_ttl.conf", 2, "results.ttl: must be 1..31536000" },
	{ "bad_max_bytes_type.conf", 2,
	    "results.max_bytes: must be an integer" },
	{ "bad_max_active.conf", 2, "sessions.max_active: must be 1..1000000" },
	{ "bad_lock_type.conf", 2, "locks.cpu: must be a group" },
	{ "bad_lock_key.conf", 4, "locks.cpu.timeout: unknown key" },
	{ "bad_lock_name.conf", 3, "locks.g*pu: lock names must be 1..63 "
	    "characters of A-Z a-z 0-9 _ -" },
	{ "bad_lock_name_long.conf", 2, "locks.a1234567890123456789012345678"
	    "90123456789012345678901234567890123: lock names must be 1..63 "
	    "characters of A-Z a-z 0-9 _ -" },
	{ "bad_slots_range.conf", 4, "locks.gpu.slots: must be 1..1024" },
	{ "bad_slots_missing.conf", 3, "locks.gpu.slots: missing (required)" },
	{ "bad_order.conf", 4,
	    "locks.cpu.order: must be \"fifo\" or \"fair\"" },
	{ "bad_devices_len.conf", 4, "locks.gpu.devices: must list one device "
	    "per slot (slots = 2, devices has 1)" },
	{ "bad_devices_neg.conf", 5,
	    "locks.gpu.devices[1]: must be a device index 0..1023" },
	{ "bad_devices_type.conf", 4,
	    "locks.gpu.devices: must be an array of integers" },
	{ "bad_task_key.conf", 6, "tasks.burn.titel: unknown key" },
	{ "bad_task_kernel.conf", 4,
	    "tasks.fractal.kernel: unknown kernel \"julia\"" },
	{ "bad_task_no_kernel.conf", 4,
	    "tasks.spin: needs kernel = \"NAME\" (a built-in) or worker = [\"program\", ...]" },
	{ "bad_task_no_locks_key.conf", 3,
	    "tasks.burn.locks: missing (required)" },
	{ "bad_task_locks_empty.conf", 5,
	    "tasks.burn.locks: must name at least one lock" },
	{ "bad_task_locks_type.conf", 5,
	    "tasks.burn.locks: must be an array of strings" },
	{ "bad_task_unknown_lock.conf", 6,
	    "tasks.burn.locks[1]: unknown lock \"gpux\"" },
	{ "bad_task_dup_lock.conf", 5,
	    "tasks.burn.locks[2]: lock \"gpu\" named twice" },
	{ "bad_task_title.conf", 6, "tasks.burn.title: must not be empty" },
	{ "bad_task_two_device_locks.conf", 11, "tasks.both.locks: locks "
	    "\"gpu0\" and \"gpu1\" both have devices; a job runs on one "
	    "device, so at most one of a task's locks may list devices" },
	{ "bad_total_slots.conf", 2, "locks: the slots of all locks add up to "
	    "4097, more than 4096 (one worker thread runs each held slot)" },
	{ "bad_tasks_empty.conf", 3, "tasks: at least one task is required" },
	{ "bad_tasks_absent.conf", 1,
	    "tasks: missing (at least one task is required)" },
};

ParameterizedTestParameters(conf, refused)
{
	return cr_make_param_array(struct bad_case, bad_cases,
	    sizeof(bad_cases) / sizeof(bad_cases[0]));
}

ParameterizedTest(struct bad_case *bc, conf, refused)
{
	char		 rel[128], path[PATH_MAX], want[PATH_MAX + 256];
	char		 err[ERRLEN];
	struct conf	*c;

	snprintf(rel, sizeof(rel), "tests/data/conf/%s", bc->file);
	data_path(path, sizeof(path), rel);
	snprintf(want, sizeof(want), "%s:%d: %s", path, bc->line, bc->msg);
	memset(err, 0, sizeof(err));
	c = conf_load(path, err, sizeof(err));
	cr_assert_null(c, "%s was accepted", bc->file);
	cr_expect_str_eq(err, want);
}

/*
 * conf_value (sluice -p): values as loaded, numbers in decimal whatever
 * the file wrote (hex, ':' for '='), defaults for omitted keys.
 */
Test(conf, value_prints_as_loaded)
{
	struct conf	*c;
	char		 err[ERRLEN], v[4096];
	size_t		 i;

	c = conf_load_string("server = { max_body: 0x10000; threads = 3;\n"
	    "  listen = \"unix:/run/x.sock\"; };\n"
	    "results = { max_bytes = 5000000000; };\n"
	    "locks = { a = { slots = 1; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n",
	    "v.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(conf_value(c, "server.max_body", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "65536");
	cr_expect_eq(conf_value(c, "server.threads", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "3");
	cr_expect_eq(conf_value(c, "server.listen", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "unix:/run/x.sock");
	cr_expect_eq(conf_value(c, "results.max_bytes", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "5000000000");
	cr_expect_eq(conf_value(c, "server.drain_timeout", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "30");
	cr_expect_eq(conf_value(c, "sessions.max_active", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "2");
	/* Every key it lists, it prints. */
	for (i = 0; conf_value_keys(i) != NULL; i++)
		cr_expect_eq(conf_value(c, conf_value_keys(i), v, sizeof(v)), 0,
		    "%s", conf_value_keys(i));
	cr_expect_geq(i, 9);
	cr_expect_eq(conf_value(c, "server", v, sizeof(v)), -1);
	cr_expect_eq(conf_value(c, "locks.a.slots", v, sizeof(v)), -1);
	cr_expect_str_eq(v, "");
	cr_expect_eq(conf_value(c, "server.max_body", v, 5), -1);
	conf_free(c);
}

/* ---- worker tasks and their inputs ---- */

struct worker_case {
	const char	*task;	/* the body of tasks.t = { ... } */
	const char	*msg;	/* NULL: accepted; else "LINE: path: what" */
};

#define WC_HEAD	"locks = { a = { slots = 1; }; };\ntasks = {\n  t = {\n    "

static const struct worker_case worker_cases[] = {
	{ "worker = [\"true\"]; locks = [\"a\"];", NULL },
	{ "worker = [\"true\"]; kernel = \"burn\"; locks = [\"a\"];",
	    "4: tasks.t.worker: a task has kernel or worker, not both" },
	{ "worker = []; locks = [\"a\"];",
	    "4: tasks.t.worker: must have at least 1 element" },
	{ "worker = \"true\"; locks = [\"a\"];",
	    "4: tasks.t.worker: must be an array of strings" },
	{ "kernel = \"burn\"; locks = [\"a\"]; inputs = { x = { type = "
	    "\"int\"; min = 0; max = 1; }; };", "4: tasks.t.inputs: only a "
	    "worker task declares inputs (a kernel task narrows its parameters "
	    "in params)" },
	/* A kernel task's params only narrow the kernel's ranges. */
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { min = 10; "
	    "max = 5000; default = 20; }; };", NULL },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { max = "
	    "600001; }; };", "4: tasks.t.params.ms.max: must be within the "
	    "kernel's own range 0..600000 (a task only narrows it)" },
	{ "kernel = \"mandelbrot\"; locks = [\"a\"]; params = { width = { "
	    "min = 8; }; };", "4: tasks.t.params.width.min: must be within the "
	    "kernel's own range 16..4096 (a task only narrows it)" },
	{ "kernel = \"mandelbrot\"; locks = [\"a\"]; params = { scale = { "
	    "min = 0.0; }; };", "4: tasks.t.params.scale.min: must be within "
	    "the kernel's own range 1e-13..16 (a task only narrows it)" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { seconds = { "
	    "max = 1; }; };",
	    "4: tasks.t.params.seconds: the kernel burn has no such parameter" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { step = 5; "
	    "}; };", "4: tasks.t.params.ms.step: unknown key" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = 5; };",
	    "4: tasks.t.params.ms: must be a group (min, max, default)" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { min = 10; "
	    "max = 5; }; };", "4: tasks.t.params.ms.max: must not be below min" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { max = "
	    "10.5; }; };", "4: tasks.t.params.ms: min, max and default of an "
	    "int must be whole numbers" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { max = "
	    "100; default = 200; }; };",
	    "4: tasks.t.params.ms.default: must be within min..max" },
	{ "kernel = \"burn\"; locks = [\"a\"]; params = { ms = { max = "
	    "\"5\"; }; };", "4: tasks.t.params.ms.max: must be a number" },
	{ "worker = [\"true\"]; locks = [\"a\"]; params = { ms = { max = "
	    "1; }; };", "4: tasks.t.params: only a kernel task has params (a "
	    "worker task's ranges are its inputs)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"movie\"; }; };", "4: tasks.t.inputs.x.type: must be int, float, "
	    "text, choice, bool, image or file" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"image\"; }; };", NULL },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"image\"; max_bytes = 0; }; };",
	    "4: tasks.t.inputs.x.max_bytes: must be 1..1073741824" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"image\"; max_pixels = 5000000000; }; };",
	    "4: tasks.t.inputs.x.max_pixels: must be 1..4294836225" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"image\"; accept = [\".png\"]; }; };",
	    "4: tasks.t.inputs.x.accept: unknown key" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"file\"; max_pixels = 9; }; };",
	    "4: tasks.t.inputs.x.max_pixels: unknown key" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"file\"; accept = [\"txt\"]; }; };", "4: tasks.t.inputs.x.accept: "
	    "\"txt\": a suffix is a dot and up to 15 of a-z 0-9 . (lower case: "
	    "names are matched without case)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"file\"; accept = [\".TXT\"]; }; };", "4: tasks.t.inputs.x.accept: "
	    "\".TXT\": a suffix is a dot and up to 15 of a-z 0-9 . (lower case: "
	    "names are matched without case)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"file\"; accept = []; }; };",
	    "4: tasks.t.inputs.x.accept: must have at least 1 element" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"int\"; max = 1; }; };", "4: tasks.t.inputs.x.min: missing "
	    "(required)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"int\"; min = 2; max = 1; }; };",
	    "4: tasks.t.inputs.x.max: must not be below min" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"int\"; min = 0; max = 9; default = 10; }; };",
	    "4: tasks.t.inputs.x.default: must be within min..max" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"int\"; min = 0.5; max = 9; }; };", "4: tasks.t.inputs.x: min, "
	    "max and default of an int must be whole numbers" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"float\"; min = 0; max = 1; choices = [\"a\"]; }; };",
	    "4: tasks.t.inputs.x.choices: unknown key" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"choice\"; }; };", "4: tasks.t.inputs.x.choices: missing "
	    "(required)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"choice\"; choices = [\"a\", \"a\"]; }; };",
	    "4: tasks.t.inputs.x.choices: \"a\" given twice" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"choice\"; choices = [\"a\", \"b\"]; default = \"c\"; }; };",
	    "4: tasks.t.inputs.x.default: must be one of the choices" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"text\"; max_length = 3; default = \"abcd\"; }; };",
	    "4: tasks.t.inputs.x.default: is longer than max_length" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { x = { type = "
	    "\"bool\"; default = 1; }; };",
	    "4: tasks.t.inputs.x.default: must be true or false" },
	{ "worker = [\"true\"]; locks = [\"a\"]; inputs = { csrf = { type = "
	    "\"bool\"; }; };", "4: tasks.t.inputs.csrf: an input is a group "
	    "named 1..63 characters of A-Z a-z 0-9 _ - (not csrf or nonce)" },
	{ "worker = [\"true\"]; locks = [\"a\"]; preload = 1;",
	    "4: tasks.t.preload: must be true or false" },
	{ "worker = [\"true\"]; locks = [\"a\"]; timeout = -1;",
	    "4: tasks.t.timeout: must be 0..604800" },
	{ "worker = [\"true\"]; locks = [\"a\"]; cancel_grace = 3601;",
	    "4: tasks.t.cancel_grace: must be 0..3600" },
	{ "worker = [\"true\"]; locks = [\"a\"]; start_timeout = 0;",
	    "4: tasks.t.start_timeout: must be 1..86400" },
};

Test(conf, worker_tasks_and_inputs)
{
	char		 text[1024], want[512], err[ERRLEN];
	struct conf	*c;
	size_t		 i;

	for (i = 0; i < sizeof(worker_cases) / sizeof(worker_cases[0]); i++) {
		snprintf(text, sizeof(text), WC_HEAD "%s\n  };\n};\n",
		    worker_cases[i].task);
		err[0] = '\0';
		c = conf_load_string(text, "w.conf", err, sizeof(err));
		if (worker_cases[i].msg == NULL) {
			cr_expect_not_null(c, "%zu: %s", i, err);
			conf_free(c);
			continue;
		}
		cr_expect_null(c, "%zu accepted", i);
		snprintf(want, sizeof(want), "w.conf:%s", worker_cases[i].msg);
		cr_expect_str_eq(err, want, "%zu", i);
		conf_free(c);
	}
}

/* Uploads: their limits, defaults, and what a task's body may be. */
Test(conf, upload_inputs_and_body_limits)
{
	char			 err[ERRLEN], v[32];
	const struct kparam_spec *p;
	struct conf		*c;

	c = conf_load_string("server = { max_body = 10000; };\n"
	    "locks = { a = { slots = 1; }; };\ntasks = {\n"
	    "t = { worker = [\"true\"]; locks = [\"a\"];\n"
	    "inputs = { photo = { type = \"image\"; };\n"
	    "doc = { type = \"file\"; max_bytes = 5000; accept = "
	    "[\".txt\", \".tar.gz\"]; optional = true; }; }; };\n"
	    "u = { worker = [\"true\"]; locks = [\"a\"]; }; };\n",
	    "u.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	p = &c->tasks[0].inputs[0];
	cr_expect_eq(p->type, KPARAM_IMAGE);
	cr_expect_eq(p->max_bytes, 8388608, "8 MiB by default");
	cr_expect_eq(p->max_pixels, 16777216, "16 Mpx by default");
	p = &c->tasks[0].inputs[1];
	cr_expect_eq(p->type, KPARAM_FILE);
	cr_expect_eq(p->max_bytes, 5000);
	cr_expect_str_eq(p->accept[1], ".tar.gz");
	cr_expect_null(p->accept[2]);
	cr_expect(p->optional);
	cr_expect_eq(c->tasks[0].max_body, 10000 + 8388608 + 5000 +
	    2 * CONF_PART_OVERHEAD);
	cr_expect_eq(c->tasks[1].max_body, 10000, "no uploads: server's");
	cr_expect_eq(c->max_request_body, c->tasks[0].max_body);
	cr_assert_eq(conf_value(c, "tasks.max_body", v, sizeof(v)), 0);
	cr_expect_eq(atol(v), c->tasks[0].max_body);
	conf_free(c);
}

Test(conf, worker_task_fields)
{
	char		 err[ERRLEN];
	const struct conf_task *t;
	struct conf	*c;

	c = conf_load_string("locks = { a = { slots = 1; }; g = { slots = 2; "
	    "devices = [4, 6]; }; };\ntasks = { t = { worker = [\"true\", "
	    "\"--x\"]; locks = [\"a\", \"g\"]; preload = true; timeout = 9;\n"
	    "inputs = { n = { type = \"int\"; min = 1; max = 9; };\n"
	    "s = { type = \"choice\"; choices = [\"x\", \"y\"]; };\n"
	    "b = { type = \"bool\"; default = true; label = \"B!\"; };\n"
	    "m = { type = \"text\"; }; }; }; };\n", "w.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	t = &c->tasks[0];
	cr_expect_null(t->kernel);
	cr_expect_str_eq(t->worker[0], "true");
	cr_expect_str_eq(t->worker[1], "--x");
	cr_expect_null(t->worker[2]);
	cr_expect_eq(t->worker_lock, 1, "the lock with devices picks slots");
	cr_expect_eq(t->preload, 1);
	cr_expect_eq(t->timeout, 9);
	cr_expect_eq(t->cancel_grace, 5);
	cr_expect_eq(t->start_timeout, 300);
	cr_assert_eq(t->ninputs, 4);
	cr_expect_str_eq(t->inputs[0].name, "n");
	cr_expect_eq(t->inputs[0].type, KPARAM_INT);
	cr_expect_eq(t->inputs[0].def, 1, "an int's default is its min");
	cr_expect_eq(t->inputs[0].step, 1);
	cr_expect_eq(t->inputs[1].type, KPARAM_CHOICE);
	cr_expect_eq(t->inputs[1].nchoices, 2);
	cr_expect_str_eq(t->inputs[1].def_text, "x");
	cr_expect_eq(t->inputs[2].def, 1);
	cr_expect_str_eq(t->inputs[2].label, "B!");
	cr_expect_eq(t->inputs[3].max_length, 1000);
	cr_expect_str_eq(t->inputs[3].def_text, "");
	cr_expect_str_eq(t->title, "t");
	cr_expect_not_null(t->inputs_sig);
	cr_expect(strncmp(t->inputs_sig, "[{", 2) == 0, "%s", t->inputs_sig);
	conf_free(c);
}

/*
 * A kernel task's params: a copy of the kernel's specs with the ranges
 * given (the kernel's own untouched), the default moved into a narrowed
 * range, its own reload signature; and the default timeout.
 */
Test(conf, kernel_params_narrow)
{
	const struct kernel_spec *kb = kernel_find("burn");
	const struct kernel_spec *km = kernel_find("mandelbrot");
	char		 err[ERRLEN];
	const struct conf_task *t;
	struct conf	*c;
	int		 w, it;

	c = conf_load_string("locks = { a = { slots = 1; }; };\ntasks = {\n"
	    "m = { kernel = \"mandelbrot\"; locks = [\"a\"]; params = {\n"
	    "width = { max = 1024; };\niters = { min = 100; max = 2000; "
	    "default = 1000; }; }; };\n"
	    "b = { kernel = \"burn\"; locks = [\"a\"]; timeout = 0;\n"
	    "params = { ms = { max = 500; }; }; };\n"
	    "p = { kernel = \"burn\"; locks = [\"a\"]; }; };\n", "k.conf", err,
	    sizeof(err));
	cr_assert_not_null(c, "%s", err);
	t = &c->tasks[0];
	w = kernel_param_index(km, "width");
	it = kernel_param_index(km, "iters");
	cr_assert(w >= 0 && it >= 0);
	cr_assert_eq(t->ninputs, km->nparams);
	cr_expect_neq(t->inputs, km->params, "a copy");
	cr_expect_eq(t->inputs[w].min, 16, "min stays the kernel's");
	cr_expect_eq(t->inputs[w].max, 1024);
	cr_expect_eq(t->inputs[w].def, km->params[w].def);
	cr_expect_str_eq(t->inputs[w].label, km->params[w].label);
	cr_expect_eq(t->inputs[it].min, 100);
	cr_expect_eq(t->inputs[it].max, 2000);
	cr_expect_eq(t->inputs[it].def, 1000);
	cr_expect_eq(km->params[w].max, 4096, "the kernel's own untouched");
	cr_expect(strncmp(t->inputs_sig, "kernel:mandelbrot:[{", 20) == 0,
	    "%s", t->inputs_sig);
	cr_expect_eq(t->timeout, CONF_TIMEOUT_DEFAULT, "bounded by default");
	t = &c->tasks[1];
	cr_expect_eq(t->inputs[0].max, 500);
	cr_expect_eq(t->inputs[0].def, 500, "the kernel's 1000, moved in");
	cr_expect_eq(t->timeout, 0, "0 is no limit, when said");
	t = &c->tasks[2];
	cr_expect_eq(t->inputs, kb->params, "no params: the kernel's own");
	cr_expect_str_eq(t->inputs_sig, "kernel:burn");
	cr_expect_eq(t->timeout, CONF_TIMEOUT_DEFAULT);
	conf_free(c);
}

/*
 * What the example config lets one job cost on the CPU fallback. Worst
 * cases, measured with sluice-kernel --cpu on the 2-core development
 * machine while other builds ran: mandelbrot inside the set (every pixel
 * runs all iterations, cx=-0.1 cy=0 scale=0.1) at 0.38..0.77 G
 * pixel-iterations/s; sgemm's whole job at 10 GFLOP/s (2 n^3 flops); burn
 * sleeps ms. The rates below are the slow end.
 */
static double
range_max(const struct conf_task *t, const char *name)
{
	int	 i = kernel_param_index(kernel_find(t->kernel), name);

	cr_assert(i >= 0, "%s has no %s", t->kernel, name);
	return t->inputs[i].max;
}

static double
example_cpu_seconds(const struct conf_task *t)
{
	if (strcmp(t->kernel, "mandelbrot") == 0)
		return range_max(t, "width") * range_max(t, "height") *
		    range_max(t, "iters") / 0.38e9;
	if (strcmp(t->kernel, "sgemm") == 0)
		return 2 * pow(range_max(t, "n"), 3) / 10e9;
	return range_max(t, "ms") / 1000;
}

/*
 * Issue 15 item 8: every task of the example config has a finite
 * timeout, and every kernel task whose kernel's own ranges allow a CPU
 * job of more than a minute narrows them to one that takes less.
 */
Test(conf, example_bounds_every_job)
{
	struct conf	*c = load_good("fcgi/sluice.conf");
	struct conf_task own;
	const struct kernel_spec *k;
	size_t		 i, kernels = 0;
	double		 s;

	for (i = 0; i < c->ntasks; i++) {
		cr_expect(c->tasks[i].timeout > 0, "%s: no timeout",
		    c->tasks[i].name);
		if (c->tasks[i].kernel == NULL)
			continue;
		kernels++;
		k = kernel_find(c->tasks[i].kernel);
		own = c->tasks[i];
		own.inputs = k->params;
		cr_expect_gt(example_cpu_seconds(&own), 60, "%s: the kernel's "
		    "own ranges are short: this test needs another case",
		    k->name);
		s = example_cpu_seconds(&c->tasks[i]);
		cr_expect_lt(s, 60, "%s: a CPU job may take %.0f s",
		    c->tasks[i].name, s);
		cr_expect_leq(c->tasks[i].timeout, 60, "%s: timeout %d s",
		    c->tasks[i].name, c->tasks[i].timeout);
	}
	cr_expect_eq(kernels, 3, "every kernel in the example");
	conf_free(c);
}

/* conf_load takes any program; sluice -t (conf_check_programs) does not. */
Test(conf, missing_worker_program_found_by_the_check)
{
	char		 err[ERRLEN];
	struct conf	*c;

	c = conf_load_string(WC_HEAD "worker = [\"no-such-program-x\"]; "
	    "locks = [\"a\"];\n  };\n};\n", "w.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(conf_check_programs(c, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "w.conf:4: tasks.t.worker: program "
	    "\"no-such-program-x\" not found or not executable");
	conf_free(c);
	c = conf_load_string(WC_HEAD "worker = [\"true\"]; locks = [\"a\"];"
	    "\n  };\n};\n", "w.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_eq(conf_check_programs(c, err, sizeof(err)), 0, "%s", err);
	conf_free(c);
}

/* ---- the cluster group (DESIGN.md, "Several machines: the cluster") ---- */

#define CLUSTER_TAIL \
	"locks = { a = { slots = 1; }; };\n" \
	"tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n"

Test(conf, no_cluster_group_is_one_machine)
{
	char		 err[ERRLEN], v[64];
	struct conf	*c;

	cr_assert_not_null(c = conf_load_string(CLUSTER_TAIL, "one", err,
	    sizeof(err)), "%s", err);
	cr_expect_null(c->cluster_database);
	cr_expect_null(c->cluster_node);
	cr_expect_eq(c->cluster_lease, 15);
	cr_expect_eq(c->locks[0].scope, CONF_SCOPE_NODE);
	cr_expect_eq(conf_value(c, "cluster.database", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "");
	conf_free(c);
}

Test(conf, cluster_group_and_scopes)
{
	static const char text[] =
	    "cluster = { database = \"postgresql:///sluice?host=/run/pg\";\n"
	    "  node = \"gpu-a.example_1\"; lease = 20; };\n"
	    "locks = { gpu = { slots = 2; devices = [0, 1]; };\n"
	    "  licence = { slots = 3; scope = \"cluster\"; };\n"
	    "  host = { slots = 1; scope = \"node\"; }; };\n"
	    "tasks = { t = { kernel = \"burn\"; locks = [\"gpu\", \"licence\"]; }; };\n";
	char		 err[ERRLEN], v[64];
	struct conf	*c;

	cr_assert_not_null(c = conf_load_string(text, "cl", err, sizeof(err)),
	    "%s", err);
	cr_expect_str_eq(c->cluster_database,
	    "postgresql:///sluice?host=/run/pg");
	cr_expect_str_eq(c->cluster_node, "gpu-a.example_1");
	cr_expect_eq(c->cluster_lease, 20);
	cr_expect_eq(c->locks[0].scope, CONF_SCOPE_NODE);
	cr_expect_eq(c->locks[1].scope, CONF_SCOPE_CLUSTER);
	cr_expect_eq(c->locks[2].scope, CONF_SCOPE_NODE);
	cr_expect_eq(conf_value(c, "cluster.lease", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "20");
	cr_expect_eq(conf_value(c, "cluster.node", v, sizeof(v)), 0);
	cr_expect_str_eq(v, "gpu-a.example_1");
	conf_free(c);
}

Test(conf, cluster_node_defaults_to_the_host_name)
{
	char		 err[ERRLEN], host[256];
	struct conf	*c;

	cr_assert_eq(gethostname(host, sizeof(host)), 0);
	c = conf_load_string("cluster = { database = \"dbname=s\"; };\n"
	    CLUSTER_TAIL, "host", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	cr_expect_str_eq(c->cluster_node, host);
	cr_expect_eq(c->cluster_lease, 15);
	conf_free(c);
}

/* Arrays, not pointers: Criterion copies parameters into another process. */
struct cluster_bad {
	char	 text[256];	/* before CLUSTER_TAIL, or whole with locks */
	char	 msg[96];	/* in the error */
};


ParameterizedTestParameters(conf, cluster_refusals)
{
	static struct cluster_bad cluster_bads[] = {
		{ "cluster = { node = \"a\"; };\n", "bad:1: cluster.database: missing" },
		{ "cluster = { database = \"\"; };\n",
		    "bad:1: cluster.database: must not be empty" },
		{ "cluster = { database = 5; };\n",
		    "bad:1: cluster.database: must be a string" },
		{ "cluster = { database = \"d\"; lease = 0; };\n",
		    "bad:1: cluster.lease: must be 1..3600" },
		{ "cluster = { database = \"d\"; lease = 3601; };\n",
		    "bad:1: cluster.lease: must be 1..3600" },
		{ "cluster = { database = \"d\"; node = \"a b\"; };\n",
		    "bad:1: cluster.node: must be 1..63 characters" },
		{ "cluster = { database = \"d\"; node = \"a/../b\"; };\n",
		    "bad:1: cluster.node: must be 1..63 characters" },
		{ "cluster = { database = \"d\"; "
		    "node = \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"; };\n",
		    "bad:1: cluster.node: must be 1..63 characters" },
		{ "cluster = { database = \"d\"; port = 5432; };\n",
		    "bad:1: cluster.port: unknown key" },
		{ "cluster = 1;\n", "bad:1: cluster: must be a group" },
		{ "locks = { a = { slots = 1; scope = \"cluster\"; }; };\n"
		    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n",
		    "bad:1: locks.a.scope: \"cluster\" needs a cluster group" },
		{ "cluster = { database = \"d\"; };\n"
		    "locks = { a = { slots = 1; scope = \"world\"; }; };\n"
		    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n",
		    "bad:2: locks.a.scope: must be \"node\" or \"cluster\"" },
		{ "cluster = { database = \"d\"; };\n"
		    "locks = { a = { slots = 1; devices = [0]; scope = \"cluster\"; }; };\n"
		    "tasks = { t = { kernel = \"burn\"; locks = [\"a\"]; }; };\n",
		    "bad:2: locks.a.scope: a lock of scope \"cluster\" binds no devices" },
	};
	return cr_make_param_array(struct cluster_bad, cluster_bads,
	    sizeof(cluster_bads) / sizeof(cluster_bads[0]));
}

ParameterizedTest(struct cluster_bad *b, conf, cluster_refusals)
{
	char	 err[ERRLEN] = "", text[1024];

	snprintf(text, sizeof(text), "%s%s", b->text,
	    strstr(b->text, "locks") != NULL ? "" : CLUSTER_TAIL);
	cr_expect_null(conf_load_string(text, "bad", err, sizeof(err)),
	    "accepted: %s", b->text);
	cr_expect(strstr(err, b->msg) != NULL, "%s: got \"%s\"", b->msg, err);
}
