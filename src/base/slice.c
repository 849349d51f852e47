/*
 * base/slice.c -- slice helpers (see slice.h)
 */
#include "base/slice.h"

#include <string.h>

bool mh_slice_eq_nocase(struct mh_slice a, struct mh_slice b)
{
    if (a.len != b.len) return false;
    for (size_t i = 0; i < a.len; i++)
        if (mh_ascii_lower((unsigned char)a.ptr[i]) != mh_ascii_lower((unsigned char)b.ptr[i]))
            return false;
    return true;
}

static int is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

struct mh_slice mh_slice_trim(struct mh_slice s)
{
    while (s.len && is_ws(s.ptr[0])) s.ptr++, s.len--;
    while (s.len && is_ws(s.ptr[s.len - 1])) s.len--;
    return s;
}

int mh_slice_cmp(struct mh_slice a, struct mh_slice b)
{
    size_t n = a.len < b.len ? a.len : b.len;
    int c = n ? memcmp(a.ptr, b.ptr, n) : 0;
    if (c) return c;
    return a.len < b.len ? -1 : a.len > b.len;
}

size_t mh_slice_find(struct mh_slice hay, struct mh_slice needle)
{
    if (needle.len == 0) return 0;
    if (needle.len > hay.len) return (size_t)-1;
    const char *p = memmem(hay.ptr, hay.len, needle.ptr, needle.len);
    return p ? (size_t)(p - hay.ptr) : (size_t)-1;
}
