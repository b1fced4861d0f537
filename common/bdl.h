/* Libraries that berth loads on first use instead of linking (barchive.h,
 * bcrypto.h and blibs.h say why for each): the shared part of their
 * loaders. Such a library is not optional: when it cannot be loaded, or
 * lacks a function berth calls, berth stops with a message naming the
 * library and the package to install, exit status 127, as the dynamic
 * linker would have at start. */
#ifndef BERTH_BDL_H
#define BERTH_BDL_H

struct bdl_lib {
	const char *name;    /* for messages: "libarchive" */
	const char *soname;  /* "libarchive.so.13" */
	const char *package; /* the Debian package(s) that install it */
};

/* the library's handle (dlopen RTLD_NOW | RTLD_LOCAL); never returns
 * without one */
void *bdl_open(const struct bdl_lib *l);

/* stores the address of sym in *slot, a function pointer; never returns
 * without it */
void bdl_sym(const struct bdl_lib *l, void *h, const char *sym, void *slot);

/* the same for a table member: BDL_SYM(&lib, h, api, archive_read_new) */
#define BDL_SYM(l, h, api, name)                                                 \
	do {                                                                     \
		_Static_assert(sizeof((api).name) == sizeof(void *),             \
			       "a function pointer is as wide as dlsym's answer"); \
		bdl_sym((l), (h), #name, &(api).name);                           \
	} while (0)

/* A library's table, for its header: FUNCS(X) lists the functions berth
 * calls; struct NAME_api has a pointer of each one's type, NAME() returns
 * the table, loading the library on first use (thread-safe). The header
 * then defines each function's name as a macro calling through NAME()
 * (guarded by NAME_IMPL, which the defining file sets). */
#define BDL_MEMBER_(fn) __typeof__(fn) *fn;
#define BDL_TABLE_DECL(NAME, FUNCS)                                              \
	struct NAME##_api {                                                      \
		FUNCS(BDL_MEMBER_)                                               \
	};                                                                       \
	const struct NAME##_api *NAME##_load(void);                              \
	extern const struct NAME##_api *NAME##_table;                            \
	static inline const struct NAME##_api *NAME(void)                        \
	{                                                                        \
		const struct NAME##_api *t_ =                                    \
			__atomic_load_n(&NAME##_table, __ATOMIC_ACQUIRE);        \
		return t_ ? t_ : NAME##_load();                                  \
	}

/* ... and its definition, in one .c file (which includes <pthread.h>):
 * BDL_TABLE_DEFINE(barchive, BARCHIVE_FUNCS, "libarchive",
 *                  "libarchive.so.13", "libarchive13") */
#define BDL_SYM_(fn) BDL_SYM(l_, h_, *a_, fn);
#define BDL_TABLE_DEFINE(NAME, FUNCS, libname, soname, package)                \
	const struct NAME##_api *NAME##_table;                                   \
	static struct NAME##_api NAME##_api_;                                    \
	static pthread_once_t NAME##_once_ = PTHREAD_ONCE_INIT;                  \
	static void NAME##_fill_(void)                                           \
	{                                                                        \
		static const struct bdl_lib lib_ = { libname, soname, package }; \
		const struct bdl_lib *l_ = &lib_;                                \
		struct NAME##_api *a_ = &NAME##_api_;                            \
		void *h_ = bdl_open(l_);                                         \
		FUNCS(BDL_SYM_)                                                  \
		__atomic_store_n(&NAME##_table, a_, __ATOMIC_RELEASE);           \
	}                                                                        \
	const struct NAME##_api *NAME##_load(void)                               \
	{                                                                        \
		pthread_once(&NAME##_once_, NAME##_fill_);                       \
		return NAME##_table;                                             \
	}

#endif
