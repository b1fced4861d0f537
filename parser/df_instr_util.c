/* Go-compatible helpers for the instruction layer: time.ParseDuration and
 * strconv.Quote, so that error texts match BuildKit's byte for byte. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_instr.h"
#include "parser/df_instr_int.h"
#include "parser/df_print.h"
#include "common/common.h"

/* Go strconv.Quote into a new string (the parser's implementation). */
char *df_quote_str(const char *s)
{
	struct bbuf b = BBUF_INIT;
	df_go_quote(&b, s, strlen(s));
	return bbuf_detach(&b, NULL);
}

/* The time package's own quote(): non-ASCII and control bytes as \xHH. */
static char *time_quote(const char *s, size_t len)
{
	struct bbuf b = BBUF_INIT;
	bbuf_addch(&b, '"', NULL);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x80 || c < 0x20) {
			bbuf_addf(&b, NULL, "\\x%02x", c);
			continue;
		}
		if (c == '"' || c == '\\')
			bbuf_addch(&b, '\\', NULL);
		bbuf_addch(&b, (char)c, NULL);
	}
	bbuf_addch(&b, '"', NULL);
	return bbuf_detach(&b, NULL);
}

static int bad_duration(const char *orig, struct berr **err)
{
	_cleanup_free_ char *q = time_quote(orig, strlen(orig));
	return berr_set(err, BERR_INPUT, "time: invalid duration %s", q);
}

static const struct {
	const char *name;
	uint64_t ns;
} duration_units[] = {
	{ "ns", 1ULL },
	{ "us", 1000ULL },
	{ "\xc2\xb5s", 1000ULL }, /* U+00B5 micro sign */
	{ "\xce\xbcs", 1000ULL }, /* U+03BC Greek mu */
	{ "ms", 1000000ULL },
	{ "s", 1000000000ULL },
	{ "m", 60000000000ULL },
	{ "h", 3600000000000ULL },
};

#define DUR_LIMIT (1ULL << 63)

int df_parse_duration(const char *orig, int64_t *out, struct berr **err)
{
	const char *s = orig;
	uint64_t d = 0;
	bool neg = false;
	if (*s == '-' || *s == '+') {
		neg = *s == '-';
		s++;
	}
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	if (!*s)
		return bad_duration(orig, err);
	while (*s) {
		uint64_t v = 0, f = 0;
		double scale = 1.0;
		if (!(*s == '.' || (*s >= '0' && *s <= '9')))
			return bad_duration(orig, err);
		const char *start = s;
		while (*s >= '0' && *s <= '9') {
			if (v > DUR_LIMIT / 10)
				return bad_duration(orig, err);
			v = v * 10 + (uint64_t)(*s - '0');
			if (v > DUR_LIMIT)
				return bad_duration(orig, err);
			s++;
		}
		bool pre = s != start, post = false;
		if (*s == '.') {
			s++;
			const char *fs = s;
			bool overflow = false;
			while (*s >= '0' && *s <= '9') {
				if (!overflow) {
					if (f > (DUR_LIMIT - 1) / 10) {
						overflow = true;
					} else {
						uint64_t y = f * 10 + (uint64_t)(*s - '0');
						if (y > DUR_LIMIT) {
							overflow = true;
						} else {
							f = y;
							scale *= 10;
						}
					}
				}
				s++;
			}
			post = s != fs;
		}
		if (!pre && !post)
			return bad_duration(orig, err);
		const char *us = s;
		while (*s && *s != '.' && !(*s >= '0' && *s <= '9'))
			s++;
		size_t ulen = (size_t)(s - us);
		if (ulen == 0) {
			_cleanup_free_ char *q = time_quote(orig, strlen(orig));
			return berr_set(err, BERR_INPUT, "time: missing unit in duration %s", q);
		}
		uint64_t unit = 0;
		for (size_t i = 0; i < ARRAY_SIZE(duration_units); i++)
			if (strlen(duration_units[i].name) == ulen &&
			    memcmp(duration_units[i].name, us, ulen) == 0)
				unit = duration_units[i].ns;
		if (!unit) {
			_cleanup_free_ char *qu = time_quote(us, ulen);
			_cleanup_free_ char *q = time_quote(orig, strlen(orig));
			return berr_set(err, BERR_INPUT, "time: unknown unit %s in duration %s", qu, q);
		}
		if (v > DUR_LIMIT / unit)
			return bad_duration(orig, err);
		v *= unit;
		if (f > 0) {
			v += (uint64_t)((double)f * ((double)unit / scale));
			if (v > DUR_LIMIT)
				return bad_duration(orig, err);
		}
		d += v;
		if (d > DUR_LIMIT)
			return bad_duration(orig, err);
	}
	if (neg) {
		*out = d == DUR_LIMIT ? INT64_MIN : -(int64_t)d;
		return 0;
	}
	if (d > DUR_LIMIT - 1)
		return bad_duration(orig, err);
	*out = (int64_t)d;
	return 0;
}
