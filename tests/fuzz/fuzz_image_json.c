/* Fuzz the config, manifest and index loaders (and re-serialization of
 * whatever they accept). First byte picks the loader. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include "common/common.h"
#include "image/img_model.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const char *json = (const char *)data + 1;
	size_t len = size - 1;
	struct berr *err = NULL;
	struct bbuf out = BBUF_INIT;
	switch (data[0] % 4) {
	case 0: {
		struct img_config *c = NULL;
		if (img_config_parse(json, len, NULL, &c, &err) == 0) {
			img_config_to_json(c, &out, &err);
			struct img_config *c2 = NULL;
			/* our own output must load again */
			if (out.data && img_config_parse(out.data, out.len, NULL, &c2, &err) != 0)
				abort();
			img_config_free(c2);
		}
		img_config_free(c);
		break;
	}
	case 1: {
		struct img_manifest *m = NULL;
		if (img_manifest_parse(json, len, NULL, &m, &err) == 0)
			img_manifest_to_json(m, &out, &err);
		img_manifest_free(m);
		break;
	}
	case 2: {
		struct img_index *x = NULL;
		if (img_index_parse(json, len, NULL, &x, &err) == 0)
			img_index_to_json(x, &out, &err);
		img_index_free(x);
		break;
	}
	default:
		(void)img_json_kind(json, len);
		break;
	}
	bbuf_release(&out);
	berr_free(err);
	return 0;
}
