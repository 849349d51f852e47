/*
 * ingest/scan.h -- byte-class search helpers shared by the record splitters
 *
 * Pipeline: ingest (split.c, csv.c). The splitters spend most of their time
 * inside JSON strings and quoted CSV cells, where only two or three byte
 * values matter (quote, backslash, newline). mh_scan_find3 finds the first of
 * three byte values 16 bytes at a time with SSE2 (the x86-64 baseline) and
 * falls back to a portable 8-byte SWAR loop elsewhere. Both return the index
 * of the first match or n when there is none; they never read past p + n.
 * mh_scan_end bounds a scan so an oversized record is cut at one fixed byte.
 *
 * Header-only (static inline); no state, thread-safe.
 */
#ifndef MH_INGEST_SCAN_H
#define MH_INGEST_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline size_t mh_scan_find3_tail(const unsigned char *p, size_t i, size_t n, unsigned char a,
                                        unsigned char b, unsigned char c)
{
    for (; i < n; i++) {
        unsigned char x = p[i];
        if (x == a || x == b || x == c) return i;
    }
    return n;
}

/* Index of the first byte in p[0..n) equal to a, b or c; n when none. */
static inline size_t mh_scan_find3(const unsigned char *p, size_t n, unsigned char a,
                                   unsigned char b, unsigned char c)
{
    size_t i = 0;
#if defined(__SSE2__)
    const __m128i va = _mm_set1_epi8((char)a), vb = _mm_set1_epi8((char)b),
                  vc = _mm_set1_epi8((char)c);
    for (; i + 16 <= n; i += 16) {
        __m128i v = _mm_loadu_si128((const __m128i *)(const void *)(p + i));
        __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(v, va), _mm_cmpeq_epi8(v, vb)),
                                 _mm_cmpeq_epi8(v, vc));
        unsigned mask = (unsigned)_mm_movemask_epi8(m);
        if (mask) return i + (size_t)__builtin_ctz(mask);
    }
#else
    const uint64_t lo = 0x0101010101010101ull, hi = 0x8080808080808080ull;
    const uint64_t ma = lo * a, mb = lo * b, mc = lo * c;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        uint64_t xa = v ^ ma, xb = v ^ mb, xc = v ^ mc;
        uint64_t z = ((xa - lo) & ~xa) | ((xb - lo) & ~xb) | ((xc - lo) & ~xc);
        if (z & hi) break; /* the exact position is found by the tail loop */
    }
#endif
    return mh_scan_find3_tail(p, i, n, a, b, c);
}

/*
 * Where a splitter may scan to in data at absolute offsets [base, base+len),
 * having scanned up to index i: an open record (started at rec_start, not
 * being discarded) is cut at exactly max_record+1 bytes, so a too-large
 * record is reported at the same byte whatever the piece sizes (and before
 * any later fault of the same record).
 */
static inline size_t mh_scan_end(bool open, uint64_t rec_start, uint64_t max_record, uint64_t base,
                                 size_t len, size_t i)
{
    if (!open) return len;
    uint64_t cut = rec_start + max_record + 1;
    if (cut >= base + len) return len;
    size_t n = (size_t)(cut - base);
    return n < i ? i : n;
}

#endif
