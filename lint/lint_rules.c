/* lint/: the rule table. One page per rule in docs/rules/<ID>.md. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "common/common.h"
#include "lint/lint.h"
#include "lint/lint_int.h"

static const struct lint_rule rules[] = {
	{ "BL100", "parse-error", LINT_ERROR,
	  "the Dockerfile does not parse; fix the syntax error" },
	{ "BL101", "base-untagged", LINT_WARNING,
	  "base image without a tag means 'latest'; pin a version tag" },
	{ "BL102", "base-latest", LINT_WARNING,
	  "base image tag 'latest' moves; pin a version tag" },
	{ "BL103", "base-not-digest-pinned", LINT_INFO,
	  "pin the base image by digest (image:tag@sha256:...) for reproducible release builds" },
	{ "BL104", "maintainer-deprecated", LINT_WARNING,
	  "MAINTAINER is deprecated; use LABEL org.opencontainers.image.authors" },
	{ "BL105", "multiple-cmd-entrypoint", LINT_WARNING,
	  "several CMD or ENTRYPOINT in one stage; only the last takes effect, remove the others" },
	{ "BL106", "shell-form-cmd", LINT_WARNING,
	  "CMD/ENTRYPOINT in shell form; use the JSON exec form so the process gets signals" },
	{ "BL107", "relative-workdir", LINT_WARNING,
	  "relative WORKDIR depends on the base image; use an absolute path" },
	{ "BL108", "copy-from-unknown-stage", LINT_WARNING,
	  "COPY --from names no earlier stage; fix the stage name or order" },
	{ "BL109", "duplicate-stage-name", LINT_ERROR,
	  "two stages have the same name; rename one" },
	{ "BL110", "arg-before-definition", LINT_WARNING,
	  "variable used before its ARG is declared in this stage; move or repeat the ARG" },
	{ "BL111", "add-instead-of-copy", LINT_WARNING,
	  "ADD of local files; use COPY (ADD is for URLs and tar archives)" },
	{ "BL112", "secret-in-env-arg", LINT_WARNING,
	  "ENV/ARG name looks like a secret; pass it with RUN --mount=type=secret" },
	{ "BL113", "cd-in-run", LINT_INFO,
	  "cd in RUN; use WORKDIR to change directory" },
	{ "BL114", "apt-get-no-yes", LINT_WARNING,
	  "apt-get install without -y waits for an answer; add -y" },
	{ "BL115", "apt-get-recommends", LINT_INFO,
	  "apt-get install without --no-install-recommends; add it to keep the image small" },
	{ "BL116", "apt-lists-kept", LINT_INFO,
	  "apt-get lists left in the layer; end the RUN with rm -rf /var/lib/apt/lists/*" },
	{ "BL117", "apk-no-cache", LINT_INFO,
	  "apk add without --no-cache leaves the index in the layer; add --no-cache" },
	{ "BL118", "untrusted-registry", LINT_ERROR,
	  "base image from a registry not in trusted_registries; use a trusted registry" },
	{ "BW101", "windows-base-end-of-support", LINT_ERROR,
	  "Windows base release is past end of support; move to a supported LTSC tag" },
	{ "BW102", "windows-base-near-end-of-support", LINT_WARNING,
	  "Windows base release reaches end of support soon; plan the move to a newer LTSC tag" },
	{ "BW103", "windows-semi-annual-release", LINT_WARNING,
	  "semi-annual channel base images get 18 months of support; use an LTSC tag" },
	{ "BW104", "windows-retired-hub-repo", LINT_ERROR,
	  "retired microsoft/* Docker Hub repository; use its mcr.microsoft.com successor" },
	{ "BW105", "windows-latest-tag", LINT_ERROR,
	  "Windows base images have no 'latest' tag since 2019-04-16; name a release tag" },
	{ "BW106", "windows-host-incompatible", LINT_ERROR,
	  "base image cannot run on a target host in any isolation mode; use an older base or newer hosts" },
	{ "BW107", "windows-process-isolation-blocked", LINT_WARNING,
	  "base image needs Hyper-V isolation on a target host; match the host build for process isolation" },
	{ "BW108", "windows-mixed-builds", LINT_WARNING,
	  "stages on different Windows builds copied together; use one release for every stage" },
	{ "BW109", "copy-across-os", LINT_WARNING,
	  "COPY --from between a Windows and a Linux stage; build the source stage for the target OS" },
	{ "BW110", "powershell-missing", LINT_ERROR,
	  "PowerShell is not in Nano Server (since 1709); use an image that ships pwsh or Server Core" },
	{ "BW111", "powershell-syntax-in-cmd", LINT_WARNING,
	  "PowerShell syntax while SHELL is cmd; set SHELL [\"powershell\", \"-Command\", ...] first" },
	{ "BW112", "backslash-continuation", LINT_WARNING,
	  "a path ending in '\\' continues the line into the next instruction; add '# escape=`'" },
	{ "BW113", "json-form-not-json", LINT_ERROR,
	  "looks like a JSON array but is not valid JSON, so it runs in shell form; double the backslashes" },
	{ "BW114", "shell-powershell-options", LINT_WARNING,
	  "PowerShell SHELL without -Command or $ErrorActionPreference = 'Stop'; add both" },
	{ "BW115", "setx-path", LINT_WARNING,
	  "setx PATH truncates at 1024 characters and merges PATHs; use ENV PATH or SetEnvironmentVariable" },
	{ "BW116", "platform-contradicts-base", LINT_ERROR,
	  "FROM --platform names another OS than the base image; fix the platform or the image" },
};

const struct lint_rule *lint_rules(size_t *n)
{
	*n = sizeof(rules) / sizeof(rules[0]);
	return rules;
}

const struct lint_rule *lint_rule_find(const char *id)
{
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcasecmp(rules[i].id, id) == 0)
			return &rules[i];
	return NULL;
}

const char *lint_severity_name(enum lint_severity s)
{
	switch (s) {
	case LINT_ERROR: return "error";
	case LINT_WARNING: return "warning";
	default: return "info";
	}
}

int lint_severity_parse(const char *s)
{
	if (strcmp(s, "error") == 0)
		return LINT_ERROR;
	if (strcmp(s, "warning") == 0)
		return LINT_WARNING;
	if (strcmp(s, "info") == 0 || strcmp(s, "style") == 0)
		return LINT_INFO;
	return -1;
}

void lint_result_release(struct lint_result *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->f[i].msg);
	free(r->f);
	free(r->file);
	memset(r, 0, sizeof(*r));
}

void lint_options_init(struct lint_options *o, const struct wc_kb *kb)
{
	memset(o, 0, sizeof(*o));
	o->kb = kb;
	o->near_eol_days = LINT_NEAR_EOL_DAYS;
	wc_today(o->today);
}

const struct lint_rule *lint_rule_find_n(const char *id, size_t n)
{
	char buf[16];
	if (n == 0 || n >= sizeof(buf))
		return NULL;
	memcpy(buf, id, n);
	buf[n] = 0;
	return lint_rule_find(buf);
}
