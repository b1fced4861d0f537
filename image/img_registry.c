/* OCI distribution client: transport, auth, blobs and manifests.
 * Pull/push/index logic is in img_regops.c. */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include "common/bcrypto.h"
#include "common/bcurl.h"

#include "berth_version.h"
#include "common/common.h"
#include "image/img_regauth.h"
#include "image/img_registry.h"
#include "image/img_registry_int.h"
#include "parser/df_ref.h"


#define IMG_REG_CONNECT_TIMEOUT_S 30L
#define IMG_REG_SYSTEM_CA "/etc/ssl/certs/ca-certificates.crt"
#define IMG_REG_CA_MAX (8u << 20)

/* ---------- references ---------- */

void img_remote_clear(struct img_remote *r)
{
	if (!r)
		return;
	free(r->domain);
	free(r->host);
	free(r->repo);
	free(r->tag);
	free(r->digest);
	free(r->full);
	memset(r, 0, sizeof(*r));
}

int img_remote_parse(const char *ref, struct img_remote *out, struct berr **err)
{
	memset(out, 0, sizeof(*out));
	struct df_ref *d = NULL;
	if (df_ref_parse_docker(ref, &d, err) < 0)
		return berr_wrap(err, "reference '%s'", ref);
	out->domain = xstrdup(d->domain);
	out->host = xstrdup(strcmp(d->domain, "docker.io") == 0 ? "registry-1.docker.io" : d->domain);
	out->repo = xstrdup(d->path);
	out->tag = d->tag ? xstrdup(d->tag) : NULL;
	out->digest = d->digest ? xstrdup(d->digest) : NULL;
	out->full = df_ref_string(d);
	df_ref_free(d);
	return 0;
}

/* ---------- client ---------- */

void img_reg_opts_init(struct img_reg_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->tls_verify = true;
	o->max_retries = IMG_REG_DEFAULT_RETRIES;
	o->backoff_ms = IMG_REG_DEFAULT_BACKOFF_MS;
	o->stall_timeout_s = IMG_REG_DEFAULT_STALL_TIMEOUT_S;
}

static void host_free(struct reg_host *h)
{
	free(h->host);
	free(h->domain);
	free(h->base);
	free(h->realm);
	free(h->service);
	img_cred_clear(&h->cred);
}

void img_registry_free(struct img_registry *r)
{
	if (!r)
		return;
	if (r->curl)
		curl_easy_cleanup(r->curl);
	for (size_t i = 0; i < r->n_hosts; i++) {
		host_free(r->hosts[i]);
		free(r->hosts[i]);
	}
	free(r->hosts);
	for (size_t i = 0; i < r->n_toks; i++) {
		free(r->toks[i].key);
		if (r->toks[i].token) {
			explicit_bzero(r->toks[i].token, strlen(r->toks[i].token));
			free(r->toks[i].token);
		}
	}
	free(r->toks);
	for (size_t i = 0; i < r->o.n_insecure; i++)
		free((char *)r->o.insecure_hosts[i]);
	free((void *)r->o.insecure_hosts);
	free((char *)r->o.cert_dir);
	free((char *)r->o.cred_domain);
	free((char *)r->o.username);
	if (r->o.password) {
		explicit_bzero((char *)r->o.password, strlen(r->o.password));
		free((char *)r->o.password);
	}
	free((char *)r->o.docker_config);
	bbuf_release(&r->ca);
	free(r);
}

static char *dup_or_null(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int crt_filter(const struct dirent *d)
{
	size_t n = strlen(d->d_name);
	return n > 4 && strcmp(d->d_name + n - 4, ".crt") == 0;
}

static int load_cas(struct img_registry *r, const char *dir, struct berr **err)
{
	r->ca.limit = IMG_REG_CA_MAX;
	struct berr *e2 = NULL;
	if (bfile_read_all(IMG_REG_SYSTEM_CA, IMG_REG_CA_MAX, &r->ca, &e2) < 0)
		berr_free(e2); /* no system bundle: only the given CAs */
	struct dirent **ents = NULL;
	int n = scandir(dir, &ents, crt_filter, alphasort);
	if (n < 0)
		return berr_set_errno(err, BERR_IO, errno, "cert dir '%s'", dir);
	int rc = 0;
	for (int i = 0; i < n; i++) {
		_cleanup_free_ char *p = xasprintf("%s/%s", dir, ents[i]->d_name);
		_cleanup_bbuf_ struct bbuf one = BBUF_INIT;
		if (rc == 0 && (bfile_read_all(p, IMG_REG_CA_MAX, &one, err) < 0 ||
				bbuf_addch(&r->ca, '\n', err) < 0 || bbuf_add(&r->ca, one.data, one.len, err) < 0))
			rc = -1;
		free(ents[i]);
	}
	free(ents);
	return rc;
}

int img_registry_new(const struct img_reg_opts *o, struct img_registry **out, struct berr **err)
{
	struct img_registry *r = xcalloc(1, sizeof(*r));
	r->o = *o;
	const char **ins = xcalloc(o->n_insecure + 1, sizeof(*ins));
	for (size_t i = 0; i < o->n_insecure; i++)
		ins[i] = xstrdup(o->insecure_hosts[i]);
	r->o.insecure_hosts = ins;
	r->o.cert_dir = dup_or_null(o->cert_dir);
	r->o.cred_domain = dup_or_null(o->cred_domain);
	r->o.username = dup_or_null(o->username);
	r->o.password = dup_or_null(o->password);
	r->o.docker_config = dup_or_null(o->docker_config);
	if (r->o.max_retries > 16)
		r->o.max_retries = 16;
	if (o->cert_dir && load_cas(r, o->cert_dir, err) < 0) {
		img_registry_free(r);
		return -1;
	}
	*out = r;
	return 0;
}

static void cred_copy(struct img_cred *dst, const struct img_cred *src)
{
	dst->username = dup_or_null(src->username);
	dst->password = dup_or_null(src->password);
	dst->identity_token = dup_or_null(src->identity_token);
	dst->registry_token = dup_or_null(src->registry_token);
}

int reg_clone(struct img_registry *r, struct img_registry **out, struct berr **err)
{
	struct img_reg_opts o = r->o;
	o.cert_dir = NULL; /* CAs copied below, not re-read */
	struct img_registry *c;
	if (img_registry_new(&o, &c, err) < 0)
		return -1;
	c->o.cert_dir = dup_or_null(r->o.cert_dir);
	if (r->ca.len)
		bbuf_add(&c->ca, r->ca.data, r->ca.len, NULL);
	c->hosts = xcalloc(r->n_hosts + 1, sizeof(*c->hosts));
	for (size_t i = 0; i < r->n_hosts; i++) {
		const struct reg_host *h = r->hosts[i];
		struct reg_host *n = xcalloc(1, sizeof(*n));
		n->host = xstrdup(h->host);
		n->domain = xstrdup(h->domain);
		n->base = dup_or_null(h->base);
		n->auth = h->auth;
		n->realm = dup_or_null(h->realm);
		n->service = dup_or_null(h->service);
		cred_copy(&n->cred, &h->cred);
		n->cred_loaded = h->cred_loaded;
		c->hosts[c->n_hosts++] = n;
	}
	c->toks = xcalloc(r->n_toks + 1, sizeof(*c->toks));
	for (size_t i = 0; i < r->n_toks; i++) {
		c->toks[i].key = xstrdup(r->toks[i].key);
		c->toks[i].token = dup_or_null(r->toks[i].token);
		c->toks[i].expires = r->toks[i].expires;
	}
	c->n_toks = r->n_toks;
	*out = c;
	return 0;
}

void reg_event(struct img_registry *r, enum img_reg_event ev, const char *what, const char *detail)
{
	if (r->o.event)
		r->o.event(r->o.event_ctx, ev, what, detail);
}

/* ---------- hosts ---------- */

static bool is_loopback(const char *hostport)
{
	_cleanup_free_ char *h = NULL;
	if (hostport[0] == '[') {
		const char *e = strchr(hostport, ']');
		if (!e)
			return false;
		h = xstrndup(hostport + 1, (size_t)(e - hostport - 1));
	} else {
		h = xstrndup(hostport, strcspn(hostport, ":"));
	}
	if (strcasecmp(h, "localhost") == 0)
		return true;
	struct in_addr a4;
	if (inet_pton(AF_INET, h, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	struct in6_addr a6;
	if (inet_pton(AF_INET6, h, &a6) == 1)
		return IN6_IS_ADDR_LOOPBACK(&a6);
	return false;
}

static bool plain_allowed(const struct img_registry *r, const char *host)
{
	for (size_t i = 0; i < r->o.n_insecure; i++)
		if (strcasecmp(r->o.insecure_hosts[i], host) == 0)
			return true;
	return is_loopback(host);
}

/* ---------- HTTP ---------- */

void reg_resp_clear(struct reg_resp *rs)
{
	free(rs->location);
	free(rs->content_type);
	free(rs->digest);
	free(rs->range);
	free(rs->retry_after);
	free(rs->content_range);
	for (size_t i = 0; i < rs->n_www; i++)
		free(rs->www[i]);
	free(rs->www);
	bbuf_release(&rs->errbody);
	memset(rs, 0, sizeof(*rs));
}

static void set_hdr(char **dst, const char *v, size_t n)
{
	free(*dst);
	*dst = xstrndup(v, n);
}

#define IMG_REG_RECV_BUFFER (512L << 10)
#define IMG_REG_SEND_BUFFER (1L << 20)

struct xfer {
	struct img_registry *r;
	struct reg_req *q;
	struct reg_resp *rs;
	struct berr *err;         /* set by callbacks */
	bool began;
	/* request body */
	const char *mem;
	size_t mem_left;
	struct img_blob_reader *blob;
	uint64_t blob_left;
	bool blob_to_eof;
};

static size_t header_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (len >= 5 && strncmp(buf, "HTTP/", 5) == 0) {
		/* a new response (after 1xx): forget the previous headers */
		struct reg_resp keep = { 0 };
		keep.errbody = x->rs->errbody;
		x->rs->errbody = (struct bbuf)BBUF_INIT;
		reg_resp_clear(x->rs);
		x->rs->errbody = keep.errbody;
		bbuf_reset(&x->rs->errbody);
		x->rs->content_length = -1;
		return len;
	}
	const char *colon = memchr(buf, ':', len);
	if (!colon)
		return len;
	size_t nl = (size_t)(colon - buf);
	const char *v = colon + 1;
	const char *end = buf + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
		end--;
	size_t vl = (size_t)(end - v);
#define IS(name) (nl == sizeof(name) - 1 && strncasecmp(buf, name, nl) == 0)
	if (IS("Location"))
		set_hdr(&x->rs->location, v, vl);
	else if (IS("Content-Type"))
		set_hdr(&x->rs->content_type, v, vl);
	else if (IS("Docker-Content-Digest"))
		set_hdr(&x->rs->digest, v, vl);
	else if (IS("Range"))
		set_hdr(&x->rs->range, v, vl);
	else if (IS("Content-Range"))
		set_hdr(&x->rs->content_range, v, vl);
	else if (IS("Retry-After"))
		set_hdr(&x->rs->retry_after, v, vl);
	else if (IS("Content-Length")) {
		_cleanup_free_ char *s = xstrndup(v, vl);
		char *e;
		errno = 0;
		long long cl = strtoll(s, &e, 10);
		if (!errno && *e == '\0' && cl >= 0)
			x->rs->content_length = cl;
	} else if (IS("WWW-Authenticate") && x->rs->n_www < IMG_AUTH_MAX_CHALLENGES) {
		x->rs->www = xreallocarray(x->rs->www, x->rs->n_www + 1, sizeof(char *));
		x->rs->www[x->rs->n_www++] = xstrndup(v, vl);
	} else if (IS("Warning")) {
		_cleanup_free_ char *s = xstrndup(v, vl);
		reg_event(x->r, IMG_REG_EV_WARNING, x->q->url, s);
	}
#undef IS
	return len;
}

static long cur_status(struct xfer *x)
{
	long st = 0;
	curl_easy_getinfo(x->r->curl, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

static int begin_body(struct xfer *x)
{
	if (x->began)
		return 0;
	x->began = true;
	x->rs->status = cur_status(x);
	if (x->rs->status >= 200 && x->rs->status < 300 && x->q->on_2xx)
		return x->q->on_2xx(x->q->ctx, x->rs, &x->err);
	return 0;
}

static size_t write_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	if (begin_body(x) < 0)
		return 0;
	long st = x->rs->status;
	if (st >= 200 && st < 300) {
		if (x->q->out) {
			if (bbuf_add(x->q->out, buf, len, &x->err) < 0)
				return 0;
		} else if (x->q->sink) {
			if (bsink_write(x->q->sink, buf, len, &x->err) < 0)
				return 0;
		}
		return len;
	}
	/* error bodies: keep a bounded prefix for the message */
	if (x->rs->errbody.len < IMG_REG_ERRBODY_MAX) {
		size_t take = IMG_REG_ERRBODY_MAX - x->rs->errbody.len;
		bbuf_add(&x->rs->errbody, buf, len < take ? len : take, NULL);
	}
	return len;
}

static size_t read_cb(char *buf, size_t size, size_t n, void *ud)
{
	struct xfer *x = ud;
	size_t len = size * n;
	struct reg_stream *st = x->q->stream;
	if (st) {
		if (st->left == 0)
			return 0;
		size_t want = st->left < len ? (size_t)st->left : len;
		ssize_t got;
		do
			got = read(st->fd, buf, want);
		while (got < 0 && errno == EINTR);
		if (got <= 0) {
			berr_set(&x->err, BERR_NETWORK, "the source registry stopped sending the blob");
			return CURL_READFUNC_ABORT;
		}
		st->started = true;
		img_hasher_update(st->h, buf, (size_t)got);
		st->left -= (uint64_t)got;
		if (st->left == 0) {
			/* the registry checks the digest too; this stops a bad copy
			 * before its last byte */
			struct img_digest d;
			img_hasher_final(st->h, &d);
			if (!img_digest_equal(&d, st->want)) {
				berr_set(&x->err, BERR_INTEGRITY, "blob '%s' from the source registry "
					 "hashes to '%s'", st->want->s, d.s);
				return CURL_READFUNC_ABORT;
			}
		}
		return (size_t)got;
	}
	if (x->blob) {
		if (x->blob_left == 0)
			return 0;
		size_t want = x->blob_left < len ? (size_t)x->blob_left : len;
		ssize_t got = img_blob_read(x->blob, buf, want, &x->err);
		if (got < 0)
			return CURL_READFUNC_ABORT;
		if (got == 0) {
			berr_set(&x->err, BERR_INTEGRITY, "blob is shorter than its descriptor says");
			return CURL_READFUNC_ABORT;
		}
		x->blob_left -= (uint64_t)got;
		if (x->blob_left == 0 && x->blob_to_eof) {
			/* verified EOF: the reader checks digest and size here */
			char c;
			ssize_t e = img_blob_read(x->blob, &c, 1, &x->err);
			if (e != 0) {
				if (e > 0)
					berr_set(&x->err, BERR_INTEGRITY, "blob is longer than its descriptor says");
				return CURL_READFUNC_ABORT;
			}
		}
		return (size_t)got;
	}
	size_t take = x->mem_left < len ? x->mem_left : len;
	memcpy(buf, x->mem, take);
	x->mem += take;
	x->mem_left -= take;
	return take;
}

/* Open the request body for one attempt (blob bodies restart each time). */
static int body_open(struct xfer *x, struct berr **err)
{
	struct reg_req *q = x->q;
	if (q->body_store) {
		x->blob = img_blob_open(q->body_store, &q->body_desc->digest, q->body_desc->size, err);
		if (!x->blob)
			return -1;
		char buf[65536];
		uint64_t skip = q->body_off;
		while (skip > 0) {
			ssize_t g = img_blob_read(x->blob, buf, skip < sizeof(buf) ? (size_t)skip : sizeof(buf), err);
			if (g <= 0)
				return g == 0 ? berr_set(err, BERR_INTEGRITY, "blob '%s' is short",
							 q->body_desc->digest.s) : -1;
			skip -= (uint64_t)g;
		}
		x->blob_left = q->body_len;
		x->blob_to_eof = q->body_off + q->body_len == (uint64_t)q->body_desc->size;
	} else {
		x->mem = q->body;
		x->mem_left = q->body_len;
	}
	return 0;
}

static char *url_host(const char *url)
{
	CURLU *u = curl_url();
	char *host = NULL, *port = NULL, *res = NULL;
	if (curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK) {
		if (curl_url_get(u, CURLUPART_PORT, &port, 0) == CURLUE_OK)
			res = xasprintf("%s:%s", host, port);
		else
			res = xstrdup(host);
	}
	curl_free(host);
	curl_free(port);
	curl_url_cleanup(u);
	return res;
}

/* Resolve a Location header against the URL it answered. */
char *reg_resolve_url(const char *base, const char *loc)
{
	CURLU *u = curl_url();
	char *s = NULL, *res = NULL;
	if (curl_url_set(u, CURLUPART_URL, base, 0) == CURLUE_OK &&
	    curl_url_set(u, CURLUPART_URL, loc, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_URL, &s, 0) == CURLUE_OK)
		res = xstrdup(s);
	curl_free(s);
	curl_url_cleanup(u);
	return res;
}

/* Same registry endpoint? Compared as host:port with default ports. */
static bool same_origin(const char *url, const struct reg_host *h)
{
	_cleanup_free_ char *a = url_host(url), *b = url_host(h->base);
	return a && b && strcasecmp(a, b) == 0;
}

static int perform(struct img_registry *r, struct reg_req *q, const char *url, const char *authz,
		   struct reg_resp *rs, bool *retryable, struct berr **err)
{
	*retryable = false;
	reg_resp_clear(rs);
	rs->content_length = -1;
	/* the handle (and libcurl) only when a request is made: a build that
	 * never needs a registry never loads libcurl */
	if (!r->curl) {
		if (bcurl_init(err) < 0)
			return -1;
		r->curl = curl_easy_init();
		if (!r->curl)
			return berr_set(err, BERR_INTERNAL, "curl_easy_init failed");
	}
	CURL *c = r->curl;
	struct xfer x = { .r = r, .q = q, .rs = rs };
	curl_easy_reset(c);
	struct curl_slist *h = NULL;
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, "User-Agent: berth/" BERTH_VERSION);
	for (size_t i = 0; i < q->n_headers; i++)
		h = curl_slist_append(h, q->headers[i]);
	_cleanup_free_ char *range = NULL;
	if (q->resume_from && *q->resume_from > 0) {
		range = xasprintf("Range: bytes=%lld-", (long long)*q->resume_from);
		h = curl_slist_append(h, range);
	}
	char *ah = NULL;
	if (authz) {
		ah = xasprintf("Authorization: %s", authz);
		h = curl_slist_append(h, ah);
	}
	if (body_open(&x, err) < 0) {
		curl_slist_free_all(h);
		free(ah);
		return -1;
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, header_cb);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &x);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &x);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	/* blob bodies: fewer, larger reads and writes than curl's defaults */
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, IMG_REG_RECV_BUFFER);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, IMG_REG_SEND_BUFFER);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, IMG_REG_CONNECT_TIMEOUT_S);
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
	/* slower than 1 byte/s for this long: stalled (no hangs) */
	curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME,
			 (long)(r->o.stall_timeout_s ? r->o.stall_timeout_s : IMG_REG_DEFAULT_STALL_TIMEOUT_S));
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	bool verify = r->o.tls_verify && !q->no_verify;
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, verify ? 1L : 0L);
	curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, verify ? 2L : 0L);
	if (r->ca.len) {
		struct curl_blob blob = { .data = r->ca.data, .len = r->ca.len, .flags = CURL_BLOB_COPY };
		curl_easy_setopt(c, CURLOPT_CAINFO_BLOB, &blob);
	}
	const char *m = q->method;
	if (strcmp(m, "HEAD") == 0) {
		curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
	} else if (strcmp(m, "POST") == 0) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(m, "PUT") == 0 || strcmp(m, "PATCH") == 0) {
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, read_cb);
		curl_easy_setopt(c, CURLOPT_READDATA, &x);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)q->body_len);
	} else if (strcmp(m, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, m);
	}
	CURLcode cc = curl_easy_perform(c);
	curl_slist_free_all(h);
	if (ah) {
		explicit_bzero(ah, strlen(ah));
		free(ah);
	}
	if (x.blob)
		img_blob_close(x.blob);
	if (cc == CURLE_OK && begin_body(&x) < 0)
		cc = CURLE_WRITE_ERROR;
	if (x.err) {
		/* our own callback failed (sink, digest): that is the error */
		*err = x.err;
		return -1;
	}
	if (cc != CURLE_OK) {
		switch (cc) {
		case CURLE_COULDNT_CONNECT:
		case CURLE_PARTIAL_FILE:
		case CURLE_RECV_ERROR:
		case CURLE_SEND_ERROR:
		case CURLE_OPERATION_TIMEDOUT:
		case CURLE_GOT_NOTHING:
		case CURLE_HTTP2:
		case CURLE_HTTP2_STREAM:
			*retryable = true;
			break;
		default:
			break;
		}
		rs->curl_code = (int)cc;
		_cleanup_free_ char *hp = url_host(url);
		/* connected (a new or a reused connection) and the request
		 * sent: the timeout was the stall limit, not the connect one */
		double ct = 0;
		if (cc == CURLE_OPERATION_TIMEDOUT &&
		    curl_easy_getinfo(c, CURLINFO_PRETRANSFER_TIME, &ct) == CURLE_OK && ct > 0)
			return berr_set(err, BERR_NETWORK,
					"%s '%s': the registry stalled: no data for %u s", q->method,
					hp ? hp : "?",
					r->o.stall_timeout_s ? r->o.stall_timeout_s
							     : IMG_REG_DEFAULT_STALL_TIMEOUT_S);
		return berr_set(err, BERR_NETWORK, "%s '%s': %s", q->method, hp ? hp : "?",
				curl_easy_strerror(cc));
	}
	rs->status = cur_status(&x);
	return 0;
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static unsigned backoff(struct img_registry *r, unsigned attempt, const struct reg_resp *rs)
{
	uint64_t ms = (uint64_t)r->o.backoff_ms << (attempt < 16 ? attempt : 16);
	if (rs && rs->retry_after) {
		char *e;
		errno = 0;
		long s = strtol(rs->retry_after, &e, 10);
		if (!errno && *e == '\0' && s >= 0)
			ms = (uint64_t)s * 1000;
	}
	if (ms > IMG_REG_MAX_BACKOFF_MS)
		ms = IMG_REG_MAX_BACKOFF_MS;
	return (unsigned)ms;
}

/* ---------- auth ---------- */

static const struct img_cred *host_cred(struct img_registry *r, struct reg_host *h,
					struct berr **err)
{
	if (!h->cred_loaded) {
		if (r->o.cred_domain && strcmp(r->o.cred_domain, h->domain) == 0 && r->o.username) {
			h->cred.username = xstrdup(r->o.username);
			h->cred.password = dup_or_null(r->o.password);
		} else if (img_cred_lookup(r->o.docker_config, h->domain, &h->cred, err) < 0) {
			return NULL;
		}
		h->cred_loaded = true;
	}
	return &h->cred;
}

static char *basic_value(const char *user, const char *pass)
{
	_cleanup_free_ char *raw = xasprintf("%s:%s", user ? user : "", pass ? pass : "");
	size_t n = strlen(raw);
	char *out = xmalloc(4 * ((n + 2) / 3) + 8);
	memcpy(out, "Basic ", 6);
	EVP_EncodeBlock((unsigned char *)out + 6, (const unsigned char *)raw, (int)n);
	explicit_bzero(raw, n);
	return out;
}

static char *urlenc(CURL *c, const char *s)
{
	char *e = curl_easy_escape(c, s, 0);
	char *r = xstrdup(e ? e : "");
	curl_free(e);
	return r;
}

/* Registry error body -> "CODE: message" (bounded), or NULL. Never
 * includes request data. */
char *reg_error_text(const struct reg_resp *rs)
{
	if (!rs->errbody.len)
		return NULL;
	cJSON *root = cJSON_ParseWithLength(rs->errbody.data, rs->errbody.len);
	const cJSON *errs = cJSON_GetObjectItemCaseSensitive(root, "errors");
	char *out = NULL;
	const cJSON *e0 = cJSON_IsArray(errs) ? cJSON_GetArrayItem(errs, 0) : NULL;
	if (cJSON_IsObject(e0)) {
		const cJSON *code = cJSON_GetObjectItemCaseSensitive(e0, "code");
		const cJSON *msg = cJSON_GetObjectItemCaseSensitive(e0, "message");
		out = xasprintf("%s%s%.200s", cJSON_IsString(code) ? code->valuestring : "",
				cJSON_IsString(code) && cJSON_IsString(msg) ? ": " : "",
				cJSON_IsString(msg) ? msg->valuestring : "");
	}
	cJSON_Delete(root);
	return out;
}

static struct reg_token *tok_find(struct img_registry *r, const char *key)
{
	for (size_t i = 0; i < r->n_toks; i++)
		if (strcmp(r->toks[i].key, key) == 0)
			return &r->toks[i];
	return NULL;
}

static time_t now_mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec;
}

/* A one-shot request to the token endpoint (no registry auth logic). */
static int token_request(struct img_registry *r, struct reg_host *h, const char *scopes,
			 struct img_token *tok, struct berr **err)
{
	struct berr *cerr = NULL;
	const struct img_cred *cred = host_cred(r, h, &cerr);
	if (!cred) {
		*err = cerr;
		return -1;
	}
	_cleanup_free_ char *svc = urlenc(r->curl, h->service ? h->service : "");
	struct bbuf body = BBUF_INIT;
	struct reg_resp rs = { 0 };
	int rc = -1;
	bool retry;
	if (cred->identity_token) {
		/* OAuth2 refresh-token grant */
		_cleanup_free_ char *rt = urlenc(r->curl, cred->identity_token);
		_cleanup_free_ char *sc = urlenc(r->curl, scopes);
		struct bbuf form = BBUF_INIT;
		bbuf_addf(&form, NULL, "grant_type=refresh_token&refresh_token=%s&service=%s&client_id=berth"
			  "&access_type=offline%s%s", rt, svc, *scopes ? "&scope=" : "", *scopes ? sc : "");
		const char *hdrs[] = { "Content-Type: application/x-www-form-urlencoded" };
		struct reg_req q = { .method = "POST", .url = h->realm, .headers = hdrs, .n_headers = 1,
				     .body = form.data, .body_len = form.len, .out = &body };
		rc = perform(r, &q, h->realm, NULL, &rs, &retry, err);
		explicit_bzero(form.data, form.len);
		bbuf_release(&form);
		if (rc == 0 && rs.status == 200)
			goto parse;
		if (rc < 0)
			goto out;
		bbuf_reset(&body);
	}
	{
		struct bbuf url = BBUF_INIT;
		bbuf_addf(&url, NULL, "%s%sservice=%s", h->realm, strchr(h->realm, '?') ? "&" : "?", svc);
		const char *p = scopes;
		while (*p) {
			size_t n = strcspn(p, " ");
			_cleanup_free_ char *one = xstrndup(p, n);
			_cleanup_free_ char *enc = urlenc(r->curl, one);
			bbuf_addf(&url, NULL, "&scope=%s", enc);
			p += n;
			while (*p == ' ')
				p++;
		}
		_cleanup_free_ char *authz = NULL;
		if (cred->username && cred->password)
			authz = basic_value(cred->username, cred->password);
		struct reg_req q = { .method = "GET", .url = url.data, .out = &body };
		unsigned attempt = 0;
		for (;;) {
			rc = perform(r, &q, url.data, authz, &rs, &retry, err);
			bool again = (rc < 0 && retry) || (rc == 0 && (rs.status == 429 || rs.status >= 500));
			if (!again || attempt >= r->o.max_retries)
				break;
			if (rc < 0)
				berr_clear(err);
			reg_event(r, IMG_REG_EV_RETRY, h->realm, rc < 0 ? "network" : "status");
			sleep_ms(backoff(r, attempt++, &rs));
			bbuf_reset(&body);
		}
		if (authz)
			explicit_bzero(authz, strlen(authz));
		bbuf_release(&url);
		if (rc < 0)
			goto out;
	}
	if (rs.status != 200) {
		_cleanup_free_ char *t = reg_error_text(&rs);
		rc = berr_set(err, rs.status == 401 || rs.status == 403 ? BERR_FAILED : BERR_NETWORK,
			      "token endpoint for '%s' refused %s (HTTP %ld%s%s)", h->domain,
			      cred->username || cred->identity_token ? "the credentials" : "anonymous access",
			      rs.status, t ? ", " : "", t ? t : "");
		goto out;
	}
parse:
	rc = img_token_parse(body.data ? body.data : "", body.len, tok, err);
	if (rc < 0)
		berr_wrap(err, "token endpoint for '%s'", h->domain);
out:
	if (body.data)
		explicit_bzero(body.data, body.len);
	bbuf_release(&body);
	reg_resp_clear(&rs);
	return rc;
}

/* Authorization header value for a request to h with scopes, or NULL. */
static int auth_value(struct img_registry *r, struct reg_host *h, const struct img_scopes *sc,
		      char **out, struct berr **err)
{
	*out = NULL;
	if (h->auth == REG_AUTH_BASIC) {
		const struct img_cred *c = host_cred(r, h, err);
		if (!c)
			return -1;
		if (c->username || c->password)
			*out = basic_value(c->username, c->password);
		return 0;
	}
	if (h->auth != REG_AUTH_BEARER)
		return 0;
	const struct img_cred *c = host_cred(r, h, err);
	if (!c)
		return -1;
	if (c->registry_token) {
		*out = xasprintf("Bearer %s", c->registry_token);
		return 0;
	}
	_cleanup_free_ char *scopes = sc ? img_scopes_join(sc) : xstrdup("");
	_cleanup_free_ char *key = xasprintf("%s|%s|%s|%s", h->host, h->realm, h->service ? h->service : "",
					     scopes);
	struct reg_token *t = tok_find(r, key);
	if (!t || t->expires <= now_mono()) {
		struct img_token tok;
		if (token_request(r, h, scopes, &tok, err) < 0)
			return -1;
		if (!t) {
			r->toks = xreallocarray(r->toks, r->n_toks + 1, sizeof(*r->toks));
			t = &r->toks[r->n_toks++];
			t->key = steal_pointer(&key);
		} else if (t->token) {
			explicit_bzero(t->token, strlen(t->token));
			free(t->token);
		}
		t->token = steal_pointer(&tok.token);
		/* refresh a little early */
		t->expires = now_mono() + tok.expires_in - (tok.expires_in > 20 ? 10 : 0);
		img_token_clear(&tok);
	}
	*out = xasprintf("Bearer %s", t->token);
	return 0;
}

/* Forget the cached token for these scopes (the registry refused it). */
static void tok_drop(struct img_registry *r, struct reg_host *h, const struct img_scopes *sc)
{
	_cleanup_free_ char *scopes = sc ? img_scopes_join(sc) : xstrdup("");
	_cleanup_free_ char *key = xasprintf("%s|%s|%s|%s", h->host, h->realm ? h->realm : "",
					     h->service ? h->service : "", scopes);
	struct reg_token *t = tok_find(r, key);
	if (t)
		t->expires = 0;
}

/* Learn the auth scheme from a 401. Returns 0 if a retry makes sense. */
static int take_challenge(struct img_registry *r, struct reg_host *h, const struct reg_resp *rs,
			  struct img_scopes *sc, struct berr **err)
{
	struct img_auth_challenges ch = { 0 };
	for (size_t i = 0; i < rs->n_www; i++) {
		if (img_auth_parse(rs->www[i], &ch, err) < 0) {
			img_auth_challenges_clear(&ch);
			return berr_wrap(err, "registry '%s'", h->domain);
		}
	}
	const struct img_auth_challenge *b = img_auth_find(&ch, "bearer");
	int rc = 0;
	if (b) {
		const char *realm = img_auth_param(b, "realm");
		if (!realm || (strncmp(realm, "https://", 8) != 0 && strncmp(realm, "http://", 7) != 0)) {
			rc = berr_set(err, BERR_INPUT, "registry '%s': bearer challenge without an http(s) realm",
				      h->domain);
		} else {
			if (h->auth == REG_AUTH_BEARER)
				tok_drop(r, h, sc);
			h->auth = REG_AUTH_BEARER;
			free(h->realm);
			free(h->service);
			h->realm = xstrdup(realm);
			h->service = dup_or_null(img_auth_param(b, "service"));
			const char *scope = img_auth_param(b, "scope");
			if (scope && sc)
				img_scopes_add(sc, scope);
		}
	} else if (img_auth_find(&ch, "basic")) {
		h->auth = REG_AUTH_BASIC;
	} else {
		rc = berr_set(err, BERR_UNSUPPORTED, "registry '%s': no supported authentication scheme",
			      h->domain);
	}
	img_auth_challenges_clear(&ch);
	return rc;
}

/* ---------- requests with auth, retries, redirects ---------- */

static struct reg_host *host_get(struct img_registry *r, const char *domain, const char *host)
{
	for (size_t i = 0; i < r->n_hosts; i++)
		if (strcmp(r->hosts[i]->host, host) == 0)
			return r->hosts[i];
	r->hosts = xreallocarray(r->hosts, r->n_hosts + 1, sizeof(*r->hosts));
	struct reg_host *h = xcalloc(1, sizeof(*h));
	r->hosts[r->n_hosts++] = h;
	h->host = xstrdup(host);
	h->domain = xstrdup(domain);
	return h;
}

static bool replayable(const struct reg_req *q)
{
	return (!q->sink || q->resume_from) && !(q->stream && q->stream->started);
}

int reg_do(struct img_registry *r, struct reg_host *h, struct reg_req *q, struct reg_resp *rs,
	   struct berr **err)
{
	_cleanup_free_ char *url = xstrdup(q->url);
	unsigned attempt = 0, redirects = 0;
	bool reauthed = false;
	const char *orig_method = q->method;
	for (;;) {
		if (q->stream && q->stream->started)
			return berr_set(err, BERR_NETWORK, "%s: a streamed upload cannot be sent again "
					"(HTTP %ld)", q->method, rs->status);
		bool own = same_origin(url, h);
		_cleanup_free_ char *authz = NULL;
		if (own && auth_value(r, h, q->scopes, &authz, err) < 0)
			return -1;
		bool retry = false;
		int rc = perform(r, q, url, authz, rs, &retry, err);
		if (authz)
			explicit_bzero(authz, strlen(authz));
		if (rc < 0) {
			if (!retry || attempt >= r->o.max_retries || !replayable(q))
				return -1;
			berr_clear(err);
			reg_event(r, IMG_REG_EV_RETRY, q->url, "network error");
			sleep_ms(backoff(r, attempt++, NULL));
			continue;
		}
		if (rs->status == 401 && own && !reauthed) {
			reauthed = true;
			enum reg_auth before = h->auth;
			if (take_challenge(r, h, rs, q->scopes, err) < 0)
				return -1;
			/* Basic without credentials cannot succeed */
			if (h->auth == REG_AUTH_BASIC) {
				const struct img_cred *c = host_cred(r, h, err);
				if (!c)
					return -1;
				if (!c->username && !c->password)
					return 0;
				if (before == REG_AUTH_BASIC)
					return 0; /* credentials already sent */
			}
			continue;
		}
		if ((rs->status == 301 || rs->status == 302 || rs->status == 303 || rs->status == 307 ||
		     rs->status == 308) && rs->location) {
			if (++redirects > IMG_REG_MAX_REDIRECTS)
				return berr_set(err, BERR_NETWORK, "%s: more than %d redirects", q->method,
						IMG_REG_MAX_REDIRECTS);
			char *next = reg_resolve_url(url, rs->location);
			if (!next)
				return berr_set(err, BERR_NETWORK, "redirect to an invalid location");
			/* a registry asked for on this machine must not send us
			 * (and what we upload or trust) to another one */
			_cleanup_free_ char *from = url_host(url), *to = url_host(next);
			if (from && is_loopback(from) && (!to || !is_loopback(to))) {
				free(next);
				return berr_set(err, BERR_NETWORK,
						"%s '%s': redirect to '%s' refused: a loopback registry may only redirect to loopback addresses",
						q->method, from, to ? to : "?");
			}
			free(url);
			url = next;
			if (rs->status == 303)
				q->method = "GET";
			continue;
		}
		if ((rs->status == 429 || rs->status >= 500) && attempt < r->o.max_retries && replayable(q)) {
			char st[32];
			snprintf(st, sizeof(st), "HTTP %ld", rs->status);
			reg_event(r, IMG_REG_EV_RETRY, q->url, st);
			sleep_ms(backoff(r, attempt++, rs));
			q->method = orig_method;
			continue;
		}
		q->method = orig_method;
		return 0;
	}
}

/* First contact: scheme (https, or http where allowed) and auth kind. */
int reg_host_open(struct img_registry *r, const struct img_remote *rem, struct reg_host **out,
		  struct berr **err)
{
	struct reg_host *h = host_get(r, rem->domain, rem->host);
	if (h->base) {
		*out = h;
		return 0;
	}
	struct reg_resp rs = { 0 };
	bool plain_ok = plain_allowed(r, rem->host);
	_cleanup_free_ char *https = xasprintf("https://%s/v2/", rem->host);
	struct reg_req q = { .method = "GET", .url = https };
	bool retry;
	struct berr *e1 = NULL;
	int rc = -1;
	for (unsigned attempt = 0;; attempt++) {
		berr_clear(&e1);
		rc = perform(r, &q, https, NULL, &rs, &retry, &e1);
		bool again = (rc < 0 && retry && rs.curl_code != CURLE_COULDNT_CONNECT) ||
			     (rc == 0 && (rs.status == 429 || rs.status >= 500));
		if (!again || attempt >= r->o.max_retries)
			break;
		reg_event(r, IMG_REG_EV_RETRY, https, "ping");
		sleep_ms(backoff(r, attempt, &rs));
	}
	/* fall back to plain HTTP only when the server does not speak TLS,
	 * never because its certificate was refused */
	if (rc < 0 && plain_ok && rs.curl_code != CURLE_PEER_FAILED_VERIFICATION &&
	    rs.curl_code != CURLE_SSL_CACERT_BADFILE && rs.curl_code != CURLE_OPERATION_TIMEDOUT) {
		/* a plain-HTTP registry answers a TLS hello with garbage */
		_cleanup_free_ char *http = xasprintf("http://%s/v2/", rem->host);
		struct berr *e2 = NULL;
		q.url = http;
		for (unsigned attempt = 0;; attempt++) {
			berr_clear(&e2);
			rc = perform(r, &q, http, NULL, &rs, &retry, &e2);
			bool again = (rc < 0 && retry) || (rc == 0 && (rs.status == 429 || rs.status >= 500));
			if (!again || attempt >= r->o.max_retries)
				break;
			reg_event(r, IMG_REG_EV_RETRY, http, "ping");
			sleep_ms(backoff(r, attempt, &rs));
		}
		if (rc == 0) {
			berr_free(e1);
			e1 = NULL;
			h->base = xasprintf("http://%s", rem->host);
		} else {
			berr_free(e2);
		}
	} else if (rc == 0) {
		h->base = xasprintf("https://%s", rem->host);
	}
	if (rc < 0) {
		*err = e1;
		reg_resp_clear(&rs);
		return berr_wrap(err, "registry '%s'", rem->domain);
	}
	berr_free(e1);
	if (rs.status == 401) {
		rc = take_challenge(r, h, &rs, NULL, err);
	} else if (rs.status == 200) {
		h->auth = REG_AUTH_NONE;
	} else if (rs.status == 404) {
		rc = berr_set(err, BERR_UNSUPPORTED, "'%s' does not speak the registry API v2 (GET /v2/: 404)",
			      rem->host);
	} else {
		rc = berr_set(err, BERR_NETWORK, "registry '%s': GET /v2/ answered HTTP %ld", rem->host,
			      rs.status);
	}
	reg_resp_clear(&rs);
	if (rc < 0) {
		free(h->base);
		h->base = NULL;
		return -1;
	}
	*out = h;
	return 0;
}

int img_registry_ping(struct img_registry *r, const char *domain, struct berr **err)
{
	struct img_remote rem = { .domain = (char *)domain,
				  .host = (char *)(strcmp(domain, "docker.io") == 0 ? "registry-1.docker.io" : domain) };
	struct reg_host *h;
	return reg_host_open(r, &rem, &h, err);
}

/* Common error for an unexpected status. */
int reg_status_error(const struct reg_resp *rs, const char *what, const struct img_remote *rem,
		     struct berr **err)
{
	_cleanup_free_ char *t = reg_error_text(rs);
	int code = BERR_NETWORK;
	const char *hint = "";
	if (rs->status == 401) {
		code = BERR_FAILED;
		hint = ": authentication required or credentials rejected";
	} else if (rs->status == 403) {
		code = BERR_FAILED;
		hint = ": access denied";
	} else if (rs->status == 404) {
		code = BERR_NOTFOUND;
		hint = ": not found";
	}
	return berr_set(err, code, "%s in '%s/%s': HTTP %ld%s%s%s%s", what, rem->domain, rem->repo,
			rs->status, hint, t ? " (" : "", t ? t : "", t ? ")" : "");
}
