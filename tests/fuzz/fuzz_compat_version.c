/* libFuzzer harness: version, release-name, host and image-tag parsers, and
 * the rules over whatever they produce. Input: one line "<kind>\n<text>"
 * where the first byte picks the parser. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_kb *kb;
	if (!kb)
		kb = wc_kb_load(NULL, NULL);
	if (!kb || size < 1 || size > WC_MAX_INPUT)
		return 0;
	char *s = xstrndup((const char *)data + 1, size - 1);
	struct berr *err = NULL;
	struct wc_version v;
	struct wc_host h;
	struct wc_tag_info t;
	struct wc_explanation ex[4];
	switch (data[0] % 5) {
	case 0:
		wc_version_parse(s, &v, &err);
		break;
	case 1:
		wc_resolve_name(kb, s, data[0] & 8, &err);
		break;
	case 2:
		if (wc_host_parse(kb, s, &h, &err) == 0) {
			struct wc_image img = { .major = 10, .build = 20348, .has_version = true };
			struct wc_verdict vd;
			wc_check(kb, &h, &img, WC_ISO_PROCESS, &vd);
			wc_check(kb, &h, &img, WC_ISO_HYPERV, &vd);
		}
		break;
	case 3:
		if (wc_tag_parse(kb, s, &t, &err) == 0 && t.how != WC_TAG_UNKNOWN) {
			struct wc_host host = { .build = 26100, .hyperv = -1 };
			struct wc_image img = { .major = t.ver.major, .minor = t.ver.minor,
						.build = t.ver.build, .has_version = true };
			struct wc_verdict vd;
			wc_check(kb, &host, &img, WC_ISO_PROCESS, &vd);
		}
		break;
	default:
		wc_explain(kb, s, ex, 4);
		break;
	}
	berr_free(err);
	free(s);
	return 0;
}
