/* Registry flags shared by pull, push, manifest, build and save. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/reg_opts.h"
#include "common/common.h"
#include "image/img_registry.h"

#define CLI_PASSWORD_MAX 4096

void cli_reg_init(struct cli_reg *c)
{
	memset(c, 0, sizeof(*c));
	img_reg_opts_init(&c->o);
	/* BERTH_REGISTRY_TIMEOUT=N: seconds without data before a transfer
	 * fails as stalled (default 60); values outside 1..86400 are ignored */
	const char *t = getenv("BERTH_REGISTRY_TIMEOUT");
	if (t && *t) {
		char *end;
		errno = 0;
		unsigned long v = strtoul(t, &end, 10);
		if (!errno && !*end && v >= 1 && v <= 86400)
			c->o.stall_timeout_s = (unsigned)v;
	}
}

void cli_reg_clear(struct cli_reg *c)
{
	free(c->insecure);
	c->insecure = NULL;
	c->n_insecure = 0;
	c->o.insecure_hosts = NULL;
	c->o.n_insecure = 0;
	if (c->password) {
		explicit_bzero(c->password, strlen(c->password));
		free(c->password);
		c->password = NULL;
		c->o.password = NULL;
	}
	free((char *)c->o.cred_domain);
	c->o.cred_domain = NULL;
}

static int parse_bool(const char *s, bool *out)
{
	if (!s || !strcmp(s, "true") || !strcmp(s, "1")) {
		*out = true;
		return 0;
	}
	if (!strcmp(s, "false") || !strcmp(s, "0")) {
		*out = false;
		return 0;
	}
	return -1;
}

int cli_reg_option(struct cli_reg *c, int opt, const char *arg, struct berr **err)
{
	char *end;
	switch (opt) {
	case REGOPT_TLS_VERIFY:
		if (parse_bool(arg, &c->o.tls_verify) < 0)
			return berr_set(err, BERR_USAGE, "--tls-verify: '%s' is not true or false", arg);
		return 1;
	case REGOPT_INSECURE:
		c->insecure = xreallocarray(c->insecure, c->n_insecure + 1, sizeof(*c->insecure));
		c->insecure[c->n_insecure++] = arg;
		return 1;
	case REGOPT_CERT_DIR:
		c->o.cert_dir = arg;
		return 1;
	case 'u':
	case REGOPT_USERNAME:
		c->username = arg;
		return 1;
	case REGOPT_PASSWORD_STDIN:
		c->password_stdin = true;
		return 1;
	case REGOPT_RETRIES: {
		errno = 0;
		unsigned long v = strtoul(arg, &end, 10);
		if (errno || end == arg || *end || v > 16)
			return berr_set(err, BERR_USAGE, "--retries: '%s' is not a number from 0 to 16", arg);
		c->o.max_retries = (unsigned)v;
		return 1;
	}
	case REGOPT_CHUNK_SIZE: {
		errno = 0;
		unsigned long long v = strtoull(arg, &end, 10);
		if (errno || end == arg || v == 0)
			return berr_set(err, BERR_USAGE, "--chunk-size: '%s' is not a positive size", arg);
		if (*end == 'k' || *end == 'K')
			v <<= 10, end++;
		else if (*end == 'm' || *end == 'M')
			v <<= 20, end++;
		if (*end)
			return berr_set(err, BERR_USAGE, "--chunk-size: '%s' is not a positive size", arg);
		c->o.chunk_size = v;
		return 1;
	}
	default:
		return 0;
	}
}

int cli_reg_getopt(struct cli_reg *c, int argc, char **argv, const char *shortopts,
		   const struct option *longopts, struct berr **err)
{
	int opt;
	while ((opt = getopt_long(argc, argv, shortopts, longopts, NULL)) != -1) {
		int h = cli_reg_option(c, opt, optarg, err);
		if (h < 0)
			return REGOPT_BAD_VALUE;
		if (!h)
			return opt;
	}
	return -1;
}

static void short_digest(const char *d, char out[13])
{
	const char *h = strchr(d, ':');
	h = h ? h + 1 : d;
	snprintf(out, 13, "%s", h);
}

static void print_event(void *ctx, enum img_reg_event ev, const char *what, const char *detail)
{
	const struct cli_reg *c = ctx;
	char id[13];
	if (ev == IMG_REG_EV_WARNING) {
		fprintf(stderr, "berth: warning: registry: %s\n", detail ? detail : "");
		return;
	}
	if (ev == IMG_REG_EV_RETRY) {
		fprintf(stderr, "berth: retrying after %s\n", detail ? detail : "an error");
		fflush(stderr);
		return;
	}
	if (c->quiet)
		return;
	FILE *f = c->to_stderr ? stderr : stdout;
	short_digest(what ? what : "", id);
	switch (ev) {
	case IMG_REG_EV_BLOB_EXISTS: fprintf(f, "%s: Layer already exists\n", id); break;
	case IMG_REG_EV_BLOB_MOUNTED: fprintf(f, "%s: Mounted from %s\n", id, detail); break;
	case IMG_REG_EV_BLOB_PUSHED:
		if (detail)
			fprintf(f, "%s: Pushed (streamed from %s)\n", id, detail);
		else
			fprintf(f, "%s: Pushed\n", id);
		break;
	case IMG_REG_EV_BLOB_SKIPPED: fprintf(f, "%s: Skipped foreign layer\n", id); break;
	case IMG_REG_EV_BLOB_FETCHED: fprintf(f, "%s: Pull complete\n", id); break;
	case IMG_REG_EV_BLOB_PRESENT: fprintf(f, "%s: Already exists\n", id); break;
	case IMG_REG_EV_BLOB_FOREIGN: fprintf(f, "%s: Foreign layer, not downloaded\n", id); break;
	default: break;
	}
	fflush(f);
}

int cli_reg_client(struct cli_reg *c, const char *ref, struct img_registry **out, struct berr **err)
{
	if (c->password_stdin && !c->username)
		return berr_set(err, BERR_USAGE, "--password-stdin requires --username");
	if (c->password_stdin) {
		if (isatty(0))
			return berr_set(err, BERR_USAGE, "--password-stdin: stdin is a terminal");
		struct bbuf b = BBUF_INIT;
		if (bfd_read_all(0, "stdin", CLI_PASSWORD_MAX, &b, err) < 0)
			return -1;
		while (b.len && (b.data[b.len - 1] == '\n' || b.data[b.len - 1] == '\r'))
			b.data[--b.len] = '\0';
		c->password = bbuf_detach(&b, NULL);
		if (!*c->password)
			return berr_set(err, BERR_USAGE, "--password-stdin: empty password");
	}
	if (c->username) {
		struct img_remote rem;
		if (img_remote_parse(ref, &rem, err) < 0)
			return -1;
		c->o.cred_domain = xstrdup(rem.domain);
		img_remote_clear(&rem);
		c->o.username = c->username;
		c->o.password = c->password;
	}
	c->o.insecure_hosts = c->insecure;
	c->o.n_insecure = c->n_insecure;
	c->o.event = print_event;
	c->o.event_ctx = c;
	return img_registry_new(&c->o, out, err);
}

int cli_reg_fetch_lazy(struct cli_reg *c, const char *spec, struct img_image *img, struct berr **err)
{
	if (!img->n_remote)
		return 0;
	_cleanup_free_ char *from = img_image_remote_source(img);
	_cleanup_img_registry_ struct img_registry *reg = NULL;
	/* --username binds to the registry of the first lazy layer */
	if (cli_reg_client(c, from ? from : "localhost/berth-lazy", &reg, err) < 0)
		return -1;
	if (!c->quiet) {
		fprintf(stderr, "fetching %zu lazy layer%s of %s from %s\n", img->n_remote,
			img->n_remote == 1 ? "" : "s", spec, from ? from : "its registry");
		fflush(stderr);
	}
	return img_image_fetch_remote(reg, img, err);
}
