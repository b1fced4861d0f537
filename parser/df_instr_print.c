/* JSON summaries of typed instructions and the Dockerfile.instructions
 * reference format (see df_instr.h). The JSON mirrors what encoding/json
 * prints for BuildKit's structs with HTML escaping off: top-level keys in
 * sorted order, nested structs in field order, Go's string escaping. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_instr.h"
#include "common/common.h"

static void jstrn(struct bbuf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	const unsigned char *end = p + (s ? n : 0);
	bbuf_addch(b, '"', NULL);
	while (p < end) {
		unsigned char c = *p;
		if (c == '"' || c == '\\') {
			bbuf_addch(b, '\\', NULL);
			bbuf_addch(b, (char)c, NULL);
			p++;
		} else if (c == '\n') {
			bbuf_addstr(b, "\\n", NULL);
			p++;
		} else if (c == '\r') {
			bbuf_addstr(b, "\\r", NULL);
			p++;
		} else if (c == '\t') {
			bbuf_addstr(b, "\\t", NULL);
			p++;
		} else if (c < 0x20) {
			bbuf_addf(b, NULL, "\\u%04x", c);
			p++;
		} else if (c < 0x80) {
			bbuf_addch(b, (char)c, NULL);
			p++;
		} else {
			/* validate one UTF-8 sequence; invalid bytes become U+FFFD */
			size_t len = (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3 :
				     (c & 0xf8) == 0xf0 ? 4 : 0;
			uint32_t cp = len == 2 ? c & 0x1f : len == 3 ? c & 0x0f : c & 0x07;
			bool ok = len != 0 && (size_t)(end - p) >= len;
			for (size_t i = 1; ok && i < len; i++) {
				if ((p[i] & 0xc0) != 0x80)
					ok = false;
				else
					cp = (cp << 6) | (p[i] & 0x3f);
			}
			if (ok) {
				uint32_t min = len == 2 ? 0x80 : len == 3 ? 0x800 : 0x10000;
				if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
					ok = false;
			}
			if (!ok) {
				bbuf_addstr(b, "\\ufffd", NULL);
				p++;
			} else if (cp == 0x2028 || cp == 0x2029) {
				bbuf_addf(b, NULL, "\\u%04x", cp);
				p += len;
			} else {
				bbuf_add(b, p, len, NULL);
				p += len;
			}
		}
	}
	bbuf_addch(b, '"', NULL);
}

static void jstr(struct bbuf *b, const char *s)
{
	jstrn(b, s, s ? strlen(s) : 0);
}

static void jstrv(struct bbuf *b, const struct df_strv *v)
{
	if (!v->items) {
		bbuf_addstr(b, "null", NULL);
		return;
	}
	bbuf_addch(b, '[', NULL);
	for (size_t i = 0; i < v->n; i++) {
		if (i)
			bbuf_addch(b, ',', NULL);
		jstrn(b, v->items[i], v->lens ? v->lens[i] : strlen(v->items[i]));
	}
	bbuf_addch(b, ']', NULL);
}

static void jbool(struct bbuf *b, bool v)
{
	bbuf_addstr(b, v ? "true" : "false", NULL);
}

static void jkey(struct bbuf *b, const char *k, bool first)
{
	if (!first)
		bbuf_addch(b, ',', NULL);
	jstr(b, k);
	bbuf_addch(b, ':', NULL);
}

static void jtype(struct bbuf *b, const char *t)
{
	jkey(b, "type", false);
	bbuf_addf(b, NULL, "\"*instructions.%s\"", t);
}

static void jfiles(struct bbuf *b, const struct df_cmdline *cl)
{
	if (!cl->nfiles) {
		bbuf_addstr(b, "null", NULL);
		return;
	}
	bbuf_addch(b, '[', NULL);
	for (size_t i = 0; i < cl->nfiles; i++) {
		if (i)
			bbuf_addch(b, ',', NULL);
		bbuf_addstr(b, "{\"Name\":", NULL);
		jstr(b, cl->files[i].name);
		jkey(b, "Data", false);
		jstr(b, cl->files[i].data);
		jkey(b, "Chomp", false);
		jbool(b, cl->files[i].chomp);
		bbuf_addch(b, '}', NULL);
	}
	bbuf_addch(b, ']', NULL);
}

static void jcmdline(struct bbuf *b, const struct df_cmdline *cl)
{
	jkey(b, "cmdLine", true);
	jstrv(b, &cl->args);
	jkey(b, "files", false);
	jfiles(b, cl);
}

static void jkvs(struct bbuf *b, const struct df_instr *in)
{
	bbuf_addch(b, '[', NULL);
	for (size_t i = 0; i < in->u.kv.n; i++) {
		if (i)
			bbuf_addch(b, ',', NULL);
		bbuf_addstr(b, "{\"Key\":", NULL);
		jstr(b, in->u.kv.kvs[i].key);
		bbuf_addstr(b, ",\"Value\":", NULL);
		jstr(b, in->u.kv.kvs[i].value);
		bbuf_addstr(b, ",\"NoDelim\":", NULL);
		jbool(b, in->u.kv.kvs[i].no_delim);
		bbuf_addch(b, '}', NULL);
	}
	bbuf_addch(b, ']', NULL);
}

static void jopt_str(struct bbuf *b, const char *s)
{
	jstr(b, s ? s : "");
}

static void jmount(struct bbuf *b, const struct df_mount *m)
{
	bbuf_addstr(b, "{\"Type\":", NULL);
	jstr(b, df_mount_type_name(m->type));
	bbuf_addstr(b, ",\"From\":", NULL);
	jopt_str(b, m->from);
	bbuf_addstr(b, ",\"Source\":", NULL);
	jopt_str(b, m->source);
	bbuf_addstr(b, ",\"Target\":", NULL);
	jopt_str(b, m->target);
	bbuf_addstr(b, ",\"ReadOnly\":", NULL);
	jbool(b, m->readonly);
	bbuf_addf(b, NULL, ",\"SizeLimit\":%lld", (long long)m->size_limit);
	bbuf_addstr(b, ",\"CacheID\":", NULL);
	jopt_str(b, m->id);
	bbuf_addstr(b, ",\"CacheSharing\":", NULL);
	jopt_str(b, m->sharing);
	bbuf_addstr(b, ",\"Required\":", NULL);
	jbool(b, m->required);
	bbuf_addstr(b, ",\"Env\":", NULL);
	if (m->env)
		jstr(b, m->env);
	else
		bbuf_addstr(b, "null", NULL);
	if (m->has_mode)
		bbuf_addf(b, NULL, ",\"Mode\":%u", m->mode);
	else
		bbuf_addstr(b, ",\"Mode\":null", NULL);
	if (m->has_uid)
		bbuf_addf(b, NULL, ",\"UID\":%u", m->uid);
	else
		bbuf_addstr(b, ",\"UID\":null", NULL);
	if (m->has_gid)
		bbuf_addf(b, NULL, ",\"GID\":%u", m->gid);
	else
		bbuf_addstr(b, ",\"GID\":null", NULL);
	bbuf_addch(b, '}', NULL);
}

static void jtristate(struct bbuf *b, int v)
{
	bbuf_addstr(b, v < 0 ? "null" : v ? "true" : "false", NULL);
}

static void jcopy(struct bbuf *b, const struct df_instr *in, bool add)
{
	const struct df_copy *cp = &in->u.copy;
	bool first = true;
	if (add) {
		jkey(b, "checksum", true);
		jstr(b, cp->checksum);
		first = false;
	}
	jkey(b, "chmod", first);
	jstr(b, cp->chmod);
	jkey(b, "chown", false);
	jstr(b, cp->chown);
	jkey(b, "dest", false);
	jstr(b, cp->dest);
	jkey(b, "exclude", false);
	jstrv(b, &cp->exclude);
	if (!add) {
		jkey(b, "from", false);
		jstr(b, cp->from);
	}
	if (add) {
		jkey(b, "keepGitDir", false);
		jtristate(b, cp->keep_git_dir);
	}
	jkey(b, "link", false);
	jbool(b, cp->link);
	if (!add) {
		jkey(b, "parents", false);
		jbool(b, cp->parents);
	}
	jkey(b, "sourceContents", false);
	if (!cp->ncontents) {
		bbuf_addstr(b, "null", NULL);
	} else {
		bbuf_addch(b, '[', NULL);
		for (size_t i = 0; i < cp->ncontents; i++) {
			if (i)
				bbuf_addch(b, ',', NULL);
			bbuf_addstr(b, "{\"Path\":", NULL);
			jstr(b, cp->contents[i].path);
			bbuf_addstr(b, ",\"Data\":", NULL);
			jstr(b, cp->contents[i].data);
			bbuf_addstr(b, ",\"Expand\":", NULL);
			jbool(b, cp->contents[i].expand);
			bbuf_addch(b, '}', NULL);
		}
		bbuf_addch(b, ']', NULL);
	}
	jkey(b, "sources", false);
	jstrv(b, &cp->sources);
	jtype(b, add ? "AddCommand" : "CopyCommand");
	if (add) {
		jkey(b, "unpack", false);
		jtristate(b, cp->unpack);
	}
}

static void jhealth(struct bbuf *b, const struct df_health *h)
{
	bbuf_addstr(b, "{", NULL);
	bool first = true;
	if (h->test.n) {
		jkey(b, "Test", first);
		jstrv(b, &h->test);
		first = false;
	}
	const struct {
		const char *k;
		int64_t v;
	} d[] = {
		{ "Interval", h->interval },
		{ "Timeout", h->timeout },
		{ "StartPeriod", h->start_period },
		{ "StartInterval", h->start_interval },
	};
	for (size_t i = 0; i < ARRAY_SIZE(d); i++) {
		if (!d[i].v)
			continue;
		jkey(b, d[i].k, first);
		bbuf_addf(b, NULL, "%lld", (long long)d[i].v);
		first = false;
	}
	if (h->retries) {
		jkey(b, "Retries", first);
		bbuf_addf(b, NULL, "%d", h->retries);
	}
	bbuf_addch(b, '}', NULL);
}

char *df_instr_json(const struct df_instr *in)
{
	struct bbuf b = BBUF_INIT;
	bbuf_addch(&b, '{', NULL);
	switch (in->kind) {
	case DF_I_FROM:
		jkey(&b, "base", true);
		jstr(&b, in->u.from.base);
		jkey(&b, "name", false);
		jstr(&b, in->u.from.name);
		jkey(&b, "platform", false);
		jstr(&b, in->u.from.platform);
		jtype(&b, "Stage");
		break;
	case DF_I_ARG:
		jkey(&b, "args", true);
		bbuf_addch(&b, '[', NULL);
		for (size_t i = 0; i < in->u.arg.n; i++) {
			const struct df_argdef *a = &in->u.arg.args[i];
			if (i)
				bbuf_addch(&b, ',', NULL);
			bbuf_addstr(&b, "{\"Key\":", NULL);
			jstr(&b, a->key);
			bbuf_addstr(&b, ",\"Value\":", NULL);
			if (a->value)
				jstr(&b, a->value);
			else
				bbuf_addstr(&b, "null", NULL);
			bbuf_addstr(&b, ",\"DocComment\":", NULL);
			jstr(&b, a->doc_comment);
			bbuf_addch(&b, '}', NULL);
		}
		bbuf_addch(&b, ']', NULL);
		jtype(&b, "ArgCommand");
		break;
	case DF_I_ENV:
		jkey(&b, "env", true);
		jkvs(&b, in);
		jtype(&b, "EnvCommand");
		break;
	case DF_I_LABEL:
		jkey(&b, "labels", true);
		jkvs(&b, in);
		jtype(&b, "LabelCommand");
		break;
	case DF_I_RUN:
		jcmdline(&b, &in->u.run.cmd);
		jkey(&b, "flagsUsed", false);
		jstrv(&b, &in->u.run.flags_used);
		jkey(&b, "mounts", false);
		bbuf_addch(&b, '[', NULL);
		for (size_t i = 0; i < in->u.run.nmounts; i++) {
			if (i)
				bbuf_addch(&b, ',', NULL);
			jmount(&b, &in->u.run.mounts[i]);
		}
		bbuf_addch(&b, ']', NULL);
		jkey(&b, "network", false);
		jstr(&b, in->u.run.network);
		jkey(&b, "prependShell", false);
		jbool(&b, in->u.run.cmd.prepend_shell);
		jkey(&b, "security", false);
		jstr(&b, in->u.run.security);
		jtype(&b, "RunCommand");
		break;
	case DF_I_CMD:
	case DF_I_ENTRYPOINT:
		jcmdline(&b, &in->u.cmd);
		jkey(&b, "prependShell", false);
		jbool(&b, in->u.cmd.prepend_shell);
		jtype(&b, in->kind == DF_I_CMD ? "CmdCommand" : "EntrypointCommand");
		break;
	case DF_I_SHELL:
		jkey(&b, "shell", true);
		jstrv(&b, &in->u.shell);
		jtype(&b, "ShellCommand");
		break;
	case DF_I_EXPOSE:
		jkey(&b, "ports", true);
		jstrv(&b, &in->u.list);
		jtype(&b, "ExposeCommand");
		break;
	case DF_I_VOLUME:
		bbuf_addstr(&b, "\"type\":\"*instructions.VolumeCommand\"", NULL);
		jkey(&b, "volumes", false);
		jstrv(&b, &in->u.list);
		break;
	case DF_I_USER:
		bbuf_addstr(&b, "\"type\":\"*instructions.UserCommand\"", NULL);
		jkey(&b, "user", false);
		jstr(&b, in->u.str);
		break;
	case DF_I_WORKDIR:
		jkey(&b, "path", true);
		jstr(&b, in->u.str);
		jtype(&b, "WorkdirCommand");
		break;
	case DF_I_MAINTAINER:
		jkey(&b, "maintainer", true);
		jstr(&b, in->u.str);
		jtype(&b, "MaintainerCommand");
		break;
	case DF_I_STOPSIGNAL:
		jkey(&b, "signal", true);
		jstr(&b, in->u.str);
		jtype(&b, "StopSignalCommand");
		break;
	case DF_I_ADD:
	case DF_I_COPY:
		jcopy(&b, in, in->kind == DF_I_ADD);
		break;
	case DF_I_ONBUILD:
		jkey(&b, "expression", true);
		jstr(&b, in->u.onbuild);
		jtype(&b, "OnbuildCommand");
		break;
	case DF_I_HEALTHCHECK:
		jkey(&b, "health", true);
		jhealth(&b, &in->u.health);
		jtype(&b, "HealthCheckCommand");
		break;
	}
	bbuf_addch(&b, '}', NULL);
	return bbuf_detach(&b, NULL);
}

static char *upper_name(const struct df_node *n)
{
	char *s = xstrdup(n->name ? n->name : (n->cmd ? n->cmd : ""));
	for (char *p = s; *p; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	return s;
}

char *df_instr_print_reference(const struct df_file *f)
{
	struct bbuf b = BBUF_INIT;
	bbuf_addstr(&b, "", NULL);
	for (size_t i = 0; i < f->nnodes; i++) {
		const struct df_node *n = &f->nodes[i];
		_cleanup_free_ char *name = upper_name(n);
		struct df_instr *in = NULL;
		struct berr *e = NULL;
		bbuf_addf(&b, NULL, "%d-%d\t%s\t", n->start_line, n->end_line, name);
		if (df_instr_from_node(f, n, &in, &e) < 0) {
			bbuf_addf(&b, NULL, "error\t%s\n", e->msg);
			berr_free(e);
			continue;
		}
		_cleanup_free_ char *js = df_instr_json(in);
		bbuf_addf(&b, NULL, "ok\t%s\n", js);
		df_instr_free(in);
	}
	struct df_stages *st = NULL;
	struct df_stages_fail fail;
	struct berr *e = NULL;
	if (df_stages_parse(f, &st, &fail, &e) < 0) {
		if (fail.instr_error && fail.node)
			bbuf_addf(&b, NULL, "PARSE\terror\tdockerfile parse error on line %d: %s\n",
				  fail.node->start_line, e->msg);
		else
			bbuf_addf(&b, NULL, "PARSE\terror\t%s\n", e->msg);
		berr_free(e);
	} else {
		bbuf_addf(&b, NULL, "PARSE\tok\tstages=%zu metaArgs=%zu\n", st->nstages,
			  st->nmeta_args);
		df_stages_free(st);
	}
	return bbuf_detach(&b, NULL);
}
