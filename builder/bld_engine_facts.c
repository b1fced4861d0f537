/* Engine host facts (/info, /version) and the isolation decision (compat). */
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_int.h"

void bld_engine_facts_clear(struct bld_engine_facts *f)
{
	if (!f)
		return;
	free(f->os_type);
	free(f->kernel_version);
	free(f->operating_system);
	free(f->os_version);
	free(f->isolation);
	free(f->architecture);
	free(f->arch);
	free(f->server_version);
	free(f->api_version);
	free(f->min_api_version);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

static char *dup_or_null(const char *s)
{
	return s && *s ? xstrdup(s) : NULL;
}

/* Docker reports Architecture as uname -m; compat and images use GOARCH. */
static const char *goarch(const char *uname_m)
{
	static const struct { const char *m, *go; } map[] = {
		{ "x86_64", "amd64" }, { "amd64", "amd64" }, { "aarch64", "arm64" },
		{ "arm64", "arm64" }, { "armv7l", "arm" }, { "i686", "386" }, { "i386", "386" },
		{ "s390x", "s390x" }, { "ppc64le", "ppc64le" }, { "riscv64", "riscv64" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(map); i++)
		if (strcasecmp(uname_m, map[i].m) == 0)
			return map[i].go;
	return uname_m;
}

static bool parse_u32(const char **pp, uint32_t *out)
{
	const char *p = *pp;
	if (*p < '0' || *p > '9')
		return false;
	uint64_t v = 0;
	while (*p >= '0' && *p <= '9') {
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > WC_MAX_BUILD)
			return false;
		p++;
	}
	*out = (uint32_t)v;
	*pp = p;
	return true;
}

/* "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)" */
static bool parse_win_kernel(const char *s, uint32_t *maj, uint32_t *min, uint32_t *build)
{
	const char *p = s;
	if (!parse_u32(&p, maj) || *p++ != '.' || !parse_u32(&p, min) || *p++ != ' ' ||
	    !parse_u32(&p, build))
		return false;
	return *p == '\0' || *p == ' ';
}

/* "10.0.17763" or "10.0.17763.5329" */
static bool parse_win_version(const char *s, uint32_t *maj, uint32_t *min, uint32_t *build,
			      uint32_t *rev, bool *has_rev)
{
	const char *p = s;
	if (!parse_u32(&p, maj) || *p++ != '.' || !parse_u32(&p, min) || *p++ != '.' ||
	    !parse_u32(&p, build))
		return false;
	*has_rev = false;
	if (*p == '.') {
		p++;
		if (!parse_u32(&p, rev))
			return false;
		*has_rev = true;
	}
	return *p == '\0';
}

/* "... (OS Build 17763.5329)" -> build and UBR */
static bool parse_os_build(const char *s, uint32_t *build, uint32_t *rev)
{
	const char *p = s ? strstr(s, "(OS Build ") : NULL;
	if (!p)
		return false;
	p += strlen("(OS Build ");
	return parse_u32(&p, build) && *p++ == '.' && parse_u32(&p, rev) && *p == ')';
}

static int facts_parse(const char *info_json, const char *version_json, const char *what,
		       struct bld_engine_facts *f, struct berr **err)
{
	if (!what)
		what = "engine";
	_cleanup_cjson_ cJSON *info = NULL;
	_cleanup_cjson_ cJSON *ver = NULL;
	if (info_json) {
		info = cJSON_Parse(info_json);
		if (!cJSON_IsObject(info))
			return berr_set(err, BERR_INPUT, "%s: /info is not a JSON object", what);
	}
	if (version_json) {
		ver = cJSON_Parse(version_json);
		if (!cJSON_IsObject(ver))
			return berr_set(err, BERR_INPUT, "%s: /version is not a JSON object", what);
	}
	f->os_type = dup_or_null(eng_jstr(info, "OSType"));
	if (!f->os_type)
		f->os_type = dup_or_null(eng_jstr(ver, "Os"));
	if (!f->os_type)
		return berr_set(err, BERR_INPUT, "%s: no OSType in /info (nor Os in /version)", what);
	for (char *c = f->os_type; *c; c++)
		if (*c >= 'A' && *c <= 'Z')
			*c = (char)(*c - 'A' + 'a');
	f->kernel_version = dup_or_null(eng_jstr(info, "KernelVersion"));
	if (!f->kernel_version)
		f->kernel_version = dup_or_null(eng_jstr(ver, "KernelVersion"));
	f->operating_system = dup_or_null(eng_jstr(info, "OperatingSystem"));
	f->os_version = dup_or_null(eng_jstr(info, "OSVersion"));
	f->isolation = dup_or_null(eng_jstr(info, "Isolation"));
	f->architecture = dup_or_null(eng_jstr(info, "Architecture"));
	const char *a = eng_jstr(ver, "Arch");
	if (!a && f->architecture)
		a = goarch(f->architecture);
	f->arch = dup_or_null(a);
	f->server_version = dup_or_null(eng_jstr(ver, "Version"));
	if (!f->server_version)
		f->server_version = dup_or_null(eng_jstr(info, "ServerVersion"));
	f->api_version = dup_or_null(eng_jstr(ver, "ApiVersion"));
	f->min_api_version = dup_or_null(eng_jstr(ver, "MinAPIVersion"));
	f->name = dup_or_null(eng_jstr(info, "Name"));

	if (strcmp(f->os_type, "windows") != 0)
		return 0;
	uint32_t maj = 0, min = 0, build = 0, rev = 0, b2 = 0, r2 = 0;
	bool has_rev = false, ok = false;
	if (f->kernel_version && parse_win_kernel(f->kernel_version, &maj, &min, &build))
		ok = true;
	else if (f->os_version && parse_win_version(f->os_version, &maj, &min, &build, &rev, &has_rev))
		ok = true;
	else if (parse_os_build(f->operating_system, &build, &rev)) {
		maj = 10;
		min = 0;
		has_rev = true;
		ok = true;
	}
	/* build 0 is no Windows release: as unreadable as no number at all */
	if (!ok || build == 0)
		return berr_set(err, BERR_INPUT, "%s: a Windows engine without a readable build: "
				"KernelVersion '%s', OSVersion '%s', OperatingSystem '%s'", what,
				f->kernel_version ? f->kernel_version : "",
				f->os_version ? f->os_version : "",
				f->operating_system ? f->operating_system : "");
	/* the UBR is only in OperatingSystem ("(OS Build 17763.5329)") */
	if (!has_rev && parse_os_build(f->operating_system, &b2, &r2) && b2 == build) {
		rev = r2;
		has_rev = true;
	}
	f->win_major = maj;
	f->win_minor = min;
	f->win_build = build;
	f->win_rev = rev;
	f->win_has_rev = has_rev;
	/* Windows Server says so in its name; client SKUs are "Windows 10/11 ..."
	 * (older engines on Windows 11 read ProductName, which says Windows 10) */
	const char *os = f->operating_system ? f->operating_system : "";
	if (strstr(os, "Windows Server"))
		f->win_client = false;
	else if (strstr(os, "Windows 10") || strstr(os, "Windows 11"))
		f->win_client = true;
	else
		f->win_client = f->isolation && strcmp(f->isolation, "hyperv") == 0;
	return 0;
}

int bld_engine_facts_parse(const char *info_json, const char *version_json, const char *what,
			   struct bld_engine_facts *f, struct berr **err)
{
	memset(f, 0, sizeof(*f));
	if (facts_parse(info_json, version_json, what, f, err) < 0) {
		bld_engine_facts_clear(f);
		return -1;
	}
	return 0;
}

int bld_engine_get_facts(struct bld_engine *e, struct bld_engine_facts *f, struct berr **err)
{
	_cleanup_free_ char *info = NULL;
	_cleanup_free_ char *ver = NULL;
	if (bld_engine_request(e, "GET", "/info", NULL, NULL, &info, err) < 0 ||
	    bld_engine_request(e, "GET", "/version", NULL, NULL, &ver, err) < 0)
		return berr_wrap(err, "engine '%s'", bld_engine_url(e));
	_cleanup_free_ char *what = xasprintf("engine '%s'", bld_engine_url(e));
	return bld_engine_facts_parse(info, ver, what, f, err);
}

char *bld_engine_host_desc(const struct bld_engine_facts *f)
{
	if (f->win_build) {
		char b[64];
		if (f->win_has_rev)
			snprintf(b, sizeof(b), "%u.%u.%u.%u", f->win_major, f->win_minor, f->win_build,
				 f->win_rev);
		else
			snprintf(b, sizeof(b), "%u.%u.%u", f->win_major, f->win_minor, f->win_build);
		if (f->operating_system && strstr(f->operating_system, "(OS Build "))
			return xstrdup(f->operating_system);
		return xasprintf("%s (build %s)", f->operating_system ? f->operating_system : "Windows", b);
	}
	return xasprintf("%s%s%s, kernel %s", f->os_type,
			 f->operating_system ? " " : "", f->operating_system ? f->operating_system : "",
			 f->kernel_version ? f->kernel_version : "unknown");
}

int bld_engine_wc_host(const struct wc_kb *kb, const struct bld_engine_facts *f,
		       struct wc_host *h, struct berr **err)
{
	memset(h, 0, sizeof(*h));
	if (!f->os_type || strcmp(f->os_type, "windows") != 0 || !f->win_build)
		return berr_set(err, BERR_INPUT, "the engine is not a Windows host (OSType '%s')",
				f->os_type ? f->os_type : "");
	if (f->win_major != 10 || f->win_minor != 0)
		return berr_set(err, BERR_INPUT, "the engine runs Windows %u.%u; Windows containers "
				"need 10.0", f->win_major, f->win_minor);
	h->build = f->win_build;
	h->rev = f->win_rev;
	h->has_rev = f->win_has_rev;
	h->client = f->win_client;
	/* the engine does not report Hyper-V; a hyperv default proves it */
	h->hyperv = f->isolation && strcmp(f->isolation, "hyperv") == 0 ? 1 : -1;
	snprintf(h->arch, sizeof(h->arch), "%s", f->arch ? f->arch : "");
	h->rel = wc_kb_by_build(kb, h->build, h->client);
	if (h->rel && !wc_kind_is_server(h->rel->kind) != h->client) {
		/* no release of the reported kind with this build */
		h->client = !wc_kind_is_server(h->rel->kind);
	}
	return 0;
}

const char *bld_engine_iso_name(enum bld_engine_iso i)
{
	switch (i) {
	case BLD_ENGINE_ISO_PROCESS: return "process";
	case BLD_ENGINE_ISO_HYPERV: return "hyperv";
	default: return "default";
	}
}

int bld_engine_iso_parse(const char *s, enum bld_engine_iso *out, struct berr **err)
{
	if (strcmp(s, "process") == 0)
		*out = BLD_ENGINE_ISO_PROCESS;
	else if (strcmp(s, "hyperv") == 0)
		*out = BLD_ENGINE_ISO_HYPERV;
	else if (strcmp(s, "default") == 0)
		*out = BLD_ENGINE_ISO_DEFAULT;
	else
		return berr_set(err, BERR_USAGE, "invalid isolation '%s' (want process, hyperv or default)", s);
	return 0;
}

static void host_list_add(struct bbuf *b, const struct wc_release *r)
{
	bbuf_addf(b, NULL, "%s%s (%u)", b->len ? ", " : "", r->name, r->build);
}

/* Windows Server releases by name (one per build), client releases counted:
 * build hosts are servers, and the full client list would drown the message. */
char *bld_engine_hosts_that_run(const struct wc_kb *kb, const struct wc_image *img)
{
	struct bbuf proc = BBUF_INIT, hv = BBUF_INIT, out = BBUF_INIT;
	uint32_t seen[256];
	size_t nseen = 0, nclient_p = 0, nclient_h = 0;
	for (size_t i = 0; i < kb->nrel; i++) {
		const struct wc_release *r = &kb->rel[i];
		bool server = wc_kind_is_server(r->kind);
		if (r->kind == WC_KIND_CLIENT_LTSC)
			continue; /* same builds as the client releases */
		bool dup = false;
		for (size_t k = 0; server && k < nseen; k++)
			dup = dup || seen[k] == r->build;
		if (dup)
			continue;
		struct wc_host h = { .build = r->build, .client = !server, .hyperv = 1, .rel = r };
		struct wc_verdict vp, vh;
		wc_check(kb, &h, img, WC_ISO_PROCESS, &vp);
		wc_check(kb, &h, img, WC_ISO_HYPERV, &vh);
		bool p = vp.level == WC_SUPPORTED, hvok = !p && vh.level == WC_SUPPORTED;
		if (!p && !hvok)
			continue;
		if (!server) {
			if (p)
				nclient_p++;
			else
				nclient_h++;
			continue;
		}
		if (nseen < ARRAY_SIZE(seen))
			seen[nseen++] = r->build;
		host_list_add(p ? &proc : &hv, r);
	}
	if (nclient_p)
		bbuf_addf(&proc, NULL, "%s%zu Windows client release%s", proc.len ? " and " : "",
			  nclient_p, nclient_p == 1 ? "" : "s");
	if (nclient_h)
		bbuf_addf(&hv, NULL, "%s%zu Windows client release%s", hv.len ? " and " : "",
			  nclient_h, nclient_h == 1 ? "" : "s");
	if (proc.len)
		bbuf_addf(&out, NULL, "process isolation on %s", bbuf_str(&proc));
	if (hv.len)
		bbuf_addf(&out, NULL, "%sHyper-V isolation (only) on %s", out.len ? "; " : "",
			  bbuf_str(&hv));
	bbuf_release(&proc);
	bbuf_release(&hv);
	return bbuf_detach(&out, NULL);
}

static bool is_windows(const char *os)
{
	return os && strcasecmp(os, "windows") == 0;
}

int bld_engine_decide(const struct wc_kb *kb, const struct bld_engine_facts *f,
		      const char *stage_os, const char *os_version, const char *arch,
		      enum bld_engine_iso forced, struct bld_engine_decision *d, struct berr **err)
{
	memset(d, 0, sizeof(*d));
	d->forced = forced != BLD_ENGINE_ISO_DEFAULT;
	if (!stage_os || !*stage_os)
		return berr_set(err, BERR_INPUT, "the stage's base image names no os");
	_cleanup_free_ char *host = bld_engine_host_desc(f);
	if (strcasecmp(stage_os, f->os_type) != 0) {
		if (is_windows(stage_os))
			return berr_set(err, BERR_UNSUPPORTED, "this is a Windows stage (base image os "
					"'windows'%s%s) but the engine runs %s containers (OSType '%s', %s); "
					"point --engine or DOCKER_HOST at a Windows build host",
					os_version ? ", os.version " : "", os_version ? os_version : "",
					f->os_type, f->os_type, host);
		return berr_set(err, BERR_UNSUPPORTED, "this is a %s stage but the engine runs %s "
				"containers (OSType '%s', %s)", stage_os, f->os_type, f->os_type, host);
	}
	if (!is_windows(stage_os)) {
		if (forced != BLD_ENGINE_ISO_DEFAULT)
			return berr_set(err, BERR_USAGE, "--isolation %s applies to Windows stages only; "
					"this is a %s stage", bld_engine_iso_name(forced), stage_os);
		d->iso = BLD_ENGINE_ISO_DEFAULT;
		snprintf(d->note, sizeof(d->note), "%s engine: no isolation choice", f->os_type);
		return 0;
	}
	struct wc_host h;
	if (bld_engine_wc_host(kb, f, &h, err) < 0)
		return -1;
	struct wc_image img = { 0 };
	snprintf(img.os, sizeof(img.os), "windows");
	if (arch)
		snprintf(img.arch, sizeof(img.arch), "%s", arch);
	struct wc_version v;
	if (os_version && *os_version && wc_version_parse(os_version, &v, NULL) == 0 && v.has_majmin) {
		img.major = v.major;
		img.minor = v.minor;
		img.build = v.build;
		img.rev = v.rev;
		img.has_rev = v.has_rev;
		img.has_version = true;
		img.rel = wc_kb_by_build(kb, v.build, false);
	}
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &d->process);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &d->hyperv);
	const char *ver = img.has_version ? os_version : "unknown";
	if (forced != BLD_ENGINE_ISO_DEFAULT) {
		const struct wc_verdict *fv = forced == BLD_ENGINE_ISO_PROCESS ? &d->process : &d->hyperv;
		if (fv->level == WC_BLOCKED) {
			_cleanup_free_ char *hosts = img.has_version ? bld_engine_hosts_that_run(kb, &img) : NULL;
			return berr_set(err, BERR_FAILED, "--isolation %s: the base image (os.version %s) "
					"cannot run on %s: %s%s%s", bld_engine_iso_name(forced), ver, host,
					fv->reason, hosts && *hosts ? "; it runs with " : "",
					hosts ? hosts : "");
		}
		d->iso = forced;
		snprintf(d->note, sizeof(d->note), "%s isolation forced (--isolation); compat: %s: %s",
			 bld_engine_iso_name(forced), wc_level_name(fv->level), fv->reason);
		return 0;
	}
	if (d->process.level == WC_SUPPORTED) {
		d->iso = BLD_ENGINE_ISO_PROCESS;
		snprintf(d->note, sizeof(d->note), "process isolation: %s", d->process.reason);
		return 0;
	}
	if (d->hyperv.level == WC_SUPPORTED) {
		d->iso = BLD_ENGINE_ISO_HYPERV;
		snprintf(d->note, sizeof(d->note), "Hyper-V isolation (process isolation: %s): %s",
			 d->process.reason, d->hyperv.reason);
		return 0;
	}
	if (d->process.level == WC_WORKS_UNSUPPORTED || d->hyperv.level == WC_WORKS_UNSUPPORTED) {
		bool p = d->process.level == WC_WORKS_UNSUPPORTED;
		d->iso = p ? BLD_ENGINE_ISO_PROCESS : BLD_ENGINE_ISO_HYPERV;
		snprintf(d->note, sizeof(d->note), "warning: %s isolation works here but is not "
			 "supported by Microsoft: %s", p ? "process" : "Hyper-V",
			 p ? d->process.reason : d->hyperv.reason);
		return 0;
	}
	_cleanup_free_ char *hosts = img.has_version ? bld_engine_hosts_that_run(kb, &img) : NULL;
	if (d->process.level == d->hyperv.level && strcmp(d->process.reason, d->hyperv.reason) == 0)
		return berr_set(err, BERR_FAILED, "the base image (os.version %s) cannot run on %s "
				"(%s in both isolation modes): %s%s%s", ver, host,
				wc_level_name(d->process.level), d->process.reason,
				hosts && *hosts ? "; it runs with " : "", hosts ? hosts : "");
	return berr_set(err, BERR_FAILED, "the base image (os.version %s) cannot run on %s: process "
			"isolation %s: %s; Hyper-V isolation %s: %s%s%s", ver, host,
			wc_level_name(d->process.level), d->process.reason,
			wc_level_name(d->hyperv.level), d->hyperv.reason,
			hosts && *hosts ? "; it runs with " : "", hosts ? hosts : "");
}
