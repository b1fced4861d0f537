/* berth rmi REF...: remove tags from the local store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "parser/df_ref.h"
#include "image/img_store.h"

static const struct cli_command cmd;

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "force", no_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "fh", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(&cmd, stdout);
			return 0;
		}
		if (c != 'f')
			return cli_usage_error(&cmd, "invalid option");
	}
	if (optind >= argc)
		return cli_usage_error(&cmd, "expected at least one IMAGE");
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	if (img_local_open(&s, &err) < 0)
		return cli_report(err);
	int rc = 0;
	for (int i = optind; i < argc; i++) {
		struct img_descriptor d = { 0 };
		if (img_store_tag_resolve(s, argv[i], &d, &err) < 0 ||
		    img_store_tag_remove(s, argv[i], &err) < 0) {
			if (err && err->code == BERR_NOTFOUND) {
				berr_free(err);
				err = NULL;
				fprintf(stderr, "berth: error: no such image: '%s'\n", argv[i]);
				rc = 1;
			} else {
				int r = cli_report(err);
				err = NULL;
				rc = rc ? rc : r;
			}
			img_descriptor_clear(&d);
			continue;
		}
		const char *name = img_kvmap_get(&d.annotations, IMG_ANN_CONTAINERD_NAME);
		struct df_ref *r = NULL;
		struct berr *e2 = NULL;
		if (name && df_ref_parse_normalized(name, &r, &e2) == 0) {
			df_ref_tag_name_only(r);
			char *fam = df_ref_familiar(r);
			printf("Untagged: %s\n", fam);
			free(fam);
			df_ref_free(r);
		} else {
			printf("Deleted: %s\n", d.digest.s);
		}
		berr_free(e2);
		img_descriptor_clear(&d);
	}
	return rc;
}

static const struct cli_command cmd = {
	.name = "rmi",
	.summary = "remove image tags from the local store",
	.usage = "Usage: berth rmi [OPTIONS] IMAGE [IMAGE...]\n"
		 "\n"
		 "Remove tags (or untagged images, by digest) from berth's local store.\n"
		 "Blobs stay in the store; there is no garbage collection yet.\n"
		 "\n"
		 "Options:\n"
		 "  -f, --force  accepted for docker compatibility (no effect)\n"
		 "  -h, --help   show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
