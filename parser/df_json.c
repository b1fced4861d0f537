/* Go encoding/json compatible validation and string decoding for exec-form
 * arrays. Owner: parser. Iterative (explicit depth counter) so hostile
 * nesting cannot exhaust the C stack. */
#include <math.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_json.h"
#include "parser/df_unicode.h"
#include "common/common.h"

struct jcur {
	const char *s;
	size_t n, i;
	/* a number that overflows float64: Go's Unmarshal into interface{}
	 * then fails with a type error, so the line is shell form */
	bool overflow;
};

static void skip_ws(struct jcur *c)
{
	while (c->i < c->n) {
		char ch = c->s[c->i];
		if (ch != ' ' && ch != '\t' && ch != '\n' && ch != '\r')
			break;
		c->i++;
	}
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Reads 4 hex digits at p (bounds checked by the caller); -1 if not hex. */
static int32_t get_u4(const char *p, size_t avail)
{
	if (avail < 4)
		return -1;
	int32_t v = 0;
	for (int k = 0; k < 4; k++) {
		int h = hexval(p[k]);
		if (h < 0)
			return -1;
		v = v * 16 + h;
	}
	return v;
}

/* Parse a string starting at the opening quote. With out != NULL, decode
 * into it (Go semantics: invalid UTF-8 and lone surrogates -> U+FFFD). */
static bool parse_string(struct jcur *c, struct bbuf *out)
{
	c->i++; /* opening quote */
	while (c->i < c->n) {
		unsigned char ch = (unsigned char)c->s[c->i];
		if (ch == '"') {
			c->i++;
			return true;
		}
		if (ch < 0x20)
			return false;
		if (ch == '\\') {
			if (c->i + 1 >= c->n)
				return false;
			char e = c->s[c->i + 1];
			const char *rep = NULL;
			switch (e) {
			case '"': rep = "\""; break;
			case '\\': rep = "\\"; break;
			case '/': rep = "/"; break;
			case 'b': rep = "\b"; break;
			case 'f': rep = "\f"; break;
			case 'n': rep = "\n"; break;
			case 'r': rep = "\r"; break;
			case 't': rep = "\t"; break;
			case 'u': {
				int32_t r = get_u4(c->s + c->i + 2, c->n - c->i - 2);
				if (r < 0)
					return false;
				c->i += 6;
				uint32_t rr = (uint32_t)r;
				if (rr >= 0xD800 && rr <= 0xDFFF) {
					/* a high surrogate followed by \uDC00-\uDFFF combines */
					int32_t r2 = -1;
					if (rr < 0xDC00 && c->i + 1 < c->n && c->s[c->i] == '\\' &&
					    c->s[c->i + 1] == 'u')
						r2 = get_u4(c->s + c->i + 2, c->n - c->i - 2);
					if (r2 >= 0xDC00 && r2 <= 0xDFFF) {
						rr = 0x10000 + ((rr - 0xD800) << 10) + ((uint32_t)r2 - 0xDC00);
						c->i += 6;
					} else {
						rr = DF_RUNE_ERROR;
					}
				}
				if (out) {
					char enc[4];
					size_t w = df_utf8_encode(rr, enc);
					bbuf_add(out, enc, w, NULL);
				}
				continue;
			}
			default:
				return false;
			}
			if (out)
				bbuf_add(out, rep, 1, NULL);
			c->i += 2;
			continue;
		}
		if (ch < 0x80) {
			if (out)
				bbuf_addch(out, (char)ch, NULL);
			c->i++;
			continue;
		}
		uint32_t r;
		size_t w = df_utf8_decode(c->s + c->i, c->n - c->i, &r);
		if (out) {
			if (r == DF_RUNE_ERROR && w == 1)
				bbuf_add(out, "\xEF\xBF\xBD", 3, NULL);
			else
				bbuf_add(out, c->s + c->i, w, NULL);
		}
		c->i += w;
	}
	return false;
}

static bool digit(char ch)
{
	return ch >= '0' && ch <= '9';
}

static bool parse_number_syntax(struct jcur *c);

static bool parse_number(struct jcur *c)
{
	size_t start = c->i;
	if (!parse_number_syntax(c))
		return false;
	_cleanup_free_ char *text = xstrndup(c->s + start, c->i - start);
	if (isinf(strtod(text, NULL)))
		c->overflow = true;
	return true;
}

/* -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)? */
static bool parse_number_syntax(struct jcur *c)
{
	if (c->i < c->n && c->s[c->i] == '-')
		c->i++;
	if (c->i >= c->n)
		return false;
	if (c->s[c->i] == '0') {
		c->i++;
	} else if (digit(c->s[c->i])) {
		while (c->i < c->n && digit(c->s[c->i]))
			c->i++;
	} else {
		return false;
	}
	if (c->i < c->n && c->s[c->i] == '.') {
		c->i++;
		if (c->i >= c->n || !digit(c->s[c->i]))
			return false;
		while (c->i < c->n && digit(c->s[c->i]))
			c->i++;
	}
	if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
		c->i++;
		if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
			c->i++;
		if (c->i >= c->n || !digit(c->s[c->i]))
			return false;
		while (c->i < c->n && digit(c->s[c->i]))
			c->i++;
	}
	return true;
}

static bool parse_literal(struct jcur *c, const char *lit)
{
	size_t l = strlen(lit);
	if (c->n - c->i < l || memcmp(c->s + c->i, lit, l) != 0)
		return false;
	c->i += l;
	return true;
}

/* Validate one value at c (not a string at top level of the array: the
 * caller handles those). depth0 is the nesting depth of the container the
 * value sits in. Containers are tracked in a byte stack: '[' or '{'. */
static bool skip_value(struct jcur *c, size_t depth0)
{
	struct bbuf stack = BBUF_INIT;
	bool ok = false;
	for (;;) {
		/* expect a value */
		skip_ws(c);
		if (c->i >= c->n)
			goto out;
		char ch = c->s[c->i];
		if (ch == '[' || ch == '{') {
			if (depth0 + stack.len + 1 > DF_JSON_MAX_DEPTH)
				goto out;
			bbuf_addch(&stack, ch, NULL);
			c->i++;
			skip_ws(c);
			if (c->i < c->n && c->s[c->i] == (ch == '[' ? ']' : '}')) {
				c->i++;
				stack.len--;
				goto after;
			}
			if (ch == '{')
				goto key;
			continue;
		} else if (ch == '"') {
			if (!parse_string(c, NULL))
				goto out;
		} else if (ch == 't') {
			if (!parse_literal(c, "true"))
				goto out;
		} else if (ch == 'f') {
			if (!parse_literal(c, "false"))
				goto out;
		} else if (ch == 'n') {
			if (!parse_literal(c, "null"))
				goto out;
		} else if (ch == '-' || digit(ch)) {
			if (!parse_number(c))
				goto out;
		} else {
			goto out;
		}
after:
		for (;;) {
			if (stack.len == 0) {
				ok = true;
				goto out;
			}
			skip_ws(c);
			if (c->i >= c->n)
				goto out;
			char top = stack.data[stack.len - 1];
			ch = c->s[c->i++];
			if (ch == ',') {
				if (top == '{')
					goto key;
				break; /* next array value */
			}
			if ((top == '[' && ch == ']') || (top == '{' && ch == '}')) {
				stack.len--;
				continue;
			}
			goto out;
		}
		continue;
key:
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != '"' || !parse_string(c, NULL))
			goto out;
		skip_ws(c);
		if (c->i >= c->n || c->s[c->i] != ':')
			goto out;
		c->i++;
	}
out:
	bbuf_release(&stack);
	return ok;
}

enum df_json_result df_json_string_array(const char *s, size_t n, char ***items,
					 size_t **lens, size_t *count)
{
	struct jcur c = { s, n, 0, false };
	char **v = NULL;
	size_t *l = NULL, nv = 0, cap = 0, lcap = 0;
	bool nonstring = false;
	enum df_json_result res = DF_JSON_INVALID;

	*items = NULL;
	*lens = NULL;
	*count = 0;
	skip_ws(&c);
	if (c.i >= c.n || c.s[c.i] != '[')
		return DF_JSON_INVALID;
	c.i++;
	skip_ws(&c);
	if (c.i < c.n && c.s[c.i] == ']') {
		c.i++;
	} else {
		for (;;) {
			skip_ws(&c);
			if (c.i >= c.n)
				goto fail;
			if (c.s[c.i] == '"') {
				struct bbuf b = BBUF_INIT;
				if (!parse_string(&c, &b)) {
					bbuf_release(&b);
					goto fail;
				}
				size_t blen;
				char *str = bbuf_detach(&b, &blen);
				XGROW(v, nv + 1, cap);
				XGROW(l, nv + 1, lcap);
				v[nv] = str;
				l[nv] = blen;
				nv++;
			} else {
				if (!skip_value(&c, 1))
					goto fail;
				nonstring = true;
			}
			skip_ws(&c);
			if (c.i >= c.n)
				goto fail;
			char ch = c.s[c.i++];
			if (ch == ']')
				break;
			if (ch != ',')
				goto fail;
		}
	}
	skip_ws(&c);
	if (c.i != c.n || c.overflow)
		goto fail;
	if (nonstring) {
		res = DF_JSON_NOT_STRINGS;
		goto fail;
	}
	*items = v;
	*lens = l;
	*count = nv;
	return DF_JSON_STRINGS;
fail:
	for (size_t k = 0; k < nv; k++)
		free(v[k]);
	free(v);
	free(l);
	return res;
}
