/* Stat cache for input file digests (bld_statcache.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/bld_statcache.h"
#include "image/img_strmap.h"
#include "common/common.h"

#define BLD_STATCACHE_FILE_MAX (256u << 20)
#define BLD_STATCACHE_CHUNK (128 * 1024)

struct sc_entry {
	uint64_t ino, size;
	int64_t ms, mns, cs, cns;
	struct img_digest d;
};

struct bld_statcache {
	char *file;
	struct img_hmap map;
	bool dirty;
};

static bool same(const struct sc_entry *e, const struct stat *st)
{
	return e->ino == (uint64_t)st->st_ino && e->size == (uint64_t)st->st_size &&
	       e->ms == st->st_mtim.tv_sec && e->mns == st->st_mtim.tv_nsec &&
	       e->cs == st->st_ctim.tv_sec && e->cns == st->st_ctim.tv_nsec;
}

struct bld_statcache *bld_statcache_load(const char *file)
{
	struct bld_statcache *c = xcalloc(1, sizeof(*c));
	c->file = xstrdup(file);
	struct bbuf b = BBUF_INIT;
	if (bfile_read_all(file, BLD_STATCACHE_FILE_MAX, &b, NULL) < 0) {
		bbuf_release(&b);
		return c;
	}
	char *line = b.data;
	while (line && *line && c->map.len < BLD_STATCACHE_MAX) {
		char *eol = strchr(line, '\n');
		if (!eol)
			break;
		*eol = '\0';
		struct sc_entry e;
		char hex[IMG_DIGEST_HEX_LEN + 1];
		int off = 0;
		if (sscanf(line, "%" SCNu64 " %" SCNu64 " %" SCNd64 " %" SCNd64 " %" SCNd64 " %" SCNd64
				 " %64s %n",
			   &e.ino, &e.size, &e.ms, &e.mns, &e.cs, &e.cns, hex, &off) == 7 &&
		    off > 0 && line[off] && img_digest_from_hex(hex, &e.d, NULL) == 0) {
			struct sc_entry *n = xmalloc(sizeof(*n));
			*n = e;
			free(img_hmap_put(&c->map, line + off, n));
		}
		line = eol + 1;
	}
	bbuf_release(&b);
	return c;
}

int bld_statcache_digest(struct bld_statcache *c, const char *path, int fd,
			 const struct stat *st, struct img_digest *out, struct berr **err)
{
	void *v = NULL;
	if (c && img_hmap_get(&c->map, path, &v) && same(v, st)) {
		*out = ((struct sc_entry *)v)->d;
		return 0;
	}
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
	if (rc < 0 || !c || strchr(path, '\n') || c->map.len >= BLD_STATCACHE_MAX)
		return rc;
	struct sc_entry *e = xmalloc(sizeof(*e));
	*e = (struct sc_entry){ (uint64_t)st->st_ino, (uint64_t)st->st_size, st->st_mtim.tv_sec,
				st->st_mtim.tv_nsec, st->st_ctim.tv_sec, st->st_ctim.tv_nsec, *out };
	free(img_hmap_put(&c->map, path, e));
	c->dirty = true;
	return 0;
}

int bld_statcache_save(struct bld_statcache *c, struct berr **err)
{
	if (!c || !c->dirty)
		return 0;
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < c->map.cap; i++) {
		if (!c->map.keys[i])
			continue;
		const struct sc_entry *e = c->map.vals[i];
		bbuf_addf(&b, NULL, "%" PRIu64 " %" PRIu64 " %" PRId64 " %" PRId64 " %" PRId64 " %" PRId64
				    " %s %s\n",
			  e->ino, e->size, e->ms, e->mns, e->cs, e->cns, img_digest_hex(&e->d),
			  c->map.keys[i]);
	}
	int rc = bfile_write_atomic(c->file, b.data ? b.data : "", b.len, 0600, err);
	bbuf_release(&b);
	if (rc == 0)
		c->dirty = false;
	return rc;
}

void bld_statcache_free(struct bld_statcache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->map.cap; i++)
		if (c->map.keys[i])
			free(c->map.vals[i]);
	img_hmap_release(&c->map);
	free(c->file);
	free(c);
}
