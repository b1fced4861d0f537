/* Allocation helpers. Out of memory is not a recoverable input error for a
 * CLI tool; like git's xmalloc we report it and abort instead of threading an
 * impossible-to-test error path through every caller. Input-driven sizes are
 * bounded by named limits before they reach an allocator. */
#ifndef BERTH_XALLOC_H
#define BERTH_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

/* Reports that n bytes could not be had, and aborts. */
void xalloc_die(size_t n) __attribute__((noreturn));
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
/* realloc for arrays with overflow check */
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Grow an array `p` of `*cap` elements so that it holds at least `need`. */
#define XGROW(p, need, cap)                                                  \
	do {                                                                 \
		if ((size_t)(need) > (cap)) {                                \
			size_t nc_ = (cap) ? (cap) * 2 : 8;                  \
			while (nc_ < (size_t)(need))                         \
				nc_ *= 2;                                    \
			(p) = xreallocarray((p), nc_, sizeof(*(p)));         \
			(cap) = nc_;                                         \
		}                                                            \
	} while (0)

#endif
