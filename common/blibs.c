/* zstd, zlib and libyaml loaded on first use (blibs.h says
 * why). */
#define BLIBS_IMPL 1
#include <pthread.h>

#include "common/blibs.h"

BDL_TABLE_DEFINE(bzstd, BZSTD_FUNCS, "zstd", "libzstd.so.1", "libzstd1")
BDL_TABLE_DEFINE(bzlib, BZLIB_FUNCS, "zlib", "libz.so.1", "zlib1g")
BDL_TABLE_DEFINE(byaml, BYAML_FUNCS, "libyaml", "libyaml-0.so.2", "libyaml-0-2")
