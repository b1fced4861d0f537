#include <cjson/cJSON.h>
#include "common/barchive.h"
#include "common/bcrypto.h"
#include "common/blibs.h"
#include "common/bcurl.h"
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "cli/cli.h"
#include "berth_version.h"
#include "common/common.h"


extern const struct cli_command *const __start_berth_cmds[] __attribute__((weak));
extern const struct cli_command *const __stop_berth_cmds[] __attribute__((weak));

static int cmd_cmp(const void *a, const void *b)
{
	const struct cli_command *x = *(const struct cli_command *const *)a;
	const struct cli_command *y = *(const struct cli_command *const *)b;
	return strcmp(x->name, y->name);
}

static size_t commands(const struct cli_command ***out)
{
	size_t n = (size_t)(__stop_berth_cmds - __start_berth_cmds);
	const struct cli_command **v = xcalloc(n ? n : 1, sizeof(*v));
	for (size_t i = 0; i < n; i++)
		v[i] = __start_berth_cmds[i];
	qsort(v, n, sizeof(*v), cmd_cmp);
	*out = v;
	return n;
}

static const struct cli_command *find_command(const char *name)
{
	for (const struct cli_command *const *c = __start_berth_cmds; c < __stop_berth_cmds; c++)
		if (strcmp((*c)->name, name) == 0)
			return *c;
	return NULL;
}

int cli_report(struct berr *err)
{
	if (!err)
		return 1;
	berr_print(stderr, err);
	int rc = berr_exit_code(err);
	berr_free(err);
	return rc;
}

int cli_usage_error(const struct cli_command *cmd, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("berth: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (cmd)
		fprintf(stderr, "\nRun 'berth %s --help' for usage.\n", cmd->name);
	else
		fputs("\nRun 'berth --help' for usage.\n", stderr);
	return 2;
}

void cli_print_help(const struct cli_command *cmd, FILE *out)
{
	fputs(cmd->usage, out);
}

static void print_main_help(FILE *out)
{
	const struct cli_command **v = NULL;
	size_t n = commands(&v);
	fputs("Usage: berth [--version] [--help] COMMAND [ARGS...]\n\n"
	      "A daemonless image builder and Windows container compatibility toolkit.\n\n"
	      "Commands:\n", out);
	for (size_t i = 0; i < n; i++)
		fprintf(out, "  %-10s %s\n", v[i]->name, v[i]->summary);
	fputs("\nRun 'berth help COMMAND' or 'berth COMMAND --help' for more information.\n"
	      "Exit codes: 0 success, 1 the answer is no or the operation failed, "
	      "2 usage or input error.\n", out);
	free(v);
}

static void print_version(void)
{
	uint32_t pcre_len = pcre2_config(PCRE2_CONFIG_VERSION, NULL);
	char pcre_ver[64] = "";
	if (pcre_len > 0 && pcre_len <= sizeof(pcre_ver))
		pcre2_config(PCRE2_CONFIG_VERSION, pcre_ver);
	printf("berth version %s\n", BERTH_VERSION);
	printf("  %s\n", archive_version_details());
	printf("  zstd %s\n", ZSTD_versionString());
	printf("  zlib %s\n", zlibVersion());
	printf("  %s\n", OpenSSL_version(OPENSSL_VERSION));
	printf("  cJSON %s\n", cJSON_Version());
	printf("  PCRE2 %s\n", pcre_ver);
	printf("  %s\n", curl_version());
	printf("  libyaml %s\n", yaml_get_version_string());
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		print_main_help(stderr);
		return 2;
	}
	const char *name = argv[1];
	if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
		print_main_help(stdout);
		return 0;
	}
	if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
		print_version();
		return 0;
	}
	if (strcmp(name, "help") == 0) {
		if (argc < 3) {
			print_main_help(stdout);
			return 0;
		}
		const struct cli_command *c = find_command(argv[2]);
		if (!c)
			return cli_usage_error(NULL, "unknown command '%s'", argv[2]);
		cli_print_help(c, stdout);
		return 0;
	}
	if (name[0] == '-')
		return cli_usage_error(NULL, "unknown option '%s'", name);
	const struct cli_command *c = find_command(name);
	if (!c)
		return cli_usage_error(NULL, "unknown command '%s'", name);
	return c->run(argc - 1, argv + 1);
}
