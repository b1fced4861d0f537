/* cli/: `berth compat audit`, implemented in compat_audit.c and dispatched
 * from cmd_compat.c. */
#ifndef BERTH_CLI_COMPAT_AUDIT_H
#define BERTH_CLI_COMPAT_AUDIT_H
#include "cli/cli.h"
/* Long options compat check and compat audit share, in this order: 'f'
 * (cli_parse_format), 'r' (knowledge base file), 'd' (cli_parse_date). */
#define COMPAT_REPORT_OPTIONS                                   \
	{ "format", required_argument, NULL, 'f' },             \
	{ "releases", required_argument, NULL, 'r' },           \
	{ "date", required_argument, NULL, 'd' }
int cli_compat_audit(int argc, char **argv, const char *kbfile, const struct cli_command *cmd);
/* --compose / --workflow audits (compat_workloads.c); format text|json|sarif */
int cli_compat_workloads(const char *compose, const char *workflow, const char *repo, const char *fleet,
			 const char *format, const char *kbfile, const char *today);
#endif
