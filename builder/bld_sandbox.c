/* berth side of the sandbox: prepares the scratch directory, starts the
 * helper, streams output, handles cancellation and cleans up after the run
 * (mountpoints created for the sandbox, fallback diff, cgroups). */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "builder/bld_sandbox.h"
#include "builder/bld_sandbox_int.h"
#include "common/bopen.h"
#include "common/common.h"

#define SB_MAX_HOSTS_FILE (64 * 1024)

struct mountpoint_rec {
	char kind;  /* 'd' or 'f' */
	char *path; /* relative to the root */
};

struct line_buf {
	struct bbuf b;
	bool eof;
};

struct bld_sandbox {
	struct sb_cfg cfg;
	char *scratch;
	bool own_upper_default;
	struct bld_sandbox_spec spec; /* output callback, cancel fd, flags */
	pid_t helper;
	volatile sig_atomic_t cancel_requested;
	volatile sig_atomic_t init_pidfd; /* -1 until PID 1 is known */
	pid_t init_pid;
	int out_r, err_r, status_r;
	struct bbuf status_in;
	struct line_buf lines[3];
	struct mountpoint_rec *recs;
	size_t n_recs, cap_recs;
	char **notices;
	size_t n_notices, cap_notices;
	struct berr *child_err;
	bool no_overlay;      /* PID 1 reported that overlay could not be mounted */
	char *no_overlay_msg;
	bool have_exit;
	int exit_status;
	bool fallback;        /* running on a copied root */
	struct sb_snapshot *snap;
	struct sb_cgroup cg;
	bool finished;
};

static void add_notice(struct bld_sandbox *sb, char *text)
{
	XGROW(sb->notices, sb->n_notices + 1, sb->cap_notices);
	sb->notices[sb->n_notices++] = text;
}

static char **dup_strv(const char *const *v, size_t extra)
{
	size_t n = 0;
	while (v && v[n])
		n++;
	char **out = xcalloc(n + 1 + extra, sizeof(char *));
	for (size_t i = 0; i < n; i++)
		out[i] = xstrdup(v[i]);
	return out;
}

static void free_strv(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

static int make_dir(const char *path, mode_t mode, bool must_be_empty, struct berr **err)
{
	if (mkdir(path, mode) == 0)
		return 0;
	if (errno != EEXIST)
		return berr_set_errno(err, BERR_IO, errno, "create directory '%s'", path);
	if (!must_be_empty)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", path);
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
			empty = false;
	closedir(d);
	if (!empty)
		return berr_set(err, BERR_EXISTS, "sandbox directory '%s' is not empty", path);
	return 0;
}

/* The upper (or copied) root is the container's "/": 0755 whatever berth's
 * umask is, or a non-root USER could not even look up paths. */
static int root_mode(const char *path, struct berr **err)
{
	if (chmod(path, 0755) < 0)
		return berr_set_errno(err, BERR_IO, errno, "chmod '%s'", path);
	return 0;
}

static int write_small(const char *path, const char *text, struct berr **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", path);
	if (fchmod(fd, 0644) < 0)
		return berr_set_errno(err, BERR_IO, errno, "chmod '%s'", path);
	return bfd_write_all(fd, text, strlen(text), path, err);
}

static int validate(const struct bld_sandbox_spec *s, struct berr **err)
{
	if (!s->scratch || !*s->scratch)
		return berr_set(err, BERR_USAGE, "no scratch directory");
	if (!s->argv || !s->argv[0] || !*s->argv[0])
		return berr_set(err, BERR_USAGE, "empty command");
	if (s->n_lowers > BLD_SANDBOX_MAX_LOWERS)
		return berr_set(err, BERR_LIMIT, "%zu layers, at most %d can be stacked",
				s->n_lowers, BLD_SANDBOX_MAX_LOWERS);
	if (s->n_mounts > BLD_SANDBOX_MAX_MOUNTS)
		return berr_set(err, BERR_LIMIT, "more than %d mounts", BLD_SANDBOX_MAX_MOUNTS);
	for (size_t i = 0; i < s->n_lowers; i++) {
		if (!s->lowers[i] || s->lowers[i][0] != '/')
			return berr_set(err, BERR_USAGE, "layer directory '%s' is not absolute",
					s->lowers[i] ? s->lowers[i] : "(null)");
		struct stat st;
		if (stat(s->lowers[i], &st) < 0)
			return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
					      "layer directory '%s'", s->lowers[i]);
		if (!S_ISDIR(st.st_mode))
			return berr_set(err, BERR_USAGE, "layer '%s' is not a directory",
					s->lowers[i]);
	}
	if (s->cwd && s->cwd[0] != '/')
		return berr_set(err, BERR_INPUT, "working directory '%s' is not absolute", s->cwd);
	if (s->net < BLD_NET_NONE || s->net > BLD_NET_DEFAULT)
		return berr_set(err, BERR_USAGE, "unknown network mode %d", s->net);
	if (s->hostname && (strlen(s->hostname) > 64 || !*s->hostname))
		return berr_set(err, BERR_INPUT, "hostname '%s' is not 1 to 64 bytes", s->hostname);
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct bld_mount *m = &s->mounts[i];
		if (!m->target || m->target[0] != '/' || !bpath_is_contained(m->target + 1))
			return berr_set(err, BERR_INPUT, "mount target '%s' is not an absolute path",
					m->target ? m->target : "(null)");
		_cleanup_free_ char *c = bpath_clean(m->target);
		if (strcmp(c, "/") == 0 || strcmp(c, "/proc") == 0 || strcmp(c, "/dev") == 0)
			return berr_set(err, BERR_INPUT, "cannot mount over '%s'", c);
		if (m->type != BLD_MOUNT_TMPFS && (!m->src || !*m->src))
			return berr_set(err, BERR_INPUT, "mount at '%s' has no source", m->target);
		if (m->type < BLD_MOUNT_BIND || m->type > BLD_MOUNT_SECRET)
			return berr_set(err, BERR_USAGE, "mount at '%s': unknown type %d", m->target, m->type);
	}
	return 0;
}

/* /etc/resolv.conf for the run: the host's (BuildKit does the same) */
static char *host_resolv(void)
{
	struct bbuf b = BBUF_INIT;
	if (bfile_read_all("/etc/resolv.conf", SB_MAX_HOSTS_FILE, &b, NULL) < 0) {
		bbuf_release(&b);
		return xstrdup("");
	}
	size_t n;
	return bbuf_detach(&b, &n);
}

static int prepare(struct bld_sandbox *sb, const struct bld_sandbox_spec *s, struct berr **err)
{
	struct sb_cfg *c = &sb->cfg;
	sb->scratch = xstrdup(s->scratch);
	if (make_dir(sb->scratch, 0700, true, err) < 0)
		return -1;
	c->upper = s->upper ? xstrdup(s->upper) : xasprintf("%s/upper", sb->scratch);
	if (make_dir(c->upper, 0755, true, err) < 0 || root_mode(c->upper, err) < 0)
		return -1;
	c->work = xasprintf("%s/work", sb->scratch);
	c->merged = xasprintf("%s/root", sb->scratch);
	c->secrets_dir = xasprintf("%s/secrets", sb->scratch);
	bool secrets = false;
	for (size_t i = 0; i < s->n_mounts; i++)
		secrets |= s->mounts[i].type == BLD_MOUNT_SECRET;
	if (make_dir(c->work, 0700, false, err) < 0 || make_dir(c->merged, 0755, false, err) < 0 ||
	    (secrets && make_dir(c->secrets_dir, 0700, false, err) < 0))
		return -1;
	if (s->n_lowers == 0) {
		c->lowers = xcalloc(2, sizeof(char *));
		c->lowers[0] = xasprintf("%s/empty", sb->scratch);
		c->n_lowers = 1;
		if (make_dir(c->lowers[0], 0755, false, err) < 0 || root_mode(c->lowers[0], err) < 0)
			return -1;
	} else {
		c->lowers = xcalloc(s->n_lowers + 1, sizeof(char *));
		for (size_t i = 0; i < s->n_lowers; i++)
			c->lowers[i] = xstrdup(s->lowers[i]);
		c->n_lowers = s->n_lowers;
	}
	c->hostname = xstrdup(s->hostname ? s->hostname : BLD_SANDBOX_DEFAULT_HOSTNAME);
	c->hosts = xasprintf("%s/hosts", sb->scratch);
	c->resolv = xasprintf("%s/resolv.conf", sb->scratch);
	c->hostname_file = xasprintf("%s/hostname", sb->scratch);
	_cleanup_free_ char *hosts = xasprintf(
		"127.0.0.1\tlocalhost %s\n::1\tlocalhost ip6-localhost ip6-loopback\n", c->hostname);
	_cleanup_free_ char *resolv = host_resolv();
	_cleanup_free_ char *hn = xasprintf("%s\n", c->hostname);
	if (write_small(c->hosts, hosts, err) < 0 || write_small(c->resolv, resolv, err) < 0 ||
	    write_small(c->hostname_file, hn, err) < 0)
		return -1;

	c->argv = dup_strv(s->argv, 0);
	c->env = dup_strv(s->env, 1);
	bool has_path = false;
	size_t ne = 0;
	for (; c->env[ne]; ne++)
		has_path |= strncmp(c->env[ne], "PATH=", 5) == 0;
	if (!has_path) /* BuildKit adds the default PATH to the environment */
		c->env[ne] = xstrdup("PATH=" BLD_SANDBOX_DEFAULT_PATH);
	c->user = xstrdup(s->user ? s->user : "");
	c->cwd = xstrdup(s->cwd ? s->cwd : "/");
	c->net = s->net;
	c->n_mounts = s->n_mounts;
	c->mounts = xcalloc(s->n_mounts + 1, sizeof(*c->mounts));
	for (size_t i = 0; i < s->n_mounts; i++) {
		c->mounts[i] = s->mounts[i];
		c->mounts[i].src = s->mounts[i].src ? xstrdup(s->mounts[i].src) : NULL;
		c->mounts[i].target = xstrdup(s->mounts[i].target);
	}
	c->flags = s->flags;
	c->userns = (s->flags & BLD_SANDBOX_USERNS) || geteuid() != 0;
	c->outer_uid = geteuid();
	c->outer_gid = getegid();
	c->status_fd = c->out_fd = c->err_fd = -1;

	if (s->memory_limit || s->pids_limit) {
		_cleanup_free_ char *tag = xasprintf("berth-%d-%p", (int)getpid(), (void *)sb);
		sb_cgroup_setup(&sb->cg, s->memory_limit, s->pids_limit, tag, &sb->notices,
				&sb->n_notices);
		sb->cap_notices = sb->n_notices;
		c->cgroup_procs = sb->cg.procs;
		c->n_cgroup_procs = sb->cg.n;
	}
	return 0;
}

static int start_fallback(struct bld_sandbox *sb, struct berr **err)
{
	struct sb_cfg *c = &sb->cfg;
	free(c->copy_root);
	c->copy_root = xasprintf("%s/copy", sb->scratch);
	if (make_dir(c->copy_root, 0755, true, err) < 0 || root_mode(c->copy_root, err) < 0)
		return -1;
	if (sb_snapshot_create(c->lowers, c->n_lowers, c->copy_root, &sb->snap, err) < 0)
		return berr_wrap(err, "copy the layers for the fallback sandbox");
	sb->fallback = true;
	return 0;
}

static int spawn(struct bld_sandbox *sb, struct berr **err)
{
	int out[2], errp[2], st[2];
	if (pipe2(out, O_CLOEXEC) < 0)
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	if (pipe2(errp, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]);
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	}
	if (pipe2(st, O_CLOEXEC) < 0) {
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]);
		return berr_set_errno(err, BERR_IO, errno, "pipe");
	}
	sb->cfg.out_fd = out[1];
	sb->cfg.err_fd = errp[1];
	sb->cfg.status_fd = st[1];
	sb->cfg.parent_pid = getpid();
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(out[0]), close(out[1]), close(errp[0]), close(errp[1]), close(st[0]), close(st[1]);
		return berr_set_errno(err, BERR_IO, e, "fork the sandbox");
	}
	if (pid == 0) {
		close(out[0]), close(errp[0]), close(st[0]);
		sb_child_main(&sb->cfg);
	}
	close(out[1]), close(errp[1]), close(st[1]);
	sb->cfg.out_fd = sb->cfg.err_fd = sb->cfg.status_fd = -1;
	sb->helper = pid;
	sb->out_r = out[0];
	sb->err_r = errp[0];
	sb->status_r = st[0];
	sb->init_pid = 0;
	sb->init_pidfd = -1;
	sb->have_exit = false;
	sb->no_overlay = false;
	return 0;
}

int bld_sandbox_start(const struct bld_sandbox_spec *spec, struct bld_sandbox **out,
		      struct berr **err)
{
	if (validate(spec, err) < 0)
		return -1;
	struct bld_sandbox *sb = xcalloc(1, sizeof(*sb));
	sb->out_r = sb->err_r = sb->status_r = -1;
	sb->init_pidfd = -1;
	sb->spec = *spec;
	sb->spec.cancel_fd = spec->cancel_fd;
	for (size_t i = 0; i < 3; i++)
		sb->lines[i].b.limit = 0;
	if (prepare(sb, spec, err) < 0 ||
	    ((spec->flags & BLD_SANDBOX_NO_OVERLAY) && start_fallback(sb, err) < 0) ||
	    spawn(sb, err) < 0) {
		sb->finished = true;
		bld_sandbox_free(sb);
		return berr_wrap(err, "sandbox");
	}
	if (sb->fallback)
		add_notice(sb, xstrdup("overlayfs disabled: running on a copy of the layers (slower)"));
	*out = sb;
	return 0;
}

void bld_sandbox_kill(struct bld_sandbox *sb)
{
	if (!sb)
		return;
	sb->cancel_requested = 1;
	int fd = sb->init_pidfd;
	if (fd >= 0)
		syscall(SYS_pidfd_send_signal, fd, SIGKILL, NULL, 0);
}

static void do_cancel(struct bld_sandbox *sb)
{
	sb->cancel_requested = 1;
	if (sb->init_pidfd >= 0)
		syscall(SYS_pidfd_send_signal, (int)sb->init_pidfd, SIGKILL, NULL, 0);
	else if (sb->init_pid > 0)
		kill(sb->init_pid, SIGKILL);
	else if (sb->helper > 0)
		/* PID 1 is still being set up (its PID is sent after its exec):
		 * killing the helper kills it through PDEATHSIG; the output pipes
		 * it holds keep bld_sandbox_wait waiting until it is gone */
		kill(sb->helper, SIGKILL);
}

/* delivers output; line mode keeps partial lines per stream */
static void deliver(struct bld_sandbox *sb, int stream, const char *p, size_t n, bool eof)
{
	if (!sb->spec.output)
		return;
	if (!(sb->spec.flags & BLD_SANDBOX_LINES)) {
		if (n && sb->spec.output(sb->spec.output_ud, stream, p, n))
			do_cancel(sb);
		return;
	}
	struct bbuf *b = &sb->lines[stream].b;
	bbuf_add(b, p, n, NULL);
	size_t start = 0;
	for (size_t i = 0; i < b->len; i++) {
		if (b->data[i] == '\n' || i - start + 1 >= BLD_SANDBOX_MAX_LINE) {
			if (sb->spec.output(sb->spec.output_ud, stream, b->data + start, i + 1 - start))
				do_cancel(sb);
			start = i + 1;
		}
	}
	if (eof && start < b->len) {
		if (sb->spec.output(sb->spec.output_ud, stream, b->data + start, b->len - start))
			do_cancel(sb);
		start = b->len;
	}
	if (start == 0)
		return;
	memmove(b->data, b->data + start, b->len - start);
	b->len -= start;
	b->data[b->len] = '\0';
}

static void handle_record(struct bld_sandbox *sb, int type, const char *p, size_t n)
{
	switch (type) {
	case SB_MSG_PID:
		if (n == 4) {
			int32_t pid;
			memcpy(&pid, p, 4);
			sb->init_pid = pid;
			sb->init_pidfd = (int)syscall(SYS_pidfd_open, (pid_t)pid, 0);
			if (sb->cancel_requested)
				do_cancel(sb);
		}
		break;
	case SB_MSG_EXIT:
		if (n == 4) {
			int32_t st;
			memcpy(&st, p, 4);
			sb->have_exit = true;
			sb->exit_status = st;
		}
		break;
	case SB_MSG_MOUNTPOINT:
		if (n >= 2) {
			XGROW(sb->recs, sb->n_recs + 1, sb->cap_recs);
			sb->recs[sb->n_recs].kind = p[0];
			sb->recs[sb->n_recs].path = xstrndup(p + 1, n - 1);
			sb->n_recs++;
		}
		break;
	case SB_MSG_ERROR:
		if (n >= 8 && !sb->child_err) {
			int32_t code, en;
			memcpy(&code, p, 4);
			memcpy(&en, p + 4, 4);
			struct berr *e = NULL;
			berr_set(&e, code, "%.*s", (int)(n - 8), p + 8);
			e->errnum = en;
			sb->child_err = e;
		}
		break;
	case SB_MSG_NO_OVERLAY:
		sb->no_overlay = true;
		free(sb->no_overlay_msg);
		sb->no_overlay_msg = xstrndup(p, n);
		break;
	case SB_MSG_NOTICE:
		add_notice(sb, xstrndup(p, n));
		break;
	}
}

static void parse_status(struct bld_sandbox *sb)
{
	struct bbuf *b = &sb->status_in;
	size_t off = 0;
	if (!b->len)
		return;
	while (b->len - off >= 5) {
		uint32_t len;
		memcpy(&len, b->data + off + 1, 4);
		if (b->len - off < 5 + (size_t)len)
			break;
		handle_record(sb, b->data[off], b->data + off + 5, len);
		off += 5 + len;
	}
	memmove(b->data, b->data + off, b->len - off);
	b->len -= off;
}

/* one run of the helper: pump until every pipe is closed, reap it */
static void pump(struct bld_sandbox *sb)
{
	char buf[16384];
	for (;;) {
		struct pollfd pf[4];
		int fds[3] = { sb->out_r, sb->err_r, sb->status_r };
		nfds_t n = 0;
		int map[4];
		for (int i = 0; i < 3; i++)
			if (fds[i] >= 0) {
				pf[n] = (struct pollfd){ .fd = fds[i], .events = POLLIN };
				map[n++] = i;
			}
		if (n == 0)
			break;
		if (sb->spec.cancel_fd > 0 && !sb->cancel_requested) {
			pf[n] = (struct pollfd){ .fd = sb->spec.cancel_fd, .events = POLLIN };
			map[n++] = 3;
		}
		if (sb->cancel_requested)
			do_cancel(sb);
		int r = poll(pf, n, -1);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (nfds_t i = 0; i < n; i++) {
			if (!pf[i].revents)
				continue;
			if (map[i] == 3) {
				do_cancel(sb);
				continue;
			}
			ssize_t got = read(pf[i].fd, buf, sizeof(buf));
			if (got < 0 && (errno == EINTR || errno == EAGAIN))
				continue;
			int idx = map[i];
			if (got <= 0) {
				if (idx < 2)
					deliver(sb, idx + 1, NULL, 0, true);
				close(pf[i].fd);
				if (idx == 0)
					sb->out_r = -1;
				else if (idx == 1)
					sb->err_r = -1;
				else
					sb->status_r = -1;
				continue;
			}
			if (idx < 2) {
				deliver(sb, idx + 1, buf, (size_t)got, false);
			} else {
				bbuf_add(&sb->status_in, buf, (size_t)got, NULL);
				parse_status(sb);
			}
		}
	}
	int st;
	while (waitpid(sb->helper, &st, 0) < 0 && errno == EINTR)
		;
	/* the helper ended without reaping PID 1 (killed from outside): PID 1
	 * got PDEATHSIG; wait until it is gone so no mount outlives us */
	if (!sb->have_exit && sb->init_pidfd >= 0) {
		syscall(SYS_pidfd_send_signal, (int)sb->init_pidfd, SIGKILL, NULL, 0);
		struct pollfd pf = { .fd = sb->init_pidfd, .events = POLLIN };
		while (poll(&pf, 1, -1) < 0 && errno == EINTR)
			;
	}
	if (sb->init_pidfd >= 0) {
		int fd = sb->init_pidfd;
		sb->init_pidfd = -1;
		close(fd);
	}
	sb->helper = 0;
}

static bool fd_is_opaque(int fd)
{
	char v[4];
	for (int i = 0; i < 2; i++) {
		ssize_t n = fgetxattr(fd, i ? "user.overlay.opaque" : "trusted.overlay.opaque", v,
				      sizeof(v));
		if (n == 1 && v[0] == 'y')
			return true;
	}
	return false;
}

/* Directory rel as the lowers show it (top-most layer that has it). */
static bool lower_dir_stat(struct bld_sandbox *sb, const char *rel, struct stat *out)
{
	for (size_t i = sb->cfg.n_lowers; i-- > 0;) {
		_cleanup_free_ char *p = xasprintf("%s/%s", sb->cfg.lowers[i], rel);
		if (lstat(p, out) == 0)
			return S_ISDIR(out->st_mode);
	}
	return false;
}

/* Parent directory of rel under basefd, never through a symlink: the
 * command may have replaced a directory on the way by a link to a host
 * path. *name points into rel. */
static int open_parent(int basefd, const char *rel, const char **name)
{
	const char *slash = strrchr(rel, '/');
	*name = slash ? slash + 1 : rel;
	_cleanup_free_ char *dir = slash ? xstrndup(rel, (size_t)(slash - rel)) : xstrdup(".");
	return bopen_beneath(basefd, dir, O_PATH | O_DIRECTORY);
}

/* Drops the mountpoints PID 1 created (still empty: mounts hid them) and
 * the parent directories overlay copied up only because of them. */
static void drop_mountpoints(struct bld_sandbox *sb, const char *base)
{
	_cleanup_close_ int basefd = open(base, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (basefd < 0)
		return;
	for (size_t i = sb->n_recs; i-- > 0;) {
		const struct mountpoint_rec *r = &sb->recs[i];
		const char *name;
		_cleanup_close_ int pfd = open_parent(basefd, r->path, &name);
		struct stat st;
		if (pfd < 0 || fstatat(pfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
			continue;
		if (r->kind == 'f' && S_ISREG(st.st_mode) && st.st_size == 0)
			unlinkat(pfd, name, 0);
		else if (r->kind == 'd' && S_ISDIR(st.st_mode))
			unlinkat(pfd, name, AT_REMOVEDIR); /* fails when the command put something there */
	}
	if (sb->fallback)
		return; /* the copy keeps its directories; the tree diff decides */
	for (size_t i = sb->n_recs; i-- > 0;) {
		_cleanup_free_ char *rel = xstrdup(sb->recs[i].path);
		char *slash;
		while ((slash = strrchr(rel, '/'))) {
			*slash = '\0';
			const char *name;
			_cleanup_close_ int pfd = open_parent(basefd, rel, &name);
			if (pfd < 0)
				break;
			_cleanup_close_ int dfd = openat(pfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			struct stat st, lst;
			if (dfd < 0 || fstat(dfd, &st) < 0 || fd_is_opaque(dfd))
				break;
			if (!lower_dir_stat(sb, rel, &lst) || lst.st_mode != st.st_mode ||
			    lst.st_uid != st.st_uid || lst.st_gid != st.st_gid)
				break;
			if (unlinkat(pfd, name, AT_REMOVEDIR) < 0)
				break;
		}
	}
}

static void free_records(struct bld_sandbox *sb)
{
	for (size_t i = 0; i < sb->n_recs; i++)
		free(sb->recs[i].path);
	sb->n_recs = 0;
}

int bld_sandbox_wait(struct bld_sandbox *sb, struct bld_sandbox_result *res, struct berr **err)
{
	memset(res, 0, sizeof(*res));
	if (sb->finished)
		return berr_set(err, BERR_INTERNAL, "sandbox already waited for");
	pump(sb);
	if (sb->no_overlay && !sb->fallback && !sb->cancel_requested) {
		/* no overlayfs here: copy the layers and run again */
		add_notice(sb, xasprintf("%s: running on a copy of the layers instead (slower)",
					 sb->no_overlay_msg ? sb->no_overlay_msg : "overlayfs unavailable"));
		free_records(sb);
		if (start_fallback(sb, err) < 0 || spawn(sb, err) < 0) {
			sb->finished = true;
			sb_cgroup_remove(&sb->cg);
			return berr_wrap(err, "sandbox");
		}
		pump(sb);
	}
	sb->finished = true;
	int rc = 0;
	const char *base = sb->fallback ? sb->cfg.copy_root : sb->cfg.upper;
	drop_mountpoints(sb, base);
	if (sb->child_err && !sb->cancel_requested) {
		if (err && !*err)
			*err = steal_pointer(&sb->child_err);
		rc = berr_wrap(err, "sandbox");
	} else if (sb->no_overlay && !sb->cancel_requested) {
		rc = berr_set(err, BERR_IO, "sandbox: %s", sb->no_overlay_msg);
	} else if (sb->fallback && sb->snap && !sb->cancel_requested &&
		   sb_snapshot_diff(sb->snap, sb->cfg.copy_root, sb->cfg.upper, err) < 0) {
		rc = berr_wrap(err, "sandbox: compute the changes of the fallback root");
	}
	if (sb->fallback) {
		struct berr *e2 = NULL;
		if (sb_remove_tree(sb->cfg.copy_root, &e2) < 0)
			add_notice(sb, xasprintf("could not remove the copied root: %s", e2->msg));
		berr_free(e2);
	}
	sb_cgroup_remove(&sb->cg);
	if (rc < 0)
		return -1;
	if (!sb->have_exit && !sb->cancel_requested)
		return berr_set(err, BERR_INTERNAL, "sandbox: the helper ended without a status");
	res->cancelled = sb->cancel_requested;
	if (sb->have_exit) {
		if (WIFSIGNALED(sb->exit_status)) {
			res->signaled = true;
			res->signal = WTERMSIG(sb->exit_status);
			res->exit_code = 128 + res->signal;
		} else {
			res->exit_code = WEXITSTATUS(sb->exit_status);
		}
	} else {
		res->signaled = true;
		res->signal = SIGKILL;
		res->exit_code = 128 + SIGKILL;
	}
	res->used_fallback = sb->fallback;
	res->upper = xstrdup(sb->cfg.upper);
	res->notices = steal_pointer(&sb->notices);
	res->n_notices = sb->n_notices;
	sb->n_notices = sb->cap_notices = 0;
	return 0;
}

void bld_sandbox_free(struct bld_sandbox *sb)
{
	if (!sb)
		return;
	if (!sb->finished && sb->helper > 0) {
		do_cancel(sb);
		kill(sb->helper, SIGKILL);
		pump(sb);
		sb_cgroup_remove(&sb->cg);
	}
	struct sb_cfg *c = &sb->cfg;
	for (size_t i = 0; i < c->n_lowers; i++)
		free(c->lowers[i]);
	free(c->lowers);
	free(c->upper), free(c->work), free(c->merged), free(c->copy_root);
	free(c->hosts), free(c->resolv), free(c->hostname_file), free(c->secrets_dir);
	free_strv(c->argv);
	free_strv(c->env);
	free(c->user), free(c->cwd), free(c->hostname);
	for (size_t i = 0; i < c->n_mounts; i++) {
		free((char *)c->mounts[i].src);
		free((char *)c->mounts[i].target);
	}
	free(c->mounts);
	for (size_t i = 0; i < sb->cg.n; i++) {
		free(sb->cg.dirs[i]);
		free(sb->cg.procs[i]);
	}
	free(sb->cg.dirs);
	free(sb->cg.procs);
	free(sb->scratch);
	bbuf_release(&sb->status_in);
	for (size_t i = 0; i < 3; i++)
		bbuf_release(&sb->lines[i].b);
	free_records(sb);
	free(sb->recs);
	for (size_t i = 0; i < sb->n_notices; i++)
		free(sb->notices[i]);
	free(sb->notices);
	berr_free(sb->child_err);
	free(sb->no_overlay_msg);
	sb_snapshot_free(sb->snap);
	if (sb->out_r >= 0)
		close(sb->out_r);
	if (sb->err_r >= 0)
		close(sb->err_r);
	if (sb->status_r >= 0)
		close(sb->status_r);
	free(sb);
}

int bld_sandbox_run(const struct bld_sandbox_spec *spec, struct bld_sandbox_result *res,
		    struct berr **err)
{
	struct bld_sandbox *sb = NULL;
	memset(res, 0, sizeof(*res));
	if (bld_sandbox_start(spec, &sb, err) < 0)
		return -1;
	int rc = bld_sandbox_wait(sb, res, err);
	bld_sandbox_free(sb);
	return rc;
}

void bld_sandbox_result_release(struct bld_sandbox_result *res)
{
	if (!res)
		return;
	free(res->upper);
	for (size_t i = 0; i < res->n_notices; i++)
		free(res->notices[i]);
	free(res->notices);
	memset(res, 0, sizeof(*res));
}

int bld_sandbox_remove_tree(const char *path, struct berr **err)
{
	return sb_remove_tree(path, err);
}
