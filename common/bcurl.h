/* libcurl, loaded when first needed.
 *
 * Why not link it: Debian's libcurl pulls in about thirty shared libraries
 * (gnutls through librtmp, krb5, ldap, ssh2, idn2, ...). Loading and
 * relocating them cost ~30 ms at every start of berth, measured, which is
 * most of what a nothing-changed rebuild, a lint hook or a compat check
 * should take in all, for commands that never open a connection. So berth
 * does not link libcurl: the first curl call dlopens libcurl.so.4 (the
 * soname every Debian libcurl4 flavour of the -dev package we build
 * against installs) and runs curl_global_init once.
 *
 * Sources include this header instead of <curl/curl.h>; the curl_* names
 * below are macros that call through the loaded table. When libcurl cannot
 * be loaded, the table's entries fail the way libcurl reports failure
 * (NULL handles, CURLE_FAILED_INIT) and bcurl_init says why. */
#ifndef BERTH_BCURL_H
#define BERTH_BCURL_H

/* the type-checking wrappers of curl/typecheck-gcc.h are macros named like
 * the functions; ours take their place */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "common/berr.h"

struct bcurl_api {
	CURL *(*easy_init)(void);
	CURLcode (*easy_setopt)(CURL *, CURLoption, ...);
	CURLcode (*easy_getinfo)(CURL *, CURLINFO, ...);
	CURLcode (*easy_perform)(CURL *);
	void (*easy_cleanup)(CURL *);
	void (*easy_reset)(CURL *);
	const char *(*easy_strerror)(CURLcode);
	char *(*easy_escape)(CURL *, const char *, int);
	void (*free)(void *);
	struct curl_slist *(*slist_append)(struct curl_slist *, const char *);
	void (*slist_free_all)(struct curl_slist *);
	CURLU *(*url)(void);
	void (*url_cleanup)(CURLU *);
	CURLUcode (*url_set)(CURLU *, CURLUPart, const char *, unsigned int);
	CURLUcode (*url_get)(const CURLU *, CURLUPart, char **, unsigned int);
	CURLM *(*multi_init)(void);
	CURLMcode (*multi_cleanup)(CURLM *);
	CURLMcode (*multi_add_handle)(CURLM *, CURL *);
	CURLMcode (*multi_remove_handle)(CURLM *, CURL *);
	CURLMcode (*multi_perform)(CURLM *, int *);
	CURLMcode (*multi_poll)(CURLM *, struct curl_waitfd *, unsigned int, int, int *);
	CURLMsg *(*multi_info_read)(CURLM *, int *);
	char *(*version)(void);
};

/* Loads libcurl and runs curl_global_init, once per process (thread-safe);
 * later calls repeat the outcome. 0, or -1 with err saying what failed. */
int bcurl_init(struct berr **err);

/* The table (loading it on first use). Never NULL. */
const struct bcurl_api *bcurl(void);

/* curl.h defines these two as three-argument pass-through macros */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init() (bcurl()->easy_init())
#define curl_easy_setopt(...) (bcurl()->easy_setopt(__VA_ARGS__))
#define curl_easy_getinfo(...) (bcurl()->easy_getinfo(__VA_ARGS__))
#define curl_easy_perform(c) (bcurl()->easy_perform(c))
#define curl_easy_cleanup(c) (bcurl()->easy_cleanup(c))
#define curl_easy_reset(c) (bcurl()->easy_reset(c))
#define curl_easy_strerror(e) (bcurl()->easy_strerror(e))
#define curl_easy_escape(c, s, n) (bcurl()->easy_escape((c), (s), (n)))
#define curl_free(p) (bcurl()->free(p))
#define curl_slist_append(l, s) (bcurl()->slist_append((l), (s)))
#define curl_slist_free_all(l) (bcurl()->slist_free_all(l))
#define curl_url() (bcurl()->url())
#define curl_url_cleanup(u) (bcurl()->url_cleanup(u))
#define curl_url_set(u, p, s, f) (bcurl()->url_set((u), (p), (s), (f)))
#define curl_url_get(u, p, s, f) (bcurl()->url_get((u), (p), (s), (f)))
#define curl_multi_init() (bcurl()->multi_init())
#define curl_multi_cleanup(m) (bcurl()->multi_cleanup(m))
#define curl_multi_add_handle(m, c) (bcurl()->multi_add_handle((m), (c)))
#define curl_multi_remove_handle(m, c) (bcurl()->multi_remove_handle((m), (c)))
#define curl_multi_perform(m, n) (bcurl()->multi_perform((m), (n)))
#define curl_multi_poll(m, f, n, t, r) (bcurl()->multi_poll((m), (f), (n), (t), (r)))
#define curl_multi_info_read(m, n) (bcurl()->multi_info_read((m), (n)))
#define curl_version() (bcurl()->version())
/* bcurl_init runs it; a direct call would skip the loading */
#define curl_global_init(f) curl_global_init_is_done_by_bcurl_init

#endif
