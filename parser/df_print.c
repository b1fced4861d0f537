/* AST printers: BuildKit dump, JSON, tree. Owner: parser. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_print.h"
#include "parser/df_unicode.h"
#include "common/common.h"

static const char hexdig[] = "0123456789abcdef";

void df_go_quote(struct bbuf *out, const char *s, size_t n)
{
	bbuf_addch(out, '"', NULL);
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t w = df_utf8_decode(s + i, n - i, &r);
		unsigned char b = (unsigned char)s[i];
		if (w == 1 && r == DF_RUNE_ERROR) {
			char x[4] = { '\\', 'x', hexdig[b >> 4], hexdig[b & 15] };
			bbuf_add(out, x, 4, NULL);
			i++;
			continue;
		}
		if (r == '"' || r == '\\') {
			char e[2] = { '\\', (char)r };
			bbuf_add(out, e, 2, NULL);
		} else if (df_uni_isprint(r)) {
			bbuf_add(out, s + i, w, NULL);
		} else {
			char e[12];
			int len;
			switch (r) {
			case '\a': len = snprintf(e, sizeof(e), "\\a"); break;
			case '\b': len = snprintf(e, sizeof(e), "\\b"); break;
			case '\f': len = snprintf(e, sizeof(e), "\\f"); break;
			case '\n': len = snprintf(e, sizeof(e), "\\n"); break;
			case '\r': len = snprintf(e, sizeof(e), "\\r"); break;
			case '\t': len = snprintf(e, sizeof(e), "\\t"); break;
			case '\v': len = snprintf(e, sizeof(e), "\\v"); break;
			default:
				if (r < ' ' || r == 0x7F)
					len = snprintf(e, sizeof(e), "\\x%02x", (unsigned)r);
				else if (r < 0x10000)
					len = snprintf(e, sizeof(e), "\\u%04x", (unsigned)r);
				else
					len = snprintf(e, sizeof(e), "\\U%08x", (unsigned)r);
			}
			bbuf_add(out, e, (size_t)len, NULL);
		}
		i += w;
	}
	bbuf_addch(out, '"', NULL);
}

void df_json_quote(struct bbuf *out, const char *s, size_t n)
{
	bbuf_addch(out, '"', NULL);
	for (size_t i = 0; i < n;) {
		uint32_t r;
		size_t w = df_utf8_decode(s + i, n - i, &r);
		if (w == 1 && r == DF_RUNE_ERROR) {
			bbuf_addstr(out, "\\ufffd", NULL);
			i++;
			continue;
		}
		char e[8];
		switch (r) {
		case '"': bbuf_addstr(out, "\\\"", NULL); break;
		case '\\': bbuf_addstr(out, "\\\\", NULL); break;
		case '\n': bbuf_addstr(out, "\\n", NULL); break;
		case '\r': bbuf_addstr(out, "\\r", NULL); break;
		case '\t': bbuf_addstr(out, "\\t", NULL); break;
		default:
			if (r < 0x20 || r == 0x2028 || r == 0x2029) {
				snprintf(e, sizeof(e), "\\u%04x", (unsigned)r);
				bbuf_addstr(out, e, NULL);
			} else {
				bbuf_add(out, s + i, w, NULL);
			}
		}
		i += w;
	}
	bbuf_addch(out, '"', NULL);
}

static size_t arglen(const struct df_node *nd, size_t i)
{
	return nd->arglens ? nd->arglens[i] : strlen(nd->args[i]);
}

/* ---------------- buildkit ---------------- */

static void dump_node(const struct df_node *nd, struct bbuf *out)
{
	struct bbuf s = BBUF_INIT;
	bbuf_addstr(&s, nd->cmd, NULL);
	if (nd->nflags) {
		bbuf_addstr(&s, " [", NULL);
		for (size_t i = 0; i < nd->nflags; i++) {
			if (i)
				bbuf_addch(&s, ' ', NULL);
			df_go_quote(&s, nd->flags[i], strlen(nd->flags[i]));
		}
		bbuf_addch(&s, ']', NULL);
	}
	for (size_t i = 0; i < nd->nargs; i++) {
		bbuf_addch(&s, ' ', NULL);
		df_go_quote(&s, nd->args[i], arglen(nd, i));
	}
	if (nd->trigger) {
		bbuf_addstr(&s, " (", NULL);
		dump_node(nd->trigger, &s);
		bbuf_addch(&s, ')', NULL);
	}
	/* Dump() trims surrounding whitespace */
	size_t n = s.len;
	const char *p = bbuf_str(&s);
	size_t lead = df_uni_space_prefix(p, n);
	n = df_uni_trim_right(p + lead, n - lead);
	bbuf_add(out, p + lead, n, NULL);
	bbuf_release(&s);
}

void df_print_buildkit(const struct df_file *f, struct bbuf *out)
{
	for (size_t i = 0; i < f->nnodes; i++) {
		bbuf_addch(out, '(', NULL);
		dump_node(&f->nodes[i], out);
		bbuf_addstr(out, ")\n", NULL);
	}
}

/* ---------------- json ---------------- */

static void ind(struct bbuf *out, int level)
{
	for (int i = 0; i < level; i++)
		bbuf_addstr(out, "  ", NULL);
}

static void jstr(struct bbuf *out, const char *s)
{
	df_json_quote(out, s, strlen(s));
}

static void jstr_array(struct bbuf *out, char *const *v, const size_t *lens, size_t n)
{
	bbuf_addch(out, '[', NULL);
	for (size_t i = 0; i < n; i++) {
		if (i)
			bbuf_addstr(out, ", ", NULL);
		df_json_quote(out, v[i], lens ? lens[i] : strlen(v[i]));
	}
	bbuf_addch(out, ']', NULL);
}

static void json_node(const struct df_node *nd, struct bbuf *out, int lv)
{
	bbuf_addstr(out, "{\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"value\": ", NULL);
	jstr(out, nd->name);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"cmd\": ", NULL);
	jstr(out, nd->cmd);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"original\": ", NULL);
	jstr(out, nd->original);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addf(out, NULL, "\"startLine\": %d,\n", nd->start_line);
	ind(out, lv + 1);
	bbuf_addf(out, NULL, "\"endLine\": %d,\n", nd->end_line);
	ind(out, lv + 1);
	bbuf_addf(out, NULL, "\"column\": %d,\n", nd->col);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"flags\": ", NULL);
	jstr_array(out, nd->flags, NULL, nd->nflags);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addf(out, NULL, "\"json\": %s,\n", nd->json ? "true" : "false");
	ind(out, lv + 1);
	bbuf_addstr(out, "\"args\": ", NULL);
	jstr_array(out, nd->args, nd->arglens, nd->nargs);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"trigger\": ", NULL);
	if (nd->trigger)
		json_node(nd->trigger, out, lv + 1);
	else
		bbuf_addstr(out, "null", NULL);
	bbuf_addstr(out, ",\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"heredocs\": [", NULL);
	for (size_t i = 0; i < nd->nheredocs; i++) {
		const struct df_heredoc *h = &nd->heredocs[i];
		bbuf_addstr(out, i ? ",\n" : "\n", NULL);
		ind(out, lv + 2);
		bbuf_addstr(out, "{\"name\": ", NULL);
		jstr(out, h->name);
		bbuf_addf(out, NULL, ", \"fd\": %d, \"expand\": %s, \"chomp\": %s, \"content\": ",
			  h->fd, h->expand ? "true" : "false", h->chomp ? "true" : "false");
		jstr(out, h->content ? h->content : "");
		bbuf_addch(out, '}', NULL);
	}
	if (nd->nheredocs) {
		bbuf_addch(out, '\n', NULL);
		ind(out, lv + 1);
	}
	bbuf_addstr(out, "],\n", NULL);
	ind(out, lv + 1);
	bbuf_addstr(out, "\"comments\": ", NULL);
	jstr_array(out, nd->comments, NULL, nd->ncomments);
	bbuf_addch(out, '\n', NULL);
	ind(out, lv);
	bbuf_addch(out, '}', NULL);
}

void df_print_json(const struct df_file *f, struct bbuf *out)
{
	char esc[2] = { f->escape, 0 };
	bbuf_addstr(out, "{\n  \"file\": ", NULL);
	jstr(out, f->name ? f->name : "");
	bbuf_addstr(out, ",\n  \"escapeToken\": ", NULL);
	jstr(out, esc);
	bbuf_addstr(out, ",\n  \"directives\": [", NULL);
	const char *dname[3] = { "syntax", "escape", "check" };
	const char *dval[3] = { f->syntax, f->escape_line ? esc : NULL, f->check };
	int dline[3] = { f->syntax_line, f->escape_line, f->check_line };
	bool first = true;
	for (int pass = 1; pass <= 3; pass++) {
		/* in file order: directives sit on lines 1..3 at most */
		for (int k = 0; k < 3; k++) {
			if (!dval[k] || dline[k] != pass)
				continue;
			bbuf_addstr(out, first ? "\n    " : ",\n    ", NULL);
			bbuf_addstr(out, "{\"name\": ", NULL);
			jstr(out, dname[k]);
			bbuf_addstr(out, ", \"value\": ", NULL);
			jstr(out, dval[k]);
			bbuf_addf(out, NULL, ", \"line\": %d}", dline[k]);
			first = false;
		}
	}
	bbuf_addstr(out, first ? "]" : "\n  ]", NULL);
	bbuf_addf(out, NULL, ",\n  \"startLine\": %d,\n  \"endLine\": %d,\n  \"children\": [",
		  f->start_line, f->end_line);
	for (size_t i = 0; i < f->nnodes; i++) {
		bbuf_addstr(out, i ? ",\n    " : "\n    ", NULL);
		json_node(&f->nodes[i], out, 2);
	}
	bbuf_addstr(out, f->nnodes ? "\n  ],\n  \"warnings\": [" : "],\n  \"warnings\": [", NULL);
	for (size_t i = 0; i < f->nwarnings; i++) {
		bbuf_addstr(out, i ? ",\n    " : "\n    ", NULL);
		bbuf_addstr(out, "{\"short\": ", NULL);
		jstr(out, f->warnings[i].msg);
		bbuf_addf(out, NULL, ", \"line\": %d}", f->warnings[i].start_line);
	}
	bbuf_addstr(out, f->nwarnings ? "\n  ]\n}\n" : "]\n}\n", NULL);
}

/* ---------------- tree ---------------- */

static void tree_node(const struct df_node *nd, struct bbuf *out, int depth)
{
	char span[32];
	if (depth == 0) {
		if (nd->start_line == nd->end_line)
			snprintf(span, sizeof(span), "%d", nd->start_line);
		else
			snprintf(span, sizeof(span), "%d-%d", nd->start_line, nd->end_line);
		bbuf_addf(out, NULL, "%-8s", span);
	} else {
		bbuf_addf(out, NULL, "%*s", 8 + 4 * depth, "");
	}
	bbuf_addstr(out, nd->name[0] ? nd->name : "(empty)", NULL);
	if (nd->json)
		bbuf_addstr(out, "  [exec form]", NULL);
	bbuf_addch(out, '\n', NULL);
	int pad = 10 + 4 * depth;
	for (size_t i = 0; i < nd->ncomments; i++) {
		bbuf_addf(out, NULL, "%*s# ", pad, "");
		bbuf_addstr(out, nd->comments[i], NULL);
		bbuf_addch(out, '\n', NULL);
	}
	for (size_t i = 0; i < nd->nflags; i++) {
		bbuf_addf(out, NULL, "%*sflag ", pad, "");
		df_go_quote(out, nd->flags[i], strlen(nd->flags[i]));
		bbuf_addch(out, '\n', NULL);
	}
	for (size_t i = 0; i < nd->nargs; i++) {
		bbuf_addf(out, NULL, "%*sarg  ", pad, "");
		df_go_quote(out, nd->args[i], arglen(nd, i));
		bbuf_addch(out, '\n', NULL);
	}
	if (nd->trigger) {
		bbuf_addf(out, NULL, "%*strigger:\n", pad, "");
		tree_node(nd->trigger, out, depth + 1);
	}
	for (size_t i = 0; i < nd->nheredocs; i++) {
		const struct df_heredoc *h = &nd->heredocs[i];
		size_t lines = 0;
		for (const char *p = h->content; *p; p++)
			if (*p == '\n')
				lines++;
		bbuf_addf(out, NULL, "%*sheredoc ", pad, "");
		df_go_quote(out, h->name, strlen(h->name));
		bbuf_addf(out, NULL, " (%s%s, fd %d, %zu line%s)\n",
			  h->expand ? "expand" : "no expand", h->chomp ? ", chomp" : "", h->fd,
			  lines, lines == 1 ? "" : "s");
	}
}

void df_print_tree(const struct df_file *f, struct bbuf *out)
{
	bbuf_addf(out, NULL, "%s: %zu instruction%s, lines %d-%d, escape '%c'\n",
		  f->name ? f->name : "Dockerfile", f->nnodes, f->nnodes == 1 ? "" : "s",
		  f->start_line, f->end_line, f->escape);
	if (f->syntax)
		bbuf_addf(out, NULL, "syntax: %s\n", f->syntax);
	if (f->check)
		bbuf_addf(out, NULL, "check: %s\n", f->check);
	for (size_t i = 0; i < f->nnodes; i++)
		tree_node(&f->nodes[i], out, 0);
	for (size_t i = 0; i < f->nwarnings; i++)
		bbuf_addf(out, NULL, "warning: line %d: %s\n", f->warnings[i].start_line,
			  f->warnings[i].msg);
}
