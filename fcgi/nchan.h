/*
 * nchan: a client of nginx's nchan publisher location, the little HTTP/1.1
 * it needs: POST /pub/CHANNEL (a message, with its EventSource event name),
 * DELETE /pub/CHANNEL (the channel's end: nchan closes its subscribers)
 * and GET /pub/CHANNEL (what it holds), over one kept connection to a unix socket or a loopback
 * TCP port. Blocking, with short timeouts: it runs on the publisher thread
 * only (app_events.c), never on a responder or scheduler thread.
 *
 * Not thread-safe: one struct nchan belongs to one thread.
 */
#ifndef SLUICE_NCHAN_H
#define SLUICE_NCHAN_H

#include <stddef.h>

#define NCHAN_TIMEOUT_MS	1000	/* per send or receive */

struct nchan;

/*
 * A client for addr, "unix:/path" or "HOST:PORT" (not connected yet: the
 * first call connects). NULL on ENOMEM or a malformed address.
 */
struct nchan	*nchan_new(const char *addr);
void		 nchan_free(struct nchan *);

/*
 * Publishes data[0..len) to channel (lowercase hex) as an EventSource
 * message of type event. Returns the HTTP status (201 or 202: delivered
 * or stored), or -1 with the reason in err when nginx could not be
 * reached or answered garbage (the connection is dropped; the next call
 * connects again).
 */
int		 nchan_publish(struct nchan *, const char *channel,
		    const char *event, const char *data, size_t len,
		    char *err, size_t errlen);

/* Deletes channel: its subscribers' streams end. Status or -1, as above. */
int		 nchan_delete(struct nchan *, const char *channel, char *err,
		    size_t errlen);

/*
 * How many messages channel holds (0 when nchan has no such channel), or
 * -1 with err, as above.
 */
int		 nchan_queued(struct nchan *, const char *channel, char *err,
		    size_t errlen);

/*
 * Parses the response at buf[0..len): its status into *status and its
 * whole length (head and body) into *used. Returns 1 when complete, 0
 * when more bytes are needed, -1 when it is not HTTP/1.x or too large.
 * Exposed for the unit tests and the fuzz harness.
 */
int		 nchan_parse_response(const char *buf, size_t len, int *status,
		    size_t *used);

#endif
