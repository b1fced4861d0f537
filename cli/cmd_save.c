/* berth save: export an image to a docker-archive, oci-archive or OCI layout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_archive.h"

static const struct cli_command cmd;

#define SAVE_MAX_TAGS 64

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "tag", required_argument, NULL, 't' },
		{ "platform", required_argument, NULL, 'p' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *platform = NULL;
	enum img_source_kind kind = IMG_SRC_DOCKER_ARCHIVE;
	const char *tags[SAVE_MAX_TAGS];
	size_t n_tags = 0;
	int c;
	while ((c = getopt_long(argc, argv, "o:f:t:h", opts, NULL)) != -1) {
		switch (c) {
		case 'o': output = optarg; break;
		case 'f':
			if (strcmp(optarg, "docker-archive") == 0)
				kind = IMG_SRC_DOCKER_ARCHIVE;
			else if (strcmp(optarg, "oci-archive") == 0)
				kind = IMG_SRC_OCI_ARCHIVE;
			else if (strcmp(optarg, "oci") == 0)
				kind = IMG_SRC_OCI_DIR;
			else
				return cli_usage_error(&cmd, "invalid --format '%s' (want docker-archive, "
						       "oci-archive or oci)", optarg);
			break;
		case 't':
			if (n_tags == SAVE_MAX_TAGS)
				return cli_usage_error(&cmd, "too many --tag options");
			tags[n_tags++] = optarg;
			break;
		case 'p': platform = optarg; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd, "expected exactly one IMAGE");
	if (!output)
		return cli_usage_error(&cmd, "missing -o FILE (writing to stdout is not supported)");
	const char *spec = argv[optind];
	struct berr *err = NULL;
	struct img_platform want = { 0 };
	if (platform && img_platform_parse(platform, &want, &err) < 0)
		return cli_report(err);
	struct img_source src;
	if (img_source_parse(spec, &src, &err) < 0) {
		img_platform_clear(&want);
		return cli_report(err);
	}
	struct img_image *img = NULL;
	int rc = 0;
	if (img_image_open(&src, platform ? &want : NULL, NULL, &img, &err) == 0) {
		/* the local tag it was found by names the saved image unless -t says
		 * otherwise; by ID (digest or hex prefix) it is saved untagged, as
		 * docker does */
		const char *name = img_kvmap_get(&img->desc.annotations, IMG_ANN_CONTAINERD_NAME);
		bool by_id = strncmp(spec, "sha256:", 7) == 0 ||
			     strspn(spec, "0123456789abcdef") == strlen(spec);
		if (n_tags == 0 && src.kind == IMG_SRC_LOCAL && name && !by_id)
			tags[n_tags++] = name;
		if (img_image_export(img, kind, output, tags, n_tags, &err) < 0)
			rc = cli_report(err);
	} else {
		rc = cli_report(err);
	}
	img_image_free(img);
	img_source_clear(&src);
	img_platform_clear(&want);
	return rc;
}

static const struct cli_command cmd = {
	.name = "save",
	.summary = "save an image to a docker-archive, oci-archive or OCI layout",
	.usage = "Usage: berth save [OPTIONS] -o PATH IMAGE\n"
		 "\n"
		 "Export one image (from the local store, an OCI layout or an archive; see\n"
		 "'berth inspect --help') to PATH. Blobs are verified while copied. A\n"
		 "docker-archive is an OCI layout plus manifest.json, which 'docker load' and\n"
		 "skopeo read. Archives are written deterministically (sorted members, mtime 0).\n"
		 "\n"
		 "Options:\n"
		 "  -o, --output PATH          file (archives) or directory (oci)\n"
		 "  -f, --format FORMAT        docker-archive (default), oci-archive or oci\n"
		 "  -t, --tag REF              name to record (repeatable; default: IMAGE when\n"
		 "                             it is a local tag). In oci layouts a bare word is\n"
		 "                             an org.opencontainers.image.ref.name\n"
		 "      --platform OS[(OS.VERSION)]/ARCH[/VARIANT]\n"
		 "                             platform to pick from a multi-platform index\n"
		 "  -h, --help                 show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
