/*
 * sim/attack_mb.c -- the Midnight Blizzard scenario (detections.md §1, D1-D10)
 *
 * Pipeline: sim. Planned once (sim_mb_init) from its own random stream, so
 * every count, time, address, name and variant changes with the seed; the
 * primary tenant is the victim. Steps, in order (truth "step" names):
 *
 *   password-spray     low and slow from 40-140 residential proxy addresses in
 *                      several countries, 1-3 attempts per address, spread over
 *                      the first half of the period, against the legacy test
 *                      account (>= 6 distinct addresses) and a random set of
 *                      users plus a few names that do not exist (50034);
 *                      ROPC, rotating client ids and user agents (interactive
 *                      sign-ins + UAL UserLoginFailed)
 *   initial-access     success for the test account (no MFA:
 *                      singleFactorAuthentication) from a new address
 *   app-credential     the test account adds a password to the dormant legacy
 *                      OAuth app (Update application - Certificates and
 *                      secrets management; old key list not empty)
 *   legacy-app-signin  service-principal sign-ins of the legacy app (secret)
 *                      from attacker hosting
 *   create-apps        the legacy app creates 1-3 apps: Add application, Add
 *                      service principal, Add service principal credentials
 *   privileged-user    (variant "consent") the legacy app adds a user, makes it
 *                      Global Administrator; the user signs in
 *   grant-full-access  full_access_as_app on Office 365 Exchange Online for
 *                      each new app, by seed either "Add app role assignment
 *                      to service principal" initiated by the legacy app, or
 *                      admin consent ("Consent to application", IsAppOnly) by
 *                      the new user followed by the role assignment
 *   app-signin         service-principal sign-ins of the new apps to Exchange
 *                      from new addresses, before every collection session
 *   collection         EWS MailItemsAccessed (app-only: AppId Exchange,
 *                      ClientAppId = the new app, ClientInfoString
 *                      Client=WebServices;...) Bind records of up to 10
 *                      messages every ~1-2 minutes across executive, security
 *                      and legal mailboxes until each is read in full;
 *                      messages carrying secrets first
 *   secret-use         hours after the message carrying the client secret of
 *                      the tenant's `stolen_app` was read: service-principal
 *                      sign-ins of that app from attacker hosting
 *
 * Every record is written while the step is tagged (truth.malicious) and
 * carries attacker entities (attacker address, attacker app id, the test
 * account or the created user). Attacker addresses come only from the
 * NET_ATK_* blocks (geo.h).
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "sim/model.h"
#include "sim/text.h"

enum {
    ST_SPRAY = 0,
    ST_ACCESS,
    ST_CRED,
    ST_LEGACY_SI,
    ST_CREATE,
    ST_PRIV,
    ST_GRANT,
    ST_APP_SI,
    ST_COLLECT,
    ST_SECRET_USE
};

enum {
    E_SPRAY = EV_MB_FIRST,
    E_SUCCESS,
    E_CRED,
    E_LEGACY_SI,
    E_CREATE,
    E_USER,
    E_USER_SI,
    E_GRANT,
    E_APP_SI,
    E_SESSION,
    E_BIND,
    E_SECRET_USE,
    E_CREATE_CONT
};

#define MAX_SPRAY_IPS 160
#define MAX_ATTEMPTS 600
#define MAX_NEW_APPS 3
#define MAX_MB_TARGETS 24

struct attempt {
    mh_time t;
    uint16_t ip;
    uint32_t user; /* SIM_NONE: a name that does not exist */
    uint8_t fake;
};

struct sim_attack_mb {
    uint32_t tenant;
    uint32_t victim, legacy;
    int variant; /* 0: app role assignment, 1: admin consent via a new user */
    struct sim_ip spray_ip[MAX_SPRAY_IPS];
    uint32_t nspray_ip;
    struct attempt att[MAX_ATTEMPTS];
    uint32_t natt;
    struct sim_ip access_ip, ops_ip, app_ip[MAX_NEW_APPS], use_ip;
    struct sim_app apps[MAX_NEW_APPS];
    uint32_t napps;
    struct sim_user newuser;
    uint8_t new_session[16];
    uint32_t targets[MAX_MB_TARGETS];
    uint32_t ntargets;
    const char *spray_client[4];
    const char *spray_ua[4];
    const char *ews_ua;
    char fake_names[8][96];
    uint32_t nfake;
    mh_time t_collect0, t_collect1;
    uint32_t nsessions, cursor;
    bool secret_used;
    struct sim_ev plan[64];
    uint32_t nplan;
};

static const char *const step_names[][2] = {
    {"password-spray", "Low-and-slow password spray from residential proxies: few attempts per "
                       "address, spread over days, against the legacy test account and others"},
    {"initial-access", "Successful single-factor sign-in to the legacy test account without MFA"},
    {"app-credential", "New password credential added to the dormant legacy OAuth application"},
    {"legacy-app-signin", "Service-principal sign-ins of the legacy application from attacker "
                          "infrastructure"},
    {"create-apps", "New OAuth applications and service principals created, with credentials"},
    {"privileged-user", "A new user created and added to Global Administrator, then signed in"},
    {"grant-full-access", "Exchange full_access_as_app granted to the new applications"},
    {"app-signin", "Service-principal sign-ins of the new applications from new addresses"},
    {"collection", "EWS MailItemsAccessed across executive, security and legal mailboxes"},
    {"secret-use", "Sign-ins with a client secret taken from an exfiltrated email"},
};

static mh_status push(struct sim_attack_mb *mb, mh_time t, int type, uint32_t u, uint32_t a,
                      uint64_t x)
{
    if (mb->nplan >= sizeof mb->plan / sizeof mb->plan[0]) return MH_ELIMIT;
    struct sim_ev *e = &mb->plan[mb->nplan++];
    memset(e, 0, sizeof *e);
    e->t = t + (mh_time)(x % (59 * SIM_SEC)); /* never on a round minute */
    e->type = (uint16_t)type;
    e->u = u;
    e->a = a;
    e->x = x;
    return MH_OK;
}

static mh_time at(struct sim *S, double frac)
{
    return S->start + (mh_time)((double)(S->end - S->start) * frac);
}

static void atk_ip(struct sim_rng *r, int role, struct sim_ip *ip)
{
    sim_ip_make(r, sim_net_pick(r, role, NULL), ip);
}

mh_status sim_mb_init(struct sim *S)
{
    for (int i = 0; i < 10; i++)
        sim_truth_define_step(S, SC_MB, i, step_names[i][0], step_names[i][1]);
    const struct sim_tenant *tn = &S->tenants[0];
    if (tn->test_user == SIM_NONE || tn->legacy_app == SIM_NONE)
        return mh_error_set(S->err, MH_EINVAL, "midnight-blizzard needs at least 10 users", NULL);
    struct sim_attack_mb *mb = mh_calloc(1, sizeof *mb);
    if (!mb) return MH_ENOMEM;
    S->mb = mb;
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_MB, 0, 0);
    mb->victim = tn->test_user;
    mb->legacy = tn->legacy_app;
    mb->variant = (int)sim_rng_below(&r, 2);

    /* residential proxies: a random handful of countries' blocks */
    uint16_t nres = sim_net_count(NET_ATK_RES);
    uint32_t pool[128], npool = (uint32_t)sim_rng_range(&r, 5, 12);
    for (uint32_t i = 0; i < nres && i < 128; i++) pool[i] = i;
    sim_rng_shuffle_u32(&r, pool, nres);
    if (npool > nres) npool = nres;
    mb->nspray_ip = (uint32_t)sim_rng_range(&r, 40, 140);
    for (uint32_t i = 0; i < mb->nspray_ip; i++)
        sim_ip_make(&r, sim_net_nth(NET_ATK_RES, (uint16_t)pool[sim_rng_below(&r, npool)]),
                    &mb->spray_ip[i]);
    sim_ip_make(&r, sim_net_nth(NET_ATK_RES, (uint16_t)pool[npool % nres]), &mb->access_ip);
    atk_ip(&r, NET_ATK_HOST, &mb->ops_ip);
    for (int i = 0; i < MAX_NEW_APPS; i++)
        atk_ip(&r, sim_rng_chance(&r, 0.5) ? NET_ATK_HOST : NET_ATK_RES, &mb->app_ip[i]);
    atk_ip(&r, NET_ATK_HOST, &mb->use_ip);

    static const char *const clients[] = {
        "1b730954-1685-4b74-9bfd-dac224a7b894", "d3590ed6-52b3-4102-aeff-aad2292ab01c",
        "04b07795-8ddb-461a-bbee-02f9e1bf7b46", "1fec8e78-bce4-4aaf-ab1b-5451cc387264",
        "00000002-0000-0ff1-ce00-000000000000"};
    static const char *const uas[] = {
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/121.0.0.0 Safari/537.36",
        "python-requests/2.31.0",
        "BAV2ROPC",
        "Mozilla/5.0 (X11; Linux x86_64; rv:122.0) Gecko/20100101 Firefox/122.0",
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like "
        "Gecko) Version/17.2 Safari/605.1.15",
        "Go-http-client/1.1"};
    for (int i = 0; i < 4; i++) {
        mb->spray_client[i] = clients[sim_rng_below(&r, 5)];
        mb->spray_ua[i] = uas[sim_rng_below(&r, 6)];
    }
    static const char *const ews[] = {"Client=WebServices;ExchangeWebServices/15.20.7409.20;",
                                      "Client=WebServices;ExchangeServicesClient/15.00.0913.015;",
                                      "Client=WebServices;ExchangeWebServices/2.2;"};
    mb->ews_ua = ews[sim_rng_below(&r, 3)];

    /* the spray */
    mh_time s0 = at(S, 0.10), s1 = at(S, 0.45);
    uint32_t nsprayed = (uint32_t)sim_rng_range(&r, 20, 80);
    if (nsprayed > tn->nusers / 3) nsprayed = tn->nusers / 3 + 1;
    static const char *const fakes[] = {"admin",     "test",    "it.support", "helpdesk", "backup",
                                        "scanner01", "hr.team", "sysadmin",   "training"};
    mb->nfake = (uint32_t)sim_rng_range(&r, 3, 8);
    for (uint32_t i = 0; i < mb->nfake; i++)
        snprintf(mb->fake_names[i], sizeof mb->fake_names[i], "%s%u@%s",
                 fakes[sim_rng_below(&r, 9)], (unsigned)i, tn->domain);
    uint32_t sprayed[80];
    for (uint32_t i = 0; i < nsprayed && i < 80; i++) {
        uint32_t u;
        do {
            u = tn->first_user + (uint32_t)sim_rng_below(&r, tn->nusers);
        } while (u == mb->victim);
        sprayed[i] = u;
    }
    if (nsprayed > 80) nsprayed = 80;
    uint32_t victim_hits = 0;
    for (uint32_t ip = 0; ip < mb->nspray_ip && mb->natt < MAX_ATTEMPTS; ip++) {
        uint32_t n = (uint32_t)sim_rng_range(&r, 1, 3);
        for (uint32_t k = 0; k < n && mb->natt < MAX_ATTEMPTS; k++) {
            struct attempt *a = &mb->att[mb->natt++];
            a->t = s0 + (mh_time)sim_rng_below(&r, (uint64_t)((s1 - s0) / SIM_SEC)) * SIM_SEC +
                   (mh_time)sim_rng_below(&r, 1000000);
            a->ip = (uint16_t)ip;
            uint64_t x = sim_rng_below(&r, 100);
            if (x < 12 && victim_hits < 12 && k == 0) {
                a->user = mb->victim;
                victim_hits++;
            } else if (x < 18) {
                a->user = SIM_NONE;
                a->fake = (uint8_t)sim_rng_below(&r, mb->nfake);
            } else {
                a->user = sprayed[sim_rng_below(&r, nsprayed)];
            }
        }
    }
    /* at least six distinct addresses against the test account */
    for (uint32_t ip = 0; victim_hits < 6 && ip < mb->nspray_ip && mb->natt < MAX_ATTEMPTS;
         ip += 7) {
        struct attempt *a = &mb->att[mb->natt++];
        a->t = s0 + (mh_time)sim_rng_below(&r, (uint64_t)((s1 - s0) / SIM_SEC)) * SIM_SEC;
        a->ip = (uint16_t)ip;
        a->user = mb->victim;
        victim_hits++;
    }

    /* timeline after the spray */
    mh_time t = s1 + (mh_time)sim_rng_range(&r, 60, 360) * SIM_MIN;
    MH_TRY(push(mb, t, E_SUCCESS, mb->victim, 0, sim_rng_next(&r)));
    t += (mh_time)sim_rng_range(&r, 60, 300) * SIM_MIN;
    MH_TRY(push(mb, t, E_CRED, mb->victim, 0, sim_rng_next(&r)));
    t += (mh_time)sim_rng_range(&r, 10, 40) * SIM_MIN;
    MH_TRY(push(mb, t, E_LEGACY_SI, 0, 0, sim_rng_next(&r)));
    mb->napps = (uint32_t)sim_rng_range(&r, 1, MAX_NEW_APPS);
    static const char *const app_tail[] = {
        "Mail Sync Service", "Compliance Reporter", "Graph Connector", "Calendar Bridge",
        "Archive Helper",    "Migration Tool",      "Telemetry Agent"};
    for (uint32_t i = 0; i < mb->napps; i++) {
        struct sim_app *a = &mb->apps[i];
        char name[96];
        snprintf(name, sizeof name, "%s %s%s", sim_text_word(&r, 0), app_tail[sim_rng_below(&r, 7)],
                 sim_rng_chance(&r, 0.3) ? " v2" : "");
        a->name = mh_arena_strndup(&S->arena, name, strlen(name));
        if (!a->name) return MH_ENOMEM;
        a->tenant = 0;
        a->kind = APP_ATTACKER;
        sim_guid(&r, a->app_id);
        sim_guid(&r, a->sp_id);
        sim_guid(&r, a->obj_id);
        a->resource = RES_EXO;
        a->ip = mb->app_ip[i];
        t += (mh_time)sim_rng_range(&r, 5, 50) * SIM_MIN;
        MH_TRY(push(mb, t, E_CREATE, 0, i, sim_rng_next(&r)));
    }
    if (mb->variant == 1) {
        struct sim_user *nu = &mb->newuser;
        const struct sim_name *fn = sim_text_first(&r), *ln = sim_text_last(&r);
        char upn[160], disp[160];
        snprintf(upn, sizeof upn, "%s.%s.adm@%s", fn->ascii, ln->ascii, tn->onms);
        snprintf(disp, sizeof disp, "%s %s (admin)", fn->disp, ln->disp);
        nu->upn = mh_arena_strndup(&S->arena, upn, strlen(upn));
        nu->display = mh_arena_strndup(&S->arena, disp, strlen(disp));
        if (!nu->upn || !nu->display) return MH_ENOMEM;
        nu->first = fn->disp;
        nu->last = ln->disp;
        nu->title = "";
        nu->tenant = 0;
        nu->flags = UF_NOMFA;
        nu->boss = SIM_NONE;
        sim_guid(&r, nu->oid);
        sim_guid(&r, nu->mbx);
        nu->puid = UINT64_C(0x1003200000000000) | (sim_rng_next(&r) & UINT64_C(0xffffffffff));
        nu->rid = 900000 + (uint32_t)sim_rng_below(&r, 99999);
        t += (mh_time)sim_rng_range(&r, 5, 30) * SIM_MIN;
        MH_TRY(push(mb, t, E_USER, 0, 0, sim_rng_next(&r)));
        t += (mh_time)sim_rng_range(&r, 10, 60) * SIM_MIN;
        MH_TRY(push(mb, t, E_USER_SI, 0, 0, sim_rng_next(&r)));
    }
    for (uint32_t i = 0; i < mb->napps; i++) {
        t += (mh_time)sim_rng_range(&r, 3, 20) * SIM_MIN;
        MH_TRY(push(mb, t, E_GRANT, 0, i, sim_rng_next(&r)));
    }
    for (uint32_t i = 0; i < mb->napps; i++) {
        t += (mh_time)sim_rng_range(&r, 20, 240) * SIM_MIN;
        MH_TRY(push(mb, t, E_APP_SI, 0, i, sim_rng_next(&r)));
    }
    /* collection sessions */
    mh_time c0 = t + (mh_time)sim_rng_range(&r, 60, 240) * SIM_MIN;
    if (c0 < at(S, 0.6)) c0 = at(S, 0.6) + (mh_time)sim_rng_below(&r, 3600) * SIM_SEC;
    mh_time c1 = c0 + (mh_time)sim_rng_range(&r, 24, 72) * SIM_HOUR;
    if (c1 > S->end - 3 * SIM_HOUR) c1 = S->end - 3 * SIM_HOUR;
    if (c0 >= c1) c0 = c1 - 2 * SIM_HOUR;
    mb->t_collect0 = c0;
    mb->t_collect1 = c1;
    for (mh_time s = c0; s < c1 && mb->nplan < 60;) {
        MH_TRY(push(mb, s, E_SESSION, 0, (uint32_t)sim_rng_below(&r, mb->napps), sim_rng_next(&r)));
        mb->nsessions++;
        s += (mh_time)sim_rng_range(&r, 90, 360) * SIM_MIN;
    }

    /* targets: executives, security and legal mailboxes */
    uint32_t nexec = 0, nsec = 0, nleg = 0;
    uint32_t wexec = (uint32_t)sim_rng_range(&r, 3, 8), wsec = (uint32_t)sim_rng_range(&r, 1, 4),
             wleg = (uint32_t)sim_rng_range(&r, 1, 3);
    for (uint32_t k = 0; k < S->nsplan; k++)
        if (S->splan[k].for_app && mb->ntargets < MAX_MB_TARGETS) {
            mb->targets[mb->ntargets++] = S->splan[k].to;
            MH_TRY(sim_target_add(S, S->splan[k].to));
        }
    uint32_t order[4096];
    uint32_t n = tn->nusers < 4096 ? tn->nusers : 4096;
    for (uint32_t i = 0; i < n; i++)
        order[i] = tn->first_user + (uint32_t)((uint64_t)i * tn->nusers / n);
    sim_rng_shuffle_u32(&r, order, n);
    for (uint32_t i = 0; i < n && mb->ntargets < MAX_MB_TARGETS; i++) {
        const struct sim_user *u = &S->users[order[i]];
        bool take = false;
        if (u->dept == D_EXEC && (u->flags & UF_EXEC) && nexec < wexec)
            take = true, nexec++;
        else if (u->dept == D_SECURITY && nsec < wsec)
            take = true, nsec++;
        else if (u->dept == D_LEGAL && nleg < wleg)
            take = true, nleg++;
        if (!take || S->users[order[i]].target) continue;
        mb->targets[mb->ntargets++] = order[i];
        MH_TRY(sim_target_add(S, order[i]));
    }
    return MH_OK;
}

void sim_mb_fini(struct sim *S)
{
    mh_free(S->mb);
    S->mb = NULL;
}

mh_status sim_mb_plan_day(struct sim *S, uint32_t day)
{
    struct sim_attack_mb *mb = S->mb;
    mh_time d0 = S->start + (mh_time)day * SIM_DAY, d1 = d0 + SIM_DAY;
    for (uint32_t i = 0; i < mb->natt; i++) {
        if (mb->att[i].t < d0 || mb->att[i].t >= d1) continue;
        struct sim_ev e = {
            .t = mb->att[i].t, .type = E_SPRAY, .a = i, .x = sim_mix(S->o.seed, 0x5b7a, i)};
        MH_TRY(sim_schedule(S, &e));
    }
    for (uint32_t i = 0; i < mb->nplan; i++)
        if (mb->plan[i].t >= d0 && mb->plan[i].t < d1) MH_TRY(sim_schedule(S, &mb->plan[i]));
    return MH_OK;
}

/* ---------------------------------------------------------------- handlers */

static mh_status spray(struct sim *S, struct sim_attack_mb *mb, const struct sim_ev *e,
                       struct sim_rng *r)
{
    const struct attempt *a = &mb->att[e->a];
    struct sim_signin si;
    memset(&si, 0, sizeof si);
    si.cat = SI_INT;
    si.t = e->t;
    sim_guid(r, si.id);
    sim_guid(r, si.corr);
    si.tenant = mb->tenant;
    uint32_t k = (uint32_t)sim_rng_below(r, 4);
    si.client_id = mb->spray_client[k];
    si.client_name =
        strcmp(si.client_id, "1b730954-1685-4b74-9bfd-dac224a7b894") == 0
            ? "Azure Active Directory PowerShell"
        : strcmp(si.client_id, "04b07795-8ddb-461a-bbee-02f9e1bf7b46") == 0 ? "Microsoft Azure CLI"
        : strcmp(si.client_id, "1fec8e78-bce4-4aaf-ab1b-5451cc387264") == 0 ? "Microsoft Teams"
        : strcmp(si.client_id, "00000002-0000-0ff1-ce00-000000000000") == 0
            ? "Office 365 Exchange Online"
            : "Microsoft Office";
    si.res = RES_EXO;
    si.ip = &mb->spray_ip[a->ip];
    si.ua = mb->spray_ua[k];
    si.client_used = "Mobile Apps and Desktop clients";
    si.protocol = "ropc";
    si.mfa = false;
    if (a->user == SIM_NONE) {
        si.user = &S->users[mb->victim]; /* display fields unused with an override */
        si.upn_override = mb->fake_names[a->fake];
        si.err = 50034;
    } else {
        si.user = &S->users[a->user];
        si.err = sim_rng_chance(r, 0.02) ? 50053 : 50126;
    }
    MH_TRY(sim_truth_ip(S, si.ip));
    return sim_emit_signin(S, &si);
}

static void user_signin(struct sim_signin *si, const struct sim_user *u, mh_time t,
                        const struct sim_ip *ip, struct sim_rng *r, int cat, const char *client,
                        const char *client_name, int res)
{
    memset(si, 0, sizeof *si);
    si->cat = (uint8_t)cat;
    si->t = t;
    sim_guid(r, si->id);
    sim_guid(r, si->corr);
    si->tenant = u->tenant;
    si->user = u;
    si->client_id = client;
    si->client_name = client_name;
    si->res = res;
    si->ip = ip;
    si->mfa = false;
    si->client_used = "Mobile Apps and Desktop clients";
}

static void key_desc(char *out, size_t cap, const uint8_t *k1, const char *n1, const uint8_t *k2,
                     const char *n2)
{
    char a[37], b[37];
    sim_guid_str(k1, a);
    if (!k2) {
        snprintf(out, cap,
                 "[\"[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]\"]", a, n1);
        return;
    }
    sim_guid_str(k2, b);
    snprintf(out, cap,
             "[\"[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]\","
             "\"[KeyIdentifier=%s,KeyType=Password,KeyUsage=Verify,DisplayName=%s]\"]",
             a, n1, b, n2);
}

static const char *const graph_ua = "Microsoft Azure Graph Client Library 2.1.10";

static mh_status grant(struct sim *S, struct sim_attack_mb *mb, const struct sim_ev *e,
                       struct sim_rng *r)
{
    const struct sim_tenant *tn = &S->tenants[mb->tenant];
    struct sim_app *a = &mb->apps[e->a];
    uint8_t corr[16];
    sim_guid(r, corr);
    char sp[37], ap[37], exo[37], perm[600], ts[40], iso[32];
    sim_guid_str(a->sp_id, sp);
    sim_guid_str(a->app_id, ap);
    sim_guid_str(tn->exo_sp, exo);
    mh_time_format_sec(e->t, iso);
    snprintf(ts, sizeof ts, "\"%s\"", iso);
    struct sim_dirop d;
    memset(&d, 0, sizeof d);
    d.tenant = mb->tenant;
    d.corr = corr;
    d.category = "ApplicationManagement";
    d.ext_category = "ServicePrincipal";
    d.t = e->t;
    if (mb->variant == 1) {
        /* admin consent by the created Global Administrator */
        d.activity = "Consent to application";
        d.op_type = "Assign";
        d.by_user = &mb->newuser;
        d.ip = &mb->ops_ip;
        d.user_agent = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
                       "Gecko) Chrome/121.0.0.0 Safari/537.36";
        d.h = sim_rng_next(r);
        d.tgt[0] = (struct sim_target_res){"ServicePrincipal", a->sp_id, a->name, NULL};
        d.ntgt = 1;
        snprintf(perm, sizeof perm,
                 "[] => [[Id: %s, ClientId: %s, PrincipalId: , ResourceId: %s, ConsentType: "
                 "AllPrincipals, Scope: full_access_as_app, CreatedDateTime: , "
                 "LastModifiedDateTime ]]; ",
                 sp, sp, exo);
        d.mp[0] = (struct sim_mprop){"ConsentContext.IsAdminConsent", NULL, "\"True\""};
        d.mp[1] = (struct sim_mprop){"ConsentContext.IsAppOnly", NULL, "\"True\""};
        d.mp[2] = (struct sim_mprop){"ConsentContext.OnBehalfOfAll", NULL, "\"True\""};
        d.mp[3] = (struct sim_mprop){"ConsentContext.Tags", NULL,
                                     "\"WindowsAzureActiveDirectoryIntegratedApp\""};
        d.mp[4] = (struct sim_mprop){"ConsentAction.Permissions", NULL, perm};
        d.mp[5] = (struct sim_mprop){"ConsentAction.Reason", NULL, "\"\""};
        d.nmp = 6;
        MH_TRY(sim_emit_dirop(S, &d));
        d.t += 2 * SIM_SEC;
    } else {
        d.by_app = &S->apps[mb->legacy];
        d.ip = NULL;
        d.user_agent = graph_ua;
    }
    d.activity = "Add app role assignment to service principal";
    d.op_type = "Assign";
    d.h = sim_rng_next(r);
    d.tgt[0] =
        (struct sim_target_res){"ServicePrincipal", tn->exo_sp, "Office 365 Exchange Online", NULL};
    d.ntgt = 1;
    char qsp[40], qap[40], qname[160];
    snprintf(qsp, sizeof qsp, "\"%s\"", sp);
    snprintf(qap, sizeof qap, "\"%s\"", ap);
    snprintf(qname, sizeof qname, "\"%s\"", a->name);
    d.mp[0] = (struct sim_mprop){"AppRole.Id", NULL, "\"dc890d15-9560-4a4c-9b7f-a736ec74ec40\""};
    d.mp[1] = (struct sim_mprop){"AppRole.Value", NULL, "\"full_access_as_app\""};
    d.mp[2] = (struct sim_mprop){"AppRole.DisplayName", NULL,
                                 "\"Use Exchange Web Services with full access to all mailboxes\""};
    d.mp[3] = (struct sim_mprop){"AppRoleAssignment.CreatedDateTime", NULL, ts};
    d.mp[4] = (struct sim_mprop){"AppRoleAssignment.LastModifiedDateTime", NULL, ts};
    d.mp[5] = (struct sim_mprop){"ServicePrincipal.ObjectID", NULL, qsp};
    d.mp[6] = (struct sim_mprop){"ServicePrincipal.DisplayName", NULL, qname};
    d.mp[7] = (struct sim_mprop){"ServicePrincipal.AppId", NULL, qap};
    d.mp[8] = (struct sim_mprop){"ServicePrincipal.Name", NULL, qname};
    d.mp[9] = (struct sim_mprop){
        "TargetId.ServicePrincipalNames", NULL,
        "\"00000002-0000-0ff1-ce00-000000000000;https://outlook.office365.com\""};
    d.nmp = 10;
    return sim_emit_dirop(S, &d);
}

static mh_status create_app(struct sim *S, struct sim_attack_mb *mb, const struct sim_ev *e,
                            struct sim_rng *r)
{
    struct sim_app *a = &mb->apps[e->a];
    uint8_t corr[16], key[16];
    sim_guid(r, corr);
    sim_guid(r, key);
    char ap[37], qap[48], qname[160], kd[400];
    sim_guid_str(a->app_id, ap);
    snprintf(qap, sizeof qap, "\"%s\"", ap);
    snprintf(qname, sizeof qname, "\"%s\"", a->name);
    MH_TRY(sim_truth_app(S, a->app_id));
    struct sim_dirop d;
    memset(&d, 0, sizeof d);
    d.t = e->t;
    d.tenant = mb->tenant;
    d.corr = corr;
    d.h = sim_rng_next(r);
    d.by_app = &S->apps[mb->legacy];
    d.user_agent = graph_ua;
    d.category = "ApplicationManagement";
    d.op_type = "Add";
    d.ext_category = "Application";
    d.activity = "Add application";
    d.tgt[0] = (struct sim_target_res){"Application", a->obj_id, a->name, NULL};
    d.ntgt = 1;
    d.mp[0] = (struct sim_mprop){"AppId", NULL, qap};
    d.mp[1] = (struct sim_mprop){"DisplayName", NULL, qname};
    d.mp[2] =
        (struct sim_mprop){"RequiredResourceAccess", NULL,
                           "[{\"ResourceAppId\":\"00000002-0000-0ff1-ce00-000000000000\","
                           "\"RequiredAppPermissions\":[{\"EntitlementId\":"
                           "\"dc890d15-9560-4a4c-9b7f-a736ec74ec40\",\"DirectAccessGrant\":true,"
                           "\"ImpersonationAccessGrants\":[]}]}]"};
    d.nmp = 3;
    MH_TRY(sim_emit_dirop(S, &d));
    d.t += 3 * SIM_SEC;
    d.h = sim_rng_next(r);
    d.activity = "Add service principal";
    d.ext_category = "ServicePrincipal";
    d.tgt[0] = (struct sim_target_res){"ServicePrincipal", a->sp_id, a->name, NULL};
    d.mp[0] = (struct sim_mprop){"AppPrincipalId", NULL, qap};
    d.mp[1] = (struct sim_mprop){"DisplayName", NULL, qname};
    d.mp[2] = (struct sim_mprop){"ServicePrincipalName", NULL, qap};
    d.nmp = 3;
    MH_TRY(sim_emit_dirop(S, &d));
    d.t += (mh_time)sim_rng_range(r, 20, 90) * SIM_SEC;
    d.h = sim_rng_next(r);
    d.activity = "Add service principal credentials";
    d.op_type = "Update";
    key_desc(kd, sizeof kd, key, sim_rng_chance(r, 0.5) ? "secret" : "key1", NULL, NULL);
    d.mp[0] = (struct sim_mprop){"KeyDescription", "[]", kd};
    d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"KeyDescription\""};
    d.mp[2] = (struct sim_mprop){"TargetId.ServicePrincipalNames", NULL, qap};
    d.nmp = 3;
    return sim_emit_dirop(S, &d);
}

/* Next batch of a target mailbox: secrets first, then delivery order. */
static uint32_t next_batch(struct sim *S, uint32_t user, mh_time t, struct sim_mia_item *items,
                           uint32_t max, uint64_t *secret_serial_seen)
{
    struct sim_target *tg = sim_target_of(S, user);
    uint32_t n = 0;
    if (!tg) return 0;
    for (int pass = 0; pass < 2 && n < max; pass++)
        for (uint32_t i = 0; i < tg->n && n < max; i++) {
            struct sim_tmsg *x = &S->tmsg[tg->idx[i]];
            if (x->exfil || !x->has_id || x->t >= t) continue;
            if (pass == 0 && !x->secret) continue;
            x->exfil = 1;
            items[n].serial = x->serial;
            items[n].from = x->from;
            items[n].folder = x->folder;
            n++;
            if (x->secret) *secret_serial_seen = x->serial;
        }
    return n;
}

static mh_status bind(struct sim *S, struct sim_attack_mb *mb, const struct sim_ev *e,
                      struct sim_rng *r)
{
    struct sim_app *a = &mb->apps[e->a];
    struct sim_mia_item items[16];
    uint64_t seen = 0;
    uint32_t n = next_batch(S, e->u, e->t, items, (uint32_t)sim_rng_range(r, 4, 10), &seen);
    if (!n) return MH_OK;
    char ap[37];
    sim_guid_str(a->app_id, ap);
    struct sim_mia m;
    memset(&m, 0, sizeof m);
    m.t = e->t;
    m.tenant = mb->tenant;
    m.owner = &S->users[e->u];
    m.app = a;
    m.app_id = sim_res_id[RES_EXO];
    m.client_app_id = ap;
    m.client_app_name = a->name;
    m.client_info = mb->ews_ua;
    m.ip = &a->ip;
    m.token = a->token;
    m.issued = a->token_t - 5 * SIM_MIN;
    m.items = items;
    m.nitems = n;
    m.op_count = n + (uint32_t)sim_rng_below(r, 3);
    m.h = sim_rng_next(r);
    MH_TRY(sim_emit_mia(S, &m));
    /* the client secret of the stolen app was in this batch: use it later */
    for (uint32_t k = 0; k < S->nsplan && seen; k++) {
        const struct sim_secret_plan *p = &S->splan[k];
        if (!p->for_app || mb->secret_used) continue;
        for (uint32_t i = 0; i < n; i++)
            if (items[i].serial == p->serial) {
                mb->secret_used = true;
                mh_time t = e->t + (mh_time)sim_rng_range(r, 120, 1200) * SIM_MIN;
                if (t >= S->end - 30 * SIM_MIN) t = e->t + (S->end - e->t) / 2;
                struct sim_ev x = {.t = t, .type = E_SECRET_USE, .x = sim_rng_next(r)};
                MH_TRY(sim_schedule(S, &x));
            }
    }
    /* more to read in this mailbox during this session */
    if (e->c < 40) {
        struct sim_ev x = *e;
        x.t = e->t + (mh_time)sim_rng_range(r, 60, 150) * SIM_SEC;
        x.c = (uint16_t)(e->c + 1);
        x.x = sim_rng_next(r);
        MH_TRY(sim_schedule(S, &x));
    }
    return MH_OK;
}

static mh_status app_token(struct sim *S, struct sim_app *a, mh_time t, struct sim_rng *r)
{
    sim_tag(S, SC_MB, ST_APP_SI);
    MH_TRY(sim_truth_ip(S, &a->ip));
    return sim_app_signin(S, a, t, &a->ip, 0, r);
}

static mh_status handle(struct sim *S, struct sim_attack_mb *mb, const struct sim_ev *e)
{
    struct sim_rng r;
    sim_rng_seed(&r, e->x ^ S->o.seed);
    const struct sim_tenant *tn = &S->tenants[mb->tenant];
    struct sim_user *victim = &S->users[mb->victim];
    struct sim_app *legacy = &S->apps[mb->legacy];
    struct sim_signin si;
    switch (e->type) {
    case E_SPRAY:
        sim_tag(S, SC_MB, ST_SPRAY);
        return spray(S, mb, e, &r);
    case E_SUCCESS: {
        sim_tag(S, SC_MB, ST_ACCESS);
        MH_TRY(sim_truth_user(S, victim->upn));
        MH_TRY(sim_truth_ip(S, &mb->access_ip));
        user_signin(&si, victim, e->t, &mb->access_ip, &r, SI_INT,
                    "1b730954-1685-4b74-9bfd-dac224a7b894", "Azure Active Directory PowerShell",
                    RES_GRAPH);
        si.ua = mb->spray_ua[0];
        si.protocol = "ropc";
        sim_guid(&r, mb->new_session);
        si.session = mb->new_session;
        MH_TRY(sim_emit_signin(S, &si));
        return MH_OK;
    }
    case E_CRED: {
        sim_tag(S, SC_MB, ST_CRED);
        MH_TRY(sim_truth_app(S, legacy->app_id));
        /* a refresh-token sign-in of the attacker's session, then the change */
        user_signin(&si, victim, e->t, &mb->access_ip, &r, SI_NONINT,
                    "1b730954-1685-4b74-9bfd-dac224a7b894", "Azure Active Directory PowerShell",
                    RES_GRAPH);
        si.session = mb->new_session;
        si.incoming = "refreshToken";
        MH_TRY(sim_emit_signin(S, &si));
        uint8_t corr[16], k1[16], k2[16];
        sim_guid(&r, corr);
        sim_guid(&r, k1);
        sim_guid(&r, k2);
        char kold[400], knew[800];
        key_desc(kold, sizeof kold, k1, "initial", NULL, NULL);
        static const char *const kn[] = {"key2", "sync", "backup", "prod", "automation"};
        key_desc(knew, sizeof knew, k1, "initial", k2, kn[sim_rng_below(&r, 5)]);
        struct sim_dirop d;
        memset(&d, 0, sizeof d);
        d.t = e->t;
        d.tenant = mb->tenant;
        d.corr = corr;
        d.h = sim_rng_next(&r);
        d.by_user = victim;
        d.ip = &mb->access_ip;
        d.user_agent = "python-requests/2.31.0";
        d.activity = "Update application \xe2\x80\x93 Certificates and secrets management ";
        d.category = "ApplicationManagement";
        d.op_type = "Update";
        d.ext_category = "Application";
        d.tgt[0] = (struct sim_target_res){"Application", legacy->obj_id, legacy->name, NULL};
        d.ntgt = 1;
        d.mp[0] = (struct sim_mprop){"KeyDescription", kold, knew};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"KeyDescription\""};
        d.nmp = 2;
        return sim_emit_dirop(S, &d);
    }
    case E_LEGACY_SI:
        sim_tag(S, SC_MB, ST_LEGACY_SI);
        MH_TRY(sim_truth_ip(S, &mb->ops_ip));
        return sim_app_signin(S, legacy, e->t, &mb->ops_ip, 0, &r);
    case E_CREATE:
        sim_tag(S, SC_MB, ST_CREATE);
        if (e->a == 0 || !legacy->has_token || e->t - legacy->token_t > 50 * SIM_MIN) {
            sim_tag(S, SC_MB, ST_LEGACY_SI);
            MH_TRY(sim_app_signin(S, legacy, e->t, &mb->ops_ip, 0, &r));
            struct sim_ev x = *e;
            x.t = e->t + 30 * SIM_SEC;
            x.type = E_CREATE_CONT; /* create once the token is there */
            return sim_schedule(S, &x);
        }
        return create_app(S, mb, e, &r);
    case E_CREATE_CONT: {
        sim_tag(S, SC_MB, ST_CREATE);
        struct sim_ev x = *e;
        x.type = E_CREATE;
        return create_app(S, mb, &x, &r);
    }
    case E_USER: {
        sim_tag(S, SC_MB, ST_PRIV);
        struct sim_user *nu = &mb->newuser;
        MH_TRY(sim_truth_user(S, nu->upn));
        uint8_t corr[16];
        sim_guid(&r, corr);
        struct sim_dirop d;
        memset(&d, 0, sizeof d);
        d.t = e->t;
        d.tenant = mb->tenant;
        d.corr = corr;
        d.h = sim_rng_next(&r);
        d.by_app = legacy;
        d.user_agent = graph_ua;
        d.activity = "Add user";
        d.category = "UserManagement";
        d.op_type = "Add";
        d.ext_category = "User";
        d.tgt[0] = (struct sim_target_res){"User", nu->oid, NULL, nu->upn};
        d.ntgt = 1;
        d.mp[0] = (struct sim_mprop){"AccountEnabled", "[]", "[true]"};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"AccountEnabled\""};
        d.nmp = 2;
        MH_TRY(sim_emit_dirop(S, &d));
        sim_guid(&r, corr);
        d.t += (mh_time)sim_rng_range(&r, 30, 300) * SIM_SEC;
        d.h = sim_rng_next(&r);
        d.activity = "Add member to role";
        d.category = "RoleManagement";
        d.op_type = "Assign";
        d.ext_category = "Role";
        d.mp[0] =
            (struct sim_mprop){"Role.ObjectID", NULL, "\"62e90394-69f5-4237-9190-012177145e10\""};
        d.mp[1] = (struct sim_mprop){"Role.DisplayName", NULL, "\"Global Administrator\""};
        d.mp[2] =
            (struct sim_mprop){"Role.TemplateId", NULL, "\"62e90394-69f5-4237-9190-012177145e10\""};
        d.mp[3] = (struct sim_mprop){"Role.WellKnownObjectName", NULL, "\"TenantAdmins\""};
        d.nmp = 4;
        return sim_emit_dirop(S, &d);
    }
    case E_USER_SI:
        sim_tag(S, SC_MB, ST_PRIV);
        MH_TRY(sim_truth_ip(S, &mb->ops_ip));
        user_signin(&si, &mb->newuser, e->t, &mb->ops_ip, &r, SI_INT,
                    "c44b4083-3bb0-49c1-b47d-974e53cbdf3c", "Azure Portal", RES_AZMGMT);
        si.client_used = "Browser";
        si.ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                "Chrome/121.0.0.0 Safari/537.36";
        {
            uint8_t sess[16];
            sim_guid(&r, sess);
            si.session = sess;
            return sim_emit_signin(S, &si);
        }
    case E_GRANT:
        sim_tag(S, SC_MB, ST_GRANT);
        return grant(S, mb, e, &r);
    case E_APP_SI:
        return app_token(S, &mb->apps[e->a], e->t, &r);
    case E_SESSION: {
        struct sim_app *a = &mb->apps[e->a];
        MH_TRY(app_token(S, a, e->t, &r));
        sim_tag(S, SC_MB, ST_COLLECT);
        /* every target is visited (the one holding credentials first), then
         * later sessions come back for new mail */
        uint32_t k = (mb->ntargets + mb->nsessions - 1) / (mb->nsessions ? mb->nsessions : 1);
        k += (uint32_t)sim_rng_below(&r, 2);
        for (uint32_t i = 0; i < k && mb->ntargets; i++) {
            uint32_t tgt = mb->targets[mb->cursor++ % mb->ntargets];
            struct sim_ev x = {.t = e->t + (mh_time)(60 + 40 * i) * SIM_SEC,
                               .type = E_BIND,
                               .u = tgt,
                               .a = e->a,
                               .x = sim_rng_next(&r)};
            MH_TRY(sim_schedule(S, &x));
        }
        return MH_OK;
    }
    case E_BIND: {
        struct sim_app *a = &mb->apps[e->a];
        if (e->t - a->token_t > 55 * SIM_MIN) {
            MH_TRY(app_token(S, a, e->t, &r));
            struct sim_ev x = *e;
            x.t = e->t + 20 * SIM_SEC;
            x.x = sim_rng_next(&r);
            return sim_schedule(S, &x);
        }
        sim_tag(S, SC_MB, ST_COLLECT);
        return bind(S, mb, e, &r);
    }
    case E_SECRET_USE: {
        sim_tag(S, SC_MB, ST_SECRET_USE);
        struct sim_app *stolen = &S->apps[tn->stolen_app];
        MH_TRY(sim_truth_app(S, stolen->app_id));
        MH_TRY(sim_truth_ip(S, &mb->use_ip));
        uint32_t n = (uint32_t)sim_rng_range(&r, 1, 3);
        for (uint32_t i = 0; i < n; i++) {
            /* the same minute: several token requests for different resources */
            uint8_t res = stolen->resource;
            stolen->resource = (uint8_t)(i == 0 ? RES_GRAPH : i == 1 ? RES_EXO : RES_SPO);
            mh_status st = sim_app_signin(S, stolen, e->t, &mb->use_ip, 0, &r);
            stolen->resource = res;
            MH_TRY(st);
        }
        return MH_OK;
    }
    default:
        return MH_OK;
    }
}

mh_status sim_mb_event(struct sim *S, const struct sim_ev *e)
{
    mh_status st = handle(S, S->mb, e);
    sim_untag(S);
    return st;
}
