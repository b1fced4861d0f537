/* Isolation rules and runtime models, as the shared facts state them
 * (windows-compat.md §1, §2, §4, §7). Every verdict names the source key of
 * the fact it rests on; tests/unit/test_compat_rules.c checks them cell by
 * cell against Microsoft's published matrix. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "compat/wc.h"

#define BUILD_WS2016 14393u
#define BUILD_WIN10_1809 17763u
#define BUILD_WS2022 20348u
#define BUILD_WIN11 22000u
#define BUILD_WS23H2 25398u
#define BUILD_WS2025 26100u

const char *wc_level_name(enum wc_level l)
{
	switch (l) {
	case WC_SUPPORTED: return "supported";
	case WC_WORKS_UNSUPPORTED: return "works-but-unsupported";
	case WC_BLOCKED: return "blocked";
	default: return "unknown";
	}
}

const char *wc_isolation_name(enum wc_isolation i)
{
	return i == WC_ISO_HYPERV ? "hyperv" : "process";
}

bool wc_level_runs(enum wc_level l)
{
	return l == WC_SUPPORTED || l == WC_WORKS_UNSUPPORTED;
}

__attribute__((format(printf, 5, 6)))
static void verdict(struct wc_verdict *v, enum wc_level l, char conf, const char *src,
		    const char *fmt, ...)
{
	va_list ap;
	v->level = l;
	v->confidence = conf;
	snprintf(v->source, sizeof(v->source), "%s", src);
	va_start(ap, fmt);
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	va_end(ap);
}

static const char *rel_name(const struct wc_kb *kb, uint32_t build, bool client)
{
	const struct wc_release *r = wc_kb_by_build(kb, build, client);
	return r ? r->name : "an unknown release";
}

/* Hyper-V rows of §2.1: builds Microsoft lists per host; anything else at or
 * below the host build is "derived" from the image <= host rule. */
struct hv_row {
	bool client;
	uint32_t lo, hi;            /* host build range */
	uint32_t listed[8];
	const char *source;
};

static const struct hv_row hv_rows[] = {
	{ false, 14393, 14393, { 14393 }, "VC-HEAD; VC-2019" },
	{ false, 16299, 16299, { 14393, 16299 }, "VC-2019; VC-2018" },
	{ false, 17134, 17134, { 14393, 16299, 17134 }, "VC-2019" },
	{ false, 17763, 17763, { 14393, 16299, 17134, 17763 }, "VC-2019; VC-HEAD" },
	{ false, 18362, 18362, { 14393, 16299, 17134, 17763, 18362 }, "VC-2019; VC-2020" },
	{ false, 18363, 18363, { 14393, 17763, 18362, 18363 }, "VC-2020" },
	{ false, 19041, 19041, { 14393, 17763, 18362, 18363, 19041 }, "VC-2021" },
	{ false, 19042, 19042, { 14393, 17763, 18362, 18363, 19041, 19042 }, "VC-2021" },
	{ false, 20348, 20348, { 14393, 17763, 19042, 20348 }, "VC-2022-03; VC-HEAD" },
	{ false, 26100, 26100, { 14393, 17763, 20348, 26100 }, "VC-HEAD" },
	{ true, 14393, 15063, { 14393 }, "VC-2018" },
	{ true, 16299, 16299, { 14393, 16299 }, "VC-2019; VC-2018" },
	{ true, 17134, 17134, { 14393, 16299, 17134 }, "VC-2019" },
	{ true, 17763, 17763, { 14393, 16299, 17134, 17763 }, "VC-2019" },
	{ true, 18362, 18362, { 14393, 16299, 17134, 17763, 18362 }, "VC-2019; VC-2020" },
	{ true, 18363, 18363, { 14393, 16299, 17134, 17763, 18362, 18363 }, "VC-2020" },
	{ true, 19041, 19041, { 14393, 16299, 17134, 17763, 18362, 18363, 19041 }, "VC-2021" },
	{ true, 19042, 19042, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, "VC-2021" },
	/* 21H1-22H2: "<= 19042 (d)"; nothing listed, everything derived */
	{ true, 19043, 19045, { 0 }, "VC-HEAD" },
	{ true, 22000, 26099, { 14393, 17763, 19042, 20348 }, "VC-HEAD; VC-2022-03" },
	{ true, 26100, WC_MAX_BUILD, { 14393, 17763, 19042, 20348, 26100 }, "VC-HEAD" },
};

static const struct hv_row *hv_row_for(bool client, uint32_t hb)
{
	for (size_t i = 0; i < ARRAY_SIZE(hv_rows); i++)
		if (hv_rows[i].client == client && hb >= hv_rows[i].lo && hb <= hv_rows[i].hi)
			return &hv_rows[i];
	return NULL;
}

static bool hv_listed(const struct hv_row *r, uint32_t ib)
{
	for (size_t i = 0; r && i < ARRAY_SIZE(r->listed) && r->listed[i]; i++)
		if (r->listed[i] == ib)
			return true;
	return false;
}

/* February 2020 2B baseline (§1.2): process isolation fails when host and
 * image revisions sit on opposite sides. Returns true and fills v then. */
static bool baseline_split(const struct wc_kb *kb, const struct wc_host *h,
			   const struct wc_image *img, struct wc_verdict *v)
{
	const struct wc_release *r = wc_kb_by_build(kb, img->build, false);
	if (!r || !r->bl_2b || !h->has_rev || !img->has_rev)
		return false;
	bool host_after = h->rev >= r->bl_2b, img_after = img->rev >= r->bl_2b;
	if (host_after == img_after)
		return false;
	verdict(v, WC_BLOCKED, 'H', "UPD; UPD-draft; DFNET-523",
		"host revision %u and image revision %u are on opposite sides of the February 2020 "
		"baseline (%u.%u), which breaks process isolation; patch both to the same side",
		h->rev, img->rev, img->build, r->bl_2b);
	return true;
}

static void check_process(const struct wc_kb *kb, const struct wc_host *h,
			  const struct wc_image *img, struct wc_verdict *v)
{
	uint32_t hb = h->build, ib = img->build;
	bool known_image = wc_kb_is_image_build(kb, ib);

	if (h->client) {
		if (hb < BUILD_WIN10_1809) {
			verdict(v, WC_BLOCKED, 'H', "VC-2018; ISO",
				"Windows 10 before 1809 runs containers in Hyper-V isolation only");
			return;
		}
		if (hb < BUILD_WIN11) {
			if (ib == hb) {
				if (baseline_split(kb, h, img, v))
					return;
				verdict(v, WC_WORKS_UNSUPPORTED, 'H', "ISO; FAQ; VC-HEAD",
					"Windows 10 runs a same-build image in process isolation only for "
					"development and testing (explicit --isolation=process, Docker 18.09+); "
					"Microsoft's table lists no supported process-isolation pair on Windows 10");
				return;
			}
			if (ib == 19041 && hb >= 19042 && hb <= 19045) {
				verdict(v, WC_WORKS_UNSUPPORTED, 'L', "WC-406",
					"users report 2004 (19041) images starting in process isolation on "
					"Windows 10 build %u (same servicing branch), but this is undocumented "
					"and may fail", hb);
				return;
			}
			if (hb >= 19043 && hb <= 19045)
				verdict(v, WC_BLOCKED, 'H', "VC-HEAD; WC-117",
					"process isolation needs the same build and no Windows base image with "
					"build %u exists; use Hyper-V isolation or a Windows 11 host", hb);
			else
				verdict(v, WC_BLOCKED, 'H', "VC-HEAD; ISO",
					"Windows 10 process isolation needs an image of the same build (%u), "
					"not %u; use Hyper-V isolation", hb, ib);
			return;
		}
		/* Windows 11 */
		if (ib == BUILD_WS2022) {
			verdict(v, WC_SUPPORTED, 'H', "VC-HEAD; VC-2024-11",
				"Windows 11 hosts run Windows Server 2022 images in process isolation "
				"(Microsoft's table shows it as supported; its prose still says preview)");
			return;
		}
		if (ib == BUILD_WS2025 && hb >= BUILD_WS2025) {
			verdict(v, WC_SUPPORTED, 'H', "VC-HEAD",
				"Windows 11 24H2 and later run Windows Server 2025 images in process isolation");
			return;
		}
		if (ib < BUILD_WS2022 && known_image) {
			verdict(v, WC_BLOCKED, 'H', "VC-HEAD",
				"Windows 11 runs only Windows Server 2022 (and from 24H2 on, 2025) images in "
				"process isolation, not %s images; use Hyper-V isolation",
				rel_name(kb, ib, false));
			return;
		}
		verdict(v, WC_UNKNOWN, 'M', "HCSSHIM-OSV",
			"no Windows base image with build %u is known, so no documented rule covers it "
			"on this host", ib);
		return;
	}

	/* server hosts */
	if (hb < BUILD_WS2022) {
		if (ib != hb) {
			verdict(v, WC_BLOCKED, 'H', "VC-HEAD; HCSSHIM-OSV",
				"hosts older than Windows Server 2022 need an image of exactly the same build "
				"in process isolation (image %u, host %u); HCS fails with 0xC0370101", ib, hb);
			return;
		}
		if (baseline_split(kb, h, img, v))
			return;
		if (hb == BUILD_WS2016) {
			if (h->has_rev && img->has_rev && h->rev != img->rev) {
				verdict(v, WC_WORKS_UNSUPPORTED, 'H', "VC-HEAD; VC-2020-02",
					"on Windows Server 2016 the host and image revisions must match for a "
					"supported configuration (host .%u, image .%u); the image might not start",
					h->rev, img->rev);
				return;
			}
			if (h->has_rev && img->has_rev) {
				verdict(v, WC_SUPPORTED, 'H', "VC-HEAD",
					"same build and same revision, as Windows Server 2016 requires");
				return;
			}
			verdict(v, WC_SUPPORTED, 'M', "VC-HEAD",
				"same build; Windows Server 2016 also needs the same revision (UBR) on host and "
				"image, which is not known here");
			return;
		}
		verdict(v, WC_SUPPORTED, 'H', "VC-HEAD; UPD",
			"host and image have the same build (%u); revisions need not match", hb);
		return;
	}
	if (hb == BUILD_WS2022) {
		if (ib == BUILD_WS2022)
			verdict(v, WC_SUPPORTED, 'H', "VC-HEAD", "Windows Server 2022 host and image");
		else
			verdict(v, WC_BLOCKED, 'H', "VC-HEAD; PORT",
				"a Windows Server 2022 host runs only Windows Server 2022 images in process "
				"isolation; use Hyper-V isolation for %s images", rel_name(kb, ib, false));
		return;
	}
	if (hb == BUILD_WS23H2) {
		if (ib == BUILD_WS2022)
			verdict(v, WC_SUPPORTED, 'H', "PORT",
				"a Windows Server 23H2 host runs Windows Server 2022 LTSC images (portability)");
		else
			verdict(v, WC_BLOCKED, 'H', "PORT",
				"a Windows Server 23H2 host only supports the Windows Server 2022 LTSC image");
		return;
	}
	if (hb == BUILD_WS2025) {
		if (ib == BUILD_WS2025 || ib == BUILD_WS2022)
			verdict(v, WC_SUPPORTED, 'H', "VC-HEAD",
				"Windows Server 2025 hosts run Windows Server 2025 and 2022 images in process "
				"isolation");
		else if (known_image && ib < BUILD_WS2022)
			verdict(v, WC_BLOCKED, 'H', "VC-HEAD",
				"Windows Server 2025 runs only 2025 and 2022 images in process isolation, not "
				"%s images; use Hyper-V isolation", rel_name(kb, ib, false));
		else
			verdict(v, WC_UNKNOWN, 'M', "HCSSHIM-OSV",
				"no Windows base image with build %u is known", ib);
		return;
	}
	verdict(v, WC_UNKNOWN, 'L', "VC-HEAD",
		"no documented process-isolation rule for server build %u", hb);
}

static void check_hyperv(const struct wc_kb *kb, const struct wc_host *h,
			 const struct wc_image *img, struct wc_verdict *v)
{
	uint32_t hb = h->build, ib = img->build;
	if (h->hyperv == 0) {
		verdict(v, WC_BLOCKED, 'H', "SYSREQ",
			"the host has no Hyper-V (the role, and nested virtualization when the host is a "
			"VM, are required for Hyper-V isolation)");
		return;
	}
	if (!wc_kb_is_image_build(kb, ib)) {
		verdict(v, WC_UNKNOWN, 'M', "VC-HEAD",
			"no Windows base image with build %u is known, so Microsoft's tables do not cover it",
			ib);
		return;
	}
	if (!h->client && hb == BUILD_WS23H2) {
		verdict(v, WC_SUPPORTED, 'L', "PORT; VC-HEAD",
			"Hyper-V isolation on Windows Server 23H2 hosts is not documented; an older image "
			"is allowed by the general image-build <= host-build rule");
		return;
	}
	const struct hv_row *row = hv_row_for(h->client, hb);
	if (!row) {
		verdict(v, WC_UNKNOWN, 'L', "VC-HEAD",
			"no documented Hyper-V rule for host build %u", hb);
		return;
	}
	if (hv_listed(row, ib)) {
		verdict(v, WC_SUPPORTED, 'H', row->source,
			"Hyper-V isolation runs %s images on this host (listed by Microsoft)",
			rel_name(kb, ib, false));
		return;
	}
	verdict(v, WC_SUPPORTED, 'M', "VC-HEAD",
		"Hyper-V isolation runs images with a build at or below the host's; Microsoft's table "
		"for this host does not list %s images, so this is derived from that rule",
		rel_name(kb, ib, false));
}

void wc_check(const struct wc_kb *kb, const struct wc_host *h, const struct wc_image *img,
	      enum wc_isolation iso, struct wc_verdict *v)
{
	memset(v, 0, sizeof(*v));
	const char *harch = h->arch[0] ? h->arch : "amd64";
	if (img->os[0] && strcasecmp(img->os, "windows") != 0) {
		verdict(v, WC_BLOCKED, 'H', "MOBY-PULL",
			"this is a %s image, not a Windows container image", img->os);
		return;
	}
	if (!img->has_version) {
		verdict(v, WC_UNKNOWN, 'H', "PLAT; OCI-INDEX",
			"the image's Windows build is not known (no os.version, or a tag that names no "
			"release), so no rule applies");
		return;
	}
	if (img->major != 10 || img->minor != 0) {
		verdict(v, WC_BLOCKED, 'H', "HCSSHIM-OSV",
			"image version %u.%u is not 10.0; major and minor must match the host",
			img->major, img->minor);
		return;
	}
	if (img->arch[0] && strcasecmp(img->arch, harch) != 0) {
		verdict(v, WC_BLOCKED, 'H', "MOBY-PULL",
			"the image is for %s but the host is %s", img->arch, harch);
		return;
	}
	if (h->build < BUILD_WS2016) {
		verdict(v, WC_BLOCKED, 'H', "SYSREQ; VC-HEAD",
			"Windows containers need Windows Server 2016 or Windows 10 1607 (build 14393) or "
			"later; the host is build %u", h->build);
		return;
	}
	if (img->build > h->build) {
		verdict(v, WC_BLOCKED, 'H', "VC-HEAD; PORT",
			"the image (build %u) is newer than the host (build %u); newer images never run on "
			"older hosts, in either isolation mode", img->build, h->build);
		return;
	}
	if (!h->rel) {
		if (h->build > kb->max_build)
			verdict(v, WC_UNKNOWN, 'H', "VC-HEAD",
				"host build %u is newer than every release in the knowledge base (newest %u); "
				"update it with --releases FILE or BERTH_RELEASES", h->build, kb->max_build);
		else
			verdict(v, WC_UNKNOWN, 'H', "VC-HEAD",
				"host build %u is not a Windows release the knowledge base knows", h->build);
		return;
	}
	if (iso == WC_ISO_PROCESS)
		check_process(kb, h, img, v);
	else
		check_hyperv(kb, h, img, v);
}

/* --- runtime models (§4.2, §4.3) --- */

static const struct {
	const char *name, *versions, *source;
} rt_info[WC_RT_COUNT] = {
	[WC_RT_DOCKER_CLASSIC] = { "docker", "Docker Engine (classic graphdriver pull)", "MOBY-PULL" },
	[WC_RT_CTRD_PREFIX] = { "containerd-prefix", "containerd < 1.6.23, 1.7.0-1.7.5", "PLAT; CTRD-6508" },
	[WC_RT_CTRD_COMPAT] = { "containerd-compat", "containerd 1.6.23+, 1.7.6+, 2.0-2.1", "PLAT; CTRD-11366" },
	[WC_RT_CTRD_22] = { "containerd-2.2", "containerd 2.2-2.3 (platforms rc.2-rc.4; Docker 29 with the containerd store)", "PLAT; MOBY-53397" },
	[WC_RT_CTRD_MAIN] = { "containerd-main", "containerd main / platforms v1.0.0-rc.5 (moby master)", "MOBY-VENDOR-PLAT-rc5" },
};

const char *wc_runtime_name(enum wc_runtime r) { return r < WC_RT_COUNT ? rt_info[r].name : "unknown"; }
const char *wc_runtime_versions(enum wc_runtime r) { return r < WC_RT_COUNT ? rt_info[r].versions : ""; }
const char *wc_runtime_source(enum wc_runtime r) { return r < WC_RT_COUNT ? rt_info[r].source : ""; }

bool wc_runtime_accepts(enum wc_runtime r, uint32_t hb, uint32_t ib)
{
	if (ib == 0)                 /* empty os.version: HostProcess images match */
		return true;
	switch (r) {
	case WC_RT_DOCKER_CLASSIC:
		return ib <= hb;
	case WC_RT_CTRD_PREFIX:
		return ib == hb;
	case WC_RT_CTRD_COMPAT:
	case WC_RT_CTRD_MAIN:
		if (hb < BUILD_WS2022)
			return ib == hb;
		return ib >= BUILD_WS2022 && ib <= hb;
	case WC_RT_CTRD_22: {
		if (hb < BUILD_WS2022)
			return ib == hb;
		/* floor: newest LTSC strictly below the host, 20348 for 20348 itself */
		uint32_t floor = hb > BUILD_WS2025 ? BUILD_WS2025 : BUILD_WS2022;
		return ib >= floor && ib <= hb;
	}
	default:
		return false;
	}
}

static void osv_string(const struct wc_entry *e, char *buf, size_t n)
{
	if (e->rev)
		snprintf(buf, n, "10.0.%u.%u", e->build, e->rev);
	else
		snprintf(buf, n, "10.0.%u", e->build);
}

int wc_runtime_pick(enum wc_runtime r, uint32_t hb, const char *host_arch,
		    const struct wc_entry *e, size_t n)
{
	const char *arch = host_arch && *host_arch ? host_arch : "amd64";
	int best = -1;
	for (size_t i = 0; i < n; i++) {
		if (!e[i].windows || (e[i].arch[0] && strcasecmp(e[i].arch, arch) != 0))
			continue;
		if (!wc_runtime_accepts(r, hb, e[i].build))
			continue;
		if (best < 0) {
			best = (int)i;
			continue;
		}
		const struct wc_entry *b = &e[best];
		switch (r) {
		case WC_RT_DOCKER_CLASSIC:
			/* exact build first, otherwise list order */
			if (e[i].build == hb && b->build != hb)
				best = (int)i;
			break;
		case WC_RT_CTRD_PREFIX:
		case WC_RT_CTRD_COMPAT:
			/* higher revision wins, build ignored (containerd#11366) */
			if (e[i].rev > b->rev)
				best = (int)i;
			break;
		default: {
			/* OSVersion compared as a string, descending */
			char x[40], y[40];
			osv_string(&e[i], x, sizeof(x));
			osv_string(b, y, sizeof(y));
			if (strcmp(x, y) > 0)
				best = (int)i;
			break;
		}
		}
	}
	return best;
}

int wc_runtime_from_containerd(const char *version)
{
	if (!version)
		return -1;
	if (strncmp(version, "docker://", 9) == 0)
		return WC_RT_DOCKER_CLASSIC;
	if (strncmp(version, "containerd://", 13) == 0)
		version += 13;
	if (*version == 'v')
		version++;
	unsigned maj, min, pat;
	if (sscanf(version, "%u.%u.%u", &maj, &min, &pat) != 3)
		return -1;
	if (maj == 1) {
		if (min < 6)
			return WC_RT_CTRD_PREFIX;
		if (min == 6)
			return pat < 23 ? WC_RT_CTRD_PREFIX : WC_RT_CTRD_COMPAT;
		if (min == 7)
			return pat <= 5 ? WC_RT_CTRD_PREFIX : WC_RT_CTRD_COMPAT;
		return -1;
	}
	if (maj == 2) {
		if (min <= 1)
			return WC_RT_CTRD_COMPAT;
		if (min <= 3)
			return WC_RT_CTRD_22;
	}
	return -1;
}
