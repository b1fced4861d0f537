/* Internals shared by the bld_sandbox_*.c files (not a public interface).
 *
 * Status pipe protocol (container side -> berth): records of one type byte,
 * a 4-byte length and a payload, each written with one write(2) smaller than
 * PIPE_BUF so that records of the helper and of PID 1 never interleave. */
#ifndef BERTH_BLD_SANDBOX_INT_H
#define BERTH_BLD_SANDBOX_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "builder/bld_sandbox.h"
#include "common/berr.h"

#define SB_MSG_MAX 3800

enum sb_msg {
	SB_MSG_PID = 'P',      /* int32: host pid of the command (PID 1) */
	SB_MSG_MOUNTPOINT = 'M', /* 'd'|'f' + path relative to the root */
	SB_MSG_ERROR = 'E',    /* int32 code, int32 errno, message */
	SB_MSG_NO_OVERLAY = 'O', /* message: overlay mount failed, use the fallback */
	SB_MSG_EXIT = 'X',     /* int32: wait status of PID 1 */
	SB_MSG_NOTICE = 'N',   /* message */
};

/* Everything the container side needs, prepared before fork. */
struct sb_cfg {
	char **lowers;          /* bottom to top */
	size_t n_lowers;
	char *upper, *work, *merged; /* overlay dirs; merged is the mount point */
	char *copy_root;        /* fallback: the copied root (bound on itself) */
	char *hosts, *resolv, *hostname_file, *secrets_dir;
	char **argv, **env;     /* env includes PATH and HOME defaults */
	char *user, *cwd, *hostname;
	int net;
	struct bld_mount *mounts;
	size_t n_mounts;
	unsigned flags;
	bool userns;
	uid_t outer_uid;
	gid_t outer_gid;
	char **cgroup_procs;    /* cgroup.procs files to join */
	size_t n_cgroup_procs;
	int status_fd, out_fd, err_fd;
	pid_t parent_pid;
};

/* The helper process: never returns. */
void sb_child_main(struct sb_cfg *cfg) __attribute__((noreturn));

/* Copy-on-start fallback. */
struct sb_snapshot;
int sb_snapshot_create(char *const *lowers, size_t n, const char *root,
		       struct sb_snapshot **out, struct berr **err);
/* Writes the changes of root against the snapshot into upper (overlay
 * format). */
int sb_snapshot_diff(struct sb_snapshot *s, const char *root, const char *upper,
		     struct berr **err);
void sb_snapshot_free(struct sb_snapshot *s);

/* cgroup limits: returns the cgroup.procs paths to join; notices on failure. */
struct sb_cgroup {
	char **dirs;
	size_t n;
	char **procs;
};
void sb_cgroup_setup(struct sb_cgroup *cg, uint64_t memory, uint64_t pids, const char *tag,
		     char ***notices, size_t *n_notices);
void sb_cgroup_remove(struct sb_cgroup *cg);

/* rm -rf that never follows symlinks */
int sb_remove_tree(const char *path, struct berr **err);

#endif
