/* Internals shared by builder/bld_engine*.c. Not a public interface. */
#ifndef BERTH_BLD_ENGINE_INT_H
#define BERTH_BLD_ENGINE_INT_H

#include <cjson/cJSON.h>
#include "common/bcurl.h"
#include <signal.h>

#include "builder/bld_engine.h"
#include "common/buf.h"
#include "common/cleanup.h"

DEFINE_CLEANUP_FUNC(cJSON *, cJSON_Delete)
#define _cleanup_cjson_ _cleanup_(cJSON_Delete_ptr)

struct bld_engine {
	char *url;              /* resolved engine URL (unix:///..., tcp://...) */
	char *base;             /* "http://localhost", "https://host:2376" */
	char *socket_path;      /* unix sockets */
	bool tls, verify;
	bool default_port;      /* tcp:// without a port: 2375, or 2376 with TLS */
	char *ca, *cert, *key;  /* files, NULL when not used */
	char *cert_dir;
	char api[32];            /* negotiated API version */
	long connect_timeout;
	long request_timeout;   /* ENG_LIMIT_QUICK total, s */
	long bulk_timeout;      /* ENG_LIMIT_BULK total, s */
	long stall_timeout;     /* no byte moved for this long = stalled, s */
	volatile sig_atomic_t cancel;
	CURL *curl;             /* reused for keep-alive */
};

/* How long a request may take. Every request has the connect timeout and
 * stays cancellable (bld_engine_cancel) unless ignore_cancel. */
enum eng_limit {
	/* API calls that answer at once (inspect, create, start, tag, delete,
	 * ping, info): total bound request_timeout */
	ENG_LIMIT_QUICK = 0,
	/* work proportional to the data (commit, image load): total bound
	 * bulk_timeout, and an upload that stops moving for stall_timeout is
	 * stalled (the processing after the upload may be silent) */
	ENG_LIMIT_BULK,
	/* a stream of unknown length (image export): no total bound, but no
	 * byte for stall_timeout is a stall */
	ENG_LIMIT_STREAM,
	/* lasts as long as the RUN command (container wait): no bound, only
	 * cancel ends it early */
	ENG_LIMIT_BLOCKING,
};

/* One request. Exactly one of resp/sink receives a successful body (or
 * neither: body dropped); error bodies (status >= 400) are always kept
 * for the message. */
struct eng_req {
	const char *method;
	const char *path;       /* "/containers/create?name=x" */
	bool unversioned;       /* /_ping and /version */
	const char *json;       /* request body (application/json) */
	int upload_fd;          /* -1, or a file streamed as application/x-tar */
	struct bbuf *resp;
	const struct bsink *sink;
	bool ignore_cancel;     /* clean-up requests */
	enum eng_limit limit;
	struct curl_slist *extra_headers;
	/* filled in */
	long status;
	char api_version_hdr[32];
	char ostype_hdr[32];
};

void eng_req_init(struct eng_req *r, const char *method, const char *path);
/* Performs the request. Returns 0 for status < 400; for >= 400 returns -1
 * with an error that carries the engine's message. */
int eng_do(struct bld_engine *e, struct eng_req *r, struct berr **err);
/* Set the URL/socket/TLS options on a handle (for the attach transfer). */
void eng_setup_handle(struct bld_engine *e, CURL *c, const char *method, const char *path,
		      bool unversioned, char *errbuf);
/* Turn a curl failure into a berr (connection / TLS / cancel wording). */
int eng_curl_error(struct bld_engine *e, CURLcode rc, const char *errbuf, const char *what,
		   struct berr **err);
/* Error for an HTTP failure status with body text. */
int eng_http_error(struct bld_engine *e, const char *what, long status, const char *body,
		   struct berr **err);
/* GET/POST expecting JSON; *out owns the parsed document. eng_json is
 * ENG_LIMIT_QUICK. */
int eng_json(struct bld_engine *e, const char *method, const char *path, const char *body,
	     cJSON **out, struct berr **err);
int eng_json_limit(struct bld_engine *e, const char *method, const char *path, const char *body,
		   enum eng_limit limit, cJSON **out, struct berr **err);
/* ENG_LIMIT_QUICK total in seconds, for the attach handshake */
long eng_request_timeout(const struct bld_engine *e);
/* URL-escape a query value; caller frees. */
char *eng_escape(const char *s);

/* cJSON string field or NULL */
const char *eng_jstr(const cJSON *o, const char *key);

#endif
