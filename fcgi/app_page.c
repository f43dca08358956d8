/*
 * app_page: what every answer is made with: the page context, rendering
 * a template, error answers (page or JSON) and the JSON 400 builder.
 * See app_int.h.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "app_int.h"

struct tval *
app_page_context(const char *title)
{
	struct tval *ctx = tval_map();

	tval_set_str(ctx, "title", title);
	tval_set_str(ctx, "version", PACKAGE_VERSION);
	return ctx;
}

/*
 * Room a page body starts with: the app page is some 5-10 KiB, and growing
 * a buffer from nothing by doubling costs six reallocs and copies.
 */
#define APP_PAGE_CAP	16384

void
app_render_page(struct app *a, const char *name, struct tval *ctx,
    int status, struct http_resp *resp)
{
	buf_reset(&resp->body);
	buf_reserve(&resp->body, APP_PAGE_CAP);
	if (ctx == NULL || !tval_ok(ctx) ||
	    tmpl_render(a->tmpl, name, ctx, &resp->body) == -1 ||
	    !buf_ok(&resp->body)) {
		/* func= keeps the name the log has always carried. */
		fprintf(stderr, "level=error func=render_page template=%s "
		    "msg=\"render failed\"\n", name);
		http_resp_text(resp, 500, "internal error: page could not be "
		    "rendered");
		return;
	}
	app_page_headers(resp, status);
}

void
app_page_headers(struct http_resp *resp, int status)
{
	resp->status = status;
	http_resp_header(resp, "Content-Type", "text/html; charset=utf-8");
	http_resp_header(resp, "Cache-Control", "no-store");
}

static void
set_retry_after(struct http_resp *resp, int seconds)
{
	char v[24];

	snprintf(v, sizeof(v), "%d", seconds > 0 ? seconds : 1);
	http_resp_header(resp, "Retry-After", v);
}

/* An error about the body as a whole has "fields":{}. */
void
app_json_400_begin(struct http_resp *resp, const char *error)
{
	resp->status = 400;
	if (!resp->has_type)
		http_resp_header(resp, "Content-Type", "application/json");
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"error\":");
	buf_json_str(&resp->body, error);
	buf_puts(&resp->body, ",\"fields\":{");
}

void
app_json_400_field(struct http_resp *resp, int *n, const char *name,
    const char *message)
{
	if ((*n)++ > 0)
		buf_putc(&resp->body, ',');
	buf_json_str(&resp->body, name);
	buf_putc(&resp->body, ':');
	buf_json_str(&resp->body, message);
}

void
app_json_400_end(struct http_resp *resp)
{
	buf_puts(&resp->body, "}}\n");
}

void
app_field_error_answer(struct app *a, const struct http_req *req,
    const char *name, const char *message, struct http_resp *resp)
{
	char	 text[300];
	int	 n = 0;

	if (!http_wants_json(req)) {
		snprintf(text, sizeof(text), "%s: %s", name, message);
		app_error_answer(a, req, 400, text, 0, resp);
		return;
	}
	app_json_400_begin(resp, "invalid fields");
	app_json_400_field(resp, &n, name, message);
	app_json_400_end(resp);
}

void
app_error_answer(struct app *a, const struct http_req *req, int status,
    const char *message, int retry_after, struct http_resp *resp)
{
	struct tval *ctx;

	if (retry_after > 0)
		set_retry_after(resp, retry_after);
	if (http_wants_json(req) || strcmp(req->path, "/healthz") == 0) {
		if (status == 400) {
			app_json_400_begin(resp, message);
			app_json_400_end(resp);
		} else
			http_resp_json_error(resp, status, message);
		return;
	}
	ctx = app_page_context(http_reason(status));
	tval_set(ctx, "status", tval_printf("%d", status));
	tval_set_str(ctx, "reason", http_reason(status));
	tval_set_str(ctx, "message", message);
	if (retry_after > 0)
		tval_set(ctx, "retry_after", tval_printf("%d", retry_after));
	app_render_page(a, "error", ctx, status, resp);
	tval_free(ctx);
}
