#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

int berr_setv(struct berr **err, int code, const char *fmt, va_list ap)
{
	if (!err || *err)
		return -1;
	struct berr *e = xcalloc(1, sizeof(*e));
	e->code = code;
	e->msg = xvasprintf(fmt, ap);
	*err = e;
	return -1;
}

int berr_set(struct berr **err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	berr_setv(err, code, fmt, ap);
	va_end(ap);
	return -1;
}

int berr_set_errno(struct berr **err, int code, int errnum, const char *fmt, ...)
{
	if (!err || *err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *m = xvasprintf(fmt, ap);
	va_end(ap);
	berr_set(err, code, "%s: %s", m, strerror(errnum));
	(*err)->errnum = errnum;
	return -1;
}

int berr_set_at(struct berr **err, int code, const char *file, int line, int col,
		const char *fmt, ...)
{
	if (!err || *err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	berr_setv(err, code, fmt, ap);
	va_end(ap);
	berr_locate(err, file, line, col);
	return -1;
}

void berr_locate(struct berr **err, const char *file, int line, int col)
{
	if (!err || !*err || (*err)->file)
		return;
	(*err)->file = file ? xstrdup(file) : NULL;
	(*err)->line = line;
	(*err)->col = col;
}

int berr_wrap(struct berr **err, const char *fmt, ...)
{
	if (!err || !*err)
		return -1;
	va_list ap;
	va_start(ap, fmt);
	_cleanup_free_ char *ctx = xvasprintf(fmt, ap);
	va_end(ap);
	char *m = xasprintf("%s: %s", ctx, (*err)->msg);
	free((*err)->msg);
	(*err)->msg = m;
	return -1;
}

struct berr *berr_steal(struct berr **err)
{
	return steal_pointer(err);
}

void berr_free(struct berr *e)
{
	if (!e)
		return;
	free(e->msg);
	free(e->file);
	free(e);
}

void berr_clear(struct berr **err)
{
	if (err) {
		berr_free(*err);
		*err = NULL;
	}
}

void berr_print(FILE *out, const struct berr *e)
{
	if (!e)
		return;
	if (e->file && e->line > 0 && e->col > 0)
		fprintf(out, "%s:%d:%d: error: %s\n", e->file, e->line, e->col, e->msg);
	else if (e->file && e->line > 0)
		fprintf(out, "%s:%d: error: %s\n", e->file, e->line, e->msg);
	else if (e->file)
		fprintf(out, "%s: error: %s\n", e->file, e->msg);
	else
		fprintf(out, "berth: error: %s\n", e->msg);
}

int berr_exit_code(const struct berr *e)
{
	if (!e)
		return 0;
	return (e->code == BERR_USAGE || e->code == BERR_INPUT) ? 2 : 1;
}

const char *berr_code_name(int code)
{
	static const char *const names[] = {
		"ok", "usage", "input", "io", "notfound", "exists", "integrity",
		"unsupported", "limit", "network", "security", "failed", "internal",
	};
	if (code < 0 || (size_t)code >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[code];
}
