/* Minimal image reference handling for tags in stores and archives.
 * Owner: image/ (imgstore). Grammar per distribution/reference: optional
 * domain (has '.' or ':' or is "localhost"), lowercase path components
 * separated by [._-] / "__", optional ":tag", optional "@sha256:...".
 * Docker Hub names are normalized: foo -> docker.io/library/foo. */
#ifndef BERTH_IMG_REF_H
#define BERTH_IMG_REF_H

#include "common/berr.h"

struct img_ref {
	char *domain;  /* "docker.io" */
	char *path;    /* "library/foo" */
	char *tag;     /* NULL when absent */
	char *digest;  /* NULL when absent */
};

int img_ref_parse(const char *s, struct img_ref *out, struct berr **err);
void img_ref_clear(struct img_ref *r);
/* docker.io/library/foo:latest (tag defaults to latest unless digest-only). */
char *img_ref_full(const struct img_ref *r);
/* Familiar form for RepoTags / `images`: foo:latest, reg:5000/x:1 */
char *img_ref_familiar(const struct img_ref *r);
/* Familiar repository without tag: "foo", "reg:5000/x" */
char *img_ref_familiar_repo(const struct img_ref *r);

#endif
