/* SHA-256 digests via OpenSSL.
 *
 * OpenSSL 3's EVP interface initialises itself on first use (reads
 * openssl.cnf, activates its providers): ~2.5 ms here, measured, at the
 * start of every build, whose first digest is a cache key. The SHA256_*
 * functions compute the same digest with the same code (SHA-NI where the
 * CPU has it) without a provider, first call 0.1 ms. They are deprecated
 * in 3.0 but present in every 3.x, so berth uses them there and EVP where
 * they are gone (OpenSSL 4, or a build without the deprecated API).
 * Either way they are linked in from libcrypto.a where the system has
 * one (common/bcrypto.h says why). */
#define OPENSSL_SUPPRESS_DEPRECATED 1
#include <openssl/evp.h>
#include <openssl/opensslv.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "image/img_digest.h"

#if OPENSSL_VERSION_MAJOR < 4 && !defined(OPENSSL_NO_DEPRECATED_3_0)
#define DIGEST_DIRECT 1
#else
#define DIGEST_DIRECT 0
#endif

/* Small updates are gathered and handed to OpenSSL in one call: a cache
 * key is built from three short strings per context file, and a call per
 * string cost more than the hashing itself. The digest is the same. */
#define HASHER_BUF 8192

struct img_hasher {
#if DIGEST_DIRECT
	SHA256_CTX ctx;
#else
	EVP_MD_CTX *ctx;
#endif
	size_t n;
	unsigned char buf[HASHER_BUF];
};

/* the three steps, on whichever interface (they only fail on allocation
 * failure inside OpenSSL: abort, as xmalloc does) */
static void sha_init(struct img_hasher *h)
{
#if DIGEST_DIRECT
	if (SHA256_Init(&h->ctx) != 1)
		abort();
#else
	if (EVP_DigestInit_ex(h->ctx, EVP_sha256(), NULL) != 1)
		abort();
#endif
}

static void sha_update(struct img_hasher *h, const void *p, size_t n)
{
#if DIGEST_DIRECT
	if (SHA256_Update(&h->ctx, p, n) != 1)
		abort();
#else
	if (EVP_DigestUpdate(h->ctx, p, n) != 1)
		abort();
#endif
}

static void sha_final(struct img_hasher *h, unsigned char md[32])
{
#if DIGEST_DIRECT
	if (SHA256_Final(md, &h->ctx) != 1)
		abort();
#else
	unsigned int len = 0;
	if (EVP_DigestFinal_ex(h->ctx, md, &len) != 1 || len != 32)
		abort();
#endif
}

static void hasher_flush(struct img_hasher *h)
{
	if (h->n)
		sha_update(h, h->buf, h->n);
	h->n = 0;
}

static void hasher_init(struct img_hasher *h)
{
	h->n = 0;
	sha_init(h);
}

struct img_hasher *img_hasher_new(void)
{
	struct img_hasher *h = xcalloc(1, sizeof(*h));
#if !DIGEST_DIRECT
	h->ctx = EVP_MD_CTX_new();
	if (!h->ctx)
		abort();
#endif
	hasher_init(h);
	return h;
}

void img_hasher_update(struct img_hasher *h, const void *p, size_t n)
{
	if (n <= HASHER_BUF - h->n) {
		memcpy(h->buf + h->n, p, n);
		h->n += n;
		return;
	}
	hasher_flush(h);
	if (n < HASHER_BUF / 2) {
		memcpy(h->buf, p, n);
		h->n = n;
	} else {
		sha_update(h, p, n);
	}
}

static void to_digest(const unsigned char *md, struct img_digest *out)
{
	static const char hex[] = "0123456789abcdef";
	memcpy(out->s, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO));
	char *o = out->s + sizeof(IMG_DIGEST_ALGO);
	for (int i = 0; i < 32; i++) {
		*o++ = hex[md[i] >> 4];
		*o++ = hex[md[i] & 15];
	}
	*o = '\0';
}

void img_hasher_final(struct img_hasher *h, struct img_digest *out)
{
	unsigned char md[32];
	hasher_flush(h);
	sha_final(h, md);
	to_digest(md, out);
	hasher_init(h);
}

void img_hasher_free(struct img_hasher *h)
{
	if (!h)
		return;
#if !DIGEST_DIRECT
	EVP_MD_CTX_free(h->ctx);
#endif
	free(h);
}

void img_digest_bytes(const void *p, size_t n, struct img_digest *out)
{
	unsigned char md[32];
#if DIGEST_DIRECT
	/* not SHA256(): in 3.x the one-shot goes through EVP */
	SHA256_CTX c;
	if (SHA256_Init(&c) != 1 || SHA256_Update(&c, p, n) != 1 || SHA256_Final(md, &c) != 1)
		abort();
#else
	unsigned int len = 0;
	if (EVP_Digest(p, n, md, &len, EVP_sha256(), NULL) != 1 || len != 32)
		abort();
#endif
	to_digest(md, out);
}

/* Lowercase hex, 16 bytes a step with GCC's generic vectors (SSE2 on
 * x86-64, plain integer code where there is no vector unit): this check
 * runs once per context file in a cached rebuild, and a byte at a time it
 * was ~8 instructions a digit. strnlen first: a string shorter than 64 is
 * never read past its end. */
bool img_digest_hex_digits(const char *s)
{
	typedef unsigned char v16 __attribute__((vector_size(16)));
	if (strnlen(s, IMG_DIGEST_HEX_LEN) < IMG_DIGEST_HEX_LEN)
		return false;
	v16 bad = { 0 };
	for (size_t i = 0; i < IMG_DIGEST_HEX_LEN; i += sizeof(v16)) {
		v16 x;
		memcpy(&x, s + i, sizeof(x));
		/* unsigned wrap: below '0' (or 'a') becomes large */
		bad |= (v16)(((v16)(x - '0') > 9) & ((v16)(x - 'a') > 5));
	}
	uint64_t w[2];
	memcpy(w, &bad, sizeof(w));
	return !(w[0] | w[1]);
}

/* exactly 64 digits */
static bool hex64(const char *s)
{
	return img_digest_hex_digits(s) && s[IMG_DIGEST_HEX_LEN] == '\0';
}

bool img_digest_valid(const char *s)
{
	if (!s || strncmp(s, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO)) != 0)
		return false;
	return hex64(s + sizeof(IMG_DIGEST_ALGO));
}

int img_digest_parse(const char *s, const char *what, struct img_digest *out, struct berr **err)
{
	if (!img_digest_valid(s)) {
		if (s && strchr(s, ':') && strncmp(s, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO)) != 0)
			return berr_set(err, BERR_UNSUPPORTED, "%s: unsupported digest algorithm in '%.80s'",
					what ? what : "digest", s);
		return berr_set(err, BERR_INPUT,
				"%s: invalid digest '%.80s' (want sha256: and 64 lowercase hex digits)",
				what ? what : "digest", s ? s : "");
	}
	memcpy(out->s, s, IMG_DIGEST_STR_LEN + 1);
	return 0;
}

int img_digest_from_hex(const char *hex, struct img_digest *out, struct berr **err)
{
	if (hex && strncmp(hex, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO)) == 0)
		return img_digest_parse(hex, NULL, out, err);
	if (!hex || !hex64(hex))
		return berr_set(err, BERR_INPUT, "invalid digest '%.80s'", hex ? hex : "");
	memcpy(out->s, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO));
	memcpy(out->s + sizeof(IMG_DIGEST_ALGO), hex, IMG_DIGEST_HEX_LEN + 1);
	return 0;
}

bool img_digest_equal(const struct img_digest *a, const struct img_digest *b)
{
	return strcmp(a->s, b->s) == 0;
}

void img_chain_id(const struct img_digest *diff_ids, size_t n, struct img_digest *out)
{
	memset(out, 0, sizeof(*out));
	if (n == 0)
		return;
	*out = diff_ids[0];
	for (size_t i = 1; i < n; i++) {
		char buf[2 * IMG_DIGEST_STR_LEN + 2];
		int len = snprintf(buf, sizeof(buf), "%s %s", out->s, diff_ids[i].s);
		img_digest_bytes(buf, (size_t)len, out);
	}
}
