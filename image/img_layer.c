#include <ctype.h>
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
#include "common/common.h"
#include "image/img_layer.h"
#include "image/img_strmap.h"
#include "image/img_wintar.h"

/* Longest path accepted in a layer (Linux PATH_MAX includes the NUL). */
#define LAYER_PATH_MAX 4095
/* xattr list and value sizes are bounded by the kernel (XATTR_LIST_MAX,
 * XATTR_SIZE_MAX = 64 KiB). */
#define LAYER_XATTR_MAX (64 * 1024)
/* libarchive block size; the last block is not padded, so the bytes written
 * do not depend on it, only the size of the writes into the sink. */
#define LAYER_BLOCK (64 * 1024)

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"

/* internal entry kinds beyond enum img_entry_type */
enum { ENT_WHITEOUT = 100, ENT_HARDLINK };

struct ent {
	char *dst;      /* relative, cleaned, no trailing '/' (Windows: "Files/...") */
	char *src;      /* owned, or NULL */
	char *link;     /* symlink or hardlink target */
	int type;
	mode_t perm;
	uid_t uid;
	gid_t gid;
	int64_t mtime;
	dev_t rdev;
	off_t size;
	dev_t dev;
	ino_t ino;
	nlink_t nlink;
	size_t seq;     /* add order: the last add of a path wins */
};

enum layer_state { L_OPEN, L_DONE, L_FAILED };

struct img_layer {
	struct img_layer_opts opts;
	struct bsink out;
	enum layer_state state;
	struct ent **v;
	size_t n, cap;
	size_t seq;
	/* finish-time state */
	struct archive *ar;
	struct img_tarw *tw;
	struct berr *sink_err;
	uint64_t tar_bytes;
	char *buf;
	char *sd_file, *sd_dir;
	char *win_owner;    /* owner SID of a Windows layer's entries, or NULL */
	char *sd_root;      /* with win_owner: the roots Files and Hives keep the default */
};

static bool is_windows(const struct img_layer *l)
{
	return l->opts.flags & IMG_LAYER_WINDOWS;
}

struct img_layer *img_layer_new(const struct img_layer_opts *opts, const struct bsink *out)
{
	struct img_layer *l = xcalloc(1, sizeof(*l));
	if (opts)
		l->opts = *opts;
	l->out = *out;
	return l;
}

struct img_layer *img_wintar_new(const struct img_layer_opts *opts, const struct bsink *out)
{
	struct img_layer_opts o = { 0 };
	if (opts)
		o = *opts;
	o.flags |= IMG_LAYER_WINDOWS;
	return img_layer_new(&o, out);
}

static void ent_free(struct ent *e)
{
	if (!e)
		return;
	free(e->dst);
	free(e->src);
	free(e->link);
	free(e);
}

int img_layer_set_windows_owner(struct img_layer *l, const char *sid, struct berr **err)
{
	unsigned char bin[IMG_WIN_SID_MAX];
	if (!is_windows(l))
		return berr_set(err, BERR_INTERNAL, "an owner SID needs a windows layer");
	if (!img_win_sid_parse(sid, bin))
		return berr_set(err, BERR_INPUT, "invalid SID '%s'", sid);
	free(l->win_owner);
	l->win_owner = xstrdup(sid);
	return 0;
}

void img_layer_free(struct img_layer *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < l->n; i++)
		ent_free(l->v[i]);
	free(l->v);
	if (l->ar)
		archive_write_free(l->ar);
	img_tarw_free(l->tw);
	berr_free(l->sink_err);
	free(l->buf);
	free(l->sd_file);
	free(l->sd_dir);
	free(l->win_owner);
	free(l->sd_root);
	free(l);
}

int img_layer_epoch_from_env(struct img_layer_opts *opts, struct berr **err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || !isdigit((unsigned char)s[0]))
		return berr_set(err, BERR_INPUT,
				"SOURCE_DATE_EPOCH '%s' is not a non-negative integer", s);
	opts->clamp_mtime = true;
	opts->epoch = v;
	opts->parent_mtime = v;
	return 0;
}

static int check_open(struct img_layer *l, struct berr **err)
{
	if (l->state != L_OPEN)
		return berr_set(err, BERR_INTERNAL, "layer writer is already %s",
				l->state == L_DONE ? "finished" : "failed");
	return 0;
}

static bool is_reserved(const char *path)
{
	for (const char *c = path; c; c = strchr(c, '/')) {
		if (*c == '/')
			c++;
		if (strncmp(c, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			return true;
	}
	return false;
}

/* Destination path -> layer name. *out = NULL for the root. */
static int norm_dst(struct img_layer *l, const char *in, char **out, struct berr **err)
{
	*out = NULL;
	if (!in || !*in)
		return berr_set(err, BERR_INPUT, "empty destination path");
	if (is_windows(l)) {
		char *m = NULL;
		if (img_win_path_map(in, &m, err) < 0)
			return -1;
		if (strcmp(m, "Files") == 0) {
			free(m);
			return 0;
		}
		*out = m;
	} else {
		while (*in == '/')
			in++;
		char *c = bpath_clean(*in ? in : ".");
		if (strcmp(c, ".") == 0) {
			free(c);
			return 0;
		}
		if (!bpath_is_contained(c)) {
			berr_set(err, BERR_SECURITY, "destination '%s' escapes the layer root", in);
			free(c);
			return -1;
		}
		*out = c;
	}
	if (strlen(*out) > LAYER_PATH_MAX) {
		berr_set(err, BERR_LIMIT, "destination '%s' is longer than %d bytes", in,
			 LAYER_PATH_MAX);
		free(*out);
		*out = NULL;
		return -1;
	}
	return 0;
}

static void push(struct img_layer *l, struct ent *e)
{
	XGROW(l->v, l->n + 1, l->cap);
	e->seq = l->seq++;
	l->v[l->n++] = e;
}

static int type_of_mode(mode_t m)
{
	if (S_ISREG(m))
		return IMG_ENTRY_FILE;
	if (S_ISDIR(m))
		return IMG_ENTRY_DIR;
	if (S_ISLNK(m))
		return IMG_ENTRY_SYMLINK;
	if (S_ISCHR(m))
		return IMG_ENTRY_CHAR;
	if (S_ISBLK(m))
		return IMG_ENTRY_BLOCK;
	if (S_ISFIFO(m))
		return IMG_ENTRY_FIFO;
	return -1; /* socket */
}

static char *read_link(const char *path, off_t hint, struct berr **err)
{
	size_t cap = hint > 0 && hint < LAYER_PATH_MAX ? (size_t)hint + 1 : 256;
	for (;;) {
		char *b = xmalloc(cap);
		ssize_t r = readlink(path, b, cap);
		if (r < 0) {
			berr_set_errno(err, BERR_IO, errno, "readlink '%s'", path);
			free(b);
			return NULL;
		}
		if ((size_t)r < cap) {
			b[r] = '\0';
			return b;
		}
		free(b);
		if (cap > LAYER_PATH_MAX) {
			berr_set(err, BERR_LIMIT, "symlink '%s' target is too long", path);
			return NULL;
		}
		cap *= 2;
	}
}

/* Adds an entry whose destination is already normalized (takes dst). */
static int add_norm(struct img_layer *l, const struct img_layer_entry *e, char *dst,
		    const struct stat *st_in, struct berr **err)
{
	_cleanup_free_ char *d = dst;
	struct ent *n = xcalloc(1, sizeof(*n));
	struct stat st;
	n->type = e->type;
	if (e->src) {
		if (st_in) {
			st = *st_in;
		} else if (lstat(e->src, &st) < 0) {
			berr_set_errno(err, BERR_IO, errno, "lstat '%s'", e->src);
			goto fail;
		}
		int t = type_of_mode(st.st_mode);
		if (t < 0) {
			berr_set(err, BERR_UNSUPPORTED, "'%s' is a socket", e->src);
			goto fail;
		}
		if (n->type == IMG_ENTRY_AUTO)
			n->type = t;
		else if (n->type != t) {
			berr_set(err, BERR_INPUT, "'%s' does not have the requested file type",
				 e->src);
			goto fail;
		}
		n->perm = st.st_mode & 07777;
		n->uid = st.st_uid;
		n->gid = st.st_gid;
		n->mtime = st.st_mtim.tv_sec;
		n->rdev = st.st_rdev;
		n->dev = st.st_dev;
		n->ino = st.st_ino;
		n->nlink = st.st_nlink;
		if (n->type == IMG_ENTRY_FILE)
			n->size = st.st_size;
		if (n->type == IMG_ENTRY_SYMLINK && !(n->link = read_link(e->src, st.st_size, err)))
			goto fail;
		n->src = xstrdup(e->src);
	} else {
		if (n->type == IMG_ENTRY_AUTO) {
			berr_set(err, BERR_INPUT, "entry '%s' has neither a source nor a type",
				 e->dst);
			goto fail;
		}
		n->perm = n->type == IMG_ENTRY_DIR ? 0755 : 0644;
		n->rdev = e->rdev;
		if (n->type == IMG_ENTRY_SYMLINK) {
			if (!e->linkname || !*e->linkname) {
				berr_set(err, BERR_INPUT, "symlink '%s' has no target", e->dst);
				goto fail;
			}
			n->link = xstrdup(e->linkname);
		}
	}
	if (n->link && strlen(n->link) > LAYER_PATH_MAX) {
		berr_set(err, BERR_LIMIT, "symlink '%s' target is too long", e->dst);
		goto fail;
	}
	if (e->set & IMG_SET_MODE)
		n->perm = e->mode & 07777;
	if (e->set & IMG_SET_OWNER) {
		n->uid = e->uid;
		n->gid = e->gid;
	}
	if (e->set & IMG_SET_MTIME)
		n->mtime = e->mtime;
	if ((n->type == IMG_ENTRY_CHAR || n->type == IMG_ENTRY_BLOCK) &&
	    !(l->opts.flags & IMG_LAYER_DEVICES)) {
		berr_set(err, BERR_UNSUPPORTED, "device node '%s' is not allowed in this layer",
			 e->src ? e->src : e->dst);
		goto fail;
	}
	if (is_windows(l) && n->type != IMG_ENTRY_FILE && n->type != IMG_ENTRY_DIR &&
	    n->type != IMG_ENTRY_SYMLINK) {
		berr_set(err, BERR_UNSUPPORTED, "'%s': windows layers hold only files, "
			 "directories and symlinks", e->src ? e->src : e->dst);
		goto fail;
	}
	n->dst = steal_pointer(&d);
	push(l, n);
	return 0;
fail:
	ent_free(n);
	return -1;
}

int img_layer_add(struct img_layer *l, const struct img_layer_entry *e, struct berr **err)
{
	if (check_open(l, err) < 0)
		return -1;
	char *dst;
	if (norm_dst(l, e->dst, &dst, err) < 0)
		return -1;
	if (!dst)
		return 0; /* the root itself is never an entry */
	if (is_reserved(dst)) {
		berr_set(err, BERR_INPUT, "'%s': names starting with '.wh.' are reserved for "
			 "whiteouts", e->dst);
		free(dst);
		return -1;
	}
	return add_norm(l, e, dst, NULL, err);
}

static int walk(struct img_layer *l, const char *src, const char *dst, struct berr **err)
{
	/* the walk never follows symlinks: directories are opened O_NOFOLLOW */
	int fd = open(src, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", src);
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", src);
	}
	int rc = 0;
	struct dirent *de;
	errno = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		_cleanup_free_ char *s = xasprintf("%s/%s", src, de->d_name);
		size_t dl = strlen(dst);
		bool sep = dl > 0 && (dst[dl - 1] == '/' || dst[dl - 1] == '\\');
		_cleanup_free_ char *t = xasprintf("%s%s%s", dst, sep ? "" : "/", de->d_name);
		struct stat st;
		if (lstat(s, &st) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "lstat '%s'", s);
			break;
		}
		if (S_ISSOCK(st.st_mode))
			continue;
		struct img_layer_entry e = { .src = s, .dst = t };
		char *nd;
		if (norm_dst(l, t, &nd, err) < 0) {
			rc = -1;
			break;
		}
		if (!nd)
			continue;
		if (is_reserved(nd)) {
			free(nd);
			rc = berr_set(err, BERR_INPUT, "'%s': names starting with '.wh.' are "
				      "reserved for whiteouts", s);
			break;
		}
		if (add_norm(l, &e, nd, &st, err) < 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode))
			rc = walk(l, s, t, err);
		errno = 0;
	}
	if (rc == 0 && errno)
		rc = berr_set_errno(err, BERR_IO, errno, "read directory '%s'", src);
	closedir(d);
	return rc;
}

int img_layer_add_tree(struct img_layer *l, const char *srcdir, const char *dstdir,
		       struct berr **err)
{
	if (check_open(l, err) < 0)
		return -1;
	struct stat st;
	if (lstat(srcdir, &st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "lstat '%s'", srcdir);
	if (!S_ISDIR(st.st_mode))
		return berr_set(err, BERR_INPUT, "'%s' is not a directory", srcdir);
	char *nd;
	if (norm_dst(l, dstdir, &nd, err) < 0)
		return -1;
	if (nd) {
		struct img_layer_entry e = { .src = srcdir, .dst = dstdir };
		if (add_norm(l, &e, nd, &st, err) < 0)
			return -1;
	}
	return walk(l, srcdir, dstdir, err);
}

static int add_marker(struct img_layer *l, const char *parent, const char *name,
		      struct berr **err)
{
	struct ent *n = xcalloc(1, sizeof(*n));
	n->type = ENT_WHITEOUT;
	n->dst = parent ? xasprintf("%s/%s", parent, name) : xstrdup(name);
	if (strlen(n->dst) > LAYER_PATH_MAX) {
		ent_free(n);
		return berr_set(err, BERR_LIMIT, "whiteout path is longer than %d bytes",
				LAYER_PATH_MAX);
	}
	push(l, n);
	return 0;
}

int img_layer_add_whiteout(struct img_layer *l, const char *path, struct berr **err)
{
	if (check_open(l, err) < 0)
		return -1;
	_cleanup_free_ char *p = NULL;
	if (norm_dst(l, path, &p, err) < 0)
		return -1;
	if (!p)
		return berr_set(err, BERR_INPUT, "cannot white out the root directory");
	char *slash = strrchr(p, '/');
	char *base = slash ? slash + 1 : p;
	if (slash)
		*slash = '\0';
	if (strncmp(base, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return berr_set(err, BERR_INPUT, "cannot white out reserved name '%s'", path);
	_cleanup_free_ char *name = xasprintf(WH_PREFIX "%s", base);
	return add_marker(l, slash ? p : NULL, name, err);
}

int img_layer_add_opaque(struct img_layer *l, const char *dir, struct berr **err)
{
	if (check_open(l, err) < 0)
		return -1;
	if (is_windows(l))
		return berr_set(err, BERR_UNSUPPORTED, "windows layers cannot hold opaque "
				"whiteouts ('%s'): windows hosts ignore them", dir);
	_cleanup_free_ char *p = NULL;
	if (norm_dst(l, dir, &p, err) < 0)
		return -1;
	return add_marker(l, p, WH_OPAQUE, err);
}

/* ---- ordering ---- */

static int comp_rank(const char *c, size_t n, bool top, bool win)
{
	if (win && top && n == 5 && memcmp(c, "Hives", 5) == 0)
		return -2;
	if (win && top && n == 5 && memcmp(c, "Files", 5) == 0)
		return -1;
	if (n == strlen(WH_OPAQUE) && memcmp(c, WH_OPAQUE, n) == 0)
		return 0;
	if (n >= strlen(WH_PREFIX) && memcmp(c, WH_PREFIX, strlen(WH_PREFIX)) == 0)
		return 1;
	return 2;
}

/* Component-wise order: an ancestor before its descendants; among siblings
 * the opaque marker, then whiteouts, then the rest, each in byte order. */
static int path_cmp(const char *a, const char *b, bool win)
{
	bool top = true;
	for (;;) {
		const char *ae = strchrnul(a, '/'), *be = strchrnul(b, '/');
		size_t an = (size_t)(ae - a), bn = (size_t)(be - b);
		if (an != bn || memcmp(a, b, an) != 0) {
			int ra = comp_rank(a, an, top, win), rb = comp_rank(b, bn, top, win);
			if (ra != rb)
				return ra < rb ? -1 : 1;
			int c = memcmp(a, b, an < bn ? an : bn);
			if (c)
				return c;
			return an < bn ? -1 : 1;
		}
		if (!*ae && !*be)
			return 0;
		if (!*ae)
			return -1;
		if (!*be)
			return 1;
		a = ae + 1;
		b = be + 1;
		top = false;
	}
}

static int ent_cmp_lin(const void *x, const void *y)
{
	const struct ent *a = *(struct ent *const *)x, *b = *(struct ent *const *)y;
	int c = path_cmp(a->dst, b->dst, false);
	return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static int ent_cmp_win(const void *x, const void *y)
{
	const struct ent *a = *(struct ent *const *)x, *b = *(struct ent *const *)y;
	int c = path_cmp(a->dst, b->dst, true);
	return c ? c : (a->seq < b->seq ? -1 : a->seq > b->seq);
}

static void sort_entries(struct img_layer *l)
{
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), is_windows(l) ? ent_cmp_win : ent_cmp_lin);
}

/* keep only the last add of each path (entries are sorted by path, seq) */
static void dedupe(struct img_layer *l)
{
	size_t w = 0;
	for (size_t i = 0; i < l->n; i++) {
		if (i + 1 < l->n && strcmp(l->v[i]->dst, l->v[i + 1]->dst) == 0) {
			ent_free(l->v[i]);
			continue;
		}
		l->v[w++] = l->v[i];
	}
	l->n = w;
}

/* binary search in the sorted prefix v[0..n) */
static struct ent *find(struct img_layer *l, const char *path, size_t n)
{
	size_t lo = 0, hi = n;
	bool win = is_windows(l);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = path_cmp(l->v[mid]->dst, path, win);
		if (c == 0)
			return l->v[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Windows paths are case-insensitive: spell every path prefix the way it
 * was first added, so `C:\App\a` and `c:\app\b` share one `Files/App`. */
static void canonicalize_case(struct img_layer *l)
{
	struct img_hmap seen = IMG_HMAP_INIT;
	struct bbuf fold = BBUF_INIT, canon = BBUF_INIT;
	for (size_t i = 0; i < l->n; i++) {
		struct ent *e = l->v[i];
		bbuf_reset(&canon);
		bbuf_reset(&fold);
		const char *c = e->dst;
		bool changed = false;
		while (*c) {
			const char *end = strchrnul(c, '/');
			if (canon.len)
				bbuf_addch(&canon, '/', NULL);
			bbuf_add(&canon, c, (size_t)(end - c), NULL);
			bbuf_reset(&fold);
			for (size_t k = 0; k < canon.len; k++)
				bbuf_addch(&fold, (char)tolower((unsigned char)canon.data[k]), NULL);
			void *prev;
			if (img_hmap_get(&seen, fold.data, &prev)) {
				if (strcmp(prev, canon.data) != 0) {
					changed = true;
					bbuf_reset(&canon);
					bbuf_addstr(&canon, prev, NULL);
				}
			} else {
				img_hmap_put(&seen, fold.data, xstrdup(canon.data));
			}
			c = *end ? end + 1 : end;
		}
		if (changed) {
			free(e->dst);
			e->dst = xstrdup(canon.data);
		}
	}
	for (size_t i = 0; i < seen.cap; i++)
		if (seen.keys[i])
			free(seen.vals[i]);
	img_hmap_release(&seen);
	bbuf_release(&fold);
	bbuf_release(&canon);
}

static struct ent *synth_dir(struct img_layer *l, const char *path)
{
	struct ent *n = xcalloc(1, sizeof(*n));
	n->type = IMG_ENTRY_DIR;
	n->dst = xstrdup(path);
	n->perm = 0755;
	n->mtime = l->opts.parent_mtime;
	return n;
}

/* Every parent must be a directory entry of this layer or absent; absent
 * parents are synthesized when asked (always for Windows). */
static int check_parents(struct img_layer *l, struct berr **err)
{
	bool add = is_windows(l) || (l->opts.flags & IMG_LAYER_PARENTS);
	struct img_hmap added = IMG_HMAP_INIT;
	size_t n0 = l->n;
	int rc = 0;
	/* both roots exist in every Windows layer, even an empty one */
	static const char *const roots[] = { "Hives", "Files" };
	for (size_t i = 0; is_windows(l) && i < ARRAY_SIZE(roots); i++) {
		if (!find(l, roots[i], n0)) {
			img_hmap_put(&added, roots[i], NULL);
			push(l, synth_dir(l, roots[i]));
		}
	}
	for (size_t i = 0; i < n0 && rc == 0; i++) {
		_cleanup_free_ char *p = xstrdup(l->v[i]->dst);
		char *slash;
		while ((slash = strrchr(p, '/'))) {
			*slash = '\0';
			struct ent *pe = find(l, p, n0); /* v[n0..] are unsorted additions */
			if (pe) {
				if (pe->type != IMG_ENTRY_DIR)
					rc = berr_set(err, BERR_INPUT, "'%s' is inside '%s', which "
						      "is not a directory in this layer",
						      l->v[i]->dst, p);
				break;
			}
			if (!add || img_hmap_get(&added, p, NULL))
				break;
			img_hmap_put(&added, p, NULL);
			push(l, synth_dir(l, p));
		}
	}
	img_hmap_release(&added);
	if (rc == 0 && l->n != n0)
		sort_entries(l);
	return rc;
}

struct link_ref {
	struct ent *e;
	size_t order;
};

static int link_cmp(const void *x, const void *y)
{
	const struct link_ref *a = x, *b = y;
	if (a->e->dev != b->e->dev)
		return a->e->dev < b->e->dev ? -1 : 1;
	if (a->e->ino != b->e->ino)
		return a->e->ino < b->e->ino ? -1 : 1;
	return a->order < b->order ? -1 : a->order > b->order;
}

/* Files sharing (dev, ino) within the layer: the first in tar order carries
 * the data, the others become hardlinks to it. */
static void detect_hardlinks(struct img_layer *l)
{
	struct link_ref *r = NULL;
	size_t n = 0, cap = 0;
	for (size_t i = 0; i < l->n; i++) {
		struct ent *e = l->v[i];
		if (e->type == IMG_ENTRY_FILE && e->src && e->nlink > 1) {
			XGROW(r, n + 1, cap);
			r[n++] = (struct link_ref){ e, i };
		}
	}
	if (n > 1)
		qsort(r, n, sizeof(*r), link_cmp);
	struct ent *head = NULL;
	for (size_t i = 0; i < n; i++) {
		struct ent *e = r[i].e;
		if (!head || e->dev != head->dev || e->ino != head->ino) {
			head = e;
			continue;
		}
		e->type = ENT_HARDLINK;
		free(e->link);
		e->link = xstrdup(head->dst);
		e->size = 0;
	}
	free(r);
}

/* ---- writing ---- */

static int64_t out_mtime(const struct img_layer *l, const struct ent *e)
{
	if (e->type == ENT_WHITEOUT)
		return 0; /* like containerd >= 2.0: whiteouts carry the epoch */
	if (l->opts.clamp_mtime && e->mtime > l->opts.epoch)
		return l->opts.epoch;
	return e->mtime;
}

static void out_owner(const struct img_layer *l, const struct ent *e, uid_t *u, gid_t *g)
{
	if (e->type == ENT_WHITEOUT) {
		*u = 0;
		*g = 0;
	} else if (l->opts.flags & IMG_LAYER_NORMALIZE_OWNER) {
		*u = l->opts.uid;
		*g = l->opts.gid;
	} else {
		*u = e->uid;
		*g = e->gid;
	}
}

static la_ssize_t la_write(struct archive *a, void *ctx, const void *buf, size_t n)
{
	(void)a;
	struct img_layer *l = ctx;
	if (bsink_write(&l->out, buf, n, &l->sink_err) < 0)
		return -1;
	l->tar_bytes += n;
	return (la_ssize_t)n;
}

static int la_fail(struct img_layer *l, const char *what, struct berr **err)
{
	if (l->sink_err) {
		struct berr *e = berr_steal(&l->sink_err);
		if (err && !*err)
			*err = e;
		else
			berr_free(e);
		return berr_wrap(err, "while writing layer entry '%s'", what);
	}
	return berr_set(err, BERR_IO, "layer entry '%s': %s", what,
			archive_error_string(l->ar) ? archive_error_string(l->ar) : "tar write failed");
}

typedef int (*data_fn)(struct img_layer *l, const void *p, size_t n, const char *what,
		       struct berr **err);

static int la_data(struct img_layer *l, const void *p, size_t n, const char *what,
		   struct berr **err)
{
	la_ssize_t w = archive_write_data(l->ar, p, n);
	if (w < 0 || (size_t)w != n)
		return la_fail(l, what, err);
	return 0;
}

static int tw_data(struct img_layer *l, const void *p, size_t n, const char *what,
		   struct berr **err)
{
	if (img_tarw_data(l->tw, p, n, err) < 0)
		return berr_wrap(err, "while writing layer entry '%s'", what);
	return 0;
}

/* Streams the file in IMG_LAYER_CHUNK pieces; it must still have the size
 * recorded when it was added. */
static int copy_content(struct img_layer *l, const struct ent *e, data_fn fn,
			struct berr **err)
{
	_cleanup_close_ int fd = open(e->src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", e->src);
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '%s'", e->src);
	if (!S_ISREG(st.st_mode) || st.st_size != e->size)
		return berr_set(err, BERR_IO, "file '%s' changed while the layer was written",
				e->src);
	uint64_t left = (uint64_t)e->size;
	while (left > 0) {
		size_t want = left < IMG_LAYER_CHUNK ? (size_t)left : IMG_LAYER_CHUNK;
		ssize_t r = read(fd, l->buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return berr_set_errno(err, BERR_IO, errno, "read '%s'", e->src);
		if (r == 0)
			return berr_set(err, BERR_IO, "file '%s' shrank while the layer was "
					"written", e->src);
		if (fn(l, l->buf, (size_t)r, e->dst, err) < 0)
			return -1;
		left -= (uint64_t)r;
	}
	return 0;
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* xattrs of the source, sorted by name for determinism */
static int add_xattrs(struct img_layer *l, const struct ent *e, struct archive_entry *ae,
		      struct berr **err)
{
	if (!e->src || !(l->opts.flags & (IMG_LAYER_XATTRS | IMG_LAYER_XATTR_CAPS)))
		return 0;
	_cleanup_free_ char *list = xmalloc(LAYER_XATTR_MAX);
	ssize_t n = llistxattr(e->src, list, LAYER_XATTR_MAX);
	if (n < 0) {
		if (errno == ENOTSUP)
			return 0;
		return berr_set_errno(err, BERR_IO, errno, "list xattrs of '%s'", e->src);
	}
	_cleanup_free_ char **names = NULL;
	size_t cnt = 0, cap = 0;
	for (ssize_t off = 0; off < n; off += (ssize_t)strlen(list + off) + 1) {
		const char *name = list + off;
		if (!(l->opts.flags & IMG_LAYER_XATTRS) && strcmp(name, "security.capability") != 0)
			continue;
		XGROW(names, cnt + 1, cap);
		names[cnt++] = list + off;
	}
	if (cnt > 1)
		qsort(names, cnt, sizeof(*names), compare_names);
	_cleanup_free_ char *val = xmalloc(LAYER_XATTR_MAX);
	for (size_t i = 0; i < cnt; i++) {
		ssize_t vn = lgetxattr(e->src, names[i], val, LAYER_XATTR_MAX);
		if (vn < 0)
			return berr_set_errno(err, BERR_IO, errno, "read xattr '%s' of '%s'",
					      names[i], e->src);
		archive_entry_xattr_add_entry(ae, names[i], val, (size_t)vn);
	}
	return 0;
}

static int write_linux(struct img_layer *l, const struct ent *e, struct archive_entry *ae,
		       struct berr **err)
{
	archive_entry_clear(ae);
	archive_entry_copy_pathname(ae, e->dst);
	uid_t u;
	gid_t g;
	out_owner(l, e, &u, &g);
	archive_entry_set_uid(ae, u);
	archive_entry_set_gid(ae, g);
	archive_entry_set_mtime(ae, out_mtime(l, e), 0);
	archive_entry_set_perm(ae, e->type == ENT_WHITEOUT ? 0 : e->perm);
	switch (e->type) {
	case IMG_ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, e->size);
		break;
	case ENT_WHITEOUT:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_size(ae, 0);
		break;
	case ENT_HARDLINK:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_copy_hardlink(ae, e->link);
		archive_entry_set_size(ae, 0);
		break;
	case IMG_ENTRY_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		break;
	case IMG_ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_copy_symlink(ae, e->link);
		break;
	case IMG_ENTRY_CHAR:
	case IMG_ENTRY_BLOCK:
		archive_entry_set_filetype(ae, e->type == IMG_ENTRY_CHAR ? AE_IFCHR : AE_IFBLK);
		archive_entry_set_rdevmajor(ae, major(e->rdev));
		archive_entry_set_rdevminor(ae, minor(e->rdev));
		break;
	case IMG_ENTRY_FIFO:
		archive_entry_set_filetype(ae, AE_IFIFO);
		break;
	default:
		return berr_set(err, BERR_INTERNAL, "entry '%s' has unknown type %d", e->dst,
				e->type);
	}
	if (e->type == IMG_ENTRY_FILE || e->type == IMG_ENTRY_DIR)
		if (add_xattrs(l, e, ae, err) < 0)
			return -1;
	/* ARCHIVE_WARN: a name not representable in the locale charset is
	 * stored as raw bytes with hdrcharset=BINARY; that is still valid */
	if (archive_write_header(l->ar, ae) < ARCHIVE_WARN)
		return la_fail(l, e->dst, err);
	if (e->type == IMG_ENTRY_FILE && e->size > 0 && copy_content(l, e, la_data, err) < 0)
		return -1;
	if (archive_write_finish_entry(l->ar) < ARCHIVE_WARN)
		return la_fail(l, e->dst, err);
	return 0;
}

static int write_windows(struct img_layer *l, const struct ent *e, struct berr **err)
{
	bool dir = e->type == IMG_ENTRY_DIR;
	_cleanup_free_ char *name = dir ? xasprintf("%s/", e->dst) : xstrdup(e->dst);
	struct img_tar_hdr h = {
		.name = name,
		.mtime = out_mtime(l, e),
		.mode = (e->type == ENT_WHITEOUT ? 0644 : e->perm),
	};
	switch (e->type) {
	case IMG_ENTRY_DIR:
		h.typeflag = '5';
		h.mode |= S_IFDIR;
		break;
	case IMG_ENTRY_FILE:
	case ENT_WHITEOUT:
		h.typeflag = '0';
		h.mode |= S_IFREG;
		h.size = e->type == IMG_ENTRY_FILE ? (uint64_t)e->size : 0;
		break;
	case ENT_HARDLINK:
		h.typeflag = '1';
		h.mode |= S_IFREG;
		h.linkname = e->link;
		break;
	case IMG_ENTRY_SYMLINK:
		h.typeflag = '2';
		h.mode |= S_IFLNK;
		h.linkname = e->link;
		break;
	default:
		return berr_set(err, BERR_INTERNAL, "entry '%s' cannot be written to a windows "
				"layer", e->dst);
	}
	char ctime_s[32], attr_s[16];
	snprintf(ctime_s, sizeof(ctime_s), "%lld", (long long)h.mtime);
	snprintf(attr_s, sizeof(attr_s), "%u", dir ? IMG_WIN_ATTR_DIRECTORY : IMG_WIN_ATTR_ARCHIVE);
	const char *sd = dir ? l->sd_dir : l->sd_file;
	if (dir && l->sd_root && (!strcmp(e->dst, "Files") || !strcmp(e->dst, "Hives")))
		sd = l->sd_root;
	struct img_pax_rec recs[] = {
		{ "LIBARCHIVE.creationtime", ctime_s, strlen(ctime_s) },
		{ "MSWINDOWS.fileattr", attr_s, strlen(attr_s) },
		{ "MSWINDOWS.rawsd", sd, strlen(sd) },
	};
	if (img_tarw_header(l->tw, &h, recs, ARRAY_SIZE(recs), err) < 0)
		return berr_wrap(err, "while writing layer entry '%s'", e->dst);
	if (e->type == IMG_ENTRY_FILE && e->size > 0 && copy_content(l, e, tw_data, err) < 0)
		return -1;
	return 0;
}

static int open_output(struct img_layer *l, struct berr **err)
{
	if (is_windows(l)) {
		l->tw = img_tarw_new(&l->out);
		if (l->win_owner) {
			l->sd_file = img_win_sd_base64_owner(false, l->win_owner);
			l->sd_dir = img_win_sd_base64_owner(true, l->win_owner);
			l->sd_root = img_win_sd_base64(true);
		} else {
			l->sd_file = img_win_sd_base64(false);
			l->sd_dir = img_win_sd_base64(true);
		}
		return 0;
	}
	l->ar = archive_write_new();
	if (archive_write_set_format_pax_restricted(l->ar) != ARCHIVE_OK ||
	    archive_write_set_format_option(l->ar, "pax", "xattrheader", "SCHILY") != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(l->ar, LAYER_BLOCK) != ARCHIVE_OK ||
	    archive_write_set_bytes_in_last_block(l->ar, 1) != ARCHIVE_OK)
		return berr_set(err, BERR_INTERNAL, "libarchive: %s", archive_error_string(l->ar));
	if (archive_write_open(l->ar, l, NULL, la_write, NULL) != ARCHIVE_OK)
		return la_fail(l, "(open)", err);
	return 0;
}

static int finish(struct img_layer *l, struct img_layer_stats *stats, struct berr **err)
{
	if (is_windows(l))
		canonicalize_case(l);
	sort_entries(l);
	dedupe(l);
	if (check_parents(l, err) < 0)
		return -1;
	detect_hardlinks(l);
	if (open_output(l, err) < 0)
		return -1;
	l->buf = xmalloc(IMG_LAYER_CHUNK);
	struct archive_entry *ae = is_windows(l) ? NULL : archive_entry_new();
	uint64_t content = 0;
	int rc = 0;
	for (size_t i = 0; i < l->n && rc == 0; i++) {
		const struct ent *e = l->v[i];
		rc = is_windows(l) ? write_windows(l, e, err) : write_linux(l, e, ae, err);
		if (e->type == IMG_ENTRY_FILE)
			content += (uint64_t)e->size;
	}
	if (ae)
		archive_entry_free(ae);
	if (rc < 0)
		return -1;
	if (is_windows(l)) {
		if (img_tarw_close(l->tw, &l->tar_bytes, err) < 0)
			return -1;
	} else if (archive_write_close(l->ar) != ARCHIVE_OK) {
		return la_fail(l, "(end of archive)", err);
	}
	if (stats) {
		stats->entries = l->n;
		stats->content_bytes = content;
		stats->tar_bytes = l->tar_bytes;
	}
	return 0;
}

int img_layer_finish(struct img_layer *l, struct img_layer_stats *stats, struct berr **err)
{
	if (check_open(l, err) < 0)
		return -1;
	l->state = L_FAILED;
	if (finish(l, stats, err) < 0)
		return -1;
	l->state = L_DONE;
	return 0;
}
