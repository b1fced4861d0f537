/* .dockerignore conformance against moby/patternmatcher data in
 * ${BERTH_SHARED:-../shared}/conformance/buildkit/dockerignore:
 *   patternmatcher-vectors.tsv          one test per row
 *   ignorefile-readall.{dockerignore,expected}
 *   real-world/<f>.dockerignore + <f>.dockerignore.patterns, one test each
 * A plain program (one test per data row), printing the RESULT line that
 * tests/run reads; a missing data directory counts as one skip. */
#include <cjson/cJSON.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/df_ignore.h"

static int passed, failed, skipped;

static void result(bool ok, const char *what, const char *detail)
{
	if (ok) {
		passed++;
	} else {
		failed++;
		printf("FAIL %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
	}
}

static char *slurp(const char *path, size_t *len)
{
	struct bbuf b = BBUF_INIT;
	struct berr *err = NULL;
	if (bfile_read_all(path, 0, &b, &err) < 0) {
		berr_free(err);
		bbuf_release(&b);
		return NULL;
	}
	bbuf_addch(&b, '\0', NULL); /* NUL-terminate; not counted */
	char *data = bbuf_detach(&b, len);
	(*len)--;
	return data;
}

/* one row: api, patterns_json, path_json, expected, source_test */
static void run_vector(char *line, int lineno)
{
	char *cols[5];
	int nc = 0;
	for (char *p = line; nc < 5; nc++) {
		cols[nc] = p;
		char *tab = strchr(p, '\t');
		if (!tab) {
			nc++;
			break;
		}
		*tab = '\0';
		p = tab + 1;
	}
	char what[64];
	snprintf(what, sizeof(what), "patternmatcher-vectors.tsv:%d", lineno);
	if (nc != 5) {
		result(false, what, "malformed row");
		return;
	}
	cJSON *pj = cJSON_Parse(cols[1]), *fj = cJSON_Parse(cols[2]);
	if (!cJSON_IsArray(pj) || !cJSON_IsString(fj)) {
		result(false, what, "bad JSON");
		cJSON_Delete(pj);
		cJSON_Delete(fj);
		return;
	}
	size_t n = (size_t)cJSON_GetArraySize(pj);
	char **pats = xcalloc(n ? n : 1, sizeof(*pats));
	for (size_t i = 0; i < n; i++)
		pats[i] = cJSON_GetArrayItem(pj, (int)i)->valuestring;
	const char *path = fj->valuestring;
	struct berr *err = NULL;
	bool m = false;
	int rc;
	if (strcmp(cols[0], "Matches") == 0) {
		rc = df_ignore_matches(path, pats, n, &m, &err);
	} else {
		struct df_ignore *pm = NULL;
		rc = df_ignore_new(pats, n, &pm, &err);
		if (rc == 0)
			rc = df_ignore_matches_or_parent_matches(pm, path, &m, &err);
		df_ignore_free(pm);
	}
	const char *got = rc < 0 ? "error" : m ? "true" : "false";
	char detail[512];
	snprintf(detail, sizeof(detail), "%s %s %s: got %s, want %s%s%s", cols[0], cols[1],
		 cols[2], got, cols[3], err ? " / " : "", err ? err->msg : "");
	result(strcmp(got, cols[3]) == 0, what, detail);
	berr_free(err);
	free(pats);
	cJSON_Delete(pj);
	cJSON_Delete(fj);
}

static void run_vectors(const char *dir)
{
	_cleanup_free_ char *path = xasprintf("%s/patternmatcher-vectors.tsv", dir);
	size_t len;
	_cleanup_free_ char *data = slurp(path, &len);
	if (!data) {
		result(false, path, "cannot read");
		return;
	}
	int lineno = 0;
	for (char *p = data, *nl; *p; p = nl + 1) {
		nl = strchr(p, '\n');
		if (!nl)
			nl = p + strlen(p) - 1;
		else
			*nl = '\0';
		lineno++;
		if (lineno == 1 || !*p)
			continue; /* header */
		run_vector(p, lineno);
		if (!nl[1])
			break;
	}
}

/* ReadAll on `in`, compared with `want` (one pattern per line) */
static void check_readall(const char *in, const char *want_path, const char *compile_error)
{
	size_t il, wl;
	_cleanup_free_ char *input = slurp(in, &il);
	_cleanup_free_ char *want = slurp(want_path, &wl);
	if (!input || !want) {
		result(false, in, "cannot read");
		return;
	}
	char **pats = NULL;
	size_t n = 0;
	struct berr *err = NULL;
	if (df_ignore_read(input, il, &pats, &n, &err) < 0) {
		result(false, in, err->msg);
		berr_free(err);
		return;
	}
	struct bbuf got = BBUF_INIT;
	for (size_t i = 0; i < n; i++) {
		bbuf_addstr(&got, pats[i], NULL);
		bbuf_addch(&got, '\n', NULL);
	}
	bool ok = got.len == wl && memcmp(bbuf_str(&got), want, wl) == 0;
	result(ok, in, ok ? NULL : bbuf_str(&got));
	/* the list must then compile (real files), or fail as patternmatcher.New does */
	struct df_ignore *m = NULL;
	df_ignore_new(pats, n, &m, &err);
	if (!compile_error)
		result(!err, in, err ? err->msg : NULL);
	else
		result(err && strcmp(err->msg, compile_error) == 0, in,
		       err ? err->msg : "compiled, want an error");
	berr_free(err);
	df_ignore_free(m);
	bbuf_release(&got);
	df_ignore_patterns_free(pats, n);
}

static int cmpstr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_real_world(const char *dir)
{
	_cleanup_free_ char *rw = xasprintf("%s/real-world", dir);
	DIR *d = opendir(rw);
	if (!d) {
		result(false, rw, "cannot open");
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		size_t l = strlen(e->d_name);
		const char *suf = ".dockerignore";
		if (l > strlen(suf) && strcmp(e->d_name + l - strlen(suf), suf) == 0) {
			XGROW(names, n + 1, cap);
			names[n++] = xstrdup(e->d_name);
		}
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmpstr);
	for (size_t i = 0; i < n; i++) {
		_cleanup_free_ char *in = xasprintf("%s/%s", rw, names[i]);
		_cleanup_free_ char *want = xasprintf("%s.patterns", in);
		check_readall(in, want, NULL);
		free(names[i]);
	}
	free(names);
	if (n == 0)
		result(false, rw, "no .dockerignore files");
}

int main(void)
{
	const char *shared = getenv("BERTH_SHARED");
	_cleanup_free_ char *dir = xasprintf("%s/conformance/buildkit/dockerignore",
					     shared && *shared ? shared : "../shared");
	DIR *d = opendir(dir);
	if (!d) {
		printf("skip dockerignore conformance: %s not found\n", dir);
		skipped++;
	} else {
		closedir(d);
		run_vectors(dir);
		_cleanup_free_ char *in = xasprintf("%s/ignorefile-readall.dockerignore", dir);
		_cleanup_free_ char *want = xasprintf("%s/ignorefile-readall.expected", dir);
		check_readall(in, want, "illegal exclusion pattern: \"!\"");
		run_real_world(dir);
	}
	printf("RESULT: %d passed, %d failed, %d skipped\n", passed, failed, skipped);
	return failed ? 1 : 0;
}
