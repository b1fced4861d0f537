/* OCI / Docker config, manifest and index: strict loaders, fixed-order
 * serializers (cJSON). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/common.h"
#include "image/img_compress.h"
#include "image/img_model.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

/* ---------- lists and maps ---------- */

void img_strlist_add(struct img_strlist *l, const char *s)
{
	l->v = xreallocarray(l->v, l->n + 1, sizeof(*l->v));
	l->v[l->n++] = xstrdup(s);
	l->set = true;
}

void img_strlist_clear(struct img_strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	memset(l, 0, sizeof(*l));
}

void img_strlist_copy(struct img_strlist *dst, const struct img_strlist *src)
{
	memset(dst, 0, sizeof(*dst));
	for (size_t i = 0; i < src->n; i++)
		img_strlist_add(dst, src->v[i]);
	dst->set = src->set;
}

static size_t map_find(const struct img_kvmap *m, const char *key, bool *found)
{
	size_t lo = 0, hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(m->v[mid].key, key);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*found = false;
	return lo;
}

void img_kvmap_set(struct img_kvmap *m, const char *key, const char *value)
{
	bool found;
	size_t i = map_find(m, key, &found);
	m->set = true;
	if (found) {
		free(m->v[i].value);
		m->v[i].value = xstrdup(value);
		return;
	}
	m->v = xreallocarray(m->v, m->n + 1, sizeof(*m->v));
	memmove(m->v + i + 1, m->v + i, (m->n - i) * sizeof(*m->v));
	m->v[i].key = xstrdup(key);
	m->v[i].value = xstrdup(value);
	m->n++;
}

const char *img_kvmap_get(const struct img_kvmap *m, const char *key)
{
	bool found;
	size_t i = map_find(m, key, &found);
	return found ? m->v[i].value : NULL;
}

bool img_kvmap_del(struct img_kvmap *m, const char *key)
{
	bool found;
	size_t i = map_find(m, key, &found);
	if (!found)
		return false;
	free(m->v[i].key);
	free(m->v[i].value);
	memmove(m->v + i, m->v + i + 1, (m->n - i - 1) * sizeof(*m->v));
	m->n--;
	return true;
}

void img_kvmap_clear(struct img_kvmap *m)
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->v[i].key);
		free(m->v[i].value);
	}
	free(m->v);
	memset(m, 0, sizeof(*m));
}

void img_kvmap_copy(struct img_kvmap *dst, const struct img_kvmap *src)
{
	memset(dst, 0, sizeof(*dst));
	if (src->n) {
		dst->v = xcalloc(src->n, sizeof(*dst->v));
		for (size_t i = 0; i < src->n; i++) {
			dst->v[i].key = xstrdup(src->v[i].key);
			dst->v[i].value = xstrdup(src->v[i].value);
		}
	}
	dst->n = src->n;
	dst->set = src->set;
}

static char *xstrdup_or_null(const char *s) { return s ? xstrdup(s) : NULL; }

/* ---------- platform, descriptor ---------- */

void img_platform_clear(struct img_platform *p)
{
	free(p->architecture);
	free(p->os);
	free(p->os_version);
	free(p->variant);
	img_strlist_clear(&p->os_features);
	memset(p, 0, sizeof(*p));
}

void img_platform_copy(struct img_platform *dst, const struct img_platform *src)
{
	dst->architecture = xstrdup_or_null(src->architecture);
	dst->os = xstrdup_or_null(src->os);
	dst->os_version = xstrdup_or_null(src->os_version);
	dst->variant = xstrdup_or_null(src->variant);
	img_strlist_copy(&dst->os_features, &src->os_features);
}

int img_platform_parse(const char *spec, struct img_platform *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	/* containerd syntax for Windows builds: windows(10.0.17763)/amd64 */
	_cleanup_free_ char *buf = xstrdup(spec);
	_cleanup_free_ char *osver = NULL;
	const char *s = buf;
	char *lp = strchr(buf, '('), *rp = lp ? strchr(lp, ')') : NULL;
	if (lp && rp && rp[1] == '/' && lp < strchr(buf, '/')) {
		osver = xstrndup(lp + 1, (size_t)(rp - lp - 1));
		for (const char *c = osver; *c; c++)
			if (!((*c >= '0' && *c <= '9') || *c == '.'))
				return berr_set(err, BERR_USAGE, "invalid os.version in platform '%s'", spec);
		memmove(lp, rp + 1, strlen(rp + 1) + 1);
	} else if (lp) {
		return berr_set(err, BERR_USAGE, "invalid platform '%s' (want os[(os.version)]/arch[/variant])",
				spec);
	}
	char *parts[3] = { NULL, NULL, NULL };
	int n = 0;
	const char *p = s;
	for (;;) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);
		if (n == 3 || len == 0 || len > 64)
			goto bad;
		parts[n] = xstrndup(p, len);
		for (char *c = parts[n]; *c; c++) {
			if (*c >= 'A' && *c <= 'Z')
				*c = (char)(*c - 'A' + 'a');
			else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '_' ||
				   *c == '.' || *c == '-'))
				goto bad;
		}
		n++;
		if (!e)
			break;
		p = e + 1;
	}
	if (n < 2)
		goto bad;
	out->os = parts[0];
	out->architecture = parts[1];
	out->variant = parts[2];
	if (osver && *osver)
		out->os_version = steal_pointer(&osver);
	return 0;
bad:
	for (int i = 0; i < 3; i++)
		free(parts[i]);
	return berr_set(err, BERR_USAGE, "invalid platform '%s' (want os[(os.version)]/arch[/variant])",
			spec);
}

char *img_platform_format(const struct img_platform *p)
{
	return xasprintf("%s/%s%s%s", p->os ? p->os : "unknown",
			 p->architecture ? p->architecture : "unknown", p->variant ? "/" : "",
			 p->variant ? p->variant : "");
}

void img_descriptor_clear(struct img_descriptor *d)
{
	free(d->media_type);
	img_strlist_clear(&d->urls);
	img_kvmap_clear(&d->annotations);
	free(d->data);
	if (d->platform) {
		img_platform_clear(d->platform);
		free(d->platform);
	}
	free(d->artifact_type);
	memset(d, 0, sizeof(*d));
}

void img_descriptor_copy(struct img_descriptor *dst, const struct img_descriptor *src)
{
	memset(dst, 0, sizeof(*dst));
	dst->media_type = xstrdup_or_null(src->media_type);
	dst->digest = src->digest;
	dst->size = src->size;
	img_strlist_copy(&dst->urls, &src->urls);
	img_kvmap_copy(&dst->annotations, &src->annotations);
	dst->data = xstrdup_or_null(src->data);
	if (src->platform) {
		dst->platform = xcalloc(1, sizeof(*dst->platform));
		img_platform_copy(dst->platform, src->platform);
	}
	dst->artifact_type = xstrdup_or_null(src->artifact_type);
}

bool img_descriptor_is_foreign(const struct img_descriptor *d)
{
	const char *mt = d->media_type ? d->media_type : "";
	return strcmp(mt, IMG_MT_DOCKER_FOREIGN) == 0 ||
	       strncmp(mt, "application/vnd.oci.image.layer.nondistributable.", 50) == 0;
}

/* ---------- loading ---------- */

struct jctx {
	const char *what;
	struct berr **err;
};

static int jerr(struct jctx *c, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int jerr(struct jctx *c, const char *field, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = xvasprintf(fmt, ap);
	va_end(ap);
	return berr_set(c->err, BERR_INPUT, "%s: field '%s': %s", c->what, field, m);
}

static int cmp_cstr(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* JSON objects must not repeat a key (I-JSON). Checked once over the tree. */
static int check_dups(struct jctx *c, const cJSON *j)
{
	if (cJSON_IsObject(j)) {
		size_t n = 0;
		for (const cJSON *k = j->child; k; k = k->next)
			n++;
		if (n > 1) {
			_cleanup_free_ const char **names = xcalloc(n, sizeof(*names));
			size_t i = 0;
			for (const cJSON *k = j->child; k; k = k->next)
				names[i++] = k->string ? k->string : "";
			qsort(names, n, sizeof(*names), cmp_cstr);
			for (i = 1; i < n; i++)
				if (strcmp(names[i - 1], names[i]) == 0)
					return berr_set(c->err, BERR_INPUT, "%s: duplicate key '%.100s'",
							c->what, names[i]);
		}
	}
	if (cJSON_IsObject(j) || cJSON_IsArray(j))
		for (const cJSON *k = j->child; k; k = k->next)
			if (check_dups(c, k) < 0)
				return -1;
	return 0;
}

/* Offset of the first byte that is not well-formed UTF-8 (RFC 3629: no
 * overlong forms, no surrogates, nothing past U+10FFFF), or len. JSON must
 * be UTF-8 (RFC 8259); cJSON copies bytes unchecked, and what we store we
 * also re-serialize for other tools. */
static size_t utf8_bad_at(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char b = s[i];
		size_t n;
		uint32_t cp, min;
		if (b < 0x80) {
			i++;
			continue;
		} else if ((b & 0xe0) == 0xc0) {
			n = 2, cp = b & 0x1f, min = 0x80;
		} else if ((b & 0xf0) == 0xe0) {
			n = 3, cp = b & 0x0f, min = 0x800;
		} else if ((b & 0xf8) == 0xf0) {
			n = 4, cp = b & 0x07, min = 0x10000;
		} else {
			return i;
		}
		if (len - i < n)
			return i;
		for (size_t k = 1; k < n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return i;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
			return i;
		i += n;
	}
	return len;
}

static cJSON *parse_doc(struct jctx *c, const char *json, size_t len)
{
	if (len > IMG_JSON_MAX) {
		berr_set(c->err, BERR_LIMIT, "%s: %zu bytes exceeds the %u byte limit", c->what, len,
			 IMG_JSON_MAX);
		return NULL;
	}
	size_t bad = utf8_bad_at((const unsigned char *)json, len);
	if (bad < len) {
		berr_set(c->err, BERR_INPUT, "%s: invalid UTF-8 at byte %zu", c->what, bad);
		return NULL;
	}
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!j) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		berr_set(c->err, BERR_INPUT, "%s: invalid JSON near byte %zu", c->what, off);
		return NULL;
	}
	/* trailing garbage other than whitespace / NUL padding is an error */
	for (const char *p = end; p && p < json + len; p++)
		if (!(*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t' || *p == '\0')) {
			cJSON_Delete(j);
			berr_set(c->err, BERR_INPUT, "%s: trailing data after JSON at byte %zu",
				 c->what, (size_t)(p - json));
			return NULL;
		}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		berr_set(c->err, BERR_INPUT, "%s: not a JSON object", c->what);
		return NULL;
	}
	if (check_dups(c, j) < 0) {
		cJSON_Delete(j);
		return NULL;
	}
	return j;
}

int img_json_validate(const char *json, size_t len, const char *what, struct berr **err)
{
	struct jctx c = { what ? what : "JSON", err };
	if (len > IMG_JSON_MAX)
		return berr_set(err, BERR_LIMIT, "%s: %zu bytes exceeds the %u byte limit", c.what, len,
				IMG_JSON_MAX);
	size_t bad = utf8_bad_at((const unsigned char *)json, len);
	if (bad < len)
		return berr_set(err, BERR_INPUT, "%s: invalid UTF-8 at byte %zu", c.what, bad);
	const char *end = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(json, len, &end, false);
	if (!j) {
		size_t off = end && end >= json ? (size_t)(end - json) : 0;
		return berr_set(err, BERR_INPUT, "%s: invalid JSON near byte %zu", c.what, off);
	}
	int rc = check_dups(&c, j);
	cJSON_Delete(j);
	return rc;
}

static const cJSON *jget(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return (v && cJSON_IsNull(v)) ? NULL : v;
}

static int jstr(struct jctx *c, const cJSON *o, const char *key, const char *field, bool required,
		char **out)
{
	const cJSON *v = jget(o, key);
	if (!v) {
		if (required)
			return jerr(c, field, "missing");
		return 0;
	}
	if (!cJSON_IsString(v))
		return jerr(c, field, "must be a string");
	free(*out);
	*out = xstrdup(v->valuestring);
	return 0;
}

static int jint_value(struct jctx *c, const cJSON *v, const char *field, int64_t *out)
{
	if (!cJSON_IsNumber(v))
		return jerr(c, field, "must be an integer");
	double d = v->valuedouble;
	if (!(d >= 0) || d >= (double)IMG_JSON_INT_MAX || floor(d) != d)
		return jerr(c, field, "must be a non-negative integer below 2^53");
	*out = (int64_t)d;
	return 0;
}

static int jint(struct jctx *c, const cJSON *o, const char *key, const char *field, bool required,
		int64_t *out)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return required ? jerr(c, field, "missing") : 0;
	return jint_value(c, v, field, out);
}

static int jstrlist(struct jctx *c, const cJSON *o, const char *key, const char *field,
		    struct img_strlist *out)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsArray(v))
		return jerr(c, field, "must be an array of strings");
	out->set = true;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsString(e))
			return jerr(c, field, "must be an array of strings");
		img_strlist_add(out, e->valuestring);
	}
	return 0;
}

static int kv_cmp(const void *a, const void *b)
{
	return strcmp(((const struct img_kv *)a)->key, ((const struct img_kv *)b)->key);
}

static int jstrmap(struct jctx *c, const cJSON *o, const char *key, const char *field,
		   struct img_kvmap *out)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return jerr(c, field, "must be an object of strings");
	out->set = true;
	size_t n = 0;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsString(e))
			return jerr(c, field, "value of '%.100s' must be a string", e->string);
		n++;
	}
	/* keys are unique (check_dups); append then sort once */
	out->v = xreallocarray(out->v, out->n + n, sizeof(*out->v));
	for (const cJSON *e = v->child; e; e = e->next) {
		out->v[out->n].key = xstrdup(e->string);
		out->v[out->n].value = xstrdup(e->valuestring);
		out->n++;
	}
	qsort(out->v, out->n, sizeof(*out->v), kv_cmp);
	return 0;
}

/* Object used as a set ({"80/tcp": {}}): keys kept, values must be objects. */
static int jkeyset(struct jctx *c, const cJSON *o, const char *key, const char *field,
		   struct img_strlist *out)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsObject(v))
		return jerr(c, field, "must be an object");
	out->set = true;
	for (const cJSON *e = v->child; e; e = e->next) {
		if (!cJSON_IsObject(e) && !cJSON_IsNull(e))
			return jerr(c, field, "value of '%.100s' must be {}", e->string);
		img_strlist_add(out, e->string);
	}
	qsort(out->v, out->n, sizeof(*out->v), cmp_cstr);
	return 0;
}

static int jbool(struct jctx *c, const cJSON *o, const char *key, const char *field, bool *out)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return 0;
	if (!cJSON_IsBool(v))
		return jerr(c, field, "must be a boolean");
	*out = cJSON_IsTrue(v);
	return 0;
}

static int load_platform(struct jctx *c, const cJSON *o, const char *field, bool required_fields,
			 struct img_platform *p)
{
	char f[160];
#define F(name) (snprintf(f, sizeof(f), "%s%s%s", field, *field ? "." : "", name), f)
	if (jstr(c, o, "architecture", F("architecture"), required_fields, &p->architecture) < 0 ||
	    jstr(c, o, "os", F("os"), required_fields, &p->os) < 0 ||
	    jstr(c, o, "os.version", F("os.version"), false, &p->os_version) < 0 ||
	    jstrlist(c, o, "os.features", F("os.features"), &p->os_features) < 0 ||
	    jstr(c, o, "variant", F("variant"), false, &p->variant) < 0)
		return -1;
#undef F
	return 0;
}

static int load_descriptor(struct jctx *c, const cJSON *o, const char *field,
			   struct img_descriptor *d)
{
	char f[160];
#define F(name) (snprintf(f, sizeof(f), "%s.%s", field, name), f)
	if (!cJSON_IsObject(o))
		return jerr(c, field, "must be an object");
	_cleanup_free_ char *digest = NULL;
	if (jstr(c, o, "mediaType", F("mediaType"), true, &d->media_type) < 0 ||
	    jstr(c, o, "digest", F("digest"), true, &digest) < 0 ||
	    jint(c, o, "size", F("size"), true, &d->size) < 0 ||
	    jstrlist(c, o, "urls", F("urls"), &d->urls) < 0 ||
	    jstrmap(c, o, "annotations", F("annotations"), &d->annotations) < 0 ||
	    jstr(c, o, "data", F("data"), false, &d->data) < 0 ||
	    jstr(c, o, "artifactType", F("artifactType"), false, &d->artifact_type) < 0)
		return -1;
	if (!img_digest_valid(digest))
		return jerr(c, F("digest"), "invalid digest '%.80s' (want sha256: and 64 lowercase hex)",
			    digest);
	memcpy(d->digest.s, digest, IMG_DIGEST_STR_LEN + 1);
	const cJSON *p = jget(o, "platform");
	if (p) {
		if (!cJSON_IsObject(p))
			return jerr(c, F("platform"), "must be an object");
		d->platform = xcalloc(1, sizeof(*d->platform));
		if (load_platform(c, p, F("platform"), true, d->platform) < 0)
			return -1;
	}
#undef F
	return 0;
}

static int load_descriptor_array(struct jctx *c, const cJSON *o, const char *key, bool required,
				 struct img_descriptor **out, size_t *n)
{
	const cJSON *v = jget(o, key);
	if (!v)
		return required ? jerr(c, key, "missing") : 0;
	if (!cJSON_IsArray(v))
		return jerr(c, key, "must be an array");
	size_t count = (size_t)cJSON_GetArraySize(v);
	*out = xcalloc(count ? count : 1, sizeof(**out));
	size_t i = 0;
	for (const cJSON *e = v->child; e; e = e->next, i++) {
		char f[64];
		snprintf(f, sizeof(f), "%s[%zu]", key, i);
		*n = i + 1;
		if (load_descriptor(c, e, f, &(*out)[i]) < 0)
			return -1;
	}
	*n = i;
	return 0;
}

static int check_schema(struct jctx *c, const cJSON *j)
{
	int64_t v = 0;
	if (jint(c, j, "schemaVersion", "schemaVersion", true, &v) < 0)
		return -1;
	if (v != 2)
		return jerr(c, "schemaVersion", "must be 2, not %" PRId64, v);
	return 0;
}

struct img_config *img_config_new(void) { return xcalloc(1, sizeof(struct img_config)); }
struct img_manifest *img_manifest_new(void) { return xcalloc(1, sizeof(struct img_manifest)); }
struct img_index *img_index_new(void) { return xcalloc(1, sizeof(struct img_index)); }

static void runconfig_clear(struct img_runconfig *r)
{
	free(r->user);
	img_strlist_clear(&r->exposed_ports);
	img_strlist_clear(&r->env);
	img_strlist_clear(&r->entrypoint);
	img_strlist_clear(&r->cmd);
	img_strlist_clear(&r->volumes);
	free(r->working_dir);
	img_kvmap_clear(&r->labels);
	free(r->stop_signal);
	if (r->healthcheck) {
		img_strlist_clear(&r->healthcheck->test);
		free(r->healthcheck);
	}
	img_strlist_clear(&r->onbuild);
	img_strlist_clear(&r->shell);
	memset(r, 0, sizeof(*r));
}

static void history_clear(struct img_history *h)
{
	free(h->created);
	free(h->created_by);
	free(h->author);
	free(h->comment);
	memset(h, 0, sizeof(*h));
}

void img_config_free(struct img_config *c)
{
	if (!c)
		return;
	free(c->created);
	free(c->author);
	img_platform_clear(&c->platform);
	runconfig_clear(&c->config);
	free(c->diff_ids);
	for (size_t i = 0; i < c->n_history; i++)
		history_clear(&c->history[i]);
	free(c->history);
	free(c);
}

void img_manifest_free(struct img_manifest *m)
{
	if (!m)
		return;
	free(m->media_type);
	free(m->artifact_type);
	img_descriptor_clear(&m->config);
	for (size_t i = 0; i < m->n_layers; i++)
		img_descriptor_clear(&m->layers[i]);
	free(m->layers);
	if (m->subject) {
		img_descriptor_clear(m->subject);
		free(m->subject);
	}
	img_kvmap_clear(&m->annotations);
	free(m);
}

void img_index_free(struct img_index *x)
{
	if (!x)
		return;
	free(x->media_type);
	free(x->artifact_type);
	for (size_t i = 0; i < x->n_manifests; i++)
		img_descriptor_clear(&x->manifests[i]);
	free(x->manifests);
	if (x->subject) {
		img_descriptor_clear(x->subject);
		free(x->subject);
	}
	img_kvmap_clear(&x->annotations);
	free(x);
}

static int load_runconfig(struct jctx *c, const cJSON *o, struct img_runconfig *r)
{
	if (!cJSON_IsObject(o))
		return jerr(c, "config", "must be an object");
	if (jstr(c, o, "User", "config.User", false, &r->user) < 0 ||
	    jkeyset(c, o, "ExposedPorts", "config.ExposedPorts", &r->exposed_ports) < 0 ||
	    jstrlist(c, o, "Env", "config.Env", &r->env) < 0 ||
	    jstrlist(c, o, "Entrypoint", "config.Entrypoint", &r->entrypoint) < 0 ||
	    jstrlist(c, o, "Cmd", "config.Cmd", &r->cmd) < 0 ||
	    jkeyset(c, o, "Volumes", "config.Volumes", &r->volumes) < 0 ||
	    jstr(c, o, "WorkingDir", "config.WorkingDir", false, &r->working_dir) < 0 ||
	    jstrmap(c, o, "Labels", "config.Labels", &r->labels) < 0 ||
	    jstr(c, o, "StopSignal", "config.StopSignal", false, &r->stop_signal) < 0 ||
	    jbool(c, o, "ArgsEscaped", "config.ArgsEscaped", &r->args_escaped) < 0 ||
	    jstrlist(c, o, "OnBuild", "config.OnBuild", &r->onbuild) < 0 ||
	    jstrlist(c, o, "Shell", "config.Shell", &r->shell) < 0)
		return -1;
	const cJSON *h = jget(o, "Healthcheck");
	if (h) {
		if (!cJSON_IsObject(h))
			return jerr(c, "config.Healthcheck", "must be an object");
		r->healthcheck = xcalloc(1, sizeof(*r->healthcheck));
		struct img_healthcheck *hc = r->healthcheck;
		if (jstrlist(c, h, "Test", "config.Healthcheck.Test", &hc->test) < 0 ||
		    jint(c, h, "Interval", "config.Healthcheck.Interval", false, &hc->interval) < 0 ||
		    jint(c, h, "Timeout", "config.Healthcheck.Timeout", false, &hc->timeout) < 0 ||
		    jint(c, h, "StartPeriod", "config.Healthcheck.StartPeriod", false,
			 &hc->start_period) < 0 ||
		    jint(c, h, "StartInterval", "config.Healthcheck.StartInterval", false,
			 &hc->start_interval) < 0 ||
		    jint(c, h, "Retries", "config.Healthcheck.Retries", false, &hc->retries) < 0)
			return -1;
	}
	return 0;
}

int img_config_parse(const char *json, size_t len, const char *what, struct img_config **out,
		     struct berr **err)
{
	struct jctx c = { what ? what : "image config", err };
	_cleanup_cjson_ cJSON *j = parse_doc(&c, json, len);
	if (!j)
		return -1;
	_cleanup_img_config_ struct img_config *cfg = img_config_new();
	if (jstr(&c, j, "created", "created", false, &cfg->created) < 0 ||
	    jstr(&c, j, "author", "author", false, &cfg->author) < 0 ||
	    load_platform(&c, j, "", true, &cfg->platform) < 0)
		return -1;
	const cJSON *rc = jget(j, "config");
	if (rc) {
		cfg->has_config = true;
		if (load_runconfig(&c, rc, &cfg->config) < 0)
			return -1;
	}
	const cJSON *rootfs = jget(j, "rootfs");
	if (!rootfs)
		return jerr(&c, "rootfs", "missing");
	if (!cJSON_IsObject(rootfs))
		return jerr(&c, "rootfs", "must be an object");
	_cleanup_free_ char *type = NULL;
	if (jstr(&c, rootfs, "type", "rootfs.type", true, &type) < 0)
		return -1;
	if (strcmp(type, "layers") != 0)
		return jerr(&c, "rootfs.type", "must be \"layers\", not '%.40s'", type);
	const cJSON *ids = jget(rootfs, "diff_ids");
	if (ids && !cJSON_IsArray(ids))
		return jerr(&c, "rootfs.diff_ids", "must be an array");
	if (ids) {
		size_t n = (size_t)cJSON_GetArraySize(ids), i = 0;
		cfg->diff_ids = xcalloc(n ? n : 1, sizeof(*cfg->diff_ids));
		for (const cJSON *e = ids->child; e; e = e->next, i++) {
			char f[64];
			snprintf(f, sizeof(f), "rootfs.diff_ids[%zu]", i);
			if (!cJSON_IsString(e) || !img_digest_valid(e->valuestring))
				return jerr(&c, f, "must be a sha256 digest");
			memcpy(cfg->diff_ids[i].s, e->valuestring, IMG_DIGEST_STR_LEN + 1);
			cfg->n_diff_ids = i + 1;
		}
	}
	const cJSON *hist = jget(j, "history");
	if (hist) {
		if (!cJSON_IsArray(hist))
			return jerr(&c, "history", "must be an array");
		size_t n = (size_t)cJSON_GetArraySize(hist), i = 0;
		cfg->history = xcalloc(n ? n : 1, sizeof(*cfg->history));
		for (const cJSON *e = hist->child; e; e = e->next, i++) {
			char f[4][64];
			snprintf(f[0], sizeof(f[0]), "history[%zu]", i);
			if (!cJSON_IsObject(e))
				return jerr(&c, f[0], "must be an object");
			struct img_history *h = &cfg->history[i];
			cfg->n_history = i + 1;
			snprintf(f[0], sizeof(f[0]), "history[%zu].created", i);
			snprintf(f[1], sizeof(f[1]), "history[%zu].created_by", i);
			snprintf(f[2], sizeof(f[2]), "history[%zu].author", i);
			snprintf(f[3], sizeof(f[3]), "history[%zu].comment", i);
			if (jstr(&c, e, "created", f[0], false, &h->created) < 0 ||
			    jstr(&c, e, "created_by", f[1], false, &h->created_by) < 0 ||
			    jstr(&c, e, "author", f[2], false, &h->author) < 0 ||
			    jstr(&c, e, "comment", f[3], false, &h->comment) < 0)
				return -1;
			snprintf(f[0], sizeof(f[0]), "history[%zu].empty_layer", i);
			if (jbool(&c, e, "empty_layer", f[0], &h->empty_layer) < 0)
				return -1;
		}
	}
	*out = steal_pointer(&cfg);
	return 0;
}

int img_manifest_parse(const char *json, size_t len, const char *what, struct img_manifest **out,
		       struct berr **err)
{
	struct jctx c = { what ? what : "image manifest", err };
	_cleanup_cjson_ cJSON *j = parse_doc(&c, json, len);
	if (!j)
		return -1;
	_cleanup_img_manifest_ struct img_manifest *m = img_manifest_new();
	if (check_schema(&c, j) < 0 ||
	    jstr(&c, j, "mediaType", "mediaType", false, &m->media_type) < 0 ||
	    jstr(&c, j, "artifactType", "artifactType", false, &m->artifact_type) < 0)
		return -1;
	if (m->media_type && strcmp(m->media_type, IMG_MT_OCI_MANIFEST) != 0 &&
	    strcmp(m->media_type, IMG_MT_DOCKER_MANIFEST) != 0)
		return jerr(&c, "mediaType", "'%.100s' is not an image manifest media type",
			    m->media_type);
	const cJSON *cfg = jget(j, "config");
	if (!cfg)
		return jerr(&c, "config", "missing");
	if (load_descriptor(&c, cfg, "config", &m->config) < 0 ||
	    load_descriptor_array(&c, j, "layers", true, &m->layers, &m->n_layers) < 0 ||
	    jstrmap(&c, j, "annotations", "annotations", &m->annotations) < 0)
		return -1;
	const cJSON *subj = jget(j, "subject");
	if (subj) {
		m->subject = xcalloc(1, sizeof(*m->subject));
		if (load_descriptor(&c, subj, "subject", m->subject) < 0)
			return -1;
	}
	*out = steal_pointer(&m);
	return 0;
}

int img_index_parse(const char *json, size_t len, const char *what, struct img_index **out,
		    struct berr **err)
{
	struct jctx c = { what ? what : "image index", err };
	_cleanup_cjson_ cJSON *j = parse_doc(&c, json, len);
	if (!j)
		return -1;
	_cleanup_img_index_ struct img_index *x = img_index_new();
	if (check_schema(&c, j) < 0 ||
	    jstr(&c, j, "mediaType", "mediaType", false, &x->media_type) < 0 ||
	    jstr(&c, j, "artifactType", "artifactType", false, &x->artifact_type) < 0)
		return -1;
	if (x->media_type && strcmp(x->media_type, IMG_MT_OCI_INDEX) != 0 &&
	    strcmp(x->media_type, IMG_MT_DOCKER_LIST) != 0)
		return jerr(&c, "mediaType", "'%.100s' is not an image index media type",
			    x->media_type);
	if (load_descriptor_array(&c, j, "manifests", true, &x->manifests, &x->n_manifests) < 0 ||
	    jstrmap(&c, j, "annotations", "annotations", &x->annotations) < 0)
		return -1;
	const cJSON *subj = jget(j, "subject");
	if (subj) {
		x->subject = xcalloc(1, sizeof(*x->subject));
		if (load_descriptor(&c, subj, "subject", x->subject) < 0)
			return -1;
	}
	*out = steal_pointer(&x);
	return 0;
}

const char *img_json_kind(const char *json, size_t len)
{
	if (len > IMG_JSON_MAX)
		return NULL;
	_cleanup_cjson_ cJSON *j = cJSON_ParseWithLength(json, len);
	if (!cJSON_IsObject(j))
		return NULL;
	const cJSON *mt = cJSON_GetObjectItemCaseSensitive(j, "mediaType");
	if (cJSON_IsString(mt)) {
		static const char *const known[] = { IMG_MT_OCI_INDEX, IMG_MT_OCI_MANIFEST,
			IMG_MT_OCI_CONFIG, IMG_MT_DOCKER_LIST, IMG_MT_DOCKER_MANIFEST,
			IMG_MT_DOCKER_CONFIG };
		for (size_t i = 0; i < ARRAY_SIZE(known); i++)
			if (strcmp(mt->valuestring, known[i]) == 0)
				return known[i];
	}
	if (cJSON_GetObjectItemCaseSensitive(j, "manifests"))
		return IMG_MT_OCI_INDEX;
	if (cJSON_GetObjectItemCaseSensitive(j, "layers") &&
	    cJSON_GetObjectItemCaseSensitive(j, "config"))
		return IMG_MT_OCI_MANIFEST;
	if (cJSON_GetObjectItemCaseSensitive(j, "rootfs"))
		return IMG_MT_OCI_CONFIG;
	return NULL;
}

/* ---------- building ---------- */

void img_config_add_diff_id(struct img_config *c, const struct img_digest *d)
{
	c->diff_ids = xreallocarray(c->diff_ids, c->n_diff_ids + 1, sizeof(*c->diff_ids));
	c->diff_ids[c->n_diff_ids++] = *d;
}

void img_config_add_history(struct img_config *c, const struct img_history *h)
{
	c->history = xreallocarray(c->history, c->n_history + 1, sizeof(*c->history));
	struct img_history *n = &c->history[c->n_history++];
	n->created = xstrdup_or_null(h->created);
	n->created_by = xstrdup_or_null(h->created_by);
	n->author = xstrdup_or_null(h->author);
	n->comment = xstrdup_or_null(h->comment);
	n->empty_layer = h->empty_layer;
}

void img_manifest_add_layer(struct img_manifest *m, const struct img_descriptor *d)
{
	m->layers = xreallocarray(m->layers, m->n_layers + 1, sizeof(*m->layers));
	img_descriptor_copy(&m->layers[m->n_layers++], d);
}

void img_index_add(struct img_index *x, const struct img_descriptor *d)
{
	x->manifests = xreallocarray(x->manifests, x->n_manifests + 1, sizeof(*x->manifests));
	img_descriptor_copy(&x->manifests[x->n_manifests++], d);
}

bool img_index_remove_at(struct img_index *x, size_t i)
{
	if (i >= x->n_manifests)
		return false;
	img_descriptor_clear(&x->manifests[i]);
	memmove(x->manifests + i, x->manifests + i + 1,
		(x->n_manifests - i - 1) * sizeof(*x->manifests));
	x->n_manifests--;
	return true;
}

/* ---------- serializing ---------- */

/* Integers as exact decimal text (cJSON would print doubles). */
static void add_int(cJSON *o, const char *key, int64_t v)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" PRId64, v);
	cJSON_AddItemToObject(o, key, cJSON_CreateRaw(buf));
}

static void add_str(cJSON *o, const char *key, const char *v)
{
	if (v)
		cJSON_AddItemToObject(o, key, cJSON_CreateString(v));
}

static void add_strlist(cJSON *o, const char *key, const struct img_strlist *l, bool force)
{
	if (!l->set && !force && l->n == 0)
		return;
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < l->n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(l->v[i]));
	cJSON_AddItemToObject(o, key, a);
}

static void add_strmap(cJSON *o, const char *key, const struct img_kvmap *m)
{
	if (m->n == 0)
		return; /* omitempty, like the Go structs */
	cJSON *a = cJSON_CreateObject();
	for (size_t i = 0; i < m->n; i++)
		cJSON_AddItemToObject(a, m->v[i].key, cJSON_CreateString(m->v[i].value));
	cJSON_AddItemToObject(o, key, a);
}

static void add_keyset(cJSON *o, const char *key, const struct img_strlist *l)
{
	if (l->n == 0)
		return;
	/* sorted and unique so output is deterministic */
	_cleanup_free_ char **v = xcalloc(l->n, sizeof(*v));
	memcpy(v, l->v, l->n * sizeof(*v));
	qsort(v, l->n, sizeof(*v), cmp_cstr);
	cJSON *a = cJSON_CreateObject();
	for (size_t i = 0; i < l->n; i++)
		if (i == 0 || strcmp(v[i - 1], v[i]) != 0)
			cJSON_AddItemToObject(a, v[i], cJSON_CreateObject());
	cJSON_AddItemToObject(o, key, a);
}

static void add_platform_fields(cJSON *o, const struct img_platform *p)
{
	add_str(o, "architecture", p->architecture ? p->architecture : "");
	add_str(o, "os", p->os ? p->os : "");
	add_str(o, "os.version", p->os_version);
	if (p->os_features.n)
		add_strlist(o, "os.features", &p->os_features, true);
	add_str(o, "variant", p->variant);
}

static cJSON *descriptor_json(const struct img_descriptor *d)
{
	cJSON *o = cJSON_CreateObject();
	add_str(o, "mediaType", d->media_type ? d->media_type : "");
	add_str(o, "digest", d->digest.s);
	add_int(o, "size", d->size);
	if (d->urls.n)
		add_strlist(o, "urls", &d->urls, true);
	add_strmap(o, "annotations", &d->annotations);
	add_str(o, "data", d->data);
	if (d->platform) {
		cJSON *p = cJSON_CreateObject();
		add_platform_fields(p, d->platform);
		cJSON_AddItemToObject(o, "platform", p);
	}
	add_str(o, "artifactType", d->artifact_type);
	return o;
}

bool img_descriptor_equal(const struct img_descriptor *a, const struct img_descriptor *b)
{
	cJSON *ja = descriptor_json(a), *jb = descriptor_json(b);
	bool eq = cJSON_Compare(ja, jb, true);
	cJSON_Delete(ja);
	cJSON_Delete(jb);
	return eq;
}

static int print_json(cJSON *j, struct bbuf *out, struct berr **err)
{
	char *s = cJSON_PrintUnformatted(j);
	cJSON_Delete(j);
	if (!s)
		abort();
	int r = bbuf_addstr(out, s, err);
	cJSON_free(s);
	return r;
}

static int check_descriptor(const struct img_descriptor *d, const char *what, struct berr **err)
{
	if (!d->media_type || !*d->media_type)
		return berr_set(err, BERR_INTERNAL, "%s: descriptor without media type", what);
	if (!img_digest_valid(d->digest.s))
		return berr_set(err, BERR_INTERNAL, "%s: descriptor without a valid digest", what);
	if (d->size < 0 || d->size >= IMG_JSON_INT_MAX)
		return berr_set(err, BERR_INTERNAL, "%s: size out of range", what);
	return 0;
}

int img_config_to_json(const struct img_config *c, struct bbuf *out, struct berr **err)
{
	if (!c->platform.os || !c->platform.architecture)
		return berr_set(err, BERR_INTERNAL, "image config without os or architecture");
	cJSON *o = cJSON_CreateObject();
	add_str(o, "created", c->created);
	add_str(o, "author", c->author);
	add_platform_fields(o, &c->platform);
	if (c->has_config) {
		const struct img_runconfig *r = &c->config;
		cJSON *k = cJSON_CreateObject();
		add_str(k, "User", r->user);
		add_keyset(k, "ExposedPorts", &r->exposed_ports);
		add_strlist(k, "Env", &r->env, false);
		add_strlist(k, "Entrypoint", &r->entrypoint, false);
		add_strlist(k, "Cmd", &r->cmd, false);
		add_keyset(k, "Volumes", &r->volumes);
		add_str(k, "WorkingDir", r->working_dir);
		add_strmap(k, "Labels", &r->labels);
		add_str(k, "StopSignal", r->stop_signal);
		if (r->args_escaped)
			cJSON_AddItemToObject(k, "ArgsEscaped", cJSON_CreateTrue());
		if (r->healthcheck) {
			const struct img_healthcheck *h = r->healthcheck;
			for (const int64_t *v = &h->interval; v <= &h->retries; v++)
				if (*v < 0 || *v >= IMG_JSON_INT_MAX) {
					cJSON_Delete(o);
					cJSON_Delete(k);
					return berr_set(err, BERR_INPUT,
							"healthcheck value out of range");
				}
			cJSON *hc = cJSON_CreateObject();
			add_strlist(hc, "Test", &h->test, false);
			if (h->interval) add_int(hc, "Interval", h->interval);
			if (h->timeout) add_int(hc, "Timeout", h->timeout);
			if (h->start_period) add_int(hc, "StartPeriod", h->start_period);
			if (h->start_interval) add_int(hc, "StartInterval", h->start_interval);
			if (h->retries) add_int(hc, "Retries", h->retries);
			cJSON_AddItemToObject(k, "Healthcheck", hc);
		}
		add_strlist(k, "OnBuild", &r->onbuild, false);
		add_strlist(k, "Shell", &r->shell, false);
		cJSON_AddItemToObject(o, "config", k);
	}
	cJSON *rootfs = cJSON_CreateObject();
	add_str(rootfs, "type", "layers");
	cJSON *ids = cJSON_CreateArray();
	for (size_t i = 0; i < c->n_diff_ids; i++)
		cJSON_AddItemToArray(ids, cJSON_CreateString(c->diff_ids[i].s));
	cJSON_AddItemToObject(rootfs, "diff_ids", ids);
	cJSON_AddItemToObject(o, "rootfs", rootfs);
	if (c->n_history) {
		cJSON *hs = cJSON_CreateArray();
		for (size_t i = 0; i < c->n_history; i++) {
			const struct img_history *h = &c->history[i];
			cJSON *e = cJSON_CreateObject();
			add_str(e, "created", h->created);
			add_str(e, "created_by", h->created_by);
			add_str(e, "author", h->author);
			add_str(e, "comment", h->comment);
			if (h->empty_layer)
				cJSON_AddItemToObject(e, "empty_layer", cJSON_CreateTrue());
			cJSON_AddItemToArray(hs, e);
		}
		cJSON_AddItemToObject(o, "history", hs);
	}
	return print_json(o, out, err);
}

int img_manifest_to_json(const struct img_manifest *m, struct bbuf *out, struct berr **err)
{
	if (check_descriptor(&m->config, "manifest config", err) < 0)
		return -1;
	for (size_t i = 0; i < m->n_layers; i++)
		if (check_descriptor(&m->layers[i], "manifest layer", err) < 0)
			return -1;
	cJSON *o = cJSON_CreateObject();
	add_int(o, "schemaVersion", 2);
	add_str(o, "mediaType", m->media_type ? m->media_type : IMG_MT_OCI_MANIFEST);
	add_str(o, "artifactType", m->artifact_type);
	cJSON_AddItemToObject(o, "config", descriptor_json(&m->config));
	cJSON *l = cJSON_CreateArray();
	for (size_t i = 0; i < m->n_layers; i++)
		cJSON_AddItemToArray(l, descriptor_json(&m->layers[i]));
	cJSON_AddItemToObject(o, "layers", l);
	if (m->subject)
		cJSON_AddItemToObject(o, "subject", descriptor_json(m->subject));
	add_strmap(o, "annotations", &m->annotations);
	return print_json(o, out, err);
}

int img_index_to_json(const struct img_index *x, struct bbuf *out, struct berr **err)
{
	for (size_t i = 0; i < x->n_manifests; i++)
		if (check_descriptor(&x->manifests[i], "index entry", err) < 0)
			return -1;
	cJSON *o = cJSON_CreateObject();
	add_int(o, "schemaVersion", 2);
	add_str(o, "mediaType", x->media_type ? x->media_type : IMG_MT_OCI_INDEX);
	add_str(o, "artifactType", x->artifact_type);
	cJSON *l = cJSON_CreateArray();
	for (size_t i = 0; i < x->n_manifests; i++)
		cJSON_AddItemToArray(l, descriptor_json(&x->manifests[i]));
	cJSON_AddItemToObject(o, "manifests", l);
	if (x->subject)
		cJSON_AddItemToObject(o, "subject", descriptor_json(x->subject));
	add_strmap(o, "annotations", &x->annotations);
	return print_json(o, out, err);
}

/* ---------- time ---------- */

void img_time_format(int64_t t, char *buf, size_t n)
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(buf, n, "1970-01-01T00:00:00Z");
		return;
	}
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int img_source_date_epoch(int64_t fallback, int64_t *out, struct berr **err)
{
	const char *s = getenv("SOURCE_DATE_EPOCH");
	if (!s || !*s) {
		*out = fallback;
		return 0;
	}
	char *end = NULL;
	errno = 0;
	long long v = strtoll(s, &end, 10);
	if (errno || *end || v < 0 || v > 253402300799LL) /* year 9999 */
		return berr_set(err, BERR_INPUT, "invalid SOURCE_DATE_EPOCH '%.40s'", s);
	*out = v;
	return 0;
}
