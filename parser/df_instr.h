/* Dockerfile instruction layer: typed, validated instructions built from the
 * parser's df_node list, the counterpart of BuildKit's
 * frontend/dockerfile/instructions package (see docs/instructions.md).
 *
 * Ownership: a struct df_instr owns every string and array in it (deep
 * copies), except `node`, which is borrowed from the df_file and must not
 * outlive it. struct df_stages owns its instructions. All *_free functions
 * accept NULL. No variable expansion happens here; values are as written.
 *
 * Error messages are BuildKit's texts verbatim (they do not follow the
 * lowercase house style on purpose: users compare them with docker build
 * output). Errors carry file:line:col: the line is the node's start line,
 * the column the offending flag's column when it can be found on that line,
 * else the keyword's column. */
#ifndef BERTH_DF_INSTR_H
#define BERTH_DF_INSTR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"
#include "parser/df_ast.h"

enum df_instr_kind {
	DF_I_FROM = 1,
	DF_I_RUN,
	DF_I_CMD,
	DF_I_ENTRYPOINT,
	DF_I_SHELL,
	DF_I_LABEL,
	DF_I_MAINTAINER,
	DF_I_EXPOSE,
	DF_I_ENV,
	DF_I_ADD,
	DF_I_COPY,
	DF_I_VOLUME,
	DF_I_USER,
	DF_I_WORKDIR,
	DF_I_ARG,
	DF_I_ONBUILD,
	DF_I_STOPSIGNAL,
	DF_I_HEALTHCHECK,
};

/* "FROM", "RUN"... (upper case), NULL for an invalid kind. */
const char *df_instr_kind_name(enum df_instr_kind kind);

struct df_strv {           /* a string list; items == NULL means "null" */
	char **items;
	size_t n;
	size_t *lens;      /* byte lengths, only when an item holds a NUL (an
			    * exec-form JSON \u0000); NULL otherwise */
};

struct df_kv {             /* ENV / LABEL pair */
	char *key;
	char *value;
	bool no_delim;     /* legacy `KEY value` form (no '=') */
};

struct df_argdef {         /* one ARG name[=default] */
	char *key;
	char *value;       /* NULL when no '=' was given */
	char *doc_comment; /* from a preceding "# NAME text" comment, or "" */
};

struct df_inline_file {    /* RUN/CMD heredoc */
	char *name;
	char *data;
	bool chomp;
};

struct df_source_content { /* COPY/ADD heredoc source */
	char *path;
	char *data;        /* already tab-stripped for <<- */
	bool expand;
};

struct df_cmdline {
	struct df_strv args;   /* exec form: one per element; shell form: one joined string */
	bool prepend_shell;    /* shell form */
	struct df_inline_file *files;
	size_t nfiles;
};

enum df_mount_type {
	DF_MOUNT_BIND = 0,
	DF_MOUNT_CACHE,
	DF_MOUNT_TMPFS,
	DF_MOUNT_SECRET,
	DF_MOUNT_SSH,
};

/* One RUN --mount. Before expansion (df_instr_from_node) only `from` is
 * known; the builder re-parses the spec with df_mount_parse and an expander
 * to get (and check) every field. */
struct df_mount {
	enum df_mount_type type;
	char *from, *source, *target, *id, *sharing, *env; /* NULL when unset */
	bool readonly;
	bool required;
	int64_t size_limit;    /* tmpfs size= in bytes, 0 unset */
	bool has_mode, has_uid, has_gid;
	uint32_t mode, uid, gid;
};

struct df_device {
	char *name;
	bool required;
};

struct df_health {
	struct df_strv test;   /* ["NONE"], ["CMD", ...] or ["CMD-SHELL", "..."] */
	int64_t interval, timeout, start_period, start_interval; /* ns, 0 = unset */
	int retries;
};

struct df_copy {           /* ADD and COPY */
	struct df_strv sources;
	struct df_source_content *contents;
	size_t ncontents;
	char *dest;
	char *chown, *chmod;   /* "" when unset */
	char *from;            /* COPY --from, "" when unset */
	char *checksum;        /* ADD --checksum, "" when unset */
	bool link;
	bool parents;          /* COPY only */
	int keep_git_dir;      /* ADD: -1 not given, else 0/1 */
	int unpack;            /* ADD: -1 not given, else 0/1 */
	struct df_strv exclude;/* --exclude values, items NULL when none */
};

struct df_instr {
	enum df_instr_kind kind;
	const struct df_node *node; /* borrowed */
	union {
		struct {
			char *base;
			char *name;     /* stage name, lower-cased, "" if none */
			char *platform; /* "" if none */
		} from;
		struct {
			struct df_cmdline cmd;
			struct df_strv mount_specs; /* raw --mount values */
			struct df_mount *mounts;    /* parse-time view of each */
			size_t nmounts;
			struct df_device *devices;
			size_t ndevices;
			char *network;              /* default|none|host */
			char *security;             /* sandbox|insecure */
			struct df_strv flags_used;  /* sorted names, items NULL if none */
		} run;
		struct df_cmdline cmd;          /* CMD, ENTRYPOINT (ENTRYPOINT []: args.items NULL) */
		struct df_strv shell;           /* SHELL */
		struct {
			struct df_kv *kvs;
			size_t n;
		} kv;                           /* ENV, LABEL */
		char *str;                      /* MAINTAINER, USER, WORKDIR, STOPSIGNAL */
		struct df_strv list;            /* EXPOSE (sorted), VOLUME */
		struct df_copy copy;            /* ADD, COPY */
		struct {
			struct df_argdef *args;
			size_t n;
		} arg;
		char *onbuild;                  /* the trigger expression */
		struct df_health health;
	} u;
};

/* Convert and validate one instruction node. On success *out is owned by the
 * caller (df_instr_free). `f` supplies the file name and escape token. */
int df_instr_from_node(const struct df_file *f, const struct df_node *n,
		       struct df_instr **out, struct berr **err);
void df_instr_free(struct df_instr *in);

struct df_stage {
	struct df_instr *from;   /* the FROM instruction (owned) */
	struct df_instr **cmds;  /* owned */
	size_t ncmds;
};

struct df_stages {
	struct df_instr **meta_args; /* ARGs before the first FROM (owned) */
	size_t nmeta_args;
	struct df_stage *stages;
	size_t nstages;
};

/* Where df_stages_parse failed: the node, and whether the failure was the
 * instruction's own validation (BuildKit wraps those as "dockerfile parse
 * error on line N: ...") or the file structure ("no build stage in current
 * context", not wrapped). */
struct df_stages_fail {
	const struct df_node *node;
	bool instr_error;
};

/* Whole-file parse into stages, as BuildKit's instructions.Parse: stops at
 * the first error. The error message is the bare BuildKit message, located
 * at the failing node. `fail` may be NULL. */
int df_stages_parse(const struct df_file *f, struct df_stages **out,
		    struct df_stages_fail *fail, struct berr **err);
void df_stages_free(struct df_stages *s);

/* --mount / --device value parsing. With expand == NULL this is BuildKit's
 * parse-time pass (only CSV syntax and a `from` containing '$' are checked,
 * every other field is deferred). With an expander every field is expanded
 * and fully validated; df_expand_identity checks values as written. The
 * expander returns a malloc'ed string or NULL with *err set. */
typedef char *(*df_expand_fn)(void *ctx, const char *word, struct berr **err);
char *df_expand_identity(void *ctx, const char *word, struct berr **err);
int df_mount_parse(const char *spec, df_expand_fn expand, void *ctx,
		   struct df_mount *out, struct berr **err);
void df_mount_clear(struct df_mount *m);
const char *df_mount_type_name(enum df_mount_type t);
int df_device_parse(const char *spec, struct df_device *out, struct berr **err);

/* Go time.ParseDuration (nanoseconds); error texts as Go's. */
int df_parse_duration(const char *s, int64_t *out, struct berr **err);

/* Printer for the reference format of BuildKit's Dockerfile.instructions:
 * "START-END\tNAME\tok\t{json}" or "...\terror\t<message>" per node, then
 * "PARSE\tok\tstages=N metaArgs=M" or "PARSE\terror\t<message>".
 * Returns a malloc'ed text. */
char *df_instr_print_reference(const struct df_file *f);
/* The JSON summary of one instruction (BuildKit's typed struct, keys as in
 * the reference files). Malloc'ed. */
char *df_instr_json(const struct df_instr *in);

#endif
