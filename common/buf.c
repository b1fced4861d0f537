#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

static int reserve(struct bbuf *b, size_t extra, struct berr **err)
{
	if (extra > (size_t)-1 - b->len - 1)
		return berr_set(err, BERR_LIMIT, "buffer size overflow");
	size_t need = b->len + extra;
	if (b->limit && need > b->limit)
		return berr_set(err, BERR_LIMIT, "data exceeds the limit of %zu bytes", b->limit);
	if (need + 1 > b->cap) {
		size_t nc = b->cap ? b->cap : 64;
		while (nc < need + 1)
			nc = nc > (size_t)-1 / 2 ? need + 1 : nc * 2;
		b->data = xrealloc(b->data, nc);
		b->cap = nc;
	}
	return 0;
}

int bbuf_add(struct bbuf *b, const void *p, size_t n, struct berr **err)
{
	if (reserve(b, n, err) < 0)
		return -1;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int bbuf_addstr(struct bbuf *b, const char *s, struct berr **err)
{
	return bbuf_add(b, s, strlen(s), err);
}

int bbuf_addch(struct bbuf *b, char c, struct berr **err)
{
	return bbuf_add(b, &c, 1, err);
}

int bbuf_addf(struct bbuf *b, struct berr **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *s = xvasprintf(fmt, ap);
	va_end(ap);
	return bbuf_addstr(b, s, err);
}

void bbuf_reset(struct bbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

void bbuf_release(struct bbuf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

char *bbuf_detach(struct bbuf *b, size_t *len)
{
	if (!b->data)
		b->data = xcalloc(1, 1);
	char *d = b->data;
	if (len)
		*len = b->len;
	b->data = NULL;
	b->len = b->cap = 0;
	return d;
}

char *bnum_put(char *end, uint64_t v, unsigned base)
{
	static const char d2[] = "0001020304050607080910111213141516171819"
				 "2021222324252627282930313233343536373839"
				 "4041424344454647484950515253545556575859"
				 "6061626364656667686970717273747576777879"
				 "8081828384858687888990919293949596979899";
	if (base == 10) {
		for (; v >= 100; v /= 100) {
			end -= 2;
			memcpy(end, d2 + 2 * (v % 100), 2);
		}
		if (v >= 10) {
			end -= 2;
			memcpy(end, d2 + 2 * v, 2);
			return end;
		}
	}
	do {
		*--end = (char)('0' + v % base);
		v /= base;
	} while (v);
	return end;
}
