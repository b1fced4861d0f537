/* lint/: .berth.json, the per-repository lint configuration (see
 * docs/man/berth-lint.1 for the keys). */
#include <cjson/cJSON.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "lint/lint.h"

#define CONFIG_NAME ".berth.json"
/* parent directories searched for .berth.json */
#define CONFIG_MAX_DEPTH 64

static void strv_free(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

void lint_config_release(struct lint_config *c)
{
	if (!c)
		return;
	free(c->path);
	strv_free(c->ignore, c->nignore);
	strv_free(c->hosts, c->nhosts);
	strv_free(c->trusted, c->ntrusted);
	strv_free(c->sev_ids, c->nsev);
	free(c->sev_levels);
	free(c->fleet);
	free(c->fail_on);
	free(c->format);
	free(c->rules_url);
	memset(c, 0, sizeof(*c));
	c->near_eol_days = -1;
}

static int str_array(const cJSON *j, const char *file, const char *key, char ***out, size_t *n,
		     struct berr **err)
{
	if (!cJSON_IsArray(j))
		return berr_set(err, BERR_INPUT, "%s: '%s' must be an array of strings", file, key);
	size_t cnt = (size_t)cJSON_GetArraySize(j);
	*out = xcalloc(cnt + 1, sizeof(char *));
	*n = 0;
	const cJSON *it;
	cJSON_ArrayForEach(it, j) {
		if (!cJSON_IsString(it) || !it->valuestring[0])
			return berr_set(err, BERR_INPUT, "%s: '%s' must be an array of non-empty strings",
					file, key);
		(*out)[(*n)++] = xstrdup(it->valuestring);
	}
	return 0;
}

static int get_string(const cJSON *j, const char *file, const char *key, char **out, struct berr **err)
{
	if (!cJSON_IsString(j))
		return berr_set(err, BERR_INPUT, "%s: '%s' must be a string", file, key);
	free(*out);
	*out = xstrdup(j->valuestring);
	return 0;
}

int lint_config_parse(const char *json, size_t len, const char *name, const char *dir,
		      struct lint_config *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	out->near_eol_days = -1;
	cJSON *root = cJSON_ParseWithLength(json, len);
	if (!root)
		return berr_set(err, BERR_INPUT, "%s: invalid JSON", name);
	int rc = 0;
	if (!cJSON_IsObject(root)) {
		rc = berr_set(err, BERR_INPUT, "%s: expected a JSON object", name);
		goto out;
	}
	const cJSON *it;
	cJSON_ArrayForEach(it, root) {
		const char *k = it->string;
		if (k[0] == '$' || k[0] == '_' || strcmp(k, "comment") == 0)
			continue; /* "$schema", comments */
		if (strcmp(k, "ignore") == 0) {
			if (str_array(it, name, k, &out->ignore, &out->nignore, err) < 0)
				goto fail;
			for (size_t i = 0; i < out->nignore; i++)
				if (!lint_rule_find(out->ignore[i])) {
					berr_set(err, BERR_INPUT, "%s: 'ignore' names unknown rule '%s'", name,
						 out->ignore[i]);
					goto fail;
				}
		} else if (strcmp(k, "target_hosts") == 0) {
			if (str_array(it, name, k, &out->hosts, &out->nhosts, err) < 0)
				goto fail;
		} else if (strcmp(k, "trusted_registries") == 0) {
			if (str_array(it, name, k, &out->trusted, &out->ntrusted, err) < 0)
				goto fail;
		} else if (strcmp(k, "fleet") == 0) {
			if (get_string(it, name, k, &out->fleet, err) < 0)
				goto fail;
			if (out->fleet[0] != '/' && dir && *dir) {
				char *p = xasprintf("%s/%s", dir, out->fleet);
				free(out->fleet);
				out->fleet = p;
			}
		} else if (strcmp(k, "fail_on") == 0) {
			if (get_string(it, name, k, &out->fail_on, err) < 0)
				goto fail;
			if (lint_severity_parse(out->fail_on) < 0 && strcmp(out->fail_on, "none") != 0) {
				berr_set(err, BERR_INPUT, "%s: invalid fail_on '%s' (want error, warning, info or none)",
					 name, out->fail_on);
				goto fail;
			}
		} else if (strcmp(k, "format") == 0) {
			if (get_string(it, name, k, &out->format, err) < 0)
				goto fail;
			if (lint_format_parse(out->format) < 0) {
				berr_set(err, BERR_INPUT, "%s: invalid format '%s'", name, out->format);
				goto fail;
			}
		} else if (strcmp(k, "rules_url") == 0) {
			if (get_string(it, name, k, &out->rules_url, err) < 0)
				goto fail;
		} else if (strcmp(k, "near_eol_days") == 0) {
			if (!cJSON_IsNumber(it) || it->valuedouble < 0 || it->valuedouble > 3650 ||
			    it->valuedouble != (double)(int)it->valuedouble) {
				berr_set(err, BERR_INPUT, "%s: 'near_eol_days' must be an integer 0..3650", name);
				goto fail;
			}
			out->near_eol_days = (int)it->valuedouble;
		} else if (strcmp(k, "severity") == 0) {
			if (!cJSON_IsObject(it)) {
				berr_set(err, BERR_INPUT, "%s: 'severity' must be an object {\"ID\": \"level\"}", name);
				goto fail;
			}
			size_t cnt = (size_t)cJSON_GetArraySize(it);
			out->sev_ids = xcalloc(cnt + 1, sizeof(char *));
			out->sev_levels = xcalloc(cnt + 1, sizeof(int));
			const cJSON *s;
			cJSON_ArrayForEach(s, it) {
				int lvl = cJSON_IsString(s) ? lint_severity_parse(s->valuestring) : -1;
				if (!lint_rule_find(s->string)) {
					berr_set(err, BERR_INPUT, "%s: 'severity' names unknown rule '%s'", name, s->string);
					goto fail;
				}
				if (lvl < 0) {
					berr_set(err, BERR_INPUT, "%s: severity of '%s' must be error, warning or info",
						 name, s->string);
					goto fail;
				}
				out->sev_ids[out->nsev] = xstrdup(s->string);
				out->sev_levels[out->nsev++] = lvl;
			}
		} else {
			berr_set(err, BERR_INPUT, "%s: unknown key '%s'", name, k);
			goto fail;
		}
	}
	goto out;
fail:
	rc = -1;
	lint_config_release(out);
out:
	cJSON_Delete(root);
	return rc;
}

int lint_config_load(const char *path, struct lint_config *out, struct berr **err)
{
	struct bbuf b = BBUF_INIT;
	memset(out, 0, sizeof(*out));
	out->near_eol_days = -1;
	if (bfile_read_all(path, LINT_MAX_CONFIG, &b, err) < 0) {
		bbuf_release(&b);
		return berr_wrap(err, "config");
	}
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	if (slash)
		*slash = 0;
	else
		dir[0] = 0;
	int rc = lint_config_parse(bbuf_str(&b), b.len, path, dir, out, err);
	free(dir);
	bbuf_release(&b);
	if (rc == 0)
		out->path = xstrdup(path);
	return rc;
}

char *lint_config_find(const char *start_dir)
{
	char *dir = xstrdup(start_dir && *start_dir ? start_dir : ".");
	for (int depth = 0; depth < CONFIG_MAX_DEPTH; depth++) {
		char *p = xasprintf("%s/%s", dir, CONFIG_NAME);
		struct stat st;
		if (stat(p, &st) == 0 && S_ISREG(st.st_mode)) {
			free(dir);
			return p;
		}
		free(p);
		char *git = xasprintf("%s/.git", dir);
		bool root = access(git, F_OK) == 0;
		free(git);
		if (root)
			break;
		/* go up one directory */
		char *up = xasprintf("%s/..", dir);
		char *real = realpath(up, NULL);
		free(up);
		if (!real)
			break;
		char *cur = realpath(dir, NULL);
		bool top = cur && strcmp(cur, real) == 0;
		free(cur);
		free(dir);
		dir = real;
		if (top)
			break;
	}
	free(dir);
	return NULL;
}
