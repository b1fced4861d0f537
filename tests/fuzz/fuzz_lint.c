/* libFuzzer harness: the whole lint pipeline (parse, stage view, every rule,
 * every output format) over arbitrary Dockerfile bytes, with two target
 * hosts and a trusted-registry list so the host and registry rules run. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc.h"
#include "lint/lint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_kb *kb;
	static struct lint_host hosts[2];
	if (!kb) {
		kb = wc_kb_load(NULL, NULL);
		if (!kb)
			return 0;
		wc_host_parse(kb, "ltsc2022", &hosts[0].host, NULL);
		wc_host_parse(kb, "10.0.17763", &hosts[1].host, NULL);
		snprintf(hosts[0].label, sizeof(hosts[0].label), "a");
		snprintf(hosts[1].label, sizeof(hosts[1].label), "b");
	}
	if (size > (1u << 20))
		return 0;
	static char *trusted[] = { (char *)"mcr.microsoft.com", (char *)"docker.io" };
	struct lint_options o;
	lint_options_init(&o, kb);
	snprintf(o.today, sizeof(o.today), "2026-08-20");
	o.hosts = hosts;
	o.nhosts = 2;
	o.trusted = trusted;
	o.ntrusted = 2;
	struct lint_result r;
	if (lint_check(&o, "fuzz", (const char *)data, size, &r, NULL) == 0) {
		for (int f = LINT_FMT_TEXT; f <= LINT_FMT_CHECKSTYLE; f++)
			free(lint_render((enum lint_format)f, &r, 1, NULL));
	}
	lint_result_release(&r);
	return 0;
}
