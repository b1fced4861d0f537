/* lint/: the rule engine. Parses with df_parse + df_stages_parse, derives a
 * per-stage view (expanded base, parent stage, OS, Windows build from
 * compat's tag parser, effective SHELL) and runs the BL and BW rules.
 * Positions are 1-based line:column into the file as written. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "lint/lint.h"
#include "lint/lint_int.h"
#include "parser/df_ast.h"
#include "parser/df_instr.h"
#include "parser/df_ref.h"
#include "parser/df_shell.h"

/* Fixed bounds for the per-stage view. */
#define MAX_HOSTS_LISTED 4

enum os { OS_UNKNOWN = 0, OS_WINDOWS, OS_LINUX };

struct stage_view {
	const struct df_stage *st;
	int index;
	char *base;                  /* FROM image after meta-ARG expansion, NULL if unresolved */
	char *platform;              /* expanded --platform, NULL if none/unresolved */
	bool platform_build;         /* --platform=$BUILDPLATFORM (cross-build stage) */
	int parent;                  /* stage used as base, -1 for an image */
	int root;                    /* first stage of the chain (names the image) */
	bool scratch;
	struct df_ref *ref;          /* parsed external base (root stage only) */
	bool tag_ok;
	struct wc_tag_info tag;      /* compat's view of the external base */
	enum os os;
	uint32_t build;              /* Windows build, 0 unknown */
	const struct wc_release *rel;
	const char *family;          /* base family key, NULL unknown */
	bool used;                   /* base or COPY --from source of a later stage */
	bool has_pwsh;               /* PowerShell Core known to be in the image */
	char **shell;                /* effective SHELL at the end of the stage (borrowed) */
	size_t nshell;
};

struct ctx {
	const struct lint_options *o;
	struct lint_result *res;
	const struct df_file *f;
	const char *data;
	size_t len;
	size_t *lines;               /* offset of each physical line (1-based index) */
	size_t *linelen;
	int nlines;
	struct df_stages *stages;
	struct stage_view *sv;
	size_t nsv;
	char **meta_names;           /* meta ARG names (before the first FROM) */
	size_t nmeta;
	struct df_env *meta_env;     /* meta ARG defaults */
	bool any_windows;
};

/* ---------------------------------------------------------------- helpers */

static bool streq_ci(const char *a, const char *b)
{
	return a && b && strcasecmp(a, b) == 0;
}

static bool has_prefix_ci(const char *s, const char *p)
{
	return strncasecmp(s, p, strlen(p)) == 0;
}

static const char *strcasestr_n(const char *hay, size_t n, const char *needle)
{
	size_t m = strlen(needle);
	if (m == 0 || m > n)
		return NULL;
	for (size_t i = 0; i + m <= n; i++)
		if (strncasecmp(hay + i, needle, m) == 0)
			return hay + i;
	return NULL;
}

static const char *line_text(const struct ctx *c, int line, size_t *n)
{
	if (line < 1 || line > c->nlines) {
		*n = 0;
		return "";
	}
	*n = c->linelen[line];
	return c->data + c->lines[line];
}

/* Find needle (case-insensitive) on the node's physical lines; sets
 * sets line and col, falling back to the keyword position. */
static void pos_find(const struct ctx *c, const struct df_node *n, const char *needle, int *line,
		     int *col)
{
	*line = n->start_line;
	*col = n->col;
	if (!needle || !*needle)
		return;
	for (int l = n->start_line; l <= n->end_line && l <= c->nlines; l++) {
		size_t len;
		const char *t = line_text(c, l, &len);
		/* on the first line, skip the keyword itself */
		size_t from = l == n->start_line && n->col > 0 ? (size_t)n->col - 1 : 0;
		if (from > len)
			from = len;
		const char *p = strcasestr_n(t + from, len - from, needle);
		if (p) {
			*line = l;
			*col = (int)(p - t) + 1;
			return;
		}
	}
}

/* A `# berth-ignore: ID[,ID] reason` comment in the comment block directly
 * above `line` names `id`. */
static bool suppressed(const struct ctx *c, int line, const char *id)
{
	for (int l = line - 1; l >= 1; l--) {
		size_t n;
		const char *t = line_text(c, l, &n);
		size_t i = 0;
		while (i < n && (t[i] == ' ' || t[i] == '\t'))
			i++;
		if (i >= n || t[i] != '#')
			return false;
		i++;
		while (i < n && (t[i] == ' ' || t[i] == '\t'))
			i++;
		static const char key[] = "berth-ignore:";
		if (n - i < sizeof(key) - 1 || strncasecmp(t + i, key, sizeof(key) - 1) != 0)
			continue;
		i += sizeof(key) - 1;
		/* IDs: comma/space separated words up to the first word that is not an ID */
		for (;;) {
			while (i < n && (t[i] == ' ' || t[i] == '\t' || t[i] == ','))
				i++;
			size_t s = i;
			while (i < n && isalnum((unsigned char)t[i]))
				i++;
			if (i == s)
				break;
			if (i - s == strlen(id) && strncasecmp(t + s, id, i - s) == 0)
				return true;
			if (!lint_rule_find_n(t + s, i - s))
				break; /* the reason starts here */
			if (i < n && t[i] != ',' && t[i] != ' ' && t[i] != '\t')
				break;
		}
	}
	return false;
}

static void report(struct ctx *c, const char *id, const struct df_node *n, int line, int col,
		   const char *fmt, ...) __attribute__((format(printf, 6, 7)));
static void report(struct ctx *c, const char *id, const struct df_node *n, int line, int col,
		   const char *fmt, ...)
{
	const struct lint_rule *r = lint_rule_find(id);
	if (!r)
		return;
	const struct lint_options *o = c->o;
	for (size_t i = 0; i < o->nignore; i++)
		if (strcasecmp(o->ignore[i], id) == 0)
			return;
	if (n && suppressed(c, n->start_line, id))
		return;
	if (c->res->n >= LINT_MAX_FINDINGS) {
		c->res->truncated = true;
		return;
	}
	enum lint_severity sev = r->severity;
	for (size_t i = 0; i < o->nsev; i++)
		if (strcasecmp(o->sev_ids[i], id) == 0)
			sev = (enum lint_severity)o->sev_levels[i];
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	XGROW(c->res->f, c->res->n + 1, c->res->cap);
	struct lint_finding *f = &c->res->f[c->res->n++];
	f->rule = r;
	f->severity = sev;
	f->line = line;
	f->col = col;
	f->msg = msg;
}

static void report_at(struct ctx *c, const char *id, const struct df_node *n, const char *needle,
		      const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void report_at(struct ctx *c, const char *id, const struct df_node *n, const char *needle,
		      const char *fmt, ...)
{
	int line, col;
	pos_find(c, n, needle, &line, &col);
	va_list ap;
	va_start(ap, fmt);
	char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	report(c, id, n, line, col, "%s", msg);
	free(msg);
}

/* Days since 1970-01-01 of an ISO date (proleptic Gregorian). */
static long iso_days(const char *s)
{
	if (!s || strlen(s) < 10)
		return 0;
	long y = strtol(s, NULL, 10), m = strtol(s + 5, NULL, 10), d = strtol(s + 8, NULL, 10);
	y -= m <= 2;
	long era = (y >= 0 ? y : y - 399) / 400;
	long yoe = y - era * 400;
	long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/* Lower-cased basename of a program word without quotes and ".exe". */
static void prog_name(const char *w, char *out, size_t outsz)
{
	const char *b = w;
	for (const char *p = w; *p; p++)
		if (*p == '/' || *p == '\\')
			b = p + 1;
	size_t n = 0;
	for (; *b && n + 1 < outsz; b++)
		if (*b != '"' && *b != '\'')
			out[n++] = (char)tolower((unsigned char)*b);
	out[n] = 0;
	if (n > 4 && strcmp(out + n - 4, ".exe") == 0)
		out[n - 4] = 0;
}

static bool is_powershell_prog(const char *p)
{
	return strcmp(p, "powershell") == 0 || strcmp(p, "pwsh") == 0;
}

/* ------------------------------------------------- shell command splitting */

struct words {
	char **w;
	size_t n, cap;
};
struct cmdlist {
	struct words *c;
	size_t n, cap;
};

static void cmdlist_free(struct cmdlist *l)
{
	for (size_t i = 0; i < l->n; i++) {
		for (size_t j = 0; j < l->c[i].n; j++)
			free(l->c[i].w[j]);
		free(l->c[i].w);
	}
	free(l->c);
	memset(l, 0, sizeof(*l));
}

/* Split a command line into simple commands (at && || ; | & newline and
 * parentheses) made of words with quotes removed. posix: '...' quotes and
 * backslash escapes (sh); otherwise cmd.exe rules ("..." quotes, ^ escape). */
static void split_commands(const char *s, size_t len, bool posix, struct cmdlist *out)
{
	struct bbuf w = BBUF_INIT;
	bool inword = false;
	char q = 0;
	XGROW(out->c, out->n + 1, out->cap);
	memset(&out->c[out->n], 0, sizeof(out->c[0]));
	out->n++;
#define END_WORD()                                                              \
	do {                                                                    \
		if (inword) {                                                   \
			struct words *cw_ = &out->c[out->n - 1];                \
			XGROW(cw_->w, cw_->n + 1, cw_->cap);                    \
			cw_->w[cw_->n++] = bbuf_detach(&w, NULL);               \
			inword = false;                                         \
		}                                                               \
	} while (0)
#define END_CMD()                                                               \
	do {                                                                    \
		END_WORD();                                                     \
		if (out->c[out->n - 1].n) {                                     \
			XGROW(out->c, out->n + 1, out->cap);                    \
			memset(&out->c[out->n], 0, sizeof(out->c[0]));          \
			out->n++;                                               \
		}                                                               \
	} while (0)
	for (size_t i = 0; i < len; i++) {
		char ch = s[i];
		if (q) {
			if (ch == q)
				q = 0;
			else if (posix && q == '"' && ch == '\\' && i + 1 < len)
				bbuf_addch(&w, s[++i], NULL);
			else
				bbuf_addch(&w, ch, NULL);
			continue;
		}
		if (ch == '"' || (posix && ch == '\'')) {
			q = ch;
			inword = true;
			continue;
		}
		if ((posix && ch == '\\') || (!posix && ch == '^')) {
			if (i + 1 < len) {
				i++;
				if (s[i] != '\n') {
					bbuf_addch(&w, s[i], NULL);
					inword = true;
				}
			}
			continue;
		}
		if (ch == '&' || ch == '|' || ch == ';' || ch == '\n' || ch == '(' || ch == ')') {
			END_CMD();
			continue;
		}
		if (ch == ' ' || ch == '\t' || ch == '\r') {
			END_WORD();
			continue;
		}
		bbuf_addch(&w, ch, NULL);
		inword = true;
	}
	END_WORD();
	if (out->n && out->c[out->n - 1].n == 0)
		out->n--;
#undef END_WORD
#undef END_CMD
	bbuf_release(&w);
}

/* The program a simple command runs, following `cmd /c X`, `sudo X`,
 * `call X` and `start X` wrappers; returns the index of its word or -1. */
static int command_word(const struct words *cw)
{
	size_t i = 0;
	while (i < cw->n) {
		char p[64];
		prog_name(cw->w[i], p, sizeof(p));
		if (strcmp(p, "sudo") == 0 || strcmp(p, "call") == 0 || strcmp(p, "exec") == 0) {
			i++;
			continue;
		}
		if (strcmp(p, "cmd") == 0 || strcmp(p, "start") == 0) {
			size_t j = i + 1;
			while (j < cw->n && cw->w[j][0] == '/')
				j++;
			if (j >= cw->n)
				return (int)i;
			i = j;
			continue;
		}
		return (int)i;
	}
	return -1;
}

/* ------------------------------------------------------------ stage view */

static void line_index(struct ctx *c)
{
	size_t cap = 0;
	c->nlines = 0;
	XGROW(c->lines, 2, cap);
	size_t cap2 = 0;
	XGROW(c->linelen, 2, cap2);
	size_t start = 0;
	for (size_t i = 0; i <= c->len; i++) {
		if (i == c->len || c->data[i] == '\n') {
			c->nlines++;
			XGROW(c->lines, (size_t)c->nlines + 1, cap);
			XGROW(c->linelen, (size_t)c->nlines + 1, cap2);
			size_t end = i;
			if (end > start && c->data[end - 1] == '\r')
				end--;
			c->lines[c->nlines] = start;
			c->linelen[c->nlines] = end - start;
			start = i + 1;
		}
	}
}

/* Expand $VARS with the meta ARG defaults; NULL when a variable stays unset
 * or the word does not expand. */
static char *expand_meta(const struct ctx *c, const char *word, struct df_shell_vars *vars)
{
	struct df_lexer lex = DF_LEXER_INIT(c->f->escape);
	struct berr *err = NULL;
	struct df_shell_vars local = { 0 };
	char *out = df_shell_process_word(&lex, word, c->meta_env, vars ? vars : &local, &err);
	bool unset = (vars ? vars : &local)->nunmatched > 0;
	df_shell_vars_release(&local);
	berr_free(err);
	if (out && unset && strchr(word, '$')) {
		/* BuildKit expands unset to "" and would fail later; lint only
		 * trusts fully resolved names */
		free(out);
		return NULL;
	}
	return out;
}

static bool is_builtin_arg(const char *n)
{
	static const char *const builtin[] = {
		"TARGETPLATFORM", "TARGETOS", "TARGETARCH", "TARGETVARIANT",
		"BUILDPLATFORM", "BUILDOS", "BUILDARCH", "BUILDVARIANT",
		"TARGETSTAGE", "BUILDKIT_SYNTAX", "HTTP_PROXY", "HTTPS_PROXY", "FTP_PROXY",
		"NO_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "ftp_proxy", "no_proxy",
		"all_proxy",
	};
	for (size_t i = 0; i < sizeof(builtin) / sizeof(builtin[0]); i++)
		if (strcmp(builtin[i], n) == 0)
			return true;
	return false;
}

/* Linux-only images, by familiar repository name or tag token. Used only to
 * tell a Linux stage from a Windows one (BW109, BW116). */
static bool linux_image(const struct df_ref *r)
{
	static const char *const repos[] = {
		"docker.io/library/alpine", "docker.io/library/ubuntu", "docker.io/library/debian",
		"docker.io/library/busybox", "docker.io/library/centos", "docker.io/library/fedora",
		"docker.io/library/amazonlinux", "docker.io/library/rockylinux",
		"docker.io/library/almalinux", "docker.io/library/archlinux",
		"docker.io/library/oraclelinux", "gcr.io/distroless/", "mcr.microsoft.com/cbl-mariner/",
		"mcr.microsoft.com/azurelinux/", "registry.access.redhat.com/", "quay.io/centos/",
	};
	char *name = df_ref_name(r);
	bool hit = false;
	for (size_t i = 0; i < sizeof(repos) / sizeof(repos[0]) && !hit; i++) {
		size_t n = strlen(repos[i]);
		if (repos[i][n - 1] == '/' ? strncmp(name, repos[i], n) == 0 : strcmp(name, repos[i]) == 0)
			hit = true;
	}
	free(name);
	if (hit || !r->tag)
		return hit;
	static const char *const tokens[] = {
		"alpine", "bookworm", "bullseye", "buster", "stretch", "jammy", "focal", "noble",
		"bionic", "slim", "ubi8", "ubi9", "cbl-mariner", "azurelinux", "distroless",
	};
	/* a token between '-' / '.' separators (or at an end) */
	for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++) {
		size_t n = strlen(tokens[i]);
		for (const char *p = strstr(r->tag, tokens[i]); p; p = strstr(p + 1, tokens[i])) {
			bool left = p == r->tag || p[-1] == '-' || p[-1] == '.' || p[-1] == '_';
			bool right = p[n] == 0 || p[n] == '-' || p[n] == '.' || isdigit((unsigned char)p[n]);
			if (left && right)
				return true;
		}
	}
	return false;
}

static const struct df_node *stage_node(const struct stage_view *s)
{
	return s->st->from->node;
}

static int find_stage(const struct ctx *c, const char *name, int before)
{
	if (!name || !*name)
		return -1;
	for (int i = 0; i < before && i < (int)c->nsv; i++) {
		const char *sn = c->sv[i].st->from->u.from.name;
		if (sn && *sn && strcasecmp(sn, name) == 0)
			return i;
	}
	return -1;
}

/* Stage index named by a COPY --from / mount from value, or -1. */
static int from_stage(const struct ctx *c, const char *v, int cur)
{
	if (!v || !*v)
		return -1;
	char *end;
	long idx = strtol(v, &end, 10);
	if (*end == 0 && end != v)
		return idx >= 0 && idx < cur ? (int)idx : -1;
	return find_stage(c, v, cur);
}

static void classify_ref(const struct ctx *c, const char *ref, struct df_ref **pref, bool *tag_ok,
			 struct wc_tag_info *tag, enum os *os)
{
	*pref = NULL;
	*tag_ok = false;
	*os = OS_UNKNOWN;
	struct berr *err = NULL;
	if (df_ref_parse_normalized(ref, pref, &err) < 0) {
		berr_free(err);
		*pref = NULL;
		return;
	}
	if (wc_tag_parse(c->o->kb, ref, tag, &err) == 0) {
		*tag_ok = true;
		if (tag->how != WC_TAG_UNKNOWN || tag->family)
			*os = OS_WINDOWS;
	}
	berr_free(err);
	if (*os == OS_UNKNOWN && linux_image(*pref))
		*os = OS_LINUX;
}

static bool copy_mentions_pwsh(const struct df_copy *cp)
{
	for (size_t i = 0; i < cp->sources.n; i++)
		if (strcasestr(cp->sources.items[i], "powershell") || strcasestr(cp->sources.items[i], "pwsh"))
			return true;
	return cp->dest && (strcasestr(cp->dest, "powershell") || strcasestr(cp->dest, "pwsh"));
}

static char *default_shell_cmd[] = { "cmd", "/S", "/C" };
static char *default_shell_sh[] = { "/bin/sh", "-c" };

static void build_views(struct ctx *c)
{
	struct df_stages *s = c->stages;
	c->nsv = s->nstages;
	c->sv = xcalloc(c->nsv ? c->nsv : 1, sizeof(*c->sv));
	for (size_t i = 0; i < s->nstages; i++) {
		struct stage_view *v = &c->sv[i];
		v->st = &s->stages[i];
		v->index = (int)i;
		v->parent = -1;
		v->root = (int)i;
		const struct df_instr *fr = v->st->from;
		v->base = expand_meta(c, fr->u.from.base, NULL);
		if (fr->u.from.platform && *fr->u.from.platform) {
			const char *p = fr->u.from.platform;
			v->platform_build = strstr(p, "BUILDPLATFORM") != NULL;
			v->platform = expand_meta(c, p, NULL);
		}
		if (!v->base)
			continue;
		int par = find_stage(c, v->base, (int)i);
		if (par >= 0) {
			struct stage_view *pv = &c->sv[par];
			v->parent = par;
			v->root = pv->root;
			v->os = pv->os;
			v->build = pv->build;
			v->rel = pv->rel;
			v->family = pv->family;
			v->has_pwsh = pv->has_pwsh;
			v->shell = pv->shell;
			v->nshell = pv->nshell;
			pv->used = true;
		} else if (strcasecmp(v->base, "scratch") == 0) {
			v->scratch = true;
		} else {
			classify_ref(c, v->base, &v->ref, &v->tag_ok, &v->tag, &v->os);
			if (v->tag_ok && v->tag.how != WC_TAG_UNKNOWN) {
				v->build = v->tag.ver.build;
				v->rel = v->tag.rel;
			}
			if (v->tag_ok && v->tag.family)
				v->family = v->tag.family->key;
			if (v->ref && (strstr(v->ref->path, "powershell") || strstr(v->ref->path, "dotnet/sdk")))
				v->has_pwsh = true;
		}
		/* an explicit platform decides when the image did not */
		if (v->os == OS_UNKNOWN && v->platform) {
			if (has_prefix_ci(v->platform, "windows"))
				v->os = OS_WINDOWS;
			else if (has_prefix_ci(v->platform, "linux"))
				v->os = OS_LINUX;
		}
		if (!v->shell) {
			v->shell = v->os == OS_WINDOWS ? default_shell_cmd : default_shell_sh;
			v->nshell = v->os == OS_WINDOWS ? 3 : 2;
		}
		if (v->os == OS_WINDOWS)
			c->any_windows = true;
		/* walk the stage for SHELL and things that add PowerShell */
		for (size_t k = 0; k < v->st->ncmds; k++) {
			const struct df_instr *in = v->st->cmds[k];
			if (in->kind == DF_I_SHELL && in->u.shell.n) {
				v->shell = in->u.shell.items;
				v->nshell = in->u.shell.n;
			} else if ((in->kind == DF_I_COPY || in->kind == DF_I_ADD) && copy_mentions_pwsh(&in->u.copy)) {
				v->has_pwsh = true;
			}
		}
	}
	/* COPY --from and RUN --mount from= mark their source stages as used */
	for (size_t i = 0; i < c->nsv; i++)
		for (size_t k = 0; k < c->sv[i].st->ncmds; k++) {
			const struct df_instr *in = c->sv[i].st->cmds[k];
			if (in->kind == DF_I_COPY) {
				int src = from_stage(c, in->u.copy.from, (int)i);
				if (src >= 0)
					c->sv[src].used = true;
			} else if (in->kind == DF_I_RUN) {
				for (size_t m = 0; m < in->u.run.nmounts; m++) {
					int src = from_stage(c, in->u.run.mounts[m].from, (int)i);
					if (src >= 0)
						c->sv[src].used = true;
				}
			}
		}
}

static void views_free(struct ctx *c)
{
	for (size_t i = 0; i < c->nsv; i++) {
		free(c->sv[i].base);
		free(c->sv[i].platform);
		df_ref_free(c->sv[i].ref);
	}
	free(c->sv);
}

/* ---------------------------------------------------------- node rules */

static bool is_keyword(const char *s, size_t n)
{
	static const char *const kw[] = {
		"FROM", "RUN", "CMD", "LABEL", "MAINTAINER", "EXPOSE", "ENV", "ADD", "COPY",
		"ENTRYPOINT", "VOLUME", "USER", "WORKDIR", "ARG", "ONBUILD", "STOPSIGNAL",
		"HEALTHCHECK", "SHELL",
	};
	for (size_t i = 0; i < sizeof(kw) / sizeof(kw[0]); i++) {
		size_t k = strlen(kw[i]);
		if (n >= k && strncasecmp(s, kw[i], k) == 0 && (n == k || s[k] == ' ' || s[k] == '\t'))
			return true;
	}
	return false;
}

static bool has_drive_path(const char *s, size_t n)
{
	for (size_t i = 0; i + 2 < n; i++)
		if (isalpha((unsigned char)s[i]) && s[i + 1] == ':' && s[i + 2] == '\\' &&
		    (i == 0 || !isalnum((unsigned char)s[i - 1])))
			return true;
	return false;
}

/* BW112: with the default escape, a line ending in a path backslash
 * continues into the next line; flag it when that line is an instruction. */
static void rule_continuation_trap(struct ctx *c, const struct df_node *n)
{
	if (c->f->escape != '\\' || n->end_line <= n->start_line || n->nheredocs)
		return;
	for (int l = n->start_line; l < n->end_line; l++) {
		size_t len;
		const char *t = line_text(c, l, &len);
		size_t e = len;
		while (e > 0 && (t[e - 1] == ' ' || t[e - 1] == '\t'))
			e--;
		if (e < 2 || t[e - 1] != '\\' || t[e - 2] == '\\')
			continue;
		size_t nl;
		const char *next = line_text(c, l + 1, &nl);
		if (nl == 0 || next[0] == ' ' || next[0] == '\t' || !is_keyword(next, nl))
			continue;
		if (!c->any_windows && !has_drive_path(t, e))
			continue;
		/* the word before the backslash must be a path, not a lone '\' */
		if (t[e - 2] == ' ' || t[e - 2] == '\t')
			continue;
		report(c, "BW112", n, l, (int)e,
		       "trailing '\\' of this path continues the line, so the %.*s on line %d "
		       "becomes part of this %s; add '# escape=`' as the first line or end the "
		       "path without a backslash",
		       (int)strcspn(next, " \t"), next, l + 1, n->cmd ? n->name : "instruction");
		return;
	}
}

/* `[ "a", 'b' ]`: a bracketed, comma-separated list of quoted strings, as
 * someone who meant the exec form writes it. A backslash escapes a quote
 * unless the quote is followed by ',' or ']' (a path ending in '\'). Shell
 * tests such as `[ "$a" = "b" ]` do not match. */
static bool looks_like_array(const char *s, size_t len)
{
	size_t i = 0;
	if (len < 2 || s[0] != '[' || s[len - 1] != ']')
		return false;
	i = 1;
	for (;;) {
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len || (s[i] != '"' && s[i] != '\''))
			return false;
		char q = s[i++];
		for (;; i++) {
			if (i >= len)
				return false;
			if (s[i] == '\\' && i + 1 < len && s[i + 1] == q) {
				size_t j = i + 2;
				while (j < len && (s[j] == ' ' || s[j] == '\t'))
					j++;
				if (j < len && (s[j] == ',' || s[j] == ']')) {
					i++;
					break; /* the quote ends the string */
				}
				i++;
				continue;
			}
			if (s[i] == q)
				break;
		}
		i++;
		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i >= len)
			return false;
		if (s[i] == ']')
			return i == len - 1;
		if (s[i] != ',')
			return false;
		i++;
	}
}

/* BW113: an argument written as a JSON array that the parser took as shell
 * form (invalid JSON: single backslashes, single quotes...). */
static void rule_json_not_json(struct ctx *c, const struct df_node *n)
{
	static const char *const kinds[] = { "run", "cmd", "entrypoint", "shell", "copy", "add", "volume" };
	bool want = false;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (n->cmd && strcmp(n->cmd, kinds[i]) == 0)
			want = true;
	if (!want || n->json || n->nheredocs || !n->original)
		return;
	const char *s = n->original;
	/* skip the keyword and --flags */
	s += strcspn(s, " \t");
	for (;;) {
		s += strspn(s, " \t");
		if (s[0] == '-' && s[1] == '-')
			s += strcspn(s, " \t");
		else
			break;
	}
	size_t len = strlen(s);
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (!looks_like_array(s, len))
		return;
	const char *why;
	bool bad_escape = false, quote_escape = false;
	for (size_t i = 0; i + 1 < len; i++)
		if (s[i] == '\\') {
			if (!strchr("\"\\/bfnrtu", s[i + 1])) {
				bad_escape = true;
				break;
			}
			if (s[i + 1] == '"' && i + 2 < len && strchr(",] \t", s[i + 2]))
				quote_escape = true;
			i++;
		}
	if (quote_escape && !bad_escape)
		why = "a path ending in a single backslash escapes the closing quote; write C:\\\\dir\\\\ "
		      "(or drop the trailing backslash)";
	else if (bad_escape)
		why = "a single backslash is not a valid JSON escape; write C:\\\\path (or use forward slashes)";
	else if (memchr(s, '\'', len) && !memchr(s, '"', len))
		why = "JSON strings need double quotes";
	else
		why = "the array is not valid JSON";
	bool exec = strcmp(n->cmd, "run") == 0 || strcmp(n->cmd, "cmd") == 0 ||
		    strcmp(n->cmd, "entrypoint") == 0 || strcmp(n->cmd, "shell") == 0;
	report_at(c, "BW113", n, "[", "%s looks like a JSON array but %s: %s", n->name,
		  exec ? "runs in shell form" : "is split at blanks, so brackets and commas become part of the paths", why);
}

/* ---------------------------------------------------------- stage rules */

static void rule_maintainer(struct ctx *c, const struct df_instr *in)
{
	if (in->kind == DF_I_MAINTAINER)
		report(c, "BL104", in->node, in->node->start_line, in->node->col,
		       "MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors=\"%s\"",
		       in->u.str ? in->u.str : "");
}

static bool workdir_absolute(const char *p)
{
	return p[0] == '/' || p[0] == '\\' || p[0] == '$' || p[0] == '%' ||
	       (isalpha((unsigned char)p[0]) && p[1] == ':');
}

static bool secret_name(const char *name)
{
	/* split into lower-case words at '_', '-' and '.' */
	char lower[256];
	size_t n = 0;
	for (const char *p = name; *p && n + 1 < sizeof(lower); p++)
		lower[n++] = (char)tolower((unsigned char)*p);
	lower[n] = 0;
	static const char *const bad[] = {
		"password", "passwd", "pwd_secret", "secret", "token", "apikey", "api_key",
		"private_key", "privatekey", "access_key", "accesskey", "secret_key", "credential",
		"credentials", "auth_token", "client_secret",
	};
	static const char *const okend[] = { "_file", "_path", "_dir", "_url", "_name", "_id", "_public", "_env" };
	for (size_t i = 0; i < sizeof(okend) / sizeof(okend[0]); i++) {
		size_t k = strlen(okend[i]);
		if (n > k && strcmp(lower + n - k, okend[i]) == 0)
			return false;
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		size_t k = strlen(bad[i]);
		for (const char *p = strstr(lower, bad[i]); p; p = strstr(p + 1, bad[i])) {
			bool left = p == lower || p[-1] == '_' || p[-1] == '-' || p[-1] == '.';
			bool right = p[k] == 0 || p[k] == '_' || p[k] == '-' || p[k] == '.';
			if (left && right)
				return true;
		}
	}
	return false;
}

static bool is_archive(const char *s)
{
	static const char *const ext[] = { ".tar", ".tar.gz", ".tgz", ".tar.bz2", ".tbz2", ".tbz",
					   ".tar.xz", ".txz", ".tar.zst", ".tzst" };
	size_t n = strlen(s);
	for (size_t i = 0; i < sizeof(ext) / sizeof(ext[0]); i++) {
		size_t k = strlen(ext[i]);
		if (n >= k && strcasecmp(s + n - k, ext[i]) == 0)
			return true;
	}
	return false;
}

static bool is_remote(const char *s)
{
	return has_prefix_ci(s, "http://") || has_prefix_ci(s, "https://") || has_prefix_ci(s, "git@") ||
	       has_prefix_ci(s, "git://") || strstr(s, ".git#") || (strlen(s) > 4 && strcmp(s + strlen(s) - 4, ".git") == 0);
}

static void rule_add(struct ctx *c, const struct df_instr *in)
{
	const struct df_copy *cp = &in->u.copy;
	if (cp->ncontents || cp->unpack >= 0 || (cp->checksum && *cp->checksum) || cp->keep_git_dir >= 0)
		return;
	for (size_t i = 0; i < cp->sources.n; i++) {
		const char *s = cp->sources.items[i];
		if (is_remote(s) || is_archive(s) || strchr(s, '$'))
			return;
	}
	if (!cp->sources.n)
		return;
	report(c, "BL111", in->node, in->node->start_line, in->node->col,
	       "ADD copies local files here; use COPY (ADD is for URLs and tar archives to unpack)");
}

static void rule_secret(struct ctx *c, const struct df_instr *in)
{
	if (in->kind == DF_I_ENV) {
		for (size_t i = 0; i < in->u.kv.n; i++)
			if (secret_name(in->u.kv.kvs[i].key))
				report_at(c, "BL112", in->node, in->u.kv.kvs[i].key,
					  "ENV '%s' looks like a secret and stays in the image; pass it with "
					  "RUN --mount=type=secret,id=%s", in->u.kv.kvs[i].key, in->u.kv.kvs[i].key);
	} else if (in->kind == DF_I_ARG) {
		for (size_t i = 0; i < in->u.arg.n; i++)
			if (secret_name(in->u.arg.args[i].key))
				report_at(c, "BL112", in->node, in->u.arg.args[i].key,
					  "ARG '%s' looks like a secret and is recorded in the image history; pass "
					  "it with RUN --mount=type=secret,id=%s", in->u.arg.args[i].key,
					  in->u.arg.args[i].key);
	}
}

static bool word_has_short_opt(const char *w, char opt)
{
	return w[0] == '-' && w[1] != '-' && strchr(w + 1, opt);
}

static bool run_has_cache_mount(const struct df_instr *in, const char *target)
{
	for (size_t m = 0; m < in->u.run.nmounts; m++)
		if (in->u.run.mounts[m].type == DF_MOUNT_CACHE)
			return true;
	for (size_t m = 0; m < in->u.run.mount_specs.n; m++)
		if (strstr(in->u.run.mount_specs.items[m], target))
			return true;
	return false;
}

/* Position of an apt-get install (falling back to the first apt-get). */
static const char *apt_needle(const struct ctx *c, const struct df_node *n)
{
	int l1, c1;
	pos_find(c, n, "apt-get install", &l1, &c1);
	return l1 == n->start_line && c1 == n->col ? "apt-get" : "apt-get install";
}

/* Command-level rules over one RUN's simple commands (posix shells). */
static void rule_run_posix(struct ctx *c, const struct df_instr *in, const struct cmdlist *cl)
{
	bool apt_install = false, lists_removed = false;
	for (size_t i = 0; i < cl->n; i++) {
		const struct words *cw = &cl->c[i];
		int k = command_word(cw);
		if (k < 0)
			continue;
		char p[64];
		prog_name(cw->w[k], p, sizeof(p));
		if (strcmp(p, "cd") == 0)
			report_at(c, "BL113", in->node, "cd ",
				  "cd in RUN changes directory for this RUN only; use WORKDIR %s",
				  k + 1 < (int)cw->n ? cw->w[k + 1] : "<dir>");
		if (strcmp(p, "rm") == 0)
			for (size_t j = (size_t)k + 1; j < cw->n; j++)
				if (strncmp(cw->w[j], "/var/lib/apt/lists", 18) == 0)
					lists_removed = true;
		if (strcmp(p, "apt-get") == 0) {
			bool install = false, yes = false, norec = false;
			for (size_t j = (size_t)k + 1; j < cw->n; j++) {
				const char *w = cw->w[j];
				if (strcmp(w, "install") == 0)
					install = true;
				else if (strcmp(w, "--yes") == 0 || strcmp(w, "--assume-yes") == 0 ||
					 word_has_short_opt(w, 'y') || strcmp(w, "-qq") == 0 ||
					 strncmp(w, "--quiet=2", 9) == 0)
					yes = true;
				else if (strcmp(w, "--no-install-recommends") == 0 ||
					 strstr(w, "Install-Recommends=false") || strstr(w, "Install-Recommends=0"))
					norec = true;
			}
			if (install) {
				apt_install = true;
				if (!yes)
					report_at(c, "BL114", in->node, apt_needle(c, in->node),
						  "apt-get install without -y stops at the confirmation prompt; "
						  "use apt-get install -y");
				if (!norec)
					report_at(c, "BL115", in->node, apt_needle(c, in->node),
						  "apt-get install without --no-install-recommends pulls in "
						  "recommended packages; add --no-install-recommends");
			}
		}
		if (strcmp(p, "apk") == 0) {
			bool add = false, nocache = false;
			for (size_t j = (size_t)k + 1; j < cw->n; j++) {
				if (strcmp(cw->w[j], "add") == 0)
					add = true;
				else if (strcmp(cw->w[j], "--no-cache") == 0)
					nocache = true;
			}
			if (add && !nocache && !run_has_cache_mount(in, "/var/cache/apk"))
				report_at(c, "BL117", in->node, "apk add",
					  "apk add without --no-cache leaves the package index in the layer; "
					  "use apk add --no-cache");
		}
	}
	if (apt_install && !lists_removed && !run_has_cache_mount(in, "/var/lib/apt"))
		report_at(c, "BL116", in->node, apt_needle(c, in->node),
			  "apt-get lists stay in this layer; end the RUN with && rm -rf /var/lib/apt/lists/*");
}

static bool ps_verb_noun(const char *w)
{
	static const char *const verbs[] = {
		"Get", "Set", "New", "Remove", "Invoke", "Install", "Add", "Expand", "Start", "Stop",
		"Write", "Copy", "Move", "Test", "Import", "Enable", "Disable", "Out", "Register",
		"Uninstall", "Update", "Rename", "Clear", "Restart", "Wait", "Select", "ForEach",
		"Where", "Resolve", "Join", "Split", "Convert", "ConvertTo", "ConvertFrom", "Export",
	};
	const char *dash = strchr(w, '-');
	if (!dash || dash == w || !isupper((unsigned char)dash[1]))
		return false;
	for (const char *p = dash + 1; *p; p++)
		if (!isalnum((unsigned char)*p))
			return false;
	for (size_t i = 0; i < sizeof(verbs) / sizeof(verbs[0]); i++)
		if (strlen(verbs[i]) == (size_t)(dash - w) && strncasecmp(w, verbs[i], dash - w) == 0)
			return true;
	return false;
}

/* The shell a shell-form RUN goes through, as a program name. */
static void shell_prog(const struct stage_view *v, char *out, size_t n)
{
	if (v->nshell)
		prog_name(v->shell[0], out, n);
	else
		snprintf(out, n, "%s", "sh");
}

static void rule_run_windows(struct ctx *c, const struct stage_view *v, const struct df_instr *in,
			     const struct cmdlist *cl, const char *text)
{
	bool nano = v->family && (strcmp(v->family, "nanoserver") == 0 || strcmp(v->family, "hub-nanoserver") == 0) &&
		    v->build >= 16299;
	char sh[64];
	shell_prog(v, sh, sizeof(sh));
	bool exec_form = !in->u.run.cmd.prepend_shell;
	bool invokes_ps = false;
	char psname[64] = "";
	if (exec_form) {
		if (in->u.run.cmd.args.n) {
			prog_name(in->u.run.cmd.args.items[0], psname, sizeof(psname));
			if (is_powershell_prog(psname)) {
				invokes_ps = true;
			}
		}
	} else {
		for (size_t i = 0; i < cl->n && !invokes_ps; i++) {
			int k = command_word(&cl->c[i]);
			if (k < 0)
				continue;
			prog_name(cl->c[i].w[k], psname, sizeof(psname));
			if (is_powershell_prog(psname)) {
				invokes_ps = true;
			}
		}
	}
	if (nano && invokes_ps && (strcmp(psname, "powershell") == 0 || !v->has_pwsh)) {
		report_at(c, "BW110", in->node, strcmp(psname, "pwsh") == 0 ? "pwsh" : "powershell",
			  strcmp(psname, "powershell") == 0 ?
			  "Nano Server has no Windows PowerShell (powershell.exe) since 1709; use pwsh from "
			  "an image that ships it (mcr.microsoft.com/powershell:lts-nanoserver-...) or a Server "
			  "Core base" :
			  "Nano Server has no PowerShell since 1709 and this image does not add pwsh; base the "
			  "stage on mcr.microsoft.com/powershell:lts-nanoserver-... or COPY PowerShell in first");
	}
	if (!exec_form && strcmp(sh, "cmd") == 0 && !invokes_ps) {
		const char *hit = NULL;
		size_t tl = strlen(text);
		static const char *const marks[] = { "$env:", "$ErrorActionPreference", "[Environment]::",
						     "$ProgressPreference", "[System.", "[Net.ServicePointManager]" };
		for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]) && !hit; i++)
			if (strcasestr_n(text, tl, marks[i]))
				hit = marks[i];
		for (size_t i = 0; i < cl->n && !hit; i++) {
			int k = command_word(&cl->c[i]);
			if (k >= 0 && (ps_verb_noun(cl->c[i].w[k]) || streq_ci(cl->c[i].w[k], "iwr") ||
				       streq_ci(cl->c[i].w[k], "iex")))
				hit = cl->c[i].w[k];
		}
		if (hit) {
			char *h = xstrdup(hit);
			report_at(c, "BW111", in->node, h,
				  "'%s' is PowerShell but this RUN goes through cmd (no SHELL set); add "
				  "SHELL [\"powershell\", \"-Command\", \"$ErrorActionPreference = 'Stop';\"] "
				  "before it or run powershell -Command explicitly", h);
			free(h);
		}
	}
	/* BW115: setx PATH (any Windows shell) */
	for (size_t i = 0; i < cl->n; i++) {
		const struct words *cw = &cl->c[i];
		int k = command_word(cw);
		if (k < 0)
			continue;
		char p[64];
		prog_name(cw->w[k], p, sizeof(p));
		if (strcmp(p, "setx") != 0)
			continue;
		size_t j = (size_t)k + 1;
		while (j < cw->n && (streq_ci(cw->w[j], "/m") || streq_ci(cw->w[j], "-m")))
			j++;
		if (j < cw->n && streq_ci(cw->w[j], "path")) {
			report_at(c, "BW115", in->node, "setx",
				  "setx PATH truncates the value to 1024 characters and %%PATH%% expands to the "
				  "merged machine and user PATH; in PowerShell use [Environment]::SetEnvironmentVariable("
				  "'Path', [Environment]::GetEnvironmentVariable('Path', 'Machine') + ';C:\\dir', "
				  "'Machine'), or ENV PATH with the full list");
			break;
		}
	}
}

static void rule_shell_options(struct ctx *c, const struct stage_view *v, const struct df_instr *in)
{
	const struct df_strv *sh = &in->u.shell;
	if (!sh->n)
		return;
	char p[64];
	prog_name(sh->items[0], p, sizeof(p));
	bool nano = v->family && (strcmp(v->family, "nanoserver") == 0 || strcmp(v->family, "hub-nanoserver") == 0) &&
		    v->build >= 16299;
	if (nano && is_powershell_prog(p) && (strcmp(p, "powershell") == 0 || !v->has_pwsh))
		report_at(c, "BW110", in->node, p,
			  "SHELL uses %s, which Nano Server does not have since 1709; every RUN after this "
			  "fails; use an image that ships pwsh (mcr.microsoft.com/powershell:lts-nanoserver-...)", p);
	if (!is_powershell_prog(p))
		return;
	bool command = false, stop = false;
	for (size_t i = 1; i < sh->n; i++) {
		const char *a = sh->items[i];
		if (a[0] == '-' && a[1] && strlen(a) <= 8 && strncasecmp(a, "-command", strlen(a)) == 0 &&
		    (a[1] == 'c' || a[1] == 'C'))
			command = true;
		if (strcasestr(a, "ErrorActionPreference") && strcasestr(a, "Stop"))
			stop = true;
	}
	if (command && stop)
		return;
	report_at(c, "BW114", in->node, "[",
		  "SHELL %s lacks %s%s%s; use SHELL [\"%s\", \"-Command\", \"$ErrorActionPreference = "
		  "'Stop'; $ProgressPreference = 'SilentlyContinue';\"]", p,
		  command ? "" : (strcmp(p, "pwsh") == 0 ? "-Command (pwsh treats the RUN text as a script file)"
						     : "-Command"),
		  !command && !stop ? " and " : "",
		  stop ? "" : "$ErrorActionPreference = 'Stop' (a failing cmdlet does not fail the RUN)", p);
}

/* BL110 and the variable checks. `defined` is the stage's ARG/ENV names so
 * far; `later` the ARG names declared after this instruction. */
struct names {
	char **v;
	size_t n, cap;
};

static bool names_has(const struct names *s, const char *n, bool ci)
{
	for (size_t i = 0; i < s->n; i++)
		if (ci ? strcasecmp(s->v[i], n) == 0 : strcmp(s->v[i], n) == 0)
			return true;
	return false;
}

static void names_add(struct names *s, const char *n)
{
	XGROW(s->v, s->n + 1, s->cap);
	s->v[s->n++] = (char *)n; /* borrowed */
}

static bool meta_has(const struct ctx *c, const char *n, bool ci)
{
	for (size_t i = 0; i < c->nmeta; i++)
		if (ci ? strcasecmp(c->meta_names[i], n) == 0 : strcmp(c->meta_names[i], n) == 0)
			return true;
	return false;
}

/* how a variable was written: $NAME / ${NAME}, cmd's %NAME%, PowerShell's $env:NAME */
enum var_form { VAR_SHELL, VAR_PERCENT, VAR_PSENV };

static void check_var(struct ctx *c, const struct df_instr *in, const char *name, bool ci,
		      const struct names *defined, const struct df_stage *st, size_t k, enum var_form form)
{
	if (names_has(defined, name, ci) || is_builtin_arg(name))
		return;
	int later_line = 0;
	for (size_t j = k + 1; j < st->ncmds && !later_line; j++) {
		const struct df_instr *l = st->cmds[j];
		if (l->kind != DF_I_ARG)
			continue;
		for (size_t a = 0; a < l->u.arg.n; a++)
			if (ci ? strcasecmp(l->u.arg.args[a].key, name) == 0 : strcmp(l->u.arg.args[a].key, name) == 0)
				later_line = l->node->start_line;
	}
	char needle[300];
	if (form == VAR_PERCENT)
		snprintf(needle, sizeof(needle), "%%%s%%", name);
	else if (form == VAR_PSENV)
		snprintf(needle, sizeof(needle), "$env:%s", name);
	else
		snprintf(needle, sizeof(needle), "$%s", name);
	int line, col;
	pos_find(c, in->node, needle, &line, &col);
	if (form == VAR_SHELL) {
		/* prefer the ${NAME form when both spellings could match */
		int l2, c2;
		snprintf(needle, sizeof(needle), "${%s", name);
		pos_find(c, in->node, needle, &l2, &c2);
		if (!(l2 == in->node->start_line && c2 == in->node->col) &&
		    (l2 < line || (l2 == line && c2 < col) || (line == in->node->start_line && col == in->node->col))) {
			line = l2;
			col = c2;
		}
	}
	if (later_line)
		report(c, "BL110", in->node, line, col,
		       "'%s' is used here but its ARG is declared later (line %d); move the ARG above",
		       name, later_line);
	else if (meta_has(c, name, ci))
		report(c, "BL110", in->node, line, col,
		       "'%s' is an ARG declared before FROM, which is not visible inside the stage; "
		       "add 'ARG %s' after FROM", name, name);
}

static void scan_vars(struct ctx *c, const struct df_instr *in, const char *text, bool ci,
		      const struct names *defined, const struct df_stage *st, size_t k, bool windows)
{
	struct df_lexer lex = DF_LEXER_INIT(c->f->escape);
	struct df_shell_vars vars = { 0 };
	struct berr *err = NULL;
	char *w = df_shell_process_word(&lex, text, NULL, &vars, &err);
	free(w);
	berr_free(err);
	for (size_t i = 0; i < vars.nunmatched; i++)
		check_var(c, in, vars.unmatched[i], ci, defined, st, k, VAR_SHELL);
	df_shell_vars_release(&vars);
	if (!windows)
		return;
	/* cmd.exe %NAME% references */
	for (const char *p = strchr(text, '%'); p; p = strchr(p + 1, '%')) {
		const char *e = p + 1;
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		if (*e != '%' || e == p + 1)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(e - p - 1), p + 1);
		check_var(c, in, name, true, defined, st, k, VAR_PERCENT);
		p = e;
	}
	/* PowerShell $env:NAME references */
	size_t tl = strlen(text);
	for (const char *p = strcasestr_n(text, tl, "$env:"); p; p = strcasestr_n(p + 5, tl - (size_t)(p + 5 - text), "$env:")) {
		const char *b = p + 5, *e = b;
		while (isalnum((unsigned char)*e) || *e == '_')
			e++;
		if (e == b)
			continue;
		char name[256];
		snprintf(name, sizeof(name), "%.*s", (int)(e - b), b);
		check_var(c, in, name, true, defined, st, k, VAR_PSENV);
	}
}

static const char *instr_text_for_vars(const struct df_instr *in, struct bbuf *b)
{
	bbuf_reset(b);
	switch (in->kind) {
	case DF_I_RUN:
		if (!in->u.run.cmd.prepend_shell)
			return NULL; /* exec form: no expansion */
		for (size_t i = 0; i < in->u.run.cmd.args.n; i++)
			bbuf_addf(b, NULL, "%s ", in->u.run.cmd.args.items[i]);
		break;
	case DF_I_COPY:
	case DF_I_ADD:
		for (size_t i = 0; i < in->u.copy.sources.n; i++)
			bbuf_addf(b, NULL, "%s ", in->u.copy.sources.items[i]);
		bbuf_addstr(b, in->u.copy.dest ? in->u.copy.dest : "", NULL);
		break;
	case DF_I_ENV:
	case DF_I_LABEL:
		for (size_t i = 0; i < in->u.kv.n; i++)
			bbuf_addf(b, NULL, "%s ", in->u.kv.kvs[i].value ? in->u.kv.kvs[i].value : "");
		break;
	case DF_I_WORKDIR:
	case DF_I_USER:
	case DF_I_STOPSIGNAL:
		bbuf_addstr(b, in->u.str ? in->u.str : "", NULL);
		break;
	case DF_I_EXPOSE:
	case DF_I_VOLUME:
		for (size_t i = 0; i < in->u.list.n; i++)
			bbuf_addf(b, NULL, "%s ", in->u.list.items[i]);
		break;
	case DF_I_ARG:
		for (size_t i = 0; i < in->u.arg.n; i++)
			if (in->u.arg.args[i].value)
				bbuf_addf(b, NULL, "%s ", in->u.arg.args[i].value);
		break;
	default:
		return NULL;
	}
	return bbuf_str(b);
}

static void add_env_names(struct names *defined, const struct df_stage *st)
{
	for (size_t k = 0; k < st->ncmds; k++) {
		const struct df_instr *in = st->cmds[k];
		if (in->kind == DF_I_ENV)
			for (size_t i = 0; i < in->u.kv.n; i++)
				names_add(defined, in->u.kv.kvs[i].key);
		else if (in->kind == DF_I_ARG)
			for (size_t i = 0; i < in->u.arg.n; i++)
				names_add(defined, in->u.arg.args[i].key);
	}
}

static void rule_vars_stage(struct ctx *c, const struct stage_view *v)
{
	const struct df_stage *st = v->st;
	bool ci = v->os == OS_WINDOWS;
	struct names defined = { 0 };
	/* ENV and ARG of parent stages are visible (ENV persists in the image;
	 * an ARG from a parent stage is inherited too) */
	for (int p = v->parent; p >= 0; p = c->sv[p].parent)
		add_env_names(&defined, c->sv[p].st);
	struct bbuf b = BBUF_INIT;
	for (size_t k = 0; k < st->ncmds; k++) {
		const struct df_instr *in = st->cmds[k];
		const char *text = instr_text_for_vars(in, &b);
		bool win_run = ci && in->kind == DF_I_RUN;
		if (text && (strchr(text, '$') || (win_run && strchr(text, '%'))))
			scan_vars(c, in, text, ci, &defined, st, k, win_run);
		if (in->kind == DF_I_ENV)
			for (size_t i = 0; i < in->u.kv.n; i++)
				names_add(&defined, in->u.kv.kvs[i].key);
		else if (in->kind == DF_I_ARG)
			for (size_t i = 0; i < in->u.arg.n; i++)
				names_add(&defined, in->u.arg.args[i].key);
	}
	bbuf_release(&b);
	free(defined.v);
}

/* Variables in FROM must be meta ARGs (or the automatic platform ARGs). */
static void rule_vars_from(struct ctx *c, const struct stage_view *v)
{
	const struct df_instr *fr = v->st->from;
	const char *words[2] = { fr->u.from.base, fr->u.from.platform };
	for (int i = 0; i < 2; i++) {
		if (!words[i] || !strchr(words[i], '$'))
			continue;
		struct df_lexer lex = DF_LEXER_INIT(c->f->escape);
		struct df_shell_vars vars = { 0 };
		struct berr *err = NULL;
		free(df_shell_process_word(&lex, words[i], NULL, &vars, &err));
		berr_free(err);
		for (size_t k = 0; k < vars.nunmatched; k++) {
			const char *name = vars.unmatched[k];
			if (meta_has(c, name, false) || is_builtin_arg(name))
				continue;
			char needle[300];
			int line, col;
			snprintf(needle, sizeof(needle), "${%s", name);
			pos_find(c, fr->node, needle, &line, &col);
			if (line == fr->node->start_line && col == fr->node->col) {
				snprintf(needle, sizeof(needle), "$%s", name);
				pos_find(c, fr->node, needle, &line, &col);
			}
			report(c, "BL110", fr->node, line, col,
			       "FROM uses '%s' but no 'ARG %s' is declared before the first FROM; "
			       "declare it there", name, name);
		}
		df_shell_vars_release(&vars);
	}
}

/* ------------------------------------------------------------ base rules */

static const char *release_end(const struct wc_release *r, const char *family)
{
	const char *e = family ? wc_release_image_end(r, family) : NULL;
	if (e)
		return e;
	return r->extended_end ? r->extended_end : r->end ? r->end : r->mainstream_end;
}

/* Supported LTSC tags of a family, for "move to ..." advice: releases not
 * past end of support on `today`, and when target hosts are known, only
 * those every host runs in process isolation (all of them when none does).
 * Writes e.g. "ltsc2022 or ltsc2025" into out; returns true when the tags
 * listed run in process isolation on every target host. */
static bool suggest_tags(const struct ctx *c, const char *family, char *out, size_t outsz)
{
	const char *fam = family;
	if (fam && strncmp(fam, "hub-", 4) == 0)
		fam = strcmp(fam, "hub-nanoserver") == 0 ? "nanoserver" : "servercore";
	if (!fam)
		fam = "servercore";
	const char *cand[16];
	int score[16];
	size_t n = 0;
	int best = 0;
	for (size_t i = 0; i < c->o->kb->nrel && n < 16; i++) {
		const struct wc_release *r = &c->o->kb->rel[i];
		const struct wc_family_tags *t = wc_release_tags(r, fam);
		if (r->kind != WC_KIND_SERVER_LTSC || !t)
			continue;
		enum wc_support sup = wc_release_support(r, c->o->today);
		const char *end = release_end(r, fam);
		if (sup == WC_SUP_ENDED || sup == WC_SUP_NOT_YET || (end && strcmp(c->o->today, end) > 0))
			continue;
		bool all = true;
		struct wc_image img;
		memset(&img, 0, sizeof(img));
		img.major = 10;
		img.build = r->build;
		img.has_version = true;
		img.rel = r;
		snprintf(img.os, sizeof(img.os), "windows");
		for (size_t h = 0; h < c->o->nhosts && all; h++) {
			struct wc_verdict v;
			wc_check(c->o->kb, &c->o->hosts[h].host, &img, WC_ISO_PROCESS, &v);
			all = wc_level_runs(v.level);
		}
		/* prefer tags every host runs, then releases in mainstream support */
		score[n] = (all ? 2 : 0) + (sup == WC_SUP_MAINSTREAM ? 1 : 0);
		if (score[n] > best)
			best = score[n];
		cand[n++] = t->tags[0];
	}
	out[0] = 0;
	size_t len = 0, shown = 0, want = 0;
	for (size_t i = 0; i < n; i++)
		want += score[i] == best;
	for (size_t i = 0; i < n; i++) {
		if (score[i] != best)
			continue;
		int w = snprintf(out + len, outsz - len, "%s%s", shown == 0 ? "" : shown + 1 == want ? " or " : ", ",
				 cand[i]);
		if (w < 0 || (size_t)w >= outsz - len)
			break;
		len += (size_t)w;
		shown++;
	}
	if (!shown)
		snprintf(out, outsz, "a supported LTSC release tag");
	return shown && best >= 2; /* the tags listed run on every target host */
}

static void rule_base(struct ctx *c, struct stage_view *v)
{
	const struct df_instr *fr = v->st->from;
	const struct df_node *n = fr->node;
	if (v->parent >= 0 || v->scratch || !v->base || !v->ref)
		return;
	const struct df_ref *r = v->ref;
	char *fam_name = df_ref_familiar_name(r);
	const char *needle = fr->u.from.base;
	bool win_latest = false;
	char ltsc[128];
	suggest_tags(c, v->family, ltsc, sizeof(ltsc));
	/* BW105: no 'latest' on Microsoft Windows base repositories */
	if (v->tag_ok && v->tag.family && !r->digest && (!r->tag || strcmp(r->tag, "latest") == 0)) {
		win_latest = true;
		report_at(c, "BW105", n, needle,
			  "%s has no 'latest' tag since 2019-04-16 (pulls fail with 'manifest unknown'); "
			  "name a release tag: %s", fam_name, ltsc);
	}
	if (!win_latest && !r->tag && !r->digest)
		report_at(c, "BL101", n, needle,
			  "base image '%s' has no tag, so it means 'latest' and changes under you; pin a "
			  "version tag", v->base);
	else if (!win_latest && r->tag && strcmp(r->tag, "latest") == 0 && !r->digest)
		report_at(c, "BL102", n, needle,
			  "base image '%s' uses the moving 'latest' tag; pin a version tag", v->base);
	if (!r->digest)
		report_at(c, "BL103", n, needle,
			  "pin '%s' by digest (%s@sha256:...) so release builds are reproducible", v->base,
			  v->base);
	/* BL118: trusted registries */
	if (c->o->ntrusted) {
		char *name = df_ref_name(r);
		bool ok = false;
		for (size_t i = 0; i < c->o->ntrusted && !ok; i++) {
			const char *t = c->o->trusted[i];
			size_t tl = strlen(t);
			while (tl && t[tl - 1] == '/')
				tl--;
			if (strcasecmp(t, "docker.io") == 0 || strcasecmp(t, "index.docker.io") == 0 ||
			    strcasecmp(t, "registry-1.docker.io") == 0)
				ok = strcmp(r->domain, "docker.io") == 0;
			else
				ok = strncasecmp(name, t, tl) == 0 && (name[tl] == 0 || name[tl] == '/');
		}
		if (!ok)
			report_at(c, "BL118", n, needle,
				  "registry '%s' of '%s' is not in trusted_registries; use an image from a "
				  "trusted registry", r->domain, v->base);
		free(name);
	}
	/* BW104: retired Docker Hub repositories */
	if (v->tag_ok && v->tag.retired_repo && v->tag.family) {
		const char *succ = v->tag.family->successor ? v->tag.family->successor : "mcr.microsoft.com";
		report_at(c, "BW104", n, needle,
			  "%s is a retired Docker Hub repository that gets no updates; use %s (tags: %s)",
			  v->tag.family->repos[0], succ, ltsc);
	} else if (strcmp(r->domain, "docker.io") == 0 && strncmp(r->path, "microsoft/", 10) == 0) {
		static const char *const moved[][2] = {
			{ "microsoft/dotnet", "mcr.microsoft.com/dotnet/sdk, .../aspnet or .../runtime" },
			{ "microsoft/aspnet", "mcr.microsoft.com/dotnet/framework/aspnet" },
			{ "microsoft/dotnet-framework", "mcr.microsoft.com/dotnet/framework/sdk or .../runtime" },
			{ "microsoft/dotnet-framework-build", "mcr.microsoft.com/dotnet/framework/sdk" },
			{ "microsoft/iis", "mcr.microsoft.com/windows/servercore/iis" },
			{ "microsoft/powershell", "mcr.microsoft.com/powershell" },
		};
		for (size_t i = 0; i < sizeof(moved) / sizeof(moved[0]); i++)
			if (strcmp(r->path, moved[i][0]) == 0) {
				int line, col;
				pos_find(c, n, needle, &line, &col);
				size_t before = c->res->n;
				report(c, "BW104", n, line, col,
				       "%s on Docker Hub is no longer updated; Microsoft publishes it as %s",
				       moved[i][0], moved[i][1]);
				/* not in the compat KB: a warning, not an error */
				if (c->res->n > before && c->res->f[before].severity == LINT_ERROR)
					c->res->f[before].severity = LINT_WARNING;
			}
	}
	/* BW101-BW103: support lifecycle */
	if (v->rel) {
		const struct wc_release *rel = v->rel;
		const char *end = release_end(rel, v->family);
		bool sac = rel->kind == WC_KIND_SERVER_SAC;
		if (end && strcmp(c->o->today, end) > 0) {
			report_at(c, "BW101", n, needle,
				  "%s (build %u) reached end of support on %s%s; move to %s",
				  rel->name, rel->build, end,
				  sac ? " (semi-annual channel)" : "", ltsc);
		} else if (end && iso_days(end) - iso_days(c->o->today) <= c->o->near_eol_days) {
			report_at(c, "BW102", n, needle,
				  "%s (build %u) reaches end of support on %s (%ld days); plan the move to %s",
				  rel->name, rel->build, end, iso_days(end) - iso_days(c->o->today), ltsc);
		} else if (sac) {
			report_at(c, "BW103", n, needle,
				  "%s is a semi-annual channel release (18 months of support%s%s); use an LTSC "
				  "tag such as %s", rel->name, end ? ", ends " : "", end ? end : "", ltsc);
		}
	}
	/* BW116: --platform against the base */
	if (v->platform && !strchr(v->platform, '$')) {
		bool pw = has_prefix_ci(v->platform, "windows"), pl = has_prefix_ci(v->platform, "linux");
		enum os img_os = OS_UNKNOWN;
		if (v->tag_ok && (v->tag.how != WC_TAG_UNKNOWN || v->tag.family))
			img_os = OS_WINDOWS;
		else if (linux_image(r))
			img_os = OS_LINUX;
		if ((pl && img_os == OS_WINDOWS) || (pw && img_os == OS_LINUX))
			report_at(c, "BW116", n, "--platform",
				  "--platform=%s contradicts the base image '%s', which is a %s image; use "
				  "--platform=%s/amd64 or another image", v->platform, v->base,
				  img_os == OS_WINDOWS ? "Windows" : "Linux",
				  img_os == OS_WINDOWS ? "windows" : "linux");
	}
	free(fam_name);
}

/* BW106/BW107 for a leaf stage: its Windows build against every target host. */
static void rule_hosts(struct ctx *c, const struct stage_view *leaf, bool *done_roots)
{
	if (!c->o->nhosts || leaf->os != OS_WINDOWS || !leaf->build)
		return;
	const struct stage_view *root = &c->sv[leaf->root];
	if (done_roots[leaf->root])
		return;
	done_roots[leaf->root] = true;
	struct wc_image img;
	memset(&img, 0, sizeof(img));
	img.major = 10;
	img.build = leaf->build;
	img.has_version = true;
	img.rel = leaf->rel;
	snprintf(img.os, sizeof(img.os), "windows");
	struct bbuf none = BBUF_INIT, hv = BBUF_INIT;
	size_t nnone = 0, nhv = 0;
	char reason_none[512] = "", reason_hv[512] = "";
	for (size_t i = 0; i < c->o->nhosts; i++) {
		const struct lint_host *h = &c->o->hosts[i];
		struct wc_verdict p, y;
		wc_check(c->o->kb, &h->host, &img, WC_ISO_PROCESS, &p);
		if (p.level == WC_UNKNOWN || wc_level_runs(p.level))
			continue;
		wc_check(c->o->kb, &h->host, &img, WC_ISO_HYPERV, &y);
		bool hv_runs = wc_level_runs(y.level);
		struct bbuf *b = hv_runs ? &hv : &none;
		size_t *cnt = hv_runs ? &nhv : &nnone;
		if (*cnt < MAX_HOSTS_LISTED)
			bbuf_addf(b, NULL, "%s%s (build %u)", *cnt ? ", " : "", h->label, h->host.build);
		if (*cnt == 0)
			snprintf(hv_runs ? reason_hv : reason_none, 512, "%s", p.reason);
		(*cnt)++;
	}
	const char *needle = root->st->from->u.from.base;
	const struct df_node *n = stage_node(root);
	char relname[160];
	snprintf(relname, sizeof(relname), "%s", leaf->rel ? leaf->rel->name : "Windows");
	char tags[128] = "";
	bool fits = (nnone || nhv) && suggest_tags(c, leaf->family, tags, sizeof(tags));
	if (nnone) {
		if (nnone > MAX_HOSTS_LISTED)
			bbuf_addf(&none, NULL, " and %zu more", nnone - MAX_HOSTS_LISTED);
		report_at(c, "BW106", n, needle,
			  "base '%s' (%s, build %u) cannot run on target host%s %s in either isolation mode "
			  "(%s); %s%s", root->base, relname, leaf->build,
			  nnone > 1 ? "s" : "", bbuf_str(&none), reason_none,
			  fits ? "use a release every target host runs: " : "use a base no newer than the oldest host",
			  fits ? tags : "");
	}
	if (nhv) {
		if (nhv > MAX_HOSTS_LISTED)
			bbuf_addf(&hv, NULL, " and %zu more", nhv - MAX_HOSTS_LISTED);
		report_at(c, "BW107", n, needle,
			  "base '%s' (%s, build %u) cannot run in process isolation on target host%s %s (%s); "
			  "Hyper-V isolation would work; %s%s",
			  root->base, relname, leaf->build, nhv > 1 ? "s" : "", bbuf_str(&hv), reason_hv,
			  fits ? "for process isolation use " : "no single release runs process-isolated on "
			  "every target host: build one image per host release",
			  fits ? tags : "");
	}
	bbuf_release(&none);
	bbuf_release(&hv);
}

static const char *os_name(enum os o)
{
	return o == OS_WINDOWS ? "Windows" : o == OS_LINUX ? "Linux" : "unknown";
}

static void rule_copy_from(struct ctx *c, const struct stage_view *v, const struct df_instr *in)
{
	const char *from = in->u.copy.from;
	if (!from || !*from || strchr(from, '$'))
		return;
	int cur = v->index;
	int src = from_stage(c, from, cur);
	char needle[300];
	snprintf(needle, sizeof(needle), "--from=%s", from);
	enum os src_os = OS_UNKNOWN;
	uint32_t src_build = 0;
	bool src_cross = false;
	const char *src_desc = from;
	struct df_ref *ref = NULL;
	if (src < 0) {
		char *end;
		long idx = strtol(from, &end, 10);
		bool numeric = *end == 0 && end != from;
		int later = -1;
		for (size_t i = 0; i < c->nsv && later < 0; i++) {
			const char *sn = c->sv[i].st->from->u.from.name;
			if ((int)i >= cur && sn && strcasecmp(sn, from) == 0)
				later = (int)i;
		}
		if (numeric || later >= 0) {
			report_at(c, "BL108", in->node, "--from",
				  "COPY --from=%s refers to %s; only earlier stages can be copied from",
				  from, numeric ? (idx >= cur ? "this or a later stage" : "no stage") :
				  "this or a later stage");
			return;
		}
		if (!strpbrk(from, "/:.@")) {
			report_at(c, "BL108", in->node, "--from",
				  "COPY --from=%s names no earlier stage, so it pulls an image called '%s'; "
				  "fix the stage name (stages: AS <name>)", from, from);
			return;
		}
		/* an image reference */
		bool tag_ok;
		struct wc_tag_info tag;
		classify_ref(c, from, &ref, &tag_ok, &tag, &src_os);
		if (tag_ok && tag.how != WC_TAG_UNKNOWN)
			src_build = tag.ver.build;
	} else {
		src_os = c->sv[src].os;
		src_build = c->sv[src].build;
		src_cross = c->sv[src].platform_build;
		src_desc = c->sv[src].st->from->u.from.name && *c->sv[src].st->from->u.from.name ?
			   c->sv[src].st->from->u.from.name : from;
	}
	df_ref_free(ref);
	if (src_os != OS_UNKNOWN && v->os != OS_UNKNOWN && src_os != v->os && !src_cross)
		report_at(c, "BW109", in->node, "--from",
			  "COPY --from=%s copies from a %s stage into a %s stage; binaries built there do not "
			  "run here; build '%s' for %s (or use FROM --platform=$BUILDPLATFORM for a "
			  "cross-compiling stage)", from, os_name(src_os), os_name(v->os), src_desc,
			  os_name(v->os));
	else if (src_os == OS_WINDOWS && v->os == OS_WINDOWS && src_build && v->build &&
		 src_build != v->build)
		report_at(c, "BW108", in->node, "--from",
			  "'%s' is on Windows build %u but this stage is on build %u; one build host cannot "
			  "run both in process isolation; use the same release tag for every stage",
			  src_desc, src_build, v->build);
}

static void rule_stage(struct ctx *c, struct stage_view *v)
{
	const struct df_stage *st = v->st;
	int ncmd = 0, nentry = 0, first_cmd = 0, first_entry = 0;
	bool workdir_abs = false;
	for (int p = v->parent; p >= 0 && !workdir_abs; p = c->sv[p].parent)
		for (size_t k = 0; k < c->sv[p].st->ncmds; k++)
			if (c->sv[p].st->cmds[k]->kind == DF_I_WORKDIR && c->sv[p].st->cmds[k]->u.str &&
			    workdir_absolute(c->sv[p].st->cmds[k]->u.str))
				workdir_abs = true;
	/* the effective SHELL changes as the stage goes */
	char **shell = v->parent >= 0 ? c->sv[v->parent].shell :
		       v->os == OS_WINDOWS ? default_shell_cmd : default_shell_sh;
	size_t nshell = v->parent >= 0 ? c->sv[v->parent].nshell : v->os == OS_WINDOWS ? 3 : 2;
	bool has_pwsh = v->parent >= 0 ? c->sv[v->parent].has_pwsh :
			(v->ref && (strstr(v->ref->path, "powershell") || strstr(v->ref->path, "dotnet/sdk")));
	for (size_t k = 0; k < st->ncmds; k++) {
		const struct df_instr *in = st->cmds[k];
		const struct df_node *n = in->node;
		struct stage_view cur = *v;
		cur.shell = shell;
		cur.nshell = nshell;
		cur.has_pwsh = has_pwsh;
		rule_maintainer(c, in);
		rule_secret(c, in);
		switch (in->kind) {
		case DF_I_CMD:
		case DF_I_ENTRYPOINT: {
			bool is_cmd = in->kind == DF_I_CMD;
			int *cnt = is_cmd ? &ncmd : &nentry;
			int *first = is_cmd ? &first_cmd : &first_entry;
			if (++*cnt == 1)
				*first = n->start_line;
			else
				report(c, "BL105", n, n->start_line, n->col,
				       "%s already set on line %d of this stage; only the last %s takes effect, "
				       "remove the other", n->name, *first, is_cmd ? "CMD" : "ENTRYPOINT");
			if (in->u.cmd.prepend_shell && in->u.cmd.args.n) {
				/* skip when BW113 explains it (JSON-looking text) */
				const char *a = in->u.cmd.args.items[0];
				size_t al = strlen(a);
				if (!(al >= 2 && a[0] == '[' && a[al - 1] == ']'))
					report(c, "BL106", n, n->start_line, n->col,
					       "%s in shell form runs under %s, which does not forward signals; "
					       "use the JSON form %s [\"executable\", \"arg\"]",
					       n->name, v->os == OS_WINDOWS ? "cmd /S /C" : "/bin/sh -c", n->name);
			}
			break;
		}
		case DF_I_WORKDIR:
			if (in->u.str && *in->u.str) {
				if (workdir_absolute(in->u.str))
					workdir_abs = true;
				else if (!workdir_abs)
					report_at(c, "BL107", n, in->u.str,
						  "WORKDIR '%s' is relative to the base image's working directory; "
						  "use an absolute path such as %s%s", in->u.str,
						  v->os == OS_WINDOWS ? "C:\\" : "/", in->u.str);
			}
			break;
		case DF_I_ADD:
			rule_add(c, in);
			break;
		case DF_I_COPY:
			rule_copy_from(c, v, in);
			if (copy_mentions_pwsh(&in->u.copy))
				has_pwsh = true;
			break;
		case DF_I_SHELL:
			if (v->os == OS_WINDOWS || in->u.shell.n)
				rule_shell_options(c, &cur, in);
			if (in->u.shell.n) {
				shell = in->u.shell.items;
				nshell = in->u.shell.n;
			}
			break;
		case DF_I_RUN: {
			struct bbuf text = BBUF_INIT;
			for (size_t i = 0; i < in->u.run.cmd.args.n; i++)
				bbuf_addf(&text, NULL, "%s%s", i ? " " : "", in->u.run.cmd.args.items[i]);
			for (size_t i = 0; i < in->u.run.cmd.nfiles; i++)
				bbuf_addf(&text, NULL, "\n%s", in->u.run.cmd.files[i].data ? in->u.run.cmd.files[i].data : "");
			char sh[64];
			prog_name(nshell ? shell[0] : "sh", sh, sizeof(sh));
			bool posix = !(strcmp(sh, "cmd") == 0 || is_powershell_prog(sh));
			struct cmdlist cl = { 0 };
			split_commands(bbuf_str(&text), text.len, posix, &cl);
			if (posix && v->os != OS_WINDOWS)
				rule_run_posix(c, in, &cl);
			if (v->os == OS_WINDOWS)
				rule_run_windows(c, &cur, in, &cl, bbuf_str(&text));
			cmdlist_free(&cl);
			bbuf_release(&text);
			break;
		}
		default:
			break;
		}
	}
}

/* ------------------------------------------------------------------ main */

static void sort_findings(struct lint_result *r)
{
	/* insertion sort: stable, and n is small */
	for (size_t i = 1; i < r->n; i++) {
		struct lint_finding t = r->f[i];
		size_t j = i;
		while (j > 0 && (r->f[j - 1].line > t.line ||
				 (r->f[j - 1].line == t.line && r->f[j - 1].col > t.col) ||
				 (r->f[j - 1].line == t.line && r->f[j - 1].col == t.col &&
				  strcmp(r->f[j - 1].rule->id, t.rule->id) > 0))) {
			r->f[j] = r->f[j - 1];
			j--;
		}
		r->f[j] = t;
	}
}

int lint_check(const struct lint_options *o, const char *name, const char *data, size_t len,
	       struct lint_result *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	out->file = xstrdup(name);
	if (!o || !o->kb)
		return berr_set(err, BERR_INTERNAL, "lint options without a knowledge base");
	struct ctx c = { .o = o, .res = out, .data = data, .len = len };
	line_index(&c);
	struct df_file *f = NULL;
	struct berr *perr = NULL;
	if (df_parse(name, data, len, &f, &perr) < 0) {
		out->parse_failed = true;
		report(&c, "BL100", NULL, perr && perr->line ? perr->line : 1, perr && perr->col ? perr->col : 1,
		       "%s", perr && perr->msg ? perr->msg : "parse error");
		berr_free(perr);
		free(c.lines);
		free(c.linelen);
		return 0;
	}
	c.f = f;
	struct df_stages_fail fail = { 0 };
	if (df_stages_parse(f, &c.stages, &fail, &perr) < 0) {
		out->parse_failed = true;
		for (size_t i = 0; i < f->nnodes; i++)
			rule_json_not_json(&c, &f->nodes[i]);
		const struct df_node *n = fail.node;
		report(&c, "BL100", NULL, n ? n->start_line : (perr && perr->line ? perr->line : 1),
		       n ? n->col : 1, "%s", perr && perr->msg ? perr->msg : "parse error");
		berr_free(perr);
		goto done;
	}
	/* meta ARGs */
	c.meta_env = df_env_new(false);
	size_t nmeta = 0;
	for (size_t i = 0; i < c.stages->nmeta_args; i++)
		nmeta += c.stages->meta_args[i]->u.arg.n;
	c.meta_names = xcalloc(nmeta + 1, sizeof(char *));
	for (size_t i = 0; i < c.stages->nmeta_args; i++) {
		const struct df_instr *a = c.stages->meta_args[i];
		for (size_t k = 0; k < a->u.arg.n; k++) {
			c.meta_names[c.nmeta++] = a->u.arg.args[k].key;
			if (a->u.arg.args[k].value) {
				/* defaults may use earlier meta ARGs */
				char *val = expand_meta(&c, a->u.arg.args[k].value, NULL);
				df_env_set(c.meta_env, a->u.arg.args[k].key, val ? val : a->u.arg.args[k].value);
				free(val);
			}
		}
		rule_secret(&c, a);
	}
	build_views(&c);
	for (size_t i = 0; i < f->nnodes; i++) {
		rule_json_not_json(&c, &f->nodes[i]);
		rule_continuation_trap(&c, &f->nodes[i]);
	}
	/* duplicate stage names */
	for (size_t i = 0; i < c.nsv; i++) {
		const char *sn = c.sv[i].st->from->u.from.name;
		if (!sn || !*sn)
			continue;
		int prev = find_stage(&c, sn, (int)i);
		if (prev >= 0)
			report_at(&c, "BL109", stage_node(&c.sv[i]), sn,
				  "stage name '%s' is already used on line %d; rename this stage", sn,
				  stage_node(&c.sv[prev])->start_line);
	}
	bool *done_roots = xcalloc(c.nsv ? c.nsv : 1, sizeof(bool));
	for (size_t i = 0; i < c.nsv; i++) {
		rule_vars_from(&c, &c.sv[i]);
		rule_base(&c, &c.sv[i]);
		rule_stage(&c, &c.sv[i]);
		rule_vars_stage(&c, &c.sv[i]);
	}
	for (size_t i = 0; i < c.nsv; i++)
		if (!c.sv[i].used || i + 1 == c.nsv)
			rule_hosts(&c, &c.sv[i], done_roots);
	free(done_roots);
	views_free(&c);
done:
	sort_findings(out);
	df_env_free(c.meta_env);
	free(c.meta_names);
	df_stages_free(c.stages);
	df_file_free(f);
	free(c.lines);
	free(c.linelen);
	return 0;
}
