/* Registry bases for the builder (lazy): FROM, COPY --from and
 * --build-context NAME=docker-image://REF of an image that is not in the
 * local store are resolved through the registry client, fetching only the
 * index, the manifest and the config (IMG_PULL_LAZY). The base layers stay
 * in the registry (the local store records their source repository) until
 * a step has to read the stage's filesystem (RUN, COPY --from the base,
 * --chown names, WORKDIR of an existing stage) or an output must contain
 * them. See docs/registry.md, "Lazy bases in builds". */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "builder/bld_int.h"
#include "image/img_archive.h"
#include "image/img_registry.h"
#include "common/common.h"

int bld_registry(struct bld *b, struct img_registry **out, struct berr **err)
{
	if (!b->reg) {
		if (b->o->reg) {
			b->reg = b->o->reg;
		} else {
			struct img_reg_opts o;
			img_reg_opts_init(&o);
			if (img_registry_new(&o, &b->reg, err) < 0)
				return -1;
			b->own_reg = true;
		}
	}
	*out = b->reg;
	return 0;
}

void bld_remote_free(struct bld *b)
{
	if (b->own_reg)
		img_registry_free(b->reg);
	b->reg = NULL;
	for (size_t i = 0; i < b->nremote; i++) {
		free(b->remote_keys[i]);
		img_descriptor_clear(&b->remote_descs[i]);
	}
	free(b->remote_keys);
	free(b->remote_descs);
}

/* The platform to select with: the stage's (when explicit) plus
 * --os-version for Windows; --os-version alone means windows/<host arch>. */
static const struct img_platform *effective_want(const struct bld *b,
						 const struct img_platform *want,
						 struct img_platform *tmp)
{
	const char *ov = b->o->os_version;
	if (!ov || !*ov)
		return want;
	if (want) {
		if (!want->os || strcmp(want->os, "windows") || want->os_version)
			return want;
		img_platform_copy(tmp, want);
	} else {
		img_host_platform(tmp);
		free(tmp->os);
		tmp->os = xstrdup("windows");
		free(tmp->variant);
		tmp->variant = NULL;
	}
	free(tmp->os_version);
	tmp->os_version = xstrdup(ov);
	return tmp;
}

int bld_open_image_local(struct bld *b, const struct img_descriptor *d,
			 const struct img_platform *want, struct img_image **out, struct berr **err)
{
	struct img_platform tmp = { 0 };
	const struct img_platform *w = effective_want(b, want, &tmp);
	int rc = img_image_load_flags(b->ls, d, w, IMG_LOAD_LAZY, out, err);
	img_platform_clear(&tmp);
	return rc;
}

int bld_open_remote(struct bld *b, const char *ref, const struct img_platform *want,
		    struct img_image **out, struct berr **err)
{
	struct img_platform tmp = { 0 };
	const struct img_platform *w = effective_want(b, want, &tmp);
	_cleanup_free_ char *pf = w ? img_platform_format(w) : xstrdup("default");
	_cleanup_free_ char *key = xasprintf("%s\n%s\n%s", ref, pf,
					     w && w->os_version ? w->os_version : "");
	_cleanup_free_ char *msg = NULL;
	int rc = -1;
	/* resolved once per build (check_executors and the stage both open it) */
	for (size_t i = 0; i < b->nremote; i++) {
		if (strcmp(b->remote_keys[i], key) == 0) {
			rc = img_image_load_flags(b->ls, &b->remote_descs[i], NULL, IMG_LOAD_LAZY, out,
						  err);
			goto out;
		}
	}
	struct img_registry *reg;
	if (bld_registry(b, &reg, err) < 0)
		goto out;
	if (img_registry_pull(reg, ref, w, b->ls, IMG_PULL_LAZY, out, err) < 0) {
		berr_wrap(err, "image '%s' is not in the local store; from the registry", ref);
		goto out;
	}
	msg = xasprintf("resolved %s to %s (lazy: %zu base layers stay in "
					     "the registry until read)", ref, (*out)->desc.digest.s,
					     (*out)->manifest->n_layers);
	bld_note(b, msg);
	b->remote_keys = xreallocarray(b->remote_keys, b->nremote + 1, sizeof(char *));
	b->remote_descs = xreallocarray(b->remote_descs, b->nremote + 1, sizeof(*b->remote_descs));
	b->remote_keys[b->nremote] = steal_pointer(&key);
	img_descriptor_copy(&b->remote_descs[b->nremote], &(*out)->desc);
	b->nremote++;
	rc = 0;
out:
	img_platform_clear(&tmp);
	return rc;
}

static bool absent(struct bld *b, const struct img_descriptor *l)
{
	return !img_store_has_blob(b->cs, &l->digest) && !img_store_has_blob(b->ls, &l->digest) &&
	       !img_descriptor_is_foreign(l);
}

bool bld_layers_lazy(struct bld *b, const struct img_descriptor *l, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (absent(b, &l[i]))
			return true;
	return false;
}

int bld_fetch_layers(struct bld *b, const struct img_descriptor *l, size_t n, struct berr **err)
{
	struct img_descriptor *need = xcalloc(n + 1, sizeof(*need));
	size_t nn = 0;
	uint64_t bytes = 0;
	int rc = -1;
	for (size_t i = 0; i < n; i++) {
		if (absent(b, &l[i])) {
			img_descriptor_copy(&need[nn++], &l[i]);
			bytes += (uint64_t)l[i].size;
		}
	}
	if (nn) {
		struct img_registry *reg;
		if (bld_registry(b, &reg, err) < 0)
			goto out;
		char *msg = xasprintf("fetching %zu lazy base layers (%llu bytes) from the registry",
				      nn, (unsigned long long)bytes);
		bld_note(b, msg);
		free(msg);
		if (img_registry_fetch_blobs(reg, b->ls, need, nn, err) < 0) {
			berr_wrap(err, "lazy base layers");
			goto out;
		}
	}
	/* the build store holds (hard links to) every layer a rootfs is made of */
	for (size_t i = 0; i < n; i++) {
		if (img_store_has_blob(b->cs, &l[i].digest))
			continue;
		if (!img_store_has_blob(b->ls, &l[i].digest) && img_descriptor_is_foreign(&l[i]))
			continue;
		if (img_store_copy_blob(b->cs, b->ls, &l[i], err) < 0)
			goto out;
	}
	rc = 0;
out:
	for (size_t i = 0; i < nn; i++)
		img_descriptor_clear(&need[i]);
	free(need);
	return rc;
}

int bld_fetch_image(struct bld *b, struct img_image *img, struct berr **err)
{
	if (!img->n_remote)
		return 0;
	struct img_registry *reg;
	if (bld_registry(b, &reg, err) < 0)
		return -1;
	_cleanup_free_ char *msg = xasprintf("fetching %zu lazy base layers for the output",
					     img->n_remote);
	bld_note(b, msg);
	return img_image_fetch_remote(reg, img, err);
}
