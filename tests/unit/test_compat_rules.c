/* Isolation rules, cell by cell.
 *
 * Part 1: Microsoft's current published matrix (version-compatibility.md,
 * VC-HEAD), one row per host x image x isolation cell.
 * Part 2: the per-host table of windows-compat.md §2.1 (historical SAC and
 * Windows 10 rows), expanded over every base image build.
 * Part 3: revision cases (Windows Server 2016 UBR, February 2020 baseline).
 * Part 4: unknown / malformed inputs and runtime matcher models. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc.h"
#include "kb_testlib.h"

#define S WC_SUPPORTED
#define W WC_WORKS_UNSUPPORTED
#define B WC_BLOCKED
#define U WC_UNKNOWN

static void host_of(uint32_t build, bool client, struct wc_host *h)
{
	memset(h, 0, sizeof(*h));
	h->build = build;
	h->client = client;
	h->hyperv = -1;
	h->rel = wc_kb_by_build(kb, build, client);
}

static void image_of(uint32_t build, struct wc_image *img)
{
	memset(img, 0, sizeof(*img));
	img->major = 10;
	img->build = build;
	img->has_version = true;
	snprintf(img->os, sizeof(img->os), "windows");
}

static int check_cell(const char *label, const struct wc_host *h, const struct wc_image *img,
		      enum wc_isolation iso, enum wc_level want, const char *want_src)
{
	struct wc_verdict v;
	wc_check(kb, h, img, iso, &v);
	int bad = 0;
	if (v.level != want) {
		fprintf(stderr, "%s %s: got %s (%s [%s]), want %s [%s]\n", label, wc_isolation_name(iso),
			wc_level_name(v.level), v.reason, v.source, wc_level_name(want), want_src);
		bad = 1;
	}
	if (want_src && !strstr(v.source, want_src)) {
		fprintf(stderr, "%s %s: source '%s' does not cite %s\n", label, wc_isolation_name(iso),
			v.source, want_src);
		bad = 1;
	}
	if (!v.reason[0] || v.reason[strlen(v.reason) - 1] == '.') {
		fprintf(stderr, "%s: reason must be one sentence without final period\n", label);
		bad = 1;
	}
	return bad;
}

/* Part 1: VC-HEAD matrix. Hosts WS2025/WS2022/WS2019/WS2016, Windows 11
 * (21H2-23H2, and 24H2+ per footnote), Windows 10; images 2025/2022/2019/2016. */
struct cell {
	uint32_t host;
	bool client;
	uint32_t image;
	enum wc_level process, hyperv;
	const char *psrc, *hsrc;
};

static const struct cell vc_head[] = {
	/* Windows Server 2025 host [VC-HEAD] */
	{ 26100, false, 26100, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, false, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, false, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, false, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows Server 2022 host [VC-HEAD] */
	{ 20348, false, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 20348, false, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 20348, false, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 20348, false, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows Server 2019 host: 2022 is ❌ in both modes [VC-HEAD] */
	{ 17763, false, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 17763, false, 20348, B, B, "VC-HEAD", "VC-HEAD" },
	{ 17763, false, 17763, S, S, "VC-HEAD", "VC-HEAD" },
	{ 17763, false, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows Server 2016 host: 2019 and 2022 ❌ in both modes [VC-HEAD] */
	{ 14393, false, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 14393, false, 20348, B, B, "VC-HEAD", "VC-HEAD" },
	{ 14393, false, 17763, B, B, "VC-HEAD", "VC-HEAD" },
	{ 14393, false, 14393, S, S, "VC-HEAD", "VC-HEAD" },
	/* Windows 11 21H2/22H2/23H2 host: WS2022 process ✅; 2025 ❌ [VC-HEAD] */
	{ 22000, true, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 22000, true, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 22000, true, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 22000, true, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	{ 22621, true, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 22631, true, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 22631, true, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 22631, true, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 22631, true, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows 11 24H2 and later: 2025 in both modes (footnote) [VC-HEAD] */
	{ 26100, true, 26100, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, true, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, true, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 26100, true, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	{ 26200, true, 26100, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26200, true, 20348, S, S, "VC-HEAD", "VC-HEAD" },
	{ 26200, true, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 26200, true, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows 10 host (22H2): 2022 ❌/❌, 2019 and 2016 Hyper-V only [VC-HEAD] */
	{ 19045, true, 26100, B, B, "VC-HEAD", "VC-HEAD" },
	{ 19045, true, 20348, B, B, "VC-HEAD", "VC-HEAD" },
	{ 19045, true, 17763, B, S, "VC-HEAD", "VC-HEAD" },
	{ 19045, true, 14393, B, S, "VC-HEAD", "VC-HEAD" },
	/* Windows 10 1809 host: the table says process ❌, the isolation page and
	 * FAQ allow same-build process isolation for dev/test -> works-but-unsupported */
	{ 17763, true, 20348, B, B, "VC-HEAD", "VC-HEAD" },
	{ 17763, true, 17763, W, S, "ISO", "VC-2019" },
	{ 17763, true, 14393, B, S, "VC-HEAD", "VC-2019" },
};

static void test_vc_head_matrix(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(vc_head); i++) {
		const struct cell *c = &vc_head[i];
		struct wc_host h;
		struct wc_image img;
		char label[96];
		host_of(c->host, c->client, &h);
		image_of(c->image, &img);
		snprintf(label, sizeof(label), "VC-HEAD row %zu host %u%s image %u", i, c->host,
			 c->client ? " (client)" : "", c->image);
		bad += check_cell(label, &h, &img, WC_ISO_PROCESS, c->process, c->psrc);
		bad += check_cell(label, &h, &img, WC_ISO_HYPERV, c->hyperv, c->hsrc);
	}
	assert_int_equal(bad, 0);
}

/* Part 2: windows-compat.md §2.1, per host: the image builds allowed in
 * Hyper-V (HV, "(d)" ones included) and in process isolation (P). */
static const uint32_t image_builds[] = { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042,
					 20348, 26100 };

struct row {
	uint32_t host;
	bool client;
	uint32_t hv[12];
	uint32_t p[4];
	enum wc_level p_level;   /* level for the builds in p */
	const char *source;      /* source the P verdicts must cite */
};

static const struct row table21[] = {
	{ 14393, false, { 14393 }, { 14393 }, S, "VC-HEAD" },
	{ 16299, false, { 14393, 16299 }, { 16299 }, S, "VC-HEAD" },
	{ 17134, false, { 14393, 16299, 17134 }, { 17134 }, S, "VC-HEAD" },
	{ 17763, false, { 14393, 16299, 17134, 17763 }, { 17763 }, S, "VC-HEAD" },
	{ 18362, false, { 14393, 16299, 17134, 17763, 18362 }, { 18362 }, S, "VC-HEAD" },
	/* 1709/1803 on 1909: (d) */
	{ 18363, false, { 14393, 16299, 17134, 17763, 18362, 18363 }, { 18363 }, S, "VC-HEAD" },
	{ 19041, false, { 14393, 16299, 17134, 17763, 18362, 18363, 19041 }, { 19041 }, S, "VC-HEAD" },
	{ 19042, false, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, { 19042 }, S, "VC-HEAD" },
	{ 20348, false, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348 }, { 20348 }, S, "VC-HEAD" },
	/* WS 23H2: Hyper-V not documented (derived), process 20348 only [PORT] */
	{ 25398, false, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348 }, { 20348 }, S, "PORT" },
	{ 26100, false, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348, 26100 }, { 20348, 26100 }, S, "VC-HEAD" },
	/* Windows 10 before 1809: Hyper-V only [VC-2018] */
	{ 14393, true, { 14393 }, { 0 }, S, "VC-2018" },
	{ 15063, true, { 14393 }, { 0 }, S, "VC-2018" },
	{ 16299, true, { 14393, 16299 }, { 0 }, S, "VC-2018" },
	{ 17134, true, { 14393, 16299, 17134 }, { 0 }, S, "VC-2018" },
	/* Windows 10 1809+: same build for dev/test only [ISO; FAQ] */
	{ 17763, true, { 14393, 16299, 17134, 17763 }, { 17763 }, W, "ISO" },
	{ 18362, true, { 14393, 16299, 17134, 17763, 18362 }, { 18362 }, W, "ISO" },
	{ 18363, true, { 14393, 16299, 17134, 17763, 18362, 18363 }, { 18363 }, W, "ISO" },
	{ 19041, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041 }, { 19041 }, W, "ISO" },
	{ 19042, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, { 19042, 19041 }, W, "" },
	/* 21H1-22H2: no image of their build; 2004 images reported to work [WC-406] */
	{ 19043, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, { 19041 }, W, "WC-406" },
	{ 19044, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, { 19041 }, W, "WC-406" },
	{ 19045, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042 }, { 19041 }, W, "WC-406" },
	{ 22000, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348 }, { 20348 }, S, "VC-HEAD" },
	{ 22631, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348 }, { 20348 }, S, "VC-HEAD" },
	{ 26100, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348, 26100 }, { 20348, 26100 }, S, "VC-HEAD" },
	{ 26200, true, { 14393, 16299, 17134, 17763, 18362, 18363, 19041, 19042, 20348, 26100 }, { 20348, 26100 }, S, "VC-HEAD" },
};

static bool in(const uint32_t *v, size_t n, uint32_t x)
{
	for (size_t i = 0; i < n && v[i]; i++)
		if (v[i] == x)
			return true;
	return false;
}

static void test_table_2_1(void **state)
{
	(void)state;
	int bad = 0, cells = 0;
	for (size_t i = 0; i < ARRAY_SIZE(table21); i++) {
		const struct row *r = &table21[i];
		for (size_t j = 0; j < ARRAY_SIZE(image_builds); j++) {
			uint32_t ib = image_builds[j];
			struct wc_host h;
			struct wc_image img;
			char label[96];
			host_of(r->host, r->client, &h);
			image_of(ib, &img);
			snprintf(label, sizeof(label), "§2.1 host %u%s image %u", r->host,
				 r->client ? " (client)" : "", ib);
			bool p = in(r->p, ARRAY_SIZE(r->p), ib);
			bool hv = in(r->hv, ARRAY_SIZE(r->hv), ib);
			bad += check_cell(label, &h, &img, WC_ISO_PROCESS, p ? r->p_level : B,
					  p && r->source[0] ? r->source : NULL);
			bad += check_cell(label, &h, &img, WC_ISO_HYPERV, hv ? S : B, NULL);
			cells += 2;
		}
	}
	assert_int_equal(bad, 0);
	assert_int_equal(cells, (int)(ARRAY_SIZE(table21) * ARRAY_SIZE(image_builds) * 2));
}

static void test_hyperv_listed_vs_derived(void **state)
{
	(void)state;
	struct wc_host h;
	struct wc_image img;
	struct wc_verdict v;
	/* WS2022 lists 14393, 17763, 19042, 20348 [VC-2022-03]; 1903 is derived */
	host_of(20348, false, &h);
	image_of(17763, &img);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.confidence, 'H');
	assert_non_null(strstr(v.source, "VC-2022-03"));
	image_of(18362, &img);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_SUPPORTED);
	assert_int_equal(v.confidence, 'M');
	assert_non_null(strstr(v.reason, "derived"));
	/* 23H2: Hyper-V matrix not documented [PORT] -> low confidence */
	host_of(25398, false, &h);
	image_of(17763, &img);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.confidence, 'L');
	assert_non_null(strstr(v.reason, "not documented"));
	/* no Hyper-V on the host */
	host_of(20348, false, &h);
	h.hyperv = 0;
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	assert_string_equal(v.source, "SYSREQ");
}

/* Part 3: revisions */
struct revcase {
	uint32_t build, hrev, irev;
	bool client;
	enum wc_level want;
	const char *src;
};

static const struct revcase revs[] = {
	/* WS2016: UBR must match for a supported configuration [VC-HEAD; VC-2020-02] */
	{ 14393, 3504, 3504, false, S, "VC-HEAD" },
	{ 14393, 4000, 3600, false, W, "VC-2020-02" },
	{ 14393, 2000, 1000, false, W, "VC-HEAD" },
	/* 2B baseline [UPD; UPD-draft]: opposite sides are blocked */
	{ 14393, 3443, 3504, false, B, "UPD" },
	{ 14393, 3504, 3443, false, B, "UPD" },
	{ 17763, 1039, 973, false, B, "UPD" },
	{ 17763, 973, 1040, false, B, "UPD" },
	{ 17763, 1039, 1040, false, S, "VC-HEAD" },
	{ 17763, 5329, 1040, false, S, "VC-HEAD" },   /* revisions need not match from 1809 */
	{ 17763, 900, 973, false, S, "VC-HEAD" },     /* both before 2B */
	{ 17134, 1304, 1246, false, B, "UPD" },
	{ 18362, 657, 592, false, B, "UPD" },
	{ 18363, 592, 658, false, B, "UPD" },
	{ 18363, 700, 658, false, S, "VC-HEAD" },
	/* no baseline for 20348 */
	{ 20348, 100, 5000, false, S, "VC-HEAD" },
	/* Windows 10 1809 client: baseline applies to process isolation as well */
	{ 17763, 1039, 973, true, B, "UPD" },
};

static void test_revisions(void **state)
{
	(void)state;
	int bad = 0;
	for (size_t i = 0; i < ARRAY_SIZE(revs); i++) {
		struct wc_host h;
		struct wc_image img;
		char label[96];
		host_of(revs[i].build, revs[i].client, &h);
		h.rev = revs[i].hrev;
		h.has_rev = true;
		image_of(revs[i].build, &img);
		img.rev = revs[i].irev;
		img.has_rev = true;
		snprintf(label, sizeof(label), "revision host %u.%u image %u.%u", revs[i].build,
			 revs[i].hrev, revs[i].build, revs[i].irev);
		bad += check_cell(label, &h, &img, WC_ISO_PROCESS, revs[i].want, revs[i].src);
		/* the 2B baseline is a process-isolation rule only [UPD] */
		bad += check_cell(label, &h, &img, WC_ISO_HYPERV, S, NULL);
	}
	assert_int_equal(bad, 0);
}

/* Part 4: unknown and malformed cases */
static void test_unknown_and_blocked_inputs(void **state)
{
	(void)state;
	struct wc_host h;
	struct wc_image img;
	struct wc_verdict v;
	/* host newer than the knowledge base: unknown, with a hint to update */
	host_of(30000, false, &h);
	image_of(20348, &img);
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &v);
	assert_int_equal(v.level, WC_UNKNOWN);
	assert_non_null(strstr(v.reason, "--releases"));
	/* ... but an image newer than any host is blocked whatever the KB says */
	host_of(26100, false, &h);
	image_of(28000, &img);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	/* an image build with no base image (22621) in the relaxed range: unknown */
	host_of(26100, false, &h);
	image_of(22621, &img);
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &v);
	assert_int_equal(v.level, WC_UNKNOWN);
	/* no os.version */
	image_of(20348, &img);
	img.has_version = false;
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &v);
	assert_int_equal(v.level, WC_UNKNOWN);
	/* a Linux image */
	image_of(20348, &img);
	snprintf(img.os, sizeof(img.os), "linux");
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	/* architecture mismatch [MOBY-PULL] */
	image_of(20348, &img);
	snprintf(img.arch, sizeof(img.arch), "arm64");
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	assert_string_equal(v.source, "MOBY-PULL");
	/* major.minor must match [HCSSHIM-OSV] */
	image_of(9600, &img);
	img.major = 6;
	img.minor = 3;
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	assert_string_equal(v.source, "HCSSHIM-OSV");
	/* hosts before 1607 have no containers [SYSREQ] */
	host_of(10240, true, &h);
	image_of(10240, &img);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v);
	assert_int_equal(v.level, WC_BLOCKED);
	assert_non_null(strstr(v.source, "SYSREQ"));
}

/* Runtime matcher models, windows-compat.md §4.2/§4.3 */
static void test_runtime_accepts(void **state)
{
	(void)state;
	/* moby#53397: containerd 2.2-2.3 rejects ltsc2022 on Windows 11 25H2 */
	assert_false(wc_runtime_accepts(WC_RT_CTRD_22, 26200, 20348));
	assert_true(wc_runtime_accepts(WC_RT_CTRD_22, 26200, 26100));
	assert_true(wc_runtime_accepts(WC_RT_CTRD_22, 26100, 20348));
	assert_true(wc_runtime_accepts(WC_RT_CTRD_22, 20348, 20348));
	/* rc.5 fixes it */
	assert_true(wc_runtime_accepts(WC_RT_CTRD_MAIN, 26200, 20348));
	/* prefix matcher: exact build only (containerd#6508) */
	assert_false(wc_runtime_accepts(WC_RT_CTRD_PREFIX, 22000, 20348));
	assert_true(wc_runtime_accepts(WC_RT_CTRD_COMPAT, 22000, 20348));
	/* below 20348 every containerd needs the exact build */
	assert_false(wc_runtime_accepts(WC_RT_CTRD_COMPAT, 17763, 14393));
	/* Docker classic keeps any entry <= host */
	assert_true(wc_runtime_accepts(WC_RT_DOCKER_CLASSIC, 26200, 17763));
	assert_false(wc_runtime_accepts(WC_RT_DOCKER_CLASSIC, 17763, 20348));
	/* empty os.version matches (HostProcess images) */
	assert_true(wc_runtime_accepts(WC_RT_CTRD_22, 26200, 0));
}

static void test_runtime_pick(void **state)
{
	(void)state;
	struct wc_entry l1[] = {
		{ 20348, 5000, "amd64", true },
		{ 26100, 3000, "amd64", true },
	};
	/* containerd#11366: revision-only ordering picks the 20348 entry on WS2025 */
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_COMPAT, 26100, NULL, l1, 2), 0);
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_22, 26100, NULL, l1, 2), 1);
	assert_int_equal(wc_runtime_pick(WC_RT_DOCKER_CLASSIC, 26100, NULL, l1, 2), 1);
	/* docker/for-win#13986: no exact match -> first listed entry <= host */
	struct wc_entry l2[] = {
		{ 17763, 100, "amd64", true },
		{ 20348, 100, "amd64", true },
	};
	assert_int_equal(wc_runtime_pick(WC_RT_DOCKER_CLASSIC, 22631, NULL, l2, 2), 0);
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_COMPAT, 22631, NULL, l2, 2), 1);
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_PREFIX, 22631, NULL, l2, 2), -1);
	/* string comparison of OSVersion: 10.0.17763.999 sorts above .5329 [PLAT] */
	struct wc_entry l3[] = {
		{ 17763, 5329, "amd64", true },
		{ 17763, 999, "amd64", true },
	};
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_MAIN, 17763, NULL, l3, 2), 1);
	assert_int_equal(wc_runtime_pick(WC_RT_CTRD_COMPAT, 17763, NULL, l3, 2), 0);
	/* arch and OS filters */
	struct wc_entry l4[] = {
		{ 17763, 1, "arm64", true },
		{ 17763, 1, "amd64", false },
	};
	assert_int_equal(wc_runtime_pick(WC_RT_DOCKER_CLASSIC, 17763, "amd64", l4, 2), -1);
}

static void test_runtime_versions(void **state)
{
	(void)state;
	assert_int_equal(wc_runtime_from_containerd("containerd://1.7.5"), WC_RT_CTRD_PREFIX);
	assert_int_equal(wc_runtime_from_containerd("containerd://1.7.6"), WC_RT_CTRD_COMPAT);
	assert_int_equal(wc_runtime_from_containerd("1.6.22"), WC_RT_CTRD_PREFIX);
	assert_int_equal(wc_runtime_from_containerd("1.6.23"), WC_RT_CTRD_COMPAT);
	assert_int_equal(wc_runtime_from_containerd("containerd://2.0.4"), WC_RT_CTRD_COMPAT);
	assert_int_equal(wc_runtime_from_containerd("containerd://2.2.1"), WC_RT_CTRD_22);
	assert_int_equal(wc_runtime_from_containerd("v2.3.0"), WC_RT_CTRD_22);
	assert_int_equal(wc_runtime_from_containerd("containerd://2.4.0"), -1);
	assert_int_equal(wc_runtime_from_containerd("docker://20.10.9"), WC_RT_DOCKER_CLASSIC);
	assert_int_equal(wc_runtime_from_containerd("garbage"), -1);
	assert_int_equal(wc_runtime_from_containerd(NULL), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vc_head_matrix),
		cmocka_unit_test(test_table_2_1),
		cmocka_unit_test(test_hyperv_listed_vs_derived),
		cmocka_unit_test(test_revisions),
		cmocka_unit_test(test_unknown_and_blocked_inputs),
		cmocka_unit_test(test_runtime_accepts),
		cmocka_unit_test(test_runtime_pick),
		cmocka_unit_test(test_runtime_versions),
	};
	return cmocka_run_group_tests_name("compat_rules", tests, kb_setup, kb_teardown);
}
