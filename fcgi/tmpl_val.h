/*
 * tmpl_val: the read side of struct tval, for the renderer (tmpl.c); the
 * values are built with the tval_* calls of tmpl.h. Reading never
 * changes a value, so one tree may be read by many threads at once.
 */
#ifndef SLUICE_TMPL_VAL_H
#define SLUICE_TMPL_VAL_H

#include <stddef.h>

#include "tmpl.h"

/* The type of v; TVAL_NULL for NULL. */
enum tval_type		 tval_type_of(const struct tval *v);
/* The value of key[0..len) in map (NULL when absent or map is no map). */
const struct tval	*tval_get(const struct tval *map, const char *key,
			    size_t len);
/*
 * A string's bytes (NUL-terminated, embedded NULs possible) with their
 * count in *len; NULL (and *len 0) for anything but a string.
 */
const char		*tval_bytes(const struct tval *v, size_t *len);
/* A bool's value, 1 or 0; 0 for anything but a bool. */
int			 tval_is_true(const struct tval *v);
/* The items of a list or the entries of a map; 0 for anything else. */
size_t			 tval_count(const struct tval *v);
/* Item i of a list; NULL past the end or for anything but a list. */
const struct tval	*tval_item(const struct tval *list, size_t i);

#endif
