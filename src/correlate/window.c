/*
 * correlate/window.c -- Sigma correlation engine (see window.h)
 *
 * Data model:
 *   pending  binary min-heap of copied hits keyed (time, arrival seq); the
 *            keys sit in the heap array itself, so sifting compares them
 *            without touching the hits (a pointer per comparison was a cache
 *            miss each). The finish sorts what is left once and walks it in
 *            order instead of popping hit by hit;
 *   cstate   per correlation rule: groups in a chained hash table (ASCII
 *            case-insensitive keys) and a doubly linked list in LRU order,
 *            which is event-time order because hits are processed sorted;
 *   group    a ring of window entries (time, value hash, value, source
 *            ref), a distinct-value table (hash -> hits in window), the
 *            running sum, and for temporal types the per-position state.
 *   carry    base-rule hits already processed whose time is within the
 *            correlation's horizon (its timespan plus the horizon of every
 *            correlation chained on it) of this run's EARLIEST hit, in
 *            release (= time) order: what a later run needs to continue the
 *            windows -- and a rerun of this run's own input, which starts
 *            that early again.
 *   pool     pending hits are carved from 1 MiB blocks in arrival order, each
 *            block counting its live hits and freed when the last goes (a
 *            malloc per hit cost more than the hit's processing; hits
 *            leave roughly in arrival order, so blocks empty as a stream
 *            advances, and with "sort all" they all go at the finish).
 * Invariants: entries in a ring are time-ordered; dist[] counts exactly
 * the ring's entries; total_entries = sum of ring sizes; carry is
 * time-ordered and holds at most MH_MAX_CORR_CARRY hits.
 *
 * Carry-over between runs (mh_correlator_save / _load, --state): instead of
 * serializing groups, rings and temporal positions, a run saves its carry
 * (the hits, with their file name, file key, record and offset) and the next
 * run feeds them back first, marked REPLAY: they are sorted in with the new
 * hits and rebuild every window exactly as one run over both inputs would,
 * but a firing on a replayed hit emits nothing (the earlier run reported
 * it). A new hit of the same correlation, position, file key, record and
 * offset as a pending replay supersedes it (the replay is dropped, the new
 * hit emits): rerunning the same input with the state it wrote gives the
 * same alerts. Replays neither advance the --lateness watermark nor release
 * anything by it; once this run's hits do, a replay released before its
 * duplicate arrives (more than the lateness later) cannot be superseded and
 * counts twice. Rows whose time is no log time are skipped and counted. The
 * carry is only kept once mh_correlator_load was called (a run with a state):
 * without one, processed hits are freed at once.
 */
#include "correlate/window.h"

#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "base/db.h"
#include "base/hash.h"
#include "mailhound/limits.h"

struct pchunk; /* below */

/* A pending hit, compact (a run holds every hit until its finish): the
 * hit's strings follow the struct back to back, group, value, then the
 * entities, each slen[] long (PEND_NULL: a NULL slice); a replay's file name
 * and key follow them. pend_hit() rebuilds the mh_corr_hit. */
#define PEND_STRS (2 + MH_ALERT_ENTITIES)
#define PEND_NULL UINT32_MAX

struct pend {
    struct pchunk *chunk; /* the block it was carved from */
    uint64_t seq;
    mh_time time;
    uint32_t corr, pos;
    struct mh_alert_ref ref; /* a replay's file and key point after its strings */
    uint32_t slen[PEND_STRS];
    bool replay; /* fed back from the state: fires silently */
    bool dead;   /* a replay superseded by the same hit of this run */
};

struct pchunk {
    uint32_t live;    /* pends carved from it and not yet freed */
    size_t used, cap; /* bytes of data[] */
    _Alignas(16) char data[];
};

#define PCHUNK_BYTES ((size_t)1 << 20)

static void pend_hit(const struct pend *p, struct mh_corr_hit *h)
{
    h->corr = p->corr;
    h->pos = p->pos;
    h->time = p->time;
    h->ref = p->ref;
    const char *r = (const char *)(p + 1);
    struct mh_slice *out[PEND_STRS];
    out[0] = &h->group;
    out[1] = &h->value;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) out[2 + i] = &h->ent[i];
    for (int i = 0; i < PEND_STRS; i++) {
        if (p->slen[i] == PEND_NULL) {
            *out[i] = MH_SLICE_NULL;
            continue;
        }
        *out[i] = mh_slice_make(r, p->slen[i]);
        r += p->slen[i];
    }
}

struct hslot { /* a heap element: the pending hit's key, inline */
    mh_time t;
    uint64_t seq;
    struct pend *p;
};

struct entry {
    mh_time t;
    uint64_t vh;
    double v;
    struct mh_alert_ref ref;
};

struct dslot {
    uint64_t h;
    uint32_t n; /* 0 = empty */
};

struct group {
    struct group *hnext, *prev, *next;
    uint64_t hash;
    char *key;
    uint32_t klen;
    mh_time last, suppress;
    bool capped;
    struct entry *ring;
    uint32_t head, n, cap;
    struct dslot *dist;
    uint32_t dcap, dn;
    double sum;
    uint32_t nsum; /* entries with a numeric value */
    mh_time *tpos; /* temporal: last time per position; ordered: chain start per position */
    struct mh_alert_ref *rpos;
};

struct cstate {
    const struct mh_rule *r;
    struct group **b;
    uint32_t nb;
    struct group *lru, *mru;
    size_t ngroups;
};

struct refby {
    uint32_t corr, pos;
};

struct mh_correlator {
    const mh_ruleset *rs;
    struct mh_correlator_opts o;
    struct cstate *cs; /* by rule index (NULL r for non-correlations) */
    struct hslot *heap;
    size_t nheap, capheap;
    uint64_t seq;
    mh_time max_seen, released;
    size_t total_entries;
    struct refby **refby; /* by rule index */
    uint32_t *nrefby;
    int64_t *horizon;     /* by rule index: how long a hit fed to it matters */
    int64_t max_horizon;
    struct pend **carry;  /* ring of processed base hits, oldest at carry_head */
    mh_time first_live;   /* earliest hit of this run released (INT64_MIN: none yet) */
    size_t carry_head, ncarry, capcarry;
    struct mh_map replays; /* replay identity -> pending replay (to supersede) */
    size_t nreplays;       /* replays pending in it (0: live hits skip the lookup) */
    bool carrying;         /* mh_correlator_load was called: keep the carry to save */
    struct pchunk *pool;   /* the block new pends are carved from */
    bool replaying;        /* the hit being processed is a replay */
    struct mh_corr_stats st;
};

static const uint64_t SEED = 0x5167a3c1u;

/* Timespan of correlation r plus the longest horizon of the correlations
 * chained on it (a firing of r is a hit of theirs). */
static int64_t horizon_of(const mh_correlator *c, uint32_t r, int depth)
{
    const struct mh_rule *rule = c->rs->rules[r];
    int64_t own = rule->corr ? rule->corr->timespan_us : 0, up = 0;
    if (depth >= 64) return own;
    for (uint32_t i = 0; i < c->nrefby[r]; i++) {
        int64_t h = horizon_of(c, c->refby[r][i].corr, depth + 1);
        if (h > up) up = h;
    }
    return own > INT64_MAX - up ? INT64_MAX : own + up;
}

bool mh_corr_is_input(const mh_ruleset *rs, uint32_t rule)
{
    for (size_t i = 0; i < rs->ncorrs; i++) {
        const struct mh_rule *r = rs->rules[rs->corrs[i]];
        if (r->disabled) continue;
        for (uint32_t j = 0; j < r->corr->nrules; j++)
            if (r->corr->rule_idx[j] == rule) return true;
    }
    return false;
}

mh_status mh_correlator_new(const mh_ruleset *rs, const struct mh_correlator_opts *o,
                            mh_correlator **out)
{
    mh_status st = MH_OK;
    mh_correlator *c = mh_calloc(1, sizeof *c);
    if (!c) return MH_ENOMEM;
    c->rs = rs;
    if (o) c->o = *o;
    c->max_seen = c->released = c->first_live = INT64_MIN;
    size_t n = rs->nrules ? rs->nrules : 1;
    c->cs = mh_calloc(n, sizeof *c->cs);
    c->refby = mh_calloc(n, sizeof *c->refby);
    c->nrefby = mh_calloc(n, sizeof *c->nrefby);
    if (!c->cs || !c->refby || !c->nrefby) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < rs->ncorrs; i++) {
        const struct mh_rule *r = rs->rules[rs->corrs[i]];
        if (r->disabled) continue;
        c->cs[r->index].r = r;
        for (uint32_t j = 0; j < r->corr->nrules; j++) {
            uint32_t t = r->corr->rule_idx[j];
            if (t == UINT32_MAX) continue;
            struct refby *v = mh_realloc(c->refby[t], (c->nrefby[t] + 1) * sizeof *v);
            if (!v) MH_CHECK(MH_ENOMEM);
            v[c->nrefby[t]].corr = r->index;
            v[c->nrefby[t]].pos = j;
            c->refby[t] = v;
            c->nrefby[t]++;
        }
    }
    c->horizon = mh_calloc(n, sizeof *c->horizon);
    if (!c->horizon) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < rs->ncorrs; i++) {
        const struct mh_rule *r = rs->rules[rs->corrs[i]];
        if (r->disabled) continue;
        c->horizon[r->index] = horizon_of(c, r->index, 0);
        if (c->horizon[r->index] > c->max_horizon) c->max_horizon = c->horizon[r->index];
    }
    mh_map_init(&c->replays, MH_MAX_CORR_CARRY, false);
    *out = c;
    c = NULL;
out:
    mh_correlator_free(c);
    return st;
}

static void group_free(struct group *g)
{
    if (!g) return;
    mh_free(g->key);
    mh_free(g->ring);
    mh_free(g->dist);
    mh_free(g->tpos);
    mh_free(g->rpos);
    mh_free(g);
}

/* A pending hit of n bytes (struct pend and its strings), from the pool. */
static struct pend *pend_alloc(mh_correlator *c, size_t n)
{
    n = (n + 15) & ~(size_t)15;
    struct pchunk *k = c->pool;
    if (!k || k->cap - k->used < n) {
        /* an empty block (pend_free rewound it) is too small for n: free it;
           a block with hits goes with its last one */
        if (k && !k->live) mh_free(k);
        c->pool = NULL;
        size_t cap = n > PCHUNK_BYTES ? n : PCHUNK_BYTES;
        k = mh_malloc(sizeof *k + cap);
        if (!k) return NULL;
        mh_prefault(k, sizeof *k + cap); /* filled hit by hit: map it at once */
        k->live = 0;
        k->used = 0;
        k->cap = cap;
        c->pool = k;
    }
    struct pend *p = (struct pend *)(void *)(k->data + k->used);
    k->used += n;
    k->live++;
    p->chunk = k;
    return p;
}

static void pend_free(mh_correlator *c, struct pend *p)
{
    struct pchunk *k = p->chunk;
    if (--k->live) return;
    if (k == c->pool)
        k->used = 0;
    else
        mh_free(k);
}

void mh_correlator_free(mh_correlator *c)
{
    if (!c) return;
    for (size_t i = 0; c->cs && i < c->rs->nrules; i++) {
        struct group *g = c->cs[i].lru;
        while (g) {
            struct group *n = g->next;
            group_free(g);
            g = n;
        }
        mh_free(c->cs[i].b);
    }
    for (size_t i = 0; c->refby && i < c->rs->nrules; i++) mh_free(c->refby[i]);
    for (size_t i = 0; i < c->nheap; i++) pend_free(c, c->heap[i].p);
    for (size_t i = 0; i < c->ncarry; i++) pend_free(c, c->carry[(c->carry_head + i) % c->capcarry]);
    mh_free(c->pool);
    mh_free(c->carry);
    mh_free(c->heap);
    mh_free(c->horizon);
    mh_map_fini(&c->replays);
    mh_free(c->refby);
    mh_free(c->nrefby);
    mh_free(c->cs);
    mh_free(c);
}

const struct mh_corr_stats *mh_correlator_stats(const mh_correlator *c)
{
    return &c->st;
}

/* ---- groups ---- */

static void lru_unlink(struct cstate *s, struct group *g)
{
    if (g->prev) g->prev->next = g->next;
    else s->lru = g->next;
    if (g->next) g->next->prev = g->prev;
    else s->mru = g->prev;
    g->prev = g->next = NULL;
}

static void lru_append(struct cstate *s, struct group *g)
{
    g->prev = s->mru;
    g->next = NULL;
    if (s->mru) s->mru->next = g;
    else s->lru = g;
    s->mru = g;
}

static void group_remove(mh_correlator *c, struct cstate *s, struct group *g)
{
    struct group **p = &s->b[g->hash & (s->nb - 1)];
    while (*p && *p != g) p = &(*p)->hnext;
    if (*p) *p = g->hnext;
    lru_unlink(s, g);
    c->total_entries -= g->n;
    s->ngroups--;
    group_free(g);
}

static mh_status rehash(struct cstate *s)
{
    uint32_t nb = s->nb ? s->nb * 2 : 64;
    struct group **b = mh_calloc(nb, sizeof *b);
    if (!b) return MH_ENOMEM;
    for (uint32_t i = 0; i < s->nb; i++) {
        struct group *g = s->b[i];
        while (g) {
            struct group *n = g->hnext;
            g->hnext = b[g->hash & (nb - 1)];
            b[g->hash & (nb - 1)] = g;
            g = n;
        }
    }
    mh_free(s->b);
    s->b = b;
    s->nb = nb;
    return MH_OK;
}

static mh_status group_get(mh_correlator *c, struct cstate *s, struct mh_slice key,
                           struct group **out)
{
    uint64_t h = mh_hash64_nocase(key.ptr ? key.ptr : "", key.len, SEED);
    if (s->nb) {
        for (struct group *g = s->b[h & (s->nb - 1)]; g; g = g->hnext)
            if (g->hash == h && mh_slice_eq_nocase(mh_slice_make(g->key, g->klen), key)) {
                *out = g;
                return MH_OK;
            }
    }
    if (s->ngroups >= MH_MAX_KEYS_PER_CORRELATION && s->lru) {
        group_remove(c, s, s->lru);
        c->st.groups_evicted++;
    }
    if (s->ngroups + 1 > (size_t)s->nb * 2 || !s->nb) MH_TRY(rehash(s));
    struct group *g = mh_calloc(1, sizeof *g);
    if (!g) return MH_ENOMEM;
    g->key = mh_strndup(key.ptr ? key.ptr : "", key.len);
    uint32_t np = s->r->corr->nrules;
    bool temporal = s->r->corr->type == MH_CORR_TEMPORAL || s->r->corr->type == MH_CORR_TEMPORAL_ORDERED;
    if (temporal) {
        g->tpos = mh_calloc(np, sizeof *g->tpos);
        g->rpos = mh_calloc(np, sizeof *g->rpos);
    }
    if (!g->key || (temporal && (!g->tpos || !g->rpos))) {
        group_free(g);
        return MH_ENOMEM;
    }
    for (uint32_t i = 0; temporal && i < np; i++) g->tpos[i] = MH_TIME_NONE;
    g->klen = (uint32_t)key.len;
    g->hash = h;
    g->suppress = INT64_MIN;
    g->hnext = s->b[h & (s->nb - 1)];
    s->b[h & (s->nb - 1)] = g;
    lru_append(s, g);
    s->ngroups++;
    *out = g;
    return MH_OK;
}

/* distinct table */
static struct dslot *dist_find(struct group *g, uint64_t h)
{
    if (!g->dcap) return NULL;
    uint32_t i = (uint32_t)h & (g->dcap - 1);
    while (g->dist[i].n) {
        if (g->dist[i].h == h) return &g->dist[i];
        i = (i + 1) & (g->dcap - 1);
    }
    return NULL;
}

static mh_status dist_add(mh_correlator *c, struct group *g, uint64_t h)
{
    struct dslot *d = dist_find(g, h);
    if (d) {
        d->n++;
        return MH_OK;
    }
    if (g->dn >= MH_MAX_DISTINCT_PER_KEY) {
        g->capped = true;
        c->st.distinct_saturated++;
        return MH_OK;
    }
    if ((g->dn + 1) * 2 > g->dcap) {
        uint32_t nc = g->dcap ? g->dcap * 2 : 16;
        struct dslot *nd = mh_calloc(nc, sizeof *nd);
        if (!nd) return MH_ENOMEM;
        for (uint32_t i = 0; i < g->dcap; i++) {
            if (!g->dist[i].n) continue;
            uint32_t k = (uint32_t)g->dist[i].h & (nc - 1);
            while (nd[k].n) k = (k + 1) & (nc - 1);
            nd[k] = g->dist[i];
        }
        mh_free(g->dist);
        g->dist = nd;
        g->dcap = nc;
    }
    uint32_t i = (uint32_t)h & (g->dcap - 1);
    while (g->dist[i].n) i = (i + 1) & (g->dcap - 1);
    g->dist[i].h = h;
    g->dist[i].n = 1;
    g->dn++;
    return MH_OK;
}

static void dist_del(struct group *g, uint64_t h)
{
    struct dslot *d = dist_find(g, h);
    if (!d) return; /* saturated value never counted */
    if (--d->n) return;
    /* backward-shift deletion keeps probing chains intact */
    uint32_t i = (uint32_t)(d - g->dist);
    uint32_t j = i;
    for (;;) {
        j = (j + 1) & (g->dcap - 1);
        if (!g->dist[j].n) break;
        uint32_t k = (uint32_t)g->dist[j].h & (g->dcap - 1);
        if ((j > i && (k <= i || k > j)) || (j < i && (k <= i && k > j))) {
            g->dist[i] = g->dist[j];
            i = j;
        }
    }
    g->dist[i].n = 0;
    g->dist[i].h = 0;
    g->dn--;
}

static void ring_pop(mh_correlator *c, struct group *g, bool values)
{
    struct entry *e = &g->ring[g->head];
    if (values) dist_del(g, e->vh);
    if (!isnan(e->v)) {
        g->sum -= e->v;
        g->nsum--;
    }
    g->head = (g->head + 1) % g->cap;
    g->n--;
    c->total_entries--;
}

static mh_status ring_push(mh_correlator *c, struct cstate *s, struct group *g,
                           const struct entry *e, bool values)
{
    if (g->n == MH_MAX_EVENTS_PER_KEY) {
        ring_pop(c, g, values);
        g->capped = true;
        c->st.entries_evicted++;
    }
    if (g->n == g->cap) {
        uint32_t nc = g->cap ? g->cap * 2 : 8;
        if (nc > MH_MAX_EVENTS_PER_KEY) nc = MH_MAX_EVENTS_PER_KEY;
        struct entry *r = mh_malloc((size_t)nc * sizeof *r);
        if (!r) return MH_ENOMEM;
        for (uint32_t i = 0; i < g->n; i++) r[i] = g->ring[(g->head + i) % g->cap];
        mh_free(g->ring);
        g->ring = r;
        g->cap = nc;
        g->head = 0;
    }
    g->ring[(g->head + g->n) % g->cap] = *e;
    g->n++;
    c->total_entries++;
    if (values) MH_TRY(dist_add(c, g, e->vh));
    if (!isnan(e->v)) {
        g->sum += e->v;
        g->nsum++;
    }
    /* overall cap: drop the least recent other group */
    while (c->total_entries > MH_MAX_CORR_ENTRIES && s->lru && s->lru != g) {
        group_remove(c, s, s->lru);
        c->st.groups_evicted++;
    }
    return MH_OK;
}

static bool bounds_ok(const struct mh_corr *k, double x)
{
    for (uint32_t i = 0; i < k->nbounds; i++) {
        double b = k->bounds[i].value;
        bool ok;
        switch (k->bounds[i].op) {
        case MH_CMP_GT: ok = x > b; break;
        case MH_CMP_GTE: ok = x >= b; break;
        case MH_CMP_LT: ok = x < b; break;
        case MH_CMP_LTE: ok = x <= b; break;
        case MH_CMP_EQ: ok = x == b; break;
        default: ok = x != b; break;
        }
        if (!ok) return false;
    }
    return true;
}

static mh_status process(mh_correlator *c, const struct mh_corr_hit *h, int depth);

static bool num_of(struct mh_slice s, double *out)
{
    return s.ptr && mh_num_parse(s.ptr, s.len, true, out);
}

static mh_status fire(mh_correlator *c, struct cstate *s, struct group *g,
                      const struct mh_corr_hit *h, double metric, int depth)
{
    const struct mh_rule *r = s->r;
    const struct mh_corr *k = r->corr;
    struct mh_slice gval[64];
    uint32_t ng = k->ngroup < 64 ? k->ngroup : 64;
    /* split the first-seen key spelling into group values */
    size_t p = 0;
    for (uint32_t i = 0; i < ng; i++) {
        size_t q = p;
        while (q < g->klen && g->key[q] != '\x1f') q++;
        gval[i] = mh_slice_make(g->key + p, q - p);
        p = q + 1;
    }
    struct mh_alert_ref refs[MH_MAX_CORR_REFS];
    uint32_t nrefs = 0;
    if (g->tpos) {
        for (uint32_t i = 0; i < k->nrules && nrefs < MH_MAX_CORR_REFS; i++)
            if (g->tpos[i] != MH_TIME_NONE) refs[nrefs++] = g->rpos[i];
    } else {
        uint32_t from = g->n > MH_MAX_CORR_REFS ? g->n - MH_MAX_CORR_REFS : 0;
        for (uint32_t i = from; i < g->n; i++) refs[nrefs++] = g->ring[(g->head + i) % g->cap].ref;
    }
    if (c->replaying) {
        c->st.replay_fired++; /* reported by the run that saw it */
    } else {
        c->st.fired++;
    }
    if (r->emit && c->o.out && !c->replaying) {
        struct mh_alert a;
        memset(&a, 0, sizeof a);
        a.time = h->time;
        a.rule = r;
        a.source = h->ref;
        for (int i = 0; i < MH_ALERT_ENTITIES; i++) a.ent[i] = h->ent[i];
        a.is_corr = true;
        a.capped = g->capped;
        a.count = metric;
        a.ngroup = ng;
        a.gname = k->group_by;
        a.gval = gval;
        a.nrefs = nrefs;
        a.refs = refs;
        c->st.emitted++;
        MH_TRY(c->o.out(c->o.ctx, &a));
    }
    /* chaining: this firing is a hit of every correlation that references it */
    if (depth >= 64) return MH_OK;
    for (uint32_t i = 0; i < c->nrefby[r->index]; i++) {
        const struct refby *rb = &c->refby[r->index][i];
        const struct mh_corr *k2 = c->rs->rules[rb->corr]->corr;
        char key[4096];
        size_t kl = 0;
        for (uint32_t gi = 0; gi < k2->ngroup; gi++) {
            const char *want = k2->gname[rb->pos * k2->ngroup + gi];
            struct mh_slice v = MH_SLICE_NULL;
            for (uint32_t q = 0; q < ng; q++)
                if (strcmp(k->group_by[q], want) == 0) v = gval[q];
            if (gi && kl < sizeof key) key[kl++] = '\x1f';
            size_t take = v.len < sizeof key - kl ? v.len : sizeof key - kl;
            if (take) memcpy(key + kl, v.ptr, take);
            kl += take;
        }
        struct mh_corr_hit h2 = *h;
        h2.corr = rb->corr;
        h2.pos = rb->pos;
        h2.group = mh_slice_make(key, kl);
        h2.value = MH_SLICE_NULL;
        MH_TRY(process(c, &h2, depth + 1));
    }
    return MH_OK;
}

static mh_status process(mh_correlator *c, const struct mh_corr_hit *h, int depth)
{
    struct cstate *s = &c->cs[h->corr];
    if (!s->r) return MH_OK;
    const struct mh_corr *k = s->r->corr;
    int64_t span = k->timespan_us;
    mh_time t = h->time;
    /* drop groups idle for longer than the window (LRU order = time order) */
    while (s->lru && s->lru != s->mru && s->lru->last < t - span && s->lru->suppress < t) {
        group_remove(c, s, s->lru);
        c->st.groups_expired++;
    }
    struct group *g;
    MH_TRY(group_get(c, s, h->group, &g));
    lru_unlink(s, g);
    lru_append(s, g);
    if (t > g->last) g->last = t;
    double metric = 0;
    bool ready = false;
    switch (k->type) {
    case MH_CORR_TEMPORAL: {
        g->tpos[h->pos] = t;
        g->rpos[h->pos] = h->ref;
        uint32_t inwin = 0;
        for (uint32_t i = 0; i < k->nrules; i++)
            if (g->tpos[i] != MH_TIME_NONE && g->tpos[i] >= t - span) inwin++;
            else g->tpos[i] = MH_TIME_NONE;
        metric = inwin;
        ready = k->nbounds ? bounds_ok(k, metric) : inwin == k->nrules;
        break;
    }
    case MH_CORR_TEMPORAL_ORDERED: {
        /* tpos[j] = start time of the latest-starting chain rules[0..j] */
        for (uint32_t j = k->nrules; j-- > 0;) {
            uint32_t idx = k->rule_idx[j];
            if (idx != k->rule_idx[h->pos]) continue;
            if (j == 0) {
                g->tpos[0] = t;
                g->rpos[0] = h->ref;
            } else if (g->tpos[j - 1] != MH_TIME_NONE && g->tpos[j - 1] >= t - span) {
                if (g->tpos[j] == MH_TIME_NONE || g->tpos[j - 1] >= g->tpos[j]) {
                    g->tpos[j] = g->tpos[j - 1];
                    g->rpos[j] = h->ref;
                }
            }
        }
        uint32_t last = k->nrules - 1;
        ready = g->tpos[last] != MH_TIME_NONE && g->tpos[last] >= t - span;
        metric = k->nrules;
        break;
    }
    default: {
        bool values = k->type == MH_CORR_VALUE_COUNT || k->type == MH_CORR_VALUE_PERCENTILE;
        struct entry e;
        e.t = t;
        e.ref = h->ref;
        e.v = NAN;
        e.vh = 0;
        if (k->type != MH_CORR_EVENT_COUNT) {
            if (!h->value.ptr) return MH_OK; /* the event lacks the value field */
            e.vh = mh_hash64_nocase(h->value.ptr, h->value.len, SEED);
            double d;
            if (num_of(h->value, &d)) e.v = d;
            if ((k->type == MH_CORR_VALUE_SUM || k->type == MH_CORR_VALUE_AVG) && isnan(e.v))
                return MH_OK; /* not a number: not aggregated */
        }
        MH_TRY(ring_push(c, s, g, &e, values));
        while (g->n && g->ring[g->head].t < t - span) ring_pop(c, g, values);
        switch (k->type) {
        case MH_CORR_EVENT_COUNT: metric = g->n; break;
        case MH_CORR_VALUE_COUNT: metric = g->dn; break;
        case MH_CORR_VALUE_SUM: metric = g->sum; break;
        case MH_CORR_VALUE_AVG: metric = g->nsum ? g->sum / g->nsum : 0; break;
        default: {
            struct dslot *d = dist_find(g, e.vh);
            metric = g->n ? 100.0 * (d ? d->n : 0) / g->n : 0;
            break;
        }
        }
        ready = bounds_ok(k, metric);
        break;
    }
    }
    if (!ready || t <= g->suppress) return MH_OK;
    g->suppress = t + span;
    MH_TRY(fire(c, s, g, h, metric, depth));
    if (g->tpos)
        for (uint32_t i = 0; i < k->nrules; i++) g->tpos[i] = MH_TIME_NONE;
    return MH_OK;
}

/* ---- reordering ---- */

static bool before(const struct hslot *a, const struct hslot *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void heap_up(mh_correlator *c, size_t i)
{
    struct hslot x = c->heap[i];
    while (i) {
        size_t p = (i - 1) / 2;
        if (!before(&x, &c->heap[p])) break;
        c->heap[i] = c->heap[p];
        i = p;
    }
    c->heap[i] = x;
}

static struct pend *heap_pop(mh_correlator *c)
{
    struct pend *top = c->heap[0].p;
    struct hslot x = c->heap[--c->nheap];
    size_t n = c->nheap, i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m;
        if (l >= n) break;
        m = r < n && before(&c->heap[r], &c->heap[l]) ? r : l;
        if (!before(&c->heap[m], &x)) break;
        c->heap[i] = c->heap[m];
        i = m;
    }
    if (n) c->heap[i] = x;
    return top;
}

static mh_status push_hit(mh_correlator *c, const struct mh_corr_hit *h, bool replay);

/* Identity of a hit for superseding a replay: correlation, position, file
 * key, record, offset. */
static size_t replay_key(const struct mh_corr_hit *h, char out[32])
{
    const char *k = h->ref.key ? h->ref.key : "";
    uint64_t v[4] = {(uint64_t)h->corr << 32 | h->pos, h->ref.record, h->ref.offset,
                     mh_hash64(k, strlen(k), SEED)};
    memcpy(out, v, sizeof v);
    return sizeof v;
}

/* Keep a processed base hit while it may matter to a later run. */
static void carry_push(mh_correlator *c, struct pend *p)
{
    if (!c->max_horizon || !c->carrying) { /* no correlation, or no state to save it in */
        pend_free(c, p);
        return;
    }
    mh_time from = c->first_live != INT64_MIN ? c->first_live : p->time;
    mh_time cutoff = from > INT64_MIN + c->max_horizon ? from - c->max_horizon : INT64_MIN;
    while (c->ncarry) {
        struct pend *o = c->carry[c->carry_head];
        bool old = o->time < cutoff;
        if (!old && c->ncarry < MH_MAX_CORR_CARRY) break;
        if (!old) c->st.carry_dropped++;
        pend_free(c, o);
        c->carry_head = (c->carry_head + 1) % c->capcarry;
        c->ncarry--;
    }
    if (c->ncarry == c->capcarry) {
        size_t nc = c->capcarry ? c->capcarry * 2 : 1024;
        if (nc > MH_MAX_CORR_CARRY) nc = MH_MAX_CORR_CARRY;
        struct pend **v = mh_malloc(nc * sizeof *v);
        if (!v) { /* no room to keep it: the next run misses this hit */
            c->st.carry_dropped++;
            pend_free(c, p);
            return;
        }
        for (size_t i = 0; i < c->ncarry; i++) v[i] = c->carry[(c->carry_head + i) % c->capcarry];
        mh_free(c->carry);
        c->carry = v;
        c->capcarry = nc;
        c->carry_head = 0;
    }
    c->carry[(c->carry_head + c->ncarry) % c->capcarry] = p;
    c->ncarry++;
}

/* Process p, the earliest pending hit, already out of the heap. */
static mh_status release(mh_correlator *c, struct pend *p)
{
    struct mh_corr_hit h;
    pend_hit(p, &h);
    if (p->replay && !p->dead && c->nreplays) {
        char k[32];
        size_t kl = replay_key(&h, k);
        struct mh_map_entry *e = mh_map_get(&c->replays, k, kl);
        if (e && e->value) { /* released: can no longer be superseded */
            e->value = 0;
            c->nreplays--;
        }
    }
    if (p->dead) {
        pend_free(c, p);
        return MH_OK;
    }
    c->released = p->time;
    if (!p->replay && c->first_live == INT64_MIN) c->first_live = p->time;
    c->replaying = p->replay;
    mh_status st = process(c, &h, 0);
    c->replaying = false;
    carry_push(c, p);
    return st;
}

static mh_status release_one(mh_correlator *c)
{
    return release(c, heap_pop(c));
}

/* Sort v[0..n) by (time, seq): bottom-up merge sort through tmp (n
 * elements), runs of 16 first sorted by insertion. O(n log n) whatever the
 * input (times come from the logs), and the comparison inlined -- qsort's
 * call per comparison cost more than the merging. Returns the sorted array
 * (v or tmp). */
static struct hslot *sort_hslots(struct hslot *v, struct hslot *tmp, size_t n)
{
    enum { RUN = 16 };
    for (size_t lo = 0; lo < n; lo += RUN) {
        size_t hi = lo + RUN < n ? lo + RUN : n;
        for (size_t i = lo + 1; i < hi; i++) {
            struct hslot x = v[i];
            size_t j = i;
            for (; j > lo && before(&x, &v[j - 1]); j--) v[j] = v[j - 1];
            v[j] = x;
        }
    }
    struct hslot *a = v, *b = tmp;
    for (size_t w = RUN; w < n; w *= 2) {
        for (size_t lo = 0; lo < n; lo += 2 * w) {
            size_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            size_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) b[o++] = before(&a[j], &a[i]) ? a[j++] : a[i++];
            while (i < mid) b[o++] = a[i++];
            while (j < hi) b[o++] = a[j++];
        }
        struct hslot *t = a;
        a = b;
        b = t;
    }
    return a;
}

mh_status mh_correlator_feed(mh_correlator *c, const struct mh_corr_hit *h)
{
    c->st.hits++;
    if (h->time == MH_TIME_NONE) {
        c->st.untimed++;
        return MH_OK;
    }
    if (h->time < c->released ||
        (c->o.lateness_us >= 0 && c->max_seen != INT64_MIN && h->time < c->max_seen - c->o.lateness_us)) {
        c->st.late++;
        return MH_OK;
    }
    if (c->nreplays) {
        char k[32];
        size_t kl = replay_key(h, k);
        struct mh_map_entry *e = mh_map_get(&c->replays, k, kl);
        if (e && e->value) {
            ((struct pend *)(uintptr_t)e->value)->dead = true;
            e->value = 0;
            c->nreplays--;
            c->st.replay_superseded++;
        }
    }
    return push_hit(c, h, false);
}

/* Copy h into a pending hit (a replay also copies its file name and key). */
static mh_status push_hit(mh_correlator *c, const struct mh_corr_hit *h, bool replay)
{
    const struct mh_slice *in[PEND_STRS];
    in[0] = &h->group;
    in[1] = &h->value;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) in[2 + i] = &h->ent[i];
    size_t extra = 0;
    for (int i = 0; i < PEND_STRS; i++) {
        if (in[i]->ptr && in[i]->len >= PEND_NULL) return MH_ELIMIT;
        extra += in[i]->ptr ? in[i]->len : 0;
    }
    size_t fl = replay && h->ref.file ? strlen(h->ref.file) + 1 : 0;
    size_t kl = replay && h->ref.key ? strlen(h->ref.key) + 1 : 0;
    struct pend *p = pend_alloc(c, sizeof *p + extra + fl + kl);
    if (!p) return MH_ENOMEM;
    p->seq = c->seq++;
    p->replay = replay;
    p->dead = false;
    p->time = h->time;
    p->corr = h->corr;
    p->pos = h->pos;
    p->ref = h->ref;
    char *w = (char *)(p + 1);
    for (int i = 0; i < PEND_STRS; i++) {
        if (!in[i]->ptr) {
            p->slen[i] = PEND_NULL;
            continue;
        }
        p->slen[i] = (uint32_t)in[i]->len;
        if (in[i]->len) memcpy(w, in[i]->ptr, in[i]->len);
        w += in[i]->len;
    }
    if (fl) {
        memcpy(w, h->ref.file, fl);
        p->ref.file = w;
        w += fl;
    }
    if (kl) {
        memcpy(w, h->ref.key, kl);
        p->ref.key = w;
    }
    if (MH_GROW(c->heap, c->capheap, c->nheap + 1, 1024, SIZE_MAX) != MH_OK) {
        pend_free(c, p);
        return MH_ENOMEM;
    }
    c->heap[c->nheap++] = (struct hslot){p->time, p->seq, p};
    heap_up(c, c->nheap - 1);
    if (replay) {
        /* remembered so that the same hit of this run can supersede it; a
           full table only means that one cannot */
        char k[32];
        size_t n = replay_key(h, k);
        struct mh_map_entry *e;
        if (mh_map_put(&c->replays, k, n, &e, NULL) == MH_OK) {
            if (!e->value) c->nreplays++;
            e->value = (uint64_t)(uintptr_t)p;
        }
    }
    /* Replays wait for this run's hits: they neither advance the watermark
       nor release anything by it (else a rerun's own hits would be late). */
    if (!replay && h->time > c->max_seen) c->max_seen = h->time;
    if (c->nheap > c->st.pending_max) c->st.pending_max = c->nheap;
    bool stream = !replay && c->o.lateness_us >= 0;
    while (c->nheap && (c->nheap > MH_MAX_CORR_PENDING ||
                        (stream && c->heap[0].t <= c->max_seen - c->o.lateness_us)))
        MH_TRY(release_one(c));
    return MH_OK;
}

mh_status mh_correlator_finish(mh_correlator *c)
{
    /* Everything goes now: sort once (the keys are unique, so the order is
       the heap's) and walk in order, fetching the hits a few ahead -- they
       lie in arrival order, and a pop per hit waited on each. */
    size_t n = c->nheap;
    struct hslot *v = c->heap, *tmp = NULL;
    if (n > 1) {
        tmp = mh_malloc(n * sizeof *tmp);
        if (!tmp) { /* no room to sort: pop one by one */
            while (c->nheap) MH_TRY(release_one(c));
            return MH_OK;
        }
        v = sort_hslots(c->heap, tmp, n);
    }
    c->nheap = 0;
    mh_status st = MH_OK;
    size_t i = 0;
    for (; i < n && !st; i++) {
        if (i + 8 < n) {
            const char *q = (const char *)v[i + 8].p;
            for (int l = 0; l < 4; l++) __builtin_prefetch(q + 64 * l); /* the hit and its strings */
        }
        st = release(c, v[i].p);
    }
    for (; i < n; i++) pend_free(c, v[i].p); /* after an error */
    mh_free(tmp);
    return st;
}

/* ---- carry-over (--state) ---- */

/* A rule as the state names it: its id, else its name, else its title. */
static const char *ident(const struct mh_rule *r)
{
    return r->id ? r->id : r->name ? r->name : r->title ? r->title : "";
}

static const struct mh_rule *find_corr(const mh_correlator *c, struct mh_slice id)
{
    for (size_t i = 0; i < c->rs->ncorrs; i++) {
        const struct mh_rule *r = c->rs->rules[c->rs->corrs[i]];
        if (!r->disabled && mh_slice_eq(mh_slice_cstr(ident(r)), id)) return r;
    }
    return NULL;
}

static const char *base_id(const mh_correlator *c, const struct mh_rule *r, uint32_t pos)
{
    uint32_t b = pos < r->corr->nrules ? r->corr->rule_idx[pos] : UINT32_MAX;
    return b < c->rs->nrules ? ident(c->rs->rules[b]) : NULL;
}

/* The times mh_time_parse can give: 0001-01-01 .. 9999-12-31T23:59:59.999999. */
#define CARRY_TIME_MIN (INT64_C(-62135596800) * MH_USEC_PER_SEC)
#define CARRY_TIME_MAX (INT64_C(253402300800) * MH_USEC_PER_SEC - 1)

mh_status mh_correlator_load(mh_correlator *c, mh_db *db, mh_error *err)
{
    mh_status st = MH_OK;
    c->carrying = true; /* a state: this run's carry is saved to it */
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(db, "SELECT corr, pos, base, time, grp, value, file, key, record, off"
                               " FROM sigma_carry ORDER BY seq", &q, err));
    while (!(st = mh_db_step(q, &row, err)) && row) {
        struct mh_slice id, base, grp, val, file, key;
        MH_CHECK(mh_db_column_text(q, 0, &id, err));
        const struct mh_rule *r = find_corr(c, id);
        int64_t pos = mh_db_column_int(q, 1);
        MH_CHECK(mh_db_column_text(q, 2, &base, err));
        const char *want = r && pos >= 0 && pos < (int64_t)r->corr->nrules ? base_id(c, r, (uint32_t)pos) : NULL;
        if (!want || !mh_slice_eq(mh_slice_cstr(want), base)) {
            c->st.replay_skipped++; /* the rule is gone or changed */
            continue;
        }
        MH_CHECK(mh_db_column_text(q, 4, &grp, err));
        MH_CHECK(mh_db_column_text(q, 5, &val, err));
        MH_CHECK(mh_db_column_text(q, 6, &file, err));
        MH_CHECK(mh_db_column_text(q, 7, &key, err));
        char fbuf[MH_MAX_PATH_BYTES], kbuf[MH_MAX_PATH_BYTES];
        if (file.len >= sizeof fbuf || key.len >= sizeof kbuf) {
            c->st.replay_skipped++;
            continue;
        }
        memcpy(fbuf, file.ptr ? file.ptr : "", file.len);
        fbuf[file.len] = 0;
        memcpy(kbuf, key.ptr ? key.ptr : "", key.len);
        kbuf[key.len] = 0;
        struct mh_corr_hit h;
        memset(&h, 0, sizeof h);
        h.corr = r->index;
        h.pos = (uint32_t)pos;
        h.time = mh_db_column_int(q, 3);
        if (h.time < CARRY_TIME_MIN || h.time > CARRY_TIME_MAX) {
            c->st.replay_skipped++; /* not a time any log gives (0001..9999) */
            continue;
        }
        h.group = mh_slice_make(grp.ptr ? grp.ptr : "", grp.len);
        h.value = mh_db_column_is_null(q, 5) ? MH_SLICE_NULL : mh_slice_make(val.ptr ? val.ptr : "", val.len);
        h.ref.file = fbuf;
        h.ref.key = kbuf;
        h.ref.record = (uint64_t)mh_db_column_int(q, 8);
        h.ref.offset = (uint64_t)mh_db_column_int(q, 9);
        c->st.replayed++;
        MH_CHECK(push_hit(c, &h, true));
    }
out:
    mh_db_finalize(q);
    return st;
}

mh_status mh_correlator_save(const mh_correlator *c, mh_db *db, mh_error *err)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_exec(db, "DELETE FROM sigma_carry", err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO sigma_carry VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9,"
                               " ?10, ?11)", &q, err));
    int64_t seq = 0;
    for (size_t i = 0; i < c->ncarry; i++) {
        const struct pend *p = c->carry[(c->carry_head + i) % c->capcarry];
        struct mh_corr_hit hit;
        pend_hit(p, &hit);
        const struct mh_corr_hit *h = &hit;
        const struct mh_rule *r = c->rs->rules[h->corr];
        int64_t hz = c->horizon[h->corr];
        /* what no later hit -- nor this run's input again -- can reach (a run
           without hits of its own keeps what lies within the horizon of its
           latest carried hit, carry_push) */
        if (c->first_live != INT64_MIN && c->first_live > INT64_MIN + hz && h->time < c->first_live - hz)
            continue;
        const char *base = base_id(c, r, h->pos);
        const char *file = h->ref.file ? h->ref.file : "", *key = h->ref.key ? h->ref.key : "";
        MH_CHECK(mh_db_bind_int(q, 1, seq++, err));
        MH_CHECK(mh_db_bind_text(q, 2, ident(r), strlen(ident(r)), err));
        MH_CHECK(mh_db_bind_int(q, 3, h->pos, err));
        MH_CHECK(mh_db_bind_text(q, 4, base ? base : "", base ? strlen(base) : 0, err));
        MH_CHECK(mh_db_bind_int(q, 5, h->time, err));
        MH_CHECK(mh_db_bind_text(q, 6, h->group.ptr ? h->group.ptr : "", h->group.len, err));
        if (h->value.ptr) MH_CHECK(mh_db_bind_text(q, 7, h->value.ptr, h->value.len, err));
        else MH_CHECK(mh_db_bind_null(q, 7, err));
        MH_CHECK(mh_db_bind_text(q, 8, file, strlen(file), err));
        MH_CHECK(mh_db_bind_text(q, 9, key, strlen(key), err));
        MH_CHECK(mh_db_bind_int(q, 10, (int64_t)h->ref.record, err));
        MH_CHECK(mh_db_bind_int(q, 11, (int64_t)h->ref.offset, err));
        MH_CHECK(mh_db_step(q, &row, err));
        mh_db_reset(q);
    }
out:
    mh_db_finalize(q);
    return st;
}
