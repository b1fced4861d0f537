/* openat2 resolution with a user-space fallback (bopen.h). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "common/bopen.h"
#include "common/common.h"

/* links one resolution may follow: the kernel's MAXSYMLINKS */
#define BOPEN_MAX_LINKS 40

/* set once openat2 is known to be missing in this process */
static atomic_bool openat2_gone;

struct res {
	int base;   /* the root or base directory: never closed here */
	int *fds;   /* directories entered below base, deepest last */
	size_t n, cap;
	char *path; /* what is left to resolve (a link's target is spliced in) */
	size_t pos;
	bool in_root;
	int links;
};

static int top(const struct res *r)
{
	return r->n ? r->fds[r->n - 1] : r->base;
}

static void up(struct res *r)
{
	close(r->fds[--r->n]);
}

static void back_to_base(struct res *r)
{
	while (r->n)
		up(r);
}

static void down(struct res *r, int fd)
{
	XGROW(r->fds, r->n + 1, r->cap);
	r->fds[r->n++] = fd;
}

/* The next component at r->pos into name (NUL-terminated); r->pos moves
 * past it. *last: nothing follows. A trailing "/" yields a final "." so
 * that "file/" is ENOTDIR, as in the kernel. */
static int next(struct res *r, char name[NAME_MAX + 1], bool *last)
{
	const char *p = r->path + r->pos;
	while (*p == '/')
		p++;
	if (!*p) {
		/* only after a "/": the walk stops at a component with nothing
		 * after it, and neither a path nor a link target is empty */
		r->pos = (size_t)(p - r->path);
		memcpy(name, ".", 2);
		*last = true;
		return 0;
	}
	size_t len = strcspn(p, "/");
	if (len > NAME_MAX) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memcpy(name, p, len);
	name[len] = '\0';
	r->pos = (size_t)(p + len - r->path);
	*last = !p[len];
	return 0;
}

/* Replaces the link just passed (whose descriptor is linkfd, O_PATH) by
 * its target in what is left of the path. */
static int splice_link(struct res *r, int linkfd)
{
	char t[PATH_MAX];
	if (++r->links > BOPEN_MAX_LINKS) {
		errno = ELOOP;
		return -1;
	}
	ssize_t n = readlinkat(linkfd, "", t, sizeof(t));
	if (n < 0)
		return -1;
	if (n == 0) {
		errno = ENOENT;
		return -1;
	}
	if ((size_t)n == sizeof(t)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	if (t[0] == '/')
		back_to_base(r); /* in the root: "/" is the root */
	const char *rest = r->path + r->pos;
	size_t rl = strlen(rest);
	char *np = xmalloc((size_t)n + rl + 1);
	memcpy(np, t, (size_t)n);
	memcpy(np + n, rest, rl + 1);
	free(r->path);
	r->path = np;
	r->pos = 0;
	return 0;
}

/* What a link met where the caller follows it does: spliced in the root,
 * refused beneath. 0: go on with the path. */
static int met_link(struct res *r, int linkfd)
{
	if (!r->in_root) {
		errno = ELOOP;
		return -1;
	}
	return splice_link(r, linkfd);
}

/* The last component, name, below top(r): 1 with *out set when opened, 0
 * when it was a link now spliced into the path, -1 on error. */
static int open_last(struct res *r, const char *name, int flags, int *out)
{
	int dir = top(r);
	bool follow = !(flags & O_NOFOLLOW);
	if (!strcmp(name, ".") || !follow) {
		*out = openat(dir, name, flags | O_CLOEXEC);
		return *out < 0 ? -1 : 1;
	}
	if (flags & O_PATH) {
		/* O_PATH|O_NOFOLLOW opens a link itself: look at what came */
		int fd = openat(dir, name, (flags & ~O_DIRECTORY) | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			return -1;
		struct stat st;
		if (fstat(fd, &st) < 0) {
			int e = errno;
			close(fd);
			errno = e;
			return -1;
		}
		if (S_ISLNK(st.st_mode)) {
			int rc = met_link(r, fd);
			int e = errno;
			close(fd);
			errno = e;
			return rc;
		}
		if ((flags & O_DIRECTORY) && !S_ISDIR(st.st_mode)) {
			close(fd);
			errno = ENOTDIR;
			return -1;
		}
		*out = fd;
		return 1;
	}
	/* anything else would follow a link, so look first; the open itself
	 * carries O_NOFOLLOW: a name made a link since then fails (ELOOP) */
	int probe = openat(dir, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	if (probe >= 0) {
		struct stat st;
		int rc = fstat(probe, &st) == 0 && S_ISLNK(st.st_mode) ? met_link(r, probe) : 1;
		int e = errno;
		close(probe);
		errno = e;
		if (rc <= 0)
			return rc;
	}
	/* a failed probe: the open below says why */
	*out = openat(dir, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return *out < 0 ? -1 : 1;
}

/* there is no mode argument: these are not for creating files */
static bool creating(int flags)
{
	return (flags & O_CREAT) || (flags & O_TMPFILE) == O_TMPFILE;
}

static int resolve(int base, const char *rel, int flags, bool in_root)
{
	if (creating(flags)) {
		errno = EINVAL;
		return -1;
	}
	if (!*rel) {
		errno = ENOENT;
		return -1;
	}
	if (!in_root && rel[0] == '/') {
		errno = EXDEV;
		return -1;
	}
	struct res r = { .base = base, .path = xstrdup(rel), .in_root = in_root };
	int fd = -1;
	for (;;) {
		char name[NAME_MAX + 1];
		bool last;
		if (next(&r, name, &last) < 0)
			break;
		if (!strcmp(name, "..")) {
			if (r.n) {
				up(&r);
			} else if (!in_root) {
				errno = EXDEV;
				break;
			} /* in the root, ".." of the root is the root */
			memcpy(name, ".", 2);
		}
		if (last) {
			int rc = open_last(&r, name, flags, &fd);
			if (rc == 0)
				continue;
			break;
		}
		if (!strcmp(name, "."))
			continue;
		int c = openat(top(&r), name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
		if (c < 0)
			break;
		struct stat st;
		int rc = fstat(c, &st);
		if (rc == 0 && S_ISDIR(st.st_mode)) {
			down(&r, c);
			continue;
		}
		if (rc == 0 && S_ISLNK(st.st_mode))
			rc = met_link(&r, c);
		else if (rc == 0) {
			errno = ENOTDIR;
			rc = -1;
		}
		int e = errno;
		close(c);
		errno = e;
		if (rc < 0)
			break;
	}
	int e = errno;
	back_to_base(&r);
	free(r.fds);
	free(r.path);
	errno = e;
	return fd;
}

int bopen_in_root_walk(int rootfd, const char *rel, int flags)
{
	return resolve(rootfd, rel, flags, true);
}

int bopen_beneath_walk(int basefd, const char *rel, int flags)
{
	return resolve(basefd, rel, flags, false);
}

/* ENOSYS is a kernel or a filter without the call; EPERM may also be the
 * file's own answer, so "/" is asked too */
static bool openat2_missing(int e)
{
	if (e != ENOSYS && e != EPERM)
		return false;
	struct open_how how = { .flags = O_PATH | O_CLOEXEC };
	int fd = (int)syscall(SYS_openat2, AT_FDCWD, "/", &how, sizeof(how));
	if (fd >= 0) {
		close(fd);
		return false;
	}
	if (errno != ENOSYS && errno != EPERM)
		return false;
	atomic_store_explicit(&openat2_gone, true, memory_order_relaxed);
	return true;
}

static int open2(int dirfd, const char *rel, int flags, uint64_t resolve_flags, bool in_root)
{
	if (!creating(flags) && !atomic_load_explicit(&openat2_gone, memory_order_relaxed)) {
		struct open_how how = { .flags = (uint64_t)flags | O_CLOEXEC,
					.resolve = resolve_flags };
		int fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
		int e = errno;
		if (fd >= 0 || !openat2_missing(e)) {
			errno = e;
			return fd;
		}
	}
	return resolve(dirfd, rel, flags, in_root);
}

int bopen_in_root(int rootfd, const char *rel, int flags)
{
	return open2(rootfd, rel, flags, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS, true);
}

int bopen_beneath(int basefd, const char *rel, int flags)
{
	return open2(basefd, rel, flags,
		     RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS, false);
}
