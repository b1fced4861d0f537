/* berth import: make a one-layer image from a tarball (docker import) or
 * from a directory tree (berth's own layer writer). */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_layer.h"

static const struct cli_command cmd;

struct import_opts {
	struct img_compress_opts comp;
	struct img_platform plat;
	bool docker;
	const char *output; /* oci:DIR[:TAG] instead of the local store */
};

/* A directory: its tree (not the directory itself) becomes the layer's
 * root, written by the layer writer straight into the compressor; owners
 * are 0:0, mtimes clamped to SOURCE_DATE_EPOCH when set. */
static int add_tree_layer(struct img_store *s, const char *dir, const struct img_compress_opts *co,
			  struct img_layer_info *info, struct berr **err)
{
	struct img_layer_opts lo = { .flags = IMG_LAYER_NORMALIZE_OWNER };
	if (img_layer_epoch_from_env(&lo, err) < 0)
		return -1;
	struct img_layer_blob *lb = img_layer_blob_begin(s, co, err);
	if (!lb)
		return -1;
	struct bsink sk = img_layer_blob_sink(lb);
	struct img_layer *l = img_layer_new(&lo, &sk);
	int rc = img_layer_add_tree(l, dir, "/", err);
	if (rc == 0)
		rc = img_layer_finish(l, NULL, err);
	img_layer_free(l);
	if (rc == 0)
		rc = img_layer_blob_commit(lb, info, err);
	img_layer_blob_free(lb);
	return rc;
}

/* Stream the tar through the layer pipeline; refuses compressed input. */
static int add_layer(struct img_store *s, const char *file, const struct img_compress_opts *co,
		     struct img_layer_info *info, struct berr **err)
{
	_cleanup_close_ int fd = strcmp(file, "-") == 0 ? dup(0) : open(file, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno, "open '%s'",
				      file);
	struct img_layer_blob *lb = img_layer_blob_begin(s, co, err);
	if (!lb)
		return -1;
	struct bsink sk = img_layer_blob_sink(lb);
	_cleanup_free_ char *buf = xmalloc(1u << 20);
	uint64_t total = 0;
	int rc = 0;
	for (;;) {
		ssize_t n = read(fd, buf, 1u << 20);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "read '%s'", file);
			break;
		}
		if (n == 0)
			break;
		if (total == 0 && img_compression_sniff(buf, (size_t)n) != IMG_COMP_NONE) {
			rc = berr_set(err, BERR_INPUT, "'%s' is compressed: import takes a plain tar", file);
			break;
		}
		total += (uint64_t)n;
		if (bsink_write(&sk, buf, (size_t)n, err) < 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0 && total == 0)
		rc = berr_set(err, BERR_INPUT, "'%s' is empty (0 bytes), not a tar archive", file);
	if (rc == 0)
		rc = img_layer_blob_commit(lb, info, err);
	img_layer_blob_free(lb);
	return rc;
}

static int do_import(const char *file, const char *ref, struct import_opts *o, struct berr **err)
{
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_source out = { 0 };
	if (o->output) {
		if (img_source_parse(o->output, &out, err) < 0)
			return -1;
		if (out.kind != IMG_SRC_OCI_DIR) {
			img_source_clear(&out);
			return berr_set(err, BERR_USAGE, "--output must be oci:DIR[:TAG]");
		}
		if (img_store_open(out.path, IMG_STORE_CREATE, &s, err) < 0) {
			img_source_clear(&out);
			return -1;
		}
	} else if (img_local_open(&s, err) < 0) {
		return -1;
	}
	struct img_layer_info info;
	struct stat st;
	bool dir = strcmp(file, "-") != 0 && stat(file, &st) == 0 && S_ISDIR(st.st_mode);
	int rc = dir ? add_tree_layer(s, file, &o->comp, &info, err)
		     : add_layer(s, file, &o->comp, &info, err);
	int64_t now = 0;
	if (rc == 0)
		rc = img_source_date_epoch((int64_t)time(NULL), &now, err);
	if (rc < 0) {
		img_source_clear(&out);
		return -1;
	}
	char created[40];
	img_time_format(now, created, sizeof(created));
	_cleanup_img_config_ struct img_config *cfg = img_config_new();
	cfg->created = xstrdup(created);
	img_platform_copy(&cfg->platform, &o->plat);
	img_config_add_diff_id(cfg, &info.r.diff_id);
	struct img_history h = { .created = created,
				 .comment = dir ? "imported from directory" : "imported from tarball",
				 .created_by = "berth import" };
	img_config_add_history(cfg, &h);
	struct img_descriptor layer = { 0 };
	layer.media_type = xstrdup(info.media_type);
	layer.digest = info.r.digest;
	layer.size = (int64_t)info.r.size;
	struct img_descriptor man = { 0 };
	rc = img_image_write(s, cfg, &layer, 1, o->docker, NULL, &man, err);
	img_descriptor_clear(&layer);
	if (rc == 0) {
		if (out.ref)
			rc = img_store_tag_set_raw(s, out.ref, NULL, &man, err);
		else if (ref)
			rc = img_store_tag_set(s, ref, &man, err);
		else
			rc = img_store_tag_set_raw(s, NULL, NULL, &man, err);
	}
	if (rc == 0)
		printf("%s\n", man.digest.s);
	img_descriptor_clear(&man);
	img_source_clear(&out);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "compression", required_argument, NULL, 'c' },
		{ "level", required_argument, NULL, 'l' },
		{ "threads", required_argument, NULL, 'T' },
		{ "platform", required_argument, NULL, 'p' },
		{ "os-version", required_argument, NULL, 'V' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	struct import_opts o = { .comp = { .comp = IMG_COMP_GZIP } };
	const char *platform = NULL, *osver = NULL;
	struct berr *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		char *end;
		long v;
		switch (c) {
		case 'c':
			if (img_compression_parse(optarg, &o.comp.comp, &err) < 0)
				return cli_report(err);
			break;
		case 'l':
		case 'T':
			v = strtol(optarg, &end, 10);
			if (*end || end == optarg || v < 0 || v > 64)
				return cli_usage_error(&cmd, "invalid number '%s'", optarg);
			if (c == 'l')
				o.comp.level = (int)v;
			else
				o.comp.threads = (int)v;
			break;
		case 'p': platform = optarg; break;
		case 'V': osver = optarg; break;
		case 'f':
			if (strcmp(optarg, "docker") == 0)
				o.docker = true;
			else if (strcmp(optarg, "oci") == 0)
				o.docker = false;
			else
				return cli_usage_error(&cmd, "invalid --format '%s' (want oci or docker)", optarg);
			break;
		case 'o': o.output = optarg; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (argc - optind < 1 || argc - optind > 2)
		return cli_usage_error(&cmd, "expected FILE|DIR|- [REPOSITORY[:TAG]]");
	if (platform) {
		if (img_platform_parse(platform, &o.plat, &err) < 0)
			return cli_report(err);
	} else {
		img_host_platform(&o.plat);
	}
	if (osver)
		o.plat.os_version = xstrdup(osver);
	int rc = 0;
	if (do_import(argv[optind], optind + 1 < argc ? argv[optind + 1] : NULL, &o, &err) < 0)
		rc = cli_report(err);
	img_platform_clear(&o.plat);
	return rc;
}

static const struct cli_command cmd = {
	.name = "import",
	.summary = "create an image from a tarball or a directory",
	.usage = "Usage: berth import [OPTIONS] FILE|DIR|- [REPOSITORY[:TAG]]\n"
		 "\n"
		 "Create a one-layer image from a plain tar file, or from the tree under a\n"
		 "directory (sorted, owners 0:0), and store it in berth's local store (or an\n"
		 "OCI layout with --output). The layer is compressed, hashed (diff_id and\n"
		 "digest) and stored in one pass. Prints the manifest digest.\n"
		 "SOURCE_DATE_EPOCH, when set, fixes the created time (and clamps the mtimes\n"
		 "of a directory's files).\n"
		 "\n"
		 "Options:\n"
		 "      --compression gzip|zstd|none   layer compression (default gzip)\n"
		 "      --level N                      compression level (default 6 gzip, 3 zstd)\n"
		 "      --threads N                    compression worker threads (default 0: none;\n"
		 "                                     gzip: same bytes for any N; zstd: same bytes\n"
		 "                                     for any N >= 1, different from N = 0)\n"
		 "      --platform OS/ARCH[/VARIANT]   image platform (default: the host's)\n"
		 "      --os-version VERSION           os.version (Windows images)\n"
		 "      --format oci|docker            manifest flavour (default oci)\n"
		 "  -o, --output oci:DIR[:TAG]         write into an OCI layout instead\n"
		 "  -h, --help                         show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
