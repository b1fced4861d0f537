/* Printers for the Dockerfile syntax tree. Owner: parser.
 *   buildkit: BuildKit's AST Dump() + "\n", byte for byte (testfiles/result)
 *   json:     berth's stable schema, documented in docs/parse-json.md
 *   tree:     readable outline for people (not a stable format)
 * Output is appended to `out`; printing cannot fail. */
#ifndef BERTH_DF_PRINT_H
#define BERTH_DF_PRINT_H

#include <stddef.h>
#include "common/buf.h"
#include "parser/df_ast.h"

void df_print_buildkit(const struct df_file *f, struct bbuf *out);
void df_print_json(const struct df_file *f, struct bbuf *out);
void df_print_tree(const struct df_file *f, struct bbuf *out);

/* Go strconv.Quote of s[0..n): printable runes raw, \a\b\f\n\r\t\v, other
 * control bytes and invalid UTF-8 bytes as \xHH, other non-printable runes
 * as \uHHHH / \UHHHHHHHH. */
void df_go_quote(struct bbuf *out, const char *s, size_t n);
/* JSON string literal; invalid UTF-8 becomes U+FFFD (as Go's encoder does). */
void df_json_quote(struct bbuf *out, const char *s, size_t n);

#endif
