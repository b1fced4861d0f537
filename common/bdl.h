/* Libraries that berth loads on first use instead of linking (barchive.h
 * and bcrypto.h say why for each): the shared part of their loaders. Such
 * a library is not optional: when it cannot be loaded, or lacks a function
 * berth calls, berth stops with a message naming the library and the
 * package to install, exit status 127, as the dynamic linker would have at
 * start. */
#ifndef BERTH_BDL_H
#define BERTH_BDL_H

#include <stddef.h>

struct bdl_lib {
	const char *name;    /* for messages: "libarchive" */
	const char *soname;  /* "libarchive.so.13" */
	const char *package; /* the Debian package that installs it */
};

/* the library's handle (dlopen RTLD_NOW | RTLD_LOCAL); never returns
 * without one */
void *bdl_open(const struct bdl_lib *l);

/* stores the address of sym in *slot, a function pointer of slot_size
 * bytes; never returns without it */
void bdl_sym(const struct bdl_lib *l, void *h, const char *sym, void *slot, size_t slot_size);

/* the same for a table member: BDL_SYM(&lib, h, api, archive_read_new) */
#define BDL_SYM(l, h, api, name) bdl_sym((l), (h), #name, &(api).name, sizeof((api).name))

#endif
