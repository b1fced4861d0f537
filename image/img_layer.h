/* Layer writer: turns a set of entries (a directory tree or an explicit list)
 * into a deterministic layer tar streamed into a bsink (usually the
 * compressor + digest pipeline of the content store).
 *
 * Entries are collected first (metadata only) and written at
 * img_layer_finish, sorted component by component (a directory's opaque
 * marker, then its whiteouts, then its other children, each group in byte
 * order; parents before children). File contents are read from their source
 * paths during finish, in fixed-size chunks; no file is held in memory.
 *
 * Linux format (default): POSIX pax via libarchive in "pax restricted" mode
 * (an `x` header only when ustar cannot hold a field), xattrs as
 * SCHILY.xattr.*, no atime/ctime, empty uname/gname, output ends with the two
 * 512-byte zero blocks and no further padding (like Go's archive/tar).
 *
 * Windows format (IMG_LAYER_WINDOWS, see img_wintar.h): `Hives/` and `Files/`
 * first, every path under `Files/`, every ancestor directory as its own
 * entry, one PAX header per entry with MSWINDOWS.rawsd, MSWINDOWS.fileattr
 * and LIBARCHIVE.creationtime. Destination paths may be Windows paths.
 *
 * Ownership: the writer borrows the bsink and copies every string it is
 * given. img_layer_free accepts NULL. A writer is single use: add after
 * finish (or after a failed finish) is refused with an error. */
#ifndef BERTH_IMG_LAYER_H
#define BERTH_IMG_LAYER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/berr.h"
#include "common/sink.h"

/* Chunk used to stream file contents into the tar. */
#define IMG_LAYER_CHUNK (128 * 1024)

enum img_layer_flags {
	IMG_LAYER_WINDOWS = 1u << 0,       /* write the Windows layer format */
	IMG_LAYER_NORMALIZE_OWNER = 1u << 1, /* every entry gets opts.uid/opts.gid */
	IMG_LAYER_DEVICES = 1u << 2,       /* allow char/block devices (else error) */
	IMG_LAYER_XATTRS = 1u << 3,        /* copy all xattrs of source files */
	IMG_LAYER_XATTR_CAPS = 1u << 4,    /* copy only security.capability */
	IMG_LAYER_PARENTS = 1u << 5,       /* add missing parent dirs (always on for Windows) */
};

struct img_layer_opts {
	unsigned flags;          /* enum img_layer_flags */
	uid_t uid;               /* with IMG_LAYER_NORMALIZE_OWNER */
	gid_t gid;
	bool clamp_mtime;        /* clamp mtimes later than `epoch` down to it */
	int64_t epoch;           /* SOURCE_DATE_EPOCH, see img_layer_epoch_from_env */
	int64_t parent_mtime;    /* mtime of synthesized parent dirs (clamped too) */
};

/* Reads SOURCE_DATE_EPOCH into opts (clamp_mtime, epoch, parent_mtime).
 * Unset leaves opts alone; a malformed value is a BERR_INPUT error. */
int img_layer_epoch_from_env(struct img_layer_opts *opts, struct berr **err);

enum img_entry_type {
	IMG_ENTRY_AUTO = 0,   /* taken from lstat(src) */
	IMG_ENTRY_FILE,
	IMG_ENTRY_DIR,
	IMG_ENTRY_SYMLINK,
	IMG_ENTRY_CHAR,
	IMG_ENTRY_BLOCK,
	IMG_ENTRY_FIFO,
};

/* which of mode/uid+gid/mtime in struct img_layer_entry override the source */
#define IMG_SET_MODE  1u
#define IMG_SET_OWNER 2u
#define IMG_SET_MTIME 4u

struct img_layer_entry {
	const char *src;      /* host path: type, metadata defaults and content come
				 from it (lstat, never followed); NULL = synthetic */
	const char *dst;      /* path in the image ("/app/x", "app/x"; Windows
				 format also "C:\\app\\x") */
	int type;             /* enum img_entry_type; AUTO requires src */
	const char *linkname; /* symlink target for a synthetic symlink */
	unsigned set;         /* IMG_SET_* */
	mode_t mode;          /* permission bits (07777) */
	uid_t uid;
	gid_t gid;
	int64_t mtime;        /* seconds */
	dev_t rdev;           /* synthetic device nodes */
};

struct img_layer_stats {
	uint64_t entries;     /* tar entries written */
	uint64_t content_bytes;
	uint64_t tar_bytes;   /* uncompressed tar size */
};

struct img_layer;

struct img_layer *img_layer_new(const struct img_layer_opts *opts, const struct bsink *out);
void img_layer_free(struct img_layer *l);
/* Windows layers: every entry's security descriptor names this owner SID
 * ("S-1-5-93-2-2") instead of BUILTIN\Administrators (COPY --chown). */
int img_layer_set_windows_owner(struct img_layer *l, const char *sid, struct berr **err);

/* One entry. A later entry for the same destination replaces an earlier one
 * (the last add wins, like successive COPYs). Synthetic regular files are
 * empty. */
int img_layer_add(struct img_layer *l, const struct img_layer_entry *e, struct berr **err);
/* The tree under srcdir (symlinks stored, never followed; sockets skipped)
 * at dstdir; dstdir itself becomes a directory entry unless it is the root. */
int img_layer_add_tree(struct img_layer *l, const char *srcdir, const char *dstdir,
		       struct berr **err);
/* Whiteout for `path` (hides it in lower layers): `dir/.wh.name`. */
int img_layer_add_whiteout(struct img_layer *l, const char *path, struct berr **err);
/* Opaque marker `dir/.wh..wh..opq` (Linux format only). */
int img_layer_add_opaque(struct img_layer *l, const char *dir, struct berr **err);

/* Writes the whole tar into the sink. stats may be NULL. */
int img_layer_finish(struct img_layer *l, struct img_layer_stats *stats, struct berr **err);

static inline void img_layer_freep(struct img_layer **l) { img_layer_free(*l); }
#define _cleanup_img_layer_ __attribute__((cleanup(img_layer_freep)))

#endif
