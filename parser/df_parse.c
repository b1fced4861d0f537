/* Dockerfile parser layer: bytes -> df_file (see df_ast.h). Owner: parser.
 *
 * Mirrors BuildKit's frontend/dockerfile/parser (parser.go, line_parsers.go,
 * split_command.go, directives.go) rule for rule, including its byte-level
 * quirks, so that df_print_buildkit() reproduces `result` dumps exactly.
 * docs/parser.md lists the rules and the few deliberate differences (NUL
 * bytes are rejected; error positions are 1-based line:col). */
#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_ast.h"
#include "parser/df_json.h"
#include "parser/df_unicode.h"
#include "common/common.h"

/* Nesting of ${...} the heredoc word lexer follows before treating the line
 * as having no heredocs (BuildKit recurses without a bound). */
#define DF_SHELL_MAX_DEPTH 64

/* ------------------------------------------------------------------ */
/* small string vectors */

struct svec {
	char **v;
	size_t *lens;
	size_t n, cap, lcap;
};

static void svec_addn(struct svec *s, const char *p, size_t n)
{
	XGROW(s->v, s->n + 1, s->cap);
	XGROW(s->lens, s->n + 1, s->lcap);
	s->v[s->n] = xstrndup(p, n);
	s->lens[s->n] = n;
	s->n++;
}

static void svec_add_owned(struct svec *s, char *p, size_t n)
{
	XGROW(s->v, s->n + 1, s->cap);
	XGROW(s->lens, s->n + 1, s->lcap);
	s->v[s->n] = p;
	s->lens[s->n] = n;
	s->n++;
}

static void svec_adds(struct svec *s, const char *p)
{
	svec_addn(s, p, strlen(p));
}

static void svec_drop_front(struct svec *s, size_t k)
{
	for (size_t i = 0; i < k; i++)
		free(s->v[i]);
	memmove(s->v, s->v + k, (s->n - k) * sizeof(*s->v));
	memmove(s->lens, s->lens + k, (s->n - k) * sizeof(*s->lens));
	s->n -= k;
}

static void svec_release(struct svec *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->v[i]);
	free(s->v);
	free(s->lens);
	memset(s, 0, sizeof(*s));
}

/* ------------------------------------------------------------------ */
/* character classes */

/* regexp [\t\v\f\r ] (BuildKit's reWhitespace / tokenWhitespace) */
static bool is_blank(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\v' || c == '\f' || c == '\r';
}

/* RE2 \s: [\t\n\f\r ] */
static bool is_re_space(unsigned char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\f' || c == '\r';
}

/* unicode.IsSpace(rune(byte)): a byte taken as a Latin-1 code point */
static bool is_latin1_space(unsigned char c)
{
	return c == ' ' || (c >= '\t' && c <= '\r') || c == 0x85 || c == 0xA0;
}

/* string(rune(byte)) in Go: bytes >= 0x80 become 2-byte UTF-8 */
static void add_latin1(struct bbuf *b, unsigned char c)
{
	if (c < 0x80) {
		bbuf_addch(b, (char)c, NULL);
	} else {
		char enc[2] = { (char)(0xC0 | (c >> 6)), (char)(0x80 | (c & 0x3F)) };
		bbuf_add(b, enc, 2, NULL);
	}
}

static void add_rune(struct bbuf *b, uint32_t r)
{
	char enc[4];
	size_t w = df_utf8_encode(r, enc);
	bbuf_add(b, enc, w, NULL);
}

/* strings.TrimSpace on [s, s+*n): returns new start, updates *n */
static const char *trim_space(const char *s, size_t *n)
{
	size_t lead = df_uni_space_prefix(s, *n);
	s += lead;
	*n = df_uni_trim_right(s, *n - lead);
	return s;
}

/* trailing '\r' and '\n' bytes (BuildKit trimNewline) */
static size_t trim_newline(const char *s, size_t n)
{
	while (n > 0 && (s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return n;
}

/* ------------------------------------------------------------------ */
/* physical line reader */

struct reader {
	const char *data;
	size_t len, pos;
	int lineno;          /* physical lines consumed so far */
	const char *name;
};

/* 1: *line and *n hold the next line including its '\n'; 0: EOF; -1: error */
static int next_line(struct reader *r, const char **line, size_t *n, struct berr **err)
{
	if (r->pos >= r->len)
		return 0;
	const char *p = r->data + r->pos;
	size_t avail = r->len - r->pos;
	const char *nl = memchr(p, '\n', avail);
	size_t content = nl ? (size_t)(nl - p) : avail;
	if (content > DF_MAX_LINE_LEN)
		return berr_set_at(err, BERR_INPUT, r->name, r->lineno + 1, 1,
				   "dockerfile line greater than max allowed size of %d",
				   DF_MAX_LINE_LEN);
	*line = p;
	*n = nl ? content + 1 : content;
	r->pos += *n;
	r->lineno++;
	return 1;
}

/* ------------------------------------------------------------------ */
/* parser state */

struct pstate {
	const char *name;
	char escape;
	bool dir_done;
	bool seen_syntax, seen_escape, seen_check;
	struct df_file *f;
	size_t nodes_cap, warn_cap;
};

/* A comment line: first non-space (Unicode) character is '#'. */
static bool is_comment(const char *s, size_t n)
{
	n = trim_newline(s, n);
	size_t lead = df_uni_space_prefix(s, n);
	return lead < n && s[lead] == '#';
}

/* Directive check on a newline-trimmed, left-trimmed line, as BuildKit's
 * regexp ^#\s*([a-zA-Z][a-zA-Z0-9]*)\s*=\s*(.+?)\s*$ does it. */
static int check_directive(struct pstate *st, const char *t, size_t n, int lineno,
			   bool *is_directive, struct berr **err)
{
	*is_directive = false;
	if (st->dir_done)
		return 0;
	size_t i = 0;
	if (n == 0 || t[0] != '#')
		goto done;
	i = 1;
	while (i < n && is_re_space((unsigned char)t[i]))
		i++;
	size_t ks = i;
	if (i >= n || !((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z')))
		goto done;
	while (i < n && ((t[i] >= 'a' && t[i] <= 'z') || (t[i] >= 'A' && t[i] <= 'Z') ||
			 (t[i] >= '0' && t[i] <= '9')))
		i++;
	size_t ke = i;
	while (i < n && is_re_space((unsigned char)t[i]))
		i++;
	if (i >= n || t[i] != '=')
		goto done;
	i++;
	if (i >= n)
		goto done;
	/* value: greedy leading \s*, lazy .+?, then \s*$ */
	const char *rv = t + i;
	size_t rn = n - i, lead = 0;
	while (lead < rn && is_re_space((unsigned char)rv[lead]))
		lead++;
	const char *val;
	size_t vlen;
	if (lead == rn) {
		val = rv + rn - 1;
		vlen = 1;
	} else {
		size_t end = rn;
		while (end > lead && is_re_space((unsigned char)rv[end - 1]))
			end--;
		val = rv + lead;
		vlen = end - lead;
	}
	char key[16];
	size_t klen = ke - ks;
	if (klen >= sizeof(key))
		goto done;
	for (size_t k = 0; k < klen; k++)
		key[k] = (char)df_uni_tolower((unsigned char)t[ks + k]);
	key[klen] = '\0';
	bool *seen;
	char **slot = NULL;
	int *where;
	if (strcmp(key, "syntax") == 0) {
		seen = &st->seen_syntax;
		slot = &st->f->syntax;
		where = &st->f->syntax_line;
	} else if (strcmp(key, "check") == 0) {
		seen = &st->seen_check;
		slot = &st->f->check;
		where = &st->f->check_line;
	} else if (strcmp(key, "escape") == 0) {
		seen = &st->seen_escape;
		where = &st->f->escape_line;
	} else {
		goto done;
	}
	if (*seen)
		return berr_set_at(err, BERR_INPUT, st->name, lineno, 1,
				   "only one %s parser directive can be used", key);
	*seen = true;
	if (slot) {
		*slot = xstrndup(val, vlen);
	} else {
		if (vlen != 1 || (val[0] != '`' && val[0] != '\\')) {
			_cleanup_free_ char *v = xstrndup(val, vlen);
			return berr_set_at(err, BERR_INPUT, st->name, lineno, 1,
					   "invalid escape token '%s' does not match ` or \\", v);
		}
		st->escape = val[0];
	}
	*where = lineno;
	*is_directive = true;
	return 0;
done:
	st->dir_done = true;
	return 0;
}

/* BuildKit trimContinuationCharacter: regexp ([^E])E[ \t]*$|^E[ \t]*$
 * replaced by $1. Returns true when the line continues; *n is updated. */
static bool trim_continuation(const char *s, size_t *n, char esc)
{
	size_t j = *n;
	while (j > 0 && (s[j - 1] == ' ' || s[j - 1] == '\t'))
		j--;
	if (j == 0 || s[j - 1] != esc)
		return false;
	if (j == 1) {
		*n = 0;
		return true;
	}
	if (s[j - 2] == esc)
		return false;
	*n = j - 1;
	return true;
}

/* ------------------------------------------------------------------ */
/* splitting flags and words */

/* extractBuilderFlags: byte-wise, backslash escapes, quotes removed. On
 * return *rest and *rest_n are what follows the flags. */
static void extract_flags(const char *line, size_t n, struct svec *flags, const char **rest,
			  size_t *rest_n)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct bbuf word = BBUF_INIT;
	bool blank_ok = false;
	unsigned char quote = 0, ch = 0;

	*rest = line + n;
	*rest_n = 0;
	for (size_t pos = 0; pos <= n; pos++) {
		if (pos != n)
			ch = (unsigned char)line[pos];
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (is_latin1_space(ch))
				continue;
			if (ch != '-' || pos + 1 == n || line[pos + 1] != '-') {
				*rest = line + pos;
				*rest_n = n - pos;
				goto out;
			}
			phase = WORD;
		}
		if ((phase == WORD || phase == QUOTE) && pos == n) {
			if (!(word.len == 2 && memcmp(word.data, "--", 2) == 0) &&
			    (blank_ok || word.len > 0))
				svec_addn(flags, bbuf_str(&word), word.len);
			break;
		}
		if (phase == WORD) {
			if (is_latin1_space(ch)) {
				phase = SPACES;
				if (word.len == 2 && memcmp(word.data, "--", 2) == 0) {
					*rest = line + pos;
					*rest_n = n - pos;
					goto out;
				}
				if (blank_ok || word.len > 0)
					svec_addn(flags, bbuf_str(&word), word.len);
				bbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
				continue;
			}
			if (ch == '\\') {
				if (pos + 1 == n)
					continue;
				pos++;
				ch = (unsigned char)line[pos];
			}
			add_latin1(&word, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote) {
			phase = WORD;
			continue;
		}
		if (ch == '\\') {
			if (pos + 1 == n) {
				phase = WORD;
				continue;
			}
			pos++;
			ch = (unsigned char)line[pos];
		}
		add_latin1(&word, ch);
	}
out:
	bbuf_release(&word);
}

/* parseWords: rune-wise; quotes kept; invalid UTF-8 becomes U+FFFD. */
static void parse_words(const char *s, size_t n, char esc, struct svec *out)
{
	enum { SPACES, WORD, QUOTE } phase = SPACES;
	struct bbuf word = BBUF_INIT;
	bool blank_ok = false;
	uint32_t quote = 0, ch = 0;
	size_t w = 0;

	for (size_t pos = 0; pos <= n; pos += w) {
		if (pos != n)
			w = df_utf8_decode(s + pos, n - pos, &ch);
		if (phase == SPACES) {
			if (pos == n)
				break;
			if (df_uni_isspace(ch))
				continue;
			phase = WORD;
		}
		if ((phase == WORD || phase == QUOTE) && pos == n) {
			if (blank_ok || word.len > 0)
				svec_addn(out, bbuf_str(&word), word.len);
			break;
		}
		if (phase == WORD) {
			if (df_uni_isspace(ch)) {
				phase = SPACES;
				if (blank_ok || word.len > 0)
					svec_addn(out, bbuf_str(&word), word.len);
				bbuf_reset(&word);
				blank_ok = false;
				continue;
			}
			if (ch == '\'' || ch == '"') {
				quote = ch;
				blank_ok = true;
				phase = QUOTE;
			}
			if (ch == (uint32_t)esc) {
				if (pos + w == n)
					continue;
				add_rune(&word, ch);
				pos += w;
				w = df_utf8_decode(s + pos, n - pos, &ch);
			}
			add_rune(&word, ch);
			continue;
		}
		/* QUOTE */
		if (ch == quote)
			phase = WORD;
		if (ch == (uint32_t)esc && quote != '\'') {
			if (pos + w == n) {
				phase = WORD;
				continue;
			}
			pos += w;
			add_rune(&word, ch);
			w = df_utf8_decode(s + pos, n - pos, &ch);
		}
		add_rune(&word, ch);
	}
	bbuf_release(&word);
}

/* regexp [\t\v\f\r ]+ Split(s, max) (max < 0: no limit) */
static void split_blanks(const char *s, size_t n, int max, struct svec *out)
{
	size_t start = 0, i = 0;
	int parts = 1;
	while (i < n) {
		if (is_blank((unsigned char)s[i]) && (max < 0 || parts < max)) {
			size_t j = i;
			while (j < n && is_blank((unsigned char)s[j]))
				j++;
			svec_addn(out, s + start, i - start);
			parts++;
			start = i = j;
			continue;
		}
		i++;
	}
	svec_addn(out, s + start, n - start);
}

/* ------------------------------------------------------------------ */
/* instruction argument rules */

struct nodebuild {
	struct svec args;
	bool json;
};

/* parseMaybeJSON / parseMaybeJSONToList share this. Returns 1 when the
 * text was a JSON string array, 0 when not JSON, -1 on the fatal error. */
static int try_json(const char *s, size_t n, struct nodebuild *nb)
{
	size_t lead = df_uni_space_prefix(s, n);
	if (lead >= n || s[lead] != '[')
		return 0;
	char **items;
	size_t *lens, count;
	enum df_json_result r = df_json_string_array(s + lead, n - lead, &items, &lens, &count);
	if (r == DF_JSON_NOT_STRINGS)
		return -1;
	if (r == DF_JSON_INVALID)
		return 0;
	for (size_t i = 0; i < count; i++)
		svec_add_owned(&nb->args, items[i], lens[i]);
	free(items);
	free(lens);
	nb->json = true;
	return 1;
}

#define ERR_NOT_STRINGS "when using JSON array syntax, arrays must be comprised of strings only"

static int parse_maybe_json(const char *s, size_t n, struct nodebuild *nb, const char **emsg)
{
	if (n == 0)
		return 0;
	int r = try_json(s, n, nb);
	if (r < 0) {
		*emsg = ERR_NOT_STRINGS;
		return -1;
	}
	if (r == 0)
		svec_addn(&nb->args, s, n);
	return 0;
}

static int parse_maybe_json_list(const char *s, size_t n, struct nodebuild *nb,
				 const char **emsg)
{
	int r = try_json(s, n, nb);
	if (r < 0) {
		*emsg = ERR_NOT_STRINGS;
		return -1;
	}
	if (r == 0 && n > 0)
		split_blanks(s, n, -1, &nb->args);
	return 0;
}

static int parse_health(const char *s, size_t n, struct nodebuild *nb, const char **emsg)
{
	size_t sep = 0;
	while (sep < n && !is_latin1_space((unsigned char)s[sep]))
		sep++;
	size_t next = sep;
	while (next < n && is_latin1_space((unsigned char)s[next]))
		next++;
	if (sep == 0)
		return 0;
	svec_addn(&nb->args, s, sep);
	return parse_maybe_json(s + next, n - next, nb, emsg);
}

/* ENV / LABEL. Returns -1 with *dyn_msg (malloc'd) on error. */
static int parse_name_val(const char *s, size_t n, const char *key, char esc,
			  struct nodebuild *nb, char **dyn_msg);

/* ------------------------------------------------------------------ */
/* Go strconv.Quote, needed for one error message; the printers have their
 * own copy in df_print.c through df_go_quote(). */
#include "parser/df_print.h"

static int parse_name_val(const char *s, size_t n, const char *key, char esc,
			  struct nodebuild *nb, char **dyn_msg)
{
	struct svec words = { 0 };
	parse_words(s, n, esc, &words);
	int rc = 0;
	if (words.n == 0)
		goto out;
	if (!strchr(words.v[0], '=')) {
		struct svec parts = { 0 };
		split_blanks(s, n, 2, &parts);
		if (parts.n < 2) {
			svec_release(&parts);
			*dyn_msg = xasprintf("%s must have two arguments", key);
			rc = -1;
			goto out;
		}
		svec_addn(&nb->args, parts.v[0], parts.lens[0]);
		svec_addn(&nb->args, parts.v[1], parts.lens[1]);
		svec_adds(&nb->args, "");
		svec_release(&parts);
		goto out;
	}
	for (size_t i = 0; i < words.n; i++) {
		const char *eq = strchr(words.v[i], '=');
		if (!eq) {
			struct bbuf q = BBUF_INIT;
			df_go_quote(&q, words.v[i], words.lens[i]);
			*dyn_msg = xasprintf("Syntax error - can't find = in %s. Must be of the "
					     "form: name=value", bbuf_str(&q));
			bbuf_release(&q);
			rc = -1;
			goto out;
		}
		size_t kl = (size_t)(eq - words.v[i]);
		svec_addn(&nb->args, words.v[i], kl);
		svec_addn(&nb->args, eq + 1, words.lens[i] - kl - 1);
		svec_adds(&nb->args, "=");
	}
out:
	svec_release(&words);
	return rc;
}

/* ------------------------------------------------------------------ */
/* node construction (newNodeFromLine) */

static void node_free_contents(struct df_node *nd);

static bool cmd_is(const char *cmd, const char *a)
{
	return strcmp(cmd, a) == 0;
}

static int node_from_line(struct pstate *st, const char *line, size_t len, int depth,
			  struct df_node *nd, char **dyn_msg, const char **emsg)
{
	memset(nd, 0, sizeof(*nd));
	nd->original = xstrndup(line, len);
	size_t tn = len;
	const char *t = trim_space(line, &tn);
	size_t k = 0;
	while (k < tn && !is_blank((unsigned char)t[k]))
		k++;
	nd->name = xstrndup(t, k);
	nd->cmd = df_uni_lower(t, k);

	struct svec flags = { 0 };
	const char *args = "";
	size_t an = 0;
	if (k < tn) {
		size_t j = k;
		while (j < tn && is_blank((unsigned char)t[j]))
			j++;
		extract_flags(t + j, tn - j, &flags, &args, &an);
		args = trim_space(args, &an);
	}
	nd->flags = flags.v;
	nd->nflags = flags.n;
	free(flags.lens);

	struct nodebuild nb = { { 0 }, false };
	int rc = 0;
	const char *c = nd->cmd;
	if (cmd_is(c, "add") || cmd_is(c, "copy") || cmd_is(c, "volume")) {
		rc = parse_maybe_json_list(args, an, &nb, emsg);
	} else if (cmd_is(c, "cmd") || cmd_is(c, "entrypoint") || cmd_is(c, "run") ||
		   cmd_is(c, "shell")) {
		rc = parse_maybe_json(args, an, &nb, emsg);
	} else if (cmd_is(c, "arg")) {
		parse_words(args, an, st->escape, &nb.args);
	} else if (cmd_is(c, "env")) {
		rc = parse_name_val(args, an, "ENV", st->escape, &nb, dyn_msg);
	} else if (cmd_is(c, "label")) {
		rc = parse_name_val(args, an, "LABEL", st->escape, &nb, dyn_msg);
	} else if (cmd_is(c, "expose") || cmd_is(c, "from")) {
		if (an > 0)
			split_blanks(args, an, -1, &nb.args);
	} else if (cmd_is(c, "maintainer") || cmd_is(c, "stopsignal") || cmd_is(c, "user") ||
		   cmd_is(c, "workdir")) {
		if (an > 0)
			svec_addn(&nb.args, args, an);
	} else if (cmd_is(c, "healthcheck")) {
		rc = parse_health(args, an, &nb, emsg);
	} else if (cmd_is(c, "onbuild")) {
		if (an > 0) {
			if (depth >= DF_MAX_ONBUILD_DEPTH) {
				*dyn_msg = xasprintf("ONBUILD nested deeper than %d levels",
						     DF_MAX_ONBUILD_DEPTH);
				rc = -1;
			} else {
				nd->trigger = xcalloc(1, sizeof(*nd->trigger));
				rc = node_from_line(st, args, an, depth + 1, nd->trigger, dyn_msg,
						    emsg);
			}
		}
	} else {
		svec_adds(&nb.args, ""); /* unknown: parseIgnore keeps one empty arg */
	}
	nd->args = nb.args.v;
	nd->arglens = nb.args.lens;
	nd->nargs = nb.args.n;
	nd->json = nb.json;
	return rc;
}

/* ------------------------------------------------------------------ */
/* heredoc detection: a local model of BuildKit's shell lexer in the modes
 * the parser uses (escape '\', unset variables left as written). The full
 * expansion lexer lives in df_shell.c; this could call it later. */

struct lexw {
	struct svec words;
	struct bbuf word;
	bool inword;
	bool glue;  /* keep "<<" glued to the following word */
	bool glued; /* the word currently ends with "<<" plus glued blanks */
};

struct lexer {
	const char *s;
	size_t n, i;
	bool raw_quotes, raw_escapes;
	int depth;
};

#define LEX_EOF UINT32_MAX

static uint32_t lx_peek(struct lexer *lx)
{
	if (lx->i >= lx->n)
		return LEX_EOF;
	uint32_t r;
	df_utf8_decode(lx->s + lx->i, lx->n - lx->i, &r);
	return r;
}

static uint32_t lx_next(struct lexer *lx)
{
	if (lx->i >= lx->n)
		return LEX_EOF;
	uint32_t r;
	lx->i += df_utf8_decode(lx->s + lx->i, lx->n - lx->i, &r);
	return r;
}

/* The word ends with "<<" or "<<-" (blanks glued after it are tracked by
 * lexw.glued so a long run of them is not rescanned). */
static bool ends_with_heredoc_op(const struct bbuf *b)
{
	size_t n = b->len;
	if (n > 0 && b->data[n - 1] == '-')
		n--;
	return n >= 2 && b->data[n - 1] == '<' && b->data[n - 2] == '<';
}

static void w_raw_char(struct lexw *w, uint32_t r)
{
	add_rune(&w->word, r);
	w->inword = true;
	w->glued = false;
}

static void w_char(struct lexw *w, uint32_t r)
{
	if (df_uni_isspace(r) && w->inword) {
		if (w->glue && (r == ' ' || r == '\t') &&
		    (w->glued || ends_with_heredoc_op(&w->word))) {
			add_rune(&w->word, r);
			w->glued = true;
			return;
		}
		if (w->word.len) {
			svec_addn(&w->words, bbuf_str(&w->word), w->word.len);
			bbuf_reset(&w->word);
			w->inword = false;
		}
	} else if (!df_uni_isspace(r)) {
		w_raw_char(w, r);
	}
}

static void w_string(struct lexw *w, const char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		uint32_t r;
		i += df_utf8_decode(s + i, n - i, &r);
		w_char(w, r);
	}
}

static void w_raw_string(struct lexw *w, const char *s, size_t n)
{
	bbuf_add(&w->word, s, n, NULL);
	w->inword = true;
	w->glued = false;
}

static int lx_stop_on(struct lexer *lx, uint32_t stop, struct bbuf *result, struct lexw *w);

static bool is_special_param(uint32_t c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' ||
	       c == '!' || c == '0';
}

static void lx_name(struct lexer *lx, struct bbuf *name)
{
	while (lx_peek(lx) != LEX_EOF) {
		uint32_t c = lx_peek(lx);
		if (name->len == 0 && df_uni_isdigit(c)) {
			while (lx_peek(lx) != LEX_EOF && df_uni_isdigit(lx_peek(lx)))
				add_rune(name, lx_next(lx));
			return;
		}
		if (name->len == 0 && is_special_param(c)) {
			add_rune(name, lx_next(lx));
			return;
		}
		if (!df_uni_isletter(c) && !df_uni_isdigit(c) && c != '_')
			return;
		add_rune(name, lx_next(lx));
	}
}

/* $... with every variable unset and left as written */
static int lx_dollar(struct lexer *lx, struct bbuf *out)
{
	lx_next(lx);
	struct bbuf name = BBUF_INIT;
	int rc = 0;
	if (lx_peek(lx) != '{') {
		lx_name(lx, &name);
		bbuf_addch(out, '$', NULL);
		bbuf_add(out, bbuf_str(&name), name.len, NULL);
		goto out;
	}
	lx_next(lx);
	uint32_t p = lx_peek(lx);
	if (p == LEX_EOF || p == '{' || p == '}' || p == ':') {
		rc = -1;
		goto out;
	}
	lx_name(lx, &name);
	uint32_t c = lx_next(lx);
	bbuf_addstr(out, "${", NULL);
	bbuf_add(out, bbuf_str(&name), name.len, NULL);
	if (c == '}') {
		bbuf_addch(out, '}', NULL);
		goto out;
	}
	if (c == ':') {
		uint32_t mod = lx_next(lx);
		if (mod != '+' && mod != '-' && mod != '?') {
			rc = -1;
			goto out;
		}
		bbuf_addch(out, ':', NULL);
		add_rune(out, mod);
	} else if (c == '?' || c == '#' || c == '%' || c == '/') {
		add_rune(out, c);
	} else {
		rc = -1;
		goto out;
	}
	if (++lx->depth > DF_SHELL_MAX_DEPTH) {
		rc = -1;
		goto out;
	}
	rc = lx_stop_on(lx, '}', out, NULL);
	lx->depth--;
	if (rc == 0)
		bbuf_addch(out, '}', NULL);
out:
	bbuf_release(&name);
	return rc;
}

static int lx_single(struct lexer *lx, struct bbuf *out)
{
	uint32_t c = lx_next(lx);
	if (lx->raw_quotes)
		add_rune(out, c);
	for (;;) {
		c = lx_next(lx);
		if (c == LEX_EOF)
			return -1;
		if (c == '\'') {
			if (lx->raw_quotes)
				add_rune(out, c);
			return 0;
		}
		add_rune(out, c);
	}
}

static int lx_double(struct lexer *lx, struct bbuf *out)
{
	uint32_t c = lx_next(lx);
	if (lx->raw_quotes)
		add_rune(out, c);
	for (;;) {
		uint32_t p = lx_peek(lx);
		if (p == LEX_EOF)
			return -1;
		if (p == '"') {
			c = lx_next(lx);
			if (lx->raw_quotes)
				add_rune(out, c);
			return 0;
		}
		if (p == '$') {
			if (lx_dollar(lx, out) < 0)
				return -1;
			continue;
		}
		c = lx_next(lx);
		if (c == '\\') {
			if (lx->raw_escapes)
				add_rune(out, c);
			p = lx_peek(lx);
			if (p == LEX_EOF)
				continue;
			if (p == '"' || p == '$' || p == '\\')
				c = lx_next(lx);
		}
		add_rune(out, c);
	}
}

/* processStopOn: fills result (the joined text) and, when w != NULL, the
 * word list. stop == LEX_EOF means the whole input. */
static int lx_stop_on(struct lexer *lx, uint32_t stop, struct bbuf *result, struct lexw *w)
{
	struct bbuf tmp = BBUF_INIT;
	int rc = 0;
	while (lx_peek(lx) != LEX_EOF) {
		uint32_t ch = lx_peek(lx);
		if (stop != LEX_EOF && ch == stop) {
			lx_next(lx);
			goto out;
		}
		if (ch == '\'' || ch == '"' || ch == '$') {
			bbuf_reset(&tmp);
			if (ch == '\'')
				rc = lx_single(lx, &tmp);
			else if (ch == '"')
				rc = lx_double(lx, &tmp);
			else
				rc = lx_dollar(lx, &tmp);
			if (rc < 0)
				goto out;
			bbuf_add(result, bbuf_str(&tmp), tmp.len, NULL);
			if (w) {
				if (ch == '$')
					w_string(w, bbuf_str(&tmp), tmp.len);
				else
					w_raw_string(w, bbuf_str(&tmp), tmp.len);
			}
			continue;
		}
		ch = lx_next(lx);
		if (ch == '\\') {
			if (lx->raw_escapes) {
				if (w)
					w_raw_char(w, ch);
				add_rune(result, ch);
			}
			ch = lx_next(lx);
			if (ch == LEX_EOF)
				break;
			if (w)
				w_raw_char(w, ch);
		} else if (w) {
			w_char(w, ch);
		}
		add_rune(result, ch);
	}
	if (stop != LEX_EOF)
		rc = -1;
out:
	bbuf_release(&tmp);
	return rc;
}

/* ProcessWords in skip-unset mode; -1 on a lexing error. */
static int lex_words(const char *s, size_t n, bool raw_quotes, bool raw_escapes, bool glue,
		     struct svec *out)
{
	/* text/scanner skips a leading byte order mark */
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
		s += 3;
		n -= 3;
	}
	struct lexer lx = { s, n, 0, raw_quotes, raw_escapes, 0 };
	struct lexw w = { { 0 }, BBUF_INIT, false, glue, false };
	struct bbuf result = BBUF_INIT;
	int rc = lx_stop_on(&lx, LEX_EOF, &result, &w);
	if (rc == 0 && w.word.len)
		svec_addn(&w.words, bbuf_str(&w.word), w.word.len);
	bbuf_release(&result);
	bbuf_release(&w.word);
	if (rc < 0) {
		svec_release(&w.words);
		return -1;
	}
	*out = w.words;
	return 0;
}

static size_t count_quotes(const char *s)
{
	size_t c = 0;
	for (; *s; s++)
		if (*s == '\'' || *s == '"')
			c++;
	return c;
}

/* ParseHeredoc: 1 = heredoc found, 0 = not a heredoc, -1 = lexing error */
static int heredoc_from_word(const char *word, size_t len, struct df_heredoc *hd)
{
	size_t i = 0;
	while (i < len && word[i] >= '0' && word[i] <= '9')
		i++;
	size_t fd_end = i;
	if (len - i < 2 || word[i] != '<' || word[i + 1] != '<')
		return 0;
	i += 2;
	bool chomp = false;
	if (i < len && word[i] == '-') {
		chomp = true;
		i++;
	}
	const char *rest = word + i;
	size_t rn = len - i;
	if (rn == 0 || memchr(rest, '<', rn))
		return 0;
	struct svec words = { 0 }, raw = { 0 };
	if (lex_words(rest, rn, false, false, false, &words) < 0)
		return -1;
	if (words.n != 1) {
		svec_release(&words);
		return 0;
	}
	if (lex_words(rest, rn, true, false, false, &raw) < 0 || raw.n != 1) {
		svec_release(&words);
		svec_release(&raw);
		return -1;
	}
	unsigned long long fd = 0;
	for (size_t k = 0; k < fd_end; k++) {
		fd = fd * 10 + (unsigned long long)(word[k] - '0');
		if (fd > INT_MAX) {
			fd = INT_MAX; /* Go would saturate at 2^64-1; any huge fd is nonsense */
			break;
		}
	}
	hd->fd = (int)fd;
	hd->chomp = chomp;
	hd->expand = count_quotes(words.v[0]) == count_quotes(raw.v[0]);
	hd->name = steal_pointer(&words.v[0]);
	hd->content = NULL;
	svec_release(&words);
	svec_release(&raw);
	return 1;
}

static bool can_contain_heredoc(const struct df_node *nd)
{
	if (cmd_is(nd->cmd, "onbuild") && nd->trigger)
		nd = nd->trigger;
	if (!cmd_is(nd->cmd, "run") && !cmd_is(nd->cmd, "copy") && !cmd_is(nd->cmd, "add"))
		return false;
	return !nd->json;
}

/* ------------------------------------------------------------------ */
/* freeing */

static void free_strv(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void node_free_contents(struct df_node *nd)
{
	if (!nd)
		return;
	free(nd->name);
	free(nd->cmd);
	free(nd->original);
	free_strv(nd->flags, nd->nflags);
	free_strv(nd->args, nd->nargs);
	free(nd->arglens);
	if (nd->trigger) {
		node_free_contents(nd->trigger);
		free(nd->trigger);
	}
	for (size_t i = 0; i < nd->nheredocs; i++) {
		free(nd->heredocs[i].name);
		free(nd->heredocs[i].content);
	}
	free(nd->heredocs);
	free_strv(nd->comments, nd->ncomments);
	memset(nd, 0, sizeof(*nd));
}

void df_file_free(struct df_file *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->nnodes; i++)
		node_free_contents(&f->nodes[i]);
	free(f->nodes);
	for (size_t i = 0; i < f->nwarnings; i++)
		free(f->warnings[i].msg);
	free(f->warnings);
	free(f->name);
	free(f->syntax);
	free(f->check);
	free(f);
}

/* ------------------------------------------------------------------ */
/* the main loop (BuildKit Parse) */

static int read_heredocs(struct pstate *st, struct reader *rd, struct df_node *nd,
			 const char *line, size_t len, int start_line, struct berr **err)
{
	struct svec words = { 0 };
	if (lex_words(line, len, true, true, true, &words) < 0)
		return 0; /* BuildKit ignores the lexing error: no heredocs */
	size_t cap = 0;
	int rc = 0;
	for (size_t i = 0; i < words.n; i++) {
		struct df_heredoc hd;
		int r = heredoc_from_word(words.v[i], words.lens[i], &hd);
		if (r < 0) {
			rc = berr_set_at(err, BERR_INPUT, st->name, start_line, nd->col,
					 "failed to process %s: unterminated quote in heredoc name",
					 words.v[i]);
			goto out;
		}
		if (r == 0)
			continue;
		struct bbuf content = BBUF_INIT;
		bool terminated = false;
		const char *pl;
		size_t pn;
		int got;
		size_t namelen = strlen(hd.name);
		while ((got = next_line(rd, &pl, &pn, err)) > 0) {
			size_t tn = trim_newline(pl, pn);
			const char *tp = pl;
			if (hd.chomp)
				while (tn > 0 && *tp == '\t') {
					tp++;
					tn--;
				}
			if (tn == namelen && memcmp(tp, hd.name, namelen) == 0) {
				terminated = true;
				break;
			}
			bbuf_add(&content, pl, pn, NULL);
		}
		if (got < 0 || !terminated) {
			bbuf_release(&content);
			free(hd.name);
			if (got >= 0)
				rc = berr_set_at(err, BERR_INPUT, st->name, start_line, nd->col,
						 "unterminated heredoc");
			else
				rc = -1;
			goto out;
		}
		hd.content = bbuf_detach(&content, NULL);
		XGROW(nd->heredocs, nd->nheredocs + 1, cap);
		nd->heredocs[nd->nheredocs++] = hd;
	}
out:
	svec_release(&words);
	return rc;
}

static void add_warning(struct pstate *st, char *msg, int line)
{
	struct df_file *f = st->f;
	XGROW(f->warnings, f->nwarnings + 1, st->warn_cap);
	f->warnings[f->nwarnings].msg = msg;
	f->warnings[f->nwarnings].start_line = line;
	f->warnings[f->nwarnings].end_line = line;
	f->nwarnings++;
}

static int check_nul(const char *name, const char *data, size_t len, struct berr **err)
{
	const char *z = memchr(data, '\0', len);
	if (!z)
		return 0;
	int line = 1;
	const char *ls = data;
	for (const char *p = data; p < z; p++)
		if (*p == '\n') {
			line++;
			ls = p + 1;
		}
	return berr_set_at(err, BERR_INPUT, name, line, (int)(z - ls) + 1,
			   "NUL byte in Dockerfile (binary file?)");
}

int df_parse(const char *name, const char *data, size_t len, struct df_file **out,
	     struct berr **err)
{
	*out = NULL;
	if (!name)
		name = "Dockerfile";
	if (check_nul(name, data, len, err) < 0)
		return -1;

	struct df_file *f = xcalloc(1, sizeof(*f));
	f->name = xstrdup(name);
	f->escape = '\\';
	struct pstate st = { 0 };
	st.name = name;
	st.escape = '\\';
	st.f = f;
	struct reader rd = { data, len, 0, 0, name };
	struct svec comments = { 0 };
	struct bbuf line = BBUF_INIT;
	const char *pl;
	size_t pn;
	int got;

	while ((got = next_line(&rd, &pl, &pn, err)) > 0) {
		if (rd.lineno == 1 && pn >= 3 && memcmp(pl, "\xEF\xBB\xBF", 3) == 0) {
			pl += 3;
			pn -= 3;
		}
		/* processLine(strip left): newline trim, left trim, directive */
		size_t tn = trim_newline(pl, pn);
		size_t lead = df_uni_space_prefix(pl, tn);
		const char *t = pl + lead;
		tn -= lead;
		bool is_dir;
		if (check_directive(&st, t, tn, rd.lineno, &is_dir, err) < 0)
			goto fail;
		if (!is_dir && is_comment(pl, pn)) {
			size_t cn = pn - 1;
			const char *c = trim_space(pl + 1, &cn);
			if (cn == 0) {
				svec_release(&comments);
			} else {
				if (comments.n == 2 * DF_MAX_COMMENTS)
					svec_drop_front(&comments, DF_MAX_COMMENTS);
				svec_addn(&comments, c, cn);
			}
		}
		if (tn > 0 && t[0] == '#')
			tn = 0; /* trimComments */
		int start_line = rd.lineno;
		int col = (int)lead + 1;
		bbuf_reset(&line);
		bool cont = trim_continuation(t, &tn, st.escape);
		if (!cont && tn == 0)
			continue;
		bbuf_add(&line, t, tn, NULL);

		bool empty_cont = false;
		while (cont) {
			got = next_line(&rd, &pl, &pn, err);
			if (got < 0)
				goto fail;
			if (got == 0)
				break;
			size_t cn = trim_newline(pl, pn);
			if (is_comment(pl, pn))
				continue;
			if (df_uni_space_prefix(pl, cn) == cn) {
				empty_cont = true;
				continue;
			}
			cont = trim_continuation(pl, &cn, st.escape);
			bbuf_add(&line, pl, cn, NULL);
		}
		if (empty_cont)
			add_warning(&st, xasprintf("Empty continuation line found in: %s",
						   bbuf_str(&line)), rd.lineno);

		XGROW(f->nodes, f->nnodes + 1, st.nodes_cap);
		struct df_node *nd = &f->nodes[f->nnodes];
		char *dyn = NULL;
		const char *emsg = NULL;
		int rc = node_from_line(&st, bbuf_str(&line), line.len, 0, nd, &dyn, &emsg);
		nd->col = col;
		if (rc < 0) {
			berr_set_at(err, BERR_INPUT, name, start_line, col, "%s", dyn ? dyn : emsg);
			free(dyn);
			node_free_contents(nd);
			goto fail;
		}
		f->nnodes++;
		if (comments.n > DF_MAX_COMMENTS)
			svec_drop_front(&comments, comments.n - DF_MAX_COMMENTS);
		nd->comments = comments.v;
		nd->ncomments = comments.n;
		free(comments.lens);
		memset(&comments, 0, sizeof(comments));

		if (can_contain_heredoc(nd) && memmem(line.data, line.len, "<<", 2)) {
			if (read_heredocs(&st, &rd, nd, bbuf_str(&line), line.len, start_line,
					  err) < 0)
				goto fail;
		}
		nd->start_line = start_line;
		nd->end_line = rd.lineno;
		if (f->nnodes == 1)
			f->start_line = start_line;
		f->end_line = rd.lineno;
	}
	if (got < 0)
		goto fail;
	if (f->nnodes == 0) {
		berr_set_at(err, BERR_INPUT, name, rd.lineno > 0 ? rd.lineno : 1, 1,
			    "file with no instructions");
		goto fail;
	}
	f->escape = st.escape;
	svec_release(&comments);
	bbuf_release(&line);
	*out = f;
	return 0;
fail:
	svec_release(&comments);
	bbuf_release(&line);
	df_file_free(f);
	return -1;
}

int df_parse_file(const char *path, struct df_file **out, struct berr **err)
{
	struct bbuf b = BBUF_INIT;
	*out = NULL;
	if (bfile_read_all(path, DF_MAX_FILE_SIZE, &b, err) < 0) {
		bbuf_release(&b);
		return -1;
	}
	int rc = df_parse(path, bbuf_str(&b), b.len, out, err);
	bbuf_release(&b);
	return rc;
}
