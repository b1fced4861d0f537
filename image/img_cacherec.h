/* The builder's cache records: $BERTH_ROOT/cache/keys/<hex of a step's
 * key> holding "empty\n" (a step with no layer) or
 * "<mediaType> <digest> <size> <diffID> <made>\n" (made: when the layer
 * was made, Unix seconds; records of older versions lack it). The blob
 * they name lives in the cache store $BERTH_ROOT/cache/blobs. Written by
 * the builder, read by the builder (a record that does not parse is a
 * miss) and by fsck/prune (it is invalid): one parser, so the two cannot
 * drift apart. */
#ifndef BERTH_IMG_CACHEREC_H
#define BERTH_IMG_CACHEREC_H

#include <stdbool.h>
#include <stdint.h>
#include "common/berr.h"
#include "image/img_model.h"

/* a record file larger than this is not a record */
#define IMG_CACHE_REC_MAX 4096

struct img_cache_rec {
	bool empty;
	struct img_descriptor d;   /* the layer blob: media_type, digest, size */
	struct img_digest diff_id;
	int64_t made;              /* -1 when the record does not say */
};

/* Parses a record's text (strict: the fields, one optional number, then
 * nothing but white space). On error (BERR_INPUT) r is left clear. */
int img_cache_rec_parse(const char *text, struct img_cache_rec *r, struct berr **err);
/* The text of a record (allocated; made < 0: without the fifth field). */
char *img_cache_rec_format(const struct img_cache_rec *r);
void img_cache_rec_clear(struct img_cache_rec *r);

#endif
