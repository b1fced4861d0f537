/* Stage filesystem helpers: materialised rootfs per chain ID, lookups inside
 * it, owner resolution from /etc/passwd and /etc/group, stage paths (Linux
 * and Windows forms). */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/bld_int.h"
#include "image/img_apply.h"
#include "common/bopen.h"
#include "common/common.h"

/* /etc/passwd and /etc/group larger than this are refused */
#define BLD_PASSWD_MAX (4u << 20)

void bld_tmpdir_add(struct bld *b, char *dir)
{
	b->tmpdirs = xreallocarray(b->tmpdirs, b->ntmpdirs + 1, sizeof(char *));
	b->tmpdirs[b->ntmpdirs++] = dir;
}

/* Leftovers of dead builds: build-* directories whose lock is free, and
 * .new-* directories (a build killed between mkdtemp and rename) whose
 * lock is free and that are older than BLD_TMP_NEW_AGE seconds. Errors are
 * ignored: this is housekeeping, a leftover only costs disk space. */
#define BLD_TMP_NEW_AGE 600
void bld_tmp_sweep(struct bld *b)
{
	_cleanup_free_ char *base = xasprintf("%s/tmp", b->cache_dir);
	DIR *d = opendir(base);
	if (!d)
		return;
	struct dirent *de;
	time_t now = time(NULL);
	while ((de = readdir(d))) {
		bool built = !strncmp(de->d_name, "build-", 6), fresh = !strncmp(de->d_name, ".new-", 5);
		if (!built && !fresh)
			continue;
		_cleanup_free_ char *p = xasprintf("%s/%s", base, de->d_name);
		int fd = open(p, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		bool dead = flock(fd, LOCK_EX | LOCK_NB) == 0 &&
			    (built || (fstat(fd, &st) == 0 && now - st.st_mtime > BLD_TMP_NEW_AGE));
		if (dead)
			bfile_rm_rf(p, NULL);
		close(fd);
	}
	closedir(d);
}

const char *bld_tmp_dir(struct bld *b, struct berr **err)
{
	if (b->tmp_dir)
		return b->tmp_dir;
	_cleanup_free_ char *base = xasprintf("%s/tmp", b->cache_dir);
	if (bfile_mkdir_p(base, 0700, err) < 0)
		return NULL;
	/* locked before it gets the name a sweeper looks at */
	_cleanup_free_ char *t = xasprintf("%s/.new-XXXXXX", base);
	if (!mkdtemp(t)) {
		berr_set_errno(err, BERR_IO, errno, "create '%s'", t);
		return NULL;
	}
	int fd = open(t, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || flock(fd, LOCK_EX) < 0) {
		berr_set_errno(err, BERR_IO, errno, "lock '%s'", t);
		if (fd >= 0)
			close(fd);
		rmdir(t);
		return NULL;
	}
	char *name = xasprintf("%s/build-%s", base, strrchr(t, '-') + 1);
	if (rename(t, name) < 0) {
		berr_set_errno(err, BERR_IO, errno, "rename '%s'", t);
		free(name);
		close(fd);
		rmdir(t);
		return NULL;
	}
	b->tmp_dir = name;
	b->tmp_fd = fd;
	return name;
}

char *bld_tmp_mkdtemp(struct bld *b, const char *prefix, struct berr **err)
{
	const char *dir = bld_tmp_dir(b, err);
	if (!dir)
		return NULL;
	char *t = xasprintf("%s/%s-XXXXXX", dir, prefix);
	if (!mkdtemp(t)) {
		berr_set_errno(err, BERR_IO, errno, "create '%s'", t);
		free(t);
		return NULL;
	}
	bld_tmpdir_add(b, t);
	return t;
}

void bld_tmp_close(struct bld *b)
{
	if (b->tmp_dir) {
		bfile_rm_rf(b->tmp_dir, NULL);
		free(b->tmp_dir);
		b->tmp_dir = NULL;
	}
	if (b->tmp_fd >= 0)
		close(b->tmp_fd);
	b->tmp_fd = -1;
}

/* deeper trees than this are not cloned (the chain is re-applied instead) */
#define BLD_CLONE_MAX_DEPTH 256

/* dst exists (an empty directory): copy src's directories, hard-link the
 * rest, then give every directory src's mode, owner and times. */
static int clone_tree(const char *src, const char *dst, int depth)
{
	if (depth > BLD_CLONE_MAX_DEPTH)
		return -1;
	DIR *d = opendir(src);
	if (!d)
		return -1;
	struct dirent *de;
	int rc = 0;
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		_cleanup_free_ char *s = xasprintf("%s/%s", src, de->d_name);
		_cleanup_free_ char *t = xasprintf("%s/%s", dst, de->d_name);
		struct stat st;
		if (lstat(s, &st) < 0) {
			rc = -1;
			break;
		}
		if (S_ISDIR(st.st_mode)) {
			if (mkdir(t, 0700) < 0 || clone_tree(s, t, depth + 1) < 0)
				rc = -1;
		} else if (linkat(AT_FDCWD, s, AT_FDCWD, t, 0) < 0) {
			rc = -1;
		}
	}
	closedir(d);
	if (rc < 0)
		return -1;
	struct stat st;
	if (stat(src, &st) < 0)
		return -1;
	if (depth > 0) {
		/* the root keeps its own (private, 0700) metadata */
		if (lchown(dst, st.st_uid, st.st_gid) < 0 && geteuid() == 0)
			return -1;
		if (chmod(dst, st.st_mode & 07777) < 0)
			return -1;
	}
	struct timespec ts[2] = { st.st_atim, st.st_mtim };
	utimensat(AT_FDCWD, dst, ts, 0);
	return 0;
}

int bld_rootfs(struct bld *b, struct bld_stage *s, char **out, struct berr **err)
{
	struct img_digest chain;
	const struct img_config *c = s->cfg;
	char name[IMG_DIGEST_HEX_LEN + 16];
	if (c->n_diff_ids) {
		img_chain_id(c->diff_ids, c->n_diff_ids, &chain);
		snprintf(name, sizeof(name), "%s%s", img_digest_hex(&chain), s->windows ? "-w" : "");
	} else {
		snprintf(name, sizeof(name), "empty%s", s->windows ? "-w" : "");
	}
	_cleanup_free_ char *dir = xasprintf("%s/rootfs", b->cache_dir);
	if (bfile_mkdir_p(dir, 0700, err) < 0)
		return -1;
	char *path = xasprintf("%s/%s", dir, name);
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
		/* the mtime is its last use, for `prune --filter until=` */
		(void)utimensat(AT_FDCWD, path, NULL, 0);
		*out = path;
		return 0;
	}
	/* built in this build's temp dir: a kill leaves it where the next
	 * build's sweep finds it */
	const char *tmp = bld_tmp_mkdtemp(b, "rootfs", err);
	if (!tmp) {
		free(path);
		return -1;
	}
	/* Incremental: when the parent chain's tree exists (the usual case one
	 * step later), clone it (directories copied, everything else
	 * hard-linked) and apply only the last layer. The applier never writes
	 * through an existing file (it unlinks and recreates), and directories
	 * are not shared, so the parent's tree stays intact for other users. */
	size_t first = 0;
	if (c->n_diff_ids > 1 && c->n_diff_ids == s->nlayers) {
		struct img_digest pc;
		img_chain_id(c->diff_ids, c->n_diff_ids - 1, &pc);
		_cleanup_free_ char *prev = xasprintf("%s/%s%s", dir, img_digest_hex(&pc),
						      s->windows ? "-w" : "");
		if (stat(prev, &st) == 0 && S_ISDIR(st.st_mode)) {
			if (clone_tree(prev, tmp, 0) == 0) {
				first = s->nlayers - 1;
			} else {
				/* start over from an empty directory */
				bfile_rm_rf(tmp, NULL);
				if (mkdir(tmp, 0700) < 0)
					return free(path), berr_set_errno(err, BERR_IO, errno,
									  "create '%s'", tmp);
			}
		}
	}
	/* lazy base layers: reading the stage is what needs them */
	if (bld_fetch_layers(b, s->layers + first, s->nlayers - first, err) < 0) {
		bfile_rm_rf(tmp, NULL);
		free(path);
		return -1;
	}
	s->lazy = bld_layers_lazy(b, s->layers, s->nlayers);
	const char **paths = xcalloc(s->nlayers + 1, sizeof(char *));
	for (size_t i = first; i < s->nlayers; i++)
		paths[i - first] = img_store_blob_path(b->cs, &s->layers[i].digest);
	struct img_apply_opts ao = { .flags = s->windows ? IMG_APPLY_WINDOWS : 0 };
	int rc = img_apply_chain(tmp, paths, s->nlayers - first, &ao, NULL, err);
	for (size_t i = 0; i < s->nlayers - first; i++)
		free((char *)paths[i]);
	free(paths);
	if (rc == 0 && rename(tmp, path) < 0) {
		/* another build materialised the same chain meanwhile: use it */
		if ((errno == EEXIST || errno == ENOTEMPTY) && stat(path, &st) == 0) {
			bfile_rm_rf(tmp, NULL);
			*out = path;
			return 0;
		}
		rc = berr_set_errno(err, BERR_IO, errno, "rename '%s'", tmp);
	}
	if (rc < 0) {
		bfile_rm_rf(tmp, NULL);
		free(path);
		return berr_wrap(err, "materialise the stage filesystem");
	}
	*out = path;
	return 0;
}

/* Case-insensitive component lookup for Windows stages. */
static int ci_find(const char *dir, const char *name, char **found)
{
	DIR *d = opendir(dir);
	if (!d)
		return 1;
	struct dirent *de;
	int r = 1;
	while ((de = readdir(d))) {
		if (!strcasecmp(de->d_name, name)) {
			*found = xstrdup(de->d_name);
			r = 0;
			break;
		}
	}
	closedir(d);
	return r;
}

int bld_rootfs_stat(const char *rootfs, const char *path, bool windows, struct stat *st,
		    char **real, struct berr **err)
{
	if (real)
		*real = NULL;
	while (*path == '/')
		path++;
	if (!*path) {
		if (stat(rootfs, st) < 0)
			return berr_set_errno(err, BERR_IO, errno, "stat '%s'", rootfs);
		if (real)
			*real = xstrdup("/");
		return 0;
	}
	if (windows) {
		_cleanup_free_ char *host = xstrdup(rootfs);
		_cleanup_free_ char *rel = xstrdup("");
		_cleanup_free_ char *dup = xstrdup(path);
		char *save = NULL;
		for (char *c = strtok_r(dup, "/", &save); c; c = strtok_r(NULL, "/", &save)) {
			char *f = NULL;
			if (ci_find(host, c, &f))
				return 1;
			char *nh = xasprintf("%s/%s", host, f);
			char *nr = xasprintf("%s/%s", rel, f);
			free(f);
			free(host);
			free(rel);
			host = nh;
			rel = nr;
		}
		if (lstat(host, st) < 0)
			return 1;
		if (real)
			*real = steal_pointer(&rel);
		return 0;
	}
	_cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", rootfs);
	_cleanup_close_ int fd = bopen_in_root(rfd, path, O_PATH | O_NOFOLLOW);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 1;
		return berr_set_errno(err, BERR_IO, errno, "look up '/%s' in the stage", path);
	}
	if (fstat(fd, st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '/%s'", path);
	if (real) {
		char link[64], buf[PATH_MAX];
		snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
		ssize_t n = readlink(link, buf, sizeof(buf) - 1);
		size_t rl = strlen(rootfs);
		if (n < 0 || (size_t)n < rl || strncmp(buf, rootfs, rl))
			return berr_set(err, BERR_IO, "cannot resolve '/%s' in the stage", path);
		buf[n] = '\0';
		*real = xstrdup(buf[rl] ? buf + rl : "/");
	}
	return 0;
}

/* Reads rootfs/etc/<file> (symlinks resolved inside rootfs); absent -> "". */
static int read_etc(const char *rootfs, const char *file, struct bbuf *out, struct berr **err)
{
	_cleanup_close_ int rfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (rfd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", rootfs);
	_cleanup_free_ char *rel = xasprintf("etc/%s", file);
	_cleanup_close_ int fd = bopen_in_root(rfd, rel, O_RDONLY);
	if (fd < 0)
		return 0;
	return bfd_read_all(fd, rel, BLD_PASSWD_MAX, out, err);
}

static bool parse_id(const char *s, unsigned long *v)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return false;
	*v = strtoul(s, NULL, 10);
	return *v <= 0xFFFFFFFEul;
}

/* Field `want` (0-based) of the line whose field 0 (by_name) or field
 * `idfield` equals key. */
static bool db_lookup(const char *db, const char *key, int keyfield, int want, char *out,
		      size_t outn)
{
	const char *line = db;
	while (line && *line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		_cleanup_free_ char *l = xstrndup(line, len);
		char *fields[8] = { 0 };
		int nf = 0;
		char *p = l;
		while (nf < 8) {
			fields[nf++] = p;
			char *c = strchr(p, ':');
			if (!c)
				break;
			*c = '\0';
			p = c + 1;
		}
		if (nf > want && nf > keyfield && l[0] != '#' && !strcmp(fields[keyfield], key)) {
			snprintf(out, outn, "%s", fields[want]);
			return true;
		}
		line = eol ? eol + 1 : NULL;
	}
	return false;
}

int bld_resolve_owner(const char *rootfs, const char *spec, uid_t *uid, gid_t *gid,
		      struct berr **err)
{
	_cleanup_free_ char *u = xstrdup(spec);
	char *g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	if (!*u)
		return berr_set(err, BERR_INPUT, "invalid user '%s'", spec);
	_cleanup_bbuf_ struct bbuf pw = BBUF_INIT, gr = BBUF_INIT;
	unsigned long v;
	char field[64];
	bool have_gid = false;
	if (parse_id(u, &v)) {
		*uid = (uid_t)v;
		if (!g) {
			/* numeric user alone: its passwd group if listed, else uid */
			if (rootfs && read_etc(rootfs, "passwd", &pw, err) < 0)
				return -1;
			*gid = (gid_t)v;
			if (db_lookup(bbuf_str(&pw), u, 2, 3, field, sizeof(field)) &&
			    parse_id(field, &v))
				*gid = (gid_t)v;
			have_gid = true;
		}
	} else {
		if (rootfs && read_etc(rootfs, "passwd", &pw, err) < 0)
			return -1;
		if (!db_lookup(bbuf_str(&pw), u, 0, 2, field, sizeof(field)) || !parse_id(field, &v))
			return berr_set(err, BERR_INPUT,
					"unable to find user '%s': no matching entries in passwd file", u);
		*uid = (uid_t)v;
		if (!g) {
			if (db_lookup(bbuf_str(&pw), u, 0, 3, field, sizeof(field)) &&
			    parse_id(field, &v))
				*gid = (gid_t)v;
			else
				*gid = 0;
			have_gid = true;
		}
	}
	if (have_gid)
		return 0;
	if (!*g)
		return berr_set(err, BERR_INPUT, "invalid group in '%s'", spec);
	if (parse_id(g, &v)) {
		*gid = (gid_t)v;
		return 0;
	}
	if (rootfs && read_etc(rootfs, "group", &gr, err) < 0)
		return -1;
	if (!db_lookup(bbuf_str(&gr), g, 0, 2, field, sizeof(field)) || !parse_id(field, &v))
		return berr_set(err, BERR_INPUT,
				"unable to find group '%s': no matching entries in group file", g);
	*gid = (gid_t)v;
	return 0;
}

char *bld_stage_workdir(const struct bld_stage *s)
{
	const char *wd = s->cfg->config.working_dir;
	if (!wd || !*wd)
		return xstrdup("/");
	if (!s->windows)
		return bpath_clean(wd);
	_cleanup_free_ char *t = xstrdup(wd);
	for (char *c = t; *c; c++)
		if (*c == '\\')
			*c = '/';
	const char *p = t;
	if (isalpha((unsigned char)p[0]) && p[1] == ':')
		p += 2;
	_cleanup_free_ char *abs = xasprintf("/%s", p);
	return bpath_clean(abs);
}

char *bld_stage_display_path(const struct bld_stage *s, const char *internal)
{
	if (!s->windows)
		return xstrdup(internal);
	char *r = xasprintf("C:%s", internal);
	for (char *c = r; *c; c++)
		if (*c == '/')
			*c = '\\';
	return r;
}

static bool has_drive(const char *p)
{
	return isalpha((unsigned char)p[0]) && p[1] == ':' &&
	       (p[2] == '\0' || p[2] == '\\' || p[2] == '/');
}

int bld_stage_path(const struct bld_stage *s, const char *raw, char **out, bool *dir_hint,
		   struct berr **err)
{
	size_t n = strlen(raw);
	if (!s->windows) {
		if (has_drive(raw))
			return berr_set(err, BERR_INPUT,
					"'%s' is a Windows path but this is a linux stage", raw);
		if (dir_hint)
			*dir_hint = n && (raw[n - 1] == '/' ||
					  (n >= 2 && raw[n - 1] == '.' && raw[n - 2] == '/') ||
					  !strcmp(raw, "."));
		_cleanup_free_ char *wd = bld_stage_workdir(s);
		_cleanup_free_ char *j = raw[0] == '/' ? xstrdup(raw) : xasprintf("%s/%s", wd, raw);
		*out = bpath_clean(j);
		return 0;
	}
	_cleanup_free_ char *t = xstrdup(raw);
	for (char *c = t; *c; c++)
		if (*c == '\\')
			*c = '/';
	const char *p = t;
	if (isalpha((unsigned char)p[0]) && p[1] == ':') {
		if (toupper((unsigned char)p[0]) != 'C')
			return berr_set(err, BERR_INPUT,
					"'%s' is on drive %c:, a Windows stage only has drive C:", raw,
					toupper((unsigned char)p[0]));
		p += 2;
	} else if (p[0] == '/' && p[1] != '/' && strchr(p, ':')) {
		/* a path with ':' inside is no Windows path (':' names a stream) */
		return berr_set(err, BERR_INPUT, "'%s' is not a valid path in a windows stage", raw);
	}
	if (p[0] == '/' && p[1] == '/')
		return berr_set(err, BERR_INPUT, "'%s': UNC paths are not supported", raw);
	size_t pn = strlen(p);
	if (dir_hint)
		*dir_hint = pn == 0 || p[pn - 1] == '/' || !strcmp(p, ".") ||
			    (pn >= 2 && p[pn - 1] == '.' && p[pn - 2] == '/');
	_cleanup_free_ char *wd = bld_stage_workdir(s);
	_cleanup_free_ char *j = p[0] == '/' ? xstrdup(p) : xasprintf("%s/%s", wd, p);
	char *c = bpath_clean(j);
	if (strchr(c, ':')) {
		free(c);
		return berr_set(err, BERR_INPUT, "'%s' is not a valid path in a windows stage", raw);
	}
	*out = c;
	return 0;
}
