/* berth fsck: verify the local store or an OCI layout. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_fsck.h"
#include "image/img_store.h"

static const struct cli_command cmd;

static void print_text(const struct img_fsck_report *r, const char *dir, bool repair)
{
	for (size_t i = 0; i < r->n; i++) {
		const struct img_fsck_problem *p = &r->v[i];
		switch (p->kind) {
		case IMG_FSCK_CORRUPT: printf("corrupt blob %s", p->object); break;
		case IMG_FSCK_BADFILE: printf("unexpected file %s", p->object); break;
		case IMG_FSCK_INVALID: printf("invalid object %s", p->object); break;
		case IMG_FSCK_MISSING: printf("missing blob %s", p->object); break;
		case IMG_FSCK_SIZE: printf("size mismatch %s", p->object); break;
		case IMG_FSCK_ORPHAN:
			printf("%sorphaned blob %s (%llu bytes)", p->removed ? "removed " : "",
			       p->object, (unsigned long long)p->size);
			break;
		case IMG_FSCK_TEMP:
			printf("%s temp file %s (%llu bytes)", p->removed ? "removed stale" : "stale",
			       p->object, (unsigned long long)p->size);
			break;
		}
		if (p->detail)
			printf(": %s", p->detail);
		putchar('\n');
	}
	if (r->writers_active && r->n_garbage > 0)
		printf("note: another berth process is writing to the store: unreferenced blobs and "
		       "temp files may be in use\n");
	if (r->orphans_kept)
		printf("note: orphaned blobs kept: the store has errors, fix them first\n");
	printf("%s: %llu blobs (%llu bytes) verified, ", dir, (unsigned long long)r->blobs,
	       (unsigned long long)r->bytes);
	if (r->cache)
		printf("%zu cache records, ", r->records);
	else
		printf("%zu images, ", r->images);
	printf("%zu errors, %zu reclaimable", r->n_errors, r->n_garbage);
	if (r->remote)
		printf(", %zu remote layers (lazy)", r->remote);
	if (repair)
		printf(", %llu bytes reclaimed", (unsigned long long)r->reclaimed);
	putchar('\n');
}

static cJSON *report_json(const struct img_fsck_report *r, const char *dir)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "layout", dir);
	cJSON_AddBoolToObject(o, "clean", r->n_errors == 0);
	cJSON_AddNumberToObject(o, "blobs", (double)r->blobs);
	cJSON_AddNumberToObject(o, "bytes", (double)r->bytes);
	cJSON_AddNumberToObject(o, "images", (double)r->images);
	cJSON_AddBoolToObject(o, "writersActive", r->writers_active);
	cJSON_AddNumberToObject(o, "reclaimed", (double)r->reclaimed);
	cJSON_AddNumberToObject(o, "remoteLayers", (double)r->remote);
	if (r->cache)
		cJSON_AddNumberToObject(o, "cacheRecords", (double)r->records);
	cJSON *errs = cJSON_AddArrayToObject(o, "errors");
	cJSON *garb = cJSON_AddArrayToObject(o, "garbage");
	for (size_t i = 0; i < r->n; i++) {
		const struct img_fsck_problem *p = &r->v[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "kind", img_fsck_kind_name(p->kind));
		cJSON_AddStringToObject(e, "object", p->object);
		if (p->detail)
			cJSON_AddStringToObject(e, "message", p->detail);
		if (img_fsck_kind_is_error(p->kind)) {
			cJSON_AddItemToArray(errs, e);
		} else {
			cJSON_AddNumberToObject(e, "size", (double)p->size);
			cJSON_AddBoolToObject(e, "removed", p->removed);
			cJSON_AddItemToArray(garb, e);
		}
	}
	return o;
}

/* fsck of one layout; *rc becomes 1 when it has errors */
static int check(const char *dir, enum img_store_mode mode, bool repair,
		 struct img_fsck_report **out, struct berr **err)
{
	_cleanup_img_store_ struct img_store *s = NULL;
	if (img_store_open(dir, mode, &s, err) < 0)
		return -1;
	struct img_fsck_opts o = { .repair = repair };
	return img_fsck(s, &o, out, err);
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repair", no_argument, NULL, 'r' },
		{ "root", required_argument, NULL, 'R' },
		{ "format", required_argument, NULL, 'F' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	bool repair = false, json = false;
	const char *root = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': repair = true; break;
		case 'R': root = optarg; break;
		case 'F':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") != 0)
				return cli_usage_error(&cmd, "unknown format '%s' (want text or json)", optarg);
			break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc - 1)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind + 1]);
	if (optind < argc && root)
		return cli_usage_error(&cmd, "--root and LAYOUT are mutually exclusive");
	struct berr *err = NULL;
	_cleanup_free_ char *dir = NULL;
	if (optind < argc)
		dir = xstrdup(argv[optind]);
	else if (root)
		dir = xasprintf("%s/images", root);
	else {
		_cleanup_free_ char *r = img_local_root();
		dir = xasprintf("%s/images", r);
	}
	/* berth's own store (not a LAYOUT argument) without oci-layout: a
	 * berth process was killed while creating it (oci-layout is written
	 * last); finish the creation as every other berth command would,
	 * instead of calling the store broken */
	enum img_store_mode mode = IMG_STORE_OPEN;
	struct stat st;
	_cleanup_free_ char *lf = xasprintf("%s/oci-layout", dir);
	if (optind >= argc && stat(dir, &st) == 0 && S_ISDIR(st.st_mode) && lstat(lf, &st) < 0 &&
	    errno == ENOENT)
		mode = IMG_STORE_CREATE;
	struct img_fsck_report *r = NULL, *cr = NULL;
	if (check(dir, mode, repair, &r, &err) < 0)
		return cli_report(err);
	/* berth's own store: the build cache store beside it too (its blobs
	 * and the cache records that reference them), when a build made one */
	_cleanup_free_ char *cdir = NULL;
	if (optind >= argc) {
		_cleanup_free_ char *rt = root ? xstrdup(root) : img_local_root();
		cdir = xasprintf("%s/cache/blobs", rt);
		_cleanup_free_ char *cl = xasprintf("%s/oci-layout", cdir);
		if (lstat(cl, &st) == 0 && check(cdir, IMG_STORE_OPEN, repair, &cr, &err) < 0) {
			img_fsck_report_free(r);
			return cli_report(err);
		}
	}
	if (json) {
		cJSON *o = report_json(r, dir);
		if (cr)
			cJSON_AddItemToObject(o, "cache", report_json(cr, cdir));
		char *txt = cJSON_Print(o);
		puts(txt);
		free(txt);
		cJSON_Delete(o);
	} else {
		print_text(r, dir, repair);
		if (cr)
			print_text(cr, cdir, repair);
	}
	int rc = r->n_errors || (cr && cr->n_errors) ? 1 : 0;
	img_fsck_report_free(r);
	img_fsck_report_free(cr);
	return rc;
}

static const struct cli_command cmd = {
	.name = "fsck",
	.summary = "verify the blobs and references of the local store or an OCI layout",
	.usage = "Usage: berth fsck [OPTIONS] [LAYOUT]\n"
		 "\n"
		 "Check berth's local store ($BERTH_ROOT/images), the store under --root, or\n"
		 "the OCI layout LAYOUT: every blob is re-hashed against its name, index.json\n"
		 "and every index, manifest and config reachable from it are parsed, and every\n"
		 "reference must resolve to a blob of the stated size (foreign layers with\n"
		 "urls may be absent, and so may layers of lazy images whose registry source is\n"
		 "recorded: counted as remote layers). Corrupt blobs, unparseable objects, missing blobs and\n"
		 "size mismatches are errors (exit 1). Unreferenced blobs and stale temp files\n"
		 "of interrupted writes are reclaimable garbage: listed, exit 0.\n"
		 "Without LAYOUT the build cache is checked too: the blobs of its store\n"
		 "(cache/blobs) and the cache records that reference them (a record that does\n"
		 "not parse, or names a missing blob, is an error; blobs no record or image\n"
		 "references are reclaimable).\n"
		 "\n"
		 "Options:\n"
		 "      --repair         remove the garbage (waits for writers to finish);\n"
		 "                       never removes what is referenced or damaged\n"
		 "      --root DIR       check DIR/images instead of $BERTH_ROOT/images\n"
		 "      --format FORMAT  text (default) or json\n"
		 "  -h, --help           show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
