#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "common/barchive.h"
#include "common/bopen.h"
#include "common/common.h"
#include "image/img_apply.h"
#include "image/img_strmap.h"

/* Longest entry name or link target accepted (Linux PATH_MAX with NUL). */
#define APPLY_PATH_MAX 4095
/* read size handed to libarchive */
#define APPLY_READ_BLOCK (64 * 1024)

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

struct dir_meta {
	char *path;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct img_applier {
	int rootfd;
	char *root;
	struct img_apply_opts o;
	bool chown;
	bool use_openat2;
	bool failed;
	uint64_t layers, entries, bytes;
	/* per layer */
	struct img_hmap written;
	struct dir_meta *dirs;
	size_t ndirs, capdirs;
};

struct img_applier *img_applier_new(const char *root, const struct img_apply_opts *opts,
				    struct berr **err)
{
	int fd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0) {
		berr_set_errno(err, BERR_IO, errno, "open target directory '%s'", root);
		return NULL;
	}
	struct img_applier *ap = xcalloc(1, sizeof(*ap));
	ap->rootfd = fd;
	ap->root = xstrdup(root);
	if (opts)
		ap->o = *opts;
	if (!ap->o.max_bytes)
		ap->o.max_bytes = IMG_APPLY_MAX_BYTES;
	if (!ap->o.max_entries)
		ap->o.max_entries = IMG_APPLY_MAX_ENTRIES;
	ap->chown = geteuid() == 0 && !(ap->o.flags & IMG_APPLY_NO_CHOWN);
	ap->use_openat2 = !(ap->o.flags & IMG_APPLY_NO_OPENAT2);
	return ap;
}

static void reset_layer(struct img_applier *ap)
{
	img_hmap_release(&ap->written);
	for (size_t i = 0; i < ap->ndirs; i++)
		free(ap->dirs[i].path);
	ap->ndirs = 0;
}

void img_applier_free(struct img_applier *ap)
{
	if (!ap)
		return;
	reset_layer(ap);
	free(ap->dirs);
	close(ap->rootfd);
	free(ap->root);
	free(ap);
}

void img_applier_stats(const struct img_applier *ap, struct img_apply_stats *st)
{
	st->layers = ap->layers;
	st->entries = ap->entries;
	st->bytes = ap->bytes;
}

/* ---- names ---- */

/* Entry name -> cleaned relative path inside the root; *out NULL = skip. */
static int norm_name(struct img_applier *ap, const char *raw, const char *what, char **out,
		     struct berr **err)
{
	*out = NULL;
	if (!raw || !*raw)
		return berr_set(err, BERR_INPUT, "%s has an empty name", what);
	if (raw[0] == '/')
		return berr_set(err, BERR_SECURITY, "%s '%s' is an absolute path", what, raw);
	if (strlen(raw) > APPLY_PATH_MAX)
		return berr_set(err, BERR_LIMIT, "%s name is longer than %d bytes", what,
				APPLY_PATH_MAX);
	for (const char *c = raw; *c;) {
		const char *end = strchrnul(c, '/');
		if (end - c == 2 && c[0] == '.' && c[1] == '.')
			return berr_set(err, BERR_SECURITY, "%s '%s' contains '..'", what, raw);
		c = *end ? end + 1 : end;
	}
	char *p = bpath_clean(raw);
	if (strcmp(p, ".") == 0) {
		free(p);
		return 0;
	}
	if (ap->o.flags & IMG_APPLY_WINDOWS) {
		/* Files/ is C:\; registry hive deltas and the utility VM have no
		 * place in a Linux directory */
		if (strcmp(p, "Files") == 0 || strcmp(p, "Hives") == 0 ||
		    strncmp(p, "Hives/", 6) == 0 || strcmp(p, "UtilityVM") == 0 ||
		    strncmp(p, "UtilityVM/", 10) == 0) {
			free(p);
			return 0;
		}
		if (strncmp(p, "Files/", 6) != 0) {
			berr_set(err, BERR_INPUT, "windows layer %s '%s' is outside 'Files/'",
				 what, raw);
			free(p);
			return -1;
		}
		char *s = xstrdup(p + 6);
		free(p);
		p = s;
	}
	*out = p;
	return 0;
}

/* ---- safe resolution ---- */

static int dup_root(struct img_applier *ap, struct berr **err)
{
	int fd = fcntl(ap->rootfd, F_DUPFD_CLOEXEC, 0);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "dup");
	return fd;
}

/* Opens directory `dir` (relative, cleaned, "" = root) without following any
 * symlink. create: make missing directories. Returns the fd, or -1 with
 * *err set, or -2 when it does not exist and !create. */
static int open_dir(struct img_applier *ap, const char *dir, bool create, const char *entry,
		    struct berr **err)
{
	if (!*dir)
		return dup_root(ap, err);
	if (ap->use_openat2) {
		int fd = bopen_beneath(ap->rootfd, dir, O_PATH | O_DIRECTORY);
		if (fd >= 0)
			return fd;
		/* the walk below creates what is missing or says what is wrong */
	}
	int cur = dup_root(ap, err);
	if (cur < 0)
		return -1;
	_cleanup_free_ char *p = xstrdup(dir);
	for (char *comp = p; comp;) {
		char *slash = strchr(comp, '/');
		if (slash)
			*slash = '\0';
		int fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 && errno == ENOENT) {
			if (!create) {
				close(cur);
				return -2;
			}
			if (mkdirat(cur, comp, 0755) < 0 && errno != EEXIST) {
				int e = errno;
				close(cur);
				return berr_set_errno(err, BERR_IO, e, "create directory '%s' for '%s'",
						      p, entry);
			}
			fd = openat(cur, comp, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		}
		if (fd < 0) {
			int e = errno;
			struct stat st;
			bool link = fstatat(cur, comp, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
				    S_ISLNK(st.st_mode);
			close(cur);
			if (link)
				return berr_set(err, BERR_SECURITY, "refusing to write '%s' through "
						"symlink '%s'", entry, p);
			if (e == ENOTDIR)
				return berr_set(err, BERR_INPUT, "cannot write '%s': '%s' is not a "
						"directory", entry, p);
			return berr_set_errno(err, BERR_IO, e, "open directory '%s'", p);
		}
		close(cur);
		cur = fd;
		if (slash)
			*slash = '/';
		comp = slash ? slash + 1 : NULL;
	}
	return cur;
}

static void split(char *path, char **dir, char **base)
{
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		*dir = path;
		*base = slash + 1;
	} else {
		*dir = path + strlen(path); /* "" */
		*base = path;
	}
}

/* rm -rf name in dfd, never following symlinks */
static int remove_all(int dfd, const char *name, const char *what, struct berr **err)
{
	struct stat st;
	if (fstatat(dfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		if (errno == ENOENT)
			return 0;
		return berr_set_errno(err, BERR_IO, errno, "stat '%s'", what);
	}
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
			return berr_set_errno(err, BERR_IO, errno, "remove '%s'", what);
		return 0;
	}
	int fd = openat(dfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", what);
	(void)fchmod(fd, 0700); /* so an unprivileged user can empty it */
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", what);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		rc = remove_all(dirfd(d), de->d_name, what, err);
	}
	closedir(d);
	if (rc == 0 && unlinkat(dfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return berr_set_errno(err, BERR_IO, errno, "remove directory '%s'", what);
	return rc;
}

/* Opaque directory: remove everything below dfd/prefix that this layer did
 * not write (descending into directories it did write). */
static int clear_lower(struct img_applier *ap, int dfd, const char *prefix, struct berr **err)
{
	int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", *prefix ? prefix : "/");
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", prefix);
	}
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *path = *prefix ? xasprintf("%s/%s", prefix, de->d_name)
						    : xstrdup(de->d_name);
		if (!img_hmap_get(&ap->written, path, NULL)) {
			rc = remove_all(dirfd(d), de->d_name, path, err);
			continue;
		}
		struct stat st;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
		    S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				rc = berr_set_errno(err, BERR_IO, errno, "open '%s'", path);
				break;
			}
			rc = clear_lower(ap, sub, path, err);
			close(sub);
		}
	}
	closedir(d);
	return rc;
}

/* ---- entries ---- */

static int whiteout(struct img_applier *ap, char *dir, const char *base, const char *raw,
		    struct berr **err)
{
	if (strcmp(base, WH_OPAQUE) == 0) {
		if (ap->o.flags & IMG_APPLY_WINDOWS)
			return 0; /* Windows hosts ignore opaque markers too */
		int dfd = open_dir(ap, dir, true, raw, err);
		if (dfd < 0)
			return -1;
		int fd = openat(dfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		close(dfd);
		if (fd < 0)
			return berr_set_errno(err, BERR_IO, errno, "open '%s'", dir);
		int rc = clear_lower(ap, fd, dir, err);
		close(fd);
		return rc;
	}
	const char *name = base + strlen(WH_PREFIX);
	if (!*name || strcmp(name, ".") == 0 || strcmp(name, "..") == 0 || strchr(name, '/'))
		return berr_set(err, BERR_INPUT, "invalid whiteout '%s'", raw);
	_cleanup_free_ char *target = *dir ? xasprintf("%s/%s", dir, name) : xstrdup(name);
	if (img_hmap_get(&ap->written, target, NULL))
		return 0; /* whiteouts hide lower layers, never this one */
	int dfd = open_dir(ap, dir, false, raw, err);
	if (dfd == -2)
		return 0; /* nothing to hide */
	if (dfd < 0)
		return -1;
	int rc = remove_all(dfd, name, target, err);
	close(dfd);
	return rc;
}

static int set_xattrs(struct img_applier *ap, int fd, struct archive_entry *ae,
		      const char *path, struct berr **err)
{
	const char *name;
	const void *val;
	size_t size;
	if (ap->o.flags & IMG_APPLY_WINDOWS)
		return 0;
	archive_entry_xattr_reset(ae);
	while (archive_entry_xattr_next(ae, &name, &val, &size) == ARCHIVE_OK) {
		if (fsetxattr(fd, name, val, size, 0) == 0)
			continue;
		if (errno == ENOTSUP || errno == EOPNOTSUPP || (errno == EPERM && !ap->chown))
			continue; /* filesystem or privilege cannot hold it */
		return berr_set_errno(err, BERR_IO, errno, "set xattr '%s' on '%s'", name, path);
	}
	return 0;
}

static int write_data(struct img_applier *ap, struct archive *a, int fd,
		      struct archive_entry *ae, const char *path, struct berr **err)
{
	const void *buf;
	size_t size;
	la_int64_t off;
	int r;
	while ((r = archive_read_data_block(a, &buf, &size, &off)) == ARCHIVE_OK) {
		const char *p = buf;
		while (size > 0) {
			ssize_t w = pwrite(fd, p, size, off);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0)
				return berr_set_errno(err, BERR_IO, errno, "write '%s'", path);
			p += w;
			size -= (size_t)w;
			off += w;
		}
	}
	if (r != ARCHIVE_EOF)
		return berr_set(err, BERR_INPUT, "reading '%s': %s", path,
				archive_error_string(a) ? archive_error_string(a) : "bad data");
	if (archive_entry_size_is_set(ae) && ftruncate(fd, archive_entry_size(ae)) < 0)
		return berr_set_errno(err, BERR_IO, errno, "truncate '%s'", path);
	return 0;
}

static int apply_entry(struct img_applier *ap, struct archive *a, struct archive_entry *ae,
		       struct berr **err)
{
	const char *raw = archive_entry_pathname(ae);
	if (!raw)
		raw = archive_entry_pathname_utf8(ae);
	_cleanup_free_ char *path = NULL;
	if (norm_name(ap, raw, "entry", &path, err) < 0)
		return -1;
	if (!path)
		return 0;
	_cleanup_free_ char *work = xstrdup(path);
	char *dir, *base;
	split(work, &dir, &base);
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return whiteout(ap, dir, base, raw, err);
	if ((ap->o.flags & IMG_APPLY_WINDOWS) && strchr(base, ':'))
		return 0; /* alternate data stream: no Linux equivalent */

	mode_t type = archive_entry_filetype(ae);
	const char *hl = archive_entry_hardlink(ae);
	mode_t mode = archive_entry_perm(ae) & 07777;
	uid_t uid = (uid_t)archive_entry_uid(ae);
	gid_t gid = (gid_t)archive_entry_gid(ae);
	struct timespec ts[2] = { { archive_entry_mtime(ae), archive_entry_mtime_nsec(ae) } };
	ts[1] = ts[0];
	if (ap->o.flags & IMG_APPLY_WINDOWS) {
		mode = type == AE_IFDIR ? 0755 : 0644; /* Windows ignores tar modes */
		uid = 0;
		gid = 0;
	}

	/* hardlink target: inside the root, reached without symlinks */
	_cleanup_free_ char *target = NULL;
	int tdfd = -1;
	char *tdir = NULL, *tbase = NULL;
	_cleanup_free_ char *twork = NULL;
	if (hl) {
		if (norm_name(ap, hl, "hardlink target", &target, err) < 0)
			return -1;
		if (!target)
			return berr_set(err, BERR_INPUT, "hardlink '%s' points at the root", raw);
		if (strcmp(target, path) == 0)
			return berr_set(err, BERR_INPUT, "hardlink '%s' points at itself", raw);
		twork = xstrdup(target);
		split(twork, &tdir, &tbase);
	}

	if (type == AE_IFREG && !hl) {
		int64_t sz = archive_entry_size(ae);
		if (sz < 0 || (uint64_t)sz > ap->o.max_bytes - ap->bytes)
			return berr_set(err, BERR_LIMIT, "entry '%s' would exceed the limit of %llu "
					"bytes unpacked", raw, (unsigned long long)ap->o.max_bytes);
	}
	if (type == AE_IFLNK) {
		const char *t = archive_entry_symlink(ae);
		if (!t || !*t)
			return berr_set(err, BERR_INPUT, "symlink '%s' has no target", raw);
		if (strlen(t) > APPLY_PATH_MAX)
			return berr_set(err, BERR_LIMIT, "symlink '%s' target is too long", raw);
	}

	int dfd = open_dir(ap, dir, true, raw, err);
	if (dfd < 0)
		return -1;
	int rc = -1, fd = -1;
	struct stat st;
	bool exists = fstatat(dfd, base, &st, AT_SYMLINK_NOFOLLOW) == 0;
	bool dir_over_dir = exists && S_ISDIR(st.st_mode) && type == AE_IFDIR && !hl;
	if (exists && !dir_over_dir && remove_all(dfd, base, path, err) < 0)
		goto out;
	/* the layer's own earlier entries are replaced too (later wins), but
	 * only the leaf: the parent walk above never followed a symlink */
	if (hl) {
		tdfd = open_dir(ap, tdir, false, raw, err);
		if (tdfd == -2) {
			berr_set(err, BERR_INPUT, "hardlink '%s' points at missing '%s'", raw, hl);
			goto out;
		}
		if (tdfd < 0)
			goto out;
		if (fstatat(tdfd, tbase, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			berr_set(err, BERR_INPUT, "hardlink '%s' points at missing '%s'", raw, hl);
			goto out;
		}
		if (S_ISDIR(st.st_mode)) {
			berr_set(err, BERR_INPUT, "hardlink '%s' points at directory '%s'", raw, hl);
			goto out;
		}
		if (linkat(tdfd, tbase, dfd, base, 0) < 0) {
			berr_set_errno(err, BERR_IO, errno, "link '%s' to '%s'", raw, hl);
			goto out;
		}
		rc = 0;
		goto out;
	}
	switch (type) {
	case AE_IFDIR:
		if (!dir_over_dir && mkdirat(dfd, base, 0700) < 0) {
			berr_set_errno(err, BERR_IO, errno, "create directory '%s'", path);
			goto out;
		}
		fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			berr_set_errno(err, BERR_IO, errno, "open directory '%s'", path);
			goto out;
		}
		if (fchmod(fd, 0700 | mode) < 0) {
			berr_set_errno(err, BERR_IO, errno, "chmod '%s'", path);
			goto out;
		}
		if (set_xattrs(ap, fd, ae, path, err) < 0)
			goto out;
		/* mode, owner and mtime go on last: children change the mtime
		 * and a read-only mode would stop an unprivileged unpack */
		XGROW(ap->dirs, ap->ndirs + 1, ap->capdirs);
		ap->dirs[ap->ndirs++] = (struct dir_meta){ xstrdup(path), mode, uid, gid, ts[0] };
		break;
	case AE_IFREG:
		fd = openat(dfd, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (fd < 0) {
			berr_set_errno(err, BERR_IO, errno, "create '%s'", path);
			goto out;
		}
		if (write_data(ap, a, fd, ae, path, err) < 0)
			goto out;
		ap->bytes += (uint64_t)archive_entry_size(ae);
		if (ap->chown && fchown(fd, uid, gid) < 0) {
			berr_set_errno(err, BERR_IO, errno, "chown '%s'", path);
			goto out;
		}
		if (fchmod(fd, mode) < 0 || futimens(fd, ts) < 0) {
			berr_set_errno(err, BERR_IO, errno, "set attributes of '%s'", path);
			goto out;
		}
		if (set_xattrs(ap, fd, ae, path, err) < 0)
			goto out;
		break;
	case AE_IFLNK:
		if (symlinkat(archive_entry_symlink(ae), dfd, base) < 0) {
			berr_set_errno(err, BERR_IO, errno, "create symlink '%s'", path);
			goto out;
		}
		if ((ap->chown && fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) ||
		    utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
			berr_set_errno(err, BERR_IO, errno, "set attributes of '%s'", path);
			goto out;
		}
		break;
	case AE_IFCHR:
	case AE_IFBLK:
	case AE_IFIFO:
		if (type != AE_IFIFO && geteuid() != 0)
			break; /* device nodes need privilege: skipped, like rootless umoci */
		if (mknodat(dfd, base, type | 0600, makedev(archive_entry_rdevmajor(ae),
							    archive_entry_rdevminor(ae))) < 0) {
			berr_set_errno(err, BERR_IO, errno, "create node '%s'", path);
			goto out;
		}
		if ((ap->chown && fchownat(dfd, base, uid, gid, AT_SYMLINK_NOFOLLOW) < 0) ||
		    fchmodat(dfd, base, mode, 0) < 0 || utimensat(dfd, base, ts, AT_SYMLINK_NOFOLLOW) < 0) {
			berr_set_errno(err, BERR_IO, errno, "set attributes of '%s'", path);
			goto out;
		}
		break;
	default:
		break; /* sockets and unknown types are not unpacked */
	}
	rc = 0;
out:
	if (rc == 0)
		img_hmap_put(&ap->written, path, NULL);
	if (fd >= 0)
		close(fd);
	if (tdfd >= 0)
		close(tdfd);
	close(dfd);
	return rc;
}

static int finish_dir(struct img_applier *ap, const struct dir_meta *m, struct berr **err)
{
	_cleanup_free_ char *work = xstrdup(m->path);
	char *dir, *base;
	split(work, &dir, &base);
	struct berr *e = NULL;
	int dfd = open_dir(ap, dir, false, m->path, &e);
	if (dfd == -1 && e->code != BERR_SECURITY && e->code != BERR_INPUT) {
		if (err && !*err)
			*err = e;
		else
			berr_free(e);
		return -1;
	}
	berr_free(e);
	if (dfd < 0)
		return 0; /* a later entry replaced the directory or a parent */
	int fd = openat(dfd, base, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	int oerr = errno;
	close(dfd);
	if (fd < 0 && (oerr == ENOENT || oerr == ENOTDIR || oerr == ELOOP))
		return 0;
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, oerr, "open '%s'", m->path);
	struct timespec ts[2] = { m->mtime, m->mtime };
	int rc = 0;
	if (ap->chown && fchown(fd, m->uid, m->gid) < 0)
		rc = berr_set_errno(err, BERR_IO, errno, "chown '%s'", m->path);
	else if (fchmod(fd, ap->chown ? m->mode : (m->mode | 0700)) < 0 || futimens(fd, ts) < 0)
		rc = berr_set_errno(err, BERR_IO, errno, "set attributes of '%s'", m->path);
	close(fd);
	return rc;
}

/* Directory metadata, deepest first, after the layer's entries. A directory
 * listed twice gets its last entry's metadata (later wins). */
static int finish_dirs(struct img_applier *ap, struct berr **err)
{
	struct img_hmap done = IMG_HMAP_INIT;
	int rc = 0;
	for (size_t i = ap->ndirs; i-- > 0 && rc == 0;) {
		struct dir_meta *m = &ap->dirs[i];
		if (img_hmap_get(&done, m->path, NULL))
			continue;
		img_hmap_put(&done, m->path, NULL);
		rc = finish_dir(ap, m, err);
	}
	img_hmap_release(&done);
	return rc;
}

static int apply_archive(struct img_applier *ap, struct archive *a, struct berr **err)
{
	struct archive_entry *ae;
	int r;
	while ((r = archive_read_next_header(a, &ae)) != ARCHIVE_EOF) {
		if (r < ARCHIVE_WARN)
			return berr_set(err, BERR_INPUT, "%s",
					archive_error_string(a) ? archive_error_string(a)
								: "malformed tar");
		if (++ap->entries > ap->o.max_entries)
			return berr_set(err, BERR_LIMIT, "more than %llu entries unpacked",
					(unsigned long long)ap->o.max_entries);
		if (apply_entry(ap, a, ae, err) < 0)
			return -1;
	}
	return finish_dirs(ap, err);
}

static struct archive *reader(void)
{
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	archive_read_support_format_tar(a);
	return a;
}

static int run(struct img_applier *ap, struct archive *a, int opened, bool empty,
	       const char *name, struct berr **err)
{
	int rc;
	if (ap->failed) {
		rc = berr_set(err, BERR_INTERNAL, "applier for '%s' already failed", ap->root);
	} else if (empty) {
		rc = berr_set(err, BERR_INPUT, "empty (0 bytes, not a tar archive)");
	} else if (opened != ARCHIVE_OK) {
		rc = berr_set(err, BERR_INPUT, "%s", archive_error_string(a) ? archive_error_string(a)
									 : "unreadable layer");
	} else {
		rc = apply_archive(ap, a, err);
	}
	archive_read_free(a);
	reset_layer(ap);
	if (rc < 0) {
		ap->failed = true;
		return berr_wrap(err, "layer '%s'", name);
	}
	ap->layers++;
	return 0;
}

/* reads the layer from an fd, counting bytes so that an empty stream (a
 * pipe, say) gets the same clear error as an empty file */
struct fd_src {
	int fd;
	uint64_t total;
	char buf[APPLY_READ_BLOCK];
};

static la_ssize_t fd_read(struct archive *a, void *ctx, const void **out)
{
	struct fd_src *s = ctx;
	ssize_t r;
	do
		r = read(s->fd, s->buf, sizeof(s->buf));
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		archive_set_error(a, errno, "read: %s", strerror(errno));
		return -1;
	}
	s->total += (uint64_t)r;
	*out = s->buf;
	return r;
}

int img_apply_fd(struct img_applier *ap, int fd, const char *name, struct berr **err)
{
	_cleanup_free_ struct fd_src *src = xcalloc(1, sizeof(*src));
	src->fd = fd;
	struct archive *a = reader();
	int opened = archive_read_open(a, src, NULL, fd_read, NULL);
	return run(ap, a, opened, opened != ARCHIVE_OK && src->total == 0, name, err);
}

int img_apply_mem(struct img_applier *ap, const void *data, size_t len, const char *name,
		  struct berr **err)
{
	struct archive *a = reader();
	int opened = len ? archive_read_open_memory(a, data, len) : ARCHIVE_FATAL;
	return run(ap, a, opened, len == 0, name, err);
}

int img_apply_file(struct img_applier *ap, const char *path, struct berr **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open layer '%s'", path);
	return img_apply_fd(ap, fd, path, err);
}

int img_apply_chain(const char *root, const char *const *layers, size_t n,
		    const struct img_apply_opts *opts, struct img_apply_stats *stats,
		    struct berr **err)
{
	_cleanup_img_applier_ struct img_applier *ap = img_applier_new(root, opts, err);
	if (!ap)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (img_apply_file(ap, layers[i], err) < 0)
			return -1;
	if (stats)
		img_applier_stats(ap, stats);
	return 0;
}
