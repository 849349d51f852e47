/*
 * match/match.c -- prefilter, routing and exact evaluation of Sigma rules
 *
 * Pipeline: ruleset -> [match] -> correlate. See match.h for the contract.
 *
 * Data model per thread (mh_matcher): the regex and Hyperscan scratches, a
 * candidate flag per rule (cleared through a `touched` list, so a record
 * costs O(candidates) not O(rules)), a detection-result cache per rule
 * evaluation, and a per-route cache of the route's shape test.
 *
 * Evaluation is a direct walk of the compiled trees: condition ->
 * identifiers (cached per rule evaluation) -> AND/OR nodes -> items ->
 * values. A field's values are visited through mh_event_get for each of its
 * paths; the first value that satisfies the comparison stops the walk.
 *
 * Semantics (docs/sigma.md §5, §9):
 *  - item = OR over values (AND with |all), each "some value of the field
 *    matches"; |neq negates the item;
 *  - a string pattern matches string text, number text, `true`/`false`,
 *    and the raw JSON text of an object; arrays are flattened (any-element);
 *  - a number matches numerically (decimal text, no exponent) or textually;
 *  - null: no non-null value at any path; exists: some path resolves;
 *  - keyword: the raw record text, else any leaf value.
 *
 * Allocation: none per record, event or candidate rule (the match stage's
 * rule; test: tests/unit/test_sigma_noalloc.c). What the walk needs is sized
 * when the matcher is created: candidate flags and the touched list per rule,
 * the detection cache for the largest rule, the route cache, the Hyperscan
 * scratch and the regex scratch (a match never asks for groups, so it never
 * grows). Values are slices into the record, the ruleset (mapped values) or
 * the normalizer's per-batch arena (nested tapes, unescaped strings, entity
 * text; its block is kept across resets); fieldref values sit in a fixed
 * array on the stack. Alerts (alert.c) borrow the same slices and render
 * straight into the caller's buffer. Whatever a new feature needs here is
 * taken at matcher creation or computed at compile time.
 */
#include "match/match.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/time.h"
#include "mailhound/limits.h"
#include "rules/pattern.h"

#define FIELDREF_MAX 16

struct mh_matcher {
    const mh_ruleset *rs;
    bool ref;
    struct mh_regex_scratch *rx;
    struct mh_mm_scratch *mm;
    uint8_t *cand;
    uint32_t *touched;
    size_t ntouched;
    bool all;
    const char *raw; /* the record being scanned (the escape check reads it) */
    uint64_t rawn;
    uint8_t *dcache; /* per identifier: 0 unknown, 1 false, 2 true */
    uint32_t dcap;
    int8_t *when; /* per route, per event: 0 unknown, 1 yes, 2 no */
    struct mh_match_stats st;
};

mh_status mh_matcher_new(const mh_ruleset *rs, bool reference, mh_matcher **out)
{
    mh_status st = MH_OK;
    mh_matcher *m = mh_calloc(1, sizeof *m);
    if (!m) return MH_ENOMEM;
    m->rs = rs;
    m->ref = reference;
    uint32_t maxd = 1;
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i]->ndets > maxd) maxd = rs->rules[i]->ndets;
    m->dcap = maxd;
    m->dcache = mh_calloc(maxd, 1);
    m->cand = mh_calloc(rs->nrules ? rs->nrules : 1, 1);
    m->touched = mh_calloc(rs->nrules ? rs->nrules : 1, sizeof *m->touched);
    m->when = mh_calloc(rs->nroutes ? rs->nroutes : 1, 1);
    if (!m->dcache || !m->cand || !m->touched || !m->when) MH_CHECK(MH_ENOMEM);
    MH_CHECK(mh_regex_scratch_new(&m->rx));
    if (rs->pf_db) MH_CHECK(mh_mm_scratch_alloc(rs->pf_db, &m->mm));
    *out = m;
    m = NULL;
out:
    mh_matcher_free(m);
    return st;
}

void mh_matcher_free(mh_matcher *m)
{
    if (!m) return;
    mh_mm_scratch_free(m->mm);
    mh_regex_scratch_free(m->rx);
    mh_free(m->when);
    mh_free(m->touched);
    mh_free(m->cand);
    mh_free(m->dcache);
    mh_free(m);
}

const struct mh_match_stats *mh_matcher_stats(const mh_matcher *m)
{
    return &m->st;
}

/* ---- prefilter ---- */

static int on_lit(void *ctx, unsigned id, uint64_t from, uint64_t to)
{
    (void)from;
    mh_matcher *m = ctx;
    const mh_ruleset *rs = m->rs;
    if (id >= rs->pf_unsafe_id) {
        /* "\u00XX": when XX is a character a literal may hold, the escape could
           hide it from the literals: everything is a candidate */
        if (to + 2 > m->rawn) return 0;
        int hi = mh_hex_value((unsigned char)m->raw[to]), lo = mh_hex_value((unsigned char)m->raw[to + 1]);
        if (hi < 0 || lo < 0 || !mh_byte_is_safe((unsigned char)(hi << 4 | lo))) return 0;
        m->all = true;
        return 1;
    }
    const struct mh_pf_lit *l = &rs->lits[id];
    for (uint32_t i = 0; i < l->nrules; i++) {
        uint32_t r = l->rules[i];
        if (!m->cand[r]) {
            m->cand[r] = 1;
            m->touched[m->ntouched++] = r;
        }
    }
    return 0;
}

mh_status mh_match_prefilter(mh_matcher *m, const char *raw, size_t n, bool *any)
{
    for (size_t i = 0; i < m->ntouched; i++) m->cand[m->touched[i]] = 0;
    m->ntouched = 0;
    m->all = m->ref;
    m->st.records++;
    if (!m->ref && m->rs->pf_db) {
        m->raw = raw;
        m->rawn = n;
        mh_status st = mh_mm_scan(m->rs->pf_db, m->mm, raw, n, on_lit, m);
        if (st == MH_ELIMIT) m->all = true; /* a record over 4 GiB cannot exist (64 MiB cap) */
        else if (st) return st;
    }
    *any = m->all || m->ntouched > 0 || m->rs->nalways > 0;
    if (!*any) m->st.skipped++;
    return MH_OK;
}

/* ---- value tests ---- */

bool mh_num_parse(const char *s, size_t n, bool allow_exp, double *out)
{
    size_t i = 0;
    if (n == 0 || n > 64) return false;
    if (s[0] == '-' || s[0] == '+') i++;
    size_t d0 = i;
    while (i < n && s[i] >= '0' && s[i] <= '9') i++;
    if (i == d0) return false;
    if (i < n && s[i] == '.') {
        i++;
        size_t f0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == f0) return false;
    }
    if (i < n && allow_exp && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i < n && (s[i] == '-' || s[i] == '+')) i++;
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e0) return false;
    }
    if (i != n) return false;
    char buf[72];
    memcpy(buf, s, n);
    buf[n] = 0;
    *out = strtod(buf, NULL);
    return true;
}

/* Event IP text -> 16 bytes (v4 in the first 4) as the entity layer does:
 * [v6]:port, v4:port, ::ffff:v4 mapped to v4. */
static bool event_ip(const char *s, size_t n, uint8_t out[16], bool *v6)
{
    while (n && (s[0] == ' ')) s++, n--;
    while (n && (s[n - 1] == ' ')) n--;
    if (n && s[0] == '[') {
        const char *e = memchr(s, ']', n);
        if (!e) return false;
        s++;
        n = (size_t)(e - s);
    } else {
        const char *c = memchr(s, ':', n);
        if (c && !memchr(c + 1, ':', n - (size_t)(c - s) - 1)) n = (size_t)(c - s); /* v4:port */
    }
    memset(out, 0, 16);
    if (mh_parse_ipv4(s, n, out)) {
        *v6 = false;
        return true;
    }
    if (!mh_parse_ipv6(s, n, out)) return false;
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (memcmp(out, mapped, 12) == 0) {
        memmove(out, out + 12, 4);
        memset(out + 4, 0, 12);
        *v6 = false;
        return true;
    }
    *v6 = true;
    return true;
}

static bool cidr_test(const struct mh_vmatch *v, const char *s, size_t n)
{
    uint8_t a[16];
    bool v6;
    if (!event_ip(s, n, a, &v6) || v6 != v->cidr_v6) return false;
    unsigned bits = v->cidr_bits;
    for (unsigned b = 0; b < bits / 8; b++)
        if (a[b] != v->cidr_addr[b]) return false;
    if (bits % 8) {
        uint8_t mask = (uint8_t)(0xff << (8 - bits % 8));
        if ((a[bits / 8] & mask) != v->cidr_addr[bits / 8]) return false;
    }
    return true;
}

static bool cmp_test(uint8_t op, double a, double b)
{
    switch (op) {
    case MH_CMP_GT: return a > b;
    case MH_CMP_GTE: return a >= b;
    case MH_CMP_LT: return a < b;
    case MH_CMP_LTE: return a <= b;
    case MH_CMP_EQ: return a == b;
    default: return a != b;
    }
}

/* ISO 8601 week number (1..53) of a civil date. */
static int iso_week(int y, int mo, int d)
{
    int64_t days = mh_days_from_civil(y, mo, d);
    int wd = (int)(((days % 7) + 7 + 3) % 7); /* 0 = Monday (1970-01-01 was a Thursday) */
    int64_t thursday = days - wd + 3;
    struct mh_civil c;
    mh_time_to_civil(thursday * 86400 * MH_USEC_PER_SEC, &c);
    int64_t jan1 = mh_days_from_civil(c.year, 1, 1);
    return (int)((thursday - jan1) / 7 + 1);
}

static bool time_test(const struct mh_vmatch *v, const char *s, size_t n)
{
    mh_time t;
    if (mh_time_parse(s, n, &t) != MH_OK || t == MH_TIME_NONE) return false;
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    int part;
    switch (v->op) {
    case MH_TP_MINUTE: part = c.min; break;
    case MH_TP_HOUR: part = c.hour; break;
    case MH_TP_DAY: part = c.day; break;
    case MH_TP_WEEK: part = iso_week(c.year, c.month, c.day); break;
    case MH_TP_MONTH: part = c.month; break;
    default: part = c.year; break;
    }
    return (double)part == v->num;
}

static mh_status pat_test(mh_matcher *m, const struct mh_pattern *p, const char *s, size_t n,
                          bool *ok)
{
    mh_status st = m->ref ? mh_pattern_match_ref(p, m->rx, s, n, ok)
                          : mh_pattern_match(p, m->rx, s, n, ok);
    if (st == MH_ELIMIT) {
        m->st.regex_limits++;
        *ok = false;
        return MH_OK;
    }
    return st;
}

/* Test one scalar (or object) value against a value matcher. */
static mh_status value_test(mh_matcher *m, const struct mh_vmatch *v, enum mh_jtype type,
                            const char *s, size_t n, bool *ok)
{
    *ok = false;
    if (type == MH_JNULL) return MH_OK;
    double d;
    switch (v->kind) {
    case MH_VK_STR:
        return pat_test(m, &v->pat, s, n, ok);
    case MH_VK_NUM:
        if ((type == MH_JNUM || type == MH_JSTR) && mh_num_parse(s, n, false, &d)) {
            *ok = d == v->num;
            if (*ok) return MH_OK;
        }
        return pat_test(m, &v->pat, s, n, ok);
    case MH_VK_BOOL:
        if (type == MH_JTRUE || type == MH_JFALSE) *ok = (type == MH_JTRUE) == v->bval;
        else if (type == MH_JSTR)
            *ok = v->bval ? (n == 4 && mh_ascii_eq_fold(s, "true", 4))
                          : (n == 5 && mh_ascii_eq_fold(s, "false", 5));
        return MH_OK;
    case MH_VK_RE: {
        mh_status st = mh_regex_exec(v->re, m->rx, s, n, 0, NULL, 0, ok);
        if (st == MH_ELIMIT) {
            m->st.regex_limits++;
            *ok = false;
            return MH_OK;
        }
        return st;
    }
    case MH_VK_CIDR:
        *ok = type == MH_JSTR && cidr_test(v, s, n);
        return MH_OK;
    case MH_VK_CMP:
        *ok = (type == MH_JNUM || type == MH_JSTR) && mh_num_parse(s, n, true, &d) &&
              cmp_test(v->op, d, v->num);
        return MH_OK;
    case MH_VK_TIME:
        *ok = type == MH_JSTR && time_test(v, s, n);
        return MH_OK;
    default:
        return MH_OK;
    }
}

/* Apply a path's transforms; may change the type (value maps give strings). */
static void transform(const struct mh_fpath *p, enum mh_jtype *type, const char **s, size_t *n)
{
    if (!p) return;
    if (*type == MH_JSTR) {
        if (p->xform & MH_FX_TRIM) {
            while (*n && ((*s)[0] == ' ' || (*s)[0] == '\t' || (*s)[0] == '\r' || (*s)[0] == '\n'))
                (*s)++, (*n)--;
            while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' || (*s)[*n - 1] == '\r' ||
                          (*s)[*n - 1] == '\n'))
                (*n)--;
        }
        if ((p->xform & MH_FX_STRIP_DOT) && *n && (*s)[*n - 1] == '.') (*n)--;
        if ((p->xform & MH_FX_UNQUOTE) && *n >= 2 && (*s)[0] == '"' && (*s)[*n - 1] == '"')
            (*s)++, *n -= 2;
    }
    if (p->nvmap && *type != MH_JNULL && *type != MH_JOBJ) {
        const char *dflt = NULL;
        for (uint32_t i = 0; i < p->nvmap; i++) {
            const char *f = p->vmap[i].from;
            size_t fl = strlen(f);
            if (fl == 1 && f[0] == '*') {
                dflt = p->vmap[i].to;
                continue;
            }
            if (mh_slice_eq_nocase(mh_slice_make(*s, *n), mh_slice_make(f, fl))) {
                *s = p->vmap[i].to;
                *n = strlen(*s);
                *type = MH_JSTR;
                return;
            }
        }
        if (dflt) {
            *s = dflt;
            *n = strlen(dflt);
            *type = MH_JSTR;
        }
    }
}

/* ---- fields ---- */

struct vctx {
    mh_matcher *m;
    const struct mh_vmatch *v;
    const struct mh_fpath *p;
    bool matched;
    bool nonnull; /* MH_VK_NULL: a non-null value was seen */
    mh_status st;
    /* fieldref: the referenced field's values */
    struct mh_slice refs[FIELDREF_MAX];
    size_t nrefs;
    bool collecting;
};

static bool fieldref_test(const struct vctx *c, const char *s, size_t n)
{
    const struct mh_vmatch *v = c->v;
    for (size_t i = 0; i < c->nrefs; i++) {
        const char *r = c->refs[i].ptr;
        size_t rl = c->refs[i].len;
        struct mh_slice hay = mh_slice_make(s, n);
        bool ok;
        switch (v->op) {
        case MH_PS_PREFIX:
            ok = n >= rl && (v->cased ? memcmp(s, r, rl) == 0
                                      : mh_slice_eq_nocase(mh_slice_make(s, rl), mh_slice_make(r, rl)));
            break;
        case MH_PS_SUFFIX:
            ok = n >= rl && (v->cased ? memcmp(s + n - rl, r, rl) == 0
                                      : mh_slice_eq_nocase(mh_slice_make(s + n - rl, rl), mh_slice_make(r, rl)));
            break;
        case MH_PS_CONTAINS:
            if (v->cased) {
                ok = rl == 0 || (n >= rl && memmem(s, n, r, rl) != NULL);
            } else {
                ok = false;
                for (size_t k = 0; k + rl <= n && !ok; k++)
                    ok = mh_slice_eq_nocase(mh_slice_make(s + k, rl), mh_slice_make(r, rl));
            }
            break;
        default:
            ok = v->cased ? mh_slice_eq(hay, c->refs[i]) : mh_slice_eq_nocase(hay, c->refs[i]);
            break;
        }
        if (ok) return true;
    }
    return false;
}

/* The text and type a rule sees of val, after path p's transforms. */
static enum mh_jtype value_view(const struct mh_fpath *p, const struct mh_value *val,
                                const char **s, size_t *n)
{
    enum mh_jtype type = val->type;
    *s = val->text.ptr ? val->text.ptr : "";
    *n = val->text.len;
    transform(p, &type, s, n);
    return type;
}

static bool on_value(void *ctx, const struct mh_value *val)
{
    struct vctx *c = ctx;
    const char *s;
    size_t n;
    enum mh_jtype type = value_view(c->p, val, &s, &n);
    if (c->collecting) {
        if (type != MH_JNULL && type != MH_JOBJ && c->nrefs < FIELDREF_MAX)
            c->refs[c->nrefs++] = mh_slice_make(s, n);
        return c->nrefs == FIELDREF_MAX;
    }
    if (c->v->kind == MH_VK_NULL) {
        if (type != MH_JNULL) {
            c->nonnull = true;
            return true;
        }
        return false;
    }
    if (c->v->kind == MH_VK_FIELDREF) {
        if (type == MH_JNULL || type == MH_JOBJ) return false;
        c->matched = fieldref_test(c, s, n);
        return c->matched;
    }
    bool ok = false;
    mh_status st = value_test(c->m, c->v, type, s, n, &ok);
    if (st) {
        c->st = st;
        return true;
    }
    c->matched = ok;
    return ok;
}

/* Visit every path of field f with ctx c; stop at the first hit. */
static mh_status visit_field(struct mh_event *ev, const struct mh_field *f, struct vctx *c,
                             bool *found)
{
    bool any = false;
    for (uint32_t i = 0; i < f->npaths; i++) {
        bool fd = false;
        c->p = &f->paths[i];
        mh_status st = mh_event_get(ev, f->paths[i].path, f->paths[i].len, on_value, c, &fd);
        if (st) return st;
        if (c->st) return c->st;
        any |= fd;
        if (c->matched || c->nonnull) break;
        if (c->collecting && c->nrefs == FIELDREF_MAX) break;
    }
    if (found) *found = any;
    return MH_OK;
}

static mh_status field_match(mh_matcher *m, struct mh_event *ev, const struct mh_field *f,
                             const struct mh_vmatch *v, bool *ok)
{
    struct vctx c;
    memset(&c, 0, sizeof c);
    c.m = m;
    c.v = v;
    bool found = false;
    if (v->kind == MH_VK_EXISTS) {
        MH_TRY(visit_field(ev, f, &c, &found));
        *ok = found == v->bval;
        return MH_OK;
    }
    if (v->kind == MH_VK_FIELDREF) {
        const struct mh_field *rf = mh_ruleset_field(m->rs, v->field);
        if (!rf) {
            *ok = false;
            return MH_OK;
        }
        c.collecting = true;
        MH_TRY(visit_field(ev, rf, &c, NULL));
        c.collecting = false;
        if (c.nrefs == 0) {
            *ok = false; /* decision: a reference to a missing field matches nothing */
            return MH_OK;
        }
    }
    MH_TRY(visit_field(ev, f, &c, &found));
    if (v->kind == MH_VK_NULL) *ok = !c.nonnull;
    else *ok = c.matched;
    return MH_OK;
}

/* ---- keywords ---- */

struct kctx {
    mh_matcher *m;
    const struct mh_vmatch *v;
    bool matched;
    mh_status st;
};

static bool on_leaf(void *ctx, struct mh_slice path, const struct mh_value *val)
{
    (void)path;
    struct kctx *k = ctx;
    if (val->type == MH_JNULL) return false;
    bool ok = false;
    mh_status st = k->v->kind == MH_VK_RE
                       ? value_test(k->m, k->v, val->type, val->text.ptr, val->text.len, &ok)
                       : pat_test(k->m, &k->v->pat, val->text.ptr, val->text.len, &ok);
    if (st) {
        k->st = st;
        return true;
    }
    k->matched = ok;
    return ok;
}

static mh_status keyword_match(mh_matcher *m, struct mh_event *ev, const struct mh_vmatch *v,
                               bool *ok)
{
    *ok = false;
    const char *raw = ev->rec ? ev->rec->json : "";
    size_t rn = ev->rec ? ev->rec->json_len : 0;
    if (v->kind == MH_VK_RE) {
        MH_TRY(value_test(m, v, MH_JSTR, raw, rn, ok));
    } else if (v->kind == MH_VK_STR || v->kind == MH_VK_NUM) {
        MH_TRY(pat_test(m, &v->pat, raw, rn, ok));
    } else {
        return MH_OK; /* other value kinds have no keyword meaning */
    }
    if (*ok) return MH_OK;
    struct kctx k = {m, v, false, MH_OK};
    mh_status st = mh_event_leaves(ev, on_leaf, &k);
    if (st == MH_ELIMIT) m->st.leaf_limits++;
    else if (st) return st;
    if (k.st) return k.st;
    *ok = k.matched;
    return MH_OK;
}

/* ---- items, identifiers, conditions ---- */

static mh_status item_match(mh_matcher *m, struct mh_event *ev, const struct mh_item *it, bool *ok)
{
    const struct mh_field *f = it->keyword ? NULL : mh_ruleset_field(m->rs, it->field);
    bool acc = it->all;
    for (uint32_t i = 0; i < it->nvals; i++) {
        bool one = false;
        if (it->keyword) MH_TRY(keyword_match(m, ev, &it->vals[i], &one));
        else if (f) MH_TRY(field_match(m, ev, f, &it->vals[i], &one));
        if (it->all && !one) {
            acc = false;
            break;
        }
        if (!it->all && one) {
            acc = true;
            break;
        }
    }
    *ok = it->negated ? !acc : acc;
    return MH_OK;
}

static mh_status dnode_match(mh_matcher *m, struct mh_event *ev, const struct mh_dnode *d, bool *ok)
{
    if (d->kind == MH_DN_ITEM) return item_match(m, ev, d->item, ok);
    bool and = d->kind == MH_DN_AND;
    for (uint32_t i = 0; i < d->n; i++) {
        bool k = false;
        MH_TRY(dnode_match(m, ev, d->kids[i], &k));
        if (and && !k) {
            *ok = false;
            return MH_OK;
        }
        if (!and && k) {
            *ok = true;
            return MH_OK;
        }
    }
    *ok = and;
    return MH_OK;
}

static mh_status cond_match(mh_matcher *m, struct mh_event *ev, const struct mh_rule *r,
                            const struct mh_cnode *c, bool *ok)
{
    switch (c->kind) {
    case MH_CN_ID: {
        uint8_t cached = m->dcache[c->det];
        if (cached) {
            *ok = cached == 2;
            return MH_OK;
        }
        MH_TRY(dnode_match(m, ev, r->dets[c->det].root, ok));
        m->dcache[c->det] = *ok ? 2 : 1;
        return MH_OK;
    }
    case MH_CN_NOT:
        MH_TRY(cond_match(m, ev, r, c->kids[0], ok));
        *ok = !*ok;
        return MH_OK;
    case MH_CN_TRUE:
        *ok = true;
        return MH_OK;
    case MH_CN_FALSE:
        *ok = false;
        return MH_OK;
    default:
        break;
    }
    bool and = c->kind == MH_CN_AND;
    for (uint32_t i = 0; i < c->n; i++) {
        bool k = false;
        MH_TRY(cond_match(m, ev, r, c->kids[i], &k));
        if (and && !k) {
            *ok = false;
            return MH_OK;
        }
        if (!and && k) {
            *ok = true;
            return MH_OK;
        }
    }
    *ok = and;
    return MH_OK;
}

mh_status mh_match_rule(mh_matcher *m, const struct mh_rule *r, struct mh_event *ev, bool *matched)
{
    *matched = false;
    if (r->kind != MH_RK_DETECTION || !r->cond || r->ndets > m->dcap) return MH_OK;
    memset(m->dcache, 0, r->ndets);
    m->st.rule_evals++;
    MH_TRY(cond_match(m, ev, r, r->cond, matched));
    if (*matched) m->st.matches++;
    return MH_OK;
}

static mh_status route_ok(mh_matcher *m, struct mh_event *ev, uint32_t route, bool *ok)
{
    const struct mh_route *rt = &m->rs->routes[route];
    if (rt->nwhen == 0) {
        *ok = true;
        return MH_OK;
    }
    if (m->when[route]) {
        *ok = m->when[route] == 1;
        return MH_OK;
    }
    *ok = false;
    for (uint32_t i = 0; i < rt->nwhen && !*ok; i++) {
        bool found = false;
        MH_TRY(mh_event_get(ev, rt->when[i], strlen(rt->when[i]), NULL, NULL, &found));
        *ok = found;
    }
    m->when[route] = *ok ? 1 : 2;
    return MH_OK;
}

mh_status mh_match_event(mh_matcher *m, struct mh_event *ev, mh_match_fn fn, void *ctx)
{
    const mh_ruleset *rs = m->rs;
    unsigned kind = (unsigned)ev->kind < 32 ? (unsigned)ev->kind : 0;
    const uint32_t *rules = rs->by_kind[kind];
    size_t n = rs->nby_kind[kind];
    m->st.events++;
    memset(m->when, 0, rs->nroutes ? rs->nroutes : 1);
    for (size_t i = 0; i < n; i++) {
        const struct mh_rule *r = rs->rules[rules[i]];
        if (!m->all && !m->cand[r->index] && !r->always) continue;
        bool ok = false;
        MH_TRY(route_ok(m, ev, r->route, &ok));
        if (!ok) continue;
        MH_TRY(mh_match_rule(m, r, ev, &ok));
        if (ok) MH_TRY(fn(ctx, r, ev));
    }
    return MH_OK;
}

struct first {
    const struct mh_fpath *p;
    struct mh_slice s;
    bool got;
};

static bool on_first(void *ctx, const struct mh_value *val)
{
    struct first *f = ctx;
    const char *s;
    size_t n;
    if (value_view(f->p, val, &s, &n) == MH_JNULL) return false;
    f->s = mh_slice_make(s, n);
    f->got = true;
    return true;
}

mh_status mh_match_field_value(mh_matcher *m, struct mh_event *ev, uint32_t field,
                               struct mh_slice *out, bool *found)
{
    *found = false;
    const struct mh_field *f = mh_ruleset_field(m->rs, field);
    if (!f) return MH_OK;
    for (uint32_t i = 0; i < f->npaths; i++) {
        struct first fc = {&f->paths[i], MH_SLICE_NULL, false};
        MH_TRY(mh_event_get(ev, f->paths[i].path, f->paths[i].len, on_first, &fc, NULL));
        if (fc.got) {
            *out = fc.s;
            *found = true;
            return MH_OK;
        }
    }
    return MH_OK;
}
