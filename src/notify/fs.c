/*
 * notify/fs.c -- crash-safe file helpers (see fs.h)
 *
 * mh_fs_rmtree walks with openat/fdopendir/unlinkat and O_NOFOLLOW, so a
 * symbolic link planted inside an output directory is removed, never
 * followed. Every write loops over short writes and EINTR.
 */
#include "notify/fs.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mailhound/limits.h"

mh_status mh_fs_path(char *out, size_t outsz, mh_error *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(out, outsz, fmt, ap);
    va_end(ap);
    if (n < 0 || (size_t)n >= outsz)
        return mh_error_set(err, MH_ELIMIT, "path too long", "%.80s", out);
    return MH_OK;
}

mh_status mh_fs_mkdirs(const char *path, mh_error *err)
{
    char p[PATH_MAX];
    size_t n = strlen(path);
    if (n == 0) return mh_error_set(err, MH_EINVAL, "empty path", NULL);
    if (n >= sizeof p) return mh_error_set(err, MH_ELIMIT, "path too long", "%.80s", path);
    memcpy(p, path, n + 1);
    while (n > 1 && p[n - 1] == '/') p[--n] = '\0';
    /* Back off from the end: usually the parent exists (one mkdir) or the
     * whole path does (one stat); only missing ancestors cost more. */
    if (mh_fs_is_dir(p)) return MH_OK;
    size_t made[64], nmade = 0, i = n;
    for (;;) {
        if (mkdir(p, 0755) == 0 || errno == EEXIST) break;
        if (errno != ENOENT || nmade == 64) return mh_error_io(err, "cannot create directory", p);
        char *slash = strrchr(p, '/');
        if (!slash || slash == p) return mh_error_io(err, "cannot create directory", p);
        made[nmade++] = i;
        i = (size_t)(slash - p);
        *slash = '\0';
    }
    while (nmade) { /* then down again */
        p[i] = '/';
        i = made[--nmade];
        if (mkdir(p, 0755) != 0 && errno != EEXIST) return mh_error_io(err, "cannot create directory", p);
    }
    if (!mh_fs_is_dir(p)) {
        errno = ENOTDIR;
        return mh_error_io(err, "not a directory", path);
    }
    return MH_OK;
}

static mh_status write_all(int fd, const void *data, size_t n, const char *path, mh_error *err)
{
    const char *p = data;
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return mh_error_io(err, "cannot write file", path);
        }
        p += w;
        n -= (size_t)w;
    }
    return MH_OK;
}

mh_status mh_fs_write(const char *path, const void *data, size_t n, bool sync, mh_error *err)
{
    mh_status st = MH_OK;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0) return mh_error_io(err, "cannot create file", path);
    MH_CHECK(write_all(fd, data, n, path, err));
    if (sync && fsync(fd) != 0) {
        st = mh_error_io(err, "cannot sync file", path);
        goto out;
    }
out:
    if (close(fd) != 0 && !st) st = mh_error_io(err, "cannot close file", path);
    return st;
}

mh_status mh_fs_write_atomic(const char *path, const void *data, size_t n, mh_error *err)
{
    mh_status st = MH_OK;
    char tmp[PATH_MAX];
    MH_TRY(mh_fs_path(tmp, sizeof tmp, err, "%s.mh-tmp", path));
    MH_CHECK(mh_fs_write(tmp, data, n, true, err));
    if (rename(tmp, path) != 0) {
        st = mh_error_io(err, "cannot rename file", path);
        goto out;
    }
    MH_CHECK(mh_fs_fsync_parent(path, err));
out:
    if (st) unlink(tmp);
    return st;
}

mh_status mh_fs_sync_all(const char *path, mh_error *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open", path);
    mh_status st = MH_OK;
#if defined(__linux__)
    if (syncfs(fd) != 0) st = mh_error_io(err, "cannot sync file system", path);
#else
    sync();
#endif
    close(fd);
    return st;
}

mh_status mh_fs_fsync_dir(const char *path, mh_error *err)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open directory", path);
    mh_status st = MH_OK;
    if (fsync(fd) != 0 && errno != EINVAL) st = mh_error_io(err, "cannot sync directory", path);
    close(fd);
    return st;
}

mh_status mh_fs_fsync_parent(const char *path, mh_error *err)
{
    char dir[PATH_MAX];
    size_t n = strlen(path);
    if (n >= sizeof dir) return mh_error_set(err, MH_ELIMIT, "path too long", "%.80s", path);
    memcpy(dir, path, n + 1);
    char *slash = strrchr(dir, '/');
    if (!slash) return mh_fs_fsync_dir(".", err);
    if (slash == dir)
        slash[1] = '\0';
    else
        *slash = '\0';
    return mh_fs_fsync_dir(dir, err);
}

/* Remove the entries of the open directory dfd, then nothing else. */
static mh_status rm_contents(int dfd, const char *path, int depth, mh_error *err)
{
    mh_status st = MH_OK;
    if (depth > MH_MAX_PATH_DEPTH) {
        close(dfd);
        return mh_error_set(err, MH_ELIMIT, "directory tree too deep", "%.80s", path);
    }
    DIR *d = fdopendir(dfd);
    if (!d) {
        close(dfd);
        return mh_error_io(err, "cannot read directory", path);
    }
    struct dirent *e;
    for (;;) {
        errno = 0;
        e = readdir(d);
        if (!e) {
            if (errno) st = mh_error_io(err, "cannot read directory", path);
            break;
        }
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct stat sb;
        if (fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0) {
            if (errno == ENOENT) continue;
            st = mh_error_io(err, "cannot stat", e->d_name);
            break;
        }
        if (S_ISDIR(sb.st_mode)) {
            int sub = openat(dirfd(d), e->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (sub < 0) {
                st = mh_error_io(err, "cannot open directory", e->d_name);
                break;
            }
            st = rm_contents(sub, e->d_name, depth + 1, err);
            if (st) break;
            if (unlinkat(dirfd(d), e->d_name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
                st = mh_error_io(err, "cannot remove directory", e->d_name);
                break;
            }
        } else if (unlinkat(dirfd(d), e->d_name, 0) != 0 && errno != ENOENT) {
            st = mh_error_io(err, "cannot remove file", e->d_name);
            break;
        }
    }
    closedir(d);
    return st;
}

mh_status mh_fs_rmtree(const char *path, mh_error *err)
{
    struct stat sb;
    if (lstat(path, &sb) != 0) {
        if (errno == ENOENT) return MH_OK;
        return mh_error_io(err, "cannot stat", path);
    }
    if (!S_ISDIR(sb.st_mode)) {
        if (unlink(path) != 0 && errno != ENOENT)
            return mh_error_io(err, "cannot remove file", path);
        return MH_OK;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open directory", path);
    MH_TRY(rm_contents(fd, path, 0, err));
    if (rmdir(path) != 0 && errno != ENOENT)
        return mh_error_io(err, "cannot remove directory", path);
    return MH_OK;
}

mh_status mh_fs_read(const char *path, struct mh_buf *out, size_t max, mh_error *err)
{
    mh_status st = MH_OK;
    char tmp[65536];
    size_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open file", path);
    for (;;) {
        ssize_t r = read(fd, tmp, sizeof tmp);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = mh_error_io(err, "cannot read file", path);
            goto out;
        }
        if (r == 0) break;
        total += (size_t)r;
        if (total > max) {
            st = mh_error_set(err, MH_ELIMIT, "file too large", "more than %zu bytes", max);
            mh_error_at(err, path, 0, 0, 0, 0);
            goto out;
        }
        st = mh_buf_append(out, tmp, (size_t)r);
        if (st) {
            mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "file too large", NULL);
            mh_error_at(err, path, 0, 0, 0, 0);
            goto out;
        }
    }
out:
    close(fd);
    return st;
}

bool mh_fs_exists(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0;
}

bool mh_fs_is_dir(const char *path)
{
    struct stat sb;
    return lstat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}
