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

struct img_layer;

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
};

/* Choose the executor for a stage platform. name: "auto", "linux",
 * "docker" or "none". Returns the executor, or NULL with *err explaining
 * (BERR_UNSUPPORTED) what would run such a stage. */
const struct bld_executor *bld_executor_select(const char *name, const struct img_platform *p,
					       struct berr **err);
/* Known executor names, for --executor checks. */
bool bld_executor_name_valid(const char *name);

#endif
