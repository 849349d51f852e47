/*
 * base/utf8.c -- UTF-8 validation and repair (see utf8.h)
 */
#include "base/utf8.h"

#include <string.h>

size_t mh_utf8_decode(const unsigned char *p, size_t n, uint32_t *cp)
{
    unsigned c = p[0];
    if (c < 0x80) {
        if (cp) *cp = c;
        return 1;
    }
    size_t k;
    uint32_t min;
    if (c >= 0xC2 && c <= 0xDF)
        k = 2, min = 0x80;
    else if (c >= 0xE0 && c <= 0xEF)
        k = 3, min = 0x800;
    else if (c >= 0xF0 && c <= 0xF4)
        k = 4, min = 0x10000;
    else
        return 0;
    if (n < k) return 0;
    uint32_t v = c & (0x3Fu >> (k - 1));
    for (size_t i = 1; i < k; i++) {
        if ((p[i] & 0xC0) != 0x80) return 0;
        v = (v << 6) | (p[i] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return 0;
    if (cp) *cp = v;
    return k;
}

bool mh_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    while (p < end) {
        while (end - p >= 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            if (v & 0x8080808080808080ULL) break;
            p += 8;
        }
        if (p >= end) break;
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = mh_utf8_decode(p, (size_t)(end - p), NULL);
        if (!k) return false;
        p += k;
    }
    return true;
}

mh_status mh_utf8_repair(const char *s, size_t n, struct mh_buf *out, bool *repaired)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    bool rep = false;
    MH_TRY(mh_buf_reserve(out, n));
    while (p < end) {
        const unsigned char *run = p;
        while (p < end) {
            size_t k = *p < 0x80 ? 1 : mh_utf8_decode(p, (size_t)(end - p), NULL);
            if (!k) break;
            p += k;
        }
        MH_TRY(mh_buf_append(out, run, (size_t)(p - run)));
        if (p < end) {
            MH_TRY(mh_buf_append(out, "\xEF\xBF\xBD", 3));
            rep = true;
            p++;
        }
    }
    if (repaired) *repaired = rep;
    return MH_OK;
}
