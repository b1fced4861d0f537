/* COPY and ADD: sources from the build context, a stage, an image or a
 * named context; heredocs; local archives (ADD) and URLs (ADD). Builds an
 * item list first (so the cache key can include a digest of every input
 * byte), then writes the layer from it. Semantics follow BuildKit's
 * dockerfile2llb + fsutil copy: see docs/builder.md. */
#include <ctype.h>
#include "common/barchive.h"
#include "common/bcurl.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "builder/bld_int.h"
#include "builder/bld_match.h"
#include "image/img_apply.h"
#include "image/img_layer.h"
#include "image/img_wintar.h"
#include "parser/df_instr.h"
#include "common/arena.h"
#include "common/common.h"

/* A URL download larger than this is refused. */
#define BLD_URL_MAX (8ULL << 30)
#define BLD_URL_CONNECT_TIMEOUT 10L

struct item {
	char *src;        /* host path, NULL for synthetic directories (in ar) */
	char *dst;        /* absolute internal path (in ar) */
	bool keep_owner;  /* ADD of an archive: owners from the tar */
	bool dir;         /* synthetic directory */
};

/* items are kept in blocks chained in order: appending never copies, so
 * the arena holds each item once (the plan's memory is fresh memory, the
 * costliest kind in a nothing-changed rebuild: measured below). Blocks
 * double from a few items (a small COPY stays in the arena's small first
 * chunk) to ITEM_BLOCK_MAX. */
#define ITEM_BLOCK_FIRST 32
#define ITEM_BLOCK_MAX 4096
struct item_block {
	struct item_block *next;
	size_t n, cap;
	struct item v[];
};

struct bld_copy_plan {
	struct item_block *first, *last; /* in ar */
	char **parents;   /* existing parent dirs: host path, dst pairs */
	size_t nparents;
	uid_t uid;
	gid_t gid;
	bool chmod;
	mode_t mode;
	bool windows;
	char *stage_rootfs;
	uint64_t bytes;   /* content bytes of regular files */
	char *win_owner;  /* windows --chown: owner SID of every entry */
	struct barena ar; /* the items and their paths: one per context file, freed together */
};

uint64_t bld_copy_plan_bytes(const struct bld_copy_plan *cp)
{
	return cp->bytes;
}

void bld_copy_plan_free(struct bld_copy_plan *cp)
{
	if (!cp)
		return;
	barena_release(&cp->ar);
	for (size_t i = 0; i < cp->nparents * 2; i++)
		free(cp->parents[i]);
	free(cp->parents);
	free(cp->stage_rootfs);
	free(cp->win_owner);
	free(cp);
}

/* src and dst must be in cp->ar. Blocks come from the arena, whose pages
 * are huge ones: growing an array by realloc touched a fresh 4 KiB page
 * per 128 items through mremap, on the walk's serial thread, and growing
 * it in the arena by doubling left every old copy there (a 2 MiB huge
 * page more on a 20k-file tree). */
static void push_item(struct bld_copy_plan *cp, char *src, char *dst, bool keep_owner, bool dir)
{
	if (!cp->last || cp->last->n == cp->last->cap) {
		size_t cap = !cp->last ? ITEM_BLOCK_FIRST
			     : cp->last->cap < ITEM_BLOCK_MAX ? cp->last->cap * 2 : ITEM_BLOCK_MAX;
		struct item_block *b = barena_alloc(&cp->ar, sizeof(*b) + cap * sizeof(b->v[0]));
		b->next = NULL;
		b->n = 0;
		b->cap = cap;
		if (cp->last)
			cp->last->next = b;
		else
			cp->first = b;
		cp->last = b;
	}
	cp->last->v[cp->last->n++] = (struct item){ src, dst, keep_owner, dir };
}

/* copies src and dst */
static void add_item(struct bld_copy_plan *cp, const char *src, const char *dst, bool keep_owner,
		     bool dir)
{
	push_item(cp, src ? barena_strdup(&cp->ar, src) : NULL, barena_strdup(&cp->ar, dst),
		  keep_owner, dir);
}

static char *join_dst(const char *base, const char *rel)
{
	if (!*rel)
		return xstrdup(base);
	_cleanup_free_ char *j = xasprintf("%s/%s", strcmp(base, "/") ? base : "", rel);
	return bpath_clean(j);
}

/* digits of v in base (8 or 10), written backwards ending at *end */
static void hash_meta(struct img_hasher *h, const char *dst, const struct stat *st,
		      const char *link)
{
	/* "\n<mode octal> <size> ", built by hand: this runs once per context
	 * file in every build, cached or not */
	char meta[64], *end = meta + sizeof(meta), *p = end;
	*--p = ' ';
	p = bnum_put(p, (uint64_t)(S_ISREG(st->st_mode) ? st->st_size : 0), 10);
	*--p = ' ';
	p = bnum_put(p, (unsigned)st->st_mode, 8);
	*--p = '\n';
	img_hasher_update(h, dst, strlen(dst));
	img_hasher_update(h, p, (size_t)(end - p));
	if (link)
		img_hasher_update(h, link, strlen(link));
}

/* hash what an item contributes: path, type, mode, size, link target and
 * the content digest (remembered by inode in the stat cache) */
static int hash_item(struct bld_statcache *sc, const char *root, struct img_hasher *h,
		     const char *dst, const struct stat *st, const char *link, const char *host,
		     int fd, struct berr **err)
{
	hash_meta(h, dst, st, link);
	if (fd >= 0) {
		struct stat fst;
		struct img_digest d;
		if (fstat(fd, &fst) < 0)
			return berr_set_errno(err, BERR_IO, errno, "stat '%s'", dst);
		if (bld_statcache_digest(host ? sc : NULL, root, host ? host : dst, fd, &fst, &d, err) < 0)
			return -1;
		img_hasher_update(h, d.s, strlen(d.s));
	}
	return 0;
}

struct walk_ud {
	struct bld_statcache *sc;
	struct bld_copy_plan *cp;
	struct img_hasher *h;
	const char *dst_base;     /* directory source: the dest dir; file: the dest path */
	bool src_is_dir;
	bool keep_owner;
	struct df_ignore *exclude;
	const char *prefix;       /* --parents: path kept under dest */
	bool skip_root;           /* archive: the extraction dir itself is not copied */
	struct bld_statcache_dir *scd; /* the walked context's records, for walk_ahead */
	int base_clean;           /* dst_base is already clean: 0 not known yet, 1 yes, 2 no */
};

/* An entry's destination, in the plan's arena. The walk's rel is clean
 * (names joined by '/'), so when dst_base is clean too the join needs no
 * cleaning: the common case, without an allocation per file. */
static char *entry_dst(struct walk_ud *u, const char *rel)
{
	struct barena *ar = &u->cp->ar;
	if (!u->base_clean) {
		_cleanup_free_ char *c = bpath_clean(u->dst_base);
		u->base_clean = strcmp(c, u->dst_base) ? 2 : 1;
	}
	if (u->prefix && *u->prefix) {
		_cleanup_free_ char *r = rel[0] ? xasprintf("%s/%s", u->prefix, rel)
						: xstrdup(u->prefix);
		_cleanup_free_ char *d = join_dst(u->dst_base, r);
		return barena_strdup(ar, d);
	}
	if (!rel[0])
		return barena_strdup(ar, u->dst_base);
	if (u->base_clean == 2) {
		_cleanup_free_ char *d = join_dst(u->dst_base, rel);
		return barena_strdup(ar, d);
	}
	return barena_join(ar, strcmp(u->dst_base, "/") ? u->dst_base : "", "/", rel);
}

/* On a reading thread: the remembered digest (hex digits in the stat
 * cache's records) of a file whose lstat matches its record, so that the
 * visit does no lookup. */
static const void *walk_ahead(void *vud, const char *host, const struct stat *st)
{
	struct walk_ud *u = vud;
	return bld_statcache_peek(u->scd, host, st);
}

static int walk_cb(void *vud, const struct bld_entry *e, struct berr **err)
{
	struct walk_ud *u = vud;
	if (u->skip_root && !e->rel[0])
		return 0;
	if (u->exclude && e->rel[0]) {
		bool m = false;
		if (df_ignore_matches_or_parent_matches(u->exclude, e->rel, &m, err) < 0)
			return -1;
		if (m)
			return 0;
	}
	char *dst = entry_dst(u, e->rel);
	char *src = bld_entry_host_path(e, &u->cp->ar, err);
	if (!src)
		return -1;
	int fd = -1;
	struct img_digest known;
	if (S_ISREG(e->st->st_mode) && e->ahead) {
		/* unchanged since it was hashed (seen while reading ahead) */
		hash_meta(u->h, dst, e->st, NULL);
		img_hasher_update(u->h, IMG_DIGEST_ALGO ":", sizeof(IMG_DIGEST_ALGO));
		img_hasher_update(u->h, e->ahead, BLD_STATCACHE_HEX);
	} else if (S_ISREG(e->st->st_mode) &&
		   bld_statcache_lookup(u->sc, bld_context_dir(e->ctx), src, e->st, &known)) {
		/* unchanged since it was hashed: not even opened */
		hash_meta(u->h, dst, e->st, NULL);
		img_hasher_update(u->h, known.s, strlen(known.s));
	} else if (S_ISREG(e->st->st_mode)) {
		fd = bld_entry_open(e, err);
		if (fd < 0)
			return -1;
	}
	int r = S_ISREG(e->st->st_mode) && fd < 0
			? 0 : hash_item(u->sc, bld_context_dir(e->ctx), u->h, dst, e->st, e->link, src, fd, err);
	if (fd >= 0)
		close(fd);
	push_item(u->cp, src, dst, u->keep_owner, false);
	if (S_ISREG(e->st->st_mode))
		u->cp->bytes += (uint64_t)e->st->st_size;
	return r;
}

static bool is_url(const char *s)
{
	return !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8);
}

struct dl {
	FILE *f;
	struct img_hasher *h;
	uint64_t n;
};

static size_t dl_write(char *p, size_t sz, size_t nm, void *ud)
{
	struct dl *d = ud;
	size_t len = sz * nm;
	d->n += len;
	if (d->n > BLD_URL_MAX)
		return 0;
	img_hasher_update(d->h, p, len);
	return fwrite(p, 1, len, d->f);
}

/* Download url into dir/name; verify checksum when given. */
static int fetch_url(const char *url, const char *checksum, const char *path, struct berr **err)
{
	if (bcurl_init(err) < 0)
		return -1;
	struct dl d = { fopen(path, "wbe"), img_hasher_new(), 0 };
	if (!d.f) {
		img_hasher_free(d.h);
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", path);
	}
	CURL *c = curl_easy_init();
	char ebuf[CURL_ERROR_SIZE] = "";
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 10L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, BLD_URL_CONNECT_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_FAILONERROR, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, dl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &d);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, ebuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	CURLcode rc = curl_easy_perform(c);
	curl_easy_cleanup(c);
	int fr = fclose(d.f);
	struct img_digest got;
	img_hasher_final(d.h, &got);
	img_hasher_free(d.h);
	if (rc != CURLE_OK)
		return berr_set(err, BERR_NETWORK, "failed to fetch '%s': %s", url,
				ebuf[0] ? ebuf : curl_easy_strerror(rc));
	if (fr != 0)
		return berr_set_errno(err, BERR_IO, errno, "write '%s'", path);
	if (checksum && *checksum && strcmp(checksum, got.s))
		return berr_set(err, BERR_INTEGRITY,
				"digest mismatch for '%s': expected %s, got %s", url, checksum, got.s);
	return 0;
}

/* Decompress a local file with libarchive (any filter) into an fd when it
 * is a tar archive; returns the fd, -2 when not an archive, -1 on error. */
static int archive_to_tar(const char *path, struct berr **err)
{
	/* recognised as an archive only if libarchive reads a tar header */
	struct archive *a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_tar(a);
	struct archive_entry *ae;
	bool is_tar = archive_read_open_filename(a, path, 16384) == ARCHIVE_OK &&
		      archive_read_next_header(a, &ae) == ARCHIVE_OK;
	archive_read_free(a);
	if (!is_tar)
		return -2;
	a = archive_read_new();
	archive_read_support_filter_all(a);
	archive_read_support_format_raw(a);
	if (archive_read_open_filename(a, path, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		berr_set(err, BERR_INPUT, "read archive '%s': %s", path, archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	int fd = memfd_create("berth-add", MFD_CLOEXEC);
	if (fd < 0) {
		archive_read_free(a);
		return berr_set_errno(err, BERR_IO, errno, "memfd_create");
	}
	static char buf[65536];
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, sizeof(buf));
		if (n < 0) {
			berr_set(err, BERR_INPUT, "decompress '%s': %s", path, archive_error_string(a));
			archive_read_free(a);
			close(fd);
			return -1;
		}
		if (n == 0)
			break;
		if (bfd_write_all(fd, buf, (size_t)n, "archive", err) < 0) {
			archive_read_free(a);
			close(fd);
			return -1;
		}
	}
	archive_read_free(a);
	lseek(fd, 0, SEEK_SET);
	return fd;
}

static char *mk_tmp(struct bld *b, struct berr **err)
{
	return bld_tmp_mkdtemp(b, "copy", err);
}


/* COPY --chown in a windows stage, as BuildKit resolves it: one account
 * name made the owner SID of every entry. The two container accounts have
 * fixed SIDs; a SID is taken as written; any other name would need the
 * image's SAM registry hive, which BuildKit parses and berth does not. */
static char *win_owner_sid(const char *spec, struct berr **err)
{
	unsigned char bin[IMG_WIN_SID_MAX];
	if (!strcasecmp(spec, "ContainerAdministrator"))
		return xstrdup("S-1-5-93-2-1");
	if (!strcasecmp(spec, "ContainerUser"))
		return xstrdup("S-1-5-93-2-2");
	if (strchr(spec, ':')) {
		berr_set(err, BERR_INPUT, "--chown=%s in a windows stage: windows takes one account "
			 "name (it becomes the owner), not user:group", spec);
		return NULL;
	}
	if (img_win_sid_parse(spec, bin)) {
		char *s = xstrdup(spec);
		s[0] = 'S';
		return s;
	}
	berr_set(err, BERR_UNSUPPORTED, "--chown=%s in a windows stage: berth resolves "
		 "ContainerAdministrator, ContainerUser and SIDs (S-1-5-21-...); other accounts "
		 "live in the image's SAM registry hive, which berth does not read; give the "
		 "account's SID", spec);
	return NULL;
}

static int exclude_new(const struct df_copy *c, struct df_env *env, char escape,
		       struct df_ignore **out, struct berr **err)
{
	*out = NULL;
	if (!c->exclude.items || !c->exclude.n)
		return 0;
	struct df_lexer lex = DF_LEXER_INIT(escape);
	char **pats = xcalloc(c->exclude.n, sizeof(char *));
	int rc = 0;
	for (size_t i = 0; i < c->exclude.n && rc == 0; i++) {
		pats[i] = df_shell_process_word(&lex, c->exclude.items[i], env, NULL, err);
		if (!pats[i])
			rc = -1;
	}
	if (rc == 0)
		rc = df_ignore_new(pats, c->exclude.n, out, err);
	df_ignore_patterns_free(pats, c->exclude.n);
	return rc;
}

int bld_copy_prepare(struct bld *b, struct bld_stage *s, const struct df_instr *in,
		     struct df_env *env, struct bld_copy_plan **out, struct img_digest *inputs,
		     char **summary, struct berr **err)
{
	const struct df_copy *c = &in->u.copy;
	bool add = in->kind == DF_I_ADD;
	struct df_lexer lex = DF_LEXER_INIT(b->plan->file->escape);
	struct bld_copy_plan *cp = xcalloc(1, sizeof(*cp));
	struct img_hasher *h = img_hasher_new();
	struct df_ignore *excl = NULL;
	struct bld_context *src_ctx = NULL;
	char *src_rootfs = NULL;
	_cleanup_bbuf_ struct bbuf sum = BBUF_INIT;
	char **srcs = NULL;
	size_t nsrcs = c->sources.n;
	_cleanup_free_ char *dest = NULL, *raw_dest = NULL, *chown = NULL, *chmod_s = NULL,
			    *from = NULL, *checksum = NULL;
	bool dir_hint = false;
	int rc = -1;
	cp->windows = s->windows;

	raw_dest = df_shell_process_word(&lex, c->dest, env, NULL, err);
	chown = df_shell_process_word(&lex, c->chown, env, NULL, err);
	chmod_s = df_shell_process_word(&lex, c->chmod, env, NULL, err);
	from = xstrdup(c->from);
	checksum = df_shell_process_word(&lex, c->checksum, env, NULL, err);
	if (!raw_dest || !chown || !chmod_s || !checksum)
		goto out;
	if (bld_stage_path(s, raw_dest, &dest, &dir_hint, err) < 0)
		goto out;
	srcs = xcalloc(nsrcs + 1, sizeof(char *));
	for (size_t i = 0; i < nsrcs; i++) {
		srcs[i] = df_shell_process_word(&lex, c->sources.items[i], env, NULL, err);
		if (!srcs[i])
			goto out;
	}
	bbuf_addf(&sum, NULL, "%s", add ? "ADD" : "COPY");
	if (from[0])
		bbuf_addf(&sum, NULL, " --from=%s", from);
	if (chown[0])
		bbuf_addf(&sum, NULL, " --chown=%s", chown);
	if (chmod_s[0])
		bbuf_addf(&sum, NULL, " --chmod=%s", chmod_s);
	if (c->link)
		bbuf_addf(&sum, NULL, " --link");
	if (c->parents)
		bbuf_addf(&sum, NULL, " --parents");
	for (size_t i = 0; i < c->exclude.n; i++)
		bbuf_addf(&sum, NULL, " --exclude=%s", c->exclude.items[i]);
	if (checksum[0])
		bbuf_addf(&sum, NULL, " --checksum=%s", checksum);
	for (size_t i = 0; i < nsrcs; i++)
		bbuf_addf(&sum, NULL, " %s", srcs[i]);
	for (size_t i = 0; i < c->ncontents; i++)
		bbuf_addf(&sum, NULL, " <<%s", c->contents[i].path);
	bbuf_addf(&sum, NULL, " %s", raw_dest);
	img_hasher_update(h, sum.data, sum.len);

	if (chmod_s[0]) {
		char *end = NULL;
		errno = 0;
		unsigned long m = strtoul(chmod_s, &end, 8);
		if (errno || *end || m > 07777 || end == chmod_s) {
			berr_set(err, BERR_INPUT, "invalid chmod parameter: '%s' (octal mode expected)",
				 chmod_s);
			goto out;
		}
		cp->chmod = true;
		cp->mode = (mode_t)m;
	}
	if (checksum[0]) {
		if (nsrcs != 1 || !is_url(srcs[0])) {
			berr_set(err, BERR_INPUT, "checksum can't be specified for non-HTTP(S) sources");
			goto out;
		}
		if (!img_digest_valid(checksum)) {
			berr_set(err, BERR_INPUT, "invalid checksum digest format: '%s'", checksum);
			goto out;
		}
	}
	/* a lazy base is read only for --chown names: COPY into it works as
	 * with --link (see docs/registry.md) */
	if (s->nlayers && !c->link && (!s->lazy || chown[0])) {
		if (bld_rootfs(b, s, &cp->stage_rootfs, err) < 0)
			goto out;
	}
	if (chown[0]) {
		if (s->windows) {
			if (!(cp->win_owner = win_owner_sid(chown, err)))
				goto out;
		} else if (bld_resolve_owner(cp->stage_rootfs, chown, &cp->uid, &cp->gid, err) < 0)
			goto out;
	}
	if (exclude_new(c, env, b->plan->file->escape, &excl, err) < 0)
		goto out;

	/* source filesystem */
	if (from[0]) {
		bool named_dir = false;
		for (size_t i = 0; i < b->nnamed; i++)
			if (!strcmp(b->named[i].name, from) && b->named[i].dir) {
				named_dir = true;
				if (bld_context_open(b->named[i].dir, NULL, NULL, &src_ctx, err) < 0)
					goto out;
			}
		if (!named_dir) {
			if (bld_load_source_stage(b, s, from, in, &src_rootfs, err) < 0)
				goto out;
			if (bld_context_open(src_rootfs, NULL, NULL, &src_ctx, err) < 0)
				goto out;
		}
	}
	struct bld_context *ctx = src_ctx ? src_ctx : b->ctx;

	/* expand wildcards; decide whether dest is a directory */
	char ***lists = xcalloc(nsrcs + 1, sizeof(char **));
	size_t *counts = xcalloc(nsrcs + 1, sizeof(size_t));
	size_t total = c->ncontents;
	bool wild = false;
	for (size_t i = 0; i < nsrcs; i++) {
		if (add && is_url(srcs[i])) {
			total++;
			continue;
		}
		wild |= bld_has_wildcard(srcs[i]);
		if (!from[0] && b->o->no_context) {
			berr_set(err, BERR_INPUT, "%s '%s': there is no build context (the Dockerfile "
				 "came from stdin with 'berth build -'); pass a context directory, or a "
				 "tar archive of it on stdin", add ? "ADD" : "COPY", srcs[i]);
			goto free_lists;
		}
		if (bld_context_expand(ctx, srcs[i], &lists[i], &counts[i], err) < 0) {
			if (*err && (*err)->code == BERR_NOTFOUND) {
				berr_clear(err);
				if (!from[0])
					berr_set(err, BERR_NOTFOUND,
						 "%s failed to compute cache key: '%s' not found in the "
						 "build context", add ? "ADD" : "COPY", srcs[i]);
				else
					berr_set(err, BERR_NOTFOUND, "%s --from=%s: '%s' not found",
						 add ? "ADD" : "COPY", from, srcs[i]);
			}
			goto free_lists;
		}
		total += counts[i];
	}
	bool dest_dir = dir_hint || nsrcs + c->ncontents > 1 || wild;
	if (nsrcs + c->ncontents > 1 && !dir_hint) {
		berr_set(err, BERR_INPUT,
			 "When using %s with more than one source file, the destination must be a "
			 "directory and end with a /", add ? "ADD" : "COPY");
		goto free_lists;
	}
	/* resolve symlinked parents of dest inside the stage (e.g. /bin -> usr/bin) */
	if (cp->stage_rootfs && !s->windows) {
		_cleanup_free_ char *probe = xstrdup(dest);
		_cleanup_free_ char *rest = xstrdup("");
		for (;;) {
			struct stat st;
			_cleanup_free_ char *real = NULL;
			_cleanup_free_ char *dotted = xasprintf("%s/.", probe);
			int r = bld_rootfs_stat(cp->stage_rootfs, dotted, false, &st, &real, err);
			if (r < 0)
				goto free_lists;
			if (r == 0 && S_ISDIR(st.st_mode)) {
				char *nd = *rest ? join_dst(real, rest) : xstrdup(real);
				free(dest);
				dest = nd;
				if (!*rest)
					dest_dir = dest_dir || (total == 1 && nsrcs == 1);
				break;
			}
			if (!strcmp(probe, "/"))
				break;
			char *slash = strrchr(probe, '/');
			char *nrest = *rest ? xasprintf("%s/%s", slash + 1, rest) : xstrdup(slash + 1);
			free(rest);
			rest = nrest;
			if (slash == probe)
				slash[1] = '\0';
			else
				*slash = '\0';
		}
	} else if (cp->stage_rootfs && s->windows && !dest_dir) {
		struct stat st;
		int r = bld_rootfs_stat(cp->stage_rootfs, dest, true, &st, NULL, err);
		if (r < 0)
			goto free_lists;
		if (r == 0 && S_ISDIR(st.st_mode))
			dest_dir = true;
	}

	/* heredocs */
	for (size_t i = 0; i < c->ncontents; i++) {
		char *t = mk_tmp(b, err);
		if (!t)
			goto free_lists;
		const struct df_source_content *sc = &c->contents[i];
		_cleanup_free_ char *data = NULL;
		if (sc->expand) {
			struct df_lexer hl = DF_LEXER_INIT(b->plan->file->escape);
			hl.skip_process_quotes = true;
			data = df_shell_process_word(&hl, sc->data, env, NULL, err);
			if (!data)
				goto free_lists;
		} else {
			data = xstrdup(sc->data);
		}
		_cleanup_free_ char *p = xasprintf("%s/f", t);
		if (bfile_write_atomic(p, data, strlen(data), 0644, err) < 0)
			goto free_lists;
		struct timespec ts[2] = { { b->now, 0 }, { b->now, 0 } };
		utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
		_cleanup_free_ char *dst = dest_dir ? join_dst(dest, sc->path) : xstrdup(dest);
		struct stat st;
		lstat(p, &st);
		hash_item(NULL, NULL, h, dst, &st, NULL, NULL, -1, err);
		img_hasher_update(h, data, strlen(data));
		add_item(cp, p, dst, false, false);
	}

	for (size_t i = 0; i < nsrcs; i++) {
		if (add && is_url(srcs[i])) {
			char *t = mk_tmp(b, err);
			if (!t)
				goto free_lists;
			_cleanup_free_ char *u = xstrdup(srcs[i]);
			char *q = strpbrk(u, "?#");
			if (q)
				*q = '\0';
			const char *bn = strrchr(u + 8, '/');
			bn = bn && bn[1] ? bn + 1 : "index.html";
			_cleanup_free_ char *p = xasprintf("%s/%s", t, bn);
			if (fetch_url(srcs[i], checksum, p, err) < 0)
				goto free_lists;
			chmod(p, 0600);
			struct timespec ts[2] = { { b->now, 0 }, { b->now, 0 } };
			utimensat(AT_FDCWD, p, ts, AT_SYMLINK_NOFOLLOW);
			_cleanup_free_ char *dst = dest_dir ? join_dst(dest, bn) : xstrdup(dest);
			struct stat st;
			lstat(p, &st);
			int fd = open(p, O_RDONLY | O_CLOEXEC);
			hash_item(NULL, NULL, h, dst, &st, NULL, NULL, fd, err);
			if (fd >= 0)
				close(fd);
			add_item(cp, p, dst, false, false);
			continue;
		}
		for (size_t k = 0; k < counts[i]; k++) {
			const char *rel = lists[i][k];
			struct stat st;
			/* ADD of a local tar archive (any compression): extract it */
			if (add && !from[0] && (c->unpack != 0)) {
				_cleanup_free_ char *host = NULL;
				int fd = bld_context_open_path(ctx, rel, err);
				if (fd < 0)
					goto free_lists;
				if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
					char link[64], buf[4096];
					snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
					ssize_t n = readlink(link, buf, sizeof(buf) - 1);
					if (n > 0) {
						buf[n] = '\0';
						host = xstrdup(buf);
					}
				}
				close(fd);
				if (host) {
					int tfd = archive_to_tar(host, err);
					if (tfd == -1)
						goto free_lists;
					if (tfd >= 0) {
						char *t = mk_tmp(b, err);
						if (!t) {
							close(tfd);
							goto free_lists;
						}
						struct img_apply_opts ao = { 0 };
						struct img_applier *ap = img_applier_new(t, &ao, err);
						int ar = ap ? img_apply_fd(ap, tfd, rel, err) : -1;
						img_applier_free(ap);
						close(tfd);
						if (ar < 0) {
							berr_wrap(err, "ADD: extract '%s'", rel);
							goto free_lists;
						}
						struct bld_context *xc = NULL;
						if (bld_context_open(t, NULL, NULL, &xc, err) < 0)
							goto free_lists;
						struct walk_ud u = { NULL, cp, h, dest, true, !chown[0], NULL, NULL, true, NULL, 0 };
						int wr = bld_context_walk(xc, ".", walk_cb, &u, err);
						bld_context_free(xc);
						/* the archive's root entry is the dest dir itself:
						 * drop it, dest keeps its own metadata */
						if (wr < 0)
							goto free_lists;
						continue;
					}
				}
			}
			struct walk_ud u = { b->sc, cp, h, NULL, false, false, excl, NULL, false, NULL, 0 };
			u.scd = bld_statcache_dir(b->sc, bld_context_dir(ctx));
			bld_ahead_fn ahead = u.scd ? walk_ahead : NULL;
			_cleanup_free_ char *bn_src = xstrdup(rel);
			const char *bn = strrchr(bn_src, '/');
			bn = bn ? bn + 1 : bn_src;
			_cleanup_free_ char *fdst = NULL;
			/* type of the source, followed: a symlink source copies its
			 * target; an unreadable one is reported by the walk */
			int sfd = bld_context_open_path(ctx, rel, err);
			if (sfd < 0) {
				berr_clear(err);
			} else {
				if (fstat(sfd, &st) == 0)
					u.src_is_dir = S_ISDIR(st.st_mode);
				close(sfd);
			}
			if (c->parents) {
				/* --parents keeps the source path (from a "/./" pivot if any) */
				const char *piv = strstr(srcs[i], "/./");
				_cleanup_free_ char *cl = NULL;
				if (piv) {
					_cleanup_free_ char *pre = xstrndup(srcs[i], (size_t)(piv - srcs[i]));
					_cleanup_free_ char *pc = bpath_clean(pre[0] == '/' ? pre + 1 : pre);
					size_t pl = strcmp(pc, ".") ? strlen(pc) : 0;
					cl = xstrdup(rel + (pl && !strncmp(rel, pc, pl) ? pl + (rel[pl] == '/') : 0));
				} else {
					cl = xstrdup(rel);
				}
				u.dst_base = dest;
				u.prefix = strcmp(cl, ".") ? cl : "";
				_cleanup_free_ char *keep = xstrdup(u.prefix);
				u.prefix = keep;
				if (bld_context_walk_ahead(ctx, rel, ahead, walk_cb, &u, err) < 0)
					goto free_lists;
				continue;
			}
			if (u.src_is_dir) {
				u.dst_base = dest;
			} else {
				fdst = dest_dir ? join_dst(dest, bn) : xstrdup(dest);
				u.dst_base = fdst;
			}
			if (bld_context_walk_ahead(ctx, rel, ahead, walk_cb, &u, err) < 0)
				goto free_lists;
		}
	}

	/* parents of dest that exist in the stage keep their metadata; missing
	 * ones are created 0755 and owned by the --chown user (BuildKit) */
	if (!s->windows && !c->link) {
		_cleanup_free_ char *p = xstrdup(dest);
		bool first = dest_dir;
		for (;;) {
			if (!first) {
				char *slash = strrchr(p, '/');
				if (!slash || slash == p)
					break;
				*slash = '\0';
			}
			first = false;
			if (!strcmp(p, "/"))
				break;
			struct stat st;
			_cleanup_free_ char *real = NULL;
			int r = cp->stage_rootfs
					? bld_rootfs_stat(cp->stage_rootfs, p, false, &st, &real, err)
					: 1;
			if (r < 0)
				goto free_lists;
			if (r == 0 && S_ISDIR(st.st_mode)) {
				cp->parents = xreallocarray(cp->parents, cp->nparents * 2 + 2, sizeof(char *));
				cp->parents[cp->nparents * 2] = xasprintf("%s%s", cp->stage_rootfs, p);
				cp->parents[cp->nparents * 2 + 1] = xstrdup(p);
				cp->nparents++;
			} else if (r == 1) {
				add_item(cp, NULL, p, false, true);
			}
		}
		/* dest itself when it already exists as a directory */
	}
	char own[128];
	snprintf(own, sizeof(own), "\nowner %u:%u%s%s", (unsigned)cp->uid, (unsigned)cp->gid,
		 cp->win_owner ? " " : "", cp->win_owner ? cp->win_owner : "");
	img_hasher_update(h, own, strlen(own));
	img_hasher_final(h, inputs);
	*summary = bbuf_detach(&sum, NULL);
	*out = steal_pointer(&cp);
	rc = 0;
free_lists:
	for (size_t i = 0; i < nsrcs; i++) {
		for (size_t k = 0; lists[i] && k < counts[i]; k++)
			free(lists[i][k]);
		free(lists[i]);
	}
	free(lists);
	free(counts);
out:
	if (srcs)
		for (size_t i = 0; i < nsrcs; i++)
			free(srcs[i]);
	free(srcs);
	img_hasher_free(h);
	df_ignore_free(excl);
	bld_context_free(src_ctx);
	free(src_rootfs);
	bld_copy_plan_free(cp);
	return rc;
}

static int write_item(struct bld *b, const struct bld_copy_plan *cp, const struct item *it,
		      struct img_layer *layer, struct berr **err)
{
	struct img_layer_entry e = { .src = it->src, .dst = it->dst };
	if (it->dir) {
		e.type = IMG_ENTRY_DIR;
		e.set = IMG_SET_MODE | IMG_SET_MTIME;
		e.mode = 0755;
		e.mtime = b->now;
	}
	if (!it->keep_owner) {
		e.set |= IMG_SET_OWNER;
		e.uid = cp->uid;
		e.gid = cp->gid;
	}
	if (cp->chmod && !it->dir) {
		struct stat st;
		if (lstat(it->src, &st) == 0 && !S_ISLNK(st.st_mode)) {
			e.set |= IMG_SET_MODE;
			e.mode = cp->mode;
		}
	}
	return img_layer_add(layer, &e, err);
}

int bld_copy_write(struct bld *b, struct bld_stage *s, struct bld_copy_plan *cp,
		   struct img_layer *layer, struct berr **err)
{
	(void)s;
	if (cp->win_owner && img_layer_set_windows_owner(layer, cp->win_owner, err) < 0)
		return -1;
	for (size_t i = 0; i < cp->nparents; i++) {
		struct img_layer_entry e = { .src = cp->parents[i * 2], .dst = cp->parents[i * 2 + 1] };
		if (img_layer_add(layer, &e, err) < 0)
			return -1;
	}
	for (const struct item_block *blk = cp->first; blk; blk = blk->next)
		for (size_t i = 0; i < blk->n; i++)
			if (write_item(b, cp, &blk->v[i], layer, err) < 0)
				return -1;
	return 0;
}
