/* Layer-applier fixture shared by test_apply.c and test_hostile.c (included
 * after <cmocka.h>, not compiled on its own): BASE/root is the target a test
 * applies layers to, BASE/sentinel a directory beside it that must stay as
 * it was whatever the test did.
 *   cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown), *state = fx */
#ifndef BERTH_APPLY_TESTLIB_H
#define BERTH_APPLY_TESTLIB_H

#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

#include "layer_testlib.h"
#include "image/img_apply.h"

struct fx {
	char *base, *root, *sentinel;
};

static inline int fx_setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	f->base = tmpdir_new();
	f->root = xasprintf("%s/root", f->base);
	f->sentinel = xasprintf("%s/sentinel", f->base);
	mkdir(f->root, 0755);
	mkdir(f->sentinel, 0755);
	put_file(f->sentinel, "keep", "precious\n", 0644, 1000);
	*state = f;
	return 0;
}

/* Nothing appeared outside the target; then remove it all. */
static inline int fx_teardown(void **state)
{
	struct fx *f = *state;
	assert_int_equal(dir_count(f->sentinel), 1);
	char *k = read_text(f->sentinel, "keep");
	assert_string_equal(k, "precious\n");
	free(k);
	/* BASE holds root, sentinel and sentinel/keep only */
	assert_int_equal(dir_count(f->base), 3 + dir_count(f->root));
	rm_rf(f->base);
	free(f->base);
	free(f->root);
	free(f->sentinel);
	free(f);
	return 0;
}

/* Apply `layers` in order into f->root with one applier; errors name the
 * layer `name`, or "L<index>" when name is NULL. */
static inline int fx_apply(struct fx *f, unsigned flags, const struct bbuf *const *layers,
			   size_t n, const char *name, struct berr **err)
{
	struct img_apply_opts o = { .flags = flags };
	_cleanup_img_applier_ struct img_applier *ap = img_applier_new(f->root, &o, err);
	if (!ap)
		return -1;
	for (size_t i = 0; i < n; i++) {
		char lname[16];
		snprintf(lname, sizeof(lname), "L%zu", i);
		if (img_apply_mem(ap, layers[i]->data, layers[i]->len, name ? name : lname, err) < 0)
			return -1;
	}
	return 0;
}

#endif
