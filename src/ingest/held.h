/*
 * ingest/held.h -- reader reports held back until their record's turn
 *
 * Pipeline: [ingest: reader] -> normalize -> consumer. The reader reports a
 * batch's bad records and failed or skipped files while it fills the batch,
 * before any of its records is looked at; the normalizer (and the matcher)
 * report a record when it is processed. To give every report in input order
 * -- whatever the batch size and, for hunt, whatever the thread timing -- a
 * consumer holds the reader's reports with their position (the records of
 * the batch read before each) and releases them as it reaches that position.
 *
 * Bounds: at most MH_MAX_HELD_REPORTS per holder; one more (or an
 * allocation failure) first releases every held report through the given
 * reporter, so nothing is ever lost -- only a batch window with thousands of
 * bad records can see reports ahead of their place.
 *
 * Ownership: the holder copies each mh_error. Thread-safety: one thread at a
 * time per holder (hunt fills a slot's holder on the main thread and
 * releases it on the worker that processes the slot, never both at once).
 */
#ifndef MH_INGEST_HELD_H
#define MH_INGEST_HELD_H

#include <stdbool.h>
#include <stddef.h>

#include "ingest/reader.h"

struct mh_held_report {
    mh_error err;
    bool fatal;
    size_t pos; /* records of the batch read before the report */
};

struct mh_held {
    struct mh_held_report *v;
    size_t n, cap, next; /* v[next..n) still held */
};

/* Zero-initialised holders are valid too. */
void mh_held_init(struct mh_held *h);
void mh_held_fini(struct mh_held *h);
/* Hold err, placed before record pos. At the bound or out of memory, every
 * held report and then err go to fn at once. */
void mh_held_add(struct mh_held *h, const mh_error *err, bool fatal, size_t pos, mh_bad_fn fn,
                 void *ctx);
/* Pass the held reports with pos <= upto to fn, in the order they came. */
void mh_held_release(struct mh_held *h, size_t upto, mh_bad_fn fn, void *ctx);
/* True when reports are held. */
static inline bool mh_held_any(const struct mh_held *h)
{
    return h->next < h->n;
}

#endif
