/*
 * kernel_impl: the registry of the kernels to run (kernel_list.h), and
 * the helpers every kernel shares to fill its result.
 */
#include "config.h"

#include <sched.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernel_int.h"
#include "kernel_list.h"
#include "kernel_run.h"

#define KERNEL_DECLARE(name)	extern const struct kernel kernel_##name;
#define KERNEL_ADDRESS(name)	&kernel_##name,

KERNEL_LIST(KERNEL_DECLARE)

static const struct kernel *const kernel_impls[] = {
	KERNEL_LIST(KERNEL_ADDRESS)
};

#define KERNEL_NIMPL	(sizeof(kernel_impls) / sizeof(kernel_impls[0]))

/* The hooks of the job running now (one per worker process). */
static _Atomic(const struct kernel_hooks *) kernel_hooks_now;

void
kernel_hooks_set(const struct kernel_hooks *h)
{
	atomic_store(&kernel_hooks_now, h);
}

void
kernel_progress(double fraction, const char *message)
{
	const struct kernel_hooks *h = atomic_load(&kernel_hooks_now);

	if (h != NULL && h->progress != NULL)
		h->progress(h->arg, fraction, message);
}

int
kernel_cancelled(void)
{
	const struct kernel_hooks *h = atomic_load(&kernel_hooks_now);

	return h != NULL && h->cancelled != NULL && h->cancelled(h->arg);
}

const struct kernel *
kernel_impl(const char *name)
{
	size_t	 i;

	if (name == NULL)
		return NULL;
	for (i = 0; i < KERNEL_NIMPL; i++)
		if (strcmp(kernel_impls[i]->spec->name, name) == 0)
			return kernel_impls[i];
	return NULL;
}

void
kernel_result_clear(struct kernel_result *res)
{
	if (res == NULL)
		return;
	free(res->json);
	free(res->png);
	memset(res, 0, sizeof(*res));
}

int
kernel_fail(struct kernel_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->error, sizeof(res->error), fmt, ap);
	va_end(ap);
	return -1;
}

int
kernel_result_json(struct kernel_result *res, const char *fmt, ...)
{
	va_list	 ap;
	char	*s = NULL;
	int	 n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return kernel_fail(res, "out of memory formatting the result");
	free(res->json);
	res->json = s;
	return 0;
}

int
kernel_cpu_threads(void)
{
	cpu_set_t	set;
	long		n;

	if (sched_getaffinity(0, sizeof(set), &set) == 0 &&
	    CPU_COUNT(&set) > 0)
		return CPU_COUNT(&set);
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n > 0 ? (int)(n > 1024 ? 1024 : n) : 1;
}
