/* libFuzzer harness for the Dockerfile parser and its three printers. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "parser/df_ast.h"
#include "parser/df_print.h"
#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct df_file *f = NULL;
	struct berr *err = NULL;
	if (df_parse("fuzz", (const char *)data, size, &f, &err) < 0) {
		/* every error carries a position */
		if (!err || err->line < 1)
			__builtin_trap();
		berr_free(err);
		return 0;
	}
	struct bbuf out = BBUF_INIT;
	df_print_buildkit(f, &out);
	df_print_json(f, &out);
	df_print_tree(f, &out);
	bbuf_release(&out);
	df_file_free(f);
	return 0;
}
