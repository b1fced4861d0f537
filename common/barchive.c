/* libarchive loaded on first use (barchive.h says why). */
#define BARCHIVE_IMPL 1
#include <pthread.h>

#include "common/barchive.h"

BDL_TABLE_DEFINE(barchive, BARCHIVE_FUNCS, "libarchive", BARCHIVE_SONAME, "libarchive13 or libarchive13t64")
