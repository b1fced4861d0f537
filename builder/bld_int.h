/* Internals shared by the builder's step loop (bld_build.c), COPY/ADD
 * (bld_copy.c) and stage filesystem helpers (bld_fs.c). Not a public API. */
#ifndef BERTH_BLD_INT_H
#define BERTH_BLD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>
#include <sys/types.h>

#include "builder/bld_build.h"
#include "builder/bld_context.h"
#include "builder/bld_plan.h"
#include "builder/bld_statcache.h"
#include "common/berr.h"
#include "image/img_digest.h"
#include "image/img_model.h"
#include "image/img_store.h"
#include "parser/df_ignore.h"
#include "parser/df_instr.h"
#include "parser/df_shell.h"

struct bld_stage {
	bool done, running;
	bool windows;
	struct img_config *cfg;
	struct img_descriptor *layers;   /* blobs in the build's cache store */
	size_t nlayers;
	struct df_env *args;             /* ARGs in scope */
	struct img_digest key;           /* cache chain key after the last step */
	bool cmd_set;
	char *base_name;                 /* for the base annotations, or NULL */
	struct img_digest base_digest;
	bool lazy;                       /* base layers still only in a registry */
};

struct bld_named {
	char *name;
	char *src;       /* as given */
	char *dir;       /* NAME=DIR: a local directory */
	bool image;      /* oci-layout:// or docker-image:// */
};

struct bld {
	const struct bld_opts *o;
	struct bld_plan *plan;
	char *root;                /* $BERTH_ROOT */
	char *cache_dir;           /* $BERTH_ROOT/cache */
	struct img_store *ls;      /* local store (images) */
	struct img_store *cs;      /* build cache store (layers of every step) */
	struct bld_context *ctx;   /* the build context */
	struct df_ignore *ign;
	struct bld_stage *stages;
	struct bld_named *named;
	size_t nnamed;
	int64_t now;               /* epoch or time(NULL) */
	int64_t step_time;         /* when the last layer step's layer was made */
	unsigned step_id;          /* progress step counter (#N) */
	uint64_t layer_total;      /* expected content bytes of the layer being written */
	struct bld_result *res;
	struct bld_statcache *sc;  /* input file digests by inode */
	char **tmpdirs;            /* removed at the end */
	size_t ntmpdirs;
	char *tmp_dir;             /* $BERTH_ROOT/cache/tmp/build-XXXXXX, flocked while we run;
				    * NULL until first needed (bld_tmp_dir) */
	int tmp_fd;                /* holds that lock; -1 when none */
	int *secret_fds;           /* memfds of --secret id=,env= values */
	size_t nsecret_fds;
	/* bld_remote.c: registry client (o->reg, or owned) and lazy bases
	 * resolved in this build ("ref\nplatform\nos.version" -> manifest) */
	struct img_registry *reg;
	bool own_reg;
	char **remote_keys;
	struct img_descriptor *remote_descs;
	size_t nremote;
};

/* --- bld_fs.c --- */

/* A stage's filesystem as a directory: the layer chain applied into
 * $BERTH_ROOT/cache/rootfs/<chain id>, reused while it exists. Lazy base
 * layers are fetched from their registry first (s->lazy is cleared). */
int bld_rootfs(struct bld *b, struct bld_stage *s, char **out, struct berr **err);

/* lstat of an absolute in-image path inside rootfs, without following
 * symlinks outside it (Windows: case-insensitive). 0 found, 1 absent. */
int bld_rootfs_stat(const char *rootfs, const char *path, bool windows, struct stat *st,
		    char **real, struct berr **err);

/* --chown / USER "user[:group]" resolved with rootfs /etc/passwd and
 * /etc/group (names) or as numbers. */
int bld_resolve_owner(const char *rootfs, const char *spec, uid_t *uid, gid_t *gid,
		      struct berr **err);

/* Destination path of an instruction in a stage, as an absolute internal
 * path ("/app/x"; Windows paths C:\app, c:/app map to "/app"), relative
 * ones joined to the working directory. *dir_hint: ends with a slash. */
int bld_stage_path(const struct bld_stage *s, const char *raw, char **out, bool *dir_hint,
		   struct berr **err);
/* Working directory of the stage as an internal path ("/" default). */
char *bld_stage_workdir(const struct bld_stage *s);
/* Internal path -> config form ("/app" or "C:\app"). */
char *bld_stage_display_path(const struct bld_stage *s, const char *internal);

void bld_tmpdir_add(struct bld *b, char *dir);
/* This build's temp directory: cache/tmp/build-XXXXXX, made on first use
 * (a build whose every step is cached needs none: making, locking and
 * removing it cost ~1 ms, most of it ext4 freeing the removed directory
 * at its last close) and locked (flock) for the build's lifetime, so a
 * later build can tell a killed build's leftovers (lock free) from a
 * running one's; bld_tmp_sweep, at every build's start, removes the
 * former. bld_tmp_dir returns the directory, bld_tmp_mkdtemp makes
 * PREFIX-XXXXXX inside it (removed at the end); both paths belong to the
 * build: do not free them. All per-build temporaries live there. */
void bld_tmp_sweep(struct bld *b);
const char *bld_tmp_dir(struct bld *b, struct berr **err);
char *bld_tmp_mkdtemp(struct bld *b, const char *prefix, struct berr **err);
void bld_tmp_close(struct bld *b);

/* --- bld_build.c --- */

/* COPY --from / RUN --mount from=: a stage (built first when needed) or an
 * image (named context or local store), as a materialised rootfs. */
int bld_load_source_stage(struct bld *b, struct bld_stage *cur, const char *from,
			  const struct df_instr *in, char **rootfs, struct berr **err);

/* The platform a stage will have, known before it is built: its base
 * image's (os, architecture, os.version from the config) or the planned
 * one; *base (may be NULL) receives the image or "scratch" it rests on. */
int bld_stage_platform(struct bld *b, size_t si, struct img_platform *out, const char **base,
		       struct berr **err);
/* a progress note line (nothing in quiet mode) */
void bld_note(struct bld *b, const char *msg);

/* --- bld_hostcheck.c --- */

/* --check-host: compat for every reachable Windows stage against each
 * host, before any work; fails with compat's reason and what would fit. */
int bld_check_hosts(struct bld *b, struct berr **err);

/* --- bld_stdin.c --- */

/* CONTEXT "-": stdin spooled into a private directory under cache_dir/tmp;
 * a tar archive (any compression docker accepts) is extracted as the
 * context and `dockerfile` (-f, default "Dockerfile") is found inside it;
 * anything else is the Dockerfile, with an empty context (no_context). */
struct bld_stdin {
	char *dir;         /* the private directory (removed by bld_stdin_clear) */
	char *ctx;         /* the context directory */
	char *dockerfile;  /* the Dockerfile to read */
	char *name;        /* its name in messages */
	bool no_context;
};
int bld_stdin_prepare(const char *tmp_dir, const char *dockerfile, int in,
		      struct bld_stdin *s, struct berr **err);
void bld_stdin_clear(struct bld_stdin *s);

/* --- bld_remote.c (lazy registry bases) --- */

struct img_registry;
struct img_image;
struct img_platform;
/* the registry client: o->reg, else a default one made on first use */
int bld_registry(struct bld *b, struct img_registry **out, struct berr **err);
/* a local-store image (lazy layers allowed), platform + --os-version */
int bld_open_image_local(struct bld *b, const struct img_descriptor *d,
			 const struct img_platform *want, struct img_image **out, struct berr **err);
/* index + manifest + config from the registry into the local store */
int bld_open_remote(struct bld *b, const char *ref, const struct img_platform *want,
		    struct img_image **out, struct berr **err);
/* any layer in neither store (and not foreign): still in a registry */
bool bld_layers_lazy(struct bld *b, const struct img_descriptor *l, size_t n);
/* fetch the absent layers into the local store, link them all into the
 * build store */
int bld_fetch_layers(struct bld *b, const struct img_descriptor *l, size_t n, struct berr **err);
/* an image loaded with IMG_LOAD_LAZY: fetch its remote layers */
int bld_fetch_image(struct bld *b, struct img_image *img, struct berr **err);
void bld_remote_free(struct bld *b);

/* --- bld_copy.c --- */

struct img_layer;
/* COPY/ADD: writes the layer, fills the input digest for the cache key. */
struct bld_copy_plan;
int bld_copy_prepare(struct bld *b, struct bld_stage *s, const struct df_instr *in,
		     struct df_env *env, struct bld_copy_plan **out, struct img_digest *inputs,
		     char **summary, struct berr **err);
int bld_copy_write(struct bld *b, struct bld_stage *s, struct bld_copy_plan *cp,
		   struct img_layer *layer, struct berr **err);
void bld_copy_plan_free(struct bld_copy_plan *cp);
/* content bytes the layer of a COPY/ADD will hold */
uint64_t bld_copy_plan_bytes(const struct bld_copy_plan *cp);

#endif
