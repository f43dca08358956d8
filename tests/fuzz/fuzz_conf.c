/*
 * fuzz_conf: libFuzzer harness for the config loader. Every input, valid or
 * not, must come back as a config or an error message, without a crash, a
 * leak or undefined behaviour; a refusal must say "NAME:" first.
 *
 * Build (from the top of the tree; kernel_find comes from libkernels or a
 * stub that knows "burn", "mandelbrot" and "sgemm"):
 *   clang -g -O1 -std=gnu11 -D_GNU_SOURCE -fsanitize=fuzzer,address,undefined \
 *     -Ifcgi -Ikernels tests/fuzz/fuzz_conf.c fcgi/conf*.c KERNELS \
 *     $(pkg-config --cflags --libs libconfig) -lm -o fuzz_conf
 *   ./fuzz_conf -max_total_time=60 tests/fuzz/corpus/conf
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "conf.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conf	*c;
	char		*text, err[512];
	size_t		 i;

	if (size > 64 * 1024)
		return 0;
	if ((text = malloc(size + 1)) == NULL)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';
	c = conf_load_string(text, "fuzz.conf", err, sizeof(err));
	if (c == NULL) {
		if (strncmp(err, "fuzz.conf:", 10) != 0)
			abort();
	} else {
		/* Whatever loaded must be consistent. */
		for (i = 0; i < c->ntasks; i++) {
			if (c->tasks[i].nlocks == 0 ||
			    c->tasks[i].lock_index[0] >= c->nlocks)
				abort();
			if (conf_find_task(c, c->tasks[i].name) == NULL)
				abort();
		}
		for (i = 0; i < c->nlocks; i++)
			if (c->locks[i].slots < 1 ||
			    c->locks[i].slots > CONF_MAX_SLOTS)
				abort();
	}
	conf_free(c);
	free(text);
	return 0;
}
