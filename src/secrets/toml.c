/*
 * secrets/toml.c -- a small TOML 1.0 reader (see toml.h)
 *
 * One pass, recursive descent over the UTF-8 text (validated up front so
 * every later step can trust it). Values live in the document's arena. Each
 * (table, key) pair is indexed in one document-wide mh_map whose key is the
 * table's address (8 bytes) followed by the key bytes, so lookups stay O(1)
 * whatever the input (a fuzzer's 100k keys in one table included).
 *
 * Table definition state (table.flags), which enforces TOML's "define once":
 *   T_EXPLICIT  defined by a [header] or as an [[array]] element
 *   T_IMPLICIT  created as an intermediate of a header ([a.b] creates a)
 *   T_DOTTED    created by a dotted key (a.b = 1 creates a)
 *   T_INLINE    an inline table { ... }: sealed, never extended
 * Rules: [x] may define an implicit table once; dotted keys only traverse
 * tables created by dotted keys; a header never reopens a dotted or inline
 * table; [[x]] only appends to an array created by [[x]].
 */
#include "secrets/toml.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/utf8.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "mailhound/limits.h"

#define T_EXPLICIT 1u
#define T_IMPLICIT 2u
#define T_DOTTED 4u
#define T_INLINE 8u

struct mh_toml_doc {
    struct mh_arena arena;
    struct mh_map index; /* table address + key -> kv address */
    struct mh_toml_value *root;
};

struct parser {
    const char *start, *p, *end;
    const char *line_start;
    uint32_t line;
    const char *origin;
    struct mh_toml_doc *doc;
    struct mh_toml_value *cur; /* table that key/values go to */
    size_t nvalues;
    unsigned depth;
    struct mh_buf scratch; /* composite index keys, string decoding */
    mh_error *err;
};

struct key_part {
    struct mh_slice s;
    uint32_t line, col;
};

struct key {
    struct key_part part[MH_TOML_MAX_DEPTH];
    size_t n;
};

/* ---- errors and positions ---- */

static uint32_t col_of(const struct parser *ps, const char *at)
{
    return (uint32_t)(at - ps->line_start) + 1;
}

static mh_status fail_at(struct parser *ps, const char *at, mh_status st, const char *msg,
                         const char *detail)
{
    /* recompute the line of `at` (it may precede the current line) */
    uint32_t line = 1;
    const char *ls = ps->start;
    for (const char *q = ps->start; q < at && q < ps->end; q++)
        if (*q == '\n') {
            line++;
            ls = q + 1;
        }
    mh_error_set(ps->err, st, msg, "%s", detail ? detail : "");
    mh_error_at(ps->err, ps->origin, line, (uint64_t)(at - ls) + 1, (uint64_t)(at - ps->start), 0);
    return st;
}

static mh_status fail(struct parser *ps, const char *msg)
{
    char tok[48];
    size_t k = 0;
    for (const char *q = ps->p; q < ps->end && k < 20 && *q != '\n' && *q != '\r'; q++)
        tok[k++] = *q;
    tok[k] = '\0';
    return fail_at(ps, ps->p, MH_EPARSE, msg, k ? tok : (ps->p >= ps->end ? "end of file" : ""));
}

/* ---- UTF-8 ---- */

static mh_status check_utf8(struct parser *ps)
{
    const unsigned char *p = (const unsigned char *)ps->start,
                        *end = (const unsigned char *)ps->end;
    while (p < end) {
        if (*p < 0x80) {
            p++;
            continue;
        }
        size_t k = mh_utf8_decode(p, (size_t)(end - p), NULL);
        if (!k) return fail_at(ps, (const char *)p, MH_EPARSE, "invalid UTF-8", NULL);
        p += k;
    }
    return MH_OK;
}

static size_t put_utf8(char *out, uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- nodes ---- */

static mh_status new_value(struct parser *ps, enum mh_toml_type t, const char *at,
                           struct mh_toml_value **out)
{
    if (++ps->nvalues > MH_TOML_MAX_VALUES)
        return fail_at(ps, at, MH_ELIMIT, "too many values", NULL);
    struct mh_toml_value *v = mh_arena_alloc(&ps->doc->arena, sizeof *v);
    if (!v) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    memset(v, 0, sizeof *v);
    v->type = t;
    v->line = ps->line;
    v->col = col_of(ps, at);
    *out = v;
    return MH_OK;
}

static mh_status index_key(struct parser *ps, const struct mh_toml_value *t, struct mh_slice k)
{
    mh_buf_clear(&ps->scratch);
    uintptr_t addr = (uintptr_t)t;
    mh_status st = mh_buf_append(&ps->scratch, &addr, sizeof addr);
    if (!st) st = mh_buf_append(&ps->scratch, k.ptr, k.len);
    if (st == MH_ENOMEM) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    if (st) return fail_at(ps, ps->p, MH_ELIMIT, "key too long", NULL);
    return MH_OK;
}

static mh_status lookup(struct parser *ps, const struct mh_toml_value *t, struct mh_slice k,
                        struct mh_toml_kv **out)
{
    MH_TRY(index_key(ps, t, k));
    struct mh_map_entry *e = mh_map_get(&ps->doc->index, ps->scratch.data, ps->scratch.len);
    *out = e ? (struct mh_toml_kv *)(uintptr_t)e->value : NULL;
    return MH_OK;
}

static mh_status insert(struct parser *ps, struct mh_toml_value *t, struct mh_slice k,
                        struct mh_toml_value *v)
{
    MH_TRY(index_key(ps, t, k));
    struct mh_map_entry *e;
    mh_status st = mh_map_put(&ps->doc->index, ps->scratch.data, ps->scratch.len, &e, NULL);
    if (st == MH_ENOMEM) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    if (st) return fail_at(ps, ps->p, MH_ELIMIT, "too many keys", NULL);
    struct mh_toml_kv *kv = mh_arena_alloc(&ps->doc->arena, sizeof *kv);
    if (!kv) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    kv->key = k;
    kv->val = v;
    kv->next = NULL;
    if (t->u.table.last)
        t->u.table.last->next = kv;
    else
        t->u.table.first = kv;
    t->u.table.last = kv;
    t->u.table.n++;
    e->value = (uint64_t)(uintptr_t)kv;
    return MH_OK;
}

static void array_push(struct mh_toml_value *a, struct mh_toml_value *v)
{
    if (a->u.array.last)
        a->u.array.last->next = v;
    else
        a->u.array.first = v;
    a->u.array.last = v;
    a->u.array.n++;
}

/* ---- lexical helpers ---- */

static bool at_end(const struct parser *ps)
{
    return ps->p >= ps->end;
}

static void skip_ws(struct parser *ps)
{
    while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t')) ps->p++;
}

static void skip_comment(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '#')
        while (ps->p < ps->end && *ps->p != '\n') ps->p++;
}

/* At a newline: consume it (LF or CRLF) and advance the line counter. */
static bool eat_newline(struct parser *ps)
{
    if (ps->p < ps->end && *ps->p == '\n') {
        ps->p++;
    } else if (ps->end - ps->p >= 2 && ps->p[0] == '\r' && ps->p[1] == '\n') {
        ps->p += 2;
    } else {
        return false;
    }
    ps->line++;
    ps->line_start = ps->p;
    return true;
}

/* Whitespace, comments and newlines (inside arrays). */
static void skip_ws_nl(struct parser *ps)
{
    for (;;) {
        skip_ws(ps);
        skip_comment(ps);
        if (!eat_newline(ps)) return;
    }
}

/* After a value or header: optional whitespace and comment, then newline or EOF. */
static mh_status expect_eol(struct parser *ps)
{
    skip_ws(ps);
    skip_comment(ps);
    if (at_end(ps) || eat_newline(ps)) return MH_OK;
    return fail(ps, "expected end of line");
}

static bool is_bare(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '-';
}

/* Copy scratch into the arena as a NUL-terminated slice. */
static mh_status keep_scratch(struct parser *ps, struct mh_slice *out)
{
    char *s = mh_arena_strndup(&ps->doc->arena, ps->scratch.data ? ps->scratch.data : "",
                               ps->scratch.len);
    if (!s) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    *out = mh_slice_make(s, ps->scratch.len);
    return MH_OK;
}

static mh_status scratch_put(struct parser *ps, const void *p, size_t n)
{
    mh_status st = mh_buf_append(&ps->scratch, p, n);
    if (st == MH_ENOMEM) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    if (st) return fail(ps, "string too long");
    return MH_OK;
}

static bool is_ctl(unsigned char c)
{
    return (c < 0x20 && c != '\t') || c == 0x7F;
}

/* ---- strings ---- */

/* A backslash escape inside a basic string; ps->p is at the backslash. */
static mh_status escape(struct parser *ps, bool multiline)
{
    const char *at = ps->p;
    ps->p++;
    if (at_end(ps)) return fail_at(ps, at, MH_EPARSE, "unterminated string", NULL);
    char c = *ps->p++;
    char out[4];
    switch (c) {
    case 'b':
        return scratch_put(ps, "\b", 1);
    case 't':
        return scratch_put(ps, "\t", 1);
    case 'n':
        return scratch_put(ps, "\n", 1);
    case 'f':
        return scratch_put(ps, "\f", 1);
    case 'r':
        return scratch_put(ps, "\r", 1);
    case '"':
        return scratch_put(ps, "\"", 1);
    case '\\':
        return scratch_put(ps, "\\", 1);
    case 'u':
    case 'U': {
        int digits = c == 'u' ? 4 : 8;
        if (ps->end - ps->p < digits) return fail_at(ps, at, MH_EPARSE, "bad unicode escape", NULL);
        uint32_t cp = 0;
        for (int i = 0; i < digits; i++) {
            int h = mh_hex_value((unsigned char)ps->p[i]);
            if (h < 0) return fail_at(ps, at, MH_EPARSE, "bad unicode escape", NULL);
            cp = (cp << 4) | (uint32_t)h;
        }
        ps->p += digits;
        if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return fail_at(ps, at, MH_EPARSE, "escape is not a Unicode scalar value", NULL);
        return scratch_put(ps, out, put_utf8(out, cp));
    }
    default:
        break;
    }
    if (multiline) {
        /* line-ending backslash: trim whitespace and newlines up to the next content */
        ps->p--;
        const char *q = ps->p;
        while (q < ps->end && (*q == ' ' || *q == '\t')) q++;
        if (q < ps->end && (*q == '\n' || *q == '\r')) {
            ps->p = q;
            for (;;) {
                skip_ws(ps);
                if (!eat_newline(ps)) break;
            }
            return MH_OK;
        }
    }
    return fail_at(ps, at, MH_EPARSE, "invalid escape", NULL);
}

/* ps->p at the opening quote(s). Result in scratch. */
static mh_status string_body(struct parser *ps, bool literal, bool multiline)
{
    const char *open = ps->p;
    char q = literal ? '\'' : '"';
    ps->p += multiline ? 3 : 1;
    mh_buf_clear(&ps->scratch);
    if (multiline) eat_newline(ps); /* a newline right after the opener is trimmed */
    for (;;) {
        if (at_end(ps)) return fail_at(ps, open, MH_EPARSE, "unterminated string", NULL);
        char c = *ps->p;
        if (c == q) {
            if (!multiline) {
                ps->p++;
                return MH_OK;
            }
            if (ps->end - ps->p >= 3 && ps->p[1] == q && ps->p[2] == q) {
                /* up to two more quotes right before the closer belong to the content */
                size_t run = 3;
                while (ps->p + run < ps->end && ps->p[run] == q && run < 5) run++;
                MH_TRY(scratch_put(ps, ps->p, run - 3));
                ps->p += run;
                return MH_OK;
            }
            MH_TRY(scratch_put(ps, ps->p, 1));
            ps->p++;
            continue;
        }
        if (c == '\\' && !literal) {
            MH_TRY(escape(ps, multiline));
            continue;
        }
        if (c == '\n' || c == '\r') {
            if (!multiline) return fail(ps, "newline in a single-line string");
            const char *nl = ps->p;
            if (!eat_newline(ps)) return fail(ps, "bare carriage return");
            MH_TRY(scratch_put(ps, nl, (size_t)(ps->p - nl)));
            continue;
        }
        if (is_ctl((unsigned char)c)) return fail(ps, "control character in a string");
        /* copy a run of ordinary bytes */
        const char *s = ps->p;
        while (ps->p < ps->end && *ps->p != q && *ps->p != '\\' && *ps->p != '\n' &&
               *ps->p != '\r' && !is_ctl((unsigned char)*ps->p))
            ps->p++;
        if (literal && ps->p < ps->end && *ps->p == '\\') ps->p++;
        MH_TRY(scratch_put(ps, s, (size_t)(ps->p - s)));
    }
}

static bool starts3(const struct parser *ps, char q)
{
    return ps->end - ps->p >= 3 && ps->p[0] == q && ps->p[1] == q && ps->p[2] == q;
}

/* ---- keys ---- */

static mh_status key_part(struct parser *ps, struct key_part *kp)
{
    kp->line = ps->line;
    kp->col = col_of(ps, ps->p);
    if (at_end(ps)) return fail(ps, "expected a key");
    char c = *ps->p;
    if (c == '"' || c == '\'') {
        if (starts3(ps, c)) return fail(ps, "multi-line strings cannot be keys");
        MH_TRY(string_body(ps, c == '\'', false));
        return keep_scratch(ps, &kp->s);
    }
    const char *s = ps->p;
    while (ps->p < ps->end && is_bare(*ps->p)) ps->p++;
    if (ps->p == s) return fail(ps, "expected a key");
    char *k = mh_arena_strndup(&ps->doc->arena, s, (size_t)(ps->p - s));
    if (!k) return mh_error_set(ps->err, MH_ENOMEM, "out of memory", NULL);
    kp->s = mh_slice_make(k, (size_t)(ps->p - s));
    return MH_OK;
}

static mh_status parse_key(struct parser *ps, struct key *k)
{
    k->n = 0;
    for (;;) {
        if (k->n == MH_TOML_MAX_DEPTH) return fail_at(ps, ps->p, MH_ELIMIT, "key too deep", NULL);
        MH_TRY(key_part(ps, &k->part[k->n]));
        k->n++;
        skip_ws(ps);
        if (at_end(ps) || *ps->p != '.') return MH_OK;
        ps->p++;
        skip_ws(ps);
    }
}

static mh_status key_fail(struct parser *ps, const struct key_part *kp, const char *msg)
{
    char d[128];
    snprintf(d, sizeof d, "%.*s", (int)(kp->s.len > 100 ? 100 : kp->s.len), kp->s.ptr);
    mh_error_set(ps->err, MH_EPARSE, msg, "%s", d);
    mh_error_at(ps->err, ps->origin, kp->line, kp->col, 0, 0);
    return MH_EPARSE;
}

/* ---- values ---- */

static mh_status parse_value(struct parser *ps, struct mh_toml_value **out);

static mh_status new_table(struct parser *ps, const char *at, unsigned flags,
                           struct mh_toml_value **out)
{
    MH_TRY(new_value(ps, MH_TOML_TABLE, at, out));
    (*out)->u.table.flags = flags;
    return MH_OK;
}

/* Put value v at dotted key k inside table t (key/value lines and inline tables). */
static mh_status set_dotted(struct parser *ps, struct mh_toml_value *t, const struct key *k,
                            struct mh_toml_value *v)
{
    for (size_t i = 0; i + 1 < k->n; i++) {
        struct mh_toml_kv *kv;
        MH_TRY(lookup(ps, t, k->part[i].s, &kv));
        if (!kv) {
            struct mh_toml_value *nt;
            MH_TRY(new_table(ps, ps->p, T_DOTTED, &nt));
            nt->line = k->part[i].line;
            nt->col = k->part[i].col;
            MH_TRY(insert(ps, t, k->part[i].s, nt));
            t = nt;
            continue;
        }
        if (kv->val->type != MH_TOML_TABLE) return key_fail(ps, &k->part[i], "key is not a table");
        if (!(kv->val->u.table.flags & T_DOTTED) || (kv->val->u.table.flags & T_INLINE))
            return key_fail(ps, &k->part[i], "table already defined");
        t = kv->val;
    }
    const struct key_part *last = &k->part[k->n - 1];
    struct mh_toml_kv *kv;
    MH_TRY(lookup(ps, t, last->s, &kv));
    if (kv) return key_fail(ps, last, "duplicate key");
    return insert(ps, t, last->s, v);
}

static mh_status parse_array(struct parser *ps, struct mh_toml_value **out)
{
    struct mh_toml_value *a;
    MH_TRY(new_value(ps, MH_TOML_ARRAY, ps->p, &a));
    if (++ps->depth > MH_TOML_MAX_DEPTH)
        return fail_at(ps, ps->p, MH_ELIMIT, "nesting too deep", NULL);
    ps->p++;
    for (;;) {
        skip_ws_nl(ps);
        if (at_end(ps)) return fail(ps, "unterminated array");
        if (*ps->p == ']') break;
        struct mh_toml_value *v;
        MH_TRY(parse_value(ps, &v));
        array_push(a, v);
        skip_ws_nl(ps);
        if (at_end(ps)) return fail(ps, "unterminated array");
        if (*ps->p == ',') {
            ps->p++;
            continue;
        }
        if (*ps->p != ']') return fail(ps, "expected ',' or ']' in array");
        break;
    }
    ps->p++;
    ps->depth--;
    *out = a;
    return MH_OK;
}

/* Seal an inline table and every table its dotted keys created (depth is
 * bounded by MH_TOML_MAX_DEPTH key parts; nested inline tables are sealed). */
static void seal(struct mh_toml_value *t)
{
    t->u.table.flags = (t->u.table.flags & ~T_DOTTED) | T_INLINE | T_EXPLICIT;
    for (struct mh_toml_kv *kv = t->u.table.first; kv; kv = kv->next)
        if (kv->val->type == MH_TOML_TABLE && !(kv->val->u.table.flags & T_INLINE)) seal(kv->val);
}

static mh_status parse_inline_table(struct parser *ps, struct mh_toml_value **out)
{
    struct mh_toml_value *t;
    MH_TRY(new_table(ps, ps->p, T_DOTTED, &t));
    if (++ps->depth > MH_TOML_MAX_DEPTH)
        return fail_at(ps, ps->p, MH_ELIMIT, "nesting too deep", NULL);
    ps->p++;
    skip_ws(ps);
    if (!at_end(ps) && *ps->p == '}') {
        ps->p++;
    } else {
        for (;;) {
            struct key k;
            skip_ws(ps);
            MH_TRY(parse_key(ps, &k));
            if (at_end(ps) || *ps->p != '=') return fail(ps, "expected '=' after a key");
            ps->p++;
            skip_ws(ps);
            struct mh_toml_value *v;
            MH_TRY(parse_value(ps, &v));
            MH_TRY(set_dotted(ps, t, &k, v));
            skip_ws(ps);
            if (at_end(ps)) return fail(ps, "unterminated inline table");
            if (*ps->p == ',') {
                ps->p++;
                continue;
            }
            if (*ps->p != '}') return fail(ps, "expected ',' or '}' in inline table");
            ps->p++;
            break;
        }
    }
    seal(t);
    ps->depth--;
    *out = t;
    return MH_OK;
}

static bool digits_ok(const char *s, size_t n, int base)
{
    /* digits with single '_' between digits */
    if (n == 0) return false;
    bool prev_digit = false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '_') {
            if (!prev_digit || i + 1 == n) return false;
            prev_digit = false;
            continue;
        }
        int v = mh_hex_value((unsigned char)c);
        if (v < 0 || v >= base) return false;
        prev_digit = true;
    }
    return true;
}

static mh_status parse_number(struct parser *ps, struct mh_toml_value **out)
{
    const char *s = ps->p;
    while (ps->p < ps->end && (is_bare(*ps->p) || *ps->p == '+' || *ps->p == '.' || *ps->p == ':'))
        ps->p++;
    size_t n = (size_t)(ps->p - s);
    /* a date-time looks like 1979-05-27 or 07:32:00 */
    bool d4 = n >= 5 && s[4] == '-', d2 = n >= 3 && s[2] == ':';
    for (size_t i = 0; i < (d4 ? 4u : d2 ? 2u : 0u); i++)
        if (s[i] < '0' || s[i] > '9') d4 = d2 = false;
    if (d4 || d2) return fail_at(ps, s, MH_EPARSE, "dates and times are not supported", NULL);
    if (n == 0) return fail(ps, "expected a value");
    char tok[128];
    if (n >= sizeof tok) return fail_at(ps, s, MH_EPARSE, "invalid number", NULL);
    memcpy(tok, s, n);
    tok[n] = '\0';
    const char *b = tok;
    bool neg = false, sign = false;
    if (*b == '+' || *b == '-') {
        neg = *b == '-';
        sign = true;
        b++;
    }
    if (strcmp(b, "inf") == 0 || strcmp(b, "nan") == 0) {
        MH_TRY(new_value(ps, MH_TOML_FLOAT, s, out));
        double v = b[0] == 'i' ? HUGE_VAL : NAN;
        (*out)->u.f = neg ? -v : v;
        return MH_OK;
    }
    if (b[0] == '0' && (b[1] == 'x' || b[1] == 'o' || b[1] == 'b')) {
        int base = b[1] == 'x' ? 16 : b[1] == 'o' ? 8 : 2;
        if (sign || !digits_ok(b + 2, strlen(b + 2), base))
            return fail_at(ps, s, MH_EPARSE, "invalid integer", tok);
        uint64_t v = 0;
        for (const char *q = b + 2; *q; q++) {
            if (*q == '_') continue;
            uint64_t d = (uint64_t)mh_hex_value((unsigned char)*q);
            if (v > (UINT64_MAX - d) / (uint64_t)base || v * (uint64_t)base + d > INT64_MAX)
                return fail_at(ps, s, MH_EPARSE, "integer out of range", tok);
            v = v * (uint64_t)base + d;
        }
        MH_TRY(new_value(ps, MH_TOML_INT, s, out));
        (*out)->u.i = (int64_t)v;
        return MH_OK;
    }
    /* decimal: int part, optional fraction, optional exponent */
    const char *q = b;
    const char *ip = q;
    while (*q && *q != '.' && *q != 'e' && *q != 'E') q++;
    size_t ilen = (size_t)(q - ip);
    if (!digits_ok(ip, ilen, 10)) return fail_at(ps, s, MH_EPARSE, "invalid number", tok);
    if (ilen > 1 && ip[0] == '0') return fail_at(ps, s, MH_EPARSE, "leading zero in a number", tok);
    bool is_float = false;
    if (*q == '.') {
        is_float = true;
        const char *fp = ++q;
        while (*q && *q != 'e' && *q != 'E') q++;
        if (!digits_ok(fp, (size_t)(q - fp), 10))
            return fail_at(ps, s, MH_EPARSE, "invalid float", tok);
    }
    if (*q == 'e' || *q == 'E') {
        is_float = true;
        q++;
        if (*q == '+' || *q == '-') q++;
        if (!digits_ok(q, strlen(q), 10)) return fail_at(ps, s, MH_EPARSE, "invalid float", tok);
    }
    /* strip underscores for the C converters */
    char clean[128];
    size_t k = 0;
    for (const char *r = tok; *r; r++)
        if (*r != '_') clean[k++] = *r;
    clean[k] = '\0';
    errno = 0;
    char *endp;
    if (is_float) {
        double v = strtod(clean, &endp);
        if (*endp) return fail_at(ps, s, MH_EPARSE, "invalid float", tok);
        MH_TRY(new_value(ps, MH_TOML_FLOAT, s, out));
        (*out)->u.f = v;
        return MH_OK;
    }
    long long v = strtoll(clean, &endp, 10);
    if (*endp) return fail_at(ps, s, MH_EPARSE, "invalid integer", tok);
    if (errno == ERANGE) return fail_at(ps, s, MH_EPARSE, "integer out of range", tok);
    MH_TRY(new_value(ps, MH_TOML_INT, s, out));
    (*out)->u.i = v;
    return MH_OK;
}

static bool word_at(const struct parser *ps, const char *w)
{
    size_t n = strlen(w);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, w, n) != 0) return false;
    return ps->p + n == ps->end || !is_bare(ps->p[n]);
}

static mh_status parse_value(struct parser *ps, struct mh_toml_value **out)
{
    if (at_end(ps)) return fail(ps, "expected a value");
    char c = *ps->p;
    const char *at = ps->p;
    if (c == '"' || c == '\'') {
        bool ml = starts3(ps, c);
        uint32_t line = ps->line, col = col_of(ps, at);
        MH_TRY(string_body(ps, c == '\'', ml));
        struct mh_toml_value *v;
        MH_TRY(new_value(ps, MH_TOML_STRING, at, &v));
        v->line = line;
        v->col = col;
        MH_TRY(keep_scratch(ps, &v->u.str));
        *out = v;
        return MH_OK;
    }
    if (c == '[') return parse_array(ps, out);
    if (c == '{') return parse_inline_table(ps, out);
    if (word_at(ps, "true") || word_at(ps, "false")) {
        MH_TRY(new_value(ps, MH_TOML_BOOL, at, out));
        (*out)->u.b = c == 't';
        ps->p += c == 't' ? 4 : 5;
        return MH_OK;
    }
    if ((c >= '0' && c <= '9') || c == '+' || c == '-' || c == 'i' || c == 'n')
        return parse_number(ps, out);
    return fail(ps, "expected a value");
}

/* ---- headers ---- */

/* Walk the intermediate parts of a header key, creating implicit tables. */
static mh_status header_walk(struct parser *ps, const struct key *k, struct mh_toml_value **out)
{
    struct mh_toml_value *t = ps->doc->root;
    for (size_t i = 0; i + 1 < k->n; i++) {
        struct mh_toml_kv *kv;
        MH_TRY(lookup(ps, t, k->part[i].s, &kv));
        if (!kv) {
            struct mh_toml_value *nt;
            MH_TRY(new_table(ps, ps->p, T_IMPLICIT, &nt));
            MH_TRY(insert(ps, t, k->part[i].s, nt));
            t = nt;
        } else if (kv->val->type == MH_TOML_TABLE) {
            if (kv->val->u.table.flags & T_INLINE)
                return key_fail(ps, &k->part[i], "inline table cannot be extended");
            t = kv->val;
        } else if (kv->val->type == MH_TOML_ARRAY && kv->val->u.array.of_tables) {
            t = kv->val->u.array.last;
        } else {
            return key_fail(ps, &k->part[i], "key is not a table");
        }
    }
    *out = t;
    return MH_OK;
}

static mh_status parse_header(struct parser *ps)
{
    const char *at = ps->p;
    uint32_t line = ps->line, col = col_of(ps, at);
    bool aot = ps->end - ps->p >= 2 && ps->p[1] == '[';
    ps->p += aot ? 2 : 1;
    skip_ws(ps);
    struct key k;
    MH_TRY(parse_key(ps, &k));
    if (aot) {
        if (ps->end - ps->p < 2 || ps->p[0] != ']' || ps->p[1] != ']')
            return fail(ps, "expected ']]' after an array of tables name");
        ps->p += 2;
    } else {
        if (at_end(ps) || *ps->p != ']') return fail(ps, "expected ']' after a table name");
        ps->p++;
    }
    struct mh_toml_value *parent = NULL;
    MH_TRY(header_walk(ps, &k, &parent));
    const struct key_part *last = &k.part[k.n - 1];
    struct mh_toml_kv *kv;
    MH_TRY(lookup(ps, parent, last->s, &kv));
    struct mh_toml_value *t;
    if (aot) {
        struct mh_toml_value *arr;
        if (!kv) {
            MH_TRY(new_value(ps, MH_TOML_ARRAY, at, &arr));
            arr->u.array.of_tables = true;
            MH_TRY(insert(ps, parent, last->s, arr));
        } else if (kv->val->type == MH_TOML_ARRAY && kv->val->u.array.of_tables) {
            arr = kv->val;
        } else {
            return key_fail(ps, last, "key is not an array of tables");
        }
        MH_TRY(new_table(ps, at, T_EXPLICIT, &t));
        array_push(arr, t);
    } else if (!kv) {
        MH_TRY(new_table(ps, at, T_EXPLICIT, &t));
        MH_TRY(insert(ps, parent, last->s, t));
    } else {
        t = kv->val;
        if (t->type != MH_TOML_TABLE) return key_fail(ps, last, "key is not a table");
        if (t->u.table.flags & (T_EXPLICIT | T_DOTTED | T_INLINE))
            return key_fail(ps, last, "table already defined");
        t->u.table.flags |= T_EXPLICIT;
    }
    t->line = line;
    t->col = col;
    ps->cur = t;
    return expect_eol(ps);
}

static mh_status parse_document(struct parser *ps)
{
    MH_TRY(check_utf8(ps));
    /* a UTF-8 byte order mark is allowed */
    if (ps->end - ps->p >= 3 && memcmp(ps->p, "\xEF\xBB\xBF", 3) == 0) ps->p += 3;
    while (!at_end(ps)) {
        skip_ws(ps);
        skip_comment(ps);
        if (at_end(ps)) break;
        if (eat_newline(ps)) continue;
        if (*ps->p == '[') {
            MH_TRY(parse_header(ps));
            continue;
        }
        struct key k;
        MH_TRY(parse_key(ps, &k));
        if (at_end(ps) || *ps->p != '=') return fail(ps, "expected '=' after a key");
        ps->p++;
        skip_ws(ps);
        struct mh_toml_value *v;
        MH_TRY(parse_value(ps, &v));
        MH_TRY(set_dotted(ps, ps->cur, &k, v));
        MH_TRY(expect_eol(ps));
    }
    return MH_OK;
}

mh_status mh_toml_parse(const char *text, size_t n, const char *origin, struct mh_toml_doc **out,
                        mh_error *err)
{
    mh_status st = MH_OK;
    struct parser ps;
    memset(&ps, 0, sizeof ps);
    struct mh_toml_doc *d = NULL;
    if (n > MH_MAX_RULE_FILE_BYTES) {
        st = mh_error_set(err, MH_ELIMIT, "rule file too large", "%zu bytes", n);
        mh_error_at(err, origin, 0, 0, 0, 0);
        goto out;
    }
    d = mh_calloc(1, sizeof *d);
    if (!d) {
        st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        goto out;
    }
    mh_arena_init(&d->arena, 1u << 16, 0);
    mh_map_init(&d->index, MH_TOML_MAX_VALUES, false);
    ps.start = ps.p = ps.line_start = text ? text : "";
    ps.end = ps.start + n;
    ps.line = 1;
    ps.origin = origin;
    ps.doc = d;
    ps.err = err;
    mh_buf_init(&ps.scratch, MH_MAX_RULE_FILE_BYTES + 16);
    MH_CHECK(new_table(&ps, ps.p, T_EXPLICIT, &d->root));
    ps.cur = d->root;
    MH_CHECK(parse_document(&ps));
    *out = d;
    d = NULL;
out:
    mh_buf_fini(&ps.scratch);
    mh_toml_free(d);
    return st;
}

void mh_toml_free(struct mh_toml_doc *d)
{
    if (!d) return;
    mh_map_fini(&d->index);
    mh_arena_fini(&d->arena);
    mh_free(d);
}

const struct mh_toml_value *mh_toml_root(const struct mh_toml_doc *d)
{
    return d ? d->root : NULL;
}

const struct mh_toml_value *mh_toml_get(const struct mh_toml_value *t, const char *key)
{
    if (!t || t->type != MH_TOML_TABLE) return NULL;
    size_t n = strlen(key);
    for (const struct mh_toml_kv *kv = t->u.table.first; kv; kv = kv->next)
        if (kv->key.len == n && memcmp(kv->key.ptr, key, n) == 0) return kv->val;
    return NULL;
}

const struct mh_toml_value *mh_toml_array_first(const struct mh_toml_value *a)
{
    return a && a->type == MH_TOML_ARRAY ? a->u.array.first : NULL;
}

const char *mh_toml_type_name(enum mh_toml_type t)
{
    switch (t) {
    case MH_TOML_TABLE:
        return "table";
    case MH_TOML_ARRAY:
        return "array";
    case MH_TOML_STRING:
        return "string";
    case MH_TOML_INT:
        return "integer";
    case MH_TOML_FLOAT:
        return "float";
    case MH_TOML_BOOL:
        return "boolean";
    }
    return "value";
}
