/* Store checking (fsck) and garbage collection (prune). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_cacherec.h"
#include "image/img_fsck.h"
#include "image/img_registry.h"

#define FSCK_RBUF (128u << 10)

/* Sorted arrays + bsearch: blob names come sorted from the scan, and the
 * keep set is sorted once before it is consulted. */
struct img_gc_keep {
	char (*hex)[IMG_DIGEST_HEX_LEN + 1];
	size_t n;
	bool sorted;
};

void img_gc_keep_add(struct img_gc_keep *k, const struct img_digest *d)
{
	k->hex = xreallocarray(k->hex, k->n + 1, sizeof(*k->hex));
	snprintf(k->hex[k->n++], sizeof(*k->hex), "%s", img_digest_hex(d));
	k->sorted = false;
}

static int cmp_hex(const void *a, const void *b)
{
	return strcmp(a, b);
}

static bool keep_has(struct img_gc_keep *k, const char *hex)
{
	if (!k->n)
		return false;
	if (!k->sorted) {
		qsort(k->hex, k->n, sizeof(*k->hex), cmp_hex);
		k->sorted = true;
	}
	return bsearch(hex, k->hex, k->n, sizeof(*k->hex), cmp_hex) != NULL;
}

bool img_fsck_kind_is_error(enum img_fsck_kind k) { return k < IMG_FSCK_ORPHAN; }

const char *img_fsck_kind_name(enum img_fsck_kind k)
{
	switch (k) {
	case IMG_FSCK_CORRUPT: return "corrupt";
	case IMG_FSCK_BADFILE: return "unexpected";
	case IMG_FSCK_INVALID: return "invalid";
	case IMG_FSCK_MISSING: return "missing";
	case IMG_FSCK_SIZE: return "size";
	case IMG_FSCK_ORPHAN: return "orphan";
	case IMG_FSCK_TEMP: return "temp";
	}
	return "?";
}

static void add_problem(struct img_fsck_report *r, enum img_fsck_kind k, const char *object,
			uint64_t size, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void add_problem(struct img_fsck_report *r, enum img_fsck_kind k, const char *object,
			uint64_t size, const char *fmt, ...)
{
	r->v = xreallocarray(r->v, r->n + 1, sizeof(*r->v));
	struct img_fsck_problem *p = &r->v[r->n++];
	memset(p, 0, sizeof(*p));
	p->kind = k;
	p->object = xstrdup(object);
	p->size = size;
	if (fmt) {
		va_list ap;
		va_start(ap, fmt);
		p->detail = xvasprintf(fmt, ap);
		va_end(ap);
	}
	if (img_fsck_kind_is_error(k))
		r->n_errors++;
	else
		r->n_garbage++;
}

void img_fsck_report_free(struct img_fsck_report *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++) {
		free(r->v[i].object);
		free(r->v[i].detail);
	}
	free(r->v);
	free(r);
}

/* ---------- scanning the layout ---------- */

struct blobinfo {
	char hex[IMG_DIGEST_HEX_LEN + 1];
	uint64_t size;
	int64_t mtime;
	bool bad;     /* corrupt or not a regular file */
	bool marked;  /* reachable */
};

struct tempinfo {
	char *rel;    /* path relative to the layout */
	uint64_t size;
	int64_t mtime;
};

struct scan {
	struct blobinfo *b;
	size_t n;
	struct tempinfo *t;
	size_t nt;
};

static void scan_clear(struct scan *sc)
{
	free(sc->b);
	for (size_t i = 0; i < sc->nt; i++)
		free(sc->t[i].rel);
	free(sc->t);
}

static bool is_hex64(const char *s)
{
	size_t i = 0;
	for (; s[i]; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return i == IMG_DIGEST_HEX_LEN;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Sorted names of a directory (deterministic output). */
static int list_dir(const char *dir, char ***out, size_t *n, struct berr **err)
{
	DIR *d = opendir(dir);
	if (!d)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "open directory '%s'", dir);
	char **v = NULL;
	size_t k = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		v = xreallocarray(v, k + 1, sizeof(*v));
		v[k++] = xstrdup(e->d_name);
	}
	closedir(d);
	if (k)
		qsort(v, k, sizeof(*v), cmp_str);
	*out = v;
	*n = k;
	return 0;
}

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void add_temp(struct scan *sc, const char *rel, const struct stat *st)
{
	sc->t = xreallocarray(sc->t, sc->nt + 1, sizeof(*sc->t));
	sc->t[sc->nt++] = (struct tempinfo){ xstrdup(rel), (uint64_t)st->st_size, st->st_mtime };
}

static int scan_layout(struct img_store *s, struct scan *sc, struct img_fsck_report *rep,
		       struct berr **err)
{
	const char *dir = img_store_dir(s);
	char **names = NULL;
	size_t n = 0;
	/* DIR/index.json.tmp-XXXXXX, DIR/oci-layout.tmp-XXXXXX (bfile_write_atomic) */
	if (list_dir(dir, &names, &n, err) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!strstr(names[i], IMG_STORE_FILE_TMP_INFIX))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, names[i]);
		struct stat st;
		if (lstat(p, &st) == 0 && S_ISREG(st.st_mode))
			add_temp(sc, names[i], &st);
	}
	free_list(names, n);
	_cleanup_free_ char *bdir = xasprintf("%s/blobs/sha256", dir);
	if (list_dir(bdir, &names, &n, err) < 0) {
		if (*err && (*err)->code == BERR_NOTFOUND) {
			berr_clear(err);
			return 0; /* an empty layout may lack blobs/sha256 */
		}
		return -1;
	}
	sc->b = xcalloc(n ? n : 1, sizeof(*sc->b));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", bdir, names[i]);
		_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", names[i]);
		struct stat st;
		if (lstat(p, &st) < 0) {
			if (errno == ENOENT)
				continue; /* raced with a writer's rename or unlink */
			berr_set_errno(err, BERR_IO, errno, "stat '%s'", p);
			free_list(names, n);
			return -1;
		}
		if (strncmp(names[i], IMG_STORE_BLOB_TMP_PREFIX, strlen(IMG_STORE_BLOB_TMP_PREFIX)) == 0 &&
		    S_ISREG(st.st_mode)) {
			add_temp(sc, rel, &st);
			continue;
		}
		if (!is_hex64(names[i])) {
			add_problem(rep, IMG_FSCK_BADFILE, rel, 0, "not a blob name");
			continue;
		}
		struct blobinfo *b = &sc->b[sc->n++];
		snprintf(b->hex, sizeof(b->hex), "%s", names[i]);
		b->size = (uint64_t)st.st_size;
		b->mtime = st.st_mtime;
		if (!S_ISREG(st.st_mode)) {
			b->bad = true;
			add_problem(rep, IMG_FSCK_BADFILE, rel, 0, "not a regular file");
		}
	}
	free_list(names, n);
	return 0;
}

static struct blobinfo *find_blob(const struct scan *sc, const struct img_digest *d)
{
	/* sc->b is in name order: list_dir sorts, and hex names sort as hex */
	if (!sc->n)
		return NULL;
	return bsearch(img_digest_hex(d), sc->b, sc->n, sizeof(*sc->b), cmp_hex);
}

/* Stream-hash every blob against its name. */
static void verify_blobs(struct img_store *s, struct scan *sc, struct img_fsck_report *rep)
{
	_cleanup_free_ char *buf = xmalloc(FSCK_RBUF);
	for (size_t i = 0; i < sc->n; i++) {
		struct blobinfo *b = &sc->b[i];
		if (b->bad)
			continue;
		struct img_digest d;
		snprintf(d.s, sizeof(d.s), IMG_DIGEST_ALGO ":%s", b->hex);
		struct berr *e = NULL;
		struct img_blob_reader *r = img_blob_open(s, &d, -1, &e);
		ssize_t k = r ? 1 : -1;
		while (k > 0)
			k = img_blob_read(r, buf, FSCK_RBUF, &e);
		img_blob_close(r);
		if (k < 0) {
			if (e && e->code == BERR_NOTFOUND) { /* removed meanwhile by a concurrent rename */
				berr_free(e);
				continue;
			}
			b->bad = true;
			add_problem(rep, e && e->code == BERR_INTEGRITY ? IMG_FSCK_CORRUPT : IMG_FSCK_BADFILE,
				    d.s, b->size, "%s", e ? e->msg : "unreadable");
			berr_free(e);
			continue;
		}
		rep->blobs++;
		rep->bytes += b->size;
	}
}

/* ---------- reference walk ---------- */

static bool is_index_mt(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_INDEX) == 0 || strcmp(mt, IMG_MT_DOCKER_LIST) == 0);
}
static bool is_manifest_mt(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_MANIFEST) == 0 || strcmp(mt, IMG_MT_DOCKER_MANIFEST) == 0);
}
static bool is_config_mt(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_CONFIG) == 0 || strcmp(mt, IMG_MT_DOCKER_CONFIG) == 0);
}

struct walk {
	struct img_store *s;
	struct scan *sc;
	struct img_fsck_report *rep;
	struct img_gc_keep *keep; /* optional extra roots */
	size_t errors;            /* errors found by the walk itself */
};

static void walk_error(struct walk *w, enum img_fsck_kind k, const char *obj, const char *fmt,
		       const char *a, const char *b)
{
	add_problem(w->rep, k, obj, 0, fmt, a, b);
	w->errors++;
}

static void visit(struct walk *w, const struct img_descriptor *d, const char *from, int depth);

static void visit_json(struct walk *w, const struct img_descriptor *d, struct blobinfo *b,
		       int depth)
{
	const char *mt = d->media_type;
	_cleanup_bbuf_ struct bbuf j = BBUF_INIT;
	struct berr *e = NULL;
	if (b->bad)
		return; /* already reported as corrupt */
	if (img_store_read_blob(w->s, &d->digest, -1, IMG_JSON_MAX, &j, &e) < 0) {
		walk_error(w, IMG_FSCK_INVALID, d->digest.s, "%s%s", e->msg, "");
		berr_free(e);
		return;
	}
	if (!mt || (!is_index_mt(mt) && !is_manifest_mt(mt))) {
		/* an index.json entry without a (known) media type: go by shape */
		const char *kind = img_json_kind(j.data, j.len);
		if (!kind)
			return;
		mt = kind;
	}
	_cleanup_free_ char *what = xasprintf("%s '%s'", is_index_mt(mt) ? "index" : "manifest",
					      d->digest.s);
	if (is_index_mt(mt)) {
		_cleanup_img_index_ struct img_index *x = NULL;
		if (img_index_parse(j.data, j.len, what, &x, &e) < 0) {
			walk_error(w, IMG_FSCK_INVALID, d->digest.s, "%s%s", e->msg, "");
			berr_free(e);
			return;
		}
		for (size_t i = 0; i < x->n_manifests; i++)
			visit(w, &x->manifests[i], what, depth + 1);
	} else if (is_manifest_mt(mt)) {
		_cleanup_img_manifest_ struct img_manifest *m = NULL;
		if (img_manifest_parse(j.data, j.len, what, &m, &e) < 0) {
			walk_error(w, IMG_FSCK_INVALID, d->digest.s, "%s%s", e->msg, "");
			berr_free(e);
			return;
		}
		visit(w, &m->config, what, depth + 1);
		for (size_t i = 0; i < m->n_layers; i++)
			visit(w, &m->layers[i], what, depth + 1);
	}
}

static void visit_config(struct walk *w, const struct img_descriptor *d, struct blobinfo *b)
{
	_cleanup_bbuf_ struct bbuf j = BBUF_INIT;
	struct berr *e = NULL;
	if (b->bad)
		return;
	_cleanup_free_ char *what = xasprintf("config '%s'", d->digest.s);
	_cleanup_img_config_ struct img_config *c = NULL;
	if (img_store_read_blob(w->s, &d->digest, -1, IMG_JSON_MAX, &j, &e) < 0 ||
	    img_config_parse(j.data, j.len, what, &c, &e) < 0) {
		walk_error(w, IMG_FSCK_INVALID, d->digest.s, "%s%s", e->msg, "");
		berr_free(e);
	}
}

static void visit(struct walk *w, const struct img_descriptor *d, const char *from, int depth)
{
	if (depth > IMG_FSCK_MAX_DEPTH) {
		walk_error(w, IMG_FSCK_INVALID, d->digest.s, "nested deeper than %s levels (from %s)",
			   "8", from);
		return;
	}
	struct blobinfo *b = find_blob(w->sc, &d->digest);
	if (!b) {
		if (img_descriptor_is_foreign(d) && d->urls.n > 0)
			return; /* foreign layers are fetched from their urls */
		/* a lazy image's layer: the store records the registry repository
		 * it is fetched from when something reads it */
		if (!is_config_mt(d->media_type) && !is_index_mt(d->media_type) &&
		    !is_manifest_mt(d->media_type) && img_store_has_source(w->s, &d->digest)) {
			w->rep->remote++;
			return;
		}
		walk_error(w, IMG_FSCK_MISSING, d->digest.s, "referenced by %s%s", from, "");
		return;
	}
	if (b->marked)
		return;
	b->marked = true;
	if (d->size >= 0 && (uint64_t)d->size != b->size) {
		_cleanup_free_ char *msg = xasprintf("%s says %lld bytes, the blob has %llu", from,
						     (long long)d->size, (unsigned long long)b->size);
		walk_error(w, IMG_FSCK_SIZE, d->digest.s, "%s%s", msg, "");
		return;
	}
	if (is_config_mt(d->media_type))
		visit_config(w, d, b);
	else if (depth == 0 || is_index_mt(d->media_type) || is_manifest_mt(d->media_type))
		visit_json(w, d, b, depth);
}

/* Mark everything reachable from index.json (and w->keep). */
static void walk_index(struct walk *w, const struct img_index *x)
{
	for (size_t i = 0; i < x->n_manifests; i++)
		visit(w, &x->manifests[i], "index.json", 0);
	if (w->keep)
		for (size_t i = 0; i < w->sc->n; i++)
			if (keep_has(w->keep, w->sc->b[i].hex))
				w->sc->b[i].marked = true;
}

/* ---------- the builder's cache (records + the cache store) ---------- */

/* Builder cache records (image/img_cacherec.h); the blobs they name are in
 * the cache store $BERTH_ROOT/cache/blobs. */

struct cache_rec {
	char *name;             /* file name in keys/ */
	bool tmp;               /* temp file of an interrupted record write */
	bool bad;               /* not a record (name, type or content) */
	char *why;              /* for bad */
	bool empty;             /* "empty": no blob */
	struct img_descriptor d; /* the layer blob */
	int64_t mtime;          /* last written or used (a hit touches it) */
	uint64_t size;
};

struct cache_recs {
	char *dir;              /* .../cache/keys */
	struct cache_rec *v;
	size_t n;
};

static void cache_recs_clear(struct cache_recs *c)
{
	for (size_t i = 0; i < c->n; i++) {
		free(c->v[i].name);
		free(c->v[i].why);
		img_descriptor_clear(&c->v[i].d);
	}
	free(c->v);
	free(c->dir);
	memset(c, 0, sizeof(*c));
}

/* ROOT when `s` is a builder cache store, ROOT/cache/blobs (berth's own
 * under $BERTH_ROOT or another root's, named by --root or as a LAYOUT),
 * else NULL. */
static char *cache_root_of(struct img_store *s)
{
	_cleanup_free_ char *real = realpath(img_store_dir(s), NULL);
	static const char tail[] = "/cache/blobs";
	size_t n = real ? strlen(real) : 0;
	if (n <= sizeof(tail) - 1 || strcmp(real + n - (sizeof(tail) - 1), tail) != 0)
		return NULL;
	return xstrndup(real, n - (sizeof(tail) - 1));
}

static int load_cache_recs(const char *root, struct cache_recs *c, struct berr **err)
{
	memset(c, 0, sizeof(*c));
	c->dir = xasprintf("%s/cache/keys", root);
	char **names = NULL;
	size_t n = 0;
	if (list_dir(c->dir, &names, &n, err) < 0) {
		if (*err && (*err)->code == BERR_NOTFOUND) {
			berr_clear(err);
			return 0;
		}
		return -1;
	}
	c->v = xcalloc(n ? n : 1, sizeof(*c->v));
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", c->dir, names[i]);
		struct stat st;
		if (lstat(p, &st) < 0)
			continue; /* raced with a writer's rename */
		struct cache_rec *r = &c->v[c->n++];
		r->name = xstrdup(names[i]);
		r->mtime = st.st_mtime;
		r->size = (uint64_t)st.st_size;
		if (S_ISREG(st.st_mode) && strstr(names[i], IMG_STORE_FILE_TMP_INFIX)) {
			r->tmp = true;
			continue;
		}
		if (!S_ISREG(st.st_mode) || !is_hex64(names[i])) {
			r->bad = true;
			r->why = xstrdup(S_ISREG(st.st_mode) ? "not a cache record name" : "not a regular file");
			continue;
		}
		_cleanup_bbuf_ struct bbuf rec = BBUF_INIT;
		struct berr *e = NULL;
		if (bfile_read_all(p, IMG_CACHE_REC_MAX, &rec, &e) < 0) {
			r->bad = true;
			r->why = xstrdup(e->msg);
			berr_free(e);
			continue;
		}
		struct img_cache_rec cr;
		if (img_cache_rec_parse(bbuf_str(&rec), &cr, &e) < 0) {
			r->bad = true;
			r->why = xstrdup(e->msg);
			berr_free(e);
			continue;
		}
		r->empty = cr.empty;
		r->d = cr.d; /* takes the media type */
	}
	free_list(names, n);
	return 0;
}

static int remove_rel(struct img_store *s, const char *rel, struct berr **err)
{
	_cleanup_free_ char *p = xasprintf("%s/%s", img_store_dir(s), rel);
	if (unlink(p) < 0 && errno != ENOENT)
		return berr_set_errno(err, BERR_IO, errno, "remove '%s'", p);
	return 0;
}

/* Blobs the images of store `ls` reference (the walk reads its index and
 * JSON blobs, no layer). False when that walk had errors: the set may be
 * short, so nothing may be collected on its strength. */
static bool local_refs(struct img_store *ls, struct img_gc_keep *keep)
{
	struct scan sc = { 0 };
	struct img_fsck_report *fr = xcalloc(1, sizeof(*fr));
	_cleanup_img_index_ struct img_index *x = NULL;
	struct berr *e = NULL;
	bool ok = scan_layout(ls, &sc, fr, &e) == 0 && img_store_load_index(ls, &x, &e) == 0;
	berr_free(e);
	if (ok) {
		struct walk w = { .s = ls, .sc = &sc, .rep = fr };
		walk_index(&w, x);
		ok = w.errors == 0;
		for (size_t i = 0; i < sc.n; i++) {
			if (!sc.b[i].marked)
				continue;
			struct img_digest d;
			snprintf(d.s, sizeof(d.s), IMG_DIGEST_ALGO ":%s", sc.b[i].hex);
			img_gc_keep_add(keep, &d);
		}
	}
	scan_clear(&sc);
	img_fsck_report_free(fr);
	return ok;
}

int img_fsck(struct img_store *s, const struct img_fsck_opts *o, struct img_fsck_report **out,
	     struct berr **err)
{
	/* a layout without blobs/ (nothing to lock) has no blob to lose */
	_cleanup_free_ char *bdir = xasprintf("%s/blobs", img_store_dir(s));
	bool lockable = access(bdir, F_OK) == 0;
	/* a build cache store: the images of its local store keep its blobs
	 * too (as in prune); that store's lock first, the order builds and
	 * prune take them in */
	_cleanup_free_ char *croot = cache_root_of(s);
	_cleanup_img_store_ struct img_store *ls = NULL;
	if (croot) {
		_cleanup_free_ char *ldir = xasprintf("%s/images", croot);
		struct berr *le = NULL;
		if (img_store_open(ldir, IMG_STORE_OPEN, &ls, &le) < 0) {
			berr_free(le); /* no local store: nothing references from there */
		} else if (img_store_lock(ls, IMG_LOCK_SHARED, err) < 0) {
			return -1;
		}
	}
	if (o->repair && lockable) {
		if (img_store_lock(s, IMG_LOCK_EXCLUSIVE, err) < 0)
			return -1;
	} else if (lockable && img_store_lock_mode(s) == IMG_LOCK_NONE) {
		/* exclusive when free (then leftovers are provably stale, and it is
		 * held only for the index read and the directory scan), else shared */
		struct berr *busy = NULL;
		if (img_store_trylock(s, IMG_LOCK_EXCLUSIVE, &busy) < 0) {
			berr_free(busy);
			if (img_store_lock(s, IMG_LOCK_SHARED, err) < 0)
				return -1;
		}
	}
	struct img_fsck_report *rep = xcalloc(1, sizeof(*rep));
	rep->writers_active = lockable && img_store_lock_mode(s) != IMG_LOCK_EXCLUSIVE;
	/* index.json before the blob scan: with writers running, every blob a
	 * tag references was committed before the tag, so it is in the scan;
	 * blobs committed after the index was read are merely unreferenced */
	_cleanup_img_index_ struct img_index *x = NULL;
	struct berr *e = NULL;
	if (img_store_load_index(s, &x, &e) < 0) {
		add_problem(rep, IMG_FSCK_INVALID, "index.json", 0, "%s", e->msg);
		berr_free(e);
	}
	/* the builder's cache store: its records are references too; read
	 * before the blob scan for the same reason as index.json (a record is
	 * written after its blob) */
	struct cache_recs cr = { 0 };
	if (croot && load_cache_recs(croot, &cr, err) < 0) {
		img_fsck_report_free(rep);
		return -1;
	}
	rep->cache = croot != NULL;
	struct scan sc = { 0 };
	if (scan_layout(s, &sc, rep, err) < 0) {
		scan_clear(&sc);
		cache_recs_clear(&cr);
		img_fsck_report_free(rep);
		return -1;
	}
	/* a read-only check that got the exclusive lock has seen the leftovers
	 * of dead writers only; hashing can take long: let writers in again */
	if (!o->repair && img_store_lock_downgrade(s, err) < 0) {
		scan_clear(&sc);
		cache_recs_clear(&cr);
		img_fsck_report_free(rep);
		return -1;
	}
	verify_blobs(s, &sc, rep);
	struct img_gc_keep lk = { 0 };
	bool lk_ok = !ls || local_refs(ls, &lk);
	struct walk w = { .s = s, .sc = &sc, .rep = rep, .errors = x && lk_ok ? 0 : 1,
			  .keep = &lk };
	if (x) {
		rep->images = x->n_manifests;
		walk_index(&w, x);
	}
	for (size_t i = 0; i < cr.n; i++) {
		const struct cache_rec *r = &cr.v[i];
		_cleanup_free_ char *obj = xasprintf("cache record keys/%s", r->name);
		if (r->tmp) {
			add_problem(rep, IMG_FSCK_TEMP, obj, r->size, NULL);
			/* exclusive lock: no build is running, so no record writer */
			_cleanup_free_ char *p = xasprintf("%s/%s", cr.dir, r->name);
			if (o->repair && unlink(p) == 0) {
				rep->v[rep->n - 1].removed = true;
				rep->reclaimed += r->size;
			}
			continue;
		}
		rep->records++;
		if (r->bad)
			walk_error(&w, IMG_FSCK_INVALID, obj, "%s%s", r->why, "");
		else if (!r->empty)
			visit(&w, &r->d, obj, 1);
	}
	cache_recs_clear(&cr);
	free(lk.hex);
	for (size_t i = 0; i < sc.n; i++) {
		const struct blobinfo *b = &sc.b[i];
		if (b->marked || b->bad)
			continue;
		_cleanup_free_ char *obj = xasprintf(IMG_DIGEST_ALGO ":%s", b->hex);
		add_problem(rep, IMG_FSCK_ORPHAN, obj, b->size, NULL);
		if (o->repair && w.errors == 0) {
			_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", b->hex);
			struct berr *re = NULL;
			if (remove_rel(s, rel, &re) == 0) {
				rep->v[rep->n - 1].removed = true;
				rep->reclaimed += b->size;
			} else {
				rep->v[rep->n - 1].detail = xstrdup(re->msg);
				berr_free(re);
			}
		}
	}
	rep->orphans_kept = o->repair && w.errors > 0;
	for (size_t i = 0; i < sc.nt; i++) {
		add_problem(rep, IMG_FSCK_TEMP, sc.t[i].rel, sc.t[i].size, NULL);
		if (o->repair) {
			struct berr *re = NULL;
			if (remove_rel(s, sc.t[i].rel, &re) == 0) {
				rep->v[rep->n - 1].removed = true;
				rep->reclaimed += sc.t[i].size;
			} else {
				rep->v[rep->n - 1].detail = xstrdup(re->msg);
				berr_free(re);
			}
		}
	}
	scan_clear(&sc);
	*out = rep;
	return 0;
}

/* ---------- prune ---------- */

void img_prune_report_free(struct img_prune_report *r)
{
	if (!r)
		return;
	free_list(r->images, r->n_images);
	free_list(r->blobs, r->n_blobs);
	free_list(r->cache, r->n_cache);
	free(r);
}

static void push(char ***v, size_t *n, const char *s);

/* Remove the blobs of a scanned layout that nothing marked (and, with
 * until > 0, made before it; keep_bad: leave corrupt ones for fsck), each
 * listed in *list, and every temp file (the exclusive lock is held: each is
 * a dead writer's); their bytes are added to *reclaimed. */
static int sweep(struct img_store *s, const struct scan *sc, int64_t until, bool keep_bad,
		 char ***list, size_t *n, uint64_t *reclaimed, struct berr **err)
{
	for (size_t i = 0; i < sc->n; i++) {
		const struct blobinfo *b = &sc->b[i];
		if (b->marked || (keep_bad && b->bad) || (until > 0 && b->mtime >= until))
			continue;
		_cleanup_free_ char *rel = xasprintf("blobs/sha256/%s", b->hex);
		if (remove_rel(s, rel, err) < 0)
			return -1;
		_cleanup_free_ char *obj = xasprintf(IMG_DIGEST_ALGO ":%s", b->hex);
		push(list, n, obj);
		*reclaimed += b->size;
	}
	for (size_t i = 0; i < sc->nt; i++) {
		if (remove_rel(s, sc->t[i].rel, err) < 0)
			return -1;
		*reclaimed += sc->t[i].size;
	}
	return 0;
}

/* Entries of $root/cache/<sub> (materialised stage trees, RUN cache
 * mounts): all of them with `all`, else those not used since `until`
 * (when set). Only under the cache store's exclusive lock: no build runs. */
static int prune_trees(const char *root, const char *sub, bool all, int64_t until,
		       struct img_prune_report *rep, struct berr **err)
{
	if (!all && until <= 0)
		return 0;
	_cleanup_free_ char *dir = xasprintf("%s/cache/%s", root, sub);
	DIR *d = opendir(dir);
	if (!d)
		return errno == ENOENT ? 0 : berr_set_errno(err, BERR_IO, errno, "open '%s'", dir);
	int rc = 0;
	struct dirent *de;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, de->d_name);
		struct stat st;
		if (lstat(p, &st) < 0 || (!all && st.st_mtime >= until))
			continue;
		uint64_t bytes = 0;
		if (bfile_rm_rf(p, &bytes) < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "remove '%s'", p);
			break;
		}
		_cleanup_free_ char *name = xasprintf("%s/%s", sub, de->d_name);
		push(&rep->cache, &rep->n_cache, name);
		rep->reclaimed += bytes;
	}
	closedir(d);
	return rc;
}

int img_gc_cache_hook(struct img_store *s, const struct img_prune_opts *o, struct img_gc_keep *keep,
		      struct img_prune_report *rep, struct berr **err)
{
	_cleanup_free_ char *root = img_local_root();
	_cleanup_free_ char *images = xasprintf("%s/images", root);
	if (strcmp(img_store_dir(s), images) != 0)
		return 0; /* the cache belongs to the local store only */
	/* Lock order: the local store, then the cache store (a build takes
	 * both shared in that order before it touches either), so this
	 * waits for running builds and cannot deadlock with one. */
	_cleanup_free_ char *csdir = xasprintf("%s/cache/blobs", root);
	_cleanup_img_store_ struct img_store *cs = NULL;
	struct berr *e = NULL;
	if (img_store_open(csdir, IMG_STORE_OPEN, &cs, &e) < 0) {
		if (e->code != BERR_NOTFOUND) {
			*err = e;
			return -1;
		}
		berr_free(e); /* no build ever ran: records alone, if any */
	}
	if (cs && img_store_lock(cs, IMG_LOCK_EXCLUSIVE, err) < 0)
		return -1;
	struct cache_recs cr;
	if (load_cache_recs(root, &cr, err) < 0)
		return -1;
	struct img_gc_keep ck = { 0 };
	int rc = 0;
	for (size_t i = 0; i < cr.n && rc == 0; i++) {
		const struct cache_rec *r = &cr.v[i];
		/* temp records: the exclusive lock says their writer is gone */
		if (r->tmp || o->all || (o->until > 0 && r->mtime < o->until)) {
			_cleanup_free_ char *p = xasprintf("%s/%s", cr.dir, r->name);
			if (unlink(p) < 0 && errno != ENOENT) {
				rc = berr_set_errno(err, BERR_IO, errno, "remove cache record '%s'", p);
				break;
			}
			if (!r->tmp)
				push(&rep->cache, &rep->n_cache, r->name);
			rep->reclaimed += r->size;
		} else if (!r->bad && !r->empty) {
			img_gc_keep_add(&ck, &r->d.digest);
		}
	}
	cache_recs_clear(&cr);
	if (rc < 0 || !cs) {
		free(ck.hex);
		return rc;
	}
	/* the cache store's blobs: kept when a surviving record, the cache
	 * store's own index or an image of the local store names them */
	for (size_t i = 0; i < keep->n; i++) {
		struct img_digest d;
		snprintf(d.s, sizeof(d.s), IMG_DIGEST_ALGO ":%s", keep->hex[i]);
		img_gc_keep_add(&ck, &d);
	}
	struct scan sc = { 0 };
	struct img_fsck_report *fr = xcalloc(1, sizeof(*fr));
	_cleanup_img_index_ struct img_index *x = NULL;
	rc = -1;
	if (scan_layout(cs, &sc, fr, err) < 0 || img_store_load_index(cs, &x, err) < 0) {
		berr_wrap(err, "build cache store '%s'", csdir);
		goto out;
	}
	struct walk w = { .s = cs, .sc = &sc, .rep = fr, .keep = &ck };
	walk_index(&w, x);
	if (w.errors > 0) {
		const struct img_fsck_problem *p = &fr->v[fr->n - w.errors];
		berr_set(err, BERR_INTEGRITY,
			 "the build cache store '%s' has errors (%s '%s': %s), none of its blobs "
			 "collected: run 'berth fsck'", csdir, img_fsck_kind_name(p->kind), p->object,
			 p->detail ? p->detail : "");
		goto out;
	}
	/* whatever its age: the age of cache is its record's, and with the
	 * exclusive lock no build is running that could still write the
	 * record for it; a bad blob is fsck's to report */
	if (sweep(cs, &sc, 0, true, &rep->cache, &rep->n_cache, &rep->reclaimed, err) < 0)
		goto out;
	/* stage trees are rebuilt from the layers when needed; cache mounts
	 * hold what RUN steps chose to keep (package caches), so only -a */
	if (prune_trees(root, "rootfs", o->all, o->until, rep, err) < 0 ||
	    prune_trees(root, "mounts", o->all, 0, rep, err) < 0)
		goto out;
	rc = 0;
out:
	scan_clear(&sc);
	img_fsck_report_free(fr);
	free(ck.hex);
	return rc;
}

static void push(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(**v));
	(*v)[(*n)++] = xstrdup(s);
}

struct dangling_ctx {
	struct img_store *s;
	const struct img_prune_opts *o;
	struct img_prune_report *rep;
};

static bool old_enough(struct img_store *s, const struct img_digest *d, int64_t until)
{
	if (until <= 0)
		return true;
	_cleanup_free_ char *p = img_store_blob_path(s, d);
	struct stat st;
	return stat(p, &st) < 0 || st.st_mtime < until;
}

/* Untagged index.json entries are docker's dangling images. */
static int drop_dangling(struct img_index *x, void *ctx, struct berr **err)
{
	(void)err;
	struct dangling_ctx *c = ctx;
	bool changed = false;
	for (size_t i = 0; i < x->n_manifests;) {
		const struct img_descriptor *d = &x->manifests[i];
		if (!img_kvmap_get(&d->annotations, IMG_ANN_REF_NAME) &&
		    !img_kvmap_get(&d->annotations, IMG_ANN_CONTAINERD_NAME) &&
		    old_enough(c->s, &d->digest, c->o->until)) {
			push(&c->rep->images, &c->rep->n_images, d->digest.s);
			img_index_remove_at(x, i);
			changed = true;
		} else {
			i++;
		}
	}
	return changed ? 1 : 0;
}

int img_prune(struct img_store *s, const struct img_prune_opts *o, struct img_prune_report **out,
	      struct berr **err)
{
	if (img_store_lock(s, IMG_LOCK_EXCLUSIVE, err) < 0)
		return -1;
	struct img_prune_report *rep = xcalloc(1, sizeof(*rep));
	struct dangling_ctx dc = { s, o, rep };
	struct img_gc_keep keep = { 0 };
	struct img_fsck_report *fr = xcalloc(1, sizeof(*fr));
	struct scan sc = { 0 };
	_cleanup_img_index_ struct img_index *x = NULL;
	int rc = -1;
	if (img_store_index_edit(s, drop_dangling, &dc, err) < 0 || scan_layout(s, &sc, fr, err) < 0 ||
	    img_store_load_index(s, &x, err) < 0)
		goto out;
	struct walk w = { .s = s, .sc = &sc, .rep = fr };
	walk_index(&w, x);
	if (w.errors > 0) {
		const struct img_fsck_problem *p = &fr->v[fr->n - w.errors];
		berr_set(err, BERR_INTEGRITY,
			 "the store has errors (%s '%s': %s), nothing collected: run 'berth fsck'",
			 img_fsck_kind_name(p->kind), p->object, p->detail ? p->detail : "");
		goto out;
	}
	if (sweep(s, &sc, o->until, false, &rep->blobs, &rep->n_blobs, &rep->reclaimed, err) < 0)
		goto out;
	/* then the build cache, keeping what the images reference */
	for (size_t i = 0; i < sc.n; i++) {
		if (!sc.b[i].marked)
			continue;
		struct img_digest d;
		snprintf(d.s, sizeof(d.s), IMG_DIGEST_ALGO ":%s", sc.b[i].hex);
		img_gc_keep_add(&keep, &d);
	}
	if (img_gc_cache_hook(s, o, &keep, rep, err) < 0)
		goto out;
	rc = 0;
out:
	scan_clear(&sc);
	img_fsck_report_free(fr);
	free(keep.hex);
	if (rc < 0) {
		img_prune_report_free(rep);
		return -1;
	}
	*out = rep;
	return 0;
}
