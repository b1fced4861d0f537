#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/df_ref.h"

#define HEX64 "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa"

enum mode { NORMALIZED, DOCKER, RAW };

/* "<string> | <familiar> | domain=<d> path=<p>" or "ERR <message>" */
static char *describe(enum mode mode, const char *in)
{
	struct df_ref *r = NULL;
	struct berr *err = NULL;
	int rc = mode == NORMALIZED ? df_ref_parse_normalized(in, &r, &err)
		 : mode == DOCKER   ? df_ref_parse_docker(in, &r, &err)
				    : df_ref_parse(in, &r, &err);
	if (rc < 0) {
		char *m = xasprintf("ERR %s", err->msg);
		berr_free(err);
		return m;
	}
	_cleanup_free_ char *s = df_ref_string(r);
	_cleanup_free_ char *f = df_ref_familiar(r);
	char *out = xasprintf("%s | %s | domain=%s path=%s", s, f, r->domain, r->path);
	df_ref_free(r);
	return out;
}

#define EXPECT(mode, in, want)                           \
	do {                                             \
		char *got_ = describe(mode, in);         \
		assert_string_equal(got_, want);         \
		free(got_);                              \
	} while (0)

static void test_normalize(void **state)
{
	(void)state;
	EXPECT(NORMALIZED, "busybox",
	       "docker.io/library/busybox | busybox | domain=docker.io path=library/busybox");
	EXPECT(DOCKER, "busybox",
	       "docker.io/library/busybox:latest | busybox:latest | domain=docker.io path=library/busybox");
	EXPECT(NORMALIZED, "docker.io/busybox:1.36",
	       "docker.io/library/busybox:1.36 | busybox:1.36 | domain=docker.io path=library/busybox");
	EXPECT(NORMALIZED, "index.docker.io/foo/bar",
	       "docker.io/foo/bar | foo/bar | domain=docker.io path=foo/bar");
	EXPECT(NORMALIZED, "foo/bar",
	       "docker.io/foo/bar | foo/bar | domain=docker.io path=foo/bar");
	/* nested library/ paths keep their prefix in the familiar form */
	EXPECT(NORMALIZED, "library/a/b",
	       "docker.io/library/a/b | library/a/b | domain=docker.io path=library/a/b");
	EXPECT(NORMALIZED, "localhost/foo",
	       "localhost/foo | localhost/foo | domain=localhost path=foo");
	EXPECT(NORMALIZED, "localhost:5000/foo/bar:v1",
	       "localhost:5000/foo/bar:v1 | localhost:5000/foo/bar:v1 | domain=localhost:5000 path=foo/bar");
	EXPECT(NORMALIZED, "mcr.microsoft.com/windows/servercore:ltsc2022",
	       "mcr.microsoft.com/windows/servercore:ltsc2022 | mcr.microsoft.com/windows/servercore:ltsc2022 | domain=mcr.microsoft.com path=windows/servercore");
	EXPECT(NORMALIZED, "[::1]:5000/foo",
	       "[::1]:5000/foo | [::1]:5000/foo | domain=[::1]:5000 path=foo");
	/* an uppercase first component can only be a host name */
	EXPECT(NORMALIZED, "Foo/bar", "Foo/bar | Foo/bar | domain=Foo path=bar");
	/* a single component is never a domain, not even localhost */
	EXPECT(NORMALIZED, "localhost",
	       "docker.io/library/localhost | localhost | domain=docker.io path=library/localhost");
	EXPECT(NORMALIZED, "foo_bar__baz---qux.x",
	       "docker.io/library/foo_bar__baz---qux.x | foo_bar__baz---qux.x | domain=docker.io path=library/foo_bar__baz---qux.x");
}

static void test_tag_and_digest(void **state)
{
	(void)state;
	EXPECT(NORMALIZED, "busybox@sha256:" HEX64,
	       "docker.io/library/busybox@sha256:" HEX64 " | busybox@sha256:" HEX64
	       " | domain=docker.io path=library/busybox");
	EXPECT(NORMALIZED, "busybox:1@sha256:" HEX64,
	       "docker.io/library/busybox:1@sha256:" HEX64 " | busybox:1@sha256:" HEX64
	       " | domain=docker.io path=library/busybox");
	/* ParseDockerRef: the digest wins, no latest is added */
	EXPECT(DOCKER, "busybox:1@sha256:" HEX64,
	       "docker.io/library/busybox@sha256:" HEX64 " | busybox@sha256:" HEX64
	       " | domain=docker.io path=library/busybox");
	EXPECT(NORMALIZED, "busybox:_a.B-9", "docker.io/library/busybox:_a.B-9 | busybox:_a.B-9 | domain=docker.io path=library/busybox");
	EXPECT(NORMALIZED, "busybox@sha256:" "7CC4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
	       "ERR invalid checksum digest format");
	EXPECT(NORMALIZED, "busybox@sha256:0123456789abcdef0123456789abcdef",
	       "ERR invalid checksum digest length");
	EXPECT(NORMALIZED, "busybox@md5:0123456789abcdef0123456789abcdef",
	       "ERR unsupported digest algorithm");
	EXPECT(NORMALIZED, "busybox@sha256:abc", "ERR invalid reference format");
	EXPECT(NORMALIZED, "busybox:-x", "ERR invalid reference format");
	char tag[200];
	snprintf(tag, sizeof(tag), "busybox:%0128d", 0);
	char *ok = describe(NORMALIZED, tag);
	assert_int_equal(strncmp(ok, "docker.io/", 10), 0);
	free(ok);
	snprintf(tag, sizeof(tag), "busybox:%0129d", 0);
	EXPECT(NORMALIZED, tag, "ERR invalid reference format");
}

static void test_errors(void **state)
{
	(void)state;
	EXPECT(NORMALIZED, "", "ERR invalid reference format");
	EXPECT(RAW, "", "ERR repository name must have at least one component");
	EXPECT(NORMALIZED, "Busybox",
	       "ERR invalid reference format: repository name (library/Busybox) must be lowercase");
	EXPECT(NORMALIZED, "foo/Bar:tag",
	       "ERR invalid reference format: repository name (foo/Bar) must be lowercase");
	EXPECT(NORMALIZED, HEX64,
	       "ERR invalid repository name (" HEX64 "), cannot specify 64-byte hexadecimal strings");
	EXPECT(NORMALIZED, "foo___bar", "ERR invalid reference format");
	EXPECT(NORMALIZED, "-foo", "ERR invalid reference format");
	EXPECT(NORMALIZED, "foo.", "ERR invalid reference format");
	EXPECT(NORMALIZED, "foo bar", "ERR invalid reference format");
	EXPECT(NORMALIZED, "example.com:http/foo", "ERR invalid reference format");
	EXPECT(NORMALIZED, "busybox\n", "ERR invalid reference format");
	EXPECT(RAW, "docker.io/Foo", "ERR repository name must be lowercase");
	/* the 255 limit applies to the path (with library/ added) */
	char name[300];
	memset(name, 'a', 247);
	name[247] = '\0';
	char *ok = describe(NORMALIZED, name);
	assert_int_equal(strncmp(ok, "docker.io/library/aaa", 21), 0);
	free(ok);
	memset(name, 'a', 248);
	name[248] = '\0';
	EXPECT(NORMALIZED, name, "ERR repository name must not be more than 255 characters");
}

static void test_raw_parse(void **state)
{
	(void)state;
	/* reference.Parse: the first component of two is taken as the domain */
	EXPECT(RAW, "foo/bar:tag", "foo/bar:tag | foo/bar:tag | domain=foo path=bar");
	EXPECT(RAW, "busybox", "busybox | busybox | domain= path=busybox");
}

/* name lists in the spirit of distribution/reference's normalize tests */
static void test_validity_tables(void **state)
{
	(void)state;
	static const char *const valid[] = {
		"docker/docker", "library/debian", "debian", "docker.io/docker/docker",
		"docker.io/debian", "index.docker.io/library/debian",
		"127.0.0.1:5000/docker/docker", "192.168.0.1", "192.168.0.1:80",
		"192.168.0.1:8/debian", "[fc00::1]:5000/docker",
		"[fc00:1:2:3:4:5:6:7]:5000/library/debian",
		"docker.io/1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a",
		"Docker/docker", "DOCKER/docker", "docker---rules/docker", "d/docker", "jess/t",
		"dock__er/docker", "xn--n3h.com:18080/foo", "test-com:8080/foo",
	};
	static const char *const invalid[] = {
		"https://github.com/docker/docker", "docker/Docker", "-docker", "-docker/docker",
		"-docker.io/docker/docker", "docker///docker", "docker.io/docker/Docker",
		"[fc00::1]", "[fc00::1]:5000", "fc00::1:5000/debian", "[fe80::1%eth0]:5000/debian",
		"[2001:db8:3:4::192.0.2.33]:5000/debian", "docker-/docker", "____/____",
		"_docker/_docker", "dock..er/docker", "dock_.er/docker", "dock-.er/docker",
		"docker/",
	};
	for (size_t i = 0; i < ARRAY_SIZE(valid); i++) {
		char *got = describe(NORMALIZED, valid[i]);
		if (strncmp(got, "ERR", 3) == 0)
			fail_msg("'%s' should be valid: %s", valid[i], got);
		free(got);
	}
	for (size_t i = 0; i < ARRAY_SIZE(invalid); i++) {
		char *got = describe(NORMALIZED, invalid[i]);
		if (strncmp(got, "ERR", 3) != 0)
			fail_msg("'%s' should be invalid: %s", invalid[i], got);
		free(got);
	}
	EXPECT(NORMALIZED, "test_com/foo",
	       "docker.io/test_com/foo | test_com/foo | domain=docker.io path=test_com/foo");
	EXPECT(NORMALIZED, "127.0.0.1:8000/privatebase",
	       "127.0.0.1:8000/privatebase | 127.0.0.1:8000/privatebase | domain=127.0.0.1:8000 path=privatebase");
	EXPECT(NORMALIZED, "192.168.0.1:80",
	       "docker.io/library/192.168.0.1:80 | 192.168.0.1:80 | domain=docker.io path=library/192.168.0.1");
}

static void test_helpers(void **state)
{
	(void)state;
	struct berr *err = NULL;
	assert_true(df_ref_is_identifier(HEX64));
	assert_false(df_ref_is_identifier("sha256:" HEX64));
	assert_int_equal(df_digest_validate("sha256:" HEX64, &err), 0);
	assert_int_equal(df_digest_validate("sha256", &err), -1);
	assert_string_equal(err->msg, "invalid checksum digest format");
	berr_clear(&err);
	struct df_ref *r = NULL;
	assert_int_equal(df_ref_parse_normalized("quay.io/a/b", &r, &err), 0);
	char *n = df_ref_name(r), *fn = df_ref_familiar_name(r);
	assert_string_equal(n, "quay.io/a/b");
	assert_string_equal(fn, "quay.io/a/b");
	free(n);
	free(fn);
	df_ref_tag_name_only(r);
	assert_string_equal(r->tag, "latest");
	df_ref_free(r);
	df_ref_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_normalize),
		cmocka_unit_test(test_tag_and_digest),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_raw_parse),
		cmocka_unit_test(test_validity_tables),
		cmocka_unit_test(test_helpers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
