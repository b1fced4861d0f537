/* Test helper for shell suites: drives the layer writer and applier.
 *   berth-layer-tool write [--windows] [--normalize] SRCDIR OUT.tar
 *   berth-layer-tool apply [--windows] ROOT LAYER...
 * Not installed; errors go to stderr, exit 1. */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_apply.h"
#include "image/img_layer.h"

static int fd_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	return bfd_write_all(*(int *)ctx, p, n, "output", err);
}

static int die(struct berr *err)
{
	berr_print(stderr, err);
	berr_free(err);
	return 1;
}

int main(int argc, char **argv)
{
	struct berr *err = NULL;
	bool windows = false, normalize = false;
	int i = 2;
	if (argc < 2)
		goto usage;
	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--windows") == 0)
			windows = true;
		else if (strcmp(argv[i], "--normalize") == 0)
			normalize = true;
		else
			goto usage;
	}
	if (strcmp(argv[1], "write") == 0 && argc - i == 2) {
		int fd = open(argv[i + 1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			perror(argv[i + 1]);
			return 1;
		}
		struct img_layer_opts o = { .flags = (windows ? IMG_LAYER_WINDOWS : 0) |
						     (normalize ? IMG_LAYER_NORMALIZE_OWNER : 0) };
		if (img_layer_epoch_from_env(&o, &err) < 0)
			return die(err);
		struct bsink s = { fd_write, &fd };
		struct img_layer *l = img_layer_new(&o, &s);
		if (img_layer_add_tree(l, argv[i], windows ? "C:\\" : "/", &err) < 0 ||
		    img_layer_finish(l, NULL, &err) < 0) {
			img_layer_free(l);
			return die(err);
		}
		img_layer_free(l);
		return close(fd) < 0;
	}
	if (strcmp(argv[1], "apply") == 0 && argc - i >= 2) {
		struct img_apply_opts o = { .flags = windows ? IMG_APPLY_WINDOWS : 0 };
		if (img_apply_chain(argv[i], (const char *const *)argv + i + 1, (size_t)(argc - i - 1),
				    &o, NULL, &err) < 0)
			return die(err);
		return 0;
	}
usage:
	fprintf(stderr, "usage: berth-layer-tool write [--windows] [--normalize] SRCDIR OUT.tar\n"
			"       berth-layer-tool apply [--windows] ROOT LAYER...\n");
	return 2;
}
