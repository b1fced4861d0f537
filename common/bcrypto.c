/* libcrypto's non-digest functions, loaded on first use (bcrypto.h says
 * why). */
#define BCRYPTO_IMPL 1
#include <pthread.h>

#include "common/bcrypto.h"

BDL_TABLE_DEFINE(bcrypto, BCRYPTO_FUNCS, "libcrypto", BCRYPTO_SONAME, "libssl3 or libssl3t64")
