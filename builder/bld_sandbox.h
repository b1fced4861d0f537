/* Linux scratch-container sandbox: runs one command (a RUN step) in fresh
 * mount, PID, UTS, IPC and (optionally) network namespaces on top of an
 * overlayfs stack of read-only layer trees, and leaves the command's changes
 * in an upper directory in overlayfs format (see bld_sandbox_diff).
 *
 * Process layout: berth forks a helper (own session, dies with berth) that
 * unshares the namespaces and forks the command's process, which is PID 1 of
 * the new PID namespace; it mounts the root, pivots into it and execs the
 * command. Every mount lives in that private mount namespace, so it vanishes
 * when PID 1 exits; bld_sandbox_wait returns only after that.
 *
 * Ownership: the spec and everything it points to is borrowed for the
 * duration of bld_sandbox_start (strings are copied). A handle is owned by
 * the caller and freed with bld_sandbox_free (accepts NULL; kills a still
 * running sandbox and waits for it). Results own their strings; release with
 * bld_sandbox_result_release. No global state: several sandboxes may run at
 * once from one process, each waited for by its own thread and with its own
 * scratch directory. The container side is a forked process that reports
 * errors on a pipe and ends with _exit; the library itself never prints. */
#ifndef BERTH_BLD_SANDBOX_H
#define BERTH_BLD_SANDBOX_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "common/berr.h"

/* Limits on inputs so that a hostile image or spec cannot exhaust memory. */
#define BLD_SANDBOX_MAX_LOWERS 500        /* overlayfs' own stacking limit */
#define BLD_SANDBOX_MAX_MOUNTS 64
#define BLD_SANDBOX_MAX_SECRET (500 * 1024) /* BuildKit's secret size limit */
#define BLD_SANDBOX_MAX_LINE (64 * 1024)  /* line mode: longer lines are split */
#define BLD_SANDBOX_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
#define BLD_SANDBOX_DEFAULT_HOSTNAME "buildkitsandbox"

enum bld_net_mode {
	BLD_NET_NONE = 0,  /* new network namespace, only `lo` (up) */
	BLD_NET_HOST,      /* the host's network namespace */
	BLD_NET_DEFAULT,   /* BuildKit's "default": with no CNI/bridge available this
			      is the host network, as buildkitd --oci-worker-net=host */
};

enum bld_mount_type {
	BLD_MOUNT_BIND = 1,  /* src (host dir or file) at target; ro unless rw */
	BLD_MOUNT_TMPFS,     /* empty tmpfs at target (size 0 = kernel default) */
	BLD_MOUNT_SECRET,    /* copy of host file src on a private tmpfs, bound read-only
				at target as a file with mode/uid/gid */
};

struct bld_mount {
	int type;            /* enum bld_mount_type */
	const char *src;     /* host path (bind, secret) */
	const char *target;  /* absolute path in the container */
	bool rw;             /* bind: writable (writes reach the host source) */
	uint64_t size;       /* tmpfs: bytes, 0 = default */
	mode_t mode;         /* secret: file mode, 0 = 0400; tmpfs: 0 = 01777 */
	uid_t uid;           /* secret: owner */
	gid_t gid;
};

enum bld_stream { BLD_STREAM_STDOUT = 1, BLD_STREAM_STDERR = 2 };

/* Output of the command, in order per stream. Chunks by default, whole lines
 * (with their '\n'; the last may lack it) with BLD_SANDBOX_LINES. Returning
 * non-zero cancels the run (as bld_sandbox_kill). */
typedef int (*bld_output_fn)(void *ud, int stream, const char *data, size_t len);

enum bld_sandbox_flags {
	BLD_SANDBOX_LINES = 1u << 0,        /* output callback gets whole lines */
	BLD_SANDBOX_NO_OVERLAY = 1u << 1,   /* force the copy-on-start fallback */
	BLD_SANDBOX_USERNS = 1u << 2,       /* unprivileged: user namespace, userxattr
					       (automatic when not root) */
	BLD_SANDBOX_LEGACY_MOUNT = 1u << 3, /* overlay via mount(2) even when the new
					       mount API could be used (tests) */
};

struct bld_sandbox_spec {
	const char *const *lowers;  /* read-only layer trees, bottom to top (overlay
				       format: 0:0 char devices are whiteouts) */
	size_t n_lowers;            /* 0: an empty root */
	const char *scratch;        /* directory owned by the sandbox run (created if
				       missing; must be empty or absent) */
	const char *upper;          /* NULL: <scratch>/upper. Created, must be empty;
				       on another filesystem than scratch, overlayfs
				       refuses it and the copy fallback runs */
	const char *const *argv;    /* NULL-terminated, argv[0] looked up in PATH */
	const char *const *env;     /* NULL-terminated KEY=VALUE, or NULL */
	const char *user;           /* "", "name", "uid", "name:group", "uid:gid" */
	const char *cwd;            /* absolute; NULL = "/"; created if missing */
	int net;                    /* enum bld_net_mode */
	const char *hostname;       /* NULL = BLD_SANDBOX_DEFAULT_HOSTNAME */
	const struct bld_mount *mounts;
	size_t n_mounts;
	bld_output_fn output;       /* NULL: output is discarded */
	void *output_ud;
	int cancel_fd;              /* readable (or EOF) = cancel; <= 0 = none (so a
				       zeroed spec does not watch stdin) */
	uint64_t memory_limit;      /* bytes, 0 = none */
	uint64_t pids_limit;        /* 0 = none */
	unsigned flags;             /* enum bld_sandbox_flags */
};

struct bld_sandbox_result {
	int exit_code;      /* valid when !signaled */
	int signal;         /* the signal that killed the command, else 0 */
	bool signaled;
	bool cancelled;     /* stopped by bld_sandbox_kill, cancel_fd or the callback */
	bool used_fallback; /* the copy-on-start fallback ran (no overlayfs); pass
			       BLD_SANDBOX_NO_OVERLAY next time to skip the probe */
	char *upper;        /* the upper directory (overlay format), owned */
	char **notices;     /* human-readable notes for the progress output, owned */
	size_t n_notices;
};

struct bld_sandbox;

/* Sets up the scratch directory and starts the command; output starts to be
 * delivered in bld_sandbox_wait. A failure to set up the container (bad user,
 * missing command, mount failure) is reported by bld_sandbox_wait. */
int bld_sandbox_start(const struct bld_sandbox_spec *spec, struct bld_sandbox **out,
		      struct berr **err);
/* Pumps output until the command ends, then tears everything down (the
 * command's namespaces are gone when this returns) and fills *res. Returns -1
 * with *err when the container could not be set up or the command not be
 * started (BERR_NOTFOUND for an unknown user or command); a command that ran
 * and failed is a success here: look at res. */
int bld_sandbox_wait(struct bld_sandbox *sb, struct bld_sandbox_result *res, struct berr **err);
/* Async-signal-safe: may be called from a SIGINT/SIGTERM handler or another
 * thread. Kills the command's PID 1 (and so its whole PID namespace). */
void bld_sandbox_kill(struct bld_sandbox *sb);
void bld_sandbox_free(struct bld_sandbox *sb);
/* start + wait + free */
int bld_sandbox_run(const struct bld_sandbox_spec *spec, struct bld_sandbox_result *res,
		    struct berr **err);
void bld_sandbox_result_release(struct bld_sandbox_result *res);

/* Removes a scratch directory tree (after the upper has been consumed). */
int bld_sandbox_remove_tree(const char *path, struct berr **err);

/* ---- diff: the upper directory as layer changes ---- */

enum bld_change_kind {
	BLD_CHANGE_ADD = 1,  /* added or modified: file, dir, symlink, device, fifo */
	BLD_CHANGE_HARDLINK, /* another name of an inode reported earlier as `link` */
	BLD_CHANGE_WHITEOUT, /* path was deleted (layer entry dir/.wh.name) */
	BLD_CHANGE_OPAQUE,   /* directory path hides all lower content (.wh..wh..opq);
				reported right after the directory's own ADD */
};

struct bld_change {
	int kind;              /* enum bld_change_kind */
	const char *path;      /* relative to the root, no leading '/', e.g. "etc/x" */
	const char *src;       /* host path in the upper dir (ADD, HARDLINK), else NULL */
	const struct stat *st; /* lstat of src (ADD, HARDLINK), else NULL */
	const char *link;      /* HARDLINK: path of the first name; else NULL */
};

/* Strings in *c are valid during the callback only. Non-zero stops the walk
 * (return -1 with *err set to fail it). */
typedef int (*bld_change_fn)(void *ud, const struct bld_change *c, struct berr **err);

/* Walks an upper directory in byte order, parents before children, and
 * reports every change. Overlay whiteouts (0:0 character devices, or empty
 * files with an overlay.whiteout xattr) become WHITEOUT, directories with
 * trusted.overlay.opaque=y or user.overlay.opaque=y get an OPAQUE after their
 * ADD. */
int bld_sandbox_diff(const char *upper, bld_change_fn fn, void *ud, struct berr **err);

#endif
