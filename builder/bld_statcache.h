/* Content digests of build-context files, remembered by inode, size, mtime
 * and ctime (nanoseconds) so that a rebuild with nothing changed does not
 * read every input file again (like git's index). Stored as text in
 * $BERTH_ROOT/cache/statcache; a missing or damaged file is an empty cache.
 * Ownership: the cache owns its entries; bld_statcache_free accepts NULL. */
#ifndef BERTH_BLD_STATCACHE_H
#define BERTH_BLD_STATCACHE_H

#include <sys/stat.h>
#include "common/berr.h"
#include "image/img_digest.h"

/* entries beyond this are not remembered (bounds the file and memory) */
#define BLD_STATCACHE_MAX 1000000

struct bld_statcache;

struct bld_statcache *bld_statcache_load(const char *file);
/* sha256 of the regular file open as fd (st = its fstat), named path on
 * the host: from the cache when nothing about the inode changed, else read
 * and hashed (and remembered). */
int bld_statcache_digest(struct bld_statcache *c, const char *path, int fd,
			 const struct stat *st, struct img_digest *out, struct berr **err);
/* Writes the cache atomically when it changed. */
int bld_statcache_save(struct bld_statcache *c, struct berr **err);
void bld_statcache_free(struct bld_statcache *c);

#endif
