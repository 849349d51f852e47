/*
 * ingest/decompress.h -- streaming gzip and zstd decompression
 *
 * Pipeline: source -> [ingest: decompress] -> text -> split/csv.
 * The adapter for zlib and libzstd (the only file including their headers).
 * Push interface: the caller hands in compressed bytes and an output window
 * and gets back how much was consumed and produced, so memory stays bounded
 * by the caller's buffers whatever the file size.
 *
 * gzip: multi-member streams (concatenated .gz files) are read to the end.
 * zstd: any number of frames (skippable frames are skipped by libzstd).
 * A corrupt stream is MH_EPARSE "corrupt gzip|zstd stream"; input that ends
 * inside a member/frame is MH_EPARSE "truncated gzip|zstd stream" (from
 * mh_decomp_finish). Zip-bomb guard: producing more than
 * MH_MAX_DECOMPRESSED_RATIO * consumed + 1 MiB is MH_ELIMIT. For all three,
 * err->offset is the compressed byte offset reached (the file position).
 *
 * Ownership: mh_decomp owns its library state; zlib allocates through the
 * mh_malloc seam. Thread-safety: one mh_decomp per stream.
 */
#ifndef MH_INGEST_DECOMPRESS_H
#define MH_INGEST_DECOMPRESS_H

#include <stddef.h>
#include <stdint.h>

#include "ingest/detect.h"
#include "mailhound/status.h"

typedef struct mh_decomp mh_decomp;

/* A decompressor for kind (MH_COMP_GZIP or MH_COMP_ZSTD). */
MH_MUST_CHECK mh_status mh_decomp_new(enum mh_compression kind, mh_decomp **out);
void mh_decomp_free(mh_decomp *d);

/*
 * Consume up to in_len bytes of in and write up to out_cap bytes to out.
 * *in_used / *out_n tell how much. When in_len is 0 (input exhausted) the
 * call only flushes buffered output; *out_n == 0 then means "drained".
 * Errors: MH_EPARSE (corrupt), MH_ELIMIT (ratio guard), MH_ENOMEM; the
 * counts are set on errors too (bytes decoded before the fault are valid).
 */
MH_MUST_CHECK mh_status mh_decomp_step(mh_decomp *d, const void *in, size_t in_len, size_t *in_used,
                                       void *out, size_t out_cap, size_t *out_n, mh_error *err);

/* After the input ended and output is drained: MH_OK if the stream ended on
 * a member/frame boundary, MH_EPARSE "truncated ... stream" otherwise. */
MH_MUST_CHECK mh_status mh_decomp_finish(mh_decomp *d, mh_error *err);

#endif
