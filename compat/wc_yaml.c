/* libyaml document helpers (see wc_yaml.h). */
#include <string.h>

#include "common/common.h"
#include "compat/wc_yaml.h"

int wc_yaml_load(const char *data, size_t len, const char *name, struct wc_yaml **out,
		 struct berr **err)
{
	*out = NULL;
	if (len > WC_YAML_MAX_SIZE)
		return berr_set(err, BERR_LIMIT, "%s: larger than %u bytes", name, WC_YAML_MAX_SIZE);
	if (memchr(data, '\0', len))
		return berr_set(err, BERR_INPUT, "%s: contains NUL bytes", name);
	yaml_parser_t p;
	if (!yaml_parser_initialize(&p))
		return berr_set(err, BERR_INTERNAL, "%s: cannot initialise the YAML parser", name);
	yaml_parser_set_input_string(&p, (const unsigned char *)data, len);
	struct wc_yaml *y = xcalloc(1, sizeof(*y));
	y->name = xstrdup(name);
	if (!yaml_parser_load(&p, &y->doc)) {
		/* libyaml marks are 0-based */
		int line = (int)p.problem_mark.line + 1, col = (int)p.problem_mark.column + 1;
		if (p.context)
			berr_set_at(err, BERR_INPUT, name, line, col, "invalid YAML: %s %s (from line %d, "
				    "column %d)", p.problem ? p.problem : "error", p.context,
				    (int)p.context_mark.line + 1, (int)p.context_mark.column + 1);
		else
			berr_set_at(err, BERR_INPUT, name, line, col, "invalid YAML: %s",
				    p.problem ? p.problem : "error");
		yaml_parser_delete(&p);
		free(y->name);
		free(y);
		return -1;
	}
	y->loaded = true;
	yaml_parser_delete(&p);
	*out = y;
	return 0;
}

void wc_yaml_free(struct wc_yaml *y)
{
	if (!y)
		return;
	if (y->loaded)
		yaml_document_delete(&y->doc);
	free(y->name);
	free(y);
}

yaml_node_t *wc_yaml_root(struct wc_yaml *y)
{
	return yaml_document_get_root_node(&y->doc);
}

const char *wc_yaml_str(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE ? (const char *)n->data.scalar.value : NULL;
}

bool wc_yaml_is_null(const yaml_node_t *n)
{
	if (!n)
		return true;
	if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	const char *s = (const char *)n->data.scalar.value;
	return !*s || strcmp(s, "~") == 0 || strcmp(s, "null") == 0 || strcmp(s, "Null") == 0 ||
	       strcmp(s, "NULL") == 0;
}

bool wc_yaml_is_map(const yaml_node_t *n)
{
	return n && n->type == YAML_MAPPING_NODE;
}

bool wc_yaml_is_seq(const yaml_node_t *n)
{
	return n && n->type == YAML_SEQUENCE_NODE;
}

int wc_yaml_line(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.line + 1 : 0;
}

int wc_yaml_col(const yaml_node_t *n)
{
	return n ? (int)n->start_mark.column + 1 : 0;
}

size_t wc_yaml_seq_len(const yaml_node_t *seq)
{
	if (!wc_yaml_is_seq(seq))
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *wc_yaml_seq_at(struct wc_yaml *y, const yaml_node_t *seq, size_t i)
{
	if (i >= wc_yaml_seq_len(seq))
		return NULL;
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

size_t wc_yaml_map_len(const yaml_node_t *map)
{
	if (!wc_yaml_is_map(map))
		return 0;
	return (size_t)(map->data.mapping.pairs.top - map->data.mapping.pairs.start);
}

yaml_node_t *wc_yaml_map_at(struct wc_yaml *y, const yaml_node_t *map, size_t i, yaml_node_t **key)
{
	if (i >= wc_yaml_map_len(map))
		return NULL;
	yaml_node_pair_t *p = &map->data.mapping.pairs.start[i];
	if (key)
		*key = yaml_document_get_node(&y->doc, p->key);
	return yaml_document_get_node(&y->doc, p->value);
}

static yaml_node_t *get_depth(struct wc_yaml *y, yaml_node_t *map, const char *key, int depth,
			      int *budget)
{
	/* depth bounds alias loops, the budget bounds fan-out (<<: [*a, *a, ...]) */
	if (!wc_yaml_is_map(map) || depth > WC_YAML_MAX_MERGE_DEPTH || --*budget < 0)
		return NULL;
	size_t n = wc_yaml_map_len(map);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k = NULL;
		yaml_node_t *v = wc_yaml_map_at(y, map, i, &k);
		const char *ks = wc_yaml_str(k);
		if (ks && strcmp(ks, key) == 0)
			return v;
	}
	/* YAML 1.1 merge keys: `<<: *anchor` or `<<: [*a, *b]` (earlier wins) */
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *k = NULL;
		yaml_node_t *v = wc_yaml_map_at(y, map, i, &k);
		const char *ks = wc_yaml_str(k);
		if (!ks || strcmp(ks, "<<") != 0)
			continue;
		if (wc_yaml_is_map(v))
			return get_depth(y, v, key, depth + 1, budget);
		for (size_t j = 0; j < wc_yaml_seq_len(v); j++) {
			yaml_node_t *r = get_depth(y, wc_yaml_seq_at(y, v, j), key, depth + 1, budget);
			if (r)
				return r;
		}
	}
	return NULL;
}

yaml_node_t *wc_yaml_get(struct wc_yaml *y, yaml_node_t *map, const char *key)
{
	int budget = WC_YAML_MAX_MERGE_VISITS;
	return get_depth(y, map, key, 0, &budget);
}
