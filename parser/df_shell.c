/* Dockerfile shell-word lexer, following BuildKit frontend/dockerfile/shell
 * (lex.go): the same character rules, expansion forms, error texts and word
 * splitting. BuildKit scans runes with Go's text/scanner, so the input is
 * first made valid UTF-8 the same way (each invalid byte becomes U+FFFD, a
 * leading BOM is dropped). Unicode classes that Go takes from its tables
 * (letters and digits in names, printable runes in %q) come from PCRE2's
 * \p{..} properties; shell patterns are turned into PCRE2 regexps as BuildKit
 * turns them into Go regexps. See docs/internals-shell.md. */
#define PCRE2_CODE_UNIT_WIDTH 8
#include <locale.h>
#include <pcre2.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <wctype.h>

#include "parser/df_shell.h"
#include "parser/df_unicode.h"
#include "common/common.h"

#define SH_EOF (-1)
#define RUNE_ERROR DF_RUNE_ERROR

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decodes one rune like Go's utf8.DecodeRune: an invalid or truncated
 * sequence, an overlong form or a surrogate yields U+FFFD of width 1. */

static size_t utf8_encode(char out[4], uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xC0 | (cp >> 6));
		out[1] = (char)(0x80 | (cp & 0x3F));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xE0 | (cp >> 12));
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		out[2] = (char)(0x80 | (cp & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (cp >> 18));
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
	out[3] = (char)(0x80 | (cp & 0x3F));
	return 4;
}

static bool utf8_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		if (cp == RUNE_ERROR && w == 1)
			return false;
		i += w;
	}
	return true;
}

/* Valid UTF-8 copy of s: invalid bytes become U+FFFD (3 bytes each). */
static char *utf8_sanitize(const char *s, size_t len, bool skip_bom, size_t *outlen)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t need = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		need += (cp == RUNE_ERROR && w == 1) ? 3 : w;
		i += w;
	}
	char *out = xmalloc(need + 1);
	size_t o = 0;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		if (skip_bom && i == 0 && cp == 0xFEFF) {
			i += w;
			continue;
		}
		if (cp == RUNE_ERROR && w == 1)
			o += utf8_encode(out + o, RUNE_ERROR);
		else {
			memcpy(out + o, s + i, w);
			o += w;
		}
		i += w;
	}
	out[o] = '\0';
	*outlen = o;
	return out;
}

/* A value to match patterns against. Matching runs on valid UTF-8 (Go's
 * regexp reads an invalid byte as U+FFFD of width 1); results are cut from
 * the raw bytes, so offsets are mapped back through the replaced bytes. */
struct subject {
	const char *raw;
	size_t rawlen;
	const char *text;         /* raw itself when valid, else clean */
	size_t len;
	char *clean;
	size_t *rep;              /* offsets in text of each U+FFFD replacement */
	size_t nrep;
};

static void subject_init(struct subject *sj, const char *value)
{
	memset(sj, 0, sizeof(*sj));
	sj->raw = value;
	sj->rawlen = strlen(value);
	sj->text = value;
	sj->len = sj->rawlen;
	if (utf8_valid(value, sj->rawlen))
		return;
	sj->clean = utf8_sanitize(value, sj->rawlen, false, &sj->len);
	sj->text = sj->clean;
	size_t cap = 0;
	const unsigned char *p = (const unsigned char *)value;
	size_t o = 0;
	for (size_t i = 0; i < sj->rawlen;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, sj->rawlen - i, &cp);
		if (cp == RUNE_ERROR && w == 1) {
			XGROW(sj->rep, sj->nrep + 1, cap);
			sj->rep[sj->nrep++] = o;
			o += 3;
		} else {
			o += w;
		}
		i += w;
	}
}

/* raw offset of a rune boundary in text: each replacement before it grew
 * one byte into three */
static size_t subject_orig(const struct subject *sj, size_t off)
{
	size_t lo = 0, hi = sj->nrep;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (sj->rep[mid] < off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return off - 2 * lo;
}

static void subject_release(struct subject *sj)
{
	free(sj->clean);
	free(sj->rep);
}

/* unicode.IsSpace */
static bool is_space(uint32_t c)
{
	switch (c) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	}
	return c >= 0x2000 && c <= 0x200A;
}

/* ---- Unicode classes via PCRE2 (compiled on first non-ASCII query) ---- */

enum uclass_kind { UC_LETTER, UC_DIGIT, UC_PRINT, UC_COUNT };

struct uclass {
	pcre2_code *re[UC_COUNT];
	pcre2_match_data *md;
	bool failed;
};

static bool uclass_test(struct uclass *uc, enum uclass_kind k, uint32_t cp)
{
	if (cp < 0x80) {
		switch (k) {
		case UC_LETTER:
			return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z');
		case UC_DIGIT:
			return cp >= '0' && cp <= '9';
		default:
			return cp >= 0x20 && cp < 0x7F;
		}
	}
	static const char *const pats[UC_COUNT] = {
		"\\p{L}", "\\p{Nd}", "[\\p{L}\\p{M}\\p{N}\\p{P}\\p{S}]",
	};
	if (!uc->re[k] && !uc->failed) {
		int ec;
		PCRE2_SIZE eo;
		uc->re[k] = pcre2_compile((PCRE2_SPTR)pats[k], PCRE2_ZERO_TERMINATED,
					  PCRE2_UTF | PCRE2_ANCHORED, &ec, &eo, NULL);
		if (!uc->md)
			uc->md = pcre2_match_data_create(1, NULL);
		if (!uc->re[k] || !uc->md)
			uc->failed = true; /* PCRE2 built without Unicode: ASCII rules only */
	}
	if (uc->failed)
		return false;
	char buf[4];
	size_t n = utf8_encode(buf, cp);
	return pcre2_match(uc->re[k], (PCRE2_SPTR)buf, n, 0, PCRE2_NO_UTF_CHECK,
			   uc->md, NULL) >= 0;
}

static void uclass_release(struct uclass *uc)
{
	for (int k = 0; k < UC_COUNT; k++)
		pcre2_code_free(uc->re[k]);
	pcre2_match_data_free(uc->md);
}

/* Go's %q (strconv.Quote) of s into b, cut after max bytes of s. */
static void go_quote(struct bbuf *b, struct uclass *uc, const char *s, size_t len, size_t max)
{
	const unsigned char *p = (const unsigned char *)s;
	bool cut = len > max;
	if (cut)
		len = max;
	bbuf_addch(b, '"', NULL);
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		if (cp == RUNE_ERROR && w == 1) {
			bbuf_addf(b, NULL, "\\x%02x", p[i]);
		} else if (cp == '"' || cp == '\\') {
			bbuf_addch(b, '\\', NULL);
			bbuf_addch(b, (char)cp, NULL);
		} else if (cp < 0x80 && cp >= 0x20 && cp != 0x7F) {
			bbuf_addch(b, (char)cp, NULL);
		} else if (cp < 0x80) {
			static const char esc[] = "\a\b\f\n\r\t\v", let[] = "abfnrtv";
			const char *e = cp ? strchr(esc, (int)cp) : NULL;
			if (e)
				bbuf_addf(b, NULL, "\\%c", let[e - esc]);
			else
				bbuf_addf(b, NULL, "\\x%02x", (unsigned)cp);
		} else if (uclass_test(uc, UC_PRINT, cp)) {
			bbuf_add(b, s + i, w, NULL);
		} else if (cp < 0x10000) {
			bbuf_addf(b, NULL, "\\u%04x", (unsigned)cp);
		} else {
			bbuf_addf(b, NULL, "\\U%08x", (unsigned)cp);
		}
		i += w;
	}
	bbuf_addch(b, '"', NULL);
	if (cut)
		bbuf_addstr(b, "...", NULL);
}

/* ---- environment ------------------------------------------------------ */

struct env_entry {
	char *key, *value, *norm;
	uint64_t hash;
};

struct df_env {
	bool windows;
	locale_t loc;             /* C.UTF-8 for upper-casing non-ASCII names */
	struct env_entry *v;
	size_t n, cap;
	size_t *slots;            /* open addressing: entry index + 1, 0 = empty */
	size_t nslots;            /* power of two */
};

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ull;
	}
	return h;
}

/* Lookup form of a name: itself, or in Windows mode its upper case
 * (strings.ToUpper: per rune, invalid bytes as U+FFFD). */
static char *env_norm(const struct df_env *env, const char *name)
{
	size_t len = strlen(name);
	if (!env->windows)
		return xstrdup(name);
	char *out = xmalloc(len * 3 + 1);
	size_t o = 0;
	const unsigned char *p = (const unsigned char *)name;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		if (cp < 0x80)
			cp = (cp >= 'a' && cp <= 'z') ? cp - 32 : cp;
		else if (env->loc != (locale_t)0 && cp != RUNE_ERROR)
			cp = (uint32_t)towupper_l((wint_t)cp, env->loc);
		o += utf8_encode(out + o, cp);
		i += w;
	}
	out[o] = '\0';
	return out;
}

struct df_env *df_env_new(bool windows)
{
	struct df_env *env = xcalloc(1, sizeof(*env));
	env->windows = windows;
	if (windows)
		env->loc = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	return env;
}

void df_env_free(struct df_env *env)
{
	if (!env)
		return;
	for (size_t i = 0; i < env->n; i++) {
		free(env->v[i].key);
		free(env->v[i].value);
		free(env->v[i].norm);
	}
	free(env->v);
	free(env->slots);
	if (env->loc != (locale_t)0)
		freelocale(env->loc);
	free(env);
}

bool df_env_windows(const struct df_env *env)
{
	return env && env->windows;
}

static ssize_t env_find(const struct df_env *env, const char *norm, uint64_t h)
{
	if (!env->nslots)
		return -1;
	size_t mask = env->nslots - 1;
	for (size_t i = h & mask;; i = (i + 1) & mask) {
		size_t s = env->slots[i];
		if (!s)
			return -1;
		const struct env_entry *e = &env->v[s - 1];
		if (e->hash == h && strcmp(e->norm, norm) == 0)
			return (ssize_t)(s - 1);
	}
}

static void env_rehash(struct df_env *env)
{
	size_t n = env->nslots ? env->nslots * 2 : 16;
	free(env->slots);
	env->slots = xcalloc(n, sizeof(*env->slots));
	env->nslots = n;
	for (size_t k = 0; k < env->n; k++) {
		size_t i = env->v[k].hash & (n - 1);
		while (env->slots[i])
			i = (i + 1) & (n - 1);
		env->slots[i] = k + 1;
	}
}

void df_env_set(struct df_env *env, const char *key, const char *value)
{
	char *norm = env_norm(env, key);
	uint64_t h = fnv1a(norm);
	ssize_t at = env_find(env, norm, h);
	if (at >= 0) {
		free(norm);
		free(env->v[at].value);
		env->v[at].value = xstrdup(value);
		return;
	}
	XGROW(env->v, env->n + 1, env->cap);
	env->v[env->n++] = (struct env_entry){ xstrdup(key), xstrdup(value), norm, h };
	/* keep the table at most half full */
	if (env->n * 2 > env->nslots)
		env_rehash(env);
	else {
		size_t i = h & (env->nslots - 1);
		while (env->slots[i])
			i = (i + 1) & (env->nslots - 1);
		env->slots[i] = env->n;
	}
}

void df_env_set_kv(struct df_env *env, const char *kv)
{
	const char *eq = strchr(kv, '=');
	if (!eq) {
		df_env_set(env, kv, "");
		return;
	}
	_cleanup_free_ char *key = xstrndup(kv, (size_t)(eq - kv));
	df_env_set(env, key, eq + 1);
}

const char *df_env_get(const struct df_env *env, const char *name)
{
	if (!env || !env->n)
		return NULL;
	if (!env->windows) {
		ssize_t at = env_find(env, name, fnv1a(name));
		return at < 0 ? NULL : env->v[at].value;
	}
	_cleanup_free_ char *norm = env_norm(env, name);
	ssize_t at = env_find(env, norm, fnv1a(norm));
	return at < 0 ? NULL : env->v[at].value;
}

size_t df_env_count(const struct df_env *env)
{
	return env ? env->n : 0;
}

const char *df_env_key(const struct df_env *env, size_t i)
{
	return env && i < env->n ? env->v[i].key : NULL;
}

const char *df_env_value(const struct df_env *env, size_t i)
{
	return env && i < env->n ? env->v[i].value : NULL;
}

/* ---- name sets -------------------------------------------------------- */

static bool set_find(char *const *v, size_t n, const char *name, size_t *pos)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v[mid], name);
		if (c == 0) {
			*pos = mid;
			return true;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return false;
}

static void set_add(char ***v, size_t *n, size_t *cap, const char *name)
{
	size_t pos;
	if (set_find(*v, *n, name, &pos))
		return;
	XGROW(*v, *n + 1, *cap);
	memmove(*v + pos + 1, *v + pos, (*n - pos) * sizeof(**v));
	(*v)[pos] = xstrdup(name);
	(*n)++;
}

void df_shell_vars_release(struct df_shell_vars *vars)
{
	if (!vars)
		return;
	for (size_t i = 0; i < vars->nmatched; i++)
		free(vars->matched[i]);
	for (size_t i = 0; i < vars->nunmatched; i++)
		free(vars->unmatched[i]);
	free(vars->matched);
	free(vars->unmatched);
	memset(vars, 0, sizeof(*vars));
}

bool df_shell_vars_has_matched(const struct df_shell_vars *vars, const char *name)
{
	size_t pos;
	return vars && set_find(vars->matched, vars->nmatched, name, &pos);
}

bool df_shell_vars_has_unmatched(const struct df_shell_vars *vars, const char *name)
{
	size_t pos;
	return vars && set_find(vars->unmatched, vars->nunmatched, name, &pos);
}

/* ---- lexer state ------------------------------------------------------ */

struct sh {
	const struct df_lexer *lex;
	const struct df_env *env;
	const char *src;          /* sanitized input */
	size_t len, pos;
	uint32_t escape;
	bool raw_escapes;
	int depth;
	struct df_shell_vars *vars;
	struct uclass uc;
	struct berr *err;         /* reason; wrapped with the input at the top */
};

/* Word splitting state of one processing level (wordsStruct). */
struct words {
	struct bbuf buf;
	char **v;
	size_t n, cap;
	bool in_word;
};

static int sh_peek(const struct sh *s)
{
	if (s->pos >= s->len)
		return SH_EOF;
	uint32_t cp;
	df_utf8_decode((const char *)s->src + s->pos, s->len - s->pos, &cp);
	return (int)cp;
}

static int sh_next(struct sh *s)
{
	if (s->pos >= s->len)
		return SH_EOF;
	uint32_t cp;
	s->pos += df_utf8_decode((const char *)s->src + s->pos, s->len - s->pos, &cp);
	return (int)cp;
}

static int out_add(struct sh *s, struct bbuf *b, const char *p, size_t n)
{
	if (n > DF_SHELL_MAX_OUTPUT || b->len > DF_SHELL_MAX_OUTPUT - n)
		return berr_set(&s->err, BERR_LIMIT,
				"expanded text exceeds the limit of %u bytes", DF_SHELL_MAX_OUTPUT);
	bbuf_add(b, p, n, NULL);
	return 0;
}

static int out_addf(struct sh *s, struct bbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int out_addf(struct sh *s, struct bbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *t = xvasprintf(fmt, ap);
	va_end(ap);
	return out_add(s, b, t, strlen(t));
}

static int out_rune(struct sh *s, struct bbuf *b, int ch)
{
	char tmp[4];
	size_t n = utf8_encode(tmp, ch < 0 ? RUNE_ERROR : (uint32_t)ch);
	return out_add(s, b, tmp, n);
}

static void words_push(struct words *w)
{
	XGROW(w->v, w->n + 2, w->cap);
	w->v[w->n++] = bbuf_detach(&w->buf, NULL);
	w->v[w->n] = NULL;
	w->in_word = false;
}

static int words_raw_rune(struct sh *s, struct words *w, int ch)
{
	w->in_word = true;
	return out_rune(s, &w->buf, ch);
}

static int words_rune(struct sh *s, struct words *w, int ch)
{
	if (is_space((uint32_t)ch)) {
		if (w->in_word && w->buf.len)
			words_push(w);
		return 0;
	}
	return words_raw_rune(s, w, ch);
}

/* addString: an expansion result splits on whitespace (invalid UTF-8 in a
 * value becomes U+FFFD here, as Go's range loop does). */
static int words_string(struct sh *s, struct words *w, const char *str, size_t len)
{
	const unsigned char *p = (const unsigned char *)str;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		i += df_utf8_decode((const char *)p + i, len - i, &cp);
		if (words_rune(s, w, (int)cp) < 0)
			return -1;
	}
	return 0;
}

static int words_raw_string(struct sh *s, struct words *w, const char *str, size_t len)
{
	w->in_word = true;
	return out_add(s, &w->buf, str, len);
}

static void words_release(struct words *w)
{
	bbuf_release(&w->buf);
	df_shell_strv_free(w->v);
	w->v = NULL;
	w->n = w->cap = 0;
}

static void lookup(struct sh *s, const char *name, const char **value)
{
	*value = df_env_get(s->env, name);
	if (!s->vars)
		return;
	if (*value)
		set_add(&s->vars->matched, &s->vars->nmatched, &s->vars->cap_matched, name);
	else
		set_add(&s->vars->unmatched, &s->vars->nunmatched, &s->vars->cap_unmatched, name);
}

static int process_stop_on(struct sh *s, int stop, bool raw_escapes, struct bbuf *result,
			   struct words *w);
static int process_dollar(struct sh *s, struct bbuf *out);

/* ---- quotes ----------------------------------------------------------- */

static int process_single_quote(struct sh *s, struct bbuf *out)
{
	int ch = sh_next(s);
	if (s->lex->raw_quotes && out_rune(s, out, ch) < 0)
		return -1;
	for (;;) {
		ch = sh_next(s);
		if (ch == SH_EOF)
			return berr_set(&s->err, BERR_INPUT,
					"unexpected end of statement while looking for matching single-quote");
		if (ch == '\'') {
			if (s->lex->raw_quotes)
				return out_rune(s, out, ch);
			return 0;
		}
		if (out_rune(s, out, ch) < 0)
			return -1;
	}
}

static int process_double_quote(struct sh *s, struct bbuf *out)
{
	int ch = sh_next(s);
	if (s->lex->raw_quotes && out_rune(s, out, ch) < 0)
		return -1;
	for (;;) {
		int pk = sh_peek(s);
		if (pk == SH_EOF)
			return berr_set(&s->err, BERR_INPUT,
					"unexpected end of statement while looking for matching double-quote");
		if (pk == '"') {
			ch = sh_next(s);
			if (s->lex->raw_quotes)
				return out_rune(s, out, ch);
			return 0;
		}
		if (pk == '$') {
			if (process_dollar(s, out) < 0)
				return -1;
			continue;
		}
		ch = sh_next(s);
		if ((uint32_t)ch == s->escape) {
			if (s->raw_escapes && out_rune(s, out, ch) < 0)
				return -1;
			pk = sh_peek(s);
			if (pk == SH_EOF)
				continue; /* the loop then reports the missing quote */
			/* only ", $ and the escape itself can be escaped; before any
			 * other character the escape stays literal */
			if (pk == '"' || pk == '$' || (uint32_t)pk == s->escape)
				ch = sh_next(s);
		}
		if (out_rune(s, out, ch) < 0)
			return -1;
	}
}

/* ---- names ------------------------------------------------------------ */

static bool is_special_param(int ch)
{
	return ch == '@' || ch == '*' || ch == '#' || ch == '?' || ch == '-' ||
	       ch == '$' || ch == '!' || ch == '0';
}

/* processName: a run of digits (positional), one special parameter, or a
 * run of letters, digits and '_'. Empty when none of these follows. */
static void process_name(struct sh *s, struct bbuf *name)
{
	int ch = sh_peek(s);
	if (ch == SH_EOF)
		return;
	if (uclass_test(&s->uc, UC_DIGIT, (uint32_t)ch)) {
		while ((ch = sh_peek(s)) != SH_EOF && uclass_test(&s->uc, UC_DIGIT, (uint32_t)ch))
			out_rune(s, name, sh_next(s));
		return;
	}
	if (is_special_param(ch)) {
		out_rune(s, name, sh_next(s));
		return;
	}
	while ((ch = sh_peek(s)) != SH_EOF &&
	       (ch == '_' || uclass_test(&s->uc, UC_LETTER, (uint32_t)ch) ||
		uclass_test(&s->uc, UC_DIGIT, (uint32_t)ch)))
		out_rune(s, name, sh_next(s));
}

/* ---- patterns --------------------------------------------------------- */

/* convertShellPatternToRegex: '*' -> .* (greedy) or .*? , '?' -> . ,
 * backslash escapes only * ? \ (and is dropped before } and /), regexp
 * metacharacters are quoted, no [...] classes. The pattern is rescanned as
 * runes (invalid bytes -> U+FFFD, leading BOM dropped). */
static int pattern_to_regex(struct sh *s, const char *pat, size_t plen, bool greedy,
			    bool anchored, struct bbuf *re)
{
	size_t len;
	_cleanup_free_ char *p = utf8_sanitize(pat, plen, true, &len);
	struct sh ps = { .src = p, .len = len };
	if (anchored)
		bbuf_addch(re, '^', NULL);
	for (int tok = sh_next(&ps); tok != SH_EOF; tok = sh_next(&ps)) {
		switch (tok) {
		case '*':
			bbuf_addstr(re, greedy ? ".*" : ".*?", NULL);
			continue;
		case '?':
			bbuf_addch(re, '.', NULL);
			continue;
		case '\\':
			if (sh_peek(&ps) == '}' || sh_peek(&ps) == '/')
				continue;
			bbuf_addch(re, '\\', NULL);
			tok = sh_next(&ps);
			if (tok != '*' && tok != '?' && tok != '\\') {
				char r[5] = { 0 };
				utf8_encode(r, tok < 0 ? RUNE_ERROR : (uint32_t)tok);
				return berr_set(&s->err, BERR_INPUT,
						"invalid pattern (%.*s) in substitution: invalid escape '\\%s'",
						(int)plen, pat, r);
			}
			break;
		case '[': case ']': case '{': case '}': case '.': case '+':
		case '(': case ')': case '|': case '^': case '$':
			bbuf_addch(re, '\\', NULL);
			break;
		}
		char r[4];
		bbuf_add(re, r, utf8_encode(r, (uint32_t)tok), NULL);
	}
	return 0;
}

struct matcher {
	pcre2_code *code;
	pcre2_match_data *md;
	pcre2_match_context *mctx;
};

static void matcher_release(struct matcher *m)
{
	pcre2_code_free(m->code);
	pcre2_match_data_free(m->md);
	pcre2_match_context_free(m->mctx);
}

static int matcher_init(struct sh *s, struct matcher *m, const char *pat, size_t plen,
			bool greedy, bool anchored)
{
	_cleanup_bbuf_ struct bbuf re = BBUF_INIT;
	if (pattern_to_regex(s, pat, plen, greedy, anchored, &re) < 0)
		return -1;
	pcre2_compile_context *cctx = pcre2_compile_context_create(NULL);
	/* Go's '.' matches anything but '\n' */
	pcre2_set_newline(cctx, PCRE2_NEWLINE_LF);
	int ec;
	PCRE2_SIZE eo;
	m->code = pcre2_compile((PCRE2_SPTR)bbuf_str(&re), re.len, PCRE2_UTF | PCRE2_NO_UTF_CHECK,
				&ec, &eo, cctx);
	pcre2_compile_context_free(cctx);
	if (!m->code) {
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(ec, msg, sizeof(msg));
		return berr_set(&s->err, BERR_INPUT, "invalid pattern (%.*s) in substitution: %s",
				(int)plen, pat, (const char *)msg);
	}
	m->md = pcre2_match_data_create_from_pattern(m->code, NULL);
	m->mctx = pcre2_match_context_create(NULL);
	pcre2_set_match_limit(m->mctx, DF_SHELL_MATCH_LIMIT);
	return 0;
}

/* 1 with [*so, *eo) on a match, 0 on none, -1 on error. */
static int matcher_find(struct sh *s, struct matcher *m, const char *subj, size_t len,
			size_t start, size_t *so, size_t *eo)
{
	int rc = pcre2_match(m->code, (PCRE2_SPTR)subj, len, start, PCRE2_NO_UTF_CHECK,
			     m->md, m->mctx);
	if (rc == PCRE2_ERROR_NOMATCH)
		return 0;
	if (rc < 0) {
		if (rc == PCRE2_ERROR_MATCHLIMIT)
			return berr_set(&s->err, BERR_LIMIT,
					"pattern too complex to match (limit %u steps)",
					DF_SHELL_MATCH_LIMIT);
		PCRE2_UCHAR msg[256];
		pcre2_get_error_message(rc, msg, sizeof(msg));
		return berr_set(&s->err, BERR_INPUT, "pattern match failed: %s", (const char *)msg);
	}
	PCRE2_SIZE *ov = pcre2_get_ovector_pointer(m->md);
	*so = ov[0];
	*eo = ov[1];
	return 1;
}

/* Reverses the runes of a valid UTF-8 string. */
static char *reverse_runes(const char *str, size_t len)
{
	char *out = xmalloc(len + 1);
	const unsigned char *p = (const unsigned char *)str;
	size_t o = len;
	for (size_t i = 0; i < len;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)p + i, len - i, &cp);
		o -= w;
		memcpy(out + o, str + i, w);
		i += w;
	}
	out[len] = '\0';
	return out;
}

/* reversePattern: reverse runes but keep "\x" pairs in order. */
static char *reverse_pattern(const char *pat, size_t len)
{
	size_t slen;
	_cleanup_free_ char *p = utf8_sanitize(pat, len, false, &slen);
	char *out = xmalloc(slen + 1);
	const unsigned char *u = (const unsigned char *)p;
	size_t o = slen;
	for (size_t i = 0; i < slen;) {
		uint32_t cp;
		size_t w = df_utf8_decode((const char *)u + i, slen - i, &cp);
		if (cp == '\\' && i + w < slen) {
			uint32_t cp2;
			w += df_utf8_decode((const char *)u + i + 1, slen - i - 1, &cp2);
		}
		o -= w;
		memcpy(out + o, p + i, w);
		i += w;
	}
	out[slen] = '\0';
	return out;
}

/* ${VAR#pat} / ${VAR##pat}: drop the shortest/longest matching prefix. */
static int trim_prefix(struct sh *s, const char *pat, size_t plen, const char *value,
		       bool greedy, struct bbuf *out)
{
	struct matcher m = { 0 };
	struct subject sj;
	subject_init(&sj, value);
	int rc = matcher_init(s, &m, pat, plen, greedy, true);
	size_t so = 0, eo = 0;
	if (rc == 0)
		rc = matcher_find(s, &m, sj.text, sj.len, 0, &so, &eo);
	if (rc >= 0) {
		size_t cut = rc ? subject_orig(&sj, eo) : 0;
		rc = out_add(s, out, value + cut, sj.rawlen - cut);
	}
	matcher_release(&m);
	subject_release(&sj);
	return rc < 0 ? -1 : 0;
}

/* ${VAR%pat} / ${VAR%%pat}: as BuildKit, match a reversed pattern against
 * the reversed value (regexps find leftmost matches only). The value's runes
 * are reversed twice, so invalid bytes come out as U+FFFD, as in Go. */
static int trim_suffix(struct sh *s, const char *pat, size_t plen, const char *value,
		       bool greedy, struct bbuf *out)
{
	size_t vlen;
	_cleanup_free_ char *clean = utf8_sanitize(value, strlen(value), false, &vlen);
	_cleanup_free_ char *rpat = reverse_pattern(pat, plen);
	_cleanup_free_ char *rval = reverse_runes(clean, vlen);
	_cleanup_bbuf_ struct bbuf tmp = BBUF_INIT;
	/* error messages name the pattern as BuildKit does: reversed */
	if (trim_prefix(s, rpat, strlen(rpat), rval, greedy, &tmp) < 0)
		return -1;
	_cleanup_free_ char *res = reverse_runes(bbuf_str(&tmp), tmp.len);
	return out_add(s, out, res, tmp.len);
}

/* Go regexp.Expand of a replacement template for a match without groups:
 * $$ is '$', $0 / ${0} the whole match, any other $name or ${name} is empty,
 * a '$' not followed by a name stays literal. */
static int expand_template(struct sh *s, struct bbuf *out, const char *tpl, const char *src,
			   size_t so, size_t eo)
{
	const unsigned char *u = (const unsigned char *)tpl;
	size_t len = strlen(tpl);
	size_t i = 0;
	while (i < len) {
		const char *d = memchr(tpl + i, '$', len - i);
		if (!d)
			break;
		if (out_add(s, out, tpl + i, (size_t)(d - tpl) - i) < 0)
			return -1;
		i = (size_t)(d - tpl) + 1;
		if (i < len && tpl[i] == '$') {
			if (out_add(s, out, "$", 1) < 0)
				return -1;
			i++;
			continue;
		}
		size_t j = i;
		bool brace = j < len && tpl[j] == '{';
		if (brace)
			j++;
		size_t ns = j;
		while (j < len) {
			uint32_t cp;
			size_t w = df_utf8_decode((const char *)u + j, len - j, &cp);
			if (cp != '_' && !uclass_test(&s->uc, UC_LETTER, cp) &&
			    !uclass_test(&s->uc, UC_DIGIT, cp))
				break;
			j += w;
		}
		size_t ne = j;
		bool ok = ne > ns && (!brace || (j < len && tpl[j] == '}'));
		if (!ok) {
			if (out_add(s, out, "$", 1) < 0)
				return -1;
			continue;
		}
		if (brace)
			j++;
		i = j;
		/* only group 0 exists; "0" is the one number naming it */
		if (ne - ns == 1 && tpl[ns] == '0' && out_add(s, out, src + so, eo - so) < 0)
			return -1;
	}
	return out_add(s, out, tpl + i, len - i);
}

/* ${VAR/pat/repl} (first match, repl literal) and ${VAR//pat/repl} (every
 * match, Go ReplaceAllString: repl is a template, an empty match right after
 * a match is not replaced). Wildcards are greedy. */
static int replace(struct sh *s, const char *pat, const char *value, const char *repl,
		   bool all, struct bbuf *out)
{
	struct matcher m = { 0 };
	struct subject sj;
	subject_init(&sj, value);
	size_t vlen = sj.rawlen, so, eo;
	int rc = matcher_init(s, &m, pat, strlen(pat), true, false);
	if (rc < 0)
		goto done;
	if (!all) {
		rc = matcher_find(s, &m, sj.text, sj.len, 0, &so, &eo);
		if (rc < 0)
			goto done;
		if (rc == 0) {
			rc = out_add(s, out, value, vlen);
			goto done;
		}
		so = subject_orig(&sj, so);
		eo = subject_orig(&sj, eo);
		if ((rc = out_add(s, out, value, so)) == 0 &&
		    (rc = out_add(s, out, repl, strlen(repl))) == 0)
			rc = out_add(s, out, value + eo, vlen - eo);
		goto done;
	}
	size_t last = 0, pos = 0; /* offsets in sj.text */
	while (pos <= sj.len) {
		rc = matcher_find(s, &m, sj.text, sj.len, pos, &so, &eo);
		if (rc < 0)
			goto done;
		if (rc == 0)
			break;
		size_t rlast = subject_orig(&sj, last), rso = subject_orig(&sj, so),
		       reo = subject_orig(&sj, eo);
		rc = out_add(s, out, value + rlast, rso - rlast);
		/* no replacement for an empty match right after a match */
		if (rc == 0 && (eo > last || so == 0))
			rc = expand_template(s, out, repl, value, rso, reo);
		if (rc < 0)
			goto done;
		last = eo;
		/* always advance at least one rune */
		size_t w = 0;
		if (pos < sj.len) {
			uint32_t cp;
			w = df_utf8_decode((const char *)sj.text + pos, sj.len - pos, &cp);
		}
		if (pos + w > eo)
			pos += w;
		else if (pos + 1 > eo)
			pos++;
		else
			pos = eo;
	}
	size_t rlast = subject_orig(&sj, last);
	rc = out_add(s, out, value + rlast, vlen - rlast);
done:
	matcher_release(&m);
	subject_release(&sj);
	return rc < 0 ? -1 : 0;
}

/* ---- $ expansion ------------------------------------------------------ */

/* A nested word failed: BuildKit reports a missing delimiter when the input
 * ran out, else passes the nested error on. */
static int nested_error(struct sh *s, const char *missing)
{
	if (sh_peek(s) == SH_EOF && s->err && s->err->code == BERR_INPUT) {
		berr_clear(&s->err);
		return berr_set(&s->err, BERR_INPUT, "%s", missing);
	}
	return -1;
}

static int process_braced(struct sh *s, struct bbuf *out)
{
	int pk = sh_peek(s);
	if (pk == SH_EOF)
		return berr_set(&s->err, BERR_INPUT, "syntax error: missing '}'");
	if (pk == '{' || pk == '}' || pk == ':')
		return berr_set(&s->err, BERR_INPUT, "syntax error: bad substitution");

	_cleanup_bbuf_ struct bbuf name = BBUF_INIT;
	process_name(s, &name);
	const char *nm = bbuf_str(&name);
	int ch = sh_next(s);
	_cleanup_bbuf_ struct bbuf chs = BBUF_INIT;  /* the modifier as written */
	out_rune(s, &chs, ch);
	bool null_is_unset = false;
	const char *value;

	switch (ch) {
	case '}':
		lookup(s, nm, &value);
		if (!value && s->lex->skip_unset_env)
			return out_addf(s, out, "${%s}", nm);
		return out_add(s, out, value ? value : "", value ? strlen(value) : 0);
	case ':':
		null_is_unset = true;
		ch = sh_next(s);
		out_rune(s, &chs, ch);
		/* fall through */
	case '+': case '-': case '?': case '#': case '%': {
		bool raw = ch == '#' || ch == '%';
		if (null_is_unset && raw)
			return berr_set(&s->err, BERR_INPUT,
					"unsupported modifier (%s) in substitution", bbuf_str(&chs));
		_cleanup_bbuf_ struct bbuf word = BBUF_INIT;
		if (process_stop_on(s, '}', raw, &word, NULL) < 0)
			return nested_error(s, "syntax error: missing '}'");
		const char *w = bbuf_str(&word);
		lookup(s, nm, &value);
		if (s->lex->skip_unset_env && !value)
			return out_addf(s, out, "${%s%s%s}", nm, bbuf_str(&chs), w);
		bool empty = !value || (null_is_unset && !*value);
		switch (ch) {
		case '-':
			return empty ? out_add(s, out, w, word.len)
				     : out_add(s, out, value, strlen(value));
		case '+':
			return empty ? 0 : out_add(s, out, w, word.len);
		case '?':
			if (!value)
				return berr_set(&s->err, BERR_INPUT, "%s: %s", nm,
						*w ? w : "is not allowed to be unset");
			if (null_is_unset && !*value)
				return berr_set(&s->err, BERR_INPUT, "%s: %s", nm,
						*w ? w : "is not allowed to be empty");
			return out_add(s, out, value, strlen(value));
		case '#':
		case '%': {
			bool greedy = word.len > 0 && w[0] == ch;
			const char *pat = greedy ? w + 1 : w;
			size_t plen = greedy ? word.len - 1 : word.len;
			if (ch == '%')
				return trim_suffix(s, pat, plen, value ? value : "", greedy, out);
			return trim_prefix(s, pat, plen, value ? value : "", greedy, out);
		}
		default:
			return berr_set(&s->err, BERR_INPUT,
					"unsupported modifier (%s) in substitution", bbuf_str(&chs));
		}
	}
	case '/': {
		bool all = sh_peek(s) == '/';
		if (all)
			sh_next(s);
		_cleanup_bbuf_ struct bbuf pat = BBUF_INIT, repl = BBUF_INIT;
		if (process_stop_on(s, '/', true, &pat, NULL) < 0)
			return nested_error(s, "syntax error: missing '/' in ${}");
		if (process_stop_on(s, '}', true, &repl, NULL) < 0)
			return nested_error(s, "syntax error: missing '}'");
		lookup(s, nm, &value);
		if (s->lex->skip_unset_env && !value)
			return out_addf(s, out, "${%s/%s/%s}", nm, bbuf_str(&pat),
					 bbuf_str(&repl));
		return replace(s, bbuf_str(&pat), value ? value : "", bbuf_str(&repl), all, out);
	}
	case SH_EOF:
		/* BuildKit says "unsupported modifier (\uFFFD)" here; name the
		 * real problem instead */
		return berr_set(&s->err, BERR_INPUT, "syntax error: missing '}'");
	default:
		return berr_set(&s->err, BERR_INPUT, "unsupported modifier (%s) in substitution",
				bbuf_str(&chs));
	}
}

static int process_dollar(struct sh *s, struct bbuf *out)
{
	sh_next(s); /* '$' */
	if (sh_peek(s) != '{') {
		_cleanup_bbuf_ struct bbuf name = BBUF_INIT;
		process_name(s, &name);
		if (!name.len)
			return out_add(s, out, "$", 1);
		const char *value;
		lookup(s, bbuf_str(&name), &value);
		if (!value && s->lex->skip_unset_env)
			return out_add(s, out, "$", 1) < 0 ? -1 : out_add(s, out, name.data, name.len);
		return value ? out_add(s, out, value, strlen(value)) : 0;
	}
	sh_next(s); /* '{' */
	if (s->depth >= DF_SHELL_MAX_DEPTH)
		return berr_set(&s->err, BERR_LIMIT,
				"variable expansions nested deeper than %d levels", DF_SHELL_MAX_DEPTH);
	s->depth++;
	int rc = process_braced(s, out);
	s->depth--;
	return rc < 0 ? -1 : 0;
}

/* processStopOn: one level of a word, up to stop (a char) or the end. */
static int process_stop_on(struct sh *s, int stop, bool raw_escapes, struct bbuf *result,
			   struct words *w)
{
	bool saved = s->raw_escapes;
	int rc = -1;
	s->raw_escapes = raw_escapes;
	int ch;
	while ((ch = sh_peek(s)) != SH_EOF) {
		if (stop != SH_EOF && ch == stop) {
			sh_next(s);
			rc = 0;
			goto out;
		}
		bool quote = !s->lex->skip_process_quotes && (ch == '\'' || ch == '"');
		if (ch == '$' || quote) {
			_cleanup_bbuf_ struct bbuf tmp = BBUF_INIT;
			int r = ch == '$' ? process_dollar(s, &tmp)
				: ch == '\'' ? process_single_quote(s, &tmp)
				: process_double_quote(s, &tmp);
			if (r < 0 || out_add(s, result, bbuf_str(&tmp), tmp.len) < 0)
				goto out;
			if (w && (ch == '$' ? words_string(s, w, bbuf_str(&tmp), tmp.len)
				  : words_raw_string(s, w, bbuf_str(&tmp), tmp.len)) < 0)
				goto out;
			continue;
		}
		ch = sh_next(s);
		if ((uint32_t)ch == s->escape) {
			if (s->raw_escapes) {
				if ((w && words_raw_rune(s, w, ch) < 0) || out_rune(s, result, ch) < 0)
					goto out;
			}
			/* the escape makes the next char literal; at the end it is dropped */
			ch = sh_next(s);
			if (ch == SH_EOF)
				break;
			if (w && words_raw_rune(s, w, ch) < 0)
				goto out;
		} else if (w && words_rune(s, w, ch) < 0) {
			goto out;
		}
		if (out_rune(s, result, ch) < 0)
			goto out;
	}
	if (stop != SH_EOF) {
		berr_set(&s->err, BERR_INPUT,
			 "unexpected end of statement while looking for matching %c", stop);
		goto out;
	}
	rc = 0;
out:
	s->raw_escapes = saved;
	return rc;
}

/* ---- entry points ----------------------------------------------------- */

void df_shell_strv_free(char **v)
{
	if (!v)
		return;
	for (char **p = v; *p; p++)
		free(*p);
	free(v);
}

void df_shell_result_release(struct df_shell_result *res)
{
	if (!res)
		return;
	free(res->word);
	df_shell_strv_free(res->words);
	df_shell_vars_release(&res->vars);
	memset(res, 0, sizeof(*res));
}

/* Runs the lexer over input. vars may be NULL; words may be NULL when the
 * caller needs only the single word. */
static int run(const struct df_lexer *lex, const char *input, const struct df_env *env,
	       struct df_shell_vars *vars, char **word_out, struct words *words,
	       struct berr **err)
{
	size_t ilen = strlen(input);
	if (ilen > DF_SHELL_MAX_INPUT)
		return berr_set(err, BERR_LIMIT, "word of %zu bytes exceeds the limit of %u bytes",
				ilen, DF_SHELL_MAX_INPUT);
	struct sh s = {
		.lex = lex,
		.env = env,
		.escape = (unsigned char)(lex->escape ? lex->escape : '\\'),
		.raw_escapes = lex->raw_escapes,
		.vars = vars,
	};
	size_t len;
	_cleanup_free_ char *src = utf8_sanitize(input, ilen, true, &len);
	s.src = src;
	s.len = len;
	_cleanup_bbuf_ struct bbuf result = BBUF_INIT;
	int rc = process_stop_on(&s, SH_EOF, lex->raw_escapes, &result, words);
	if (rc < 0) {
		_cleanup_bbuf_ struct bbuf q = BBUF_INIT;
		go_quote(&q, &s.uc, input, ilen, DF_SHELL_ERR_QUOTE_MAX);
		if (!s.err)
			berr_set(&s.err, BERR_INTERNAL, "shell lexer failed without a reason");
		berr_wrap(&s.err, "failed to process %s", bbuf_str(&q));
		if (err && !*err)
			*err = berr_steal(&s.err);
		berr_free(s.err);
	} else {
		if (words && words->buf.len)
			words_push(words);
		if (word_out)
			*word_out = bbuf_detach(&result, NULL);
	}
	uclass_release(&s.uc);
	return rc;
}

static char **words_take(struct words *w, size_t *n)
{
	if (!w->v) {
		w->v = xcalloc(1, sizeof(*w->v));
		w->n = 0;
	}
	char **v = w->v;
	if (n)
		*n = w->n;
	w->v = NULL;
	w->n = w->cap = 0;
	return v;
}

int df_shell_process(const struct df_lexer *lex, const char *input, const struct df_env *env,
		     struct df_shell_result *res, struct berr **err)
{
	memset(res, 0, sizeof(*res));
	struct words w = { .buf = BBUF_INIT };
	if (run(lex, input, env, &res->vars, &res->word, &w, err) < 0) {
		words_release(&w);
		df_shell_result_release(res);
		return -1;
	}
	res->words = words_take(&w, &res->nwords);
	words_release(&w);
	return 0;
}

char *df_shell_process_word(const struct df_lexer *lex, const char *word,
			    const struct df_env *env, struct df_shell_vars *vars,
			    struct berr **err)
{
	char *out = NULL;
	if (run(lex, word, env, vars, &out, NULL, err) < 0)
		return NULL;
	return out;
}

char **df_shell_process_words(const struct df_lexer *lex, const char *word,
			      const struct df_env *env, size_t *nwords, struct berr **err)
{
	struct words w = { .buf = BBUF_INIT };
	if (run(lex, word, env, NULL, NULL, &w, err) < 0) {
		words_release(&w);
		return NULL;
	}
	char **v = words_take(&w, nwords);
	words_release(&w);
	return v;
}
