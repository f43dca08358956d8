/*
 * fill_disk: the full-disk tests' one way to fill a filesystem (a small
 * tmpfs they mounted): writes dir/fill until ENOSPC, the path into path.
 * Criterion asserts; include after criterion.h.
 */
#ifndef SLUICE_TESTS_FILL_DISK_H
#define SLUICE_TESTS_FILL_DISK_H

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static inline void
fill_disk(const char *dir, char *path, size_t len)
{
	static const char	 zero[65536];
	int			 fd;

	snprintf(path, len, "%s/fill", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	cr_assert(fd >= 0, "open %s: %s", path, strerror(errno));
	while (write(fd, zero, sizeof(zero)) > 0)
		;
	cr_assert_eq(errno, ENOSPC, "filling %s: %s", path, strerror(errno));
	close(fd);
}

#endif
