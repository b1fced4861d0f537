/* The engine executor behind the builder's executor interface (bld_exec.h).
 *
 * The interface hands an executor materialised lower directories and takes
 * the change back through an img_layer writer. Here:
 *   prepare: the lowers become one uncompressed layer each in a private
 *            store under `scratch` (deterministic tar, so the same rootfs
 *            gives the same chain ID and the engine loads it only once);
 *   run:     bld_engine_run (isolation decided by compat for the stage);
 *   diff:    the engine's layer tar is unpacked under `scratch` and its
 *            entries, whiteouts and opaque markers fed to the writer.
 * Windows stages cannot go through this path (a Windows rootfs cannot be
 * materialised on Linux, and unpacking a Windows layer loses its security
 * descriptors): they use prepare_image (the stage's image, loaded into the
 * engine as it is) and take_layer (the engine's layer stored byte for byte,
 * diff_id verified), see docs/engine.md.
 *
 * Engine, TLS and forced isolation come from bld_engine_exec_configure (the
 * CLI's --engine/--isolation), else the environment like the docker CLI. One
 * connection is kept per process. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/barchive.h"
#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_exec.h"
#include "builder/bld_exec.h"
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_layer.h"

static struct {
	char *url;
	enum bld_engine_iso forced;
	struct bld_engine *e;
	struct bld_engine_facts f;
	struct wc_kb *kb;
	pthread_mutex_t lock;
} g = { .lock = PTHREAD_MUTEX_INITIALIZER };

bool bld_engine_exec_configured(void)
{
	pthread_mutex_lock(&g.lock);
	bool yes = g.url && *g.url;
	pthread_mutex_unlock(&g.lock);
	const char *h = getenv("DOCKER_HOST");
	return yes || (h && *h);
}

void bld_engine_exec_configure(const char *url, enum bld_engine_iso forced)
{
	pthread_mutex_lock(&g.lock);
	free(g.url);
	g.url = url ? xstrdup(url) : NULL;
	g.forced = forced;
	if (g.e) {
		bld_engine_free(g.e);
		g.e = NULL;
		bld_engine_facts_clear(&g.f);
	}
	pthread_mutex_unlock(&g.lock);
}

void bld_engine_exec_shutdown(void)
{
	bld_engine_exec_configure(NULL, BLD_ENGINE_ISO_DEFAULT);
	wc_kb_free(g.kb);
	g.kb = NULL;
}

static int engine_get(struct berr **err)
{
	int ret = 0;
	pthread_mutex_lock(&g.lock);
	if (!g.kb && !(g.kb = wc_kb_load(NULL, err)))
		ret = -1;
	if (ret == 0 && !g.e) {
		struct bld_engine_opts o = { .url = g.url, .tls = -1, .tls_verify = -1 };
		if (bld_engine_open(&o, &g.e, err) < 0 || bld_engine_get_facts(g.e, &g.f, err) < 0) {
			bld_engine_free(g.e);
			g.e = NULL;
			bld_engine_facts_clear(&g.f);
			ret = -1;
		}
	}
	pthread_mutex_unlock(&g.lock);
	return ret;
}

static int decide(const struct img_platform *p, struct bld_engine_decision *d, struct berr **err)
{
	if (engine_get(err) < 0)
		return -1;
	if (bld_engine_decide(g.kb, &g.f, p->os, p->os_version, p->architecture, g.forced, d, err) < 0)
		return berr_wrap(err, "engine '%s'", bld_engine_url(g.e));
	return 0;
}

static char *engine_unsupported(const struct img_platform *p)
{
	struct berr *err = NULL;
	struct bld_engine_decision d;
	if (decide(p, &d, &err) < 0) {
		char *why = xstrdup(err->msg);
		berr_free(err);
		return why;
	}
	return NULL;
}

/* The session type of this executor; passed through the interface as the
 * opaque struct bld_exec_session pointer. */
struct eng_session {
	char *scratch;
	struct img_store *store;
	struct img_image *parent;       /* packaged from lowers (owned) */
	const struct img_image *image;  /* prepare_image: the caller's */
	struct img_platform plat;
	struct bld_engine_decision d;
	struct bld_engine_run_result r;
	bool ran;
	char *diffdir;
};

static void sess_free(struct eng_session *s)
{
	if (!s)
		return;
	if (s->r.layer_path)
		unlink(s->r.layer_path);
	bld_engine_run_result_clear(&s->r);
	img_image_free(s->parent);
	img_store_free(s->store);
	img_platform_clear(&s->plat);
	/* the builder removes its scratch tree; ours lives inside it */
	free(s->diffdir);
	free(s->scratch);
	free(s);
}

/* One uncompressed layer from a directory tree into the store. */
static int tree_layer(struct img_store *st, const char *dir, bool windows,
		      struct img_descriptor *out, struct img_digest *diff_id, struct berr **err)
{
	struct img_compress_opts co = { .comp = IMG_COMP_NONE };
	struct img_layer_blob *lb = img_layer_blob_begin(st, &co, err);
	if (!lb)
		return -1;
	struct bsink sink = img_layer_blob_sink(lb);
	struct img_layer_opts lo = { .flags = IMG_LAYER_DEVICES | IMG_LAYER_XATTRS |
					      (windows ? IMG_LAYER_WINDOWS : 0) };
	struct img_layer *l = img_layer_new(&lo, &sink);
	struct img_layer_info info;
	int ret = img_layer_add_tree(l, dir, "/", err);
	if (ret == 0)
		ret = img_layer_finish(l, NULL, err);
	img_layer_free(l);
	if (ret == 0)
		ret = img_layer_blob_commit(lb, &info, err);
	img_layer_blob_free(lb);
	if (ret < 0)
		return -1;
	memset(out, 0, sizeof(*out));
	out->media_type = xstrdup(info.media_type);
	out->digest = info.r.digest;
	out->size = (int64_t)info.r.size;
	*diff_id = info.r.diff_id;
	return 0;
}

static int package_parent(struct eng_session *s, const char *const *lowers, size_t n,
			  const struct img_platform *p, struct berr **err)
{
	if (n == 0)
		return berr_set(err, BERR_UNSUPPORTED, "RUN on an empty (FROM scratch) stage cannot run "
				"on an engine: the container would have no files to run");
	if (bfile_mkdir_p(s->scratch, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *sd = xasprintf("%s/engine-parent", s->scratch);
	if (img_store_open(sd, IMG_STORE_CREATE, &s->store, err) < 0)
		return -1;
	struct img_descriptor *layers = xcalloc(n, sizeof(*layers));
	_cleanup_img_config_ struct img_config *cfg = img_config_new();
	img_platform_copy(&cfg->platform, p);
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		struct img_digest diff;
		ret = tree_layer(s->store, lowers[i], p->os && !strcmp(p->os, "windows"), &layers[i],
				 &diff, err);
		if (ret == 0)
			img_config_add_diff_id(cfg, &diff);
	}
	struct img_descriptor desc = { 0 };
	if (ret == 0)
		ret = img_image_write(s->store, cfg, layers, n, false, NULL, &desc, err);
	for (size_t i = 0; i < n; i++)
		img_descriptor_clear(&layers[i]);
	free(layers);
	if (ret == 0)
		ret = img_image_load(s->store, &desc, NULL, &s->parent, err);
	img_descriptor_clear(&desc);
	if (ret < 0)
		return berr_wrap(err, "engine executor: package the stage's rootfs");
	return 0;
}

static int engine_prepare(const char *const *lowers, size_t n, const char *scratch,
			  const struct img_platform *p, struct bld_exec_session **out,
			  struct berr **err)
{
	struct eng_session *s = xcalloc(1, sizeof(*s));
	s->scratch = xstrdup(scratch);
	img_platform_copy(&s->plat, p);
	if (decide(p, &s->d, err) < 0 || package_parent(s, lowers, n, p, err) < 0) {
		sess_free(s);
		return -1;
	}
	*out = (struct bld_exec_session *)s;
	return 0;
}

/* Windows stages (and any caller that has the chain): the stage's image is
 * the parent, loaded into the engine as it is. */
static int engine_prepare_image(const struct img_image *img, const char *scratch,
				const struct img_platform *p, struct bld_exec_session **out,
				struct berr **err)
{
	struct eng_session *s = xcalloc(1, sizeof(*s));
	s->scratch = xstrdup(scratch);
	s->image = img;
	img_platform_copy(&s->plat, p);
	if (decide(p, &s->d, err) < 0 || bfile_mkdir_p(s->scratch, 0700, err) < 0) {
		sess_free(s);
		return -1;
	}
	*out = (struct bld_exec_session *)s;
	return 0;
}

static int engine_take_layer(struct bld_exec_session *bs, struct img_store *store,
			     const struct img_compress_opts *co, struct img_descriptor *d,
			     struct img_digest *diff_id, bool *changed, struct berr **err)
{
	struct eng_session *s = (struct eng_session *)bs;
	*changed = false;
	if (!s->ran)
		return berr_set(err, BERR_INTERNAL, "no command ran in this session");
	if (s->r.empty_layer)
		return 0;
	struct img_layer_info info;
	if (bld_engine_store_layer(s->r.layer_path, store, co, &s->r.diff_id, &info, err) < 0)
		return berr_wrap(err, "store the engine's layer");
	memset(d, 0, sizeof(*d));
	d->media_type = xstrdup(info.media_type);
	d->digest = info.r.digest;
	d->size = (int64_t)info.r.size;
	*diff_id = info.r.diff_id;
	*changed = true;
	return 0;
}

/* Output in whole lines per stream, as the interface promises. */
struct line_out {
	const struct bld_exec_spec *spec;
	struct bbuf buf[3];
};

static int line_fn(void *ctx, int stream, const void *p, size_t n, struct berr **err)
{
	struct line_out *lo = ctx;
	if (!lo->spec->output)
		return 0;
	struct bbuf *b = &lo->buf[stream == 1 ? 1 : 2];
	const char *c = p;
	while (n) {
		const char *nl = memchr(c, '\n', n);
		size_t take = nl ? (size_t)(nl - c) + 1 : n;
		bbuf_add(b, c, take, NULL);
		if (nl) {
			lo->spec->output(lo->spec->ud, stream == 1 ? 1 : 2, b->data, b->len);
			bbuf_reset(b);
		}
		c += take;
		n -= take;
	}
	return 0;
}

struct cancel_watch {
	int cancel_fd, stop_rd;
	struct bld_engine *e;
};

static void *cancel_thread(void *ud)
{
	struct cancel_watch *w = ud;
	struct pollfd pf[2] = { { .fd = w->cancel_fd, .events = POLLIN }, { .fd = w->stop_rd, .events = POLLIN } };
	for (;;) {
		int r = poll(pf, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || (pf[1].revents & (POLLIN | POLLHUP)))
			return NULL;
		if (pf[0].revents & (POLLIN | POLLHUP | POLLERR)) {
			bld_engine_cancel(w->e);
			return NULL;
		}
	}
}

static enum bld_engine_mount_type mount_type(const char *t)
{
	if (!strcmp(t, "cache"))
		return BLD_ENGINE_MOUNT_CACHE;
	if (!strcmp(t, "tmpfs"))
		return BLD_ENGINE_MOUNT_TMPFS;
	if (!strcmp(t, "secret"))
		return BLD_ENGINE_MOUNT_SECRET;
	if (!strcmp(t, "ssh"))
		return BLD_ENGINE_MOUNT_SSH;
	return BLD_ENGINE_MOUNT_BIND;
}

static int engine_run_step(struct bld_exec_session *bs, const struct bld_exec_spec *spec,
			   int *status, struct berr **err)
{
	struct eng_session *s = (struct eng_session *)bs;
	if (engine_get(err) < 0)
		return -1;
	struct bld_engine_mount *m = xcalloc(spec->nmounts + 1, sizeof(*m));
	for (size_t i = 0; i < spec->nmounts; i++) {
		m[i].type = mount_type(spec->mounts[i].type);
		m[i].target = spec->mounts[i].target;
		/* a cache's host directory names it; the engine keeps a volume */
		m[i].source = spec->mounts[i].source;
		m[i].readonly = spec->mounts[i].readonly;
	}
	struct line_out lo = { .spec = spec, .buf = { BBUF_INIT, BBUF_INIT, BBUF_INIT } };
	struct bld_engine_run_spec rs = {
		.parent = s->image ? s->image : s->parent,
		.argv = (const char *const *)spec->argv,
		.argc = spec->argc,
		.env = (const char *const *)spec->env,
		.n_env = spec->nenv,
		.user = spec->user,
		.workdir = spec->workdir,
		.network = !spec->network || !strcmp(spec->network, "default") ? BLD_ENGINE_NET_DEFAULT
			   : !strcmp(spec->network, "none") ? BLD_ENGINE_NET_NONE : BLD_ENGINE_NET_HOST,
		.mounts = m,
		.n_mounts = spec->nmounts,
		.decision = &s->d,
		.output = line_fn,
		.output_ctx = &lo,
		.tmpdir = s->scratch,
		.keep_chain = true,
		.label = "build",
	};
	int pfd[2] = { -1, -1 };
	pthread_t t;
	bool watching = false;
	struct cancel_watch w = { .cancel_fd = spec->cancel_fd, .e = g.e };
	if (spec->cancel_fd >= 0 && pipe2(pfd, O_CLOEXEC) == 0) {
		w.stop_rd = pfd[0];
		watching = pthread_create(&t, NULL, cancel_thread, &w) == 0;
	}
	int ret = bld_engine_run(g.e, &g.f, &rs, &s->r, err);
	if (watching) {
		close(pfd[1]);
		pthread_join(t, NULL);
	}
	if (pfd[0] >= 0)
		close(pfd[0]);
	if (!watching && pfd[1] >= 0)
		close(pfd[1]);
	for (int i = 1; i < 3; i++) {
		if (lo.buf[i].len && spec->output)
			spec->output(spec->ud, i, lo.buf[i].data, lo.buf[i].len);
		bbuf_release(&lo.buf[i]);
	}
	free(m);
	if (ret < 0 && s->r.exited && s->r.exit_code != 0) {
		/* the command ran and failed: the caller words that error */
		berr_clear(err);
		*status = s->r.exit_code;
		return 0;
	}
	if (ret < 0)
		return -1;
	*status = 0;
	s->ran = true;
	return 0;
}

static bool secure_name(const char *n)
{
	if (n[0] == '/')
		return false;
	for (const char *p = n; *p;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return false;
		if (!e)
			break;
		p = e + 1;
	}
	return true;
}

/* Unpack the engine's layer and hand its entries to the writer. */
static int engine_diff(struct bld_exec_session *bs, struct img_layer *out, bool *changed,
		       struct berr **err)
{
	struct eng_session *s = (struct eng_session *)bs;
	*changed = false;
	if (!s->ran)
		return berr_set(err, BERR_INTERNAL, "no command ran in this session");
	if (s->r.empty_layer)
		return 0;
	if (s->plat.os && !strcmp(s->plat.os, "windows"))
		return berr_set(err, BERR_UNSUPPORTED, "a Windows layer cannot be re-encoded through the "
				"layer writer without losing its security descriptors; take it verbatim "
				"with bld_engine_exec_layer_path");
	_cleanup_free_ char *dd = xasprintf("%s/engine-diff", s->scratch);
	if (bfile_mkdir_p(dd, 0755, err) < 0)
		return -1;
	/* entry names are checked (relative, no ".."); the unpack root is
	 * absolute and symlink-free so SECURE_SYMLINKS only judges the entries */
	s->diffdir = realpath(dd, NULL);
	if (!s->diffdir)
		return berr_set_errno(err, BERR_IO, errno, "resolve '%s'", dd);
	struct archive *ar = archive_read_new();
	struct archive *dw = archive_write_disk_new();
	archive_read_support_format_tar(ar);
	archive_write_disk_set_options(dw, ARCHIVE_EXTRACT_OWNER | ARCHIVE_EXTRACT_PERM |
				       ARCHIVE_EXTRACT_TIME | ARCHIVE_EXTRACT_XATTR |
				       ARCHIVE_EXTRACT_SECURE_NODOTDOT | ARCHIVE_EXTRACT_SECURE_SYMLINKS |
				       ARCHIVE_EXTRACT_UNLINK);
	int ret = 0;
	if (archive_read_open_filename(ar, s->r.layer_path, 64 * 1024) != ARCHIVE_OK)
		ret = berr_set(err, BERR_IO, "open '%s': %s", s->r.layer_path, archive_error_string(ar));
	struct archive_entry *ent;
	char *(*added)[2] = NULL;
	size_t nadded = 0, cap = 0;
	int r = ARCHIVE_OK;
	while (ret == 0 && (r = archive_read_next_header(ar, &ent)) == ARCHIVE_OK) {
		const char *raw = archive_entry_pathname(ent);
		if (!raw)
			continue;
		while (raw[0] == '.' && raw[1] == '/')
			raw += 2;
		_cleanup_free_ char *name = xstrdup(raw);
		size_t len = strlen(name);
		while (len && name[len - 1] == '/')
			name[--len] = '\0';
		if (!len)
			continue;
		if (!secure_name(name)) {
			ret = berr_set(err, BERR_SECURITY, "engine layer: unsafe entry '%s'", raw);
			break;
		}
		const char *base = strrchr(name, '/');
		base = base ? base + 1 : name;
		_cleanup_free_ char *dst = xasprintf("/%s", name);
		*changed = true;
		if (strncmp(base, ".wh.", 4) == 0) {
			_cleanup_free_ char *dir = xstrndup(name, (size_t)(base - name));
			if (strcmp(base, ".wh..wh..opq") == 0) {
				_cleanup_free_ char *d = xasprintf("/%s", dir);
				ret = img_layer_add_opaque(out, d, err);
			} else {
				_cleanup_free_ char *hidden = xasprintf("/%s%s", dir, base + 4);
				ret = img_layer_add_whiteout(out, hidden, err);
			}
			continue;
		}
		_cleanup_free_ char *disk = xasprintf("%s/%s", s->diffdir, name);
		archive_entry_set_pathname(ent, disk);
		const char *hl = archive_entry_hardlink(ent);
		if (hl) {
			while (hl[0] == '.' && hl[1] == '/')
				hl += 2;
			_cleanup_free_ char *hdisk = xasprintf("%s/%s", s->diffdir, hl);
			archive_entry_set_hardlink(ent, hdisk);
		}
		if (archive_write_header(dw, ent) != ARCHIVE_OK) {
			ret = berr_set(err, BERR_IO, "unpack engine layer entry '%s': %s", name,
				       archive_error_string(dw));
			break;
		}
		if (archive_entry_size(ent) > 0) {
			const void *buf;
			size_t sz;
			la_int64_t off;
			int rr;
			while ((rr = archive_read_data_block(ar, &buf, &sz, &off)) == ARCHIVE_OK)
				if (archive_write_data_block(dw, buf, sz, off) != ARCHIVE_OK) {
					rr = ARCHIVE_FATAL;
					break;
				}
			if (rr != ARCHIVE_EOF) {
				ret = berr_set(err, BERR_IO, "unpack engine layer entry '%s': %s", name,
					       archive_error_string(dw));
				break;
			}
		}
		if (archive_write_finish_entry(dw) != ARCHIVE_OK) {
			ret = berr_set(err, BERR_IO, "unpack engine layer entry '%s': %s", name,
				       archive_error_string(dw));
			break;
		}
		/* added after the unpack: a file's link count is final only then */
		XGROW(added, nadded + 1, cap);
		added[nadded][0] = steal_pointer(&disk);
		added[nadded][1] = steal_pointer(&dst);
		nadded++;
	}
	if (ret == 0 && r != ARCHIVE_EOF)
		ret = berr_set(err, BERR_INPUT, "engine layer '%s': %s", s->r.layer_path,
			       archive_error_string(ar));
	archive_read_free(ar);
	archive_write_free(dw);
	for (size_t i = 0; i < nadded; i++) {
		struct img_layer_entry le = { .src = added[i][0], .dst = added[i][1] };
		if (ret == 0)
			ret = img_layer_add(out, &le, err);
		free(added[i][0]);
		free(added[i][1]);
	}
	free(added);
	return ret;
}

static void engine_release(struct bld_exec_session *bs)
{
	sess_free((struct eng_session *)bs);
}

const char *bld_engine_exec_layer_path(struct bld_exec_session *bs, struct img_digest *diff_id)
{
	struct eng_session *s = (struct eng_session *)bs;
	if (!s->ran || s->r.empty_layer)
		return NULL;
	if (diff_id)
		*diff_id = s->r.diff_id;
	return s->r.layer_path;
}

const char *bld_engine_exec_history(struct bld_exec_session *bs)
{
	struct eng_session *s = (struct eng_session *)bs;
	return s->r.comment;
}

const struct bld_executor bld_engine_executor = {
	.name = "docker",
	.unsupported = engine_unsupported,
	.prepare = engine_prepare,
	.run = engine_run_step,
	.diff = engine_diff,
	.release = engine_release,
	.prepare_image = engine_prepare_image,
	.take_layer = engine_take_layer,
};
