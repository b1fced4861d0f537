#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/common.h"

int bfd_write_all(int fd, const void *p, size_t n, const char *name, struct berr **err)
{
	const char *c = p;
	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w < 0) {
			if (errno == EINTR)
				continue;
			return berr_set_errno(err, BERR_IO, errno, "write '%s'", name);
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

int bfile_fsync_dir(const char *path, struct berr **err)
{
	_cleanup_free_ char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	_cleanup_close_ int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "open directory '%s'", dir);
	if (fsync(fd) < 0 && errno != EINVAL)
		return berr_set_errno(err, BERR_IO, errno, "fsync directory '%s'", dir);
	return 0;
}

int bfile_write_atomic(const char *path, const void *data, size_t len, mode_t mode,
		       struct berr **err)
{
	_cleanup_free_ char *tmp = xasprintf("%s.tmp-XXXXXX", path);
	_cleanup_close_ int fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, BERR_IO, errno, "create temporary file for '%s'", path);
	if (bfd_write_all(fd, data, len, tmp, err) < 0)
		goto fail;
	if (fchmod(fd, mode) < 0) {
		berr_set_errno(err, BERR_IO, errno, "chmod '%s'", tmp);
		goto fail;
	}
	if (fsync(fd) < 0) {
		berr_set_errno(err, BERR_IO, errno, "fsync '%s'", tmp);
		goto fail;
	}
	if (close(steal_fd(&fd)) < 0) {
		berr_set_errno(err, BERR_IO, errno, "close '%s'", tmp);
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		berr_set_errno(err, BERR_IO, errno, "rename '%s' to '%s'", tmp, path);
		goto fail;
	}
	return bfile_fsync_dir(path, err);
fail:
	unlink(tmp);
	return -1;
}

int bfd_read_all(int fd, const char *name, size_t limit, struct bbuf *b, struct berr **err)
{
	char chunk[65536];
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return berr_set_errno(err, BERR_IO, errno, "read '%s'", name);
		}
		if (r == 0)
			break;
		if (limit && b->len + (size_t)r > limit)
			return berr_set(err, BERR_LIMIT, "'%s' is larger than the limit of %zu bytes",
					name, limit);
		if (bbuf_add(b, chunk, (size_t)r, err) < 0)
			return -1;
	}
	if (!b->data)
		bbuf_add(b, "", 0, NULL);
	return 0;
}

int bfile_read_all(const char *path, size_t limit, struct bbuf *b, struct berr **err)
{
	if (strcmp(path, "-") == 0)
		return bfd_read_all(STDIN_FILENO, "<stdin>", limit, b, err);
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return berr_set_errno(err, errno == ENOENT ? BERR_NOTFOUND : BERR_IO, errno,
				      "open '%s'", path);
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode))
		return berr_set(err, BERR_INPUT, "'%s' is a directory", path);
	return bfd_read_all(fd, path, limit, b, err);
}

int bfile_mkdir_p(const char *path, mode_t mode, struct berr **err)
{
	_cleanup_free_ char *p = xstrdup(path);
	size_t n = strlen(p);
	for (size_t i = 1; i <= n; i++) {
		if (p[i] == '/' || p[i] == '\0') {
			char c = p[i];
			p[i] = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return berr_set_errno(err, BERR_IO, errno, "mkdir '%s'", p);
			p[i] = c;
		}
	}
	return 0;
}

/* nftw passes no context: the byte count of the walk in progress */
static __thread uint64_t rm_rf_bytes;

static int rm_rf_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)ftw;
	if (flag == FTW_F && S_ISREG(sb->st_mode))
		rm_rf_bytes += (uint64_t)sb->st_size;
	return remove(p) < 0 && errno != ENOENT ? -1 : 0;
}

int bfile_rm_rf(const char *path, uint64_t *bytes)
{
	rm_rf_bytes = 0;
	int r = nftw(path, rm_rf_cb, 32, FTW_DEPTH | FTW_PHYS);
	if (bytes)
		*bytes = rm_rf_bytes;
	return r;
}
