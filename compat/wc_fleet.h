/* compat/ fleet audit: load a node list (kubectl get nodes -o json, or a CSV /
 * JSON inventory) and check one image against every node.
 * The fleet owns its nodes and strings; audit results borrow from the fleet
 * and the kb, and own only their arrays (wc_audit_release). */
#ifndef BERTH_WC_FLEET_H
#define BERTH_WC_FLEET_H

#include "compat/wc.h"

#define WC_FLEET_MAX_SIZE (512u << 20) /* fleet file size cap */
#define WC_FLEET_MAX_NODES 1000000

struct wc_node {
	char *name;
	char *os;               /* "windows", "linux", ... or NULL when not stated */
	char *arch;             /* NULL = not stated */
	char *build_text;       /* as written ("10.0.17763", "ltsc2019"), NULL if none */
	uint32_t rev;
	bool has_rev;
	int client;             /* 1 client, 0 server, -1 not stated */
	int hyperv;             /* 1 available, 0 not, -1 unknown */
	char *runtime;          /* containerRuntimeVersion, NULL if unknown */
	int line;               /* source line (CSV), 0 otherwise */
};

struct wc_fleet {
	char *name;
	const char *format;     /* "kubectl", "inventory-json", "inventory-csv" */
	struct wc_node *nodes;
	size_t n, cap;
};

struct wc_fleet *wc_fleet_parse(const char *data, size_t len, const char *name, struct berr **err);
struct wc_fleet *wc_fleet_load(const char *path, struct berr **err);
void wc_fleet_free(struct wc_fleet *f);

struct wc_node_result {
	const struct wc_node *node;
	bool windows;           /* false: skipped (Linux or other OS) */
	bool host_ok;           /* build parsed */
	char host_error[160];
	struct wc_host host;
	struct wc_verdict v[2]; /* process, hyperv */
	int runtime;            /* enum wc_runtime or -1 */
	bool pull_blocked;      /* the node's runtime rejects the image build */
};

struct wc_build_summary {
	uint32_t build;
	bool client;
	const struct wc_release *rel;
	size_t nodes, process_ok, hyperv_ok, pull_blocked;
	const struct wc_node_result *example; /* first node of this build */
};

struct wc_audit {
	struct wc_node_result *r;
	size_t n;
	struct wc_build_summary *b;
	size_t nb;
	size_t windows, skipped, bad, process_ok, hyperv_ok, none, unknown, pull_blocked;
};

int wc_audit_run(const struct wc_kb *kb, const struct wc_fleet *f, const struct wc_image *img,
		 struct wc_audit *out, struct berr **err);
void wc_audit_release(struct wc_audit *a);

#endif
