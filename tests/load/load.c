/*
 * sluice-load: many concurrent clients through nginx submit burn jobs and
 * poll every accepted one to its end; then the job JSON timestamps are
 * checked: no lock ever had more holders than slots (a sweep line over
 * [started_ms, finished_ms) per lock, and per slot), every accepted job
 * ended done, every refusal was 503 or 429 with Retry-After.
 *
 * usage: sluice-load [-u BASE] [-c CLIENTS] [-n JOBS] [-m MIN-MAX]
 *                    [-w WINDOW] [-t TASK,TASK...] [-d DEADLINE_S]
 *
 * Each client has its own session (GET /session.json) and keeps at most
 * WINDOW jobs unfinished: one more than the server's sessions.max_active
 * makes some 429s on purpose. Prints one summary line and exits 0, or 1
 * with every violation on stderr, or 2 on a usage or setup error.
 */
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define LOAD_MAX_LOCKS		16
#define LOAD_MAX_TASKS		16
#define LOAD_MAX_VIOLATIONS	20

enum jstate { J_NONE, J_ACCEPTED, J_DONE, J_OTHER_FINAL, J_LOST };

struct lock_info {
	char	 name[64];
	int	 slots;
	int	 max_holders;
	int	 max_slot_holders;
	int64_t	 max_at_ms;
};

struct job_rec {
	char		 id[33];
	enum jstate	 st;
	char		 state[16];
	int		 task;
	int		 ms;
	int64_t		 created, started, finished;
	unsigned	 locks;		/* bit i: holds lock i */
	int		 first_lock;	/* index of its first lock, or -1 */
	int		 slot;
};

struct opts {
	const char	*base;
	int		 clients, jobs, ms_min, ms_max, window, deadline_s;
	char		*tasks[LOAD_MAX_TASKS];
	int		 ntasks;
	char		*tasks_buf;	/* what tasks[] point into */
};

struct run {
	struct opts		 o;
	struct lock_info	 locks[LOAD_MAX_LOCKS];
	int			 nlocks;
	struct job_rec		*jobs;
	atomic_int		 next;
	atomic_int		 accepted, r503, r429, rother;
	atomic_int		 violations;
	int64_t			 deadline_ns;
	pthread_mutex_t		 mu;		/* violation output */
};

struct client {
	struct run	*run;
	int		 no;
	CURL		*c;
	char		 sid[33];
	char		 csrf[65];
	unsigned	 seed;
	int		*pending;	/* job indexes not yet final, FIFO */
	int		 npending;
};

struct mem {
	char	*p;
	size_t	 len, cap;
	int	 oom;
};

static int64_t
mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void
sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* Records one violation (printed, first LOAD_MAX_VIOLATIONS only). */
static void	violation(struct run *, const char *, ...)
		    __attribute__((format(printf, 2, 3)));

static void
violation(struct run *r, const char *fmt, ...)
{
	va_list	 ap;
	int	 n = atomic_fetch_add(&r->violations, 1);

	if (n >= LOAD_MAX_VIOLATIONS)
		return;
	pthread_mutex_lock(&r->mu);
	fputs("load: VIOLATION: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&r->mu);
}

static size_t
mem_write(char *p, size_t size, size_t n, void *arg)
{
	struct mem	*m = arg;
	size_t		 add = size * n, ncap;
	char		*np;

	if (m->oom)
		return 0;
	if (m->len + add + 1 > m->cap) {
		ncap = m->cap > 0 ? m->cap : 4096;
		while (ncap < m->len + add + 1)
			ncap *= 2;
		if ((np = realloc(m->p, ncap)) == NULL) {
			m->oom = 1;
			return 0;
		}
		m->p = np;
		m->cap = ncap;
	}
	memcpy(m->p + m->len, p, add);
	m->len += add;
	m->p[m->len] = '\0';
	return add;
}

/*
 * One request on the client's handle (keep-alive). Body NULL: GET.
 * Returns the status, or -1 on a transport error; body and headers are
 * reset and filled (NUL-terminated when non-empty).
 */
static long
http(struct client *cl, const char *path, const char *body,
    struct mem *resp, struct mem *hdrs)
{
	struct curl_slist	*hl = NULL;
	char			 url[512], ck[64];
	long			 status = -1;
	CURLcode		 rc;

	resp->len = hdrs->len = 0;
	if (resp->p != NULL)
		resp->p[0] = '\0';
	if (hdrs->p != NULL)
		hdrs->p[0] = '\0';
	snprintf(url, sizeof(url), "%s%s", cl->run->o.base, path);
	curl_easy_reset(cl->c);
	curl_easy_setopt(cl->c, CURLOPT_URL, url);
	curl_easy_setopt(cl->c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(cl->c, CURLOPT_TIMEOUT, 60L);
	curl_easy_setopt(cl->c, CURLOPT_WRITEFUNCTION, mem_write);
	curl_easy_setopt(cl->c, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(cl->c, CURLOPT_HEADERFUNCTION, mem_write);
	curl_easy_setopt(cl->c, CURLOPT_HEADERDATA, hdrs);
	hl = curl_slist_append(hl, "Accept: application/json");
	hl = curl_slist_append(hl, "Expect:");
	if (body != NULL) {
		hl = curl_slist_append(hl, "Content-Type: "
		    "application/x-www-form-urlencoded");
		curl_easy_setopt(cl->c, CURLOPT_POSTFIELDS, body);
	}
	curl_easy_setopt(cl->c, CURLOPT_HTTPHEADER, hl);
	if (cl->sid[0] != '\0') {
		snprintf(ck, sizeof(ck), "sid=%s", cl->sid);
		curl_easy_setopt(cl->c, CURLOPT_COOKIE, ck);
	}
	if ((rc = curl_easy_perform(cl->c)) == CURLE_OK)
		curl_easy_getinfo(cl->c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	if (resp->oom || hdrs->oom)
		return -1;
	return status;
}

/* Copies the string value of "key" in json into out; 0 or -1. */
static int
json_str(const char *json, const char *key, char *out, size_t outlen)
{
	char		 pat[80];
	const char	*p;
	size_t		 n;

	snprintf(pat, sizeof(pat), "\"%s\":\"", key);
	if (json == NULL || (p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	n = strcspn(p, "\"");
	if (p[n] != '"' || n >= outlen)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

/* The integer value of "key" in json; -1 when absent or null. */
static int64_t
json_int(const char *json, const char *key)
{
	char		 pat[80];
	const char	*p;

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	if (json == NULL || (p = strstr(json, pat)) == NULL)
		return -1;
	p += strlen(pat);
	if (*p < '0' || *p > '9')
		return -1;
	return strtoll(p, NULL, 10);
}

static int
lock_index(const struct run *r, const char *name, size_t len)
{
	int i;

	for (i = 0; i < r->nlocks; i++)
		if (strlen(r->locks[i].name) == len &&
		    strncmp(r->locks[i].name, name, len) == 0)
			return i;
	return -1;
}

/* Fills j->locks and j->first_lock from "locks":["a","b"]; 0 or -1. */
static int
json_locks(const struct run *r, const char *json, struct job_rec *j)
{
	const char	*p, *q;
	int		 li;

	j->locks = 0;
	j->first_lock = -1;
	if ((p = strstr(json, "\"locks\":[")) == NULL)
		return -1;
	for (p += 9; *p == '"'; p = q + 1) {
		if ((q = strchr(p + 1, '"')) == NULL)
			return -1;
		if ((li = lock_index(r, p + 1, (size_t)(q - p - 1))) < 0)
			return -1;
		if (j->first_lock < 0)
			j->first_lock = li;
		j->locks |= 1u << li;
		if (q[1] == ',')
			q++;
	}
	return j->locks != 0 ? 0 : -1;
}

/*
 * Reads the locks and their slots from /status.json:
 * "locks":{"NAME":{"slots":N,...},...}. Returns 0 or -1.
 */
static int
load_locks(struct run *r, const char *json)
{
	const char	*p, *q;
	int		 depth;
	size_t		 n;

	if ((p = strstr(json, "\"locks\":{")) == NULL)
		return -1;
	p += 9;
	while (*p == '"') {
		if ((q = strchr(p + 1, '"')) == NULL ||
		    strncmp(q, "\":{\"slots\":", 11) != 0 ||
		    r->nlocks == LOAD_MAX_LOCKS)
			return -1;
		n = (size_t)(q - p - 1);
		if (n >= sizeof(r->locks[0].name))
			return -1;
		memcpy(r->locks[r->nlocks].name, p + 1, n);
		r->locks[r->nlocks].name[n] = '\0';
		r->locks[r->nlocks].slots = atoi(q + 11);
		if (r->locks[r->nlocks].slots <= 0)
			return -1;
		r->nlocks++;
		/* Skip the lock's object. */
		for (p = q + 2, depth = 0; *p != '\0'; p++) {
			if (*p == '{')
				depth++;
			else if (*p == '}' && --depth == 0)
				break;
		}
		if (*p != '}')
			return -1;
		p++;
		if (*p == ',')
			p++;
	}
	return r->nlocks > 0 ? 0 : -1;
}

static int
state_final(const char *s)
{
	return strcmp(s, "done") == 0 || strcmp(s, "failed") == 0 ||
	    strcmp(s, "expired") == 0 || strcmp(s, "cancelled") == 0;
}

/* Polls job k until it is final or the deadline passes. */
static void
poll_final(struct client *cl, int k, struct mem *resp, struct mem *hdrs)
{
	struct run	*r = cl->run;
	struct job_rec	*j = &r->jobs[k];
	char		 path[96];
	long		 st;
	int		 wait = 5;

	snprintf(path, sizeof(path), "/jobs/%s.json", j->id);
	for (;;) {
		st = http(cl, path, NULL, resp, hdrs);
		if (st != 200) {
			violation(r, "job %s: GET %s answered %ld", j->id, path,
			    st);
			j->st = J_LOST;
			return;
		}
		if (json_str(resp->p, "state", j->state, sizeof(j->state)) ==
		    0 && state_final(j->state))
			break;
		if (mono_ns() > r->deadline_ns) {
			violation(r, "job %s: still %s at the deadline", j->id,
			    j->state);
			j->st = J_LOST;
			return;
		}
		sleep_ms(wait);
		if (wait < 50)
			wait += 5;
	}
	j->created = json_int(resp->p, "created_ms");
	j->started = json_int(resp->p, "started_ms");
	j->finished = json_int(resp->p, "finished_ms");
	j->slot = (int)json_int(resp->p, "slot");
	if (json_locks(r, resp->p, j) == -1)
		violation(r, "job %s: unreadable locks: %.200s", j->id,
		    resp->p);
	if (strcmp(j->state, "done") != 0) {
		j->st = J_OTHER_FINAL;
		violation(r, "job %s ended %s, not done: %.300s", j->id,
		    j->state, resp->p);
		return;
	}
	j->st = J_DONE;
	if (j->started < 0 || j->finished < j->started ||
	    j->created < 0 || j->started < j->created)
		violation(r, "job %s: inconsistent times created=%lld "
		    "started=%lld finished=%lld", j->id, (long long)j->created,
		    (long long)j->started, (long long)j->finished);
}

/* Polls the oldest pending job of the client to its end. */
static void
poll_oldest(struct client *cl, struct mem *resp, struct mem *hdrs)
{
	if (cl->npending == 0)
		return;
	poll_final(cl, cl->pending[0], resp, hdrs);
	memmove(cl->pending, cl->pending + 1,
	    (size_t)(cl->npending - 1) * sizeof(int));
	cl->npending--;
}

static int
has_retry_after(const char *hdrs)
{
	const char *p;

	for (p = hdrs; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncasecmp(p, "Retry-After:", 12) == 0)
			return atoi(p + 12) > 0;
	}
	return 0;
}

static void *
client_main(void *arg)
{
	struct client	*cl = arg;
	struct run	*r = cl->run;
	struct job_rec	*j;
	struct mem	 resp = { 0 }, hdrs = { 0 };
	char		 body[256], path[128];
	long		 st;
	int		 k;

	if ((cl->c = curl_easy_init()) == NULL) {
		violation(r, "client %d: curl_easy_init failed", cl->no);
		return NULL;
	}
	/* A fresh session: nginx issues sid, the responder tells its token. */
	st = http(cl, "/session.json", NULL, &resp, &hdrs);
	if (st != 200 || json_str(resp.p, "session", cl->sid,
	    sizeof(cl->sid)) == -1 || json_str(resp.p, "csrf", cl->csrf,
	    sizeof(cl->csrf)) == -1) {
		violation(r, "client %d: /session.json answered %ld", cl->no,
		    st);
		goto out;
	}
	while ((k = atomic_fetch_add(&r->next, 1)) < r->o.jobs) {
		while (cl->npending >= r->o.window)
			poll_oldest(cl, &resp, &hdrs);
		j = &r->jobs[k];
		j->task = k % r->o.ntasks;
		j->ms = r->o.ms_min + (r->o.ms_max > r->o.ms_min ?
		    (int)(rand_r(&cl->seed) % (unsigned)(r->o.ms_max -
		    r->o.ms_min + 1)) : 0);
		snprintf(body, sizeof(body), "csrf=%s&ms=%d&nonce=c%d-j%d",
		    cl->csrf, j->ms, cl->no, k);
		snprintf(path, sizeof(path), "/tasks/%s", r->o.tasks[j->task]);
		st = http(cl, path, body, &resp, &hdrs);
		if (st == 202 && json_str(resp.p, "id", j->id,
		    sizeof(j->id)) == 0 && strlen(j->id) == 32) {
			j->st = J_ACCEPTED;
			atomic_fetch_add(&r->accepted, 1);
			cl->pending[cl->npending++] = k;
			continue;
		}
		if (st == 503 || st == 429) {
			atomic_fetch_add(st == 503 ? &r->r503 : &r->r429, 1);
			if (!has_retry_after(hdrs.p))
				violation(r, "refusal %ld without Retry-After",
				    st);
			/* Let something finish before the next try. */
			if (st == 429)
				poll_oldest(cl, &resp, &hdrs);
			else
				sleep_ms(20);
			continue;
		}
		atomic_fetch_add(&r->rother, 1);
		violation(r, "client %d: POST /tasks/%s answered %ld: %.200s",
		    cl->no, r->o.tasks[j->task], st, resp.p != NULL ? resp.p :
		    "");
	}
	while (cl->npending > 0)
		poll_oldest(cl, &resp, &hdrs);
out:
	free(resp.p);
	free(hdrs.p);
	curl_easy_cleanup(cl->c);
	return NULL;
}

struct event {
	int64_t	 t;
	int	 d;	/* -1 release, +1 acquire */
	int	 job;
};

/* Releases before acquires at the same ms: holding is [start, finish). */
static int
event_cmp(const void *a, const void *b)
{
	const struct event *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->d - y->d;
}

/*
 * Max simultaneous holders among the done jobs selected by (lock, slot):
 * slot -1 selects every holder of lock li; otherwise only the jobs whose
 * first lock is li and that ran in that slot. *at gets the first ms at
 * which the max was reached.
 */
static int
sweep(struct run *r, int li, int slot, struct event *ev, int64_t *at)
{
	struct job_rec	*j;
	int		 i, n = 0, cur = 0, max = 0;

	for (i = 0; i < r->o.jobs; i++) {
		j = &r->jobs[i];
		if (j->st != J_DONE || !(j->locks & (1u << li)))
			continue;
		if (slot >= 0 && (j->first_lock != li || j->slot != slot))
			continue;
		if (j->finished <= j->started)
			continue;	/* [s, s) is empty */
		ev[n++] = (struct event){ j->started, +1, i };
		ev[n++] = (struct event){ j->finished, -1, i };
	}
	qsort(ev, (size_t)n, sizeof(*ev), event_cmp);
	*at = -1;
	for (i = 0; i < n; i++) {
		cur += ev[i].d;
		if (cur > max) {
			max = cur;
			*at = ev[i].t;
		}
	}
	return max;
}

/* Lists the jobs holding lock li at ms t (for a violation message). */
static void
holders_at(struct run *r, int li, int64_t t)
{
	struct job_rec	*j;
	int		 i;

	for (i = 0; i < r->o.jobs; i++) {
		j = &r->jobs[i];
		if (j->st == J_DONE && (j->locks & (1u << li)) &&
		    j->started <= t && t < j->finished)
			fprintf(stderr, "load:   holder %s [%lld, %lld) slot %d\n",
			    j->id, (long long)j->started,
			    (long long)j->finished, j->slot);
	}
}

static void
check_locks(struct run *r)
{
	struct event	*ev;
	struct lock_info *L;
	int64_t		 at;
	int		 li, s, m, i;

	if ((ev = calloc((size_t)r->o.jobs * 2 + 1, sizeof(*ev))) == NULL) {
		violation(r, "out of memory");
		return;
	}
	for (i = 0; i < r->o.jobs; i++) {
		struct job_rec *j = &r->jobs[i];

		if (j->st == J_DONE && j->first_lock >= 0 && (j->slot < 0 ||
		    j->slot >= r->locks[j->first_lock].slots))
			violation(r, "job %s: slot %d outside 0..%d of %s",
			    j->id, j->slot, r->locks[j->first_lock].slots - 1,
			    r->locks[j->first_lock].name);
	}
	for (li = 0; li < r->nlocks; li++) {
		L = &r->locks[li];
		L->max_holders = sweep(r, li, -1, ev, &L->max_at_ms);
		if (L->max_holders > L->slots) {
			violation(r, "lock %s: %d holders at %lld ms, %d slots",
			    L->name, L->max_holders, (long long)L->max_at_ms,
			    L->slots);
			holders_at(r, li, L->max_at_ms);
		}
		for (s = 0; s < L->slots; s++) {
			m = sweep(r, li, s, ev, &at);
			if (m > L->max_slot_holders)
				L->max_slot_holders = m;
			if (m > 1)
				violation(r, "lock %s slot %d: %d jobs at %lld "
				    "ms", L->name, s, m, (long long)at);
		}
	}
	free(ev);
}

static void
usage(void)
{
	fprintf(stderr, "usage: sluice-load [-u BASE] [-c CLIENTS] [-n JOBS] "
	    "[-m MIN-MAX] [-w WINDOW]\n"
	    "                   [-t TASK,TASK...] [-d DEADLINE_S]\n");
	exit(2);
}

static int
parse_int(const char *s, int min, int max)
{
	char	*end;
	long	 v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		usage();
	return (int)v;
}

static void
parse_opts(struct opts *o, int argc, char **argv)
{
	char	*p, *tok, *save = NULL, *dash;
	int	 ch;

	o->base = "http://127.0.0.1:8080";
	o->clients = 64;
	o->jobs = 2000;
	o->ms_min = 0;
	o->ms_max = 20;
	o->window = 5;
	o->deadline_s = 600;
	p = strdup("burn_one,burn_pool,burn_both");
	while ((ch = getopt(argc, argv, "u:c:n:m:w:t:d:h")) != -1) {
		switch (ch) {
		case 'u': o->base = optarg; break;
		case 'c': o->clients = parse_int(optarg, 1, 4096); break;
		case 'n': o->jobs = parse_int(optarg, 1, 10000000); break;
		case 'w': o->window = parse_int(optarg, 1, 1000); break;
		case 'd': o->deadline_s = parse_int(optarg, 1, 86400); break;
		case 'm':
			if ((dash = strchr(optarg, '-')) == NULL)
				usage();
			*dash = '\0';
			o->ms_min = parse_int(optarg, 0, 600000);
			o->ms_max = parse_int(dash + 1, o->ms_min, 600000);
			break;
		case 't':
			free(p);
			p = strdup(optarg);
			break;
		default:
			usage();
		}
	}
	if (p == NULL)
		usage();
	o->tasks_buf = p;
	for (tok = strtok_r(p, ",", &save); tok != NULL;
	    tok = strtok_r(NULL, ",", &save))
		if (o->ntasks < LOAD_MAX_TASKS)
			o->tasks[o->ntasks++] = tok;
	if (o->ntasks == 0)
		usage();
}

int
main(int argc, char **argv)
{
	struct run	 r;
	struct client	*cls = NULL, setup_cl;
	struct mem	 resp = { 0 }, hdrs = { 0 };
	pthread_t	*th = NULL;
	int64_t		 t0;
	int		 i, started = 0, final = 0, lost = 0, rc = 2;
	char		 line[512];
	size_t		 off;

	memset(&r, 0, sizeof(r));
	parse_opts(&r.o, argc, argv);
	pthread_mutex_init(&r.mu, NULL);
	if (curl_global_init(CURL_GLOBAL_ALL) != 0)
		return 2;
	memset(&setup_cl, 0, sizeof(setup_cl));
	setup_cl.run = &r;
	if ((setup_cl.c = curl_easy_init()) == NULL)
		goto out;
	if (http(&setup_cl, "/status.json", NULL, &resp, &hdrs) != 200 ||
	    load_locks(&r, resp.p) == -1) {
		fprintf(stderr, "load: cannot read the locks from %s/status.json"
		    "\n", r.o.base);
		goto out;
	}
	r.jobs = calloc((size_t)r.o.jobs, sizeof(*r.jobs));
	cls = calloc((size_t)r.o.clients, sizeof(*cls));
	th = calloc((size_t)r.o.clients, sizeof(*th));
	if (r.jobs == NULL || cls == NULL || th == NULL)
		goto out;
	t0 = mono_ns();
	r.deadline_ns = t0 + (int64_t)r.o.deadline_s * 1000000000;
	for (i = 0; i < r.o.clients; i++) {
		cls[i].run = &r;
		cls[i].no = i;
		cls[i].seed = (unsigned)time(NULL) ^ (unsigned)(i * 2654435761u);
		if ((cls[i].pending = calloc((size_t)r.o.window + 1,
		    sizeof(int))) == NULL)
			goto join;
		if (pthread_create(&th[i], NULL, client_main, &cls[i]) != 0)
			goto join;
		started++;
	}
join:
	for (i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	if (started < r.o.clients) {
		fprintf(stderr, "load: started %d of %d clients\n", started,
		    r.o.clients);
		goto out;
	}
	for (i = 0; i < r.o.jobs; i++) {
		if (r.jobs[i].st == J_ACCEPTED || r.jobs[i].st == J_LOST)
			lost++;
		if (r.jobs[i].st == J_DONE || r.jobs[i].st == J_OTHER_FINAL)
			final++;
	}
	if (lost > 0)
		violation(&r, "%d accepted jobs never reached a final state",
		    lost);
	if (atomic_load(&r.accepted) + atomic_load(&r.r503) +
	    atomic_load(&r.r429) + atomic_load(&r.rother) != r.o.jobs)
		violation(&r, "submissions do not add up");
	check_locks(&r);
	off = 0;
	line[0] = '\0';
	for (i = 0; i < r.nlocks && off < sizeof(line); i++)
		off += (size_t)snprintf(line + off, sizeof(line) - off,
		    " %s=%d/%d", r.locks[i].name, r.locks[i].max_holders,
		    r.locks[i].slots);
	printf("load: jobs=%d accepted=%d final=%d refused_503=%d "
	    "refused_429=%d other=%d max_holders%s wall_s=%.2f "
	    "violations=%d\n", r.o.jobs, atomic_load(&r.accepted), final,
	    atomic_load(&r.r503), atomic_load(&r.r429),
	    atomic_load(&r.rother), line, (double)(mono_ns() - t0) / 1e9,
	    atomic_load(&r.violations));
	rc = atomic_load(&r.violations) > 0 ? 1 : 0;
out:
	if (cls != NULL)
		for (i = 0; i < r.o.clients; i++)
			free(cls[i].pending);
	free(cls);
	free(th);
	free(r.jobs);
	free(resp.p);
	free(hdrs.p);
	if (setup_cl.c != NULL)
		curl_easy_cleanup(setup_cl.c);
	curl_global_cleanup();
	free(r.o.tasks_buf);
	return rc;
}
