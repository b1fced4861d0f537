#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/bopen.h"
#include "common/common.h"
#include "tests/tools/no_openat2.h"
#include "tests/unit/layer_testlib.h"

/* A hostile tree: links relative, absolute, climbing, looping, dangling,
 * chained to the kernel's limit and one past it, to files and to
 * directories. */
struct tree {
	char *dir;
	int root;
};

static void mk(int root, const char *path, char kind, const char *target)
{
	int rc = 0;
	if (kind == 'd')
		rc = mkdirat(root, path, 0755);
	else if (kind == 'l')
		rc = symlinkat(target, root, path);
	else {
		int fd = openat(root, path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
		rc = fd < 0 ? -1 : close(fd);
	}
	if (rc < 0) {
		fprintf(stderr, "make %s: %s\n", path, strerror(errno));
		abort();
	}
}

static int setup(void **state)
{
	struct tree *t = xcalloc(1, sizeof(*t));
	t->dir = tmpdir_new();
	t->root = open(t->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	assert_true(t->root >= 0);
	int r = t->root;
	mk(r, "a", 'd', NULL);
	mk(r, "a/b", 'd', NULL);
	mk(r, "a/f", 'f', NULL);
	mk(r, "c", 'f', NULL);
	mk(r, "etc", 'd', NULL);
	mk(r, "etc/passwd", 'f', NULL);
	mk(r, "a/lrel", 'l', "../a/f");
	mk(r, "a/labs", 'l', "/a/f");
	mk(r, "a/lup", 'l', "../../../../../etc/passwd");
	mk(r, "a/ldir", 'l', "b");
	mk(r, "a/ldot", 'l', ".");
	mk(r, "a/lslash", 'l', "/");
	mk(r, "ldirabs", 'l', "/a");
	mk(r, "lout", 'l', "/etc");
	mk(r, "loop1", 'l', "loop2");
	mk(r, "loop2", 'l', "loop1");
	mk(r, "dangling", 'l', "nothere");
	mk(r, "lproc", 'l', "/proc/self/root");
	mk(r, "lchain", 'l', "a/lrel"); /* a link to a link */
	/* chains of 40 links (the kernel's MAXSYMLINKS: resolves) and 41 */
	char name[32], target[32];
	for (int i = 0; i < 41; i++) {
		snprintf(name, sizeof(name), "n%02d", i);
		snprintf(target, sizeof(target), i == 40 ? "c" : "n%02d", i + 1);
		mk(r, name, 'l', target);
	}
	*state = t;
	return 0;
}

static int teardown(void **state)
{
	struct tree *t = *state;
	close(t->root);
	rm_rf(t->dir);
	free(t->dir);
	free(t);
	return 0;
}

static int kernel_open(int dirfd, const char *rel, int flags, bool in_root)
{
	struct open_how how = {
		.flags = (uint64_t)flags | O_CLOEXEC,
		.resolve = in_root ? RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS
				   : RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
	};
	return (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
}

static const char *const paths[] = {
	"a", "a/", "a/f", "a/f/", "//a//f", "a/./f", "./a/b/../f", "c", "c/", "c/x", "c/..",
	"", ".", "..", "/", "/a/f", "../a", "a/../..", "a/../../c", "nothere", "nothere/x",
	"a/lrel", "a/lrel/", "a/labs", "a/lup", "a/ldir", "a/ldir/", "a/ldir/..", "a/ldir/../f",
	"a/ldot/f", "a/ldot/ldot/lrel", "a/lslash/c", "ldirabs", "ldirabs/", "ldirabs/f",
	"ldirabs/../c", "lout/passwd", "loop1", "loop1/x", "dangling", "lproc", "lproc/x",
	"lchain", "n01", "n00", "n00/", "etc/passwd/..",
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa/x",
};

static const int flag_sets[] = {
	O_PATH, O_RDONLY, O_PATH | O_NOFOLLOW, O_RDONLY | O_NOFOLLOW, O_RDONLY | O_DIRECTORY,
	O_PATH | O_DIRECTORY, O_PATH | O_DIRECTORY | O_NOFOLLOW,
};

/* what an open gave, to compare: the object or the errno */
struct got {
	int err;
	dev_t dev;
	ino_t ino;
	mode_t fmt;
	int acc; /* O_PATH or the access mode */
};

static struct got look(int fd, int err)
{
	struct got g = { .err = fd < 0 ? err : 0 };
	if (fd >= 0) {
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		g.dev = st.st_dev;
		g.ino = st.st_ino;
		g.fmt = st.st_mode & S_IFMT;
		int fl = fcntl(fd, F_GETFL);
		g.acc = fl & O_PATH ? O_PATH : fl & O_ACCMODE;
		assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
		close(fd);
	}
	return g;
}

/* Every path and flag set: the walk gives what openat2 gives (the same
 * object, or the same errno), in the root and beneath. */
static void test_walk_matches_kernel(void **state)
{
	struct tree *t = *state;
	int checked = 0;
	for (int mode = 0; mode < 2; mode++) {
		bool in_root = mode == 0;
		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
			for (size_t j = 0; j < sizeof(flag_sets) / sizeof(flag_sets[0]); j++) {
				int fl = flag_sets[j];
				int kfd = kernel_open(t->root, paths[i], fl, in_root);
				struct got k = look(kfd, errno);
				int wfd = in_root ? bopen_in_root_walk(t->root, paths[i], fl)
						  : bopen_beneath_walk(t->root, paths[i], fl);
				struct got w = look(wfd, errno);
				if (k.err != w.err || k.dev != w.dev || k.ino != w.ino ||
				    k.fmt != w.fmt || k.acc != w.acc)
					fail_msg("%s '%s' flags %#x: kernel %s ino %lu, walk %s ino %lu",
						 in_root ? "in root" : "beneath", paths[i], fl,
						 strerror(k.err), (unsigned long)k.ino, strerror(w.err),
						 (unsigned long)w.ino);
				checked++;
			}
		}
	}
	assert_int_equal(checked, 2 * (int)(sizeof(paths) / sizeof(paths[0])) *
					   (int)(sizeof(flag_sets) / sizeof(flag_sets[0])));
}

static ino_t ino_of(int root, const char *rel)
{
	struct stat st;
	assert_int_equal(fstatat(root, rel, &st, AT_SYMLINK_NOFOLLOW), 0);
	return st.st_ino;
}

static ino_t ino_fd(int fd)
{
	struct stat st;
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	return st.st_ino;
}

/* What the comparison cannot show if both were wrong the same way: links
 * climbing out land inside the tree; beneath refuses them. */
static void test_walk_stays_inside(void **state)
{
	struct tree *t = *state;
	ino_t passwd = ino_of(t->root, "etc/passwd");
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "a/lup", O_RDONLY)), passwd);
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "lout/passwd", O_RDONLY)), passwd);
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "../../../etc/passwd", O_RDONLY)),
			 passwd);
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "/../etc/passwd", O_PATH)), passwd);
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "a/labs", O_RDONLY)),
			 ino_of(t->root, "a/f"));
	/* n01 -> ... -> n40 -> c: 40 links, the kernel's limit; n00: 41 */
	assert_int_equal(ino_fd(bopen_in_root_walk(t->root, "n01", O_RDONLY)),
			 ino_of(t->root, "c"));
	assert_int_equal(bopen_in_root_walk(t->root, "n00", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	errno = 0;
	assert_int_equal(bopen_in_root_walk(t->root, "lproc/x", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT); /* the tree's /proc, not the host's */
	assert_int_equal(bopen_in_root_walk(t->root, "loop1", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(bopen_beneath_walk(t->root, "a/lrel", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(bopen_beneath_walk(t->root, "a/../../c", O_RDONLY), -1);
	assert_int_equal(errno, EXDEV);
	assert_int_equal(bopen_beneath_walk(t->root, "/a", O_PATH), -1);
	assert_int_equal(errno, EXDEV);
	/* O_PATH|O_NOFOLLOW opens a link itself, in both modes */
	assert_int_equal(ino_fd(bopen_beneath_walk(t->root, "a/lrel", O_PATH | O_NOFOLLOW)),
			 ino_of(t->root, "a/lrel"));
	/* not for creating (no mode argument) */
	assert_int_equal(bopen_in_root(t->root, "new", O_WRONLY | O_CREAT), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(faccessat(t->root, "new", F_OK, AT_SYMLINK_NOFOLLOW), -1);
}

/* In a child where openat2 fails with `e` (a filter, as an old seccomp
 * profile does), bopen_* still resolve -- through the walk. */
static void run_without_openat2(struct tree *t, unsigned e)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (no_openat2(e) < 0)
			_exit(10);
		if (kernel_open(t->root, "a/f", O_RDONLY, true) >= 0 || errno != (int)e)
			_exit(11); /* the filter is not in place */
		struct stat want, st;
		if (fstatat(t->root, "etc/passwd", &want, 0) < 0)
			_exit(12);
		int fd = bopen_in_root(t->root, "a/lup", O_RDONLY);
		if (fd < 0 || fstat(fd, &st) < 0 || st.st_ino != want.st_ino)
			_exit(13);
		close(fd);
		if (bopen_beneath(t->root, "a/lrel", O_RDONLY) >= 0 || errno != ELOOP)
			_exit(14);
		if (bopen_in_root(t->root, "nothere", O_RDONLY) >= 0 || errno != ENOENT)
			_exit(15);
		_exit(0);
	}
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

static void test_falls_back_without_openat2(void **state)
{
	run_without_openat2(*state, ENOSYS); /* a kernel before 5.6, valgrind */
	run_without_openat2(*state, EPERM);  /* Docker's seccomp profile before 20.10 */
}

/* EPERM that is the file's own answer is returned, not walked around */
static void test_kernel_errors_pass_through(void **state)
{
	struct tree *t = *state;
	assert_int_equal(bopen_in_root(t->root, "nothere", O_RDONLY), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(bopen_beneath(t->root, "a/lrel", O_RDONLY), -1);
	assert_int_equal(errno, ELOOP);
	assert_int_equal(ino_fd(bopen_in_root(t->root, "a/lup", O_PATH)),
			 ino_of(t->root, "etc/passwd"));
}

/* A directory moved out of the tree and back while paths through it
 * resolve: ".." goes back along the descriptors held, so a walk that
 * entered it before the move still ends inside (or fails), never in the
 * directory it was moved to. */
struct mover {
	char *in, *out;
	atomic_bool stop;
};

static void *move_back_and_forth(void *arg)
{
	struct mover *m = arg;
	while (!atomic_load(&m->stop)) {
		if (rename(m->in, m->out) == 0)
			rename(m->out, m->in);
	}
	return NULL;
}

static void test_walk_dir_moved_out(void **state)
{
	struct tree *t = *state;
	char *out = tmpdir_new();
	/* what a ".." from the moved directory would reach outside: files of
	 * the same names as inside */
	put_dir(out, "x", 0755);
	put_file(out, "f", "", 0644, 0);
	put_file(out, "x/f", "", 0644, 0);
	mk(t->root, "a/b/c", 'd', NULL);
	struct mover m = { .stop = false };
	m.in = xasprintf("%s/a/b/c", t->dir);
	m.out = xasprintf("%s/x/c", out);
	ino_t inside = ino_of(t->root, "a/f");
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, move_back_and_forth, &m), 0);
	int found = 0;
	for (int i = 0; i < 20000; i++) {
		bool in_root = i & 1;
		int fd = in_root ? bopen_in_root_walk(t->root, "a/b/c/../../f", O_RDONLY)
				 : bopen_beneath_walk(t->root, "a/b/c/../../f", O_RDONLY);
		if (fd < 0) {
			assert_int_equal(errno, ENOENT); /* c was away */
			continue;
		}
		struct stat st;
		assert_int_equal(fstat(fd, &st), 0);
		close(fd);
		if (st.st_ino != inside)
			fail_msg("iteration %d: a/b/c/../../f opened inode %lu outside the tree", i,
				 (unsigned long)st.st_ino);
		found++;
	}
	atomic_store(&m.stop, true);
	pthread_join(th, NULL);
	rename(m.out, m.in);
	free(m.in);
	free(m.out);
	rm_rf(out);
	free(out);
	assert_true(found > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_walk_matches_kernel, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_stays_inside, setup, teardown),
		cmocka_unit_test_setup_teardown(test_walk_dir_moved_out, setup, teardown),
		cmocka_unit_test_setup_teardown(test_falls_back_without_openat2, setup, teardown),
		cmocka_unit_test_setup_teardown(test_kernel_errors_pass_through, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
