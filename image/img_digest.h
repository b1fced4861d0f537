/* SHA-256 digests in OCI form ("sha256:" + 64 lowercase hex).
 * Owner: image/ (imgstore). A struct img_digest is a plain value (no heap),
 * always NUL-terminated; an all-zero struct means "unset". */
#ifndef BERTH_IMG_DIGEST_H
#define BERTH_IMG_DIGEST_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"

#define IMG_DIGEST_ALGO "sha256"
#define IMG_DIGEST_HEX_LEN 64
#define IMG_DIGEST_STR_LEN (sizeof(IMG_DIGEST_ALGO) + IMG_DIGEST_HEX_LEN) /* incl. ':' */

struct img_digest {
	char s[IMG_DIGEST_STR_LEN + 1]; /* "sha256:<hex>" */
};

/* Incremental hasher (OpenSSL EVP). Allocation failure aborts like xmalloc. */
struct img_hasher;
struct img_hasher *img_hasher_new(void);
void img_hasher_update(struct img_hasher *h, const void *p, size_t n);
/* Writes the digest; the hasher is reset and may be reused. */
void img_hasher_final(struct img_hasher *h, struct img_digest *out);
void img_hasher_free(struct img_hasher *h);

void img_digest_bytes(const void *p, size_t n, struct img_digest *out);

/* Strict check: "sha256:" + exactly 64 lowercase hex digits. */
bool img_digest_valid(const char *s);
/* Validates and copies; error names `what` (e.g. "manifest layers[2].digest"). */
int img_digest_parse(const char *s, const char *what, struct img_digest *out, struct berr **err);
/* s starts with 64 lowercase hex digits (what follows is not looked at;
 * a NUL among them stops the check) */
bool img_digest_hex_digits(const char *s);
/* Accepts a bare 64-hex string as well (CLI convenience). */
int img_digest_from_hex(const char *hex, struct img_digest *out, struct berr **err);
static inline const char *img_digest_hex(const struct img_digest *d) { return d->s + sizeof(IMG_DIGEST_ALGO); }
static inline bool img_digest_is_set(const struct img_digest *d) { return d->s[0] != '\0'; }
bool img_digest_equal(const struct img_digest *a, const struct img_digest *b);

/* ChainID of diff_ids[0..n): sha256 of "<chain> <diff>" folded left. */
void img_chain_id(const struct img_digest *diff_ids, size_t n, struct img_digest *out);

#endif
