/* Docker Engine API executor: runs RUN steps in scratch containers on a local
 * or remote Docker Engine (Windows build hosts reached from Linux CI, or a
 * Linux dockerd) and brings exactly the new top layer back. Owner: builder/
 * (engine).
 *
 * Three parts:
 *   - client (bld_engine.c): libcurl over unix:// sockets and tcp:// (plain,
 *     or TLS from DOCKER_TLS_VERIFY / DOCKER_CERT_PATH), API version
 *     negotiation via /_ping and /version, JSON requests, streamed bodies;
 *   - host facts and the isolation decision (bld_engine_facts.c): /info and
 *     /version -> struct bld_engine_facts; compat (compat/wc.h) decides
 *     process vs Hyper-V isolation for a stage's base os.version;
 *   - RUN (bld_engine_run.c): parent chain loaded once per chain ID as a
 *     docker-archive, container create/attach/start/wait, commit, export,
 *     and extraction of the new layer; containers and temporary images are
 *     removed on success, failure and cancel.
 *
 * Ownership: a struct bld_engine owns its curl handle and strings; facts and
 * results own their strings (free with the *_clear functions). One engine
 * handle is used by one thread; bld_engine_cancel() may be called from a
 * signal handler or another thread. */
#ifndef BERTH_BLD_ENGINE_H
#define BERTH_BLD_ENGINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/sink.h"
#include "compat/wc.h"
#include "image/img_archive.h"
#include "image/img_compress.h"
#include "image/img_digest.h"
#include "image/img_store.h"

/* API versions: the oldest engine we talk to (Docker 1.12, the first with
 * Windows Server 2016 support) and the newest API whose behaviour we know. */
#define BLD_ENGINE_API_MIN "1.24"
#define BLD_ENGINE_API_MAX "1.44"
/* Where the engine is when neither --engine nor DOCKER_HOST says. */
#define BLD_ENGINE_DEFAULT_HOST "unix:///var/run/docker.sock"
/* JSON answers (info, inspect, errors) are small; cap what we buffer. */
#define BLD_ENGINE_JSON_MAX (8u << 20)
/* Repository used to tag parent chains loaded into an engine:
 * berth-chain:<chain ID hex>. */
#define BLD_ENGINE_CHAIN_REPO "berth-chain"
/* Label put on every container and image berth creates, for clean-up. */
#define BLD_ENGINE_LABEL "io.berth.engine"

struct bld_engine;

struct bld_engine_opts {
	const char *url;        /* --engine; NULL: $DOCKER_HOST, else the default */
	/* TLS: NULL/unset fields come from the environment like the docker CLI:
	 * DOCKER_TLS_VERIFY (non-empty: TLS + verify the server against
	 * ca.pem), DOCKER_TLS (TLS without verification), DOCKER_CERT_PATH
	 * (directory with ca.pem, cert.pem, key.pem; default ~/.docker). */
	const char *cert_path;
	int tls;                /* -1 from env, 0 off, 1 on */
	int tls_verify;         /* -1 from env, 0 off, 1 on */
	long connect_timeout_s; /* 0 = default (10 s), every request */
	/* Total time of every bounded request, so a stalled engine is an
	 * error: API calls (inspect, create, start, tag, delete) and, when
	 * set, commit and image load too. 0 = $BERTH_ENGINE_TIMEOUT, else
	 * 300 s for API calls and 3600 s for commit and load. Container wait
	 * and the attach stream last as long as the RUN and have no bound
	 * (only cancel); docs/engine.md. */
	long request_timeout_s;
	/* A body (image load upload, image export) that moves no byte for
	 * this long is stalled; 0 = $BERTH_ENGINE_STALL_TIMEOUT, else 300 s */
	long stall_timeout_s;
};

/* Connect and negotiate: GET /_ping, GET /version; the API version used is
 * min(BLD_ENGINE_API_MAX, engine's ApiVersion). Errors: BERR_USAGE for bad
 * URLs, BERR_UNSUPPORTED for npipe:// on this build and for engines older
 * than BLD_ENGINE_API_MIN (or requiring an API newer than our max),
 * BERR_NETWORK for unreachable engines and TLS failures (the message says
 * which, and names DOCKER_CERT_PATH for certificate problems). */
int bld_engine_open(const struct bld_engine_opts *o, struct bld_engine **out, struct berr **err);
void bld_engine_free(struct bld_engine *e);
const char *bld_engine_url(const struct bld_engine *e);      /* as given/resolved */
const char *bld_engine_api_version(const struct bld_engine *e); /* negotiated, "1.41" */
bool bld_engine_is_local(const struct bld_engine *e);        /* unix:// socket */

/* Request cancellation (async-signal-safe: sets a flag). The running
 * request aborts; clean-up requests still run. */
void bld_engine_cancel(struct bld_engine *e);
bool bld_engine_cancelled(const struct bld_engine *e);

/* --- raw requests (used by the executor and tests) --- */
/* method + path (without the /vX.Y prefix, which is added), optional JSON
 * body. The response body (capped at BLD_ENGINE_JSON_MAX) goes to *body
 * when non-NULL; *status gets the HTTP status. Status >= 400 is an error
 * carrying the engine's "message". */
int bld_engine_request(struct bld_engine *e, const char *method, const char *path,
		       const char *json_body, long *status, char **body, struct berr **err);

/* --- host facts (bld_engine_facts.c) --- */
struct bld_engine_facts {
	char *os_type;          /* "linux" / "windows" (/info OSType) */
	char *kernel_version;   /* "10.0 17763 (17763.1.amd64fre.rs5_release.180914-1434)" */
	char *operating_system; /* "Windows Server 2019 Datacenter Version 1809 (OS Build 17763.5329)" */
	char *os_version;       /* /info OSVersion when given ("10.0.17763"), else NULL */
	char *isolation;        /* /info Isolation ("process"/"hyperv"), NULL on Linux */
	char *architecture;     /* /info Architecture ("x86_64") */
	char *arch;             /* GOARCH form ("amd64") from /version Arch or mapped */
	char *server_version;   /* /version Version ("20.10.24") */
	char *api_version;      /* /version ApiVersion */
	char *min_api_version;  /* /version MinAPIVersion, NULL when absent */
	char *name;             /* /info Name (host name) */
	/* Windows only: parsed build; win_build == 0 when not Windows/unknown */
	uint32_t win_major, win_minor, win_build, win_rev;
	bool win_has_rev;
	bool win_client;        /* Windows 10/11 (client SKU), not Windows Server */
};
void bld_engine_facts_clear(struct bld_engine_facts *f);
/* Pure: parse /info and /version JSON (either may be NULL); on failure f is
 * left empty. `what` names the source in errors. Windows hosts must yield a
 * build from KernelVersion, OSVersion or OperatingSystem, else BERR_INPUT. */
int bld_engine_facts_parse(const char *info_json, const char *version_json, const char *what,
			   struct bld_engine_facts *f, struct berr **err);
int bld_engine_get_facts(struct bld_engine *e, struct bld_engine_facts *f, struct berr **err);
/* "Windows Server 2019 (build 17763.5329)" / "linux 6.1.0-18-amd64"; caller frees */
char *bld_engine_host_desc(const struct bld_engine_facts *f);
/* Fill a compat host from Windows facts (BERR_INPUT when not Windows). */
int bld_engine_wc_host(const struct wc_kb *kb, const struct bld_engine_facts *f,
		       struct wc_host *h, struct berr **err);

/* --- isolation decision --- */
enum bld_engine_iso {
	BLD_ENGINE_ISO_DEFAULT = 0,    /* Linux: no isolation choice (HostConfig.Isolation unset) */
	BLD_ENGINE_ISO_PROCESS,
	BLD_ENGINE_ISO_HYPERV,
};
const char *bld_engine_iso_name(enum bld_engine_iso i); /* "default"/"process"/"hyperv" */
/* "process" | "hyperv" | "default" -> enum; BERR_USAGE otherwise */
int bld_engine_iso_parse(const char *s, enum bld_engine_iso *out, struct berr **err);

struct bld_engine_decision {
	enum bld_engine_iso iso;
	bool forced;                    /* --isolation */
	struct wc_verdict process, hyperv; /* compat's verdicts (Windows only) */
	char note[1200];                 /* why this mode; warnings for unsupported/unknown */
};
/* Decide how a stage runs on this engine. stage_os: the base image's os
 * ("windows"/"linux"); os_version: its os.version (may be NULL); arch: its
 * architecture (may be NULL). forced: BLD_ENGINE_ISO_DEFAULT = choose.
 *  - stage OS differs from the engine's OSType: error (BERR_UNSUPPORTED),
 *    before anything runs;
 *  - Linux: iso = DEFAULT (forcing hyperv/process is an error);
 *  - Windows: compat's verdicts for process and hyperv; forced -> that mode
 *    unless compat says blocked; else process when supported, else hyperv
 *    when supported, else a mode that works but is unsupported (noted);
 *    else BERR_FAILED with compat's reasons and the host builds that would
 *    run the image. An unknown verdict is never taken as "allowed". */
int bld_engine_decide(const struct wc_kb *kb, const struct bld_engine_facts *f,
		      const char *stage_os, const char *os_version, const char *arch,
		      enum bld_engine_iso forced, struct bld_engine_decision *out,
		      struct berr **err);
/* The host releases compat says run image `img` ("Windows Server 2022
 * (20348): process, hyperv; ..."); caller frees; "" when none. */
char *bld_engine_hosts_that_run(const struct wc_kb *kb, const struct wc_image *img);

/* --- RUN (bld_engine_run.c) --- */
enum bld_engine_mount_type {
	BLD_ENGINE_MOUNT_BIND,         /* host path -> target (only for a local engine) */
	BLD_ENGINE_MOUNT_CACHE,        /* persistent cache -> an engine volume */
	BLD_ENGINE_MOUNT_TMPFS,        /* Linux engines only */
	BLD_ENGINE_MOUNT_SECRET,       /* not supported by this executor */
	BLD_ENGINE_MOUNT_SSH,          /* not supported by this executor */
};
struct bld_engine_mount {
	enum bld_engine_mount_type type;
	const char *target;     /* path in the container */
	const char *source;     /* bind: host path; cache: id (NULL: target) */
	bool readonly;
};

enum bld_engine_network { BLD_ENGINE_NET_DEFAULT = 0, BLD_ENGINE_NET_NONE, BLD_ENGINE_NET_HOST };

/* Output of the RUN command, demultiplexed (stream 1 stdout, 2 stderr). */
typedef int (*bld_engine_output_fn)(void *ctx, int stream, const void *p, size_t n,
				    struct berr **err);

struct bld_engine_run_spec {
	/* parent state: an image whose layers/config describe the filesystem
	 * (blobs in img->store). Loaded into the engine once per chain ID. */
	const struct img_image *parent;
	/* command: exec form (argv, shell_form false) or shell form (argv[0]
	 * is the command line; shell from `shell` or the OS default:
	 * cmd /S /C on Windows, /bin/sh -c on Linux). */
	const char *const *argv;
	size_t argc;
	bool shell_form;
	const char *const *shell;       /* SHELL instruction, NULL = default */
	size_t n_shell;
	const char *const *env;         /* "K=V", the stage's environment */
	size_t n_env;
	const char *user;               /* NULL/"" = image default */
	const char *workdir;            /* NULL/"" = image default */
	enum bld_engine_network network;
	const struct bld_engine_mount *mounts;
	size_t n_mounts;
	/* isolation from bld_engine_decide */
	const struct bld_engine_decision *decision;
	/* output streaming; NULL discards */
	bld_engine_output_fn output;
	void *output_ctx;
	/* where the layer goes: with `store` the layer is compressed into it
	 * (opts `comp`) and result.layer is set; otherwise it is left as an
	 * uncompressed tar in `tmpdir` (default $TMPDIR or /tmp) and
	 * result.layer_path is set. */
	struct img_store *store;
	struct img_compress_opts comp;
	const char *tmpdir;
	/* keep the committed image tagged berth-chain:<new chain ID> so the next
	 * RUN on this chain needs no load (else it is removed). */
	bool keep_chain;
	/* label value for BLD_ENGINE_LABEL (default "run") */
	const char *label;
};

struct bld_engine_run_result {
	bool exited;                    /* the command ran to its end: exit_code is valid */
	int exit_code;                  /* the command's exit status */
	bool empty_layer;               /* no filesystem change: no layer (diff_id unset,
					 * chain_id = parent's; history empty_layer) */
	struct img_digest diff_id;      /* the new layer's uncompressed sha256 */
	struct img_digest chain_id;     /* chain ID after this layer */
	uint64_t layer_size;            /* uncompressed bytes */
	char *layer_path;               /* tar file (no store); caller unlinks/frees */
	struct img_layer_info layer;    /* with a store: blob descriptor data */
	bool loaded_parent;             /* the parent chain had to be loaded */
	/* for the history comment: "engine tcp://winbuild:2376 (Windows Server
	 * 2022, build 20348.2227), isolation process" */
	char *engine_url;
	char *host_build;               /* "10.0.20348.2227" / Linux kernel version */
	char *isolation;                /* "process" / "hyperv" / "default" */
	char *comment;                  /* the combined history comment */
};
void bld_engine_run_result_clear(struct bld_engine_run_result *r);

/* Run one RUN step. A non-zero exit code is BERR_FAILED ("command ... returned
 * a non-zero code: N") with r->exit_code set and nothing committed. Facts
 * come from bld_engine_get_facts (passed in to avoid a request per step). */
int bld_engine_run(struct bld_engine *e, const struct bld_engine_facts *facts,
		   const struct bld_engine_run_spec *spec, struct bld_engine_run_result *r,
		   struct berr **err);

/* Store an uncompressed layer tar (as the engine made it) into `store`,
 * compressed per `o`; its sha256 must be `want` (BERR_INTEGRITY otherwise,
 * nothing committed). */
int bld_engine_store_layer(const char *path, struct img_store *store,
			   const struct img_compress_opts *o, const struct img_digest *want,
			   struct img_layer_info *info, struct berr **err);

/* Make sure the parent chain exists in the engine; sets *loaded when it had
 * to be loaded. The reference used ("berth-chain:<hex>") is written to
 * ref (>= 96 bytes). An image without layers runs from scratch: ref "" . */
int bld_engine_ensure_parent(struct bld_engine *e, const struct img_image *parent,
			     const char *tmpdir, char *ref, size_t ref_len, bool *loaded,
			     struct berr **err);

/* Remove what berth left in an engine: containers labelled BLD_ENGINE_LABEL
 * (forced) and, with chains, every berth-chain image. Counts may be NULL. */
int bld_engine_prune(struct bld_engine *e, bool chains, size_t *n_containers, size_t *n_images,
		     struct berr **err);

/* Docker multiplexed stream demuxer (attach/logs without a TTY): 8-byte
 * headers {stream, 0, 0, 0, size32be} then payload. Exposed for tests. */
struct bld_engine_demux {
	unsigned char hdr[8];
	size_t hlen;            /* header bytes collected */
	uint32_t left;          /* payload bytes left in the current frame */
	int stream;
	bld_engine_output_fn out;
	void *ctx;
};
void bld_engine_demux_init(struct bld_engine_demux *d, bld_engine_output_fn out, void *ctx);
int bld_engine_demux_feed(struct bld_engine_demux *d, const void *p, size_t n, struct berr **err);
/* true when the stream ended between frames */
bool bld_engine_demux_clean_end(const struct bld_engine_demux *d);

/* Compare dotted API versions ("1.24" < "1.41"); -1/0/1. */
int bld_engine_api_cmp(const char *a, const char *b);

static inline void bld_engine_freep(struct bld_engine **p) { bld_engine_free(*p); }
#define _cleanup_bld_engine_ __attribute__((cleanup(bld_engine_freep)))

#endif
