/* Version, release-name and image-tag parsers. An input that does not name
 * a Windows release is "unknown" (WC_TAG_UNKNOWN / an error naming the
 * input), never a guess. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "common/common.h"
#include "compat/wc.h"
#include "parser/df_ref.h"

DEFINE_CLEANUP_FUNC(struct df_ref *, df_ref_free)

/* Parse a run of decimal digits (no sign, no leading garbage) into *out,
 * capped at `max`. Returns the number of characters used, 0 on failure. */
static size_t parse_num(const char *s, uint32_t max, uint32_t *out)
{
	size_t i = 0;
	uint64_t v = 0;
	while (isdigit((unsigned char)s[i])) {
		v = v * 10 + (uint64_t)(s[i] - '0');
		if (v > max)
			return 0;
		i++;
	}
	if (i == 0)
		return 0;
	*out = (uint32_t)v;
	return i;
}

/* Version syntax check without error reporting (used by the tag parser). */
static bool version_scan(const char *s, struct wc_version *v)
{
	uint32_t parts[4];
	size_t n = 0;
	const char *p = s;
	memset(v, 0, sizeof(*v));
	for (;;) {
		if (n == 4)
			return false;
		size_t used = parse_num(p, WC_MAX_BUILD, &parts[n]);
		if (!used)
			return false;
		n++;
		p += used;
		if (*p == '\0')
			break;
		if (*p != '.')
			return false;
		p++;
	}
	if (n == 1) {
		v->build = parts[0];
		return parts[0] > 0;
	}
	if (n < 3)
		return false;
	v->major = parts[0];
	v->minor = parts[1];
	v->build = parts[2];
	v->has_majmin = true;
	if (n == 4) {
		v->rev = parts[3];
		v->has_rev = true;
	}
	return v->build > 0;
}

int wc_version_parse(const char *s, struct wc_version *v, struct berr **err)
{
	if (!s || !*s)
		return berr_set(err, BERR_INPUT, "empty Windows version");
	if (strlen(s) > 64 || !version_scan(s, v))
		return berr_set(err, BERR_INPUT,
				"invalid Windows version '%.64s': expected 10.0.BUILD[.REVISION] or BUILD", s);
	if (!v->has_majmin) {
		v->major = 10;
		v->minor = 0;
	}
	return 0;
}

/* --- release names --- */

static bool same_class(const struct wc_release *a, const struct wc_release *b)
{
	return wc_kind_is_server(a->kind) == wc_kind_is_server(b->kind);
}

static int candidates_error(const struct wc_release **c, size_t n, const char *s, struct berr **err)
{
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < n; i++)
		bbuf_addf(&b, NULL, "%s'%s' (%s, build %u)", i ? ", " : "", c[i]->id, c[i]->name,
			  c[i]->build);
	return berr_set(err, BERR_INPUT, "ambiguous Windows release '%s': could be %s", s, bbuf_str(&b));
}

#define MAX_CANDIDATES 16

const struct wc_release *wc_resolve_name(const struct wc_kb *kb, const char *s, bool need_kind,
					 struct berr **err)
{
	if (!s || !*s) {
		berr_set(err, BERR_INPUT, "empty Windows release name");
		return NULL;
	}
	if (strlen(s) > WC_MAX_INPUT) {
		berr_set(err, BERR_LIMIT, "Windows release name longer than %d bytes", WC_MAX_INPUT);
		return NULL;
	}
	const struct wc_release *r = wc_kb_by_id(kb, s);
	if (r)
		return r;
	_cleanup_free_ char *n = wc_normalise(s);
	if (!*n) {
		berr_set(err, BERR_INPUT, "unknown Windows release '%s'", s);
		return NULL;
	}
	const struct wc_release *c[MAX_CANDIDATES];
	size_t nc = 0;
	/* pass 1: aliases and names; pass 2: bare versions ("21H2") */
	for (int pass = 0; pass < 2 && nc == 0; pass++)
		for (size_t i = 0; i < kb->nrel && nc < MAX_CANDIDATES; i++) {
			const struct wc_release *x = &kb->rel[i];
			bool hit = false;
			if (pass == 0) {
				for (size_t j = 0; j < x->naliases && !hit; j++)
					hit = strcmp(x->aliases[j], n) == 0;
				if (!hit) {
					_cleanup_free_ char *nn = wc_normalise(x->name);
					hit = strcmp(nn, n) == 0;
				}
			} else if (x->version) {
				_cleanup_free_ char *nv = wc_normalise(x->version);
				hit = strcmp(nv, n) == 0;
			}
			if (hit)
				c[nc++] = x;
		}
	if (nc == 0) {
		berr_set(err, BERR_INPUT, "unknown Windows release '%s' (try a build such as 10.0.17763 "
			 "or a name such as ltsc2022, win11-24h2; 'berth compat releases' lists them)", s);
		return NULL;
	}
	const struct wc_release *best = c[0];
	for (size_t i = 1; i < nc; i++) {
		if (c[i]->build != best->build || (need_kind && !same_class(c[i], best))) {
			candidates_error(c, nc, s, err);
			return NULL;
		}
		if (c[i]->kind == WC_KIND_SERVER_LTSC && best->kind != WC_KIND_SERVER_LTSC)
			best = c[i];
	}
	return best;
}

/* --- hosts --- */

static bool all_digits_dots(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!isdigit((unsigned char)*s) && *s != '.')
			return false;
	return true;
}

/* "17763" and "10.0.17763[.x]" are versions; four-digit numbers ("1809",
 * "2019", "2004") are release names. */
static bool looks_like_version(const char *s)
{
	return all_digits_dots(s) && (strchr(s, '.') || strlen(s) >= 5);
}

int wc_host_parse(const struct wc_kb *kb, const char *s, struct wc_host *h, struct berr **err)
{
	memset(h, 0, sizeof(*h));
	h->hyperv = -1;
	if (!s || !*s)
		return berr_set(err, BERR_INPUT, "empty host");
	if (looks_like_version(s)) {
		struct wc_version v;
		if (wc_version_parse(s, &v, err) < 0)
			return berr_wrap(err, "host");
		if (v.major != 10 || v.minor != 0)
			return berr_set(err, BERR_INPUT,
					"host '%s' is not Windows 10.0 (Windows containers need Windows "
					"Server 2016 / Windows 10 or later)", s);
		h->build = v.build;
		h->rev = v.rev;
		h->has_rev = v.has_rev;
		h->rel = wc_kb_by_build(kb, v.build, false);
		h->client = h->rel && !wc_kind_is_server(h->rel->kind);
		return 0;
	}
	const struct wc_release *r = wc_resolve_name(kb, s, true, err);
	if (!r)
		return berr_wrap(err, "host");
	h->build = r->build;
	h->rel = r;
	h->client = !wc_kind_is_server(r->kind);
	return 0;
}

/* --- image references --- */

/* The name part of a reference ends at '@' or at the tag's ':' (a ':'
 * after the last '/'); a ':' before it is a registry port. */
static size_t name_len(const char *s)
{
	size_t n = strcspn(s, "@");
	const char *slash = memrchr(s, '/', n);
	const char *colon = memrchr(slash ? slash : s, ':', n - (size_t)((slash ? slash : s) - s));
	return colon ? (size_t)(colon - s) : n;
}

/* Docker Hub spellings folded into the familiar name. docker.io and
 * index.docker.io are Docker's own normalisation; registry-1.docker.io is
 * the Hub's API endpoint, which users sometimes write. */
#define HUB_API_HOST "registry-1.docker.io/"

int wc_ref_split(const char *ref, struct wc_ref *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	size_t len = ref ? strlen(ref) : 0;
	if (len == 0)
		return berr_set(err, BERR_INPUT, "empty image reference");
	if (len >= sizeof(out->repo))
		return berr_set(err, BERR_INPUT, "image reference too long (%zu bytes)", len);
	for (size_t i = 0; i < len; i++)
		if (isspace((unsigned char)ref[i]) || !isprint((unsigned char)ref[i]))
			return berr_set(err, BERR_INPUT, "invalid image reference '%s': contains "
					"whitespace or control characters", ref);
	const char *in = ref;
	if (strncasecmp(in, HUB_API_HOST, strlen(HUB_API_HOST)) == 0)
		in += strlen(HUB_API_HOST);
	_cleanup_(df_ref_free_ptr) struct df_ref *r = NULL;
	struct berr *e1 = NULL;
	if (df_ref_parse_normalized(in, &r, &e1) < 0) {
		/* Docker refuses upper-case repository names; Windows users write
		 * "mcr.microsoft.com/Windows/ServerCore" in docs and scripts, so the
		 * release is still recognised and the caller is told (lowercased). */
		_cleanup_free_ char *low = xstrdup(in);
		size_t nl = name_len(low);
		bool upper = false;
		for (size_t i = 0; i < nl; i++)
			if (isupper((unsigned char)low[i])) {
				low[i] = (char)tolower((unsigned char)low[i]);
				upper = true;
			}
		if (!upper || df_ref_parse_normalized(low, &r, NULL) < 0) {
			berr_set(err, BERR_INPUT, "invalid image reference '%s': %s", ref, e1->msg);
			berr_free(e1);
			return -1;
		}
		berr_free(e1);
		out->lowercased = true;
	}
	_cleanup_free_ char *fam = df_ref_familiar_name(r);
	if (strlen(fam) >= sizeof(out->repo) || (r->tag && strlen(r->tag) >= sizeof(out->tag)) ||
	    (r->digest && strlen(r->digest) >= sizeof(out->digest)))
		return berr_set(err, BERR_INPUT, "image reference too long (%zu bytes)", len);
	snprintf(out->repo, sizeof(out->repo), "%s", fam);
	for (char *p = out->repo; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	snprintf(out->tag, sizeof(out->tag), "%s", r->tag ? r->tag : "");
	snprintf(out->digest, sizeof(out->digest), "%s", r->digest ? r->digest : "");
	return 0;
}

static const struct wc_family *family_of_repo(const struct wc_kb *kb, const char *repo)
{
	for (size_t i = 0; i < kb->nfam; i++)
		for (size_t j = 0; j < kb->fam[i].nrepos; j++)
			if (strcasecmp(kb->fam[i].repos[j], repo) == 0)
				return &kb->fam[i];
	return NULL;
}

/* Release whose `family` tag list contains tag (case-insensitive). */
static const struct wc_release *release_by_tag(const struct wc_kb *kb, const char *family,
					       const char *tag)
{
	for (size_t i = 0; i < kb->nrel; i++) {
		const struct wc_family_tags *t = wc_release_tags(&kb->rel[i], family);
		for (size_t j = 0; t && j < t->ntags; j++)
			if (strcasecmp(t->tags[j], tag) == 0 && strcasecmp(tag, "latest") != 0)
				return &kb->rel[i];
	}
	return NULL;
}

static bool is_arch(const char *s)
{
	static const char *const arches[] = { "amd64", "arm64", "arm32", "arm", "x86_64", "386" };
	for (size_t i = 0; i < ARRAY_SIZE(arches); i++)
		if (strcasecmp(s, arches[i]) == 0)
			return true;
	return false;
}

static bool is_kb(const char *s)
{
	if ((s[0] != 'K' && s[0] != 'k') || (s[1] != 'B' && s[1] != 'b') || !s[2])
		return false;
	for (const char *p = s + 2; *p; p++)
		if (!isdigit((unsigned char)*p))
			return false;
	return strlen(s) <= 12;
}

static void set_found(struct wc_tag_info *t, enum wc_tag_how how, const struct wc_release *r,
		      const struct wc_version *v)
{
	t->how = how;
	t->rel = r;
	if (v) {
		t->ver = *v;
	} else {
		memset(&t->ver, 0, sizeof(t->ver));
		t->ver.build = r->build;
	}
	if (!t->ver.has_majmin) {
		t->ver.major = 10;
		t->ver.minor = 0;
		t->ver.has_majmin = true;
	}
}

/* Base repository tag: RELEASE[(-|_)KBnnn][(-|_)ARCH] or 10.0.B.R[-ARCH]. */
static void parse_base_tag(const struct wc_kb *kb, const struct wc_family *fam, const char *tag,
			   struct wc_tag_info *t)
{
	_cleanup_free_ char *s = xstrdup(tag);
	for (int round = 0; round < 2; round++) {
		char *sep = strrchr(s, '-');
		char *us = strrchr(s, '_');
		if (!sep || (us && us > sep))
			sep = us;
		if (!sep)
			break;
		if (is_arch(sep + 1) && !t->arch[0]) {
			snprintf(t->arch, sizeof(t->arch), "%s", sep + 1);
			for (char *p = t->arch; *p; p++)
				*p = (char)tolower((unsigned char)*p);
			t->single_arch = true;
			*sep = '\0';
		} else if (is_kb(sep + 1) && !t->kb[0]) {
			snprintf(t->kb, sizeof(t->kb), "KB%s", sep + 3);
			*sep = '\0';
		} else {
			break;
		}
	}
	struct wc_version v;
	if (strchr(s, '.') && version_scan(s, &v) && v.has_majmin) {
		set_found(t, WC_TAG_BUILD, wc_kb_by_build(kb, v.build, false), &v);
		if (!t->rel || !wc_kb_is_image_build(kb, v.build))
			snprintf(t->why, sizeof(t->why), "build %u is not a Windows release the knowledge "
				 "base knows (update it with --releases FILE)", v.build);
		return;
	}
	const struct wc_release *r = release_by_tag(kb, fam->key, s);
	if (r) {
		set_found(t, WC_TAG_RELEASE, r, NULL);
		return;
	}
	if (strcasecmp(s, "latest") == 0)
		snprintf(t->why, sizeof(t->why), "the 'latest' tag was removed from the Windows base "
			 "image repositories on %s and never named one release",
			 kb->latest_removed ? kb->latest_removed : "2019-04-16");
	else
		snprintf(t->why, sizeof(t->why), "'%s' is not a known tag of %s", tag, fam->repos[0]);
}

/* Derived image: tag tokens "...-windowsservercore-ltsc2019",
 * "lts-nanoserver-1809", "...-ltsc2022", or a 10.0.B.R token. */
static void parse_derived_tag(const struct wc_kb *kb, const char *tag, struct wc_tag_info *t)
{
	_cleanup_free_ char *s = xstrdup(tag);
	char *tok[64];
	size_t n = 0;
	for (char *p = s, *q; p && n < ARRAY_SIZE(tok); p = q) {
		q = strchr(p, '-');
		if (q)
			*q++ = '\0';
		tok[n++] = p;
	}
	for (size_t i = 0; i < n; i++)
		if (is_arch(tok[i]) && !t->arch[0]) {
			snprintf(t->arch, sizeof(t->arch), "%s", tok[i]);
			for (char *p = t->arch; *p; p++)
				*p = (char)tolower((unsigned char)*p);
		}
	for (size_t i = 0; i < n; i++) {
		struct wc_version v;
		if (strchr(tok[i], '.') && version_scan(tok[i], &v) && v.has_majmin && v.major == 10 &&
		    v.minor == 0 && v.build >= 10240) {
			set_found(t, WC_TAG_DERIVED, wc_kb_by_build(kb, v.build, false), &v);
			return;
		}
	}
	for (size_t i = 0; i < n; i++)
		for (size_t f = 0; f < kb->nfam; f++)
			for (size_t k = 0; k < kb->fam[f].ntokens; k++) {
				if (strcasecmp(tok[i], kb->fam[f].tokens[k]) != 0)
					continue;
				if (i + 1 >= n) {
					snprintf(t->why, sizeof(t->why), "tag names %s but no release "
						 "after '%s'", kb->fam[f].name, tok[i]);
					return;
				}
				const struct wc_release *r = release_by_tag(kb, kb->fam[f].key, tok[i + 1]);
				if (!r) {
					snprintf(t->why, sizeof(t->why), "'%s' after '%s' is not a known "
						 "%s release tag", tok[i + 1], tok[i], kb->fam[f].name);
					return;
				}
				t->family = &kb->fam[f];
				set_found(t, WC_TAG_DERIVED, r, NULL);
				return;
			}
	/* "ltscNNNN" is unambiguous wherever it appears */
	for (size_t i = 0; i < n; i++) {
		if (strncasecmp(tok[i], "ltsc", 4) != 0)
			continue;
		const struct wc_release *r = release_by_tag(kb, "servercore", tok[i]);
		if (r) {
			set_found(t, WC_TAG_DERIVED, r, NULL);
			return;
		}
	}
	snprintf(t->why, sizeof(t->why), "tag '%s' does not name a Windows release", tag);
}

int wc_tag_parse(const struct wc_kb *kb, const char *ref, struct wc_tag_info *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	struct wc_ref r;
	if (wc_ref_split(ref, &r, err) < 0)
		return -1;
	for (size_t i = 0; i < kb->ninsider; i++)
		if (strcasecmp(kb->insider[i], r.repo) == 0)
			out->insider = true;
	if (r.lowercased)
		snprintf(out->why, sizeof(out->why), "repository names must be lowercase: docker and "
			 "containerd refuse '%.160s'", ref);
	const char *tag = r.tag[0] ? r.tag : (r.digest[0] ? "" : "latest");
	if (!*tag) {
		snprintf(out->why, sizeof(out->why), "a digest alone does not tell the Windows build; "
			 "check the image itself (OCI layout or archive) to read its os.version");
		return 0;
	}
	const struct wc_family *fam = out->insider ? NULL : family_of_repo(kb, r.repo);
	if (fam) {
		out->family = fam;
		out->retired_repo = fam->retired;
		parse_base_tag(kb, fam, tag, out);
		return 0;
	}
	if (out->insider) {
		struct wc_version v;
		if (strchr(tag, '.') && version_scan(tag, &v) && v.has_majmin) {
			set_found(out, WC_TAG_BUILD, wc_kb_by_build(kb, v.build, false), &v);
			return 0;
		}
		snprintf(out->why, sizeof(out->why), "insider images follow preview builds; only a "
			 "10.0.BUILD tag tells which");
		return 0;
	}
	parse_derived_tag(kb, tag, out);
	return 0;
}

/* --- image sources --- */

void wc_image_set_version(struct wc_image *img, const struct wc_version *v)
{
	img->major = v->major;
	img->minor = v->minor;
	img->build = v->build;
	img->rev = v->rev;
	img->has_rev = v->has_rev;
	img->has_version = true;
}

int wc_image_resolve(const struct wc_kb *kb, const char *src, struct wc_image *img,
		     struct wc_tag_info *tag, char *desc, size_t desc_len, struct berr **err)
{
	memset(img, 0, sizeof(*img));
	memset(tag, 0, sizeof(*tag));
	if (!src || !*src)
		return berr_set(err, BERR_INPUT, "empty image");
	if (wc_image_src_is_path(src)) {
		if (wc_image_src_read(src, img, desc, desc_len, err) < 0)
			return -1;
		if (img->has_version)
			img->rel = wc_kb_by_build(kb, img->build, false);
		return 0;
	}
	snprintf(img->os, sizeof(img->os), "windows");
	/* "10.0.x", "10.0.17763.a": meant as a version, so report it as one */
	bool versionish = isdigit((unsigned char)src[0]) && strchr(src, '.') && !strpbrk(src, "/:@");
	if (looks_like_version(src) || versionish) {
		struct wc_version v;
		if (wc_version_parse(src, &v, err) < 0)
			return berr_wrap(err, "image");
		wc_image_set_version(img, &v);
		img->rel = wc_kb_by_build(kb, v.build, false);
		snprintf(desc, desc_len, "os.version %s", src);
		return 0;
	}
	if (!strpbrk(src, "/:@")) {
		struct berr *e2 = NULL;
		const struct wc_release *r = wc_resolve_name(kb, src, false, &e2);
		if (r) {
			img->major = 10;
			img->build = r->build;
			img->has_version = true;
			img->rel = r;
			snprintf(desc, desc_len, "release name '%s'", src);
			return 0;
		}
		if (e2 && strstr(e2->msg, "ambiguous")) {
			berr_set(err, e2->code, "%s", e2->msg);
			berr_free(e2);
			return berr_wrap(err, "image");
		}
		berr_free(e2);
	}
	if (wc_tag_parse(kb, src, tag, err) < 0)
		return -1;
	if (tag->how == WC_TAG_UNKNOWN) {
		snprintf(desc, desc_len, "image reference '%s' (%s)", src, tag->why);
		return 0;
	}
	img->major = tag->ver.major;
	img->minor = tag->ver.minor;
	img->build = tag->ver.build;
	img->rev = tag->ver.rev;
	img->has_rev = tag->ver.has_rev;
	img->has_version = true;
	img->rel = tag->rel;
	if (tag->arch[0])
		snprintf(img->arch, sizeof(img->arch), "%s", tag->arch);
	static const char *const how[] = { "unknown", "release tag", "build tag", "derived image tag" };
	snprintf(desc, desc_len, "image reference '%s' (%s)", src, how[tag->how]);
	return 0;
}

bool wc_image_src_is_path(const char *src)
{
	struct stat st;
	if (strncmp(src, "oci:", 4) == 0 || strncmp(src, "docker-archive:", 15) == 0 ||
	    strncmp(src, "oci-archive:", 12) == 0)
		return true;
	if (src[0] == '/' || src[0] == '.')
		return true;
	return stat(src, &st) == 0;
}
