/* Lexical path helpers (no filesystem access). Symlink-aware containment is
 * the job of the layer applier and context walker, which open paths with
 * O_NOFOLLOW / openat2(RESOLVE_IN_ROOT); these functions only make sure a
 * name cannot climb out of its root by spelling. */
#ifndef BERTH_PATH_H
#define BERTH_PATH_H

#include <stdbool.h>
#include "common/berr.h"

/* Go's path.Clean: collapse "//", ".", "..". "" -> ".". Caller frees. */
char *bpath_clean(const char *p);
/* The same for p[0, n) into out, which must hold n + 2 bytes; no
 * allocation (hot paths such as .dockerignore matching). Returns the
 * length written; out is NUL-terminated. */
size_t bpath_clean_into(const char *p, size_t n, char *out);

/* root + "/" + rel, where rel must be relative and must not leave root after
 * cleaning ("a/../../x" fails with BERR_SECURITY). *out is owned by caller. */
int bpath_join(const char *root, const char *rel, char **out, struct berr **err);

/* true when cleaned relative `rel` stays inside its root */
bool bpath_is_contained(const char *rel);

#endif
