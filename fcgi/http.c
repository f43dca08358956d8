/* http: request params, body length checks and response building. */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "http.h"

/* Returns a copy of the value of NAME in envp, or NULL; *oom on ENOMEM. */
static char *
env_dup(char **envp, const char *name, int *oom)
{
	size_t	 n = strlen(name);
	char	*v;

	for (; envp != NULL && *envp != NULL; envp++) {
		if (strncmp(*envp, name, n) != 0 || (*envp)[n] != '=')
			continue;
		if ((v = strdup(*envp + n + 1)) == NULL)
			*oom = 1;
		return v;
	}
	return NULL;
}

int
http_req_init(struct http_req *r, char **envp)
{
	int	 oom = 0;
	char	*uri, *q;

	memset(r, 0, sizeof(*r));
	r->method = env_dup(envp, "REQUEST_METHOD", &oom);
	r->content_type = env_dup(envp, "CONTENT_TYPE", &oom);
	r->accept = env_dup(envp, "HTTP_ACCEPT", &oom);
	r->session = env_dup(envp, "SLUICE_SESSION", &oom);
	r->csrf_header = env_dup(envp, "HTTP_X_CSRF_TOKEN", &oom);
	r->remote_addr = env_dup(envp, "REMOTE_ADDR", &oom);
	r->content_length = env_dup(envp, "CONTENT_LENGTH", &oom);
	r->query = env_dup(envp, "QUERY_STRING", &oom);
	/*
	 * The path is taken from REQUEST_URI (raw, still percent-encoded) so
	 * that an encoded slash stays distinguishable from a real one;
	 * DOCUMENT_URI is nginx's decoded form and would hide it.
	 */
	uri = env_dup(envp, "REQUEST_URI", &oom);
	if (uri == NULL)
		uri = env_dup(envp, "SCRIPT_NAME", &oom);
	if (uri != NULL && (q = strchr(uri, '?')) != NULL) {
		if (r->query == NULL && (r->query = strdup(q + 1)) == NULL)
			oom = 1;
		*q = '\0';
	}
	r->path = uri;
	if (r->method == NULL && (r->method = strdup("GET")) == NULL)
		oom = 1;
	if (r->path == NULL && (r->path = strdup("/")) == NULL)
		oom = 1;
	if (r->query == NULL && (r->query = strdup("")) == NULL)
		oom = 1;
	return oom ? -1 : 0;
}

void
http_req_free(struct http_req *r)
{
	free(r->method);
	free(r->path);
	free(r->query);
	free(r->content_type);
	free(r->accept);
	free(r->session);
	free(r->csrf_header);
	free(r->remote_addr);
	free(r->content_length);
	free(r->body);
	form_free(&r->form);
	memset(r, 0, sizeof(*r));
}

int
http_body_length(const struct http_req *r, long max_body, size_t *len,
    char *err, size_t errlen)
{
	const char	*s = r->content_length;
	char		*end;
	long long	 v;

	*len = 0;
	/*
	 * No Content-Length means an empty body (RFC 9112 section 6.3);
	 * nginx fills it in for chunked bodies, which it buffers first.
	 */
	if (s == NULL || *s == '\0')
		return 0;
	if (*s < '0' || *s > '9') {
		snprintf(err, errlen, "Content-Length must be a non-negative integer");
		return 400;
	}
	errno = 0;
	v = strtoll(s, &end, 10);
	if (*end != '\0') {
		snprintf(err, errlen, "Content-Length must be a non-negative integer");
		return 400;
	}
	if (errno == ERANGE || v > max_body) {
		snprintf(err, errlen, "request body larger than %ld bytes", max_body);
		return 413;
	}
	*len = (size_t)v;
	return 0;
}

int
http_wants_json(const struct http_req *r)
{
	return r->accept != NULL && strstr(r->accept, "application/json") != NULL;
}

void
http_resp_init(struct http_resp *p)
{
	p->status = 200;
	p->has_type = 0;
	p->file = NULL;
	p->file_len = 0;
	buf_init(&p->headers);
	buf_init(&p->body);
}

void
http_resp_free(struct http_resp *p)
{
	if (p->file != NULL)
		fclose(p->file);
	p->file = NULL;
	buf_free(&p->headers);
	buf_free(&p->body);
}

int
http_resp_header(struct http_resp *p, const char *name, const char *value)
{
	if (strpbrk(name, "\r\n:") != NULL || strpbrk(value, "\r\n") != NULL)
		return -1;
	if (strcasecmp(name, "Content-Type") == 0)
		p->has_type = 1;
	buf_printf(&p->headers, "%s: %s\r\n", name, value);
	return 0;
}

void
http_resp_text(struct http_resp *p, int status, const char *msg)
{
	p->status = status;
	if (!p->has_type)
		http_resp_header(p, "Content-Type", "text/plain; charset=utf-8");
	buf_reset(&p->body);
	buf_puts(&p->body, msg);
	buf_putc(&p->body, '\n');
}

void
http_resp_json_error(struct http_resp *p, int status, const char *msg)
{
	p->status = status;
	if (!p->has_type)
		http_resp_header(p, "Content-Type", "application/json");
	buf_reset(&p->body);
	buf_puts(&p->body, "{\"error\":");
	buf_json_str(&p->body, msg);
	buf_puts(&p->body, "}\n");
}

int
http_resp_file(struct http_resp *p, const char *path)
{
	int	 fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
		return -1;
	return http_resp_fd(p, fd);
}

int
http_resp_fd(struct http_resp *p, int fd)
{
	struct stat	 st;
	FILE		*f;

	if ((f = fdopen(fd, "rb")) == NULL) {
		close(fd);
		return -1;
	}
	if (fstat(fileno(f), &st) == -1 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return -1;
	}
	if (p->file != NULL)
		fclose(p->file);
	p->file = f;
	p->file_len = (size_t)st.st_size;
	buf_reset(&p->body);
	return 0;
}

void
http_resp_redirect(struct http_resp *p, const char *location)
{
	p->status = 303;
	if (http_resp_header(p, "Location", location) == -1)
		http_resp_header(p, "Location", "/");
	if (!p->has_type)
		http_resp_header(p, "Content-Type", "text/plain; charset=utf-8");
	buf_reset(&p->body);
	buf_puts(&p->body, "See Other\n");
}

const char *
http_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 303: return "See Other";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 411: return "Length Required";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Unknown";
	}
}

void
http_resp_serialize(const struct http_resp *p, int head_only, int body_apart,
    struct buf *out)
{
	buf_printf(out, "Status: %d %s\r\n", p->status, http_reason(p->status));
	buf_puts(out, HTTP_HARDENING_HEADERS);
	if (p->headers.len > 0)
		buf_append(out, p->headers.data, p->headers.len);
	if (!p->has_type)
		buf_puts(out, "Content-Type: text/plain; charset=utf-8\r\n");
	buf_printf(out, "Content-Length: %zu\r\n\r\n",
	    p->file != NULL ? p->file_len : p->body.len);
	if (!head_only && p->file == NULL && p->body.len > 0 && !body_apart)
		buf_append(out, p->body.data, p->body.len);
}
