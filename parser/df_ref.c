/* Docker reference grammar, using the same regular expressions as
 * distribution/reference so that captures and corner cases agree. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/common.h"
#include "parser/df_ref.h"

#define LEGACY_DEFAULT_DOMAIN "index.docker.io"
#define OFFICIAL_REPO_PREFIX "library/"
#define LOCALHOST "localhost"

/* regexp.go, spelled out */
#define RE_ALNUM "[a-z0-9]+"
#define RE_SEP "(?:[._]|__|[-]+)"
#define RE_PATH_COMPONENT RE_ALNUM "(?:" RE_SEP RE_ALNUM ")*"
#define RE_REMOTE_NAME RE_PATH_COMPONENT "(?:/" RE_PATH_COMPONENT ")*"
#define RE_DOMAIN_COMPONENT "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
#define RE_DOMAIN_NAME RE_DOMAIN_COMPONENT "(?:\\." RE_DOMAIN_COMPONENT ")*"
#define RE_IPV6 "\\[(?:[a-fA-F0-9:]+)\\]"
#define RE_HOST "(?:" RE_DOMAIN_NAME "|" RE_IPV6 ")"
#define RE_DOMAIN_AND_PORT RE_HOST "(?::[0-9]+)?"
#define RE_TAG "[\\w][\\w.-]{0,127}"
#define RE_DIGEST "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][[:xdigit:]]{32,}"
#define RE_NAME "(?:" RE_DOMAIN_AND_PORT "/)?" RE_REMOTE_NAME

static const char *const re_src[] = {
	/* reference: captures name, tag, digest */
	"^(" RE_NAME ")(?::(" RE_TAG "))?(?:@(" RE_DIGEST "))?$",
	/* anchored name: captures domain, path */
	"^(?:(" RE_DOMAIN_AND_PORT ")/)?(" RE_REMOTE_NAME ")$",
	/* go-digest DigestRegexpAnchored */
	"^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$",
	"^" RE_TAG "$",
};
enum { RE_REFERENCE, RE_ANCHORED_NAME, RE_GO_DIGEST, RE_ANCHORED_TAG, RE_COUNT };

static pcre2_code *re_code[RE_COUNT];
static pthread_once_t re_once = PTHREAD_ONCE_INIT;

static void re_init(void)
{
	for (size_t i = 0; i < RE_COUNT; i++) {
		int ec;
		PCRE2_SIZE eo;
		/* '$' is the end of the text, as in Go */
		re_code[i] = pcre2_compile((PCRE2_SPTR)re_src[i], PCRE2_ZERO_TERMINATED,
					   PCRE2_DOLLAR_ENDONLY, &ec, &eo, NULL);
		if (re_code[i])
			pcre2_jit_compile(re_code[i], PCRE2_JIT_COMPLETE);
	}
}

/* Match s against regexp `which`; captures (1-based groups) go to caps as
 * xstrndup'ed strings, NULL for a group that did not participate.
 * Returns 1 match, 0 no match, -1 internal failure. */
static int re_match(int which, const char *s, char **caps, int ncaps)
{
	pthread_once(&re_once, re_init);
	pcre2_code *re = re_code[which];
	if (!re)
		return -1;
	pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
	if (!md)
		return -1;
	int rc = pcre2_match(re, (PCRE2_SPTR)s, strlen(s), 0, 0, md, NULL);
	if (rc < 0) {
		pcre2_match_data_free(md);
		return rc == PCRE2_ERROR_NOMATCH ? 0 : -1;
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	for (int i = 0; i < ncaps; i++) {
		caps[i] = NULL;
		if (i + 1 < rc && ov[2 * (i + 1)] != PCRE2_UNSET)
			caps[i] = xstrndup(s + ov[2 * (i + 1)], ov[2 * (i + 1) + 1] - ov[2 * (i + 1)]);
	}
	pcre2_match_data_free(md);
	return 1;
}

static bool is_lower_hex(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

bool df_ref_is_identifier(const char *s)
{
	return strlen(s) == 64 && is_lower_hex(s, 64);
}

/* strings.ToLower(s) != s, for ASCII letters. Invalid UTF-8 also counts as
 * "changed": Go's ToLower rewrites it as U+FFFD. */
static bool has_upper(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 'A' && c <= 'Z')
			return true;
		if (c >= 0x80) {
			size_t w = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
			bool ok = c >= 0xC2 && c <= 0xF4 && i + w <= n;
			for (size_t k = 1; ok && k < w; k++)
				ok = ((unsigned char)s[i + k] & 0xC0) == 0x80;
			if (!ok)
				return true;
			i += w - 1;
		}
	}
	return false;
}

static char *ascii_lower(const char *s)
{
	char *d = xstrdup(s);
	for (char *p = d; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	return d;
}

int df_digest_validate(const char *s, struct berr **err)
{
	const char *colon = strchr(s, ':');
	if (!colon || colon == s || colon[1] == '\0')
		return berr_set(err, BERR_INPUT, "invalid checksum digest format");
	size_t alen = (size_t)(colon - s);
	const char *enc = colon + 1;
	size_t want;
	if (alen == 6 && memcmp(s, "sha256", 6) == 0) {
		want = 64;
	} else if (alen == 6 && memcmp(s, "sha384", 6) == 0) {
		want = 96;
	} else if (alen == 6 && memcmp(s, "sha512", 6) == 0) {
		want = 128;
	} else {
		char *none = NULL;
		int r = re_match(RE_GO_DIGEST, s, &none, 0);
		if (r < 0)
			return berr_set(err, BERR_INTERNAL, "cannot run the digest regexp");
		if (r == 0)
			return berr_set(err, BERR_INPUT, "invalid checksum digest format");
		return berr_set(err, BERR_UNSUPPORTED, "unsupported digest algorithm");
	}
	if (strlen(enc) != want)
		return berr_set(err, BERR_INPUT, "invalid checksum digest length");
	if (!is_lower_hex(enc, want))
		return berr_set(err, BERR_INPUT, "invalid checksum digest format");
	return 0;
}

void df_ref_free(struct df_ref *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->path);
	free(r->tag);
	free(r->digest);
	free(r);
}

DEFINE_CLEANUP_FUNC(struct df_ref *, df_ref_free)

static void free_caps(char **caps, int n)
{
	for (int i = 0; i < n; i++)
		free(caps[i]);
}

int df_ref_parse(const char *s, struct df_ref **out, struct berr **err)
{
	if (s[0] == '\0')
		return berr_set(err, BERR_INPUT, "repository name must have at least one component");
	char *caps[3];
	int r = re_match(RE_REFERENCE, s, caps, 3);
	if (r < 0)
		return berr_set(err, BERR_INTERNAL, "cannot run the reference regexp");
	if (r == 0) {
		if (has_upper(s, strlen(s))) {
			_cleanup_free_ char *low = ascii_lower(s);
			char *lc[3];
			int lr = re_match(RE_REFERENCE, low, lc, 3);
			if (lr > 0) {
				free_caps(lc, 3);
				return berr_set(err, BERR_INPUT, "repository name must be lowercase");
			}
		}
		return berr_set(err, BERR_INPUT, "invalid reference format");
	}
	_cleanup_(df_ref_free_ptr) struct df_ref *ref = xcalloc(1, sizeof(*ref));
	ref->tag = caps[1];
	ref->digest = caps[2];
	char *nc[2];
	if (re_match(RE_ANCHORED_NAME, caps[0], nc, 2) == 1) {
		ref->domain = nc[0] ? nc[0] : xstrdup("");
		ref->path = nc[1];
		free(caps[0]);
	} else {
		/* cannot happen: the name already matched the same grammar */
		ref->domain = xstrdup("");
		ref->path = caps[0];
	}
	if (strlen(ref->path) > DF_REF_NAME_MAX)
		return berr_set(err, BERR_INPUT,
				"repository name must not be more than %d characters",
				DF_REF_NAME_MAX);
	if (ref->digest && df_digest_validate(ref->digest, err) < 0)
		return -1;
	*out = steal_pointer(&ref);
	return 0;
}

int df_ref_parse_normalized(const char *s, struct df_ref **out, struct berr **err)
{
	if (df_ref_is_identifier(s))
		return berr_set(err, BERR_INPUT,
				"invalid repository name (%s), cannot specify 64-byte hexadecimal strings",
				s);
	/* splitDockerDomain */
	_cleanup_free_ char *domain = NULL, *remote = NULL;
	const char *slash = strchr(s, '/');
	if (!slash) {
		domain = xstrdup(DF_REF_DEFAULT_DOMAIN);
		remote = xasprintf(OFFICIAL_REPO_PREFIX "%s", s);
	} else {
		size_t dl = (size_t)(slash - s);
		_cleanup_free_ char *maybe = xstrndup(s, dl);
		if (strcmp(maybe, LOCALHOST) == 0) {
			domain = steal_pointer(&maybe);
			remote = xstrdup(slash + 1);
		} else if (strcmp(maybe, LEGACY_DEFAULT_DOMAIN) == 0) {
			domain = xstrdup(DF_REF_DEFAULT_DOMAIN);
			remote = xstrdup(slash + 1);
		} else if (strpbrk(maybe, ".:") || has_upper(maybe, dl)) {
			/* a '.' or ':' means a host name or address; uppercase
			 * is not allowed in a namespace, so it must be a host */
			domain = steal_pointer(&maybe);
			remote = xstrdup(slash + 1);
		} else {
			domain = xstrdup(DF_REF_DEFAULT_DOMAIN);
			remote = xstrdup(s);
		}
		if (strcmp(domain, DF_REF_DEFAULT_DOMAIN) == 0 && !strchr(remote, '/')) {
			char *r = xasprintf(OFFICIAL_REPO_PREFIX "%s", remote);
			free(remote);
			remote = r;
		}
	}
	/* the repository part (up to a ':') must be lowercase */
	const char *tagsep = strchr(remote, ':');
	size_t rl = tagsep ? (size_t)(tagsep - remote) : strlen(remote);
	if (has_upper(remote, rl))
		return berr_set(err, BERR_INPUT,
				"invalid reference format: repository name (%.*s) must be lowercase",
				(int)rl, remote);
	_cleanup_free_ char *full = xasprintf("%s/%s", domain, remote);
	return df_ref_parse(full, out, err);
}

void df_ref_tag_name_only(struct df_ref *r)
{
	if (!r->tag && !r->digest)
		r->tag = xstrdup(DF_REF_DEFAULT_TAG);
}

int df_ref_parse_docker(const char *s, struct df_ref **out, struct berr **err)
{
	struct df_ref *r = NULL;
	if (df_ref_parse_normalized(s, &r, err) < 0)
		return -1;
	if (r->tag && r->digest) {
		free(r->tag);
		r->tag = NULL;
	}
	df_ref_tag_name_only(r);
	*out = r;
	return 0;
}

static char *format_ref(const char *domain, const char *path, const char *tag,
			const char *digest)
{
	return xasprintf("%s%s%s%s%s%s%s", domain && *domain ? domain : "",
			 domain && *domain ? "/" : "", path,
			 tag ? ":" : "", tag ? tag : "",
			 digest ? "@" : "", digest ? digest : "");
}

char *df_ref_name(const struct df_ref *r)
{
	return format_ref(r->domain, r->path, NULL, NULL);
}

char *df_ref_string(const struct df_ref *r)
{
	return format_ref(r->domain, r->path, r->tag, r->digest);
}

/* familiarizeName: drop docker.io and a "library/" with no further '/' */
static void familiar_parts(const struct df_ref *r, const char **domain, const char **path)
{
	*domain = r->domain;
	*path = r->path;
	if (r->domain && strcmp(r->domain, DF_REF_DEFAULT_DOMAIN) == 0) {
		*domain = NULL;
		size_t pl = strlen(OFFICIAL_REPO_PREFIX);
		if (strncmp(r->path, OFFICIAL_REPO_PREFIX, pl) == 0 && !strchr(r->path + pl, '/'))
			*path = r->path + pl;
	}
}

char *df_ref_familiar_name(const struct df_ref *r)
{
	const char *d, *p;
	familiar_parts(r, &d, &p);
	return format_ref(d, p, NULL, NULL);
}

char *df_ref_familiar(const struct df_ref *r)
{
	const char *d, *p;
	familiar_parts(r, &d, &p);
	return format_ref(d, p, r->tag, r->digest);
}
