/*
 * correlate/spray.c -- password spray followed by a success: D1 per source, D2 low-and-slow, D3
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents.
 *
 * D1 (detections.md §4 D1): per source -- the client IP, and for IPv6 also its
 * /64 (privacy addresses rotate) -- the failures (code in d2.failure_codes:
 * time, account), the distinct accounts that succeeded from it (with their
 * latest success) and its earliest successes. At finish: the SPRAY MOMENTS are
 * the failures at which at least d1.min_users distinct accounts had failed
 * within the preceding d1.window; the earliest success (code in
 * d.success_codes, any account) within d1.success_lookback after a spray
 * moment -> mh.d1.spray_success (high), spray_at = the first moment within
 * the lookback before it. Sentinel's NAT suppression: a source whose distinct
 * succeeding accounts are not fewer than its failing ones is shared egress and
 * skipped. The spray alone is Sigma's (medium). One detection per source; the
 * exact address is judged before its /64, and a success already reported for
 * the address is not reported again for the prefix.
 *
 * D1 across runs (--state; tables d1_fail, d1_account, d1_success). Daily
 * exports cut sprays from their successes, so a run keeps what a later event
 * (one at or after this run's last event time) can still combine with: the
 * failures and succeeding accounts of every source within
 * d1.success_lookback + d1.window of the run's end (a later success links to
 * spray moments at most the lookback before it, and a moment needs the
 * failures of the window before it), and per source the earliest success
 * already REPORTED (the mark). The next run merges them with its own, so the
 * spray moments, failing_accounts and succeeding_accounts are those of one
 * run over both exports; its detection's evidence is always a success of the
 * run itself, reported only when no earlier run reported an earlier one for
 * the source (firstseen.c's rule: the run's evidence is reportable when it is
 * not later than the state's). Hence:
 *   split exports  -> reported once, by the run holding the success;
 *   rerun          -> the run's success equals the mark: reported again, the
 *                     same (failures and accounts are sets: merging the run's
 *                     own copies back changes no count);
 *   next run       -> a later success of a source already reported is not.
 * Example: failures of 4 accounts at 09:00-09:03 in Monday's export, 2 more
 * and a success at 10:00 in Tuesday's: Monday reports nothing and keeps the
 * 4 failures; Tuesday sees 6 failing accounts, the spray moment 09:04 and
 * reports the 10:00 success exactly as one run would, then keeps its mark.
 * Not covered: exports that overlap in time the other way round (a success
 * kept only in an earlier run's export, the failures completing the spray
 * older than it in a later one): the success's evidence is not kept, so only
 * a success of the later run can be reported. Over exports spanning more than
 * the retention, failing/succeeding counts are those within it.
 *
 * Midnight Blizzard's entry (detections.md §4 D2): few attempts per source
 * address, spread over days, against one legacy account -- no source crosses
 * the per-IP spray threshold (D1, Sigma) and no 5-minute bucket the burst
 * threshold. Per user (lower-case UPN) this detector keeps, for every source
 * IP: failures (error code in d2.failure_codes: first, last, count) and the
 * earliest success (code in d.success_codes) with its evidence and how it was
 * authenticated. At finish, for each success S of user U from IP s:
 *
 *   new source  : U never succeeded from s before S (this run, or the state's
 *                 known-good sources within d2.new_source_lookback);
 *   spray       : >= d2.slow_min_sources FAILING-ONLY sources of U (sources
 *                 that never succeeded for U -- a user's own typo addresses
 *                 also succeed, residential proxies only fail) with a failure
 *                 in [S - d2.slow_window, S]; s itself counts when it failed
 *                 before S.
 *
 * Qualifying successes are ranked: the source also failed before (the spray
 * proxy that finally got in), then weak authentication (single-factor, legacy
 * client, ROPC, BAV2ROPC), then time. The best one per user, when it has one
 * of those two marks -> mh.d2.spray_success (high); every other qualifying
 * success medium (the sprayed user's own MFA login from a new network -- the
 * simulated tenant's spray targets several real users -- must not be high). When the reported success was
 * single-factor or legacy -> also mh.d3.spray_success_no_mfa (high; critical
 * for d3.watch_accounts, skipped for d3.allow_accounts).
 *
 * Example: test@ fails 50126 from 7 residential IPs over 4 days, then succeeds
 * from 203.0.113.9 (one of them) with singleFactorAuthentication -> D2 high +
 * D3 high.
 *
 * Streams: interactive and non-interactive sign-ins and UAL logons (service
 * principals do not spray passwords). State (state.h): d2_good, the sources
 * each user succeeded from (merged, retention d2.new_source_lookback); D1's
 * tables above.
 * Limits: MH_D2_MAX_USERS, MH_D2_MAX_SOURCES_PER_USER (saturates: a user with
 * that many sources is still judged on those kept); MH_D1_MAX_SOURCES (new
 * sources beyond are not tracked, counted), MH_D1_MAX_FAILURES_PER_SOURCE
 * (later failures dropped, counted in stats.dropped; the state holds the newest
 * MH_D1_STATE_FAILURES_PER_SOURCE, the rest counted, so a run keeps room for
 * its own), MH_D1_MAX_SUCCESS_USERS (saturates: treated as shared egress),
 * MH_D1_MAX_SUCCESSES_PER_SOURCE (the earliest kept). The state holds at most
 * that per source and MH_D1_MAX_SOURCES sources. Not thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "normalize/ident.h"

static const char *const tags_d1[] = {"attack.credential-access", "attack.t1110.003",
                                      "attack.initial-access", "attack.t1078.004",
                                      "mailhound.d1"};
static const struct mh_det_rule rule_d1 = {
    "mh.d1.spray_success", "Password spray from one source followed by a success", "D1",
    "One address (or IPv6 /64) failed authentication for many accounts, then an account's "
    "password was accepted from it; the source is not a shared egress (more failing than "
    "succeeding accounts)",
    tags_d1, 5};
static const char *const tags_d2[] = {"attack.credential-access", "attack.t1110.003",
                                      "attack.initial-access", "attack.t1078.004",
                                      "mailhound.d2"};
static const struct mh_det_rule rule_d2 = {
    "mh.d2.spray_success", "Password spray from many sources followed by a success", "D2",
    "A user failed authentication from many addresses that never succeeded for them, then "
    "signed in from an address new to them (low-and-slow / residential-proxy spray)",
    tags_d2, 5};
static const char *const tags_d3[] = {"attack.initial-access", "attack.t1078.004",
                                      "attack.defense-evasion", "attack.t1556.006",
                                      "mailhound.d3"};
static const struct mh_det_rule rule_d3 = {
    "mh.d3.spray_success_no_mfa", "Sprayed account signed in without MFA", "D3",
    "The success that ended a password spray was single-factor or over a legacy protocol "
    "(ROPC, BAV2ROPC, IMAP/POP/SMTP): the password alone was enough",
    tags_d3, 5};

#define F_SINGLE 0x1u
#define F_LEGACY 0x2u
#define F_ROPC 0x4u

struct src {
    uint32_t ip, next; /* next: index + 1 in the pool */
    uint32_t fails;
    mh_time fail_first, fail_last;
    mh_time succ_first;            /* earliest success of this run */
    struct mh_det_evid succ_ev;
    uint8_t succ_flags;
    mh_time good_first, good_last; /* state: known-good source */
};

struct suser {
    uint32_t user, head;
    uint16_t nsrc;
    bool saturated;
};

struct d1fail {
    uint32_t t; /* seconds */
    uint32_t user;
};

struct d1succ {
    struct mh_det_evid ev;
    uint32_t user;
};

struct d1acct {
    uint32_t user;
    uint32_t last; /* latest success from the source, seconds (retention) */
};

struct d1src {
    uint32_t key; /* interned "ip" or "prefix::/64" */
    bool prefix, ssat;
    struct d1fail *f; /* this run's and the state's (duplicates are harmless) */
    uint32_t nf, capf;
    struct d1acct *su; /* distinct succeeding accounts */
    uint32_t nsu, capsu;
    struct d1succ *s; /* earliest successes of this run */
    uint32_t ns, caps;
    uint32_t mark_user, mark_run_user;
    mh_time mark;     /* state: earliest success an earlier run reported, or NONE */
    mh_time mark_run; /* the success this run reported (the next mark), or NONE */
};

struct spray {
    struct mh_map d1idx;
    struct d1src *src;
    size_t nsrc, cap_src;
    struct mh_map uidx;
    struct suser *users;
    size_t nusers, cap_users;
    struct src *pool;
    size_t npool, cap_pool;
    struct mh_map sidx; /* (user, ip) -> pool index + 1: no walk of a user's list */
};

static mh_status sp_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct spray *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    mh_map_init(&s->uidx, MH_D2_MAX_USERS, false);
    mh_map_init(&s->d1idx, MH_D1_MAX_SOURCES, false);
    mh_map_init(&s->sidx, (size_t)MH_D2_MAX_USERS * 16, false);
    *self = s;
    return MH_OK;
}

static void sp_destroy(void *self)
{
    struct spray *s = self;
    for (size_t i = 0; i < s->nsrc; i++) {
        mh_free(s->src[i].f);
        mh_free(s->src[i].su);
        mh_free(s->src[i].s);
    }
    mh_free(s->src);
    mh_map_fini(&s->d1idx);
    mh_map_fini(&s->uidx);
    mh_map_fini(&s->sidx);
    mh_free(s->users);
    mh_free(s->pool);
    mh_free(s);
}

static mh_status get_src(struct mh_det_ctx *cx, struct spray *s, uint32_t user, uint32_t ip,
                         struct src **out)
{
    struct mh_map_entry *e;
    bool created;
    *out = NULL;
    uint32_t pair[2] = {user, ip};
    e = mh_map_get(&s->sidx, (const char *)pair, sizeof pair);
    if (e) {
        *out = &s->pool[e->value - 1];
        return MH_OK;
    }
    struct suser *u;
    mh_status st;
    MH_DET_SLOT(cx, &s->uidx, &user, sizeof user, s->users, s->cap_users, s->nusers,
                MH_D2_MAX_USERS, u, &created, st);
    if (st || !u) return st;
    if (created) u->user = user;
    if (u->nsrc >= MH_D2_MAX_SOURCES_PER_USER) {
        u->saturated = true;
        return MH_OK;
    }
    MH_DET_GROW(s->pool, s->cap_pool, s->npool, (size_t)MH_D2_MAX_USERS * 16, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    st = mh_map_put(&s->sidx, (const char *)pair, sizeof pair, &e, &created);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    e->value = s->npool + 1;
    struct src *n = &s->pool[s->npool++];
    memset(n, 0, sizeof *n);
    n->ip = ip;
    n->next = u->head;
    n->fail_first = n->fail_last = n->succ_first = MH_TIME_NONE;
    n->good_first = n->good_last = MH_TIME_NONE;
    n->succ_ev.time = MH_TIME_NONE;
    u->head = (uint32_t)s->npool;
    u->nsrc++;
    *out = n;
    return MH_OK;
}

/* ---- D1 ---- */

static mh_status d1_source(struct mh_det_ctx *cx, struct spray *s, uint32_t key, bool prefix,
                           struct d1src **out)
{
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &s->d1idx, &key, sizeof key, s->src, s->cap_src, s->nsrc, MH_D1_MAX_SOURCES,
                *out, &created, st);
    if (!st && created) {
        (*out)->key = key;
        (*out)->prefix = prefix;
        (*out)->mark = (*out)->mark_run = MH_TIME_NONE;
    }
    return st;
}

static uint32_t secs_of(mh_time t)
{
    int64_t x = t / MH_USEC_PER_SEC;
    return x < 0 ? 0 : x > (int64_t)UINT32_MAX ? UINT32_MAX : (uint32_t)x;
}

static mh_status d1_add_fail(struct mh_det_ctx *cx, struct d1src *x, uint32_t t, uint32_t user)
{
    mh_status st;
    MH_DET_GROW_N(x->f, x->capf, x->nf, MH_D1_MAX_FAILURES_PER_SOURCE, 4, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    x->f[x->nf++] = (struct d1fail){t, user};
    return MH_OK;
}

static mh_status d1_add_account(struct d1src *x, uint32_t user, uint32_t t)
{
    mh_status st;
    uint32_t i = 0;
    while (i < x->nsu && x->su[i].user != user) i++;
    if (i < x->nsu) {
        if (t > x->su[i].last) x->su[i].last = t;
        return MH_OK;
    }
    MH_DET_GROW_N(x->su, x->capsu, x->nsu, MH_D1_MAX_SUCCESS_USERS, 2, st);
    if (st == MH_ELIMIT) {
        x->ssat = true; /* saturated: judged as shared egress */
        return MH_OK;
    }
    if (st) return st;
    x->su[x->nsu++] = (struct d1acct){user, t};
    return MH_OK;
}

static mh_status d1_add(struct mh_det_ctx *cx, struct d1src *x, struct mh_event *ev, uint32_t user,
                        bool fail, bool succ)
{
    mh_status st;
    if (fail) MH_TRY(d1_add_fail(cx, x, secs_of(ev->time), user));
    if (!succ) return MH_OK;
    MH_TRY(d1_add_account(x, user, secs_of(ev->time)));
    /* keep the earliest successes: replace the latest one when full */
    uint32_t slot = x->ns;
    if (x->ns == MH_D1_MAX_SUCCESSES_PER_SOURCE) {
        slot = 0;
        for (uint32_t k = 1; k < x->ns; k++)
            if (x->s[k].ev.time > x->s[slot].ev.time) slot = k;
        if (x->s[slot].ev.time <= ev->time) return MH_OK;
    } else {
        MH_DET_GROW_N(x->s, x->caps, x->ns, MH_D1_MAX_SUCCESSES_PER_SOURCE, 1, st);
        if (st) return st == MH_ELIMIT ? MH_OK : st;
        x->ns++;
    }
    MH_TRY(mh_det_capture(cx, ev, &x->s[slot].ev));
    x->s[slot].user = user;
    return MH_OK;
}

/* "2001:db8:1:2::/64" of an IPv6 address; 0 for IPv4 or unparsable text. */
static size_t prefix64(struct mh_slice ip, char out[64])
{
    struct mh_ip a;
    if (mh_ip_parse(ip.ptr, ip.len, &a) != MH_OK || a.family != 6) return 0;
    int n = snprintf(out, 64, "%x:%x:%x:%x::/64", a.addr[0] << 8 | a.addr[1], a.addr[2] << 8 | a.addr[3],
                     a.addr[4] << 8 | a.addr[5], a.addr[6] << 8 | a.addr[7]);
    return n > 0 ? (size_t)n : 0;
}

static mh_status d1_feed(struct spray *s, struct mh_det_ctx *cx, struct mh_event *ev,
                         struct mh_slice ip, uint32_t iip, uint32_t iu, bool fail, bool succ)
{
    struct d1src *x;
    MH_TRY(d1_source(cx, s, iip, false, &x));
    if (x) MH_TRY(d1_add(cx, x, ev, iu, fail, succ));
    char pfx[64];
    size_t n = prefix64(ip, pfx);
    if (!n) return MH_OK;
    uint32_t ip6 = mh_det_intern(cx, mh_slice_make(pfx, n));
    if (!ip6 || ip6 == iip) return MH_OK;
    MH_TRY(d1_source(cx, s, ip6, true, &x));
    if (x) MH_TRY(d1_add(cx, x, ev, iu, fail, succ));
    return MH_OK;
}

static int cmp_fail(const void *a, const void *b)
{
    const struct d1fail *x = a, *y = b;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->user < y->user ? -1 : x->user > y->user;
}

static uint32_t distinct_users(const struct d1fail *f, uint32_t lo, uint32_t hi, uint32_t stop)
{
    uint32_t seen[64], n = 0;
    for (uint32_t i = lo; i < hi && n < stop && n < 64; i++) {
        uint32_t k = 0;
        while (k < n && seen[k] != f[i].user) k++;
        if (k == n) seen[n++] = f[i].user;
    }
    return n;
}

static int cmp_succ(const void *a, const void *b)
{
    const struct d1succ *x = *(const struct d1succ *const *)a;
    const struct d1succ *y = *(const struct d1succ *const *)b;
    if (x->ev.time != y->ev.time) return x->ev.time < y->ev.time ? -1 : 1;
    if (x->ev.ref.file != y->ev.ref.file) return x->ev.ref.file < y->ev.ref.file ? -1 : 1;
    return x->ev.ref.record < y->ev.ref.record ? -1 : x->ev.ref.record > y->ev.ref.record;
}

/*
 * The earliest success of this run within d1.success_lookback after a spray
 * moment of x (failures sorted), and that moment in seconds (the first one
 * within the lookback before the success). Moments ascend and so does the
 * earliest success at or after each: the first moment with a success in
 * [moment, moment + lookback] gives the earliest qualifying success.
 */
static const struct d1succ *d1_best(const struct mh_det_ctx *cx, const struct d1src *x,
                                    uint32_t min_users, int64_t *spray_at)
{
    const struct d1succ *ord[MH_D1_MAX_SUCCESSES_PER_SOURCE];
    uint32_t n = 0;
    for (uint32_t k = 0; k < x->ns && n < MH_D1_MAX_SUCCESSES_PER_SOURCE; k++) ord[n++] = &x->s[k];
    qsort(ord, n, sizeof ord[0], cmp_succ);
    uint32_t win = (uint32_t)(cx->cfg.d1_window / MH_USEC_PER_SEC), lo = 0, k = 0;
    for (uint32_t hi = 0; hi < x->nf; hi++) {
        while (x->f[hi].t - x->f[lo].t > win) lo++;
        if (distinct_users(x->f, lo, hi + 1, min_users) < min_users) continue;
        mh_time from = (mh_time)x->f[hi].t * MH_USEC_PER_SEC;
        while (k < n && ord[k]->ev.time < from) k++;
        if (k == n) break; /* no success at or after this moment, nor after later ones */
        if (ord[k]->ev.time <= from + cx->cfg.d1_success_lookback) {
            *spray_at = x->f[hi].t;
            return ord[k];
        }
    }
    return NULL;
}

static mh_status d1_finish(struct spray *s, struct mh_det_ctx *cx)
{
    mh_status st = MH_OK;
    struct mh_map reported; /* success evidence already reported (exact IP before /64) */
    mh_map_init(&reported, MH_DET_MAX_PENDING, false);
    uint32_t min_users = cx->cfg.d1_min_users ? cx->cfg.d1_min_users : 1;
    for (int pass = 0; pass < 2 && !st; pass++) {
        for (size_t i = 0; i < s->nsrc; i++) {
            struct d1src *x = &s->src[i];
            if (x->prefix != (pass == 1) || x->nf < min_users || !x->ns) continue;
            qsort(x->f, x->nf, sizeof *x->f, cmp_fail);
            /* NAT suppression: more failing than succeeding accounts */
            uint32_t failing = distinct_users(x->f, 0, x->nf, 64);
            if (x->ssat || x->nsu >= failing) continue;
            int64_t spray_at = -1;
            const struct d1succ *best = d1_best(cx, x, min_users, &spray_at);
            if (!best) continue;
            /* an earlier run reported an earlier success of this source */
            if (x->mark != MH_TIME_NONE && x->mark < best->ev.time) continue;
            x->mark_run = best->ev.time;
            x->mark_run_user = best->user;
            uint64_t rk[3] = {best->ev.ref.file, best->ev.ref.record, best->ev.ref.offset};
            struct mh_map_entry *e;
            bool created;
            st = mh_map_put(&reported, (const char *)rk, sizeof rk, &e, &created);
            if (st == MH_ELIMIT) st = MH_OK;
            if (st) break;
            if (!created) continue;
            struct mh_det_pending *p = mh_det_pend(cx, &rule_d1, MH_LEVEL_HIGH, &best->ev);
            if (!p) continue;
            p->first = (mh_time)spray_at * MH_USEC_PER_SEC;
            mh_det_pend_str(cx, p, x->prefix ? "source_prefix" : "source_ip", mh_det_str(cx, x->key));
            mh_det_pend_num(cx, p, "failing_accounts", failing);
            mh_det_pend_num(cx, p, "succeeding_accounts", x->nsu);
            mh_det_pend_num(cx, p, "spray_at", spray_at);
        }
    }
    mh_map_fini(&reported);
    return st;
}

static mh_status auth_flags(struct mh_event *ev, uint8_t *out)
{
    static const char *const req_paths[] = {"properties.authenticationRequirement",
                                            "authenticationRequirement",
                                            "AuthenticationRequirement", NULL};
    static const char *const app_paths[] = {"properties.clientAppUsed", "clientAppUsed",
                                            "ClientAppUsed", NULL};
    static const char *const proto_paths[] = {"properties.authenticationProtocol",
                                              "authenticationProtocol", "AuthenticationProtocol",
                                              NULL};
    static const char *const ua_paths[] = {"properties.userAgent", "userAgent", "UserAgent",
                                           "ExtendedProperties.UserAgent", NULL};
    struct mh_slice req, app, proto, ua;
    uint8_t f = 0;
    MH_TRY(mh_det_field(ev, req_paths, &req));
    MH_TRY(mh_det_field(ev, app_paths, &app));
    MH_TRY(mh_det_field(ev, proto_paths, &proto));
    MH_TRY(mh_det_field(ev, ua_paths, &ua));
    if (mh_slice_eq_nocase(req, MH_SLICE_LIT("singleFactorAuthentication"))) f |= F_SINGLE;
    if (app.len && !mh_slice_eq_nocase(app, MH_SLICE_LIT("Browser")) &&
        !mh_slice_eq_nocase(app, MH_SLICE_LIT("Mobile Apps and Desktop clients")))
        f |= F_LEGACY;
    if (mh_slice_eq_nocase(proto, MH_SLICE_LIT("ropc"))) f |= F_ROPC;
    if (ua.len && mh_slice_find(ua, MH_SLICE_LIT("BAV2ROPC")) != (size_t)-1) f |= F_ROPC;
    *out = f;
    return MH_OK;
}

static mh_status sp_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct spray *s = self;
    if (!cx->cfg.d2_enabled && !cx->cfg.d1_enabled) return MH_OK;
    if (ev->kind != MH_SRC_SIGNIN_INTERACTIVE && ev->kind != MH_SRC_SIGNIN_NONINTERACTIVE &&
        ev->kind != MH_SRC_UAL_ENTRA_LOGON)
        return MH_OK;
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    if (!has) return MH_OK;
    bool fail = mh_det_code_in(cx->cfg.failure_codes, cx->cfg.n_failure_codes, code);
    bool succ = mh_det_code_in(cx->cfg.success_codes, cx->cfg.n_success_codes, code);
    if (!fail && !succ) return MH_OK;
    struct mh_slice user, ip;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    if (!user.len || !ip.len) return MH_OK;
    uint32_t iu = mh_det_intern_lower(cx, user), iip = mh_det_intern(cx, ip);
    if (!iu || !iip) return MH_OK;
    if (cx->cfg.d1_enabled) MH_TRY(d1_feed(s, cx, ev, ip, iip, iu, fail, succ));
    if (!cx->cfg.d2_enabled) return MH_OK;
    struct src *x;
    MH_TRY(get_src(cx, s, iu, iip, &x));
    if (!x) return MH_OK;
    if (fail) {
        x->fails++;
        if (x->fail_first == MH_TIME_NONE || ev->time < x->fail_first) x->fail_first = ev->time;
        if (x->fail_last == MH_TIME_NONE || ev->time > x->fail_last) x->fail_last = ev->time;
    }
    if (!succ) return MH_OK;
    /* The same logon arrives through the UAL (no authentication details) and the
       sign-in logs: flags of successes within a minute of the first are merged. */
    uint8_t f;
    MH_TRY(auth_flags(ev, &f));
    mh_time minute = 60 * MH_USEC_PER_SEC;
    if (x->succ_first == MH_TIME_NONE || ev->time < x->succ_first) {
        if (x->succ_first != MH_TIME_NONE && x->succ_first - ev->time <= minute) f |= x->succ_flags;
        x->succ_first = ev->time;
        x->succ_flags = f;
        MH_TRY(mh_det_capture(cx, ev, &x->succ_ev));
    } else if (ev->time - x->succ_first <= minute) {
        x->succ_flags |= f;
    }
    return MH_OK;
}

struct qual {
    const struct src *s;
    uint32_t sources;
    int rank;
};

static bool better(const struct qual *a, const struct qual *b)
{
    if (a->rank != b->rank) return a->rank > b->rank;
    if (a->s->succ_first != b->s->succ_first) return a->s->succ_first < b->s->succ_first;
    return a->s->succ_ev.ref.record < b->s->succ_ev.ref.record;
}

static void flags_field(struct mh_det_ctx *cx, struct mh_det_pending *p, uint8_t f)
{
    char buf[64];
    size_t n = 0;
    const char *parts[3] = {f & F_SINGLE ? "single-factor" : NULL, f & F_LEGACY ? "legacy-client"
                                                                                : NULL,
                            f & F_ROPC ? "ropc" : NULL};
    for (int i = 0; i < 3; i++) {
        if (!parts[i]) continue;
        size_t l = strlen(parts[i]);
        if (n) buf[n++] = ',';
        memcpy(buf + n, parts[i], l);
        n += l;
    }
    mh_det_pend_str(cx, p, "authentication", n ? mh_slice_make(buf, n) : MH_SLICE_LIT("mfa"));
}

static mh_status judge_user(struct spray *s, struct mh_det_ctx *cx, const struct suser *u)
{
    struct mh_slice upn = mh_det_str(cx, u->user);
    if (cx->cfg.d3_allow_accounts[0] && mh_det_list_match(cx->cfg.d3_allow_accounts, upn, true))
        return MH_OK;
    struct qual best = {NULL, 0, -1};
    struct qual quals[8];
    size_t nq = 0;
    uint64_t extra = 0;
    for (uint32_t i = u->head; i; i = s->pool[i - 1].next) {
        const struct src *x = &s->pool[i - 1];
        if (x->succ_first == MH_TIME_NONE) continue;
        mh_time t = x->succ_first;
        bool known = x->good_first != MH_TIME_NONE && x->good_first < t &&
                     x->good_last >= t - cx->cfg.d2_new_source_lookback;
        if (known) continue;
        uint32_t n = 0;
        bool self_failed = x->fails && x->fail_first < t;
        if (self_failed) n++;
        for (uint32_t j = u->head; j; j = s->pool[j - 1].next) {
            const struct src *y = &s->pool[j - 1];
            if (y == x || !y->fails || y->succ_first != MH_TIME_NONE ||
                y->good_first != MH_TIME_NONE)
                continue;
            if (y->fail_first <= t && y->fail_last >= t - cx->cfg.d2_slow_window) n++;
        }
        if (n < cx->cfg.d2_slow_min_sources) continue;
        struct qual q = {x, n, (self_failed ? 2 : 0) + (x->succ_flags ? 1 : 0)};
        if (nq < sizeof quals / sizeof quals[0]) quals[nq++] = q;
        else extra++;
        if (!best.s || better(&q, &best)) best = q;
    }
    if (!best.s) return MH_OK;
    bool watch = cx->cfg.d3_watch_accounts[0] &&
                 mh_det_list_match(cx->cfg.d3_watch_accounts, upn, true);
    for (size_t i = 0; i < nq; i++) {
        const struct qual *q = &quals[i];
        /* high only for the best-ranked success that is also suspicious on its
           own (its address failed before, or the password alone was enough): a
           sprayed user's own MFA login from a new network stays medium */
        bool top = q->s == best.s && q->rank > 0;
        struct mh_det_pending *p =
            mh_det_pend(cx, &rule_d2, top ? MH_LEVEL_HIGH : MH_LEVEL_MEDIUM, &q->s->succ_ev);
        if (p) {
            p->count = q->sources;
            mh_det_pend_num(cx, p, "failing_sources", q->sources);
            mh_det_pend_str(cx, p, "success_ip", mh_det_str(cx, q->s->ip));
            mh_det_pend_str(cx, p, "success_ip_failed_before",
                            q->rank >= 2 ? MH_SLICE_LIT("yes") : MH_SLICE_LIT("no"));
            flags_field(cx, p, q->s->succ_flags);
        }
        if (!q->s->succ_flags) continue;
        enum mh_level lvl = top ? (watch ? MH_LEVEL_CRITICAL : MH_LEVEL_HIGH) : MH_LEVEL_MEDIUM;
        p = mh_det_pend(cx, &rule_d3, lvl, &q->s->succ_ev);
        if (!p) continue;
        flags_field(cx, p, q->s->succ_flags);
        if (watch) mh_det_pend_str(cx, p, "note", MH_SLICE_LIT("watched account"));
    }
    cx->stats.dropped += extra;
    return MH_OK;
}

static mh_status sp_finish(void *self, struct mh_det_ctx *cx)
{
    struct spray *s = self;
    if (cx->cfg.d1_enabled) MH_TRY(d1_finish(s, cx));
    if (!cx->cfg.d2_enabled) return MH_OK;
    for (size_t i = 0; i < s->nusers; i++) MH_TRY(judge_user(s, cx, &s->users[i]));
    return MH_OK;
}

/* ---- state ---- */

/* The D1 source of a state row (columns source, prefix); NULL when not tracked. */
static mh_status d1_row_source(struct mh_det_ctx *cx, struct spray *s, mh_db_stmt *q,
                               struct d1src **out)
{
    struct mh_slice k;
    *out = NULL;
    MH_TRY(mh_db_column_text(q, 0, &k, cx->err));
    uint32_t key = mh_det_intern(cx, k);
    if (!key) return MH_OK; /* string cap: counted in strings_dropped */
    return d1_source(cx, s, key, mh_db_column_int(q, 1) != 0, out);
}

static mh_status d1_row_user(struct mh_det_ctx *cx, mh_db_stmt *q, int col, uint32_t *out)
{
    struct mh_slice u;
    MH_TRY(mh_db_column_text(q, col, &u, cx->err));
    *out = mh_det_intern(cx, u);
    return MH_OK;
}

static mh_status d1_load(struct spray *s, struct mh_det_ctx *cx, mh_db *db)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    struct d1src *x;
    uint32_t u;
    MH_CHECK(mh_db_prepare(db, "SELECT source, prefix, time, user FROM d1_fail"
                               " ORDER BY source, time, user", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        MH_CHECK(d1_row_source(cx, s, q, &x));
        MH_CHECK(d1_row_user(cx, q, 3, &u));
        if (x && u) MH_CHECK(d1_add_fail(cx, x, secs_of(mh_db_column_int(q, 2)), u));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT source, prefix, user, last FROM d1_account"
                               " ORDER BY source, user", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        MH_CHECK(d1_row_source(cx, s, q, &x));
        MH_CHECK(d1_row_user(cx, q, 2, &u));
        if (x && u) MH_CHECK(d1_add_account(x, u, secs_of(mh_db_column_int(q, 3))));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT source, prefix, user, time FROM d1_success ORDER BY source",
                           &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        MH_CHECK(d1_row_source(cx, s, q, &x));
        MH_CHECK(d1_row_user(cx, q, 2, &u));
        mh_time t = mh_db_column_int(q, 3);
        if (!x || (x->mark != MH_TIME_NONE && x->mark <= t)) continue;
        x->mark = t;
        x->mark_user = u;
    }
out:
    mh_db_finalize(q);
    return st;
}

/* Retention: what a later event (at or after this run's end) can still
 * combine with -- failures and accounts within d1.success_lookback +
 * d1.window of the end, the mark while it is that recent. Rows are sets
 * (INSERT OR IGNORE): the state's copies of this run's own records merge. */
static mh_status d1_save(struct spray *s, struct mh_det_ctx *cx, mh_db *db)
{
    mh_status st = MH_OK;
    mh_db_stmt *qf = NULL, *qa = NULL, *qs = NULL;
    mh_time now = cx->run_last == MH_TIME_NONE ? 0 : cx->run_last;
    mh_time keep = now - cx->cfg.d1_success_lookback - cx->cfg.d1_window;
    MH_CHECK(mh_db_exec(db, "DELETE FROM d1_fail; DELETE FROM d1_account; DELETE FROM d1_success",
                        cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT OR IGNORE INTO d1_fail VALUES(?1, ?2, ?3, ?4)", &qf,
                           cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT OR IGNORE INTO d1_account VALUES(?1, ?2, ?3, ?4)", &qa,
                           cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d1_success VALUES(?1, ?2, ?3, ?4)", &qs, cx->err));
    for (size_t i = 0; i < s->nsrc; i++) {
        struct d1src *x = &s->src[i];
        uint32_t k0 = 0;
        if (x->nf > MH_D1_STATE_FAILURES_PER_SOURCE) {
            /* the newest distinct failures (finish is done: the order is free) */
            qsort(x->f, x->nf, sizeof *x->f, cmp_fail);
            uint32_t n = 0;
            for (uint32_t k = 0; k < x->nf; k++)
                if (!n || x->f[k].t != x->f[n - 1].t || x->f[k].user != x->f[n - 1].user)
                    x->f[n++] = x->f[k];
            x->nf = n;
            for (; n - k0 > MH_D1_STATE_FAILURES_PER_SOURCE; k0++)
                if ((mh_time)x->f[k0].t * MH_USEC_PER_SEC >= keep) cx->stats.dropped++;
        }
        for (uint32_t k = k0; k < x->nf; k++) {
            mh_time t = (mh_time)x->f[k].t * MH_USEC_PER_SEC;
            if (t < keep) continue;
            MH_CHECK(mh_det_bind_str(cx, qf, 1, x->key));
            MH_CHECK(mh_db_bind_int(qf, 2, x->prefix, cx->err));
            MH_CHECK(mh_db_bind_int(qf, 3, t, cx->err));
            MH_CHECK(mh_det_bind_str(cx, qf, 4, x->f[k].user));
            MH_CHECK(mh_det_step(cx, qf));
        }
        for (uint32_t k = 0; k < x->nsu; k++) {
            mh_time t = (mh_time)x->su[k].last * MH_USEC_PER_SEC;
            if (t < keep) continue;
            MH_CHECK(mh_det_bind_str(cx, qa, 1, x->key));
            MH_CHECK(mh_db_bind_int(qa, 2, x->prefix, cx->err));
            MH_CHECK(mh_det_bind_str(cx, qa, 3, x->su[k].user));
            MH_CHECK(mh_db_bind_int(qa, 4, t, cx->err));
            MH_CHECK(mh_det_step(cx, qa));
        }
        bool run = x->mark_run != MH_TIME_NONE &&
                   (x->mark == MH_TIME_NONE || x->mark_run < x->mark);
        mh_time mark = run ? x->mark_run : x->mark;
        if (mark == MH_TIME_NONE || mark < keep) continue;
        MH_CHECK(mh_det_bind_str(cx, qs, 1, x->key));
        MH_CHECK(mh_db_bind_int(qs, 2, x->prefix, cx->err));
        MH_CHECK(mh_det_bind_str(cx, qs, 3, run ? x->mark_run_user : x->mark_user));
        MH_CHECK(mh_db_bind_int(qs, 4, mark, cx->err));
        MH_CHECK(mh_det_step(cx, qs));
    }
out:
    mh_db_finalize(qs);
    mh_db_finalize(qa);
    mh_db_finalize(qf);
    return st;
}

static mh_status sp_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct spray *s = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    if (cx->cfg.d1_enabled) MH_TRY(d1_load(s, cx, mh_state_db(stt)));
    MH_CHECK(mh_db_prepare(mh_state_db(stt),
                           "SELECT user, ip, first, last FROM d2_good ORDER BY user, ip", &q,
                           cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice u, ip;
        MH_CHECK(mh_db_column_text(q, 0, &u, cx->err));
        uint32_t iu = mh_det_intern(cx, u);
        MH_CHECK(mh_db_column_text(q, 1, &ip, cx->err));
        uint32_t iip = mh_det_intern(cx, ip);
        if (!iu || !iip) continue;
        struct src *x;
        MH_CHECK(get_src(cx, s, iu, iip, &x));
        if (!x) continue;
        x->good_first = mh_db_column_int(q, 2);
        x->good_last = mh_db_column_int(q, 3);
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status sp_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct spray *s = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    mh_time now = cx->run_last == MH_TIME_NONE ? 0 : cx->run_last;
    if (cx->cfg.d1_enabled) MH_CHECK(d1_save(s, cx, db));
    MH_CHECK(mh_db_exec(db, "DELETE FROM d2_good", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d2_good VALUES(?1, ?2, ?3, ?4)", &q, cx->err));
    for (size_t i = 0; i < s->nusers; i++) {
        const struct suser *u = &s->users[i];
        struct mh_slice upn = mh_det_str(cx, u->user);
        for (uint32_t j = u->head; j; j = s->pool[j - 1].next) {
            const struct src *x = &s->pool[j - 1];
            mh_time first = x->good_first, last = x->good_last;
            if (x->succ_first != MH_TIME_NONE) {
                if (first == MH_TIME_NONE || x->succ_first < first) first = x->succ_first;
                if (last == MH_TIME_NONE || x->succ_first > last) last = x->succ_first;
            }
            if (first == MH_TIME_NONE || now - last > cx->cfg.d2_new_source_lookback) continue;
            struct mh_slice ip = mh_det_str(cx, x->ip);
            MH_CHECK(mh_db_bind_text(q, 1, upn.ptr, upn.len, cx->err));
            MH_CHECK(mh_db_bind_text(q, 2, ip.ptr, ip.len, cx->err));
            MH_CHECK(mh_db_bind_int(q, 3, first, cx->err));
            MH_CHECK(mh_db_bind_int(q, 4, last, cx->err));
            MH_CHECK(mh_db_step(q, &row, cx->err));
            mh_db_reset(q);
        }
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_spray_ops = {
    "spray", sp_create, sp_feed, sp_finish, sp_load, sp_save, sp_destroy,
};
