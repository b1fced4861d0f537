/* Unit tests for the Dockerfile parser layer and its printers (parser/). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_ast.h"
#include "parser/df_json.h"
#include "parser/df_print.h"
#include "common/common.h"

/* Parse src and return the BuildKit dump (malloc'd), or NULL on error. */
static char *dumpn(const char *src, size_t n)
{
	struct df_file *f = NULL;
	struct berr *err = NULL;
	if (df_parse("Dockerfile", src, n, &f, &err) < 0) {
		berr_free(err);
		return NULL;
	}
	struct bbuf b = BBUF_INIT;
	df_print_buildkit(f, &b);
	df_file_free(f);
	return bbuf_detach(&b, NULL);
}

static char *dump(const char *src)
{
	return dumpn(src, strlen(src));
}

static struct df_file *parse_ok(const char *src)
{
	struct df_file *f = NULL;
	struct berr *err = NULL;
	int rc = df_parse("Dockerfile", src, strlen(src), &f, &err);
	if (rc < 0)
		fprintf(stderr, "unexpected error: %s\n", err->msg);
	assert_int_equal(rc, 0);
	assert_null(err);
	return f;
}

/* Expect an error; returns it (caller frees). */
static struct berr *parse_errn(const char *src, size_t n)
{
	struct df_file *f = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_parse("Dockerfile", src, n, &f, &err), -1);
	assert_null(f);
	assert_non_null(err);
	assert_int_equal(err->code, BERR_INPUT);
	assert_string_equal(err->file, "Dockerfile");
	return err;
}

static void expect_err(const char *src, int line, const char *msg)
{
	struct berr *err = parse_errn(src, strlen(src));
	if (strcmp(err->msg, msg) != 0 || err->line != line)
		fprintf(stderr, "input %s\n got %d:%s\nwant %d:%s\n", src, err->line, err->msg,
			line, msg);
	assert_string_equal(err->msg, msg);
	assert_int_equal(err->line, line);
	assert_true(err->col >= 1);
	berr_free(err);
}

struct dcase {
	const char *in, *out;
};

static void run_cases(const struct dcase *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		char *d = dump(c[i].in);
		if (!d || strcmp(d, c[i].out) != 0)
			fprintf(stderr, "case %zu: input [%s]\n got [%s]\nwant [%s]\n", i, c[i].in,
				d ? d : "(error)", c[i].out);
		assert_non_null(d);
		assert_string_equal(d, c[i].out);
		free(d);
	}
}

static void test_directives(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		/* case-insensitive, spaces around '=' */
		{ "# ESCAPE = `\nFROM a\nRUN b `\n c\n", "(from \"a\")\n(run \"b  c\")\n" },
		{ "#escape=`\nRUN a \\\nRUN b\n", "(run \"a \\\\\")\n(run \"b\")\n" },
		/* blank line ends directive processing: later escape is a comment */
		{ "\n# escape=`\nRUN a `\nb\n", "(run \"a `\")\n(b \"\")\n" },
		/* an ordinary comment ends it too, and so does an unknown directive */
		{ "# hello\n# escape=`\nRUN a `\nb\n", "(run \"a `\")\n(b \"\")\n" },
		{ "# foo=bar\n# escape=`\nRUN a `\nb\n", "(run \"a `\")\n(b \"\")\n" },
		/* leading whitespace before '#' is allowed */
		{ "   # escape=`\nRUN a `\nb\n", "(run \"a b\")\n" },
		/* directives are not instructions */
		{ "# syntax=docker/dockerfile:1\n# check=skip=all\nFROM x\n", "(from \"x\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));

	struct df_file *f = parse_ok("# syntax = docker/dockerfile:1  \n#CHECK=error=true\n# escape=`\nFROM x\n");
	assert_string_equal(f->syntax, "docker/dockerfile:1");
	assert_string_equal(f->check, "error=true");
	assert_int_equal(f->escape, '`');
	assert_int_equal(f->start_line, 4);
	assert_int_equal(f->nodes[0].ncomments, 0); /* directives are not comments */
	assert_int_equal(f->syntax_line, 1);
	assert_int_equal(f->check_line, 2);
	assert_int_equal(f->escape_line, 3);
	df_file_free(f);

	expect_err("# escape=x\nFROM a\n", 1, "invalid escape token 'x' does not match ` or \\");
	expect_err("# escape=` # x\nFROM a\n", 1,
		   "invalid escape token '` # x' does not match ` or \\");
	expect_err("# escape=\\\n# ESCAPE=`\nFROM a\n", 2,
		   "only one escape parser directive can be used");
	expect_err("# syntax=a\n# syntax=b\nFROM a\n", 2,
		   "only one syntax parser directive can be used");
	expect_err("#check=a\n#check=b\nFROM a\n", 2, "only one check parser directive can be used");
	/* "# escape=  " : the lazy value regexp keeps one space */
	expect_err("# escape=  \nFROM a\n", 1, "invalid escape token ' ' does not match ` or \\");
}

static void test_comments_and_blank(void **state)
{
	(void)state;
	struct df_file *f = parse_ok("# first\n\n# second\nFROM a\n#\n# third\nRUN x\n  # indented\nRUN y\n");
	assert_int_equal(f->nnodes, 3);
	assert_int_equal(f->nodes[0].ncomments, 2);
	assert_string_equal(f->nodes[0].comments[0], "first");
	assert_string_equal(f->nodes[0].comments[1], "second");
	/* an empty '#' resets the collection */
	assert_int_equal(f->nodes[1].ncomments, 1);
	assert_string_equal(f->nodes[1].comments[0], "third");
	/* BuildKit drops only the first byte of an indented comment */
	assert_int_equal(f->nodes[2].ncomments, 1);
	assert_string_equal(f->nodes[2].comments[0], "# indented");
	df_file_free(f);

	static const struct dcase c[] = {
		{ "RUN echo # not a comment\n", "(run \"echo # not a comment\")\n" },
		/* comment lines inside a continuation are skipped */
		{ "RUN a \\\n# c\n  # d\n  b\n", "(run \"a   b\")\n" },
		/* a comment ending with the escape char does not continue */
		{ "# c \\\nRUN a\n", "(run \"a\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));
	expect_err("", 1, "file with no instructions");
	expect_err("# only\n\n   \n# comments\n", 4, "file with no instructions");
	expect_err("# syntax=x\n", 1, "file with no instructions");
}

static void test_continuation(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		{ "RUN a \\\n    b\n", "(run \"a     b\")\n" },
		{ "RUN echo hello\\\n  world\n", "(run \"echo hello  world\")\n" },
		{ "RUN a \\  \t\nb\n", "(run \"a b\")\n" },
		/* escaped escape: no continuation; odd runs of 3 neither (regexp quirk) */
		{ "RUN a \\\\\nRUN b\n", "(run \"a \\\\\\\\\")\n(run \"b\")\n" },
		{ "RUN a \\\\\\\nRUN b\n", "(run \"a \\\\\\\\\\\\\")\n(run \"b\")\n" },
		/* CR followed by a space after the escape: not a continuation (the
		 * trailing CR and space are then trimmed as whitespace) */
		{ "RUN a \\\r \nRUN b\n", "(run \"a \\\\\")\n(run \"b\")\n" },
		/* a lone escape line starts an instruction on the next line */
		{ "\\\nRUN x\n", "(run \"x\")\n" },
		/* ... and at EOF yields an instruction with an empty name */
		{ "FROM a\n\\", "(from \"a\")\n(\"\")\n" },
		/* EOF while continuing */
		{ "FROM a\nRUN b \\", "(from \"a\")\n(run \"b\")\n" },
		/* with escape=` a trailing backslash is text */
		{ "# escape=`\nENV GOPATH \\\nRUN x\n", "(env \"GOPATH\" \"\\\\\" \"\")\n(run \"x\")\n" },
		/* CRLF line endings and a BOM */
		{ "\xEF\xBB\xBF" "FROM a\r\nRUN b \\\r\n  c\r\n", "(from \"a\")\n(run \"b   c\")\n" },
		{ "FROM a\r\r\n", "(from \"a\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));

	struct df_file *f = parse_ok("FROM a\nRUN x \\\n\n   \n  y\nRUN z\n");
	assert_int_equal(f->nwarnings, 1);
	assert_string_equal(f->warnings[0].msg, "Empty continuation line found in: RUN x   y");
	assert_int_equal(f->warnings[0].start_line, 5);
	assert_int_equal(f->nodes[1].start_line, 2);
	assert_int_equal(f->nodes[1].end_line, 5);
	assert_int_equal(f->nodes[2].start_line, 6);
	assert_int_equal(f->start_line, 1);
	assert_int_equal(f->end_line, 6);
	df_file_free(f);
}

static void test_flags(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		{ "COPY --from=build --link a b\n", "(copy [\"--from=build\" \"--link\"] \"a\" \"b\")\n" },
		{ "COPY -- --src /d\n", "(copy \"--src\" \"/d\")\n" },
		{ "COPY --chown=\"a b\" x y\n", "(copy [\"--chown=a b\"] \"x\" \"y\")\n" },
		{ "COPY --b='\\x' a b\n", "(copy [\"--b=x\"] \"a\" \"b\")\n" },
		{ "CMD --doit [ \"a\", \"b\" ]\n", "(cmd [\"--doit\"] \"a\" \"b\")\n" },
		{ "CMD --doit -- [ ]\n", "(cmd [\"--doit\"])\n" },
		{ "RUN --x\n", "(run [\"--x\"])\n" },
		{ "RUN --a=\"unterminated b\n", "(run [\"--a=unterminated b\"])\n" },
		/* bytes are Latin-1 code points: A0 (second byte of U+00E0) is a space */
		{ "COPY --from=\xC3\xA0 a b\n", "(copy [\"--from=\xC3\x83\"] \"a\" \"b\")\n" },
		{ "FROM --platform=linux/amd64 alpine AS b\n",
		  "(from [\"--platform=linux/amd64\"] \"alpine\" \"AS\" \"b\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));
}

static void test_instruction_args(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		{ "RUN echo \"a  b\"\t'c'\n", "(run \"echo \\\"a  b\\\"\\t'c'\")\n" },
		{ "CMD\n", "(cmd)\n" },
		{ "RUN\n", "(run)\n" },
		{ "COPY \"a b\" c\n", "(copy \"\\\"a\" \"b\\\"\" \"c\")\n" },
		{ "VOLUME /a /b\n", "(volume \"/a\" \"/b\")\n" },
		{ "VOLUME [\"/a\", \"/b\"]\n", "(volume \"/a\" \"/b\")\n" },
		{ "FROM a as B\n", "(from \"a\" \"as\" \"B\")\n" },
		{ "EXPOSE 80\t443/tcp\n", "(expose \"80\" \"443/tcp\")\n" },
		{ "USER a b\n", "(user \"a b\")\n" },
		{ "WORKDIR  /x y \n", "(workdir \"/x y\")\n" },
		{ "MAINTAINER Me <me@x>\n", "(maintainer \"Me <me@x>\")\n" },
		{ "STOPSIGNAL SIGKILL\n", "(stopsignal \"SIGKILL\")\n" },
		{ "HEALTHCHECK\n", "(healthcheck)\n" },
		{ "HEALTHCHECK NONE\n", "(healthcheck \"NONE\")\n" },
		{ "HEALTHCHECK CMD [\"a\", \"b\"]\n", "(healthcheck \"CMD\" \"a\" \"b\")\n" },
		{ "HEALTHCHECK --interval=5s cmd a b\n", "(healthcheck [\"--interval=5s\"] \"cmd\" \"a b\")\n" },
		{ "ARG a b=\"c d\" e=\n", "(arg \"a\" \"b=\\\"c d\\\"\" \"e=\")\n" },
		{ "ARG\n", "(arg)\n" },
		{ "FOO bar baz\n", "(foo \"\")\n" },
		{ "Run x\n", "(run \"x\")\n" },
		{ "ONBUILD RUN echo test\n", "(onbuild (run \"echo test\"))\n" },
		{ "ONBUILD\n", "(onbuild)\n" },
		{ "ONBUILD --x COPY --from=b a b\n", "(onbuild [\"--x\"] (copy [\"--from=b\"] \"a\" \"b\"))\n" },
		{ "ONBUILD ONBUILD RUN [\"x\"]\n", "(onbuild (onbuild (run \"x\")))\n" },
	};
	run_cases(c, ARRAY_SIZE(c));

	struct df_file *f = parse_ok("Run --mount=type=cache x\n");
	assert_string_equal(f->nodes[0].name, "Run");
	assert_string_equal(f->nodes[0].cmd, "run");
	assert_string_equal(f->nodes[0].original, "Run --mount=type=cache x");
	assert_int_equal(f->nodes[0].nflags, 1);
	assert_int_equal(f->nodes[0].col, 1);
	df_file_free(f);
	f = parse_ok("  ONBUILD ADD . /app\n");
	assert_int_equal(f->nodes[0].col, 3);
	assert_non_null(f->nodes[0].trigger);
	assert_string_equal(f->nodes[0].trigger->cmd, "add");
	assert_string_equal(f->nodes[0].trigger->original, "ADD . /app");
	assert_int_equal(f->nodes[0].nargs, 0);
	df_file_free(f);
}

static void test_json_form(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		{ "CMD []\n", "(cmd)\n" },
		{ "CMD [ ]\n", "(cmd)\n" },
		{ "CMD [\"\"]\n", "(cmd \"\")\n" },
		{ "CMD\t[\t\"a\",\t\"b\"\t]\t\n", "(cmd \"a\" \"b\")\n" },
		{ "CMD [\"\\\" \\\\ \\/ \\b \\f \\n \\r \\t \\u0000\"]\n",
		  "(cmd \"\\\" \\\\ / \\b \\f \\n \\r \\t \\x00\")\n" },
		{ "CMD [\"\\ud83d\\ude00\", \"\\ud800x\", \"\\udc00\"]\n",
		  "(cmd \"\xF0\x9F\x98\x80\" \"\xEF\xBF\xBDx\" \"\xEF\xBF\xBD\")\n" },
		/* not valid JSON: shell form, text kept verbatim */
		{ "CMD ['a']\n", "(cmd \"['a']\")\n" },
		{ "CMD [\"a\",]\n", "(cmd \"[\\\"a\\\",]\")\n" },
		{ "CMD [\"a\" \"b\"]\n", "(cmd \"[\\\"a\\\" \\\"b\\\"]\")\n" },
		{ "CMD [\"a\"] x\n", "(cmd \"[\\\"a\\\"] x\")\n" },
		{ "CMD [\"a\n", "(cmd \"[\\\"a\")\n" },
		{ "CMD [\"a\tb\"]\n", "(cmd \"[\\\"a\\tb\\\"]\")\n" },
		{ "RUN [\"C:\\Ruby\\bin\"]\n", "(run \"[\\\"C:\\\\Ruby\\\\bin\\\"]\")\n" },
		{ "RUN [Net.ServicePointManager]::x\n", "(run \"[Net.ServicePointManager]::x\")\n" },
		{ "CMD [\"a\", 01]\n", "(cmd \"[\\\"a\\\", 01]\")\n" },
		{ "CMD [\"a\"\x0b]\n", "(cmd \"[\\\"a\\\"\\v]\")\n" },
		{ "COPY [\"a b\", \"c\"]\n", "(copy \"a b\" \"c\")\n" },
		/* a number overflowing float64 makes Go's Unmarshal fail: shell form */
		{ "CMD [\"a\", 1e999]\n", "(cmd \"[\\\"a\\\", 1e999]\")\n" },
		{ "CMD [[-1e400]]\n", "(cmd \"[[-1e400]]\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));

	struct df_file *f = parse_ok("CMD [\"a\\u0000b\"]\n");
	assert_true(f->nodes[0].json);
	assert_int_equal(f->nodes[0].arglens[0], 3);
	assert_memory_equal(f->nodes[0].args[0], "a\0b", 4);
	df_file_free(f);

	expect_err("CMD [\"a\", 1]\n", 1,
		   "when using JSON array syntax, arrays must be comprised of strings only");
	expect_err("FROM a\nRUN [[\"x\"]]\n", 2,
		   "when using JSON array syntax, arrays must be comprised of strings only");
	expect_err("COPY [\"a\", {\"b\": null}, true, -1.5e3]\n", 1,
		   "when using JSON array syntax, arrays must be comprised of strings only");
	expect_err("HEALTHCHECK CMD [\"a\", false]\n", 1,
		   "when using JSON array syntax, arrays must be comprised of strings only");
	expect_err("ONBUILD CMD [null]\n", 1,
		   "when using JSON array syntax, arrays must be comprised of strings only");
}

static void test_json_depth(void **state)
{
	(void)state;
	/* Go accepts nesting up to 10000 (then the fatal non-string error),
	 * deeper is a syntax error, so the line is shell form. */
	for (int depth = DF_JSON_MAX_DEPTH; depth <= DF_JSON_MAX_DEPTH + 1; depth++) {
		struct bbuf b = BBUF_INIT;
		bbuf_addstr(&b, "CMD ", NULL);
		for (int i = 0; i < depth; i++)
			bbuf_addch(&b, '[', NULL);
		for (int i = 0; i < depth; i++)
			bbuf_addch(&b, ']', NULL);
		bbuf_addch(&b, '\n', NULL);
		struct df_file *f = NULL;
		struct berr *err = NULL;
		int rc = df_parse("Dockerfile", b.data, b.len, &f, &err);
		if (depth == DF_JSON_MAX_DEPTH) {
			assert_int_equal(rc, -1);
			berr_free(err);
		} else {
			assert_int_equal(rc, 0);
			assert_false(f->nodes[0].json);
			df_file_free(f);
		}
		bbuf_release(&b);
	}
	/* the decoder directly */
	char **items;
	size_t *lens, count;
	assert_int_equal(df_json_string_array("[\"a\" , \"b\"] \r\n", 14, &items, &lens, &count),
			 DF_JSON_STRINGS);
	assert_int_equal(count, 2);
	for (size_t i = 0; i < count; i++)
		free(items[i]);
	free(items);
	free(lens);
	assert_int_equal(df_json_string_array("[1.]", 4, &items, &lens, &count), DF_JSON_INVALID);
	assert_int_equal(df_json_string_array("[\"x\", [1, {\"k\": [true]}]]", 25, &items, &lens,
					      &count), DF_JSON_NOT_STRINGS);
	assert_int_equal(df_json_string_array("[{\"k\" 1}]", 9, &items, &lens, &count),
			 DF_JSON_INVALID);
}

static void test_env_label(void **state)
{
	(void)state;
	static const struct dcase c[] = {
		{ "ENV name value\n", "(env \"name\" \"value\" \"\")\n" },
		{ "ENV name value  more words\n", "(env \"name\" \"value  more words\" \"\")\n" },
		{ "ENV a b=c\n", "(env \"a\" \"b=c\" \"\")\n" },
		{ "ENV a=1 b=2\n", "(env \"a\" \"1\" \"=\" \"b\" \"2\" \"=\")\n" },
		{ "ENV name=\"a b\"\n", "(env \"name\" \"\\\"a b\\\"\" \"=\")\n" },
		{ "ENV name=a\\ b c=d\n", "(env \"name\" \"a\\\\ b\" \"=\" \"c\" \"d\" \"=\")\n" },
		{ "ENV name='a \\' b=c\n", "(env \"name\" \"'a \\\\'\" \"=\" \"b\" \"c\" \"=\")\n" },
		{ "ENV name=\"a\\\"b\"\n", "(env \"name\" \"\\\"a\\\\\\\"b\\\"\" \"=\")\n" },
		{ "ENV =x\n", "(env \"\" \"x\" \"=\")\n" },
		{ "ENV \"a=b\"\n", "(env \"\\\"a\" \"b\\\"\" \"=\")\n" },
		{ "ENV a=\"\"\n", "(env \"a\" \"\\\"\\\"\" \"=\")\n" },
		{ "ENV\n", "(env)\n" },
		{ "LABEL maintainer me\n", "(label \"maintainer\" \"me\" \"\")\n" },
		{ "LABEL \"a b\"=c d=e\n", "(label \"\\\"a b\\\"\" \"c\" \"=\" \"d\" \"e\" \"=\")\n" },
		/* escape at the very end is dropped */
		{ "ENV a=b\\\\\n", "(env \"a\" \"b\\\\\\\\\" \"=\")\n" },
		/* invalid UTF-8 becomes U+FFFD in parse-words */
		{ "ENV a=\xff\n", "(env \"a\" \"\xEF\xBF\xBD\" \"=\")\n" },
		{ "# escape=`\nENV a=x`\"y b=c\n", "(env \"a\" \"x`\\\"y\" \"=\" \"b\" \"c\" \"=\")\n" },
	};
	run_cases(c, ARRAY_SIZE(c));
	expect_err("FROM a\nENV a\n", 2, "ENV must have two arguments");
	expect_err("LABEL a\n", 1, "LABEL must have two arguments");
	expect_err("ENV a=b c\n", 1,
		   "Syntax error - can't find = in \"c\". Must be of the form: name=value");
	expect_err("LABEL a=b \"c\td\"\n", 1,
		   "Syntax error - can't find = in \"\\\"c\\td\\\"\". Must be of the form: name=value");
}

static void test_heredocs(void **state)
{
	(void)state;
	struct df_file *f = parse_ok(
		"FROM alpine\n"
		"RUN <<EOF\nhello\nEOF\n"
		"RUN 3<<EMPTY\nEMPTY\n"
		"RUN <<-'NOEXPAND'\n\tdon't $X\n\tNOEXPAND\n"
		"COPY <<X <<Y /dest\nY\nX\nX\nY\n"
		"RUN \"<<NOT\"\n"
		"USER <<INVALID\nINVALID\n"
		"RUN [\"<<EOF\"]\n"
		"RUN cat <<  SPACED\nbody\r\nSPACED\r\n"
		"RUN <<E\"O\"F\nx\nEOF\n"
		"RUN <<eo\\'f\nx\neo'f\n"
		"ONBUILD RUN <<T\nt\nT\n"
		"RUN <<EOF'\nnot a heredoc\n");
	assert_int_equal(f->nnodes, 15);
	const struct df_node *n = &f->nodes[1];
	assert_int_equal(n->nheredocs, 1);
	assert_string_equal(n->heredocs[0].name, "EOF");
	assert_string_equal(n->heredocs[0].content, "hello\n");
	assert_true(n->heredocs[0].expand);
	assert_false(n->heredocs[0].chomp);
	assert_int_equal(n->heredocs[0].fd, 0);
	assert_int_equal(n->start_line, 2);
	assert_int_equal(n->end_line, 4);
	n = &f->nodes[2];
	assert_int_equal(n->heredocs[0].fd, 3);
	assert_string_equal(n->heredocs[0].content, "");
	n = &f->nodes[3];
	assert_string_equal(n->heredocs[0].name, "NOEXPAND");
	assert_false(n->heredocs[0].expand);
	assert_true(n->heredocs[0].chomp);
	assert_string_equal(n->heredocs[0].content, "\tdon't $X\n");
	n = &f->nodes[4];
	assert_int_equal(n->nheredocs, 2);
	assert_string_equal(n->heredocs[0].name, "X");
	assert_string_equal(n->heredocs[0].content, "Y\n");
	assert_string_equal(n->heredocs[1].content, "X\n");
	assert_int_equal(f->nodes[5].nheredocs, 0);  /* quoted "<<NOT" */
	assert_int_equal(f->nodes[6].nheredocs, 0);  /* USER */
	assert_string_equal(f->nodes[7].cmd, "invalid");
	assert_int_equal(f->nodes[8].nheredocs, 0);  /* JSON form */
	n = &f->nodes[9];
	assert_int_equal(n->nheredocs, 1);
	assert_string_equal(n->heredocs[0].name, "SPACED");
	assert_string_equal(n->heredocs[0].content, "body\r\n");
	n = &f->nodes[10];
	assert_string_equal(n->heredocs[0].name, "EOF");
	assert_false(n->heredocs[0].expand);
	n = &f->nodes[11];
	assert_string_equal(n->heredocs[0].name, "eo'f");
	assert_true(n->heredocs[0].expand);
	n = &f->nodes[12];
	assert_int_equal(n->nheredocs, 1);
	assert_string_equal(n->heredocs[0].content, "t\n");
	/* unbalanced quote: the lexer fails, so no heredoc at all */
	assert_int_equal(f->nodes[13].nheredocs, 0);
	assert_string_equal(f->nodes[14].cmd, "not");
	df_file_free(f);

	char *d = dump("RUN <<EOF\nhello\nEOF\n");
	assert_string_equal(d, "(run \"<<EOF\")\n");
	free(d);
	expect_err("FROM a\nRUN <<EOF\nabc\n", 2, "unterminated heredoc");
	expect_err("COPY <<A <<B /d\na\nA\nb\n", 1, "unterminated heredoc");
}

static void test_quote(void **state)
{
	(void)state;
	static const struct {
		const char *in;
		size_t n;
		const char *out;
	} c[] = {
		{ "abc", 3, "\"abc\"" },
		{ "\"\\", 2, "\"\\\"\\\\\"" },
		{ "\a\b\f\n\r\t\v", 7, "\"\\a\\b\\f\\n\\r\\t\\v\"" },
		{ "\x01\x7f", 2, "\"\\x01\\x7f\"" },
		{ "\0", 1, "\"\\x00\"" },
		{ "\xff\xfe", 2, "\"\\xff\\xfe\"" },
		{ "\xC0\x80", 2, "\"\\xc0\\x80\"" },
		{ "\xED\xA0\x80", 3, "\"\\xed\\xa0\\x80\"" },
		{ "\xE2\x99\xA5 \xC3\xA0", 6, "\"\xE2\x99\xA5 \xC3\xA0\"" },
		{ "\xC2\xA0", 2, "\"\\u00a0\"" },
		{ "\xEF\xBB\xBF", 3, "\"\\ufeff\"" },
		{ "\xE2\x80\x8B", 3, "\"\\u200b\"" },
		{ "\xE2\x80\xA8", 3, "\"\\u2028\"" },
		{ "\xEF\xBF\xBD", 3, "\"\xEF\xBF\xBD\"" },
		{ "\xF0\x9F\x98\x80", 4, "\"\xF0\x9F\x98\x80\"" },
		{ "\xF3\xA0\x80\x81", 4, "\"\\U000e0001\"" },
		{ "\xE2\x99", 2, "\"\\xe2\\x99\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(c); i++) {
		struct bbuf b = BBUF_INIT;
		df_go_quote(&b, c[i].in, c[i].n);
		assert_string_equal(bbuf_str(&b), c[i].out);
		bbuf_release(&b);
	}
	/* invalid UTF-8 survives in verbatim args and is \x-quoted */
	char *d = dump("RUN \xff x\n");
	assert_string_equal(d, "(run \"\\xff x\")\n");
	free(d);
	d = dump("FOO\xC3\x89 x\nK\xE2\x84\xAA x\n");
	assert_string_equal(d, "(foo\xC3\xA9 \"\")\n(kk \"\")\n");
	free(d);
}

static void test_limits_and_garbage(void **state)
{
	(void)state;
	/* exactly DF_MAX_LINE_LEN bytes is fine, one more is not */
	size_t n = DF_MAX_LINE_LEN + 16;
	char *buf = xmalloc(n + 1);
	memcpy(buf, "RUN ", 4);
	memset(buf + 4, 'x', DF_MAX_LINE_LEN - 4);
	buf[DF_MAX_LINE_LEN] = '\n';
	struct df_file *f = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_parse("Dockerfile", buf, DF_MAX_LINE_LEN + 1, &f, &err), 0);
	df_file_free(f);
	buf[DF_MAX_LINE_LEN] = 'x';
	buf[DF_MAX_LINE_LEN + 1] = '\n';
	err = parse_errn(buf, DF_MAX_LINE_LEN + 2);
	assert_string_equal(err->msg, "dockerfile line greater than max allowed size of 65535");
	assert_int_equal(err->line, 1);
	berr_free(err);
	free(buf);

	/* a 10 MiB line after a valid one */
	n = 10u << 20;
	buf = xmalloc(n);
	memcpy(buf, "FROM a\nRUN ", 11);
	memset(buf + 11, 'y', n - 11);
	err = parse_errn(buf, n);
	assert_int_equal(err->line, 2);
	berr_free(err);
	free(buf);

	/* NUL bytes are refused with their position */
	err = parse_errn("FROM a\nRUN b\0c\n", 15);
	assert_string_equal(err->msg, "NUL byte in Dockerfile (binary file?)");
	assert_int_equal(err->line, 2);
	assert_int_equal(err->col, 6);
	berr_free(err);

	/* only the last DF_MAX_COMMENTS comment lines are kept */
	struct bbuf cb = BBUF_INIT;
	for (int i = 0; i < 3 * DF_MAX_COMMENTS + 7; i++)
		bbuf_addf(&cb, NULL, "# c%d\n", i);
	bbuf_addstr(&cb, "FROM a\n", NULL);
	f = NULL;
	assert_int_equal(df_parse("Dockerfile", cb.data, cb.len, &f, &err), 0);
	assert_int_equal(f->nodes[0].ncomments, DF_MAX_COMMENTS);
	char last[32];
	snprintf(last, sizeof(last), "c%d", 3 * DF_MAX_COMMENTS + 6);
	assert_string_equal(f->nodes[0].comments[DF_MAX_COMMENTS - 1], last);
	df_file_free(f);
	bbuf_release(&cb);

	/* deep ONBUILD nesting has a bound */
	struct bbuf b = BBUF_INIT;
	for (int i = 0; i < DF_MAX_ONBUILD_DEPTH + 5; i++)
		bbuf_addstr(&b, "ONBUILD ", NULL);
	bbuf_addstr(&b, "RUN x\n", NULL);
	err = parse_errn(b.data, b.len);
	assert_string_equal(err->msg, "ONBUILD nested deeper than 64 levels");
	berr_free(err);
	bbuf_release(&b);

	/* deeply nested quotes and ${...} in a heredoc line do not recurse unboundedly */
	for (int i = 0; i < 10000; i++)
		bbuf_addstr(&b, i == 0 ? "RUN <<EOF " : "${a:-", NULL);
	bbuf_addstr(&b, "\nEOF\n", NULL);
	f = NULL;
	assert_int_equal(df_parse("Dockerfile", b.data, b.len, &f, &err), 0);
	df_file_free(f);
	bbuf_release(&b);
	for (int i = 0; i < 30000; i++)
		bbuf_addstr(&b, i == 0 ? "ENV a=" : "\"'", NULL);
	bbuf_addch(&b, '\n', NULL);
	assert_int_equal(df_parse("Dockerfile", b.data, b.len, &f, &err), 0);
	df_file_free(f);
	bbuf_release(&b);

	/* pseudo-random binary garbage without NULs: parses or fails, never crashes */
	uint32_t seed = 12345;
	for (int round = 0; round < 200; round++) {
		size_t len = 1 + (seed % 512);
		char *g = xmalloc(len);
		for (size_t i = 0; i < len; i++) {
			seed = seed * 1103515245u + 12345u;
			g[i] = (char)((seed >> 16) & 0xFF);
			if (!g[i])
				g[i] = '\n';
		}
		f = NULL;
		err = NULL;
		if (df_parse("Dockerfile", g, len, &f, &err) == 0) {
			struct bbuf o = BBUF_INIT;
			df_print_buildkit(f, &o);
			df_print_json(f, &o);
			df_print_tree(f, &o);
			bbuf_release(&o);
			df_file_free(f);
		} else {
			assert_true(err->line >= 1);
			berr_free(err);
		}
		free(g);
	}
}

static void test_json_printer(void **state)
{
	(void)state;
	struct df_file *f = parse_ok("# syntax=x/y\n# note\nFROM a\nCOPY --from=b <<EOF /d\n\x01\xff\nEOF\n"
				     "ONBUILD RUN [\"a\\u0000\"]\nRUN a \\\n\nb\n");
	struct bbuf b = BBUF_INIT;
	df_print_json(f, &b);
	cJSON *j = cJSON_Parse(bbuf_str(&b));
	assert_non_null(j);
	assert_string_equal(cJSON_GetObjectItem(j, "escapeToken")->valuestring, "\\");
	cJSON *dir = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "directives"), 0);
	assert_string_equal(cJSON_GetObjectItem(dir, "name")->valuestring, "syntax");
	assert_string_equal(cJSON_GetObjectItem(dir, "value")->valuestring, "x/y");
	assert_int_equal(cJSON_GetObjectItem(dir, "line")->valueint, 1);
	cJSON *ch = cJSON_GetObjectItem(j, "children");
	assert_int_equal(cJSON_GetArraySize(ch), 4);
	cJSON *copy = cJSON_GetArrayItem(ch, 1);
	assert_int_equal(cJSON_GetObjectItem(copy, "startLine")->valueint, 4);
	assert_int_equal(cJSON_GetObjectItem(copy, "endLine")->valueint, 6);
	cJSON *hd = cJSON_GetArrayItem(cJSON_GetObjectItem(copy, "heredocs"), 0);
	assert_string_equal(cJSON_GetObjectItem(hd, "name")->valuestring, "EOF");
	assert_string_equal(cJSON_GetObjectItem(hd, "content")->valuestring, "\x01\xEF\xBF\xBD\n");
	cJSON *first = cJSON_GetArrayItem(ch, 0);
	assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(first, "comments"), 0)->valuestring,
			    "note");
	cJSON *onb = cJSON_GetArrayItem(ch, 2);
	cJSON *trig = cJSON_GetObjectItem(onb, "trigger");
	assert_true(cJSON_IsTrue(cJSON_GetObjectItem(trig, "json")));
	cJSON *w = cJSON_GetArrayItem(cJSON_GetObjectItem(j, "warnings"), 0);
	assert_int_equal(cJSON_GetObjectItem(w, "line")->valueint, 10);
	assert_true(strstr(bbuf_str(&b), "\"a\\u0000\"") != NULL);
	cJSON_Delete(j);
	bbuf_release(&b);

	df_print_tree(f, &b);
	assert_true(strstr(bbuf_str(&b), "heredoc \"EOF\" (expand, fd 0, 1 line)") != NULL);
	assert_true(strstr(bbuf_str(&b), "syntax: x/y") != NULL);
	bbuf_release(&b);
	df_file_free(f);
}

static void test_parse_file(void **state)
{
	(void)state;
	struct df_file *f = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_parse_file("/nonexistent/Dockerfile", &f, &err), -1);
	assert_non_null(err);
	berr_free(err);
	df_file_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_directives),
		cmocka_unit_test(test_comments_and_blank),
		cmocka_unit_test(test_continuation),
		cmocka_unit_test(test_flags),
		cmocka_unit_test(test_instruction_args),
		cmocka_unit_test(test_json_form),
		cmocka_unit_test(test_json_depth),
		cmocka_unit_test(test_env_label),
		cmocka_unit_test(test_heredocs),
		cmocka_unit_test(test_quote),
		cmocka_unit_test(test_limits_and_garbage),
		cmocka_unit_test(test_json_printer),
		cmocka_unit_test(test_parse_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
