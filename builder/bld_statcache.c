/* Stat cache for input file digests (bld_statcache.h).
 *
 * File format (one per source directory, named by the sha256 of the
 * directory's real path), lines sorted by path so that loading is a mapping
 * with no pass over it and a lookup is a binary search over its bytes:
 *   berth-statcache 3 <real path of the directory>\n
 *   <host path>\0<ino> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> <sha256 hex>\n ...
 * Entries hashed during this build live in a map until they are saved. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>
#include <unistd.h>

#include "builder/bld_statcache.h"
#include "image/img_strmap.h"
#include "common/common.h"

#define BLD_STATCACHE_FILE_MAX (512u << 20)
#define BLD_STATCACHE_CHUNK (128 * 1024)
#define BLD_STATCACHE_MAGIC "berth-statcache 3 "
#define SC_SEEN_UNIT 64

struct sc_entry {
	uint64_t ino, size;
	int64_t ms, mns, cs, cns;
	struct img_digest d;
};

struct sc_shard {
	char *root;         /* as the caller names it */
	char *real;         /* its real path (the file's header) */
	char *file;
	const char *buf;    /* the file, mapped */
	size_t buflen;
	size_t data;        /* offset of the first record (after the header) */
	/* record used by this build, by offset / SC_SEEN_UNIT: a record is
	 * longer than that (64 hex digits alone), so no two share a slot */
	unsigned char *seen;
	size_t hint;        /* offset of the record after the last one found:
			     * walks ask in sorted order, mostly */
	struct img_hmap fresh; /* path -> struct sc_entry hashed by this build */
	bool dirty;
};

struct bld_statcache {
	char *dir;
	int64_t racy_ns;
	struct sc_shard **sh;
	size_t n;
};

static bool same(const struct sc_entry *e, const struct stat *st)
{
	return e->ino == (uint64_t)st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->ms == st->st_mtim.tv_sec && e->mns == st->st_mtim.tv_nsec &&
	       e->cs == st->st_ctim.tv_sec && e->cns == st->st_ctim.tv_nsec;
}

struct bld_statcache *bld_statcache_open(const char *dir, int64_t racy_ns)
{
	struct bld_statcache *c = xcalloc(1, sizeof(*c));
	c->dir = xstrdup(dir);
	c->racy_ns = racy_ns;
	/* berth-statcache 1 was one file at this path */
	struct stat st;
	if (lstat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
		unlink(dir);
	return c;
}

static char *put_sdec(char *end, int64_t v)
{
	/* negated as unsigned: INT64_MIN has no positive counterpart */
	char *p = bnum_put(end, v < 0 ? -(uint64_t)v : (uint64_t)v, 10);
	if (v < 0)
		*--p = '-';
	return p;
}

/* a record's fields but the digest, as shard_save writes them for st:
 * "<ino> <size> <mtime s> <mtime ns> <ctime s> <ctime ns> " (six numbers of
 * at most 20 digits and a sign, each with its space: 132 bytes) */
#define SC_FIELDS_MAX 132

static char *put_fields(char *end, const struct stat *st)
{
	char *p = end;
	*--p = ' ';
	p = put_sdec(p, st->st_ctim.tv_nsec);
	*--p = ' ';
	p = put_sdec(p, st->st_ctim.tv_sec);
	*--p = ' ';
	p = put_sdec(p, st->st_mtim.tv_nsec);
	*--p = ' ';
	p = put_sdec(p, st->st_mtim.tv_sec);
	*--p = ' ';
	p = bnum_put(p, (uint64_t)st->st_size, 10);
	*--p = ' ';
	return bnum_put(p, (uint64_t)st->st_ino, 10);
}

static void shard_drop(struct sc_shard *s)
{
	if (s->buf)
		munmap((void *)s->buf, s->buflen);
	free(s->seen);
	s->buf = NULL;
	s->seen = NULL;
	s->buflen = s->data = s->hint = 0;
}

/* Map the records; a file of another version or directory is ignored.
 *
 * The file is mapped, not read: reading it needs a buffer as large, and
 * every fresh page of a buffer costs a page fault (~10 us each on a VM
 * with shadow page tables, measured: most of a nothing-changed rebuild's
 * load time), where a mapping of the page cache costs one call. Nor is it
 * indexed: a lookup bisects the bytes and parses only the records it
 * visits, so loading costs nothing per record; a damaged record is a miss
 * when a lookup meets it and is dropped when the file is next written.
 * The file is only ever replaced by rename, never rewritten in place, so
 * the mapped inode does not change under us. */
static void shard_load(struct sc_shard *s)
{
	_cleanup_close_ int fd = open(s->file, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size <= 0 ||
	    (uint64_t)st.st_size > BLD_STATCACHE_FILE_MAX)
		return;
	size_t len = (size_t)st.st_size;
	void *map = mmap(NULL, len, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
	if (map == MAP_FAILED)
		return;
	s->buf = map;
	s->buflen = len;
	const char *eol = memchr(s->buf, '\n', len);
	size_t ml = strlen(BLD_STATCACHE_MAGIC), rl = strlen(s->real);
	if (!eol || (size_t)(eol - s->buf) != ml + rl || memcmp(s->buf, BLD_STATCACHE_MAGIC, ml) != 0 ||
	    memcmp(s->buf + ml, s->real, rl) != 0 || s->buf[len - 1] != '\n') {
		shard_drop(s);
		return;
	}
	s->data = s->hint = (size_t)(eol - s->buf) + 1;
	s->seen = xcalloc(len / SC_SEEN_UNIT + 1, 1);
}

/* The record at offset off (a record start): its path (NUL-terminated
 * inside the line), its tail (after the NUL) and the offset after its
 * '\n'. False when the line is out of shape. */
static bool rec_at(const struct sc_shard *s, size_t off, const char **path, const char **tail,
		   size_t *next)
{
	const char *line = s->buf + off;
	const char *eol = memchr(line, '\n', s->buflen - off); /* the file ends in '\n' */
	const char *nul = memchr(line, '\0', (size_t)(eol - line));
	*next = (size_t)(eol - s->buf) + 1;
	if (!nul || line[0] != '/')
		return false;
	*path = line;
	*tail = nul + 1;
	return true;
}

/* offset of the record holding byte p */
static size_t rec_start(const struct sc_shard *s, size_t p)
{
	const char *q = memrchr(s->buf + s->data, '\n', p - s->data);
	return q ? (size_t)(q - s->buf) + 1 : s->data;
}

/* Offset of path's record, or -1, and the record's tail: the hint first,
 * then bisection. A damaged record met on the way is stepped over (it
 * cannot match). */
static long shard_find(const struct sc_shard *s, const char *path, size_t hint, const char **tail)
{
	const char *p, *t;
	size_t next, plen = strlen(path);
	if (!s->buf)
		return -1;
	/* a hint is only tried where a record starts (a thread's hint may be
	 * an offset into another directory's file); path and its NUL at a
	 * record start are that path's record (the file ends in '\n', so the
	 * bytes compared are inside it) */
	if (hint >= s->data && hint < s->buflen && s->buf[hint - 1] == '\n' &&
	    plen < s->buflen - hint && memcmp(s->buf + hint, path, plen + 1) == 0) {
		*tail = s->buf + hint + plen + 1;
		return (long)hint;
	}
	size_t lo = s->data, hi = s->buflen; /* lo: a record start; answer in [lo, hi) */
	while (lo < hi) {
		size_t mid = rec_start(s, lo + (hi - lo) / 2), at = mid;
		while (at < hi && !rec_at(s, at, &p, &t, &next))
			at = next;
		if (at >= hi) { /* only damaged records in [mid, hi) */
			hi = mid;
			continue;
		}
		int r = strcmp(p, path);
		if (r == 0) {
			*tail = t;
			return (long)at;
		}
		if (r < 0)
			lo = next;
		else
			hi = mid;
	}
	return -1;
}

static void mark_seen(struct sc_shard *s, size_t off)
{
	/* several threads may mark one record (the same file in two walks) */
	__atomic_store_n(&s->seen[off / SC_SEEN_UNIT], 1, __ATOMIC_RELAXED);
}

static struct sc_shard *shard_for(struct bld_statcache *c, const char *root)
{
	for (size_t i = 0; i < c->n; i++)
		if (!strcmp(c->sh[i]->root, root))
			return c->sh[i];
	struct sc_shard *s = xcalloc(1, sizeof(*s));
	s->root = xstrdup(root);
	char *real = realpath(root, NULL);
	s->real = real ? real : xstrdup(root);
	struct img_digest d;
	img_digest_bytes(s->real, strlen(s->real), &d);
	s->file = xasprintf("%s/%.32s", c->dir, img_digest_hex(&d));
	if (!strchr(s->real, '\n'))
		shard_load(s);
	c->sh = xreallocarray(c->sh, c->n + 1, sizeof(*c->sh));
	c->sh[c->n++] = s;
	return s;
}

struct bld_statcache_dir *bld_statcache_dir(struct bld_statcache *c, const char *root)
{
	return c ? (struct bld_statcache_dir *)shard_for(c, root) : NULL;
}

/* The digits of path's record in the mapped file when st matches it (and
 * the record is whole), else NULL; *hint moves past the record found.
 * st's fields are formatted and compared with the record's as text, not
 * parsed from it: the writer's form is the only one a match needs (a
 * record in any other form is a miss, hashed again and written anew), and
 * formatting two digits a step costs less than parsing one at a time. */
static const char *shard_match(struct sc_shard *s, const char *path, const struct stat *st,
			       size_t *hint)
{
	const char *t;
	long i = shard_find(s, path, *hint, &t);
	if (i < 0)
		return NULL;
	char fb[SC_FIELDS_MAX];
	const char *want = put_fields(fb + sizeof(fb), st);
	size_t n = (size_t)(fb + sizeof(fb) - want);
	size_t left = (size_t)(s->buf + s->buflen - t); /* t is inside the file */
	if (left > n + IMG_DIGEST_HEX_LEN && memcmp(t, want, n) == 0 &&
	    t[n + IMG_DIGEST_HEX_LEN] == '\n') {
		const char *hex = t + n;
		*hint = (size_t)(hex - s->buf) + IMG_DIGEST_HEX_LEN + 1;
		if (!img_digest_hex_digits(hex))
			return NULL;
		mark_seen(s, (size_t)i);
		return hex;
	}
	/* a changed file: the next lookup most likely wants the next record */
	const char *eol = memchr(t, '\n', left);
	if (eol)
		*hint = (size_t)(eol + 1 - s->buf);
	return NULL;
}

const char *bld_statcache_peek(struct bld_statcache_dir *d, const char *path,
			       const struct stat *st)
{
	/* each reading thread asks in sorted order within a directory: its
	 * next record is tried first (a wrong hint costs one memcmp) */
	static _Thread_local size_t hint;
	struct sc_shard *s = (struct sc_shard *)d;
	if (!s || !s->buf || !S_ISREG(st->st_mode))
		return NULL;
	return shard_match(s, path, st, &hint);
}

bool bld_statcache_lookup(struct bld_statcache *c, const char *root, const char *path,
			  const struct stat *st, struct img_digest *out)
{
	if (!c || !S_ISREG(st->st_mode))
		return false;
	struct sc_shard *s = shard_for(c, root);
	void *v = NULL;
	if (img_hmap_get(&s->fresh, path, &v)) {
		if (!same(v, st))
			return false;
		*out = ((struct sc_entry *)v)->d;
		return true;
	}
	const char *hex = shard_match(s, path, st, &s->hint);
	if (!hex)
		return false;
	char z[IMG_DIGEST_HEX_LEN + 1];
	memcpy(z, hex, IMG_DIGEST_HEX_LEN);
	z[IMG_DIGEST_HEX_LEN] = '\0';
	return img_digest_from_hex(z, out, NULL) == 0;
}

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000LL + t->tv_nsec;
}

int bld_statcache_digest(struct bld_statcache *c, const char *root, const char *path, int fd,
			 const struct stat *st, struct img_digest *out, struct berr **err)
{
	if (bld_statcache_lookup(c, root, path, st, out))
		return 0;
	struct timespec t0;
	clock_gettime(CLOCK_REALTIME, &t0);
	struct img_hasher *h = img_hasher_new();
	char *buf = xmalloc(BLD_STATCACHE_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t r = read(fd, buf, BLD_STATCACHE_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "read '%s'", path);
			break;
		}
		if (r == 0)
			break;
		img_hasher_update(h, buf, (size_t)r);
	}
	free(buf);
	img_hasher_final(h, out);
	img_hasher_free(h);
	if (rc < 0 || !c || strchr(path, '\n') || path[0] != '/')
		return rc;
	/* racily clean: a write in the same timestamp tick would go unseen */
	int64_t limit = ts_ns(&t0) - c->racy_ns;
	if (ts_ns(&st->st_ctim) >= limit || ts_ns(&st->st_mtim) >= limit)
		return 0;
	struct sc_shard *s = shard_for(c, root);
	if (s->fresh.len >= BLD_STATCACHE_MAX)
		return 0;
	struct sc_entry *e = xmalloc(sizeof(*e));
	*e = (struct sc_entry){ (uint64_t)st->st_ino, (uint64_t)st->st_size, st->st_mtim.tv_sec,
				st->st_mtim.tv_nsec, st->st_ctim.tv_sec, st->st_ctim.tv_nsec, *out };
	free(img_hmap_put(&s->fresh, path, e));
	s->dirty = true;
	return 0;
}

struct rec {
	const char *path;
	const char *tail;   /* up to and including '\n' */
	size_t tlen;
};

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct rec *)a)->path, ((const struct rec *)b)->path);
}

static int shard_save(struct bld_statcache *c, struct sc_shard *s, struct berr **err)
{
	if (!s->dirty || strchr(s->real, '\n'))
		return 0;
	/* the records kept from the file: well-formed ones not hashed again */
	size_t nold = 0;
	const char *rp, *rt;
	size_t rnext;
	for (size_t off = s->data; s->buf && off < s->buflen; off = rnext)
		nold += rec_at(s, off, &rp, &rt, &rnext);
	/* near the bound, keep only what this build used */
	bool only_seen = nold + s->fresh.len > BLD_STATCACHE_MAX / 2;
	size_t n = 0;
	struct rec *r = xcalloc(nold + s->fresh.len + 1, sizeof(*r));
	struct bbuf tails = BBUF_INIT;
	for (size_t off = s->data; s->buf && off < s->buflen; off = rnext) {
		if (!rec_at(s, off, &rp, &rt, &rnext) ||
		    (only_seen && !s->seen[off / SC_SEEN_UNIT]) || img_hmap_get(&s->fresh, rp, NULL))
			continue;
		r[n++] = (struct rec){ rp, rt, (size_t)(s->buf + rnext - rt) };
	}
	/* tails of fresh entries first into one buffer, pointers after (it grows) */
	size_t first = n;
	size_t *off = xcalloc(s->fresh.len + 1, sizeof(size_t));
	for (size_t i = 0, k = 0; i < s->fresh.cap; i++) {
		if (!s->fresh.keys[i])
			continue;
		const struct sc_entry *e = s->fresh.vals[i];
		off[k++] = tails.len;
		bbuf_addf(&tails, NULL, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64
					" %" PRId64 " %s\n",
			  e->ino, e->size, e->ms, e->mns, e->cs, e->cns, img_digest_hex(&e->d));
		r[n++] = (struct rec){ s->fresh.keys[i], NULL, 0 };
	}
	for (size_t k = first; k < n; k++) {
		size_t o = off[k - first], next = k + 1 < n ? off[k + 1 - first] : tails.len;
		r[k].tail = tails.data + o;
		r[k].tlen = next - o;
	}
	free(off);
	qsort(r, n, sizeof(*r), rec_cmp);
	struct bbuf b = BBUF_INIT;
	bbuf_addf(&b, NULL, "%s%s\n", BLD_STATCACHE_MAGIC, s->real);
	for (size_t i = 0; i < n; i++) {
		bbuf_add(&b, r[i].path, strlen(r[i].path) + 1, NULL);
		bbuf_add(&b, r[i].tail, r[i].tlen, NULL);
	}
	free(r);
	bbuf_release(&tails);
	int rc = bfile_mkdir_p(c->dir, 0700, err);
	if (rc == 0)
		rc = bfile_write_atomic(s->file, b.data, b.len, 0600, err);
	bbuf_release(&b);
	if (rc == 0)
		s->dirty = false;
	return rc;
}

int bld_statcache_save(struct bld_statcache *c, struct berr **err)
{
	for (size_t i = 0; c && i < c->n; i++)
		if (shard_save(c, c->sh[i], err) < 0)
			return -1;
	return 0;
}

void bld_statcache_free(struct bld_statcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n; i++) {
		struct sc_shard *s = c->sh[i];
		for (size_t k = 0; k < s->fresh.cap; k++)
			if (s->fresh.keys[k])
				free(s->fresh.vals[k]);
		img_hmap_release(&s->fresh);
		shard_drop(s);
		free(s->root);
		free(s->real);
		free(s->file);
		free(s);
	}
	free(c->sh);
	free(c->dir);
	free(c);
}
