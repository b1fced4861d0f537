#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include "common/barchive.h"
#include "layer_testlib.h"
#include "image/img_layer.h"

/* Golden: sha256 of the uncompressed tar of the fixed tree below. It only
 * changes when the layer format changes on purpose. */
#define GOLDEN_TREE_DIGEST "ce2cd9be40331a11c6ae4e178c6964fa108728c498f3aa5985796e8480a2ea99"

#define T_OLD 1500000000
#define T_EPOCH 1700000000
#define T_NEW 1800000000

static char *make_tree(void)
{
	char *t = tmpdir_new();
	put_dir(t, "bin", 0755);
	put_file(t, "bin/tool", "#!/bin/sh\necho hi\n", 0755, T_OLD);
	char *a = xasprintf("%s/bin/tool", t), *b = xasprintf("%s/bin/tool-link", t);
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	put_dir(t, "etc", 0750);
	put_file(t, "etc/conf", "key=value\n", 0644, T_OLD);
	put_file(t, "etc/empty", "", 0600, T_OLD);
	put_file(t, "etc/-first", "dash\n", 0640, T_OLD);
	put_dir(t, "long", 0755);
	char name[200];
	memset(name, 'a', 150);
	snprintf(name + 150, 20, ".txt");
	char *lp = xasprintf("long/%s", name);
	put_file(t, lp, "long name\n", 0644, T_OLD);
	free(lp);
	char *l = xasprintf("%s/lnk", t);
	assert_int_equal(symlink("etc/conf", l), 0);
	free(l);
	set_mtime(t, "lnk", T_OLD);
	put_file(t, "z-after", "newer than the epoch\n", 0644, T_NEW);
	set_mtime(t, "bin", T_OLD);
	set_mtime(t, "etc", T_OLD);
	set_mtime(t, "long", T_OLD);
	return t;
}

static int write_tree(const char *t, struct bbuf *out, struct img_layer_stats *st,
		      struct berr **err)
{
	struct img_layer_opts o = {
		.flags = IMG_LAYER_NORMALIZE_OWNER, .clamp_mtime = true, .epoch = T_EPOCH,
	};
	struct bsink s = mem_sink(out);
	_cleanup_img_layer_ struct img_layer *l = img_layer_new(&o, &s);
	if (img_layer_add_tree(l, t, "/", err) < 0 || img_layer_add_whiteout(l, "/bin/gone", err) < 0 ||
	    img_layer_add_opaque(l, "etc", err) < 0 || img_layer_add_whiteout(l, "etc/old", err) < 0)
		return -1;
	return img_layer_finish(l, st, err);
}

static void test_golden_digest(void **state)
{
	(void)state;
	char *t = make_tree();
	struct bbuf a = BBUF_INIT, b = BBUF_INIT;
	struct berr *err = NULL;
	struct img_layer_stats st;
	assert_int_equal(write_tree(t, &a, &st, &err), 0);
	assert_int_equal(write_tree(t, &b, NULL, &err), 0);
	assert_null(err);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.data, b.data, a.len);
	assert_int_equal(st.tar_bytes, a.len);
	assert_int_equal(a.len % 512, 0);
	char hex[65];
	sha256_hex(a.data, a.len, hex);
	print_message("layer digest sha256:%s (%zu bytes)\n", hex, a.len);
	assert_string_equal(hex, GOLDEN_TREE_DIGEST);
	bbuf_release(&a);
	bbuf_release(&b);
	rm_rf(t);
	free(t);
}

struct seen {
	char *name;
	int type;
	unsigned perm;
	long long uid, gid, mtime, size;
	char *link, *hardlink;
	bool atime, ctime;
};

static struct seen *read_back(const struct bbuf *tar, size_t *n)
{
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, tar->data, tar->len), ARCHIVE_OK);
	struct seen *v = NULL;
	size_t cnt = 0, cap = 0;
	struct archive_entry *e;
	int r;
	while ((r = archive_read_next_header(a, &e)) == ARCHIVE_OK || r == ARCHIVE_WARN) {
		XGROW(v, cnt + 1, cap);
		v[cnt++] = (struct seen){
			xstrdup(archive_entry_pathname(e)), (int)archive_entry_filetype(e),
			archive_entry_perm(e), archive_entry_uid(e), archive_entry_gid(e),
			archive_entry_mtime(e), archive_entry_size(e),
			archive_entry_symlink(e) ? xstrdup(archive_entry_symlink(e)) : NULL,
			archive_entry_hardlink(e) ? xstrdup(archive_entry_hardlink(e)) : NULL,
			archive_entry_atime_is_set(e), archive_entry_ctime_is_set(e),
		};
	}
	assert_int_equal(r, ARCHIVE_EOF);
	archive_read_free(a);
	*n = cnt;
	return v;
}

static void free_seen(struct seen *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		free(v[i].link);
		free(v[i].hardlink);
	}
	free(v);
}

static void test_structure(void **state)
{
	(void)state;
	char *t = make_tree();
	struct bbuf a = BBUF_INIT;
	struct berr *err = NULL;
	assert_int_equal(write_tree(t, &a, NULL, &err), 0);
	size_t n;
	struct seen *v = read_back(&a, &n);
	char longname[200];
	memset(longname, 'a', 150);
	snprintf(longname + 150, 20, ".txt");
	char *lp = xasprintf("long/%s", longname);
	const char *want[] = {
		"bin/", "bin/.wh.gone", "bin/tool", "bin/tool-link", "etc/", "etc/.wh..wh..opq",
		"etc/.wh.old", "etc/-first", "etc/conf", "etc/empty", "lnk", "long/", lp, "z-after",
	};
	assert_int_equal(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < n; i++) {
		assert_string_equal(v[i].name, want[i]);
		assert_int_equal(v[i].uid, 0);
		assert_int_equal(v[i].gid, 0);
		assert_false(v[i].atime);
		assert_false(v[i].ctime);
		assert_true(v[i].mtime <= T_EPOCH);
	}
	/* hardlink: first name in order carries the data */
	assert_int_equal(v[2].size, 18);
	assert_int_equal(v[2].perm, 0755);
	assert_string_equal(v[3].hardlink, "bin/tool");
	assert_int_equal(v[4].perm, 0750);
	assert_int_equal(v[4].type, AE_IFDIR);
	assert_int_equal(v[5].size, 0);
	assert_int_equal(v[5].type, AE_IFREG);
	assert_int_equal(v[5].mtime, 0);
	assert_int_equal(v[9].perm, 0600);
	assert_int_equal(v[10].type, AE_IFLNK);
	assert_string_equal(v[10].link, "etc/conf");
	assert_int_equal(v[10].mtime, T_OLD);
	assert_int_equal(v[13].mtime, T_EPOCH); /* clamped */
	free_seen(v, n);
	/* raw form: ends with exactly two zero blocks, no atime/ctime records */
	size_t cnt;
	const char *why;
	struct tt_entry *e = tt_parse((const unsigned char *)a.data, a.len, &cnt, &why);
	assert_null(why);
	assert_int_equal(cnt, ARRAY_SIZE(want));
	for (size_t i = 0; i < cnt; i++) {
		assert_null(tt_rec(&e[i], "atime"));
		assert_null(tt_rec(&e[i], "ctime"));
		assert_true(e[i].xheaders <= 1);
	}
	assert_non_null(tt_rec(&e[12], "path")); /* the >100-byte name */
	tt_free(e, cnt);
	free(lp);
	bbuf_release(&a);
	rm_rf(t);
	free(t);
}

static void test_refuses_after_finish(void **state)
{
	(void)state;
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	struct img_layer_entry d = { .dst = "/d", .type = IMG_ENTRY_DIR };
	assert_int_equal(img_layer_add(l, &d, &err), 0);
	assert_int_equal(img_layer_finish(l, NULL, &err), 0);
	assert_int_equal(img_layer_add(l, &d, &err), -1);
	assert_string_equal(err->msg, "layer writer is already finished");
	berr_clear(&err);
	assert_int_equal(img_layer_add_whiteout(l, "/x", &err), -1);
	berr_clear(&err);
	assert_int_equal(img_layer_finish(l, NULL, &err), -1);
	berr_clear(&err);
	img_layer_free(l);
	img_layer_free(NULL);
	bbuf_release(&out);
}

static int failing_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	(void)ctx;
	(void)p;
	(void)n;
	return berr_set(err, BERR_IO, "disk full");
}

static void test_sink_error_propagates(void **state)
{
	(void)state;
	struct bsink s = { failing_write, NULL };
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	struct img_layer_entry d = { .dst = "/d", .type = IMG_ENTRY_DIR };
	assert_int_equal(img_layer_add(l, &d, &err), 0);
	assert_int_equal(img_layer_finish(l, NULL, &err), -1);
	assert_non_null(strstr(err->msg, "disk full"));
	assert_int_equal(err->code, BERR_IO);
	berr_clear(&err);
	/* a failed writer stays failed */
	assert_int_equal(img_layer_add(l, &d, &err), -1);
	assert_string_equal(err->msg, "layer writer is already failed");
	berr_free(err);
	img_layer_free(l);
}

static void test_explicit_list(void **state)
{
	(void)state;
	char *t = tmpdir_new();
	put_file(t, "a.txt", "first\n", 0600, T_OLD);
	put_file(t, "b.txt", "second\n", 0644, T_OLD);
	char *a = xasprintf("%s/a.txt", t), *b = xasprintf("%s/b.txt", t);
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer_opts o = { .flags = IMG_LAYER_PARENTS, .parent_mtime = 42 };
	struct img_layer *l = img_layer_new(&o, &s);
	struct img_layer_entry e1 = { .src = a, .dst = "/app/conf/x.txt", .set = IMG_SET_MODE |
				      IMG_SET_OWNER | IMG_SET_MTIME, .mode = 0444, .uid = 1000,
				      .gid = 1001, .mtime = 7 };
	struct img_layer_entry e2 = { .src = b, .dst = "app/conf/x.txt" }; /* later wins */
	struct img_layer_entry e3 = { .dst = "/app/current", .type = IMG_ENTRY_SYMLINK,
				      .linkname = "conf/x.txt" };
	struct img_layer_entry e4 = { .src = a, .dst = "/srv/a", .set = IMG_SET_MODE |
				      IMG_SET_OWNER, .mode = 0640, .uid = 5, .gid = 6 };
	assert_int_equal(img_layer_add(l, &e1, &err), 0);
	assert_int_equal(img_layer_add(l, &e2, &err), 0);
	assert_int_equal(img_layer_add(l, &e3, &err), 0);
	assert_int_equal(img_layer_add(l, &e4, &err), 0);
	assert_int_equal(img_layer_finish(l, NULL, &err), 0);
	img_layer_free(l);
	size_t n;
	struct seen *v = read_back(&out, &n);
	const char *want[] = { "app/", "app/conf/", "app/conf/x.txt", "app/current", "srv/", "srv/a" };
	assert_int_equal(n, ARRAY_SIZE(want));
	for (size_t i = 0; i < n; i++)
		assert_string_equal(v[i].name, want[i]);
	assert_int_equal(v[0].mtime, 42); /* synthesized parent */
	assert_int_equal(v[0].perm, 0755);
	assert_int_equal(v[2].size, 7);   /* b.txt: the later add */
	assert_int_equal(v[2].perm, 0644);
	assert_string_equal(v[3].link, "conf/x.txt");
	assert_int_equal(v[5].perm, 0640);
	assert_int_equal(v[5].uid, 5);
	assert_int_equal(v[5].gid, 6);
	assert_int_equal(v[5].size, 6);
	free_seen(v, n);
	bbuf_release(&out);
	free(a);
	free(b);
	rm_rf(t);
	free(t);
}

static void expect_add_error(const struct img_layer_opts *o, const struct img_layer_entry *e,
			     int code, const char *needle)
{
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(o, &s);
	assert_int_equal(img_layer_add(l, e, &err), -1);
	assert_non_null(err);
	assert_int_equal(err->code, code);
	if (!strstr(err->msg, needle))
		fail_msg("'%s' does not contain '%s'", err->msg, needle);
	berr_free(err);
	img_layer_free(l);
	bbuf_release(&out);
}

static void test_bad_entries(void **state)
{
	(void)state;
	struct img_layer_entry esc = { .dst = "/a/../../x", .type = IMG_ENTRY_DIR };
	expect_add_error(NULL, &esc, BERR_SECURITY, "escapes");
	struct img_layer_entry wh = { .dst = "/a/.wh.b", .type = IMG_ENTRY_FILE };
	expect_add_error(NULL, &wh, BERR_INPUT, "reserved");
	struct img_layer_entry dev = { .dst = "/dev/null", .type = IMG_ENTRY_CHAR,
				       .rdev = makedev(1, 3) };
	expect_add_error(NULL, &dev, BERR_UNSUPPORTED, "device node");
	struct img_layer_entry nosrc = { .dst = "/x" };
	expect_add_error(NULL, &nosrc, BERR_INPUT, "neither a source nor a type");
	struct img_layer_entry missing = { .src = "/nonexistent/berth", .dst = "/x" };
	expect_add_error(NULL, &missing, BERR_IO, "/nonexistent/berth");
	struct img_layer_entry sl = { .dst = "/l", .type = IMG_ENTRY_SYMLINK };
	expect_add_error(NULL, &sl, BERR_INPUT, "no target");
}

static void test_devices_when_allowed(void **state)
{
	(void)state;
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer_opts o = { .flags = IMG_LAYER_DEVICES };
	struct img_layer *l = img_layer_new(&o, &s);
	struct img_layer_entry dev = { .dst = "/dev/null", .type = IMG_ENTRY_CHAR,
				       .rdev = makedev(1, 3), .set = IMG_SET_MODE, .mode = 0666 };
	struct img_layer_entry fifo = { .dst = "/run/fifo", .type = IMG_ENTRY_FIFO };
	assert_int_equal(img_layer_add(l, &dev, &err), 0);
	assert_int_equal(img_layer_add(l, &fifo, &err), 0);
	assert_int_equal(img_layer_finish(l, NULL, &err), 0);
	img_layer_free(l);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, out.data, out.len), ARCHIVE_OK);
	struct archive_entry *e;
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_string_equal(archive_entry_pathname(e), "dev/null");
	assert_int_equal(archive_entry_filetype(e), AE_IFCHR);
	assert_int_equal(archive_entry_rdevmajor(e), 1);
	assert_int_equal(archive_entry_rdevminor(e), 3);
	assert_int_equal(archive_entry_perm(e), 0666);
	assert_int_equal(archive_read_next_header(a, &e), ARCHIVE_OK);
	assert_int_equal(archive_entry_filetype(e), AE_IFIFO);
	archive_read_free(a);
	bbuf_release(&out);
}

static void test_file_under_non_directory(void **state)
{
	(void)state;
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	struct img_layer_entry f = { .dst = "/x", .type = IMG_ENTRY_FILE };
	struct img_layer_entry g = { .dst = "/x/y", .type = IMG_ENTRY_FILE };
	assert_int_equal(img_layer_add(l, &f, &err), 0);
	assert_int_equal(img_layer_add(l, &g, &err), 0);
	assert_int_equal(img_layer_finish(l, NULL, &err), -1);
	assert_string_equal(err->msg, "'x/y' is inside 'x', which is not a directory in this layer");
	berr_free(err);
	img_layer_free(l);
	bbuf_release(&out);
}

static void test_file_changed_during_write(void **state)
{
	(void)state;
	char *t = tmpdir_new();
	put_file(t, "f", "short", 0644, T_OLD);
	char *f = xasprintf("%s/f", t);
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	struct img_layer_entry e = { .src = f, .dst = "/f" };
	assert_int_equal(img_layer_add(l, &e, &err), 0);
	put_file(t, "f", "much longer now", 0644, T_OLD);
	assert_int_equal(img_layer_finish(l, NULL, &err), -1);
	assert_non_null(strstr(err->msg, "changed while the layer was written"));
	berr_free(err);
	img_layer_free(l);
	bbuf_release(&out);
	free(f);
	rm_rf(t);
	free(t);
}

static void test_big_file_streams(void **state)
{
	(void)state;
	/* several chunks; content is checked byte for byte after reading back */
	char *t = tmpdir_new();
	char *f = xasprintf("%s/big", t);
	size_t size = 3 * IMG_LAYER_CHUNK + 123;
	unsigned char *data = xmalloc(size);
	for (size_t i = 0; i < size; i++)
		data[i] = (unsigned char)(i * 7 + i / 1000);
	assert_int_equal(bfile_write_atomic(f, data, size, 0644, NULL), 0);
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_layer_new(NULL, &s);
	struct img_layer_entry e = { .src = f, .dst = "/big" };
	struct img_layer_stats st;
	assert_int_equal(img_layer_add(l, &e, &err), 0);
	assert_int_equal(img_layer_finish(l, &st, &err), 0);
	assert_int_equal(st.content_bytes, size);
	assert_int_equal(st.entries, 1);
	img_layer_free(l);
	struct archive *a = archive_read_new();
	archive_read_support_format_tar(a);
	assert_int_equal(archive_read_open_memory(a, out.data, out.len), ARCHIVE_OK);
	struct archive_entry *ae;
	assert_int_equal(archive_read_next_header(a, &ae), ARCHIVE_OK);
	unsigned char *back = xmalloc(size + 1);
	assert_int_equal(archive_read_data(a, back, size + 1), (la_ssize_t)size);
	assert_memory_equal(back, data, size);
	archive_read_free(a);
	free(back);
	free(data);
	bbuf_release(&out);
	free(f);
	rm_rf(t);
	free(t);
}

static void test_xattrs(void **state)
{
	(void)state;
	char *t = tmpdir_new();
	put_file(t, "f", "x", 0644, T_OLD);
	char *f = xasprintf("%s/f", t);
	if (setxattr(f, "user.berth", "v1", 2, 0) < 0) {
		free(f);
		rm_rf(t);
		free(t);
		skip();
	}
	for (int pass = 0; pass < 2; pass++) {
		struct bbuf out = BBUF_INIT;
		struct bsink s = mem_sink(&out);
		struct berr *err = NULL;
		struct img_layer_opts o = { .flags = pass ? IMG_LAYER_XATTRS : IMG_LAYER_XATTR_CAPS };
		struct img_layer *l = img_layer_new(&o, &s);
		struct img_layer_entry e = { .src = f, .dst = "/f" };
		assert_int_equal(img_layer_add(l, &e, &err), 0);
		assert_int_equal(img_layer_finish(l, NULL, &err), 0);
		img_layer_free(l);
		size_t cnt;
		const char *why;
		struct tt_entry *v = tt_parse((const unsigned char *)out.data, out.len, &cnt, &why);
		assert_null(why);
		assert_int_equal(cnt, 1);
		const char *x = tt_rec(&v[0], "SCHILY.xattr.user.berth");
		if (pass) {
			assert_non_null(x);
			assert_string_equal(x, "v1");
			assert_null(tt_rec(&v[0], "LIBARCHIVE.xattr.user.berth"));
		} else {
			assert_null(x); /* caps-only mode */
		}
		tt_free(v, cnt);
		bbuf_release(&out);
	}
	free(f);
	rm_rf(t);
	free(t);
}

static void test_epoch_from_env(void **state)
{
	(void)state;
	struct img_layer_opts o = { 0 };
	struct berr *err = NULL;
	unsetenv("SOURCE_DATE_EPOCH");
	assert_int_equal(img_layer_epoch_from_env(&o, &err), 0);
	assert_false(o.clamp_mtime);
	setenv("SOURCE_DATE_EPOCH", "1234", 1);
	assert_int_equal(img_layer_epoch_from_env(&o, &err), 0);
	assert_true(o.clamp_mtime);
	assert_int_equal(o.epoch, 1234);
	setenv("SOURCE_DATE_EPOCH", "12x", 1);
	assert_int_equal(img_layer_epoch_from_env(&o, &err), -1);
	assert_string_equal(err->msg, "SOURCE_DATE_EPOCH '12x' is not a non-negative integer");
	berr_clear(&err);
	setenv("SOURCE_DATE_EPOCH", "-5", 1);
	assert_int_equal(img_layer_epoch_from_env(&o, &err), -1);
	berr_free(err);
	unsetenv("SOURCE_DATE_EPOCH");
}

/* Many paths, some parents explicit, most synthesized: every name once and
 * every parent before its children, in both formats. */
static void test_parents_many(void **state)
{
	(void)state;
	for (int win = 0; win < 2; win++) {
		struct bbuf out = BBUF_INIT;
		struct bsink s = mem_sink(&out);
		struct berr *err = NULL;
		struct img_layer_opts o = { .flags = IMG_LAYER_PARENTS |
						     (win ? IMG_LAYER_WINDOWS : 0) };
		struct img_layer *l = img_layer_new(&o, &s);
		uint32_t x = 12345;
		for (int i = 0; i < 300; i++) {
			char path[64];
			int w = 0;
			int depth = 1 + (int)((x >> 8) % 4);
			for (int d = 0; d < depth; d++) {
				x = x * 1103515245u + 12345u;
				w += snprintf(path + w, sizeof(path) - (size_t)w, "/%c%c",
					      'a' + (int)((x >> 16) % 3), '0' + (int)((x >> 20) % 3));
			}
			/* leaves are files under a "f" prefix so they never collide
			 * with directory names */
			snprintf(path + w, sizeof(path) - (size_t)w, "%s", i % 5 ? "/f" : "");
			struct img_layer_entry e = { .dst = path,
						     .type = i % 5 ? IMG_ENTRY_FILE : IMG_ENTRY_DIR };
			assert_int_equal(img_layer_add(l, &e, &err), 0);
		}
		if (img_layer_finish(l, NULL, &err) < 0)
			fail_msg("%s", err->msg);
		img_layer_free(l);
		size_t n;
		const char *why;
		struct tt_entry *v = tt_parse((const unsigned char *)out.data, out.len, &n, &why);
		assert_null(why);
		assert_true(n > 50);
		for (size_t i = 0; i < n; i++) {
			for (size_t j = 0; j < i; j++)
				if (strcmp(v[i].name, v[j].name) == 0)
					fail_msg("duplicate '%s'", v[i].name);
			char *p = xstrdup(v[i].name);
			size_t pl = strlen(p);
			if (p[pl - 1] == '/')
				p[pl - 1] = '\0';
			char *sl = strrchr(p, '/');
			if (sl) {
				sl[1] = '\0';
				bool found = false;
				for (size_t j = 0; j < i && !found; j++)
					found = strcmp(v[j].name, p) == 0 && v[j].type == '5';
				if (!found)
					fail_msg("'%s' before its parent '%s'", v[i].name, p);
			}
			free(p);
		}
		tt_free(v, n);
		bbuf_release(&out);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden_digest),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_refuses_after_finish),
		cmocka_unit_test(test_sink_error_propagates),
		cmocka_unit_test(test_explicit_list),
		cmocka_unit_test(test_bad_entries),
		cmocka_unit_test(test_devices_when_allowed),
		cmocka_unit_test(test_file_under_non_directory),
		cmocka_unit_test(test_file_changed_during_write),
		cmocka_unit_test(test_big_file_streams),
		cmocka_unit_test(test_xattrs),
		cmocka_unit_test(test_epoch_from_env),
		cmocka_unit_test(test_parents_many),
	};
	return cmocka_run_group_tests_name("layer", tests, NULL, NULL);
}
