/* compat/: YAML documents for the compose and workflow loaders, read with
 * libyaml's document loader (no YAML parsing of our own). Helpers give
 * mapping lookups (with `<<` merge keys, as compose files use them), scalar
 * values and 1-based positions from libyaml's marks.
 *
 * Ownership: a struct wc_yaml owns its document; every yaml_node_t pointer
 * returned borrows from it until wc_yaml_free(). */
#ifndef BERTH_WC_YAML_H
#define BERTH_WC_YAML_H

#include <stdbool.h>
#include <stddef.h>

#include "common/berr.h"
#include "common/blibs.h"

#define WC_YAML_MAX_SIZE (8u << 20)    /* compose / workflow file size cap */
#define WC_YAML_MAX_MERGE_DEPTH 8       /* nested `<<` merges followed (aliases may loop) */
#define WC_YAML_MAX_MERGE_VISITS 256    /* mappings visited by one lookup */

struct wc_yaml {
	char *name;
	yaml_document_t doc;
	bool loaded;
};

/* Load the first document. Errors carry name:line:col from libyaml's
 * problem mark; an empty document gives a NULL root (the caller decides). */
int wc_yaml_load(const char *data, size_t len, const char *name, struct wc_yaml **out,
		 struct berr **err);
void wc_yaml_free(struct wc_yaml *y);

yaml_node_t *wc_yaml_root(struct wc_yaml *y);
/* Value of `key` in mapping `map` (NULL if map is not a mapping or has no
 * such key); keys reached through `<<` merge keys count, own keys first. */
yaml_node_t *wc_yaml_get(struct wc_yaml *y, yaml_node_t *map, const char *key);
/* Scalar text, or NULL for a non-scalar / NULL node. */
const char *wc_yaml_str(const yaml_node_t *n);
/* true for a scalar that is YAML null ("", "~", "null" written plain) */
bool wc_yaml_is_null(const yaml_node_t *n);
bool wc_yaml_is_map(const yaml_node_t *n);
bool wc_yaml_is_seq(const yaml_node_t *n);
/* 1-based position of a node's start */
int wc_yaml_line(const yaml_node_t *n);
int wc_yaml_col(const yaml_node_t *n);

/* Iteration: sequence items and mapping pairs (mapping keys as scalars;
 * the key node is returned through *key). Index-based so that callers
 * need no libyaml internals. */
size_t wc_yaml_seq_len(const yaml_node_t *seq);
yaml_node_t *wc_yaml_seq_at(struct wc_yaml *y, const yaml_node_t *seq, size_t i);
size_t wc_yaml_map_len(const yaml_node_t *map);
yaml_node_t *wc_yaml_map_at(struct wc_yaml *y, const yaml_node_t *map, size_t i, yaml_node_t **key);

#endif
