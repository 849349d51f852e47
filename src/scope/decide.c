/*
 * scope/decide.c -- which kept records are in an attacker context
 *
 * Pipeline: feed -> [decide] -> collect -> output.
 * For each incident K separately, a kept record r is in K's context when
 * r.time lies in K's window and the strongest of these holds (the level is
 * what the evidence reports, docs/scope.md §2):
 *
 *   session          r's SessionId / AADSessionId is listed by K
 *   token            r's token (UniqueTokenId -> sign-in id) is listed by K
 *   client_app       r's ClientAppId is listed by K (first-party ids never are)
 *   app              r's AppId is listed by K
 *   ip               r's client IP is listed by K and not SHARED: neither r's
 *                    user nor r's mailbox owner used it on a mailbox outside
 *                    every window of the incidents listing it, and at most one
 *                    principal did (two or more: a NAT or proxy, shared by all)
 *   session-learned  r's session / token was learned by K from another record
 *   token-learned    (ranked below the direct reasons above)
 *   ip+client        a shared listed IP together with a ClientInfoString
 *                    learned by K, unless r's session was seen on a listed
 *                    IP outside the windows (then it is the owner's session)
 *   user             r's user is a principal of K and r's mailbox is another
 *                    principal's (cross-mailbox access)
 *
 * Nothing else: a principal on its own mailbox (the owner reads mail every
 * day), a shared IP alone, a ClientInfoString alone do not make a context.
 *
 * Learning: a record matched by session, token (listed or learned) or an
 * unshared IP teaches K its session, token and ClientInfoString; a record
 * matched by app / client_app teaches its token and ClientInfoString only (a
 * delegated app's token carries the victim's own session, which would pull
 * in the victim's own activity). Rounds repeat until nothing new is learned
 * (at most MH_SCOPE_MAX_ROUNDS; the rest is counted as dropped).
 *
 * Cost: incidents x records x rounds lookups in sorted lists; no allocation
 * per record beyond the match list.
 */
#include <string.h>

#include "base/alloc.h"
#include "scope/internal.h"

static bool given(const mh_scope *s, uint32_t key, uint32_t inc)
{
    return key != SC_NONE && mh_scope_list_has(&s->keys[key].given, inc);
}

static bool learned(const mh_scope *s, uint32_t key, uint32_t inc)
{
    return key != SC_NONE && mh_scope_list_has(&s->keys[key].learned, inc);
}

static bool pair_seen(const mh_scope *s, uint32_t ip, uint32_t user)
{
    if (user == SC_NONE) return false;
    uint32_t key[2] = {ip, user};
    return mh_map_get(&s->pairs, (const char *)key, sizeof key) != NULL;
}

static bool shared_ip(const mh_scope *s, const struct sc_rec *r)
{
    uint32_t ip = r->f[SC_F_IP];
    if (s->keys[ip].outside >= 2) return true;
    return pair_seen(s, ip, r->f[SC_F_USER]) || pair_seen(s, ip, r->f[SC_F_MBXUSER]);
}

static enum sc_level level(const mh_scope *s, uint32_t k, const struct sc_rec *r)
{
    const uint32_t *f = r->f;
    if (given(s, f[SC_F_SESSION], k)) return SC_L_SESSION;
    if (given(s, f[SC_F_TOKEN], k)) return SC_L_TOKEN;
    if (given(s, f[SC_F_CAPP], k)) return SC_L_CLIENTAPP;
    if (given(s, f[SC_F_APP], k)) return SC_L_APP;
    bool ip = given(s, f[SC_F_IP], k), shared = ip && shared_ip(s, r);
    if (ip && !shared) return SC_L_IP;
    if (learned(s, f[SC_F_SESSION], k)) return SC_L_SESSION_L;
    if (learned(s, f[SC_F_TOKEN], k)) return SC_L_TOKEN_L;
    if (shared) {
        /* a shared IP: the client string decides, unless the session is the owner's */
        bool owner_session = f[SC_F_SESSION] != SC_NONE && s->keys[f[SC_F_SESSION]].outside;
        if (!owner_session && learned(s, f[SC_F_CLIENT], k)) return SC_L_IPCLIENT;
    }
    if (given(s, f[SC_F_USER], k) && f[SC_F_MBXUSER] != SC_NONE && f[SC_F_MBXUSER] != f[SC_F_USER])
        return SC_L_USER;
    return SC_L_NONE;
}

static mh_status learn(mh_scope *s, uint32_t inc, uint32_t key, bool *changed)
{
    if (key == SC_NONE || given(s, key, inc)) return MH_OK;
    bool added;
    MH_TRY(mh_scope_list_add(&s->keys[key].learned, inc, &added));
    if (!added) return MH_OK;
    MH_TRY(mh_scope_list_add(&s->incs[inc].learned, key, NULL));
    *changed = true;
    return MH_OK;
}

static mh_status teach(mh_scope *s, uint32_t inc, const struct sc_rec *r, enum sc_level l,
                       bool *changed)
{
    bool full = l == SC_L_SESSION || l == SC_L_TOKEN || l == SC_L_SESSION_L ||
                l == SC_L_TOKEN_L || l == SC_L_IP;
    bool app = l == SC_L_APP || l == SC_L_CLIENTAPP;
    if (!full && !app) return MH_OK;
    if (full) MH_TRY(learn(s, inc, r->f[SC_F_SESSION], changed));
    MH_TRY(learn(s, inc, r->f[SC_F_TOKEN], changed));
    return learn(s, inc, r->f[SC_F_CLIENT], changed);
}

static mh_status decide_one(mh_scope *s, uint32_t k, uint8_t *lev)
{
    struct sc_inc *I = &s->incs[k];
    memset(lev, 0, s->nrecs);
    /* Every round re-evaluates every record against what K knows now; learning
       only adds keys and levels only rise, so the rounds reach the least
       fixpoint, whatever the order of the records, and the last round (which
       learned nothing) leaves each record at its strongest level. */
    bool changed = true;
    unsigned round = 0;
    while (changed) {
        if (round++ >= MH_SCOPE_MAX_ROUNDS) {
            s->st.dropped++;
            break;
        }
        changed = false;
        for (size_t i = 0; i < s->nrecs; i++) {
            const struct sc_rec *r = &s->recs[i];
            if (r->t < I->wstart || r->t > I->wend) continue;
            enum sc_level l = level(s, k, r);
            if (!l) continue;
            lev[i] = (uint8_t)l;
            MH_TRY(teach(s, k, r, l, &changed));
        }
    }
    for (size_t i = 0; i < s->nrecs; i++) {
        if (!lev[i]) continue;
        MH_TRY(mh_scope_grow((void **)&s->matches, &s->capmatches, s->nmatches + 1,
                             sizeof *s->matches, (size_t)UINT32_MAX));
        s->matches[s->nmatches++] = (struct sc_match){(uint32_t)i, k, lev[i]};
        if (!s->recs[i].matched) s->st.in_context++;
        s->recs[i].matched = 1;
        I->by_level[lev[i]]++;
        I->records++;
    }
    return MH_OK;
}

mh_status mh_scope_decide(mh_scope *s)
{
    mh_status st = MH_OK;
    uint8_t *lev = mh_malloc(s->nrecs ? s->nrecs : 1);
    if (!lev) return MH_ENOMEM;
    for (size_t k = 0; k < s->nincs; k++) MH_CHECK(decide_one(s, (uint32_t)k, lev));
out:
    mh_free(lev);
    return st;
}
