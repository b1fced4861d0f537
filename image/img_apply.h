/* Layer applier: unpacks a chain of layer tars (plain, gzip or zstd, told
 * apart by their magic bytes) into a directory, the way a container runtime
 * stacks them. Used by RUN executors (to build a rootfs) and COPY --from.
 *
 * Semantics: entries are applied in order; a later entry for an existing
 * path replaces it (dir over dir only updates metadata; anything else is
 * removed first, never written through). `.wh.NAME` removes NAME from lower
 * layers, `.wh..wh..opq` empties a directory of lower-layer content.
 * Hardlinks may point at any earlier file inside the root.
 *
 * Security model: nothing outside the root is ever created, changed or
 * followed. Entry names and hardlink targets that are absolute or contain
 * `..` are refused. Parent directories are resolved without following any
 * symlink (openat2 RESOLVE_BENEATH|RESOLVE_NO_SYMLINKS, or an O_NOFOLLOW
 * walk where openat2 is missing): a layer that tries to write through a
 * symlink, whether placed by an earlier entry or an earlier layer, fails with
 * BERR_SECURITY. Leaf names are created with O_EXCL/O_NOFOLLOW after removing
 * what was there. Expansion is capped (bytes and entries, across the chain).
 *
 * Ownership: the applier owns its root fd; free with img_applier_free. */
#ifndef BERTH_IMG_APPLY_H
#define BERTH_IMG_APPLY_H

#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"

/* Defaults for the tar-bomb caps, per applier (a whole chain). */
#define IMG_APPLY_MAX_BYTES (64ULL << 30)  /* file content bytes */
#define IMG_APPLY_MAX_ENTRIES 4000000ULL    /* tar entries */

enum img_apply_flags {
	IMG_APPLY_WINDOWS = 1u << 0,    /* Windows layers: `Files/` is the root,
					   `Hives/` and `UtilityVM/` are ignored */
	IMG_APPLY_NO_CHOWN = 1u << 1,   /* keep the current user even as root */
	IMG_APPLY_NO_OPENAT2 = 1u << 2, /* always use the O_NOFOLLOW walk */
};

struct img_apply_opts {
	unsigned flags;        /* enum img_apply_flags */
	uint64_t max_bytes;    /* 0 = IMG_APPLY_MAX_BYTES */
	uint64_t max_entries;  /* 0 = IMG_APPLY_MAX_ENTRIES */
};

struct img_apply_stats {
	uint64_t layers;
	uint64_t entries;
	uint64_t bytes;        /* file content bytes written */
};

struct img_applier;

/* root must be an existing directory. Owners from the tar are kept when
 * running as root (unless IMG_APPLY_NO_CHOWN); otherwise files belong to the
 * current user and directories keep u+rwx so later layers can write. */
struct img_applier *img_applier_new(const char *root, const struct img_apply_opts *opts,
				    struct berr **err);
void img_applier_free(struct img_applier *ap);

/* Apply one layer, read from fd / memory / a file. `name` names the layer in
 * error messages. After a failure the applier refuses further layers. */
int img_apply_fd(struct img_applier *ap, int fd, const char *name, struct berr **err);
int img_apply_mem(struct img_applier *ap, const void *data, size_t len, const char *name,
		  struct berr **err);
int img_apply_file(struct img_applier *ap, const char *path, struct berr **err);
void img_applier_stats(const struct img_applier *ap, struct img_apply_stats *st);

/* Convenience: apply the layer files bottom to top. stats may be NULL. */
int img_apply_chain(const char *root, const char *const *layers, size_t n,
		    const struct img_apply_opts *opts, struct img_apply_stats *stats,
		    struct berr **err);

static inline void img_applier_freep(struct img_applier **ap) { img_applier_free(*ap); }
#define _cleanup_img_applier_ __attribute__((cleanup(img_applier_freep)))

#endif
