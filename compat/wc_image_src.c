/* Read os / architecture / os.version of an image stored as an OCI layout
 * directory, an oci-archive or a docker-archive tar: index.json -> manifest
 * -> config (or manifest.json -> config). Every blob read is checked against
 * its sha256 digest.
 *
 * Not image/'s img_image_open: that copies every blob of an archive (the
 * layers: gigabytes for a Windows image) into a layout; this reads the
 * archive once and keeps only its JSON members. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/barchive.h"
#include "common/common.h"
#include "compat/wc.h"
#include "image/img_digest.h"

#define SRC_MAX_JSON (4u << 20)   /* index / manifest / config size cap */
#define SRC_MAX_DEPTH 4           /* nested indexes */
#define SRC_MAX_ENTRIES 100000    /* tar entries scanned */
#define SRC_MAX_KEPT (64u << 20)  /* JSON members kept from one archive, in all */

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

struct tar_file {
	char *name;
	char *data;
	size_t len;
};

struct src {
	const char *path;     /* display name */
	const char *dir;      /* layout directory, or NULL for a tar */
	struct tar_file *files;
	size_t nfiles, cap;
};

static void src_release(struct src *s)
{
	for (size_t i = 0; i < s->nfiles; i++) {
		free(s->files[i].name);
		free(s->files[i].data);
	}
	free(s->files);
}

static const char *clean_name(const char *n)
{
	while (n[0] == '.' && n[1] == '/')
		n += 2;
	while (n[0] == '/')
		n++;
	return n;
}

/* the first bytes of a JSON text: whitespace, then an object or array */
static bool looks_like_json(const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '{' || p[i] == '[')
			return true;
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' && p[i] != '\n')
			return false;
	}
	return true; /* only whitespace so far: keep it, the parser decides */
}

static int tar_load(struct src *s, struct berr **err)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	archive_read_support_filter_all(a);
	if (archive_read_open_filename(a, s->path, 64 * 1024) != ARCHIVE_OK) {
		berr_set(err, BERR_INPUT, "%s: not a readable tar archive: %s", s->path,
			 archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	struct archive_entry *e;
	int rc;
	size_t count = 0, kept = 0;
	while ((rc = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (++count > SRC_MAX_ENTRIES) {
			berr_set(err, BERR_INPUT, "%s: more than %d tar entries", s->path, SRC_MAX_ENTRIES);
			goto fail;
		}
		la_int64_t size = archive_entry_size(e);
		if (archive_entry_filetype(e) != AE_IFREG || size < 0 || (uint64_t)size > SRC_MAX_JSON)
			continue;   /* layers are large and never needed here */
		/* Only JSON is read back (index, manifests, configs): a small
		 * layer is looked at, not kept. */
		char head[256];
		size_t hn = (size_t)size < sizeof(head) ? (size_t)size : sizeof(head);
		if (archive_read_data(a, head, hn) != (la_ssize_t)hn)
			goto truncated;
		if (hn && !looks_like_json(head, hn))
			continue;
		if (kept + (size_t)size > SRC_MAX_KEPT) {
			berr_set(err, BERR_INPUT, "%s: more than %u MiB of JSON members", s->path,
				 SRC_MAX_KEPT >> 20);
			goto fail;
		}
		kept += (size_t)size;
		char *buf = xmalloc((size_t)size + 1);
		memcpy(buf, head, hn);
		if ((size_t)size > hn &&
		    archive_read_data(a, buf + hn, (size_t)size - hn) != (la_ssize_t)size - (la_ssize_t)hn) {
			free(buf);
			goto truncated;
		}
		buf[size] = '\0';
		XGROW(s->files, s->nfiles + 1, s->cap);
		s->files[s->nfiles].name = xstrdup(clean_name(archive_entry_pathname(e)));
		s->files[s->nfiles].data = buf;
		s->files[s->nfiles++].len = (size_t)size;
	}
	if (rc != ARCHIVE_EOF) {
		berr_set(err, BERR_INPUT, "%s: bad tar archive: %s", s->path, archive_error_string(a));
		goto fail;
	}
	archive_read_free(a);
	return 0;
truncated:
	berr_set(err, BERR_INPUT, "%s: truncated tar entry '%s'", s->path, archive_entry_pathname(e));
fail:
	archive_read_free(a);
	return -1;
}

/* Borrowed (tar) or owned-by-b (dir) file contents. Returns 1 found, 0 absent. */
static int src_get(struct src *s, const char *name, struct bbuf *b, const char **data, size_t *len,
		   struct berr **err)
{
	if (s->dir) {
		_cleanup_free_ char *p = NULL;
		if (bpath_join(s->dir, name, &p, err) < 0)
			return -1;
		struct stat st;
		if (stat(p, &st) < 0)
			return 0;
		bbuf_reset(b);
		if (bfile_read_all(p, SRC_MAX_JSON, b, err) < 0)
			return -1;
		*data = bbuf_str(b);
		*len = b->len;
		return 1;
	}
	for (size_t i = 0; i < s->nfiles; i++)
		if (strcmp(s->files[i].name, name) == 0) {
			*data = s->files[i].data;
			*len = s->files[i].len;
			return 1;
		}
	return 0;
}

static bool valid_sha256(const char *digest)
{
	return img_digest_valid(digest);
}

static int verify_sha256(const char *what, const char *hex, const char *data, size_t len,
			 struct berr **err)
{
	struct img_digest got;
	img_digest_bytes(data, len, &got);
	const char *ghex = got.s + strlen("sha256:");
	if (strcmp(ghex, hex) != 0)
		return berr_set(err, BERR_INTEGRITY, "%s: digest mismatch: expected sha256:%s, got sha256:%s",
				what, hex, ghex);
	return 0;
}

/* Read and verify the blob a descriptor points at, parse it as JSON. */
static cJSON *read_blob(struct src *s, const cJSON *desc, const char *what, struct berr **err)
{
	const cJSON *dg = cJSON_GetObjectItemCaseSensitive(desc, "digest");
	if (!cJSON_IsString(dg) || !valid_sha256(dg->valuestring)) {
		berr_set(err, BERR_INPUT, "%s: %s descriptor has no valid sha256 'digest'", s->path, what);
		return NULL;
	}
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", dg->valuestring + 7);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	const char *data;
	size_t len;
	int rc = src_get(s, name, &b, &data, &len, err);
	if (rc < 0)
		return NULL;
	if (rc == 0) {
		berr_set(err, BERR_NOTFOUND, "%s: %s blob '%s' not found", s->path, what, dg->valuestring);
		return NULL;
	}
	const cJSON *sz = cJSON_GetObjectItemCaseSensitive(desc, "size");
	if (cJSON_IsNumber(sz) && sz->valuedouble != (double)len) {
		berr_set(err, BERR_INTEGRITY, "%s: %s blob '%s': size %zu, descriptor says %.0f", s->path,
			 what, dg->valuestring, len, sz->valuedouble);
		return NULL;
	}
	if (verify_sha256(s->path, dg->valuestring + 7, data, len, err) < 0)
		return NULL;
	cJSON *j = cJSON_ParseWithLength(data, len);
	if (!j)
		berr_set(err, BERR_INPUT, "%s: %s blob '%s' is not valid JSON", s->path, what,
			 dg->valuestring);
	return j;
}

static int read_config(struct src *s, const cJSON *cfg, struct wc_image *img, char *desc,
		       size_t desc_len, struct berr **err)
{
	const cJSON *os = cJSON_GetObjectItemCaseSensitive(cfg, "os");
	const cJSON *arch = cJSON_GetObjectItemCaseSensitive(cfg, "architecture");
	const cJSON *ov = cJSON_GetObjectItemCaseSensitive(cfg, "os.version");
	if (!cJSON_IsObject(cfg) || !cJSON_IsString(os))
		return berr_set(err, BERR_INPUT, "%s: image config has no 'os'", s->path);
	snprintf(img->os, sizeof(img->os), "%s", os->valuestring);
	if (cJSON_IsString(arch))
		snprintf(img->arch, sizeof(img->arch), "%s", arch->valuestring);
	if (cJSON_IsString(ov) && *ov->valuestring) {
		struct wc_version v;
		if (wc_version_parse(ov->valuestring, &v, err) < 0)
			return berr_wrap(err, "%s: image config 'os.version'", s->path);
		wc_image_set_version(img, &v);
		snprintf(desc, desc_len, "%s: os.version %s (%s/%s)", s->path, ov->valuestring,
			 img->os, img->arch);
	} else {
		snprintf(desc, desc_len, "%s: %s/%s image without os.version", s->path, img->os, img->arch);
	}
	return 0;
}

static bool is_index(const cJSON *desc)
{
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(desc, "mediaType");
	return cJSON_IsString(mt) && (strstr(mt->valuestring, "image.index") ||
				      strstr(mt->valuestring, "manifest.list"));
}

/* Pick the descriptor to follow: the first Windows one, else the first. */
static const cJSON *pick_manifest(const cJSON *index)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m, *first = NULL;
	if (!cJSON_IsArray(ms))
		return NULL;
	cJSON_ArrayForEach(m, ms) {
		if (!cJSON_IsObject(m))
			continue;
		if (!first)
			first = m;
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(m, "platform");
		const cJSON *os = pl ? cJSON_GetObjectItemCaseSensitive(pl, "os") : NULL;
		if (cJSON_IsString(os) && strcmp(os->valuestring, "windows") == 0)
			return m;
	}
	return first;
}

/* Record the platforms of an index's entries for the runtime models. */
static void collect_entries(const cJSON *index, struct wc_image *img)
{
	const cJSON *ms = cJSON_GetObjectItemCaseSensitive(index, "manifests"), *m;
	img->nentries = 0;
	cJSON_ArrayForEach(m, ms) {
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(m, "platform");
		if (!cJSON_IsObject(pl) || img->nentries >= WC_MAX_ENTRIES)
			continue;
		struct wc_entry *e = &img->entries[img->nentries++];
		memset(e, 0, sizeof(*e));
		const cJSON *os = cJSON_GetObjectItemCaseSensitive(pl, "os");
		const cJSON *arch = cJSON_GetObjectItemCaseSensitive(pl, "architecture");
		const cJSON *ov = cJSON_GetObjectItemCaseSensitive(pl, "os.version");
		e->windows = cJSON_IsString(os) && strcmp(os->valuestring, "windows") == 0;
		if (cJSON_IsString(arch))
			snprintf(e->arch, sizeof(e->arch), "%s", arch->valuestring);
		struct wc_version v;
		if (cJSON_IsString(ov) && wc_version_parse(ov->valuestring, &v, NULL) == 0) {
			e->build = v.build;
			e->rev = v.rev;
		}
	}
}

static int read_oci(struct src *s, const char *index_json, size_t len, struct wc_image *img,
		    char *desc, size_t desc_len, struct berr **err)
{
	_cleanup_cjson_ cJSON *idx = cJSON_ParseWithLength(index_json, len);
	if (!idx || !cJSON_IsObject(idx))
		return berr_set(err, BERR_INPUT, "%s: index.json is not a JSON object", s->path);
	_cleanup_cjson_ cJSON *owned = NULL;
	const cJSON *cur = idx;
	for (int depth = 0; depth < SRC_MAX_DEPTH; depth++) {
		const cJSON *m = pick_manifest(cur);
		collect_entries(cur, img);
		if (!m)
			return berr_set(err, BERR_INPUT, "%s: index has no manifests", s->path);
		/* m points into the previous index, which is freed below */
		bool nested = is_index(m);
		cJSON *blob = read_blob(s, m, nested ? "index" : "manifest", err);
		if (!blob)
			return -1;
		cJSON_Delete(owned);
		owned = blob;
		if (nested || cJSON_GetObjectItemCaseSensitive(blob, "manifests")) {
			cur = blob;
			continue;
		}
		const cJSON *cd = cJSON_GetObjectItemCaseSensitive(blob, "config");
		if (!cJSON_IsObject(cd))
			return berr_set(err, BERR_INPUT, "%s: manifest has no 'config'", s->path);
		_cleanup_cjson_ cJSON *cfg = read_blob(s, cd, "config", err);
		if (!cfg)
			return -1;
		return read_config(s, cfg, img, desc, desc_len, err);
	}
	return berr_set(err, BERR_INPUT, "%s: indexes nested deeper than %d", s->path, SRC_MAX_DEPTH);
}

static int read_docker(struct src *s, const char *mj, size_t len, struct wc_image *img, char *desc,
		       size_t desc_len, struct berr **err)
{
	_cleanup_cjson_ cJSON *m = cJSON_ParseWithLength(mj, len);
	const cJSON *first = cJSON_IsArray(m) ? cJSON_GetArrayItem(m, 0) : NULL;
	const cJSON *cfgname = first ? cJSON_GetObjectItemCaseSensitive(first, "Config") : NULL;
	if (!cJSON_IsString(cfgname))
		return berr_set(err, BERR_INPUT, "%s: manifest.json has no 'Config' entry", s->path);
	const char *name = clean_name(cfgname->valuestring);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	const char *data;
	size_t dlen;
	int rc = src_get(s, name, &b, &data, &dlen, err);
	if (rc < 0)
		return -1;
	if (rc == 0)
		return berr_set(err, BERR_NOTFOUND, "%s: config '%s' not found", s->path, name);
	/* docker save names the config after its digest: <hex>.json or blobs/sha256/<hex> */
	const char *base = strrchr(name, '/') ? strrchr(name, '/') + 1 : name;
	char hex[65] = "";
	if (strlen(base) >= 64) {
		snprintf(hex, sizeof(hex), "%.64s", base);
		const char *rest = base + 64;
		_cleanup_free_ char *dg = xasprintf("sha256:%s", hex);
		if ((!*rest || strcmp(rest, ".json") == 0) && valid_sha256(dg) &&
		    verify_sha256(s->path, hex, data, dlen, err) < 0)
			return -1;
	}
	_cleanup_cjson_ cJSON *cfg = cJSON_ParseWithLength(data, dlen);
	if (!cfg)
		return berr_set(err, BERR_INPUT, "%s: config '%s' is not valid JSON", s->path, name);
	return read_config(s, cfg, img, desc, desc_len, err);
}

int wc_image_src_read(const char *path, struct wc_image *img, char *desc, size_t desc_len,
		      struct berr **err)
{
	static const char *const prefixes[] = { "oci:", "oci-archive:", "docker-archive:" };
	for (size_t i = 0; i < ARRAY_SIZE(prefixes); i++)
		if (strncmp(path, prefixes[i], strlen(prefixes[i])) == 0)
			path += strlen(prefixes[i]);
	memset(img, 0, sizeof(*img));
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_set_errno(err, BERR_INPUT, errno, "image '%s'", path);
	struct src s = { .path = path };
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	int rc = -1;
	if (S_ISDIR(st.st_mode)) {
		s.dir = path;
	} else if (tar_load(&s, err) < 0) {
		goto out;
	}
	const char *data;
	size_t len;
	int found = src_get(&s, "index.json", &b, &data, &len, err);
	if (found < 0)
		goto out;
	if (found) {
		rc = read_oci(&s, data, len, img, desc, desc_len, err);
		goto out;
	}
	found = src_get(&s, "manifest.json", &b, &data, &len, err);
	if (found < 0)
		goto out;
	if (found) {
		rc = read_docker(&s, data, len, img, desc, desc_len, err);
		goto out;
	}
	berr_set(err, BERR_INPUT, "%s: neither an OCI layout (index.json) nor a docker archive "
		 "(manifest.json)", path);
out:
	src_release(&s);
	return rc;
}
