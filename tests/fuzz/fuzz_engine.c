/* Fuzz what the engine executor reads from an engine: /info payloads
 * (facts + the isolation decision) and the multiplexed output stream.
 * First byte: 0 = payload as /info, 1 = payload as a stream fed in chunks of
 * the second byte's size. Oracles: no crash; demuxed bytes never exceed the
 * input minus the headers; a Windows host always has a build. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "builder/bld_engine.h"
#include "compat/wc.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static size_t total;

static int count_fn(void *ctx, int stream, const void *p, size_t n, struct berr **err)
{
	if (stream != 1 && stream != 2)
		abort();
	total += n;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_kb *kb;
	if (size < 2 || size > 65536)
		return 0;
	if (!kb && !(kb = wc_kb_load(NULL, NULL)))
		abort();
	struct berr *err = NULL;
	if (data[0] % 2 == 0) {
		char *s = xstrndup((const char *)data + 1, size - 1);
		struct bld_engine_facts f;
		if (bld_engine_facts_parse(s, NULL, "fuzz", &f, &err) == 0) {
			if (strcmp(f.os_type, "windows") == 0) {
				if (f.win_build == 0)
					abort();
				struct bld_engine_decision d;
				static const char *const bases[] = { "10.0.17763.5329", "10.0.20348.1", NULL };
				for (size_t i = 0; i < 3; i++) {
					bld_engine_decide(kb, &f, "windows", bases[i], NULL, BLD_ENGINE_ISO_DEFAULT,
							  &d, &err);
					berr_clear(&err);
				}
			}
			char *desc = bld_engine_host_desc(&f);
			free(desc);
		}
		berr_clear(&err);
		bld_engine_facts_clear(&f);
		free(s);
		return 0;
	}
	size_t step = data[1] ? data[1] : 1;
	struct bld_engine_demux d;
	bld_engine_demux_init(&d, count_fn, NULL);
	total = 0;
	size_t n = size - 2;
	const uint8_t *p = data + 2;
	for (size_t off = 0; off < n; off += step) {
		size_t k = n - off < step ? n - off : step;
		if (bld_engine_demux_feed(&d, p + off, k, &err) < 0)
			break;
	}
	berr_clear(&err);
	if (total > n)
		abort();
	return 0;
}
