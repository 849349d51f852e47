/*
 * ingest/source.c -- raw byte sources and sorted directory listing
 *
 * Pipeline: [ingest: source] -> decompress -> text -> split/csv. See
 * source.h. Reads are plain read(2) calls of the caller's size; files are
 * advised as sequential. Directory entries are sorted with strcmp on the
 * entry name so that walks do not depend on the file system.
 *
 * Limits: a listing holds at most `max` entries (the reader passes what is
 * left of MH_MAX_INPUT_FILES). Not thread-safe per source.
 */
#include "ingest/source.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"

mh_status mh_source_open_file(struct mh_source *s, const char *path, mh_error *err)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open", NULL);
#ifdef POSIX_FADV_SEQUENTIAL
    (void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
    s->fd = fd;
    s->own_fd = true;
    return MH_OK;
}

void mh_source_open_fd(struct mh_source *s, int fd)
{
    memset(s, 0, sizeof *s);
    s->fd = fd;
    s->own_fd = false;
}

void mh_source_open_memory(struct mh_source *s, const void *p, size_t n)
{
    memset(s, 0, sizeof *s);
    s->fd = -1;
    s->mem = p;
    s->mem_len = n;
}

mh_status mh_source_read(struct mh_source *s, void *buf, size_t cap, size_t *n, mh_error *err)
{
    *n = 0;
    if (cap == 0) return MH_OK;
    if (s->fd < 0) {
        size_t left = s->mem_len - s->mem_pos;
        if (left == 0) return MH_EOF;
        size_t k = left < cap ? left : cap;
        memcpy(buf, s->mem + s->mem_pos, k);
        s->mem_pos += k;
        s->bytes += k;
        *n = k;
        return MH_OK;
    }
    for (;;) {
        ssize_t k = read(s->fd, buf, cap);
        if (k > 0) {
            s->bytes += (uint64_t)k;
            *n = (size_t)k;
            return MH_OK;
        }
        if (k == 0) return MH_EOF;
        if (errno == EINTR) continue;
        return mh_error_io(err, "read failed", NULL);
    }
}

void mh_source_close(struct mh_source *s)
{
    if (s->fd >= 0 && s->own_fd) close(s->fd);
    s->fd = -1;
    s->own_fd = false;
    s->mem = NULL;
}

bool mh_source_size(const struct mh_source *s, uint64_t *size)
{
    if (s->fd < 0) {
        *size = s->mem_len;
        return true;
    }
    struct stat st;
    if (fstat(s->fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size < 0) return false;
    *size = (uint64_t)st.st_size;
    return true;
}

mh_status mh_source_path_kind(const char *path, enum mh_path_kind *kind, mh_error *err)
{
    struct stat st;
    if (stat(path, &st) != 0) return mh_error_io(err, "cannot open", NULL);
    if (S_ISDIR(st.st_mode))
        *kind = MH_PATH_DIR;
    else if (S_ISREG(st.st_mode))
        *kind = MH_PATH_FILE;
    else
        *kind = MH_PATH_OTHER;
    return MH_OK;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void mh_source_free_list(char **list, size_t n)
{
    if (!list) return;
    for (size_t i = 0; i < n; i++) mh_free(list[i]);
    mh_free(list);
}

mh_status mh_source_list_dir(const char *path, size_t max, char ***out, size_t *n, mh_error *err)
{
    mh_status st = MH_OK;
    char **list = NULL;
    size_t len = 0, cap = 0;
    DIR *d = opendir(path);
    if (!d) {
        st = mh_error_io(err, "cannot open directory", NULL);
        goto out;
    }
    size_t plen = strlen(path);
    while (plen > 1 && path[plen - 1] == '/') plen--;
    size_t sep = (plen > 0 && path[plen - 1] == '/') ? 0 : 1; /* "/" itself */
    for (;;) {
        errno = 0;
        struct dirent *de = readdir(d);
        if (!de) {
            if (errno) {
                st = mh_error_io(err, "cannot read directory", NULL);
                goto out;
            }
            break;
        }
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) continue;
        if (len >= max) {
            st = mh_error_set(err, MH_ELIMIT, "too many input files",
                              "more than %zu (MH_MAX_INPUT_FILES)", max);
            goto out;
        }
        if (MH_GROW(list, cap, len + 1, 16, SIZE_MAX) != MH_OK) {
            st = MH_ENOMEM;
            goto out;
        }
        size_t nlen = strlen(de->d_name);
        char *full = mh_malloc(plen + sep + nlen + 1);
        if (!full) {
            st = MH_ENOMEM;
            goto out;
        }
        memcpy(full, path, plen);
        if (sep) full[plen] = '/';
        memcpy(full + plen + sep, de->d_name, nlen + 1);
        list[len++] = full;
    }
    if (len > 1) qsort(list, len, sizeof *list, cmp_str);
    *out = list;
    *n = len;
    list = NULL;
    len = 0;
out:
    if (d) closedir(d);
    mh_source_free_list(list, len);
    return st;
}
