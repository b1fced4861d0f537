/* libarchive loaded on first use (barchive.h says why). */
#define BARCHIVE_IMPL 1
#include <pthread.h>

#include "common/barchive.h"
#include "common/bdl.h"
#include "common/common.h"

const struct barchive_api *barchive_table;
static struct barchive_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct bdl_lib lib = { "libarchive", BARCHIVE_SONAME, "libarchive13" };

static void load(void)
{
	void *h = bdl_open(&lib);
#define BARCHIVE_SYM(name) BDL_SYM(&lib, h, api, name);
	BARCHIVE_FUNCS(BARCHIVE_SYM)
#undef BARCHIVE_SYM
	__atomic_store_n(&barchive_table, &api, __ATOMIC_RELEASE);
}

const struct barchive_api *barchive_load(void)
{
	pthread_once(&once, load);
	return barchive_table;
}
