/* berth tag SOURCE TARGET: add a tag in the local store. */
#include <getopt.h>
#include <stdio.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_store.h"

static const struct cli_command cmd;

static int run(int argc, char **argv)
{
	static const struct option opts[] = { CLI_HELP_OPTION, { NULL, 0, NULL, 0 } };
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (c == 'h') {
			cli_print_help(&cmd, stdout);
			return 0;
		}
		return cli_usage_error(&cmd, "invalid option");
	}
	if (argc - optind != 2)
		return cli_usage_error(&cmd, "expected SOURCE_IMAGE and TARGET_IMAGE");
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_descriptor d = { 0 };
	if (img_local_open(&s, &err) < 0 || img_store_tag_resolve(s, argv[optind], &d, &err) < 0 ||
	    img_store_tag_set(s, argv[optind + 1], &d, &err) < 0) {
		img_descriptor_clear(&d);
		return cli_report(err);
	}
	img_descriptor_clear(&d);
	return 0;
}

static const struct cli_command cmd = {
	.name = "tag",
	.summary = "create a tag TARGET that refers to SOURCE",
	.usage = "Usage: berth tag SOURCE_IMAGE[:TAG] TARGET_IMAGE[:TAG]\n"
		 "\n"
		 "Create a tag in berth's local store that refers to the same image as SOURCE.\n"
		 "\n"
		 "Options:\n"
		 "  -h, --help   show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
