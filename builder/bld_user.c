#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_user.h"
#include "common/bopen.h"
#include "common/common.h"

/* Reads rel inside rootfd; a missing file yields an empty buffer. */
static int read_in_root(int rootfd, const char *rel, struct bbuf *b, struct berr **err)
{
	_cleanup_close_ int fd = bopen_in_root(rootfd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		if (errno == ENOENT || errno == ENOTDIR)
			return 0;
		return berr_set_errno(err, BERR_IO, errno, "open '/%s' in the image", rel);
	}
	struct stat st;
	if (fstat(fd, &st) < 0)
		return berr_set_errno(err, BERR_IO, errno, "stat '/%s' in the image", rel);
	if (!S_ISREG(st.st_mode))
		return berr_set(err, BERR_INPUT, "'/%s' in the image is not a regular file", rel);
	b->limit = BLD_USER_MAX_FILE;
	if (bfd_read_all(fd, rel, BLD_USER_MAX_FILE, b, err) < 0)
		return berr_wrap(err, "read '/%s' in the image", rel);
	return 0;
}

/* Splits line into at most max ':'-separated fields (in place). */
static size_t split_fields(char *line, char **f, size_t max)
{
	size_t n = 0;
	f[n++] = line;
	for (char *p = line; *p && n < max; p++) {
		if (*p == ':') {
			*p = '\0';
			f[n++] = p + 1;
		}
	}
	return n;
}

/* Decimal id in range; false for anything else (names). */
static bool parse_id(const char *s, long *out)
{
	if (!*s || strspn(s, "0123456789") != strlen(s) || strlen(s) > 10)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 0 || v > BLD_USER_MAX_ID)
		return false;
	*out = v;
	return true;
}

/* Iterates the non-empty, non-comment lines of text, calling fn with the
 * fields. fn returns 1 to stop. */
typedef int (*line_fn)(void *ud, char **f, size_t n);
static void each_line(char *text, size_t nf, line_fn fn, void *ud)
{
	char *f[8];
	char *p = text;
	while (p && *p) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		char *line = p;
		p = nl ? nl + 1 : NULL;
		size_t len = strlen(line);
		if (len && line[len - 1] == '\r')
			line[len - 1] = '\0';
		if (!*line || *line == '#')
			continue;
		/* fn may modify fields: work on the line in place, restored by
		 * nothing (each line is visited once) */
		size_t n = split_fields(line, f, nf);
		if (fn(ud, f, n))
			break;
	}
}

struct pw_query {
	const char *name;   /* match by name, or */
	long uid;           /* by uid when name == NULL */
	bool found;
	char user_name[256];
	long uid_out, gid_out;
	char home[256];
};

static int pw_line(void *ud, char **f, size_t n)
{
	struct pw_query *q = ud;
	/* name:password:uid:gid:gecos:home:shell */
	if (n < 4)
		return 0;
	long uid, gid;
	if (!parse_id(f[2], &uid) || !parse_id(f[3], &gid))
		return 0;
	if (q->name ? strcmp(f[0], q->name) != 0 : uid != q->uid)
		return 0;
	q->found = true;
	snprintf(q->user_name, sizeof(q->user_name), "%s", f[0]);
	q->uid_out = uid;
	q->gid_out = gid;
	if (n >= 6 && f[5][0] && strlen(f[5]) < sizeof(q->home))
		snprintf(q->home, sizeof(q->home), "%s", f[5]);
	return 1;
}

struct gr_query {
	const char *name;   /* find this group (by name), or */
	long gid;
	bool found;
	long gid_out;
	const char *member; /* collect groups listing this user */
	struct bld_user *u;
};

static int gr_line(void *ud, char **f, size_t n)
{
	struct gr_query *q = ud;
	/* name:password:gid:member,member */
	if (n < 3)
		return 0;
	long gid;
	if (!parse_id(f[2], &gid))
		return 0;
	if (q->member) {
		if (n < 4)
			return 0;
		char *save = NULL;
		for (char *m = strtok_r(f[3], ",", &save); m; m = strtok_r(NULL, ",", &save)) {
			if (strcmp(m, q->member) != 0)
				continue;
			bool dup = false;
			for (size_t i = 0; i < q->u->n_groups; i++)
				dup |= q->u->groups[i] == (gid_t)gid;
			if (!dup && q->u->n_groups < BLD_USER_MAX_GROUPS)
				q->u->groups[q->u->n_groups++] = (gid_t)gid;
			break;
		}
		return 0;
	}
	if (q->name ? strcmp(f[0], q->name) != 0 : gid != q->gid)
		return 0;
	q->found = true;
	q->gid_out = gid;
	return 1;
}

int bld_user_resolve(int rootfd, const char *spec, struct bld_user *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->home, sizeof(out->home), "/");
	if (!spec)
		spec = "";
	_cleanup_free_ char *copy = xstrdup(spec);
	char *user = copy, *group = strchr(copy, ':');
	if (group)
		*group++ = '\0';
	if (strlen(spec) > 255)
		return berr_set(err, BERR_INPUT, "user '%.32s...' is too long", spec);

	_cleanup_bbuf_ struct bbuf pw = BBUF_INIT, gr = BBUF_INIT;
	if (read_in_root(rootfd, "etc/passwd", &pw, err) < 0)
		return -1;

	struct pw_query q = { .uid = 0 };
	long id;
	bool numeric = parse_id(user, &id);
	if (!*user) {
		q.uid = 0;
		numeric = true;
		id = 0;
	} else if (numeric) {
		q.uid = id;
	} else if (strspn(user, "0123456789") == strlen(user)) {
		return berr_set(err, BERR_INPUT, "user id '%s' is out of range", user);
	} else {
		q.name = user;
	}
	if (pw.len) {
		_cleanup_free_ char *text = xstrndup(bbuf_str(&pw), pw.len);
		each_line(text, 7, pw_line, &q);
	}
	if (q.found) {
		out->uid = (uid_t)q.uid_out;
		out->gid = (gid_t)q.gid_out;
		if (q.home[0])
			snprintf(out->home, sizeof(out->home), "%s", q.home);
	} else if (numeric) {
		out->uid = (uid_t)id;
		out->gid = 0;
	} else {
		return berr_set(err, BERR_NOTFOUND, "unable to find user '%s': no matching entries in passwd file", user);
	}

	if (group && !*group)
		group = NULL;
	if (!group && !q.found)
		return 0;
	if (read_in_root(rootfd, "etc/group", &gr, err) < 0)
		return -1;
	_cleanup_free_ char *gtext = xstrndup(bbuf_str(&gr), gr.len);
	if (group) {
		struct gr_query g = { 0 };
		long gid;
		bool gnum = parse_id(group, &gid);
		if (gnum) {
			out->gid = (gid_t)gid;
			return 0;
		}
		if (strspn(group, "0123456789") == strlen(group))
			return berr_set(err, BERR_INPUT, "group id '%s' is out of range", group);
		g.name = group;
		each_line(gtext, 4, gr_line, &g);
		if (!g.found)
			return berr_set(err, BERR_NOTFOUND, "unable to find group '%s': no matching entries in group file", group);
		out->gid = (gid_t)g.gid_out;
		return 0;
	}
	struct gr_query m = { .member = q.user_name, .u = out };
	each_line(gtext, 4, gr_line, &m);
	return 0;
}
