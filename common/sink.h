/* A byte sink: the streaming interface between producers (tar writers,
 * HTTP bodies) and consumers (compressors, hashers, files). Producers call
 * bsink_write; a consumer returns -1 with *err set to stop the stream. */
#ifndef BERTH_SINK_H
#define BERTH_SINK_H

#include <stddef.h>
#include "common/berr.h"

struct bsink {
	int (*write)(void *ctx, const void *p, size_t n, struct berr **err);
	void *ctx;
};

static inline int bsink_write(const struct bsink *s, const void *p, size_t n, struct berr **err)
{
	return s->write(s->ctx, p, n, err);
}

#endif
