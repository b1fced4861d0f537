/* Image sources (OCI layout, oci-archive, docker-archive, local store),
 * platform selection and exports. Outer tars go through libarchive,
 * streaming: blobs pass member -> hash -> content store. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "common/barchive.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_registry.h"
#include "parser/df_ref.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)
DEFINE_CLEANUP_FUNC(struct archive *, archive_read_free)
#define _cleanup_archive_read_ _cleanup_(archive_read_free_ptr)

/* Limits on hostile archives. */
#define IMG_ARCHIVE_MAX_MEMBERS 100000
#define IMG_ARCHIVE_MAX_IMAGES 1000
#define IMG_INDEX_MAX_DEPTH 4
#define IMG_ARCHIVE_BLOCK (128u << 10)

/* ---------- sources ---------- */

const char *img_source_kind_name(enum img_source_kind k)
{
	switch (k) {
	case IMG_SRC_OCI_DIR: return "oci";
	case IMG_SRC_OCI_ARCHIVE: return "oci-archive";
	case IMG_SRC_DOCKER_ARCHIVE: return "docker-archive";
	case IMG_SRC_LOCAL: return "local";
	}
	return "unknown";
}

void img_source_clear(struct img_source *s)
{
	free(s->path);
	free(s->ref);
	memset(s, 0, sizeof(*s));
}

/* Member names of a tar decide docker-archive vs oci-archive. */
static int sniff_archive(const char *path, enum img_source_kind *kind, struct berr **err)
{
	_cleanup_archive_read_ struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, path, IMG_ARCHIVE_BLOCK) != ARCHIVE_OK)
		return berr_set(err, BERR_INPUT, "'%s': not a tar archive: %s", path,
				archive_error_string(a));
	bool manifest = false, layout = false;
	struct archive_entry *e;
	int r, n = 0;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK && n++ < IMG_ARCHIVE_MAX_MEMBERS) {
		const char *name = archive_entry_pathname(e);
		if (name && strncmp(name, "./", 2) == 0)
			name += 2;
		if (name && strcmp(name, "manifest.json") == 0)
			manifest = true;
		if (name && strcmp(name, "oci-layout") == 0)
			layout = true;
	}
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK)
		return berr_set(err, BERR_INPUT, "'%s': not a tar archive: %s", path,
				archive_error_string(a));
	if (manifest)
		*kind = IMG_SRC_DOCKER_ARCHIVE;
	else if (layout)
		*kind = IMG_SRC_OCI_ARCHIVE;
	else
		return berr_set(err, BERR_INPUT,
				"'%s': neither a docker-archive (no manifest.json) nor an oci-archive "
				"(no oci-layout)", path);
	return 0;
}

int img_source_parse(const char *spec, struct img_source *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	static const struct { const char *prefix; enum img_source_kind kind; } tr[] = {
		{ "oci-archive:", IMG_SRC_OCI_ARCHIVE },
		{ "docker-archive:", IMG_SRC_DOCKER_ARCHIVE },
		{ "oci:", IMG_SRC_OCI_DIR },
	};
	for (size_t i = 0; i < ARRAY_SIZE(tr); i++) {
		size_t n = strlen(tr[i].prefix);
		if (strncmp(spec, tr[i].prefix, n) != 0)
			continue;
		const char *rest = spec + n;
		const char *colon = strchr(rest, ':');
		out->kind = tr[i].kind;
		out->path = colon ? xstrndup(rest, (size_t)(colon - rest)) : xstrdup(rest);
		out->ref = colon && colon[1] ? xstrdup(colon + 1) : NULL;
		if (!*out->path) {
			img_source_clear(out);
			return berr_set(err, BERR_USAGE, "'%s': missing path", spec);
		}
		return 0;
	}
	struct stat st;
	if (stat(spec, &st) == 0) {
		out->path = xstrdup(spec);
		if (S_ISDIR(st.st_mode)) {
			_cleanup_free_ char *l = xasprintf("%s/oci-layout", spec);
			if (access(l, F_OK) != 0) {
				img_source_clear(out);
				return berr_set(err, BERR_INPUT, "'%s' is a directory but not an OCI image "
					       "layout (no oci-layout file)", spec);
			}
			out->kind = IMG_SRC_OCI_DIR;
			return 0;
		}
		if (sniff_archive(spec, &out->kind, err) < 0) {
			img_source_clear(out);
			return -1;
		}
		return 0;
	}
	out->kind = IMG_SRC_LOCAL;
	out->ref = xstrdup(spec);
	return 0;
}

/* ---------- platform selection ---------- */

void img_host_platform(struct img_platform *out)
{
	memset(out, 0, sizeof(*out));
	struct utsname u;
	const char *m = uname(&u) == 0 ? u.machine : "x86_64";
	static const struct { const char *m, *arch, *variant; } tab[] = {
		{ "x86_64", "amd64", NULL }, { "aarch64", "arm64", NULL },
		{ "armv7l", "arm", "v7" }, { "armv6l", "arm", "v6" }, { "i686", "386", NULL },
		{ "ppc64le", "ppc64le", NULL }, { "s390x", "s390x", NULL },
		{ "riscv64", "riscv64", NULL },
	};
	out->os = xstrdup("linux");
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strcmp(m, tab[i].m) == 0) {
			out->architecture = xstrdup(tab[i].arch);
			out->variant = tab[i].variant ? xstrdup(tab[i].variant) : NULL;
			return;
		}
	out->architecture = xstrdup(m);
}

int img_os_version_parse(const char *s, unsigned long v[4])
{
	int n = 0;
	memset(v, 0, 4 * sizeof(*v));
	while (s && *s && n < 4) {
		char *end;
		errno = 0;
		unsigned long x = strtoul(s, &end, 10);
		if (end == s || errno)
			return 0;
		v[n++] = x;
		if (*end == '.')
			s = end + 1;
		else if (*end == '\0')
			break;
		else
			return 0;
	}
	return n;
}

static bool variant_eq(const char *arch, const char *a, const char *b)
{
	if (a && b)
		return strcmp(a, b) == 0;
	/* arm64 without variant is v8 */
	const char *set = a ? a : b;
	if (!set)
		return true;
	return arch && strcmp(arch, "arm64") == 0 && strcmp(set, "v8") == 0;
}

/* Windows builds from this one on keep a stable container ABI: a host of
 * build B runs images of builds 20348..B (containerd's matcher since
 * 1.6.23/1.7.6, windows-compat.md 4.3). */
#define IMG_WIN_STABLE_ABI_BUILD 20348UL

long img_index_select(const struct img_index *x, const struct img_platform *want,
		      const char *what, struct berr **err)
{
	struct img_platform host = { 0 };
	if (!want) {
		if (x->n_manifests == 1)
			return 0;
		img_host_platform(&host);
		want = &host;
	}
	long best = -1;
	unsigned long best_key[3] = { 0, 0, 0 };
	unsigned long wv[4];
	int wn = want->os_version ? img_os_version_parse(want->os_version, wv) : 0;
	bool win = want->os && strcmp(want->os, "windows") == 0;
	for (size_t i = 0; i < x->n_manifests; i++) {
		const struct img_platform *p = x->manifests[i].platform;
		if (!p || !p->os || !p->architecture || !want->os || !want->architecture)
			continue;
		if (strcmp(p->os, want->os) != 0 || strcmp(p->architecture, want->architecture) != 0)
			continue;
		if (want->variant && !variant_eq(p->architecture, p->variant, want->variant))
			continue;
		unsigned long key[3] = { 1, 0, 0 }; /* rank, build, revision */
		if (win && wn >= 3) {
			unsigned long pv[4];
			int pn = p->os_version ? img_os_version_parse(p->os_version, pv) : 0;
			if (pn == 0)
				key[0] = 1; /* no os.version (HostProcess images): a fallback */
			else if (pn < 3 || pv[0] != wv[0] || pv[1] != wv[1])
				continue;
			else if (pv[2] == wv[2])
				key[0] = 3, key[2] = pv[3];
			else if (wv[2] >= IMG_WIN_STABLE_ABI_BUILD && pv[2] >= IMG_WIN_STABLE_ABI_BUILD &&
				 pv[2] < wv[2])
				key[0] = 2, key[1] = pv[2], key[2] = pv[3];
			else
				continue;
		}
		/* a strictly greater key wins; equal keys: the first entry (the
		 * spec's rule) */
		bool better = best < 0;
		for (int k = 0; k < 3 && !better; k++) {
			if (key[k] != best_key[k]) {
				better = key[k] > best_key[k];
				break;
			}
		}
		if (better) {
			best = (long)i;
			memcpy(best_key, key, sizeof(key));
		}
	}
	if (best < 0) {
		struct bbuf avail = BBUF_INIT;
		for (size_t i = 0; i < x->n_manifests; i++) {
			const struct img_platform *p = x->manifests[i].platform;
			_cleanup_free_ char *f = p ? img_platform_format(p) : xstrdup("unknown");
			bbuf_addf(&avail, NULL, "%s%s%s%s%s", i ? ", " : "", f,
				  p && p->os_version ? " (" : "", p && p->os_version ? p->os_version : "",
				  p && p->os_version ? ")" : "");
		}
		_cleanup_free_ char *w = img_platform_format(want);
		berr_set(err, BERR_NOTFOUND, "%s: no image for platform '%s%s%s' (available: %s)", what,
			 w, want->os_version ? " os.version " : "",
			 want->os_version ? want->os_version : "",
			 x->n_manifests ? bbuf_str(&avail) : "none");
		bbuf_release(&avail);
	}
	img_platform_clear(&host);
	return best;
}

/* ---------- loading an image from a store ---------- */

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static void rm_rf(const char *dir)
{
	nftw(dir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

void img_image_free(struct img_image *img)
{
	if (!img)
		return;
	if (img->owns_store)
		img_store_free(img->store);
	if (img->tmpdir)
		rm_rf(img->tmpdir); /* private temp layout of an archive source */
	free(img->name);
	img_descriptor_clear(&img->desc);
	img_descriptor_clear(&img->index_desc);
	free(img->manifest_json);
	img_manifest_free(img->manifest);
	free(img->config_json);
	img_config_free(img->config);
	free(img->tmpdir);
	free(img);
}

static bool is_index_type(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_INDEX) == 0 || strcmp(mt, IMG_MT_DOCKER_LIST) == 0);
}

static bool is_manifest_type(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_MANIFEST) == 0 || strcmp(mt, IMG_MT_DOCKER_MANIFEST) == 0);
}

static int load_manifest(struct img_store *s, const struct img_descriptor *desc,
			 const struct img_platform *want, unsigned flags, int depth,
			 struct img_image *img, struct berr **err)
{
	if (depth > IMG_INDEX_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "indexes nested deeper than %d", IMG_INDEX_MAX_DEPTH);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (img_store_read_blob(s, &desc->digest, desc->size, IMG_JSON_MAX, &b, err) < 0)
		return -1;
	_cleanup_free_ char *what = xasprintf("manifest '%s'", desc->digest.s);
	const char *mt = desc->media_type;
	if (!is_index_type(mt) && !is_manifest_type(mt))
		mt = img_json_kind(b.data, b.len); /* unknown/missing: decide by content */
	if (is_index_type(mt)) {
		free(what);
		what = xasprintf("index '%s'", desc->digest.s);
		_cleanup_img_index_ struct img_index *x = NULL;
		if (img_index_parse(b.data, b.len, what, &x, err) < 0)
			return -1;
		long i = img_index_select(x, want, what, err);
		if (i < 0)
			return -1;
		if (!img_digest_is_set(&img->index_desc.digest))
			img_descriptor_copy(&img->index_desc, desc);
		return load_manifest(s, &x->manifests[i], want, flags, depth + 1, img, err);
	}
	if (!is_manifest_type(mt))
		return berr_set(err, BERR_UNSUPPORTED, "%s: media type '%s' is not an image manifest",
				what, desc->media_type ? desc->media_type : "(none)");
	if (img_manifest_parse(b.data, b.len, what, &img->manifest, err) < 0)
		return -1;
	img_descriptor_clear(&img->desc);
	img_descriptor_copy(&img->desc, desc);
	img->manifest_json = bbuf_detach(&b, &img->manifest_len);
	const struct img_manifest *m = img->manifest;
	img->docker_manifest = (m->media_type && strcmp(m->media_type, IMG_MT_DOCKER_MANIFEST) == 0) ||
			       (!m->media_type && strcmp(mt, IMG_MT_DOCKER_MANIFEST) == 0);
	_cleanup_bbuf_ struct bbuf cb = BBUF_INIT;
	if (img_store_read_blob(s, &m->config.digest, m->config.size, IMG_JSON_MAX, &cb, err) < 0)
		return berr_wrap(err, "%s", what);
	_cleanup_free_ char *cwhat = xasprintf("config '%s'", m->config.digest.s);
	if (img_config_parse(cb.data, cb.len, cwhat, &img->config, err) < 0)
		return -1;
	img->config_json = bbuf_detach(&cb, &img->config_len);
	if (img->config->n_diff_ids != m->n_layers)
		return berr_set(err, BERR_INPUT, "%s has %zu layers but its config has %zu diff_ids",
				what, m->n_layers, img->config->n_diff_ids);
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		if (l->size == 0)
			return berr_set(err, BERR_INPUT,
					"%s: layer %zu ('%s') is empty (0 bytes), not a tar archive",
					what, i, l->digest.s);
		if (img_descriptor_is_foreign(l) || img_store_has_blob(s, &l->digest))
			continue;
		/* a lazy image's layer lives in the registry it was pulled from */
		if ((flags & IMG_LOAD_LAZY) && img_store_has_source(s, &l->digest)) {
			img->n_remote++;
			continue;
		}
		return berr_set(err, BERR_NOTFOUND, "%s: layer %zu blob '%s' is missing", what, i,
				l->digest.s);
	}
	return 0;
}

int img_image_load(struct img_store *s, const struct img_descriptor *desc,
		   const struct img_platform *want, struct img_image **out, struct berr **err)
{
	return img_image_load_flags(s, desc, want, 0, out, err);
}

int img_image_load_flags(struct img_store *s, const struct img_descriptor *desc,
			 const struct img_platform *want, unsigned flags, struct img_image **out,
			 struct berr **err)
{
	struct img_image *img = xcalloc(1, sizeof(*img));
	img->store = s;
	if (load_manifest(s, desc, want, flags, 0, img, err) < 0) {
		img_image_free(img);
		return -1;
	}
	*out = img;
	return 0;
}

/* ---------- archive import ---------- */

struct member {
	char *name;
	char *link;            /* symlink/hardlink target (cleaned), or NULL */
	struct img_digest digest;
	int64_t size;
};

struct importer {
	const char *path;
	struct img_store *store;
	struct member *m;
	size_t n, cap;
	struct bbuf manifest_json, index_json, layout;
	bool has_manifest, has_index, has_layout;
};

static void importer_clear(struct importer *im)
{
	for (size_t i = 0; i < im->n; i++) {
		free(im->m[i].name);
		free(im->m[i].link);
	}
	free(im->m);
	bbuf_release(&im->manifest_json);
	bbuf_release(&im->index_json);
	bbuf_release(&im->layout);
}

static int member_cmp(const void *a, const void *b)
{
	return strcmp(((const struct member *)a)->name, ((const struct member *)b)->name);
}

static const struct member *find_member(const struct importer *im, const char *name)
{
	struct member key = { .name = (char *)name };
	return bsearch(&key, im->m, im->n, sizeof(*im->m), member_cmp);
}

/* Follow links (bounded), return the regular member or NULL with err. */
static const struct member *resolve_member(const struct importer *im, const char *name,
					   const char *what, struct berr **err)
{
	_cleanup_free_ char *clean = bpath_clean(name);
	const struct member *m = find_member(im, clean);
	for (int hops = 0; m && m->link && hops < 8; hops++)
		m = find_member(im, m->link);
	if (!m || m->link) {
		berr_set(err, BERR_NOTFOUND, "'%s': %s '%s' is missing from the archive", im->path, what,
			 name);
		return NULL;
	}
	if (!img_digest_is_set(&m->digest)) {
		/* index.json, legacy <id>/json...: not stored as blobs */
		berr_set(err, BERR_INPUT, "'%s': member '%s' cannot be used as the %s", im->path, name,
			 what);
		return NULL;
	}
	return m;
}

static int check_member_name(const char *archive, const char *raw, char **clean, struct berr **err)
{
	if (!raw || !*raw)
		return berr_set(err, BERR_INPUT, "'%s': archive member without a name", archive);
	if (raw[0] == '/')
		return berr_set(err, BERR_SECURITY, "'%s': archive member '%s' has an absolute path",
				archive, raw);
	for (const char *p = raw; *p;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (n == 2 && p[0] == '.' && p[1] == '.')
			return berr_set(err, BERR_SECURITY, "'%s': archive member '%s' escapes with '..'",
					archive, raw);
		if (!e)
			break;
		p = e + 1;
	}
	*clean = bpath_clean(raw);
	return 0;
}

struct archive_sink_ctx {
	struct archive *a;
};

static int read_member_into(struct importer *im, struct archive *a, const char *name,
			    const struct bsink *out, struct berr **err)
{
	for (;;) {
		const void *buf;
		size_t size;
		la_int64_t off;
		int r = archive_read_data_block(a, &buf, &size, &off);
		if (r == ARCHIVE_EOF)
			return 0;
		if (r != ARCHIVE_OK)
			return berr_set(err, BERR_INPUT, "'%s': reading member '%s': %s", im->path, name,
					archive_error_string(a));
		if (size && bsink_write(out, buf, size, err) < 0)
			return -1;
	}
}

static int buf_sink_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	return bbuf_add(ctx, p, n, err);
}

static int import_stream(struct importer *im, struct berr **err)
{
	_cleanup_archive_read_ struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	if (archive_read_open_filename(a, im->path, IMG_ARCHIVE_BLOCK) != ARCHIVE_OK)
		return berr_set(err, BERR_INPUT, "'%s': cannot read archive: %s", im->path,
				archive_error_string(a));
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK) {
		if (im->n >= IMG_ARCHIVE_MAX_MEMBERS)
			return berr_set(err, BERR_LIMIT, "'%s': more than %d members", im->path,
					IMG_ARCHIVE_MAX_MEMBERS);
		_cleanup_free_ char *name = NULL;
		if (check_member_name(im->path, archive_entry_pathname(e), &name, err) < 0)
			return -1;
		mode_t type = archive_entry_filetype(e);
		if (type == AE_IFDIR || strcmp(name, ".") == 0)
			continue;
		XGROW(im->m, im->n + 1, im->cap);
		struct member *m = &im->m[im->n];
		memset(m, 0, sizeof(*m));
		const char *hl = archive_entry_hardlink(e);
		if (hl || type == AE_IFLNK) {
			const char *target = hl ? hl : archive_entry_symlink(e);
			if (!target || !*target || target[0] == '/')
				return berr_set(err, BERR_SECURITY, "'%s': link '%s' has a bad target",
						im->path, name);
			_cleanup_free_ char *joined = NULL;
			if (hl) {
				joined = xstrdup(target);
			} else {
				const char *slash = strrchr(name, '/');
				joined = slash ? xasprintf("%.*s/%s", (int)(slash - name), name, target)
					       : xstrdup(target);
			}
			if (!bpath_is_contained(joined))
				return berr_set(err, BERR_SECURITY,
						"'%s': link '%s' -> '%s' points outside the archive",
						im->path, name, target);
			m->link = bpath_clean(joined);
			m->name = steal_pointer(&name);
			im->n++;
			continue;
		}
		if (type != AE_IFREG)
			return berr_set(err, BERR_INPUT, "'%s': member '%s' has an unsupported type",
					im->path, name);
		int64_t size = archive_entry_size(e);
		struct bbuf *small = NULL;
		bool *flag = NULL;
		if (strcmp(name, "manifest.json") == 0)
			small = &im->manifest_json, flag = &im->has_manifest;
		else if (strcmp(name, "index.json") == 0)
			small = &im->index_json, flag = &im->has_index;
		else if (strcmp(name, "oci-layout") == 0)
			small = &im->layout, flag = &im->has_layout;
		if (small) {
			if (*flag)
				return berr_set(err, BERR_INPUT, "'%s': duplicate member '%s'", im->path, name);
			*flag = true;
			small->limit = IMG_JSON_MAX;
			struct bsink sk = { buf_sink_write, small };
			if (read_member_into(im, a, name, &sk, err) < 0)
				return berr_wrap(err, "'%s': member '%s'", im->path, name);
			m->name = steal_pointer(&name);
			m->size = size;
			im->n++;
			continue;
		}
		/* Legacy per-layer metadata is not needed (loaders follow manifest.json). */
		const char *base = strrchr(name, '/');
		base = base ? base + 1 : name;
		if (strchr(name, '/') && strncmp(name, "blobs/", 6) != 0 &&
		    (strcmp(base, "json") == 0 || strcmp(base, "VERSION") == 0)) {
			m->name = steal_pointer(&name);
			m->size = size;
			im->n++;
			continue;
		}
		struct img_digest expect, *expectp = NULL;
		if (strncmp(name, "blobs/sha256/", 13) == 0) {
			if (img_digest_from_hex(name + 13, &expect, NULL) < 0)
				return berr_set(err, BERR_INPUT, "'%s': blob member '%s' is not named by "
						"its sha256", im->path, name);
			expectp = &expect;
		} else if (strncmp(name, "blobs/", 6) == 0) {
			return berr_set(err, BERR_UNSUPPORTED, "'%s': blob '%s' uses an unsupported "
					"digest algorithm", im->path, name);
		}
		struct img_blob_writer *w = img_blob_writer_new(im->store, err);
		if (!w)
			return -1;
		struct bsink sk = img_blob_writer_sink(w);
		uint64_t got = 0;
		int rc = read_member_into(im, a, name, &sk, err);
		if (rc == 0)
			rc = img_blob_writer_commit(w, expectp, &m->digest, &got, err);
		img_blob_writer_free(w);
		if (rc < 0)
			return berr_wrap(err, "'%s': member '%s'", im->path, name);
		m->size = (int64_t)got;
		m->name = steal_pointer(&name);
		im->n++;
	}
	if (r != ARCHIVE_EOF)
		return berr_set(err, BERR_INPUT, "'%s': corrupt archive: %s", im->path,
				archive_error_string(a));
	qsort(im->m, im->n, sizeof(*im->m), member_cmp);
	for (size_t i = 1; i < im->n; i++)
		if (strcmp(im->m[i - 1].name, im->m[i].name) == 0)
			return berr_set(err, BERR_INPUT, "'%s': duplicate member '%s'", im->path,
					im->m[i].name);
	return 0;
}

/* One image found in an archive. */
struct found {
	struct img_descriptor desc;   /* manifest (or index) descriptor */
	struct img_strlist names;     /* full references */
};

static void found_clear(struct found *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		img_descriptor_clear(&f[i].desc);
		img_strlist_clear(&f[i].names);
	}
	free(f);
}

/* Build a manifest from a docker-archive manifest.json entry. */
static int synth_manifest(struct importer *im, const cJSON *ent, size_t idx, struct found *f,
			  struct berr **err)
{
	char what[64];
	snprintf(what, sizeof(what), "manifest.json[%zu]", idx);
	const cJSON *cfgp = cJSON_GetObjectItemCaseSensitive(ent, "Config");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(ent, "Layers");
	if (!cJSON_IsString(cfgp))
		return berr_set(err, BERR_INPUT, "'%s': %s: field 'Config' must be a string", im->path, what);
	if (!cJSON_IsArray(layers))
		return berr_set(err, BERR_INPUT, "'%s': %s: field 'Layers' must be an array", im->path, what);
	const struct member *cm = resolve_member(im, cfgp->valuestring, "config", err);
	if (!cm)
		return -1;
	_cleanup_bbuf_ struct bbuf cb = BBUF_INIT;
	if (img_store_read_blob(im->store, &cm->digest, cm->size, IMG_JSON_MAX, &cb, err) < 0)
		return -1;
	_cleanup_img_config_ struct img_config *cfg = NULL;
	_cleanup_free_ char *cwhat = xasprintf("'%s': config '%s'", im->path, cfgp->valuestring);
	if (img_config_parse(cb.data, cb.len, cwhat, &cfg, err) < 0)
		return -1;
	size_t nl = (size_t)cJSON_GetArraySize(layers);
	if (nl != cfg->n_diff_ids)
		return berr_set(err, BERR_INPUT, "'%s': %s lists %zu layers but the config has %zu "
				"diff_ids", im->path, what, nl, cfg->n_diff_ids);
	_cleanup_img_manifest_ struct img_manifest *m = img_manifest_new();
	bool any_zstd = false;
	size_t i = 0;
	for (const cJSON *l = layers->child; l; l = l->next, i++) {
		if (!cJSON_IsString(l))
			return berr_set(err, BERR_INPUT, "'%s': %s: Layers[%zu] must be a string",
					im->path, what, i);
		const struct member *lm = resolve_member(im, l->valuestring, "layer", err);
		if (!lm)
			return -1;
		if (lm->size == 0)
			return berr_set(err, BERR_INPUT, "'%s': layer '%s' is empty (0 bytes), not a tar "
					"archive", im->path, l->valuestring);
		unsigned char magic[4] = { 0 };
		_cleanup_free_ char *bp = img_store_blob_path(im->store, &lm->digest);
		_cleanup_close_ int fd = open(bp, O_RDONLY | O_CLOEXEC);
		ssize_t got = fd >= 0 ? read(fd, magic, sizeof(magic)) : -1;
		enum img_compression c = img_compression_sniff(magic, got > 0 ? (size_t)got : 0);
		if (c == IMG_COMP_NONE && !img_digest_equal(&lm->digest, &cfg->diff_ids[i]))
			return berr_set(err, BERR_INTEGRITY, "'%s': layer '%s' hashes to '%s' but the "
					"config's diff_id is '%s'", im->path, l->valuestring,
					lm->digest.s, cfg->diff_ids[i].s);
		any_zstd |= c == IMG_COMP_ZSTD;
		struct img_descriptor d = { 0 };
		d.media_type = xstrdup(img_layer_media_type(c, true) ? img_layer_media_type(c, true)
								     : img_layer_media_type(c, false));
		d.digest = lm->digest;
		d.size = lm->size;
		img_manifest_add_layer(m, &d);
		img_descriptor_clear(&d);
	}
	if (any_zstd) {
		m->media_type = xstrdup(IMG_MT_OCI_MANIFEST);
		for (size_t k = 0; k < m->n_layers; k++) {
			int c = img_layer_compression(m->layers[k].media_type);
			free(m->layers[k].media_type);
			m->layers[k].media_type = xstrdup(img_layer_media_type((enum img_compression)c, false));
		}
	} else {
		m->media_type = xstrdup(IMG_MT_DOCKER_MANIFEST);
	}
	m->config.media_type = xstrdup(any_zstd ? IMG_MT_OCI_CONFIG : IMG_MT_DOCKER_CONFIG);
	m->config.digest = cm->digest;
	m->config.size = cm->size;
	_cleanup_bbuf_ struct bbuf mb = BBUF_INIT;
	if (img_manifest_to_json(m, &mb, err) < 0)
		return -1;
	f->desc.media_type = xstrdup(m->media_type);
	f->desc.size = (int64_t)mb.len;
	if (img_store_put_blob(im->store, mb.data, mb.len, &f->desc.digest, err) < 0)
		return -1;
	const cJSON *tags = cJSON_GetObjectItemCaseSensitive(ent, "RepoTags");
	if (tags && !cJSON_IsNull(tags) && !cJSON_IsArray(tags))
		return berr_set(err, BERR_INPUT, "'%s': %s: field 'RepoTags' must be an array", im->path,
				what);
	for (const cJSON *t = tags ? tags->child : NULL; t; t = t->next) {
		struct df_ref *r = NULL;
		if (!cJSON_IsString(t) || df_ref_parse_normalized(t->valuestring, &r, err) < 0)
			return berr_wrap(err, "'%s': %s: RepoTags", im->path, what);
		df_ref_tag_name_only(r);
		char *full = df_ref_string(r);
		img_strlist_add(&f->names, full);
		free(full);
		df_ref_free(r);
	}
	return 0;
}

static int import_finish(struct importer *im, enum img_source_kind kind, struct found **out,
			 size_t *n_out, struct berr **err)
{
	struct found *f = NULL;
	size_t n = 0;
	if (im->has_layout && (kind == IMG_SRC_OCI_ARCHIVE || im->has_index)) {
		cJSON *lj = cJSON_ParseWithLength(im->layout.data, im->layout.len);
		const cJSON *v = cJSON_GetObjectItemCaseSensitive(lj, "imageLayoutVersion");
		bool ok = cJSON_IsString(v) && strcmp(v->valuestring, "1.0.0") == 0;
		cJSON_Delete(lj);
		if (!ok)
			return berr_set(err, BERR_UNSUPPORTED, "'%s': oci-layout is not version 1.0.0",
					im->path);
		if (!im->has_index)
			return berr_set(err, BERR_INPUT, "'%s': OCI layout without index.json", im->path);
		_cleanup_img_index_ struct img_index *x = NULL;
		_cleanup_free_ char *what = xasprintf("'%s': index.json", im->path);
		if (img_index_parse(im->index_json.data, im->index_json.len, what, &x, err) < 0)
			return -1;
		f = xcalloc(x->n_manifests ? x->n_manifests : 1, sizeof(*f));
		for (size_t i = 0; i < x->n_manifests; i++, n++) {
			const struct img_descriptor *d = &x->manifests[i];
			img_descriptor_copy(&f[n].desc, d);
			if (!img_store_has_blob(im->store, &d->digest)) {
				found_clear(f, n + 1);
				return berr_set(err, BERR_NOTFOUND, "'%s': index.json entry %zu points at "
						"missing blob '%s'", im->path, i, d->digest.s);
			}
			const char *cn = img_kvmap_get(&d->annotations, IMG_ANN_CONTAINERD_NAME);
			const char *rn = img_kvmap_get(&d->annotations, IMG_ANN_REF_NAME);
			struct df_ref *r = NULL;
			struct berr *ignored = NULL;
			const char *nm = cn ? cn : (rn && (strchr(rn, ':') || strchr(rn, '/')) ? rn : NULL);
			if (nm && df_ref_parse_normalized(nm, &r, &ignored) == 0) {
				df_ref_tag_name_only(r);
				char *full = df_ref_string(r);
				img_strlist_add(&f[n].names, full);
				free(full);
				df_ref_free(r);
			}
			berr_free(ignored);
		}
	} else if (im->has_manifest) {
		_cleanup_free_ char *what = xasprintf("'%s': manifest.json", im->path);
		if (img_json_validate(im->manifest_json.data, im->manifest_json.len, what, err) < 0)
			return -1;
		_cleanup_cjson_ cJSON *j = cJSON_ParseWithLength(im->manifest_json.data,
								  im->manifest_json.len);
		if (!cJSON_IsArray(j))
			return berr_set(err, BERR_INPUT, "'%s': manifest.json is not a JSON array", im->path);
		size_t cnt = (size_t)cJSON_GetArraySize(j);
		if (cnt > IMG_ARCHIVE_MAX_IMAGES)
			return berr_set(err, BERR_LIMIT, "'%s': manifest.json lists more than %d images",
					im->path, IMG_ARCHIVE_MAX_IMAGES);
		f = xcalloc(cnt ? cnt : 1, sizeof(*f));
		for (const cJSON *e = j->child; e; e = e->next, n++) {
			if (!cJSON_IsObject(e) || synth_manifest(im, e, n, &f[n], err) < 0) {
				if (!cJSON_IsObject(e))
					berr_set(err, BERR_INPUT, "'%s': manifest.json[%zu] is not an object",
						 im->path, n);
				found_clear(f, n + 1);
				return -1;
			}
		}
	} else {
		return berr_set(err, BERR_INPUT, "'%s': no manifest.json or oci-layout in archive",
				im->path);
	}
	if (n == 0) {
		found_clear(f, n);
		return berr_set(err, BERR_NOTFOUND, "'%s': the archive holds no images", im->path);
	}
	*out = f;
	*n_out = n;
	return 0;
}

static int import_archive(const char *path, enum img_source_kind kind, struct img_store *store,
			  struct found **out, size_t *n, struct berr **err)
{
	struct importer im = { .path = path, .store = store };
	int rc = import_stream(&im, err);
	if (rc == 0)
		rc = import_finish(&im, kind, out, n, err);
	importer_clear(&im);
	return rc;
}

static bool found_matches(const struct found *f, const char *ref)
{
	const char *rn = img_kvmap_get(&f->desc.annotations, IMG_ANN_REF_NAME);
	if (rn && strcmp(rn, ref) == 0)
		return true;
	struct df_ref *r = NULL;
	struct berr *ignored = NULL;
	bool hit = false;
	if (df_ref_parse_normalized(ref, &r, &ignored) == 0) {
		df_ref_tag_name_only(r);
		_cleanup_free_ char *full = df_ref_string(r);
		for (size_t i = 0; i < f->names.n; i++)
			hit |= strcmp(f->names.v[i], full) == 0;
		df_ref_free(r);
	}
	berr_free(ignored);
	if (!hit && strncmp(ref, "sha256:", 7) == 0)
		hit = strcmp(f->desc.digest.s, ref) == 0;
	return hit;
}

int img_image_open(const struct img_source *src, const struct img_platform *want,
		   struct img_store *into, struct img_image **out, struct berr **err)
{
	return img_image_open_flags(src, want, into, 0, out, err);
}

int img_image_open_flags(const struct img_source *src, const struct img_platform *want,
			 struct img_store *into, unsigned flags, struct img_image **out,
			 struct berr **err)
{
	struct img_store *s = NULL;
	bool owns = false;
	char *tmpdir = NULL;
	struct img_descriptor desc = { 0 };
	int rc = -1;
	if (src->kind == IMG_SRC_OCI_DIR || src->kind == IMG_SRC_LOCAL) {
		if (src->kind == IMG_SRC_OCI_DIR) {
			if (img_store_open(src->path, IMG_STORE_OPEN, &s, err) < 0)
				return -1;
			owns = true;
		} else if (into) {
			s = into;
		} else {
			if (img_local_open(&s, err) < 0)
				return -1;
			owns = true;
		}
		if (img_store_tag_resolve(s, src->ref, &desc, err) < 0)
			goto out;
	} else {
		if (into) {
			s = into;
		} else {
			const char *t = getenv("TMPDIR");
			tmpdir = xasprintf("%s/berth-img.XXXXXX", t && *t ? t : "/tmp");
			if (!mkdtemp(tmpdir)) {
				berr_set_errno(err, BERR_IO, errno, "create temporary directory");
				free(tmpdir);
				return -1;
			}
			if (img_store_open(tmpdir, IMG_STORE_CREATE, &s, err) < 0)
				goto out;
			owns = true;
		}
		struct found *f = NULL;
		size_t n = 0;
		if (import_archive(src->path, src->kind, s, &f, &n, err) < 0)
			goto out;
		long hit = -1;
		if (!src->ref) {
			if (n == 1)
				hit = 0;
			else
				berr_set(err, BERR_INPUT, "'%s' holds %zu images: name one with :REF",
					 src->path, n);
		} else {
			for (size_t i = 0; i < n && hit < 0; i++)
				if (found_matches(&f[i], src->ref))
					hit = (long)i;
			if (hit < 0)
				berr_set(err, BERR_NOTFOUND, "image '%s' not found in '%s'", src->ref,
					 src->path);
		}
		if (hit >= 0) {
			img_descriptor_copy(&desc, &f[hit].desc);
			if (into)
				for (size_t k = 0; k < f[hit].names.n; k++)
					if (img_store_tag_set(s, f[hit].names.v[k], &desc, err) < 0)
						hit = -1;
		}
		found_clear(f, n);
		if (hit < 0)
			goto out;
	}
	struct img_image *img = NULL;
	/* archives are complete by construction: only stores can be lazy */
	if (src->kind != IMG_SRC_OCI_DIR && src->kind != IMG_SRC_LOCAL)
		flags &= ~IMG_LOAD_LAZY;
	if (img_image_load_flags(s, &desc, want, flags, &img, err) < 0)
		goto out;
	img->owns_store = owns;
	img->tmpdir = tmpdir;
	img->name = src->ref ? xstrdup(src->ref) : NULL;
	owns = false;
	tmpdir = NULL;
	*out = img;
	rc = 0;
out:
	img_descriptor_clear(&desc);
	if (owns)
		img_store_free(s);
	if (tmpdir) {
		rm_rf(tmpdir);
		free(tmpdir);
	}
	return rc;
}

int img_archive_load(const char *path, struct img_store *into, char ***names, size_t *n_names,
		     struct berr **err)
{
	enum img_source_kind kind;
	if (sniff_archive(path, &kind, err) < 0)
		return -1;
	struct found *f = NULL;
	size_t n = 0;
	if (import_archive(path, kind, into, &f, &n, err) < 0)
		return -1;
	char **out = NULL;
	size_t k = 0;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		/* check the image is loadable (config, layers present) before tagging */
		struct img_image *img = NULL;
		if (img_image_load(into, &f[i].desc, NULL, &img, err) < 0) {
			if (!is_index_type(f[i].desc.media_type)) {
				rc = -1;
				break;
			}
			berr_clear(err); /* multi-platform index without a host match: keep it */
		}
		img_image_free(img);
		if (f[i].names.n == 0) {
			if (img_store_tag_set_raw(into, NULL, NULL, &f[i].desc, err) < 0) {
				rc = -1;
				break;
			}
			out = xreallocarray(out, k + 1, sizeof(*out));
			out[k++] = xstrdup(f[i].desc.digest.s);
		}
		for (size_t t = 0; t < f[i].names.n; t++) {
			if (img_store_tag_set(into, f[i].names.v[t], &f[i].desc, err) < 0) {
				rc = -1;
				break;
			}
			out = xreallocarray(out, k + 1, sizeof(*out));
			out[k++] = xstrdup(f[i].names.v[t]);
		}
	}
	found_clear(f, n);
	if (rc < 0) {
		for (size_t i = 0; i < k; i++)
			free(out[i]);
		free(out);
		return -1;
	}
	*names = out;
	*n_names = k;
	return 0;
}

/* ---------- export ---------- */

DEFINE_CLEANUP_FUNC(struct archive *, archive_write_free)
#define _cleanup_archive_write_ _cleanup_(archive_write_free_ptr)

/* Blobs an image export needs: config, layers (foreign ones only when
 * present), manifest. Sorted by digest, unique. */
struct blobset {
	const struct img_descriptor **v;
	size_t n;
};

static int desc_digest_cmp(const void *a, const void *b)
{
	const struct img_descriptor *x = *(const struct img_descriptor *const *)a;
	const struct img_descriptor *y = *(const struct img_descriptor *const *)b;
	return strcmp(x->digest.s, y->digest.s);
}

static int collect_blobs(const struct img_image *img, bool need_foreign, struct blobset *bs,
			 struct berr **err)
{
	const struct img_manifest *m = img->manifest;
	bs->v = xcalloc(m->n_layers + 2, sizeof(*bs->v));
	bs->n = 0;
	bs->v[bs->n++] = &img->desc;
	bs->v[bs->n++] = &m->config;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		if (img_descriptor_is_foreign(l) && !img_store_has_blob(img->store, &l->digest)) {
			if (need_foreign)
				return berr_set(err, BERR_NOTFOUND,
						"foreign layer '%s' is not in the store; a docker-archive "
						"needs its bytes", l->digest.s);
			continue; /* non-distributable: referenced by urls, not shipped */
		}
		bs->v[bs->n++] = l;
	}
	qsort(bs->v, bs->n, sizeof(*bs->v), desc_digest_cmp);
	size_t k = 0;
	for (size_t i = 0; i < bs->n; i++)
		if (k == 0 || strcmp(bs->v[k - 1]->digest.s, bs->v[i]->digest.s) != 0)
			bs->v[k++] = bs->v[i];
	bs->n = k;
	return 0;
}

/* Tag for an index.json descriptor: a bare word is an OCI ref.name; a
 * reference with ':' or '/' also gets the full io.containerd.image.name. */
static int export_tag(struct img_store *dst, const char *tag, const struct img_descriptor *d,
		      struct berr **err)
{
	if (!strchr(tag, ':') && !strchr(tag, '/') && !strchr(tag, '@'))
		return img_store_tag_set_raw(dst, tag, NULL, d, err);
	return img_store_tag_set(dst, tag, d, err);
}

static int export_oci_dir(const struct img_image *img, const char *path, const char *const *tags,
			  size_t n_tags, struct berr **err)
{
	_cleanup_img_store_ struct img_store *dst = NULL;
	if (img_store_open(path, IMG_STORE_CREATE, &dst, err) < 0)
		return -1;
	struct blobset bs;
	int rc = collect_blobs(img, false, &bs, err);
	for (size_t i = 0; rc == 0 && i < bs.n; i++)
		rc = img_store_copy_blob(dst, img->store, bs.v[i], err);
	free(bs.v);
	if (rc < 0)
		return -1;
	struct img_descriptor d;
	img_descriptor_copy(&d, &img->desc);
	img_kvmap_clear(&d.annotations);
	if (d.platform) {
		img_platform_clear(d.platform);
		free(d.platform);
		d.platform = NULL;
	}
	/* index.json platform from the config (os.version for Windows) */
	d.platform = xcalloc(1, sizeof(*d.platform));
	img_platform_copy(d.platform, &img->config->platform);
	for (size_t i = 0; rc == 0 && i < n_tags; i++)
		rc = export_tag(dst, tags[i], &d, err);
	if (rc == 0 && n_tags == 0)
		rc = img_store_tag_set_raw(dst, NULL, NULL, &d, err);
	img_descriptor_clear(&d);
	return rc;
}

static int tar_add_file_header(struct archive *a, const char *name, int64_t size, bool dir,
			       struct berr **err)
{
	struct archive_entry *e = archive_entry_new();
	archive_entry_set_pathname(e, name);
	archive_entry_set_filetype(e, dir ? AE_IFDIR : AE_IFREG);
	archive_entry_set_perm(e, dir ? 0755 : 0644);
	archive_entry_set_size(e, dir ? 0 : size);
	archive_entry_set_mtime(e, 0, 0);
	archive_entry_set_uid(e, 0);
	archive_entry_set_gid(e, 0);
	int r = archive_write_header(a, e);
	archive_entry_free(e);
	if (r != ARCHIVE_OK)
		return berr_set(err, BERR_IO, "write archive member '%s': %s", name,
				archive_error_string(a));
	return 0;
}

static int tar_add_bytes(struct archive *a, const char *name, const void *p, size_t n,
			 struct berr **err)
{
	if (tar_add_file_header(a, name, (int64_t)n, false, err) < 0)
		return -1;
	if (n && archive_write_data(a, p, n) != (la_ssize_t)n)
		return berr_set(err, BERR_IO, "write archive member '%s': %s", name,
				archive_error_string(a));
	return 0;
}

static int archive_sink_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct archive *a = ctx;
	if (archive_write_data(a, p, n) != (la_ssize_t)n)
		return berr_set(err, BERR_IO, "write archive: %s", archive_error_string(a));
	return 0;
}

static int tar_add_blob(struct archive *a, struct img_store *s, const struct img_descriptor *d,
			struct berr **err)
{
	_cleanup_free_ char *name = xasprintf("blobs/sha256/%s", img_digest_hex(&d->digest));
	if (tar_add_file_header(a, name, d->size, false, err) < 0)
		return -1;
	struct bsink sk = { archive_sink_write, a };
	return img_store_blob_to_sink(s, d, &sk, err);
}

static char *docker_manifest_json(const struct img_image *img, const char *const *tags,
				  size_t n_tags, struct berr **err)
{
	cJSON *arr = cJSON_CreateArray();
	cJSON *o = cJSON_CreateObject();
	cJSON_AddItemToArray(arr, o);
	_cleanup_free_ char *cfg = xasprintf("blobs/sha256/%s", img_digest_hex(&img->manifest->config.digest));
	cJSON_AddItemToObject(o, "Config", cJSON_CreateString(cfg));
	cJSON *rt = cJSON_CreateArray();
	for (size_t i = 0; i < n_tags; i++) {
		struct df_ref *r = NULL;
		if (df_ref_parse_normalized(tags[i], &r, err) < 0) {
			cJSON_Delete(arr);
			return NULL;
		}
		df_ref_tag_name_only(r);
		char *fam = df_ref_familiar(r);
		cJSON_AddItemToArray(rt, cJSON_CreateString(fam));
		free(fam);
		df_ref_free(r);
	}
	cJSON_AddItemToObject(o, "RepoTags", rt);
	cJSON *ls = cJSON_CreateArray();
	for (size_t i = 0; i < img->manifest->n_layers; i++) {
		_cleanup_free_ char *l = xasprintf("blobs/sha256/%s",
						   img_digest_hex(&img->manifest->layers[i].digest));
		cJSON_AddItemToArray(ls, cJSON_CreateString(l));
	}
	cJSON_AddItemToObject(o, "Layers", ls);
	char *s = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	if (!s)
		abort();
	char *copy = xstrdup(s);
	cJSON_free(s);
	return copy;
}

static int export_archive(const struct img_image *img, bool docker, const char *path,
			  const char *const *tags, size_t n_tags, struct berr **err)
{
	if (docker && img->config->platform.os == NULL)
		return berr_set(err, BERR_INPUT, "image config has no os");
	/* index.json for the archive: one entry per tag, both annotations */
	_cleanup_img_index_ struct img_index *x = img_index_new();
	struct img_descriptor d;
	img_descriptor_copy(&d, &img->desc);
	img_kvmap_clear(&d.annotations);
	if (!d.platform) {
		d.platform = xcalloc(1, sizeof(*d.platform));
		img_platform_copy(d.platform, &img->config->platform);
	}
	for (size_t i = 0; i < n_tags; i++) {
		struct img_descriptor t;
		img_descriptor_copy(&t, &d);
		if (!strchr(tags[i], ':') && !strchr(tags[i], '/') && !docker) {
			img_kvmap_set(&t.annotations, IMG_ANN_REF_NAME, tags[i]);
		} else {
			struct df_ref *r = NULL;
			if (df_ref_parse_normalized(tags[i], &r, err) < 0) {
				img_descriptor_clear(&t);
				img_descriptor_clear(&d);
				return -1;
			}
			char *ref_tag = r->tag ? xstrdup(r->tag) : NULL;
			df_ref_tag_name_only(r);
			char *full = df_ref_string(r);
			img_kvmap_set(&t.annotations, IMG_ANN_CONTAINERD_NAME, full);
			img_kvmap_set(&t.annotations, IMG_ANN_REF_NAME, ref_tag ? ref_tag : "latest");
			free(full);
			free(ref_tag);
			df_ref_free(r);
		}
		img_index_add(x, &t);
		img_descriptor_clear(&t);
	}
	if (n_tags == 0)
		img_index_add(x, &d);
	img_descriptor_clear(&d);
	_cleanup_bbuf_ struct bbuf ij = BBUF_INIT;
	if (img_index_to_json(x, &ij, err) < 0)
		return -1;
	_cleanup_free_ char *mj = NULL;
	if (docker && !(mj = docker_manifest_json(img, tags, n_tags, err)))
		return -1;
	struct blobset bs;
	if (collect_blobs(img, docker, &bs, err) < 0) {
		free(bs.v);
		return -1;
	}
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		free(bs.v);
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", tmp);
	}
	_cleanup_archive_write_ struct archive *a = archive_write_new();
	archive_write_set_format_pax_restricted(a);
	int rc = 0;
	if (archive_write_open_fd(a, fd) != ARCHIVE_OK)
		rc = berr_set(err, BERR_IO, "write '%s': %s", tmp, archive_error_string(a));
	/* fixed member order: blobs/, blobs/sha256/, blobs by digest, index.json,
	 * manifest.json, oci-layout */
	if (rc == 0)
		rc = tar_add_file_header(a, "blobs/", 0, true, err);
	if (rc == 0)
		rc = tar_add_file_header(a, "blobs/sha256/", 0, true, err);
	for (size_t i = 0; rc == 0 && i < bs.n; i++)
		rc = tar_add_blob(a, img->store, bs.v[i], err);
	if (rc == 0)
		rc = tar_add_bytes(a, "index.json", ij.data, ij.len, err);
	if (rc == 0 && docker)
		rc = tar_add_bytes(a, "manifest.json", mj, strlen(mj), err);
	if (rc == 0)
		rc = tar_add_bytes(a, "oci-layout", IMG_OCI_LAYOUT_JSON,
				   sizeof(IMG_OCI_LAYOUT_JSON) - 1, err);
	if (rc == 0 && archive_write_close(a) != ARCHIVE_OK)
		rc = berr_set(err, BERR_IO, "write '%s': %s", tmp, archive_error_string(a));
	free(bs.v);
	if (rc == 0 && fchmod(fd, 0644) < 0)
		rc = berr_set_errno(err, BERR_IO, errno, "chmod '%s'", tmp);
	if (rc == 0 && fsync(fd) < 0)
		rc = berr_set_errno(err, BERR_IO, errno, "fsync '%s'", tmp);
	if (close(fd) < 0 && rc == 0)
		rc = berr_set_errno(err, BERR_IO, errno, "close '%s'", tmp);
	if (rc == 0 && rename(tmp, path) < 0)
		rc = berr_set_errno(err, BERR_IO, errno, "rename '%s' to '%s'", tmp, path);
	if (rc < 0)
		unlink(tmp);
	return rc;
}

int img_image_export(const struct img_image *img, enum img_source_kind kind, const char *path,
		     const char *const *tags, size_t n_tags, struct berr **err)
{
	/* checked before anything is created at path */
	if (img->n_remote)
		return berr_set(err, BERR_INTERNAL,
				"manifest '%s': %zu layers are only in a registry (fetch them first)",
				img->desc.digest.s, img->n_remote);
	switch (kind) {
	case IMG_SRC_OCI_DIR:
		return export_oci_dir(img, path, tags, n_tags, err);
	case IMG_SRC_OCI_ARCHIVE:
		return export_archive(img, false, path, tags, n_tags, err);
	case IMG_SRC_DOCKER_ARCHIVE:
		return export_archive(img, true, path, tags, n_tags, err);
	default:
		return berr_set(err, BERR_USAGE, "cannot export to '%s'", img_source_kind_name(kind));
	}
}

/* ---------- writing an image ---------- */

int img_image_write(struct img_store *s, const struct img_config *cfg,
		    const struct img_descriptor *layers, size_t n_layers, bool docker,
		    const struct img_kvmap *annotations, struct img_descriptor *out,
		    struct berr **err)
{
	if (cfg->n_diff_ids != n_layers)
		return berr_set(err, BERR_INTERNAL, "image has %zu layers but %zu diff_ids", n_layers,
				cfg->n_diff_ids);
	_cleanup_img_manifest_ struct img_manifest *m = img_manifest_new();
	for (size_t i = 0; i < n_layers; i++) {
		const struct img_descriptor *l = &layers[i];
		/* absent but with a recorded registry source: a lazy base layer */
		if (!img_descriptor_is_foreign(l) && !img_store_has_blob(s, &l->digest) &&
		    !img_store_has_source(s, &l->digest))
			return berr_set(err, BERR_NOTFOUND, "layer %zu blob '%s' is not in the store", i,
					l->digest.s);
		if (docker && img_layer_compression(l->media_type) == IMG_COMP_ZSTD)
			return berr_set(err, BERR_UNSUPPORTED,
					"Docker schema2 has no zstd layer type: use an OCI manifest");
		struct img_descriptor d;
		img_descriptor_copy(&d, l);
		if (docker || !img_descriptor_is_foreign(l)) {
			/* convert the flavour consistently; foreign layers keep theirs in OCI */
			int c = img_layer_compression(l->media_type);
			if (c >= 0 && !img_descriptor_is_foreign(l)) {
				free(d.media_type);
				d.media_type = xstrdup(img_layer_media_type((enum img_compression)c, docker));
			} else if (docker && img_descriptor_is_foreign(l)) {
				free(d.media_type);
				d.media_type = xstrdup(IMG_MT_DOCKER_FOREIGN);
			}
		}
		if (d.platform) {
			img_platform_clear(d.platform);
			free(d.platform);
			d.platform = NULL;
		}
		img_manifest_add_layer(m, &d);
		img_descriptor_clear(&d);
	}
	_cleanup_bbuf_ struct bbuf cj = BBUF_INIT;
	if (img_config_to_json(cfg, &cj, err) < 0)
		return -1;
	m->media_type = xstrdup(docker ? IMG_MT_DOCKER_MANIFEST : IMG_MT_OCI_MANIFEST);
	m->config.media_type = xstrdup(docker ? IMG_MT_DOCKER_CONFIG : IMG_MT_OCI_CONFIG);
	m->config.size = (int64_t)cj.len;
	if (img_store_put_blob(s, cj.data, cj.len, &m->config.digest, err) < 0)
		return -1;
	if (annotations && !docker)
		img_kvmap_copy(&m->annotations, annotations);
	_cleanup_bbuf_ struct bbuf mj = BBUF_INIT;
	if (img_manifest_to_json(m, &mj, err) < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(m->media_type);
	out->size = (int64_t)mj.len;
	if (img_store_put_blob(s, mj.data, mj.len, &out->digest, err) < 0) {
		img_descriptor_clear(out);
		return -1;
	}
	out->platform = xcalloc(1, sizeof(*out->platform));
	img_platform_copy(out->platform, &cfg->platform);
	return 0;
}
