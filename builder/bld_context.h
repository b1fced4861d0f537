/* Build context reader: the directory a build reads COPY/ADD sources from.
 *
 * Every path is resolved inside the context with openat2(RESOLVE_IN_ROOT):
 * symlinks (absolute or relative) are interpreted with the context as "/",
 * as BuildKit scopes them, so no source can read outside the context. A
 * source that spells its way out ("../x") is refused before any lookup.
 * Excluded paths (.dockerignore) are invisible to wildcards and walks.
 *
 * The context owns its root fd; entries passed to callbacks are borrowed and
 * valid only during the callback. */
#ifndef BERTH_BLD_CONTEXT_H
#define BERTH_BLD_CONTEXT_H

#include <stdbool.h>
#include <sys/stat.h>
#include "common/berr.h"

enum bld_exclude {
	BLD_INCLUDE = 0,
	BLD_EXCLUDE = 1,        /* this path is excluded, children may be re-included */
	BLD_EXCLUDE_PRUNE = 2,  /* excluded and nothing below can be re-included */
};
/* rel: path relative to the context root, '/'-separated, no leading '/'.
 * Returns an enum bld_exclude value, or -1 with *err. */
typedef int (*bld_exclude_fn)(void *ud, const char *rel, bool is_dir, struct berr **err);

struct bld_context;

int bld_context_open(const char *dir, bld_exclude_fn excl, void *ud,
		     struct bld_context **out, struct berr **err);
void bld_context_free(struct bld_context *c);
const char *bld_context_dir(const struct bld_context *c);

/* Clean a source as written in COPY/ADD ("/a/./b", "a/b/") into a context
 * relative path ("a/b", "." for the root). Fails with BERR_SECURITY when it
 * leaves the context. Caller frees *out. */
int bld_context_clean(const char *src, char **out, struct berr **err);

/* Expand one source (wildcards per path component, Go filepath.Match) into
 * existing, non-excluded context paths, sorted. A source without wildcards
 * yields itself when it exists. No match: BERR_NOTFOUND naming the source.
 * *out is a NULL-terminated array owned by the caller (free each + array). */
int bld_context_expand(struct bld_context *c, const char *src, char ***out, size_t *n,
		       struct berr **err);

struct bld_entry {
	const char *rel;      /* relative to the walk start; "" for the start itself */
	const char *ctx_rel;  /* relative to the context root ("." for the root) */
	const struct stat *st;/* lstat of the entry (the start is stat'ed through links);
			       * below the start, st_atim, st_blocks and st_blksize
			       * are not kept (zero) */
	int dirfd;            /* directory containing the entry, or -1 when the
			       * walk has closed it (bld_entry_open works either way) ... */
	const char *name;     /* ... and its name there */
	const char *link;     /* symlink target, or NULL */
	const struct bld_context *ctx; /* private: for reopening the walk start */
	const char *dir_host; /* private: dirfd's host path (NULL for the start) */
	const void *ahead;    /* a regular file's result of the walk's ahead hook, or NULL */
};
typedef int (*bld_walk_fn)(void *ud, const struct bld_entry *e, struct berr **err);

/* Visit a context path and, when it is a directory, every non-excluded
 * descendant in lexical order (parents before children). The start path
 * is followed if it is a symlink; nothing below it is. Directories are
 * read ahead on helper threads (BERTH_WALK_THREADS, docs/builder.md); the
 * callback runs on the calling thread only, in that order, and a failure
 * found ahead is reported when the visit reaches it. */
int bld_context_walk(struct bld_context *c, const char *ctx_rel, bld_walk_fn fn, void *ud,
		     struct berr **err);

/* The same, with a hook called for each regular file as it is read ahead
 * of the visit: on a helper thread, concurrently with the visit and other
 * helpers (so it must be thread-safe), with the file's host path and its
 * lstat. What it returns reaches the visit as e->ahead (the hook keeps it
 * alive until the walk ends). */
typedef const void *(*bld_ahead_fn)(void *ud, const char *host, const struct stat *st);
int bld_context_walk_ahead(struct bld_context *c, const char *ctx_rel, bld_ahead_fn ahead,
			   bld_walk_fn fn, void *ud, struct berr **err);
/* Open a regular file of an entry for reading (O_NOFOLLOW). */
int bld_entry_open(const struct bld_entry *e, struct berr **err);

/* The entry's real host path (its directory as the kernel names the open
 * fd, plus its name): safe to hand to code that lstat()s it, since every
 * symlink on the way was resolved inside the root. Allocated in ar. */
struct barena;
char *bld_entry_host_path(const struct bld_entry *e, struct barena *ar, struct berr **err);

/* Open a context path with O_PATH, symlinks resolved inside the root
 * (for fstat and for its real host path). Returns the fd or -1. */
int bld_context_open_path(struct bld_context *c, const char *ctx_rel, struct berr **err);

#endif
