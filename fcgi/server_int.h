/*
 * server internals, shared by server.c (start, signals, reload, stop) and
 * server_io.c (connections: the event loop and the responder threads).
 *
 * Connections. One event thread owns an epoll set holding the listening
 * socket and every connection that is not being answered. It accepts,
 * and reads each request to its end without blocking (fcgi_rec), within
 * SERVER_REQUEST_DEADLINE_S of the request's first byte; only a whole
 * request goes to the ready queue, where a responder thread takes it,
 * answers it and hands the connection back to the epoll set (EPOLLONESHOT:
 * the event thread sees it again when its next request starts). So a
 * responder thread is only ever busy answering a complete request: not
 * with an idle kept connection (nginx's fastcgi_keep_conn: these have no
 * deadline and cost no thread, DESIGN.md), and not with a partial request
 * from a peer that stopped halfway or trickles bytes (closed at the
 * deadline, holding no thread meanwhile).
 *
 * Memory: a request keeps at most SERVER_PARAMS_MAX bytes of params and
 * the config's max_request_body of body, and at most server_pending_max()
 * requests are between their first byte and their answer's end; beyond
 * that, connections whose next request starts wait unread (parked) until
 * one ends. At most conns_max connections are open.
 *
 * Who owns what: a connection belongs to the event thread while idle,
 * reading or parked (the reading and parked lists are its own, no lock),
 * to the ready queue (qlock) while queued, and to one responder while
 * answered. The counters are atomics because responders lower them.
 */
#ifndef SLUICE_SERVER_INT_H
#define SLUICE_SERVER_INT_H

#include <sys/queue.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "app.h"
#include "fcgi_rec.h"
#include "sched.h"
#include "server.h"

/* Seconds from a request's first byte to its last before it is closed. */
#define SERVER_REQUEST_DEADLINE_S	5
/* Bytes of FastCGI params a request may have (nginx sends a few KB). */
#define SERVER_PARAMS_MAX		(64 * 1024)
/* Bytes that requests in progress may hold together, for the bound. */
#define SERVER_PENDING_BYTES		(256L * 1024 * 1024)
/* The event thread's read buffer: a record, its padding, a header. */
#define SERVER_SCRATCH		(FCGI_REC_MAX_CONTENT + 255 + \
				    FCGI_REC_HEADER_LEN)
/* Seconds a responder waits for a peer to take the answer's bytes. */
#define SERVER_WRITE_TIMEOUT_S		60

enum conn_state {
	CONN_IDLE,	/* in epoll, between requests */
	CONN_READING,	/* in epoll and on the reading list */
	CONN_PARKED,	/* its request started, the bound is reached */
	CONN_QUEUED,	/* whole, on the ready queue */
	CONN_SERVING	/* a responder answers it */
};

struct conn {
	int			 fd;
	enum conn_state		 state;
	int64_t			 deadline;	/* CONN_READING: mono ns */
	int			 broken;	/* a write failed: not kept */
	struct fcgi_rec_parser	 p;
	TAILQ_ENTRY(conn)	 entry;		/* reading, parked or ready */
};
TAILQ_HEAD(conn_list, conn);

struct server {
	struct app		*app;
	struct sched		*sched;
	const struct server_opts *opts;
	int			 listen_fd;
	int			 listen_tcp;	/* TCP: no Nagle on connections */
	int			 epfd;
	int			 stop_fd;	/* eventfd, readable once stopping */
	int			 wake_fd;	/* eventfd: a slot freed, parked
						   connections may go on */
	int			 quiet;
	int			 threads;
	atomic_int		 stopping;
	/* The ready queue. */
	pthread_mutex_t		 qlock;
	pthread_cond_t		 qcond;
	struct conn_list	 ready;
	/* The event thread's own. */
	struct conn_list	 reading;	/* by deadline, oldest first */
	struct conn_list	 parked;
	int			 accept_fails;
	unsigned long		 expired;	/* closed at the deadline */
	char			*scratch;	/* SERVER_SCRATCH bytes */
	/* Counters. */
	atomic_int		 pending;	/* reading, queued or serving */
	atomic_int		 nparked;
	atomic_int		 nconns;
	int			 conns_max;
	/* conns[fd]: every open connection, closed at the end. */
	_Atomic(struct conn *)	*conns;
	int			 nfds;
};

/* The event thread's loop; returns once s->stop_fd is readable. */
void	*server_io_main(void *);
/* A responder thread's loop; returns once s->stopping is set. */
void	*server_responder_main(void *);
/* Requests in progress allowed at once under the current config. */
int	 server_pending_max(struct server *);
/* Closes every connection left (after every thread is joined). */
void	 server_close_all(struct server *);

#endif
