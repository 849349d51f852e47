/*
 * rules/pattern.c -- Sigma strings, value transforms and compiled patterns
 *
 * See pattern.h. Design notes:
 *  - A Sigma string is kept as parallel arrays (byte, kind) so that every
 *    transform can tell wildcards from literal bytes, including NUL bytes
 *    produced by the UTF-16 transforms.
 *  - Compilation picks the cheapest exact shape: EXACT, PREFIX (lit*),
 *    SUFFIX (*lit), CONTAINS (*lit*), ANY (*), else a token program (GLOB).
 *    Case-insensitive patterns are stored ASCII-lower-cased and compared with
 *    ASCII folding; a case-insensitive pattern that contains non-ASCII bytes
 *    is matched by PCRE2 with Unicode caseless matching (MH_PS_REGEX), since
 *    ASCII folding would miss `É` = `é`.
 *  - Every pattern also gets its reference regex (anchored, ASCII letters
 *    as [xX] classes, `*` = `.*`, `?` = `.`, DOTALL) used by the reference
 *    path and the differential test.
 *
 * GLOB matching: segments between stars are matched leftmost-first, which
 * is optimal for star-separated segments because each segment consumes a
 * fixed number of code points from a given start; the last segment is
 * anchored at the end. No backtracking, no allocation.
 */
#include "rules/pattern.h"

#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "mailhound/limits.h"

void mh_sstr_init(struct mh_sstr *s)
{
    memset(s, 0, sizeof *s);
}

void mh_sstr_fini(struct mh_sstr *s)
{
    if (!s) return;
    mh_free(s->b);
    mh_free(s->t);
    memset(s, 0, sizeof *s);
}

static mh_status reserve(struct mh_sstr *s, size_t extra)
{
    if (s->n + extra <= s->cap) return MH_OK;
    if (s->n + extra > MH_MAX_SIGMA_VALUE_BYTES) return MH_ELIMIT;
    size_t cap = s->cap ? s->cap : 32;
    while (cap < s->n + extra) cap *= 2;
    char *b = mh_realloc(s->b, cap);
    if (!b) return MH_ENOMEM;
    s->b = b;
    uint8_t *t = mh_realloc(s->t, cap);
    if (!t) return MH_ENOMEM;
    s->t = t;
    s->cap = cap;
    return MH_OK;
}

mh_status mh_sstr_push(struct mh_sstr *s, uint8_t type, char c)
{
    MH_TRY(reserve(s, 1));
    s->b[s->n] = type == MH_SP_LIT ? c : 0;
    s->t[s->n] = type;
    s->n++;
    return MH_OK;
}

mh_status mh_sstr_push_bytes(struct mh_sstr *s, const char *p, size_t n)
{
    if (!n) return MH_OK; /* an empty value (`|re: ''`): s->b / s->t may still be NULL */
    MH_TRY(reserve(s, n));
    memcpy(s->b + s->n, p, n);
    memset(s->t + s->n, MH_SP_LIT, n);
    s->n += n;
    return MH_OK;
}

mh_status mh_sstr_copy(struct mh_sstr *dst, const struct mh_sstr *src)
{
    dst->n = 0;
    MH_TRY(reserve(dst, src->n));
    if (src->n) {
        memcpy(dst->b, src->b, src->n);
        memcpy(dst->t, src->t, src->n);
    }
    dst->n = src->n;
    return MH_OK;
}

mh_status mh_sstr_parse(struct mh_sstr *s, const char *p, size_t n)
{
    bool esc = false;
    for (size_t i = 0; i < n; i++) {
        char c = p[i];
        if (esc) {
            if (c == '*' || c == '?' || c == '\\') {
                MH_TRY(mh_sstr_push(s, MH_SP_LIT, c));
            } else {
                MH_TRY(mh_sstr_push(s, MH_SP_LIT, '\\'));
                MH_TRY(mh_sstr_push(s, MH_SP_LIT, c));
            }
            esc = false;
        } else if (c == '\\') {
            esc = true;
        } else if (c == '*') {
            MH_TRY(mh_sstr_push(s, MH_SP_STAR, 0));
        } else if (c == '?') {
            MH_TRY(mh_sstr_push(s, MH_SP_ONE, 0));
        } else {
            MH_TRY(mh_sstr_push(s, MH_SP_LIT, c));
        }
    }
    if (esc) MH_TRY(mh_sstr_push(s, MH_SP_LIT, '\\'));
    return MH_OK;
}

bool mh_sstr_has_wild(const struct mh_sstr *s)
{
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] != MH_SP_LIT) return true;
    return false;
}

static mh_status prepend_star(struct mh_sstr *s)
{
    MH_TRY(reserve(s, 1));
    memmove(s->b + 1, s->b, s->n);
    memmove(s->t + 1, s->t, s->n);
    s->b[0] = 0;
    s->t[0] = MH_SP_STAR;
    s->n++;
    return MH_OK;
}

mh_status mh_sstr_contains(struct mh_sstr *s)
{
    if (s->n == 0 || s->t[0] != MH_SP_STAR) MH_TRY(prepend_star(s));
    if (s->t[s->n - 1] != MH_SP_STAR) MH_TRY(mh_sstr_push(s, MH_SP_STAR, 0));
    return MH_OK;
}

mh_status mh_sstr_startswith(struct mh_sstr *s)
{
    if (s->n == 0 || s->t[s->n - 1] != MH_SP_STAR) MH_TRY(mh_sstr_push(s, MH_SP_STAR, 0));
    return MH_OK;
}

mh_status mh_sstr_endswith(struct mh_sstr *s)
{
    if (s->n == 0 || s->t[0] != MH_SP_STAR) MH_TRY(prepend_star(s));
    return MH_OK;
}

static const char b64chars[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

static mh_status b64_into(struct mh_sstr *out, const unsigned char *p, size_t n)
{
    out->n = 0;
    MH_TRY(reserve(out, (n + 2) / 3 * 4));
    size_t i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        for (int k = 3; k >= 0; k--) MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> (6 * k)) & 63]));
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> 18) & 63]));
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> 12) & 63]));
        MH_TRY(mh_sstr_push_bytes(out, "==", 2));
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> 18) & 63]));
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> 12) & 63]));
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, b64chars[(v >> 6) & 63]));
        MH_TRY(mh_sstr_push(out, MH_SP_LIT, '='));
    }
    return MH_OK;
}

/* The bytes base64 encodes (pySigma _base64_input_bytes). Caller frees *out. */
static mh_status b64_input(const struct mh_sstr *s, bool utf16_bom, unsigned char **out,
                           size_t *n, size_t pad)
{
    if (mh_sstr_has_wild(s)) return MH_EINVAL;
    unsigned char *d = mh_malloc(s->n + pad + 1);
    if (!d) return MH_ENOMEM;
    memset(d, ' ', pad);
    size_t len = s->n;
    if (utf16_bom && len >= 3 && memcmp(s->b, "\xef\xbb\xbf", 3) == 0) {
        d[pad] = 0xff;
        d[pad + 1] = 0xfe;
        memcpy(d + pad + 2, s->b + 3, len - 3);
        len = len - 1;
    } else if (len) {
        memcpy(d + pad, s->b, len);
    }
    *out = d;
    *n = len + pad;
    return MH_OK;
}

mh_status mh_sstr_base64(struct mh_sstr *s, bool utf16_bom)
{
    unsigned char *in = NULL;
    size_t n = 0;
    MH_TRY(b64_input(s, utf16_bom, &in, &n, 0));
    mh_status st = b64_into(s, in, n);
    mh_free(in);
    return st;
}

mh_status mh_sstr_base64offset(const struct mh_sstr *s, bool utf16_bom, struct mh_sstr out[3])
{
    static const int start[3] = {0, 2, 3};
    static const int endcut[3] = {0, 3, 2}; /* chars cut from the end; 0 = none */
    mh_status st = MH_OK;
    for (int i = 0; i < 3; i++) {
        unsigned char *in = NULL;
        size_t n = 0;
        st = b64_input(s, utf16_bom, &in, &n, (size_t)i);
        if (st) return st;
        struct mh_sstr full;
        mh_sstr_init(&full);
        st = b64_into(&full, in, n);
        mh_free(in);
        if (st == MH_OK) {
            size_t datalen = n - (size_t)i;
            int cut = endcut[(datalen + (size_t)i) % 3];
            size_t from = (size_t)start[i];
            size_t to = full.n >= (size_t)cut ? full.n - (size_t)cut : 0;
            out[i].n = 0;
            if (to > from) st = mh_sstr_push_bytes(&out[i], full.b + from, to - from);
        }
        mh_sstr_fini(&full);
        if (st) return st;
    }
    return MH_OK;
}

mh_status mh_sstr_utf16(struct mh_sstr *s, int mode)
{
    struct mh_sstr o;
    mh_sstr_init(&o);
    mh_status st = MH_OK;
    for (size_t i = 0; i < s->n; i++)
        if (s->t[i] == MH_SP_LIT && (unsigned char)s->b[i] >= 0x80) return MH_EINVAL;
    if (mode == 2) MH_CHECK(mh_sstr_push_bytes(&o, "\xef\xbb\xbf", 3));
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] != MH_SP_LIT) {
            MH_CHECK(mh_sstr_push(&o, s->t[i], 0));
        } else if (mode == 1) {
            MH_CHECK(mh_sstr_push(&o, MH_SP_LIT, 0));
            MH_CHECK(mh_sstr_push(&o, MH_SP_LIT, s->b[i]));
        } else {
            MH_CHECK(mh_sstr_push(&o, MH_SP_LIT, s->b[i]));
            MH_CHECK(mh_sstr_push(&o, MH_SP_LIT, 0));
        }
    }
    mh_sstr_fini(s);
    *s = o;
    return MH_OK;
out:
    mh_sstr_fini(&o);
    return st;
}

/* Python's \w for our purposes: ASCII alnum, '_' and any non-ASCII character. */
static bool is_word(unsigned char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           c == '_' || c >= 0x80;
}

struct windash {
    const struct mh_sstr *src;
    size_t *pos;
    size_t npos;
    size_t max, count;
    mh_sstr_fn fn;
    void *ctx;
    struct mh_sstr cur;
};

static const char *const dashes[5] = {"-", "/", "\xe2\x80\x93", "\xe2\x80\x94", "\xe2\x80\x95"};

static mh_status windash_rec(struct windash *w, size_t k, size_t from)
{
    if (k == w->npos) {
        size_t mark = w->cur.n;
        for (size_t i = from; i < w->src->n; i++)
            MH_TRY(mh_sstr_push(&w->cur, w->src->t[i], w->src->b[i]));
        if (++w->count > w->max) return MH_ELIMIT;
        mh_status st = w->fn(w->ctx, &w->cur);
        w->cur.n = mark;
        return st;
    }
    size_t mark = w->cur.n;
    for (size_t i = from; i < w->pos[k]; i++)
        MH_TRY(mh_sstr_push(&w->cur, w->src->t[i], w->src->b[i]));
    size_t mid = w->cur.n;
    for (int d = 0; d < 5; d++) {
        w->cur.n = mid;
        MH_TRY(mh_sstr_push_bytes(&w->cur, dashes[d], strlen(dashes[d])));
        MH_TRY(windash_rec(w, k + 1, w->pos[k] + 1));
    }
    w->cur.n = mark;
    return MH_OK;
}

mh_status mh_sstr_windash(const struct mh_sstr *s, size_t max, mh_sstr_fn fn, void *ctx)
{
    struct windash w = {.src = s, .max = max, .fn = fn, .ctx = ctx};
    mh_status st = MH_OK;
    mh_sstr_init(&w.cur);
    w.pos = mh_calloc(s->n + 1, sizeof *w.pos);
    if (!w.pos) return MH_ENOMEM;
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] != MH_SP_LIT || (s->b[i] != '-' && s->b[i] != '/')) continue;
        /* \B before: previous position is not a word char (or a part boundary). */
        bool prev_word = i > 0 && s->t[i - 1] == MH_SP_LIT && is_word((unsigned char)s->b[i - 1]);
        bool next_word =
            i + 1 < s->n && s->t[i + 1] == MH_SP_LIT && is_word((unsigned char)s->b[i + 1]);
        if (!prev_word && next_word) w.pos[w.npos++] = i;
    }
    st = windash_rec(&w, 0, 0);
    mh_free(w.pos);
    mh_sstr_fini(&w.cur);
    return st;
}

/* ---- compile ---- */

static bool is_ascii_letter(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* Append the reference regex for s into b. */
static mh_status build_ref(struct mh_buf *b, const struct mh_sstr *s, bool fold_ascii)
{
    MH_TRY(mh_buf_puts(b, "^(?:"));
    for (size_t i = 0; i < s->n; i++) {
        unsigned char c = (unsigned char)s->b[i];
        if (s->t[i] == MH_SP_STAR) {
            MH_TRY(mh_buf_puts(b, ".*"));
        } else if (s->t[i] == MH_SP_ONE) {
            MH_TRY(mh_buf_putc(b, '.'));
        } else if (fold_ascii && is_ascii_letter(c)) {
            MH_TRY(mh_buf_printf(b, "[%c%c]", (char)(c | 0x20), (char)(c & ~0x20)));
        } else if ((c >= '0' && c <= '9') || is_ascii_letter(c) || c >= 0x80) {
            MH_TRY(mh_buf_putc(b, (char)c));
        } else {
            MH_TRY(mh_buf_printf(b, "\\x{%x}", c));
        }
    }
    MH_TRY(mh_buf_puts(b, ")$"));
    return MH_OK;
}

static bool valid_utf8(const char *p, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = (unsigned char)p[i];
        size_t k;
        uint32_t cp;
        if (c < 0x80) {
            i++;
            continue;
        } else if ((c & 0xe0) == 0xc0) k = 1, cp = c & 0x1f;
        else if ((c & 0xf0) == 0xe0) k = 2, cp = c & 0x0f;
        else if ((c & 0xf8) == 0xf0) k = 3, cp = c & 0x07;
        else return false;
        for (size_t j = 1; j <= k; j++) {
            if (i + j >= n) return false;
            unsigned char d = (unsigned char)p[i + j];
            if ((d & 0xc0) != 0x80) return false;
            cp = cp << 6 | (d & 0x3f);
        }
        if ((k == 1 && cp < 0x80) || (k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
            cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

mh_status mh_pattern_compile(struct mh_arena *a, const struct mh_sstr *s, bool cased,
                             struct mh_pattern *pat, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_buf rb;
    mh_buf_init(&rb, MH_MAX_SIGMA_VALUE_BYTES * 16);
    memset(pat, 0, sizeof *pat);
    pat->cased = cased;

    size_t nlit = 0, ntok = 0;
    bool nonascii = false;
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] == MH_SP_LIT) {
            nlit++;
            if ((unsigned char)s->b[i] >= 0x80) nonascii = true;
            if (i == 0 || s->t[i - 1] != MH_SP_LIT) ntok++;
        } else {
            ntok++;
        }
    }
    char *text = mh_arena_alloc(a, nlit + 1);
    struct mh_ptoken *tok = mh_arena_alloc(a, (ntok ? ntok : 1) * sizeof *tok);
    if (!text || !tok) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "pattern"));
    size_t w = 0, k = 0;
    for (size_t i = 0; i < s->n; i++) {
        if (s->t[i] == MH_SP_LIT) {
            unsigned char c = (unsigned char)s->b[i];
            if (i == 0 || s->t[i - 1] != MH_SP_LIT) {
                tok[k].type = MH_PT_LIT;
                tok[k].off = (uint32_t)w;
                tok[k].len = 0;
                k++;
            }
            text[w++] = (char)(cased ? c : mh_ascii_lower(c));
            tok[k - 1].len++;
        } else {
            tok[k].type = s->t[i] == MH_SP_STAR ? MH_PT_STAR : MH_PT_ONE;
            tok[k].off = (uint32_t)w;
            tok[k].len = 0;
            k++;
        }
    }
    text[w] = '\0';
    pat->text = text;
    pat->text_len = (uint32_t)w;
    pat->tok = tok;
    pat->ntok = (uint32_t)k;

    bool unicode = nonascii && !cased;
    bool valid = valid_utf8(text, w);
    /* Shape. */
    if (unicode && valid) {
        pat->shape = MH_PS_REGEX;
    } else if (k == 0) {
        pat->shape = MH_PS_EXACT, pat->lit = text, pat->lit_len = 0;
    } else if (k == 1 && tok[0].type == MH_PT_LIT) {
        pat->shape = MH_PS_EXACT, pat->lit = text, pat->lit_len = tok[0].len;
    } else if (k == 1 && tok[0].type == MH_PT_STAR) {
        pat->shape = MH_PS_ANY;
    } else if (k == 2 && tok[0].type == MH_PT_LIT && tok[1].type == MH_PT_STAR) {
        pat->shape = MH_PS_PREFIX, pat->lit = text, pat->lit_len = tok[0].len;
    } else if (k == 2 && tok[0].type == MH_PT_STAR && tok[1].type == MH_PT_LIT) {
        pat->shape = MH_PS_SUFFIX, pat->lit = text, pat->lit_len = tok[1].len;
    } else if (k == 3 && tok[0].type == MH_PT_STAR && tok[1].type == MH_PT_LIT &&
               tok[2].type == MH_PT_STAR) {
        pat->shape = MH_PS_CONTAINS, pat->lit = text, pat->lit_len = tok[1].len;
    } else {
        pat->shape = MH_PS_GLOB;
    }

    /* Reference regex (and the fast-path regex for Unicode folding). A
     * literal that is not valid UTF-8 (e.g. a UTF-16 BOM) can never match a
     * (valid UTF-8) event value: the reference says so with (*FAIL). */
    if (!valid) {
        MH_CHECK(mh_buf_puts(&rb, "(*FAIL)"));
    } else {
        struct mh_sstr orig = *s; /* unfolded bytes for the regex */
        MH_CHECK(build_ref(&rb, &orig, !cased && !unicode));
    }
    unsigned flags = MH_RE_DOTALL | (unicode ? MH_RE_CASELESS : 0);
    /* The reference regex only runs in the reference path: no JIT (each JIT
     * compilation maps executable memory; a corpus has ~50,000 values). */
    st = mh_regex_compile(rb.data, rb.len, flags | MH_RE_NOJIT, &pat->ref, err);
    if (st) goto out;
    if (pat->shape == MH_PS_REGEX) {
        st = mh_regex_compile(rb.data, rb.len, flags, &pat->re, err);
        if (st) goto out;
    }
out:
    mh_buf_fini(&rb);
    if (st) mh_pattern_fini(pat);
    return st;
}

void mh_pattern_fini(struct mh_pattern *pat)
{
    if (!pat) return;
    mh_regex_free(pat->re);
    mh_regex_free(pat->ref);
    pat->re = NULL;
    pat->ref = NULL;
}

/* ---- matching ---- */

bool mh_ascii_eq_fold(const char *a, const char *lower, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (mh_ascii_lower((unsigned char)a[i]) != (unsigned char)lower[i]) return false;
    return true;
}

size_t mh_ascii_find_fold(const char *hay, size_t n, const char *lower, size_t m)
{
    if (m == 0) return 0;
    if (m > n) return SIZE_MAX;
    unsigned char f = (unsigned char)lower[0];
    unsigned char F = (f >= 'a' && f <= 'z') ? (unsigned char)(f - 32) : f;
    size_t last = n - m;
    for (size_t i = 0; i <= last; i++) {
        unsigned char c = (unsigned char)hay[i];
        if (c != f && c != F) {
            /* skip ahead with memchr on the rarer case when the letters are equal */
            if (f == F) {
                const char *p = memchr(hay + i, f, last - i + 1);
                if (!p) return SIZE_MAX;
                i = (size_t)(p - hay);
            } else {
                continue;
            }
        }
        if (mh_ascii_eq_fold(hay + i + 1, lower + 1, m - 1)) return i;
    }
    return SIZE_MAX;
}

static bool eq_bytes(const char *a, const char *lit, size_t n, bool cased)
{
    return cased ? memcmp(a, lit, n) == 0 : mh_ascii_eq_fold(a, lit, n);
}

static size_t find_bytes(const char *hay, size_t n, const char *lit, size_t m, bool cased)
{
    if (!cased) return mh_ascii_find_fold(hay, n, lit, m);
    if (m == 0) return 0;
    if (m > n) return SIZE_MAX;
    const char *p = memmem(hay, n, lit, m);
    return p ? (size_t)(p - hay) : SIZE_MAX;
}

/* Length of the UTF-8 code point at s[0..n) (valid sequences only), 0 if invalid. */
static size_t cp_len(const unsigned char *s, size_t n)
{
    if (n == 0) return 0;
    unsigned char c = s[0];
    size_t k;
    if (c < 0x80) return 1;
    if (c >= 0xc2 && c <= 0xdf) k = 2;
    else if (c >= 0xe0 && c <= 0xef) k = 3;
    else if (c >= 0xf0 && c <= 0xf4) k = 4;
    else return 0;
    if (n < k) return 0;
    for (size_t i = 1; i < k; i++)
        if ((s[i] & 0xc0) != 0x80) return 0;
    if (k == 3) {
        if (c == 0xe0 && s[1] < 0xa0) return 0;
        if (c == 0xed && s[1] > 0x9f) return 0;
    }
    if (k == 4) {
        if (c == 0xf0 && s[1] < 0x90) return 0;
        if (c == 0xf4 && s[1] > 0x8f) return 0;
    }
    return k;
}

/* Match tokens [t0, t1) (no STAR) at pos; *end gets the end offset. */
static bool seg_at(const struct mh_pattern *p, uint32_t t0, uint32_t t1, const char *s, size_t n,
                   size_t pos, size_t *end)
{
    for (uint32_t t = t0; t < t1; t++) {
        const struct mh_ptoken *tk = &p->tok[t];
        if (tk->type == MH_PT_LIT) {
            if (n - pos < tk->len || !eq_bytes(s + pos, p->text + tk->off, tk->len, p->cased))
                return false;
            pos += tk->len;
        } else {
            size_t l = cp_len((const unsigned char *)s + pos, n - pos);
            if (!l) return false;
            pos += l;
        }
    }
    *end = pos;
    return true;
}

static bool glob_match(const struct mh_pattern *p, const char *s, size_t n)
{
    uint32_t t = 0, nt = p->ntok;
    size_t pos = 0;
    /* leading segment: anchored at 0 */
    uint32_t e = t;
    while (e < nt && p->tok[e].type != MH_PT_STAR) e++;
    if (e > t) {
        size_t end;
        if (!seg_at(p, t, e, s, n, 0, &end)) return false;
        if (e == nt) return end == n;
        pos = end;
    }
    t = e;
    /* now p->tok[t] is a STAR */
    while (t < nt) {
        while (t < nt && p->tok[t].type == MH_PT_STAR) t++;
        if (t == nt) return true; /* trailing star */
        e = t;
        while (e < nt && p->tok[e].type != MH_PT_STAR) e++;
        if (e == nt) {
            /* last segment: must end at n; try starts at code point boundaries */
            bool pure = true;
            size_t seglen = 0;
            for (uint32_t i = t; i < e; i++) {
                if (p->tok[i].type != MH_PT_LIT) pure = false;
                seglen += p->tok[i].len;
            }
            size_t end;
            if (pure) {
                if (n < pos + seglen) return false;
                return seg_at(p, t, e, s, n, n - seglen, &end);
            }
            for (size_t st = pos; st <= n; st++) {
                if (st < n && ((unsigned char)s[st] & 0xc0) == 0x80) continue;
                if (seg_at(p, t, e, s, n, st, &end) && end == n) return true;
            }
            return false;
        }
        /* middle segment: leftmost occurrence */
        bool found = false;
        if (p->tok[t].type == MH_PT_LIT) {
            const struct mh_ptoken *lt = &p->tok[t];
            size_t from = pos;
            while (from <= n) {
                size_t off = find_bytes(s + from, n - from, p->text + lt->off, lt->len, p->cased);
                if (off == SIZE_MAX) return false;
                size_t st = from + off, end;
                if (seg_at(p, t, e, s, n, st, &end)) {
                    pos = end;
                    found = true;
                    break;
                }
                from = st + 1;
            }
        } else {
            for (size_t st = pos; st <= n; st++) {
                if (st < n && ((unsigned char)s[st] & 0xc0) == 0x80) continue;
                size_t end;
                if (seg_at(p, t, e, s, n, st, &end)) {
                    pos = end;
                    found = true;
                    break;
                }
            }
        }
        if (!found) return false;
        t = e;
    }
    return pos == n;
}

mh_status mh_pattern_match(const struct mh_pattern *p, struct mh_regex_scratch *scratch,
                           const char *s, size_t n, bool *matched)
{
    if (!s) s = "";
    switch (p->shape) {
    case MH_PS_EXACT:
        *matched = n == p->lit_len && eq_bytes(s, p->lit, n, p->cased);
        return MH_OK;
    case MH_PS_PREFIX:
        *matched = n >= p->lit_len && eq_bytes(s, p->lit, p->lit_len, p->cased);
        return MH_OK;
    case MH_PS_SUFFIX:
        *matched = n >= p->lit_len && eq_bytes(s + n - p->lit_len, p->lit, p->lit_len, p->cased);
        return MH_OK;
    case MH_PS_CONTAINS:
        *matched = find_bytes(s, n, p->lit, p->lit_len, p->cased) != SIZE_MAX;
        return MH_OK;
    case MH_PS_ANY:
        *matched = true;
        return MH_OK;
    case MH_PS_GLOB:
        *matched = glob_match(p, s, n);
        return MH_OK;
    case MH_PS_REGEX:
        return mh_regex_exec(p->re, scratch, s, n, 0, NULL, 0, matched);
    }
    return MH_EINVAL;
}

mh_status mh_pattern_match_ref(const struct mh_pattern *p, struct mh_regex_scratch *scratch,
                               const char *s, size_t n, bool *matched)
{
    return mh_regex_exec(p->ref, scratch, s ? s : "", n, 0, NULL, 0, matched);
}

/* ---- prefilter literals ---- */

bool mh_byte_is_safe(unsigned char c)
{
    if (c < 0x20 || c >= 0x7f) return false;
    switch (c) {
    case '"': case '\\': case '/': case '<': case '>': case '&': case '\'': case '+': case '`':
        return false;
    default:
        return true;
    }
}

void mh_safe_run(const char *p, size_t n, bool unicode_fold, const char **run, size_t *len)
{
    size_t best = 0, best_at = 0, cur = 0;
    for (size_t i = 0; i <= n; i++) {
        unsigned char c = i < n ? (unsigned char)p[i] : 0;
        bool ok = i < n && mh_byte_is_safe(c);
        /* Unicode simple case folding maps K/k to U+212A and S/s to U+017F. */
        if (ok && unicode_fold && (c == 'k' || c == 'K' || c == 's' || c == 'S')) ok = false;
        if (ok) {
            cur++;
        } else {
            if (cur > best) best = cur, best_at = i - cur;
            cur = 0;
        }
    }
    *run = p + best_at;
    *len = best;
}

void mh_pattern_safe_run(const struct mh_pattern *pat, const char **run, size_t *len)
{
    *run = NULL;
    *len = 0;
    bool uni = pat->shape == MH_PS_REGEX;
    for (uint32_t i = 0; i < pat->ntok; i++) {
        const struct mh_ptoken *t = &pat->tok[i];
        if (t->type != MH_PT_LIT) continue;
        const char *r;
        size_t l;
        mh_safe_run(pat->text + t->off, t->len, uni, &r, &l);
        if (l > *len) *run = r, *len = l;
    }
}
