/* berth push: upload an image (or manifest list) to a registry. */
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

/* Resolve what to push: a local-store name, or any image source. */
static int resolve_source(const char *spec, struct img_store *local, struct img_image **img,
			  struct img_descriptor *d, struct berr **err)
{
	struct img_source src = { 0 };
	if (img_source_parse(spec, &src, err) < 0)
		return -1;
	int rc;
	if (src.kind == IMG_SRC_LOCAL) {
		rc = img_store_tag_resolve(local, spec, d, err);
	} else {
		rc = img_image_open(&src, NULL, NULL, img, err);
		if (rc == 0) {
			/* push the index when the source had one, else the manifest */
			const struct img_descriptor *top = img_digest_is_set(&(*img)->index_desc.digest)
								   ? &(*img)->index_desc : &(*img)->desc;
			img_descriptor_copy(d, top);
		}
	}
	img_source_clear(&src);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "chunk-size", required_argument, NULL, REGOPT_CHUNK_SIZE },
		REG_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	_cleanup_cli_reg_ struct cli_reg cr;
	cli_reg_init(&cr);
	struct berr *err = NULL;
	int c, rc = 0;
	while ((c = cli_reg_getopt(&cr, argc, argv, "qu:h", opts, &err)) != -1) {
		switch (c) {
		case REGOPT_BAD_VALUE: return cli_report(err);
		case 'q': cr.quiet = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	int nargs = argc - optind;
	if (nargs != 1 && nargs != 2)
		return cli_usage_error(&cmd, "expected [SOURCE] NAME[:TAG]");
	const char *src = argv[optind];
	const char *ref = argv[argc - 1];
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_image *img = NULL;
	struct img_descriptor d = { 0 };
	struct img_remote rem = { 0 };
	if (img_remote_parse(ref, &rem, &err) < 0 || img_local_open(&s, &err) < 0 ||
	    resolve_source(src, s, &img, &d, &err) < 0 || cli_reg_client(&cr, ref, &reg, &err) < 0)
		goto fail;
	if (!cr.quiet) {
		printf("The push refers to repository [%s/%s]\n", rem.domain, rem.repo);
		fflush(stdout);
	}
	if (img_registry_push(reg, img ? img->store : s, &d, &rem, &err) < 0)
		goto fail;
	if (!cr.quiet)
		printf("%s: digest: %s size: %lld\n", rem.tag ? rem.tag : rem.digest, d.digest.s,
		       (long long)d.size);
	else
		printf("%s\n", d.digest.s);
	goto done;
fail:
	rc = cli_report(err);
done:
	img_descriptor_clear(&d);
	img_image_free(img);
	img_remote_clear(&rem);
	return rc;
}

static const struct cli_command cmd = {
	.name = "push",
	.summary = "upload an image or manifest list to a registry",
	.usage = "Usage: berth push [OPTIONS] [SOURCE] NAME[:TAG]\n"
		 "\n"
		 "Upload an image from berth's local store (or SOURCE: a local name, oci:DIR[:TAG],\n"
		 "oci-archive:FILE, docker-archive:FILE) to a registry. When the name refers to a\n"
		 "manifest list, its images are pushed first, then the list.\n"
		 "\n"
		 "Each blob is checked with HEAD first (not uploaded when present); a blob pulled\n"
		 "from another repository of the same registry is mounted from there; other blobs\n"
		 "are streamed from the store (digest-verified) in one PUT, or in PATCH chunks with\n"
		 "--chunk-size. Foreign (non-distributable) layers are never pushed. Blobs of lazy\n"
		 "images (berth pull --lazy) are mounted, or fetched from their source first.\n"
		 "\n"
		 "Options:\n"
		 "      --chunk-size SIZE         upload in chunks of SIZE bytes (k/M suffix)\n"
		 "  -q, --quiet                   print only the pushed digest\n"
		 REG_OPTIONS_HELP
		 "  -h, --help                    show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
