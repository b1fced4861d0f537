/* berth load: import a docker-archive or oci-archive into the local store. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "common/common.h"
#include "image/img_archive.h"
#include "parser/df_ref.h"

static const struct cli_command cmd;

/* stdin is copied to a temp file: the archive is read twice (sniff, import) */
static char *spool_stdin(struct berr **err)
{
	const char *t = getenv("TMPDIR");
	char *path = xasprintf("%s/berth-load.XXXXXX", t && *t ? t : "/tmp");
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0) {
		berr_set_errno(err, BERR_IO, errno, "create temporary file");
		free(path);
		return NULL;
	}
	char buf[65536];
	for (;;) {
		ssize_t n = read(0, buf, sizeof(buf));
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			berr_set_errno(err, BERR_IO, errno, "read stdin");
			break;
		}
		if (n == 0) {
			close(fd);
			return path;
		}
		if (bfd_write_all(fd, buf, (size_t)n, path, err) < 0)
			break;
	}
	close(fd);
	unlink(path);
	free(path);
	return NULL;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "input", required_argument, NULL, 'i' },
		{ "quiet", no_argument, NULL, 'q' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *input = NULL;
	bool quiet = false;
	int c;
	while ((c = getopt_long(argc, argv, "i:qh", opts, NULL)) != -1) {
		switch (c) {
		case 'i': input = optarg; break;
		case 'q': quiet = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	struct berr *err = NULL;
	_cleanup_free_ char *spooled = NULL;
	if (!input || strcmp(input, "-") == 0) {
		if (isatty(0))
			return cli_usage_error(&cmd, "requested load from stdin, but stdin is a terminal "
					       "(use -i FILE)");
		if (!(spooled = spool_stdin(&err)))
			return cli_report(err);
		input = spooled;
	}
	_cleanup_img_store_ struct img_store *s = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc = 0;
	if (img_local_open(&s, &err) < 0 || img_archive_load(input, s, &names, &n, &err) < 0) {
		if (spooled)
			berr_wrap(&err, "stdin");
		rc = cli_report(err);
	}
	for (size_t i = 0; i < n; i++) {
		if (!quiet) {
			struct df_ref *r = NULL;
			struct berr *e2 = NULL;
			if (strncmp(names[i], "sha256:", 7) != 0 &&
			    df_ref_parse_normalized(names[i], &r, &e2) == 0) {
				df_ref_tag_name_only(r);
				char *fam = df_ref_familiar(r);
				printf("Loaded image: %s\n", fam);
				free(fam);
				df_ref_free(r);
			} else {
				printf("Loaded image ID: %s\n", names[i]);
			}
			berr_free(e2);
		}
		free(names[i]);
	}
	free(names);
	if (spooled)
		unlink(spooled);
	return rc;
}

static const struct cli_command cmd = {
	.name = "load",
	.summary = "load an image archive into berth's local store",
	.usage = "Usage: berth load [OPTIONS]\n"
		 "\n"
		 "Load images from a docker-archive ('docker save' output, legacy or Docker 25+\n"
		 "form) or an oci-archive into berth's local store. Every blob is verified\n"
		 "against its digest; archive members that escape (absolute, '..'), duplicate\n"
		 "members and missing blobs are errors.\n"
		 "\n"
		 "Options:\n"
		 "  -i, --input FILE   read from FILE instead of stdin\n"
		 "  -q, --quiet        print nothing on success\n"
		 "  -h, --help         show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
