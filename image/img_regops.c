/* Registry operations over the content store: manifests, blobs, pull
 * (full and lazy), push (HEAD, mount, monolithic/chunked upload), source
 * records and multi-platform indexes. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_regauth.h"
#include "image/img_registry.h"
#include "image/img_registry_int.h"

#define IMG_REG_ACCEPT                                                                   \
	"Accept: " IMG_MT_OCI_INDEX ", " IMG_MT_OCI_MANIFEST ", " IMG_MT_DOCKER_LIST ", " \
	IMG_MT_DOCKER_MANIFEST
#define IMG_MT_DOCKER_SCHEMA1 "application/vnd.docker.distribution.manifest.v1"
#define IMG_SOURCES_DIR "berth-sources"
#define IMG_SOURCES_MAX (1u << 20)
#define IMG_REG_INDEX_DEPTH 4

static bool is_index_mt(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_INDEX) == 0 || strcmp(mt, IMG_MT_DOCKER_LIST) == 0);
}

static bool is_manifest_mt(const char *mt)
{
	return mt && (strcmp(mt, IMG_MT_OCI_MANIFEST) == 0 || strcmp(mt, IMG_MT_DOCKER_MANIFEST) == 0);
}

static char *repo_url(const struct reg_host *h, const struct img_remote *rem, const char *kind,
		      const char *what)
{
	return xasprintf("%s/v2/%s/%s/%s", h->base, rem->repo, kind, what);
}

/* ---------- source records ---------- */

static char *sources_path(struct img_store *s, const struct img_digest *d)
{
	return xasprintf("%s/" IMG_SOURCES_DIR "/%s", img_store_dir(s), img_digest_hex(d));
}

char **img_store_sources(struct img_store *s, const struct img_digest *d)
{
	_cleanup_free_ char *p = sources_path(s, d);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	char **v = xcalloc(1, sizeof(*v));
	size_t n = 0;
	struct berr *e = NULL;
	if (bfile_read_all(p, IMG_SOURCES_MAX, &b, &e) < 0) {
		berr_free(e);
		return v;
	}
	char *save = NULL;
	for (char *t = strtok_r(b.data, "\n", &save); t; t = strtok_r(NULL, "\n", &save)) {
		if (!*t || !strchr(t, '/'))
			continue;
		v = xreallocarray(v, n + 2, sizeof(*v));
		v[n++] = xstrdup(t);
		v[n] = NULL;
	}
	return v;
}

bool img_store_has_source(struct img_store *s, const struct img_digest *d)
{
	_cleanup_free_ char *p = sources_path(s, d);
	struct stat st;
	return stat(p, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0;
}

static void strv_free(char **v)
{
	for (size_t i = 0; v && v[i]; i++)
		free(v[i]);
	free(v);
}

int img_store_source_add(struct img_store *s, const struct img_digest *d, const char *domain,
			 const char *repo, struct berr **err)
{
	_cleanup_free_ char *line = xasprintf("%s/%s", domain, repo);
	char **have = img_store_sources(s, d);
	for (size_t i = 0; have[i]; i++) {
		if (strcmp(have[i], line) == 0) {
			strv_free(have);
			return 0;
		}
	}
	strv_free(have);
	_cleanup_free_ char *dir = xasprintf("%s/" IMG_SOURCES_DIR, img_store_dir(s));
	if (bfile_mkdir_p(dir, 0755, err) < 0)
		return -1;
	_cleanup_free_ char *p = sources_path(s, d);
	_cleanup_close_ int fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", p);
	_cleanup_free_ char *nl = xasprintf("%s\n", line);
	return bfd_write_all(fd, nl, strlen(nl), p, err);
}

static int remote_from_source(const char *src, struct img_remote *out)
{
	memset(out, 0, sizeof(*out));
	const char *slash = strchr(src, '/');
	if (!slash || slash == src || !slash[1])
		return -1;
	out->domain = xstrndup(src, (size_t)(slash - src));
	out->host = xstrdup(strcmp(out->domain, "docker.io") == 0 ? "registry-1.docker.io" : out->domain);
	out->repo = xstrdup(slash + 1);
	out->full = xstrdup(src);
	return 0;
}

/* ---------- manifests ---------- */

static char *strip_params(const char *ct)
{
	if (!ct)
		return NULL;
	size_t n = strcspn(ct, "; ");
	return xstrndup(ct, n);
}

int img_registry_get_manifest(struct img_registry *r, const struct img_remote *rem,
			      const char *what, struct bbuf *out, struct img_descriptor *desc,
			      struct berr **err)
{
	struct reg_host *h;
	if (reg_host_open(r, rem, &h, err) < 0)
		return -1;
	if (!what)
		what = rem->digest ? rem->digest : rem->tag ? rem->tag : "latest";
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull");
	_cleanup_free_ char *url = repo_url(h, rem, "manifests", what);
	const char *hdrs[] = { IMG_REG_ACCEPT };
	struct bbuf body = BBUF_INIT;
	body.limit = IMG_JSON_MAX;
	struct reg_req q = { .method = "GET", .url = url, .headers = hdrs, .n_headers = 1,
			     .scopes = &sc, .out = &body };
	struct reg_resp rs = { 0 };
	_cleanup_free_ char *ct = NULL;
	int rc = reg_do(r, h, &q, &rs, err);
	img_scopes_clear(&sc);
	_cleanup_free_ char *label = xasprintf("manifest '%s'", what);
	if (rc < 0) {
		berr_wrap(err, "%s of '%s/%s'", label, rem->domain, rem->repo);
		goto out;
	}
	if (rs.status != 200) {
		rc = reg_status_error(&rs, label, rem, err);
		goto out;
	}
	struct img_digest got;
	img_digest_bytes(body.data ? body.data : "", body.len, &got);
	if (strncmp(what, "sha256:", 7) == 0 && strcmp(got.s, what) != 0) {
		rc = berr_set(err, BERR_INTEGRITY, "%s from '%s/%s' has digest '%s'", label, rem->domain,
			      rem->repo, got.s);
		goto out;
	}
	if (rs.digest && strncmp(rs.digest, "sha256:", 7) == 0 && strcmp(rs.digest, got.s) != 0) {
		rc = berr_set(err, BERR_INTEGRITY,
			      "%s from '%s/%s': Docker-Content-Digest '%s' does not match the content ('%s')",
			      label, rem->domain, rem->repo, rs.digest, got.s);
		goto out;
	}
	ct = strip_params(rs.content_type);
	const char *kind = img_json_kind(body.data ? body.data : "", body.len);
	if (ct && strncmp(ct, IMG_MT_DOCKER_SCHEMA1, strlen(IMG_MT_DOCKER_SCHEMA1)) == 0) {
		rc = berr_set(err, BERR_UNSUPPORTED, "%s of '%s/%s' is a Docker schema 1 manifest (not supported)",
			      label, rem->domain, rem->repo);
		goto out;
	}
	const char *mt = NULL;
	if (is_index_mt(ct) || is_manifest_mt(ct))
		mt = ct;
	if (kind && mt && strcmp(kind, mt) != 0 && !(is_index_mt(kind) && is_index_mt(mt)) &&
	    !(is_manifest_mt(kind) && is_manifest_mt(mt))) {
		rc = berr_set(err, BERR_INPUT, "%s of '%s/%s': Content-Type '%s' but the document is '%s'",
			      label, rem->domain, rem->repo, mt, kind);
		goto out;
	}
	if (kind)
		mt = kind;
	if (!mt) {
		rc = berr_set(err, BERR_UNSUPPORTED, "%s of '%s/%s': unsupported media type '%s'", label,
			      rem->domain, rem->repo, ct ? ct : "(none)");
		goto out;
	}
	memset(desc, 0, sizeof(*desc));
	desc->media_type = xstrdup(mt);
	desc->digest = got;
	desc->size = (int64_t)body.len;
	bbuf_reset(out);
	if (bbuf_add(out, body.data ? body.data : "", body.len, err) < 0)
		rc = -1;
out:
	bbuf_release(&body);
	reg_resp_clear(&rs);
	return rc;
}

int img_registry_put_manifest(struct img_registry *r, const struct img_remote *rem,
			      const char *what, const char *media_type, const void *p, size_t n,
			      struct berr **err)
{
	struct reg_host *h;
	if (reg_host_open(r, rem, &h, err) < 0)
		return -1;
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull,push");
	_cleanup_free_ char *url = repo_url(h, rem, "manifests", what);
	_cleanup_free_ char *ct = xasprintf("Content-Type: %s", media_type);
	const char *hdrs[] = { ct };
	struct reg_req q = { .method = "PUT", .url = url, .headers = hdrs, .n_headers = 1,
			     .scopes = &sc, .body = p, .body_len = n };
	struct reg_resp rs = { 0 };
	int rc = reg_do(r, h, &q, &rs, err);
	img_scopes_clear(&sc);
	_cleanup_free_ char *label = xasprintf("put manifest '%s'", what);
	if (rc < 0) {
		berr_wrap(err, "%s", label);
	} else if (rs.status != 201 && rs.status != 200) {
		rc = reg_status_error(&rs, label, rem, err);
	} else {
		struct img_digest d;
		img_digest_bytes(p, n, &d);
		if (rs.digest && strncmp(rs.digest, "sha256:", 7) == 0 && strcmp(rs.digest, d.s) != 0)
			rc = berr_set(err, BERR_INTEGRITY, "%s: registry stored digest '%s', expected '%s'",
				      label, rs.digest, d.s);
		else
			reg_event(r, IMG_REG_EV_MANIFEST_PUSHED, what, d.s);
	}
	reg_resp_clear(&rs);
	return rc;
}

/* ---------- blobs ---------- */

/* actions: the token scope to use ("pull", or "pull,push" during a push
 * so that one token serves the whole push) */
static int blob_exists(struct img_registry *r, const struct img_remote *rem,
		       const struct img_digest *d, const char *actions, struct berr **err)
{
	struct reg_host *h;
	if (reg_host_open(r, rem, &h, err) < 0)
		return -1;
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, actions);
	_cleanup_free_ char *url = repo_url(h, rem, "blobs", d->s);
	struct reg_req q = { .method = "HEAD", .url = url, .scopes = &sc };
	struct reg_resp rs = { 0 };
	int rc = reg_do(r, h, &q, &rs, err);
	img_scopes_clear(&sc);
	if (rc == 0) {
		if (rs.status == 200)
			rc = 1;
		else if (rs.status == 404)
			rc = 0;
		else {
			_cleanup_free_ char *label = xasprintf("blob '%s'", d->s);
			rc = reg_status_error(&rs, label, rem, err);
		}
	}
	reg_resp_clear(&rs);
	return rc;
}

int img_registry_blob_exists(struct img_registry *r, const struct img_remote *rem,
			     const struct img_digest *d, struct berr **err)
{
	return blob_exists(r, rem, d, "pull", err);
}

struct fetch {
	struct img_store *s;
	const struct img_descriptor *d;
	struct img_blob_writer *w;
	struct bsink inner;
	int64_t written;
	struct berr *err;
};

static int fetch_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct fetch *f = ctx;
	if (f->d->size >= 0 && f->written + (int64_t)n > f->d->size)
		return berr_set(err, BERR_INTEGRITY, "blob '%s' is larger than its descriptor's size %lld",
				f->d->digest.s, (long long)f->d->size);
	if (bsink_write(&f->inner, p, n, err) < 0)
		return -1;
	f->written += (int64_t)n;
	return 0;
}

static int fetch_restart(struct fetch *f, struct berr **err)
{
	img_blob_writer_free(f->w);
	f->written = 0;
	f->w = img_blob_writer_new(f->s, err);
	if (!f->w)
		return -1;
	f->inner = img_blob_writer_sink(f->w);
	return 0;
}

static int fetch_begin(void *ctx, struct reg_resp *rs, struct berr **err)
{
	struct fetch *f = ctx;
	if (f->written == 0)
		return 0;
	if (rs->status == 206 && rs->content_range) {
		/* "bytes START-END/TOTAL" must continue where we stopped */
		long long start = -1;
		const char *p = rs->content_range;
		if (strncmp(p, "bytes ", 6) == 0) {
			char *e;
			errno = 0;
			start = strtoll(p + 6, &e, 10);
			if (errno || *e != '-')
				start = -1;
		}
		if (start == f->written)
			return 0;
	}
	return fetch_restart(f, err); /* the server sent the whole blob again */
}

int img_registry_fetch_blob(struct img_registry *r, const struct img_remote *rem,
			    struct img_store *s, const struct img_descriptor *d, struct berr **err)
{
	if (img_store_has_blob(s, &d->digest)) {
		reg_event(r, IMG_REG_EV_BLOB_PRESENT, d->digest.s, NULL);
		return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
	}
	struct reg_host *h;
	if (reg_host_open(r, rem, &h, err) < 0)
		return berr_wrap(err, "blob '%s' from '%s/%s'", d->digest.s, rem->domain, rem->repo);
	struct fetch f = { .s = s, .d = d };
	f.w = img_blob_writer_new(s, err);
	if (!f.w)
		return -1;
	f.inner = img_blob_writer_sink(f.w);
	struct bsink sink = { .write = fetch_write, .ctx = &f };
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull");
	_cleanup_free_ char *url = repo_url(h, rem, "blobs", d->digest.s);
	struct reg_req q = { .method = "GET", .url = url, .scopes = &sc, .sink = &sink,
			     .on_2xx = fetch_begin, .ctx = &f, .resume_from = &f.written };
	struct reg_resp rs = { 0 };
	int rc = reg_do(r, h, &q, &rs, err);
	img_scopes_clear(&sc);
	_cleanup_free_ char *label = xasprintf("blob '%s'", d->digest.s);
	if (rc < 0) {
		berr_wrap(err, "%s from '%s/%s'", label, rem->domain, rem->repo);
	} else if (rs.status != 200 && rs.status != 206) {
		rc = reg_status_error(&rs, label, rem, err);
	} else if (d->size >= 0 && f.written != d->size) {
		rc = berr_set(err, BERR_INTEGRITY, "%s from '%s/%s': got %lld bytes, expected %lld", label,
			      rem->domain, rem->repo, (long long)f.written, (long long)d->size);
	} else if (img_blob_writer_commit(f.w, &d->digest, NULL, NULL, err) < 0) {
		rc = berr_wrap(err, "%s from '%s/%s'", label, rem->domain, rem->repo);
	}
	img_blob_writer_free(f.w);
	reg_resp_clear(&rs);
	if (rc < 0)
		return -1;
	reg_event(r, IMG_REG_EV_BLOB_FETCHED, d->digest.s, NULL);
	return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
}

/* POST .../blobs/uploads/ (optionally mounting): 1 mounted, 0 upload
 * session at *loc, -1 error. */
static int start_upload(struct img_registry *r, struct reg_host *h, const struct img_remote *rem,
			const struct img_digest *d, const char *from, char **loc, struct berr **err)
{
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull,push");
	_cleanup_free_ char *url = NULL;
	if (from) {
		img_scopes_add_repo(&sc, from, "pull");
		url = xasprintf("%s/v2/%s/blobs/uploads/?mount=%s&from=%s", h->base, rem->repo, d->s, from);
	} else {
		url = xasprintf("%s/v2/%s/blobs/uploads/", h->base, rem->repo);
	}
	const char *hdrs[] = { "Content-Type:" }; /* no form type on an empty POST */
	struct reg_req q = { .method = "POST", .url = url, .headers = hdrs, .n_headers = 1,
			     .scopes = &sc, .body = "", .body_len = 0 };
	struct reg_resp rs = { 0 };
	int rc = reg_do(r, h, &q, &rs, err);
	img_scopes_clear(&sc);
	if (rc < 0) {
		berr_wrap(err, "start upload of '%s'", d->s);
	} else if (from && rs.status == 201) {
		rc = 1;
	} else if (rs.status == 202 && rs.location) {
		*loc = reg_resolve_url(url, rs.location);
		if (!*loc)
			rc = berr_set(err, BERR_NETWORK, "upload of '%s': invalid Location", d->s);
	} else {
		_cleanup_free_ char *label = xasprintf("start upload of '%s'", d->s);
		rc = reg_status_error(&rs, label, rem, err);
	}
	reg_resp_clear(&rs);
	return rc;
}

static char *with_digest(const char *loc, const struct img_digest *d)
{
	return xasprintf("%s%sdigest=%s", loc, strchr(loc, '?') ? "&" : "?", d->s);
}

static int upload_blob(struct img_registry *r, struct reg_host *h, const struct img_remote *rem,
		       struct img_store *s, const struct img_descriptor *d, char *loc,
		       struct berr **err)
{
	_cleanup_free_ char *location = loc;
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull,push");
	uint64_t size = (uint64_t)d->size;
	uint64_t chunk = r->o.chunk_size;
	const char *octet = "Content-Type: application/octet-stream";
	struct reg_resp rs = { 0 };
	int rc = 0;
	_cleanup_free_ char *label = xasprintf("upload of blob '%s'", d->digest.s);
	if (chunk > 0 && size > chunk) {
		for (uint64_t off = 0; off < size && rc == 0; off += chunk) {
			uint64_t len = size - off < chunk ? size - off : chunk;
			_cleanup_free_ char *cr = xasprintf("Content-Range: %llu-%llu",
							    (unsigned long long)off,
							    (unsigned long long)(off + len - 1));
			const char *hdrs[] = { octet, cr };
			struct reg_req q = { .method = "PATCH", .url = location, .headers = hdrs,
					     .n_headers = 2, .scopes = &sc, .body_store = s,
					     .body_desc = d, .body_off = off, .body_len = len };
			rc = reg_do(r, h, &q, &rs, err);
			if (rc < 0) {
				berr_wrap(err, "%s", label);
			} else if (rs.status != 202 || !rs.location) {
				rc = reg_status_error(&rs, label, rem, err);
			} else {
				char *next = reg_resolve_url(location, rs.location);
				if (!next) {
					rc = berr_set(err, BERR_NETWORK, "%s: invalid Location", label);
				} else {
					free(location);
					location = next;
				}
			}
			reg_resp_clear(&rs);
		}
		if (rc == 0) {
			_cleanup_free_ char *put = with_digest(location, &d->digest);
			const char *hdrs[] = { octet };
			struct reg_req q = { .method = "PUT", .url = put, .headers = hdrs, .n_headers = 1,
					     .scopes = &sc, .body = "", .body_len = 0 };
			rc = reg_do(r, h, &q, &rs, err);
			if (rc < 0)
				berr_wrap(err, "%s", label);
			else if (rs.status != 201 && rs.status != 204)
				rc = reg_status_error(&rs, label, rem, err);
		}
	} else {
		_cleanup_free_ char *put = with_digest(location, &d->digest);
		const char *hdrs[] = { octet };
		struct reg_req q = { .method = "PUT", .url = put, .headers = hdrs, .n_headers = 1,
				     .scopes = &sc, .body_store = s, .body_desc = d, .body_off = 0,
				     .body_len = size };
		rc = reg_do(r, h, &q, &rs, err);
		if (rc < 0)
			berr_wrap(err, "%s", label);
		else if (rs.status != 201 && rs.status != 204)
			rc = reg_status_error(&rs, label, rem, err);
	}
	if (rc == 0 && rs.digest && strncmp(rs.digest, "sha256:", 7) == 0 &&
	    strcmp(rs.digest, d->digest.s) != 0)
		rc = berr_set(err, BERR_INTEGRITY, "%s: registry computed digest '%s'", label, rs.digest);
	reg_resp_clear(&rs);
	img_scopes_clear(&sc);
	return rc;
}

/* Get a blob missing from the store from any recorded source. */
static int fetch_from_sources(struct img_registry *r, struct img_store *s,
			      const struct img_descriptor *d, struct berr **err)
{
	char **src = img_store_sources(s, &d->digest);
	int rc = -1;
	struct berr *last = NULL;
	for (size_t i = 0; src[i] && rc < 0; i++) {
		struct img_remote from;
		if (remote_from_source(src[i], &from) < 0)
			continue;
		berr_clear(&last);
		rc = img_registry_fetch_blob(r, &from, s, d, &last);
		img_remote_clear(&from);
	}
	strv_free(src);
	if (rc < 0) {
		if (last) {
			*err = last;
			return -1;
		}
		return berr_set(err, BERR_NOTFOUND,
				"blob '%s' is not in the local store and no registry is known to have it",
				d->digest.s);
	}
	return 0;
}

/* ---------- registry-to-registry copy (no local copy) ---------- */

/* The GET side runs on its own thread and client, writing the blob into a
 * socket pair; the PUT on the caller's client reads the other end. A
 * socket (send with MSG_NOSIGNAL), not a pipe: when the upload stops
 * early the writer gets EPIPE instead of SIGPIPE. */
struct copy_get {
	struct img_registry *w;
	const struct img_remote *from;
	const struct img_descriptor *d;
	int fd;
	int64_t written;
	struct berr *err;
};

static int copy_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	struct copy_get *g = ctx;
	if (g->d->size >= 0 && g->written + (int64_t)n > g->d->size)
		return berr_set(err, BERR_INTEGRITY, "blob '%s' is larger than its descriptor's size %lld",
				g->d->digest.s, (long long)g->d->size);
	const char *c = p;
	size_t left = n;
	while (left) {
		ssize_t k = send(g->fd, c, left, MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return berr_set_errno(err, BERR_IO, errno, "the upload of '%s' stopped",
					      g->d->digest.s);
		c += k;
		left -= (size_t)k;
	}
	g->written += (int64_t)n;
	return 0;
}

static int copy_begin(void *ctx, struct reg_resp *rs, struct berr **err)
{
	struct copy_get *g = ctx;
	if (g->written == 0)
		return 0;
	if (rs->status == 206 && rs->content_range) {
		char *e;
		const char *p = rs->content_range;
		errno = 0;
		long long start = strncmp(p, "bytes ", 6) == 0 ? strtoll(p + 6, &e, 10) : -1;
		if (!errno && start == g->written)
			return 0;
	}
	/* bytes already went out: a restart from 0 cannot be streamed */
	return berr_set(err, BERR_NETWORK, "blob '%s': the source registry cannot resume",
			g->d->digest.s);
}

static void *copy_get_main(void *arg)
{
	struct copy_get *g = arg;
	struct reg_host *h;
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, g->from->repo, "pull");
	if (reg_host_open(g->w, g->from, &h, &g->err) == 0) {
		struct bsink sink = { .write = copy_write, .ctx = g };
		_cleanup_free_ char *url = repo_url(h, g->from, "blobs", g->d->digest.s);
		struct reg_req q = { .method = "GET", .url = url, .scopes = &sc, .sink = &sink,
				     .on_2xx = copy_begin, .ctx = g, .resume_from = &g->written };
		struct reg_resp rs = { 0 };
		_cleanup_free_ char *label = xasprintf("blob '%s'", g->d->digest.s);
		if (reg_do(g->w, h, &q, &rs, &g->err) < 0)
			berr_wrap(&g->err, "%s from '%s/%s'", label, g->from->domain, g->from->repo);
		else if (rs.status != 200 && rs.status != 206)
			reg_status_error(&rs, label, g->from, &g->err);
		else if (g->d->size >= 0 && g->written != g->d->size)
			berr_set(&g->err, BERR_INTEGRITY, "%s from '%s/%s': got %lld bytes, expected %lld",
				 label, g->from->domain, g->from->repo, (long long)g->written,
				 (long long)g->d->size);
		reg_resp_clear(&rs);
	}
	img_scopes_clear(&sc);
	shutdown(g->fd, SHUT_WR); /* EOF for the reader */
	return NULL;
}

/* Upload d to rem from the registry repository `from` without storing it:
 * 0 done, -1 error (nothing was stored either way). `loc` is an upload
 * session (taken). */
static int stream_copy(struct img_registry *r, struct reg_host *h, const struct img_remote *rem,
		       const struct img_remote *from, const struct img_descriptor *d, char *loc,
		       struct berr **err)
{
	_cleanup_free_ char *location = loc;
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berr_set_errno(err, BERR_IO, errno, "socketpair");
	struct copy_get g = { .from = from, .d = d, .fd = sv[1] };
	if (reg_clone(r, &g.w, err) < 0) {
		close(sv[0]);
		close(sv[1]);
		return -1;
	}
	pthread_t t;
	if (pthread_create(&t, NULL, copy_get_main, &g) != 0) {
		img_registry_free(g.w);
		close(sv[0]);
		close(sv[1]);
		return berr_set(err, BERR_IO, "cannot start a thread");
	}
	struct reg_stream st = { .fd = sv[0], .left = (uint64_t)d->size, .h = img_hasher_new(),
				 .want = &d->digest };
	struct img_scopes sc = { 0 };
	img_scopes_add_repo(&sc, rem->repo, "pull,push");
	_cleanup_free_ char *put = with_digest(location, &d->digest);
	const char *hdrs[] = { "Content-Type: application/octet-stream" };
	struct reg_req q = { .method = "PUT", .url = put, .headers = hdrs, .n_headers = 1,
			     .scopes = &sc, .stream = &st, .body_len = (uint64_t)d->size };
	struct reg_resp rs = { 0 };
	_cleanup_free_ char *label = xasprintf("copy of blob '%s'", d->digest.s);
	struct berr *perr = NULL;
	int rc = reg_do(r, h, &q, &rs, &perr);
	if (rc == 0 && rs.status != 201 && rs.status != 204)
		rc = reg_status_error(&rs, label, rem, &perr);
	if (rc == 0 && rs.digest && strncmp(rs.digest, "sha256:", 7) == 0 &&
	    strcmp(rs.digest, d->digest.s) != 0)
		rc = berr_set(&perr, BERR_INTEGRITY, "%s: registry computed digest '%s'", label,
			      rs.digest);
	/* stop the GET side if the upload ended early */
	shutdown(sv[0], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	img_registry_free(g.w);
	img_hasher_free(st.h);
	img_scopes_clear(&sc);
	reg_resp_clear(&rs);
	if (rc < 0 || g.err) {
		/* the source's failure explains a broken upload best */
		if (g.err) {
			berr_free(perr);
			*err = g.err;
		} else {
			*err = perr;
		}
		return berr_wrap(err, "%s from '%s/%s'", label, from->domain, from->repo);
	}
	return 0;
}

int img_registry_push_blob(struct img_registry *r, const struct img_remote *rem,
			   struct img_store *s, const struct img_descriptor *d, struct berr **err)
{
	if (img_descriptor_is_foreign(d)) {
		reg_event(r, IMG_REG_EV_BLOB_SKIPPED, d->digest.s, "foreign layer");
		return 0;
	}
	struct reg_host *h;
	if (reg_host_open(r, rem, &h, err) < 0)
		return -1;
	int ex = blob_exists(r, rem, &d->digest, "pull,push", err);
	if (ex < 0)
		return -1;
	if (ex == 1) {
		reg_event(r, IMG_REG_EV_BLOB_EXISTS, d->digest.s, NULL);
		return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
	}
	char *loc = NULL;
	char **src = img_store_sources(s, &d->digest);
	for (size_t i = 0; src[i] && !loc; i++) {
		struct img_remote from;
		if (remote_from_source(src[i], &from) < 0)
			continue;
		if (strcmp(from.domain, rem->domain) == 0 && strcmp(from.repo, rem->repo) != 0) {
			int m = start_upload(r, h, rem, &d->digest, from.repo, &loc, err);
			if (m < 0) {
				img_remote_clear(&from);
				strv_free(src);
				return -1;
			}
			if (m == 1) {
				reg_event(r, IMG_REG_EV_BLOB_MOUNTED, d->digest.s, from.repo);
				img_remote_clear(&from);
				strv_free(src);
				return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
			}
		}
		img_remote_clear(&from);
	}
	strv_free(src);
	if (!img_store_has_blob(s, &d->digest) && d->size > 0) {
		/* a lazy layer from another registry: copy it registry-to-registry
		 * without storing it; when that fails (source gone, no resume),
		 * fall back to fetching it into the store */
		src = img_store_sources(s, &d->digest);
		for (size_t i = 0; src[i]; i++) {
			struct img_remote from;
			if (remote_from_source(src[i], &from) < 0)
				continue;
			if (!loc && start_upload(r, h, rem, &d->digest, NULL, &loc, err) < 0) {
				img_remote_clear(&from);
				strv_free(src);
				return -1;
			}
			struct berr *se = NULL;
			int k = stream_copy(r, h, rem, &from, d, steal_pointer(&loc), &se);
			if (k == 0) {
				reg_event(r, IMG_REG_EV_BLOB_PUSHED, d->digest.s, src[i]);
				img_remote_clear(&from);
				strv_free(src);
				return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
			}
			bool bad = se->code == BERR_INTEGRITY;
			img_remote_clear(&from);
			if (bad) {
				strv_free(src);
				*err = se;
				return -1;
			}
			berr_free(se);
		}
		strv_free(src);
	}
	if (!img_store_has_blob(s, &d->digest) && fetch_from_sources(r, s, d, err) < 0) {
		free(loc);
		return -1;
	}
	if (!loc && start_upload(r, h, rem, &d->digest, NULL, &loc, err) < 0)
		return -1;
	if (upload_blob(r, h, rem, s, d, loc, err) < 0)
		return -1;
	reg_event(r, IMG_REG_EV_BLOB_PUSHED, d->digest.s, NULL);
	return img_store_source_add(s, &d->digest, rem->domain, rem->repo, err);
}

/* ---------- push ---------- */

static int push_layers(struct img_registry *r, struct img_store *s, const struct img_remote *rem,
		       const struct img_descriptor *layers, size_t n, struct berr **err);

static int push_node(struct img_registry *r, struct img_store *s, const struct img_descriptor *desc,
		     const struct img_remote *rem, const char *target, int depth, struct berr **err)
{
	if (depth > IMG_REG_INDEX_DEPTH)
		return berr_set(err, BERR_LIMIT, "indexes nested deeper than %d", IMG_REG_INDEX_DEPTH);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (img_store_read_blob(s, &desc->digest, desc->size, IMG_JSON_MAX, &b, err) < 0)
		return -1;
	const char *mt = desc->media_type;
	if (!is_index_mt(mt) && !is_manifest_mt(mt))
		mt = img_json_kind(b.data, b.len);
	_cleanup_free_ char *what = xasprintf("manifest '%s'", desc->digest.s);
	if (is_index_mt(mt)) {
		_cleanup_img_index_ struct img_index *x = NULL;
		if (img_index_parse(b.data, b.len, what, &x, err) < 0)
			return -1;
		for (size_t i = 0; i < x->n_manifests; i++) {
			const struct img_descriptor *c = &x->manifests[i];
			if (img_store_has_blob(s, &c->digest)) {
				if (push_node(r, s, c, rem, c->digest.s, depth + 1, err) < 0)
					return -1;
				continue;
			}
			/* not here: fine if the target repository already has it */
			_cleanup_bbuf_ struct bbuf tmp = BBUF_INIT;
			struct img_descriptor got;
			struct berr *e2 = NULL;
			if (img_registry_get_manifest(r, rem, c->digest.s, &tmp, &got, &e2) < 0) {
				berr_free(e2);
				return berr_set(err, BERR_NOTFOUND,
						"%s: entry %zu ('%s') is neither in the local store nor in '%s/%s'",
						what, i, c->digest.s, rem->domain, rem->repo);
			}
			img_descriptor_clear(&got);
		}
	} else if (is_manifest_mt(mt)) {
		_cleanup_img_manifest_ struct img_manifest *m = NULL;
		if (img_manifest_parse(b.data, b.len, what, &m, err) < 0)
			return -1;
		if (img_registry_push_blob(r, rem, s, &m->config, err) < 0)
			return berr_wrap(err, "%s: config", what);
		/* layers in parallel (o.parallel clients), reported in order */
		if (push_layers(r, s, rem, m->layers, m->n_layers, err) < 0)
			return berr_wrap(err, "%s", what);
	} else {
		return berr_set(err, BERR_UNSUPPORTED, "%s: media type '%s' cannot be pushed", what,
				desc->media_type ? desc->media_type : "(none)");
	}
	return img_registry_put_manifest(r, rem, target, mt, b.data, b.len, err);
}

int img_registry_push(struct img_registry *r, struct img_store *s, const struct img_descriptor *desc,
		      const struct img_remote *rem, struct berr **err)
{
	if (rem->digest && strcmp(rem->digest, desc->digest.s) != 0)
		return berr_set(err, BERR_INPUT, "cannot push '%s' as '%s': the digests differ",
				desc->digest.s, rem->full);
	const char *target = rem->tag ? rem->tag : desc->digest.s;
	return push_node(r, s, desc, rem, target, 0, err);
}

/* ---------- pull ---------- */

static int fetch_json_blob(struct img_registry *r, const struct img_remote *rem, struct img_store *s,
			   const struct img_descriptor *d, char **out, size_t *len, struct berr **err)
{
	if (d->size < 0 || (uint64_t)d->size > IMG_JSON_MAX)
		return berr_set(err, BERR_LIMIT, "config '%s' is larger than %u bytes", d->digest.s,
				IMG_JSON_MAX);
	if (img_registry_fetch_blob(r, rem, s, d, err) < 0)
		return -1;
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	if (img_store_read_blob(s, &d->digest, d->size, IMG_JSON_MAX, &b, err) < 0)
		return -1;
	*out = bbuf_detach(&b, len);
	return 0;
}

/* ---------- layer downloads, several at once ----------
 * Each worker thread has its own client (reg_clone: same hosts and tokens,
 * its own connection); the store is safe for concurrent blob writers.
 * Progress events for the layers are emitted by the caller in layer order
 * once all are done, so output does not depend on timing; retries and
 * warnings are forwarded as they happen. */

enum job_state { JOB_FOREIGN, JOB_PRESENT, JOB_TODO, JOB_DONE, JOB_FAILED };

struct fetch_job {
	const struct img_descriptor *d;
	enum job_state state;
	struct berr *err;
	/* push: the blob's outcome event, reported in order afterwards */
	bool has_ev;
	enum img_reg_event ev;
	char *detail;
};

struct fetch_pool {
	struct img_store *s;
	const struct img_remote *rem;  /* NULL: use the recorded sources */
	const struct img_remote *push_to; /* set: the jobs push into this repository */
	struct fetch_job *jobs;
	size_t n, next;
	bool failed;
	pthread_mutex_t mu;
	/* the caller's progress callback, restored afterwards */
	void (*event)(void *ctx, enum img_reg_event ev, const char *what, const char *detail);
	void *event_ctx;
};

static void pool_event(void *ctx, enum img_reg_event ev, const char *what, const char *detail)
{
	struct fetch_pool *p = ctx;
	if (p->push_to && (ev == IMG_REG_EV_BLOB_EXISTS || ev == IMG_REG_EV_BLOB_MOUNTED ||
			   ev == IMG_REG_EV_BLOB_PUSHED || ev == IMG_REG_EV_BLOB_SKIPPED)) {
		pthread_mutex_lock(&p->mu);
		for (size_t i = 0; i < p->n; i++) {
			struct fetch_job *j = &p->jobs[i];
			if (!j->has_ev && what && strcmp(j->d->digest.s, what) == 0) {
				j->has_ev = true;
				j->ev = ev;
				j->detail = detail ? xstrdup(detail) : NULL;
				break;
			}
		}
		pthread_mutex_unlock(&p->mu);
		return;
	}
	if (ev != IMG_REG_EV_RETRY && ev != IMG_REG_EV_WARNING)
		return;
	if (!p->event)
		return;
	pthread_mutex_lock(&p->mu);
	p->event(p->event_ctx, ev, what, detail);
	pthread_mutex_unlock(&p->mu);
}

static void pool_run(struct fetch_pool *p, struct img_registry *w)
{
	for (;;) {
		pthread_mutex_lock(&p->mu);
		while (p->next < p->n && p->jobs[p->next].state != JOB_TODO)
			p->next++;
		size_t i = p->next < p->n && !p->failed ? p->next++ : p->n;
		pthread_mutex_unlock(&p->mu);
		if (i >= p->n)
			return;
		struct fetch_job *j = &p->jobs[i];
		int rc = p->push_to ? img_registry_push_blob(w, p->push_to, p->s, j->d, &j->err)
			 : p->rem   ? img_registry_fetch_blob(w, p->rem, p->s, j->d, &j->err)
				    : fetch_from_sources(w, p->s, j->d, &j->err);
		pthread_mutex_lock(&p->mu);
		j->state = rc < 0 ? JOB_FAILED : JOB_DONE;
		if (rc < 0)
			p->failed = true;
		pthread_mutex_unlock(&p->mu);
	}
}

struct worker {
	struct fetch_pool *p;
	struct img_registry *w;
	pthread_t t;
	bool started;
};

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	pool_run(wk->p, wk->w);
	return NULL;
}

/* Fetch (push_to NULL) or push blobs with up to o.parallel clients. */
static int run_pool(struct img_registry *r, struct img_store *s, const struct img_remote *rem,
		    const struct img_remote *push_to, const struct img_descriptor *layers, size_t n,
		    struct berr **err)
{
	struct fetch_pool p = { .s = s, .rem = rem, .push_to = push_to, .n = n };
	p.jobs = xcalloc(n + 1, sizeof(*p.jobs));
	pthread_mutex_init(&p.mu, NULL);
	size_t todo = 0;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		p.jobs[i].d = &layers[i];
		if (push_to) {
			p.jobs[i].state = JOB_TODO;
			todo++;
		} else if (img_descriptor_is_foreign(&layers[i]))
			p.jobs[i].state = JOB_FOREIGN;
		else if (img_store_has_blob(s, &layers[i].digest))
			p.jobs[i].state = JOB_PRESENT;
		else {
			p.jobs[i].state = JOB_TODO;
			todo++;
		}
	}
	unsigned par = r->o.parallel ? r->o.parallel : IMG_REG_DEFAULT_PARALLEL;
	if (par > IMG_REG_MAX_PARALLEL)
		par = IMG_REG_MAX_PARALLEL;
	if (par > todo)
		par = (unsigned)todo;
	/* the caller's thread works too, with its own client */
	p.event = r->o.event;
	p.event_ctx = r->o.event_ctx;
	r->o.event = pool_event;
	r->o.event_ctx = &p;
	struct worker *wk = xcalloc(par + 1, sizeof(*wk));
	for (unsigned i = 1; i < par; i++) {
		wk[i].p = &p;
		struct berr *e2 = NULL;
		if (reg_clone(r, &wk[i].w, &e2) < 0) {
			berr_free(e2); /* fewer workers, not an error */
			continue;
		}
		if (pthread_create(&wk[i].t, NULL, worker_main, &wk[i]) == 0)
			wk[i].started = true;
	}
	if (todo)
		pool_run(&p, r);
	for (unsigned i = 1; i < par; i++) {
		if (wk[i].started)
			pthread_join(wk[i].t, NULL);
		img_registry_free(wk[i].w);
	}
	free(wk);
	r->o.event = p.event;
	r->o.event_ctx = p.event_ctx;
	for (size_t i = 0; i < n; i++) {
		struct fetch_job *j = &p.jobs[i];
		if (rc == 0 && j->state == JOB_FAILED) {
			*err = steal_pointer(&j->err);
			rc = berr_wrap(err, "layer %zu", i);
		}
		berr_free(j->err);
		if (rc == 0 && push_to && j->state == JOB_DONE && j->has_ev)
			reg_event(r, j->ev, j->d->digest.s, j->detail);
		free(j->detail);
		if (rc < 0 || push_to)
			continue;
		if (j->state == JOB_FOREIGN)
			reg_event(r, IMG_REG_EV_BLOB_FOREIGN, j->d->digest.s, NULL);
		else if (j->state == JOB_PRESENT)
			reg_event(r, IMG_REG_EV_BLOB_PRESENT, j->d->digest.s, NULL);
		else if (j->state == JOB_DONE)
			reg_event(r, IMG_REG_EV_BLOB_FETCHED, j->d->digest.s, NULL);
		else if (rc == 0 && j->state == JOB_TODO) /* not run: an earlier job failed */
			rc = berr_set(err, BERR_INTERNAL, "layer %zu was not fetched", i);
	}
	pthread_mutex_destroy(&p.mu);
	free(p.jobs);
	return rc;
}

static int push_layers(struct img_registry *r, struct img_store *s, const struct img_remote *rem,
		       const struct img_descriptor *layers, size_t n, struct berr **err)
{
	return run_pool(r, s, NULL, rem, layers, n, err);
}

static int fetch_layers(struct img_registry *r, struct img_store *s, const struct img_remote *rem,
			const struct img_descriptor *layers, size_t n, struct berr **err)
{
	return run_pool(r, s, rem, NULL, layers, n, err);
}

int img_registry_fetch_layers(struct img_registry *r, struct img_image *img, long n_layers,
			      struct berr **err)
{
	const struct img_manifest *m = img->manifest;
	size_t n = n_layers < 0 || (size_t)n_layers > m->n_layers ? m->n_layers : (size_t)n_layers;
	return fetch_layers(r, img->store, NULL, m->layers, n, err);
}

int img_image_fetch_remote(struct img_registry *r, struct img_image *img, struct berr **err)
{
	if (!img->n_remote)
		return 0;
	if (img_registry_fetch_layers(r, img, -1, err) < 0)
		return berr_wrap(err, "lazy layers");
	img->n_remote = 0;
	return 0;
}

char *img_image_remote_source(struct img_image *img)
{
	const struct img_manifest *m = img->manifest;
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		if (img_descriptor_is_foreign(l) || img_store_has_blob(img->store, &l->digest))
			continue;
		char **src = img_store_sources(img->store, &l->digest);
		char *first = src[0] ? xstrdup(src[0]) : NULL;
		strv_free(src);
		if (first)
			return first;
	}
	return NULL;
}

int img_registry_fetch_blobs(struct img_registry *r, struct img_store *s,
			     const struct img_descriptor *descs, size_t n, struct berr **err)
{
	return fetch_layers(r, s, NULL, descs, n, err);
}

int img_registry_pull(struct img_registry *r, const char *ref, const struct img_platform *want,
		      struct img_store *s, enum img_pull_mode mode, struct img_image **out,
		      struct berr **err)
{
	struct img_remote rem;
	if (img_remote_parse(ref, &rem, err) < 0)
		return -1;
	struct img_image *img = xcalloc(1, sizeof(*img));
	img->store = s;
	img->name = xstrdup(rem.full);
	_cleanup_bbuf_ struct bbuf b = BBUF_INIT;
	struct img_descriptor d = { 0 };
	int rc = -1;
	_cleanup_free_ char *what = NULL, *cwhat = NULL;
	if (img_registry_get_manifest(r, &rem, NULL, &b, &d, err) < 0)
		goto out;
	bool from_index = false;
	for (int depth = 0;; depth++) {
		struct img_digest stored;
		if (img_store_put_blob(s, b.data, b.len, &stored, err) < 0 ||
		    img_store_source_add(s, &d.digest, rem.domain, rem.repo, err) < 0)
			goto out;
		if (!is_index_mt(d.media_type))
			break;
		if (depth >= IMG_REG_INDEX_DEPTH) {
			berr_set(err, BERR_LIMIT, "indexes nested deeper than %d", IMG_REG_INDEX_DEPTH);
			goto out;
		}
		_cleanup_free_ char *iwhat = xasprintf("index '%s' of '%s'", d.digest.s, rem.full);
		_cleanup_img_index_ struct img_index *x = NULL;
		if (img_index_parse(b.data, b.len, iwhat, &x, err) < 0)
			goto out;
		long i = img_index_select(x, want, iwhat, err);
		if (i < 0)
			goto out;
		if (!from_index)
			img_descriptor_copy(&img->index_desc, &d);
		from_index = true;
		struct img_descriptor entry;
		img_descriptor_copy(&entry, &x->manifests[i]);
		img_descriptor_clear(&d);
		if (img_registry_get_manifest(r, &rem, entry.digest.s, &b, &d, err) < 0) {
			img_descriptor_clear(&entry);
			goto out;
		}
		if (entry.size != d.size) {
			berr_set(err, BERR_INTEGRITY, "%s: entry '%s' has size %lld but the manifest is %lld bytes",
				 iwhat, entry.digest.s, (long long)entry.size, (long long)d.size);
			img_descriptor_clear(&entry);
			goto out;
		}
		/* keep the entry's descriptor (platform, annotations) */
		img_descriptor_clear(&d);
		d = entry;
		if (!is_index_mt(d.media_type) && !is_manifest_mt(d.media_type)) {
			free(d.media_type);
			d.media_type = xstrdup(img_json_kind(b.data, b.len) ? img_json_kind(b.data, b.len)
									    : IMG_MT_OCI_MANIFEST);
		}
	}
	if (!is_manifest_mt(d.media_type)) {
		berr_set(err, BERR_UNSUPPORTED, "'%s' is not an image (media type '%s')", rem.full,
			 d.media_type);
		goto out;
	}
	what = xasprintf("manifest '%s'", d.digest.s);
	if (img_manifest_parse(b.data, b.len, what, &img->manifest, err) < 0)
		goto out;
	img_descriptor_copy(&img->desc, &d);
	img->manifest_json = bbuf_detach(&b, &img->manifest_len);
	img->docker_manifest = strcmp(d.media_type, IMG_MT_DOCKER_MANIFEST) == 0;
	const struct img_manifest *m = img->manifest;
	if (fetch_json_blob(r, &rem, s, &m->config, &img->config_json, &img->config_len, err) < 0) {
		berr_wrap(err, "%s", what);
		goto out;
	}
	cwhat = xasprintf("config '%s'", m->config.digest.s);
	if (img_config_parse(img->config_json, img->config_len, cwhat, &img->config, err) < 0)
		goto out;
	if (img->config->n_diff_ids != m->n_layers) {
		berr_set(err, BERR_INPUT, "%s has %zu layers but its config has %zu diff_ids", what,
			 m->n_layers, img->config->n_diff_ids);
		goto out;
	}
	const struct img_platform *cp = &img->config->platform;
	if (want && !from_index && want->os && cp->os &&
	    (strcmp(want->os, cp->os) != 0 ||
	     (want->architecture && cp->architecture && strcmp(want->architecture, cp->architecture) != 0))) {
		_cleanup_free_ char *w = img_platform_format(want), *have = img_platform_format(cp);
		berr_set(err, BERR_NOTFOUND, "'%s' is a %s image, not %s", rem.full, have, w);
		goto out;
	}
	for (size_t i = 0; i < m->n_layers; i++) {
		const struct img_descriptor *l = &m->layers[i];
		if (l->size == 0) {
			berr_set(err, BERR_INPUT, "%s: layer %zu ('%s') is empty (0 bytes), not a tar archive",
				 what, i, l->digest.s);
			goto out;
		}
		/* record where every layer lives, fetched or not (lazy, mount) */
		if (!img_descriptor_is_foreign(l) &&
		    img_store_source_add(s, &l->digest, rem.domain, rem.repo, err) < 0)
			goto out;
	}
	if (mode == IMG_PULL_FULL && fetch_layers(r, s, &rem, m->layers, m->n_layers, err) < 0)
		goto out;
	rc = 0;
out:
	img_descriptor_clear(&d);
	img_remote_clear(&rem);
	if (rc < 0) {
		img_image_free(img);
		return -1;
	}
	*out = img;
	return 0;
}

/* ---------- indexes ---------- */

static bool platform_same(const struct img_platform *a, const struct img_platform *b)
{
#define SEQ(x, y) ((x) == (y) || ((x) && (y) && strcmp((x), (y)) == 0))
	return a && b && SEQ(a->os, b->os) && SEQ(a->architecture, b->architecture) &&
	       SEQ(a->variant, b->variant) && SEQ(a->os_version, b->os_version);
#undef SEQ
}

static bool is_windows(const struct img_descriptor *d)
{
	return d->platform && d->platform->os && strcmp(d->platform->os, "windows") == 0;
}

static int entry_cmp(const void *pa, const void *pb)
{
	const struct img_descriptor *a = pa, *b = pb;
	bool wa = is_windows(a), wb = is_windows(b);
	if (wa != wb)
		return wa ? 1 : -1;
	if (!wa)
		return 0; /* stable order kept by the caller's insertion sort */
	unsigned long va[4], vb[4];
	img_os_version_parse(a->platform->os_version, va);
	img_os_version_parse(b->platform->os_version, vb);
	for (int i = 0; i < 4; i++)
		if (va[i] != vb[i])
			return va[i] > vb[i] ? -1 : 1;
	return strcmp(a->platform->architecture ? a->platform->architecture : "",
		      b->platform->architecture ? b->platform->architecture : "");
}

int img_index_build(const struct img_image *const *imgs, size_t n, const struct img_index *amend,
		    struct img_index **out, struct berr **err)
{
	struct img_index *x = img_index_new();
	bool docker = n > 0;
	for (size_t i = 0; i < n; i++)
		docker &= imgs[i]->docker_manifest;
	if (amend) {
		docker = amend->media_type && strcmp(amend->media_type, IMG_MT_DOCKER_LIST) == 0 &&
			 (docker || n == 0);
		for (size_t i = 0; i < amend->n_manifests; i++)
			img_index_add(x, &amend->manifests[i]);
		img_kvmap_copy(&x->annotations, &amend->annotations);
	}
	x->media_type = xstrdup(docker ? IMG_MT_DOCKER_LIST : IMG_MT_OCI_INDEX);
	for (size_t i = 0; i < n; i++) {
		const struct img_image *img = imgs[i];
		const struct img_platform *cp = &img->config->platform;
		if (!cp->os || !cp->architecture) {
			img_index_free(x);
			return berr_set(err, BERR_INPUT, "image '%s': config has no os/architecture",
					img->name ? img->name : img->desc.digest.s);
		}
		struct img_descriptor e = { 0 };
		e.media_type = xstrdup(img->docker_manifest ? IMG_MT_DOCKER_MANIFEST : IMG_MT_OCI_MANIFEST);
		e.digest = img->desc.digest;
		e.size = img->desc.size;
		e.platform = xcalloc(1, sizeof(*e.platform));
		img_platform_copy(e.platform, cp);
		/* replace an entry of the same digest or the same platform */
		for (size_t j = 0; j < x->n_manifests;) {
			const struct img_descriptor *o = &x->manifests[j];
			if (img_digest_equal(&o->digest, &e.digest) || platform_same(o->platform, e.platform))
				img_index_remove_at(x, j);
			else
				j++;
		}
		img_index_add(x, &e);
		img_descriptor_clear(&e);
	}
	/* stable insertion sort: few entries, keeps non-Windows input order */
	for (size_t i = 1; i < x->n_manifests; i++) {
		for (size_t j = i; j > 0 && entry_cmp(&x->manifests[j - 1], &x->manifests[j]) > 0; j--) {
			struct img_descriptor t = x->manifests[j];
			x->manifests[j] = x->manifests[j - 1];
			x->manifests[j - 1] = t;
		}
	}
	*out = x;
	return 0;
}
