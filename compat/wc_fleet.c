/* Fleet loader and audit. Formats:
 *   kubectl:   {"kind":"List"|"NodeList","items":[{metadata:{name,labels},status:{nodeInfo}}]}
 *   inventory: JSON array (or {"nodes":[...]}) of {name, build, revision?, hyperv?, arch?,
 *              kind?, os?, runtime?}, or CSV with a header naming those columns. */
#include <cjson/cJSON.h>
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "compat/wc_fleet.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

#define LABEL_OS "kubernetes.io/os"
#define LABEL_ARCH "kubernetes.io/arch"
#define LABEL_BUILD "node.kubernetes.io/windows-build"
#define CSV_MAX_COLS 16

static void node_free(struct wc_node *n)
{
	free(n->name);
	free(n->os);
	free(n->arch);
	free(n->build_text);
	free(n->runtime);
}

void wc_fleet_free(struct wc_fleet *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		node_free(&f->nodes[i]);
	free(f->nodes);
	free(f->name);
	free(f);
}

static struct wc_node *add_node(struct wc_fleet *f)
{
	XGROW(f->nodes, f->n + 1, f->cap);
	struct wc_node *n = &f->nodes[f->n++];
	memset(n, 0, sizeof(*n));
	n->client = -1;
	n->hyperv = -1;
	return n;
}

static const char *jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int client_from_os_image(const char *os_image)
{
	if (!os_image)
		return -1;
	if (strstr(os_image, "Windows 10") || strstr(os_image, "Windows 11"))
		return 1;
	if (strstr(os_image, "Windows Server"))
		return 0;
	return -1;
}

static int parse_kubectl(struct wc_fleet *f, const cJSON *items, struct berr **err)
{
	size_t idx = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, items) {
		const cJSON *md = cJSON_GetObjectItemCaseSensitive(it, "metadata");
		const char *name = md ? jstr(md, "name") : NULL;
		if (!cJSON_IsObject(it) || !name)
			return berr_set(err, BERR_INPUT, "%s: items[%zu]: node without metadata.name",
					f->name, idx);
		if (f->n >= WC_FLEET_MAX_NODES)
			return berr_set(err, BERR_LIMIT, "%s: more than %d nodes", f->name, WC_FLEET_MAX_NODES);
		const cJSON *labels = cJSON_GetObjectItemCaseSensitive(md, "labels");
		const cJSON *st = cJSON_GetObjectItemCaseSensitive(it, "status");
		const cJSON *ni = st ? cJSON_GetObjectItemCaseSensitive(st, "nodeInfo") : NULL;
		struct wc_node *n = add_node(f);
		n->name = xstrdup(name);
		const char *os = labels ? jstr(labels, LABEL_OS) : NULL;
		if (!os && ni)
			os = jstr(ni, "operatingSystem");
		n->os = dup_or_null(os);
		const char *arch = labels ? jstr(labels, LABEL_ARCH) : NULL;
		if (!arch && ni)
			arch = jstr(ni, "architecture");
		n->arch = dup_or_null(arch);
		const char *build = labels ? jstr(labels, LABEL_BUILD) : NULL;
		const char *kernel = ni ? jstr(ni, "kernelVersion") : NULL;
		struct wc_version kv;
		bool kv_ok = kernel && os && strcmp(os, "windows") == 0 &&
			     wc_version_parse(kernel, &kv, NULL) == 0 && kv.has_majmin;
		if (build) {
			n->build_text = xstrdup(build);
			struct wc_version bv;
			/* the label has no revision; the kernel version adds it when builds agree */
			if (kv_ok && kv.has_rev && wc_version_parse(build, &bv, NULL) == 0 &&
			    bv.build == kv.build) {
				n->rev = kv.rev;
				n->has_rev = true;
			}
		} else if (kv_ok) {
			n->build_text = xasprintf("%u.%u.%u", kv.major, kv.minor, kv.build);
			n->rev = kv.rev;
			n->has_rev = kv.has_rev;
		}
		n->client = client_from_os_image(ni ? jstr(ni, "osImage") : NULL);
		n->runtime = dup_or_null(ni ? jstr(ni, "containerRuntimeVersion") : NULL);
		idx++;
	}
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	if (!*s) {
		*out = -1;
		return 0;
	}
	static const char *const yes[] = { "true", "yes", "1", "y" }, *const no[] = { "false", "no", "0", "n" };
	for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*out = 1;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*out = 0;
			return 0;
		}
	}
	return -1;
}

static int parse_kind(const char *s, int *out)
{
	if (!*s)
		*out = -1;
	else if (strcasecmp(s, "client") == 0)
		*out = 1;
	else if (strcasecmp(s, "server") == 0)
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_rev(const char *s, uint32_t *rev, bool *has)
{
	if (!*s) {
		*has = false;
		return 0;
	}
	char *end;
	unsigned long v = strtoul(s, &end, 10);
	if (!isdigit((unsigned char)*s) || *end || v > WC_MAX_BUILD)
		return -1;
	*rev = (uint32_t)v;
	*has = true;
	return 0;
}

static int parse_inventory_json(struct wc_fleet *f, const cJSON *arr, struct berr **err)
{
	size_t idx = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		if (!cJSON_IsObject(it))
			return berr_set(err, BERR_INPUT, "%s: nodes[%zu]: expected an object", f->name, idx);
		const char *name = jstr(it, "name");
		if (!name)
			return berr_set(err, BERR_INPUT, "%s: nodes[%zu]: missing 'name'", f->name, idx);
		if (f->n >= WC_FLEET_MAX_NODES)
			return berr_set(err, BERR_LIMIT, "%s: more than %d nodes", f->name, WC_FLEET_MAX_NODES);
		struct wc_node *n = add_node(f);
		n->name = xstrdup(name);
		const cJSON *b = cJSON_GetObjectItemCaseSensitive(it, "build");
		if (cJSON_IsString(b))
			n->build_text = xstrdup(b->valuestring);
		else if (cJSON_IsNumber(b) && b->valuedouble >= 0 && b->valuedouble <= WC_MAX_BUILD)
			n->build_text = xasprintf("%u", (unsigned)b->valuedouble);
		else if (b && !cJSON_IsNull(b))
			return berr_set(err, BERR_INPUT, "%s: node '%s': 'build' must be a string or number",
					f->name, name);
		const cJSON *r = cJSON_GetObjectItemCaseSensitive(it, "revision");
		if (cJSON_IsNumber(r) && r->valuedouble >= 0 && r->valuedouble <= WC_MAX_BUILD &&
		    r->valuedouble == (double)(uint32_t)r->valuedouble) {
			n->rev = (uint32_t)r->valuedouble;
			n->has_rev = true;
		} else if (cJSON_IsString(r)) {
			if (parse_rev(r->valuestring, &n->rev, &n->has_rev) < 0)
				return berr_set(err, BERR_INPUT, "%s: node '%s': invalid 'revision' '%s'",
						f->name, name, r->valuestring);
		} else if (r && !cJSON_IsNull(r)) {
			return berr_set(err, BERR_INPUT, "%s: node '%s': invalid 'revision'", f->name, name);
		}
		const cJSON *hv = cJSON_GetObjectItemCaseSensitive(it, "hyperv");
		if (cJSON_IsBool(hv))
			n->hyperv = cJSON_IsTrue(hv);
		else if (cJSON_IsString(hv) && parse_bool(hv->valuestring, &n->hyperv) == 0)
			;
		else if (hv && !cJSON_IsNull(hv))
			return berr_set(err, BERR_INPUT, "%s: node '%s': 'hyperv' must be true or false",
					f->name, name);
		const char *kind = jstr(it, "kind");
		if (kind && parse_kind(kind, &n->client) < 0)
			return berr_set(err, BERR_INPUT, "%s: node '%s': 'kind' must be client or server",
					f->name, name);
		n->os = dup_or_null(jstr(it, "os"));
		n->arch = dup_or_null(jstr(it, "arch"));
		n->runtime = dup_or_null(jstr(it, "runtime"));
		idx++;
	}
	return 0;
}

/* Split one CSV line (no quotes with embedded commas needed for these
 * fields; surrounding double quotes and spaces are trimmed). */
static size_t csv_split(char *line, char **cols, size_t max)
{
	size_t n = 0;
	for (char *p = line, *q; p && n < max; p = q) {
		q = strchr(p, ',');
		if (q)
			*q++ = '\0';
		while (*p == ' ' || *p == '\t')
			p++;
		char *e = p + strlen(p);
		while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
			*--e = '\0';
		if (e - p >= 2 && *p == '"' && e[-1] == '"') {
			e[-1] = '\0';
			p++;
		}
		cols[n++] = p;
	}
	return n;
}

enum csv_col { C_NAME, C_BUILD, C_REV, C_HYPERV, C_ARCH, C_KIND, C_OS, C_RUNTIME, C_COUNT };
static const char *const csv_names[C_COUNT] = { "name", "build", "revision", "hyperv", "arch",
						"kind", "os", "runtime" };

static int parse_csv(struct wc_fleet *f, char *data, struct berr **err)
{
	int map[CSV_MAX_COLS];
	size_t ncols = 0;
	int line = 0;
	bool header = false;
	for (char *p = data, *nl; p && *p; p = nl) {
		nl = strchr(p, '\n');
		if (nl)
			*nl++ = '\0';
		line++;
		char *s = p;
		while (*s == ' ' || *s == '\t' || *s == '\r')
			s++;
		if (!*s || *s == '#')
			continue;
		char *cols[CSV_MAX_COLS + 1];
		size_t n = csv_split(p, cols, CSV_MAX_COLS + 1);
		if (n > CSV_MAX_COLS)
			return berr_set_at(err, BERR_INPUT, f->name, line, 0, "more than %d columns",
					   CSV_MAX_COLS);
		if (!header) {
			bool have[C_COUNT] = { false };
			for (size_t i = 0; i < n; i++) {
				map[i] = -1;
				for (int c = 0; c < C_COUNT; c++)
					if (strcasecmp(cols[i], csv_names[c]) == 0) {
						if (have[c])
							return berr_set_at(err, BERR_INPUT, f->name, line, 0,
									   "duplicate column '%s'", cols[i]);
						map[i] = c;
						have[c] = true;
					}
				if (map[i] < 0)
					return berr_set_at(err, BERR_INPUT, f->name, line, 0,
							   "unknown column '%s' (known: name, build, revision, "
							   "hyperv, arch, kind, os, runtime)", cols[i]);
			}
			if (!have[C_NAME] || !have[C_BUILD])
				return berr_set_at(err, BERR_INPUT, f->name, line, 0,
						   "the CSV header must name the columns 'name' and 'build'");
			ncols = n;
			header = true;
			continue;
		}
		if (n != ncols)
			return berr_set_at(err, BERR_INPUT, f->name, line, 0, "%zu fields, header has %zu",
					   n, ncols);
		if (f->n >= WC_FLEET_MAX_NODES)
			return berr_set(err, BERR_LIMIT, "%s: more than %d nodes", f->name, WC_FLEET_MAX_NODES);
		struct wc_node *nd = add_node(f);
		nd->line = line;
		for (size_t i = 0; i < n; i++) {
			const char *v = cols[i];
			int bad = 0;
			switch (map[i]) {
			case C_NAME: nd->name = xstrdup(v); break;
			case C_BUILD: nd->build_text = *v ? xstrdup(v) : NULL; break;
			case C_REV: bad = parse_rev(v, &nd->rev, &nd->has_rev); break;
			case C_HYPERV: bad = parse_bool(v, &nd->hyperv); break;
			case C_ARCH: nd->arch = *v ? xstrdup(v) : NULL; break;
			case C_KIND: bad = parse_kind(v, &nd->client); break;
			case C_OS: nd->os = *v ? xstrdup(v) : NULL; break;
			case C_RUNTIME: nd->runtime = *v ? xstrdup(v) : NULL; break;
			default: break;
			}
			if (bad)
				return berr_set_at(err, BERR_INPUT, f->name, line, 0, "invalid %s '%s'",
						   csv_names[map[i]], v);
		}
		if (!nd->name || !*nd->name)
			return berr_set_at(err, BERR_INPUT, f->name, line, 0, "empty node name");
	}
	if (!header)
		return berr_set(err, BERR_INPUT, "%s: empty fleet file", f->name);
	return 0;
}

struct wc_fleet *wc_fleet_parse(const char *data, size_t len, const char *name, struct berr **err)
{
	struct wc_fleet *f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	size_t i = 0;
	while (i < len && isspace((unsigned char)data[i]))
		i++;
	if (i == len) {
		berr_set(err, BERR_INPUT, "%s: empty fleet file", name);
		goto fail;
	}
	if (memchr(data, '\0', len)) {
		berr_set(err, BERR_INPUT, "%s: fleet file contains NUL bytes", name);
		goto fail;
	}
	if (data[i] == '{' || data[i] == '[') {
		_cleanup_cjson_ cJSON *root = cJSON_ParseWithLength(data, len);
		if (!root) {
			const char *at = cJSON_GetErrorPtr();
			int line = 1;
			if (at && at >= data && at <= data + len)
				for (const char *p = data; p < at; p++)
					line += *p == '\n';
			berr_set_at(err, BERR_INPUT, name, line, 0, "invalid JSON");
			goto fail;
		}
		const cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
		const cJSON *nodes = cJSON_GetObjectItemCaseSensitive(root, "nodes");
		if (cJSON_IsObject(root) && cJSON_IsArray(items)) {
			f->format = "kubectl";
			if (parse_kubectl(f, items, err) < 0)
				goto fail;
		} else if (cJSON_IsArray(root) || cJSON_IsArray(nodes)) {
			f->format = "inventory-json";
			if (parse_inventory_json(f, cJSON_IsArray(root) ? root : nodes, err) < 0)
				goto fail;
		} else if (cJSON_IsObject(root) && jstr(root, "kind") &&
			   strcmp(jstr(root, "kind"), "Node") == 0) {
			/* kubectl get node NAME -o json: one node */
			f->format = "kubectl";
			_cleanup_cjson_ cJSON *arr = cJSON_CreateArray();
			cJSON_AddItemReferenceToArray(arr, root);
			if (parse_kubectl(f, arr, err) < 0)
				goto fail;
		} else {
			berr_set(err, BERR_INPUT, "%s: not a node list: expected kubectl output with "
				 "'items', or an inventory array / 'nodes' array", name);
			goto fail;
		}
	} else {
		f->format = "inventory-csv";
		_cleanup_free_ char *copy = xstrndup(data, len);
		if (parse_csv(f, copy, err) < 0)
			goto fail;
	}
	if (f->n == 0) {
		berr_set(err, BERR_INPUT, "%s: the fleet has no nodes", name);
		goto fail;
	}
	return f;
fail:
	wc_fleet_free(f);
	return NULL;
}

struct wc_fleet *wc_fleet_load(const char *path, struct berr **err)
{
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (bfile_read_all(path, WC_FLEET_MAX_SIZE, &b, err) < 0)
		return NULL;
	return wc_fleet_parse(bbuf_str(&b), b.len, path, err);
}

/* --- audit --- */

static int summary_cmp(const void *a, const void *b)
{
	const struct wc_build_summary *x = a, *y = b;
	if (x->build != y->build)
		return x->build < y->build ? -1 : 1;
	return (int)x->client - (int)y->client;
}

int wc_audit_run(const struct wc_kb *kb, const struct wc_fleet *f, const struct wc_image *img,
		 struct wc_audit *a, struct berr **err)
{
	memset(a, 0, sizeof(*a));
	a->r = xcalloc(f->n ? f->n : 1, sizeof(*a->r));
	a->n = f->n;
	size_t bcap = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct wc_node *n = &f->nodes[i];
		struct wc_node_result *r = &a->r[i];
		r->node = n;
		r->runtime = -1;
		if (n->os && strcasecmp(n->os, "windows") != 0) {
			a->skipped++;
			continue;
		}
		r->windows = true;
		a->windows++;
		if (!n->build_text) {
			snprintf(r->host_error, sizeof(r->host_error), "no Windows build (no %s label or "
				 "kernelVersion)", LABEL_BUILD);
			a->bad++;
			continue;
		}
		struct berr *e = NULL;
		if (wc_host_parse(kb, n->build_text, &r->host, &e) < 0) {
			snprintf(r->host_error, sizeof(r->host_error), "%s", e->msg);
			berr_free(e);
			a->bad++;
			continue;
		}
		r->host_ok = true;
		r->host.rev = n->rev;
		r->host.has_rev = n->has_rev;
		r->host.hyperv = n->hyperv;
		if (n->client >= 0)
			r->host.client = n->client == 1;
		if (n->arch)
			snprintf(r->host.arch, sizeof(r->host.arch), "%s", n->arch);
		wc_check(kb, &r->host, img, WC_ISO_PROCESS, &r->v[0]);
		wc_check(kb, &r->host, img, WC_ISO_HYPERV, &r->v[1]);
		r->runtime = wc_runtime_from_containerd(n->runtime);
		/* a default-platform pull by the node's runtime must accept the build
		 * before either isolation mode matters */
		if (r->runtime >= 0 && img->has_version &&
		    (wc_level_runs(r->v[0].level) || wc_level_runs(r->v[1].level)) &&
		    !wc_runtime_accepts(r->runtime, r->host.build, img->build))
			r->pull_blocked = true;
		bool p = wc_level_runs(r->v[0].level) && !r->pull_blocked;
		bool h = wc_level_runs(r->v[1].level) && !r->pull_blocked;
		a->pull_blocked += r->pull_blocked;
		a->process_ok += p;
		a->hyperv_ok += h;
		if (!p && !h && !r->pull_blocked) {
			if (r->v[0].level == WC_UNKNOWN || r->v[1].level == WC_UNKNOWN)
				a->unknown++;
			else
				a->none++;
		}
		struct wc_build_summary *s = NULL;
		for (size_t j = 0; j < a->nb; j++)
			if (a->b[j].build == r->host.build && a->b[j].client == r->host.client)
				s = &a->b[j];
		if (!s) {
			XGROW(a->b, a->nb + 1, bcap);
			s = &a->b[a->nb++];
			memset(s, 0, sizeof(*s));
			s->build = r->host.build;
			s->client = r->host.client;
			s->rel = r->host.rel;
			s->example = NULL;
		}
		s->nodes++;
		s->process_ok += p;
		s->hyperv_ok += h;
		s->pull_blocked += r->pull_blocked;
	}
	if (a->nb > 1)
		qsort(a->b, a->nb, sizeof(*a->b), summary_cmp);
	/* examples are set after sorting so the pointers stay valid */
	for (size_t i = 0; i < f->n; i++)
		for (size_t j = 0; a->r[i].host_ok && j < a->nb; j++)
			if (!a->b[j].example && a->b[j].build == a->r[i].host.build &&
			    a->b[j].client == a->r[i].host.client)
				a->b[j].example = &a->r[i];
	(void)err;
	return 0;
}

void wc_audit_release(struct wc_audit *a)
{
	free(a->r);
	free(a->b);
	memset(a, 0, sizeof(*a));
}
