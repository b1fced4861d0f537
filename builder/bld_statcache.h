/* Content digests of build-context files, remembered by inode, size, mtime
 * and ctime (nanoseconds) so that a rebuild with nothing changed does not
 * read every input file again (like git's index, or BuildKit's content hash
 * cache keyed by stat). One file per source directory (the build context, a
 * named context, a stage rootfs) in $BERTH_ROOT/cache/statcache/, written
 * atomically; a missing, foreign or damaged file is an empty cache.
 *
 * Correctness: ctime changes on every write and cannot be set by users, so
 * an edit that keeps size and mtime is still seen. A file whose ctime or
 * mtime is within the racy window of the moment it was hashed is not
 * remembered (a write in the same timestamp tick would not change them).
 *
 * Ownership: the cache owns its entries; bld_statcache_free accepts NULL. */
#ifndef BERTH_BLD_STATCACHE_H
#define BERTH_BLD_STATCACHE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include "common/berr.h"
#include "image/img_digest.h"

/* entries per directory beyond this are not remembered (bounds the file and
 * memory); on save, entries not used by this build go first */
#define BLD_STATCACHE_MAX 1000000
/* files changed less than this before they were hashed are not remembered:
 * covers coarse filesystem timestamps (1 s on some, jiffies on Linux) */
#define BLD_STATCACHE_RACY_NS 1000000000LL

struct bld_statcache;

/* dir: where the per-directory files live (created on save). racy_ns: the
 * racy window (BLD_STATCACHE_RACY_NS; tests pass 0). */
struct bld_statcache *bld_statcache_open(const char *dir, int64_t racy_ns);

/* The remembered digest of a regular file at host path `path` below the
 * source directory `root` when st (its lstat) matches: lets a caller skip
 * even opening an unchanged file. */
bool bld_statcache_lookup(struct bld_statcache *c, const char *root, const char *path,
			  const struct stat *st, struct img_digest *out);
/* The records of one source directory, loaded now (the calling thread must
 * be the only one using the cache at that moment); NULL when c is NULL. */
struct bld_statcache_dir;
struct bld_statcache_dir *bld_statcache_dir(struct bld_statcache *c, const char *root);
/* Like bld_statcache_lookup, but from what was loaded only (not what this
 * build hashed so far): safe to call from several threads at once, and
 * alongside the other functions, once bld_statcache_dir returned d. The
 * digest's BLD_STATCACHE_HEX hex digits (checked; not NUL-terminated) are
 * returned where they lie in the loaded records, valid until
 * bld_statcache_free, or NULL: a walk that peeks at every file of a large
 * tree keeps no copy of each digest (fresh memory is what costs most in
 * such a walk). */
#define BLD_STATCACHE_HEX IMG_DIGEST_HEX_LEN
const char *bld_statcache_peek(struct bld_statcache_dir *d, const char *path,
			       const struct stat *st);
/* sha256 of the regular file open as fd (st = its fstat), at host path
 * `path` below `root`: from the cache when nothing about the inode
 * changed, else read and hashed (and remembered unless racy). c may be
 * NULL (no cache). */
int bld_statcache_digest(struct bld_statcache *c, const char *root, const char *path, int fd,
			 const struct stat *st, struct img_digest *out, struct berr **err);
/* Writes every changed directory file atomically. */
int bld_statcache_save(struct bld_statcache *c, struct berr **err);
void bld_statcache_free(struct bld_statcache *c);

#endif
