/*
 * base/buf.c -- bounded growable byte buffer (see buf.h)
 */
#include "base/buf.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

void mh_buf_init(struct mh_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max ? max : ((size_t)1 << 40);
}

void mh_buf_fini(struct mh_buf *b)
{
    mh_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

mh_status mh_buf_reserve(struct mh_buf *b, size_t extra)
{
    if (extra > b->max || b->len > b->max - extra) return MH_ELIMIT;
    size_t need = b->len + extra + 1;
    if (need <= b->cap) return MH_OK;
    size_t nc = b->cap ? b->cap : 256;
    while (nc < need) nc = nc * 2;
    if (nc > b->max + 1) nc = b->max + 1; /* cap <= max + 1: mh_buf_append relies on it */
    char *p = mh_realloc(b->data, nc);
    if (!p) return MH_ENOMEM;
    b->data = p;
    b->cap = nc;
    return MH_OK;
}

mh_status mh_buf_append_grow(struct mh_buf *b, const void *p, size_t n)
{
    MH_TRY(mh_buf_reserve(b, n));
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MH_OK;
}

mh_status mh_buf_putc(struct mh_buf *b, char c)
{
    return mh_buf_append(b, &c, 1);
}

mh_status mh_buf_puts(struct mh_buf *b, const char *s)
{
    return mh_buf_append(b, s, strlen(s));
}

mh_status mh_buf_vprintf(struct mh_buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    va_copy(ap2, ap);
    char tmp[256];
    int n = vsnprintf(tmp, sizeof tmp, fmt, ap2);
    va_end(ap2);
    if (n < 0) return MH_EINVAL;
    if ((size_t)n < sizeof tmp) return mh_buf_append(b, tmp, (size_t)n);
    MH_TRY(mh_buf_reserve(b, (size_t)n));
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return MH_OK;
}

mh_status mh_buf_printf(struct mh_buf *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mh_status st = mh_buf_vprintf(b, fmt, ap);
    va_end(ap);
    return st;
}

void mh_buf_consume(struct mh_buf *b, size_t n)
{
    if (n >= b->len) {
        mh_buf_clear(b);
        return;
    }
    memmove(b->data, b->data + n, b->len - n);
    b->len -= n;
    b->data[b->len] = '\0';
}
