/* Dockerfile instruction layer: df_node -> struct df_instr, with BuildKit's
 * checks and error texts (frontend/dockerfile/instructions parse.go and
 * bflag.go). See df_instr.h and docs/instructions.md. */
#include <ctype.h>
#include <stdarg.h>
#include <stdint.h>
#include <strings.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_instr.h"
#include "parser/df_instr_int.h"
#include "common/common.h"

/* Upper bound of flags one instruction declares (RUN has 4, ADD 7). */
#define DF_MAX_FLAGDEFS 8
/* Suggestions ("did you mean x?") need an edit distance below this. */
#define DF_SUGGEST_MAXDIST 3

static const char *const kind_names[] = {
	[DF_I_FROM] = "FROM",		[DF_I_RUN] = "RUN",
	[DF_I_CMD] = "CMD",		[DF_I_ENTRYPOINT] = "ENTRYPOINT",
	[DF_I_SHELL] = "SHELL",		[DF_I_LABEL] = "LABEL",
	[DF_I_MAINTAINER] = "MAINTAINER", [DF_I_EXPOSE] = "EXPOSE",
	[DF_I_ENV] = "ENV",		[DF_I_ADD] = "ADD",
	[DF_I_COPY] = "COPY",		[DF_I_VOLUME] = "VOLUME",
	[DF_I_USER] = "USER",		[DF_I_WORKDIR] = "WORKDIR",
	[DF_I_ARG] = "ARG",		[DF_I_ONBUILD] = "ONBUILD",
	[DF_I_STOPSIGNAL] = "STOPSIGNAL", [DF_I_HEALTHCHECK] = "HEALTHCHECK",
};

const char *df_instr_kind_name(enum df_instr_kind kind)
{
	if ((size_t)kind >= ARRAY_SIZE(kind_names))
		return NULL;
	return kind_names[kind];
}

/* ---- small helpers ---------------------------------------------------- */

static size_t lev_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	size_t *row = xcalloc(lb + 1, sizeof(*row));
	for (size_t j = 0; j <= lb; j++)
		row[j] = j;
	for (size_t i = 1; i <= la; i++) {
		size_t diag = row[0];
		row[0] = i;
		for (size_t j = 1; j <= lb; j++) {
			size_t up = row[j];
			size_t best = diag + (a[i - 1] != b[j - 1]);
			if (up + 1 < best)
				best = up + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			diag = up;
		}
	}
	size_t d = row[lb];
	free(row);
	return d;
}

static char *str_lower(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	return r;
}

static char *str_upper(const char *s)
{
	char *r = xstrdup(s);
	for (char *p = r; *p; p++)
		*p = (char)toupper((unsigned char)*p);
	return r;
}

/* BuildKit's suggest.WrapError: the closest option (distance < 3), or NULL.
 * An exact match means the error was about something else: no suggestion. */
const char *df_suggest(const char *val, const char *const *opts, size_t nopts,
		       bool case_sensitive, char **owned)
{
	_cleanup_free_ char *v = case_sensitive ? xstrdup(val) : str_lower(val);
	const char *match = NULL;
	size_t mindist = DF_SUGGEST_MAXDIST;
	*owned = NULL;
	for (size_t i = 0; i < nopts; i++) {
		_cleanup_free_ char *o = case_sensitive ? xstrdup(opts[i]) : str_lower(opts[i]);
		if (strcmp(v, o) == 0)
			return NULL;
		size_t d = lev_distance(v, o);
		if (d < mindist) {
			mindist = d;
			match = opts[i];
		}
	}
	if (!match)
		return NULL;
	if (!case_sensitive) {
		bool all_lower = true, all_upper = true;
		for (const char *p = val; *p; p++) {
			if (isupper((unsigned char)*p))
				all_lower = false;
			if (islower((unsigned char)*p))
				all_upper = false;
		}
		if (all_lower)
			*owned = str_lower(match);
		else if (all_upper)
			*owned = str_upper(match);
		else
			*owned = str_lower(match);
		return *owned;
	}
	return match;
}

static void strv_push_len(struct df_strv *v, const char *s, size_t len)
{
	v->items = xreallocarray(v->items, v->n + 2, sizeof(*v->items));
	char *copy = xmalloc(len + 1);
	memcpy(copy, s, len);
	copy[len] = '\0';
	if (len != strlen(copy) && !v->lens) {
		v->lens = xcalloc(v->n + 1, sizeof(*v->lens));
		for (size_t i = 0; i < v->n; i++)
			v->lens[i] = strlen(v->items[i]);
	}
	if (v->lens) {
		v->lens = xreallocarray(v->lens, v->n + 1, sizeof(*v->lens));
		v->lens[v->n] = len;
	}
	v->items[v->n++] = copy;
	v->items[v->n] = NULL;
}

static void strv_push(struct df_strv *v, const char *s)
{
	strv_push_len(v, s, strlen(s));
}

static size_t node_arglen(const struct df_node *n, size_t i)
{
	return n->arglens ? n->arglens[i] : strlen(n->args[i]);
}

/* An empty but non-null list (JSON []). */
static void strv_make_empty(struct df_strv *v)
{
	if (!v->items)
		v->items = xcalloc(1, sizeof(*v->items));
}

void df_strv_clear(struct df_strv *v)
{
	for (size_t i = 0; i < v->n; i++)
		free(v->items[i]);
	free(v->items);
	free(v->lens);
	v->items = NULL;
	v->lens = NULL;
	v->n = 0;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- conversion context and errors ------------------------------------ */

struct conv {
	const struct df_file *f;
	const struct df_node *n;     /* node whose position errors use */
	const char *flag_hint;       /* "--name" of the flag being complained about */
	const char *flag_word;       /* the whole flag word, when one of several */
};

static int column_of(const struct conv *c)
{
	int col = c->n->col > 0 ? c->n->col : 1;
	if (!c->flag_hint || !c->n->original || c->n->start_line != c->n->end_line)
		return col;
	/* The original line starts at the keyword; a flag found in it on a
	 * single-line instruction is at keyword column + offset. */
	const char *o = c->n->original;
	const char *kw = c->n->name ? c->n->name : "";
	const char *from = o;
	if (strncasecmp(o, kw, strlen(kw)) == 0)
		from = o + strlen(kw);
	/* prefer the exact word (which of two --mount flags), else the name */
	const char *hit = c->flag_word ? strstr(from, c->flag_word) : NULL;
	if (!hit)
		hit = strstr(from, c->flag_hint);
	if (!hit)
		return col;
	return col + (int)(hit - o);
}

static int cerr(struct conv *c, struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int cerr(struct conv *c, struct berr **err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *msg = xvasprintf(fmt, ap);
	va_end(ap);
	const char *file = c->f && c->f->name ? c->f->name : "Dockerfile";
	return berr_set_at(err, BERR_INPUT, file, c->n->start_line, column_of(c), "%s", msg);
}

/* ---- builder flags (bflag.go) ------------------------------------------ */

enum flag_type { FL_BOOL, FL_STRING, FL_STRINGS };

struct flagdef {
	const char *name;
	enum flag_type type;
	const char *def;   /* default value for bool ("false") / string flags */
};

struct flagval {
	bool used;
	char *value;       /* bool: "true"/"false"; string: the value */
	struct df_strv values;
};

struct bflags {
	const struct flagdef *defs;
	size_t ndefs;
	struct flagval v[DF_MAX_FLAGDEFS];
};

static void bflags_init(struct bflags *b, const struct flagdef *defs, size_t n)
{
	memset(b, 0, sizeof(*b));
	b->defs = defs;
	b->ndefs = n < DF_MAX_FLAGDEFS ? n : DF_MAX_FLAGDEFS;
	for (size_t i = 0; i < b->ndefs; i++)
		if (defs[i].def)
			b->v[i].value = xstrdup(defs[i].def);
}

static void bflags_clear(struct bflags *b)
{
	for (size_t i = 0; i < b->ndefs; i++) {
		free(b->v[i].value);
		df_strv_clear(&b->v[i].values);
	}
}

static struct flagval *bflags_get(struct bflags *b, const char *name)
{
	for (size_t i = 0; i < b->ndefs; i++)
		if (strcmp(b->defs[i].name, name) == 0)
			return &b->v[i];
	return NULL;
}

static const char *bflags_str(struct bflags *b, const char *name)
{
	struct flagval *v = bflags_get(b, name);
	return v && v->value ? v->value : "";
}

static bool bflags_true(struct bflags *b, const char *name)
{
	return strcmp(bflags_str(b, name), "true") == 0;
}

static int bflags_parse(struct conv *c, struct bflags *b, struct berr **err)
{
	for (size_t i = 0; i < c->n->nflags; i++) {
		const char *a = c->n->flags[i];
		if (strcmp(a, "--") == 0)
			return 0;
		if (strncmp(a, "--", 2) != 0)
			return cerr(c, err, "arg should start with -- : %s", a);
		const char *eq = strchr(a, '=');
		_cleanup_free_ char *flagname = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
		const char *value = eq ? eq + 1 : "";
		const char *name = flagname + 2;
		c->flag_hint = flagname;
		size_t k;
		for (k = 0; k < b->ndefs; k++)
			if (strcmp(b->defs[k].name, name) == 0)
				break;
		if (k == b->ndefs) {
			const char *opts[DF_MAX_FLAGDEFS];
			for (size_t j = 0; j < b->ndefs; j++)
				opts[j] = b->defs[j].name;
			qsort(opts, b->ndefs, sizeof(opts[0]), cmp_str);
			_cleanup_free_ char *owned = NULL;
			const char *s = df_suggest(name, opts, b->ndefs, true, &owned);
			if (s)
				return cerr(c, err, "unknown flag: %s (did you mean %s?)", flagname, s);
			return cerr(c, err, "unknown flag: %s", flagname);
		}
		struct flagval *v = &b->v[k];
		if (v->used && b->defs[k].type != FL_STRINGS)
			return cerr(c, err, "duplicate flag specified: %s", flagname);
		v->used = true;
		switch (b->defs[k].type) {
		case FL_BOOL:
			if (eq && !*value)
				return cerr(c, err, "missing a value on flag: %s", flagname);
			if (!*value || strcasecmp(value, "true") == 0) {
				free(v->value);
				v->value = xstrdup("true");
			} else if (strcasecmp(value, "false") == 0) {
				free(v->value);
				v->value = xstrdup("false");
			} else {
				return cerr(c, err, "expecting boolean value for flag %s, not: %s",
					    flagname, value);
			}
			break;
		case FL_STRING:
			if (!eq)
				return cerr(c, err, "missing a value on flag: %s", flagname);
			free(v->value);
			v->value = xstrdup(value);
			break;
		case FL_STRINGS:
			if (!eq)
				return cerr(c, err, "missing a value on flag: %s", flagname);
			strv_push(&v->values, value);
			break;
		}
	}
	c->flag_hint = NULL;
	return 0;
}

/* Parse with no declared flags: any flag is unknown. */
static int noflags(struct conv *c, struct berr **err)
{
	struct bflags b;
	bflags_init(&b, NULL, 0);
	return bflags_parse(c, &b, err);
}

/* ---- argument helpers ------------------------------------------------- */

/* handleJSONArgs: exec form as is, shell form joined by spaces; none -> []. */
static void json_args(const struct df_node *n, size_t from, struct df_strv *out)
{
	strv_make_empty(out);
	if (n->nargs <= from)
		return;
	if (n->json) {
		for (size_t i = from; i < n->nargs; i++)
			strv_push_len(out, n->args[i], node_arglen(n, i));
		return;
	}
	struct bbuf b = BBUF_INIT;
	for (size_t i = from; i < n->nargs; i++) {
		if (i > from)
			bbuf_addch(&b, ' ', NULL);
		bbuf_addstr(&b, n->args[i], NULL);
	}
	char *s = bbuf_detach(&b, NULL);
	strv_push(out, s);
	free(s);
}

static void cmdline_from(const struct df_node *n, struct df_cmdline *cl)
{
	json_args(n, 0, &cl->args);
	cl->prepend_shell = !n->json;
	if (n->nheredocs) {
		cl->files = xcalloc(n->nheredocs, sizeof(*cl->files));
		cl->nfiles = n->nheredocs;
		for (size_t i = 0; i < n->nheredocs; i++) {
			cl->files[i].name = xstrdup(n->heredocs[i].name ? n->heredocs[i].name : "");
			cl->files[i].data = xstrdup(n->heredocs[i].content ? n->heredocs[i].content : "");
			cl->files[i].chomp = n->heredocs[i].chomp;
		}
	}
}

static void cmdline_clear(struct df_cmdline *cl)
{
	df_strv_clear(&cl->args);
	for (size_t i = 0; i < cl->nfiles; i++) {
		free(cl->files[i].name);
		free(cl->files[i].data);
	}
	free(cl->files);
}

/* ---- heredoc words (parser.ParseHeredoc) ------------------------------- */

/* Lex `rest` as the shell would (backslash escapes, quotes removed, unset
 * variables left as written). Returns the single word, or NULL when rest is
 * not exactly one word. *quoted tells whether any quote was used. */
static char *heredoc_word(const char *rest, bool *quoted)
{
	struct bbuf b = BBUF_INIT;
	size_t words = 0;
	bool inword = false;
	*quoted = false;
	for (const char *p = rest; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f') {
			inword = false;
			continue;
		}
		if (!inword) {
			inword = true;
			if (++words > 1)
				break;
		}
		if (ch == '\\') {
			if (p[1])
				bbuf_addch(&b, *++p, NULL);
		} else if (ch == '\'' || ch == '"') {
			char q = (char)ch;
			*quoted = true;
			p++;
			while (*p && *p != q) {
				if (q == '"' && *p == '\\' && (p[1] == '"' || p[1] == '\\' || p[1] == '$'))
					p++;
				bbuf_addch(&b, *p, NULL);
				p++;
			}
			if (!*p) {      /* unterminated quote: lexing fails */
				bbuf_release(&b);
				return NULL;
			}
		} else {
			bbuf_addch(&b, (char)ch, NULL);
		}
	}
	if (words != 1) {
		bbuf_release(&b);
		return NULL;
	}
	return bbuf_detach(&b, NULL);
}

bool df_heredoc_parse_word(const char *src, char **name, bool *chomp, bool *expand)
{
	const char *p = src;
	while (isdigit((unsigned char)*p))
		p++;
	if (p[0] != '<' || p[1] != '<')
		return false;
	p += 2;
	*chomp = false;
	if (*p == '-') {
		*chomp = true;
		p++;
	}
	while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r' || *p == '\f' || *p == '\v')
		p++;
	if (!*p || strchr(p, '<'))
		return false;
	bool quoted;
	char *w = heredoc_word(p, &quoted);
	if (!w)
		return false;
	*name = w;
	*expand = !quoted;
	return true;
}

/* Remove leading tabs of every line (<<- heredocs). */
static char *chomp_heredoc(const char *s)
{
	struct bbuf b = BBUF_INIT;
	bool bol = true;
	for (const char *p = s; *p; p++) {
		if (bol && *p == '\t')
			continue;
		bol = *p == '\n';
		bbuf_addch(&b, *p, NULL);
	}
	return bbuf_detach(&b, NULL);
}

/* ---- instructions ----------------------------------------------------- */

static int parse_kvps(struct conv *c, const char *cmd, struct df_instr *in,
		      struct berr **err)
{
	const struct df_node *n = c->n;
	if (n->nargs == 0)
		return cerr(c, err, "%s requires at least one argument", cmd);
	if (n->nargs % 3 != 0)
		return cerr(c, err, "Bad input to %s, too many arguments", cmd);
	for (size_t j = 0; j < n->nargs; j += 3)
		if (!n->args[j][0])
			return cerr(c, err, "%s names can not be blank", cmd);
	in->u.kv.n = n->nargs / 3;
	in->u.kv.kvs = xcalloc(in->u.kv.n, sizeof(*in->u.kv.kvs));
	for (size_t j = 0; j < in->u.kv.n; j++) {
		in->u.kv.kvs[j].key = xstrdup(n->args[3 * j]);
		in->u.kv.kvs[j].value = xstrdup(n->args[3 * j + 1]);
		in->u.kv.kvs[j].no_delim = n->args[3 * j + 2][0] == '\0';
	}
	return 0;
}

static int parse_env_label(struct conv *c, struct df_instr *in, const char *cmd,
			   struct berr **err)
{
	if (noflags(c, err) < 0)
		return -1;
	return parse_kvps(c, cmd, in, err);
}

static int parse_exactly_one(struct conv *c, struct df_instr *in, const char *cmd,
			     bool flags, struct berr **err)
{
	if (c->n->nargs != 1)
		return cerr(c, err, "%s requires exactly one argument", cmd);
	if (flags && noflags(c, err) < 0)
		return -1;
	in->u.str = xstrdup(c->n->args[0]);
	return 0;
}

static int sources_and_dest(struct conv *c, struct df_instr *in, const char *cmd,
			    struct berr **err)
{
	const struct df_node *n = c->n;
	struct df_copy *cp = &in->u.copy;
	const char *dest = n->args[n->nargs - 1];
	char *hname;
	bool chomp, expand;
	if (df_heredoc_parse_word(dest, &hname, &chomp, &expand)) {
		free(hname);
		return cerr(c, err, "%s cannot accept a heredoc as a destination", cmd);
	}
	cp->dest = xstrdup(dest);
	for (size_t i = 0; i + 1 < n->nargs; i++) {
		const char *src = n->args[i];
		if (!df_heredoc_parse_word(src, &hname, &chomp, &expand)) {
			strv_push(&cp->sources, src);
			continue;
		}
		const char *content = "";
		/* the last heredoc of that name wins, as BuildKit's map lookup */
		for (size_t h = 0; h < n->nheredocs; h++)
			if (n->heredocs[h].name && strcmp(n->heredocs[h].name, hname) == 0)
				content = n->heredocs[h].content ? n->heredocs[h].content : "";
		cp->contents = xreallocarray(cp->contents, cp->ncontents + 1, sizeof(*cp->contents));
		struct df_source_content *sc = &cp->contents[cp->ncontents++];
		sc->path = hname;
		sc->data = chomp ? chomp_heredoc(content) : xstrdup(content);
		sc->expand = expand;
	}
	return 0;
}

static const struct flagdef add_flags[] = {
	{ "exclude", FL_STRINGS, NULL },   { "chown", FL_STRING, "" },
	{ "chmod", FL_STRING, "" },        { "link", FL_BOOL, "false" },
	{ "keep-git-dir", FL_BOOL, "false" }, { "checksum", FL_STRING, "" },
	{ "unpack", FL_BOOL, "false" },
};

static const struct flagdef copy_flags[] = {
	{ "exclude", FL_STRINGS, NULL },   { "parents", FL_BOOL, "false" },
	{ "chown", FL_STRING, "" },        { "from", FL_STRING, "" },
	{ "chmod", FL_STRING, "" },        { "link", FL_BOOL, "false" },
};

static int parse_add_copy(struct conv *c, struct df_instr *in, bool is_add,
			  struct berr **err)
{
	const char *cmd = is_add ? "ADD" : "COPY";
	struct df_copy *cp = &in->u.copy;
	cp->keep_git_dir = -1;
	cp->unpack = -1;
	if (c->n->nargs < 2)
		return cerr(c, err, "%s requires at least two arguments, but only one was provided. "
			    "Destination could not be determined", cmd);
	struct bflags b;
	if (is_add)
		bflags_init(&b, add_flags, ARRAY_SIZE(add_flags));
	else
		bflags_init(&b, copy_flags, ARRAY_SIZE(copy_flags));
	int r = bflags_parse(c, &b, err);
	if (r == 0)
		r = sources_and_dest(c, in, cmd, err);
	if (r == 0) {
		cp->chown = xstrdup(bflags_str(&b, "chown"));
		cp->chmod = xstrdup(bflags_str(&b, "chmod"));
		cp->link = bflags_true(&b, "link");
		cp->from = xstrdup(is_add ? "" : bflags_str(&b, "from"));
		cp->checksum = xstrdup(is_add ? bflags_str(&b, "checksum") : "");
		cp->parents = !is_add && bflags_true(&b, "parents");
		if (is_add) {
			struct flagval *v = bflags_get(&b, "keep-git-dir");
			if (v->used)
				cp->keep_git_dir = bflags_true(&b, "keep-git-dir");
			v = bflags_get(&b, "unpack");
			if (v->used)
				cp->unpack = bflags_true(&b, "unpack");
		}
		struct flagval *ex = bflags_get(&b, "exclude");
		cp->exclude = ex->values;
		memset(&ex->values, 0, sizeof(ex->values));
	}
	bflags_clear(&b);
	return r;
}

static bool valid_stage_name(const char *s)
{
	if (!(*s >= 'a' && *s <= 'z'))
		return false;
	for (s++; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '-' || *s == '_' || *s == '.'))
			return false;
	return true;
}

static const struct flagdef from_flags[] = { { "platform", FL_STRING, "" } };

static int parse_from(struct conv *c, struct df_instr *in, struct berr **err)
{
	const struct df_node *n = c->n;
	_cleanup_free_ char *stage = NULL;
	if (n->nargs == 3 && strcasecmp(n->args[1], "as") == 0) {
		stage = str_lower(n->args[2]);
		if (!valid_stage_name(stage)) {
			_cleanup_free_ char *q = df_quote_str(n->args[2]);
			return cerr(c, err, "invalid name for build stage: %s, name can't start "
				    "with a number or contain symbols", q);
		}
	} else if (n->nargs != 1) {
		return cerr(c, err, "FROM requires either one or three arguments");
	}
	struct bflags b;
	bflags_init(&b, from_flags, ARRAY_SIZE(from_flags));
	int r = bflags_parse(c, &b, err);
	if (r == 0) {
		in->u.from.base = xstrdup(n->args[0]);
		in->u.from.name = stage ? steal_pointer(&stage) : xstrdup("");
		in->u.from.platform = xstrdup(bflags_str(&b, "platform"));
	}
	bflags_clear(&b);
	return r;
}

/* Go's regexp (?i)^\s*ONBUILD\s* removed from the original line. */
static char *strip_onbuild(const char *s)
{
	const char *ws = " \t\n\f\r";
	if (!s)
		return xstrdup("");
	size_t lead = strspn(s, ws);
	if (strncasecmp(s + lead, "onbuild", 7) == 0) {
		size_t skip = lead + 7;
		skip += strspn(s + skip, ws);
		return xstrdup(s + skip);
	}
	return xstrdup(s);
}

static int parse_onbuild(struct conv *c, struct df_instr *in, struct berr **err)
{
	const struct df_node *n = c->n;
	const struct df_node *t = n->trigger;
	if (!t)
		return cerr(c, err, "ONBUILD requires at least one argument");
	if (noflags(c, err) < 0)
		return -1;
	const char *tname = t->cmd ? t->cmd : (t->name ? t->name : "");
	_cleanup_free_ char *up = str_upper(tname);
	/* strings.TrimSpace */
	char *s = up, *e = up + strlen(up);
	while (*s && isspace((unsigned char)*s))
		s++;
	while (e > s && isspace((unsigned char)e[-1]))
		*--e = '\0';
	if (strcmp(s, "ONBUILD") == 0)
		return cerr(c, err, "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed");
	if (strcmp(s, "MAINTAINER") == 0 || strcmp(s, "FROM") == 0)
		return cerr(c, err, "%s isn't allowed as an ONBUILD trigger", s);
	struct bbuf b = BBUF_INIT;
	_cleanup_free_ char *expr = strip_onbuild(n->original);
	bbuf_addstr(&b, expr, NULL);
	const struct df_heredoc *h = n->heredocs;
	size_t nh = n->nheredocs;
	if (!nh && t->nheredocs) {
		h = t->heredocs;
		nh = t->nheredocs;
	}
	for (size_t i = 0; i < nh; i++) {
		bbuf_addch(&b, '\n', NULL);
		bbuf_addstr(&b, h[i].content ? h[i].content : "", NULL);
		bbuf_addstr(&b, h[i].name ? h[i].name : "", NULL);
	}
	in->u.onbuild = bbuf_detach(&b, NULL);
	return 0;
}

static const struct flagdef run_flags[] = {
	/* registration order of BuildKit's RUN pre-hooks */
	{ "device", FL_STRINGS, NULL },
	{ "mount", FL_STRINGS, NULL },
	{ "network", FL_STRING, "default" },
	{ "security", FL_STRING, "sandbox" },
};

static int parse_run(struct conv *c, struct df_instr *in, struct berr **err)
{
	struct bflags b;
	bflags_init(&b, run_flags, ARRAY_SIZE(run_flags));
	int r = bflags_parse(c, &b, err);
	if (r < 0)
		goto out;
	for (size_t i = 0; i < b.ndefs; i++)
		if (b.v[i].used)
			strv_push(&in->u.run.flags_used, b.defs[i].name);
	if (in->u.run.flags_used.n)
		qsort(in->u.run.flags_used.items, in->u.run.flags_used.n, sizeof(char *), cmp_str);
	cmdline_from(c->n, &in->u.run.cmd);

	/* post-hooks, in BuildKit's order: device, mount, network, security */
	struct flagval *dv = bflags_get(&b, "device");
	in->u.run.devices = xcalloc(dv->values.n + 1, sizeof(*in->u.run.devices));
	for (size_t i = 0; i < dv->values.n; i++) {
		c->flag_hint = "--device";
		_cleanup_free_ char *word = xasprintf("--device=%s", dv->values.items[i]);
		c->flag_word = word;
		struct berr *e = NULL;
		if (df_device_parse(dv->values.items[i], &in->u.run.devices[i], &e) < 0) {
			r = cerr(c, err, "%s", e->msg);
			berr_free(e);
			c->flag_word = NULL;
			goto out;
		}
		c->flag_word = NULL;
		in->u.run.ndevices++;
	}
	struct flagval *mv = bflags_get(&b, "mount");
	in->u.run.mounts = xcalloc(mv->values.n + 1, sizeof(*in->u.run.mounts));
	for (size_t i = 0; i < mv->values.n; i++) {
		c->flag_hint = "--mount";
		_cleanup_free_ char *word = xasprintf("--mount=%s", mv->values.items[i]);
		c->flag_word = word;
		struct berr *e = NULL;
		if (df_mount_parse(mv->values.items[i], NULL, NULL, &in->u.run.mounts[i], &e) < 0) {
			r = cerr(c, err, "%s", e->msg);
			berr_free(e);
			c->flag_word = NULL;
			goto out;
		}
		c->flag_word = NULL;
		in->u.run.nmounts++;
	}
	in->u.run.mount_specs = mv->values;
	memset(&mv->values, 0, sizeof(mv->values));
	const char *net = bflags_str(&b, "network");
	if (strcmp(net, "default") && strcmp(net, "none") && strcmp(net, "host")) {
		c->flag_hint = "--network";
		_cleanup_free_ char *q = df_quote_str(net);
		r = cerr(c, err, "invalid network mode %s", q);
		goto out;
	}
	in->u.run.network = xstrdup(net);
	const char *sec = bflags_str(&b, "security");
	if (strcmp(sec, "sandbox") && strcmp(sec, "insecure")) {
		c->flag_hint = "--security";
		_cleanup_free_ char *q = df_quote_str(sec);
		r = cerr(c, err, "security %s is not valid", q);
		goto out;
	}
	in->u.run.security = xstrdup(sec);
out:
	bflags_clear(&b);
	return r;
}

static int parse_cmd_entrypoint(struct conv *c, struct df_instr *in, bool empty_as_nil,
				struct berr **err)
{
	if (noflags(c, err) < 0)
		return -1;
	cmdline_from(c->n, &in->u.cmd);
	if (empty_as_nil && in->u.cmd.args.n == 0)
		df_strv_clear(&in->u.cmd.args);
	return 0;
}

static int parse_shell(struct conv *c, struct df_instr *in, struct berr **err)
{
	if (noflags(c, err) < 0)
		return -1;
	if (c->n->nargs == 0)
		return cerr(c, err, "SHELL requires at least one argument");
	if (!c->n->json)
		return cerr(c, err, "SHELL requires the arguments to be in JSON form");
	json_args(c->n, 0, &in->u.shell);
	return 0;
}

static int parse_expose(struct conv *c, struct df_instr *in, struct berr **err)
{
	if (c->n->nargs == 0)
		return cerr(c, err, "EXPOSE requires at least one argument");
	if (noflags(c, err) < 0)
		return -1;
	strv_make_empty(&in->u.list);
	for (size_t i = 0; i < c->n->nargs; i++)
		strv_push(&in->u.list, c->n->args[i]);
	qsort(in->u.list.items, in->u.list.n, sizeof(char *), cmp_str);
	return 0;
}

static int parse_volume(struct conv *c, struct df_instr *in, struct berr **err)
{
	if (c->n->nargs == 0)
		return cerr(c, err, "VOLUME requires at least one argument");
	if (noflags(c, err) < 0)
		return -1;
	for (size_t i = 0; i < c->n->nargs; i++) {
		const char *v = c->n->args[i];
		/* strings.TrimSpace (ASCII whitespace is what matters here) */
		while (*v && isspace((unsigned char)*v))
			v++;
		size_t len = strlen(v);
		while (len && isspace((unsigned char)v[len - 1]))
			len--;
		if (!len)
			return cerr(c, err, "VOLUME specified can not be an empty string");
		_cleanup_free_ char *t = xstrndup(v, len);
		strv_push(&in->u.list, t);
	}
	return 0;
}

/* getComment: text after "NAME " in one of the preceding comment lines. */
static char *doc_comment(const struct df_node *n, const char *name)
{
	size_t l = strlen(name);
	if (!l)
		return xstrdup("");
	for (size_t i = 0; i < n->ncomments; i++) {
		const char *line = n->comments[i];
		if (line && strncmp(line, name, l) == 0 && line[l] == ' ')
			return xstrdup(line + l + 1);
	}
	return xstrdup("");
}

static int parse_arg(struct conv *c, struct df_instr *in, struct berr **err)
{
	const struct df_node *n = c->n;
	if (n->nargs == 0)
		return cerr(c, err, "ARG requires at least one argument");
	for (size_t i = 0; i < n->nargs; i++)
		if (n->args[i][0] == '=')
			return cerr(c, err, "ARG names can not be blank");
	in->u.arg.n = n->nargs;
	in->u.arg.args = xcalloc(n->nargs, sizeof(*in->u.arg.args));
	for (size_t i = 0; i < n->nargs; i++) {
		const char *a = n->args[i];
		const char *eq = strchr(a, '=');
		struct df_argdef *d = &in->u.arg.args[i];
		d->key = eq ? xstrndup(a, (size_t)(eq - a)) : xstrdup(a);
		d->value = eq ? xstrdup(eq + 1) : NULL;
		d->doc_comment = doc_comment(n, d->key);
	}
	return 0;
}

static const struct flagdef health_flags[] = {
	{ "interval", FL_STRING, "" },	     { "timeout", FL_STRING, "" },
	{ "start-period", FL_STRING, "" },   { "start-interval", FL_STRING, "" },
	{ "retries", FL_STRING, "" },
};

/* Go's (1ms).String() */
#define DF_HEALTH_MIN_NS 1000000LL

static int opt_interval(struct conv *c, struct bflags *b, const char *name, int64_t *out,
			struct berr **err)
{
	const char *s = bflags_str(b, name);
	*out = 0;
	if (!*s)
		return 0;
	_cleanup_free_ char *hint = xasprintf("--%s", name);
	c->flag_hint = hint;
	struct berr *e = NULL;
	int64_t d;
	if (df_parse_duration(s, &d, &e) < 0) {
		int r = cerr(c, err, "%s", e->msg);
		berr_free(e);
		c->flag_hint = NULL;
		return r;
	}
	if (d != 0 && d < DF_HEALTH_MIN_NS) {
		int r = cerr(c, err, "Interval \"%s\" cannot be less than 1ms", name);
		c->flag_hint = NULL;
		return r;
	}
	c->flag_hint = NULL;
	*out = d;
	return 0;
}

static int parse_healthcheck(struct conv *c, struct df_instr *in, struct berr **err)
{
	const struct df_node *n = c->n;
	struct df_health *h = &in->u.health;
	if (n->nargs == 0)
		return cerr(c, err, "HEALTHCHECK requires at least one argument");
	_cleanup_free_ char *typ = str_upper(n->args[0]);
	if (strcmp(typ, "NONE") == 0) {
		if (n->nargs != 1)
			return cerr(c, err, "HEALTHCHECK NONE takes no arguments");
		strv_push(&h->test, "NONE");
		return 0;
	}
	struct bflags b;
	bflags_init(&b, health_flags, ARRAY_SIZE(health_flags));
	int r = bflags_parse(c, &b, err);
	if (r < 0)
		goto out;
	if (strcmp(typ, "CMD") != 0) {
		_cleanup_free_ char *q = df_quote_str(typ);
		r = cerr(c, err, "Unknown type %s in HEALTHCHECK (try CMD)", q);
		goto out;
	}
	struct df_strv cmd = { 0 };
	json_args(n, 1, &cmd);
	if (cmd.n == 0) {
		df_strv_clear(&cmd);
		r = cerr(c, err, "Missing command after HEALTHCHECK CMD");
		goto out;
	}
	strv_push(&h->test, n->json ? "CMD" : "CMD-SHELL");
	for (size_t i = 0; i < cmd.n; i++)
		strv_push_len(&h->test, cmd.items[i], cmd.lens ? cmd.lens[i] : strlen(cmd.items[i]));
	df_strv_clear(&cmd);
	if ((r = opt_interval(c, &b, "interval", &h->interval, err)) < 0 ||
	    (r = opt_interval(c, &b, "timeout", &h->timeout, err)) < 0 ||
	    (r = opt_interval(c, &b, "start-period", &h->start_period, err)) < 0 ||
	    (r = opt_interval(c, &b, "start-interval", &h->start_interval, err)) < 0)
		goto out;
	const char *rs = bflags_str(&b, "retries");
	if (*rs) {
		c->flag_hint = "--retries";
		_cleanup_free_ char *q = df_quote_str(rs);
		/* strconv.ParseInt(s, 10, 32): optional sign, decimal digits only */
		const char *p = rs;
		bool neg = false;
		if (*p == '+' || *p == '-')
			neg = *p++ == '-';
		bool ok = *p != '\0';
		bool range = false;
		long long v = 0;
		for (; *p && ok; p++) {
			if (!isdigit((unsigned char)*p)) {
				ok = false;
				break;
			}
			if (v <= (long long)INT32_MAX + 1)
				v = v * 10 + (*p - '0');
			if (v > (long long)INT32_MAX + 1)
				range = true;
		}
		if (!ok) {
			r = cerr(c, err, "strconv.ParseInt: parsing %s: invalid syntax", q);
			goto out;
		}
		if (neg)
			v = -v;
		if (range || v > INT32_MAX || v < INT32_MIN) {
			r = cerr(c, err, "strconv.ParseInt: parsing %s: value out of range", q);
			goto out;
		}
		if (v < 0) {
			r = cerr(c, err, "--retries cannot be negative (%lld)", v);
			goto out;
		}
		h->retries = (int)v;
	}
out:
	bflags_clear(&b);
	return r;
}

static enum df_instr_kind kind_of(const char *cmd)
{
	for (size_t k = 1; k < ARRAY_SIZE(kind_names); k++)
		if (kind_names[k] && strcasecmp(cmd, kind_names[k]) == 0)
			return (enum df_instr_kind)k;
	return 0;
}

static int unknown_instruction(struct conv *c, struct berr **err)
{
	const char *name = c->n->name ? c->n->name : (c->n->cmd ? c->n->cmd : "");
	const char *opts[ARRAY_SIZE(kind_names)];
	size_t nopts = 0;
	for (size_t k = 1; k < ARRAY_SIZE(kind_names); k++)
		opts[nopts++] = kind_names[k];
	qsort(opts, nopts, sizeof(opts[0]), cmp_str);
	_cleanup_free_ char *owned = NULL;
	const char *s = df_suggest(name, opts, nopts, false, &owned);
	if (s)
		return cerr(c, err, "unknown instruction: %s (did you mean %s?)", name, s);
	return cerr(c, err, "unknown instruction: %s", name);
}

int df_instr_from_node(const struct df_file *f, const struct df_node *n,
		       struct df_instr **out, struct berr **err)
{
	struct conv c = { .f = f, .n = n, .flag_hint = NULL, .flag_word = NULL };
	*out = NULL;
	const char *cmd = n->cmd ? n->cmd : (n->name ? n->name : "");
	enum df_instr_kind k = kind_of(cmd);
	if (!k)
		return unknown_instruction(&c, err);
	struct df_instr *in = xcalloc(1, sizeof(*in));
	in->kind = k;
	in->node = n;
	int r;
	switch (k) {
	case DF_I_ENV:
		r = parse_env_label(&c, in, "ENV", err);
		break;
	case DF_I_LABEL:
		r = parse_env_label(&c, in, "LABEL", err);
		break;
	case DF_I_MAINTAINER:
		r = parse_exactly_one(&c, in, "MAINTAINER", true, err);
		break;
	case DF_I_WORKDIR:
		r = parse_exactly_one(&c, in, "WORKDIR", true, err);
		break;
	case DF_I_USER:
		r = parse_exactly_one(&c, in, "USER", true, err);
		break;
	case DF_I_STOPSIGNAL: /* BuildKit never parses STOPSIGNAL's flags */
		r = parse_exactly_one(&c, in, "STOPSIGNAL", false, err);
		break;
	case DF_I_ADD:
		r = parse_add_copy(&c, in, true, err);
		break;
	case DF_I_COPY:
		r = parse_add_copy(&c, in, false, err);
		break;
	case DF_I_FROM:
		r = parse_from(&c, in, err);
		break;
	case DF_I_ONBUILD:
		r = parse_onbuild(&c, in, err);
		break;
	case DF_I_RUN:
		r = parse_run(&c, in, err);
		break;
	case DF_I_CMD:
		r = parse_cmd_entrypoint(&c, in, false, err);
		break;
	case DF_I_ENTRYPOINT:
		r = parse_cmd_entrypoint(&c, in, true, err);
		break;
	case DF_I_SHELL:
		r = parse_shell(&c, in, err);
		break;
	case DF_I_EXPOSE:
		r = parse_expose(&c, in, err);
		break;
	case DF_I_VOLUME:
		r = parse_volume(&c, in, err);
		break;
	case DF_I_ARG: /* BuildKit never parses ARG's flags */
		r = parse_arg(&c, in, err);
		break;
	case DF_I_HEALTHCHECK:
		r = parse_healthcheck(&c, in, err);
		break;
	default:
		r = unknown_instruction(&c, err);
		break;
	}
	if (r < 0) {
		df_instr_free(in);
		return -1;
	}
	*out = in;
	return 0;
}

static void copy_clear(struct df_copy *cp)
{
	df_strv_clear(&cp->sources);
	for (size_t i = 0; i < cp->ncontents; i++) {
		free(cp->contents[i].path);
		free(cp->contents[i].data);
	}
	free(cp->contents);
	free(cp->dest);
	free(cp->chown);
	free(cp->chmod);
	free(cp->from);
	free(cp->checksum);
	df_strv_clear(&cp->exclude);
}

void df_instr_free(struct df_instr *in)
{
	if (!in)
		return;
	switch (in->kind) {
	case DF_I_FROM:
		free(in->u.from.base);
		free(in->u.from.name);
		free(in->u.from.platform);
		break;
	case DF_I_RUN:
		cmdline_clear(&in->u.run.cmd);
		df_strv_clear(&in->u.run.mount_specs);
		for (size_t i = 0; i < in->u.run.nmounts; i++)
			df_mount_clear(&in->u.run.mounts[i]);
		free(in->u.run.mounts);
		for (size_t i = 0; i < in->u.run.ndevices; i++)
			free(in->u.run.devices[i].name);
		free(in->u.run.devices);
		free(in->u.run.network);
		free(in->u.run.security);
		df_strv_clear(&in->u.run.flags_used);
		break;
	case DF_I_CMD:
	case DF_I_ENTRYPOINT:
		cmdline_clear(&in->u.cmd);
		break;
	case DF_I_SHELL:
		df_strv_clear(&in->u.shell);
		break;
	case DF_I_ENV:
	case DF_I_LABEL:
		for (size_t i = 0; i < in->u.kv.n; i++) {
			free(in->u.kv.kvs[i].key);
			free(in->u.kv.kvs[i].value);
		}
		free(in->u.kv.kvs);
		break;
	case DF_I_MAINTAINER:
	case DF_I_USER:
	case DF_I_WORKDIR:
	case DF_I_STOPSIGNAL:
		free(in->u.str);
		break;
	case DF_I_EXPOSE:
	case DF_I_VOLUME:
		df_strv_clear(&in->u.list);
		break;
	case DF_I_ADD:
	case DF_I_COPY:
		copy_clear(&in->u.copy);
		break;
	case DF_I_ARG:
		for (size_t i = 0; i < in->u.arg.n; i++) {
			free(in->u.arg.args[i].key);
			free(in->u.arg.args[i].value);
			free(in->u.arg.args[i].doc_comment);
		}
		free(in->u.arg.args);
		break;
	case DF_I_ONBUILD:
		free(in->u.onbuild);
		break;
	case DF_I_HEALTHCHECK:
		df_strv_clear(&in->u.health.test);
		break;
	}
	free(in);
}

/* ---- whole file ------------------------------------------------------- */

int df_stages_parse(const struct df_file *f, struct df_stages **out,
		    struct df_stages_fail *fail, struct berr **err)
{
	struct df_stages *s = xcalloc(1, sizeof(*s));
	*out = NULL;
	if (fail) {
		fail->node = NULL;
		fail->instr_error = false;
	}
	for (size_t i = 0; i < f->nnodes; i++) {
		const struct df_node *n = &f->nodes[i];
		struct df_instr *in;
		if (df_instr_from_node(f, n, &in, err) < 0) {
			if (fail) {
				fail->node = n;
				fail->instr_error = true;
			}
			df_stages_free(s);
			return -1;
		}
		if (s->nstages == 0 && in->kind == DF_I_ARG) {
			s->meta_args = xreallocarray(s->meta_args, s->nmeta_args + 1,
						     sizeof(*s->meta_args));
			s->meta_args[s->nmeta_args++] = in;
			continue;
		}
		if (in->kind == DF_I_FROM) {
			s->stages = xreallocarray(s->stages, s->nstages + 1, sizeof(*s->stages));
			struct df_stage *st = &s->stages[s->nstages++];
			memset(st, 0, sizeof(*st));
			st->from = in;
			continue;
		}
		if (s->nstages == 0) {
			df_instr_free(in);
			struct conv c = { .f = f, .n = n, .flag_hint = NULL, .flag_word = NULL };
			if (fail)
				fail->node = n;
			df_stages_free(s);
			return cerr(&c, err, "no build stage in current context");
		}
		struct df_stage *st = &s->stages[s->nstages - 1];
		st->cmds = xreallocarray(st->cmds, st->ncmds + 1, sizeof(*st->cmds));
		st->cmds[st->ncmds++] = in;
	}
	*out = s;
	return 0;
}

void df_stages_free(struct df_stages *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nmeta_args; i++)
		df_instr_free(s->meta_args[i]);
	free(s->meta_args);
	for (size_t i = 0; i < s->nstages; i++) {
		df_instr_free(s->stages[i].from);
		for (size_t j = 0; j < s->stages[i].ncmds; j++)
			df_instr_free(s->stages[i].cmds[j]);
		free(s->stages[i].cmds);
	}
	free(s->stages);
	free(s);
}
