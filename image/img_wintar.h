/* Windows layer format: a minimal ustar/PAX emitter, security descriptors and
 * Windows path mapping.
 *
 * Why a hand-written emitter: a Windows host imports a layer through
 * hcsshim/go-winio, which reads vendor PAX records (MSWINDOWS.rawsd,
 * MSWINDOWS.fileattr, LIBARCHIVE.creationtime) and keeps only the last `x`
 * header before an entry. libarchive has no public API to add arbitrary PAX
 * keywords (archive_entry.h lists it as a TODO), so those records cannot be
 * produced through it. The emitter below writes exactly one `x` header per
 * entry carrying every record, followed by a ustar header and the data.
 *
 * The Windows layer writer itself is img_layer with IMG_LAYER_WINDOWS
 * (img_wintar_new below is a shorthand): it shares entry collection, sorting
 * and hardlink detection with the Linux writer and uses this emitter to
 * write. Ownership: struct img_tarw borrows its bsink; the caller frees the
 * emitter with img_tarw_free. */
#ifndef BERTH_IMG_WINTAR_H
#define BERTH_IMG_WINTAR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/berr.h"
#include "common/sink.h"

struct img_layer;
struct img_layer_opts;

/* Win32 file attributes written in MSWINDOWS.fileattr */
#define IMG_WIN_ATTR_DIRECTORY 16u
#define IMG_WIN_ATTR_ARCHIVE 32u

/* ---- tar emitter ---- */

struct img_tarw;

struct img_tar_hdr {
	const char *name;     /* full entry name (directories end in '/') */
	const char *linkname; /* hardlink/symlink target or NULL */
	char typeflag;        /* '0' file, '1' hardlink, '2' symlink, '5' dir... */
	uint32_t mode;        /* including S_IF* type bits, as Windows writes it */
	uint64_t uid, gid;
	uint64_t size;        /* data bytes that must follow via img_tarw_data */
	int64_t mtime;
	uint32_t devmajor, devminor;
};

struct img_pax_rec {
	const char *key;
	const char *value;    /* bytes, need not be NUL-free */
	size_t vlen;
};

struct img_tarw *img_tarw_new(const struct bsink *out);
void img_tarw_free(struct img_tarw *w);
/* Writes one entry header: a single `x` header with recs plus whatever the
 * ustar header cannot hold (path, linkpath, size, mtime), records sorted by
 * key, then the ustar header. Fails if the previous entry's data is short. */
int img_tarw_header(struct img_tarw *w, const struct img_tar_hdr *h,
		    const struct img_pax_rec *recs, size_t nrecs, struct berr **err);
/* Entry data; more than the header's size is an error. */
int img_tarw_data(struct img_tarw *w, const void *p, size_t n, struct berr **err);
/* Pads the last entry, writes the two zero end blocks and flushes. */
int img_tarw_close(struct img_tarw *w, uint64_t *total_bytes, struct berr **err);

/* ---- Windows specifics ---- */

/* Map a Windows path (`C:\app\bin\x.dll`, `c:/app`, `\app`, `app\x`; drive
 * letter case-insensitive, only C:) to its layer name under `Files`
 * (`Files/app/bin/x.dll`; the drive root maps to `Files`). Rejects other
 * drives, UNC and device paths, `..` escapes, NTFS-invalid characters
 * (`<>:"|?*`, control characters) and components ending in '.' or ' '.
 * *out is owned by the caller. */
int img_win_path_map(const char *winpath, char **out, struct berr **err);

/* Self-relative security descriptors (MS-DTYP SECURITY_DESCRIPTOR_RELATIVE),
 * owner BUILTIN\Administrators, group NT AUTHORITY\SYSTEM, with the DACLs
 * BuildKit uses for files and directories:
 *   file: O:BAG:SYD:(A;;FA;;;BA)(A;;FA;;;SY)(A;;0x1200a9;;;BU)
 *   dir:  O:BAG:SYD:(A;OICI;FA;;;BA)(A;OICI;FA;;;SY)(A;;FA;;;BA)
 *         (A;OICIIO;GA;;;CO)(A;OICI;0x1200a9;;;BU)(A;CI;LC;;;BU)(A;CI;DC;;;BU)
 * Writes the binary form into buf (IMG_WIN_SD_MAX bytes suffice) and returns
 * its length. */
#define IMG_WIN_SD_MAX 512
size_t img_win_sd_build(bool dir, unsigned char *buf);
/* The same descriptor base64-encoded for MSWINDOWS.rawsd; caller frees. */
char *img_win_sd_base64(bool dir);

/* A SID in string form ("S-1-5-93-2-2": revision 1, an authority, 1 to 15
 * sub-authorities) to its binary form in out[IMG_WIN_SID_MAX]; returns the
 * length, or 0 when s is not a SID. */
#define IMG_WIN_SID_MAX 68
size_t img_win_sid_parse(const char *s, unsigned char *out);
/* The descriptor above with another owner (binary SID, as COPY --chown
 * makes it in BuildKit: the DACL stays), base64-encoded; NULL when
 * owner_sid is not a SID. Caller frees. */
char *img_win_sd_base64_owner(bool dir, const char *owner_sid);

/* Shorthand for img_layer_new with IMG_LAYER_WINDOWS set in opts->flags. */
struct img_layer *img_wintar_new(const struct img_layer_opts *opts, const struct bsink *out);

#endif
