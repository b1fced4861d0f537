/* One-pass layer pipeline: hash(diff_id) -> compress -> hash(digest)+count
 * -> downstream sink. Memory is bounded by one output buffer plus the
 * compressor's own state (zstd workers keep a few MiB each). */
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#include "common/common.h"
#include "image/img_compress.h"
#include "image/img_store.h"

/* Compressed bytes are handed downstream in chunks of this size. */
#define IMG_COMPRESS_BUF (256u << 10)
#define IMG_ZSTD_MAX_THREADS 64

struct img_compressor {
	struct img_compress_opts o;
	struct bsink out;
	struct img_hasher *h_in, *h_out;
	uint64_t in_bytes, out_bytes;
	z_stream z;
	bool z_init;
	ZSTD_CCtx *zc;
	unsigned char *buf;
	size_t blen;
	bool finished, failed;
};

const char *img_layer_media_type(enum img_compression c, bool docker)
{
	switch (c) {
	case IMG_COMP_NONE: return docker ? IMG_MT_DOCKER_LAYER : IMG_MT_OCI_LAYER;
	case IMG_COMP_GZIP: return docker ? IMG_MT_DOCKER_LAYER_GZIP : IMG_MT_OCI_LAYER_GZIP;
	case IMG_COMP_ZSTD: return docker ? NULL : IMG_MT_OCI_LAYER_ZSTD;
	}
	return NULL;
}

int img_layer_compression(const char *mt)
{
	static const struct { const char *mt; int c; } tab[] = {
		{ IMG_MT_OCI_LAYER, IMG_COMP_NONE },
		{ IMG_MT_OCI_LAYER_GZIP, IMG_COMP_GZIP },
		{ IMG_MT_OCI_LAYER_ZSTD, IMG_COMP_ZSTD },
		{ IMG_MT_OCI_LAYER_ND, IMG_COMP_NONE },
		{ IMG_MT_OCI_LAYER_ND_GZIP, IMG_COMP_GZIP },
		{ IMG_MT_OCI_LAYER_ND_ZSTD, IMG_COMP_ZSTD },
		{ IMG_MT_DOCKER_LAYER, IMG_COMP_NONE },
		{ IMG_MT_DOCKER_LAYER_GZIP, IMG_COMP_GZIP },
		{ IMG_MT_DOCKER_FOREIGN, IMG_COMP_GZIP },
		{ "application/vnd.docker.image.rootfs.diff.tar.zstd", IMG_COMP_ZSTD },
	};
	if (!mt)
		return -1;
	for (size_t i = 0; i < ARRAY_SIZE(tab); i++)
		if (strcmp(mt, tab[i].mt) == 0)
			return tab[i].c;
	return -1;
}

const char *img_compression_name(enum img_compression c)
{
	switch (c) {
	case IMG_COMP_NONE: return "none";
	case IMG_COMP_GZIP: return "gzip";
	case IMG_COMP_ZSTD: return "zstd";
	}
	return "unknown";
}

int img_compression_parse(const char *name, enum img_compression *out, struct berr **err)
{
	if (strcmp(name, "gzip") == 0)
		*out = IMG_COMP_GZIP;
	else if (strcmp(name, "zstd") == 0)
		*out = IMG_COMP_ZSTD;
	else if (strcmp(name, "none") == 0 || strcmp(name, "uncompressed") == 0)
		*out = IMG_COMP_NONE;
	else
		return berr_set(err, BERR_USAGE, "unknown compression '%s' (want gzip, zstd or none)", name);
	return 0;
}

enum img_compression img_compression_sniff(const void *p, size_t n)
{
	const unsigned char *b = p;
	if (n >= 2 && b[0] == 0x1f && b[1] == 0x8b)
		return IMG_COMP_GZIP;
	if (n >= 4 && b[0] == 0x28 && b[1] == 0xb5 && b[2] == 0x2f && b[3] == 0xfd)
		return IMG_COMP_ZSTD;
	return IMG_COMP_NONE;
}

/* Compressed bytes: hash, count, pass downstream. */
static int emit(struct img_compressor *c, const void *p, size_t n, struct berr **err)
{
	if (n == 0)
		return 0;
	img_hasher_update(c->h_out, p, n);
	c->out_bytes += n;
	if (bsink_write(&c->out, p, n, err) < 0) {
		c->failed = true;
		return -1;
	}
	return 0;
}

static int flush_buf(struct img_compressor *c, struct berr **err)
{
	int r = emit(c, c->buf, c->blen, err);
	c->blen = 0;
	return r;
}

static int gzip_run(struct img_compressor *c, const void *p, size_t n, int flush, struct berr **err)
{
	c->z.next_in = (Bytef *)(uintptr_t)p;
	c->z.avail_in = 0;
	size_t left = n;
	for (;;) {
		if (c->z.avail_in == 0 && left > 0) {
			/* avail_in is a uInt: feed huge writes in slices */
			uInt take = left > (1u << 30) ? (1u << 30) : (uInt)left;
			c->z.avail_in = take;
			left -= take;
		}
		c->z.next_out = c->buf + c->blen;
		c->z.avail_out = (uInt)(IMG_COMPRESS_BUF - c->blen);
		int zr = deflate(&c->z, (left > 0) ? Z_NO_FLUSH : flush);
		if (zr == Z_STREAM_ERROR)
			return berr_set(err, BERR_INTERNAL, "gzip: deflate failed");
		c->blen = IMG_COMPRESS_BUF - c->z.avail_out;
		if (c->blen == IMG_COMPRESS_BUF && flush_buf(c, err) < 0)
			return -1;
		if (flush == Z_FINISH && left == 0) {
			if (zr == Z_STREAM_END)
				return 0;
			continue;
		}
		if (c->z.avail_in == 0 && left == 0 && c->z.avail_out != 0)
			return 0;
	}
}

static int zstd_run(struct img_compressor *c, const void *p, size_t n, ZSTD_EndDirective mode,
		    struct berr **err)
{
	ZSTD_inBuffer in = { p, n, 0 };
	for (;;) {
		ZSTD_outBuffer out = { c->buf, IMG_COMPRESS_BUF, c->blen };
		size_t rem = ZSTD_compressStream2(c->zc, &out, &in, mode);
		if (ZSTD_isError(rem))
			return berr_set(err, BERR_INTERNAL, "zstd: %s", ZSTD_getErrorName(rem));
		c->blen = out.pos;
		if (c->blen == IMG_COMPRESS_BUF && flush_buf(c, err) < 0)
			return -1;
		if (mode == ZSTD_e_end) {
			if (rem == 0)
				return 0;
		} else if (in.pos == in.size) {
			return 0;
		}
	}
}

static int comp_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct img_compressor *c = ctx;
	if (c->finished)
		return berr_set(err, BERR_INTERNAL, "compressor: write after finish");
	if (c->failed)
		return berr_set(err, BERR_INTERNAL, "compressor: write after a failed write");
	if (n == 0)
		return 0;
	img_hasher_update(c->h_in, p, n);
	c->in_bytes += n;
	int r;
	switch (c->o.comp) {
	case IMG_COMP_GZIP: r = gzip_run(c, p, n, Z_NO_FLUSH, err); break;
	case IMG_COMP_ZSTD: r = zstd_run(c, p, n, ZSTD_e_continue, err); break;
	default: r = emit(c, p, n, err); break;
	}
	if (r < 0)
		c->failed = true;
	return r;
}

struct img_compressor *img_compressor_new(const struct img_compress_opts *o, struct bsink out,
					  struct berr **err)
{
	struct img_compressor *c = xcalloc(1, sizeof(*c));
	c->o = *o;
	c->out = out;
	if (o->comp == IMG_COMP_GZIP) {
		int level = o->level ? o->level : IMG_GZIP_DEFAULT_LEVEL;
		if (level < 1 || level > 9) {
			free(c);
			berr_set(err, BERR_USAGE, "gzip level %d out of range 1..9", level);
			return NULL;
		}
		/* windowBits 15+16: gzip wrapper; zlib writes MTIME 0 and no
		 * file name unless deflateSetHeader is called, so output only
		 * depends on the bytes, the level and the zlib version. */
		if (deflateInit2(&c->z, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
			free(c);
			berr_set(err, BERR_INTERNAL, "gzip: deflateInit2 failed");
			return NULL;
		}
		c->z_init = true;
	} else if (o->comp == IMG_COMP_ZSTD) {
		int level = o->level ? o->level : IMG_ZSTD_DEFAULT_LEVEL;
		if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) {
			free(c);
			berr_set(err, BERR_USAGE, "zstd level %d out of range", level);
			return NULL;
		}
		if (o->threads < 0 || o->threads > IMG_ZSTD_MAX_THREADS) {
			free(c);
			berr_set(err, BERR_USAGE, "zstd threads %d out of range 0..%d", o->threads,
				 IMG_ZSTD_MAX_THREADS);
			return NULL;
		}
		c->zc = ZSTD_createCCtx();
		if (!c->zc)
			abort();
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_compressionLevel, level);
		ZSTD_CCtx_setParameter(c->zc, ZSTD_c_checksumFlag, 1);
		if (o->threads > 0) {
			size_t r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_nbWorkers, o->threads);
			if (ZSTD_isError(r)) {
				ZSTD_freeCCtx(c->zc);
				free(c);
				berr_set(err, BERR_UNSUPPORTED,
					 "zstd: multithreading unavailable in this libzstd: %s",
					 ZSTD_getErrorName(r));
				return NULL;
			}
		}
	} else if (o->comp != IMG_COMP_NONE) {
		free(c);
		berr_set(err, BERR_USAGE, "unknown compression %d", (int)o->comp);
		return NULL;
	}
	c->h_in = img_hasher_new();
	c->h_out = img_hasher_new();
	if (o->comp != IMG_COMP_NONE)
		c->buf = xmalloc(IMG_COMPRESS_BUF);
	return c;
}

struct bsink img_compressor_sink(struct img_compressor *c)
{
	return (struct bsink){ comp_write, c };
}

int img_compressor_finish(struct img_compressor *c, struct img_compress_result *r,
			  struct berr **err)
{
	if (c->finished)
		return berr_set(err, BERR_INTERNAL, "compressor: finished twice");
	if (c->failed)
		return berr_set(err, BERR_INTERNAL, "compressor: finish after a failed write");
	int rc = 0;
	if (c->o.comp == IMG_COMP_GZIP)
		rc = gzip_run(c, NULL, 0, Z_FINISH, err);
	else if (c->o.comp == IMG_COMP_ZSTD)
		rc = zstd_run(c, NULL, 0, ZSTD_e_end, err);
	if (rc == 0 && c->buf)
		rc = flush_buf(c, err);
	c->finished = true;
	if (rc < 0) {
		c->failed = true;
		return -1;
	}
	memset(r, 0, sizeof(*r));
	img_hasher_final(c->h_in, &r->diff_id);
	img_hasher_final(c->h_out, &r->digest);
	r->size = c->out_bytes;
	r->uncompressed_size = c->in_bytes;
	r->comp = c->o.comp;
	return 0;
}

void img_compressor_free(struct img_compressor *c)
{
	if (!c)
		return;
	if (c->z_init)
		deflateEnd(&c->z);
	ZSTD_freeCCtx(c->zc);
	img_hasher_free(c->h_in);
	img_hasher_free(c->h_out);
	free(c->buf);
	free(c);
}

struct img_layer_blob {
	struct img_blob_writer *w;
	struct img_compressor *c;
	bool committed;
};

struct img_layer_blob *img_layer_blob_begin(struct img_store *store,
					    const struct img_compress_opts *o, struct berr **err)
{
	struct img_blob_writer *w = img_blob_writer_new(store, err);
	if (!w)
		return NULL;
	struct img_compressor *c = img_compressor_new(o, img_blob_writer_sink(w), err);
	if (!c) {
		img_blob_writer_free(w);
		return NULL;
	}
	struct img_layer_blob *lb = xcalloc(1, sizeof(*lb));
	lb->w = w;
	lb->c = c;
	return lb;
}

struct bsink img_layer_blob_sink(struct img_layer_blob *lb)
{
	return img_compressor_sink(lb->c);
}

int img_layer_blob_commit(struct img_layer_blob *lb, struct img_layer_info *out, struct berr **err)
{
	if (lb->committed)
		return berr_set(err, BERR_INTERNAL, "layer blob: committed twice");
	struct img_layer_info info;
	memset(&info, 0, sizeof(info));
	if (img_compressor_finish(lb->c, &info.r, err) < 0)
		return -1;
	struct img_digest d;
	uint64_t size;
	if (img_blob_writer_commit(lb->w, &info.r.digest, &d, &size, err) < 0)
		return -1;
	lb->committed = true;
	info.media_type = img_layer_media_type(info.r.comp, false);
	*out = info;
	return 0;
}

void img_layer_blob_free(struct img_layer_blob *lb)
{
	if (!lb)
		return;
	img_compressor_free(lb->c);
	img_blob_writer_free(lb->w);
	free(lb);
}
