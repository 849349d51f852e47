/*
 * normalize/internal.h -- what event.c, path.c and entity.c share (not an API)
 *
 * The normalizer owns:
 *  - a pool of record tapes (heap mh_jdoc, node arrays reused across
 *    batches): mh_event_init takes the next one, mh_normalizer_reset hands
 *    them all back and releases node arrays beyond MH_NZ_POOL_NODES;
 *  - an arena (cap MH_EVENT_ARENA_BYTES) for everything decoded lazily:
 *    unescaped strings, nested tapes of JSON held in strings, entity text.
 *    Reset per batch; the arena keeps a block sized to the busiest batch
 *    (base/arena.h, MH_ARENA_KEEP), so the match stage's lazy decoding
 *    allocates nothing in a steady batch loop;
 *  - a cache (doc, node) -> nested tape, so a JSON string is parsed at most
 *    once per batch however many paths go through it. Entries live in the
 *    arena; the bucket array is cleared on reset;
 *  - a few member indexes of large objects (path.c): (doc, node) -> a hash
 *    table of the object's member keys, so the many paths that rules and
 *    entities look up in one event (most of them absent) cost a probe each
 *    instead of a walk over every member. Built on an object's
 *    NZ_INDEX_WALKS-th lookup, round-robin replacement; cleared on reset and
 *    when a tape is reused;
 *  - the values mh_event_get found for each path asked of the current event
 *    (rules, entities and detectors ask for the same fields again and
 *    again): a repeated question replays them. Forgotten when another event
 *    is asked, on reset and when a tape is reused.
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

#define NZ_INDEXES 4       /* member indexes kept (round robin) */
#define NZ_INDEX_MIN 8      /* members before an object is worth indexing */
#define NZ_INDEX_SLOTS 256u /* table size: objects up to half of it are indexed */
#define NZ_INDEX_WALKS 4    /* lookups of an object before it is indexed */

struct nz_index {
    const struct mh_jdoc *doc; /* NULL: free */
    uint32_t node;             /* the object */
    uint32_t walks;            /* lookups before the table is built */
    bool built;
    bool unusable;             /* a key could not be decoded: walk instead */
    uint32_t mask;
    uint32_t key[NZ_INDEX_SLOTS];  /* key node + 1, 0 = empty */
    uint32_t hash[NZ_INDEX_SLOTS]; /* of the decoded key */
};

#define NZ_MEMO_PATHS 128u      /* paths remembered for the current event */
#define NZ_MEMO_VALUES 512u     /* their values, all paths together */
#define NZ_MEMO_PER_PATH 16u    /* a path with more values is walked every time */
#define NZ_MEMO_TEXT 8192u      /* bytes of remembered path text */

struct nz_memo_path {
    uint32_t gen;   /* valid when == nz_memo.gen */
    uint32_t hash;
    uint32_t off, len; /* text in nz_memo.text */
    uint32_t first, n; /* values in nz_memo.val; n = UINT32_MAX: walk (too many) */
};

/* mh_event_get results of the event last looked into (path.c). */
struct nz_memo {
    const struct mh_jdoc *doc, *record_doc; /* the event: NULL = none */
    uint32_t body, record_root;
    uint32_t gen;
    uint32_t npaths, nvals, ntext;
    struct nz_memo_path path[NZ_MEMO_PATHS];
    struct mh_value val[NZ_MEMO_VALUES];
    char text[NZ_MEMO_TEXT];
};

struct mh_normalizer {
    struct mh_arena arena;
    struct mh_jdoc **pool; /* record tapes */
    size_t npool;          /* allocated entries */
    size_t used;           /* handed out since the last reset */
    struct nz_nested *nest[NZ_NEST_BUCKETS];
    struct nz_index idx[NZ_INDEXES];
    unsigned idx_next;
    struct nz_memo memo;
};

/* Forget the member indexes of doc (NULL: all). */
void mh_nz_index_drop(struct mh_normalizer *nz, const struct mh_jdoc *doc);

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
