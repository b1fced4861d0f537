/* Compose and GitHub Actions workflow loaders (see wc_workload.h). YAML is
 * read by libyaml; only the keys below are interpreted:
 *   compose:  services.<name>.{image, build, platform, isolation,
 *             deploy.placement.constraints}
 *   workflow: jobs.<id>.{runs-on, strategy.matrix, container, services,
 *             steps[].run, steps[].working-directory, defaults.run.working-directory},
 *             defaults.run.working-directory
 * `docker build/run/pull` commands are found in run: scripts by splitting
 * words (quotes, line continuations with \ or `); anything computed by the
 * script ($VAR, ${{ expr }}) is reported as unresolved, never guessed. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc_matrix.h"
#include "compat/wc_workload.h"
#include "compat/wc_yaml.h"

DEFINE_CLEANUP_FUNC(struct wc_yaml *, wc_yaml_free)
DEFINE_CLEANUP_FUNC(struct wc_workloads *, wc_workloads_free)

#define MAX_WORDS 512           /* words of one shell command considered */
#define SCRIPT_MAX_LINES 100000

const char *wc_wl_kind_name(enum wc_wl_kind k)
{
	static const char *const n[] = { "compose-service", "job-container", "job-service",
					 "docker-run", "docker-pull", "docker-build" };
	return (size_t)k < ARRAY_SIZE(n) ? n[k] : "?";
}

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static void strv_push_uniq(char ***v, size_t *n, const char *s)
{
	for (size_t i = 0; i < *n; i++)
		if (strcmp((*v)[i], s) == 0)
			return;
	strv_push(v, n, xstrdup(s));
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void runs_clear(struct wc_runs_on *r)
{
	strv_free(r->labels, r->nlabels);
	free(r->group);
	free(r->via);
	free(r->unresolved);
}

void wc_workloads_free(struct wc_workloads *wl)
{
	if (!wl)
		return;
	for (size_t i = 0; i < wl->n; i++) {
		struct wc_workload *w = &wl->w[i];
		free(w->name);
		free(w->job);
		free(w->image);
		free(w->image_written);
		free(w->dockerfile);
		free(w->platform);
		free(w->isolation);
		for (size_t j = 0; j < w->ncons; j++) {
			free(w->cons[j].text);
			free(w->cons[j].key);
			free(w->cons[j].value);
		}
		free(w->cons);
		strv_free(w->unexpanded, w->nunexpanded);
		for (size_t j = 0; j < w->nruns; j++)
			runs_clear(&w->runs[j]);
		free(w->runs);
		free(w->problem);
	}
	free(wl->w);
	free(wl->file);
	free(wl);
}

static struct wc_workload *add_wl(struct wc_workloads *wl, enum wc_wl_kind kind, struct berr **err)
{
	if (wl->n >= WC_WL_MAX) {
		berr_set(err, BERR_LIMIT, "%s: more than %d workloads", wl->file, WC_WL_MAX);
		return NULL;
	}
	XGROW(wl->w, wl->n + 1, wl->cap);
	struct wc_workload *w = &wl->w[wl->n++];
	memset(w, 0, sizeof(*w));
	w->kind = kind;
	return w;
}

static struct wc_pos pos_of(const yaml_node_t *n)
{
	struct wc_pos p = { wc_yaml_line(n), wc_yaml_col(n) };
	return p;
}

static void set_problem(struct wc_workload *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_problem(struct wc_workload *w, const char *fmt, ...)
{
	if (w->problem)
		return;
	va_list ap;
	va_start(ap, fmt);
	w->problem = xvasprintf(fmt, ap);
	va_end(ap);
}

/* ---- compose interpolation ---------------------------------------- */

static bool var_start(char c)
{
	return isalpha((unsigned char)c) || c == '_';
}

static bool var_char(char c)
{
	return isalnum((unsigned char)c) || c == '_';
}

/* Compose interpolation with every variable unset (berth has no
 * environment for the deployment): defaults apply, others stay as written
 * and are recorded. */
static char *interpolate(const char *s, char ***vars, size_t *nvars)
{
	struct bbuf b = BBUF_INIT;
	for (const char *p = s; *p; p++) {
		if (*p != '$') {
			bbuf_addch(&b, *p, NULL);
			continue;
		}
		if (p[1] == '$') {
			bbuf_addch(&b, '$', NULL);
			p++;
			continue;
		}
		if (p[1] == '{') {
			const char *close = strchr(p + 2, '}');
			const char *q = p + 2;
			if (!close || !var_start(*q)) {
				bbuf_addch(&b, '$', NULL);
				continue;
			}
			while (q < close && var_char(*q))
				q++;
			_cleanup_free_ char *name = xstrndup(p + 2, (size_t)(q - (p + 2)));
			if ((q[0] == ':' && q[1] == '-') || q[0] == '-') {
				const char *def = q + (q[0] == ':' ? 2 : 1);
				bbuf_add(&b, def, (size_t)(close - def), NULL);
			} else if ((q[0] == ':' && q[1] == '+') || q[0] == '+') {
				/* unset: alternative not used */
			} else {
				strv_push_uniq(vars, nvars, name);
				bbuf_add(&b, p, (size_t)(close - p) + 1, NULL);
			}
			p = close;
			continue;
		}
		if (var_start(p[1])) {
			const char *q = p + 1;
			while (var_char(*q))
				q++;
			_cleanup_free_ char *name = xstrndup(p + 1, (size_t)(q - p - 1));
			strv_push_uniq(vars, nvars, name);
			bbuf_add(&b, p, (size_t)(q - p), NULL);
			p = q - 1;
			continue;
		}
		bbuf_addch(&b, '$', NULL);
	}
	return bbuf_detach(&b, NULL);
}

/* ---- constraints -------------------------------------------------- */

static bool constraint_key_known(const char *k)
{
	static const char *const exact[] = { "node.id", "node.hostname", "node.role", "node.platform.os",
					     "node.platform.arch" };
	for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
		if (strcmp(k, exact[i]) == 0)
			return true;
	return (strncmp(k, "node.labels.", 12) == 0 && k[12]) ||
	       (strncmp(k, "engine.labels.", 14) == 0 && k[14]);
}

static void parse_constraint(struct wc_constraint *c, const char *text)
{
	c->text = xstrdup(text);
	const char *op = strstr(text, "==");
	const char *ne = strstr(text, "!=");
	if (!op || (ne && ne < op)) {
		op = ne;
		c->ne = true;
	}
	if (!op)
		return;
	c->key = xstrndup(text, (size_t)(op - text));
	c->value = xstrdup(op + 2);
	for (char **s = &c->key; s; s = s == &c->key ? &c->value : NULL) {
		char *t = *s, *e = t + strlen(t);
		while (e > t && isspace((unsigned char)e[-1]))
			*--e = '\0';
		size_t lead = strspn(t, " \t");
		memmove(t, t + lead, strlen(t + lead) + 1);
	}
	c->valid = *c->key && *c->value && constraint_key_known(c->key);
}

/* ---- Dockerfiles of builds ---------------------------------------- */

struct build_args {
	char **k, **v;
	size_t n;
};

/* Base image of the final (or `target`) stage, following stage names. */
static char *dockerfile_base(const char *path, const struct build_args *ba, const char *target,
			     char *why, size_t whylen)
{
	_cleanup_bbuf_ struct bbuf text = BBUF_INIT;
	struct berr *e = NULL;
	if (bfile_read_all(path, WC_DF_MAX_SIZE, &text, &e) < 0) {
		snprintf(why, whylen, "cannot read the Dockerfile: %s", e->msg);
		berr_free(e);
		return NULL;
	}
	struct wc_df df;
	if (wc_df_scan(bbuf_str(&text), text.len, path, &df, &e) < 0) {
		snprintf(why, whylen, "%s", e->msg);
		berr_free(e);
		return NULL;
	}
	size_t ng = 0;
	char **gn = xcalloc(df.nargs + 1, sizeof(char *)), **gv = xcalloc(df.nargs + 1, sizeof(char *));
	for (size_t i = 0; i < df.nargs; i++) {
		if (!df.args[i].global)
			continue;
		gn[ng] = df.args[i].name;
		gv[ng] = df.args[i].value;
		for (size_t j = 0; ba && j < ba->n; j++)
			if (strcmp(ba->k[j], gn[ng]) == 0)
				gv[ng] = ba->v[j];
		ng++;
	}
	char *res = NULL;
	ssize_t idx = (ssize_t)df.nfroms - 1;
	if (target) {
		idx = -1;
		for (size_t i = 0; i < df.nfroms; i++)
			if (df.froms[i].alias && strcasecmp(df.froms[i].alias, target) == 0)
				idx = (ssize_t)i;
		if (idx < 0)
			snprintf(why, whylen, "%s: no stage named '%s'", path, target);
	}
	/* follow FROM <stage> back to an image; each step goes to an earlier stage */
	for (int hops = 0; idx >= 0 && hops <= (int)df.nfroms; hops++) {
		struct berr *ee = NULL;
		char *img = wc_df_expand_word(&df, df.froms[idx].image, gn, gv, ng, NULL, &ee);
		if (!img) {
			snprintf(why, whylen, "%s:%d: %s", path, df.froms[idx].line, ee->msg);
			berr_free(ee);
			break;
		}
		ssize_t prev = -1;
		for (ssize_t j = 0; j < idx; j++)
			if (df.froms[j].alias && strcasecmp(df.froms[j].alias, img) == 0)
				prev = j;
		if (prev < 0) {
			if (!*img)
				snprintf(why, whylen, "%s:%d: FROM expands to an empty name", path,
					 df.froms[idx].line);
			else
				res = img;
			if (!res)
				free(img);
			break;
		}
		free(img);
		idx = prev;
	}
	free(gn);
	free(gv);
	wc_df_release(&df);
	return res;
}

/* Resolve path `rel` under `root` (both may be NULL) for reading. */
static char *under_root(const char *root, const char *rel, bool contained, char *why, size_t whylen)
{
	if (!root) {
		snprintf(why, whylen, "'%s' not read (no repository root)", rel);
		return NULL;
	}
	if (!contained) {       /* compose contexts may name ../ directories */
		if (rel[0] == '/')
			return bpath_clean(rel);
		_cleanup_free_ char *j = xasprintf("%s/%s", root, rel);
		return bpath_clean(j);
	}
	if (rel[0] == '/') {
		snprintf(why, whylen, "absolute path '%s' is outside the repository", rel);
		return NULL;
	}
	char *out = NULL;
	struct berr *e = NULL;
	if (bpath_join(root, rel, &out, &e) < 0) {
		snprintf(why, whylen, "'%s': %s", rel, e->msg);
		berr_free(e);
		return NULL;
	}
	return out;
}

static void build_args_free(struct build_args *ba)
{
	strv_free(ba->k, ba->n);
	strv_free(ba->v, ba->n);
	memset(ba, 0, sizeof(*ba));
}

static void build_args_add(struct build_args *ba, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq)
		return;         /* --build-arg NAME takes the value from the environment: unknown */
	ba->k = xreallocarray(ba->k, ba->n + 1, sizeof(char *));
	ba->v = xreallocarray(ba->v, ba->n + 1, sizeof(char *));
	ba->k[ba->n] = xstrndup(kv, (size_t)(eq - kv));
	ba->v[ba->n++] = xstrdup(eq + 1);
}

/* A build's base becomes the workload's image. */
static void resolve_build(struct wc_workload *w, const char *root, bool contained, const char *ctx,
			  const char *file, const struct build_args *ba, const char *target)
{
	char why[512] = "";
	_cleanup_free_ char *rel = NULL;
	if (file && *file)
		rel = xstrdup(file);
	else
		rel = xasprintf("%s/Dockerfile", ctx && *ctx ? ctx : ".");
	if (strchr(rel, '$')) {
		set_problem(w, "Dockerfile path '%s' uses a variable", rel);
		return;
	}
	_cleanup_free_ char *path = under_root(root, rel, contained, why, sizeof(why));
	if (!path) {
		set_problem(w, "Dockerfile %s", why);
		return;
	}
	w->dockerfile = xstrdup(path);
	char *base = dockerfile_base(path, ba, target, why, sizeof(why));
	if (!base) {
		set_problem(w, "%s", why[0] ? why : "no base image");
		return;
	}
	free(w->image);
	free(w->image_written);
	w->image = base;
	w->image_written = xstrdup(base);
}

/* ---- shared by the compose and workflow loaders -------------------- */

/* A node of the wrong type (or a missing one: an empty document has no root)
 * -> "FILE:LINE:COL: what", at 1:1 when there is no node. */
static int wc_yaml_err_at(struct wc_yaml *y, const yaml_node_t *n, const char *what,
			  struct berr **err)
{
	return berr_set_at(err, BERR_INPUT, y->name, n ? wc_yaml_line(n) : 1, n ? wc_yaml_col(n) : 1,
			   "%s", what);
}

static int wc_yaml_need_map(struct wc_yaml *y, const yaml_node_t *n, const char *what,
			    struct berr **err)
{
	return wc_yaml_is_map(n) ? 0 : wc_yaml_err_at(y, n, what, err);
}

/* What both loaders require of a document: a mapping root holding a mapping
 * under `key` (compose services, workflow jobs). */
struct wc_yaml_top {
	const char *format;       /* wc_workloads.format */
	const char *key;
	const char *not_map;      /* the root is not a mapping */
	const char *no_key;       /* the root has no `key` mapping */
};

static const struct wc_yaml_top top_compose = {
	"compose", "services", "a compose file must be a mapping",
	"a compose file needs a 'services' mapping"
};
static const struct wc_yaml_top top_workflow = {
	"workflow", "jobs", "a workflow must be a mapping", "a workflow needs a 'jobs' mapping"
};

/* Load the document and check its shape; returns the (empty) workload list. */
static struct wc_workloads *load_top(const char *data, size_t len, const char *name,
				     const struct wc_yaml_top *t, struct wc_yaml **y, yaml_node_t **root,
				     yaml_node_t **items, struct berr **err)
{
	if (wc_yaml_load(data, len, name, y, err) < 0)
		return NULL;
	*root = wc_yaml_root(*y);
	if (wc_yaml_need_map(*y, *root, t->not_map, err) < 0)
		return NULL;
	*items = wc_yaml_get(*y, *root, t->key);
	if (wc_yaml_need_map(*y, *items, t->no_key, err) < 0)
		return NULL;
	struct wc_workloads *wl = xcalloc(1, sizeof(*wl));
	wl->file = xstrdup(name);
	wl->format = t->format;
	return wl;
}

/* ---- compose ------------------------------------------------------- */

static void set_interp(struct wc_workload *w, char **dst, const char *s)
{
	free(*dst);
	*dst = interpolate(s, &w->unexpanded, &w->nunexpanded);
}

static int compose_service(struct wc_yaml *y, struct wc_workloads *wl, const char *name,
			   const yaml_node_t *key, yaml_node_t *svc, const char *base_dir, struct berr **err)
{
	if (wc_yaml_need_map(y, svc, "a service must be a mapping", err) < 0)
		return -1;
	struct wc_workload *w = add_wl(wl, WC_WL_SERVICE, err);
	if (!w)
		return -1;
	w->name = xstrdup(name);
	w->pos = pos_of(key);
	yaml_node_t *img = wc_yaml_get(y, svc, "image");
	if (img && !wc_yaml_is_null(img)) {
		if (!wc_yaml_str(img))
			return wc_yaml_err_at(y, img, "'image' must be a string", err);
		w->image_written = xstrdup(wc_yaml_str(img));
		set_interp(w, &w->image, w->image_written);
		w->pos = pos_of(img);
	}
	yaml_node_t *pl = wc_yaml_get(y, svc, "platform");
	if (wc_yaml_str(pl))
		set_interp(w, &w->platform, wc_yaml_str(pl));
	yaml_node_t *iso = wc_yaml_get(y, svc, "isolation");
	if (wc_yaml_str(iso)) {
		set_interp(w, &w->isolation, wc_yaml_str(iso));
		w->iso_pos = pos_of(iso);
	}
	yaml_node_t *dep = wc_yaml_get(y, svc, "deploy");
	yaml_node_t *plc = wc_yaml_get(y, dep, "placement");
	yaml_node_t *cons = wc_yaml_get(y, plc, "constraints");
	if (cons && !wc_yaml_is_null(cons) && !wc_yaml_is_seq(cons))
		return wc_yaml_err_at(y, cons, "'deploy.placement.constraints' must be a list", err);
	for (size_t i = 0; i < wc_yaml_seq_len(cons); i++) {
		yaml_node_t *c = wc_yaml_seq_at(y, cons, i);
		if (!wc_yaml_str(c))
			return wc_yaml_err_at(y, c, "a placement constraint must be a string", err);
		w->cons = xreallocarray(w->cons, w->ncons + 1, sizeof(*w->cons));
		struct wc_constraint *ct = &w->cons[w->ncons++];
		memset(ct, 0, sizeof(*ct));
		_cleanup_free_ char *t = interpolate(wc_yaml_str(c), &w->unexpanded, &w->nunexpanded);
		parse_constraint(ct, t);
		ct->pos = pos_of(c);
	}
	yaml_node_t *build = wc_yaml_get(y, svc, "build");
	if (build && !wc_yaml_is_null(build)) {
		_cleanup_free_ char *ctx = NULL, *file = NULL;
		struct build_args ba = { 0 };
		if (wc_yaml_str(build)) {
			ctx = interpolate(wc_yaml_str(build), &w->unexpanded, &w->nunexpanded);
		} else if (wc_yaml_is_map(build)) {
			const char *c = wc_yaml_str(wc_yaml_get(y, build, "context"));
			const char *f = wc_yaml_str(wc_yaml_get(y, build, "dockerfile"));
			ctx = interpolate(c ? c : ".", &w->unexpanded, &w->nunexpanded);
			if (f) {
				_cleanup_free_ char *fi = interpolate(f, &w->unexpanded, &w->nunexpanded);
				file = xasprintf("%s/%s", ctx, fi);
			}
			yaml_node_t *args = wc_yaml_get(y, build, "args");
			for (size_t i = 0; i < wc_yaml_map_len(args); i++) {
				yaml_node_t *k = NULL;
				yaml_node_t *v = wc_yaml_map_at(y, args, i, &k);
				if (wc_yaml_str(k) && wc_yaml_str(v) && !wc_yaml_is_null(v)) {
					_cleanup_free_ char *kv = xasprintf("%s=%s", wc_yaml_str(k), wc_yaml_str(v));
					_cleanup_free_ char *ik = interpolate(kv, &w->unexpanded, &w->nunexpanded);
					build_args_add(&ba, ik);
				}
			}
			for (size_t i = 0; i < wc_yaml_seq_len(args); i++) {
				const char *kv = wc_yaml_str(wc_yaml_seq_at(y, args, i));
				if (kv) {
					_cleanup_free_ char *ik = interpolate(kv, &w->unexpanded, &w->nunexpanded);
					build_args_add(&ba, ik);
				}
			}
		} else {
			return wc_yaml_err_at(y, build, "'build' must be a string or a mapping", err);
		}
		const char *target = wc_yaml_str(wc_yaml_get(y, build, "target"));
		w->kind = WC_WL_SERVICE;
		if (ctx && strstr(ctx, "://")) {
			set_problem(w, "build context '%s' is remote", ctx);
		} else {
			resolve_build(w, base_dir, false, ctx, file, &ba, target);
			if (w->dockerfile)
				w->pos = pos_of(build);
		}
		build_args_free(&ba);
	}
	if (!w->image && !w->problem)
		set_problem(w, "service has neither 'image' nor 'build'");
	return 0;
}

int wc_compose_load(const char *data, size_t len, const char *name, const char *base_dir,
		    struct wc_workloads **out, struct berr **err)
{
	*out = NULL;
	_cleanup_(wc_yaml_free_ptr) struct wc_yaml *y = NULL;
	yaml_node_t *root, *svcs;
	_cleanup_(wc_workloads_free_ptr) struct wc_workloads *wl =
		load_top(data, len, name, &top_compose, &y, &root, &svcs, err);
	if (!wl)
		return -1;
	for (size_t i = 0; i < wc_yaml_map_len(svcs); i++) {
		yaml_node_t *k = NULL;
		yaml_node_t *v = wc_yaml_map_at(y, svcs, i, &k);
		const char *svc = wc_yaml_str(k);
		if (!svc)
			return wc_yaml_err_at(y, k, "a service name must be a string", err);
		if (compose_service(y, wl, svc, k, v, base_dir, err) < 0)
			return -1;
	}
	*out = steal_pointer(&wl);
	return 0;
}

/* ---- workflows ----------------------------------------------------- */

/* "${{ matrix.os }}" -> "os" when s is exactly one matrix expression */
static char *matrix_key(const char *s)
{
	const char *p = s + strspn(s, " ");
	if (strncmp(p, "${{", 3) != 0)
		return NULL;
	p += 3;
	p += strspn(p, " ");
	if (strncmp(p, "matrix.", 7) != 0)
		return NULL;
	p += 7;
	const char *k = p;
	while (var_char(*p) || *p == '-')
		p++;
	const char *e = p + strspn(p, " ");
	if (p == k || strncmp(e, "}}", 2) != 0 || e[2 + strspn(e + 2, " ")] != '\0')
		return NULL;
	return xstrndup(k, (size_t)(p - k));
}

static void runs_add(struct wc_workload *w, struct wc_runs_on *r)
{
	w->runs = xreallocarray(w->runs, w->nruns + 1, sizeof(*w->runs));
	w->runs[w->nruns++] = *r;
}

static void labels_of(struct wc_yaml *y, yaml_node_t *n, struct wc_runs_on *r)
{
	if (wc_yaml_str(n)) {
		strv_push(&r->labels, &r->nlabels, xstrdup(wc_yaml_str(n)));
		return;
	}
	for (size_t i = 0; i < wc_yaml_seq_len(n); i++) {
		const char *s = wc_yaml_str(wc_yaml_seq_at(y, n, i));
		if (s)
			strv_push(&r->labels, &r->nlabels, xstrdup(s));
	}
}

/* runs-on of a job -> one or more wc_runs_on in w (a template copied to each
 * workload of the job). */
static int job_runs(struct wc_yaml *y, yaml_node_t *job, struct wc_workload *w, struct berr **err)
{
	yaml_node_t *ro = wc_yaml_get(y, job, "runs-on");
	if (!ro || wc_yaml_is_null(ro))
		return 0;
	w->runs_pos = pos_of(ro);
	struct wc_runs_on r = { 0 };
	if (wc_yaml_is_map(ro)) {
		const char *g = wc_yaml_str(wc_yaml_get(y, ro, "group"));
		r.group = g ? xstrdup(g) : NULL;
		labels_of(y, wc_yaml_get(y, ro, "labels"), &r);
	} else if (wc_yaml_str(ro) || wc_yaml_is_seq(ro)) {
		labels_of(y, ro, &r);
	} else {
		return wc_yaml_err_at(y, ro, "'runs-on' must be a string, a list or a mapping", err);
	}
	/* ${{ matrix.KEY }} labels expand over the matrix values */
	for (size_t i = 0; i < r.nlabels; i++) {
		_cleanup_free_ char *mk = matrix_key(r.labels[i]);
		if (!mk) {
			if (strstr(r.labels[i], "${{") && !r.unresolved)
				r.unresolved = xstrdup(r.labels[i]);
			continue;
		}
		yaml_node_t *mx = wc_yaml_get(y, wc_yaml_get(y, job, "strategy"), "matrix");
		yaml_node_t *vals = wc_yaml_get(y, mx, mk);
		yaml_node_t *inc = wc_yaml_get(y, mx, "include");
		size_t nv = 0;
		char *valv[WC_WL_MAX_MATRIX];
		for (size_t j = 0; j < wc_yaml_seq_len(vals) && nv < WC_WL_MAX_MATRIX; j++) {
			const char *s = wc_yaml_str(wc_yaml_seq_at(y, vals, j));
			if (s)
				valv[nv++] = (char *)s;
		}
		for (size_t j = 0; j < wc_yaml_seq_len(inc) && nv < WC_WL_MAX_MATRIX; j++) {
			const char *s = wc_yaml_str(wc_yaml_get(y, wc_yaml_seq_at(y, inc, j), mk));
			bool dup = false;
			for (size_t k = 0; s && k < nv; k++)
				dup |= strcmp(valv[k], s) == 0;
			if (s && !dup)
				valv[nv++] = (char *)s;
		}
		if (nv == 0) {
			if (!r.unresolved)
				r.unresolved = xstrdup(r.labels[i]);
			continue;
		}
		for (size_t j = 0; j < nv; j++) {
			struct wc_runs_on c = { 0 };
			for (size_t k = 0; k < r.nlabels; k++)
				strv_push(&c.labels, &c.nlabels, xstrdup(k == i ? valv[j] : r.labels[k]));
			c.group = r.group ? xstrdup(r.group) : NULL;
			c.via = xasprintf("matrix.%s", mk);
			runs_add(w, &c);
		}
		runs_clear(&r);
		return 0;
	}
	runs_add(w, &r);
	return 0;
}

static void copy_runs(struct wc_workload *dst, const struct wc_workload *tmpl)
{
	dst->runs_pos = tmpl->runs_pos;
	for (size_t i = 0; i < tmpl->nruns; i++) {
		const struct wc_runs_on *s = &tmpl->runs[i];
		struct wc_runs_on c = { 0 };
		for (size_t k = 0; k < s->nlabels; k++)
			strv_push(&c.labels, &c.nlabels, xstrdup(s->labels[k]));
		c.group = s->group ? xstrdup(s->group) : NULL;
		c.via = s->via ? xstrdup(s->via) : NULL;
		c.unresolved = s->unresolved ? xstrdup(s->unresolved) : NULL;
		runs_add(dst, &c);
	}
}

/* ${{ ... }} and $VAR / ${VAR} / $env:VAR in a word: it is computed at run time */
static void note_exprs(struct wc_workload *w, const char *s)
{
	for (const char *p = strstr(s, "${{"); p; p = strstr(p + 3, "${{")) {
		const char *e = strstr(p, "}}");
		_cleanup_free_ char *x = e ? xstrndup(p, (size_t)(e - p) + 2) : xstrdup(p);
		strv_push_uniq(&w->unexpanded, &w->nunexpanded, x);
	}
	for (const char *p = strchr(s, '$'); p; p = strchr(p + 1, '$')) {
		if (p[1] == '{' && p[2] == '{')
			continue;
		const char *q = p + 1 + (p[1] == '{');
		if (strncasecmp(q, "env:", 4) == 0)
			q += 4;
		const char *k = q;
		while (var_char(*q))
			q++;
		if (q > k) {
			_cleanup_free_ char *x = xstrndup(p, (size_t)(q - p) + (p[1] == '{' && *q == '}'));
			strv_push_uniq(&w->unexpanded, &w->nunexpanded, x);
		}
	}
}

static struct wc_workload *job_wl(struct wc_workloads *wl, enum wc_wl_kind kind, const char *job,
				  const struct wc_workload *tmpl, struct berr **err)
{
	struct wc_workload *w = add_wl(wl, kind, err);
	if (!w)
		return NULL;
	w->job = xstrdup(job);
	copy_runs(w, tmpl);
	return w;
}

static void set_image_word(struct wc_workload *w, const char *img)
{
	w->image_written = xstrdup(img);
	if (strchr(img, '$')) {
		note_exprs(w, img);
		set_problem(w, "image '%s' is computed at run time", img);
	} else {
		w->image = xstrdup(img);
	}
}

/* shell words of one logical line; separators (; && || |) become "" words */
static size_t split_words(const char *s, char **out, size_t max)
{
	size_t n = 0;
	const char *p = s;
	while (*p && n < max) {
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p || *p == '#')
			break;
		if (*p == ';' || *p == '|' || *p == '&') {
			while (*p == ';' || *p == '|' || *p == '&')
				p++;
			out[n++] = xstrdup("");
			continue;
		}
		struct bbuf w = BBUF_INIT;
		char q = 0;
		for (; *p; p++) {
			/* a ${{ expression }} is one word whatever its spaces */
			const char *ee = !q && strncmp(p, "${{", 3) == 0 ? strstr(p, "}}") : NULL;
			if (ee) {
				bbuf_add(&w, p, (size_t)(ee - p) + 2, NULL);
				p = ee + 1;
				continue;
			}
			if (q) {
				if (*p == q)
					q = 0;
				else
					bbuf_addch(&w, *p, NULL);
			} else if (*p == '"' || *p == '\'') {
				q = *p;
			} else if (*p == ' ' || *p == '\t' || *p == ';' || *p == '|' || *p == '&') {
				break;
			} else {
				bbuf_addch(&w, *p, NULL);
			}
		}
		out[n++] = bbuf_detach(&w, NULL);
	}
	return n;
}

static bool flag_is_bool(const char *f, bool build)
{
	static const char *const run_bool[] = { "--rm", "--detach", "--interactive", "--tty", "--privileged",
						"--init", "--publish-all", "--read-only", "--no-healthcheck",
						"--oom-kill-disable", "--quiet", "--disable-content-trust",
						"--all-tags", "--help", "--sig-proxy" };
	static const char *const build_bool[] = { "--no-cache", "--pull", "--quiet", "--rm", "--force-rm",
						  "--squash", "--compress", "--load", "--push", "--help" };
	if (f[1] != '-') {      /* short cluster: -it, -d, -q, -P, -a */
		for (const char *p = f + 1; *p; p++)
			if (!strchr(build ? "q" : "ditPqa", *p))
				return false;
		return true;
	}
	const char *const *l = build ? build_bool : run_bool;
	size_t n = build ? ARRAY_SIZE(build_bool) : ARRAY_SIZE(run_bool);
	for (size_t i = 0; i < n; i++)
		if (strcmp(f, l[i]) == 0)
			return true;
	return false;
}

struct step_ctx {
	const char *data;       /* the workflow text, for columns inside block scalars */
	size_t len;
	struct wc_yaml *y;
	struct wc_workloads *wl;
	const struct wc_workload *tmpl;
	const char *job, *root, *workdir;
	int stepno;
	struct wc_pos pos;
};

/* One docker command: words[0] == "docker" */
static int docker_command(struct step_ctx *c, char **wd, size_t n, struct berr **err)
{
	size_t i = 1;
	/* global options before the subcommand: --context X, -H X, --config X */
	while (i < n && wd[i][0] == '-' && !strchr(wd[i], '='))
		i += 2;
	if (i >= n)
		return 0;
	enum wc_wl_kind kind;
	const char *sub = wd[i++];
	if ((strcmp(sub, "buildx") == 0 || strcmp(sub, "image") == 0 || strcmp(sub, "container") == 0) &&
	    i < n)
		sub = wd[i++];
	if (strcmp(sub, "build") == 0)
		kind = WC_WL_STEP_BUILD;
	else if (strcmp(sub, "run") == 0 || strcmp(sub, "create") == 0)
		kind = WC_WL_STEP_RUN;
	else if (strcmp(sub, "pull") == 0)
		kind = WC_WL_STEP_PULL;
	else
		return 0;
	bool build = kind == WC_WL_STEP_BUILD;
	struct wc_workload *w = job_wl(c->wl, kind, c->job, c->tmpl, err);
	if (!w)
		return -1;
	w->name = xasprintf("%s: step %d (docker %s)", c->job, c->stepno, sub);
	w->pos = c->pos;
	_cleanup_free_ char *file = NULL, *target = NULL;
	struct build_args ba = { 0 };
	const char *pos_arg = NULL;
	for (; i < n && !pos_arg; i++) {
		const char *a = wd[i];
		if (a[0] != '-' || !a[1]) {
			pos_arg = a;
			break;
		}
		const char *eq = strchr(a, '=');
		_cleanup_free_ char *flag = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
		const char *val = eq ? eq + 1 : NULL;
		if (!val && !flag_is_bool(flag, build)) {
			if (i + 1 >= n)
				break;
			val = wd[++i];
		}
		if (!val)
			continue;
		if (strcmp(flag, "--isolation") == 0) {
			free(w->isolation);
			w->isolation = xstrdup(val);
		} else if (strcmp(flag, "--platform") == 0) {
			free(w->platform);
			w->platform = xstrdup(val);
		} else if (build && (strcmp(flag, "-f") == 0 || strcmp(flag, "--file") == 0)) {
			free(file);
			file = xstrdup(val);
		} else if (build && strcmp(flag, "--target") == 0) {
			free(target);
			target = xstrdup(val);
		} else if (build && strcmp(flag, "--build-arg") == 0) {
			if (strchr(val, '$'))
				note_exprs(w, val);
			build_args_add(&ba, val);
		}
	}
	if (!pos_arg) {
		set_problem(w, "no %s in the command", build ? "build context" : "image");
	} else if (build) {
		if (strchr(pos_arg, '$') || (file && strchr(file, '$'))) {
			note_exprs(w, pos_arg);
			if (file)
				note_exprs(w, file);
			set_problem(w, "build context or Dockerfile path is computed at run time");
		} else if (strcmp(pos_arg, "-") == 0 || strstr(pos_arg, "://")) {
			set_problem(w, "build context '%s' is not a directory in the repository", pos_arg);
		} else {
			_cleanup_free_ char *ctx = c->workdir ? xasprintf("%s/%s", c->workdir, pos_arg) : xstrdup(pos_arg);
			_cleanup_free_ char *f = file ? (c->workdir ? xasprintf("%s/%s", c->workdir, file) : xstrdup(file)) : NULL;
			resolve_build(w, c->root, true, ctx, f, &ba, target);
		}
	} else {
		set_image_word(w, pos_arg);
	}
	build_args_free(&ba);
	return 0;
}

/* 1-based column of the first non-blank character of 1-based `line` */
static int line_indent_col(const char *data, size_t len, int line)
{
	const char *p = data, *end = data + len;
	for (int l = 1; l < line && p < end; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return 0;
		p = nl + 1;
	}
	int col = 1;
	while (p < end && (*p == ' ' || *p == '\t')) {
		p++;
		col++;
	}
	return p < end ? col : 0;
}

/* Scan a run: script for docker commands. Logical lines join on a
 * trailing \ (bash) or ` (PowerShell, the default shell on Windows). */
static int scan_script(struct step_ctx *c, const yaml_node_t *run, struct berr **err)
{
	const char *s = wc_yaml_str(run);
	bool block = run->data.scalar.style == YAML_LITERAL_SCALAR_STYLE ||
		     run->data.scalar.style == YAML_FOLDED_SCALAR_STYLE;
	/* block scalars start on the line after the indicator */
	int base_line = wc_yaml_line(run) + (block ? 1 : 0);
	int lineno = 0, start = 0;
	struct bbuf logical = BBUF_INIT;
	int rc = 0;
	for (const char *p = s; *p && rc == 0 && lineno < SCRIPT_MAX_LINES;) {
		const char *e = strchr(p, '\n');
		size_t l = e ? (size_t)(e - p) : strlen(p);
		if (!logical.len)
			start = lineno;
		size_t t = l;
		while (t && (p[t - 1] == ' ' || p[t - 1] == '\t' || p[t - 1] == '\r'))
			t--;
		bool cont = t && (p[t - 1] == '\\' || p[t - 1] == '`' || p[t - 1] == '^');
		bbuf_add(&logical, p, cont ? t - 1 : t, NULL);
		bbuf_addch(&logical, ' ', NULL);
		lineno++;
		p = e ? e + 1 : p + l;
		if (cont && *p)
			continue;
		char *wd[MAX_WORDS];
		size_t n = split_words(bbuf_str(&logical), wd, MAX_WORDS);
		for (size_t i = 0; i < n && rc == 0; i++) {
			bool cmd_start = i == 0 || !*wd[i - 1] || strcmp(wd[i - 1], "sudo") == 0;
			if (cmd_start && (strcmp(wd[i], "docker") == 0 || strcmp(wd[i], "docker.exe") == 0)) {
				size_t j = i + 1;
				while (j < n && *wd[j])
					j++;
				c->pos.line = base_line + (block ? start : 0);
				c->pos.col = block ? line_indent_col(c->data, c->len, c->pos.line) : wc_yaml_col(run);
				if (!c->pos.col)
					c->pos.col = wc_yaml_col(run);
				rc = docker_command(c, wd + i, j - i, err);
				i = j;
			}
		}
		for (size_t i = 0; i < n; i++)
			free(wd[i]);
		bbuf_reset(&logical);
	}
	bbuf_release(&logical);
	return rc;
}

static const char *workdir_of(struct wc_yaml *y, yaml_node_t *n)
{
	return wc_yaml_str(wc_yaml_get(y, wc_yaml_get(y, wc_yaml_get(y, n, "defaults"), "run"),
				       "working-directory"));
}

static int workflow_job(struct wc_yaml *y, const char *data, size_t len, struct wc_workloads *wl,
			const char *id, yaml_node_t *job, const char *root, const char *wf_workdir,
			struct berr **err)
{
	if (wc_yaml_need_map(y, job, "a job must be a mapping", err) < 0)
		return -1;
	struct wc_workload tmpl;
	memset(&tmpl, 0, sizeof(tmpl));
	int rc = job_runs(y, job, &tmpl, err);
	const char *jwd = workdir_of(y, job);
	if (!jwd)
		jwd = wf_workdir;
	/* container: IMAGE or {image: IMAGE} */
	yaml_node_t *ct = wc_yaml_get(y, job, "container");
	if (rc == 0 && ct && !wc_yaml_is_null(ct)) {
		yaml_node_t *img = wc_yaml_str(ct) ? ct : wc_yaml_get(y, ct, "image");
		struct wc_workload *w = job_wl(wl, WC_WL_JOB_CONTAINER, id, &tmpl, err);
		if (!w)
			rc = -1;
		else if (!wc_yaml_str(img))
			rc = wc_yaml_err_at(y, ct, "'container' needs an image", err);
		else {
			w->name = xasprintf("%s: container", id);
			w->pos = pos_of(img);
			set_image_word(w, wc_yaml_str(img));
		}
	}
	yaml_node_t *svcs = wc_yaml_get(y, job, "services");
	for (size_t i = 0; rc == 0 && i < wc_yaml_map_len(svcs); i++) {
		yaml_node_t *k = NULL;
		yaml_node_t *v = wc_yaml_map_at(y, svcs, i, &k);
		yaml_node_t *img = wc_yaml_str(v) ? v : wc_yaml_get(y, v, "image");
		if (!wc_yaml_str(img))
			continue;
		struct wc_workload *w = job_wl(wl, WC_WL_JOB_SERVICE, id, &tmpl, err);
		if (!w) {
			rc = -1;
			break;
		}
		w->name = xasprintf("%s: service %s", id, wc_yaml_str(k) ? wc_yaml_str(k) : "?");
		w->pos = pos_of(img);
		set_image_word(w, wc_yaml_str(img));
	}
	yaml_node_t *steps = wc_yaml_get(y, job, "steps");
	for (size_t i = 0; rc == 0 && i < wc_yaml_seq_len(steps); i++) {
		yaml_node_t *st = wc_yaml_seq_at(y, steps, i);
		yaml_node_t *run = wc_yaml_get(y, st, "run");
		if (!wc_yaml_str(run))
			continue;
		const char *swd = wc_yaml_str(wc_yaml_get(y, st, "working-directory"));
		struct step_ctx c = { data, len, y, wl, &tmpl, id, root, swd ? swd : jwd, (int)i + 1, { 0, 0 } };
		rc = scan_script(&c, run, err);
	}
	for (size_t j = 0; j < tmpl.nruns; j++)
		runs_clear(&tmpl.runs[j]);
	free(tmpl.runs);
	return rc;
}

int wc_workflow_load(const char *data, size_t len, const char *name, const char *repo_root,
		     struct wc_workloads **out, struct berr **err)
{
	*out = NULL;
	_cleanup_(wc_yaml_free_ptr) struct wc_yaml *y = NULL;
	yaml_node_t *root, *jobs;
	_cleanup_(wc_workloads_free_ptr) struct wc_workloads *wl =
		load_top(data, len, name, &top_workflow, &y, &root, &jobs, err);
	if (!wl)
		return -1;
	const char *wf_wd = workdir_of(y, root);
	for (size_t i = 0; i < wc_yaml_map_len(jobs); i++) {
		yaml_node_t *k = NULL;
		yaml_node_t *v = wc_yaml_map_at(y, jobs, i, &k);
		const char *id = wc_yaml_str(k);
		if (!id)
			return wc_yaml_err_at(y, k, "a job id must be a string", err);
		if (workflow_job(y, data, len, wl, id, v, repo_root, wf_wd, err) < 0)
			return -1;
	}
	*out = steal_pointer(&wl);
	return 0;
}
