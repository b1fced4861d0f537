/* Helpers shared by cli/ commands (see cli_util.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "common/common.h"

const char *const cli_formats_text_json[] = { "text", "json", NULL };
const char *const cli_formats_text_json_sarif[] = { "text", "json", "sarif", NULL };

int cli_parse_format(const struct cli_command *cmd, const char *value, const char *const *names,
		     int *out)
{
	size_t n = 0;
	for (; names[n]; n++) {
		if (strcmp(value, names[n]) == 0) {
			*out = (int)n;
			return 0;
		}
	}
	/* "a", "a or b", "a, b or c" */
	struct bbuf want = BBUF_INIT;
	for (size_t i = 0; i < n; i++)
		bbuf_addf(&want, NULL, "%s%s", i == 0 ? "" : i + 1 == n ? " or " : ", ", names[i]);
	int rc = cli_usage_error(cmd, "invalid --format '%s' (want %s)", value, bbuf_str(&want));
	bbuf_release(&want);
	return rc;
}

int cli_parse_date(const struct cli_command *cmd, const char *value, char day[11])
{
	if (!wc_date_valid(value))
		return cli_usage_error(cmd, "invalid --date '%s' (want YYYY-MM-DD)", value);
	snprintf(day, 11, "%s", value);
	return 0;
}

void cli_print_json(const cJSON *j)
{
	char *s = cJSON_Print(j);
	if (s) {
		fputs(s, stdout);
		fputc('\n', stdout);
	}
	free(s);
}
