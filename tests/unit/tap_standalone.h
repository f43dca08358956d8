/*
 * tap_standalone: a stand-in for the part of Criterion that the lock and
 * scheduler tests use, for their ThreadSanitizer builds: Criterion
 * cannot start under TSan (its BoxFort arena fails: Snaipe/Criterion#274).
 * A test file includes it when SLUICE_TAP_STANDALONE is defined, in place
 * of <criterion/criterion.h>.
 *
 * Each Test() runs in a forked child; TAP goes to --tap=FILE (stdout
 * without it), as tests/criterion-tap expects. The table of tests grows
 * as constructors register them (none is dropped: a registration that
 * cannot be stored makes the run fail), and .timeout = SECONDS is
 * honoured: a child still running after it is killed and reported as
 * failed. Only what the including tests use is here.
 */
#ifndef SLUICE_TAP_STANDALONE_H
#define SLUICE_TAP_STANDALONE_H

#include <sys/wait.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct tap_opts {
	double		 timeout;	/* seconds; 0: none */
};

struct tap_test {
	const char	*suite, *name;
	void		(*fn)(void);
	struct tap_opts	 opts;
};

static struct tap_test	*tap_tests;
static int		 tap_ntests, tap_cap, tap_lost, tap_failed;

static void
tap_add(const char *suite, const char *name, void (*fn)(void),
    struct tap_opts opts)
{
	struct tap_test	*grown;
	int		 cap;

	if (tap_ntests == tap_cap) {
		cap = tap_cap > 0 ? tap_cap * 2 : 32;
		if ((grown = realloc(tap_tests, cap * sizeof(*grown))) == NULL) {
			tap_lost++;
			return;
		}
		tap_tests = grown;
		tap_cap = cap;
	}
	tap_tests[tap_ntests++] = (struct tap_test){ suite, name, fn, opts };
}

static void
tap_fail(const char *file, int line, const char *what, int fatal)
{
	fprintf(stderr, "%s:%d: assertion failed: %s\n", file, line, what);
	tap_failed = 1;
	if (fatal)
		exit(1);
}

#define Test(suite, name, ...)						\
	static void tap_fn_##suite##_##name(void);			\
	__attribute__((constructor)) static void			\
	tap_reg_##suite##_##name(void)					\
	{								\
		struct tap_opts o = { __VA_ARGS__ };		\
		tap_add(#suite, #name, tap_fn_##suite##_##name, o);	\
	}								\
	static void tap_fn_##suite##_##name(void)
#define cr_assert(c, ...)	do { if (!(c)) tap_fail(__FILE__, __LINE__, #c, 1); } while (0)
#define cr_expect(c, ...)	do { if (!(c)) tap_fail(__FILE__, __LINE__, #c, 0); } while (0)
#define cr_assert_not(c, ...)	cr_assert(!(c))
#define cr_expect_not(c, ...)	cr_expect(!(c))
#define cr_assert_eq(a, b, ...)	cr_assert((a) == (b))
#define cr_expect_eq(a, b, ...)	cr_expect((a) == (b))
#define cr_assert_neq(a, b, ...) cr_assert((a) != (b))
#define cr_expect_neq(a, b, ...) cr_expect((a) != (b))
#define cr_assert_gt(a, b, ...)	cr_assert((a) > (b))
#define cr_expect_gt(a, b, ...)	cr_expect((a) > (b))
#define cr_assert_geq(a, b, ...) cr_assert((a) >= (b))
#define cr_expect_geq(a, b, ...) cr_expect((a) >= (b))
#define cr_assert_leq(a, b, ...) cr_assert((a) <= (b))
#define cr_expect_leq(a, b, ...) cr_expect((a) <= (b))
#define cr_assert_lt(a, b, ...)	cr_assert((a) < (b))
#define cr_expect_lt(a, b, ...)	cr_expect((a) < (b))
#define cr_assert_null(p, ...)	cr_assert((p) == NULL)
#define cr_assert_not_null(p, ...) cr_assert((p) != NULL)
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0)
#define cr_expect_str_eq(a, b, ...) cr_expect(strcmp((a), (b)) == 0)
#define cr_expect_str_neq(a, b, ...) cr_expect(strcmp((a), (b)) != 0)
#define cr_log_info(...)	do { fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); } while (0)
#define cr_skip_test(...)	do { fprintf(stderr, __VA_ARGS__); exit(77); } while (0)

/* Runs test t in a child; returns its wait status (SIGALRM: timed out). */
static int
tap_run_one(const struct tap_test *t)
{
	pid_t	 pid;
	int	 st;

	fflush(NULL);
	if ((pid = fork()) == -1)
		return -1;
	if (pid == 0) {
		/* The default action of SIGALRM ends the child. */
		if (t->opts.timeout > 0)
			alarm((unsigned)(t->opts.timeout + 0.999));
		t->fn();
		exit(tap_failed);
	}
	while (waitpid(pid, &st, 0) == -1)
		continue;
	return st;
}

/* How a child that did not pass ended, in words, into buf. */
static const char *
tap_why(int st, char *buf, size_t len)
{
	if (st == -1)
		snprintf(buf, len, "could not fork");
	else if (WIFSIGNALED(st) && WTERMSIG(st) == SIGALRM)
		snprintf(buf, len, "timed out");
	else if (WIFSIGNALED(st))
		snprintf(buf, len, "killed by signal %d (%s)", WTERMSIG(st),
		    strsignal(WTERMSIG(st)));
	else
		snprintf(buf, len, "exit status %d", WEXITSTATUS(st));
	return buf;
}

int
main(int argc, char *argv[])
{
	FILE	*tap = stdout;
	char	 why[64];
	int	 i, st, bad = 0;

	for (i = 1; i < argc; i++)
		if (strncmp(argv[i], "--tap=", 6) == 0 &&
		    (tap = fopen(argv[i] + 6, "w")) == NULL)
			return 2;
	fprintf(tap, "TAP version 13\n1..%d\n", tap_ntests + (tap_lost > 0));
	for (i = 0; i < tap_ntests; i++) {
		st = tap_run_one(&tap_tests[i]);
		if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 77)
			fprintf(tap, "ok %d - %s::%s # SKIP\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name);
		else if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0)
			fprintf(tap, "ok %d - %s::%s\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name);
		else {
			bad = 1;
			fprintf(tap, "not ok %d - %s::%s (%s)\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name,
			    tap_why(st, why, sizeof(why)));
		}
	}
	if (tap_lost > 0) {
		bad = 1;
		fprintf(tap, "not ok %d - %d tests could not be registered\n",
		    tap_ntests + 1, tap_lost);
	}
	if (tap != stdout)
		fclose(tap);
	free(tap_tests);
	return bad;
}

#endif
