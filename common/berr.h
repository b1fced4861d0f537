/* berth error object: one contract for every library function.
 *
 * Functions that can fail take `struct berr **err` last, return -1 (or NULL)
 * and set *err; on success *err is left untouched (NULL). Passing err == NULL
 * means the caller does not want details. The first error set wins: a later
 * berr_set on an already-set *err is ignored, so cleanup paths cannot mask
 * the root cause. Only cli/ prints errors (berr_print) and picks exit codes. */
#ifndef BERTH_BERR_H
#define BERTH_BERR_H

#include <stdarg.h>
#include <stdio.h>

enum berr_code {
	BERR_OK = 0,
	BERR_USAGE,       /* bad command line */
	BERR_INPUT,       /* malformed input: Dockerfile, JSON, tar, version... */
	BERR_IO,          /* filesystem / OS failure */
	BERR_NOTFOUND,    /* missing file, blob, tag, stage */
	BERR_EXISTS,
	BERR_INTEGRITY,   /* digest or size mismatch */
	BERR_UNSUPPORTED,
	BERR_LIMIT,       /* a named size/depth limit was exceeded */
	BERR_NETWORK,
	BERR_SECURITY,    /* path escape, refused link */
	BERR_FAILED,      /* an operation ran and said no (RUN exit != 0...) */
	BERR_INTERNAL,
};

struct berr {
	int code;        /* enum berr_code */
	int errnum;      /* errno at the failure, 0 if none */
	char *msg;       /* owned, full message including wrapped context */
	char *file;      /* owned, optional: input file the error is about */
	int line, col;   /* 1-based; 0 when unknown */
};

/* All setters return -1 so that `return berr_set(err, ...);` reads well. */
int berr_set(struct berr **err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int berr_setv(struct berr **err, int code, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));
/* Appends ": strerror(errnum)" to the message. */
int berr_set_errno(struct berr **err, int code, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Error located in an input file (Dockerfile, JSON file...). */
int berr_set_at(struct berr **err, int code, const char *file, int line, int col,
		const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* Prefix context: "ctx: <old message>". No-op when err or *err is NULL. */
int berr_wrap(struct berr **err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Attach a file name (and position) if the error has none yet. */
void berr_locate(struct berr **err, const char *file, int line, int col);

struct berr *berr_steal(struct berr **err);
void berr_free(struct berr *e);
void berr_clear(struct berr **err);
/* "berth: error: msg" or "FILE:LINE:COL: error: msg" */
void berr_print(FILE *out, const struct berr *e);
/* 2 for usage/input errors, 1 for everything else */
int berr_exit_code(const struct berr *e);
const char *berr_code_name(int code);

#endif
