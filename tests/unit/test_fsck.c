/* Unit tests for the store GC lock, racing blob writers, fsck and prune. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_fsck.h"
#include "image/img_store.h"

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb; (void)flag; (void)ftw;
	return remove(p);
}

static char *mkstore(struct img_store **s)
{
	char *d = xstrdup("/tmp/berth-unit-fsck.XXXXXX");
	assert_non_null(mkdtemp(d));
	struct berr *err = NULL;
	assert_int_equal(img_store_open(d, IMG_STORE_CREATE, s, &err), 0);
	return d;
}

static void rmtmp(char *d)
{
	nftw(d, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(d);
}

static size_t count_problems(const struct img_fsck_report *r, enum img_fsck_kind k)
{
	size_t n = 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->v[i].kind == k;
	return n;
}

/* Shared holders exclude an exclusive locker and vice versa; shared
 * holders coexist. Checked across processes (flock is per open file). */
static void test_lock_modes(void **state)
{
	(void)state;
	struct img_store *s = NULL;
	char *dir = mkstore(&s);
	struct berr *err = NULL;
	int up[2], down[2]; /* child -> parent "locked", parent -> child "release" */
	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(down), 0);
	pid_t pid = fork();
	if (pid == 0) { /* child: hold a shared lock until the parent says so */
		struct img_store *c = NULL;
		struct berr *e = NULL;
		if (img_store_open(dir, IMG_STORE_OPEN, &c, &e) < 0 ||
		    img_store_lock(c, IMG_LOCK_SHARED, &e) < 0)
			_exit(1);
		if (write(up[1], "x", 1) != 1)
			_exit(1);
		char b;
		if (read(down[0], &b, 1) != 1)
			_exit(1);
		img_store_free(c);
		_exit(0);
	}
	close(up[1]);
	char b;
	assert_int_equal(read(up[0], &b, 1), 1);
	assert_int_equal(img_store_trylock(s, IMG_LOCK_EXCLUSIVE, &err), -1);
	assert_int_equal(err->code, BERR_FAILED);
	assert_non_null(strstr(err->msg, "locked by another berth process"));
	berr_clear(&err);
	assert_int_equal(img_store_lock_mode(s), IMG_LOCK_NONE);
	/* a second shared holder is fine */
	assert_int_equal(img_store_trylock(s, IMG_LOCK_SHARED, &err), 0);
	/* upgrading is refused rather than risking a deadlock */
	assert_int_equal(img_store_lock(s, IMG_LOCK_EXCLUSIVE, &err), -1);
	assert_int_equal(err->code, BERR_INTERNAL);
	berr_clear(&err);
	img_store_unlock(s);
	assert_int_equal(write(down[1], "x", 1), 1);
	int st;
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the child is gone: exclusive succeeds, and writing blobs while holding
	 * it does not try to take a weaker lock */
	assert_int_equal(img_store_trylock(s, IMG_LOCK_EXCLUSIVE, &err), 0);
	struct img_digest d;
	assert_int_equal(img_store_put_blob(s, "abc", 3, &d, &err), 0);
	assert_int_equal(img_store_lock_mode(s), IMG_LOCK_EXCLUSIVE);
	img_store_free(s);
	close(up[0]);
	close(down[0]);
	close(down[1]);
	rmtmp(dir);
}

/* Writing a blob takes the shared lock and keeps it until the handle is
 * freed, so a collector cannot run between "blob written" and "tagged". */
static void test_writer_holds_shared(void **state)
{
	(void)state;
	struct img_store *s = NULL, *t = NULL;
	char *dir = mkstore(&s);
	struct berr *err = NULL;
	struct img_digest d;
	assert_int_equal(img_store_put_blob(s, "data", 4, &d, &err), 0);
	assert_int_equal(img_store_lock_mode(s), IMG_LOCK_SHARED);
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &t, &err), 0);
	assert_int_equal(img_store_trylock(t, IMG_LOCK_EXCLUSIVE, &err), -1);
	berr_clear(&err);
	img_store_free(s);
	assert_int_equal(img_store_trylock(t, IMG_LOCK_EXCLUSIVE, &err), 0);
	img_store_free(t);
	rmtmp(dir);
}

#define RACERS 4
#define RACE_ROUNDS 40
#define RACE_BYTES (256u << 10)

/* Several processes write the same blobs at the same time: every commit
 * succeeds, the final blob is intact, no temp file is left. */
static void test_same_blob_race(void **state)
{
	(void)state;
	struct img_store *s = NULL;
	char *dir = mkstore(&s);
	struct berr *err = NULL;
	pid_t pids[RACERS];
	for (int k = 0; k < RACERS; k++) {
		pids[k] = fork();
		if (pids[k] == 0) {
			struct img_store *c = NULL;
			struct berr *e = NULL;
			if (img_store_open(dir, IMG_STORE_OPEN, &c, &e) < 0)
				_exit(1);
			unsigned char *buf = xmalloc(RACE_BYTES);
			for (int r = 0; r < RACE_ROUNDS; r++) {
				memset(buf, 'a' + r % 26, RACE_BYTES);
				buf[0] = (unsigned char)r;
				struct img_blob_writer *w = img_blob_writer_new(c, &e);
				if (!w)
					_exit(2);
				struct bsink sk = img_blob_writer_sink(w);
				/* several writes, so the writers interleave */
				for (size_t off = 0; off < RACE_BYTES; off += 4096)
					if (bsink_write(&sk, buf + off, 4096, &e) < 0)
						_exit(3);
				struct img_digest got;
				if (img_blob_writer_commit(w, NULL, &got, NULL, &e) < 0)
					_exit(4);
				img_blob_writer_free(w);
			}
			free(buf);
			img_store_free(c);
			_exit(0);
		}
	}
	for (int k = 0; k < RACERS; k++) {
		int st;
		assert_int_equal(waitpid(pids[k], &st, 0), pids[k]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	struct img_fsck_opts o = { 0 };
	struct img_fsck_report *r = NULL;
	assert_int_equal(img_fsck(s, &o, &r, &err), 0);
	assert_int_equal(r->n_errors, 0);
	assert_int_equal(r->blobs, RACE_ROUNDS);
	assert_int_equal(count_problems(r, IMG_FSCK_ORPHAN), RACE_ROUNDS);
	assert_int_equal(count_problems(r, IMG_FSCK_TEMP), 0);
	img_fsck_report_free(r);
	img_store_free(s);
	rmtmp(dir);
}

static void put_json(struct img_store *s, const char *json, struct img_digest *d)
{
	struct berr *err = NULL;
	assert_int_equal(img_store_put_blob(s, json, strlen(json), d, &err), 0);
}

/* A tagged image whose layer is missing, a corrupt blob, an orphan and a
 * temp file: errors are errors, garbage is garbage, repair only removes
 * garbage, and refuses to collect orphans while the walk has errors. */
static void test_fsck_classes(void **state)
{
	(void)state;
	struct img_store *s = NULL;
	char *dir = mkstore(&s);
	struct berr *err = NULL;
	struct img_digest cfg, layer, man, orphan;
	put_json(s, "{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
		    "\"diff_ids\":[]}}", &cfg);
	put_json(s, "layer bytes", &layer);
	put_json(s, "orphan", &orphan);
	_cleanup_free_ char *mj = xasprintf(
		"{\"schemaVersion\":2,\"mediaType\":\"" IMG_MT_OCI_MANIFEST "\",\"config\":{\"mediaType\":\""
		IMG_MT_OCI_CONFIG "\",\"digest\":\"%s\",\"size\":%zu},\"layers\":[{\"mediaType\":"
		"\"application/vnd.oci.image.layer.v1.tar\",\"digest\":\"%s\",\"size\":11}]}",
		cfg.s, strlen("{\"architecture\":\"amd64\",\"os\":\"linux\",\"rootfs\":{\"type\":\"layers\","
			      "\"diff_ids\":[]}}"), layer.s);
	put_json(s, mj, &man);
	struct img_descriptor d = { .media_type = xstrdup(IMG_MT_OCI_MANIFEST), .digest = man,
				    .size = (int64_t)strlen(mj) };
	assert_int_equal(img_store_tag_set(s, "t:1", &d, &err), 0);
	img_descriptor_clear(&d);
	img_store_free(s);
	_cleanup_free_ char *tmp = xasprintf("%s/blobs/sha256/.tmp-zzzzzz", dir);
	assert_int_equal(bfile_write_atomic(tmp, "x", 1, 0644, &err), 0);

	struct img_fsck_opts o = { 0 };
	struct img_fsck_report *r = NULL;
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &s, &err), 0);
	assert_int_equal(img_fsck(s, &o, &r, &err), 0);
	assert_int_equal(r->n_errors, 0);
	assert_int_equal(count_problems(r, IMG_FSCK_ORPHAN), 1);
	assert_int_equal(count_problems(r, IMG_FSCK_TEMP), 1);
	assert_false(r->writers_active);
	/* a read-only fsck keeps only a shared lock once it has scanned */
	assert_int_equal(img_store_lock_mode(s), IMG_LOCK_SHARED);
	struct img_store *other = NULL;
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &other, &err), 0);
	assert_int_equal(img_store_trylock(other, IMG_LOCK_SHARED, &err), 0);
	img_store_free(other);
	img_fsck_report_free(r);
	img_store_free(s);

	/* corrupt the layer: an error; then delete it: missing */
	_cleanup_free_ char *lp = xasprintf("%s/blobs/sha256/%s", dir, img_digest_hex(&layer));
	assert_int_equal(bfile_write_atomic(lp, "LAYER BYTES", 11, 0644, &err), 0);
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &s, &err), 0);
	o.repair = true;
	assert_int_equal(img_fsck(s, &o, &r, &err), 0);
	assert_int_equal(count_problems(r, IMG_FSCK_CORRUPT), 1);
	assert_int_equal(r->n_errors, 1);
	img_fsck_report_free(r);
	img_store_free(s);
	assert_int_equal(access(lp, F_OK), 0); /* repair never deletes damaged blobs */
	assert_int_equal(unlink(lp), 0);
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &s, &err), 0);
	assert_int_equal(img_fsck(s, &o, &r, &err), 0);
	assert_int_equal(count_problems(r, IMG_FSCK_MISSING), 1);
	img_fsck_report_free(r);
	/* prune refuses to collect while references are broken */
	struct img_prune_opts po = { 0 };
	struct img_prune_report *pr = NULL;
	assert_int_equal(img_prune(s, &po, &pr, &err), -1);
	assert_int_equal(err->code, BERR_INTEGRITY);
	assert_non_null(strstr(err->msg, "missing"));
	berr_clear(&err);
	img_store_free(s);
	rmtmp(dir);
}

/* Prune drops untagged entries and what only they reference, keeps tagged
 * images, and honours until. */
static void test_prune(void **state)
{
	(void)state;
	struct img_store *s = NULL;
	char *dir = mkstore(&s);
	struct berr *err = NULL;
	struct img_digest a, b;
	put_json(s, "{\"schemaVersion\":2,\"layers\":[]}", &a);
	put_json(s, "unreferenced", &b);
	struct img_descriptor d = { .media_type = xstrdup("application/x-unknown"), .digest = a,
				    .size = (int64_t)strlen("{\"schemaVersion\":2,\"layers\":[]}") };
	assert_int_equal(img_store_tag_set_raw(s, NULL, NULL, &d, &err), 0);
	img_descriptor_clear(&d);
	img_store_free(s);
	assert_int_equal(img_store_open(dir, IMG_STORE_OPEN, &s, &err), 0);
	struct img_prune_opts po = { .until = 1 }; /* everything is newer than 1970 */
	struct img_prune_report *pr = NULL;
	assert_int_equal(img_prune(s, &po, &pr, &err), 0);
	assert_int_equal(pr->n_images, 0);
	assert_int_equal(pr->n_blobs, 0);
	img_prune_report_free(pr);
	po.until = 0;
	assert_int_equal(img_prune(s, &po, &pr, &err), 0);
	assert_int_equal(pr->n_images, 1);
	assert_string_equal(pr->images[0], a.s);
	assert_int_equal(pr->n_blobs, 2);
	assert_int_equal(pr->reclaimed, strlen("{\"schemaVersion\":2,\"layers\":[]}") + 12);
	img_prune_report_free(pr);
	assert_false(img_store_has_blob(s, &a));
	img_store_free(s);
	rmtmp(dir);
}

/* The cache hook keeps the cache-store blobs that builder cache records
 * name and drops the unreferenced ones; --all drops the records (then
 * their blobs go too). The local store is not touched. */
static void test_prune_cache_hook(void **state)
{
	(void)state;
	char *root = xstrdup("/tmp/berth-unit-fsck-root.XXXXXX");
	assert_non_null(mkdtemp(root));
	setenv("BERTH_ROOT", root, 1);
	struct img_store *s = NULL, *cs = NULL;
	struct berr *err = NULL;
	assert_int_equal(img_local_open(&s, &err), 0);
	struct img_digest kept, cached, loose;
	put_json(s, "local blob", &kept);
	_cleanup_free_ char *csdir = xasprintf("%s/cache/blobs", root);
	assert_int_equal(img_store_open(csdir, IMG_STORE_CREATE, &cs, &err), 0);
	put_json(cs, "cached layer", &cached);
	put_json(cs, "loose", &loose);
	img_store_free(cs);
	_cleanup_free_ char *keys = xasprintf("%s/cache/keys", root);
	assert_int_equal(bfile_mkdir_p(keys, 0700, &err), 0);
	_cleanup_free_ char *rec = xasprintf("%s/%064d", keys, 1);
	_cleanup_free_ char *line = xasprintf("application/vnd.oci.image.layer.v1.tar %s 12 %s\n",
					      cached.s, cached.s);
	assert_int_equal(bfile_write_atomic(rec, line, strlen(line), 0644, &err), 0);
	_cleanup_free_ char *empty = xasprintf("%s/%064d", keys, 2);
	assert_int_equal(bfile_write_atomic(empty, "empty\n", 6, 0644, &err), 0);
	img_store_free(s);

	/* fsck of the cache store: the record references its blob */
	assert_int_equal(img_store_open(csdir, IMG_STORE_OPEN, &cs, &err), 0);
	struct img_fsck_opts fo = { 0 };
	struct img_fsck_report *fr = NULL;
	assert_int_equal(img_fsck(cs, &fo, &fr, &err), 0);
	assert_true(fr->cache);
	assert_int_equal(fr->records, 2);
	assert_int_equal(fr->n_errors, 0);
	assert_int_equal(count_problems(fr, IMG_FSCK_ORPHAN), 1);
	img_fsck_report_free(fr);
	img_store_free(cs);

	assert_int_equal(img_local_open(&s, &err), 0);
	struct img_prune_opts po = { 0 };
	struct img_prune_report *pr = NULL;
	assert_int_equal(img_prune(s, &po, &pr, &err), 0);
	assert_int_equal(pr->n_blobs, 1); /* the local store's unreferenced blob */
	assert_string_equal(pr->blobs[0], kept.s);
	assert_int_equal(pr->n_cache, 1);
	assert_string_equal(pr->cache[0], loose.s);
	img_prune_report_free(pr);
	assert_int_equal(img_store_open(csdir, IMG_STORE_OPEN, &cs, &err), 0);
	assert_true(img_store_has_blob(cs, &cached));
	assert_false(img_store_has_blob(cs, &loose));
	img_store_free(cs);
	po.all = true;
	assert_int_equal(img_prune(s, &po, &pr, &err), 0);
	assert_int_equal(pr->n_blobs, 0);
	assert_int_equal(pr->n_cache, 3); /* two records, then the blob */
	assert_string_equal(pr->cache[2], cached.s);
	img_prune_report_free(pr);
	assert_int_equal(access(rec, F_OK), -1);
	img_store_free(s);
	unsetenv("BERTH_ROOT");
	nftw(root, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(root);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_modes),
		cmocka_unit_test(test_writer_holds_shared),
		cmocka_unit_test(test_same_blob_race),
		cmocka_unit_test(test_fsck_classes),
		cmocka_unit_test(test_prune),
		cmocka_unit_test(test_prune_cache_hook),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
