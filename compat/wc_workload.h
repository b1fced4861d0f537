/* compat/: workloads from compose files and GitHub Actions workflows, and
 * their placement on a fleet or CI runner (issue 11).
 *
 * Loaders (wc_workload.c) read YAML with libyaml (wc_yaml.h) and list every
 * image a file would start: compose services (image, build, platform,
 * isolation, deploy.placement.constraints) and workflow jobs (runs-on,
 * container, services, docker build/run/pull steps). Placement
 * (wc_place.c) checks each workload against the nodes or runners it would
 * land on, in the isolation mode it would get.
 *
 * Ownership: struct wc_workloads owns everything in it; struct wc_placement
 * owns its results, which borrow workloads, nodes and kb entries. */
#ifndef BERTH_WC_WORKLOAD_H
#define BERTH_WC_WORKLOAD_H

#include "compat/wc.h"
#include "compat/wc_fleet.h"

#define WC_WL_MAX 4096            /* workloads per file */
#define WC_WL_MAX_MATRIX 256      /* runs-on values from one matrix */

enum wc_wl_kind {
	WC_WL_SERVICE,          /* compose service */
	WC_WL_JOB_CONTAINER,    /* jobs.<id>.container */
	WC_WL_JOB_SERVICE,      /* jobs.<id>.services.<name> */
	WC_WL_STEP_RUN,         /* docker run / create in a run: script */
	WC_WL_STEP_PULL,        /* docker pull */
	WC_WL_STEP_BUILD,       /* docker build: the Dockerfile's base image */
};
const char *wc_wl_kind_name(enum wc_wl_kind k);

struct wc_pos {
	int line, col;          /* 1-based; 0 = unknown */
};

struct wc_constraint {
	char *text;             /* as written (after interpolation) */
	char *key, *value;
	bool ne;                /* != rather than == */
	bool valid;             /* a key Swarm knows, well-formed */
	struct wc_pos pos;
};

/* One way a job is placed: its runs-on labels (a matrix gives several). */
struct wc_runs_on {
	char **labels;
	size_t nlabels;
	char *group;            /* runs-on: {group: ...}, NULL otherwise */
	char *via;              /* "matrix.os" when expanded from a matrix, else NULL */
	char *unresolved;       /* an expression that could not be resolved, else NULL */
};

struct wc_workload {
	enum wc_wl_kind kind;
	char *name;             /* service name, or "<job>: container" / "<job>: step 3" */
	char *job;              /* workflow job id, NULL for compose */
	char *image;            /* image reference to check (interpolated), NULL if none */
	char *image_written;    /* as written in the file */
	char *dockerfile;       /* build: Dockerfile path read, NULL otherwise */
	char *platform;         /* compose platform: / --platform, NULL if unset */
	char *isolation;        /* "process", "hyperv", "default" or as written; NULL unset */
	struct wc_pos pos;      /* the image (or run line / service key) in the file */
	struct wc_pos iso_pos;
	struct wc_constraint *cons;
	size_t ncons;
	char **unexpanded;      /* variables left unexpanded (compose ${VAR}, ${{ expr }}) */
	size_t nunexpanded;
	struct wc_runs_on *runs; /* workflow: where the job runs */
	size_t nruns;
	struct wc_pos runs_pos;
	char *problem;          /* why the image could not be determined, NULL if it was */
};

struct wc_workloads {
	char *file;
	const char *format;     /* "compose" or "workflow" */
	struct wc_workload *w;
	size_t n, cap;
};

/* Compose v2/v3 file. Variables are interpolated as compose does when they
 * are unset: ${VAR:-default} and ${VAR-default} take the default, $$ is a
 * dollar; any other variable is left as written and listed in unexpanded.
 * Builds (build: context/dockerfile/args) are resolved relative to the
 * compose file's directory when base_dir is not NULL. */
int wc_compose_load(const char *data, size_t len, const char *name, const char *base_dir,
		    struct wc_workloads **out, struct berr **err);
/* GitHub Actions workflow. docker build -f paths and contexts resolve
 * against repo_root (NULL: builds are listed but not read). */
int wc_workflow_load(const char *data, size_t len, const char *name, const char *repo_root,
		     struct wc_workloads **out, struct berr **err);
void wc_workloads_free(struct wc_workloads *w);

/* --- placement (wc_place.c) --- */

/* One workload on one target: a group of fleet nodes with the same build,
 * kind and isolation, or one CI runner label set. */
struct wc_target {
	char *name;             /* "win22-a, win22-b" or "windows-2022" */
	const char *kind;       /* "nodes", "runner" */
	size_t nnodes;
	bool host_known;        /* build known: verdicts below are meaningful */
	struct wc_host host;
	enum wc_isolation iso;
	char *iso_from;         /* why this isolation: "isolation: hyperv", "Server default" */
	struct wc_verdict v;    /* in iso */
	struct wc_verdict alt;  /* in the other isolation */
	char *fields;           /* input fields the host facts came from */
	char *fix;              /* what to change, NULL when it runs */
	bool blocked;           /* would not start */
};

struct wc_wl_result {
	const struct wc_workload *w;
	bool windows;           /* a Windows workload (else skipped) */
	char *skip;             /* why skipped / not checked */
	struct wc_image img;
	struct wc_tag_info tag;
	char desc[768];         /* where the image's build came from */
	struct wc_target *t;
	size_t nt;
	char **notes;
	size_t nnotes;
	bool blocked;           /* some target would not start it */
	bool unknown;           /* some target has no verdict */
};

struct wc_placement {
	struct wc_wl_result *r;
	size_t n;
	size_t blocked, runs, unknown, skipped;
};

struct wc_place_opts {
	const char *today;      /* YYYY-MM-DD, for runner retirement */
};

/* fleet may be NULL for workflows (GitHub-hosted runners come from the kb);
 * compose workloads then get an "unknown" target. */
int wc_place(const struct wc_kb *kb, const struct wc_workloads *wl, const struct wc_fleet *fleet,
	     const struct wc_place_opts *o, struct wc_placement *out, struct berr **err);
void wc_placement_release(struct wc_placement *p);

#endif
