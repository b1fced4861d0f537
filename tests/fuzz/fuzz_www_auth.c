/* Fuzz the WWW-Authenticate parser (a registry controls these bytes): no
 * crash, no leak, bounded output, and every parsed challenge is usable
 * (lowercase scheme, named parameters). Scope strings from the header are
 * also fed to the scope set, which must stay sorted and joinable. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"
#include "image/img_regauth.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 2 * IMG_AUTH_HEADER_MAX)
		return 0;
	char *s = xstrndup((const char *)data, size);
	struct img_auth_challenges c = { 0 };
	struct berr *err = NULL;
	int rc = img_auth_parse(s, &c, &err);
	if (rc < 0 && !err)
		abort();
	if (c.n > IMG_AUTH_MAX_CHALLENGES)
		abort();
	struct img_scopes sc = { 0 };
	for (size_t i = 0; i < c.n; i++) {
		const struct img_auth_challenge *ch = &c.v[i];
		if (!ch->scheme || !*ch->scheme || ch->n_params > IMG_AUTH_MAX_PARAMS)
			abort();
		for (const char *p = ch->scheme; *p; p++)
			if (isupper((unsigned char)*p))
				abort();
		for (size_t j = 0; j < ch->n_params; j++)
			if (!ch->params[j].name || !ch->params[j].value)
				abort();
		const char *scope = img_auth_param(ch, "scope");
		if (scope)
			img_scopes_add(&sc, scope);
	}
	char *j = img_scopes_join(&sc);
	for (size_t i = 1; i < sc.n; i++)
		if (strcmp(sc.v[i - 1], sc.v[i]) > 0)
			abort();
	if (!img_scopes_cover(&sc, &sc))
		abort();
	free(j);
	img_scopes_clear(&sc);
	img_auth_challenges_clear(&c);
	berr_free(err);
	free(s);
	return 0;
}
