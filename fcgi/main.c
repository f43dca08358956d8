/*
 * sluice: the FastCGI responder. Loads the config, opens the journal,
 * recovers jobs, starts the scheduler and serves until SIGTERM.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app.h"
#include "conf.h"
#include "events.h"
#include "exec.h"
#include "journal.h"
#include "node.h"
#include "kernel.h"
#include "sched.h"
#include "server.h"
#include "tmpl.h"

static void
usage(void)
{
	fprintf(stderr, "usage: sluice [-qRt] [-c file] [-e publisher] "
	    "[-l listen] [-N node] [-p key] [-s state] [-T templates]\n"
	    "  -c file       config file (default %s/sluice.conf)\n"
	    "  -t            check the config (and templates) and exit\n"
	    "  -p key        print one setting as sluice reads it and exit\n"
	    "                (e.g. server.max_body, in decimal)\n"
	    "  -e publisher  override events.publisher (unix:PATH or "
	    "HOST:PORT)\n"
	    "  -l listen     override server.listen (unix:PATH or HOST:PORT)\n"
	    "  -N node       override cluster.node\n"
	    "  -s state      override server.state\n"
	    "  -T templates  override server.templates\n"
	    "  -q            no per-request log lines\n"
	    "  -R            allow running as root (refused otherwise)\n",
	    SLUICE_SYSCONFDIR);
	exit(2);
}

/*
 * -p: prints the value of key on stdout, with the -e, -l, -s and -T overrides
 * applied as the responder would. Returns the exit status.
 */
static int
print_value(const struct conf *conf, const char *key,
    const struct server_opts *o, const char *state, const char *templates,
    const char *publisher)
{
	char	 v[4096];
	size_t	 i;

	if (strcmp(key, "server.listen") == 0 && o->listen != NULL)
		snprintf(v, sizeof(v), "%s", o->listen);
	else if (strcmp(key, "events.publisher") == 0 && publisher != NULL)
		snprintf(v, sizeof(v), "%s", publisher);
	else if (strcmp(key, "server.state") == 0)
		snprintf(v, sizeof(v), "%s", state);
	else if (strcmp(key, "server.templates") == 0)
		snprintf(v, sizeof(v), "%s", templates);
	else if (conf_value(conf, key, v, sizeof(v)) == -1) {
		fprintf(stderr, "sluice: -p %s: no such setting; one of:", key);
		for (i = 0; conf_value_keys(i) != NULL; i++)
			fprintf(stderr, " %s", conf_value_keys(i));
		fprintf(stderr, "\n");
		return 1;
	}
	printf("%s\n", v);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 1;
}

/* Creates dir (one level) when missing; 0 or -1 with err. */
static int
ensure_dir(const char *dir, char *err, size_t errlen)
{
	struct stat st;

	if (mkdir(dir, 0750) == -1 && errno != EEXIST) {
		snprintf(err, errlen, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (stat(dir, &st) == -1 || !S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "%s: not a directory", dir);
		return -1;
	}
	return 0;
}

/* What the command line asks for. */
struct main_opts {
	const char		*path;		/* -c: the config file */
	const char		*state;		/* -s, or NULL: the config's */
	const char		*templates;	/* -T, or NULL: the config's */
	const char		*print_key;	/* -p, or NULL */
	const char		*publisher;	/* -e, or NULL: the config's */
	int			 test_only;	/* -t */
	int			 allow_root;	/* -R */
	struct server_opts	 sopts;		/* -l, -q; the file and the
						   overrides again on SIGHUP */
};

/* Fills o from the command line; a bad one prints the usage and exits 2. */
static void
parse_options(int argc, char *argv[], struct main_opts *o)
{
	int	 ch;

	memset(o, 0, sizeof(*o));
	o->path = SLUICE_SYSCONFDIR "/sluice.conf";
	while ((ch = getopt(argc, argv, "c:e:l:N:p:qRs:tT:")) != -1) {
		switch (ch) {
		case 'c': o->path = optarg; break;
		case 'e': o->publisher = optarg; break;
		case 'l': o->sopts.listen = optarg; break;
		case 'N': o->sopts.node = optarg; break;
		case 'p': o->print_key = optarg; break;
		case 'q': o->sopts.quiet = 1; break;
		case 'R': o->allow_root = 1; break;
		case 's': o->state = optarg; break;
		case 't': o->test_only = 1; break;
		case 'T': o->templates = optarg; break;
		default: usage();
		}
	}
	if (optind != argc)
		usage();
	/* For SIGHUP: the same file, the same overrides. */
	o->sopts.config = o->path;
	o->sopts.state = o->state;
	o->sopts.templates = o->templates;
}

/*
 * Live updates, when a publisher is named (-e, else events.publisher):
 * the publisher thread, and the app told of it. A later SIGHUP keeps
 * this publisher. 0, or -1 with err.
 */
static int
start_events(const struct main_opts *o, const struct conf *conf,
    struct sched *sched, struct app *app,
    const unsigned char secret[APP_SECRET_LEN], const char *state,
    struct events **out, char *err, size_t errlen)
{
	const char	*addr = o->publisher != NULL ? o->publisher :
			    conf->events_publisher;

	*out = NULL;
	if (addr == NULL || addr[0] == '\0')
		return 0;
	/* The state directory is this responder's own: its gauges' key. */
	if ((*out = events_start(sched, addr, secret, state, stderr, err,
	    errlen)) == NULL)
		return -1;
	app_set_events(app, *out, state);
	fprintf(stderr, "level=info msg=\"live updates\" publisher=%s\n",
	    addr);
	return 0;
}

/*
 * In the cluster the CSRF key is the cluster's, so that a form one node
 * rendered posts to any node; this node's own (STATE/secret) is its
 * candidate when it is the first. 0, or -1 with err.
 */
static int
share_secret(struct journal *j, unsigned char secret[APP_SECRET_LEN],
    char *err, size_t errlen)
{
	if (journal_secret(j, "csrf", secret, APP_SECRET_LEN) != -1)
		return 0;
	snprintf(err, errlen, "the cluster's CSRF secret: %s",
	    journal_error(j));
	return -1;
}

/* server_opts.reconfigure: the workers take the reloaded config. */
static int
reconfigure_workers(void *arg, const struct conf *conf)
{
	return exec_reconfigure(arg, conf);
}

/*
 * Runs the responder on conf and tmpl (state: the state directory) until
 * SIGTERM and the drain. Returns the exit status; leaves at once with
 * _exit(0) when jobs are left in the journal (see below).
 */
static int
serve(const struct main_opts *o, struct conf *conf, struct tmpl_set *tmpl,
    const char *state)
{
	struct journal		*journal = NULL;
	struct sched		*sched = NULL;
	struct exec		*exec = NULL;
	struct app		*app = NULL;
	struct events		*events = NULL;
	struct node		*node = NULL;
	struct sched_opts	 schopts;
	struct server_opts	 sopts = o->sopts;
	unsigned char		 secret[APP_SECRET_LEN];
	char			 err[1024], worker[4096];
	int			 rc = 1;

	exec_kernel_worker_path(worker, sizeof(worker));
	fprintf(stderr, "level=info msg=\"starting\" version=%s config=%s "
	    "kernel_worker=%s\n", PACKAGE_VERSION, o->path, worker);
	/* Not fatal: its jobs fail with the reason, and a reload can fix it. */
	if (conf_check_programs(conf, err, sizeof(err)) == -1)
		fprintf(stderr, "level=warn msg=\"a worker program is missing: "
		    "its task's jobs will fail\" error=\"%s\"\n", err);
	memset(&schopts, 0, sizeof(schopts));
	schopts.log = stderr;	/* one line per job transition */
	if (ensure_dir(state, err, sizeof(err)) == -1 ||
	    app_load_secret(state, secret, err, sizeof(err)) == -1 ||
	    (journal = journal_open_db(conf->cluster_database, state, err,
	    sizeof(err))) == NULL ||
	    node_start(conf, journal, &node, err, sizeof(err)) == -1 ||
	    share_secret(journal, secret, err, sizeof(err)) == -1 ||
	    (exec = exec_create(conf, state, worker, stderr, 0, err,
	    sizeof(err))) == NULL)
		goto fail;
	schopts.exec = exec_ops(exec);
	if ((sched = sched_create(conf, journal, &schopts, err,
	    sizeof(err))) == NULL || exec_start(exec, sched, err,
	    sizeof(err)) == -1)
		goto fail;
	node_attach(node, sched);
	if ((app = app_create(conf, tmpl, sched, journal, secret)) == NULL) {
		snprintf(err, sizeof(err), "out of memory");
		goto fail;
	}
	app_set_device_stats(app, exec_device_stats, exec);
	node_show(node, app);
	if (start_events(o, conf, sched, app, secret, state, &events, err,
	    sizeof(err)) == -1)
		goto fail;
	sopts.reconfigure = reconfigure_workers;
	sopts.reconfigure_arg = exec;
	if (server_run(app, sched, conf, &sopts, err, sizeof(err)) == -1) {
		fprintf(stderr, "level=error msg=\"%s\"\n", err);
		goto out;
	}
	rc = 0;
	/*
	 * Jobs still running after the drain deadline stay journaled as
	 * running (the next start marks them interrupted) and queued ones as
	 * queued; waiting here for a kernel to end would outlive the
	 * deadline, so leave without tearing the scheduler down. Every
	 * journal write is already committed.
	 */
	if (sched_drain(sched, 0) > 0) {
		fprintf(stderr, "level=warn msg=\"stopped with jobs left in "
		    "the journal\"\n");
		fflush(stderr);
		_exit(0);
	}
	fprintf(stderr, "level=info msg=\"stopped\"\n");
	goto out;
fail:
	fprintf(stderr, "level=error msg=\"%s\"\n", err);
out:
	/*
	 * The workers first (their events go to the scheduler); the
	 * scheduler may run on a reloaded conf that app_free frees.
	 */
	events_stop(events);	/* it reads the scheduler */
	node_stop(node);	/* its notifications go to the scheduler */
	exec_destroy(exec);
	if (sched != NULL)
		sched_destroy(sched);
	app_free(app);
	if (journal != NULL)
		journal_close(journal);
	return rc;
}

int
main(int argc, char *argv[])
{
	struct main_opts	 o;
	struct conf		*conf = NULL;
	struct tmpl_set		*tmpl = NULL;
	char			 err[1024];
	const char		*state, *templates;
	int			 rc = 1;

	parse_options(argc, argv, &o);
	/*
	 * The journal and the results hold every session id and everyone's
	 * output: files 0600, directories 0700, whatever the caller's umask
	 * (the listening socket and its directory set their modes).
	 */
	umask(0077);
	/* Before any thread: every thread inherits the blocked set. */
	server_block_signals();

	if ((conf = conf_load(o.path, err, sizeof(err))) == NULL ||
	    (o.sopts.node != NULL && conf_set_node(conf, o.sopts.node, err,
	    sizeof(err)) == -1)) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	templates = o.templates != NULL ? o.templates : conf->templates;
	state = o.state != NULL ? o.state : conf->state;
	/* -p needs the config only; with -t the templates are checked too. */
	if ((o.print_key == NULL || o.test_only) &&
	    (tmpl = tmpl_load_dir(templates, err, sizeof(err))) == NULL) {
		fprintf(stderr, "%s\n", err);
		goto out;
	}
	if (o.print_key != NULL) {
		rc = print_value(conf, o.print_key, &o.sopts, state, templates,
		    o.publisher);
		goto out;
	}
	if (o.test_only) {
		if (conf_check_programs(conf, err, sizeof(err)) == -1) {
			fprintf(stderr, "%s\n", err);
			goto out;
		}
		/* Where the jobs would live: reachable now, or say why. */
		if (conf->cluster_database != NULL &&
		    journal_db_check(conf->cluster_database, err,
		    sizeof(err)) == -1) {
			fprintf(stderr, "sluice: %s: %s\n", o.path, err);
			goto out;
		}
		fprintf(stderr, "sluice: the configuration file %s syntax is "
		    "ok\nsluice: templates in %s are ok\n", o.path, templates);
		if (conf->cluster_database != NULL)
			fprintf(stderr, "sluice: cluster.database can be "
			    "reached\n");
		rc = 0;
		goto out;
	}
	/*
	 * A web-facing process has no business being root: it would own the
	 * journal and results as root and turn any bug into a root bug.
	 */
	if (geteuid() == 0 && !o.allow_root) {
		fprintf(stderr, "sluice: refusing to run as root; run it as an "
		    "unprivileged user (the systemd unit uses DynamicUser), or "
		    "pass -R if you really mean it\n");
		goto out;
	}
	rc = serve(&o, conf, tmpl, state);
out:
	tmpl_free(tmpl);
	conf_free(conf);
	return rc;
}
