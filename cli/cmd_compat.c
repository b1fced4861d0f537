/* berth compat: check | audit | releases | explain */
#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/cli_util.h"
#include "common/common.h"
#include "compat/wc.h"
#include "cli/compat_audit.h"

static const struct cli_command cmd;

static cJSON *json_str_or_null(const char *s)
{
	return s ? cJSON_CreateString(s) : cJSON_CreateNull();
}

/* Lifecycle / tag notes shared by check and audit. */
static void add_note(cJSON *notes, FILE *text, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add_note(cJSON *notes, FILE *text, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = xvasprintf(fmt, ap);
	va_end(ap);
	if (notes)
		cJSON_AddItemToArray(notes, cJSON_CreateString(s));
	if (text)
		fprintf(text, "note      %s\n", s);
	free(s);
}

static void image_notes(const struct wc_kb *kb, const struct wc_image *img,
			const struct wc_tag_info *tag, const char *today, cJSON *notes, FILE *text)
{
	if (tag->retired_repo && tag->family)
		add_note(notes, text, "%s is a retired Docker Hub repository; use %s", tag->family->repos[0],
			 tag->family->successor ? tag->family->successor : "mcr.microsoft.com");
	if (tag->single_arch)
		add_note(notes, text, "an architecture-suffixed tag is a single-arch manifest, not a "
			 "manifest list; runtimes do not choose among entries for it");
	if (tag->kb[0])
		add_note(notes, text, "tag pins update %s", tag->kb);
	if (tag->how == WC_TAG_UNKNOWN && tag->why[0])
		add_note(notes, text, "%s", tag->why);
	else if (tag->why[0])
		add_note(notes, text, "%s", tag->why);
	if (img->rel) {
		enum wc_support s = wc_release_support(img->rel, today);
		if (s == WC_SUP_ENDED)
			add_note(notes, text, "%s reached end of support (%s) as of %s", img->rel->name,
				 img->rel->extended_end ? img->rel->extended_end :
				 img->rel->mainstream_end ? img->rel->mainstream_end : "date unknown", today);
	}
	if (img->has_version && img->build > kb->max_build)
		add_note(notes, text, "build %u is newer than the knowledge base (%s); update it with "
			 "--releases FILE", img->build, kb->updated ? kb->updated : kb->origin);
}

static void host_notes(const struct wc_kb *kb, const struct wc_host *h, const char *today,
		       cJSON *notes, FILE *text)
{
	if (h->client)
		add_note(notes, text, "client hosts (Windows 10/11) default to Hyper-V isolation in Docker; "
			 "process isolation needs --isolation=process");
	if (h->rel) {
		enum wc_support s = wc_release_support(h->rel, today);
		if (s == WC_SUP_ENDED)
			add_note(notes, text, "host release %s reached end of support as of %s",
				 h->rel->name, today);
	} else if (h->build > kb->max_build) {
		add_note(notes, text, "host build %u is newer than the knowledge base (%s); update it with "
			 "--releases FILE or BERTH_RELEASES", h->build, kb->updated ? kb->updated : kb->origin);
	}
}

static const char *usage_check =
	"Usage: berth compat check --image SRC --host HOST [--isolation process|hyperv|auto]\n"
	"                          [--format text|json] [--releases FILE] [--date YYYY-MM-DD]\n";

static int compat_check(int argc, char **argv, const char *kbfile)
{
	static const struct option opts[] = {
		{ "image", required_argument, NULL, 'i' },
		{ "host", required_argument, NULL, 'H' },
		{ "isolation", required_argument, NULL, 'I' },
		COMPAT_REPORT_OPTIONS,
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *image = NULL, *host = NULL, *iso = "auto";
	int fmt = CLI_FMT_TEXT;
	char today[11];
	wc_today(today);
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'i': image = optarg; break;
		case 'H': host = optarg; break;
		case 'I': iso = optarg; break;
		case 'f': if (cli_parse_format(&cmd, optarg, cli_formats_text_json, &fmt)) return 2; break;
		case 'r': kbfile = optarg; break;
		case 'd': if (cli_parse_date(&cmd, optarg, today)) return 2; break;
		case 'h': fputs(usage_check, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option for 'compat check'");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	if (!image || !host)
		return cli_usage_error(&cmd, "'compat check' needs --image and --host");
	bool want_p = true, want_h = true;
	if (strcmp(iso, "process") == 0)
		want_h = false;
	else if (strcmp(iso, "hyperv") == 0)
		want_p = false;
	else if (strcmp(iso, "auto") != 0)
		return cli_usage_error(&cmd, "invalid --isolation '%s' (want process, hyperv or auto)", iso);

	struct berr *err = NULL;
	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	struct wc_host h;
	if (wc_host_parse(kb, host, &h, &err) < 0)
		return cli_report(err);
	struct wc_image img;
	struct wc_tag_info tag;
	char desc[768];
	if (wc_image_resolve(kb, image, &img, &tag, desc, sizeof(desc), &err) < 0)
		return cli_report(err);

	struct wc_verdict v[2];
	wc_check(kb, &h, &img, WC_ISO_PROCESS, &v[0]);
	wc_check(kb, &h, &img, WC_ISO_HYPERV, &v[1]);
	bool runs = (want_p && wc_level_runs(v[0].level)) || (want_h && wc_level_runs(v[1].level));

	_cleanup_cjson_ cJSON *root = fmt == CLI_FMT_JSON ? cJSON_CreateObject() : NULL;
	FILE *text = fmt == CLI_FMT_TEXT ? stdout : NULL;
	cJSON *notes = root ? cJSON_CreateArray() : NULL;
	char osv[48] = "";
	if (img.has_version)
		snprintf(osv, sizeof(osv), img.has_rev ? "%u.%u.%u.%u" : "%u.%u.%u", img.major,
			 img.minor, img.build, img.rev);
	if (text) {
		printf("image     %s\n", desc);
		if (img.has_version)
			printf("          build %u (%s)\n", img.build,
			       img.rel ? img.rel->name : "not a release the knowledge base knows");
		printf("host      %s: build %u", host, h.build);
		if (h.has_rev)
			printf(".%u", h.rev);
		printf(" (%s, %s)\n", h.rel ? h.rel->name : "unknown release",
		       h.client ? "client" : "server");
		for (int i = 0; i < 2; i++) {
			if ((i == 0 && !want_p) || (i == 1 && !want_h))
				continue;
			printf("%-9s %s: %s [%s]\n", wc_isolation_name(i), wc_level_name(v[i].level),
			       v[i].reason, v[i].source);
		}
	} else {
		cJSON *ji = cJSON_AddObjectToObject(root, "image");
		cJSON_AddStringToObject(ji, "input", image);
		cJSON_AddStringToObject(ji, "source", desc);
		cJSON_AddItemToObject(ji, "os", json_str_or_null(img.os[0] ? img.os : NULL));
		cJSON_AddItemToObject(ji, "architecture", json_str_or_null(img.arch[0] ? img.arch : NULL));
		cJSON_AddItemToObject(ji, "os_version", json_str_or_null(img.has_version ? osv : NULL));
		if (img.has_version)
			cJSON_AddNumberToObject(ji, "build", img.build);
		else
			cJSON_AddNullToObject(ji, "build");
		cJSON_AddItemToObject(ji, "release", json_str_or_null(img.rel ? img.rel->id : NULL));
		cJSON_AddItemToObject(ji, "release_name", json_str_or_null(img.rel ? img.rel->name : NULL));
		if (tag.how != WC_TAG_UNKNOWN || tag.why[0]) {
			static const char *const how[] = { "unknown", "release", "build", "derived" };
			cJSON *jt = cJSON_AddObjectToObject(ji, "tag");
			cJSON_AddStringToObject(jt, "recognised_as", how[tag.how]);
			cJSON_AddItemToObject(jt, "family", json_str_or_null(tag.family ? tag.family->key : NULL));
			cJSON_AddBoolToObject(jt, "single_arch", tag.single_arch);
			cJSON_AddItemToObject(jt, "kb", json_str_or_null(tag.kb[0] ? tag.kb : NULL));
		}
		cJSON *jh = cJSON_AddObjectToObject(root, "host");
		cJSON_AddStringToObject(jh, "input", host);
		cJSON_AddNumberToObject(jh, "build", h.build);
		if (h.has_rev)
			cJSON_AddNumberToObject(jh, "revision", h.rev);
		else
			cJSON_AddNullToObject(jh, "revision");
		cJSON_AddItemToObject(jh, "release", json_str_or_null(h.rel ? h.rel->id : NULL));
		cJSON_AddItemToObject(jh, "release_name", json_str_or_null(h.rel ? h.rel->name : NULL));
		cJSON_AddStringToObject(jh, "kind", h.client ? "client" : "server");
		cJSON *jv = cJSON_AddArrayToObject(root, "verdicts");
		for (int i = 0; i < 2; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "isolation", wc_isolation_name(i));
			cJSON_AddStringToObject(o, "level", wc_level_name(v[i].level));
			cJSON_AddBoolToObject(o, "runs", wc_level_runs(v[i].level));
			cJSON_AddStringToObject(o, "reason", v[i].reason);
			cJSON_AddStringToObject(o, "source", v[i].source);
			char conf[2] = { v[i].confidence, 0 };
			cJSON_AddStringToObject(o, "confidence", conf);
			cJSON_AddItemToArray(jv, o);
		}
	}
	/* pull-time selection per runtime */
	bool ctrd_rejects = false;
	if (img.has_version && h.build >= 14393 && img.build <= h.build) {
		cJSON *jr = root ? cJSON_AddArrayToObject(root, "pull") : NULL;
		for (int r = 0; r < WC_RT_COUNT; r++) {
			bool ok = wc_runtime_accepts(r, h.build, img.build);
			if (!ok && r != WC_RT_DOCKER_CLASSIC && r != WC_RT_CTRD_PREFIX)
				ctrd_rejects = true;
			if (text)
				printf("%-9s %s: %s [%s]\n", r == 0 ? "pull" : "", wc_runtime_versions(r),
				       ok ? "accepts this build" : "rejects this build (pull fails)",
				       wc_runtime_source(r));
			if (jr) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "runtime", wc_runtime_name(r));
				cJSON_AddStringToObject(o, "versions", wc_runtime_versions(r));
				cJSON_AddBoolToObject(o, "accepts", ok);
				cJSON_AddStringToObject(o, "source", wc_runtime_source(r));
				cJSON_AddItemToArray(jr, o);
			}
		}
	}
	/* a layout whose index lists several platforms: which entry each runtime picks */
	size_t nwin = 0;
	for (size_t i = 0; i < img.nentries; i++)
		nwin += img.entries[i].windows;
	if (nwin > 1) {
		cJSON *jl = root ? cJSON_AddArrayToObject(root, "manifest_list_picks") : NULL;
		for (int r = 0; r < WC_RT_COUNT; r++) {
			int k = wc_runtime_pick(r, h.build, h.arch, img.entries, img.nentries);
			char pick[40] = "none";
			if (k >= 0)
				snprintf(pick, sizeof(pick), "10.0.%u.%u", img.entries[k].build, img.entries[k].rev);
			if (text)
				printf("%-9s %s picks %s [%s]\n", r == 0 ? "list" : "", wc_runtime_versions(r),
				       k >= 0 ? pick : "no entry (pull fails)", wc_runtime_source(r));
			if (jl) {
				cJSON *o = cJSON_CreateObject();
				cJSON_AddStringToObject(o, "runtime", wc_runtime_name(r));
				if (k >= 0) {
					cJSON_AddNumberToObject(o, "index", k);
					cJSON_AddStringToObject(o, "os_version", pick);
				} else {
					cJSON_AddNullToObject(o, "index");
					cJSON_AddNullToObject(o, "os_version");
				}
				cJSON_AddItemToArray(jl, o);
			}
		}
		add_note(notes, text, "the index lists %zu Windows entries; the verdicts are for the first "
			 "(os.version %u.%u.%u.%u)", nwin, img.major, img.minor, img.build, img.rev);
	}
	if (ctrd_rejects && wc_level_runs(v[1].level) && !wc_level_runs(v[0].level))
		add_note(notes, text, "containerd's matcher only pulls this image for Hyper-V isolation with "
			 "an explicit platform without a version (--platform windows/%s matches every "
			 "Windows version) [PLAT]", img.arch[0] ? img.arch : "amd64");
	image_notes(kb, &img, &tag, today, notes, text);
	host_notes(kb, &h, today, notes, text);
	if (text)
		printf("result    %s in %s isolation\n", runs ? "runs" : "does not run",
		       want_p && want_h ? "any" : want_p ? "process" : "hyperv");
	if (root) {
		cJSON_AddItemToObject(root, "notes", notes);
		cJSON *res = cJSON_AddObjectToObject(root, "result");
		cJSON_AddStringToObject(res, "isolation", iso);
		cJSON_AddBoolToObject(res, "runs", runs);
		cli_print_json(root);
	}
	return runs ? 0 : 1;
}

static const char *usage_releases =
	"Usage: berth compat releases [--json] [--date YYYY-MM-DD] [--releases FILE]\n";

static int compat_releases(int argc, char **argv, const char *kbfile)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "date", required_argument, NULL, 'd' },
		{ "releases", required_argument, NULL, 'r' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	bool json = false;
	char today[11];
	wc_today(today);
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'j': json = true; break;
		case 'd': if (cli_parse_date(&cmd, optarg, today)) return 2; break;
		case 'r': kbfile = optarg; break;
		case 'h': fputs(usage_releases, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option for 'compat releases'");
		}
	}
	if (optind < argc)
		return cli_usage_error(&cmd, "unexpected argument '%s'", argv[optind]);
	struct berr *err = NULL;
	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	if (!json) {
		printf("%-18s %-38s %-6s %-13s %-10s %-10s %-10s %s\n", "ID", "NAME", "BUILD", "KIND",
		       "RELEASED", "MAINSTREAM", "END", "STATUS");
		for (size_t i = 0; i < kb->nrel; i++) {
			const struct wc_release *r = &kb->rel[i];
			const char *end = r->extended_end ? r->extended_end : r->end ? r->end : "-";
			printf("%-18s %-38s %-6u %-13s %-10s %-10s %-10s %s\n", r->id, r->name, r->build,
			       wc_kind_name(r->kind), r->released ? r->released : "-",
			       r->mainstream_end ? r->mainstream_end : "-", end,
			       wc_support_name(wc_release_support(r, today)));
		}
		printf("\nstatus as of %s; knowledge base: %s (%s)\n", today, kb->origin,
		       kb->updated ? kb->updated : "undated");
		return 0;
	}
	_cleanup_cjson_ cJSON *root = cJSON_CreateObject();
	cJSON_AddStringToObject(root, "date", today);
	cJSON_AddStringToObject(root, "knowledge_base", kb->origin);
	cJSON_AddItemToObject(root, "updated", json_str_or_null(kb->updated));
	cJSON *arr = cJSON_AddArrayToObject(root, "releases");
	for (size_t i = 0; i < kb->nrel; i++) {
		const struct wc_release *r = &kb->rel[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", r->id);
		cJSON_AddStringToObject(o, "name", r->name);
		cJSON_AddItemToObject(o, "version", json_str_or_null(r->version));
		cJSON_AddNumberToObject(o, "build", r->build);
		char osv[24];
		snprintf(osv, sizeof(osv), "10.0.%u", r->build);
		cJSON_AddStringToObject(o, "os_version", osv);
		cJSON_AddStringToObject(o, "kind", wc_kind_name(r->kind));
		cJSON_AddItemToObject(o, "released", json_str_or_null(r->released));
		cJSON_AddItemToObject(o, "mainstream_end", json_str_or_null(r->mainstream_end));
		cJSON_AddItemToObject(o, "extended_end", json_str_or_null(r->extended_end));
		cJSON_AddItemToObject(o, "end", json_str_or_null(r->end));
		cJSON_AddStringToObject(o, "status", wc_support_name(wc_release_support(r, today)));
		cJSON_AddItemToObject(o, "dates_source", json_str_or_null(r->dates_source));
		cJSON *im = cJSON_AddObjectToObject(o, "images");
		for (size_t j = 0; j < r->nimages; j++) {
			if (!r->images[j].ntags)
				continue;
			const struct wc_family *f = wc_kb_family(kb, r->images[j].family);
			cJSON *tags = cJSON_CreateArray();
			for (size_t k = 0; k < r->images[j].ntags; k++)
				cJSON_AddItemToArray(tags, cJSON_CreateString(r->images[j].tags[k]));
			cJSON_AddItemToObject(im, f && f->nrepos ? f->repos[0] : r->images[j].family, tags);
		}
		if (r->bl_2b) {
			cJSON *b = cJSON_AddObjectToObject(o, "baseline_2020_02");
			cJSON_AddNumberToObject(b, "1b", r->bl_1b);
			cJSON_AddNumberToObject(b, "2b", r->bl_2b);
			cJSON_AddNumberToObject(b, "2b_oob", r->bl_2b_oob);
		}
		cJSON_AddItemToObject(o, "note", json_str_or_null(r->note));
		cJSON_AddItemToArray(arr, o);
	}
	cli_print_json(root);
	return 0;
}

static const char *usage_explain =
	"Usage: berth compat explain [--format text|json] \"ERROR TEXT\" | -\n";

static int compat_explain(int argc, char **argv, const char *kbfile)
{
	static const struct option opts[] = {
		{ "format", required_argument, NULL, 'f' },
		{ "releases", required_argument, NULL, 'r' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	int fmt = CLI_FMT_TEXT;
	int c;
	while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (c) {
		case 'f': if (cli_parse_format(&cmd, optarg, cli_formats_text_json, &fmt)) return 2; break;
		case 'r': kbfile = optarg; break;
		case 'h': fputs(usage_explain, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option for 'compat explain'");
		}
	}
	if (optind >= argc)
		return cli_usage_error(&cmd, "'compat explain' needs the error text (or - for stdin)");
	struct berr *err = NULL;
	_cleanup_bbuf_ struct bbuf text = BBUF_INIT;
	if (strcmp(argv[optind], "-") == 0 && optind + 1 == argc) {
		if (bfile_read_all("-", 1u << 20, &text, &err) < 0)
			return cli_report(err);
	} else {
		for (int i = optind; i < argc; i++) {
			if (i > optind)
				bbuf_addch(&text, ' ', NULL);
			bbuf_addstr(&text, argv[i], NULL);
		}
	}
	_cleanup_kb_ struct wc_kb *kb = wc_kb_load(kbfile, &err);
	if (!kb)
		return cli_report(err);
	struct wc_explanation ex[8];
	size_t n = wc_explain(kb, bbuf_str(&text), ex, ARRAY_SIZE(ex));
	if (fmt == CLI_FMT_JSON) {
		_cleanup_cjson_ cJSON *root = cJSON_CreateObject();
		cJSON *arr = cJSON_AddArrayToObject(root, "matches");
		for (size_t i = 0; i < n; i++) {
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "id", ex[i].id);
			cJSON_AddStringToObject(o, "title", ex[i].title);
			cJSON_AddItemToObject(o, "detail", json_str_or_null(ex[i].detail[0] ? ex[i].detail : NULL));
			cJSON_AddStringToObject(o, "cause", ex[i].cause);
			cJSON_AddStringToObject(o, "fix", ex[i].fix);
			cJSON_AddStringToObject(o, "source", ex[i].source);
			cJSON_AddItemToArray(arr, o);
		}
		cli_print_json(root);
	} else if (n == 0) {
		printf("no known Windows container error recognised in this text\n");
	}
	for (size_t i = 0; i < n && fmt == CLI_FMT_TEXT; i++) {
		printf("%s%s [%s]\n", i ? "\n" : "", ex[i].title, ex[i].id);
		if (ex[i].detail[0])
			printf("  seen:  %s\n", ex[i].detail);
		printf("  cause: %s\n  fix:   %s\n  source: %s\n", ex[i].cause, ex[i].fix, ex[i].source);
	}
	return n ? 0 : 1;
}

static int run(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "releases", required_argument, NULL, 'r' },
		CLI_HELP_OPTION,
		{ NULL, 0, NULL, 0 },
	};
	const char *kbfile = NULL;
	int c;
	/* options before the subcommand: stop at the first non-option */
	while ((c = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (c) {
		case 'r': kbfile = optarg; break;
		case 'h': cli_print_help(&cmd, stdout); return 0;
		default: return cli_usage_error(&cmd, "invalid option");
		}
	}
	if (optind >= argc)
		return cli_usage_error(&cmd, "missing subcommand (check, audit, releases or explain)");
	const char *sub = argv[optind];
	int sargc = argc - optind;
	char **sargv = argv + optind;
	optind = 1;   /* second getopt pass, over the subcommand's arguments */
	if (strcmp(sub, "check") == 0)
		return compat_check(sargc, sargv, kbfile);
	if (strcmp(sub, "releases") == 0)
		return compat_releases(sargc, sargv, kbfile);
	if (strcmp(sub, "explain") == 0)
		return compat_explain(sargc, sargv, kbfile);
	if (strcmp(sub, "audit") == 0)
		return cli_compat_audit(sargc, sargv, kbfile, &cmd);
	return cli_usage_error(&cmd, "unknown subcommand '%s'", sub);
}

static const struct cli_command cmd = {
	.name = "compat",
	.summary = "Windows container compatibility: check, audit, releases, explain",
	.usage =
	"Usage: berth compat [--releases FILE] SUBCOMMAND [OPTIONS]\n"
	"\n"
	"Will a Windows container image start on a host, on a fleet, in which isolation\n"
	"mode, and if not, why? Verdicts: supported, works-but-unsupported, blocked, unknown;\n"
	"each names the source of the fact behind it.\n"
	"\n"
	"Subcommands:\n"
	"  check --image SRC --host HOST [--isolation process|hyperv|auto] [--format text|json]\n"
	"        SRC: image reference, bare version (10.0.17763.5329), release name, OCI layout\n"
	"        directory or docker/oci archive. HOST: build, version or release name\n"
	"        (ws2022, win11-24h2, 10.0.26100). Exit 0 runs, 1 does not run, 2 bad input.\n"
	"  audit --image SRC --fleet FILE [--format text|json]\n"
	"        FILE: 'kubectl get nodes -o json' output, or an inventory (CSV or JSON with\n"
	"        name, build, optional revision, hyperv). Exit 0 when some node runs the image.\n"
	"        Also 'docker node inspect' (Swarm) and 'docker info --format {{json .}}' output.\n"
	"  audit --compose FILE --fleet FILE [--format text|json|sarif]\n"
	"  audit --workflow FILE [--repo DIR] [--format text|json|sarif]\n"
	"        Every compose service / workflow image on the nodes or GitHub runners it\n"
	"        would land on, in the isolation it would get, with a fix. Exit 1 when one\n"
	"        would not start.\n"
	"  releases [--json] [--date YYYY-MM-DD]\n"
	"        List the known releases with their support status on a date.\n"
	"  explain [--format text|json] \"ERROR TEXT\"\n"
	"        Recognise a Windows container error message; exit 1 when none is known.\n"
	"\n"
	"Options:\n"
	"  --releases FILE   use this knowledge base instead of the embedded one\n"
	"                    (also: BERTH_RELEASES environment variable)\n"
	"  --date DATE       evaluate support status on DATE (check, audit, releases)\n"
	"  -h, --help        show this help\n",
	.run = run,
};
CLI_REGISTER(cmd);
