/* USER resolution the way runc/Docker do it: the user string ("", "name",
 * "uid", "name:group", "uid:gid", any mix) is looked up in the image's
 * /etc/passwd and /etc/group, read inside the root with
 * openat2(RESOLVE_IN_ROOT) so that symlinks in the image cannot point the
 * reader at host files.
 *
 * - a name must exist in /etc/passwd (a group name in /etc/group);
 * - a number need not exist; it then gets gid 0 and home "/";
 * - without an explicit group, the primary gid comes from /etc/passwd and
 *   the supplementary groups are every /etc/group entry listing the user's
 *   name; with an explicit group there are no supplementary groups (runc);
 * - ids are 0..2147483647.
 * Missing or unreadable files count as empty. */
#ifndef BERTH_BLD_USER_H
#define BERTH_BLD_USER_H

#include <sys/types.h>
#include "common/berr.h"

#define BLD_USER_MAX_FILE (4u << 20)   /* /etc/passwd, /etc/group */
#define BLD_USER_MAX_GROUPS 256        /* supplementary groups kept */
#define BLD_USER_MAX_ID 2147483647L

struct bld_user {
	uid_t uid;
	gid_t gid;
	gid_t groups[BLD_USER_MAX_GROUPS];
	size_t n_groups;
	char home[256];     /* from /etc/passwd, "/" when unknown or too long */
};

/* rootfd: directory fd of the container root. */
int bld_user_resolve(int rootfd, const char *spec, struct bld_user *out, struct berr **err);

#endif
