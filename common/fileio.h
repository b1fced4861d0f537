/* File helpers. Writes that replace stored state go through
 * bfile_write_atomic: temp file in the same directory, fsync, rename, fsync
 * of the directory, so a crash leaves either the old or the new content. */
#ifndef BERTH_FILEIO_H
#define BERTH_FILEIO_H

#include <stddef.h>
#include <sys/types.h>
#include "common/berr.h"
#include "common/buf.h"

int bfile_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct berr **err);
/* Read a whole file (or "-" for stdin) into b, failing with BERR_LIMIT past
 * `limit` bytes (0 = no limit). */
int bfile_read_all(const char *path, size_t limit, struct bbuf *b, struct berr **err);
int bfd_read_all(int fd, const char *name, size_t limit, struct bbuf *b, struct berr **err);
/* write(2) loop with EINTR handling */
int bfd_write_all(int fd, const void *p, size_t n, const char *name, struct berr **err);
/* fsync the directory containing path */
int bfile_fsync_dir(const char *path, struct berr **err);
/* mkdir -p */
int bfile_mkdir_p(const char *path, mode_t mode, struct berr **err);
/* rm -rf without following symlinks; *bytes (may be NULL) gets the sizes
 * of the regular files removed. 0, or -1 with errno set (best effort: what
 * could be removed is gone). */
int bfile_rm_rf(const char *path, uint64_t *bytes);

#endif
