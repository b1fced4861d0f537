/* libFuzzer harness for the build planner: any Dockerfile text either plans
 * (every reachable stage ordered after its dependencies) or fails with an
 * error object; never a crash, hang or leak. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "builder/bld_plan.h"
#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char *args[] = { "A=1", "B" };
	struct bld_plan_opts o = { .build_args = args, .n_build_args = 2 };
	struct bld_plan *p = NULL;
	struct berr *err = NULL;
	if (bld_plan_new("fuzz", (const char *)data, size, &o, &p, &err) < 0) {
		if (!err)
			__builtin_trap();
		berr_free(err);
		return 0;
	}
	/* order: a stage comes after every stage it depends on */
	for (size_t k = 0; k < p->norder; k++) {
		const struct bld_stage_plan *s = &p->st[p->order[k]];
		for (size_t d = 0; d < s->ndeps; d++) {
			bool before = false;
			for (size_t j = 0; j < k; j++)
				before |= p->order[j] == s->deps[d];
			if (!before)
				__builtin_trap();
		}
	}
	if (p->order[p->norder - 1] != p->target)
		__builtin_trap();
	bld_plan_free(p);
	return 0;
}
