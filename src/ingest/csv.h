/*
 * ingest/csv.h -- streaming RFC 4180 CSV rows, and rows as JSON records
 *
 * Pipeline: source -> decompress -> text -> [ingest: csv] -> normalize.
 *
 * Row parser (mh_csv): fields separated by ',', rows ended by LF or CRLF;
 * a field that starts with '"' is quoted: '""' inside is one quote, and
 * commas, CR and LF inside are data. Leniencies: a quote inside an unquoted
 * field is data; bytes after a closing quote are appended to the field
 * (`"ab"c` = `abc`); a lone CR outside quotes is data. Blank lines are not
 * rows. Positions are absolute offsets into the decoded stream; lines count
 * every LF, including those inside quoted cells.
 * Bad rows (reported once, skipped): a row over max_record bytes (scanned to
 * its end, bytes dropped), a row with more than MH_MAX_CSV_COLUMNS fields,
 * and a quoted field still open at end of input -- then the parser resumes at
 * the line after the bad row's first line, so one stray quote costs one row.
 * The same rows come out whatever the piece sizes.
 *
 * Row mapping (mh_csv_map): built from the header row; turns each data row
 * into ONE JSON object text: header name -> cell text, every value a JSON
 * string, empty cells omitted, keys in header order. Header names are
 * unquoted, trimmed, and lose a trailing unit suffix in brackets
 * ("TimeGenerated [UTC]" -> "TimeGenerated"); a later duplicate name is
 * dropped. In Log Analytics exports "X_dynamic"/"X_string" columns become
 * key "X" when there is no plain "X" column; the first non-empty of them wins.
 * Example: header `a,"b [UTC]",c` and row `1,,"x ""y"""` give
 * {"a":"1","c":"x \"y\""}.
 *
 * Ownership: mh_csv and mh_csv_map own their arrays (mh_malloc); rows point
 * into the caller's window. Thread-safety: one per stream.
 */
#ifndef MH_INGEST_CSV_H
#define MH_INGEST_CSV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "ingest/reader.h"
#include "ingest/split.h"
#include "mailhound/status.h"

/* One raw field: absolute offsets, quotes included, row terminator excluded. */
struct mh_csv_field {
    uint64_t start, end;
};

enum mh_csv_ev {
    MH_CSV_NEED = 0, /* all given bytes scanned */
    MH_CSV_ROW,      /* item = the row's span; fields in c->fields[0..c->nfields) */
    MH_CSV_BAD,      /* item = a bad row */
    MH_CSV_END,      /* eof given, all reported */
};

struct mh_csv {
    uint64_t pos, line, max_record;
    uint64_t row_start, row_line, row_no, field_start;
    struct mh_csv_field *fields; /* MH_MAX_CSV_COLUMNS entries */
    size_t nfields;
    uint8_t state;
    bool in_row, discard, overflow, finished;
};

/* Start a stream whose first byte has absolute offset start. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_csv_init(struct mh_csv *c, uint64_t start, uint64_t max_record);
void mh_csv_fini(struct mh_csv *c);

/*
 * Next row. data[0..len) holds absolute offsets [base, base+len), base <=
 * c->pos; eof says nothing follows. Item numbers count non-blank rows from 1
 * (the caller may reset c->row_no after the header). Bytes before
 * mh_csv_keep() may be dropped by the caller between calls.
 */
enum mh_csv_ev mh_csv_next(struct mh_csv *c, const char *data, uint64_t base, size_t len, bool eof,
                           struct mh_split_item *it);
uint64_t mh_csv_keep(const struct mh_csv *c);

/* Decode one raw field (quotes removed, "" -> ") into out (appends). */
MH_MUST_CHECK mh_status mh_csv_field_text(const char *p, size_t n, struct mh_buf *out);
/* The same, JSON-escaped (no surrounding quotes): byte-identical to
 * mh_json_escape of mh_csv_field_text's result, in one pass. */
MH_MUST_CHECK mh_status mh_csv_field_json(const char *p, size_t n, struct mh_buf *out);

struct mh_csv_col {
    uint32_t slot; /* output key index, or UINT32_MAX when the column is dropped */
};

struct mh_csv_slot {
    char *key; /* `"Name":` ready to copy (JSON-escaped), heap */
    size_t key_len;
    uint32_t first; /* index into order[] of this slot's first column */
    uint32_t count; /* columns feeding this slot */
};

struct mh_csv_map {
    enum mh_format format;
    size_t ncols, nslots;
    struct mh_csv_col *cols;
    struct mh_csv_slot *slots;
    uint32_t *order; /* columns grouped by slot, in header order within a slot */
};

/*
 * Build the mapping from the header row fields (raw, in data at base) and
 * decide the layout (detect.c). Sets m->format; MH_FMT_UNKNOWN means "not a
 * CSV header" (the caller reports the file as unrecognised). MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_csv_map_init(struct mh_csv_map *m, const char *data, uint64_t base,
                                        const struct mh_csv_field *f, size_t n);
void mh_csv_map_fini(struct mh_csv_map *m);

/* Append the JSON object for one data row (n == m->ncols) to out. */
MH_MUST_CHECK mh_status mh_csv_map_row(const struct mh_csv_map *m, const char *data, uint64_t base,
                                       const struct mh_csv_field *f, size_t n, struct mh_buf *out);

#endif
