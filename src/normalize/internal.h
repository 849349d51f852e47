/*
 * normalize/internal.h -- what event.c, path.c and entity.c share (not an API)
 *
 * The normalizer owns:
 *  - a pool of record tapes (heap mh_jdoc, node arrays reused across
 *    batches): mh_event_init takes the next one, mh_normalizer_reset hands
 *    them all back and releases node arrays beyond MH_NZ_POOL_NODES;
 *  - an arena (cap MH_EVENT_ARENA_BYTES) for everything decoded lazily:
 *    unescaped strings, nested tapes of JSON held in strings, entity text;
 *  - a cache (doc, node) -> nested tape, so a JSON string is parsed at most
 *    once per batch however many paths go through it. Entries live in the
 *    arena; the bucket array is cleared on reset.
 * Not thread-safe: one normalizer per thread.
 */
#ifndef MH_NORMALIZE_INTERNAL_H
#define MH_NORMALIZE_INTERNAL_H

#include "base/arena.h"
#include "ingest/json.h"
#include "mailhound/status.h"
#include "normalize/event.h"

#define NZ_NEST_BUCKETS 1024u

struct nz_nested {
    struct nz_nested *next;
    const struct mh_jdoc *doc; /* parent tape */
    uint32_t node;             /* string node in it */
    struct mh_jdoc *nested;    /* NULL: the string is not a JSON container */
};

struct mh_normalizer {
    struct mh_arena arena;
    struct mh_jdoc **pool; /* record tapes */
    size_t npool;          /* allocated entries */
    size_t used;           /* handed out since the last reset */
    struct nz_nested *nest[NZ_NEST_BUCKETS];
};

/* Arena allocation with the right status: MH_ELIMIT at the cap, else MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_nz_alloc(struct mh_normalizer *nz, size_t n, void **out);

/*
 * The tape of the JSON container held in string node `node` of `doc`, parsed
 * on first use (from the arena). *out = NULL when the string does not hold a
 * JSON object or array (also when it is malformed: a lookup then finds
 * nothing there). MH_ELIMIT/MH_ENOMEM when the arena is exhausted.
 */
MH_MUST_CHECK mh_status mh_nz_nested(struct mh_normalizer *nz, const struct mh_jdoc *doc,
                                     uint32_t node, const struct mh_jdoc **out);

/* Decoded text of string node i (arena when escaped). */
MH_MUST_CHECK mh_status mh_nz_str(struct mh_normalizer *nz, const struct mh_jdoc *doc, uint32_t i,
                                  struct mh_slice *out);

#endif
