/*
 * http: the request and response of one FastCGI exchange, independent of
 * libfcgi so that handlers can be tested (and fuzzed) without a socket.
 *
 * A request's params are copied out of libfcgi's envp at once (envp dies
 * with FCGX_Finish_r); its body is read by the server up to max_body.
 * A response is built in memory (status, headers, body) and written in one
 * go. Neither is shared between threads.
 */
#ifndef SLUICE_HTTP_H
#define SLUICE_HTTP_H

#include <stddef.h>
#include <stdio.h>

#include "buf.h"
#include "form.h"

struct http_req {
	char		 *method;	/* "GET", ...; never NULL after init */
	char		 *path;		/* raw path, no query; never NULL */
	char		 *query;	/* raw query string, "" when none */
	char		 *content_type;	/* NULL when absent */
	char		 *accept;	/* NULL when absent */
	char		 *session;	/* SLUICE_SESSION, NULL when absent */
	char		 *csrf_header;	/* X-CSRF-Token, NULL when absent */
	char		 *remote_addr;
	char		 *content_length; /* raw CONTENT_LENGTH or NULL */
	char		 *body;		/* NUL-terminated, NULL when none */
	size_t		  body_len;
	struct form	  form;		/* parsed body (POST urlencoded) */
};

struct http_resp {
	int		 status;
	struct buf	 headers;	/* "Name: value\r\n" lines */
	struct buf	 body;
	int		 has_type;	/* Content-Type already set */
	FILE		*file;		/* body streamed from this file, or NULL */
	size_t		 file_len;	/* its size when it was opened */
};

/*
 * Copies the params the application uses out of a FastCGI envp
 * ("NAME=value" strings, NULL-terminated). Returns 0, or -1 on ENOMEM
 * (req is then safe to http_req_free).
 */
int	http_req_init(struct http_req *, char **envp);
void	http_req_free(struct http_req *);

/*
 * Validates CONTENT_LENGTH against max_body before anything is read.
 * Returns 0 and sets *len (0 when absent: an empty body), or an HTTP
 * status (400 malformed or negative, 413 too large) with a message for
 * the client in err.
 */
int	http_body_length(const struct http_req *, long max_body, size_t *len,
	    char *err, size_t errlen);

/* 1 when the client asked for JSON (Accept names application/json). */
int	http_wants_json(const struct http_req *);

void	http_resp_init(struct http_resp *);
void	http_resp_free(struct http_resp *);
/*
 * Adds a header. Refuses (returns -1, adds nothing) a name or value with
 * CR, LF or NUL, so no input can split a response.
 */
int	http_resp_header(struct http_resp *, const char *name, const char *value);
/* Sets status, Content-Type and replaces the body with a plain text message. */
void	http_resp_text(struct http_resp *, int status, const char *msg);
/* Sets status and a JSON error body {"error": msg}. */
void	http_resp_json_error(struct http_resp *, int status, const char *msg);
/*
 * Makes the body the contents of the file at path, streamed by the server
 * in chunks rather than held in memory (result images can be tens of MB).
 * The file is opened now, so that one removed afterwards (result
 * eviction) is still sent whole. Returns 0, or -1 when the file cannot be
 * opened as a regular file. http_resp_free closes it.
 */
int	http_resp_file(struct http_resp *, const char *path);
/* The same for the open file fd, which it takes (closed on failure too). */
int	http_resp_fd(struct http_resp *, int fd);

/* Sets 303 See Other to location. */
void	http_resp_redirect(struct http_resp *, const char *location);

/* The reason phrase of status ("Not Found"); "Unknown" for others. */
const char *http_reason(int status);

/*
 * The hardening headers of every answer, as header lines: pages load
 * scripts, styles and images from this origin only (no inline script or
 * style attribute can run or apply, so an injected one does nothing), may
 * not be framed, post forms only here; no response is sniffed into another
 * type; no URL (job ids) leaks to another site in a Referer. One string so
 * that the out-of-memory answer, built at compile time, carries them too.
 * nginx/sluice.conf and sluice-serve add the same to what nginx answers
 * itself (static files, its own error pages, event streams).
 */
#define HTTP_HARDENING_HEADERS \
	"Content-Security-Policy: default-src 'self'; img-src 'self' data:; " \
	    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'\r\n" \
	"X-Content-Type-Options: nosniff\r\n" \
	"Referrer-Policy: same-origin\r\n"

/*
 * Serializes the response (Status line, the hardening headers, headers, Content-Length, blank
 * line, body unless head_only) into out, in the CGI response form libfcgi
 * expects. With body_apart the body is left out too, for a caller that
 * writes it straight from the response (no copy). A file body
 * (http_resp_file) is never included: the caller streams it after out.
 */
void	http_resp_serialize(const struct http_resp *, int head_only,
	    int body_apart, struct buf *out);

#endif
