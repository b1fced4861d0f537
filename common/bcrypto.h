/* libcrypto: SHA-256 linked in, the rest loaded when first needed.
 *
 * Why: loading libcrypto.so.3 costs ~3 ms at every start of berth on
 * these machines, measured (an empty program 2.0 ms; the same linked with
 * -lcrypto 5.0 ms: relocating its ~17,000 relative relocations touches
 * ~90 pages of its data, and a page fault is dear in these VMs). Nearly
 * every command hashes (a cached rebuild's cache keys, lint's and compat's
 * inputs), so SHA-256 cannot be loaded lazily; but it is five small objects
 * of libcrypto.a (the SHA-256 code, its SHA-NI/AVX assembly and the CPU
 * feature probe), which berth links in (the Makefile, with their symbols
 * kept hidden: a libcrypto.so loaded later, by libcurl or below, keeps its
 * own). Linked, they cost nothing measurable at start.
 *
 * The rest berth uses -- base64 (Windows layers' security descriptors,
 * registry credentials) and the version string -- would pull OpenSSL's
 * whole initialisation into the binary (error tables, providers: 4 MB),
 * so it comes from libcrypto.so.3, dlopened on first use (common/bdl.h).
 * TLS is libcurl's, with the system's libssl and libcrypto.
 *
 * Sources include this header instead of <openssl/evp.h> for the names
 * below, which are macros calling through the loaded table. Add a name to
 * BCRYPTO_FUNCS and a macro below when a new function is used. */
#ifndef BERTH_BCRYPTO_H
#define BERTH_BCRYPTO_H

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/opensslv.h>

#include "common/bdl.h"

#define BCRYPTO_STR_(x) #x
#define BCRYPTO_STR(x) BCRYPTO_STR_(x)
#define BCRYPTO_SONAME "libcrypto.so." BCRYPTO_STR(OPENSSL_SHLIB_VERSION)

#define BCRYPTO_FUNCS(X) \
	X(EVP_DecodeBlock) \
	X(EVP_EncodeBlock) \
	X(OpenSSL_version)

BDL_TABLE_DECL(bcrypto, BCRYPTO_FUNCS)

#ifndef BCRYPTO_IMPL
#define EVP_DecodeBlock (bcrypto()->EVP_DecodeBlock)
#define EVP_EncodeBlock (bcrypto()->EVP_EncodeBlock)
#define OpenSSL_version (bcrypto()->OpenSSL_version)
#endif

#endif
