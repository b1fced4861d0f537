/* A small string-keyed hash map (open addressing, FNV-1a) used by the layer
 * writer (case-folded Windows paths) and the layer applier (paths written by
 * the current layer). The map owns copies of its keys; values are borrowed
 * pointers the caller keeps alive. */
#ifndef BERTH_IMG_STRMAP_H
#define BERTH_IMG_STRMAP_H

#include <stdbool.h>
#include <stddef.h>

struct img_hmap {
	char **keys;
	void **vals;
	size_t cap, len;
};
#define IMG_HMAP_INIT { NULL, NULL, 0, 0 }

/* Insert or replace; returns the previous value (NULL if none). */
void *img_hmap_put(struct img_hmap *m, const char *key, void *val);
/* true when key is present; *val (may be NULL) receives its value */
bool img_hmap_get(const struct img_hmap *m, const char *key, void **val);
void img_hmap_release(struct img_hmap *m);

#endif
