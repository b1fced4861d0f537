/* Helpers shared by the df_instr*.c files; not a public interface. */
#ifndef BERTH_DF_INSTR_INT_H
#define BERTH_DF_INSTR_INT_H

#include <stdbool.h>
#include <stddef.h>
#include "parser/df_instr.h"

/* BuildKit's suggest.WrapError match: the closest option, or NULL. A
 * case-insensitive match is returned in val's case (*owned then holds it). */
const char *df_suggest(const char *val, const char *const *opts, size_t nopts,
		       bool case_sensitive, char **owned);
/* Go strconv.Quote of s, malloc'ed (wraps df_print.h's df_go_quote). */
char *df_quote_str(const char *s);
void df_strv_clear(struct df_strv *v);
/* parser.MustParseHeredoc: is src a heredoc word like <<EOF, <<-'EOF'? */
bool df_heredoc_parse_word(const char *src, char **name, bool *chomp, bool *expand);

#endif
