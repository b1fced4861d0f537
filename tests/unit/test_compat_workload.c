/* Compose and workflow loaders: interpolation, constraints, runs-on forms,
 * docker commands in run: scripts (compat/wc_workload.c, wc_yaml.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc_workload.h"

static struct wc_workloads *compose(const char *text)
{
	struct wc_workloads *wl = NULL;
	struct berr *err = NULL;
	if (wc_compose_load(text, strlen(text), "c.yml", NULL, &wl, &err) < 0)
		fail_msg("compose: %s", err->msg);
	return wl;
}

static struct wc_workloads *workflow(const char *text)
{
	struct wc_workloads *wl = NULL;
	struct berr *err = NULL;
	if (wc_workflow_load(text, strlen(text), "w.yml", NULL, &wl, &err) < 0)
		fail_msg("workflow: %s", err->msg);
	return wl;
}

static void test_interpolation(void **state)
{
	(void)state;
	struct wc_workloads *wl = compose(
		"services:\n"
		"  a: {image: \"r/x:${T:-ltsc2022}\"}\n"
		"  b: {image: \"r/x:${T-1809}-$$HOME\"}\n"
		"  c: {image: \"r/x:$TAG-${U}${V:+z}\"}\n"
		"  d: {image: \"r/x:${W:?need W}\"}\n");
	assert_int_equal(wl->n, 4);
	assert_string_equal(wl->w[0].image, "r/x:ltsc2022");
	assert_int_equal(wl->w[0].nunexpanded, 0);
	assert_string_equal(wl->w[1].image, "r/x:1809-$HOME");
	assert_string_equal(wl->w[2].image, "r/x:$TAG-${U}");
	assert_int_equal(wl->w[2].nunexpanded, 2);
	assert_string_equal(wl->w[2].unexpanded[0], "TAG");
	assert_string_equal(wl->w[2].unexpanded[1], "U");
	assert_string_equal(wl->w[3].unexpanded[0], "W");
	assert_int_equal(wl->w[0].pos.line, 2);
	wc_workloads_free(wl);
}

static void test_constraints(void **state)
{
	(void)state;
	struct wc_workloads *wl = compose(
		"x: &w\n"
		"  deploy: {placement: {constraints: [node.platform.os==windows]}}\n"
		"services:\n"
		"  a:\n"
		"    <<: *w\n"
		"    image: i\n"
		"    isolation: hyperv\n"
		"  b:\n"
		"    image: i\n"
		"    deploy:\n"
		"      placement:\n"
		"        constraints:\n"
		"          - ' node.labels.tier != web '\n"
		"          - node.bogus==1\n"
		"          - nothing\n");
	assert_int_equal(wl->w[0].ncons, 1);
	assert_string_equal(wl->w[0].cons[0].key, "node.platform.os");
	assert_string_equal(wl->w[0].isolation, "hyperv");
	assert_true(wl->w[0].cons[0].valid);
	assert_int_equal(wl->w[1].ncons, 3);
	assert_string_equal(wl->w[1].cons[0].key, "node.labels.tier");
	assert_string_equal(wl->w[1].cons[0].value, "web");
	assert_true(wl->w[1].cons[0].ne);
	assert_true(wl->w[1].cons[0].valid);
	assert_false(wl->w[1].cons[1].valid);
	assert_false(wl->w[1].cons[2].valid);
	assert_int_equal(wl->w[1].cons[1].pos.line, 14);
	wc_workloads_free(wl);
}

static void test_runs_on(void **state)
{
	(void)state;
	struct wc_workloads *wl = workflow(
		"jobs:\n"
		"  a: {runs-on: windows-2022, steps: [{run: docker pull i:1}]}\n"
		"  b: {runs-on: [self-hosted, windows], steps: [{run: docker pull i:2}]}\n"
		"  c:\n"
		"    runs-on: {group: g, labels: windows-2025}\n"
		"    steps: [{run: docker pull i:3}]\n"
		"  d:\n"
		"    strategy: {matrix: {os: [windows-2019, windows-2022], include: [{os: windows-2025}, {os: windows-2022}]}}\n"
		"    runs-on: ${{ matrix.os }}\n"
		"    steps: [{run: docker pull i:4}]\n"
		"  e: {runs-on: \"${{ inputs.runner }}\", steps: [{run: docker pull i:5}]}\n");
	assert_int_equal(wl->n, 5);
	assert_int_equal(wl->w[0].nruns, 1);
	assert_string_equal(wl->w[0].runs[0].labels[0], "windows-2022");
	assert_int_equal(wl->w[1].runs[0].nlabels, 2);
	assert_string_equal(wl->w[2].runs[0].group, "g");
	assert_string_equal(wl->w[2].runs[0].labels[0], "windows-2025");
	assert_int_equal(wl->w[3].nruns, 3);
	assert_string_equal(wl->w[3].runs[2].labels[0], "windows-2025");
	assert_string_equal(wl->w[3].runs[0].via, "matrix.os");
	assert_string_equal(wl->w[4].runs[0].unresolved, "${{ inputs.runner }}");
	wc_workloads_free(wl);
}

static void test_scripts(void **state)
{
	(void)state;
	struct wc_workloads *wl = workflow(
		"jobs:\n"
		"  a:\n"
		"    runs-on: windows-2022\n"
		"    steps:\n"
		"      - run: |\n"
		"          echo start && docker --context ci run -d --name x \\\n"
		"            -e A=1 --isolation=hyperv img:1 cmd\n"
		"          sudo docker image pull 'img:2'; docker ps\n"
		"          # docker pull not-this\n"
		"          docker buildx build --platform windows/amd64 -t t .\n"
		"          docker-compose up\n");
	assert_int_equal(wl->n, 3);
	assert_int_equal(wl->w[0].kind, WC_WL_STEP_RUN);
	assert_string_equal(wl->w[0].image, "img:1");
	assert_string_equal(wl->w[0].isolation, "hyperv");
	assert_int_equal(wl->w[0].pos.line, 6);
	assert_int_equal(wl->w[0].pos.col, 11);
	assert_int_equal(wl->w[1].kind, WC_WL_STEP_PULL);
	assert_string_equal(wl->w[1].image, "img:2");
	assert_int_equal(wl->w[1].pos.line, 8);
	assert_int_equal(wl->w[2].kind, WC_WL_STEP_BUILD);
	assert_string_equal(wl->w[2].platform, "windows/amd64");
	assert_null(wl->w[2].image);
	assert_non_null(strstr(wl->w[2].problem, "no repository root"));
	wc_workloads_free(wl);
}

static void test_errors(void **state)
{
	(void)state;
	static const struct {
		int compose;
		const char *text, *msg;
		int line, col;
	} bad[] = {
		{ 1, "services:\n  a: [1\n", "invalid YAML", 3, 1 },
		{ 1, "- a\n", "must be a mapping", 1, 1 },
		{ 1, "services:\n  a: 1\n", "a service must be a mapping", 2, 6 },
		{ 1, "services:\n  a: {build: [1]}\n", "'build' must be", 2, 14 },
		{ 0, "jobs:\n  a: {runs-on: 3.5}\n", NULL, 0, 0 },
		{ 0, "jobs:\n  a: {runs-on: {group: [1]}, container: {}}\n", "'container' needs an image", 2, 41 },
		{ 0, "on: push\n", "needs a 'jobs' mapping", 1, 1 },
		{ 0, "\tjobs: {}\n", "invalid YAML", 1, 1 },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct wc_workloads *wl = NULL;
		struct berr *err = NULL;
		const char *t = bad[i].text;
		int rc = bad[i].compose ? wc_compose_load(t, strlen(t), "f.yml", NULL, &wl, &err)
					: wc_workflow_load(t, strlen(t), "f.yml", NULL, &wl, &err);
		if (!bad[i].msg) {       /* accepted: a scalar runs-on */
			assert_int_equal(rc, 0);
			wc_workloads_free(wl);
			continue;
		}
		if (rc == 0)
			fail_msg("case %zu accepted", i);
		if (!strstr(err->msg, bad[i].msg) || err->line != bad[i].line || err->col != bad[i].col)
			fail_msg("case %zu: %d:%d %s", i, err->line, err->col, err->msg);
		assert_int_equal(err->code, BERR_INPUT);
		berr_free(err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_interpolation),
		cmocka_unit_test(test_constraints),
		cmocka_unit_test(test_runs_on),
		cmocka_unit_test(test_scripts),
		cmocka_unit_test(test_errors),
	};
	return cmocka_run_group_tests_name("compat_workload", tests, NULL, NULL);
}
