/* Build plan: from the validated stages of a Dockerfile to the list of
 * stages a build runs, with global (meta) ARGs, --build-arg values, the
 * predefined platform and proxy args, FROM expansion, stage names, per-stage
 * platforms, and reachability from the target (FROM a stage, COPY --from,
 * RUN --mount from=). Mirrors BuildKit's dockerfile2llb planning.
 *
 * Ownership: struct bld_plan owns the parsed file, the stages and every
 * string in it; bld_plan_free accepts NULL. Errors carry Dockerfile:line:col. */
#ifndef BERTH_BLD_PLAN_H
#define BERTH_BLD_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"
#include "image/img_model.h"
#include "parser/df_ast.h"
#include "parser/df_instr.h"
#include "parser/df_shell.h"

/* Inputs of a plan (borrowed). */
struct bld_plan_opts {
	char *const *build_args;  /* "K=V", or "K" (value from the environment) */
	size_t n_build_args;
	const char *target;       /* stage name or NULL for the last stage */
	const char *platform;     /* --platform or NULL (host) */
	/* names given with --build-context NAME=...: FROM NAME / COPY --from=NAME
	 * refer to them instead of an image or stage */
	char *const *named_contexts;
	size_t n_named_contexts;
};

enum bld_base_kind {
	BLD_BASE_SCRATCH = 0,
	BLD_BASE_STAGE,      /* base_stage is the index */
	BLD_BASE_IMAGE,      /* base is a reference (local store / named context) */
};

struct bld_stage_plan {
	const struct df_stage *st; /* borrowed from plan->stages */
	size_t index;
	char *name;                /* lower-cased stage name, "" when unnamed */
	char *base;                /* FROM image after expansion */
	enum bld_base_kind base_kind;
	size_t base_stage;
	struct img_platform platform; /* FROM --platform, else the target platform */
	bool explicit_platform;
	bool reachable;
	size_t *deps;              /* stages this stage needs (FROM, COPY --from, mounts) */
	size_t ndeps;
};

struct bld_plan {
	struct df_file *file;
	struct df_stages *stages;
	struct bld_stage_plan *st;
	size_t n;
	size_t target;             /* index of the target stage */
	struct img_platform build_platform, target_platform;
	bool explicit_platform;    /* --platform given */
	struct df_env *global;     /* meta args + predefined args (FROM expansion) */
	struct df_env *build_args; /* --build-arg values, resolved */
	size_t *order;             /* reachable stages in dependency order */
	size_t norder;
};

/* Parse `df_text` (named `df_name` in errors) and plan it. */
int bld_plan_new(const char *df_name, const char *df_text, size_t df_len,
		 const struct bld_plan_opts *o, struct bld_plan **out, struct berr **err);
void bld_plan_free(struct bld_plan *p);

/* Stage referenced by `ref` (a name, or a decimal index lower than
 * `before`), or -1 when none. */
long bld_plan_find_stage(const struct bld_plan *p, const char *ref, size_t before);

/* true when an ARG of that name is predefined (platform or proxy args) */
bool bld_arg_is_predefined(const char *name);

/* Sets the TARGET* and BUILD* variables into env from the platforms. */
void bld_plan_platform_args(const struct bld_plan *p, const struct img_platform *target,
			    struct df_env *env);

DEFINE_CLEANUP_FUNC(struct bld_plan *, bld_plan_free)
#define _cleanup_bld_plan_ _cleanup_(bld_plan_free_ptr)

#endif
