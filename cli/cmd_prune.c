/* berth prune: remove dangling images, unreferenced blobs and old cache
 * entries from the local store. */
#include <errno.h>
#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_fsck.h"
#include "image/img_store.h"

static const struct cli_command cmd;

/* Go time.Duration text ("24h", "1h30m", "90s", "500ms"): seconds, -1 if bad. */
static int64_t parse_duration(const char *s)
{
	int64_t total = 0;
	if (!*s)
		return -1;
	while (*s) {
		char *end;
		errno = 0;
		double v = strtod(s, &end);
		if (end == s || errno || v < 0)
			return -1;
		s = end;
		double mul;
		if (strncmp(s, "ms", 2) == 0) { mul = 0.001; s += 2; }
		else if (*s == 'h') { mul = 3600; s++; }
		else if (*s == 'm') { mul = 60; s++; }
		else if (*s == 's') { mul = 1; s++; }
		else return -1;
		double add = v * mul;
		if (add > (double)INT32_MAX * 3600)
			return -1;
		total += (int64_t)add;
	}
	return total;
}

/* docker's units.HumanSize: 4 significant digits, decimal units */
static void human_size(uint64_t n, char *buf, size_t len)
{
	static const char *const units[] = { "B", "kB", "MB", "GB", "TB", "PB", "EB" };
	double v = (double)n;
	size_t i = 0;
	while (v >= 1000 && i + 1 < sizeof(units) / sizeof(units[0])) {
		v /= 1000;
		i++;
	}
	snprintf(buf, len, "%.4g%s", v, units[i]);
}

static bool confirm(bool all)
{
	fprintf(stderr, "WARNING! This will remove all dangling images and unreferenced blobs%s.\n"
			"Are you sure you want to continue? [y/N] ",
		all ? " and all build cache" : "");
	char line[64];
	if (!fgets(line, sizeof(line), stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "all", no_argument, NULL, 'a' },
		{ "filter", required_argument, NULL, 'F' },
		{ "force", no_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	struct img_prune_opts o = { 0 };
	bool force = false;
	int c;
	while ((c = getopt_long(argc, argv, "afh", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.all = true; break;
		case 'f': force = true; break;
		case 'F': {
			if (strncmp(optarg, "until=", 6) != 0)
				return cli_usage_error(&cmd, "invalid filter '%s' (supported: until=DURATION)",
						       optarg);
			int64_t d = parse_duration(optarg + 6);
			if (d < 0)
				return cli_usage_error(&cmd, "invalid duration '%s' (e.g. 24h, 1h30m, 90s)",
						       optarg + 6);
			o.until = (int64_t)time(NULL) - d;
			if (o.until <= 0)
				o.until = 1;
			break;
		}
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	if (!force && !confirm(o.all))
		return 0;
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_prune_report *r = NULL;
	if (img_local_open(&s, &err) < 0 || img_prune(s, &o, &r, &err) < 0)
		return cli_report(err);
	if (r->n_images) {
		printf("Deleted Images:\n");
		for (size_t i = 0; i < r->n_images; i++)
			printf("deleted: %s\n", r->images[i]);
		putchar('\n');
	}
	if (r->n_blobs) {
		printf("Deleted Blobs:\n");
		for (size_t i = 0; i < r->n_blobs; i++)
			printf("deleted: %s\n", r->blobs[i]);
		putchar('\n');
	}
	if (r->n_cache) {
		printf("Deleted build cache objects:\n");
		for (size_t i = 0; i < r->n_cache; i++)
			printf("%s\n", r->cache[i]);
		putchar('\n');
	}
	char hs[32];
	human_size(r->reclaimed, hs, sizeof(hs));
	printf("Total reclaimed space: %s\n", hs);
	img_prune_report_free(r);
	return 0;
}

static const struct cli_command cmd = {
	.name = "prune",
	.summary = "remove dangling images and unreferenced blobs from the local store",
	.usage = "Usage: berth prune [OPTIONS]\n"
		 "\n"
		 "Remove untagged (dangling) images, every blob no tagged image references,\n"
		 "temp files of interrupted writes and old build cache entries from berth's\n"
		 "local store, then the build cache store's blobs that no remaining cache\n"
		 "record or image references, and old materialised stage trees. Waits for\n"
		 "running loads, imports and builds to finish (they hold the stores' shared\n"
		 "locks) and blocks new ones while it runs.\n"
		 "\n"
		 "Options:\n"
		 "  -a, --all              also remove every build cache record and stage tree,\n"
		 "                         whatever its age, and every RUN cache mount\n"
		 "      --filter until=D   only remove objects written, and cache records and\n"
		 "                         stage trees last used, more than D ago (Go duration:\n"
		 "                         24h, 1h30m, 90s)\n"
		 "  -f, --force            do not prompt for confirmation\n"
		 "  -h, --help             show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
