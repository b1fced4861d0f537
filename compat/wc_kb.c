/* Release knowledge base: load compat/releases.json (embedded, a file, or
 * $BERTH_RELEASES) into struct wc_kb, plus lookups and support status. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "compat/wc.h"
#include "wc_releases_data.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

const char *wc_kb_embedded(size_t *len)
{
	*len = sizeof(wc_releases_json);
	return (const char *)wc_releases_json;
}

static const struct {
	const char *name;
	enum wc_kind kind;
} kinds[] = {
	{ "server-ltsc", WC_KIND_SERVER_LTSC },
	{ "server-sac", WC_KIND_SERVER_SAC },
	{ "server-annual", WC_KIND_SERVER_ANNUAL },
	{ "client", WC_KIND_CLIENT },
	{ "client-ltsc", WC_KIND_CLIENT_LTSC },
};

const char *wc_kind_name(enum wc_kind k)
{
	for (size_t i = 0; i < ARRAY_SIZE(kinds); i++)
		if (kinds[i].kind == k)
			return kinds[i].name;
	return "unknown";
}

bool wc_kind_is_server(enum wc_kind k)
{
	return k == WC_KIND_SERVER_LTSC || k == WC_KIND_SERVER_SAC || k == WC_KIND_SERVER_ANNUAL;
}

/* Lower-case alphanumerics only: "Windows Server, version 1809" and
 * "windows-server-version-1809" compare equal. */
char *wc_normalise(const char *s)
{
	size_t n = strlen(s);
	char *out = xmalloc(n + 1), *o = out;
	for (; *s; s++)
		if (isalnum((unsigned char)*s))
			*o++ = (char)tolower((unsigned char)*s);
	*o = '\0';
	return out;
}

static int kb_err(struct berr **err, const char *name, const char *what, const char *field)
{
	return berr_set(err, BERR_INPUT, "%s: %s '%s'", name, what, field);
}

/* Optional string member; NULL when absent or null. Type errors fail. */
static int get_str(const cJSON *o, const char *key, char **out, const char *name, struct berr **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsString(v))
		return kb_err(err, name, "expected a string in field", key);
	*out = xstrdup(v->valuestring);
	return 0;
}

static int get_strv(const cJSON *o, const char *key, char ***out, size_t *n, bool norm,
		    const char *name, struct berr **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = NULL;
	*n = 0;
	if (!v || cJSON_IsNull(v))
		return 0;
	if (!cJSON_IsArray(v))
		return kb_err(err, name, "expected an array of strings in field", key);
	size_t cnt = (size_t)cJSON_GetArraySize(v), i = 0;
	char **arr = xcalloc(cnt ? cnt : 1, sizeof(*arr));
	const cJSON *e;
	cJSON_ArrayForEach(e, v) {
		if (!cJSON_IsString(e)) {
			for (size_t j = 0; j < i; j++)
				free(arr[j]);
			free(arr);
			return kb_err(err, name, "expected an array of strings in field", key);
		}
		arr[i++] = norm ? wc_normalise(e->valuestring) : xstrdup(e->valuestring);
	}
	*out = arr;
	*n = i;
	return 0;
}

static int get_u32(const cJSON *o, const char *key, uint32_t *out, bool required,
		   const char *name, struct berr **err)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*out = 0;
	if (!v || cJSON_IsNull(v)) {
		if (required)
			return kb_err(err, name, "missing field", key);
		return 0;
	}
	if (!cJSON_IsNumber(v) || v->valuedouble < 0 || v->valuedouble > WC_MAX_BUILD ||
	    v->valuedouble != (double)(uint32_t)v->valuedouble)
		return kb_err(err, name, "expected a whole number in field", key);
	*out = (uint32_t)v->valuedouble;
	return 0;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static int check_date(const char *d, const char *name, const char *id, const char *field,
		      struct berr **err)
{
	/* "2023-10" (month only) is allowed for unconfirmed days */
	if (!d)
		return 0;
	if (wc_date_valid(d))
		return 0;
	if (strlen(d) == 7 && isdigit((unsigned char)d[0]) && d[4] == '-')
		return 0;
	return berr_set(err, BERR_INPUT, "%s: release '%s': invalid date '%s' in field '%s'",
			name, id, d, field);
}

static int parse_release(const cJSON *o, struct wc_release *r, const char *name, struct berr **err)
{
	char *kind = NULL;
	if (!cJSON_IsObject(o))
		return berr_set(err, BERR_INPUT, "%s: 'releases' must hold objects", name);
	if (get_str(o, "id", &r->id, name, err) < 0)
		return -1;
	if (!r->id)
		return kb_err(err, name, "release without field", "id");
	if (get_str(o, "kind", &kind, name, err) < 0)
		return -1;
	bool found = false;
	for (size_t i = 0; kind && i < ARRAY_SIZE(kinds); i++)
		if (strcmp(kinds[i].name, kind) == 0) {
			r->kind = kinds[i].kind;
			found = true;
		}
	if (!found) {
		berr_set(err, BERR_INPUT, "%s: release '%s': unknown kind '%s'", name, r->id,
			 kind ? kind : "");
		free(kind);
		return -1;
	}
	free(kind);
	if (get_str(o, "name", &r->name, name, err) < 0 ||
	    get_str(o, "version", &r->version, name, err) < 0 ||
	    get_u32(o, "build", &r->build, true, name, err) < 0 ||
	    get_strv(o, "aliases", &r->aliases, &r->naliases, true, name, err) < 0 ||
	    get_str(o, "released", &r->released, name, err) < 0 ||
	    get_str(o, "mainstream_end", &r->mainstream_end, name, err) < 0 ||
	    get_str(o, "extended_end", &r->extended_end, name, err) < 0 ||
	    get_str(o, "end", &r->end, name, err) < 0 ||
	    get_str(o, "dates_source", &r->dates_source, name, err) < 0 ||
	    get_str(o, "dates_confidence", &r->dates_confidence, name, err) < 0 ||
	    get_str(o, "images_source", &r->images_source, name, err) < 0 ||
	    get_str(o, "note", &r->note, name, err) < 0)
		return berr_wrap(err, "release '%s'", r->id);
	if (!r->name)
		r->name = xstrdup(r->id);
	if (r->build == 0)
		return berr_set(err, BERR_INPUT, "%s: release '%s': build must be positive", name, r->id);
	if (check_date(r->released, name, r->id, "released", err) < 0 ||
	    check_date(r->mainstream_end, name, r->id, "mainstream_end", err) < 0 ||
	    check_date(r->extended_end, name, r->id, "extended_end", err) < 0 ||
	    check_date(r->end, name, r->id, "end", err) < 0)
		return -1;
	const cJSON *bl = cJSON_GetObjectItemCaseSensitive(o, "baseline_2020_02");
	if (bl && cJSON_IsObject(bl)) {
		if (get_u32(bl, "1b", &r->bl_1b, true, name, err) < 0 ||
		    get_u32(bl, "2b", &r->bl_2b, true, name, err) < 0 ||
		    get_u32(bl, "2b_oob", &r->bl_2b_oob, false, name, err) < 0)
			return berr_wrap(err, "release '%s'", r->id);
	}
	const cJSON *ie = cJSON_GetObjectItemCaseSensitive(o, "image_support_end");
	if (cJSON_IsObject(ie)) {
		size_t cnt = (size_t)cJSON_GetArraySize(ie);
		r->img_end_family = xcalloc(cnt + 1, sizeof(char *));
		r->img_end_date = xcalloc(cnt + 1, sizeof(char *));
		const cJSON *f;
		cJSON_ArrayForEach(f, ie) {
			if (!cJSON_IsString(f) || !wc_date_valid(f->valuestring))
				return berr_set(err, BERR_INPUT, "%s: release '%s': invalid date in "
						"'image_support_end'", name, r->id);
			r->img_end_family[r->nimg_end] = xstrdup(f->string);
			r->img_end_date[r->nimg_end++] = xstrdup(f->valuestring);
		}
	}
	const cJSON *im = cJSON_GetObjectItemCaseSensitive(o, "images");
	if (im && !cJSON_IsNull(im)) {
		if (!cJSON_IsObject(im))
			return berr_set(err, BERR_INPUT, "%s: release '%s': 'images' must be an object",
					name, r->id);
		r->has_images = true;
		size_t cnt = (size_t)cJSON_GetArraySize(im), i = 0;
		r->images = xcalloc(cnt ? cnt : 1, sizeof(*r->images));
		const cJSON *f;
		cJSON_ArrayForEach(f, im) {
			r->images[i].family = NULL;
			if (get_strv(im, f->string, &r->images[i].tags, &r->images[i].ntags, false,
				     name, err) < 0) {
				r->nimages = i;
				return berr_wrap(err, "release '%s'", r->id);
			}
			/* family is fixed up to point at the family key after loading */
			r->images[i].family = f->string;
			i++;
		}
		r->nimages = i;
	}
	return 0;
}

static int parse_family(const cJSON *o, struct wc_family *f, const char *name, struct berr **err)
{
	if (!cJSON_IsObject(o))
		return berr_set(err, BERR_INPUT, "%s: 'families' must hold objects", name);
	if (get_str(o, "key", &f->key, name, err) < 0 || get_str(o, "name", &f->name, name, err) < 0 ||
	    get_strv(o, "repos", &f->repos, &f->nrepos, false, name, err) < 0 ||
	    get_strv(o, "tokens", &f->tokens, &f->ntokens, false, name, err) < 0 ||
	    get_str(o, "successor", &f->successor, name, err) < 0 ||
	    get_str(o, "source", &f->source, name, err) < 0 ||
	    get_str(o, "note", &f->note, name, err) < 0)
		return -1;
	if (!f->key)
		return kb_err(err, name, "family without field", "key");
	f->retired = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "retired"));
	return 0;
}

static int parse_runner(const cJSON *o, struct wc_runner *r, const char *name, struct berr **err)
{
	if (!cJSON_IsObject(o))
		return berr_set(err, BERR_INPUT, "%s: 'runners' must hold objects", name);
	if (get_str(o, "ci", &r->ci, name, err) < 0 || get_str(o, "label", &r->label, name, err) < 0 ||
	    get_u32(o, "build", &r->build, false, name, err) < 0 ||
	    get_str(o, "retired", &r->retired, name, err) < 0 ||
	    get_str(o, "source", &r->source, name, err) < 0)
		return -1;
	if (!r->label || !r->ci)
		return kb_err(err, name, "runner without field", "label");
	r->floating = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(o, "floating"));
	if (r->retired && !wc_date_valid(r->retired))
		return berr_set(err, BERR_INPUT, "%s: runner '%s': invalid date '%s'", name, r->label,
				r->retired);
	return 0;
}

static const cJSON *get_array(const cJSON *root, const char *key, bool required, const char *name,
			      struct berr **err)
{
	const cJSON *a = cJSON_GetObjectItemCaseSensitive(root, key);
	if (!a) {
		if (required)
			kb_err(err, name, "missing field", key);
		return NULL;
	}
	if (!cJSON_IsArray(a)) {
		kb_err(err, name, "expected an array in field", key);
		return NULL;
	}
	return a;
}

struct wc_kb *wc_kb_parse(const char *json, size_t len, const char *name, struct berr **err)
{
	_cleanup_cjson_ cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root) {
		/* report the line of the parse error */
		const char *at = cJSON_GetErrorPtr();
		int line = 1;
		if (at && at >= json && at <= json + len)
			for (const char *p = json; p < at; p++)
				line += *p == '\n';
		berr_set_at(err, BERR_INPUT, name, line, 0, "invalid JSON in release knowledge base");
		return NULL;
	}
	if (!cJSON_IsObject(root)) {
		berr_set(err, BERR_INPUT, "%s: knowledge base must be a JSON object", name);
		return NULL;
	}
	const cJSON *schema = cJSON_GetObjectItemCaseSensitive(root, "schema");
	if (!cJSON_IsNumber(schema) || schema->valuedouble != 1) {
		berr_set(err, BERR_INPUT, "%s: unsupported knowledge base schema (want \"schema\": 1)", name);
		return NULL;
	}
	struct wc_kb *kb = xcalloc(1, sizeof(*kb));
	kb->origin = xstrdup(name);
	const cJSON *rels = get_array(root, "releases", true, name, err), *e;
	if (!rels)
		goto fail;
	if (get_str(root, "updated", &kb->updated, name, err) < 0)
		goto fail;
	kb->rel = xcalloc((size_t)cJSON_GetArraySize(rels) + 1, sizeof(*kb->rel));
	cJSON_ArrayForEach(e, rels) {
		if (parse_release(e, &kb->rel[kb->nrel++], name, err) < 0)
			goto fail;
		if (kb->rel[kb->nrel - 1].build > kb->max_build)
			kb->max_build = kb->rel[kb->nrel - 1].build;
	}
	if (kb->nrel == 0) {
		berr_set(err, BERR_INPUT, "%s: no releases", name);
		goto fail;
	}
	const cJSON *fams = get_array(root, "families", true, name, err);
	if (!fams)
		goto fail;
	kb->fam = xcalloc((size_t)cJSON_GetArraySize(fams) + 1, sizeof(*kb->fam));
	cJSON_ArrayForEach(e, fams)
		if (parse_family(e, &kb->fam[kb->nfam++], name, err) < 0)
			goto fail;
	/* point image family names at the family keys (the cJSON tree goes away) */
	for (size_t i = 0; i < kb->nrel; i++)
		for (size_t j = 0; j < kb->rel[i].nimages; j++) {
			const struct wc_family *f = wc_kb_family(kb, kb->rel[i].images[j].family);
			if (!f) {
				berr_set(err, BERR_INPUT, "%s: release '%s': unknown image family '%s'",
					 name, kb->rel[i].id, kb->rel[i].images[j].family);
				for (size_t k = j; k < kb->rel[i].nimages; k++)
					kb->rel[i].images[k].family = NULL;
				goto fail;
			}
			kb->rel[i].images[j].family = f->key;
		}
	const cJSON *runs = get_array(root, "runners", false, name, err);
	if (err && *err)
		goto fail;
	if (runs) {
		kb->run = xcalloc((size_t)cJSON_GetArraySize(runs) + 1, sizeof(*kb->run));
		cJSON_ArrayForEach(e, runs)
			if (parse_runner(e, &kb->run[kb->nrun++], name, err) < 0)
				goto fail;
	}
	if (get_strv(root, "insider_repos", &kb->insider, &kb->ninsider, false, name, err) < 0)
		goto fail;
	const cJSON *tr = cJSON_GetObjectItemCaseSensitive(root, "tag_rules");
	if (tr && get_str(tr, "latest_removed", &kb->latest_removed, name, err) < 0)
		goto fail;
	const cJSON *src = cJSON_GetObjectItemCaseSensitive(root, "sources");
	if (cJSON_IsObject(src)) {
		size_t cnt = (size_t)cJSON_GetArraySize(src);
		kb->src_keys = xcalloc(cnt + 1, sizeof(char *));
		kb->src_text = xcalloc(cnt + 1, sizeof(char *));
		cJSON_ArrayForEach(e, src) {
			kb->src_keys[kb->nsrc] = xstrdup(e->string);
			kb->src_text[kb->nsrc++] = xstrdup(cJSON_IsString(e) ? e->valuestring : "");
		}
	}
	return kb;
fail:
	wc_kb_free(kb);
	return NULL;
}

struct wc_kb *wc_kb_load(const char *path, struct berr **err)
{
	if (!path) {
		const char *env = getenv("BERTH_RELEASES");
		if (env && *env)
			path = env;
	}
	if (!path) {
		size_t len;
		const char *j = wc_kb_embedded(&len);
		return wc_kb_parse(j, len, "embedded releases.json", err);
	}
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (bfile_read_all(path, WC_MAX_KB_SIZE, &b, err) < 0) {
		berr_wrap(err, "reading release knowledge base");
		return NULL;
	}
	return wc_kb_parse(bbuf_str(&b), b.len, path, err);
}

void wc_kb_free(struct wc_kb *kb)
{
	if (!kb)
		return;
	for (size_t i = 0; i < kb->nrel; i++) {
		struct wc_release *r = &kb->rel[i];
		free(r->id);
		free(r->name);
		free(r->version);
		strv_free(r->aliases, r->naliases);
		free(r->released);
		free(r->mainstream_end);
		free(r->extended_end);
		free(r->end);
		free(r->dates_source);
		free(r->dates_confidence);
		free(r->images_source);
		free(r->note);
		for (size_t j = 0; j < r->nimages; j++)
			strv_free(r->images[j].tags, r->images[j].ntags);
		free(r->images);
		strv_free(r->img_end_family, r->nimg_end);
		strv_free(r->img_end_date, r->nimg_end);
	}
	free(kb->rel);
	for (size_t i = 0; i < kb->nfam; i++) {
		struct wc_family *f = &kb->fam[i];
		free(f->key);
		free(f->name);
		strv_free(f->repos, f->nrepos);
		strv_free(f->tokens, f->ntokens);
		free(f->successor);
		free(f->source);
		free(f->note);
	}
	free(kb->fam);
	for (size_t i = 0; i < kb->nrun; i++) {
		free(kb->run[i].ci);
		free(kb->run[i].label);
		free(kb->run[i].retired);
		free(kb->run[i].source);
	}
	free(kb->run);
	strv_free(kb->insider, kb->ninsider);
	strv_free(kb->src_keys, kb->nsrc);
	strv_free(kb->src_text, kb->nsrc);
	free(kb->latest_removed);
	free(kb->updated);
	free(kb->origin);
	free(kb);
}

const struct wc_release *wc_kb_by_id(const struct wc_kb *kb, const char *id)
{
	for (size_t i = 0; i < kb->nrel; i++)
		if (strcasecmp(kb->rel[i].id, id) == 0)
			return &kb->rel[i];
	return NULL;
}

const struct wc_release *wc_kb_by_build(const struct wc_kb *kb, uint32_t build, bool client)
{
	const struct wc_release *any = NULL;
	for (size_t i = 0; i < kb->nrel; i++) {
		const struct wc_release *r = &kb->rel[i];
		if (r->build != build)
			continue;
		bool srv = wc_kind_is_server(r->kind);
		/* LTSC server beats SAC of the same build (ws2019 over ws1809-sac);
		 * plain client beats client LTSC */
		if (srv != client && (r->kind == WC_KIND_SERVER_LTSC || r->kind == WC_KIND_CLIENT))
			return r;
		if (srv != client && !any)
			any = r;
	}
	if (any)
		return any;
	for (size_t i = 0; i < kb->nrel; i++)
		if (kb->rel[i].build == build)
			return &kb->rel[i];
	return NULL;
}

const struct wc_family *wc_kb_family(const struct wc_kb *kb, const char *key)
{
	for (size_t i = 0; i < kb->nfam; i++)
		if (strcmp(kb->fam[i].key, key) == 0)
			return &kb->fam[i];
	return NULL;
}

const char *wc_kb_source_text(const struct wc_kb *kb, const char *key)
{
	for (size_t i = 0; i < kb->nsrc; i++)
		if (strcmp(kb->src_keys[i], key) == 0)
			return kb->src_text[i];
	return NULL;
}

bool wc_kb_is_image_build(const struct wc_kb *kb, uint32_t build)
{
	for (size_t i = 0; i < kb->nrel; i++) {
		const struct wc_release *r = &kb->rel[i];
		if (r->build != build)
			continue;
		for (size_t j = 0; j < r->nimages; j++)
			if (r->images[j].ntags > 0)
				return true;
	}
	return false;
}

const char *wc_release_image_end(const struct wc_release *r, const char *family)
{
	for (size_t i = 0; i < r->nimg_end; i++)
		if (strcmp(r->img_end_family[i], family) == 0)
			return r->img_end_date[i];
	return NULL;
}

const struct wc_family_tags *wc_release_tags(const struct wc_release *r, const char *family)
{
	for (size_t j = 0; j < r->nimages; j++)
		if (strcmp(r->images[j].family, family) == 0 && r->images[j].ntags > 0)
			return &r->images[j];
	return NULL;
}

/* --- dates --- */

bool wc_date_valid(const char *s)
{
	static const int mdays[] = { 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 + (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1900 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

void wc_today(char buf[11])
{
	time_t t = time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, 11, "%Y-%m-%d", &tm);
}

/* ISO dates compare as strings; a month-only date "2023-10" sorts before
 * every day of that month, which is what "released in 2023-10" needs. */
enum wc_support wc_release_support(const struct wc_release *r, const char *today)
{
	if (r->released && strcmp(today, r->released) < 0)
		return WC_SUP_NOT_YET;
	const char *last = r->extended_end ? r->extended_end : r->end ? r->end : r->mainstream_end;
	if (r->mainstream_end && strcmp(today, r->mainstream_end) <= 0)
		return WC_SUP_MAINSTREAM;
	if (!last)
		return r->mainstream_end ? WC_SUP_ENDED : WC_SUP_UNKNOWN;
	if (strcmp(today, last) <= 0)
		return r->extended_end && r->mainstream_end ? WC_SUP_EXTENDED : WC_SUP_MAINSTREAM;
	return WC_SUP_ENDED;
}

const char *wc_support_name(enum wc_support s)
{
	switch (s) {
	case WC_SUP_MAINSTREAM: return "supported";
	case WC_SUP_EXTENDED: return "extended";
	case WC_SUP_ENDED: return "ended";
	case WC_SUP_NOT_YET: return "not-yet-released";
	default: return "unknown";
	}
}
