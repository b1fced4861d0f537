/* Fuzz target for the shell-word lexer (parser/df_shell.c).
 * Input: byte 0 selects options (bit 0 escape '`', 1 raw quotes, 2 raw
 * escapes, 3 skip quote processing, 4 skip unset env, 5 Windows names);
 * the rest is split on '\n': the first line is the word, the following
 * lines are KEY=VALUE environment entries. Checks that processing never
 * crashes or leaks and that both entry points agree. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_shell.h"
#include "common/common.h"

#define FUZZ_MAX_ENV 64

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1 || size > 65536)
		return 0;
	uint8_t flags = data[0];
	struct df_lexer lex = DF_LEXER_INIT(flags & 1 ? '`' : '\\');
	lex.raw_quotes = flags & 2;
	lex.raw_escapes = flags & 4;
	lex.skip_process_quotes = flags & 8;
	lex.skip_unset_env = flags & 16;
	_cleanup_df_env_ struct df_env *env = df_env_new(flags & 32);

	const char *p = (const char *)data + 1, *end = (const char *)data + size;
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	_cleanup_free_ char *word = xstrndup(p, (size_t)((nl ? nl : end) - p));
	int nenv = 0;
	while (nl && nenv < FUZZ_MAX_ENV) {
		p = nl + 1;
		nl = memchr(p, '\n', (size_t)(end - p));
		_cleanup_free_ char *kv = xstrndup(p, (size_t)((nl ? nl : end) - p));
		df_env_set_kv(env, kv);
		nenv++;
	}

	struct df_shell_result res;
	struct berr *err = NULL;
	int rc = df_shell_process(&lex, word, env, &res, &err);
	char *w = df_shell_process_word(&lex, word, env, NULL, NULL);
	if ((rc == 0) != (w != NULL))
		abort();
	if (rc == 0) {
		if (strcmp(w, res.word) != 0)
			abort();
		for (size_t i = 0; i < res.nwords; i++)
			if (!res.words[i][0])
				abort();
		if (res.words[res.nwords])
			abort();
	} else if (!err || !err->msg) {
		abort();
	}
	free(w);
	df_shell_result_release(&res);
	berr_free(err);
	return 0;
}
