/* lint/: output writers. text (compiler style), json (docs/lint-json.md),
 * sarif (2.1.0, as GitHub code scanning reads it), checkstyle XML. Every
 * writer is deterministic: findings in file order, then by position. */
#include <cjson/cJSON.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "lint/lint.h"

#define LINT_JSON_SCHEMA 1

int lint_format_parse(const char *s)
{
	if (strcmp(s, "text") == 0)
		return LINT_FMT_TEXT;
	if (strcmp(s, "json") == 0)
		return LINT_FMT_JSON;
	if (strcmp(s, "sarif") == 0)
		return LINT_FMT_SARIF;
	if (strcmp(s, "checkstyle") == 0)
		return LINT_FMT_CHECKSTYLE;
	return -1;
}

/* The rule's page: rules_url + ID.md, else its path in the source tree. */
static char *help_url(const char *base, const char *id)
{
	return xasprintf("%s%s.md", base ? base : LINT_RULES_DOC_DIR, id);
}

static char *render_text(const struct lint_result *res, size_t nres)
{
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < nres; i++) {
		for (size_t k = 0; k < res[i].n; k++) {
			const struct lint_finding *f = &res[i].f[k];
			bbuf_addf(&b, NULL, "%s:%d:%d: %s[%s]: %s\n", res[i].file, f->line, f->col,
				  lint_severity_name(f->severity), f->rule->id, f->msg);
		}
		if (res[i].truncated)
			bbuf_addf(&b, NULL, "%s: note: stopped after %d findings\n", res[i].file,
				  LINT_MAX_FINDINGS);
	}
	return bbuf_detach(&b, NULL);
}

static char *print_json(cJSON *root)
{
	char *s = cJSON_Print(root);
	cJSON_Delete(root);
	char *out = xasprintf("%s\n", s ? s : "null");
	free(s);
	return out;
}

static char *render_json(const struct lint_result *res, size_t nres, const char *base)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddNumberToObject(root, "schema", LINT_JSON_SCHEMA);
	cJSON *files = cJSON_AddArrayToObject(root, "files");
	size_t count[3] = { 0, 0, 0 };
	for (size_t i = 0; i < nres; i++) {
		cJSON *fo = cJSON_CreateObject();
		cJSON_AddStringToObject(fo, "file", res[i].file);
		cJSON_AddBoolToObject(fo, "parsed", !res[i].parse_failed);
		cJSON_AddBoolToObject(fo, "truncated", res[i].truncated);
		cJSON *arr = cJSON_AddArrayToObject(fo, "findings");
		for (size_t k = 0; k < res[i].n; k++) {
			const struct lint_finding *f = &res[i].f[k];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "rule", f->rule->id);
			cJSON_AddStringToObject(j, "name", f->rule->name);
			cJSON_AddStringToObject(j, "severity", lint_severity_name(f->severity));
			cJSON_AddNumberToObject(j, "line", f->line);
			cJSON_AddNumberToObject(j, "column", f->col);
			cJSON_AddStringToObject(j, "message", f->msg);
			char *u = help_url(base, f->rule->id);
			cJSON_AddStringToObject(j, "help", u);
			free(u);
			cJSON_AddItemToArray(arr, j);
			count[f->severity]++;
		}
		cJSON_AddItemToArray(files, fo);
	}
	cJSON *sum = cJSON_AddObjectToObject(root, "summary");
	cJSON_AddNumberToObject(sum, "files", (double)nres);
	cJSON_AddNumberToObject(sum, "error", (double)count[LINT_ERROR]);
	cJSON_AddNumberToObject(sum, "warning", (double)count[LINT_WARNING]);
	cJSON_AddNumberToObject(sum, "info", (double)count[LINT_INFO]);
	return print_json(root);
}

static const char *sarif_level(enum lint_severity s)
{
	return s == LINT_ERROR ? "error" : s == LINT_WARNING ? "warning" : "note";
}

/* artifactLocation.uri: a relative path as given ("./" dropped), a file://
 * URI for absolute paths, spaces and '%' percent-encoded. */
static char *artifact_uri(const char *file)
{
	struct bbuf b = BBUF_INIT;
	if (strcmp(file, "-") == 0)
		file = "stdin";
	while (file[0] == '.' && file[1] == '/')
		file += 2;
	if (file[0] == '/')
		bbuf_addstr(&b, "file://", NULL);
	for (const char *p = file; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch <= ' ' || ch == '%' || ch == '#' || ch == '?' || ch >= 0x7f)
			bbuf_addf(&b, NULL, "%%%02X", ch);
		else
			bbuf_addch(&b, (char)ch, NULL);
	}
	return bbuf_detach(&b, NULL);
}

static char *render_sarif(const struct lint_result *res, size_t nres, const char *base)
{
	cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "$schema", "https://json.schemastore.org/sarif-2.1.0.json");
	cJSON_AddStringToObject(root, "version", "2.1.0");
	cJSON *runs = cJSON_AddArrayToObject(root, "runs");
	cJSON *run = cJSON_CreateObject();
	cJSON_AddItemToArray(runs, run);
	cJSON *driver = cJSON_AddObjectToObject(cJSON_AddObjectToObject(run, "tool"), "driver");
	cJSON_AddStringToObject(driver, "name", "berth");
	if (base)
		cJSON_AddStringToObject(driver, "informationUri", base);
	cJSON *rules = cJSON_AddArrayToObject(driver, "rules");
	size_t nr;
	const struct lint_rule *rt = lint_rules(&nr);
	for (size_t i = 0; i < nr; i++) {
		cJSON *r = cJSON_CreateObject();
		cJSON_AddStringToObject(r, "id", rt[i].id);
		cJSON_AddStringToObject(r, "name", rt[i].name);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "shortDescription"), "text", rt[i].summary);
		/* helpUri only when rules_url makes it an absolute URI; help.text
		 * names the page either way */
		char *u = help_url(base, rt[i].id);
		if (base)
			cJSON_AddStringToObject(r, "helpUri", u);
		char *h = base ? xasprintf("see %s", u)
			       : xasprintf("see %s in the berth source tree", u);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "help"), "text", h);
		free(h);
		free(u);
		cJSON_AddStringToObject(cJSON_AddObjectToObject(r, "defaultConfiguration"), "level",
					sarif_level(rt[i].severity));
		cJSON *props = cJSON_AddObjectToObject(r, "properties");
		cJSON *tags = cJSON_AddArrayToObject(props, "tags");
		cJSON_AddItemToArray(tags, cJSON_CreateString("dockerfile"));
		if (rt[i].id[1] == 'W')
			cJSON_AddItemToArray(tags, cJSON_CreateString("windows"));
		cJSON_AddItemToArray(rules, r);
	}
	cJSON *results = cJSON_AddArrayToObject(run, "results");
	for (size_t i = 0; i < nres; i++) {
		char *uri = artifact_uri(res[i].file);
		for (size_t k = 0; k < res[i].n; k++) {
			const struct lint_finding *f = &res[i].f[k];
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "ruleId", f->rule->id);
			cJSON_AddNumberToObject(j, "ruleIndex", (double)(f->rule - rt));
			cJSON_AddStringToObject(j, "level", sarif_level(f->severity));
			cJSON_AddStringToObject(cJSON_AddObjectToObject(j, "message"), "text", f->msg);
			cJSON *locs = cJSON_AddArrayToObject(j, "locations");
			cJSON *loc = cJSON_CreateObject();
			cJSON *phys = cJSON_AddObjectToObject(loc, "physicalLocation");
			cJSON_AddStringToObject(cJSON_AddObjectToObject(phys, "artifactLocation"), "uri", uri);
			cJSON *reg = cJSON_AddObjectToObject(phys, "region");
			cJSON_AddNumberToObject(reg, "startLine", f->line);
			cJSON_AddNumberToObject(reg, "startColumn", f->col);
			cJSON_AddItemToArray(locs, loc);
			cJSON_AddItemToArray(results, j);
		}
		free(uri);
	}
	return print_json(root);
}

static void xml_escape(struct bbuf *b, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': bbuf_addstr(b, "&amp;", NULL); break;
		case '<': bbuf_addstr(b, "&lt;", NULL); break;
		case '>': bbuf_addstr(b, "&gt;", NULL); break;
		case '"': bbuf_addstr(b, "&quot;", NULL); break;
		case '\'': bbuf_addstr(b, "&apos;", NULL); break;
		default:
			if ((unsigned char)*s < 0x20 && *s != '\t')
				bbuf_addf(b, NULL, "&#%d;", *s == '\n' || *s == '\r' ? *s : ' ');
			else
				bbuf_addch(b, *s, NULL);
		}
	}
}

static char *render_checkstyle(const struct lint_result *res, size_t nres)
{
	struct bbuf b = BBUF_INIT;
	bbuf_addstr(&b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<checkstyle version=\"4.3\">\n", NULL);
	for (size_t i = 0; i < nres; i++) {
		bbuf_addstr(&b, "  <file name=\"", NULL);
		xml_escape(&b, res[i].file);
		bbuf_addstr(&b, "\">\n", NULL);
		for (size_t k = 0; k < res[i].n; k++) {
			const struct lint_finding *f = &res[i].f[k];
			bbuf_addf(&b, NULL, "    <error line=\"%d\" column=\"%d\" severity=\"%s\" message=\"",
				  f->line, f->col, lint_severity_name(f->severity));
			xml_escape(&b, f->msg);
			bbuf_addf(&b, NULL, "\" source=\"berth.%s\"/>\n", f->rule->id);
		}
		bbuf_addstr(&b, "  </file>\n", NULL);
	}
	bbuf_addstr(&b, "</checkstyle>\n", NULL);
	return bbuf_detach(&b, NULL);
}

char *lint_render(enum lint_format fmt, const struct lint_result *res, size_t nres,
		  const char *rules_url)
{
	switch (fmt) {
	case LINT_FMT_JSON: return render_json(res, nres, rules_url);
	case LINT_FMT_SARIF: return render_sarif(res, nres, rules_url);
	case LINT_FMT_CHECKSTYLE: return render_checkstyle(res, nres);
	default: return render_text(res, nres);
	}
}
