/*
 * libFuzzer harness for the request front: the bytes are split into
 * FastCGI-like params (NAME=value lines), which go through http_req_init,
 * http_body_length and route_find exactly as the server uses them.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "route.h"

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct http_req		 req;
	struct route_match	 m;
	char			*copy, *line, *save, *envp[64];
	char			 allow[32], err[160];
	size_t			 n = 0, len;
	int			 st;

	if ((copy = malloc(size + 1)) == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	for (line = strtok_r(copy, "\n", &save); line != NULL && n < 63;
	    line = strtok_r(NULL, "\n", &save))
		envp[n++] = line;
	envp[n] = NULL;
	if (http_req_init(&req, envp) == 0) {
		st = route_find(req.method, req.path, &m, allow, sizeof(allow));
		if (st == 200) {
			if (strlen(m.arg) >= ROUTE_ARG_MAX)
				abort();
		} else if (st == 405) {
			if (allow[0] == '\0')
				abort();
		} else if (st != 404)
			abort();
		st = http_body_length(&req, 1024, &len, err, sizeof(err));
		if (st == 0 && len > 1024)
			abort();
	}
	http_req_free(&req);
	free(copy);
	return 0;
}
