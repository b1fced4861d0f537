/* --check-host (bld_int.h): before any work, compat (compat/wc.h) answers
 * for every Windows stage reachable from the target whether it runs on
 * each given host, in which isolation mode, and if not, why and where it
 * would. Linux stages (a Linux stage feeding files to a Windows image) are
 * not checked; a Linux target is an error, as no Windows host runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "builder/bld_engine.h"
#include "builder/bld_int.h"
#include "compat/wc.h"
#include "common/common.h"

DEFINE_CLEANUP_FUNC(struct wc_kb *, wc_kb_free)

static bool is_windows(const struct img_platform *p)
{
	return p->os && !strcasecmp(p->os, "windows");
}

static void stage_name(const struct bld *b, size_t si, char *buf, size_t n)
{
	const struct bld_stage_plan *sp = &b->plan->st[si];
	if (sp->name[0])
		snprintf(buf, n, "stage '%s'", sp->name);
	else if (si == b->plan->target)
		snprintf(buf, n, "the target stage");
	else
		snprintf(buf, n, "stage %zu", si);
}

/* compat's view of the stage's image */
static void wc_image_of(const struct wc_kb *kb, const struct img_platform *p, struct wc_image *img)
{
	memset(img, 0, sizeof(*img));
	snprintf(img->os, sizeof(img->os), "windows");
	snprintf(img->arch, sizeof(img->arch), "%s", p->architecture ? p->architecture : "");
	struct wc_version v;
	if (p->os_version && wc_version_parse(p->os_version, &v, NULL) == 0 && v.has_majmin) {
		wc_image_set_version(img, &v);
		img->rel = wc_kb_by_build(kb, v.build, false);
	}
}

static void host_desc(const char *spec, const struct wc_host *h, char *buf, size_t n)
{
	char b[32];
	snprintf(b, sizeof(b), h->has_rev ? "%u.%u" : "%u", h->build, h->rev);
	if (h->rel)
		snprintf(buf, n, "'%s' (build %s, %s)", spec, b, h->rel->name);
	else
		snprintf(buf, n, "'%s' (build %s)", spec, b);
}

static int check_one(struct bld *b, const struct wc_kb *kb, size_t si,
		     const struct img_platform *p, const char *base, const char *spec,
		     const struct wc_host *h, struct berr **err)
{
	struct wc_image img;
	wc_image_of(kb, p, &img);
	struct wc_verdict vp, vh;
	wc_check(kb, h, &img, WC_ISO_PROCESS, &vp);
	wc_check(kb, h, &img, WC_ISO_HYPERV, &vh);
	char sn[160], hd[160];
	stage_name(b, si, sn, sizeof(sn));
	host_desc(spec, h, hd, sizeof(hd));
	const char *ver = img.has_version ? p->os_version : "unknown";
	bool pr = wc_level_runs(vp.level), hr = wc_level_runs(vh.level);
	if (pr || hr) {
		_cleanup_free_ char *m = NULL;
		if (pr)
			m = xasprintf("check-host %s: %s (os.version %s) runs with process isolation "
				      "(%s)%s", hd, sn, ver, wc_level_name(vp.level),
				      hr ? "" : "; Hyper-V isolation does not");
		else
			m = xasprintf("check-host %s: %s (os.version %s) runs with Hyper-V isolation only "
				      "(%s; process isolation %s: %s)", hd, sn, ver,
				      wc_level_name(vh.level), wc_level_name(vp.level), vp.reason);
		bld_note(b, m);
		return 0;
	}
	const struct df_node *fn = b->plan->st[si].st->from->node;
	_cleanup_free_ char *fit = img.has_version ? bld_engine_hosts_that_run(kb, &img) : NULL;
	const char *fitp = fit && *fit ? "; it runs with " : "";
	if (vp.level == vh.level && !strcmp(vp.reason, vh.reason))
		return berr_set_at(err, BERR_FAILED, b->plan->file->name, fn->start_line, fn->col,
				   "--check-host %s: %s (base '%s', os.version %s) cannot run there "
				   "(%s in both isolation modes): %s [%s]%s%s", hd, sn, base, ver,
				   wc_level_name(vp.level), vp.reason, vp.source, fitp, fit ? fit : "");
	return berr_set_at(err, BERR_FAILED, b->plan->file->name, fn->start_line, fn->col,
			   "--check-host %s: %s (base '%s', os.version %s) cannot run there: process "
			   "isolation %s: %s [%s]; Hyper-V isolation %s: %s [%s]%s%s", hd, sn, base,
			   ver, wc_level_name(vp.level), vp.reason, vp.source, wc_level_name(vh.level),
			   vh.reason, vh.source, fitp, fit ? fit : "");
}

int bld_check_hosts(struct bld *b, struct berr **err)
{
	const struct bld_opts *o = b->o;
	if (!o->ncheck_hosts)
		return 0;
	_cleanup_(wc_kb_free_ptr) struct wc_kb *kb = wc_kb_load(NULL, err);
	if (!kb)
		return -1;
	struct wc_host *hosts = xcalloc(o->ncheck_hosts, sizeof(*hosts));
	int rc = 0;
	for (size_t i = 0; i < o->ncheck_hosts && rc == 0; i++)
		if (wc_host_parse(kb, o->check_hosts[i], &hosts[i], err) < 0) {
			berr_wrap(err, "invalid --check-host '%s'", o->check_hosts[i]);
			(*err)->code = BERR_USAGE;
			rc = -1;
		}
	size_t *todo = xcalloc(b->plan->norder + 1, sizeof(size_t)), nt = 0;
	todo[nt++] = b->plan->target; /* first: a Linux image runs on no Windows host */
	for (size_t k = 0; k < b->plan->norder; k++)
		if (b->plan->order[k] != b->plan->target)
			todo[nt++] = b->plan->order[k];
	for (size_t k = 0; k < nt && rc == 0; k++) {
		size_t si = todo[k];
		struct img_platform p;
		const char *base = NULL;
		if (bld_stage_platform(b, si, &p, &base, err) < 0) {
			const struct df_node *fn = b->plan->st[si].st->from->node;
			berr_locate(err, b->plan->file->name, fn->start_line, fn->col);
			img_platform_clear(&p);
			rc = -1;
			break;
		}
		if (!is_windows(&p)) {
			if (si == b->plan->target) {
				_cleanup_free_ char *pl = img_platform_format(&p);
				rc = berr_set(err, BERR_USAGE, "--check-host checks Windows hosts, but the "
					      "target stage is %s: only Windows images run there", pl);
			}
			img_platform_clear(&p);
			continue;
		}
		for (size_t i = 0; i < o->ncheck_hosts && rc == 0; i++)
			rc = check_one(b, kb, si, &p, base, o->check_hosts[i], &hosts[i], err);
		img_platform_clear(&p);
	}
	free(todo);
	free(hosts);
	return rc;
}
