/* Shell-word lexer (parser/df_shell.c): every expansion form, escapes, quote
 * modes, Windows names, error texts, limits and odd input. */
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

/* Expands in with lex/env; returns the word, or "ERR:<message>". */
static char *xp_lex(const struct df_lexer *lex, const struct df_env *env, const char *in)
{
	struct berr *err = NULL;
	char *out = df_shell_process_word(lex, in, env, NULL, &err);
	if (!out) {
		assert_non_null(err);
		out = xasprintf("ERR:%s", err->msg);
		berr_free(err);
	} else {
		assert_null(err);
	}
	return out;
}

static void check(const struct df_env *env, const char *in, const char *want)
{
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	char *got = xp_lex(&lex, env, in);
	if (strcmp(got, want) != 0)
		fail_msg("input %s: want \"%s\", got \"%s\"", in, want, got);
	free(got);
}

static void check_lex(const struct df_lexer *lex, const struct df_env *env, const char *in,
		      const char *want)
{
	char *got = xp_lex(lex, env, in);
	if (strcmp(got, want) != 0)
		fail_msg("input %s: want \"%s\", got \"%s\"", in, want, got);
	free(got);
}

/* Words joined with '|' ("ERR" on error). */
static void check_words(const struct df_env *env, const char *in, const char *want)
{
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	struct berr *err = NULL;
	size_t n = 99;
	char **v = df_shell_process_words(&lex, in, env, &n, &err);
	struct bbuf b = BBUF_INIT;
	if (!v) {
		bbuf_addstr(&b, "ERR", NULL);
		berr_free(err);
	} else {
		for (size_t i = 0; i < n; i++) {
			if (i)
				bbuf_addch(&b, '|', NULL);
			bbuf_addstr(&b, v[i], NULL);
		}
		assert_null(v[n]);
	}
	if (strcmp(bbuf_str(&b), want) != 0)
		fail_msg("words of %s: want [%s], got [%s]", in, want, bbuf_str(&b));
	bbuf_release(&b);
	df_shell_strv_free(v);
}

static struct df_env *env_of(bool windows, const char *const *kv)
{
	struct df_env *env = df_env_new(windows);
	for (; *kv; kv++)
		df_env_set_kv(env, *kv);
	return env;
}

static void test_plain_and_braced(void **state)
{
	(void)state;
	static const char *const kv[] = { "FOO=xxx", "BAR=", "SP=a  b", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "x", "x");
	check(env, "$FOO/${FOO}", "xxx/xxx");
	check(env, "$BAZ.$BAR.", "..");
	check(env, "$", "$");
	check(env, "a$", "a$");
	check(env, "$.", "$.");
	check(env, "$FOO_x", "");          /* '_' belongs to the name */
	check(env, "${FOO}}", "xxx}");
	check(env, "$1x$@@", "x@");
	check(env, "$$", "");
	check(env, "${#}", "");
	check(env, "$SP", "a  b");         /* ProcessWord keeps spaces */
	check(NULL, "$FOO${FOO}", "");     /* no env at all */
}

static void test_default_alt_required(void **state)
{
	(void)state;
	static const char *const kv[] = { "FOO=xxx", "BAR=", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "${FOO-aaa} ${BAR-bbb} ${BAZ-ccc}", "xxx  ccc");
	check(env, "${FOO:-aaa} ${BAR:-bbb} ${BAZ:-ccc}", "xxx bbb ccc");
	check(env, "${FOO+aaa} ${BAR+bbb} ${BAZ+ccc}", "aaa bbb ");
	check(env, "${FOO:+aaa} ${BAR:+bbb} ${BAZ:+ccc}", "aaa  ");
	check(env, "${FOO?aaa}", "xxx");
	check(env, "${BAR?bbb}", "");
	check(env, "${FOO:?aaa}", "xxx");
	check(env, "${BAZ?}", "ERR:failed to process \"${BAZ?}\": BAZ: is not allowed to be unset");
	check(env, "${BAR:?}", "ERR:failed to process \"${BAR:?}\": BAR: is not allowed to be empty");
	check(env, "${BAZ:?}", "ERR:failed to process \"${BAZ:?}\": BAZ: is not allowed to be unset");
	check(env, "${BAZ?need $FOO here}",
	      "ERR:failed to process \"${BAZ?need $FOO here}\": BAZ: need xxx here");
	/* nested words: quotes, escapes and expansions inside ${...} */
	check(env, "${BAZ:-${BAR:-${FOO}}}", "xxx");
	check(env, "${BAZ:-'a}b'}", "a}b");
	check(env, "${BAZ:-a\\}b}", "a}b");
	check(env, "${BAZ:-\"$FOO\"}", "xxx");
	check(env, "${FOO:+${FOO}:}", "xxx:");
}

static void test_trim(void **state)
{
	(void)state;
	static const char *const kv[] = {
		"FOO=xxyy", "BAR=x", "E=", "SPECIAL=()[]{}^$.*?|\\x", "STARS=xx**",
		"MIX=a***yy*", "Q=???y", "PATH2=/usr/local/bin/tool.tar.gz", NULL,
	};
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "${FOO#*x*y}", "y");
	check(env, "${FOO#*}", "xxyy");
	check(env, "${FOO##*}", "");
	check(env, "${FOO#$BAR}", "xyy");
	check(env, "${FOO#$E}", "xxyy");
	check(env, "${FOO#}", "xxyy");
	check(env, "${FOO##*x}", "yy");
	check(env, "${FOO##}", "xxyy");
	check(env, "${Q#?\\?}", "?y");
	check(env, "${SPECIAL#()[]{\\}^$.\\*\\?|\\\\}", "x");
	check(env, "${FOO%y}", "xxy");
	check(env, "${FOO%%y*}", "xx");
	check(env, "${FOO%x*}", "x");
	check(env, "${FOO%%x*}", "");
	check(env, "${FOO%}", "xxyy");
	check(env, "${FOO%%$E}", "xxyy");
	check(env, "${STARS%%\\**}", "xx");
	check(env, "${MIX%%\\**\\*}", "a");
	check(env, "${ABC:-.}${FOO%x}${ABC:-.}", ".xxyy.");
	check(env, "${PATH2##*/}", "tool.tar.gz");
	check(env, "${PATH2%/*}", "/usr/local/bin");
	check(env, "${PATH2%.*}", "/usr/local/bin/tool.tar");
	check(env, "${PATH2%%.*}", "/usr/local/bin/tool");
	check(env, "${UNSET#x}", "");
	/* the pattern is the raw word: escapes are kept for the matcher, and
	 * only \\* \\? \\\\ (plus \\} \\/) are valid there */
	check(env, "${FOO#\\x}",
	      "ERR:failed to process \"${FOO#\\\\x}\": invalid pattern (\\x) in substitution: "
	      "invalid escape '\\x'");
	check(env, "${FOO:#x}",
	      "ERR:failed to process \"${FOO:#x}\": unsupported modifier (:#) in substitution");
	check(env, "${FOO:%x}",
	      "ERR:failed to process \"${FOO:%x}\": unsupported modifier (:%) in substitution");
	/* '.' in a pattern is literal, '?' does not match a newline (Go regexp) */
	check(env, "${FOO#.}", "xxyy");
}

static void test_replace(void **state)
{
	(void)state;
	static const char *const kv[] = {
		"FOO=/foo*/*/*.txt", "NEEDLE=\\*/", "TMP=/tmp/tmp/bar.txt", "T=/tmp",
		"A=/a/foo/b/c.txt", "N2=/?/", "R=/", "URL=http://google.de", "H=http://",
		"HS=https://", "X=xxyy", "E=", "ABC=abc", "R0=$0$0", "RD=$$", "RB=${0}!",
		"R1=$1", "RN=$0a", "RDOL=$", NULL,
	};
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "${FOO/$NEEDLE/.} - ${FOO//$NEEDLE/.}", "/foo.*/*.txt - /foo..*.txt");
	check(env, "${TMP/$T/} - ${TMP//$T/}", "/tmp/bar.txt - /bar.txt");
	check(env, "${A/$N2/$R} - ${A//$N2/$R}", "/foo/b/c.txt - /foo/c.txt");
	check(env, "${URL/$H/$HS}", "https://google.de");
	check(env, "${TMP//\\//\\/}", "\\/tmp\\/tmp\\/bar.txt");
	check(env, "${X/$E/ww}", "wwxxyy");
	check(env, "${X///}", "xxyy");
	check(env, "${UNSET///}", "");
	check(env, "${ABC//$E/-}", "-a-b-c-");
	check(env, "${ABC//*/-}", "-");
	check(env, "${ABC/?/-}", "-bc");
	check(env, "${ABC//?/-}", "---");
	check(env, "${ABC/z/-}", "abc");
	/* replace-all uses Go's template expansion: $0 is the match, $$ a '$' */
	check(env, "${ABC//b/$R0}", "abbc");
	check(env, "${ABC//b/$RD}", "a$c");
	check(env, "${ABC//b/$RB}", "ab!c");
	check(env, "${ABC//b/$R1}", "ac");
	check(env, "${ABC//b/$RN}", "ac");
	check(env, "${ABC//b/$RDOL}", "a$c");
	check(env, "${ABC/b/$R0}", "a$0$0c"); /* first-match form is literal */
	check(env, "${X//ww}", "ERR:failed to process \"${X//ww}\": syntax error: missing '/' in ${}");
	check(env, "${X//}", "ERR:failed to process \"${X//}\": syntax error: missing '/' in ${}");
	check(env, "${X/a/b", "ERR:failed to process \"${X/a/b\": syntax error: missing '}'");
	/* '}' does not end the pattern part, only '/' does */
	check(env, "${X/y}x/-}", "xxyy");
	df_env_set(env, "BR", "a}b");
	check(env, "${BR/a}b/-}", "-");
}

static void test_syntax_errors(void **state)
{
	(void)state;
	static const char *const kv[] = { "FOO=xxx", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "${", "ERR:failed to process \"${\": syntax error: missing '}'");
	check(env, "a${FOO", "ERR:failed to process \"a${FOO\": syntax error: missing '}'");
	check(env, "${FOO:-x", "ERR:failed to process \"${FOO:-x\": syntax error: missing '}'");
	check(env, "${FOO:", "ERR:failed to process \"${FOO:\": syntax error: missing '}'");
	check(env, "${}", "ERR:failed to process \"${}\": syntax error: bad substitution");
	check(env, "${:-x}", "ERR:failed to process \"${:-x}\": syntax error: bad substitution");
	check(env, "${{a}", "ERR:failed to process \"${{a}\": syntax error: bad substitution");
	check(env, "${FOO:=x}",
	      "ERR:failed to process \"${FOO:=x}\": unsupported modifier (:=) in substitution");
	check(env, "${FOO=x}",
	      "ERR:failed to process \"${FOO=x}\": unsupported modifier (=) in substitution");
	check(env, "${FOO.x}",
	      "ERR:failed to process \"${FOO.x}\": unsupported modifier (.) in substitution");
	check(env, "${#FOO}",
	      "ERR:failed to process \"${#FOO}\": unsupported modifier (F) in substitution");
	check(env, "'abc", "ERR:failed to process \"'abc\": unexpected end of statement while "
	      "looking for matching single-quote");
	check(env, "\"abc\\\"", "ERR:failed to process \"\\\"abc\\\\\\\"\": unexpected end of "
	      "statement while looking for matching double-quote");
	/* a nested error that is not at the end of input is passed on */
	check(env, "${FOO:-${X?gone}}x",
	      "ERR:failed to process \"${FOO:-${X?gone}}x\": X: gone");
	/* %q quoting of the input in the message */
	check(env, "a\t\x01\"${", "ERR:failed to process \"a\\t\\x01\\\"${\": syntax error: missing '}'");
	/* error code is BERR_INPUT */
	struct berr *err = NULL;
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	assert_null(df_shell_process_word(&lex, "${", env, NULL, &err));
	assert_int_equal(err->code, BERR_INPUT);
	berr_free(err);
	/* err == NULL is allowed */
	assert_null(df_shell_process_word(&lex, "${", env, NULL, NULL));
}

static void test_quotes_and_escapes(void **state)
{
	(void)state;
	static const char *const kv[] = { "PWD=/home", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "'$PWD' \"$PWD\" $PWD", "$PWD /home /home");
	check(env, "\"a\\tb\" a\\tb 'a\\tb'", "a\\tb atb a\\tb");
	check(env, "\"\\\"\\$\\\\\"", "\"$\\");
	check(env, "it'\"'s", "it\"s");
	check(env, "c:\\path\\to", "c:pathto");
	check(env, "trail\\", "trail");

	struct df_lexer bt = DF_LEXER_INIT('`');
	check_lex(&bt, env, "c:\\path\\to", "c:\\path\\to");
	check_lex(&bt, env, "\"a`\"b\"", "a\"b");
	check_lex(&bt, env, "`$PWD $PWD", "$PWD /home");
	check_lex(&bt, env, "a``b", "a`b");
	check_lex(&bt, env, "\"a``b\"", "a`b");
	check_lex(&bt, env, "\"a`xb\"", "a`xb");
	check_lex(&bt, env, "trail`", "trail");
	check_lex(&bt, env, "\"a\\\"b\"", "ERR:failed to process \"\\\"a\\\\\\\"b\\\"\": unexpected "
		  "end of statement while looking for matching double-quote");
	/* with ` as escape, `} keeps '}' in the word but the pattern matcher
	 * only knows backslash escapes, so the backtick stays in the pattern;
	 * a backslash does not protect '}' from ending the word */
	static const char *const kv2[] = { "V=a}b", "W=a`}b", NULL };
	_cleanup_df_env_ struct df_env *env2 = env_of(false, kv2);
	check_lex(&bt, env2, "${V#a`}}", "a}b");
	check_lex(&bt, env2, "${W#a`}}", "b");
	check_lex(&bt, env2, "${V#a\\}}", "ERR:failed to process \"${V#a\\\\}}\": invalid pattern "
		  "(a\\) in substitution: invalid escape '\\\xef\xbf\xbd'");
}

static void test_lexer_modes(void **state)
{
	(void)state;
	static const char *const kv[] = { "PWD=/home", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	struct df_lexer skip = DF_LEXER_INIT('\\');
	skip.skip_unset_env = true;
	check_lex(&skip, env, "$X ${X} ${X:-w} ${X#p} ${X/a/b} ${X//a/b} $PWD ${PWD:-w}",
		  "$X ${X} ${X:-w} ${X#p} ${X/a/b} ${X/a/b} /home /home");
	struct df_lexer rawq = DF_LEXER_INIT('\\');
	rawq.raw_quotes = true;
	check_lex(&rawq, env, "'a' \"$PWD\"", "'a' \"/home\"");
	struct df_lexer noq = DF_LEXER_INIT('\\');
	noq.skip_process_quotes = true;
	check_lex(&noq, env, "'$PWD' \"x", "'/home' \"x");
	struct df_lexer rawe = DF_LEXER_INIT('\\');
	rawe.raw_escapes = true;
	check_lex(&rawe, env, "a\\b\\$PWD", "a\\b\\$PWD");
}

static void test_words(void **state)
{
	(void)state;
	static const char *const kv[] = { "SP=a  b", "LEAD=  x y  ", "E=", "NL=p\nq\tr", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check_words(env, "a \"b c\" d", "a|b c|d");
	check_words(env, "", "");
	check_words(env, "   ", "");
	check_words(env, "\"\"", "");
	check_words(env, "\"\" x ''", "x");
	check_words(env, "$SP", "a|b");
	check_words(env, "\"$SP\"", "a  b");
	check_words(env, "<$LEAD>", "<|x|y|>");
	check_words(env, "$E", "");
	check_words(env, "a\\ b c", "a b|c");
	check_words(env, "$NL", "p|q|r");
	check_words(env, "${U:-x y}", "x|y");
	check_words(env, "pre${U:-x}post", "prexpost");
	check_words(env, "80/tcp 443", "80/tcp|443");
	check_words(env, "a\xc2\xa0" "b", "a|b"); /* U+00A0 is a space to Go */
	check_words(env, "'a", "ERR");

	/* df_shell_process gives both forms and the names */
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	struct df_shell_result res;
	assert_int_equal(df_shell_process(&lex, "x $SP $NOPE", env, &res, NULL), 0);
	assert_string_equal(res.word, "x a  b ");
	assert_int_equal(res.nwords, 3);
	assert_string_equal(res.words[2], "b");
	assert_null(res.words[3]);
	assert_true(df_shell_vars_has_matched(&res.vars, "SP"));
	assert_true(df_shell_vars_has_unmatched(&res.vars, "NOPE"));
	df_shell_result_release(&res);
	struct berr *err = NULL;
	assert_int_equal(df_shell_process(&lex, "${", env, &res, &err), -1);
	assert_null(res.word);
	assert_null(res.words);
	berr_free(err);
}

static void test_vars(void **state)
{
	(void)state;
	static const char *const kv[] = { "FOO=y", "BAR=", "TARGETOS=linux", "VERSION=v1",
					  "TARGETARCH=arm", "TARGETVARIANT=v7", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	struct df_shell_vars vars = { 0 };
	char *w = df_shell_process_word(&lex, "x ${UNUSED} $FOO ${BAR:-b} ${FOO} $BAZ", env,
					&vars, NULL);
	assert_string_equal(w, "x  y b y ");
	free(w);
	assert_int_equal(vars.nmatched, 2);
	assert_string_equal(vars.matched[0], "BAR");
	assert_string_equal(vars.matched[1], "FOO");
	assert_int_equal(vars.nunmatched, 2);
	assert_string_equal(vars.unmatched[0], "BAZ");
	assert_string_equal(vars.unmatched[1], "UNUSED");
	/* accumulates across calls */
	w = df_shell_process_word(&lex, "something-${VERSION}.${TARGETOS}-${TARGETARCH}"
				  "${TARGETVARIANT:+-${TARGETVARIANT}}.tar.gz", env, &vars, NULL);
	assert_string_equal(w, "something-v1.linux-arm-v7.tar.gz");
	free(w);
	assert_int_equal(vars.nmatched, 6);
	assert_true(df_shell_vars_has_matched(&vars, "TARGETVARIANT"));
	assert_false(df_shell_vars_has_matched(&vars, "BAZ"));
	df_shell_vars_release(&vars);
	assert_int_equal(vars.nmatched, 0);
	df_shell_vars_release(NULL);
	/* names recorded even when the expansion then fails */
	struct df_shell_vars v2 = { 0 };
	assert_null(df_shell_process_word(&lex, "${Z?}", env, &v2, NULL));
	assert_true(df_shell_vars_has_unmatched(&v2, "Z"));
	df_shell_vars_release(&v2);
}

static void test_windows_names(void **state)
{
	(void)state;
	static const char *const kv[] = { "PWD=/home", "Path=C:\\Windows", "\xc3\x89T\xc3\x89=summer",
					  NULL };
	_cleanup_df_env_ struct df_env *win = env_of(true, kv);
	_cleanup_df_env_ struct df_env *lin = env_of(false, kv);
	assert_true(df_env_windows(win));
	assert_false(df_env_windows(lin));
	check(win, "$pwd ${Pwd:-x} ${PATH}", "/home /home C:\\Windows");
	check(lin, "$pwd ${Pwd:-x} ${PATH}", " x ");
	check(win, "$\xc3\xa9t\xc3\xa9", "summer"); /* été finds ÉTÉ */
	/* setting another spelling replaces the value, keeps the first key */
	df_env_set(win, "PATH", "D:\\");
	assert_int_equal(df_env_count(win), 3);
	assert_string_equal(df_env_key(win, 1), "Path");
	assert_string_equal(df_env_value(win, 1), "D:\\");
	assert_string_equal(df_env_get(win, "path"), "D:\\");
	/* names are reported as written */
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	struct df_shell_vars vars = { 0 };
	free(df_shell_process_word(&lex, "$pwd", win, &vars, NULL));
	assert_true(df_shell_vars_has_matched(&vars, "pwd"));
	df_shell_vars_release(&vars);
}

static void test_env(void **state)
{
	(void)state;
	_cleanup_df_env_ struct df_env *env = df_env_new(false);
	assert_null(df_env_get(env, "A"));
	df_env_set_kv(env, "A");
	assert_string_equal(df_env_get(env, "A"), "");
	df_env_set_kv(env, "B=x=y");
	assert_string_equal(df_env_get(env, "B"), "x=y");
	df_env_set_kv(env, "A=2");
	assert_string_equal(df_env_get(env, "A"), "2");
	assert_int_equal(df_env_count(env), 2);
	assert_null(df_env_key(env, 2));
	/* a few hundred variables: all found, the table grows */
	char k[32], v[32];
	for (int i = 0; i < 500; i++) {
		snprintf(k, sizeof(k), "V%d", i);
		snprintf(v, sizeof(v), "val%d", i);
		df_env_set(env, k, v);
	}
	assert_int_equal(df_env_count(env), 502);
	for (int i = 0; i < 500; i += 7) {
		snprintf(k, sizeof(k), "V%d", i);
		snprintf(v, sizeof(v), "val%d", i);
		assert_string_equal(df_env_get(env, k), v);
	}
	assert_null(df_env_get(env, "V500"));
	assert_null(df_env_get(NULL, "A"));
	check(env, "${V499}-$V0", "val499-val0");
	df_env_free(NULL);
}

static void test_unicode_and_invalid_utf8(void **state)
{
	(void)state;
	static const char *const kv[] = { "\xeb\xb3\x80\xec\x88\x98=v", "\xd9\xa3=three",
					  "BAD=\xff" "x", "BAD2=\xff" "a\xfe\xff" "b", "a\xd9\xa3" "b=mixed", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	check(env, "$\xeb\xb3\x80\xec\x88\x98!", "v!");       /* Hangul letters */
	check(env, "$\xd9\xa3x", "threex");                     /* Arabic-Indic digit */
	check(env, "$a\xd9\xa3" "b.", "mixed.");
	/* invalid bytes in the input become U+FFFD, as Go's scanner does */
	check(env, "\xff$BAD", "\xef\xbf\xbd\xff" "x");
	check(env, "a\xc3", "a\xef\xbf\xbd");
	check(env, "\xed\xa0\x80", "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd"); /* surrogate */
	check(env, "\xef\xbb\xbf" "abc\xef\xbb\xbf", "abc\xef\xbb\xbf"); /* leading BOM */
	check_words(env, "$BAD", "\xef\xbf\xbdx");
	/* patterns over invalid values: offsets map back to the raw bytes */
	check(env, "${BAD#?}", "x");
	check(env, "${BAD/x/y}", "\xffy");
	check(env, "${BAD//?/-}", "--");
	check(env, "${BAD%x}", "\xef\xbf\xbd");
	check(env, "${BAD2//a/-}", "\xff-\xfe\xff" "b");
	check(env, "${BAD2/b/X}", "\xff" "a\xfe\xffX");
	check(env, "${BAD2#?a??}", "b");
	check(env, "${BAD2//\xef\xbf\xbd/.}", ".a..b"); /* U+FFFD matches an invalid byte */
	/* %q escapes invalid bytes in messages */
	check(env, "\xff${", "ERR:failed to process \"\\xff${\": syntax error: missing '}'");
}

static char *repeat(const char *s, size_t n)
{
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < n; i++)
		bbuf_addstr(&b, s, NULL);
	return bbuf_detach(&b, NULL);
}

static void test_limits(void **state)
{
	(void)state;
	static const char *const kv[] = { "A=a", NULL };
	_cleanup_df_env_ struct df_env *env = env_of(false, kv);
	const struct df_lexer lex = DF_LEXER_INIT('\\');
	struct berr *err = NULL;

	/* nesting: DF_SHELL_MAX_DEPTH levels work, one more is refused */
	_cleanup_free_ char *open_ok = repeat("${U:-", DF_SHELL_MAX_DEPTH);
	_cleanup_free_ char *close_ok = repeat("}", DF_SHELL_MAX_DEPTH);
	_cleanup_free_ char *in_ok = xasprintf("%sdeep%s", open_ok, close_ok);
	check(env, in_ok, "deep");
	_cleanup_free_ char *open_bad = repeat("${U:-", DF_SHELL_MAX_DEPTH + 1);
	_cleanup_free_ char *close_bad = repeat("}", DF_SHELL_MAX_DEPTH + 1);
	_cleanup_free_ char *in_bad = xasprintf("%sdeep%s", open_bad, close_bad);
	assert_null(df_shell_process_word(&lex, in_bad, env, NULL, &err));
	assert_int_equal(err->code, BERR_LIMIT);
	assert_non_null(strstr(err->msg, "variable expansions nested deeper than 64 levels"));
	berr_clear(&err);
	/* very deep and unterminated: still a clean error */
	_cleanup_free_ char *in_open = repeat("${U:-", 100000);
	assert_null(df_shell_process_word(&lex, in_open, env, NULL, &err));
	assert_int_equal(err->code, BERR_LIMIT);
	/* the message quotes a bounded prefix of the input */
	assert_true(strlen(err->msg) < DF_SHELL_ERR_QUOTE_MAX + 200);
	berr_clear(&err);

	/* long input is fine */
	_cleanup_free_ char *big = repeat("x${A}", 300000);
	char *out = df_shell_process_word(&lex, big, env, NULL, &err);
	assert_non_null(out);
	assert_int_equal(strlen(out), 600000);
	free(out);
	/* input over the limit */
	char *huge = xmalloc(DF_SHELL_MAX_INPUT + 2);
	memset(huge, 'x', DF_SHELL_MAX_INPUT + 1);
	huge[DF_SHELL_MAX_INPUT + 1] = '\0';
	assert_null(df_shell_process_word(&lex, huge, env, NULL, &err));
	assert_int_equal(err->code, BERR_LIMIT);
	berr_clear(&err);
	free(huge);

	/* output blow-up through replace-all is capped */
	_cleanup_df_env_ struct df_env *env2 = df_env_new(false);
	_cleanup_free_ char *x = repeat("a", 4096);
	_cleanup_free_ char *y = repeat("b", 8192);
	df_env_set(env2, "X", x);
	df_env_set(env2, "Y", y);
	assert_null(df_shell_process_word(&lex, "${X//?/$Y}", env2, NULL, &err));
	assert_int_equal(err->code, BERR_LIMIT);
	assert_non_null(strstr(err->msg, "exceeds the limit"));
	berr_clear(&err);

	/* catastrophic backtracking stops at the match limit */
	_cleanup_free_ char *as = repeat("a", 40);
	_cleanup_free_ char *val = xasprintf("b%s", as);
	df_env_set(env2, "P", val);
	assert_null(df_shell_process_word(&lex, "${P#*a*a*a*a*a*a*a*a*a*a*a*a*b}", env2, NULL,
					  &err));
	assert_int_equal(err->code, BERR_LIMIT);
	assert_non_null(strstr(err->msg, "pattern too complex"));
	berr_clear(&err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_plain_and_braced),
		cmocka_unit_test(test_default_alt_required),
		cmocka_unit_test(test_trim),
		cmocka_unit_test(test_replace),
		cmocka_unit_test(test_syntax_errors),
		cmocka_unit_test(test_quotes_and_escapes),
		cmocka_unit_test(test_lexer_modes),
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_vars),
		cmocka_unit_test(test_windows_names),
		cmocka_unit_test(test_env),
		cmocka_unit_test(test_unicode_and_invalid_utf8),
		cmocka_unit_test(test_limits),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
