/* Container side of the sandbox: the helper (namespaces, waits for PID 1)
 * and PID 1 (mounts, pivot_root, credentials, exec). Runs after fork; any
 * failure is sent on the status pipe and ends the process. */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include "builder/bld_sandbox_int.h"
#include "builder/bld_user.h"
#include "common/bopen.h"
#include "common/common.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* overlay options that keep the upper dir a plain diff: no redirects or
 * metadata-only copy-ups (which would need the lowers to be read back) */
#define OVL_PLAIN_OPTS "index=off,redirect_dir=off,metacopy=off,volatile"

/* ---- status pipe ---- */

static void send_msg(int fd, int type, const void *p, size_t n)
{
	char buf[5 + SB_MSG_MAX];
	if (n > SB_MSG_MAX)
		n = SB_MSG_MAX;
	buf[0] = (char)type;
	uint32_t len = (uint32_t)n;
	memcpy(buf + 1, &len, 4);
	memcpy(buf + 5, p, n);
	ssize_t w;
	do
		w = write(fd, buf, 5 + n);
	while (w < 0 && errno == EINTR);
}

static void send_int(int fd, int type, int32_t v)
{
	send_msg(fd, type, &v, sizeof(v));
}

static void send_text(int fd, int type, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void send_text(int fd, int type, const char *fmt, ...)
{
	char text[SB_MSG_MAX];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	send_msg(fd, type, text, strlen(text));
}

/* Sends *err (or a generic message) and exits: used for every setup error. */
static void die_err(struct sb_cfg *cfg, struct berr *err) __attribute__((noreturn));
static void die_err(struct sb_cfg *cfg, struct berr *err)
{
	char buf[SB_MSG_MAX];
	int32_t code = err ? err->code : BERR_INTERNAL, en = err ? err->errnum : 0;
	memcpy(buf, &code, 4);
	memcpy(buf + 4, &en, 4);
	snprintf(buf + 8, sizeof(buf) - 8, "%s", err ? err->msg : "sandbox setup failed");
	send_msg(cfg->status_fd, SB_MSG_ERROR, buf, 8 + strlen(buf + 8));
	_exit(127);
}

static void die_errno(struct sb_cfg *cfg, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4), noreturn));
static void die_errno(struct sb_cfg *cfg, int code, const char *fmt, ...)
{
	int en = errno;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	struct berr *err = NULL;
	berr_set_errno(&err, code, en, "%s", msg);
	die_err(cfg, err);
}

/* ---- paths inside the root ---- */

static char *fd_path(int fd)
{
	char proc[64], buf[4096];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(proc, buf, sizeof(buf) - 1);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

/* Reports a created mountpoint by its resolved path relative to the root
 * so that berth can drop it from the upper dir after the run. */
static void record_created(struct sb_cfg *cfg, const char *root_path, int parentfd,
			   const char *name, char kind)
{
	_cleanup_free_ char *p = fd_path(parentfd);
	if (!p)
		return;
	size_t rl = strlen(root_path);
	const char *rel = "";
	if (strncmp(p, root_path, rl) == 0 && (p[rl] == '/' || p[rl] == '\0'))
		rel = p + rl + (p[rl] == '/');
	char buf[SB_MSG_MAX];
	int n = snprintf(buf, sizeof(buf), "%c%s%s%s", kind, rel, *rel ? "/" : "", name);
	if (n > 0 && (size_t)n < sizeof(buf))
		send_msg(cfg->status_fd, SB_MSG_MOUNTPOINT, buf, (size_t)n);
}

/* Opens (O_PATH) rel inside the root, creating missing directories (and the
 * last component as an empty file when !is_dir). Creation is resolved
 * component by component inside the root, so image symlinks cannot send it
 * outside. With record, created entries are reported as mountpoints. */
static int make_path(struct sb_cfg *cfg, int rootfd, const char *root_path, const char *rel,
		     bool is_dir, bool record)
{
	_cleanup_free_ char *clean = bpath_clean(rel[0] == '/' ? rel + 1 : rel);
	if (strcmp(clean, ".") == 0)
		return bopen_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
	if (!bpath_is_contained(clean)) {
		errno = EINVAL;
		return -1;
	}
	char *p = clean;
	for (;;) {
		char *slash = strchr(p, '/');
		bool last = !slash;
		if (slash)
			*slash = '\0';
		int fd = bopen_in_root(rootfd, clean, O_PATH);
		if (fd < 0 && errno == ENOENT) {
			/* create p in its parent */
			char *sep = strrchr(clean, '/');
			int pfd;
			const char *name = clean;
			if (sep) {
				*sep = '\0';
				pfd = bopen_in_root(rootfd, clean, O_PATH | O_DIRECTORY);
				*sep = '/';
				name = sep + 1;
			} else {
				pfd = bopen_in_root(rootfd, ".", O_PATH | O_DIRECTORY);
			}
			if (pfd < 0)
				return -1;
			int rc;
			if (!last || is_dir) {
				rc = mkdirat(pfd, name, 0755);
			} else {
				rc = openat(pfd, name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC | O_NOFOLLOW, 0644);
				if (rc >= 0)
					close(rc);
			}
			if (rc < 0 && errno != EEXIST) {
				close(pfd);
				return -1;
			}
			if (rc >= 0 && record)
				record_created(cfg, root_path, pfd, name, (!last || is_dir) ? 'd' : 'f');
			close(pfd);
			fd = bopen_in_root(rootfd, clean, O_PATH);
		}
		if (fd < 0)
			return -1;
		if (last)
			return fd;
		close(fd);
		*slash = '/';
		p = slash + 1;
	}
}

static void fdname(char *buf, size_t n, int fd)
{
	snprintf(buf, n, "/proc/self/fd/%d", fd);
}

/* mount onto a path inside the root, resolved safely */
static void mount_in(struct sb_cfg *cfg, int rootfd, const char *root_path, const char *target,
		     bool is_dir, const char *src, const char *fstype, unsigned long flags,
		     const char *data)
{
	int fd = make_path(cfg, rootfd, root_path, target, is_dir, true);
	if (fd < 0)
		die_errno(cfg, BERR_IO, "create mountpoint '%s'", target);
	struct stat st;
	if (fstat(fd, &st) < 0 || (is_dir && !S_ISDIR(st.st_mode)) ||
	    (!is_dir && S_ISDIR(st.st_mode))) {
		errno = is_dir ? ENOTDIR : EISDIR;
		die_errno(cfg, BERR_INPUT, "mountpoint '%s' in the image", target);
	}
	char where[64];
	fdname(where, sizeof(where), fd);
	if (mount(src, where, fstype, flags, data) < 0)
		die_errno(cfg, BERR_IO, "mount %s on '%s'", fstype ? fstype : src, target);
	if ((flags & MS_BIND) && (flags & MS_RDONLY)) {
		/* read-only for the whole bound tree where the kernel can (5.12+) */
		_cleanup_close_ int tfd = bopen_in_root(rootfd, target, O_PATH);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY };
		if (tfd >= 0 && mount_setattr(tfd, "", AT_EMPTY_PATH | ((flags & MS_REC) ? AT_RECURSIVE : 0),
					      &attr, sizeof(attr)) == 0) {
			close(fd);
			return;
		}
		/* else a remount of the top mount; keep the flags the kernel locked */
		struct statvfs sv;
		unsigned long keep = 0;
		_cleanup_close_ int nfd = bopen_in_root(rootfd, target, O_PATH);
		if (nfd >= 0 && fstatvfs(nfd, &sv) == 0)
			keep = sv.f_flag & (ST_NOSUID | ST_NODEV | ST_NOEXEC | ST_NOATIME |
					    ST_NODIRATIME | ST_RELATIME);
		char w2[64];
		fdname(w2, sizeof(w2), nfd);
		if (nfd < 0 || mount(NULL, w2, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | keep, NULL) < 0)
			die_errno(cfg, BERR_IO, "remount '%s' read-only", target);
	}
	close(fd);
}

/* ---- root filesystem ---- */

static int overlay_new_api(struct sb_cfg *cfg, char **lowers, size_t n)
{
	int fs = fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs < 0)
		return -1;
	int rc = -1;
	for (size_t i = n; i-- > 0;)  /* lowerdir+ appends: top first */
		if (fsconfig(fs, FSCONFIG_SET_STRING, "lowerdir+", lowers[i], 0) < 0)
			goto out;
	if (fsconfig(fs, FSCONFIG_SET_STRING, "upperdir", cfg->upper, 0) < 0 ||
	    fsconfig(fs, FSCONFIG_SET_STRING, "workdir", cfg->work, 0) < 0)
		goto out;
	/* best effort: not every kernel knows every option */
	fsconfig(fs, FSCONFIG_SET_STRING, "index", "off", 0);
	fsconfig(fs, FSCONFIG_SET_STRING, "redirect_dir", "off", 0);
	fsconfig(fs, FSCONFIG_SET_STRING, "metacopy", "off", 0);
	/* the upper dir of a failed or interrupted run is thrown away, so
	 * the unmount need not sync it (that sync dominates the teardown) */
	fsconfig(fs, FSCONFIG_SET_FLAG, "volatile", NULL, 0);
	if (cfg->userns && fsconfig(fs, FSCONFIG_SET_FLAG, "userxattr", NULL, 0) < 0)
		goto out;
	if (fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		goto out;
	int m = fsmount(fs, FSMOUNT_CLOEXEC, cfg->userns ? 0 : MOUNT_ATTR_NODEV);
	if (m < 0)
		goto out;
	rc = move_mount(m, "", AT_FDCWD, cfg->merged, MOVE_MOUNT_F_EMPTY_PATH);
	int e = errno;
	close(m);
	errno = e;
out:;
	int e2 = errno;
	close(fs);
	errno = e2;
	return rc;
}

/* mount(2) with the one-page option string: lowers are named by short
 * /proc/self/fd paths when their real paths do not fit (or contain the
 * option separators ',' and ':'). */
static int legacy_opts(struct sb_cfg *cfg, char **lowers, size_t n, bool short_names,
		       int *fds, size_t *nfd, struct bbuf *b)
{
	bbuf_reset(b);
	bbuf_addstr(b, "lowerdir=", NULL);
	for (size_t i = n; i-- > 0;) {
		if (short_names) {
			int fd = open(lowers[i], O_PATH | O_DIRECTORY | O_CLOEXEC);
			if (fd < 0)
				return -1;
			fds[(*nfd)++] = fd;
			bbuf_addf(b, NULL, "/proc/self/fd/%d", fd);
		} else {
			bbuf_addstr(b, lowers[i], NULL);
		}
		if (i)
			bbuf_addch(b, ':', NULL);
	}
	bbuf_addf(b, NULL, ",upperdir=%s,workdir=%s", cfg->upper, cfg->work);
	if (cfg->userns)
		bbuf_addstr(b, ",userxattr", NULL);
	return 0;
}

static int overlay_legacy(struct sb_cfg *cfg, char **lowers, size_t n)
{
	struct bbuf b = BBUF_INIT;
	int fds[BLD_SANDBOX_MAX_LOWERS];
	size_t nfd = 0;
	int rc = -1;
	bool short_names = false;
	for (size_t i = 0; i < n; i++)
		if (strpbrk(lowers[i], ":,\\"))
			short_names = true;
	if (legacy_opts(cfg, lowers, n, short_names, fds, &nfd, &b) < 0)
		goto out;
	if (!short_names && b.len + sizeof(OVL_PLAIN_OPTS) + 1 >= 4096 &&
	    legacy_opts(cfg, lowers, n, true, fds, &nfd, &b) < 0)
		goto out;
	size_t base = b.len;
	bbuf_addf(&b, NULL, ",%s", OVL_PLAIN_OPTS);
	unsigned long fl = cfg->userns ? 0 : MS_NODEV;
	rc = mount("overlay", cfg->merged, "overlay", fl, bbuf_str(&b));
	if (rc < 0 && errno == EINVAL) {
		b.data[base] = '\0'; /* an older kernel without these options */
		rc = mount("overlay", cfg->merged, "overlay", fl, bbuf_str(&b));
	}
out:;
	int e = errno;
	for (size_t i = 0; i < nfd; i++)
		close(fds[i]);
	bbuf_release(&b);
	errno = e;
	return rc;
}

static const char *mount_root(struct sb_cfg *cfg)
{
	if (cfg->copy_root) {
		if (mount(cfg->copy_root, cfg->copy_root, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_errno(cfg, BERR_IO, "bind the root '%s'", cfg->copy_root);
		return cfg->copy_root;
	}
	int rc = -1;
	if (!(cfg->flags & BLD_SANDBOX_LEGACY_MOUNT))
		rc = overlay_new_api(cfg, cfg->lowers, cfg->n_lowers);
	if (rc < 0)
		rc = overlay_legacy(cfg, cfg->lowers, cfg->n_lowers);
	if (rc < 0) {
		send_text(cfg->status_fd, SB_MSG_NO_OVERLAY, "overlayfs mount failed: %s",
			  strerror(errno));
		_exit(127);
	}
	return cfg->merged;
}

struct devnode {
	const char *name;
	unsigned maj, min;
};
static const struct devnode dev_nodes[] = {
	{ "null", 1, 3 }, { "zero", 1, 5 }, { "full", 1, 7 },
	{ "random", 1, 8 }, { "urandom", 1, 9 }, { "tty", 5, 0 },
};

static void setup_dev(struct sb_cfg *cfg, int rootfd, const char *root_path)
{
	mount_in(cfg, rootfd, root_path, "/dev", true, "tmpfs", "tmpfs",
		 MS_NOSUID | MS_STRICTATIME, "mode=755,size=65536k");
	_cleanup_close_ int dev = bopen_in_root(rootfd, "dev", O_PATH | O_DIRECTORY);
	if (dev < 0)
		die_errno(cfg, BERR_IO, "open '/dev'");
	for (size_t i = 0; i < ARRAY_SIZE(dev_nodes); i++) {
		const struct devnode *d = &dev_nodes[i];
		if (!cfg->userns) {
			if (mknodat(dev, d->name, S_IFCHR | 0666, makedev(d->maj, d->min)) < 0)
				die_errno(cfg, BERR_IO, "mknod '/dev/%s'", d->name);
			/* umask may have masked the mode */
			char p[64];
			snprintf(p, sizeof(p), "dev/%s", d->name);
			_cleanup_close_ int f = bopen_in_root(rootfd, p, O_PATH);
			if (f >= 0) {
				char w[64];
				fdname(w, sizeof(w), f);
				chmod(w, 0666);
			}
		} else {
			/* no mknod in a user namespace: bind the host's nodes */
			int f = openat(dev, d->name, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0666);
			if (f < 0)
				die_errno(cfg, BERR_IO, "create '/dev/%s'", d->name);
			char src[64], w[64];
			snprintf(src, sizeof(src), "/dev/%s", d->name);
			fdname(w, sizeof(w), f);
			if (mount(src, w, NULL, MS_BIND, NULL) < 0)
				die_errno(cfg, BERR_IO, "bind '/dev/%s'", d->name);
			close(f);
		}
	}
	static const char *const links[][2] = {
		{ "ptmx", "pts/ptmx" }, { "fd", "/proc/self/fd" }, { "stdin", "/proc/self/fd/0" },
		{ "stdout", "/proc/self/fd/1" }, { "stderr", "/proc/self/fd/2" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(links); i++)
		if (symlinkat(links[i][1], dev, links[i][0]) < 0)
			die_errno(cfg, BERR_IO, "symlink '/dev/%s'", links[i][0]);
	if (mkdirat(dev, "pts", 0755) < 0 || mkdirat(dev, "shm", 01777) < 0)
		die_errno(cfg, BERR_IO, "create directories in '/dev'");
	mount_in(cfg, rootfd, root_path, "/dev/pts", true, "devpts", "devpts",
		 MS_NOSUID | MS_NOEXEC, "newinstance,ptmxmode=0666,mode=0620");
	mount_in(cfg, rootfd, root_path, "/dev/shm", true, "shm", "tmpfs",
		 MS_NOSUID | MS_NODEV | MS_NOEXEC, "mode=1777,size=65536k");
	/* /dev itself read-only: a RUN with CAP_MKNOD must not create nodes it
	 * could open (the root is nodev) */
	char w[64];
	fdname(w, sizeof(w), dev);
	if (mount(NULL, w, NULL, MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_STRICTATIME | (cfg->userns ? MS_NODEV : 0), NULL) < 0 &&
	    !cfg->userns)
		die_errno(cfg, BERR_IO, "remount '/dev' read-only");
}

static void setup_secret(struct sb_cfg *cfg, int rootfd, const char *root_path,
			 const struct bld_mount *m, int idx, bool *mounted)
{
	/* the tmpfs is mounted in this mount namespace only: the content never
	 * touches a disk and disappears with the container */
	if (!*mounted) {
		if (mount("tmpfs", cfg->secrets_dir, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  "mode=700,size=8m") < 0)
			die_errno(cfg, BERR_IO, "mount the secrets tmpfs");
		*mounted = true;
	}
	struct bbuf b = BBUF_INIT;
	struct berr *err = NULL;
	if (bfile_read_all(m->src, BLD_SANDBOX_MAX_SECRET, &b, &err) < 0)
		die_err(cfg, err);
	char path[4200];
	snprintf(path, sizeof(path), "%s/%d", cfg->secrets_dir, idx);
	int fd = open(path, O_CREAT | O_EXCL | O_WRONLY | O_CLOEXEC, 0600);
	if (fd < 0 || bfd_write_all(fd, b.data ? b.data : "", b.len, path, &err) < 0)
		die_errno(cfg, BERR_IO, "write secret for '%s'", m->target);
	if (fchown(fd, m->uid, m->gid) < 0 && !cfg->userns)
		die_errno(cfg, BERR_IO, "chown secret for '%s'", m->target);
	if (fchmod(fd, m->mode ? m->mode : 0400) < 0)
		die_errno(cfg, BERR_IO, "chmod secret for '%s'", m->target);
	close(fd);
	explicit_bzero(b.data, b.len);
	bbuf_release(&b);
	mount_in(cfg, rootfd, root_path, m->target, false, path, NULL,
		 MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
}

/* Docker's read-only and masked paths: uid 0 keeps DAC rights on /proc
 * files even without capabilities (/proc/sysrq-trigger could reboot the
 * host, /proc/sys tunes the host kernel). Paths missing here are skipped. */
static const char *const readonly_paths[] = {
	"proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger", "proc/asound",
};
static const char *const masked_paths[] = {
	"proc/acpi", "proc/kcore", "proc/keys", "proc/latency_stats", "proc/timer_list",
	"proc/timer_stats", "proc/sched_debug", "proc/scsi", "sys/firmware",
	"sys/devices/virtual/powercap",
};

static void harden_paths(struct sb_cfg *cfg, int rootfd)
{
	char w[64];
	for (size_t i = 0; i < ARRAY_SIZE(readonly_paths); i++) {
		_cleanup_close_ int fd = bopen_in_root(rootfd, readonly_paths[i], O_PATH | O_NOFOLLOW);
		if (fd < 0)
			continue;
		fdname(w, sizeof(w), fd);
		if (mount(w, w, NULL, MS_BIND | MS_REC, NULL) < 0)
			die_errno(cfg, BERR_IO, "bind '/%s'", readonly_paths[i]);
		_cleanup_close_ int nfd = bopen_in_root(rootfd, readonly_paths[i], O_PATH | O_NOFOLLOW);
		struct mount_attr attr = { .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID |
							MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC };
		if (nfd < 0 || mount_setattr(nfd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
			fdname(w, sizeof(w), nfd);
			if (nfd < 0 || mount(NULL, w, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
					     MS_NODEV | MS_NOEXEC, NULL) < 0)
				die_errno(cfg, BERR_IO, "make '/%s' read-only", readonly_paths[i]);
		}
	}
	for (size_t i = 0; i < ARRAY_SIZE(masked_paths); i++) {
		_cleanup_close_ int fd = bopen_in_root(rootfd, masked_paths[i], O_PATH | O_NOFOLLOW);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) < 0)
			continue;
		fdname(w, sizeof(w), fd);
		int rc = S_ISDIR(st.st_mode)
			? mount("tmpfs", w, "tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=0")
			: mount("/dev/null", w, NULL, MS_BIND, NULL);
		if (rc < 0)
			die_errno(cfg, BERR_IO, "mask '/%s'", masked_paths[i]);
	}
}

static void setup_mounts(struct sb_cfg *cfg, int rootfd, const char *root_path)
{
	bool secrets_mounted = false;
	mount_in(cfg, rootfd, root_path, "/proc", true, "proc", "proc",
		 MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	/* sysfs needs a network namespace of our own when unprivileged */
	if (!cfg->userns || cfg->net == BLD_NET_NONE)
		mount_in(cfg, rootfd, root_path, "/sys", true, "sysfs", "sysfs",
			 MS_RDONLY | MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL);
	harden_paths(cfg, rootfd);
	setup_dev(cfg, rootfd, root_path);
	mount_in(cfg, rootfd, root_path, "/etc/hosts", false, cfg->hosts, NULL, MS_BIND, NULL);
	mount_in(cfg, rootfd, root_path, "/etc/resolv.conf", false, cfg->resolv, NULL, MS_BIND, NULL);
	mount_in(cfg, rootfd, root_path, "/etc/hostname", false, cfg->hostname_file, NULL, MS_BIND, NULL);
	for (size_t i = 0; i < cfg->n_mounts; i++) {
		const struct bld_mount *m = &cfg->mounts[i];
		switch (m->type) {
		case BLD_MOUNT_BIND: {
			struct stat st;
			if (stat(m->src, &st) < 0)
				die_errno(cfg, BERR_NOTFOUND, "bind mount source '%s'", m->src);
			mount_in(cfg, rootfd, root_path, m->target, S_ISDIR(st.st_mode), m->src, NULL,
				 MS_BIND | MS_REC | (m->rw ? 0 : MS_RDONLY), NULL);
			break;
		}
		case BLD_MOUNT_TMPFS: {
			char opts[96];
			snprintf(opts, sizeof(opts), "mode=%o", m->mode ? (unsigned)m->mode : 01777u);
			if (m->size)
				snprintf(opts + strlen(opts), sizeof(opts) - strlen(opts), ",size=%llu",
					 (unsigned long long)m->size);
			mount_in(cfg, rootfd, root_path, m->target, true, "tmpfs", "tmpfs",
				 MS_NOSUID | MS_NODEV, opts);
			break;
		}
		case BLD_MOUNT_SECRET:
			setup_secret(cfg, rootfd, root_path, m, (int)i, &secrets_mounted);
			break;
		}
	}
}

/* ---- process ---- */

static void loopback_up(struct sb_cfg *cfg)
{
	_cleanup_close_ int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	struct ifreq ifr = { 0 };
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "lo");
	if (s < 0 || ioctl(s, SIOCGIFFLAGS, &ifr) < 0)
		die_errno(cfg, BERR_IO, "get flags of 'lo'");
	ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
	if (ioctl(s, SIOCSIFFLAGS, &ifr) < 0)
		die_errno(cfg, BERR_IO, "bring up 'lo'");
}

/* Docker's default capability set for containers */
static const int default_caps[] = {
	CAP_CHOWN, CAP_DAC_OVERRIDE, CAP_FSETID, CAP_FOWNER, CAP_MKNOD, CAP_NET_RAW,
	CAP_SETGID, CAP_SETUID, CAP_SETFCAP, CAP_SETPCAP, CAP_NET_BIND_SERVICE,
	CAP_SYS_CHROOT, CAP_KILL, CAP_AUDIT_WRITE,
};

static void drop_caps(struct sb_cfg *cfg)
{
	uint64_t keep = 0;
	for (size_t i = 0; i < ARRAY_SIZE(default_caps); i++)
		keep |= 1ULL << default_caps[i];
	for (int c = 0; c <= 63; c++) {
		if (keep & (1ULL << c))
			continue;
		if (prctl(PR_CAPBSET_DROP, c, 0, 0, 0) < 0 && errno != EINVAL)
			die_errno(cfg, BERR_IO, "drop capability %d", c);
	}
	/* no inheritable or ambient capabilities beyond the set */
	prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	memset(d, 0, sizeof(d));
	d[0].effective = d[0].permitted = d[0].inheritable = (uint32_t)keep;
	d[1].effective = d[1].permitted = d[1].inheritable = (uint32_t)(keep >> 32);
	if (syscall(SYS_capset, &h, d) < 0)
		die_errno(cfg, BERR_IO, "set capabilities");
}

static void set_user(struct sb_cfg *cfg, const struct bld_user *u)
{
	drop_caps(cfg);
	if (cfg->userns) {
		if (u->uid != 0 || u->gid != 0) {
			errno = EPERM;
			die_errno(cfg, BERR_UNSUPPORTED,
				  "user %u:%u in an unprivileged sandbox (only root is mapped)",
				  (unsigned)u->uid, (unsigned)u->gid);
		}
		return; /* setgroups is denied, and we already are 0:0 */
	}
	if (setgroups(u->n_groups, u->groups) < 0)
		die_errno(cfg, BERR_IO, "setgroups");
	if (setresgid(u->gid, u->gid, u->gid) < 0)
		die_errno(cfg, BERR_IO, "setgid %u", (unsigned)u->gid);
	if (setresuid(u->uid, u->uid, u->uid) < 0)
		die_errno(cfg, BERR_IO, "setuid %u", (unsigned)u->uid);
}

static const char *env_get(char **env, const char *key)
{
	size_t kl = strlen(key);
	for (size_t i = 0; env[i]; i++)
		if (strncmp(env[i], key, kl) == 0 && env[i][kl] == '=')
			return env[i] + kl + 1;
	return NULL;
}

/* argv[0] through PATH the way runc does (exec.LookPath in the container) */
static char *look_path(struct sb_cfg *cfg, const char *name)
{
	if (strchr(name, '/'))
		return xstrdup(name);
	const char *path = env_get(cfg->env, "PATH");
	if (!path)
		path = BLD_SANDBOX_DEFAULT_PATH;
	const char *p = path;
	for (;;) {
		const char *c = strchr(p, ':');
		size_t n = c ? (size_t)(c - p) : strlen(p);
		char *cand = n ? xasprintf("%.*s/%s", (int)n, p, name) : xasprintf("./%s", name);
		struct stat st;
		if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111))
			return cand;
		free(cand);
		if (!c)
			break;
		p = c + 1;
	}
	errno = ENOENT;
	struct berr *err = NULL;
	berr_set(&err, BERR_NOTFOUND, "executable file '%s' not found in $PATH", name);
	die_err(cfg, err);
}

static void reset_signals(void)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	for (int s = 1; s < NSIG; s++)
		sigaction(s, &sa, NULL);
	sigset_t all;
	sigemptyset(&all);
	sigprocmask(SIG_SETMASK, &all, NULL);
}

static void mark_fds_cloexec(void)
{
	if (syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC) == 0)
		return;
	long max = sysconf(_SC_OPEN_MAX);
	if (max < 0 || max > 65536)
		max = 65536;
	for (int fd = 3; fd < max; fd++)
		fcntl(fd, F_SETFD, FD_CLOEXEC);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Only the command's processes are limited, never the helper (an
 * out-of-memory kill must hit the command, and the helper reports it). */
static void join_cgroups(struct sb_cfg *cfg, pid_t pid)
{
	for (size_t i = 0; i < cfg->n_cgroup_procs; i++) {
		char text[32];
		snprintf(text, sizeof(text), "%d\n", (int)pid);
		if (write_file(cfg->cgroup_procs[i], text) < 0)
			send_text(cfg->status_fd, SB_MSG_NOTICE, "could not join cgroup '%s': %s",
				  cfg->cgroup_procs[i], strerror(errno));
	}
}

static void init_main(struct sb_cfg *cfg) __attribute__((noreturn));
static void init_main(struct sb_cfg *cfg)
{
	/* the umask of the container (Docker's), not berth's: modes of what
	 * the step creates must not depend on who runs the build */
	umask(022);
	if (!cfg->userns)
		join_cgroups(cfg, 0);
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die_errno(cfg, BERR_IO, "make '/' private");
	const char *root = mount_root(cfg);
	int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rootfd < 0)
		die_errno(cfg, BERR_IO, "open root '%s'", root);

	/* WORKDIR is created as part of the step (it stays in the layer) */
	int cwdfd = make_path(cfg, rootfd, root, cfg->cwd, true, false);
	if (cwdfd < 0)
		die_errno(cfg, BERR_IO, "create working directory '%s'", cfg->cwd);
	close(cwdfd);

	struct bld_user u;
	struct berr *err = NULL;
	if (bld_user_resolve(rootfd, cfg->user, &u, &err) < 0)
		die_err(cfg, err);

	setup_mounts(cfg, rootfd, root);
	close(rootfd);

	if (sethostname(cfg->hostname, strlen(cfg->hostname)) < 0)
		die_errno(cfg, BERR_IO, "set hostname");
	if (cfg->net == BLD_NET_NONE)
		loopback_up(cfg);

	if (chdir(root) < 0)
		die_errno(cfg, BERR_IO, "chdir '%s'", root);
	if (syscall(SYS_pivot_root, ".", ".") < 0)
		die_errno(cfg, BERR_IO, "pivot_root");
	if (umount2(".", MNT_DETACH) < 0)
		die_errno(cfg, BERR_IO, "detach the old root");
	if (chdir("/") < 0 || chdir(cfg->cwd) < 0)
		die_errno(cfg, BERR_IO, "chdir '%s'", cfg->cwd);

	/* HOME from /etc/passwd when the image does not set it (runc) */
	if (!env_get(cfg->env, "HOME")) {
		size_t n = 0;
		while (cfg->env[n])
			n++;
		cfg->env = xreallocarray(cfg->env, n + 2, sizeof(char *));
		cfg->env[n] = xasprintf("HOME=%s", u.home);
		cfg->env[n + 1] = NULL;
	}
	char *path = look_path(cfg, cfg->argv[0]);
	set_user(cfg, &u);

	int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(cfg->out_fd, 1) < 0 ||
	    dup2(cfg->err_fd, 2) < 0)
		die_errno(cfg, BERR_IO, "set up stdio");
	reset_signals();
	mark_fds_cloexec();
	execve(path, cfg->argv, cfg->env);
	int en = errno;
	errno = en;
	die_errno(cfg, en == ENOENT ? BERR_NOTFOUND : BERR_FAILED, "exec '%s'", cfg->argv[0]);
}

/* Stack of PID 1 while it shares the helper's memory (see below) */
#define SB_INIT_STACK (1u << 20)

static int init_entry(void *arg)
{
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	init_main(arg);
}

void sb_child_main(struct sb_cfg *cfg)
{
	/* own session: the terminal's ^C goes to berth only, which then
	 * cancels; die with berth */
	setsid();
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != cfg->parent_pid)
		_exit(126);
	reset_signals();

	/* a user namespace cannot join host cgroups: join before creating it */
	if (cfg->userns)
		join_cgroups(cfg, getpid());
	if (cfg->userns) {
		if (unshare(CLONE_NEWUSER) < 0)
			die_errno(cfg, BERR_UNSUPPORTED, "create a user namespace");
		char map[64];
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)cfg->outer_uid);
		if (write_file("/proc/self/uid_map", map) < 0)
			die_errno(cfg, BERR_IO, "write uid_map");
		if (write_file("/proc/self/setgroups", "deny") < 0 && errno != ENOENT)
			die_errno(cfg, BERR_IO, "write setgroups");
		snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)cfg->outer_gid);
		if (write_file("/proc/self/gid_map", map) < 0)
			die_errno(cfg, BERR_IO, "write gid_map");
	}
	int flags = CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWUTS | CLONE_NEWIPC;
	if (cfg->net == BLD_NET_NONE)
		flags |= CLONE_NEWNET;
	if (unshare(flags) < 0)
		die_errno(cfg, BERR_UNSUPPORTED, "create namespaces");
	/* PID 1 is started as posix_spawn starts a child: in the helper's
	 * memory, on its own stack, with the helper suspended until PID 1
	 * execs or exits (CLONE_VM|CLONE_VFORK). So nothing runs beside it, and
	 * no page tables are copied: a fork here would copy berth's whole
	 * address space layout a second time, which the profile of a sandbox
	 * start showed as its largest cost. berth learns the PID after the
	 * exec; a cancel before that is applied when it arrives. */
	void *stack = mmap(NULL, SB_INIT_STACK, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack == MAP_FAILED)
		die_errno(cfg, BERR_IO, "allocate a stack for PID 1");
	pid_t pid = clone(init_entry, (char *)stack + SB_INIT_STACK, CLONE_VM | CLONE_VFORK | SIGCHLD,
			  cfg);
	if (pid < 0)
		die_errno(cfg, BERR_IO, "start PID 1");
	send_int(cfg->status_fd, SB_MSG_PID, pid);
	close(cfg->out_fd);
	close(cfg->err_fd);
	int st;
	while (waitpid(pid, &st, 0) < 0) {
		if (errno != EINTR)
			_exit(126);
	}
	send_int(cfg->status_fd, SB_MSG_EXIT, st);
	_exit(0);
}
