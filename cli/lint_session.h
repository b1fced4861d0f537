/* cli/: shared setup for `berth lint` and `berth hook run`: knowledge base,
 * .berth.json, target hosts (--target-host, --fleet) and lint options.
 * The session owns everything it holds (cli_lint_session_release). */
#ifndef BERTH_CLI_LINT_SESSION_H
#define BERTH_CLI_LINT_SESSION_H

#include <stdbool.h>
#include "common/berr.h"
#include "compat/wc.h"
#include "lint/lint.h"

struct cli_lint_args {
	const char *config;        /* --config, NULL: search from config_dir */
	const char *config_dir;    /* where to start looking for .berth.json */
	bool no_config;
	const char *releases;      /* --releases KB file */
	char **hosts;              /* --target-host values */
	size_t nhosts;
	const char *fleet;
	char **ignore;             /* --ignore values (comma lists allowed) */
	size_t nignore;
	const char *date;          /* --date, NULL: today */
	const char *fail_on;       /* NULL: config, else "warning" */
	const char *format;        /* NULL: config, else "text" */
};

struct cli_lint_session {
	struct wc_kb *kb;
	struct lint_config cfg;
	struct lint_host *hosts;
	size_t nhosts;
	char **ignore;
	size_t nignore;
	struct lint_options opts;
	int fail_on;               /* lint_severity, or 3 for "none" */
	enum lint_format format;
	const char *rules_url;
};

/* Errors are BERR_USAGE for bad flag values, BERR_INPUT for bad files. */
int cli_lint_session_init(struct cli_lint_session *s, const struct cli_lint_args *a,
			  struct berr **err);
void cli_lint_session_release(struct cli_lint_session *s);
/* true when any finding is at or above the fail-on level */
bool cli_lint_failed(const struct cli_lint_session *s, const struct lint_result *r, size_t n);

#endif
