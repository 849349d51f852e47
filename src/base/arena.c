/*
 * base/arena.c -- bump allocator (see arena.h)
 */
#include "base/arena.h"

#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct mh_arena_block {
    struct mh_arena_block *prev;
    size_t size; /* payload bytes */
    size_t pos;  /* next free payload byte */
    _Alignas(16) unsigned char data[];
};

void mh_arena_init(struct mh_arena *a, size_t block_size, size_t cap)
{
    a->head = NULL;
    a->block_size = block_size ? block_size : 65536;
    a->next = a->block_size;
    a->used = 0;
    a->cap = cap ? cap : SIZE_MAX;
}

void mh_arena_fini(struct mh_arena *a)
{
    struct mh_arena_block *b = a->head;
    while (b) {
        struct mh_arena_block *p = b->prev;
        mh_free(b);
        b = p;
    }
    a->head = NULL;
    a->used = 0;
}

void mh_arena_reset(struct mh_arena *a)
{
    struct mh_arena_block *keep = NULL, *b, *p;
    for (b = a->head; b; b = b->prev)
        if (!keep || b->size > keep->size) keep = b;
    for (b = a->head; b; b = p) {
        p = b->prev;
        if (b != keep) mh_free(b);
    }
    if (keep && keep->size > MH_ARENA_KEEP && keep->size > a->block_size) {
        mh_free(keep); /* one huge document must not pin its block */
        keep = NULL;
    }
    /* the batch did not fit the kept block: the next block holds a whole one */
    size_t have = keep ? keep->size : 0, peak = a->used;
    if (peak > have) {
        size_t want = peak + peak / 4;
        if (want < peak || want > MH_ARENA_KEEP) want = MH_ARENA_KEEP;
        if (want > a->next) a->next = want;
    }
    if (keep) {
        keep->prev = NULL;
        keep->pos = 0;
    }
    a->head = keep;
    a->used = 0;
}

void *mh_arena_alloc(struct mh_arena *a, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    if (need < n) return NULL;
    if (a->used > a->cap || need > a->cap - a->used) return NULL;
    struct mh_arena_block *b = a->head;
    if (!b || b->size - b->pos < need) {
        size_t sz = need > a->next ? need : a->next;
        struct mh_arena_block *nb = mh_malloc(sizeof(*nb) + sz);
        if (!nb) return NULL;
        nb->prev = b;
        nb->size = sz;
        nb->pos = 0;
        a->head = nb;
        b = nb;
    }
    void *p = b->data + b->pos;
    b->pos += need;
    a->used += need;
    return p;
}

char *mh_arena_strndup(struct mh_arena *a, const char *s, size_t n)
{
    char *d = mh_arena_alloc(a, n + 1);
    if (!d) return NULL;
    if (n) memcpy(d, s, n);
    d[n] = '\0';
    return d;
}
