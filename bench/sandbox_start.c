/* Times bld_sandbox_run of one trivial command (see bench/run-start). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "builder/bld_sandbox.h"
#include "common/common.h"

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: %s ROOTFS WORKDIR RUNS [overlay|copy]\n", argv[0]);
		return 2;
	}
	const char *lowers[] = { argv[1] };
	long runs = strtol(argv[3], NULL, 10);
	bool copy = argc > 4 && strcmp(argv[4], "copy") == 0;
	double *ms = xcalloc((size_t)runs, sizeof(double));
	double *cpu = xcalloc((size_t)runs, sizeof(double));
	for (long i = 0; i < runs; i++) {
		char *scratch = xasprintf("%s/run%ld", argv[2], i);
		const char *cmd[] = { "/bin/true", NULL };
		struct bld_sandbox_spec s = { .lowers = lowers, .n_lowers = 1, .scratch = scratch,
					      .argv = cmd, .cancel_fd = -1,
					      .flags = copy ? BLD_SANDBOX_NO_OVERLAY : 0 };
		struct bld_sandbox_result res;
		struct berr *err = NULL;
		struct timespec a, b;
		struct rusage ra, rb, ca, cb;
		getrusage(RUSAGE_SELF, &ra);
		getrusage(RUSAGE_CHILDREN, &ca);
		clock_gettime(CLOCK_MONOTONIC, &a);
		if (bld_sandbox_run(&s, &res, &err) < 0) {
			berr_print(stderr, err);
			return 1;
		}
		clock_gettime(CLOCK_MONOTONIC, &b);
		getrusage(RUSAGE_SELF, &rb);
		getrusage(RUSAGE_CHILDREN, &cb);
#define TV_MS(t) ((double)(t).tv_sec * 1e3 + (double)(t).tv_usec / 1e3)
		cpu[i] = TV_MS(rb.ru_utime) + TV_MS(rb.ru_stime) - TV_MS(ra.ru_utime) - TV_MS(ra.ru_stime) +
			 TV_MS(cb.ru_utime) + TV_MS(cb.ru_stime) - TV_MS(ca.ru_utime) - TV_MS(ca.ru_stime);
		ms[i] = (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6;
		if (res.exit_code != 0) {
			fprintf(stderr, "exit %d\n", res.exit_code);
			return 1;
		}
		bld_sandbox_result_release(&res);
		bld_sandbox_remove_tree(scratch, NULL);
		free(scratch);
	}
	qsort(ms, (size_t)runs, sizeof(double), cmp_double);
	qsort(cpu, (size_t)runs, sizeof(double), cmp_double);
	printf("sandbox start (%s): median %.2f ms, min %.2f ms, max %.2f ms wall; "
	       "median %.2f ms cpu (user+sys of berth and the container) over %ld runs\n",
	       copy ? "copy fallback" : "overlay", ms[runs / 2], ms[0], ms[runs - 1], cpu[runs / 2], runs);
	free(ms);
	free(cpu);
	return 0;
}
