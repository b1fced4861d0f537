/* Layer compression pipeline. Owner: image/ (imgstore).
 *
 * One pass, bounded memory: uncompressed tar bytes written into the sink
 * are hashed (diff_id), compressed (gzip: 1 MiB blocks, each one gzip
 * member made by libdeflate with header mtime 0; zstd via libzstd; or none),
 * and the compressed bytes are hashed and counted (digest, size) and passed
 * on to a downstream sink, normally a content store blob writer (which then
 * does the digest hashing itself, once). Nothing holds a whole layer; memory
 * is a few blocks per worker thread.
 *
 *   struct img_layer_blob *lb = img_layer_blob_begin(store, &opts, &err);
 *   struct bsink s = img_layer_blob_sink(lb);
 *   ... bsink_write(&s, tarbytes, n, &err) ...   (e.g. from the tar writer)
 *   img_layer_blob_commit(lb, &info, &err);      (blob now in the store)
 *   img_layer_blob_free(lb);                     (always; aborts if uncommitted)
 */
#ifndef BERTH_IMG_COMPRESS_H
#define BERTH_IMG_COMPRESS_H

#include <stdbool.h>
#include <stdint.h>
#include "common/sink.h"
#include "image/img_digest.h"

struct img_store;

enum img_compression {
	IMG_COMP_NONE = 0,
	IMG_COMP_GZIP,
	IMG_COMP_ZSTD,
};

#define IMG_GZIP_DEFAULT_LEVEL 6
#define IMG_ZSTD_DEFAULT_LEVEL 3

struct img_compress_opts {
	enum img_compression comp;
	int level;   /* 0 = default for the algorithm */
	int threads; /* worker threads; 0 = compress in the caller's thread.
	              * gzip: identical output for every value, 0 included.
	              * zstd: ZSTD_c_nbWorkers, 2 MiB jobs; identical output for
	              * any threads >= 1, different from threads = 0. */
};

/* Media types (static strings). */
#define IMG_MT_OCI_LAYER        "application/vnd.oci.image.layer.v1.tar"
#define IMG_MT_OCI_LAYER_GZIP   "application/vnd.oci.image.layer.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ZSTD   "application/vnd.oci.image.layer.v1.tar+zstd"
#define IMG_MT_OCI_LAYER_ND      "application/vnd.oci.image.layer.nondistributable.v1.tar"
#define IMG_MT_OCI_LAYER_ND_GZIP "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
#define IMG_MT_OCI_LAYER_ND_ZSTD "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
#define IMG_MT_DOCKER_LAYER      "application/vnd.docker.image.rootfs.diff.tar"
#define IMG_MT_DOCKER_LAYER_GZIP "application/vnd.docker.image.rootfs.diff.tar.gzip"
#define IMG_MT_DOCKER_FOREIGN    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip"

/* Layer media type for a compression; docker=true gives Docker schema2
 * names (NULL for zstd: schema2 has no zstd type). */
const char *img_layer_media_type(enum img_compression c, bool docker);
/* Compression named by a layer media type; -1 if not a known layer type. */
int img_layer_compression(const char *media_type);
/* "gzip" | "zstd" | "none" <-> enum; parse fails with BERR_USAGE. */
const char *img_compression_name(enum img_compression c);
int img_compression_parse(const char *name, enum img_compression *out, struct berr **err);
/* Sniff the first bytes of a blob: gzip/zstd magic, else NONE. */
enum img_compression img_compression_sniff(const void *p, size_t n);

struct img_compress_result {
	struct img_digest diff_id;  /* sha256 of the uncompressed stream */
	struct img_digest digest;   /* sha256 of the compressed stream */
	uint64_t size;              /* bytes of the compressed stream */
	uint64_t uncompressed_size;
	enum img_compression comp;
};

/* Generic compressor into any downstream sink (`out` is copied). */
struct img_compressor;
struct img_compressor *img_compressor_new(const struct img_compress_opts *o, struct bsink out,
					  struct berr **err);
/* Sink to write uncompressed bytes into; valid until free. */
struct bsink img_compressor_sink(struct img_compressor *c);
/* Flushes the compressor into the downstream sink and fills r. After
 * finish, writes fail with an error. */
int img_compressor_finish(struct img_compressor *c, struct img_compress_result *r,
			  struct berr **err);
void img_compressor_free(struct img_compressor *c);

/* A compressed layer written straight into a content store. */
struct img_layer_info {
	struct img_compress_result r;
	const char *media_type;       /* OCI media type (static string) */
};
struct img_layer_blob;
struct img_layer_blob *img_layer_blob_begin(struct img_store *store,
					    const struct img_compress_opts *o, struct berr **err);
struct bsink img_layer_blob_sink(struct img_layer_blob *lb);
/* Finish compression and commit the blob (fsync + rename). */
int img_layer_blob_commit(struct img_layer_blob *lb, struct img_layer_info *out,
			  struct berr **err);
/* Frees; an uncommitted blob's temp file is removed. Accepts NULL. */
void img_layer_blob_free(struct img_layer_blob *lb);

#endif
