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

/* A tree wider than the walk opens ahead (BLD_WALK_AHEAD_FDS), nested, with
 * links, an excluded directory holding a re-included file and a pruned one:
 * helpers reading ahead must not change what the visit sees, or its order. */
static char wide[64];

static int wide_excl(void *ud, const char *rel, bool is_dir, struct berr **err)
{
	(void)ud;
	(void)err;
	const char *base = strrchr(rel, '/') ? strrchr(rel, '/') + 1 : rel;
	if (!strcmp(base, "pruned") && is_dir)
		return BLD_EXCLUDE_PRUNE;
	if (!strcmp(base, "hidden") && is_dir)
		return BLD_EXCLUDE;          /* entered: keep.txt is re-included */
	if (strstr(rel, "hidden/") && !strstr(rel, "keep.txt"))
		return BLD_EXCLUDE;
	if (strstr(rel, "pruned/"))
		fail_msg("walk asked about '%s' below a pruned directory", rel);
	return BLD_INCLUDE;
}

static int list_names(void *ud, const struct bld_entry *e, struct berr **err)
{
	(void)err;
	bbuf_addf(ud, NULL, "%s%s%s|", e->rel, S_ISDIR(e->st->st_mode) ? "/" : "",
		  e->link ? e->link : "");
	return 0;
}

static char *walk_with(const char *threads, bld_walk_fn fn, void *ud_extra, int *rc, int *code)
{
	setenv("BERTH_WALK_THREADS", threads, 1);
	struct bld_context *c = NULL;
	assert_int_equal(bld_context_open(wide, wide_excl, NULL, &c, NULL), 0);
	struct bbuf b = BBUF_INIT;
	struct berr *err = NULL;
	*rc = bld_context_walk(c, ".", fn, ud_extra ? ud_extra : &b, &err);
	*code = err ? err->code : 0;
	berr_free(err);
	bld_context_free(c);
	unsetenv("BERTH_WALK_THREADS");
	return bbuf_detach(&b, NULL);
}

static void make_wide(void)
{
	snprintf(wide, sizeof(wide), "/tmp/berth-wide-XXXXXX");
	assert_non_null(mkdtemp(wide));
	char *saved = xstrdup(root);
	snprintf(root, sizeof(root), "%s", wide);
	for (int i = 0; i < 300; i++) {
		char rel[64];
		snprintf(rel, sizeof(rel), "d%03d/f.txt", i);
		put(rel, "x");
		if (i % 50 == 0) {
			snprintf(rel, sizeof(rel), "d%03d/sub/deeper/g.txt", i);
			put(rel, "y");
			snprintf(rel, sizeof(rel), "d%03d/hidden/keep.txt", i);
			put(rel, "k");
			snprintf(rel, sizeof(rel), "d%03d/hidden/drop.txt", i);
			put(rel, "d");
			snprintf(rel, sizeof(rel), "d%03d/pruned/p.txt", i);
			put(rel, "p");
			snprintf(rel, sizeof(rel), "d%03d/ln", i);
			link_("f.txt", rel);
		}
	}
	snprintf(root, sizeof(root), "%s", saved);
	free(saved);
}

static void rm_wide(void)
{
	char *cmd = xasprintf("rm -rf '%s'", wide);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static void test_walk_ahead(void **state)
{
	(void)state;
	make_wide();
	int rc1, rc4, code;
	char *one = walk_with("1", list_names, NULL, &rc1, &code);
	char *four = walk_with("4", list_names, NULL, &rc4, &code);
	assert_int_equal(rc1, 0);
	assert_int_equal(rc4, 0);
	assert_string_equal(one, four);
	/* what the visit must have seen, in order */
	assert_non_null(strstr(one, "|d000/|d000/f.txt|d000/hidden/keep.txt|d000/lnf.txt|"
				    "d000/sub/|d000/sub/deeper/|d000/sub/deeper/g.txt|d001/|"));
	assert_null(strstr(one, "drop.txt"));
	assert_null(strstr(one, "pruned"));
	assert_null(strstr(one, "d000/hidden/|"));
	assert_non_null(strstr(one, "|d299/f.txt|"));
	free(one);
	free(four);
	rm_wide();
}

/* Regular files opened from the visit (bld_entry_open), whether a helper
 * read and closed their directory or the visitor read it: the contents
 * are the same with 1 and 4 threads. Midway, d255/f.txt is replaced by a
 * symlink to a file outside the tree: its visit then sees a link (not yet
 * read) or fails to open it (read already: never followed), and the
 * outside file is never read. */
struct contents {
	struct bbuf b;
	char *outside;
};

static int read_contents(void *ud, const struct bld_entry *e, struct berr **err)
{
	(void)err;
	struct contents *c = ud;
	if (!strcmp(e->ctx_rel, "d010/f.txt")) {
		/* at once (a rename): a helper listing d255 meanwhile sees
		 * one or the other, never neither */
		char *victim = xasprintf("%s/d255/f.txt", wide);
		char *tmpl = xasprintf("%s/swap-link", root); /* not in the walk */
		assert_int_equal(symlink(c->outside, tmpl), 0);
		assert_int_equal(rename(tmpl, victim), 0);
		free(tmpl);
		free(victim);
	}
	if (!S_ISREG(e->st->st_mode)) {
		if (e->link && !strcmp(e->ctx_rel, "d255/f.txt"))
			bbuf_addstr(&c->b, "d255/f.txt:link|", NULL);
		return 0;
	}
	struct berr *oe = NULL;
	int fd = bld_entry_open(e, &oe);
	if (fd < 0) {
		bbuf_addf(&c->b, NULL, "%s:refused|", e->ctx_rel);
		berr_free(oe);
		return 0;
	}
	char buf[16] = "";
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	assert_true(r >= 0);
	bbuf_addf(&c->b, NULL, "%s=%s|", e->ctx_rel, buf);
	return 0;
}

static void test_walk_ahead_opens(void **state)
{
	(void)state;
	char *outside = xasprintf("%s/outside-secret", root);
	put("outside-secret", "SECRET");
	for (int pass = 0; pass < 2; pass++) {
		make_wide();
		struct contents c = { BBUF_INIT, outside };
		int rc, code;
		free(walk_with(pass ? "4" : "1", read_contents, &c, &rc, &code));
		assert_int_equal(rc, 0);
		const char *got = bbuf_str(&c.b);
		assert_null(strstr(got, "SECRET"));
		assert_true(strstr(got, "d255/f.txt:link|") || strstr(got, "d255/f.txt:refused|"));
		assert_non_null(strstr(got, "d000/f.txt=x|"));
		assert_non_null(strstr(got, "|d000/sub/deeper/g.txt=y|"));
		assert_non_null(strstr(got, "|d299/f.txt=x|"));
		bbuf_release(&c.b);
		rm_wide();
	}
	free(outside);
}

/* A callback that fails stops the walk at once, helpers or not. */
struct stop_at {
	int n, left;
};

static int fail_later(void *ud, const struct bld_entry *e, struct berr **err)
{
	struct stop_at *s = ud;
	(void)e;
	s->n++;
	if (--s->left == 0)
		return berr_set(err, BERR_FAILED, "stop here");
	return 0;
}

static void test_walk_ahead_stops(void **state)
{
	(void)state;
	make_wide();
	for (int t = 1; t <= 4; t += 3) {
		struct stop_at s = { 0, 120 };
		int rc, code;
		free(walk_with(t == 1 ? "1" : "4", fail_later, &s, &rc, &code));
		assert_int_equal(rc, -1);
		assert_int_equal(code, BERR_FAILED);
		assert_int_equal(s.n, 120);
	}
	rm_wide();
}

/* Nesting beyond the bound is refused in either mode. */
static void test_walk_too_deep(void **state)
{
	(void)state;
	snprintf(wide, sizeof(wide), "/tmp/berth-deep-XXXXXX");
	assert_non_null(mkdtemp(wide));
	int dfd = open(wide, O_RDONLY | O_DIRECTORY);
	assert_true(dfd >= 0);
	for (int i = 0; i < 300; i++) {
		assert_int_equal(mkdirat(dfd, "n", 0755), 0);
		int sub = openat(dfd, "n", O_RDONLY | O_DIRECTORY);
		assert_true(sub >= 0);
		close(dfd);
		dfd = sub;
	}
	close(dfd);
	for (int t = 1; t <= 4; t += 3) {
		int rc, code;
		free(walk_with(t == 1 ? "1" : "4", list_names, NULL, &rc, &code));
		assert_int_equal(rc, -1);
		assert_int_equal(code, BERR_LIMIT);
	}
	rm_wide();
}

/* bld_entry_open on an entry whose directory the walk has closed (dirfd
 * -1): by context path inside the root, never through a symlink of the
 * entry's own (the start's path may pass through links, as a walk from
 * them does) */
static int open_entry(struct bld_context *c, const char *ctx_rel, const char *name)
{
	struct stat st = { 0 };
	struct bld_entry e = { .rel = name, .ctx_rel = ctx_rel, .st = &st, .dirfd = -1,
			       .name = name, .ctx = c };
	struct berr *err = NULL;
	int fd = bld_entry_open(&e, &err);
	if (fd < 0) {
		assert_non_null(err);
		assert_non_null(strstr(err->msg, ctx_rel));
		berr_free(err);
	}
	return fd;
}

static void test_entry_open_closed_dir(void **state)
{
	(void)state;
	struct bld_context *c = NULL;
	assert_int_equal(bld_context_open(root, NULL, NULL, &c, NULL), 0);
	int fd = open_entry(c, "src/util/u.h", "u.h");
	assert_true(fd >= 0);
	char buf[8] = "";
	assert_int_equal(read(fd, buf, sizeof(buf) - 1), 1);
	assert_string_equal(buf, "h");
	close(fd);
	/* through the start's link (srclink -> src) */
	fd = open_entry(c, "srclink/main.c", "main.c");
	assert_true(fd >= 0);
	close(fd);
	/* the entry itself a link: refused, in or out of the context */
	assert_int_equal(open_entry(c, "abs-link", "abs-link"), -1);
	assert_int_equal(open_entry(c, "escape-link", "escape-link"), -1);
	assert_int_equal(open_entry(c, "srclink", "srclink"), -1);
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
		cmocka_unit_test(test_walk_ahead),
		cmocka_unit_test(test_walk_ahead_opens),
		cmocka_unit_test(test_walk_ahead_stops),
		cmocka_unit_test(test_walk_too_deep),
		cmocka_unit_test(test_entry_open_closed_dir),
		cmocka_unit_test(test_open_missing),
	};
	return cmocka_run_group_tests_name("context", tests, setup, teardown);
}
