/* Minimal reference parser/normalizer (distribution/reference rules). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "image/img_digest.h"
#include "image/img_ref.h"

#define IMG_REF_MAX 255
#define IMG_TAG_MAX 128

static bool is_lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

/* path component: [a-z0-9]+ ((\.|_|__|-+)[a-z0-9]+)* */
static bool valid_component(const char *s, size_t n)
{
	if (n == 0 || !is_lower_alnum(s[0]) || !is_lower_alnum(s[n - 1]))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (is_lower_alnum(s[i]))
			continue;
		if (s[i] == '.' || s[i] == '-') {
			if (s[i] == '.' && !is_lower_alnum(s[i + 1]))
				return false;
			continue;
		}
		if (s[i] == '_') {
			if (s[i + 1] == '_')
				i++;
			if (!is_lower_alnum(s[i + 1]))
				return false;
			continue;
		}
		return false;
	}
	return true;
}

static bool valid_domain(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(isalnum(c) || c == '.' || c == '-' || c == ':' || c == '[' || c == ']'))
			return false;
	}
	return true;
}

static bool valid_tag(const char *t)
{
	size_t n = strlen(t);
	if (n == 0 || n > IMG_TAG_MAX)
		return false;
	if (!(isalnum((unsigned char)t[0]) || t[0] == '_'))
		return false;
	for (size_t i = 1; i < n; i++) {
		unsigned char c = (unsigned char)t[i];
		if (!(isalnum(c) || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return true;
}

void img_ref_clear(struct img_ref *r)
{
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	memset(r, 0, sizeof(*r));
}

int img_ref_parse(const char *s, struct img_ref *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	if (!s || !*s)
		return berr_set(err, BERR_INPUT, "empty image reference");
	if (strlen(s) > IMG_REF_MAX + IMG_TAG_MAX + IMG_DIGEST_STR_LEN + 2)
		return berr_set(err, BERR_INPUT, "image reference '%.40s...' is too long", s);
	_cleanup_free_ char *name = xstrdup(s);
	char *at = strchr(name, '@');
	if (at) {
		*at = '\0';
		if (!img_digest_valid(at + 1))
			return berr_set(err, BERR_INPUT, "invalid reference '%s': bad digest", s);
		out->digest = xstrdup(at + 1);
	}
	char *slash = strrchr(name, '/');
	char *colon = strrchr(name, ':');
	if (colon && (!slash || colon > slash)) {
		*colon = '\0';
		if (!valid_tag(colon + 1)) {
			img_ref_clear(out);
			return berr_set(err, BERR_INPUT, "invalid reference '%s': bad tag", s);
		}
		out->tag = xstrdup(colon + 1);
	}
	const char *rest = name;
	char *first = strchr(name, '/');
	if (first) {
		size_t dl = (size_t)(first - name);
		if (memchr(name, '.', dl) || memchr(name, ':', dl) ||
		    (dl == 9 && memcmp(name, "localhost", 9) == 0) ||
		    memchr(name, '[', dl)) {
			if (!valid_domain(name, dl)) {
				img_ref_clear(out);
				return berr_set(err, BERR_INPUT, "invalid reference '%s': bad registry", s);
			}
			out->domain = xstrndup(name, dl);
			rest = first + 1;
		}
	}
	if (!out->domain)
		out->domain = xstrdup("docker.io");
	if (strcmp(out->domain, "index.docker.io") == 0) {
		free(out->domain);
		out->domain = xstrdup("docker.io");
	}
	if (strlen(rest) > IMG_REF_MAX) {
		img_ref_clear(out);
		return berr_set(err, BERR_INPUT, "invalid reference '%s': name too long", s);
	}
	for (const char *p = rest;;) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		if (!valid_component(p, n)) {
			img_ref_clear(out);
			return berr_set(err, BERR_INPUT,
					"invalid reference '%s': repository names must be lowercase "
					"letters, digits and separators", s);
		}
		if (!e)
			break;
		p = e + 1;
	}
	if (strcmp(out->domain, "docker.io") == 0 && !strchr(rest, '/'))
		out->path = xasprintf("library/%s", rest);
	else
		out->path = xstrdup(rest);
	return 0;
}

char *img_ref_full(const struct img_ref *r)
{
	const char *tag = r->tag ? r->tag : (r->digest ? NULL : "latest");
	return xasprintf("%s/%s%s%s%s%s", r->domain, r->path, tag ? ":" : "", tag ? tag : "",
			 r->digest ? "@" : "", r->digest ? r->digest : "");
}

char *img_ref_familiar_repo(const struct img_ref *r)
{
	if (strcmp(r->domain, "docker.io") == 0) {
		if (strncmp(r->path, "library/", 8) == 0 && !strchr(r->path + 8, '/'))
			return xstrdup(r->path + 8);
		return xstrdup(r->path);
	}
	return xasprintf("%s/%s", r->domain, r->path);
}

char *img_ref_familiar(const struct img_ref *r)
{
	_cleanup_free_ char *repo = img_ref_familiar_repo(r);
	const char *tag = r->tag ? r->tag : (r->digest ? NULL : "latest");
	return xasprintf("%s%s%s%s%s", repo, tag ? ":" : "", tag ? tag : "", r->digest ? "@" : "",
			 r->digest ? r->digest : "");
}
