/* Content store over an OCI image layout directory. Owner: image/ (imgstore).
 *
 *   DIR/oci-layout        exactly {"imageLayoutVersion":"1.0.0"}
 *   DIR/index.json        OCI index; tags are descriptors annotated with
 *                         org.opencontainers.image.ref.name (the tag) and
 *                         io.containerd.image.name (the full reference)
 *   DIR/blobs/sha256/HEX  content, named by its sha256
 *
 * Writes are crash-safe: a blob streams into DIR/blobs/sha256/.tmp-XXXXXX
 * while being hashed, is fsynced and renamed into place (an existing blob
 * is never rewritten: the temp file is dropped); index.json is replaced
 * atomically (temp + fsync + rename). Reads verify: a blob reader hashes
 * what it streams and fails at EOF (naming the blob) when the digest or
 * size differs from what the caller expected.
 *
 * A store handle is not thread-safe. Tag updates (index.json read-modify-
 * write) take an exclusive flock on the layout directory, so concurrent
 * berth processes do not lose updates.
 *
 * GC lock (flock on DIR/blobs, see docs/image-store.md): every handle takes
 * it shared at its first blob read, blob write or tag update and keeps it
 * until img_store_free, so a blob found or written cannot be collected
 * before the tag that references it is in index.json. Collectors (prune,
 * fsck --repair) take it exclusive with img_store_lock before reading the
 * index, which also proves that no temp file in the layout belongs to a
 * live berth writer. Two writers of the same blob race safely: each streams
 * into its own temp file and renames it over the (identical) final name. */
#ifndef BERTH_IMG_STORE_H
#define BERTH_IMG_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>
#include "common/berr.h"
#include "common/buf.h"
#include "common/sink.h"
#include "image/img_digest.h"
#include "image/img_model.h"

#define IMG_OCI_LAYOUT_JSON "{\"imageLayoutVersion\":\"1.0.0\"}"

struct img_store;

enum img_store_mode {
	IMG_STORE_OPEN = 0,   /* must exist and be a valid layout */
	IMG_STORE_CREATE = 1, /* create the layout when missing */
};
int img_store_open(const char *dir, enum img_store_mode mode, struct img_store **out,
		   struct berr **err);

enum img_lock_mode {
	IMG_LOCK_NONE = 0,
	IMG_LOCK_SHARED = 1,    /* writers and readers */
	IMG_LOCK_EXCLUSIVE = 2, /* collectors: prune, fsck --repair */
};
/* Take the GC lock (blocking). A no-op when a lock at least as strong is
 * held; upgrading shared -> exclusive is refused (BERR_INTERNAL: it could
 * deadlock against another upgrader). Released by img_store_unlock or
 * img_store_free. */
int img_store_lock(struct img_store *s, enum img_lock_mode mode, struct berr **err);
/* Same without waiting: BERR_FAILED when another process holds it. */
int img_store_trylock(struct img_store *s, enum img_lock_mode mode, struct berr **err);
/* Exclusive -> shared without letting another collector in between (fsck
 * scans under the exclusive lock, then hashes under the shared one). */
int img_store_lock_downgrade(struct img_store *s, struct berr **err);
void img_store_unlock(struct img_store *s);
enum img_lock_mode img_store_lock_mode(const struct img_store *s);
/* Temp-file names used inside a layout: blobs stream into
 * DIR/blobs/sha256/.tmp-XXXXXX, index.json and oci-layout are replaced via
 * DIR/NAME.tmp-XXXXXX (bfile_write_atomic). */
#define IMG_STORE_BLOB_TMP_PREFIX ".tmp-"
#define IMG_STORE_FILE_TMP_INFIX ".tmp-"
void img_store_free(struct img_store *s);
const char *img_store_dir(const struct img_store *s);
/* DIR/blobs/sha256/HEX; caller frees */
char *img_store_blob_path(const struct img_store *s, const struct img_digest *d);
bool img_store_has_blob(const struct img_store *s, const struct img_digest *d);

/* --- writing blobs --- */
struct img_blob_writer;
struct img_blob_writer *img_blob_writer_new(struct img_store *s, struct berr **err);
/* Sink for the blob's bytes; valid until free. */
struct bsink img_blob_writer_sink(struct img_blob_writer *w);
/* fsync + rename into place. When `expect` is non-NULL the content must
 * hash to it (BERR_INTEGRITY otherwise, nothing stored). */
int img_blob_writer_commit(struct img_blob_writer *w, const struct img_digest *expect,
			   struct img_digest *digest, uint64_t *size, struct berr **err);
/* Frees; an uncommitted temp file is removed. Accepts NULL. */
void img_blob_writer_free(struct img_blob_writer *w);
/* Whole small blob from memory. */
int img_store_put_blob(struct img_store *s, const void *p, size_t n, struct img_digest *out,
		       struct berr **err);
/* Copy (or hard-link when possible) a verified blob from another store. */
int img_store_copy_blob(struct img_store *dst, struct img_store *src,
			const struct img_descriptor *d, struct berr **err);

/* --- reading blobs --- */
struct img_blob_reader;
/* expect_size < 0: size not checked. A missing blob is BERR_NOTFOUND. */
struct img_blob_reader *img_blob_open(struct img_store *s, const struct img_digest *d,
				      int64_t expect_size, struct berr **err);
/* Returns bytes read, 0 at a verified EOF, -1 on error (including digest or
 * size mismatch, BERR_INTEGRITY, message names the blob). */
ssize_t img_blob_read(struct img_blob_reader *r, void *buf, size_t n, struct berr **err);
void img_blob_close(struct img_blob_reader *r);
/* Read a whole blob (verified) into out, failing past `limit` bytes. */
int img_store_read_blob(struct img_store *s, const struct img_digest *d, int64_t expect_size,
			size_t limit, struct bbuf *out, struct berr **err);
/* Read and verify a blob into a sink, streaming. */
int img_store_blob_to_sink(struct img_store *s, const struct img_descriptor *d,
			   const struct bsink *out, struct berr **err);

/* --- index.json --- */
int img_store_load_index(struct img_store *s, struct img_index **out, struct berr **err);
int img_store_save_index(struct img_store *s, const struct img_index *x, struct berr **err);

/* Read-modify-write of index.json under the index lock: fn edits x and
 * returns 1 to save it, 0 to leave the file alone, -1 on error. */
int img_store_index_edit(struct img_store *s,
			 int (*fn)(struct img_index *x, void *ctx, struct berr **err), void *ctx,
			 struct berr **err);

/* --- tags ---
 * `ref` is an image reference ("foo", "foo:1", "reg:5000/a/b:tag"); it is
 * normalized (docker.io/library/foo:latest) for io.containerd.image.name and
 * its tag goes into org.opencontainers.image.ref.name. For layouts written
 * for other tools (oci:DIR:TAG) a plain TAG is accepted too: see
 * img_store_tag_resolve. */
/* Point ref at desc (replaces an existing tag of the same name). */
int img_store_tag_set(struct img_store *s, const char *ref, const struct img_descriptor *desc,
		      struct berr **err);
/* Low-level: add desc with ref.name = ref_name (may be NULL: no
 * annotation) and io.containerd.image.name = full_name (may be NULL),
 * replacing entries with the same full name (or, without one, the same
 * ref.name). Used for oci:DIR:TAG style layouts. */
int img_store_tag_set_raw(struct img_store *s, const char *ref_name, const char *full_name,
			  const struct img_descriptor *desc, struct berr **err);
/* Find a descriptor in index.json by, in order: full normalized name
 * (io.containerd.image.name), exact ref.name, a "sha256:..." manifest digest
 * (or unique hex prefix >= 12). NULL ref: the only entry (error if several).
 * BERR_NOTFOUND when nothing matches. */
int img_store_tag_resolve(struct img_store *s, const char *ref, struct img_descriptor *out,
			  struct berr **err);
/* Remove a tag; BERR_NOTFOUND when absent. Blobs are kept (no GC yet). */
int img_store_tag_remove(struct img_store *s, const char *ref, struct berr **err);

/* --- berth's local store ---
 * $BERTH_ROOT/images (BERTH_ROOT defaults to $XDG_DATA_HOME/berth, else
 * ~/.local/share/berth), an OCI layout created on first use. */
char *img_local_root(void);
int img_local_open(struct img_store **out, struct berr **err);

static inline void img_store_freep(struct img_store **p) { img_store_free(*p); }
#define _cleanup_img_store_ __attribute__((cleanup(img_store_freep)))

#endif
