/* compat/ rebuild matrix: which Windows releases to rebuild a Dockerfile for,
 * with base tags, build-arg values, CI runner labels and os.version per row.
 *
 * The Dockerfile is read by a minimal ARG/FROM scanner (wc_df_scan), enough
 * for this purpose: parser directives (# escape=), line continuations,
 * comments and heredoc bodies are handled; nothing else is interpreted.
 * TODO(df_parse): switch to parser/df_ast.h + df_parse() after merge.
 *
 * Ownership: struct wc_df and struct wc_matrix own all their strings;
 * release/runner pointers borrow from the kb. */
#ifndef BERTH_WC_MATRIX_H
#define BERTH_WC_MATRIX_H

#include "compat/wc.h"

#define WC_DF_MAX_SIZE (1u << 20)    /* Dockerfile size cap */
#define WC_DF_MAX_LINE (256u << 10)  /* logical line cap */

struct wc_df_arg {
	char *name, *value;     /* value NULL when declared without default */
	int line;
	bool global;            /* before the first FROM */
};

struct wc_df_from {
	char *image;            /* as written, variables unexpanded */
	char *platform;         /* --platform value or NULL */
	char *alias;            /* AS name or NULL */
	int line;
};

struct wc_df {
	char escape;
	struct wc_df_arg *args;
	size_t nargs, capargs;
	struct wc_df_from *froms;
	size_t nfroms, capfroms;
};

int wc_df_scan(const char *text, size_t len, const char *name, struct wc_df *out, struct berr **err);
void wc_df_release(struct wc_df *df);
/* Expand $VAR / ${VAR} / ${VAR:-def} / ${VAR-def} from (name,value) pairs;
 * unknown variables expand to "". Caller frees. */
char *wc_df_expand(const char *s, char escape, char *const *names, char *const *values, size_t n);

struct wc_kv {
	char *key, *value;
};

struct wc_matrix_row {
	const struct wc_release *rel;
	char tag_suffix[32];          /* "-ltsc2022" */
	char **bases;                 /* one expanded base ref per Windows FROM */
	size_t nbases;
	struct wc_kv *args;           /* build-arg values for this row */
	size_t nargs;
	const struct wc_runner *runner; /* GitHub runner with this build, or NULL */
	bool runner_retired;
	enum wc_support support;
	char **notes;
	size_t nnotes;
};

struct wc_matrix_skip {
	const struct wc_release *rel;
	char *reason;
};

struct wc_matrix {
	char **params;                /* ARG names used by Windows FROM lines */
	size_t nparams;
	char **from_lines;            /* the Windows FROM images as written */
	int *from_line_nos;
	size_t nfroms;
	struct wc_matrix_row *rows;
	size_t nrows;
	struct wc_matrix_skip *skipped;
	size_t nskipped;
	char **notes;
	size_t nnotes;
};

struct wc_matrix_opts {
	const char *releases;         /* comma-separated list, NULL = default set */
	bool include_eol;
	const char *today;            /* YYYY-MM-DD */
};

int wc_matrix_build(const struct wc_kb *kb, const struct wc_df *df, const char *dfname,
		    const struct wc_matrix_opts *o, struct wc_matrix *m, struct berr **err);
void wc_matrix_release(struct wc_matrix *m);

#endif
