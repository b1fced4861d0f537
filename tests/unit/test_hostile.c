/* Hostile inputs not covered by test_apply.c / test_image.c: hand-built tar
 * headers (PAX records with huge or malformed numbers, hardlinks to entries
 * not seen yet, odd file names, very deep trees) against the layer
 * applier, and hostile JSON (huge numbers, deep nesting, duplicate keys,
 * invalid UTF-8) against the model loaders. One test per trick; each checks
 * the error and that nothing appeared outside the target. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sys/wait.h>

#include "apply_testlib.h"
#include "image/img_archive.h"
#include "image/img_model.h"
#include "image/img_store.h"

/* ---- raw ustar writer: fields exactly as given, checksum computed ---- */

static void octal(char *dst, size_t w, unsigned long long v)
{
	char tmp[32];
	snprintf(tmp, sizeof(tmp), "%0*llo", (int)w - 1, v);
	memcpy(dst, tmp, w - 1);
	dst[w - 1] = '\0';
}

static void raw_hdr(struct bbuf *b, const char *name, char type, const char *size_field,
		    const char *link)
{
	char h[512];
	memset(h, 0, sizeof(h));
	memcpy(h, name, strnlen(name, 100));
	octal(h + 100, 8, 0644);
	octal(h + 108, 8, 0);
	octal(h + 116, 8, 0);
	memcpy(h + 124, size_field, strnlen(size_field, 12));
	octal(h + 136, 12, 1600000000);
	memset(h + 148, ' ', 8);
	h[156] = type;
	if (link)
		memcpy(h + 157, link, strnlen(link, 100));
	memcpy(h + 257, "ustar\0" "00", 8);
	unsigned sum = 0;
	for (size_t i = 0; i < 512; i++)
		sum += (unsigned char)h[i];
	snprintf(h + 148, 8, "%06o", sum);
	h[155] = ' ';
	assert_int_equal(bbuf_add(b, h, 512, NULL), 0);
}

static void raw_data(struct bbuf *b, const void *p, size_t n)
{
	assert_int_equal(bbuf_add(b, p, n, NULL), 0);
	static const char zero[512];
	if (n % 512)
		assert_int_equal(bbuf_add(b, zero, 512 - n % 512, NULL), 0);
}

static void raw_file(struct bbuf *b, const char *name, const char *content)
{
	char sz[12];
	octal(sz, 12, strlen(content));
	raw_hdr(b, name, '0', sz, NULL);
	raw_data(b, content, strlen(content));
}

/* A PAX extended header whose body is `records` verbatim (lengths and all). */
static void raw_pax(struct bbuf *b, const char *records, size_t n)
{
	char sz[12];
	octal(sz, 12, n);
	raw_hdr(b, "PaxHeaders/x", 'x', sz, NULL);
	raw_data(b, records, n);
}

/* One well-formed PAX record "LEN key=value\n". */
static char *pax_rec(const char *kv)
{
	size_t n = strlen(kv) + 2; /* ' ' and '\n' */
	size_t digits = 1;
	for (size_t t = n + 1; t >= 10; t /= 10)
		digits++;
	size_t total = n + digits;
	if (snprintf(NULL, 0, "%zu", total) != (int)digits)
		total++;
	return xasprintf("%zu %s\n", total, kv);
}

static void raw_end(struct bbuf *b)
{
	static const char zero[1024];
	assert_int_equal(bbuf_add(b, zero, sizeof(zero), NULL), 0);
}

static int apply(struct fx *f, const struct bbuf *b, struct berr **err)
{
	return fx_apply(f, IMG_APPLY_NO_CHOWN, &b, 1, "hostile", err);
}

static void expect_error(struct fx *f, struct bbuf *b, const char *needle)
{
	struct berr *err = NULL;
	int rc = apply(f, b, &err);
	if (rc == 0)
		fail_msg("applied, want an error containing '%s'", needle);
	assert_non_null(err);
	if (!strstr(err->msg, needle))
		fail_msg("error '%s' does not contain '%s'", err->msg, needle);
	assert_non_null(strstr(err->msg, "hostile")); /* names the layer */
	berr_free(err);
	bbuf_release(b);
}

/* ---- PAX ---- */

static void test_pax_huge_size(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	_cleanup_free_ char *r = pax_rec("size=99999999999999999999999");
	raw_pax(&b, r, strlen(r));
	raw_file(&b, "big", "x");
	raw_end(&b);
	expect_error(f, &b, "hostile");
	assert_false(path_exists(f->root, "big"));
}

static void test_pax_size_beyond_data(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	/* claims 1 TiB of content: the data runs out, it must not be trusted */
	_cleanup_free_ char *r = pax_rec("size=1099511627776");
	raw_pax(&b, r, strlen(r));
	raw_file(&b, "big", "x");
	raw_end(&b);
	expect_error(f, &b, "hostile");
}

static void test_pax_negative_size(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	_cleanup_free_ char *r = pax_rec("size=-512");
	raw_pax(&b, r, strlen(r));
	raw_file(&b, "neg", "x");
	raw_end(&b);
	expect_error(f, &b, "hostile");
}

static void test_pax_bad_record_length(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	static const char r[] = "999 path=evil\n";
	raw_pax(&b, r, sizeof(r) - 1);
	raw_file(&b, "f", "x");
	raw_end(&b);
	/* libarchive ignores a malformed extended header (a warning): the
	 * entry keeps its ustar name, the bogus record is never used */
	struct berr *err = NULL;
	if (apply(f, &b, &err) < 0)
		assert_non_null(strstr(err->msg, "hostile"));
	else
		assert_true(path_exists(f->root, "f"));
	berr_free(err);
	bbuf_release(&b);
	assert_false(path_exists(f->root, "evil"));
}

static void test_pax_garbage_numbers(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	_cleanup_free_ char *r1 = pax_rec("uid=12abc");
	_cleanup_free_ char *r2 = pax_rec("mtime=-99999999999999999999.5e");
	_cleanup_free_ char *r3 = pax_rec("gid=18446744073709551617");
	_cleanup_free_ char *all = xasprintf("%s%s%s", r1, r2, r3);
	raw_pax(&b, all, strlen(all));
	raw_file(&b, "n", "x");
	raw_end(&b);
	/* libarchive reads malformed numbers leniently; whatever happens, the
	 * entry stays inside the root and belongs to the current user */
	struct berr *err = NULL;
	int rc = apply(f, &b, &err);
	if (rc == 0) {
		_cleanup_free_ char *p = xasprintf("%s/n", f->root);
		struct stat st;
		assert_int_equal(lstat(p, &st), 0);
		assert_int_equal(st.st_uid, geteuid());
	}
	berr_free(err);
	bbuf_release(&b);
}

static void test_pax_path_escape(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	_cleanup_free_ char *r = pax_rec("path=../sentinel/pwned");
	raw_pax(&b, r, strlen(r));
	raw_file(&b, "innocent", "x");
	raw_end(&b);
	expect_error(f, &b, "..");
}

static void test_pax_linkpath_escape(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_file(&b, "a", "a");
	_cleanup_free_ char *r = pax_rec("linkpath=../sentinel/keep");
	raw_pax(&b, r, strlen(r));
	raw_hdr(&b, "h", '1', "00000000000", "a");
	raw_end(&b);
	expect_error(f, &b, "..");
}

/* ---- links ---- */

static void test_hardlink_to_unseen(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_hdr(&b, "early", '1', "00000000000", "later");
	raw_file(&b, "later", "content");
	raw_end(&b);
	expect_error(f, &b, "later");
	assert_false(path_exists(f->root, "early"));
}

static void test_hardlink_to_itself(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_hdr(&b, "self", '1', "00000000000", "self");
	raw_end(&b);
	expect_error(f, &b, "self");
}

/* ---- names ---- */

static void test_name_with_newline(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_file(&b, "a\nb", "x");
	raw_file(&b, "dir\n/../x", "y"); /* ".." as a component after a newline name */
	raw_end(&b);
	expect_error(f, &b, "..");
	assert_false(path_exists(f->base, "x"));
}

static void test_name_newline_kept_inside(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_file(&b, "a\nb", "x");
	raw_end(&b);
	struct berr *err = NULL;
	/* a legal Linux name: applied verbatim, inside the root */
	assert_int_equal(apply(f, &b, &err), 0);
	assert_true(path_exists(f->root, "a\nb"));
	bbuf_release(&b);
}

static void test_name_invalid_utf8(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	raw_file(&b, "\xff\xfe\xc0\xaf", "x"); /* overlong '/' encoding must not act as '/' */
	raw_end(&b);
	struct berr *err = NULL;
	assert_int_equal(apply(f, &b, &err), 0);
	assert_true(path_exists(f->root, "\xff\xfe\xc0\xaf"));
	assert_int_equal(dir_count(f->root), 1);
	bbuf_release(&b);
}

static void test_pax_path_with_nul(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	/* "path=ok\0/../../x": a NUL must not hide a traversal */
	static const char kv[] = "path=ok\0/../../sentinel/x";
	char rec[64];
	size_t n = sizeof(kv) - 1 + 2;
	size_t total = n + 2;
	int k = snprintf(rec, sizeof(rec), "%zu ", total);
	memcpy(rec + k, kv, sizeof(kv) - 1);
	rec[k + sizeof(kv) - 1] = '\n';
	raw_pax(&b, rec, total);
	raw_file(&b, "plain", "x");
	raw_end(&b);
	struct berr *err = NULL;
	int rc = apply(f, &b, &err);
	if (rc < 0)
		assert_non_null(strstr(err->msg, "hostile"));
	berr_free(err);
	bbuf_release(&b);
	/* either refused or truncated at the NUL: nothing outside (teardown) */
	assert_false(path_exists(f->base, "sentinel/x"));
}

/* ---- deep trees ---- */

#define DEEP_LEVELS 2100 /* "d/" x 2100 = 4200 bytes: beyond PATH_MAX */

static void test_very_deep_tree(void **state)
{
	struct fx *f = *state;
	struct bbuf b = BBUF_INIT;
	struct bbuf name = BBUF_INIT;
	for (int i = 0; i < DEEP_LEVELS; i++) {
		assert_int_equal(bbuf_add(&name, "d/", 2, NULL), 0);
		if (i % 100 == 99) {
			assert_int_equal(bbuf_add(&name, "", 1, NULL), 0);
			_cleanup_free_ char *r = xasprintf("path=%s", name.data);
			_cleanup_free_ char *rec = pax_rec(r);
			raw_pax(&b, rec, strlen(rec));
			raw_hdr(&b, "placeholder", '5', "00000000000", NULL);
			name.len--;
		}
	}
	bbuf_release(&name);
	raw_end(&b);
	struct berr *err = NULL;
	int rc = apply(f, &b, &err);
	/* either built below the root or refused with a clear error; no crash,
	 * and nothing elsewhere (teardown) */
	if (rc < 0) {
		assert_non_null(err);
		assert_non_null(strstr(err->msg, "hostile"));
	} else {
		assert_true(path_exists(f->root, "d/d/d/d"));
	}
	berr_free(err);
	bbuf_release(&b);
}

/* ---- JSON ---- */

static void json_refused(const char *json, const char *needle)
{
	struct berr *err = NULL;
	struct img_manifest *m = NULL;
	int rc = img_manifest_parse(json, strlen(json), "manifest 'x'", &m, &err);
	img_manifest_free(m);
	if (rc == 0)
		fail_msg("accepted %.80s, want an error containing '%s'", json, needle);
	if (!strstr(err->msg, needle))
		fail_msg("error '%s' does not contain '%s'", err->msg, needle);
	assert_non_null(strstr(err->msg, "manifest 'x'"));
	berr_free(err);
}

#define MAN_HEAD "{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG \
	"\",\"digest\":\"sha256:" \
	"0000000000000000000000000000000000000000000000000000000000000000\",\"size\":"

static void test_json_huge_number(void **state)
{
	(void)state;
	json_refused(MAN_HEAD "1e400},\"layers\":[]}", "size");
	json_refused(MAN_HEAD "9007199254740993},\"layers\":[]}", "size");
	json_refused(MAN_HEAD "-1},\"layers\":[]}", "size");
	json_refused(MAN_HEAD "1.5},\"layers\":[]}", "size");
}

static void test_json_deep_nesting(void **state)
{
	(void)state;
	size_t depth = 100000;
	struct bbuf b = BBUF_INIT;
	assert_int_equal(bbuf_add(&b, "{\"annotations\":", 15, NULL), 0);
	for (size_t i = 0; i < depth; i++)
		assert_int_equal(bbuf_add(&b, "[", 1, NULL), 0);
	for (size_t i = 0; i < depth; i++)
		assert_int_equal(bbuf_add(&b, "]", 1, NULL), 0);
	assert_int_equal(bbuf_add(&b, "}", 2, NULL), 0);
	json_refused(b.data, "invalid JSON");
	bbuf_release(&b);
}

static void test_json_duplicate_keys(void **state)
{
	(void)state;
	/* two digests: parsers that keep the first and the last disagree */
	json_refused("{\"schemaVersion\":2,\"config\":{\"mediaType\":\"" IMG_MT_OCI_CONFIG
		     "\",\"digest\":\"sha256:" "0000000000000000000000000000000000000000000000000000000000000000"
		     "\",\"digest\":\"sha256:" "1111111111111111111111111111111111111111111111111111111111111111"
		     "\",\"size\":2},\"layers\":[]}", "duplicate key 'digest'");
}

static void test_json_invalid_utf8(void **state)
{
	(void)state;
	json_refused(MAN_HEAD "2},\"layers\":[],\"annotations\":{\"a\":\"\xff\xfe\"}}", "UTF-8");
	json_refused(MAN_HEAD "2},\"layers\":[],\"annotations\":{\"\xc0\xaf\":\"x\"}}", "UTF-8");
	/* an escaped lone surrogate cannot be encoded as UTF-8 either */
	json_refused(MAN_HEAD "2},\"layers\":[],\"annotations\":{\"a\":\"\\ud800\"}}", "");
}

/* ---- docker-archive manifest.json (read with cJSON directly) ---- */

/* A docker-archive whose manifest.json is `mj`, loaded into BASE/root as a
 * store: must fail naming manifest.json, and leave no blob behind that a
 * tag references (the store stays loadable). */
static void archive_refused(struct fx *f, const char *mj, size_t mjlen, const char *needle)
{
	struct bbuf b = BBUF_INIT;
	char sz[12];
	octal(sz, 12, mjlen);
	raw_hdr(&b, "manifest.json", '0', sz, NULL);
	raw_data(&b, mj, mjlen);
	raw_end(&b);
	_cleanup_free_ char *path = xasprintf("%s/root/a.tar", f->base);
	struct berr *err = NULL;
	assert_int_equal(bfile_write_atomic(path, b.data, b.len, 0644, &err), 0);
	bbuf_release(&b);
	_cleanup_free_ char *sdir = xasprintf("%s/root/store", f->base);
	struct img_store *s = NULL;
	assert_int_equal(img_store_open(sdir, IMG_STORE_CREATE, &s, &err), 0);
	char **names = NULL;
	size_t n = 0;
	int rc = img_archive_load(path, s, &names, &n, &err);
	img_store_free(s);
	if (rc == 0)
		fail_msg("loaded, want an error containing '%s'", needle);
	if (!strstr(err->msg, needle) || !strstr(err->msg, "manifest.json"))
		fail_msg("error '%s' does not name manifest.json / contain '%s'", err->msg, needle);
	berr_free(err);
}

static void test_archive_manifest_duplicate_key(void **state)
{
	static const char mj[] = "[{\"Config\":\"a.json\",\"Config\":\"b.json\",\"Layers\":[]}]";
	archive_refused(*state, mj, sizeof(mj) - 1, "duplicate key 'Config'");
}

static void test_archive_manifest_invalid_utf8(void **state)
{
	static const char mj[] = "[{\"Config\":\"a.json\",\"RepoTags\":[\"x:\xff\"],\"Layers\":[]}]";
	archive_refused(*state, mj, sizeof(mj) - 1, "invalid UTF-8");
}

static void test_archive_manifest_deep_nesting(void **state)
{
	struct bbuf b = BBUF_INIT;
	for (int i = 0; i < 50000; i++)
		assert_int_equal(bbuf_add(&b, "[", 1, NULL), 0);
	for (int i = 0; i < 50000; i++)
		assert_int_equal(bbuf_add(&b, "]", 1, NULL), 0);
	archive_refused(*state, b.data, b.len, "invalid JSON");
	bbuf_release(&b);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)
	const struct CMUnitTest tests[] = {
		T(test_pax_huge_size),
		T(test_pax_size_beyond_data),
		T(test_pax_negative_size),
		T(test_pax_bad_record_length),
		T(test_pax_garbage_numbers),
		T(test_pax_path_escape),
		T(test_pax_linkpath_escape),
		T(test_hardlink_to_unseen),
		T(test_hardlink_to_itself),
		T(test_name_with_newline),
		T(test_name_newline_kept_inside),
		T(test_name_invalid_utf8),
		T(test_pax_path_with_nul),
		T(test_very_deep_tree),
		cmocka_unit_test(test_json_huge_number),
		cmocka_unit_test(test_json_deep_nesting),
		cmocka_unit_test(test_json_duplicate_keys),
		cmocka_unit_test(test_json_invalid_utf8),
		T(test_archive_manifest_duplicate_key),
		T(test_archive_manifest_invalid_utf8),
		T(test_archive_manifest_deep_nesting),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
