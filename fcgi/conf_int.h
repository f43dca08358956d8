/*
 * conf_int: what the files of the config loader share; not for use
 * outside fcgi/conf*.c.
 *
 *   conf.c          conf.h's calls: read the file, pre-scan, libconfig,
 *                   the sections in order; free, lookups, conf_value
 *   conf_scan.c     the pre-scan of the text before libconfig sees it
 *   conf_setting.c  typed readers of one setting, and the error messages
 *   conf_server.c   the server, results and sessions sections
 *   conf_locks.c    the locks and tasks sections
 *   conf_inputs.c   a worker task's inputs
 *
 * Every function here writes its error, "FILE:LINE: key.path: what", into
 * the load's context and returns -1; none keeps state, so loads may run on
 * several threads at once.
 */
#ifndef SLUICE_CONF_INT_H
#define SLUICE_CONF_INT_H

#include <stddef.h>

#include <libconfig.h>

#include "conf.h"

/* One load: the file name for messages and where the message goes. */
struct conf_ctx {
	const char	*file;		/* as given, for messages */
	char		*err;
	size_t		 errlen;
};

/* ---- conf_setting.c ---- */

/* "FILE:LINE: message" into ctx->err (no LINE when line <= 0). */
void	conf_err(struct conf_ctx *, int line, const char *fmt, ...)
	    __attribute__((format(printf, 3, 4)));
/* "FILE:LINE: path: message" for setting s (its line and dotted path). */
void	conf_serr(struct conf_ctx *, const config_setting_t *s,
	    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "FILE:LINE: parent.key: missing (required)", at the parent's line. */
void	conf_missing(struct conf_ctx *, const config_setting_t *parent,
	    const char *key);
/* Refuses (-1) any member of group s whose name is not in keys (NULL-ended). */
int	conf_check_keys(struct conf_ctx *, const config_setting_t *s,
	    const char *const *keys);
/*
 * The group called key in parent: 0 with *out set (NULL when absent), or
 * -1 when it is there but not a group.
 */
int	conf_group(struct conf_ctx *, const config_setting_t *parent,
	    const char *key, config_setting_t **out);
/* 1 when s holds an integer (32 or 64 bits). */
int	conf_is_int(const config_setting_t *s);
/*
 * The integer key of group (which may be NULL) into *out, within lo..hi,
 * or def when absent (an error instead when required). 0 or -1.
 */
int	conf_int(struct conf_ctx *, const config_setting_t *group,
	    const char *key, long long lo, long long hi, long long def,
	    int required, long long *out);
/*
 * The string key of group (which may be NULL) as a malloc'd copy in *out
 * (the caller frees it, also on -1): def copied when absent (*out NULL
 * when def is NULL), an error when required. *valp, when not NULL, gets
 * the setting (NULL when absent) for later messages. 0 or -1.
 */
int	conf_str(struct conf_ctx *, const config_setting_t *group,
	    const char *key, const char *def, int required, char **out,
	    config_setting_t **valp);

/*
 * The string key of group as an index into names (NULL-terminated; at
 * least two): *out the index of the one it equals, def when absent; any
 * other string is an error listing the names. 0 or -1.
 */
int	conf_enum(struct conf_ctx *, const config_setting_t *group,
	    const char *key, const char *const names[], int def, int *out);
/* The boolean key of group into *out, def when absent. 0 or -1. */
int	conf_bool(struct conf_ctx *, const config_setting_t *group,
	    const char *key, int def, int *out);
/* The number (integer or float) key of group, def when absent. 0 or -1. */
int	conf_num(struct conf_ctx *, const config_setting_t *group,
	    const char *key, double def, int required, double *out);
/*
 * Setting s, an array of at least min strings, as a NULL-terminated
 * malloc'd array (conf_strings_free). 0 or -1.
 */
int	conf_strings(struct conf_ctx *, const config_setting_t *s, int min,
	    int empty_ok, char ***out);
void	conf_strings_free(char **);

/* ---- conf_inputs.c ---- */

/*
 * The inputs group g of worker task t (in file order) into t's own
 * input specs. 0 or -1.
 */
int	conf_load_inputs(struct conf_ctx *, const config_setting_t *g,
	    struct conf_task *t);
struct kernel_spec;
/*
 * The params group g (NULL: none) of kernel task t, which narrows kernel
 * k's ranges: t's inputs are k's parameters, or a copy of them (t's own)
 * with the ranges given. 0 or -1.
 */
int	conf_load_narrow(struct conf_ctx *, const config_setting_t *g,
	    struct conf_task *t, const struct kernel_spec *k);
/* Frees what conf_load_inputs or conf_load_narrow made. */
void	conf_free_inputs(struct conf_task *t);
/* t's inputs as canonical text (a reload compares it); NULL on ENOMEM. */
char	*conf_inputs_sig(const struct conf_task *t);

/* ---- conf_scan.c ---- */

/*
 * Copies text[0..len) into *outp (NUL-terminated, the caller frees it) as
 * libconfig must see it; see conf_scan.c. 0, or -1 with the error in ctx
 * (*outp NULL).
 */
int	conf_prescan(struct conf_ctx *, const char *text, size_t len,
	    char **outp);

/*
 * ---- conf_server.c, conf_locks.c ----
 * One section each, from the root group into c; 0, or -1 with the error in
 * ctx (c then holds what was read so far, for conf_free). Locks must be
 * loaded before tasks.
 */
int	conf_load_server(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_results(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_clients(struct conf_ctx *, const config_setting_t *root,
	    struct conf *);
int	conf_load_sessions(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_cluster(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_events(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_locks(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);
int	conf_load_tasks(struct conf_ctx *, const config_setting_t *root,
	    struct conf *c);

#endif
