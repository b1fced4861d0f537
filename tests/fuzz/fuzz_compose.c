/* libFuzzer harness: the compose and workflow loaders (libyaml documents,
 * interpolation, runs-on forms, run: script scanning) and placement over a
 * small Swarm fleet. The first byte picks the loader (even: compose, odd:
 * workflow); no file is read (no base directory / repository root). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "compat/wc_fleet.h"
#include "compat/wc_workload.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fleet_json[] =
	"[{\"ID\":\"a\",\"Spec\":{\"Role\":\"worker\",\"Availability\":\"active\",\"Labels\":"
	"{\"windows-build\":\"10.0.17763\",\"tier\":\"web\"}},\"Description\":{\"Hostname\":\"w19\","
	"\"Platform\":{\"OS\":\"windows\",\"Architecture\":\"x86_64\"},\"Engine\":{\"EngineVersion\":\"24.0.7\"}}},"
	"{\"ID\":\"b\",\"Spec\":{\"Role\":\"worker\",\"Availability\":\"active\",\"Labels\":"
	"{\"windows-build\":\"10.0.20348\",\"tier\":\"web\"}},\"Description\":{\"Hostname\":\"w22\","
	"\"Platform\":{\"OS\":\"windows\",\"Architecture\":\"x86_64\"},\"Engine\":{\"EngineVersion\":\"27.3.1\"}}},"
	"{\"ID\":\"c\",\"Spec\":{\"Role\":\"manager\",\"Availability\":\"active\"},\"Description\":{\"Hostname\":\"m\","
	"\"Platform\":{\"OS\":\"linux\",\"Architecture\":\"x86_64\"},\"Engine\":{\"EngineVersion\":\"27.3.1\"}}}]";

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct wc_kb *kb;
	static struct wc_fleet *fleet;
	if (!kb)
		kb = wc_kb_load(NULL, NULL);
	if (!fleet)
		fleet = wc_fleet_parse(fleet_json, strlen(fleet_json), "fleet", NULL);
	if (!kb || !fleet || size < 1)
		return 0;
	struct berr *err = NULL;
	struct wc_workloads *wl = NULL;
	int rc = data[0] % 2 == 0
		 ? wc_compose_load((const char *)data + 1, size - 1, "fuzz.yml", NULL, &wl, &err)
		 : wc_workflow_load((const char *)data + 1, size - 1, "fuzz.yml", NULL, &wl, &err);
	if (rc == 0) {
		struct wc_place_opts o = { .today = "2026-11-30" };
		struct wc_placement p;
		if (wc_place(kb, wl, fleet, &o, &p, NULL) == 0)
			wc_placement_release(&p);
	}
	wc_workloads_free(wl);
	berr_free(err);
	return 0;
}
