/* CONTEXT "-" (bld_int.h): as `docker build -` does it, stdin is either a
 * tar archive (plain, gzip, bzip2, xz or zstd, recognised by reading a tar
 * header through the decompressor) that is the build context, or else the
 * Dockerfile itself with no context. stdin is spooled to a private
 * directory inside the build's temp dir (cache/tmp/build-*); an archive is extracted
 * there with the safe layer applier (img_apply: nothing outside the
 * directory is ever written or followed, expansion is capped). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/barchive.h"
#include "builder/bld_int.h"
#include "image/img_apply.h"
#include "common/common.h"

#define BLD_STDIN_CHUNK (256 * 1024)

static struct archive *tar_reader(void)
{
	/* the compressions docker accepts; no filter that runs a program */
	struct archive *a = archive_read_new();
	archive_read_support_filter_gzip(a);
	archive_read_support_filter_bzip2(a);
	archive_read_support_filter_xz(a);
	archive_read_support_filter_zstd(a);
	archive_read_support_filter_none(a);
	return a;
}

static int spool(int in, const char *path, struct berr **err)
{
	_cleanup_close_ int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", path);
	char *buf = xmalloc(BLD_STDIN_CHUNK);
	int rc = 0;
	for (;;) {
		ssize_t r = read(in, buf, BLD_STDIN_CHUNK);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = berr_set_errno(err, BERR_IO, errno, "read the build context from stdin");
			break;
		}
		if (r == 0)
			break;
		if (bfd_write_all(fd, buf, (size_t)r, path, err) < 0) {
			rc = -1;
			break;
		}
	}
	free(buf);
	return rc;
}

/* 1 and the outer filter code when the file is a tar archive, 0 when not */
static int sniff(const char *path, int *filter)
{
	struct archive *a = tar_reader();
	archive_read_support_format_tar(a);
	struct archive_entry *ae;
	bool tar = archive_read_open_filename(a, path, 16384) == ARCHIVE_OK &&
		   archive_read_next_header(a, &ae) == ARCHIVE_OK;
	*filter = tar ? archive_filter_code(a, 0) : ARCHIVE_FILTER_NONE;
	archive_read_free(a);
	return tar;
}

/* bzip2 / xz: the applier reads plain, gzip and zstd only */
static int decompress(const char *in, const char *out, struct berr **err)
{
	struct archive *a = tar_reader();
	archive_read_support_format_raw(a);
	struct archive_entry *ae;
	if (archive_read_open_filename(a, in, 65536) != ARCHIVE_OK ||
	    archive_read_next_header(a, &ae) != ARCHIVE_OK) {
		berr_set(err, BERR_INPUT, "build context from stdin: %s", archive_error_string(a));
		archive_read_free(a);
		return -1;
	}
	_cleanup_close_ int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		archive_read_free(a);
		return berr_set_errno(err, BERR_IO, errno, "create '%s'", out);
	}
	char *buf = xmalloc(BLD_STDIN_CHUNK);
	int rc = 0;
	for (;;) {
		la_ssize_t n = archive_read_data(a, buf, BLD_STDIN_CHUNK);
		if (n < 0) {
			rc = berr_set(err, BERR_INPUT, "build context from stdin: %s",
				      archive_error_string(a));
			break;
		}
		if (n == 0 || (rc = bfd_write_all(fd, buf, (size_t)n, out, err)) < 0)
			break;
	}
	free(buf);
	archive_read_free(a);
	return rc;
}

static int extract(const char *tar, const char *dir, struct berr **err)
{
	struct img_apply_opts ao = { .flags = IMG_APPLY_NO_CHOWN };
	_cleanup_img_applier_ struct img_applier *ap = img_applier_new(dir, &ao, err);
	_cleanup_close_ int fd = open(tar, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open '%s'", tar);
	if (!ap || img_apply_fd(ap, fd, "<stdin>", err) < 0)
		return berr_wrap(err, "build context from stdin");
	return 0;
}

/* -f inside the archive: a path in the context, not through a symlink
 * that leaves it */
static int find_dockerfile(struct bld_stdin *s, const char *f, struct berr **err)
{
	_cleanup_free_ char *rel = NULL;
	if (bld_context_clean(f ? f : "Dockerfile", &rel, err) < 0)
		return berr_wrap(err, "-f");
	s->name = xstrdup(rel);
	s->dockerfile = xasprintf("%s/%s", s->ctx, rel);
	_cleanup_free_ char *real = realpath(s->dockerfile, NULL);
	_cleanup_free_ char *root = realpath(s->ctx, NULL);
	size_t rl = root ? strlen(root) : 0;
	if (!real || !root)
		return berr_set(err, BERR_NOTFOUND,
				"Dockerfile '%s' not found in the build context from stdin", rel);
	if (strncmp(real, root, rl) != 0 || real[rl] != '/')
		return berr_set(err, BERR_SECURITY,
				"Dockerfile '%s' in the build context from stdin leads outside it", rel);
	return 0;
}

int bld_stdin_prepare(const char *tmp_dir, const char *dockerfile, int in,
		      struct bld_stdin *s, struct berr **err)
{
	memset(s, 0, sizeof(*s));
	if (dockerfile && !strcmp(dockerfile, "-"))
		return berr_set(err, BERR_USAGE, "the build context and the Dockerfile cannot both "
				"come from stdin ('-f -' with context '-')");
	s->dir = xasprintf("%s/stdin-XXXXXX", tmp_dir);
	if (!mkdtemp(s->dir)) {
		berr_set_errno(err, BERR_IO, errno, "create '%s'", s->dir);
		free(s->dir);
		s->dir = NULL;
		return -1;
	}
	_cleanup_free_ char *raw = xasprintf("%s/stdin", s->dir);
	s->ctx = xasprintf("%s/context", s->dir);
	int filter = 0;
	if (spool(in, raw, err) < 0 || mkdir(s->ctx, 0755) < 0) {
		if (!*err)
			berr_set_errno(err, BERR_IO, errno, "create '%s'", s->ctx);
		goto fail;
	}
	if (!sniff(raw, &filter)) {
		/* a Dockerfile: no context at all */
		if (dockerfile) {
			berr_set(err, BERR_USAGE, "-f '%s' names a file in the build context, but stdin "
				 "is a Dockerfile, not a tar archive", dockerfile);
			goto fail;
		}
		s->no_context = true;
		s->name = xstrdup("Dockerfile");
		s->dockerfile = steal_pointer(&raw);
		return 0;
	}
	if (filter != ARCHIVE_FILTER_NONE && filter != ARCHIVE_FILTER_GZIP &&
	    filter != ARCHIVE_FILTER_ZSTD) {
		_cleanup_free_ char *plain = xasprintf("%s/plain.tar", s->dir);
		if (decompress(raw, plain, err) < 0)
			goto fail;
		unlink(raw);
		free(raw);
		raw = steal_pointer(&plain);
	}
	if (extract(raw, s->ctx, err) < 0)
		goto fail;
	unlink(raw);
	if (find_dockerfile(s, dockerfile, err) < 0)
		goto fail;
	return 0;
fail:
	bld_stdin_clear(s);
	return -1;
}

void bld_stdin_clear(struct bld_stdin *s)
{
	if (s->dir)
		bfile_rm_rf(s->dir, NULL);
	free(s->dir);
	free(s->ctx);
	free(s->dockerfile);
	free(s->name);
	memset(s, 0, sizeof(*s));
}
