/* libcurl loaded on first use (why: bcurl.h). */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "common/bcurl.h"
#include "common/common.h"

#define BCURL_SONAME "libcurl.so.4"

static char load_error[512];

/* What the table holds when libcurl could not be loaded: every call fails
 * as libcurl itself reports failure, so callers' ordinary error paths run. */
static CURL *stub_easy_init(void) { return NULL; }
static CURLcode stub_easy_setopt(CURL *c, CURLoption o, ...) { return CURLE_FAILED_INIT; }
static CURLcode stub_easy_getinfo(CURL *c, CURLINFO i, ...) { return CURLE_FAILED_INIT; }
static CURLcode stub_easy_perform(CURL *c) { return CURLE_FAILED_INIT; }
static void stub_easy_cleanup(CURL *c) {}
static void stub_easy_reset(CURL *c) {}
static const char *stub_easy_strerror(CURLcode e) { return load_error; }
static char *stub_easy_escape(CURL *c, const char *s, int n) { return NULL; }
static void stub_free(void *p) {}
static struct curl_slist *stub_slist_append(struct curl_slist *l, const char *s) { return NULL; }
static void stub_slist_free_all(struct curl_slist *l) {}
static CURLU *stub_url(void) { return NULL; }
static void stub_url_cleanup(CURLU *u) {}
static CURLUcode stub_url_set(CURLU *u, CURLUPart p, const char *s, unsigned int f)
{
	return CURLUE_BAD_HANDLE;
}
static CURLUcode stub_url_get(const CURLU *u, CURLUPart p, char **s, unsigned int f)
{
	return CURLUE_BAD_HANDLE;
}
static CURLM *stub_multi_init(void) { return NULL; }
static CURLMcode stub_multi_cleanup(CURLM *m) { return CURLM_BAD_HANDLE; }
static CURLMcode stub_multi_add_handle(CURLM *m, CURL *c) { return CURLM_BAD_HANDLE; }
static CURLMcode stub_multi_remove_handle(CURLM *m, CURL *c) { return CURLM_BAD_HANDLE; }
static CURLMcode stub_multi_perform(CURLM *m, int *n) { return CURLM_BAD_HANDLE; }
static CURLMcode stub_multi_poll(CURLM *m, struct curl_waitfd *f, unsigned int n, int t, int *r)
{
	return CURLM_BAD_HANDLE;
}
static CURLMsg *stub_multi_info_read(CURLM *m, int *n) { return NULL; }
static char *stub_version(void) { return load_error; }

static const struct bcurl_api stubs = {
	stub_easy_init, stub_easy_setopt, stub_easy_getinfo, stub_easy_perform,
	stub_easy_cleanup, stub_easy_reset, stub_easy_strerror, stub_easy_escape,
	stub_free, stub_slist_append, stub_slist_free_all, stub_url, stub_url_cleanup,
	stub_url_set, stub_url_get, stub_multi_init, stub_multi_cleanup,
	stub_multi_add_handle, stub_multi_remove_handle, stub_multi_perform,
	stub_multi_poll, stub_multi_info_read, stub_version,
};

static struct bcurl_api api;
static const struct bcurl_api *table = &stubs;
static pthread_once_t once = PTHREAD_ONCE_INIT;

/* dlsym into a function pointer: POSIX guarantees the conversion works */
#define SYM(field, name)                                                      \
	do {                                                                  \
		void *p_ = dlsym(h, name);                                    \
		if (!p_) {                                                    \
			missing = name;                                       \
			goto fail;                                            \
		}                                                             \
		memcpy(&api.field, &p_, sizeof(p_));                          \
	} while (0)

static void load(void)
{
	const char *missing = NULL;
	void *h = dlopen(BCURL_SONAME, RTLD_NOW | RTLD_LOCAL);
	if (!h) {
		const char *e = dlerror();
		snprintf(load_error, sizeof(load_error),
			 "libcurl could not be loaded (%s; install the libcurl4 package)",
			 e ? e : BCURL_SONAME);
		return;
	}
	SYM(easy_init, "curl_easy_init");
	SYM(easy_setopt, "curl_easy_setopt");
	SYM(easy_getinfo, "curl_easy_getinfo");
	SYM(easy_perform, "curl_easy_perform");
	SYM(easy_cleanup, "curl_easy_cleanup");
	SYM(easy_reset, "curl_easy_reset");
	SYM(easy_strerror, "curl_easy_strerror");
	SYM(easy_escape, "curl_easy_escape");
	SYM(free, "curl_free");
	SYM(slist_append, "curl_slist_append");
	SYM(slist_free_all, "curl_slist_free_all");
	SYM(url, "curl_url");
	SYM(url_cleanup, "curl_url_cleanup");
	SYM(url_set, "curl_url_set");
	SYM(url_get, "curl_url_get");
	SYM(multi_init, "curl_multi_init");
	SYM(multi_cleanup, "curl_multi_cleanup");
	SYM(multi_add_handle, "curl_multi_add_handle");
	SYM(multi_remove_handle, "curl_multi_remove_handle");
	SYM(multi_perform, "curl_multi_perform");
	SYM(multi_poll, "curl_multi_poll");
	SYM(multi_info_read, "curl_multi_info_read");
	SYM(version, "curl_version");
	CURLcode (*global_init)(long) = NULL;
	void *gi = dlsym(h, "curl_global_init");
	if (!gi) {
		missing = "curl_global_init";
		goto fail;
	}
	memcpy(&global_init, &gi, sizeof(gi));
	CURLcode rc = global_init(CURL_GLOBAL_DEFAULT);
	if (rc != CURLE_OK) {
		snprintf(load_error, sizeof(load_error), "curl_global_init failed (%s)",
			 api.easy_strerror(rc));
		return; /* the library stays loaded: it may hold state */
	}
	table = &api;
	return;
fail:
	snprintf(load_error, sizeof(load_error), "%s has no '%s' (libcurl too old?)",
		 BCURL_SONAME, missing);
	dlclose(h);
}

const struct bcurl_api *bcurl(void)
{
	pthread_once(&once, load);
	return table;
}

int bcurl_init(struct berr **err)
{
	if (bcurl() != &stubs)
		return 0;
	return berr_set(err, BERR_INTERNAL, "%s", load_error);
}
