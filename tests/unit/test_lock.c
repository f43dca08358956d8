/* Unit tests for lock.c: the slot bitmap of one keyed lock. */
/*
 * Criterion cannot start under ThreadSanitizer (its BoxFort arena fails:
 * Snaipe/Criterion#274), so with -DSLUICE_TAP_STANDALONE this file builds
 * without Criterion: a minimal stand-in for the few macros used here runs
 * each Test() in a forked child and writes TAP to --tap=FILE, as
 * tests/criterion-tap expects. The TSan build of this test uses it.
 */
#ifdef SLUICE_TAP_STANDALONE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

struct tap_test {
	const char	*suite, *name;
	void		(*fn)(void);
};
static struct tap_test	 tap_tests[64];
static int		 tap_ntests, tap_failed;

static void
tap_add(const char *suite, const char *name, void (*fn)(void))
{
	if (tap_ntests < 64)
		tap_tests[tap_ntests++] = (struct tap_test){ suite, name, fn };
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
	{ tap_add(#suite, #name, tap_fn_##suite##_##name); }		\
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
#define cr_assert_str_eq(a, b, ...) cr_assert(strcmp((a), (b)) == 0)
#define cr_expect_str_eq(a, b, ...) cr_expect(strcmp((a), (b)) == 0)
#define cr_skip_test(...)	do { fprintf(stderr, __VA_ARGS__); exit(77); } while (0)

int
main(int argc, char *argv[])
{
	FILE	*tap = stdout;
	pid_t	 pid;
	int	 i, st, bad = 0;

	for (i = 1; i < argc; i++)
		if (strncmp(argv[i], "--tap=", 6) == 0 &&
		    (tap = fopen(argv[i] + 6, "w")) == NULL)
			return 2;
	fprintf(tap, "TAP version 13\n1..%d\n", tap_ntests);
	for (i = 0; i < tap_ntests; i++) {
		fflush(NULL);
		if ((pid = fork()) == -1)
			return 2;
		if (pid == 0) {
			tap_tests[i].fn();
			exit(tap_failed);
		}
		waitpid(pid, &st, 0);
		if (WIFEXITED(st) && WEXITSTATUS(st) == 77)
			fprintf(tap, "ok %d - %s::%s # SKIP\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name);
		else if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
			fprintf(tap, "ok %d - %s::%s\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name);
		else {
			bad = 1;
			fprintf(tap, "not ok %d - %s::%s (status %d)\n", i + 1,
			    tap_tests[i].suite, tap_tests[i].name, st);
		}
	}
	if (tap != stdout)
		fclose(tap);
	return bad;
}
#else
#include <criterion/criterion.h>
#endif
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "lock.h"

Test(lock, init_bounds)
{
	struct lock	 l;

	cr_expect_eq(lock_init(&l, 0), -1);
	cr_expect_eq(lock_init(&l, -3), -1);
	cr_expect_eq(lock_init(&l, LOCK_MAX_SLOTS + 1), -1);
	cr_expect_eq(lock_init(&l, 1), 0);
	cr_expect_eq(lock_init(&l, LOCK_MAX_SLOTS), 0);
	cr_expect_eq(lock_busy(&l), 0);
	cr_expect_eq(lock_free(&l), LOCK_MAX_SLOTS);
}

/* Fills a lock of n slots: lowest slot first, then full. */
static void
fill_and_check(int n)
{
	struct lock	 l;
	int		 i, slot;

	cr_assert_eq(lock_init(&l, n), 0);
	for (i = 0; i < n; i++) {
		cr_assert_eq(lock_try_acquire(&l, &slot), 0, "n=%d i=%d", n, i);
		cr_assert_eq(slot, i, "n=%d: got slot %d, want %d", n, slot, i);
		cr_assert(lock_held(&l, i));
	}
	slot = -7;
	cr_assert_eq(lock_try_acquire(&l, &slot), -1, "n=%d: full", n);
	cr_assert_eq(slot, -7, "slot untouched when full");
	cr_assert_eq(lock_busy(&l), n);
	cr_assert_eq(lock_free(&l), 0);
	/* Free a middle slot: the next acquire gets exactly it. */
	cr_assert_eq(lock_release(&l, n / 2), 0);
	cr_assert_eq(lock_busy(&l), n - 1);
	cr_assert_not(lock_held(&l, n / 2));
	cr_assert_eq(lock_try_acquire(&l, &slot), 0);
	cr_assert_eq(slot, n / 2);
	for (i = 0; i < n; i++)
		cr_assert_eq(lock_release(&l, i), 0);
	cr_assert_eq(lock_busy(&l), 0);
}

Test(lock, fill_sizes)
{
	static const int sizes[] = { 1, 2, 3, 63, 64, 65, 127, 128, 129,
	    1000, 1023, 1024 };
	size_t	 i;

	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		fill_and_check(sizes[i]);
}

Test(lock, release_errors)
{
	struct lock	 l;
	int		 slot;

	cr_assert_eq(lock_init(&l, 3), 0);
	cr_expect_eq(lock_release(&l, 0), -1, "not held");
	cr_expect_eq(lock_release(&l, -1), -1, "negative");
	cr_expect_eq(lock_release(&l, 3), -1, "past the end");
	cr_expect_eq(lock_held(&l, 99), 0);
	cr_assert_eq(lock_try_acquire(&l, &slot), 0);
	cr_expect_eq(lock_release(&l, slot), 0);
	cr_expect_eq(lock_release(&l, slot), -1, "double release");
	cr_expect_eq(lock_busy(&l), 0);
}

/* Concurrent acquire/release: a slot never has two holders. */
#define CT_THREADS	8
#define CT_ROUNDS	20000
#define CT_SLOTS	3

struct contend {
	struct lock	 l;
	atomic_int	 holder[CT_SLOTS];
	atomic_int	 holding;
	atomic_int	 excess;
	atomic_long	 acquired;
};

static void *
contend_main(void *arg)
{
	struct contend	*c = arg;
	int		 i, slot, n;

	for (i = 0; i < CT_ROUNDS; i++) {
		if (lock_try_acquire(&c->l, &slot) == -1)
			continue;
		if (atomic_fetch_add(&c->holder[slot], 1) != 0)
			atomic_fetch_add(&c->excess, 1);
		n = atomic_fetch_add(&c->holding, 1) + 1;
		if (n > CT_SLOTS)
			atomic_fetch_add(&c->excess, 1);
		atomic_fetch_add(&c->acquired, 1);
		atomic_fetch_sub(&c->holding, 1);
		atomic_fetch_sub(&c->holder[slot], 1);
		if (lock_release(&c->l, slot) != 0)
			atomic_fetch_add(&c->excess, 1);
	}
	return NULL;
}

Test(lock, concurrent_no_double_holder)
{
	static struct contend	 c;
	pthread_t		 t[CT_THREADS];
	int			 i;

	memset(&c, 0, sizeof(c));
	cr_assert_eq(lock_init(&c.l, CT_SLOTS), 0);
	for (i = 0; i < CT_THREADS; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, contend_main, &c), 0);
	for (i = 0; i < CT_THREADS; i++)
		pthread_join(t[i], NULL);
	cr_expect_eq(atomic_load(&c.excess), 0, "slot held twice");
	cr_expect_gt(atomic_load(&c.acquired), 0);
	cr_expect_eq(lock_busy(&c.l), 0);
}
