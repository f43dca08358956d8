/* app: request handlers. See app.h for the contract. */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "app.h"
#include "kernel.h"
#include "metrics.h"
#include "params.h"

/* Requests counted by status class for /metrics (index: status / 100). */
#define APP_STATUS_CLASSES	6
/* ... and by status code, 100..599 (index: status - 100). */
#define APP_STATUS_CODES	500

/*
 * One config generation: the conf and templates that requests read. A
 * SIGHUP publishes a new one with one atomic store; every generation stays
 * alive until app_free (reloads are rare, a generation is small), so a
 * request that loaded the pointer never sees it freed, and no request
 * takes a lock to read it.
 */
struct app_gen {
	const struct conf	*conf;
	const struct tmpl_set	*tmpl;
	int			 owned;		/* freed by app_free */
	struct app_gen		*next;		/* older generation */
};

/* What all threads share: counters and the current generation. */
struct app_shared {
	_Atomic(struct app_gen *) gen;
	pthread_mutex_t		 gen_mu;	/* reload against reload */
	atomic_int		 draining;
	atomic_int		 busy, threads;	/* responder threads */
	atomic_llong		 reloads, reload_errors;
	atomic_llong		 requests[APP_STATUS_CLASSES];
	atomic_llong		 by_status[APP_STATUS_CODES];
};

/*
 * The object the handlers read. The one app_create returns is shared by
 * all threads; app_handle and app_error give each request its own copy
 * (a "view") with conf and tmpl of one generation, so a request never
 * mixes two configs. Shared mutable state lives behind sh, never in the
 * view (draining in a view is its value when the request began).
 */
struct app {
	const struct conf	*conf;
	const struct tmpl_set	*tmpl;
	struct sched		*sched;
	struct journal		*journal;
	unsigned char		 secret[APP_SECRET_LEN];
	int64_t			 started_ms;
	atomic_int		 draining;
	struct app_shared	*sh;
};

struct app *
app_create(const struct conf *conf, const struct tmpl_set *tmpl,
    struct sched *sched, struct journal *journal,
    const unsigned char secret[APP_SECRET_LEN])
{
	struct app	*a;
	struct app_gen	*g;
	int		 i;

	if ((a = calloc(1, sizeof(*a))) == NULL)
		return NULL;
	if ((a->sh = calloc(1, sizeof(*a->sh))) == NULL ||
	    (g = calloc(1, sizeof(*g))) == NULL) {
		free(a->sh);
		free(a);
		return NULL;
	}
	g->conf = conf;
	g->tmpl = tmpl;
	a->conf = conf;
	a->tmpl = tmpl;
	a->sched = sched;
	a->journal = journal;
	memcpy(a->secret, secret, APP_SECRET_LEN);
	a->started_ms = job_now_ms();
	atomic_init(&a->draining, 0);
	atomic_init(&a->sh->gen, g);
	pthread_mutex_init(&a->sh->gen_mu, NULL);
	atomic_init(&a->sh->draining, 0);
	atomic_init(&a->sh->busy, 0);
	atomic_init(&a->sh->threads, 0);
	atomic_init(&a->sh->reloads, 0);
	atomic_init(&a->sh->reload_errors, 0);
	for (i = 0; i < APP_STATUS_CLASSES; i++)
		atomic_init(&a->sh->requests[i], 0);
	for (i = 0; i < APP_STATUS_CODES; i++)
		atomic_init(&a->sh->by_status[i], 0);
	return a;
}

void
app_free(struct app *a)
{
	struct app_gen	*g, *next;

	if (a == NULL)
		return;
	for (g = atomic_load(&a->sh->gen); g != NULL; g = next) {
		next = g->next;
		if (g->owned) {
			tmpl_free((struct tmpl_set *)g->tmpl);
			conf_free((struct conf *)g->conf);
		}
		free(g);
	}
	pthread_mutex_destroy(&a->sh->gen_mu);
	free(a->sh);
	sodium_memzero(a->secret, sizeof(a->secret));
	free(a);
}

int
app_reload(struct app *a, struct conf *conf, struct tmpl_set *tmpl)
{
	struct app_gen	*g;

	if ((g = calloc(1, sizeof(*g))) == NULL) {
		atomic_fetch_add(&a->sh->reload_errors, 1);
		return -1;
	}
	g->conf = conf;
	g->tmpl = tmpl;
	g->owned = 1;
	pthread_mutex_lock(&a->sh->gen_mu);
	g->next = atomic_load_explicit(&a->sh->gen, memory_order_relaxed);
	atomic_store_explicit(&a->sh->gen, g, memory_order_release);
	pthread_mutex_unlock(&a->sh->gen_mu);
	atomic_fetch_add(&a->sh->reloads, 1);
	return 0;
}

void
app_count_reload_error(struct app *a)
{
	atomic_fetch_add(&a->sh->reload_errors, 1);
}

const struct conf *
app_conf(struct app *a)
{
	return atomic_load_explicit(&a->sh->gen, memory_order_acquire)->conf;
}

/* Fills v, a per-request copy of a over the current generation. */
static void
app_view(struct app *a, struct app *v)
{
	struct app_gen	*g;

	g = atomic_load_explicit(&a->sh->gen, memory_order_acquire);
	v->conf = g->conf;
	v->tmpl = g->tmpl;
	v->sched = a->sched;
	v->journal = a->journal;
	memcpy(v->secret, a->secret, APP_SECRET_LEN);
	v->started_ms = a->started_ms;
	atomic_init(&v->draining, atomic_load(&a->sh->draining));
	v->sh = a->sh;
}

static void
app_view_done(struct app *v)
{
	sodium_memzero(v->secret, sizeof(v->secret));
}

void
app_set_draining(struct app *a, int on)
{
	atomic_store(&a->sh->draining, on);
}

void
app_responder_busy(struct app *a, int delta)
{
	atomic_fetch_add(&a->sh->busy, delta);
}

int
app_responders_busy(struct app *a)
{
	return atomic_load(&a->sh->busy);
}

void
app_maintain(struct app *a)
{
	const struct conf	*c = app_conf(a);
	int			 n;

	if (a->journal == NULL)
		return;
	n = sched_evict(a->sched, job_now_ms(),
	    (int64_t)c->results_ttl * 1000, c->results_max_bytes);
	if (n > 0)
		fprintf(stderr, "level=info msg=\"results evicted\" jobs=%d "
		    "result_bytes=%lld\n", n,
		    (long long)journal_result_bytes(a->journal));
	else if (n < 0)
		fprintf(stderr, "level=error func=%s msg=\"eviction failed\" "
		    "error=\"%s\"\n", __func__, journal_error(a->journal));
}

void
app_set_responders(struct app *a, int n)
{
	atomic_store(&a->sh->threads, n);
}

void
app_count_request(struct app *a, int status)
{
	int c = status / 100;

	if (c >= 0 && c < APP_STATUS_CLASSES)
		atomic_fetch_add(&a->sh->requests[c], 1);
	if (status >= 100 && status < 100 + APP_STATUS_CODES)
		atomic_fetch_add(&a->sh->by_status[status - 100], 1);
}

/*
 * Reads the secret at path. Returns 0, 1 when there is no such file, or
 * -1 with a message in err.
 */
static int
secret_read(const char *path, unsigned char secret[APP_SECRET_LEN],
    char *err, size_t errlen)
{
	size_t	 got = 0;
	ssize_t	 n;
	int	 fd, rc = -1;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1) {
		if (errno == ENOENT)
			return 1;
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return -1;
	}
	while (got < APP_SECRET_LEN) {
		if ((n = read(fd, secret + got, APP_SECRET_LEN - got)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	/*
	 * Short: app_load_secret never links an incomplete file, so this one
	 * was left by an older sluice that stopped between creating and
	 * writing it. No process ever served with it. It is refused, not
	 * replaced: two responders starting together would each write their
	 * own over it and could go on with different secrets (each refusing
	 * the other's CSRF tokens), and telling them apart needs a lock.
	 */
	if (got < APP_SECRET_LEN) {
		snprintf(err, errlen, "%s: only %zu of %d bytes (left by an "
		    "interrupted start of an older sluice?); no CSRF token "
		    "depends on it: delete it and start again", path, got,
		    APP_SECRET_LEN);
		goto out;
	}
	rc = 0;
out:
	close(fd);
	if (rc == -1)
		sodium_memzero(secret, APP_SECRET_LEN);
	return rc;
}

/*
 * The secret file appears whole or not at all: the bytes are written and
 * synced in a temporary file of the same directory, then link()ed to
 * STATE/secret, which fails with EEXIST when another responder won the
 * race (its file is complete: read it). Creating STATE/secret with
 * O_EXCL and writing it afterwards let a racing responder read it empty,
 * and a crash in between left an empty file that blocked every start.
 * A crash before the unlink leaves a stray secret.tmp.* (mode 0600, never
 * read): harmless.
 */
int
app_load_secret(const char *state_dir, unsigned char secret[APP_SECRET_LEN],
    char *err, size_t errlen)
{
	char	 path[4096], tmp[4096];
	int	 fd = -1, dfd, rc = -1;
	size_t	 put = 0;
	ssize_t	 n;

	tmp[0] = '\0';
	if (sodium_init() < 0) {
		snprintf(err, errlen, "sodium_init failed");
		return -1;
	}
	if ((size_t)snprintf(path, sizeof(path), "%s/secret", state_dir) >=
	    sizeof(path) || (size_t)snprintf(tmp, sizeof(tmp),
	    "%s/secret.tmp.XXXXXX", state_dir) >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", state_dir);
		return -1;
	}
	if ((rc = secret_read(path, secret, err, errlen)) != 1)
		return rc;
	rc = -1;
	/* mkostemp makes the file mode 0600. */
	if ((fd = mkostemp(tmp, O_CLOEXEC)) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		tmp[0] = '\0';
		goto out;
	}
	randombytes_buf(secret, APP_SECRET_LEN);
	while (put < APP_SECRET_LEN) {
		if ((n = write(fd, secret + put, APP_SECRET_LEN - put)) == -1) {
			if (errno == EINTR)
				continue;
			snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
			goto out;
		}
		put += (size_t)n;
	}
	if (fsync(fd) == -1) {
		snprintf(err, errlen, "%s: %s", tmp, strerror(errno));
		goto out;
	}
	if (link(tmp, path) == -1) {
		if (errno != EEXIST) {
			snprintf(err, errlen, "%s: %s", path, strerror(errno));
			goto out;
		}
		/* Another responder was first: use its secret, not ours. */
		if ((rc = secret_read(path, secret, err, errlen)) == 1) {
			snprintf(err, errlen, "%s: removed while starting",
			    path);
			rc = -1;
		}
		goto out;
	}
	/*
	 * Best effort: the new name reaches the disk with the directory. If
	 * it does not, a crash loses the file, never half of it, and the
	 * next start makes another (the CSRF tokens of open pages then fail
	 * once: the user reloads).
	 */
	if ((dfd = open(state_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) != -1) {
		(void)fsync(dfd);
		close(dfd);
	}
	rc = 0;
out:
	if (fd != -1)
		close(fd);
	if (tmp[0] != '\0')
		unlink(tmp);
	if (rc == -1)
		sodium_memzero(secret, APP_SECRET_LEN);
	return rc;
}

void
app_csrf_token(const struct app *a, const char *session, char out[65])
{
	unsigned char tag[crypto_auth_BYTES];

	crypto_auth(tag, (const unsigned char *)session, strlen(session),
	    a->secret);
	sodium_bin2hex(out, 65, tag, sizeof(tag));
}

/* Constant-time check of a presented token against the session's. */
static int
csrf_ok(const struct app *a, const char *session, const char *token)
{
	unsigned char	 tag[crypto_auth_BYTES];
	size_t		 binlen;

	if (token == NULL || strlen(token) != 2 * crypto_auth_BYTES)
		return 0;
	if (sodium_hex2bin(tag, sizeof(tag), token, strlen(token), NULL,
	    &binlen, NULL) != 0 || binlen != sizeof(tag))
		return 0;
	return crypto_auth_verify(tag, (const unsigned char *)session,
	    strlen(session), a->secret) == 0;
}

/* nginx issues sid as 32 hex characters; anything else is refused. */
static int
session_valid(const char *s)
{
	size_t i;

	if (s == NULL || strlen(s) != JOB_SESSION_LEN)
		return 0;
	for (i = 0; i < JOB_SESSION_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' &&
		    s[i] <= 'f')))
			return 0;
	return 1;
}

/* ---- rendering helpers ---- */

/* A base context with what every page needs. Caller frees. */
static struct tval *
page_context(const char *title)
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

/*
 * Renders template name into resp as HTML with status; 500 on failure.
 * name must be one of tmpl_pages (tmpl.c): loading a template directory
 * without it fails, so a missing page is found at start or reload.
 */
static void
render_page(struct app *a, const char *name, struct tval *ctx, int status,
    struct http_resp *resp)
{
	buf_reset(&resp->body);
	buf_reserve(&resp->body, APP_PAGE_CAP);
	if (ctx == NULL || !tval_ok(ctx) ||
	    tmpl_render(a->tmpl, name, ctx, &resp->body) == -1 ||
	    !buf_ok(&resp->body)) {
		fprintf(stderr, "level=error func=%s template=%s msg=\"render "
		    "failed\"\n", __func__, name);
		http_resp_text(resp, 500, "internal error: page could not be "
		    "rendered");
		return;
	}
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

/*
 * A JSON 400 is {"error":...,"fields":{name: message, ...}} (DESIGN.md),
 * built in three steps: json_400_begin, one json_400_field per field,
 * json_400_end. An error about the body as a whole has "fields":{}.
 */
static void
json_400_begin(struct http_resp *resp, const char *error)
{
	resp->status = 400;
	if (!resp->has_type)
		http_resp_header(resp, "Content-Type", "application/json");
	buf_reset(&resp->body);
	buf_puts(&resp->body, "{\"error\":");
	buf_json_str(&resp->body, error);
	buf_puts(&resp->body, ",\"fields\":{");
}

/* *n counts the fields written so far (for the commas). */
static void
json_400_field(struct http_resp *resp, int *n, const char *name,
    const char *message)
{
	if ((*n)++ > 0)
		buf_putc(&resp->body, ',');
	buf_json_str(&resp->body, name);
	buf_putc(&resp->body, ':');
	buf_json_str(&resp->body, message);
}

static void
json_400_end(struct http_resp *resp)
{
	buf_puts(&resp->body, "}}\n");
}

/* Error page or JSON with optional Retry-After (0 = none). */
static void
error_answer(struct app *a, const struct http_req *req, int status,
    const char *message, int retry_after, struct http_resp *resp)
{
	struct tval *ctx;

	if (retry_after > 0)
		set_retry_after(resp, retry_after);
	if (http_wants_json(req) || strcmp(req->path, "/healthz") == 0) {
		if (status == 400) {
			json_400_begin(resp, message);
			json_400_end(resp);
		} else
			http_resp_json_error(resp, status, message);
		return;
	}
	ctx = page_context(http_reason(status));
	tval_set(ctx, "status", tval_printf("%d", status));
	tval_set_str(ctx, "reason", http_reason(status));
	tval_set_str(ctx, "message", message);
	if (retry_after > 0)
		tval_set(ctx, "retry_after", tval_printf("%d", retry_after));
	render_page(a, "error", ctx, status, resp);
	tval_free(ctx);
}

void
app_error(struct app *a, const struct http_req *req, int status,
    const char *message, struct http_resp *resp)
{
	struct app	 v;

	app_view(a, &v);
	error_answer(&v, req, status, message, 0, resp);
	app_view_done(&v);
}

/*
 * Walks a flat JSON object ({"k":1.5,"s":"x",...}, as kernels and the
 * scheduler write them) and pushes {key, value} rows onto list. Nested
 * values are shown as their raw text. Malformed input stops the walk.
 */
static void
json_rows(const char *json, struct tval *list)
{
	const char	*p = json, *k, *v;
	size_t		 klen, vlen;
	int		 depth;
	struct tval	*row;

	if (p == NULL || *p++ != '{')
		return;
	for (;;) {
		while (*p == ' ' || *p == ',')
			p++;
		if (*p != '"')
			return;
		k = ++p;
		while (*p != '\0' && *p != '"')
			p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
		if (*p != '"')
			return;
		klen = (size_t)(p - k);
		if (*++p != ':')
			return;
		v = ++p;
		depth = 0;
		while (*p != '\0') {
			if (*p == '"') {
				for (p++; *p != '\0' && *p != '"'; )
					p += (*p == '\\' && p[1] != '\0') ? 2 : 1;
				if (*p == '"')
					p++;
				continue;
			}
			if (*p == '{' || *p == '[')
				depth++;
			else if (*p == '}' || *p == ']') {
				if (depth == 0)
					break;
				depth--;
			} else if (*p == ',' && depth == 0)
				break;
			p++;
		}
		vlen = (size_t)(p - v);
		if (vlen >= 2 && v[0] == '"') {
			v++;
			vlen -= 2;
		}
		row = tval_map();
		tval_set(row, "key", tval_strn(k, klen));
		tval_set(row, "value", tval_strn(v, vlen));
		tval_push(list, row);
		if (*p != ',')
			return;
	}
}

/* ---- the app page ---- */

/*
 * The numbers of every kernel's parameter specs as the form shows them
 * (min, max, step, default), formatted once: kernels are compiled in, so
 * the table never changes after it is built, and the app page no longer
 * runs printf and strtod for each of them on every request.
 */
struct param_texts {
	char	min[32], max[32], def[32], step[32];
};

#define APP_MAX_KERNELS	16

static pthread_once_t		param_once = PTHREAD_ONCE_INIT;
static struct param_texts	param_table[APP_MAX_KERNELS][KERNEL_MAX_PARAMS];

static void
num_text(double v, char *out, size_t len)
{
	struct buf b;

	buf_init(&b);
	buf_json_num(&b, v);
	snprintf(out, len, "%s", buf_cstr(&b));
	buf_free(&b);
}

static void
param_table_build(void)
{
	const struct kernel	*k;
	const struct kparam_spec *p;
	struct param_texts	*t;
	size_t			 i, j;

	for (i = 0; i < kernel_count() && i < APP_MAX_KERNELS; i++) {
		k = kernel_at(i);
		for (j = 0; j < k->nparams && j < KERNEL_MAX_PARAMS; j++) {
			p = &k->params[j];
			t = &param_table[i][j];
			num_text(p->min, t->min, sizeof(t->min));
			num_text(p->max, t->max, sizeof(t->max));
			num_text(p->def, t->def, sizeof(t->def));
			if (p->step > 0)
				num_text(p->step, t->step, sizeof(t->step));
			else
				snprintf(t->step, sizeof(t->step), "%s",
				    p->type == KPARAM_INT ? "1" : "any");
		}
	}
}

/* The texts of parameter i of k. Thread-safe. */
static const struct param_texts *
param_text(const struct kernel *k, size_t i)
{
	size_t n;

	pthread_once(&param_once, param_table_build);
	for (n = 0; n < kernel_count() && n < APP_MAX_KERNELS; n++)
		if (kernel_at(n) == k)
			return &param_table[n][i];
	return &param_table[0][0];	/* unreachable: k is registered */
}

/* Submitted values and errors of one task's form, when re-rendering it. */
struct form_state {
	const char	*task;
	const char	*values[KERNEL_MAX_PARAMS];
	const char	*errors[KERNEL_MAX_PARAMS];
	const char	*form_error;	/* HTML: a field refused itself */
	/*
	 * JSON: per field of the request's form (same index), why the field
	 * itself is refused (unknown, given more than once), set on its
	 * first occurrence only so that each name is one key; else NULL.
	 */
	const char	*field_errors[FORM_MAX_FIELDS];
};

/*
 * Appends one task's form to list tasks. Every value is built inside the
 * page's tree (tval builders), so the whole page is a few allocations.
 */
static void
task_context(struct app *a, struct tval *tasks, const struct conf_task *t,
    const char *csrf, const char *nonce, const struct form_state *fs)
{
	const struct kernel	*k = kernel_find(t->kernel);
	const struct kparam_spec *p;
	const struct param_texts *pt;
	struct tval		*tv, *params, *pv, *locks;
	int64_t			 eta;
	size_t			 i;
	int			 errors = 0;

	if ((tv = tval_push_map(tasks)) == NULL)
		return;
	tval_set_str(tv, "name", t->name);
	tval_set_str(tv, "task", t->name);
	tval_set_str(tv, "title", t->title != NULL ? t->title :
	    (k != NULL ? k->title : t->name));
	tval_set_str(tv, "kernel", t->kernel);
	tval_set_str(tv, "csrf", csrf);
	tval_set_str(tv, "nonce", nonce);
	locks = tval_set_list(tv, "locks");
	for (i = 0; locks != NULL && i < t->nlocks; i++)
		tval_set_str(tval_push_map(locks), "name", t->locks[i]);
	eta = a->sched != NULL ? sched_task_eta(a->sched, t->name) : -1;
	if (eta >= 0)
		tval_set_printf(tv, "eta_s", "%.1f", (double)eta / 1000.0);
	params = tval_set_list(tv, "params");
	for (i = 0; params != NULL && k != NULL && i < k->nparams; i++) {
		p = &k->params[i];
		pt = param_text(k, i);
		if ((pv = tval_push_map(params)) == NULL)
			break;
		tval_set_str(pv, "name", p->name);
		tval_set_str(pv, "label", p->label);
		tval_set_str(pv, "unit", p->unit);
		tval_set_str(pv, "min", pt->min);
		tval_set_str(pv, "max", pt->max);
		tval_set_str(pv, "step", pt->step);
		if (fs != NULL && fs->values[i] != NULL)
			tval_set_str(pv, "value", fs->values[i]);
		else
			tval_set_str(pv, "value", pt->def);
		if (fs != NULL && fs->errors[i] != NULL) {
			tval_set_str(pv, "error", fs->errors[i]);
			errors++;
		}
	}
	if (fs != NULL && fs->form_error != NULL) {
		tval_set_str(tv, "form_error", fs->form_error);
		errors++;
	}
	tval_set_bool(tv, "has_errors", errors > 0);
}

/* Forms on the app page that get a nonce from one randombytes_buf call. */
#define APP_NONCE_BATCH	16

/*
 * Sets key in map to the decimal text of v: the page shows a few of these
 * per lock, and printf costs more than building the whole rest of a map.
 */
static void
set_int(struct tval *map, const char *key, long long v)
{
	char			 s[24], *p = s + sizeof(s);
	unsigned long long	 u;

	u = v < 0 ? 0ULL - (unsigned long long)v : (unsigned long long)v;
	*--p = '\0';
	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u != 0);
	if (v < 0)
		*--p = '-';
	tval_set_str(map, key, p);
}

/* Renders the app page; fs (may be NULL) re-fills one task's form. */
static void
render_index(struct app *a, const struct http_req *req, int status,
    const struct form_state *fs, struct http_resp *resp)
{
	const struct conf	*c = a->conf;
	struct tval		*ctx, *tasks, *locks, *lv, *jobs, *jv;
	struct job		*recent = NULL;
	char			 csrf[65], nonce[33];
	unsigned char		 raw[APP_NONCE_BATCH][16];
	int			 busy, queued, n = 0, i;
	size_t			 j;

	app_csrf_token(a, req->session, csrf);

	ctx = page_context("Tasks");
	if (fs != NULL)
		tval_set_str(ctx, "notice", "Some fields need attention: "
		    "see the messages below.");
	locks = tval_set_list(ctx, "locks");
	for (j = 0; locks != NULL && j < c->nlocks; j++) {
		busy = queued = 0;
		if (a->sched != NULL)
			sched_lock_counts(a->sched, j, &busy, &queued);
		if ((lv = tval_push_map(locks)) == NULL)
			break;
		tval_set_str(lv, "name", c->locks[j].name);
		set_int(lv, "slots", c->locks[j].slots);
		set_int(lv, "queue", c->locks[j].queue);
		set_int(lv, "busy", busy);
		set_int(lv, "queued", queued);
		set_int(lv, "busy_pct", 100 * busy / c->locks[j].slots);
		tval_set_str(lv, "order", c->locks[j].order == CONF_ORDER_FAIR ?
		    "fair" : "fifo");
	}
	tasks = tval_set_list(ctx, "tasks");
	for (j = 0; tasks != NULL && j < c->ntasks; j++) {
		/*
		 * One nonce per form: each form is its own submission. The
		 * random bytes of up to APP_NONCE_BATCH forms come from one
		 * call (one getrandom), not one call per form.
		 */
		if (j % APP_NONCE_BATCH == 0)
			randombytes_buf(raw, sizeof(raw[0]) *
			    (c->ntasks - j < APP_NONCE_BATCH ?
			    c->ntasks - j : APP_NONCE_BATCH));
		sodium_bin2hex(nonce, sizeof(nonce), raw[j % APP_NONCE_BATCH],
		    sizeof(raw[0]));
		task_context(a, tasks, &c->tasks[j], csrf, nonce,
		    fs != NULL && strcmp(fs->task, c->tasks[j].name) == 0 ?
		    fs : NULL);
	}
	sodium_memzero(raw, sizeof(raw));
	jobs = tval_set_list(ctx, "jobs");
	if (jobs != NULL && a->journal != NULL &&
	    (n = journal_session_jobs(a->journal, req->session, 10,
	    &recent)) > 0) {
		for (i = 0; i < n; i++) {
			if ((jv = tval_push_map(jobs)) == NULL)
				break;
			tval_set_str(jv, "id", recent[i].id);
			tval_set_strn(jv, "short_id", recent[i].id, 8);
			tval_set_str(jv, "task", recent[i].task);
			tval_set_str(jv, "state",
			    job_state_name(recent[i].state));
		}
		journal_free_jobs(recent, n);
	}
	render_page(a, "index", ctx, status, resp);
	tval_free(ctx);
}

/* ---- submission ---- */

static int
is_urlencoded(const char *ct)
{
	static const char want[] = "application/x-www-form-urlencoded";
	size_t n = sizeof(want) - 1;

	return ct != NULL && strncasecmp(ct, want, n) == 0 &&
	    (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* Parses the body as a form; on failure answers (400/415) and returns -1. */
static int
parse_form_body(struct app *a, struct http_req *req, struct http_resp *resp)
{
	char err[160];

	if (req->body_len > 0 && !is_urlencoded(req->content_type)) {
		error_answer(a, req, 415, "the body must be "
		    "application/x-www-form-urlencoded", 0, resp);
		return -1;
	}
	if (form_parse(req->body != NULL ? req->body : "", req->body_len,
	    &req->form, err, sizeof(err)) == -1) {
		error_answer(a, req, 400, err, 0, resp);
		return -1;
	}
	return 0;
}

/* Checks the CSRF token (form field or header); answers 403 on failure. */
static int
check_csrf(struct app *a, struct http_req *req, struct http_resp *resp)
{
	const char *token = form_get(&req->form, "csrf");

	if (token == NULL)
		token = req->csrf_header;
	if (csrf_ok(a, req->session, token))
		return 0;
	error_answer(a, req, 403, token == NULL ? "missing CSRF token "
	    "(reload the page and submit again)" : "wrong CSRF token "
	    "(reload the page and submit again)", 0, resp);
	return -1;
}

/* Answers 400 for a form with field errors: JSON, or the page re-rendered. */
static void
answer_field_errors(struct app *a, struct http_req *req,
    const struct kernel *k, struct form_state *fs, struct http_resp *resp)
{
	size_t	 i;
	int	 n = 0;

	if (!http_wants_json(req)) {
		render_index(a, req, 400, fs, resp);
		return;
	}
	json_400_begin(resp, "invalid fields");
	for (i = 0; i < req->form.nfields && i < FORM_MAX_FIELDS; i++)
		if (fs->field_errors[i] != NULL)
			json_400_field(resp, &n, req->form.fields[i].key,
			    fs->field_errors[i]);
	/* A parameter given twice is already a key: one message per name. */
	for (i = 0; i < k->nparams; i++)
		if (fs->errors[i] != NULL &&
		    form_count(&req->form, k->params[i].name) <= 1)
			json_400_field(resp, &n, k->params[i].name,
			    fs->errors[i]);
	json_400_end(resp);
}

/*
 * Answers 400 for one field that is wrong outside the form's parameters
 * (the nonce): JSON with it under "fields", or the error page saying
 * "name: message".
 */
static void
answer_field_error(struct app *a, const struct http_req *req,
    const char *name, const char *message, struct http_resp *resp)
{
	char	 text[160];
	int	 n = 0;

	if (!http_wants_json(req)) {
		snprintf(text, sizeof(text), "%s: %s", name, message);
		error_answer(a, req, 400, text, 0, resp);
		return;
	}
	json_400_begin(resp, "invalid fields");
	json_400_field(resp, &n, name, message);
	json_400_end(resp);
}

/* Answers the job as JSON with status (202 after a submission, 200). */
static void
answer_job_json(struct app *a, const char *id, const char *session,
    int status, struct http_resp *resp)
{
	struct job j;

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, session, &j) != SCHED_OK) {
		http_resp_json_error(resp, 404, "no such job");
		return;
	}
	resp->status = status;
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_reset(&resp->body);
	job_to_json(&j, &resp->body);
	buf_putc(&resp->body, '\n');
	job_clear(&j);
}

/* 1 when field i of f is the first one of its name. */
static int
field_is_first(const struct form *f, size_t i)
{
	size_t	 j;

	for (j = 0; j < i; j++)
		if (strcmp(f->fields[j].key, f->fields[i].key) == 0)
			return 0;
	return 1;
}

/*
 * The params of k from the form through the params codec: each given
 * field's text checked (its error in fs and errs, *bad counted), the
 * others at their default. Returns the codec's text (caller frees), or
 * NULL when a field was refused (*bad > 0) or on ENOMEM.
 */
static char *
form_params(const struct http_req *req, const struct kernel *k,
    struct form_state *fs, char errs[][128], int *bad)
{
	json_t		*obj, *v;
	const char	*text;
	char		*out = NULL;
	size_t		 i;

	if ((obj = json_object()) == NULL)
		return NULL;
	for (i = 0; i < k->nparams; i++) {
		if ((text = form_get(&req->form, k->params[i].name)) == NULL)
			v = params_default_value(&k->params[i]);
		else if ((v = params_value_from_text(&k->params[i], text,
		    errs[i], sizeof(errs[i]))) == NULL) {
			fs->errors[i] = errs[i];
			(*bad)++;
		}
		if (text != NULL)
			fs->values[i] = text;
		if (v != NULL && json_object_set_new(obj, k->params[i].name,
		    v) == -1)
			goto out;
	}
	if (*bad == 0)
		out = params_encode(k->params, k->nparams, obj);
out:
	json_decref(obj);
	return out;
}

static void
handle_submit(struct app *a, struct http_req *req, const char *task_name,
    struct http_resp *resp)
{
	const struct conf_task	*t;
	const struct kernel	*k;
	struct form_state	 fs;
	char			 errs[KERNEL_MAX_PARAMS][128], ferr[160];
	char			 id[JOB_ID_LEN + 1], loc[80], *params = NULL;
	const char		*nonce;
	size_t			 i;
	int			 bad = 0, retry = 0;
	enum sched_rc		 rc;

	if ((t = conf_find_task(a->conf, task_name)) == NULL ||
	    (k = kernel_find(t->kernel)) == NULL) {
		error_answer(a, req, 404, "no such task", 0, resp);
		goto out;
	}
	if (parse_form_body(a, req, resp) == -1 || check_csrf(a, req, resp) == -1)
		goto out;
	/*
	 * Draining is the scheduler's answer (SCHED_DRAINING), given after
	 * its nonce lookup: a repeated submission during a shutdown still
	 * gets the job it already made.
	 */
	memset(&fs, 0, sizeof(fs));
	fs.task = t->name;
	/*
	 * Every field must be a parameter (or csrf/nonce), given once. The
	 * page quotes the name cut to 40 bytes, on a character boundary: a
	 * cut inside a UTF-8 sequence would put invalid text in it.
	 */
	for (i = 0; i < req->form.nfields && i < FORM_MAX_FIELDS; i++) {
		const char *key = req->form.fields[i].key;
		int first = field_is_first(&req->form, i);

		if (strcmp(key, "csrf") == 0 || strcmp(key, "nonce") == 0)
			continue;
		if (kernel_param_index(k, key) < 0) {
			snprintf(ferr, sizeof(ferr), "unknown field '%.*s'",
			    (int)form_utf8_cut(key, 40), key);
			fs.form_error = ferr;
			if (first)
				fs.field_errors[i] = "unknown field";
			bad++;
		} else if (form_count(&req->form, key) > 1) {
			snprintf(ferr, sizeof(ferr), "field '%.*s' given more "
			    "than once", (int)form_utf8_cut(key, 40), key);
			fs.form_error = ferr;
			if (first)
				fs.field_errors[i] = "given more than once";
			bad++;
		}
	}
	params = form_params(req, k, &fs, errs, &bad);
	if (bad > 0) {
		answer_field_errors(a, req, k, &fs, resp);
		goto out;
	}
	if ((nonce = form_get(&req->form, "nonce")) == NULL)
		nonce = "";
	if (strlen(nonce) > JOB_NONCE_MAX) {
		answer_field_error(a, req, "nonce", "at most 64 characters",
		    resp);
		goto out;
	}
	if (params == NULL) {
		error_answer(a, req, 500, "out of memory", 0, resp);
		goto out;
	}
	rc = sched_submit(a->sched, t->name, k, req->session, nonce, params,
	    id, &retry);
	switch (rc) {
	case SCHED_OK:
		if (http_wants_json(req)) {
			snprintf(loc, sizeof(loc), "/jobs/%s", id);
			http_resp_header(resp, "Location", loc);
			answer_job_json(a, id, req->session, 202, resp);
		} else {
			snprintf(loc, sizeof(loc), "/jobs/%s", id);
			http_resp_redirect(resp, loc);
		}
		break;
	case SCHED_QUEUE_FULL:
		error_answer(a, req, 503, "the queue for this task is full; "
		    "try again later", retry, resp);
		break;
	case SCHED_SESSION_LIMIT:
		snprintf(ferr, sizeof(ferr), "you already have %d jobs queued "
		    "or running; wait for one to finish", a->conf->max_active);
		error_answer(a, req, 429, ferr, retry, resp);
		break;
	case SCHED_DRAINING:
		error_answer(a, req, 503, "the server is shutting down; "
		    "submit again in a moment", a->conf->drain_timeout + 1, resp);
		break;
	case SCHED_UNKNOWN_TASK:
		error_answer(a, req, 404, "no such task", 0, resp);
		break;
	case SCHED_CONFLICT:
		error_answer(a, req, 409, "nonce: already used for a job of "
		    "another task", 0, resp);
		break;
	case SCHED_CHANGED:
		error_answer(a, req, 503, "the configuration changed; try "
		    "again", retry, resp);
		break;
	default:
		fprintf(stderr, "level=error func=%s task=%s msg=\"submit "
		    "failed\" rc=%d\n", __func__, t->name, (int)rc);
		error_answer(a, req, 500, "the job could not be recorded; "
		    "nothing was started", 0, resp);
		break;
	}
out:
	free(params);
}

/* ---- jobs ---- */

static void
handle_job_page(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	const struct conf_task	*t;
	struct job		 j;
	struct tval		*ctx, *rows;
	char			 csrf[65];
	int64_t			 now = job_now_ms();

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK) {
		error_answer(a, req, 404, "no such job", 0, resp);
		return;
	}
	t = conf_find_task(a->conf, j.task);
	app_csrf_token(a, req->session, csrf);
	ctx = page_context("Job");
	tval_set_str(ctx, "id", j.id);
	tval_set_str(ctx, "task", j.task);
	tval_set_str(ctx, "task_title", t != NULL && t->title != NULL ?
	    t->title : j.task);
	tval_set_str(ctx, "state", job_state_name(j.state));
	tval_set_str(ctx, "csrf", csrf);
	tval_set_str(ctx, "device", j.device[0] != '\0' ? j.device : "cpu");
	if (!job_state_final(j.state))
		tval_set_str(ctx, "refresh", j.state == JOB_QUEUED ? "2" : "1");
	switch (j.state) {
	case JOB_QUEUED:
		tval_set(ctx, "queued", tval_bool(1));
		tval_set(ctx, "first", tval_bool(j.position <= 0));
		tval_set(ctx, "ahead", tval_printf("%d", j.position));
		if (j.eta_ms >= 0)
			tval_set(ctx, "eta_s", tval_printf("%.1f",
			    (double)j.eta_ms / 1000.0));
		break;
	case JOB_RUNNING:
		tval_set(ctx, "running", tval_bool(1));
		tval_set(ctx, "elapsed_s", tval_printf("%.1f",
		    (double)(now - j.started_ms) / 1000.0));
		break;
	case JOB_DONE:
		tval_set(ctx, "done", tval_bool(1));
		tval_set(ctx, "has_png", tval_bool(j.has_png));
		tval_set(ctx, "wait_ms", tval_printf("%lld",
		    (long long)(j.started_ms - j.created_ms)));
		tval_set(ctx, "run_ms", tval_printf("%lld",
		    (long long)(j.finished_ms - j.started_ms)));
		rows = tval_list();
		json_rows(j.result, rows);
		tval_set(ctx, "result", rows);
		break;
	default:
		tval_set(ctx, "ended_badly", tval_bool(1));
		if (j.error != NULL)
			tval_set_str(ctx, "error", j.error);
		break;
	}
	rows = tval_list();
	json_rows(j.params, rows);
	tval_set(ctx, "params", rows);
	render_page(a, "job", ctx, 200, resp);
	tval_free(ctx);
	job_clear(&j);
}

static void
handle_job_png(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	struct job	 j;
	char		 path[4096];

	memset(&j, 0, sizeof(j));
	if (sched_lookup(a->sched, id, req->session, &j) != SCHED_OK ||
	    !j.has_png || a->journal == NULL ||
	    journal_png_path(a->journal, j.id, path, sizeof(path)) == -1 ||
	    http_resp_file(resp, path) == -1) {
		error_answer(a, req, 404, "no image for this job", 0, resp);
		goto out;
	}
	resp->status = 200;
	http_resp_header(resp, "Content-Type", "image/png");
	http_resp_header(resp, "Cache-Control", "private, max-age=3600");
out:
	job_clear(&j);
}

static void
handle_job_cancel(struct app *a, struct http_req *req, const char *id,
    struct http_resp *resp)
{
	char loc[80];

	if (parse_form_body(a, req, resp) == -1 || check_csrf(a, req, resp) == -1)
		return;
	switch (sched_cancel(a->sched, id, req->session)) {
	case SCHED_OK:
		if (http_wants_json(req)) {
			answer_job_json(a, id, req->session, 200, resp);
			return;
		}
		snprintf(loc, sizeof(loc), "/jobs/%s", id);
		http_resp_redirect(resp, loc);
		return;
	case SCHED_CONFLICT:
		error_answer(a, req, 409, "this job is no longer queued: it "
		    "runs or has ended, and cannot be cancelled", 0, resp);
		return;
	default:
		error_answer(a, req, 404, "no such job", 0, resp);
		return;
	}
}

/* ---- small JSON endpoints ---- */

static void
handle_session(struct app *a, struct http_req *req, struct http_resp *resp)
{
	char csrf[65];

	app_csrf_token(a, req->session, csrf);
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_printf(&resp->body, "{\"session\":\"%s\",\"csrf\":\"%s\"}\n",
	    req->session, csrf);
}

/* Server-side numbers for /status.json and /metrics, read once. */
static void
server_numbers(struct app *a, struct metrics_server *ms)
{
	int	 i;

	memset(ms, 0, sizeof(*ms));
	ms->threads = atomic_load(&a->sh->threads);
	if (ms->threads == 0)
		ms->threads = a->conf->threads;
	ms->threads_busy = atomic_load(&a->sh->busy);
	ms->draining = atomic_load(&a->sh->draining);
	ms->devices = kernel_device_count();
	ms->uptime_s = (double)(job_now_ms() - a->started_ms) / 1000.0;
	ms->start_time_s = (double)a->started_ms / 1000.0;
	ms->reloads = (uint64_t)atomic_load(&a->sh->reloads);
	ms->reload_errors = (uint64_t)atomic_load(&a->sh->reload_errors);
	for (i = 0; i < APP_STATUS_CODES && i < METRICS_STATUS_CODES; i++)
		ms->by_status[i] = (uint64_t)atomic_load(&a->sh->by_status[i]);
}

static void
handle_status(struct app *a, struct http_resp *resp)
{
	struct buf		*b = &resp->body;
	struct buf		 stats;
	struct metrics_server	 ms;
	int			 i, n;

	buf_init(&stats);
	if (a->sched != NULL)
		sched_stats_json(a->sched, &stats);
	server_numbers(a, &ms);
	http_resp_header(resp, "Content-Type", "application/json");
	http_resp_header(resp, "Cache-Control", "no-store");
	buf_printf(b, "{\"server\":{\"version\":\"%s\",\"uptime_s\":%lld,"
	    "\"threads\":%d,\"threads_busy\":%d,\"draining\":%s,"
	    "\"devices\":%d,\"reloads\":%llu,\"reload_errors\":%llu,"
	    "\"requests\":{", PACKAGE_VERSION, (long long)ms.uptime_s,
	    ms.threads, ms.threads_busy, ms.draining ? "true" : "false",
	    ms.devices, (unsigned long long)ms.reloads,
	    (unsigned long long)ms.reload_errors);
	for (i = 1; i < APP_STATUS_CLASSES; i++)
		buf_printf(b, "%s\"%dxx\":%lld", i > 1 ? "," : "", i,
		    (long long)atomic_load(&a->sh->requests[i]));
	buf_puts(b, "},\"status\":{");
	for (i = 0, n = 0; i < METRICS_STATUS_CODES; i++)
		if (ms.by_status[i] > 0)
			buf_printf(b, "%s\"%d\":%llu", n++ > 0 ? "," : "",
			    i + 100, (unsigned long long)ms.by_status[i]);
	buf_puts(b, "}}");
	/* The scheduler's object is {"locks":...,"tasks":...}: splice it in. */
	if (stats.len > 2 && stats.data[0] == '{') {
		buf_putc(b, ',');
		buf_append(b, stats.data + 1, stats.len - 1);
	} else
		buf_putc(b, '}');
	buf_putc(b, '\n');
	buf_free(&stats);
}

static void
handle_metrics(struct app *a, struct http_resp *resp)
{
	struct sched_stats	 ss;
	struct metrics_server	 ms;

	memset(&ss, 0, sizeof(ss));
	if (a->sched != NULL && sched_stats_get(a->sched, &ss) == -1) {
		http_resp_text(resp, 500, "out of memory");
		return;
	}
	server_numbers(a, &ms);
	http_resp_header(resp, "Content-Type",
	    "text/plain; version=0.0.4; charset=utf-8");
	http_resp_header(resp, "Cache-Control", "no-store");
	metrics_render(&resp->body, &ss, &ms);
	sched_stats_free(&ss);
}

static void	app_dispatch(struct app *, struct http_req *,
		    const struct route_match *, struct http_resp *);

void
app_handle(struct app *a, struct http_req *req, const struct route_match *m,
    struct http_resp *resp)
{
	struct app	 v;

	app_view(a, &v);
	app_dispatch(&v, req, m, resp);
	app_view_done(&v);
}

/* app_handle over one request's view of the app. */
static void
app_dispatch(struct app *a, struct http_req *req, const struct route_match *m,
    struct http_resp *resp)
{
	/* Operational endpoints need no session; everything else does. */
	switch (m->id) {
	case ROUTE_HEALTHZ:
		if (atomic_load(&a->draining))
			http_resp_text(resp, 503, "draining");
		else
			http_resp_text(resp, 200, "ok");
		return;
	case ROUTE_STATUS:
		handle_status(a, resp);
		return;
	case ROUTE_METRICS:
		handle_metrics(a, resp);
		return;
	default:
		break;
	}
	if (!session_valid(req->session)) {
		error_answer(a, req, 400, "missing or malformed session "
		    "(SLUICE_SESSION must be 32 hex characters; is nginx in "
		    "front?)", 0, resp);
		return;
	}
	switch (m->id) {
	case ROUTE_INDEX:
		render_index(a, req, 200, NULL, resp);
		break;
	case ROUTE_TASK_SUBMIT:
		handle_submit(a, req, m->arg, resp);
		break;
	case ROUTE_JOB_PAGE:
		handle_job_page(a, req, m->arg, resp);
		break;
	case ROUTE_JOB_JSON:
		answer_job_json(a, m->arg, req->session, 200, resp);
		break;
	case ROUTE_JOB_PNG:
		handle_job_png(a, req, m->arg, resp);
		break;
	case ROUTE_JOB_CANCEL:
		handle_job_cancel(a, req, m->arg, resp);
		break;
	case ROUTE_SESSION:
		handle_session(a, req, resp);
		break;
	default:
		error_answer(a, req, 404, "not found", 0, resp);
		break;
	}
}
