/* Registry flags shared by pull, push, manifest, build and save (cli/ only). */
#ifndef BERTH_CLI_REG_OPTS_H
#define BERTH_CLI_REG_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include "common/berr.h"
#include "common/cleanup.h"
#include "image/img_registry.h"

/* getopt_long codes for the shared options (beyond any short option) */
enum {
	REGOPT_TLS_VERIFY = 0x1000,
	REGOPT_INSECURE,
	REGOPT_CERT_DIR,
	REGOPT_USERNAME,
	REGOPT_PASSWORD_STDIN,
	REGOPT_RETRIES,
	REGOPT_CHUNK_SIZE,
	REGOPT_BAD_VALUE,       /* cli_reg_getopt: a shared option's value is bad */
};

#define REG_LONG_OPTIONS                                                      \
	{ "tls-verify", optional_argument, NULL, REGOPT_TLS_VERIFY },         \
	{ "insecure-registry", required_argument, NULL, REGOPT_INSECURE },    \
	{ "cert-dir", required_argument, NULL, REGOPT_CERT_DIR },             \
	{ "username", required_argument, NULL, REGOPT_USERNAME },             \
	{ "password-stdin", no_argument, NULL, REGOPT_PASSWORD_STDIN },       \
	{ "retries", required_argument, NULL, REGOPT_RETRIES }

#define REG_OPTIONS_HELP                                                                  \
	"      --tls-verify[=BOOL]       verify TLS certificates (default true)\n"              \
	"      --insecure-registry HOST  allow plain HTTP to HOST[:PORT] (repeatable;\n"        \
	"                                loopback registries are always allowed)\n"             \
	"      --cert-dir DIR            extra CA certificates (DIR/*.crt)\n"                   \
	"  -u, --username USER           user name for the image's registry\n"                 \
	"      --password-stdin          read that user's password from stdin\n"               \
	"      --retries N               retries on 429/5xx/network errors (default 4)\n"

struct cli_reg {
	struct img_reg_opts o;
	const char **insecure;
	size_t n_insecure;
	const char *username;
	bool password_stdin;
	char *password;
	bool quiet;
	bool to_stderr;  /* progress lines on stderr (build), else stdout */
};

/* getopt_long that handles the shared options itself: returns the next
 * option that is the command's own (as getopt_long does, '?' included), -1
 * after the last option, or REGOPT_BAD_VALUE when a shared option's value is
 * bad (message in *err). */
int cli_reg_getopt(struct cli_reg *c, int argc, char **argv, const char *shortopts,
		   const struct option *longopts, struct berr **err);
/* cli_reg_clear() at the end of the scope (clearing twice is harmless) */
#define _cleanup_cli_reg_ _cleanup_(cli_reg_clear)

void cli_reg_init(struct cli_reg *c);
/* Handle one shared option; returns 1 if handled, 0 if not ours, -1 on a
 * bad value (message in *err). */
int cli_reg_option(struct cli_reg *c, int opt, const char *arg, struct berr **err);
/* Finish: read the password, bind credentials to `ref`'s registry, install
 * the progress printer, create the client. */
int cli_reg_client(struct cli_reg *c, const char *ref, struct img_registry **out, struct berr **err);
void cli_reg_clear(struct cli_reg *c);
/* A lazy image (img->n_remote > 0, loaded with IMG_LOAD_LAZY): fetch its
 * layers from their recorded registries into its store with a client made
 * from c (img_image_fetch_remote); "fetching N lazy layers" on stderr
 * unless c->quiet. A no-op for a complete image. spec names the image. */
int cli_reg_fetch_lazy(struct cli_reg *c, const char *spec, struct img_image *img, struct berr **err);

#endif
