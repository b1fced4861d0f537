/* Filesystem side of the sandbox: the upper-dir diff iterator, the
 * copy-on-start fallback (snapshot of the layers + tree diff written back
 * in overlay format) and a no-follow rm -rf. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "builder/bld_sandbox.h"
#include "builder/bld_sandbox_int.h"
#include "common/common.h"

/* bounds recursion on hostile trees (PATH_MAX allows ~2048 levels) */
#define SB_MAX_DEPTH 1024
#define SB_XATTR_MAX (64 * 1024)

/* ---- small helpers ---- */

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted entry names of a directory (without . and ..). */
static int list_dir(const char *path, char ***out, size_t *n, struct berr **err)
{
	DIR *d = opendir(path);
	if (!d)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", path);
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *de;
	errno = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		XGROW(v, cnt + 1, cap);
		v[cnt++] = xstrdup(de->d_name);
	}
	int e = errno;
	closedir(d);
	if (e) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i]);
		free(v);
		return berr_set_errno(err, BERR_IO, e, "read directory '%s'", path);
	}
	if (cnt > 1)
		qsort(v, cnt, sizeof(*v), cmp_names);
	*out = v;
	*n = cnt;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static bool xattr_is(const char *path, const char *name, const char *want)
{
	char v[8];
	ssize_t n = lgetxattr(path, name, v, sizeof(v));
	return n >= 0 && (size_t)n == strlen(want) && memcmp(v, want, (size_t)n) == 0;
}

static bool is_opaque_dir(const char *path)
{
	return xattr_is(path, "trusted.overlay.opaque", "y") ||
	       xattr_is(path, "user.overlay.opaque", "y");
}

/* overlay whiteout: 0:0 char device, or (xwhiteout form, also what the
 * fallback writes when it cannot mknod) an empty file with a whiteout xattr */
static bool is_whiteout(const char *path, const struct stat *st)
{
	if (S_ISCHR(st->st_mode) && st->st_rdev == makedev(0, 0))
		return true;
	if (S_ISREG(st->st_mode) && st->st_size == 0) {
		char v[4];
		return lgetxattr(path, "trusted.overlay.whiteout", v, sizeof(v)) >= 0 ||
		       lgetxattr(path, "user.overlay.whiteout", v, sizeof(v)) >= 0;
	}
	return false;
}

/* ---- string-keyed hash table (open addressing) ---- */

struct snap_ent {
	char *key;
	bool is_dir;
	bool visited;
	bool replaced;   /* exists in the result but is not the lower's entry */
	mode_t mode;
	uid_t uid;
	gid_t gid;
	ino_t ino;
};

struct smap {
	struct snap_ent *v;
	size_t cap, n;
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static struct snap_ent *smap_find(const struct smap *m, const char *key)
{
	if (!m->cap)
		return NULL;
	for (size_t i = hash_str(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (!m->v[i].key)
			return NULL;
		if (!strcmp(m->v[i].key, key))
			return &m->v[i];
	}
}

static struct snap_ent *smap_put(struct smap *m, const char *key)
{
	if ((m->n + 1) * 10 >= m->cap * 7) {
		struct smap nm = { .cap = m->cap ? m->cap * 2 : 1024 };
		nm.v = xcalloc(nm.cap, sizeof(*nm.v));
		for (size_t i = 0; i < m->cap; i++) {
			if (!m->v[i].key)
				continue;
			size_t j = hash_str(m->v[i].key) & (nm.cap - 1);
			while (nm.v[j].key)
				j = (j + 1) & (nm.cap - 1);
			nm.v[j] = m->v[i];
		}
		nm.n = m->n;
		free(m->v);
		*m = nm;
	}
	size_t i = hash_str(key) & (m->cap - 1);
	while (m->v[i].key) {
		if (!strcmp(m->v[i].key, key))
			return &m->v[i];
		i = (i + 1) & (m->cap - 1);
	}
	m->v[i].key = xstrdup(key);
	m->n++;
	return &m->v[i];
}

static void smap_free(struct smap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->v[i].key);
	free(m->v);
	m->v = NULL;
	m->cap = m->n = 0;
}

/* ---- rm -rf ---- */

static int remove_at(int parent, const char *name, const char *shown, int depth, struct berr **err)
{
	if (unlinkat(parent, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return berr_set_errno(err, BERR_IO, errno, "remove '%s'", shown);
	if (depth > SB_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested too deeply", shown);
	int fd = openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOTDIR || errno == ELOOP)
			return berr_set_errno(err, BERR_IO, EPERM, "remove '%s'", shown);
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", shown);
	}
	/* the overlay work dir leaves 0000 directories behind: make them usable */
	fchmod(fd, 0700);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", shown);
	}
	struct dirent *de;
	int rc = 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (remove_at(dirfd(d), de->d_name, shown, depth + 1, err) < 0) {
			rc = -1;
			break;
		}
	}
	closedir(d);
	if (rc == 0 && unlinkat(parent, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return berr_set_errno(err, BERR_IO, errno, "remove directory '%s'", shown);
	return rc;
}

int sb_remove_tree(const char *path, struct berr **err)
{
	return remove_at(AT_FDCWD, path, path, 0, err);
}

/* ---- diff iterator ---- */

struct ino_ref {
	dev_t dev;
	ino_t ino;
	char *path;
};

struct diff_walk {
	bld_change_fn fn;
	void *ud;
	struct ino_ref *links;
	size_t n_links, cap_links;
	bool stopped;
};

static int diff_dir(struct diff_walk *w, const char *host, const char *rel, int depth,
		    struct berr **err)
{
	if (depth > SB_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested too deeply", host);
	char **names;
	size_t n;
	if (list_dir(host, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0 && !w->stopped; i++) {
		_cleanup_free_ char *src = xasprintf("%s/%s", host, names[i]);
		_cleanup_free_ char *path = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;
		if (lstat(src, &st) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "stat '%s'", src);
			break;
		}
		struct bld_change c = { .path = path, .src = src, .st = &st };
		if (is_whiteout(src, &st)) {
			c = (struct bld_change){ .kind = BLD_CHANGE_WHITEOUT, .path = path };
		} else if (!S_ISDIR(st.st_mode) && st.st_nlink > 1) {
			c.kind = BLD_CHANGE_ADD;
			for (size_t j = 0; j < w->n_links; j++)
				if (w->links[j].dev == st.st_dev && w->links[j].ino == st.st_ino) {
					c.kind = BLD_CHANGE_HARDLINK;
					c.link = w->links[j].path;
					break;
				}
			if (c.kind == BLD_CHANGE_ADD) {
				XGROW(w->links, w->n_links + 1, w->cap_links);
				w->links[w->n_links++] = (struct ino_ref){ st.st_dev, st.st_ino, xstrdup(path) };
			}
		} else {
			c.kind = BLD_CHANGE_ADD;
		}
		int r = w->fn(w->ud, &c, err);
		if (r) {
			w->stopped = true;
			rc = r < 0 ? -1 : 0;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (is_opaque_dir(src)) {
				struct bld_change o = { .kind = BLD_CHANGE_OPAQUE, .path = path };
				r = w->fn(w->ud, &o, err);
				if (r) {
					w->stopped = true;
					rc = r < 0 ? -1 : 0;
					break;
				}
			}
			rc = diff_dir(w, src, path, depth + 1, err);
		}
	}
	free_list(names, n);
	return rc;
}

int bld_sandbox_diff(const char *upper, bld_change_fn fn, void *ud, struct berr **err)
{
	struct diff_walk w = { .fn = fn, .ud = ud };
	int rc = diff_dir(&w, upper, "", 0, err);
	for (size_t i = 0; i < w.n_links; i++)
		free(w.links[i].path);
	free(w.links);
	return rc;
}

/* ---- copy helpers ---- */

static int copy_xattrs(const char *from, const char *to, struct berr **err)
{
	_cleanup_free_ char *list = xmalloc(SB_XATTR_MAX);
	ssize_t n = llistxattr(from, list, SB_XATTR_MAX);
	if (n < 0)
		return errno == ENOTSUP ? 0 : berr_set_errno(err, BERR_IO, errno, "list xattrs of '%s'", from);
	_cleanup_free_ char *val = xmalloc(SB_XATTR_MAX);
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		if (strstr(name, ".overlay."))
			continue; /* overlay's own bookkeeping */
		ssize_t vn = lgetxattr(from, name, val, SB_XATTR_MAX);
		if (vn < 0)
			continue;
		if (lsetxattr(to, name, val, (size_t)vn, 0) < 0 && errno != ENOTSUP && errno != EPERM)
			return berr_set_errno(err, BERR_IO, errno, "set xattr '%s' on '%s'", name, to);
	}
	return 0;
}

static void copy_owner_times(const char *to, const struct stat *st, bool times)
{
	/* as non-root, ownership cannot be kept: files stay ours */
	int rc = lchown(to, st->st_uid, st->st_gid);
	(void)rc;
	if (!S_ISLNK(st->st_mode))
		chmod(to, st->st_mode & 07777);
	if (times) {
		struct timespec ts[2] = { st->st_atim, st->st_mtim };
		utimensat(AT_FDCWD, to, ts, AT_SYMLINK_NOFOLLOW);
	}
}

static int copy_file_data(const char *from, const char *to, const struct stat *st, struct berr **err)
{
	_cleanup_close_ int in = open(from, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (in < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", from);
	_cleanup_close_ int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (out < 0)
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", to);
	off_t left = st->st_size;
	while (left > 0) {
		ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
		if (n < 0 && (errno == EXDEV || errno == ENOSYS || errno == EINVAL || errno == EOPNOTSUPP)) {
			char buf[65536];
			n = read(in, buf, sizeof(buf));
			if (n > 0 && bfd_write_all(out, buf, (size_t)n, to, err) < 0)
				return -1;
		}
		if (n < 0)
			return berr_set_errno(err, BERR_IO, errno, "copy '%s'", from);
		if (n == 0)
			break;
		left -= n;
	}
	return 0;
}

/* Creates `to` as a copy of the non-directory `from` (no data for devices). */
static int copy_node(const char *from, const char *to, const struct stat *st, struct berr **err)
{
	if (S_ISREG(st->st_mode)) {
		if (copy_file_data(from, to, st, err) < 0)
			return -1;
	} else if (S_ISLNK(st->st_mode)) {
		char target[4096];
		ssize_t n = readlink(from, target, sizeof(target) - 1);
		if (n < 0)
			return berr_set_errno(err, BERR_IO, errno, "readlink '%s'", from);
		target[n] = '\0';
		if (symlink(target, to) < 0)
			return berr_set_errno(err, BERR_IO, errno, "symlink '%s'", to);
	} else if (S_ISCHR(st->st_mode) || S_ISBLK(st->st_mode) || S_ISFIFO(st->st_mode)) {
		if (mknod(to, st->st_mode, st->st_rdev) < 0)
			return berr_set_errno(err, BERR_IO, errno, "mknod '%s'", to);
	} else {
		return 0; /* sockets are not part of images */
	}
	if (copy_xattrs(from, to, err) < 0)
		return -1;
	copy_owner_times(to, st, true);
	return 0;
}

/* ---- copy-on-start snapshot ---- */

struct sb_snapshot {
	struct smap map;         /* every path of the copied root */
	struct timespec t0;      /* anything changed has ctime >= t0 */
	struct ino_ref *links;   /* hardlinks while copying one layer */
	size_t n_links, cap_links;
};

/* Applies one lower (overlay format) on top of the root copy. */
static int apply_lower(struct sb_snapshot *s, const char *src, const char *dst, int depth,
		       struct berr **err)
{
	if (depth > SB_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested too deeply", src);
	char **names;
	size_t n;
	if (list_dir(src, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *from = xasprintf("%s/%s", src, names[i]);
		_cleanup_free_ char *to = xasprintf("%s/%s", dst, names[i]);
		struct stat st, cur;
		if (lstat(from, &st) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "stat '%s'", from);
			break;
		}
		bool exists = lstat(to, &cur) == 0;
		if (is_whiteout(from, &st)) {
			if (exists)
				rc = sb_remove_tree(to, err);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			if (exists && (!S_ISDIR(cur.st_mode) || is_opaque_dir(from))) {
				if (sb_remove_tree(to, err) < 0) {
					rc = -1;
					break;
				}
				exists = false;
			}
			if (!exists && mkdir(to, 0700) < 0) {
				rc = berr_set_errno(err, BERR_IO, errno, "create '%s'", to);
				break;
			}
			rc = apply_lower(s, from, to, depth + 1, err);
			if (rc == 0)
				rc = copy_xattrs(from, to, err);
			if (rc == 0)
				copy_owner_times(to, &st, true);
			continue;
		}
		if (exists && sb_remove_tree(to, err) < 0) {
			rc = -1;
			break;
		}
		if (S_ISREG(st.st_mode) && st.st_nlink > 1) {
			const char *first = NULL;
			for (size_t j = 0; j < s->n_links; j++)
				if (s->links[j].dev == st.st_dev && s->links[j].ino == st.st_ino)
					first = s->links[j].path;
			if (first && link(first, to) == 0)
				continue;
			if (!first) {
				XGROW(s->links, s->n_links + 1, s->cap_links);
				s->links[s->n_links++] = (struct ino_ref){ st.st_dev, st.st_ino, xstrdup(to) };
			}
		}
		rc = copy_node(from, to, &st, err);
	}
	free_list(names, n);
	return rc;
}

static int index_root(struct sb_snapshot *s, const char *host, const char *rel, int depth,
		      struct berr **err)
{
	if (depth > SB_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested too deeply", host);
	char **names;
	size_t n;
	if (list_dir(host, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", host, names[i]);
		_cleanup_free_ char *r = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		struct stat st;
		if (lstat(p, &st) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "stat '%s'", p);
			break;
		}
		struct snap_ent *e = smap_put(&s->map, r);
		e->is_dir = S_ISDIR(st.st_mode);
		e->mode = st.st_mode;
		e->uid = st.st_uid;
		e->gid = st.st_gid;
		e->ino = st.st_ino;
		if (e->is_dir)
			rc = index_root(s, p, r, depth + 1, err);
	}
	free_list(names, n);
	return rc;
}

static bool ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/* t0 strictly after the ctime of everything copied: touch a stamp until the
 * filesystem clock has moved past the stamp's first ctime */
static int take_t0(struct sb_snapshot *s, const char *root, struct berr **err)
{
	_cleanup_free_ char *stamp = xasprintf("%s.stamp", root);
	_cleanup_close_ int fd = open(stamp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", stamp);
	struct stat a, b;
	if (fstat(fd, &a) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '%s'", stamp);
	for (int i = 0; i < 100000; i++) {
		if (fchmod(fd, (i & 1) ? 0600 : 0644) < 0 || fstat(fd, &b) < 0)
			return berr_set_errno(err, BERR_IO, errno, "touch '%s'", stamp);
		if (ts_before(&a.st_ctim, &b.st_ctim)) {
			s->t0 = b.st_ctim;
			unlink(stamp);
			return 0;
		}
		struct timespec nap = { 0, 200000 };
		nanosleep(&nap, NULL);
	}
	unlink(stamp);
	return berr_set(err, BERR_IO, "the file times of '%s' do not advance", root);
}

int sb_snapshot_create(char *const *lowers, size_t n, const char *root,
		       struct sb_snapshot **out, struct berr **err)
{
	struct sb_snapshot *s = xcalloc(1, sizeof(*s));
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		rc = apply_lower(s, lowers[i], root, 0, err);
		for (size_t j = 0; j < s->n_links; j++)
			free(s->links[j].path);
		s->n_links = 0;
	}
	if (rc == 0)
		rc = index_root(s, root, "", 0, err);
	if (rc == 0)
		rc = take_t0(s, root, err);
	if (rc < 0) {
		sb_snapshot_free(s);
		return -1;
	}
	*out = s;
	return 0;
}

void sb_snapshot_free(struct sb_snapshot *s)
{
	if (!s)
		return;
	smap_free(&s->map);
	for (size_t i = 0; i < s->n_links; i++)
		free(s->links[i].path);
	free(s->links);
	free(s);
}

/* ---- fallback diff: root copy vs snapshot -> upper (overlay format) ---- */

struct fdiff {
	struct sb_snapshot *s;
	const char *root, *upper;
	bool root_user;  /* can mknod whiteouts and set trusted.* xattrs */
};

/* mkdir -p of rel's parents in upper, metadata from the root copy */
static int ensure_parents(struct fdiff *f, const char *rel, struct berr **err)
{
	_cleanup_free_ char *copy = xstrdup(rel);
	for (char *p = strchr(copy, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		_cleanup_free_ char *u = xasprintf("%s/%s", f->upper, copy);
		_cleanup_free_ char *r = xasprintf("%s/%s", f->root, copy);
		struct stat st;
		if (mkdir(u, 0755) == 0) {
			if (lstat(r, &st) == 0) {
				copy_owner_times(u, &st, false);
				copy_xattrs(r, u, NULL);
			}
		} else if (errno != EEXIST) {
			return berr_set_errno(err, BERR_IO, errno, "create '%s'", u);
		}
		*p = '/';
	}
	return 0;
}

static int emit_whiteout(struct fdiff *f, const char *rel, struct berr **err)
{
	if (ensure_parents(f, rel, err) < 0)
		return -1;
	_cleanup_free_ char *u = xasprintf("%s/%s", f->upper, rel);
	if (mknod(u, S_IFCHR | 0000, makedev(0, 0)) == 0)
		return 0;
	/* unprivileged: an empty file marked with overlay's whiteout xattr */
	_cleanup_close_ int fd = open(u, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0000);
	if (fd < 0 || fsetxattr(fd, "user.overlay.whiteout", "y", 1, 0) < 0)
		return berr_set_errno(err, BERR_IO, errno, "create whiteout '%s'", u);
	return 0;
}

/* A directory removed and made again (overlay marks it opaque). Inode
 * numbers are reused at once by some filesystems, so the birth time decides
 * where the filesystem records one. */
static bool dir_recreated(const struct sb_snapshot *s, const char *path, const struct stat *st,
			  const struct snap_ent *e)
{
	struct statx sx;
	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BTIME, &sx) == 0 &&
	    (sx.stx_mask & STATX_BTIME)) {
		struct timespec bt = { sx.stx_btime.tv_sec, sx.stx_btime.tv_nsec };
		return !ts_before(&bt, &s->t0);
	}
	return st->st_ino != e->ino;
}

/* Puts the root entry rel (and, for a directory, all of it) into upper. */
static int emit_entry(struct fdiff *f, const char *rel, const struct stat *st, bool opaque,
		      bool whole, int depth, struct berr **err);

static int emit_children(struct fdiff *f, const char *rel, bool whole, int depth, struct berr **err)
{
	if (depth > SB_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested too deeply", rel);
	_cleanup_free_ char *r = *rel ? xasprintf("%s/%s", f->root, rel) : xstrdup(f->root);
	char **names;
	size_t n;
	if (list_dir(r, &names, &n, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		_cleanup_free_ char *cr = *rel ? xasprintf("%s/%s", rel, names[i]) : xstrdup(names[i]);
		_cleanup_free_ char *p = xasprintf("%s/%s", f->root, cr);
		struct stat st;
		if (lstat(p, &st) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "stat '%s'", p);
			break;
		}
		if (whole) {
			rc = emit_entry(f, cr, &st, false, true, depth + 1, err);
			continue;
		}
		struct snap_ent *e = smap_find(&f->s->map, cr);
		if (!e) {
			rc = emit_entry(f, cr, &st, false, true, depth + 1, err);
			continue;
		}
		e->visited = true;
		bool now_dir = S_ISDIR(st.st_mode);
		if (now_dir != e->is_dir || (!now_dir && (st.st_mode & S_IFMT) != (e->mode & S_IFMT))) {
			e->replaced = true;
			rc = emit_entry(f, cr, &st, now_dir, true, depth + 1, err);
		} else if (now_dir && dir_recreated(f->s, p, &st, e)) {
			e->replaced = true; /* removed and made again: opaque */
			rc = emit_entry(f, cr, &st, true, true, depth + 1, err);
		} else if (now_dir) {
			if (st.st_mode != e->mode || st.st_uid != e->uid || st.st_gid != e->gid)
				rc = emit_entry(f, cr, &st, false, false, depth + 1, err);
			else
				rc = emit_children(f, cr, false, depth + 1, err);
		} else if (!ts_before(&st.st_ctim, &f->s->t0)) {
			rc = emit_entry(f, cr, &st, false, false, depth + 1, err);
		}
	}
	free_list(names, n);
	return rc;
}

static int emit_entry(struct fdiff *f, const char *rel, const struct stat *st, bool opaque,
		      bool whole, int depth, struct berr **err)
{
	if (ensure_parents(f, rel, err) < 0)
		return -1;
	_cleanup_free_ char *u = xasprintf("%s/%s", f->upper, rel);
	_cleanup_free_ char *r = xasprintf("%s/%s", f->root, rel);
	if (S_ISDIR(st->st_mode)) {
		if (mkdir(u, 0755) < 0 && errno != EEXIST)
			return berr_set_errno(err, BERR_IO, errno, "create '%s'", u);
		copy_owner_times(u, st, false);
		if (copy_xattrs(r, u, err) < 0)
			return -1;
		if (opaque) {
			const char *name = f->root_user ? "trusted.overlay.opaque" : "user.overlay.opaque";
			if (lsetxattr(u, name, "y", 1, 0) < 0)
				return berr_set_errno(err, BERR_IO, errno, "mark '%s' opaque", u);
		}
		return emit_children(f, rel, whole, depth, err);
	}
	if (S_ISREG(st->st_mode) && link(r, u) == 0)
		return 0;
	return copy_node(r, u, st, err);
}

/* Directory times in upper follow the root copy (creating children bumped them). */
static void fix_dir_times(const char *upper, const char *root, int depth)
{
	if (depth > SB_MAX_DEPTH)
		return;
	char **names;
	size_t n;
	if (list_dir(upper, &names, &n, NULL) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *u = xasprintf("%s/%s", upper, names[i]);
		_cleanup_free_ char *r = xasprintf("%s/%s", root, names[i]);
		struct stat st, rs;
		if (lstat(u, &st) == 0 && S_ISDIR(st.st_mode)) {
			fix_dir_times(u, r, depth + 1);
			if (lstat(r, &rs) == 0) {
				struct timespec ts[2] = { rs.st_atim, rs.st_mtim };
				utimensat(AT_FDCWD, u, ts, AT_SYMLINK_NOFOLLOW);
			}
		}
	}
	free_list(names, n);
}

int sb_snapshot_diff(struct sb_snapshot *s, const char *root, const char *upper,
		     struct berr **err)
{
	struct fdiff f = { .s = s, .root = root, .upper = upper, .root_user = geteuid() == 0 };
	if (emit_children(&f, "", false, 0, err) < 0)
		return -1;
	/* deletions: lower paths not seen whose parent still exists as the
	 * lower's directory */
	char **gone = NULL;
	size_t ng = 0, cap = 0;
	for (size_t i = 0; i < s->map.cap; i++) {
		struct snap_ent *e = &s->map.v[i];
		if (!e->key || e->visited)
			continue;
		const char *slash = strrchr(e->key, '/');
		if (slash) {
			_cleanup_free_ char *parent = xstrndup(e->key, (size_t)(slash - e->key));
			struct snap_ent *p = smap_find(&s->map, parent);
			if (!p || !p->visited || p->replaced)
				continue;
		}
		XGROW(gone, ng + 1, cap);
		gone[ng++] = e->key;
	}
	if (ng > 1)
		qsort(gone, ng, sizeof(*gone), cmp_names);
	int rc = 0;
	for (size_t i = 0; i < ng && rc == 0; i++)
		rc = emit_whiteout(&f, gone[i], err);
	free(gone);
	if (rc == 0)
		fix_dir_times(upper, root, 0);
	return rc;
}
