/* berth hook: install / uninstall git hooks that lint Dockerfiles, and the
 * `run` entry point those hooks call. Owner: lint. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli/cli.h"
#include "cli/lint_session.h"
#include "common/common.h"
#include "lint/lint.h"
#include "parser/df_ast.h"

extern char **environ;

/* First line after the shebang: how our hooks are recognised. */
#define HOOK_MARKER "# berth-hook:"
/* A foreign hook moved aside by --force, restored by uninstall. */
#define HOOK_BACKUP_SUFFIX ".pre-berth"
/* Output of one git command (file lists, one file's content). */
#define GIT_OUT_MAX (DF_MAX_FILE_SIZE + 1024)
/* pre-push stdin */
#define PUSH_INPUT_MAX (1u << 20)
#define ZERO_SHA "0000000000000000000000000000000000000000"

static int run_hook(int argc, char **argv);

static const struct cli_command cmd = {
	.name = "hook",
	.summary = "Install git hooks that lint Dockerfiles before push or commit",
	.usage =
		"Usage: berth hook install [--pre-push|--pre-commit] [--repo DIR] [--force]\n"
		"       berth hook uninstall [--pre-push|--pre-commit] [--repo DIR]\n"
		"       berth hook run pre-push|pre-commit [REMOTE [URL]]\n"
		"\n"
		"install writes an executable git hook (pre-push by default) that runs\n"
		"'berth lint' on the Dockerfiles changed by the pushed commits (pre-commit:\n"
		"the staged ones), with the repository's .berth.json: its target_hosts make\n"
		"the Windows compatibility check (rules BW106/BW107, the same engine as\n"
		"'berth compat check') part of every push. A push or commit with findings\n"
		"at or above fail_on (default warning) is refused; 'git push --no-verify'\n"
		"bypasses it. An existing hook that berth did not write is left alone unless\n"
		"--force, which moves it to <hook>" HOOK_BACKUP_SUFFIX " (uninstall puts it back).\n"
		"\n"
		"run is what the hook executes; it reads git's pre-push input on stdin.\n"
		"\n"
		"Options:\n"
		"      --pre-push     the pre-push hook (default)\n"
		"      --pre-commit   the pre-commit hook\n"
		"      --repo DIR     repository (default: current directory)\n"
		"      --force        replace a hook berth did not write\n"
		"  -h, --help         Show this help\n"
		"\n"
		"Files linted: Dockerfile, Containerfile, Dockerfile.*, *.Dockerfile,\n"
		"*.dockerfile (any directory).\n",
	.run = run_hook,
};
CLI_REGISTER(cmd);

/* ------------------------------------------------------------- git */

/* Run git with argv (argv[0] is "git"), stdin from /dev/null, stdout into
 * out. Returns the exit status (0..255), or -1 with *err set. */
static int git(const char *const *argv, struct bbuf *out, struct berr **err)
{
	int pfd[2];
	if (pipe2(pfd, O_CLOEXEC) < 0)
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, pfd[1], STDOUT_FILENO);
	pid_t pid;
	int rc = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[1]);
	if (rc != 0) {
		close(pfd[0]);
		return berr_set_errno(err, BERR_IO, rc, "cannot run git");
	}
	if (out)
		bbuf_reset(out);
	struct bbuf sink = BBUF_INIT;
	int r = bfd_read_all(pfd[0], "git output", GIT_OUT_MAX, out ? out : &sink, err);
	bbuf_release(&sink);
	close(pfd[0]);
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return berr_set_errno(err, BERR_IO, errno, "waitpid");
	if (r < 0)
		return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

/* git -C dir rev-parse --git-path hooks, made absolute. */
static char *hooks_dir(const char *repo, struct berr **err)
{
	struct bbuf b = BBUF_INIT;
	const char *argv[] = { "git", "-C", repo, "rev-parse", "--git-path", "hooks", NULL };
	int rc = git(argv, &b, err);
	if (rc != 0) {
		bbuf_release(&b);
		if (rc > 0)
			berr_set(err, BERR_INPUT, "'%s' is not a git repository", repo);
		return NULL;
	}
	char *p = bbuf_detach(&b, NULL);
	p[strcspn(p, "\n")] = 0;
	if (p[0] != '/') {
		char *abs = xasprintf("%s/%s", repo, p);
		free(p);
		p = abs;
	}
	return p;
}

/* ---------------------------------------------------- install / uninstall */

static char *self_path(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf) - 1);
	if (n <= 0)
		return xstrdup("berth");
	buf[n] = 0;
	return xstrdup(buf);
}

/* 'single-quoted' for sh */
static void sh_quote(struct bbuf *b, const char *s)
{
	bbuf_addch(b, '\'', NULL);
	for (; *s; s++) {
		if (*s == '\'')
			bbuf_addstr(b, "'\\''", NULL);
		else
			bbuf_addch(b, *s, NULL);
	}
	bbuf_addch(b, '\'', NULL);
}

static char *hook_script(const char *kind)
{
	struct bbuf b = BBUF_INIT;
	char *self = self_path();
	bbuf_addf(&b, NULL,
		  "#!/bin/sh\n"
		  HOOK_MARKER " %s (written by 'berth hook install'; remove with 'berth hook uninstall')\n"
		  "# Lints the Dockerfiles in the %s with .berth.json; see berth-hook(1).\n"
		  "berth=${BERTH_HOOK_BIN:-", kind,
		  strcmp(kind, "pre-push") == 0 ? "pushed commits" : "staged changes");
	sh_quote(&b, self);
	bbuf_addf(&b, NULL,
		  "}\n"
		  "if [ ! -x \"$berth\" ]; then\n"
		  "\tberth=$(command -v berth) || {\n"
		  "\t\techo \"berth hook: berth not found; Dockerfiles not linted\" >&2\n"
		  "\t\texit 0\n"
		  "\t}\n"
		  "fi\n"
		  "exec \"$berth\" hook run %s \"$@\"\n", kind);
	free(self);
	return bbuf_detach(&b, NULL);
}

static bool is_our_hook(const char *path)
{
	struct bbuf b = BBUF_INIT;
	bool ours = false;
	if (bfile_read_all(path, 64 * 1024, &b, NULL) == 0)
		ours = strstr(bbuf_str(&b), "\n" HOOK_MARKER) != NULL;
	bbuf_release(&b);
	return ours;
}

static int hook_install(const char *repo, const char *kind, bool force, bool uninstall)
{
	struct berr *err = NULL;
	char *dir = hooks_dir(repo, &err);
	if (!dir)
		return cli_report(err);
	char *path = xasprintf("%s/%s", dir, kind);
	char *backup = xasprintf("%s%s", path, HOOK_BACKUP_SUFFIX);
	int rc = 0;
	struct stat st;
	bool exists = lstat(path, &st) == 0;
	if (uninstall) {
		if (!exists) {
			printf("no %s hook installed in %s\n", kind, dir);
		} else if (!is_our_hook(path)) {
			berr_set(&err, BERR_INPUT, "%s was not written by berth; leaving it alone", path);
			rc = cli_report(err);
		} else if (unlink(path) < 0) {
			berr_set_errno(&err, BERR_IO, errno, "cannot remove '%s'", path);
			rc = cli_report(err);
		} else {
			printf("removed %s\n", path);
			if (lstat(backup, &st) == 0) {
				if (rename(backup, path) < 0) {
					berr_set_errno(&err, BERR_IO, errno, "cannot restore '%s'", backup);
					rc = cli_report(err);
				} else {
					printf("restored the previous hook from %s\n", backup);
				}
			}
		}
		goto out;
	}
	if (exists && !is_our_hook(path)) {
		if (!force) {
			berr_set(&err, BERR_EXISTS, "%s exists and was not written by berth; use --force to "
				 "replace it (it is kept as %s%s)", path, kind, HOOK_BACKUP_SUFFIX);
			rc = cli_report(err);
			goto out;
		}
		if (rename(path, backup) < 0) {
			berr_set_errno(&err, BERR_IO, errno, "cannot move '%s' aside", path);
			rc = cli_report(err);
			goto out;
		}
		printf("moved the existing hook to %s\n", backup);
	}
	if (bfile_mkdir_p(dir, 0755, &err) < 0) {
		rc = cli_report(err);
		goto out;
	}
	char *script = hook_script(kind);
	if (bfile_write_atomic(path, script, strlen(script), 0755, &err) < 0)
		rc = cli_report(err);
	else
		printf("installed %s\n", path);
	free(script);
out:
	free(dir);
	free(path);
	free(backup);
	return rc;
}

/* ------------------------------------------------------------------- run */

static bool is_dockerfile(const char *path)
{
	const char *b = strrchr(path, '/');
	b = b ? b + 1 : path;
	size_t n = strlen(b);
	if (strcasecmp(b, "Dockerfile") == 0 || strcasecmp(b, "Containerfile") == 0)
		return true;
	if (strncasecmp(b, "Dockerfile.", 11) == 0 || strncasecmp(b, "Containerfile.", 14) == 0)
		return true;
	return n > 11 && strcasecmp(b + n - 11, ".dockerfile") == 0;
}

struct target {
	char *rev;   /* commit, or "" for the index */
	char *path;
};

struct targets {
	struct target *v;
	size_t n, cap;
};

static void targets_add_list(struct targets *t, const char *rev, const char *list)
{
	const char *p = list;
	while (*p) {
		size_t n = strcspn(p, "\n");
		if (n) {
			char *path = xstrndup(p, n);
			bool dup = !is_dockerfile(path);
			for (size_t i = 0; i < t->n && !dup; i++)
				dup = strcmp(t->v[i].path, path) == 0 && strcmp(t->v[i].rev, rev) == 0;
			if (dup) {
				free(path);
			} else {
				XGROW(t->v, t->n + 1, t->cap);
				t->v[t->n].rev = xstrdup(rev);
				t->v[t->n].path = path;
				t->n++;
			}
		}
		p += n;
		if (*p)
			p++;
	}
}

static bool is_sha(const char *s)
{
	size_t n = strlen(s);
	if (n != 40 && n != 64)
		return false;
	for (; *s; s++)
		if (!strchr("0123456789abcdef", *s))
			return false;
	return true;
}

/* Dockerfiles changed by one pre-push line. */
static int push_targets(struct targets *t, const char *remote, const char *lsha, const char *rsha,
			struct berr **err)
{
	struct bbuf b = BBUF_INIT;
	int rc;
	if (strspn(rsha, "0") == strlen(rsha)) {
		/* new branch: commits not yet on the remote */
		char *not_remote = xasprintf("--remotes=%s", remote && *remote ? remote : "*");
		const char *argv[] = { "git", "log", "--format=", "--name-only", "--diff-filter=ACMR",
				       lsha, "--not", not_remote, "--", NULL };
		rc = git(argv, &b, err);
		free(not_remote);
	} else {
		char *obj = xasprintf("%s^{commit}", rsha);
		const char *probe[] = { "git", "cat-file", "-e", obj, NULL };
		rc = git(probe, NULL, err);
		free(obj);
		if (rc < 0)
			goto out;
		if (rc == 0) {
			const char *argv[] = { "git", "diff", "--name-only", "--diff-filter=ACMR", rsha, lsha,
					       "--", NULL };
			rc = git(argv, &b, err);
		} else {
			/* the remote's commit is not here (not fetched): lint every Dockerfile */
			const char *argv[] = { "git", "ls-tree", "-r", "--name-only", lsha, NULL };
			rc = git(argv, &b, err);
		}
	}
	if (rc > 0)
		rc = berr_set(err, BERR_FAILED, "git could not list the files pushed from %s", lsha);
	if (rc == 0)
		targets_add_list(t, lsha, bbuf_str(&b));
out:
	bbuf_release(&b);
	return rc < 0 ? -1 : 0;
}

static int hook_run(const char *kind, const char *remote)
{
	struct berr *err = NULL;
	struct targets t = { 0 };
	int rc = 0;
	struct bbuf top = BBUF_INIT;
	const char *tl[] = { "git", "rev-parse", "--show-toplevel", NULL };
	if (git(tl, &top, &err) != 0) {
		bbuf_release(&top);
		if (!err)
			berr_set(&err, BERR_INPUT, "not inside a git work tree");
		return cli_report(err);
	}
	char *root = bbuf_detach(&top, NULL);
	root[strcspn(root, "\n")] = 0;
	if (strcmp(kind, "pre-push") == 0) {
		struct bbuf in = BBUF_INIT;
		if (bfd_read_all(STDIN_FILENO, "pre-push input", PUSH_INPUT_MAX, &in, &err) < 0) {
			bbuf_release(&in);
			free(root);
			return cli_report(err);
		}
		char *save = NULL;
		for (char *line = strtok_r(in.data ? in.data : (char[]){ 0 }, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save)) {
			char lref[1024], lsha[80], rref[1024], rsha[80];
			if (sscanf(line, "%1023s %79s %1023s %79s", lref, lsha, rref, rsha) != 4 ||
			    !is_sha(lsha) || !is_sha(rsha)) {
				fprintf(stderr, "berth hook: ignoring malformed pre-push line '%s'\n", line);
				continue;
			}
			if (strspn(lsha, "0") == strlen(lsha))
				continue; /* deletion: nothing to lint */
			if (push_targets(&t, remote, lsha, rsha, &err) < 0) {
				rc = cli_report(err);
				err = NULL;
			}
		}
		bbuf_release(&in);
	} else {
		struct bbuf b = BBUF_INIT;
		const char *argv[] = { "git", "diff", "--cached", "--name-only", "--diff-filter=ACMR", "--", NULL };
		if (git(argv, &b, &err) != 0) {
			if (!err)
				berr_set(&err, BERR_FAILED, "git diff --cached failed");
			rc = cli_report(err);
			err = NULL;
		} else {
			targets_add_list(&t, "", bbuf_str(&b));
		}
		bbuf_release(&b);
	}
	if (rc != 0 || t.n == 0)
		goto out;

	struct cli_lint_args a = { .config_dir = root };
	struct cli_lint_session s;
	if (cli_lint_session_init(&s, &a, &err) < 0) {
		cli_lint_session_release(&s);
		rc = cli_report(err);
		goto out;
	}
	struct lint_result *res = xcalloc(t.n, sizeof(*res));
	size_t nres = 0;
	for (size_t i = 0; i < t.n; i++) {
		char *obj = xasprintf("%s:%s", t.v[i].rev, t.v[i].path);
		struct bbuf b = BBUF_INIT;
		const char *argv[] = { "git", "-C", root, "show", obj, NULL };
		int g = git(argv, &b, &err);
		free(obj);
		if (g != 0) {
			if (g > 0)
				berr_set(&err, BERR_FAILED, "git cannot read '%s'", t.v[i].path);
			rc = cli_report(err);
			err = NULL;
		} else if (lint_check(&s.opts, t.v[i].path, bbuf_str(&b), b.len, &res[nres], &err) < 0) {
			lint_result_release(&res[nres]);
			rc = cli_report(err);
			err = NULL;
		} else {
			nres++;
		}
		bbuf_release(&b);
	}
	char *text = lint_render(s.format, res, nres, s.rules_url);
	fputs(text, stderr);
	free(text);
	if (cli_lint_failed(&s, res, nres)) {
		fprintf(stderr, "berth: %s refused: Dockerfile findings at or above '%s' (fix them, add "
			"'# berth-ignore: ID reason', or bypass with --no-verify)\n",
			strcmp(kind, "pre-push") == 0 ? "push" : "commit", lint_severity_name(s.fail_on > 2 ? 2 : s.fail_on));
		rc = 1;
	}
	for (size_t i = 0; i < nres; i++)
		lint_result_release(&res[i]);
	free(res);
	cli_lint_session_release(&s);
out:
	for (size_t i = 0; i < t.n; i++) {
		free(t.v[i].rev);
		free(t.v[i].path);
	}
	free(t.v);
	free(root);
	return rc;
}

static int run_hook(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pre-push", no_argument, NULL, 'p' },
		{ "pre-commit", no_argument, NULL, 'c' },
		{ "repo", required_argument, NULL, 'r' },
		{ "force", no_argument, NULL, 'f' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	if (argc < 2)
		return cli_usage_error(&cmd, "missing subcommand (install, uninstall or run)");
	if (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0) {
		cli_print_help(&cmd, stdout);
		return 0;
	}
	const char *sub = argv[1];
	if (strcmp(sub, "run") == 0) {
		if (argc < 3 || (strcmp(argv[2], "pre-push") != 0 && strcmp(argv[2], "pre-commit") != 0))
			return cli_usage_error(&cmd, "'hook run' needs pre-push or pre-commit");
		return hook_run(argv[2], argc > 3 ? argv[3] : NULL);
	}
	if (strcmp(sub, "install") != 0 && strcmp(sub, "uninstall") != 0)
		return cli_usage_error(&cmd, "unknown subcommand '%s'", sub);
	const char *kind = "pre-push", *repo = ".";
	bool force = false;
	int c;
	optind = 2;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'p': kind = "pre-push"; break;
		case 'c': kind = "pre-commit"; break;
		case 'r': repo = optarg; break;
		case 'f': force = true; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	if (force && strcmp(sub, "uninstall") == 0)
		return cli_usage_error(&cmd, "--force applies to install only");
	return hook_install(repo, kind, force, strcmp(sub, "uninstall") == 0);
}
