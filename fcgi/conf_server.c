/*
 * conf_server: the scalar sections of the config, server, results,
 * sessions and clients: each key read with its range and its default.
 */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "conf_int.h"

#ifndef SLUICE_DATADIR
#define SLUICE_DATADIR	"/usr/local/share/sluice"
#endif

#define CONF_UNIX_MAX	107		/* sizeof(sun_path) - 1 on Linux */

static const char *const conf_server_keys[] = {
	"listen", "threads", "templates", "state", "max_body",
	"drain_timeout", NULL
};
static const char *const conf_results_keys[] = { "ttl", "max_bytes", NULL };
/* sessions and clients */
static const char *const conf_clients_keys[] = { "max_active", NULL };
static const char *const conf_sessions_keys[] = { "max_active",
    "max_result_bytes", NULL };
static const char *const conf_events_keys[] = { "publisher", NULL };
static const char *const conf_cluster_keys[] = { "database", "node",
    "lease", NULL };


/*
 * Responder threads when the file says nothing: twice the online CPUs, at
 * least 4. A responder never waits for a lock, a GPU or an idle kept
 * connection, so threads beyond the cores mostly add context switches
 * (measured on 2 cores: GET / through nginx at 2, 4, 8 and 16 threads,
 * 31k, 28k, 23k and 22k requests/s); a few spare ones cover a request
 * waiting on the journal.
 */
static long long
conf_default_threads(void)
{
	long	 n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 2)
		return 4;
	return n > 512 ? 1024 : 2 * (long long)n;
}

/*
 * Checks a listen address: "unix:/absolute/path" or "HOST:PORT" (HOST may
 * be a bracketed IPv6 address). Returns 0, or -1 with the reason in why.
 */
static int
conf_listen_ok(const char *v, const char **why)
{
	const char	*colon, *p;
	size_t		 hostlen;
	long		 port;

	if (strncmp(v, "unix:", 5) == 0) {
		if (v[5] != '/') {
			*why = "unix socket path must be absolute";
			return -1;
		}
		if (strlen(v + 5) > CONF_UNIX_MAX) {
			*why = "unix socket path must be at most 107 bytes";
			return -1;
		}
		return 0;
	}
	if ((colon = strrchr(v, ':')) == NULL) {
		*why = "must be \"unix:/path\" or \"HOST:PORT\"";
		return -1;
	}
	hostlen = (size_t)(colon - v);
	if (hostlen == 0) {
		*why = "host is missing (use HOST:PORT)";
		return -1;
	}
	if (v[0] == '[') {
		if (hostlen < 3 || v[hostlen - 1] != ']') {
			*why = "bad IPv6 address (use [ADDR]:PORT)";
			return -1;
		}
	} else if (memchr(v, ':', hostlen) != NULL) {
		*why = "an IPv6 host must be in brackets ([ADDR]:PORT)";
		return -1;
	}
	for (p = v; p < colon; p++)
		if (isspace((unsigned char)*p) || iscntrl((unsigned char)*p) ||
		    *p == '/') {
			*why = "bad character in host";
			return -1;
		}
	p = colon + 1;
	if (*p == '\0' || strspn(p, "0123456789") != strlen(p) ||
	    strlen(p) > 5) {
		*why = "port must be 1..65535";
		return -1;
	}
	port = strtol(p, NULL, 10);
	if (port < 1 || port > 65535) {
		*why = "port must be 1..65535";
		return -1;
	}
	return 0;
}

/* The server group: listen, threads, directories, limits. */
int
conf_load_server(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g, *s;
	long long		 v;
	const char		*why;

	if (conf_group(ctx, root, "server", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_server_keys) == -1)
		return -1;
	if (conf_str(ctx, g, "listen", "unix:/run/sluice/sluice.sock", 0, &c->listen,
	    &s) == -1)
		return -1;
	if (s != NULL && conf_listen_ok(c->listen, &why) == -1) {
		conf_serr(ctx, s, "%s", why);
		return -1;
	}
	if (conf_int(ctx, g, "threads", 1, 1024, conf_default_threads(), 0,
	    &v) == -1)
		return -1;
	c->threads = (int)v;
	if (conf_str(ctx, g, "templates", SLUICE_DATADIR "/templates", 0,
	    &c->templates, NULL) == -1)
		return -1;
	if (conf_str(ctx, g, "state", "/var/lib/sluice", 0, &c->state,
	    NULL) == -1)
		return -1;
	if (conf_int(ctx, g, "max_body", 1, 1073741824, 65536, 0, &v) == -1)
		return -1;
	c->max_body = (long)v;
	if (conf_int(ctx, g, "drain_timeout", 0, 86400, 30, 0, &v) == -1)
		return -1;
	c->drain_timeout = (int)v;
	return 0;
}

/* The results group: how long and how much result files are kept. */
int
conf_load_results(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g;
	long long		 v;

	if (conf_group(ctx, root, "results", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_results_keys) == -1)
		return -1;
	if (conf_int(ctx, g, "ttl", 1, 31536000, 3600, 0, &v) == -1)
		return -1;
	c->results_ttl = (long)v;
	if (conf_int(ctx, g, "max_bytes", 1, INT64_MAX, 1073741824LL, 0,
	    &v) == -1)
		return -1;
	c->results_max_bytes = (int64_t)v;
	return 0;
}

/*
 * A group whose one key is max_active (sessions, clients), 1 or min up to
 * 1000000, def when absent, into *out.
 */
static int
conf_load_max_active(struct conf_ctx *ctx, const config_setting_t *root,
    const char *group, const char *const *keys, long long min, long long def,
    int *out)
{
	config_setting_t	*g;
	long long		 v;

	if (conf_group(ctx, root, group, &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, keys) == -1)
		return -1;
	if (conf_int(ctx, g, "max_active", min, 1000000, def, 0, &v) == -1)
		return -1;
	*out = (int)v;
	return 0;
}

/* The sessions group: jobs one session may have at once. */
int
conf_load_sessions(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g;
	long long		 v;

	if (conf_load_max_active(ctx, root, "sessions", conf_sessions_keys,
	    1, 2, &c->max_active) == -1 ||
	    conf_group(ctx, root, "sessions", &g) == -1)
		return -1;
	/* One session's results may not push out everyone else's. */
	if (conf_int(ctx, g, "max_result_bytes", 0, INT64_MAX, 268435456LL, 0,
	    &v) == -1)
		return -1;
	c->max_result_bytes = (int64_t)v;
	return 0;
}

/*
 * The clients group: jobs one client address may have at once. Sessions
 * cost nothing to make, so the session's cap alone does not bound one
 * address; 0 turns the cap off (clients behind a proxy whose real
 * address nginx is not told all share its address, see README).
 */
int
conf_load_clients(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	return conf_load_max_active(ctx, root, "clients", conf_clients_keys,
	    0, 8, &c->client_max_active);
}

/* The events group: where live updates are published (nchan). */
int
conf_load_events(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g, *s;
	const char		*why;

	if (conf_group(ctx, root, "events", &g) == -1)
		return -1;
	if (g != NULL && conf_check_keys(ctx, g, conf_events_keys) == -1)
		return -1;
	if (conf_str(ctx, g, "publisher", NULL, 0, &c->events_publisher,
	    &s) == -1)
		return -1;
	if (s != NULL && conf_listen_ok(c->events_publisher, &why) == -1) {
		conf_serr(ctx, s, "%s", why);
		return -1;
	}
	return 0;
}

/* 1 when name is 1..CONF_NODE_MAX characters of A-Z a-z 0-9 . _ - */
static int
conf_node_ok(const char *name)
{
	size_t	 n;

	for (n = 0; name[n] != '\0'; n++)
		if (!isalnum((unsigned char)name[n]) && name[n] != '.' &&
		    name[n] != '_' && name[n] != '-')
			return 0;
	return n >= 1 && n <= CONF_NODE_MAX;
}

int
conf_set_node(struct conf *c, const char *name, char *err, size_t errlen)
{
	char	*dup;

	if (c->cluster_database == NULL) {
		snprintf(err, errlen, "-N %.64s: there is no cluster group "
		    "(cluster.database) to name a node of", name);
		return -1;
	}
	if (!conf_node_ok(name)) {
		snprintf(err, errlen, "-N: a node name is 1..%d characters of "
		    "A-Z a-z 0-9 . _ -", CONF_NODE_MAX);
		return -1;
	}
	if ((dup = strdup(name)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(c->cluster_node);
	c->cluster_node = dup;
	return 0;
}

/*
 * The cluster group (DESIGN.md, "the cluster"): absent, one machine with
 * its SQLite journal. Present: database (required; not connected here,
 * sluice -t does), node (the host name when absent: it names this node
 * in the database, so it must be unique and stable) and lease.
 */
int
conf_load_cluster(struct conf_ctx *ctx, const config_setting_t *root,
    struct conf *c)
{
	config_setting_t	*g, *s;
	char			 host[256];
	long long		 v;

	c->cluster_lease = 15;
	if (conf_group(ctx, root, "cluster", &g) == -1)
		return -1;
	if (g == NULL)
		return 0;
	if (conf_check_keys(ctx, g, conf_cluster_keys) == -1 ||
	    conf_str(ctx, g, "database", NULL, 1, &c->cluster_database,
	    NULL) == -1 ||
	    conf_int(ctx, g, "lease", 1, 3600, 15, 0, &v) == -1)
		return -1;
	c->cluster_lease = (int)v;
	if (conf_str(ctx, g, "node", NULL, 0, &c->cluster_node, &s) == -1)
		return -1;
	if (s == NULL) {
		if (gethostname(host, sizeof(host)) == -1)
			host[0] = '\0';
		host[sizeof(host) - 1] = '\0';
		if (!conf_node_ok(host)) {
			conf_serr(ctx, g, "node: the host name \"%.64s\" is "
			    "not a node name: set cluster.node", host);
			return -1;
		}
		if ((c->cluster_node = strdup(host)) == NULL) {
			conf_err(ctx, 0, "out of memory");
			return -1;
		}
	} else if (!conf_node_ok(c->cluster_node)) {
		conf_serr(ctx, s, "must be 1..%d characters of A-Z a-z 0-9 "
		    ". _ -", CONF_NODE_MAX);
		return -1;
	}
	return 0;
}
