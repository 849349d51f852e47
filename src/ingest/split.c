/*
 * ingest/split.c -- the structural JSON record splitter (see split.h)
 *
 * Pipeline: text -> [split] -> reader.c batches -> normalize.
 *
 * Data model: one cursor (pos, line) over the decoded stream plus a bit stack
 * of open brackets. `cdepth` is the nesting level at which records start:
 * 0 for top-level objects (JSON Lines), 1 inside a top-level array, 2 inside
 * a wrapper's "records"/"value" array. A record is an object opened at depth
 * cdepth and ends when depth returns to cdepth. Everything at depth > cdepth
 * outside a record (the tail of a wrapper after its array) is skipped.
 *
 * Inside strings only '"', '\\' and '\n' matter; they are found 16 bytes at a
 * time (scan.h). Outside strings a byte-class table drives a small switch.
 * The loop returns as soon as it has an item, with all state stored, so the
 * next call resumes at the same byte; positions are absolute so the caller
 * may slide its window freely between calls.
 *
 * Invariants: depth <= MH_SPLIT_MAX_DEPTH; in_rec implies depth > cdepth;
 * while in_rec && !discard, every byte from rec_start to pos is still in the
 * caller's window (mh_split_keep); a record is never emitted larger than
 * max_record.
 */
#include "ingest/split.h"

#include <stdio.h>
#include <string.h>

#include "ingest/scan.h"

enum { C_OTHER = 0, C_WS, C_NL, C_QUOTE, C_LBRACE, C_RBRACE, C_LBRACK, C_RBRACK, C_COMMA, C_COLON };

/* last_sig values */
enum { SIG_NONE = 0, SIG_OPEN, SIG_COMMA, SIG_COLON, SIG_VALUE };

/* wrapper detection: key "records"/"value" seen -> ':' -> '[' -> '{' or ']' */
enum { W_NONE = 0, W_KEY, W_COLON, W_BRACKET };

/* line_mode */
enum { LM_UNKNOWN = 0, LM_LINES, LM_MULTI };

static const unsigned char cls_tab[256] = {
    [' '] = C_WS,     ['\t'] = C_WS,    ['\r'] = C_WS,    ['\n'] = C_NL,
    ['"'] = C_QUOTE,  ['{'] = C_LBRACE, ['}'] = C_RBRACE, ['['] = C_LBRACK,
    [']'] = C_RBRACK, [','] = C_COMMA,  [':'] = C_COLON,
};

void mh_split_init(struct mh_split *s, uint64_t start, uint64_t max_record)
{
    memset(s, 0, sizeof *s);
    s->pos = start;
    s->line = 1;
    s->max_record = max_record ? max_record : MH_MAX_RECORD_BYTES;
    s->at_bol = true;
    s->cont_fmt = MH_FMT_JSONL;
}

uint64_t mh_split_keep(const struct mh_split *s)
{
    return (s->in_rec && !s->discard) ? s->rec_start : s->pos;
}

static inline bool top_is_array(const struct mh_split *s)
{
    uint32_t d = s->depth - 1;
    return (s->stack[d >> 6] >> (d & 63)) & 1u;
}

static inline void push(struct mh_split *s, bool array)
{
    uint32_t d = s->depth;
    uint64_t bit = (uint64_t)1 << (d & 63);
    if (array)
        s->stack[d >> 6] |= bit;
    else
        s->stack[d >> 6] &= ~bit;
    s->depth++;
}

/* Describe the open record (or the current position) as a BAD item. */
static void fill_bad(const struct mh_split *s, struct mh_split_item *it, uint64_t at,
                     mh_status code, const char *reason)
{
    memset(it, 0, sizeof *it);
    if (s->in_rec) {
        it->start = s->rec_start;
        it->line = s->rec_line;
        it->number = s->rec_no;
    } else {
        it->start = at;
        it->line = s->line;
        it->number = 0;
    }
    it->format = s->cont_fmt;
    it->code = code;
    it->reason = reason;
    if (s->in_rec && at > s->rec_start)
        snprintf(it->detail, sizeof it->detail, "at byte %llu", (unsigned long long)at);
}

/* Report the open record (or the current position) and reset to the record
 * level; resync skips to the next line that can start a record. */
static enum mh_split_ev fail(struct mh_split *s, struct mh_split_item *it, uint64_t at,
                             mh_status code, const char *reason, bool resync)
{
    fill_bad(s, it, at, code, reason);
    s->in_rec = s->discard = s->in_bad_elem = s->cand = s->key_str = false;
    s->in_str = s->esc = false;
    s->wstate = W_NONE;
    s->depth = s->cdepth;
    if (s->cdepth == 0) s->cont_fmt = MH_FMT_JSONL;
    s->resync = resync;
    s->last_sig = SIG_NONE;
    return MH_SPLIT_BAD;
}

/* A new element at the record level that is not an object. */
static enum mh_split_ev bad_element(struct mh_split *s, struct mh_split_item *it, uint64_t at,
                                    const char *reason, unsigned char c)
{
    memset(it, 0, sizeof *it);
    it->start = at;
    it->line = s->line;
    it->number = ++s->rec_no;
    it->format = s->cont_fmt;
    it->code = MH_EPARSE;
    it->reason = reason;
    if (c >= 0x20 && c < 0x7F)
        snprintf(it->detail, sizeof it->detail, "starts with '%c'", c);
    else
        snprintf(it->detail, sizeof it->detail, "starts with byte 0x%02X", c);
    return MH_SPLIT_BAD;
}

static void start_record(struct mh_split *s, uint64_t at)
{
    s->rec_no++;
    s->in_rec = true;
    s->discard = false;
    s->rec_start = at;
    s->rec_line = s->line;
    s->cand =
        s->cdepth == 0 && (s->file_fmt == MH_FMT_UNKNOWN || s->file_fmt == MH_FMT_GRAPH_PAGE ||
                           s->file_fmt == MH_FMT_AZURE_RECORDS);
    s->wstate = W_NONE;
    s->key_str = false;
    push(s, false);
    s->last_sig = SIG_OPEN;
}

/* The open candidate turned out to be a wrapper: its array elements are records. */
static void confirm_wrapper(struct mh_split *s)
{
    s->in_rec = false;
    s->cand = false;
    s->rec_no--;
    s->cdepth = 2;
    s->cont_fmt = s->wkind;
    if (s->file_fmt == MH_FMT_UNKNOWN) s->file_fmt = s->wkind;
    s->last_sig = SIG_OPEN;
}

static void key_done(struct mh_split *s, const unsigned char *data, uint64_t base, uint64_t end)
{
    s->key_str = false;
    if (s->discard || s->key_start < base) return;
    const unsigned char *k = data + (s->key_start - base);
    size_t n = (size_t)(end - s->key_start);
    if (n == 7 && memcmp(k, "records", 7) == 0) {
        s->wstate = W_KEY;
        s->wkind = MH_FMT_AZURE_RECORDS;
    } else if (n == 5 && memcmp(k, "value", 5) == 0) {
        s->wstate = W_KEY;
        s->wkind = MH_FMT_GRAPH_PAGE;
    }
}

/* The open record closed at absolute offset end (exclusive): emit it, or
 * report it when it is over the limit. */
static enum mh_split_ev end_record(struct mh_split *s, struct mh_split_item *it, uint64_t end)
{
    s->cand = false;
    s->last_sig = SIG_VALUE;
    if (end - s->rec_start > s->max_record) {
        enum mh_split_ev ev = fail(s, it, end, MH_ELIMIT, "record too large", false);
        snprintf(it->detail, sizeof it->detail, "%llu bytes, limit %llu",
                 (unsigned long long)(end - it->start), (unsigned long long)s->max_record);
        return ev;
    }
    s->in_rec = false;
    memset(it, 0, sizeof *it);
    it->start = s->rec_start;
    it->len = end - s->rec_start;
    it->line = s->rec_line;
    it->number = s->rec_no;
    it->format = s->cont_fmt;
    if (s->file_fmt == MH_FMT_UNKNOWN) s->file_fmt = s->cont_fmt;
    if (s->cdepth == 0 && s->line_mode == LM_UNKNOWN)
        s->line_mode = s->rec_line == s->line ? LM_LINES : LM_MULTI;
    return MH_SPLIT_RECORD;
}

/* Class of the last significant byte before p[i] (not before p[lo]). */
static uint8_t sig_before(const unsigned char *p, size_t lo, size_t i)
{
    while (i > lo) {
        unsigned char c = p[--i];
        switch (cls_tab[c]) {
        case C_WS:
        case C_NL:
            continue;
        case C_LBRACE:
        case C_LBRACK:
            return SIG_OPEN;
        case C_COMMA:
            return SIG_COMMA;
        case C_COLON:
            return SIG_COLON;
        default:
            return SIG_VALUE;
        }
    }
    return SIG_NONE;
}

#if defined(__SSE2__)
/*
 * Fast path inside a record (not a wrapper candidate, not at a line start,
 * no pending escape): 64 bytes at a time, bit masks of quotes and brackets;
 * the in-string mask is the prefix XOR of the quote mask, so brackets inside
 * strings drop out and only real brackets are walked one by one.
 * Anything unusual -- a backslash or a newline -- stops it just before that
 * byte, and the byte loop takes over there (it knows escapes and lines).
 * Returns 1 when the record closed (*pi = just after it), 2 when it stopped
 * at an unusual byte or a bracket the byte loop must judge, 0 when fewer
 * than 64 bytes are left.
 */
static inline uint64_t eq_mask(const __m128i v[4], char c)
{
    __m128i k = _mm_set1_epi8(c);
    uint64_t m0 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[0], k));
    uint64_t m1 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[1], k));
    uint64_t m2 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[2], k));
    uint64_t m3 = (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(v[3], k));
    return m0 | (m1 << 16) | (m2 << 32) | (m3 << 48);
}

static inline uint64_t prefix_xor(uint64_t x)
{
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    return x;
}

static int fast_scan(struct mh_split *s, const unsigned char *p, size_t *pi, size_t n)
{
    size_t i = *pi;
    while (i + 64 <= n) {
        __m128i v[4];
        for (int k = 0; k < 4; k++)
            v[k] = _mm_loadu_si128((const __m128i *)(const void *)(p + i + 16 * k));
        uint64_t unusual = eq_mask(v, '\\') | eq_mask(v, '\n');
        uint64_t instr = prefix_xor(eq_mask(v, '"')) ^ (s->in_str ? ~(uint64_t)0 : 0);
        uint64_t valid = unusual ? (unusual & (0 - unusual)) - 1 : ~(uint64_t)0;
        uint64_t br = (eq_mask(v, '{') | eq_mask(v, '}') | eq_mask(v, '[') | eq_mask(v, ']')) &
                      ~instr & valid;
        while (br) {
            unsigned k = (unsigned)__builtin_ctzll(br);
            br &= br - 1;
            unsigned char c = p[i + k];
            if (c == '{' || c == '[') {
                if (s->depth >= MH_SPLIT_MAX_DEPTH) goto stop;
                push(s, c == '[');
                continue;
            }
            if (s->depth == 0 || top_is_array(s) != (c == ']')) goto stop;
            s->depth--;
            if (s->depth == s->cdepth) {
                s->in_str = false;
                *pi = i + k + 1;
                return 1;
            }
            continue;
        stop:
            s->in_str = false; /* a bracket outside strings */
            *pi = i + k;
            return 2;
        }
        if (unusual) {
            unsigned k = (unsigned)__builtin_ctzll(unusual);
            s->in_str = (instr >> k) & 1;
            *pi = i + k;
            return 2;
        }
        s->in_str = instr >> 63;
        i += 64;
    }
    *pi = i;
    return 0;
}
#endif

/* Where this call may scan to (scan.h). */
static size_t scan_end(const struct mh_split *s, uint64_t base, size_t len, size_t i)
{
    return mh_scan_end(s->in_rec && !s->discard, s->rec_start, s->max_record, base, len, i);
}

enum mh_split_ev mh_split_next(struct mh_split *s, const char *data, uint64_t base, size_t len,
                               bool eof, struct mh_split_item *it)
{
    const unsigned char *p = (const unsigned char *)data;
    size_t i = (size_t)(s->pos - base);
    size_t n = scan_end(s, base, len, i);
    enum mh_split_ev ev = MH_SPLIT_NEED;

    if (s->finished) return MH_SPLIT_END;
again:
    while (i < n) {
#if defined(__SSE2__)
        if (s->in_rec && !s->cand && !s->discard && !s->esc && !s->resync && !s->at_bol &&
            i + 64 <= n) {
            size_t from = i;
            int fr = fast_scan(s, p, &i, n);
            if (fr == 1) {
                ev = end_record(s, it, base + i);
                goto out;
            }
            if (i != from && !s->in_str)
                s->last_sig = sig_before(p, (size_t)(s->rec_start - base), i);
            if (i >= n) break;
            /* the byte loop handles p[i] */
        }
#endif
        if (s->in_str) {
            if (s->esc) {
                if (p[i] == '\n') goto newline_in_string;
                s->esc = false;
                i++;
                continue;
            }
            size_t j = i + mh_scan_find3(p + i, n - i, '"', '\\', '\n');
            if (j == n) {
                i = n;
                break;
            }
            if (p[j] == '"') {
                s->in_str = false;
                s->last_sig = SIG_VALUE;
                if (s->key_str) key_done(s, p, base, base + j);
                i = j + 1;
                continue;
            }
            if (p[j] == '\\') {
                s->esc = true;
                i = j + 1;
                continue;
            }
            i = j;
        newline_in_string:
            i++;
            s->line++;
            s->at_bol = true;
            ev = fail(s, it, base + i - 1, MH_EPARSE,
                      "newline inside a string (unterminated string)", true);
            s->at_bol = true;
            goto out;
        }

        unsigned char c = p[i];
        unsigned cls = cls_tab[c];
        if (cls == C_NL) {
            s->line++;
            s->at_bol = true;
            i++;
            continue;
        }
        if (cls == C_WS) {
            i++;
            continue;
        }
        bool bol = s->at_bol;
        s->at_bol = false;
        if (s->resync) {
            bool ok = bol && (s->cdepth == 0 ? (cls == C_LBRACE || cls == C_LBRACK)
                                             : (cls == C_LBRACE || cls == C_RBRACK));
            if (!ok) {
                i++;
                continue;
            }
            s->resync = false;
        }

        if (s->in_rec || s->depth > s->cdepth) {
            /* Inside a value. First, wrapper detection on the candidate's top level. */
            bool open_wrapper_array = false;
            if (s->wstate != W_NONE) {
                uint8_t w = s->wstate;
                s->wstate = W_NONE;
                if (w == W_KEY && cls == C_COLON)
                    s->wstate = W_COLON;
                else if (w == W_COLON && cls == C_LBRACK)
                    open_wrapper_array = true;
                else if (w == W_BRACKET && (cls == C_LBRACE || cls == C_RBRACK)) {
                    confirm_wrapper(s);
                    n = scan_end(s, base, len, i);
                    continue; /* reprocess c at the record level */
                }
            }
            switch (cls) {
            case C_QUOTE:
                s->in_str = true;
                if (s->cand && s->in_rec && s->depth == 1 &&
                    (s->last_sig == SIG_OPEN || s->last_sig == SIG_COMMA)) {
                    s->key_str = true;
                    s->key_start = base + i + 1;
                }
                i++;
                break;
            case C_LBRACE:
                if (s->in_rec && s->cdepth == 0 && bol &&
                    (s->line_mode == LM_LINES || s->last_sig == SIG_VALUE)) {
                    /* A new JSON Lines record starts while this one is open. */
                    s->pos = base + i;
                    return fail(s, it, base + i, MH_EPARSE,
                                "record not closed before the next line's object", false);
                }
                /* fallthrough */
            case C_LBRACK:
                if (s->depth >= MH_SPLIT_MAX_DEPTH) {
                    i++;
                    ev = fail(s, it, base + i - 1, MH_ELIMIT, "nesting too deep", true);
                    snprintf(it->detail, sizeof it->detail, "more than %u levels",
                             (unsigned)MH_SPLIT_MAX_DEPTH);
                    goto out;
                }
                push(s, cls == C_LBRACK);
                if (open_wrapper_array) s->wstate = W_BRACKET;
                s->last_sig = SIG_OPEN;
                i++;
                break;
            case C_RBRACE:
            case C_RBRACK:
                if (s->depth == 0 || top_is_array(s) != (cls == C_RBRACK)) {
                    i++;
                    ev = fail(s, it, base + i - 1, MH_EPARSE, "mismatched closing bracket", true);
                    goto out;
                }
                s->depth--;
                i++;
                s->last_sig = SIG_VALUE;
                if (s->in_rec && s->depth == s->cdepth) {
                    if (s->discard) {
                        s->in_rec = s->cand = s->discard = false;
                        break;
                    }
                    ev = end_record(s, it, base + i);
                    goto out;
                }
                if (s->depth < s->cdepth) {
                    /* The records array closed; a wrapper's tail is skipped. */
                    s->cdepth = 0;
                    s->cont_fmt = MH_FMT_JSONL;
                }
                break;
            case C_COMMA:
                s->last_sig = SIG_COMMA;
                i++;
                break;
            case C_COLON:
                s->last_sig = SIG_COLON;
                i++;
                break;
            default:
                s->last_sig = SIG_VALUE;
                i++;
                break;
            }
            continue;
        }

        /* At the record level (depth == cdepth). */
        if (s->in_bad_elem) {
            if (cls == C_COMMA || cls == C_LBRACE || cls == C_RBRACK) {
                s->in_bad_elem = false;
            } else {
                if (cls == C_QUOTE)
                    s->in_str = true;
                else if (cls == C_LBRACK)
                    push(s, true);
                else if (cls == C_RBRACE) {
                    i++;
                    ev = fail(s, it, base + i - 1, MH_EPARSE, "mismatched closing bracket", true);
                    goto out;
                }
                i++;
                continue;
            }
        }
        if (s->cdepth == 0) {
            if (cls == C_LBRACE) {
                s->cont_fmt = MH_FMT_JSONL;
                start_record(s, base + i);
                i++;
                n = scan_end(s, base, len, i);
                continue;
            }
            if (cls == C_LBRACK) {
                push(s, true);
                s->cdepth = 1;
                s->cont_fmt = MH_FMT_JSON_ARRAY;
                if (s->file_fmt == MH_FMT_UNKNOWN) s->file_fmt = MH_FMT_JSON_ARRAY;
                s->last_sig = SIG_OPEN;
                i++;
                continue;
            }
            ev = bad_element(s, it, base + i, "unexpected bytes between records", c);
            s->resync = true;
            i++;
            goto out;
        }
        switch (cls) {
        case C_COMMA:
            s->last_sig = SIG_COMMA;
            i++;
            continue;
        case C_LBRACE:
            start_record(s, base + i);
            i++;
            n = scan_end(s, base, len, i);
            continue;
        case C_RBRACK:
            s->depth--;
            s->cdepth = 0;
            s->cont_fmt = MH_FMT_JSONL;
            s->last_sig = SIG_VALUE;
            i++;
            continue;
        case C_RBRACE:
            i++;
            ev = fail(s, it, base + i - 1, MH_EPARSE, "mismatched closing bracket", true);
            goto out;
        default:
            ev = bad_element(s, it, base + i, "array element is not an object", c);
            s->in_bad_elem = true;
            if (cls == C_QUOTE)
                s->in_str = true;
            else if (cls == C_LBRACK)
                push(s, true);
            i++;
            goto out;
        }
    }

    s->pos = base + i;
    if (i < len && !(s->in_rec && !s->discard && s->pos - s->rec_start > s->max_record)) {
        n = scan_end(s, base, len, i); /* the record that capped the scan is gone */
        goto again;
    }
    /* Everything given is scanned (or the open record just went over the limit). */
    if (s->in_rec && !s->discard && s->pos - s->rec_start > s->max_record) {
        /* Keep scanning it to find its end, without keeping its bytes. */
        fill_bad(s, it, s->pos, MH_ELIMIT, "record too large");
        snprintf(it->detail, sizeof it->detail, "more than %llu bytes",
                 (unsigned long long)s->max_record);
        s->discard = true;
        s->cand = s->key_str = false;
        s->wstate = W_NONE;
        return MH_SPLIT_BAD;
    }
    if (!eof) return MH_SPLIT_NEED;
    s->finished = true;
    if (s->in_rec && !s->discard) {
        s->in_str = false;
        return fail(s, it, s->pos, MH_EPARSE, "unterminated record at end of input", false);
    }
    if (!s->in_rec && s->depth > 0 && !s->resync) {
        s->in_rec = false;
        return fail(s, it, s->pos, MH_EPARSE, "unterminated JSON container at end of input", false);
    }
    return MH_SPLIT_END;
out:
    s->pos = base + i;
    return ev;
}
