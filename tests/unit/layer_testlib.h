/* Helpers shared by test_layer.c, test_wintar.c and test_apply.c (included,
 * not compiled on its own): memory sink, SHA-256, temp dirs, file fixtures
 * and a tiny independent tar parser for structural checks. */
#ifndef BERTH_LAYER_TESTLIB_H
#define BERTH_LAYER_TESTLIB_H

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

static int mem_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	return bbuf_add(ctx, p, n, err);
}

static inline struct bsink mem_sink(struct bbuf *b)
{
	return (struct bsink){ mem_write, b };
}

static inline void sha256_hex(const void *p, size_t n, char out[65])
{
	unsigned char md[32];
	unsigned int len = 0;
	EVP_Digest(p, n, md, &len, EVP_sha256(), NULL);
	for (int i = 0; i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

static int rm_cb(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	chmod(p, 0700);
	return remove(p);
}

static inline void rm_rf(const char *p)
{
	nftw(p, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
}

static inline char *tmpdir_new(void)
{
	char *t = xasprintf("%s/berth-ut.XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(t))
		abort();
	return t;
}

static inline void put_file(const char *dir, const char *rel, const char *content,
			    mode_t mode, time_t mtime)
{
	char *p = xasprintf("%s/%s", dir, rel);
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		abort();
	if (content && write(fd, content, strlen(content)) != (ssize_t)strlen(content))
		abort();
	close(fd);
	chmod(p, mode);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	free(p);
}

static inline void put_dir(const char *dir, const char *rel, mode_t mode)
{
	char *p = xasprintf("%s/%s", dir, rel);
	mkdir(p, 0700);
	chmod(p, mode);
	free(p);
}

static inline void set_mtime(const char *dir, const char *rel, time_t mtime)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct timespec ts[2] = { { mtime, 0 }, { mtime, 0 } };
	utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
	free(p);
}

static inline char *read_text(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct bbuf b = BBUF_INIT;
	int rc = bfile_read_all(p, 1 << 20, &b, NULL);
	free(p);
	if (rc < 0)
		return NULL;
	return bbuf_detach(&b, NULL);
}

static inline bool path_exists(const char *dir, const char *rel)
{
	char *p = xasprintf("%s/%s", dir, rel);
	struct stat st;
	bool r = lstat(p, &st) == 0;
	free(p);
	return r;
}

static inline size_t dir_count(const char *dir)
{
	size_t n = 0;
	char *cmd = xasprintf("find '%s' -mindepth 1 | wc -l", dir);
	FILE *f = popen(cmd, "r");
	free(cmd);
	if (!f || fscanf(f, "%zu", &n) != 1)
		n = (size_t)-1;
	if (f)
		pclose(f);
	return n;
}

/* ---- independent tar parser ---- */

#define TT_MAX_RECS 16
struct tt_entry {
	char name[1024];
	char linkname[1024];
	char type;
	unsigned mode;
	unsigned long long size, mtime, uid, gid;
	int xheaders; /* number of 'x' headers just before this entry */
	int nrec;
	char *key[TT_MAX_RECS];
	char *val[TT_MAX_RECS];
	size_t vlen[TT_MAX_RECS];
};

static inline unsigned long long tt_octal(const unsigned char *f, size_t n)
{
	unsigned long long v = 0;
	for (size_t i = 0; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		v = v * 8 + (f[i] - '0');
	return v;
}

static inline const char *tt_rec(const struct tt_entry *e, const char *key)
{
	for (int i = 0; i < e->nrec; i++)
		if (strcmp(e->key[i], key) == 0)
			return e->val[i];
	return NULL;
}

static inline void tt_free(struct tt_entry *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < v[i].nrec; k++) {
			free(v[i].key[k]);
			free(v[i].val[k]);
		}
	free(v);
}

/* Parses a whole tar; returns entries (PAX records attached) or NULL with a
 * reason in *why when the bytes are not a well-formed ustar/pax stream
 * ending in two zero blocks. */
static inline struct tt_entry *tt_parse(const unsigned char *p, size_t len, size_t *count,
					const char **why)
{
	struct tt_entry *v = NULL;
	size_t n = 0, cap = 0, off = 0;
	struct tt_entry pend = { 0 };
	*why = NULL;
	while (off + 512 <= len) {
		const unsigned char *h = p + off;
		bool zero = true;
		for (int i = 0; i < 512; i++)
			zero = zero && h[i] == 0;
		if (zero) {
			if (off + 1024 != len || p[off + 512] != 0)
				*why = "end blocks are not the last 1024 bytes";
			break;
		}
		unsigned sum = 0;
		for (int i = 0; i < 512; i++)
			sum += (i >= 148 && i < 156) ? ' ' : h[i];
		if (sum != tt_octal(h + 148, 8)) {
			*why = "bad header checksum";
			break;
		}
		if (memcmp(h + 257, "ustar\0" "00", 8) != 0) {
			*why = "not a ustar header";
			break;
		}
		unsigned long long size = tt_octal(h + 124, 12);
		const unsigned char *data = h + 512;
		if (off + 512 + size > len) {
			*why = "truncated";
			break;
		}
		if (h[156] == 'x') {
			pend.xheaders++;
			size_t q = 0;
			while (q < size && pend.nrec < TT_MAX_RECS) {
				char *end;
				unsigned long rl = strtoul((const char *)data + q, &end, 10);
				const char *eq = memchr(end, '=', rl);
				if (*end != ' ' || !eq || rl == 0 || q + rl > size ||
				    data[q + rl - 1] != '\n') {
					*why = "bad pax record";
					break;
				}
				pend.key[pend.nrec] = strndup(end + 1, (size_t)(eq - end - 1));
				size_t vl = (size_t)((const char *)data + q + rl - 1 - (eq + 1));
				pend.val[pend.nrec] = strndup(eq + 1, vl);
				pend.vlen[pend.nrec++] = vl;
				q += rl;
			}
			if (*why)
				break;
		} else {
			struct tt_entry e = pend;
			memset(&pend, 0, sizeof(pend));
			snprintf(e.name, sizeof(e.name), "%.100s", (const char *)h);
			snprintf(e.linkname, sizeof(e.linkname), "%.100s", (const char *)h + 157);
			const char *pp = tt_rec(&e, "path"), *lp = tt_rec(&e, "linkpath");
			if (pp)
				snprintf(e.name, sizeof(e.name), "%s", pp);
			if (lp)
				snprintf(e.linkname, sizeof(e.linkname), "%s", lp);
			e.type = (char)h[156];
			e.mode = (unsigned)tt_octal(h + 100, 8);
			e.uid = tt_octal(h + 108, 8);
			e.gid = tt_octal(h + 116, 8);
			e.size = size;
			e.mtime = tt_octal(h + 136, 12);
			XGROW(v, n + 1, cap);
			v[n++] = e;
		}
		off += 512 + (size + 511) / 512 * 512;
	}
	if (!*why && off + 512 > len)
		*why = "missing end blocks";
	for (int k = 0; k < pend.nrec; k++) {
		free(pend.key[k]);
		free(pend.val[k]);
	}
	*count = n;
	return v;
}

#endif
