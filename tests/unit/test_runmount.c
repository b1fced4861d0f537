/* RUN --mount=type=cache directories and sharing modes, --ssh values
 * (builder/bld_runmount.h). Concurrency between berth processes is tested
 * by tests/integration/run-linux.sh; here one process holds several locks
 * (flock locks belong to the open file, so two opens conflict). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "builder/bld_runmount.h"
#include "common/common.h"

static char *tmpdir(void)
{
	char *t = xstrdup("/tmp/berth-runmount-XXXXXX");
	assert_non_null(mkdtemp(t));
	return t;
}

static void rm_rf(const char *p)
{
	_cleanup_free_ char *cmd = xasprintf("rm -rf '%s'", p);
	assert_int_equal(system(cmd), 0);
}

static void test_cache_names_stay_inside(void **state)
{
	(void)state;
	_cleanup_free_ char *t = tmpdir();
	_cleanup_free_ char *mounts = xasprintf("%s/mounts", t);
	const char *ids[] = { "..", "/", "a/b", "a_b", "../../etc", "" };
	char *dirs[6] = { NULL };
	for (size_t i = 0; i < 6; i++) {
		struct bld_cache_mount m;
		struct berr *err = NULL;
		assert_int_equal(bld_cache_mount_acquire(mounts, ids[i], NULL, 0755, 0, 0, -1, NULL,
							 NULL, &m, &err), 0);
		/* a direct child of mounts/ */
		const char *sl = strrchr(m.dir, '/');
		assert_int_equal((size_t)(sl - m.dir), strlen(mounts));
		assert_memory_equal(m.dir, mounts, strlen(mounts));
		assert_string_not_equal(sl + 1, "..");
		assert_string_not_equal(sl + 1, ".");
		struct stat st;
		assert_int_equal(stat(m.dir, &st), 0);
		assert_true(S_ISDIR(st.st_mode));
		assert_int_equal(st.st_mode & 07777, 0755);
		dirs[i] = xstrdup(m.dir);
		bld_cache_mount_release(&m);
	}
	for (size_t i = 0; i < 6; i++)
		for (size_t j = i + 1; j < 6; j++)
			assert_string_not_equal(dirs[i], dirs[j]);
	for (size_t i = 0; i < 6; i++)
		free(dirs[i]);
	rm_rf(t);
}

static void test_private_and_shared(void **state)
{
	(void)state;
	_cleanup_free_ char *t = tmpdir();
	struct bld_cache_mount a, b, c, d;
	struct berr *err = NULL;
	/* two shared users get the same directory */
	assert_int_equal(bld_cache_mount_acquire(t, "x", "shared", 0755, 0, 0, -1, NULL, NULL, &a, &err), 0);
	assert_int_equal(bld_cache_mount_acquire(t, "x", "shared", 0755, 0, 0, -1, NULL, NULL, &b, &err), 0);
	assert_string_equal(a.dir, b.dir);
	/* private while it is in use: a fresh one, then another */
	assert_int_equal(bld_cache_mount_acquire(t, "x", "private", 0700, 0, 0, -1, NULL, NULL, &c, &err), 0);
	assert_string_not_equal(c.dir, a.dir);
	assert_int_equal(bld_cache_mount_acquire(t, "x", "private", 0700, 0, 0, -1, NULL, NULL, &d, &err), 0);
	assert_string_not_equal(d.dir, c.dir);
	struct stat st;
	assert_int_equal(stat(c.dir, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0700);
	_cleanup_free_ char *cdir = xstrdup(c.dir);
	bld_cache_mount_release(&a);
	bld_cache_mount_release(&b);
	bld_cache_mount_release(&c);
	/* the main directory is free again: private takes it */
	assert_int_equal(bld_cache_mount_acquire(t, "x", "private", 0700, 0, 0, -1, NULL, NULL, &a, &err), 0);
	_cleanup_free_ char *main_dir = xasprintf("%s", a.dir);
	assert_null(strchr(strrchr(main_dir, '/'), '.'));
	/* the next private user finds the released first copy */
	assert_int_equal(bld_cache_mount_acquire(t, "x", "private", 0700, 0, 0, -1, NULL, NULL, &b, &err), 0);
	assert_string_equal(b.dir, cdir);
	bld_cache_mount_release(&a);
	bld_cache_mount_release(&b);
	bld_cache_mount_release(&d);
	rm_rf(t);
}

static int waited;
static void on_wait(void *ud, const char *id)
{
	(void)ud;
	(void)id;
	waited++;
}

static void test_locked_cancel(void **state)
{
	(void)state;
	_cleanup_free_ char *t = tmpdir();
	struct bld_cache_mount a, b;
	struct berr *err = NULL;
	assert_int_equal(bld_cache_mount_acquire(t, "l", "locked", 0755, 0, 0, -1, NULL, NULL, &a, &err), 0);
	/* a second locked user waits; a readable cancel fd stops the wait */
	int p[2];
	assert_int_equal(pipe(p), 0);
	assert_int_equal(write(p[1], "x", 1), 1);
	waited = 0;
	assert_int_equal(bld_cache_mount_acquire(t, "l", "locked", 0755, 0, 0, p[0], on_wait, NULL, &b, &err), -1);
	assert_int_equal(waited, 1);
	assert_non_null(strstr(err->msg, "cancelled while waiting for cache mount 'l'"));
	berr_clear(&err);
	bld_cache_mount_release(&a);
	/* released: no wait */
	waited = 0;
	assert_int_equal(bld_cache_mount_acquire(t, "l", "locked", 0755, 0, 0, p[0], on_wait, NULL, &b, &err), 0);
	assert_int_equal(waited, 0);
	bld_cache_mount_release(&b);
	close(p[0]);
	close(p[1]);
	rm_rf(t);
}

static void test_ssh_values(void **state)
{
	(void)state;
	_cleanup_free_ char *t = tmpdir();
	_cleanup_free_ char *sock = xasprintf("%s/agent.sock", t);
	_cleanup_free_ char *key = xasprintf("%s/id_ed25519", t);
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	snprintf(a.sun_path, sizeof(a.sun_path), "%s", sock);
	assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
	FILE *f = fopen(key, "w");
	assert_non_null(f);
	fclose(f);
	struct berr *err = NULL;
	_cleanup_free_ char *v1 = xasprintf("other=%s", sock);
	_cleanup_free_ char *v2 = xasprintf("k=%s", key);
	char *vals[] = { (char *)"default", v1, v2, (char *)"two=/a,/b" };
	setenv("SSH_AUTH_SOCK", sock, 1);
	_cleanup_free_ char *d = bld_ssh_socket(vals, 4, "default", &err);
	assert_string_equal(d, sock);
	_cleanup_free_ char *o = bld_ssh_socket(vals, 4, "other", &err);
	assert_string_equal(o, sock);
	assert_null(bld_ssh_socket(vals, 4, "k", &err));
	assert_non_null(strstr(err->msg, "is not a socket"));
	berr_clear(&err);
	assert_null(bld_ssh_socket(vals, 4, "two", &err));
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	berr_clear(&err);
	assert_null(bld_ssh_socket(vals, 4, "nope", &err));
	assert_int_equal(err->code, BERR_NOTFOUND);
	berr_clear(&err);
	assert_int_equal(bld_ssh_check(vals, 2, &err), 0);
	assert_int_equal(bld_ssh_check(vals, 3, &err), -1);
	berr_clear(&err);
	unsetenv("SSH_AUTH_SOCK");
	assert_null(bld_ssh_socket(vals, 1, "default", &err));
	assert_non_null(strstr(err->msg, "SSH_AUTH_SOCK is not set"));
	berr_clear(&err);
	char *empty[] = { (char *)"=x" };
	assert_int_equal(bld_ssh_check(empty, 1, &err), -1);
	assert_int_equal(err->code, BERR_USAGE);
	berr_clear(&err);
	close(s);
	rm_rf(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cache_names_stay_inside),
		cmocka_unit_test(test_private_and_shared),
		cmocka_unit_test(test_locked_cancel),
		cmocka_unit_test(test_ssh_values),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
