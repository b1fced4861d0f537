/* CLI command table. Each cli/cmd_*.c file defines one `struct cli_command`
 * and registers it with CLI_REGISTER; the linker collects the pointers into
 * the "berth_cmds" section, so adding a command never edits a shared table. */
#ifndef BERTH_CLI_H
#define BERTH_CLI_H

#include <stdio.h>
#include "common/berr.h"

struct cli_command {
	const char *name;
	const char *summary;   /* one line for `berth --help` */
	const char *usage;     /* full help text, printed by --help / berth help */
	/* argv[0] is the command name; getopt_long parsing starts at optind=1.
	 * Returns the process exit code: 0 yes, 1 no/failure, 2 usage/input. */
	int (*run)(int argc, char **argv);
};

/* Section names that are valid C identifiers are left alone by ASan's global
 * instrumentation, so the pointer array stays densely packed. */
#define CLI_REGISTER(cmd)                                                    \
	__attribute__((used, section("berth_cmds"), aligned(sizeof(void *)))) \
	static const struct cli_command *const cli_reg_##cmd = &(cmd)

/* Print err (and free it); returns its exit code. */
int cli_report(struct berr *err);
/* "berth: error: <msg>" + hint to --help; returns 2 */
int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void cli_print_help(const struct cli_command *cmd, FILE *out);
/* Standard long option for every command. */
#define CLI_HELP_OPTION { "help", no_argument, NULL, 'h' }

#endif
