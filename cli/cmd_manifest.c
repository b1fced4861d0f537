/* berth manifest create|push|inspect: multi-platform (and multi-release
 * Windows) manifest lists. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "cli/cli.h"
#include "cli/reg_opts.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_registry.h"
#include "image/img_store.h"

static const struct cli_command cmd;

static bool is_index(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_INDEX) == 0 || strcmp(mt, IMG_MT_DOCKER_LIST) == 0);
}

/* An image from the local store, metadata only: a lazy image's layers
 * stay in their registry (IMG_LOAD_LAZY). */
static int load_light(struct img_store *s, const char *name, const struct img_descriptor *d,
		      struct img_image **out, struct berr **err)
{
	if (is_index(d->media_type))
		return berr_set(err, BERR_INPUT, "'%s' is a manifest list, not an image", name);
	if (img_image_load_flags(s, d, NULL, IMG_LOAD_LAZY, out, err) < 0)
		return berr_wrap(err, "image '%s'", name);
	(*out)->name = xstrdup(name);
	return 0;
}

/* Local name first, else the registry (metadata only, kept in the store). */
static int find_image(struct img_store *s, struct img_registry *reg, const char *ref,
		      struct img_image **out, struct berr **err)
{
	struct img_descriptor d = { 0 };
	struct berr *e2 = NULL;
	if (img_store_tag_resolve(s, ref, &d, &e2) == 0) {
		int rc = load_light(s, ref, &d, out, err);
		img_descriptor_clear(&d);
		return rc;
	}
	if (e2->code != BERR_NOTFOUND) {
		*err = e2;
		return -1;
	}
	berr_free(e2);
	if (img_registry_pull(reg, ref, NULL, s, IMG_PULL_LAZY, out, err) < 0)
		return -1;
	if (img_digest_is_set(&(*out)->index_desc.digest)) {
		img_image_free(*out);
		*out = NULL;
		return berr_set(err, BERR_INPUT, "'%s' is a manifest list, not an image", ref);
	}
	return 0;
}

static int do_create(struct cli_reg *cr, bool amend, int n, char **refs, const char *list)
{
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	struct img_image **imgs = xcalloc((size_t)n + 1, sizeof(*imgs));
	_cleanup_img_index_ struct img_index *old = NULL, *x = NULL;
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT, json = BBUF_INIT;
	struct img_descriptor d = { 0 };
	int rc = 0;
	if (img_local_open(&s, &err) < 0 || cli_reg_client(cr, n ? refs[0] : list, &reg, &err) < 0)
		goto fail;
	struct berr *e2 = NULL;
	if (img_store_tag_resolve(s, list, &d, &e2) == 0) {
		if (!amend) {
			berr_set(&err, BERR_EXISTS,
				 "manifest list '%s' already exists (use --amend to add to it)", list);
			goto fail;
		}
		if (!is_index(d.media_type)) {
			berr_set(&err, BERR_INPUT, "'%s' is an image, not a manifest list", list);
			goto fail;
		}
		_cleanup_free_ char *what = xasprintf("manifest list '%s'", list);
		if (img_store_read_blob(s, &d.digest, d.size, IMG_JSON_MAX, &b, &err) < 0 ||
		    img_index_parse(b.data, b.len, what, &old, &err) < 0)
			goto fail;
	} else if (e2->code != BERR_NOTFOUND) {
		err = e2;
		goto fail;
	} else {
		berr_free(e2);
	}
	for (int i = 0; i < n; i++)
		if (find_image(s, reg, refs[i], &imgs[i], &err) < 0)
			goto fail;
	if (img_index_build((const struct img_image *const *)imgs, (size_t)n, old, &x, &err) < 0 ||
	    img_index_to_json(x, &json, &err) < 0)
		goto fail;
	struct img_descriptor nd = { 0 };
	nd.media_type = x->media_type;
	if (img_store_put_blob(s, json.data, json.len, &nd.digest, &err) < 0)
		goto fail;
	nd.size = (int64_t)json.len;
	if (img_store_tag_set(s, list, &nd, &err) < 0)
		goto fail;
	if (!cr->quiet)
		printf("Created manifest list %s\n", list);
	printf("%s\n", nd.digest.s);
	goto done;
fail:
	rc = cli_report(err);
done:
	for (int i = 0; i < n; i++)
		img_image_free(imgs[i]);
	free(imgs);
	img_descriptor_clear(&d);
	return rc;
}

static int do_push(struct cli_reg *cr, const char *list, const char *ref)
{
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	struct img_descriptor d = { 0 };
	struct img_remote rem = { 0 };
	int rc = 0;
	if (img_remote_parse(ref, &rem, &err) < 0 || img_local_open(&s, &err) < 0 ||
	    img_store_tag_resolve(s, list, &d, &err) < 0)
		goto fail;
	if (!is_index(d.media_type)) {
		berr_set(&err, BERR_INPUT, "'%s' is not a manifest list", list);
		goto fail;
	}
	if (cli_reg_client(cr, ref, &reg, &err) < 0 || img_registry_push(reg, s, &d, &rem, &err) < 0)
		goto fail;
	printf("%s\n", d.digest.s);
	goto done;
fail:
	rc = cli_report(err);
done:
	img_descriptor_clear(&d);
	img_remote_clear(&rem);
	return rc;
}

static int do_inspect(struct cli_reg *cr, const char *ref, bool raw)
{
	struct berr *err = NULL;
	_cleanup_img_store_ struct img_store *s = NULL;
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	struct img_descriptor d = { 0 };
	int rc = 0;
	struct berr *e2 = NULL;
	if (img_local_open(&s, &err) < 0)
		goto fail;
	if (img_store_tag_resolve(s, ref, &d, &e2) == 0) {
		if (img_store_read_blob(s, &d.digest, d.size, IMG_JSON_MAX, &b, &err) < 0)
			goto fail;
	} else {
		if (e2->code != BERR_NOTFOUND) {
			err = e2;
			goto fail;
		}
		berr_free(e2);
		struct img_remote rem;
		if (img_remote_parse(ref, &rem, &err) < 0)
			goto fail;
		int r2 = cli_reg_client(cr, ref, &reg, &err) < 0 ? -1
			 : img_registry_get_manifest(reg, &rem, NULL, &b, &d, &err);
		img_remote_clear(&rem);
		if (r2 < 0)
			goto fail;
	}
	if (raw) {
		fwrite(b.data, 1, b.len, stdout);
		putchar('\n');
	} else {
		cJSON *j = cJSON_ParseWithLength(b.data, b.len);
		char *p = j ? cJSON_Print(j) : NULL;
		printf("%s\n", p ? p : bbuf_str(&b));
		free(p);
		cJSON_Delete(j);
	}
	goto done;
fail:
	rc = cli_report(err);
done:
	img_descriptor_clear(&d);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "amend", no_argument, NULL, 'a' },
		{ "raw", no_argument, NULL, 'r' },
		{ "quiet", no_argument, NULL, 'q' },
		REG_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 2)
		return cli_usage_error(&cmd, "expected a subcommand: create, push or inspect");
	const char *sub = argv[1];
	if (!strcmp(sub, "-h") || !strcmp(sub, "--help")) {
		cli_print_help(&cmd, stdout);
		return 0;
	}
	if (strcmp(sub, "create") != 0 && strcmp(sub, "push") != 0 && strcmp(sub, "inspect") != 0)
		return cli_usage_error(&cmd, "unknown subcommand '%s'", sub);
	_cleanup_cli_reg_ struct cli_reg cr;
	cli_reg_init(&cr);
	bool amend = false, raw = false;
	struct berr *err = NULL;
	int c;
	argc--;
	argv++;
	while ((c = cli_reg_getopt(&cr, argc, argv, "arqu:h", opts, &err)) != -1) {
		switch (c) {
		case REGOPT_BAD_VALUE: return cli_report(err);
		case 'a': amend = true; break;
		case 'r': raw = true; break;
		case 'q': cr.quiet = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	int n = argc - optind, rc;
	if (!strcmp(sub, "create")) {
		if (n < 1)
			rc = cli_usage_error(&cmd, "create: expected LIST [IMAGE...]");
		else if (n < 2 && !amend)
			rc = cli_usage_error(&cmd, "create: expected at least one IMAGE");
		else
			rc = do_create(&cr, amend, n - 1, argv + optind + 1, argv[optind]);
	} else if (!strcmp(sub, "push")) {
		if (n != 1 && n != 2)
			rc = cli_usage_error(&cmd, "push: expected LIST [NAME[:TAG]]");
		else
			rc = do_push(&cr, argv[optind], argv[argc - 1]);
	} else {
		if (n != 1)
			rc = cli_usage_error(&cmd, "inspect: expected one LIST or image reference");
		else
			rc = do_inspect(&cr, argv[optind], raw);
	}
	return rc;
}

static const struct cli_command cmd = {
	.name = "manifest",
	.summary = "create, push and inspect manifest lists (multi-platform images)",
	.usage = "Usage: berth manifest create [--amend] LIST IMAGE...\n"
		 "       berth manifest push [OPTIONS] LIST [NAME[:TAG]]\n"
		 "       berth manifest inspect [--raw] LIST|NAME[:TAG]\n"
		 "\n"
		 "create: write an image index into berth's local store and tag it LIST. Each\n"
		 "IMAGE is a local image, or a registry reference whose manifest and config\n"
		 "are fetched (no layers). Every entry carries platform os, architecture,\n"
		 "variant, os.version and os.features from the image's config. Windows entries\n"
		 "are ordered by descending os.version after the other platforms, so Docker\n"
		 "(first compatible entry) and containerd (highest compatible os.version) pick\n"
		 "the same image for every Windows host build. An image with the same platform\n"
		 "and os.version as an existing entry replaces it. --amend adds to an existing\n"
		 "LIST. The list is a Docker manifest list when every image is a Docker schema2\n"
		 "manifest, else an OCI index.\n"
		 "\n"
		 "push: push LIST (its images first, then the list) as NAME[:TAG] (default: LIST).\n"
		 "\n"
		 "inspect: print a local list or image manifest, else the registry's.\n"
		 "\n"
		 "Options:\n"
		 "  -a, --amend                   add to an existing list\n"
		 "  -r, --raw                     inspect: print the exact bytes\n"
		 "  -q, --quiet                   print only digests\n"
		 REG_OPTIONS_HELP
		 "  -h, --help                    show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
