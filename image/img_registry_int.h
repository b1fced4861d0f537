/* Internals shared by img_registry.c (transport, auth) and img_regops.c
 * (pull, push, indexes). Owner: image/ (registry). Not a public API. */
#ifndef BERTH_IMG_REGISTRY_INT_H
#define BERTH_IMG_REGISTRY_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "common/buf.h"
#include "common/sink.h"
#include "image/img_regauth.h"
#include "image/img_registry.h"

enum reg_auth { REG_AUTH_UNKNOWN = 0, REG_AUTH_NONE, REG_AUTH_BASIC, REG_AUTH_BEARER };

struct reg_host {
	char *host;      /* API host[:port] */
	char *domain;    /* reference domain (credentials key) */
	char *base;      /* "https://host" once contacted */
	enum reg_auth auth;
	char *realm, *service;
	struct img_cred cred;
	bool cred_loaded;
};

struct reg_token {
	char *key;       /* host|realm|service|scopes */
	char *token;
	time_t expires;  /* CLOCK_MONOTONIC seconds */
};

struct img_registry {
	struct img_reg_opts o;   /* strings owned (copied) */
	void *curl;
	struct bbuf ca;          /* system CAs + cert_dir *.crt, or empty */
	struct reg_host **hosts;     /* pointers: handed-out hosts stay valid */
	size_t n_hosts;
	struct reg_token *toks;
	size_t n_toks;
};

struct reg_resp {
	long status;
	int curl_code;
	char *location, *content_type, *digest, *range, *retry_after, *content_range;
	int64_t content_length;  /* -1 when absent */
	char **www;              /* WWW-Authenticate values */
	size_t n_www;
	struct bbuf errbody;     /* bounded body of non-2xx responses */
};

/* A one-shot request body read from a pipe (registry-to-registry copies):
 * `left` bytes, hashed as they go out and checked against `want` before
 * the last byte is handed to curl. Never replayed: once a byte was read,
 * reg_do does not retry. */
struct reg_stream {
	int fd;
	uint64_t left;
	struct img_hasher *h;
	const struct img_digest *want;
	bool started;
};

struct reg_req {
	const char *method;
	const char *url;
	const char *const *headers;  /* extra "Name: value" lines */
	size_t n_headers;
	struct img_scopes *scopes;   /* token scopes; may grow from a challenge */
	bool no_verify;
	/* body: memory, or a region of a store blob (re-read on every attempt;
	 * a region ending at the blob's end is digest-verified) */
	const void *body;
	uint64_t body_len;
	struct img_store *body_store;
	const struct img_descriptor *body_desc;
	uint64_t body_off;
	struct reg_stream *stream;   /* or a streamed body (body_len = its size) */
	/* 2xx response body goes to out, else to sink */
	struct bbuf *out;
	const struct bsink *sink;
	/* called once, before the first body byte of a 2xx response */
	int (*on_2xx)(void *ctx, struct reg_resp *rs, struct berr **err);
	void *ctx;
	/* sink requests are retried only when they can resume: Range from here */
	const int64_t *resume_from;
};

void reg_resp_clear(struct reg_resp *rs);
/* A client for another thread: same options, hosts (scheme, auth,
 * credentials) and cached tokens, its own connection. */
int reg_clone(struct img_registry *r, struct img_registry **out, struct berr **err);
void reg_event(struct img_registry *r, enum img_reg_event ev, const char *what, const char *detail);
char *reg_resolve_url(const char *base, const char *loc);
char *reg_error_text(const struct reg_resp *rs);
int reg_host_open(struct img_registry *r, const struct img_remote *rem, struct reg_host **out,
		  struct berr **err);
int reg_do(struct img_registry *r, struct reg_host *h, struct reg_req *q, struct reg_resp *rs,
	   struct berr **err);
int reg_status_error(const struct reg_resp *rs, const char *what, const struct img_remote *rem,
		     struct berr **err);

#endif
