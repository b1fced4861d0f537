/* Registry client pieces that need no network: WWW-Authenticate challenges
 * (recorded from Docker Hub, GHCR, ECR-style, distribution htpasswd and
 * malformed ones), token scopes and the per-scope cache key, token
 * responses, Docker credentials (config.json, helpers) and manifest-list
 * ordering. */
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
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_regauth.h"
#include "image/img_registry.h"

static struct img_auth_challenges parse_ok(const char *h)
{
	struct img_auth_challenges c = { 0 };
	struct berr *err = NULL;
	int rc = img_auth_parse(h, &c, &err);
	if (rc < 0)
		fail_msg("parse '%s': %s", h, err->msg);
	return c;
}

static void test_challenge_hub(void **state)
{
	(void)state;
	/* Docker Hub, as recorded */
	struct img_auth_challenges c = parse_ok(
		"Bearer realm=\"https://auth.docker.io/token\",service=\"registry.docker.io\","
		"scope=\"repository:library/busybox:pull\"");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "bearer");
	const struct img_auth_challenge *b = img_auth_find(&c, "Bearer");
	assert_non_null(b);
	assert_string_equal(img_auth_param(b, "realm"), "https://auth.docker.io/token");
	assert_string_equal(img_auth_param(b, "SERVICE"), "registry.docker.io");
	assert_string_equal(img_auth_param(b, "scope"), "repository:library/busybox:pull");
	assert_null(img_auth_param(b, "error"));
	img_auth_challenges_clear(&c);
}

static void test_challenge_variants(void **state)
{
	(void)state;
	/* several scopes with commas and spaces inside the quotes, an error
	 * parameter, and escapes */
	struct img_auth_challenges c = parse_ok(
		"Bearer realm=\"https://ghcr.io/token\", service=\"ghcr.io\", "
		"scope=\"repository:a/b:pull,push repository:c/d:pull\",error=\"insufficient_scope\"");
	const struct img_auth_challenge *b = img_auth_find(&c, "bearer");
	assert_string_equal(img_auth_param(b, "scope"), "repository:a/b:pull,push repository:c/d:pull");
	assert_string_equal(img_auth_param(b, "error"), "insufficient_scope");
	img_auth_challenges_clear(&c);

	/* distribution's htpasswd controller */
	c = parse_ok("Basic realm=\"berth-test\"");
	assert_int_equal(c.n, 1);
	assert_string_equal(c.v[0].scheme, "basic");
	assert_string_equal(img_auth_param(&c.v[0], "realm"), "berth-test");
	img_auth_challenges_clear(&c);

	/* two challenges in one header; token68; unquoted values; escapes */
	c = parse_ok("Negotiate abc123==, Basic realm=x, Bearer realm=\"https://h/t\\\"q\",service=s");
	assert_int_equal(c.n, 3);
	assert_string_equal(c.v[0].scheme, "negotiate");
	assert_string_equal(c.v[0].token68, "abc123==");
	assert_string_equal(img_auth_param(&c.v[1], "realm"), "x");
	assert_string_equal(img_auth_param(&c.v[2], "realm"), "https://h/t\"q");
	assert_string_equal(img_auth_param(&c.v[2], "service"), "s");
	/* headers append: a second WWW-Authenticate line */
	struct berr *err = NULL;
	assert_int_equal(img_auth_parse("Digest realm=\"r\"", &c, &err), 0);
	assert_int_equal(c.n, 4);
	img_auth_challenges_clear(&c);

	/* scheme alone, and empty header */
	c = parse_ok("Bearer");
	assert_int_equal(c.n, 1);
	assert_int_equal(c.v[0].n_params, 0);
	img_auth_challenges_clear(&c);
	c = parse_ok("  ");
	assert_int_equal(c.n, 0);
}

static void test_challenge_errors(void **state)
{
	(void)state;
	const char *bad[] = {
		"Bearer realm=\"unterminated",
		"Bearer realm=\"x\" junk",
		"=realm",
		"Bearer realm=\"x\\",
	};
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		struct img_auth_challenges c = { 0 };
		struct berr *err = NULL;
		assert_int_equal(img_auth_parse(bad[i], &c, &err), -1);
		assert_non_null(err);
		assert_int_equal(err->code, BERR_INPUT);
		assert_non_null(strstr(err->msg, "WWW-Authenticate"));
		berr_free(err);
		img_auth_challenges_clear(&c);
	}
	/* limits */
	struct bbuf b = BBUF_INIT;
	for (int i = 0; i < IMG_AUTH_MAX_CHALLENGES + 2; i++)
		bbuf_addf(&b, NULL, "%sBasic realm=x", i ? ", " : "");
	struct img_auth_challenges c = { 0 };
	struct berr *err = NULL;
	assert_int_equal(img_auth_parse(b.data, &c, &err), -1);
	assert_int_equal(err->code, BERR_LIMIT);
	berr_free(err);
	img_auth_challenges_clear(&c);
	bbuf_release(&b);
	char *huge = xmalloc(IMG_AUTH_HEADER_MAX + 10);
	memset(huge, 'a', IMG_AUTH_HEADER_MAX + 9);
	huge[IMG_AUTH_HEADER_MAX + 9] = '\0';
	err = NULL;
	assert_int_equal(img_auth_parse(huge, &c, &err), -1);
	assert_int_equal(err->code, BERR_LIMIT);
	berr_free(err);
	free(huge);
}

static void test_scopes(void **state)
{
	(void)state;
	struct img_scopes s = { 0 };
	img_scopes_add_repo(&s, "tok/big2", "push,pull");
	img_scopes_add_repo(&s, "tok/big", "pull");
	img_scopes_add(&s, "repository:tok/big2:pull  registry:catalog:*");
	char *j = img_scopes_join(&s);
	/* merged per resource, actions sorted, scopes sorted: a stable cache key */
	assert_string_equal(j, "registry:catalog:* repository:tok/big2:pull,push repository:tok/big:pull");
	free(j);
	img_scopes_add_repo(&s, "tok/big", "push");
	j = img_scopes_join(&s);
	assert_string_equal(j, "registry:catalog:* repository:tok/big2:pull,push repository:tok/big:pull,push");
	free(j);
	/* a registry host with a port in the name keeps its colon */
	struct img_scopes p = { 0 };
	img_scopes_add(&p, "repository:host:5000/x:pull");
	img_scopes_add(&p, "repository:host:5000/x:push");
	j = img_scopes_join(&p);
	assert_string_equal(j, "repository:host:5000/x:pull,push");
	free(j);

	struct img_scopes need = { 0 };
	img_scopes_add_repo(&need, "tok/big", "pull");
	assert_true(img_scopes_cover(&s, &need));
	img_scopes_add_repo(&need, "other", "pull");
	assert_false(img_scopes_cover(&s, &need));
	img_scopes_clear(&need);
	img_scopes_add(&need, "registry:catalog:anything");
	assert_true(img_scopes_cover(&s, &need)); /* '*' covers every action */
	img_scopes_clear(&need);
	img_scopes_clear(&s);
	img_scopes_clear(&p);
	img_scopes_clear(NULL);
}

static void test_token_parse(void **state)
{
	(void)state;
	struct img_token t;
	struct berr *err = NULL;
	const char *hub = "{\"token\":\"abc\",\"access_token\":\"abc\",\"expires_in\":300,"
			  "\"issued_at\":\"2024-01-01T00:00:00Z\"}";
	assert_int_equal(img_token_parse(hub, strlen(hub), &t, &err), 0);
	assert_string_equal(t.token, "abc");
	assert_int_equal(t.expires_in, 300);
	img_token_clear(&t);
	const char *oauth = "{\"access_token\":\"xyz\",\"refresh_token\":\"r1\",\"expires_in\":5}";
	assert_int_equal(img_token_parse(oauth, strlen(oauth), &t, &err), 0);
	assert_string_equal(t.token, "xyz");
	assert_string_equal(t.refresh_token, "r1");
	assert_int_equal(t.expires_in, 60); /* raised to the spec's minimum */
	img_token_clear(&t);
	const char *bad[] = { "[]", "{\"token\":\"\"}", "{\"token\":5}", "not json" };
	for (size_t i = 0; i < ARRAY_SIZE(bad); i++) {
		assert_int_equal(img_token_parse(bad[i], strlen(bad[i]), &t, &err), -1);
		assert_int_equal(err->code, BERR_INPUT);
		berr_free(err);
		err = NULL;
	}
}

static char tmpdir[64];

static void write_file(const char *name, const char *content, mode_t mode)
{
	char *p = xasprintf("%s/%s", tmpdir, name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(content, f);
	fclose(f);
	chmod(p, mode);
	free(p);
}

static int setup_tmp(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/berth-regtest.XXXXXX");
	if (!mkdtemp(tmpdir))
		return -1;
	unsetenv("DOCKER_AUTH_CONFIG");
	return 0;
}

static int teardown_tmp(void **state)
{
	(void)state;
	char *cmd = xasprintf("rm -rf '%s'", tmpdir);
	int rc = system(cmd);
	free(cmd);
	return rc == 0 ? 0 : -1;
}

static void test_cred_key(void **state)
{
	(void)state;
	char *k = img_cred_key("docker.io");
	assert_string_equal(k, "https://index.docker.io/v1/");
	free(k);
	k = img_cred_key("localhost:5000");
	assert_string_equal(k, "localhost:5000");
	free(k);
}

static void test_cred_auths(void **state)
{
	(void)state;
	/* "dGVzdGVyOnBhOnNz" = base64("tester:pa:ss"): the password keeps its colon */
	write_file("config.json",
		   "{\"auths\":{\"https://index.docker.io/v1/\":{\"auth\":\"dGVzdGVyOnBhOnNz\"},"
		   "\"https://reg.example:5000/v1/\":{\"username\":\"u2\",\"password\":\"p2\"},"
		   "\"tok.example\":{\"identitytoken\":\"refresh-me\"},"
		   "\"bad.example\":{\"auth\":\"!!!\"}}}",
		   0600);
	struct img_cred c;
	struct berr *err = NULL;
	assert_int_equal(img_cred_lookup(tmpdir, "docker.io", &c, &err), 0);
	assert_string_equal(c.username, "tester");
	assert_string_equal(c.password, "pa:ss");
	img_cred_clear(&c);
	assert_int_equal(img_cred_lookup(tmpdir, "reg.example:5000", &c, &err), 0);
	assert_string_equal(c.username, "u2");
	assert_string_equal(c.password, "p2");
	img_cred_clear(&c);
	assert_int_equal(img_cred_lookup(tmpdir, "tok.example", &c, &err), 0);
	assert_string_equal(c.identity_token, "refresh-me");
	assert_null(c.password);
	img_cred_clear(&c);
	assert_int_equal(img_cred_lookup(tmpdir, "none.example", &c, &err), 0);
	assert_true(img_cred_empty(&c));
	assert_int_equal(img_cred_lookup(tmpdir, "bad.example", &c, &err), -1);
	assert_non_null(strstr(err->msg, "auths['bad.example']"));
	berr_free(err);
	err = NULL;
	img_cred_clear(&c);
	/* DOCKER_AUTH_CONFIG wins */
	setenv("DOCKER_AUTH_CONFIG", "{\"auths\":{\"reg.example:5000\":{\"auth\":\"ZW52OmVudnB3\"}}}", 1);
	assert_int_equal(img_cred_lookup(tmpdir, "reg.example:5000", &c, &err), 0);
	assert_string_equal(c.username, "env");
	assert_string_equal(c.password, "envpw");
	img_cred_clear(&c);
	unsetenv("DOCKER_AUTH_CONFIG");
	/* no config at all */
	char *none = xasprintf("%s/nothere", tmpdir);
	assert_int_equal(img_cred_lookup(none, "docker.io", &c, &err), 0);
	assert_true(img_cred_empty(&c));
	free(none);
	/* broken JSON */
	write_file("config.json", "{\"auths\":", 0600);
	assert_int_equal(img_cred_lookup(tmpdir, "docker.io", &c, &err), -1);
	assert_int_equal(err->code, BERR_INPUT);
	berr_free(err);
}

static void test_cred_helpers(void **state)
{
	(void)state;
	/* a helper that answers for one server, says "not found" for others,
	 * and returns an identity token for a third */
	write_file("docker-credential-berthunit",
		   "#!/bin/sh\n"
		   "[ \"$1\" = get ] || exit 3\n"
		   "read s\n"
		   "case \"$s\" in\n"
		   "  h1.example) echo '{\"ServerURL\":\"h1.example\",\"Username\":\"hu\",\"Secret\":\"hs\"}' ;;\n"
		   "  h2.example) echo '{\"ServerURL\":\"h2.example\",\"Username\":\"<token>\",\"Secret\":\"idt\"}' ;;\n"
		   "  boom.example) echo 'secret-in-output'; exit 4 ;;\n"
		   "  *) echo 'credentials not found in native keychain'; exit 1 ;;\n"
		   "esac\n",
		   0755);
	const char *old = getenv("PATH");
	char *path = xasprintf("%s:%s", tmpdir, old ? old : "/usr/bin:/bin");
	setenv("PATH", path, 1);
	write_file("config.json",
		   "{\"credsStore\":\"berthunit\",\"credHelpers\":{\"h3.example\":\"missinghelper\"},"
		   "\"auths\":{\"h4.example\":{\"auth\":\"YTpi\"}}}",
		   0600);
	struct img_cred c;
	struct berr *err = NULL;
	assert_int_equal(img_cred_lookup(tmpdir, "h1.example", &c, &err), 0);
	assert_string_equal(c.username, "hu");
	assert_string_equal(c.password, "hs");
	img_cred_clear(&c);
	assert_int_equal(img_cred_lookup(tmpdir, "h2.example", &c, &err), 0);
	assert_string_equal(c.identity_token, "idt");
	assert_null(c.username);
	img_cred_clear(&c);
	/* helper has nothing: fall back to auths */
	assert_int_equal(img_cred_lookup(tmpdir, "h4.example", &c, &err), 0);
	assert_string_equal(c.username, "a");
	assert_string_equal(c.password, "b");
	img_cred_clear(&c);
	assert_int_equal(img_cred_lookup(tmpdir, "h3.example", &c, &err), -1);
	assert_non_null(strstr(err->msg, "docker-credential-missinghelper"));
	berr_free(err);
	err = NULL;
	/* a failing helper: its output (may hold secrets) is not quoted */
	assert_int_equal(img_cred_lookup(tmpdir, "boom.example", &c, &err), -1);
	assert_null(strstr(err->msg, "secret-in-output"));
	assert_non_null(strstr(err->msg, "exit status 4"));
	berr_free(err);
	err = NULL;
	assert_int_equal(img_cred_helper_get("../evil", "x", &c, &err), -1);
	berr_free(err);
	setenv("PATH", old ? old : "/usr/bin:/bin", 1);
	free(path);
}

static void test_remote_parse(void **state)
{
	(void)state;
	struct img_remote r;
	struct berr *err = NULL;
	assert_int_equal(img_remote_parse("busybox", &r, &err), 0);
	assert_string_equal(r.domain, "docker.io");
	assert_string_equal(r.host, "registry-1.docker.io");
	assert_string_equal(r.repo, "library/busybox");
	assert_string_equal(r.tag, "latest");
	assert_string_equal(r.full, "docker.io/library/busybox:latest");
	img_remote_clear(&r);
	assert_int_equal(img_remote_parse("localhost:5000/a/b@sha256:"
					  "7cc4b5aefd1d0cadf8d97d4350462ba51c694ebca145b08d7d41b41acc8db5aa",
					  &r, &err), 0);
	assert_string_equal(r.host, "localhost:5000");
	assert_string_equal(r.repo, "a/b");
	assert_null(r.tag);
	assert_non_null(r.digest);
	img_remote_clear(&r);
	assert_int_equal(img_remote_parse("UPPER/x", &r, &err), 0); /* "UPPER" is a domain */
	img_remote_clear(&r);
	assert_int_equal(img_remote_parse("a//b", &r, &err), -1);
	assert_non_null(strstr(err->msg, "a//b"));
	berr_free(err);
}

static struct img_image *fake(const char *os, const char *osver, const char *digest_char, bool docker)
{
	struct img_image *img = xcalloc(1, sizeof(*img));
	img->config = img_config_new();
	img->config->platform.os = xstrdup(os);
	img->config->platform.architecture = xstrdup("amd64");
	if (osver)
		img->config->platform.os_version = xstrdup(osver);
	char hex[65];
	memset(hex, digest_char[0], 64);
	hex[64] = '\0';
	snprintf(img->desc.digest.s, sizeof(img->desc.digest.s), "sha256:%s", hex);
	img->desc.size = 500;
	img->docker_manifest = docker;
	return img;
}

static void test_index_build(void **state)
{
	(void)state;
	struct img_image *a = fake("windows", "10.0.17763.5329", "a", true);
	struct img_image *b = fake("linux", NULL, "b", true);
	struct img_image *c = fake("windows", "10.0.26100.100", "c", true);
	struct img_image *d = fake("windows", "10.0.20348.2227", "d", true);
	const struct img_image *v[] = { a, b, c, d };
	struct img_index *x = NULL;
	struct berr *err = NULL;
	assert_int_equal(img_index_build(v, 4, NULL, &x, &err), 0);
	assert_string_equal(x->media_type, IMG_MT_DOCKER_LIST);
	assert_int_equal(x->n_manifests, 4);
	assert_string_equal(x->manifests[0].platform->os, "linux");
	assert_string_equal(x->manifests[1].platform->os_version, "10.0.26100.100");
	assert_string_equal(x->manifests[2].platform->os_version, "10.0.20348.2227");
	assert_string_equal(x->manifests[3].platform->os_version, "10.0.17763.5329");
	assert_string_equal(x->manifests[3].media_type, IMG_MT_DOCKER_MANIFEST);
	/* amend: a newer 17763 revision replaces the old 17763 entry; an OCI
	 * image makes... the list keeps the Docker type of the amended list */
	struct img_image *e = fake("windows", "10.0.17763.5329", "e", true);
	const struct img_image *v2[] = { e };
	struct img_index *y = NULL;
	assert_int_equal(img_index_build(v2, 1, x, &y, &err), 0);
	assert_int_equal(y->n_manifests, 4);
	assert_string_equal(y->manifests[3].digest.s + 7, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee");
	/* OCI images give an OCI index */
	struct img_image *f = fake("linux", NULL, "f", false);
	const struct img_image *v3[] = { f };
	struct img_index *z = NULL;
	assert_int_equal(img_index_build(v3, 1, NULL, &z, &err), 0);
	assert_string_equal(z->media_type, IMG_MT_OCI_INDEX);
	assert_string_equal(z->manifests[0].media_type, IMG_MT_OCI_MANIFEST);
	/* a config without os is refused */
	free(f->config->platform.os);
	f->config->platform.os = NULL;
	struct img_index *w = NULL;
	assert_int_equal(img_index_build(v3, 1, NULL, &w, &err), -1);
	assert_non_null(strstr(err->msg, "no os/architecture"));
	berr_free(err);
	img_index_free(x);
	img_index_free(y);
	img_index_free(z);
	struct img_image *all[] = { a, b, c, d, e, f };
	for (size_t i = 0; i < ARRAY_SIZE(all); i++) {
		img_config_free(all[i]->config);
		all[i]->config = NULL;
		img_image_free(all[i]);
	}
}

/* A lazy image: a layer absent from the store but with a recorded source.
 * Loading needs IMG_LOAD_LAZY, export refuses it before creating anything,
 * and a fetch from an unreachable registry names the blob and repository
 * and leaves the image lazy. */
static void test_lazy_image(void **state)
{
	(void)state;
	struct berr *err = NULL;
	char *dir = xasprintf("%s/store", tmpdir);
	struct img_store *s = NULL;
	assert_int_equal(img_store_open(dir, IMG_STORE_CREATE, &s, &err), 0);
	struct img_digest ld;
	assert_int_equal(img_digest_parse("sha256:1111111111111111111111111111111111111111111111111111111111111111",
					  "layer", &ld, &err), 0);
	struct img_config *c = img_config_new();
	c->platform.os = xstrdup("linux");
	c->platform.architecture = xstrdup("amd64");
	img_config_add_diff_id(c, &ld);
	struct img_descriptor l = { .media_type = xstrdup(IMG_MT_OCI_LAYER_GZIP), .digest = ld,
				    .size = 100 };
	struct img_descriptor man = { 0 };
	/* no source yet: an absent layer is refused */
	assert_int_equal(img_image_write(s, c, &l, 1, false, NULL, &man, &err), -1);
	berr_free(err);
	err = NULL;
	assert_int_equal(img_store_source_add(s, &ld, "127.0.0.1:1", "base/x", &err), 0);
	assert_int_equal(img_image_write(s, c, &l, 1, false, NULL, &man, &err), 0);
	struct img_image *img = NULL;
	assert_int_equal(img_image_load(s, &man, NULL, &img, &err), -1);
	assert_non_null(strstr(err->msg, "is missing"));
	berr_free(err);
	err = NULL;
	assert_int_equal(img_image_load_flags(s, &man, NULL, IMG_LOAD_LAZY, &img, &err), 0);
	assert_int_equal(img->n_remote, 1);
	char *src = img_image_remote_source(img);
	assert_string_equal(src, "127.0.0.1:1/base/x");
	free(src);
	char *out = xasprintf("%s/out.tar", tmpdir);
	assert_int_equal(img_image_export(img, IMG_SRC_DOCKER_ARCHIVE, out, NULL, 0, &err), -1);
	assert_non_null(strstr(err->msg, "only in a registry"));
	berr_free(err);
	err = NULL;
	assert_int_not_equal(access(out, F_OK), 0);
	struct img_reg_opts o;
	img_reg_opts_init(&o);
	o.max_retries = 0;
	struct img_registry *reg = NULL;
	assert_int_equal(img_registry_new(&o, &reg, &err), 0);
	assert_int_equal(img_image_fetch_remote(reg, img, &err), -1);
	assert_non_null(strstr(err->msg, ld.s));
	assert_non_null(strstr(err->msg, "'127.0.0.1:1/base/x'"));
	assert_int_equal(img->n_remote, 1);
	assert_false(img_store_has_blob(s, &ld));
	berr_free(err);
	err = NULL;
	/* nothing to fetch: no registry needed */
	img->n_remote = 0;
	assert_int_equal(img_image_fetch_remote(NULL, img, &err), 0);
	img_registry_free(reg);
	img_image_free(img);
	img_descriptor_clear(&man);
	img_descriptor_clear(&l);
	img_config_free(c);
	img_store_free(s);
	free(out);
	free(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_challenge_hub),
		cmocka_unit_test(test_challenge_variants),
		cmocka_unit_test(test_challenge_errors),
		cmocka_unit_test(test_scopes),
		cmocka_unit_test(test_token_parse),
		cmocka_unit_test(test_cred_key),
		cmocka_unit_test_setup_teardown(test_cred_auths, setup_tmp, teardown_tmp),
		cmocka_unit_test_setup_teardown(test_cred_helpers, setup_tmp, teardown_tmp),
		cmocka_unit_test(test_remote_parse),
		cmocka_unit_test(test_index_build),
		cmocka_unit_test_setup_teardown(test_lazy_image, setup_tmp, teardown_tmp),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
