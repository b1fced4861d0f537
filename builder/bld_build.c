/* The build's step loop: stages in dependency order, image config evolution,
 * per-step cache, layers, progress and the final image (bld_build.h). */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/bld_engine_exec.h"
#include "builder/bld_exec.h"
#include "builder/bld_int.h"
#include "builder/bld_runmount.h"
#include "image/img_archive.h"
#include "image/img_cacherec.h"
#include "image/img_compress.h"
#include "image/img_layer.h"
#include "image/img_registry.h"
#include "parser/df_ref.h"
#include "common/common.h"

#define BLD_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
/* Largest Dockerfile read (the parser has its own cap too) */
#define BLD_DOCKERFILE_MAX (16u << 20)
/* Largest .dockerignore read */
#define BLD_IGNORE_MAX (4u << 20)
/* bumped when step semantics change, so old cache records stop matching */
#define BLD_CACHE_VERSION "berth-cache-2"

/* ------------------------------------------------------------------ */
/* progress */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			fprintf(f, "\\%c", ch);
		else if (ch < 0x20)
			fprintf(f, "\\u%04x", ch);
		else
			fputc(ch, f);
	}
	fputc('"', f);
}

struct step_view {
	unsigned id;
	double t0;
};

static void prog_start(struct bld *b, struct step_view *v, const char *stage, size_t i,
		       size_t n, const char *text)
{
	v->id = ++b->step_id;
	v->t0 = now_s();
	FILE *f = b->o->log;
	if (!f || b->o->progress == BLD_PROGRESS_QUIET)
		return;
	/* first line of the instruction only */
	size_t len = strcspn(text, "\n");
	if (b->o->progress == BLD_PROGRESS_JSON) {
		_cleanup_free_ char *t = xstrndup(text, len);
		fprintf(f, "{\"id\":%u,\"stage\":", v->id);
		json_str(f, stage);
		fprintf(f, ",\"step\":%zu,\"steps\":%zu,\"instruction\":", i, n);
		json_str(f, t);
		fprintf(f, ",\"status\":\"started\"}\n");
	} else {
		fprintf(f, "#%u [%s%s%zu/%zu] %.*s\n", v->id, stage, *stage ? " " : "", i, n,
			(int)len, text);
	}
	fflush(f);
}

static void prog_end(struct bld *b, const struct step_view *v, bool cached)
{
	FILE *f = b->o->log;
	if (!f || b->o->progress == BLD_PROGRESS_QUIET)
		return;
	double d = now_s() - v->t0;
	if (b->o->progress == BLD_PROGRESS_JSON)
		fprintf(f, "{\"id\":%u,\"status\":\"%s\",\"duration\":%.3f}\n", v->id,
			cached ? "cached" : "done", d);
	else if (cached)
		fprintf(f, "#%u CACHED\n", v->id);
	else
		fprintf(f, "#%u DONE %.1fs\n", v->id, d);
	fflush(f);
}

static void prog_note(struct bld *b, const char *fmt, const char *a)
{
	FILE *f = b->o->log;
	if (!f || b->o->progress == BLD_PROGRESS_QUIET)
		return;
	if (b->o->progress == BLD_PROGRESS_JSON) {
		_cleanup_free_ char *m = xasprintf(fmt, a);
		fprintf(f, "{\"status\":\"info\",\"message\":");
		json_str(f, m);
		fprintf(f, "}\n");
	} else {
		fprintf(f, "#%u ", ++b->step_id);
		fprintf(f, fmt, a);
		fputc('\n', f);
	}
	fflush(f);
}

/* ------------------------------------------------------------------ */
/* small helpers */

static void key_next(struct img_digest *key, const char *text, const struct img_digest *inputs)
{
	struct img_hasher *h = img_hasher_new();
	img_hasher_update(h, key->s, strlen(key->s));
	img_hasher_update(h, "\n", 1);
	img_hasher_update(h, text, strlen(text));
	if (inputs) {
		img_hasher_update(h, "\n", 1);
		img_hasher_update(h, inputs->s, strlen(inputs->s));
	}
	img_hasher_final(h, key);
	img_hasher_free(h);
}

static int cfg_copy(const struct img_config *src, struct img_config **out, struct berr **err)
{
	_cleanup_bbuf_ struct bbuf j = BBUF_INIT;
	if (img_config_to_json(src, &j, err) < 0)
		return -1;
	return img_config_parse(j.data, j.len, "config", out, err);
}

/* History times as BuildKit gives them: an entry with a layer carries the
 * time that layer was made (from the cache record on a hit), an entry
 * without one gets its neighbours' time when the image is finished
 * (history_fill_times). So a rebuild where every step hits gives the same
 * config, manifest and image ID, as docker build does. */
static void add_history(struct bld *b, struct bld_stage *s, const char *created_by, bool empty)
{
	char ts[32];
	img_time_format(empty ? b->now : b->step_time, ts, sizeof(ts));
	struct img_history h = { .created = empty && !b->o->has_epoch ? NULL : ts,
				 .created_by = (char *)created_by,
				 .comment = (char *)"buildkit.dockerfile.v0",
				 .empty_layer = empty };
	img_config_add_history(s->cfg, &h);
}

/* Entries without a time take the closest earlier entry's time, leading
 * ones the first time after them, and with no time at all the build's;
 * the image's `created` is the last entry's time. */
static void history_fill_times(struct bld *b, struct img_config *cfg)
{
	char now[32];
	img_time_format(b->now, now, sizeof(now));
	const char *prev = NULL;
	for (size_t i = 0; i < cfg->n_history && !prev; i++)
		prev = cfg->history[i].created;
	if (!prev)
		prev = now;
	for (size_t i = 0; i < cfg->n_history; i++) {
		struct img_history *h = &cfg->history[i];
		if (h->created)
			prev = h->created;
		else
			h->created = xstrdup(prev);
	}
	free(cfg->created);
	cfg->created = xstrdup(cfg->n_history ? cfg->history[cfg->n_history - 1].created : now);
}

/* Environment for expansion: ARGs in scope, then ENV (ENV wins). */
static struct df_env *step_env(const struct bld_stage *s)
{
	struct df_env *e = df_env_new(s->windows);
	for (size_t i = 0; i < df_env_count(s->args); i++)
		df_env_set(e, df_env_key(s->args, i), df_env_value(s->args, i));
	const struct img_strlist *env = &s->cfg->config.env;
	for (size_t i = 0; i < env->n; i++)
		df_env_set_kv(e, env->v[i]);
	return e;
}

static void env_set(struct img_strlist *env, const char *k, const char *v, bool windows)
{
	size_t kl = strlen(k);
	char *kv = xasprintf("%s=%s", k, v);
	for (size_t i = 0; i < env->n; i++) {
		const char *eq = strchr(env->v[i], '=');
		size_t l = eq ? (size_t)(eq - env->v[i]) : strlen(env->v[i]);
		if (l == kl && (windows ? !strncasecmp(env->v[i], k, kl) : !strncmp(env->v[i], k, kl))) {
			free(env->v[i]);
			env->v[i] = kv;
			return;
		}
	}
	img_strlist_add(env, kv);
	free(kv);
	env->set = true;
}

static void strlist_set(struct img_strlist *l, char *const *v, size_t n)
{
	img_strlist_clear(l);
	for (size_t i = 0; i < n; i++)
		img_strlist_add(l, v[i]);
	l->set = true;
}

/* Go's %q of a []string: ["a" "b"] */
static void go_quote_list(struct bbuf *o, char *const *v, size_t n)
{
	bbuf_addch(o, '[', NULL);
	for (size_t i = 0; i < n; i++) {
		if (i)
			bbuf_addch(o, ' ', NULL);
		bbuf_addch(o, '"', NULL);
		for (const char *p = v[i]; *p; p++) {
			unsigned char ch = (unsigned char)*p;
			if (ch == '"' || ch == '\\')
				bbuf_addf(o, NULL, "\\%c", ch);
			else if (ch == '\n')
				bbuf_addstr(o, "\\n", NULL);
			else if (ch == '\t')
				bbuf_addstr(o, "\\t", NULL);
			else if (ch < 0x20)
				bbuf_addf(o, NULL, "\\x%02x", ch);
			else
				bbuf_addch(o, (char)ch, NULL);
		}
		bbuf_addch(o, '"', NULL);
	}
	bbuf_addch(o, ']', NULL);
}

/* Go's %v of a []string: [a b] */
static void go_plain_list(struct bbuf *o, char *const *v, size_t n)
{
	bbuf_addch(o, '[', NULL);
	for (size_t i = 0; i < n; i++)
		bbuf_addf(o, NULL, "%s%s", i ? " " : "", v[i]);
	bbuf_addch(o, ']', NULL);
}

/* Go's time.Duration.String for whole milliseconds and above */
static void go_duration(struct bbuf *o, int64_t ns)
{
	if (ns == 0) {
		bbuf_addstr(o, "0s", NULL);
		return;
	}
	if (ns < 1000000000) {
		bbuf_addf(o, NULL, "%gms", (double)ns / 1e6);
		return;
	}
	int64_t h = ns / 3600000000000LL, m = ns / 60000000000LL % 60;
	double sec = (double)(ns % 60000000000LL) / 1e9;
	if (h)
		bbuf_addf(o, NULL, "%lldh", (long long)h);
	if (h || m)
		bbuf_addf(o, NULL, "%lldm", (long long)m);
	bbuf_addf(o, NULL, "%gs", sec);
}

/* ------------------------------------------------------------------ */
/* cache records: $BERTH_ROOT/cache/keys/<hex> (image/img_cacherec.h) */

static char *cache_path(const struct bld *b, const struct img_digest *key)
{
	return xasprintf("%s/keys/%s", b->cache_dir, img_digest_hex(key));
}

/* A hit makes the record's mtime its last use: `prune --filter until=D`
 * removes the records no build used for D (best effort). */
static void touch_record(const char *p)
{
	(void)utimensat(AT_FDCWD, p, NULL, 0);
}

static int cache_get(struct bld *b, const struct img_digest *key, bool *hit, bool *empty,
		     struct img_descriptor *d, struct img_digest *diff_id, int64_t *made)
{
	*hit = false;
	*made = b->now;
	if (b->o->no_cache)
		return 0;
	_cleanup_free_ char *p = cache_path(b, key);
	_cleanup_bbuf_ struct bbuf text = BBUF_INIT;
	struct img_cache_rec r;
	/* a record that cannot be read or parsed, or whose blob is gone, is
	 * a miss (fsck reports it) */
	if (bfile_read_all(p, IMG_CACHE_REC_MAX, &text, NULL) < 0 ||
	    img_cache_rec_parse(bbuf_str(&text), &r, NULL) < 0)
		return 0;
	if (!r.empty && !img_store_has_blob(b->cs, &r.d.digest)) {
		img_cache_rec_clear(&r);
		return 0;
	}
	*hit = true;
	*empty = r.empty;
	if (!r.empty) {
		memset(d, 0, sizeof(*d));
		d->media_type = steal_pointer(&r.d.media_type);
		d->digest = r.d.digest;
		d->size = r.d.size;
		*diff_id = r.diff_id;
		if (r.made >= 0)
			*made = r.made;
	}
	img_cache_rec_clear(&r);
	touch_record(p);
	return 0;
}

static void cache_put(struct bld *b, const struct img_digest *key, bool empty,
		      const struct img_descriptor *d, const struct img_digest *diff_id)
{
	_cleanup_free_ char *dir = xasprintf("%s/keys", b->cache_dir);
	if (bfile_mkdir_p(dir, 0700, NULL) < 0)
		return;
	_cleanup_free_ char *p = cache_path(b, key);
	struct img_cache_rec r = { .empty = empty, .made = b->now };
	if (!empty) {
		r.d = *d;
		r.diff_id = *diff_id;
	}
	_cleanup_free_ char *text = img_cache_rec_format(&r);
	/* the cache is an optimisation: a failed write only costs a rebuild */
	struct berr *e = NULL;
	bfile_write_atomic(p, text, strlen(text), 0644, &e);
	berr_free(e);
}

static void stage_add_layer(struct bld_stage *s, const struct img_descriptor *d,
			    const struct img_digest *diff_id)
{
	s->layers = xreallocarray(s->layers, s->nlayers + 1, sizeof(*s->layers));
	memset(&s->layers[s->nlayers], 0, sizeof(s->layers[0]));
	img_descriptor_copy(&s->layers[s->nlayers], d);
	s->nlayers++;
	img_config_add_diff_id(s->cfg, diff_id);
}

/* ------------------------------------------------------------------ */
/* layer steps: the callback fills a layer writer; the result is cached */

typedef int (*fill_fn)(struct bld *b, struct bld_stage *s, void *ud, struct img_layer *l,
		       struct berr **err);

/* Byte progress for large layers on a terminal: a counting sink in front
 * of the compressor, redrawing one line every BLD_PROGRESS_STEP bytes. */
#define BLD_PROGRESS_MIN (32ULL << 20)
#define BLD_PROGRESS_STEP (8ULL << 20)
#define BLD_PROGRESS_WIDTH 30

struct count_sink {
	struct bsink down;
	struct bld *b;
	uint64_t n, next, total;
	double t0;
};

static int count_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct count_sink *c = ctx;
	c->n += n;
	if (c->n >= c->next) {
		c->next = c->n + BLD_PROGRESS_STEP;
		uint64_t done = c->n < c->total ? c->n : c->total;
		int fill = (int)(done * BLD_PROGRESS_WIDTH / c->total);
		fprintf(c->b->o->log, "\r#%u [%.*s%*s] %6.1f / %.1f MiB  %.1fs", c->b->step_id, fill,
			"==============================", BLD_PROGRESS_WIDTH - fill, "",
			(double)done / 1048576.0, (double)c->total / 1048576.0, now_s() - c->t0);
		fflush(c->b->o->log);
	}
	return bsink_write(&c->down, p, n, err);
}

static int write_layer(struct bld *b, struct bld_stage *s, fill_fn fill, void *ud,
		       struct img_descriptor *d, struct img_digest *diff_id, struct berr **err)
{
	struct img_compress_opts co = { .comp = b->o->comp };
	struct img_layer_blob *lb = img_layer_blob_begin(b->cs, &co, err);
	if (!lb)
		return -1;
	struct bsink sk = img_layer_blob_sink(lb);
	struct count_sink cnt = { sk, b, 0, 0, b->layer_total, now_s() };
	bool bar = b->o->tty && b->o->log && b->o->progress == BLD_PROGRESS_PLAIN &&
		   b->layer_total >= BLD_PROGRESS_MIN;
	if (bar)
		sk = (struct bsink){ count_write, &cnt };
	struct img_layer_opts lo = { .flags = s->windows ? IMG_LAYER_WINDOWS : IMG_LAYER_PARENTS,
				     .clamp_mtime = b->o->has_epoch,
				     .epoch = b->o->epoch,
				     .parent_mtime = b->now };
	struct img_layer *l = img_layer_new(&lo, &sk);
	/* fill returns 1 when the step changed nothing: no layer (BuildKit
	 * records such a step as an empty layer) */
	int rc = fill(b, s, ud, l, err);
	if (rc == 0)
		rc = img_layer_finish(l, NULL, err);
	img_layer_free(l);
	if (bar && cnt.n) {
		fprintf(b->o->log, "\r\033[K");
		fflush(b->o->log);
	}
	struct img_layer_info info;
	if (rc == 0)
		rc = img_layer_blob_commit(lb, &info, err);
	img_layer_blob_free(lb);
	if (rc != 0)
		return rc;
	memset(d, 0, sizeof(*d));
	d->media_type = xstrdup(info.media_type);
	d->digest = info.r.digest;
	d->size = (int64_t)info.r.size;
	*diff_id = info.r.diff_id;
	if (b->res)
		b->res->layers_written++;
	return 0;
}

/* A layer step whose layer is made elsewhere and stored as it is (a
 * Windows RUN on an engine): stores the blob in b->cs, fills d and diff_id;
 * returns 1 when the step changed nothing. */
typedef int (*raw_fn)(struct bld *b, struct bld_stage *s, void *ud, struct img_descriptor *d,
		      struct img_digest *diff_id, struct berr **err);

/* Run a layer step through the cache. `empty_ok`: the fill may decide no
 * layer is needed (*want_layer false). Returns 1 on a cache hit. With `raw`,
 * the layer comes from raw instead of a layer writer filled by `fill`. */
static int layer_step_any(struct bld *b, struct bld_stage *s, const char *key_text,
			  const struct img_digest *inputs, fill_fn fill, raw_fn raw, void *ud,
			  bool want_layer, bool *made_layer, struct berr **err)
{
	char extra[96];
	snprintf(extra, sizeof(extra), "\ncomp=%s epoch=%lld%s", img_compression_name(b->o->comp),
		 b->o->has_epoch ? (long long)b->o->epoch : -1LL, s->lazy ? " lazy" : "");
	_cleanup_free_ char *kt = xasprintf("%s%s", key_text, extra);
	key_next(&s->key, kt, inputs);
	bool hit = false, empty = false;
	struct img_descriptor d = { 0 };
	struct img_digest diff_id;
	cache_get(b, &s->key, &hit, &empty, &d, &diff_id, &b->step_time);
	if (hit) {
		if (!empty)
			stage_add_layer(s, &d, &diff_id);
		*made_layer = !empty;
		img_descriptor_clear(&d);
		if (b->res)
			b->res->cached++;
		return 1;
	}
	if (!want_layer) {
		cache_put(b, &s->key, true, NULL, NULL);
		*made_layer = false;
		return 0;
	}
	int w = raw ? raw(b, s, ud, &d, &diff_id, err) : write_layer(b, s, fill, ud, &d, &diff_id, err);
	if (w < 0)
		return -1;
	if (raw && w == 0 && b->res)
		b->res->layers_written++;
	if (w == 1) {
		cache_put(b, &s->key, true, NULL, NULL);
		*made_layer = false;
		return 0;
	}
	cache_put(b, &s->key, false, &d, &diff_id);
	stage_add_layer(s, &d, &diff_id);
	img_descriptor_clear(&d);
	*made_layer = true;
	return 0;
}

static int layer_step(struct bld *b, struct bld_stage *s, const char *key_text,
		      const struct img_digest *inputs, fill_fn fill, void *ud, bool want_layer,
		      bool *made_layer, struct berr **err)
{
	return layer_step_any(b, s, key_text, inputs, fill, NULL, ud, want_layer, made_layer, err);
}

/* ------------------------------------------------------------------ */
/* images and stages as sources */

static bool named_match(const char *name, const char *ref)
{
	if (!strcmp(name, ref))
		return true;
	struct df_ref *a = NULL, *c = NULL;
	bool eq = false;
	if (df_ref_parse_docker(name, &a, NULL) == 0 && df_ref_parse_docker(ref, &c, NULL) == 0) {
		_cleanup_free_ char *x = df_ref_string(a), *y = df_ref_string(c);
		eq = !strcmp(x, y);
	}
	df_ref_free(a);
	df_ref_free(c);
	return eq;
}

static const struct bld_named *find_named(const struct bld *b, const char *ref)
{
	for (size_t i = 0; i < b->nnamed; i++)
		if (named_match(b->named[i].name, ref))
			return &b->named[i];
	return NULL;
}

/* Open an image by reference: a named context, else berth's local store. */
static int open_image(struct bld *b, const char *ref, const struct img_platform *want,
		      struct img_image **out, struct berr **err)
{
	const struct bld_named *nc = find_named(b, ref);
	if (nc && nc->dir)
		return berr_set(err, BERR_INPUT,
				"named context '%s' is a directory; FROM needs an image "
				"(oci-layout:// or docker-image://)", nc->name);
	if (nc && !strncmp(nc->src, "oci-layout://", 13)) {
		_cleanup_free_ char *spec = xasprintf("oci:%s", nc->src + 13);
		/* oci-layout://DIR@sha256:... selects by digest */
		char *at = strchr(spec, '@');
		struct img_source src = { 0 };
		if (at) {
			*at = '\0';
			src.kind = IMG_SRC_OCI_DIR;
			src.path = xstrdup(spec + 4);
			src.ref = xstrdup(at + 1);
		} else if (img_source_parse(spec, &src, err) < 0) {
			return berr_wrap(err, "--build-context %s", nc->name);
		}
		int rc = img_image_open(&src, want, NULL, out, err);
		img_source_clear(&src);
		return rc < 0 ? berr_wrap(err, "--build-context %s", nc->name) : 0;
	}
	const char *r = ref;
	if (nc && !strncmp(nc->src, "docker-image://", 15))
		r = nc->src + 15;
	struct df_ref *pr = NULL;
	if (df_ref_parse_docker(r, &pr, err) < 0)
		return berr_wrap(err, "invalid image reference '%s'", r);
	df_ref_free(pr);
	struct img_descriptor d = { 0 };
	struct berr *e = NULL;
	if (img_store_tag_resolve(b->ls, r, &d, &e) < 0) {
		int code = e->code;
		berr_free(e);
		if (code == BERR_NOTFOUND)
			return bld_open_remote(b, r, want, out, err);
		return berr_set(err, code, "image '%s': cannot read the local store", r);
	}
	int rc = bld_open_image_local(b, &d, want, out, err);
	img_descriptor_clear(&d);
	return rc;
}

/* Copy an image's layers into the build store and make a stage of it. */
static int stage_from_image(struct bld *b, struct bld_stage *s, const struct img_image *img,
			    struct berr **err)
{
	if (img_config_parse(img->config_json, img->config_len, "base image config", &s->cfg,
			     err) < 0)
		return -1;
	for (size_t i = 0; i < img->manifest->n_layers; i++) {
		const struct img_descriptor *l = &img->manifest->layers[i];
		if (!img_store_has_blob(b->cs, &l->digest)) {
			if (!img_store_has_blob(img->store, &l->digest) && img_descriptor_is_foreign(l))
				continue;
			/* lazy: fetched when something reads the stage */
			if (!img_store_has_blob(img->store, &l->digest) && img->store == b->ls)
				continue;
			if (img_store_copy_blob(b->cs, img->store, l, err) < 0)
				return -1;
		}
	}
	s->layers = xcalloc(img->manifest->n_layers + 1, sizeof(*s->layers));
	for (size_t i = 0; i < img->manifest->n_layers; i++)
		img_descriptor_copy(&s->layers[i], &img->manifest->layers[i]);
	s->nlayers = img->manifest->n_layers;
	if (s->cfg->n_diff_ids != s->nlayers)
		return berr_set(err, BERR_INPUT, "base image has %zu layers but %zu diff_ids",
				s->nlayers, s->cfg->n_diff_ids);
	s->windows = s->cfg->platform.os && !strcmp(s->cfg->platform.os, "windows");
	s->base_digest = img->desc.digest;
	s->lazy = bld_layers_lazy(b, s->layers, s->nlayers);
	return 0;
}

static int run_stage(struct bld *b, size_t si, struct berr **err);

int bld_load_source_stage(struct bld *b, struct bld_stage *cur, const char *from,
			  const struct df_instr *in, char **rootfs, struct berr **err)
{
	(void)in;
	long si = find_named(b, from) ? -1 : bld_plan_find_stage(b->plan, from, b->plan->n);
	if (si >= 0) {
		if (!b->stages[si].done && run_stage(b, (size_t)si, err) < 0)
			return -1;
		return bld_rootfs(b, &b->stages[si], rootfs, err);
	}
	_cleanup_img_image_ struct img_image *img = NULL;
	const struct img_platform *want = &b->plan->target_platform;
	(void)cur;
	struct berr *e = NULL;
	/* a bare word that is no stage is a typo far more often than a Docker
	 * Hub image: it is not looked up in a registry */
	if (!strpbrk(from, "/:@") && !find_named(b, from)) {
		struct img_descriptor ld = { 0 };
		if (img_store_tag_resolve(b->ls, from, &ld, &e) < 0) {
			berr_free(e);
			return berr_set(err, BERR_NOTFOUND,
					"COPY --from: '%s' is neither a build stage nor an image in the "
					"local store", from);
		}
		img_descriptor_clear(&ld);
	}
	if (open_image(b, from, want, &img, &e) < 0) {
		if (e->code == BERR_NOTFOUND && !strchr(from, '/') && !strchr(from, ':') &&
		    !find_named(b, from)) {
			berr_free(e);
			return berr_set(err, BERR_NOTFOUND,
					"COPY --from: '%s' is neither a build stage nor an image in the "
					"local store", from);
		}
		*err = e;
		return -1;
	}
	struct bld_stage tmp = { 0 };
	int rc = stage_from_image(b, &tmp, img, err);
	if (rc == 0)
		rc = bld_rootfs(b, &tmp, rootfs, err);
	img_config_free(tmp.cfg);
	for (size_t i = 0; i < tmp.nlayers; i++)
		img_descriptor_clear(&tmp.layers[i]);
	free(tmp.layers);
	free(tmp.base_name);
	return rc;
}

/* ------------------------------------------------------------------ */
/* instruction dispatch */

struct dispatch {
	struct bld *b;
	struct bld_stage *s;
	const struct bld_stage_plan *sp;
	const char *label;   /* stage label for progress */
	size_t idx, total;
};

static int expand(struct bld *b, struct df_env *env, const char *w, char **out,
		  struct berr **err)
{
	struct df_lexer lex = DF_LEXER_INIT(b->plan->file->escape);
	*out = df_shell_process_word(&lex, w, env, NULL, err);
	return *out ? 0 : -1;
}

struct workdir_fill {
	char *path;          /* internal path */
	uid_t uid;
	gid_t gid;
	char *rootfs;
};

static int fill_workdir(struct bld *b, struct bld_stage *s, void *ud, struct img_layer *l,
			struct berr **err)
{
	struct workdir_fill *w = ud;
	if (s->windows) {
		struct img_layer_entry e = { .dst = w->path, .type = IMG_ENTRY_DIR,
					     .set = IMG_SET_MODE | IMG_SET_MTIME, .mode = 0755,
					     .mtime = b->now };
		return img_layer_add(l, &e, err);
	}
	/* every component: existing ones keep their metadata, new ones are
	 * created 0755 owned by USER (BuildKit's mkdir -p with the user) */
	_cleanup_free_ char *p = xstrdup(w->path);
	for (char *c = p + 1;; c++) {
		bool end = *c == '\0';
		if (*c == '/' || end) {
			char save = *c;
			*c = '\0';
			struct stat st;
			int r = w->rootfs ? bld_rootfs_stat(w->rootfs, p, false, &st, NULL, err) : 1;
			if (r < 0)
				return -1;
			struct img_layer_entry e = { .dst = p };
			_cleanup_free_ char *host = NULL;
			if (r == 0) {
				host = xasprintf("%s%s", w->rootfs, p);
				e.src = host;
			} else {
				e.type = IMG_ENTRY_DIR;
				e.set = IMG_SET_MODE | IMG_SET_MTIME | IMG_SET_OWNER;
				e.mode = 0755;
				e.mtime = b->now;
				e.uid = w->uid;
				e.gid = w->gid;
			}
			if (img_layer_add(l, &e, err) < 0)
				return -1;
			*c = save;
		}
		if (end)
			break;
	}
	return 0;
}

static int do_workdir(struct dispatch *d, const struct df_instr *in, struct df_env *env,
		      bool *hit, struct berr **err)
{
	struct bld *b = d->b;
	struct bld_stage *s = d->s;
	_cleanup_free_ char *raw = NULL, *path = NULL;
	if (expand(b, env, in->u.str, &raw, err) < 0)
		return -1;
	if (bld_stage_path(s, raw, &path, NULL, err) < 0)
		return -1;
	free(s->cfg->config.working_dir);
	s->cfg->config.working_dir = bld_stage_display_path(s, path);
	s->cfg->has_config = true;
	_cleanup_free_ char *hist = xasprintf("WORKDIR %s", s->cfg->config.working_dir);
	struct workdir_fill w = { path, 0, 0, NULL };
	bool need = strcmp(path, "/") != 0;
	/* a lazy base is not read for WORKDIR: the directory is written */
	if (need && s->nlayers && !s->lazy) {
		if (bld_rootfs(b, s, &w.rootfs, err) < 0)
			return -1;
		struct stat st;
		int r = bld_rootfs_stat(w.rootfs, path, s->windows, &st, NULL, err);
		if (r < 0) {
			free(w.rootfs);
			return -1;
		}
		need = r != 0;
	}
	const char *user = s->cfg->config.user;
	if (need && !s->windows && user && *user &&
	    bld_resolve_owner(w.rootfs, user, &w.uid, &w.gid, err) < 0) {
		free(w.rootfs);
		return -1;
	}
	bool made = false;
	_cleanup_free_ char *kt = xasprintf("%s\nneed=%d uid=%u gid=%u", hist, need,
					    (unsigned)w.uid, (unsigned)w.gid);
	int r = layer_step(b, s, kt, NULL, fill_workdir, &w, need, &made, err);
	free(w.rootfs);
	if (r < 0)
		return -1;
	*hit = r == 1 && made;
	add_history(b, s, hist, !made);
	return 0;
}

struct copy_fill {
	struct bld_copy_plan *cp;
};

static int fill_copy(struct bld *b, struct bld_stage *s, void *ud, struct img_layer *l,
		     struct berr **err)
{
	struct copy_fill *c = ud;
	return bld_copy_write(b, s, c->cp, l, err);
}

static int do_copy(struct dispatch *d, const struct df_instr *in, struct df_env *env, bool *hit,
		   struct berr **err)
{
	struct bld_copy_plan *cp = NULL;
	struct img_digest inputs;
	_cleanup_free_ char *summary = NULL;
	if (bld_copy_prepare(d->b, d->s, in, env, &cp, &inputs, &summary, err) < 0)
		return -1;
	struct copy_fill cf = { cp };
	bool made = false;
	d->b->layer_total = bld_copy_plan_bytes(cp);
	int r = layer_step(d->b, d->s, summary, &inputs, fill_copy, &cf, true, &made, err);
	d->b->layer_total = 0;
	bld_copy_plan_free(cp);
	if (r < 0)
		return -1;
	*hit = r == 1;
	_cleanup_free_ char *hist = xasprintf("%s # buildkit", summary);
	add_history(d->b, d->s, hist, false);
	return 0;
}

/* shell form: SHELL (or the default) + the command string */
static void shell_wrap(const struct bld_stage *s, const struct df_cmdline *c, struct img_strlist *out)
{
	img_strlist_clear(out);
	out->set = true;
	if (c->prepend_shell) {
		const struct img_strlist *sh = &s->cfg->config.shell;
		if (sh->n) {
			for (size_t i = 0; i < sh->n; i++)
				img_strlist_add(out, sh->v[i]);
		} else if (s->windows) {
			img_strlist_add(out, "cmd");
			img_strlist_add(out, "/S");
			img_strlist_add(out, "/C");
		} else {
			img_strlist_add(out, "/bin/sh");
			img_strlist_add(out, "-c");
		}
	}
	for (size_t i = 0; i < c->args.n; i++)
		img_strlist_add(out, c->args.items[i]);
}

static int do_arg(struct dispatch *d, const struct df_instr *in, struct df_env *env,
		  struct bbuf *hist, struct berr **err)
{
	struct bld *b = d->b;
	struct bld_plan *p = b->plan;
	bbuf_addstr(hist, "ARG", NULL);
	for (size_t k = 0; k < in->u.arg.n; k++) {
		const struct df_argdef *a = &in->u.arg.args[k];
		const char *bv = df_env_get(p->build_args, a->key);
		_cleanup_free_ char *v = NULL;
		df_env_set(p->consumed, a->key, "");
		if (bv) {
			v = xstrdup(bv);
		} else if (a->value) {
			if (expand(b, env, a->value, &v, err) < 0)
				return -1;
		} else {
			/* a global ARG redeclared without value takes the global value;
			 * predefined platform args come from the stage platform */
			bool meta = false;
			for (size_t i = 0; i < p->stages->nmeta_args && !meta; i++)
				for (size_t j = 0; j < p->stages->meta_args[i]->u.arg.n; j++)
					meta |= !strcmp(p->stages->meta_args[i]->u.arg.args[j].key, a->key);
			const char *gv = df_env_get(p->global, a->key);
			if (bld_arg_is_predefined(a->key)) {
				struct df_env *pe = df_env_new(false);
				bld_plan_platform_args(p, &d->sp->platform, pe);
				const char *pv = df_env_get(pe, a->key);
				if (pv)
					v = xstrdup(pv);
				df_env_free(pe);
			} else if (meta && gv) {
				v = xstrdup(gv);
			}
		}
		if (v) {
			df_env_set(d->s->args, a->key, v);
			df_env_set(env, a->key, v);
			bbuf_addf(hist, NULL, " %s=%s", a->key, v);
		} else {
			bbuf_addf(hist, NULL, " %s", a->key);
		}
	}
	return 0;
}



/* --secret id=ID,src=PATH | id=ID,env=VAR: the host file holding the
 * secret (env values are written to a private temp file). NULL with
 * BERR_NOTFOUND when the id was not given. */
static char *secret_file(struct bld *b, const char *id, struct berr **err)
{
	for (size_t i = 0; i < b->o->nsecrets; i++) {
		_cleanup_free_ char *dup = xstrdup(b->o->secrets[i]);
		char *sid = NULL, *src = NULL, *envn = NULL, *save = NULL;
		for (char *f = strtok_r(dup, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
			if (!strncmp(f, "id=", 3))
				sid = f + 3;
			else if (!strncmp(f, "src=", 4) || !strncmp(f, "source=", 7))
				src = strchr(f, '=') + 1;
			else if (!strncmp(f, "env=", 4))
				envn = f + 4;
		}
		if (!sid && src) {
			const char *sl = strrchr(src, '/');
			sid = (char *)(sl ? sl + 1 : src);
		}
		if (!sid || strcmp(sid, id))
			continue;
		if (src)
			return xstrdup(src);
		const char *v = getenv(envn ? envn : id);
		if (!v)
			break;
		/* kept in memory (a memfd the sandbox reads through /proc/self/fd,
		 * inherited across its forks), so a killed build leaves no copy
		 * on disk; a file in the build's temp dir where memfds are missing */
		int mfd = memfd_create("berth-secret", MFD_CLOEXEC);
		if (mfd >= 0) {
			if (bfd_write_all(mfd, v, strlen(v), "secret", err) < 0) {
				close(mfd);
				return NULL;
			}
			b->secret_fds = xreallocarray(b->secret_fds, b->nsecret_fds + 1, sizeof(int));
			b->secret_fds[b->nsecret_fds++] = mfd;
			return xasprintf("/proc/self/fd/%d", mfd);
		}
		const char *dir = bld_tmp_mkdtemp(b, "secret", err);
		if (!dir)
			return NULL;
		char *p = xasprintf("%s/s", dir);
		if (bfile_write_atomic(p, v, strlen(v), 0600, err) < 0) {
			free(p);
			return NULL;
		}
		return p;
	}
	berr_set(err, BERR_NOTFOUND, "secret '%s' not given", id);
	return NULL;
}

struct expand_ctx {
	struct bld *b;
	struct df_env *env;
};

static char *mount_expand(void *ctx, const char *word, struct berr **err)
{
	struct expand_ctx *ec = ctx;
	char *out = NULL;
	expand(ec->b, ec->env, word, &out, err);
	return out;
}
/* ------------------------------------------------------------------ */
/* RUN */

/* Lines of a failed RUN's output repeated in the error (BuildKit shows
 * the tail of the log too) */
#define BLD_RUN_TAIL_LINES 10
#define BLD_RUN_TAIL_WIDTH 512

/* a cache mount whose directory is taken (and locked) only when the step
 * really runs, not on a cache hit */
struct run_cache {
	size_t mount;         /* index in run_fill.mounts */
	const struct df_mount *pm;
	char *id;
	struct bld_cache_mount cm;
};

struct run_fill {
	struct bld *b;
	const struct bld_executor *x;
	struct bld_exec_spec spec;
	const struct img_platform *plat;
	char *rootfs;
	char *display;        /* for the exit-code error */
	unsigned step;
	struct bld_exec_session *sess; /* kept until the layer is written */
	struct img_image *image;       /* Windows: the stage's image (prepare_image) */
	struct bld_exec_mount *mounts;
	struct run_cache *caches;
	size_t ncaches;
	char *tail[BLD_RUN_TAIL_LINES]; /* ring of the last output lines */
	size_t ntail;                   /* lines seen */
};

/* SIGINT/SIGTERM reached berth (the CLI made cancel_fd readable) */
static bool bld_cancelled(const struct bld *b)
{
	if (b->o->cancel_fd <= 0)
		return false;
	struct pollfd pf = { .fd = b->o->cancel_fd, .events = POLLIN };
	return poll(&pf, 1, 0) > 0;
}

static void run_output(void *ud, int fd, const char *data, size_t n)
{
	struct run_fill *rf = ud;
	FILE *f = rf->b->o->log;
	(void)fd;
	while (n && (data[n - 1] == '\n' || data[n - 1] == '\r'))
		n--;
	char **slot = &rf->tail[rf->ntail++ % BLD_RUN_TAIL_LINES];
	free(*slot);
	*slot = xstrndup(data, n < BLD_RUN_TAIL_WIDTH ? n : BLD_RUN_TAIL_WIDTH);
	if (!f || rf->b->o->progress == BLD_PROGRESS_QUIET)
		return;
	if (rf->b->o->progress == BLD_PROGRESS_JSON) {
		_cleanup_free_ char *t = xstrndup(data, n);
		fprintf(f, "{\"id\":%u,\"status\":\"log\",\"stream\":%d,\"line\":", rf->step, fd);
		json_str(f, t);
		fprintf(f, "}\n");
	} else {
		fprintf(f, "#%u %.*s\n", rf->step, (int)n, data);
	}
	fflush(f);
}

/* "...: exit code: N" followed by the last lines of the output */
static void run_fail_msg(struct run_fill *rf, int status, struct berr **err)
{
	_cleanup_bbuf_ struct bbuf m = BBUF_INIT;
	bbuf_addf(&m, NULL, "process \"%s\" did not complete successfully: exit code: %d",
		  rf->display, status);
	size_t n = rf->ntail < BLD_RUN_TAIL_LINES ? rf->ntail : BLD_RUN_TAIL_LINES;
	if (n)
		bbuf_addf(&m, NULL, "\n------ last %zu line%s of output ------", n, n == 1 ? "" : "s");
	for (size_t i = rf->ntail - n; i < rf->ntail; i++)
		bbuf_addf(&m, NULL, "\n  %s", rf->tail[i % BLD_RUN_TAIL_LINES]);
	if (n)
		bbuf_addstr(&m, "\n------", NULL);
	berr_set(err, BERR_FAILED, "%s", bbuf_str(&m));
}

static void cache_wait_note(void *ud, const char *id)
{
	struct run_fill *rf = ud;
	prog_note(rf->b, "waiting for cache mount '%s' (sharing=locked) held by another build", id);
}

static int fill_run(struct bld *b, struct bld_stage *s, void *ud, struct img_layer *l,
		    struct berr **err)
{
	struct run_fill *rf = ud;
	(void)s;
	_cleanup_free_ char *mdir = xasprintf("%s/mounts", b->cache_dir);
	for (size_t i = 0; i < rf->ncaches; i++) {
		struct run_cache *c = &rf->caches[i];
		const struct df_mount *pm = c->pm;
		if (bld_cache_mount_acquire(mdir, c->id, pm->sharing, pm->has_mode ? pm->mode : 0755,
					    pm->has_uid ? pm->uid : 0, pm->has_gid ? pm->gid : 0,
					    b->o->cancel_fd, cache_wait_note, rf, &c->cm, err) < 0)
			return -1;
		rf->mounts[c->mount].source = c->cm.dir;
	}
	const char *parent = bld_tmp_mkdtemp(b, "run", err);
	if (!parent)
		return -1;
	_cleanup_free_ char *scratch = xasprintf("%s/sb", parent);
	const char *lowers[1] = { rf->rootfs };
	struct bld_exec_session *sess = NULL;
	if (rf->x->prepare(lowers, rf->rootfs ? 1 : 0, scratch, rf->plat, &sess, err) < 0)
		return -1;
	int status = 0;
	int rc = rf->x->run(sess, &rf->spec, &status, err);
	for (size_t i = 0; i < rf->ncaches; i++)
		if (rf->caches[i].cm.lock_fd >= 0) {
			close(rf->caches[i].cm.lock_fd);
			rf->caches[i].cm.lock_fd = -1;
		}
	if (rc == 0 && status != 0 && bld_cancelled(b))
		rc = berr_set(err, BERR_FAILED, "build cancelled: \"%s\" was stopped", rf->display);
	else if (rc == 0 && status != 0) {
		run_fail_msg(rf, status, err);
		rc = -1;
	}
	bool changed = false;
	if (rc == 0)
		rc = rf->x->diff(sess, l, &changed, err);
	/* the layer writer reads the upper dir's files when it finishes */
	rf->sess = sess;
	return rc == 0 && !changed ? 1 : rc;
}

/* Windows stages: the executor gets the stage's image (the layer chain as
 * it is) and its layer is stored byte for byte; a Windows rootfs is never
 * materialised and a Windows layer never re-encoded (bld_exec.h). */
static int raw_run(struct bld *b, struct bld_stage *s, void *ud, struct img_descriptor *d,
		   struct img_digest *diff_id, struct berr **err)
{
	struct run_fill *rf = ud;
	struct img_descriptor man = { 0 };
	if (img_image_write(b->cs, s->cfg, s->layers, s->nlayers, false, NULL, &man, err) < 0)
		return berr_wrap(err, "the stage's image for RUN");
	int rc = img_image_load(b->cs, &man, NULL, &rf->image, err);
	img_descriptor_clear(&man);
	if (rc < 0)
		return berr_wrap(err, "the stage's image for RUN");
	_cleanup_free_ char *tmpd = xasprintf("%s/tmp", b->cache_dir);
	if (bfile_mkdir_p(tmpd, 0700, err) < 0)
		return -1;
	_cleanup_free_ char *parent = xasprintf("%s/run-XXXXXX", tmpd);
	if (!mkdtemp(parent))
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", parent);
	bld_tmpdir_add(b, xstrdup(parent));
	_cleanup_free_ char *scratch = xasprintf("%s/sb", parent);
	if (rf->x->prepare_image(rf->image, scratch, rf->plat, &rf->sess, err) < 0)
		return -1;
	int status = 0;
	rc = rf->x->run(rf->sess, &rf->spec, &status, err);
	if (rc == 0 && status != 0)
		rc = berr_set(err, BERR_FAILED,
			      "process \"%s\" did not complete successfully: exit code: %d",
			      rf->display, status);
	bool changed = false;
	struct img_compress_opts co = { .comp = b->o->comp };
	if (rc == 0)
		rc = rf->x->take_layer(rf->sess, b->cs, &co, d, diff_id, &changed, err);
	return rc == 0 && !changed ? 1 : rc;
}

static bool simple_heredoc(const char *a)
{
	if (strncmp(a, "<<", 2))
		return false;
	a += 2;
	if (*a == '-')
		a++;
	return *a && strpbrk(a, " \t\n") == NULL;
}

static int do_run(struct dispatch *d, const struct df_instr *in, const struct step_view *v,
		  bool *hit, struct berr **err)
{
	struct bld *b = d->b;
	struct bld_stage *s = d->s;
	const struct df_cmdline *c = &in->u.run.cmd;
	struct img_platform plat = { 0 };
	img_platform_copy(&plat, &s->cfg->platform);
	if (!plat.os)
		plat.os = xstrdup(d->sp->platform.os);
	if (!plat.architecture)
		plat.architecture = xstrdup(d->sp->platform.architecture);
	const struct bld_executor *x = bld_executor_select(b->o->executor, &plat, err);
	if (!x) {
		img_platform_clear(&plat);
		return -1;
	}
	/* the command: heredocs as BuildKit turns them into a shell argument */
	struct df_cmdline cl = *c;
	char *one[1] = { NULL };
	_cleanup_free_ char *full = NULL;
	if (c->nfiles > 0 && c->args.n == 1 && c->prepend_shell) {
		if (simple_heredoc(c->args.items[0])) {
			one[0] = c->files[0].data;
		} else {
			struct bbuf fb = BBUF_INIT;
			bbuf_addstr(&fb, c->args.items[0], NULL);
			for (size_t i = 0; i < c->nfiles; i++)
				bbuf_addf(&fb, NULL, "\n%s%s", c->files[i].data, c->files[i].name);
			full = bbuf_detach(&fb, NULL);
			one[0] = full;
		}
		cl.args.items = one;
		cl.args.n = 1;
	}
	struct img_strlist argv = { 0 };
	shell_wrap(s, &cl, &argv);
	/* env: ARGs in scope, then ENV; ENV wins */
	struct img_strlist env = { 0 };
	bool has_path = false;
	for (size_t i = 0; i < s->cfg->config.env.n; i++)
		has_path |= !strncmp(s->cfg->config.env.v[i], "PATH=", 5);
	for (size_t i = 0; i < df_env_count(s->args); i++)
		env_set(&env, df_env_key(s->args, i), df_env_value(s->args, i), s->windows);
	for (size_t i = 0; i < s->cfg->config.env.n; i++) {
		_cleanup_free_ char *k = xstrndup(s->cfg->config.env.v[i],
						  strcspn(s->cfg->config.env.v[i], "="));
		const char *eq = strchr(s->cfg->config.env.v[i], '=');
		env_set(&env, k, eq ? eq + 1 : "", s->windows);
	}
	if (!has_path && !s->windows)
		env_set(&env, "PATH", BLD_DEFAULT_PATH, false);
	_cleanup_free_ char *wd = bld_stage_workdir(s);
	const char *net = in->u.run.network && *in->u.run.network ? in->u.run.network : "default";

	/* history / cache text: BuildKit's "RUN |N K=V ... argv # buildkit" */
	_cleanup_bbuf_ struct bbuf hist = BBUF_INIT;
	bbuf_addstr(&hist, "RUN ", NULL);
	if (df_env_count(s->args)) {
		bbuf_addf(&hist, NULL, "|%zu ", df_env_count(s->args));
		for (size_t i = 0; i < df_env_count(s->args); i++)
			bbuf_addf(&hist, NULL, "%s=%s ", df_env_key(s->args, i), df_env_value(s->args, i));
	}
	for (size_t i = 0; i < argv.n; i++)
		bbuf_addf(&hist, NULL, "%s%s", i ? " " : "", argv.v[i]);
	_cleanup_bbuf_ struct bbuf key = BBUF_INIT;
	bbuf_addf(&key, NULL, "%s\nuser=%s\nwd=%s\nnet=%s\n", bbuf_str(&hist),
		  s->cfg->config.user ? s->cfg->config.user : "", wd, net);
	for (size_t i = 0; i < env.n; i++)
		bbuf_addf(&key, NULL, "env %s\n", env.v[i]);
	for (size_t i = 0; i < in->u.run.mount_specs.n; i++)
		bbuf_addf(&key, NULL, "mount %s\n", in->u.run.mount_specs.items[i]);

	/* a Windows container wants its own form of the path (C:\app) */
	_cleanup_free_ char *wdx = s->windows ? bld_stage_display_path(s, wd) : xstrdup(wd);
	struct run_fill rf = { .b = b, .x = x, .plat = &plat, .step = v->id };
	rf.spec = (struct bld_exec_spec){
		.argv = argv.v, .argc = argv.n, .env = env.v, .nenv = env.n,
		.user = s->cfg->config.user ? s->cfg->config.user : "",
		.workdir = wdx, .network = net,
		.cancel_fd = b->o->cancel_fd > 0 ? b->o->cancel_fd : -1,
		.output = run_output, .ud = &rf,
	};
	_cleanup_bbuf_ struct bbuf disp = BBUF_INIT;
	for (size_t i = 0; i < argv.n; i++)
		bbuf_addf(&disp, NULL, "%s%s", i ? " " : "", argv.v[i]);
	rf.display = disp.data ? disp.data : (char *)"";
	int r = 0;
	/* --mount: tmpfs and cache (a directory under the build cache) */
	struct bld_exec_mount *mounts = xcalloc(in->u.run.mount_specs.n + 1, sizeof(*mounts));
	char **mdirs = xcalloc(in->u.run.mount_specs.n + 1, sizeof(char *));
	struct df_mount *pm = xcalloc(in->u.run.mount_specs.n + 1, sizeof(*pm));
	size_t nm = 0;
	struct df_env *xenv = step_env(s);
	rf.mounts = mounts;
	rf.caches = xcalloc(in->u.run.mount_specs.n + 1, sizeof(*rf.caches));
	size_t nssh = 0;
	const char *ssh_sock = NULL;
	for (size_t i = 0; i < in->u.run.mount_specs.n && r == 0; i++) {
		struct expand_ctx ec = { b, xenv };
		if (df_mount_parse(in->u.run.mount_specs.items[i], mount_expand, &ec, &pm[i], err) < 0) {
			r = -1;
			break;
		}
		struct bld_exec_mount *m = &mounts[nm];
		m->target = pm[i].target;
		if (pm[i].type == DF_MOUNT_TMPFS) {
			m->type = "tmpfs";
		} else if (pm[i].type == DF_MOUNT_CACHE) {
			if (!pm[i].target || !*pm[i].target) {
				r = berr_set(err, BERR_INPUT, "cache mount needs a target");
				break;
			}
			/* the directory is taken in fill_run, when the step runs */
			struct run_cache *rc1 = &rf.caches[rf.ncaches++];
			rc1->mount = nm;
			rc1->pm = &pm[i];
			rc1->id = xstrdup(pm[i].id && *pm[i].id ? pm[i].id : pm[i].target);
			rc1->cm.lock_fd = -1;
			m->type = "bind";
			m->readonly = pm[i].readonly;
		} else if (pm[i].type == DF_MOUNT_SSH) {
			const char *id = pm[i].id && *pm[i].id ? pm[i].id : "default";
			mdirs[i] = bld_ssh_socket(b->o->ssh, b->o->nssh, id, err);
			if (!mdirs[i]) {
				if (*err && (*err)->code != BERR_NOTFOUND) {
					r = -1;
					break;
				}
				berr_clear(err);
				if (pm[i].required) {
					r = berr_set(err, BERR_NOTFOUND,
						     "ssh agent '%s' is required but was not given (--ssh %s)",
						     id, id);
					break;
				}
				continue;
			}
			/* BuildKit numbers the default targets by ssh mount */
			char *tgt = pm[i].target && *pm[i].target
					    ? xstrdup(pm[i].target)
					    : xasprintf("/run/buildkit/ssh_agent.%zu", nssh);
			nssh++;
			free(pm[i].target);
			pm[i].target = tgt;
			if (!ssh_sock)
				ssh_sock = tgt;
			m->target = tgt;
			m->type = "bind";
			m->source = mdirs[i];
			m->readonly = true;
		} else if (pm[i].type == DF_MOUNT_BIND) {
			const char *src = pm[i].source ? pm[i].source : ".";
			char *root = NULL;
			if (pm[i].from && *pm[i].from) {
				if (bld_load_source_stage(b, s, pm[i].from, in, &root, err) < 0) {
					r = -1;
					break;
				}
			} else {
				root = xstrdup(bld_context_dir(b->ctx));
			}
			char *host = NULL;
			_cleanup_free_ char *cl2 = NULL;
			if (bld_context_clean(src, &cl2, err) < 0 ||
			    bpath_join(root, cl2, &host, err) < 0) {
				free(root);
				r = -1;
				break;
			}
			free(root);
			mdirs[i] = host;
			m->type = "bind";
			m->source = host;
			m->readonly = pm[i].readonly;
		} else if (pm[i].type == DF_MOUNT_SECRET) {
			const char *id = pm[i].id;
			_cleanup_free_ char *bn = NULL;
			if (!id || !*id) {
				const char *t = pm[i].target ? pm[i].target : "";
				const char *sl = strrchr(t, '/');
				bn = xstrdup(sl ? sl + 1 : t);
				id = bn;
			}
			mdirs[i] = secret_file(b, id, err);
			if (!mdirs[i]) {
				if (*err && (*err)->code != BERR_NOTFOUND) {
					r = -1;
					break;
				}
				if (pm[i].required) {
					berr_clear(err);
					r = berr_set(err, BERR_NOTFOUND,
						     "secret '%s' is required but was not given (--secret id=%s,src=FILE)",
						     id, id);
					break;
				}
				berr_clear(err);
				continue;
			}
			char *tgt = pm[i].target ? xstrdup(pm[i].target) : xasprintf("/run/secrets/%s", id);
			free(pm[i].target);
			pm[i].target = tgt;
			m->target = tgt;
			m->type = "secret";
			m->source = mdirs[i];
			m->readonly = true;
			m->mode = pm[i].has_mode ? pm[i].mode : 0400;
			m->uid = pm[i].has_uid ? pm[i].uid : 0;
			m->gid = pm[i].has_gid ? pm[i].gid : 0;
		} else {
			r = berr_set(err, BERR_UNSUPPORTED, "RUN --mount=type=%s is not supported yet",
				     df_mount_type_name(pm[i].type));
			break;
		}
		nm++;
	}
	df_env_free(xenv);
	/* the first agent is SSH_AUTH_SOCK unless the env sets it (BuildKit) */
	if (r == 0 && ssh_sock) {
		bool have = false;
		for (size_t i = 0; i < env.n; i++)
			have |= !strncmp(env.v[i], "SSH_AUTH_SOCK=", 14);
		if (!have)
			env_set(&env, "SSH_AUTH_SOCK", ssh_sock, false);
		rf.spec.env = env.v;
		rf.spec.nenv = env.n;
	}
	rf.spec.mounts = mounts;
	rf.spec.nmounts = nm;
	bool made = false;
	bool raw = s->windows && x->prepare_image;
	if (r == 0 && s->nlayers && !raw)
		r = bld_rootfs(b, s, &rf.rootfs, err);
	if (r == 0) {
		r = layer_step_any(b, s, bbuf_str(&key), NULL, fill_run, raw ? raw_run : NULL, &rf,
				   true, &made, err);
		if (r >= 0) {
			*hit = r == 1;
			/* a layer made on a Docker Engine says where (engine, host
			 * build, isolation) in its created_by comment, which is what
			 * `docker history` shows, so audits can see it */
			const char *where = rf.sess && x == &bld_engine_executor
						    ? bld_engine_exec_history(rf.sess) : NULL;
			_cleanup_free_ char *h = xasprintf("%s # buildkit%s%s", bbuf_str(&hist),
							   where ? "; " : "", where ? where : "");
			add_history(b, s, h, !made);
			r = 0;
		}
	}
	if (rf.sess)
		x->release(rf.sess);
	img_image_free(rf.image);
	for (size_t i = 0; i < rf.ncaches; i++) {
		bld_cache_mount_release(&rf.caches[i].cm);
		free(rf.caches[i].id);
	}
	free(rf.caches);
	for (size_t i = 0; i < BLD_RUN_TAIL_LINES; i++)
		free(rf.tail[i]);
	for (size_t i = 0; i < in->u.run.mount_specs.n; i++) {
		df_mount_clear(&pm[i]);
		free(mdirs[i]);
	}
	free(pm);
	free(mdirs);
	free(mounts);
	free(rf.rootfs);
	img_strlist_clear(&argv);
	img_strlist_clear(&env);
	img_platform_clear(&plat);
	return r;
}

static int dispatch_one(struct dispatch *d, const struct df_instr *in, const char *display,
			struct berr **err);

static int run_onbuild(struct dispatch *d, struct berr **err)
{
	struct img_strlist trig = { 0 };
	img_strlist_copy(&trig, &d->s->cfg->config.onbuild);
	img_strlist_clear(&d->s->cfg->config.onbuild);
	int rc = 0;
	for (size_t i = 0; i < trig.n && rc == 0; i++) {
		struct df_file *f = NULL;
		struct df_instr *in = NULL;
		if (df_parse("ONBUILD", trig.v[i], strlen(trig.v[i]), &f, err) < 0 ||
		    f->nnodes != 1 || df_instr_from_node(f, &f->nodes[0], &in, err) < 0) {
			if (f && f->nnodes != 1)
				berr_set(err, BERR_INPUT, "invalid ONBUILD trigger '%s'", trig.v[i]);
			berr_wrap(err, "base image ONBUILD trigger");
			rc = -1;
		} else if (in->kind == DF_I_FROM || in->kind == DF_I_ONBUILD ||
			   in->kind == DF_I_MAINTAINER) {
			rc = berr_set(err, BERR_INPUT, "%s isn't allowed as an ONBUILD trigger",
				      df_instr_kind_name(in->kind));
		} else {
			_cleanup_free_ char *disp = xasprintf("ONBUILD %s", trig.v[i]);
			rc = dispatch_one(d, in, disp, err);
		}
		df_instr_free(in);
		df_file_free(f);
	}
	img_strlist_clear(&trig);
	return rc;
}

static int dispatch_one(struct dispatch *d, const struct df_instr *in, const char *display,
			struct berr **err)
{
	struct bld *b = d->b;
	struct bld_stage *s = d->s;
	struct img_runconfig *rc = &s->cfg->config;
	struct step_view v;
	if (bld_cancelled(b)) {
		berr_set(err, BERR_FAILED, "build cancelled");
		if (in->node)
			berr_locate(err, b->plan->file->name, in->node->start_line, in->node->col);
		return -1;
	}
	d->idx++;
	prog_start(b, &v, d->label, d->idx, d->total, display);
	if (b->res)
		b->res->steps++;
	struct df_env *env = step_env(s);
	_cleanup_bbuf_ struct bbuf hist = BBUF_INIT;
	bool layer_step_done = false, hit = false;
	int r = 0;
	s->cfg->has_config = true;
	switch (in->kind) {
	case DF_I_ENV:
	case DF_I_LABEL: {
		bool isenv = in->kind == DF_I_ENV;
		size_t n = in->u.kv.n;
		char **keys = xcalloc(n + 1, sizeof(char *)), **vals = xcalloc(n + 1, sizeof(char *));
		for (size_t i = 0; i < n && r == 0; i++) {
			r = expand(b, env, in->u.kv.kvs[i].key, &keys[i], err);
			if (r == 0)
				r = expand(b, env, in->u.kv.kvs[i].value, &vals[i], err);
			if (r == 0 && !keys[i][0])
				r = berr_set(err, BERR_INPUT, "%s names can not be blank",
					     isenv ? "ENV" : "LABEL");
		}
		if (r == 0) {
			bbuf_addstr(&hist, isenv ? "ENV" : "LABEL", NULL);
			for (size_t i = 0; i < n; i++) {
				if (isenv)
					env_set(&rc->env, keys[i], vals[i], s->windows);
				else
					img_kvmap_set(&rc->labels, keys[i], vals[i]);
				bbuf_addf(&hist, NULL, " %s=%s", keys[i], vals[i]);
			}
			if (!isenv)
				rc->labels.set = true;
		}
		for (size_t i = 0; i < n; i++) {
			free(keys[i]);
			free(vals[i]);
		}
		free(keys);
		free(vals);
		break;
	}
	case DF_I_ARG:
		r = do_arg(d, in, env, &hist, err);
		break;
	case DF_I_MAINTAINER: {
		char *m = NULL;
		r = expand(b, env, in->u.str, &m, err);
		if (r == 0) {
			free(s->cfg->author);
			s->cfg->author = m;
			bbuf_addf(&hist, NULL, "MAINTAINER %s", m);
		}
		break;
	}
	case DF_I_USER: {
		char *u = NULL;
		r = expand(b, env, in->u.str, &u, err);
		if (r == 0) {
			free(rc->user);
			rc->user = u;
			bbuf_addf(&hist, NULL, "USER %s", u);
		}
		break;
	}
	case DF_I_STOPSIGNAL: {
		char *sig = NULL;
		if (s->windows) {
			r = berr_set(err, BERR_UNSUPPORTED,
				     "The daemon on this platform does not support the command stopsignal");
			break;
		}
		r = expand(b, env, in->u.str, &sig, err);
		if (r == 0) {
			free(rc->stop_signal);
			rc->stop_signal = sig;
			bbuf_addf(&hist, NULL, "STOPSIGNAL %s", sig);
		}
		break;
	}
	case DF_I_EXPOSE: {
		bbuf_addstr(&hist, "EXPOSE", NULL);
		struct df_lexer lex = DF_LEXER_INIT(b->plan->file->escape);
		for (size_t i = 0; i < in->u.list.n && r == 0; i++) {
			size_t nw = 0;
			char **w = df_shell_process_words(&lex, in->u.list.items[i], env, &nw, err);
			if (!w) {
				r = -1;
				break;
			}
			for (size_t k = 0; k < nw; k++) {
				_cleanup_free_ char *port = strchr(w[k], '/') ? xstrdup(w[k])
									 : xasprintf("%s/tcp", w[k]);
				for (char *c = strchr(port, '/'); c && *c; c++)
					*c = (char)tolower((unsigned char)*c);
				bool dup = false;
				for (size_t j = 0; j < rc->exposed_ports.n; j++)
					dup |= !strcmp(rc->exposed_ports.v[j], port);
				if (!dup)
					img_strlist_add(&rc->exposed_ports, port);
				rc->exposed_ports.set = true;
				bbuf_addf(&hist, NULL, " %s", w[k]);
			}
			df_shell_strv_free(w);
		}
		break;
	}
	case DF_I_VOLUME: {
		char **vols = xcalloc(in->u.list.n + 1, sizeof(char *));
		for (size_t i = 0; i < in->u.list.n && r == 0; i++) {
			r = expand(b, env, in->u.list.items[i], &vols[i], err);
			if (r == 0 && !vols[i][0])
				r = berr_set(err, BERR_INPUT, "VOLUME specified can not be an empty string");
		}
		if (r == 0) {
			for (size_t i = 0; i < in->u.list.n; i++) {
				bool dup = false;
				for (size_t j = 0; j < rc->volumes.n; j++)
					dup |= !strcmp(rc->volumes.v[j], vols[i]);
				if (!dup)
					img_strlist_add(&rc->volumes, vols[i]);
			}
			rc->volumes.set = true;
			bbuf_addstr(&hist, "VOLUME ", NULL);
			go_plain_list(&hist, vols, in->u.list.n);
		}
		for (size_t i = 0; i < in->u.list.n; i++)
			free(vols[i]);
		free(vols);
		break;
	}
	case DF_I_SHELL:
		strlist_set(&rc->shell, in->u.shell.items, in->u.shell.n);
		bbuf_addstr(&hist, "SHELL ", NULL);
		go_plain_list(&hist, in->u.shell.items, in->u.shell.n);
		break;
	case DF_I_CMD:
	case DF_I_ENTRYPOINT: {
		bool iscmd = in->kind == DF_I_CMD;
		struct img_strlist *dst = iscmd ? &rc->cmd : &rc->entrypoint;
		if (!iscmd && !in->u.cmd.args.items) {
			img_strlist_clear(dst);
			dst->set = false;
		} else {
			shell_wrap(s, &in->u.cmd, dst);
		}
		if (s->windows && in->u.cmd.prepend_shell)
			rc->args_escaped = true;
		if (iscmd)
			s->cmd_set = true;
		else if (!s->cmd_set) {
			img_strlist_clear(&rc->cmd);
			rc->cmd.set = false;
		}
		bbuf_addstr(&hist, iscmd ? "CMD " : "ENTRYPOINT ", NULL);
		go_quote_list(&hist, dst->v, dst->n);
		break;
	}
	case DF_I_HEALTHCHECK: {
		const struct df_health *hc = &in->u.health;
		struct img_healthcheck *h = xcalloc(1, sizeof(*h));
		for (size_t i = 0; i < hc->test.n; i++)
			img_strlist_add(&h->test, hc->test.items[i]);
		h->test.set = true;
		h->interval = hc->interval;
		h->timeout = hc->timeout;
		h->start_period = hc->start_period;
		h->start_interval = hc->start_interval;
		h->retries = hc->retries;
		if (rc->healthcheck) {
			img_strlist_clear(&rc->healthcheck->test);
			free(rc->healthcheck);
		}
		rc->healthcheck = h;
		/* Go's %q of *HealthConfig, as BuildKit writes it */
		bbuf_addstr(&hist, "HEALTHCHECK &{", NULL);
		go_quote_list(&hist, h->test.v, h->test.n);
		int64_t ds[4] = { h->interval, h->timeout, h->start_period, h->start_interval };
		for (int i = 0; i < 4; i++) {
			bbuf_addstr(&hist, " \"", NULL);
			go_duration(&hist, ds[i]);
			bbuf_addch(&hist, '"', NULL);
		}
		bbuf_addf(&hist, NULL, " '\\x%02x'}", (unsigned)h->retries & 0xff);
		break;
	}
	case DF_I_ONBUILD:
		img_strlist_add(&rc->onbuild, in->u.onbuild);
		rc->onbuild.set = true;
		bbuf_addf(&hist, NULL, "ONBUILD %s", in->u.onbuild);
		break;
	case DF_I_WORKDIR:
		r = do_workdir(d, in, env, &hit, err);
		layer_step_done = true;
		break;
	case DF_I_COPY:
	case DF_I_ADD:
		r = do_copy(d, in, env, &hit, err);
		layer_step_done = true;
		break;
	case DF_I_RUN:
		r = do_run(d, in, &v, &hit, err);
		layer_step_done = true;
		break;
	case DF_I_FROM:
	default:
		r = berr_set(err, BERR_INTERNAL, "unexpected instruction in a stage");
		break;
	}
	if (r == 0 && !layer_step_done) {
		add_history(b, s, bbuf_str(&hist), true);
		_cleanup_free_ char *kt = xasprintf("%s\nenv-args", bbuf_str(&hist));
		key_next(&s->key, kt, NULL);
	}
	df_env_free(env);
	if (r < 0) {
		if (in->node)
			berr_locate(err, b->plan->file->name, in->node->start_line, in->node->col);
		return -1;
	}
	prog_end(b, &v, hit);
	return 0;
}

/* ------------------------------------------------------------------ */

static void stage_label(const struct bld *b, size_t si, char *buf, size_t n)
{
	const struct bld_stage_plan *sp = &b->plan->st[si];
	if (sp->name[0])
		snprintf(buf, n, "%s", sp->name);
	else if (si == b->plan->target)
		buf[0] = '\0';
	else
		snprintf(buf, n, "stage-%zu", si);
}

static int init_stage(struct bld *b, size_t si, struct bld_stage *s, struct berr **err)
{
	const struct bld_stage_plan *sp = &b->plan->st[si];
	struct img_digest k0;
	_cleanup_free_ char *plat = img_platform_format(&sp->platform);
	if (sp->base_kind == BLD_BASE_SCRATCH) {
		s->cfg = img_config_new();
		img_platform_copy(&s->cfg->platform, &sp->platform);
		s->windows = !strcmp(sp->platform.os, "windows");
		s->cfg->has_config = true;
		if (!s->windows) {
			img_strlist_add(&s->cfg->config.env, "PATH=" BLD_DEFAULT_PATH);
			s->cfg->config.env.set = true;
		}
		s->cfg->config.working_dir = xstrdup(s->windows ? "C:\\" : "/");
		_cleanup_free_ char *t = xasprintf("scratch %s", plat);
		img_digest_bytes(t, strlen(t), &k0);
	} else if (sp->base_kind == BLD_BASE_STAGE) {
		struct bld_stage *bs = &b->stages[sp->base_stage];
		if (!bs->done && run_stage(b, sp->base_stage, err) < 0)
			return -1;
		if (cfg_copy(bs->cfg, &s->cfg, err) < 0)
			return -1;
		s->layers = xcalloc(bs->nlayers + 1, sizeof(*s->layers));
		for (size_t i = 0; i < bs->nlayers; i++)
			img_descriptor_copy(&s->layers[i], &bs->layers[i]);
		s->nlayers = bs->nlayers;
		s->windows = bs->windows;
		s->lazy = bs->lazy;
		s->cmd_set = false;
		_cleanup_free_ char *t = xasprintf("stage %s", bs->key.s);
		img_digest_bytes(t, strlen(t), &k0);
	} else {
		_cleanup_img_image_ struct img_image *img = NULL;
		const struct img_platform *want = sp->explicit_platform ? &sp->platform : NULL;
		if (open_image(b, sp->base, want, &img, err) < 0)
			return -1;
		if (stage_from_image(b, s, img, err) < 0)
			return -1;
		if (sp->explicit_platform && s->cfg->platform.os &&
		    strcmp(s->cfg->platform.os, sp->platform.os)) {
			_cleanup_free_ char *have = img_platform_format(&s->cfg->platform);
			return berr_set(err, BERR_INPUT, "base image '%s' is %s, the stage wants %s",
					sp->base, have, plat);
		}
		s->base_name = xstrdup(sp->base);
		/* BuildKit gives a Linux image without PATH the default one */
		bool has_path = false;
		for (size_t i = 0; i < s->cfg->config.env.n; i++)
			has_path |= !strncmp(s->cfg->config.env.v[i], "PATH=", 5);
		if (!has_path && !s->windows) {
			img_strlist_add(&s->cfg->config.env, "PATH=" BLD_DEFAULT_PATH);
			s->cfg->config.env.set = true;
		}
		_cleanup_free_ char *t = xasprintf("image %s %s", img->desc.digest.s, plat);
		img_digest_bytes(t, strlen(t), &k0);
	}
	key_next(&k0, BLD_CACHE_VERSION, NULL);
	s->key = k0;
	s->args = df_env_new(s->windows);
	return 0;
}

static int run_stage(struct bld *b, size_t si, struct berr **err)
{
	struct bld_stage *s = &b->stages[si];
	const struct bld_stage_plan *sp = &b->plan->st[si];
	if (s->done)
		return 0;
	if (s->running) {
		const struct df_node *n = sp->st->from->node;
		return berr_set_at(err, BERR_INPUT, b->plan->file->name, n->start_line, n->col,
				   "circular dependency detected on stage: %s", sp->name);
	}
	s->running = true;
	char label[128];
	stage_label(b, si, label, sizeof(label));
	struct step_view v;
	size_t total = sp->st->ncmds + 1;
	const struct df_node *fn = sp->st->from->node;
	if (init_stage(b, si, s, err) < 0) {
		berr_locate(err, b->plan->file->name, fn->start_line, fn->col);
		return -1;
	}
	_cleanup_free_ char *ftext = xasprintf("FROM %s%s%s", sp->base, sp->name[0] ? " AS " : "",
					       sp->name);
	prog_start(b, &v, label, 1, total, ftext);
	prog_end(b, &v, false);
	struct dispatch d = { b, s, sp, label, 1, total };
	if (s->cfg->config.onbuild.n && run_onbuild(&d, err) < 0) {
		berr_locate(err, b->plan->file->name, fn->start_line, fn->col);
		return -1;
	}
	for (size_t k = 0; k < sp->st->ncmds; k++) {
		const struct df_instr *in = sp->st->cmds[k];
		if (dispatch_one(&d, in, in->node->original, err) < 0)
			return -1;
	}
	s->running = false;
	s->done = true;
	return 0;
}

int bld_stage_platform(struct bld *b, size_t si, struct img_platform *out, const char **base,
		       struct berr **err)
{
	const struct bld_stage_plan *sp = &b->plan->st[si];
	memset(out, 0, sizeof(*out));
	img_platform_copy(out, &sp->platform);
	/* follow FROM chains to an image to learn the real OS */
	const struct bld_stage_plan *bp = sp;
	while (bp->base_kind == BLD_BASE_STAGE)
		bp = &b->plan->st[bp->base_stage];
	if (base)
		*base = bp->base;
	if (bp->base_kind != BLD_BASE_IMAGE)
		return 0;
	_cleanup_img_image_ struct img_image *img = NULL;
	if (open_image(b, bp->base, bp->explicit_platform ? &bp->platform : NULL, &img, err) < 0)
		return -1;
	if (img->config->platform.os) {
		img_platform_clear(out);
		img_platform_copy(out, &img->config->platform);
	}
	return 0;
}

void bld_note(struct bld *b, const char *msg)
{
	prog_note(b, "%s", msg);
}

/* Before any work: a reachable stage with RUN needs an executor. The
 * stage's OS is known from its platform (or its base stage's), except for
 * an image base whose OS is read from its config first. */
static int check_executors(struct bld *b, struct berr **err)
{
	for (size_t k = 0; k < b->plan->norder; k++) {
		size_t si = b->plan->order[k];
		const struct bld_stage_plan *sp = &b->plan->st[si];
		const struct df_instr *run = NULL;
		for (size_t i = 0; i < sp->st->ncmds && !run; i++)
			if (sp->st->cmds[i]->kind == DF_I_RUN)
				run = sp->st->cmds[i];
		if (!run)
			continue;
		struct img_platform p;
		struct berr *e = NULL;
		bld_stage_platform(b, si, &p, NULL, &e);
		berr_free(e);
		const struct bld_executor *x = bld_executor_select(b->o->executor, &p, err);
		img_platform_clear(&p);
		if (!x) {
			berr_locate(err, b->plan->file->name, run->node->start_line, run->node->col);
			return -1;
		}
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* setup */

static int ignore_excl(void *ud, const char *rel, bool is_dir, struct berr **err)
{
	struct df_ignore *ig = ud;
	bool m = false;
	if (df_ignore_matches_or_parent_matches(ig, rel, &m, err) < 0)
		return -1;
	if (!m)
		return BLD_INCLUDE;
	if (is_dir && !df_ignore_may_reinclude_below(ig, rel))
		return BLD_EXCLUDE_PRUNE;
	return BLD_EXCLUDE;
}

static int load_ignore(struct bld *b, const char *dfpath, struct berr **err)
{
	_cleanup_free_ char *p1 = dfpath && strcmp(dfpath, "-") ? xasprintf("%s.dockerignore", dfpath)
								: NULL;
	_cleanup_free_ char *p2 = xasprintf("%s/.dockerignore", b->o->context);
	const char *use = NULL;
	struct stat st;
	if (p1 && stat(p1, &st) == 0)
		use = p1;
	else if (stat(p2, &st) == 0)
		use = p2;
	if (!use)
		return 0;
	_cleanup_bbuf_ struct bbuf data = BBUF_INIT;
	if (bfile_read_all(use, BLD_IGNORE_MAX, &data, err) < 0)
		return -1;
	char **pats = NULL;
	size_t n = 0;
	if (df_ignore_read(data.data ? data.data : "", data.len, &pats, &n, err) < 0 ||
	    df_ignore_new(pats, n, &b->ign, err) < 0) {
		df_ignore_patterns_free(pats, n);
		return berr_wrap(err, "%s", use);
	}
	df_ignore_patterns_free(pats, n);
	return 0;
}

static int parse_named(struct bld *b, struct berr **err)
{
	b->named = xcalloc(b->o->nbuild_contexts + 1, sizeof(*b->named));
	for (size_t i = 0; i < b->o->nbuild_contexts; i++) {
		const char *a = b->o->build_contexts[i];
		const char *eq = strchr(a, '=');
		if (!eq || eq == a || !eq[1])
			return berr_set(err, BERR_USAGE, "invalid --build-context '%s' (want NAME=SRC)", a);
		struct bld_named *n = &b->named[b->nnamed++];
		n->name = xstrndup(a, (size_t)(eq - a));
		n->src = xstrdup(eq + 1);
		if (!strncmp(n->src, "oci-layout://", 13) || !strncmp(n->src, "docker-image://", 15)) {
			n->image = true;
		} else if (strstr(n->src, "://")) {
			return berr_set(err, BERR_UNSUPPORTED, "--build-context %s: unsupported source '%s'",
					n->name, n->src);
		} else {
			struct stat st;
			if (stat(n->src, &st) < 0 || !S_ISDIR(st.st_mode))
				return berr_set(err, BERR_NOTFOUND,
						"--build-context %s: '%s' is not a directory", n->name, n->src);
			n->dir = xstrdup(n->src);
		}
	}
	return 0;
}

int bld_output_parse(const char *spec, char **type, char **dest, char **name, struct berr **err)
{
	*type = *dest = *name = NULL;
	_cleanup_free_ char *dup = xstrdup(spec);
	char *save = NULL;
	for (char *f = strtok_r(dup, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(f, '=');
		if (!eq)
			goto bad;
		*eq = '\0';
		char **slot = !strcmp(f, "type") ? type : !strcmp(f, "dest") ? dest
							  : !strcmp(f, "name") ? name : NULL;
		if (!slot || *slot)
			goto bad;
		*slot = xstrdup(eq + 1);
	}
	if (!*type && *dest)
		*type = xstrdup("local-oci");
	if (!*type || (strcmp(*type, "oci") && strcmp(*type, "oci-archive") &&
		       strcmp(*type, "docker") && strcmp(*type, "tar-oci")))
		goto bad;
	if (!*dest || !**dest)
		goto bad;
	return 0;
bad:
	free(*type);
	free(*dest);
	free(*name);
	*type = *dest = *name = NULL;
	return berr_set(err, BERR_USAGE,
			"invalid --output '%s' (want type=oci,dest=DIR | type=oci-archive,dest=FILE | "
			"type=docker,dest=FILE[,name=REF])", spec);
}

static int finish_image(struct bld *b, struct bld_stage *s, struct berr **err)
{
	history_fill_times(b, s->cfg);
	for (size_t i = 0; i < b->o->nlabels; i++) {
		const char *eq = strchr(b->o->labels[i], '=');
		_cleanup_free_ char *k = eq ? xstrndup(b->o->labels[i], (size_t)(eq - b->o->labels[i]))
					    : xstrdup(b->o->labels[i]);
		img_kvmap_set(&s->cfg->config.labels, k, eq ? eq + 1 : "");
		s->cfg->config.labels.set = true;
	}
	for (size_t i = 0; i < s->nlayers; i++) {
		if (img_store_has_blob(b->ls, &s->layers[i].digest))
			continue;
		if (!img_store_has_blob(b->cs, &s->layers[i].digest) &&
		    img_descriptor_is_foreign(&s->layers[i]))
			continue;
		/* a lazy base layer: the local store records its registry source */
		if (!img_store_has_blob(b->cs, &s->layers[i].digest) &&
		    img_store_has_source(b->ls, &s->layers[i].digest))
			continue;
		if (img_store_copy_blob(b->ls, b->cs, &s->layers[i], err) < 0)
			return -1;
	}
	struct img_descriptor man = { 0 };
	if (img_image_write(b->ls, s->cfg, s->layers, s->nlayers, false, NULL, &man, err) < 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < b->o->ntags && rc == 0; i++)
		rc = img_store_tag_set(b->ls, b->o->tags[i], &man, err);
	if (rc == 0 && !b->o->ntags) {
		/* an untagged image stays findable by digest */
		_cleanup_img_index_ struct img_index *x = NULL;
		bool have = false;
		if (img_store_load_index(b->ls, &x, NULL) == 0)
			for (size_t i = 0; i < x->n_manifests; i++)
				have |= img_digest_equal(&x->manifests[i].digest, &man.digest);
		if (!have)
			rc = img_store_tag_set_raw(b->ls, NULL, NULL, &man, err);
	}
	if (rc == 0 && b->res) {
		b->res->manifest = man.digest;
		struct img_digest cfgd;
		_cleanup_bbuf_ struct bbuf j = BBUF_INIT;
		if (img_config_to_json(s->cfg, &j, NULL) == 0) {
			img_digest_bytes(j.data, j.len, &cfgd);
			b->res->config = cfgd;
		}
	}
	/* outputs */
	for (size_t i = 0; i < b->o->noutputs && rc == 0; i++) {
		_cleanup_free_ char *type = NULL, *dest = NULL, *name = NULL;
		if (bld_output_parse(b->o->outputs[i], &type, &dest, &name, err) < 0) {
			rc = -1;
			break;
		}
		_cleanup_img_image_ struct img_image *img = NULL;
		if (img_image_load_flags(b->ls, &man, NULL, IMG_LOAD_LAZY, &img, err) < 0 ||
		    bld_fetch_image(b, img, err) < 0) {
			rc = -1;
			break;
		}
		enum img_source_kind k = !strcmp(type, "oci") || !strcmp(type, "local-oci")
						 ? IMG_SRC_OCI_DIR
					 : !strcmp(type, "docker") ? IMG_SRC_DOCKER_ARCHIVE
								   : IMG_SRC_OCI_ARCHIVE;
		const char *one[1] = { name };
		const char *const *tags = name ? one : (const char *const *)b->o->tags;
		size_t nt = name ? 1 : b->o->ntags;
		rc = img_image_export(img, k, dest, tags, nt, err);
		if (rc < 0)
			berr_wrap(err, "--output %s", b->o->outputs[i]);
		else
			prog_note(b, "exported to %s", dest);
	}
	img_descriptor_clear(&man);
	return rc;
}

/* docker's warning for --build-arg values no ARG of the built stages used */
static void warn_unused_args(struct bld *b)
{
	_cleanup_bbuf_ struct bbuf names = BBUF_INIT;
	const struct df_env *ba = b->plan->build_args;
	for (size_t i = 0; i < df_env_count(ba); i++) {
		const char *k = df_env_key(ba, i);
		if (!bld_arg_is_predefined(k) && !df_env_get(b->plan->consumed, k))
			bbuf_addf(&names, NULL, "%s%s", names.len ? " " : "", k);
	}
	if (names.len)
		prog_note(b, "[Warning] One or more build-args [%s] were not consumed",
			  bbuf_str(&names));
}

static void bld_free(struct bld *b)
{
	for (size_t i = 0; b->plan && i < b->plan->n && b->stages; i++) {
		struct bld_stage *s = &b->stages[i];
		img_config_free(s->cfg);
		for (size_t k = 0; k < s->nlayers; k++)
			img_descriptor_clear(&s->layers[k]);
		free(s->layers);
		df_env_free(s->args);
		free(s->base_name);
	}
	free(b->stages);
	for (size_t i = 0; i < b->nnamed; i++) {
		free(b->named[i].name);
		free(b->named[i].src);
		free(b->named[i].dir);
	}
	free(b->named);
	for (size_t i = 0; i < b->ntmpdirs; i++) {
		bfile_rm_rf(b->tmpdirs[i], NULL);
		free(b->tmpdirs[i]);
	}
	free(b->tmpdirs);
	bld_tmp_close(b);
	for (size_t i = 0; i < b->nsecret_fds; i++)
		close(b->secret_fds[i]);
	free(b->secret_fds);
	if (b->sc) {
		/* only an optimisation: a failed save costs a re-read next time */
		struct berr *e = NULL;
		bld_statcache_save(b->sc, &e);
		berr_free(e);
		bld_statcache_free(b->sc);
	}
	bld_context_free(b->ctx);
	df_ignore_free(b->ign);
	bld_remote_free(b);
	img_store_free(b->ls);
	img_store_free(b->cs);
	bld_plan_free(b->plan);
	free(b->root);
	free(b->cache_dir);
}

int bld_build(const struct bld_opts *o, struct bld_result *res, struct berr **err)
{
	struct bld b = { .o = o, .res = res, .tmp_fd = -1 };
	int rc = -1;
	if (res)
		memset(res, 0, sizeof(*res));
	b.now = o->has_epoch ? o->epoch : (int64_t)time(NULL);
	if (!bld_executor_name_valid(o->executor ? o->executor : "auto"))
		return berr_set(err, BERR_USAGE, "unknown executor '%s' (auto, linux, docker, none)",
				o->executor);
	for (size_t i = 0; i < o->ntags; i++) {
		struct df_ref *r = NULL;
		if (df_ref_parse_docker(o->tags[i], &r, err) < 0)
			return berr_wrap(err, "invalid tag '%s'", o->tags[i]);
		df_ref_free(r);
	}
	for (size_t i = 0; i < o->noutputs; i++) {
		char *t, *d, *n;
		if (bld_output_parse(o->outputs[i], &t, &d, &n, err) < 0)
			return -1;
		free(t);
		free(d);
		free(n);
	}

	if (bld_ssh_check(o->ssh, o->nssh, err) < 0)
		return -1;
	/* CONTEXT "-": resolved into a private directory, then built as usual */
	struct bld_opts so;
	struct bld_stdin sin = { 0 };
	_cleanup_free_ char *blobs = NULL, *scf = NULL, *dfpath = NULL;
	_cleanup_bbuf_ struct bbuf dft = BBUF_INIT;
	/* a stdin context lives in the per-build temp dir, so a killed
	 * build's copy is swept like its other temporaries */
	b.root = img_local_root();
	b.cache_dir = xasprintf("%s/cache", b.root);
	if (bfile_mkdir_p(b.cache_dir, 0700, err) < 0)
		goto out;
	bld_tmp_sweep(&b);
	if (!strcmp(o->context, "-")) {
		const char *tmp = bld_tmp_dir(&b, err);
		if (!tmp || bld_stdin_prepare(tmp, o->dockerfile, STDIN_FILENO, &sin, err) < 0)
			goto out;
		so = *o;
		so.context = sin.ctx;
		so.dockerfile = sin.dockerfile;
		so.dockerfile_name = sin.name;
		so.no_context = sin.no_context;
		b.o = o = &so;
		bld_tmpdir_add(&b, steal_pointer(&sin.dir));
	}

	/* Dockerfile */
	dfpath = o->dockerfile ? xstrdup(o->dockerfile) : xasprintf("%s/Dockerfile", o->context);
	if (bfile_read_all(dfpath, BLD_DOCKERFILE_MAX, &dft, err) < 0) {
		berr_wrap(err, "read the Dockerfile");
		goto out;
	}
	const char *dname = o->dockerfile_name ? o->dockerfile_name
			    : strcmp(dfpath, "-") ? dfpath : "Dockerfile";
	if (parse_named(&b, err) < 0)
		goto out;
	char **nn = xcalloc(b.nnamed + 1, sizeof(char *));
	for (size_t i = 0; i < b.nnamed; i++)
		nn[i] = b.named[i].name;
	struct bld_plan_opts po = { o->build_args, o->nbuild_args, o->target, o->platform, nn,
				    b.nnamed };
	rc = bld_plan_new(dname, dft.data ? dft.data : "", dft.len, &po, &b.plan, err);
	free(nn);
	if (rc < 0)
		goto out;
	rc = -1;

	/* stores */
	if (img_local_open(&b.ls, err) < 0)
		goto out;
	blobs = xasprintf("%s/blobs", b.cache_dir);
	if (img_store_open(blobs, IMG_STORE_CREATE, &b.cs, err) < 0)
		goto out;
	/* Both GC locks shared for the whole build, the local store's first:
	 * prune takes them exclusive in the same order (img_gc_cache_hook), so
	 * it waits for this build instead of collecting under it, and the two
	 * can never hold one lock each while waiting for the other. */
	if (img_store_lock(b.ls, IMG_LOCK_SHARED, err) < 0 ||
	    img_store_lock(b.cs, IMG_LOCK_SHARED, err) < 0)
		goto out;

	scf = xasprintf("%s/statcache", b.cache_dir);
	b.sc = bld_statcache_open(scf, BLD_STATCACHE_RACY_NS);

	/* context */
	if (load_ignore(&b, o->dockerfile, err) < 0)
		goto out;
	if (bld_context_open(o->context, b.ign ? ignore_excl : NULL, b.ign, &b.ctx, err) < 0)
		goto out;

	if (bld_check_hosts(&b, err) < 0 || check_executors(&b, err) < 0)
		goto out;

	b.stages = xcalloc(b.plan->n, sizeof(*b.stages));
	for (size_t k = 0; k < b.plan->norder; k++)
		if (run_stage(&b, b.plan->order[k], err) < 0)
			goto out;
	if (finish_image(&b, &b.stages[b.plan->target], err) < 0)
		goto out;
	warn_unused_args(&b);
	rc = 0;
out:
	bld_free(&b);
	bld_stdin_clear(&sin);
	return rc;
}
