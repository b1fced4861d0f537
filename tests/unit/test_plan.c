#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "builder/bld_plan.h"
#include "common/common.h"

static struct bld_plan *plan(const char *df, const struct bld_plan_opts *o, struct berr **err)
{
	static const struct bld_plan_opts none = { 0 };
	struct bld_plan *p = NULL;
	if (bld_plan_new("Dockerfile", df, strlen(df), o ? o : &none, &p, err) < 0)
		return NULL;
	return p;
}

static void test_meta_args_and_from(void **state)
{
	(void)state;
	char *args[] = { "TAG=2" };
	struct bld_plan_opts o = { .build_args = args, .n_build_args = 1 };
	struct berr *err = NULL;
	struct bld_plan *p = plan("ARG IMG=busybox\nARG TAG=1\nFROM ${IMG}:${TAG} AS Base\n"
				  "FROM base\nFROM scratch\n", &o, &err);
	assert_non_null(p);
	assert_int_equal(p->n, 3);
	assert_string_equal(p->st[0].base, "busybox:2");
	assert_string_equal(p->st[0].name, "base");
	assert_int_equal(p->st[0].base_kind, BLD_BASE_IMAGE);
	assert_int_equal(p->st[1].base_kind, BLD_BASE_STAGE);
	assert_int_equal(p->st[1].base_stage, 0);
	assert_int_equal(p->st[2].base_kind, BLD_BASE_SCRATCH);
	/* the target is the last stage; only it is reachable */
	assert_int_equal(p->target, 2);
	assert_int_equal(p->norder, 1);
	assert_false(p->st[0].reachable);
	bld_plan_free(p);
}

static void test_target_and_order(void **state)
{
	(void)state;
	struct bld_plan_opts o = { .target = "app" };
	struct berr *err = NULL;
	struct bld_plan *p = plan("FROM scratch AS a\nFROM scratch AS unused\n"
				  "FROM scratch AS app\nCOPY --from=a /x /y\nCOPY --from=later /x /y\n"
				  "FROM scratch AS later\n", &o, &err);
	assert_non_null(p);
	assert_int_equal(p->target, 2);
	assert_int_equal(p->norder, 3);
	/* dependencies first, the target last, unused skipped */
	assert_int_equal(p->order[p->norder - 1], 2);
	assert_false(p->st[1].reachable);
	assert_true(p->st[0].reachable);
	assert_true(p->st[3].reachable);
	bld_plan_free(p);
}

static void test_cycle(void **state)
{
	(void)state;
	struct berr *err = NULL;
	struct bld_plan *p = plan("FROM scratch AS a\nCOPY --from=b /x /y\n"
				  "FROM scratch AS b\nCOPY --from=a /x /y\n", NULL, &err);
	assert_null(p);
	assert_non_null(err);
	assert_non_null(strstr(err->msg, "circular dependency detected on stage"));
	assert_int_equal(err->line, 3);
	berr_free(err);
	err = NULL;
	p = plan("FROM scratch AS a\nCOPY --from=a /x /y\n", NULL, &err);
	assert_null(p);
	assert_int_equal(err->line, 2);
	berr_free(err);
}

static void test_platforms(void **state)
{
	(void)state;
	struct bld_plan_opts o = { .platform = "linux/aarch64" };
	struct berr *err = NULL;
	struct bld_plan *p = plan("FROM --platform=$BUILDPLATFORM scratch AS b\n"
				  "FROM --platform=windows/amd64 scratch\n", &o, &err);
	assert_non_null(p);
	assert_string_equal(p->target_platform.architecture, "arm64");
	assert_string_equal(df_env_get(p->global, "TARGETPLATFORM"), "linux/arm64");
	assert_string_equal(df_env_get(p->global, "TARGETARCH"), "arm64");
	assert_string_equal(p->st[0].platform.os, "linux");
	assert_string_equal(p->st[1].platform.os, "windows");
	assert_true(p->st[1].explicit_platform);
	bld_plan_free(p);

	struct bld_plan_opts bad = { .platform = "linux/z80" };
	p = plan("FROM scratch\n", &bad, &err);
	assert_null(p);
	assert_non_null(strstr(err->msg, "unknown architecture 'z80'"));
	berr_free(err);
	err = NULL;
	p = plan("FROM scratch\nFROM --platform=nope/amd64 scratch\n", NULL, &err);
	assert_null(p);
	assert_int_equal(err->line, 2);
	assert_non_null(strstr(err->msg, "unknown operating system 'nope'"));
	berr_free(err);
}

static void test_errors(void **state)
{
	(void)state;
	struct berr *err = NULL;
	struct bld_plan_opts t = { .target = "nope" };
	assert_null(plan("FROM scratch AS a\n", &t, &err));
	assert_non_null(strstr(err->msg, "target stage 'nope' could not be found"));
	berr_free(err);
	err = NULL;
	assert_null(plan("FROM scratch AS a\nFROM scratch AS A\n", NULL, &err));
	assert_non_null(strstr(err->msg, "duplicate stage name 'a'"));
	berr_free(err);
	err = NULL;
	assert_null(plan("ARG X\nFROM ${X}\n", NULL, &err));
	assert_non_null(strstr(err->msg, "should not be blank"));
	berr_free(err);
	err = NULL;
	assert_null(plan("RUN x\n", NULL, &err));
	berr_free(err);
	err = NULL;
	char *empty[] = { "=v" };
	struct bld_plan_opts e = { .build_args = empty, .n_build_args = 1 };
	assert_null(plan("FROM scratch\n", &e, &err));
	assert_int_equal(err->code, BERR_USAGE);
	berr_free(err);
}

static void test_build_arg_from_env(void **state)
{
	(void)state;
	setenv("BERTH_TEST_ARG", "from-env", 1);
	unsetenv("BERTH_TEST_UNSET");
	char *args[] = { "BERTH_TEST_ARG", "BERTH_TEST_UNSET", "HTTP_PROXY=http://p:3128" };
	struct bld_plan_opts o = { .build_args = args, .n_build_args = 3 };
	struct berr *err = NULL;
	struct bld_plan *p = plan("ARG BERTH_TEST_ARG=default\nFROM scratch\n", &o, &err);
	assert_non_null(p);
	assert_string_equal(df_env_get(p->global, "BERTH_TEST_ARG"), "from-env");
	assert_null(df_env_get(p->build_args, "BERTH_TEST_UNSET"));
	assert_string_equal(df_env_get(p->global, "HTTP_PROXY"), "http://p:3128");
	assert_true(bld_arg_is_predefined("TARGETOS"));
	assert_false(bld_arg_is_predefined("FOO"));
	bld_plan_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_meta_args_and_from),
		cmocka_unit_test(test_target_and_order),
		cmocka_unit_test(test_cycle),
		cmocka_unit_test(test_platforms),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_build_arg_from_env),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
