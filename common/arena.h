/* Bump allocator for many small objects freed together (a walk's directory
 * entries, a COPY plan's paths).
 *
 * Why not malloc each: a nothing-changed rebuild of a 20k-file context
 * makes ~60k small allocations, and on a VM with shadow page tables every
 * fresh 4 KiB page costs a fault of ~10 us (measured here: 1000 faults
 * 12 ms; a 4 MiB region backed by transparent huge pages 0.3 ms). The
 * first chunk is small (16 KiB, malloc); the ones after it are 2 MiB-aligned
 * mappings of 2 MiB or more advised for huge pages (a hint: without THP they
 * are ordinary pages, touched only as far as used).
 *
 * Not thread-safe: one arena per thread. barena_release accepts an empty
 * arena; memory is only returned by barena_release. */
#ifndef BERTH_ARENA_H
#define BERTH_ARENA_H

#include <stddef.h>

struct barena_chunk;

struct barena {
	struct barena_chunk *head;
	char *cur, *end;
	/* the malloc'd first chunk, also at the chain's end: held here too
	 * because LeakSanitizer does not look inside the mappings through
	 * which the chain reaches it (a fatal exit mid-build would report it) */
	struct barena_chunk *small;
};
#define BARENA_INIT { NULL, NULL, NULL, NULL }
#define BARENA_HUGE ((size_t)2 << 20)

/* n bytes, 16-byte aligned, uninitialised. Aborts on exhaustion like xmalloc. */
void *barena_alloc(struct barena *a, size_t n);
/* n zeroed bytes */
void *barena_zalloc(struct barena *a, size_t n);
/* strings are packed (not aligned) */
char *barena_strdup(struct barena *a, const char *s);
char *barena_strndup(struct barena *a, const char *s, size_t n);
/* a + sep + b (sep may be ""), one allocation */
char *barena_join(struct barena *a, const char *x, const char *sep, const char *y);
void barena_release(struct barena *a);

#endif
