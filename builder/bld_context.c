#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "builder/bld_context.h"
#include "builder/bld_match.h"
#include "common/common.h"

/* Deep trees are fine; this only bounds recursion on hostile input. */
#define BLD_WALK_MAX_DEPTH 256

struct bld_context {
	char *dir;
	int rootfd;
	bld_exclude_fn excl;
	void *ud;
};

static int openat2_in_root(int rootfd, const char *rel, int flags)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, rootfd, rel, &how, sizeof(how));
}

int bld_context_open(const char *dir, bld_exclude_fn excl, void *ud,
		     struct bld_context **out, struct berr **err)
{
	int fd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "build context '%s'", dir);
	struct bld_context *c = xcalloc(1, sizeof(*c));
	c->dir = xstrdup(dir);
	c->rootfd = fd;
	c->excl = excl;
	c->ud = ud;
	*out = c;
	return 0;
}

void bld_context_free(struct bld_context *c)
{
	if (!c)
		return;
	if (c->rootfd >= 0)
		close(c->rootfd);
	free(c->dir);
	free(c);
}

const char *bld_context_dir(const struct bld_context *c)
{
	return c->dir;
}

int bld_context_clean(const char *src, char **out, struct berr **err)
{
	while (*src == '/')
		src++;
	if (!bpath_is_contained(src))
		return berr_set(err, BERR_SECURITY,
				"forbidden path outside the build context: '%s'", src);
	*out = bpath_clean(src);
	return 0;
}

static int excluded(struct bld_context *c, const char *rel, bool is_dir, struct berr **err)
{
	if (!c->excl || strcmp(rel, ".") == 0)
		return BLD_INCLUDE;
	return c->excl(c->ud, rel, is_dir, err);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory (no "." / ".."). */
static int list_dir(int dirfd, const char *what, char ***names, size_t *n, struct berr **err)
{
	int fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", what);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", what);
	}
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	struct dirent *e;
	errno = 0;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		XGROW(v, cnt + 1, cap);
		v[cnt++] = xstrdup(e->d_name);
	}
	int saved = errno;
	closedir(d);
	if (saved) {
		for (size_t i = 0; i < cnt; i++)
			free(v[i]);
		free(v);
		return berr_set_errno(err, BERR_IO, saved, "read directory '%s'", what);
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

static void free_names(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static char *join_rel(const char *a, const char *b)
{
	if (strcmp(a, ".") == 0 || a[0] == '\0')
		return xstrdup(b);
	return xasprintf("%s/%s", a, b);
}

struct strvec {
	char **v;
	size_t n, cap;
};

static void strvec_push(struct strvec *s, char *p)
{
	XGROW(s->v, s->n + 2, s->cap);
	s->v[s->n++] = p;
	s->v[s->n] = NULL;
}

/* Expand components [i..] of comps below context path `base`. */
static int expand_rec(struct bld_context *c, const char *base, char **comps, size_t ncomp,
		      size_t i, struct strvec *out, struct berr **err)
{
	if (i == ncomp) {
		strvec_push(out, xstrdup(base));
		return 0;
	}
	const char *comp = comps[i];
	if (!bld_has_wildcard(comp)) {
		_cleanup_free_ char *next = join_rel(base, comp);
		int fd = openat2_in_root(c->rootfd, next, O_PATH);
		if (fd < 0)
			return 0; /* a missing literal component just matches nothing */
		struct stat st;
		int r = fstat(fd, &st);
		close(fd);
		if (r < 0)
			return berr_set_errno(err, BERR_IO, errno, "stat '%s'", next);
		int ex = excluded(c, next, S_ISDIR(st.st_mode), err);
		if (ex < 0)
			return -1;
		if (ex != BLD_INCLUDE && i + 1 == ncomp)
			return 0;
		return expand_rec(c, next, comps, ncomp, i + 1, out, err);
	}
	int dfd = openat2_in_root(c->rootfd, base, O_PATH | O_DIRECTORY);
	if (dfd < 0)
		return 0;
	char **names = NULL;
	size_t n = 0;
	int r = list_dir(dfd, base, &names, &n, err);
	if (r < 0) {
		close(dfd);
		return -1;
	}
	for (size_t k = 0; k < n && r == 0; k++) {
		int m = bld_match(comp, names[k], err);
		if (m < 0) {
			berr_wrap(err, "invalid source");
			r = -1;
			break;
		}
		if (!m)
			continue;
		_cleanup_free_ char *next = join_rel(base, names[k]);
		struct stat st;
		if (fstatat(dfd, names[k], &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		int ex = excluded(c, next, S_ISDIR(st.st_mode), err);
		if (ex < 0) {
			r = -1;
			break;
		}
		if (ex != BLD_INCLUDE && i + 1 == ncomp)
			continue;
		r = expand_rec(c, next, comps, ncomp, i + 1, out, err);
	}
	close(dfd);
	free_names(names, n);
	return r;
}

int bld_context_expand(struct bld_context *c, const char *src, char ***out, size_t *n,
		       struct berr **err)
{
	_cleanup_free_ char *clean = NULL;
	if (bld_context_clean(src, &clean, err) < 0)
		return -1;
	struct strvec res = { 0 };
	char **comps = NULL;
	size_t ncomp = 0, cap = 0;
	if (strcmp(clean, ".") != 0) {
		char *save = clean;
		for (char *p = clean;; p++) {
			if (*p == '/' || *p == '\0') {
				bool end = *p == '\0';
				*p = '\0';
				XGROW(comps, ncomp + 1, cap);
				comps[ncomp++] = save;
				if (end)
					break;
				save = p + 1;
			}
		}
	}
	int r = expand_rec(c, ".", comps, ncomp, 0, &res, err);
	free(comps);
	if (r == 0 && res.n == 0)
		r = berr_set(err, BERR_NOTFOUND, "'%s' not found in the build context", src);
	if (r < 0) {
		free_names(res.v, res.n);
		return -1;
	}
	*out = res.v;
	*n = res.n;
	return 0;
}

struct walk {
	struct bld_context *c;
	bld_walk_fn fn;
	void *ud;
};

static char *fd_path(int fd, struct berr **err);

/* dir_host: the directory's host path (from the kernel for the start,
 * then parent + "/" + name: subdirectories are opened with O_NOFOLLOW, so
 * no symlink can make the two differ); NULL to ask the kernel. */
static int walk_dir(struct walk *w, int dfd, const char *rel, const char *ctx_rel,
		    const char *dir_host_in, int depth, struct berr **err)
{
	if (depth > BLD_WALK_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested deeper than %d directories",
				ctx_rel, BLD_WALK_MAX_DEPTH);
	char **names = NULL;
	size_t n = 0;
	if (list_dir(dfd, ctx_rel, &names, &n, err) < 0)
		return -1;
	int r = 0;
	/* the directory's host path, once: every entry's path derives from it */
	_cleanup_free_ char *dir_host = !n ? NULL : dir_host_in ? xstrdup(dir_host_in)
								 : fd_path(dfd, err);
	if (n && !dir_host)
		r = -1;
	for (size_t k = 0; k < n && r == 0; k++) {
		struct stat st;
		if (fstatat(dfd, names[k], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = berr_set_errno(err, BERR_IO, errno, "stat '%s/%s'", ctx_rel, names[k]);
			break;
		}
		_cleanup_free_ char *crel = join_rel(ctx_rel, names[k]);
		_cleanup_free_ char *wrel = rel[0] ? xasprintf("%s/%s", rel, names[k])
						   : xstrdup(names[k]);
		int ex = excluded(w->c, crel, S_ISDIR(st.st_mode), err);
		if (ex < 0) {
			r = -1;
			break;
		}
		if (ex == BLD_EXCLUDE_PRUNE || (ex == BLD_EXCLUDE && !S_ISDIR(st.st_mode)))
			continue;
		char linkbuf[4096];
		const char *link = NULL;
		if (S_ISLNK(st.st_mode)) {
			ssize_t l = readlinkat(dfd, names[k], linkbuf, sizeof(linkbuf) - 1);
			if (l < 0) {
				r = berr_set_errno(err, BERR_IO, errno, "readlink '%s'", crel);
				break;
			}
			linkbuf[l] = '\0';
			link = linkbuf;
		}
		/* An excluded directory is entered only to find re-included
		 * children; it is not reported itself. */
		if (ex == BLD_INCLUDE) {
			struct bld_entry e = { wrel, crel, &st, dfd, names[k], link, w->c, dir_host };
			r = w->fn(w->ud, &e, err);
			if (r < 0)
				break;
		}
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dfd, names[k], O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub < 0) {
				r = berr_set_errno(err, BERR_IO, errno, "open directory '%s'", crel);
				break;
			}
			_cleanup_free_ char *sub_host =
				xasprintf("%s/%s", strcmp(dir_host, "/") ? dir_host : "", names[k]);
			r = walk_dir(w, sub, wrel, crel, sub_host, depth + 1, err);
			close(sub);
		}
	}
	free_names(names, n);
	return r;
}

int bld_context_walk(struct bld_context *c, const char *ctx_rel, bld_walk_fn fn, void *ud,
		     struct berr **err)
{
	_cleanup_free_ char *clean = NULL;
	if (bld_context_clean(ctx_rel, &clean, err) < 0)
		return -1;
	/* The start is resolved through symlinks, inside the root. */
	_cleanup_close_ int fd = openat2_in_root(c->rootfd, clean, O_PATH);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "'%s' in the build context", clean);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '%s'", clean);
	/* The start entry has no parent fd here; name "" tells bld_entry_open
	 * to reopen it by its context path, again inside the root. */
	struct bld_entry e = { "", clean, &st, c->rootfd, "", NULL, c, NULL };
	if (fn(ud, &e, err) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	_cleanup_close_ int dfd = openat2_in_root(c->rootfd, clean, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", clean);
	struct walk w = { c, fn, ud };
	return walk_dir(&w, dfd, "", clean, NULL, 1, err);
}

int bld_entry_open(const struct bld_entry *e, struct berr **err)
{
	int fd;
	if (e->name[0] == '\0') {
		fd = openat2_in_root(e->ctx->rootfd, e->ctx_rel, O_RDONLY);
	} else {
		fd = openat(e->dirfd, e->name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	}
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", e->ctx_rel);
	return fd;
}

/* The kernel's name for an open fd: the real host path, resolved inside
 * the root by the openat2 that produced the fd. */
static char *fd_path(int fd, struct berr **err)
{
	char link[64], buf[PATH_MAX];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, buf, sizeof(buf) - 1);
	if (n < 0)
		return berr_set_errno(err, BERR_IO, errno, "readlink '%s'", link), NULL;
	buf[n] = '\0';
	return xstrdup(buf);
}

char *bld_entry_host_path(const struct bld_entry *e, struct berr **err)
{
	if (e->name[0] == '\0') {
		_cleanup_close_ int fd = openat2_in_root(e->ctx->rootfd, e->ctx_rel, O_PATH);
		if (fd < 0)
			return berr_set_errno(err, BERR_IO, errno, "open '%s'", e->ctx_rel), NULL;
		return fd_path(fd, err);
	}
	if (e->dir_host)
		return xasprintf("%s/%s", strcmp(e->dir_host, "/") ? e->dir_host : "", e->name);
	_cleanup_free_ char *dir = fd_path(e->dirfd, err);
	if (!dir)
		return NULL;
	return xasprintf("%s/%s", strcmp(dir, "/") ? dir : "", e->name);
}

int bld_context_open_path(struct bld_context *c, const char *ctx_rel, struct berr **err)
{
	_cleanup_free_ char *clean = NULL;
	if (bld_context_clean(ctx_rel, &clean, err) < 0)
		return -1;
	int fd = openat2_in_root(c->rootfd, clean, O_PATH);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "open '%s'", clean);
	return fd;
}
