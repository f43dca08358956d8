/*
 * Unit tests for app: the CSRF secret file (app_load_secret), created
 * once whole even when responders start together; and the handlers at
 * the FastCGI level: app_handle() with a struct http_req made from an
 * envp as libfcgi gives it, over a real scheduler (jobs run a gated test
 * hook, or the real kernels) and journal in a temporary directory.
 */
#include "config.h"

#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <jansson.h>

#include "app.h"
#include "exec.h"
#include "app_int.h"	/* app_stats_snapshot */
#include "kernel.h"
#include "metrics.h"
#include "stats_read.h"
#include "params.h"

/* Racing responders per round, and rounds. */
#define RACERS	8
#define ROUNDS	25

static void
fresh_dir(char *dir, size_t len)
{
	snprintf(dir, len, "/tmp/sluice-app.XXXXXX");
	cr_assert_not_null(mkdtemp(dir));
}

/* Files in dir, "." and ".." aside. */
static int
count_files(const char *dir)
{
	DIR		*d;
	struct dirent	*e;
	int		 n = 0;

	cr_assert_not_null(d = opendir(dir));
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void
remove_dir(const char *dir)
{
	char	 cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	cr_expect_eq(system(cmd), 0);
}

static void
read_secret_file(const char *dir, unsigned char out[APP_SECRET_LEN])
{
	char	 path[PATH_MAX];
	FILE	*f;

	snprintf(path, sizeof(path), "%s/secret", dir);
	cr_assert_not_null(f = fopen(path, "rb"), "%s", path);
	cr_assert_eq(fread(out, 1, APP_SECRET_LEN, f), APP_SECRET_LEN);
	cr_expect_eq(fgetc(f), EOF, "%s: longer than the secret", path);
	fclose(f);
}

Test(app_secret, created_0600_whole_and_kept)
{
	char		 dir[64], path[PATH_MAX], err[512];
	unsigned char	 a[APP_SECRET_LEN], b[APP_SECRET_LEN];
	unsigned char	 file[APP_SECRET_LEN];
	struct stat	 st;

	fresh_dir(dir, sizeof(dir));
	cr_assert_eq(app_load_secret(dir, a, err, sizeof(err)), 0, "%s", err);
	snprintf(path, sizeof(path), "%s/secret", dir);
	cr_assert_eq(stat(path, &st), 0);
	cr_expect_eq(st.st_mode & 07777, 0600, "mode %o", st.st_mode & 07777);
	cr_expect_eq(st.st_size, APP_SECRET_LEN);
	read_secret_file(dir, file);
	cr_expect_eq(memcmp(a, file, APP_SECRET_LEN), 0);
	/* No temporary file is left behind. */
	cr_expect_eq(count_files(dir), 1);
	/* A restart reads the same secret. */
	cr_assert_eq(app_load_secret(dir, b, err, sizeof(err)), 0, "%s", err);
	cr_expect_eq(memcmp(a, b, APP_SECRET_LEN), 0);
	remove_dir(dir);
}

/*
 * Responders starting together on one state directory all start, with
 * the secret the file holds. The old create-then-write let a loser read
 * the file empty ("expected 32 bytes").
 */
Test(app_secret, racing_starts_share_one_secret, .timeout = 60)
{
	char		 dir[64], err[512];
	unsigned char	 got[RACERS][APP_SECRET_LEN], file[APP_SECRET_LEN];
	int		 go[2], out[RACERS][2], round, i, st;
	pid_t		 pid[RACERS];
	char		 c;

	for (round = 0; round < ROUNDS; round++) {
		fresh_dir(dir, sizeof(dir));
		cr_assert_eq(pipe(go), 0);
		for (i = 0; i < RACERS; i++) {
			cr_assert_eq(pipe(out[i]), 0);
			cr_assert_neq(pid[i] = fork(), -1);
			if (pid[i] == 0) {
				unsigned char s[APP_SECRET_LEN];

				close(go[1]);
				/* Wait for the start: the parent closes go. */
				(void)read(go[0], &c, 1);
				if (app_load_secret(dir, s, err,
				    sizeof(err)) == -1) {
					fprintf(stderr, "%s\n", err);
					_exit(1);
				}
				if (write(out[i][1], s, sizeof(s)) !=
				    (ssize_t)sizeof(s))
					_exit(2);
				_exit(0);
			}
			close(out[i][1]);
		}
		close(go[0]);
		close(go[1]);
		for (i = 0; i < RACERS; i++) {
			cr_assert_eq(waitpid(pid[i], &st, 0), pid[i]);
			cr_expect(WIFEXITED(st) && WEXITSTATUS(st) == 0,
			    "round %d: responder %d failed to start", round,
			    i);
			cr_expect_eq(read(out[i][0], got[i], APP_SECRET_LEN),
			    APP_SECRET_LEN);
			close(out[i][0]);
		}
		read_secret_file(dir, file);
		for (i = 0; i < RACERS; i++)
			cr_expect_eq(memcmp(got[i], file, APP_SECRET_LEN), 0,
			    "round %d: responder %d has another secret",
			    round, i);
		cr_expect_eq(count_files(dir), 1, "round %d: files left",
		    round);
		remove_dir(dir);
	}
}

/*
 * An empty or short secret (an older sluice stopped between creating and
 * writing it) is refused with a message that names the file and says what
 * to do, and is left as it is.
 */
Test(app_secret, short_file_refused_naming_it)
{
	char		 dir[64], path[PATH_MAX], err[512];
	unsigned char	 s[APP_SECRET_LEN];
	const size_t	 sizes[] = { 0, 5, APP_SECRET_LEN - 1 };
	struct stat	 st;
	FILE		*f;
	size_t		 i;

	fresh_dir(dir, sizeof(dir));
	snprintf(path, sizeof(path), "%s/secret", dir);
	for (i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		cr_assert_not_null(f = fopen(path, "wb"));
		memset(s, 'x', sizeof(s));
		cr_assert_eq(fwrite(s, 1, sizes[i], f), sizes[i]);
		fclose(f);
		memset(s, 0x55, sizeof(s));
		cr_expect_eq(app_load_secret(dir, s, err, sizeof(err)), -1,
		    "%zu bytes accepted", sizes[i]);
		cr_expect(strncmp(err, path, strlen(path)) == 0 &&
		    strstr(err, "delete it") != NULL, "%s", err);
		cr_expect(s[0] == 0 && s[APP_SECRET_LEN - 1] == 0,
		    "secret not cleared on error");
		cr_assert_eq(stat(path, &st), 0);
		cr_expect_eq((size_t)st.st_size, sizes[i], "file changed");
	}
	/* Once deleted, the next start makes a new one. */
	cr_assert_eq(unlink(path), 0);
	cr_expect_eq(app_load_secret(dir, s, err, sizeof(err)), 0, "%s", err);
	remove_dir(dir);
}

/* ---------------------------------------------------------------------- */
/* Handlers at the FastCGI level */

#define SID_A	"0000000000000000000000000000000a"
#define SID_B	"0000000000000000000000000000000b"
#define SID_C	"0000000000000000000000000000000c"

/*
 * Task burn waits on lock cpu (one slot, four waiters); task mb on lock
 * one (one slot, no waiter); max_active 2 per session.
 */
static const char conf_text[] =
    "server = { threads = 4; drain_timeout = 7; };\n"
    "sessions = { max_active = 2; };\n"
    "locks = { cpu = { slots = 1; queue = 4; };\n"
    "  one = { slots = 1; queue = 0; order = \"fair\"; }; };\n"
    "tasks = {\n"
    "  burn = { kernel = \"burn\"; locks = [\"cpu\"];\n"
    "    title = \"Burn <it>\"; };\n"
    "  mb = { kernel = \"mandelbrot\"; locks = [\"one\"]; };\n"
    "};\n";

/* Jobs run this hook while gated is 0 or the gate is open. */
struct gate {
	pthread_mutex_t	 mu;
	pthread_cond_t	 cv;
	int		 gated, open, inside;
};

static struct {
	char		 dir[64];
	struct conf	*conf, *other;	/* other: a conf only sched has */
	struct tmpl_set	*tmpl;
	struct journal	*jr;
	struct sched	*s;
	struct exec	*exec;		/* the real workers, or NULL */
	struct app	*app;
	struct gate	 gate;
} fx;

static int
gate_hook(const struct job *job, const int *slots, int device, void *arg,
    char *err, size_t errlen)
{
	struct gate	*g = arg;

	(void)job, (void)slots, (void)device, (void)err, (void)errlen;
	pthread_mutex_lock(&g->mu);
	g->inside++;
	pthread_cond_broadcast(&g->cv);
	while (g->gated && !g->open)
		pthread_cond_wait(&g->cv, &g->mu);
	g->inside--;
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static void
gate_open(void)
{
	pthread_mutex_lock(&fx.gate.mu);
	fx.gate.open = 1;
	pthread_cond_broadcast(&fx.gate.cv);
	pthread_mutex_unlock(&fx.gate.mu);
}

/* Waits until n jobs are inside the hook (held at the gate). */
static void
gate_wait_inside(int n)
{
	struct timespec	 ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += 20;
	pthread_mutex_lock(&fx.gate.mu);
	while (fx.gate.inside < n)
		if (pthread_cond_timedwait(&fx.gate.cv, &fx.gate.mu, &ts) != 0)
			break;
	pthread_mutex_unlock(&fx.gate.mu);
	cr_assert_geq(fx.gate.inside, n, "jobs did not start");
}

static struct conf *
load_conf(const char *text)
{
	struct conf	*c;
	char		 err[512];

	c = conf_load_string(text, "test.conf", err, sizeof(err));
	cr_assert_not_null(c, "%s", err);
	return c;
}

static struct tmpl_set *
load_templates(void)
{
	const char	*top = getenv("top_srcdir");
	char		 dir[PATH_MAX], err[512];
	struct tmpl_set	*t;

	snprintf(dir, sizeof(dir), "%s/templates", top != NULL ? top : ".");
	t = tmpl_load_dir(dir, err, sizeof(err));
	cr_assert_not_null(t, "%s", err);
	return t;
}

/* The built-in kernels' worker of the build tree. */
static void
kernel_worker(char *out, size_t len)
{
	const char	*top = getenv("top_builddir");

	snprintf(out, len, "%s/sluice-worker", top != NULL ? top : ".");
}

/*
 * The app over conf_text; jobs run the gated hook, or the real kernels
 * in their worker processes (sluice-worker, supervised).
 */
static void
setup_with(const char *text, int hooked)
{
	struct sched_opts	 o;
	unsigned char		 secret[APP_SECRET_LEN];
	char			 err[512], worker[4096];

	memset(&fx, 0, sizeof(fx));
	pthread_mutex_init(&fx.gate.mu, NULL);
	pthread_cond_init(&fx.gate.cv, NULL);
	fx.gate.gated = 1;
	fx.conf = load_conf(text);
	fx.tmpl = load_templates();
	snprintf(fx.dir, sizeof(fx.dir), "/tmp/sluice-app.XXXXXX");
	cr_assert_not_null(mkdtemp(fx.dir));
	fx.jr = journal_open(fx.dir, err, sizeof(err));
	cr_assert_not_null(fx.jr, "%s", err);
	memset(&o, 0, sizeof(o));
	if (hooked) {
		o.run_hook = gate_hook;
		o.run_arg = &fx.gate;
	} else {
		kernel_worker(worker, sizeof(worker));
		fx.exec = exec_create(fx.conf, fx.dir, worker, stderr, 0, err,
		    sizeof(err));
		cr_assert_not_null(fx.exec, "%s", err);
		o.exec = exec_ops(fx.exec);
	}
	fx.s = sched_create(fx.conf, fx.jr, &o, err, sizeof(err));
	cr_assert_not_null(fx.s, "%s", err);
	if (fx.exec != NULL)
		cr_assert_eq(exec_start(fx.exec, fx.s, err, sizeof(err)), 0,
		    "%s", err);
	memset(secret, 0x5a, sizeof(secret));
	cr_assert_not_null(fx.app = app_create(fx.conf, fx.tmpl, fx.s, fx.jr,
	    secret));
}

static void
setup_hooked(void)
{
	setup_with(conf_text, 1);
}

static void
setup_real(void)
{
	setup_with(conf_text, 0);
	fx.gate.gated = 0;
}

static void
teardown(void)
{
	gate_open();
	exec_destroy(fx.exec);
	sched_destroy(fx.s);
	app_free(fx.app);
	journal_close(fx.jr);
	tmpl_free(fx.tmpl);
	conf_free(fx.conf);
	if (fx.other != NULL)
		conf_free(fx.other);
	remove_dir(fx.dir);
}

TestSuite(app_http, .init = setup_hooked, .fini = teardown, .timeout = 60);
TestSuite(app_run, .init = setup_real, .fini = teardown, .timeout = 60);

/* What a request sends. */
struct ask {
	const char	*method, *path;
	const char	*session;	/* NULL: none */
	const char	*body;		/* NULL: none */
	int		 json;		/* Accept: application/json */
	const char	*csrf_header;	/* X-CSRF-Token, or NULL */
	const char	*content_type;	/* NULL: urlencoded with a body */
};

/*
 * Answers one request into resp as server.c does: the params copied out
 * of an envp, route_find, app_error for 404/405, else app_handle.
 * Returns the route's head flag.
 */
static int
serve(const struct ask *q, struct http_resp *resp)
{
	char			 env[8][512], *envp[9], allow[32];
	struct http_req		 req;
	struct route_match	 m;
	int			 n = 0, st;

	snprintf(env[n++], sizeof(env[0]), "REQUEST_METHOD=%s", q->method);
	snprintf(env[n++], sizeof(env[0]), "REQUEST_URI=%s", q->path);
	if (q->session != NULL)
		snprintf(env[n++], sizeof(env[0]), "SLUICE_SESSION=%s",
		    q->session);
	if (q->json)
		snprintf(env[n++], sizeof(env[0]),
		    "HTTP_ACCEPT=application/json");
	if (q->csrf_header != NULL)
		snprintf(env[n++], sizeof(env[0]), "HTTP_X_CSRF_TOKEN=%s",
		    q->csrf_header);
	if (q->body != NULL) {
		snprintf(env[n++], sizeof(env[0]), "CONTENT_TYPE=%s",
		    q->content_type != NULL ? q->content_type :
		    "application/x-www-form-urlencoded");
		snprintf(env[n++], sizeof(env[0]), "CONTENT_LENGTH=%zu",
		    strlen(q->body));
	}
	for (st = 0; st < n; st++)
		envp[st] = env[st];
	envp[n] = NULL;
	cr_assert_eq(http_req_init(&req, envp), 0);
	if (q->body != NULL) {
		cr_assert_not_null(req.body = strdup(q->body));
		req.body_len = strlen(q->body);
	}
	http_resp_init(resp);
	memset(&m, 0, sizeof(m));
	st = route_find(req.method, req.path, &m, allow, sizeof(allow));
	if (st == 405) {
		http_resp_header(resp, "Allow", allow);
		app_error(fx.app, &req, 405, "this method is not allowed here",
		    resp);
	} else if (st == 404)
		app_error(fx.app, &req, 404, "not found", resp);
	else
		app_handle(fx.app, &req, &m, resp);
	http_req_free(&req);
	return m.head;
}

/* The value of header name in resp, or NULL; a static buffer. */
static const char *
header(const struct http_resp *resp, const char *name)
{
	static char	 v[512];
	const char	*p = resp->headers.data, *e;
	size_t		 n = strlen(name);

	for (; p != NULL && *p != '\0'; p = e + 2) {
		if ((e = strstr(p, "\r\n")) == NULL)
			break;
		if (strncmp(p, name, n) == 0 && p[n] == ':' &&
		    p[n + 1] == ' ') {
			snprintf(v, sizeof(v), "%.*s", (int)(e - p - n - 2),
			    p + n + 2);
			return v;
		}
	}
	return NULL;
}

static const char *
body(struct http_resp *resp)
{
	return buf_cstr(&resp->body);
}

static void
csrf(const char *session, char tok[65])
{
	app_csrf_token(fx.app, session, tok);
}

/* POSTs fields (csrf added) to /tasks/task; the answer in resp. */
static void
submit(const char *task, const char *session, const char *fields, int json,
    struct http_resp *resp)
{
	char		 path[96], form[1024], tok[65];
	struct ask	 q = { "POST", path, session, form, json, NULL, NULL };

	csrf(session, tok);
	snprintf(path, sizeof(path), "/tasks/%s", task);
	snprintf(form, sizeof(form), "csrf=%s%s%s", tok, fields[0] != '\0' ?
	    "&" : "", fields);
	serve(&q, resp);
}

/* Submits and expects 303; the job id into id. */
static void
submit_ok(const char *task, const char *session, const char *fields,
    char id[JOB_ID_LEN + 1])
{
	struct http_resp	 r;
	const char		*loc;

	submit(task, session, fields, 0, &r);
	cr_assert_eq(r.status, 303, "%d: %s", r.status, body(&r));
	cr_assert_not_null(loc = header(&r, "Location"));
	cr_assert_eq(strncmp(loc, "/jobs/", 6), 0, "%s", loc);
	cr_assert_eq(strlen(loc + 6), JOB_ID_LEN, "%s", loc);
	memcpy(id, loc + 6, JOB_ID_LEN + 1);
	http_resp_free(&r);
}

static enum job_state
state_of(const char *id)
{
	struct job	 j;
	enum job_state	 st;

	memset(&j, 0, sizeof(j));
	cr_assert_eq(sched_lookup(fx.s, id, NULL, &j), SCHED_OK);
	st = j.state;
	job_clear(&j);
	return st;
}

/* Waits until job id has ended (the scheduler's condition, not a timer). */
static void
wait_final(const char *id)
{
	int	 i;

	for (i = 0; i < 20000 && !job_state_final(state_of(id)); i++)
		usleep(1000);
	cr_assert(job_state_final(state_of(id)), "job %s did not end", id);
}

/* GET path for session, JSON or not. */
static void
get(const char *path, const char *session, int json, struct http_resp *r)
{
	struct ask	 q = { "GET", path, session, NULL, json, NULL, NULL };

	serve(&q, r);
}

/* A JSON body, parsed. */
static json_t *
json_body(struct http_resp *r)
{
	json_t	*o = json_loads(body(r), JSON_REJECT_DUPLICATES, NULL);

	cr_assert_not_null(o, "not JSON: %s", body(r));
	return o;
}

/* The message kernel_parse_param gives text for parameter name of kernel. */
static void
param_error(const char *kernel, const char *name, const char *text,
    char *err, size_t errlen)
{
	const struct kernel_spec *k = kernel_find(kernel);
	json_t			*v;

	cr_assert_not_null(k);
	v = params_value_from_text(&k->params[kernel_param_index(k, name)],
	    text, err, errlen);
	cr_assert_null(v, "%s accepted", text);
}

/* ---- the app page ---- */

Test(app_http, index_renders_every_task_form)
{
	struct http_resp	 r;
	char			 tok[65], want[128];

	get("/", SID_A, 0, &r);
	cr_assert_eq(r.status, 200, "%s", body(&r));
	cr_expect_str_eq(header(&r, "Content-Type"),
	    "text/html; charset=utf-8");
	cr_expect_str_eq(header(&r, "Cache-Control"), "no-store");
	csrf(SID_A, tok);
	snprintf(want, sizeof(want), "name=\"csrf\" value=\"%s\"", tok);
	cr_expect_not_null(strstr(body(&r), want));
	cr_expect_not_null(strstr(body(&r), "action=\"/tasks/burn\""));
	cr_expect_not_null(strstr(body(&r), "<h3>Burn &lt;it&gt;</h3>"));
	/* The kernel's title when the task has none. */
	cr_expect_not_null(strstr(body(&r), "action=\"/tasks/mb\""));
	cr_expect_not_null(strstr(body(&r), "name=\"ms\" value=\"1000\" "
	    "min=\"0\" max=\"600000\" step=\"1\""), "%s", body(&r));
	cr_expect_not_null(strstr(body(&r), "name=\"scale\" value=\"3\" "
	    "min=\"1e-13\" max=\"16\" step=\"any\""));
	cr_expect_not_null(strstr(body(&r), "data-lock=\"one\""));
	cr_expect_not_null(strstr(body(&r), "No jobs yet"));
	http_resp_free(&r);
}

/*
 * The app page is pre-rendered once per generation and shape, with holes
 * for what is the session's: each session still sees its own token and
 * jobs only, each form its own nonce, and a job's new state at once.
 */
Test(app_http, index_pre_rendered_yet_each_sessions_own)
{
	struct http_resp	 ra, rb, ra2;
	char			 tok[65], want[160], id[JOB_ID_LEN + 1];
	const char		*n1, *n2;

	submit_ok("burn", SID_A, "ms=1", id);
	get("/", SID_A, 0, &ra);
	snprintf(want, sizeof(want), "<code>%.8s</code></a> burn <span "
	    "class=\"state state-", id);
	cr_assert_not_null(n1 = strstr(body(&ra), want), "%s", body(&ra));
	n1 += strlen(want);
	cr_expect(strncmp(n1, "queued", 6) == 0 ||
	    strncmp(n1, "running", 7) == 0, "%.20s", n1);
	http_resp_free(&ra);
	gate_open();
	wait_final(id);
	get("/", SID_A, 0, &ra);
	get("/", SID_B, 0, &rb);
	get("/", SID_A, 0, &ra2);
	cr_assert_eq(ra.status, 200);
	cr_assert_eq(rb.status, 200);
	csrf(SID_A, tok);
	snprintf(want, sizeof(want), "name=\"csrf\" value=\"%s\"", tok);
	cr_expect_not_null(strstr(body(&ra), want));
	cr_expect_null(strstr(body(&rb), want), "B never gets A's token");
	csrf(SID_B, tok);
	snprintf(want, sizeof(want), "name=\"csrf\" value=\"%s\"", tok);
	cr_expect_not_null(strstr(body(&rb), want));
	snprintf(want, sizeof(want), "<a href=\"/jobs/%s\"><code>%.8s</code>"
	    "</a> burn <span class=\"state state-done\">done</span>", id, id);
	cr_expect_not_null(strstr(body(&ra), want), "%s", body(&ra));
	cr_expect_null(strstr(body(&rb), id), "B never sees A's jobs");
	cr_expect_not_null(strstr(body(&rb), "No jobs yet"));
	cr_expect_null(strchr(body(&ra), '\001'), "no sentinel left");
	/* The ETA a finished job taught, in seconds to one decimal. */
	cr_assert_not_null(n1 = strstr(body(&ra), "class=\"eta\">"), "%s",
	    body(&ra));
	n1 += strlen("class=\"eta\">");
	n2 = n1 + strspn(n1, "0123456789");
	cr_expect(n2 > n1 && n2[0] == '.' && n2[1] >= '0' && n2[1] <= '9' &&
	    strncmp(n2 + 2, "</span> s", 9) == 0, "ETA %.16s", n1);
	/* Every form its own nonce, and a new one on each page. */
	cr_assert_not_null(n1 = strstr(body(&ra), "name=\"nonce\" value=\""));
	cr_assert_not_null(n2 = strstr(n1 + 1, "name=\"nonce\" value=\""));
	cr_expect_neq(strncmp(n1, n2, 60), 0);
	cr_assert_not_null(n2 = strstr(body(&ra2), "name=\"nonce\" value=\""));
	cr_expect_neq(strncmp(n1, n2, 60), 0, "a new nonce per page");
	http_resp_free(&ra);
	http_resp_free(&rb);
	http_resp_free(&ra2);
}

/*
 * The form texts are built per task of each generation: twenty tasks
 * (more than the old table of sixteen kernels held) each show their own
 * kernel's bounds.
 */
Test(app_http, every_task_of_many_has_its_own_form_texts)
{
	static const struct {
		const char	*kernel, *max;
	} k[] = {
		{ "burn", "max=\"600000\"" }, { "mandelbrot", "max=\"4\"" },
		{ "sgemm", "max=\"8192\"" },
	};
	struct conf		*c;
	struct tmpl_set		*t = load_templates();
	struct http_resp	 r;
	struct buf		 text;
	char			 want[64];
	const char		*p, *next;
	int			 i;

	buf_init(&text);
	buf_puts(&text, "locks = { cpu = { slots = 1; }; };\ntasks = {\n");
	for (i = 0; i < 20; i++)
		buf_printf(&text, "  t%d = { kernel = \"%s\"; locks = "
		    "[\"cpu\"]; };\n", i, k[i % 3].kernel);
	buf_puts(&text, "};\n");
	c = load_conf(buf_cstr(&text));
	buf_free(&text);
	cr_assert_eq(sched_reconfigure(fx.s, c, want, sizeof(want)), 0, "%s",
	    want);
	cr_assert_eq(app_reload(fx.app, c, t), 0);
	get("/", SID_A, 0, &r);
	cr_assert_eq(r.status, 200);
	for (i = 0; i < 20; i++) {
		snprintf(want, sizeof(want), "id=\"task-t%d\"", i);
		cr_assert_not_null(p = strstr(body(&r), want), "no form t%d",
		    i);
		next = strstr(p + 1, "<form");
		p = strstr(p, k[i % 3].max);
		cr_expect(p != NULL && (next == NULL || p < next),
		    "t%d (%s) lacks its %s", i, k[i % 3].kernel,
		    k[i % 3].max);
	}
	http_resp_free(&r);
}

Test(app_http, reload_shows_the_new_generation)
{
	struct conf		*c = load_conf("locks = { cpu = { slots = 2; "
				    "}; };\ntasks = { gemm = { kernel = "
				    "\"sgemm\"; locks = [\"cpu\"]; }; };\n");
	struct http_resp	 r;
	char			 err[256];

	cr_assert_eq(sched_reconfigure(fx.s, c, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(app_reload(fx.app, c, load_templates()), 0);
	cr_expect_eq(app_conf(fx.app), c);
	get("/", SID_A, 0, &r);
	cr_expect_not_null(strstr(body(&r), "action=\"/tasks/gemm\""));
	cr_expect_null(strstr(body(&r), "action=\"/tasks/burn\""));
	cr_expect_not_null(strstr(body(&r), "name=\"seed\" value=\"1\" "
	    "min=\"0\" max=\"4294967295\""));
	http_resp_free(&r);
}

/*
 * A generation lives while a request holds it (issue 15 item 15): a
 * reload frees an old one only once the last request on it released it,
 * so that a SIGHUP a minute does not grow the process without bound.
 */
Test(app_http, a_held_generation_outlives_reloads_then_is_freed)
{
	static const char text[] = "locks = { cpu = { slots = 2; }; };\n"
				    "tasks = { gemm = { kernel = \"sgemm\"; "
				    "locks = [\"cpu\"]; }; };\n";
	struct conf		*c;
	struct app_gen		*held;
	struct http_resp	 r;
	char			 err[256];
	int			 i;

	cr_assert_eq(app_generations(fx.app), 1);
	held = app_hold(fx.app);
	cr_expect_eq(app_gen_conf(held), fx.conf);
	for (i = 0; i < 3; i++) {
		c = load_conf(text);
		cr_assert_eq(sched_reconfigure(fx.s, c, err, sizeof(err)), 0,
		    "%s", err);
		cr_assert_eq(app_reload(fx.app, c, load_templates()), 0);
		/* The current one and the held one; the ones between: freed. */
		cr_expect_eq(app_generations(fx.app), 2, "after reload %d: %ld",
		    i + 1, app_generations(fx.app));
	}
	cr_expect_eq(app_gen_conf(held), fx.conf);
	cr_expect_str_eq(app_gen_conf(held)->tasks[0].name, "burn");
	app_release(fx.app, held);
	cr_expect_eq(app_generations(fx.app), 1);
	/* A reload with no request in flight frees the old one at once. */
	held = app_hold(fx.app);
	cr_expect_str_eq(app_gen_conf(held)->tasks[0].name, "gemm");
	app_release(fx.app, held);
	c = load_conf(text);
	cr_assert_eq(sched_reconfigure(fx.s, c, err, sizeof(err)), 0, "%s",
	    err);
	cr_assert_eq(app_reload(fx.app, c, load_templates()), 0);
	cr_expect_eq(app_generations(fx.app), 1);
	get("/metrics", NULL, 0, &r);
	cr_expect_not_null(strstr(body(&r), "\nsluice_config_generations 1\n"),
	    "%s", body(&r));
	http_resp_free(&r);
}

/* Requests on every thread while reloads free the old generations. */
struct reload_race {
	atomic_int	 stop;
	atomic_long	 views;
};

static void *
reload_race_reader(void *arg)
{
	struct reload_race	*rr = arg;
	struct app_gen		*g;

	while (!atomic_load(&rr->stop)) {
		g = app_hold(fx.app);
		/* Read what a request reads: a freed conf is an ASan error. */
		if (app_gen_conf(g)->ntasks > 0 &&
		    app_gen_conf(g)->tasks[0].name[0] != '\0')
			atomic_fetch_add(&rr->views, 1);
		app_release(fx.app, g);
	}
	return NULL;
}

Test(app_http, reloads_under_concurrent_requests_free_every_old_one)
{
	struct reload_race	 rr[4];
	pthread_t		 t[4];
	struct conf		*c;
	char			 err[256];
	int			 i;

	memset(rr, 0, sizeof(rr));
	for (i = 0; i < 4; i++)
		cr_assert_eq(pthread_create(&t[i], NULL, reload_race_reader,
		    &rr[i]), 0);
	/* Every reader running before the reloads (a loaded machine may
	   not have scheduled one yet): each then reads through them. */
	for (i = 0; i < 4; i++)
		while (atomic_load(&rr[i].views) == 0)
			usleep(1000);
	for (i = 0; i < 50; i++) {
		c = load_conf("locks = { cpu = { slots = 1; }; };\ntasks = { "
		    "b = { kernel = \"burn\"; locks = [\"cpu\"]; }; };\n");
		cr_assert_eq(sched_reconfigure(fx.s, c, err, sizeof(err)), 0,
		    "%s", err);
		cr_assert_eq(app_reload(fx.app, c, load_templates()), 0);
	}
	for (i = 0; i < 4; i++) {
		atomic_store(&rr[i].stop, 1);
		pthread_join(t[i], NULL);
	}
	cr_expect_eq(app_generations(fx.app), 1);
}

Test(app_http, head_answers_like_get_without_a_body)
{
	struct ask		 q = { "HEAD", "/", SID_A, NULL, 0, NULL,
				    NULL };
	struct http_resp	 r;
	struct buf		 out;
	char			 cl[48];
	int			 head;

	head = serve(&q, &r);
	cr_expect(head);
	cr_expect_eq(r.status, 200);
	buf_init(&out);
	http_resp_serialize(&r, head, 0, &out);
	snprintf(cl, sizeof(cl), "Content-Length: %zu\r\n\r\n", r.body.len);
	cr_expect_not_null(strstr(buf_cstr(&out), cl));
	cr_expect_str_eq(buf_cstr(&out) + out.len - strlen(cl), cl);
	buf_free(&out);
	http_resp_free(&r);
}

Test(app_http, session_required_except_operations)
{
	static const char *const need[] = { "/", "/session.json",
	    "/jobs/0123456789abcdef0123456789abcdef" };
	static const char *const open[] = { "/status.json", "/metrics",
	    "/healthz" };
	struct http_resp	 r;
	size_t			 i;

	for (i = 0; i < 3; i++) {
		get(need[i], NULL, 0, &r);
		cr_expect_eq(r.status, 400, "%s: %d", need[i], r.status);
		cr_expect_not_null(strstr(body(&r), "missing or malformed "
		    "session"), "%s", need[i]);
		http_resp_free(&r);
		get(need[i], "0000000000000000000000000000000A", 1, &r);
		cr_expect_eq(r.status, 400, "%s, upper-case sid", need[i]);
		http_resp_free(&r);
	}
	for (i = 0; i < 3; i++) {
		get(open[i], NULL, 0, &r);
		cr_expect_eq(r.status, 200, "%s: %d", open[i], r.status);
		http_resp_free(&r);
	}
}

Test(app_http, not_found_and_method_not_allowed)
{
	struct ask		 q = { "POST", "/", SID_A, "", 0, NULL, NULL };
	struct http_resp	 r;

	serve(&q, &r);
	cr_expect_eq(r.status, 405);
	cr_expect_str_eq(header(&r, "Allow"), "GET, HEAD");
	cr_expect_not_null(strstr(body(&r), "this method is not allowed"));
	http_resp_free(&r);
	get("/nowhere", SID_A, 1, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(body(&r), "{\"error\":\"not found\"}\n");
	http_resp_free(&r);
}

/* ---- submission ---- */

Test(app_http, submit_303_to_the_job)
{
	char	 id[JOB_ID_LEN + 1];

	submit_ok("burn", SID_A, "ms=5", id);
	cr_expect_neq(state_of(id), JOB_FAILED);
}

Test(app_http, submit_json_202_with_location)
{
	struct http_resp	 r;
	json_t			*o;
	char			 loc[64];

	submit("burn", SID_A, "ms=5&nonce=n1", 1, &r);
	cr_assert_eq(r.status, 202, "%s", body(&r));
	cr_expect_str_eq(header(&r, "Content-Type"), "application/json");
	o = json_body(&r);
	cr_assert(json_is_string(json_object_get(o, "id")));
	snprintf(loc, sizeof(loc), "/jobs/%s",
	    json_string_value(json_object_get(o, "id")));
	cr_expect_str_eq(header(&r, "Location"), loc);
	cr_expect_str_eq(json_string_value(json_object_get(o, "task")),
	    "burn");
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, submit_same_nonce_same_job)
{
	char	 a[JOB_ID_LEN + 1], b[JOB_ID_LEN + 1];

	submit_ok("burn", SID_A, "ms=5&nonce=again", a);
	submit_ok("burn", SID_A, "ms=5&nonce=again", b);
	cr_expect_str_eq(a, b);
}

Test(app_http, submit_400_field_messages_html)
{
	struct http_resp	 r;
	char			 msg[128];

	param_error("burn", "ms", "abc", msg, sizeof(msg));
	submit("burn", SID_A, "ms=abc", 0, &r);
	cr_assert_eq(r.status, 400);
	cr_expect_str_eq(header(&r, "Content-Type"),
	    "text/html; charset=utf-8");
	cr_expect_not_null(strstr(body(&r), "Some fields need attention"));
	cr_expect_not_null(strstr(body(&r), msg), "no \"%s\"", msg);
	/* The refused text is kept in the form, escaped. */
	cr_expect_not_null(strstr(body(&r), "name=\"ms\" value=\"abc\""));
	cr_expect_not_null(strstr(body(&r), "aria-invalid=\"true\""));
	http_resp_free(&r);
	submit("burn", SID_A, "ms=5&bogus=1", 0, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_not_null(strstr(body(&r), "unknown field &#39;bogus&#39;"));
	http_resp_free(&r);
	submit("burn", SID_A, "ms=5&ms=6", 0, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_not_null(strstr(body(&r), "field &#39;ms&#39; given more "
	    "than once"));
	http_resp_free(&r);
}

Test(app_http, submit_400_field_messages_json)
{
	struct http_resp	 r;
	json_t			*o, *f;
	char			 msg[128];

	param_error("mandelbrot", "width", "7", msg, sizeof(msg));
	submit("mb", SID_A, "width=7&bogus=1&bogus=2&iters=20&iters=30", 1,
	    &r);
	cr_assert_eq(r.status, 400);
	cr_expect_str_eq(header(&r, "Content-Type"), "application/json");
	o = json_body(&r);
	cr_expect_str_eq(json_string_value(json_object_get(o, "error")),
	    "invalid fields");
	f = json_object_get(o, "fields");
	cr_assert(json_is_object(f));
	cr_expect_eq(json_object_size(f), 3, "%s", body(&r));
	cr_expect_str_eq(json_string_value(json_object_get(f, "width")), msg);
	cr_expect_str_eq(json_string_value(json_object_get(f, "bogus")),
	    "unknown field");
	cr_expect_str_eq(json_string_value(json_object_get(f, "iters")),
	    "given more than once");
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, submit_nonce_too_long)
{
	struct http_resp	 r;
	char			 fields[128];
	json_t			*o;

	snprintf(fields, sizeof(fields), "ms=1&nonce=%065d", 0);
	submit("burn", SID_A, fields, 0, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_not_null(strstr(body(&r), "nonce: at most 64 characters"));
	http_resp_free(&r);
	submit("burn", SID_A, fields, 1, &r);
	cr_expect_eq(r.status, 400);
	o = json_body(&r);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o,
	    "fields"), "nonce")), "at most 64 characters");
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, submit_403_without_the_csrf_token)
{
	struct ask		 q = { "POST", "/tasks/burn", SID_A, "ms=5", 0,
				    NULL, NULL };
	struct http_resp	 r;
	char			 tok[65];

	serve(&q, &r);
	cr_expect_eq(r.status, 403);
	cr_expect_not_null(strstr(body(&r), "missing CSRF token (reload the "
	    "page and submit again)"));
	http_resp_free(&r);
	/* Another session's token is wrong here. */
	csrf(SID_B, tok);
	q.csrf_header = tok;
	serve(&q, &r);
	cr_expect_eq(r.status, 403);
	cr_expect_not_null(strstr(body(&r), "wrong CSRF token"));
	http_resp_free(&r);
	/* The header carries it as well as the field. */
	csrf(SID_A, tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 303, "%s", body(&r));
	http_resp_free(&r);
}

/* Issue 15 items 13 and 18: tokens expire; one spelling only. */
Test(app_http, csrf_tokens_expire_after_a_day_and_are_lowercase)
{
	char		 tok[65], up[65];
	long		 day = 20790;	/* 2026-12-03 */
	unsigned char	 key[APP_SECRET_LEN], tag[crypto_auth_BYTES];
	char		 msg[64], hex[65];
	size_t		 i;

	app_csrf_token_day(fx.app, SID_A, day, tok);
	/* crypto_auth over "SESSION:DAY": what every responder sharing the
	 * secret issues and takes, and what earlier versions issued. */
	memset(key, 0x5a, sizeof(key));
	snprintf(msg, sizeof(msg), "%s:%ld", SID_A, day);
	crypto_auth(tag, (const unsigned char *)msg, strlen(msg), key);
	sodium_bin2hex(hex, sizeof(hex), tag, sizeof(tag));
	cr_expect_str_eq(tok, hex);
	cr_expect(app_csrf_ok_day(fx.app, SID_A, tok, day), "today's");
	cr_expect(app_csrf_ok_day(fx.app, SID_A, tok, day + 1),
	    "yesterday's: a page left open over midnight");
	cr_expect_not(app_csrf_ok_day(fx.app, SID_A, tok, day + 2),
	    "the day before yesterday's");
	cr_expect_not(app_csrf_ok_day(fx.app, SID_A, tok, day - 1),
	    "tomorrow's");
	cr_expect_not(app_csrf_ok_day(fx.app, SID_B, tok, day),
	    "another session's");
	for (i = 0; i < 65; i++)
		up[i] = tok[i] >= 'a' && tok[i] <= 'f' ? tok[i] - 32 : tok[i];
	cr_assert_str_neq(up, tok, "the token has letters");
	cr_expect_not(app_csrf_ok_day(fx.app, SID_A, up, day), "upper case");
	cr_expect_not(app_csrf_ok_day(fx.app, SID_A, NULL, day));
	cr_expect_not(app_csrf_ok_day(fx.app, SID_A, "", day));
	/* The token pages carry is today's. */
	app_csrf_token(fx.app, SID_A, up);
	app_csrf_token_day(fx.app, SID_A, app_csrf_today(), tok);
	cr_expect_str_eq(up, tok);
}

Test(app_http, submit_body_must_be_a_form)
{
	struct ask		 q = { "POST", "/tasks/burn", SID_A, "{}", 1,
				    NULL, "application/json" };
	struct http_resp	 r;

	serve(&q, &r);
	cr_expect_eq(r.status, 415);
	cr_expect_str_eq(body(&r), "{\"error\":\"the body must be "
	    "application/x-www-form-urlencoded or multipart/form-data\"}\n");
	http_resp_free(&r);
	q.content_type = NULL;
	q.body = "a=%zz";
	serve(&q, &r);
	cr_expect_eq(r.status, 400);
	http_resp_free(&r);
}

/* Both encodings on every task: a multipart form's fields too. */
Test(app_http, submit_multipart_fields)
{
	char			 b[1024], tok[65];
	struct ask		 q = { "POST", "/tasks/burn", SID_A, b, 1, NULL,
				    "multipart/form-data; boundary=XyZ" };
	struct http_resp	 r;

	csrf(SID_A, tok);
	snprintf(b, sizeof(b), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"ms\"\r\n\r\n5\r\n--XyZ--\r\n", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 202, "%d: %s", r.status, body(&r));
	http_resp_free(&r);
	/* A file where the task takes a value: 400 naming the field. */
	snprintf(b, sizeof(b), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"ms\"; filename=\"ms.txt\"\r\n\r\n5\r\n"
	    "--XyZ--\r\n", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 400);
	cr_expect_str_eq(body(&r), "{\"error\":\"invalid fields\",\"fields\":"
	    "{\"ms\":\"must be a value, not a file\"}}\n");
	http_resp_free(&r);
	/* Malformed: the parser's reason, with its field. */
	snprintf(b, sizeof(b), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"\r\n\r\n%s\r\n--XyZ\r\nContent-Disposition: "
	    "form-data; name=\"ms\"\r\n\r\n5", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(body(&r), "closing boundary") != NULL, "%s",
	    body(&r));
	http_resp_free(&r);
	q.content_type = "multipart/form-data";
	serve(&q, &r);
	cr_expect_eq(r.status, 400, "no boundary");
	http_resp_free(&r);
}

/* Other forms take multipart too, but no files. */
Test(app_http, cancel_takes_multipart_without_files)
{
	char			 b[512], tok[65], path[96];
	char			 id[JOB_ID_LEN + 1], run[JOB_ID_LEN + 1];
	struct ask		 q = { "POST", path, SID_A, b, 1, NULL,
				    "multipart/form-data; boundary=XyZ" };
	struct http_resp	 r;

	submit_ok("burn", SID_A, "", run);
	gate_wait_inside(1);
	submit_ok("burn", SID_A, "", id);
	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	csrf(SID_A, tok);
	snprintf(b, sizeof(b), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"; filename=\"x\"\r\n\r\n%s\r\n--XyZ--\r\n", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 400);
	cr_expect(strstr(body(&r), "a file is not expected here") != NULL,
	    "%s", body(&r));
	http_resp_free(&r);
	snprintf(b, sizeof(b), "--XyZ\r\nContent-Disposition: form-data; "
	    "name=\"csrf\"\r\n\r\n%s\r\n--XyZ--\r\n", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 200, "%d: %s", r.status, body(&r));
	http_resp_free(&r);
	cr_expect_eq(state_of(id), JOB_CANCELLED);
	gate_open();
}

Test(app_http, submit_unknown_task_404)
{
	struct http_resp	 r;

	submit("nope", SID_A, "", 0, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_not_null(strstr(body(&r), "no such task"));
	http_resp_free(&r);
}

/* ---- the answer to each refusal of the scheduler ---- */

Test(app_http, refused_queue_full_503_retry_after)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1];

	submit_ok("mb", SID_A, "", id);
	gate_wait_inside(1);
	submit("mb", SID_B, "", 1, &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(body(&r), "{\"error\":\"the queue for this task is "
	    "full; try again later\"}\n");
	cr_expect_not_null(header(&r, "Retry-After"));
	http_resp_free(&r);
}

Test(app_http, refused_session_limit_429_retry_after)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1];

	submit_ok("burn", SID_A, "", id);
	submit_ok("burn", SID_A, "", id);
	submit("burn", SID_A, "", 0, &r);
	cr_expect_eq(r.status, 429);
	cr_expect_not_null(strstr(body(&r), "you already have 2 jobs queued "
	    "or running; wait for one to finish"));
	cr_expect_not_null(header(&r, "Retry-After"));
	cr_expect_not_null(strstr(body(&r), "Please try again in about"));
	http_resp_free(&r);
}

Test(app_http, refused_draining_503_after_drain_timeout)
{
	struct http_resp	 r;

	cr_assert_eq(sched_drain(fx.s, 0), 0);
	submit("burn", SID_A, "", 1, &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(body(&r), "{\"error\":\"the server is shutting down; "
	    "submit again in a moment\"}\n");
	cr_expect_str_eq(header(&r, "Retry-After"), "8");
	http_resp_free(&r);
}

Test(app_http, refused_nonce_of_another_task_409)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1];

	submit_ok("burn", SID_A, "nonce=same", id);
	submit("mb", SID_A, "nonce=same", 0, &r);
	cr_expect_eq(r.status, 409);
	cr_expect_not_null(strstr(body(&r), "nonce: already used for a job of "
	    "another task"));
	cr_expect_null(header(&r, "Retry-After"));
	http_resp_free(&r);
}

/* The scheduler was reloaded and the app not yet: its kernel changed. */
Test(app_http, refused_changed_kernel_503_retry_after_1)
{
	struct http_resp	 r;
	char			 err[256];

	fx.other = load_conf("locks = { cpu = { slots = 1; }; };\n"
	    "tasks = { burn = { kernel = \"sgemm\"; locks = [\"cpu\"]; };"
	    " };\n");
	cr_assert_eq(sched_reconfigure(fx.s, fx.other, err, sizeof(err)), 0,
	    "%s", err);
	submit("burn", SID_A, "ms=5", 1, &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(body(&r), "{\"error\":\"the configuration changed; "
	    "try again\"}\n");
	cr_expect_str_eq(header(&r, "Retry-After"), "1");
	http_resp_free(&r);
	/* A task the scheduler no longer has: 404. */
	submit("mb", SID_A, "", 0, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_not_null(strstr(body(&r), "no such task"));
	http_resp_free(&r);
}

/* ---- jobs ---- */

Test(app_http, another_sessions_job_404)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1], path[96], tok[65], f[96];
	struct ask		 q = { "POST", path, SID_B, f, 0, NULL, NULL };

	submit_ok("burn", SID_A, "ms=5", id);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	get(path, SID_A, 0, &r);
	cr_expect_eq(r.status, 200);
	http_resp_free(&r);
	get(path, SID_B, 0, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_not_null(strstr(body(&r), "no such job"));
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	get(path, SID_B, 0, &r);
	cr_expect_eq(r.status, 404);
	cr_expect_str_eq(body(&r), "{\"error\":\"no such job\"}\n");
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s/result.png", id);
	get(path, SID_B, 0, &r);
	cr_expect_eq(r.status, 404);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	csrf(SID_B, tok);
	snprintf(f, sizeof(f), "csrf=%s", tok);
	serve(&q, &r);
	cr_expect_eq(r.status, 404);
	http_resp_free(&r);
	cr_expect_neq(state_of(id), JOB_CANCELLED);
}

/* Cancels job id of session; the answer in r. */
static void
cancel(const char *id, const char *session, int json, struct http_resp *r)
{
	char		 path[96], f[96], tok[65];
	struct ask	 q = { "POST", path, session, f, json, NULL, NULL };

	snprintf(path, sizeof(path), "/jobs/%s/cancel", id);
	csrf(session, tok);
	snprintf(f, sizeof(f), "csrf=%s", tok);
	serve(&q, r);
}

Test(app_http, cancel_queued_then_409)
{
	struct http_resp	 r;
	char			 run[JOB_ID_LEN + 1], wait[JOB_ID_LEN + 1];
	char			 loc[64];
	json_t			*o;

	submit_ok("burn", SID_A, "", run);
	gate_wait_inside(1);
	submit_ok("burn", SID_B, "", wait);
	cancel(wait, SID_B, 0, &r);
	cr_expect_eq(r.status, 303);
	snprintf(loc, sizeof(loc), "/jobs/%s", wait);
	cr_expect_str_eq(header(&r, "Location"), loc);
	http_resp_free(&r);
	cr_expect_eq(state_of(wait), JOB_CANCELLED);
	/* Running: no longer queued. */
	cancel(run, SID_A, 1, &r);
	cr_expect_eq(r.status, 409);
	o = json_body(&r);
	cr_expect_str_eq(json_string_value(json_object_get(o, "error")),
	    "this job is no longer queued: it runs or has ended, and cannot "
	    "be cancelled");
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, cancel_json_answers_the_job)
{
	struct http_resp	 r;
	char			 run[JOB_ID_LEN + 1], wait[JOB_ID_LEN + 1];
	json_t			*o;

	submit_ok("burn", SID_A, "", run);
	gate_wait_inside(1);
	submit_ok("burn", SID_B, "", wait);
	cancel(wait, SID_B, 1, &r);
	cr_expect_eq(r.status, 200);
	o = json_body(&r);
	cr_expect_str_eq(json_string_value(json_object_get(o, "state")),
	    "cancelled");
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, cancel_of_a_finished_job_409)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1];

	gate_open();
	submit_ok("burn", SID_A, "", id);
	wait_final(id);
	cancel(id, SID_A, 0, &r);
	cr_expect_eq(r.status, 409);
	cr_expect_not_null(strstr(body(&r), "cannot be cancelled"));
	http_resp_free(&r);
	cr_expect_eq(state_of(id), JOB_DONE);
}

Test(app_http, job_page_while_queued_and_running)
{
	struct http_resp	 r;
	char			 run[JOB_ID_LEN + 1], wait[JOB_ID_LEN + 1];
	char			 path[96];

	submit_ok("burn", SID_A, "ms=7", run);
	gate_wait_inside(1);
	submit_ok("burn", SID_B, "ms=8", wait);
	snprintf(path, sizeof(path), "/jobs/%s", run);
	get(path, SID_A, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_expect_not_null(strstr(body(&r), "data-state=\"running\""));
	cr_expect_not_null(strstr(body(&r), "Running on <b id=\"job-device\">"
	    "cpu</b>"));
	cr_expect_not_null(strstr(body(&r), "<th scope=\"row\">ms</th><td>7"
	    "</td>"));
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s", wait);
	get(path, SID_B, 0, &r);
	cr_expect_not_null(strstr(body(&r), "data-state=\"queued\""));
	cr_expect_not_null(strstr(body(&r), "Next in line."));
	cr_expect_not_null(strstr(body(&r), "action=\"/jobs/"));
	http_resp_free(&r);
}

Test(app_http, session_json_has_the_token)
{
	struct http_resp	 r;
	json_t			*o;
	char			 tok[65];

	get("/session.json", SID_A, 0, &r);
	cr_expect_eq(r.status, 200);
	o = json_body(&r);
	csrf(SID_A, tok);
	cr_expect_str_eq(json_string_value(json_object_get(o, "session")),
	    SID_A);
	cr_expect_str_eq(json_string_value(json_object_get(o, "csrf")), tok);
	json_decref(o);
	http_resp_free(&r);
}

Test(app_http, healthz_says_draining)
{
	struct http_resp	 r;

	get("/healthz", NULL, 0, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(body(&r), "ok\n");
	http_resp_free(&r);
	app_set_draining(fx.app, 1);
	get("/healthz", NULL, 0, &r);
	cr_expect_eq(r.status, 503);
	cr_expect_str_eq(body(&r), "draining\n");
	http_resp_free(&r);
}

/* ---- the same numbers in /status.json and /metrics ---- */

Test(app_http, status_json_and_metrics_from_the_same_numbers)
{
	struct metrics_snapshot	 snap;
	struct http_resp	 st, me, r;
	char			 id[JOB_ID_LEN + 1];
	json_t			*o;
	const char		*t;

	gate_open();
	submit_ok("burn", SID_A, "ms=1", id);
	wait_final(id);
	submit("burn", SID_B, "ms=x", 0, &r);
	app_count_request(fx.app, r.status);
	http_resp_free(&r);
	app_count_request(fx.app, 303);
	app_count_request(fx.app, 200);
	app_set_responders(fx.app, 6);
	app_responder_busy(fx.app, 1);
	/* Nothing runs or is counted between the snapshot and the answers. */
	cr_assert_eq(app_stats_snapshot(fx.app, &snap), 0);
	get("/status.json", NULL, 0, &st);
	get("/metrics", NULL, 0, &me);
	cr_assert_eq(st.status, 200);
	cr_assert_eq(me.status, 200);
	cr_expect_str_eq(header(&st, "Content-Type"), "application/json");
	cr_expect_str_eq(header(&me, "Content-Type"),
	    "text/plain; version=0.0.4; charset=utf-8");
	o = json_body(&st);
	t = body(&me);
	/* The struct. */
	cr_assert(snap.has_sched);
	cr_assert_eq(snap.sched.nlocks, 2);
	cr_expect_str_eq(snap.sched.locks[0].name, "cpu");
	cr_expect_eq(snap.sched.locks[0].admitted, 1);
	cr_expect_eq(snap.sched.locks[0].ended[JOB_DONE], 1);
	cr_expect_eq(snap.sched.locks[0].run.count, 1);
	cr_expect_eq(snap.sched.tasks[0].admitted, 1);
	cr_expect_eq(snap.server.threads, 6);
	cr_expect_eq(snap.server.threads_busy, 1);
	cr_expect_eq(snap.server.by_status[400 - 100], 1);
	cr_expect_eq(snap.server.by_status[303 - 100], 1);
	cr_expect_eq(snap.server.requests[4], 1);
	cr_expect_eq(snap.server.devices, 0, "no lock names a device");
	cr_expect_eq(snap.ndevices, 0, "no executor: no device counters");
	/* ... in both renderings. */
	cr_expect_eq(AT(o, "locks", "cpu", "admitted"),
	    (double)snap.sched.locks[0].admitted);
	cr_expect_eq(stats_sample(t,
	    "sluice_lock_admitted_total{lock=\"cpu\"}"),
	    (double)snap.sched.locks[0].admitted);
	cr_expect_eq(AT(o, "locks", "cpu", "done"), 1);
	cr_expect_eq(stats_sample(t, "sluice_lock_finished_total{lock=\"cpu\","
	    "state=\"done\"}"), 1);
	cr_expect_eq(AT(o, "locks", "cpu", "run_ms", "count"), 1);
	cr_expect_eq(stats_sample(t,
	    "sluice_lock_run_seconds_count{lock=\"cpu\"}"),
	    1);
	cr_expect(fabs(AT(o, "locks", "cpu", "run_ms", "sum") / 1000 -
	    stats_sample(t, "sluice_lock_run_seconds_sum{lock=\"cpu\"}")) <
	    1e-6);
	cr_expect_eq(AT(o, "locks", "cpu", "run_ms", "sum"),
	    snap.sched.locks[0].run.sum_ms);
	cr_expect_eq(AT(o, "tasks", "burn", "done"), 1);
	cr_expect_eq(stats_sample(t, "sluice_task_finished_total{task=\"burn\","
	    "state=\"done\"}"), 1);
	cr_expect_eq(AT(o, "locks", "one", "slots"), 1);
	cr_expect_eq(stats_sample(t, "sluice_lock_slots{lock=\"one\"}"), 1);
	cr_expect_eq(AT(o, "server", "threads"), 6);
	cr_expect_eq(stats_sample(t, "sluice_responder_threads"), 6);
	cr_expect_eq(AT(o, "server", "threads_busy"), 1);
	cr_expect_eq(stats_sample(t, "sluice_responder_threads_busy"), 1);
	cr_expect_eq(AT(o, "server", "status", "400"), 1);
	cr_expect_eq(stats_sample(t,
	    "sluice_http_requests_total{status=\"400\"}"),
	    1);
	cr_expect_eq(AT(o, "server", "requests", "4xx"), 1);
	cr_expect_eq(AT(o, "server", "devices"), 0);
	cr_expect_eq(stats_sample(t, "sluice_devices"), 0);
	cr_expect_eq(json_array_size(json_object_get(o, "devices")), 0);
	cr_expect_str_eq(json_string_value(json_object_get(json_object_get(o,
	    "server"), "version")), PACKAGE_VERSION);
	json_decref(o);
	metrics_snapshot_free(&snap);
	http_resp_free(&st);
	http_resp_free(&me);
}

/* ---- real kernels: results, images ---- */

Test(app_run, job_page_shows_params_and_result_rows)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1], path[96];
	const char		*p;

	submit_ok("burn", SID_A, "ms=2", id);
	wait_final(id);
	cr_assert_eq(state_of(id), JOB_DONE);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	get(path, SID_A, 0, &r);
	cr_assert_eq(r.status, 200);
	cr_expect_not_null(strstr(body(&r), "data-state=\"done\""));
	cr_expect_not_null(strstr(body(&r), "<th scope=\"row\">ms</th><td>2"
	    "</td>"), "%s", body(&r));
	p = strstr(body(&r), "<th scope=\"row\">elapsed_ms</th><td>");
	cr_assert_not_null(p, "%s", body(&r));
	cr_expect_geq(strtod(p + strlen("<th scope=\"row\">elapsed_ms</th>"
	    "<td>"), NULL), 2);
	cr_expect_null(strstr(body(&r), "result.png"));
	http_resp_free(&r);
	/* And the recent jobs of the app page. */
	get("/", SID_A, 0, &r);
	cr_expect_not_null(strstr(body(&r), path));
	http_resp_free(&r);
}

Test(app_run, result_png_streamed_from_its_file)
{
	struct http_resp	 r;
	char			 id[JOB_ID_LEN + 1], path[96];

	submit_ok("mb", SID_A, "width=16&height=16&iters=16", id);
	wait_final(id);
	cr_assert_eq(state_of(id), JOB_DONE);
	snprintf(path, sizeof(path), "/jobs/%s/result.png", id);
	get(path, SID_A, 0, &r);
	cr_assert_eq(r.status, 200, "%s", body(&r));
	cr_expect_str_eq(header(&r, "Content-Type"), "image/png");
	cr_expect_str_eq(header(&r, "Cache-Control"), "private, max-age=3600");
	cr_expect_not_null(r.file);
	cr_expect_gt(r.file_len, 8);
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s", id);
	get(path, SID_A, 0, &r);
	cr_expect_not_null(strstr(body(&r), "/files/image\" title=\"Open "
	    "full size\"><img"), "%s", body(&r));
	cr_expect_not_null(strstr(body(&r), "<th scope=\"row\">width</th><td>"
	    "16</td>"));
	http_resp_free(&r);
	snprintf(path, sizeof(path), "/jobs/%s.json", id);
	get(path, SID_A, 0, &r);
	cr_expect_eq(r.status, 200);
	cr_expect_str_eq(header(&r, "Cache-Control"), "no-store");
	http_resp_free(&r);
}
