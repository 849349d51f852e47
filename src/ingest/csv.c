/*
 * ingest/csv.c -- streaming RFC 4180 rows and the row -> JSON mapping (see csv.h)
 *
 * Pipeline: text -> [csv] -> reader.c batches -> normalize.
 *
 * Row parser: a five-state machine (field start, unquoted, quoted, quote
 * seen inside quotes, after the closing quote) over an absolute cursor, so
 * it resumes at any byte. Inside quoted cells the next '"' or LF is found 16
 * bytes at a time; in unquoted cells the next ',' or LF. Fields are stored as
 * raw spans (quotes included); decoding happens once, when the row is turned
 * into JSON, straight into the batch memory.
 *
 * Invariants: nfields <= MH_MAX_CSV_COLUMNS (overflow flagged, row bad);
 * while in_row && !discard the bytes from row_start are kept by the caller;
 * a row is never returned larger than max_record.
 *
 * Mapping: slots are output keys in order of first appearance; each slot
 * lists its feeding columns (one, or the X_dynamic/X_string family of a Log
 * Analytics export). Keys are JSON-escaped once, at header time.
 */
#include "ingest/csv.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/slice.h"
#include "ingest/detect.h"
#include "ingest/scan.h"
#include "mailhound/limits.h"

enum { S_START = 0, S_UNQUOTED, S_QUOTED, S_QUOTE, S_AFTER };

mh_status mh_csv_init(struct mh_csv *c, uint64_t start, uint64_t max_record)
{
    memset(c, 0, sizeof *c);
    c->fields = mh_malloc(MH_MAX_CSV_COLUMNS * sizeof *c->fields);
    if (!c->fields) return MH_ENOMEM;
    c->pos = start;
    c->line = 1;
    c->max_record = max_record ? max_record : MH_MAX_RECORD_BYTES;
    return MH_OK;
}

void mh_csv_fini(struct mh_csv *c)
{
    if (!c) return;
    mh_free(c->fields);
    c->fields = NULL;
}

uint64_t mh_csv_keep(const struct mh_csv *c)
{
    return (c->in_row && !c->discard) ? c->row_start : c->pos;
}

static void bad_item(const struct mh_csv *c, struct mh_split_item *it, mh_status code,
                     const char *reason)
{
    memset(it, 0, sizeof *it);
    it->start = c->row_start;
    it->line = c->row_line;
    it->number = c->row_no;
    it->format = MH_FMT_UNKNOWN;
    it->code = code;
    it->reason = reason;
}

static void end_field(struct mh_csv *c, uint64_t end)
{
    if (c->discard) return;
    if (c->nfields == MH_MAX_CSV_COLUMNS) {
        c->overflow = true;
        return;
    }
    c->fields[c->nfields].start = c->field_start;
    c->fields[c->nfields].end = end;
    c->nfields++;
}

/* Close the row ending at absolute offset end (LF excluded, CR stripped by the caller). */
static enum mh_csv_ev end_row(struct mh_csv *c, uint64_t end, struct mh_split_item *it)
{
    end_field(c, end);
    c->in_row = false;
    c->state = S_START;
    if (c->discard) {
        c->discard = false;
        return MH_CSV_NEED;
    }
    if (c->overflow) {
        bad_item(c, it, MH_ELIMIT, "too many fields");
        snprintf(it->detail, sizeof it->detail, "more than %u", (unsigned)MH_MAX_CSV_COLUMNS);
        return MH_CSV_BAD;
    }
    if (end - c->row_start > c->max_record) {
        bad_item(c, it, MH_ELIMIT, "record too large");
        snprintf(it->detail, sizeof it->detail, "%llu bytes, limit %llu",
                 (unsigned long long)(end - c->row_start), (unsigned long long)c->max_record);
        return MH_CSV_BAD;
    }
    memset(it, 0, sizeof *it);
    it->start = c->row_start;
    it->len = end - c->row_start;
    it->line = c->row_line;
    it->number = c->row_no;
    return MH_CSV_ROW;
}

/* Where this call may scan to (scan.h). */
static size_t scan_end(const struct mh_csv *c, uint64_t base, size_t len, size_t i)
{
    return mh_scan_end(c->in_row && !c->discard, c->row_start, c->max_record, base, len, i);
}

enum mh_csv_ev mh_csv_next(struct mh_csv *c, const char *data, uint64_t base, size_t len, bool eof,
                           struct mh_split_item *it)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = (size_t)(c->pos - base);
    size_t n = scan_end(c, base, len, i);
    enum mh_csv_ev ev;

    if (c->finished) return MH_CSV_END;
again:
    while (i < n) {
        if (!c->in_row) {
            unsigned char b = p[i];
            if (b == '\n' || b == '\r') { /* blank line: not a row */
                if (b == '\n') c->line++;
                i++;
                continue;
            }
            c->in_row = true;
            c->row_start = c->field_start = base + i;
            c->row_line = c->line;
            c->row_no++;
            c->nfields = 0;
            c->overflow = false;
            c->state = S_START;
            n = scan_end(c, base, len, i);
        }
        unsigned char b = p[i];
        switch (c->state) {
        case S_QUOTED: {
            size_t j = i + mh_scan_find3(p + i, n - i, '"', '\n', '\n');
            if (j == n) {
                i = n;
                continue;
            }
            if (p[j] == '\n')
                c->line++;
            else
                c->state = S_QUOTE;
            i = j + 1;
            continue;
        }
        case S_QUOTE:
            if (b == '"') { /* "" = one quote */
                c->state = S_QUOTED;
                i++;
                continue;
            }
            c->state = S_AFTER;
            continue; /* reprocess b */
        case S_START:
            if (b == '"') {
                c->state = S_QUOTED;
                i++;
                continue;
            }
            c->state = S_UNQUOTED;
            /* fallthrough */
        default: { /* S_UNQUOTED, S_AFTER: up to the next ',' or LF */
            size_t j = i + mh_scan_find3(p + i, n - i, ',', '\n', '\n');
            if (j == n) {
                i = n;
                continue;
            }
            if (p[j] == ',') {
                end_field(c, base + j);
                c->field_start = base + j + 1;
                c->state = S_START;
                i = j + 1;
                continue;
            }
            uint64_t end = base + j;
            /* Strip the CR of a CRLF (the row's bytes are kept unless discarded). */
            if (end > c->field_start && end - 1 >= base && p[j - 1] == '\r') end--;
            c->line++;
            i = j + 1;
            ev = end_row(c, end, it);
            if (ev != MH_CSV_NEED) {
                c->pos = base + i;
                return ev;
            }
            continue;
        }
        }
    }

    c->pos = base + i;
    if (i < len && !(c->in_row && !c->discard && c->pos - c->row_start > c->max_record)) {
        n = scan_end(c, base, len, i); /* the row that capped the scan is gone */
        goto again;
    }
    if (c->in_row && !c->discard && c->pos - c->row_start > c->max_record) {
        bad_item(c, it, MH_ELIMIT, "record too large");
        snprintf(it->detail, sizeof it->detail, "more than %llu bytes",
                 (unsigned long long)c->max_record);
        c->discard = true;
        return MH_CSV_BAD;
    }
    if (!eof) return MH_CSV_NEED;
    if (!c->in_row) {
        c->finished = true;
        return MH_CSV_END;
    }
    if (c->state == S_QUOTED) {
        bad_item(c, it, MH_EPARSE, "unterminated quoted field at end of input");
        c->in_row = false;
        c->state = S_START;
        if (!c->discard) {
            /* Resume at the line after the bad row's first line. */
            size_t from = (size_t)(c->row_start - base);
            const unsigned char *nl = memchr(p + from, '\n', n - from);
            if (nl) {
                c->pos = base + (uint64_t)(nl - p) + 1;
                c->line = c->row_line + 1;
                return MH_CSV_BAD;
            }
        }
        c->discard = false;
        c->finished = true;
        return MH_CSV_BAD;
    }
    /* Last row without a line end. */
    uint64_t end = c->pos;
    if (end > c->field_start && end - 1 >= base && p[end - 1 - base] == '\r') end--;
    ev = end_row(c, end, it);
    if (ev == MH_CSV_NEED) {
        c->finished = true;
        return MH_CSV_END;
    }
    return ev;
}

/* ------------------------------------------------------------ field text */

mh_status mh_csv_field_text(const char *p, size_t n, struct mh_buf *out)
{
    if (n == 0 || p[0] != '"') return mh_buf_append(out, p, n);
    size_t i = 1, seg = 1;
    while (i < n) {
        if (p[i] != '"') {
            i++;
            continue;
        }
        if (i + 1 < n && p[i + 1] == '"') {
            MH_TRY(mh_buf_append(out, p + seg, i + 1 - seg));
            i += 2;
            seg = i;
            continue;
        }
        MH_TRY(mh_buf_append(out, p + seg, i - seg));
        return mh_buf_append(out, p + i + 1, n - i - 1); /* bytes after the closing quote */
    }
    return mh_buf_append(out, p + seg, n - seg); /* unterminated: keep what there is */
}

/*
 * Like mh_csv_field_text, but JSON-escaped into out, in one pass: ASCII is
 * escaped here (the hot case: AuditData cells are JSON full of doubled
 * quotes), runs of bytes >= 0x80 go to mh_json_escape, which validates UTF-8
 * and replaces invalid bytes with U+FFFD -- so the output is exactly what
 * mh_json_escape gives for the decoded text. Space is reserved per block of
 * input (worst case 6 output bytes per input byte: \u00XX).
 */
/* Bytes after a closing quote (`"ab"c`, a leniency) may join a UTF-8
 * sequence split by the quote: decode first, then escape. */
static mh_status field_json_slow(const char *s, size_t n, struct mh_buf *out, size_t start)
{
    struct mh_buf text;
    mh_buf_init(&text, n + 1);
    out->len = start;
    out->data[start] = '\0';
    mh_status st = mh_csv_field_text(s, n, &text);
    if (st == MH_OK) st = mh_json_escape(out, text.data ? text.data : "", text.len);
    mh_buf_fini(&text);
    return st;
}

mh_status mh_csv_field_json(const char *s, size_t n, struct mh_buf *out)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t start = out->len;
    bool quoted = n && p[0] == '"';
    size_t i = quoted ? 1 : 0;
    while (i < n) {
        size_t stop = n - i > 4096 ? i + 4096 : n;
        MH_TRY(mh_buf_reserve(out, (stop - i) * 6 + 8));
        char *o = out->data + out->len;
        while (i < stop) {
            unsigned char c = p[i];
            if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
                *o++ = (char)c;
                i++;
                continue;
            }
            if (c == '"') {
                if (quoted && !(i + 1 < n && p[i + 1] == '"')) { /* closing quote */
                    if (i + 1 < n) return field_json_slow(s, n, out, start);
                    quoted = false;
                    i++;
                    continue;
                }
                *o++ = '\\';
                *o++ = '"';
                i += quoted ? 2 : 1; /* "" inside quotes is one quote */
                continue;
            }
            if (c >= 0x80) {
                size_t j = i;
                while (j < n && p[j] >= 0x80) j++;
                out->len = (size_t)(o - out->data);
                MH_TRY(mh_json_escape(out, s + i, j - i));
                i = j;
                o = NULL; /* out->len is current; re-reserve from here */
                break;
            }
            *o++ = '\\';
            switch (c) {
            case '\\':
                *o++ = '\\';
                break;
            case '\n':
                *o++ = 'n';
                break;
            case '\r':
                *o++ = 'r';
                break;
            case '\t':
                *o++ = 't';
                break;
            case '\b':
                *o++ = 'b';
                break;
            case '\f':
                *o++ = 'f';
                break;
            default:
                *o++ = 'u';
                *o++ = '0';
                *o++ = '0';
                *o++ = hex[c >> 4];
                *o++ = hex[c & 15];
            }
            i++;
        }
        if (o) out->len = (size_t)(o - out->data);
        out->data[out->len] = '\0';
    }
    return MH_OK;
}

static bool field_empty(const char *p, size_t n)
{
    return n == 0 || (n == 2 && p[0] == '"' && p[1] == '"');
}

/* ------------------------------------------------------------ mapping */

void mh_csv_map_fini(struct mh_csv_map *m)
{
    if (!m) return;
    if (m->slots)
        for (size_t i = 0; i < m->nslots; i++) mh_free(m->slots[i].key);
    mh_free(m->slots);
    mh_free(m->cols);
    mh_free(m->order);
    memset(m, 0, sizeof *m);
}

static bool ends_with(struct mh_slice s, const char *suf, size_t k)
{
    return s.len > k && memcmp(s.ptr + s.len - k, suf, k) == 0;
}

/* Header name: decoded, trimmed, unit suffix (" [UTC]") removed. */
static struct mh_slice clean_name(struct mh_slice s, bool *had_suffix)
{
    s = mh_slice_trim(s);
    if (s.len >= 3 && s.ptr[s.len - 1] == ']') {
        size_t k = s.len - 1;
        while (k > 0 && s.ptr[k - 1] != '[') k--;
        if (k > 1) { /* '[' at k-1 and something before it */
            struct mh_slice base = mh_slice_trim(mh_slice_make(s.ptr, k - 1));
            if (base.len) {
                *had_suffix = true;
                return base;
            }
        }
    }
    return s;
}

mh_status mh_csv_map_init(struct mh_csv_map *m, const char *data, uint64_t base,
                          const struct mh_csv_field *f, size_t n)
{
    mh_status st = MH_OK;
    struct mh_buf text;
    size_t *name_off = NULL;
    struct mh_slice *names = NULL;
    uint32_t *alias_len = NULL;
    mh_buf_init(&text, MH_MAX_CSV_HEADER_BYTES + 16);
    memset(m, 0, sizeof *m);

    name_off = mh_calloc(n + 1, sizeof *name_off);
    names = mh_calloc(n + 1, sizeof *names);
    alias_len = mh_calloc(n + 1, sizeof *alias_len);
    m->cols = mh_calloc(n + 1, sizeof *m->cols);
    m->slots = mh_calloc(n + 1, sizeof *m->slots);
    m->order = mh_calloc(n + 1, sizeof *m->order);
    if (!name_off || !names || !alias_len || !m->cols || !m->slots || !m->order) {
        st = MH_ENOMEM;
        goto out;
    }
    m->ncols = n;
    /* Decode every name into one buffer (offsets first: the buffer may move). */
    for (size_t j = 0; j < n; j++) {
        name_off[j] = text.len;
        st = mh_csv_field_text(data + (f[j].start - base), (size_t)(f[j].end - f[j].start), &text);
        if (st == MH_ELIMIT) {
            st = MH_OK;
            m->format = MH_FMT_UNKNOWN;
            goto out;
        }
        MH_CHECK(st);
    }
    name_off[n] = text.len;
    bool suffix = false;
    for (size_t j = 0; j < n; j++)
        names[j] = clean_name(
            mh_slice_make(text.data ? text.data + name_off[j] : "", name_off[j + 1] - name_off[j]),
            &suffix);
    /* The UTF-8 BOM is gone already; a header starting with a stray one is not ours. */
    m->format = mh_detect_csv_layout(names, n, suffix);
    if (m->format == MH_FMT_UNKNOWN) goto out;

    /* Log Analytics X_dynamic / X_string -> X when no plain X exists. */
    if (m->format == MH_FMT_CSV_LOGANALYTICS) {
        for (size_t j = 0; j < n; j++) {
            size_t k = ends_with(names[j], "_dynamic", 8)  ? 8
                       : ends_with(names[j], "_string", 7) ? 7
                                                           : 0;
            if (!k) continue;
            struct mh_slice b = mh_slice_make(names[j].ptr, names[j].len - k);
            bool plain = false;
            for (size_t q = 0; q < n && !plain; q++) plain = mh_slice_eq(names[q], b);
            if (!plain) alias_len[j] = (uint32_t)b.len;
        }
    }
    /* Slots in order of first appearance, compared by their escaped key:
     * two raw names that escape alike (invalid UTF-8 -> U+FFFD) are one key. */
    for (size_t j = 0; j < n; j++) {
        struct mh_slice key = names[j];
        if (alias_len[j]) key.len = alias_len[j];
        struct mh_buf kb;
        mh_buf_init(&kb, 0);
        st = mh_buf_putc(&kb, '"');
        if (!st) st = mh_json_escape(&kb, key.ptr, key.len);
        if (!st) st = mh_buf_append(&kb, "\":", 2);
        if (st) {
            mh_buf_fini(&kb);
            goto out;
        }
        size_t s;
        for (s = 0; s < m->nslots; s++)
            if (m->slots[s].key_len == kb.len && memcmp(m->slots[s].key, kb.data, kb.len) == 0)
                break;
        if (s < m->nslots) {
            /* Same key again: an alias family shares it, a plain duplicate is dropped. */
            mh_buf_fini(&kb);
            m->cols[j].slot = alias_len[j] ? (uint32_t)s : UINT32_MAX;
            if (alias_len[j]) m->slots[s].count++;
            continue;
        }
        m->cols[j].slot = (uint32_t)s;
        m->slots[s].count = 1;
        m->slots[s].key = kb.data;
        m->slots[s].key_len = kb.len;
        m->nslots++;
    }
    /* Group columns by slot (counting sort, header order inside a slot). */
    {
        uint32_t pos = 0;
        for (size_t s = 0; s < m->nslots; s++) {
            m->slots[s].first = pos;
            pos += m->slots[s].count;
        }
        uint32_t *fill = alias_len; /* reuse as per-slot fill counters */
        memset(fill, 0, (n + 1) * sizeof *fill);
        for (size_t j = 0; j < n; j++) {
            uint32_t s = m->cols[j].slot;
            if (s == UINT32_MAX) continue;
            m->order[m->slots[s].first + fill[s]++] = (uint32_t)j;
        }
    }
out:
    mh_buf_fini(&text);
    mh_free(name_off);
    mh_free(names);
    mh_free(alias_len);
    if (st != MH_OK) mh_csv_map_fini(m);
    return st;
}

mh_status mh_csv_map_row(const struct mh_csv_map *m, const char *data, uint64_t base,
                         const struct mh_csv_field *f, size_t n, struct mh_buf *out)
{
    if (n != m->ncols) return MH_EPARSE;
    MH_TRY(mh_buf_putc(out, '{'));
    bool first = true;
    for (size_t s = 0; s < m->nslots; s++) {
        const struct mh_csv_slot *sl = &m->slots[s];
        for (uint32_t k = 0; k < sl->count; k++) {
            const struct mh_csv_field *fl = &f[m->order[sl->first + k]];
            const char *p = data + (fl->start - base);
            size_t len = (size_t)(fl->end - fl->start);
            if (field_empty(p, len)) continue;
            if (!first) MH_TRY(mh_buf_putc(out, ','));
            first = false;
            MH_TRY(mh_buf_append(out, sl->key, sl->key_len));
            MH_TRY(mh_buf_putc(out, '"'));
            MH_TRY(mh_csv_field_json(p, len, out));
            MH_TRY(mh_buf_putc(out, '"'));
            break;
        }
    }
    return mh_buf_putc(out, '}');
}
