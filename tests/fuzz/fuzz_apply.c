/* Fuzz the layer applier: the input is one layer (plain, gzip or zstd tar),
 * applied once as a Linux and once as a Windows layer into a fresh temp dir.
 * Besides crashes and sanitizer reports, the harness aborts if anything
 * appears outside the target: a sentinel directory next to it must stay
 * empty and the temp dir must hold nothing else. */
#include <dirent.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_apply.h"

/* small caps keep each run fast; they are part of what is fuzzed */
#define FUZZ_MAX_BYTES (8u << 20)
#define FUZZ_MAX_ENTRIES 4096u

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	chmod(p, 0700);
	return remove(p);
}

static size_t entries(const char *dir)
{
	DIR *d = opendir(dir);
	size_t n = 0;
	struct dirent *e;
	if (!d)
		abort();
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char *base = xasprintf("%s/berth-fuzz-apply.XXXXXX", tmp);
	if (!mkdtemp(base)) {
		free(base);
		return 0;
	}
	char *sentinel = xasprintf("%s/sentinel", base);
	mkdir(sentinel, 0700);
	for (int pass = 0; pass < 2; pass++) {
		char *root = xasprintf("%s/root%d", base, pass);
		mkdir(root, 0755);
		struct img_apply_opts o = {
			.flags = pass ? IMG_APPLY_WINDOWS : 0,
			.max_bytes = FUZZ_MAX_BYTES,
			.max_entries = FUZZ_MAX_ENTRIES,
		};
		struct berr *err = NULL;
		struct img_applier *ap = img_applier_new(root, &o, &err);
		if (ap)
			img_apply_mem(ap, data, size, "fuzz", &err);
		img_applier_free(ap);
		berr_free(err);
		free(root);
	}
	if (entries(sentinel) != 0 || entries(base) != 3)
		abort(); /* something was written outside the target */
	nftw(base, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(sentinel);
	free(base);
	return 0;
}
