/* Content store over an OCI image layout directory. */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "parser/df_ref.h"
#include "image/img_store.h"

/* Blob writers buffer small writes (tar writers emit 512-byte records). */
#define IMG_BLOB_WBUF (128u << 10)
#define IMG_BLOB_RBUF (128u << 10)

/* The GC lock lives behind a pointer so that const readers
 * (img_store_has_blob) can take it lazily too. */
struct img_store_lockstate {
	int fd;                   /* open DIR/blobs, -1 when not locked */
	enum img_lock_mode mode;  /* IMG_LOCK_NONE when not locked */
};

struct img_store {
	char *dir;
	struct img_store_lockstate *lk;
};

/* flock on DIR/blobs (a directory every layout has: no extra file in the
 * layout, and a different inode from the index.json lock on DIR). */
static int gc_lock(struct img_store_lockstate *lk, const char *dir, enum img_lock_mode mode,
		   bool try, struct berr **err)
{
	if (mode == IMG_LOCK_NONE || lk->mode == IMG_LOCK_EXCLUSIVE || lk->mode == mode)
		return 0;
	if (lk->mode == IMG_LOCK_SHARED)
		return berr_set(err, BERR_INTERNAL,
				"store '%s': cannot upgrade a shared lock to an exclusive one", dir);
	_cleanup_free_ char *p = xasprintf("%s/blobs", dir);
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "open '%s' for locking", p);
	int op = (mode == IMG_LOCK_EXCLUSIVE ? LOCK_EX : LOCK_SH) | (try ? LOCK_NB : 0);
	while (flock(fd, op) < 0) {
		if (errno == EINTR)
			continue;
		int e = errno;
		close(fd);
		if (e == EWOULDBLOCK)
			return berr_set(err, BERR_FAILED, "store '%s' is locked by another berth process",
					dir);
		return berr_set_errno(err, BERR_IO, e, "lock '%s'", p);
	}
	lk->fd = fd;
	lk->mode = mode;
	return 0;
}

int img_store_lock(struct img_store *s, enum img_lock_mode mode, struct berr **err)
{
	return gc_lock(s->lk, s->dir, mode, false, err);
}

int img_store_trylock(struct img_store *s, enum img_lock_mode mode, struct berr **err)
{
	return gc_lock(s->lk, s->dir, mode, true, err);
}

int img_store_lock_downgrade(struct img_store *s, struct berr **err)
{
	if (s->lk->mode != IMG_LOCK_EXCLUSIVE)
		return 0;
	/* Linux converts a flock exclusive -> shared under one inode lock: no
	 * other exclusive locker can get in between */
	while (flock(s->lk->fd, LOCK_SH) < 0)
		if (errno != EINTR)
			return berr_set_errno(err, BERR_IO, errno, "lock '%s/blobs'", s->dir);
	s->lk->mode = IMG_LOCK_SHARED;
	return 0;
}

void img_store_unlock(struct img_store *s)
{
	if (s->lk->fd >= 0)
		close(s->lk->fd); /* releases the flock */
	s->lk->fd = -1;
	s->lk->mode = IMG_LOCK_NONE;
}

enum img_lock_mode img_store_lock_mode(const struct img_store *s) { return s->lk->mode; }

/* Readers and writers hold the shared lock from their first blob access
 * until the handle is freed, so that prune (exclusive) never deletes a blob
 * between "it is there, skip it" and the tag that references it. */
static int shared_lock(const struct img_store *s, struct berr **err)
{
	return gc_lock(s->lk, s->dir, IMG_LOCK_SHARED, false, err);
}

const char *img_store_dir(const struct img_store *s) { return s->dir; }

char *img_store_blob_path(const struct img_store *s, const struct img_digest *d)
{
	return xasprintf("%s/blobs/sha256/%s", s->dir, img_digest_hex(d));
}

bool img_store_has_blob(const struct img_store *s, const struct img_digest *d)
{
	struct berr *ignored = NULL;
	if (shared_lock(s, &ignored) < 0) /* best effort for readers */
		berr_free(ignored);
	_cleanup_free_ char *p = img_store_blob_path(s, d);
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode);
}

static int check_layout_file(const char *dir, struct berr **err)
{
	_cleanup_free_ char *p = xasprintf("%s/oci-layout", dir);
	struct bbuf b = BBUF_INIT;
	if (bfile_read_all(p, 4096, &b, err) < 0) {
		bbuf_release(&b);
		if (*err && (*err)->errnum == ENOENT) {
			berr_clear(err);
			return berr_set(err, BERR_NOTFOUND, "'%s' is not an OCI image layout (no oci-layout file)", dir);
		}
		return -1;
	}
	cJSON *j = cJSON_ParseWithLength(b.data, b.len);
	bbuf_release(&b);
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(j, "imageLayoutVersion");
	int rc = 0;
	if (!cJSON_IsString(v))
		rc = berr_set(err, BERR_INPUT, "'%s': invalid oci-layout file", p);
	else if (strcmp(v->valuestring, "1.0.0") != 0)
		rc = berr_set(err, BERR_UNSUPPORTED, "'%s': unsupported imageLayoutVersion '%.20s' (want 1.0.0)",
			      p, v->valuestring);
	cJSON_Delete(j);
	return rc;
}

/* A new layout's index.json or oci-layout. Several processes may create
 * the same store at once, before any of them holds its lock, and a prune
 * of a store that just appeared may take the temp file of one of them:
 * when the file exists after a failed write, another creator won, which is
 * the same outcome. */
static int create_file(const char *path, const char *data, size_t len, struct berr **err)
{
	struct berr *e = NULL;
	if (bfile_write_atomic(path, data, len, 0644, &e) == 0)
		return 0;
	struct stat st;
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
		berr_free(e);
		return 0;
	}
	*err = e;
	return -1;
}

int img_store_open(const char *dir, enum img_store_mode mode, struct img_store **out,
		   struct berr **err)
{
	struct stat st;
	_cleanup_free_ char *layout = xasprintf("%s/oci-layout", dir);
	if (mode == IMG_STORE_CREATE && stat(layout, &st) < 0) {
		if (errno != ENOENT)
			return berr_set_errno(err, BERR_IO, errno, "stat '%s'", layout);
		_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", dir);
		if (bfile_mkdir_p(blobs, 0755, err) < 0)
			return -1;
		_cleanup_free_ char *idx = xasprintf("%s/index.json", dir);
		if (stat(idx, &st) < 0) {
			static const char empty[] = "{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_INDEX
						    "\",\"manifests\":[]}";
			if (create_file(idx, empty, sizeof(empty) - 1, err) < 0)
				return -1;
		}
		/* oci-layout last: its presence marks a complete layout */
		if (create_file(layout, IMG_OCI_LAYOUT_JSON, sizeof(IMG_OCI_LAYOUT_JSON) - 1, err) < 0)
			return -1;
	} else {
		if (stat(dir, &st) < 0)
			return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
					      "open image layout '%s'", dir);
		if (!S_ISDIR(st.st_mode))
			return berr_set(err, BERR_INPUT, "'%s' is not a directory", dir);
		if (check_layout_file(dir, err) < 0)
			return -1;
		_cleanup_free_ char *blobs = xasprintf("%s/blobs/sha256", dir);
		if (stat(blobs, &st) < 0 && mode == IMG_STORE_CREATE &&
		    bfile_mkdir_p(blobs, 0755, err) < 0)
			return -1;
	}
	struct img_store *s = xcalloc(1, sizeof(*s));
	s->dir = xstrdup(dir);
	s->lk = xcalloc(1, sizeof(*s->lk));
	s->lk->fd = -1;
	*out = s;
	return 0;
}

void img_store_free(struct img_store *s)
{
	if (!s)
		return;
	img_store_unlock(s);
	free(s->lk);
	free(s->dir);
	free(s);
}

/* ---------- blob writer ---------- */

struct img_blob_writer {
	struct img_store *s;
	char *tmp;
	int fd;
	struct img_hasher *h;
	uint64_t size;
	unsigned char *buf;
	size_t blen;
	bool done, failed;
};

static int bw_flush(struct img_blob_writer *w, struct berr **err)
{
	if (w->blen == 0)
		return 0;
	int r = bfd_write_all(w->fd, w->buf, w->blen, w->tmp, err);
	w->blen = 0;
	if (r < 0)
		w->failed = true;
	return r;
}

static int bw_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct img_blob_writer *w = ctx;
	if (w->done || w->failed)
		return berr_set(err, BERR_INTERNAL, "blob writer: write after %s",
				w->done ? "commit" : "failure");
	img_hasher_update(w->h, p, n);
	w->size += n;
	if (n >= IMG_BLOB_WBUF) {
		if (bw_flush(w, err) < 0)
			return -1;
		if (bfd_write_all(w->fd, p, n, w->tmp, err) < 0) {
			w->failed = true;
			return -1;
		}
		return 0;
	}
	if (w->blen + n > IMG_BLOB_WBUF && bw_flush(w, err) < 0)
		return -1;
	memcpy(w->buf + w->blen, p, n);
	w->blen += n;
	return 0;
}

struct img_blob_writer *img_blob_writer_new(struct img_store *s, struct berr **err)
{
	if (shared_lock(s, err) < 0)
		return NULL;
	_cleanup_free_ char *tmp = xasprintf("%s/blobs/sha256/" IMG_STORE_BLOB_TMP_PREFIX "XXXXXX", s->dir);
	int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		berr_set_errno(err, BERR_IO, errno, "create temporary blob in '%s'", s->dir);
		return NULL;
	}
	struct img_blob_writer *w = xcalloc(1, sizeof(*w));
	w->s = s;
	w->tmp = steal_pointer(&tmp);
	w->fd = fd;
	w->h = img_hasher_new();
	w->buf = xmalloc(IMG_BLOB_WBUF);
	return w;
}

struct bsink img_blob_writer_sink(struct img_blob_writer *w)
{
	return (struct bsink){ bw_write, w };
}

int img_blob_writer_commit(struct img_blob_writer *w, const struct img_digest *expect,
			   struct img_digest *digest, uint64_t *size, struct berr **err)
{
	if (w->done || w->failed)
		return berr_set(err, BERR_INTERNAL, "blob writer: commit after %s",
				w->done ? "commit" : "failure");
	w->done = true;
	if (bw_flush(w, err) < 0)
		return -1;
	struct img_digest d;
	img_hasher_final(w->h, &d);
	if (expect && !img_digest_equal(expect, &d))
		return berr_set(err, BERR_INTEGRITY,
				"blob '%s' is corrupt: content hashes to '%s'", expect->s, d.s);
	if (fchmod(w->fd, 0644) < 0)
		return berr_set_errno(err, BERR_IO, errno, "chmod '%s'", w->tmp);
	if (fsync(w->fd) < 0)
		return berr_set_errno(err, BERR_IO, errno, "fsync '%s'", w->tmp);
	int fd = w->fd;
	w->fd = -1;
	if (close(fd) < 0)
		return berr_set_errno(err, BERR_IO, errno, "close '%s'", w->tmp);
	_cleanup_free_ char *path = img_store_blob_path(w->s, &d);
	struct stat st;
	if (stat(path, &st) == 0) {
		/* content-addressed: an existing blob is never rewritten */
		unlink(w->tmp);
	} else {
		if (rename(w->tmp, path) < 0)
			return berr_set_errno(err, BERR_IO, errno, "rename '%s' to '%s'", w->tmp, path);
		if (bfile_fsync_dir(path, err) < 0)
			return -1;
	}
	free(w->tmp);
	w->tmp = NULL;
	if (digest)
		*digest = d;
	if (size)
		*size = w->size;
	return 0;
}

void img_blob_writer_free(struct img_blob_writer *w)
{
	if (!w)
		return;
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp)
		unlink(w->tmp);
	free(w->tmp);
	img_hasher_free(w->h);
	free(w->buf);
	free(w);
}

int img_store_put_blob(struct img_store *s, const void *p, size_t n, struct img_digest *out,
		       struct berr **err)
{
	img_digest_bytes(p, n, out);
	if (shared_lock(s, err) < 0)
		return -1;
	if (img_store_has_blob(s, out))
		return 0;
	struct img_blob_writer *w = img_blob_writer_new(s, err);
	if (!w)
		return -1;
	struct bsink sk = img_blob_writer_sink(w);
	int r = bsink_write(&sk, p, n, err);
	if (r == 0)
		r = img_blob_writer_commit(w, out, NULL, NULL, err);
	img_blob_writer_free(w);
	return r;
}

/* ---------- blob reader ---------- */

struct img_blob_reader {
	struct img_digest want;
	int64_t want_size;
	char *path;
	int fd;
	struct img_hasher *h;
	uint64_t got;
	bool eof;
};

struct img_blob_reader *img_blob_open(struct img_store *s, const struct img_digest *d,
				      int64_t expect_size, struct berr **err)
{
	struct berr *ignored = NULL;
	if (shared_lock(s, &ignored) < 0) /* best effort for readers */
		berr_free(ignored);
	_cleanup_free_ char *path = img_store_blob_path(s, d);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT)
			berr_set(err, BERR_NOTFOUND, "blob '%s' is missing from '%s'", d->s, s->dir);
		else
			berr_set_errno(err, BERR_IO, errno, "open blob '%s'", path);
		return NULL;
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		berr_set(err, BERR_INPUT, "blob '%s' is not a regular file", d->s);
		return NULL;
	}
	if (expect_size >= 0 && st.st_size != expect_size) {
		close(fd);
		berr_set(err, BERR_INTEGRITY, "blob '%s' has %lld bytes, expected %lld", d->s,
			 (long long)st.st_size, (long long)expect_size);
		return NULL;
	}
	struct img_blob_reader *r = xcalloc(1, sizeof(*r));
	r->want = *d;
	r->want_size = expect_size;
	r->path = steal_pointer(&path);
	r->fd = fd;
	r->h = img_hasher_new();
	return r;
}

ssize_t img_blob_read(struct img_blob_reader *r, void *buf, size_t n, struct berr **err)
{
	if (r->eof)
		return 0;
	for (;;) {
		ssize_t k = read(r->fd, buf, n);
		if (k < 0) {
			if (errno == EINTR)
				continue;
			return berr_set_errno(err, BERR_IO, errno, "read blob '%s'", r->want.s);
		}
		if (k > 0) {
			img_hasher_update(r->h, buf, (size_t)k);
			r->got += (uint64_t)k;
			if (r->want_size >= 0 && r->got > (uint64_t)r->want_size)
				return berr_set(err, BERR_INTEGRITY, "blob '%s' is larger than %lld bytes",
						r->want.s, (long long)r->want_size);
			return k;
		}
		/* EOF: verify before reporting the end of the stream */
		struct img_digest d;
		img_hasher_final(r->h, &d);
		if (r->want_size >= 0 && r->got != (uint64_t)r->want_size)
			return berr_set(err, BERR_INTEGRITY, "blob '%s' is truncated: %llu of %lld bytes",
					r->want.s, (unsigned long long)r->got, (long long)r->want_size);
		if (!img_digest_equal(&d, &r->want))
			return berr_set(err, BERR_INTEGRITY,
					"blob '%s' is corrupt: content hashes to '%s'", r->want.s, d.s);
		r->eof = true;
		return 0;
	}
}

void img_blob_close(struct img_blob_reader *r)
{
	if (!r)
		return;
	close(r->fd);
	img_hasher_free(r->h);
	free(r->path);
	free(r);
}

int img_store_read_blob(struct img_store *s, const struct img_digest *d, int64_t expect_size,
			size_t limit, struct bbuf *out, struct berr **err)
{
	if (limit && expect_size > (int64_t)limit)
		return berr_set(err, BERR_LIMIT, "blob '%s' (%lld bytes) exceeds the %zu byte limit",
				d->s, (long long)expect_size, limit);
	struct img_blob_reader *r = img_blob_open(s, d, expect_size, err);
	if (!r)
		return -1;
	size_t old = out->limit;
	out->limit = limit;
	char buf[65536];
	int rc = 0;
	for (;;) {
		ssize_t k = img_blob_read(r, buf, sizeof(buf), err);
		if (k < 0) {
			rc = -1;
			break;
		}
		if (k == 0)
			break;
		if (bbuf_add(out, buf, (size_t)k, err) < 0) {
			berr_wrap(err, "blob '%s'", d->s);
			rc = -1;
			break;
		}
	}
	out->limit = old;
	img_blob_close(r);
	return rc;
}

int img_store_blob_to_sink(struct img_store *s, const struct img_descriptor *d,
			   const struct bsink *out, struct berr **err)
{
	struct img_blob_reader *r = img_blob_open(s, &d->digest, d->size, err);
	if (!r)
		return -1;
	_cleanup_free_ char *buf = xmalloc(IMG_BLOB_RBUF);
	int rc = 0;
	for (;;) {
		ssize_t k = img_blob_read(r, buf, IMG_BLOB_RBUF, err);
		if (k <= 0) {
			rc = (int)k;
			break;
		}
		if (bsink_write(out, buf, (size_t)k, err) < 0) {
			rc = -1;
			break;
		}
	}
	img_blob_close(r);
	return rc;
}

int img_store_copy_blob(struct img_store *dst, struct img_store *src,
			const struct img_descriptor *d, struct berr **err)
{
	if (shared_lock(dst, err) < 0)
		return -1;
	if (img_store_has_blob(dst, &d->digest))
		return 0;
	struct img_blob_writer *w = img_blob_writer_new(dst, err);
	if (!w)
		return -1;
	struct bsink sk = img_blob_writer_sink(w);
	int r = img_store_blob_to_sink(src, d, &sk, err);
	if (r == 0)
		r = img_blob_writer_commit(w, &d->digest, NULL, NULL, err);
	img_blob_writer_free(w);
	return r;
}

/* ---------- index.json ---------- */

int img_store_load_index(struct img_store *s, struct img_index **out, struct berr **err)
{
	_cleanup_free_ char *p = xasprintf("%s/index.json", s->dir);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (bfile_read_all(p, IMG_JSON_MAX, &b, err) < 0) {
		if (*err && (*err)->errnum == ENOENT) {
			berr_clear(err);
			return berr_set(err, BERR_NOTFOUND, "image layout '%s' has no index.json", s->dir);
		}
		return -1;
	}
	_cleanup_free_ char *what = xasprintf("'%s'", p);
	return img_index_parse(b.data, b.len, what, out, err);
}

int img_store_save_index(struct img_store *s, const struct img_index *x, struct berr **err)
{
	_cleanup_free_ char *p = xasprintf("%s/index.json", s->dir);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (img_index_to_json(x, &b, err) < 0)
		return -1;
	/* the same bytes are already there (and were synced when written):
	 * re-exporting or re-tagging an unchanged image costs no fsync */
	_cleanup_bbuf_ struct bbuf cur = BBUF_INIT;
	if (bfile_read_all(p, IMG_JSON_MAX, &cur, NULL) == 0 && cur.len == b.len &&
	    memcmp(cur.data, b.data, b.len) == 0)
		return 0;
	return bfile_write_atomic(p, b.data, b.len, 0644, err);
}

/* ---------- tags ---------- */

static int normalize(const char *ref, char **full, char **tag, struct berr **err)
{
	struct df_ref *r = NULL;
	if (df_ref_parse_normalized(ref, &r, err) < 0)
		return -1;
	df_ref_tag_name_only(r);
	*full = df_ref_string(r);
	*tag = xstrdup(r->tag ? r->tag : r->digest);
	df_ref_free(r);
	return 0;
}

/* index.json read-modify-write cycles hold an exclusive flock on the
 * layout directory itself (no extra file in the layout), so two berth
 * processes tagging into the same layout do not lose each other's updates.
 * Readers do not lock: the file is only ever replaced by rename. */
static int index_lock(struct img_store *s, struct berr **err)
{
	const char *p = s->dir;
	int fd = open(p, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open layout '%s' for locking", p);
	while (flock(fd, LOCK_EX) < 0) {
		if (errno != EINTR) {
			int e = errno;
			close(fd);
			return berr_set_errno(err, BERR_IO, e, "lock '%s'", p);
		}
	}
	return fd;
}

static void index_unlock(int fd)
{
	if (fd >= 0)
		close(fd); /* releases the flock */
}

static int tag_set_locked(struct img_store *s, const char *ref_name, const char *full_name,
			  const struct img_descriptor *desc, struct berr **err);

int img_store_tag_set_raw(struct img_store *s, const char *ref_name, const char *full_name,
			  const struct img_descriptor *desc, struct berr **err)
{
	/* GC lock before the index lock (prune takes them in that order too) */
	if (shared_lock(s, err) < 0)
		return -1;
	int lk = index_lock(s, err);
	if (lk < 0)
		return -1;
	int rc = tag_set_locked(s, ref_name, full_name, desc, err);
	index_unlock(lk);
	return rc;
}

static int tag_set_locked(struct img_store *s, const char *ref_name, const char *full_name,
			  const struct img_descriptor *desc, struct berr **err)
{
	_cleanup_img_index_ struct img_index *x = NULL;
	if (img_store_load_index(s, &x, err) < 0)
		return -1;
	struct img_descriptor d;
	img_descriptor_copy(&d, desc);
	img_kvmap_del(&d.annotations, IMG_ANN_CONTAINERD_NAME);
	img_kvmap_del(&d.annotations, IMG_ANN_REF_NAME);
	if (full_name)
		img_kvmap_set(&d.annotations, IMG_ANN_CONTAINERD_NAME, full_name);
	if (ref_name)
		img_kvmap_set(&d.annotations, IMG_ANN_REF_NAME, ref_name);
	size_t nsame = 0;
	bool unchanged = false;
	for (size_t i = 0; i < x->n_manifests;) {
		const struct img_kvmap *a = &x->manifests[i].annotations;
		const char *n = img_kvmap_get(a, IMG_ANN_CONTAINERD_NAME);
		const char *t = img_kvmap_get(a, IMG_ANN_REF_NAME);
		bool same;
		if (full_name)
			same = n && strcmp(n, full_name) == 0;
		else if (ref_name)
			same = !n && t && strcmp(t, ref_name) == 0;
		else /* untagged: keep one entry per digest */
			same = !n && !t && img_digest_equal(&x->manifests[i].digest, &desc->digest);
		if (same) {
			nsame++;
			unchanged = img_descriptor_equal(&x->manifests[i], &d);
			img_index_remove_at(x, i);
		} else {
			i++;
		}
	}
	/* the tag already names this exact descriptor: a rebuild with nothing
	 * changed writes nothing (and keeps the index order) */
	if (nsame == 1 && unchanged) {
		img_descriptor_clear(&d);
		return 0;
	}
	img_index_add(x, &d);
	img_descriptor_clear(&d);
	return img_store_save_index(s, x, err);
}

int img_store_tag_set(struct img_store *s, const char *ref, const struct img_descriptor *desc,
		      struct berr **err)
{
	_cleanup_free_ char *full = NULL, *tag = NULL;
	if (normalize(ref, &full, &tag, err) < 0)
		return -1;
	return img_store_tag_set_raw(s, tag, full, desc, err);
}

static bool hex_prefix(const char *s)
{
	size_t n = strlen(s);
	if (n < 12 || n > IMG_DIGEST_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* Index of the matching entry, -1 none (err set), by the rules in the header. */
static long find_tag(const struct img_index *x, const char *ref, const char *dir, struct berr **err)
{
	if (!ref) {
		if (x->n_manifests == 1)
			return 0;
		if (x->n_manifests == 0)
			return berr_set(err, BERR_NOTFOUND, "image layout '%s' is empty", dir);
		return berr_set(err, BERR_INPUT,
				"image layout '%s' holds %zu images: name one with :TAG", dir,
				x->n_manifests);
	}
	struct berr *ignored = NULL;
	_cleanup_free_ char *full = NULL, *tag = NULL;
	if (normalize(ref, &full, &tag, &ignored) == 0) {
		for (size_t i = 0; i < x->n_manifests; i++) {
			const char *n = img_kvmap_get(&x->manifests[i].annotations, IMG_ANN_CONTAINERD_NAME);
			if (n && strcmp(n, full) == 0)
				return (long)i;
		}
	}
	berr_free(ignored);
	long hit = -1;
	for (size_t i = 0; i < x->n_manifests; i++) {
		const char *n = img_kvmap_get(&x->manifests[i].annotations, IMG_ANN_REF_NAME);
		if (n && strcmp(n, ref) == 0) {
			if (hit >= 0)
				return berr_set(err, BERR_INPUT,
						"tag '%s' is ambiguous in '%s': use the full name", ref, dir);
			hit = (long)i;
		}
	}
	if (hit >= 0)
		return hit;
	const char *hex = NULL;
	if (strncmp(ref, "sha256:", 7) == 0)
		hex = ref + 7;
	else if (hex_prefix(ref))
		hex = ref;
	if (hex && hex_prefix(hex)) {
		size_t n = strlen(hex);
		for (size_t i = 0; i < x->n_manifests; i++)
			if (strncmp(img_digest_hex(&x->manifests[i].digest), hex, n) == 0) {
				if (hit >= 0 && !img_digest_equal(&x->manifests[hit].digest,
								 &x->manifests[i].digest))
					return berr_set(err, BERR_INPUT, "digest prefix '%s' is ambiguous", ref);
				if (hit < 0)
					hit = (long)i;
			}
		if (hit >= 0)
			return hit;
	}
	return berr_set(err, BERR_NOTFOUND, "image '%s' not found in '%s'", ref, dir);
}

int img_store_tag_resolve(struct img_store *s, const char *ref, struct img_descriptor *out,
			  struct berr **err)
{
	_cleanup_img_index_ struct img_index *x = NULL;
	if (img_store_load_index(s, &x, err) < 0)
		return -1;
	long i = find_tag(x, ref, s->dir, err);
	if (i < 0)
		return -1;
	img_descriptor_copy(out, &x->manifests[i]);
	return 0;
}

int img_store_tag_remove(struct img_store *s, const char *ref, struct berr **err)
{
	int lk = index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_img_index_ struct img_index *x = NULL;
	int rc = img_store_load_index(s, &x, err);
	long i = rc < 0 ? -1 : find_tag(x, ref, s->dir, err);
	if (i < 0)
		rc = -1;
	else {
		img_index_remove_at(x, (size_t)i);
		rc = img_store_save_index(s, x, err);
	}
	index_unlock(lk);
	return rc;
}

int img_store_index_edit(struct img_store *s,
			 int (*fn)(struct img_index *x, void *ctx, struct berr **err), void *ctx,
			 struct berr **err)
{
	if (shared_lock(s, err) < 0)
		return -1;
	int lk = index_lock(s, err);
	if (lk < 0)
		return -1;
	_cleanup_img_index_ struct img_index *x = NULL;
	int rc = img_store_load_index(s, &x, err);
	if (rc == 0)
		rc = fn(x, ctx, err);
	if (rc > 0)
		rc = img_store_save_index(s, x, err);
	index_unlock(lk);
	return rc < 0 ? -1 : 0;
}

/* ---------- local store ---------- */

char *img_local_root(void)
{
	const char *r = getenv("BERTH_ROOT");
	if (r && *r)
		return xstrdup(r);
	const char *xdg = getenv("XDG_DATA_HOME");
	if (xdg && *xdg == '/')
		return xasprintf("%s/berth", xdg);
	const char *home = getenv("HOME");
	return xasprintf("%s/.local/share/berth", home && *home ? home : "/tmp");
}

int img_local_open(struct img_store **out, struct berr **err)
{
	_cleanup_free_ char *root = img_local_root();
	_cleanup_free_ char *dir = xasprintf("%s/images", root);
	return img_store_open(dir, IMG_STORE_CREATE, out, err);
}
