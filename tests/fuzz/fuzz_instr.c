/* Fuzz the instruction layer: parse the input as a Dockerfile and validate
 * every instruction (reference printer + stage parse); also feed the raw
 * bytes to the --mount/--device/duration value parsers, which see user text
 * directly. Nothing may crash, leak or hang. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "parser/df_ast.h"
#include "parser/df_instr.h"
#include "common/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct berr *err = NULL;
	struct df_file *f = NULL;
	if (df_parse("fuzz", (const char *)data, size, &f, &err) == 0) {
		free(df_instr_print_reference(f));
		struct df_stages *st = NULL;
		if (df_stages_parse(f, &st, NULL, &err) == 0) {
			/* the builder's view: re-check each mount fully */
			for (size_t i = 0; i < st->nstages; i++)
				for (size_t j = 0; j < st->stages[i].ncmds; j++) {
					const struct df_instr *in = st->stages[i].cmds[j];
					if (in->kind != DF_I_RUN)
						continue;
					for (size_t k = 0; k < in->u.run.mount_specs.n; k++) {
						struct df_mount m;
						if (df_mount_parse(in->u.run.mount_specs.items[k],
								   df_expand_identity, NULL, &m, &err) == 0)
							df_mount_clear(&m);
						berr_clear(&err);
					}
				}
			df_stages_free(st);
		}
		berr_clear(&err);
		df_file_free(f);
	}
	berr_clear(&err);

	char *s = xstrndup((const char *)data, size);
	struct df_mount m;
	if (df_mount_parse(s, NULL, NULL, &m, &err) == 0)
		df_mount_clear(&m);
	berr_clear(&err);
	if (df_mount_parse(s, df_expand_identity, NULL, &m, &err) == 0)
		df_mount_clear(&m);
	berr_clear(&err);
	struct df_device d;
	if (df_device_parse(s, &d, &err) == 0)
		free(d.name);
	berr_clear(&err);
	int64_t ns;
	df_parse_duration(s, &ns, &err);
	berr_clear(&err);
	free(s);
	return 0;
}
