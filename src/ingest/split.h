/*
 * ingest/split.h -- streaming structural splitter for JSON record streams
 *
 * Pipeline: source -> decompress -> text -> [ingest: split] -> normalize.
 * In:  decoded UTF-8 text, delivered in arbitrary pieces (a sliding window
 *      owned by the caller; positions are absolute offsets in the stream).
 * Out: one item at a time: a record (the byte range of one JSON object), a
 *      bad record (position + fixed reason), "need more input", or the end.
 *
 * It does not parse JSON: it tracks strings, escapes and bracket nesting,
 * which is enough to find where each record starts and ends (validation is
 * the normalize stage's job). What it recognises:
 *   - JSON Lines / concatenated / pretty-printed objects at the top level;
 *   - a top-level array: every element that is an object is a record
 *     (Management Activity content blobs); other elements are bad records;
 *   - a wrapper object whose top-level key "records" (Azure Monitor / Event
 *     Hubs body) or "value" (Graph page) holds an array of objects (the array
 *     is empty or its first element is an object): its elements are records
 *     and the rest of the wrapper (@odata.* ...) is skipped. Only the first
 *     top-level object of a stream, or later ones once the stream is known
 *     to hold wrappers, are considered as wrappers.
 *
 * Bad input (reported once, skipped, then resynchronised at the next line
 * whose first non-space byte can start a record -- '{' or '[' at the top
 * level, '{' or ']' inside an array):
 *   - bytes between records that cannot start one ("garbage");
 *   - a raw newline inside a string (JSON forbids it: the string is broken);
 *   - a mismatched closing bracket, or nesting deeper than MH_SPLIT_MAX_DEPTH;
 *   - in JSON Lines, a line that starts with '{' while the previous record is
 *     still open and could not continue there (the previous line ended on a
 *     value, or every earlier record fitted on one line): the open record is
 *     reported and the new line starts the next record;
 *   - a record larger than max_record bytes (scanned to its end, discarded);
 *   - end of input inside a record or container.
 * Every item is a pure function of the byte stream: the same items come out
 * whatever the piece sizes (tested with 1, 7, 64 bytes and the default).
 *
 * Example: `{"@odata.context":"x","value":[{"a":1},{"b":2}]}` gives two
 * records `{"a":1}` and `{"b":2}` with format MH_FMT_GRAPH_PAGE.
 *
 * Ownership: caller-owned struct, no allocation. Thread-safety: one per stream.
 */
#ifndef MH_INGEST_SPLIT_H
#define MH_INGEST_SPLIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ingest/reader.h"
#include "mailhound/limits.h"

enum mh_split_ev {
    MH_SPLIT_NEED = 0, /* all of the window is scanned: give more (or eof) */
    MH_SPLIT_RECORD,   /* item = one record */
    MH_SPLIT_BAD,      /* item = one bad record / malformed region */
    MH_SPLIT_END,      /* eof was given and everything is reported */
};

struct mh_split_item {
    uint64_t start, len; /* record bytes (absolute offsets); BAD: where it starts */
    uint64_t line;       /* 1-based line of start */
    uint64_t number;     /* 1-based record number (0: not a record, e.g. a broken container) */
    enum mh_format format;
    mh_status code;     /* BAD: MH_EPARSE or MH_ELIMIT */
    const char *reason; /* BAD: fixed message */
    char detail[96];    /* BAD: extra detail (may be empty) */
};

struct mh_split {
    uint64_t pos;                            /* absolute offset of the next byte to scan */
    uint64_t line;                           /* line number at pos */
    uint64_t max_record;                     /* record size limit */
    enum mh_format file_fmt;                 /* first container kind seen (MH_FMT_UNKNOWN before) */
    enum mh_format cont_fmt;                 /* kind of the container records currently come from */
    uint32_t depth;                          /* nesting depth at pos */
    uint32_t cdepth;                         /* depth at which records start (0 = top level) */
    uint64_t stack[MH_SPLIT_MAX_DEPTH / 64]; /* bit d: level d+1 is an array */
    bool in_str, esc, at_bol, resync;
    bool in_rec, discard, in_bad_elem, cand, key_str, finished;
    uint8_t last_sig;  /* class of the last significant byte */
    uint8_t wstate;    /* wrapper detection progress */
    uint8_t line_mode; /* JSONL: unknown / one record per line / multi-line */
    enum mh_format wkind;
    uint64_t rec_start, rec_line, rec_no, key_start;
};

/* Start a stream whose first byte has absolute offset start (line 1). */
void mh_split_init(struct mh_split *s, uint64_t start, uint64_t max_record);

/*
 * Next item. data[0..len) holds the stream bytes at absolute offsets
 * [base, base+len), with base <= s->pos; eof says no bytes follow them.
 * MH_SPLIT_NEED: every byte given is scanned. Bytes before mh_split_keep()
 * may be dropped by the caller between calls.
 */
enum mh_split_ev mh_split_next(struct mh_split *s, const char *data, uint64_t base, size_t len,
                               bool eof, struct mh_split_item *it);

/* Earliest absolute offset the splitter still needs (start of the open record). */
uint64_t mh_split_keep(const struct mh_split *s);

#endif
