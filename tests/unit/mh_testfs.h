/*
 * tests/unit/mh_testfs.h -- file helpers shared by the unit tests (header only)
 *
 * What the notify tests (package, ledger, crypto) and others used to carry copies of:
 *
 *   fmtp(out, n, fmt, ...)      snprintf that stops the test (exit 2) on
 *                               truncation -- and keeps gcc's
 *                               -Wformat-truncation quiet about path buffers;
 *   read_file(path, buf)        the whole file into buf (1 on success);
 *   slurp(path, &n)             the whole file, NUL-terminated, from mh_malloc
 *                               (mh_free it), its length in n (may be NULL);
 *                               NULL when it cannot be read -- what the reader,
 *                               mail store, secrets and Sigma table tests each
 *                               carried a copy of;
 *   snapshot(dir, "", out)      one line per entry below dir, depth first,
 *                               names sorted byte-wise: "D rel" for a folder,
 *                               "F rel size sha256" for a file -- two
 *                               snapshots compare two trees (or one tree
 *                               before and after) byte for byte.
 *
 * Include after mh_test.h's users' own headers; functions are static inline
 * so a test that uses only some of them compiles cleanly.
 */
#ifndef MH_TESTFS_H
#define MH_TESTFS_H

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/sha256.h"
#include "mh_test.h"
#include "notify/fs.h"

static inline void fmtp(char *out, size_t n, const char *f, ...) MH_PRINTF(3, 4);
static inline void fmtp(char *out, size_t n, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int k = vsnprintf(out, n, f, ap);
    va_end(ap);
    if (k < 0 || (size_t)k >= n) {
        fprintf(stderr, "test buffer too small for \"%s\"\n", f);
        exit(2);
    }
}

static inline int read_file(const char *path, struct mh_buf *b)
{
    mh_buf_clear(b);
    return mh_fs_read(path, b, 1u << 30, NULL) == MH_OK;
}

static inline char *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    struct mh_buf b;
    mh_buf_init(&b, 1u << 30);
    char chunk[65536];
    size_t k;
    mh_status st = MH_OK;
    while (!st && (k = fread(chunk, 1, sizeof chunk, f)) > 0) st = mh_buf_append(&b, chunk, k);
    if (ferror(f)) st = MH_EIO;
    fclose(f);
    if (st) {
        mh_buf_fini(&b);
        return NULL;
    }
    if (n) *n = b.len;
    return b.data ? b.data : mh_strdup("");
}

static inline int mh_testfs_cmp_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

#define MH_TESTFS_MAX_ENTRIES 4096 /* per folder */

static inline void snapshot(const char *dir, const char *rel, struct mh_buf *out)
{
    char path[4096];
    fmtp(path, sizeof path, "%s%s%s", dir, *rel ? "/" : "", rel);
    DIR *d = opendir(path);
    if (!d) return;
    char **names = mh_calloc(MH_TESTFS_MAX_ENTRIES, sizeof *names);
    size_t n = 0;
    struct dirent *e;
    while (names && (e = readdir(d)) != NULL && n < MH_TESTFS_MAX_ENTRIES)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) names[n++] = mh_strdup(e->d_name);
    closedir(d);
    CHECK(names != NULL);
    if (!names) return;
    qsort(names, n, sizeof *names, mh_testfs_cmp_name);
    struct mh_buf content;
    mh_buf_init(&content, 0);
    for (size_t i = 0; i < n; i++) {
        char r[4096], p[8192];
        fmtp(r, sizeof r, "%s%s%s", rel, *rel ? "/" : "", names[i]);
        fmtp(p, sizeof p, "%s/%s", dir, r);
        struct stat sb;
        if (lstat(p, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            if (mh_buf_printf(out, "D %s\n", r)) break;
            snapshot(dir, r, out);
        } else if (read_file(p, &content)) {
            char hex[MH_SHA256_HEX];
            CHECK_INT(mh_sha256_hex(content.data ? content.data : "", content.len, hex, NULL),
                      MH_OK);
            if (mh_buf_printf(out, "F %s %zu %s\n", r, content.len, hex)) break;
        }
    }
    for (size_t i = 0; i < n; i++) mh_free(names[i]);
    mh_free(names);
    mh_buf_fini(&content);
}

#endif
