/* berth compat audit: per-node and per-build verdicts for one image over a
 * fleet, plus a nodeSelector / RuntimeClass snippet that lands the image only
 * where it runs. Called from cmd_compat.c. */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/compat_audit.h"
#include "common/common.h"
#include "compat/wc.h"
#include "compat/wc_fleet.h"

DEFINE_CLEANUP_FUNC(struct wc_fleet *, wc_fleet_free)

static const char *usage_audit =
	"Usage: berth compat audit --image SRC --fleet FILE [--format text|json]\n"
	"       berth compat audit --compose FILE --fleet FILE [--format text|json|sarif]\n"
	"       berth compat audit --workflow FILE [--repo DIR] [--format text|json|sarif]\n"
	"                          [--releases FILE] [--date YYYY-MM-DD]\n"
	"\n"
	"FLEET: kubectl get nodes -o json, docker node inspect $(docker node ls -q),\n"
	"docker info --format '{{json .}}' (one host or one per line), or an inventory\n"
	"(CSV / JSON). Exit 0 when it runs, 1 when a workload would not start, 2 bad input.\n";

/* Per windows-build label value (client and server rows of one build merged:
 * the label cannot tell them apart). */
struct label_sum {
	uint32_t build;
	size_t nodes, process_ok, hyperv_ok;
};

static size_t label_sums(const struct wc_audit *a, struct label_sum *out)
{
	size_t n = 0;
	for (size_t i = 0; i < a->nb; i++) {
		if (n && out[n - 1].build == a->b[i].build) {
			out[n - 1].nodes += a->b[i].nodes;
			out[n - 1].process_ok += a->b[i].process_ok;
			out[n - 1].hyperv_ok += a->b[i].hyperv_ok;
			continue;
		}
		out[n].build = a->b[i].build;
		out[n].nodes = a->b[i].nodes;
		out[n].process_ok = a->b[i].process_ok;
		out[n++].hyperv_ok = a->b[i].hyperv_ok;
	}
	return n;
}

/* Builds where every node runs the image in process isolation: a
 * windows-build selector over them never lands on a node that cannot run it. */
static void scheduling_snippet(const struct wc_audit *a, const char *arch, struct bbuf *y)
{
	struct label_sum *ls = xcalloc(a->nb ? a->nb : 1, sizeof(*ls));
	size_t nl = label_sums(a, ls), np = 0, nh = 0;
	for (size_t i = 0; i < nl; i++) {
		if (ls[i].process_ok == ls[i].nodes)
			np++;
		else if (ls[i].hyperv_ok == ls[i].nodes)
			nh++;
	}
	const char *tol = "tolerations:\n"
			  "- key: os\n  operator: Equal\n  value: windows\n  effect: NoSchedule\n";
	if (np == 0 && nh == 0) {
		bbuf_addstr(y, "# no build in this fleet runs the image on all of its nodes\n", NULL);
		free(ls);
		return;
	}
	if (np == 1) {
		for (size_t i = 0; i < nl; i++)
			if (ls[i].process_ok == ls[i].nodes)
				bbuf_addf(y, NULL, "# pod spec: process isolation\nnodeSelector:\n"
					  "  kubernetes.io/os: windows\n"
					  "  node.kubernetes.io/windows-build: \"10.0.%u\"\n%s",
					  ls[i].build, tol);
	} else if (np > 1) {
		bbuf_addstr(y, "# pod spec: process isolation\naffinity:\n  nodeAffinity:\n"
			    "    requiredDuringSchedulingIgnoredDuringExecution:\n"
			    "      nodeSelectorTerms:\n      - matchExpressions:\n"
			    "        - key: kubernetes.io/os\n          operator: In\n"
			    "          values: [\"windows\"]\n"
			    "        - key: node.kubernetes.io/windows-build\n          operator: In\n"
			    "          values: [", NULL);
		size_t k = 0;
		for (size_t i = 0; i < nl; i++)
			if (ls[i].process_ok == ls[i].nodes)
				bbuf_addf(y, NULL, "%s\"10.0.%u\"", k++ ? ", " : "", ls[i].build);
		bbuf_addf(y, NULL, "]\n%s", tol);
	}
	for (int hv = 0; hv < 2; hv++)
		for (size_t i = 0; i < nl; i++) {
			const struct label_sum *s = &ls[i];
			bool pick = hv ? s->process_ok != s->nodes && s->hyperv_ok == s->nodes
				       : s->process_ok == s->nodes;
			if (!pick)
				continue;
			bbuf_addf(y, NULL, "---\n%sapiVersion: node.k8s.io/v1\nkind: RuntimeClass\n"
				  "metadata:\n  name: windows-%u%s\nhandler: %s\nscheduling:\n"
				  "  nodeSelector:\n    kubernetes.io/os: windows\n"
				  "    kubernetes.io/arch: %s\n"
				  "    node.kubernetes.io/windows-build: \"10.0.%u\"\n"
				  "  tolerations:\n  - key: os\n    operator: Equal\n    value: windows\n"
				  "    effect: NoSchedule\n",
				  hv ? "# Hyper-V isolation in Kubernetes is experimental (containerd 1.7+)\n" : "",
				  s->build, hv ? "-hyperv" : "",
				  hv ? "runhcs-wcow-hypervisor" : "runhcs-wcow-process", arch, s->build);
		}
	free(ls);
}

static const char *node_verdict(const struct wc_node_result *r)
{
	if (!r->windows)
		return "skipped";
	if (!r->host_ok)
		return "bad-node";
	if (r->pull_blocked)
		return "pull-blocked";
	if (wc_level_runs(r->v[0].level))
		return "process";
	if (wc_level_runs(r->v[1].level))
		return "hyperv-only";
	if (r->v[0].level == WC_UNKNOWN || r->v[1].level == WC_UNKNOWN)
		return "unknown";
	return "none";
}

static void node_build_text(const struct wc_node_result *r, char *buf, size_t n)
{
	if (!r->host_ok)
		snprintf(buf, n, "%s", r->node->build_text ? r->node->build_text : "-");
	else if (r->host.has_rev)
		snprintf(buf, n, "10.0.%u.%u", r->host.build, r->host.rev);
	else
		snprintf(buf, n, "10.0.%u", r->host.build);
}

int cli_compat_audit(int argc, char **argv, const char *kbfile, const struct cli_command *cmd)
{
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "fleet", required_argument, NULL, 'F' },
		COMPAT_REPORT_OPTIONS,
		{ "compose", required_argument, NULL, 'C' },
		{ "workflow", required_argument, NULL, 'W' },
		{ "repo", required_argument, NULL, 'R' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *fleet = NULL, *compose = NULL, *workflow = NULL, *repo = NULL;
	int fmt = CLI_FMT_TEXT;
	char today[11];
	wc_today(today);
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'F': fleet = optarg; break;
		case 'f':
			if (cli_parse_format(cmd, optarg, cli_formats_text_json_sarif, &fmt))
				return 2;
			break;
		case 'C': compose = optarg; break;
		case 'W': workflow = optarg; break;
		case 'R': repo = optarg; break;
		case 'r': kbfile = optarg; break;
		case 'd': if (cli_parse_date(cmd, optarg, today)) return 2; break;
		case 'h': fputs(usage_audit, stdout); return 0;
		default: return cli_usage_error(cmd, "invalid option for 'compat audit'");
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	if (compose || workflow) {
		if (image || (compose && workflow))
			return cli_usage_error(cmd, "use one of --image, --compose or --workflow");
		if (compose && !fleet)
			return cli_usage_error(cmd, "--compose needs --fleet (where the services land)");
		if (repo && !workflow)
			return cli_usage_error(cmd, "--repo applies to --workflow");
		if (workflow && fleet)
			return cli_usage_error(cmd, "--fleet does not apply to --workflow (runners come "
					       "from the knowledge base)");
		return cli_compat_workloads(compose, workflow, repo, fleet,
					    cli_formats_text_json_sarif[fmt], kbfile, today);
	}
	if (fmt == CLI_FMT_SARIF)
		return cli_usage_error(cmd, "--format sarif needs --compose or --workflow");
	if (!image || !fleet)
		return cli_usage_error(cmd, "'compat audit' needs --image and --fleet");
	struct berr *err = NULL;
	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	struct wc_image img;
	struct wc_tag_info tag;
	char desc[768];
	if (wc_image_resolve(kb, image, &img, &tag, desc, sizeof(desc), &err) < 0)
		return cli_report(err);
	_cleanup_(wc_fleet_free_ptr) struct wc_fleet *f = wc_fleet_load(fleet, &err);
	if (!f)
		return cli_report(err);
	struct wc_audit a;
	if (wc_audit_run(kb, f, &img, &a, &err) < 0)
		return cli_report(err);
	const char *arch = img.arch[0] ? img.arch : "amd64";
	_cleanup_bbuf_ struct bbuf snip = BBUF_INIT;
	scheduling_snippet(&a, arch, &snip);
	int rc = a.process_ok + a.hyperv_ok > 0 ? 0 : 1;

	if (fmt == CLI_FMT_JSON) {
		_cleanup_cjson_ cJSON *root = cJSON_CreateObject();
		cJSON *ji = cJSON_AddObjectToObject(root, "image");
		cJSON_AddStringToObject(ji, "input", image);
		cJSON_AddStringToObject(ji, "source", desc);
		if (img.has_version)
			cJSON_AddNumberToObject(ji, "build", img.build);
		else
			cJSON_AddNullToObject(ji, "build");
		cJSON_AddItemToObject(ji, "release", img.rel ? cJSON_CreateString(img.rel->id) : cJSON_CreateNull());
		cJSON *jf = cJSON_AddObjectToObject(root, "fleet");
		cJSON_AddStringToObject(jf, "file", fleet);
		cJSON_AddStringToObject(jf, "format", f->format);
		cJSON_AddNumberToObject(jf, "nodes", (double)f->n);
		cJSON_AddNumberToObject(jf, "windows", (double)a.windows);
		cJSON_AddNumberToObject(jf, "skipped", (double)a.skipped);
		cJSON_AddNumberToObject(jf, "bad", (double)a.bad);
		cJSON *js = cJSON_AddObjectToObject(root, "summary");
		cJSON_AddNumberToObject(js, "process", (double)a.process_ok);
		cJSON_AddNumberToObject(js, "hyperv", (double)a.hyperv_ok);
		cJSON_AddNumberToObject(js, "none", (double)a.none);
		cJSON_AddNumberToObject(js, "unknown", (double)a.unknown);
		cJSON_AddNumberToObject(js, "pull_blocked", (double)a.pull_blocked);
		cJSON *jb = cJSON_AddArrayToObject(root, "builds");
		for (size_t i = 0; i < a.nb; i++) {
			const struct wc_build_summary *s = &a.b[i];
			cJSON *o = cJSON_CreateObject();
			char osv[24];
			snprintf(osv, sizeof(osv), "10.0.%u", s->build);
			cJSON_AddStringToObject(o, "windows_build", osv);
			cJSON_AddNumberToObject(o, "build", s->build);
			cJSON_AddStringToObject(o, "kind", s->client ? "client" : "server");
			cJSON_AddItemToObject(o, "release", s->rel ? cJSON_CreateString(s->rel->name) : cJSON_CreateNull());
			cJSON_AddStringToObject(o, "host_support",
						s->rel ? wc_support_name(wc_release_support(s->rel, today)) : "unknown");
			cJSON_AddNumberToObject(o, "nodes", (double)s->nodes);
			cJSON_AddNumberToObject(o, "process", (double)s->process_ok);
			cJSON_AddNumberToObject(o, "hyperv", (double)s->hyperv_ok);
			cJSON_AddNumberToObject(o, "pull_blocked", (double)s->pull_blocked);
			if (s->example) {
				cJSON_AddStringToObject(o, "process_level", wc_level_name(s->example->v[0].level));
				cJSON_AddStringToObject(o, "process_reason", s->example->v[0].reason);
				cJSON_AddStringToObject(o, "process_source", s->example->v[0].source);
				cJSON_AddStringToObject(o, "hyperv_level", wc_level_name(s->example->v[1].level));
				cJSON_AddStringToObject(o, "hyperv_reason", s->example->v[1].reason);
				cJSON_AddStringToObject(o, "hyperv_source", s->example->v[1].source);
			}
			cJSON_AddItemToArray(jb, o);
		}
		cJSON *jn = cJSON_AddArrayToObject(root, "nodes");
		for (size_t i = 0; i < a.n; i++) {
			const struct wc_node_result *r = &a.r[i];
			cJSON *o = cJSON_CreateObject();
			char bt[48];
			node_build_text(r, bt, sizeof(bt));
			cJSON_AddStringToObject(o, "name", r->node->name);
			cJSON_AddItemToObject(o, "os", r->node->os ? cJSON_CreateString(r->node->os) : cJSON_CreateNull());
			cJSON_AddStringToObject(o, "verdict", node_verdict(r));
			/* which input fields the node's facts came from */
			cJSON *fd = cJSON_AddObjectToObject(o, "fields");
			cJSON_AddItemToObject(fd, "build", r->node->build_from ? cJSON_CreateString(r->node->build_from)
										 : cJSON_CreateNull());
			cJSON_AddItemToObject(fd, "os", r->node->os_from ? cJSON_CreateString(r->node->os_from)
									   : cJSON_CreateNull());
			cJSON_AddItemToObject(fd, "kind", r->node->client_from ? cJSON_CreateString(r->node->client_from)
										 : cJSON_CreateNull());
			if (r->windows && r->host_ok) {
				cJSON_AddStringToObject(o, "os_version", bt);
				cJSON_AddStringToObject(o, "process", wc_level_name(r->v[0].level));
				cJSON_AddStringToObject(o, "hyperv", wc_level_name(r->v[1].level));
				cJSON_AddStringToObject(o, "process_source", r->v[0].source);
				cJSON_AddBoolToObject(o, "pull_blocked", r->pull_blocked);
				if (r->runtime >= 0)
					cJSON_AddStringToObject(o, "runtime_model", wc_runtime_name(r->runtime));
			} else if (r->windows) {
				cJSON_AddStringToObject(o, "error", r->host_error);
			}
			cJSON_AddItemToArray(jn, o);
		}
		cJSON_AddStringToObject(root, "scheduling", bbuf_str(&snip));
		cli_print_json(root);
		wc_audit_release(&a);
		return rc;
	}

	printf("image  %s\n", desc);
	if (img.has_version)
		printf("       build %u (%s)\n", img.build, img.rel ? img.rel->name : "not a known release");
	printf("fleet  %s (%s): %zu nodes, %zu Windows, %zu skipped (not Windows)%s\n\n", fleet, f->format,
	       f->n, a.windows, a.skipped, a.bad ? ", some without a usable build" : "");
	printf("%-28s %-18s %-24s %-22s %-22s %s\n", "NODE", "OS VERSION", "RELEASE", "PROCESS", "HYPERV",
	       "VERDICT");
	for (size_t i = 0; i < a.n; i++) {
		const struct wc_node_result *r = &a.r[i];
		char bt[48];
		node_build_text(r, bt, sizeof(bt));
		if (!r->windows) {
			printf("%-28s %-18s %-24s %-22s %-22s %s\n", r->node->name, "-",
			       r->node->os ? r->node->os : "-", "-", "-", "skipped");
			continue;
		}
		if (!r->host_ok) {
			printf("%-28s %-18s %-24s %-22s %-22s bad-node: %s\n", r->node->name, bt, "-", "-", "-",
			       r->host_error);
			continue;
		}
		printf("%-28s %-18s %-24s %-22s %-22s %s%s\n", r->node->name, bt,
		       r->host.rel ? r->host.rel->name : "unknown", wc_level_name(r->v[0].level),
		       wc_level_name(r->v[1].level), node_verdict(r),
		       r->pull_blocked ? " (the node's runtime matcher rejects the image build)" : "");
	}
	printf("\n%-12s %-8s %-32s %6s %8s %7s\n", "BUILD", "KIND", "RELEASE", "NODES", "PROCESS", "HYPERV");
	for (size_t i = 0; i < a.nb; i++) {
		const struct wc_build_summary *s = &a.b[i];
		printf("10.0.%-7u %-8s %-32s %6zu %8zu %7zu\n", s->build, s->client ? "client" : "server",
		       s->rel ? s->rel->name : "unknown", s->nodes, s->process_ok, s->hyperv_ok);
		if (s->rel && wc_release_support(s->rel, today) == WC_SUP_ENDED)
			printf("  lifecycle: %s is out of support on %s\n", s->rel->name, today);
		if (s->example) {
			printf("  process: %s: %s [%s]\n", wc_level_name(s->example->v[0].level),
			       s->example->v[0].reason, s->example->v[0].source);
			printf("  hyperv:  %s: %s [%s]\n", wc_level_name(s->example->v[1].level),
			       s->example->v[1].reason, s->example->v[1].source);
		}
	}
	printf("\nsummary: %zu of %zu Windows nodes run it in process isolation, %zu in Hyper-V "
	       "isolation, %zu in neither, %zu unknown, %zu blocked at pull by the node's runtime "
	       "(default-platform pull)\n", a.process_ok, a.windows, a.hyperv_ok, a.none, a.unknown,
	       a.pull_blocked);
	printf("\nscheduling:\n%s", bbuf_str(&snip));
	wc_audit_release(&a);
	return rc;
}
