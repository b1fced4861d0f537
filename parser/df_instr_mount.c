/* RUN --mount and --device values (BuildKit commands_runmount.go and
 * commands_rundevice.go): a CSV record of key=value fields. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "parser/df_instr.h"
#include "parser/df_instr_int.h"
#include "common/common.h"

static const char *const mount_type_names[] = {
	[DF_MOUNT_BIND] = "bind",     [DF_MOUNT_CACHE] = "cache",
	[DF_MOUNT_TMPFS] = "tmpfs",   [DF_MOUNT_SECRET] = "secret",
	[DF_MOUNT_SSH] = "ssh",
};

const char *df_mount_type_name(enum df_mount_type t)
{
	if ((size_t)t >= ARRAY_SIZE(mount_type_names))
		return "bind";
	return mount_type_names[t];
}

char *df_expand_identity(void *ctx, const char *word, struct berr **err)
{
	(void)ctx;
	(void)err;
	return xstrdup(word);
}

/* One CSV record with encoding/csv rules (comma separated, "" quoting,
 * no trimming). Returns the number of fields or -1 with *err set. */
static int csv_fields(const char *s, const char *what, struct df_strv *out, struct berr **err)
{
	const char *p = s;
	for (;;) {
		struct bbuf b = BBUF_INIT;
		bbuf_addstr(&b, "", NULL);
		if (*p == '"') {
			const char *q = p + 1;
			for (;;) {
				if (!*q) {
					bbuf_release(&b);
					return berr_set(err, BERR_INPUT,
							"failed to parse csv %s: parse error on line 1, "
							"column %zu: extraneous or missing \" in quoted-field",
							what, (size_t)(q - s) + 1);
				}
				if (*q == '"') {
					if (q[1] == '"') {
						bbuf_addch(&b, '"', NULL);
						q += 2;
						continue;
					}
					q++;
					break;
				}
				bbuf_addch(&b, *q++, NULL);
			}
			if (*q != ',' && *q != '\0') {
				bbuf_release(&b);
				return berr_set(err, BERR_INPUT,
						"failed to parse csv %s: parse error on line 1, column %zu: "
						"extraneous or missing \" in quoted-field",
						what, (size_t)(q - s));
			}
			p = q;
		} else {
			const char *q = p;
			while (*q && *q != ',') {
				if (*q == '"') {
					bbuf_release(&b);
					return berr_set(err, BERR_INPUT,
							"failed to parse csv %s: parse error on line 1, "
							"column %zu: bare \" in non-quoted-field",
							what, (size_t)(q - s) + 1);
				}
				q++;
			}
			bbuf_add(&b, p, (size_t)(q - p), NULL);
			p = q;
		}
		char *field = bbuf_detach(&b, NULL);
		out->items = xreallocarray(out->items, out->n + 2, sizeof(*out->items));
		out->items[out->n++] = field;
		out->items[out->n] = NULL;
		if (*p != ',')
			break;
		p++;
	}
	return (int)out->n;
}

/* Go strconv.ParseBool */
static int go_parse_bool(const char *s, bool *out)
{
	static const char *const t[] = { "1", "t", "T", "TRUE", "true", "True" };
	static const char *const f[] = { "0", "f", "F", "FALSE", "false", "False" };
	for (size_t i = 0; i < ARRAY_SIZE(t); i++) {
		if (strcmp(s, t[i]) == 0) {
			*out = true;
			return 0;
		}
		if (strcmp(s, f[i]) == 0) {
			*out = false;
			return 0;
		}
	}
	return -1;
}

/* Go strconv.ParseUint(s, base, 32) for base 8 or 10. */
static int go_parse_u32(const char *s, int base, uint32_t *out)
{
	if (!*s)
		return -1;
	uint64_t v = 0;
	for (const char *p = s; *p; p++) {
		int d = *p - '0';
		if (d < 0 || d >= base)
			return -1;
		v = v * (uint64_t)base + (uint64_t)d;
		if (v > UINT32_MAX)
			return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

/* Go strconv.ParseFloat for the plain decimal forms a size can take:
 * [sign] digits [. digits] [e [sign] digits]. */
static int go_parse_float(const char *s, double *out)
{
	const char *p = s;
	if (*p == '+' || *p == '-')
		p++;
	size_t digits = 0;
	while (isdigit((unsigned char)*p))
		p++, digits++;
	if (*p == '.') {
		p++;
		while (isdigit((unsigned char)*p))
			p++, digits++;
	}
	if (!digits)
		return -1;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '+' || *p == '-')
			p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (*p)
		return -1;
	errno = 0;
	*out = strtod(s, NULL);
	return errno == ERANGE && (*out > 1 || *out < -1) ? -1 : 0;
}

/* docker/go-units RAMInBytes (v0.5 parser): a number, an optional space,
 * then an optional suffix b, k, kb, kib ... p, pb, pib (any case, binary
 * multiples). */
static int ram_in_bytes(const char *s, int64_t *out)
{
	const char *sep = NULL;
	for (const char *p = s; *p; p++)
		if (isdigit((unsigned char)*p) || *p == '.' || *p == ' ')
			sep = p;
	if (!sep)
		return -1;
	size_t numlen = (size_t)(sep - s) + (*sep == ' ' ? 0 : 1);
	_cleanup_free_ char *num = xstrndup(s, numlen);
	const char *sfx = sep + 1;
	double size;
	if (go_parse_float(num, &size) < 0 || size < 0)
		return -1;
	size_t sl = strlen(sfx);
	if (sl > 3)
		return -1;
	if (sl) {
		char c0 = (char)tolower((unsigned char)sfx[0]);
		if (c0 == 'b') {
			if (sl > 1)
				return -1;
		} else {
			const char *units = "kmgtp";
			const char *u = strchr(units, c0);
			if (!u || !c0)
				return -1;
			for (const char *x = units; x <= u; x++)
				size *= 1024;
			if (sl == 2 && tolower((unsigned char)sfx[1]) != 'b')
				return -1;
			if (sl == 3 && (tolower((unsigned char)sfx[1]) != 'i' ||
					tolower((unsigned char)sfx[2]) != 'b'))
				return -1;
		}
	}
	/* Go's out-of-range float conversion is undefined; saturate */
	*out = size >= 9.2233720368547758e18 ? INT64_MAX : (int64_t)size;
	return 0;
}

static void set_str(char **dst, const char *v)
{
	free(*dst);
	*dst = xstrdup(v);
}

void df_mount_clear(struct df_mount *m)
{
	if (!m)
		return;
	free(m->from);
	free(m->source);
	free(m->target);
	free(m->id);
	free(m->sharing);
	free(m->env);
	memset(m, 0, sizeof(*m));
}

static int mount_type_parse(const char *v, enum df_mount_type *t)
{
	for (size_t i = 0; i < ARRAY_SIZE(mount_type_names); i++)
		if (strcasecmp(v, mount_type_names[i]) == 0) {
			*t = (enum df_mount_type)i;
			return 0;
		}
	return -1;
}

static int mount_field(struct df_mount *m, const char *key, const char *field,
		       const char *value, bool *ro_auto, struct berr **err)
{
	bool b;
	if (strcmp(key, "type") == 0) {
		if (mount_type_parse(value, &m->type) < 0) {
			_cleanup_free_ char *q = df_quote_str(value);
			static const char *const opts[] = { "bind", "cache", "secret", "ssh", "tmpfs" };
			_cleanup_free_ char *owned = NULL;
			const char *s = df_suggest(value, opts, ARRAY_SIZE(opts), true, &owned);
			if (s)
				return berr_set(err, BERR_INPUT, "unsupported mount type %s (did you mean %s?)", q, s);
			return berr_set(err, BERR_INPUT, "unsupported mount type %s", q);
		}
	} else if (strcmp(key, "from") == 0) {
		set_str(&m->from, value);
	} else if (strcmp(key, "source") == 0 || strcmp(key, "src") == 0) {
		set_str(&m->source, value);
	} else if (strcmp(key, "target") == 0 || strcmp(key, "dst") == 0 ||
		   strcmp(key, "destination") == 0) {
		set_str(&m->target, value);
	} else if (strcmp(key, "readonly") == 0 || strcmp(key, "ro") == 0) {
		if (go_parse_bool(value, &b) < 0)
			return berr_set(err, BERR_INPUT, "invalid value for %s: %s", key, value);
		m->readonly = b;
		*ro_auto = false;
	} else if (strcmp(key, "readwrite") == 0 || strcmp(key, "rw") == 0) {
		if (go_parse_bool(value, &b) < 0)
			return berr_set(err, BERR_INPUT, "invalid value for %s: %s", key, value);
		m->readonly = !b;
		*ro_auto = false;
	} else if (strcmp(key, "required") == 0) {
		if (m->type != DF_MOUNT_SECRET && m->type != DF_MOUNT_SSH)
			return berr_set(err, BERR_INPUT, "unexpected key '%s' for mount type '%s'",
					key, df_mount_type_name(m->type));
		if (go_parse_bool(value, &b) < 0)
			return berr_set(err, BERR_INPUT, "invalid value for %s: %s", key, value);
		m->required = b;
	} else if (strcmp(key, "size") == 0) {
		if (m->type != DF_MOUNT_TMPFS)
			return berr_set(err, BERR_INPUT, "unexpected key '%s' for mount type '%s'",
					key, df_mount_type_name(m->type));
		if (ram_in_bytes(value, &m->size_limit) < 0)
			return berr_set(err, BERR_INPUT, "invalid value for %s: %s", key, value);
	} else if (strcmp(key, "id") == 0) {
		set_str(&m->id, value);
	} else if (strcmp(key, "sharing") == 0) {
		if (strcasecmp(value, "shared") && strcasecmp(value, "private") &&
		    strcasecmp(value, "locked")) {
			_cleanup_free_ char *q = df_quote_str(value);
			static const char *const opts[] = { "locked", "private", "shared" };
			_cleanup_free_ char *owned = NULL;
			const char *s = df_suggest(value, opts, ARRAY_SIZE(opts), true, &owned);
			if (s)
				return berr_set(err, BERR_INPUT, "unsupported sharing value %s (did you mean %s?)", q, s);
			return berr_set(err, BERR_INPUT, "unsupported sharing value %s", q);
		}
		free(m->sharing);
		m->sharing = xstrdup(value);
		for (char *p = m->sharing; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	} else if (strcmp(key, "mode") == 0) {
		if (go_parse_u32(value, 8, &m->mode) < 0)
			return berr_set(err, BERR_INPUT, "invalid value %s for mode", value);
		m->has_mode = true;
	} else if (strcmp(key, "uid") == 0) {
		if (go_parse_u32(value, 10, &m->uid) < 0)
			return berr_set(err, BERR_INPUT, "invalid value %s for uid", value);
		m->has_uid = true;
	} else if (strcmp(key, "gid") == 0) {
		if (go_parse_u32(value, 10, &m->gid) < 0)
			return berr_set(err, BERR_INPUT, "invalid value %s for gid", value);
		m->has_gid = true;
	} else if (strcmp(key, "env") == 0) {
		set_str(&m->env, value);
	} else {
		static const char *const keys[] = {
			"type", "from", "source", "target", "readonly", "id", "sharing",
			"required", "size", "mode", "uid", "gid", "src", "dst",
			"destination", "ro", "rw", "readwrite", "env",
		};
		_cleanup_free_ char *owned = NULL;
		const char *s = df_suggest(key, keys, ARRAY_SIZE(keys), true, &owned);
		if (s)
			return berr_set(err, BERR_INPUT, "unexpected key '%s' in '%s' (did you mean %s?)",
					key, field, s);
		return berr_set(err, BERR_INPUT, "unexpected key '%s' in '%s'", key, field);
	}
	return 0;
}

int df_mount_parse(const char *spec, df_expand_fn expand, void *ctx,
		   struct df_mount *out, struct berr **err)
{
	struct df_strv fields = { 0 };
	struct df_mount m;
	memset(&m, 0, sizeof(m));
	memset(out, 0, sizeof(*out));
	m.type = DF_MOUNT_BIND;
	bool ro_auto = true;
	int r = csv_fields(spec, "mounts", &fields, err);
	for (size_t i = 0; r >= 0 && i < fields.n; i++) {
		const char *field = fields.items[i];
		const char *eq = strchr(field, '=');
		_cleanup_free_ char *key = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		if (!eq) {
			if (!expand)
				continue;  /* evaluated after expansion */
			if (!strcmp(key, "readonly") || !strcmp(key, "ro")) {
				m.readonly = true;
				ro_auto = false;
			} else if (!strcmp(key, "readwrite") || !strcmp(key, "rw")) {
				m.readonly = false;
				ro_auto = false;
			} else if (!strcmp(key, "required")) {
				if (m.type != DF_MOUNT_SECRET && m.type != DF_MOUNT_SSH)
					r = berr_set(err, BERR_INPUT,
						     "unexpected key '%s' for mount type '%s'", key,
						     df_mount_type_name(m.type));
				else
					m.required = true;
			} else {
				r = berr_set(err, BERR_INPUT,
					     "invalid field '%s' must be a key=value pair", field);
			}
			continue;
		}
		const char *value = eq + 1;
		_cleanup_free_ char *expanded = NULL;
		if (expand) {
			expanded = expand(ctx, value, err);
			if (!expanded) {
				r = -1;
				break;
			}
			value = expanded;
		} else if (strcmp(key, "from") == 0) {
			const char *d = strchr(value, '$');
			if (d && d[1] != '\0') {
				r = berr_set(err, BERR_INPUT, "'%s' doesn't support variable expansion, "
					     "define alias stage instead", key);
				break;
			}
		} else {
			continue;  /* deferred until expansion */
		}
		r = mount_field(&m, key, field, value, &ro_auto, err);
	}
	df_strv_clear(&fields);
	if (r < 0)
		goto fail;
	bool file_info = m.type == DF_MOUNT_SECRET || m.type == DF_MOUNT_SSH ||
			 m.type == DF_MOUNT_CACHE;
	if (!file_info) {
		const char *bad = m.has_mode ? "mode" : m.has_uid ? "uid" : m.has_gid ? "gid" : NULL;
		if (bad) {
			berr_set(err, BERR_INPUT, "%s not allowed for \"%s\" type mounts", bad,
				 df_mount_type_name(m.type));
			goto fail;
		}
	}
	if (ro_auto)
		m.readonly = !(m.type == DF_MOUNT_CACHE || m.type == DF_MOUNT_TMPFS);
	if (m.type == DF_MOUNT_SECRET) {
		const char *msg = NULL;
		if (m.from && *m.from)
			msg = "secret mount should not have a from";
		else if (m.sharing && *m.sharing)
			msg = "secret mount should not define sharing";
		else if (!(m.source && *m.source) && !(m.target && *m.target) && !(m.id && *m.id))
			msg = "invalid secret mount. one of source, target required";
		else if (m.source && *m.source && m.id && *m.id)
			msg = "both source and id can't be set";
		if (msg) {
			berr_set(err, BERR_INPUT, "%s", msg);
			goto fail;
		}
	}
	if (m.sharing && *m.sharing && m.type != DF_MOUNT_CACHE) {
		berr_set(err, BERR_INPUT, "invalid cache sharing set for %s mount",
			 df_mount_type_name(m.type));
		goto fail;
	}
	*out = m;
	return 0;
fail:
	df_mount_clear(&m);
	return -1;
}

int df_device_parse(const char *spec, struct df_device *out, struct berr **err)
{
	struct df_strv fields = { 0 };
	struct df_device d = { NULL, false };
	memset(out, 0, sizeof(*out));
	int r = csv_fields(spec, "devices", &fields, err);
	for (size_t i = 0; r >= 0 && i < fields.n; i++) {
		const char *field = fields.items[i];
		const char *eq = strchr(field, '=');
		_cleanup_free_ char *key = eq ? xstrndup(field, (size_t)(eq - field)) : xstrdup(field);
		for (char *p = key; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		bool named = d.name && *d.name;
		if (!eq) {
			if (!strcmp(key, "required")) {
				d.required = true;
			} else if (!named) {
				free(d.name);
				d.name = xstrdup(field);
			} else {
				r = berr_set(err, BERR_INPUT,
					     "invalid field '%s' must be a key=value pair", field);
			}
			continue;
		}
		const char *value = eq + 1;
		if (!strcmp(key, "name")) {
			if (named) {
				r = berr_set(err, BERR_INPUT, "device name already set to %s", d.name);
				continue;
			}
			free(d.name);
			d.name = xstrdup(value);
		} else if (!strcmp(key, "required")) {
			if (go_parse_bool(value, &d.required) < 0)
				r = berr_set(err, BERR_INPUT, "invalid value for %s: %s", key, value);
		} else if (!named) {
			free(d.name);
			d.name = xstrdup(field);
		} else {
			static const char *const keys[] = { "name", "required" };
			_cleanup_free_ char *owned = NULL;
			const char *s = df_suggest(key, keys, ARRAY_SIZE(keys), true, &owned);
			if (s)
				r = berr_set(err, BERR_INPUT, "unexpected key '%s' in '%s' (did you mean %s?)",
					     key, field, s);
			else
				r = berr_set(err, BERR_INPUT, "unexpected key '%s' in '%s'", key, field);
		}
	}
	df_strv_clear(&fields);
	if (r < 0) {
		free(d.name);
		return -1;
	}
	if (!d.name)
		d.name = xstrdup("");
	*out = d;
	return 0;
}
