/* The Docker Engine executor as a builder executor (bld_exec.h). Owner:
 * builder/ (engine).
 *
 * Plugging in: add &bld_engine_executor to the executors[] table in
 * builder/bld_exec.c (after the linux executor, so "auto" prefers local
 * namespaces for Linux stages) and drop the "not available yet" message for
 * --executor docker. `berth build --engine URL --isolation MODE` should call
 * bld_engine_exec_configure before bld_build; without it the engine comes
 * from DOCKER_HOST / DOCKER_TLS_VERIFY / DOCKER_CERT_PATH (docker CLI rules).
 *
 * unsupported(p) connects (once per process), reads /info and /version and
 * answers with compat's isolation decision: NULL when the stage can run
 * there, else the reason (engine unreachable, OS mismatch, no isolation mode
 * for the base's os.version). Windows stages go through prepare_image and
 * take_layer (bld_exec.h): the chain and the engine's layer as they are. */
#ifndef BERTH_BLD_ENGINE_EXEC_H
#define BERTH_BLD_ENGINE_EXEC_H

#include "builder/bld_engine.h"
#include "builder/bld_exec.h"
#include "image/img_digest.h"

extern const struct bld_executor bld_engine_executor;

/* url NULL: $DOCKER_HOST or the default socket. Drops a cached connection. */
void bld_engine_exec_configure(const char *url, enum bld_engine_iso forced);
/* An engine is named: bld_engine_exec_configure got a URL or DOCKER_HOST is
 * set ("auto" uses the engine only then). */
bool bld_engine_exec_configured(void);
/* Close the cached connection and free the knowledge base. */
void bld_engine_exec_shutdown(void);

/* After run: the engine's layer tar exactly as the engine made it (valid
 * until release) and its diff_id; NULL when nothing changed. Windows stages
 * must use this instead of diff (re-encoding loses security descriptors). */
const char *bld_engine_exec_layer_path(struct bld_exec_session *s, struct img_digest *diff_id);
/* After run: the history comment ("berth RUN on engine URL (host), isolation X"). */
const char *bld_engine_exec_history(struct bld_exec_session *s);

#endif
