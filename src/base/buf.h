/*
 * base/buf.h -- bounded growable byte buffer
 *
 * Every buffer has a maximum fixed at init; growing past it fails with
 * MH_ELIMIT. The content is always NUL-terminated (not counted in len) so it
 * can be handed to C APIs.
 */
#ifndef MH_BASE_BUF_H
#define MH_BASE_BUF_H

#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include "mailhound/status.h"

struct mh_buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
};

void mh_buf_init(struct mh_buf *b, size_t max);
void mh_buf_fini(struct mh_buf *b);
static inline void mh_buf_clear(struct mh_buf *b)
{
    b->len = 0;
    if (b->data) b->data[0] = '\0';
}
MH_MUST_CHECK mh_status mh_buf_reserve(struct mh_buf *b, size_t extra);
MH_MUST_CHECK mh_status mh_buf_append_grow(struct mh_buf *b, const void *p, size_t n);
/* Append n bytes. Inline: when they fit the current allocation (cap never
 * exceeds max + 1, so fitting implies within max) it is one memcpy; otherwise
 * mh_buf_append_grow reserves first. */
MH_MUST_CHECK static inline mh_status mh_buf_append(struct mh_buf *b, const void *p, size_t n)
{
    if (b->cap - b->len <= n) return mh_buf_append_grow(b, p, n);
    if (n) memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return MH_OK;
}
MH_MUST_CHECK mh_status mh_buf_putc(struct mh_buf *b, char c);
MH_MUST_CHECK mh_status mh_buf_puts(struct mh_buf *b, const char *s);
MH_MUST_CHECK mh_status mh_buf_printf(struct mh_buf *b, const char *fmt, ...) MH_PRINTF(2, 3);
MH_MUST_CHECK mh_status mh_buf_vprintf(struct mh_buf *b, const char *fmt, va_list ap)
    MH_PRINTF(2, 0);
/* Remove the first n bytes (memmove). */
void mh_buf_consume(struct mh_buf *b, size_t n);

#endif
