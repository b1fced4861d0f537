/* berth save: export an image to a docker-archive, oci-archive or OCI layout. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/reg_opts.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_registry.h"

static const struct cli_command cmd;

#define SAVE_MAX_TAGS 64

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ "format", required_argument, NULL, 'f' },
		{ "tag", required_argument, NULL, 't' },
		{ "platform", required_argument, NULL, 'p' },
		REG_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *output = NULL, *platform = NULL;
	enum img_source_kind kind = IMG_SRC_DOCKER_ARCHIVE;
	const char *tags[SAVE_MAX_TAGS];
	size_t n_tags = 0;
	struct cli_reg cr;
	cli_reg_init(&cr);
	cr.to_stderr = true; /* stdout stays free, as docker save's */
	struct berr *err = NULL;
	struct img_platform want = { 0 };
	struct img_source src = { 0 };
	struct img_image *img = NULL;
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "o:f:t:u:h", opts, NULL)) != -1) {
		int h = cli_reg_option(&cr, c, optarg, &err);
		if (h < 0)
			goto fail;
		if (h)
			continue;
		switch (c) {
		case 'o': output = optarg; break;
		case 'f':
			if (strcmp(optarg, "docker-archive") == 0)
				kind = IMG_SRC_DOCKER_ARCHIVE;
			else if (strcmp(optarg, "oci-archive") == 0)
				kind = IMG_SRC_OCI_ARCHIVE;
			else if (strcmp(optarg, "oci") == 0)
				kind = IMG_SRC_OCI_DIR;
			else {
				rc = cli_usage_error(&cmd, "invalid --format '%s' (want docker-archive, "
						     "oci-archive or oci)", optarg);
				goto done;
			}
			break;
		case 't':
			if (n_tags == SAVE_MAX_TAGS) {
				rc = cli_usage_error(&cmd, "too many --tag options");
				goto done;
			}
			tags[n_tags++] = optarg;
			break;
		case 'p': platform = optarg; break;
		case 'h': cli_print_help(&cmd, stdout); goto done;
		default: rc = cli_usage_error(&cmd, "invalid option"); goto done;
		}
	}
	if (argc - optind != 1) {
		rc = cli_usage_error(&cmd, "expected exactly one IMAGE");
		goto done;
	}
	if (!output) {
		rc = cli_usage_error(&cmd, "missing -o FILE (writing to stdout is not supported)");
		goto done;
	}
	const char *spec = argv[optind];
	if ((platform && img_platform_parse(platform, &want, &err) < 0) ||
	    img_source_parse(spec, &src, &err) < 0 ||
	    img_image_open_flags(&src, platform ? &want : NULL, NULL, IMG_LOAD_LAZY, &img, &err) < 0)
		goto fail;
	/* a lazy image's layers are fetched before anything is written at PATH */
	if (cli_reg_fetch_lazy(&cr, spec, img, &err) < 0) {
		berr_wrap(&err, "save '%s' (nothing written)", spec);
		goto fail;
	}
	/* the local tag it was found by names the saved image unless -t says
	 * otherwise; by ID (digest or hex prefix) it is saved untagged, as
	 * docker does */
	const char *name = img_kvmap_get(&img->desc.annotations, IMG_ANN_CONTAINERD_NAME);
	bool by_id = strncmp(spec, "sha256:", 7) == 0 ||
		     strspn(spec, "0123456789abcdef") == strlen(spec);
	if (n_tags == 0 && src.kind == IMG_SRC_LOCAL && name && !by_id)
		tags[n_tags++] = name;
	if (img_image_export(img, kind, output, tags, n_tags, &err) < 0)
		goto fail;
	goto done;
fail:
	rc = cli_report(err);
done:
	img_image_free(img);
	img_source_clear(&src);
	img_platform_clear(&want);
	cli_reg_clear(&cr);
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
		 "  -h, --help                 show this help\n"
		 "\n"
		 "Registry options (used only for a lazy image's layers, see below):\n"
		 REG_OPTIONS_HELP
		 "\n"
		 "A lazy image (built FROM a registry base, or berth pull --lazy) keeps its base\n"
		 "layers in the registry: save first fetches them from the repository recorded\n"
		 "for each (digest-verified, stored in the local store as 'berth pull' would),\n"
		 "then writes PATH. When a layer cannot be fetched, the error names its digest\n"
		 "and registry and nothing is written at PATH.\n",
	.run = run,
};
CLI_REGISTER(cmd);
