/* The minimal ARG/FROM reader and the rebuild matrix rows. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc.h"
#include "kb_testlib.h"
#include "compat/wc_matrix.h"

static void scan_ok(const char *text, struct wc_df *df)
{
	struct berr *err = NULL;
	if (wc_df_scan(text, strlen(text), "Dockerfile", df, &err) < 0)
		fail_msg("scan: %s", err->msg);
}

static void test_scan(void **state)
{
	(void)state;
	struct wc_df df;
	scan_ok("# escape=`\n"
		"ARG A=1 B=\"two words\" C\n"
		"FROM --platform=windows/amd64 `\n"
		"  mcr.microsoft.com/windows/servercore:${A} `\n"
		"  AS base\n"
		"ARG D=4\n"
		"RUN echo `\n"
		"FROM not-an-instruction\n", &df);
	assert_int_equal(df.escape, '`');
	assert_int_equal(df.nargs, 4);
	assert_string_equal(df.args[1].name, "B");
	assert_string_equal(df.args[1].value, "two words");
	assert_null(df.args[2].value);
	assert_true(df.args[2].global);
	assert_false(df.args[3].global);
	assert_int_equal(df.nfroms, 1);
	assert_string_equal(df.froms[0].image, "mcr.microsoft.com/windows/servercore:${A}");
	assert_string_equal(df.froms[0].platform, "windows/amd64");
	assert_string_equal(df.froms[0].alias, "base");
	assert_int_equal(df.froms[0].line, 3);
	wc_df_release(&df);

	/* directives stop at the first non-directive line */
	scan_ok("FROM a\n# escape=`\nRUN x `\nFROM b\n", &df);
	assert_int_equal(df.escape, '\\');
	assert_int_equal(df.nfroms, 2);
	wc_df_release(&df);

	/* heredoc bodies are skipped, <<- strips tabs */
	scan_ok("FROM a\nRUN <<-EOT cat\n\tFROM b\n\tEOT\nCOPY <<\"X\" /f\nFROM c\nX\nFROM d\n", &df);
	assert_int_equal(df.nfroms, 2);
	assert_string_equal(df.froms[1].image, "d");
	wc_df_release(&df);

	struct berr *err = NULL;
	assert_int_equal(wc_df_scan("FROM a b c d\n", 12, "D", &df, &err), -1);
	assert_int_equal(err->line, 1);
	berr_free(err);
	/* every instruction is validated as BuildKit does */
	err = NULL;
	assert_int_equal(wc_df_scan("FROM a\nRUN --foo x\n", 18, "D", &df, &err), -1);
	assert_int_equal(err->line, 2);
	assert_non_null(strstr(err->msg, "unknown flag: --foo"));
	berr_free(err);
	err = NULL;
	assert_int_equal(wc_df_scan("RUN x\n", 6, "D", &df, &err), -1);
	berr_free(err);
	/* meta ARG defaults see the ARGs before them */
	scan_ok("ARG R=ltsc2022\nARG T=\"4.8-windowsservercore-${R}\"\nFROM x:$T\n", &df);
	assert_string_equal(df.args[1].value, "4.8-windowsservercore-ltsc2022");
	wc_df_release(&df);
	err = NULL;
	assert_int_equal(wc_df_scan("FROM a\0b", 8, "D", &df, &err), -1);
	assert_non_null(strstr(err->msg, "NUL"));
	berr_free(err);
}

static void test_expand(void **state)
{
	(void)state;
	char *names[] = { "A", "EMPTY", "UNSET" };
	char *values[] = { "x", "", NULL };
	static const struct {
		const char *in, *out;
	} cases[] = {
		{ "$A", "x" },
		{ "${A}y", "xy" },
		{ "${B:-def}", "def" },
		{ "${EMPTY:-def}", "def" },
		{ "${EMPTY-def}", "" },
		{ "${UNSET-def}", "def" },   /* ARG without default: unset */
		{ "${A:+alt}", "alt" },
		{ "${B:+alt}", "" },
		{ "\\$A", "$A" },
		{ "$", "$" },
		{ "pre-$A-post", "pre-x-post" },
		{ "'$A'", "$A" },
		{ "\"$A\"", "x" },
	};
	struct wc_df df = { .escape = '\\' };
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct berr *err = NULL;
		char *o = wc_df_expand_word(&df, cases[i].in, names, values, 3, NULL, &err);
		if (!o)
			fail_msg("'%s': %s", cases[i].in, err->msg);
		if (strcmp(o, cases[i].out) != 0)
			fail_msg("'%s' -> '%s', want '%s'", cases[i].in, o, cases[i].out);
		free(o);
	}
	/* malformed: an error, as BuildKit gives */
	struct berr *err = NULL;
	assert_null(wc_df_expand_word(&df, "${A", names, values, 3, NULL, &err));
	assert_int_equal(err->code, BERR_INPUT);
	berr_free(err);
	/* the file's escape character */
	df.escape = '`';
	char *o = wc_df_expand_word(&df, "`$A-$A", names, values, 3, NULL, NULL);
	assert_string_equal(o, "$A-x");
	free(o);
}

static void test_rows(void **state)
{
	(void)state;
	struct wc_df df;
	scan_ok("ARG TAG=lts-nanoserver-1809\n"
		"FROM mcr.microsoft.com/powershell:${TAG} AS ps\n"
		"FROM ps\n", &df);
	struct wc_matrix_opts o = { .releases = "ltsc2019,ltsc2022,2016", .today = "2026-08-20" };
	struct wc_matrix m;
	struct berr *err = NULL;
	if (wc_matrix_build(kb, &df, "Dockerfile", &o, &m, &err) < 0)
		fail_msg("%s", err->msg);
	assert_int_equal(m.nparams, 1);
	assert_int_equal(m.nfroms, 1);   /* "FROM ps" is a stage reference */
	assert_int_equal(m.nrows, 2);
	assert_string_equal(m.rows[0].rel->id, "ws2019");
	assert_string_equal(m.rows[0].args[0].value, "lts-nanoserver-1809");
	assert_string_equal(m.rows[1].args[0].value, "lts-nanoserver-ltsc2022");
	assert_string_equal(m.rows[1].tag_suffix, "-ltsc2022");
	assert_string_equal(m.rows[1].runner->label, "windows-2022");
	/* Nano Server 2016 ended before the OS */
	assert_int_equal(m.nskipped, 1);
	assert_string_equal(m.skipped[0].rel->id, "ws2016");
	wc_matrix_release(&m);
	wc_df_release(&df);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scan),
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_rows),
	};
	return cmocka_run_group_tests_name("compat_matrix", tests, kb_setup, kb_teardown);
}
