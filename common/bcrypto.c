/* libcrypto's non-digest functions, loaded on first use (bcrypto.h says
 * why). */
#define BCRYPTO_IMPL 1
#include <pthread.h>

#include "common/bcrypto.h"
#include "common/bdl.h"

const struct bcrypto_api *bcrypto_table;
static struct bcrypto_api api;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static const struct bdl_lib lib = { "libcrypto", BCRYPTO_SONAME, "libssl3" };

static void load(void)
{
	void *h = bdl_open(&lib);
#define BCRYPTO_SYM(name) BDL_SYM(&lib, h, api, name);
	BCRYPTO_FUNCS(BCRYPTO_SYM)
#undef BCRYPTO_SYM
	__atomic_store_n(&bcrypto_table, &api, __ATOMIC_RELEASE);
}

const struct bcrypto_api *bcrypto_load(void)
{
	pthread_once(&once, load);
	return bcrypto_table;
}
