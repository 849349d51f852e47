/*
 * rules/compile.c -- turn loaded rules into the immutable, routed, prefiltered ruleset
 *
 * Pipeline: ruleset (loaded) -> [compile] -> match.
 *
 * Steps, in order:
 *  1. filters: every enabled filter is applied to the detection rules it
 *     names (or all, `rules: any`) whose logsource it covers, as pySigma's
 *     SigmaFilter.apply_on_rule does: the filter's identifiers are appended
 *     (renamed `_filt<N>_<name>`) and the condition becomes (C) and (F);
 *  2. correlations: references resolved by id, then name; a correlation with
 *     an unknown or cyclic reference is disabled (warning); referenced rules
 *     stop emitting alerts of their own unless a referrer says generate;
 *     correlations are ordered so that inputs come first;
 *  3. routing: each detection rule gets the most specific route (field map)
 *     whose logsource keys all equal the rule's;
 *  4. fields: every rule field is resolved once per route into its path list
 *     (literal path, then the aliases) and shared by index;
 *  5. prefilter: for every active rule the set of literals of which at least
 *     one must occur in the raw record text whenever the rule can match
 *     (docs/sigma.md "prefilter"), or `always`. The literals go into one
 *     Hyperscan literal database, with the escapes that would hide them
 *     (\u00XX of a safe character) as extra patterns that make every rule a
 *     candidate.
 *
 * After this the ruleset is never written again.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"
#include "normalize/event.h"
#include "rules/condition.h"
#include "rules/pattern.h"
#include "rules/ruleset.h"

static void cwarn(mh_ruleset *rs, const struct mh_rule *r, const char *msg, const char *fmt, ...)
    MH_PRINTF(4, 5);

static void cwarn(mh_ruleset *rs, const struct mh_rule *r, const char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    mh_ruleset_warnv(rs, r, r ? r->file : "", r ? r->line : 0, r ? r->col : 0, 0, msg, fmt, ap);
    va_end(ap);
}

static bool refers(const struct mh_rule *r, const char *ref)
{
    return (r->id && strcmp(r->id, ref) == 0) || (r->name && strcmp(r->name, ref) == 0);
}

static struct mh_rule *find_rule(mh_ruleset *rs, const char *ref)
{
    return (struct mh_rule *)mh_ruleset_find(rs, ref);
}

/* pySigma: rule.logsource in filter.logsource */
static bool logsource_in(const struct mh_rule *f, const struct mh_rule *r)
{
    if (f->product && (!r->product || strcmp(f->product, r->product) != 0)) return false;
    if (f->service && (!r->service || strcmp(f->service, r->service) != 0)) return false;
    if (f->category && (!r->category || strcmp(f->category, r->category) != 0)) return false;
    return true;
}

static struct mh_cnode *remap(mh_ruleset *rs, const struct mh_cnode *c, uint32_t off)
{
    struct mh_cnode *n = mh_arena_alloc(&rs->arena, sizeof *n);
    if (!n) return NULL;
    *n = *c;
    n->det = c->kind == MH_CN_ID ? c->det + off : c->det;
    if (c->n) {
        n->kids = mh_arena_alloc(&rs->arena, c->n * sizeof *n->kids);
        if (!n->kids) return NULL;
        for (uint32_t i = 0; i < c->n; i++)
            if (!(n->kids[i] = remap(rs, c->kids[i], off))) return NULL;
    }
    return n;
}

static mh_status apply_filter(mh_ruleset *rs, const struct mh_rule *f, uint32_t fno,
                              struct mh_rule *r)
{
    uint32_t nd = r->ndets + f->ndets;
    struct mh_det *d = mh_arena_alloc(&rs->arena, nd * sizeof *d);
    struct mh_cnode *a = mh_arena_alloc(&rs->arena, sizeof *a);
    if (!d || !a) return MH_ENOMEM;
    memcpy(d, r->dets, r->ndets * sizeof *d);
    for (uint32_t i = 0; i < f->ndets; i++) {
        d[r->ndets + i] = f->dets[i];
        size_t l = strlen(f->dets[i].name) + 32;
        char *nm = mh_arena_alloc(&rs->arena, l);
        if (!nm) return MH_ENOMEM;
        snprintf(nm, l, "_filt%u_%s", fno, f->dets[i].name);
        d[r->ndets + i].name = nm;
    }
    memset(a, 0, sizeof *a);
    a->kind = MH_CN_AND;
    a->n = 2;
    a->kids = mh_arena_alloc(&rs->arena, 2 * sizeof *a->kids);
    if (!a->kids) return MH_ENOMEM;
    a->kids[0] = r->cond;
    a->kids[1] = remap(rs, f->cond, r->ndets);
    if (!a->kids[1]) return MH_ENOMEM;
    r->dets = d;
    r->ndets = nd;
    r->cond = a;
    return MH_OK;
}

static mh_status do_filters(mh_ruleset *rs)
{
    uint32_t fno = 0;
    for (size_t i = 0; i < rs->nrules; i++) {
        struct mh_rule *f = rs->rules[i];
        if (f->kind != MH_RK_FILTER || f->disabled) continue;
        fno++;
        for (uint32_t k = 0; k < f->filter->nrules; k++)
            if (!find_rule(rs, f->filter->rule_refs[k]))
                cwarn(rs, f, "filter references an unknown rule", "'%s'", f->filter->rule_refs[k]);
        uint32_t applied = 0;
        for (size_t j = 0; j < rs->nrules; j++) {
            struct mh_rule *r = rs->rules[j];
            if (r->kind != MH_RK_DETECTION) continue;
            bool named = f->filter->any_rule;
            for (uint32_t k = 0; k < f->filter->nrules && !named; k++) named = refers(r, f->filter->rule_refs[k]);
            if (!named) continue;
            if (!logsource_in(f, r)) {
                if (!f->filter->any_rule)
                    cwarn(rs, f, "filter not applied", "rule '%s': its logsource is not covered by the filter's",
                          r->title);
                continue;
            }
            MH_TRY(apply_filter(rs, f, fno, r));
            applied++;
        }
        if (!applied) cwarn(rs, f, "filter applies to no loaded rule", "%s", f->title);
    }
    return MH_OK;
}

/* ---- correlations ---- */

static mh_status do_correlations(mh_ruleset *rs)
{
    size_t n = rs->nrules;
    /* resolve */
    for (size_t i = 0; i < n; i++) {
        struct mh_rule *r = rs->rules[i];
        if (r->kind != MH_RK_CORRELATION) continue;
        struct mh_corr *k = r->corr;
        k->rule_idx = mh_arena_alloc(&rs->arena, k->nrules * sizeof *k->rule_idx);
        if (!k->rule_idx) return MH_ENOMEM;
        for (uint32_t j = 0; j < k->nrules; j++) {
            struct mh_rule *t = find_rule(rs, k->rule_refs[j]);
            if (!t || t->kind == MH_RK_FILTER || t == r) {
                if (!r->disabled) {
                    r->disabled = true;
                    r->disabled_why = "references an unknown rule";
                    rs->stats.disabled++;
                }
                cwarn(rs, r, "correlation disabled", "rule '%s' %s", k->rule_refs[j],
                      !t ? "is not loaded" : t == r ? "is the correlation itself" : "is a filter");
                k->rule_idx[j] = UINT32_MAX;
                continue;
            }
            k->rule_idx[j] = t->index;
        }
        for (uint32_t a = 0; a < k->naliases; a++)
            for (uint32_t q = 0; q < k->aliases[a].n; q++) {
                bool in = false;
                for (uint32_t j = 0; j < k->nrules; j++) in |= strcmp(k->rule_refs[j], k->aliases[a].rules[q]) == 0;
                if (!in) {
                    struct mh_rule *t = find_rule(rs, k->aliases[a].rules[q]);
                    for (uint32_t j = 0; j < k->nrules && t; j++) in |= k->rule_idx[j] == t->index;
                }
                if (!in)
                    cwarn(rs, r, "alias names a rule not in 'rules'", "'%s'", k->aliases[a].rules[q]);
            }
    }
    /* order: Kahn-style repeated passes (bounded by the number of correlations) */
    size_t ncorr = 0;
    for (size_t i = 0; i < n; i++) ncorr += rs->rules[i]->kind == MH_RK_CORRELATION;
    rs->corrs = mh_arena_alloc(&rs->arena, (ncorr ? ncorr : 1) * sizeof *rs->corrs);
    uint8_t *placed = mh_calloc(n ? n : 1, 1);
    if (!rs->corrs || !placed) {
        mh_free(placed);
        return MH_ENOMEM;
    }
    bool progress = true;
    while (progress) {
        progress = false;
        for (size_t i = 0; i < n; i++) {
            struct mh_rule *r = rs->rules[i];
            if (r->kind != MH_RK_CORRELATION || placed[i]) continue;
            bool ready = true;
            for (uint32_t j = 0; j < r->corr->nrules; j++) {
                uint32_t t = r->corr->rule_idx[j];
                if (t != UINT32_MAX && rs->rules[t]->kind == MH_RK_CORRELATION && !placed[t]) ready = false;
            }
            if (!ready) continue;
            placed[i] = 1;
            progress = true;
            if (!r->disabled) {
                for (uint32_t j = 0; j < r->corr->nrules; j++) {
                    uint32_t t = r->corr->rule_idx[j];
                    if (t != UINT32_MAX && rs->rules[t]->kind == MH_RK_CORRELATION && rs->rules[t]->disabled) {
                        r->disabled = true;
                        r->disabled_why = "an input correlation is disabled";
                        rs->stats.disabled++;
                        cwarn(rs, r, "correlation disabled", "input '%s' is disabled", r->corr->rule_refs[j]);
                        break;
                    }
                }
            }
            rs->corrs[rs->ncorrs++] = (uint32_t)i;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct mh_rule *r = rs->rules[i];
        if (r->kind == MH_RK_CORRELATION && !placed[i]) {
            r->disabled = true;
            r->disabled_why = "reference cycle";
            rs->stats.disabled++;
            cwarn(rs, r, "correlation disabled", "%s", "its references form a cycle");
            rs->corrs[rs->ncorrs++] = (uint32_t)i;
        }
    }
    mh_free(placed);
    /* emission: a referenced rule emits only if a referrer has generate: true */
    uint8_t *refd = mh_calloc(n ? n : 1, 1), *gen = mh_calloc(n ? n : 1, 1);
    if (!refd || !gen) {
        mh_free(refd);
        mh_free(gen);
        return MH_ENOMEM;
    }
    for (size_t i = 0; i < n; i++) {
        struct mh_rule *r = rs->rules[i];
        if (r->kind != MH_RK_CORRELATION) continue;
        for (uint32_t j = 0; j < r->corr->nrules; j++) {
            uint32_t t = r->corr->rule_idx[j];
            if (t == UINT32_MAX) continue;
            refd[t] = 1;
            if (r->corr->generate) gen[t] = 1;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (refd[i] && !gen[i]) rs->rules[i]->emit = false;
    mh_free(refd);
    mh_free(gen);
    return MH_OK;
}

/* ---- routing and fields ---- */

static uint32_t pick_route(const mh_ruleset *rs, const struct mh_rule *r)
{
    uint32_t best = UINT32_MAX;
    int best_score = -1;
    for (size_t i = 0; i < rs->nroutes; i++) {
        const struct mh_route *rt = &rs->routes[i];
        int score = 0;
        if (rt->product) {
            if (!r->product || strcmp(rt->product, r->product) != 0) continue;
            score++;
        }
        if (rt->service) {
            if (!r->service || strcmp(rt->service, r->service) != 0) continue;
            score++;
        }
        if (rt->category) {
            if (!r->category || strcmp(rt->category, r->category) != 0) continue;
            score++;
        }
        if (score == 0) continue; /* a route must name something */
        if (score > best_score) best_score = score, best = (uint32_t)i;
    }
    return best;
}

/* Append p unless an identical path (same transforms) is already listed or
 * it is longer than a path can be (a prefixed variant of a long name). */
static bool add_path(struct mh_fpath *paths, uint32_t *k, const struct mh_fpath *p)
{
    if (p->len > MH_MAX_FIELD_PATH) return true;
    for (uint32_t i = 0; i < *k; i++)
        if (paths[i].len == p->len && paths[i].xform == p->xform && paths[i].vmap == p->vmap &&
            memcmp(paths[i].path, p->path, p->len) == 0)
            return true;
    paths[(*k)++] = *p;
    return false;
}

static mh_status field_for(mh_ruleset *rs, uint32_t route, const char *name, uint32_t *out)
{
    if (strlen(name) > MH_MAX_FIELD_PATH) return MH_ELIMIT;
    char key[MH_MAX_FIELD_PATH + 16];
    int kl = snprintf(key, sizeof key, "%u\x1f%s", route, name);
    if (kl < 0 || (size_t)kl >= sizeof key) return MH_ELIMIT;
    struct mh_map_entry *e;
    bool created;
    MH_TRY(mh_map_put(&rs->field_index, key, (size_t)kl, &e, &created));
    if (!created) {
        *out = (uint32_t)(e->value - 1);
        return MH_OK;
    }
    if (MH_GROW(rs->fields, rs->capfields, rs->nfields + 1, 256, SIZE_MAX) != MH_OK)
        return MH_ENOMEM;
    struct mh_field *f = &rs->fields[rs->nfields];
    memset(f, 0, sizeof *f);
    f->name = mh_arena_strndup(&rs->arena, name, strlen(name));
    f->route = route;
    const struct mh_alias *al = NULL;
    if (route != UINT32_MAX) {
        const struct mh_route *rt = &rs->routes[route];
        struct mh_map_entry *ae = mh_map_get(&rt->aliases, name, strlen(name));
        if (ae) al = &rt->alias[ae->value - 1];
    }
    const struct mh_route *rt = route != UINT32_MAX ? &rs->routes[route] : NULL;
    uint32_t base = 1 + (al ? al->npaths : 0);
    uint32_t mult = 1 + (rt ? rt->nprefix : 0);
    uint32_t np = base * (rt && rt->try_case ? 2 : 1) * mult;
    struct mh_fpath *paths = mh_arena_alloc(&rs->arena, np * sizeof *paths);
    if (!f->name || !paths) return MH_ENOMEM;
    memset(paths, 0, np * sizeof *paths);
    paths[0].path = f->name;
    paths[0].len = (uint32_t)strlen(name);
    uint32_t k = 1;
    for (uint32_t i = 0; al && i < al->npaths; i++) {
        const struct mh_fpath *p = &al->paths[i];
        if (p->nvmap) f->synthetic = true;
        if (add_path(paths, &k, p)) continue;
    }
    /* case-flipped variants of the base paths (first letter of every segment) */
    uint32_t nbase = k;
    for (uint32_t i = 0; rt && rt->try_case && i < nbase; i++) {
        char *cp = mh_arena_strndup(&rs->arena, paths[i].path, paths[i].len);
        if (!cp) return MH_ENOMEM;
        for (uint32_t q = 0; q < paths[i].len; q++) {
            if (q != 0 && cp[q - 1] != '.') continue;
            char ch = cp[q];
            if (ch >= 'a' && ch <= 'z') cp[q] = (char)(ch - 32);
            else if (ch >= 'A' && ch <= 'Z') cp[q] = (char)(ch + 32);
        }
        struct mh_fpath v = paths[i];
        v.path = cp;
        add_path(paths, &k, &v);
    }
    /* prefixed variants of all of them (properties.ResultType, properties.resultType) */
    uint32_t nsofar = k;
    for (uint32_t pi = 0; rt && pi < rt->nprefix; pi++) {
        size_t pl = strlen(rt->prefix[pi]);
        for (uint32_t i = 0; i < nsofar; i++) {
            if (paths[i].len >= pl && mh_slice_eq_nocase(mh_slice_make(paths[i].path, pl),
                                                         mh_slice_make(rt->prefix[pi], pl)))
                continue;
            char *np2 = mh_arena_alloc(&rs->arena, pl + paths[i].len + 1);
            if (!np2) return MH_ENOMEM;
            memcpy(np2, rt->prefix[pi], pl);
            memcpy(np2 + pl, paths[i].path, paths[i].len + 1);
            struct mh_fpath v = paths[i];
            v.path = np2;
            v.len = (uint32_t)(pl + paths[i].len);
            add_path(paths, &k, &v);
        }
    }
    f->paths = paths;
    f->npaths = k;
    e->value = rs->nfields + 1;
    *out = (uint32_t)rs->nfields++;
    return MH_OK;
}

/* A field name longer than MH_MAX_FIELD_PATH names nothing an event can
 * hold (mh_event_get refuses such paths): the rule is disabled with a
 * warning rather than failing the whole ruleset. */
static mh_status disable_long_field(mh_ruleset *rs, struct mh_rule *r)
{
    if (!r->disabled) {
        r->disabled = true;
        r->disabled_why = "a field name is too long";
        rs->stats.disabled++;
        cwarn(rs, r, "rule disabled", "a field name is longer than %d bytes", MH_MAX_FIELD_PATH);
    }
    return MH_OK;
}

static mh_status resolve_dnode(mh_ruleset *rs, uint32_t route, struct mh_dnode *d, bool *kw)
{
    if (d->kind == MH_DN_ITEM) {
        struct mh_item *it = d->item;
        if (it->keyword) *kw = true;
        else MH_TRY(field_for(rs, route, it->fname, &it->field));
        for (uint32_t i = 0; i < it->nvals; i++)
            if (it->vals[i].kind == MH_VK_FIELDREF)
                MH_TRY(field_for(rs, route, it->vals[i].ref_name, &it->vals[i].field));
        return MH_OK;
    }
    for (uint32_t i = 0; i < d->n; i++) MH_TRY(resolve_dnode(rs, route, d->kids[i], kw));
    return MH_OK;
}

static mh_status corr_fields(mh_ruleset *rs, struct mh_rule *r)
{
    struct mh_corr *k = r->corr;
    size_t ng = (size_t)k->nrules * (k->ngroup ? k->ngroup : 1);
    k->gfield = mh_arena_alloc(&rs->arena, ng * sizeof *k->gfield);
    k->gname = mh_arena_alloc(&rs->arena, ng * sizeof *k->gname);
    k->vfield = mh_arena_alloc(&rs->arena, k->nrules * sizeof *k->vfield);
    if (!k->gfield || !k->gname || !k->vfield) return MH_ENOMEM;
    for (uint32_t j = 0; j < k->nrules; j++) {
        uint32_t t = k->rule_idx[j];
        const struct mh_rule *in = t == UINT32_MAX ? NULL : rs->rules[t];
        for (uint32_t g = 0; g < k->ngroup; g++) {
            const char *fname = k->group_by[g];
            for (uint32_t a = 0; a < k->naliases; a++) {
                if (strcmp(k->aliases[a].name, fname) != 0) continue;
                for (uint32_t q = 0; q < k->aliases[a].n; q++)
                    if (in && refers(in, k->aliases[a].rules[q])) fname = k->aliases[a].fields[q];
            }
            k->gname[j * k->ngroup + g] = fname;
            k->gfield[j * k->ngroup + g] = MH_FIELD_KEYWORD;
            if (in && in->kind == MH_RK_DETECTION)
                MH_TRY(field_for(rs, in->route, fname, &k->gfield[j * k->ngroup + g]));
        }
        k->vfield[j] = MH_FIELD_KEYWORD;
        if (k->field && in && in->kind == MH_RK_DETECTION)
            MH_TRY(field_for(rs, in->route, k->field, &k->vfield[j]));
    }
    return MH_OK;
}

/* ---- prefilter: necessary literals ---- */

struct lit {
    const char *p;
    size_t len;
    bool cased;
    double w; /* estimated share of records containing it (selectivity heuristic) */
};

struct need {
    bool always;
    size_t n;
    struct lit v[64]; /* more than 64 alternatives: give up (always) */
};

#define MIN_LIT 2

static void need_always(struct need *n)
{
    n->always = true;
    n->n = 0;
}

/* Words that occur in most records whatever the rule: a literal made of one
 * of them is weak (still exact, just not selective). */
static bool weak_word(const char *p, size_t len)
{
    static const char *const w[] = {"true", "false", "success", "succeeded", "failure", "failed",
                                    "none", "null", "yes", "no", "user", "value", "name"};
    for (size_t i = 0; i < sizeof w / sizeof w[0]; i++)
        if (strlen(w[i]) == len && mh_slice_eq_nocase(mh_slice_make(p, len), mh_slice_cstr(w[i])))
            return true;
    return false;
}

static void need_add_w(struct need *n, const char *p, size_t len, bool cased, double w);

static void need_add(struct need *n, const char *p, size_t len, bool cased)
{
    double w = weak_word(p, len) ? 0.9 : 1.0;
    if (w == 1.0)
        for (size_t i = 0; i < len && i < 16; i++) w *= 0.5;
    need_add_w(n, p, len, cased, w);
}

static void need_add_w(struct need *n, const char *p, size_t len, bool cased, double w)
{
    if (n->always) return;
    if (len < MIN_LIT) {
        need_always(n);
        return;
    }
    for (size_t i = 0; i < n->n; i++)
        if (n->v[i].len == len && n->v[i].cased == cased && memcmp(n->v[i].p, p, len) == 0) return;
    if (n->n == sizeof n->v / sizeof n->v[0]) {
        need_always(n);
        return;
    }
    n->v[n->n].p = p;
    n->v[n->n].len = len;
    n->v[n->n].cased = cased;
    n->v[n->n].w = w;
    n->n++;
}

static void need_union(struct need *a, const struct need *b)
{
    if (b->always) need_always(a);
    for (size_t i = 0; i < b->n && !a->always; i++)
        need_add_w(a, b->v[i].p, b->v[i].len, b->v[i].cased, b->v[i].w);
}

/* A better AND choice: the lower estimated share of candidate records (sum of
 * the alternatives' weights: 2^-len for a value literal, 0.9 for a weak word,
 * 0.3 for a field name). */
static double need_cost(const struct need *a)
{
    double c = 0;
    for (size_t i = 0; i < a->n; i++) c += a->v[i].w;
    return c;
}

static bool need_better(const struct need *a, const struct need *b)
{
    if (a->always) return false;
    if (b->always) return true;
    return need_cost(a) < need_cost(b);
}

/* Fold k into acc (the first k is taken as is): under AND one operand's
 * need suffices, so the better one is kept; under OR every alternative is
 * needed, so the literals are unioned. */
static void need_fold(struct need *acc, bool *have, const struct need *k, bool and)
{
    if (!*have) {
        *acc = *k;
    } else if (and) {
        if (need_better(k, acc)) *acc = *k;
    } else {
        need_union(acc, k);
    }
    *have = true;
}

/* Necessary literal of a regex: longest safe run of a top-level mandatory
 * literal sequence (outside groups and classes, not made optional by a
 * quantifier); a top-level alternation gives none. Copied into the arena. */
static mh_status regex_need(mh_ruleset *rs, const char *re, size_t n, bool caseless,
                            struct need *out)
{
    if (memmem(re, n, "(?i", 3)) caseless = true;
    char run[256], best[256];
    size_t rl = 0, bestl = 0;
    int depth = 0;
    bool in_class = false;
    for (size_t i = 0; i <= n; i++) {
        char c = i < n ? re[i] : 0;
        bool quant_prev = false;
        if (i < n && in_class) {
            if (c == '\\') i++;
            else if (c == ']') in_class = false;
            continue;
        }
        if (i < n && depth > 0 && c != '(' && c != ')') {
            if (c == '\\') i++;
            continue;
        }
        if (i < n && c == '|') {
            need_always(out);
            return MH_OK;
        }
        if (i < n && c == '\\') {
            char e = i + 1 < n ? re[i + 1] : 0;
            bool punct = e && !((e >= 'a' && e <= 'z') || (e >= 'A' && e <= 'Z') ||
                                (e >= '0' && e <= '9'));
            i++;
            if (punct && rl < sizeof run) {
                run[rl++] = e;
                continue;
            }
        } else if (i < n && c == '[') {
            in_class = true;
            if (i + 1 < n && re[i + 1] == '^') i++;
            if (i + 1 < n && re[i + 1] == ']') i++;
        } else if (i < n && c == '(') {
            depth++;
        } else if (i < n && c == ')') {
            depth--;
        } else if (i < n && (c == '*' || c == '?' || c == '{')) {
            quant_prev = true;
        } else if (i < n && c != '.' && c != '^' && c != '$' && c != '+' && rl < sizeof run) {
            run[rl++] = c;
            continue;
        }
        /* a break in the literal sequence */
        if (quant_prev && rl) rl--; /* x* x? x{0,n}: x is optional */
        const char *sr;
        size_t sl;
        mh_safe_run(run, rl, caseless, &sr, &sl);
        if (sl > bestl) {
            memcpy(best, sr, sl);
            bestl = sl;
        }
        rl = 0;
        if (i < n && c == '{')
            while (i < n && re[i] != '}') i++;
        /* a quantifier right after a group or class may make it optional:
         * nothing was taken from inside them anyway */
    }
    if (bestl < MIN_LIT) {
        need_always(out);
        return MH_OK;
    }
    char *keep = mh_arena_strndup(&rs->arena, best, bestl);
    if (!keep) return MH_ENOMEM;
    need_add(out, keep, bestl, !caseless);
    return MH_OK;
}

static void num_literal(const struct mh_vmatch *m, char *buf, size_t bufsz, size_t *len)
{
    double a = m->num < 0 ? -m->num : m->num;
    if (a == (double)(int64_t)a && a < 9e15) {
        snprintf(buf, bufsz, "%lld", (long long)a);
    } else {
        snprintf(buf, bufsz, "%.17g", a);
        /* use the written text's digits before any exponent */
        const char *src = m->pat.text;
        size_t k = 0;
        while (k < m->pat.text_len && k + 1 < bufsz && src[k] != 'e' && src[k] != 'E') {
            buf[k] = src[k];
            k++;
        }
        buf[k] = 0;
        if (buf[0] == '-') memmove(buf, buf + 1, k);
        /* trailing zeros of a fraction are not necessary */
        size_t l = strlen(buf);
        if (strchr(buf, '.'))
            while (l && (buf[l - 1] == '0' || buf[l - 1] == '.')) {
                bool dot = buf[l - 1] == '.';
                buf[--l] = 0;
                if (dot) break;
            }
    }
    *len = strlen(buf);
}

/*
 * The field itself: when a path resolves, the raw record contains the path's
 * last segment (an object key, a key with dots ending in it, or a folded
 * item's name, compared case-insensitively) -- so the union of the last
 * segments of all paths is a necessary literal set of any item that needs
 * the field to be present.
 */
static void field_need(const struct mh_field *f, struct need *out)
{
    out->always = false;
    out->n = 0;
    for (uint32_t i = 0; i < f->npaths && !out->always; i++) {
        const char *p = f->paths[i].path;
        size_t n = f->paths[i].len;
        const char *dot = memrchr(p, '.', n);
        const char *seg = dot ? dot + 1 : p;
        size_t sl = (size_t)(p + n - seg);
        const char *r;
        size_t l;
        mh_safe_run(seg, sl, false, &r, &l);
        if (l != sl) need_always(out);
        else need_add_w(out, seg, sl, false, 0.3);
    }
}

static mh_status item_need(mh_ruleset *rs, const struct mh_item *it, struct need *out)
{
    out->always = false;
    out->n = 0;
    if (it->negated) {
        need_always(out);
        return MH_OK;
    }
    /* values that can hold when the field is absent */
    for (uint32_t i = 0; i < it->nvals; i++) {
        const struct mh_vmatch *m = &it->vals[i];
        if (m->kind == MH_VK_NULL || (m->kind == MH_VK_EXISTS && !m->bval)) {
            if (!it->all) {
                need_always(out);
                return MH_OK;
            }
        }
    }
    struct need fneed;
    fneed.always = true;
    fneed.n = 0;
    if (!it->keyword && it->field != MH_FIELD_KEYWORD) field_need(&rs->fields[it->field], &fneed);
    const struct mh_field *syn = NULL;
    if (!it->keyword && it->field != MH_FIELD_KEYWORD && rs->fields[it->field].synthetic)
        syn = &rs->fields[it->field];
    struct need best;
    bool have = false;
    for (uint32_t i = 0; i < it->nvals; i++) {
        const struct mh_vmatch *m = &it->vals[i];
        struct need one = {0};
        switch (m->kind) {
        case MH_VK_STR: {
            const char *r;
            size_t l;
            mh_pattern_safe_run(&m->pat, &r, &l);
            if (l) need_add(&one, r, l, m->pat.cased);
            else need_always(&one);
            break;
        }
        case MH_VK_NUM: {
            char buf[64];
            size_t l;
            num_literal(m, buf, sizeof buf, &l);
            char *keep = mh_arena_strndup(&rs->arena, buf, l);
            if (!keep) return MH_ENOMEM;
            const char *r;
            size_t sl;
            mh_safe_run(keep, l, false, &r, &sl);
            if (sl == l && l) need_add(&one, keep, l, false);
            else need_always(&one);
            break;
        }
        case MH_VK_BOOL:
            need_add(&one, m->bval ? "true" : "false", m->bval ? 4 : 5, false);
            break;
        case MH_VK_RE:
            MH_TRY(regex_need(rs, m->src ? m->src : "", m->src ? m->src_len : 0,
                              (m->re_flags & MH_RE_CASELESS) != 0, &one));
            break;
        default:
            need_always(&one);
            break;
        }
        need_fold(&best, &have, &one, it->all);
    }
    if (!have) need_always(&best);
    /* the field's own name is necessary too: keep the better of the two */
    if (need_better(&fneed, &best)) {
        *out = fneed;
        return MH_OK;
    }
    /* A value map rewrites event values: the raw record then holds one of
     * the map's source values instead of the rule's text. */
    for (uint32_t p = 0; syn && p < syn->npaths && !best.always; p++) {
        const struct mh_fpath *fp = &syn->paths[p];
        for (uint32_t k = 0; k < fp->nvmap && !best.always; k++) {
            const char *from = fp->vmap[k].from;
            size_t fl = strlen(from);
            const char *r;
            size_t l;
            mh_safe_run(from, fl, false, &r, &l);
            if (l != fl || (fl == 1 && from[0] == '*')) need_always(&best);
            else need_add(&best, from, fl, false);
        }
    }
    *out = best;
    return MH_OK;
}

static mh_status dnode_need(mh_ruleset *rs, const struct mh_dnode *d, struct need *out)
{
    if (d->kind == MH_DN_ITEM) return item_need(rs, d->item, out);
    struct need acc, k;
    bool have = false;
    for (uint32_t i = 0; i < d->n; i++) {
        MH_TRY(dnode_need(rs, d->kids[i], &k));
        need_fold(&acc, &have, &k, d->kind == MH_DN_AND);
    }
    if (!have) need_always(&acc);
    *out = acc;
    return MH_OK;
}

static mh_status cond_need(mh_ruleset *rs, const struct mh_rule *r, const struct mh_cnode *c,
                           struct need *out)
{
    switch (c->kind) {
    case MH_CN_ID:
        return dnode_need(rs, r->dets[c->det].root, out);
    case MH_CN_NOT:
    case MH_CN_TRUE:
        need_always(out);
        return MH_OK;
    case MH_CN_FALSE:
        out->always = false;
        out->n = 0;
        return MH_OK;
    default:
        break;
    }
    struct need acc, k;
    bool have = false;
    for (uint32_t i = 0; i < c->n; i++) {
        MH_TRY(cond_need(rs, r, c->kids[i], &k));
        need_fold(&acc, &have, &k, c->kind == MH_CN_AND);
    }
    if (!have) need_always(&acc);
    *out = acc;
    return MH_OK;
}

static mh_status push_u32(mh_ruleset *rs, uint32_t **v, size_t *n, size_t *cap, uint32_t x)
{
    (void)rs;
    if (MH_GROW(*v, *cap, *n + 1, 16, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    (*v)[(*n)++] = x;
    return MH_OK;
}

/* Copy a heap u32 vector into the arena. */
static uint32_t *to_arena(mh_ruleset *rs, const uint32_t *v, size_t n)
{
    uint32_t *a = mh_arena_alloc(&rs->arena, (n ? n : 1) * sizeof *a);
    if (a && n) memcpy(a, v, n * sizeof *a);
    return a;
}

static mh_status build_prefilter(mh_ruleset *rs, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_map lit_index;
    mh_map_init(&lit_index, (size_t)MH_MAX_RULES * 64, false);
    uint32_t **lr = NULL; /* per literal: heap rule vectors */
    size_t *lrn = NULL, *lrc = NULL, caplits = 0;
    uint32_t *always = NULL;
    size_t nalways = 0, capalways = 0;
    struct mh_mm_pattern *pats = NULL;
    struct mh_pf_lit *lits = NULL;
    size_t nlits = 0;

    for (size_t ai = 0; ai < rs->nactive; ai++) {
        struct mh_rule *r = rs->rules[rs->active[ai]];
        struct need nd;
        MH_CHECK(cond_need(rs, r, r->cond, &nd));
        if (nd.always || nd.n == 0) {
            r->always = true;
            MH_CHECK(push_u32(rs, &always, &nalways, &capalways, r->index));
            continue;
        }
        for (size_t i = 0; i < nd.n; i++) {
            char key[300];
            size_t kl = nd.v[i].len < 256 ? nd.v[i].len : 256;
            key[0] = nd.v[i].cased ? 'C' : 'i';
            for (size_t q = 0; q < kl; q++)
                key[1 + q] = nd.v[i].cased ? nd.v[i].p[q] : (char)mh_ascii_lower((unsigned char)nd.v[i].p[q]);
            struct mh_map_entry *e;
            bool created;
            MH_CHECK(mh_map_put(&lit_index, key, kl + 1, &e, &created));
            if (created) {
                if (nlits == caplits) {
                    size_t nc = caplits ? caplits * 2 : 256;
                    struct mh_pf_lit *nl = mh_realloc(lits, nc * sizeof *nl);
                    if (!nl) MH_CHECK(MH_ENOMEM);
                    lits = nl;
                    uint32_t **nr = mh_realloc(lr, nc * sizeof *nr);
                    if (!nr) MH_CHECK(MH_ENOMEM);
                    lr = nr;
                    size_t *nn = mh_realloc(lrn, nc * sizeof *nn);
                    if (!nn) MH_CHECK(MH_ENOMEM);
                    lrn = nn;
                    size_t *ncp = mh_realloc(lrc, nc * sizeof *ncp);
                    if (!ncp) MH_CHECK(MH_ENOMEM);
                    lrc = ncp;
                    caplits = nc;
                }
                lits[nlits].text = mh_arena_strndup(&rs->arena, key + 1, kl);
                if (!lits[nlits].text) MH_CHECK(MH_ENOMEM);
                lits[nlits].len = (uint32_t)kl;
                lits[nlits].cased = nd.v[i].cased;
                lr[nlits] = NULL;
                lrn[nlits] = lrc[nlits] = 0;
                e->value = nlits + 1;
                nlits++;
            }
            size_t li = e->value - 1;
            if (lrn[li] == 0 || lr[li][lrn[li] - 1] != r->index)
                MH_CHECK(push_u32(rs, &lr[li], &lrn[li], &lrc[li], r->index));
        }
    }
    /* escapes that could hide a safe character: every "\u00" is reported (not
       single-match) and the matcher reads the two hex digits after it (one
       pattern instead of one per safe character: the literal set, and with it
       the scan's cost, is a third smaller) */
    const size_t nunsafe = 1;
    pats = mh_calloc(nlits + nunsafe + 1, sizeof *pats);
    if (!pats) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < nlits; i++) {
        pats[i].expr = lits[i].text;
        pats[i].len = lits[i].len;
        pats[i].id = (unsigned)i;
        pats[i].flags = MH_MM_LITERAL | MH_MM_SINGLEMATCH | (lits[i].cased ? 0 : MH_MM_CASELESS);
        lits[i].rules = to_arena(rs, lr[i], lrn[i]);
        lits[i].nrules = (uint32_t)lrn[i];
        if (!lits[i].rules) MH_CHECK(MH_ENOMEM);
    }
    pats[nlits].expr = "\\u00";
    pats[nlits].len = 4;
    pats[nlits].id = (unsigned)nlits;
    pats[nlits].flags = MH_MM_LITERAL | MH_MM_CASELESS;
    size_t bad = 0;
    st = mh_mm_compile(pats, nlits + nunsafe, &rs->pf_db, &bad, err);
    if (st) goto out;
    rs->pf_unsafe_id = (uint32_t)nlits;
    rs->lits = mh_arena_alloc(&rs->arena, (nlits ? nlits : 1) * sizeof *rs->lits);
    if (!rs->lits) MH_CHECK(MH_ENOMEM);
    if (nlits) memcpy(rs->lits, lits, nlits * sizeof *lits);
    rs->nlits = nlits;
    rs->always = to_arena(rs, always, nalways);
    if (!rs->always) MH_CHECK(MH_ENOMEM);
    rs->nalways = nalways;
out:
    for (size_t i = 0; i < nlits; i++) mh_free(lr ? lr[i] : NULL);
    mh_free(lr);
    mh_free(lrn);
    mh_free(lrc);
    mh_free(lits);
    mh_free(pats);
    mh_free(always);
    mh_map_fini(&lit_index);
    return st;
}

mh_status mh_ruleset_compile(mh_ruleset *rs, mh_error *err)
{
    mh_status st = MH_OK;
    uint32_t *active = NULL, *byk[MH_SRC__COUNT] = {0};
    size_t nactive = 0, capactive = 0, nbyk[MH_SRC__COUNT] = {0}, capbyk[MH_SRC__COUNT] = {0};
    if (rs->compiled) return MH_OK;
    MH_CHECK(do_filters(rs));
    MH_CHECK(do_correlations(rs));
    for (size_t i = 0; i < rs->nrules; i++) {
        struct mh_rule *r = rs->rules[i];
        r->route = UINT32_MAX;
        if (r->kind != MH_RK_DETECTION) continue;
        r->route = pick_route(rs, r);
        if (r->route != UINT32_MAX) rs->stats.routed++;
        if (r->disabled) continue;
        bool kw = false;
        for (uint32_t d = 0; d < r->ndets && !r->disabled; d++) {
            st = resolve_dnode(rs, r->route, r->dets[d].root, &kw);
            if (st == MH_ELIMIT) st = disable_long_field(rs, r);
            MH_CHECK(st);
        }
        if (r->disabled) continue;
        r->uses_keywords = kw;
        if (r->route == UINT32_MAX) continue;
        MH_CHECK(push_u32(rs, &active, &nactive, &capactive, r->index));
        uint32_t kinds = rs->routes[r->route].kinds;
        for (int k = 0; k < MH_SRC__COUNT; k++)
            if (kinds & (1u << k)) MH_CHECK(push_u32(rs, &byk[k], &nbyk[k], &capbyk[k], r->index));
    }
    for (size_t i = 0; i < rs->nrules; i++) {
        struct mh_rule *r = rs->rules[i];
        if (r->kind != MH_RK_CORRELATION) continue;
        st = corr_fields(rs, r);
        if (st == MH_ELIMIT) st = disable_long_field(rs, r);
        MH_CHECK(st);
    }
    rs->active = to_arena(rs, active, nactive);
    if (!rs->active) MH_CHECK(MH_ENOMEM);
    rs->nactive = nactive;
    for (int k = 0; k < MH_SRC__COUNT; k++) {
        rs->by_kind[k] = to_arena(rs, byk[k], nbyk[k]);
        if (!rs->by_kind[k]) MH_CHECK(MH_ENOMEM);
        rs->nby_kind[k] = nbyk[k];
    }
    MH_CHECK(build_prefilter(rs, err));
    rs->compiled = true;
out:
    mh_free(active);
    for (int k = 0; k < MH_SRC__COUNT; k++) mh_free(byk[k]);
    if (st == MH_ENOMEM) mh_error_set(err, st, "out of memory", "%s", "compiling rules");
    return st;
}
