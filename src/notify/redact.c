/*
 * notify/redact.c -- Bcc removal by byte splicing (see redact.h)
 *
 * A small, self-contained MIME structure walker over the raw bytes: header
 * blocks (fields, folded continuations), Content-Type (type/subtype and the
 * boundary parameter, unfolded), Content-Transfer-Encoding, and multipart
 * bodies split at their delimiter lines. It decodes nothing and copies no
 * content; it only records byte ranges. GMime is deliberately not used here:
 * the mail store's parser re-serialises, and redaction must be provably
 * "original bytes minus the removed fields".
 *
 * Walk (depth-first, document order, so fields come out sorted by offset):
 *   entity(start, end, depth, default type)
 *     header block -> Bcc spans, Content-Type, CTE, body offset
 *     multipart/...     -> each part between delimiters: entity(depth+1)
 *                          (default type message/rfc822 in multipart/digest)
 *     message/rfc822|global (identity CTE) -> entity(body, depth+1)
 *     text/rfc822-headers (identity CTE)   -> header block of the body
 *     encoded embedded message or depth > MH_MAX_MIME_DEPTH -> opaque++
 */
#include "notify/redact.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/slice.h"
#include "mailhound/limits.h"

#define VAL_MAX 1024 /* unfolded Content-Type / CTE value kept for parsing */

struct scan {
    struct mh_redact *r;
    const char *m;
    mh_error *err;
};

struct hdr {
    char ctype[VAL_MAX];
    size_t ctype_len;
    char cte[64];
    size_t cte_len;
    size_t body; /* offset of the first body byte */
};

void mh_redact_init(struct mh_redact *r)
{
    memset(r, 0, sizeof *r);
    mh_arena_init(&r->names, 4096, 0);
}

void mh_redact_fini(struct mh_redact *r)
{
    mh_free(r->fields);
    mh_arena_fini(&r->names);
    memset(r, 0, sizeof *r);
}

bool mh_redact_is_bcc_name(const char *name, size_t n)
{
    for (size_t i = 0; i + 3 <= n; i++)
        if (mh_ascii_lower((unsigned char)name[i]) == 'b' &&
            mh_ascii_lower((unsigned char)name[i + 1]) == 'c' &&
            mh_ascii_lower((unsigned char)name[i + 2]) == 'c')
            return true;
    return false;
}

/* Next line: returns the offset after its line break; *ce = end of its
 * content (before CR LF / LF). */
static size_t next_line(const char *m, size_t pos, size_t end, size_t *ce)
{
    const char *nl = memchr(m + pos, '\n', end - pos);
    size_t e = nl ? (size_t)(nl - m) : end;
    size_t c = e;
    if (nl && c > pos && m[c - 1] == '\r') c--;
    *ce = c;
    return nl ? e + 1 : end;
}

static mh_status add_field(struct scan *s, size_t off, size_t len, size_t name_off,
                           size_t name_len, unsigned depth)
{
    struct mh_redact *r = s->r;
    mh_status st = MH_GROW(r->fields, r->cap, r->n + 1, 8, MH_REDACT_MAX_FIELDS);
    if (st == MH_ELIMIT)
        return mh_error_set(s->err, MH_ELIMIT, "too many Bcc fields in one message", "limit %u",
                            (unsigned)MH_REDACT_MAX_FIELDS);
    if (st) return mh_error_set(s->err, MH_ENOMEM, "out of memory", NULL);
    const char *name = mh_arena_strndup(&r->names, s->m + name_off, name_len);
    if (!name) return mh_error_set(s->err, MH_ENOMEM, "out of memory", NULL);
    r->fields[r->n++] = (struct mh_redact_field){off, len, name, depth};
    r->removed_bytes += len;
    return MH_OK;
}

static void keep_value(char *dst, size_t cap, size_t *len, const char *src, size_t n)
{
    if (*len >= cap - 1) return;
    if (n > cap - 1 - *len) n = cap - 1 - *len;
    memcpy(dst + *len, src, n);
    *len += n;
    dst[*len] = '\0';
}

enum capture { CAP_NONE, CAP_CTYPE, CAP_CTE };

/* Scan one header block in [pos, end). */
static mh_status scan_header(struct scan *s, size_t pos, size_t end, unsigned depth, struct hdr *h)
{
    const char *m = s->m;
    bool in_field = false, bcc = false;
    size_t fstart = 0, nstart = 0, nlen = 0;
    enum capture cap = CAP_NONE;
    h->ctype_len = h->cte_len = 0;
    h->ctype[0] = h->cte[0] = '\0';
    h->body = end;
    while (pos < end) {
        size_t ce;
        size_t next = next_line(m, pos, end, &ce);
        bool cont = m[pos] == ' ' || m[pos] == '\t';
        if (cont && in_field) {
            if (cap == CAP_CTYPE) keep_value(h->ctype, sizeof h->ctype, &h->ctype_len, m + pos, ce - pos);
            if (cap == CAP_CTE) keep_value(h->cte, sizeof h->cte, &h->cte_len, m + pos, ce - pos);
            pos = next;
            continue;
        }
        if (in_field && bcc) MH_TRY(add_field(s, fstart, pos - fstart, nstart, nlen, depth));
        in_field = bcc = false;
        cap = CAP_NONE;
        if (ce == pos) { /* the empty line: end of the header block */
            h->body = next;
            return MH_OK;
        }
        if (cont) { /* continuation without a field: junk, skipped */
            pos = next;
            continue;
        }
        size_t i = pos;
        while (i < ce && (unsigned char)m[i] > 32 && (unsigned char)m[i] < 127 && m[i] != ':') i++;
        size_t name_end = i;
        while (i < ce && (m[i] == ' ' || m[i] == '\t')) i++;
        if (name_end > pos && i < ce && m[i] == ':') {
            in_field = true;
            fstart = nstart = pos;
            nlen = name_end - pos;
            bcc = mh_redact_is_bcc_name(m + pos, nlen);
            struct mh_slice nm = mh_slice_make(m + pos, nlen);
            if (mh_slice_eq_nocase(nm, MH_SLICE_LIT("content-type"))) {
                cap = CAP_CTYPE;
                h->ctype_len = 0;
                keep_value(h->ctype, sizeof h->ctype, &h->ctype_len, m + i + 1, ce - i - 1);
            } else if (mh_slice_eq_nocase(nm, MH_SLICE_LIT("content-transfer-encoding"))) {
                cap = CAP_CTE;
                h->cte_len = 0;
                keep_value(h->cte, sizeof h->cte, &h->cte_len, m + i + 1, ce - i - 1);
            }
        }
        pos = next;
    }
    if (in_field && bcc) MH_TRY(add_field(s, fstart, end - fstart, nstart, nlen, depth));
    return MH_OK;
}

/* Media type of a Content-Type value, lower-cased into out ("" if none). */
static void media_type(const char *v, size_t n, char *out, size_t outsz)
{
    size_t i = 0, k = 0;
    while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
    while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '(' && k + 1 < outsz)
        out[k++] = (char)mh_ascii_lower((unsigned char)v[i++]);
    out[k] = '\0';
}

/* The boundary parameter of a Content-Type value (unquoted into out). */
static bool boundary_param(const char *v, size_t n, char *out, size_t outsz, size_t *outlen)
{
    size_t i = 0;
    while (i < n) {
        const char *semi = memchr(v + i, ';', n - i);
        if (!semi) return false;
        i = (size_t)(semi - v) + 1;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t ns = i;
        while (i < n && v[i] != '=' && v[i] != ';' && v[i] != ' ' && v[i] != '\t') i++;
        struct mh_slice name = mh_slice_make(v + ns, i - ns);
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        if (i >= n || v[i] != '=') continue;
        i++;
        while (i < n && (v[i] == ' ' || v[i] == '\t')) i++;
        size_t k = 0;
        if (i < n && v[i] == '"') {
            i++;
            while (i < n && v[i] != '"') {
                if (v[i] == '\\' && i + 1 < n) i++;
                if (k + 1 < outsz) out[k++] = v[i];
                i++;
            }
            if (i < n) i++;
        } else {
            while (i < n && v[i] != ';' && v[i] != ' ' && v[i] != '\t' && v[i] != '(') {
                if (k + 1 < outsz) out[k++] = v[i];
                i++;
            }
        }
        out[k] = '\0';
        if (mh_slice_eq_nocase(name, MH_SLICE_LIT("boundary")) && k > 0) {
            *outlen = k;
            return true;
        }
    }
    return false;
}

static bool identity_cte(const struct hdr *h)
{
    struct mh_slice c = mh_slice_trim(mh_slice_make(h->cte, h->cte_len));
    return c.len == 0 || mh_slice_eq_nocase(c, MH_SLICE_LIT("7bit")) ||
           mh_slice_eq_nocase(c, MH_SLICE_LIT("8bit")) || mh_slice_eq_nocase(c, MH_SLICE_LIT("binary"));
}

static mh_status scan_entity(struct scan *s, size_t start, size_t end, unsigned depth,
                             bool default_message);

static mh_status scan_multipart(struct scan *s, size_t pos, size_t end, unsigned depth,
                                const char *b, size_t blen, bool digest)
{
    const char *m = s->m;
    size_t part = SIZE_MAX; /* start of the current part; none in the preamble */
    while (pos < end) {
        size_t ce;
        size_t next = next_line(m, pos, end, &ce);
        if (ce - pos >= 2 + blen && m[pos] == '-' && m[pos + 1] == '-' &&
            memcmp(m + pos + 2, b, blen) == 0) {
            size_t rest = pos + 2 + blen;
            bool closing = rest + 2 <= ce && m[rest] == '-' && m[rest + 1] == '-';
            if (closing) rest += 2;
            bool only_ws = true;
            for (size_t i = rest; i < ce; i++)
                if (m[i] != ' ' && m[i] != '\t') only_ws = false;
            if (only_ws) {
                if (part != SIZE_MAX) MH_TRY(scan_entity(s, part, pos, depth + 1, digest));
                if (closing) return MH_OK;
                part = next;
            }
        }
        pos = next;
    }
    if (part != SIZE_MAX && part < end) MH_TRY(scan_entity(s, part, end, depth + 1, digest));
    return MH_OK;
}

static mh_status scan_entity(struct scan *s, size_t start, size_t end, unsigned depth,
                             bool default_message)
{
    struct hdr h;
    char type[128];
    if (depth > MH_MAX_MIME_DEPTH) {
        s->r->opaque++;
        return MH_OK;
    }
    MH_TRY(scan_header(s, start, end, depth, &h));
    media_type(h.ctype, h.ctype_len, type, sizeof type);
    if (!type[0] && default_message) memcpy(type, "message/rfc822", sizeof "message/rfc822");
    if (h.body >= end) return MH_OK;
    if (!strncmp(type, "multipart/", 10)) {
        char b[VAL_MAX];
        size_t blen;
        if (boundary_param(h.ctype, h.ctype_len, b, sizeof b, &blen))
            return scan_multipart(s, h.body, end, depth, b, blen, !strcmp(type, "multipart/digest"));
        return MH_OK;
    }
    bool embedded = !strcmp(type, "message/rfc822") || !strcmp(type, "message/global");
    bool headers_only = !strcmp(type, "text/rfc822-headers") || !strcmp(type, "message/rfc822-headers") ||
                        !strcmp(type, "message/global-headers");
    if (!embedded && !headers_only) return MH_OK;
    if (!identity_cte(&h)) {
        s->r->opaque++;
        return MH_OK;
    }
    if (embedded) return scan_entity(s, h.body, end, depth + 1, false);
    if (depth + 1 > MH_MAX_MIME_DEPTH) {
        s->r->opaque++;
        return MH_OK;
    }
    struct hdr inner;
    return scan_header(s, h.body, end, depth + 1, &inner);
}

static int by_offset(const void *a, const void *b)
{
    const struct mh_redact_field *x = a, *y = b;
    return (x->off > y->off) - (x->off < y->off);
}

mh_status mh_redact_scan(struct mh_redact *r, const char *msg, size_t len, mh_error *err)
{
    r->n = 0;
    r->removed_bytes = 0;
    r->opaque = 0;
    mh_arena_reset(&r->names);
    if (len == 0) return MH_OK;
    if (!msg) return mh_error_set(err, MH_EINVAL, "no message", NULL);
    struct scan s = {r, msg, err};
    mh_status st = scan_entity(&s, 0, len, 0, false);
    if (st) {
        r->n = 0;
        r->removed_bytes = 0;
        return st;
    }
    /* Document order already; sorting guards the splice against surprises. */
    if (r->n > 1) qsort(r->fields, r->n, sizeof *r->fields, by_offset);
    return MH_OK;
}

size_t mh_redact_apply(const struct mh_redact *r, char *msg, size_t len)
{
    size_t w = 0, from = 0;
    for (size_t i = 0; i < r->n; i++) {
        const struct mh_redact_field *f = &r->fields[i];
        if (f->off < from || f->off + f->len > len) continue; /* overlap: already removed */
        memmove(msg + w, msg + from, f->off - from);
        w += f->off - from;
        from = f->off + f->len;
    }
    memmove(msg + w, msg + from, len - from);
    return w + (len - from);
}

mh_status mh_redact_copy(const struct mh_redact *r, const char *msg, size_t len, struct mh_buf *out)
{
    size_t from = 0;
    MH_TRY(mh_buf_reserve(out, len - (r->removed_bytes < len ? r->removed_bytes : 0)));
    for (size_t i = 0; i < r->n; i++) {
        const struct mh_redact_field *f = &r->fields[i];
        if (f->off < from || f->off + f->len > len) continue;
        MH_TRY(mh_buf_append(out, msg + from, f->off - from));
        from = f->off + f->len;
    }
    return mh_buf_append(out, msg + from, len - from);
}

mh_status mh_redact_names(const struct mh_redact *r, struct mh_buf *out)
{
    mh_status st = MH_OK;
    struct mh_map seen;
    bool first = true;
    mh_map_init(&seen, MH_REDACT_MAX_FIELDS, false);
    for (size_t i = 0; i < r->n; i++) {
        struct mh_map_entry *e;
        bool created;
        MH_CHECK(mh_map_put(&seen, r->fields[i].name, strlen(r->fields[i].name), &e, &created));
        if (!created) continue;
        if (!first) MH_CHECK(mh_buf_putc(out, ','));
        MH_CHECK(mh_buf_puts(out, r->fields[i].name));
        first = false;
    }
out:
    mh_map_fini(&seen);
    return st;
}
