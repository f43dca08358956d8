/*
 * rm_tree: the unit tests' one way to remove a state directory they made
 * (files first, then directories; symbolic links not followed).
 */
#ifndef SLUICE_TESTS_RM_TREE_H
#define SLUICE_TESTS_RM_TREE_H

#include <sys/stat.h>

#include <ftw.h>
#include <stdio.h>

static inline int
rm_tree_one(const char *path, const struct stat *sb, int flag,
    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

/* Removes dir and everything in it; a missing one is fine. */
static inline void
rm_tree(const char *dir)
{
	(void)nftw(dir, rm_tree_one, 16, FTW_DEPTH | FTW_PHYS);
}

#endif
