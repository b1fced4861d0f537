/* berth engine: info | run | prune — the Docker Engine API executor from the
 * command line (until `berth build --executor docker` drives it). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/reg_opts.h"
#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_exec.h"
#include "builder/bld_sandbox.h"
#include "image/img_layer.h"
#include "compat/wc.h"
#include "image/img_archive.h"
#include "cli/cli_util.h"

static const struct cli_command cmd;

/* Longest base-image list line. */
#define MAX_EXTRA_ENV 256
#define MAX_MOUNTS 64

static void add_str(cJSON *o, const char *k, const char *v)
{
	if (v)
		cJSON_AddStringToObject(o, k, v);
	else
		cJSON_AddNullToObject(o, k);
}

/* --- info --- */

struct base_row {
	const struct wc_release *rel;
	struct bld_engine_decision d;
	struct berr *err;       /* why berth would not run it */
};

static int load_facts_files(const char *info, const char *ver, struct bld_engine_facts *f,
			    struct berr **err)
{
	_cleanup_bbuf_ struct bbuf bi = BBUF_INIT;
	_cleanup_bbuf_ struct bbuf bv = BBUF_INIT;
	if (bfile_read_all(info, BLD_ENGINE_JSON_MAX, &bi, err) < 0)
		return -1;
	if (ver && bfile_read_all(ver, BLD_ENGINE_JSON_MAX, &bv, err) < 0)
		return -1;
	_cleanup_free_ char *what = xasprintf("'%s'", info);
	return bld_engine_facts_parse(bbuf_str(&bi), ver ? bbuf_str(&bv) : NULL, what, f, err);
}

static void verdict_json(cJSON *o, const char *key, const struct wc_verdict *v)
{
	cJSON *j = cJSON_AddObjectToObject(o, key);
	cJSON_AddStringToObject(j, "level", wc_level_name(v->level));
	cJSON_AddStringToObject(j, "reason", v->reason);
	cJSON_AddStringToObject(j, "source", v->source);
}

static int engine_info(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "engine", required_argument, NULL, 'H' },
		{ "format", required_argument, NULL, 'f' },
		{ "info-json", required_argument, NULL, 'I' },
		{ "version-json", required_argument, NULL, 'V' },
		{ "base", required_argument, NULL, 'b' },
		{ "isolation", required_argument, NULL, 'i' },
		{ "releases", required_argument, NULL, 'r' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *fmt = "text", *info_file = NULL, *ver_file = NULL, *base = NULL;
	const char *kbfile = NULL;
	enum bld_engine_iso forced = BLD_ENGINE_ISO_DEFAULT;
	struct berr *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "H:f:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': url = optarg; break;
		case 'f': fmt = optarg; break;
		case 'I': info_file = optarg; break;
		case 'V': ver_file = optarg; break;
		case 'b': base = optarg; break;
		case 'r': kbfile = optarg; break;
		case 'i':
			if (bld_engine_iso_parse(optarg, &forced, &err) < 0)
				return cli_report(err);
			break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	int format;
	if (cli_parse_format(&cmd, fmt, cli_formats_text_json, &format))
		return 2;
	bool json = format == CLI_FMT_JSON;
	if (ver_file && !info_file)
		return cli_usage_error(&cmd, "--version-json needs --info-json");
	if (info_file && url)
		return cli_usage_error(&cmd, "--info-json and --engine exclude each other");

	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	struct bld_engine_facts f = { 0 };
	_cleanup_bld_engine_ struct bld_engine *e = NULL;
	const char *where;
	if (info_file) {
		if (load_facts_files(info_file, ver_file, &f, &err) < 0)
			return cli_report(err);
		where = info_file;
	} else {
		struct bld_engine_opts o = { .url = url, .tls = -1, .tls_verify = -1 };
		if (bld_engine_open(&o, &e, &err) < 0 || bld_engine_get_facts(e, &f, &err) < 0) {
			bld_engine_facts_clear(&f);
			return cli_report(err);
		}
		where = bld_engine_url(e);
	}
	bool win = f.win_build != 0;
	struct wc_host h = { 0 };
	if (win && bld_engine_wc_host(kb, &f, &h, &err) < 0) {
		bld_engine_facts_clear(&f);
		return cli_report(err);
	}

	/* rows: one per base-image build the KB knows (server releases with images) */
	struct base_row *rows = NULL;
	size_t nrows = 0, cap = 0;
	if (win) {
		for (size_t i = 0; i < kb->nrel; i++) {
			const struct wc_release *r = &kb->rel[i];
			if (!r->has_images || r->nimages == 0 || !wc_kind_is_server(r->kind))
				continue;
			bool dup = false;
			for (size_t k = 0; k < nrows; k++)
				dup = dup || rows[k].rel->build == r->build;
			if (dup)
				continue;
			XGROW(rows, nrows + 1, cap);
			struct base_row *row = &rows[nrows++];
			memset(row, 0, sizeof(*row));
			row->rel = r;
			char v[32];
			snprintf(v, sizeof(v), "10.0.%u", r->build);
			bld_engine_decide(kb, &f, "windows", v, NULL, forced, &row->d, &row->err);
		}
	}
	struct bld_engine_decision bd;
	struct berr *berr_base = NULL;
	int rc = 0;
	if (base) {
		const char *os = win ? "windows" : f.os_type;
		if (strncmp(base, "10.0.", 5) == 0)
			os = "windows";
		else if (strcmp(base, "linux") == 0)
			os = "linux";
		if (bld_engine_decide(kb, &f, os, strcmp(base, "linux") == 0 ? NULL : base, NULL, forced,
				      &bd, &berr_base) < 0)
			rc = 1;
	}
	_cleanup_free_ char *hd = bld_engine_host_desc(&f);

	if (json) {
		_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
		add_str(o, "engine", where);
		add_str(o, "apiVersion", e ? bld_engine_api_version(e) : NULL);
		cJSON *jf = cJSON_AddObjectToObject(o, "host");
		add_str(jf, "OSType", f.os_type);
		add_str(jf, "OperatingSystem", f.operating_system);
		add_str(jf, "KernelVersion", f.kernel_version);
		add_str(jf, "OSVersion", f.os_version);
		add_str(jf, "Architecture", f.architecture);
		add_str(jf, "Isolation", f.isolation);
		add_str(jf, "ServerVersion", f.server_version);
		add_str(jf, "ApiVersion", f.api_version);
		add_str(jf, "MinAPIVersion", f.min_api_version);
		if (win) {
			cJSON *w = cJSON_AddObjectToObject(o, "windows");
			cJSON_AddNumberToObject(w, "build", f.win_build);
			if (f.win_has_rev)
				cJSON_AddNumberToObject(w, "revision", f.win_rev);
			else
				cJSON_AddNullToObject(w, "revision");
			cJSON_AddBoolToObject(w, "client", f.win_client);
			add_str(w, "release", h.rel ? h.rel->name : NULL);
			cJSON *arr = cJSON_AddArrayToObject(o, "baseImages");
			for (size_t i = 0; i < nrows; i++) {
				cJSON *r = cJSON_CreateObject();
				cJSON_AddItemToArray(arr, r);
				cJSON_AddNumberToObject(r, "build", rows[i].rel->build);
				cJSON_AddStringToObject(r, "release", rows[i].rel->name);
				verdict_json(r, "process", &rows[i].d.process);
				verdict_json(r, "hyperv", &rows[i].d.hyperv);
				if (rows[i].err) {
					cJSON_AddNullToObject(r, "isolation");
					cJSON_AddStringToObject(r, "error", rows[i].err->msg);
				} else {
					cJSON_AddStringToObject(r, "isolation", bld_engine_iso_name(rows[i].d.iso));
				}
			}
		}
		if (base) {
			cJSON *b = cJSON_AddObjectToObject(o, "base");
			cJSON_AddStringToObject(b, "osVersion", base);
			if (berr_base) {
				cJSON_AddNullToObject(b, "isolation");
				cJSON_AddStringToObject(b, "error", berr_base->msg);
			} else {
				cJSON_AddStringToObject(b, "isolation", bld_engine_iso_name(bd.iso));
				cJSON_AddStringToObject(b, "note", bd.note);
			}
		}
		cli_print_json(o);
	} else {
		printf("Engine:            %s\n", where);
		if (e)
			printf("API version:       %s (engine %s%s%s)\n", bld_engine_api_version(e),
			       f.api_version ? f.api_version : "?", f.min_api_version ? ", minimum " : "",
			       f.min_api_version ? f.min_api_version : "");
		printf("Server version:    %s\n", f.server_version ? f.server_version : "?");
		printf("OS type:           %s\n", f.os_type);
		printf("Operating system:  %s\n", f.operating_system ? f.operating_system : "?");
		printf("Kernel version:    %s\n", f.kernel_version ? f.kernel_version : "?");
		printf("Architecture:      %s\n", f.architecture ? f.architecture : "?");
		if (win) {
			printf("Windows build:     %u.%u.%u", f.win_major, f.win_minor, f.win_build);
			if (f.win_has_rev)
				printf(".%u", f.win_rev);
			printf(" (%s, %s)\n", h.rel ? h.rel->name : "unknown release",
			       f.win_client ? "client" : "server");
			printf("Default isolation: %s\n", f.isolation ? f.isolation : "?");
		}
		if (nrows) {
			printf("\nWindows base images on this host%s:\n",
			       forced != BLD_ENGINE_ISO_DEFAULT ? " (isolation forced)" : "");
			printf("  %-6s %-29s %-21s %-21s %s\n", "BUILD", "RELEASE", "PROCESS", "HYPERV",
			       "BERTH RUNS IT");
			for (size_t i = 0; i < nrows; i++)
				printf("  %-6u %-29s %-21s %-21s %s\n", rows[i].rel->build, rows[i].rel->name,
				       wc_level_name(rows[i].d.process.level),
				       wc_level_name(rows[i].d.hyperv.level),
				       rows[i].err ? "no" : bld_engine_iso_name(rows[i].d.iso));
		}
		if (base) {
			if (berr_base)
				printf("\nBase %s: cannot run here: %s\n", base, berr_base->msg);
			else
				printf("\nBase %s: runs with isolation %s (%s)\n", base,
				       bld_engine_iso_name(bd.iso), bd.note);
		}
	}
	for (size_t i = 0; i < nrows; i++)
		berr_free(rows[i].err);
	free(rows);
	berr_free(berr_base);
	bld_engine_facts_clear(&f);
	return rc;
}

/* --- run --- */

static struct bld_engine *volatile g_engine;
static volatile int g_cancel_wr = -1;   /* executor path: the cancel pipe */

static void on_signal(int sig)
{
	struct bld_engine *e = g_engine;
	if (e)
		bld_engine_cancel(e);
	if (g_cancel_wr >= 0) {
		ssize_t n = write(g_cancel_wr, "x", 1);
		(void)n;
	}
}

static void exec_out(void *ud, int fd, const char *data, size_t n)
{
	FILE *f = fd == 1 ? stdout : stderr;
	fwrite(data, 1, n, f);
	fflush(f);
}

static int fd_sink_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	return bfd_write_all(*(int *)ctx, p, n, "layer", err);
}

/* One RUN through the builder's executor interface (bld_exec.h) over a
 * directory tree, as `berth build --executor docker` will do it. */
static int run_via_executor(const char *url, enum bld_engine_iso forced, const char *rootfs,
			    struct bld_exec_spec *spec, const char *outlayer, struct berr **err)
{
	bld_engine_exec_configure(url, forced);
	struct img_platform p = { 0 };
	img_host_platform(&p);
	int ret = 0;
	char *why = bld_engine_executor.unsupported(&p);
	if (why) {
		ret = berr_set(err, BERR_UNSUPPORTED, "the docker executor cannot run this stage: %s", why);
		free(why);
		img_platform_clear(&p);
		bld_engine_exec_shutdown();
		return ret;
	}
	const char *t = getenv("TMPDIR");
	_cleanup_free_ char *tmp = xasprintf("%s/berth-engine-exec-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmp)) {
		img_platform_clear(&p);
		bld_engine_exec_shutdown();
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", tmp);
	}
	_cleanup_free_ char *scratch = xasprintf("%s/sb", tmp);
	int cp[2] = { -1, -1 };
	if (pipe2(cp, O_CLOEXEC) == 0) {
		spec->cancel_fd = cp[0];
		g_cancel_wr = cp[1];
	}
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct bld_exec_session *sess = NULL;
	const char *lowers[1] = { rootfs };
	int status = 0;
	ret = bld_engine_executor.prepare(lowers, 1, scratch, &p, &sess, err);
	if (ret == 0)
		ret = bld_engine_executor.run(sess, spec, &status, err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	g_cancel_wr = -1;
	if (ret == 0 && status != 0)
		ret = berr_set(err, BERR_FAILED, "the command returned a non-zero code: %d", status);
	if (ret == 0) {
		int fd = open(outlayer ? outlayer : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			ret = berr_set_errno(err, BERR_IO, errno, "create '%s'", outlayer);
		} else {
			struct bsink sink = { .write = fd_sink_write, .ctx = &fd };
			struct img_layer_opts lo = { 0 };
			struct img_layer *l = img_layer_new(&lo, &sink);
			bool changed = false;
			ret = bld_engine_executor.diff(sess, l, &changed, err);
			if (ret == 0)
				ret = img_layer_finish(l, NULL, err);
			img_layer_free(l);
			close(fd);
			if (ret == 0) {
				const char *h = bld_engine_exec_history(sess);
				fprintf(stderr, "changed: %s\nhistory: %s\n", changed ? "yes" : "no", h ? h : "");
			}
		}
	}
	if (sess)
		bld_engine_executor.release(sess);
	if (cp[0] >= 0) {
		close(cp[0]);
		close(cp[1]);
	}
	bld_sandbox_remove_tree(tmp, NULL);
	img_platform_clear(&p);
	bld_engine_exec_shutdown();
	return ret;
}

static int out_fn(void *ctx, int stream, const void *p, size_t n, struct berr **err)
{
	FILE *f = stream == 1 ? stdout : stderr;
	if (fwrite(p, 1, n, f) != n)
		return berr_set_errno(err, BERR_IO, errno, "write output");
	fflush(f);
	return 0;
}

/* m's strings point into *buf (caller frees) */
static int parse_mount(const char *s, struct bld_engine_mount *m, char **buf, struct berr **err)
{
	memset(m, 0, sizeof(*m));
	m->type = BLD_ENGINE_MOUNT_BIND;
	char *dup = xstrdup(s), *save = NULL;
	*buf = dup;
	for (char *tok = strtok_r(dup, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(tok, '=');
		const char *v = eq ? eq + 1 : "";
		if (eq)
			*eq = '\0';
		if (strcmp(tok, "type") == 0) {
			if (strcmp(v, "bind") == 0) m->type = BLD_ENGINE_MOUNT_BIND;
			else if (strcmp(v, "cache") == 0) m->type = BLD_ENGINE_MOUNT_CACHE;
			else if (strcmp(v, "tmpfs") == 0) m->type = BLD_ENGINE_MOUNT_TMPFS;
			else if (strcmp(v, "secret") == 0) m->type = BLD_ENGINE_MOUNT_SECRET;
			else if (strcmp(v, "ssh") == 0) m->type = BLD_ENGINE_MOUNT_SSH;
			else return berr_set(err, BERR_USAGE, "--mount '%s': unknown type '%s'", s, v);
		} else if (strcmp(tok, "target") == 0 || strcmp(tok, "dst") == 0 ||
			   strcmp(tok, "destination") == 0) {
			m->target = v;
		} else if (strcmp(tok, "source") == 0 || strcmp(tok, "src") == 0 ||
			   strcmp(tok, "id") == 0) {
			m->source = v;
		} else if (strcmp(tok, "ro") == 0 || strcmp(tok, "readonly") == 0) {
			m->readonly = !eq || strcmp(v, "true") == 0;
		} else {
			return berr_set(err, BERR_USAGE, "--mount '%s': unknown field '%s'", s, tok);
		}
	}
	if (!m->target)
		return berr_set(err, BERR_USAGE, "--mount '%s': no target", s);
	return 0;
}

static int engine_run_opts(int argc, char **argv, struct bld_engine_mount *mounts,
			   char **mount_bufs, size_t *nmounts_out)
{
	static const struct option opts[] = {
		{ "engine", required_argument, NULL, 'H' },
		{ "from", required_argument, NULL, 'F' },
		{ "rootfs", required_argument, NULL, 'R' },
		{ "isolation", required_argument, NULL, 'i' },
		{ "shell-form", no_argument, NULL, 'S' },
		{ "shell", required_argument, NULL, 's' },
		{ "env", required_argument, NULL, 'e' },
		{ "user", required_argument, NULL, 'u' },
		{ "workdir", required_argument, NULL, 'w' },
		{ "network", required_argument, NULL, 'n' },
		{ "mount", required_argument, NULL, 'm' },
		{ "output-layer", required_argument, NULL, 'o' },
		{ "layer-store", required_argument, NULL, 'L' },
		{ "no-keep-chain", no_argument, NULL, 'K' },
		{ "releases", required_argument, NULL, 'r' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL, *from = NULL, *user = NULL, *workdir = NULL, *outlayer = NULL;
	const char *rootfs = NULL, *netname = "default", *layer_store = NULL;
	const char *kbfile = NULL;
	const char *env[MAX_EXTRA_ENV];
	size_t nenv = 0;
	_cleanup_free_ char **shell = NULL;
	size_t nshell = 0;
	_cleanup_cjson_ cJSON *shell_json = NULL;
	bool shell_form = false, keep = true;
	enum bld_engine_iso forced = BLD_ENGINE_ISO_DEFAULT;
	enum bld_engine_network net = BLD_ENGINE_NET_DEFAULT;
	struct berr *err = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+H:e:u:w:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': url = optarg; break;
		case 'F': from = optarg; break;
		case 'R': rootfs = optarg; break;
		case 'S': shell_form = true; break;
		case 'u': user = optarg; break;
		case 'w': workdir = optarg; break;
		case 'o': outlayer = optarg; break;
		case 'L': layer_store = optarg; break;
		case 'K': keep = false; break;
		case 'r': kbfile = optarg; break;
		case 'i':
			if (bld_engine_iso_parse(optarg, &forced, &err) < 0)
				return cli_report(err);
			break;
		case 'e':
			if (nenv == MAX_EXTRA_ENV)
				return cli_usage_error(&cmd, "too many --env (limit %d)", MAX_EXTRA_ENV);
			if (!strchr(optarg, '='))
				return cli_usage_error(&cmd, "--env '%s': want KEY=VALUE", optarg);
			env[nenv++] = optarg;
			break;
		case 'n':
			netname = optarg;
			if (strcmp(optarg, "none") == 0) net = BLD_ENGINE_NET_NONE;
			else if (strcmp(optarg, "host") == 0) net = BLD_ENGINE_NET_HOST;
			else if (strcmp(optarg, "default") == 0) net = BLD_ENGINE_NET_DEFAULT;
			else return cli_usage_error(&cmd, "invalid --network '%s' (default, none, host)", optarg);
			break;
		case 'm':
			if (*nmounts_out == MAX_MOUNTS)
				return cli_usage_error(&cmd, "too many --mount (limit %d)", MAX_MOUNTS);
			if (parse_mount(optarg, &mounts[*nmounts_out], &mount_bufs[*nmounts_out], &err) < 0) {
				free(mount_bufs[*nmounts_out]);
				return cli_report(err);
			}
			(*nmounts_out)++;
			break;
		case 's': {
			cJSON_Delete(shell_json);
			shell_json = cJSON_Parse(optarg);
			int n = cJSON_IsArray(shell_json) ? cJSON_GetArraySize(shell_json) : 0;
			if (n == 0)
				return cli_usage_error(&cmd, "--shell wants a JSON array of strings, like "
						       "'[\"powershell\",\"-Command\"]'");
			free(shell);
			shell = xcalloc((size_t)n, sizeof(*shell));
			nshell = 0;
			const cJSON *it;
			cJSON_ArrayForEach(it, shell_json) {
				if (!cJSON_IsString(it))
					return cli_usage_error(&cmd, "--shell: every element must be a string");
				shell[nshell++] = it->valuestring;
			}
			break;
		}
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (!from == !rootfs)
		return cli_usage_error(&cmd, "engine run needs one of --from IMAGE (oci:DIR[:TAG], "
				       "docker-archive:FILE, or a local image) or --rootfs DIR");
	if (optind < argc && strcmp(argv[optind], "--") == 0)
		optind++;
	if (optind >= argc)
		return cli_usage_error(&cmd, "engine run needs a command after the options");
	if (nshell && !shell_form)
		return cli_usage_error(&cmd, "--shell applies to --shell-form only");
	if (rootfs) {
		/* the builder wraps shell form itself; do the same here */
		size_t n = (size_t)(argc - optind);
		_cleanup_free_ char **av = xcalloc(n + nshell + 3, sizeof(*av));
		size_t k = 0;
		_cleanup_free_ char *line = NULL;
		if (shell_form) {
			if (nshell)
				for (size_t i = 0; i < nshell; i++)
					av[k++] = shell[i];
			else {
				av[k++] = (char *)"/bin/sh";
				av[k++] = (char *)"-c";
			}
			struct bbuf b = BBUF_INIT;
			for (int i = optind; i < argc; i++)
				bbuf_addf(&b, NULL, "%s%s", i > optind ? " " : "", argv[i]);
			line = bbuf_detach(&b, NULL);
			av[k++] = line;
		} else {
			for (int i = optind; i < argc; i++)
				av[k++] = argv[i];
		}
		struct bld_exec_mount xm[MAX_MOUNTS];
		static const char *const tn[] = { "bind", "cache", "tmpfs", "secret", "ssh" };
		for (size_t i = 0; i < *nmounts_out; i++)
			xm[i] = (struct bld_exec_mount){ .type = tn[mounts[i].type], .source = mounts[i].source,
							 .target = mounts[i].target, .readonly = mounts[i].readonly };
		struct bld_exec_spec xs = {
			.argv = av, .argc = k, .env = (char *const *)env, .nenv = nenv,
			.user = user ? user : "", .workdir = workdir, .network = netname,
			.cancel_fd = -1, .mounts = xm, .nmounts = *nmounts_out, .output = exec_out,
		};
		if (run_via_executor(url, forced, rootfs, &xs, outlayer, &err) < 0)
			return cli_report(err);
		return 0;
	}

	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	struct img_source src;
	if (img_source_parse(from, &src, &err) < 0)
		return cli_report(err);
	_cleanup_img_image_ struct img_image *img = NULL;
	/* a lazy image's layers are fetched once the engine is known to fit */
	int ret = img_image_open_flags(&src, NULL, NULL, IMG_LOAD_LAZY, &img, &err);
	img_source_clear(&src);
	if (ret < 0)
		return cli_report(err);

	if (layer_store && outlayer)
		return cli_usage_error(&cmd, "--layer-store and --output-layer exclude each other");
	_cleanup_img_store_ struct img_store *lst = NULL;
	if (layer_store && img_store_open(layer_store, IMG_STORE_CREATE, &lst, &err) < 0)
		return cli_report(err);
	struct bld_engine_opts o = { .url = url, .tls = -1, .tls_verify = -1 };
	_cleanup_bld_engine_ struct bld_engine *e = NULL;
	if (bld_engine_open(&o, &e, &err) < 0)
		return cli_report(err);
	struct bld_engine_facts f = { 0 };
	if (bld_engine_get_facts(e, &f, &err) < 0)
		return cli_report(err);
	struct bld_engine_decision d;
	const struct img_platform *p = &img->config->platform;
	if (bld_engine_decide(kb, &f, p->os, p->os_version, p->architecture, forced, &d, &err) < 0) {
		bld_engine_facts_clear(&f);
		berr_wrap(&err, "engine '%s'", bld_engine_url(e));
		return cli_report(err);
	}
	if (strncmp(d.note, "warning:", 8) == 0)
		fprintf(stderr, "berth: %s\n", d.note);
	if (img->n_remote) {
		struct cli_reg cr;
		cli_reg_init(&cr);
		cr.to_stderr = true;
		ret = cli_reg_fetch_lazy(&cr, from, img, &err);
		cli_reg_clear(&cr);
		if (ret < 0) {
			bld_engine_facts_clear(&f);
			return cli_report(err);
		}
	}

	struct bld_engine_run_spec s = {
		.parent = img,
		.argv = (const char *const *)(argv + optind),
		.argc = (size_t)(argc - optind),
		.shell_form = shell_form,
		.shell = (const char *const *)shell,
		.n_shell = nshell,
		.env = env,
		.n_env = nenv,
		.user = user,
		.workdir = workdir,
		.network = net,
		.mounts = mounts,
		.n_mounts = *nmounts_out,
		.decision = &d,
		.output = out_fn,
		.keep_chain = keep,
		.label = "cli",
		.store = lst,
		.comp = { .comp = IMG_COMP_GZIP },
	};
	struct sigaction sa = { .sa_handler = on_signal }, old_int, old_term;
	sigemptyset(&sa.sa_mask);
	g_engine = e;
	sigaction(SIGINT, &sa, &old_int);
	sigaction(SIGTERM, &sa, &old_term);
	struct bld_engine_run_result r;
	ret = bld_engine_run(e, &f, &s, &r, &err);
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGTERM, &old_term, NULL);
	g_engine = NULL;
	bld_engine_facts_clear(&f);
	if (ret < 0) {
		bld_engine_run_result_clear(&r);
		return cli_report(err);
	}
	if (r.empty_layer) {
		fprintf(stderr, "diff_id: none (no filesystem change)\n");
		fprintf(stderr, "chain_id: %s\n", r.chain_id.s);
		fprintf(stderr, "history: %s\n", r.comment);
		bld_engine_run_result_clear(&r);
		return 0;
	}
	if (lst) {
		fprintf(stderr, "blob: %s %s (%llu bytes)\n", r.layer.r.digest.s, r.layer.media_type,
			(unsigned long long)r.layer.r.size);
	} else if (outlayer) {
		if (rename(r.layer_path, outlayer) < 0) {
			berr_set_errno(&err, BERR_IO, errno, "move the layer to '%s'", outlayer);
			unlink(r.layer_path);
			bld_engine_run_result_clear(&r);
			return cli_report(err);
		}
	} else {
		unlink(r.layer_path);
	}
	fprintf(stderr, "diff_id: %s\n", r.diff_id.s);
	fprintf(stderr, "chain_id: %s\n", r.chain_id.s);
	fprintf(stderr, "size: %llu\n", (unsigned long long)r.layer_size);
	fprintf(stderr, "parent: %s\n", r.loaded_parent ? "loaded" : "reused");
	fprintf(stderr, "isolation: %s\n", r.isolation);
	fprintf(stderr, "history: %s\n", r.comment);
	bld_engine_run_result_clear(&r);
	return 0;
}

static int engine_run(int argc, char **argv)
{
	struct bld_engine_mount mounts[MAX_MOUNTS];
	char *mount_bufs[MAX_MOUNTS];
	size_t nmounts = 0;
	int ret = engine_run_opts(argc, argv, mounts, mount_bufs, &nmounts);
	for (size_t i = 0; i < nmounts; i++)
		free(mount_bufs[i]);
	return ret;
}

/* --- prune --- */

static int engine_prune(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "engine", required_argument, NULL, 'H' },
		{ "chains", no_argument, NULL, 'c' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *url = NULL;
	bool chains = false;
	int c;
	while ((c = getopt_long(argc, argv, "H:h", opts, NULL)) != -1) {
		switch (c) {
		case 'H': url = optarg; break;
		case 'c': chains = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	struct berr *err = NULL;
	struct bld_engine_opts o = { .url = url, .tls = -1, .tls_verify = -1 };
	_cleanup_bld_engine_ struct bld_engine *e = NULL;
	size_t nc = 0, ni = 0;
	if (bld_engine_open(&o, &e, &err) < 0 || bld_engine_prune(e, chains, &nc, &ni, &err) < 0)
		return cli_report(err);
	printf("removed %zu containers, %zu images\n", nc, ni);
	return 0;
}

static int run(int argc, char **argv)
{
	if (argc < 2)
		return cli_usage_error(&cmd, "missing subcommand (info, run or prune)");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cli_print_help(&cmd, stdout);
		return 0;
	}
	const char *sub = argv[1];
	int sargc = argc - 1;
	char **sargv = argv + 1;
	optind = 1;
	if (strcmp(sub, "info") == 0)
		return engine_info(sargc, sargv);
	if (strcmp(sub, "run") == 0)
		return engine_run(sargc, sargv);
	if (strcmp(sub, "prune") == 0)
		return engine_prune(sargc, sargv);
	return cli_usage_error(&cmd, "unknown subcommand '%s'", sub);
}

static const struct cli_command cmd = {
	.name = "engine",
	.summary = "Docker Engine executor: host facts, isolation, RUN in an engine container",
	.usage =
	"Usage: berth engine SUBCOMMAND [OPTIONS]\n"
	"\n"
	"Talk to a Docker Engine (local unix socket or a remote Windows build host over\n"
	"TCP+TLS) the way berth's engine executor does. The engine is --engine URL, else\n"
	"$DOCKER_HOST, else unix:///var/run/docker.sock; TLS follows DOCKER_TLS_VERIFY and\n"
	"DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem) like the docker CLI.\n"
	"\n"
	"Subcommands:\n"
	"  info [--engine URL] [--format text|json] [--base OSVERSION] [--isolation MODE]\n"
	"       [--info-json FILE [--version-json FILE]] [--releases FILE]\n"
	"        Host facts from /info and /version, and for Windows engines which base\n"
	"        image builds run there in which isolation (compat's verdicts). --base asks\n"
	"        about one base (10.0.17763.5329, or 'linux'); exit 1 when berth would refuse\n"
	"        it. --info-json/--version-json read saved payloads instead of an engine.\n"
	"  run --from IMAGE|--rootfs DIR [--engine URL] [--isolation process|hyperv] [--shell-form]\n"
	"      [--shell JSON] [-e KEY=VALUE]... [-u USER] [-w DIR] [--network MODE]\n"
	"      [--mount type=bind|cache|tmpfs,target=PATH[,source=X][,ro]]...\n"
	"      [--output-layer FILE | --layer-store DIR] [--no-keep-chain] [--] COMMAND...\n"
	"        One RUN step: load IMAGE's layer chain into the engine (once; tagged\n"
	"        berth-chain:<chain ID>), run COMMAND (exec form, or a command line for\n"
	"        the shell with --shell-form), stream its output, commit, and take the new\n"
	"        layer out. Prints diff_id, chain_id and the history comment on stderr;\n"
	"        --output-layer keeps the layer tar; --layer-store DIR gzips it into an OCI\n"
	"        layout's blobs (printed as 'blob:'). Interrupt (Ctrl-C) removes the container.\n"
	"        --rootfs DIR runs over a directory tree through the builder's executor\n"
	"        interface instead (the tree is packaged as a layer; the layer is re-encoded).\n"
	"  prune [--engine URL] [--chains]\n"
	"        Remove containers berth left behind and, with --chains, its chain images.\n",
	.run = run,
};
CLI_REGISTER(cmd);
