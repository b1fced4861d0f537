/* Unit tests for the instruction layer (parser/df_instr*.c), using
 * hand-built df_node structs so they do not depend on df_parse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_instr.h"
#include "parser/df_instr_int.h"
#include "common/common.h"

#define L(...) ((const char *[]){ __VA_ARGS__, NULL })
#define NONE ((const char *[]){ NULL })

static char **dupv(const char *const *v, size_t *n)
{
	size_t c = 0;
	while (v && v[c])
		c++;
	char **r = xcalloc(c + 1, sizeof(*r));
	for (size_t i = 0; i < c; i++)
		r[i] = xstrdup(v[i]);
	*n = c;
	return r;
}

/* Fill a node as the parser would: name as written, flags, args. The
 * original line is rebuilt as "NAME flag... arg..." on line `line`. */
static void fill(struct df_node *n, const char *name, const char *const *flags,
		 const char *const *args, bool json, int line)
{
	memset(n, 0, sizeof(*n));
	n->name = xstrdup(name);
	n->cmd = xstrdup(name);
	for (char *p = n->cmd; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	n->flags = dupv(flags, &n->nflags);
	n->args = dupv(args, &n->nargs);
	n->json = json;
	struct bbuf b = BBUF_INIT;
	bbuf_addstr(&b, name, NULL);
	for (size_t i = 0; i < n->nflags; i++)
		bbuf_addf(&b, NULL, " %s", n->flags[i]);
	for (size_t i = 0; i < n->nargs; i++)
		bbuf_addf(&b, NULL, " %s", n->args[i]);
	n->original = bbuf_detach(&b, NULL);
	n->start_line = n->end_line = line;
	n->col = 1;
}

static void node_clear(struct df_node *n)
{
	free(n->name);
	free(n->cmd);
	free(n->original);
	for (size_t i = 0; i < n->nflags; i++)
		free(n->flags[i]);
	free(n->flags);
	for (size_t i = 0; i < n->nargs; i++)
		free(n->args[i]);
	free(n->args);
	for (size_t i = 0; i < n->nheredocs; i++) {
		free(n->heredocs[i].name);
		free(n->heredocs[i].content);
	}
	free(n->heredocs);
	for (size_t i = 0; i < n->ncomments; i++)
		free(n->comments[i]);
	free(n->comments);
	if (n->trigger) {
		node_clear(n->trigger);
		free(n->trigger);
	}
}

static const struct df_file test_file = { .name = (char *)"Dockerfile", .escape = '\\' };

/* Convert; returns the error message (static copy) or NULL on success, and
 * the JSON summary in *json when asked. */
static char last_msg[512];
static int last_line, last_col;

static const char *conv(struct df_node *n, char **json)
{
	struct df_instr *in = NULL;
	struct berr *err = NULL;
	if (json)
		*json = NULL;
	if (df_instr_from_node(&test_file, n, &in, &err) < 0) {
		assert_null(in);
		assert_non_null(err);
		snprintf(last_msg, sizeof(last_msg), "%s", err->msg);
		last_line = err->line;
		last_col = err->col;
		assert_string_equal(err->file, "Dockerfile");
		berr_free(err);
		return last_msg;
	}
	assert_null(err);
	if (json)
		*json = df_instr_json(in);
	df_instr_free(in);
	return NULL;
}

/* One-shot helpers */
static void expect_error(const char *name, const char *const *flags, const char *const *args,
			 bool json, const char *want)
{
	struct df_node n;
	fill(&n, name, flags, args, json, 1);
	const char *got = conv(&n, NULL);
	if (!got)
		fail_msg("%s: expected error '%s', got ok", name, want);
	assert_string_equal(got, want);
	node_clear(&n);
}

static void expect_json(const char *name, const char *const *flags, const char *const *args,
			bool json, const char *want)
{
	struct df_node n;
	fill(&n, name, flags, args, json, 1);
	char *js = NULL;
	const char *got = conv(&n, &js);
	if (got)
		fail_msg("%s: unexpected error '%s'", name, got);
	assert_string_equal(js, want);
	free(js);
	node_clear(&n);
}

static void expect_ok(const char *name, const char *const *flags, const char *const *args,
		      bool json)
{
	struct df_node n;
	fill(&n, name, flags, args, json, 1);
	const char *got = conv(&n, NULL);
	if (got)
		fail_msg("%s: unexpected error '%s'", name, got);
	node_clear(&n);
}

static void test_from(void **state)
{
	(void)state;
	expect_json("FROM", NONE, L("ubuntu:14.04"), false,
		    "{\"base\":\"ubuntu:14.04\",\"name\":\"\",\"platform\":\"\",\"type\":\"*instructions.Stage\"}");
	expect_json("FROM", L("--platform=linux/arm64"), L("a", "AS", "Build-1.x_y"), false,
		    "{\"base\":\"a\",\"name\":\"build-1.x_y\",\"platform\":\"linux/arm64\",\"type\":\"*instructions.Stage\"}");
	expect_ok("from", NONE, L("a", "as", "b"), false);
	expect_error("FROM", NONE, L("a", "AS", "1st"), false,
		     "invalid name for build stage: \"1st\", name can't start with a number or contain symbols");
	expect_error("FROM", NONE, L("a", "AS", "a/b"), false,
		     "invalid name for build stage: \"a/b\", name can't start with a number or contain symbols");
	expect_error("FROM", NONE, L("a", "b"), false, "FROM requires either one or three arguments");
	expect_error("FROM", NONE, NONE, false, "FROM requires either one or three arguments");
	expect_error("FROM", NONE, L("a", "to", "b"), false, "FROM requires either one or three arguments");
	expect_error("FROM", L("--platform"), L("a"), false, "missing a value on flag: --platform");
	expect_error("FROM", L("--platfrom=x"), L("a"), false,
		     "unknown flag: --platfrom (did you mean platform?)");
	expect_error("FROM", L("--platform=a", "--platform=b"), L("a"), false,
		     "duplicate flag specified: --platform");
	/* stage name is checked before flags */
	expect_error("FROM", L("--bogus"), L("a", "b"), false, "FROM requires either one or three arguments");
}

static void test_run(void **state)
{
	(void)state;
	expect_json("RUN", NONE, L("echo hi"), false,
		    "{\"cmdLine\":[\"echo hi\"],\"files\":null,\"flagsUsed\":null,\"mounts\":[],"
		    "\"network\":\"default\",\"prependShell\":true,\"security\":\"sandbox\","
		    "\"type\":\"*instructions.RunCommand\"}");
	expect_json("RUN", NONE, L("ls", "-la"), true,
		    "{\"cmdLine\":[\"ls\",\"-la\"],\"files\":null,\"flagsUsed\":null,\"mounts\":[],"
		    "\"network\":\"default\",\"prependShell\":false,\"security\":\"sandbox\","
		    "\"type\":\"*instructions.RunCommand\"}");
	expect_json("RUN", NONE, NONE, false,
		    "{\"cmdLine\":[],\"files\":null,\"flagsUsed\":null,\"mounts\":[],"
		    "\"network\":\"default\",\"prependShell\":true,\"security\":\"sandbox\","
		    "\"type\":\"*instructions.RunCommand\"}");
	expect_json("RUN", L("--network=none", "--mount=type=cache,target=/root/.cache,from=base"), L("make"), false,
		    "{\"cmdLine\":[\"make\"],\"files\":null,\"flagsUsed\":[\"mount\",\"network\"],\"mounts\":["
		    "{\"Type\":\"bind\",\"From\":\"base\",\"Source\":\"\",\"Target\":\"\",\"ReadOnly\":true,"
		    "\"SizeLimit\":0,\"CacheID\":\"\",\"CacheSharing\":\"\",\"Required\":false,\"Env\":null,"
		    "\"Mode\":null,\"UID\":null,\"GID\":null}],"
		    "\"network\":\"none\",\"prependShell\":true,\"security\":\"sandbox\","
		    "\"type\":\"*instructions.RunCommand\"}");
	expect_ok("RUN", L("--mount=type=secret,id=x", "--mount=type=bind,source=.,target=/s,rw"), L("x"), false);
	/* parse time defers everything but `from`: bad keys pass here */
	expect_ok("RUN", L("--mount=type=nosuch,foo=bar,baz"), L("x"), false);
	expect_ok("RUN", L("--mount=from=stage$"), L("x"), false);
	expect_error("RUN", L("--mount=type=bind,from=$BASE"), L("x"), false,
		     "'from' doesn't support variable expansion, define alias stage instead");
	expect_error("RUN", L("--mount=type=bind,FROM=${X}y"), L("x"), false,
		     "'from' doesn't support variable expansion, define alias stage instead");
	expect_error("RUN", L("--mount=a\"b"), L("x"), false,
		     "failed to parse csv mounts: parse error on line 1, column 2: bare \" in non-quoted-field");
	expect_error("RUN", L("--mount=\"a\"b"), L("x"), false,
		     "failed to parse csv mounts: parse error on line 1, column 3: extraneous or missing \" in quoted-field");
	expect_ok("RUN", L("--mount=\"type=bind,target=/a,b\",from=x"), L("x"), false);
	expect_error("RUN", L("--mount"), L("x"), false, "missing a value on flag: --mount");
	expect_error("RUN", L("--network=bridge"), L("x"), false, "invalid network mode \"bridge\"");
	expect_error("RUN", L("--network=host", "--network=none"), L("x"), false,
		     "duplicate flag specified: --network");
	expect_ok("RUN", L("--network=host", "--security=insecure"), L("x"), false);
	expect_error("RUN", L("--security=privileged"), L("x"), false, "security \"privileged\" is not valid");
	expect_error("RUN", L("--mnt=type=bind"), L("x"), false, "unknown flag: --mnt (did you mean mount?)");
	expect_error("RUN", L("--networks=host"), L("x"), false, "unknown flag: --networks (did you mean network?)");
	expect_error("RUN", L("--privileged"), L("x"), false, "unknown flag: --privileged");
	expect_ok("RUN", L("--device=/dev/fuse,required"), L("x"), false);
	expect_ok("RUN", L("--device=name=nvidia.com/gpu=all,required=false"), L("x"), false);
	expect_error("RUN", L("--device=name=a,name=b"), L("x"), false, "device name already set to a");
	expect_error("RUN", L("--device=a,b"), L("x"), false, "invalid field 'b' must be a key=value pair");
	expect_error("RUN", L("--device=a,required=maybe"), L("x"), false, "invalid value for required: maybe");
	expect_error("RUN", L("--device=a,nme=b"), L("x"), false, "unexpected key 'nme' in 'nme=b' (did you mean name?)");
	/* "--" ends flag parsing */
	expect_ok("RUN", L("--", "--bogus"), L("x"), false);
	expect_error("RUN", L("-x"), L("y"), false, "arg should start with -- : -x");
}

static void test_cmd_entrypoint_shell(void **state)
{
	(void)state;
	expect_json("CMD", NONE, L("echo", "a"), true,
		    "{\"cmdLine\":[\"echo\",\"a\"],\"files\":null,\"prependShell\":false,\"type\":\"*instructions.CmdCommand\"}");
	expect_json("CMD", NONE, NONE, true,
		    "{\"cmdLine\":[],\"files\":null,\"prependShell\":false,\"type\":\"*instructions.CmdCommand\"}");
	expect_json("ENTRYPOINT", NONE, NONE, true,
		    "{\"cmdLine\":null,\"files\":null,\"prependShell\":false,\"type\":\"*instructions.EntrypointCommand\"}");
	expect_json("ENTRYPOINT", NONE, L("/bin/sh -c 'x'"), false,
		    "{\"cmdLine\":[\"/bin/sh -c 'x'\"],\"files\":null,\"prependShell\":true,\"type\":\"*instructions.EntrypointCommand\"}");
	expect_error("CMD", L("--doit"), L("a"), false, "unknown flag: --doit");
	expect_error("ENTRYPOINT", L("--x=1"), L("a"), false, "unknown flag: --x");
	expect_json("SHELL", NONE, L("powershell", "-Command"), true,
		    "{\"shell\":[\"powershell\",\"-Command\"],\"type\":\"*instructions.ShellCommand\"}");
	expect_error("SHELL", NONE, L("powershell -Command"), false,
		     "SHELL requires the arguments to be in JSON form");
	expect_error("SHELL", NONE, NONE, true, "SHELL requires at least one argument");
	expect_error("SHELL", NONE, NONE, false, "SHELL requires at least one argument");
	expect_error("SHELL", L("--a"), L("sh"), true, "unknown flag: --a");
}

static void test_env_label_maintainer(void **state)
{
	(void)state;
	expect_json("ENV", NONE, L("GOPATH", "/go", ""), false,
		    "{\"env\":[{\"Key\":\"GOPATH\",\"Value\":\"/go\",\"NoDelim\":true}],\"type\":\"*instructions.EnvCommand\"}");
	expect_json("ENV", NONE, L("a", "1", "=", "b", "\"x y\"", "="), false,
		    "{\"env\":[{\"Key\":\"a\",\"Value\":\"1\",\"NoDelim\":false},"
		    "{\"Key\":\"b\",\"Value\":\"\\\"x y\\\"\",\"NoDelim\":false}],\"type\":\"*instructions.EnvCommand\"}");
	expect_error("ENV", NONE, NONE, false, "ENV requires at least one argument");
	expect_error("ENV", NONE, L("", "x", "="), false, "ENV names can not be blank");
	expect_error("ENV", NONE, L("a", "b"), false, "Bad input to ENV, too many arguments");
	expect_error("ENV", L("--x"), L("a", "b", "="), false, "unknown flag: --x");
	expect_json("LABEL", NONE, L("maintainer", "Erik <e@h.org>", ""), false,
		    "{\"labels\":[{\"Key\":\"maintainer\",\"Value\":\"Erik <e@h.org>\",\"NoDelim\":true}],"
		    "\"type\":\"*instructions.LabelCommand\"}");
	expect_error("LABEL", NONE, NONE, false, "LABEL requires at least one argument");
	expect_error("LABEL", NONE, L("", "v", "="), false, "LABEL names can not be blank");
	expect_json("MAINTAINER", NONE, L("me <m@e>"), false,
		    "{\"maintainer\":\"me <m@e>\",\"type\":\"*instructions.MaintainerCommand\"}");
	expect_error("MAINTAINER", NONE, NONE, false, "MAINTAINER requires exactly one argument");
	expect_error("MAINTAINER", L("--x"), L("a"), false, "unknown flag: --x");
}

static void test_add_copy(void **state)
{
	(void)state;
	expect_json("COPY", NONE, L(".", "/dst"), false,
		    "{\"chmod\":\"\",\"chown\":\"\",\"dest\":\"/dst\",\"exclude\":null,\"from\":\"\",\"link\":false,"
		    "\"parents\":false,\"sourceContents\":null,\"sources\":[\".\"],\"type\":\"*instructions.CopyCommand\"}");
	expect_json("COPY", L("--from=build", "--chown=1:2", "--chmod=755", "--link", "--parents=TRUE",
			      "--exclude=*.md", "--exclude=x"), L("a", "b", "/d/"), false,
		    "{\"chmod\":\"755\",\"chown\":\"1:2\",\"dest\":\"/d/\",\"exclude\":[\"*.md\",\"x\"],\"from\":\"build\","
		    "\"link\":true,\"parents\":true,\"sourceContents\":null,\"sources\":[\"a\",\"b\"],"
		    "\"type\":\"*instructions.CopyCommand\"}");
	expect_json("ADD", L("--keep-git-dir", "--unpack=false", "--checksum=sha256:abc", "--link=false"),
		    L("https://x/y.tar", "/"), false,
		    "{\"checksum\":\"sha256:abc\",\"chmod\":\"\",\"chown\":\"\",\"dest\":\"/\",\"exclude\":null,"
		    "\"keepGitDir\":true,\"link\":false,\"sourceContents\":null,\"sources\":[\"https://x/y.tar\"],"
		    "\"type\":\"*instructions.AddCommand\",\"unpack\":false}");
	expect_error("COPY", NONE, L("a"), false,
		     "COPY requires at least two arguments, but only one was provided. Destination could not be determined");
	expect_error("ADD", NONE, NONE, false,
		     "ADD requires at least two arguments, but only one was provided. Destination could not be determined");
	/* argument count is checked before flags */
	expect_error("COPY", L("--bogus"), L("a"), false,
		     "COPY requires at least two arguments, but only one was provided. Destination could not be determined");
	expect_error("COPY", L("--user=x"), L("a", "b"), false, "unknown flag: --user");
	expect_error("COPY", L("--frm=x"), L("a", "b"), false, "unknown flag: --frm (did you mean from?)");
	expect_error("ADD", L("--from=x"), L("a", "b"), false, "unknown flag: --from");
	expect_error("COPY", L("--checksum=x"), L("a", "b"), false, "unknown flag: --checksum");
	expect_error("COPY", L("--link=yes"), L("a", "b"), false, "expecting boolean value for flag --link, not: yes");
	expect_error("COPY", L("--link="), L("a", "b"), false, "missing a value on flag: --link");
	expect_error("COPY", L("--from"), L("a", "b"), false, "missing a value on flag: --from");
	expect_error("COPY", L("--from=a", "--from=b"), L("a", "b"), false, "duplicate flag specified: --from");
	expect_error("ADD", L("--exclude"), L("a", "b"), false, "missing a value on flag: --exclude");
	expect_error("COPY", NONE, L("a", "<<EOF"), false, "COPY cannot accept a heredoc as a destination");
	expect_error("ADD", NONE, L("a", "<<-'EOF'"), false, "ADD cannot accept a heredoc as a destination");
	/* --from= gives an empty value */
	expect_ok("COPY", L("--from="), L("a", "b"), false);
	/* JSON form keeps spaces */
	expect_json("COPY", NONE, L("test file", "/tmp/test file"), true,
		    "{\"chmod\":\"\",\"chown\":\"\",\"dest\":\"/tmp/test file\",\"exclude\":null,\"from\":\"\",\"link\":false,"
		    "\"parents\":false,\"sourceContents\":null,\"sources\":[\"test file\"],\"type\":\"*instructions.CopyCommand\"}");
}

static void test_copy_heredoc(void **state)
{
	(void)state;
	struct df_node n;
	fill(&n, "COPY", NONE, L("<<-EOF", "<<'RAW'", "/dst"), false, 3);
	n.heredocs = xcalloc(2, sizeof(*n.heredocs));
	n.nheredocs = 2;
	n.heredocs[0] = (struct df_heredoc){ xstrdup("EOF"), 0, true, true, xstrdup("\t\thello\n\tworld\n") };
	n.heredocs[1] = (struct df_heredoc){ xstrdup("RAW"), 0, false, false, xstrdup("$x\n") };
	char *js;
	assert_null(conv(&n, &js));
	assert_string_equal(js,
		"{\"chmod\":\"\",\"chown\":\"\",\"dest\":\"/dst\",\"exclude\":null,\"from\":\"\",\"link\":false,"
		"\"parents\":false,\"sourceContents\":[{\"Path\":\"EOF\",\"Data\":\"hello\\nworld\\n\",\"Expand\":true},"
		"{\"Path\":\"RAW\",\"Data\":\"$x\\n\",\"Expand\":false}],\"sources\":null,"
		"\"type\":\"*instructions.CopyCommand\"}");
	free(js);
	node_clear(&n);

	fill(&n, "RUN", NONE, L("<<EOF"), false, 1);
	n.heredocs = xcalloc(1, sizeof(*n.heredocs));
	n.nheredocs = 1;
	n.heredocs[0] = (struct df_heredoc){ xstrdup("EOF"), 0, true, false, xstrdup("echo hi\n") };
	assert_null(conv(&n, &js));
	assert_string_equal(js,
		"{\"cmdLine\":[\"<<EOF\"],\"files\":[{\"Name\":\"EOF\",\"Data\":\"echo hi\\n\",\"Chomp\":false}],"
		"\"flagsUsed\":null,\"mounts\":[],\"network\":\"default\",\"prependShell\":true,"
		"\"security\":\"sandbox\",\"type\":\"*instructions.RunCommand\"}");
	free(js);
	node_clear(&n);
}

static void test_simple_instructions(void **state)
{
	(void)state;
	expect_json("EXPOSE", NONE, L("9000", "5000", "6000"), false,
		    "{\"ports\":[\"5000\",\"6000\",\"9000\"],\"type\":\"*instructions.ExposeCommand\"}");
	expect_error("EXPOSE", NONE, NONE, false, "EXPOSE requires at least one argument");
	expect_error("EXPOSE", L("--x"), L("80"), false, "unknown flag: --x");
	expect_json("VOLUME", NONE, L(" /a ", "/b"), true,
		    "{\"type\":\"*instructions.VolumeCommand\",\"volumes\":[\"/a\",\"/b\"]}");
	expect_error("VOLUME", NONE, L(""), true, "VOLUME specified can not be an empty string");
	expect_error("VOLUME", NONE, NONE, false, "VOLUME requires at least one argument");
	expect_json("USER", NONE, L("docker:root"), false,
		    "{\"type\":\"*instructions.UserCommand\",\"user\":\"docker:root\"}");
	expect_error("USER", NONE, NONE, false, "USER requires exactly one argument");
	expect_error("USER", L("--x"), L("a"), false, "unknown flag: --x");
	expect_json("WORKDIR", NONE, L("/test"), false,
		    "{\"path\":\"/test\",\"type\":\"*instructions.WorkdirCommand\"}");
	expect_error("WORKDIR", NONE, L("a", "b"), false, "WORKDIR requires exactly one argument");
	expect_json("STOPSIGNAL", L("--ignored"), L("SIGKILL"), false,
		    "{\"signal\":\"SIGKILL\",\"type\":\"*instructions.StopSignalCommand\"}");
	expect_error("STOPSIGNAL", NONE, NONE, false, "STOPSIGNAL requires exactly one argument");
	expect_error("FOO", NONE, L(""), false, "unknown instruction: FOO (did you mean FROM?)");
	expect_error("BUILDME", NONE, L(""), false, "unknown instruction: BUILDME");
	expect_error("RUNN", NONE, L(""), false, "unknown instruction: RUNN (did you mean RUN?)");
	expect_error("copyy", NONE, L(""), false, "unknown instruction: copyy (did you mean copy?)");
	expect_error("Workdr", NONE, L(""), false, "unknown instruction: Workdr (did you mean workdir?)");
}

static void test_arg(void **state)
{
	(void)state;
	expect_json("ARG", NONE, L("foo", "bar=baz", "e="), false,
		    "{\"args\":[{\"Key\":\"foo\",\"Value\":null,\"DocComment\":\"\"},"
		    "{\"Key\":\"bar\",\"Value\":\"baz\",\"DocComment\":\"\"},"
		    "{\"Key\":\"e\",\"Value\":\"\",\"DocComment\":\"\"}],\"type\":\"*instructions.ArgCommand\"}");
	expect_json("ARG", NONE, L("abc=\"123 456\"=x"), false,
		    "{\"args\":[{\"Key\":\"abc\",\"Value\":\"\\\"123 456\\\"=x\",\"DocComment\":\"\"}],"
		    "\"type\":\"*instructions.ArgCommand\"}");
	expect_error("ARG", NONE, NONE, false, "ARG requires at least one argument");
	expect_error("ARG", NONE, L("a", "=b"), false, "ARG names can not be blank");
	/* BuildKit never parses ARG flags */
	expect_ok("ARG", L("--whatever"), L("a"), false);

	struct df_node n;
	fill(&n, "ARG", NONE, L("VERSION=1"), false, 2);
	n.comments = xcalloc(2, sizeof(char *));
	n.ncomments = 2;
	n.comments[0] = xstrdup("Something else");
	n.comments[1] = xstrdup("VERSION the release to build");
	char *js;
	assert_null(conv(&n, &js));
	assert_string_equal(js, "{\"args\":[{\"Key\":\"VERSION\",\"Value\":\"1\",\"DocComment\":\"the release to build\"}],"
				"\"type\":\"*instructions.ArgCommand\"}");
	free(js);
	node_clear(&n);
}

static void onbuild_case(const char *trigger, const char *const *tflags, const char *const *targs,
			 const char *const *oflags, const char *original, const char *want_err,
			 const char *want_json)
{
	struct df_node n;
	fill(&n, "ONBUILD", oflags, NONE, false, 5);
	free(n.original);
	n.original = xstrdup(original);
	if (trigger) {
		n.trigger = xcalloc(1, sizeof(*n.trigger));
		fill(n.trigger, trigger, tflags, targs, false, 0);
	}
	char *js = NULL;
	const char *got = conv(&n, &js);
	if (want_err) {
		assert_non_null(got);
		assert_string_equal(got, want_err);
	} else {
		if (got)
			fail_msg("unexpected error '%s'", got);
		assert_string_equal(js, want_json);
	}
	free(js);
	node_clear(&n);
}

static void test_onbuild(void **state)
{
	(void)state;
	onbuild_case("RUN", NONE, L("echo test"), NONE, "ONBUILD RUN echo test", NULL,
		     "{\"expression\":\"RUN echo test\",\"type\":\"*instructions.OnbuildCommand\"}");
	onbuild_case("copy", L("--from=b"), L(".", "/"), NONE, "  onbuild\tcopy --from=b . /", NULL,
		     "{\"expression\":\"copy --from=b . /\",\"type\":\"*instructions.OnbuildCommand\"}");
	/* the trigger itself is validated only when it fires */
	onbuild_case("COPY", L("--bogus"), L("."), NONE, "ONBUILD COPY --bogus .", NULL,
		     "{\"expression\":\"COPY --bogus .\",\"type\":\"*instructions.OnbuildCommand\"}");
	onbuild_case(NULL, NONE, NONE, NONE, "ONBUILD", "ONBUILD requires at least one argument", NULL);
	onbuild_case("onbuild", NONE, L("x"), NONE, "ONBUILD ONBUILD x",
		     "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed", NULL);
	onbuild_case("From", NONE, L("x"), NONE, "ONBUILD From x",
		     "FROM isn't allowed as an ONBUILD trigger", NULL);
	onbuild_case("maintainer", NONE, L("x"), NONE, "ONBUILD maintainer x",
		     "MAINTAINER isn't allowed as an ONBUILD trigger", NULL);
	onbuild_case("RUN", NONE, L("x"), L("--x"), "ONBUILD --x RUN x", "unknown flag: --x", NULL);

	/* heredoc bodies are appended to the expression */
	struct df_node n;
	fill(&n, "ONBUILD", NONE, NONE, false, 1);
	free(n.original);
	n.original = xstrdup("ONBUILD RUN <<EOF");
	n.trigger = xcalloc(1, sizeof(*n.trigger));
	fill(n.trigger, "RUN", NONE, L("<<EOF"), false, 0);
	n.heredocs = xcalloc(1, sizeof(*n.heredocs));
	n.nheredocs = 1;
	n.heredocs[0] = (struct df_heredoc){ xstrdup("EOF"), 0, true, false, xstrdup("echo a\n") };
	char *js;
	assert_null(conv(&n, &js));
	assert_string_equal(js, "{\"expression\":\"RUN <<EOF\\necho a\\nEOF\",\"type\":\"*instructions.OnbuildCommand\"}");
	free(js);
	node_clear(&n);
}

static void test_healthcheck(void **state)
{
	(void)state;
	expect_json("HEALTHCHECK", L("--interval=5s", "--timeout=3s", "--retries=3"),
		    L("CMD", "/app/check.sh --quiet"), false,
		    "{\"health\":{\"Test\":[\"CMD-SHELL\",\"/app/check.sh --quiet\"],\"Interval\":5000000000,"
		    "\"Timeout\":3000000000,\"Retries\":3},\"type\":\"*instructions.HealthCheckCommand\"}");
	expect_json("HEALTHCHECK", L("--start-period=1m30s", "--start-interval=300ms", "--retries=0"),
		    L("cmd", "foo", "bar"), true,
		    "{\"health\":{\"Test\":[\"CMD\",\"foo\",\"bar\"],\"StartPeriod\":90000000000,"
		    "\"StartInterval\":300000000},\"type\":\"*instructions.HealthCheckCommand\"}");
	expect_json("HEALTHCHECK", NONE, L("none"), false,
		    "{\"health\":{\"Test\":[\"NONE\"]},\"type\":\"*instructions.HealthCheckCommand\"}");
	/* NONE does not look at flags */
	expect_ok("HEALTHCHECK", L("--bogus"), L("NONE"), false);
	expect_json("HEALTHCHECK", L("--interval=0s"), L("CMD", "x"), false,
		    "{\"health\":{\"Test\":[\"CMD-SHELL\",\"x\"]},\"type\":\"*instructions.HealthCheckCommand\"}");
	expect_error("HEALTHCHECK", NONE, NONE, false, "HEALTHCHECK requires at least one argument");
	expect_error("HEALTHCHECK", NONE, L("NONE", "x"), false, "HEALTHCHECK NONE takes no arguments");
	expect_error("HEALTHCHECK", NONE, L("CMD"), false, "Missing command after HEALTHCHECK CMD");
	expect_error("HEALTHCHECK", NONE, L("CMD"), true, "Missing command after HEALTHCHECK CMD");
	expect_error("HEALTHCHECK", NONE, L("CONNECT", "x"), false, "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
	expect_error("HEALTHCHECK", NONE, L("connect"), false, "Unknown type \"CONNECT\" in HEALTHCHECK (try CMD)");
	/* flags are parsed before the type is checked */
	expect_error("HEALTHCHECK", L("--intervl=1s"), L("CONNECT"), false,
		     "unknown flag: --intervl (did you mean interval?)");
	expect_error("HEALTHCHECK", L("--interval=5"), L("CMD", "x"), false,
		     "time: missing unit in duration \"5\"");
	expect_error("HEALTHCHECK", L("--timeout=5x"), L("CMD", "x"), false,
		     "time: unknown unit \"x\" in duration \"5x\"");
	expect_error("HEALTHCHECK", L("--timeout=abc"), L("CMD", "x"), false,
		     "time: invalid duration \"abc\"");
	expect_error("HEALTHCHECK", L("--interval=500us"), L("CMD", "x"), false,
		     "Interval \"interval\" cannot be less than 1ms");
	expect_error("HEALTHCHECK", L("--start-interval=-1s"), L("CMD", "x"), false,
		     "Interval \"start-interval\" cannot be less than 1ms");
	expect_error("HEALTHCHECK", L("--retries=-1"), L("CMD", "x"), false, "--retries cannot be negative (-1)");
	expect_error("HEALTHCHECK", L("--retries=x"), L("CMD", "x"), false,
		     "strconv.ParseInt: parsing \"x\": invalid syntax");
	expect_error("HEALTHCHECK", L("--retries=2147483648"), L("CMD", "x"), false,
		     "strconv.ParseInt: parsing \"2147483648\": value out of range");
	expect_error("HEALTHCHECK", L("--retries"), L("CMD", "x"), false, "missing a value on flag: --retries");
	expect_ok("HEALTHCHECK", L("--retries=+2147483647"), L("CMD", "x"), false);
}

static void test_duration(void **state)
{
	(void)state;
	const struct {
		const char *in;
		int64_t ns;
		const char *err;
	} cases[] = {
		{ "0", 0, NULL },
		{ "-0", 0, NULL },
		{ "5s", 5000000000LL, NULL },
		{ "1m30s", 90000000000LL, NULL },
		{ "1.5h", 5400000000000LL, NULL },
		{ ".5s", 500000000LL, NULL },
		{ "5.s", 5000000000LL, NULL },
		{ "-1.5m", -90000000000LL, NULL },
		{ "+10ms", 10000000LL, NULL },
		{ "3\xc2\xb5s", 3000LL, NULL },
		{ "7ns", 7LL, NULL },
		{ "2562047h47m16.854775807s", INT64_MAX, NULL },
		{ "", 0, "time: invalid duration \"\"" },
		{ "s", 0, "time: invalid duration \"s\"" },
		{ ".s", 0, "time: invalid duration \".s\"" },
		{ "5", 0, "time: missing unit in duration \"5\"" },
		{ "1e3s", 0, "time: unknown unit \"e\" in duration \"1e3s\"" },
		{ "9223372036854775808ns", 0, "time: invalid duration \"9223372036854775808ns\"" },
		{ "3000000h", 0, "time: invalid duration \"3000000h\"" },
		{ "1\xff", 0, "time: unknown unit \"\\xff\" in duration \"1\\xff\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		int64_t d = -42;
		struct berr *err = NULL;
		int r = df_parse_duration(cases[i].in, &d, &err);
		if (cases[i].err) {
			assert_int_equal(r, -1);
			assert_string_equal(err->msg, cases[i].err);
			berr_free(err);
		} else {
			if (r < 0)
				fail_msg("'%s': %s", cases[i].in, err->msg);
			assert_true(d == cases[i].ns);
		}
	}
}

static void test_go_quote(void **state)
{
	(void)state;
	const char *cases[][2] = {
		{ "abc", "\"abc\"" },
		{ "a\"b\\c", "\"a\\\"b\\\\c\"" },
		{ "\t\n\x01\x7f", "\"\\t\\n\\x01\\x7f\"" },
		{ "\xe2\x99\xa5", "\"\xe2\x99\xa5\"" },
		{ "\xc2\xa0", "\"\\u00a0\"" },
		{ "\xef\xbb\xbf", "\"\\ufeff\"" },
		{ "\xff", "\"\\xff\"" },
	};
	for (size_t i = 0; i < ARRAY_SIZE(cases); i++) {
		char *q = df_quote_str(cases[i][0]);
		assert_string_equal(q, cases[i][1]);
		free(q);
	}
}

static void mount_ok(const char *spec, struct df_mount *m)
{
	struct berr *err = NULL;
	if (df_mount_parse(spec, df_expand_identity, NULL, m, &err) < 0)
		fail_msg("'%s': %s", spec, err->msg);
}

static void mount_err(const char *spec, const char *want)
{
	struct berr *err = NULL;
	struct df_mount m;
	assert_int_equal(df_mount_parse(spec, df_expand_identity, NULL, &m, &err), -1);
	assert_string_equal(err->msg, want);
	berr_free(err);
}

static char *upper_expand(void *ctx, const char *word, struct berr **err)
{
	(void)ctx;
	if (strcmp(word, "$BAD") == 0) {
		berr_set(err, BERR_INPUT, "failed to process \"%s\"", word);
		return NULL;
	}
	if (strcmp(word, "$T") == 0)
		return xstrdup("/expanded");
	return xstrdup(word);
}

static void test_mount_full(void **state)
{
	(void)state;
	struct df_mount m;
	mount_ok("type=cache,target=/root/.cache,sharing=LOCKED,mode=0755,uid=1000,gid=0,id=go", &m);
	assert_int_equal(m.type, DF_MOUNT_CACHE);
	assert_string_equal(m.target, "/root/.cache");
	assert_string_equal(m.sharing, "locked");
	assert_string_equal(m.id, "go");
	assert_true(m.has_mode && m.mode == 0755 && m.uid == 1000 && m.has_gid && m.gid == 0);
	assert_false(m.readonly);
	df_mount_clear(&m);
	mount_ok("target=/src", &m);
	assert_int_equal(m.type, DF_MOUNT_BIND);
	assert_true(m.readonly);
	df_mount_clear(&m);
	mount_ok("type=bind,src=.,dst=/s,rw", &m);
	assert_false(m.readonly);
	assert_string_equal(m.source, ".");
	df_mount_clear(&m);
	mount_ok("type=tmpfs,target=/t,size=64m", &m);
	assert_true(m.size_limit == 64LL * 1024 * 1024);
	assert_false(m.readonly);
	df_mount_clear(&m);
	mount_ok("type=tmpfs,target=/t,size=1.5GiB,readonly=true", &m);
	assert_true(m.size_limit == 1610612736LL);
	assert_true(m.readonly);
	df_mount_clear(&m);
	const struct {
		const char *size;
		int64_t bytes;
	} sizes[] = {
		{ "1024", 1024 }, { "10 kb", 10240 }, { "2KiB", 2048 }, { "1b", 1 },
		{ "0.5g", 536870912 }, { "1e3", 1000 }, { "1p", 1125899906842624LL },
	};
	for (size_t i = 0; i < ARRAY_SIZE(sizes); i++) {
		_cleanup_free_ char *spec = xasprintf("type=tmpfs,size=%s", sizes[i].size);
		mount_ok(spec, &m);
		assert_true(m.size_limit == sizes[i].bytes);
		df_mount_clear(&m);
	}
	const char *bad_sizes[] = { "-1m", "1x", "1kbb", "1bb", "m", "1.2.3", "1ki", "" };
	for (size_t i = 0; i < ARRAY_SIZE(bad_sizes); i++) {
		_cleanup_free_ char *spec = xasprintf("type=tmpfs,size=%s", bad_sizes[i]);
		_cleanup_free_ char *want = xasprintf("invalid value for size: %s", bad_sizes[i]);
		mount_err(spec, want);
	}
	mount_ok("type=secret,id=tok,required,env=TOKEN", &m);
	assert_true(m.required && m.readonly);
	assert_string_equal(m.env, "TOKEN");
	df_mount_clear(&m);
	mount_ok("type=ssh,required=false,mode=0600", &m);
	df_mount_clear(&m);

	mount_err("type=nfs", "unsupported mount type \"nfs\"");
	mount_err("type=cahce", "unsupported mount type \"cahce\" (did you mean cache?)");
	mount_err("type=cache,sharing=all", "unsupported sharing value \"all\"");
	mount_err("type=cache,sharing=share", "unsupported sharing value \"share\" (did you mean shared?)");
	mount_err("targte=/x", "unexpected key 'targte' in 'targte=/x' (did you mean target?)");
	mount_err("foo=bar", "unexpected key 'foo' in 'foo=bar' (did you mean from?)");
	mount_err("zzzz=bar", "unexpected key 'zzzz' in 'zzzz=bar'");
	mount_err("type=bind,foo", "invalid field 'foo' must be a key=value pair");
	mount_err("type=bind,required", "unexpected key 'required' for mount type 'bind'");
	mount_err("type=cache,required=true", "unexpected key 'required' for mount type 'cache'");
	mount_err("type=cache,size=1m", "unexpected key 'size' for mount type 'cache'");
	mount_err("type=tmpfs,size=lots", "invalid value for size: lots");
	mount_err("type=bind,ro=maybe", "invalid value for ro: maybe");
	mount_err("type=bind,rw=2", "invalid value for rw: 2");
	mount_err("type=cache,mode=0999", "invalid value 0999 for mode");
	mount_err("type=cache,uid=-1", "invalid value -1 for uid");
	mount_err("type=cache,gid=4294967296", "invalid value 4294967296 for gid");
	mount_err("type=bind,mode=0755", "mode not allowed for \"bind\" type mounts");
	mount_err("type=tmpfs,uid=1", "uid not allowed for \"tmpfs\" type mounts");
	mount_err("type=secret", "invalid secret mount. one of source, target required");
	mount_err("type=secret,id=a,from=b", "secret mount should not have a from");
	mount_err("type=secret,id=a,sharing=shared", "secret mount should not define sharing");
	mount_err("type=secret,id=a,source=b", "both source and id can't be set");
	mount_err("type=bind,sharing=private", "invalid cache sharing set for bind mount");

	struct berr *err = NULL;
	assert_int_equal(df_mount_parse("type=bind,target=$T", upper_expand, NULL, &m, &err), 0);
	assert_string_equal(m.target, "/expanded");
	df_mount_clear(&m);
	assert_int_equal(df_mount_parse("type=bind,target=$BAD", upper_expand, NULL, &m, &err), -1);
	assert_string_equal(err->msg, "failed to process \"$BAD\"");
	berr_free(err);
}

static void test_error_position(void **state)
{
	(void)state;
	struct df_node n;
	fill(&n, "COPY", L("--from=a", "--frm=x"), L("a", "b"), false, 7);
	n.col = 3;
	free(n.original);
	n.original = xstrdup("COPY --from=a --frm=x a b");
	assert_non_null(conv(&n, NULL));
	assert_int_equal(last_line, 7);
	assert_int_equal(last_col, 3 + 14);
	node_clear(&n);
	/* argument errors point at the keyword */
	fill(&n, "USER", NONE, NONE, false, 4);
	n.col = 2;
	assert_non_null(conv(&n, NULL));
	assert_int_equal(last_line, 4);
	assert_int_equal(last_col, 2);
	node_clear(&n);
	/* multi-line instructions: the keyword column */
	fill(&n, "RUN", L("--network=x"), L("a"), false, 4);
	n.end_line = 6;
	assert_non_null(conv(&n, NULL));
	assert_int_equal(last_col, 1);
	node_clear(&n);
	/* the second of two --mount flags */
	fill(&n, "RUN", L("--mount=from=a", "--mount=from=$b"), L("a"), false, 4);
	assert_non_null(conv(&n, NULL));
	assert_int_equal(last_col, 20);
	node_clear(&n);
	/* value errors of a flag point at the flag */
	fill(&n, "RUN", L("--network=x"), L("a"), false, 4);
	assert_non_null(conv(&n, NULL));
	assert_int_equal(last_col, 5);
	node_clear(&n);
}

static struct df_file *mkfile(size_t n)
{
	struct df_file *f = xcalloc(1, sizeof(*f));
	f->name = xstrdup("Dockerfile");
	f->escape = '\\';
	f->nodes = xcalloc(n, sizeof(*f->nodes));
	f->nnodes = n;
	return f;
}

static void freefile(struct df_file *f)
{
	for (size_t i = 0; i < f->nnodes; i++)
		node_clear(&f->nodes[i]);
	free(f->nodes);
	free(f->name);
	free(f);
}

static void test_stages(void **state)
{
	(void)state;
	struct df_file *f = mkfile(6);
	fill(&f->nodes[0], "ARG", NONE, L("V=1"), false, 1);
	fill(&f->nodes[1], "ARG", NONE, L("W"), false, 2);
	fill(&f->nodes[2], "FROM", NONE, L("a", "AS", "build"), false, 3);
	fill(&f->nodes[3], "ARG", NONE, L("V"), false, 4);
	fill(&f->nodes[4], "FROM", NONE, L("build"), false, 5);
	fill(&f->nodes[5], "COPY", L("--from=build"), L("/a", "/b"), false, 6);
	struct df_stages *st = NULL;
	struct berr *err = NULL;
	assert_int_equal(df_stages_parse(f, &st, NULL, &err), 0);
	assert_int_equal(st->nmeta_args, 2);
	assert_int_equal(st->nstages, 2);
	assert_string_equal(st->stages[0].from->u.from.name, "build");
	assert_int_equal(st->stages[0].ncmds, 1);
	assert_int_equal(st->stages[0].cmds[0]->kind, DF_I_ARG);
	assert_int_equal(st->stages[1].ncmds, 1);
	assert_string_equal(st->stages[1].cmds[0]->u.copy.from, "build");
	df_stages_free(st);
	char *txt = df_instr_print_reference(f);
	assert_non_null(strstr(txt, "PARSE\tok\tstages=2 metaArgs=2\n"));
	assert_non_null(strstr(txt, "6-6\tCOPY\tok\t{\"chmod\""));
	free(txt);
	freefile(f);

	f = mkfile(3);
	fill(&f->nodes[0], "ARG", NONE, L("V=1"), false, 1);
	fill(&f->nodes[1], "CMD", L("--doit"), L("a"), false, 2);
	fill(&f->nodes[2], "FROM", NONE, L("a"), false, 3);
	struct df_stages_fail fail;
	assert_int_equal(df_stages_parse(f, &st, &fail, &err), -1);
	assert_null(st);
	assert_string_equal(err->msg, "unknown flag: --doit");
	assert_true(fail.instr_error);
	assert_ptr_equal(fail.node, &f->nodes[1]);
	berr_clear(&err);
	txt = df_instr_print_reference(f);
	assert_string_equal(txt,
		"1-1\tARG\tok\t{\"args\":[{\"Key\":\"V\",\"Value\":\"1\",\"DocComment\":\"\"}],\"type\":\"*instructions.ArgCommand\"}\n"
		"2-2\tCMD\terror\tunknown flag: --doit\n"
		"3-3\tFROM\tok\t{\"base\":\"a\",\"name\":\"\",\"platform\":\"\",\"type\":\"*instructions.Stage\"}\n"
		"PARSE\terror\tdockerfile parse error on line 2: unknown flag: --doit\n");
	free(txt);
	freefile(f);

	f = mkfile(2);
	fill(&f->nodes[0], "CMD", NONE, L("a"), true, 1);
	fill(&f->nodes[1], "FROM", NONE, L("a"), false, 2);
	assert_int_equal(df_stages_parse(f, &st, &fail, &err), -1);
	assert_string_equal(err->msg, "no build stage in current context");
	assert_int_equal(err->line, 1);
	assert_false(fail.instr_error);
	berr_clear(&err);
	txt = df_instr_print_reference(f);
	assert_non_null(strstr(txt, "PARSE\terror\tno build stage in current context\n"));
	free(txt);
	freefile(f);

	f = mkfile(0);
	assert_int_equal(df_stages_parse(f, &st, NULL, &err), 0);
	assert_int_equal(st->nstages, 0);
	df_stages_free(st);
	freefile(f);
	df_stages_free(NULL);
	df_instr_free(NULL);
}

static void test_json_escaping(void **state)
{
	(void)state;
	expect_json("CMD", NONE, L("abc 123", "\xe2\x99\xa5", "\" \\ / \b \f \n \r \t \x01", "<&>", "\xff", "\xe2\x80\xa8"), true,
		    "{\"cmdLine\":[\"abc 123\",\"\xe2\x99\xa5\",\"\\\" \\\\ / \\u0008 \\u000c \\n \\r \\t \\u0001\","
		    "\"<&>\",\"\\ufffd\",\"\\u2028\"],\"files\":null,\"prependShell\":false,\"type\":\"*instructions.CmdCommand\"}");
	assert_string_equal(df_instr_kind_name(DF_I_HEALTHCHECK), "HEALTHCHECK");
	assert_null(df_instr_kind_name((enum df_instr_kind)99));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from),
		cmocka_unit_test(test_run),
		cmocka_unit_test(test_cmd_entrypoint_shell),
		cmocka_unit_test(test_env_label_maintainer),
		cmocka_unit_test(test_add_copy),
		cmocka_unit_test(test_copy_heredoc),
		cmocka_unit_test(test_simple_instructions),
		cmocka_unit_test(test_arg),
		cmocka_unit_test(test_onbuild),
		cmocka_unit_test(test_healthcheck),
		cmocka_unit_test(test_duration),
		cmocka_unit_test(test_go_quote),
		cmocka_unit_test(test_mount_full),
		cmocka_unit_test(test_error_position),
		cmocka_unit_test(test_stages),
		cmocka_unit_test(test_json_escaping),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
