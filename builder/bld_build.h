/* The build: runs a plan's stages step by step (metadata, COPY/ADD, RUN via
 * an executor), with a per-step cache, and writes the result into berth's
 * local store and the requested outputs. See docs/builder.md.
 *
 * Ownership: struct bld_opts is borrowed for the call. Progress goes to
 * opts->log (the library writes progress lines, never errors: errors come
 * back as struct berr for cli/ to print). */
#ifndef BERTH_BLD_BUILD_H
#define BERTH_BLD_BUILD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "common/berr.h"
#include "image/img_compress.h"
#include "image/img_digest.h"

struct img_registry;

enum bld_progress {
	BLD_PROGRESS_AUTO = 0,
	BLD_PROGRESS_PLAIN,
	BLD_PROGRESS_JSON,
	BLD_PROGRESS_QUIET,
};

struct bld_opts {
	const char *dockerfile;       /* path, "-" for stdin, NULL: CONTEXT/Dockerfile */
	const char *context;          /* directory, "-" for stdin (a tar or a Dockerfile) */
	char **tags;                  /* -t */
	size_t ntags;
	char **build_args;            /* "K=V" or "K" */
	size_t nbuild_args;
	char **build_contexts;        /* "NAME=SRC" */
	size_t nbuild_contexts;
	char **secrets;               /* "id=ID,src=PATH" | "id=ID,env=VAR" */
	size_t nsecrets;
	char **labels;                /* "K=V" */
	size_t nlabels;
	char **outputs;               /* "type=oci,dest=DIR" ... */
	size_t noutputs;
	const char *target;
	const char *platform;
	const char *executor;         /* auto|linux|docker|none */
	bool no_cache;
	enum img_compression comp;
	bool has_epoch;               /* --source-date-epoch or SOURCE_DATE_EPOCH */
	int64_t epoch;
	enum bld_progress progress;
	bool tty;                     /* log is a terminal: byte progress for big layers */
	FILE *log;                    /* progress stream, NULL for none */
	int cancel_fd;                /* readable = stop the build (SIGINT); <= 0 none */
	char **ssh;                   /* --ssh "default|ID[=PATH[,PATH]]" */
	size_t nssh;
	char **check_hosts;           /* --check-host: Windows host builds/releases */
	size_t ncheck_hosts;
	/* set by bld_build for CONTEXT "-" (callers leave them zero) */
	const char *dockerfile_name;  /* the Dockerfile's name in messages */
	bool no_context;              /* stdin was a Dockerfile: nothing to COPY */
	/* registry bases (lazy): client for images not in the local store
	 * (borrowed; NULL: a default client) and the Windows os.version to
	 * select from manifest lists */
	struct img_registry *reg;
	const char *os_version;
};

struct bld_result {
	struct img_digest manifest;   /* the image's manifest digest */
	struct img_digest config;     /* image ID */
	unsigned steps, cached, layers_written;
};

int bld_build(const struct bld_opts *o, struct bld_result *res, struct berr **err);

/* Parse one --output value into its type and destination (and name for
 * type=docker). Exposed for the CLI's early checks. */
int bld_output_parse(const char *spec, char **type, char **dest, char **name,
		     struct berr **err);

#endif
