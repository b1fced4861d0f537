/* Loading a library on first use (bdl.h). */
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/bdl.h"

static void fatal(const struct bdl_lib *l, const char *what, const char *detail)
{
	fprintf(stderr, "berth: fatal: %s (%s; install the %s package)\n", what, detail,
		l->package);
	exit(127);
}

void *bdl_open(const struct bdl_lib *l)
{
	void *h = dlopen(l->soname, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		char what[128];
		snprintf(what, sizeof(what), "%s could not be loaded", l->name);
		fatal(l, what, e ? e : l->soname);
	}
	return h;
}

void bdl_sym(const struct bdl_lib *l, void *h, const char *sym, void *slot)
{
	void *p = dlsym(h, sym);
	if (!p) {
		char what[256];
		snprintf(what, sizeof(what), "%s has no '%s' (too old?)", l->soname, sym);
		fatal(l, what, l->soname);
	}
	/* dlsym into a function pointer: POSIX guarantees the conversion */
	memcpy(slot, &p, sizeof(p));
}
