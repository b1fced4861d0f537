/* RUN --mount=type=cache directories with BuildKit's sharing modes, and
 * --ssh agent sockets (bld_runmount.h). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_runmount.h"
#include "image/img_digest.h"
#include "common/common.h"

/* Characters of an id kept in the directory name (the rest become '_') */
static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_';
}

/* Longest readable part of the id in the directory name */
#define CACHE_NAME_MAX 64

static char *cache_name(const char *id)
{
	struct img_digest d;
	img_digest_bytes(id, strlen(id), &d);
	char part[CACHE_NAME_MAX + 1];
	size_t n = 0;
	for (const char *p = id; *p && n < CACHE_NAME_MAX; p++)
		part[n++] = name_char(*p) ? *p : '_';
	part[n] = '\0';
	/* "sha256:" + 12 hex digits tell ids with the same readable part apart */
	return xasprintf("%s-%.12s", part, d.s + 7);
}

static int open_lock(const char *path, struct berr **err)
{
	int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		berr_set_errno(err, BERR_IO, errno, "open cache lock '%s'", path);
	return fd;
}

static bool cancelled(int cancel_fd)
{
	if (cancel_fd <= 0)
		return false;
	struct pollfd pf = { .fd = cancel_fd, .events = POLLIN };
	return poll(&pf, 1, 0) > 0;
}

/* Period at which a blocked locked-mode wait looks at the cancel fd */
#define LOCK_POLL_MS 100

static int lock_wait(int fd, int cancel_fd, const char *id, struct berr **err)
{
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			return 0;
		if (errno != EWOULDBLOCK && errno != EINTR)
			return berr_set_errno(err, BERR_IO, errno, "lock cache mount '%s'", id);
		if (cancelled(cancel_fd))
			return berr_set(err, BERR_FAILED,
					"cancelled while waiting for cache mount '%s'", id);
		/* flock cannot wait on two things; a short sleep-and-retry keeps
		 * the wait cancellable without a thread */
		struct pollfd pf = { .fd = cancel_fd > 0 ? cancel_fd : -1, .events = POLLIN };
		poll(&pf, 1, LOCK_POLL_MS);
	}
}

static int make_dir(const char *dir, mode_t mode, uid_t uid, gid_t gid, struct berr **err)
{
	if (mkdir(dir, mode) == 0) {
		/* mkdir applies the umask; chmod sets what the mount asked for */
		if (chown(dir, uid, gid) < 0 || chmod(dir, mode) < 0)
			return berr_set_errno(err, BERR_IO, errno, "set up cache mount '%s'", dir);
		return 0;
	}
	if (errno != EEXIST)
		return berr_set_errno(err, BERR_IO, errno, "create cache mount '%s'", dir);
	struct stat st;
	if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
		return berr_set(err, BERR_IO, "cache mount '%s' is not a directory", dir);
	return 0;
}

/* The directory made (or found) under the lock held by fd, both given to
 * out; fd is closed on failure. */
static int hand_over(struct bld_cache_mount *out, char **dir, int fd, mode_t mode, uid_t uid,
		     gid_t gid, struct berr **err)
{
	if (make_dir(*dir, mode, uid, gid, err) < 0) {
		close(fd);
		return -1;
	}
	out->dir = steal_pointer(dir);
	out->lock_fd = fd;
	return 0;
}

int bld_cache_mount_acquire(const char *mounts_dir, const char *id, const char *sharing,
			    mode_t mode, uid_t uid, gid_t gid, int cancel_fd,
			    bld_cache_wait_fn on_wait, void *ud, struct bld_cache_mount *out,
			    struct berr **err)
{
	memset(out, 0, sizeof(*out));
	out->lock_fd = -1;
	if (!sharing || !*sharing)
		sharing = "shared";
	if (bfile_mkdir_p(mounts_dir, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *name = cache_name(id);
	if (!strcmp(sharing, "private")) {
		for (unsigned n = 0; n < BLD_CACHE_PRIVATE_MAX; n++) {
			_cleanup_free_ char *dir = n ? xasprintf("%s/%s.%u", mounts_dir, name, n)
						     : xasprintf("%s/%s", mounts_dir, name);
			_cleanup_free_ char *lk = xasprintf("%s.lock", dir);
			int fd = open_lock(lk, err);
			if (fd < 0)
				return -1;
			if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
				int e = errno;
				close(fd);
				if (e == EWOULDBLOCK)
					continue;
				return berr_set_errno(err, BERR_IO, e, "lock cache mount '%s'", id);
			}
			return hand_over(out, &dir, fd, mode, uid, gid, err);
		}
		return berr_set(err, BERR_LIMIT,
				"cache mount '%s': more than %d private copies are in use", id,
				BLD_CACHE_PRIVATE_MAX);
	}
	_cleanup_free_ char *dir = xasprintf("%s/%s", mounts_dir, name);
	_cleanup_free_ char *lk = xasprintf("%s.lock", dir);
	int fd = open_lock(lk, err);
	if (fd < 0)
		return -1;
	if (!strcmp(sharing, "locked")) {
		if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
			if (errno != EWOULDBLOCK) {
				int e = errno;
				close(fd);
				return berr_set_errno(err, BERR_IO, e, "lock cache mount '%s'", id);
			}
			out->waited = true;
			if (on_wait)
				on_wait(ud, id);
			if (lock_wait(fd, cancel_fd, id, err) < 0) {
				close(fd);
				return -1;
			}
		}
	} else {
		/* shared: marks the directory busy for private users; a locked
		 * holder does not make a shared user wait (as BuildKit) */
		(void)flock(fd, LOCK_SH | LOCK_NB);
	}
	return hand_over(out, &dir, fd, mode, uid, gid, err);
}

void bld_cache_mount_release(struct bld_cache_mount *m)
{
	if (!m)
		return;
	if (m->lock_fd >= 0)
		close(m->lock_fd);
	free(m->dir);
	m->dir = NULL;
	m->lock_fd = -1;
}

/* --ssh value: "ID" or "ID=PATH[,PATH...]"; *id and *path point into v's
 * copy `dup` */
static void ssh_split(char *dup, char **id, char **path)
{
	char *eq = strchr(dup, '=');
	*id = dup;
	*path = NULL;
	if (eq) {
		*eq = '\0';
		*path = eq + 1;
	}
}

static int ssh_path_check(const char *id, const char *path, struct berr **err)
{
	if (strchr(path, ','))
		return berr_set(err, BERR_UNSUPPORTED,
				"--ssh %s: several sockets or keys are not supported; give one "
				"ssh-agent socket", id);
	struct stat st;
	if (stat(path, &st) < 0)
		return berr_set_errno(err, BERR_NOTFOUND, errno, "--ssh %s: '%s'", id, path);
	if (!S_ISSOCK(st.st_mode))
		return berr_set(err, BERR_UNSUPPORTED,
				"--ssh %s: '%s' is not a socket (key files are not loaded by berth: "
				"add the key to an ssh-agent with ssh-add and pass its socket)",
				id, path);
	return 0;
}

char *bld_ssh_socket(char *const *ssh, size_t nssh, const char *id, struct berr **err)
{
	for (size_t i = 0; i < nssh; i++) {
		_cleanup_free_ char *dup = xstrdup(ssh[i]);
		char *sid, *path;
		ssh_split(dup, &sid, &path);
		if (strcmp(sid, id))
			continue;
		if (!path || !*path) {
			path = getenv("SSH_AUTH_SOCK");
			if (!path || !*path) {
				berr_set(err, BERR_INPUT,
					 "--ssh %s: SSH_AUTH_SOCK is not set (start an ssh-agent or "
					 "give --ssh %s=SOCKET)", sid, sid);
				return NULL;
			}
		}
		if (ssh_path_check(sid, path, err) < 0)
			return NULL;
		return xstrdup(path);
	}
	berr_set(err, BERR_NOTFOUND, "ssh agent '%s' not given", id);
	return NULL;
}

int bld_ssh_check(char *const *ssh, size_t nssh, struct berr **err)
{
	for (size_t i = 0; i < nssh; i++) {
		_cleanup_free_ char *dup = xstrdup(ssh[i]);
		char *sid, *path;
		ssh_split(dup, &sid, &path);
		if (!*sid)
			return berr_set(err, BERR_USAGE,
					"invalid --ssh '%s' (want default|ID[=SOCKET])", ssh[i]);
		_cleanup_free_ char *s = bld_ssh_socket(ssh, nssh, sid, err);
		if (!s)
			return -1;
	}
	return 0;
}
