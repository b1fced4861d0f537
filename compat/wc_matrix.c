/* Rebuild matrix: one row per target Windows release for a Dockerfile whose
 * Windows base is parameterised (an ARG used in FROM) or a tag the KB knows. */
#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "compat/wc_matrix.h"

#define MAX_TARGETS 64

static void strv_push(char ***v, size_t *n, char *s)
{
	*v = xreallocarray(*v, *n + 1, sizeof(char *));
	(*v)[(*n)++] = s;
}

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void wc_matrix_release(struct wc_matrix *m)
{
	strv_free(m->params, m->nparams);
	strv_free(m->from_lines, m->nfroms);
	free(m->from_line_nos);
	for (size_t i = 0; i < m->nrows; i++) {
		struct wc_matrix_row *r = &m->rows[i];
		strv_free(r->bases, r->nbases);
		for (size_t j = 0; j < r->nargs; j++) {
			free(r->args[j].key);
			free(r->args[j].value);
		}
		free(r->args);
		strv_free(r->notes, r->nnotes);
	}
	free(m->rows);
	for (size_t i = 0; i < m->nskipped; i++)
		free(m->skipped[i].reason);
	free(m->skipped);
	strv_free(m->notes, m->nnotes);
	memset(m, 0, sizeof(*m));
}

/* Names of variables referenced in s ($X, ${X...}). */
static bool uses_var(const char *s, const char *name)
{
	size_t nl = strlen(name);
	for (const char *p = strchr(s, '$'); p; p = strchr(p + 1, '$')) {
		const char *q = p + 1 + (p[1] == '{');
		if (strncmp(q, name, nl) == 0 && !isalnum((unsigned char)q[nl]) && q[nl] != '_')
			return true;
	}
	return false;
}

/* Is `tok` a release token of any release (any family), a 10.0.B.R build,
 * or "ltscNNNN"? */
static bool is_release_token(const struct wc_kb *kb, const char *tok)
{
	if (strncmp(tok, "10.0.", 5) == 0) {
		struct wc_version v;
		return wc_version_parse(tok, &v, NULL) == 0;
	}
	for (size_t i = 0; i < kb->nrel; i++)
		for (size_t j = 0; j < kb->rel[i].nimages; j++)
			for (size_t k = 0; k < kb->rel[i].images[j].ntags; k++)
				if (strcasecmp(kb->rel[i].images[j].tags[k], tok) == 0 &&
				    strcasecmp(tok, "latest") != 0)
					return true;
	return false;
}

/* Replace the first release token in the tag part of `value` by T's tag for
 * `family`. Returns NULL (with *why) when nothing can be replaced. */
static char *retarget(const struct wc_kb *kb, const char *value, const struct wc_release *t,
		      const char *family, char *why, size_t whylen)
{
	const struct wc_family_tags *ft = wc_release_tags(t, family);
	if (!ft) {
		const struct wc_family *f = wc_kb_family(kb, family);
		snprintf(why, whylen, "%s has no image for %s", f && f->nrepos ? f->repos[0] : family,
			 t->name);
		return NULL;
	}
	/* only the tag of a full reference is rewritten */
	const char *slash = strrchr(value, '/');
	const char *colon = strrchr(slash ? slash : value, ':');
	size_t start = (slash || colon) ? (colon ? (size_t)(colon - value) + 1 : strlen(value)) : 0;
	size_t len = strlen(value);
	for (size_t i = start; i < len;) {
		if (!isalnum((unsigned char)value[i])) {
			i++;
			continue;
		}
		size_t j = i;
		while (j < len && (isalnum((unsigned char)value[j]) || value[j] == '.'))
			j++;
		_cleanup_free_ char *tok = xstrndup(value + i, j - i);
		if (is_release_token(kb, tok))
			return xasprintf("%.*s%s%s", (int)i, value, ft->tags[0], value + j);
		i = j;
	}
	snprintf(why, whylen, "no Windows release token in '%s'", value);
	return NULL;
}

static void row_note(struct wc_matrix_row *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void row_note(struct wc_matrix_row *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	strv_push(&r->notes, &r->nnotes, xvasprintf(fmt, ap));
	va_end(ap);
}

static void skip(struct wc_matrix *m, const struct wc_release *r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void skip(struct wc_matrix *m, const struct wc_release *r, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	m->skipped = xreallocarray(m->skipped, m->nskipped + 1, sizeof(*m->skipped));
	m->skipped[m->nskipped].rel = r;
	m->skipped[m->nskipped++].reason = xvasprintf(fmt, ap);
	va_end(ap);
}

struct winfrom {
	size_t idx;                 /* df->froms index */
	const char *family;         /* family key used to retarget */
	bool derived;
	bool literal;               /* uses no global ARG */
};

static int targets(const struct wc_kb *kb, const struct wc_matrix_opts *o,
		   const struct wc_release **out, size_t *n, struct berr **err)
{
	*n = 0;
	if (!o->releases) {
		for (size_t i = 0; i < kb->nrel && *n < MAX_TARGETS; i++)
			if (kb->rel[i].kind == WC_KIND_SERVER_LTSC && wc_kb_is_image_build(kb, kb->rel[i].build))
				out[(*n)++] = &kb->rel[i];
		return 0;
	}
	_cleanup_free_ char *list = xstrdup(o->releases);
	for (char *p = list, *q; p; p = q) {
		q = strchr(p, ',');
		if (q)
			*q++ = '\0';
		while (isspace((unsigned char)*p))
			p++;
		for (char *e = p + strlen(p); e > p && isspace((unsigned char)e[-1]);)
			*--e = '\0';
		if (!*p)
			continue;
		const struct wc_release *r = wc_resolve_name(kb, p, false, err);
		if (!r)
			return berr_wrap(err, "--releases");
		if (!wc_kb_is_image_build(kb, r->build))
			return berr_set(err, BERR_INPUT, "--releases: '%s' (%s) has no Windows base images",
					p, r->name);
		bool dup = false;
		for (size_t i = 0; i < *n; i++)
			dup |= out[i]->build == r->build;
		if (!dup && *n < MAX_TARGETS)
			out[(*n)++] = r;
	}
	if (*n == 0)
		return berr_set(err, BERR_INPUT, "--releases: empty list");
	return 0;
}

int wc_matrix_build(const struct wc_kb *kb, const struct wc_df *df, const char *dfname,
		    const struct wc_matrix_opts *o, struct wc_matrix *m, struct berr **err)
{
	memset(m, 0, sizeof(*m));
	/* global ARG defaults */
	size_t ng = 0;
	_cleanup_free_ char **gn = xcalloc(df->nargs + 1, sizeof(char *));
	_cleanup_free_ char **gv = xcalloc(df->nargs + 1, sizeof(char *));
	for (size_t i = 0; i < df->nargs; i++)
		if (df->args[i].global) {
			gn[ng] = df->args[i].name;
			gv[ng++] = df->args[i].value ? df->args[i].value : "";
		}
	struct winfrom wf[64];
	size_t nwf = 0;
	_cleanup_bbuf_ struct bbuf seen = BBUF_INIT;
	for (size_t i = 0; i < df->nfroms && nwf < ARRAY_SIZE(wf); i++) {
		const struct wc_df_from *f = &df->froms[i];
		_cleanup_free_ char *ref = wc_df_expand(f->image, df->escape, gn, gv, ng);
		bool stage = false;
		for (size_t j = 0; j < i; j++)
			stage |= df->froms[j].alias && strcasecmp(df->froms[j].alias, ref) == 0;
		if (stage || strcmp(ref, "scratch") == 0 || !*ref)
			continue;
		struct wc_tag_info t;
		struct berr *e2 = NULL;
		if (wc_tag_parse(kb, ref, &t, &e2) < 0) {
			berr_set_at(err, BERR_INPUT, dfname, f->line, 1, "FROM '%s': %s", ref, e2->msg);
			berr_free(e2);
			wc_matrix_release(m);
			return -1;
		}
		if (t.how == WC_TAG_UNKNOWN || !t.rel) {
			bbuf_addf(&seen, NULL, "%s'%s'", seen.len ? ", " : "", ref);
			continue;
		}
		struct wc_ref r;
		wc_ref_split(ref, &r, NULL);
		wf[nwf].idx = i;
		wf[nwf].family = t.family ? t.family->key : "servercore";
		/* retired Docker Hub repos are retargeted through their MCR successor's tags */
		if (t.family && t.family->retired)
			wf[nwf].family = strstr(t.family->key, "nano") ? "nanoserver" : "servercore";
		wf[nwf].derived = t.how == WC_TAG_DERIVED;
		wf[nwf].literal = true;
		for (size_t g = 0; g < ng; g++)
			if (uses_var(f->image, gn[g])) {
				wf[nwf].literal = false;
				bool have = false;
				for (size_t k = 0; k < m->nparams; k++)
					have |= strcmp(m->params[k], gn[g]) == 0;
				if (!have)
					strv_push(&m->params, &m->nparams, xstrdup(gn[g]));
			}
		nwf++;
		strv_push(&m->from_lines, &m->nfroms, xstrdup(f->image));
		m->from_line_nos = xreallocarray(m->from_line_nos, m->nfroms, sizeof(int));
		m->from_line_nos[m->nfroms - 1] = f->line;
	}
	if (nwf == 0) {
		if (df->nfroms == 0)
			berr_set(err, BERR_INPUT, "%s: no FROM instruction", dfname);
		else
			berr_set(err, BERR_INPUT, "%s: no Windows base image the knowledge base recognises "
				 "in FROM (%s)", dfname, seen.len ? bbuf_str(&seen) : "only stage references");
		wc_matrix_release(m);
		return -1;
	}
	if (m->nparams == 0)
		strv_push(&m->notes, &m->nnotes, xasprintf("the Windows base is hard-coded in FROM (line "
			  "%d); declare it with an ARG to build every row from one Dockerfile",
			  m->from_line_nos[0]));

	const struct wc_release *tg[MAX_TARGETS];
	size_t ntg;
	if (targets(kb, o, tg, &ntg, err) < 0) {
		wc_matrix_release(m);
		return -1;
	}
	m->rows = xcalloc(ntg, sizeof(*m->rows));
	for (size_t ti = 0; ti < ntg; ti++) {
		const struct wc_release *T = tg[ti];
		enum wc_support sup = wc_release_support(T, o->today);
		if (!o->include_eol && sup != WC_SUP_MAINSTREAM && sup != WC_SUP_EXTENDED) {
			if (sup == WC_SUP_ENDED)
				skip(m, T, "%s reached end of support (%s); use --include-eol to build it anyway",
				     T->name, T->extended_end ? T->extended_end : T->mainstream_end);
			else
				skip(m, T, "%s is not in support on %s (%s)", T->name, o->today,
				     wc_support_name(sup));
			continue;
		}
		/* new ARG values: retarget each parameter through the family of the
		 * first Windows FROM that uses it */
		_cleanup_free_ char **nv = xcalloc(ng + 1, sizeof(char *));
		char why[256] = "";
		bool ok = true;
		for (size_t g = 0; g < ng && ok; g++) {
			nv[g] = NULL;
			for (size_t k = 0; k < nwf && !nv[g]; k++)
				if (uses_var(df->froms[wf[k].idx].image, gn[g])) {
					nv[g] = retarget(kb, gv[g], T, wf[k].family, why, sizeof(why));
					if (!nv[g])
						ok = false;
				}
		}
		struct wc_matrix_row row;
		memset(&row, 0, sizeof(row));
		row.rel = T;
		row.support = sup;
		for (size_t k = 0; k < nwf && ok; k++) {
			const struct wc_df_from *f = &df->froms[wf[k].idx];
			char *base;
			if (wf[k].literal) {
				_cleanup_free_ char *ref = wc_df_expand(f->image, df->escape, gn, gv, ng);
				base = retarget(kb, ref, T, wf[k].family, why, sizeof(why));
			} else {
				char **vals = xcalloc(ng + 1, sizeof(char *));
				for (size_t g = 0; g < ng; g++)
					vals[g] = nv[g] ? nv[g] : gv[g];
				base = wc_df_expand(f->image, df->escape, gn, vals, ng);
				free(vals);
			}
			if (!base) {
				ok = false;
				break;
			}
			const char *iend = wc_release_image_end(T, wf[k].family);
			if (iend && strcmp(o->today, iend) > 0) {
				if (!o->include_eol) {
					snprintf(why, sizeof(why), "the %s image for %s reached end of support "
						 "(%s); use --include-eol to build it anyway", wf[k].family,
						 T->name, iend);
					free(base);
					ok = false;
					break;
				}
				row_note(&row, "the %s image for %s is out of support since %s", wf[k].family,
					 T->name, iend);
			}
			struct wc_tag_info t;
			if (wc_tag_parse(kb, base, &t, NULL) < 0 || t.how == WC_TAG_UNKNOWN ||
			    t.ver.build != T->build) {
				snprintf(why, sizeof(why), "'%s' does not name a %s image", base, T->name);
				free(base);
				ok = false;
				break;
			}
			strv_push(&row.bases, &row.nbases, base);
			if (wf[k].derived) {
				struct wc_ref r;
				wc_ref_split(base, &r, NULL);
				row_note(&row, "%s is a derived image: check that it publishes tag '%s'",
					 r.repo, r.tag);
			}
		}
		if (!ok) {
			skip(m, T, "%s", why);
			strv_free(row.bases, row.nbases);
			strv_free(row.notes, row.nnotes);
			for (size_t g = 0; g < ng; g++)
				free(nv[g]);
			continue;
		}
		for (size_t g = 0; g < ng; g++) {
			if (!nv[g])
				continue;
			row.args = xreallocarray(row.args, row.nargs + 1, sizeof(*row.args));
			row.args[row.nargs].key = xstrdup(gn[g]);
			row.args[row.nargs++].value = nv[g];
		}
		const struct wc_family_tags *sc = wc_release_tags(T, "servercore");
		snprintf(row.tag_suffix, sizeof(row.tag_suffix), "-%s", sc ? sc->tags[0] : T->id);
		for (size_t k = 0; k < kb->nrun; k++) {
			const struct wc_runner *rn = &kb->run[k];
			if (!rn->floating && rn->build == T->build && strcmp(rn->ci, "github") == 0) {
				row.runner = rn;
				row.runner_retired = rn->retired && strcmp(o->today, rn->retired) >= 0;
				break;
			}
		}
		if (!row.runner)
			row_note(&row, "no hosted CI runner with build %u is known; use a self-hosted runner "
				 "with that build (or Hyper-V isolation on a newer host)", T->build);
		else if (row.runner_retired)
			row_note(&row, "runner label '%s' was retired on %s", row.runner->label,
				 row.runner->retired);
		if (sup == WC_SUP_ENDED)
			row_note(&row, "%s is out of support", T->name);
		m->rows[m->nrows++] = row;
	}
	return 0;
}
