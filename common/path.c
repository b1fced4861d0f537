#include <string.h>

#include "common/common.h"

size_t bpath_clean_into(const char *p, size_t n, char *out)
{
	if (n == 0) {
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	bool rooted = p[0] == '/';
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && r + 1 < n && p[r + 1] == '.' &&
			   (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return w;
}

char *bpath_clean(const char *p)
{
	size_t n = strlen(p);
	char *out = xmalloc(n + 2);
	bpath_clean_into(p, n, out);
	return out;
}

bool bpath_is_contained(const char *rel)
{
	if (rel[0] == '/')
		return false;
	_cleanup_free_ char *c = bpath_clean(rel);
	return !(strcmp(c, "..") == 0 || strncmp(c, "../", 3) == 0);
}

int bpath_join(const char *root, const char *rel, char **out, struct berr **err)
{
	if (rel[0] == '/')
		return berr_set(err, BERR_SECURITY, "path '%s' is absolute", rel);
	if (!bpath_is_contained(rel))
		return berr_set(err, BERR_SECURITY, "path '%s' escapes its root", rel);
	_cleanup_free_ char *c = bpath_clean(rel);
	if (strcmp(c, ".") == 0)
		*out = xstrdup(root);
	else
		*out = xasprintf("%s%s%s", root,
				 root[0] && root[strlen(root) - 1] == '/' ? "" : "/", c);
	return 0;
}
