#include <string.h>

#include "common/common.h"
#include "image/img_strmap.h"

static size_t strhash(const char *s)
{
	uint64_t h = 1469598103934665603ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return (size_t)h;
}

static size_t slot_of(const struct img_hmap *m, const char *key)
{
	size_t i = strhash(key) & (m->cap - 1);
	while (m->keys[i] && strcmp(m->keys[i], key) != 0)
		i = (i + 1) & (m->cap - 1);
	return i;
}

static void grow(struct img_hmap *m)
{
	struct img_hmap n = { xcalloc(m->cap ? m->cap * 2 : 64, sizeof(char *)), NULL,
				m->cap ? m->cap * 2 : 64, m->len };
	n.vals = xcalloc(n.cap, sizeof(void *));
	for (size_t i = 0; i < m->cap; i++) {
		if (!m->keys[i])
			continue;
		size_t j = slot_of(&n, m->keys[i]);
		n.keys[j] = m->keys[i];
		n.vals[j] = m->vals[i];
	}
	free(m->keys);
	free(m->vals);
	*m = n;
}

void *img_hmap_put(struct img_hmap *m, const char *key, void *val)
{
	/* keep the load factor under 1/2 so probe chains stay short */
	if ((m->len + 1) * 2 > m->cap)
		grow(m);
	size_t i = slot_of(m, key);
	void *old = NULL;
	if (m->keys[i]) {
		old = m->vals[i];
	} else {
		m->keys[i] = xstrdup(key);
		m->len++;
	}
	m->vals[i] = val;
	return old;
}

bool img_hmap_get(const struct img_hmap *m, const char *key, void **val)
{
	if (!m->cap)
		return false;
	size_t i = slot_of(m, key);
	if (!m->keys[i])
		return false;
	if (val)
		*val = m->vals[i];
	return true;
}

void img_hmap_release(struct img_hmap *m)
{
	for (size_t i = 0; i < m->cap; i++)
		free(m->keys[i]);
	free(m->keys);
	free(m->vals);
	m->keys = NULL;
	m->vals = NULL;
	m->cap = m->len = 0;
}
