/* Placement of compose / workflow workloads on fleets and CI runners (see
 * wc_workload.h). Each workload is checked on every group of nodes it could
 * land on (same build, kind and isolation), or on each runner its job could
 * get, in the isolation mode it would get there:
 *   compose/Swarm: the service's `isolation:` key, else the daemon default:
 *     docker info's Isolation when the fleet came from docker info, else
 *     process on Windows Server and hyperv on Windows 10/11 [ISO; MOBY-DAEMON];
 *   GitHub-hosted Windows runners (Windows Server): process, unless the step
 *     passes --isolation. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "compat/wc_workload.h"

#define MAX_NAMES_SHOWN 6       /* node names listed per target */

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static void note(struct wc_wl_result *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void note(struct wc_wl_result *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_push(&r->notes, &r->nnotes, xvasprintf(fmt, ap));
	va_end(ap);
}

static struct wc_target *add_target(struct wc_wl_result *r, const char *kind)
{
	r->t = xreallocarray(r->t, r->nt + 1, sizeof(*r->t));
	struct wc_target *t = &r->t[r->nt++];
	memset(t, 0, sizeof(*t));
	t->kind = kind;
	t->v.level = WC_UNKNOWN;
	t->alt.level = WC_UNKNOWN;
	return t;
}

static void set_v(struct wc_verdict *v, enum wc_level l, const char *src, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static void set_v(struct wc_verdict *v, enum wc_level l, const char *src, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	v->level = l;
	vsnprintf(v->reason, sizeof(v->reason), fmt, ap);
	snprintf(v->source, sizeof(v->source), "%s", src);
	v->confidence = 'H';
	va_end(ap);
}

static void add_fix(struct wc_target *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void add_fix(struct wc_target *t, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (t->fix) {
		char *j = xasprintf("%s; or %s", t->fix, s);
		free(t->fix);
		free(s);
		s = j;
	}
	t->fix = s;
}

void wc_placement_release(struct wc_placement *p)
{
	for (size_t i = 0; i < p->n; i++) {
		struct wc_wl_result *r = &p->r[i];
		free(r->skip);
		for (size_t j = 0; j < r->nt; j++) {
			free(r->t[j].name);
			free(r->t[j].iso_from);
			free(r->t[j].fields);
			free(r->t[j].fix);
		}
		free(r->t);
		for (size_t j = 0; j < r->nnotes; j++)
			free(r->notes[j]);
		free(r->notes);
	}
	free(p->r);
	memset(p, 0, sizeof(*p));
}

/* Image reference -> wc_image via its tag (never a local path here). */
static bool image_of(const struct wc_kb *kb, struct wc_wl_result *r, const char *ref)
{
	struct berr *e = NULL;
	memset(&r->img, 0, sizeof(r->img));
	if (wc_tag_parse(kb, ref, &r->tag, &e) < 0) {
		snprintf(r->desc, sizeof(r->desc), "%s", e->msg);
		berr_free(e);
		return false;
	}
	snprintf(r->img.os, sizeof(r->img.os), "windows");
	if (r->tag.how == WC_TAG_UNKNOWN) {
		snprintf(r->desc, sizeof(r->desc), "image reference '%s' (%s)", ref, r->tag.why);
		return true;
	}
	r->img.major = r->tag.ver.major;
	r->img.minor = r->tag.ver.minor;
	r->img.build = r->tag.ver.build;
	r->img.rev = r->tag.ver.rev;
	r->img.has_rev = r->tag.ver.has_rev;
	r->img.has_version = true;
	r->img.rel = r->tag.rel;
	if (r->tag.arch[0])
		snprintf(r->img.arch, sizeof(r->img.arch), "%s", r->tag.arch);
	static const char *const how[] = { "unknown", "release tag", "build tag", "derived image tag" };
	snprintf(r->desc, sizeof(r->desc), "image reference '%s' (%s)", ref, how[r->tag.how]);
	return true;
}

/* The same image for build `b`: the family's preferred tag for that release,
 * or the release token of a derived tag replaced. NULL when none exists. */
static char *retag(const struct wc_kb *kb, const struct wc_wl_result *r, uint32_t b)
{
	const struct wc_release *to = wc_kb_by_build(kb, b, false);
	if (!to || r->tag.how == WC_TAG_UNKNOWN || !r->tag.rel)
		return NULL;
	const char *fam = r->tag.family ? r->tag.family->key : "servercore";
	if (r->tag.family && r->tag.family->retired)
		fam = strstr(fam, "nano") ? "nanoserver" : "servercore";
	const struct wc_family_tags *nt = wc_release_tags(to, fam);
	if (!nt || !nt->ntags)
		return NULL;
	struct wc_ref ref;
	if (wc_ref_split(r->w->image, &ref, NULL) < 0 || !ref.tag[0])
		return NULL;
	if (r->tag.how == WC_TAG_RELEASE || r->tag.how == WC_TAG_BUILD) {
		const struct wc_family *f = wc_kb_family(kb, fam);
		return xasprintf("%s:%s", f && f->nrepos ? f->repos[0] : ref.repo, nt->tags[0]);
	}
	const struct wc_family_tags *ot = wc_release_tags(r->tag.rel, fam);
	for (size_t i = 0; ot && i < ot->ntags; i++) {
		const char *hit = strcasestr(ref.tag, ot->tags[i]);
		if (hit)
			return xasprintf("%s:%.*s%s%s", ref.repo, (int)(hit - ref.tag), ref.tag, nt->tags[0],
					 hit + strlen(ot->tags[i]));
	}
	return NULL;
}

static const struct wc_runner *runner_by_label(const struct wc_kb *kb, const char *label)
{
	for (size_t i = 0; i < kb->nrun; i++)
		if (strcmp(kb->run[i].ci, "github") == 0 && strcasecmp(kb->run[i].label, label) == 0)
			return &kb->run[i];
	return NULL;
}

/* A current, pinned GitHub runner label with build b */
static const struct wc_runner *runner_for_build(const struct wc_kb *kb, uint32_t b, const char *today)
{
	for (size_t i = 0; i < kb->nrun; i++) {
		const struct wc_runner *rn = &kb->run[i];
		if (strcmp(rn->ci, "github") == 0 && !rn->floating && rn->build == b &&
		    !(rn->retired && strcmp(today, rn->retired) >= 0))
			return rn;
	}
	return NULL;
}

static bool runs(enum wc_level l)
{
	return wc_level_runs(l);
}

/* verdicts for one known host; fills t->v/alt/blocked */
static void judge(const struct wc_kb *kb, struct wc_wl_result *r, struct wc_target *t)
{
	if (!r->img.has_version) {
		set_v(&t->v, WC_UNKNOWN, "", "%s", r->w->image ? r->desc : r->w->problem);
		t->alt = t->v;
		return;
	}
	wc_check(kb, &t->host, &r->img, t->iso, &t->v);
	wc_check(kb, &t->host, &r->img, t->iso == WC_ISO_PROCESS ? WC_ISO_HYPERV : WC_ISO_PROCESS, &t->alt);
	t->blocked = t->v.level == WC_BLOCKED;
}

static void image_fixes(const struct wc_kb *kb, struct wc_wl_result *r, struct wc_target *t, bool compose)
{
	if (!t->blocked || !t->host_known)
		return;
	if (t->iso == WC_ISO_PROCESS && runs(t->alt.level))
		add_fix(t, compose ? "switch isolation: set 'isolation: hyperv' on the service (needs Hyper-V on "
				     "the nodes)" :
				     "switch isolation: docker run --isolation=hyperv (needs Hyper-V on the runner)");
	_cleanup_free_ char *nt = retag(kb, r, t->host.build);
	if (nt)
		add_fix(t, "pin the image to '%s' (build %u)", nt, t->host.build);
}

/* ---- compose on a fleet ------------------------------------------- */

static const char *node_value(const struct wc_node *n, const char *key)
{
	if (strcmp(key, "node.platform.os") == 0)
		return n->os;
	if (strcmp(key, "node.platform.arch") == 0)
		return n->arch;
	if (strcmp(key, "node.hostname") == 0)
		return n->hostname ? n->hostname : n->name;
	if (strcmp(key, "node.role") == 0)
		return n->role;
	if (strcmp(key, "node.id") == 0)
		return n->id;
	if (strncmp(key, "node.labels.", 12) == 0)
		return wc_node_label(n, key + 12, false);
	if (strncmp(key, "engine.labels.", 14) == 0)
		return wc_node_label(n, key + 14, true);
	return NULL;
}

static bool arch_eq(const char *a, const char *b)
{
	if (!a || !b)
		return false;
	if ((strcmp(a, "x86_64") == 0 || strcmp(a, "amd64") == 0) &&
	    (strcmp(b, "x86_64") == 0 || strcmp(b, "amd64") == 0))
		return true;
	return strcasecmp(a, b) == 0;
}

static bool node_matches(const struct wc_workload *w, const struct wc_node *n)
{
	for (size_t i = 0; i < w->ncons; i++) {
		const struct wc_constraint *c = &w->cons[i];
		if (!c->valid)
			continue;
		const char *v = node_value(n, c->key);
		bool eq = v && (strcmp(c->key, "node.platform.arch") == 0 ? arch_eq(v, c->value)
									: strcasecmp(v, c->value) == 0);
		if (eq == c->ne)
			return false;
	}
	return true;
}

struct group {
	bool known;
	struct wc_host host;
	enum wc_isolation iso;
	const char *iso_from;
	const struct wc_node *first;
	struct bbuf names;
	size_t n;
	char err[160];
};

static void compose_targets(const struct wc_kb *kb, struct wc_wl_result *r, const struct wc_fleet *f,
			    const char *today)
{
	(void)today;
	const struct wc_workload *w = r->w;
	int want_iso = -1;      /* -1 daemon default */
	if (w->isolation) {
		if (strcasecmp(w->isolation, "process") == 0)
			want_iso = WC_ISO_PROCESS;
		else if (strcasecmp(w->isolation, "hyperv") == 0)
			want_iso = WC_ISO_HYPERV;
		else if (strcasecmp(w->isolation, "default") != 0)
			note(r, "isolation '%s' is not process, hyperv or default: the engine refuses it",
			     w->isolation);
	}
	for (size_t i = 0; i < w->ncons; i++)
		if (!w->cons[i].valid)
			note(r, "placement constraint '%s' (line %d) is not one Swarm accepts (node.id, "
			     "node.hostname, node.role, node.platform.os, node.platform.arch, node.labels.*, "
			     "engine.labels.*); ignored", w->cons[i].text, w->cons[i].pos.line);
	struct group *g = NULL;
	size_t ng = 0, excluded = 0, drained = 0, nonwin = 0;
	for (size_t i = 0; i < f->n; i++) {
		const struct wc_node *n = &f->nodes[i];
		if (!node_matches(w, n)) {
			excluded++;
			continue;
		}
		if (n->availability && strcasecmp(n->availability, "active") != 0) {
			drained++;
			continue;
		}
		if (n->os && strcasecmp(n->os, "windows") != 0) {
			nonwin++;
			continue;
		}
		struct group cur;
		memset(&cur, 0, sizeof(cur));
		struct berr *e = NULL;
		if (!n->build_text) {
			snprintf(cur.err, sizeof(cur.err), "no Windows build for the node (%s)",
				 strcmp(f->format, "swarm") == 0 ? "docker node inspect reports none: add a node "
				 "label windows-build=10.0.BUILD" : "no build in the fleet file");
		} else if (wc_host_parse(kb, n->build_text, &cur.host, &e) < 0) {
			snprintf(cur.err, sizeof(cur.err), "%s", e->msg);
			berr_free(e);
		} else {
			cur.known = true;
			if (n->has_rev) {       /* else keep a revision the build text carried */
				cur.host.rev = n->rev;
				cur.host.has_rev = true;
			}
			cur.host.hyperv = n->hyperv;
			if (n->client >= 0)
				cur.host.client = n->client == 1;
			if (n->arch)
				snprintf(cur.host.arch, sizeof(cur.host.arch), "%s", n->arch);
		}
		if (want_iso >= 0) {
			cur.iso = (enum wc_isolation)want_iso;
			cur.iso_from = "the service's isolation key";
		} else if (n->isolation && strcasecmp(n->isolation, "hyperv") == 0) {
			cur.iso = WC_ISO_HYPERV;
			cur.iso_from = "daemon default (docker info Isolation)";
		} else if (n->isolation && strcasecmp(n->isolation, "process") == 0) {
			cur.iso = WC_ISO_PROCESS;
			cur.iso_from = "daemon default (docker info Isolation)";
		} else if (cur.known && cur.host.client) {
			cur.iso = WC_ISO_HYPERV;
			cur.iso_from = "daemon default on Windows 10/11 (hyperv)";
		} else {
			cur.iso = WC_ISO_PROCESS;
			cur.iso_from = "daemon default on Windows Server (process)";
		}
		struct group *hit = NULL;
		for (size_t j = 0; j < ng && !hit; j++)
			if (g[j].known == cur.known && g[j].iso == cur.iso &&
			    (!cur.known || (g[j].host.build == cur.host.build &&
					    g[j].host.client == cur.host.client &&
					    g[j].host.has_rev == cur.host.has_rev && g[j].host.rev == cur.host.rev)) &&
			    (cur.known || strcmp(g[j].err, cur.err) == 0))
				hit = &g[j];
		if (!hit) {
			g = xreallocarray(g, ng + 1, sizeof(*g));
			hit = &g[ng++];
			*hit = cur;
			hit->first = n;
			hit->names = (struct bbuf)BBUF_INIT;
		}
		if (hit->n < MAX_NAMES_SHOWN)
			bbuf_addf(&hit->names, NULL, "%s%s", hit->n ? ", " : "", n->name);
		else if (hit->n == MAX_NAMES_SHOWN)
			bbuf_addstr(&hit->names, ", ...", NULL);
		hit->n++;
	}
	if (excluded)
		note(r, "%zu node(s) excluded by the placement constraints", excluded);
	if (drained)
		note(r, "%zu node(s) not active (drain or pause) are not scheduled on", drained);
	if (nonwin)
		note(r, "%zu non-Windows node(s) skipped: Swarm places a Windows image on Windows nodes only",
		     nonwin);
	if (ng == 0) {
		struct wc_target *t = add_target(r, "nodes");
		t->name = xstrdup("(no node)");
		set_v(&t->v, WC_BLOCKED, "SWARM-PLACEMENT", "no active Windows node satisfies the placement "
		      "constraints: the task stays pending");
		t->alt = t->v;
		t->blocked = true;
		t->fields = xstrdup("deploy.placement.constraints");
		add_fix(t, "change the placement constraints to match a Windows node");
	}
	/* constraint fix: builds (as their label values) where the service runs */
	struct bbuf ok = BBUF_INIT;
	const char *label = NULL;
	bool engine = false, any_bad = false;
	for (size_t j = 0; j < ng; j++) {
		struct wc_target *t = add_target(r, "nodes");
		t->name = bbuf_detach(&g[j].names, NULL);
		t->nnodes = g[j].n;
		t->iso = g[j].iso;
		t->iso_from = xstrdup(g[j].iso_from);
		const struct wc_node *n = g[j].first;
		t->fields = xasprintf("build: %s; os: %s; kind: %s", n->build_from ? n->build_from : "none",
				      n->os_from ? n->os_from : "not stated",
				      n->client_from ? n->client_from : "assumed server");
		if (!g[j].known) {
			set_v(&t->v, WC_UNKNOWN, "", "%s", g[j].err);
			t->alt = t->v;
			continue;
		}
		t->host_known = true;
		t->host = g[j].host;
		judge(kb, r, t);
		if (runs(t->v.level) && n->build_label && n->build_text) {
			if (!label || (strcmp(label, n->build_label) == 0 && engine == n->build_label_engine)) {
				label = n->build_label;
				engine = n->build_label_engine;
				if (!strstr(bbuf_str(&ok), n->build_text))
					bbuf_addf(&ok, NULL, "%s%s", ok.len ? "|" : "", n->build_text);
			}
		}
		any_bad |= t->blocked;
	}
	for (size_t j = 0; j < r->nt; j++) {
		struct wc_target *t = &r->t[j];
		if (!t->blocked || !t->host_known)
			continue;
		image_fixes(kb, r, t, true);
		if (label && ok.len && !strchr(bbuf_str(&ok), '|'))
			add_fix(t, "add the placement constraint '%s.labels.%s==%s'",
				engine ? "engine" : "node", label, bbuf_str(&ok));
		else if (label && ok.len)
			add_fix(t, "constrain the service to the nodes whose %s label is one of %s",
				label, bbuf_str(&ok));
	}
	(void)any_bad;
	bbuf_release(&ok);
	for (size_t j = 0; j < ng; j++)
		bbuf_release(&g[j].names);
	free(g);
}

/* ---- workflows on runners ----------------------------------------- */

static bool is_linux_label(const char *l)
{
	return strncasecmp(l, "ubuntu-", 7) == 0 || strcasecmp(l, "linux") == 0;
}

static bool is_mac_label(const char *l)
{
	return strncasecmp(l, "macos-", 6) == 0 || strcasecmp(l, "macos") == 0;
}

static void runner_target(const struct wc_kb *kb, struct wc_wl_result *r, const struct wc_runs_on *ro,
			  const char *today)
{
	const struct wc_workload *w = r->w;
	struct bbuf nm = BBUF_INIT;
	for (size_t i = 0; i < ro->nlabels; i++)
		bbuf_addf(&nm, NULL, "%s%s", i ? ", " : "", ro->labels[i]);
	if (ro->group)
		bbuf_addf(&nm, NULL, "%sgroup %s", ro->nlabels ? ", " : "", ro->group);
	struct wc_target *t = add_target(r, "runner");
	t->name = bbuf_detach(&nm, NULL);
	t->fields = xasprintf("runs-on%s%s (line %d) -> knowledge base runners[].build", ro->via ? " via " : "",
			      ro->via ? ro->via : "", w->runs_pos.line);
	if (ro->unresolved) {
		set_v(&t->v, WC_UNKNOWN, "", "runs-on '%s' is an expression berth does not resolve",
		      ro->unresolved);
		t->alt = t->v;
		return;
	}
	bool self_hosted = false, on_linux = false, mac = false;
	const struct wc_runner *rn = NULL;
	const char *unknown_label = NULL;
	for (size_t i = 0; i < ro->nlabels; i++) {
		const char *l = ro->labels[i];
		const struct wc_runner *k = runner_by_label(kb, l);
		if (k)
			rn = k;
		else if (strcasecmp(l, "self-hosted") == 0)
			self_hosted = true;
		else if (is_linux_label(l))
			on_linux = true;
		else if (is_mac_label(l))
			mac = true;
		else if (!unknown_label)
			unknown_label = l;
	}
	bool windows_img = r->img.has_version || r->tag.how != WC_TAG_UNKNOWN;
	if (on_linux || mac) {
		if (windows_img) {
			set_v(&t->v, WC_BLOCKED, "MOBY-PULL", "a %s runner cannot run Windows containers",
			      on_linux ? "Linux" : "macOS");
			t->blocked = true;
			const struct wc_runner *want = runner_for_build(kb, r->img.build, today);
			if (want)
				add_fix(t, "change the label to 'runs-on: %s' (build %u)", want->label, want->build);
		} else {
			set_v(&t->v, WC_SUPPORTED, "", "not a Windows image as far as its tag tells; not checked");
		}
		t->alt = t->v;
		return;
	}
	if (!rn || self_hosted) {
		if (self_hosted)
			set_v(&t->v, WC_UNKNOWN, "", "self-hosted runner: its Windows build is not known to berth");
		else if (unknown_label)
			set_v(&t->v, WC_UNKNOWN, "", "unknown runner label '%s': not in the knowledge base (not "
			      "guessed); update it with --releases FILE", unknown_label);
		else
			set_v(&t->v, WC_UNKNOWN, "", "runner group without labels: its Windows build is not known");
		t->alt = t->v;
		return;
	}
	if (rn->floating) {
		const struct wc_runner *want = r->img.has_version ? runner_for_build(kb, r->img.build, today) : NULL;
		set_v(&t->v, WC_UNKNOWN, rn->source, "runner label '%s' floats to newer Windows releases "
		      "(it moved to Windows Server 2022 in actions/runner-images#4856): the build the job "
		      "gets is not fixed", rn->label);
		t->alt = t->v;
		if (want)
			add_fix(t, "pin the label: 'runs-on: %s' (build %u, the image's)", want->label, want->build);
		else
			add_fix(t, "pin the label to a windows-YYYY runner whose build matches the image");
		return;
	}
	t->host_known = true;
	_cleanup_free_ char *hb = xasprintf("10.0.%u", rn->build);
	wc_host_parse(kb, hb, &t->host, NULL);
	t->host.client = false;
	if (w->isolation && strcasecmp(w->isolation, "hyperv") == 0) {
		t->iso = WC_ISO_HYPERV;
		t->iso_from = xstrdup("--isolation=hyperv");
	} else {
		t->iso = WC_ISO_PROCESS;
		t->iso_from = xstrdup(w->isolation && strcasecmp(w->isolation, "process") == 0 ?
				      "--isolation=process" :
				      "GitHub-hosted Windows Server runner default (process)");
	}
	free(t->fields);
	t->fields = xasprintf("runs-on%s%s (line %d) -> knowledge base runners[%s].build = %u [%s]",
			      ro->via ? " via " : "", ro->via ? ro->via : "", w->runs_pos.line, rn->label,
			      rn->build, rn->source);
	bool retired = rn->retired && strcmp(today, rn->retired) >= 0;
	if (retired) {
		char src[96];
		snprintf(src, sizeof(src), "%s", rn->source);
		judge(kb, r, t);
		char was[160];
		snprintf(was, sizeof(was), "%s", wc_level_name(t->v.level));
		set_v(&t->v, WC_BLOCKED, src, "runner label '%s' was retired on %s: no hosted runner picks "
		      "the job up (on that build the image would be %s)", rn->label, rn->retired, was);
		t->blocked = true;
		const struct wc_runner *want = r->img.has_version ? runner_for_build(kb, r->img.build, today) : NULL;
		if (want) {
			add_fix(t, "change the label to 'runs-on: %s'", want->label);
		} else {
			for (size_t i = 0; i < kb->nrun; i++) {
				const struct wc_runner *x = &kb->run[i];
				if (strcmp(x->ci, "github") || x->floating || !x->build ||
				    (x->retired && strcmp(today, x->retired) >= 0))
					continue;
				_cleanup_free_ char *nt = r->img.has_version ? retag(kb, r, x->build) : NULL;
				if (nt) {
					add_fix(t, "change the label to 'runs-on: %s' and pin the image to '%s'",
						x->label, nt);
					break;
				}
			}
			if (!t->fix)
				add_fix(t, "change the label to a current windows-YYYY runner");
		}
		return;
	}
	judge(kb, r, t);
	if (w->kind == WC_WL_JOB_CONTAINER || w->kind == WC_WL_JOB_SERVICE) {
		char was[160];
		snprintf(was, sizeof(was), "%s", wc_level_name(t->v.level));
		set_v(&t->v, WC_BLOCKED, "GHA-CONTAINER", "GitHub Actions runs %s containers only on Linux "
		      "runners (as a docker run step on %s the image would be %s)",
		      w->kind == WC_WL_JOB_CONTAINER ? "job" : "service", rn->label, was);
		t->blocked = true;
		add_fix(t, "start the image with a 'docker run' step instead of '%s:'",
			w->kind == WC_WL_JOB_CONTAINER ? "container" : "services");
		return;
	}
	if (t->blocked) {
		image_fixes(kb, r, t, false);
		const struct wc_runner *want = r->img.has_version ? runner_for_build(kb, r->img.build, today) : NULL;
		if (want)
			add_fix(t, "change the label to 'runs-on: %s' (build %u)", want->label, want->build);
	}
}

/* ---- driver -------------------------------------------------------- */

static bool windows_workload(const struct wc_workload *w, const struct wc_wl_result *r)
{
	if (r->tag.how != WC_TAG_UNKNOWN)
		return true;
	if (w->platform && strncasecmp(w->platform, "windows", 7) == 0)
		return true;
	for (size_t i = 0; i < w->ncons; i++)
		if (w->cons[i].valid && strcmp(w->cons[i].key, "node.platform.os") == 0 &&
		    strcasecmp(w->cons[i].value, "windows") == 0 && !w->cons[i].ne)
			return true;
	return false;
}

static bool job_on_windows(const struct wc_kb *kb, const struct wc_workload *w)
{
	for (size_t i = 0; i < w->nruns; i++)
		for (size_t j = 0; j < w->runs[i].nlabels; j++) {
			const char *l = w->runs[i].labels[j];
			if (runner_by_label(kb, l) || strncasecmp(l, "windows", 7) == 0)
				return true;
		}
	return false;
}

int wc_place(const struct wc_kb *kb, const struct wc_workloads *wl, const struct wc_fleet *fleet,
	     const struct wc_place_opts *o, struct wc_placement *p, struct berr **err)
{
	(void)err;
	memset(p, 0, sizeof(*p));
	p->r = xcalloc(wl->n ? wl->n : 1, sizeof(*p->r));
	p->n = wl->n;
	bool compose = strcmp(wl->format, "compose") == 0;
	for (size_t i = 0; i < wl->n; i++) {
		const struct wc_workload *w = &wl->w[i];
		struct wc_wl_result *r = &p->r[i];
		r->w = w;
		bool ok_ref = true;
		if (w->image && w->nunexpanded && strchr(w->image, '$'))
			snprintf(r->desc, sizeof(r->desc), "image '%s' depends on variables berth cannot "
				 "expand", w->image);
		else if (w->image)
			ok_ref = image_of(kb, r, w->image);
		else
			snprintf(r->desc, sizeof(r->desc), "%s", w->problem ? w->problem : "no image");
		if (!ok_ref)
			note(r, "%s", r->desc);
		for (size_t j = 0; j < w->nunexpanded; j++)
			note(r, "'%s' is left unexpanded (berth has no value for it)", w->unexpanded[j]);
		if (w->problem && w->image)
			note(r, "%s", w->problem);
		if (r->tag.why[0] && r->tag.how != WC_TAG_UNKNOWN)
			note(r, "%s", r->tag.why);
		r->windows = windows_workload(w, r) || (!compose && job_on_windows(kb, w));
		if (!r->windows) {
			r->skip = xstrdup(w->image ? "not a Windows workload: its tag names no Windows release "
				  "and nothing places it on Windows" : r->desc);
			p->skipped++;
			continue;
		}
		if (compose) {
			if (!fleet) {
				struct wc_target *t = add_target(r, "nodes");
				t->name = xstrdup("(no fleet)");
				set_v(&t->v, WC_UNKNOWN, "", "no fleet given: pass --fleet with docker node "
				      "inspect, docker info, kubectl or inventory output");
				t->alt = t->v;
			} else {
				compose_targets(kb, r, fleet, o->today);
			}
		} else {
			if (w->nruns == 0) {
				struct wc_target *t = add_target(r, "runner");
				t->name = xstrdup("(no runs-on)");
				set_v(&t->v, WC_UNKNOWN, "", "the job has no runs-on");
				t->alt = t->v;
			}
			for (size_t j = 0; j < w->nruns; j++)
				runner_target(kb, r, &w->runs[j], o->today);
		}
		for (size_t j = 0; j < r->nt; j++) {
			r->blocked |= r->t[j].blocked;
			r->unknown |= r->t[j].v.level == WC_UNKNOWN;
		}
		if (r->blocked)
			p->blocked++;
		else if (r->unknown)
			p->unknown++;
		else
			p->runs++;
	}
	return 0;
}
