/* lint/: Dockerfile linter (general BL rules and Windows container BW rules).
 *
 * lint_check() parses one Dockerfile (parser/df_parse, df_stages_parse),
 * runs every rule over it and fills a lint_result with findings sorted by
 * position. Windows rules take their facts from compat/ (wc_tag_parse,
 * wc_check, release support dates). Output writers (lint_output.c) turn
 * results into text, JSON, SARIF 2.1.0 or checkstyle XML.
 *
 * Ownership: a lint_result owns its file name and finding messages
 * (lint_result_release). lint_options borrows everything it points to; a
 * lint_config owns its strings (lint_config_release). Nothing here prints. */
#ifndef BERTH_LINT_H
#define BERTH_LINT_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"
#include "compat/wc.h"

/* Default days before a base release's end of support that BW102 warns. */
#define LINT_NEAR_EOL_DAYS 90
/* The rule pages: docs/rules/<ID>.md in the berth source tree (berth has no
 * website). JSON "help" names that path; .berth.json "rules_url" (where a
 * team publishes the pages) replaces the directory there and gives SARIF its
 * helpUri/informationUri, which must be absolute URIs. */
#define LINT_RULES_DOC_DIR "docs/rules/"
/* Findings kept per file (a pathological file cannot exhaust memory). */
#define LINT_MAX_FINDINGS 10000
/* Config file size cap. */
#define LINT_MAX_CONFIG (1u << 20)
/* Target hosts (after fleet de-duplication by build). */
#define LINT_MAX_HOSTS 256

enum lint_severity { LINT_INFO = 0, LINT_WARNING = 1, LINT_ERROR = 2 };
const char *lint_severity_name(enum lint_severity s);
/* "error", "warning", "info" (also "style" as info); -1 when unknown */
int lint_severity_parse(const char *s);

struct lint_rule {
	const char *id;          /* "BW104" */
	const char *name;        /* "windows-latest-tag" */
	enum lint_severity severity;
	const char *summary;     /* one line, no final period */
};

/* The rule table, sorted by ID. */
const struct lint_rule *lint_rules(size_t *n);
/* Case-insensitive lookup; NULL when unknown. */
const struct lint_rule *lint_rule_find(const char *id);

struct lint_finding {
	const struct lint_rule *rule;
	enum lint_severity severity; /* the rule's, or a config override */
	int line, col;               /* 1-based */
	char *msg;                   /* owned */
};

struct lint_result {
	char *file;                  /* display name */
	struct lint_finding *f;
	size_t n, cap;
	bool parse_failed;           /* BL100 was reported; other rules did not run */
	bool truncated;              /* LINT_MAX_FINDINGS reached */
};
void lint_result_release(struct lint_result *r);

struct lint_host {
	char label[64];              /* as given or "node-name (build)" */
	struct wc_host host;
};

struct lint_options {
	const struct wc_kb *kb;      /* required */
	const struct lint_host *hosts;
	size_t nhosts;
	char today[11];              /* YYYY-MM-DD */
	int near_eol_days;
	char *const *ignore;         /* rule IDs, case-insensitive */
	size_t nignore;
	char *const *trusted;        /* registries; empty: BL118 off */
	size_t ntrusted;
	const char *const *sev_ids;  /* per-rule severity overrides */
	const int *sev_levels;
	size_t nsev;
};
void lint_options_init(struct lint_options *o, const struct wc_kb *kb);

/* Lint a Dockerfile held in memory. A file that does not parse gives one
 * BL100 finding at the parser's position (and returns 0); -1 only for
 * internal failures. *out is zeroed first. */
int lint_check(const struct lint_options *o, const char *name, const char *data, size_t len,
	       struct lint_result *out, struct berr **err);

/* --- .berth.json (lint_config.c) --- */
struct lint_config {
	char *path;                  /* the file read, NULL when none */
	char **ignore;
	size_t nignore;
	char **hosts;                /* target hosts as written */
	size_t nhosts;
	char **trusted;
	size_t ntrusted;
	char **sev_ids;              /* severity overrides */
	int *sev_levels;
	size_t nsev;
	char *fleet;                 /* resolved against the config's directory */
	char *fail_on;
	char *format;
	char *rules_url;
	int near_eol_days;           /* -1 when unset */
};
/* Parse config JSON; unknown keys are errors (typos must not silently
 * disable a rule). `dir` resolves relative paths ("fleet"). */
int lint_config_parse(const char *json, size_t len, const char *name, const char *dir,
		      struct lint_config *out, struct berr **err);
int lint_config_load(const char *path, struct lint_config *out, struct berr **err);
/* Look for .berth.json in `start_dir`, then its parents up to and
 * including the repository root (the first directory holding .git).
 * Returns a malloc'ed path or NULL when there is none. */
char *lint_config_find(const char *start_dir);
void lint_config_release(struct lint_config *c);

/* --- output (lint_output.c) --- */
enum lint_format { LINT_FMT_TEXT, LINT_FMT_JSON, LINT_FMT_SARIF, LINT_FMT_CHECKSTYLE };
int lint_format_parse(const char *s); /* -1 when unknown */

/* Render results; returns a malloc'ed NUL-terminated text. */
char *lint_render(enum lint_format fmt, const struct lint_result *res, size_t nres,
		  const char *rules_url);

#endif
