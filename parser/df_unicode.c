/* Go-compatible Unicode helpers for the Dockerfile parser. Owner: parser. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_unicode.h"
#include "common/common.h"

struct df_urange { uint32_t lo, hi; };
struct df_upair { uint32_t from, to; };
#include "parser/df_unicode_tables.h"

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

size_t df_utf8_decode(const char *str, size_t n, uint32_t *r)
{
	const unsigned char *s = (const unsigned char *)str;
	unsigned char c = s[0];
	if (c < 0x80) {
		*r = c;
		return 1;
	}
	/* Accept exactly what Go accepts: no overlongs, no surrogates, <= U+10FFFF. */
	size_t need;
	uint32_t v;
	unsigned char lo = 0x80, hi = 0xBF;
	if (c >= 0xC2 && c <= 0xDF) {
		need = 1;
		v = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		need = 2;
		v = c & 0x0F;
		if (c == 0xE0)
			lo = 0xA0;
		else if (c == 0xED)
			hi = 0x9F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		need = 3;
		v = c & 0x07;
		if (c == 0xF0)
			lo = 0x90;
		else if (c == 0xF4)
			hi = 0x8F;
	} else {
		*r = DF_RUNE_ERROR;
		return 1;
	}
	if (n < need + 1) {
		*r = DF_RUNE_ERROR;
		return 1;
	}
	for (size_t i = 1; i <= need; i++) {
		unsigned char b = s[i];
		unsigned char l = i == 1 ? lo : 0x80, h = i == 1 ? hi : 0xBF;
		if (b < l || b > h) {
			*r = DF_RUNE_ERROR;
			return 1;
		}
		v = (v << 6) | (b & 0x3F);
	}
	*r = v;
	return need + 1;
}

size_t df_utf8_encode(uint32_t r, char out[4])
{
	if ((r >= 0xD800 && r <= 0xDFFF) || r > 0x10FFFF)
		r = DF_RUNE_ERROR;
	if (r < 0x80) {
		out[0] = (char)r;
		return 1;
	}
	if (r < 0x800) {
		out[0] = (char)(0xC0 | (r >> 6));
		out[1] = (char)(0x80 | (r & 0x3F));
		return 2;
	}
	if (r < 0x10000) {
		out[0] = (char)(0xE0 | (r >> 12));
		out[1] = (char)(0x80 | ((r >> 6) & 0x3F));
		out[2] = (char)(0x80 | (r & 0x3F));
		return 3;
	}
	out[0] = (char)(0xF0 | (r >> 18));
	out[1] = (char)(0x80 | ((r >> 12) & 0x3F));
	out[2] = (char)(0x80 | ((r >> 6) & 0x3F));
	out[3] = (char)(0x80 | (r & 0x3F));
	return 4;
}

static bool in_ranges(const struct df_urange *t, size_t n, uint32_t r)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r < t[mid].lo)
			hi = mid;
		else if (r > t[mid].hi)
			lo = mid + 1;
		else
			return true;
	}
	return false;
}

bool df_uni_isspace(uint32_t r)
{
	switch (r) {
	case '\t': case '\n': case '\v': case '\f': case '\r': case ' ':
	case 0x85: case 0xA0: case 0x1680: case 0x2028: case 0x2029:
	case 0x202F: case 0x205F: case 0x3000:
		return true;
	}
	return r >= 0x2000 && r <= 0x200A;
}

bool df_uni_isprint(uint32_t r)
{
	if (r < 0x80)
		return r >= 0x20 && r < 0x7F;
	return in_ranges(df_print_ranges, NELEM(df_print_ranges), r);
}

bool df_uni_isletter(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z');
	return in_ranges(df_letter_ranges, NELEM(df_letter_ranges), r);
}

bool df_uni_isdigit(uint32_t r)
{
	if (r < 0x80)
		return r >= '0' && r <= '9';
	return in_ranges(df_digit_ranges, NELEM(df_digit_ranges), r);
}

uint32_t df_uni_tolower(uint32_t r)
{
	if (r < 0x80)
		return (r >= 'A' && r <= 'Z') ? r + 32 : r;
	size_t lo = 0, hi = NELEM(df_lower_pairs);
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (r < df_lower_pairs[mid].from)
			hi = mid;
		else if (r > df_lower_pairs[mid].from)
			lo = mid + 1;
		else
			return df_lower_pairs[mid].to;
	}
	return r;
}

size_t df_uni_space_prefix(const char *s, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t r;
		size_t w = df_utf8_decode(s + i, n - i, &r);
		if (!df_uni_isspace(r))
			break;
		i += w;
	}
	return i;
}

size_t df_uni_trim_right(const char *s, size_t n)
{
	/* Walk forward (UTF-8 cannot be decoded backwards reliably for invalid
	 * input) and remember where the last non-space rune ended. */
	size_t i = 0, end = 0;
	while (i < n) {
		uint32_t r;
		size_t w = df_utf8_decode(s + i, n - i, &r);
		i += w;
		if (!df_uni_isspace(r))
			end = i;
	}
	return end;
}

char *df_uni_lower(const char *s, size_t n)
{
	bool ascii = true;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] >= 0x80)
			ascii = false;
	char *out = xmalloc(n * 3 + 1); /* an invalid byte grows to 3 */
	size_t o = 0;
	if (ascii) {
		for (size_t i = 0; i < n; i++)
			out[o++] = (char)df_uni_tolower((unsigned char)s[i]);
	} else {
		for (size_t i = 0; i < n;) {
			uint32_t r;
			size_t w = df_utf8_decode(s + i, n - i, &r);
			i += w;
			o += df_utf8_encode(df_uni_tolower(r), out + o);
		}
	}
	out[o] = '\0';
	return out;
}
