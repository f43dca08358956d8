/* fcgi_rec: FastCGI records in and out, without a socket. See fcgi_rec.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fcgi_rec.h"

#define FCGI_REC_VERSION	1
#define FCGI_REC_RESPONDER	1
#define FCGI_REC_KEEP_CONN	1

void
fcgi_rec_init(struct fcgi_rec_parser *p, const struct fcgi_rec_limits *lim)
{
	memset(p, 0, sizeof(*p));
	p->lim = *lim;
	buf_init(&p->params);
	buf_init(&p->mgmt);
	buf_init(&p->req.body);
	buf_init(&p->out);
}

void
fcgi_rec_free(struct fcgi_rec_parser *p)
{
	buf_free(&p->params);
	buf_free(&p->mgmt);
	buf_free(&p->req.body);
	buf_free(&p->out);
	free(p->req.envp);
	p->req.envp = NULL;
}

/* Forgets the open request, keeping the record being read. */
static void
drop_request(struct fcgi_rec_parser *p)
{
	buf_free(&p->params);
	buf_free(&p->req.body);
	free(p->req.envp);
	memset(&p->req, 0, sizeof(p->req));
	buf_init(&p->req.body);
	p->active = p->params_done = 0;
}

void
fcgi_rec_reset(struct fcgi_rec_parser *p, const struct fcgi_rec_limits *lim)
{
	drop_request(p);
	buf_free(&p->mgmt);
	p->hdr_got = p->clen = p->plen = p->got = 0;
	p->ready = 0;
	if (lim != NULL)
		p->lim = *lim;
}

/* 1 when the current record is the empty STDIN that ends the request. */
static int
ends_request(const struct fcgi_rec_parser *p)
{
	return p->active && p->params_done && p->type == FCGI_REC_STDIN &&
	    p->id == p->req.id && p->clen == 0;
}

size_t
fcgi_rec_want(const struct fcgi_rec_parser *p)
{
	if (p->ready)
		return 0;
	if (p->hdr_got < FCGI_REC_HEADER_LEN)
		return FCGI_REC_HEADER_LEN - p->hdr_got;
	/* The rest of this record and, unless it ends the request, the
	 * next header: one read per record. */
	return p->clen + p->plen - p->got +
	    (ends_request(p) ? 0 : FCGI_REC_HEADER_LEN);
}

int
fcgi_rec_idle(const struct fcgi_rec_parser *p)
{
	return !p->active && p->hdr_got == 0;
}

void
fcgi_rec_header(unsigned char h[FCGI_REC_HEADER_LEN], int type, unsigned id,
    size_t clen)
{
	h[0] = FCGI_REC_VERSION;
	h[1] = (unsigned char)type;
	h[2] = (unsigned char)(id >> 8);
	h[3] = (unsigned char)id;
	h[4] = (unsigned char)(clen >> 8);
	h[5] = (unsigned char)clen;
	h[6] = h[7] = 0;
}

void
fcgi_rec_put(struct buf *b, int type, unsigned id, const void *data,
    size_t len)
{
	const char	*c = data;
	unsigned char	 h[FCGI_REC_HEADER_LEN];
	size_t		 n;

	do {
		n = len > FCGI_REC_MAX_CONTENT ? FCGI_REC_MAX_CONTENT : len;
		fcgi_rec_header(h, type, id, n);
		buf_append(b, h, sizeof(h));
		if (n > 0) {	/* c may be NULL when len is 0 */
			buf_append(b, c, n);
			c += n;
			len -= n;
		}
	} while (len > 0);
}

void
fcgi_rec_put_end(struct buf *b, unsigned id, int protocol_status)
{
	unsigned char	 body[8] = { 0, 0, 0, 0,
			    (unsigned char)protocol_status, 0, 0, 0 };

	fcgi_rec_put(b, FCGI_REC_END_REQUEST, id, body, sizeof(body));
}

/*
 * Reads one name-value pair of the n bytes at d from *at (section 3.4).
 * Returns 0 and advances *at, or -1 when the encoding runs past the end.
 */
static int
pair_length(const unsigned char *d, size_t n, size_t *at, size_t *len)
{
	if (*at >= n)
		return -1;
	if (d[*at] < 0x80) {
		*len = d[(*at)++];
		return 0;
	}
	if (n - *at < 4)
		return -1;
	*len = (size_t)(d[*at] & 0x7f) << 24 | (size_t)d[*at + 1] << 16 |
	    (size_t)d[*at + 2] << 8 | d[*at + 3];
	*at += 4;
	return 0;
}

struct pair {
	const char	*name, *value;
	size_t		 nlen, vlen;
};

static int
pair_next(const unsigned char *d, size_t n, size_t *at, struct pair *pr)
{
	if (pair_length(d, n, at, &pr->nlen) == -1 ||
	    pair_length(d, n, at, &pr->vlen) == -1 ||
	    pr->nlen > n - *at || pr->vlen > n - *at - pr->nlen)
		return -1;
	pr->name = (const char *)d + *at;
	pr->value = pr->name + pr->nlen;
	*at += pr->nlen + pr->vlen;
	return 0;
}

/* A name an envp string can hold unambiguously ("NAME=value"). */
static int
name_ok(const struct pair *pr)
{
	return pr->nlen > 0 && memchr(pr->name, '=', pr->nlen) == NULL &&
	    memchr(pr->name, '\0', pr->nlen) == NULL;
}

/*
 * The PARAMS stream as envp: one allocation, the pointers first. Pairs
 * whose name has '=' or NUL are left out. 0, or -1 (malformed, no memory).
 */
static int
params_to_envp(struct fcgi_rec_parser *p)
{
	const unsigned char	*d = (const unsigned char *)p->params.data;
	size_t			 n = p->params.len, at = 0, count = 0, bytes = 0;
	struct pair		 pr;
	char			*s, **envp;

	while (at < n) {
		if (pair_next(d, n, &at, &pr) == -1)
			return -1;
		if (name_ok(&pr)) {
			count++;
			bytes += pr.nlen + pr.vlen + 2;
		}
	}
	if ((envp = malloc((count + 1) * sizeof(*envp) + bytes)) == NULL)
		return -1;
	s = (char *)(envp + count + 1);
	for (at = 0, count = 0; at < n;) {
		(void)pair_next(d, n, &at, &pr);
		if (!name_ok(&pr))
			continue;
		envp[count++] = s;
		memcpy(s, pr.name, pr.nlen);
		s[pr.nlen] = '=';
		memcpy(s + pr.nlen + 1, pr.value, pr.vlen);
		s[pr.nlen + 1 + pr.vlen] = '\0';
		s += pr.nlen + pr.vlen + 2;
	}
	envp[count] = NULL;
	p->req.envp = envp;
	buf_free(&p->params);
	return 0;
}

static void
put_pair(struct buf *b, const char *name, const char *value)
{
	buf_putc(b, (char)strlen(name));
	buf_putc(b, (char)strlen(value));
	buf_puts(b, name);
	buf_puts(b, value);
}

/*
 * FCGI_GET_VALUES: the values asked for that a responder knows, each
 * once, in GET_VALUES_RESULT. -1 when the pairs are malformed.
 */
static int
answer_get_values(struct fcgi_rec_parser *p)
{
	static const char *const names[] = {
		"FCGI_MAX_CONNS", "FCGI_MAX_REQS", "FCGI_MPXS_CONNS"
	};
	const unsigned char	*d = (const unsigned char *)p->mgmt.data;
	char			 vals[3][16];
	struct buf		 res;
	struct pair		 pr;
	size_t			 at = 0, i;
	unsigned		 done = 0;
	int			 rc = 0;

	snprintf(vals[0], sizeof(vals[0]), "%d", p->lim.max_conns);
	snprintf(vals[1], sizeof(vals[1]), "%d", p->lim.max_reqs);
	snprintf(vals[2], sizeof(vals[2]), "0");
	buf_init(&res);
	while (at < p->mgmt.len) {
		if (pair_next(d, p->mgmt.len, &at, &pr) == -1) {
			rc = -1;
			break;
		}
		for (i = 0; i < sizeof(names) / sizeof(names[0]); i++)
			if (!(done & 1u << i) && pr.nlen == strlen(names[i]) &&
			    memcmp(pr.name, names[i], pr.nlen) == 0) {
				put_pair(&res, names[i], vals[i]);
				done |= 1u << i;
			}
	}
	if (rc == 0)
		fcgi_rec_put(&p->out, FCGI_REC_GET_VALUES_RESULT, 0, res.data,
		    res.len);
	buf_free(&res);
	buf_free(&p->mgmt);
	return rc;
}

/* A whole management record (request id 0) arrived. */
static enum fcgi_rec_status
end_management(struct fcgi_rec_parser *p)
{
	unsigned char	 body[8] = { (unsigned char)p->type };

	if (p->type == FCGI_REC_GET_VALUES)
		return answer_get_values(p) == -1 ? FCGI_REC_CLOSE :
		    FCGI_REC_MORE;
	fcgi_rec_put(&p->out, FCGI_REC_UNKNOWN_TYPE, 0, body, sizeof(body));
	return FCGI_REC_MORE;
}

/* A whole BEGIN_REQUEST arrived. */
static enum fcgi_rec_status
end_begin(struct fcgi_rec_parser *p)
{
	unsigned	 role = (unsigned)p->begin[0] << 8 | p->begin[1];
	int		 keep = p->begin[2] & FCGI_REC_KEEP_CONN;

	if (p->clen != sizeof(p->begin))
		return FCGI_REC_CLOSE;
	if (p->active) {
		if (p->id == p->req.id)
			return FCGI_REC_CLOSE;	/* begun twice */
		fcgi_rec_put_end(&p->out, p->id, FCGI_REC_CANT_MPX_CONN);
		return FCGI_REC_MORE;
	}
	if (role != FCGI_REC_RESPONDER) {
		fcgi_rec_put_end(&p->out, p->id, FCGI_REC_UNKNOWN_ROLE);
		return keep ? FCGI_REC_MORE : FCGI_REC_CLOSE;
	}
	p->active = 1;
	p->req.id = p->id;
	p->req.keep_conn = keep;
	p->req.stdin_max = p->lim.stdin_max;
	return FCGI_REC_MORE;
}

/* The open request's ABORT_REQUEST: it ends, unanswered. */
static enum fcgi_rec_status
end_abort(struct fcgi_rec_parser *p)
{
	int	 keep = p->req.keep_conn;

	fcgi_rec_put_end(&p->out, p->id, FCGI_REC_REQUEST_COMPLETE);
	drop_request(p);
	return keep ? FCGI_REC_MORE : FCGI_REC_CLOSE;
}

static enum fcgi_rec_status
end_params(struct fcgi_rec_parser *p)
{
	if (p->clen > 0 || p->params_done)
		return FCGI_REC_MORE;	/* more to come, or stray: ignored */
	p->params_done = 1;
	if (p->req.params_over) {
		buf_free(&p->params);
		return (p->req.envp = calloc(1, sizeof(char *))) == NULL ?
		    FCGI_REC_CLOSE : FCGI_REC_MORE;
	}
	return params_to_envp(p) == -1 ? FCGI_REC_CLOSE : FCGI_REC_MORE;
}

static enum fcgi_rec_status
end_stdin(struct fcgi_rec_parser *p)
{
	if (!p->params_done)
		return FCGI_REC_CLOSE;	/* STDIN before the params ended */
	return p->clen == 0 ? FCGI_REC_READY : FCGI_REC_MORE;
}

/* Content bytes of the current record; kept where the type wants them. */
static void
on_content(struct fcgi_rec_parser *p, const char *d, size_t n)
{
	struct fcgi_rec_req	*r = &p->req;
	size_t			 room;

	if (p->id == 0) {
		if (p->type == FCGI_REC_GET_VALUES)
			buf_append(&p->mgmt, d, n);
		return;
	}
	if (p->type == FCGI_REC_BEGIN_REQUEST) {
		if (p->got < sizeof(p->begin))
			memcpy(p->begin + p->got, d, n < sizeof(p->begin) -
			    p->got ? n : sizeof(p->begin) - p->got);
		return;
	}
	if (!p->active || p->id != r->id)
		return;
	if (p->type == FCGI_REC_PARAMS && !p->params_done && !r->params_over) {
		if (n > p->lim.params_max - p->params.len) {
			r->params_over = 1;
			buf_free(&p->params);
		} else
			buf_append(&p->params, d, n);
	} else if (p->type == FCGI_REC_STDIN && p->params_done) {
		room = r->stdin_max - r->body.len;
		buf_append(&r->body, d, n < room ? n : room);
		r->stdin_total += n;
	}
}

/* What a whole record of the open request does, by type. */
static enum fcgi_rec_status (*const end_of[])(struct fcgi_rec_parser *) = {
	[FCGI_REC_ABORT_REQUEST] = end_abort,
	[FCGI_REC_PARAMS] = end_params,
	[FCGI_REC_STDIN] = end_stdin,
};

/* The current record is whole. */
static enum fcgi_rec_status
on_record_end(struct fcgi_rec_parser *p)
{
	if (!buf_ok(&p->params) || !buf_ok(&p->mgmt) || !buf_ok(&p->req.body))
		return FCGI_REC_CLOSE;
	if (p->id == 0)
		return end_management(p);
	if (p->type == FCGI_REC_BEGIN_REQUEST)
		return end_begin(p);
	/* Records of a request not open are ignored (section 3.3), and so
	 * are the types a responder is not sent. */
	if (!p->active || p->id != p->req.id ||
	    (size_t)p->type >= sizeof(end_of) / sizeof(end_of[0]) ||
	    end_of[p->type] == NULL)
		return FCGI_REC_MORE;
	return end_of[p->type](p);
}

/* The header is whole: checks it and starts the record. */
static enum fcgi_rec_status
on_header(struct fcgi_rec_parser *p)
{
	const unsigned char	*h = p->hdr;

	if (h[0] != FCGI_REC_VERSION)
		return FCGI_REC_CLOSE;
	p->type = h[1];
	p->id = (unsigned)h[2] << 8 | h[3];
	p->clen = (size_t)h[4] << 8 | h[5];
	p->plen = h[6];
	p->got = 0;
	return FCGI_REC_MORE;
}

enum fcgi_rec_status
fcgi_rec_feed(struct fcgi_rec_parser *p, const void *data, size_t len,
    size_t *used)
{
	const char		*d = data;
	enum fcgi_rec_status	 st = FCGI_REC_MORE;
	size_t			 n, at = 0, content;

	if (p->ready) {
		*used = 0;
		return FCGI_REC_READY;
	}
	while (at < len && st == FCGI_REC_MORE) {
		if (p->hdr_got < FCGI_REC_HEADER_LEN) {
			n = FCGI_REC_HEADER_LEN - p->hdr_got;
			n = n < len - at ? n : len - at;
			memcpy(p->hdr + p->hdr_got, d + at, n);
			p->hdr_got += n;
			at += n;
			if (p->hdr_got < FCGI_REC_HEADER_LEN ||
			    (st = on_header(p)) != FCGI_REC_MORE)
				continue;	/* an empty record ends below */
		} else {
			n = p->clen + p->plen - p->got;
			n = n < len - at ? n : len - at;
			content = p->got < p->clen ? p->clen - p->got : 0;
			on_content(p, d + at, n < content ? n : content);
			p->got += n;
			at += n;
		}
		if (p->got == p->clen + p->plen) {
			st = on_record_end(p);
			if (st == FCGI_REC_READY)
				p->ready = 1;
			else
				p->hdr_got = 0;
		}
	}
	*used = at;
	return st;
}
