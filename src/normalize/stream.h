/*
 * normalize/stream.h -- paths in, normalized events out, every problem reported once
 *
 * Pipeline: [ingest reader -> normalize] -> consumer (cat, stats, hunt...).
 * An mh_evstream drives an mh_reader and an mh_normalizer: it fills a batch,
 * normalizes its records one by one and hands out events. Records that the
 * reader or the normalizer cannot use are reported once through on_bad
 * (file, line, record number, byte offset in the decoded file, reason),
 * counted and skipped; events kept with a problem (a time field that does
 * not parse) are reported through on_warn. Nothing vanishes:
 *
 *   records = events + skipped          skipped = reader + normalizer skips
 *
 * Lifetime: an event returned by mh_evstream_next stays valid until the
 * stream refills its batch (all events of one batch are alive at once); a
 * consumer that keeps nothing past the next call needs no more than that.
 * Threading: one thread at a time.
 */
#ifndef MH_NORMALIZE_STREAM_H
#define MH_NORMALIZE_STREAM_H

#include <stdbool.h>
#include <stdint.h>

#include "ingest/reader.h"
#include "mailhound/status.h"
#include "normalize/event.h"

struct mh_evstream_opts {
    mh_bad_fn on_bad;  /* skipped record (fatal=false) / failed file (fatal=true); may be NULL */
    mh_bad_fn on_warn; /* event kept with a problem (fatal=false); may be NULL */
    void *ctx;         /* passed to both */
    struct mh_reader_opts reader; /* sizes (batch, chunk, record); on_bad/ctx ignored */
};

struct mh_evstream_stats {
    uint64_t records;           /* records seen = events + skipped */
    uint64_t events;            /* records turned into events (used) */
    uint64_t skipped;           /* records reported and skipped (reader + normalizer) */
    uint64_t skipped_normalize; /* of which by the normalizer (malformed JSON, AuditData) */
    uint64_t bad_time;          /* events kept with an unparseable time (time unknown) */
    uint64_t no_time;           /* events without any time (bad_time included) */
    uint64_t by_kind[MH_SRC__COUNT];
    mh_time first, last;           /* time range of events with a time; MH_TIME_NONE if none */
    struct mh_ingest_stats ingest; /* the reader's counters (files, bytes, formats) */
};

typedef struct mh_evstream mh_evstream;

/* opts may be NULL (then problems are only counted). MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_evstream_new(const struct mh_evstream_opts *opts, mh_evstream **out);
void mh_evstream_free(mh_evstream *s);
/* Queue inputs (see mh_reader_add_path / mh_reader_add_memory). */
MH_MUST_CHECK mh_status mh_evstream_add_path(mh_evstream *s, const char *path);
MH_MUST_CHECK mh_status mh_evstream_add_memory(mh_evstream *s, const char *name, const void *data,
                                               size_t len);
/*
 * Next event: MH_OK with *ev set, MH_EOF when every input is done, or an
 * internal failure (MH_ENOMEM) -- bad input never ends the stream.
 */
MH_MUST_CHECK mh_status mh_evstream_next(mh_evstream *s, struct mh_event **ev);
/* Name of the file an event came from (ev->rec->file). */
const char *mh_evstream_file_name(const mh_evstream *s, uint32_t file);
/* Its name relative to the input it was found under (ingest/reader.h
 * mh_reader_file_key): the same wherever the logs lie. */
const char *mh_evstream_file_key(const mh_evstream *s, uint32_t file);
void mh_evstream_stats(const mh_evstream *s, struct mh_evstream_stats *out);

#endif
