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

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void node_free(struct wc_node *n)
{
	free(n->name);
	free(n->os);
	free(n->arch);
	free(n->build_text);
	free(n->runtime);
	free(n->hostname);
	free(n->role);
	free(n->availability);
	free(n->id);
	strv_free(n->label_k, n->nlabels);
	strv_free(n->label_v, n->nlabels);
	strv_free(n->elabel_k, n->nelabels);
	strv_free(n->elabel_v, n->nelabels);
	free(n->isolation);
	free(n->engine);
	free(n->build_from);
	free(n->os_from);
	free(n->client_from);
	free(n->build_label);
}

const char *const wc_build_label_keys[] = { "windows-build", "windows.build",
					    "node.kubernetes.io/windows-build", "os.version", NULL };

static void add_label(struct wc_node *n, bool engine, const char *k, const char *v)
{
	char ***kk = engine ? &n->elabel_k : &n->label_k, ***vv = engine ? &n->elabel_v : &n->label_v;
	size_t *cnt = engine ? &n->nelabels : &n->nlabels;
	*kk = xreallocarray(*kk, *cnt + 1, sizeof(char *));
	*vv = xreallocarray(*vv, *cnt + 1, sizeof(char *));
	(*kk)[*cnt] = xstrdup(k);
	(*vv)[(*cnt)++] = xstrdup(v);
}

const char *wc_node_label(const struct wc_node *n, const char *key, bool engine)
{
	char **k = engine ? n->elabel_k : n->label_k, **v = engine ? n->elabel_v : n->label_v;
	size_t cnt = engine ? n->nelabels : n->nlabels;
	for (size_t i = 0; i < cnt; i++)
		if (strcmp(k[i], key) == 0)
			return v[i];
	return NULL;
}

/* {"k": "v", ...} string map into node or engine labels */
static void add_label_map(struct wc_node *n, bool engine, const cJSON *m)
{
	const cJSON *it;
	cJSON_ArrayForEach(it, m)
		if (it->string && cJSON_IsString(it))
			add_label(n, engine, it->string, it->valuestring);
}

/* Architecture names as engines report them -> OCI names */
static char *oci_arch(const char *a)
{
	if (!a)
		return NULL;
	if (strcmp(a, "x86_64") == 0)
		return xstrdup("amd64");
	if (strcmp(a, "aarch64") == 0)
		return xstrdup("arm64");
	return xstrdup(a);
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
		add_label_map(n, false, labels);
		n->hostname = xstrdup(name);
		n->os_from = xstrdup(labels && jstr(labels, LABEL_OS) ? "metadata.labels." LABEL_OS
							       : "status.nodeInfo.operatingSystem");
		const char *build = labels ? jstr(labels, LABEL_BUILD) : NULL;
		const char *kernel = ni ? jstr(ni, "kernelVersion") : NULL;
		struct wc_version kv;
		bool kv_ok = kernel && os && strcmp(os, "windows") == 0 &&
			     wc_version_parse(kernel, &kv, NULL) == 0 && kv.has_majmin;
		if (build) {
			n->build_text = xstrdup(build);
			n->build_from = xstrdup("metadata.labels." LABEL_BUILD);
			n->build_label = xstrdup(LABEL_BUILD);
			struct wc_version bv;
			/* the label has no revision; the kernel version adds it when builds agree */
			if (kv_ok && kv.has_rev && wc_version_parse(build, &bv, NULL) == 0 &&
			    bv.build == kv.build) {
				n->rev = kv.rev;
				n->has_rev = true;
			}
		} else if (kv_ok) {
			n->build_from = xstrdup("status.nodeInfo.kernelVersion");
			n->build_text = xasprintf("%u.%u.%u", kv.major, kv.minor, kv.build);
			n->rev = kv.rev;
			n->has_rev = kv.has_rev;
		}
		n->client = client_from_os_image(ni ? jstr(ni, "osImage") : NULL);
		if (n->client >= 0)
			n->client_from = xstrdup("status.nodeInfo.osImage");
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
		n->hostname = xstrdup(name);
		n->build_from = n->build_text ? xstrdup("build") : NULL;
		n->os_from = n->os ? xstrdup("os") : NULL;
		n->client_from = n->client >= 0 ? xstrdup("kind") : NULL;
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
		nd->hostname = xstrdup(nd->name);
		nd->build_from = nd->build_text ? xstrdup("build") : NULL;
		nd->os_from = nd->os ? xstrdup("os") : NULL;
		nd->client_from = nd->client >= 0 ? xstrdup("kind") : NULL;
	}
	if (!header)
		return berr_set(err, BERR_INPUT, "%s: empty fleet file", f->name);
	return 0;
}

/* Build from the first of wc_build_label_keys found in node labels, then
 * in engine labels. */
static void build_from_labels(struct wc_node *n)
{
	for (int engine = 0; engine < 2 && !n->build_text; engine++)
		for (size_t i = 0; wc_build_label_keys[i]; i++) {
			const char *v = wc_node_label(n, wc_build_label_keys[i], engine);
			if (!v)
				continue;
			n->build_text = xstrdup(v);
			n->build_from = xasprintf("%s.%s", engine ? "Description.Engine.Labels" : "Spec.Labels",
						  wc_build_label_keys[i]);
			n->build_label = xstrdup(wc_build_label_keys[i]);
			n->build_label_engine = engine;
			break;
		}
}

/* docker node inspect: [{ID, Spec{Role, Availability, Labels},
 * Description{Hostname, Platform{OS, Architecture}, Engine{EngineVersion,
 * Labels}}, Status{State}}]. Platform has no OS version (Engine API
 * schema), so the build comes from a label (build_from_labels). */
static int parse_swarm(struct wc_fleet *f, const cJSON *arr, struct berr **err)
{
	size_t idx = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, arr) {
		const cJSON *d = cJSON_GetObjectItemCaseSensitive(it, "Description");
		const cJSON *sp = cJSON_GetObjectItemCaseSensitive(it, "Spec");
		if (!cJSON_IsObject(d))
			return berr_set(err, BERR_INPUT, "%s: [%zu]: node without 'Description'", f->name, idx);
		if (f->n >= WC_FLEET_MAX_NODES)
			return berr_set(err, BERR_LIMIT, "%s: more than %d nodes", f->name, WC_FLEET_MAX_NODES);
		struct wc_node *n = add_node(f);
		const char *host = jstr(d, "Hostname"), *id = jstr(it, "ID");
		n->hostname = dup_or_null(host);
		n->id = dup_or_null(id);
		n->name = xstrdup(host ? host : id ? id : "?");
		const cJSON *pl = cJSON_GetObjectItemCaseSensitive(d, "Platform");
		n->os = dup_or_null(pl ? jstr(pl, "OS") : NULL);
		if (n->os)
			n->os_from = xstrdup("Description.Platform.OS");
		n->arch = oci_arch(pl ? jstr(pl, "Architecture") : NULL);
		const cJSON *en = cJSON_GetObjectItemCaseSensitive(d, "Engine");
		n->engine = dup_or_null(en ? jstr(en, "EngineVersion") : NULL);
		if (sp) {
			n->role = dup_or_null(jstr(sp, "Role"));
			n->availability = dup_or_null(jstr(sp, "Availability"));
			add_label_map(n, false, cJSON_GetObjectItemCaseSensitive(sp, "Labels"));
		}
		if (en)
			add_label_map(n, true, cJSON_GetObjectItemCaseSensitive(en, "Labels"));
		build_from_labels(n);
		idx++;
	}
	return 0;
}

/* docker info KernelVersion / OSVersion on Windows:
 * "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)"; the revision in
 * parentheses is the build lab's, not the UBR. */
static bool kernel_build(const char *s, uint32_t *build)
{
	char *end;
	if (!s || strncmp(s, "10.0 ", 5) != 0)
		return false;
	unsigned long b = strtoul(s + 5, &end, 10);
	if (end == s + 5 || b == 0 || b > WC_MAX_BUILD || (*end && *end != ' '))
		return false;
	*build = (uint32_t)b;
	return true;
}

/* OperatingSystem: "Windows Server 2019 Datacenter Version 1809 (OS Build 17763.5329)" */
static bool os_build_rev(const char *s, uint32_t *build, uint32_t *rev)
{
	const char *p = s ? strstr(s, "(OS Build ") : NULL;
	if (!p)
		return false;
	char *end;
	unsigned long b = strtoul(p + 10, &end, 10);
	if (end == p + 10 || *end != '.' || b == 0 || b > WC_MAX_BUILD)
		return false;
	const char *r = end + 1;
	unsigned long v = strtoul(r, &end, 10);
	if (end == r || *end != ')' || v > WC_MAX_BUILD)
		return false;
	*build = (uint32_t)b;
	*rev = (uint32_t)v;
	return true;
}

/* docker info --format '{{json .}}': {Name, OSType, KernelVersion,
 * OperatingSystem, Isolation, Architecture, ServerVersion, Labels:["k=v"]} */
static int parse_docker_info(struct wc_fleet *f, const cJSON *o, size_t idx, struct berr **err)
{
	if (!cJSON_IsObject(o) || !jstr(o, "OSType"))
		return berr_set(err, BERR_INPUT, "%s: [%zu]: not docker info output (no 'OSType')",
				f->name, idx);
	if (f->n >= WC_FLEET_MAX_NODES)
		return berr_set(err, BERR_LIMIT, "%s: more than %d nodes", f->name, WC_FLEET_MAX_NODES);
	struct wc_node *n = add_node(f);
	const char *host = jstr(o, "Name");
	n->name = host ? xstrdup(host) : xasprintf("host-%zu", idx + 1);
	n->hostname = dup_or_null(host);
	n->os = xstrdup(jstr(o, "OSType"));
	n->os_from = xstrdup("OSType");
	n->arch = oci_arch(jstr(o, "Architecture"));
	n->engine = dup_or_null(jstr(o, "ServerVersion"));
	const cJSON *labels = cJSON_GetObjectItemCaseSensitive(o, "Labels");
	const cJSON *l;
	cJSON_ArrayForEach(l, labels) {
		if (!cJSON_IsString(l))
			continue;
		const char *eq = strchr(l->valuestring, '=');
		_cleanup_free_ char *k = eq ? xstrndup(l->valuestring, (size_t)(eq - l->valuestring))
					    : xstrdup(l->valuestring);
		add_label(n, true, k, eq ? eq + 1 : "");
	}
	if (strcmp(n->os, "windows") != 0)
		return 0;
	const char *iso = jstr(o, "Isolation");
	if (iso && *iso)
		n->isolation = xstrdup(iso);
	uint32_t b = 0, ob = 0, orev = 0;
	const char *osname = jstr(o, "OperatingSystem");
	bool have_os = os_build_rev(osname, &ob, &orev);
	if (kernel_build(jstr(o, "KernelVersion"), &b)) {
		n->build_text = xasprintf("10.0.%u", b);
		n->build_from = xstrdup("KernelVersion");
		if (have_os && ob == b) {
			n->rev = orev;
			n->has_rev = true;
			free(n->build_from);
			n->build_from = xstrdup("KernelVersion; OperatingSystem (OS Build)");
		}
	} else if (have_os) {
		n->build_text = xasprintf("10.0.%u", ob);
		n->rev = orev;
		n->has_rev = true;
		n->build_from = xstrdup("OperatingSystem (OS Build)");
	}
	n->client = client_from_os_image(osname);
	if (n->client >= 0)
		n->client_from = xstrdup("OperatingSystem");
	if (!n->build_text)
		build_from_labels(n);
	return 0;
}

static bool is_docker_info(const cJSON *o)
{
	return cJSON_IsObject(o) && jstr(o, "OSType") && (cJSON_GetObjectItemCaseSensitive(o, "KernelVersion") ||
							  cJSON_GetObjectItemCaseSensitive(o, "ServerVersion"));
}

static bool is_swarm_node(const cJSON *o)
{
	return cJSON_IsObject(o) && cJSON_IsObject(cJSON_GetObjectItemCaseSensitive(o, "Description")) &&
	       cJSON_GetObjectItemCaseSensitive(o, "Spec");
}

/* Several `docker info` objects concatenated (one per line). Returns 1 if
 * the data was such a stream and was read, 0 if not, -1 on error. */
static int parse_info_stream(struct wc_fleet *f, const char *data, size_t len, struct berr **err)
{
	const char *p = data, *end = data + len;
	size_t idx = 0;
	while (p < end) {
		while (p < end && isspace((unsigned char)*p))
			p++;
		if (p == end)
			break;
		const char *stop = NULL;
		_cleanup_cjson_ cJSON *o = cJSON_ParseWithLengthOpts(p, (size_t)(end - p), &stop, false);
		if (!o || !is_docker_info(o)) {
			if (idx == 0)
				return 0;
			int line = 1;
			for (const char *q = data; q < p; q++)
				line += *q == '\n';
			return berr_set_at(err, BERR_INPUT, f->name, line, 0,
					   "expected another docker info JSON object");
		}
		if (parse_docker_info(f, o, idx++, err) < 0)
			return -1;
		p = stop;
	}
	return idx ? 1 : 0;
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
		const char *stop = NULL;
		_cleanup_cjson_ cJSON *root = cJSON_ParseWithLengthOpts(data, len, &stop, false);
		/* text after the first value: several `docker info` objects */
		bool more = false;
		for (const char *q = stop; root && q && q < data + len && !more; q++)
			more = !isspace((unsigned char)*q);
		if (more) {
			cJSON_Delete(root);
			root = NULL;
		}
		if (!root && data[i] == '{') {
			f->format = "docker-info";
			int r = parse_info_stream(f, data, len, err);
			if (r < 0)
				goto fail;
			if (r > 0)
				goto done;
		}
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
		const cJSON *first = cJSON_IsArray(root) ? cJSON_GetArrayItem(root, 0) : NULL;
		if (is_docker_info(root)) {
			f->format = "docker-info";
			if (parse_docker_info(f, root, 0, err) < 0)
				goto fail;
		} else if (first && is_swarm_node(first)) {
			f->format = "swarm";
			if (parse_swarm(f, root, err) < 0)
				goto fail;
		} else if (first && is_docker_info(first)) {
			f->format = "docker-info";
			const cJSON *it;
			size_t k = 0;
			cJSON_ArrayForEach(it, root)
				if (parse_docker_info(f, it, k++, err) < 0)
					goto fail;
		} else if (cJSON_IsObject(root) && cJSON_IsArray(items)) {
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
				 "'items', docker node inspect or docker info JSON, or an inventory "
				 "array / 'nodes' array", name);
			goto fail;
		}
	} else {
		f->format = "inventory-csv";
		_cleanup_free_ char *copy = xstrndup(data, len);
		if (parse_csv(f, copy, err) < 0)
			goto fail;
	}
done:
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
			if (f->format && strcmp(f->format, "swarm") == 0)
				snprintf(r->host_error, sizeof(r->host_error), "no Windows build: docker node "
					 "inspect reports none; add a node label windows-build=10.0.BUILD");
			else
				snprintf(r->host_error, sizeof(r->host_error), "no Windows build (no %s label "
					 "or kernelVersion)", LABEL_BUILD);
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
		if (n->has_rev) {       /* else keep a revision the build text carried */
			r->host.rev = n->rev;
			r->host.has_rev = true;
		}
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
