/* Dockerfile shell-word lexer: quote removal, $VAR / ${VAR...} expansion and
 * word splitting, as BuildKit's frontend/dockerfile/shell/lex.go does them
 * when instructions are dispatched (ENV, COPY, WORKDIR, USER, EXPOSE...).
 * docs/internals-shell.md lists the supported forms and the few differences.
 *
 * Ownership: a df_env owns copies of its keys and values. Every string and
 * array returned by df_shell_* is owned by the caller (free(),
 * df_shell_strv_free(), df_shell_vars_release(), df_shell_result_release()).
 * Nothing here keeps global state; a df_lexer is plain options and may be
 * shared between threads, a df_env may be read concurrently. */
#ifndef BERTH_DF_SHELL_H
#define BERTH_DF_SHELL_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"
#include "common/cleanup.h"

/* Limits: input word length, length of any expanded result, nesting depth
 * of ${...} inside ${...} (each level recurses on the C stack), and the
 * backtracking budget of one pattern match (BuildKit's Go regexp is linear;
 * PCRE2 can backtrack, so a pathological pattern fails instead of hanging). */
#define DF_SHELL_MAX_INPUT (4u << 20)
#define DF_SHELL_MAX_OUTPUT (16u << 20)
#define DF_SHELL_MAX_DEPTH 64
#define DF_SHELL_MATCH_LIMIT 5000000u
/* an error message quotes at most this many bytes of the input word */
#define DF_SHELL_ERR_QUOTE_MAX 1024

/* ---- environment ---------------------------------------------------- */

/* Variables visible to expansion. Lookups are hashed. In Windows mode names
 * compare case-insensitively (BuildKit upper-cases them: NormalizeEnvKey),
 * so $pwd finds PWD. Setting an existing name replaces its value and keeps
 * its position and first spelling. */
struct df_env;

struct df_env *df_env_new(bool windows);
void df_env_free(struct df_env *env);
bool df_env_windows(const struct df_env *env);
void df_env_set(struct df_env *env, const char *key, const char *value);
/* "KEY=VALUE"; a string without '=' sets KEY to the empty string
 * (BuildKit EnvsFromSlice). */
void df_env_set_kv(struct df_env *env, const char *kv);
/* Value of name, NULL when unset (a set-but-empty variable gives ""). The
 * pointer stays valid until the variable is set again or env is freed. */
const char *df_env_get(const struct df_env *env, const char *name);
/* Entries in first-insertion order. */
size_t df_env_count(const struct df_env *env);
const char *df_env_key(const struct df_env *env, size_t i);
const char *df_env_value(const struct df_env *env, size_t i);

DEFINE_CLEANUP_FUNC(struct df_env *, df_env_free)
#define _cleanup_df_env_ _cleanup_(df_env_free_ptr)

/* ---- lexer options -------------------------------------------------- */

struct df_lexer {
	char escape;              /* '\\' (default) or '`' (# escape=`) */
	bool raw_quotes;          /* keep quote characters (BuildKit RawQuotes) */
	bool raw_escapes;         /* keep escape characters (RawEscapes) */
	bool skip_process_quotes; /* quotes are ordinary characters (SkipProcessQuotes) */
	bool skip_unset_env;      /* leave $X, ${X}, ${X:-w} as written when X is unset
	                           * (SkipUnsetEnv: heredoc detection, step names) */
};
#define DF_LEXER_INIT(esc) { (esc), false, false, false, false }

/* Names a word referred to: found in env (matched) or not (unmatched), as
 * written, sorted bytewise, without duplicates. The builder uses matched
 * names for cache keys, lint uses unmatched ones for undefined-var checks.
 * Processing adds to an existing set; zero-initialize before first use. */
struct df_shell_vars {
	char **matched;
	size_t nmatched, cap_matched;
	char **unmatched;
	size_t nunmatched, cap_unmatched;
};
void df_shell_vars_release(struct df_shell_vars *vars);
bool df_shell_vars_has_matched(const struct df_shell_vars *vars, const char *name);
bool df_shell_vars_has_unmatched(const struct df_shell_vars *vars, const char *name);

/* ---- processing ----------------------------------------------------- */

struct df_shell_result {
	char *word;            /* ProcessWord: quotes removed, expanded, spaces kept */
	char **words;          /* ProcessWords: split on unquoted whitespace; NULL-terminated */
	size_t nwords;
	struct df_shell_vars vars;
};
void df_shell_result_release(struct df_shell_result *res);

/* Processes input once and fills *res (zeroed first) with both the single
 * word and the split words. env may be NULL (no variables). On error returns
 * -1, *res is left empty and *err says
 *   failed to process "<input>": <reason>
 * (BERR_INPUT for syntax/unset errors, BERR_LIMIT for the limits above);
 * the caller adds file:line. */
int df_shell_process(const struct df_lexer *lex, const char *input,
		     const struct df_env *env, struct df_shell_result *res,
		     struct berr **err);

/* ProcessWord: returns the expanded word (caller frees) or NULL. vars, if
 * not NULL, receives the referenced names (added to what it holds). */
char *df_shell_process_word(const struct df_lexer *lex, const char *word,
			    const struct df_env *env, struct df_shell_vars *vars,
			    struct berr **err);

/* ProcessWords: returns a NULL-terminated array (free with
 * df_shell_strv_free) and its length in *nwords (may be NULL), or NULL. */
char **df_shell_process_words(const struct df_lexer *lex, const char *word,
			      const struct df_env *env, size_t *nwords,
			      struct berr **err);
void df_shell_strv_free(char **v);

#endif
