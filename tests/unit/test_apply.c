#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <grp.h>
#include <sys/wait.h>
#include <zlib.h>
#include <zstd.h>

#include "apply_testlib.h"
#include "image/img_layer.h"
#include "image/img_wintar.h"

/* ---- raw tar builder (any name, even hostile ones) ---- */

struct tb {
	struct bbuf buf;
	struct bsink sink;
	struct img_tarw *w;
};

static struct tb *tb_new(void)
{
	struct tb *t = xcalloc(1, sizeof(*t));
	t->sink = mem_sink(&t->buf);
	t->w = img_tarw_new(&t->sink);
	return t;
}

static void tb_add(struct tb *t, char type, const char *name, const char *link,
		   const char *content, unsigned mode)
{
	struct img_tar_hdr h = { .name = name, .linkname = link, .typeflag = type,
				 .mode = mode, .size = content ? strlen(content) : 0,
				 .mtime = 1600000000 };
	assert_int_equal(img_tarw_header(t->w, &h, NULL, 0, NULL), 0);
	if (content)
		assert_int_equal(img_tarw_data(t->w, content, strlen(content), NULL), 0);
}

#define tb_file(t, n, c) tb_add(t, '0', n, NULL, c, 0644)
#define tb_dir(t, n) tb_add(t, '5', n, NULL, NULL, 0755)
#define tb_symlink(t, n, target) tb_add(t, '2', n, target, NULL, 0777)
#define tb_hardlink(t, n, target) tb_add(t, '1', n, target, NULL, 0644)

static void tb_end(struct tb *t)
{
	assert_int_equal(img_tarw_close(t->w, NULL, NULL), 0);
	img_tarw_free(t->w);
	t->w = NULL;
}

static void tb_free(struct tb *t)
{
	img_tarw_free(t->w);
	bbuf_release(&t->buf);
	free(t);
}

static struct bbuf gzip_of(const struct bbuf *in)
{
	z_stream z = { 0 };
	assert_int_equal(deflateInit2(&z, 9, Z_DEFLATED, 31, 8, Z_DEFAULT_STRATEGY), Z_OK);
	struct bbuf out = BBUF_INIT;
	size_t cap = deflateBound(&z, in->len) + 64;
	out.data = xmalloc(cap);
	z.next_in = (Bytef *)in->data;
	z.avail_in = (uInt)in->len;
	z.next_out = (Bytef *)out.data;
	z.avail_out = (uInt)cap;
	assert_int_equal(deflate(&z, Z_FINISH), Z_STREAM_END);
	out.len = z.total_out;
	out.cap = cap;
	deflateEnd(&z);
	return out;
}

static struct bbuf zstd_of(const struct bbuf *in)
{
	struct bbuf out = BBUF_INIT;
	size_t cap = ZSTD_compressBound(in->len);
	out.data = xmalloc(cap);
	out.len = ZSTD_compress(out.data, cap, in->data, in->len, 3);
	assert_false(ZSTD_isError(out.len));
	out.cap = cap;
	return out;
}

/* ---- fixture (apply_testlib.h), and the sentinel file gained no hard link ---- */

static int fx_teardown_nlink(void **state)
{
	struct fx *f = *state;
	char *kp = xasprintf("%s/keep", f->sentinel);
	struct stat st;
	assert_int_equal(lstat(kp, &st), 0);
	assert_int_equal(st.st_nlink, 1);
	free(kp);
	return fx_teardown(state);
}

static void expect_refused(struct fx *f, unsigned flags, struct tb **tbs, size_t n, int code,
			   const char *needle)
{
	const struct bbuf *ls[4];
	for (size_t i = 0; i < n; i++) {
		tb_end(tbs[i]);
		ls[i] = &tbs[i]->buf;
	}
	struct berr *err = NULL;
	assert_int_equal(fx_apply(f, flags, ls, n, NULL, &err), -1);
	assert_non_null(err);
	if (err->code != code || !strstr(err->msg, needle))
		fail_msg("got [%s] '%s', want [%s] containing '%s'", berr_code_name(err->code),
			 err->msg, berr_code_name(code), needle);
	berr_free(err);
	for (size_t i = 0; i < n; i++)
		tb_free(tbs[i]);
}

/* ---- functional ---- */

static struct bbuf layer_from(const char *tree, void (*extra)(struct img_layer *))
{
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	if (tree)
		assert_int_equal(img_layer_add_tree(l, tree, "/", &err), 0);
	if (extra)
		extra(l);
	if (img_layer_finish(l, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	img_layer_free(l);
	return out;
}

static void extra2(struct img_layer *l)
{
	assert_int_equal(img_layer_add_whiteout(l, "/bin/gone", NULL), 0);
	assert_int_equal(img_layer_add_opaque(l, "/lib", NULL), 0);
	struct img_layer_entry own = { .dst = "/srv/owned", .type = IMG_ENTRY_FILE,
				       .set = IMG_SET_OWNER | IMG_SET_MODE, .uid = 1234,
				       .gid = 4321, .mode = 04750 };
	assert_int_equal(img_layer_add(l, &own, NULL), 0);
}

static void chain(struct fx *f, unsigned flags)
{
	char *t1 = tmpdir_new(), *t2 = tmpdir_new();
	put_dir(t1, "bin", 0755);
	put_file(t1, "bin/tool", "tool v1\n", 0755, 1500000000);
	put_file(t1, "bin/gone", "bye\n", 0644, 1500000000);
	char *a = xasprintf("%s/bin/tool", t1), *b = xasprintf("%s/bin/tool2", t1);
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	put_dir(t1, "lib", 0755);
	put_dir(t1, "lib/old", 0500);
	put_file(t1, "lib/old/x.so", "x\n", 0444, 1500000000);
	put_dir(t1, "etc", 0755);
	put_file(t1, "etc/conf", "v1\n", 0644, 1500000000);
	put_file(t1, "etc/other", "stays\n", 0600, 1500000000);
	char *ln = xasprintf("%s/etc/link", t1);
	assert_int_equal(symlink("/etc/conf", ln), 0); /* absolute target: only text */
	free(ln);
	set_mtime(t1, "etc", 1400000000);
	put_dir(t2, "etc", 0711);
	put_file(t2, "etc/conf", "v2\n", 0640, 1500000001);
	put_dir(t2, "lib", 0755);
	put_file(t2, "lib/new.so", "new\n", 0644, 1500000001);
	struct bbuf l1 = layer_from(t1, NULL), l2 = layer_from(t2, extra2);
	struct bbuf g1 = gzip_of(&l1), z2 = zstd_of(&l2);
	/* write them as files: the chain helper reads from disk */
	char *p1 = xasprintf("%s/l1.tar.gz", f->base), *p2 = xasprintf("%s/l2.tar.zst", f->base);
	assert_int_equal(bfile_write_atomic(p1, g1.data, g1.len, 0644, NULL), 0);
	assert_int_equal(bfile_write_atomic(p2, z2.data, z2.len, 0644, NULL), 0);
	const char *files[] = { p1, p2 };
	struct img_apply_stats st;
	struct berr *err = NULL;
	struct img_apply_opts o = { .flags = flags };
	if (img_apply_chain(f->root, files, 2, &o, &st, &err) < 0)
		fail_msg("%s", err->msg);
	unlink(p1);
	unlink(p2);
	assert_int_equal(st.layers, 2);
	char *x = read_text(f->root, "etc/conf");
	assert_string_equal(x, "v2\n");
	free(x);
	x = read_text(f->root, "etc/other");
	assert_string_equal(x, "stays\n");
	free(x);
	assert_false(path_exists(f->root, "bin/gone"));
	assert_true(path_exists(f->root, "bin/tool"));
	assert_false(path_exists(f->root, "lib/old"));
	assert_true(path_exists(f->root, "lib/new.so"));
	char *p = xasprintf("%s/etc/conf", f->root);
	struct stat s1, s2;
	assert_int_equal(lstat(p, &s1), 0);
	assert_int_equal(s1.st_mode & 07777, 0640);
	assert_int_equal(s1.st_mtim.tv_sec, 1500000001);
	free(p);
	p = xasprintf("%s/etc", f->root);
	assert_int_equal(lstat(p, &s1), 0);
	assert_int_equal(s1.st_mode & 07777, geteuid() == 0 ? 0711 : 0711 | 0700);
	free(p);
	p = xasprintf("%s/bin/tool", f->root);
	char *q = xasprintf("%s/bin/tool2", f->root);
	assert_int_equal(lstat(p, &s1), 0);
	assert_int_equal(lstat(q, &s2), 0);
	assert_int_equal(s1.st_ino, s2.st_ino);
	assert_int_equal(s1.st_mode & 07777, 0755);
	free(p);
	free(q);
	p = xasprintf("%s/etc/link", f->root);
	char tgt[64] = { 0 };
	assert_int_equal(readlink(p, tgt, sizeof(tgt) - 1), 9);
	assert_string_equal(tgt, "/etc/conf");
	free(p);
	p = xasprintf("%s/srv/owned", f->root);
	assert_int_equal(lstat(p, &s1), 0);
	if (geteuid() == 0) {
		assert_int_equal(s1.st_uid, 1234);
		assert_int_equal(s1.st_gid, 4321);
		assert_int_equal(s1.st_mode & 07777, 04750); /* setuid survives chown */
	} else {
		assert_int_equal(s1.st_uid, geteuid());
	}
	free(p);
	free(p1);
	free(p2);
	bbuf_release(&l1);
	bbuf_release(&l2);
	bbuf_release(&g1);
	bbuf_release(&z2);
	rm_rf(t1);
	rm_rf(t2);
	free(t1);
	free(t2);
}

static void test_chain(void **state)
{
	chain(*state, 0);
}

static void test_chain_walk(void **state)
{
	chain(*state, IMG_APPLY_NO_OPENAT2);
}

static void test_no_chown(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	struct img_tar_hdr h = { .name = "f", .typeflag = '0', .mode = 0644, .uid = 777, .gid = 777 };
	assert_int_equal(img_tarw_header(t->w, &h, NULL, 0, NULL), 0);
	tb_end(t);
	struct img_apply_opts o = { .flags = IMG_APPLY_NO_CHOWN };
	struct berr *err = NULL;
	struct img_applier *ap = img_applier_new(f->root, &o, &err);
	assert_int_equal(img_apply_mem(ap, t->buf.data, t->buf.len, "l", &err), 0);
	img_applier_free(ap);
	char *p = xasprintf("%s/f", f->root);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_int_equal(st.st_uid, geteuid());
	free(p);
	tb_free(t);
}

static void test_whiteout_same_layer(void **state)
{
	struct fx *f = *state;
	struct tb *l1 = tb_new(), *l2 = tb_new();
	tb_dir(l1, "d/");
	tb_file(l1, "d/old", "old");
	/* a whiteout never hides its own layer's content; an opaque marker
	 * late in the layer keeps this layer's entries */
	tb_file(l2, "f", "mine");
	tb_file(l2, ".wh.f", NULL);
	tb_file(l2, "d/new", "new");
	tb_file(l2, "d/.wh..wh..opq", NULL);
	tb_file(l2, ".wh.missing", NULL);
	tb_file(l2, "nodir/.wh.x", NULL);
	tb_end(l1);
	tb_end(l2);
	const struct bbuf *ls[] = { &l1->buf, &l2->buf };
	struct berr *err = NULL;
	if (fx_apply(f, 0, ls, 2, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	assert_true(path_exists(f->root, "f"));
	assert_true(path_exists(f->root, "d/new"));
	assert_false(path_exists(f->root, "d/old"));
	assert_false(path_exists(f->root, "d/.wh..wh..opq"));
	tb_free(l1);
	tb_free(l2);
}

static void test_duplicates_later_wins(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	char *abs = xasprintf("%s/keep", f->sentinel);
	tb_file(t, "a", "one");
	tb_file(t, "a", "two");
	tb_dir(t, "d/");
	tb_file(t, "d/child", "c");
	tb_file(t, "d", "now a file");
	tb_symlink(t, "s", abs);
	tb_file(t, "s", "replaced the symlink, not its target");
	tb_file(t, "e", "file first");
	tb_dir(t, "e/");
	tb_file(t, "e/in", "in");
	tb_add(t, '5', "m/", NULL, NULL, 0700);
	tb_add(t, '5', "m/", NULL, NULL, 0751);
	tb_end(t);
	const struct bbuf *ls[] = { &t->buf };
	struct berr *err = NULL;
	if (fx_apply(f, 0, ls, 1, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	char *x = read_text(f->root, "a");
	assert_string_equal(x, "two");
	free(x);
	x = read_text(f->root, "d");
	assert_string_equal(x, "now a file");
	free(x);
	x = read_text(f->root, "s");
	assert_string_equal(x, "replaced the symlink, not its target");
	free(x);
	x = read_text(f->root, "e/in");
	assert_string_equal(x, "in");
	free(x);
	char *m = xasprintf("%s/m", f->root);
	struct stat st;
	assert_int_equal(lstat(m, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0751); /* the later directory entry */
	free(m);
	free(abs);
	tb_free(t);
}

/* ---- hostile ---- */

static void test_dotdot(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	tb_file(t, "../sentinel/pwned", "x");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "contains '..'");
	t = tb_new();
	tb_file(t, "a/../../sentinel/pwned", "x");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "contains '..'");
	t = tb_new();
	tb_dir(t, "..");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "contains '..'");
}

static void test_absolute(void **state)
{
	struct fx *f = *state;
	char *abs = xasprintf("%s/pwned", f->sentinel);
	struct tb *t = tb_new();
	tb_file(t, abs, "x");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "absolute");
	free(abs);
}

static void symlink_write_through(struct fx *f, unsigned flags)
{
	/* absolute and relative symlinks, then a write through them */
	const char *targets[] = { f->sentinel, "../sentinel", "." };
	for (size_t i = 0; i < ARRAY_SIZE(targets); i++) {
		struct tb *t = tb_new();
		tb_symlink(t, "evil", targets[i]);
		tb_file(t, "evil/pwned", "x");
		expect_refused(f, flags, &t, 1, BERR_SECURITY,
			       "refusing to write 'evil/pwned' through symlink 'evil'");
		rm_rf(f->root);
		mkdir(f->root, 0755);
	}
	/* a chain of symlinks and a directory entry through one */
	struct tb *t = tb_new();
	tb_symlink(t, "b", f->sentinel);
	tb_symlink(t, "a", "b");
	tb_dir(t, "a/sub/");
	expect_refused(f, flags, &t, 1, BERR_SECURITY, "through symlink 'a'");
	rm_rf(f->root);
	mkdir(f->root, 0755);
	/* deeper: a real directory, then a symlink inside it */
	t = tb_new();
	tb_dir(t, "x/");
	tb_symlink(t, "x/y", f->sentinel);
	tb_file(t, "x/y/z/pwned", "x");
	expect_refused(f, flags, &t, 1, BERR_SECURITY, "through symlink 'x/y'");
}

static void test_symlink_write_through(void **state)
{
	symlink_write_through(*state, 0);
}

static void test_symlink_write_through_walk(void **state)
{
	symlink_write_through(*state, IMG_APPLY_NO_OPENAT2);
}

static void test_symlink_from_earlier_layer(void **state)
{
	struct fx *f = *state;
	struct tb *l[2] = { tb_new(), tb_new() };
	tb_symlink(l[0], "usr", f->sentinel);
	tb_file(l[1], "usr/pwned", "x");
	expect_refused(f, 0, l, 2, BERR_SECURITY, "layer 'L1': refusing to write 'usr/pwned'");
}

static void test_hardlink_outside(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	tb_hardlink(t, "h", "../sentinel/keep");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "hardlink target '../sentinel/keep'");
	char *abs = xasprintf("%s/keep", f->sentinel);
	t = tb_new();
	tb_hardlink(t, "h", abs);
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "absolute");
	free(abs);
	t = tb_new();
	tb_symlink(t, "evil", f->sentinel);
	tb_hardlink(t, "h", "evil/keep");
	expect_refused(f, 0, &t, 1, BERR_SECURITY, "through symlink 'evil'");
	t = tb_new();
	tb_hardlink(t, "h", "nothing");
	expect_refused(f, 0, &t, 1, BERR_INPUT, "points at missing 'nothing'");
	t = tb_new();
	tb_hardlink(t, "h", "h");
	expect_refused(f, 0, &t, 1, BERR_INPUT, "points at itself");
	t = tb_new();
	tb_dir(t, "d/");
	tb_hardlink(t, "h", "d");
	expect_refused(f, 0, &t, 1, BERR_INPUT, "points at directory");
}

static void test_hardlink_to_symlink_is_not_followed(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	char *abs = xasprintf("%s/keep", f->sentinel);
	tb_symlink(t, "s", abs);
	tb_hardlink(t, "h", "s"); /* links the symlink itself, not the file */
	tb_end(t);
	const struct bbuf *ls[] = { &t->buf };
	struct berr *err = NULL;
	assert_int_equal(fx_apply(f, 0, ls, 1, NULL, &err), 0);
	char *p = xasprintf("%s/h", f->root);
	struct stat st;
	assert_int_equal(lstat(p, &st), 0);
	assert_true(S_ISLNK(st.st_mode));
	free(p);
	free(abs);
	tb_free(t);
}

static void test_tar_bomb(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	char *big = xmalloc(10001);
	memset(big, 'A', 10000);
	big[10000] = '\0';
	tb_file(t, "small", "ok");
	tb_file(t, "big", big);
	tb_end(t);
	struct img_apply_opts o = { .max_bytes = 4096 };
	struct berr *err = NULL;
	struct img_applier *ap = img_applier_new(f->root, &o, &err);
	struct bbuf gz = gzip_of(&t->buf);
	assert_int_equal(img_apply_mem(ap, gz.data, gz.len, "bomb", &err), -1);
	assert_int_equal(err->code, BERR_LIMIT);
	assert_string_equal(err->msg, "layer 'bomb': entry 'big' would exceed the limit of 4096 "
			    "bytes unpacked");
	berr_clear(&err);
	assert_false(path_exists(f->root, "big"));
	/* a failed applier refuses more work */
	assert_int_equal(img_apply_mem(ap, t->buf.data, t->buf.len, "again", &err), -1);
	assert_non_null(strstr(err->msg, "already failed"));
	berr_clear(&err);
	img_applier_free(ap);
	bbuf_release(&gz);
	tb_free(t);
	free(big);
	/* entry count, across a chain */
	struct tb *a = tb_new(), *b = tb_new();
	for (int i = 0; i < 6; i++) {
		char n[16];
		snprintf(n, sizeof(n), "f%d", i);
		tb_file(a, n, "");
		tb_file(b, n, "");
	}
	tb_end(a);
	tb_end(b);
	struct img_apply_opts o2 = { .max_entries = 10 };
	ap = img_applier_new(f->root, &o2, &err);
	assert_int_equal(img_apply_mem(ap, a->buf.data, a->buf.len, "a", &err), 0);
	assert_int_equal(img_apply_mem(ap, b->buf.data, b->buf.len, "b", &err), -1);
	assert_string_equal(err->msg, "layer 'b': more than 10 entries unpacked");
	assert_int_equal(err->code, BERR_LIMIT);
	berr_free(err);
	img_applier_free(ap);
	tb_free(a);
	tb_free(b);
}

static void test_empty_and_broken_layers(void **state)
{
	struct fx *f = *state;
	struct berr *err = NULL;
	struct img_applier *ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, "", 0, "zero", &err), -1);
	assert_string_equal(err->msg, "layer 'zero': empty (0 bytes, not a tar archive)");
	assert_int_equal(err->code, BERR_INPUT);
	berr_clear(&err);
	img_applier_free(ap);
	char *p = xasprintf("%s/empty.tar", f->base);
	assert_int_equal(bfile_write_atomic(p, "", 0, 0644, NULL), 0);
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_file(ap, p, &err), -1);
	assert_non_null(strstr(err->msg, "empty (0 bytes"));
	berr_clear(&err);
	img_applier_free(ap);
	/* the same through a pipe */
	int pfd[2];
	assert_int_equal(pipe(pfd), 0);
	close(pfd[1]);
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_fd(ap, pfd[0], "pipe", &err), -1);
	close(pfd[0]);
	assert_string_equal(err->msg, "layer 'pipe': empty (0 bytes, not a tar archive)");
	berr_clear(&err);
	img_applier_free(ap);
	unlink(p);
	free(p);
	/* truncated gzip */
	struct tb *t = tb_new();
	char *big = xmalloc(200001);
	for (int i = 0; i < 200000; i++)
		big[i] = (char)('a' + (i * 7919) % 26);
	big[200000] = '\0';
	tb_file(t, "data", big);
	tb_file(t, "after", "x");
	tb_end(t);
	struct bbuf gz = gzip_of(&t->buf);
	gz.len /= 2;
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, gz.data, gz.len, "trunc", &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	print_message("truncated gzip: %s\n", err->msg);
	assert_false(path_exists(f->root, "after"));
	berr_clear(&err);
	img_applier_free(ap);
	/* corrupted gzip (a flipped byte in the deflate stream) and truncated zstd */
	gz.len *= 2;
	gz.data[gz.len / 2] ^= 0x55;
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, gz.data, gz.len, "corrupt", &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	berr_clear(&err);
	img_applier_free(ap);
	struct bbuf zs = zstd_of(&t->buf);
	zs.len -= 10;
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, zs.data, zs.len, "zcut", &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	print_message("truncated zstd: %s\n", err->msg);
	berr_clear(&err);
	img_applier_free(ap);
	bbuf_release(&zs);
	/* truncated plain tar in the middle of a header */
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, t->buf.data, 512 + 200000 + 100, "cut", &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	berr_clear(&err);
	img_applier_free(ap);
	/* garbage */
	ap = img_applier_new(f->root, NULL, &err);
	assert_int_equal(img_apply_mem(ap, "this is not a tar archive at all", 32, "junk", &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	berr_clear(&err);
	img_applier_free(ap);
	bbuf_release(&gz);
	tb_free(t);
	free(big);
}

static void test_bad_whiteouts(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	tb_file(t, "a/.wh.", NULL);
	expect_refused(f, 0, &t, 1, BERR_INPUT, "invalid whiteout 'a/.wh.'");
	t = tb_new();
	tb_file(t, "a/.wh..", NULL);
	expect_refused(f, 0, &t, 1, BERR_INPUT, "invalid whiteout");
	t = tb_new();
	tb_file(t, "a/.wh...", NULL);
	expect_refused(f, 0, &t, 1, BERR_INPUT, "invalid whiteout");
}

static void test_windows_layer_paths(void **state)
{
	struct fx *f = *state;
	struct tb *t = tb_new();
	tb_dir(t, "Hives/");
	tb_dir(t, "Files/");
	tb_file(t, "Other/x", "x");
	expect_refused(f, IMG_APPLY_WINDOWS, &t, 1, BERR_INPUT, "is outside 'Files/'");
	t = tb_new();
	tb_file(t, "Files/../sentinel/pwned", "x");
	expect_refused(f, IMG_APPLY_WINDOWS, &t, 1, BERR_SECURITY, "contains '..'");
	t = tb_new();
	tb_dir(t, "Files/");
	tb_hardlink(t, "Files/h", "Hives/x");
	expect_refused(f, IMG_APPLY_WINDOWS, &t, 1, BERR_INPUT, "points at the root");
	/* ADS and hive content are skipped, whiteouts under Files/ apply */
	t = tb_new();
	tb_dir(t, "Hives/");
	tb_file(t, "Hives/Software_Delta", "regf");
	tb_dir(t, "Files/");
	tb_file(t, "Files/a.txt", "a");
	tb_file(t, "Files/a.txt:Zone.Identifier", "zone");
	tb_file(t, "Files/b.txt", "b");
	tb_end(t);
	struct tb *t2 = tb_new();
	tb_file(t2, "Files/.wh.b.txt", NULL);
	tb_end(t2);
	const struct bbuf *ls[] = { &t->buf, &t2->buf };
	struct berr *err = NULL;
	if (fx_apply(f, IMG_APPLY_WINDOWS, ls, 2, NULL, &err) < 0)
		fail_msg("%s", err->msg);
	assert_true(path_exists(f->root, "a.txt"));
	assert_false(path_exists(f->root, "a.txt:Zone.Identifier"));
	assert_false(path_exists(f->root, "b.txt"));
	assert_false(path_exists(f->root, "Hives"));
	assert_int_equal(dir_count(f->root), 1);
	tb_free(t);
	tb_free(t2);
}

/* As an unprivileged user: owners are not applied, device nodes are skipped
 * and directories keep u+rwx so a later layer can still write into them. */
static int unprivileged_child(struct fx *f, const struct bbuf *l1, const struct bbuf *l2)
{
	struct fx local = *f;
	if (geteuid() == 0) {
		/* chroot first: the test host may not let other users reach TMPDIR */
		if (chroot(f->base) < 0 || chdir("/") < 0)
			return 9;
		local.root = "/root";
		f = &local;
		if (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)
			return 10;
	}
	struct berr *err = NULL;
	struct img_applier *ap = img_applier_new(f->root, NULL, &err);
	if (!ap || img_apply_mem(ap, l1->data, l1->len, "l1", &err) < 0 ||
	    img_apply_mem(ap, l2->data, l2->len, "l2", &err) < 0) {
		fprintf(stderr, "child: %s\n", err ? err->msg : "?");
		return 11;
	}
	img_applier_free(ap);
	struct stat st;
	char *p = xasprintf("%s/ro", f->root);
	int rc = lstat(p, &st) < 0 || (st.st_mode & 07777) != 0755 ? 12 : 0;
	free(p);
	if (!rc && (!path_exists(f->root, "ro/g") || path_exists(f->root, "ro/f")))
		rc = 13;
	p = xasprintf("%s/owned", f->root);
	if (!rc && (lstat(p, &st) < 0 || st.st_uid != geteuid()))
		rc = 14;
	free(p);
	if (!rc && path_exists(f->root, "null"))
		rc = 15;
	return rc;
}

static void test_unprivileged(void **state)
{
	struct fx *f = *state;
	struct tb *l1 = tb_new(), *l2 = tb_new();
	tb_add(l1, '5', "ro/", NULL, NULL, 0555);
	tb_add(l1, '0', "ro/f", NULL, "f", 0444);
	struct img_tar_hdr own = { .name = "owned", .typeflag = '0', .mode = 0644, .uid = 1234 };
	assert_int_equal(img_tarw_header(l1->w, &own, NULL, 0, NULL), 0);
	struct img_tar_hdr dev = { .name = "null", .typeflag = '3', .mode = 0666, .devmajor = 1,
				   .devminor = 3 };
	assert_int_equal(img_tarw_header(l1->w, &dev, NULL, 0, NULL), 0);
	tb_file(l2, "ro/g", "g");
	tb_file(l2, "ro/.wh.f", NULL);
	tb_end(l1);
	tb_end(l2);
	if (geteuid() == 0) {
		assert_int_equal(chmod(f->base, 0711), 0); /* mkdtemp made it 0700 */
		assert_int_equal(chown(f->root, 65534, 65534), 0);
	}
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0)
		_exit(unprivileged_child(f, &l1->buf, &l2->buf));
	int status;
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	tb_free(l1);
	tb_free(l2);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown_nlink)
	const struct CMUnitTest tests[] = {
		T(test_chain),
		T(test_chain_walk),
		T(test_no_chown),
		T(test_whiteout_same_layer),
		T(test_duplicates_later_wins),
		T(test_dotdot),
		T(test_absolute),
		T(test_symlink_write_through),
		T(test_symlink_write_through_walk),
		T(test_symlink_from_earlier_layer),
		T(test_hardlink_outside),
		T(test_hardlink_to_symlink_is_not_followed),
		T(test_tar_bomb),
		T(test_empty_and_broken_layers),
		T(test_bad_whiteouts),
		T(test_windows_layer_paths),
		T(test_unprivileged),
	};
	return cmocka_run_group_tests_name("apply", tests, NULL, NULL);
}
