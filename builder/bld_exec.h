/* RUN executors: the interface a build uses to run a command in a stage's
 * filesystem and get the change back as a layer.
 *
 *   prepare: set up a container root over read-only trees (the stage's
 *            layer chain materialised by the builder, bottom first)
 *   run:     run argv with env/user/workdir/network/mounts, streaming output
 *            through `output`, and return the exit status
 *   diff:    write what run changed into a layer writer (img_layer), with
 *            whiteouts for deletions and opaque markers for replaced dirs
 *   release: drop the prepared rootfs
 *
 * Executors are looked up by name ("linux", "docker"); bld_executor_select
 * answers, before any work is done, whether one can run a stage's platform
 * and if not why ("no executor for windows/amd64 stages: ..."). The
 * executor object is owned by the registry (static); a session returned by
 * prepare is owned by the caller until release. */
#ifndef BERTH_BLD_EXEC_H
#define BERTH_BLD_EXEC_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"
#include "image/img_model.h"

struct img_compress_opts;
struct img_image;
struct img_layer;
struct img_store;

struct bld_exec_mount {
	const char *type;     /* "bind", "tmpfs", "secret" (cache dirs are binds) */
	const char *source;   /* host path (bind, secret) or NULL */
	const char *target;   /* path in the container */
	bool readonly;
	unsigned mode;        /* secret: file mode (0 = 0400) */
	unsigned uid, gid;    /* secret: owner */
};

struct bld_exec_spec {
	char *const *argv;
	size_t argc;
	char *const *env;     /* "K=V" */
	size_t nenv;
	const char *user;     /* "uid[:gid]" or a name from the rootfs, "" = root */
	const char *workdir;
	const char *network;  /* "default" | "none" | "host" */
	int cancel_fd;        /* readable = cancel, -1 none */
	const struct bld_exec_mount *mounts;
	size_t nmounts;
	/* called with whole lines of the command's stdout/stderr (fd 1 or 2) */
	void (*output)(void *ud, int fd, const char *data, size_t n);
	void *ud;
};

struct bld_exec_session;

struct bld_executor {
	const char *name;
	/* NULL when platform p can be run here, else a malloc'ed reason */
	char *(*unsupported)(const struct img_platform *p);
	int (*prepare)(const char *const *lowers, size_t n, const char *scratch,
		       const struct img_platform *p, struct bld_exec_session **out,
		       struct berr **err);
	int (*run)(struct bld_exec_session *s, const struct bld_exec_spec *spec, int *status,
		   struct berr **err);
	int (*diff)(struct bld_exec_session *s, struct img_layer *out, bool *changed,
		    struct berr **err);
	void (*release)(struct bld_exec_session *s);
	/* Optional: executors that work on the layer chain itself. Windows
	 * stages use these instead of prepare/diff (a Windows rootfs cannot be
	 * materialised faithfully on Linux, and re-encoding a Windows layer
	 * loses its security descriptors); an executor without them cannot
	 * run Windows stages.
	 *   prepare_image: like prepare, from the stage's image (config with
	 *       diff_ids and os.version, layer blobs in img->store; img stays
	 *       valid until release);
	 *   take_layer: after run, store the layer exactly as the executor
	 *       made it into `store` (compressed per `co`, diff_id verified);
	 *       *changed false (nothing stored) when the command changed
	 *       nothing. */
	int (*prepare_image)(const struct img_image *img, const char *scratch,
			     const struct img_platform *p, struct bld_exec_session **out,
			     struct berr **err);
	int (*take_layer)(struct bld_exec_session *s, struct img_store *store,
			  const struct img_compress_opts *co, struct img_descriptor *d,
			  struct img_digest *diff_id, bool *changed, struct berr **err);
};

/* Choose the executor for a stage platform. name: "auto", "linux",
 * "docker" or "none". Returns the executor, or NULL with *err explaining
 * (BERR_UNSUPPORTED) what would run such a stage. */
const struct bld_executor *bld_executor_select(const char *name, const struct img_platform *p,
					       struct berr **err);
/* Known executor names, for --executor checks. */
bool bld_executor_name_valid(const char *name);

#endif
