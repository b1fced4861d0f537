#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_context.h"
#include "builder/bld_match.h"
#include "common/arena.h"
#include "common/bopen.h"
#include "common/common.h"

/* Deep trees are fine; this only bounds recursion on hostile input. */
#define BLD_WALK_MAX_DEPTH 256

struct bld_context {
	char *dir;
	int rootfd;
	bld_exclude_fn excl;
	void *ud;
};

/* An entry below a walk's start, never through a symlink of its own: name
 * in the directory open as dirfd, or, when the walk closed that directory
 * (dirfd -1), ctx_rel resolved inside the root (which keeps it in the
 * context whatever the path meets). */
static int open_below(const struct bld_context *c, int dirfd, const char *name,
		      const char *ctx_rel, int flags)
{
	if (dirfd >= 0)
		return openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC);
	return bopen_in_root(c->rootfd, ctx_rel, flags | O_NOFOLLOW);
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
		int fd = bopen_in_root(c->rootfd, next, O_PATH);
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
	int dfd = bopen_in_root(c->rootfd, base, O_PATH | O_DIRECTORY);
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

/* ------------------------------------------------------------------ */
/* walk
 *
 * A walk visits entries in lexical order on the calling thread (the
 * callback sees what a plain recursive walk would give it), but reading a
 * directory and lstat()ing its entries is the expensive part of hashing an
 * unchanged context (one syscall per file), so helper threads read
 * directories ahead of the visit: the directory's entries, their lstat,
 * symlink targets, and the subdirectories to read next. A directory is
 * read by whichever thread claims it first; the visitor waits only for a
 * directory a helper is reading at that moment. Failures found ahead are
 * kept with the entry and reported when the visit reaches it, so errors
 * come in the same order and with the same words as without helpers. */

/* Beyond this many directories opened ahead and not yet visited, helpers
 * stop opening more (each holds an fd): the visitor opens the rest. At
 * most a quarter of the descriptor limit, so that the build itself (which
 * opens every file it has not hashed before) never runs short. */
#define BLD_WALK_AHEAD_FDS 256
#define BLD_WALK_MAX_THREADS 4

enum { SD_PENDING, SD_CLAIMED, SD_DONE };

struct sdir;

/* What an entry keeps of its lstat: struct stat less st_atim, st_blocks,
 * st_blksize and glibc's reserved words, 56 of its 144 bytes. A walk holds
 * every entry of the tree at once, and fresh memory is the costliest
 * thing in a nothing-changed rebuild (each 2 MiB huge page of it is ~0.1
 * ms to zero, and ~4.5 ms when the host has reclaimed it: measured). */
struct kstat {
	dev_t dev, rdev;
	ino_t ino;
	nlink_t nlink;
	off_t size;
	struct timespec mtim, ctim;
	mode_t mode;
	uid_t uid;
	gid_t gid;
};

static void kstat_keep(struct kstat *k, const struct stat *st)
{
	*k = (struct kstat){ st->st_dev, st->st_rdev, st->st_ino, st->st_nlink, st->st_size,
			     st->st_mtim, st->st_ctim, st->st_mode, st->st_uid, st->st_gid };
}

static void kstat_give(const struct kstat *k, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = k->dev;
	st->st_rdev = k->rdev;
	st->st_ino = k->ino;
	st->st_nlink = k->nlink;
	st->st_size = k->size;
	st->st_mtim = k->mtim;
	st->st_ctim = k->ctim;
	st->st_mode = k->mode;
	st->st_uid = k->uid;
	st->st_gid = k->gid;
}

struct sent {
	char *name;
	struct kstat st;
	char *link;         /* symlink target */
	struct sdir *sub;   /* subdirectory opened and queued to be read ahead */
	const void *ahead;  /* what the walk's ahead hook said of a regular file */
	int stat_errno;     /* lstat failed */
	int link_errno;     /* readlink failed */
	int sub_errno;      /* opening it failed */
};

struct sdir {
	int fd;             /* the directory, open until read by a helper
			     * (then -1) or visited */
	char *ctx_rel;
	char *host;         /* its host path: the start's from the kernel, then
			     * parent + "/" + name (opened with O_NOFOLLOW: no
			     * symlink can make the two differ) */
	int depth;
	_Atomic int state;
	int list_errno;     /* reading the directory failed */
	struct sent *ents;  /* sorted by name */
	size_t n;
};

struct walk;

/* a thread that reads directories, and the arena their entries live in
 * (entries are read on one thread and visited on another: the arenas are
 * released together when the walk ends) */
struct reader {
	struct walk *w;
	struct barena ar;
	pthread_t th;
};

struct walk {
	struct bld_context *c;
	bld_walk_fn fn;
	bld_ahead_fn ahead;
	void *ud;
	pthread_mutex_t mu;    /* guards what follows, and calls of c->excl */
	pthread_cond_t work;   /* a directory was queued, or stop */
	pthread_cond_t done;   /* a directory was read */
	struct sdir **queue;   /* to read ahead; helpers take the newest */
	size_t nqueue, capqueue;
	struct sdir **all;     /* every directory, freed at the end */
	size_t nall, capall;
	size_t ahead_fds, max_ahead;
	bool stop;
	struct reader rd[BLD_WALK_MAX_THREADS]; /* [0]: the visitor */
	int nth, want_th;                      /* helpers started, threads wanted */
};

static char *fd_path(int fd, struct berr **err);

/* what a child's host path is built on: the directory's, "" for "/" */
static const char *host_dir(const char *host)
{
	return strcmp(host, "/") ? host : "";
}

static char *host_child(struct barena *ar, const char *dir, const char *name)
{
	return barena_join(ar, host_dir(dir), "/", name);
}

static struct sdir *sdir_new(struct walk *w, struct barena *ar, int fd, char *ctx_rel,
			     char *host, int depth)
{
	struct sdir *d = barena_zalloc(ar, sizeof(*d));
	d->fd = fd;
	d->ctx_rel = ctx_rel;
	d->host = host;
	d->depth = depth;
	atomic_init(&d->state, SD_PENDING);
	pthread_mutex_lock(&w->mu);
	XGROW(w->all, w->nall + 1, w->capall);
	w->all[w->nall++] = d;
	pthread_mutex_unlock(&w->mu);
	return d;
}

/* the fd, once visited (memory stays in the arenas until the walk ends:
 * a helper may still hold the directory in its queue) */
static void sdir_release(struct walk *w, struct sdir *d)
{
	if (d->fd >= 0) {
		close(d->fd);
		d->fd = -1;
		pthread_mutex_lock(&w->mu);
		w->ahead_fds--;
		pthread_mutex_unlock(&w->mu);
	}
}

static int excl_locked(struct walk *w, const char *rel, bool is_dir, struct berr **err)
{
	if (!w->c->excl)
		return BLD_INCLUDE;
	pthread_mutex_lock(&w->mu);
	int ex = excluded(w->c, rel, is_dir, err);
	pthread_mutex_unlock(&w->mu);
	return ex;
}

/* Names in a directory (no "." / ".."), sorted; reads the fd itself
 * (getdents64: no second open as opendir would need). */
static int read_names(int fd, struct barena *ar, char ***names, size_t *n)
{
	char buf[16384] __attribute__((aligned(8)));
	char **v = NULL;
	size_t cnt = 0, cap = 0;
	for (;;) {
		ssize_t got = getdents64(fd, buf, sizeof(buf));
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			int e = errno;
			free(v);
			return e;
		}
		if (got == 0)
			break;
		for (ssize_t pos = 0; pos < got;) {
			struct dirent64 *de = (struct dirent64 *)(buf + pos);
			pos += de->d_reclen;
			if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
				continue;
			XGROW(v, cnt + 1, cap);
			v[cnt++] = barena_strdup(ar, de->d_name);
		}
	}
	if (cnt)
		qsort(v, cnt, sizeof(*v), cmp_str);
	*names = v;
	*n = cnt;
	return 0;
}

static void walk_maybe_start(struct walk *w);

/* queue subs[from..to) for helpers */
static void publish(struct walk *w, struct sdir **subs, size_t from, size_t to)
{
	pthread_mutex_lock(&w->mu);
	/* the visitor walks forward from the first; helpers take from the end */
	for (size_t i = from; i < to; i++) {
		XGROW(w->queue, w->nqueue + 1, w->capqueue);
		w->queue[w->nqueue++] = subs[i];
	}
	if (to > from)
		pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
}

/* subdirectories are queued in batches of this many while their parent is
 * read, so that helpers start on a wide directory before it is finished */
#define BLD_WALK_BATCH 8

/* Read directory d (claimed by this thread): its sorted entries, their
 * lstat and link targets, and its subdirectories opened and queued. Runs
 * on any thread (visitor: this is the visiting thread): no berr, failures
 * are kept for the visitor. */
static void scan_dir(struct walk *w, struct barena *ar, struct sdir *d, bool visitor)
{
	char **names = NULL;
	size_t n = 0;
	d->list_errno = read_names(d->fd, ar, &names, &n);
	if (!d->list_errno && n) {
		d->ents = barena_zalloc(ar, n * sizeof(*d->ents));
		d->n = n;
	}
	struct sdir **subs = NULL;
	size_t nsubs = 0, capsubs = 0, published = 0;
	_cleanup_bbuf_ struct bbuf hb = BBUF_INIT;
	size_t hpre = 0;
	if (w->ahead) {
		bbuf_addstr(&hb, host_dir(d->host), NULL);
		bbuf_addch(&hb, '/', NULL);
		hpre = hb.len;
	}
	for (size_t k = 0; k < d->n; k++) {
		struct sent *s = &d->ents[k];
		s->name = names[k];
		struct stat st;
		if (fstatat(d->fd, s->name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
			s->stat_errno = errno;
			continue;
		}
		kstat_keep(&s->st, &st);
		if (w->ahead && S_ISREG(st.st_mode)) {
			hb.len = hpre;
			bbuf_addstr(&hb, s->name, NULL);
			s->ahead = w->ahead(w->ud, hb.data, &st);
			continue;
		}
		if (S_ISLNK(st.st_mode)) {
			char lb[4096];
			ssize_t l = readlinkat(d->fd, s->name, lb, sizeof(lb) - 1);
			if (l < 0) {
				s->link_errno = errno;
			} else {
				s->link = barena_strndup(ar, lb, (size_t)l);
			}
			continue;
		}
		if (!S_ISDIR(st.st_mode) || d->depth + 1 > BLD_WALK_MAX_DEPTH)
			continue;
		/* read ahead only what the visit will enter; an excluded
		 * directory may still hold re-included children */
		char *crel = strcmp(d->ctx_rel, ".") ? barena_join(ar, d->ctx_rel, "/", s->name)
						      : barena_strdup(ar, s->name);
		struct berr *e = NULL;
		int ex = excl_locked(w, crel, true, &e);
		berr_free(e);
		bool take = false;
		if (ex == BLD_INCLUDE || ex == BLD_EXCLUDE) {
			pthread_mutex_lock(&w->mu);
			take = w->ahead_fds < w->max_ahead;
			if (take)
				w->ahead_fds++;
			pthread_mutex_unlock(&w->mu);
		}
		if (!take)
			continue;
		int fd = openat(d->fd, s->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0) {
			/* out of descriptors is not the directory's fault: the
			 * visitor opens it when it gets there, with fewer open */
			if (errno != EMFILE && errno != ENFILE)
				s->sub_errno = errno;
			pthread_mutex_lock(&w->mu);
			w->ahead_fds--;
			pthread_mutex_unlock(&w->mu);
			continue;
		}
		s->sub = sdir_new(w, ar, fd, crel, host_child(ar, d->host, s->name), d->depth + 1);
		XGROW(subs, nsubs + 1, capsubs);
		subs[nsubs++] = s->sub;
		if (nsubs - published >= BLD_WALK_BATCH) {
			publish(w, subs, published, nsubs);
			published = nsubs;
			if (visitor)
				walk_maybe_start(w);
		}
	}
	free(names);
	publish(w, subs, published, nsubs);
	/* Closing a directory that was read frees what the file system kept
	 * for the listing (ext4: a tree node per entry): a helper closes what
	 * it read here, off the visitor, the walk's slowest thread (measured:
	 * 2.3 ms of the visitor's time on a 20k-file tree). The visit needs no
	 * descriptor of it: what it opens below (a file not in the stat cache,
	 * a subdirectory not read ahead) it opens by context path inside the
	 * root (open_below). The visitor keeps what it read itself open for
	 * those opens until its visit ends. */
	bool closed = !visitor;
	if (closed) {
		close(d->fd);
		d->fd = -1;
	}
	pthread_mutex_lock(&w->mu);
	if (closed)
		w->ahead_fds--;
	atomic_store(&d->state, SD_DONE);
	pthread_cond_broadcast(&w->done);
	pthread_mutex_unlock(&w->mu);
	free(subs);
}

static void *walk_helper(void *arg)
{
	struct reader *rd = arg;
	struct walk *w = rd->w;
	pthread_mutex_lock(&w->mu);
	for (;;) {
		while (!w->stop && w->nqueue == 0)
			pthread_cond_wait(&w->work, &w->mu);
		if (w->stop)
			break;
		struct sdir *d = w->queue[--w->nqueue];
		int expect = SD_PENDING;
		if (!atomic_compare_exchange_strong(&d->state, &expect, SD_CLAIMED))
			continue; /* the visitor took it */
		pthread_mutex_unlock(&w->mu);
		scan_dir(w, &rd->ar, d, false);
		pthread_mutex_lock(&w->mu);
	}
	pthread_mutex_unlock(&w->mu);
	return NULL;
}

/* Threads for a walk: BERTH_WALK_THREADS (1 = none ahead), else the CPUs
 * this process may run on, at most BLD_WALK_MAX_THREADS. */
static int walk_threads(void)
{
	const char *env = getenv("BERTH_WALK_THREADS");
	if (env && *env) {
		char *end;
		long v = strtol(env, &end, 10);
		if (!*end && v >= 1)
			return v > BLD_WALK_MAX_THREADS ? BLD_WALK_MAX_THREADS : (int)v;
	}
	cpu_set_t set;
	int n = sched_getaffinity(0, sizeof(set), &set) == 0 ? CPU_COUNT(&set) : 1;
	return n < 1 ? 1 : n > BLD_WALK_MAX_THREADS ? BLD_WALK_MAX_THREADS : n;
}

/* Start helpers once there is more than one directory to read ahead. */
static void walk_maybe_start(struct walk *w)
{
	if (w->nth || w->want_th <= 1)
		return;
	pthread_mutex_lock(&w->mu);
	bool go = w->nqueue >= 2;
	pthread_mutex_unlock(&w->mu);
	if (!go)
		return;
	/* helpers take no signals: the build's handlers run on this thread */
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (int i = 0; i < w->want_th - 1; i++) {
		struct reader *rd = &w->rd[w->nth + 1];
		rd->w = w;
		if (pthread_create(&rd->th, NULL, walk_helper, rd) != 0)
			break; /* fewer helpers: slower, not wrong */
		w->nth++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	w->want_th = 1;
}

/* The visitor's turn at d: read it now if no helper has, or wait for the
 * helper reading it. */
static void claim(struct walk *w, struct sdir *d)
{
	int expect = SD_PENDING;
	if (atomic_compare_exchange_strong(&d->state, &expect, SD_CLAIMED)) {
		scan_dir(w, &w->rd[0].ar, d, true);
		walk_maybe_start(w);
		return;
	}
	if (expect == SD_DONE)
		return;
	pthread_mutex_lock(&w->mu);
	while (atomic_load(&d->state) != SD_DONE)
		pthread_cond_wait(&w->done, &w->mu);
	pthread_mutex_unlock(&w->mu);
}

/* entry paths are their directory's plus the name, composed in place:
 * b holds "prefix/" (nothing for the root), path_at appends a name */
static size_t path_prefix(struct bbuf *b, const char *prefix)
{
	bbuf_add(b, "", 0, NULL);
	if (*prefix && strcmp(prefix, ".")) {
		bbuf_addstr(b, prefix, NULL);
		bbuf_addch(b, '/', NULL);
	}
	return b->len;
}

static const char *path_at(struct bbuf *b, size_t keep, const char *name)
{
	b->len = keep;
	bbuf_addstr(b, name, NULL);
	return b->data;
}

static int visit_dir(struct walk *w, struct sdir *d, const char *rel, struct berr **err)
{
	if (d->depth > BLD_WALK_MAX_DEPTH)
		return berr_set(err, BERR_LIMIT, "'%s' is nested deeper than %d directories",
				d->ctx_rel, BLD_WALK_MAX_DEPTH);
	claim(w, d);
	if (d->list_errno)
		return berr_set_errno(err, BERR_IO, d->list_errno, "read directory '%s'", d->ctx_rel);
	if (!d->n)
		return 0;
	_cleanup_bbuf_ struct bbuf cb = BBUF_INIT, wb = BBUF_INIT;
	size_t cpre = path_prefix(&cb, d->ctx_rel), wpre = path_prefix(&wb, rel);
	int r = 0;
	for (size_t k = 0; k < d->n && r == 0; k++) {
		struct sent *s = &d->ents[k];
		if (s->stat_errno) {
			r = berr_set_errno(err, BERR_IO, s->stat_errno, "stat '%s/%s'", d->ctx_rel,
					   s->name);
			break;
		}
		struct stat stv;
		kstat_give(&s->st, &stv);
		const struct stat *st = &stv;
		const char *crel = path_at(&cb, cpre, s->name);
		const char *wrel = path_at(&wb, wpre, s->name);
		int ex = excl_locked(w, crel, S_ISDIR(st->st_mode), err);
		if (ex < 0) {
			r = -1;
			break;
		}
		if (ex == BLD_EXCLUDE_PRUNE || (ex == BLD_EXCLUDE && !S_ISDIR(st->st_mode)))
			continue;
		if (s->link_errno) {
			r = berr_set_errno(err, BERR_IO, s->link_errno, "readlink '%s'", crel);
			break;
		}
		/* An excluded directory is entered only to find re-included
		 * children; it is not reported itself. */
		if (ex == BLD_INCLUDE) {
			struct bld_entry e = { wrel, crel, st, d->fd, s->name, s->link, w->c, d->host,
					       s->ahead };
			r = w->fn(w->ud, &e, err);
			if (r < 0)
				break;
		}
		if (!S_ISDIR(st->st_mode))
			continue;
		struct sdir *sub = s->sub;
		if (!sub) {
			int fd = s->sub_errno ? (errno = s->sub_errno, -1)
					      : open_below(w->c, d->fd, s->name, crel,
							   O_RDONLY | O_DIRECTORY);
			if (fd < 0) {
				r = berr_set_errno(err, BERR_IO, errno, "open directory '%s'", crel);
				break;
			}
			pthread_mutex_lock(&w->mu);
			w->ahead_fds++;
			pthread_mutex_unlock(&w->mu);
			struct barena *ar = &w->rd[0].ar;
			sub = sdir_new(w, ar, fd, barena_strdup(ar, crel), host_child(ar, d->host, s->name),
				       d->depth + 1);
		}
		r = visit_dir(w, sub, wrel, err);
		sdir_release(w, sub);
	}
	return r;
}

static void walk_finish(struct walk *w)
{
	pthread_mutex_lock(&w->mu);
	w->stop = true;
	pthread_cond_broadcast(&w->work);
	pthread_mutex_unlock(&w->mu);
	for (int i = 1; i <= w->nth; i++)
		pthread_join(w->rd[i].th, NULL);
	for (size_t i = 0; i < w->nall; i++)
		sdir_release(w, w->all[i]);
	for (int i = 0; i <= w->nth; i++)
		barena_release(&w->rd[i].ar);
	free(w->all);
	free(w->queue);
	pthread_mutex_destroy(&w->mu);
	pthread_cond_destroy(&w->work);
	pthread_cond_destroy(&w->done);
}

int bld_context_walk(struct bld_context *c, const char *ctx_rel, bld_walk_fn fn, void *ud,
		     struct berr **err)
{
	return bld_context_walk_ahead(c, ctx_rel, NULL, fn, ud, err);
}

int bld_context_walk_ahead(struct bld_context *c, const char *ctx_rel, bld_ahead_fn ahead,
			   bld_walk_fn fn, void *ud, struct berr **err)
{
	_cleanup_free_ char *clean = NULL;
	if (bld_context_clean(ctx_rel, &clean, err) < 0)
		return -1;
	/* The start is resolved through symlinks, inside the root. */
	_cleanup_close_ int fd = bopen_in_root(c->rootfd, clean, O_PATH);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "'%s' in the build context", clean);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '%s'", clean);
	/* The start entry has no parent fd here; name "" tells bld_entry_open
	 * to reopen it by its context path, again inside the root. */
	struct bld_entry e = { "", clean, &st, c->rootfd, "", NULL, c, NULL, NULL };
	if (fn(ud, &e, err) < 0)
		return -1;
	if (!S_ISDIR(st.st_mode))
		return 0;
	int dfd = bopen_in_root(c->rootfd, clean, O_RDONLY | O_DIRECTORY);
	if (dfd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", clean);
	/* the start's host path, once: every entry's path derives from it */
	char *host = fd_path(dfd, err);
	if (!host) {
		close(dfd);
		return -1;
	}
	struct walk w = { .c = c, .fn = fn, .ahead = ahead, .ud = ud, .want_th = walk_threads() };
	pthread_mutex_init(&w.mu, NULL);
	pthread_cond_init(&w.work, NULL);
	pthread_cond_init(&w.done, NULL);
	w.ahead_fds = 1;
	struct rlimit rl;
	w.max_ahead = BLD_WALK_AHEAD_FDS;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 4 < w.max_ahead)
		w.max_ahead = (size_t)(rl.rlim_cur / 4);
	struct barena *ar = &w.rd[0].ar;
	struct sdir *root = sdir_new(&w, ar, dfd, barena_strdup(ar, clean), barena_strdup(ar, host), 1);
	free(host);
	int r = visit_dir(&w, root, "", err);
	walk_finish(&w);
	return r;
}

int bld_entry_open(const struct bld_entry *e, struct berr **err)
{
	int fd;
	if (e->name[0] == '\0') {
		fd = bopen_in_root(e->ctx->rootfd, e->ctx_rel, O_RDONLY);
	} else {
		fd = open_below(e->ctx, e->dirfd, e->name, e->ctx_rel, O_RDONLY);
	}
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", e->ctx_rel);
	return fd;
}

/* The kernel's name for an open fd: the real host path, resolved inside
 * the root by the bopen_in_root that produced the fd. */
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

char *bld_entry_host_path(const struct bld_entry *e, struct barena *ar, struct berr **err)
{
	if (e->name[0] != '\0')
		return host_child(ar, e->dir_host, e->name);
	/* the walk's start: resolved again inside the root */
	_cleanup_close_ int fd = bopen_in_root(e->ctx->rootfd, e->ctx_rel, O_PATH);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", e->ctx_rel), NULL;
	_cleanup_free_ char *p = fd_path(fd, err);
	return p ? barena_strdup(ar, p) : NULL;
}

int bld_context_open_path(struct bld_context *c, const char *ctx_rel, struct berr **err)
{
	_cleanup_free_ char *clean = NULL;
	if (bld_context_clean(ctx_rel, &clean, err) < 0)
		return -1;
	int fd = bopen_in_root(c->rootfd, clean, O_PATH);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "open '%s'", clean);
	return fd;
}
