#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/arena.h"
#include "common/common.h"

static void test_berr_first_wins_and_wrap(void **state)
{
	(void)state;
	struct berr *err = NULL;
	assert_int_equal(berr_set(&err, BERR_INPUT, "bad '%s'", "x"), -1);
	berr_set(&err, BERR_IO, "later error is ignored");
	assert_int_equal(err->code, BERR_INPUT);
	berr_wrap(&err, "while reading %s", "f");
	assert_string_equal(err->msg, "while reading f: bad 'x'");
	assert_int_equal(berr_exit_code(err), 2);
	berr_free(err);
	/* NULL err pointer: setters still return -1 and do not crash */
	assert_int_equal(berr_set(NULL, BERR_IO, "x"), -1);
	assert_int_equal(berr_wrap(NULL, "x"), -1);
}

static void test_berr_print_forms(void **state)
{
	(void)state;
	struct berr *err = NULL;
	berr_set_at(&err, BERR_INPUT, "Dockerfile", 12, 5, "unknown flag '--frm' for COPY");
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	berr_print(f, err);
	fclose(f);
	assert_string_equal(text, "Dockerfile:12:5: error: unknown flag '--frm' for COPY\n");
	free(text);
	berr_clear(&err);
	assert_null(err);
	berr_set_errno(&err, BERR_IO, ENOENT, "open '%s'", "x");
	f = open_memstream(&text, &len);
	berr_print(f, err);
	fclose(f);
	assert_string_equal(text, "berth: error: open 'x': No such file or directory\n");
	assert_int_equal(err->errnum, ENOENT);
	assert_int_equal(berr_exit_code(err), 1);
	free(text);
	berr_free(err);
}

static void test_bbuf_limit(void **state)
{
	(void)state;
	struct bbuf b = BBUF_INIT;
	b.limit = 8;
	struct berr *err = NULL;
	assert_int_equal(bbuf_addstr(&b, "12345", &err), 0);
	assert_int_equal(bbuf_addf(&b, &err, "%d", 678), 0);
	assert_string_equal(bbuf_str(&b), "12345678");
	assert_int_equal(bbuf_addch(&b, '9', &err), -1);
	assert_int_equal(err->code, BERR_LIMIT);
	assert_int_equal(b.len, 8); /* unchanged on failure */
	berr_free(err);
	size_t n;
	char *d = bbuf_detach(&b, &n);
	assert_int_equal(n, 8);
	assert_null(b.data);
	free(d);
}

static void check_clean(const char *in, const char *want)
{
	char *c = bpath_clean(in);
	assert_string_equal(c, want);
	free(c);
}

static void test_path_clean(void **state)
{
	(void)state;
	/* cases from Go's path.Clean tests */
	check_clean("", ".");
	check_clean("abc", "abc");
	check_clean("abc/def", "abc/def");
	check_clean("a/b/c", "a/b/c");
	check_clean(".", ".");
	check_clean("..", "..");
	check_clean("../..", "../..");
	check_clean("../../abc", "../../abc");
	check_clean("/abc", "/abc");
	check_clean("/", "/");
	check_clean("abc/", "abc");
	check_clean("abc//def//ghi", "abc/def/ghi");
	check_clean("//abc", "/abc");
	check_clean("abc/./def", "abc/def");
	check_clean("/./abc/def", "/abc/def");
	check_clean("abc/.", "abc");
	check_clean("abc/def/ghi/../jkl", "abc/def/jkl");
	check_clean("abc/def/../ghi/../jkl", "abc/jkl");
	check_clean("abc/def/..", "abc");
	check_clean("abc/def/../..", ".");
	check_clean("/abc/def/../..", "/");
	check_clean("abc/def/../../..", "..");
	check_clean("/abc/def/../../..", "/");
	check_clean("abc/def/../../../ghi/jkl/../../../mno", "../../mno");
	check_clean("abc/./../def", "def");
	check_clean("abc//./../def", "def");
	check_clean("abc/../../././../def", "../../def");
}

static void test_path_join(void **state)
{
	(void)state;
	struct berr *err = NULL;
	char *out = NULL;
	assert_int_equal(bpath_join("/root", "a/./b/../c", &out, &err), 0);
	assert_string_equal(out, "/root/a/c");
	free(out);
	assert_int_equal(bpath_join("/root/", ".", &out, &err), 0);
	assert_string_equal(out, "/root/");
	free(out);
	assert_int_equal(bpath_join("/root", "a/../../etc/passwd", &out, &err), -1);
	assert_int_equal(err->code, BERR_SECURITY);
	berr_clear(&err);
	assert_int_equal(bpath_join("/root", "/etc/passwd", &out, &err), -1);
	assert_int_equal(err->code, BERR_SECURITY);
	berr_free(err);
}

static void test_atomic_write(void **state)
{
	(void)state;
	char dir[] = "/tmp/berth-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char *p = xasprintf("%s/f.json", dir);
	struct berr *err = NULL;
	assert_int_equal(bfile_write_atomic(p, "one", 3, 0644, &err), 0);
	assert_int_equal(bfile_write_atomic(p, "two!", 4, 0600, &err), 0);
	struct bbuf b = BBUF_INIT;
	assert_int_equal(bfile_read_all(p, 0, &b, &err), 0);
	assert_string_equal(bbuf_str(&b), "two!");
	struct stat st;
	assert_int_equal(stat(p, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	bbuf_release(&b);
	/* read limit */
	b.limit = 0;
	assert_int_equal(bfile_read_all(p, 2, &b, &err), -1);
	assert_int_equal(err->code, BERR_LIMIT);
	berr_clear(&err);
	bbuf_release(&b);
	/* failure to write into a missing directory leaves no temp files behind */
	char *bad = xasprintf("%s/missing/x", dir);
	assert_int_equal(bfile_write_atomic(bad, "x", 1, 0644, &err), -1);
	assert_int_equal(err->code, BERR_IO);
	berr_free(err);
	free(bad);
	unlink(p);
	free(p);
	assert_int_equal(rmdir(dir), 0); /* only succeeds when nothing was left */
}

/* arena: small and huge chunks, alignment of allocations between packed
 * strings, strings kept intact */
static void test_arena(void **state)
{
	(void)state;
	struct barena a = BARENA_INIT;
	barena_release(&a); /* empty: fine */
	char *first = barena_strdup(&a, "first");
	char *keep[5000];
	size_t packed = 0;
	for (int i = 0; i < 5000; i++) {
		char buf[32];
		snprintf(buf, sizeof(buf), "s%d", i);
		keep[i] = barena_join(&a, buf, "/", "x");
		/* strings follow each other with no padding (but across chunks) */
		packed += i && keep[i] == keep[i - 1] + strlen(keep[i - 1]) + 1;
		if (i % 100 == 7) {
			long *v = barena_alloc(&a, 3 * sizeof(long));
			assert_int_equal((uintptr_t)v % 16, 0);
			v[0] = v[1] = v[2] = -1;
		}
	}
	assert_true(packed > 4800);
	/* larger than a huge chunk: a chunk of its own size */
	size_t big = BARENA_HUGE * 2 + 123;
	unsigned char *z = barena_zalloc(&a, big);
	for (size_t i = 0; i < big; i += 4096)
		assert_int_equal(z[i], 0);
	memset(z, 0xab, big);
	assert_string_equal(first, "first");
	for (int i = 0; i < 5000; i++) {
		char buf[40];
		snprintf(buf, sizeof(buf), "s%d/x", i);
		assert_string_equal(keep[i], buf);
	}
	assert_string_equal(barena_strndup(&a, "abcdef", 3), "abc");
	assert_int_equal((uintptr_t)barena_alloc(&a, 0) % 16, 0);
	barena_release(&a);
	assert_null(a.head);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_berr_first_wins_and_wrap),
		cmocka_unit_test(test_berr_print_forms),
		cmocka_unit_test(test_bbuf_limit),
		cmocka_unit_test(test_path_clean),
		cmocka_unit_test(test_path_join),
		cmocka_unit_test(test_atomic_write),
		cmocka_unit_test(test_arena),
	};
	return cmocka_run_group_tests_name("common", tests, NULL, NULL);
}
