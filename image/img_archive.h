/* Image sources and exports: OCI layout, oci-archive, docker-archive, and
 * berth's local store. Owner: image/ (imgstore).
 *
 * Source syntax (same as skopeo's transports, plus auto-detection):
 *   oci:DIR[:TAG]              OCI image layout directory
 *   oci-archive:FILE[:TAG]     tar of an OCI layout
 *   docker-archive:FILE[:REF]  `docker save` output (legacy or Docker 25+)
 *   DIR or FILE                auto: a directory with oci-layout is oci:,
 *                              a tar with manifest.json is docker-archive:,
 *                              a tar with only oci-layout is oci-archive:
 *   anything else              a reference in berth's local store
 *
 * Archives are read with libarchive in one streaming pass: every member is
 * checked (no absolute names, no "..", no duplicates, no links), blobs are
 * streamed into a content store and verified against their names, small
 * JSON members are kept in memory (capped). No layer is held in memory. */
#ifndef BERTH_IMG_ARCHIVE_H
#define BERTH_IMG_ARCHIVE_H

#include <stdbool.h>
#include "common/berr.h"
#include "image/img_model.h"
#include "image/img_store.h"

enum img_source_kind {
	IMG_SRC_OCI_DIR = 1,
	IMG_SRC_OCI_ARCHIVE,
	IMG_SRC_DOCKER_ARCHIVE,
	IMG_SRC_LOCAL,
};

struct img_source {
	enum img_source_kind kind;
	char *path;   /* directory or file; NULL for IMG_SRC_LOCAL */
	char *ref;    /* tag / reference; NULL when absent */
};
/* Parse a source spec; plain paths are auto-detected by looking at them. */
int img_source_parse(const char *spec, struct img_source *out, struct berr **err);
void img_source_clear(struct img_source *s);
const char *img_source_kind_name(enum img_source_kind k);

/* A resolved single-platform image whose blobs are in `store`. */
struct img_image {
	struct img_store *store;       /* owned when owns_store */
	bool owns_store;
	char *tmpdir;                  /* temp layout removed on free, or NULL */
	char *name;                    /* reference the image was found by, or NULL */
	struct img_descriptor desc;    /* the manifest's descriptor */
	struct img_descriptor index_desc; /* the index it was selected from (digest unset if none) */
	char *manifest_json;           /* exact bytes */
	size_t manifest_len;
	struct img_manifest *manifest;
	char *config_json;             /* exact bytes (ImageID = sha256 of these) */
	size_t config_len;
	struct img_config *config;
	bool docker_manifest;          /* Docker schema2 manifest (else OCI) */
	size_t n_remote;               /* IMG_LOAD_LAZY: layers only in a registry */
};
void img_image_free(struct img_image *img);
static inline void img_image_freep(struct img_image **p) { img_image_free(*p); }
#define _cleanup_img_image_ __attribute__((cleanup(img_image_freep)))

/* Platform selection from an index (nested indexes followed):
 *  - want == NULL: the only entry; else the host's linux/<arch>; else error
 *    listing the platforms available.
 *  - os and architecture must be equal; a wanted variant must be equal
 *    (arm64 without variant counts as v8); entries without platform never
 *    match when there are several.
 *  - Windows: if want->os_version is set, entries whose os.version has the
 *    same major.minor.build win (highest revision first, compared as
 *    numbers); then (wanted build >= 20348) the stable-ABI range, see
 *    img_index_select; entries without os.version come next; entries of
 *    other builds are refused. Without a wanted os.version the first match wins (the
 *    spec's rule). Host compatibility is the compat module's job. */
int img_image_load(struct img_store *s, const struct img_descriptor *desc,
		   const struct img_platform *want, struct img_image **out, struct berr **err);

/* The one platform selector (img_image_load, archives, registry pulls,
 * builds): the index of the entry of x for want, or -1 with err listing
 * the platforms available ("what" names the index in it). Rules: as
 * above, plus for Windows with a wanted os.version (major.minor.build):
 * the same build wins (highest revision); else, for wanted builds >= 20348,
 * the highest entry build in [20348, wanted] (the stable ABI, containerd
 * 1.6.23+/1.7.6+, windows-compat.md 4.3; highest revision within it); else
 * an entry without os.version; entries of other builds are refused. */
long img_index_select(const struct img_index *x, const struct img_platform *want,
		      const char *what, struct berr **err);

/* IMG_LOAD_LAZY: a layer blob missing from the store is accepted when the
 * store records a registry repository for it (a lazy image: berth pull
 * --lazy, a build FROM a registry base); img->n_remote counts them. Read
 * such layers only after img_registry_fetch_layers. */
#define IMG_LOAD_LAZY 0x1u
int img_image_load_flags(struct img_store *s, const struct img_descriptor *desc,
			 const struct img_platform *want, unsigned flags, struct img_image **out,
			 struct berr **err);

/* Open a source. Archives are unpacked into `into` when non-NULL (e.g. the
 * local store, for `berth load`), else into a private temp layout removed
 * by img_image_free. */
int img_image_open(const struct img_source *src, const struct img_platform *want,
		   struct img_store *into, struct img_image **out, struct berr **err);
/* Same with IMG_LOAD_* flags; IMG_LOAD_LAZY applies to store sources
 * (local store, oci:DIR), archives are always complete. */
int img_image_open_flags(const struct img_source *src, const struct img_platform *want,
			 struct img_store *into, unsigned flags, struct img_image **out,
			 struct berr **err);

/* Import every image of an archive into `into` and tag them (RepoTags /
 * index annotations). Returns the references loaded, via names (caller
 * frees each and the array). Used by `berth load`. */
int img_archive_load(const char *path, struct img_store *into, char ***names, size_t *n_names,
		     struct berr **err);

/* Export. tags are references ("foo:1"); may be empty. A lazy image
 * (img->n_remote > 0) is refused: img_image_fetch_remote first.
 *  IMG_SRC_OCI_DIR:        blobs copied (hard-linked when possible) into a
 *                          layout at path (created or extended); index.json
 *                          gets one descriptor per tag (or one untagged)
 *  IMG_SRC_OCI_ARCHIVE:    the same layout as a tar file
 *  IMG_SRC_DOCKER_ARCHIVE: OCI layout + manifest.json (Config, RepoTags,
 *                          Layers as blobs/sha256/...), which
 *                          `docker load` and skopeo read
 * Tar output is deterministic: sorted members, mtime 0, uid/gid 0. */
int img_image_export(const struct img_image *img, enum img_source_kind kind, const char *path,
		     const char *const *tags, size_t n_tags, struct berr **err);

/* Write an image's config and manifest into a store: serializes cfg once,
 * stores those bytes, builds the manifest over `layers` (copied exactly,
 * e.g. foreign base layers keep urls), stores it and fills *out with the
 * manifest descriptor (platform from the config). docker=true writes
 * Docker schema2 media types for manifest and config (refused when a
 * layer is zstd). Blobs of the layers must already be in the store
 * (foreign ones excepted, and lazy ones whose registry source the store
 * records). annotations (may be NULL) go on the manifest. */
int img_image_write(struct img_store *s, const struct img_config *cfg,
		    const struct img_descriptor *layers, size_t n_layers, bool docker,
		    const struct img_kvmap *annotations, struct img_descriptor *out,
		    struct berr **err);

/* "10.0.17763.1040" -> up to 4 numbers in v; returns how many were parsed
 * (0 if malformed). Shared by archive and registry platform selection. */
int img_os_version_parse(const char *s, unsigned long v[4]);

/* Host platform as linux/<GOARCH>[/variant] from uname. */
void img_host_platform(struct img_platform *out);

#endif
