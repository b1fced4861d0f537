/* Bump allocator (arena.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "common/arena.h"
#include "common/common.h"

#define BARENA_FIRST ((size_t)16 << 10)
#define BARENA_ALIGN 16

struct barena_chunk {
	struct barena_chunk *next;
	size_t size;    /* of the whole chunk, header included */
	int mapped;     /* from map_huge, else malloc */
};

/* 2 MiB-aligned, so that the kernel can back it with huge pages */
static void *map_huge(size_t size)
{
	size_t span = size + BARENA_HUGE;
	char *p = mmap(NULL, span, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
	char *a = (char *)(((uintptr_t)p + BARENA_HUGE - 1) & ~(uintptr_t)(BARENA_HUGE - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	size_t tail = (size_t)(p + span - (a + size));
	if (tail)
		munmap(a + size, tail);
	(void)madvise(a, size, MADV_HUGEPAGE); /* a hint; EINVAL without THP */
	return a;
}

static void grow(struct barena *a, size_t need)
{
	size_t hdr = (sizeof(struct barena_chunk) + BARENA_ALIGN - 1) & ~(size_t)(BARENA_ALIGN - 1);
	/* small arenas stay small; one that outgrows its first chunk is
	 * likely to be large, so it goes to huge pages at once */
	size_t size = a->head ? BARENA_HUGE : BARENA_FIRST;
	while (size < need + hdr)
		size *= 2;
	struct barena_chunk *c;
	int mapped = 0;
	if (size >= BARENA_HUGE) {
		size = (size + BARENA_HUGE - 1) & ~(BARENA_HUGE - 1);
		c = map_huge(size);
		if (!c)
			xalloc_die(size);
		mapped = 1;
	} else {
		c = xmalloc(size);
		a->small = c;
	}
	c->next = a->head;
	c->size = size;
	c->mapped = mapped;
	a->head = c;
	a->cur = (char *)c + hdr;
	a->end = (char *)c + size;
}

/* n bytes at cur rounded up to align (a power of two, at most
 * BARENA_ALIGN: chunks start aligned to it) */
static char *take(struct barena *a, size_t n, size_t align)
{
	char *p = a->cur ? (char *)(((uintptr_t)a->cur + align - 1) & ~(uintptr_t)(align - 1)) : NULL;
	if (!p || p > a->end || (size_t)(a->end - p) < n) {
		grow(a, n);
		p = a->cur;
	}
	a->cur = p + n;
	return p;
}

void *barena_alloc(struct barena *a, size_t n)
{
	return take(a, n ? n : 1, BARENA_ALIGN);
}

void *barena_zalloc(struct barena *a, size_t n)
{
	return memset(barena_alloc(a, n), 0, n);
}

/* Strings are not aligned: a walk keeps a name and a path or two per
 * file, and rounding each up to 16 bytes cost a fifth of that memory,
 * all of it fresh pages. */
char *barena_strndup(struct barena *a, const char *s, size_t n)
{
	char *p = take(a, n + 1, 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *barena_strdup(struct barena *a, const char *s)
{
	return barena_strndup(a, s, strlen(s));
}

char *barena_join(struct barena *a, const char *x, const char *sep, const char *y)
{
	size_t lx = strlen(x), ls = strlen(sep), ly = strlen(y);
	char *p = take(a, lx + ls + ly + 1, 1);
	memcpy(p, x, lx);
	memcpy(p + lx, sep, ls);
	memcpy(p + lx + ls, y, ly + 1);
	return p;
}

void barena_release(struct barena *a)
{
	struct barena_chunk *c = a->head;
	while (c) {
		struct barena_chunk *n = c->next;
		if (c->mapped)
			munmap(c, c->size);
		else
			free(c);
		c = n;
	}
	*a = (struct barena)BARENA_INIT;
}
