/* libarchive, loaded when first needed.
 *
 * Why not link it: Debian's libarchive pulls in libxml2 (and with it ICU
 * and libstdc++), nettle, acl, lzma, lz4 and bz2. Loading and relocating
 * them cost ~5 ms at every start of berth, measured (an empty program 2.8
 * ms; the same linked with -larchive 8.0 ms), paid by every lint hook,
 * compat check and cached rebuild that never reads or writes a tar. So
 * berth does not link libarchive: the first archive_* call dlopens
 * libarchive.so.13 (the soname of the libarchive13 package the -dev
 * package we build against belongs to).
 *
 * Sources include this header instead of <archive.h>/<archive_entry.h>;
 * the archive_* names below are macros that call through the loaded table
 * (each member has the type of the function it stands for). libarchive is
 * not optional: when it cannot be loaded berth stops with a message, as
 * the dynamic linker would have at start (exit status 127). Add a name to
 * BARCHIVE_FUNCS and a macro below when a new function is used. */
#ifndef BERTH_BARCHIVE_H
#define BERTH_BARCHIVE_H

#include <archive.h>
#include <archive_entry.h>

#include "common/bdl.h"

#define BARCHIVE_SONAME "libarchive.so.13"

#define BARCHIVE_FUNCS(X) \
	X(archive_entry_clear) \
	X(archive_entry_copy_hardlink) \
	X(archive_entry_copy_pathname) \
	X(archive_entry_copy_symlink) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_hardlink) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname) \
	X(archive_entry_pathname_utf8) \
	X(archive_entry_perm) \
	X(archive_entry_rdevmajor) \
	X(archive_entry_rdevminor) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_hardlink) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_rdevmajor) \
	X(archive_entry_set_rdevminor) \
	X(archive_entry_set_size) \
	X(archive_entry_set_uid) \
	X(archive_entry_size) \
	X(archive_entry_size_is_set) \
	X(archive_entry_symlink) \
	X(archive_entry_uid) \
	X(archive_entry_xattr_add_entry) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_error_string) \
	X(archive_filter_code) \
	X(archive_read_data) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open) \
	X(archive_read_open_fd) \
	X(archive_read_open_filename) \
	X(archive_read_open_memory) \
	X(archive_read_support_filter_all) \
	X(archive_read_support_filter_bzip2) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_none) \
	X(archive_read_support_filter_xz) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_raw) \
	X(archive_read_support_format_tar) \
	X(archive_set_error) \
	X(archive_version_details) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_data_block) \
	X(archive_write_disk_new) \
	X(archive_write_disk_set_options) \
	X(archive_write_finish_entry) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open) \
	X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_bytes_per_block) \
	X(archive_write_set_format_option) \
	X(archive_write_set_format_pax_restricted)

BDL_TABLE_DECL(barchive, BARCHIVE_FUNCS)

#ifndef BARCHIVE_IMPL
#define archive_entry_clear (barchive()->archive_entry_clear)
#define archive_entry_copy_hardlink (barchive()->archive_entry_copy_hardlink)
#define archive_entry_copy_pathname (barchive()->archive_entry_copy_pathname)
#define archive_entry_copy_symlink (barchive()->archive_entry_copy_symlink)
#define archive_entry_filetype (barchive()->archive_entry_filetype)
#define archive_entry_free (barchive()->archive_entry_free)
#define archive_entry_gid (barchive()->archive_entry_gid)
#define archive_entry_hardlink (barchive()->archive_entry_hardlink)
#define archive_entry_mtime (barchive()->archive_entry_mtime)
#define archive_entry_mtime_nsec (barchive()->archive_entry_mtime_nsec)
#define archive_entry_new (barchive()->archive_entry_new)
#define archive_entry_pathname (barchive()->archive_entry_pathname)
#define archive_entry_pathname_utf8 (barchive()->archive_entry_pathname_utf8)
#define archive_entry_perm (barchive()->archive_entry_perm)
#define archive_entry_rdevmajor (barchive()->archive_entry_rdevmajor)
#define archive_entry_rdevminor (barchive()->archive_entry_rdevminor)
#define archive_entry_set_filetype (barchive()->archive_entry_set_filetype)
#define archive_entry_set_gid (barchive()->archive_entry_set_gid)
#define archive_entry_set_hardlink (barchive()->archive_entry_set_hardlink)
#define archive_entry_set_mtime (barchive()->archive_entry_set_mtime)
#define archive_entry_set_pathname (barchive()->archive_entry_set_pathname)
#define archive_entry_set_perm (barchive()->archive_entry_set_perm)
#define archive_entry_set_rdevmajor (barchive()->archive_entry_set_rdevmajor)
#define archive_entry_set_rdevminor (barchive()->archive_entry_set_rdevminor)
#define archive_entry_set_size (barchive()->archive_entry_set_size)
#define archive_entry_set_uid (barchive()->archive_entry_set_uid)
#define archive_entry_size (barchive()->archive_entry_size)
#define archive_entry_size_is_set (barchive()->archive_entry_size_is_set)
#define archive_entry_symlink (barchive()->archive_entry_symlink)
#define archive_entry_uid (barchive()->archive_entry_uid)
#define archive_entry_xattr_add_entry (barchive()->archive_entry_xattr_add_entry)
#define archive_entry_xattr_next (barchive()->archive_entry_xattr_next)
#define archive_entry_xattr_reset (barchive()->archive_entry_xattr_reset)
#define archive_error_string (barchive()->archive_error_string)
#define archive_filter_code (barchive()->archive_filter_code)
#define archive_read_data (barchive()->archive_read_data)
#define archive_read_data_block (barchive()->archive_read_data_block)
#define archive_read_free (barchive()->archive_read_free)
#define archive_read_new (barchive()->archive_read_new)
#define archive_read_next_header (barchive()->archive_read_next_header)
#define archive_read_open (barchive()->archive_read_open)
#define archive_read_open_fd (barchive()->archive_read_open_fd)
#define archive_read_open_filename (barchive()->archive_read_open_filename)
#define archive_read_open_memory (barchive()->archive_read_open_memory)
#define archive_read_support_filter_all (barchive()->archive_read_support_filter_all)
#define archive_read_support_filter_bzip2 (barchive()->archive_read_support_filter_bzip2)
#define archive_read_support_filter_gzip (barchive()->archive_read_support_filter_gzip)
#define archive_read_support_filter_none (barchive()->archive_read_support_filter_none)
#define archive_read_support_filter_xz (barchive()->archive_read_support_filter_xz)
#define archive_read_support_filter_zstd (barchive()->archive_read_support_filter_zstd)
#define archive_read_support_format_raw (barchive()->archive_read_support_format_raw)
#define archive_read_support_format_tar (barchive()->archive_read_support_format_tar)
#define archive_set_error (barchive()->archive_set_error)
#define archive_version_details (barchive()->archive_version_details)
#define archive_write_close (barchive()->archive_write_close)
#define archive_write_data (barchive()->archive_write_data)
#define archive_write_data_block (barchive()->archive_write_data_block)
#define archive_write_disk_new (barchive()->archive_write_disk_new)
#define archive_write_disk_set_options (barchive()->archive_write_disk_set_options)
#define archive_write_finish_entry (barchive()->archive_write_finish_entry)
#define archive_write_free (barchive()->archive_write_free)
#define archive_write_header (barchive()->archive_write_header)
#define archive_write_new (barchive()->archive_write_new)
#define archive_write_open (barchive()->archive_write_open)
#define archive_write_open_fd (barchive()->archive_write_open_fd)
#define archive_write_set_bytes_in_last_block (barchive()->archive_write_set_bytes_in_last_block)
#define archive_write_set_bytes_per_block (barchive()->archive_write_set_bytes_per_block)
#define archive_write_set_format_option (barchive()->archive_write_set_format_option)
#define archive_write_set_format_pax_restricted (barchive()->archive_write_set_format_pax_restricted)
#endif

#endif
