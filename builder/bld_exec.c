/* Executor registry (bld_exec.h). Built in: "linux", the namespace and
 * overlayfs sandbox of bld_sandbox.h, and "docker", the Docker Engine
 * executor (bld_engine_exec.h). "auto" takes the first that can run the
 * stage; it reaches for the engine only for a stage whose OS differs from
 * this host's and only when an engine is named (--engine or DOCKER_HOST). */
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>

#include "builder/bld_engine_exec.h"
#include "builder/bld_exec.h"
#include "builder/bld_sandbox.h"
#include "image/img_archive.h"
#include "image/img_layer.h"
#include "common/common.h"

struct bld_exec_session {
	char **lowers;
	size_t n;
	char *scratch;
	char *upper;      /* after run */
};

static char *linux_unsupported(const struct img_platform *p)
{
	if (!p->os || strcmp(p->os, "linux"))
		return xasprintf("the linux executor runs linux stages only");
	struct img_platform host = { 0 };
	img_host_platform(&host);
	char *why = NULL;
	if (p->architecture && host.architecture && strcmp(p->architecture, host.architecture))
		why = xasprintf("the linux executor cannot run %s stages on this %s host "
				"(no emulation)", p->architecture, host.architecture);
	img_platform_clear(&host);
	return why;
}

static int linux_prepare(const char *const *lowers, size_t n, const char *scratch,
			 const struct img_platform *p, struct bld_exec_session **out,
			 struct berr **err)
{
	(void)p;
	(void)err;
	struct bld_exec_session *s = xcalloc(1, sizeof(*s));
	s->lowers = xcalloc(n + 1, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		s->lowers[i] = xstrdup(lowers[i]);
	s->n = n;
	s->scratch = xstrdup(scratch);
	*out = s;
	return 0;
}

struct out_ud {
	const struct bld_exec_spec *spec;
};

static int linux_output(void *ud, int stream, const char *data, size_t len)
{
	struct out_ud *o = ud;
	o->spec->output(o->spec->ud, stream, data, len);
	return 0;
}

static int linux_run(struct bld_exec_session *s, const struct bld_exec_spec *spec, int *status,
		     struct berr **err)
{
	const char **argv = xcalloc(spec->argc + 1, sizeof(char *));
	for (size_t i = 0; i < spec->argc; i++)
		argv[i] = spec->argv[i];
	const char **env = xcalloc(spec->nenv + 1, sizeof(char *));
	for (size_t i = 0; i < spec->nenv; i++)
		env[i] = spec->env[i];
	struct bld_mount *mounts = xcalloc(spec->nmounts + 1, sizeof(*mounts));
	for (size_t i = 0; i < spec->nmounts; i++) {
		const struct bld_exec_mount *m = &spec->mounts[i];
		mounts[i].type = !strcmp(m->type, "tmpfs")    ? BLD_MOUNT_TMPFS
				 : !strcmp(m->type, "secret") ? BLD_MOUNT_SECRET
							      : BLD_MOUNT_BIND;
		mounts[i].mode = m->mode;
		mounts[i].uid = m->uid;
		mounts[i].gid = m->gid;
		mounts[i].src = m->source;
		mounts[i].target = m->target;
		mounts[i].rw = !m->readonly;
	}
	struct out_ud o = { spec };
	struct bld_sandbox_spec ss = {
		.lowers = (const char *const *)s->lowers,
		.n_lowers = s->n,
		.scratch = s->scratch,
		.argv = argv,
		.env = env,
		.user = spec->user ? spec->user : "",
		.cwd = spec->workdir,
		.net = !strcmp(spec->network, "none")   ? BLD_NET_NONE
		       : !strcmp(spec->network, "host") ? BLD_NET_HOST
							: BLD_NET_DEFAULT,
		.mounts = mounts,
		.n_mounts = spec->nmounts,
		.output = spec->output ? linux_output : NULL,
		.output_ud = &o,
		.cancel_fd = spec->cancel_fd,
		.flags = BLD_SANDBOX_LINES,
	};
	struct bld_sandbox_result res = { 0 };
	int rc = bld_sandbox_run(&ss, &res, err);
	free(argv);
	free(env);
	free(mounts);
	if (rc < 0)
		return -1;
	*status = res.signaled ? 128 + res.signal : res.exit_code;
	s->upper = res.upper ? xstrdup(res.upper) : NULL;
	bld_sandbox_result_release(&res);
	return 0;
}

struct diff_ud {
	struct img_layer *l;
	bool changed;
};

static int diff_cb(void *ud, const struct bld_change *c, struct berr **err)
{
	struct diff_ud *d = ud;
	d->changed = true;
	switch (c->kind) {
	case BLD_CHANGE_ADD:
	case BLD_CHANGE_HARDLINK: {
		/* the layer writer turns a second name of an inode into a link */
		struct img_layer_entry e = { .src = c->src, .dst = c->path };
		return img_layer_add(d->l, &e, err);
	}
	case BLD_CHANGE_WHITEOUT:
		return img_layer_add_whiteout(d->l, c->path, err);
	case BLD_CHANGE_OPAQUE:
		return img_layer_add_opaque(d->l, c->path, err);
	default:
		return 0;
	}
}

static int linux_diff(struct bld_exec_session *s, struct img_layer *out, bool *changed,
		      struct berr **err)
{
	struct diff_ud d = { out, false };
	if (!s->upper)
		return berr_set(err, BERR_INTERNAL, "no command ran in this session");
	int rc = bld_sandbox_diff(s->upper, diff_cb, &d, err);
	*changed = d.changed;
	return rc;
}

static void linux_release(struct bld_exec_session *s)
{
	if (!s)
		return;
	if (s->scratch)
		bld_sandbox_remove_tree(s->scratch, NULL);
	for (size_t i = 0; i < s->n; i++)
		free(s->lowers[i]);
	free(s->lowers);
	free(s->scratch);
	free(s->upper);
	free(s);
}

static const struct bld_executor linux_executor = {
	.name = "linux",
	.unsupported = linux_unsupported,
	.prepare = linux_prepare,
	.run = linux_run,
	.diff = linux_diff,
	.release = linux_release,
};

/* each entry is tried in order by "auto" */
/* Linux first, so that "auto" prefers local namespaces for Linux stages and
 * reaches the engine for stages the host cannot run. */
static const struct bld_executor *const executors[] = { &linux_executor, &bld_engine_executor,
							NULL };

bool bld_executor_name_valid(const char *name)
{
	return !strcmp(name, "auto") || !strcmp(name, "linux") || !strcmp(name, "docker") ||
	       !strcmp(name, "none");
}

static const char *what_runs(const struct img_platform *p)
{
	if (p->os && !strcmp(p->os, "windows"))
		return "a Windows Docker Engine whose build matches the base image's os.version "
		       "(--executor docker with DOCKER_HOST pointing at a Windows host; process "
		       "isolation needs the same build, Hyper-V isolation a newer one)";
	return "the linux executor (namespaces + overlayfs) on a host of the same architecture";
}

/* "auto" and the engine: only for a stage whose OS differs from this
 * host's, and only when an engine is named, so that a build never talks to
 * a daemon nobody asked for. */
static bool auto_engine_ok(const struct img_platform *p, char **why)
{
	struct img_platform host = { 0 };
	img_host_platform(&host);
	bool differs = p->os && host.os && strcmp(p->os, host.os) != 0;
	img_platform_clear(&host);
	if (!differs) {
		*why = xasprintf("--executor auto uses a Docker Engine only for stages whose OS "
				 "differs from this host's (use --executor docker)");
		return false;
	}
	if (!bld_engine_exec_configured()) {
		*why = xasprintf("no Docker Engine is configured (set DOCKER_HOST or --engine URL)");
		return false;
	}
	return true;
}

const struct bld_executor *bld_executor_select(const char *name, const struct img_platform *p,
					       struct berr **err)
{
	_cleanup_free_ char *plat = img_platform_format(p);
	if (!strcmp(name, "none")) {
		berr_set(err, BERR_UNSUPPORTED,
			 "RUN needs an executor but --executor none was given; a %s stage would run "
			 "with %s", plat, what_runs(p));
		return NULL;
	}
	_cleanup_free_ char *last_why = NULL;
	bool is_auto = !strcmp(name, "auto");
	bool windows = p->os && !strcmp(p->os, "windows");
	for (size_t i = 0; executors[i]; i++) {
		const struct bld_executor *x = executors[i];
		if (!is_auto && strcmp(name, x->name))
			continue;
		char *why = NULL;
		if (windows && !x->prepare_image)
			why = xasprintf("the %s executor cannot run Windows stages", x->name);
		else if (!is_auto || x != &bld_engine_executor || auto_engine_ok(p, &why))
			why = x->unsupported(p);
		if (!why)
			return x;
		free(last_why);
		last_why = why;
	}
	berr_set(err, BERR_UNSUPPORTED,
		 "no executor can RUN in a %s stage (executor '%s'%s%s): it needs %s", plat,
		 name, last_why ? ": " : "", last_why ? last_why : "", what_runs(p));
	return NULL;
}
