/*
 * fcgi_rec: the FastCGI record layer, without a socket. A parser that is
 * fed a connection's bytes as they arrive and collects one request (its
 * PARAMS as "NAME=value" strings, its STDIN) within byte limits, and
 * answers the records a responder answers by itself: FCGI_GET_VALUES,
 * unknown management types, roles other than RESPONDER, a second request
 * on the connection (no multiplexing), FCGI_ABORT_REQUEST. And writers of
 * STDOUT and END_REQUEST records.
 *
 * The server feeds it what each read of a connection brought (libfcgi
 * cannot be fed from a buffer), so that a partial request never holds a
 * thread; a feed stops at a request's end and says how much it used, the
 * rest being the next request's. A parser belongs to one thread at a
 * time; nothing here is shared.
 */
#ifndef SLUICE_FCGI_REC_H
#define SLUICE_FCGI_REC_H

#include <stddef.h>

#include "buf.h"

#define FCGI_REC_HEADER_LEN	8
#define FCGI_REC_MAX_CONTENT	65535	/* a record's content, at most */

/* Record types (FastCGI 1.0, section 8). */
enum {
	FCGI_REC_BEGIN_REQUEST = 1, FCGI_REC_ABORT_REQUEST = 2,
	FCGI_REC_END_REQUEST = 3, FCGI_REC_PARAMS = 4, FCGI_REC_STDIN = 5,
	FCGI_REC_STDOUT = 6, FCGI_REC_STDERR = 7, FCGI_REC_DATA = 8,
	FCGI_REC_GET_VALUES = 9, FCGI_REC_GET_VALUES_RESULT = 10,
	FCGI_REC_UNKNOWN_TYPE = 11
};

/* END_REQUEST protocolStatus values. */
enum {
	FCGI_REC_REQUEST_COMPLETE = 0, FCGI_REC_CANT_MPX_CONN = 1,
	FCGI_REC_OVERLOADED = 2, FCGI_REC_UNKNOWN_ROLE = 3
};

struct fcgi_rec_limits {
	size_t		 params_max;	/* PARAMS content bytes kept */
	size_t		 stdin_max;	/* STDIN bytes kept */
	int		 max_conns;	/* FCGI_MAX_CONNS answered */
	int		 max_reqs;	/* FCGI_MAX_REQS answered */
};

/* The request collected, valid from FCGI_REC_READY to fcgi_rec_reset. */
struct fcgi_rec_req {
	unsigned	 id;
	int		 keep_conn;	/* FCGI_KEEP_CONN: keep it open after */
	char		**envp;		/* "NAME=value", NULL-terminated */
	int		 params_over;	/* PARAMS passed params_max: envp is
					   empty */
	struct buf	 body;		/* the first stdin_max bytes of STDIN */
	size_t		 stdin_total;	/* STDIN bytes received */
	size_t		 stdin_max;	/* the limit it was read under */
};

struct fcgi_rec_parser {
	struct fcgi_rec_limits	 lim;
	unsigned char		 hdr[FCGI_REC_HEADER_LEN];
	size_t			 hdr_got;
	int			 type;		/* the record being read */
	unsigned		 id;
	size_t			 clen, plen, got;
	int			 active;	/* a request is open */
	int			 ready;		/* ... and whole */
	int			 params_done;
	unsigned char		 begin[8];	/* BEGIN_REQUEST's body */
	struct buf		 params;	/* PARAMS content so far */
	struct buf		 mgmt;		/* GET_VALUES content so far */
	struct fcgi_rec_req	 req;
	struct buf		 out;		/* answers for the caller to
						   write (then buf_reset) */
};

enum fcgi_rec_status {
	FCGI_REC_MORE,		/* fed all; feed more */
	FCGI_REC_READY,		/* a whole request: see p->req */
	FCGI_REC_CLOSE		/* write p->out, then close: the peer broke
				   the protocol or asked for no more */
};

void	 fcgi_rec_init(struct fcgi_rec_parser *, const struct fcgi_rec_limits *);
void	 fcgi_rec_free(struct fcgi_rec_parser *);
/*
 * Forgets the request (after answering it) and takes limits for the next
 * one (NULL: the same). The out buffer is kept.
 */
void	 fcgi_rec_reset(struct fcgi_rec_parser *, const struct fcgi_rec_limits *);

/*
 * How many bytes to read next: never past the end of a request (its empty
 * STDIN record), so the bytes after it stay in the socket for the next
 * turn. Always > 0 unless READY.
 */
size_t	 fcgi_rec_want(const struct fcgi_rec_parser *);

/*
 * 1 when no request is open and no record is half read: the connection
 * is idle between requests.
 */
int	 fcgi_rec_idle(const struct fcgi_rec_parser *);

/*
 * Feeds len bytes. Sets *used to the bytes consumed (len unless READY or
 * CLOSE came first) and returns the status. Answers to append go to
 * p->out in every case (also on CLOSE). After READY, feed again only
 * after fcgi_rec_reset. Out of memory is CLOSE.
 */
enum fcgi_rec_status fcgi_rec_feed(struct fcgi_rec_parser *, const void *,
	    size_t len, size_t *used);

/* Fills h with a record header (version 1, no padding); clen <= 65535. */
void	 fcgi_rec_header(unsigned char h[FCGI_REC_HEADER_LEN], int type,
	    unsigned id, size_t clen);
/*
 * Appends len bytes as records of type, each at most 65535 bytes; len 0
 * appends the one empty record that ends a stream.
 */
void	 fcgi_rec_put(struct buf *, int type, unsigned id, const void *,
	    size_t len);
/* Appends END_REQUEST (appStatus 0) with protocol_status. */
void	 fcgi_rec_put_end(struct buf *, unsigned id, int protocol_status);

#endif
