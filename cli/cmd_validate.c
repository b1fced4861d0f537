/* berth validate: check every instruction of a Dockerfile as BuildKit's
 * instruction layer does. Owner: instr (parser/df_instr*.c). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "parser/df_ast.h"
#include "parser/df_instr.h"
#include "common/common.h"

static int run_validate(int argc, char **argv);

static const struct cli_command cmd = {
	.name = "validate",
	.summary = "Check a Dockerfile's instructions, flags and stages",
	.usage =
		"Usage: berth validate [--format text|instructions] FILE|-\n"
		"\n"
		"Parse a Dockerfile (\"-\" reads standard input) and validate every\n"
		"instruction as BuildKit does before a build: argument counts, flag names\n"
		"and values (RUN --mount, HEALTHCHECK durations...), stage names, and that\n"
		"a FROM comes before any instruction other than ARG. Variables are not\n"
		"expanded.\n"
		"\n"
		"Options:\n"
		"      --format FORMAT  text (default): nothing on success, otherwise one\n"
		"                                 FILE:LINE:COL: error: MESSAGE per problem\n"
		"                                 on standard error\n"
		"                       instructions: one line per instruction in the format\n"
		"                                 of BuildKit's Dockerfile.instructions reference\n"
		"                                 files, then a PARSE line\n"
		"  -h, --help           Show this help\n"
		"\n"
		"Exit status: 0 valid, 2 usage, parse or validation error.\n",
	.run = run_validate,
};
CLI_REGISTER(cmd);

static int validate_text(const struct df_file *f)
{
	int bad = 0;
	for (size_t i = 0; i < f->nnodes; i++) {
		struct df_instr *in = NULL;
		struct berr *e = NULL;
		if (df_instr_from_node(f, &f->nodes[i], &in, &e) < 0) {
			berr_print(stderr, e);
			berr_free(e);
			bad = 1;
			continue;
		}
		df_instr_free(in);
	}
	if (bad)
		return 2;
	/* every instruction is fine: the file structure is what is left */
	struct df_stages *st = NULL;
	struct berr *e = NULL;
	if (df_stages_parse(f, &st, NULL, &e) < 0)
		return cli_report(e);
	df_stages_free(st);
	return 0;
}

static int run_validate(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "text";
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'h':
			cli_print_help(&cmd, stdout);
			return 0;
		default:
			return cli_usage_error(&cmd, "invalid option");
		}
	}
	bool reference;
	if (strcmp(format, "text") == 0)
		reference = false;
	else if (strcmp(format, "instructions") == 0)
		reference = true;
	else
		return cli_usage_error(&cmd, "unknown format '%s' (want text or instructions)",
				       format);
	if (optind != argc - 1)
		return cli_usage_error(&cmd, optind >= argc ? "missing FILE argument"
							    : "too many arguments");
	struct berr *err = NULL;
	struct df_file *f = NULL;
	if (df_parse_file(argv[optind], &f, &err) < 0)
		return cli_report(err);
	int rc;
	if (reference) {
		_cleanup_free_ char *out = df_instr_print_reference(f);
		struct df_stages *st = NULL;
		struct berr *e = NULL;
		rc = df_stages_parse(f, &st, NULL, &e) < 0 ? 2 : 0;
		berr_free(e);
		df_stages_free(st);
		if (bfd_write_all(STDOUT_FILENO, out, strlen(out), "standard output", &err) < 0)
			rc = cli_report(err);
	} else {
		rc = validate_text(f);
	}
	df_file_free(f);
	return rc;
}
