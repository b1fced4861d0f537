/* RUN on a Docker Engine: parent chain, container, output, commit, layer. */
#include <cjson/cJSON.h>
#include "common/barchive.h"
#include "common/bcurl.h"
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/common.h"
#include "builder/bld_engine.h"
#include "builder/bld_engine_int.h"

/* Copy buffer for layer files. */
#define COPY_CHUNK (128 * 1024)
/* manifest.json of an export is small */
#define EXPORT_JSON_MAX (4u << 20)
/* How often the attach loop looks at the cancel flag (ms). */
#define POLL_MS 100

void bld_engine_run_result_clear(struct bld_engine_run_result *r)
{
	if (!r)
		return;
	free(r->layer_path);
	free(r->engine_url);
	free(r->host_build);
	free(r->isolation);
	free(r->comment);
	memset(r, 0, sizeof(*r));
}

/* --- demultiplexer --- */

void bld_engine_demux_init(struct bld_engine_demux *d, bld_engine_output_fn out, void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->ctx = ctx;
}

int bld_engine_demux_feed(struct bld_engine_demux *d, const void *p, size_t n, struct berr **err)
{
	const unsigned char *c = p;
	while (n) {
		if (d->left == 0) {
			size_t take = 8 - d->hlen < n ? 8 - d->hlen : n;
			memcpy(d->hdr + d->hlen, c, take);
			d->hlen += take;
			c += take;
			n -= take;
			if (d->hlen < 8)
				return 0;
			d->hlen = 0;
			if (d->hdr[0] > 3 || d->hdr[1] || d->hdr[2] || d->hdr[3])
				return berr_set(err, BERR_INPUT, "engine output stream: bad frame header "
						"(stream %u); was the container created with a TTY?", d->hdr[0]);
			d->stream = d->hdr[0];
			d->left = (uint32_t)d->hdr[4] << 24 | (uint32_t)d->hdr[5] << 16 |
				  (uint32_t)d->hdr[6] << 8 | d->hdr[7];
			continue;
		}
		size_t take = d->left < n ? d->left : n;
		/* stream 0 (stdin) never carries output; 3 is the engine's own
		 * system error text: both go to stderr */
		int s = d->stream == 1 ? 1 : 2;
		if (d->out && d->out(d->ctx, s, c, take, err) < 0)
			return -1;
		d->left -= (uint32_t)take;
		c += take;
		n -= take;
	}
	return 0;
}

bool bld_engine_demux_clean_end(const struct bld_engine_demux *d)
{
	return d->hlen == 0 && d->left == 0;
}

/* --- helpers --- */

static const char *tmp_dir(const char *given)
{
	if (given && *given)
		return given;
	const char *t = getenv("TMPDIR");
	return t && *t ? t : "/tmp";
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char b[16];
	if (nbytes > sizeof(b))
		nbytes = sizeof(b);
	if (getrandom(b, nbytes, 0) != (ssize_t)nbytes) {
		/* names need to be unlikely to collide, not secret */
		uint64_t x = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull ^ (uint64_t)(uintptr_t)out;
		for (size_t i = 0; i < nbytes; i++)
			b[i] = (unsigned char)(x >> (8 * (i % 8)));
	}
	for (size_t i = 0; i < nbytes; i++)
		snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static int image_layers(const cJSON *img, struct img_digest **out, size_t *n, struct berr **err)
{
	const cJSON *rootfs = cJSON_GetObjectItemCaseSensitive(img, "RootFS");
	const cJSON *layers = cJSON_GetObjectItemCaseSensitive(rootfs, "Layers");
	*out = NULL;
	*n = 0;
	if (!layers)
		return 0;
	if (!cJSON_IsArray(layers))
		return berr_set(err, BERR_INPUT, "engine image: RootFS.Layers is not an array");
	size_t cnt = (size_t)cJSON_GetArraySize(layers), i = 0;
	struct img_digest *v = xcalloc(cnt ? cnt : 1, sizeof(*v));
	const cJSON *l;
	cJSON_ArrayForEach(l, layers) {
		if (!cJSON_IsString(l) || img_digest_parse(l->valuestring, "engine image RootFS.Layers",
							   &v[i], err) < 0) {
			free(v);
			return berr_set(err, BERR_INPUT, "engine image: bad RootFS.Layers entry");
		}
		i++;
	}
	*out = v;
	*n = cnt;
	return 0;
}

/* JSON-stream answers (load) report failures in-band with status 200. */
static int check_json_stream(const char *what, const char *text, struct berr **err)
{
	const char *p = text;
	while (p && *p) {
		const char *end = NULL;
		cJSON *j = cJSON_ParseWithOpts(p, &end, false);
		if (!j)
			break;
		const char *msg = eng_jstr(j, "error");
		if (msg) {
			berr_set(err, BERR_FAILED, "%s: engine said: %s", what, msg);
			cJSON_Delete(j);
			return -1;
		}
		cJSON_Delete(j);
		p = end;
		while (*p == '\n' || *p == '\r' || *p == ' ')
			p++;
	}
	return 0;
}

/* DELETE path; what is already gone (404) is not an error */
static int delete_gone_ok(struct bld_engine *e, const char *path, struct berr **err)
{
	struct eng_req r;
	eng_req_init(&r, "DELETE", path);
	r.ignore_cancel = true;
	int ret = eng_do(e, &r, err);
	if (ret < 0 && r.status == 404) {
		berr_clear(err);
		return 0;
	}
	return ret;
}

static int remove_image(struct bld_engine *e, const char *id, struct berr **err)
{
	_cleanup_free_ char *q = eng_escape(id);
	_cleanup_free_ char *path = xasprintf("/images/%s?force=1", q);
	return delete_gone_ok(e, path, err);
}

static int remove_container(struct bld_engine *e, const char *id, struct berr **err)
{
	_cleanup_free_ char *path = xasprintf("/containers/%s?force=1&v=1", id);
	return delete_gone_ok(e, path, err);
}

/* --- parent chain --- */

enum { CHAIN_ABSENT, CHAIN_OTHER, CHAIN_SAME };

/* The engine's image `ref` (a chain tag): absent, there with other layers,
 * or there with exactly want[0..n); its inspect JSON in *j when there. -1
 * with err when the engine fails otherwise. */
static int chain_lookup(struct bld_engine *e, const char *ref, const struct img_digest *want,
			size_t n, cJSON **j, struct berr **err)
{
	_cleanup_free_ char *path = xasprintf("/images/%s/json", ref);
	struct berr *e1 = NULL;
	*j = NULL;
	if (eng_json(e, "GET", path, NULL, j, &e1) < 0) {
		if (e1->code != BERR_NOTFOUND) {
			*err = e1;
			return -1;
		}
		berr_free(e1);
		return CHAIN_ABSENT;
	}
	struct img_digest *have = NULL;
	size_t hn = 0;
	bool same = image_layers(*j, &have, &hn, NULL) == 0 && hn == n;
	for (size_t i = 0; same && i < n; i++)
		same = img_digest_equal(&have[i], &want[i]);
	free(have);
	return same ? CHAIN_SAME : CHAIN_OTHER;
}

int bld_engine_ensure_parent(struct bld_engine *e, const struct img_image *parent,
			     const char *tmpdir, char *ref, size_t ref_len, bool *loaded,
			     struct berr **err)
{
	*loaded = false;
	const struct img_config *c = parent->config;
	if (!c || c->n_diff_ids == 0)
		return berr_set(err, BERR_UNSUPPORTED, "RUN on an empty (FROM scratch) stage cannot run on "
				"an engine: the container would have no files to run");
	struct img_digest chain;
	img_chain_id(c->diff_ids, c->n_diff_ids, &chain);
	snprintf(ref, ref_len, "%s:%s", BLD_ENGINE_CHAIN_REPO, img_digest_hex(&chain));
	_cleanup_cjson_ cJSON *j = NULL;
	int have = chain_lookup(e, ref, c->diff_ids, c->n_diff_ids, &j, err);
	if (have < 0)
		return -1;
	if (have == CHAIN_SAME)
		return 0;
	/* a stale or foreign tag: replace it */
	if (have == CHAIN_OTHER && remove_image(e, ref, err) < 0)
		return -1;
	if (bld_engine_cancelled(e))
		return berr_set(err, BERR_FAILED, "interrupted");

	_cleanup_free_ char *tar = xasprintf("%s/berth-engine-load-XXXXXX", tmp_dir(tmpdir));
	int tfd = mkostemp(tar, O_CLOEXEC);
	if (tfd < 0)
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", tar);
	close(tfd);
	const char *tags[] = { ref };
	int ret = img_image_export(parent, IMG_SRC_DOCKER_ARCHIVE, tar, tags, 1, err);
	if (ret == 0) {
		_cleanup_close_ int fd = open(tar, O_RDONLY | O_CLOEXEC);
		if (fd < 0) {
			ret = berr_set_errno(err, BERR_IO, errno, "open '%s'", tar);
		} else {
			struct eng_req r;
			eng_req_init(&r, "POST", "/images/load?quiet=1");
			r.upload_fd = fd;
			r.limit = ENG_LIMIT_BULK;
			struct bbuf b = BBUF_INIT;
			b.limit = BLD_ENGINE_JSON_MAX;
			r.resp = &b;
			ret = eng_do(e, &r, err);
			if (ret == 0)
				ret = check_json_stream("load parent image", bbuf_str(&b), err);
			bbuf_release(&b);
		}
	}
	unlink(tar);
	if (ret < 0)
		return berr_wrap(err, "load the parent chain into the engine as '%s'", ref);
	/* confirm the engine sees the chain we sent */
	cJSON_Delete(j);
	j = NULL;
	_cleanup_free_ char *path = xasprintf("/images/%s/json", ref);
	if (eng_json(e, "GET", path, NULL, &j, err) < 0)
		return berr_wrap(err, "loaded parent chain '%s'", ref);
	struct img_digest *got = NULL;
	size_t n = 0;
	if (image_layers(j, &got, &n, err) < 0)
		return -1;
	bool same = n == c->n_diff_ids;
	for (size_t i = 0; same && i < n; i++)
		same = img_digest_equal(&got[i], &c->diff_ids[i]);
	free(got);
	if (!same)
		return berr_set(err, BERR_INTEGRITY, "the engine loaded '%s' with different layers (%zu "
				"diff_ids, want %zu)", ref, n, c->n_diff_ids);
	*loaded = true;
	return 0;
}

/* --- container create --- */

static cJSON *str_array(const char *const *v, size_t n)
{
	cJSON *a = cJSON_CreateArray();
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(v[i]));
	return a;
}

/* Engine volume name for a cache mount: berth-cache-<sanitised id>. */
static char *cache_volume(const struct bld_engine_mount *m)
{
	const char *id = m->source && *m->source ? m->source : m->target;
	struct img_digest d;
	img_digest_bytes(id, strlen(id), &d);
	return xasprintf("berth-cache-%.16s", img_digest_hex(&d));
}

static int add_mounts(struct bld_engine *e, const struct bld_engine_facts *f,
		      const struct bld_engine_run_spec *s, cJSON *hc, struct berr **err)
{
	if (s->n_mounts == 0)
		return 0;
	bool win = f->os_type && strcmp(f->os_type, "windows") == 0;
	cJSON *arr = cJSON_AddArrayToObject(hc, "Mounts");
	for (size_t i = 0; i < s->n_mounts; i++) {
		const struct bld_engine_mount *m = &s->mounts[i];
		if (!m->target || !*m->target)
			return berr_set(err, BERR_INPUT, "RUN --mount #%zu has no target", i + 1);
		cJSON *o = cJSON_CreateObject();
		cJSON_AddItemToArray(arr, o);
		switch (m->type) {
		case BLD_ENGINE_MOUNT_BIND:
			if (!bld_engine_is_local(e))
				return berr_set(err, BERR_UNSUPPORTED, "RUN --mount=type=bind,target=%s: the "
						"engine at '%s' is remote and cannot see berth's files; bind "
						"mounts need a local engine (unix://)", m->target,
						bld_engine_url(e));
			if (!m->source || m->source[0] != '/')
				return berr_set(err, BERR_INPUT, "RUN --mount=type=bind,target=%s: the "
						"source must be an absolute host path", m->target);
			cJSON_AddStringToObject(o, "Type", "bind");
			cJSON_AddStringToObject(o, "Source", m->source);
			break;
		case BLD_ENGINE_MOUNT_CACHE: {
			_cleanup_free_ char *vol = cache_volume(m);
			cJSON_AddStringToObject(o, "Type", "volume");
			cJSON_AddStringToObject(o, "Source", vol);
			break;
		}
		case BLD_ENGINE_MOUNT_TMPFS:
			if (win)
				return berr_set(err, BERR_UNSUPPORTED, "RUN --mount=type=tmpfs,target=%s: "
						"Windows engines have no tmpfs mounts", m->target);
			cJSON_AddStringToObject(o, "Type", "tmpfs");
			break;
		case BLD_ENGINE_MOUNT_SECRET:
		case BLD_ENGINE_MOUNT_SSH:
			return berr_set(err, BERR_UNSUPPORTED, "RUN --mount=type=%s,target=%s is not "
					"supported by the engine executor (the Docker Engine API cannot "
					"provide it without writing the secret into a container)",
					m->type == BLD_ENGINE_MOUNT_SECRET ? "secret" : "ssh", m->target);
		}
		cJSON_AddStringToObject(o, "Target", m->target);
		if (m->readonly)
			cJSON_AddTrueToObject(o, "ReadOnly");
	}
	return 0;
}

static int build_create_body(struct bld_engine *e, const struct bld_engine_facts *f,
			     const struct bld_engine_run_spec *s, const char *image, char **out,
			     struct berr **err)
{
	bool win = f->os_type && strcmp(f->os_type, "windows") == 0;
	if (!s->argv || s->argc == 0)
		return berr_set(err, BERR_INPUT, "RUN has no command");
	_cleanup_cjson_ cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "Image", image);
	if (s->shell_form) {
		static const char *const win_sh[] = { "cmd", "/S", "/C" };
		static const char *const lin_sh[] = { "/bin/sh", "-c" };
		const char *const *sh = s->shell;
		size_t nsh = s->n_shell;
		if (!sh || nsh == 0) {
			sh = win ? win_sh : lin_sh;
			nsh = win ? ARRAY_SIZE(win_sh) : ARRAY_SIZE(lin_sh);
		}
		cJSON *cmd = str_array(sh, nsh);
		/* shell form: the command line is one argument after the shell */
		struct bbuf line = BBUF_INIT;
		for (size_t i = 0; i < s->argc; i++)
			bbuf_addf(&line, NULL, "%s%s", i ? " " : "", s->argv[i]);
		cJSON_AddItemToArray(cmd, cJSON_CreateString(bbuf_str(&line)));
		bbuf_release(&line);
		cJSON_AddItemToObject(o, "Cmd", cmd);
	} else {
		cJSON_AddItemToObject(o, "Cmd", str_array(s->argv, s->argc));
	}
	/* an empty (non-null) Entrypoint replaces the image's, as RUN does */
	cJSON_AddItemToObject(o, "Entrypoint", cJSON_CreateArray());
	cJSON_AddItemToObject(o, "Env", str_array(s->env, s->n_env));
	if (s->user && *s->user)
		cJSON_AddStringToObject(o, "User", s->user);
	if (s->workdir && *s->workdir)
		cJSON_AddStringToObject(o, "WorkingDir", s->workdir);
	cJSON_AddFalseToObject(o, "Tty");
	cJSON_AddFalseToObject(o, "OpenStdin");
	cJSON_AddFalseToObject(o, "AttachStdin");
	cJSON_AddTrueToObject(o, "AttachStdout");
	cJSON_AddTrueToObject(o, "AttachStderr");
	cJSON *labels = cJSON_AddObjectToObject(o, "Labels");
	cJSON_AddStringToObject(labels, BLD_ENGINE_LABEL, s->label && *s->label ? s->label : "run");
	cJSON *hc = cJSON_AddObjectToObject(o, "HostConfig");
	if (s->decision && s->decision->iso != BLD_ENGINE_ISO_DEFAULT) {
		if (!win)
			return berr_set(err, BERR_USAGE, "isolation '%s' needs a Windows engine",
					bld_engine_iso_name(s->decision->iso));
		cJSON_AddStringToObject(hc, "Isolation", bld_engine_iso_name(s->decision->iso));
	}
	switch (s->network) {
	case BLD_ENGINE_NET_NONE:
		cJSON_AddStringToObject(hc, "NetworkMode", "none");
		break;
	case BLD_ENGINE_NET_HOST:
		if (win)
			return berr_set(err, BERR_UNSUPPORTED, "RUN --network=host: Windows engines have no "
					"host network mode");
		cJSON_AddStringToObject(hc, "NetworkMode", "host");
		break;
	default:
		break;
	}
	if (add_mounts(e, f, s, hc, err) < 0)
		return -1;
	char *txt = cJSON_PrintUnformatted(o);
	if (!txt)
		return berr_set(err, BERR_INTERNAL, "cannot serialise the container config");
	*out = txt;
	return 0;
}

/* --- attach + start --- */

struct attach_ctx {
	struct bld_engine_demux dm;
	bool headers_done;
	long status;
	struct bbuf errbody;
	struct berr *err;
};

static size_t attach_header(char *p, size_t sz, size_t nm, void *ud)
{
	struct attach_ctx *a = ud;
	size_t n = sz * nm;
	if (n >= 12 && strncmp(p, "HTTP/", 5) == 0) {
		const char *sp = memchr(p, ' ', n);
		if (sp)
			a->status = strtol(sp + 1, NULL, 10);
	}
	if ((n == 2 && p[0] == '\r' && p[1] == '\n') || (n == 1 && p[0] == '\n'))
		a->headers_done = true;
	return n;
}

static size_t attach_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct attach_ctx *a = ud;
	size_t n = sz * nm;
	if (a->status >= 300) {
		if (a->errbody.len < 4096)
			bbuf_add(&a->errbody, p, n, NULL);
		return n;
	}
	if (bld_engine_demux_feed(&a->dm, p, n, &a->err) < 0)
		return 0;
	return n;
}

static int attach_and_start(struct bld_engine *e, const char *id,
			    const struct bld_engine_run_spec *s, struct berr **err)
{
	char errbuf[CURL_ERROR_SIZE];
	_cleanup_free_ char *path = xasprintf("/containers/%s/attach?stream=1&stdout=1&stderr=1", id);
	CURLM *m = curl_multi_init();
	CURL *c = curl_easy_init();
	if (!m || !c) {
		curl_multi_cleanup(m);
		curl_easy_cleanup(c);
		return berr_set(err, BERR_INTERNAL, "cannot initialise libcurl");
	}
	eng_setup_handle(e, c, "POST", path, false, errbuf);
	struct curl_slist *hdrs = curl_slist_append(NULL, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, 0L);
	struct attach_ctx a = { .errbody = BBUF_INIT };
	bld_engine_demux_init(&a.dm, s->output, s->output_ctx);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, attach_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &a);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, attach_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &a);
	curl_multi_add_handle(m, c);
	int running = 1, ret = 0;
	bool started = false;
	CURLcode result = CURLE_OK;
	/* the stream itself lasts as long as the command (no bound, only
	 * cancel), but its response headers come at once: a quick-call bound */
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	while (running) {
		if (curl_multi_perform(m, &running) != CURLM_OK) {
			ret = berr_set(err, BERR_INTERNAL, "libcurl multi interface failed");
			break;
		}
		if (e->cancel) {
			ret = berr_set(err, BERR_FAILED, "interrupted");
			break;
		}
		if (!a.headers_done && running) {
			struct timespec t;
			clock_gettime(CLOCK_MONOTONIC, &t);
			long limit = eng_request_timeout(e);
			if (t.tv_sec - t0.tv_sec >= limit) {
				ret = berr_set(err, BERR_NETWORK, "POST %s: the engine at '%s' did not answer "
					       "within %ld s (it stalled; BERTH_ENGINE_TIMEOUT sets the limit)",
					       path, bld_engine_url(e), limit);
				break;
			}
		}
		/* a failure status: let the error body arrive */
		if (!started && a.headers_done && running && (a.status == 200 || a.status == 101)) {
			struct eng_req r;
			_cleanup_free_ char *sp = xasprintf("/containers/%s/start", id);
			eng_req_init(&r, "POST", sp);
			if (eng_do(e, &r, err) < 0) {
				ret = -1;
				break;
			}
			started = true;
		}
		if (running)
			curl_multi_poll(m, NULL, 0, POLL_MS, NULL);
	}
	int q;
	CURLMsg *msg;
	while ((msg = curl_multi_info_read(m, &q)))
		if (msg->msg == CURLMSG_DONE)
			result = msg->data.result;
	if (ret == 0) {
		if (a.err) {
			*err = steal_pointer(&a.err);
			ret = -1;
		} else if (a.status >= 300) {
			ret = eng_http_error(e, "attach", a.status, bbuf_str(&a.errbody), err);
		} else if (result != CURLE_OK) {
			ret = eng_curl_error(e, result, errbuf, "attach", err);
		} else if (!started) {
			ret = berr_set(err, BERR_NETWORK, "attach: the engine closed the stream before the "
				       "container started");
		}
	}
	berr_free(a.err);
	bbuf_release(&a.errbody);
	curl_multi_remove_handle(m, c);
	curl_easy_cleanup(c);
	curl_multi_cleanup(m);
	curl_slist_free_all(hdrs);
	return ret;
}

/* --- export: take the top layer out of a docker-archive stream --- */

struct export_ctx {
	int rd;                         /* socket read end (archive thread) */
	struct img_digest want;         /* diff_id of the new layer */
	const char *dir;                /* temp dir */
	char *found_path;               /* the layer, uncompressed */
	uint64_t found_size;
	bool found;
	struct berr *err;
};

static int copy_entry_hashed(struct archive *ar, const char *dir, char **path, uint64_t *size,
			     struct img_digest *d, struct berr **err)
{
	char *p = xasprintf("%s/berth-engine-layer-XXXXXX", dir);
	int fd = mkostemp(p, O_CLOEXEC);
	if (fd < 0) {
		berr_set_errno(err, BERR_IO, errno, "create '%s'", p);
		free(p);
		return -1;
	}
	struct img_hasher *h = img_hasher_new();
	_cleanup_free_ char *buf = xmalloc(COPY_CHUNK);
	uint64_t total = 0;
	int ret = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(ar, buf, COPY_CHUNK);
		if (n == 0)
			break;
		if (n < 0) {
			ret = berr_set(err, BERR_INPUT, "engine image export: %s", archive_error_string(ar));
			break;
		}
		img_hasher_update(h, buf, (size_t)n);
		if (bfd_write_all(fd, buf, (size_t)n, p, err) < 0) {
			ret = -1;
			break;
		}
		total += (uint64_t)n;
	}
	img_hasher_final(h, d);
	img_hasher_free(h);
	if (close(fd) < 0 && ret == 0)
		ret = berr_set_errno(err, BERR_IO, errno, "write '%s'", p);
	if (ret < 0) {
		unlink(p);
		free(p);
		return -1;
	}
	*path = p;
	*size = total;
	return 0;
}

static bool is_hex64(const char *s, size_t n)
{
	if (n != IMG_DIGEST_HEX_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static void *export_thread(void *ud)
{
	struct export_ctx *x = ud;
	struct archive *ar = archive_read_new();
	archive_read_support_format_tar(ar);
	if (archive_read_open_fd(ar, x->rd, 64 * 1024) != ARCHIVE_OK) {
		berr_set(&x->err, BERR_INPUT, "engine image export: %s", archive_error_string(ar));
		archive_read_free(ar);
		return NULL;
	}
	struct archive_entry *ent;
	int r;
	while ((r = archive_read_next_header(ar, &ent)) == ARCHIVE_OK) {
		const char *name = archive_entry_pathname(ent);
		if (!name || archive_entry_filetype(ent) != AE_IFREG || x->found)
			continue;
		size_t len = strlen(name);
		bool legacy = len > 10 && strcmp(name + len - 10, "/layer.tar") == 0;
		/* Docker 25+: uncompressed layers as blobs/sha256/<diff_id> */
		bool blob = len == 13 + IMG_DIGEST_HEX_LEN && strncmp(name, "blobs/sha256/", 13) == 0 &&
			    is_hex64(name + 13, IMG_DIGEST_HEX_LEN);
		if (blob && strcmp(name + 13, img_digest_hex(&x->want)) != 0)
			continue;
		if (!legacy && !blob)
			continue;
		char *path = NULL;
		uint64_t size = 0;
		struct img_digest d;
		if (copy_entry_hashed(ar, x->dir, &path, &size, &d, &x->err) < 0)
			break;
		if (img_digest_equal(&d, &x->want)) {
			x->found = true;
			x->found_path = path;
			x->found_size = size;
		} else {
			if (blob)
				berr_set(&x->err, BERR_INTEGRITY, "engine image export: blob '%s' has digest "
					 "'%s'", name, d.s);
			unlink(path);
			free(path);
			if (x->err)
				break;
		}
	}
	if (r != ARCHIVE_EOF && r != ARCHIVE_OK && !x->err)
		berr_set(&x->err, BERR_INPUT, "engine image export: %s", archive_error_string(ar));
	archive_read_free(ar);
	/* drain so the writer never blocks on a full socket */
	char buf[4096];
	while (read(x->rd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

static int sock_sink_write(void *ctx, const void *p, size_t n, struct berr **err)
{
	int fd = *(int *)ctx;
	const char *c = p;
	while (n) {
		ssize_t w = send(fd, c, n, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return berr_set_errno(err, BERR_IO, errno, "engine image export: reader stopped");
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

static int export_layer(struct bld_engine *e, const char *image_id, const struct img_digest *want,
			const char *dir, char **path, uint64_t *size, struct berr **err)
{
	int sv[2];
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return berr_set_errno(err, BERR_IO, errno, "socketpair");
	struct export_ctx x = { .rd = sv[1], .want = *want, .dir = dir };
	pthread_t t;
	int pe = pthread_create(&t, NULL, export_thread, &x);
	if (pe) {
		close(sv[0]);
		close(sv[1]);
		return berr_set_errno(err, BERR_IO, pe, "start the export reader");
	}
	_cleanup_free_ char *q = eng_escape(image_id);
	_cleanup_free_ char *p = xasprintf("/images/%s/get", q);
	struct eng_req r;
	eng_req_init(&r, "GET", p);
	r.limit = ENG_LIMIT_STREAM;
	struct bsink sink = { .write = sock_sink_write, .ctx = &sv[0] };
	r.sink = &sink;
	struct berr *herr = NULL;
	int ret = eng_do(e, &r, &herr);
	shutdown(sv[0], SHUT_WR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	if (x.err && !(ret < 0 && herr && herr->code == BERR_NETWORK)) {
		/* the reader's error explains a broken stream best, unless the
		 * transfer itself failed (stall, cut connection): then the reader
		 * only saw the end we made */
		berr_free(herr);
		*err = x.err;
		ret = -1;
	} else if (ret < 0) {
		berr_free(x.err);
		*err = herr;
	}
	if (ret == 0 && !x.found)
		ret = berr_set(err, BERR_INTEGRITY, "engine image export of '%s' has no layer with "
			       "diff_id '%s'", image_id, want->s);
	if (ret < 0) {
		if (x.found_path) {
			unlink(x.found_path);
			free(x.found_path);
		}
		return -1;
	}
	*path = x.found_path;
	*size = x.found_size;
	return 0;
}

int bld_engine_store_layer(const char *path, struct img_store *store,
			   const struct img_compress_opts *o, const struct img_digest *want,
			   struct img_layer_info *info, struct berr **err)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", path);
	struct img_layer_blob *lb = img_layer_blob_begin(store, o, err);
	if (!lb)
		return -1;
	struct bsink s = img_layer_blob_sink(lb);
	_cleanup_free_ char *buf = xmalloc(COPY_CHUNK);
	int ret = 0;
	for (;;) {
		ssize_t n = read(fd, buf, COPY_CHUNK);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			ret = berr_set_errno(err, BERR_IO, errno, "read '%s'", path);
			break;
		}
		if (n == 0)
			break;
		if (bsink_write(&s, buf, (size_t)n, err) < 0) {
			ret = -1;
			break;
		}
	}
	if (ret == 0)
		ret = img_layer_blob_commit(lb, info, err);
	img_layer_blob_free(lb);
	if (ret == 0 && !img_digest_equal(&info->r.diff_id, want))
		ret = berr_set(err, BERR_INTEGRITY, "layer changed while stored: diff_id '%s', want '%s'",
			       info->r.diff_id.s, want->s);
	return ret;
}

/* --- the step --- */

struct run_state {
	char container[80];
	char committed[80];
	bool keep_committed;
};

static int cleanup(struct bld_engine *e, struct run_state *st, struct berr **err)
{
	int ret = 0;
	if (st->container[0] && remove_container(e, st->container, err) < 0)
		ret = -1;
	if (st->committed[0] && !st->keep_committed && remove_image(e, st->committed, err) < 0)
		ret = -1;
	return ret;
}

static char *command_text(const struct bld_engine_run_spec *s)
{
	struct bbuf b = BBUF_INIT;
	for (size_t i = 0; i < s->argc; i++)
		bbuf_addf(&b, NULL, "%s%s", i ? " " : "", s->argv[i]);
	return bbuf_detach(&b, NULL);
}

static char *host_build(const struct bld_engine_facts *f)
{
	if (f->win_build) {
		if (f->win_has_rev)
			return xasprintf("%u.%u.%u.%u", f->win_major, f->win_minor, f->win_build, f->win_rev);
		return xasprintf("%u.%u.%u", f->win_major, f->win_minor, f->win_build);
	}
	return xstrdup(f->kernel_version ? f->kernel_version : "unknown");
}

static int do_run(struct bld_engine *e, const struct bld_engine_facts *f,
		  const struct bld_engine_run_spec *s, struct bld_engine_run_result *r,
		  struct run_state *st, struct berr **err)
{
	char ref[128];
	if (bld_engine_ensure_parent(e, s->parent, s->tmpdir, ref, sizeof(ref), &r->loaded_parent,
				     err) < 0)
		return -1;
	_cleanup_free_ char *body = NULL;
	if (build_create_body(e, f, s, ref, &body, err) < 0)
		return -1;
	char rnd[25];
	random_hex(rnd, 12);
	_cleanup_free_ char *cpath = xasprintf("/containers/create?name=berth-run-%s", rnd);
	_cleanup_cjson_ cJSON *cj = NULL;
	if (eng_json(e, "POST", cpath, body, &cj, err) < 0)
		return berr_wrap(err, "create the RUN container");
	const char *id = eng_jstr(cj, "Id");
	if (!id || strlen(id) >= sizeof(st->container) || strspn(id, "0123456789abcdef") != strlen(id))
		return berr_set(err, BERR_INPUT, "create the RUN container: the engine returned no "
				"usable Id");
	snprintf(st->container, sizeof(st->container), "%s", id);
	if (attach_and_start(e, st->container, s, err) < 0)
		return berr_wrap(err, "run the RUN container");
	_cleanup_free_ char *wpath = xasprintf("/containers/%s/wait", st->container);
	struct eng_req wr;
	eng_req_init(&wr, "POST", wpath);
	/* as long as the command runs; the cancel pipe ends it early */
	wr.limit = ENG_LIMIT_BLOCKING;
	struct bbuf wb = BBUF_INIT;
	wb.limit = BLD_ENGINE_JSON_MAX;
	wr.resp = &wb;
	int ret = eng_do(e, &wr, err);
	_cleanup_cjson_ cJSON *wj = ret == 0 ? cJSON_Parse(bbuf_str(&wb)) : NULL;
	bbuf_release(&wb);
	if (ret < 0)
		return berr_wrap(err, "wait for the RUN container");
	const cJSON *sc = cJSON_GetObjectItemCaseSensitive(wj, "StatusCode");
	if (!cJSON_IsNumber(sc))
		return berr_set(err, BERR_INPUT, "wait for the RUN container: no StatusCode");
	const char *werr = eng_jstr(cJSON_GetObjectItemCaseSensitive(wj, "Error"), "Message");
	r->exit_code = (int)sc->valuedouble;
	r->exited = true;
	if (r->exit_code != 0 || (werr && *werr)) {
		_cleanup_free_ char *cmd = command_text(s);
		return berr_set(err, BERR_FAILED, "the command '%s' returned a non-zero code: %d%s%s", cmd,
				r->exit_code, werr && *werr ? ": " : "", werr && *werr ? werr : "");
	}
	if (e->cancel)
		return berr_set(err, BERR_FAILED, "interrupted");

	_cleanup_free_ char *qc = eng_escape(r->comment);
	_cleanup_free_ char *commit = xasprintf("/commit?container=%s&comment=%s&pause=false",
						st->container, qc);
	_cleanup_cjson_ cJSON *mj = NULL;
	if (eng_json_limit(e, "POST", commit, "{}", ENG_LIMIT_BULK, &mj, err) < 0)
		return berr_wrap(err, "commit the RUN container");
	const char *img = eng_jstr(mj, "Id");
	if (!img || strlen(img) >= sizeof(st->committed))
		return berr_set(err, BERR_INPUT, "commit: the engine returned no image Id");
	snprintf(st->committed, sizeof(st->committed), "%s", img);

	/* the committed image must be the parent chain plus exactly one layer */
	_cleanup_free_ char *qi = eng_escape(st->committed);
	_cleanup_free_ char *ipath = xasprintf("/images/%s/json", qi);
	_cleanup_cjson_ cJSON *ij = NULL;
	if (eng_json(e, "GET", ipath, NULL, &ij, err) < 0)
		return berr_wrap(err, "inspect the committed image");
	struct img_digest *layers = NULL;
	size_t n = 0;
	if (image_layers(ij, &layers, &n, err) < 0)
		return -1;
	const struct img_config *pc = s->parent->config;
	bool ok = n == pc->n_diff_ids + 1 || n == pc->n_diff_ids;
	for (size_t i = 0; ok && i < pc->n_diff_ids; i++)
		ok = img_digest_equal(&layers[i], &pc->diff_ids[i]);
	if (ok && n > pc->n_diff_ids)
		r->diff_id = layers[n - 1];
	free(layers);
	if (!ok)
		return berr_set(err, BERR_INTEGRITY, "the committed image '%s' is not the parent chain plus "
				"one layer (%zu layers, parent has %zu)", st->committed, n, pc->n_diff_ids);
	if (n == pc->n_diff_ids) {
		/* no filesystem change: the engine adds no layer (history gets
		 * empty_layer, as with docker build) */
		r->empty_layer = true;
		img_chain_id(pc->diff_ids, pc->n_diff_ids, &r->chain_id);
		return 0;
	}
	_cleanup_free_ struct img_digest *chain = xcalloc(pc->n_diff_ids + 1, sizeof(*chain));
	memcpy(chain, pc->diff_ids, pc->n_diff_ids * sizeof(*chain));
	chain[pc->n_diff_ids] = r->diff_id;
	img_chain_id(chain, pc->n_diff_ids + 1, &r->chain_id);
	if (e->cancel)
		return berr_set(err, BERR_FAILED, "interrupted");

	char *path = NULL;
	if (export_layer(e, st->committed, &r->diff_id, tmp_dir(s->tmpdir), &path, &r->layer_size,
			 err) < 0)
		return berr_wrap(err, "take the new layer out of the engine");
	if (s->store) {
		ret = bld_engine_store_layer(path, s->store, &s->comp, &r->diff_id, &r->layer, err);
		unlink(path);
		free(path);
		if (ret < 0)
			return -1;
	} else {
		r->layer_path = path;
	}
	if (s->keep_chain) {
		/* Same chain ID = same layers: two RUNs that make byte-identical
		 * layers (engines keep whole-second mtimes) meet here. Moving the
		 * tag to this commit would orphan the image that had it (an
		 * untagged child of the parent chain), so an existing chain image
		 * with exactly these layers is kept and this commit removed. */
		char cref[128];
		snprintf(cref, sizeof(cref), "%s:%s", BLD_ENGINE_CHAIN_REPO, img_digest_hex(&r->chain_id));
		_cleanup_cjson_ cJSON *ej = NULL;
		int have = chain_lookup(e, cref, chain, pc->n_diff_ids + 1, &ej, err);
		if (have < 0)
			return berr_wrap(err, "look up the chain image '%s'", cref);
		const char *eid = have == CHAIN_ABSENT ? NULL : eng_jstr(ej, "Id");
		if (eid && !strcmp(eid, st->committed)) {
			st->keep_committed = true; /* already tagged */
			return 0;
		}
		if (have == CHAIN_SAME)
			return 0; /* cleanup removes our commit, the chain stays */
		_cleanup_free_ char *tpath = xasprintf("/images/%s/tag?repo=%s&tag=%s", qi,
						       BLD_ENGINE_CHAIN_REPO, img_digest_hex(&r->chain_id));
		struct eng_req tr;
		eng_req_init(&tr, "POST", tpath);
		if (eng_do(e, &tr, err) < 0)
			return berr_wrap(err, "tag the new chain");
		st->keep_committed = true;
	}
	return 0;
}

int bld_engine_run(struct bld_engine *e, const struct bld_engine_facts *f,
		   const struct bld_engine_run_spec *s, struct bld_engine_run_result *r,
		   struct berr **err)
{
	memset(r, 0, sizeof(*r));
	if (!s->parent || !s->parent->config)
		return berr_set(err, BERR_INPUT, "RUN needs a parent image");
	const char *pos = s->parent->config->platform.os;
	if (pos && f->os_type && strcasecmp(pos, f->os_type) != 0)
		return berr_set(err, BERR_UNSUPPORTED, "this is a %s stage but the engine at '%s' runs "
				"%s containers", pos, bld_engine_url(e), f->os_type);
	r->engine_url = xstrdup(bld_engine_url(e));
	r->host_build = host_build(f);
	r->isolation = xstrdup(bld_engine_iso_name(s->decision ? s->decision->iso : BLD_ENGINE_ISO_DEFAULT));
	_cleanup_free_ char *hd = bld_engine_host_desc(f);
	r->comment = xasprintf("berth RUN on engine %s (%s, Docker %s), isolation %s",
			       r->engine_url, hd, f->server_version ? f->server_version : "?",
			       r->isolation);
	struct run_state st = { 0 };
	int ret = do_run(e, f, s, r, &st, err);
	struct berr *cerr = NULL;
	if (ret < 0) {
		st.keep_committed = false;
		if (r->layer_path) {
			unlink(r->layer_path);
			free(r->layer_path);
			r->layer_path = NULL;
		}
	}
	if (cleanup(e, &st, &cerr) < 0) {
		if (ret == 0) {
			*err = cerr;
			berr_wrap(err, "clean up the RUN container");
			ret = -1;
		} else {
			berr_free(cerr);
		}
	}
	return ret;
}

/* --- prune --- */

static int cmp_layers_desc(const void *a, const void *b)
{
	const int *x = a, *y = b;
	return (y[1] > x[1]) - (y[1] < x[1]);
}

int bld_engine_prune(struct bld_engine *e, bool chains, size_t *n_containers, size_t *n_images,
		     struct berr **err)
{
	size_t nc = 0, ni = 0;
	_cleanup_free_ char *filt = xasprintf("{\"label\":[\"%s\"]}", BLD_ENGINE_LABEL);
	_cleanup_free_ char *qf = eng_escape(filt);
	_cleanup_free_ char *cpath = xasprintf("/containers/json?all=1&filters=%s", qf);
	_cleanup_cjson_ cJSON *cl = NULL;
	if (eng_json(e, "GET", cpath, NULL, &cl, err) < 0)
		return -1;
	const cJSON *it;
	cJSON_ArrayForEach(it, cl) {
		const char *id = eng_jstr(it, "Id");
		if (id && remove_container(e, id, err) < 0)
			return -1;
		nc++;
	}
	/* untagged commits berth left behind (an interrupted or failed clean-up)
	 * carry its label; they go first, as they may be children of chains */
	_cleanup_free_ char *df = xasprintf("{\"dangling\":[\"true\"],\"label\":[\"%s\"]}",
					    BLD_ENGINE_LABEL);
	_cleanup_free_ char *qd = eng_escape(df);
	_cleanup_free_ char *dpath = xasprintf("/images/json?filters=%s", qd);
	_cleanup_cjson_ cJSON *dl = NULL;
	if (eng_json(e, "GET", dpath, NULL, &dl, err) < 0)
		return -1;
	cJSON_ArrayForEach(it, dl) {
		const char *id = eng_jstr(it, "Id");
		if (id && remove_image(e, id, err) < 0)
			return -1;
		ni++;
	}
	if (chains) {
		_cleanup_free_ char *rf = xasprintf("{\"reference\":[\"%s\"]}", BLD_ENGINE_CHAIN_REPO);
		_cleanup_free_ char *qr = eng_escape(rf);
		_cleanup_free_ char *ipath = xasprintf("/images/json?filters=%s", qr);
		_cleanup_cjson_ cJSON *il = NULL;
		if (eng_json(e, "GET", ipath, NULL, &il, err) < 0)
			return -1;
		/* children before parents: the engine refuses to delete a parent */
		int n = cJSON_GetArraySize(il), k = 0;
		int (*order)[2] = xcalloc((size_t)n + 1, sizeof(*order));
		cJSON_ArrayForEach(it, il) {
			_cleanup_free_ char *p = NULL;
			const char *id = eng_jstr(it, "Id");
			int depth = 0;
			if (id) {
				_cleanup_free_ char *q = eng_escape(id);
				p = xasprintf("/images/%s/json", q);
				cJSON *ij = NULL;
				if (eng_json(e, "GET", p, NULL, &ij, NULL) == 0) {
					const cJSON *l = cJSON_GetObjectItemCaseSensitive(
						cJSON_GetObjectItemCaseSensitive(ij, "RootFS"), "Layers");
					depth = cJSON_GetArraySize(l);
				}
				cJSON_Delete(ij);
			}
			order[k][0] = k;
			order[k][1] = depth;
			k++;
		}
		qsort(order, (size_t)k, sizeof(*order), cmp_layers_desc);
		int ret = 0;
		for (int i = 0; i < k && ret == 0; i++) {
			const char *id = eng_jstr(cJSON_GetArrayItem(il, order[i][0]), "Id");
			if (!id)
				continue;
			if (remove_image(e, id, err) < 0)
				ret = -1;
			else
				ni++;
		}
		free(order);
		if (ret < 0)
			return -1;
	}
	if (n_containers)
		*n_containers = nc;
	if (n_images)
		*n_images = ni;
	return 0;
}
