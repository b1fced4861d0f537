/* Store checking and garbage collection over an OCI layout (berth's local
 * store or any layout). Owner: image/ (harden). See docs/image-store.md.
 *
 * fsck: every blob under blobs/sha256 is re-hashed (streamed) and compared
 * with its name; index.json and every index, manifest and image config
 * reachable from it are parsed with the model loaders; every reference is
 * resolved (foreign layers with urls may be absent) and its size compared.
 * Problems come in two classes:
 *   errors   corrupt or misnamed blobs, unparseable JSON, missing (dangling)
 *            references, size mismatches: the store is damaged (exit 1);
 *   garbage  orphaned blobs (nothing references them) and stale temp files:
 *            the normal leftovers of an interrupted write, harmless, listed
 *            and removed by --repair / prune.
 * When the layout is the builder's cache store ($BERTH_ROOT/cache/blobs,
 * also when named as a LAYOUT), its records ($BERTH_ROOT/cache/keys) are
 * references too: a record that does not parse is invalid, one naming a
 * missing blob or the wrong size is an error like a dangling manifest
 * reference, blobs no record references are orphans, and temp records are
 * stale temp files.
 * Repair takes the exclusive GC lock, so no berth writer is running and
 * every temp file in the layout is stale; orphans are only removed when the
 * reference walk completed without errors (a blob reachable only through
 * an unreadable manifest must not be collected). Repair never touches
 * errors: a corrupt blob is reported, not deleted. */
#ifndef BERTH_IMG_FSCK_H
#define BERTH_IMG_FSCK_H

#include <stdbool.h>
#include <stdint.h>
#include "common/berr.h"
#include "image/img_store.h"

/* Nesting bound for index -> index -> ... -> manifest walks. */
#define IMG_FSCK_MAX_DEPTH 8

enum img_fsck_kind {
	/* errors */
	IMG_FSCK_CORRUPT,    /* content does not hash to the blob's name */
	IMG_FSCK_BADFILE,    /* not a regular file, or an unexpected name */
	IMG_FSCK_INVALID,    /* index/manifest/config does not parse */
	IMG_FSCK_MISSING,    /* a reference to a blob that is not there */
	IMG_FSCK_SIZE,       /* a reference whose size differs from the blob */
	/* garbage */
	IMG_FSCK_ORPHAN,     /* blob nothing references */
	IMG_FSCK_TEMP,       /* temp file of an interrupted write */
};
bool img_fsck_kind_is_error(enum img_fsck_kind k);
const char *img_fsck_kind_name(enum img_fsck_kind k); /* "corrupt", "orphan", ... */

struct img_fsck_problem {
	enum img_fsck_kind kind;
	char *object;   /* "sha256:..." or a path relative to the layout */
	char *detail;   /* message, may be NULL */
	uint64_t size;  /* bytes on disk (garbage) */
	bool removed;   /* --repair removed it */
};

struct img_fsck_report {
	struct img_fsck_problem *v;
	size_t n;
	size_t n_errors, n_garbage;
	uint64_t blobs, bytes;      /* blobs verified and their total size */
	size_t images;              /* entries in index.json */
	bool writers_active;        /* another berth process held the store: leftovers may be live */
	bool orphans_kept;          /* repair refused to collect orphans (walk had errors) */
	uint64_t reclaimed;         /* bytes removed by repair */
	size_t remote;              /* references to lazy layers: absent, with a recorded registry source */
	bool cache;                 /* the layout is the builder's cache store: records checked */
	size_t records;             /* cache records checked (cache only) */
};
void img_fsck_report_free(struct img_fsck_report *r);

struct img_fsck_opts {
	bool repair;
};
/* Returns 0 when the check ran (look at report->n_errors), -1 when it could
 * not (no layout, lock failure). */
int img_fsck(struct img_store *s, const struct img_fsck_opts *o, struct img_fsck_report **out,
	     struct berr **err);

/* --- prune --- */
struct img_prune_opts {
	bool all;          /* also every build cache entry, whatever its age */
	int64_t until;     /* only objects last written before this time (0 = any) */
};
struct img_prune_report {
	char **images;     /* manifest digests of the untagged entries removed */
	size_t n_images;
	char **blobs;      /* digests of blobs removed */
	size_t n_blobs;
	char **cache;      /* cache entries removed (by the hook) */
	size_t n_cache;
	uint64_t reclaimed;
};
void img_prune_report_free(struct img_prune_report *r);
/* Under the exclusive GC lock: drop untagged (dangling) index.json entries,
 * delete every blob unreachable from index.json and stale temp files, then
 * prune the build cache (img_gc_cache_hook). */
int img_prune(struct img_store *s, const struct img_prune_opts *o, struct img_prune_report **out,
	      struct berr **err);

/* Set of blob digests (hex) kept alive; the cache hook adds to it. */
struct img_gc_keep;
void img_gc_keep_add(struct img_gc_keep *k, const struct img_digest *d);

/* The builder's cache, called by img_prune last, with the local store's
 * exclusive lock held; `keep` holds the blobs the local store's images
 * reference. Only for the local store ($BERTH_ROOT/images). Takes the
 * exclusive lock of the cache store $BERTH_ROOT/cache/blobs (builds hold
 * the local store's and then the cache store's lock shared for their whole
 * run, so this waits for them), then:
 *  - records ($BERTH_ROOT/cache/keys/<hex>, format in builder/bld_build.c;
 *    a cache hit touches its record, so the mtime is the last use): all of
 *    them with o->all, those not used since o->until, and temp files of
 *    interrupted record writes are removed (names in rep->cache);
 *  - the cache store's blobs that no surviving record, no entry of its own
 *    index.json and no local image (`keep`) references are removed, whatever
 *    their age (the age of cache is its record's; "sha256:..." in
 *    rep->cache), and its temp files; not when the cache store has errors
 *    (BERR_INTEGRITY).
 * Bytes go to rep->reclaimed. A removed record only costs a rebuild of its
 * step. Then the materialised stage trees (entries of $BERTH_ROOT/cache/rootfs,
 * whose mtime is their last use): all with o->all, those not used since
 * o->until; and the RUN --mount=type=cache directories
 * (entries of $BERTH_ROOT/cache/mounts) with o->all only (names in rep->cache as
 * "rootfs/NAME", "mounts/ID"). */
int img_gc_cache_hook(struct img_store *s, const struct img_prune_opts *o, struct img_gc_keep *keep,
		      struct img_prune_report *rep, struct berr **err);

#endif
