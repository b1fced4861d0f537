/* Exec-form detection: decode a JSON array of strings exactly as Go's
 * encoding/json.Unmarshal into []interface{} accepts it. Owner: parser
 * (internal). cJSON is not used here because its acceptance differs from
 * Go's (trailing text, strtod numbers, raw control characters, NUL in
 * strings, nesting limit 1000 vs 10000). */
#ifndef BERTH_DF_JSON_H
#define BERTH_DF_JSON_H

#include <stddef.h>

/* Go's encoding/json scanner refuses documents nested deeper than this. */
#define DF_JSON_MAX_DEPTH 10000

enum df_json_result {
	DF_JSON_INVALID = 0,   /* not valid JSON (or not an array): shell form */
	DF_JSON_STRINGS,       /* valid array of strings: exec form */
	DF_JSON_NOT_STRINGS,   /* valid array with a non-string element: fatal */
};

/* s[0..n) is the whole candidate text. On DF_JSON_STRINGS *items and *lens
 * hold *count decoded strings (NUL-terminated; a \u0000 escape may put a
 * NUL inside, hence the lengths); the caller frees them. */
enum df_json_result df_json_string_array(const char *s, size_t n, char ***items,
					 size_t **lens, size_t *count);

#endif
