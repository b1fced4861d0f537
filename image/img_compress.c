/* One-pass layer pipeline: hash(diff_id) -> compress -> hash(digest)+count
 * -> downstream sink. Memory is bounded by one output buffer plus the
 * compressor's own state (zstd workers keep a few MiB each). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/blibs.h"
#include "common/common.h"
#include "image/img_compress.h"
#include "image/img_store.h"

/* Compressed bytes are handed downstream in chunks of this size. */
#define IMG_COMPRESS_BUF (256u << 10)
#define IMG_ZSTD_MAX_THREADS 64
/* zstd multi-threaded job size: fixed (so output does not depend on the
 * input size heuristics) and small enough that workers' buffers stay well
 * under 64 MiB (the default, 4 x window, used ~110 MiB with 2 workers). */
#define IMG_ZSTD_JOB_SIZE (2u << 20)

/* gzip as a series of members, the scheme of pigz --independent and of
 * BGZF: the input is cut into fixed IMG_PGZ_BLOCK blocks, each compressed
 * by zlib into complete gzip members (MTIME 0, no name, OS 255), so that
 * blocks compress in parallel. Concatenated members are one standard gzip
 * file (RFC 1952 2.2) that gzip, zlib's gzread, Python's gzip, Go's
 * compress/gzip and libarchive read as a whole. A block does not continue
 * the previous one's window; at 1 MiB blocks that costs about 0.1% of size.
 * Output depends on the block size, the level and the zlib version only:
 * never on the thread count (0 = compress in the caller's thread), write
 * sizes or timing. At most ring_cap blocks exist at once. */
#define IMG_PGZ_BLOCK (1u << 20)
/* Incompressible data (already compressed files, random bytes) costs
 * deflate as much time as text yet gains nothing, so each block is
 * looked at in IMG_PGZ_SUB pieces: a piece whose byte histogram is nearly
 * flat (Renyi-2 entropy above ~7.97 bits/byte, so Huffman coding can save
 * at most ~0.4%) and in which content-defined samples find no repeated
 * strings is stored (zlib level 0: a copy and a CRC). Each run of pieces of
 * one kind is its own member. The decision depends on the bytes only. */
#define IMG_PGZ_SUB (64u << 10)
#define IMG_PGZ_SUBS (IMG_PGZ_BLOCK / IMG_PGZ_SUB)
#define IMG_PGZ_MIN_SUB (16u << 10) /* a shorter last piece is compressed */
#define IMG_PGZ_H2_DIV 252          /* flat: sum(count^2) * 252 < n^2 */
#define IMG_PGZ_SEEN 2048           /* sample table slots (~1 sample / 64 bytes) */
#define IMG_PGZ_INFLIGHT_PER_THREAD 2
#define IMG_PGZ_INFLIGHT_EXTRA 2

struct pgz_job {
	unsigned char *in;
	size_t in_len;
	unsigned char *out;
	size_t out_len;
	int done;              /* 0 queued/running, 1 ok, -1 failed */
	struct pgz_job *next;  /* work queue, or the free list */
};

struct pgz {
	int level;
	int nthreads;
	size_t out_cap;                  /* bound for one block's member */
	struct gzm *dc, *dc0;            /* threads == 0: the caller's */
	pthread_t *th;
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_done;
	struct pgz_job *qhead, *qtail;
	bool stop;
	/* ring of in-flight jobs, oldest first */
	struct pgz_job **ring;
	size_t ring_cap, ring_start, ring_n;
	struct pgz_job *cur;   /* block being filled */
	struct pgz_job *free_jobs;
	uint64_t blocks;
};

struct img_compressor {
	struct img_compress_opts o;
	struct bsink out;
	struct img_hasher *h_in, *h_out;
	uint64_t in_bytes, out_bytes;
	ZSTD_CCtx *zc;
	struct pgz *pgz;
	unsigned char *buf;
	size_t blen;
	bool hash_out; /* false: the downstream blob writer hashes */
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
	if (c->h_out)
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

/* ---- gzip members (see IMG_PGZ_BLOCK) ---- */

/* One gzip member at a time on zlib: a stream kept for the thread's
 * lifetime and reset per member (deflateInit allocates ~270 KiB). */
struct gzm {
	z_stream zs;
	gz_header hdr;
};

static struct gzm *gzm_new(int level)
{
	struct gzm *m = xcalloc(1, sizeof(*m));
	/* windowBits 15 + 16: a gzip wrapper; memLevel 8, zlib's default */
	if (deflateInit2(&m->zs, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
		abort(); /* only fails on allocation failure, like xmalloc */
	return m;
}

static void gzm_free(struct gzm *m)
{
	if (!m)
		return;
	deflateEnd(&m->zs);
	free(m);
}

/* in[0..n) as one member into out (at most cap bytes): its size, 0 when
 * it did not fit */
static size_t gzm_member(struct gzm *m, const unsigned char *in, size_t n, unsigned char *out,
			 size_t cap)
{
	if (deflateReset(&m->zs) != Z_OK)
		return 0;
	/* MTIME 0, no name; OS 255 ("unknown"), not the building host's */
	m->hdr = (gz_header){ .os = 255 };
	if (deflateSetHeader(&m->zs, &m->hdr) != Z_OK)
		return 0;
	m->zs.next_in = (unsigned char *)in;
	m->zs.avail_in = (uInt)n;
	m->zs.next_out = out;
	m->zs.avail_out = (uInt)cap;
	if (deflate(&m->zs, Z_FINISH) != Z_STREAM_END)
		return 0;
	return cap - m->zs.avail_out;
}

/* See IMG_PGZ_SUB: true when p[0..n) should be stored, not compressed. */
static bool pgz_incompressible(const unsigned char *p, size_t n)
{
	if (n < IMG_PGZ_MIN_SUB)
		return false;
	uint32_t cnt[256] = { 0 };
	for (size_t i = 0; i < n; i++)
		cnt[p[i]]++;
	uint64_t sq = 0;
	for (int i = 0; i < 256; i++)
		sq += (uint64_t)cnt[i] * cnt[i];
	if (sq * IMG_PGZ_H2_DIV >= (uint64_t)n * n)
		return false;
	/* repeats (deflate's matches): 8-byte strings at positions chosen by
	 * their own first 4 bytes, so a repeat is sampled wherever it lies */
	uint64_t seen[IMG_PGZ_SEEN] = { 0 };
	unsigned samples = 0, dups = 0;
	for (size_t i = 0; i + 8 <= n; i++) {
		uint32_t w;
		memcpy(&w, p + i, 4);
		if ((w * 2654435761u) >> 26)
			continue;
		uint64_t k;
		memcpy(&k, p + i, 8);
		k = (k * 0x9e3779b97f4a7c15ull) | 1;
		size_t slot = (size_t)(k >> 53) & (IMG_PGZ_SEEN - 1);
		while (seen[slot] && seen[slot] != k)
			slot = (slot + 1) & (IMG_PGZ_SEEN - 1);
		if (seen[slot] == k)
			dups++;
		else if (samples < IMG_PGZ_SEEN / 2)
			seen[slot] = k;
		samples++;
	}
	return dups * 64 <= samples;
}

/* One block: a member per run of stored or compressed pieces. */
static void pgz_compress(struct gzm *dc, struct gzm *dc0, struct pgz_job *j, size_t out_cap)
{
	if (j->in_len == 0) {
		j->out_len = gzm_member(dc, j->in, 0, j->out, out_cap);
		return;
	}
	size_t off = 0, o = 0;
	bool kind = false;
	while (off < j->in_len) {
		size_t end = off;
		bool first = true;
		while (end < j->in_len) {
			size_t n = j->in_len - end < IMG_PGZ_SUB ? j->in_len - end : IMG_PGZ_SUB;
			bool k = pgz_incompressible(j->in + end, n);
			if (!first && k != kind)
				break;
			kind = k;
			first = false;
			end += n;
		}
		size_t w = gzm_member(kind ? dc0 : dc, j->in + off, end - off, j->out + o, out_cap - o);
		if (w == 0) {
			j->out_len = 0;
			return;
		}
		o += w;
		off = end;
	}
	j->out_len = o;
}

static void *pgz_worker(void *arg)
{
	struct pgz *g = arg;
	struct gzm *dc = gzm_new(g->level), *dc0 = gzm_new(0);
	for (;;) {
		pthread_mutex_lock(&g->mu);
		while (!g->qhead && !g->stop)
			pthread_cond_wait(&g->cv_work, &g->mu);
		if (!g->qhead) {
			pthread_mutex_unlock(&g->mu);
			break;
		}
		struct pgz_job *j = g->qhead;
		g->qhead = j->next;
		if (!g->qhead)
			g->qtail = NULL;
		pthread_mutex_unlock(&g->mu);

		pgz_compress(dc, dc0, j, g->out_cap);
		pthread_mutex_lock(&g->mu);
		j->done = j->out_len ? 1 : -1;
		pthread_cond_signal(&g->cv_done);
		pthread_mutex_unlock(&g->mu);
	}
	gzm_free(dc);
	gzm_free(dc0);
	return NULL;
}

/* Jobs are recycled: a fresh 1 MiB buffer per block would be a new mmap
 * (and page faults) every time. */
static struct pgz_job *pgz_job_get(struct pgz *g)
{
	struct pgz_job *j = g->free_jobs;
	if (j) {
		g->free_jobs = j->next;
	} else {
		j = xcalloc(1, sizeof(*j));
		j->in = xmalloc(IMG_PGZ_BLOCK);
		j->out = xmalloc(g->out_cap);
	}
	j->in_len = j->out_len = 0;
	j->done = 0;
	j->next = NULL;
	return j;
}

static void pgz_job_put(struct pgz *g, struct pgz_job *j)
{
	j->next = g->free_jobs;
	g->free_jobs = j;
}

static void pgz_job_free(struct pgz_job *j)
{
	if (!j)
		return;
	free(j->in);
	free(j->out);
	free(j);
}

static struct pgz *pgz_new(int level, int threads)
{
	struct pgz *g = xcalloc(1, sizeof(*g));
	g->level = level;
	g->nthreads = threads;
	g->dc = gzm_new(level);
	g->dc0 = gzm_new(0);
	/* worst case: every piece its own member (deflateBound counts the
	 * gzip header and trailer of a stream with no name or extra field) */
	size_t b = deflateBound(&g->dc->zs, IMG_PGZ_SUB);
	size_t b0 = deflateBound(&g->dc0->zs, IMG_PGZ_SUB);
	g->out_cap = (b > b0 ? b : b0) * IMG_PGZ_SUBS;
	if (threads == 0)
		return g;
	gzm_free(g->dc);
	gzm_free(g->dc0);
	g->dc = g->dc0 = NULL;
	pthread_mutex_init(&g->mu, NULL);
	pthread_cond_init(&g->cv_work, NULL);
	pthread_cond_init(&g->cv_done, NULL);
	g->ring_cap = (size_t)threads * IMG_PGZ_INFLIGHT_PER_THREAD + IMG_PGZ_INFLIGHT_EXTRA;
	g->ring = xcalloc(g->ring_cap, sizeof(*g->ring));
	g->th = xcalloc((size_t)threads, sizeof(*g->th));
	for (int i = 0; i < threads; i++)
		if (pthread_create(&g->th[i], NULL, pgz_worker, g) != 0)
			abort(); /* like an allocation failure */
	return g;
}

static void pgz_free(struct pgz *g)
{
	if (!g)
		return;
	if (g->nthreads > 0) {
		pthread_mutex_lock(&g->mu);
		g->stop = true;
		pthread_cond_broadcast(&g->cv_work);
		pthread_mutex_unlock(&g->mu);
		for (int i = 0; i < g->nthreads; i++)
			pthread_join(g->th[i], NULL);
		for (size_t i = 0; i < g->ring_n; i++)
			pgz_job_free(g->ring[(g->ring_start + i) % g->ring_cap]);
		pthread_mutex_destroy(&g->mu);
		pthread_cond_destroy(&g->cv_work);
		pthread_cond_destroy(&g->cv_done);
	}
	pgz_job_free(g->cur);
	while (g->free_jobs) {
		struct pgz_job *j = g->free_jobs;
		g->free_jobs = j->next;
		pgz_job_free(j);
	}
	gzm_free(g->dc);
	gzm_free(g->dc0);
	free(g->ring);
	free(g->th);
	free(g);
}

static int pgz_emit_job(struct img_compressor *c, struct pgz_job *j, struct berr **err)
{
	int rc = j->out_len ? emit(c, j->out, j->out_len, err)
			    : berr_set(err, BERR_INTERNAL, "gzip: zlib compression failed");
	pgz_job_put(c->pgz, j);
	return rc;
}

/* Wait for the oldest in-flight block and pass its output on. */
static int pgz_retire_oldest(struct img_compressor *c, struct berr **err)
{
	struct pgz *g = c->pgz;
	struct pgz_job *j = g->ring[g->ring_start];
	pthread_mutex_lock(&g->mu);
	while (j->done == 0)
		pthread_cond_wait(&g->cv_done, &g->mu);
	pthread_mutex_unlock(&g->mu);
	g->ring[g->ring_start] = NULL;
	g->ring_start = (g->ring_start + 1) % g->ring_cap;
	g->ring_n--;
	return pgz_emit_job(c, j, err);
}

/* Compress the current block (inline or by a worker). */
static int pgz_submit(struct img_compressor *c, struct berr **err)
{
	struct pgz *g = c->pgz;
	struct pgz_job *j = g->cur;
	g->cur = NULL;
	g->blocks++;
	if (g->nthreads == 0) {
		pgz_compress(g->dc, g->dc0, j, g->out_cap);
		return pgz_emit_job(c, j, err);
	}
	if (g->ring_n == g->ring_cap && pgz_retire_oldest(c, err) < 0) {
		pgz_job_put(g, j);
		return -1;
	}
	g->ring[(g->ring_start + g->ring_n) % g->ring_cap] = j;
	g->ring_n++;
	pthread_mutex_lock(&g->mu);
	if (g->qtail)
		g->qtail->next = j;
	else
		g->qhead = j;
	g->qtail = j;
	pthread_cond_signal(&g->cv_work);
	pthread_mutex_unlock(&g->mu);
	return 0;
}

static int pgz_write(struct img_compressor *c, const unsigned char *p, size_t n, struct berr **err)
{
	struct pgz *g = c->pgz;
	while (n > 0) {
		if (!g->cur)
			g->cur = pgz_job_get(g);
		size_t take = IMG_PGZ_BLOCK - g->cur->in_len;
		if (take > n)
			take = n;
		memcpy(g->cur->in + g->cur->in_len, p, take);
		g->cur->in_len += take;
		p += take;
		n -= take;
		if (g->cur->in_len == IMG_PGZ_BLOCK && pgz_submit(c, err) < 0)
			return -1;
	}
	return 0;
}

static int pgz_finish(struct img_compressor *c, struct berr **err)
{
	struct pgz *g = c->pgz;
	/* a partial last block; empty input is one empty member */
	if (!g->cur && g->blocks == 0)
		g->cur = pgz_job_get(g);
	if (g->cur && pgz_submit(c, err) < 0)
		return -1;
	while (g->ring_n > 0)
		if (pgz_retire_oldest(c, err) < 0)
			return -1;
	return 0;
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
	case IMG_COMP_GZIP:
		r = pgz_write(c, p, n, err);
		break;
	case IMG_COMP_ZSTD: r = zstd_run(c, p, n, ZSTD_e_continue, err); break;
	default: r = emit(c, p, n, err); break;
	}
	if (r < 0)
		c->failed = true;
	return r;
}

/* hash_out false: the caller's downstream sink hashes the compressed bytes
 * itself (the content store's blob writer), so the digest is left empty
 * here rather than computed twice. */
static struct img_compressor *compressor_new(const struct img_compress_opts *o, struct bsink out,
					     bool hash_out, struct berr **err)
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
		if (o->threads < 0 || o->threads > IMG_ZSTD_MAX_THREADS) {
			free(c);
			berr_set(err, BERR_USAGE, "gzip threads %d out of range 0..%d", o->threads,
				 IMG_ZSTD_MAX_THREADS);
			return NULL;
		}
		c->pgz = pgz_new(level, o->threads);
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
			if (!ZSTD_isError(r))
				r = ZSTD_CCtx_setParameter(c->zc, ZSTD_c_jobSize, IMG_ZSTD_JOB_SIZE);
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
	/* uncompressed: the digest is the diff_id */
	c->hash_out = hash_out;
	if (hash_out && o->comp != IMG_COMP_NONE)
		c->h_out = img_hasher_new();
	if (o->comp != IMG_COMP_NONE)
		c->buf = xmalloc(IMG_COMPRESS_BUF);
	return c;
}

struct img_compressor *img_compressor_new(const struct img_compress_opts *o, struct bsink out,
					  struct berr **err)
{
	return compressor_new(o, out, true, err);
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
		rc = pgz_finish(c, err);
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
	if (c->h_out)
		img_hasher_final(c->h_out, &r->digest);
	else if (c->hash_out)
		r->digest = r->diff_id;
	r->size = c->out_bytes;
	r->uncompressed_size = c->in_bytes;
	r->comp = c->o.comp;
	return 0;
}

void img_compressor_free(struct img_compressor *c)
{
	if (!c)
		return;
	pgz_free(c->pgz);
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
	struct img_compressor *c = compressor_new(o, img_blob_writer_sink(w), false, err);
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
	uint64_t size;
	if (img_blob_writer_commit(lb->w, NULL, &info.r.digest, &size, err) < 0)
		return -1;
	if (size != info.r.size)
		return berr_set(err, BERR_INTERNAL, "layer blob: stored %llu bytes, compressed %llu",
				(unsigned long long)size, (unsigned long long)info.r.size);
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
