/*
 * base/alloc.c -- allocation seam with failure injection (see alloc.h)
 */
#include "base/alloc.h"

#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#if defined(__linux__)
#include <sys/mman.h>
#include <unistd.h>
#endif

static _Atomic int64_t fail_countdown = -1;
static _Atomic uint64_t alloc_total;

static int should_fail(void)
{
    int64_t c = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (c < 0) return 0;
    if (c == 0) {
        atomic_store(&fail_countdown, -1);
        return 1;
    }
    atomic_store(&fail_countdown, c - 1);
    return 0;
}

void mh_alloc_fail_after(int64_t n)
{
    atomic_store(&fail_countdown, n);
}

uint64_t mh_alloc_count(void)
{
    return atomic_load(&alloc_total);
}

void *mh_malloc(size_t n)
{
    if (should_fail()) return NULL;
    void *p = malloc(n ? n : 1);
    if (p) atomic_fetch_add_explicit(&alloc_total, 1, memory_order_relaxed);
    return p;
}

void *mh_calloc(size_t count, size_t size)
{
    if (should_fail()) return NULL;
    void *p = calloc(count ? count : 1, size ? size : 1);
    if (p) atomic_fetch_add_explicit(&alloc_total, 1, memory_order_relaxed);
    return p;
}

void *mh_realloc(void *p, size_t n)
{
    if (should_fail()) return NULL;
    return realloc(p, n ? n : 1);
}

void mh_free(void *p)
{
    free(p);
}

char *mh_strndup(const char *s, size_t n)
{
    char *d = mh_malloc(n + 1);
    if (!d) return NULL;
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *mh_strdup(const char *s)
{
    return mh_strndup(s, strlen(s));
}

mh_status mh_grow_at(void *arrp, void *capp, size_t capsize, size_t need, size_t elem,
                     size_t first, size_t max)
{
    size_t cap, limit = max;
    if (!elem) return MH_EINVAL;
    if (capsize == sizeof(uint32_t)) {
        uint32_t c32;
        memcpy(&c32, capp, sizeof c32);
        cap = c32;
        if (limit > UINT32_MAX) limit = UINT32_MAX;
    } else if (capsize == sizeof(size_t)) {
        memcpy(&cap, capp, sizeof cap);
    } else {
        return MH_EINVAL;
    }
    if (need <= cap) return MH_OK;
    if (limit > SIZE_MAX / elem) limit = SIZE_MAX / elem;
    if (need > limit) return MH_ELIMIT;
    /* limit >= need > cap, so the doubling below stops at limit at the latest */
    size_t nc = cap ? cap : (first ? first : 1);
    if (cap) nc = nc > limit / 2 ? limit : nc * 2;
    while (nc < need) nc = nc > limit / 2 ? limit : nc * 2;
    if (nc > limit) nc = limit;
    void *old;
    memcpy(&old, arrp, sizeof old);
    void *p = mh_realloc(old, nc * elem);
    if (!p) return MH_ENOMEM;
    memcpy(arrp, &p, sizeof p);
    if (capsize == sizeof(uint32_t)) {
        uint32_t c32 = (uint32_t)nc;
        memcpy(capp, &c32, sizeof c32);
    } else {
        memcpy(capp, &nc, sizeof nc);
    }
    return MH_OK;
}

mh_status mh_grow(void **arr, size_t *cap, size_t need, size_t elem, size_t first, size_t max)
{
    return mh_grow_at(arr, cap, sizeof *cap, need, elem, first, max);
}

void mh_prefault(void *p, size_t n)
{
#if defined(__linux__) && defined(MADV_POPULATE_WRITE)
    if (!p || n < MH_PREFAULT_MIN) return;
    long ps = sysconf(_SC_PAGESIZE); /* 4 KiB on x86-64; 16 or 64 KiB on some arm64 kernels */
    const uintptr_t page = ps > 0 ? (uintptr_t)ps : 4096;
    uintptr_t a = ((uintptr_t)p + page - 1) & ~(page - 1), e = ((uintptr_t)p + n) & ~(page - 1);
    if (e > a) (void)madvise((void *)a, e - a, MADV_POPULATE_WRITE); /* advisory: errors ignored */
#else
    (void)p;
    (void)n;
#endif
}
