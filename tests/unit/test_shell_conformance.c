/* BuildKit's shell lexer test tables, one cmocka test per row:
 *   shared/conformance/buildkit/shell/envVarTest  (ProcessWord)
 *   shared/conformance/buildkit/shell/wordsTest   (ProcessWords)
 * Formats: shared/conformance/buildkit/README.txt. The files are read at run
 * time from ${BERTH_SHARED:-../shared}/conformance (tests run from the repo
 * root); when they are absent the suite reports one skipped test. A rows run
 * in Linux and in Windows mode, U rows in Linux mode, W rows in Windows mode
 * (case-insensitive names). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_shell.h"
#include "common/common.h"

struct row {
	const char *file;
	int line;
	char platform;        /* 'A', 'U', 'W'; 0 for wordsTest */
	char *input;
	char *expected;       /* envVarTest: the word; wordsTest: comma list */
	char **env;           /* wordsTest: ENV entries in effect (borrowed) */
	size_t nenv;
	char *name;
};

static char *shared_dir(void)
{
	const char *s = getenv("BERTH_SHARED");
	return xasprintf("%s/conformance/buildkit/shell", s && *s ? s : "../shared");
}

static bool go_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

static char *trim_space(const char *s, size_t n)
{
	while (n && go_space(*s)) {
		s++;
		n--;
	}
	while (n && go_space(s[n - 1]))
		n--;
	return xstrndup(s, n);
}

static char *read_all(const char *path)
{
	struct berr *err = NULL;
	struct bbuf b = BBUF_INIT;
	if (bfile_read_all(path, 1 << 20, &b, &err) < 0) {
		berr_free(err);
		bbuf_release(&b);
		return NULL;
	}
	return bbuf_detach(&b, NULL);
}

static struct row *rows;
static size_t nrows, caprows;
static char **envs;   /* wordsTest ENV entries, in file order */
static size_t nenvs, capenvs;

static struct row *add_row(const char *file, int line)
{
	XGROW(rows, nrows + 1, caprows);
	struct row *r = &rows[nrows++];
	memset(r, 0, sizeof(*r));
	r->file = file;
	r->line = line;
	return r;
}

/* Splits text into lines as bufio.ScanLines does (drops a final \r). */
static char **split_lines(char *text, size_t *n)
{
	char **v = NULL;
	size_t cap = 0;
	*n = 0;
	char *p = text;
	while (*p) {
		char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		if (len && p[len - 1] == '\r')
			len--;
		XGROW(v, *n + 1, cap);
		v[(*n)++] = xstrndup(p, len);
		if (!nl)
			break;
		p = nl + 1;
	}
	return v;
}

static int count_char(const char *s, char c)
{
	int n = 0;
	for (; *s; s++)
		n += *s == c;
	return n;
}

static void load_envvar(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/envVarTest", dir);
	_cleanup_free_ char *text = read_all(path);
	if (!text)
		return;
	size_t n;
	char **lines = split_lines(text, &n);
	for (size_t i = 0; i < n; i++) {
		char *l = lines[i];
		_cleanup_free_ char *t = trim_space(l, strlen(l));
		if (l[0] == '#' || !*t) {
			free(l);
			continue;
		}
		struct row *r = add_row("envVarTest", (int)i + 1);
		char *b1 = strchr(t, '|');
		char *b2 = b1 ? strchr(b1 + 1, '|') : NULL;
		if (count_char(t, '|') != 2 || !b2) {
			r->platform = '?';
			r->input = xstrdup(t);
			r->expected = xstrdup("");
		} else {
			_cleanup_free_ char *p = trim_space(t, (size_t)(b1 - t));
			r->platform = p[0];
			r->input = trim_space(b1 + 1, (size_t)(b2 - b1 - 1));
			r->expected = trim_space(b2 + 1, strlen(b2 + 1));
		}
		r->name = xasprintf("envVarTest:%d %c %s", r->line, r->platform, r->input);
		free(l);
	}
	free(lines);
}

static void load_words(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/wordsTest", dir);
	_cleanup_free_ char *text = read_all(path);
	if (!text)
		return;
	size_t n;
	char **lines = split_lines(text, &n);
	for (size_t i = 0; i < n; i++) {
		char *l = lines[i];
		if (l[0] == '#') {
			free(l);
			continue;
		}
		if (strncmp(l, "ENV ", 4) == 0) {
			const char *e = l + 3;
			while (*e == ' ')
				e++;
			XGROW(envs, nenvs + 1, capenvs);
			envs[nenvs++] = xstrdup(e);
			free(l);
			continue;
		}
		struct row *r = add_row("wordsTest", (int)i + 1);
		r->nenv = nenvs; /* entries before this line; envs may move, index later */
		char *bar = strchr(l, '|');
		if (count_char(l, '|') != 1) {
			r->platform = '?';
			r->input = xstrdup(l);
			r->expected = xstrdup("");
		} else {
			r->input = trim_space(l, (size_t)(bar - l));
			const char *e = bar + 1;
			while (*e == ' ')
				e++;
			r->expected = xstrdup(e);
		}
		r->name = xasprintf("wordsTest:%d %s", r->line, r->input);
		free(l);
	}
	free(lines);
}

static struct df_env *base_env(bool windows)
{
	struct df_env *env = df_env_new(windows);
	df_env_set_kv(env, "PWD=/home");
	df_env_set_kv(env, "SHELL=bash");
	df_env_set_kv(env, "KOREAN=한국어");
	df_env_set_kv(env, "NULL=");
	return env;
}

static void check_envvar_mode(const struct row *r, bool windows)
{
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	_cleanup_df_env_ struct df_env *env = base_env(windows);
	struct berr *err = NULL;
	char *got = df_shell_process_word(&lex, r->input, env, NULL, &err);
	if (strcmp(r->expected, "error") == 0) {
		if (got)
			fail_msg("%s (%s mode): want an error, got \"%s\"", r->name,
				 windows ? "windows" : "linux", got);
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "failed to process \""));
	} else {
		if (!got)
			fail_msg("%s (%s mode): unexpected error: %s", r->name,
				 windows ? "windows" : "linux", err->msg);
		if (strcmp(got, r->expected) != 0)
			fail_msg("%s (%s mode): want \"%s\", got \"%s\"", r->name,
				 windows ? "windows" : "linux", r->expected, got);
	}
	free(got);
	berr_free(err);
}

static void test_envvar_row(void **state)
{
	const struct row *r = *state;
	switch (r->platform) {
	case 'A':
		check_envvar_mode(r, false);
		check_envvar_mode(r, true);
		break;
	case 'U':
		check_envvar_mode(r, false);
		break;
	case 'W':
		check_envvar_mode(r, true);
		break;
	default:
		fail_msg("%s: malformed row (want PLATFORM|INPUT|EXPECTED)", r->name);
	}
}

static void test_words_row(void **state)
{
	const struct row *r = *state;
	if (r->platform == '?')
		fail_msg("%s: malformed row (want exactly one '|')", r->name);
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	_cleanup_df_env_ struct df_env *env = df_env_new(false);
	for (size_t i = 0; i < r->nenv; i++)
		df_env_set_kv(env, envs[i]);
	struct berr *err = NULL;
	size_t n = 0;
	char **got = df_shell_process_words(&lex, r->input, env, &n, &err);
	struct bbuf b = BBUF_INIT;
	if (!got)
		bbuf_addstr(&b, "error", NULL);
	for (size_t i = 0; got && i < n; i++) {
		if (i)
			bbuf_addch(&b, ',', NULL);
		bbuf_addstr(&b, got[i], NULL);
	}
	/* compare as the comma-joined list; no expected word contains ',' */
	if (strcmp(bbuf_str(&b), r->expected) != 0)
		fail_msg("%s: want [%s], got [%s]", r->name, r->expected, bbuf_str(&b));
	/* an empty word never appears in a ProcessWords result */
	for (size_t i = 0; got && i < n; i++)
		assert_true(got[i][0] != '\0');
	bbuf_release(&b);
	df_shell_strv_free(got);
	berr_free(err);
}

static void test_missing_shared(void **state)
{
	(void)state;
	print_message("shared conformance data not found (set BERTH_SHARED)\n");
	skip();
}

int main(void)
{
	_cleanup_free_ char *dir = shared_dir();
	load_envvar(dir);
	load_words(dir);
	if (!nrows) {
		const struct CMUnitTest none[] = { cmocka_unit_test(test_missing_shared) };
		return cmocka_run_group_tests_name("shell_conformance", none, NULL, NULL);
	}
	struct CMUnitTest *tests = xcalloc(nrows, sizeof(*tests));
	for (size_t i = 0; i < nrows; i++) {
		tests[i].name = rows[i].name;
		tests[i].test_func = rows[i].file[0] == 'e' ? test_envvar_row : test_words_row;
		tests[i].initial_state = &rows[i];
	}
	int rc = _cmocka_run_group_tests("shell_conformance", tests, nrows, NULL, NULL);
	for (size_t i = 0; i < nrows; i++) {
		free(rows[i].input);
		free(rows[i].expected);
		free(rows[i].name);
	}
	for (size_t i = 0; i < nenvs; i++)
		free(envs[i]);
	free(envs);
	free(rows);
	free(tests);
	return rc;
}
