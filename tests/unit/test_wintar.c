#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "layer_testlib.h"
#include "image/img_apply.h"
#include "image/img_layer.h"
#include "image/img_strmap.h"
#include "image/img_wintar.h"

#define T_FILE 1600000000
/* sha256 of the Windows layer written by write_win(make_src()); changes only
 * when the Windows format changes on purpose */
#define GOLDEN_WIN_DIGEST "0ca578aeb0658103fe4830911f33b3a15f357ec618f40bc812a7acd9ccb2ed1d"

/* ---- an independent parser for self-relative security descriptors ---- */

struct sd_info {
	char owner[64], group[64];
	int naces;
	uint8_t ace_flags[16];
	uint32_t ace_mask[16];
	char ace_sid[16][64];
};

static uint32_t rd16(const uint8_t *p) { return p[0] | (uint32_t)p[1] << 8; }
static uint32_t rd32(const uint8_t *p) { return rd16(p) | rd16(p + 2) << 16; }

static const char *parse_sid(const uint8_t *p, size_t len, size_t off, char *out, size_t *used)
{
	if (off + 8 > len)
		return "sid header out of range";
	if (p[off] != 1)
		return "sid revision is not 1";
	unsigned cnt = p[off + 1];
	if (cnt > 15 || off + 8 + 4 * cnt > len)
		return "sid sub-authorities out of range";
	unsigned long long auth = 0;
	for (int i = 2; i < 8; i++)
		auth = auth << 8 | p[off + i];
	int w = snprintf(out, 64, "S-1-%llu", auth);
	for (unsigned i = 0; i < cnt; i++)
		w += snprintf(out + w, 64 - (size_t)w, "-%u", rd32(p + off + 8 + 4 * i));
	*used = 8 + 4 * cnt;
	return NULL;
}

static const char *parse_sd(const uint8_t *p, size_t len, struct sd_info *si)
{
	size_t used;
	const char *why;
	memset(si, 0, sizeof(*si));
	if (len < 20 || p[0] != 1)
		return "bad header";
	uint32_t control = rd16(p + 2);
	if (!(control & 0x8000))
		return "not self-relative";
	uint32_t owner = rd32(p + 4), group = rd32(p + 8), sacl = rd32(p + 12), dacl = rd32(p + 16);
	if (sacl)
		return "unexpected sacl";
	if (!owner || (why = parse_sid(p, len, owner, si->owner, &used)))
		return owner ? why : "no owner";
	if (!group || (why = parse_sid(p, len, group, si->group, &used)))
		return group ? why : "no group";
	if (!(control & 0x0004) || !dacl)
		return "no dacl";
	if (dacl + 8 > len || (p[dacl] != 2 && p[dacl] != 4))
		return "bad acl header";
	size_t aclsize = rd16(p + dacl + 2), count = rd16(p + dacl + 4);
	if (dacl + aclsize > len || count > 16)
		return "acl out of range";
	size_t off = dacl + 8;
	for (size_t i = 0; i < count; i++) {
		if (off + 8 > dacl + aclsize)
			return "ace out of range";
		if (p[off] != 0)
			return "not an access-allowed ace";
		size_t asz = rd16(p + off + 2);
		si->ace_flags[i] = p[off + 1];
		si->ace_mask[i] = rd32(p + off + 4);
		if ((why = parse_sid(p, off + asz, off + 8, si->ace_sid[i], &used)))
			return why;
		if (used + 8 != asz)
			return "ace size does not match its sid";
		off += asz;
	}
	if (off != dacl + aclsize)
		return "acl size does not match its aces";
	si->naces = (int)count;
	return NULL;
}

static const char *parse_sd_b64(const char *b64, struct sd_info *si)
{
	static uint8_t bin[1024];
	size_t n = strlen(b64);
	if (n % 4 || n / 4 * 3 > sizeof(bin))
		return "bad base64 length";
	int len = EVP_DecodeBlock(bin, (const unsigned char *)b64, (int)n);
	if (len < 0)
		return "bad base64";
	while (n > 0 && b64[n - 1] == '=') {
		len--;
		n--;
	}
	return parse_sd(bin, (size_t)len, si);
}

/* ---- tests ---- */

static void map_ok(const char *in, const char *want)
{
	char *out = NULL;
	struct berr *err = NULL;
	if (img_win_path_map(in, &out, &err) < 0)
		fail_msg("'%s': %s", in, err->msg);
	assert_string_equal(out, want);
	free(out);
}

static void map_bad(const char *in, int code, const char *needle)
{
	char *out = NULL;
	struct berr *err = NULL;
	assert_int_equal(img_win_path_map(in, &out, &err), -1);
	assert_null(out);
	assert_int_equal(err->code, code);
	if (!strstr(err->msg, needle))
		fail_msg("'%s' does not contain '%s'", err->msg, needle);
	berr_free(err);
}

static void test_path_map(void **state)
{
	(void)state;
	map_ok("C:\\app\\bin\\x.dll", "Files/app/bin/x.dll");
	map_ok("c:/app", "Files/app");
	map_ok("c:\\App\\", "Files/App");
	map_ok("C:\\", "Files");
	map_ok("C:", "Files");
	map_ok("\\Program Files\\x", "Files/Program Files/x");
	map_ok("/app/./bin//y", "Files/app/bin/y");
	map_ok("app\\x", "Files/app/x");
	map_ok("C:\\a\\..\\b", "Files/b");
	map_bad("D:\\x", BERR_UNSUPPORTED, "drive 'D:'");
	map_bad("\\\\server\\share\\x", BERR_UNSUPPORTED, "UNC");
	map_bad("\\\\?\\C:\\x", BERR_UNSUPPORTED, "UNC");
	map_bad("C:\\a\\..\\..\\x", BERR_SECURITY, "escapes");
	map_bad("C:\\file.txt:stream", BERR_INPUT, "character ':'");
	map_bad("C:\\what?", BERR_INPUT, "character '?'");
	map_bad("C:\\trailing.", BERR_INPUT, "end in '.'");
	map_bad("C:\\dir \\x", BERR_INPUT, "end in ' '");
}

static void test_security_descriptors(void **state)
{
	(void)state;
	struct sd_info si;
	char *f = img_win_sd_base64(false), *d = img_win_sd_base64(true);
	const char *why = parse_sd_b64(f, &si);
	assert_null(why);
	assert_string_equal(si.owner, "S-1-5-32-544");
	assert_string_equal(si.group, "S-1-5-18");
	assert_int_equal(si.naces, 3);
	assert_int_equal(si.ace_mask[0], 0x001F01FF);
	assert_string_equal(si.ace_sid[2], "S-1-5-32-545");
	assert_int_equal(si.ace_mask[2], 0x001200A9);
	why = parse_sd_b64(d, &si);
	assert_null(why);
	assert_int_equal(si.naces, 7);
	assert_int_equal(si.ace_flags[0], 0x03); /* OI|CI */
	assert_string_equal(si.ace_sid[3], "S-1-3-0");
	assert_int_equal(si.ace_flags[3], 0x0b); /* OI|CI|IO */
	assert_int_equal(si.ace_mask[3], 0x10000000);
	/* binary form and base64 agree */
	unsigned char bin[IMG_WIN_SD_MAX];
	size_t n = img_win_sd_build(false, bin);
	assert_null(parse_sd(bin, n, &si));
	free(f);
	free(d);
}

/* COPY --chown in a windows stage: another owner, same group and DACL */
static void test_sd_owner_sid(void **state)
{
	(void)state;
	struct sd_info si;
	unsigned char sid[IMG_WIN_SID_MAX];
	assert_int_equal(img_win_sid_parse("S-1-5-93-2-2", sid), 8 + 3 * 4);
	assert_int_equal(img_win_sid_parse("s-1-5-21-3623811015-3361044348-30300820-1013", sid),
			 8 + 5 * 4);
	assert_int_equal(img_win_sid_parse("S-1-5", sid), 0);
	assert_int_equal(img_win_sid_parse("S-1-5-", sid), 0);
	assert_int_equal(img_win_sid_parse("S-2-5-32", sid), 0);
	assert_int_equal(img_win_sid_parse("S-1-5-4294967296", sid), 0);
	assert_int_equal(img_win_sid_parse("S-1-5-1-2-3-4-5-6-7-8-9-10-11-12-13-14-15-16", sid), 0);
	assert_int_equal(img_win_sid_parse("ContainerUser", sid), 0);
	assert_null(img_win_sd_base64_owner(false, "nobody"));
	char *f = img_win_sd_base64_owner(false, "S-1-5-93-2-2");
	char *d = img_win_sd_base64_owner(true, "S-1-5-21-3623811015-3361044348-30300820-1013");
	assert_null(parse_sd_b64(f, &si));
	assert_string_equal(si.owner, "S-1-5-93-2-2");
	assert_string_equal(si.group, "S-1-5-18");
	assert_int_equal(si.naces, 3);
	assert_null(parse_sd_b64(d, &si));
	assert_string_equal(si.owner, "S-1-5-21-3623811015-3361044348-30300820-1013");
	assert_int_equal(si.naces, 7);
	free(f);
	free(d);
}

static char *long_name(void)
{
	char name[160];
	memset(name, 'L', 120);
	snprintf(name + 120, 20, ".dll");
	return xstrdup(name);
}

static char *make_src(void)
{
	char *t = tmpdir_new();
	put_dir(t, "app", 0755);
	put_dir(t, "app/bin", 0755);
	put_file(t, "app/bin/x.dll", "MZ fake dll\n", 0755, T_FILE);
	char *a = xasprintf("%s/app/bin/x.dll", t), *b = xasprintf("%s/app/bin/x-link.dll", t);
	assert_int_equal(link(a, b), 0);
	free(a);
	free(b);
	put_file(t, "app/readme.txt", "read me\n", 0644, T_FILE);
	char *ln = long_name();
	char *lp = xasprintf("app/%s", ln);
	put_file(t, lp, "long\n", 0644, T_FILE);
	free(lp);
	free(ln);
	put_file(t, "cfg.ini", "[x]\n", 0644, T_FILE);
	set_mtime(t, "app/bin", T_FILE);
	set_mtime(t, "app", T_FILE);
	return t;
}

static int write_win(const char *t, struct bbuf *out, struct berr **err)
{
	struct bsink s = mem_sink(out);
	struct img_layer_opts o = { .parent_mtime = 1000 };
	_cleanup_img_layer_ struct img_layer *l = img_wintar_new(&o, &s);
	char *src_app = xasprintf("%s/app", t), *cfg = xasprintf("%s/cfg.ini", t);
	char *extra = xasprintf("%s/app/readme.txt", t);
	struct img_layer_entry e1 = { .src = cfg, .dst = "c:\\Data\\cfg.ini" };
	/* different case: must land in the existing Files/app/bin */
	struct img_layer_entry e2 = { .src = extra, .dst = "C:\\APP\\Bin\\extra.txt" };
	int rc = -1;
	if (img_layer_add_tree(l, src_app, "C:\\app", err) == 0 &&
	    img_layer_add(l, &e1, err) == 0 && img_layer_add(l, &e2, err) == 0 &&
	    img_layer_add_whiteout(l, "C:\\Windows\\Temp\\old.log", err) == 0)
		rc = img_layer_finish(l, NULL, err);
	free(src_app);
	free(cfg);
	free(extra);
	return rc;
}

static void test_structure(void **state)
{
	(void)state;
	char *t = make_src();
	struct bbuf out = BBUF_INIT, again = BBUF_INIT;
	struct berr *err = NULL;
	if (write_win(t, &out, &err) < 0)
		fail_msg("%s", err->msg);
	assert_int_equal(write_win(t, &again, &err), 0);
	assert_int_equal(out.len, again.len);
	assert_memory_equal(out.data, again.data, out.len); /* deterministic */
	char hex[65];
	sha256_hex(out.data, out.len, hex);
	print_message("windows layer sha256:%s (%zu bytes)\n", hex, out.len);
	assert_string_equal(hex, GOLDEN_WIN_DIGEST);
	size_t n;
	const char *why;
	struct tt_entry *v = tt_parse((const unsigned char *)out.data, out.len, &n, &why);
	if (why)
		fail_msg("tar: %s", why);
	char *ln = long_name();
	char *lp = xasprintf("Files/app/%s", ln);
	const char *want[] = {
		"Hives/", "Files/", "Files/Data/", "Files/Data/cfg.ini", "Files/Windows/",
		"Files/Windows/Temp/", "Files/Windows/Temp/.wh.old.log", "Files/app/", lp,
		"Files/app/bin/", "Files/app/bin/extra.txt", "Files/app/bin/x-link.dll",
		"Files/app/bin/x.dll", "Files/app/readme.txt",
	};
	for (size_t i = 0; i < n; i++)
		print_message("  %c %06o %s%s%s\n", v[i].type, v[i].mode, v[i].name,
			      v[i].linkname[0] ? " -> " : "", v[i].linkname);
	assert_int_equal(n, ARRAY_SIZE(want));
	struct img_hmap dirs = IMG_HMAP_INIT;
	for (size_t i = 0; i < n; i++) {
		struct tt_entry *e = &v[i];
		assert_string_equal(e->name, want[i]);
		/* one PAX header per entry with the three records */
		assert_int_equal(e->xheaders, 1);
		if (i > 0)
			assert_int_equal(strncmp(e->name, "Files/", 6), 0);
		/* every ancestor is an earlier directory entry */
		char *p = xstrdup(e->name);
		size_t pl = strlen(p);
		if (pl && p[pl - 1] == '/')
			p[pl - 1] = '\0';
		for (char *s = strrchr(p, '/'); s; s = strrchr(p, '/')) {
			*s = '\0';
			char *key = xasprintf("%s/", p);
			if (!img_hmap_get(&dirs, key, NULL))
				fail_msg("'%s' comes before its parent '%s'", e->name, key);
			free(key);
		}
		free(p);
		bool dir = e->type == '5';
		if (dir)
			img_hmap_put(&dirs, e->name, NULL);
		assert_int_equal(e->mode & 0170000, dir ? 0040000 : e->type == '2' ? 0120000 : 0100000);
		const char *ct = tt_rec(e, "LIBARCHIVE.creationtime");
		assert_non_null(ct);
		char mt[32];
		snprintf(mt, sizeof(mt), "%llu", e->mtime);
		assert_string_equal(ct, mt);
		assert_string_equal(tt_rec(e, "MSWINDOWS.fileattr"), dir ? "16" : "32");
		struct sd_info si;
		const char *rawsd = tt_rec(e, "MSWINDOWS.rawsd");
		assert_non_null(rawsd);
		why = parse_sd_b64(rawsd, &si);
		if (why)
			fail_msg("'%s': security descriptor: %s", e->name, why);
		assert_int_equal(si.naces, dir ? 7 : 3);
		assert_null(tt_rec(e, "atime"));
	}
	img_hmap_release(&dirs);
	/* hardlink target under Files/, long name through a PAX path record */
	assert_int_equal(v[12].type, '1');
	assert_string_equal(v[12].linkname, "Files/app/bin/x-link.dll");
	assert_int_equal(v[11].type, '0');
	assert_int_equal(v[11].size, 12);
	assert_non_null(tt_rec(&v[8], "path"));
	assert_int_equal(v[4].mtime, 1000); /* synthesized parent */
	assert_int_equal(v[6].size, 0);
	assert_int_equal(v[3].mtime, T_FILE);
	tt_free(v, n);
	free(lp);
	free(ln);
	bbuf_release(&out);
	bbuf_release(&again);
	rm_rf(t);
	free(t);
}

static void test_refusals(void **state)
{
	(void)state;
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_layer *l = img_wintar_new(NULL, &s);
	assert_int_equal(img_layer_add_opaque(l, "C:\\app", &err), -1);
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	berr_clear(&err);
	struct img_layer_entry fifo = { .dst = "C:\\fifo", .type = IMG_ENTRY_FIFO };
	assert_int_equal(img_layer_add(l, &fifo, &err), -1);
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	berr_clear(&err);
	struct img_layer_entry d = { .dst = "D:\\x", .type = IMG_ENTRY_DIR };
	assert_int_equal(img_layer_add(l, &d, &err), -1);
	assert_string_equal(err->msg, "path 'D:\\x' is on drive 'D:'; container layers hold only C:");
	berr_clear(&err);
	/* an empty Windows layer still has both roots */
	assert_int_equal(img_layer_finish(l, NULL, &err), 0);
	img_layer_free(l);
	size_t n;
	const char *why;
	struct tt_entry *v = tt_parse((const unsigned char *)out.data, out.len, &n, &why);
	assert_null(why);
	assert_int_equal(n, 2);
	assert_string_equal(v[0].name, "Hives/");
	assert_string_equal(v[1].name, "Files/");
	tt_free(v, n);
	bbuf_release(&out);
}

static void test_import_roundtrip(void **state)
{
	(void)state;
	char *t = make_src();
	struct bbuf out = BBUF_INIT;
	struct berr *err = NULL;
	assert_int_equal(write_win(t, &out, &err), 0);
	char *root = tmpdir_new();
	struct img_apply_opts o = { .flags = IMG_APPLY_WINDOWS };
	struct img_applier *ap = img_applier_new(root, &o, &err);
	assert_non_null(ap);
	if (img_apply_mem(ap, out.data, out.len, "windows", &err) < 0)
		fail_msg("%s", err->msg);
	img_applier_free(ap);
	char *x = read_text(root, "app/bin/x.dll");
	assert_string_equal(x, "MZ fake dll\n");
	free(x);
	x = read_text(root, "Data/cfg.ini");
	assert_string_equal(x, "[x]\n");
	free(x);
	x = read_text(root, "app/bin/extra.txt");
	assert_string_equal(x, "read me\n");
	free(x);
	char *a = xasprintf("%s/app/bin/x.dll", root), *b = xasprintf("%s/app/bin/x-link.dll", root);
	struct stat sa, sb;
	assert_int_equal(stat(a, &sa), 0);
	assert_int_equal(stat(b, &sb), 0);
	assert_int_equal(sa.st_ino, sb.st_ino);
	free(a);
	free(b);
	assert_false(path_exists(root, "Hives"));
	assert_false(path_exists(root, "Files"));
	assert_true(path_exists(root, "Windows/Temp"));
	bbuf_release(&out);
	rm_rf(root);
	free(root);
	rm_rf(t);
	free(t);
}

static void test_emitter_guards(void **state)
{
	(void)state;
	struct bbuf out = BBUF_INIT;
	struct bsink s = mem_sink(&out);
	struct berr *err = NULL;
	struct img_tarw *w = img_tarw_new(&s);
	struct img_tar_hdr h = { .name = "f", .typeflag = '0', .mode = 0100644, .size = 3 };
	assert_int_equal(img_tarw_header(w, &h, NULL, 0, &err), 0);
	assert_int_equal(img_tarw_data(w, "abcd", 4, &err), -1); /* more than declared */
	berr_clear(&err);
	assert_int_equal(img_tarw_data(w, "ab", 2, &err), 0);
	assert_int_equal(img_tarw_close(w, NULL, &err), -1); /* one byte short */
	assert_non_null(strstr(err->msg, "short"));
	berr_clear(&err);
	assert_int_equal(img_tarw_data(w, "c", 1, &err), 0);
	uint64_t total;
	assert_int_equal(img_tarw_close(w, &total, &err), 0);
	assert_int_equal(total, 512 * 4);
	assert_int_equal(img_tarw_header(w, &h, NULL, 0, &err), -1); /* closed */
	berr_free(err);
	img_tarw_free(w);
	size_t n;
	const char *why;
	struct tt_entry *v = tt_parse((const unsigned char *)out.data, out.len, &n, &why);
	assert_null(why);
	assert_int_equal(n, 1);
	assert_int_equal(v[0].xheaders, 0);
	tt_free(v, n);
	bbuf_release(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_path_map),
		cmocka_unit_test(test_security_descriptors),
		cmocka_unit_test(test_structure),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_import_roundtrip),
		cmocka_unit_test(test_emitter_guards),
		cmocka_unit_test(test_sd_owner_sid),
	};
	return cmocka_run_group_tests_name("wintar", tests, NULL, NULL);
}
