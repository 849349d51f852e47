/*
 * ingest/held.c -- reader reports held back until their record's turn (see held.h)
 */
#include "ingest/held.h"

#include <stdint.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

void mh_held_init(struct mh_held *h)
{
    h->v = NULL;
    h->n = h->cap = h->next = 0;
}

void mh_held_fini(struct mh_held *h)
{
    mh_free(h->v);
    mh_held_init(h);
}

void mh_held_release(struct mh_held *h, size_t upto, mh_bad_fn fn, void *ctx)
{
    while (h->next < h->n && h->v[h->next].pos <= upto) {
        const struct mh_held_report *r = &h->v[h->next++];
        if (fn) fn(ctx, &r->err, r->fatal);
    }
    if (h->next == h->n) h->n = h->next = 0;
}

void mh_held_add(struct mh_held *h, const mh_error *err, bool fatal, size_t pos, mh_bad_fn fn,
                 void *ctx)
{
    if (h->n == MH_MAX_HELD_REPORTS) mh_held_release(h, SIZE_MAX, fn, ctx);
    if (MH_GROW(h->v, h->cap, h->n + 1, 64, MH_MAX_HELD_REPORTS) != MH_OK) {
        mh_held_release(h, SIZE_MAX, fn, ctx); /* out of memory: at once, never lost */
        if (fn) fn(ctx, err, fatal);
        return;
    }
    h->v[h->n++] = (struct mh_held_report){*err, fatal, pos};
}
