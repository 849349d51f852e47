/*
 * sim/tenant.c -- the simulated world: tenants, people, apps, partners
 *
 * Pipeline: sim. Built once from (seed, --users, --tenants, --partners)
 * before any event; written to DIR/tenant.json (the notify stage loads its
 * partner list as organisation overrides and its internal domains).
 *
 * Tenants: tenant 0 is the primary tenant (--users users; the Midnight
 * Blizzard victim; the Purview export and the message trace are for it).
 * Tenants 1..T-1 are further Storm-0558 victims with max(20, users/10)
 * users each. Each tenant: GUID, display name, a primary domain and its
 * <name>.onmicrosoft.com, 1-4 offices (one static NAT egress address each),
 * mailbox servers, a domain SID.
 *
 * People: departments (executive, security, legal, IT, engineering, sales,
 * finance, HR, marketing, operations, support), job titles, a time zone and
 * working hours, home/office/mobile addresses, 1-3 devices, flags: admins,
 * executive assistants (delegates of an executive's mailbox), travellers
 * (a few days abroad), remote workers, desktop-Outlook users (Sync records),
 * mailing-list subscribers; in the primary tenant, besides its --users
 * users, one legacy test account without MFA (dormant; name random per seed)
 * and one disabled former employee whose phone keeps trying. Non-ASCII names are common; addresses
 * use the ASCII-folded name (first.last@domain, a digit on collision).
 *
 * Apps per tenant: third-party SaaS integrations (secret or certificate), a
 * backup product holding full_access_as_app (granted before the period:
 * reads mailboxes every night -- an honest false-positive trap), managed
 * identities, and in the primary tenant one dormant legacy OAuth app.
 *
 * Partners (--partners K): organisations with 2-6 correspondents each, some
 * writing from a subdomain (mail.fabrikam.co.uk -> key fabrikam.co.uk), a
 * few multi-domain organisations (one key, several domains), free-mail
 * providers whose users are individuals (key = the full address), and two
 * mailing lists (key = the list host's registrable domain). Every domain is
 * built as <label>.<public suffix> from a fixed suffix list, so the
 * registrable domain is known without a PSL lookup.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "sim/model.h"
#include "sim/text.h"

static char *sdup(struct sim *S, const char *s)
{
    return mh_arena_strndup(&S->arena, s, strlen(s));
}

static char *sfmt2(struct sim *S, const char *a, const char *b, const char *c)
{
    size_t na = strlen(a), nb = strlen(b), nc = c ? strlen(c) : 0;
    char *p = mh_arena_alloc(&S->arena, na + nb + nc + 1);
    if (!p) return NULL;
    memcpy(p, a, na);
    memcpy(p + na, b, nb);
    if (nc) memcpy(p + na + nb, c, nc);
    p[na + nb + nc] = '\0';
    return p;
}

/* Lower-case ASCII letters and digits of s (spaces and punctuation dropped). */
static void label_of(const char *s, char *out, size_t cap)
{
    size_t k = 0;
    for (; *s && k + 1 < cap; s++) {
        char c = *s;
        if (c >= 'A' && c <= 'Z') c = (char)(c + 32);
        if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) out[k++] = c;
    }
    out[k] = '\0';
}

static const char *const suffixes[] = {".com", ".co.uk", ".de",    ".fr",     ".com.au", ".io",
                                       ".nl",  ".ch",    ".co.jp", ".com.br", ".org",    ".net"};

static const struct {
    const char *dom;
    uint8_t style;
} freemail[] = {
    {"gmail.com", MS_GMAIL}, {"outlook.com", MS_EXO}, {"yahoo.com", MS_YAHOO}, {"gmx.de", MS_HEX},
    {"proton.me", MS_UUID},  {"icloud.com", MS_UUID}, {"hotmail.com", MS_EXO}, {"web.de", MS_HEX},
};

static mh_status add_org(struct sim *S, const char *key, uint32_t *out)
{
    MH_TRY(MH_GROW(S->orgs, S->orgs_cap, (size_t)S->norgs + 1, 256, SIZE_MAX));
    S->orgs[S->norgs].key = key;
    *out = S->norgs++;
    return MH_OK;
}

/* ---------------------------------------------------------------- users */

static const char *const test_names[] = {"testuser",    "o365.test", "labtest",   "qa.tester",
                                         "legacytest",  "m365test",  "demo.user", "trial.admin",
                                         "svc.testing", "poc.user"};

static int pick_dept(struct sim_rng *r)
{
    static const uint16_t w[D__N] = {0, 0, 0, 250, 180, 70, 50, 80, 100, 0, 120};
    return (int)sim_rng_weighted(r, w, D__N);
}

static mh_status make_user(struct sim *S, struct sim_rng *r, struct mh_map *upns, uint32_t ti,
                           uint32_t idx, int dept, uint16_t flags)
{
    struct sim_tenant *tn = &S->tenants[ti];
    struct sim_user *u = &S->users[idx];
    memset(u, 0, sizeof *u);
    u->tenant = ti;
    u->dept = (uint8_t)dept;
    u->flags = flags;
    u->boss = SIM_NONE;
    u->travel_first = u->travel_last = u->travel_city = 0xffff;
    const struct sim_name *fn = sim_text_first(r), *ln = sim_text_last(r);
    char local[96];
    if (flags & UF_TESTACCT) {
        snprintf(local, sizeof local, "%s%02u", test_names[sim_rng_below(r, 10)],
                 (unsigned)sim_rng_below(r, 100));
        u->first = "Test";
        u->last = "Account";
        u->display = sdup(S, local);
    } else {
        snprintf(local, sizeof local, "%s.%s", fn->ascii, ln->ascii);
        u->first = fn->disp;
        u->last = ln->disp;
        u->display = sfmt2(S, fn->disp, " ", ln->disp);
    }
    char upn[160];
    for (int k = 0;; k++) {
        if (k == 0)
            snprintf(upn, sizeof upn, "%s@%s", local, tn->domain);
        else
            snprintf(upn, sizeof upn, "%s%d@%s", local, k + 1, tn->domain);
        struct mh_map_entry *e;
        bool created;
        MH_TRY(mh_map_put(upns, upn, strlen(upn), &e, &created));
        if (created) break;
    }
    u->upn = sdup(S, upn);
    if (!u->upn || !u->display) return MH_ENOMEM;
    u->title = (flags & UF_ASSISTANT) ? sim_text_exec_assistant()
                                      : sim_text_title(dept, r, (flags & UF_EXEC) != 0);
    if (flags & UF_TESTACCT) u->title = "";
    sim_guid(r, u->oid);
    sim_guid(r, u->mbx);
    u->puid = UINT64_C(0x1003000000000000) | (sim_rng_next(r) & UINT64_C(0x0000ffffffffffff));
    u->rid = 1100 + idx * 4 + (uint32_t)sim_rng_below(r, 4);
    /* place and time */
    u->office = (uint8_t)sim_rng_below(r, tn->noffices);
    if (sim_rng_chance(r, 0.2)) u->flags |= UF_REMOTE;
    const struct sim_city *oc = &sim_cities[tn->office_city[u->office]];
    u->tz = oc->tz_min;
    u->home_city = tn->office_city[u->office];
    u->work_start = (uint8_t)sim_rng_range(r, 7, 9);
    u->work_end = (uint8_t)(u->work_start + sim_rng_range(r, 8, 10));
    sim_ip_make(r, sim_net_pick(r, NET_HOME, oc->country), &u->home_ip);
    sim_ip_make(r, sim_net_pick(r, NET_MOBILE, oc->country), &u->mobile_ip);
    u->home_city = sim_nets[u->home_ip.net].city;
    /* devices */
    bool desktop = sim_rng_chance(r, 0.55);
    if (desktop) u->flags |= UF_DESKTOP;
    u->ndev = 0;
    struct sim_device *d = &u->dev[u->ndev++];
    d->kind = desktop ? (sim_rng_chance(r, 0.8) ? DEV_WIN : DEV_MAC) : DEV_WEB;
    d->managed = desktop || sim_rng_chance(r, 0.5);
    sim_guid(r, d->id);
    if (sim_rng_chance(r, 0.7)) {
        d = &u->dev[u->ndev++];
        d->kind = sim_rng_chance(r, 0.6) ? DEV_IOS : DEV_ANDROID;
        d->managed = sim_rng_chance(r, 0.6);
        sim_guid(r, d->id);
    }
    if (desktop && sim_rng_chance(r, 0.3)) {
        d = &u->dev[u->ndev++];
        d->kind = DEV_WEB;
        d->managed = 0;
        sim_guid(r, d->id);
    }
    /* activity: messages per working day */
    static const float act[D__N] = {2.0f, 1.0f, 1.4f, 0.6f, 1.5f, 0.9f,
                                    0.9f, 1.0f, 0.8f, 0.8f, 0.8f};
    u->activity = act[dept] * (float)(0.5 + sim_rng_unit(r));
    if (sim_rng_chance(r, 0.03)) u->flags |= UF_LISTS;
    if ((dept == D_SALES || (flags & UF_EXEC)) && sim_rng_chance(r, 0.25))
        u->flags |= UF_TRAVELLER;
    else if (sim_rng_chance(r, 0.02))
        u->flags |= UF_TRAVELLER;
    if (u->flags & UF_TRAVELLER) {
        static const char *const dest[] = {"JP", "SG", "FR", "ES", "CA",
                                           "AU", "NL", "IT", "US", "GB"};
        uint32_t days = S->o.days;
        uint16_t len = (uint16_t)sim_rng_range(r, 2, 5);
        if (days > (uint32_t)len + 1) {
            u->travel_first = (uint16_t)sim_rng_below(r, days - len);
            u->travel_last = (uint16_t)(u->travel_first + len - 1);
            const char *c = dest[sim_rng_below(r, 10)];
            if (strcmp(c, oc->country) == 0) c = "SG";
            uint16_t net = sim_net_pick(r, NET_HOTEL, c);
            sim_ip_make(r, net, &u->travel_ip);
            u->travel_city = sim_nets[net].city;
        } else {
            u->flags &= (uint16_t)~UF_TRAVELLER;
        }
    }
    return MH_OK;
}

static mh_status build_tenant(struct sim *S, uint32_t ti, struct mh_map *names)
{
    struct sim_tenant *tn = &S->tenants[ti];
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_WORLD, 1000 + ti, 0);
    char name[96], lab[64], buf[160];
    for (int tries = 0;; tries++) {
        const char *a = sim_text_word(&r, 0), *b = sim_text_word(&r, 1);
        snprintf(name, sizeof name, "%s %s", a, b);
        label_of(a, lab, sizeof lab);
        struct mh_map_entry *e;
        bool created;
        MH_TRY(mh_map_put(names, lab, strlen(lab), &e, &created));
        if (created) break;
        if (tries > 200) {
            snprintf(lab + strlen(lab), sizeof lab - strlen(lab), "%u", ti);
            MH_TRY(mh_map_put(names, lab, strlen(lab), &e, &created));
            break;
        }
    }
    tn->name = sdup(S, name);
    tn->label = sdup(S, lab);
    char full[64];
    label_of(name, full, sizeof full);
    snprintf(buf, sizeof buf, "%s%s", full, ti % 3 == 0 ? ".com" : ti % 3 == 1 ? ".co.uk" : ".de");
    tn->domain = sdup(S, buf);
    snprintf(buf, sizeof buf, "%s.onmicrosoft.com", full);
    tn->onms = sdup(S, buf);
    snprintf(buf, sizeof buf, "scanner@%s", tn->domain);
    tn->scanner = sdup(S, buf);
    if (!tn->name || !tn->label || !tn->domain || !tn->onms || !tn->scanner) return MH_ENOMEM;
    sim_guid(&r, tn->id);
    sim_guid(&r, tn->exo_sp);
    sim_guid(&r, tn->graph_sp);
    for (int i = 0; i < 3; i++)
        tn->sid[i] = (uint32_t)(1000000000u + sim_rng_below(&r, 3000000000u));
    static const char *const pre[] = {"AM0PR08MB", "DB8PR04MB", "VI1PR07MB", "PA4PR02MB",
                                      "MW4PR11MB", "BN6PR19MB", "SA1PR05MB", "CH3PR10MB"};
    static const char *const reg[] = {"eurprd08", "eurprd04", "eurprd07", "eurprd02",
                                      "namprd11", "namprd19", "namprd05", "namprd10"};
    uint32_t k = (uint32_t)sim_rng_below(&r, 8);
    snprintf(tn->region, sizeof tn->region, "%s", reg[k]);
    for (int i = 0; i < 4; i++)
        snprintf(tn->srv[i], sizeof tn->srv[i], "%s%04u", pre[k],
                 (unsigned)sim_rng_range(&r, 1000, 9999));
    uint16_t nof = sim_net_count(NET_OFFICE);
    tn->noffices = (uint8_t)(ti == 0 ? sim_rng_range(&r, 2, 4) : sim_rng_range(&r, 1, 2));
    uint32_t perm[64];
    for (uint32_t i = 0; i < nof; i++) perm[i] = i;
    sim_rng_shuffle_u32(&r, perm, nof);
    for (uint8_t i = 0; i < tn->noffices; i++) {
        uint16_t net = sim_net_nth(NET_OFFICE, (uint16_t)perm[i]);
        tn->office_city[i] = sim_nets[net].city;
        sim_ip_make(&r, net, &tn->office_ip[i]);
    }
    tn->test_user = tn->legacy_app = tn->backup_app = tn->disabled_user = tn->stolen_app = SIM_NONE;
    return MH_OK;
}

static mh_status build_users(struct sim *S, uint32_t ti, struct mh_map *upns)
{
    struct sim_tenant *tn = &S->tenants[ti];
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_WORLD, 2000 + ti, 0);
    /* the primary tenant also has two special accounts after its regular users */
    uint32_t n = tn->nusers - (ti == 0 ? 2 : 0), base = tn->first_user;
    /* departments: fixed minimums for the small departments, weighted rest */
    uint8_t *dept = mh_malloc(n);
    uint32_t *order = mh_malloc((size_t)n * sizeof *order);
    mh_status st = MH_OK;
    if (!dept || !order) {
        st = MH_ENOMEM;
        goto out;
    }
    uint32_t nexec = n / 100 < 3 ? 3 : n / 100 > 15 ? 15 : n / 100;
    uint32_t nsec = n / 60 < 2 ? 2 : n / 60;
    uint32_t nleg = n / 60 < 2 ? 2 : n / 60;
    uint32_t nit = n / 30 < 3 ? 3 : n / 30;
    uint32_t k = 0;
    for (uint32_t i = 0; i < nexec && k < n; i++) dept[k++] = D_EXEC;
    for (uint32_t i = 0; i < nsec && k < n; i++) dept[k++] = D_SECURITY;
    for (uint32_t i = 0; i < nleg && k < n; i++) dept[k++] = D_LEGAL;
    for (uint32_t i = 0; i < nit && k < n; i++) dept[k++] = D_IT;
    while (k < n) dept[k++] = (uint8_t)pick_dept(&r);
    for (uint32_t i = 0; i < n; i++) order[i] = i;
    sim_rng_shuffle_u32(&r, order, n);
    /* order[i] = position of the i-th department slot among the users */
    uint32_t execs[16], nex = 0, its[8], nits = 0;
    for (uint32_t i = 0; i < n; i++) {
        uint32_t idx = base + order[i];
        uint16_t fl = 0;
        int d = dept[i];
        if (d == D_EXEC) fl |= UF_EXEC;
        MH_CHECK(make_user(S, &r, upns, ti, idx, d, fl));
        if (d == D_EXEC && nex < 16) execs[nex++] = idx;
        if (d == D_IT && nits < 8) its[nits++] = idx;
    }
    /* admins: IT staff plus one security analyst */
    for (uint32_t i = 0; i < nits && tn->nadmins < 4; i++) {
        S->users[its[i]].flags |= UF_ADMIN;
        tn->admins[tn->nadmins++] = its[i];
    }
    /* assistants: an operations person for about half of the executives */
    for (uint32_t e = 0; e < nex; e++) {
        if (!sim_rng_chance(&r, 0.5)) continue;
        for (int tries = 0; tries < 32; tries++) {
            uint32_t a = base + (uint32_t)sim_rng_below(&r, n);
            struct sim_user *u = &S->users[a];
            if (u->dept != D_OPERATIONS || u->boss != SIM_NONE || (u->flags & UF_ASSISTANT))
                continue;
            u->flags |= UF_ASSISTANT;
            u->boss = execs[e];
            u->title = sim_text_exec_assistant();
            u->office = S->users[execs[e]].office;
            break;
        }
    }
    if (ti == 0) {
        /* the legacy test account (no MFA, dormant) and a departed employee */
        MH_CHECK(make_user(S, &r, upns, ti, base + n, D_IT, UF_TESTACCT | UF_NOMFA));
        tn->test_user = base + n;
        MH_CHECK(make_user(S, &r, upns, ti, base + n + 1, pick_dept(&r), UF_DISABLED));
        S->users[base + n + 1].flags &= (uint16_t)~(UF_TRAVELLER | UF_LISTS);
        tn->disabled_user = base + n + 1;
    }
out:
    mh_free(dept);
    mh_free(order);
    return st;
}

/* ---------------------------------------------------------------- apps */

static const char *const legacy_names[] = {
    "Test App 2018",    "OAuth Sandbox",       "Legacy Mail Connector", "DevTest Integration",
    "PoC Graph Client", "QA Automation (old)", "Lab Tenant Sync",       "Pilot Mailer"};

static mh_status add_app(struct sim *S, struct sim_rng *r, uint32_t ti, int kind, const char *name)
{
    struct sim_app *a = &S->apps[S->napps++];
    memset(a, 0, sizeof *a);
    a->name = sdup(S, name);
    if (!a->name) return MH_ENOMEM;
    a->tenant = ti;
    a->kind = (uint8_t)kind;
    sim_guid(r, a->app_id);
    sim_guid(r, a->sp_id);
    sim_guid(r, a->obj_id);
    a->cert = (uint8_t)(kind == APP_MI ? 1 : sim_rng_chance(r, 0.4));
    a->resource = (uint8_t)(kind == APP_MI ? (sim_rng_chance(r, 0.5) ? RES_KEYVAULT : RES_AZMGMT)
                            : kind == APP_BACKUP ? RES_GRAPH
                                                 : (sim_rng_chance(r, 0.8) ? RES_GRAPH : RES_SPO));
    a->signins = (uint8_t)(kind == APP_MI       ? sim_rng_range(r, 6, 12)
                           : kind == APP_LEGACY ? 0
                           : kind == APP_BACKUP ? 1
                                                : sim_rng_range(r, 2, 6));
    sim_ip_make(r, sim_net_pick(r, NET_CLOUD, NULL), &a->ip);
    return MH_OK;
}

static mh_status build_apps(struct sim *S, uint32_t ti)
{
    struct sim_tenant *tn = &S->tenants[ti];
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_WORLD, 3000 + ti, 0);
    char name[96];
    tn->first_app = S->napps;
    uint32_t nsaas = (uint32_t)sim_rng_range(&r, 3, 6);
    for (uint32_t i = 0; i < nsaas; i++) {
        snprintf(name, sizeof name, "%s %s", sim_text_word(&r, 0), sim_text_word(&r, 2));
        MH_TRY(add_app(S, &r, ti, APP_SAAS, name));
    }
    tn->stolen_app = tn->first_app + (uint32_t)sim_rng_below(&r, nsaas);
    S->apps[tn->stolen_app].cert = 0; /* it authenticates with the secret that gets mailed */
    snprintf(name, sizeof name, "%s %s", sim_text_word(&r, 0),
             sim_rng_chance(&r, 0.5) ? "Backup for Microsoft 365" : "Mail Archiver");
    tn->backup_app = S->napps;
    MH_TRY(add_app(S, &r, ti, APP_BACKUP, name));
    for (int i = 0; i < 2; i++) {
        char word[40];
        label_of(sim_text_word(&r, 2), word, sizeof word);
        snprintf(name, sizeof name, "mi-%.30s-func-%02u", word, (unsigned)(sim_rng_below(&r, 100)));
        MH_TRY(add_app(S, &r, ti, APP_MI, name));
    }
    if (ti == 0) {
        tn->legacy_app = S->napps;
        MH_TRY(add_app(S, &r, ti, APP_LEGACY, legacy_names[sim_rng_below(&r, 8)]));
    }
    tn->napps = S->napps - tn->first_app;
    return MH_OK;
}

/* ---------------------------------------------------------------- partners */

static mh_status build_partners(struct sim *S, struct mh_map *names)
{
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_WORLD, 4000, 0);
    uint32_t K = S->o.partners;
    uint32_t nfree = K >= 12 ? 6 : K / 3;
    uint32_t nmulti = K >= 10 ? K / 10 : (K >= 5 ? 1 : 0);
    S->partners = mh_calloc(K + 1, sizeof *S->partners);
    S->contacts = mh_calloc((size_t)K * 8 + 8, sizeof *S->contacts);
    if (!S->partners || !S->contacts) return MH_ENOMEM;
    char name[96], lab[64], dom[128], addr[192], disp[160];
    for (uint32_t i = 0; i < K; i++) {
        struct sim_partner *p = &S->partners[S->npartners++];
        p->org = SIM_NONE;
        if (i < nfree) {
            p->freemail = 1;
            p->name = sdup(S, freemail[i].dom);
            p->key = p->name;
            p->dom[0] = p->name;
            p->ndom = 1;
            p->style = freemail[i].style;
        } else {
            for (int tries = 0;; tries++) {
                snprintf(name, sizeof name, "%s %s", sim_text_word(&r, 0), sim_text_word(&r, 1));
                label_of(name, lab, sizeof lab);
                struct mh_map_entry *e;
                bool created;
                if (tries > 100) {
                    size_t l = strlen(lab);
                    if (l > sizeof lab - 12) l = sizeof lab - 12;
                    snprintf(lab + l, 12, "%u", (unsigned)(i % 100000));
                }
                MH_TRY(mh_map_put(names, lab, strlen(lab), &e, &created));
                if (created) break;
            }
            const char *suf = suffixes[sim_rng_below(&r, sizeof suffixes / sizeof suffixes[0])];
            snprintf(dom, sizeof dom, "%s%s", lab, suf);
            p->name = sdup(S, name);
            p->dom[0] = sdup(S, dom);
            p->key = p->dom[0];
            p->ndom = 1;
            if (i < nfree + nmulti) {
                snprintf(dom, sizeof dom, "%s-group.com", lab);
                p->dom[p->ndom++] = sdup(S, dom);
                if (sim_rng_chance(&r, 0.5)) {
                    snprintf(dom, sizeof dom, "%s%s", lab, strcmp(suf, ".de") ? ".de" : ".fr");
                    p->dom[p->ndom++] = sdup(S, dom);
                }
            }
            static const uint16_t sw[] = {50, 20, 15, 15, 0};
            p->style = (uint8_t)sim_rng_weighted(&r, sw, 5);
            p->industry = (uint8_t)sim_rng_below(&r, 8);
            MH_TRY(add_org(S, p->key, &p->org));
        }
        p->first_contact = S->ncontacts;
        uint32_t nc = (uint32_t)(p->freemail ? sim_rng_range(&r, 3, 8) : sim_rng_range(&r, 2, 6));
        bool sub = !p->freemail && sim_rng_chance(&r, 0.2);
        for (uint32_t c = 0; c < nc; c++) {
            struct sim_contact *ct = &S->contacts[S->ncontacts];
            const struct sim_name *fn = sim_text_first(&r), *ln = sim_text_last(&r);
            const char *d = p->dom[p->ndom > 1 ? c % p->ndom : 0];
            char dbuf[160];
            if (sub && c % 2 == 0) {
                static const char *const subs[] = {"mail", "eu", "us", "corp"};
                snprintf(dbuf, sizeof dbuf, "%s.%s", subs[sim_rng_below(&r, 4)], d);
                d = dbuf;
            }
            if (p->freemail)
                snprintf(addr, sizeof addr, "%s.%s%02u@%s", fn->ascii, ln->ascii,
                         (unsigned)sim_rng_below(&r, 100), d);
            else
                snprintf(addr, sizeof addr, "%s.%s@%s", fn->ascii, ln->ascii, d);
            bool dupl = false;
            for (uint32_t k = p->first_contact; k < S->ncontacts; k++)
                dupl |= strcmp(S->contacts[k].addr, addr) == 0;
            if (dupl) continue;
            snprintf(disp, sizeof disp, "%s %s", fn->disp, ln->disp);
            ct->addr = sdup(S, addr);
            ct->display = sdup(S, disp);
            if (!ct->addr || !ct->display) return MH_ENOMEM;
            ct->partner = i;
            if (p->freemail)
                MH_TRY(add_org(S, ct->addr, &ct->org));
            else
                ct->org = p->org;
            S->ncontacts++;
        }
        p->ncontacts = S->ncontacts - p->first_contact;
    }
    /* two mailing lists, each its own organisation */
    S->lists = mh_calloc(2, sizeof *S->lists);
    if (!S->lists) return MH_ENOMEM;
    static const char *const lname[2][2] = {{"Security Forum", "secforum"},
                                            {"Industry Digest", "industrydigest"}};
    for (int i = 0; i < 2; i++) {
        struct sim_list *l = &S->lists[S->nlists++];
        char host[96];
        snprintf(lab, sizeof lab, "%s%u", lname[i][1], (unsigned)sim_rng_below(&r, 90) + 10);
        snprintf(host, sizeof host, "lists.%s.org", lab);
        l->host = sdup(S, host);
        l->name = lname[i][0];
        snprintf(addr, sizeof addr, "announce@%s", host);
        l->addr = sdup(S, addr);
        snprintf(addr, sizeof addr, "announce.%s", host);
        l->list_id = sdup(S, addr);
        snprintf(dom, sizeof dom, "%s.org", lab);
        if (!l->host || !l->addr || !l->list_id) return MH_ENOMEM;
        MH_TRY(add_org(S, sdup(S, dom), &l->org));
    }
    return MH_OK;
}

mh_status sim_world_build(struct sim *S)
{
    mh_status st = MH_OK;
    struct mh_map upns, names;
    mh_map_init(&upns, (size_t)MH_SIM_MAX_USERS * 2, true);
    mh_map_init(&names, 100000, true);
    S->ntenants = S->o.tenants;
    S->tenants = mh_calloc(S->ntenants, sizeof *S->tenants);
    if (!S->tenants) {
        st = MH_ENOMEM;
        goto out;
    }
    uint32_t total = 0;
    for (uint32_t t = 0; t < S->ntenants; t++) {
        uint32_t n = t == 0 ? S->o.users + 2 : (S->o.users / 20 < 20 ? 20 : S->o.users / 20);
        S->tenants[t].first_user = total;
        S->tenants[t].nusers = n;
        total += n;
    }
    S->nusers = total;
    S->users = mh_calloc(total, sizeof *S->users);
    S->apps = mh_calloc((size_t)S->ntenants * 12, sizeof *S->apps);
    if (!S->users || !S->apps) {
        st = MH_ENOMEM;
        goto out;
    }
    for (uint32_t t = 0; t < S->ntenants; t++) MH_CHECK(build_tenant(S, t, &names));
    for (uint32_t t = 0; t < S->ntenants; t++) MH_CHECK(build_users(S, t, &upns));
    for (uint32_t t = 0; t < S->ntenants; t++) MH_CHECK(build_apps(S, t));
    MH_CHECK(build_partners(S, &names));
    /* mailing-list subscribers */
    for (uint32_t i = 0; i < S->nusers; i++)
        if (S->users[i].flags & UF_LISTS) S->nlist_members++;
    S->list_members = mh_malloc((S->nlist_members + 1) * sizeof *S->list_members);
    if (!S->list_members) {
        st = MH_ENOMEM;
        goto out;
    }
    S->nlist_members = 0;
    for (uint32_t i = 0; i < S->nusers; i++) {
        if (!(S->users[i].flags & UF_LISTS)) continue;
        if (S->nlist_members >= MH_SIM_MAX_LIST_MEMBERS)
            S->users[i].flags &= (uint16_t)~UF_LISTS;
        else
            S->list_members[S->nlist_members++] = i;
    }
out:
    mh_map_fini(&upns);
    mh_map_fini(&names);
    if (st == MH_ENOMEM) mh_error_set(S->err, st, "out of memory building the world", NULL);
    return st;
}

/* ---------------------------------------------------------------- lookups */

const char *sim_addr_email(const struct sim *S, sim_addr a)
{
    uint32_t i = SIM_ADDR_IDX(a);
    switch (SIM_ADDR_KIND(a)) {
    case A_USER:
        return S->users[i].upn;
    case A_CONTACT:
        return S->contacts[i].addr;
    case A_LIST:
        return S->lists[i].addr;
    default:
        return S->tenants[i].scanner;
    }
}

const char *sim_addr_display(const struct sim *S, sim_addr a)
{
    uint32_t i = SIM_ADDR_IDX(a);
    switch (SIM_ADDR_KIND(a)) {
    case A_USER:
        return S->users[i].display;
    case A_CONTACT:
        return S->contacts[i].display;
    case A_LIST:
        return S->lists[i].name;
    default:
        return "MFP Scanner";
    }
}

uint32_t sim_addr_org(const struct sim *S, sim_addr a)
{
    uint32_t i = SIM_ADDR_IDX(a);
    switch (SIM_ADDR_KIND(a)) {
    case A_CONTACT:
        return S->contacts[i].org;
    case A_LIST:
        return S->lists[i].org;
    default:
        return SIM_NONE;
    }
}

const struct sim_ip *sim_user_ip(const struct sim *S, const struct sim_user *u, uint32_t day,
                                 int kind, uint64_t h)
{
    if ((u->flags & UF_TRAVELLER) && day >= u->travel_first && day <= u->travel_last)
        return kind == 1 && (h & 1) ? &u->mobile_ip : &u->travel_ip;
    if (kind == 1) return &u->mobile_ip;
    if (u->flags & UF_REMOTE) return &u->home_ip;
    uint64_t x = sim_mix(day, (uint64_t)(u - S->users), 0x0ff1ce);
    if (x % 10 < 7) return &S->tenants[u->tenant].office_ip[u->office];
    return &u->home_ip;
}

/* ---------------------------------------------------------------- tenant.json */

static void jw_guid(struct mh_jw *w, const uint8_t g[16])
{
    char s[37];
    sim_guid_str(g, s);
    mh_jw_str(w, s);
}

static const char *const app_kind[] = {"third-party", "backup", "legacy", "managed-identity",
                                       "attacker"};

mh_status sim_world_write_json(struct sim *S)
{
    struct mh_buf b;
    mh_buf_init(&b, (size_t)1 << 32);
    struct mh_jw w;
    mh_jw_init(&w, &b);
    char tmp[64];
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "generator");
    mh_jw_str(&w, "mailhound simulate");
    mh_jw_key(&w, "seed");
    mh_jw_uint(&w, S->o.seed);
    mh_jw_key(&w, "start");
    mh_jw_time(&w, S->start);
    mh_jw_key(&w, "days");
    mh_jw_uint(&w, S->o.days);
    mh_jw_key(&w, "tenants");
    mh_jw_arr_begin(&w);
    for (uint32_t t = 0; t < S->ntenants; t++) {
        const struct sim_tenant *tn = &S->tenants[t];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "id");
        jw_guid(&w, tn->id);
        mh_jw_key(&w, "name");
        mh_jw_str(&w, tn->name);
        mh_jw_key(&w, "label");
        mh_jw_str(&w, tn->label);
        mh_jw_key(&w, "primary");
        mh_jw_bool(&w, t == 0);
        mh_jw_key(&w, "domains");
        mh_jw_arr_begin(&w);
        mh_jw_str(&w, tn->domain);
        mh_jw_str(&w, tn->onms);
        mh_jw_arr_end(&w);
        mh_jw_key(&w, "offices");
        mh_jw_arr_begin(&w);
        for (uint8_t i = 0; i < tn->noffices; i++) {
            mh_jw_obj_begin(&w);
            mh_jw_key(&w, "city");
            mh_jw_str(&w, sim_cities[tn->office_city[i]].name);
            mh_jw_key(&w, "egress_ip");
            sim_ip_str(&tn->office_ip[i], tmp);
            mh_jw_str(&w, tmp);
            mh_jw_obj_end(&w);
        }
        mh_jw_arr_end(&w);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "internal_domains");
    mh_jw_arr_begin(&w);
    for (uint32_t t = 0; t < S->ntenants; t++) {
        mh_jw_str(&w, S->tenants[t].domain);
        mh_jw_str(&w, S->tenants[t].onms);
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "users");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < S->nusers; i++) {
        const struct sim_user *u = &S->users[i];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "upn");
        mh_jw_str(&w, u->upn);
        mh_jw_key(&w, "display_name");
        mh_jw_str(&w, u->display);
        mh_jw_key(&w, "id");
        jw_guid(&w, u->oid);
        mh_jw_key(&w, "tenant");
        mh_jw_uint(&w, u->tenant);
        mh_jw_key(&w, "department");
        mh_jw_str(&w, sim_dept_name[u->dept]);
        mh_jw_key(&w, "title");
        mh_jw_str(&w, u->title);
        mh_jw_key(&w, "country");
        mh_jw_str(&w, sim_cities[u->home_city].country);
        mh_jw_key(&w, "utc_offset_minutes");
        mh_jw_int(&w, u->tz);
        mh_jw_key(&w, "mfa");
        mh_jw_bool(&w, !(u->flags & UF_NOMFA));
        mh_jw_key(&w, "enabled");
        mh_jw_bool(&w, !(u->flags & UF_DISABLED));
        mh_jw_key(&w, "roles");
        mh_jw_arr_begin(&w);
        if (u->flags & UF_EXEC) mh_jw_str(&w, "executive");
        if (u->flags & UF_ADMIN) mh_jw_str(&w, "admin");
        if (u->flags & UF_ASSISTANT) mh_jw_str(&w, "delegate");
        if (u->flags & UF_TESTACCT) mh_jw_str(&w, "test-account");
        mh_jw_arr_end(&w);
        if (u->boss != SIM_NONE) {
            mh_jw_key(&w, "delegate_of");
            mh_jw_str(&w, S->users[u->boss].upn);
        }
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "apps");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < S->napps; i++) {
        const struct sim_app *a = &S->apps[i];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "app_id");
        jw_guid(&w, a->app_id);
        mh_jw_key(&w, "service_principal_id");
        jw_guid(&w, a->sp_id);
        mh_jw_key(&w, "name");
        mh_jw_str(&w, a->name);
        mh_jw_key(&w, "tenant");
        mh_jw_uint(&w, a->tenant);
        mh_jw_key(&w, "kind");
        mh_jw_str(&w, app_kind[a->kind]);
        mh_jw_key(&w, "credential");
        mh_jw_str(&w, a->kind == APP_MI ? "managed" : a->cert ? "certificate" : "secret");
        mh_jw_key(&w, "permissions");
        mh_jw_arr_begin(&w);
        if (a->kind == APP_BACKUP) mh_jw_str(&w, "full_access_as_app");
        if (a->kind == APP_LEGACY) {
            mh_jw_str(&w, "Application.ReadWrite.All");
            mh_jw_str(&w, "AppRoleAssignment.ReadWrite.All");
        }
        if (a->kind == APP_SAAS)
            mh_jw_str(&w, a->resource == RES_GRAPH ? "User.Read.All" : "Sites.Read.All");
        mh_jw_arr_end(&w);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "partners");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < S->npartners; i++) {
        const struct sim_partner *p = &S->partners[i];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "key");
        mh_jw_str(&w, p->key);
        mh_jw_key(&w, "name");
        mh_jw_str(&w, p->name);
        mh_jw_key(&w, "domains");
        mh_jw_arr_begin(&w);
        for (uint8_t k = 0; k < p->ndom; k++) mh_jw_str(&w, p->dom[k]);
        mh_jw_arr_end(&w);
        mh_jw_key(&w, "freemail");
        mh_jw_bool(&w, p->freemail);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "mailing_lists");
    mh_jw_arr_begin(&w);
    for (uint32_t i = 0; i < S->nlists; i++) {
        const struct sim_list *l = &S->lists[i];
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "key");
        mh_jw_str(&w, S->orgs[l->org].key);
        mh_jw_key(&w, "name");
        mh_jw_str(&w, l->name);
        mh_jw_key(&w, "address");
        mh_jw_str(&w, l->addr);
        mh_jw_key(&w, "list_id");
        mh_jw_str(&w, l->list_id);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_obj_end(&w);
    mh_status st = mh_jw_status(&w);
    if (st == MH_OK) st = mh_buf_putc(&b, '\n');
    if (st == MH_OK)
        st = sim_out_write_file(S, "tenant.json", b.data, b.len);
    else
        mh_error_set(S->err, st, "cannot build tenant.json", NULL);
    mh_buf_fini(&b);
    return st;
}
