/* libFuzzer harness: the fleet loader (kubectl JSON, inventory JSON/CSV)
 * and an audit over whatever it accepts. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc_fleet.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_kb *kb;
	if (!kb)
		kb = wc_kb_load(NULL, NULL);
	if (!kb)
		return 0;
	struct berr *err = NULL;
	struct wc_fleet *f = wc_fleet_parse((const char *)data, size, "fuzz", &err);
	if (f) {
		struct wc_image img = { .major = 10, .build = 17763, .has_version = true };
		struct wc_audit a;
		if (wc_audit_run(kb, f, &img, &a, NULL) == 0)
			wc_audit_release(&a);
	}
	wc_fleet_free(f);
	berr_free(err);
	return 0;
}
