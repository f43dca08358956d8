/*
 * server internals, shared by server.c (start, signals, reload, stop) and
 * server_io.c (connections: the event loop and the responder threads).
 *
 * Connections. Every responder thread waits in one shared epoll set
 * holding the listening socket and every connection not in hand
 * (EPOLLONESHOT: one thread at a time has a connection). The thread that
 * takes a connection's event reads it without blocking (fcgi_rec) and,
 * once a request is whole, answers it itself: no hand-off to another
 * thread (a wake-up per request was a fifth of the responder's CPU,
 * issue 16). A request must be whole within SERVER_REQUEST_DEADLINE_S of
 * its first byte; a partial one goes back to the epoll set, on the
 * reading list, and holds no thread. So a thread is only ever busy
 * reading what has arrived or answering a complete request: not with an
 * idle kept connection (nginx's fastcgi_keep_conn: these have no
 * deadline and cost no thread, DESIGN.md), and not with a partial
 * request from a peer that stopped halfway or trickles bytes (closed at
 * the deadline, holding no thread meanwhile).
 *
 * Memory: a request keeps at most SERVER_PARAMS_MAX bytes of params and
 * the config's max_request_body of body, and about server_pending_max()
 * requests (plus one per thread, as threads look at once) are between
 * their first byte and their answer's end; beyond that, connections
 * whose next request starts wait unread (parked) until one ends. At most
 * conns_max connections are open. A connection is read once per turn,
 * as much as has come (one system call a request from nginx, not a peek
 * then a read: issue 16); bytes past its request's end, which only a
 * peer sending before its answer has (nginx does not), wait in its in
 * buffer (at most SERVER_SCRATCH bytes) and are fed before the socket.
 *
 * Who owns what: a connection belongs to the thread that took its event
 * (or unparked it), to the epoll set while armed, or to the parked list.
 * The reading and parked lists are under iolock. A thread looking for
 * expired requests never closes a connection it does not own (it may be
 * in another thread's hands): it marks it expired and shuts its socket
 * down, which wakes its owner (or the epoll set) to close it.
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
/* Each thread's read buffer: a record, its padding, a header. */
#define SERVER_SCRATCH		(FCGI_REC_MAX_CONTENT + 255 + \
				    FCGI_REC_HEADER_LEN)
/* Seconds a responder waits for a peer to take the answer's bytes. */
#define SERVER_WRITE_TIMEOUT_S		60

enum conn_state {
	CONN_IDLE,	/* between requests */
	CONN_READING,	/* a request started, not whole yet */
	CONN_PARKED,	/* its request started, the bound is reached */
	CONN_SERVING	/* a thread answers it */
};

struct conn {
	int			 fd;
	enum conn_state		 state;		/* its owner's */
	int64_t			 deadline;	/* CONN_READING: mono ns */
	int			 broken;	/* a write failed: not kept */
	atomic_int		 listed;	/* on reading (iolock) */
	atomic_int		 expired;	/* past its deadline */
	struct fcgi_rec_parser	 p;
	struct buf		 in;		/* read past its request's end,
						   fed before the socket */
	TAILQ_ENTRY(conn)	 entry;		/* reading or parked */
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
	/* Partial requests and parked connections. */
	pthread_mutex_t		 iolock;
	struct conn_list	 reading;	/* by deadline, oldest first */
	struct conn_list	 parked;
	unsigned long		 expired;	/* closed at the deadline */
	atomic_int		 accept_fails;
	/* Counters. */
	atomic_int		 pending;	/* reading or serving */
	atomic_int		 nparked;
	atomic_int		 nreading;	/* on the reading list */
	atomic_int		 nconns;
	int			 conns_max;
	/* conns[fd]: every open connection, closed at the end. */
	_Atomic(struct conn *)	*conns;
	int			 nfds;
};

/* A responder thread's loop; returns once s->stop_fd is readable. */
void	*server_io_main(void *);
/* Requests in progress allowed at once under the current config. */
int	 server_pending_max(struct server *);
/* Closes every connection left (after every thread is joined). */
void	 server_close_all(struct server *);

#endif
