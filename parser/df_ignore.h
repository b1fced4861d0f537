/* .dockerignore reading and matching: a port of moby/patternmatcher and
 * moby/patternmatcher/ignorefile (the code BuildKit and `docker build` use).
 *
 * df_ignore_read() turns the file into the pattern list (ignorefile.ReadAll);
 * df_ignore_new() compiles that list once (patternmatcher.New), and the
 * df_ignore_matches_* functions answer "is this context path excluded?".
 * Paths are slash-separated and relative to the context root ("dir/file").
 * See docs/internals-dockerignore.md for the exact rules. */
#ifndef BERTH_DF_IGNORE_H
#define BERTH_DF_IGNORE_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"

/* bufio.Scanner's default token limit: a longer line fails ReadAll */
#define DF_IGNORE_MAX_LINE 65535

/* ignorefile.ReadAll on `len` bytes of `data`. On success *patterns is a
 * caller-owned array of *n caller-owned strings (free with
 * df_ignore_patterns_free); on failure nothing is returned. Fails on a line
 * longer than DF_IGNORE_MAX_LINE and on NUL bytes (which C strings cannot
 * carry; Go would keep them). */
int df_ignore_read(const char *data, size_t len, char ***patterns, size_t *n,
		   struct berr **err);
void df_ignore_patterns_free(char **patterns, size_t n);

/* A compiled pattern set. Not safe for concurrent use (it keeps a scratch
 * buffer and PCRE2 match data), like Go's PatternMatcher. */
struct df_ignore;

/* patternmatcher.New: trims and cleans each pattern, drops empty ones, fails
 * on a lone "!" (`illegal exclusion pattern: "!"`) and on patterns
 * filepath.Match rejects (`syntax error in pattern`). Every pattern is
 * compiled here; a pattern whose regexp cannot be compiled is kept and fails
 * only when it is evaluated, as in Go. */
int df_ignore_new(char *const *patterns, size_t n, struct df_ignore **out,
		  struct berr **err);
void df_ignore_free(struct df_ignore *m);

/* PatternMatcher.MatchesOrParentMatches: *matched = path (or any of its
 * parent directories) is excluded by the last pattern that decides it.
 * `path` is used as given (not cleaned). */
int df_ignore_matches_or_parent_matches(struct df_ignore *m, const char *path,
					bool *matched, struct berr **err);

/* Deprecated PatternMatcher.Matches: like the above, but only the parent
 * prefix with as many components as the pattern is tried. */
int df_ignore_matches_single_parent(struct df_ignore *m, const char *path,
				    bool *matched, struct berr **err);

/* Deprecated package-level patternmatcher.Matches(path, patterns): New, then
 * cleans path; "." never matches; then the single-parent method above. */
int df_ignore_matches(const char *path, char *const *patterns, size_t n,
		      bool *matched, struct berr **err);

/* True when some pattern starts with '!'. Directory-skipping rule for a
 * context walker: if a directory D matches and the set has no exclusions,
 * every path below D matches too, so D may be pruned without descending.
 * With exclusions present, a later "!pattern" may re-include something under
 * D, so the walker must descend (or prove no exclusion can match below D). */
bool df_ignore_has_exclusions(const struct df_ignore *m);

/* Finer pruning rule: false when no exclusion pattern can match any path
 * strictly below `dir` (a clean relative path such as "node_modules" or
 * "a/b"). A directory that matches and for which this returns false can be
 * skipped whole even when the set has exclusions: the paths below it are
 * tried against the same parent prefixes, and only an exclusion matching
 * something below it could change their verdict. Conservative: patterns with
 * "**", classes or escapes always count as "may match". */
bool df_ignore_may_reinclude_below(const struct df_ignore *m, const char *dir);

/* Number of compiled patterns and the i-th cleaned pattern (without '!'). */
size_t df_ignore_count(const struct df_ignore *m);
const char *df_ignore_pattern(const struct df_ignore *m, size_t i, bool *exclusion);

#endif
