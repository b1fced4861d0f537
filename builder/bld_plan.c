/* Build plan: stages, global args, platforms and reachability (bld_plan.h). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "builder/bld_plan.h"
#include "image/img_archive.h"
#include "common/common.h"

static const char *const predefined_proxy[] = {
	"HTTP_PROXY", "http_proxy", "HTTPS_PROXY", "https_proxy", "FTP_PROXY",
	"ftp_proxy",  "NO_PROXY",   "no_proxy",    "ALL_PROXY",   "all_proxy",
};
static const char *const predefined_platform[] = {
	"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
	"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
};

bool bld_arg_is_predefined(const char *name)
{
	for (size_t i = 0; i < ARRAY_SIZE(predefined_proxy); i++)
		if (!strcmp(name, predefined_proxy[i]))
			return true;
	for (size_t i = 0; i < ARRAY_SIZE(predefined_platform); i++)
		if (!strcmp(name, predefined_platform[i]))
			return true;
	return false;
}

static const char *const known_os[] = { "linux", "windows", "darwin", "freebsd" };
static const char *const known_arch[] = { "amd64", "arm64", "arm", "386", "ppc64le", "s390x",
					  "riscv64", "mips64le", "loong64" };

/* Validate and normalise (x86_64 -> amd64, aarch64 -> arm64) a parsed platform. */
static int platform_check(struct img_platform *p, const char *text, struct berr **err)
{
	bool ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(known_os); i++)
		ok |= !strcmp(p->os, known_os[i]);
	if (!ok)
		return berr_set(err, BERR_INPUT, "invalid platform '%s': unknown operating system '%s'",
				text, p->os);
	if (!strcmp(p->architecture, "x86_64") || !strcmp(p->architecture, "x86-64")) {
		free(p->architecture);
		p->architecture = xstrdup("amd64");
	} else if (!strcmp(p->architecture, "aarch64")) {
		free(p->architecture);
		p->architecture = xstrdup("arm64");
	}
	ok = false;
	for (size_t i = 0; i < ARRAY_SIZE(known_arch); i++)
		ok |= !strcmp(p->architecture, known_arch[i]);
	if (!ok)
		return berr_set(err, BERR_INPUT, "invalid platform '%s': unknown architecture '%s'",
				text, p->architecture);
	if (p->variant && !strcmp(p->architecture, "arm64") && !strcmp(p->variant, "v8")) {
		free(p->variant);
		p->variant = NULL;
	}
	return 0;
}

static int platform_from_text(const char *text, struct img_platform *out, struct berr **err)
{
	if (img_platform_parse(text, out, err) < 0)
		return -1;
	if (platform_check(out, text, err) < 0) {
		img_platform_clear(out);
		return -1;
	}
	return 0;
}

void bld_plan_platform_args(const struct bld_plan *p, const struct img_platform *t,
			    struct df_env *env)
{
	_cleanup_free_ char *tp = img_platform_format(t);
	_cleanup_free_ char *bp = img_platform_format(&p->build_platform);
	df_env_set(env, "BUILDPLATFORM", bp);
	df_env_set(env, "BUILDOS", p->build_platform.os);
	df_env_set(env, "BUILDARCH", p->build_platform.architecture);
	df_env_set(env, "BUILDVARIANT", p->build_platform.variant ? p->build_platform.variant : "");
	df_env_set(env, "TARGETPLATFORM", tp);
	df_env_set(env, "TARGETOS", t->os);
	df_env_set(env, "TARGETARCH", t->architecture);
	df_env_set(env, "TARGETVARIANT", t->variant ? t->variant : "");
}

void bld_plan_free(struct bld_plan *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++) {
		free(p->st[i].name);
		free(p->st[i].base);
		free(p->st[i].deps);
		img_platform_clear(&p->st[i].platform);
	}
	free(p->st);
	free(p->order);
	img_platform_clear(&p->build_platform);
	img_platform_clear(&p->target_platform);
	df_env_free(p->global);
	df_env_free(p->build_args);
	df_stages_free(p->stages);
	df_file_free(p->file);
	free(p);
}

long bld_plan_find_stage(const struct bld_plan *p, const char *ref, size_t before)
{
	_cleanup_free_ char *low = xstrdup(ref);
	for (char *c = low; *c; c++)
		*c = (char)tolower((unsigned char)*c);
	for (size_t i = 0; i < before && i < p->n; i++)
		if (p->st[i].name[0] && !strcmp(p->st[i].name, low))
			return (long)i;
	/* a decimal index ("COPY --from=0") */
	if (*ref && strspn(ref, "0123456789") == strlen(ref) && strlen(ref) < 9) {
		long v = strtol(ref, NULL, 10);
		if ((size_t)v < before && (size_t)v < p->n)
			return v;
	}
	return -1;
}

static bool is_named_context(const struct bld_plan_opts *o, const char *name)
{
	for (size_t i = 0; i < o->n_named_contexts; i++)
		if (!strcmp(o->named_contexts[i], name))
			return true;
	return false;
}

static int add_dep(struct bld_stage_plan *s, size_t d)
{
	for (size_t i = 0; i < s->ndeps; i++)
		if (s->deps[i] == d)
			return 0;
	s->deps = xreallocarray(s->deps, s->ndeps + 1, sizeof(*s->deps));
	s->deps[s->ndeps++] = d;
	return 0;
}

static int at(struct berr **err, const struct bld_plan *p, const struct df_node *n, int code,
	      const char *fmt, const char *a)
{
	berr_set(err, code, fmt, a);
	berr_locate(err, p->file->name, n ? n->start_line : 0, n ? n->col : 0);
	return -1;
}

/* Stage dependencies other than FROM: COPY --from and RUN --mount from=. */
static int stage_deps(struct bld_plan *p, const struct bld_plan_opts *o, size_t si,
		      struct berr **err)
{
	struct bld_stage_plan *s = &p->st[si];
	for (size_t k = 0; k < s->st->ncmds; k++) {
		const struct df_instr *in = s->st->cmds[k];
		const char *from = NULL;
		if (in->kind == DF_I_COPY && in->u.copy.from[0])
			from = in->u.copy.from;
		if (from) {
			/* BuildKit looks COPY --from names up among all stages
			 * (forward references allowed, cycles detected later); a
			 * name that is no stage is an image reference, checked
			 * when the step runs */
			long d = is_named_context(o, from) ? -1 : bld_plan_find_stage(p, from, p->n);
			if (d == (long)si)
				return at(err, p, in->node, BERR_INPUT,
					  "circular dependency detected on stage: %s", from);
			if (d >= 0)
				add_dep(s, (size_t)d);
		}
		if (in->kind == DF_I_RUN) {
			for (size_t m = 0; m < in->u.run.nmounts; m++) {
				const char *f = in->u.run.mounts[m].from;
				if (!f || !f[0])
					continue;
				long d = bld_plan_find_stage(p, f, p->n);
				if (d == (long)si)
					return at(err, p, in->node, BERR_INPUT,
						  "circular dependency detected on stage: %s", f);
				if (d >= 0)
					add_dep(s, (size_t)d);
			}
		}
	}
	return 0;
}

/* Depth-first walk from the target: marks reachable stages, appends them
 * in dependency order (post-order) and reports a cycle. state: 0 unvisited,
 * 1 on the walk's path, 2 done. The depth is bounded by the stage count. */
static int visit(struct bld_plan *p, size_t i, unsigned char *state, struct berr **err)
{
	if (state[i] == 2)
		return 0;
	if (state[i] == 1) {
		const struct df_node *n = p->st[i].st->from->node;
		return at(err, p, n, BERR_INPUT, "circular dependency detected on stage: %s",
			  p->st[i].name[0] ? p->st[i].name : "(unnamed)");
	}
	state[i] = 1;
	for (size_t k = 0; k < p->st[i].ndeps; k++)
		if (visit(p, p->st[i].deps[k], state, err) < 0)
			return -1;
	state[i] = 2;
	p->st[i].reachable = true;
	p->order[p->norder++] = i;
	return 0;
}

static int resolve_build_args(struct bld_plan *p, const struct bld_plan_opts *o,
			      struct berr **err)
{
	p->build_args = df_env_new(false);
	for (size_t i = 0; i < o->n_build_args; i++) {
		const char *a = o->build_args[i];
		const char *eq = strchr(a, '=');
		if (eq == a || !*a)
			return berr_set(err, BERR_USAGE, "invalid --build-arg '%s': empty name", a);
		if (eq) {
			df_env_set_kv(p->build_args, a);
		} else {
			/* docker: a name alone takes the value from the environment,
			 * and is ignored when the variable is unset */
			const char *v = getenv(a);
			if (v)
				df_env_set(p->build_args, a, v);
		}
	}
	return 0;
}

int bld_plan_new(const char *df_name, const char *df_text, size_t df_len,
		 const struct bld_plan_opts *o, struct bld_plan **out, struct berr **err)
{
	_cleanup_bld_plan_ struct bld_plan *p = xcalloc(1, sizeof(*p));
	if (df_parse(df_name, df_text, df_len, &p->file, err) < 0)
		return -1;
	struct df_stages_fail fail = { 0 };
	if (df_stages_parse(p->file, &p->stages, &fail, err) < 0) {
		if (fail.instr_error && fail.node)
			berr_wrap(err, "dockerfile parse error on line %d", fail.node->start_line);
		return -1;
	}
	if (p->stages->nstages == 0)
		return berr_set_at(err, BERR_INPUT, p->file->name, 1, 1,
				   "the Dockerfile has no FROM instruction");
	if (resolve_build_args(p, o, err) < 0)
		return -1;

	img_host_platform(&p->build_platform);
	if (o->platform && *o->platform) {
		if (platform_from_text(o->platform, &p->target_platform, err) < 0)
			return berr_wrap(err, "--platform");
		p->explicit_platform = true;
	} else {
		img_platform_copy(&p->target_platform, &p->build_platform);
	}

	/* global scope: predefined platform args, proxy build args, meta ARGs */
	p->global = df_env_new(false);
	bld_plan_platform_args(p, &p->target_platform, p->global);
	for (size_t i = 0; i < ARRAY_SIZE(predefined_proxy); i++) {
		const char *v = df_env_get(p->build_args, predefined_proxy[i]);
		if (v)
			df_env_set(p->global, predefined_proxy[i], v);
	}
	struct df_lexer lex = DF_LEXER_INIT(p->file->escape);
	for (size_t i = 0; i < p->stages->nmeta_args; i++) {
		const struct df_instr *in = p->stages->meta_args[i];
		for (size_t k = 0; k < in->u.arg.n; k++) {
			const struct df_argdef *a = &in->u.arg.args[k];
			const char *bv = df_env_get(p->build_args, a->key);
			if (bv) {
				df_env_set(p->global, a->key, bv);
			} else if (a->value) {
				_cleanup_free_ char *v =
					df_shell_process_word(&lex, a->value, p->global, NULL, err);
				if (!v) {
					berr_locate(err, p->file->name, in->node->start_line, in->node->col);
					return -1;
				}
				df_env_set(p->global, a->key, v);
			}
		}
	}

	p->n = p->stages->nstages;
	p->st = xcalloc(p->n, sizeof(*p->st));
	for (size_t i = 0; i < p->n; i++) {
		struct bld_stage_plan *s = &p->st[i];
		const struct df_instr *from = p->stages->stages[i].from;
		s->st = &p->stages->stages[i];
		s->index = i;
		s->name = xstrdup(from->u.from.name);
		for (size_t j = 0; j < i; j++)
			if (s->name[0] && !strcmp(p->st[j].name, s->name))
				return at(err, p, from->node, BERR_INPUT,
					  "duplicate stage name '%s'", s->name);
		s->base = df_shell_process_word(&lex, from->u.from.base, p->global, NULL, err);
		if (!s->base) {
			berr_locate(err, p->file->name, from->node->start_line, from->node->col);
			return -1;
		}
		if (!*s->base)
			return at(err, p, from->node, BERR_INPUT,
				  "base name (%s) should not be blank", from->u.from.base);
		if (from->u.from.platform[0]) {
			_cleanup_free_ char *pl = df_shell_process_word(&lex, from->u.from.platform,
									p->global, NULL, err);
			if (!pl || platform_from_text(pl, &s->platform, err) < 0) {
				berr_wrap(err, "FROM --platform");
				berr_locate(err, p->file->name, from->node->start_line, from->node->col);
				return -1;
			}
			s->explicit_platform = true;
		} else {
			img_platform_copy(&s->platform, &p->target_platform);
			s->explicit_platform = p->explicit_platform;
		}
		long bs = -1;
		if (!strcasecmp(s->base, "scratch")) {
			s->base_kind = BLD_BASE_SCRATCH;
		} else if (!is_named_context(o, s->base) && !isdigit((unsigned char)s->base[0]) &&
			   (bs = bld_plan_find_stage(p, s->base, i)) >= 0) {
			/* FROM sees only the stages above it (BuildKit) */
			s->base_kind = BLD_BASE_STAGE;
			s->base_stage = (size_t)bs;
			add_dep(s, (size_t)bs);
		} else {
			s->base_kind = BLD_BASE_IMAGE;
		}
	}
	for (size_t i = 0; i < p->n; i++)
		if (stage_deps(p, o, i, err) < 0)
			return -1;

	if (o->target && *o->target) {
		long t = bld_plan_find_stage(p, o->target, p->n);
		if (t < 0 || isdigit((unsigned char)o->target[0]))
			return berr_set(err, BERR_USAGE, "target stage '%s' could not be found",
					o->target);
		p->target = (size_t)t;
	} else {
		p->target = p->n - 1;
	}
	p->order = xcalloc(p->n, sizeof(*p->order));
	_cleanup_free_ unsigned char *state = xcalloc(p->n, 1);
	if (visit(p, p->target, state, err) < 0)
		return -1;
	*out = steal_pointer(&p);
	return 0;
}
