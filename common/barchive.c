/* libarchive loaded on first use (barchive.h says why). */
#define BARCHIVE_IMPL 1
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/barchive.h"
#include "common/common.h"

const struct barchive_api *barchive_table;
static struct barchive_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void fatal(const char *what, const char *detail)
{
	fprintf(stderr, "berth: fatal: %s (%s; install the libarchive13 package)\n", what,
		detail ? detail : BARCHIVE_SONAME);
	exit(127);
}

static void load(void)
{
	void *h = dlopen(BARCHIVE_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		fatal("libarchive could not be loaded", dlerror());
	/* dlsym into a function pointer: POSIX guarantees the conversion */
#define BARCHIVE_SYM(name)                                                    \
	do {                                                                  \
		void *p_ = dlsym(h, #name);                                   \
		if (!p_)                                                      \
			fatal(BARCHIVE_SONAME " has no '" #name "' (too old?)", NULL); \
		memcpy(&api.name, &p_, sizeof(p_));                           \
	} while (0);
	BARCHIVE_FUNCS(BARCHIVE_SYM)
#undef BARCHIVE_SYM
	__atomic_store_n(&barchive_table, &api, __ATOMIC_RELEASE);
}

const struct barchive_api *barchive_load(void)
{
	pthread_once(&once, load);
	return barchive_table;
}
