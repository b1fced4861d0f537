/* Docker Engine API client: connection, TLS, version negotiation, requests. */
#include <cjson/cJSON.h>
#include "common/bcurl.h"
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "berth_version.h"
#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_int.h"

#define DEFAULT_CONNECT_TIMEOUT_S 10L
/* Total time of an API call that answers at once (ENG_LIMIT_QUICK). */
#define REQUEST_TIMEOUT_S 300L
/* Total time of a commit or an image load (ENG_LIMIT_BULK): a Windows
 * commit or the load of a multi-GB base layer is slow, but not endless. */
#define BULK_TIMEOUT_S 3600L
/* No byte up or down for this long while a body is moving = stalled. */
#define STALL_TIMEOUT_S 300L
/* $BERTH_ENGINE_TIMEOUT / $BERTH_ENGINE_STALL_TIMEOUT range */
#define REQUEST_TIMEOUT_MAX_S 86400L
#define ERR_BODY_MAX 4096u

const char *eng_jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	return cJSON_IsString(v) ? v->valuestring : NULL;
}

char *eng_escape(const char *s)
{
	char *t = curl_easy_escape(NULL, s, 0);
	char *r = xstrdup(t ? t : "");
	curl_free(t);
	return r;
}

int bld_engine_api_cmp(const char *a, const char *b)
{
	while (*a || *b) {
		char *ea, *eb;
		unsigned long x = strtoul(*a ? a : "0", &ea, 10);
		unsigned long y = strtoul(*b ? b : "0", &eb, 10);
		if (x != y)
			return x < y ? -1 : 1;
		a = *ea == '.' ? ea + 1 : ea;
		b = *eb == '.' ? eb + 1 : eb;
		if (ea == a && *a && *a != '.')
			break; /* not a number: stop */
	}
	return 0;
}

static bool valid_api(const char *s)
{
	if (!s || !*s || strlen(s) > 10)
		return false;
	bool dot = false;
	for (const char *p = s; *p; p++) {
		if (*p == '.') {
			if (dot || p == s || !p[1])
				return false;
			dot = true;
		} else if (*p < '0' || *p > '9') {
			return false;
		}
	}
	return dot;
}

/* --- URL and TLS configuration --- */

static bool env_set(const char *name)
{
	const char *v = getenv(name);
	return v && *v;
}

static int parse_url(struct bld_engine *e, const char *url, struct berr **err)
{
	if (strncmp(url, "unix://", 7) == 0) {
		const char *p = url + 7;
		if (*p != '/')
			return berr_set(err, BERR_USAGE, "invalid engine URL '%s': unix:// needs an absolute "
					"socket path", url);
		e->socket_path = xstrdup(p);
		e->base = xstrdup("http://localhost");
		return 0;
	}
	if (strncmp(url, "npipe://", 8) == 0)
		return berr_set(err, BERR_UNSUPPORTED, "engine URL '%s': named pipes (npipe://) work only "
				"on Windows builds of berth; from Linux reach the Windows engine over "
				"tcp:// with TLS (DOCKER_HOST=tcp://HOST:2376, DOCKER_TLS_VERIFY=1)", url);
	if (strncmp(url, "ssh://", 6) == 0 || strncmp(url, "fd://", 5) == 0)
		return berr_set(err, BERR_UNSUPPORTED, "engine URL '%s': only unix:// and tcp:// are "
				"supported", url);
	const char *hp;
	if (strncmp(url, "tcp://", 6) == 0)
		hp = url + 6;
	else if (strncmp(url, "http://", 7) == 0)
		hp = url + 7;
	else if (strncmp(url, "https://", 8) == 0) {
		hp = url + 8;
		e->tls = true;
	} else
		return berr_set(err, BERR_USAGE, "invalid engine URL '%s' (want unix:///PATH or "
				"tcp://HOST:PORT)", url);
	size_t n = strcspn(hp, "/");
	if (n == 0)
		return berr_set(err, BERR_USAGE, "invalid engine URL '%s': no host", url);
	if (hp[n] && strcmp(hp + n, "/") != 0)
		return berr_set(err, BERR_USAGE, "invalid engine URL '%s': a path is not supported", url);
	_cleanup_free_ char *host = xstrndup(hp, n);
	for (const char *c = host; *c; c++)
		if ((unsigned char)*c <= ' ' || *c == '@' || *c == '?' || *c == '#')
			return berr_set(err, BERR_USAGE, "invalid engine URL '%s': bad host", url);
	/* a port is present when the last ':' is after any IPv6 bracket */
	const char *rb = strrchr(host, ']');
	const char *colon = strrchr(host, ':');
	bool has_port = colon && (!rb || colon > rb);
	if (host[0] == '[' && !rb)
		return berr_set(err, BERR_USAGE, "invalid engine URL '%s': bad IPv6 address", url);
	if (has_port) {
		char *end;
		errno = 0;
		long port = strtol(colon + 1, &end, 10);
		if (errno || *end || port <= 0 || port > 65535 || end == colon + 1)
			return berr_set(err, BERR_USAGE, "invalid engine URL '%s': bad port", url);
	}
	/* the scheme is added once TLS is known */
	e->base = xstrdup(host);
	e->default_port = !has_port;
	return 0;
}

static int file_readable(const char *path)
{
	return access(path, R_OK) == 0;
}

static int setup_tls(struct bld_engine *e, const struct bld_engine_opts *o, struct berr **err)
{
	bool tls = e->tls, verify;
	if (o->tls >= 0)
		tls = tls || o->tls;
	else
		tls = tls || env_set("DOCKER_TLS_VERIFY") || env_set("DOCKER_TLS");
	if (o->tls_verify >= 0)
		verify = o->tls_verify;
	else
		verify = env_set("DOCKER_TLS_VERIFY");
	if (verify)
		tls = true;
	e->tls = tls;
	e->verify = verify;
	if (!tls)
		return 0;
	if (e->socket_path)
		return 0; /* TLS settings do not apply to unix sockets (like docker) */
	const char *dir = o->cert_path;
	if (!dir || !*dir)
		dir = getenv("DOCKER_CERT_PATH");
	if (dir && *dir)
		e->cert_dir = xstrdup(dir);
	else {
		const char *home = getenv("HOME");
		e->cert_dir = xasprintf("%s/.docker", home && *home ? home : ".");
	}
	_cleanup_free_ char *ca = xasprintf("%s/ca.pem", e->cert_dir);
	_cleanup_free_ char *cert = xasprintf("%s/cert.pem", e->cert_dir);
	_cleanup_free_ char *key = xasprintf("%s/key.pem", e->cert_dir);
	if (verify) {
		if (!file_readable(ca))
			return berr_set_errno(err, BERR_NOTFOUND, errno, "TLS verification is on "
					      "(DOCKER_TLS_VERIFY) but the CA file '%s' cannot be read", ca);
		e->ca = steal_pointer(&ca);
	}
	bool hc = file_readable(cert), hk = file_readable(key);
	if (hc != hk)
		return berr_set(err, BERR_NOTFOUND, "TLS client certificate: '%s' needs '%s' too",
				hc ? cert : key, hc ? key : cert);
	if (hc) {
		e->cert = steal_pointer(&cert);
		e->key = steal_pointer(&key);
	}
	return 0;
}

/* --- requests --- */

void eng_req_init(struct eng_req *r, const char *method, const char *path)
{
	memset(r, 0, sizeof(*r));
	r->method = method;
	r->path = path;
	r->upload_fd = -1;
}

void eng_setup_handle(struct bld_engine *e, CURL *c, const char *method, const char *path,
		      bool unversioned, char *errbuf)
{
	_cleanup_free_ char *url = unversioned ? xasprintf("%s%s", e->base, path)
					       : xasprintf("%s/v%s%s", e->base, e->api, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	if (e->socket_path)
		curl_easy_setopt(c, CURLOPT_UNIX_SOCKET_PATH, e->socket_path);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "GET") == 0)
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, e->connect_timeout);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "berth/" BERTH_VERSION);
	/* the engine is addressed directly; proxies from the environment would
	 * see (and could not carry) unix-socket requests */
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*");
	if (e->tls) {
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, e->verify ? 1L : 0L);
		curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, e->verify ? 2L : 0L);
		if (e->ca)
			curl_easy_setopt(c, CURLOPT_CAINFO, e->ca);
		if (e->cert) {
			curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
			curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
		}
	}
	errbuf[0] = '\0';
}

struct wctx {
	struct bld_engine *e;
	struct eng_req *r;
	CURL *c;
	bool status_known;
	struct bbuf errbody;
	struct berr *sink_err;
	/* stall watch (ENG_LIMIT_BULK uploads, ENG_LIMIT_STREAM) */
	curl_off_t last_dl, last_ul;
	double last_move;       /* monotonic seconds of the last byte moved */
	bool stalled;
};

static double mono_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t write_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct wctx *w = ud;
	size_t n = sz * nm;
	if (!w->status_known) {
		curl_easy_getinfo(w->c, CURLINFO_RESPONSE_CODE, &w->r->status);
		w->status_known = true;
	}
	if (w->r->status >= 300 || w->r->status < 100) {
		size_t room = ERR_BODY_MAX > w->errbody.len ? ERR_BODY_MAX - w->errbody.len : 0;
		bbuf_add(&w->errbody, p, n < room ? n : room, NULL);
		return n;
	}
	if (w->r->sink) {
		if (bsink_write(w->r->sink, p, n, &w->sink_err) < 0)
			return 0;
		return n;
	}
	if (w->r->resp) {
		if (bbuf_add(w->r->resp, p, n, &w->sink_err) < 0)
			return 0;
	}
	return n;
}

static void copy_header(char *dst, size_t dlen, const char *v, size_t n)
{
	while (n && (v[n - 1] == '\r' || v[n - 1] == '\n' || v[n - 1] == ' '))
		n--;
	while (n && *v == ' ') {
		v++;
		n--;
	}
	if (n >= dlen)
		n = dlen - 1;
	memcpy(dst, v, n);
	dst[n] = '\0';
}

static size_t header_cb(char *p, size_t sz, size_t nm, void *ud)
{
	struct eng_req *r = ud;
	size_t n = sz * nm;
	if (n > 12 && strncasecmp(p, "API-Version:", 12) == 0)
		copy_header(r->api_version_hdr, sizeof(r->api_version_hdr), p + 12, n - 12);
	else if (n > 7 && strncasecmp(p, "OSType:", 7) == 0)
		copy_header(r->ostype_hdr, sizeof(r->ostype_hdr), p + 7, n - 7);
	return n;
}

static size_t read_cb(char *p, size_t sz, size_t nm, void *ud)
{
	int fd = *(int *)ud;
	for (;;) {
		ssize_t n = read(fd, p, sz * nm);
		if (n >= 0)
			return (size_t)n;
		if (errno != EINTR)
			return CURL_READFUNC_ABORT;
	}
}

/* Called by libcurl at least once a second, also while nothing moves:
 * cancel and the stall watch live here. */
static int progress_cb(void *ud, curl_off_t dt, curl_off_t dn, curl_off_t ut, curl_off_t un)
{
	struct wctx *w = ud;
	if (w->e->cancel && !w->r->ignore_cancel)
		return 1;
	enum eng_limit l = w->r->limit;
	if (l != ENG_LIMIT_BULK && l != ENG_LIMIT_STREAM)
		return 0;
	double now = mono_now();
	if (dn != w->last_dl || un != w->last_ul) {
		w->last_dl = dn;
		w->last_ul = un;
		w->last_move = now;
		return 0;
	}
	/* a bulk request is watched while its upload is under way; after it,
	 * the engine works silently (bounded by bulk_timeout) */
	if (l == ENG_LIMIT_BULK && (w->r->upload_fd < 0 || (ut > 0 && un >= ut)))
		return 0;
	if (now - w->last_move >= (double)w->e->stall_timeout) {
		w->stalled = true;
		return 1;
	}
	return 0;
}

int eng_curl_error(struct bld_engine *e, CURLcode rc, const char *errbuf, const char *what,
		   struct berr **err)
{
	const char *detail = errbuf && *errbuf ? errbuf : curl_easy_strerror(rc);
	if (rc == CURLE_ABORTED_BY_CALLBACK && e->cancel)
		return berr_set(err, BERR_FAILED, "%s: interrupted", what);
	if (e->socket_path && (rc == CURLE_COULDNT_CONNECT || rc == CURLE_COULDNT_RESOLVE_HOST)) {
		struct stat st;
		if (stat(e->socket_path, &st) < 0)
			return berr_set_errno(err, BERR_NETWORK, errno, "cannot reach the engine at '%s': "
					      "no socket '%s' (is dockerd running?)", e->url, e->socket_path);
		if (access(e->socket_path, R_OK | W_OK) < 0)
			return berr_set_errno(err, BERR_NETWORK, errno, "cannot reach the engine at '%s': "
					      "socket '%s' (is your user allowed to use it?)", e->url,
					      e->socket_path);
		return berr_set(err, BERR_NETWORK, "cannot reach the engine at '%s': nothing accepts "
				"connections on '%s' (is dockerd running?)", e->url, e->socket_path);
	}
	switch (rc) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
		return berr_set(err, BERR_NETWORK, "cannot reach the engine at '%s': %s (is dockerd "
				"listening there, and is the port open?)", e->url, detail);
	case CURLE_PEER_FAILED_VERIFICATION:
		return berr_set(err, BERR_NETWORK, "TLS: the engine at '%s' presented a certificate "
				"that does not verify against '%s': %s", e->url, e->ca ? e->ca : "the CA",
				detail);
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
		return berr_set(err, BERR_NETWORK, "TLS: cannot use the certificates in '%s' "
				"(ca.pem, cert.pem, key.pem): %s", e->cert_dir ? e->cert_dir : "?", detail);
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_SEND_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_CIPHER:
		if (e->tls)
			return berr_set(err, BERR_NETWORK, "TLS: the engine at '%s' refused the connection "
					"(unauthorised: it did not accept %s): %s", e->url,
					e->cert ? "the client certificate in DOCKER_CERT_PATH" :
					"a client without a certificate; set DOCKER_CERT_PATH to a "
					"directory with cert.pem and key.pem", detail);
		if (rc == CURLE_GOT_NOTHING || rc == CURLE_RECV_ERROR)
			return berr_set(err, BERR_NETWORK, "%s: the engine at '%s' closed the connection "
					"(does it expect TLS? set DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH): %s",
					what, e->url, detail);
		break;
	default:
		break;
	}
	return berr_set(err, BERR_NETWORK, "%s: engine '%s': %s", what, e->url, detail);
}

int eng_http_error(struct bld_engine *e, const char *what, long status, const char *body,
		   struct berr **err)
{
	_cleanup_free_ char *msg = NULL;
	cJSON *j = body ? cJSON_Parse(body) : NULL;
	const char *m = j ? eng_jstr(j, "message") : NULL;
	if (m)
		msg = xstrdup(m);
	else if (body && *body) {
		msg = xstrdup(body);
		size_t n = strlen(msg);
		while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r' || msg[n - 1] == ' '))
			msg[--n] = '\0';
	}
	cJSON_Delete(j);
	if (status == 400 && msg && strstr(msg, "HTTP request to an HTTPS server"))
		return berr_set(err, BERR_NETWORK, "the engine at '%s' requires TLS: set "
				"DOCKER_TLS_VERIFY=1 and DOCKER_CERT_PATH (ca.pem, cert.pem, key.pem)",
				e->url);
	if (status == 401 || status == 403)
		return berr_set(err, BERR_NETWORK, "%s: the engine at '%s' refused the request (HTTP %ld, "
				"unauthorised)%s%s", what, e->url, status, msg ? ": " : "", msg ? msg : "");
	return berr_set(err, status == 404 ? BERR_NOTFOUND : BERR_FAILED, "%s: engine said (HTTP %ld)%s%s",
			what, status, msg ? ": " : "", msg ? msg : "");
}

int eng_do(struct bld_engine *e, struct eng_req *r, struct berr **err)
{
	char errbuf[CURL_ERROR_SIZE];
	CURL *c = e->curl;
	curl_easy_reset(c);
	eng_setup_handle(e, c, r->method, r->path, r->unversioned, errbuf);
	struct curl_slist *hdrs = NULL;
	for (struct curl_slist *h = r->extra_headers; h; h = h->next)
		hdrs = curl_slist_append(hdrs, h->data);
	hdrs = curl_slist_append(hdrs, "Expect:");
	if (r->json) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, r->json);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(r->json));
	} else if (r->upload_fd >= 0) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/x-tar");
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &r->upload_fd);
		struct stat st;
		if (fstat(r->upload_fd, &st) == 0 && S_ISREG(st.st_mode))
			curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)st.st_size);
	} else if (strcmp(r->method, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	}
	/* CURLOPT_UPLOAD makes a PUT unless told otherwise */
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, r->method);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	struct wctx w = { .e = e, .r = r, .c = c, .errbody = BBUF_INIT };
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &w);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	w.last_move = mono_now();
	curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(c, CURLOPT_XFERINFODATA, &w);
	long total = r->limit == ENG_LIMIT_QUICK ? e->request_timeout
		     : r->limit == ENG_LIMIT_BULK ? e->bulk_timeout : 0;
	if (total)
		curl_easy_setopt(c, CURLOPT_TIMEOUT, total);
	r->status = 0;
	CURLcode rc = curl_easy_perform(c);
	curl_slist_free_all(hdrs);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	_cleanup_free_ char *what = xasprintf("%s %s", r->method, r->path);
	if (rc != CURLE_OK) {
		bbuf_release(&w.errbody);
		if (w.sink_err) {
			/* the consumer stopped the stream: its error is the cause */
			*err = w.sink_err;
			return -1;
		}
		if (rc == CURLE_ABORTED_BY_CALLBACK && w.stalled)
			return berr_set(err, BERR_NETWORK,
					"%s: the engine at '%s' moved no data for %ld s (it stalled; "
					"BERTH_ENGINE_STALL_TIMEOUT sets the limit)", what, e->url,
					e->stall_timeout);
		/* connected and asked, but no complete answer in time */
		double pre = 0;
		if (rc == CURLE_OPERATION_TIMEDOUT && total &&
		    curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME, &pre) == CURLE_OK && pre > 0)
			return berr_set(err, BERR_NETWORK,
					"%s: the engine at '%s' did not answer within %ld s (it stalled; "
					"BERTH_ENGINE_TIMEOUT sets the limit)", what, e->url, total);
		return eng_curl_error(e, rc, errbuf, what, err);
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 400) {
		int ret = eng_http_error(e, what, r->status, bbuf_str(&w.errbody), err);
		bbuf_release(&w.errbody);
		return ret;
	}
	bbuf_release(&w.errbody);
	return 0;
}

static int request_limit(struct bld_engine *e, const char *method, const char *path,
			 const char *json_body, enum eng_limit limit, long *status, char **body,
			 struct berr **err)
{
	struct eng_req r;
	eng_req_init(&r, method, path);
	r.json = json_body;
	r.limit = limit;
	struct bbuf b = BBUF_INIT;
	b.limit = BLD_ENGINE_JSON_MAX;
	r.resp = &b;
	int ret = eng_do(e, &r, err);
	if (status)
		*status = r.status;
	if (ret == 0 && body)
		*body = bbuf_detach(&b, NULL);
	bbuf_release(&b);
	return ret;
}

int bld_engine_request(struct bld_engine *e, const char *method, const char *path,
		       const char *json_body, long *status, char **body, struct berr **err)
{
	return request_limit(e, method, path, json_body, ENG_LIMIT_QUICK, status, body, err);
}

int eng_json_limit(struct bld_engine *e, const char *method, const char *path, const char *body,
		   enum eng_limit limit, cJSON **out, struct berr **err)
{
	_cleanup_free_ char *text = NULL;
	if (request_limit(e, method, path, body, limit, NULL, &text, err) < 0)
		return -1;
	cJSON *j = cJSON_Parse(text);
	if (!j)
		return berr_set(err, BERR_INPUT, "%s %s: the engine sent invalid JSON", method, path);
	*out = j;
	return 0;
}

int eng_json(struct bld_engine *e, const char *method, const char *path, const char *body,
	     cJSON **out, struct berr **err)
{
	return eng_json_limit(e, method, path, body, ENG_LIMIT_QUICK, out, err);
}

/* --- open / negotiate --- */

/* Connection and TLS errors already name the engine. */
static int wrap_unless_named(struct bld_engine *e, struct berr **err)
{
	if (err && *err && (*err)->msg && !strstr((*err)->msg, e->url))
		berr_wrap(err, "engine '%s'", e->url);
	return -1;
}

static int negotiate(struct bld_engine *e, struct berr **err)
{
	struct eng_req r;
	eng_req_init(&r, "GET", "/_ping");
	r.unversioned = true;
	struct bbuf b = BBUF_INIT;
	b.limit = 4096;
	r.resp = &b;
	int ret = eng_do(e, &r, err);
	bbuf_release(&b);
	if (ret < 0)
		return wrap_unless_named(e, err);
	_cleanup_free_ char *text = NULL;
	eng_req_init(&r, "GET", "/version");
	r.unversioned = true;
	struct bbuf vb = BBUF_INIT;
	vb.limit = BLD_ENGINE_JSON_MAX;
	r.resp = &vb;
	if (eng_do(e, &r, err) < 0) {
		bbuf_release(&vb);
		return wrap_unless_named(e, err);
	}
	text = bbuf_detach(&vb, NULL);
	_cleanup_cjson_ cJSON *j = cJSON_Parse(text);
	const char *server = j ? eng_jstr(j, "ApiVersion") : NULL;
	if (!server && valid_api(r.api_version_hdr))
		server = r.api_version_hdr;
	if (!server || !valid_api(server))
		return berr_set(err, BERR_INPUT, "engine '%s': /version gives no usable ApiVersion", e->url);
	const char *min = j ? eng_jstr(j, "MinAPIVersion") : NULL;
	const char *ver = j ? eng_jstr(j, "Version") : NULL;
	if (bld_engine_api_cmp(server, BLD_ENGINE_API_MIN) < 0)
		return berr_set(err, BERR_UNSUPPORTED, "the engine at '%s' is too old: it speaks API %s "
				"(Docker %s), berth needs API %s (Docker 1.12) or newer", e->url, server,
				ver ? ver : "?", BLD_ENGINE_API_MIN);
	if (min && valid_api(min) && bld_engine_api_cmp(min, BLD_ENGINE_API_MAX) > 0)
		return berr_set(err, BERR_UNSUPPORTED, "the engine at '%s' requires API %s or newer; "
				"berth speaks up to %s", e->url, min, BLD_ENGINE_API_MAX);
	const char *use = bld_engine_api_cmp(server, BLD_ENGINE_API_MAX) < 0 ? server : BLD_ENGINE_API_MAX;
	snprintf(e->api, sizeof(e->api), "%s", use);
	return 0;
}

/* *out = $name in seconds, 0 when unset */
static int env_seconds(const char *name, long *out, struct berr **err)
{
	const char *s = getenv(name);
	*out = 0;
	if (!s || !*s)
		return 0;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > REQUEST_TIMEOUT_MAX_S)
		return berr_set(err, BERR_USAGE, "%s: '%s' is not a number of seconds from 1 to %ld",
				name, s, REQUEST_TIMEOUT_MAX_S);
	*out = v;
	return 0;
}

int bld_engine_open(const struct bld_engine_opts *o, struct bld_engine **out, struct berr **err)
{
	static const struct bld_engine_opts defaults = { .tls = -1, .tls_verify = -1 };
	if (!o)
		o = &defaults;
	const char *url = o->url;
	if (!url || !*url)
		url = getenv("DOCKER_HOST");
	if (!url || !*url)
		url = BLD_ENGINE_DEFAULT_HOST;
	if (bcurl_init(err) < 0)
		return -1;
	struct bld_engine *e = xcalloc(1, sizeof(*e));
	e->url = xstrdup(url);
	if (parse_url(e, url, err) < 0)
		goto fail;
	e->connect_timeout = o->connect_timeout_s > 0 ? o->connect_timeout_s : DEFAULT_CONNECT_TIMEOUT_S;
	e->request_timeout = REQUEST_TIMEOUT_S;
	e->bulk_timeout = BULK_TIMEOUT_S;
	e->stall_timeout = STALL_TIMEOUT_S;
	long v = 0;
	if (o->request_timeout_s > 0)
		e->request_timeout = e->bulk_timeout = o->request_timeout_s;
	else if (env_seconds("BERTH_ENGINE_TIMEOUT", &v, err) < 0)
		goto fail;
	else if (v)
		e->request_timeout = e->bulk_timeout = v;
	v = 0;
	if (o->stall_timeout_s > 0)
		e->stall_timeout = o->stall_timeout_s;
	else if (env_seconds("BERTH_ENGINE_STALL_TIMEOUT", &v, err) < 0)
		goto fail;
	else if (v)
		e->stall_timeout = v;
	if (setup_tls(e, o, err) < 0)
		goto fail;
	if (!e->socket_path) {
		char *hostport = e->base;
		e->base = e->default_port ? xasprintf("%s://%s:%d", e->tls ? "https" : "http", hostport,
						   e->tls ? 2376 : 2375)
				       : xasprintf("%s://%s", e->tls ? "https" : "http", hostport);
		free(hostport);
	}
	snprintf(e->api, sizeof(e->api), "%s", BLD_ENGINE_API_MIN);
	e->curl = curl_easy_init();
	if (!e->curl) {
		berr_set(err, BERR_INTERNAL, "cannot initialise libcurl");
		goto fail;
	}
	if (negotiate(e, err) < 0)
		goto fail;
	*out = e;
	return 0;
fail:
	bld_engine_free(e);
	return -1;
}

void bld_engine_free(struct bld_engine *e)
{
	if (!e)
		return;
	if (e->curl)
		curl_easy_cleanup(e->curl);
	free(e->url);
	free(e->base);
	free(e->socket_path);
	free(e->ca);
	free(e->cert);
	free(e->key);
	free(e->cert_dir);
	free(e);
}

const char *bld_engine_url(const struct bld_engine *e) { return e->url; }
const char *bld_engine_api_version(const struct bld_engine *e) { return e->api; }
bool bld_engine_is_local(const struct bld_engine *e) { return e->socket_path != NULL; }
void bld_engine_cancel(struct bld_engine *e) { e->cancel = 1; }
bool bld_engine_cancelled(const struct bld_engine *e) { return e->cancel != 0; }
long eng_request_timeout(const struct bld_engine *e) { return e->request_timeout; }
