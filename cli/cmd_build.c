/* berth build: build an image from a Dockerfile, with no daemon. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "builder/bld_build.h"
#include "builder/bld_engine_exec.h"
#include "cli/cli.h"
#include "cli/reg_opts.h"
#include "image/img_registry.h"
#include "image/img_store.h"
#include "image/img_model.h"
#include "common/common.h"

static const struct cli_command cmd;

enum {
	OPT_BUILD_ARG = 256,
	OPT_BUILD_CONTEXT,
	OPT_SECRET,
	OPT_TARGET,
	OPT_PLATFORM,
	OPT_OUTPUT,
	OPT_LABEL,
	OPT_NO_CACHE,
	OPT_COMPRESSION,
	OPT_EPOCH,
	OPT_PROGRESS,
	OPT_EXECUTOR,
	OPT_ENGINE,
	OPT_ISOLATION,
	OPT_SSH,
	OPT_CHECK_HOST,
	OPT_PUSH,
	OPT_OS_VERSION,
};

static void push(char ***v, size_t *n, const char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = (char *)s;
}

/* SIGINT/SIGTERM: the first one asks the build to stop (the RUN in progress
 * is killed, mounts and temporaries are cleaned up); SA_RESETHAND makes a
 * second one kill berth at once */
static int cancel_pipe[2] = { -1, -1 };
static volatile sig_atomic_t got_signal;

static void on_signal(int sig)
{
	int saved = errno;
	got_signal = sig;
	if (cancel_pipe[1] >= 0) {
		char c = 1;
		ssize_t w = write(cancel_pipe[1], &c, 1);
		(void)w;
	}
	errno = saved;
}

static void watch_signals(struct sigaction *old_int, struct sigaction *old_term)
{
	if (pipe2(cancel_pipe, O_CLOEXEC | O_NONBLOCK) < 0) {
		cancel_pipe[0] = cancel_pipe[1] = -1;
		return;
	}
	/* no SA_RESTART: a blocked wait returns EINTR and looks at the pipe */
	struct sigaction sa = { .sa_handler = on_signal, .sa_flags = SA_RESETHAND };
	sigemptyset(&sa.sa_mask);
	/* installed even when the shell started us with SIGINT ignored (a
	 * background job), as the docker CLI does */
	sigaction(SIGINT, &sa, old_int);
	sigaction(SIGTERM, &sa, old_term);
}

static void unwatch_signals(const struct sigaction *old_int, const struct sigaction *old_term)
{
	if (cancel_pipe[0] < 0)
		return;
	sigaction(SIGINT, old_int, NULL);
	sigaction(SIGTERM, old_term, NULL);
	close(cancel_pipe[0]);
	close(cancel_pipe[1]);
	cancel_pipe[0] = cancel_pipe[1] = -1;
}

/* --push: the built image by tag; base layers of a lazy base are mounted
 * from their source repository (or, across registries, copied). */
static int build_push(struct img_registry *reg, const char *tag, bool quiet, struct berr **err)
{
	_cleanup_img_store_ struct img_store *s = NULL;
	struct img_remote rem = { 0 };
	struct img_descriptor d = { 0 };
	int rc = -1;
	if (img_remote_parse(tag, &rem, err) < 0 || img_local_open(&s, err) < 0 ||
	    img_store_tag_resolve(s, tag, &d, err) < 0)
		goto out;
	if (!quiet)
		fprintf(stderr, "pushing %s to repository [%s/%s]\n", tag, rem.domain, rem.repo);
	if (img_registry_push(reg, s, &d, &rem, err) < 0) {
		berr_wrap(err, "--push %s", tag);
		goto out;
	}
	if (!quiet)
		fprintf(stderr, "%s: digest: %s size: %lld\n", rem.tag ? rem.tag : rem.digest,
			d.digest.s, (long long)d.size);
	rc = 0;
out:
	img_descriptor_clear(&d);
	img_remote_clear(&rem);
	return rc;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "file", required_argument, NULL, 'f' },
		{ "tag", required_argument, NULL, 't' },
		{ "build-arg", required_argument, NULL, OPT_BUILD_ARG },
		{ "build-context", required_argument, NULL, OPT_BUILD_CONTEXT },
		{ "secret", required_argument, NULL, OPT_SECRET },
		{ "target", required_argument, NULL, OPT_TARGET },
		{ "platform", required_argument, NULL, OPT_PLATFORM },
		{ "output", required_argument, NULL, 'o' },
		{ "label", required_argument, NULL, OPT_LABEL },
		{ "no-cache", no_argument, NULL, OPT_NO_CACHE },
		{ "compression", required_argument, NULL, OPT_COMPRESSION },
		{ "source-date-epoch", required_argument, NULL, OPT_EPOCH },
		{ "progress", required_argument, NULL, OPT_PROGRESS },
		{ "executor", required_argument, NULL, OPT_EXECUTOR },
		{ "engine", required_argument, NULL, OPT_ENGINE },
		{ "isolation", required_argument, NULL, OPT_ISOLATION },
		{ "ssh", required_argument, NULL, OPT_SSH },
		{ "check-host", required_argument, NULL, OPT_CHECK_HOST },
		{ "quiet", no_argument, NULL, 'q' },
		{ "push", no_argument, NULL, OPT_PUSH },
		{ "os-version", required_argument, NULL, OPT_OS_VERSION },
		REG_LONG_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	struct bld_opts o = { .executor = "auto", .comp = IMG_COMP_GZIP, .log = stderr };
	const char *epoch = NULL, *progress = "auto", *engine = NULL;
	enum bld_engine_iso iso = BLD_ENGINE_ISO_DEFAULT;
	bool quiet = false, do_push = false;
	struct berr *err = NULL;
	int c, rc = 2;
	struct cli_reg cr;
	cli_reg_init(&cr);
	struct img_registry *reg = NULL;
	while ((c = getopt_long(argc, argv, "f:t:o:qu:h", opts, NULL)) != -1) {
		int h = cli_reg_option(&cr, c, optarg, &err);
		if (h < 0) {
			rc = cli_report(err);
			goto out;
		}
		if (h)
			continue;
		switch (c) {
		case 'f': o.dockerfile = optarg; break;
		case 't': push(&o.tags, &o.ntags, optarg); break;
		case 'o': push(&o.outputs, &o.noutputs, optarg); break;
		case 'q': quiet = true; break;
		case OPT_BUILD_ARG: push(&o.build_args, &o.nbuild_args, optarg); break;
		case OPT_BUILD_CONTEXT: push(&o.build_contexts, &o.nbuild_contexts, optarg); break;
		case OPT_SECRET: push(&o.secrets, &o.nsecrets, optarg); break;
		case OPT_SSH: push(&o.ssh, &o.nssh, optarg); break;
		case OPT_TARGET: o.target = optarg; break;
		case OPT_PLATFORM: o.platform = optarg; break;
		case OPT_LABEL: push(&o.labels, &o.nlabels, optarg); break;
		case OPT_NO_CACHE: o.no_cache = true; break;
		case OPT_COMPRESSION:
			if (img_compression_parse(optarg, &o.comp, &err) < 0) {
				rc = cli_report(err);
				goto out;
			}
			break;
		case OPT_EPOCH: epoch = optarg; break;
		case OPT_PROGRESS: progress = optarg; break;
		case OPT_EXECUTOR: o.executor = optarg; break;
		case OPT_ENGINE: engine = optarg; break;
		case OPT_ISOLATION:
			if (bld_engine_iso_parse(optarg, &iso, &err) < 0) {
				berr_clear(&err);
				rc = cli_usage_error(&cmd, "invalid --isolation '%s' (want process, "
						     "hyperv or default)", optarg);
				goto out;
			}
			break;
		case OPT_CHECK_HOST: push(&o.check_hosts, &o.ncheck_hosts, optarg); break;
		case OPT_PUSH: do_push = true; break;
		case OPT_OS_VERSION: o.os_version = optarg; break;
		case 'h':
			cli_print_help(&cmd, stdout);
			rc = 0;
			goto out;
		default:
			rc = cli_usage_error(&cmd, "unknown option");
			goto out;
		}
	}
	if (optind != argc - 1) {
		rc = cli_usage_error(&cmd, "expected exactly one CONTEXT argument");
		goto out;
	}
	o.context = argv[optind];
	if (!strcmp(o.context, "-") && o.dockerfile && !strcmp(o.dockerfile, "-")) {
		rc = cli_usage_error(&cmd, "the build context and the Dockerfile cannot both come "
					   "from stdin ('-f -' with context '-')");
		goto out;
	}
	if (!strcmp(progress, "plain") || !strcmp(progress, "auto") || !strcmp(progress, "tty"))
		o.progress = BLD_PROGRESS_PLAIN;
	else if (!strcmp(progress, "json") || !strcmp(progress, "rawjson"))
		o.progress = BLD_PROGRESS_JSON;
	else if (!strcmp(progress, "quiet"))
		o.progress = BLD_PROGRESS_QUIET;
	else {
		rc = cli_usage_error(&cmd, "invalid --progress '%s' (auto, plain, json, quiet)", progress);
		goto out;
	}
	if (quiet)
		o.progress = BLD_PROGRESS_QUIET;
	if (do_push && !o.ntags) {
		rc = cli_usage_error(&cmd, "--push needs a name (-t)");
		goto out;
	}
	/* registry progress lines go with the build's (stderr) */
	cr.quiet = quiet || o.progress == BLD_PROGRESS_QUIET;
	cr.to_stderr = true;
	if (cli_reg_client(&cr, o.ntags ? o.tags[0] : "localhost/berth-build", &reg, &err) < 0) {
		rc = cli_report(err);
		goto out;
	}
	o.reg = reg;
	o.tty = !strcmp(progress, "auto") && isatty(STDERR_FILENO);
	if (epoch) {
		char *end = NULL;
		long long v = strtoll(epoch, &end, 10);
		if (!*epoch || *end || v < 0) {
			rc = cli_usage_error(&cmd, "invalid --source-date-epoch '%s'", epoch);
			goto out;
		}
		o.has_epoch = true;
		o.epoch = v;
	} else {
		int64_t v = -1;
		if (img_source_date_epoch(-1, &v, &err) < 0) {
			rc = cli_report(err);
			goto out;
		}
		if (v >= 0) {
			o.has_epoch = true;
			o.epoch = v;
		}
	}
	/* the engine executor (RUN through a Docker Engine) reads DOCKER_HOST and
	 * friends unless --engine names one */
	bld_engine_exec_configure(engine, iso);
	struct bld_result res;
	struct sigaction old_int, old_term;
	watch_signals(&old_int, &old_term);
	o.cancel_fd = cancel_pipe[0];
	int brc = bld_build(&o, &res, &err);
	bld_engine_exec_shutdown();
	unwatch_signals(&old_int, &old_term);
	if (brc < 0) {
		int sig = got_signal;
		rc = cli_report(err);
		/* interrupted: the shell convention 128+N */
		if (sig)
			rc = 128 + sig;
		goto out;
	}
	for (size_t i = 0; do_push && i < o.ntags; i++) {
		if (build_push(reg, o.tags[i], quiet, &err) < 0) {
			rc = cli_report(err);
			goto out;
		}
	}
	if (quiet) {
		printf("%s\n", res.manifest.s);
	} else if (o.progress != BLD_PROGRESS_QUIET) {
		fprintf(stderr, "writing image %s done\n", res.manifest.s);
		for (size_t i = 0; i < o.ntags; i++)
			fprintf(stderr, "naming to %s done\n", o.tags[i]);
	}
	rc = 0;
out:
	free(o.tags);
	free(o.outputs);
	free(o.build_args);
	free(o.build_contexts);
	free(o.labels);
	free(o.secrets);
	free(o.ssh);
	free(o.check_hosts);
	img_registry_free(reg);
	cli_reg_clear(&cr);
	return rc;
}

static const struct cli_command cmd = {
	.name = "build",
	.summary = "build an image from a Dockerfile (no daemon)",
	.usage = "usage: berth build [OPTIONS] CONTEXT|-\n"
		 "\n"
		 "Build an image from the Dockerfile in CONTEXT (or -f FILE) and store it in\n"
		 "berth's local store ($BERTH_ROOT, default ~/.local/share/berth).\n"
		 "With -, stdin is a tar archive of the context (plain, gzip, bzip2, xz or\n"
		 "zstd; -f names the Dockerfile inside it) or else the Dockerfile alone.\n"
		 "\n"
		 "  -f, --file FILE                 Dockerfile (default CONTEXT/Dockerfile; - for stdin)\n"
		 "  -t, --tag REF                   name the image (repeatable)\n"
		 "      --build-arg K[=V]           build argument; K alone takes $K (repeatable)\n"
		 "      --build-context NAME=SRC    named context: DIR, oci-layout://DIR[:TAG|@DIGEST],\n"
		 "                                  docker-image://REF (local store, else registry)\n"
		 "      --secret id=ID,src=FILE     secret for RUN --mount=type=secret (also id=ID,env=VAR)\n"
		 "      --ssh default|ID[=SOCKET]   ssh-agent socket for RUN --mount=type=ssh\n"
		 "                                  (default: $SSH_AUTH_SOCK; repeatable)\n"
		 "      --target STAGE              build this stage (and what it needs) only\n"
		 "      --platform OS/ARCH[/VAR]    target platform (default: the host's)\n"
		 "  -o, --output SPEC               also export: type=oci,dest=DIR |\n"
		 "                                  type=oci-archive,dest=FILE |\n"
		 "                                  type=docker,dest=FILE[,name=REF]\n"
		 "      --label K=V                 add a label to the image (repeatable)\n"
		 "      --no-cache                  do not use the build cache\n"
		 "      --compression ALGO          gzip (default), zstd or none\n"
		 "      --source-date-epoch N       reproducible timestamps (also SOURCE_DATE_EPOCH)\n"
		 "      --progress MODE             auto, plain, json or quiet (on stderr)\n"
		 "      --executor NAME             auto, linux, docker or none (for RUN)\n"
		 "      --engine URL                Docker Engine for --executor docker\n"
		 "                                  (default: DOCKER_HOST, DOCKER_TLS_VERIFY,\n"
		 "                                  DOCKER_CERT_PATH as the docker CLI reads them)\n"
		 "      --isolation MODE            process, hyperv or default for engine RUN steps\n"
		 "                                  (default: what compat allows, process first)\n"
		 "      --check-host HOST           before building, check with compat that every\n"
		 "                                  Windows stage runs on HOST (a build such as\n"
		 "                                  10.0.17763 or a release such as ltsc2022;\n"
		 "                                  repeatable); fails early naming what fits\n"
		 "  -q, --quiet                     print only the image digest\n"
		 "      --push                      push every -t name to its registry after the\n"
		 "                                  build (lazy base layers are mounted, not sent)\n"
		 "      --os-version VER            Windows os.version to select from a base's\n"
		 "                                  manifest list (e.g. 10.0.20348)\n"
		 REG_OPTIONS_HELP
		 "  -h, --help                      show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
