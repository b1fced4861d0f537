#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/df_ignore.h"

/* ReadAll on s, joined with '|' */
static char *read_joined(const char *s, size_t len)
{
	char **p = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	if (df_ignore_read(s, len, &p, &n, &err) < 0) {
		char *m = xasprintf("ERR %s", err->msg);
		berr_free(err);
		return m;
	}
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		if (i)
			bbuf_addch(&b, '|', NULL);
		bbuf_addstr(&b, p[i], NULL);
	}
	df_ignore_patterns_free(p, n);
	size_t l;
	return bbuf_detach(&b, &l);
}

#define READ_EQ(lit, want)                                       \
	do {                                                     \
		char *got_ = read_joined(lit, sizeof(lit) - 1);  \
		assert_string_equal(got_, want);                 \
		free(got_);                                      \
	} while (0)

static void test_read_rules(void **state)
{
	(void)state;
	READ_EQ("", "");
	READ_EQ("\n\n  \n", "");
	/* BOM only on the first line; CRLF; no final newline */
	READ_EQ("\xEF\xBB\xBF" "a\r\nb", "a|b");
	READ_EQ("a\n\xEF\xBB\xBF" "b", "a|\xEF\xBB\xBF" "b");
	/* '#' only in the first column is a comment */
	READ_EQ("# c\n  # not a comment\n", "# not a comment");
	/* exceptions: spaces after '!' go; cleaning; one leading '/' goes */
	READ_EQ("!  /foo/bar/\n", "!foo/bar");
	READ_EQ("a/./b/../c//d/\n", "a/c/d");
	READ_EQ("/\n//x\n/../y\n../z\n", "/|x|y|../z");
	READ_EQ("!\n! \n", "!|!");
	READ_EQ("\t*.md \n", "*.md");
	/* unicode spaces are trimmed too (Go's strings.TrimSpace) */
	READ_EQ("\xC2\xA0" "foo" "\xE3\x80\x80" "\n", "foo");
}

static void test_read_errors(void **state)
{
	(void)state;
	char *got = read_joined("a\nb\0c\n", 6);
	assert_string_equal(got, "ERR error reading .dockerignore: NUL byte on line 2");
	free(got);
	size_t n = DF_IGNORE_MAX_LINE + 1;
	char *big = xmalloc(n + 1);
	memset(big, 'x', n);
	big[n] = '\n';
	got = read_joined(big, n + 1);
	assert_non_null(strstr(got, "ERR error reading .dockerignore: line 1 longer than"));
	free(got);
	/* exactly at the limit is fine */
	got = read_joined(big + 1, n);
	assert_int_equal(strlen(got), DF_IGNORE_MAX_LINE);
	free(got);
	free(big);
}

/* MatchesOrParentMatches: 1, 0, or -1 for an error */
static int mopm(const char *const *pats, size_t n, const char *path)
{
	struct df_ignore *m = NULL;
	struct berr *err = NULL;
	bool r = false;
	int rc = df_ignore_new((char *const *)pats, n, &m, &err);
	if (rc == 0)
		rc = df_ignore_matches_or_parent_matches(m, path, &r, &err);
	df_ignore_free(m);
	berr_free(err);
	return rc < 0 ? -1 : r;
}

static int deprecated(const char *const *pats, size_t n, const char *path)
{
	struct berr *err = NULL;
	bool r = false;
	int rc = df_ignore_matches(path, (char *const *)pats, n, &r, &err);
	berr_free(err);
	return rc < 0 ? -1 : r;
}

#define P(...) ((const char *const[]){__VA_ARGS__}), \
	(sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_match_basics(void **state)
{
	(void)state;
	assert_int_equal(mopm(P("docs"), "docs/README.md"), 1);
	assert_int_equal(mopm(P("docs", "!docs/README.md"), "docs/README.md"), 0);
	assert_int_equal(mopm(P("docs", "!docs/README.md"), "docs/other.md"), 1);
	/* '*' stays inside one component; the parent does not match either */
	assert_int_equal(mopm(P("*.md"), "a/b.md"), 0);
	assert_int_equal(mopm(P("**/*.md"), "a/b/c.md"), 1);
	assert_int_equal(mopm(P("*/*.md"), "a/b.md"), 1);
	/* regexp metacharacters are literal */
	assert_int_equal(mopm(P("a+b"), "aab"), 0);
	assert_int_equal(mopm(P("a+b"), "a+b"), 1);
	assert_int_equal(mopm(P("x{1}"), "x{1}"), 1);
	/* the last deciding pattern wins; an exclusion re-includes */
	assert_int_equal(mopm(P("*", "!keep", "keep"), "keep"), 1);
	assert_int_equal(mopm(P("*", "!keep*"), "keep.txt"), 0);
	/* Dockerfile-style: exclude all, re-include a dir, exclude a file in it */
	assert_int_equal(mopm(P("**", "!src", "src/*.tmp"), "src/main.c"), 0);
	assert_int_equal(mopm(P("**", "!src", "src/*.tmp"), "src/x.tmp"), 1);
	assert_int_equal(mopm(P("**", "!src", "src/*.tmp"), "README"), 1);
}

static void test_match_errors(void **state)
{
	(void)state;
	assert_int_equal(mopm(P("["), "x"), -1);
	assert_int_equal(mopm(P("!"), "x"), -1);
	assert_int_equal(mopm(P("a\\"), "x"), -1);
	struct df_ignore *m = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_ignore_new((char *const[]){"ok", "[a-"}, 2, &m, &err), -1);
	assert_string_equal(err->msg, "syntax error in pattern '[a-'");
	berr_free(err);
	/* a regexp that only fails to compile errors when it is evaluated */
	assert_int_equal(mopm(P("[[:nope:]]"), "x"), -1);
	assert_int_equal(mopm(P("x", "[[:nope:]]"), "x"), 1);
	assert_int_equal(mopm(P("[[:alpha:]]"), "q"), 1);
}

static void test_match_go_regexp_semantics(void **state)
{
	(void)state;
	/* '$' is the end of the text (no match before a final newline) */
	assert_int_equal(mopm(P("*.txt"), "a.txt\n"), 0);
	/* [^/] matches a newline, '.' does not */
	assert_int_equal(mopm(P("a*"), "a\nb"), 1);
	assert_int_equal(mopm(P("x/**/y"), "x/a\nb/y"), 0);
	assert_int_equal(mopm(P("x/**/y"), "x/ab/y"), 1);
	/* an invalid UTF-8 byte is one character, as in Go */
	assert_int_equal(mopm(P("a?b"), "a\xFF" "b"), 1);
	assert_int_equal(mopm(P("a??b"), "a\xFF" "b"), 0);
	/* escapes are copied into the regexp and read the way RE2 reads them */
	assert_int_equal(mopm(P("\\d"), "5"), 1);
	assert_int_equal(mopm(P("\\x41"), "A"), 1);
	assert_int_equal(mopm(P("x\\sy"), "x\vy"), 0);
	assert_int_equal(mopm(P("x\\sy"), "x\ty"), 1);
	assert_int_equal(mopm(P("x\\vy"), "x\vy"), 1);
	assert_int_equal(mopm(P("**/a\\1"), "a1"), -1);  /* no backreferences */
	assert_int_equal(mopm(P("a\\e"), "ae"), -1);
	assert_int_equal(mopm(P("[\\b]"), "b"), -1);
	/* \Q quotes the rest of the *translated* regexp, as it does in Go */
	assert_int_equal(mopm(P("a\\Q*b"), "a[^/]*b$"), 1);
	assert_int_equal(mopm(P("a\\Q*b"), "a*b"), 0);
	/* multi-byte characters are one character */
	assert_int_equal(mopm(P("?"), "\xE2\x98\xBA"), 1);
}

static void test_match_backtracking_is_bounded(void **state)
{
	(void)state;
	/* exponential for a naive backtracker; must answer, not hang */
	char path[301];
	memset(path, 'a', 300);
	path[300] = '\0';
	assert_int_equal(mopm(P("*a*a*a*a*a*a*a*a*a*a*a*a*a*b"), path), 0);
	path[299] = 'b';
	assert_int_equal(mopm(P("*a*a*a*a*a*a*a*a*a*a*a*a*a*b"), path), 1);
}

static void test_parent_rules(void **state)
{
	(void)state;
	/* MatchesOrParentMatches tries every parent; deprecated Matches one */
	assert_int_equal(mopm(P("**/c"), "a/b/c/d"), 1);
	assert_int_equal(deprecated(P("**/c"), "a/b/c/d"), 0);
	assert_int_equal(deprecated(P("a/b"), "a/b/c/d"), 1);
	/* deprecated Matches cleans the path and never matches "." */
	assert_int_equal(deprecated(P("*"), "./"), 0);
	assert_int_equal(deprecated(P("a"), "./a/../a//x"), 1);
	/* the new API does not clean: "a/" is a file under "a" */
	assert_int_equal(mopm(P("a"), "a/"), 1);
	assert_int_equal(mopm(P("a/**"), "a"), 0);
	assert_int_equal(mopm(P("a/**"), "a/x"), 1);
}

static void test_exclusions_and_accessors(void **state)
{
	(void)state;
	struct df_ignore *m = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_ignore_new((char *const[]){" ", "b/", "a"}, 3, &m, &err), 0);
	assert_false(df_ignore_has_exclusions(m));
	assert_int_equal(df_ignore_count(m), 2);
	bool ex = true;
	assert_string_equal(df_ignore_pattern(m, 0, &ex), "b");
	assert_false(ex);
	assert_null(df_ignore_pattern(m, 2, NULL));
	df_ignore_free(m);
	assert_int_equal(df_ignore_new((char *const[]){"a", " !b/./c"}, 2, &m, &err), 0);
	assert_true(df_ignore_has_exclusions(m));
	assert_string_equal(df_ignore_pattern(m, 1, &ex), "b/c");
	assert_true(ex);
	/* pruning: "!b/c" can only re-include something below "b" */
	assert_true(df_ignore_may_reinclude_below(m, "b"));
	assert_false(df_ignore_may_reinclude_below(m, "a"));
	assert_false(df_ignore_may_reinclude_below(m, "b/c"));
	assert_false(df_ignore_may_reinclude_below(m, "bb"));
	/* the matcher is reusable across many paths */
	bool r;
	for (int i = 0; i < 1000; i++) {
		assert_int_equal(df_ignore_matches_or_parent_matches(m, "a/x", &r, &err), 0);
		assert_true(r);
	}
	df_ignore_free(m);
	const char *const p2[] = {"node_modules", "!*/keep", "!x/**/y", "!d/[ab]"};
	assert_int_equal(df_ignore_new((char *const *)p2, 2, &m, &err), 0);
	assert_true(df_ignore_may_reinclude_below(m, "node_modules"));
	assert_false(df_ignore_may_reinclude_below(m, "node_modules/a"));
	df_ignore_free(m);
	assert_int_equal(df_ignore_new((char *const *)p2 + 2, 2, &m, &err), 0);
	assert_true(df_ignore_may_reinclude_below(m, "q"));  /* conservative */
	df_ignore_free(m);
	df_ignore_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read_rules),
		cmocka_unit_test(test_read_errors),
		cmocka_unit_test(test_match_basics),
		cmocka_unit_test(test_match_errors),
		cmocka_unit_test(test_match_go_regexp_semantics),
		cmocka_unit_test(test_match_backtracking_is_bounded),
		cmocka_unit_test(test_parent_rules),
		cmocka_unit_test(test_exclusions_and_accessors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
