/*
 * ingest/reader.h -- every log export a responder holds, as one stream of records
 *
 * Pipeline: [ingest] -> normalize -> match -> correlate.
 * In:  paths (files, directories walked recursively in sorted order, "-" for
 *      stdin); gzip and zstd decompressed transparently (detected by magic
 *      bytes); UTF-16LE (with or without BOM) and UTF-8 (with or without BOM)
 *      decoded to UTF-8.
 * Out: batches of records. A record is always ONE JSON object text:
 *      - JSON containers (JSON Lines, a JSON array, a Graph page {"value":[..]},
 *        an Azure Monitor / Event Hubs body {"records":[..]}, Management
 *        Activity arrays): the element's bytes, verbatim;
 *      - CSV rows (Purview 4/8 columns, Search-UnifiedAuditLog CSV, Log
 *        Analytics table exports, message trace: Get-MessageTrace(V2),
 *        enhanced summary, extended report): a synthesised object mapping
 *        header -> cell text (all values JSON strings; empty cells omitted;
 *        Log Analytics "X_dynamic"/"X_string" columns emitted as "X" when "X"
 *        is absent, first non-empty wins; a " [UTC]"-style unit suffix is
 *        stripped from column names: "TimeGenerated [UTC]" -> "TimeGenerated").
 *      The format is decided by content (magic bytes, first non-space byte,
 *      CSV header row), never by file name.
 *
 * Bad input: a malformed record (unbalanced JSON element, CSV row with an
 * unterminated quote, over MH_MAX_RECORD_BYTES, ...) is reported once through
 * the on_bad callback with file, record number, line and byte offset and a
 * reason, counted in stats.records_skipped, and skipped; the rest of the file
 * is still read. A file-level failure (unreadable, truncated gzip/zstd,
 * invalid UTF-16, unrecognised format) is reported through on_bad with
 * fatal=true, counted in stats.files_failed, and the reader moves on to the
 * next file. Nothing is dropped silently.
 *
 * Positions: record numbers are 1-based per file and count every record
 * candidate, bad ones included (CSV: data rows, the header excluded); lines
 * are 1-based and count every LF, also those inside quoted CSV cells; byte
 * offsets are into the decoded UTF-8 text of the file -- for UTF-8 input that
 * is the (decompressed) file offset, BOM included; for UTF-16 input it is the
 * offset in the UTF-8 conversion (an "invalid UTF-16" report gives the offset
 * in the UTF-16 bytes). Details: docs/formats.md.
 *
 * Not a log: a file met while walking a folder whose text is neither JSON
 * nor a CSV with a header row (a README, a picture, a note next to the
 * exports) is not a log file: it is reported once through on_bad with
 * fatal=false (message "not a log file", mh_reader_not_a_log() true, the
 * path in origin), counted in stats.files_not_logs -- not in files_failed --
 * and skipped. The same file named by the caller (mh_reader_add_path, "-",
 * memory) is a failed file ("unrecognised format", fatal=true).
 *
 * Counting: stats.files counts every input reached (unreadable ones too);
 * each on_bad call with fatal=false is one records_skipped, or one
 * files_not_logs when mh_reader_not_a_log(err); each with fatal=true one
 * files_failed.
 *
 * Memory: bounded by MH_BATCH_BYTES per batch plus MH_READ_CHUNK_BYTES and
 * the largest record (<= MH_MAX_RECORD_BYTES); whole files are never loaded.
 * Batches own the bytes their records point into, so a filled batch can be
 * handed to another thread while the reader fills the next one.
 * Thread-safety: a reader is used by one thread at a time.
 */
#ifndef MH_INGEST_READER_H
#define MH_INGEST_READER_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "mailhound/status.h"

enum mh_format {
    MH_FMT_UNKNOWN = 0,
    MH_FMT_JSONL,             /* one JSON object per line (also concatenated objects) */
    MH_FMT_JSON_ARRAY,        /* [ {...}, ... ] incl. Management Activity content blobs */
    MH_FMT_GRAPH_PAGE,        /* {"@odata.context":..., "value":[ ... ]} */
    MH_FMT_AZURE_RECORDS,     /* {"records":[ ... ]} */
    MH_FMT_CSV_PURVIEW4,      /* CreationDate,UserIds,Operations,AuditData */
    MH_FMT_CSV_PURVIEW8,      /* RecordId,CreationDate,RecordType,Operation,UserId,AuditData,... */
    MH_FMT_CSV_UAL_PS,        /* Search-UnifiedAuditLog objects (RunspaceId,...,AuditData,...) */
    MH_FMT_CSV_LOGANALYTICS,  /* Sentinel / Log Analytics table export */
    MH_FMT_CSV_TRACE,         /* Get-MessageTrace / Get-MessageTraceV2 Export-Csv */
    MH_FMT_CSV_TRACE_SUMMARY, /* enhanced summary report */
    MH_FMT_CSV_TRACE_EXTENDED,/* extended report */
    MH_FMT_CSV_GENERIC,       /* any other CSV with a header row */
    MH_FMT__COUNT
};

const char *mh_format_name(enum mh_format f); /* "jsonl", "csv-purview8", ... */

struct mh_record {
    const char *json;   /* the record as one JSON object text (not NUL-terminated) */
    uint32_t json_len;
    const char *raw;    /* the original bytes (JSON: == json; CSV: the row text) */
    uint32_t raw_len;
    uint32_t file;      /* index for mh_reader_file_name() */
    uint16_t format;    /* enum mh_format */
    uint16_t reserved;
    uint64_t number;    /* 1-based record number within the file */
    uint64_t line;      /* 1-based line number where the record starts */
    uint64_t offset;    /* byte offset of the record in the decoded file */
};

struct mh_batch {
    struct mh_record *recs;
    size_t n, cap;
    struct mh_buf mem;  /* bytes records point into (owned) */
    void *priv;         /* reader-private (chunk hand-over) */
};

void mh_batch_init(struct mh_batch *b);
void mh_batch_fini(struct mh_batch *b);

struct mh_ingest_stats {
    uint64_t files;           /* files opened */
    uint64_t files_failed;    /* files abandoned (fatal error) */
    uint64_t files_not_logs;  /* files met in a folder that are not logs (skipped) */
    uint64_t bytes_in;        /* bytes read from disk / stdin (compressed size) */
    uint64_t bytes;           /* decoded bytes */
    uint64_t records_read;    /* records delivered */
    uint64_t records_skipped; /* malformed records reported and skipped */
    uint64_t by_format[MH_FMT__COUNT]; /* records delivered per format */
};

/* Report of a bad record or a skipped non-log file (fatal=false) or a
 * failed file (fatal=true). */
typedef void (*mh_bad_fn)(void *ctx, const mh_error *err, bool fatal);

/* True when err is the report of a file met in a folder that is not a log
 * (see "Not a log"); false for NULL and every other report. */
bool mh_reader_not_a_log(const mh_error *err);

struct mh_reader_opts {
    mh_bad_fn on_bad; /* may be NULL (then only counted) */
    void *ctx;
    size_t batch_records; /* 0 = MH_BATCH_RECORDS */
    size_t batch_bytes;   /* 0 = MH_BATCH_BYTES */
    size_t chunk_bytes;   /* read size; 0 = MH_READ_CHUNK_BYTES (tests use 1, 7, 64...) */
    size_t max_record_bytes; /* 0 = MH_MAX_RECORD_BYTES (tests lower it) */
};

typedef struct mh_reader mh_reader;

MH_MUST_CHECK mh_status mh_reader_new(const struct mh_reader_opts *opts, mh_reader **out);
void mh_reader_free(mh_reader *r);
/* Queue a path: a file, a directory (recursive, sorted by name), or "-". The
 * path is checked lazily; an unreadable one is reported when reached. */
MH_MUST_CHECK mh_status mh_reader_add_path(mh_reader *r, const char *path);
/* Queue an in-memory buffer (tests, fuzzing); name is used in reports. */
MH_MUST_CHECK mh_status mh_reader_add_memory(mh_reader *r, const char *name, const void *data,
                                             size_t len);
/*
 * Refill b (its previous content is discarded) with the next records.
 * MH_OK: b->n >= 1. MH_EOF: all inputs done, b->n == 0. Other statuses are
 * internal failures (MH_ENOMEM) -- bad input never ends the stream.
 */
MH_MUST_CHECK mh_status mh_reader_fill(mh_reader *r, struct mh_batch *b);
/* Name of file index `file` (the path as given or found; "-" for stdin; the
 * name passed to mh_reader_add_memory); NULL when out of range. */
const char *mh_reader_file_name(const mh_reader *r, uint32_t file);
/*
 * Key of file index `file`: its name relative to the input it was found
 * under, the same wherever the evidence lies -- for a file met while walking
 * a folder named by the caller, the path below that folder ("logs" and
 * "/case/logs/" both give "ual/2024-03.jsonl"); for a path or buffer named by
 * the caller, its last component (the text after the last '/'); "-" for
 * stdin. A suffix of mh_reader_file_name() (same lifetime); NULL when out of
 * range. Incident ids hash it (correlate/incident.c) instead of the name.
 */
const char *mh_reader_file_key(const mh_reader *r, uint32_t file);
/* Format detected for a file (MH_FMT_UNKNOWN before it is opened). */
enum mh_format mh_reader_file_format(const mh_reader *r, uint32_t file);
const struct mh_ingest_stats *mh_reader_stats(const mh_reader *r);

#endif
