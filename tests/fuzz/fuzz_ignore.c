/* Fuzz .dockerignore reading and matching. Input: the .dockerignore bytes,
 * a NUL byte, then '\n'-separated paths. Checks the directory-pruning rules
 * of df_ignore_has_exclusions() and df_ignore_may_reinclude_below(): when
 * they allow pruning a matching clean relative directory, a path below it
 * must match too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/df_ignore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 8192)
		return 0;
	const char *d = (const char *)data;
	const char *sep = memchr(d, '\0', size);
	size_t ilen = sep ? (size_t)(sep - d) : size;
	char **pats = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	if (df_ignore_read(d, ilen, &pats, &n, &err) < 0) {
		berr_free(err);
		return 0;
	}
	struct df_ignore *m = NULL;
	if (df_ignore_new(pats, n, &m, &err) < 0) {
		berr_free(err);
		df_ignore_patterns_free(pats, n);
		return 0;
	}
	const char *p = sep ? sep + 1 : d + size, *end = d + size;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
		char *path = xstrndup(p, len);
		bool r1 = false, r2 = false;
		int rc = df_ignore_matches_or_parent_matches(m, path, &r1, &err);
		berr_clear(&err);
		df_ignore_matches_single_parent(m, path, &r2, &err);
		berr_clear(&err);
		df_ignore_matches(path, pats, n, &r2, &err);
		berr_clear(&err);
		char *clean = bpath_clean(path);
		if (rc == 0 && r1 && strcmp(clean, path) == 0 && path[0] != '/' &&
		    strcmp(path, ".") != 0 &&
		    (!df_ignore_has_exclusions(m) || !df_ignore_may_reinclude_below(m, path))) {
			char *child = xasprintf("%s/x", path);
			bool rc2 = false;
			if (df_ignore_matches_or_parent_matches(m, child, &rc2, &err) == 0 && !rc2)
				abort();
			berr_clear(&err);
			free(child);
		}
		free(clean);
		free(path);
		p += len + 1;
	}
	df_ignore_free(m);
	df_ignore_patterns_free(pats, n);
	return 0;
}
