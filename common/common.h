/* Everything every berth source file needs. Include after system headers:
 * banned.h (last) redefines unsafe libc names. */
#ifndef BERTH_COMMON_H
#define BERTH_COMMON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/buf.h"
#include "common/cleanup.h"
#include "common/fileio.h"
#include "common/path.h"
#include "common/sink.h"
#include "common/xalloc.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

#include "common/banned.h"

#endif
