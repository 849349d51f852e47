/*
 * ingest/detect.h -- deciding what a byte stream is, by content only
 *
 * Pipeline: [ingest: source -> detect -> decompress -> text -> split/csv].
 * Three layers, each decided from a prefix of the stream (never the name):
 *   1. compression: gzip (1F 8B) or zstd (28 B5 2F FD) magic bytes;
 *   2. text encoding of the decompressed bytes: UTF-8 BOM (EF BB BF),
 *      UTF-16LE BOM (FF FE), UTF-16BE BOM (FE FF), UTF-16LE without BOM
 *      (ASCII text with a 00 after every byte of the first line), else UTF-8;
 *   3. the container: first non-space byte '[' or '{' -> JSON (split.c
 *      decides JSONL / array / Graph page / Azure records from the keys),
 *      anything else -> CSV, whose layout is decided here from its header.
 *
 * All functions are pure (no allocation, no state) and thread-safe.
 */
#ifndef MH_INGEST_DETECT_H
#define MH_INGEST_DETECT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/slice.h"
#include "ingest/reader.h"

enum mh_compression { MH_COMP_NONE = 0, MH_COMP_GZIP, MH_COMP_ZSTD };

enum mh_encoding { MH_ENC_UTF8 = 0, MH_ENC_UTF16LE, MH_ENC_UTF16BE };

/* Bytes of prefix mh_detect_compression wants (fewer only at end of input). */
#define MH_DETECT_MAGIC_BYTES 6u

/* Compression of a stream from its first n bytes (n >= 4 unless the stream is shorter). */
enum mh_compression mh_detect_compression(const void *p, size_t n);

/* Name of an archive or compression format mailhound does not read (zip,
 * 7z, xz, bzip2), recognised by its magic bytes, or NULL. Such a file is
 * reported as unsupported instead of being taken for text. */
const char *mh_detect_unsupported(const void *p, size_t n);

/*
 * Text encoding from the first n decoded bytes. Returns false when more bytes
 * are needed to decide (n < MH_DETECT_PREFIX_BYTES and !eof); otherwise sets
 * *enc and *bom (bytes of byte-order mark to skip) and returns true.
 */
bool mh_detect_encoding(const void *p, size_t n, bool eof, enum mh_encoding *enc, size_t *bom);

/*
 * CSV layout from the header's column names (already unquoted, trimmed and
 * with any " [UTC]"-style unit suffix removed); names compare ASCII
 * case-insensitively. Returns MH_FMT_CSV_GENERIC for any other plausible
 * header and MH_FMT_UNKNOWN when the row does not look like a CSV header at
 * all (fewer than two columns, empty or over-long names, control bytes, or
 * names that read like prose). unit_suffix: some column carried a " [UTC]"
 * style suffix (a Log Analytics portal export trait).
 */
enum mh_format mh_detect_csv_layout(const struct mh_slice *names, size_t n, bool unit_suffix);

/* "none", "gzip", "zstd"; "utf-8", "utf-16le", "utf-16be". */
const char *mh_compression_name(enum mh_compression c);
const char *mh_encoding_name(enum mh_encoding e);

#endif
