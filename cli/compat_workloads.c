/* berth compat audit --compose FILE / --workflow FILE: every workload of a
 * compose file or GitHub Actions workflow against the fleet or runner it
 * would land on; text, JSON or SARIF 2.1.0. Called from compat_audit.c. */
#include <cjson/cJSON.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "cli/compat_audit.h"
#include "common/common.h"
#include "compat/wc.h"
#include "compat/wc_fleet.h"
#include "compat/wc_workload.h"
#include "compat/wc_yaml.h"

DEFINE_CLEANUP_FUNC(struct wc_workloads *, wc_workloads_free)
DEFINE_CLEANUP_FUNC(struct wc_fleet *, wc_fleet_free)

#define SARIF_SCHEMA "https://json.schemastore.org/sarif-2.1.0.json"

static const char *wl_verdict(const struct wc_wl_result *r)
{
	if (!r->windows)
		return "skipped";
	if (r->blocked)
		return "blocked";
	if (r->unknown)
		return "unknown";
	return "runs";
}

static void target_osv(const struct wc_target *t, char *buf, size_t n)
{
	if (!t->host_known)
		snprintf(buf, n, "-");
	else if (t->host.has_rev)
		snprintf(buf, n, "10.0.%u.%u", t->host.build, t->host.rev);
	else
		snprintf(buf, n, "10.0.%u", t->host.build);
}

/* Directory holding .github/workflows/X, else the workflow's own directory. */
static char *repo_root_of(const char *wf)
{
	const char *g = strstr(wf, ".github/workflows/");
	if (g == wf)
		return xstrdup(".");
	if (g && g[-1] == '/')
		return g - wf == 1 ? xstrdup("/") : xstrndup(wf, (size_t)(g - wf - 1));
	_cleanup_free_ char *c = xstrdup(wf);
	return xstrdup(dirname(c));
}

static cJSON *str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

static cJSON *to_json(const struct wc_workloads *wl, const struct wc_fleet *f, const struct wc_placement *p,
		      const char *today)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "file", wl->file);
	cJSON_AddStringToObject(root, "format", wl->format);
	cJSON_AddStringToObject(root, "date", today);
	if (f) {
		cJSON *jf = cJSON_AddObjectToObject(root, "fleet");
		cJSON_AddStringToObject(jf, "file", f->name);
		cJSON_AddStringToObject(jf, "format", f->format);
		cJSON_AddNumberToObject(jf, "nodes", (double)f->n);
	} else {
		cJSON_AddNullToObject(root, "fleet");
	}
	cJSON *arr = cJSON_AddArrayToObject(root, "workloads");
	for (size_t i = 0; i < p->n; i++) {
		const struct wc_wl_result *r = &p->r[i];
		const struct wc_workload *w = r->w;
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", w->name);
		cJSON_AddStringToObject(o, "kind", wc_wl_kind_name(w->kind));
		cJSON_AddItemToObject(o, "job", str_or_null(w->job));
		cJSON_AddItemToObject(o, "image", str_or_null(w->image));
		cJSON_AddItemToObject(o, "image_written", str_or_null(w->image_written));
		cJSON_AddItemToObject(o, "dockerfile", str_or_null(w->dockerfile));
		cJSON_AddNumberToObject(o, "line", w->pos.line);
		cJSON_AddNumberToObject(o, "column", w->pos.col);
		cJSON_AddStringToObject(o, "verdict", wl_verdict(r));
		cJSON_AddItemToObject(o, "skipped", str_or_null(r->skip));
		if (r->img.has_version)
			cJSON_AddNumberToObject(o, "image_build", r->img.build);
		else
			cJSON_AddNullToObject(o, "image_build");
		cJSON_AddItemToObject(o, "image_release", str_or_null(r->img.rel ? r->img.rel->id : NULL));
		cJSON_AddStringToObject(o, "image_source", r->desc);
		cJSON_AddItemToObject(o, "platform", str_or_null(w->platform));
		cJSON_AddItemToObject(o, "isolation", str_or_null(w->isolation));
		cJSON *jc = cJSON_AddArrayToObject(o, "constraints");
		for (size_t j = 0; j < w->ncons; j++) {
			cJSON *c = cJSON_CreateObject();
			cJSON_AddStringToObject(c, "text", w->cons[j].text);
			cJSON_AddBoolToObject(c, "valid", w->cons[j].valid);
			cJSON_AddNumberToObject(c, "line", w->cons[j].pos.line);
			cJSON_AddItemToArray(jc, c);
		}
		cJSON *ju = cJSON_AddArrayToObject(o, "unexpanded");
		for (size_t j = 0; j < w->nunexpanded; j++)
			cJSON_AddItemToArray(ju, cJSON_CreateString(w->unexpanded[j]));
		if (w->nruns) {
			cJSON *jr = cJSON_AddArrayToObject(o, "runs_on");
			for (size_t j = 0; j < w->nruns; j++) {
				cJSON *x = cJSON_CreateObject();
				cJSON *ls = cJSON_AddArrayToObject(x, "labels");
				for (size_t k = 0; k < w->runs[j].nlabels; k++)
					cJSON_AddItemToArray(ls, cJSON_CreateString(w->runs[j].labels[k]));
				cJSON_AddItemToObject(x, "group", str_or_null(w->runs[j].group));
				cJSON_AddItemToObject(x, "via", str_or_null(w->runs[j].via));
				cJSON_AddItemToArray(jr, x);
			}
		}
		cJSON_AddItemToObject(o, "problem", str_or_null(w->problem));
		cJSON *jt = cJSON_AddArrayToObject(o, "targets");
		for (size_t j = 0; j < r->nt; j++) {
			const struct wc_target *t = &r->t[j];
			cJSON *x = cJSON_CreateObject();
			char osv[32];
			target_osv(t, osv, sizeof(osv));
			cJSON_AddStringToObject(x, "target", t->name);
			cJSON_AddStringToObject(x, "kind", t->kind);
			if (t->nnodes)
				cJSON_AddNumberToObject(x, "nodes", (double)t->nnodes);
			cJSON_AddItemToObject(x, "os_version", t->host_known ? cJSON_CreateString(osv) : cJSON_CreateNull());
			cJSON_AddItemToObject(x, "release", str_or_null(t->host_known && t->host.rel ? t->host.rel->name : NULL));
			cJSON_AddItemToObject(x, "isolation", t->host_known ? cJSON_CreateString(wc_isolation_name(t->iso))
									    : cJSON_CreateNull());
			cJSON_AddItemToObject(x, "isolation_from", str_or_null(t->iso_from));
			cJSON_AddStringToObject(x, "level", wc_level_name(t->v.level));
			cJSON_AddBoolToObject(x, "blocked", t->blocked);
			cJSON_AddStringToObject(x, "reason", t->v.reason);
			cJSON_AddStringToObject(x, "source", t->v.source);
			if (t->host_known) {
				cJSON *a = cJSON_AddObjectToObject(x, "other_isolation");
				cJSON_AddStringToObject(a, "isolation", wc_isolation_name(t->iso == WC_ISO_PROCESS ?
									     WC_ISO_HYPERV : WC_ISO_PROCESS));
				cJSON_AddStringToObject(a, "level", wc_level_name(t->alt.level));
				cJSON_AddStringToObject(a, "reason", t->alt.reason);
			}
			cJSON_AddItemToObject(x, "fields", str_or_null(t->fields));
			cJSON_AddItemToObject(x, "fix", str_or_null(t->fix));
			cJSON_AddItemToArray(jt, x);
		}
		cJSON *jn = cJSON_AddArrayToObject(o, "notes");
		for (size_t j = 0; j < r->nnotes; j++)
			cJSON_AddItemToArray(jn, cJSON_CreateString(r->notes[j]));
		cJSON_AddItemToArray(arr, o);
	}
	cJSON *s = cJSON_AddObjectToObject(root, "summary");
	cJSON_AddNumberToObject(s, "workloads", (double)p->n);
	cJSON_AddNumberToObject(s, "runs", (double)p->runs);
	cJSON_AddNumberToObject(s, "blocked", (double)p->blocked);
	cJSON_AddNumberToObject(s, "unknown", (double)p->unknown);
	cJSON_AddNumberToObject(s, "skipped", (double)p->skipped);
	return root;
}

static void sarif_result(cJSON *results, const char *rule, const char *level, const char *uri,
			 struct wc_pos pos, const char *text)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "ruleId", rule);
	cJSON_AddStringToObject(r, "level", level);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "message"), "text", text);
	cJSON *locs = cJSON_AddArrayToObject(r, "locations");
	cJSON *loc = cJSON_CreateObject();
	cJSON *pl = cJSON_AddObjectToObject(loc, "physicalLocation");
	cJSON_AddStringToObject(cJSON_AddObjectToObject(pl, "artifactLocation"), "uri", uri);
	cJSON *reg = cJSON_AddObjectToObject(pl, "region");
	cJSON_AddNumberToObject(reg, "startLine", pos.line > 0 ? pos.line : 1);
	if (pos.col > 0)
		cJSON_AddNumberToObject(reg, "startColumn", pos.col);
	cJSON_AddItemToArray(locs, loc);
	cJSON_AddItemToArray(results, r);
}

static void add_rule(cJSON *rules, const char *id, const char *text)
{
	cJSON *r = cJSON_CreateObject();
	cJSON_AddStringToObject(r, "id", id);
	cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "shortDescription"), "text", text);
	cJSON_AddItemToArray(rules, r);
}

static cJSON *to_sarif(const struct wc_workloads *wl, const struct wc_placement *p)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "$schema", SARIF_SCHEMA);
	cJSON_AddStringToObject(root, "version", "2.1.0");
	cJSON *runs = cJSON_AddArrayToObject(root, "runs");
	cJSON *run = cJSON_CreateObject();
	cJSON *drv = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
	cJSON_AddStringToObject(drv, "name", "berth");
	cJSON *rules = cJSON_AddArrayToObject(drv, "rules");
	add_rule(rules, "windows-container-blocked", "A Windows container would not start where it is placed");
	add_rule(rules, "windows-container-unknown", "Where or how a Windows container runs cannot be determined");
	add_rule(rules, "unexpanded-variable", "A variable berth cannot expand decides the image or placement");
	cJSON *results = cJSON_AddArrayToObject(run, "results");
	for (size_t i = 0; i < p->n; i++) {
		const struct wc_wl_result *r = &p->r[i];
		const struct wc_workload *w = r->w;
		if (!r->windows)
			continue;
		for (size_t j = 0; j < r->nt; j++) {
			const struct wc_target *t = &r->t[j];
			if (!t->blocked && t->v.level != WC_UNKNOWN)
				continue;
			_cleanup_free_ char *msg = xasprintf("%s: %s on %s%s%s: %s%s%s", w->name,
				w->image ? w->image : "(no image)", t->name,
				t->host_known ? ", " : "", t->host_known ? wc_isolation_name(t->iso) : "",
				t->v.reason, t->fix ? ". Fix: " : "", t->fix ? t->fix : "");
			struct wc_pos pos = w->pos;
			if (t->v.level == WC_UNKNOWN && strcmp(t->kind, "runner") == 0 && w->runs_pos.line)
				pos = w->runs_pos;
			sarif_result(results, t->blocked ? "windows-container-blocked" : "windows-container-unknown",
				     t->blocked ? "error" : "warning", wl->file, pos, msg);
		}
		for (size_t j = 0; j < w->nunexpanded; j++) {
			_cleanup_free_ char *msg = xasprintf("%s: '%s' is left unexpanded; the image or placement "
							     "depends on it", w->name, w->unexpanded[j]);
			sarif_result(results, "unexpanded-variable", "warning", wl->file, w->pos, msg);
		}
	}
	cJSON_AddItemToArray(runs, run);
	return root;
}

static void print_text(const struct wc_workloads *wl, const struct wc_fleet *f, const struct wc_placement *p)
{
	printf("%s  %s", wl->format, wl->file);
	if (f)
		printf("   fleet %s (%s): %zu nodes", f->name, f->format, f->n);
	printf("\n");
	for (size_t i = 0; i < p->n; i++) {
		const struct wc_wl_result *r = &p->r[i];
		const struct wc_workload *w = r->w;
		printf("\n%s %s  [%s:%d:%d]  %s\n", w->kind == WC_WL_SERVICE ? "service" : "workload", w->name,
		       wl->file, w->pos.line, w->pos.col, wl_verdict(r));
		if (w->dockerfile)
			printf("  dockerfile %s (base image of the built stage)\n", w->dockerfile);
		printf("  image  %s\n", r->desc);
		if (r->img.has_version)
			printf("         build %u (%s)\n", r->img.build, r->img.rel ? r->img.rel->name : "not a known release");
		if (r->skip) {
			printf("  skipped: %s\n", r->skip);
			continue;
		}
		for (size_t j = 0; j < r->nt; j++) {
			const struct wc_target *t = &r->t[j];
			char osv[32];
			target_osv(t, osv, sizeof(osv));
			printf("  on %s", t->name);
			if (t->host_known)
				printf(" (%s, %s; %s isolation: %s)", osv,
				       t->host.rel ? t->host.rel->name : "unknown release",
				       wc_isolation_name(t->iso), t->iso_from ? t->iso_from : "");
			printf("\n    %s: %s%s%s%s\n", wc_level_name(t->v.level), t->v.reason,
			       t->v.source[0] ? " [" : "", t->v.source, t->v.source[0] ? "]" : "");
			if (t->host_known && t->v.level != t->alt.level)
				printf("    %s: %s\n", wc_isolation_name(t->iso == WC_ISO_PROCESS ? WC_ISO_HYPERV
										   : WC_ISO_PROCESS),
				       wc_level_name(t->alt.level));
			if (t->fix)
				printf("    fix: %s\n", t->fix);
			if (t->fields)
				printf("    from: %s\n", t->fields);
		}
		for (size_t j = 0; j < r->nnotes; j++)
			printf("  note: %s\n", r->notes[j]);
	}
	printf("\nsummary: %zu workloads: %zu run, %zu blocked, %zu unknown, %zu skipped (not Windows)\n", p->n,
	       p->runs, p->blocked, p->unknown, p->skipped);
}

int cli_compat_workloads(const char *compose, const char *workflow, const char *repo, const char *fleet_path,
			 const char *format, const char *kbfile, const char *today)
{
	struct berr *err = NULL;
	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	_cleanup_(wc_fleet_free_ptr) struct wc_fleet *f = NULL;
	if (fleet_path && !(f = wc_fleet_load(fleet_path, &err))) {
		if (err->code == BERR_NOTFOUND || err->code == BERR_IO)
			err->code = BERR_INPUT;
		return cli_report(err);
	}
	const char *file = compose ? compose : workflow;
	_cleanup_bbuf_ struct bbuf text = BBUF_INIT;
	if (bfile_read_all(file, WC_YAML_MAX_SIZE, &text, &err) < 0) {
		if (err->code == BERR_NOTFOUND || err->code == BERR_IO)
			err->code = BERR_INPUT;
		return cli_report(err);
	}
	_cleanup_(wc_workloads_free_ptr) struct wc_workloads *wl = NULL;
	int rc;
	if (compose) {
		_cleanup_free_ char *c = xstrdup(compose);
		rc = wc_compose_load(bbuf_str(&text), text.len, compose, dirname(c), &wl, &err);
	} else {
		_cleanup_free_ char *root = repo ? xstrdup(repo) : repo_root_of(workflow);
		rc = wc_workflow_load(bbuf_str(&text), text.len, workflow, root, &wl, &err);
	}
	if (rc < 0)
		return cli_report(err);
	struct wc_place_opts o = { .today = today };
	struct wc_placement p;
	if (wc_place(kb, wl, f, &o, &p, &err) < 0)
		return cli_report(err);
	if (strcmp(format, "text") == 0) {
		print_text(wl, f, &p);
	} else {
		_cleanup_cjson_ cJSON *root = strcmp(format, "sarif") == 0 ? to_sarif(wl, &p)
									   : to_json(wl, f, &p, today);
		cli_print_json(root);
	}
	rc = p.blocked ? 1 : 0;
	wc_placement_release(&p);
	return rc;
}
