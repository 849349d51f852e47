/*
 * ingest/json.c -- zero-copy JSON reader with a tape index (see json.h)
 *
 * Pipeline: bytes -> [ingest: json] -> records -> normalize. The reader turns
 * one JSON text into a flat tape of 16-byte nodes (json.h shows the layout);
 * no byte of the input is copied and no string is decoded during the parse.
 *
 * Design:
 *  - One iterative pass, a state machine with an explicit stack of open
 *    containers (at most MH_JSON_MAX_DEPTH, on the C stack). Containers count
 *    their children as they go and learn `next` when they close; leaves get
 *    next = index + 1. The node's `reserved` field keeps the nesting depth
 *    (root 0), which lets mh_json_raw find a container's closing bracket
 *    without re-parsing.
 *  - Strings are the hot path (UAL records are mostly long strings). With
 *    SSE2 a string is scanned 16 bytes at a time for '"', '\\', control bytes
 *    and bytes >= 0x80 with one signed compare; pure-ASCII chunks cost a load,
 *    three compares and a movemask. Escapes and UTF-8 sequences are validated
 *    where the scan stops (scalar, exact). Fewer than 16 bytes before the end
 *    of the input are scanned with a table (the input is never over-read).
 *  - The parser body is one always-inline function instantiated twice, with
 *    SIMD on and off; mh_json_parse picks one per call (MH_JDOC_SCALAR in
 *    d->opts forces the scalar one, which the tests compare against the SIMD
 *    one). Builds without __SSE2__ only have the scalar instance.
 *  - The node array belongs to the document and is reused; it grows through
 *    the allocation seam by doubling, capped at the node limit. In steady
 *    state a parse allocates nothing. In arena mode (nested documents) each
 *    parse takes a fresh array from the arena, sized from the input length
 *    (<= JSON_ARENA_HINT_MAX nodes first), so no tape outlives an arena reset.
 *
 * Errors: MH_EPARSE with err->msg a fixed reason and err->offset the byte
 * offset of the offending byte: the unexpected byte itself; the backslash of
 * a bad escape (the first one of a lone high surrogate); the lead byte of an
 * invalid UTF-8 sequence; the input length when the input ends too early.
 * MH_ELIMIT for depth (offset of the bracket one level too deep), node count
 * (offset of the value that did not fit) and input size (offset 0).
 *
 * Threading: no globals; one mh_jdoc per thread.
 */
#include "ingest/json.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* MH_JSON_NO_SIMD builds the portable scanner only (checked by the tests). */
#if defined(__SSE2__) && !defined(MH_JSON_NO_SIMD)
#define MH_JSON_SSE2 1
#include <emmintrin.h>
#endif

#include "base/alloc.h"
#include "base/slice.h"
#include "mailhound/limits.h"

#if defined(__GNUC__) || defined(__clang__)
#define MH_INLINE static inline __attribute__((always_inline))
#define MH_NOINLINE static __attribute__((noinline))
#define MH_LIKELY(x) __builtin_expect(!!(x), 1)
#define MH_UNLIKELY(x) __builtin_expect(!!(x), 0)
#else
#define MH_INLINE static inline
#define MH_NOINLINE static
#define MH_LIKELY(x) (x)
#define MH_UNLIKELY(x) (x)
#endif

#define JSON_INITIAL_NODES 256u   /* heap mode: first node array */
#define JSON_ARENA_HINT_MAX 4096u /* arena mode: largest first node array */

/* Fixed reasons (err->msg). */
static const char E_EOF[] = "unexpected end of input";
static const char E_UNTERM[] = "unterminated string";
static const char E_ESCAPE[] = "invalid escape";
static const char E_SURROGATE[] = "invalid surrogate";
static const char E_UTF8[] = "invalid UTF-8";
static const char E_CTRL[] = "control character in string";
static const char E_CHAR[] = "unexpected character";
static const char E_TRAIL[] = "trailing characters";
static const char E_NUM[] = "number format";
static const char E_LIT[] = "invalid literal";
static const char E_COMMA[] = "trailing comma";
static const char E_COLON[] = "expected ':'";
static const char E_KEY[] = "expected string key";
static const char E_DEPTH[] = "nesting too deep";
static const char E_NODES[] = "too many values";
static const char E_SIZE[] = "input too large";
static const char E_ARENA[] = "document arena full";
static const char E_NOMEM[] = "out of memory";

/* 1 for bytes that stop the string scan: '"', '\\', < 0x20, >= 0x80. */
#define ONES16 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1
static const uint8_t stop_tab[256] = {
    ONES16,
    ONES16, /* 0x00-0x1f: control */
    0,
    0,
    1,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,
    0,          /* 0x22 '"' */
    [0x5c] = 1, /* '\\' */
    [0x80] = ONES16,
    ONES16,
    ONES16,
    ONES16,
    ONES16,
    ONES16,
    ONES16,
    ONES16,
};

/* Four hex digits at p (p[0..4) readable) -> 0..0xFFFF, or -1. */
static inline int32_t hex4(const uint8_t *p)
{
    int a = mh_hex_value(p[0]), b = mh_hex_value(p[1]);
    int c = mh_hex_value(p[2]), e = mh_hex_value(p[3]);
    if ((a | b | c | e) < 0) return -1;
    return (int32_t)((a << 12) | (b << 8) | (c << 4) | e);
}

static inline bool is_ws(uint8_t c)
{
    return c == ' ' || c == '\n' || c == '\r' || c == '\t';
}

/*
 * Length of the valid UTF-8 sequence starting at p (p[0] >= 0x80), or 0 if
 * it is invalid or truncated (RFC 3629 table: no overlongs, no surrogates,
 * nothing above U+10FFFF).
 */
static inline size_t utf8_seq(const uint8_t *p, const uint8_t *end)
{
    uint8_t c = p[0];
    size_t avail = (size_t)(end - p);
    if (c >= 0xC2 && c <= 0xDF) {
        if (avail < 2 || (p[1] & 0xC0) != 0x80) return 0;
        return 2;
    }
    if (c >= 0xE0 && c <= 0xEF) {
        if (avail < 3) return 0;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xE0) lo = 0xA0;
        if (c == 0xED) hi = 0x9F;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80) return 0;
        return 3;
    }
    if (c >= 0xF0 && c <= 0xF4) {
        if (avail < 4) return 0;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c == 0xF0) lo = 0x90;
        if (c == 0xF4) hi = 0x8F;
        if (p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80) return 0;
        return 4;
    }
    return 0;
}

/*
 * Validate the escape at p (p[0] == '\\'). Returns its length, or 0 with
 * *why set (E_UNTERM when the input ends inside it).
 */
static size_t check_escape(const uint8_t *p, const uint8_t *end, const char **why)
{
    size_t avail = (size_t)(end - p);
    if (avail < 2) {
        *why = E_UNTERM;
        return 0;
    }
    switch (p[1]) {
    case '"':
    case '\\':
    case '/':
    case 'b':
    case 'f':
    case 'n':
    case 'r':
    case 't':
        return 2;
    case 'u':
        break;
    default:
        *why = E_ESCAPE;
        return 0;
    }
    if (avail < 6) {
        for (size_t i = 2; i < avail; i++) {
            if (mh_hex_value(p[i]) < 0) {
                *why = E_ESCAPE;
                return 0;
            }
        }
        *why = E_UNTERM;
        return 0;
    }
    int32_t u = hex4(p + 2);
    if (u < 0) {
        *why = E_ESCAPE;
        return 0;
    }
    if (u < 0xD800 || u > 0xDFFF) return 6;
    if (u >= 0xDC00) {
        *why = E_SURROGATE;
        return 0;
    }
    /* high surrogate: a \uDC00-\uDFFF must follow */
    if (avail < 12) {
        if (avail >= 7 && p[6] != '\\') goto lone;
        if (avail >= 8 && p[7] != 'u') goto lone;
        *why = E_UNTERM;
        return 0;
    }
    if (p[6] != '\\' || p[7] != 'u') goto lone;
    int32_t v = hex4(p + 8);
    if (v < 0) {
        *why = E_ESCAPE; /* reported at the high surrogate's backslash */
        return 0;
    }
    if (v < 0xDC00 || v > 0xDFFF) goto lone;
    return 12;
lone:
    *why = E_SURROGATE;
    return 0;
}

/* ---- node array ---- */

static uint32_t node_limit(const struct mh_jdoc *d)
{
    uint32_t lim = MH_JSON_MAX_NODES;
    if (d->max_nodes && d->max_nodes < lim) lim = d->max_nodes;
    return lim;
}

/* Bytes mh_arena_alloc(a, n) would need; true if that exceeds the arena's cap. */
static bool arena_full(const struct mh_arena *a, size_t n)
{
    size_t need = (n + 15u) & ~(size_t)15u;
    return need < n || a->used > a->cap || need > a->cap - a->used;
}

/* Make room for at least need nodes (need <= node_limit). */
MH_NOINLINE mh_status grow_nodes(struct mh_jdoc *d, uint32_t need, uint32_t limit, const char **why)
{
    uint64_t ncap = d->cap ? (uint64_t)d->cap * 2 : (d->arena ? need : JSON_INITIAL_NODES);
    while (ncap < need) ncap *= 2;
    if (ncap > limit) ncap = limit;
    *why = E_NODES;
    if (ncap < need) return MH_ELIMIT;
    struct mh_jnode *nn;
    if (d->arena) {
        *why = E_ARENA;
        /* near the arena's cap, grow by a quarter rather than fail early */
        if (arena_full(d->arena, (size_t)ncap * sizeof *nn)) {
            uint64_t small = (uint64_t)d->cap + d->cap / 4;
            ncap = small > need ? small : need;
            if (ncap > limit) ncap = limit;
            if (arena_full(d->arena, (size_t)ncap * sizeof *nn)) return MH_ELIMIT;
        }
        *why = E_NOMEM;
        nn = mh_arena_alloc(d->arena, (size_t)ncap * sizeof *nn);
        if (!nn) return MH_ENOMEM;
        if (d->n) memcpy(nn, d->nodes, (size_t)d->n * sizeof *nn);
    } else {
        *why = E_NOMEM;
        nn = mh_realloc(d->nodes, (size_t)ncap * sizeof *nn);
        if (!nn) return MH_ENOMEM;
    }
    d->nodes = nn;
    d->cap = (uint32_t)ncap;
    return MH_OK;
}

void mh_jdoc_init(struct mh_jdoc *d, struct mh_arena *arena)
{
    memset(d, 0, sizeof *d);
    d->arena = arena;
}

void mh_jdoc_fini(struct mh_jdoc *d)
{
    if (!d) return;
    if (!d->arena) mh_free(d->nodes);
    d->nodes = NULL;
    d->n = d->cap = 0;
    d->src = NULL;
    d->srclen = 0;
}

/* ---- the parser ---- */

struct pstate {
    const char *why;   /* fixed reason */
    const uint8_t *at; /* offending byte */
    mh_status st;
};

/*
 * Scan a string body starting at *pp (just after the opening quote). On
 * success *pp points at the closing quote and the flags are returned.
 * On failure returns -1 and fills ps.
 */
MH_INLINE int scan_string(const uint8_t **pp, const uint8_t *end, struct pstate *ps, bool simd)
{
    const uint8_t *p = *pp;
    int flags = 0;
    (void)simd;
    for (;;) {
#ifdef MH_JSON_SSE2
        if (simd) {
            const __m128i q = _mm_set1_epi8('"');
            const __m128i bs = _mm_set1_epi8('\\');
            const __m128i sp = _mm_set1_epi8(0x20);
            while (end - p >= 16) {
                __m128i x = _mm_loadu_si128((const __m128i *)(const void *)p);
                __m128i m = _mm_or_si128(_mm_or_si128(_mm_cmpeq_epi8(x, q), _mm_cmpeq_epi8(x, bs)),
                                         _mm_cmplt_epi8(x, sp));
                unsigned mask = (unsigned)_mm_movemask_epi8(m);
                if (mask) {
                    p += __builtin_ctz(mask);
                    goto special;
                }
                p += 16;
            }
        }
#endif
        while (p < end && !stop_tab[*p]) p++;
        if (MH_UNLIKELY(p == end)) {
            ps->why = E_UNTERM;
            ps->at = end;
            return -1;
        }
#ifdef MH_JSON_SSE2
    special:
#endif
        if (MH_LIKELY(*p == '"')) {
            *pp = p;
            return flags;
        }
        if (*p == '\\') {
            size_t k = check_escape(p, end, &ps->why);
            if (!k) {
                ps->at = ps->why == E_UNTERM ? end : p;
                return -1;
            }
            flags |= MH_JF_ESCAPED;
            p += k;
            continue;
        }
        if (*p < 0x20) {
            ps->why = E_CTRL;
            ps->at = p;
            return -1;
        }
        /* UTF-8: validate this sequence and any that follow directly */
        flags |= MH_JF_NONASCII;
        do {
            size_t k = utf8_seq(p, end);
            if (!k) {
                ps->why = E_UTF8;
                ps->at = p;
                return -1;
            }
            p += k;
        } while (p < end && *p >= 0x80);
    }
}

/*
 * Scan a number at p. Returns the end pointer and sets *flags, or NULL with
 * ps filled.
 */
MH_INLINE const uint8_t *scan_number(const uint8_t *p, const uint8_t *end, uint8_t *flags,
                                     struct pstate *ps)
{
    uint8_t f = 0;
    if (*p == '-') {
        f |= MH_JF_NUM_NEG;
        p++;
    }
    if (p == end) goto bad;
    if (*p == '0') {
        p++;
    } else if (*p >= '1' && *p <= '9') {
        p++;
        while (p < end && (uint8_t)(*p - '0') < 10) p++;
    } else {
        goto bad;
    }
    if (p < end && *p == '.') {
        f |= MH_JF_NUM_FRAC;
        p++;
        if (p == end || (uint8_t)(*p - '0') >= 10) goto bad;
        while (p < end && (uint8_t)(*p - '0') < 10) p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        f |= MH_JF_NUM_FRAC;
        p++;
        if (p < end && (*p == '+' || *p == '-')) p++;
        if (p == end || (uint8_t)(*p - '0') >= 10) goto bad;
        while (p < end && (uint8_t)(*p - '0') < 10) p++;
    }
    /* "01", "1.2.3", "1e5e": the number cannot continue like this */
    if (p < end &&
        ((uint8_t)(*p - '0') < 10 || *p == '.' || *p == 'e' || *p == 'E' || *p == '+' || *p == '-'))
        goto bad;
    *flags = f;
    return p;
bad:
    ps->why = E_NUM;
    ps->at = p;
    return NULL;
}

#define SKIP_WS()                                                                                  \
    do {                                                                                           \
        while (p < end && MH_UNLIKELY(*p <= ' ') && is_ws(*p)) p++;                                \
    } while (0)

#define FAIL(reason, where)                                                                        \
    do {                                                                                           \
        ps.why = (reason);                                                                         \
        ps.at = (where);                                                                           \
        ps.st = MH_EPARSE;                                                                         \
        goto fail;                                                                                 \
    } while (0)

/* Reserve node n (slow path outside the hot loop). */
#define NEED_NODE()                                                                                \
    do {                                                                                           \
        if (MH_UNLIKELY(n >= lim)) {                                                               \
            if (n >= limit) {                                                                      \
                ps.why = E_NODES;                                                                  \
                ps.at = p;                                                                         \
                ps.st = MH_ELIMIT;                                                                 \
                goto fail;                                                                         \
            }                                                                                      \
            d->n = n;                                                                              \
            mh_status gst_ = grow_nodes(d, n + 1, limit, &ps.why);                                 \
            if (gst_) {                                                                            \
                ps.at = p;                                                                         \
                ps.st = gst_;                                                                      \
                goto fail;                                                                         \
            }                                                                                      \
            nodes = d->nodes;                                                                      \
            lim = d->cap < limit ? d->cap : limit;                                                 \
        }                                                                                          \
    } while (0)

#define PUT_NODE(o, l, t, f)                                                                       \
    do {                                                                                           \
        struct mh_jnode *nd_ = &nodes[n];                                                          \
        nd_->off = (uint32_t)(o);                                                                  \
        nd_->len = (uint32_t)(l);                                                                  \
        nd_->next = n + 1;                                                                         \
        nd_->type = (uint8_t)(t);                                                                  \
        nd_->flags = (uint8_t)(f);                                                                 \
        nd_->reserved = (uint16_t)depth;                                                           \
        n++;                                                                                       \
    } while (0)

MH_INLINE mh_status parse_impl(struct mh_jdoc *d, const uint8_t *s, size_t len, mh_error *err,
                               bool simd)
{
    const uint8_t *p = s, *end = s + len;
    struct mh_jnode *nodes = d->nodes;
    const uint32_t limit = node_limit(d);
    uint32_t lim = d->cap < limit ? d->cap : limit;
    uint32_t n = 0, depth = 0, top = 0;
    uint32_t stack[MH_JSON_MAX_DEPTH];
    struct pstate ps = {NULL, NULL, MH_OK};

value:
    SKIP_WS();
    if (MH_UNLIKELY(p == end)) FAIL(E_EOF, p);
    NEED_NODE();
    switch (*p) {
    case '"': {
        const uint8_t *q = p + 1;
        int fl = scan_string(&q, end, &ps, simd);
        if (fl < 0) FAIL(ps.why, ps.at);
        PUT_NODE(p + 1 - s, q - (p + 1), MH_JSTR, fl);
        p = q + 1;
        goto after;
    }
    case '{':
        if (MH_UNLIKELY(depth == MH_JSON_MAX_DEPTH)) {
            ps.st = MH_ELIMIT;
            ps.why = E_DEPTH;
            ps.at = p;
            goto fail;
        }
        top = n;
        PUT_NODE(p - s, 0, MH_JOBJ, 0);
        stack[depth++] = top;
        p++;
        SKIP_WS();
        if (p < end && *p == '}') goto close;
        goto key;
    case '[':
        if (MH_UNLIKELY(depth == MH_JSON_MAX_DEPTH)) {
            ps.st = MH_ELIMIT;
            ps.why = E_DEPTH;
            ps.at = p;
            goto fail;
        }
        top = n;
        PUT_NODE(p - s, 0, MH_JARR, 0);
        stack[depth++] = top;
        p++;
        SKIP_WS();
        if (p < end && *p == ']') goto close;
        nodes[top].len++;
        goto value;
    case '-':
    case '0':
    case '1':
    case '2':
    case '3':
    case '4':
    case '5':
    case '6':
    case '7':
    case '8':
    case '9': {
        uint8_t fl = 0;
        const uint8_t *q = scan_number(p, end, &fl, &ps);
        if (!q) FAIL(ps.why, ps.at);
        PUT_NODE(p - s, q - p, MH_JNUM, fl);
        p = q;
        goto after;
    }
    case 't':
    case 'f':
    case 'n': {
        static const char *const lits[3] = {"true", "false", "null"};
        static const uint8_t types[3] = {MH_JTRUE, MH_JFALSE, MH_JNULL};
        int li = *p == 't' ? 0 : *p == 'f' ? 1 : 2;
        size_t ll = li == 1 ? 5 : 4;
        for (size_t i = 1; i < ll; i++) {
            if (p + i == end) FAIL(E_EOF, end);
            if (p[i] != (uint8_t)lits[li][i]) FAIL(E_LIT, p + i);
        }
        PUT_NODE(p - s, ll, types[li], 0);
        p += ll;
        goto after;
    }
    default:
        FAIL(E_CHAR, p);
    }

after:
    if (depth == 0) goto done;
    SKIP_WS();
    if (MH_UNLIKELY(p == end)) FAIL(E_EOF, p);
    top = stack[depth - 1];
    if (nodes[top].type == MH_JOBJ) {
        if (MH_LIKELY(*p == ',')) {
            p++;
            SKIP_WS();
            if (p < end && *p == '}') FAIL(E_COMMA, p);
            goto key;
        }
        if (*p == '}') goto close;
        FAIL(E_CHAR, p);
    }
    if (MH_LIKELY(*p == ',')) {
        p++;
        SKIP_WS();
        if (p < end && *p == ']') FAIL(E_COMMA, p);
        nodes[top].len++;
        goto value;
    }
    if (*p == ']') goto close;
    FAIL(E_CHAR, p);

close:
    /* p is at the closing bracket of `top` */
    nodes[top].next = n;
    depth--;
    p++;
    goto after;

key:
    /* p is at the (expected) opening quote of a member name, after ws */
    if (MH_UNLIKELY(p == end)) FAIL(E_EOF, p);
    if (MH_UNLIKELY(*p != '"')) FAIL(E_KEY, p);
    NEED_NODE();
    {
        const uint8_t *q = p + 1;
        int fl = scan_string(&q, end, &ps, simd);
        if (fl < 0) FAIL(ps.why, ps.at);
        nodes[top].len++;
        PUT_NODE(p + 1 - s, q - (p + 1), MH_JSTR, fl);
        p = q + 1;
    }
    SKIP_WS();
    if (MH_UNLIKELY(p == end)) FAIL(E_EOF, p);
    if (MH_UNLIKELY(*p != ':')) FAIL(E_COLON, p);
    p++;
    goto value;

done:
    SKIP_WS();
    if (p != end) FAIL(E_TRAIL, p);
    d->n = n;
    return MH_OK;

fail:
    d->n = 0;
    mh_error_set(err, ps.st, ps.why, NULL);
    mh_error_at(err, NULL, 0, 0, (uint64_t)(ps.at - s), 0);
    return ps.st;
}

static mh_status parse_scalar(struct mh_jdoc *d, const uint8_t *s, size_t len, mh_error *err)
{
    return parse_impl(d, s, len, err, false);
}

#ifdef MH_JSON_SSE2
static mh_status parse_simd(struct mh_jdoc *d, const uint8_t *s, size_t len, mh_error *err)
{
    return parse_impl(d, s, len, err, true);
}
#endif

mh_status mh_json_parse(struct mh_jdoc *d, const char *src, size_t len, mh_error *err)
{
    d->n = 0;
    d->src = src;
    d->srclen = len;
    if (len > UINT32_MAX) {
        mh_error_set(err, MH_ELIMIT, E_SIZE, "%zu bytes (limit 4 GiB - 1)", len);
        mh_error_at(err, NULL, 0, 0, 0, 0);
        return MH_ELIMIT;
    }
    if (!src) {
        if (len) return mh_error_set(err, MH_EINVAL, "NULL input", NULL);
        src = "";
        d->src = src;
    }
    if (d->arena) {
        /* arena mode: a fresh node array per parse, sized from the input (UAL
         * records average ~17 bytes per node), so a document never points
         * into memory the arena's owner may have reset since the last parse */
        d->nodes = NULL;
        d->cap = 0;
        uint32_t limit = node_limit(d);
        uint64_t hint = (uint64_t)len / 12 + 8;
        if (hint > JSON_ARENA_HINT_MAX) hint = JSON_ARENA_HINT_MAX;
        const char *why = NULL;
        mh_status st = grow_nodes(d, (uint32_t)(hint < limit ? hint : limit), limit, &why);
        if (st) {
            mh_error_set(err, st, why, NULL);
            mh_error_at(err, NULL, 0, 0, 0, 0);
            return st;
        }
    }
#ifdef MH_JSON_SSE2
    if (!(d->opts & MH_JDOC_SCALAR)) return parse_simd(d, (const uint8_t *)src, len, err);
#endif
    return parse_scalar(d, (const uint8_t *)src, len, err);
}

/* ---- unescaping ---- */

/*
 * Decode one unit of a string body at s[*i] (n bytes in all) into b[0..4).
 * Returns the number of bytes written, or -1 on a bad escape.
 */
static inline int decode_unit(const char *s, size_t n, size_t *i, char b[4])
{
    size_t k = *i;
    if (s[k] != '\\') {
        b[0] = s[k];
        *i = k + 1;
        return 1;
    }
    if (k + 1 >= n) return -1;
    char c = s[k + 1];
    switch (c) {
    case '"':
    case '\\':
    case '/':
        b[0] = c;
        *i = k + 2;
        return 1;
    case 'b':
        b[0] = '\b';
        *i = k + 2;
        return 1;
    case 'f':
        b[0] = '\f';
        *i = k + 2;
        return 1;
    case 'n':
        b[0] = '\n';
        *i = k + 2;
        return 1;
    case 'r':
        b[0] = '\r';
        *i = k + 2;
        return 1;
    case 't':
        b[0] = '\t';
        *i = k + 2;
        return 1;
    case 'u':
        break;
    default:
        return -1;
    }
    if (n - k < 6) return -1;
    int32_t u = hex4((const uint8_t *)s + k + 2);
    if (u < 0) return -1;
    uint32_t cp = (uint32_t)u;
    size_t used = 6;
    if (cp >= 0xDC00 && cp <= 0xDFFF) return -1;
    if (cp >= 0xD800 && cp <= 0xDBFF) {
        if (n - k < 12 || s[k + 6] != '\\' || s[k + 7] != 'u') return -1;
        int32_t v = hex4((const uint8_t *)s + k + 8);
        if (v < 0xDC00 || v > 0xDFFF) return -1;
        cp = 0x10000 + ((cp - 0xD800) << 10) + ((uint32_t)v - 0xDC00);
        used = 12;
    }
    *i = k + used;
    if (cp < 0x80) {
        b[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        b[0] = (char)(0xC0 | (cp >> 6));
        b[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        b[0] = (char)(0xE0 | (cp >> 12));
        b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        b[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    b[0] = (char)(0xF0 | (cp >> 18));
    b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    b[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

mh_status mh_json_unescape(const char *s, size_t n, char *out, size_t *outlen)
{
    size_t i = 0, o = 0;
    while (i < n) {
        const char *bsl = memchr(s + i, '\\', n - i);
        size_t run = bsl ? (size_t)(bsl - (s + i)) : n - i;
        if (run) {
            memmove(out + o, s + i, run);
            o += run;
            i += run;
        }
        if (!bsl) break;
        char b[4];
        int k = decode_unit(s, n, &i, b);
        if (k < 0) return MH_EPARSE;
        memcpy(out + o, b, (size_t)k);
        o += (size_t)k;
    }
    *outlen = o;
    return MH_OK;
}

/* ---- accessors ---- */

static inline bool is_valid(const struct mh_jdoc *d, uint32_t i)
{
    return d && i < d->n;
}

mh_status mh_json_str(const struct mh_jdoc *d, uint32_t i, struct mh_arena *arena,
                      struct mh_slice *out)
{
    if (!is_valid(d, i) || d->nodes[i].type != MH_JSTR) return MH_EINVAL;
    const struct mh_jnode *nd = &d->nodes[i];
    const char *p = d->src + nd->off;
    if (!(nd->flags & MH_JF_ESCAPED)) {
        *out = mh_slice_make(p, nd->len);
        return MH_OK;
    }
    if (!arena) return MH_EINVAL;
    char *buf = mh_arena_alloc(arena, nd->len ? nd->len : 1);
    if (!buf) return arena_full(arena, nd->len ? nd->len : 1) ? MH_ELIMIT : MH_ENOMEM;
    size_t olen = 0;
    mh_status st = mh_json_unescape(p, nd->len, buf, &olen);
    if (st) return st; /* cannot happen on a parsed tape */
    *out = mh_slice_make(buf, olen);
    return MH_OK;
}

/* Compare decoded string node with s[0..n); nocase folds ASCII letters. */
static bool str_eq_impl(const struct mh_jdoc *d, uint32_t i, const char *s, size_t n, bool nocase)
{
    const struct mh_jnode *nd = &d->nodes[i];
    const char *p = d->src + nd->off;
    if (!(nd->flags & MH_JF_ESCAPED)) {
        if (nd->len != n) return false;
        if (!nocase) return n == 0 || memcmp(p, s, n) == 0;
        return mh_slice_eq_nocase(mh_slice_make(p, n), mh_slice_make(s, n));
    }
    /* decoded length <= raw length */
    if (n > nd->len) return false;
    size_t k = 0, j = 0;
    while (k < nd->len) {
        char b[4];
        int m = decode_unit(p, nd->len, &k, b);
        if (m < 0 || j + (size_t)m > n) return false;
        for (int t = 0; t < m; t++) {
            unsigned char x = (unsigned char)b[t], y = (unsigned char)s[j + (size_t)t];
            if (nocase) {
                x = mh_ascii_lower(x);
                y = mh_ascii_lower(y);
            }
            if (x != y) return false;
        }
        j += (size_t)m;
    }
    return j == n;
}

bool mh_json_str_eq(const struct mh_jdoc *d, uint32_t i, const char *s, size_t n)
{
    if (!is_valid(d, i) || d->nodes[i].type != MH_JSTR) return false;
    return str_eq_impl(d, i, s, n, false);
}

static uint32_t get_impl(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t klen,
                         bool nocase)
{
    if (!is_valid(d, obj) || d->nodes[obj].type != MH_JOBJ) return MH_JNONE;
    const struct mh_jnode *nodes = d->nodes;
    uint32_t members = nodes[obj].len;
    uint32_t key = obj + 1;
    for (uint32_t m = 0; m < members; m++) {
        const struct mh_jnode *kn = &nodes[key];
        if (kn->len == klen && !(kn->flags & MH_JF_ESCAPED)) {
            const char *p = d->src + kn->off;
            bool eq = nocase ? mh_slice_eq_nocase(mh_slice_make(p, klen), mh_slice_make(k, klen))
                             : (klen == 0 || memcmp(p, k, klen) == 0);
            if (eq) return key + 1;
        } else if ((kn->flags & MH_JF_ESCAPED) && kn->len >= klen &&
                   str_eq_impl(d, key, k, klen, nocase)) {
            return key + 1;
        }
        key = nodes[key + 1].next;
    }
    return MH_JNONE;
}

uint32_t mh_json_get(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t klen)
{
    return get_impl(d, obj, k, klen, false);
}

uint32_t mh_json_get_nocase(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t klen)
{
    return get_impl(d, obj, k, klen, true);
}

/* Offset one past the end of node i's source text. */
static size_t value_end(const struct mh_jdoc *d, uint32_t i)
{
    const struct mh_jnode *nodes = d->nodes;
    const char *s = d->src, *end = d->src + d->srclen;
    const struct mh_jnode *nd = &nodes[i];
    if (nd->type == MH_JSTR) return (size_t)nd->off + nd->len + 1;
    if (nd->type != MH_JARR && nd->type != MH_JOBJ) return (size_t)nd->off + nd->len;
    uint32_t tail = nd->next - 1;
    const char *p;
    unsigned need;
    if (tail == i) { /* empty container: its own bracket closes it */
        p = s + nd->off + 1;
        need = 1;
    } else {
        p = s + value_end(d, tail); /* tail is a leaf or an empty container */
        need = (unsigned)(nodes[tail].reserved - nd->reserved);
    }
    while (need && p < end) {
        if (*p == ']' || *p == '}') need--;
        p++;
    }
    return (size_t)(p - s);
}

struct mh_slice mh_json_raw(const struct mh_jdoc *d, uint32_t i)
{
    if (!is_valid(d, i)) return MH_SLICE_NULL;
    const struct mh_jnode *nd = &d->nodes[i];
    if (nd->type == MH_JSTR) return mh_slice_make(d->src + nd->off, nd->len);
    return mh_slice_make(d->src + nd->off, value_end(d, i) - nd->off);
}

/* ---- numbers ---- */

/*
 * Exact integer value of JSON number text p[0..n): the value is
 * digits * 10^exp; it is an integer iff, after dropping trailing zeros of the
 * digits, exp >= 0. Returns MH_EINVAL when not integral, MH_ELIMIT when out of
 * int64 range.
 */
static mh_status number_to_int(const char *p, size_t n, int64_t *out)
{
    const char *e = p + n;
    bool neg = p < e && *p == '-';
    if (neg) p++;
    const char *dig = p, *dend; /* integer and fraction digits, '.' skipped below */
    size_t fraclen = 0;
    while (p < e && *p >= '0' && *p <= '9') p++;
    dend = p;
    const char *frac = NULL;
    if (p < e && *p == '.') {
        frac = ++p;
        while (p < e && *p >= '0' && *p <= '9') p++;
        fraclen = (size_t)(p - frac);
    }
    int64_t exp10 = 0;
    if (p < e && (*p == 'e' || *p == 'E')) {
        p++;
        bool eneg = false;
        if (p < e && (*p == '+' || *p == '-')) eneg = *p++ == '-';
        for (; p < e; p++) {
            if (exp10 < INT64_C(1) << 40) exp10 = exp10 * 10 + (*p - '0');
        }
        if (eneg) exp10 = -exp10;
    }
    /* the significant digits: integer part then fraction, leading zeros skipped,
     * trailing zeros moved into the exponent */
    char digits[32];
    size_t nd = 0, total = (size_t)(dend - dig) + fraclen;
    int64_t scale = exp10 - (int64_t)fraclen; /* value = all_digits * 10^scale */
    /* trailing zeros */
    size_t tz = 0;
    for (size_t k = total; k > 0; k--) {
        size_t idx = k - 1;
        char c = idx < (size_t)(dend - dig) ? dig[idx] : frac[idx - (size_t)(dend - dig)];
        if (c != '0') break;
        tz++;
    }
    if (tz == total) {
        *out = 0;
        return MH_OK;
    }
    scale += (int64_t)tz;
    if (scale < 0) return MH_EINVAL;
    for (size_t k = 0; k < total - tz; k++) {
        char c = k < (size_t)(dend - dig) ? dig[k] : frac[k - (size_t)(dend - dig)];
        if (nd == 0 && c == '0') continue;
        if (nd >= 20) return MH_ELIMIT;
        digits[nd++] = c;
    }
    if ((int64_t)nd + scale > 19) return MH_ELIMIT;
    uint64_t acc = 0;
    const uint64_t maxmag = neg ? (uint64_t)INT64_MAX + 1 : (uint64_t)INT64_MAX;
    for (size_t k = 0; k < nd + (size_t)scale; k++) {
        unsigned dgt = k < nd ? (unsigned)(digits[k] - '0') : 0;
        if (acc > (maxmag - dgt) / 10) return MH_ELIMIT;
        acc = acc * 10 + dgt;
    }
    *out = neg ? (int64_t)(0 - acc) : (int64_t)acc;
    return MH_OK;
}

mh_status mh_json_int(const struct mh_jdoc *d, uint32_t i, int64_t *out)
{
    if (!is_valid(d, i) || d->nodes[i].type != MH_JNUM) return MH_EINVAL;
    const struct mh_jnode *nd = &d->nodes[i];
    return number_to_int(d->src + nd->off, nd->len, out);
}

mh_status mh_json_double(const struct mh_jdoc *d, uint32_t i, double *out)
{
    if (!is_valid(d, i) || d->nodes[i].type != MH_JNUM) return MH_EINVAL;
    const struct mh_jnode *nd = &d->nodes[i];
    char small[128];
    char *buf = small;
    if (nd->len >= sizeof small) {
        buf = mh_malloc((size_t)nd->len + 1);
        if (!buf) return MH_ENOMEM;
    }
    memcpy(buf, d->src + nd->off, nd->len);
    buf[nd->len] = '\0';
    /* JSON numbers use '.', which strtod reads in the C locale (the library
     * never calls setlocale). */
    double v = strtod(buf, NULL);
    if (buf != small) mh_free(buf);
    if (isinf(v)) return MH_ELIMIT;
    *out = v;
    return MH_OK;
}
