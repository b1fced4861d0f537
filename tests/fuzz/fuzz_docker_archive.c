/* Fuzz the archive importer: the input is written to a temp file and opened
 * as a docker-archive, then as an oci-archive; blobs go to a temp layout
 * that img_image_free removes. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "common/common.h"
#include "image/img_archive.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/berth-fuzz-archive.XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0)
		return 0;
	if (bfd_write_all(fd, data, size, path, NULL) < 0) {
		close(fd);
		unlink(path);
		return 0;
	}
	close(fd);
	static const enum img_source_kind kinds[] = { IMG_SRC_DOCKER_ARCHIVE, IMG_SRC_OCI_ARCHIVE };
	for (size_t i = 0; i < 2; i++) {
		struct img_source src = { .kind = kinds[i], .path = path };
		struct img_image *img = NULL;
		struct berr *err = NULL;
		if (img_image_open(&src, NULL, NULL, &img, &err) == 0 && img->manifest->n_layers > 1000)
			abort(); /* bounded by the archive size: cannot happen */
		img_image_free(img);
		berr_free(err);
	}
	unlink(path);
	return 0;
}
