/* cli/: helpers shared by commands — the --format and --date option values,
 * JSON documents printed to stdout, and cleanup for the cJSON trees and
 * knowledge bases commands hold. Only cli/ includes this (it prints). */
#ifndef BERTH_CLI_UTIL_H
#define BERTH_CLI_UTIL_H

#include <cjson/cJSON.h>
#include "cli/cli.h"
#include "common/cleanup.h"
#include "compat/wc.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)
DEFINE_CLEANUP_FUNC(struct wc_kb *, wc_kb_free)
#define _cleanup_kb_ _cleanup_(wc_kb_free_ptr)

/* Indexes into cli_formats_text_json[] / cli_formats_text_json_sarif[]. */
enum cli_format { CLI_FMT_TEXT, CLI_FMT_JSON, CLI_FMT_SARIF };
extern const char *const cli_formats_text_json[];        /* text, json */
extern const char *const cli_formats_text_json_sarif[];  /* text, json, sarif */

/* --format VALUE: *out = VALUE's index in `names` (NULL-terminated). Else a
 * usage error "invalid --format 'VALUE' (want a, b or c)"; returns its exit
 * code (2), 0 on success. */
int cli_parse_format(const struct cli_command *cmd, const char *value, const char *const *names,
		     int *out);
/* --date YYYY-MM-DD into day[11]; else a usage error, returns 2 (0 on success). */
int cli_parse_date(const struct cli_command *cmd, const char *value, char day[11]);
/* The document, indented, and a newline on stdout. */
void cli_print_json(const cJSON *j);

#endif
