/* zstd, zlib and libyaml, loaded when first needed.
 *
 * Why not link them: each cost 0.05-0.1 ms at every start of berth here,
 * measured (an empty program linked with each against one linked with
 * none), paid by every cached rebuild, lint hook and compat check, while
 * only writing a layer (zstd, gzip through zlib), reading compose or
 * workflow files (libyaml) and `berth --version` call them. Loaded as
 * barchive.h does it (common/bdl.h): not optional, exit 127 with a message
 * when missing.
 *
 * Sources include this header instead of <zstd.h>, <zlib.h> and
 * <yaml.h>; the names below are macros calling through the loaded tables.
 * Add a name to a FUNCS list and a macro below when a new function is
 * used. */
#ifndef BERTH_BLIBS_H
#define BERTH_BLIBS_H

#include <yaml.h>
#include <zlib.h>
#include <zstd.h>

#include "common/bdl.h"

#define BZSTD_FUNCS(X) \
	X(ZSTD_CCtx_setParameter) \
	X(ZSTD_compressStream2) \
	X(ZSTD_createCCtx) \
	X(ZSTD_freeCCtx) \
	X(ZSTD_getErrorName) \
	X(ZSTD_isError) \
	X(ZSTD_maxCLevel) \
	X(ZSTD_minCLevel) \
	X(ZSTD_versionString)
BDL_TABLE_DECL(bzstd, BZSTD_FUNCS)

#define BZLIB_FUNCS(X) \
	X(deflate) \
	X(deflateBound) \
	X(deflateEnd) \
	X(deflateInit2_) \
	X(deflateReset) \
	X(deflateSetHeader) \
	X(zlibVersion)
BDL_TABLE_DECL(bzlib, BZLIB_FUNCS)

#define BYAML_FUNCS(X) \
	X(yaml_document_delete) \
	X(yaml_document_get_node) \
	X(yaml_document_get_root_node) \
	X(yaml_get_version_string) \
	X(yaml_parser_delete) \
	X(yaml_parser_initialize) \
	X(yaml_parser_load) \
	X(yaml_parser_set_input_string)
BDL_TABLE_DECL(byaml, BYAML_FUNCS)

#ifndef BLIBS_IMPL
#define ZSTD_CCtx_setParameter (bzstd()->ZSTD_CCtx_setParameter)
#define ZSTD_compressStream2 (bzstd()->ZSTD_compressStream2)
#define ZSTD_createCCtx (bzstd()->ZSTD_createCCtx)
#define ZSTD_freeCCtx (bzstd()->ZSTD_freeCCtx)
#define ZSTD_getErrorName (bzstd()->ZSTD_getErrorName)
#define ZSTD_isError (bzstd()->ZSTD_isError)
#define ZSTD_maxCLevel (bzstd()->ZSTD_maxCLevel)
#define ZSTD_minCLevel (bzstd()->ZSTD_minCLevel)
#define ZSTD_versionString (bzstd()->ZSTD_versionString)
#define deflate (bzlib()->deflate)
#define deflateBound (bzlib()->deflateBound)
#define deflateEnd (bzlib()->deflateEnd)
#define deflateInit2_ (bzlib()->deflateInit2_) /* zlib.h's deflateInit2 calls it */
#define deflateReset (bzlib()->deflateReset)
#define deflateSetHeader (bzlib()->deflateSetHeader)
#define zlibVersion (bzlib()->zlibVersion)
#define yaml_document_delete (byaml()->yaml_document_delete)
#define yaml_document_get_node (byaml()->yaml_document_get_node)
#define yaml_document_get_root_node (byaml()->yaml_document_get_root_node)
#define yaml_get_version_string (byaml()->yaml_get_version_string)
#define yaml_parser_delete (byaml()->yaml_parser_delete)
#define yaml_parser_initialize (byaml()->yaml_parser_initialize)
#define yaml_parser_load (byaml()->yaml_parser_load)
#define yaml_parser_set_input_string (byaml()->yaml_parser_set_input_string)
#endif

#endif
