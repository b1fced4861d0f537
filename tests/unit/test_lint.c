/* lint/: engine API, config parsing and lookup, severity overrides, the
 * end-of-support boundary, outputs. The per-rule behaviour is covered by
 * tests/cli/lint.sh over testdata/lint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "compat/wc.h"
#include "kb_testlib.h"
#include "lint/lint.h"

/* Lint `text`; returns "L:C ID ..." of all findings (static buffer). */
static const char *lint_text(const struct lint_options *o, const char *text, struct lint_result *keep)
{
	static char buf[4096];
	struct lint_result r;
	struct berr *err = NULL;
	assert_int_equal(lint_check(o, "Dockerfile", text, strlen(text), &r, &err), 0);
	assert_null(err);
	size_t len = 0;
	buf[0] = 0;
	for (size_t i = 0; i < r.n; i++)
		len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%d:%d %s", i ? " " : "", r.f[i].line,
					r.f[i].col, r.f[i].rule->id);
	if (keep)
		*keep = r;
	else
		lint_result_release(&r);
	return buf;
}

static void opts(struct lint_options *o)
{
	lint_options_init(o, kb);
	snprintf(o->today, sizeof(o->today), "2026-08-20");
}

static void test_rule_table(void **state)
{
	(void)state;
	size_t n;
	const struct lint_rule *r = lint_rules(&n);
	assert_true(n >= 35);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(r[i - 1].id, r[i].id) < 0); /* sorted, unique */
	for (size_t i = 0; i < n; i++) {
		assert_true(strlen(r[i].id) == 5);
		assert_ptr_equal(lint_rule_find(r[i].id), &r[i]);
		/* summaries are one line without a final period */
		assert_null(strchr(r[i].summary, '\n'));
		assert_true(r[i].summary[strlen(r[i].summary) - 1] != '.');
	}
	assert_ptr_equal(lint_rule_find("bw101"), lint_rule_find("BW101"));
	assert_null(lint_rule_find("BW999"));
	assert_int_equal(lint_severity_parse("style"), LINT_INFO);
	assert_int_equal(lint_severity_parse("fatal"), -1);
}

static void test_parse_error_is_finding(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	struct lint_result r;
	assert_string_equal(lint_text(&o, "FROM a:1\nCOPY --frm=x a b\n", &r), "2:1 BL100");
	assert_true(r.parse_failed);
	assert_non_null(strstr(r.f[0].msg, "frm"));
	lint_result_release(&r);
	assert_string_equal(lint_text(&o, "", NULL), "1:1 BL100");
}

static void test_ignore_and_severity(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	const char *df = "FROM alpine\nMAINTAINER x\n";
	assert_string_equal(lint_text(&o, df, NULL), "1:6 BL101 1:6 BL103 2:1 BL104");
	char *ign[] = { (char *)"bl103" };
	o.ignore = ign;
	o.nignore = 1;
	const char *ids[] = { "BL104" };
	int lv[] = { LINT_ERROR };
	o.sev_ids = ids;
	o.sev_levels = lv;
	o.nsev = 1;
	struct lint_result r;
	assert_string_equal(lint_text(&o, df, &r), "1:6 BL101 2:1 BL104");
	assert_int_equal(r.f[1].severity, LINT_ERROR);
	assert_int_equal(r.f[0].severity, LINT_WARNING);
	lint_result_release(&r);
}

static void test_suppression_block(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	o.nignore = 0;
	char *ign[] = { (char *)"BL103" };
	o.ignore = ign;
	o.nignore = 1;
	/* reason words that look like IDs only count before the first non-ID */
	assert_string_equal(lint_text(&o, "# berth-ignore: BL101 because BL104\nFROM alpine\nMAINTAINER x\n", NULL),
			    "3:1 BL104");
	assert_string_equal(lint_text(&o, "#BERTH-IGNORE:bl101,BL104\nFROM alpine\n", NULL), "");
	/* a blank line ends the block */
	assert_string_equal(lint_text(&o, "# berth-ignore: BL101\n\nFROM alpine\n", NULL), "3:6 BL101");
	/* not a prefix match */
	assert_string_equal(lint_text(&o, "# berth-ignore: BL10\nFROM alpine\n", NULL), "2:6 BL101");
}

static void test_near_eol_boundary(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	char *ign[] = { (char *)"BL103" };
	o.ignore = ign;
	o.nignore = 1;
	const char *df = "FROM mcr.microsoft.com/windows/servercore:ltsc2016\n";
	/* WS2016 extended support ends 2027-01-12 */
	snprintf(o.today, sizeof(o.today), "2026-10-14"); /* 90 days before */
	assert_string_equal(lint_text(&o, df, NULL), "1:6 BW102");
	snprintf(o.today, sizeof(o.today), "2026-10-13"); /* 91 days */
	assert_string_equal(lint_text(&o, df, NULL), "");
	snprintf(o.today, sizeof(o.today), "2027-01-12"); /* last day */
	assert_string_equal(lint_text(&o, df, NULL), "1:6 BW102");
	snprintf(o.today, sizeof(o.today), "2027-01-13");
	struct lint_result r;
	assert_string_equal(lint_text(&o, df, &r), "1:6 BW101");
	assert_non_null(strstr(r.f[0].msg, "2027-01-12"));
	lint_result_release(&r);
	o.near_eol_days = 0;
	snprintf(o.today, sizeof(o.today), "2026-12-01");
	assert_string_equal(lint_text(&o, df, NULL), "");
	/* Nano Server 2016 ended before the OS (per-family date) */
	snprintf(o.today, sizeof(o.today), "2026-08-20");
	assert_string_equal(lint_text(&o, "FROM mcr.microsoft.com/windows/nanoserver:sac2016\n", NULL), "1:6 BW101");
}

static void test_hosts(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	char *ign[] = { (char *)"BL103" };
	o.ignore = ign;
	o.nignore = 1;
	struct lint_host h[3];
	memset(h, 0, sizeof(h));
	assert_int_equal(wc_host_parse(kb, "ltsc2019", &h[0].host, NULL), 0);
	assert_int_equal(wc_host_parse(kb, "ltsc2022", &h[1].host, NULL), 0);
	assert_int_equal(wc_host_parse(kb, "win11-23h2", &h[2].host, NULL), 0);
	o.hosts = h;
	o.nhosts = 3;
	struct lint_result r;
	/* 2022 image: too new for 2019 (BW106); fine on 2022 and Windows 11 */
	assert_string_equal(lint_text(&o, "FROM mcr.microsoft.com/windows/servercore:ltsc2022\n", &r), "1:6 BW106");
	lint_result_release(&r);
	/* 2019 image: Hyper-V only on 2022 and Windows 11, one finding naming both */
	assert_string_equal(lint_text(&o, "FROM mcr.microsoft.com/windows/servercore:ltsc2019\n", &r), "1:6 BW107");
	assert_non_null(strstr(r.f[0].msg, "hosts"));
	lint_result_release(&r);
	/* the build stage is not a final stage: only the final image is checked,
	 * at the FROM that names its base */
	assert_string_equal(lint_text(&o, "FROM mcr.microsoft.com/windows/servercore:ltsc2019 AS b\n"
				     "FROM b\nRUN echo\n", NULL), "1:6 BW107");
	/* unknown tag: no guess */
	assert_string_equal(lint_text(&o, "FROM example/app:1.0\n", NULL), "");
}

static void test_config(void **state)
{
	(void)state;
	struct lint_config c;
	struct berr *err = NULL;
	const char *j = "{\"target_hosts\":[\"ltsc2022\"],\"ignore\":[\"BL103\"],\"fleet\":\"n.json\","
			"\"severity\":{\"BL113\":\"warning\"},\"fail_on\":\"error\",\"near_eol_days\":30,"
			"\"trusted_registries\":[\"mcr.microsoft.com\"],\"$schema\":\"x\",\"_note\":1}";
	assert_int_equal(lint_config_parse(j, strlen(j), "c.json", "/repo", &c, &err), 0);
	assert_int_equal(c.nhosts, 1);
	assert_string_equal(c.fleet, "/repo/n.json");
	assert_int_equal(c.nsev, 1);
	assert_int_equal(c.sev_levels[0], LINT_WARNING);
	assert_int_equal(c.near_eol_days, 30);
	assert_string_equal(c.fail_on, "error");
	lint_config_release(&c);
	static const char *const bad[] = {
		"[]", "{\"ignore\":\"BL101\"}", "{\"ignore\":[\"XX1\"]}", "{\"fail_on\":\"never\"}",
		"{\"near_eol_days\":-1}", "{\"near_eol_days\":1.5}", "{\"severity\":{\"BL101\":\"loud\"}}",
		"{\"target_host\":[]}", "{", "{\"format\":\"xml\"}",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(lint_config_parse(bad[i], strlen(bad[i]), "c.json", "", &c, &err), -1);
		assert_non_null(err);
		assert_int_equal(err->code, BERR_INPUT);
		assert_non_null(strstr(err->msg, "c.json"));
		berr_free(err);
		err = NULL;
	}
}

static void test_config_find(void **state)
{
	(void)state;
	char tmpl[] = "/tmp/berth-lint-XXXXXX";
	char *d = mkdtemp(tmpl);
	assert_non_null(d);
	char *sub = xasprintf("%s/repo/a/b", d);
	char *git = xasprintf("%s/repo/.git", d);
	assert_int_equal(bfile_mkdir_p(sub, 0755, NULL), 0);
	assert_int_equal(bfile_mkdir_p(git, 0755, NULL), 0);
	/* a config above the repository root is not used */
	char *outside = xasprintf("%s/.berth.json", d);
	assert_int_equal(bfile_write_atomic(outside, "{}", 2, 0644, NULL), 0);
	assert_null(lint_config_find(sub));
	char *root = xasprintf("%s/repo/.berth.json", d);
	assert_int_equal(bfile_write_atomic(root, "{}", 2, 0644, NULL), 0);
	char *found = lint_config_find(sub);
	assert_non_null(found);
	assert_non_null(strstr(found, "/repo/.berth.json"));
	free(found);
	char *near = xasprintf("%s/repo/a/.berth.json", d);
	assert_int_equal(bfile_write_atomic(near, "{}", 2, 0644, NULL), 0);
	found = lint_config_find(sub);
	assert_non_null(strstr(found, "/repo/a/.berth.json"));
	free(found);
	unlink(near);
	unlink(root);
	unlink(outside);
	char *cmd = xasprintf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	free(near);
	free(root);
	free(outside);
	free(sub);
	free(git);
}

static void test_render(void **state)
{
	(void)state;
	struct lint_options o;
	opts(&o);
	struct lint_result r;
	lint_text(&o, "FROM alpine\nMAINTAINER <a&\"b'>\n", &r);
	char *t = lint_render(LINT_FMT_TEXT, &r, 1, NULL);
	assert_non_null(strstr(t, "Dockerfile:2:1: warning[BL104]: MAINTAINER is deprecated"));
	free(t);
	char *x = lint_render(LINT_FMT_CHECKSTYLE, &r, 1, NULL);
	assert_non_null(strstr(x, "&lt;a&amp;&quot;b&apos;&gt;"));
	assert_non_null(strstr(x, "source=\"berth.BL104\""));
	free(x);
	char *j = lint_render(LINT_FMT_JSON, &r, 1, "https://example.com/r/");
	assert_non_null(strstr(j, "\"help\":\t\"https://example.com/r/BL104.md\""));
	free(j);
	char *s = lint_render(LINT_FMT_SARIF, &r, 1, NULL);
	assert_non_null(strstr(s, "\"version\":\t\"2.1.0\""));
	assert_non_null(strstr(s, "\"startColumn\":\t6"));
	free(s);
	lint_result_release(&r);
	assert_int_equal(lint_format_parse("sarif"), LINT_FMT_SARIF);
	assert_int_equal(lint_format_parse("SARIF"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rule_table),
		cmocka_unit_test(test_parse_error_is_finding),
		cmocka_unit_test(test_ignore_and_severity),
		cmocka_unit_test(test_suppression_block),
		cmocka_unit_test(test_near_eol_boundary),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_config),
		cmocka_unit_test(test_config_find),
		cmocka_unit_test(test_render),
	};
	return cmocka_run_group_tests(tests, kb_setup, kb_teardown);
}
