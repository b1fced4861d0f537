/* Minimal Dockerfile reader for the rebuild matrix: collects ARG and FROM
 * instructions only. Handles the escape directive, line continuations,
 * comment lines inside continuations and heredoc bodies (skipped), so that
 * none of them is mistaken for an instruction.
 * TODO(df_parse): replace with parser/df_parse() after the parser merges. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "compat/wc_matrix.h"

#define MAX_HEREDOCS 8

void wc_df_release(struct wc_df *df)
{
	for (size_t i = 0; i < df->nargs; i++) {
		free(df->args[i].name);
		free(df->args[i].value);
	}
	free(df->args);
	for (size_t i = 0; i < df->nfroms; i++) {
		free(df->froms[i].image);
		free(df->froms[i].platform);
		free(df->froms[i].alias);
	}
	free(df->froms);
	memset(df, 0, sizeof(*df));
}

/* Split into words: whitespace separates, quotes group (and are removed),
 * the escape character protects the next character. */
static size_t split_words(const char *s, char escape, char **out, size_t max)
{
	size_t n = 0;
	while (*s && n < max) {
		while (isspace((unsigned char)*s))
			s++;
		if (!*s)
			break;
		struct bbuf w = BBUF_INIT;
		char q = 0;
		for (; *s; s++) {
			if (q) {
				if (*s == q)
					q = 0;
				else
					bbuf_addch(&w, *s, NULL);
			} else if (*s == '"' || *s == '\'') {
				q = *s;
			} else if (*s == escape && s[1]) {
				s++;
				/* keep "\$" escaped so expansion leaves the dollar alone */
				if (*s == '$')
					bbuf_addch(&w, escape, NULL);
				bbuf_addch(&w, *s, NULL);
			} else if (isspace((unsigned char)*s)) {
				break;
			} else {
				bbuf_addch(&w, *s, NULL);
			}
		}
		out[n++] = bbuf_detach(&w, NULL);
	}
	return n;
}

static bool valid_name(const char *s)
{
	if (!isalpha((unsigned char)*s) && *s != '_')
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

#define MAX_WORDS 64

static int instruction(struct wc_df *df, const char *line, int lineno, const char *name,
		       struct berr **err)
{
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	const char *kw = p;
	while (*p && !isspace((unsigned char)*p))
		p++;
	size_t kwlen = (size_t)(p - kw);
	bool is_arg = kwlen == 3 && strncasecmp(kw, "ARG", 3) == 0;
	bool is_from = kwlen == 4 && strncasecmp(kw, "FROM", 4) == 0;
	if (!is_arg && !is_from)
		return 0;
	char *w[MAX_WORDS];
	size_t n = split_words(p, df->escape, w, MAX_WORDS);
	int rc = 0;
	if (is_arg) {
		if (n == 0)
			rc = berr_set_at(err, BERR_INPUT, name, lineno, 1, "ARG requires at least one argument");
		for (size_t i = 0; i < n && rc == 0; i++) {
			char *eq = strchr(w[i], '=');
			if (eq)
				*eq = '\0';
			if (!valid_name(w[i])) {
				rc = berr_set_at(err, BERR_INPUT, name, lineno, 1, "invalid ARG name '%s'", w[i]);
				break;
			}
			XGROW(df->args, df->nargs + 1, df->capargs);
			struct wc_df_arg *a = &df->args[df->nargs++];
			a->name = xstrdup(w[i]);
			a->value = eq ? xstrdup(eq + 1) : NULL;
			a->line = lineno;
			a->global = df->nfroms == 0;
		}
	} else {
		size_t i = 0;
		char *platform = NULL;
		for (; i < n && strncmp(w[i], "--", 2) == 0; i++)
			if (strncmp(w[i], "--platform=", 11) == 0) {
				free(platform);
				platform = xstrdup(w[i] + 11);
			}
		if (i >= n) {
			free(platform);
			rc = berr_set_at(err, BERR_INPUT, name, lineno, 1, "FROM requires an image");
		} else if (n - i != 1 && !(n - i == 3 && strcasecmp(w[i + 1], "AS") == 0)) {
			free(platform);
			rc = berr_set_at(err, BERR_INPUT, name, lineno, 1,
					 "FROM takes an image and an optional 'AS name'");
		} else {
			XGROW(df->froms, df->nfroms + 1, df->capfroms);
			struct wc_df_from *f = &df->froms[df->nfroms++];
			f->image = xstrdup(w[i]);
			f->platform = platform;
			f->alias = n - i == 3 ? xstrdup(w[i + 2]) : NULL;
			f->line = lineno;
		}
	}
	for (size_t i = 0; i < n; i++)
		free(w[i]);
	return rc;
}

/* Heredoc delimiters in a RUN/COPY/ADD line: <<WORD, <<-WORD, <<"WORD". */
static size_t heredocs(const char *line, char words[][64], bool *chomp, size_t max)
{
	const char *p = line;
	while (isspace((unsigned char)*p))
		p++;
	if (strncasecmp(p, "RUN", 3) && strncasecmp(p, "COPY", 4) && strncasecmp(p, "ADD", 3))
		return 0;
	size_t n = 0;
	while ((p = strstr(p, "<<")) && n < max) {
		p += 2;
		bool dash = *p == '-';
		if (dash)
			p++;
		char q = (*p == '"' || *p == '\'') ? *p++ : 0;
		size_t k = 0;
		while ((isalnum((unsigned char)p[k]) || p[k] == '_') && k < 63)
			k++;
		if (k == 0 || (q && p[k] != q))
			continue;
		memcpy(words[n], p, k);
		words[n][k] = '\0';
		chomp[n++] = dash;
		p += k;
	}
	return n;
}

int wc_df_scan(const char *text, size_t len, const char *name, struct wc_df *df, struct berr **err)
{
	memset(df, 0, sizeof(*df));
	df->escape = '\\';
	if (len > WC_DF_MAX_SIZE)
		return berr_set(err, BERR_LIMIT, "%s: larger than %u bytes", name, WC_DF_MAX_SIZE);
	if (memchr(text, '\0', len))
		return berr_set(err, BERR_INPUT, "%s: contains NUL bytes", name);
	_cleanup_free_ char *copy = xstrndup(text, len);
	/* physical lines */
	size_t nl = 1;
	for (size_t i = 0; i < len; i++)
		nl += copy[i] == '\n';
	_cleanup_free_ char **lines = xcalloc(nl, sizeof(char *));
	size_t n = 0;
	for (char *p = copy; p; ) {
		char *e = strchr(p, '\n');
		if (e)
			*e = '\0';
		size_t l = strlen(p);
		if (l && p[l - 1] == '\r')
			p[l - 1] = '\0';
		lines[n++] = p;
		p = e ? e + 1 : NULL;
	}
	size_t i = 0;
	/* parser directives: only at the very top */
	for (; i < n; i++) {
		const char *p = lines[i];
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '#')
			break;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		const char *k = p;
		while (isalpha((unsigned char)*p))
			p++;
		size_t kl = (size_t)(p - k);
		while (*p == ' ' || *p == '\t')
			p++;
		if (kl == 0 || *p != '=')
			break;
		p++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (kl == 6 && strncasecmp(k, "escape", 6) == 0) {
			char v[8];
			snprintf(v, sizeof(v), "%s", p);
			for (char *e = v + strlen(v); e > v && isspace((unsigned char)e[-1]);)
				*--e = '\0';
			if (strcmp(v, "\\") && strcmp(v, "`"))
				return berr_set_at(err, BERR_INPUT, name, (int)i + 1, 1,
						   "invalid escape directive '%s' (want \\ or `)", v);
			df->escape = v[0];
		}
	}
	struct bbuf logical = BBUF_INIT;
	logical.limit = WC_DF_MAX_LINE;
	int start = 0;
	int rc = 0;
	for (; i < n && rc == 0; i++) {
		char *p = lines[i];
		const char *t = p;
		while (*t == ' ' || *t == '\t')
			t++;
		if (!*t || *t == '#')
			continue;       /* blank and comment lines, also inside continuations */
		if (!logical.len)
			start = (int)i + 1;
		size_t l = strlen(p);
		while (l && isspace((unsigned char)p[l - 1]))
			l--;
		bool cont = l && p[l - 1] == df->escape;
		if (cont)
			l--;
		if (bbuf_add(&logical, p, l, err) < 0) {
			berr_locate(err, name, start, 1);
			rc = -1;
			break;
		}
		if (cont && i + 1 < n)
			continue;       /* BuildKit joins continuation lines directly */
		rc = instruction(df, bbuf_str(&logical), start, name, err);
		char words[MAX_HEREDOCS][64];
		bool chomp[MAX_HEREDOCS];
		size_t nh = heredocs(bbuf_str(&logical), words, chomp, MAX_HEREDOCS);
		for (size_t h = 0; h < nh; h++) {
			for (i++; i < n; i++) {
				const char *b = lines[i];
				while (chomp[h] && *b == '\t')
					b++;
				if (strcmp(b, words[h]) == 0)
					break;
			}
			if (i >= n) {
				rc = berr_set_at(err, BERR_INPUT, name, start, 1, "unterminated heredoc '%s'",
						 words[h]);
				break;
			}
		}
		bbuf_reset(&logical);
	}
	bbuf_release(&logical);
	if (rc < 0)
		wc_df_release(df);
	return rc;
}

char *wc_df_expand(const char *s, char escape, char *const *names, char *const *values, size_t n)
{
	struct bbuf out = BBUF_INIT;
	for (const char *p = s; *p; p++) {
		if (*p == escape && p[1] == '$') {
			bbuf_addch(&out, '$', NULL);
			p++;
			continue;
		}
		if (*p != '$') {
			bbuf_addch(&out, *p, NULL);
			continue;
		}
		const char *q = p + 1;
		bool brace = *q == '{';
		if (brace)
			q++;
		const char *ns = q;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		size_t nlen = (size_t)(q - ns);
		if (nlen == 0) {
			bbuf_addch(&out, '$', NULL);
			continue;
		}
		const char *val = NULL;
		for (size_t i = 0; i < n; i++)
			if (strlen(names[i]) == nlen && strncmp(names[i], ns, nlen) == 0)
				val = values[i];
		if (brace) {
			const char *close = strchr(q, '}');
			if (!close) {       /* malformed: keep literally */
				bbuf_addch(&out, '$', NULL);
				continue;
			}
			/* modifiers: :-word -word :+word +word */
			bool colon = *q == ':';
			char op = colon ? q[1] : *q;
			const char *word = colon ? q + 2 : q + 1;
			_cleanup_free_ char *w = (op == '-' || op == '+') ? xstrndup(word, (size_t)(close - word)) : NULL;
			bool set = val != NULL, nonempty = val && *val;
			if (op == '-')
				bbuf_addstr(&out, (colon ? nonempty : set) ? val : w, NULL);
			else if (op == '+')
				bbuf_addstr(&out, (colon ? nonempty : set) ? w : "", NULL);
			else if (val)
				bbuf_addstr(&out, val, NULL);
			p = close;
		} else {
			if (val)
				bbuf_addstr(&out, val, NULL);
			p = q - 1;
		}
	}
	return bbuf_detach(&out, NULL);
}
