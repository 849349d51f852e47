/*
 * base/arena.h -- bump allocator for per-batch and per-document lifetimes
 *
 * Blocks are chained. mh_arena_reset() keeps the largest block (up to
 * MH_ARENA_KEEP) and frees the rest; when the batch spilled over several
 * blocks, the next block is sized for the whole batch (+25%), so a loop of
 * similar batches settles on one block and allocates nothing in steady
 * state, whatever the batch size (within MH_ARENA_KEEP). Every arena has a cap
 * (bytes in use); reaching it makes mh_arena_alloc return NULL, which callers
 * report as MH_ELIMIT for the record concerned.
 *
 * Not thread-safe: one arena per thread or per batch.
 */
#ifndef MH_BASE_ARENA_H
#define MH_BASE_ARENA_H

#include <stddef.h>

struct mh_arena_block;

struct mh_arena {
    struct mh_arena_block *head; /* current block (newest) */
    size_t block_size;           /* default block payload size */
    size_t next;                 /* payload size of the next new block (>= block_size) */
    size_t used;                 /* bytes handed out since init/reset */
    size_t cap;                  /* maximum of `used` */
};

/* Initialise; no allocation happens until the first mh_arena_alloc. */
void mh_arena_init(struct mh_arena *a, size_t block_size, size_t cap);
/* Free every block. Safe on a zeroed arena. */
void mh_arena_fini(struct mh_arena *a);
/* Drop all allocations; keeps the largest block (see above) for reuse. */
void mh_arena_reset(struct mh_arena *a);
/* n bytes aligned to 16; NULL when out of memory or over cap. */
void *mh_arena_alloc(struct mh_arena *a, size_t n);
/* Copy of s[0..n) plus a NUL terminator; NULL on failure. */
char *mh_arena_strndup(struct mh_arena *a, const char *s, size_t n);

#endif
