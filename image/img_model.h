/* OCI / Docker image model: descriptors, platform, config, manifest, index.
 * Owner: image/ (imgstore).
 *
 * Parsers take raw JSON bytes and fill plain structs; unknown fields are
 * ignored (the spec requires it), wrong types and out-of-range integers are
 * errors naming the object and field ("manifest: layers[1].size: ...").
 * Serializers write a fixed key order (the order of the Go structs in
 * image-spec / docker-image-spec) with cJSON, unformatted; integers are
 * written as exact decimal text. Serialize once, hash those bytes, store
 * those bytes: never re-serialize an object whose digest is already known.
 *
 * All strings are owned by their struct; *_free functions accept NULL.
 * Optional strings are NULL when absent. */
#ifndef BERTH_IMG_MODEL_H
#define BERTH_IMG_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"
#include "common/buf.h"
#include "image/img_digest.h"

#define IMG_MT_OCI_INDEX     "application/vnd.oci.image.index.v1+json"
#define IMG_MT_OCI_MANIFEST  "application/vnd.oci.image.manifest.v1+json"
#define IMG_MT_OCI_CONFIG    "application/vnd.oci.image.config.v1+json"
#define IMG_MT_OCI_EMPTY     "application/vnd.oci.empty.v1+json"
#define IMG_MT_DOCKER_LIST     "application/vnd.docker.distribution.manifest.list.v2+json"
#define IMG_MT_DOCKER_MANIFEST "application/vnd.docker.distribution.manifest.v2+json"
#define IMG_MT_DOCKER_CONFIG   "application/vnd.docker.container.image.v1+json"

#define IMG_ANN_REF_NAME    "org.opencontainers.image.ref.name"
#define IMG_ANN_CREATED     "org.opencontainers.image.created"
#define IMG_ANN_BASE_NAME   "org.opencontainers.image.base.name"
#define IMG_ANN_BASE_DIGEST "org.opencontainers.image.base.digest"
#define IMG_ANN_CONTAINERD_NAME "io.containerd.image.name"

/* Largest JSON document (manifest, config, index) we load into memory. */
#define IMG_JSON_MAX (16u << 20)
/* Integers from JSON must be below this: doubles stop being exact at 2^53,
 * so 2^53 itself may be a rounded larger number. */
#define IMG_JSON_INT_MAX ((int64_t)1 << 53)

/* Ordered string list; `set` distinguishes absent from empty ([]). */
struct img_strlist {
	char **v;
	size_t n;
	bool set;
};
/* String map kept sorted by key (output is sorted, so deterministic). */
struct img_kv {
	char *key, *value;
};
struct img_kvmap {
	struct img_kv *v;
	size_t n;
	bool set;
};

void img_strlist_add(struct img_strlist *l, const char *s);
void img_strlist_clear(struct img_strlist *l);
void img_strlist_copy(struct img_strlist *dst, const struct img_strlist *src);
/* set (replace) a key; value copied */
void img_kvmap_set(struct img_kvmap *m, const char *key, const char *value);
const char *img_kvmap_get(const struct img_kvmap *m, const char *key);
bool img_kvmap_del(struct img_kvmap *m, const char *key);
void img_kvmap_clear(struct img_kvmap *m);
void img_kvmap_copy(struct img_kvmap *dst, const struct img_kvmap *src);

struct img_platform {
	char *architecture;
	char *os;
	char *os_version;             /* "os.version" */
	struct img_strlist os_features; /* "os.features" */
	char *variant;
};
void img_platform_clear(struct img_platform *p);
void img_platform_copy(struct img_platform *dst, const struct img_platform *src);
/* "os/arch[/variant]", or containerd's "windows(10.0.17763)/amd64" with an
 * os.version -> platform; error names the flag value. */
int img_platform_parse(const char *s, struct img_platform *out, struct berr **err);
/* "linux/amd64", "linux/arm/v7" (os.version not included); caller frees */
char *img_platform_format(const struct img_platform *p);

struct img_descriptor {
	char *media_type;
	struct img_digest digest;
	int64_t size;
	struct img_strlist urls;        /* kept exactly as loaded (foreign layers) */
	struct img_kvmap annotations;
	char *data;                     /* base64, optional */
	struct img_platform *platform;  /* only in indexes; NULL when absent */
	char *artifact_type;
};
void img_descriptor_clear(struct img_descriptor *d);
void img_descriptor_copy(struct img_descriptor *dst, const struct img_descriptor *src);
/* every field the same, as they would be serialized */
bool img_descriptor_equal(const struct img_descriptor *a, const struct img_descriptor *b);
/* true for Docker foreign and OCI non-distributable layer media types */
bool img_descriptor_is_foreign(const struct img_descriptor *d);

struct img_healthcheck {
	struct img_strlist test;
	int64_t interval, timeout, start_period, start_interval; /* ns, 0 = inherit */
	int64_t retries;
};

/* The "config" object of an image config (container run defaults). */
struct img_runconfig {
	char *user;
	struct img_strlist exposed_ports; /* keys of the ExposedPorts object */
	struct img_strlist env;
	struct img_strlist entrypoint;
	struct img_strlist cmd;
	struct img_strlist volumes;       /* keys of the Volumes object */
	char *working_dir;
	struct img_kvmap labels;
	char *stop_signal;
	bool args_escaped;
	struct img_healthcheck *healthcheck; /* NULL when absent */
	struct img_strlist onbuild;
	struct img_strlist shell;
};

struct img_history {
	char *created, *created_by, *author, *comment;
	bool empty_layer;
};

struct img_config {
	char *created;                 /* RFC 3339 */
	char *author;
	struct img_platform platform;  /* architecture, os, os.version, os.features, variant */
	bool has_config;
	struct img_runconfig config;
	struct img_digest *diff_ids;   /* rootfs.diff_ids */
	size_t n_diff_ids;
	struct img_history *history;
	size_t n_history;
};

struct img_manifest {
	char *media_type;              /* OCI or Docker manifest type; NULL when absent */
	char *artifact_type;
	struct img_descriptor config;
	struct img_descriptor *layers;
	size_t n_layers;
	struct img_descriptor *subject; /* NULL when absent */
	struct img_kvmap annotations;
};

struct img_index {
	char *media_type;              /* NULL when absent (allowed in index.json) */
	char *artifact_type;
	struct img_descriptor *manifests;
	size_t n_manifests;
	struct img_descriptor *subject;
	struct img_kvmap annotations;
};

/* Parse. `what` names the object in errors ("config 'sha256:...'"); may be NULL. */
int img_config_parse(const char *json, size_t len, const char *what, struct img_config **out,
		     struct berr **err);
int img_manifest_parse(const char *json, size_t len, const char *what, struct img_manifest **out,
		       struct berr **err);
int img_index_parse(const char *json, size_t len, const char *what, struct img_index **out,
		    struct berr **err);
/* The checks every loader applies, for JSON read with cJSON directly
 * (docker-archive manifest.json): size cap, well-formed UTF-8, syntax, no
 * duplicate keys (parsers that keep the first and the last would see
 * different documents). */
int img_json_validate(const char *json, size_t len, const char *what, struct berr **err);
/* Which kind a JSON document is by its mediaType (or shape when absent):
 * returns IMG_MT_* string constant or NULL. */
const char *img_json_kind(const char *json, size_t len);

/* Serialize (appends to out, unformatted, fixed key order). */
int img_config_to_json(const struct img_config *c, struct bbuf *out, struct berr **err);
int img_manifest_to_json(const struct img_manifest *m, struct bbuf *out, struct berr **err);
int img_index_to_json(const struct img_index *x, struct bbuf *out, struct berr **err);

struct img_config *img_config_new(void);
struct img_manifest *img_manifest_new(void);
struct img_index *img_index_new(void);
void img_config_free(struct img_config *c);
void img_manifest_free(struct img_manifest *m);
void img_index_free(struct img_index *x);

void img_config_add_diff_id(struct img_config *c, const struct img_digest *d);
void img_config_add_history(struct img_config *c, const struct img_history *h); /* copied */
void img_manifest_add_layer(struct img_manifest *m, const struct img_descriptor *d); /* copied */
void img_index_add(struct img_index *x, const struct img_descriptor *d);             /* copied */
bool img_index_remove_at(struct img_index *x, size_t i);

/* RFC 3339 UTC "YYYY-MM-DDTHH:MM:SSZ" for t; buf >= 32. */
void img_time_format(int64_t t, char *buf, size_t n);
/* SOURCE_DATE_EPOCH when set and valid, else `fallback`. */
int img_source_date_epoch(int64_t fallback, int64_t *out, struct berr **err);

/* Cleanup helpers */
static inline void img_config_freep(struct img_config **p) { img_config_free(*p); }
static inline void img_manifest_freep(struct img_manifest **p) { img_manifest_free(*p); }
static inline void img_index_freep(struct img_index **p) { img_index_free(*p); }
#define _cleanup_img_config_ __attribute__((cleanup(img_config_freep)))
#define _cleanup_img_manifest_ __attribute__((cleanup(img_manifest_freep)))
#define _cleanup_img_index_ __attribute__((cleanup(img_index_freep)))

#endif
