/* Go path/filepath.Match semantics, used for COPY/ADD source wildcards the
 * way BuildKit resolves them (one path component at a time).
 *
 *   '*'   any run of non-'/' bytes      '?'  one non-'/' character
 *   '[' ['^'] ranges ']'                '\\' escapes the next byte
 *
 * A malformed pattern ("[", "a[", "[a-", "\\" at the end) is an error
 * (Go's ErrBadPattern), reported even when an earlier part fails to match. */
#ifndef BERTH_BLD_MATCH_H
#define BERTH_BLD_MATCH_H

#include <stdbool.h>
#include "common/berr.h"

/* Returns 1 on match, 0 on no match, -1 with *err (BERR_INPUT) on a bad pattern. */
int bld_match(const char *pattern, const char *name, struct berr **err);
/* true when s contains an unescaped wildcard metacharacter (* ? [) */
bool bld_has_wildcard(const char *s);

#endif
