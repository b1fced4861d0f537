#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_context.h"
#include "common/common.h"

static char root[64];

static void put(const char *rel, const char *content)
{
	char *p = xasprintf("%s/%s", root, rel);
	char *dir = xstrdup(p);
	*strrchr(dir, '/') = '\0';
	assert_int_equal(bfile_mkdir_p(dir, 0755, NULL), 0);
	assert_int_equal(bfile_write_atomic(p, content, strlen(content), 0644, NULL), 0);
	free(dir);
	free(p);
}

static void link_(const char *target, const char *rel)
{
	char *p = xasprintf("%s/%s", root, rel);
	assert_int_equal(symlink(target, p), 0);
	free(p);
}

static int setup(void **state)
{
	(void)state;
	snprintf(root, sizeof(root), "/tmp/berth-ctx-XXXXXX");
	assert_non_null(mkdtemp(root));
	put("a.txt", "A");
	put("b.txt", "B");
	put("c.log", "C");
	put("src/main.c", "int main;");
	put("src/util/u.c", "u");
	put("src/util/u.h", "h");
	put("docs/x.md", "x");
	put("etc/passwd", "inside");
	link_("/etc/passwd", "abs-link");       /* resolves to <ctx>/etc/passwd */
	link_("../../../../../../etc/shadow", "escape-link"); /* clamped, not found */
	link_("src", "srclink");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", root);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	return 0;
}

/* exclude *.log and docs/, prune docs */
static int excl(void *ud, const char *rel, bool is_dir, struct berr **err)
{
	(void)ud; (void)err;
	size_t n = strlen(rel);
	if (n > 4 && strcmp(rel + n - 4, ".log") == 0)
		return BLD_EXCLUDE;
	if (strcmp(rel, "docs") == 0 && is_dir)
		return BLD_EXCLUDE_PRUNE;
	if (strncmp(rel, "docs/", 5) == 0)
		return BLD_EXCLUDE;
	return BLD_INCLUDE;
}

static char *expand_join(struct bld_context *c, const char *src, int *rc, int *code)
{
	char **v = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	*rc = bld_context_expand(c, src, &v, &n, &err);
	*code = err ? err->code : 0;
	berr_free(err);
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; *rc == 0 && i < n; i++) {
		bbuf_addf(&b, NULL, "%s%s", i ? "," : "", v[i]);
		free(v[i]);
	}
	free(v);
	return bbuf_detach(&b, NULL);
}

static void test_expand(void **state)
{
	(void)state;
	struct bld_context *c = NULL;
	assert_int_equal(bld_context_open(root, excl, NULL, &c, NULL), 0);
	int rc, code;
	char *s;
#define EXPECT(src, want) do { s = expand_join(c, src, &rc, &code); \
	assert_int_equal(rc, 0); assert_string_equal(s, want); free(s); } while (0)
#define EXPECT_ERR(src, wcode) do { s = expand_join(c, src, &rc, &code); \
	assert_int_equal(rc, -1); assert_int_equal(code, wcode); free(s); } while (0)
	EXPECT("*.txt", "a.txt,b.txt");
	EXPECT("/a.txt", "a.txt");
	EXPECT("./src/../a.txt", "a.txt");
	EXPECT("src/*/*.c", "src/util/u.c");
	EXPECT("src/util/u.[ch]", "src/util/u.c,src/util/u.h");
	EXPECT(".", ".");
	EXPECT("src/", "src");
	EXPECT("abs-link", "abs-link");
	EXPECT("srclink/main.c", "srclink/main.c");
	EXPECT_ERR("*.log", BERR_NOTFOUND);      /* excluded files are invisible */
	EXPECT_ERR("docs/x.md", BERR_NOTFOUND);
	EXPECT_ERR("nothing*", BERR_NOTFOUND);
	EXPECT_ERR("missing.txt", BERR_NOTFOUND);
	EXPECT_ERR("escape-link", BERR_NOTFOUND); /* clamped to the context */
	EXPECT_ERR("../outside", BERR_SECURITY);
	EXPECT_ERR("a/../../outside", BERR_SECURITY);
	EXPECT_ERR("[", BERR_INPUT);
	bld_context_free(c);
}

static int collect(void *ud, const struct bld_entry *e, struct berr **err)
{
	(void)err;
	struct bbuf *b = ud;
	bbuf_addf(b, NULL, "%s[%s]%s%s;", e->rel, e->ctx_rel,
		  S_ISDIR(e->st->st_mode) ? "/" : "", e->link ? "@" : "");
	if (S_ISREG(e->st->st_mode)) {
		int fd = bld_entry_open(e, NULL);
		assert_true(fd >= 0);
		char buf[32] = "";
		ssize_t r = read(fd, buf, sizeof(buf) - 1);
		assert_true(r >= 0);
		close(fd);
		bbuf_addf(b, NULL, "=%s;", buf);
	}
	return 0;
}

static void test_walk(void **state)
{
	(void)state;
	struct bld_context *c = NULL;
	assert_int_equal(bld_context_open(root, excl, NULL, &c, NULL), 0);
	struct bbuf b = BBUF_INIT;
	assert_int_equal(bld_context_walk(c, "src", collect, &b, NULL), 0);
	assert_string_equal(bbuf_str(&b),
		"[src]/;main.c[src/main.c];=int main;;util[src/util]/;"
		"util/u.c[src/util/u.c];=u;util/u.h[src/util/u.h];=h;");
	bbuf_reset(&b);
	/* the start is followed through a link that stays in the context */
	assert_int_equal(bld_context_walk(c, "abs-link", collect, &b, NULL), 0);
	assert_string_equal(bbuf_str(&b), "[abs-link];=inside;");
	bbuf_reset(&b);
	/* the whole context: excluded files and pruned dirs are absent, links kept */
	assert_int_equal(bld_context_walk(c, ".", collect, &b, NULL), 0);
	assert_null(strstr(bbuf_str(&b), "c.log"));
	assert_null(strstr(bbuf_str(&b), "docs"));
	assert_non_null(strstr(bbuf_str(&b), "srclink[srclink]@;"));
	assert_non_null(strstr(bbuf_str(&b), "escape-link[escape-link]@;"));
	bbuf_release(&b);
	struct berr *err = NULL;
	assert_int_equal(bld_context_walk(c, "escape-link", collect, &b, &err), -1);
	assert_int_equal(err->code, BERR_NOTFOUND);
	berr_free(err);
	bbuf_release(&b);
	bld_context_free(c);
}

static void test_open_missing(void **state)
{
	(void)state;
	struct bld_context *c = NULL;
	struct berr *err = NULL;
	assert_int_equal(bld_context_open("/nonexistent/berth", NULL, NULL, &c, &err), -1);
	assert_int_equal(err->code, BERR_NOTFOUND);
	berr_free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_expand),
		cmocka_unit_test(test_walk),
		cmocka_unit_test(test_open_missing),
	};
	return cmocka_run_group_tests_name("context", tests, setup, teardown);
}
