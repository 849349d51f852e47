/*
 * base/slice.h -- {ptr, len} string slices
 *
 * Slices never own memory: they point into an input buffer, an arena or a
 * static string. Not NUL-terminated unless stated.
 */
#ifndef MH_BASE_SLICE_H
#define MH_BASE_SLICE_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

struct mh_slice {
    const char *ptr;
    size_t len;
};

#define MH_SLICE_LIT(s) ((struct mh_slice){(s), sizeof(s) - 1})
#define MH_SLICE_NULL ((struct mh_slice){NULL, 0})

static inline struct mh_slice mh_slice_make(const char *p, size_t n)
{
    struct mh_slice s = {p, n};
    return s;
}

static inline struct mh_slice mh_slice_cstr(const char *p)
{
    struct mh_slice s = {p, p ? strlen(p) : 0};
    return s;
}

static inline bool mh_slice_eq(struct mh_slice a, struct mh_slice b)
{
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static inline bool mh_slice_eq_cstr(struct mh_slice a, const char *b)
{
    return mh_slice_eq(a, mh_slice_cstr(b));
}

/* Value of a hexadecimal digit (either case), -1 for any other byte. */
static inline int mh_hex_value(unsigned char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static inline unsigned char mh_ascii_lower(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

/* ASCII case-insensitive equality (non-ASCII bytes compare exactly). */
bool mh_slice_eq_nocase(struct mh_slice a, struct mh_slice b);
/* Trim ASCII whitespace (space, tab, CR, LF) on both sides. */
struct mh_slice mh_slice_trim(struct mh_slice s);
/* Byte-wise order (memcmp, then shorter first): <0, 0, >0. */
int mh_slice_cmp(struct mh_slice a, struct mh_slice b);
/* Find needle in hay; returns offset or (size_t)-1. */
size_t mh_slice_find(struct mh_slice hay, struct mh_slice needle);

#endif
