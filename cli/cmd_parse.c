/* berth parse: print the Dockerfile syntax tree. Owner: parser. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "parser/df_ast.h"
#include "parser/df_print.h"
#include "common/common.h"

static int run_parse(int argc, char **argv);

static const struct cli_command cmd = {
	.name = "parse",
	.summary = "Parse a Dockerfile and print its syntax tree",
	.usage =
		"Usage: berth parse [--format tree|json|buildkit] FILE|-\n"
		"\n"
		"Parse a Dockerfile (\"-\" reads standard input) and print its syntax tree.\n"
		"\n"
		"Options:\n"
		"      --format FORMAT  tree (default): readable outline\n"
		"                       json: stable schema with line ranges, flags, heredocs,\n"
		"                             comments, directives and warnings\n"
		"                       buildkit: BuildKit's AST dump, byte for byte\n"
		"  -h, --help           Show this help\n"
		"\n"
		"Exit status: 0 parsed, 2 usage or parse error (FILE:LINE:COL: error: ...).\n",
	.run = run_parse,
};
CLI_REGISTER(cmd);

static int run_parse(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *format = "tree";
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
	void (*printer)(const struct df_file *, struct bbuf *);
	if (strcmp(format, "tree") == 0)
		printer = df_print_tree;
	else if (strcmp(format, "json") == 0)
		printer = df_print_json;
	else if (strcmp(format, "buildkit") == 0)
		printer = df_print_buildkit;
	else
		return cli_usage_error(&cmd, "unknown format '%s' (want tree, json or buildkit)",
				       format);
	if (optind != argc - 1)
		return cli_usage_error(&cmd, optind >= argc ? "missing FILE argument"
							    : "too many arguments");
	struct berr *err = NULL;
	struct df_file *f = NULL;
	if (df_parse_file(argv[optind], &f, &err) < 0)
		return cli_report(err);
	_cleanup_bbuf_ struct bbuf out = BBUF_INIT;
	printer(f, &out);
	df_file_free(f);
	if (bfd_write_all(STDOUT_FILENO, bbuf_str(&out), out.len, "standard output", &err) < 0)
		return cli_report(err);
	return 0;
}
