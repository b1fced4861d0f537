/* Registry authentication pieces that need no network: WWW-Authenticate
 * parsing (RFC 7235 challenges), token scopes, token responses, and Docker
 * credentials (config.json auths, credsStore, credHelpers via
 * docker-credential-<helper> processes). Owner: image/ (registry).
 *
 * Secrets (passwords, identity tokens, bearer tokens) live only in these
 * structs and in request headers; no function puts them in an error
 * message. Every struct owns its strings; *_clear/_free accept NULL. */
#ifndef BERTH_IMG_REGAUTH_H
#define BERTH_IMG_REGAUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"

/* Limits on what a server may send us. */
#define IMG_AUTH_HEADER_MAX 8192
#define IMG_AUTH_MAX_CHALLENGES 16
#define IMG_AUTH_MAX_PARAMS 32

struct img_auth_param {
	char *name;   /* lowercased */
	char *value;  /* unquoted, escapes removed */
};

struct img_auth_challenge {
	char *scheme;  /* lowercased: "basic", "bearer" */
	char *token68; /* when the challenge carries a token68 instead of params */
	struct img_auth_param *params;
	size_t n_params;
};

struct img_auth_challenges {
	struct img_auth_challenge *v;
	size_t n;
};

/* Parse one WWW-Authenticate header value, appending to out (call once per
 * header line). Malformed input is BERR_INPUT naming the offset. */
int img_auth_parse(const char *header, struct img_auth_challenges *out, struct berr **err);
void img_auth_challenges_clear(struct img_auth_challenges *c);
/* First challenge of that scheme (case-insensitive), or NULL. */
const struct img_auth_challenge *img_auth_find(const struct img_auth_challenges *c,
					       const char *scheme);
/* Parameter value (name case-insensitive) or NULL. */
const char *img_auth_param(const struct img_auth_challenge *ch, const char *name);

/* A set of token scopes ("repository:a/b:pull,push"), kept sorted and
 * merged per resource: adding "repository:x:push" to "repository:x:pull"
 * gives "repository:x:pull,push". */
struct img_scopes {
	char **v;
	size_t n;
};
/* Adds every space-separated scope of s. Malformed scopes are kept as-is. */
void img_scopes_add(struct img_scopes *s, const char *scopes);
void img_scopes_add_repo(struct img_scopes *s, const char *repo, const char *actions);
void img_scopes_clear(struct img_scopes *s);
/* Space-joined, deterministic (cache key, OAuth form); caller frees. */
char *img_scopes_join(const struct img_scopes *s);
/* true when every scope of `need` is covered by `have` */
bool img_scopes_cover(const struct img_scopes *have, const struct img_scopes *need);

/* Token endpoint response: {"token"|"access_token", "expires_in",
 * "issued_at", "refresh_token"}. expires_in defaults to 60 s (spec) and is
 * raised to that minimum. */
struct img_token {
	char *token;
	char *refresh_token;
	int64_t expires_in;
};
int img_token_parse(const char *json, size_t len, struct img_token *out, struct berr **err);
void img_token_clear(struct img_token *t);

/* --- credentials --- */
struct img_cred {
	char *username;
	char *password;
	char *identity_token;  /* refresh token for the OAuth2 POST flow */
	char *registry_token;  /* bearer token to send as is */
};
void img_cred_clear(struct img_cred *c);
bool img_cred_empty(const struct img_cred *c);

/* Key under which Docker stores credentials for a registry domain:
 * "https://index.docker.io/v1/" for Docker Hub, else the host[:port].
 * Caller frees. */
char *img_cred_key(const char *domain);

/* Look credentials up for `domain` ("docker.io", "localhost:5000") the way
 * the docker CLI does: DOCKER_AUTH_CONFIG, then config.json in `config_dir`
 * (NULL: $DOCKER_CONFIG, else ~/.docker): credHelpers[key] -> credsStore ->
 * auths[key] (keys compared after stripping scheme and path). Nothing
 * found: returns 0 with *out empty. A broken config.json or a failing
 * helper is an error (the helper's output is not quoted: it may carry
 * secrets). */
int img_cred_lookup(const char *config_dir, const char *domain, struct img_cred *out,
		    struct berr **err);

/* Run `docker-credential-<helper> get` with `server` on stdin. */
int img_cred_helper_get(const char *helper, const char *server, struct img_cred *out,
			struct berr **err);

#endif
