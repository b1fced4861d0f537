/* Executor registry (bld_exec.h). No executor is built in yet: the Linux
 * sandbox (namespaces + overlay) and the Docker Engine executor plug in
 * here as entries of `executors`. */
#include <string.h>

#include "builder/bld_exec.h"
#include "common/common.h"

/* Filled as executors land; each entry is tried in order by "auto". */
static const struct bld_executor *const executors[] = { NULL };

bool bld_executor_name_valid(const char *name)
{
	return !strcmp(name, "auto") || !strcmp(name, "linux") || !strcmp(name, "docker") ||
	       !strcmp(name, "none");
}

static const char *what_runs(const struct img_platform *p)
{
	if (p->os && !strcmp(p->os, "windows"))
		return "a Windows Docker Engine of a compatible build (--executor docker with "
		       "DOCKER_HOST pointing at a Windows host; see 'berth compat check')";
	return "the Linux sandbox (--executor linux: user namespaces and overlayfs)";
}

const struct bld_executor *bld_executor_select(const char *name, const struct img_platform *p,
					       struct berr **err)
{
	_cleanup_free_ char *plat = img_platform_format(p);
	if (!strcmp(name, "none"))
		berr_set(err, BERR_UNSUPPORTED,
			 "RUN needs an executor but --executor none was given; a %s stage would run "
			 "with %s", plat, what_runs(p));
	for (size_t i = 0; executors[i]; i++) {
		const struct bld_executor *x = executors[i];
		if (strcmp(name, "auto") && strcmp(name, x->name))
			continue;
		_cleanup_free_ char *why = x->unsupported(p);
		if (!why)
			return x;
	}
	if (!strcmp(name, "none"))
		return NULL;
	return berr_set(err, BERR_UNSUPPORTED,
			"no executor available to RUN in a %s stage (executor '%s'): it would run "
			"with %s, which this berth does not provide yet",
			plat, name, what_runs(p)),
	       NULL;
}
