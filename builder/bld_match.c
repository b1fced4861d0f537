#include <string.h>

#include "builder/bld_match.h"
#include "common/common.h"
#include "parser/df_unicode.h"

/* One code point as Go's utf8.DecodeRuneInString reads it (an invalid byte
 * is U+FFFD of width 1). */
static unsigned decode(const char *s, size_t *w)
{
	uint32_t cp;
	*w = df_utf8_decode(s, strnlen(s, 4), &cp); /* a rune is at most 4 bytes */
	return cp;
}

/* Splits off the leading star run and the chunk up to the next unescaped,
 * out-of-class '*'. */
static void scan_chunk(const char **pat, bool *star, const char **chunk, size_t *clen)
{
	const char *p = *pat;
	*star = false;
	while (*p == '*') {
		p++;
		*star = true;
	}
	bool inrange = false;
	size_t i = 0;
	for (; p[i]; i++) {
		if (p[i] == '\\') {
			if (p[i + 1])
				i++;
		} else if (p[i] == '[') {
			inrange = true;
		} else if (p[i] == ']') {
			inrange = false;
		} else if (p[i] == '*' && !inrange) {
			break;
		}
	}
	*chunk = p;
	*clen = i;
	*pat = p + i;
}

static int get_esc(const char **chunk, const char *end, unsigned *r)
{
	const char *c = *chunk;
	if (c >= end || *c == '-' || *c == ']')
		return -1;
	if (*c == '\\') {
		c++;
		if (c >= end)
			return -1;
	}
	size_t w;
	*r = decode(c, &w);
	if (*r == 0xFFFD && w == 1)
		return -1; /* invalid UTF-8 inside a class */
	c += w;
	if (c >= end)
		return -1; /* a class must still be closed by ']' */
	*chunk = c;
	return 0;
}

/* Match `chunk` against a prefix of s. Returns 1 and sets *rest on match,
 * 0 on no match, -1 on a bad pattern. Like Go, it keeps scanning a
 * non-matching chunk to the end so that malformed patterns are reported. */
static int match_chunk(const char *chunk, size_t clen, const char *s, const char **rest)
{
	const char *end = chunk + clen;
	bool failed = false;
	while (chunk < end) {
		if (!failed && *s == '\0')
			failed = true;
		switch (*chunk) {
		case '[': {
			unsigned r = 0;
			size_t w = 0;
			if (!failed) {
				r = decode(s, &w);
				s += w;
			}
			chunk++;
			bool negated = false;
			if (chunk < end && *chunk == '^') {
				negated = true;
				chunk++;
			}
			bool match = false;
			int nrange = 0;
			for (;;) {
				if (chunk < end && *chunk == ']' && nrange > 0) {
					chunk++;
					break;
				}
				unsigned lo, hi;
				if (get_esc(&chunk, end, &lo) < 0)
					return -1;
				hi = lo;
				if (chunk < end && *chunk == '-') {
					chunk++;
					if (get_esc(&chunk, end, &hi) < 0)
						return -1;
				}
				if (lo <= r && r <= hi)
					match = true;
				nrange++;
			}
			if (match == negated)
				failed = true;
			break;
		}
		case '?':
			if (!failed) {
				if (*s == '/')
					failed = true;
				size_t w;
				decode(s, &w);
				s += w;
			}
			chunk++;
			break;
		case '\\':
			chunk++;
			if (chunk >= end)
				return -1;
			/* fallthrough */
		default:
			if (!failed) {
				if (*chunk != *s)
					failed = true;
				s++;
			}
			chunk++;
		}
	}
	if (failed)
		return 0;
	*rest = s;
	return 1;
}

int bld_match(const char *pattern, const char *name, struct berr **err)
{
	const char *pat = pattern;
	while (*pat) {
		bool star;
		const char *chunk;
		size_t clen;
		scan_chunk(&pat, &star, &chunk, &clen);
		if (star && clen == 0) {
			/* trailing '*' matches the rest unless it contains '/' */
			return strchr(name, '/') == NULL;
		}
		const char *rest;
		int m = match_chunk(chunk, clen, name, &rest);
		if (m < 0)
			goto bad;
		if (m == 1 && (*rest == '\0' || *pat != '\0')) {
			name = rest;
			continue;
		}
		if (star) {
			bool found = false;
			for (size_t i = 0; name[i] && name[i] != '/'; i++) {
				m = match_chunk(chunk, clen, name + i + 1, &rest);
				if (m < 0)
					goto bad;
				if (m == 1) {
					if (*pat == '\0' && *rest != '\0')
						continue;
					name = rest;
					found = true;
					break;
				}
			}
			if (found)
				continue;
		}
		/* no match: still validate the rest of the pattern, as Go does */
		while (*pat) {
			scan_chunk(&pat, &star, &chunk, &clen);
			if (match_chunk(chunk, clen, "", &rest) < 0)
				goto bad;
		}
		return 0;
	}
	return *name == '\0';
bad:
	return berr_set(err, BERR_INPUT, "syntax error in pattern '%s'", pattern);
}

bool bld_has_wildcard(const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' && s[1])
			s++;
		else if (*s == '*' || *s == '?' || *s == '[')
			return true;
	}
	return false;
}
