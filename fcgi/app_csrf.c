/*
 * app_csrf: the guards in front of the handlers: STATE/secret (the CSRF
 * key), CSRF tokens, the session check and the form body of a POST.
 * See app.h (app_load_secret, app_csrf_token) and app_int.h.
 */
#include "config.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "app_int.h"

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

/*
 * A token is the HMAC of the session and a day number (UTC days since
 * the epoch): a token that leaked stops working, a page left open over
 * one midnight still submits (yesterday's token is accepted too).
 */
static void
csrf_tag(const struct app *a, const char *session, long day,
    unsigned char tag[crypto_auth_BYTES])
{
	crypto_auth_hmacsha512256_state	 st;
	char				 msg[JOB_SESSION_LEN + 32];
	int				 n;

	n = snprintf(msg, sizeof(msg), "%s:%ld", session, day);
	if (n < 0 || (size_t)n >= sizeof(msg))
		n = 0;	/* no such session is valid: the tag matches nothing */
	/* crypto_auth(tag, msg, n, a->secret), from the key's hashed
	 * blocks: two compressions of four. */
	st = a->sh->csrf_key;
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)msg,
	    (size_t)n);
	crypto_auth_hmacsha512256_final(&st, tag);
	sodium_memzero(&st, sizeof(st));
}

long
app_csrf_today(void)
{
	return (long)(time(NULL) / 86400);
}

void
app_csrf_token_day(const struct app *a, const char *session, long day,
    char out[65])
{
	unsigned char tag[crypto_auth_BYTES];

	csrf_tag(a, session, day, tag);
	sodium_bin2hex(out, 65, tag, sizeof(tag));
}

void
app_csrf_token(const struct app *a, const char *session, char out[65])
{
	app_csrf_token_day(a, session, app_csrf_today(), out);
}

/*
 * Constant time in the token's bytes. Only lowercase hex, as issued: one
 * token has one spelling.
 */
int
app_csrf_ok_day(const struct app *a, const char *session, const char *token,
    long today)
{
	unsigned char	 tag[crypto_auth_BYTES], want[crypto_auth_BYTES];
	size_t		 i, binlen;
	long		 day;
	int		 ok = 0;

	if (token == NULL || session == NULL ||
	    strlen(token) != 2 * crypto_auth_BYTES)
		return 0;
	for (i = 0; token[i] != '\0'; i++)
		if (!((token[i] >= '0' && token[i] <= '9') ||
		    (token[i] >= 'a' && token[i] <= 'f')))
			return 0;
	if (sodium_hex2bin(tag, sizeof(tag), token, strlen(token), NULL,
	    &binlen, NULL) != 0 || binlen != sizeof(tag))
		return 0;
	for (day = today - 1; day <= today; day++) {
		csrf_tag(a, session, day, want);
		ok |= sodium_memcmp(tag, want, sizeof(tag)) == 0;
	}
	return ok;
}

int
app_csrf_ok(const struct app *a, const char *session, const char *token)
{
	return app_csrf_ok_day(a, session, token, app_csrf_today());
}

/* nginx issues sid as 32 hex characters; anything else is refused. */
int
app_session_valid(const char *s)
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

int
app_check_csrf(struct app *a, struct http_req *req, struct http_resp *resp)
{
	const char *token = form_get(&req->form, "csrf");

	if (token == NULL)
		token = req->csrf_header;
	if (app_csrf_ok(a, req->session, token))
		return 0;
	app_error_answer(a, req, 403, token == NULL ? "missing CSRF token "
	    "(reload the page and submit again)" : "wrong CSRF token "
	    "(reload the page and submit again)", 0, resp);
	return -1;
}
