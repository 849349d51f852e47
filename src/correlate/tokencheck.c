/*
 * correlate/tokencheck.c -- D14 token without sign-in (Storm-0558)
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * A token used against Exchange / SharePoint that no sign-in of the tenant
 * issued was forged (Storm-0558) or minted outside the tenant's view
 * (detections.md §7, log-formats.md §12). Absence is only evidence when the
 * sign-in logs cover the time, so the detector keeps three things while the
 * input is read and decides at finish (input arrives in any order):
 *
 *  1. A sign-in index over EVERY sign-in stream (interactive, non-interactive,
 *     service principal, managed identity, UAL UserLoggedIn/UserLoginFailed):
 *     hash64(token key) -> earliest sign-in time (seconds), where the token key
 *     is the canonical sign-in id (mh_event_entity token_id: UTIs in both
 *     encodings decode to it) and, for undecodable UTIs, the opaque string.
 *     Sessions: hash64(session id) -> [first, last] sign-in time.
 *  2. Coverage: sorted disjoint intervals [a, b] of sign-in events, two
 *     events closer than the gap being in one interval -- per stream with
 *     coverage.max_stream_gap (6 h: a missing export slice), and for the union
 *     of the delegated streams and of the app-only streams with
 *     coverage.max_gap (60 min: the logs as a whole went silent). Whether each
 *     stream carries uniqueTokenIdentifier at all.
 *  3. Candidates: workload events (UAL mailbox / Exchange admin / other, and
 *     Microsoft Graph activity: SignInActivityId is the uti, SessionId the
 *     Entra session, TokenIssuedAt the iat) whose token (or, without a token,
 *     session) is not matched at feed time, aggregated per token: earliest use
 *     as evidence, count, IssuedAtTime. A Graph request without a user
 *     (UserId empty) is app-only.
 *
 * Matching: a sign-in with the token's id matches when its time lies in
 * [IssuedAtTime - d14.skew_before, IssuedAtTime + d14.skew_after] (IssuedAtTime
 * unknown: [use - d14.token_lifetime - skew_before, use + skew_after]). A
 * session matches when it has sign-ins overlapping [t - d14.session_lookback,
 * t] (first <= t and last >= t - lookback: a superset, so it can only miss).
 *
 * Verdict for a candidate at finish (after a last lookup against the full
 * index):
 *   preconditions met   -> mh.d14.token_without_signin (high): UTI unknown to
 *                          every stream, or known with an impossible time;
 *                          mh.d14.session_without_signin (medium): no UTI,
 *                          session unknown over the lookback
 *   preconditions unmet -> mh.d14.token_unverifiable (low), aggregated per
 *                          (reason, mailbox or user): never "forged"
 * Preconditions: the required streams (delegated token: d14.delegated_streams;
 * app-only token, UserType 5/6: d14.app_streams) each have events and an
 * interval (stream gap) containing the whole span, and so does their union
 * (max gap) -- a sparse stream is normal, a silent one is not (the catalogue
 * asks for every stream at the fine gap; with a few hundred users the
 * interactive stream alone is silent for hours every night); the span ends d14.settle before
 * the stream's last event (late-arriving logs); the token's TokenTenantId is
 * the record's tenant (cross-tenant tokens are issued by the home tenant);
 * an opaque UTI needs streams that carry uniqueTokenIdentifier; the index
 * did not saturate. With no sign-in stream in the input at all, one
 * informational mh.d14.not_evaluable per tenant says so instead.
 *
 * Example: Exchange record at 10:07 with UniqueTokenId xMFjTVvJPE2OChJx_YE-AA
 * (= sign-in 4d63c1c4-c95b-4d3c-8e0a-1271fd813e00), IssuedAtTime 10:00; a
 * non-interactive sign-in with that id at 10:05 -> matched (10:05 in
 * [09:59, 10:10]). No such sign-in, non-interactive and interactive streams
 * each continuous from 06:00 to 18:00 -> forged (span 09:59-10:10, settled
 * before 16:00).
 *
 * Not covered: forged SAML tokens (redeemed at Entra, so they have sign-ins);
 * TokenObjectId vs mailbox owner. Limits: MH_D14_* (limits.h); the index
 * saturating makes later verdicts unverifiable, never forged.
 * Not thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "normalize/ident.h"

static const char *const tags_forged[] = {"attack.defense-evasion", "attack.t1550.001",
                                          "attack.credential-access", "attack.t1606.002",
                                          "mailhound.d14"};
static const struct mh_det_rule rule_forged = {
    "mh.d14.token_without_signin", "Token used that no sign-in issued", "D14",
    "Mailbox or workload activity with a UniqueTokenId that matches no sign-in of any stream, "
    "while the sign-in logs cover the time (forged or externally minted token, Storm-0558)",
    tags_forged, 5};
static const struct mh_det_rule rule_session = {
    "mh.d14.session_without_signin", "Session used that no sign-in established", "D14",
    "Workload activity without a token id whose session id is unknown to every sign-in stream "
    "over the lookback, while the sign-in logs cover it",
    tags_forged, 5};
/* A coverage gap is not a finding: no catalogue item, so it adds nothing to an
 * incident's score (it still joins one through its entities). */
static const char *const tags_gap[] = {"attack.defense-evasion", "attack.t1550.001"};
static const struct mh_det_rule rule_unverifiable = {
    "mh.d14.token_unverifiable", "Token could not be checked against sign-ins", NULL,
    "Tokens that matched no sign-in, but the sign-in logs do not cover their time (gap, "
    "missing stream, not settled, cross-tenant): not evidence of forgery, a coverage gap",
    tags_gap, 2};
static const struct mh_det_rule rule_not_evaluable = {
    "mh.d14.not_evaluable", "Token integrity not evaluable: no sign-in logs", NULL,
    "Workload records carry token ids but the input holds no sign-in logs to check them against",
    tags_gap, 2};

#define NSTREAMS 5
static const char *const stream_names[NSTREAMS] = {"interactive", "noninteractive",
                                                   "service_principal", "managed_identity",
                                                   "ual_logon"};

/* ---- compact hash index: 64-bit key -> (a, b) seconds ---- */

struct idx {
    uint64_t *keys; /* 0 = empty */
    uint32_t *a, *b;
    size_t nslots, n, max;
    bool saturated;
};

static void idx_fini(struct idx *x)
{
    mh_free(x->keys);
    mh_free(x->a);
    mh_free(x->b);
}

static uint32_t *idx_find(const struct idx *x, uint64_t k, size_t *slot)
{
    if (!x->nslots) return NULL;
    size_t mask = x->nslots - 1;
    for (size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull >> 7) & mask;; i = (i + 1) & mask) {
        if (x->keys[i] == k) {
            if (slot) *slot = i;
            return &x->a[i];
        }
        if (!x->keys[i]) return NULL;
    }
}

static mh_status idx_grow(struct idx *x, bool two)
{
    size_t ns = x->nslots ? x->nslots * 2 : 1024;
    uint64_t *nk = mh_calloc(ns, sizeof *nk);
    uint32_t *na = mh_malloc(ns * sizeof *na), *nb = two ? mh_malloc(ns * sizeof *nb) : NULL;
    if (!nk || !na || (two && !nb)) {
        mh_free(nk);
        mh_free(na);
        mh_free(nb);
        return MH_ENOMEM;
    }
    size_t mask = ns - 1;
    for (size_t i = 0; i < x->nslots; i++) {
        if (!x->keys[i]) continue;
        size_t j = (size_t)(x->keys[i] * 0x9E3779B97F4A7C15ull >> 7) & mask;
        while (nk[j]) j = (j + 1) & mask;
        nk[j] = x->keys[i];
        na[j] = x->a[i];
        if (two) nb[j] = x->b[i];
    }
    idx_fini(x);
    x->keys = nk;
    x->a = na;
    x->b = nb;
    x->nslots = ns;
    return MH_OK;
}

/* Insert or widen: a = min, b = max. At the cap the index saturates. */
static mh_status idx_put(struct idx *x, uint64_t k, uint32_t t, bool two)
{
    size_t slot;
    if (!k) k = 1;
    uint32_t *a = idx_find(x, k, &slot);
    if (a) {
        if (t < *a) *a = t;
        if (two && t > x->b[slot]) x->b[slot] = t;
        return MH_OK;
    }
    if (x->n >= x->max) {
        x->saturated = true;
        return MH_OK;
    }
    if ((x->n + 1) * 10 > x->nslots * 7) MH_TRY(idx_grow(x, two));
    size_t mask = x->nslots - 1;
    size_t i = (size_t)(k * 0x9E3779B97F4A7C15ull >> 7) & mask;
    while (x->keys[i]) i = (i + 1) & mask;
    x->keys[i] = k;
    x->a[i] = t;
    if (two) x->b[i] = t;
    x->n++;
    return MH_OK;
}

/* ---- coverage intervals ---- */

struct ival {
    mh_time a, b;
};

struct stream {
    struct ival *v;
    size_t n, cap;
    uint64_t events, with_uti, dropped;
    mh_time last;
};

static size_t lower_b(const struct stream *s, mh_time t)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (s->v[mid].b < t) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static mh_status cover_add(struct stream *s, mh_time t, mh_time gap)
{
    s->events++;
    if (s->last == MH_TIME_NONE || t > s->last) s->last = t;
    size_t i = lower_b(s, t - gap);
    if (i < s->n && s->v[i].a - gap <= t) {
        if (t < s->v[i].a) s->v[i].a = t;
        if (t > s->v[i].b) s->v[i].b = t;
        /* the widened interval may now touch a neighbour */
        if (i > 0 && s->v[i - 1].b + gap >= s->v[i].a) {
            s->v[i - 1].b = s->v[i].b > s->v[i - 1].b ? s->v[i].b : s->v[i - 1].b;
            memmove(&s->v[i], &s->v[i + 1], (s->n - i - 1) * sizeof *s->v);
            s->n--;
            i--;
        }
        if (i + 1 < s->n && s->v[i].b + gap >= s->v[i + 1].a) {
            s->v[i].b = s->v[i + 1].b > s->v[i].b ? s->v[i + 1].b : s->v[i].b;
            memmove(&s->v[i + 1], &s->v[i + 2], (s->n - i - 2) * sizeof *s->v);
            s->n--;
        }
        return MH_OK;
    }
    mh_status st;
    MH_DET_GROW(s->v, s->cap, s->n, MH_D14_MAX_INTERVALS, st);
    if (st == MH_ELIMIT) {
        s->dropped++; /* less coverage, never more */
        return MH_OK;
    }
    if (st) return st;
    memmove(&s->v[i + 1], &s->v[i], (s->n - i) * sizeof *s->v);
    s->v[i] = (struct ival){t, t};
    s->n++;
    return MH_OK;
}

static bool covered(const struct stream *s, mh_time a, mh_time b)
{
    size_t i = lower_b(s, a);
    return i < s->n && s->v[i].a <= a && s->v[i].b >= b;
}

/* ---- candidates ---- */

enum cand_type { C_UTI = 0, C_SESSION };

struct cand {
    uint64_t key;
    uint8_t type;
    bool opaque, app_only, cross_tenant;
    uint32_t token;  /* interned token text (C_UTI) */
    uint32_t session;
    mh_time iat;     /* IssuedAtTime of the earliest use, MH_TIME_NONE if absent */
    struct mh_det_evid ev;
    mh_time last;
    uint64_t count;
};

struct tokencheck {
    struct idx signins, sessions;
    struct stream streams[NSTREAMS];
    struct stream unions[2]; /* 0: delegated streams, 1: app-only streams */
    struct mh_map cand_idx; /* 8-byte key -> index */
    struct cand *cands;
    size_t ncands, cap_cands;
    struct mh_map tenants_seen; /* tenants of workload records with token ids */
    uint64_t workload_events;
};

static mh_status tc_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct tokencheck *t = mh_calloc(1, sizeof *t);
    if (!t) return MH_ENOMEM;
    t->signins.max = MH_D14_MAX_SIGNINS;
    t->sessions.max = MH_D14_MAX_SESSIONS;
    for (int i = 0; i < NSTREAMS; i++) t->streams[i].last = MH_TIME_NONE;
    t->unions[0].last = t->unions[1].last = MH_TIME_NONE;
    mh_map_init(&t->cand_idx, MH_D14_MAX_CANDIDATES, false);
    mh_map_init(&t->tenants_seen, 4096, true);
    *self = t;
    return MH_OK;
}

static void tc_destroy(void *self)
{
    struct tokencheck *t = self;
    idx_fini(&t->signins);
    idx_fini(&t->sessions);
    for (int i = 0; i < NSTREAMS; i++) mh_free(t->streams[i].v);
    mh_free(t->unions[0].v);
    mh_free(t->unions[1].v);
    mh_map_fini(&t->cand_idx);
    mh_map_fini(&t->tenants_seen);
    mh_free(t->cands);
    mh_free(t);
}

static int stream_index(uint32_t bit)
{
    for (int i = 0; i < NSTREAMS; i++)
        if (bit == (1u << i)) return i;
    return -1;
}

static uint32_t secs(mh_time t)
{
    int64_t s = t / MH_USEC_PER_SEC;
    if (s < 1) return 1;
    if (s > (int64_t)UINT32_MAX) return UINT32_MAX;
    return (uint32_t)s;
}

static uint64_t key_of(struct mh_slice s, uint64_t seed)
{
    uint64_t k = mh_hash64(s.ptr, s.len, seed);
    return k ? k : 1;
}

#define SEED_TOKEN 0x746f6b656eull
#define SEED_SESSION 0x73657373ull

static mh_status feed_signin(struct tokencheck *t, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const uti_paths[] = {"uniqueTokenIdentifier", "UniqueTokenIdentifier",
                                            "properties.uniqueTokenIdentifier", NULL};
    uint32_t bit = mh_det_stream_bit(ev->kind);
    struct stream *s = &t->streams[stream_index(bit)];
    MH_TRY(cover_add(s, ev->time, cx->cfg.coverage_max_stream_gap));
    if (bit & cx->cfg.d14_delegated_streams)
        MH_TRY(cover_add(&t->unions[0], ev->time, cx->cfg.coverage_max_gap));
    if (bit & cx->cfg.d14_app_streams)
        MH_TRY(cover_add(&t->unions[1], ev->time, cx->cfg.coverage_max_gap));
    struct mh_slice tok, uti, sess;
    MH_TRY(mh_det_entity(ev, MH_ENT_TOKEN_ID, &tok));
    if (tok.len) MH_TRY(idx_put(&t->signins, key_of(tok, SEED_TOKEN), secs(ev->time), false));
    MH_TRY(mh_det_field(ev, uti_paths, &uti));
    if (uti.len) {
        s->with_uti++;
        struct mh_guid g;
        if (mh_uti_decode(uti.ptr, uti.len, &g) == MH_UTI_OPAQUE) {
            MH_TRY(idx_put(&t->signins, key_of(uti, SEED_TOKEN), secs(ev->time), false));
        } else { /* normally the record's own id again: the put is then a no-op */
            char buf[37];
            size_t n = mh_guid_format(&g, buf);
            MH_TRY(idx_put(&t->signins, key_of(mh_slice_make(buf, n), SEED_TOKEN),
                           secs(ev->time), false));
        }
    }
    MH_TRY(mh_det_entity(ev, MH_ENT_SESSION_ID, &sess));
    if (sess.len) MH_TRY(idx_put(&t->sessions, key_of(sess, SEED_SESSION), secs(ev->time), true));
    return MH_OK;
}

static bool app_only(struct mh_slice ut)
{
    return mh_slice_eq_cstr(ut, "5") || mh_slice_eq_cstr(ut, "6") ||
           mh_slice_eq_nocase(ut, MH_SLICE_LIT("Application")) ||
           mh_slice_eq_nocase(ut, MH_SLICE_LIT("ServicePrincipal"));
}

static bool token_matches(const struct mh_det_ctx *cx, const struct idx *x, uint64_t key,
                          mh_time iat, mh_time use)
{
    const uint32_t *a = idx_find(x, key, NULL);
    if (!a) return false;
    mh_time lo, hi;
    if (iat != MH_TIME_NONE) {
        lo = iat - cx->cfg.d14_skew_before;
        hi = iat + cx->cfg.d14_skew_after;
    } else {
        lo = use - cx->cfg.d14_token_lifetime - cx->cfg.d14_skew_before;
        hi = use + cx->cfg.d14_skew_after;
    }
    /* one second of slack: the index keeps whole seconds */
    mh_time s = (mh_time)*a * MH_USEC_PER_SEC;
    return s >= lo - MH_USEC_PER_SEC && s <= hi;
}

static bool token_known(const struct idx *x, uint64_t key)
{
    return idx_find(x, key, NULL) != NULL;
}

static bool session_matches(const struct mh_det_ctx *cx, const struct idx *x, uint64_t key,
                            mh_time ref)
{
    size_t slot;
    const uint32_t *a = idx_find(x, key, &slot);
    if (!a) return false;
    mh_time first = (mh_time)*a * MH_USEC_PER_SEC, last = (mh_time)x->b[slot] * MH_USEC_PER_SEC;
    return first <= ref + MH_USEC_PER_SEC && last >= ref - cx->cfg.d14_session_lookback;
}

static mh_status feed_workload(struct tokencheck *t, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const iat_paths[] = {"AppAccessContext.IssuedAtTime", "TokenIssuedAt",
                                            "properties.tokenIssuedAt", NULL};
    static const char *const ut_paths[] = {"UserType", NULL};
    static const char *const tt_paths[] = {"TokenTenantId", NULL};
    static const char *const org_paths[] = {"OrganizationId", NULL};
    static const char *const sid_paths[] = {"AppAccessContext.AADSessionId", NULL};
    static const char *const graph_sid_paths[] = {"SessionId", "sessionId", "properties.sessionId",
                                                  NULL};
    static const char *const graph_user_paths[] = {"UserId", "userId", "properties.userId", NULL};
    bool graph = ev->kind == MH_SRC_GRAPH_ACTIVITY;
    struct mh_slice tok, sess;
    MH_TRY(mh_det_entity(ev, MH_ENT_TOKEN_ID, &tok));
    /* only the Entra session id: a UAL SessionId of an Exchange admin or OWA
       record names Exchange's own session, which no sign-in carries; a Graph
       record's SessionId is the Entra one */
    MH_TRY(mh_det_field(ev, graph ? graph_sid_paths : sid_paths, &sess));
    char sbuf[37];
    struct mh_guid sg;
    if (sess.len && mh_guid_parse(sess.ptr, sess.len, &sg) == MH_OK)
        sess = mh_slice_make(sbuf, mh_guid_format(&sg, sbuf));
    if (!tok.len && !sess.len) return MH_OK; /* absence of an id is never evidence */
    t->workload_events++;
    cx->stats.d14_tokens++;
    struct mh_slice iat_s, ut, tt, org, tenant;
    mh_time iat = MH_TIME_NONE;
    MH_TRY(mh_det_field(ev, iat_paths, &iat_s));
    if (iat_s.len && mh_time_parse(iat_s.ptr, iat_s.len, &iat) != MH_OK) iat = MH_TIME_NONE;
    MH_TRY(mh_det_entity(ev, MH_ENT_TENANT, &tenant));
    if (tenant.len) {
        struct mh_map_entry *e;
        mh_status st = mh_map_put(&t->tenants_seen, tenant.ptr, tenant.len, &e, NULL);
        if (st && st != MH_ELIMIT) return st;
    }
    uint64_t key;
    uint8_t type;
    if (tok.len) {
        key = key_of(tok, SEED_TOKEN);
        if (token_matches(cx, &t->signins, key, iat, ev->time)) return MH_OK;
        type = C_UTI;
    } else {
        key = key_of(sess, SEED_SESSION);
        if (session_matches(cx, &t->sessions, key, iat != MH_TIME_NONE ? iat : ev->time))
            return MH_OK;
        type = C_SESSION;
    }
    /* candidate: aggregate per token (or session) */
    uint64_t mkey[2] = {key, type};
    struct cand *c;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &t->cand_idx, mkey, sizeof mkey, t->cands, t->cap_cands, t->ncands,
                MH_D14_MAX_CANDIDATES, c, &created, st);
    if (st) return st;
    if (!c) { /* not tracked (counted as dropped): it cannot be judged */
        cx->stats.unverifiable++;
        return MH_OK;
    }
    if (created) {
        c->key = key;
        c->type = type;
        c->ev.time = MH_TIME_NONE;
        c->last = MH_TIME_NONE;
    }
    c->count++;
    if (c->last == MH_TIME_NONE || ev->time > c->last) c->last = ev->time;
    if (c->ev.time != MH_TIME_NONE && ev->time >= c->ev.time) return MH_OK;
    /* earliest use so far: it is the evidence and fixes the judged span */
    MH_TRY(mh_det_capture(cx, ev, &c->ev));
    c->iat = iat;
    c->token = mh_det_intern(cx, tok);
    c->session = mh_det_intern(cx, sess);
    if (tok.len) {
        struct mh_guid g;
        c->opaque = mh_guid_parse(tok.ptr, tok.len, &g) != MH_OK;
    }
    if (graph) {
        MH_TRY(mh_det_field(ev, graph_user_paths, &ut));
        c->app_only = ut.len == 0;
    } else {
        MH_TRY(mh_det_field(ev, ut_paths, &ut));
        c->app_only = app_only(ut);
    }
    MH_TRY(mh_det_field(ev, tt_paths, &tt));
    MH_TRY(mh_det_field(ev, org_paths, &org));
    c->cross_tenant = tt.len && org.len && !mh_slice_eq_nocase(tt, org);
    return MH_OK;
}

static mh_status tc_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct tokencheck *t = self;
    if (!cx->cfg.d14_enabled) return MH_OK;
    if (mh_det_stream_bit(ev->kind)) return feed_signin(t, cx, ev);
    if (ev->kind == MH_SRC_UAL_MAILBOX || ev->kind == MH_SRC_UAL_EXCHANGE_ADMIN ||
        ev->kind == MH_SRC_UAL_OTHER || ev->kind == MH_SRC_GRAPH_ACTIVITY)
        return feed_workload(t, cx, ev);
    return MH_OK;
}

/* ---- finish ---- */

struct unv {        /* unverifiable bucket: (reason, principal) */
    uint32_t reason;    /* interned reason text */
    uint32_t principal;
    size_t first_cand; /* index of the earliest candidate */
    mh_time last;
    uint64_t tokens, uses;
};

/* NULL when the preconditions hold for c, else the reason. */
static const char *precondition(const struct tokencheck *t, const struct mh_det_ctx *cx,
                                const struct cand *c, mh_time lo, mh_time hi, char *buf,
                                size_t bufsz)
{
    if (c->cross_tenant) return "cross-tenant token (issued by another tenant)";
    if ((c->type == C_UTI && t->signins.saturated) || (c->type == C_SESSION && t->sessions.saturated))
        return "sign-in index capacity reached";
    uint32_t need = c->app_only ? cx->cfg.d14_app_streams : cx->cfg.d14_delegated_streams;
    const struct stream *u = &t->unions[c->app_only ? 1 : 0];
    bool any_uti = false;
    for (int i = 0; i < NSTREAMS; i++) {
        const struct stream *s = &t->streams[i];
        if (s->with_uti) any_uti = true;
        if (!(need & (1u << i))) continue;
        if (!s->events) {
            snprintf(buf, bufsz, "no %s sign-ins in the input", stream_names[i]);
            return buf;
        }
        if (!covered(s, lo, hi)) {
            snprintf(buf, bufsz, "gap in %s sign-ins", stream_names[i]);
            return buf;
        }
        if (hi > s->last - cx->cfg.d14_settle) {
            snprintf(buf, bufsz, "%s sign-ins not settled", stream_names[i]);
            return buf;
        }
    }
    if (!covered(u, lo, hi)) return "gap in the sign-in logs";
    if (c->type == C_UTI && c->opaque && !any_uti)
        return "sign-ins carry no uniqueTokenIdentifier";
    return NULL;
}

static mh_status tc_finish(void *self, struct mh_det_ctx *cx)
{
    struct tokencheck *t = self;
    mh_status st = MH_OK;
    struct unv *buckets = NULL;
    size_t nb = 0, capb = 0;
    struct mh_map bidx;
    mh_map_init(&bidx, MH_D14_MAX_CANDIDATES, false);
    if (!cx->cfg.d14_enabled) goto out;

    uint64_t signin_events = 0;
    for (int i = 0; i < NSTREAMS; i++) signin_events += t->streams[i].events;
    if (!signin_events) {
        if (!t->ncands) goto out;
        /* one informational result per tenant: nothing to check against */
        for (size_t i = 0; i < t->tenants_seen.n; i++) {
            struct mh_det_evid ev;
            memset(&ev, 0, sizeof ev);
            ev.time = MH_TIME_NONE;
            for (size_t j = 0; j < t->ncands; j++)
                if (ev.time == MH_TIME_NONE || t->cands[j].ev.time < ev.time) ev = t->cands[j].ev;
            struct mh_det_pending *p = mh_det_pend(cx, &rule_not_evaluable, MH_LEVEL_INFORMATIONAL,
                                                   &ev);
            if (!p) break;
            p->unmet = true;
            p->count = t->workload_events;
            mh_det_pend_str(cx, p, "tenant", t->tenants_seen.entries[i].key);
            mh_det_pend_str(cx, p, "reason", MH_SLICE_LIT("no sign-in logs in the input"));
        }
        cx->stats.unverifiable += t->ncands;
        goto out;
    }

    for (size_t i = 0; i < t->ncands; i++) {
        const struct cand *c = &t->cands[i];
        mh_time use = c->ev.time, lo, hi;
        const char *why;
        if (c->type == C_UTI) {
            if (token_matches(cx, &t->signins, c->key, c->iat, use)) continue;
            why = token_known(&t->signins, c->key) ? "uti_time_mismatch" : "uti_unknown";
            if (c->iat != MH_TIME_NONE) {
                lo = c->iat - cx->cfg.d14_skew_before;
                hi = c->iat + cx->cfg.d14_skew_after;
            } else {
                lo = use - cx->cfg.d14_token_lifetime - cx->cfg.d14_skew_before;
                hi = use + cx->cfg.d14_skew_after;
            }
        } else {
            mh_time ref = c->iat != MH_TIME_NONE ? c->iat : use;
            if (session_matches(cx, &t->sessions, c->key, ref)) continue;
            why = "session_unknown";
            lo = ref - cx->cfg.d14_session_lookback;
            hi = ref;
        }
        char buf[96];
        const char *unmet = precondition(t, cx, c, lo, hi, buf, sizeof buf);
        if (!unmet) {
            struct mh_det_pending *p =
                mh_det_pend(cx, c->type == C_UTI ? &rule_forged : &rule_session,
                            c->type == C_UTI ? MH_LEVEL_HIGH : MH_LEVEL_MEDIUM, &c->ev);
            if (!p) continue;
            p->first = use;
            p->last = c->last;
            p->count = c->count;
            mh_det_pend_str(cx, p, "reason", mh_slice_cstr(why));
            if (c->token) mh_det_pend_str(cx, p, "token_id", mh_det_str(cx, c->token));
            if (c->session) mh_det_pend_str(cx, p, "session_id", mh_det_str(cx, c->session));
            if (c->iat != MH_TIME_NONE) mh_det_pend_num(cx, p, "issued_at", c->iat / MH_USEC_PER_SEC);
            mh_det_pend_str(cx, p, "token_type", c->app_only ? MH_SLICE_LIT("app-only")
                                                              : MH_SLICE_LIT("delegated"));
            continue;
        }
        /* unverifiable: aggregate per (reason, mailbox or user) */
        cx->stats.unverifiable++;
        uint32_t principal = c->ev.ent[MH_ENT_MAILBOX] ? c->ev.ent[MH_ENT_MAILBOX]
                                                       : c->ev.ent[MH_ENT_USER];
        uint32_t reason_id = mh_det_intern(cx, mh_slice_cstr(unmet));
        uint32_t k[2] = {reason_id, principal};
        struct mh_map_entry *e;
        bool created;
        st = mh_map_put(&bidx, (const char *)k, sizeof k, &e, &created);
        if (st == MH_ELIMIT) {
            cx->stats.dropped++;
            st = MH_OK;
            continue;
        }
        if (st) goto out;
        if (created) {
            MH_DET_GROW(buckets, capb, nb, MH_D14_MAX_CANDIDATES, st);
            if (st) goto out;
            e->value = nb;
            buckets[nb++] = (struct unv){reason_id, principal, i, c->last, 0, 0};
        }
        struct unv *b = &buckets[e->value];
        b->tokens++;
        b->uses += c->count;
        if (c->last > b->last) b->last = c->last;
        if (c->ev.time < t->cands[b->first_cand].ev.time) b->first_cand = i;
    }
    for (size_t i = 0; i < nb; i++) {
        const struct unv *b = &buckets[i];
        const struct cand *c = &t->cands[b->first_cand];
        struct mh_det_pending *p = mh_det_pend(cx, &rule_unverifiable, MH_LEVEL_LOW, &c->ev);
        if (!p) continue;
        p->unmet = true;
        p->first = c->ev.time;
        p->last = b->last;
        p->count = b->uses;
        mh_det_pend_str(cx, p, "reason", mh_det_str(cx, b->reason));
        mh_det_pend_num(cx, p, "tokens", (int64_t)b->tokens);
    }
out:
    mh_free(buckets);
    mh_map_fini(&bidx);
    return st;
}

/* D14 judges within one run: nothing persisted (no load, no save) */
const struct mh_det_ops mh_det_tokencheck_ops = {
    "tokencheck", tc_create, tc_feed, tc_finish, NULL, NULL, tc_destroy,
};
