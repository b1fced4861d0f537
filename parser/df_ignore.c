/* .dockerignore: ignorefile.ReadAll and patternmatcher, ported to C.
 * Each pattern is classified once, like patternmatcher's compile(): exact,
 * prefix ("dir" + "**"), suffix ("**" + literal) or a regexp built with the same
 * translation (run by PCRE2 with JIT, options chosen to behave like Go's
 * RE2 for these regexps). */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "common/common.h"
#include "parser/df_ignore.h"

/* PCRE2 backtracks; Go's RE2 does not. A pattern like "*a*a*a*a*b" could take
 * exponential time, so the backtracking matcher gets a budget and the
 * automaton matcher (pcre2_dfa_match, no backtracking) finishes the job. */
#define IGN_MATCH_LIMIT 200000
#define IGN_DFA_WORKSPACE 4096

static const char bad_pattern_msg[] = "syntax error in pattern";

/* ---- Go helpers ------------------------------------------------------- */

/* utf8.DecodeRune: width of the valid sequence at s, 0 if invalid */
static size_t utf8_width(const unsigned char *s, size_t n, unsigned *rune)
{
	unsigned c = s[0];
	if (c < 0x80) {
		*rune = c;
		return 1;
	}
	size_t w;
	unsigned r, min;
	if (c >= 0xC2 && c <= 0xDF) {
		w = 2, r = c & 0x1F, min = 0x80;
	} else if (c >= 0xE0 && c <= 0xEF) {
		w = 3, r = c & 0x0F, min = 0x800;
	} else if (c >= 0xF0 && c <= 0xF4) {
		w = 4, r = c & 0x07, min = 0x10000;
	} else {
		return 0;
	}
	if (n < w)
		return 0;
	for (size_t i = 1; i < w; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		r = (r << 6) | (s[i] & 0x3F);
	}
	if (r < min || r > 0x10FFFF || (r >= 0xD800 && r <= 0xDFFF))
		return 0;
	*rune = r;
	return w;
}

static bool utf8_valid(const char *s, size_t n)
{
	unsigned r;
	for (size_t i = 0; i < n;) {
		size_t w = utf8_width((const unsigned char *)s + i, n - i, &r);
		if (!w)
			return false;
		i += w;
	}
	return true;
}

/* unicode.IsSpace */
static bool is_space_rune(unsigned r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	default:
		return r >= 0x2000 && r <= 0x200A;
	}
}

/* strings.TrimSpace on s[*b, *e) */
static void trim_space(const char *s, size_t *b, size_t *e)
{
	unsigned r;
	while (*b < *e) {
		size_t w = utf8_width((const unsigned char *)s + *b, *e - *b, &r);
		if (!w || !is_space_rune(r))
			break;
		*b += w;
	}
	while (*e > *b) {
		/* find the start of the last rune */
		size_t st = *e - 1;
		while (st > *b && *e - st < 4 && ((unsigned char)s[st] & 0xC0) == 0x80)
			st--;
		size_t w = utf8_width((const unsigned char *)s + st, *e - st, &r);
		if (!w || st + w != *e || !is_space_rune(r))
			break;
		*e = st;
	}
}

/* filepath.Clean (Unix) of p[0, n) into out, which must hold n + 2 bytes.
 * Returns the length written (out is NUL-terminated). */
static size_t go_clean(const char *p, size_t n, char *out)
{
	if (n == 0) {
		out[0] = '.';
		out[1] = '\0';
		return 1;
	}
	bool rooted = p[0] == '/';
	size_t w = 0, r = 0, dotdot = 0;
	if (rooted) {
		out[w++] = '/';
		r = 1;
		dotdot = 1;
	}
	while (r < n) {
		if (p[r] == '/') {
			r++;
		} else if (p[r] == '.' && (r + 1 == n || p[r + 1] == '/')) {
			r++;
		} else if (p[r] == '.' && r + 1 < n && p[r + 1] == '.' &&
			   (r + 2 == n || p[r + 2] == '/')) {
			r += 2;
			if (w > dotdot) {
				w--;
				while (w > dotdot && out[w] != '/')
					w--;
			} else if (!rooted) {
				if (w > 0)
					out[w++] = '/';
				out[w++] = '.';
				out[w++] = '.';
				dotdot = w;
			}
		} else {
			if ((rooted && w != 1) || (!rooted && w != 0))
				out[w++] = '/';
			while (r < n && p[r] != '/')
				out[w++] = p[r++];
		}
	}
	if (w == 0)
		out[w++] = '.';
	out[w] = '\0';
	return w;
}

static char *go_clean_dup(const char *p, size_t n)
{
	char *out = xmalloc(n + 2);
	go_clean(p, n, out);
	return out;
}

/* ---- ignorefile.ReadAll ----------------------------------------------- */

void df_ignore_patterns_free(char **patterns, size_t n)
{
	if (!patterns)
		return;
	for (size_t i = 0; i < n; i++)
		free(patterns[i]);
	free(patterns);
}

int df_ignore_read(const char *data, size_t len, char ***patterns, size_t *n,
		   struct berr **err)
{
	char **out = NULL;
	size_t cnt = 0, cap = 0;
	size_t pos = 0;
	int lineno = 0;

	while (pos < len) {
		/* bufio.ScanLines: split on '\n', drop one trailing '\r' */
		const char *nl = memchr(data + pos, '\n', len - pos);
		size_t b = pos, e = nl ? (size_t)(nl - data) : len;
		pos = nl ? e + 1 : len;
		lineno++;
		if (e - b > DF_IGNORE_MAX_LINE) {
			df_ignore_patterns_free(out, cnt);
			return berr_set_at(err, BERR_LIMIT, NULL, lineno, 0,
					   "error reading .dockerignore: line %d longer than %d bytes",
					   lineno, DF_IGNORE_MAX_LINE);
		}
		if (e > b && data[e - 1] == '\r')
			e--;
		if (memchr(data + b, '\0', e - b)) {
			df_ignore_patterns_free(out, cnt);
			return berr_set_at(err, BERR_INPUT, NULL, lineno, 0,
					   "error reading .dockerignore: NUL byte on line %d", lineno);
		}
		if (lineno == 1 && e - b >= 3 && memcmp(data + b, "\xEF\xBB\xBF", 3) == 0)
			b += 3;
		/* a comment is a '#' in the very first column, before trimming */
		if (b < e && data[b] == '#')
			continue;
		trim_space(data, &b, &e);
		if (b == e)
			continue;
		bool invert = data[b] == '!';
		if (invert) {
			b++;
			trim_space(data, &b, &e);
		}
		char *pat;
		if (e > b) {
			char *c = go_clean_dup(data + b, e - b);
			const char *s = c;
			if (strlen(s) > 1 && s[0] == '/')
				s++;
			pat = invert ? xasprintf("!%s", s) : xstrdup(s);
			free(c);
		} else {
			pat = xstrdup(invert ? "!" : "");
		}
		XGROW(out, cnt + 1, cap);
		out[cnt++] = pat;
	}
	*patterns = out;
	*n = cnt;
	return 0;
}

/* ---- patternmatcher --------------------------------------------------- */

enum match_type { MATCH_EXACT, MATCH_PREFIX, MATCH_SUFFIX, MATCH_REGEXP };

struct ign_pattern {
	char *cleaned;          /* cleaned pattern without the leading '!' */
	size_t len;
	size_t ndirs;           /* components, for the deprecated Matches */
	bool exclusion;
	enum match_type type;
	pcre2_code *re;         /* MATCH_REGEXP; NULL = regexp did not compile */
};

struct df_ignore {
	struct ign_pattern *pats;
	size_t n;
	bool exclusions;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
	int *dfa_ws;
	char *scratch;          /* parent directory of the current path */
	size_t scratch_cap;
	struct bbuf conv;       /* subject with invalid UTF-8 replaced */
};

/* One element of a class for Go's filepath.Match (getEsc). */
static int class_char(const char *p, size_t n, size_t *i)
{
	if (*i >= n || p[*i] == '-' || p[*i] == ']')
		return -1;
	if (p[*i] == '\\') {
		(*i)++;
		if (*i >= n)
			return -1;
	}
	unsigned r;
	size_t w = utf8_width((const unsigned char *)p + *i, n - *i, &r);
	if (!w)
		return -1;
	*i += w;
	if (*i >= n)
		return -1;
	return 0;
}

/* Would Go's filepath.Match(p, ".") report ErrBadPattern? Match checks the
 * syntax of the whole pattern whatever the name, so this is pure syntax:
 * a trailing '\', and classes that are empty, unterminated, start with '-'
 * or ']' unescaped, have a dangling range, or hold invalid UTF-8. */
static bool match_syntax_ok(const char *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		char c = p[i];
		if (c == '\\') {
			if (i + 1 >= n)
				return false;
			i += 2;
		} else if (c == '[') {
			i++;
			if (i < n && p[i] == '^')
				i++;
			size_t nrange = 0;
			for (;;) {
				if (i < n && p[i] == ']' && nrange > 0) {
					i++;
					break;
				}
				if (class_char(p, n, &i) < 0)
					return false;
				if (p[i] == '-') {
					i++;
					if (class_char(p, n, &i) < 0)
						return false;
				}
				nrange++;
			}
		} else {
			i++;
		}
	}
	return true;
}

/* Append the rune at p[*i] as text/scanner returns it (invalid -> U+FFFD). */
static void add_rune(struct bbuf *re, const char *p, size_t n, size_t *i)
{
	unsigned r;
	size_t w = utf8_width((const unsigned char *)p + *i, n - *i, &r);
	if (!w) {
		bbuf_add(re, "\xEF\xBF\xBD", 3, NULL);
		(*i)++;
		return;
	}
	bbuf_add(re, p + *i, w, NULL);
	*i += w;
}

static bool is_octal(char c)
{
	return c >= '0' && c <= '7';
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

/* The translated regexp is written for Go's RE2 syntax. Only escapes
 * copied from the pattern ("\x" -> "\x") can make RE2 and PCRE2 read it
 * differently, so walk it like Go's parser would: reject what RE2 rejects
 * (a backreference "\1", "\e", "\b" inside a class, "\Q" inside a class...)
 * and spell the few escapes whose meaning differs ("\v", "\s", "\S") in a
 * form both agree on. Returns false when Go's regexp.Compile would fail. */
static bool go_regexp_to_pcre(const char *re, size_t n, struct bbuf *out)
{
	bool in_class = false;
	size_t i = 0;
	while (i < n) {
		char c = re[i];
		if (c != '\\') {
			if (c == '[' && !in_class) {
				in_class = true;
				bbuf_addch(out, c, NULL);
				i++;
				if (i < n && re[i] == '^')
					bbuf_addch(out, re[i++], NULL);
				continue;
			}
			if (c == '[' && in_class && i + 1 < n && re[i + 1] == ':') {
				/* [:name:] inside a class: both engines check the name */
				const char *e = memmem(re + i + 2, n - i - 2, ":]", 2);
				if (e) {
					size_t l = (size_t)(e - re) + 2 - i;
					bbuf_add(out, re + i, l, NULL);
					i += l;
					continue;
				}
			}
			if (c == ']' && in_class)
				in_class = false;
			bbuf_addch(out, c, NULL);
			i++;
			continue;
		}
		if (i + 1 >= n)
			return false; /* trailing backslash */
		char d = re[i + 1];
		if (!in_class && d == 'Q') {
			/* \Q...\E (or to the end): literal in both engines */
			const char *e = memmem(re + i + 2, n - i - 2, "\\E", 2);
			size_t l = e ? (size_t)(e - re) + 2 - i : n - i;
			bbuf_add(out, re + i, l, NULL);
			i += l;
			continue;
		}
		if (!in_class && strchr("AbBz", d)) {
			bbuf_add(out, re + i, 2, NULL);
			i += 2;
			continue;
		}
		if (d == 's' || d == 'S') {
			/* RE2's \s is [\t\n\f\r ]; PCRE2's also has \v */
			if (in_class && d == 'S')
				return false; /* cannot be spelled; never seen in practice */
			bbuf_addstr(out, in_class ? "\\t\\n\\f\\r " : d == 's' ? "[\\t\\n\\f\\r ]"
								      : "[^\\t\\n\\f\\r ]", NULL);
			i += 2;
			continue;
		}
		if (d == 'v') {
			bbuf_addstr(out, "\\x0B", NULL); /* PCRE2's \v is a class */
			i += 2;
			continue;
		}
		size_t l = 2;
		if ((unsigned char)d < 0x80 && !isalnum((unsigned char)d)) {
			/* escaped punctuation is itself */
		} else if (strchr("dDwWpPafnrt0", d)) {
			/* same meaning in both (\p names are checked by PCRE2) */
		} else if (d >= '1' && d <= '7') {
			/* octal needs two digits; a lone digit is a backreference */
			if (i + 2 >= n || !is_octal(re[i + 2]))
				return false;
		} else if (d == 'x') {
			/* braces are always escaped by the translation, so only \xHH */
			if (i + 3 >= n || !is_hex(re[i + 2]) || !is_hex(re[i + 3]))
				return false;
			l = 4;
		} else {
			return false;
		}
		bbuf_add(out, re + i, l, NULL);
		i += l;
	}
	return true;
}

/* patternmatcher's Pattern.compile with separator '/'. */
static void compile_pattern(struct ign_pattern *p, pcre2_compile_context *cctx)
{
	_cleanup_bbuf_ struct bbuf re = BBUF_INIT;
	const char *s = p->cleaned;
	size_t n = p->len, pos = 0;
	enum match_type t = MATCH_EXACT;

	bbuf_addch(&re, '^', NULL);
	/* text/scanner skips a byte order mark at the very start */
	if (n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0)
		pos = 3;
	for (size_t i = 0; pos < n; i++) {
		char ch = s[pos];
		if (ch == '*') {
			pos++;
			if (pos < n && s[pos] == '*') {
				pos++;
				if (pos < n && s[pos] == '/')
					pos++;
				if (pos == n) {
					/* "**" at the end: everything below */
					if (t == MATCH_EXACT) {
						t = MATCH_PREFIX;
					} else {
						bbuf_addstr(&re, ".*", NULL);
						t = MATCH_REGEXP;
					}
				} else {
					bbuf_addstr(&re, "(.*/)?", NULL);
					t = MATCH_REGEXP;
				}
				if (i == 0)
					t = MATCH_SUFFIX;
			} else {
				bbuf_addstr(&re, "[^/]*", NULL);
				t = MATCH_REGEXP;
			}
		} else if (ch == '?') {
			pos++;
			bbuf_addstr(&re, "[^/]", NULL);
			t = MATCH_REGEXP;
		} else if (ch && strchr(".+()|{}$", ch)) {
			pos++;
			bbuf_addch(&re, '\\', NULL);
			bbuf_addch(&re, ch, NULL);
		} else if (ch == '\\') {
			pos++;
			bbuf_addch(&re, '\\', NULL);
			if (pos < n) {
				add_rune(&re, s, n, &pos);
				t = MATCH_REGEXP;
			}
		} else if (ch == '[' || ch == ']') {
			pos++;
			bbuf_addch(&re, ch, NULL);
			t = MATCH_REGEXP;
		} else {
			add_rune(&re, s, n, &pos);
		}
	}
	p->type = t;
	if (t != MATCH_REGEXP)
		return;
	bbuf_addch(&re, '$', NULL);
	_cleanup_bbuf_ struct bbuf pre = BBUF_INIT;
	if (!go_regexp_to_pcre(re.data, re.len, &pre))
		return; /* Go's regexp.Compile fails: bad when evaluated */
	int ec;
	PCRE2_SIZE eo;
	p->re = pcre2_compile((PCRE2_SPTR)pre.data, pre.len,
			      PCRE2_UTF | PCRE2_DOLLAR_ENDONLY | PCRE2_NEVER_BACKSLASH_C,
			      &ec, &eo, cctx);
	if (p->re)
		pcre2_jit_compile(p->re, PCRE2_JIT_COMPLETE); /* best effort */
}

void df_ignore_free(struct df_ignore *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->n; i++) {
		free(m->pats[i].cleaned);
		pcre2_code_free(m->pats[i].re);
	}
	free(m->pats);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
	free(m->dfa_ws);
	free(m->scratch);
	bbuf_release(&m->conv);
	free(m);
}

DEFINE_CLEANUP_FUNC(struct df_ignore *, df_ignore_free)
DEFINE_CLEANUP_FUNC(pcre2_compile_context *, pcre2_compile_context_free)

int df_ignore_new(char *const *patterns, size_t n, struct df_ignore **out,
		  struct berr **err)
{
	_cleanup_(df_ignore_free_ptr) struct df_ignore *m = xcalloc(1, sizeof(*m));
	_cleanup_(pcre2_compile_context_free_ptr) pcre2_compile_context *cctx =
		pcre2_compile_context_create(NULL);
	if (!cctx)
		return berr_set(err, BERR_INTERNAL, "cannot allocate a regexp context");
	/* RE2: '.' stops only at '\n'; '$' is the end of the text */
	pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
	m->pats = xcalloc(n ? n : 1, sizeof(*m->pats));
	for (size_t i = 0; i < n; i++) {
		size_t b = 0, e = strlen(patterns[i]);
		trim_space(patterns[i], &b, &e);
		if (b == e)
			continue;
		char *c = go_clean_dup(patterns[i] + b, e - b);
		struct ign_pattern *p = &m->pats[m->n];
		const char *body = c;
		if (c[0] == '!') {
			if (c[1] == '\0') {
				free(c);
				return berr_set(err, BERR_INPUT, "illegal exclusion pattern: \"!\"");
			}
			p->exclusion = true;
			m->exclusions = true;
			body = c + 1;
		}
		size_t blen = strlen(body);
		if (!match_syntax_ok(body, blen)) {
			berr_set(err, BERR_INPUT, "%s '%s'", bad_pattern_msg, patterns[i]);
			free(c);
			return -1;
		}
		p->cleaned = xstrdup(body);
		p->len = blen;
		p->ndirs = 1;
		for (size_t k = 0; k < blen; k++)
			p->ndirs += body[k] == '/';
		free(c);
		m->n++;
		compile_pattern(p, cctx);
	}
	m->md = pcre2_match_data_create(1, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	if (!m->md || !m->mctx)
		return berr_set(err, BERR_INTERNAL, "cannot allocate regexp match data");
	pcre2_set_match_limit(m->mctx, IGN_MATCH_LIMIT);
	*out = steal_pointer(&m);
	return 0;
}

bool df_ignore_has_exclusions(const struct df_ignore *m)
{
	return m->exclusions;
}

/* Can exclusion pattern p match a path with more components than dir and
 * starting with dir's components? Without "**", '[' or '\\', '*' and '?'
 * never cross a '/', so a match has exactly as many components as p. */
static bool exclusion_may_match_below(const struct ign_pattern *p, const char *dir)
{
	const char *s = p->cleaned;
	if (strstr(s, "**") || strpbrk(s, "[\\"))
		return true;
	size_t dcomp = 1;
	for (const char *q = dir; *q; q++)
		dcomp += *q == '/';
	if (p->ndirs <= dcomp)
		return false;
	/* compare the leading components that are plain literals */
	const char *d = dir;
	for (size_t i = 0; i < dcomp; i++) {
		size_t pl = strcspn(s, "/"), dl = strcspn(d, "/");
		bool glob = memchr(s, '*', pl) || memchr(s, '?', pl);
		if (!glob && (pl != dl || memcmp(s, d, pl) != 0))
			return false;
		s += pl + (s[pl] == '/');
		d += dl + (d[dl] == '/');
	}
	return true;
}

bool df_ignore_may_reinclude_below(const struct df_ignore *m, const char *dir)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->pats[i].exclusion && exclusion_may_match_below(&m->pats[i], dir))
			return true;
	return false;
}

size_t df_ignore_count(const struct df_ignore *m)
{
	return m->n;
}

const char *df_ignore_pattern(const struct df_ignore *m, size_t i, bool *exclusion)
{
	if (i >= m->n)
		return NULL;
	if (exclusion)
		*exclusion = m->pats[i].exclusion;
	return m->pats[i].cleaned;
}

/* Run a compiled regexp on s[0, n). 1 match, 0 no match, -1 error. */
static int run_regexp(struct df_ignore *m, const struct ign_pattern *p,
		      const char *s, size_t n, bool utf_ok, struct berr **err)
{
	if (!utf_ok) {
		/* Go's regexp reads each invalid byte as U+FFFD; so do we */
		bbuf_reset(&m->conv);
		for (size_t i = 0; i < n;)
			add_rune(&m->conv, s, n, &i);
		s = bbuf_str(&m->conv);
		n = m->conv.len;
	}
	int rc = pcre2_match(p->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK, m->md, m->mctx);
	if (rc >= 0)
		return 1;
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
	    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT) {
		if (!m->dfa_ws)
			m->dfa_ws = xcalloc(IGN_DFA_WORKSPACE, sizeof(int));
		rc = pcre2_dfa_match(p->re, (PCRE2_SPTR)s, n, 0, PCRE2_NO_UTF_CHECK,
				     m->md, NULL, m->dfa_ws, IGN_DFA_WORKSPACE);
		if (rc >= 0)
			return 1;
		if (rc == PCRE2_ERROR_NOMATCH)
			return 0;
	}
	return berr_set(err, BERR_LIMIT, "pattern '%s' is too complex to match", p->cleaned);
}

/* Pattern.match: 1 match, 0 no match, -1 error (bad pattern). */
static int pat_match(struct df_ignore *m, const struct ign_pattern *p,
		     const char *s, size_t n, bool utf_ok, struct berr **err)
{
	switch (p->type) {
	case MATCH_EXACT:
		return n == p->len && memcmp(s, p->cleaned, n) == 0;
	case MATCH_PREFIX:
		return n >= p->len - 2 && memcmp(s, p->cleaned, p->len - 2) == 0;
	case MATCH_SUFFIX: {
		const char *suf = p->cleaned + 2;
		size_t sl = p->len - 2;
		if (n >= sl && memcmp(s + n - sl, suf, sl) == 0)
			return 1;
		/* "**" + "/foo" also matches "foo" */
		return sl > 0 && suf[0] == '/' && n == sl - 1 && memcmp(s, suf + 1, n) == 0;
	}
	case MATCH_REGEXP:
		if (!p->re)
			return berr_set(err, BERR_INPUT, "%s '%s'", bad_pattern_msg, p->cleaned);
		return run_regexp(m, p, s, n, utf_ok, err);
	}
	return 0;
}

/* filepath.Dir(path) into m->scratch; returns its length */
static size_t parent_dir(struct df_ignore *m, const char *path, size_t n)
{
	const char *slash = memrchr(path, '/', n);
	size_t dl = slash ? (size_t)(slash - path) + 1 : 0;
	XGROW(m->scratch, dl + 2, m->scratch_cap);
	return go_clean(path, dl, m->scratch);
}

static int matches_impl(struct df_ignore *m, const char *path, bool all_parents,
			bool *matched, struct berr **err)
{
	size_t n = strlen(path);
	bool utf_ok = utf8_valid(path, n);
	size_t pl = parent_dir(m, path, n);
	const char *parent = m->scratch;
	bool has_parent = !(pl == 1 && parent[0] == '.');
	size_t nparent = 1;
	for (size_t k = 0; k < pl; k++)
		nparent += parent[k] == '/';
	bool res = false;

	for (size_t i = 0; i < m->n; i++) {
		const struct ign_pattern *p = &m->pats[i];
		/* only a pattern that could flip the verdict is evaluated */
		if (p->exclusion != res)
			continue;
		int r = pat_match(m, p, path, n, utf_ok, err);
		if (r < 0)
			return -1;
		if (!r && has_parent) {
			if (all_parents) {
				/* every prefix "a", "a/b", ... of the parent */
				for (size_t k = 0; k <= pl && !r; k++) {
					if (k < pl && parent[k] != '/')
						continue;
					r = pat_match(m, p, parent, k, utf_ok, err);
					if (r < 0)
						return -1;
				}
			} else if (p->ndirs <= nparent) {
				/* only the prefix with as many components as the pattern */
				size_t k = 0, seen = 0;
				for (; k < pl; k++)
					if (parent[k] == '/' && ++seen == p->ndirs)
						break;
				r = pat_match(m, p, parent, k, utf_ok, err);
				if (r < 0)
					return -1;
			}
		}
		if (r)
			res = !p->exclusion;
	}
	*matched = res;
	return 0;
}

int df_ignore_matches_or_parent_matches(struct df_ignore *m, const char *path,
					bool *matched, struct berr **err)
{
	return matches_impl(m, path, true, matched, err);
}

int df_ignore_matches_single_parent(struct df_ignore *m, const char *path,
				    bool *matched, struct berr **err)
{
	return matches_impl(m, path, false, matched, err);
}

int df_ignore_matches(const char *path, char *const *patterns, size_t n,
		      bool *matched, struct berr **err)
{
	_cleanup_(df_ignore_free_ptr) struct df_ignore *m = NULL;
	if (df_ignore_new(patterns, n, &m, err) < 0)
		return -1;
	_cleanup_free_ char *c = go_clean_dup(path, strlen(path));
	if (strcmp(c, ".") == 0) {
		*matched = false; /* "don't let them exclude everything" */
		return 0;
	}
	return matches_impl(m, c, false, matched, err);
}
