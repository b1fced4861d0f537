/* Scope-bound cleanup (GNU cleanup attribute), as crun does it.
 * Ownership leaves a scope only through steal_pointer(). Modules that own
 * library handles (cJSON, struct archive, EVP_MD_CTX, pcre2_code) define
 * their own _cleanup_X_ with DEFINE_CLEANUP_FUNC in their headers. */
#ifndef BERTH_CLEANUP_H
#define BERTH_CLEANUP_H

#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define DEFINE_CLEANUP_FUNC(type, func)                                  \
	static inline void func##_ptr(type *p) { if (*p) func(*p); }

static inline void cleanup_freep(void *p) { free(*(void **)p); }
static inline void cleanup_fclosep(FILE **f) { if (*f) fclose(*f); }
static inline void cleanup_closep(int *fd) { if (*fd >= 0) close(*fd); }

#define _cleanup_(f) __attribute__((cleanup(f)))
#define _cleanup_free_ _cleanup_(cleanup_freep)
#define _cleanup_fclose_ _cleanup_(cleanup_fclosep)
#define _cleanup_close_ _cleanup_(cleanup_closep)

static inline void *steal_pointer_(void *pp)
{
	void **p = pp, *v = *p;
	*p = NULL;
	return v;
}
#define steal_pointer(pp) ((__typeof__(*(pp)))steal_pointer_(pp))

static inline int steal_fd(int *fd)
{
	int v = *fd;
	*fd = -1;
	return v;
}

#endif
