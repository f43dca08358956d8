/*
 * libFuzzer harness for wmsg: wmsg_parse() on the input bytes as one
 * line from a worker. Checks invariants, not only crashes: a refused
 * line leaves the message empty with a reason; an accepted one has a
 * known type, a 32-byte job id unless it is ready, a fraction in 0..1
 * and at most 200 characters of progress text, file names that cannot
 * name a path, and a result that is a JSON object's text.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "wmsg.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static void
check(int cond)
{
	if (!cond)
		abort();
}

static size_t
chars(const char *s)
{
	size_t	 n = 0;

	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wmsg	 m;
	char		 err[200];
	size_t		 i;

	err[0] = '\0';
	if (wmsg_parse((const char *)data, size, &m, err, sizeof(err)) == -1) {
		check(err[0] != '\0' && m.result == NULL && m.nfiles == 0);
		return 0;
	}
	check(m.type <= WMSG_ERROR);
	check(m.type == WMSG_READY || strlen(m.job) == 32);
	if (m.type == WMSG_PROGRESS) {
		check(m.fraction >= 0 && m.fraction <= 1);
		check(m.message == NULL || chars(m.message) <= WMSG_MESSAGE_MAX);
	}
	if (m.type == WMSG_RESULT) {
		check(m.result != NULL && m.result[0] == '{');
		check(m.nfiles <= WMSG_FILES_MAX);
		for (i = 0; i < m.nfiles; i++) {
			check(strchr(m.files[i].name, '/') == NULL);
			check(strcmp(m.files[i].name, "..") != 0);
			check(m.files[i].path != NULL && m.files[i].type != NULL);
		}
	}
	if (m.type == WMSG_ERROR)
		check(m.error != NULL && strlen(m.error) <= WMSG_ERROR_MAX);
	wmsg_free(&m);
	return 0;
}
