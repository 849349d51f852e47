/*
 * notify/fs.h -- small file-system helpers for crash-safe output
 *
 * Pipeline: notify writes packages, indexes, envelopes and bundles. Every
 * output that a later run or a person relies on is written so that a crash
 * at any instant leaves either the old state or the new one, never a torn
 * file: write to a temporary name in the same directory, fsync the file,
 * rename(2) over the final name, fsync the directory (mh_fs_write_atomic).
 * Whole directories are built under a temporary name and renamed the same
 * way (see package.c).
 *
 * Errors: MH_EIO with errno in mh_error.sys_errno and the path in
 * mh_error.origin. Paths are bounded by PATH_MAX (MH_ELIMIT beyond).
 * Threading: reentrant; concurrent writers must use distinct paths.
 */
#ifndef MH_NOTIFY_FS_H
#define MH_NOTIFY_FS_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "mailhound/status.h"

/* mkdir -p (mode 0755). Existing directories are fine. */
MH_MUST_CHECK mh_status mh_fs_mkdirs(const char *path, mh_error *err);

/* Create/replace path with data[0..n) directly (no temp name); fsync'd when
 * sync. For files inside a directory that is itself renamed into place. */
MH_MUST_CHECK mh_status mh_fs_write(const char *path, const void *data, size_t n, bool sync,
                                    mh_error *err);

/* Atomically replace path: "<path>.mh-tmp", fsync, rename, fsync dir. */
MH_MUST_CHECK mh_status mh_fs_write_atomic(const char *path, const void *data, size_t n,
                                           mh_error *err);

/* Make every file written so far on the file system holding path durable
 * (syncfs(2) on Linux: one call instead of one fsync per file). */
MH_MUST_CHECK mh_status mh_fs_sync_all(const char *path, mh_error *err);

/* fsync a directory (so a rename or create in it is durable). */
MH_MUST_CHECK mh_status mh_fs_fsync_dir(const char *path, mh_error *err);

/* fsync the directory that contains path. */
MH_MUST_CHECK mh_status mh_fs_fsync_parent(const char *path, mh_error *err);

/* Remove path recursively without following symbolic links (a missing path
 * is fine). Depth bounded by MH_MAX_PATH_DEPTH. */
MH_MUST_CHECK mh_status mh_fs_rmtree(const char *path, mh_error *err);

/* Read a whole file into out (appended), failing with MH_ELIMIT past max. */
MH_MUST_CHECK mh_status mh_fs_read(const char *path, struct mh_buf *out, size_t max,
                                   mh_error *err);

/* lstat-based tests. */
bool mh_fs_exists(const char *path);
bool mh_fs_is_dir(const char *path);

/* snprintf into a PATH_MAX buffer; MH_ELIMIT when the path is too long. */
MH_MUST_CHECK mh_status mh_fs_path(char *out, size_t outsz, mh_error *err, const char *fmt, ...)
    MH_PRINTF(4, 5);

#endif
