/* Fuzz the Docker reference parser: no crash, and whatever parses must
 * print to a string that parses back to the same string. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "parser/df_ref.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = xstrndup((const char *)data, size);
	struct berr *err = NULL;
	struct df_ref *r = NULL;
	if (df_ref_parse_normalized(s, &r, &err) == 0) {
		char *str = df_ref_string(r), *fam = df_ref_familiar(r);
		struct df_ref *again = NULL;
		if (df_ref_parse_normalized(str, &again, &err) < 0)
			abort();
		char *str2 = df_ref_string(again);
		if (strcmp(str, str2) != 0)
			abort();
		free(str2);
		df_ref_free(again);
		/* the stores' tag names: "latest" added, still round-trips */
		df_ref_tag_name_only(r);
		char *tagged = df_ref_string(r);
		if (df_ref_parse_normalized(tagged, &again, &err) < 0 || (!again->tag && !again->digest))
			abort();
		df_ref_free(again);
		free(tagged);
		free(str);
		free(fam);
		df_ref_free(r);
		r = NULL;
	}
	berr_clear(&err);
	if (df_ref_parse_docker(s, &r, &err) == 0 && !r->tag == !r->digest)
		abort(); /* exactly one of tag and digest */
	df_ref_free(r);
	r = NULL;
	berr_clear(&err);
	if (df_ref_parse(s, &r, &err) == 0) {
		char *n = df_ref_familiar_name(r);
		free(n);
	}
	df_ref_free(r);
	berr_clear(&err);
	df_digest_validate(s, &err);
	berr_clear(&err);
	free(s);
	return 0;
}
