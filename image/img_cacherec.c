/* The builder's cache records (img_cacherec.h). */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "image/img_cacherec.h"
#include "common/common.h"

#define IMG_CACHE_REC_SHAPE "'<mediaType> <digest> <size> <diffID> [<made>]'"

int img_cache_rec_parse(const char *text, struct img_cache_rec *r, struct berr **err)
{
	memset(r, 0, sizeof(*r));
	r->made = -1;
	if (!strcmp(text, "empty\n")) {
		r->empty = true;
		return 0;
	}
	char mt[128], dg[80], di[80], end[2];
	long long size, made = -1;
	int at = 0, at2 = 0;
	bool shape = sscanf(text, "%127s %79s %lld %79s%n", mt, dg, &size, di, &at) == 4;
	/* an optional fifth number, then nothing */
	if (shape && sscanf(text + at, " %lld%n", &made, &at2) == 1) {
		at += at2;
		shape = made >= 0;
	}
	shape = shape && size >= 0 && sscanf(text + at, " %1s", end) != 1;
	struct img_digest dd, dif;
	if (!shape || img_digest_parse(dg, "cache record", &dd, NULL) < 0 ||
	    img_digest_parse(di, "cache record", &dif, NULL) < 0)
		return berr_set(err, BERR_INPUT, "not " IMG_CACHE_REC_SHAPE);
	r->d.media_type = xstrdup(mt);
	r->d.digest = dd;
	r->d.size = size;
	r->diff_id = dif;
	r->made = made;
	return 0;
}

char *img_cache_rec_format(const struct img_cache_rec *r)
{
	if (r->empty)
		return xstrdup("empty\n");
	if (r->made < 0)
		return xasprintf("%s %s %" PRId64 " %s\n", r->d.media_type, r->d.digest.s, r->d.size,
				 r->diff_id.s);
	return xasprintf("%s %s %" PRId64 " %s %" PRId64 "\n", r->d.media_type, r->d.digest.s,
			 r->d.size, r->diff_id.s, r->made);
}

void img_cache_rec_clear(struct img_cache_rec *r)
{
	img_descriptor_clear(&r->d);
	memset(r, 0, sizeof(*r));
	r->made = -1;
}
