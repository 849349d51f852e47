/*
 * sim/attack_storm.c -- the Storm-0558 scenario (detections.md §1, D9, D13, D14)
 *
 * Pipeline: sim. Forged access tokens: the attacker reads mail through
 * OWA/REST with tokens Entra never issued, so
 *   - AppAccessContext.UniqueTokenId decodes to no sign-in id of any stream,
 *     AADSessionId/SessionId are unknown to every sign-in, IssuedAtTime is
 *     minutes before the first use;
 *   - the (AppId, ClientAppId) pair never appears reading mail in normal
 *     life (by seed: Exchange with a random client id, or Exchange with a
 *     first-party client that life never uses for mail);
 *   - a few attacker addresses (hosting and residential, several countries);
 *   - target mailboxes (executives, legal) in every simulated tenant
 *     (--tenants), LogonType Owner (the token claims to be the owner).
 * Steps: "forged-token-access" (Bind records listing the messages read), and
 * by seed "forged-token-sync": one mailbox's Inbox synchronised with a forged
 * token by a desktop client (Sync record: every message in the Inbox at that
 * moment is exfiltrated, truth "exfiltrated" basis = sync).
 * No sign-in, directory or admin record is produced: that absence is the
 * signal. Everything is drawn from (seed, STORM) streams.
 */
#include <string.h>

#include "base/alloc.h"
#include "sim/model.h"

enum { ST_ACCESS = 0, ST_SYNC };
enum { E_SESSION = EV_STORM_FIRST, E_BIND, E_SYNC };

#define MAX_STORM_IPS 5
#define MAX_STORM_TARGETS 48
#define MAX_STORM_SESSIONS 160

struct session {
    mh_time t;
    uint32_t user;
    uint8_t ip;
    uint8_t sync;
    uint8_t token[16], sid[16];
};

struct sim_attack_storm {
    struct sim_ip ip[MAX_STORM_IPS];
    uint32_t nip;
    char client_app[40];
    const char *client_name;
    const char *client_info;
    uint32_t targets[MAX_STORM_TARGETS];
    uint32_t ntargets;
    struct session sess[MAX_STORM_SESSIONS];
    uint32_t nsess;
};

mh_status sim_storm_init(struct sim *S)
{
    sim_truth_define_step(
        S, SC_STORM, ST_ACCESS, "forged-token-access",
        "MailItemsAccessed through OWA/REST with tokens no sign-in issued, an "
        "AppId/ClientAppId pair never seen reading mail, from attacker addresses");
    sim_truth_define_step(S, SC_STORM, ST_SYNC, "forged-token-sync",
                          "A mailbox folder synchronised with a forged token (whole folder taken)");
    struct sim_attack_storm *st = mh_calloc(1, sizeof *st);
    if (!st) return MH_ENOMEM;
    S->storm = st;
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_STORM, 0, 0);
    st->nip = (uint32_t)sim_rng_range(&r, 2, MAX_STORM_IPS);
    for (uint32_t i = 0; i < st->nip; i++)
        sim_ip_make(
            &r,
            sim_net_pick(&r, i == 0 || sim_rng_chance(&r, 0.6) ? NET_ATK_HOST : NET_ATK_RES, NULL),
            &st->ip[i]);
    /* the client pair: never used for mail by normal life */
    static const char *const fp[][2] = {
        {"c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal"},
        {"1fec8e78-bce4-4aaf-ab1b-5451cc387264", "Microsoft Teams"},
        {"4765445b-32c6-49b0-83e6-1d93765276ca", "OfficeHome"},
    };
    if (sim_rng_chance(&r, 0.5)) {
        uint8_t g[16];
        sim_guid(&r, g);
        sim_guid_str(g, st->client_app);
        st->client_name = "";
    } else {
        uint32_t k = (uint32_t)sim_rng_below(&r, 3);
        memcpy(st->client_app, fp[k][0], 37);
        st->client_name = fp[k][1];
    }
    static const char *const infos[] = {
        "Client=OWA;Mozilla/5.0 (X11; Linux x86_64; rv:115.0) Gecko/20100101 Firefox/115.0;",
        "Client=REST;;",
        ("Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:109.0) Gecko/20100101 "
         "Firefox/115.0;"),
        "Client=REST;Client=RESTSystem;;"};
    st->client_info = infos[sim_rng_below(&r, 4)];
    /* targets: executives and legal in every tenant */
    for (uint32_t t = 0; t < S->ntenants; t++) {
        const struct sim_tenant *tn = &S->tenants[t];
        uint32_t want = (uint32_t)sim_rng_range(&r, 2, 5), got = 0;
        for (uint32_t tries = 0; tries < 4 * tn->nusers && got < want; tries++) {
            uint32_t u = tn->first_user + (uint32_t)sim_rng_below(&r, tn->nusers);
            const struct sim_user *us = &S->users[u];
            if (!(us->flags & UF_EXEC) && us->dept != D_LEGAL) continue;
            bool dup = false;
            for (uint32_t k = 0; k < st->ntargets; k++) dup |= st->targets[k] == u;
            if (dup || st->ntargets >= MAX_STORM_TARGETS) continue;
            st->targets[st->ntargets++] = u;
            MH_TRY(sim_target_add(S, u));
            got++;
        }
    }
    /* sessions in the second half of the period */
    mh_time span = S->end - S->start;
    mh_time a0 = S->start + span * 55 / 100, a1 = S->start + span * 95 / 100;
    bool sync_done = !sim_rng_chance(&r, 0.5);
    for (uint32_t k = 0; k < st->ntargets; k++) {
        uint32_t n = (uint32_t)sim_rng_range(&r, 1, 3);
        for (uint32_t i = 0; i < n && st->nsess < MAX_STORM_SESSIONS; i++) {
            struct session *s = &st->sess[st->nsess++];
            s->t = a0 + (mh_time)sim_rng_below(&r, (uint64_t)((a1 - a0) / SIM_SEC)) * SIM_SEC +
                   (mh_time)sim_rng_below(&r, 1000000);
            s->user = st->targets[k];
            s->ip = (uint8_t)sim_rng_below(&r, st->nip);
            sim_rng_bytes(&r, s->token, 16);
            sim_guid(&r, s->sid);
            if (!sync_done) {
                s->sync = 1;
                sync_done = true;
            }
        }
    }
    return MH_OK;
}

void sim_storm_fini(struct sim *S)
{
    mh_free(S->storm);
    S->storm = NULL;
}

mh_status sim_storm_plan_day(struct sim *S, uint32_t day)
{
    struct sim_attack_storm *st = S->storm;
    mh_time d0 = S->start + (mh_time)day * SIM_DAY;
    for (uint32_t i = 0; i < st->nsess; i++) {
        if (st->sess[i].t < d0 || st->sess[i].t >= d0 + SIM_DAY) continue;
        struct sim_ev e = {
            .t = st->sess[i].t, .type = E_SESSION, .a = i, .x = sim_mix(S->o.seed, 0x570a, i)};
        MH_TRY(sim_schedule(S, &e));
    }
    return MH_OK;
}

static void mia_base(struct sim *S, struct sim_attack_storm *st, const struct session *s,
                     struct sim_mia *m, mh_time t, char *uti)
{
    struct sim_user *u = &S->users[s->user];
    memset(m, 0, sizeof *m);
    m->t = t;
    m->tenant = u->tenant;
    m->owner = u;
    m->actor = u;
    m->logon_type = 0;
    m->app_id = sim_res_id[RES_EXO];
    m->client_app_id = st->client_app;
    m->client_app_name = st->client_name;
    m->client_info = st->client_info;
    m->ip = &st->ip[s->ip];
    m->session = s->sid;
    sim_b64url_str(s->token, 16, uti);
    m->uti_override = uti;
    m->issued = s->t - (mh_time)(2 + s->token[0] % 8) * SIM_MIN;
}

mh_status sim_storm_event(struct sim *S, const struct sim_ev *e)
{
    struct sim_attack_storm *A = S->storm;
    mh_status st = MH_OK;
    struct sim_rng r;
    sim_rng_seed(&r, e->x ^ S->o.seed);
    const struct session *s = &A->sess[e->a];
    struct sim_user *u = &S->users[s->user];
    char uti[32];
    struct sim_mia m;
    switch (e->type) {
    case E_SESSION: {
        /* a burst of binds while the forged token lives, maybe a sync first */
        if (s->sync) {
            struct sim_ev x = {.t = e->t, .type = E_SYNC, .a = e->a, .x = sim_rng_next(&r)};
            MH_CHECK(sim_schedule(S, &x));
        }
        uint32_t n = (uint32_t)sim_rng_range(&r, 2, 8);
        for (uint32_t i = 0; i < n; i++) {
            struct sim_ev x = {.t =
                                   e->t + (mh_time)(30 + 150 * i + sim_rng_below(&r, 60)) * SIM_SEC,
                               .type = E_BIND,
                               .a = e->a,
                               .x = sim_rng_next(&r)};
            MH_CHECK(sim_schedule(S, &x));
        }
        break;
    }
    case E_BIND: {
        struct sim_target *tg = sim_target_of(S, s->user);
        struct sim_mia_item items[12];
        uint32_t n = 0, want = (uint32_t)sim_rng_range(&r, 3, 12);
        /* newest first: the attacker reads what is current */
        for (uint32_t i = tg ? tg->n : 0; i > 0 && n < want; i--) {
            struct sim_tmsg *x = &S->tmsg[tg->idx[i - 1]];
            if (x->exfil || !x->has_id || x->t >= e->t) continue;
            x->exfil = 1;
            items[n].serial = x->serial;
            items[n].from = x->from;
            items[n].folder = x->folder;
            n++;
        }
        if (!n) break;
        sim_tag(S, SC_STORM, ST_ACCESS);
        MH_CHECK(sim_truth_ip(S, &A->ip[s->ip]));
        MH_CHECK(sim_truth_user(S, u->upn));
        mia_base(S, A, s, &m, e->t, uti);
        m.items = items;
        m.nitems = n;
        m.op_count = n;
        m.h = sim_rng_next(&r);
        MH_CHECK(sim_emit_mia(S, &m));
        break;
    }
    case E_SYNC: {
        struct sim_target *tg = sim_target_of(S, s->user);
        for (uint32_t i = 0; tg && i < tg->n; i++) {
            struct sim_tmsg *x = &S->tmsg[tg->idx[i]];
            if (x->folder == F_INBOX && x->t < e->t && !x->exfil) x->exfil = 2;
        }
        sim_tag(S, SC_STORM, ST_SYNC);
        MH_CHECK(sim_truth_ip(S, &A->ip[s->ip]));
        MH_CHECK(sim_truth_user(S, u->upn));
        mia_base(S, A, s, &m, e->t, uti);
        m.client_info = "Client=MSExchangeRPC";
        m.sync = true;
        m.sync_folder = F_INBOX;
        m.h = sim_rng_next(&r);
        MH_CHECK(sim_emit_mia(S, &m));
        break;
    }
    default:
        break;
    }
out:
    sim_untag(S);
    return st;
}
