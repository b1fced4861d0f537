/* Engine executor without an engine: host facts from the /info and /version
 * fixtures in testdata/engine/, the isolation decision for every base image
 * build on every fixture host, the multiplexed-stream demuxer, API version
 * comparison and URL / TLS configuration errors (no network needed, except
 * a connection to a closed loopback port). Run from the repository root. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_exec.h"
#include "builder/bld_exec.h"
#include "compat/wc.h"
#include "kb_testlib.h"

static void load_host(const char *name, struct bld_engine_facts *f)
{
	char pi[256], pv[256];
	snprintf(pi, sizeof(pi), "testdata/engine/%s-info.json", name);
	snprintf(pv, sizeof(pv), "testdata/engine/%s-version.json", name);
	struct bbuf bi = BBUF_INIT, bv = BBUF_INIT;
	struct berr *err = NULL;
	assert_int_equal(bfile_read_all(pi, 0, &bi, &err), 0);
	assert_int_equal(bfile_read_all(pv, 0, &bv, &err), 0);
	int rc = bld_engine_facts_parse(bbuf_str(&bi), bbuf_str(&bv), name, f, &err);
	if (rc < 0)
		fail_msg("%s: %s", name, err->msg);
	bbuf_release(&bi);
	bbuf_release(&bv);
}

/* --- facts --- */

static void test_facts_windows(void **state)
{
	static const struct {
		const char *host;
		uint32_t build, rev;
		bool client;
		const char *iso, *server, *api, *release;
	} cases[] = {
		{ "ws2019", 17763, 5329, false, "process", "24.0.7", "1.43", "Windows Server 2019" },
		{ "ws2022", 20348, 2227, false, "process", "25.0.3", "1.44", "Windows Server 2022" },
		{ "ws2025", 26100, 2314, false, "process", "27.3.1", "1.47", "Windows Server 2025" },
		{ "win11-23h2", 22631, 4460, true, "hyperv", "27.2.0", "1.47", "Windows 11, version 23H2" },
		{ "win11-24h2", 26100, 2454, true, "hyperv", "27.3.1", "1.47", "Windows 11, version 24H2" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct bld_engine_facts f;
		load_host(cases[i].host, &f);
		assert_string_equal(f.os_type, "windows");
		assert_int_equal(f.win_major, 10);
		assert_int_equal(f.win_minor, 0);
		assert_int_equal(f.win_build, cases[i].build);
		assert_true(f.win_has_rev);
		assert_int_equal(f.win_rev, cases[i].rev);
		assert_int_equal(f.win_client, cases[i].client);
		assert_string_equal(f.isolation, cases[i].iso);
		assert_string_equal(f.server_version, cases[i].server);
		assert_string_equal(f.api_version, cases[i].api);
		assert_string_equal(f.min_api_version, "1.24");
		assert_string_equal(f.arch, "amd64");
		struct wc_host h;
		struct berr *err = NULL;
		assert_int_equal(bld_engine_wc_host(kb, &f, &h, &err), 0);
		assert_non_null(h.rel);
		assert_string_equal(h.rel->name, cases[i].release);
		assert_int_equal(h.hyperv, cases[i].client ? 1 : -1);
		bld_engine_facts_clear(&f);
	}
}

static void test_facts_linux(void **state)
{
	struct bld_engine_facts f;
	load_host("linux", &f);
	assert_string_equal(f.os_type, "linux");
	assert_int_equal(f.win_build, 0);
	assert_null(f.isolation);
	assert_string_equal(f.kernel_version, "6.1.0-18-amd64");
	char *d = bld_engine_host_desc(&f);
	assert_string_equal(d, "linux Debian GNU/Linux 12 (bookworm), kernel 6.1.0-18-amd64");
	free(d);
	struct wc_host h;
	struct berr *err = NULL;
	assert_int_equal(bld_engine_wc_host(kb, &f, &h, &err), -1);
	berr_free(err);
	bld_engine_facts_clear(&f);
}

static void test_facts_fallbacks(void **state)
{
	struct berr *err = NULL;
	struct bld_engine_facts f;
	/* no KernelVersion: OSVersion gives the build, OperatingSystem the UBR */
	assert_int_equal(bld_engine_facts_parse(
		"{\"OSType\":\"windows\",\"OSVersion\":\"10.0.20348\","
		"\"OperatingSystem\":\"Windows Server 2022 Standard Version 21H2 (OS Build 20348.3091)\"}",
		NULL, "t", &f, &err), 0);
	assert_int_equal(f.win_build, 20348);
	assert_int_equal(f.win_rev, 3091);
	assert_false(f.win_client);
	bld_engine_facts_clear(&f);
	/* older engines on Windows 11 read ProductName, which says Windows 10 */
	assert_int_equal(bld_engine_facts_parse(
		"{\"OSType\":\"windows\",\"KernelVersion\":\"10.0 22631 (22621.1.amd64fre.ni_release.220506-1250)\","
		"\"OperatingSystem\":\"Windows 10 Pro Version 2009 (OS Build 22631.3007)\",\"Isolation\":\"hyperv\"}",
		NULL, "t", &f, &err), 0);
	assert_int_equal(f.win_build, 22631);
	assert_int_equal(f.win_rev, 3007);
	assert_true(f.win_client);
	struct wc_host h;
	assert_int_equal(bld_engine_wc_host(kb, &f, &h, &err), 0);
	assert_string_equal(h.rel->name, "Windows 11, version 23H2");
	bld_engine_facts_clear(&f);
	/* OS Build of another build is not taken as the UBR */
	assert_int_equal(bld_engine_facts_parse(
		"{\"OSType\":\"windows\",\"KernelVersion\":\"10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)\","
		"\"OperatingSystem\":\"Windows (OS Build 17134.1)\"}", NULL, "t", &f, &err), 0);
	assert_int_equal(f.win_build, 17763);
	assert_false(f.win_has_rev);
	bld_engine_facts_clear(&f);
	/* Os from /version when /info is not given */
	assert_int_equal(bld_engine_facts_parse(NULL, "{\"Os\":\"Linux\",\"Arch\":\"arm64\"}", "t", &f,
						&err), 0);
	assert_string_equal(f.os_type, "linux");
	assert_string_equal(f.arch, "arm64");
	bld_engine_facts_clear(&f);
}

static void test_facts_errors(void **state)
{
	static const struct {
		const char *info, *msg;
	} bad[] = {
		{ "[]", "/info is not a JSON object" },
		{ "{", "/info is not a JSON object" },
		{ "{\"KernelVersion\":\"x\"}", "no OSType" },
		{ "{\"OSType\":\"windows\",\"KernelVersion\":\"10.0\"}", "without a readable build" },
		{ "{\"OSType\":\"windows\",\"KernelVersion\":\"10.0 99999999 (x)\"}", "without a readable build" },
		{ "{\"OSType\":\"windows\",\"OSVersion\":\"10.0.x\"}", "without a readable build" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct berr *err = NULL;
		struct bld_engine_facts f;
		assert_int_equal(bld_engine_facts_parse(bad[i].info, NULL, "fixture", &f, &err), -1);
		assert_int_equal(err->code, BERR_INPUT);
		if (!strstr(err->msg, bad[i].msg) || !strstr(err->msg, "fixture"))
			fail_msg("case %zu: %s", i, err->msg);
		berr_free(err);
		bld_engine_facts_clear(&f);
	}
}

/* --- isolation decisions: every fixture host x every LTSC base build --- */

enum { X = -1 }; /* refused */

static void test_decide_matrix(void **state)
{
	static const char *const bases[] = {
		"10.0.14393.6614", "10.0.17763.5329", "10.0.20348.2227", "10.0.26100.2314",
	};
	/* expected enum bld_engine_iso per base, X = refused before running */
	static const struct {
		const char *host;
		int want[4];
	} rows[] = {
		{ "ws2019",     { BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_PROCESS, X, X } },
		{ "ws2022",     { BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_PROCESS, X } },
		{ "ws2025",     { BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_PROCESS, BLD_ENGINE_ISO_PROCESS } },
		{ "win11-23h2", { BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_PROCESS, X } },
		{ "win11-24h2", { BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_HYPERV, BLD_ENGINE_ISO_PROCESS, BLD_ENGINE_ISO_PROCESS } },
	};
	for (size_t r = 0; r < ARRAY_SIZE(rows); r++) {
		struct bld_engine_facts f;
		load_host(rows[r].host, &f);
		for (size_t b = 0; b < ARRAY_SIZE(bases); b++) {
			struct bld_engine_decision d;
			struct berr *err = NULL;
			int rc = bld_engine_decide(kb, &f, "windows", bases[b], "amd64", BLD_ENGINE_ISO_DEFAULT,
						   &d, &err);
			if (rows[r].want[b] == X) {
				if (rc != -1)
					fail_msg("%s / %s: ran with %s, want refusal", rows[r].host, bases[b],
						 bld_engine_iso_name(d.iso));
				assert_int_equal(err->code, BERR_FAILED);
				/* compat's reason, and where the image would run */
				if (!strstr(err->msg, "newer than the host") ||
				    !strstr(err->msg, "it runs with process isolation on") ||
				    !strstr(err->msg, "cannot run on Windows"))
					fail_msg("%s / %s: %s", rows[r].host, bases[b], err->msg);
				berr_free(err);
			} else {
				if (rc != 0)
					fail_msg("%s / %s: %s", rows[r].host, bases[b], err->msg);
				if ((int)d.iso != rows[r].want[b])
					fail_msg("%s / %s: %s, want %s", rows[r].host, bases[b],
						 bld_engine_iso_name(d.iso),
						 bld_engine_iso_name((enum bld_engine_iso)rows[r].want[b]));
				assert_false(d.forced);
				assert_true(d.note[0] != '\0');
			}
		}
		bld_engine_facts_clear(&f);
	}
}

static void test_decide_messages(void **state)
{
	struct bld_engine_facts f;
	struct bld_engine_decision d;
	struct berr *err = NULL;
	load_host("ws2019", &f);
	/* ltsc2022 on a 2019 host: refused, lists the 2022+ servers */
	assert_int_equal(bld_engine_decide(kb, &f, "windows", "10.0.20348.2227", NULL,
					   BLD_ENGINE_ISO_DEFAULT, &d, &err), -1);
	assert_non_null(strstr(err->msg, "the base image (os.version 10.0.20348.2227) cannot run on "
				    "Windows Server 2019 Datacenter Version 1809 (OS Build 17763.5329)"));
	assert_non_null(strstr(err->msg, "the image (build 20348) is newer than the host (build 17763)"));
	assert_non_null(strstr(err->msg, "Windows Server 2022 (20348)"));
	assert_non_null(strstr(err->msg, "Windows Server 2025 (26100)"));
	berr_free(err);
	err = NULL;
	/* forcing process for a 2016 image on 2019: compat says blocked */
	assert_int_equal(bld_engine_decide(kb, &f, "windows", "10.0.14393.6614", NULL,
					   BLD_ENGINE_ISO_PROCESS, &d, &err), -1);
	assert_non_null(strstr(err->msg, "--isolation process"));
	assert_non_null(strstr(err->msg, "Windows Server 2016 (14393)"));
	berr_free(err);
	err = NULL;
	/* forcing hyperv where process would be chosen is allowed */
	assert_int_equal(bld_engine_decide(kb, &f, "windows", "10.0.17763.5329", NULL,
					   BLD_ENGINE_ISO_HYPERV, &d, &err), 0);
	assert_int_equal(d.iso, BLD_ENGINE_ISO_HYPERV);
	assert_true(d.forced);
	assert_non_null(strstr(d.note, "forced"));
	/* no os.version: unknown is never taken as allowed */
	assert_int_equal(bld_engine_decide(kb, &f, "windows", NULL, NULL, BLD_ENGINE_ISO_DEFAULT, &d, &err),
			 -1);
	assert_non_null(strstr(err->msg, "os.version unknown"));
	assert_non_null(strstr(err->msg, "unknown in both isolation modes"));
	berr_free(err);
	err = NULL;
	/* a Linux stage on a Windows engine */
	assert_int_equal(bld_engine_decide(kb, &f, "linux", NULL, NULL, BLD_ENGINE_ISO_DEFAULT, &d, &err), -1);
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "runs windows containers"));
	berr_free(err);
	err = NULL;
	/* an arm64 image on an amd64 host */
	assert_int_equal(bld_engine_decide(kb, &f, "windows", "10.0.17763.5329", "arm64",
					   BLD_ENGINE_ISO_DEFAULT, &d, &err), -1);
	assert_non_null(strstr(err->msg, "arm64"));
	berr_free(err);
	bld_engine_facts_clear(&f);

	/* a Windows stage against a Linux engine fails before anything runs */
	load_host("linux", &f);
	err = NULL;
	assert_int_equal(bld_engine_decide(kb, &f, "windows", "10.0.17763.5329", NULL,
					   BLD_ENGINE_ISO_DEFAULT, &d, &err), -1);
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "this is a Windows stage"));
	assert_non_null(strstr(err->msg, "OSType 'linux'"));
	assert_non_null(strstr(err->msg, "Windows build host"));
	berr_free(err);
	err = NULL;
	/* Linux on Linux: no isolation choice; forcing one is a usage error */
	assert_int_equal(bld_engine_decide(kb, &f, "linux", NULL, "amd64", BLD_ENGINE_ISO_DEFAULT, &d, &err), 0);
	assert_int_equal(d.iso, BLD_ENGINE_ISO_DEFAULT);
	assert_int_equal(bld_engine_decide(kb, &f, "linux", NULL, NULL, BLD_ENGINE_ISO_HYPERV, &d, &err), -1);
	assert_int_equal(err->code, BERR_USAGE);
	berr_free(err);
	bld_engine_facts_clear(&f);
}

static void test_iso_parse(void **state)
{
	enum bld_engine_iso i;
	struct berr *err = NULL;
	assert_int_equal(bld_engine_iso_parse("process", &i, &err), 0);
	assert_int_equal(i, BLD_ENGINE_ISO_PROCESS);
	assert_int_equal(bld_engine_iso_parse("hyperv", &i, &err), 0);
	assert_int_equal(i, BLD_ENGINE_ISO_HYPERV);
	assert_int_equal(bld_engine_iso_parse("Hyper-V", &i, &err), -1);
	assert_int_equal(err->code, BERR_USAGE);
	berr_free(err);
}

/* --- demux --- */

struct collect {
	struct bbuf out, errs;
};

static int collect_fn(void *ctx, int stream, const void *p, size_t n, struct berr **err)
{
	struct collect *c = ctx;
	return bbuf_add(stream == 1 ? &c->out : &c->errs, p, n, err);
}

static void test_demux(void **state)
{
	static const unsigned char stream[] = {
		1, 0, 0, 0, 0, 0, 0, 6, 'h', 'e', 'l', 'l', 'o', '\n',
		2, 0, 0, 0, 0, 0, 0, 4, 'e', 'r', 'r', '\n',
		1, 0, 0, 0, 0, 0, 0, 0,
		1, 0, 0, 0, 0, 0, 0, 3, 'b', 'y', 'e',
	};
	/* every split point, byte by byte and in two halves */
	for (size_t step = 1; step <= sizeof(stream); step++) {
		struct collect c = { BBUF_INIT, BBUF_INIT };
		struct bld_engine_demux d;
		struct berr *err = NULL;
		bld_engine_demux_init(&d, collect_fn, &c);
		for (size_t off = 0; off < sizeof(stream); off += step) {
			size_t n = sizeof(stream) - off < step ? sizeof(stream) - off : step;
			assert_int_equal(bld_engine_demux_feed(&d, stream + off, n, &err), 0);
		}
		assert_true(bld_engine_demux_clean_end(&d));
		assert_string_equal(bbuf_str(&c.out), "hello\nbye");
		assert_string_equal(bbuf_str(&c.errs), "err\n");
		bbuf_release(&c.out);
		bbuf_release(&c.errs);
	}
	/* a TTY stream (raw text) is not a multiplexed stream */
	struct bld_engine_demux d;
	struct berr *err = NULL;
	bld_engine_demux_init(&d, NULL, NULL);
	assert_int_equal(bld_engine_demux_feed(&d, "hello world\n", 12, &err), -1);
	assert_non_null(strstr(err->msg, "bad frame header"));
	berr_free(err);
	/* a truncated frame is not a clean end */
	bld_engine_demux_init(&d, NULL, NULL);
	assert_int_equal(bld_engine_demux_feed(&d, stream, 10, NULL), 0);
	assert_false(bld_engine_demux_clean_end(&d));
}

static void test_api_cmp(void **state)
{
	assert_int_equal(bld_engine_api_cmp("1.24", "1.41"), -1);
	assert_int_equal(bld_engine_api_cmp("1.41", "1.41"), 0);
	assert_int_equal(bld_engine_api_cmp("1.100", "1.44"), 1);
	assert_int_equal(bld_engine_api_cmp("2.0", "1.44"), 1);
	assert_int_equal(bld_engine_api_cmp("1.9", "1.10"), -1);
	assert_int_equal(bld_engine_api_cmp(BLD_ENGINE_API_MIN, BLD_ENGINE_API_MAX), -1);
}

/* --- connection configuration --- */

static int open_url(const char *url, struct berr **err)
{
	struct bld_engine_opts o = { .url = url, .tls = -1, .tls_verify = -1, .connect_timeout_s = 5 };
	struct bld_engine *e = NULL;
	int rc = bld_engine_open(&o, &e, err);
	bld_engine_free(e);
	return rc;
}

static void test_urls(void **state)
{
	static const struct {
		const char *url;
		int code;
		const char *msg;
	} cases[] = {
		{ "ftp://host", BERR_USAGE, "want unix:///PATH or tcp://HOST:PORT" },
		{ "unix://relative.sock", BERR_USAGE, "absolute socket path" },
		{ "tcp://", BERR_USAGE, "no host" },
		{ "tcp://host:0", BERR_USAGE, "bad port" },
		{ "tcp://host:65536", BERR_USAGE, "bad port" },
		{ "tcp://host:x", BERR_USAGE, "bad port" },
		{ "tcp://host:2376/v1", BERR_USAGE, "a path is not supported" },
		{ "tcp://[::1", BERR_USAGE, "bad IPv6" },
		{ "npipe:////./pipe/docker_engine", BERR_UNSUPPORTED, "only on Windows builds" },
		{ "ssh://user@host", BERR_UNSUPPORTED, "only unix:// and tcp://" },
		{ "unix:///nonexistent/berth-test.sock", BERR_NETWORK, "no socket '/nonexistent/berth-test.sock'" },
		{ "tcp://127.0.0.1:1", BERR_NETWORK, "cannot reach the engine at 'tcp://127.0.0.1:1'" },
	};
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_TLS");
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		struct berr *err = NULL;
		assert_int_equal(open_url(cases[i].url, &err), -1);
		if (err->code != cases[i].code || !strstr(err->msg, cases[i].msg))
			fail_msg("%s: [%s] %s", cases[i].url, berr_code_name(err->code), err->msg);
		berr_free(err);
	}
	/* DOCKER_HOST is used when no URL is given */
	setenv("DOCKER_HOST", "npipe:////./pipe/x", 1);
	struct berr *err = NULL;
	assert_int_equal(open_url(NULL, &err), -1);
	assert_non_null(strstr(err->msg, "npipe:////./pipe/x"));
	berr_free(err);
	unsetenv("DOCKER_HOST");
}

/* Executor selection for Windows stages on this (Linux) host: "auto"
 * reaches for an engine only when one is named; the linux executor never
 * takes a Windows stage. No engine is contacted except the named socket,
 * which does not exist. */
static void test_select_windows(void **state)
{
	(void)state;
	struct img_platform p = { .os = (char *)"windows", .architecture = (char *)"amd64",
				  .os_version = (char *)"10.0.17763.5329" };
	struct berr *err = NULL;
	unsetenv("DOCKER_HOST");
	bld_engine_exec_configure(NULL, BLD_ENGINE_ISO_DEFAULT);
	assert_false(bld_engine_exec_configured());
	assert_null(bld_executor_select("auto", &p, &err));
	assert_non_null(err);
	assert_int_equal(err->code, BERR_UNSUPPORTED);
	assert_non_null(strstr(err->msg, "executor 'auto': no Docker Engine is configured (set "
				      "DOCKER_HOST or --engine URL)"));
	assert_non_null(strstr(err->msg, "a Windows Docker Engine whose build matches"));
	berr_clear(&err);

	assert_null(bld_executor_select("linux", &p, &err));
	assert_non_null(strstr(err->msg, "the linux executor cannot run Windows stages"));
	berr_clear(&err);

	/* named but unreachable: the engine's own error, before any work */
	bld_engine_exec_configure("unix:///nonexistent/berth-test.sock", BLD_ENGINE_ISO_DEFAULT);
	assert_true(bld_engine_exec_configured());
	assert_null(bld_executor_select("auto", &p, &err));
	assert_non_null(strstr(err->msg, "nonexistent/berth-test.sock"));
	berr_clear(&err);
	bld_engine_exec_shutdown();

	/* a Linux stage under auto never goes to an engine (same OS as here) */
	struct img_platform host = { 0 };
	img_host_platform(&host);
	setenv("DOCKER_HOST", "unix:///nonexistent/berth-test.sock", 1);
	const struct bld_executor *x = bld_executor_select("auto", &host, &err);
	if (x)
		assert_string_equal(x->name, "linux");
	else
		assert_null(strstr(err->msg, "nonexistent"));
	berr_clear(&err);
	unsetenv("DOCKER_HOST");
	img_platform_clear(&host);
}

static void test_tls_config(void **state)
{
	char dir[] = "/tmp/berth-engine-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	setenv("DOCKER_TLS_VERIFY", "1", 1);
	setenv("DOCKER_CERT_PATH", dir, 1);
	struct berr *err = NULL;
	/* verification on, no ca.pem */
	assert_int_equal(open_url("tcp://127.0.0.1:1", &err), -1);
	assert_non_null(strstr(err->msg, "ca.pem"));
	assert_non_null(strstr(err->msg, "DOCKER_TLS_VERIFY"));
	berr_free(err);
	err = NULL;
	/* a client certificate without its key */
	char p[512];
	snprintf(p, sizeof(p), "%s/ca.pem", dir);
	assert_int_equal(bfile_write_atomic(p, "x", 1, 0644, &err), 0);
	snprintf(p, sizeof(p), "%s/cert.pem", dir);
	assert_int_equal(bfile_write_atomic(p, "x", 1, 0644, &err), 0);
	assert_int_equal(open_url("tcp://127.0.0.1:1", &err), -1);
	assert_non_null(strstr(err->msg, "key.pem"));
	berr_free(err);
	unsetenv("DOCKER_TLS_VERIFY");
	unsetenv("DOCKER_CERT_PATH");
	const char *names[] = { "ca.pem", "cert.pem" };
	for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
		snprintf(p, sizeof(p), "%s/%s", dir, names[i]);
		unlink(p);
	}
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_facts_windows),
		cmocka_unit_test(test_facts_linux),
		cmocka_unit_test(test_facts_fallbacks),
		cmocka_unit_test(test_facts_errors),
		cmocka_unit_test(test_decide_matrix),
		cmocka_unit_test(test_decide_messages),
		cmocka_unit_test(test_iso_parse),
		cmocka_unit_test(test_demux),
		cmocka_unit_test(test_api_cmp),
		cmocka_unit_test(test_urls),
		cmocka_unit_test(test_tls_config),
		cmocka_unit_test(test_select_windows),
	};
	return cmocka_run_group_tests(tests, kb_setup, kb_teardown);
}
