/*
 * Unit tests for app: the CSRF secret file (app_load_secret), created
 * once whole even when responders start together.
 */
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "app.h"

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
