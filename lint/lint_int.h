/* lint/: internal helpers shared between lint/ sources (not public API). */
#ifndef BERTH_LINT_INT_H
#define BERTH_LINT_INT_H

#include <stddef.h>
#include "lint/lint.h"

/* lint_rule_find for a counted (not NUL-terminated) ID. */
const struct lint_rule *lint_rule_find_n(const char *id, size_t n);

#endif
