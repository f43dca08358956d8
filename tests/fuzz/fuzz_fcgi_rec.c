/*
 * fuzz_fcgi_rec: a connection's bytes through the FastCGI record parser,
 * in reads of the sizes the first byte picks (respecting fcgi_rec_want or
 * not), as many requests as the input holds. Checks what the server
 * relies on: used never exceeds what was fed, a ready request has envp
 * and a body within its limit, READY and CLOSE stop the feed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_rec.h"

static const struct fcgi_rec_limits lim = {
	.params_max = 4096, .stdin_max = 512, .max_conns = 10, .max_reqs = 4
};

static void
check_ready(const struct fcgi_rec_parser *p)
{
	char	**e;

	if (p->req.envp == NULL || p->req.body.len > p->req.stdin_max ||
	    p->req.body.len > p->req.stdin_total || fcgi_rec_want(p) != 0)
		abort();
	for (e = p->req.envp; *e != NULL; e++)
		if (strchr(*e, '=') == NULL || **e == '=')
			abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fcgi_rec_parser	 p;
	enum fcgi_rec_status	 st;
	size_t			 at = 1, n, used, step;
	int			 wanting;

	if (size < 1)
		return 0;
	step = (data[0] & 0x7f) + 1;
	wanting = data[0] & 0x80;
	fcgi_rec_init(&p, &lim);
	while (at < size) {
		n = wanting ? fcgi_rec_want(&p) : step;
		if (n == 0 || n > size - at)
			n = size - at;
		st = fcgi_rec_feed(&p, data + at, n, &used);
		if (used > n || (st == FCGI_REC_MORE && used != n))
			abort();
		at += used;
		buf_reset(&p.out);
		if (st == FCGI_REC_CLOSE)
			break;
		if (st == FCGI_REC_READY) {
			check_ready(&p);
			fcgi_rec_reset(&p, NULL);
		}
	}
	fcgi_rec_free(&p);
	return 0;
}
