/*
 * job: state names, ids, the job JSON, copies and clocks. See job.h for the
 * contract. Everything here is thread-safe: the only shared state is the
 * one-time libsodium initialisation, guarded by pthread_once.
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>
#include <sodium.h>

#include "buf.h"
#include "job.h"

static const char *const job_state_names[] = {
	"queued",	/* JOB_QUEUED */
	"running",	/* JOB_RUNNING */
	"done",		/* JOB_DONE */
	"failed",	/* JOB_FAILED */
	"expired",	/* JOB_EXPIRED */
	"cancelled"	/* JOB_CANCELLED */
};

#define JOB_STATE__MAX	(sizeof(job_state_names) / sizeof(job_state_names[0]))

static pthread_once_t	 job_sodium_once = PTHREAD_ONCE_INIT;

/*
 * Returns the name of a state, or NULL for a value outside the enum.
 * Thread-safe; the string is static.
 */
const char *
job_state_name(enum job_state st)
{
	if ((unsigned int)st >= JOB_STATE__MAX)
		return NULL;
	return job_state_names[st];
}

/* Returns the state named s, or -1 when s is NULL or not a state name. */
int
job_state_parse(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return -1;
	for (i = 0; i < JOB_STATE__MAX; i++)
		if (strcmp(s, job_state_names[i]) == 0)
			return (int)i;
	return -1;
}

/* 1 for done, failed, expired and cancelled; 0 otherwise (also invalid). */
int
job_state_final(enum job_state st)
{
	switch (st) {
	case JOB_DONE:
	case JOB_FAILED:
	case JOB_EXPIRED:
	case JOB_CANCELLED:
		return 1;
	default:
		return 0;
	}
}

static void
job_sodium_init(void)
{
	/*
	 * sodium_init() returns 0, or 1 when already initialised; -1 only
	 * when it cannot work at all. randombytes_buf() still reads the
	 * kernel's random source lazily in that case, so there is nothing
	 * useful to do about it here.
	 */
	if (sodium_init() < 0)
		return;
}

/*
 * Fills id with 32 lowercase hex characters (128 bits from libsodium's
 * randombytes_buf) and a NUL. Thread-safe; never fails.
 */
void
job_new_id(char id[JOB_ID_LEN + 1])
{
	static const char	 hex[] = "0123456789abcdef";
	unsigned char		 raw[JOB_ID_LEN / 2];
	size_t			 i;

	(void)pthread_once(&job_sodium_once, job_sodium_init);
	randombytes_buf(raw, sizeof(raw));
	for (i = 0; i < sizeof(raw); i++) {
		id[2 * i] = hex[raw[i] >> 4];
		id[2 * i + 1] = hex[raw[i] & 0x0f];
	}
	id[JOB_ID_LEN] = '\0';
	sodium_memzero(raw, sizeof(raw));
}

/* 1 when s is exactly 32 lowercase hex characters, else 0 (NULL too). */
int
job_id_valid(const char *s)
{
	size_t	 i;

	if (s == NULL)
		return 0;
	for (i = 0; i < JOB_ID_LEN; i++) {
		if ((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f'))
			continue;
		return 0;	/* also stops at a short string's NUL */
	}
	return s[JOB_ID_LEN] == '\0';
}

/* Appends ,"key":N or ,"key":null when v is not positive / meaningful. */
static void
job_json_int(struct buf *b, const char *key, int64_t v, int is_null)
{
	buf_printf(b, ",\"%s\":", key);
	if (is_null)
		buf_puts(b, "null");
	else
		buf_printf(b, "%lld", (long long)v);
}

/* Appends ,"key":RAW where RAW is already JSON; NULL or "" gives null. */
static void
job_json_raw(struct buf *b, const char *key, const char *raw)
{
	buf_printf(b, ",\"%s\":", key);
	if (raw == NULL || *raw == '\0')
		buf_puts(b, "null");
	else
		buf_puts(b, raw);
}

/* Adds "url": /jobs/ID/WHAT/NAME to file object f; 0 or -1. */
static int
job_file_url(json_t *f, const char *id, const char *what, const char *name)
{
	char	 url[160];

	if (!json_is_object(f) || name == NULL)
		return -1;
	snprintf(url, sizeof(url), "/jobs/%s/%s/%s", id, what, name);
	return json_object_set_new(f, "url", json_string(url));
}

/*
 * Appends ,"files":[...] (the worker's files, an array) or ,"inputs":{...}
 * (the uploads, by input name), each file with its URL; [] or {} when
 * the job has none, or when its text is unreadable (then logged nowhere:
 * the journal wrote it, so it cannot happen short of a hand edit).
 */
static void
job_json_files(struct buf *b, const char *id, const char *key,
    const char *text, int by_name)
{
	json_t		*v, *f;
	const char	*name;
	char		*out = NULL;
	size_t		 i;

	buf_printf(b, ",\"%s\":", key);
	v = text != NULL ? json_loads(text, 0, NULL) : NULL;
	if (by_name && json_is_object(v)) {
		json_object_foreach(v, name, f)
			if (job_file_url(f, id, key, name) == -1)
				goto empty;
	} else if (!by_name && json_is_array(v)) {
		json_array_foreach(v, i, f)
			if (job_file_url(f, id, key, json_string_value(
			    json_object_get(f, "name"))) == -1)
				goto empty;
	} else
		goto empty;
	if ((out = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER)) == NULL)
		goto empty;
	buf_puts(b, out);
	free(out);
	json_decref(v);
	return;
empty:
	json_decref(v);
	buf_puts(b, by_name ? "{}" : "[]");
}

/* 1 when c ends a path in an error message ("PATH: why", "'PATH'"). */
static int
job_path_ends(char c)
{
	return c == '\0' || strchr(" \t\n\"'),;:]", c) != NULL;
}

/* 1 when error[i] starts an absolute path: '/' at a word's start. */
static int
job_path_starts(const char *error, size_t i)
{
	return error[i] == '/' && error[i + 1] != '/' &&
	    !job_path_ends(error[i + 1]) && (i == 0 ||
	    strchr(" \t\n\"'(=[,", error[i - 1]) != NULL);
}

const char *
job_error_public(const char *error, char *out, size_t outlen)
{
	size_t	 i = 0, o = 0, last;

	if (error == NULL)
		return NULL;
	while (error[i] != '\0' && o + 1 < outlen) {
		if (!job_path_starts(error, i)) {
			out[o++] = error[i++];
			continue;
		}
		/* The path's last non-empty component replaces it. */
		for (last = i; !job_path_ends(error[i]); i++)
			if (error[i] == '/' && !job_path_ends(error[i + 1]) &&
			    error[i + 1] != '/')
				last = i + 1;
		for (; last < i && error[last] != '/' && o + 1 < outlen; last++)
			out[o++] = error[last];
	}
	out[o] = '\0';
	return out;
}

/*
 * Appends the job JSON object:
 * {"id","task","state","position","eta_ms","created_ms","started_ms",
 *  "finished_ms","locks","slot","device","params","result","error",
 *  "has_png","kernel","progress","progress_message","files","inputs",
 *  "files_removed_ms","saved"}; files_removed_ms is when its files were
 * removed to make room (null: never); saved is false while the state
 * shown is not journaled yet.
 * position and eta_ms are numbers only while queued (eta_ms -1 = null);
 * times are null when 0; slot null when negative; device null when "";
 * locks, params and result are inserted raw (they are JSON already) and
 * are null when NULL. The session and nonce are never written. Errors
 * surface through buf_ok(). Thread-safe for distinct buffers.
 */
void
job_to_json(const struct job *j, struct buf *b)
{
	char	 err[JOB_ERROR_SHOWN];
	int	 queued = j->state == JOB_QUEUED;

	buf_puts(b, "{\"id\":");
	buf_json_str(b, j->id);
	buf_puts(b, ",\"task\":");
	buf_json_str(b, j->task);
	buf_puts(b, ",\"state\":");
	buf_json_str(b, job_state_name(j->state));
	job_json_int(b, "position", j->position, !queued || j->position < 0);
	job_json_int(b, "eta_ms", j->eta_ms, !queued || j->eta_ms < 0);
	job_json_int(b, "created_ms", j->created_ms, j->created_ms == 0);
	job_json_int(b, "started_ms", j->started_ms, j->started_ms == 0);
	job_json_int(b, "finished_ms", j->finished_ms, j->finished_ms == 0);
	job_json_raw(b, "locks", j->locks);
	job_json_int(b, "slot", j->slot, j->slot < 0);
	buf_puts(b, ",\"device\":");
	buf_json_str(b, j->device[0] == '\0' ? NULL : j->device);
	job_json_raw(b, "params", j->params);
	job_json_raw(b, "result", j->result);
	buf_puts(b, ",\"error\":");
	buf_json_str(b, job_error_public(j->error, err, sizeof(err)));
	buf_puts(b, j->has_png ? ",\"has_png\":true" : ",\"has_png\":false");
	buf_puts(b, ",\"kernel\":");
	buf_json_str(b, j->kernel);
	buf_puts(b, ",\"progress\":");
	/* Done is all of it, whoever answers (the journal keeps no progress). */
	if (j->state == JOB_DONE)
		buf_puts(b, "1");
	else if (j->has_progress)
		buf_json_num(b, j->progress);
	else
		buf_puts(b, "null");
	buf_puts(b, ",\"progress_message\":");
	buf_json_str(b, j->progress_message);
	job_json_files(b, j->id, "files", j->files, 0);
	job_json_files(b, j->id, "inputs", j->inputs, 1);
	job_json_int(b, "files_removed_ms", j->removed_ms, j->removed_ms <= 0);
	buf_puts(b, j->unsaved ? ",\"saved\":false}" : ",\"saved\":true}");
}

/* strdup that maps NULL to NULL; sets *fail on allocation failure. */
static char *
job_strdup(const char *s, int *fail)
{
	char	*p;

	if (s == NULL)
		return NULL;
	if ((p = strdup(s)) == NULL)
		*fail = 1;
	return p;
}

/*
 * Deep copy of src into dst (dst's previous contents are not freed; dst
 * must not be src). Returns 0, or -1 on ENOMEM with dst zeroed.
 */
int
job_copy(struct job *dst, const struct job *src)
{
	int	 fail = 0;

	*dst = *src;
	dst->task = job_strdup(src->task, &fail);
	dst->kernel = job_strdup(src->kernel, &fail);
	dst->locks = job_strdup(src->locks, &fail);
	dst->params = job_strdup(src->params, &fail);
	dst->result = job_strdup(src->result, &fail);
	dst->error = job_strdup(src->error, &fail);
	dst->progress_message = job_strdup(src->progress_message, &fail);
	dst->inputs = job_strdup(src->inputs, &fail);
	dst->files = job_strdup(src->files, &fail);
	if (fail) {
		job_clear(dst);
		return -1;
	}
	return 0;
}

/* Frees the strings a job owns and zeroes the struct. NULL is a no-op. */
void
job_clear(struct job *j)
{
	if (j == NULL)
		return;
	free(j->task);
	free(j->kernel);
	free(j->locks);
	free(j->params);
	free(j->result);
	free(j->error);
	free(j->progress_message);
	free(j->inputs);
	free(j->files);
	memset(j, 0, sizeof(*j));
}

static int64_t
job_clock_ns(clockid_t clk)
{
	struct timespec	 ts;

	if (clock_gettime(clk, &ts) == -1)
		return 0;
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Wall clock in Unix milliseconds (CLOCK_REALTIME). */
int64_t
job_now_ms(void)
{
	return job_clock_ns(CLOCK_REALTIME) / 1000000;
}

/* Monotonic clock in milliseconds (CLOCK_MONOTONIC). */
int64_t
job_mono_ms(void)
{
	return job_clock_ns(CLOCK_MONOTONIC) / 1000000;
}

/* Monotonic clock in nanoseconds (CLOCK_MONOTONIC). */
int64_t
job_mono_ns(void)
{
	return job_clock_ns(CLOCK_MONOTONIC);
}
