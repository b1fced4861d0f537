/* ARG and FROM of a Dockerfile for the rebuild matrix and the workflow
 * audit, read with the shared parser: df_parse() (parser/df_ast.h), then
 * df_stages_parse() (parser/df_instr.h), which validates every instruction
 * as BuildKit does before a build. Expansion uses parser/df_shell.h with
 * the file's escape character, as BuildKit expands FROM. */
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc_matrix.h"
#include "parser/df_ast.h"
#include "parser/df_instr.h"
#include "parser/df_shell.h"

DEFINE_CLEANUP_FUNC(struct df_file *, df_file_free)
DEFINE_CLEANUP_FUNC(struct df_stages *, df_stages_free)

void wc_df_release(struct wc_df *df)
{
	for (size_t i = 0; i < df->nargs; i++) {
		free(df->args[i].name);
		free(df->args[i].value);
	}
	free(df->args);
	for (size_t i = 0; i < df->nfroms; i++) {
		free(df->froms[i].image);
		free(df->froms[i].platform);
		free(df->froms[i].alias);
	}
	free(df->froms);
	memset(df, 0, sizeof(*df));
}

static void add_arg(struct wc_df *df, const struct df_argdef *a, char *value, int line, bool global)
{
	XGROW(df->args, df->nargs + 1, df->capargs);
	struct wc_df_arg *x = &df->args[df->nargs++];
	x->name = xstrdup(a->key);
	x->value = value;
	x->line = line;
	x->global = global;
}

/* Global ARG defaults are expanded in order against the ARGs before them,
 * as BuildKit does for meta args (quotes removed, ${A}-x resolved). */
static int add_meta_args(struct wc_df *df, const struct df_file *f, const struct df_stages *st,
			 struct berr **err)
{
	struct df_lexer lex = DF_LEXER_INIT(f->escape);
	_cleanup_(df_env_free_ptr) struct df_env *env = df_env_new(false);
	for (size_t i = 0; i < st->nmeta_args; i++) {
		const struct df_instr *in = st->meta_args[i];
		for (size_t j = 0; j < in->u.arg.n; j++) {
			const struct df_argdef *a = &in->u.arg.args[j];
			char *v = NULL;
			if (a->value) {
				v = df_shell_process_word(&lex, a->value, env, NULL, err);
				if (!v) {
					berr_locate(err, f->name, in->node->start_line, in->node->col);
					return -1;
				}
				df_env_set(env, a->key, v);
			}
			add_arg(df, a, v, in->node->start_line, true);
		}
	}
	return 0;
}

int wc_df_scan(const char *text, size_t len, const char *name, struct wc_df *df, struct berr **err)
{
	memset(df, 0, sizeof(*df));
	df->escape = '\\';
	if (len > WC_DF_MAX_SIZE)
		return berr_set(err, BERR_LIMIT, "%s: larger than %u bytes", name, WC_DF_MAX_SIZE);
	_cleanup_(df_file_free_ptr) struct df_file *f = NULL;
	if (df_parse(name, text, len, &f, err) < 0)
		return -1;
	df->escape = f->escape;
	_cleanup_(df_stages_free_ptr) struct df_stages *st = NULL;
	if (df_stages_parse(f, &st, NULL, err) < 0)
		return -1;
	if (add_meta_args(df, f, st, err) < 0) {
		wc_df_release(df);
		return -1;
	}
	for (size_t s = 0; s < st->nstages; s++) {
		const struct df_instr *from = st->stages[s].from;
		XGROW(df->froms, df->nfroms + 1, df->capfroms);
		struct wc_df_from *x = &df->froms[df->nfroms++];
		x->image = xstrdup(from->u.from.base);
		x->platform = *from->u.from.platform ? xstrdup(from->u.from.platform) : NULL;
		x->alias = *from->u.from.name ? xstrdup(from->u.from.name) : NULL;
		x->line = from->node->start_line;
		for (size_t c = 0; c < st->stages[s].ncmds; c++) {
			const struct df_instr *in = st->stages[s].cmds[c];
			if (in->kind != DF_I_ARG)
				continue;
			for (size_t j = 0; j < in->u.arg.n; j++) {
				const struct df_argdef *a = &in->u.arg.args[j];
				add_arg(df, a, a->value ? xstrdup(a->value) : NULL, in->node->start_line,
					false);
			}
		}
	}
	return 0;
}

char *wc_df_expand_word(const struct wc_df *df, const char *word, char *const *names,
			char *const *values, size_t n, struct df_shell_vars *vars, struct berr **err)
{
	struct df_lexer lex = DF_LEXER_INIT(df->escape ? df->escape : '\\');
	_cleanup_(df_env_free_ptr) struct df_env *env = df_env_new(false);
	for (size_t i = 0; i < n; i++)
		if (values[i])
			df_env_set(env, names[i], values[i]);
	return df_shell_process_word(&lex, word, env, vars, err);
}
