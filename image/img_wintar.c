#include <ctype.h>
#include <string.h>

#include "common/bcrypto.h"
#include "common/common.h"
#include "image/img_wintar.h"

#define TAR_BLOCK 512
/* the emitter batches headers and small data writes into this buffer */
#define TARW_BUF (64 * 1024)
/* largest values the ustar octal fields hold */
#define USTAR_MAX_SIZE 077777777777ULL /* 11 digits */
#define USTAR_MAX_ID 07777777ULL       /* 7 digits */
/* a PAX header larger than this is refused (Go's reader caps at 1 MiB) */
#define PAX_MAX (1024 * 1024)

struct img_tarw {
	struct bsink out;
	unsigned char *buf;
	size_t blen;
	uint64_t remaining; /* data bytes the current entry still expects */
	uint64_t pad;       /* padding owed once the data is complete */
	uint64_t total;
	bool closed;
};

struct img_tarw *img_tarw_new(const struct bsink *out)
{
	struct img_tarw *w = xcalloc(1, sizeof(*w));
	w->out = *out;
	w->buf = xmalloc(TARW_BUF);
	return w;
}

void img_tarw_free(struct img_tarw *w)
{
	if (!w)
		return;
	free(w->buf);
	free(w);
}

static int flush(struct img_tarw *w, struct berr **err)
{
	if (w->blen && bsink_write(&w->out, w->buf, w->blen, err) < 0)
		return -1;
	w->blen = 0;
	return 0;
}

static int put(struct img_tarw *w, const void *p, size_t n, struct berr **err)
{
	w->total += n;
	if (n >= TARW_BUF) {
		if (flush(w, err) < 0)
			return -1;
		return bsink_write(&w->out, p, n, err);
	}
	if (w->blen + n > TARW_BUF && flush(w, err) < 0)
		return -1;
	memcpy(w->buf + w->blen, p, n);
	w->blen += n;
	return 0;
}

static int put_zeros(struct img_tarw *w, size_t n, struct berr **err)
{
	static const unsigned char zero[TAR_BLOCK * 2];
	while (n > 0) {
		size_t k = n < sizeof(zero) ? n : sizeof(zero);
		if (put(w, zero, k, err) < 0)
			return -1;
		n -= k;
	}
	return 0;
}

static int end_entry(struct img_tarw *w, struct berr **err)
{
	if (w->remaining)
		return berr_set(err, BERR_INTERNAL, "tar entry is %llu bytes short",
				(unsigned long long)w->remaining);
	if (put_zeros(w, (size_t)w->pad, err) < 0)
		return -1;
	w->pad = 0;
	return 0;
}

static void octal(unsigned char *field, size_t width, uint64_t v)
{
	/* width-1 zero-padded octal digits and a NUL, as Go and GNU tar do */
	field[width - 1] = '\0';
	for (size_t i = width - 1; i-- > 0;) {
		field[i] = (unsigned char)('0' + (v & 7));
		v >>= 3;
	}
}

static void fill_str(unsigned char *field, size_t width, const char *s)
{
	size_t n = strlen(s);
	memcpy(field, s, n < width ? n : width);
}

static void checksum(unsigned char *h)
{
	memset(h + 148, ' ', 8);
	unsigned sum = 0;
	for (size_t i = 0; i < TAR_BLOCK; i++)
		sum += h[i];
	/* six octal digits, NUL, space */
	octal(h + 148, 7, sum);
	h[155] = ' ';
}

static void ustar(unsigned char *h, const char *name, const char *linkname, char type,
		  uint32_t mode, uint64_t uid, uint64_t gid, uint64_t size, uint64_t mtime,
		  uint32_t dmaj, uint32_t dmin)
{
	memset(h, 0, TAR_BLOCK);
	fill_str(h, 100, name);
	octal(h + 100, 8, mode & 07777777);
	octal(h + 108, 8, uid);
	octal(h + 116, 8, gid);
	octal(h + 124, 12, size);
	octal(h + 136, 12, mtime);
	h[156] = (unsigned char)type;
	if (linkname)
		fill_str(h + 157, 100, linkname);
	memcpy(h + 257, "ustar\0" "00", 8);
	octal(h + 329, 8, dmaj);
	octal(h + 337, 8, dmin);
	checksum(h);
}

static bool needs_pax(const char *s, size_t max)
{
	if (strlen(s) > max)
		return true;
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

static int rec_cmp(const void *a, const void *b)
{
	return strcmp(((const struct img_pax_rec *)a)->key, ((const struct img_pax_rec *)b)->key);
}

/* "<len> <key>=<value>\n", len counting the whole record */
static int add_record(struct bbuf *b, const struct img_pax_rec *r, struct berr **err)
{
	size_t base = strlen(r->key) + r->vlen + 3, len = base, digits = 1;
	for (;;) {
		digits = 1;
		for (size_t v = len; v >= 10; v /= 10)
			digits++;
		if (base + digits == len)
			break;
		len = base + digits;
	}
	if (bbuf_addf(b, err, "%zu %s=", len, r->key) < 0 || bbuf_add(b, r->value, r->vlen, err) < 0 ||
	    bbuf_addch(b, '\n', err) < 0)
		return -1;
	return 0;
}

static char *pax_name(const char *name)
{
	/* Go's convention: <dir>/PaxHeaders.0/<base>, limited to ustar's 100 */
	_cleanup_free_ char *n = xstrdup(name);
	size_t len = strlen(n);
	while (len > 1 && n[len - 1] == '/')
		n[--len] = '\0';
	char *slash = strrchr(n, '/');
	char *r = slash ? (*slash = '\0', xasprintf("%s/PaxHeaders.0/%s", n, slash + 1))
			: xasprintf("PaxHeaders.0/%s", n);
	if (strlen(r) > 100)
		r[100] = '\0';
	return r;
}

int img_tarw_header(struct img_tarw *w, const struct img_tar_hdr *h,
		    const struct img_pax_rec *recs, size_t nrecs, struct berr **err)
{
	if (w->closed)
		return berr_set(err, BERR_INTERNAL, "tar emitter is closed");
	if (end_entry(w, err) < 0)
		return -1;
	struct img_pax_rec *all = xcalloc(nrecs + 6, sizeof(*all));
	size_t n = 0;
	for (size_t i = 0; i < nrecs; i++)
		all[n++] = recs[i];
	char num[4][32];
	uint64_t size = h->size, uid = h->uid, gid = h->gid;
	uint64_t mtime = h->mtime < 0 ? 0 : (uint64_t)h->mtime;
	if (needs_pax(h->name, 100))
		all[n++] = (struct img_pax_rec){ "path", h->name, strlen(h->name) };
	if (h->linkname && needs_pax(h->linkname, 100))
		all[n++] = (struct img_pax_rec){ "linkpath", h->linkname, strlen(h->linkname) };
	if (h->size > USTAR_MAX_SIZE) {
		snprintf(num[0], sizeof(num[0]), "%llu", (unsigned long long)h->size);
		all[n++] = (struct img_pax_rec){ "size", num[0], strlen(num[0]) };
		size = 0;
	}
	if (h->mtime < 0 || (uint64_t)h->mtime > USTAR_MAX_SIZE) {
		snprintf(num[1], sizeof(num[1]), "%lld", (long long)h->mtime);
		all[n++] = (struct img_pax_rec){ "mtime", num[1], strlen(num[1]) };
		mtime = 0;
	}
	if (h->uid > USTAR_MAX_ID) {
		snprintf(num[2], sizeof(num[2]), "%llu", (unsigned long long)h->uid);
		all[n++] = (struct img_pax_rec){ "uid", num[2], strlen(num[2]) };
		uid = 0;
	}
	if (h->gid > USTAR_MAX_ID) {
		snprintf(num[3], sizeof(num[3]), "%llu", (unsigned long long)h->gid);
		all[n++] = (struct img_pax_rec){ "gid", num[3], strlen(num[3]) };
		gid = 0;
	}
	unsigned char blk[TAR_BLOCK];
	int rc = 0;
	if (n > 0) {
		qsort(all, n, sizeof(*all), rec_cmp);
		struct bbuf pax = BBUF_INIT;
		pax.limit = PAX_MAX;
		for (size_t i = 0; i < n && rc == 0; i++)
			rc = add_record(&pax, &all[i], err);
		if (rc == 0) {
			_cleanup_free_ char *pn = pax_name(h->name);
			ustar(blk, pn, NULL, 'x', 0644, 0, 0, pax.len, 0, 0, 0);
			size_t padn = (TAR_BLOCK - pax.len % TAR_BLOCK) % TAR_BLOCK;
			if (put(w, blk, TAR_BLOCK, err) < 0 || put(w, pax.data, pax.len, err) < 0 ||
			    put_zeros(w, padn, err) < 0)
				rc = -1;
		}
		bbuf_release(&pax);
	}
	free(all);
	if (rc < 0)
		return -1;
	ustar(blk, h->name, h->linkname, h->typeflag, h->mode, uid, gid, size, mtime,
	      h->devmajor, h->devminor);
	if (put(w, blk, TAR_BLOCK, err) < 0)
		return -1;
	w->remaining = h->size;
	w->pad = (TAR_BLOCK - h->size % TAR_BLOCK) % TAR_BLOCK;
	return 0;
}

int img_tarw_data(struct img_tarw *w, const void *p, size_t n, struct berr **err)
{
	if (w->closed)
		return berr_set(err, BERR_INTERNAL, "tar emitter is closed");
	if (n > w->remaining)
		return berr_set(err, BERR_INTERNAL, "tar entry data exceeds its header size");
	if (put(w, p, n, err) < 0)
		return -1;
	w->remaining -= n;
	return 0;
}

int img_tarw_close(struct img_tarw *w, uint64_t *total_bytes, struct berr **err)
{
	if (w->closed)
		return berr_set(err, BERR_INTERNAL, "tar emitter is closed");
	if (end_entry(w, err) < 0 || put_zeros(w, 2 * TAR_BLOCK, err) < 0 || flush(w, err) < 0)
		return -1;
	w->closed = true;
	if (total_bytes)
		*total_bytes = w->total;
	return 0;
}

/* ---- Windows paths ---- */

static bool bad_char(unsigned char c)
{
	return c < 0x20 || strchr("<>:\"|?*", c) != NULL;
}

int img_win_path_map(const char *winpath, char **out, struct berr **err)
{
	const char *s = winpath;
	*out = NULL;
	if ((s[0] == '\\' || s[0] == '/') && (s[1] == '\\' || s[1] == '/'))
		return berr_set(err, BERR_UNSUPPORTED, "path '%s': UNC and device paths cannot "
				"be in a layer", winpath);
	if (isalpha((unsigned char)s[0]) && s[1] == ':') {
		if (tolower((unsigned char)s[0]) != 'c')
			return berr_set(err, BERR_UNSUPPORTED, "path '%s' is on drive '%c:'; "
					"container layers hold only C:", winpath, s[0]);
		s += 2;
	}
	_cleanup_free_ char *p = xstrdup(s);
	for (char *c = p; *c; c++)
		if (*c == '\\')
			*c = '/';
	char *rel = p;
	while (*rel == '/')
		rel++;
	_cleanup_free_ char *c = bpath_clean(*rel ? rel : ".");
	if (!bpath_is_contained(c))
		return berr_set(err, BERR_SECURITY, "path '%s' escapes the drive root", winpath);
	if (strcmp(c, ".") == 0) {
		*out = xstrdup("Files");
		return 0;
	}
	for (const char *comp = c; *comp;) {
		const char *end = strchrnul(comp, '/');
		for (const char *q = comp; q < end; q++)
			if (bad_char((unsigned char)*q))
				return berr_set(err, BERR_INPUT, "path '%s': character '%c' is "
						"not allowed in windows file names", winpath,
						*q >= 0x20 ? *q : '?');
		if (end[-1] == '.' || end[-1] == ' ')
			return berr_set(err, BERR_INPUT, "path '%s': windows file names cannot "
					"end in '%c'", winpath, end[-1]);
		comp = *end ? end + 1 : end;
	}
	*out = xasprintf("Files/%s", c);
	return 0;
}

/* ---- security descriptors ---- */

struct sid_def {
	uint8_t auth;
	uint8_t count;
	uint32_t sub[2];
};

static const struct sid_def SID_BA = { 5, 2, { 32, 544 } }; /* BUILTIN\Administrators */
static const struct sid_def SID_SY = { 5, 1, { 18, 0 } };   /* NT AUTHORITY\SYSTEM */
static const struct sid_def SID_BU = { 5, 2, { 32, 545 } }; /* BUILTIN\Users */
static const struct sid_def SID_CO = { 3, 1, { 0, 0 } };    /* CREATOR OWNER */

#define ACE_OI 0x01u
#define ACE_CI 0x02u
#define ACE_IO 0x08u
#define MASK_FA 0x001F01FFu /* FILE_ALL_ACCESS */
#define MASK_RX 0x001200A9u /* read + execute */
#define MASK_GA 0x10000000u /* GENERIC_ALL */
#define MASK_LC 0x00000004u /* SDDL LC: FILE_ADD_SUBDIRECTORY */
#define MASK_DC 0x00000002u /* SDDL DC: FILE_ADD_FILE */
#define SE_DACL_PRESENT 0x0004u
#define SE_SELF_RELATIVE 0x8000u

struct ace_def {
	uint8_t flags;
	uint32_t mask;
	const struct sid_def *sid;
};

static void le16(unsigned char *p, uint32_t v)
{
	p[0] = (unsigned char)v;
	p[1] = (unsigned char)(v >> 8);
}

static void le32(unsigned char *p, uint32_t v)
{
	le16(p, v & 0xffff);
	le16(p + 2, v >> 16);
}

static size_t put_sid(unsigned char *p, const struct sid_def *s)
{
	p[0] = 1;
	p[1] = s->count;
	memset(p + 2, 0, 5);
	p[7] = s->auth; /* 48-bit identifier authority, big-endian */
	for (uint8_t i = 0; i < s->count; i++)
		le32(p + 8 + 4 * i, s->sub[i]);
	return 8 + 4u * s->count;
}

size_t img_win_sid_parse(const char *s, unsigned char *out)
{
	if ((s[0] != 'S' && s[0] != 's') || s[1] != '-' || s[2] != '1' || s[3] != '-')
		return 0;
	const char *p = s + 4;
	uint64_t auth = 0;
	uint32_t sub[15];
	size_t n = 0;
	for (int field = 0;; field++) {
		if (*p < '0' || *p > '9')
			return 0;
		uint64_t v = 0;
		for (; *p >= '0' && *p <= '9'; p++) {
			v = v * 10 + (uint64_t)(*p - '0');
			if (v > (field == 0 ? 0xFFFFFFFFFFFFull : 0xFFFFFFFFull))
				return 0;
		}
		if (field == 0)
			auth = v;
		else if (n < ARRAY_SIZE(sub))
			sub[n++] = (uint32_t)v;
		else
			return 0;
		if (*p == '\0')
			break;
		if (*p++ != '-')
			return 0;
	}
	if (n == 0)
		return 0;
	out[0] = 1;
	out[1] = (unsigned char)n;
	for (int i = 0; i < 6; i++) /* 48-bit authority, big-endian */
		out[2 + i] = (unsigned char)(auth >> (8 * (5 - i)));
	for (size_t i = 0; i < n; i++)
		le32(out + 8 + 4 * i, sub[i]);
	return 8 + 4 * n;
}

static size_t sd_build(bool dir, const unsigned char *owner_sid, size_t owner_len,
		       unsigned char *buf);

size_t img_win_sd_build(bool dir, unsigned char *buf)
{
	return sd_build(dir, NULL, 0, buf);
}

static size_t sd_build(bool dir, const unsigned char *owner_sid, size_t owner_len,
		       unsigned char *buf)
{
	static const struct ace_def file_aces[] = {
		{ 0, MASK_FA, &SID_BA }, { 0, MASK_FA, &SID_SY }, { 0, MASK_RX, &SID_BU },
	};
	static const struct ace_def dir_aces[] = {
		{ ACE_OI | ACE_CI, MASK_FA, &SID_BA },
		{ ACE_OI | ACE_CI, MASK_FA, &SID_SY },
		{ 0, MASK_FA, &SID_BA },
		{ ACE_OI | ACE_CI | ACE_IO, MASK_GA, &SID_CO },
		{ ACE_OI | ACE_CI, MASK_RX, &SID_BU },
		{ ACE_CI, MASK_LC, &SID_BU },
		{ ACE_CI, MASK_DC, &SID_BU },
	};
	const struct ace_def *aces = dir ? dir_aces : file_aces;
	size_t naces = dir ? ARRAY_SIZE(dir_aces) : ARRAY_SIZE(file_aces);
	memset(buf, 0, IMG_WIN_SD_MAX);
	size_t off = 20;
	size_t owner = off;
	if (owner_sid) {
		memcpy(buf + off, owner_sid, owner_len);
		off += owner_len;
	} else {
		off += put_sid(buf + off, &SID_BA);
	}
	size_t group = off;
	off += put_sid(buf + off, &SID_SY);
	size_t dacl = off;
	size_t p = dacl + 8;
	for (size_t i = 0; i < naces; i++) {
		size_t start = p;
		buf[p] = 0; /* ACCESS_ALLOWED_ACE_TYPE */
		buf[p + 1] = aces[i].flags;
		le32(buf + p + 4, aces[i].mask);
		p += 8;
		p += put_sid(buf + p, aces[i].sid);
		le16(buf + start + 2, (uint32_t)(p - start));
	}
	buf[dacl] = 2; /* ACL_REVISION */
	le16(buf + dacl + 2, (uint32_t)(p - dacl));
	le16(buf + dacl + 4, (uint32_t)naces);
	buf[0] = 1; /* SECURITY_DESCRIPTOR_REVISION */
	le16(buf + 2, SE_SELF_RELATIVE | SE_DACL_PRESENT);
	le32(buf + 4, (uint32_t)owner);
	le32(buf + 8, (uint32_t)group);
	le32(buf + 12, 0);
	le32(buf + 16, (uint32_t)dacl);
	return p;
}

static char *b64(const unsigned char *sd, size_t n)
{
	char *b = xmalloc(4 * ((n + 2) / 3) + 1);
	EVP_EncodeBlock((unsigned char *)b, sd, (int)n);
	return b;
}

char *img_win_sd_base64(bool dir)
{
	unsigned char sd[IMG_WIN_SD_MAX];
	return b64(sd, img_win_sd_build(dir, sd));
}

char *img_win_sd_base64_owner(bool dir, const char *owner_sid)
{
	unsigned char sid[IMG_WIN_SID_MAX], sd[IMG_WIN_SD_MAX];
	size_t sl = img_win_sid_parse(owner_sid, sid);
	if (!sl)
		return NULL;
	return b64(sd, sd_build(dir, sid, sl, sd));
}
