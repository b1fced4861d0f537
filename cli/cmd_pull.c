/* berth pull: fetch an image from a registry into the local store. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/reg_opts.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_registry.h"
#include "image/img_store.h"

static const struct cli_command cmd;

enum { OPT_PLATFORM = 0x2000, OPT_OS_VERSION, OPT_LAZY, OPT_OUTPUT };

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "os-version", required_argument, NULL, OPT_OS_VERSION },
		{ "lazy", no_argument, NULL, OPT_LAZY },
		{ "output", required_argument, NULL, 'o' },
		{ "quiet", no_argument, NULL, 'q' },
		REG_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_cli_reg_ struct cli_reg cr;
	cli_reg_init(&cr);
	const char *platform = NULL, *osver = NULL, *output = NULL;
	bool lazy = false;
	struct berr *err = NULL;
	int c, rc = 0;
	while ((c = cli_reg_getopt(&cr, argc, argv, "o:qu:h", opts, &err)) != -1) {
		switch (c) {
		case REGOPT_BAD_VALUE: return cli_report(err);
		case OPT_PLATFORM: platform = optarg; break;
		case OPT_OS_VERSION: osver = optarg; break;
		case OPT_LAZY: lazy = true; break;
		case 'o': output = optarg; break;
		case 'q': cr.quiet = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (argc - optind != 1)
		return cli_usage_error(&cmd, "expected one image reference");
	if (lazy && output)
		return cli_usage_error(&cmd, "--lazy and --output exclude each other");
	const char *ref = argv[optind];
	struct img_platform want = { 0 }, *wantp = NULL;
	if (platform) {
		if (img_platform_parse(platform, &want, &err) < 0)
			return cli_report(err);
		wantp = &want;
	}
	if (osver) {
		if (!wantp) {
			want.os = xstrdup("windows");
			want.architecture = xstrdup("amd64");
			wantp = &want;
		}
		free(want.os_version);
		want.os_version = xstrdup(osver);
	}
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_image *img = NULL;
	struct img_remote rem = { 0 };
	if (img_remote_parse(ref, &rem, &err) < 0 || cli_reg_client(&cr, ref, &reg, &err) < 0)
		goto fail;
	if (!cr.quiet) {
		printf("%s: Pulling from %s\n", rem.tag ? rem.tag : rem.digest, rem.repo);
		fflush(stdout);
	}
	if (img_local_open(&s, &err) < 0 ||
	    img_registry_pull(reg, ref, wantp, s, lazy ? IMG_PULL_LAZY : IMG_PULL_FULL, &img, &err) < 0)
		goto fail;
	struct img_descriptor tagd = { 0 };
	tagd.media_type = img->desc.media_type;
	tagd.digest = img->desc.digest;
	tagd.size = img->desc.size;
	if (img_store_tag_set(s, rem.full, &tagd, &err) < 0)
		goto fail;
	if (output) {
		struct img_source dst = { 0 };
		if (img_source_parse(output, &dst, &err) < 0)
			goto fail;
		if (dst.kind == IMG_SRC_LOCAL) {
			img_source_clear(&dst);
			err = NULL;
			berr_set(&err, BERR_USAGE, "--output: '%s' is not oci:DIR, oci-archive:FILE or docker-archive:FILE",
				 output);
			goto fail;
		}
		const char *tags[1] = { dst.ref ? dst.ref : rem.full };
		int xr = img_image_export(img, dst.kind, dst.path, tags, 1, &err);
		img_source_clear(&dst);
		if (xr < 0)
			goto fail;
	}
	if (!cr.quiet) {
		const struct img_descriptor *top = img_digest_is_set(&img->index_desc.digest) ? &img->index_desc
											  : &img->desc;
		printf("Digest: %s\n", top->digest.s);
		if (lazy)
			printf("Status: metadata only (layers are fetched when needed)\n");
	}
	printf("%s\n", rem.full);
	goto done;
fail:
	rc = cli_report(err);
done:
	img_image_free(img);
	img_remote_clear(&rem);
	img_platform_clear(&want);
	return rc;
}

static const struct cli_command cmd = {
	.name = "pull",
	.summary = "download an image from a registry",
	.usage = "Usage: berth pull [OPTIONS] NAME[:TAG|@DIGEST]\n"
		 "\n"
		 "Download an image from a registry into berth's local store: the index (when\n"
		 "there is one), the manifest for the selected platform, the config and every\n"
		 "layer, each streamed into the store and verified against its digest and size.\n"
		 "Blobs already in the store are not downloaded again; foreign (non-distributable)\n"
		 "layers are recorded, not downloaded. Docker Hub names are normalized\n"
		 "(busybox = docker.io/library/busybox:latest).\n"
		 "\n"
		 "Options:\n"
		 "      --platform OS/ARCH[/VARIANT]  platform to select from an index, e.g.\n"
		 "                                linux/arm64, windows/amd64,\n"
		 "                                windows(10.0.20348)/amd64 (default: the host)\n"
		 "      --os-version V            Windows os.version to select (10.0.17763):\n"
		 "                                same major.minor.build wins, highest revision\n"
		 "      --lazy                    fetch only index, manifest and config; layers are\n"
		 "                                fetched later (build, push mounts them)\n"
		 "  -o, --output DEST             also export to oci:DIR[:TAG], oci-archive:FILE or\n"
		 "                                docker-archive:FILE\n"
		 "  -q, --quiet                   print only the image name\n"
		 REG_OPTIONS_HELP
		 "  -h, --help                    show this help\n"
		 "\n"
		 "Credentials come from --username/--password-stdin, else from\n"
		 "$DOCKER_CONFIG/config.json (~/.docker/config.json): credHelpers, credsStore,\n"
		 "auths.\n",
	.run = run,
};
CLI_REGISTER(cmd);
