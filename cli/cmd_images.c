/* berth images: list the local store (docker images output shape). */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "parser/df_ref.h"

static const struct cli_command cmd;

/* docker's units.HumanSize: decimal units, 3 significant digits */
static void human_size(int64_t n, char *buf, size_t len)
{
	static const char *const u[] = { "B", "kB", "MB", "GB", "TB", "PB" };
	double v = (double)n;
	size_t i = 0;
	while (v >= 1000 && i + 1 < ARRAY_SIZE(u)) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.3g%s", v, u[i]);
}

static void human_age(const char *created, char *buf, size_t len)
{
	struct tm tm = { 0 };
	if (!created || !strptime(created, "%Y-%m-%dT%H:%M:%S", &tm)) {
		snprintf(buf, len, "N/A");
		return;
	}
	int64_t t = (int64_t)timegm(&tm);
	int64_t d = (int64_t)time(NULL) - t;
	if (d < 0)
		d = 0;
	if (d < 60)
		snprintf(buf, len, "Less than a second ago");
	else if (d < 3600)
		snprintf(buf, len, "%lld minutes ago", (long long)(d / 60));
	else if (d < 2 * 86400)
		snprintf(buf, len, "%lld hours ago", (long long)(d / 3600));
	else if (d < 14 * 86400)
		snprintf(buf, len, "%lld days ago", (long long)(d / 86400));
	else if (d < 60 * 86400)
		snprintf(buf, len, "%lld weeks ago", (long long)(d / (7 * 86400)));
	else if (d < 730 * 86400)
		snprintf(buf, len, "%lld months ago", (long long)(d / (30 * 86400)));
	else
		snprintf(buf, len, "%lld years ago", (long long)(d / (365 * 86400)));
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "quiet", no_argument, NULL, 'q' },
		{ "no-trunc", no_argument, NULL, 'n' },
		{ "digests", no_argument, NULL, 'd' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	bool quiet = false, notrunc = false, digests = false;
	int c;
	while ((c = getopt_long(argc, argv, "qh", opts, NULL)) != -1) {
		switch (c) {
		case 'q': quiet = true; break;
		case 'n': notrunc = true; break;
		case 'd': digests = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	_cleanup_img_index_ struct img_index *x = NULL;
	if (img_local_open(&s, &err) < 0 || img_store_load_index(s, &x, &err) < 0)
		return cli_report(err);
	if (!quiet)
		printf(digests ? "%-30s %-15s %-71s %-15s %-24s %s\n" : "%-30s %-15s %-15s %-24s %s\n",
		       "REPOSITORY", "TAG", digests ? "DIGEST" : "IMAGE ID", digests ? "IMAGE ID" : "CREATED",
		       digests ? "CREATED" : "SIZE", digests ? "SIZE" : "");
	for (size_t i = 0; i < x->n_manifests; i++) {
		const struct img_descriptor *d = &x->manifests[i];
		const char *name = img_kvmap_get(&d->annotations, IMG_ANN_CONTAINERD_NAME);
		_cleanup_free_ char *repo = NULL, *tag = NULL;
		struct df_ref *r = NULL;
		struct berr *e2 = NULL;
		if (name && df_ref_parse_normalized(name, &r, &e2) == 0) {
			repo = df_ref_familiar_name(r);
			tag = xstrdup(r->tag ? r->tag : "<none>");
			df_ref_free(r);
		}
		berr_free(e2);
		e2 = NULL;
		struct img_image *img = NULL;
		char id[80] = "<unknown>", age[40] = "N/A", size[32] = "N/A";
		/* metadata only: lazy images (layers in a registry) are listed too */
		if (img_image_load_flags(s, d, NULL, IMG_LOAD_LAZY, &img, &e2) == 0) {
			const char *hex = img_digest_hex(&img->manifest->config.digest);
			snprintf(id, sizeof(id), "%s%.*s", notrunc ? "sha256:" : "", notrunc ? 64 : 12, hex);
			human_age(img->config->created, age, sizeof(age));
			int64_t total = 0;
			for (size_t k = 0; k < img->manifest->n_layers; k++)
				total += img->manifest->layers[k].size;
			human_size(total, size, sizeof(size));
		}
		berr_free(e2);
		img_image_free(img);
		if (quiet) {
			printf("%s\n", id);
			continue;
		}
		if (digests)
			printf("%-30s %-15s %-71s %-15s %-24s %s\n", repo ? repo : "<none>",
			       tag ? tag : "<none>", d->digest.s, id, age, size);
		else
			printf("%-30s %-15s %-15s %-24s %s\n", repo ? repo : "<none>", tag ? tag : "<none>",
			       id, age, size);
	}
	return 0;
}

static const struct cli_command cmd = {
	.name = "images",
	.summary = "list images in berth's local store",
	.usage = "Usage: berth images [OPTIONS]\n"
		 "\n"
		 "List the images in berth's local store ($BERTH_ROOT/images, an OCI layout).\n"
		 "IMAGE ID is the config digest (as docker shows it); SIZE is the sum of the\n"
		 "stored (compressed) layer sizes, from the manifest's descriptors (so a lazy\n"
		 "image, whose base layers are still in a registry, shows its full size).\n"
		 "\n"
		 "Options:\n"
		 "  -q, --quiet      only show image IDs\n"
		 "      --no-trunc   show full image IDs\n"
		 "      --digests    show manifest digests\n"
		 "  -h, --help       show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
