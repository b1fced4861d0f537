/* cli/: `berth compat audit`, implemented in compat_audit.c and dispatched
 * from cmd_compat.c. */
#ifndef BERTH_CLI_COMPAT_AUDIT_H
#define BERTH_CLI_COMPAT_AUDIT_H
#include "cli/cli.h"
int cli_compat_audit(int argc, char **argv, const char *kbfile, const struct cli_command *cmd);
#endif
