/* Dockerfile syntax tree: the output of the parser layer (df_parse.c), the
 * input of the instruction layer (df_instr.c), lint/ and builder/.
 *
 * It mirrors BuildKit's parser.Node closely enough to print its `result`
 * dump and its AST JSON byte for byte, but flattened for C: one df_node per
 * instruction, its arguments as a string array. Everything is owned by the
 * df_file and freed by df_file_free(). Strings are NUL-terminated; a
 * Dockerfile with NUL bytes is rejected by the parser, so C strings suffice
 * (the one exception, a JSON \u0000 escape, is covered by df_node.arglens,
 * which code building nodes by hand may leave NULL). */
#ifndef BERTH_DF_AST_H
#define BERTH_DF_AST_H

#include <stdbool.h>
#include <stddef.h>
#include "common/berr.h"

struct df_heredoc {
	char *name;      /* delimiter word, quotes removed ("EOF") */
	int fd;          /* 0 unless written as 3<<EOF */
	bool expand;     /* false when the delimiter was quoted */
	bool chomp;      /* <<- : leading tabs stripped */
	char *content;   /* raw body, including its final newline */
};

struct df_node {
	char *name;          /* instruction keyword as written ("Run") */
	char *cmd;           /* lower-cased keyword ("run"), what BuildKit dumps */
	char *original;      /* the joined logical line as written */
	char **flags;        /* raw flag words, quotes/escapes removed: "--from=build" */
	size_t nflags;
	char **args;         /* parser-layer arguments (ENV/LABEL: key,value,sep triples) */
	size_t nargs;
	size_t *arglens;     /* byte length of each args[i]: differs from strlen only
			      * when a JSON \u0000 escape put a NUL inside an exec-form
			      * argument (BuildKit keeps it; its dump shows "\x00") */
	bool json;           /* exec (JSON array) form */
	struct df_node *trigger; /* ONBUILD only: the nested instruction, else NULL */
	struct df_heredoc *heredocs;
	size_t nheredocs;
	char **comments;     /* PrevComment lines, in order */
	size_t ncomments;
	int start_line;      /* 1-based, inclusive */
	int end_line;        /* includes continuation lines and heredoc bodies */
	int col;             /* 1-based column of the keyword on start_line */
};

/* Limits. A physical line longer than DF_MAX_LINE_LEN bytes (not counting
 * its '\n') is rejected as BuildKit's bufio.Scanner does ("dockerfile line
 * greater than max allowed size of 65535"). */
#define DF_MAX_LINE_LEN 65535
/* df_parse_file refuses larger files (BuildKit has no such cap; this bounds
 * memory for a CLI reading stdin). */
#define DF_MAX_FILE_SIZE (64u * 1024 * 1024)
/* ONBUILD ONBUILD ... nesting the parser follows before giving up (BuildKit
 * recurses without a bound; the instruction layer rejects any nesting). */
#define DF_MAX_ONBUILD_DEPTH 64
/* Comment lines kept per instruction (the last ones before it). BuildKit
 * keeps all; the cap bounds memory for files made of millions of comments. */
#define DF_MAX_COMMENTS 1024

struct df_warning {
	char *msg;           /* e.g. "Empty continuation line found in: RUN a b" */
	int start_line, end_line;
};

struct df_file {
	char *name;          /* display name used in errors ("Dockerfile", "-") */
	char escape;         /* '\\' or '`' */
	char *syntax;        /* `# syntax=` value or NULL */
	char *check;         /* `# check=` value or NULL */
	/* 1-based line of each directive, 0 when absent */
	int syntax_line, escape_line, check_line;
	struct df_node *nodes;
	size_t nnodes;
	struct df_warning *warnings;
	size_t nwarnings;
	int start_line, end_line; /* span of all instructions (root node) */
};

/* Parse a Dockerfile held in memory. `name` is used in error messages
 * ("Dockerfile:3:1: error: ..."). On success *out is owned by the caller. */
int df_parse(const char *name, const char *data, size_t len, struct df_file **out,
	     struct berr **err);
/* Read and parse a file; path "-" reads stdin. */
int df_parse_file(const char *path, struct df_file **out, struct berr **err);
void df_file_free(struct df_file *f);

#endif
