/* berth lint: general and Windows container rules for Dockerfiles. Owner: lint. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lint_session.h"
#include "common/common.h"
#include "lint/lint.h"
#include "parser/df_ast.h"

static int run_lint(int argc, char **argv);

static const struct cli_command cmd = {
	.name = "lint",
	.summary = "Check Dockerfiles for mistakes, Windows container ones included",
	.usage =
		"Usage: berth lint [OPTIONS] FILE...|-\n"
		"\n"
		"Check Dockerfiles (\"-\" reads standard input) with general rules (BL1xx) and\n"
		"Windows container rules (BW1xx). Findings print as FILE:LINE:COL:\n"
		"severity[ID]: message. Rule pages: docs/rules/<ID>.md.\n"
		"\n"
		"Options:\n"
		"      --format FORMAT      text (default), json, sarif or checkstyle\n"
		"      --target-host HOST   Windows host the image must run on (build, version or\n"
		"                           release name, e.g. ltsc2022, 10.0.20348); repeatable\n"
		"      --fleet FILE         target hosts from a node list (kubectl JSON, CSV/JSON\n"
		"                           inventory), one per distinct build\n"
		"      --fail-on LEVEL      exit 1 when a finding is at or above LEVEL: error,\n"
		"                           warning (default), info, or none\n"
		"      --ignore ID[,ID]     skip these rules; repeatable\n"
		"      --date YYYY-MM-DD    judge support dates as of this day (default today)\n"
		"      --config FILE        read this config instead of looking for .berth.json\n"
		"                           next to the (first) Dockerfile up to the repo root\n"
		"      --no-config          ignore .berth.json\n"
		"      --releases FILE      Windows release knowledge base to use\n"
		"      --list-rules         print the rules (ID, severity, name, summary)\n"
		"  -h, --help               Show this help\n"
		"\n"
		"Suppress a finding with a comment directly above the instruction:\n"
		"  # berth-ignore: BW104,BL103 reason\n"
		"\n"
		"Exit status: 0 no finding at or above --fail-on, 1 some, 2 usage error or\n"
		"unreadable file. A Dockerfile that does not parse is finding BL100 (error).\n",
	.run = run_lint,
};
CLI_REGISTER(cmd);

static void list_rules(void)
{
	size_t n;
	const struct lint_rule *r = lint_rules(&n);
	for (size_t i = 0; i < n; i++)
		printf("%s  %-7s  %-34s %s\n", r[i].id, lint_severity_name(r[i].severity), r[i].name,
		       r[i].summary);
}

static char *dir_of(const char *path)
{
	if (strcmp(path, "-") == 0)
		return xstrdup(".");
	const char *slash = strrchr(path, '/');
	if (!slash)
		return xstrdup(".");
	if (slash == path)
		return xstrdup("/");
	return xstrndup(path, (size_t)(slash - path));
}

static int run_lint(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "target-host", required_argument, NULL, 't' },
		{ "fleet", required_argument, NULL, 'F' },
		{ "fail-on", required_argument, NULL, 'x' },
		{ "ignore", required_argument, NULL, 'i' },
		{ "date", required_argument, NULL, 'd' },
		{ "config", required_argument, NULL, 'c' },
		{ "no-config", no_argument, NULL, 'N' },
		{ "releases", required_argument, NULL, 'r' },
		{ "list-rules", no_argument, NULL, 'L' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	struct cli_lint_args a = { 0 };
	char **hosts = xcalloc((size_t)argc + 1, sizeof(char *));
	char **ignore = xcalloc((size_t)argc + 1, sizeof(char *));
	a.hosts = hosts;
	a.ignore = ignore;
	int c, rc = 0;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': a.format = optarg; break;
		case 't': hosts[a.nhosts++] = optarg; break;
		case 'F': a.fleet = optarg; break;
		case 'x': a.fail_on = optarg; break;
		case 'i': ignore[a.nignore++] = optarg; break;
		case 'd': a.date = optarg; break;
		case 'c': a.config = optarg; break;
		case 'N': a.no_config = true; break;
		case 'r': a.releases = optarg; break;
		case 'L':
			list_rules();
			goto out;
		case 'h':
			cli_print_help(&cmd, stdout);
			goto out;
		default:
			rc = cli_usage_error(&cmd, "invalid option");
			goto out;
		}
	}
	if (optind >= argc) {
		rc = cli_usage_error(&cmd, "missing FILE argument (use - for standard input)");
		goto out;
	}
	int nstdin = 0;
	for (int i = optind; i < argc; i++)
		nstdin += strcmp(argv[i], "-") == 0;
	if (nstdin > 1) {
		rc = cli_usage_error(&cmd, "standard input ('-') given more than once");
		goto out;
	}
	char *cfgdir = dir_of(argv[optind]);
	a.config_dir = cfgdir;
	struct cli_lint_session s;
	struct berr *err = NULL;
	if (cli_lint_session_init(&s, &a, &err) < 0) {
		free(cfgdir);
		cli_lint_session_release(&s);
		if (err && err->code == BERR_USAGE) {
			rc = cli_usage_error(&cmd, "%s", err->msg);
			berr_free(err);
		} else {
			cli_report(err);
			rc = 2; /* config, fleet or knowledge base unusable: an input error */
		}
		goto out;
	}
	free(cfgdir);
	size_t nfiles = (size_t)(argc - optind);
	struct lint_result *res = xcalloc(nfiles, sizeof(*res));
	size_t nres = 0;
	bool io_error = false;
	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		struct bbuf b = BBUF_INIT;
		int r = strcmp(path, "-") == 0 ?
			bfd_read_all(STDIN_FILENO, "standard input", DF_MAX_FILE_SIZE, &b, &err) :
			bfile_read_all(path, DF_MAX_FILE_SIZE, &b, &err);
		if (r < 0) {
			cli_report(err);
			err = NULL;
			io_error = true;
			bbuf_release(&b);
			continue;
		}
		if (lint_check(&s.opts, path, bbuf_str(&b), b.len, &res[nres], &err) < 0) {
			lint_result_release(&res[nres]);
			cli_report(err);
			err = NULL;
			io_error = true;
		} else {
			nres++;
		}
		bbuf_release(&b);
	}
	char *out = lint_render(s.format, res, nres, s.rules_url);
	if (bfd_write_all(STDOUT_FILENO, out, strlen(out), "standard output", &err) < 0) {
		cli_report(err);
		io_error = true;
	}
	free(out);
	bool failed = cli_lint_failed(&s, res, nres);
	for (size_t i = 0; i < nres; i++)
		lint_result_release(&res[i]);
	free(res);
	cli_lint_session_release(&s);
	rc = io_error ? 2 : failed ? 1 : 0;
out:
	free(hosts);
	free(ignore);
	return rc;
}
