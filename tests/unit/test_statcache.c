/* builder/bld_statcache: digests remembered by inode/size/mtime/ctime, one
 * file per source directory, racy entries not remembered, damage ignored. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "builder/bld_statcache.h"
#include "common/common.h"

static char tmp[64];
static char ctx[96], cdir[96];

static void put(const char *name, const char *content)
{
	char *p = xasprintf("%s/%s", ctx, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	assert_int_equal(fclose(f), 0);
	free(p);
}

static void rm_rf(const char *d)
{
	char *cmd = xasprintf("rm -rf '%s'", d);
	assert_int_equal(system(cmd), 0);
	free(cmd);
}

static int setup(void **state)
{
	(void)state;
	snprintf(tmp, sizeof(tmp), "/tmp/berth-sc-XXXXXX");
	assert_non_null(mkdtemp(tmp));
	snprintf(ctx, sizeof(ctx), "%s/ctx", tmp);
	snprintf(cdir, sizeof(cdir), "%s/cache", tmp);
	assert_int_equal(mkdir(ctx, 0755), 0);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	rm_rf(tmp);
	return 0;
}

/* digest of ctx/name through the cache; *hit: it came from the cache
 * without reading (lookup answered) */
static void digest(struct bld_statcache *c, const char *name, struct img_digest *d, bool *hit)
{
	char *p = xasprintf("%s/%s", ctx, name);
	char *real = realpath(p, NULL);
	assert_non_null(real);
	int fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	struct stat st;
	assert_int_equal(fstat(fd, &st), 0);
	*hit = bld_statcache_lookup(c, ctx, real, &st, d);
	struct img_digest d2;
	assert_int_equal(bld_statcache_digest(c, ctx, real, fd, &st, &d2, NULL), 0);
	if (*hit)
		assert_string_equal(d->s, d2.s);
	*d = d2;
	close(fd);
	free(real);
	free(p);
}

static void tick(void)
{
	/* past the filesystem's timestamp granularity (a jiffy) */
	struct timespec ts = { 0, 30 * 1000 * 1000 };
	nanosleep(&ts, NULL);
}

static size_t count_files(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return 0;
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

static void test_remembered_across_runs(void **state)
{
	(void)state;
	put("a", "hello\n");
	put("b", "world\n");
	tick();
	struct img_digest da, db, x;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	digest(c, "a", &da, &hit);
	assert_false(hit);
	digest(c, "b", &db, &hit);
	assert_false(hit);
	digest(c, "a", &x, &hit);
	assert_true(hit); /* remembered within the run */
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	assert_int_equal(count_files(cdir), 1);

	c = bld_statcache_open(cdir, 0);
	digest(c, "a", &x, &hit);
	assert_true(hit);
	assert_string_equal(x.s, da.s);
	digest(c, "b", &x, &hit);
	assert_true(hit);
	assert_string_equal(x.s, db.s);
	bld_statcache_free(c);
}

static char *cache_file(void);

/* A record is matched as the text the cache writes: a file dated before
 * 1970 (negative seconds) and one at the epoch itself are found again; a
 * record whose numbers are written any other way (a leading zero, a plus
 * sign) is a miss, hashed again, never a match of a different stat. */
static void test_record_numbers_as_written(void **state)
{
	(void)state;
	put("old", "from 1969\n");
	put("epoch", "at zero\n");
	put("plain", "now\n");
	char *p = xasprintf("%s/old", ctx);
	struct timespec ts[2] = { { -86401, 999999999 }, { -86401, 999999999 } };
	assert_int_equal(utimensat(AT_FDCWD, p, ts, 0), 0);
	free(p);
	p = xasprintf("%s/epoch", ctx);
	struct timespec z[2] = { { 0, 0 }, { 0, 0 } };
	assert_int_equal(utimensat(AT_FDCWD, p, z, 0), 0);
	free(p);
	tick();
	struct img_digest d[3], x;
	bool hit;
	const char *names[] = { "old", "epoch", "plain" };
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	for (int i = 0; i < 3; i++)
		digest(c, names[i], &d[i], &hit);
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	char *f = cache_file();
	struct bbuf raw = BBUF_INIT;
	assert_int_equal(bfile_read_all(f, 1 << 20, &raw, NULL), 0);
	assert_non_null(memmem(raw.data, raw.len, " -86401 999999999 ", 18));
	assert_non_null(memmem(raw.data, raw.len, " 0 0 ", 5));
	c = bld_statcache_open(cdir, 0);
	for (int i = 0; i < 3; i++) {
		digest(c, names[i], &x, &hit);
		assert_true(hit);
		assert_string_equal(x.s, d[i].s);
	}
	bld_statcache_free(c);
	/* "old"'s mtime seconds written -086401, "plain"'s size +4 */
	struct bbuf edited = BBUF_INIT;
	char *at = memmem(raw.data, raw.len, " -86401 ", 8);
	bbuf_add(&edited, raw.data, (size_t)(at - raw.data) + 2, NULL);
	bbuf_addstr(&edited, "0", NULL);
	char *rest = at + 2;
	char *pl = memmem(rest, raw.len - (size_t)(rest - raw.data), "/plain", 6);
	assert_non_null(pl);
	char *size = strchr(pl + strlen(pl) + 1, ' ') + 1;
	bbuf_add(&edited, rest, (size_t)(size - rest), NULL);
	bbuf_addstr(&edited, "+", NULL);
	bbuf_add(&edited, size, raw.len - (size_t)(size - raw.data), NULL);
	assert_int_equal(bfile_write_atomic(f, edited.data, edited.len, 0600, NULL), 0);
	c = bld_statcache_open(cdir, 0);
	bool want[3] = { false, true, false };
	for (int i = 0; i < 3; i++) {
		digest(c, names[i], &x, &hit);
		assert_int_equal(hit, want[i]);
		assert_string_equal(x.s, d[i].s);
	}
	bld_statcache_free(c);
	bbuf_release(&edited);
	bbuf_release(&raw);
	free(f);
}

static void test_same_size_same_mtime_edit_is_seen(void **state)
{
	(void)state;
	put("f", "aaaa\n");
	tick();
	struct img_digest d1, d2;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	digest(c, "f", &d1, &hit);
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);

	char *p = xasprintf("%s/f", ctx);
	struct stat before;
	assert_int_equal(stat(p, &before), 0);
	tick();
	put("f", "bbbb\n");
	/* restore the mtime: only ctime (and the content) differ */
	struct timespec times[2] = { before.st_atim, before.st_mtim };
	assert_int_equal(utimensat(AT_FDCWD, p, times, 0), 0);
	free(p);

	c = bld_statcache_open(cdir, 0);
	digest(c, "f", &d2, &hit);
	assert_false(hit);
	assert_string_not_equal(d1.s, d2.s);
	bld_statcache_free(c);
}

static void test_racy_not_remembered(void **state)
{
	(void)state;
	put("r", "fresh\n");
	struct img_digest d;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, BLD_STATCACHE_RACY_NS);
	digest(c, "r", &d, &hit);
	digest(c, "r", &d, &hit);
	assert_false(hit); /* changed within the window: read again */
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
}

static char *cache_file(void)
{
	DIR *dd = opendir(cdir);
	assert_non_null(dd);
	struct dirent *e;
	char *f = NULL;
	while ((e = readdir(dd)))
		if (e->d_name[0] != '.') {
			free(f);
			f = xasprintf("%s/%s", cdir, e->d_name);
		}
	closedir(dd);
	assert_non_null(f);
	return f;
}

static void test_damaged_file_is_empty_cache(void **state)
{
	(void)state;
	put("a", "one\n");
	put("b", "two\n");
	tick();
	struct img_digest d;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	digest(c, "a", &d, &hit);
	digest(c, "b", &d, &hit);
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	/* cut the file in the middle of a record, then garble it */
	char *f = cache_file();
	struct stat st;
	assert_int_equal(stat(f, &st), 0);
	assert_int_equal(truncate(f, st.st_size - 10), 0);
	c = bld_statcache_open(cdir, 0);
	digest(c, "a", &d, &hit);
	assert_false(hit);
	bld_statcache_free(c);
	assert_int_equal(bfile_write_atomic(f, "garbage\n\0\n", 10, 0600, NULL), 0);
	c = bld_statcache_open(cdir, 0);
	digest(c, "b", &d, &hit);
	assert_false(hit);
	bld_statcache_free(c);
	free(f);
}

static void test_old_single_file_replaced(void **state)
{
	(void)state;
	/* berth-statcache 1 was a file where the directory now lives */
	assert_int_equal(bfile_write_atomic(cdir, "x\n", 2, 0600, NULL), 0);
	put("a", "one\n");
	tick();
	struct img_digest d;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	digest(c, "a", &d, &hit);
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	struct stat st;
	assert_int_equal(stat(cdir, &st), 0);
	assert_true(S_ISDIR(st.st_mode));
}

/* peek answers from the loaded records only, from several threads at once:
 * a hit for an unchanged file, a miss for a changed or unknown one */
struct peek_job {
	struct bld_statcache_dir *d;
	char *path[3];
	struct stat st[3];
	int hits[3];
};

static void *peek_many(void *arg)
{
	struct peek_job *j = arg;
	for (int round = 0; round < 2000; round++)
		for (int i = 0; i < 3; i++) {
			if (bld_statcache_peek(j->d, j->path[i], &j->st[i]))
				__atomic_add_fetch(&j->hits[i], 1, __ATOMIC_RELAXED);
		}
	return NULL;
}

static void test_peek_threads(void **state)
{
	(void)state;
	put("a", "alpha\n");
	put("b", "beta\n");
	tick();
	struct img_digest da, x;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	digest(c, "a", &da, &hit);
	digest(c, "b", &x, &hit);
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	/* b changes after it was remembered; c was never hashed */
	tick();
	put("b", "BETA\n");
	put("c", "gamma\n");

	c = bld_statcache_open(cdir, 0);
	struct peek_job j;
	memset(&j, 0, sizeof(j));
	j.d = bld_statcache_dir(c, ctx);
	assert_non_null(j.d);
	const char *names[3] = { "a", "b", "c" };
	for (int i = 0; i < 3; i++) {
		char *p = xasprintf("%s/%s", ctx, names[i]);
		j.path[i] = realpath(p, NULL);
		assert_non_null(j.path[i]);
		assert_int_equal(lstat(j.path[i], &j.st[i]), 0);
		free(p);
	}
	const char *got = bld_statcache_peek(j.d, j.path[0], &j.st[0]);
	assert_non_null(got);
	assert_memory_equal(got, img_digest_hex(&da), BLD_STATCACHE_HEX);
	pthread_t th[3];
	for (int i = 0; i < 3; i++)
		assert_int_equal(pthread_create(&th[i], NULL, peek_many, &j), 0);
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	assert_int_equal(j.hits[0], 3 * 2000);
	assert_int_equal(j.hits[1], 0);
	assert_int_equal(j.hits[2], 0);
	/* what this build hashed is not peeked, only looked up */
	digest(c, "c", &x, &hit);
	assert_null(bld_statcache_peek(j.d, j.path[2], &j.st[2]));
	assert_null(bld_statcache_dir(NULL, ctx));
	for (int i = 0; i < 3; i++)
		free(j.path[i]);
	bld_statcache_free(c);
}

/* The file's lines with the digest of the records of names ending in cut
 * one character shorter and of the one ending in grow one longer */
static void reshape(struct bbuf *out, const char *data, size_t len, const char *const cut[],
		    const char *grow)
{
	for (const char *l = data, *end = data + len; l < end;) {
		const char *nl = memchr(l, '\n', (size_t)(end - l));
		assert_non_null(nl);
		size_t plen = strnlen(l, (size_t)(nl - l)), n = (size_t)(nl - l);
		bool shorter = false;
		for (size_t i = 0; cut[i]; i++)
			shorter |= plen >= strlen(cut[i]) &&
				   !memcmp(l + plen - strlen(cut[i]), cut[i], strlen(cut[i]));
		bool longer = plen >= strlen(grow) && !memcmp(l + plen - strlen(grow), grow, strlen(grow));
		bbuf_add(out, l, shorter ? n - 1 : n, NULL);
		bbuf_add(out, longer ? "0\n" : "\n", longer ? 2 : 1, NULL);
		l = nl + 1;
	}
}

/* peeks and lookups of f000..f(N-1) in a fresh cache: in order (each
 * found at the hint the one before left) or out of order (each bisected);
 * hit only where !bad[i] */
static void lookups(int n, bool in_order, const bool *bad)
{
	char name[32];
	struct img_digest d;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	struct bld_statcache_dir *sd = bld_statcache_dir(c, ctx);
	for (int k = 0; k < n; k++) {
		int i = in_order ? k : (k * 7919) % n;
		snprintf(name, sizeof(name), "f%03d", i);
		/* a peek (what the walk's readers ask) agrees with the lookup */
		char *p = xasprintf("%s/%s", ctx, name), *real = realpath(p, NULL);
		struct stat st;
		assert_int_equal(lstat(real, &st), 0);
		const char *peeked = bld_statcache_peek(sd, real, &st);
		digest(c, name, &d, &hit);
		if (hit == bad[i] || !peeked != !hit)
			fail_msg("%s: %s (peek: %s)", name, hit ? "hit, damaged" : "missed",
				 peeked ? "hit" : "missed");
		if (peeked)
			assert_memory_equal(peeked, img_digest_hex(&d), BLD_STATCACHE_HEX);
		free(real);
		free(p);
	}
	bld_statcache_free(c);
}

/* Many records: every one is found (the lookup bisects the file's bytes,
 * in any order); a record damaged in place (a bad digest, a missing NUL, a
 * digest one character short or long, the file's last record cut short)
 * is a miss for its file only, in order and out of order, and the next
 * save writes a clean file. */
static void test_many_records_one_damaged(void **state)
{
	(void)state;
	enum { N = 300 };
	char name[32];
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		put(name, name);
	}
	tick();
	struct img_digest d;
	bool hit;
	struct bld_statcache *c = bld_statcache_open(cdir, 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		digest(c, name, &d, &hit);
	}
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);

	bool bad[N] = { false };
	lookups(N, false, bad);
	lookups(N, true, bad);

	/* damage f150's record in place: its digest is no longer hex */
	char *f = cache_file();
	struct bbuf raw = BBUF_INIT;
	assert_int_equal(bfile_read_all(f, 1 << 20, &raw, NULL), 0);
	size_t len = raw.len;
	char *data = raw.data;
	char *rec = memmem(data, len, "/f150", 5);
	assert_non_null(rec);
	char *nl = strchr(rec + strlen(rec) + 1, '\n');
	nl[-1] = 'X';
	/* and f200's has no NUL at all: lookups that bisect through it go on */
	char *rec2 = memmem(data, len, "/f200", 5);
	assert_non_null(rec2);
	rec2[strlen(rec2)] = 'Z';
	/* f250's digest and the last record's are a character short, f100's
	 * a character long */
	const char *const cut[] = { "/f250", "/f299", NULL };
	struct bbuf shaped = BBUF_INIT;
	size_t hdr = (size_t)((char *)memchr(data, '\n', len) - data) + 1;
	bbuf_add(&shaped, data, hdr, NULL);
	reshape(&shaped, data + hdr, len - hdr, cut, "/f100");
	assert_int_equal(bfile_write_atomic(f, shaped.data, shaped.len, 0600, NULL), 0);
	bbuf_release(&shaped);
	bad[100] = bad[150] = bad[200] = bad[250] = bad[299] = true;
	lookups(N, true, bad);
	lookups(N, false, bad); /* bisections cross the damage */
	c = bld_statcache_open(cdir, 0);
	for (int i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "f%03d", i);
		digest(c, name, &d, &hit);
	}
	assert_int_equal(bld_statcache_save(c, NULL), 0);
	bld_statcache_free(c);
	struct bbuf clean = BBUF_INIT;
	assert_int_equal(bfile_read_all(f, 1 << 20, &clean, NULL), 0);
	assert_null(memmem(clean.data, clean.len, "X\n", 2));
	memset(bad, 0, sizeof(bad));
	lookups(N, true, bad);
	bbuf_release(&clean);
	bbuf_release(&raw);
	free(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_remembered_across_runs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_numbers_as_written, setup, teardown),
		cmocka_unit_test_setup_teardown(test_same_size_same_mtime_edit_is_seen, setup, teardown),
		cmocka_unit_test_setup_teardown(test_racy_not_remembered, setup, teardown),
		cmocka_unit_test_setup_teardown(test_damaged_file_is_empty_cache, setup, teardown),
		cmocka_unit_test_setup_teardown(test_old_single_file_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peek_threads, setup, teardown),
		cmocka_unit_test_setup_teardown(test_many_records_one_damaged, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
