/* Version, release-name and image-tag parsing over real tags of each family
 * (MCR base images, retired Docker Hub repos, dotnet, powershell, official
 * images), plus the knowledge base loader and the error explainer. */
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

static void test_versions(void **state)
{
	(void)state;
	struct wc_version v;
	assert_int_equal(wc_version_parse("10.0.17763.5329", &v, NULL), 0);
	assert_int_equal(v.build, 17763);
	assert_int_equal(v.rev, 5329);
	assert_true(v.has_rev);
	assert_int_equal(wc_version_parse("10.0.17763", &v, NULL), 0);
	assert_false(v.has_rev);
	assert_int_equal(wc_version_parse("17763", &v, NULL), 0);
	assert_int_equal(v.major, 10);
	assert_int_equal(v.build, 17763);
	static const char *const bad[] = { "", "10.0", "10..1", "abc", "10.0.17763.5329.1", "-1",
					   "99999999", "10.0.x", "10.0.17763.", ".10.0.1", "0",
					   "10.0.17763 ", "+17763", "1e5" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct berr *err = NULL;
		if (wc_version_parse(bad[i], &v, &err) == 0)
			fail_msg("'%s' parsed", bad[i]);
		assert_int_equal(err->code, BERR_INPUT);
		berr_free(err);
	}
}

struct name_case {
	const char *in;
	bool need_kind;
	const char *id;         /* NULL: must fail */
	uint32_t build;
};

static const struct name_case names[] = {
	{ "ltsc2019", false, "ws2019", 17763 },
	{ "Windows Server 2019", true, "ws2019", 17763 },
	{ "1809", true, "ws2019", 17763 },
	{ "2019", true, "ws2019", 17763 },
	{ "ws2022", true, "ws2022", 20348 },
	{ "ltsc2025", true, "ws2025", 26100 },
	{ "20H2", true, "ws20H2", 19042 },
	{ "2009", true, "ws20H2", 19042 },
	{ "sac2016", true, NULL, 0 },           /* a nanoserver tag, not a release name */
	{ "win11-24h2", true, "win11-24H2", 26100 },
	{ "Windows 10, version 22H2", true, "win10-22H2", 19045 },
	{ "win10 1809", true, "win10-1809", 17763 },
	{ "Windows Server, version 23H2", true, "ws23H2", 25398 },
	{ "24H2", false, "ws2025", 26100 },      /* same build: fine for images */
	{ "24H2", true, NULL, 0 },              /* server or client: ambiguous for hosts */
	{ "21H2", false, NULL, 0 },             /* 19044, 20348, 22000: ambiguous */
	{ "23H2", false, NULL, 0 },
	{ "Windows 12", true, NULL, 0 },
	{ "", true, NULL, 0 },
	{ "---", true, NULL, 0 },
};

static void test_names(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		struct berr *err = NULL;
		const struct wc_release *r = wc_resolve_name(kb, names[i].in, names[i].need_kind, &err);
		if (names[i].id) {
			if (!r)
				fail_msg("'%s': %s", names[i].in, err ? err->msg : "?");
			assert_string_equal(r->id, names[i].id);
			assert_int_equal(r->build, names[i].build);
		} else {
			if (r)
				fail_msg("'%s' resolved to %s", names[i].in, r->id);
			assert_non_null(err);
			assert_int_equal(err->code, BERR_INPUT);
			berr_free(err);
		}
	}
	struct berr *err = NULL;
	assert_null(wc_resolve_name(kb, "21H2", false, &err));
	assert_non_null(strstr(err->msg, "ambiguous"));
	assert_non_null(strstr(err->msg, "win11-21H2"));
	berr_free(err);
}

static void test_hosts(void **state)
{
	(void)state;
	struct wc_host h;
	assert_int_equal(wc_host_parse(kb, "10.0.26100", &h, NULL), 0);
	assert_false(h.client);
	assert_string_equal(h.rel->id, "ws2025");
	assert_int_equal(wc_host_parse(kb, "26200", &h, NULL), 0);
	assert_true(h.client);
	assert_string_equal(h.rel->id, "win11-25H2");
	assert_int_equal(wc_host_parse(kb, "10.0.17763.5329", &h, NULL), 0);
	assert_int_equal(h.rev, 5329);
	assert_string_equal(h.rel->id, "ws2019");
	assert_int_equal(wc_host_parse(kb, "win10-22h2", &h, NULL), 0);
	assert_true(h.client);
	assert_int_equal(wc_host_parse(kb, "10.0.40000", &h, NULL), 0);
	assert_null(h.rel);     /* newer than the KB: rules say unknown */
	struct berr *err = NULL;
	assert_int_equal(wc_host_parse(kb, "6.3.9600", &h, &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	berr_free(err);
	err = NULL;
	assert_int_equal(wc_host_parse(kb, "10.0.x", &h, &err), -1);
	berr_free(err);
}

struct tag_case {
	const char *ref;
	enum wc_tag_how how;
	uint32_t build;         /* 0 with how UNKNOWN */
	const char *release;    /* expected release id or NULL */
	const char *arch, *kb;
	bool retired;
};

static const struct tag_case tags[] = {
	{ "mcr.microsoft.com/windows/servercore:ltsc2019", WC_TAG_RELEASE, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:ltsc2016", WC_TAG_RELEASE, 14393, "ws2016", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:ltsc2022", WC_TAG_RELEASE, 20348, "ws2022", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:ltsc2025-amd64", WC_TAG_RELEASE, 26100, "ws2025", "amd64", "", false },
	{ "mcr.microsoft.com/windows/servercore:10.0.17763.5329-amd64", WC_TAG_BUILD, 17763, "ws2019", "amd64", "", false },
	{ "mcr.microsoft.com/windows/servercore:10.0.20348.2113", WC_TAG_BUILD, 20348, "ws2022", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:1809", WC_TAG_RELEASE, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:1809-KB4493509", WC_TAG_RELEASE, 17763, "ws2019", "", "KB4493509", false },
	{ "mcr.microsoft.com/windows/servercore:1809_KB4480116_amd64", WC_TAG_RELEASE, 17763, "ws2019", "amd64", "KB4480116", false },
	{ "mcr.microsoft.com/windows/servercore:1709", WC_TAG_RELEASE, 16299, "ws1709", "", "", false },
	{ "mcr.microsoft.com/windows/servercore:2004", WC_TAG_RELEASE, 19041, "ws2004", "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:1809", WC_TAG_RELEASE, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:sac2016", WC_TAG_RELEASE, 14393, "ws2016", "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:20H2", WC_TAG_RELEASE, 19042, "ws20H2", "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:2009", WC_TAG_RELEASE, 19042, "ws20H2", "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:ltsc2022", WC_TAG_RELEASE, 20348, "ws2022", "", "", false },
	{ "mcr.microsoft.com/windows/server:ltsc2022-KB5034770", WC_TAG_RELEASE, 20348, "ws2022", "", "KB5034770", false },
	{ "mcr.microsoft.com/windows/server:ltsc2025", WC_TAG_RELEASE, 26100, "ws2025", "", "", false },
	{ "mcr.microsoft.com/windows:1809", WC_TAG_RELEASE, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/windows:20H2", WC_TAG_RELEASE, 19042, "ws20H2", "", "", false },
	{ "MCR.microsoft.com/Windows/ServerCore:LTSC2019", WC_TAG_RELEASE, 17763, "ws2019", "", "", false },
	/* retired Docker Hub repos */
	{ "microsoft/windowsservercore:1709", WC_TAG_RELEASE, 16299, "ws1709", "", "", true },
	{ "microsoft/windowsservercore:ltsc2016", WC_TAG_RELEASE, 14393, "ws2016", "", "", true },
	{ "docker.io/microsoft/nanoserver:sac2016", WC_TAG_RELEASE, 14393, "ws2016", "", "", true },
	{ "microsoft/nanoserver:1803", WC_TAG_RELEASE, 17134, "ws1803", "", "", true },
	{ "microsoft/windowsservercore:10.0.14393.1884", WC_TAG_BUILD, 14393, "ws2016", "", "", true },
	/* derived images: dotnet, powershell, official images */
	{ "mcr.microsoft.com/dotnet/framework/aspnet:4.8-windowsservercore-ltsc2019", WC_TAG_DERIVED, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/dotnet/framework/sdk:4.8-20250909-windowsservercore-ltsc2022", WC_TAG_DERIVED, 20348, "ws2022", "", "", false },
	{ "mcr.microsoft.com/dotnet/framework/runtime:4.8.1-windowsservercore-ltsc2025", WC_TAG_DERIVED, 26100, "ws2025", "", "", false },
	{ "mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-ltsc2022", WC_TAG_DERIVED, 20348, "ws2022", "", "", false },
	{ "mcr.microsoft.com/dotnet/runtime:6.0-nanoserver-1809", WC_TAG_DERIVED, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/powershell:lts-nanoserver-1809", WC_TAG_DERIVED, 17763, "ws2019", "", "", false },
	{ "mcr.microsoft.com/powershell:7.4-windowsservercore-ltsc2022", WC_TAG_DERIVED, 20348, "ws2022", "", "", false },
	{ "python:3.12-windowsservercore-ltsc2022", WC_TAG_DERIVED, 20348, "ws2022", "", "", false },
	{ "golang:1.22-nanoserver-1809", WC_TAG_DERIVED, 17763, "ws2019", "", "", false },
	{ "mongo:windowsservercore-1809", WC_TAG_DERIVED, 17763, "ws2019", "", "", false },
	{ "registry.example.com:5000/team/app:1.2-ltsc2022", WC_TAG_DERIVED, 20348, "ws2022", "", "", false },
	/* unknown stays unknown */
	{ "mcr.microsoft.com/windows/servercore:latest", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows/servercore", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows/servercore:ltsc2030", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows:ltsc2022", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows/server:ltsc2019", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows/nanoserver:ltsc2019", WC_TAG_UNKNOWN, 0, NULL, "", "", false }, /* unconfirmed tag */
	{ "mcr.microsoft.com/windows/servercore@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/windows/servercore/insider:latest", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "alpine:3.19", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "myapp:2004", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "myapp:1809", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/dotnet/aspnet:8.0", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	{ "mcr.microsoft.com/dotnet/aspnet:8.0-nanoserver-2030", WC_TAG_UNKNOWN, 0, NULL, "", "", false },
	/* build known, release not (insider preview build) */
	{ "mcr.microsoft.com/windows/servercore/insider:10.0.27723.1000", WC_TAG_BUILD, 27723, NULL, "", "", false },
};

static void test_tags(void **state)
{
	(void)state;
	for (size_t i = 0; i < ARRAY_SIZE(tags); i++) {
		const struct tag_case *c = &tags[i];
		struct wc_tag_info t;
		struct berr *err = NULL;
		if (wc_tag_parse(kb, c->ref, &t, &err) < 0)
			fail_msg("%s: %s", c->ref, err->msg);
		if (t.how != c->how)
			fail_msg("%s: recognised as %d, want %d (%s)", c->ref, t.how, c->how, t.why);
		if (c->how == WC_TAG_UNKNOWN) {
			assert_null(t.rel);
			assert_true(t.why[0] != '\0');
			continue;
		}
		assert_int_equal(t.ver.build, c->build);
		if (c->release) {
			assert_non_null(t.rel);
			assert_string_equal(t.rel->id, c->release);
		} else {
			assert_null(t.rel);
		}
		assert_string_equal(t.arch, c->arch);
		assert_string_equal(t.kb, c->kb);
		assert_int_equal(t.retired_repo, c->retired);
		assert_int_equal(t.single_arch, c->arch[0] != '\0' && c->how != WC_TAG_DERIVED);
	}
	struct wc_tag_info t;
	/* Docker grammar: upper-case names are recognised but flagged */
	assert_int_equal(wc_tag_parse(kb, "MCR.microsoft.com/Windows/ServerCore:LTSC2019", &t, NULL), 0);
	assert_non_null(strstr(t.why, "must be lowercase"));
	wc_tag_parse(kb, "mcr.microsoft.com/windows/servercore:ltsc2019", &t, NULL);
	assert_string_equal(t.why, "");
	struct wc_ref r;
	assert_int_equal(wc_ref_split("index.docker.io/library/python:3.12", &r, NULL), 0);
	assert_string_equal(r.repo, "python");
	assert_string_equal(r.tag, "3.12");
	assert_int_equal(wc_ref_split("localhost:5000/app", &r, NULL), 0);
	assert_string_equal(r.repo, "localhost:5000/app");
	assert_string_equal(r.tag, "");
	assert_false(r.lowercased);
	wc_tag_parse(kb, "mcr.microsoft.com/windows/servercore:latest", &t, NULL);
	assert_non_null(strstr(t.why, "2019-04-16"));
	wc_tag_parse(kb, "mcr.microsoft.com/windows/servercore:10.0.17763.5329", &t, NULL);
	assert_int_equal(t.ver.rev, 5329);
}

static void test_bad_refs(void **state)
{
	(void)state;
	static const char *const bad[] = { "", "a b", "repo:", "/repo", "repo//x", "repo@nodigest",
					   "repo\t:1", "repo@sha256:abc", "a___b:1", "repo:-x",
					   "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct wc_tag_info t;
		struct berr *err = NULL;
		if (wc_tag_parse(kb, bad[i], &t, &err) == 0)
			fail_msg("'%s' accepted", bad[i]);
		assert_int_equal(err->code, BERR_INPUT);
		berr_free(err);
	}
}

static void test_kb_load_errors(void **state)
{
	(void)state;
	static const struct {
		const char *json, *msg;
	} bad[] = {
		{ "{", "invalid JSON" },
		{ "[]", "must be a JSON object" },
		{ "{\"schema\":2}", "schema" },
		{ "{\"schema\":1}", "missing field 'releases'" },
		{ "{\"schema\":1,\"releases\":[],\"families\":[]}", "no releases" },
		{ "{\"schema\":1,\"releases\":[{\"id\":\"x\",\"kind\":\"desktop\",\"build\":1}],\"families\":[]}",
		  "unknown kind 'desktop'" },
		{ "{\"schema\":1,\"releases\":[{\"id\":\"x\",\"kind\":\"client\",\"build\":-3}],\"families\":[]}",
		  "whole number" },
		{ "{\"schema\":1,\"releases\":[{\"id\":\"x\",\"kind\":\"client\",\"build\":5,"
		  "\"released\":\"2020-02-30\"}],\"families\":[]}", "invalid date '2020-02-30'" },
		{ "{\"schema\":1,\"releases\":[{\"id\":\"x\",\"kind\":\"client\",\"build\":5,"
		  "\"images\":{\"nope\":[\"a\"]}}],\"families\":[]}", "unknown image family 'nope'" },
		{ "{\"schema\":1,\"releases\":[{\"id\":\"x\",\"kind\":\"client\",\"build\":5,"
		  "\"aliases\":[1]}],\"families\":[]}", "array of strings" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct berr *err = NULL;
		struct wc_kb *k = wc_kb_parse(bad[i].json, strlen(bad[i].json), "t.json", &err);
		if (k)
			fail_msg("case %zu accepted", i);
		assert_non_null(err);
		if (!strstr(err->msg, bad[i].msg))
			fail_msg("case %zu: '%s' lacks '%s'", i, err->msg, bad[i].msg);
		assert_int_equal(err->code, BERR_INPUT);
		berr_free(err);
	}
	/* the embedded KB covers every release the issue names */
	static const char *const ids[] = { "ws2016", "ws1709", "ws1803", "ws2019", "ws1903", "ws1909",
					   "ws2004", "ws20H2", "ws2022", "ws23H2", "ws2025",
					   "win10-1507", "win10-22H2", "win11-21H2", "win11-25H2" };
	for (size_t i = 0; i < ARRAY_SIZE(ids); i++)
		assert_non_null(wc_kb_by_id(kb, ids[i]));
	/* every source key used by a release resolves in the KB's source table */
	assert_non_null(wc_kb_source_text(kb, "VC-HEAD"));
	assert_non_null(wc_kb_source_text(kb, "UPD-draft"));
	const struct wc_release *r = wc_kb_by_id(kb, "ws2019");
	assert_int_equal(r->bl_2b, 1039);
	assert_int_equal(r->bl_2b_oob, 1040);
}

static void test_support_status(void **state)
{
	(void)state;
	const struct wc_release *ws2019 = wc_kb_by_id(kb, "ws2019");
	assert_int_equal(wc_release_support(ws2019, "2020-01-01"), WC_SUP_MAINSTREAM);
	assert_int_equal(wc_release_support(ws2019, "2024-01-09"), WC_SUP_MAINSTREAM);
	assert_int_equal(wc_release_support(ws2019, "2024-01-10"), WC_SUP_EXTENDED);
	assert_int_equal(wc_release_support(ws2019, "2029-01-10"), WC_SUP_ENDED);
	assert_int_equal(wc_release_support(ws2019, "2018-01-01"), WC_SUP_NOT_YET);
	const struct wc_release *sac = wc_kb_by_id(kb, "ws1903");
	assert_int_equal(wc_release_support(sac, "2021-01-01"), WC_SUP_ENDED);
	const struct wc_release *ac = wc_kb_by_id(kb, "ws23H2");
	assert_int_equal(wc_release_support(ac, "2025-01-01"), WC_SUP_UNKNOWN);
	assert_true(wc_date_valid("2024-02-29"));
	assert_false(wc_date_valid("2023-02-29"));
	assert_false(wc_date_valid("2023-13-01"));
	assert_false(wc_date_valid("2023-1-01"));
}

static void test_explain(void **state)
{
	(void)state;
	static const struct {
		const char *text, *id;
	} cases[] = {
		{ "hcsshim::CreateComputeSystem 8f3e: The container operating system does not match the host operating system.", "hcs-image-mismatch" },
		{ "The operating system of the container does not match the operating system of the host. (0xc0370101)", "hcs-image-mismatch" },
		{ "a Windows version 10.0.20348-based image is incompatible with a 10.0.17763 host", "pull-image-newer" },
		{ "no matching manifest for windows/amd64 10.0.17763 in the manifest list entries", "no-manifest-classic" },
		{ "no matching manifest for unknown in the manifest list entries", "no-manifest-unknown" },
		{ "no matching manifest for windows(10.0.26200)/amd64/v3 in the manifest list entries: no match for platform in manifest: not found", "no-manifest-containerd-store" },
		{ "failed to pull and unpack image \"mcr.microsoft.com/windows/servercore:ltsc2022\": no match for platform in manifest: not found", "containerd-no-match" },
		{ "failed to register layer: re-exec error: exit status 1: output: ProcessUtilityVMImage C:\\x\\UtilityVM: The system cannot find the path specified.", "utility-vm-path" },
		{ "image operating system \"windows\" cannot be used on this platform", "linux-engine" },
		{ "The virtual machine could not be started because a required feature is not installed.", "hyperv-not-installed" },
		{ "To use this container image, you must join the Windows Insider Program", "insider-required" },
		{ "The container image contains a layer with an unrecognized format", "invalid-layer" },
		{ "this version of Windows does not support the docker daemon (Windows build 17763 or higher is required)", "daemon-too-old" },
		{ "container exited with code 3221225785", "baseline-2020-02" },
		{ "task: non-zero exit; starting container failed: co", "swarm-starting-failed" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct wc_explanation ex[4];
		size_t n = wc_explain(kb, cases[i].text, ex, 4);
		if (n == 0)
			fail_msg("not recognised: %s", cases[i].text);
		assert_string_equal(ex[0].id, cases[i].id);
		assert_true(strlen(ex[0].source) > 0);
	}
	struct wc_explanation ex[4];
	assert_int_equal(wc_explain(kb, "everything is fine", ex, 4), 0);
	/* the containerd-store message is not also reported as the CRI one */
	size_t n = wc_explain(kb, cases[5].text, ex, 4);
	assert_int_equal(n, 1);
	assert_non_null(strstr(ex[0].detail, "Windows 11, version 25H2"));
	n = wc_explain(kb, cases[2].text, ex, 4);
	assert_non_null(strstr(ex[0].detail, "image build 20348 (Windows Server 2022)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_versions),
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_hosts),
		cmocka_unit_test(test_tags),
		cmocka_unit_test(test_bad_refs),
		cmocka_unit_test(test_kb_load_errors),
		cmocka_unit_test(test_support_status),
		cmocka_unit_test(test_explain),
	};
	return cmocka_run_group_tests_name("compat_parse", tests, kb_setup, kb_teardown);
}
