/*
 * Unit tests for jobdir.c: names, paths, writing and adopting files
 * (links and copies), removal, the checked types and download names.
 */
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "rm_tree.h"
#include "jobdir.h"

#define ID	"0123456789abcdef0123456789abcdef"

static char	 root[64];

static void
setup(void)
{
	strcpy(root, "/tmp/sluice-jobdir-XXXXXX");
	cr_assert_not_null(mkdtemp(root));
}

static void
teardown(void)
{
	rm_tree(root);
}

TestSuite(jobdir, .init = setup, .fini = teardown);

struct name_case {
	const char	*name;
	int		 ok;
};

static const struct name_case name_cases[] = {
	{ "image", 1 }, { "out.png", 1 }, { "a-b_c.9", 1 },
	{ "0123456789012345678901234567890123456789012345678901234567890123", 1 },
	{ "01234567890123456789012345678901234567890123456789012345678901234", 0 },
	{ "", 0 }, { ".", 0 }, { "..", 0 }, { ".hidden", 0 },
	{ "a/b", 0 }, { "a%2Fb", 0 }, { "a b", 0 }, { "a\\b", 0 },
	{ "caf\xc3\xa9", 0 }, { "x\n", 0 },
};

Test(jobdir, names)
{
	size_t	 i;

	for (i = 0; i < sizeof(name_cases) / sizeof(name_cases[0]); i++)
		cr_expect_eq(jobdir_name_ok(name_cases[i].name),
		    name_cases[i].ok, "%s", name_cases[i].name);
}

Test(jobdir, paths)
{
	char	 p[PATH_MAX], small[20];

	cr_assert_eq(jobdir_path("/s/results", ID, JOBDIR_IN, "photo", p,
	    sizeof(p)), 0);
	cr_expect_str_eq(p, "/s/results/" ID "/in/photo");
	cr_assert_eq(jobdir_path("/s/results", ID, JOBDIR_OUT, NULL, p,
	    sizeof(p)), 0);
	cr_expect_str_eq(p, "/s/results/" ID "/out");
	cr_expect_eq(jobdir_path("/s", "../../etc", JOBDIR_IN, "x", p,
	    sizeof(p)), -1);
	cr_expect_eq(jobdir_path("/s", ID, JOBDIR_IN, "../x", p, sizeof(p)),
	    -1);
	cr_expect_eq(jobdir_path("/s", ID, JOBDIR_IN, "x", small,
	    sizeof(small)), -1);
	cr_expect_eq(errno, ENAMETOOLONG);
}

/* Reads the whole (small) file at path into buf; its length. */
static ssize_t
slurp(const char *path, char *buf, size_t len)
{
	ssize_t	 n;
	int	 fd;

	if ((fd = open(path, O_RDONLY)) == -1)
		return -1;
	n = read(fd, buf, len);
	close(fd);
	return n;
}

Test(jobdir, write_then_open_and_remove)
{
	char		 p[PATH_MAX], err[256], buf[PATH_MAX];
	struct stat	 st;
	int		 fd;

	cr_assert_eq(jobdir_write(root, ID, JOBDIR_IN, "photo", "hello", 5,
	    err, sizeof(err)), 0, "%s", err);
	cr_assert_eq(jobdir_path(root, ID, JOBDIR_IN, "photo", p, sizeof(p)),
	    0);
	cr_expect_eq(slurp(p, buf, sizeof(buf)), 5);
	cr_assert_eq(stat(p, &st), 0);
	cr_expect_eq(st.st_mode & 0777, 0640);
	cr_assert_neq(fd = jobdir_open(root, ID, JOBDIR_IN, "photo"), -1);
	close(fd);
	cr_expect_eq(jobdir_open(root, ID, JOBDIR_IN, "other"), -1);
	cr_expect_eq(errno, ENOENT);
	/* Written again: replaced, no temporary left. */
	cr_assert_eq(jobdir_write(root, ID, JOBDIR_IN, "photo", "bye", 3, err,
	    sizeof(err)), 0);
	cr_expect_eq(slurp(p, buf, sizeof(buf)), 3);
	snprintf(buf, sizeof(buf), "%s/%s/in/.photo.tmp", root, ID);
	cr_expect_neq(access(buf, F_OK), 0);
	cr_assert_eq(jobdir_remove_kind(root, ID, JOBDIR_IN), 0);
	cr_expect_neq(access(p, F_OK), 0);
	cr_assert_eq(jobdir_remove(root, ID), 0);
	snprintf(p, sizeof(p), "%s/%s", root, ID);
	cr_expect_neq(access(p, F_OK), 0);
	cr_expect_eq(jobdir_remove(root, ID), 0, "a missing one is fine");
}

/* An adopted file is a link to the same inode (no copy). */
Test(jobdir, adopt_links)
{
	char		 src[PATH_MAX], p[PATH_MAX], err[256], buf[16];
	struct stat	 a, b;
	int		 fd;

	snprintf(src, sizeof(src), "%s/worker-out.png", root);
	cr_assert_neq(fd = open(src, O_RDWR | O_CREAT, 0600), -1);
	cr_assert_eq(write(fd, "pixels", 6), 6);
	cr_assert_eq(jobdir_adopt(root, ID, JOBDIR_OUT, "image", fd, err,
	    sizeof(err)), 0, "%s", err);
	cr_assert_eq(jobdir_path(root, ID, JOBDIR_OUT, "image", p, sizeof(p)),
	    0);
	cr_assert_eq(fstat(fd, &a), 0);
	cr_assert_eq(stat(p, &b), 0);
	cr_expect_eq(a.st_ino, b.st_ino);
	close(fd);
	cr_assert_eq(unlink(src), 0);	/* the worker's directory is emptied */
	cr_expect_eq(slurp(p, buf, sizeof(buf)), 6);
}

/* A file that is a directory cannot be made where one must be. */
Test(jobdir, make_refuses_a_file_in_the_way)
{
	char	 p[PATH_MAX], err[256];
	int	 fd;

	snprintf(p, sizeof(p), "%s/%s", root, ID);
	cr_assert_neq(fd = open(p, O_WRONLY | O_CREAT, 0600), -1);
	close(fd);
	cr_expect_eq(jobdir_write(root, ID, JOBDIR_IN, "photo", "x", 1, err,
	    sizeof(err)), -1);
	cr_expect(strstr(err, ID) != NULL, "%s", err);
}

struct type_case {
	const char	*declared;
	const char	*head;
	size_t		 len;
	const char	*served;
};

static const struct type_case type_cases[] = {
	{ "image/png", "\x89PNG\r\n\x1a\n....", 12, "image/png" },
	{ "image/png", "GIF89a......", 12, "application/octet-stream" },
	{ "image/png", "\x89PN", 3, "application/octet-stream" },
	{ "image/jpeg", "\xff\xd8\xff\xe0", 4, "image/jpeg" },
	{ "image/jpeg", "\x89PNG\r\n\x1a\n", 8,
	    "application/octet-stream" },
	{ "image/webp", "RIFF\x10\0\0\0WEBPVP8 ", 16, "image/webp" },
	{ "image/webp", "RIFX\x10\0\0\0WEBPVP8 ", 16,
	    "application/octet-stream" },
	{ "image/svg+xml", "<svg>", 5, "application/octet-stream" },
	{ "text/html", "<html>", 6, "text/html" },
	{ "text/csv", "a,b", 3, "text/csv" },
	{ "Text/CSV", "a,b", 3, "application/octet-stream" },
	{ "text/plain; charset=utf-8", "a", 1,
	    "application/octet-stream" },
	{ "nonsense", "a", 1, "application/octet-stream" },
	{ "a/b/c", "a", 1, "application/octet-stream" },
	{ "", "a", 1, "application/octet-stream" },
};

Test(jobdir, checked_types)
{
	const struct type_case	*c;
	size_t			 i;

	for (i = 0; i < sizeof(type_cases) / sizeof(type_cases[0]); i++) {
		c = &type_cases[i];
		cr_expect_str_eq(jobdir_checked_type(c->declared,
		    (const unsigned char *)c->head, c->len), c->served, "%s",
		    c->declared);
	}
}

Test(jobdir, inline_and_download_names)
{
	char	 d[80];

	cr_expect(jobdir_type_inline("image/png"));
	cr_expect(jobdir_type_inline("image/webp"));
	cr_expect_not(jobdir_type_inline("text/html"));
	cr_expect_not(jobdir_type_inline("application/octet-stream"));
	jobdir_download_name("image", "image/png", d, sizeof(d));
	cr_expect_str_eq(d, "image.png");
	jobdir_download_name("image", "image/jpeg", d, sizeof(d));
	cr_expect_str_eq(d, "image.jpg");
	jobdir_download_name("table", "text/csv", d, sizeof(d));
	cr_expect_str_eq(d, "table.csv");
	jobdir_download_name("out.bin", "image/png", d, sizeof(d));
	cr_expect_str_eq(d, "out.bin");
	jobdir_download_name("blob", "application/x-whatever", d, sizeof(d));
	cr_expect_str_eq(d, "blob");
	jobdir_download_name("../x", "text/plain", d, sizeof(d));
	cr_expect_str_eq(d, "file.txt");
}
