/* compat/: Windows container compatibility engine.
 *
 * Knowledge base (wc_kb): releases, base image families and CI runner labels,
 * loaded from compat/releases.json (embedded at build time) or from a newer
 * file. Parsers turn versions, release names and image references into a
 * build number. Rules (wc_rules.c) give a verdict per isolation mode, with a
 * level, a one-sentence reason and the source key of the fact behind it.
 *
 * Ownership: a struct wc_kb owns every string reachable from it; lookups
 * return borrowed pointers valid until wc_kb_free(). Result structs filled by
 * parsers own nothing unless stated (they point into the kb or hold copies in
 * fixed arrays). */
#ifndef BERTH_WC_H
#define BERTH_WC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "common/berr.h"

/* Limits for parsers fed by users. */
#define WC_MAX_INPUT 4096          /* version / name / reference length */
#define WC_MAX_KB_SIZE (8u << 20)  /* releases.json */
#define WC_MAX_BUILD 999999u

enum wc_kind {
	WC_KIND_SERVER_LTSC,
	WC_KIND_SERVER_SAC,
	WC_KIND_SERVER_ANNUAL,
	WC_KIND_CLIENT,
	WC_KIND_CLIENT_LTSC,
};

struct wc_family_tags {
	const char *family;     /* family key ("servercore") */
	char **tags;            /* release tags, preferred first */
	size_t ntags;
};

struct wc_release {
	char *id;               /* "ws2019" */
	enum wc_kind kind;
	char *name;             /* "Windows Server 2019" */
	char *version;          /* "1809", NULL for client LTSC */
	uint32_t build;
	char **aliases;         /* normalised (lower-case alphanumerics) */
	size_t naliases;
	char *released, *mainstream_end, *extended_end, *end; /* ISO dates or NULL */
	char *dates_source, *dates_confidence;
	struct wc_family_tags *images;   /* NULL/0 when the release has no image list */
	size_t nimages;
	bool has_images;        /* the KB lists images for this release (maybe none) */
	char *images_source;
	/* per-family image support end (Nano Server 2016 ended before the OS) */
	char **img_end_family, **img_end_date;
	size_t nimg_end;
	/* February 2020 "2B" revision baseline, 0 when not applicable */
	uint32_t bl_1b, bl_2b, bl_2b_oob;
	char *note;
};

struct wc_family {
	char *key, *name;
	char **repos;           /* canonical repository names */
	size_t nrepos;
	char **tokens;          /* tag tokens of derived images ("windowsservercore") */
	size_t ntokens;
	bool retired;
	char *successor, *source, *note;
};

struct wc_runner {
	char *ci, *label;
	uint32_t build;         /* 0 for floating labels */
	bool floating;
	char *retired;          /* ISO date or NULL */
	char *source;
};

struct wc_kb {
	char *origin;           /* "embedded" or the file name */
	char *updated;
	struct wc_release *rel;
	size_t nrel;
	struct wc_family *fam;
	size_t nfam;
	char **insider;
	size_t ninsider;
	struct wc_runner *run;
	size_t nrun;
	char *latest_removed;
	char **src_keys, **src_text;
	size_t nsrc;
	uint32_t max_build;     /* newest build the KB knows */
};

/* --- knowledge base (wc_kb.c) --- */
/* Parse a KB from JSON text; `name` is used in errors. */
struct wc_kb *wc_kb_parse(const char *json, size_t len, const char *name, struct berr **err);
/* Load: `path` if non-NULL, else $BERTH_RELEASES if set, else the embedded KB. */
struct wc_kb *wc_kb_load(const char *path, struct berr **err);
void wc_kb_free(struct wc_kb *kb);
const char *wc_kb_embedded(size_t *len);
/* Lower-case alphanumerics only (caller frees): how aliases are compared. */
char *wc_normalise(const char *s);
const char *wc_kind_name(enum wc_kind k);
bool wc_kind_is_server(enum wc_kind k);
const struct wc_release *wc_kb_by_id(const struct wc_kb *kb, const char *id);
/* Preferred release for a build: a server release if one exists, else a client one. */
const struct wc_release *wc_kb_by_build(const struct wc_kb *kb, uint32_t build, bool client);
const struct wc_family *wc_kb_family(const struct wc_kb *kb, const char *key);
const char *wc_kb_source_text(const struct wc_kb *kb, const char *key);
/* true when any release with this build ships base images */
bool wc_kb_is_image_build(const struct wc_kb *kb, uint32_t build);
/* Tags of `family` for release r, NULL when none. */
const struct wc_family_tags *wc_release_tags(const struct wc_release *r, const char *family);
/* End of support of one family's image for r when it differs from r's, or NULL. */
const char *wc_release_image_end(const struct wc_release *r, const char *family);

enum wc_support { WC_SUP_MAINSTREAM, WC_SUP_EXTENDED, WC_SUP_ENDED, WC_SUP_UNKNOWN, WC_SUP_NOT_YET };
/* Support status on ISO date `today` ("2026-11-30"). */
enum wc_support wc_release_support(const struct wc_release *r, const char *today);
const char *wc_support_name(enum wc_support s);
/* Today's date (UTC) as YYYY-MM-DD into buf[11]. */
void wc_today(char buf[11]);
/* Validate YYYY-MM-DD (a real calendar date). */
bool wc_date_valid(const char *s);

/* --- versions, names, tags (wc_version.c) --- */
struct wc_version {
	uint32_t major, minor, build, rev;
	bool has_majmin;        /* "10.0." was written */
	bool has_rev;
};

/* "10.0.17763.5329", "10.0.17763", "17763". Rejects anything else. */
int wc_version_parse(const char *s, struct wc_version *v, struct berr **err);

enum wc_match { WC_MATCH_ALIAS, WC_MATCH_ID, WC_MATCH_NAME, WC_MATCH_VERSION };
/* Resolve a release name / alias / id. Returns the release or NULL with
 * BERR_INPUT (unknown or ambiguous; the message lists candidates). With
 * need_kind, candidates of the same build but different kinds (Windows
 * Server 2025 vs Windows 11 24H2) are ambiguous too. */
const struct wc_release *wc_resolve_name(const struct wc_kb *kb, const char *s,
					 bool need_kind, struct berr **err);

/* Split an image reference with the Docker reference grammar
 * (parser/df_ref.h, df_ref_parse_normalized) into its familiar repository
 * name, lower-cased ("python", "microsoft/nanoserver",
 * "mcr.microsoft.com/windows/servercore") and tag/digest. An upper-case
 * repository name, which Docker refuses, is accepted lower-cased and
 * flagged, so that the release it names is still recognised. */
struct wc_ref {
	char repo[512];         /* "mcr.microsoft.com/windows/servercore" */
	char tag[160];          /* "" when absent */
	char digest[160];       /* "" when absent */
	bool lowercased;        /* the name had upper case: docker would refuse it */
};
int wc_ref_split(const char *ref, struct wc_ref *out, struct berr **err);

enum wc_tag_how {
	WC_TAG_UNKNOWN = 0,
	WC_TAG_RELEASE,         /* base repo release tag: ltsc2019, 1809-KB..., */
	WC_TAG_BUILD,           /* 10.0.17763.5329[-amd64] */
	WC_TAG_DERIVED,         /* ...-windowsservercore-ltsc2019, ...-nanoserver-1809 */
};

struct wc_tag_info {
	enum wc_tag_how how;
	const struct wc_release *rel;   /* NULL when only the build is known */
	const struct wc_family *family; /* base family when known */
	struct wc_version ver;          /* build always set when how != UNKNOWN */
	char arch[16];                  /* "amd64" when the tag says so, else "" */
	char kb[24];                    /* "KB4493509" when present */
	bool single_arch;               /* arch-suffixed tag: not a manifest list */
	bool insider;
	bool retired_repo;
	char why[256];                  /* why unknown, or a note */
};
/* Recognise the Windows release encoded in an image reference. Never fails
 * on a well-formed reference: unknown tags give how == WC_TAG_UNKNOWN. */
int wc_tag_parse(const struct wc_kb *kb, const char *ref, struct wc_tag_info *out,
		 struct berr **err);

/* --- hosts and images as the rules see them --- */
struct wc_host {
	uint32_t build, rev;
	bool has_rev;
	bool client;
	int hyperv;             /* 1 available, 0 not, -1 unknown */
	char arch[16];          /* "" = amd64 assumed */
	const struct wc_release *rel;
};

/* One manifest-list entry's platform, as runtimes see it. */
struct wc_entry {
	uint32_t build, rev;    /* build 0 = os.version empty */
	char arch[16];
	bool windows;
};

#define WC_MAX_ENTRIES 32

struct wc_image {
	uint32_t major, minor, build, rev;
	bool has_version;       /* false: os.version missing/unknown */
	bool has_rev;
	char os[16];            /* "windows", "linux", "" unknown */
	char arch[16];
	const struct wc_release *rel;
	/* platforms of the index the image was read from (OCI layouts with
	 * several entries); the fields above describe the entry followed */
	struct wc_entry entries[WC_MAX_ENTRIES];
	size_t nentries;
};

/* The image's version fields from a parsed os.version (has_version set;
 * rel is the caller's: it needs the knowledge base). */
void wc_image_set_version(struct wc_image *img, const struct wc_version *v);

/* Host spec: version, build or release name (client releases by name). */
int wc_host_parse(const struct wc_kb *kb, const char *s, struct wc_host *h, struct berr **err);

/* --- rules (wc_rules.c) --- */
enum wc_level { WC_SUPPORTED, WC_WORKS_UNSUPPORTED, WC_BLOCKED, WC_UNKNOWN };
enum wc_isolation { WC_ISO_PROCESS, WC_ISO_HYPERV };

struct wc_verdict {
	enum wc_level level;
	char reason[512];
	char source[96];        /* source keys, "; "-separated */
	char confidence;        /* 'H', 'M', 'L' */
};

const char *wc_level_name(enum wc_level l);
const char *wc_isolation_name(enum wc_isolation i);
/* true for levels where the container starts */
bool wc_level_runs(enum wc_level l);
void wc_check(const struct wc_kb *kb, const struct wc_host *h, const struct wc_image *img,
	      enum wc_isolation iso, struct wc_verdict *out);

/* Runtime models of manifest-list entry selection (§4 of the facts). */
enum wc_runtime {
	WC_RT_DOCKER_CLASSIC,   /* Docker Engine, graphdriver pull path */
	WC_RT_CTRD_PREFIX,      /* containerd < 1.6.23, 1.7.0-1.7.5 */
	WC_RT_CTRD_COMPAT,      /* containerd 1.6.23+, 1.7.6+, 2.0-2.1 */
	WC_RT_CTRD_22,          /* containerd 2.2-2.3 (platforms rc.2-rc.4) */
	WC_RT_CTRD_MAIN,        /* containerd main / platforms rc.5, moby master */
	WC_RT_COUNT
};
const char *wc_runtime_name(enum wc_runtime r);
const char *wc_runtime_versions(enum wc_runtime r);
const char *wc_runtime_source(enum wc_runtime r);
/* Does this runtime's matcher accept an entry of image build ib on host hb? */
bool wc_runtime_accepts(enum wc_runtime r, uint32_t hb, uint32_t ib);
/* Index of the entry the runtime picks from a manifest list, -1 for none. */
int wc_runtime_pick(enum wc_runtime r, uint32_t host_build, const char *host_arch,
		    const struct wc_entry *e, size_t n);
/* containerd version ("1.7.20", "containerd://2.2.1") -> model, -1 if unknown */
int wc_runtime_from_containerd(const char *version);

/* --- error explanations (wc_explain.c) --- */
struct wc_explanation {
	const char *id;
	const char *title;
	const char *cause;
	const char *fix;
	const char *source;
	char detail[256];       /* values extracted from the message, may be "" */
};
/* Returns the number of matches written (<= max); 0 when nothing matched. */
size_t wc_explain(const struct wc_kb *kb, const char *text, struct wc_explanation *out, size_t max);

/* --- image sources (wc_image_src.c) --- */
/* Read os, architecture and os.version from an OCI layout directory or a
 * docker-archive / oci-archive tar, verifying sha256 of every blob read.
 * On success img->has_version tells whether os.version was present. */
int wc_image_src_read(const char *path, struct wc_image *img, char *desc, size_t desc_len,
		      struct berr **err);
bool wc_image_src_is_path(const char *src);

/* Image spec: reference, bare version/name, or layout/archive path. `desc`
 * receives a one-line description of where the version came from. */
int wc_image_resolve(const struct wc_kb *kb, const char *src, struct wc_image *img,
		     struct wc_tag_info *tag, char *desc, size_t desc_len, struct berr **err);

#endif
