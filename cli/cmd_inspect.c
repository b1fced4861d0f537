/* berth inspect: show an image from an OCI layout, an archive or the local store. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_registry.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

static const struct cli_command cmd;

static cJSON *platform_json(const struct img_platform *p)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "os", p->os ? p->os : "");
	cJSON_AddStringToObject(o, "architecture", p->architecture ? p->architecture : "");
	if (p->variant)
		cJSON_AddStringToObject(o, "variant", p->variant);
	if (p->os_version)
		cJSON_AddStringToObject(o, "os.version", p->os_version);
	if (p->os_features.n) {
		cJSON *a = cJSON_AddArrayToObject(o, "os.features");
		for (size_t i = 0; i < p->os_features.n; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(p->os_features.v[i]));
	}
	return o;
}

static void add_int(cJSON *o, const char *k, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%lld", (long long)v);
	cJSON_AddItemToObject(o, k, cJSON_CreateRaw(buf));
}

/* A lazy image's layer that is only in a registry: the repositories
 * recorded for it (NULL-terminated, caller frees); NULL when the layer is
 * local or foreign. Nothing is fetched: inspect is metadata only. */
static char **remote_sources(const struct img_image *img, const struct img_descriptor *l)
{
	if (!img->n_remote || img_descriptor_is_foreign(l) || img_store_has_blob(img->store, &l->digest))
		return NULL;
	return img_store_sources(img->store, &l->digest);
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int print_json(const struct img_source *src, const char *spec, const struct img_image *img)
{
	const struct img_manifest *m = img->manifest;
	_cleanup_cjson_ cJSON *cfgj = cJSON_ParseWithLength(img->config_json, img->config_len);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "name", spec);
	cJSON_AddStringToObject(o, "source", img_source_kind_name(src->kind));
	cJSON_AddStringToObject(o, "digest", img->desc.digest.s);
	cJSON_AddStringToObject(o, "mediaType", img->desc.media_type ? img->desc.media_type : "");
	if (img_digest_is_set(&img->index_desc.digest))
		cJSON_AddStringToObject(o, "indexDigest", img->index_desc.digest.s);
	cJSON_AddStringToObject(o, "id", m->config.digest.s);
	if (img->config->created)
		cJSON_AddStringToObject(o, "created", img->config->created);
	if (img->config->author)
		cJSON_AddStringToObject(o, "author", img->config->author);
	cJSON_AddItemToObject(o, "platform", platform_json(&img->config->platform));
	int64_t total = 0;
	cJSON *ls = cJSON_AddArrayToObject(o, "layers");
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "mediaType", l->media_type);
		cJSON_AddStringToObject(e, "digest", l->digest.s);
		add_int(e, "size", l->size);
		cJSON_AddStringToObject(e, "diffID", img->config->diff_ids[i].s);
		if (l->urls.n) {
			cJSON *u = cJSON_AddArrayToObject(e, "urls");
			for (size_t k = 0; k < l->urls.n; k++)
				cJSON_AddItemToArray(u, cJSON_CreateString(l->urls.v[k]));
		}
		char **rs = remote_sources(img, l);
		if (rs) {
			cJSON *u = cJSON_AddArrayToObject(e, "remote");
			for (size_t k = 0; rs[k]; k++)
				cJSON_AddItemToArray(u, cJSON_CreateString(rs[k]));
			strv_free(rs);
		}
		cJSON_AddItemToArray(ls, e);
		total += l->size;
	}
	add_int(o, "size", total);
	if (img->n_remote)
		add_int(o, "remoteLayers", (int64_t)img->n_remote);
	cJSON *c = cJSON_DetachItemFromObjectCaseSensitive(cfgj, "config");
	cJSON_AddItemToObject(o, "config", c ? c : cJSON_CreateObject());
	cJSON *h = cJSON_DetachItemFromObjectCaseSensitive(cfgj, "history");
	cJSON_AddItemToObject(o, "history", h ? h : cJSON_CreateArray());
	cJSON *ann = cJSON_CreateObject();
	for (size_t i = 0; i < m->annotations.n; i++)
		cJSON_AddStringToObject(ann, m->annotations.v[i].key, m->annotations.v[i].value);
	cJSON_AddItemToObject(o, "annotations", ann);
	char *s = cJSON_Print(o);
	cJSON_Delete(o);
	if (!s)
		abort();
	printf("%s\n", s);
	cJSON_free(s);
	return 0;
}

static void print_list(const char *label, const struct img_strlist *l)
{
	if (!l->set && !l->n)
		return;
	printf("  %-13s[", label);
	for (size_t i = 0; i < l->n; i++)
		printf("%s\"%s\"", i ? ", " : "", l->v[i]);
	printf("]\n");
}

static const char *short_type(const char *mt)
{
	int c = img_layer_compression(mt);
	if (c < 0)
		return mt;
	return c == IMG_COMP_NONE ? "tar" : c == IMG_COMP_GZIP ? "tar+gzip" : "tar+zstd";
}

static int print_text(const char *spec, const struct img_image *img)
{
	const struct img_manifest *m = img->manifest;
	const struct img_config *c = img->config;
	_cleanup_free_ char *plat = img_platform_format(&c->platform);
	printf("Name:         %s\n", spec);
	printf("Digest:       %s\n", img->desc.digest.s);
	if (img_digest_is_set(&img->index_desc.digest))
		printf("Index:        %s\n", img->index_desc.digest.s);
	printf("Media type:   %s\n", img->desc.media_type ? img->desc.media_type : "");
	printf("Image ID:     %s\n", m->config.digest.s);
	if (c->created)
		printf("Created:      %s\n", c->created);
	if (c->author)
		printf("Author:       %s\n", c->author);
	printf("Platform:     %s\n", plat);
	if (c->platform.os_version)
		printf("OS version:   %s\n", c->platform.os_version);
	for (size_t i = 0; i < c->platform.os_features.n; i++)
		printf("OS feature:   %s\n", c->platform.os_features.v[i]);
	int64_t total = 0;
	for (size_t i = 0; i < m->n_layers; i++)
		total += m->layers[i].size;
	printf("Layers:       %zu (%lld bytes)", m->n_layers, (long long)total);
	if (img->n_remote)
		printf(", %zu only in a registry (lazy)", img->n_remote);
	printf("\n");
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		char **rs = remote_sources(img, l);
		printf("  %2zu  %s  %12lld  %-9s diff_id %s%s%s%s%s\n", i + 1, l->digest.s,
		       (long long)l->size, short_type(l->media_type), c->diff_ids[i].s,
		       img_descriptor_is_foreign(l) ? "  (foreign)" : "", rs ? "  (remote: " : "",
		       rs ? rs[0] ? rs[0] : "?" : "", rs ? ")" : "");
		strv_free(rs);
		for (size_t k = 0; k < l->urls.n; k++)
			printf("      url %s\n", l->urls.v[k]);
	}
	const struct img_runconfig *r = &c->config;
	if (c->has_config && (r->user || r->env.n || r->entrypoint.set || r->cmd.set || r->working_dir ||
			      r->exposed_ports.n || r->volumes.n || r->labels.n || r->stop_signal ||
			      r->shell.set || r->onbuild.n || r->healthcheck || r->args_escaped)) {
		printf("Config:\n");
		if (r->user)
			printf("  %-13s%s\n", "User:", r->user);
		for (size_t i = 0; i < r->env.n; i++)
			printf("  %-13s%s\n", "Env:", r->env.v[i]);
		print_list("Entrypoint:", &r->entrypoint);
		print_list("Cmd:", &r->cmd);
		if (r->working_dir)
			printf("  %-13s%s\n", "WorkingDir:", r->working_dir);
		for (size_t i = 0; i < r->exposed_ports.n; i++)
			printf("  %-13s%s\n", "ExposedPort:", r->exposed_ports.v[i]);
		for (size_t i = 0; i < r->volumes.n; i++)
			printf("  %-13s%s\n", "Volume:", r->volumes.v[i]);
		for (size_t i = 0; i < r->labels.n; i++)
			printf("  %-13s%s=%s\n", "Label:", r->labels.v[i].key, r->labels.v[i].value);
		if (r->stop_signal)
			printf("  %-13s%s\n", "StopSignal:", r->stop_signal);
		print_list("Shell:", &r->shell);
		for (size_t i = 0; i < r->onbuild.n; i++)
			printf("  %-13s%s\n", "OnBuild:", r->onbuild.v[i]);
		if (r->healthcheck)
			print_list("Healthcheck:", &r->healthcheck->test);
		if (r->args_escaped)
			printf("  %-13strue\n", "ArgsEscaped:");
	}
	if (c->n_history) {
		printf("History:\n");
		for (size_t i = 0; i < c->n_history; i++) {
			const struct img_history *h = &c->history[i];
			printf("  %-20s  %s%s\n", h->created ? h->created : "-",
			       h->created_by ? h->created_by : (h->comment ? h->comment : ""),
			       h->empty_layer ? "  (empty layer)" : "");
		}
	}
	for (size_t i = 0; i < m->annotations.n; i++)
		printf("Annotation:   %s=%s\n", m->annotations.v[i].key, m->annotations.v[i].value);
	return 0;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "platform", required_argument, NULL, 'p' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	const char *platform = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			if (strcmp(optarg, "json") == 0)
				json = true;
			else if (strcmp(optarg, "text") == 0)
				json = false;
			else
				return cli_usage_error(&cmd, "invalid --format '%s' (want text or json)", optarg);
			break;
		case 'p':
			platform = optarg;
			break;
		case 'h':
			cli_print_help(&cmd, stdout);
			return 0;
		default:
			return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind != argc - 1)
		return cli_usage_error(&cmd, "expected exactly one IMAGE");
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
	/* metadata only: a lazy image's layers may stay in their registry */
	if (img_image_open_flags(&src, platform ? &want : NULL, NULL, IMG_LOAD_LAZY, &img, &err) < 0)
		rc = cli_report(err);
	else
		rc = json ? print_json(&src, spec, img) : print_text(spec, img);
	img_image_free(img);
	img_source_clear(&src);
	img_platform_clear(&want);
	return rc;
}

static const struct cli_command cmd = {
	.name = "inspect",
	.summary = "show an image's platform, layers, config and history",
	.usage = "Usage: berth inspect [OPTIONS] IMAGE\n"
		 "\n"
		 "Show an image: manifest digest, platform and os.version, layers with sizes and\n"
		 "media types, config and history. Only metadata is read: the layers of a lazy\n"
		 "image (built FROM a registry base, berth pull --lazy) stay in the registry and\n"
		 "are shown with their descriptor sizes and '(remote: REGISTRY/REPO)'.\n"
		 "\n"
		 "IMAGE is one of:\n"
		 "  oci:DIR[:TAG]              an OCI image layout\n"
		 "  oci-archive:FILE[:TAG]     a tar of an OCI image layout\n"
		 "  docker-archive:FILE[:REF]  a 'docker save' archive\n"
		 "  PATH                       a layout directory or archive, detected\n"
		 "  REF                        a tag or digest in berth's local store\n"
		 "\n"
		 "Options:\n"
		 "  -f, --format text|json     output format (default text; json is documented\n"
		 "                             in docs/inspect-json.md)\n"
		 "      --platform OS[(OS.VERSION)]/ARCH[/VARIANT]\n"
		 "                             platform to pick from a multi-platform index\n"
		 "                             (default: the host's)\n"
		 "  -h, --help                 show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
