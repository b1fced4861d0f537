/* OCI distribution client (libcurl): pull, lazy pull, push, manifest lists.
 * Owner: image/ (registry).
 *
 * A struct img_registry holds the options, one curl handle (connections are
 * reused), the credentials found per registry and the bearer tokens cached
 * per (registry, scope set). It is not thread-safe.
 *
 * Transport: HTTPS with the system CAs (plus *.crt of --cert-dir); plain
 * HTTP for hosts in insecure_hosts and for loopback registries (localhost,
 * 127.0.0.0/8, ::1), as dockerd allows; tls_verify=false skips certificate
 * checks. Auth: anonymous first; a 401 challenge selects Basic (credentials
 * sent directly) or Bearer (token from the realm, OAuth2 POST when an
 * identity token is known, else GET with Basic credentials; cached per
 * scope, refreshed on 401). 429/5xx and transport errors are retried with
 * exponential backoff (Retry-After honoured, capped), at most max_retries
 * times. Redirects are followed by hand: Authorization is only sent to the
 * registry host itself. Credentials and tokens never appear in errors or in
 * progress messages.
 *
 * Blobs are streamed into the content store while being hashed; a digest
 * or size mismatch fails with BERR_INTEGRITY and nothing is stored. An
 * interrupted download resumes with a Range request. Each fetched blob
 * records where it came from ($STORE/berth-sources/HEX: "domain/repo"
 * lines) so that a push to the same registry can mount it instead of
 * uploading it, and so that lazy images can fetch layers later. */
#ifndef BERTH_IMG_REGISTRY_H
#define BERTH_IMG_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"
#include "common/buf.h"
#include "image/img_archive.h"
#include "image/img_model.h"
#include "image/img_store.h"

#define IMG_REG_DEFAULT_RETRIES 4
#define IMG_REG_DEFAULT_PARALLEL 3   /* as dockerd's max-concurrent-downloads */
#define IMG_REG_MAX_PARALLEL 16
#define IMG_REG_DEFAULT_BACKOFF_MS 250
#define IMG_REG_MAX_BACKOFF_MS 10000
#define IMG_REG_MAX_REDIRECTS 5
#define IMG_REG_DEFAULT_STALL_TIMEOUT_S 60u
/* Error bodies kept for messages */
#define IMG_REG_ERRBODY_MAX (64u << 10)

enum img_reg_event {
	IMG_REG_EV_BLOB_EXISTS,    /* push: HEAD found it */
	IMG_REG_EV_BLOB_MOUNTED,   /* push: cross-repository mount */
	IMG_REG_EV_BLOB_PUSHED,    /* push: uploaded (detail: the source "domain/repo"
				    * when copied registry-to-registry, else NULL) */
	IMG_REG_EV_BLOB_SKIPPED,   /* push: foreign layer, not pushed */
	IMG_REG_EV_BLOB_FETCHED,   /* pull: downloaded */
	IMG_REG_EV_BLOB_PRESENT,   /* pull: already in the store */
	IMG_REG_EV_BLOB_FOREIGN,   /* pull: foreign layer, not downloaded */
	IMG_REG_EV_MANIFEST_PUSHED,
	IMG_REG_EV_RETRY,          /* a request is retried (detail: status) */
	IMG_REG_EV_WARNING,        /* a registry Warning header (detail: text) */
};

struct img_reg_opts {
	bool tls_verify;                 /* default true */
	const char *const *insecure_hosts; /* "host[:port]" allowed over plain HTTP */
	size_t n_insecure;
	const char *cert_dir;            /* *.crt files used as extra CAs; NULL: none */
	/* Explicit credentials (--username/--password-stdin) for cred_domain
	 * ("docker.io", "localhost:5000"); other registries use config.json. */
	const char *cred_domain;
	const char *username;
	const char *password;
	const char *docker_config;       /* directory; NULL: $DOCKER_CONFIG or ~/.docker */
	unsigned max_retries;
	unsigned backoff_ms;             /* first retry delay, doubled each time */
	uint64_t chunk_size;             /* >0: chunked uploads of this size */
	unsigned parallel;               /* layer downloads at once; 0: IMG_REG_DEFAULT_PARALLEL */
	/* a transfer (response included) that moves no byte for this long
	 * fails: a stalled registry is an error, never a hang */
	unsigned stall_timeout_s;        /* default IMG_REG_DEFAULT_STALL_TIMEOUT_S */
	void (*event)(void *ctx, enum img_reg_event ev, const char *what, const char *detail);
	void *event_ctx;
};
void img_reg_opts_init(struct img_reg_opts *o);

struct img_registry;
int img_registry_new(const struct img_reg_opts *o, struct img_registry **out, struct berr **err);
void img_registry_free(struct img_registry *r);
static inline void img_registry_freep(struct img_registry **p) { img_registry_free(*p); }
#define _cleanup_img_registry_ __attribute__((cleanup(img_registry_freep)))

/* A reference split for the distribution API. domain is the name used for
 * credentials ("docker.io"), host the API endpoint ("registry-1.docker.io"). */
struct img_remote {
	char *domain;
	char *host;
	char *repo;     /* "library/busybox" */
	char *tag;      /* NULL when a digest is given */
	char *digest;
	char *full;     /* normalized "docker.io/library/busybox:latest" */
};
int img_remote_parse(const char *ref, struct img_remote *out, struct berr **err);
void img_remote_clear(struct img_remote *r);

/* GET /v2/ (authenticating if challenged). */
int img_registry_ping(struct img_registry *r, const char *domain, struct berr **err);

/* GET a manifest or index by tag or digest (`what` NULL: the remote's own
 * tag/digest). Verifies the bytes against a requested digest. Fills
 * *desc (media type from the response / document, digest, size). */
int img_registry_get_manifest(struct img_registry *r, const struct img_remote *rem,
			      const char *what, struct bbuf *out, struct img_descriptor *desc,
			      struct berr **err);

/* HEAD a blob in a repository: 1 present, 0 absent, -1 error. */
int img_registry_blob_exists(struct img_registry *r, const struct img_remote *rem,
			     const struct img_digest *d, struct berr **err);

/* Stream a blob into the store (verified; no-op when present). */
int img_registry_fetch_blob(struct img_registry *r, const struct img_remote *rem,
			    struct img_store *s, const struct img_descriptor *d, struct berr **err);

enum img_pull_mode {
	IMG_PULL_FULL = 0,  /* index, manifest, config and every distributable layer */
	IMG_PULL_LAZY,      /* index, manifest and config only */
};
/* Resolve ref (+platform: NULL = the only entry or the host's) and store
 * what the mode asks for. *out is a resolved image on `s` (not owned);
 * with IMG_PULL_LAZY its layers may be missing from the store: use
 * img_registry_fetch_layers before reading them. The caller tags it.
 * Platform rules are those of img_image_load (windows: os.version with the
 * same major.minor.build wins, highest revision first). */
int img_registry_pull(struct img_registry *r, const char *ref, const struct img_platform *want,
		      struct img_store *s, enum img_pull_mode mode, struct img_image **out,
		      struct berr **err);

/* Fetch the missing distributable layers of img (n_layers < 0: all; else
 * the first n), from the repositories recorded for each blob. */
int img_registry_fetch_layers(struct img_registry *r, struct img_image *img, long n_layers,
			      struct berr **err);

/* Make a lazy image (img_image_load_flags with IMG_LOAD_LAZY) complete:
 * every layer missing from img->store is fetched from the registry
 * repositories recorded for it (in parallel, digest and size verified
 * while streamed, each blob renamed into the store only when whole), then
 * img->n_remote is 0. A no-op when img->n_remote is 0. The one fetch used
 * by build --output, berth save and anything else that needs the bytes.
 * Errors name the layer, its digest and the repository tried. */
int img_image_fetch_remote(struct img_registry *r, struct img_image *img, struct berr **err);
/* The first recorded "domain/repo" of a layer of img that is not in its
 * store (where img_image_fetch_remote will fetch from), or NULL when none;
 * caller frees. Lets the CLI bind --username to that registry. */
char *img_image_remote_source(struct img_image *img);

/* Fetch the missing distributable blobs of descs (in parallel) from the
 * repositories recorded for each in s. */
int img_registry_fetch_blobs(struct img_registry *r, struct img_store *s,
			     const struct img_descriptor *descs, size_t n, struct berr **err);

/* Source records: "domain/repo" strings a blob was seen in. */
int img_store_source_add(struct img_store *s, const struct img_digest *d, const char *domain,
			 const char *repo, struct berr **err);
/* NULL-terminated list (caller frees each and the array); empty when none. */
char **img_store_sources(struct img_store *s, const struct img_digest *d);
/* Whether any source is recorded for d (a lazy, remote-backed blob when
 * the store lacks it). */
bool img_store_has_source(struct img_store *s, const struct img_digest *d);

/* Push one blob: HEAD, then mount from a recorded source repository on
 * the same registry, else upload (monolithic, or chunked when
 * opts.chunk_size > 0) from the store. A blob missing from the store is
 * fetched from its recorded source first (lazy images). Foreign layers
 * (non-distributable, with urls) are skipped. */
int img_registry_push_blob(struct img_registry *r, const struct img_remote *rem,
			   struct img_store *s, const struct img_descriptor *d, struct berr **err);

/* PUT bytes as a manifest under `what` (tag or digest) with Content-Type
 * media_type. */
int img_registry_put_manifest(struct img_registry *r, const struct img_remote *rem,
			      const char *what, const char *media_type, const void *p, size_t n,
			      struct berr **err);

/* Push a manifest or index from the store (children and blobs first), then
 * tag it with rem's tag (or put it by digest). */
int img_registry_push(struct img_registry *r, struct img_store *s, const struct img_descriptor *desc,
		      const struct img_remote *rem, struct berr **err);

/* ---- manifest lists ----
 * Build an index over image manifests: each entry gets platform os,
 * architecture, variant, os.version and os.features from the image's
 * config. Ordering: non-Windows entries first (input order), then Windows
 * entries by descending os.version (numeric), so that pickers that take
 * the first compatible entry (Docker's graphdriver puller) and pickers that
 * prefer the highest os.version (containerd) agree. Entries with the same
 * platform and os.version: the later one replaces the earlier. */
int img_index_build(const struct img_image *const *imgs, size_t n, const struct img_index *amend,
		    struct img_index **out, struct berr **err);

#endif
