/* Host-side resources of RUN --mount=type=cache and type=ssh for the step
 * loop (bld_build.c). Not a public API.
 *
 * Cache mounts live in $BERTH_ROOT/cache/mounts/<name> where <name> is the
 * id made safe for a file name plus a digest of the id (so `id=..` or ids
 * differing only in '/' cannot meet). BuildKit's sharing modes are kept
 * across concurrent berth processes with flock(2) on a lock file per
 * directory:
 *   shared  (default) a shared lock, never waits;
 *   locked  an exclusive lock, waits until every other user is gone;
 *   private an exclusive lock on the first directory of the id nobody holds
 *           (<name>, <name>.1, <name>.2, ...): a fresh one when all are busy.
 * The lock is held until bld_cache_mount_release (after the RUN).
 *
 * SSH: `--ssh default|ID[=SOCKET]` values name agent sockets; the step loop
 * binds the socket at the mount target. */
#ifndef BERTH_BLD_RUNMOUNT_H
#define BERTH_BLD_RUNMOUNT_H

#include <stdbool.h>
#include <sys/types.h>

#include "common/berr.h"

/* Most directories one cache id may have for sharing=private. */
#define BLD_CACHE_PRIVATE_MAX 64

struct bld_cache_mount {
	char *dir;      /* host directory to bind (owned) */
	int lock_fd;    /* held lock, -1 none */
	bool waited;    /* sharing=locked had to wait for another user */
};

/* Called once before a locked mount starts to wait, with the id. */
typedef void (*bld_cache_wait_fn)(void *ud, const char *id);

/* Acquire the directory of cache `id` in `mounts_dir` (created 0700 when
 * missing) with `sharing` ("shared", "private", "locked"; NULL = shared).
 * A new directory gets mode/uid/gid (BuildKit: 0755, 0:0). A locked wait
 * stops with BERR_FAILED "cancelled" when cancel_fd (> 0) becomes readable. */
int bld_cache_mount_acquire(const char *mounts_dir, const char *id, const char *sharing,
			    mode_t mode, uid_t uid, gid_t gid, int cancel_fd,
			    bld_cache_wait_fn on_wait, void *ud, struct bld_cache_mount *out,
			    struct berr **err);
void bld_cache_mount_release(struct bld_cache_mount *m);

/* The agent socket for ssh id `id` from --ssh values ("default" alone reads
 * $SSH_AUTH_SOCK, "ID=PATH" names a socket). NULL with BERR_NOTFOUND when the
 * id was not given; BERR_INPUT/BERR_UNSUPPORTED when the value is unusable
 * (a key file rather than a socket, several paths). */
char *bld_ssh_socket(char *const *ssh, size_t nssh, const char *id, struct berr **err);
/* Check every --ssh value up front (syntax, sockets exist). */
int bld_ssh_check(char *const *ssh, size_t nssh, struct berr **err);

#endif
