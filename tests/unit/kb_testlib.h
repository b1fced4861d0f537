/* Knowledge-base fixture shared by the compat, engine and lint unit tests
 * (included, not compiled on its own): `kb` is the embedded knowledge base,
 * loaded by the group setup and freed by the group teardown:
 *   cmocka_run_group_tests(tests, kb_setup, kb_teardown) */
#ifndef BERTH_KB_TESTLIB_H
#define BERTH_KB_TESTLIB_H

#include <stdio.h>

#include "common/common.h"
#include "compat/wc.h"

static struct wc_kb *kb;

static inline int kb_setup(void **state)
{
	(void)state;
	struct berr *err = NULL;
	kb = wc_kb_load(NULL, &err);
	if (!kb) {
		fprintf(stderr, "kb: %s\n", err ? err->msg : "not loaded");
		berr_free(err);
		return -1;
	}
	return 0;
}

static inline int kb_teardown(void **state)
{
	(void)state;
	wc_kb_free(kb);
	kb = NULL;
	return 0;
}

#endif
