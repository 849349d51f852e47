/*
 * secrets/scan.c -- keyword gate, Hyperscan candidates, PCRE2 confirm (see scan.h)
 *
 * Engine (immutable): per config rule a runtime record (keyword ids, mode:
 * in the Hyperscan regex database / PCRE2 only / no content regex), the
 * keyword literal database and the rule regex database. Hyperscan pattern
 * ids are rule indexes (regex db) and keyword indexes (keyword db).
 *
 * Compile strategy: the whole regex database is compiled once; only if
 * Hyperscan rejects a pattern are the patterns classified one by one
 * (exact, then prefilter, else PCRE2-only) and the database rebuilt, so the
 * usual case pays one compile.
 *
 * Scratch (per thread): Hyperscan and PCRE2 scratches, hit flags per
 * keyword and rule, the fragment's findings (all rules, before the generic
 * filter and the required-rule check), a newline index built lazily when
 * the first finding needs a line number, and a lower-case buffer for
 * stopword checks. After the first fragments it allocates nothing more
 * unless a fragment yields more findings than any before.
 */
#include "secrets/scan.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/utf8.h"
#include "base/alloc.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/sha256.h"
#include "base/slice.h"
#include "ingest/mime.h"
#include "mailhound/limits.h"
#include "rules/multimatch.h"
#include "rules/regex.h"

enum { RM_NONE = 0, RM_HS, RM_PCRE };

struct rule_rt {
    const struct mh_gl_rule *r;
    uint32_t *kw; /* keyword ids */
    uint32_t nkw;
    bool always;           /* no keywords: always runs */
    bool nonascii_pattern; /* pattern names non-ASCII characters: see transliterate() */
    bool generic;
    uint8_t mode;
    uint32_t *req; /* rule indexes of [[rules.required]] */
    uint32_t nreq;
};

struct mh_secrets_engine {
    const struct mh_gl_config *cfg;
    struct rule_rt *rules;
    size_t nrules;
    char **kwords;
    size_t nkw;
    struct mh_mm_db *kwdb; /* literal keywords: all (reference mode) or the non-ASCII ones */
    struct mh_mm_db *redb; /* rule regexes + ASCII keywords (ids KW_ID + keyword) */
    uint32_t **kw_rules;   /* keyword -> rules that list it */
    uint32_t *kw_nrules;
    uint8_t *kw_in_redb; /* keyword is in redb */
    uint32_t *always;    /* rules without keywords */
    size_t nalways;
    unsigned max_groups;
    bool reference; /* MH_SECRETS_REFERENCE */
};

/* Hyperscan ids of keyword patterns in the combined database. */
#define KW_ID 0x40000000u

struct finding_ex {
    struct mh_secret_finding f;
    uint32_t rule;
    bool hidden; /* skipReport or dropped */
};

struct mh_secrets_scratch {
    struct mh_mm_scratch *mm;
    struct mh_regex_scratch *re;
    uint8_t *kwhit, *hit, *gated;
    uint32_t *kwlist, *hitlist, *glist; /* which flags are set, to reset them */
    size_t nkwl, nhitl, ngl;
    struct mh_span *groups;
    struct finding_ex *fv;
    size_t nf, capf;
    size_t *nl; /* newline offsets */
    size_t nnl, capnl;
    bool nl_built;
    struct mh_buf lower;
    struct mh_buf ascii; /* the fragment with each non-ASCII character as one 0xFF byte */
};

/* ---- entropy ---- */

/* Go's rune decoding: a valid sequence, else one byte as U+FFFD. */
static uint32_t decode_rune(const unsigned char *p, size_t n, size_t *len)
{
    uint32_t cp;
    size_t k = mh_utf8_decode(p, n, &cp);
    if (k) {
        *len = k;
        return cp;
    }
    *len = 1;
    return 0xFFFD;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

double mh_secrets_entropy(const char *s, size_t n)
{
    if (!n) return 0;
    uint32_t ascii[128] = {0};
    uint32_t wide_small[64];
    uint32_t *wide = wide_small;
    size_t nw = 0, capw = 64;
    for (size_t i = 0; i < n;) {
        size_t k;
        uint32_t cp = decode_rune((const unsigned char *)s + i, n - i, &k);
        i += k;
        if (cp < 128) {
            ascii[cp]++;
            continue;
        }
        if (nw == capw) {
            uint32_t *v = mh_malloc(capw * 2 * sizeof *v);
            if (!v) break; /* entropy of what was counted; never happens for real secrets */
            memcpy(v, wide, nw * sizeof *v);
            if (wide != wide_small) mh_free(wide);
            wide = v;
            capw *= 2;
        }
        wide[nw++] = cp;
    }
    double inv = 1.0 / (double)n, h = 0;
    for (int c = 0; c < 128; c++)
        if (ascii[c]) {
            double f = ascii[c] * inv;
            h -= f * log2(f);
        }
    if (nw) {
        qsort(wide, nw, sizeof *wide, cmp_u32);
        for (size_t i = 0; i < nw;) {
            size_t j = i;
            while (j < nw && wide[j] == wide[i]) j++;
            double f = (double)(j - i) * inv;
            h -= f * log2(f);
            i = j;
        }
    }
    if (wide != wide_small) mh_free(wide);
    return h;
}

/* ---- compile ---- */

static bool contains_nocase(const char *hay, const char *needle)
{
    size_t n = strlen(hay), k = strlen(needle);
    for (size_t i = 0; i + k <= n; i++)
        if (mh_slice_eq_nocase(mh_slice_make(hay + i, k), mh_slice_make(needle, k))) return true;
    return false;
}

/* Conservative: can the pattern match a non-ASCII character by name
 * (a literal byte >= 0x80, \x{...}, \u, \p / \P properties, \X)? */
static bool names_non_ascii(const char *re)
{
    for (const char *p = re; *p; p++) {
        if ((unsigned char)*p >= 0x80) return true;
        if (*p != '\\' || !p[1]) continue;
        char c = p[1];
        if (c == 'p' || c == 'P' || c == 'X' || c == 'u' || c == 'N' || (c == 'x' && p[2] == '{'))
            return true;
        if (c == 'x' && p[2] && p[3]) {
            int hi = p[2] >= '8' && p[2] <= '9' ? 1 : (p[2] | 32) >= 'a' && (p[2] | 32) <= 'f';
            if (hi) return true;
        }
        p++;
    }
    return false;
}

static mh_status build_regex_db(struct mh_secrets_engine *e, struct mh_secrets_compile_stats *cs,
                                mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_mm_pattern *pats = mh_calloc(e->nrules + e->nkw + 1, sizeof *pats);
    char *esc = NULL;
    size_t esclen = 0;
    for (size_t k = 0; k < e->nkw; k++) esclen += strlen(e->kwords[k]) * 4 + 1;
    esc = mh_malloc(esclen + 1);
    if (!pats || !esc) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", NULL));
    size_t n = 0;
    for (size_t i = 0; i < e->nrules; i++) {
        if (e->rules[i].mode != RM_HS) continue;
        const char *re = e->rules[i].r->regex;
        pats[n++] = (struct mh_mm_pattern){re, strlen(re), (unsigned)i, MH_MM_SINGLEMATCH};
    }
    /* The ASCII keywords join the same database as caseless byte-escaped
     * regexes: one Hyperscan pass finds keyword gates and rule candidates
     * (two passes cost ~30% more on mail, where common keywords such as
     * "key" or "token" occur in most parts). */
    size_t epos = 0;
    for (size_t k = 0; k < e->nkw && n; k++) {
        const char *w = e->kwords[k];
        bool ascii = true;
        for (const char *c = w; *c; c++) ascii &= (unsigned char)*c < 0x80;
        if (!ascii) continue;
        char *start = esc + epos;
        static const char X[] = "0123456789abcdef";
        for (const char *c = w; *c; c++) {
            esc[epos++] = '\\';
            esc[epos++] = 'x';
            esc[epos++] = X[(unsigned char)*c >> 4];
            esc[epos++] = X[(unsigned char)*c & 15];
        }
        pats[n++] = (struct mh_mm_pattern){start, (size_t)(esc + epos - start), KW_ID + (unsigned)k,
                                           MH_MM_CASELESS | MH_MM_SINGLEMATCH};
        e->kw_in_redb[k] = 1;
    }
    if (!n) goto out;
    /* Compile the whole set; when Hyperscan rejects pattern k, retry it in
     * prefilter mode, and route it to PCRE2 if even that fails. A failed
     * compile stops at the rejected pattern, so the retries cost little
     * more than one compile. */
    mh_error e1;
    for (size_t tries = 0;; tries++) {
        size_t bad = SIZE_MAX;
        mh_error_clear(&e1);
        st = n ? mh_mm_compile(pats, n, &e->redb, &bad, &e1) : MH_OK;
        if (st != MH_EUNSUPPORTED || bad >= n || tries > 2 * e->nrules || pats[bad].id >= KW_ID)
            break;
        if (!(pats[bad].flags & MH_MM_PREFILTER)) {
            pats[bad].flags |= MH_MM_PREFILTER;
            continue;
        }
        e->rules[pats[bad].id].mode = RM_PCRE;
        cs->pcre_only++;
        memmove(pats + bad, pats + bad + 1, (n - bad - 1) * sizeof *pats);
        n--;
    }
    if (st) {
        mh_error_set(err, st, "cannot compile the rule database", "%s", e1.detail);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (pats[i].id >= KW_ID) continue;
        if (pats[i].flags & MH_MM_PREFILTER)
            cs->hs_prefilter++;
        else
            cs->hs_exact++;
    }
out:
    mh_free(esc);
    mh_free(pats);
    return st;
}

static mh_status build(struct mh_secrets_engine *e, struct mh_secrets_compile_stats *cs,
                       mh_error *err)
{
    const struct mh_gl_config *c = e->cfg;
    e->rules = mh_calloc(c->nrules ? c->nrules : 1, sizeof *e->rules);
    if (!e->rules) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    e->nrules = c->nrules;
    struct mh_map kwix;
    mh_map_init(&kwix, MH_MAX_RULES * 16, false);
    mh_status st = MH_OK;
    size_t capkw = 0;
    for (size_t i = 0; i < c->nrules && !st; i++) {
        const struct mh_gl_rule *r = c->rules[i];
        struct rule_rt *rt = &e->rules[i];
        rt->r = r;
        rt->generic = contains_nocase(r->id, "generic");
        rt->mode = r->regex_re ? (e->reference ? RM_PCRE : RM_HS) : RM_NONE;
        if (r->regex) rt->nonascii_pattern = names_non_ascii(r->regex);
        if (r->regex_re) {
            cs->regex_rules++;
            unsigned g = mh_regex_groups(r->regex_re);
            if (g > e->max_groups) e->max_groups = g;
        } else if (r->path_re) {
            cs->path_only++;
        }
        rt->always = r->keywords.n == 0;
        if (r->keywords.n) {
            rt->kw = mh_calloc(r->keywords.n, sizeof *rt->kw);
            if (!rt->kw) st = MH_ENOMEM;
        }
        for (size_t k = 0; k < r->keywords.n && !st; k++) {
            const char *w = r->keywords.v[k];
            if (!*w) {
                rt->always = true; /* "" occurs in every fragment */
                continue;
            }
            struct mh_map_entry *en;
            bool created;
            st = mh_map_put(&kwix, w, strlen(w), &en, &created);
            if (st) break;
            if (created) {
                if (MH_GROW(e->kwords, capkw, e->nkw + 1, 64, SIZE_MAX) != MH_OK) {
                    st = MH_ENOMEM;
                    break;
                }
                e->kwords[e->nkw] = mh_strdup(w);
                if (!e->kwords[e->nkw]) {
                    st = MH_ENOMEM;
                    break;
                }
                en->value = e->nkw++;
            }
            rt->kw[rt->nkw++] = (uint32_t)en->value;
        }
    }
    mh_map_fini(&kwix);
    if (st)
        return mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "too many keywords", NULL);
    cs->rules = c->nrules;
    cs->keywords = e->nkw;
    /* [[rules.required]] ids to indexes (the loader checked they exist) */
    for (size_t i = 0; i < c->nrules; i++) {
        const struct mh_gl_rule *r = c->rules[i];
        if (!r->nrequired) continue;
        e->rules[i].req = mh_calloc(r->nrequired, sizeof *e->rules[i].req);
        if (!e->rules[i].req) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        for (size_t k = 0; k < r->nrequired; k++)
            for (size_t j = 0; j < c->nrules; j++)
                if (!strcmp(c->rules[j]->id, r->required[k].id)) {
                    e->rules[i].req[e->rules[i].nreq++] = (uint32_t)j;
                    break;
                }
    }
    /* keyword -> rules, and the rules without keywords */
    e->kw_rules = mh_calloc(e->nkw + 1, sizeof *e->kw_rules);
    e->kw_nrules = mh_calloc(e->nkw + 1, sizeof *e->kw_nrules);
    e->kw_in_redb = mh_calloc(e->nkw + 1, 1);
    e->always = mh_calloc(e->nrules + 1, sizeof *e->always);
    if (!e->kw_rules || !e->kw_nrules || !e->kw_in_redb || !e->always)
        return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    for (size_t i = 0; i < e->nrules; i++)
        for (uint32_t k = 0; k < e->rules[i].nkw; k++) e->kw_nrules[e->rules[i].kw[k]]++;
    for (size_t k = 0; k < e->nkw; k++) {
        e->kw_rules[k] = mh_calloc(e->kw_nrules[k], sizeof **e->kw_rules);
        if (!e->kw_rules[k]) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        e->kw_nrules[k] = 0;
    }
    for (size_t i = 0; i < e->nrules; i++) {
        if (e->rules[i].always) e->always[e->nalways++] = (uint32_t)i;
        for (uint32_t k = 0; k < e->rules[i].nkw; k++) {
            uint32_t kw = e->rules[i].kw[k];
            uint32_t *v = e->kw_rules[kw];
            /* a rule may list a keyword twice ([extend] merges): once is enough */
            if (e->kw_nrules[kw] && v[e->kw_nrules[kw] - 1] == i) continue;
            v[e->kw_nrules[kw]++] = (uint32_t)i;
        }
    }
    if (!e->reference) MH_TRY(build_regex_db(e, cs, err));
    /* keywords the combined database does not hold: a literal database */
    size_t nlit = 0;
    for (size_t k = 0; k < e->nkw; k++) nlit += !e->kw_in_redb[k];
    if (nlit) {
        struct mh_mm_pattern *p = mh_calloc(nlit, sizeof *p);
        if (!p) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        size_t j = 0;
        for (size_t k = 0; k < e->nkw; k++)
            if (!e->kw_in_redb[k])
                p[j++] = (struct mh_mm_pattern){e->kwords[k], strlen(e->kwords[k]), (unsigned)k,
                                                MH_MM_LITERAL | MH_MM_CASELESS | MH_MM_SINGLEMATCH};
        st = mh_mm_compile(p, nlit, &e->kwdb, NULL, err);
        mh_free(p);
        if (st) return st;
    }
    return MH_OK;
}

mh_status mh_secrets_compile(const struct mh_gl_config *cfg, unsigned flags,
                             struct mh_secrets_engine **out, struct mh_secrets_compile_stats *stats,
                             mh_error *err)
{
    struct mh_secrets_compile_stats local;
    struct mh_secrets_compile_stats *cs = stats ? stats : &local;
    memset(cs, 0, sizeof *cs);
    if (!cfg) return mh_error_set(err, MH_EINVAL, "no rules", NULL);
    struct mh_secrets_engine *e = mh_calloc(1, sizeof *e);
    if (!e) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    e->cfg = cfg;
    e->reference = flags & MH_SECRETS_REFERENCE;
    mh_status st = build(e, cs, err);
    if (st) {
        mh_secrets_engine_free(e);
        return st;
    }
    *out = e;
    return MH_OK;
}

void mh_secrets_engine_free(struct mh_secrets_engine *e)
{
    if (!e) return;
    for (size_t i = 0; i < e->nrules; i++) {
        mh_free(e->rules[i].kw);
        mh_free(e->rules[i].req);
    }
    mh_free(e->rules);
    for (size_t k = 0; k < e->nkw; k++) {
        mh_free(e->kwords[k]);
        if (e->kw_rules) mh_free(e->kw_rules[k]);
    }
    mh_free(e->kwords);
    mh_free(e->kw_rules);
    mh_free(e->kw_nrules);
    mh_free(e->kw_in_redb);
    mh_free(e->always);
    mh_mm_free(e->kwdb);
    mh_mm_free(e->redb);
    mh_free(e);
}

mh_status mh_secrets_scratch_new(const struct mh_secrets_engine *e, struct mh_secrets_scratch **out)
{
    mh_status st = MH_OK;
    struct mh_secrets_scratch *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    mh_buf_init(&s->lower, MH_MAX_FRAGMENT_BYTES * 3u + 64);
    mh_buf_init(&s->ascii, (size_t)4 << 30);
    if (e->kwdb) MH_CHECK(mh_mm_scratch_alloc(e->kwdb, &s->mm));
    if (e->redb) MH_CHECK(mh_mm_scratch_alloc(e->redb, &s->mm));
    MH_CHECK(mh_regex_scratch_new(&s->re));
    s->kwhit = mh_calloc(e->nkw + 1, 1);
    s->hit = mh_calloc(e->nrules + 1, 1);
    s->gated = mh_calloc(e->nrules + 1, 1);
    s->kwlist = mh_calloc(e->nkw + 1, sizeof *s->kwlist);
    s->hitlist = mh_calloc(e->nrules + 1, sizeof *s->hitlist);
    s->glist = mh_calloc(e->nrules + 1, sizeof *s->glist);
    s->groups = mh_calloc(e->max_groups + 1, sizeof *s->groups);
    if (!s->kwhit || !s->hit || !s->gated || !s->groups || !s->kwlist || !s->hitlist || !s->glist)
        MH_CHECK(MH_ENOMEM);
    *out = s;
    s = NULL;
out:
    mh_secrets_scratch_free(s);
    return st;
}

void mh_secrets_scratch_free(struct mh_secrets_scratch *s)
{
    if (!s) return;
    mh_mm_scratch_free(s->mm);
    mh_regex_scratch_free(s->re);
    mh_free(s->kwhit);
    mh_free(s->hit);
    mh_free(s->gated);
    mh_free(s->kwlist);
    mh_free(s->hitlist);
    mh_free(s->glist);
    mh_free(s->groups);
    mh_free(s->fv);
    mh_free(s->nl);
    mh_buf_fini(&s->lower);
    mh_buf_fini(&s->ascii);
    mh_free(s);
}

/* ---- scan helpers ---- */

static int on_keyword(void *ctx, unsigned id, uint64_t from, uint64_t to)
{
    (void)from, (void)to;
    struct mh_secrets_scratch *s = ctx;
    if (!s->kwhit[id]) {
        s->kwhit[id] = 1;
        s->kwlist[s->nkwl++] = id;
    }
    return 0;
}

/* Combined database: rule candidates and (ids >= KW_ID) keywords. */
static int on_match(void *ctx, unsigned id, uint64_t from, uint64_t to)
{
    struct mh_secrets_scratch *s = ctx;
    if (id >= KW_ID) return on_keyword(ctx, id - KW_ID, from, to);
    if (!s->hit[id]) {
        s->hit[id] = 1;
        s->hitlist[s->nhitl++] = id;
    }
    return 0;
}

static void gate(struct mh_secrets_scratch *s, uint32_t rule)
{
    if (!s->gated[rule]) {
        s->gated[rule] = 1;
        s->glist[s->ngl++] = rule;
    }
}

static int cmp_u32_asc(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Clear the per-fragment flags through their lists. */
static void reset_flags(struct mh_secrets_scratch *s)
{
    for (size_t i = 0; i < s->nkwl; i++) s->kwhit[s->kwlist[i]] = 0;
    for (size_t i = 0; i < s->nhitl; i++) s->hit[s->hitlist[i]] = 0;
    for (size_t i = 0; i < s->ngl; i++) s->gated[s->glist[i]] = 0;
    s->nkwl = s->nhitl = s->ngl = 0;
}

/* Does re match s[0..n) anywhere? Limits count as no match. */
static bool re_match(struct mh_secrets_scratch *s, const struct mh_regex *re, const char *p,
                     size_t n, struct mh_secrets_scan_stats *st)
{
    bool m = false;
    mh_status rc = mh_regex_exec(re, s->re, p ? p : "", n, 0, NULL, 0, &m);
    if (rc) {
        if (st) st->limit_hits++;
        return false;
    }
    return m;
}

/* gitleaks checkCommitOrPathAllowed for one allowlist (no commits in mail). */
static bool path_allowed(struct mh_secrets_scratch *s, const struct mh_gl_allowlist *a,
                         const char *path, struct mh_secrets_scan_stats *st)
{
    if (!path || !*path) return false;
    bool path_ok = a->path_re && re_match(s, a->path_re, path, strlen(path), st);
    if (a->condition == MH_GL_AND) {
        if (a->regexes.n || a->stopwords.n) return false; /* decided per finding */
        if (a->commits.n) return false;
        return a->paths.n ? path_ok : false;
    }
    return path_ok;
}

static bool any_path_allowed(struct mh_secrets_scratch *s, struct mh_gl_allowlist *const *al,
                             size_t n, const char *path, struct mh_secrets_scan_stats *st)
{
    for (size_t i = 0; i < n; i++)
        if (path_allowed(s, al[i], path, st)) return true;
    return false;
}

static bool stopword(struct mh_secrets_scratch *s, const struct mh_gl_allowlist *a,
                     const char *secret, size_t n)
{
    if (!a->stopwords.n || !n) return false;
    mh_buf_clear(&s->lower);
    if (mh_buf_append(&s->lower, secret, n)) return false;
    for (size_t i = 0; i < n; i++)
        s->lower.data[i] = (char)mh_ascii_lower((unsigned char)s->lower.data[i]);
    for (size_t k = 0; k < a->stopwords.n; k++) {
        const char *w = a->stopwords.v[k];
        size_t wl = strlen(w);
        if (wl <= n && memmem(s->lower.data, n, w, wl)) return true;
    }
    return false;
}

struct target {
    const char *secret, *match, *line;
    size_t nsecret, nmatch, nline;
};

/* gitleaks checkFindingAllowed for one allowlist. */
static bool finding_allowed(struct mh_secrets_scratch *s, const struct mh_gl_allowlist *a,
                            const struct target *t, const char *path,
                            struct mh_secrets_scan_stats *st)
{
    const char *tp = t->secret;
    size_t tn = t->nsecret;
    if (a->target == MH_GL_TARGET_MATCH)
        tp = t->match, tn = t->nmatch;
    else if (a->target == MH_GL_TARGET_LINE)
        tp = t->line, tn = t->nline;
    bool regex_ok = a->regex_re && tn && re_match(s, a->regex_re, tp, tn, st);
    bool stop_ok = stopword(s, a, t->secret, t->nsecret);
    if (a->condition == MH_GL_AND) {
        if (a->commits.n) return false;
        if (a->paths.n &&
            !(path && *path && a->path_re && re_match(s, a->path_re, path, strlen(path), st)))
            return false;
        if (a->regexes.n && !regex_ok) return false;
        if (a->stopwords.n && !stop_ok) return false;
        return true;
    }
    return regex_ok || stop_ok;
}

static void build_newlines(struct mh_secrets_scratch *s, const char *text, size_t n)
{
    if (s->nl_built) return;
    s->nl_built = true;
    s->nnl = 0;
    for (const char *p = text; p && p < text + n;) {
        const char *q = memchr(p, '\n', (size_t)(text + n - p));
        if (!q) break;
        /* on failure lines read as 1 past this point; never seen in practice */
        if (MH_GROW(s->nl, s->capnl, s->nnl + 1, 256, SIZE_MAX) != MH_OK) return;
        s->nl[s->nnl++] = (size_t)(q - text);
        p = q + 1;
    }
}

/* Line index (0-based) of offset off: number of newlines before it. */
static size_t line_of(const struct mh_secrets_scratch *s, size_t off)
{
    size_t lo = 0, hi = s->nnl;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->nl[mid] < off)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static mh_status push_finding(struct mh_secrets_scratch *s, const struct finding_ex *fx)
{
    if (MH_GROW(s->fv, s->capf, s->nf + 1, 16, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    s->fv[s->nf++] = *fx;
    return MH_OK;
}

static uint32_t utf8_chars(const char *p, size_t n)
{
    uint32_t c = 0;
    for (size_t i = 0; i < n; i++) c += ((unsigned char)p[i] & 0xC0) != 0x80;
    return c;
}

/* One match [ms, me) of rule i: secret, entropy, allowlists -> maybe a finding. */
static mh_status confirm_match(const struct mh_secrets_engine *e, struct mh_secrets_scratch *s,
                               uint32_t i, const char *path, const char *text, size_t n, size_t ms,
                               size_t me, struct mh_secrets_scan_stats *st)
{
    const struct mh_gl_rule *r = e->rules[i].r;
    size_t ts = ms, te = me;
    while (ts < te && text[ts] == '\n') ts++;
    while (te > ts && text[te - 1] == '\n') te--;
    if (te == ts) return MH_OK;
    build_newlines(s, text, n);
    size_t l0 = line_of(s, ts), l1 = line_of(s, te);
    size_t ls = l0 ? s->nl[l0 - 1] + 1 : 0;
    size_t le = l1 < s->nnl ? s->nl[l1] : n;
    if (memmem(text + ls, le - ls, "gitleaks:allow", 14)) return MH_OK;
    /* groups by re-matching the trimmed match alone, as gitleaks does */
    size_t ss = ts, se = te;
    unsigned ng = mh_regex_groups(r->regex_re);
    if (ng) {
        bool m = false;
        mh_status rc =
            mh_regex_exec(r->regex_re, s->re, text + ts, te - ts, 0, s->groups, ng + 1, &m);
        if (rc == MH_ENOMEM) return rc;
        if (rc) st->limit_hits++;
        if (!rc && m) {
            if (r->secret_group > 0) {
                const struct mh_span *g = &s->groups[r->secret_group];
                if (g->start == SIZE_MAX)
                    ss = se = ts;
                else
                    ss = ts + g->start, se = ts + g->end;
            } else {
                for (unsigned k = 1; k <= ng; k++) {
                    const struct mh_span *g = &s->groups[k];
                    if (g->start != SIZE_MAX && g->end > g->start) {
                        ss = ts + g->start;
                        se = ts + g->end;
                        break;
                    }
                }
            }
        }
    }
    double h = mh_secrets_entropy(text + ss, se - ss);
    if (r->entropy != 0 && h <= r->entropy) {
        st->low_entropy++;
        return MH_OK;
    }
    struct target t = {text + ss, text + ts, text + ls, se - ss, te - ts, le - ls};
    for (size_t k = 0; k < e->cfg->nallowlists; k++)
        if (finding_allowed(s, e->cfg->allowlists[k], &t, path, st)) {
            st->allowlisted++;
            return MH_OK;
        }
    for (size_t k = 0; k < r->nallowlists; k++)
        if (finding_allowed(s, r->allowlists[k], &t, path, st)) {
            st->allowlisted++;
            return MH_OK;
        }
    struct finding_ex fx;
    memset(&fx, 0, sizeof fx);
    fx.rule = i;
    fx.hidden = r->skip_report;
    fx.f.rule = r;
    fx.f.generic = e->rules[i].generic;
    fx.f.match_start = ts;
    fx.f.match_end = te;
    fx.f.secret_start = ss;
    fx.f.secret_end = se;
    size_t sl = line_of(s, ss);
    size_t sls = sl ? s->nl[sl - 1] + 1 : 0;
    fx.f.line = (uint32_t)(sl + 1);
    fx.f.column = utf8_chars(text + sls, ss - sls) + 1;
    fx.f.entropy = h;
    MH_TRY(mh_sha256(text + ss, se - ss, fx.f.sha256, NULL));
    return push_finding(s, &fx);
}

static mh_status run_rule(const struct mh_secrets_engine *e, struct mh_secrets_scratch *s,
                          uint32_t i, const char *path, const char *text, size_t n,
                          struct mh_secrets_scan_stats *st)
{
    const struct mh_gl_rule *r = e->rules[i].r;
    if (r->path_re && !(path && re_match(s, r->path_re, path, strlen(path), st))) return MH_OK;
    if (any_path_allowed(s, r->allowlists, r->nallowlists, path, st)) return MH_OK;
    if (!r->regex_re) {
        if (!r->path_re) return MH_OK; /* inert (no regex, no path after [extend]) */
        struct finding_ex fx;
        memset(&fx, 0, sizeof fx);
        fx.rule = i;
        fx.hidden = r->skip_report;
        fx.f.rule = r;
        fx.f.generic = e->rules[i].generic;
        fx.f.path_only = true;
        fx.f.line = 1;
        fx.f.column = 1;
        MH_TRY(mh_sha256(path, strlen(path), fx.f.sha256, NULL));
        return push_finding(s, &fx);
    }
    st->confirmed_rules++;
    size_t pos = 0, matches = 0;
    while (pos <= n) {
        bool m = false;
        mh_status rc =
            mh_regex_exec(r->regex_re, s->re, text ? text : "", n, pos, s->groups, 1, &m);
        if (rc == MH_ENOMEM) return rc;
        if (rc) {
            st->limit_hits++;
            break;
        }
        if (!m) break;
        size_t ms = s->groups[0].start, me = s->groups[0].end;
        if (me == ms) { /* empty match: step one character */
            size_t k = 1;
            if (ms < n) (void)decode_rune((const unsigned char *)text + ms, n - ms, &k);
            pos = ms + k;
            continue;
        }
        st->matches++;
        if (++matches > MH_SECRETS_MAX_MATCHES) {
            st->limit_hits++;
            break;
        }
        MH_TRY(confirm_match(e, s, i, path, text, n, ms, me, st));
        pos = me;
    }
    return MH_OK;
}

static int cmp_finding(const void *a, const void *b)
{
    const struct finding_ex *x = a, *y = b;
    if (x->f.secret_start != y->f.secret_start)
        return x->f.secret_start < y->f.secret_start ? -1 : 1;
    if (x->rule != y->rule) return x->rule < y->rule ? -1 : 1;
    return x->f.secret_end < y->f.secret_end ? -1 : x->f.secret_end > y->f.secret_end;
}

static bool span_contains(const char *text, const struct mh_secret_finding *outer,
                          const struct mh_secret_finding *inner)
{
    size_t on = outer->secret_end - outer->secret_start,
           in = inner->secret_end - inner->secret_start;
    if (in > on) return false;
    if (!in) return true;
    return memmem(text + outer->secret_start, on, text + inner->secret_start, in) != NULL;
}

/* Required rules, then gitleaks' generic filter. */
static void post_filter(const struct mh_secrets_engine *e, struct mh_secrets_scratch *s,
                        const char *text, struct mh_secrets_scan_stats *st)
{
    for (size_t a = 0; a < s->nf; a++) {
        struct finding_ex *f = &s->fv[a];
        const struct rule_rt *rt = &e->rules[f->rule];
        for (uint32_t k = 0; k < rt->nreq && !f->hidden; k++) {
            const struct mh_gl_required *q = &rt->r->required[k];
            bool found = false;
            for (size_t b = 0; b < s->nf && !found; b++) {
                const struct finding_ex *g = &s->fv[b];
                if (g->rule != rt->req[k] || b == a) continue;
                long dl = (long)f->f.line - (long)g->f.line,
                     dc = (long)f->f.column - (long)g->f.column;
                if (q->within_lines >= 0 && labs(dl) > q->within_lines) continue;
                if (q->within_columns >= 0 && labs(dc) > q->within_columns) continue;
                found = true;
            }
            if (!found) f->hidden = true;
        }
    }
    for (size_t a = 0; a < s->nf; a++) {
        struct finding_ex *f = &s->fv[a];
        if (f->hidden || !f->f.generic || f->f.path_only) continue;
        for (size_t b = 0; b < s->nf; b++) {
            const struct finding_ex *g = &s->fv[b];
            if (b == a || g->hidden || g->f.generic || g->rule == f->rule || g->f.path_only)
                continue;
            if (g->f.line == f->f.line && span_contains(text, &g->f, &f->f)) {
                f->hidden = true;
                st->generic_filtered++;
                break;
            }
        }
    }
}

/*
 * Hyperscan runs in byte mode (UTF-8 mode makes gitleaks' set take seconds to
 * compile and five rules too large), PCRE2 in UTF mode. To keep the
 * candidate stage exact, a fragment with non-ASCII bytes is scanned by
 * Hyperscan as a copy where every UTF-8 character >= U+0080 (and every
 * invalid byte) is one 0xFF byte: then '.', negated classes and bounded
 * repeats count characters exactly as PCRE2 does, and 0xFF matches nothing
 * else (\w, \s, \d and ASCII literals exclude it, as they exclude non-ASCII
 * characters in PCRE2 without UCP). Rules whose pattern names non-ASCII
 * characters skip the candidate stage on such fragments and go straight to
 * PCRE2. *out is the text Hyperscan should see.
 */
static size_t ascii_run(const char *p, size_t n)
{
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t v;
        memcpy(&v, p + i, 8);
        if (v & 0x8080808080808080ULL) break;
    }
    while (i < n && (unsigned char)p[i] < 0x80) i++;
    return i;
}

static mh_status transliterate(struct mh_secrets_scratch *s, const char *text, size_t n,
                               const char **out, size_t *outn, bool *nonascii)
{
    size_t i = ascii_run(text, n);
    *nonascii = i < n;
    *out = text;
    *outn = n;
    if (i == n) return MH_OK;
    mh_buf_clear(&s->ascii);
    MH_TRY(mh_buf_reserve(&s->ascii, n));
    memcpy(s->ascii.data, text, i);
    size_t w = i;
    while (i < n) {
        size_t k;
        (void)decode_rune((const unsigned char *)text + i, n - i, &k);
        s->ascii.data[w++] = (char)0xFF;
        i += k;
        size_t r = ascii_run(text + i, n - i);
        memcpy(s->ascii.data + w, text + i, r);
        w += r;
        i += r;
    }
    s->ascii.len = w;
    *out = s->ascii.data;
    *outn = w;
    return MH_OK;
}

mh_status mh_secrets_scan(const struct mh_secrets_engine *e, struct mh_secrets_scratch *s,
                          const char *path, const char *text, size_t n, mh_secret_fn fn, void *ctx,
                          struct mh_secrets_scan_stats *stats)
{
    struct mh_secrets_scan_stats local;
    struct mh_secrets_scan_stats *st = stats ? stats : &local;
    if (!stats) memset(&local, 0, sizeof local);
    if (!text) n = 0;
    st->fragments++;
    st->bytes += n;
    s->nf = 0;
    s->nl_built = false;
    if (any_path_allowed(s, e->cfg->allowlists, e->cfg->nallowlists, path, st)) return MH_OK;

    reset_flags(s);
    bool nonascii = false;
    if (n && e->redb) {
        size_t hn;
        const char *ht;
        MH_TRY(transliterate(s, text, n, &ht, &hn, &nonascii));
        MH_TRY(mh_mm_scan(e->redb, s->mm, ht, hn, on_match, s));
    }
    if (n && e->kwdb) MH_TRY(mh_mm_scan(e->kwdb, s->mm, text, n, on_keyword, s));
    for (size_t i = 0; i < e->nalways; i++) gate(s, e->always[i]);
    for (size_t k = 0; k < s->nkwl; k++) {
        uint32_t kw = s->kwlist[k];
        for (uint32_t j = 0; j < e->kw_nrules[kw]; j++) gate(s, e->kw_rules[kw][j]);
    }
    for (size_t i = 0; i < s->ngl; i++) /* required rules run with their primary */
        for (uint32_t k = 0; k < e->rules[s->glist[i]].nreq; k++)
            gate(s, e->rules[s->glist[i]].req[k]);
    st->gated_rules += s->ngl;
    if (!s->ngl) return MH_OK;
    qsort(s->glist, s->ngl, sizeof *s->glist, cmp_u32_asc);
    for (size_t g = 0; g < s->ngl; g++) {
        uint32_t i = s->glist[g];
        const struct rule_rt *rt = &e->rules[i];
        if (rt->mode == RM_HS && !s->hit[i] && !(nonascii && rt->nonascii_pattern)) continue;
        if (rt->mode != RM_NONE && !n) continue;
        MH_TRY(run_rule(e, s, i, path, text, n, st));
    }
    if (!s->nf) return MH_OK;
    post_filter(e, s, text, st);
    qsort(s->fv, s->nf, sizeof *s->fv, cmp_finding);
    for (size_t a = 0; a < s->nf; a++) {
        if (s->fv[a].hidden) continue;
        st->findings++;
        MH_TRY(fn(ctx, &s->fv[a].f, text ? text : ""));
    }
    return MH_OK;
}
