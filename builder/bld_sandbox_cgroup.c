/* Optional memory and pids limits through whatever cgroup hierarchy the
 * host has: cgroup v2 (unified, controllers enabled for our group) or the v1
 * memory and pids hierarchies. A child group of berth's own group is made per
 * run; anything that does not work becomes a notice, never an error. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_sandbox_int.h"
#include "common/common.h"

#define CG_MAX_FILE (64 * 1024)

static char *read_text(const char *path)
{
	struct bbuf b = BBUF_INIT;
	if (bfile_read_all(path, CG_MAX_FILE, &b, NULL) < 0) {
		bbuf_release(&b);
		return NULL;
	}
	size_t n;
	return bbuf_detach(&b, &n);
}

static int write_text(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = write(fd, text, strlen(text));
	int e = errno;
	close(fd);
	errno = e;
	return n == (ssize_t)strlen(text) ? 0 : -1;
}

/* Mount point of a cgroup hierarchy: v2 when controller is NULL. */
static char *find_mount(const char *controller)
{
	_cleanup_free_ char *mi = read_text("/proc/self/mountinfo");
	if (!mi)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(mi, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		/* id parent maj:min root mountpoint opts... - fstype source superopts */
		char *sep = strstr(line, " - ");
		if (!sep)
			continue;
		char mnt[4096], fstype[64], super[1024] = "";
		if (sscanf(line, "%*s %*s %*s %*s %4095s", mnt) != 1 ||
		    sscanf(sep + 3, "%63s %*s %1023s", fstype, super) < 1)
			continue;
		if (!controller && strcmp(fstype, "cgroup2") == 0)
			return xstrdup(mnt);
		if (controller && strcmp(fstype, "cgroup") == 0) {
			char *opt_save = NULL;
			for (char *o = strtok_r(super, ",", &opt_save); o; o = strtok_r(NULL, ",", &opt_save))
				if (strcmp(o, controller) == 0)
					return xstrdup(mnt);
		}
	}
	return NULL;
}

/* Our group in a hierarchy from /proc/self/cgroup ("" for v2 = "0::") */
static char *own_group(const char *controller)
{
	_cleanup_free_ char *cg = read_text("/proc/self/cgroup");
	if (!cg)
		return NULL;
	char *save = NULL;
	for (char *line = strtok_r(cg, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		char *c1 = strchr(line, ':');
		char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
		if (!c2)
			continue;
		*c2 = '\0';
		const char *ctrls = c1 + 1;
		if (!controller) {
			if (!*ctrls && strncmp(line, "0:", 2) == 0)
				return xstrdup(c2 + 1);
			continue;
		}
		_cleanup_free_ char *copy = xstrdup(ctrls);
		char *s2 = NULL;
		for (char *o = strtok_r(copy, ",", &s2); o; o = strtok_r(NULL, ",", &s2))
			if (strcmp(o, controller) == 0)
				return xstrdup(c2 + 1);
	}
	return NULL;
}

static void add_group(struct sb_cgroup *cg, char *dir)
{
	cg->dirs = xreallocarray(cg->dirs, cg->n + 1, sizeof(char *));
	cg->procs = xreallocarray(cg->procs, cg->n + 1, sizeof(char *));
	cg->dirs[cg->n] = dir;
	cg->procs[cg->n] = xasprintf("%s/cgroup.procs", dir);
	cg->n++;
}

static void note(char ***notices, size_t *n, char *text)
{
	*notices = xreallocarray(*notices, *n + 1, sizeof(char *));
	(*notices)[(*n)++] = text;
}

/* Creates <mount><own>/<tag> and writes one limit file; NULL on failure. */
static char *make_group(const char *mnt, const char *own, const char *tag, const char *file,
			uint64_t value, char ***notices, size_t *n_notices, const char *what)
{
	char *dir = xasprintf("%s%s%s/%s", mnt, own[0] == '/' ? "" : "/", strcmp(own, "/") ? own : "", tag);
	if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
		note(notices, n_notices, xasprintf("%s limit not applied: cannot create cgroup '%s': %s",
						   what, dir, strerror(errno)));
		free(dir);
		return NULL;
	}
	_cleanup_free_ char *f = xasprintf("%s/%s", dir, file);
	_cleanup_free_ char *v = xasprintf("%llu", (unsigned long long)value);
	if (write_text(f, v) < 0) {
		note(notices, n_notices, xasprintf("%s limit not applied: cannot write '%s': %s",
						   what, f, strerror(errno)));
		rmdir(dir);
		free(dir);
		return NULL;
	}
	return dir;
}

void sb_cgroup_setup(struct sb_cgroup *cg, uint64_t memory, uint64_t pids, const char *tag,
		     char ***notices, size_t *n_notices)
{
	memset(cg, 0, sizeof(*cg));
	/* v2 when the unified hierarchy holds the controllers we need */
	_cleanup_free_ char *v2 = find_mount(NULL);
	_cleanup_free_ char *v2own = v2 ? own_group(NULL) : NULL;
	_cleanup_free_ char *ctrls = NULL;
	if (v2 && v2own) {
		_cleanup_free_ char *p = xasprintf("%s%s/cgroup.controllers", v2, strcmp(v2own, "/") ? v2own : "");
		ctrls = read_text(p);
	}
	bool v2mem = ctrls && strstr(ctrls, "memory"), v2pids = ctrls && strstr(ctrls, "pids");
	if ((!memory || v2mem) && (!pids || v2pids) && ctrls) {
		_cleanup_free_ char *sub = xasprintf("%s%s/cgroup.subtree_control", v2,
						     strcmp(v2own, "/") ? v2own : "");
		/* enabling controllers for children may fail when our group has
		 * processes (no internal processes rule): then the limit files are
		 * missing and make_group reports it */
		write_text(sub, memory && pids ? "+memory +pids" : memory ? "+memory" : "+pids");
		char *dir = xasprintf("%s%s/%s", v2, strcmp(v2own, "/") ? v2own : "", tag);
		if (mkdir(dir, 0755) < 0) {
			note(notices, n_notices, xasprintf("limits not applied: cannot create cgroup '%s': %s",
							   dir, strerror(errno)));
			free(dir);
			return;
		}
		if (memory) {
			_cleanup_free_ char *f = xasprintf("%s/memory.max", dir);
			_cleanup_free_ char *v = xasprintf("%llu", (unsigned long long)memory);
			if (write_text(f, v) < 0) {
				note(notices, n_notices, xasprintf("memory limit not applied: %s", strerror(errno)));
			}
			_cleanup_free_ char *sw = xasprintf("%s/memory.swap.max", dir);
			write_text(sw, "0");
		}
		if (pids) {
			_cleanup_free_ char *f = xasprintf("%s/pids.max", dir);
			_cleanup_free_ char *v = xasprintf("%llu", (unsigned long long)pids);
			if (write_text(f, v) < 0) {
				note(notices, n_notices, xasprintf("pids limit not applied: %s", strerror(errno)));
			}
		}
		add_group(cg, dir);
		return;
	}
	/* v1: one group per controller */
	static const struct { const char *ctrl, *file, *what; } v1[] = {
		{ "memory", "memory.limit_in_bytes", "memory" },
		{ "pids", "pids.max", "pids" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(v1); i++) {
		uint64_t value = i == 0 ? memory : pids;
		if (!value)
			continue;
		_cleanup_free_ char *mnt = find_mount(v1[i].ctrl);
		_cleanup_free_ char *own = mnt ? own_group(v1[i].ctrl) : NULL;
		if (!mnt || !own) {
			note(notices, n_notices, xasprintf("%s limit not applied: no cgroup '%s' controller",
							   v1[i].what, v1[i].ctrl));
			continue;
		}
		char *dir = make_group(mnt, own, tag, v1[i].file, value, notices, n_notices, v1[i].what);
		if (dir && i == 0) {
			/* no swap beyond the limit either (file absent without swap accounting) */
			_cleanup_free_ char *f = xasprintf("%s/memory.memsw.limit_in_bytes", dir);
			_cleanup_free_ char *v = xasprintf("%llu", (unsigned long long)value);
			write_text(f, v);
		}
		if (dir)
			add_group(cg, dir);
	}
}

void sb_cgroup_remove(struct sb_cgroup *cg)
{
	for (size_t i = 0; i < cg->n; i++)
		if (cg->dirs[i])
			rmdir(cg->dirs[i]);
}
