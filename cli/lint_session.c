/* cli/: lint session setup shared by `berth lint` and `berth hook run`. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/lint_session.h"
#include "common/common.h"
#include "compat/wc_fleet.h"

#define FAIL_NONE 3

static void add_ignore(struct cli_lint_session *s, const char *id)
{
	s->ignore = xreallocarray(s->ignore, s->nignore + 1, sizeof(char *));
	s->ignore[s->nignore++] = xstrdup(id);
}

static int add_host(struct cli_lint_session *s, const char *label, const struct wc_host *h,
		    struct berr **err)
{
	if (s->nhosts >= LINT_MAX_HOSTS)
		return berr_set(err, BERR_LIMIT, "more than %d distinct target hosts", LINT_MAX_HOSTS);
	s->hosts = xreallocarray(s->hosts, s->nhosts + 1, sizeof(*s->hosts));
	struct lint_host *lh = &s->hosts[s->nhosts++];
	memset(lh, 0, sizeof(*lh));
	snprintf(lh->label, sizeof(lh->label), "%s", label);
	lh->host = *h;
	return 0;
}

static int parse_host(struct cli_lint_session *s, const char *spec, struct berr **err)
{
	struct wc_host h;
	if (wc_host_parse(s->kb, spec, &h, err) < 0)
		return berr_wrap(err, "target host '%s'", spec);
	return add_host(s, spec, &h, err);
}

/* One target host per distinct (build, client, Hyper-V) of the fleet's
 * Windows nodes, labelled by the first node's name. */
static int load_fleet(struct cli_lint_session *s, const char *path, struct berr **err)
{
	struct wc_fleet *fl = wc_fleet_load(path, err);
	if (!fl)
		return berr_wrap(err, "fleet");
	int rc = 0;
	for (size_t i = 0; i < fl->n && rc == 0; i++) {
		const struct wc_node *n = &fl->nodes[i];
		if ((n->os && strcasecmp(n->os, "windows") != 0) || !n->build_text)
			continue;
		struct wc_host h;
		struct berr *e2 = NULL;
		if (wc_host_parse(s->kb, n->build_text, &h, &e2) < 0) {
			berr_free(e2);
			continue; /* compat audit reports bad nodes; lint skips them */
		}
		if (n->client >= 0)
			h.client = n->client == 1;
		h.hyperv = n->hyperv;
		bool dup = false;
		for (size_t k = 0; k < s->nhosts && !dup; k++)
			dup = s->hosts[k].host.build == h.build && s->hosts[k].host.client == h.client &&
			      s->hosts[k].host.hyperv == h.hyperv;
		if (dup)
			continue;
		char label[64];
		snprintf(label, sizeof(label), "node %s", n->name ? n->name : "?");
		rc = add_host(s, label, &h, err);
	}
	wc_fleet_free(fl);
	return rc;
}

int cli_lint_session_init(struct cli_lint_session *s, const struct cli_lint_args *a,
			  struct berr **err)
{
	memset(s, 0, sizeof(*s));
	s->cfg.near_eol_days = -1;
	s->kb = wc_kb_load(a->releases, err);
	if (!s->kb)
		return -1;
	if (!a->no_config || a->config) {
		char *found = a->config ? xstrdup(a->config) : lint_config_find(a->config_dir);
		if (found) {
			int rc = lint_config_load(found, &s->cfg, err);
			free(found);
			if (rc < 0)
				return -1;
		}
	}
	/* format / fail-on: flag, then config, then default */
	const char *fmt = a->format ? a->format : s->cfg.format ? s->cfg.format : "text";
	int f = lint_format_parse(fmt);
	if (f < 0)
		return berr_set(err, BERR_USAGE, "invalid --format '%s' (want text, json, sarif or checkstyle)", fmt);
	s->format = (enum lint_format)f;
	const char *fo = a->fail_on ? a->fail_on : s->cfg.fail_on ? s->cfg.fail_on : "warning";
	if (strcmp(fo, "none") == 0)
		s->fail_on = FAIL_NONE;
	else if ((s->fail_on = lint_severity_parse(fo)) < 0)
		return berr_set(err, BERR_USAGE, "invalid --fail-on '%s' (want error, warning, info or none)", fo);
	/* ignored rules: config and flags */
	for (size_t i = 0; i < s->cfg.nignore; i++)
		add_ignore(s, s->cfg.ignore[i]);
	for (size_t i = 0; i < a->nignore; i++) {
		char *list = xstrdup(a->ignore[i]);
		char *save = NULL;
		for (char *t = strtok_r(list, ", ", &save); t; t = strtok_r(NULL, ", ", &save)) {
			if (!lint_rule_find(t)) {
				berr_set(err, BERR_USAGE, "--ignore: unknown rule '%s'", t);
				free(list);
				return -1;
			}
			add_ignore(s, t);
		}
		free(list);
	}
	/* target hosts: flags replace the config's */
	if (a->nhosts) {
		for (size_t i = 0; i < a->nhosts; i++)
			if (parse_host(s, a->hosts[i], err) < 0)
				return -1;
	} else {
		for (size_t i = 0; i < s->cfg.nhosts; i++)
			if (parse_host(s, s->cfg.hosts[i], err) < 0)
				return berr_wrap(err, "%s", s->cfg.path ? s->cfg.path : "config");
	}
	const char *fleet = a->fleet ? a->fleet : s->cfg.fleet;
	if (fleet && load_fleet(s, fleet, err) < 0)
		return -1;
	lint_options_init(&s->opts, s->kb);
	if (a->date) {
		if (!wc_date_valid(a->date))
			return berr_set(err, BERR_USAGE, "invalid --date '%s' (want YYYY-MM-DD)", a->date);
		snprintf(s->opts.today, sizeof(s->opts.today), "%s", a->date);
	}
	if (s->cfg.near_eol_days >= 0)
		s->opts.near_eol_days = s->cfg.near_eol_days;
	s->opts.hosts = s->hosts;
	s->opts.nhosts = s->nhosts;
	s->opts.ignore = s->ignore;
	s->opts.nignore = s->nignore;
	s->opts.trusted = s->cfg.trusted;
	s->opts.ntrusted = s->cfg.ntrusted;
	s->opts.sev_ids = (const char *const *)s->cfg.sev_ids;
	s->opts.sev_levels = s->cfg.sev_levels;
	s->opts.nsev = s->cfg.nsev;
	s->rules_url = s->cfg.rules_url;
	return 0;
}

void cli_lint_session_release(struct cli_lint_session *s)
{
	if (!s)
		return;
	wc_kb_free(s->kb);
	lint_config_release(&s->cfg);
	free(s->hosts);
	for (size_t i = 0; i < s->nignore; i++)
		free(s->ignore[i]);
	free(s->ignore);
	memset(s, 0, sizeof(*s));
}

bool cli_lint_failed(const struct cli_lint_session *s, const struct lint_result *r, size_t n)
{
	if (s->fail_on == FAIL_NONE)
		return false;
	for (size_t i = 0; i < n; i++)
		for (size_t k = 0; k < r[i].n; k++)
			if ((int)r[i].f[k].severity >= s->fail_on)
				return true;
	return false;
}
