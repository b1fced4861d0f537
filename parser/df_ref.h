/* Docker image references: a port of github.com/distribution/reference
 * (Parse, ParseNormalizedNamed, ParseDockerRef, familiar names) and of the
 * digest check of github.com/opencontainers/go-digest.
 *
 *   reference := name [ ":" tag ] [ "@" digest ]
 *   name      := [domain "/"] path        domain := host [":" port]
 *
 * A struct df_ref owns its four strings; free it with df_ref_free(). See
 * docs/internals-references.md for normalisation and error messages. */
#ifndef BERTH_DF_REF_H
#define BERTH_DF_REF_H

#include <stdbool.h>
#include "common/berr.h"

#define DF_REF_NAME_MAX 255     /* RepositoryNameTotalLengthMax (on the path) */
#define DF_REF_DEFAULT_DOMAIN "docker.io"
#define DF_REF_DEFAULT_TAG "latest"

struct df_ref {
	char *domain;   /* "docker.io", "localhost:5000"; "" only from df_ref_parse */
	char *path;     /* "library/busybox" */
	char *tag;      /* NULL when absent */
	char *digest;   /* "sha256:<hex>", NULL when absent */
};

/* reference.Parse: the grammar only, no defaults (domain may be ""). */
int df_ref_parse(const char *s, struct df_ref **out, struct berr **err);

/* reference.ParseNormalizedNamed: "busybox" -> docker.io/library/busybox,
 * "index.docker.io/x" -> docker.io/library/x, "Foo/bar" -> domain "Foo".
 * No tag is added. */
int df_ref_parse_normalized(const char *s, struct df_ref **out, struct berr **err);

/* reference.ParseDockerRef: normalized, then "latest" when there is neither
 * tag nor digest; a reference with both keeps only the digest. */
int df_ref_parse_docker(const char *s, struct df_ref **out, struct berr **err);

/* reference.TagNameOnly, in place: add "latest" if there is no tag or digest */
void df_ref_tag_name_only(struct df_ref *r);

/* Newly allocated strings, caller frees:
 * name = [domain "/"] path; string = name [":" tag] ["@" digest];
 * familiar forms drop "docker.io/" and a single-level "library/". */
char *df_ref_name(const struct df_ref *r);
char *df_ref_string(const struct df_ref *r);
char *df_ref_familiar_name(const struct df_ref *r);
char *df_ref_familiar(const struct df_ref *r);

/* go-digest digest.Parse: "sha256:<64 lowercase hex>" (also sha384, sha512).
 * Errors: "invalid checksum digest format", "invalid checksum digest length",
 * "unsupported digest algorithm". */
int df_digest_validate(const char *s, struct berr **err);

/* true for a bare 64-hex image ID ("identifier" in the grammar) */
bool df_ref_is_identifier(const char *s);

void df_ref_free(struct df_ref *r);

#endif
