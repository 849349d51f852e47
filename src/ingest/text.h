/*
 * ingest/text.h -- UTF-16 (LE/BE) to UTF-8, streaming
 *
 * Pipeline: source -> decompress -> [ingest: text] -> split/csv.
 * UTF-8 input passes through untouched (reader.c only strips its BOM);
 * UTF-16 input is converted code unit by code unit across chunk boundaries:
 * an odd byte or a high surrogate at the end of one chunk waits for the
 * next. An unpaired surrogate, or an odd byte at the very end, is MH_EPARSE
 * "invalid UTF-16" with the byte offset (in the UTF-16 input) in err.
 *
 * Data model: at most one pending input byte, one pending high surrogate and
 * up to 4 pending output bytes (when the caller's output window is full), so
 * every call makes progress with any out_cap >= 1.
 * Ownership: caller-owned struct, no allocation. One per stream.
 */
#ifndef MH_INGEST_TEXT_H
#define MH_INGEST_TEXT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/detect.h"
#include "mailhound/status.h"

struct mh_text {
    enum mh_encoding enc;
    uint64_t in_off;     /* offset of the next input byte */
    unsigned char carry; /* odd byte waiting for its partner */
    bool has_carry;
    uint16_t hi; /* high surrogate waiting for its low half */
    bool has_hi;
    uint64_t hi_off;       /* where that high surrogate started */
    unsigned char pend[4]; /* converted bytes the output had no room for */
    unsigned npend, pend_pos;
};

/* Start a converter for enc (MH_ENC_UTF16LE/BE); start_off = input offset
 * of the first byte that will be passed (the BOM length, usually). */
void mh_text_init(struct mh_text *t, enum mh_encoding enc, uint64_t start_off);

/*
 * Convert: consume up to in_len bytes, write up to out_cap UTF-8 bytes.
 * With in_len == 0 only pending output is flushed. MH_EPARSE on an unpaired
 * surrogate (err: "invalid UTF-16", offset set).
 */
MH_MUST_CHECK mh_status mh_text_step(struct mh_text *t, const void *in, size_t in_len,
                                     size_t *in_used, void *out, size_t out_cap, size_t *out_n,
                                     mh_error *err);

/* At end of input (after flushing): MH_OK, or MH_EPARSE "invalid UTF-16"
 * for an odd trailing byte or a dangling high surrogate. */
MH_MUST_CHECK mh_status mh_text_finish(struct mh_text *t, mh_error *err);

#endif
