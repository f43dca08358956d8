/*
 * buf: a growable byte buffer, the one way Sluice builds text (HTML, JSON,
 * headers). Appends never fail loudly: on allocation failure the buffer is
 * marked (oom) and further appends are ignored, so a caller checks once at
 * the end with buf_ok(). Not thread-safe; a buffer belongs to one thread.
 */
#ifndef SLUICE_BUF_H
#define SLUICE_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct buf {
	char	*data;	/* NUL-terminated when len > 0 or after buf_cstr() */
	size_t	 len;
	size_t	 cap;
	int	 oom;	/* set once an append could not allocate */
};

void	 buf_init(struct buf *);
void	 buf_free(struct buf *);
void	 buf_reset(struct buf *);
int	 buf_ok(const struct buf *);
/* Returns the contents as a C string ("" when empty); owned by the buffer. */
const char *buf_cstr(struct buf *);
/* Hands the allocation to the caller (who frees it); the buffer is reset. */
char	*buf_take(struct buf *);

/* Makes room for n more bytes in one allocation; 0, or -1 (and oom). */
int	 buf_reserve(struct buf *, size_t n);
void	 buf_append(struct buf *, const void *, size_t);
void	 buf_puts(struct buf *, const char *);
void	 buf_putc(struct buf *, char);
void	 buf_printf(struct buf *, const char *, ...)
	    __attribute__((format(printf, 2, 3)));
void	 buf_vprintf(struct buf *, const char *, va_list);
/* HTML-escapes & < > " ' (as &amp; &lt; &gt; &quot; &#39;). */
void	 buf_html(struct buf *, const char *, size_t);
/* Appends s as a JSON string literal with quotes; NULL appends null. */
void	 buf_json_str(struct buf *, const char *s);
/* Appends a JSON number; non-finite values become null. */
void	 buf_json_num(struct buf *, double);

#endif
