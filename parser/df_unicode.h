/* Unicode helpers that mirror Go's behaviour where BuildKit's parser relies
 * on it (utf8.DecodeRune, unicode.IsSpace/IsLetter/IsDigit/ToLower,
 * strconv.IsPrint). Owner: parser (internal to parser/, also used by the
 * printers). Tables come from parser/df_unicode_tables.h (generated). */
#ifndef BERTH_DF_UNICODE_H
#define BERTH_DF_UNICODE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DF_RUNE_ERROR 0xFFFDu

/* Go utf8.DecodeRune: n must be > 0. Invalid or truncated input decodes as
 * DF_RUNE_ERROR with width 1; returns the width. */
size_t df_utf8_decode(const char *s, size_t n, uint32_t *r);
/* Go utf8.EncodeRune: surrogates and values past U+10FFFF encode U+FFFD. */
size_t df_utf8_encode(uint32_t r, char out[4]);
bool df_uni_isspace(uint32_t r);   /* unicode.IsSpace */
bool df_uni_isprint(uint32_t r);   /* strconv.IsPrint */
bool df_uni_isletter(uint32_t r);  /* unicode.IsLetter */
bool df_uni_isdigit(uint32_t r);   /* unicode.IsDigit */
uint32_t df_uni_tolower(uint32_t r); /* unicode.ToLower (simple mapping) */

/* Length of the prefix of s made of Unicode whitespace (Go TrimLeftFunc). */
size_t df_uni_space_prefix(const char *s, size_t n);
/* Length of s once trailing Unicode whitespace is removed. */
size_t df_uni_trim_right(const char *s, size_t n);
/* Go strings.ToLower: malloc'd result; invalid UTF-8 becomes U+FFFD unless
 * the input is pure ASCII. */
char *df_uni_lower(const char *s, size_t n);

#endif
