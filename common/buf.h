/* Growable byte buffer with an optional size cap.
 * data is always NUL-terminated (so text can be used as a C string) and
 * owned by the buffer until bbuf_detach(). limit == 0 means no cap; a write
 * past the cap fails with BERR_LIMIT and leaves the buffer unchanged. */
#ifndef BERTH_BUF_H
#define BERTH_BUF_H

#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"

struct bbuf {
	char *data;
	size_t len, cap;
	size_t limit;
};
#define BBUF_INIT { NULL, 0, 0, 0 }

int bbuf_add(struct bbuf *b, const void *p, size_t n, struct berr **err);
int bbuf_addstr(struct bbuf *b, const char *s, struct berr **err);
int bbuf_addch(struct bbuf *b, char c, struct berr **err);
int bbuf_addf(struct bbuf *b, struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void bbuf_reset(struct bbuf *b);          /* len = 0, keeps memory */
void bbuf_release(struct bbuf *b);        /* frees, back to BBUF_INIT (limit kept) */
char *bbuf_detach(struct bbuf *b, size_t *len); /* caller owns; never NULL */
/* data as a string, "" for an empty never-written buffer */
static inline const char *bbuf_str(const struct bbuf *b) { return b->data ? b->data : ""; }

/* v's digits in base 8 or 10, written backwards so as to end at end (no
 * NUL); returns the first. Decimal goes two digits a step: the stat cache
 * and the COPY cache key format numbers for every context file. */
char *bnum_put(char *end, uint64_t v, unsigned base);

static inline void bbuf_releasep(struct bbuf *b) { bbuf_release(b); }
#define _cleanup_bbuf_ __attribute__((cleanup(bbuf_releasep)))

#endif
