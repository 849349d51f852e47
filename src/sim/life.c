/*
 * sim/life.c -- normal life of the simulated organisations
 *
 * Pipeline: sim. Plans one UTC day at a time and handles the resulting
 * events (model.h: the scheduler pops them in time order). Every user's day
 * is drawn from its own stream (seed, LIFE, user, day), so normal life is
 * identical whatever the attack scenario.
 *
 * A user's working day: the local working hours (time zone + start/end)
 * mapped to UTC; weekdays mostly active, weekends rarely (a mobile check).
 * Two work blocks: at the start of each the device (desktop Outlook, OWA,
 * Outlook mobile) may need an interactive sign-in (new session; desktop
 * sessions last days, browser sessions hours) -- with realistic noise:
 * 50126 typos, 50074 MFA interrupts, 50140 "keep me signed in", 16000
 * account picker, 50058 silent SSO -- each followed by the success. Mail is
 * read with tokens refreshed by non-interactive sign-ins (the token's UTI
 * and session appear in AppAccessContext of the MailItemsAccessed record,
 * IssuedAtTime 5 minutes before the sign-in); desktop Outlook syncs folders
 * (Sync records); messages are sent (UAL Send + trace + mbox), replied to,
 * forwarded to colleagues and partners; external partners write in.
 *
 * False-positive traps (detections.md), all benign and never in the truth:
 * travel (sign-ins from a hotel abroad for a few days), office NAT (many
 * users behind one address), MFA and typo failures, a disabled account's
 * phone retrying (50057), executive assistants reading their executive's
 * mailbox (LogonType Delegated), a backup app reading many mailboxes every
 * night with full_access_as_app (app-only, via Graph), managed-identity
 * certificate rotations, admins rotating app secrets, consenting to
 * delegated Mail.Read for a SaaS app, changing roles, adding users, inbox
 * rules that forward to a colleague or file newsletters, mailing lists,
 * scanner mail without Message-ID.
 *
 * Planted secrets: sim_life_init plans "secret mails" (IT sending keys,
 * tokens, connection strings); the first ones go to security, legal and
 * executive mailboxes early in the period (likely attack targets) and one
 * carries the client secret of the primary tenant's `stolen_app`.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "sim/model.h"

#define SESSION_DESKTOP (5 * SIM_DAY)
#define SESSION_WEB (3 * SIM_DAY)     /* "keep me signed in" */
#define SESSION_MOBILE (14 * SIM_DAY) /* mobile apps keep their refresh token */
#define TOKEN_LIFE (75 * SIM_MIN)

static const char *const admin_ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
                                    "(KHTML, like Gecko) Chrome/122.0.0.0 Safari/537.36";

enum admin_op {
    AD_ROLE = 0,
    AD_SECRET,
    AD_MI_CERT,
    AD_CONSENT,
    AD_UPDATE_USER,
    AD_ADD_USER,
    AD__N
};

static mh_status ev(struct sim *S, mh_time t, int type, uint32_t u, uint32_t a, uint32_t b,
                    uint16_t c, uint64_t x)
{
    /* sub-second jitter: real record times are not whole seconds */
    struct sim_ev e = {.t = t + (mh_time)(x % 1000000),
                       .x = x,
                       .u = u,
                       .a = a,
                       .b = b,
                       .type = (uint16_t)type,
                       .c = c};
    return sim_schedule(S, &e);
}

static int weekday(mh_time local)
{
    int64_t d = local / SIM_DAY;
    return (int)(((d % 7) + 7 + 3) % 7); /* 0 = Monday (1970-01-01 was a Thursday) */
}

static void rng_for(struct sim *S, struct sim_rng *r, uint64_t x)
{
    sim_rng_seed(r, x ^ S->o.seed);
}

static uint32_t tenant_user(struct sim *S, struct sim_rng *r, uint32_t tenant)
{
    const struct sim_tenant *tn = &S->tenants[tenant];
    for (int tries = 0; tries < 64; tries++) {
        uint32_t i = tn->first_user + (uint32_t)sim_rng_below(r, tn->nusers);
        if (!(S->users[i].flags & (UF_TESTACCT | UF_DISABLED))) return i;
    }
    return tn->first_user;
}

/* ---------------------------------------------------------------- init */

mh_status sim_life_init(struct sim *S)
{
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_SECRET, 0, 0);
    uint32_t n = 0;
    for (uint32_t t = 0; t < S->ntenants; t++) n += 3 + S->tenants[t].nusers / 250;
    S->splan = mh_calloc(n, sizeof *S->splan);
    if (!S->splan) return MH_ENOMEM;
    mh_time span = (mh_time)S->o.days * SIM_DAY;
    for (uint32_t t = 0; t < S->ntenants; t++) {
        const struct sim_tenant *tn = &S->tenants[t];
        uint32_t k = 3 + tn->nusers / 250;
        for (uint32_t i = 0; i < k; i++) {
            struct sim_secret_plan *p = &S->splan[S->nsplan++];
            p->kind = (uint8_t)((i + t) % SK__N);
            p->in_attachment = sim_rng_chance(&r, 0.3);
            /* the early ones go to likely targets, the rest anywhere */
            int want = i == 0 ? D_SECURITY : i == 1 ? D_EXEC : i == 2 ? D_LEGAL : -1;
            uint32_t to = tenant_user(S, &r, t);
            if (want >= 0)
                for (int tries = 0; tries < 4096; tries++) {
                    uint32_t c = tenant_user(S, &r, t);
                    if (S->users[c].dept == want) {
                        to = c;
                        break;
                    }
                }
            uint32_t from = tenant_user(S, &r, t);
            for (int tries = 0; tries < 4096; tries++) {
                uint32_t c = tenant_user(S, &r, t);
                if ((S->users[c].dept == D_IT || S->users[c].dept == D_ENGINEERING) && c != to) {
                    from = c;
                    break;
                }
            }
            if (from == to) from = tenant_user(S, &r, t);
            p->from = from;
            p->to = to;
            if (t == 0 && i == 0 && tn->stolen_app != SIM_NONE) {
                p->kind = SK_AZURE;
                p->for_app = 1;
                p->in_attachment = 0;
            }
            mh_time frac = want >= 0 ? span * 3 / 10 : span;
            mh_time day0 = (mh_time)sim_rng_below(&r, (uint64_t)(frac / SIM_DAY) + 1) * SIM_DAY;
            if (day0 >= span) day0 = span - SIM_DAY;
            const struct sim_user *fu = &S->users[from];
            mh_time local_start = (mh_time)(fu->work_start * 60 - fu->tz) * SIM_MIN;
            p->t = S->start + day0 + local_start +
                   (mh_time)sim_rng_below(&r, (uint64_t)(6 * SIM_HOUR / SIM_SEC)) * SIM_SEC;
            if (p->t < S->start) p->t += SIM_DAY;
            if (p->t >= S->end) p->t = S->end - SIM_HOUR;
        }
    }
    return MH_OK;
}

/* ---------------------------------------------------------------- planning */

static mh_status plan_user(struct sim *S, uint32_t ui, uint32_t day, mh_time d0)
{
    struct sim_user *u = &S->users[ui];
    if (u->flags & UF_TESTACCT) return MH_OK;
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_LIFE, ui, day);
    if (u->flags & UF_DISABLED) {
        uint32_t n = (uint32_t)sim_rng_range(&r, 2, 5);
        for (uint32_t i = 0; i < n; i++)
            MH_TRY(ev(S, d0 + (mh_time)sim_rng_below(&r, SIM_DAY / SIM_SEC) * SIM_SEC, EV_DISABLED,
                      ui, 0, 0, 0, sim_rng_next(&r)));
        return MH_OK;
    }
    mh_time ws = d0 + (mh_time)(u->work_start * 60 - u->tz) * SIM_MIN;
    mh_time we = d0 + (mh_time)(u->work_end * 60 - u->tz) * SIM_MIN;
    bool weekend = weekday(ws + (mh_time)u->tz * SIM_MIN) >= 5;
    int mobile = -1, web = -1;
    for (int i = 1; i < u->ndev; i++) {
        if (u->dev[i].kind == DEV_IOS || u->dev[i].kind == DEV_ANDROID)
            mobile = i;
        else
            web = i;
    }
    if (weekend) {
        if (!sim_rng_chance(&r, 0.3)) return MH_OK;
        int dv = mobile >= 0 ? mobile : 0;
        mh_time t = d0 + (mh_time)((10 + sim_rng_below(&r, 10)) * 60 - u->tz) * SIM_MIN +
                    (mh_time)sim_rng_below(&r, 3600) * SIM_SEC;
        MH_TRY(ev(S, t, EV_SIGNIN, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        MH_TRY(ev(S, t + 40 * SIM_SEC, EV_READ, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        if (sim_rng_chance(&r, 0.15))
            MH_TRY(ev(S, t + 300 * SIM_SEC, EV_SEND, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        return MH_OK;
    }
    if (!sim_rng_chance(&r, 0.94)) return MH_OK; /* leave, sick day */
    mh_time mid = ws + (we - ws) / 2;
    mh_time blocks[2][2] = {{ws, mid - 20 * SIM_MIN}, {mid + 30 * SIM_MIN, we}};
    for (int b = 0; b < 2; b++) {
        mh_time bs = blocks[b][0] + (mh_time)sim_rng_below(&r, 1800) * SIM_SEC;
        mh_time len = blocks[b][1] - bs;
        if (len < 30 * SIM_MIN) len = 30 * SIM_MIN;
        if (len > 3 * SIM_HOUR) len = 3 * SIM_HOUR;
        int dv = 0;
        uint64_t pick = sim_rng_below(&r, 100);
        if (pick < 15 && mobile >= 0)
            dv = mobile;
        else if (pick < 25 && web >= 0)
            dv = web;
        MH_TRY(ev(S, bs, EV_SIGNIN, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        bool desktop = u->dev[dv].kind == DEV_WIN || u->dev[dv].kind == DEV_MAC;
        if (desktop && b == 0)
            MH_TRY(ev(S, bs + 70 * SIM_SEC, EV_SYNC, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        /* reads cluster in the first hour of the block: one token per block */
        uint32_t nreads = sim_rng_chance(&r, 0.9) ? 1 : 2;
        for (uint32_t i = 0; i < nreads; i++) {
            mh_time t = bs + 2 * SIM_MIN + (mh_time)sim_rng_below(&r, 3600) * SIM_SEC;
            MH_TRY(ev(S, t, EV_READ, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        }
        uint32_t nsend = sim_rng_poisson(&r, u->activity / 2.0);
        for (uint32_t i = 0; i < nsend; i++) {
            /* mostly while the block's token is fresh, sometimes later */
            mh_time span = sim_rng_chance(&r, 0.8) ? 70 * SIM_MIN : len;
            mh_time t =
                bs + 3 * SIM_MIN + (mh_time)sim_rng_below(&r, (uint64_t)(span / SIM_SEC)) * SIM_SEC;
            MH_TRY(ev(S, t, EV_SEND, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        }
        if ((u->flags & UF_ASSISTANT) && u->boss != SIM_NONE)
            MH_TRY(ev(S, bs + (mh_time)sim_rng_below(&r, (uint64_t)(len / SIM_SEC)) * SIM_SEC,
                      EV_DELEGATE, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
        if (b == 0 && sim_rng_chance(&r, 0.003))
            MH_TRY(ev(S, bs + 10 * SIM_MIN, EV_RULE, ui, (uint32_t)dv, 0, 0, sim_rng_next(&r)));
    }
    /* evening phone check */
    if (mobile >= 0 && sim_rng_chance(&r, 0.15)) {
        mh_time t = we + (mh_time)sim_rng_range(&r, 60, 240) * SIM_MIN;
        MH_TRY(ev(S, t, EV_SIGNIN, ui, (uint32_t)mobile, 0, 0, sim_rng_next(&r)));
        MH_TRY(ev(S, t + 30 * SIM_SEC, EV_READ, ui, (uint32_t)mobile, 0, 0, sim_rng_next(&r)));
    }
    /* external mail coming in */
    double rate = (u->dept == D_SALES || u->dept == D_LEGAL || (u->flags & UF_EXEC)) ? 0.8 : 0.35;
    uint32_t nin = sim_rng_poisson(&r, rate);
    for (uint32_t i = 0; i < nin; i++) {
        mh_time t = ws - 2 * SIM_HOUR +
                    (mh_time)sim_rng_below(&r, (uint64_t)((we - ws) / SIM_SEC) + 18000) * SIM_SEC;
        MH_TRY(ev(S, t, EV_INBOUND, ui, 0, 0, 0, sim_rng_next(&r)));
    }
    return MH_OK;
}

static mh_status plan_tenant(struct sim *S, uint32_t ti, uint32_t day, mh_time d0)
{
    const struct sim_tenant *tn = &S->tenants[ti];
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_TENANT, ti, day);
    bool weekend = weekday(d0 + 12 * SIM_HOUR) >= 5;
    for (uint32_t a = tn->first_app; a < tn->first_app + tn->napps; a++) {
        const struct sim_app *ap = &S->apps[a];
        if (ap->kind == APP_LEGACY || ap->kind == APP_BACKUP) continue;
        for (uint32_t i = 0; i < ap->signins; i++)
            MH_TRY(ev(S, d0 + (mh_time)sim_rng_below(&r, SIM_DAY / SIM_SEC) * SIM_SEC,
                      EV_APP_SIGNIN, a, 0, 0, 0, sim_rng_next(&r)));
    }
    /* nightly backup: one app-only session reading a slice of the mailboxes */
    if (tn->backup_app != SIM_NONE) {
        mh_time t = d0 + (mh_time)(60 + sim_rng_below(&r, 60)) * SIM_MIN;
        uint32_t k = tn->nusers / 40 + 1;
        if (k > 25) k = 25;
        for (uint32_t i = 0; i < k; i++)
            MH_TRY(ev(S, t + (mh_time)i * 20 * SIM_SEC, EV_BACKUP, tenant_user(S, &r, ti),
                      tn->backup_app, 0, 0, sim_rng_next(&r)));
    }
    /* admin work on weekdays */
    if (!weekend && tn->nadmins) {
        static const double p[AD__N] = {0.15, 0.2, 0.15, 0.08, 0.3, 0.1};
        for (int op = 0; op < AD__N; op++) {
            if (!sim_rng_chance(&r, p[op])) continue;
            uint32_t adm = tn->admins[sim_rng_below(&r, tn->nadmins)];
            const struct sim_user *au = &S->users[adm];
            mh_time t = d0 + (mh_time)((au->work_start + 1) * 60 - au->tz) * SIM_MIN +
                        (mh_time)sim_rng_below(&r, 6 * 3600) * SIM_SEC;
            MH_TRY(ev(S, t, EV_ADMIN, adm, (uint32_t)op, ti, 0, sim_rng_next(&r)));
        }
        /* mailing lists and scanner mail */
        if (ti == 0)
            for (uint32_t l = 0; l < S->nlists; l++)
                if (sim_rng_chance(&r, 0.6))
                    MH_TRY(ev(S, d0 + (mh_time)sim_rng_range(&r, 6 * 60, 18 * 60) * SIM_MIN,
                              EV_LIST, 0, l, 0, 0, sim_rng_next(&r)));
        uint32_t ns = (uint32_t)sim_rng_below(&r, 3);
        for (uint32_t i = 0; i < ns; i++)
            MH_TRY(ev(S, d0 + (mh_time)sim_rng_range(&r, 7 * 60, 17 * 60) * SIM_MIN, EV_SCANNER,
                      tenant_user(S, &r, ti), ti, 0, 0, sim_rng_next(&r)));
    }
    return MH_OK;
}

mh_status sim_life_plan_day(struct sim *S, uint32_t day)
{
    mh_time d0 = S->start + (mh_time)day * SIM_DAY;
    for (uint32_t i = 0; i < S->nusers; i++) MH_TRY(plan_user(S, i, day, d0));
    for (uint32_t t = 0; t < S->ntenants; t++) MH_TRY(plan_tenant(S, t, day, d0));
    for (uint32_t k = 0; k < S->nsplan; k++)
        if (S->splan[k].t >= d0 && S->splan[k].t < d0 + SIM_DAY)
            MH_TRY(ev(S, S->splan[k].t, EV_SECRET_MAIL, S->splan[k].from, k, 0, 0,
                      sim_mix(S->o.seed, k, 0x5ec)));
    return MH_OK;
}

/* ---------------------------------------------------------------- sign-ins */

static const struct sim_ip *dev_ip(struct sim *S, const struct sim_user *u,
                                   const struct sim_device *d, mh_time t, uint64_t h)
{
    uint32_t day = (uint32_t)((t - S->start) / SIM_DAY);
    int mobile = d->kind == DEV_IOS || d->kind == DEV_ANDROID;
    return sim_user_ip(S, u, day, mobile, h);
}

static void fill_user_signin(struct sim *S, struct sim_signin *si, struct sim_user *u,
                             const struct sim_device *d, const struct sim_ip *ip, mh_time t,
                             struct sim_rng *r, int cat)
{
    const struct sim_devinfo *di = sim_devinfo(d->kind);
    memset(si, 0, sizeof *si);
    si->cat = (uint8_t)cat;
    si->t = t;
    sim_guid(r, si->id);
    sim_guid(r, si->corr);
    si->tenant = u->tenant;
    si->user = u;
    si->client_id = di->client_id;
    si->client_name = di->client_name;
    si->res = RES_EXO;
    si->ip = ip;
    si->dev = d;
    si->mfa = !(u->flags & UF_NOMFA);
    (void)S;
}

static mh_status interactive(struct sim *S, struct sim_user *u, struct sim_device *d,
                             const struct sim_ip *ip, mh_time t, struct sim_rng *r, int err)
{
    struct sim_signin si;
    fill_user_signin(S, &si, u, d, ip, t, r, SI_INT);
    si.err = err;
    if (err == 0) {
        sim_guid(r, d->session);
        d->has_session = 1;
        d->session_t = t;
        memcpy(d->token, si.id, 16);
        d->token_t = t;
        d->has_token = 1;
    }
    si.session = d->has_session && err == 0 ? d->session : NULL;
    if (err == 50126 || err == 50058) si.mfa = false;
    return sim_emit_signin(S, &si);
}

mh_status sim_life_token(struct sim *S, struct sim_user *u, struct sim_device *d,
                         const struct sim_ip *ip, mh_time t, uint64_t h)
{
    struct sim_rng r;
    sim_rng_seed(&r, h ^ 0x70c3e);
    if (!d->has_session) return interactive(S, u, d, ip, t, &r, 0);
    if (d->has_token && t - d->token_t < TOKEN_LIFE) return MH_OK;
    struct sim_signin si;
    fill_user_signin(S, &si, u, d, ip, t, &r, SI_NONINT);
    si.session = d->session;
    si.incoming = d->managed && d->kind == DEV_WIN ? "primaryRefreshToken" : "refreshToken";
    memcpy(d->token, si.id, 16);
    d->token_t = t;
    d->has_token = 1;
    return sim_emit_signin(S, &si);
}

static mh_status on_signin(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_device *d = &u->dev[e->a % u->ndev];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_ip *ip = dev_ip(S, u, d, e->t, e->x);
    mh_time life = d->kind == DEV_WEB                               ? SESSION_WEB
                   : (d->kind == DEV_IOS || d->kind == DEV_ANDROID) ? SESSION_MOBILE
                                                                    : SESSION_DESKTOP;
    if (d->has_session && e->t - d->session_t < life) return MH_OK;
    if (e->c == 0) {
        /* noise before the success; the success follows as a new event */
        uint64_t x = sim_rng_below(&r, 1000);
        int err = 0;
        if (x < 50)
            err = 50126;
        else if (x < 90 && !(u->flags & UF_NOMFA))
            err = 50074;
        else if (x < 110)
            err = 50140;
        else if (x < 120)
            err = 16000;
        else if (x < 140 && d->kind == DEV_WEB)
            err = 50058;
        if (err) {
            MH_TRY(interactive(S, u, d, ip, e->t, &r, err));
            return ev(S, e->t + (mh_time)sim_rng_range(&r, 15, 70) * SIM_SEC, EV_SIGNIN, e->u, e->a,
                      0, 1, sim_rng_next(&r));
        }
    }
    return interactive(S, u, d, ip, e->t, &r, 0);
}

/* ---------------------------------------------------------------- mail reads */

static const char *dev_app_id(int kind)
{
    return kind == DEV_WEB ? "00000002-0000-0ff1-ce00-000000000000" : sim_devinfo(kind)->client_id;
}

static mh_status on_read(struct sim *S, const struct sim_ev *e, bool delegate)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_device *d = &u->dev[e->a % u->ndev];
    struct sim_user *owner = delegate ? &S->users[u->boss] : u;
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_ip *ip = dev_ip(S, u, d, e->t, e->x);
    struct sim_mia_item items[8];
    uint32_t n = 0, want = (uint32_t)sim_rng_range(&r, 1, 4);
    for (uint32_t k = 0; k < owner->ring_n && n < want; k++) {
        struct sim_ring *g = &owner->ring[(owner->ring_head + MH_SIM_RING - 1 - k) % MH_SIM_RING];
        if (g->t >= e->t || !g->has_id) continue;
        if (g->read && !delegate) continue;
        if (!delegate) g->read = 1;
        items[n].serial = g->serial;
        items[n].from = g->from;
        items[n].folder = g->folder;
        n++;
    }
    if (!n) return MH_OK;
    MH_TRY(sim_life_token(S, u, d, ip, e->t, e->x));
    const struct sim_devinfo *di = sim_devinfo(d->kind);
    struct sim_mia m;
    memset(&m, 0, sizeof m);
    m.t = e->t;
    m.tenant = owner->tenant;
    m.owner = owner;
    m.actor = u;
    m.logon_type = delegate ? 2 : 0;
    m.app_id = dev_app_id(d->kind);
    m.client_app_id = di->client_id;
    m.client_app_name = di->client_name;
    m.client_info = di->client_info;
    m.ip = ip;
    m.session = d->session;
    m.token = d->token;
    m.issued = d->token_t - 5 * SIM_MIN;
    m.items = items;
    m.nitems = n;
    m.op_count = n + (sim_rng_chance(&r, 0.1) ? 1 : 0);
    m.h = sim_rng_next(&r);
    return sim_emit_mia(S, &m);
}

static mh_status on_sync(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_device *d = &u->dev[e->a % u->ndev];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_ip *ip = dev_ip(S, u, d, e->t, e->x);
    MH_TRY(sim_life_token(S, u, d, ip, e->t, e->x));
    const struct sim_devinfo *di = sim_devinfo(d->kind);
    int nf = sim_rng_chance(&r, 0.15) ? 2 : 1;
    for (int f = 0; f < nf; f++) {
        struct sim_mia m;
        memset(&m, 0, sizeof m);
        m.t = e->t;
        m.tenant = u->tenant;
        m.owner = u;
        m.actor = u;
        m.app_id = di->client_id;
        m.client_app_id = di->client_id;
        m.client_app_name = di->client_name;
        m.client_info = di->client_info;
        m.ip = ip;
        m.session = d->session;
        m.token = sim_rng_chance(&r, 0.85) ? d->token : NULL; /* some background syncs lack it */
        m.issued = d->token_t - 5 * SIM_MIN;
        m.sync = true;
        m.sync_folder = f == 0 ? F_INBOX : F_SENT;
        m.h = sim_rng_next(&r);
        MH_TRY(sim_emit_mia(S, &m));
    }
    return MH_OK;
}

/* ---------------------------------------------------------------- sending */

static sim_addr random_contact(struct sim *S, struct sim_rng *r, bool freemail_ok)
{
    for (int tries = 0; tries < 16; tries++) {
        uint32_t c = (uint32_t)sim_rng_below(r, S->ncontacts);
        if (!freemail_ok && S->partners[S->contacts[c].partner].freemail) continue;
        return SIM_ADDR(A_CONTACT, c);
    }
    return SIM_ADDR(A_CONTACT, (uint32_t)sim_rng_below(r, S->ncontacts));
}

static sim_addr colleague(struct sim *S, struct sim_rng *r, const struct sim_user *u)
{
    const struct sim_tenant *tn = &S->tenants[u->tenant];
    for (int tries = 0; tries < 8; tries++) {
        uint32_t c = tenant_user(S, r, u->tenant);
        if (&S->users[c] == u) continue;
        if (S->users[c].dept == u->dept || tries >= 4) return SIM_ADDR(A_USER, c);
    }
    return SIM_ADDR(A_USER, tn->first_user);
}

static bool has_rcpt(const struct sim_msg *m, sim_addr a)
{
    for (uint32_t i = 0; i < (uint32_t)m->nto + m->ncc + m->nbcc; i++)
        if (m->rcpt[i] == a) return true;
    return m->from == a;
}

static void add_rcpt(struct sim_msg *m, sim_addr a, int where)
{
    uint32_t n = (uint32_t)m->nto + m->ncc + m->nbcc;
    if (n >= MH_SIM_MAX_RCPT || has_rcpt(m, a)) return;
    /* keep the To, Cc, Bcc order */
    uint32_t pos = where == 0 ? m->nto : where == 1 ? (uint32_t)m->nto + m->ncc : n;
    memmove(&m->rcpt[pos + 1], &m->rcpt[pos], (n - pos) * sizeof *m->rcpt);
    m->rcpt[pos] = a;
    if (where == 0)
        m->nto++;
    else if (where == 1)
        m->ncc++;
    else
        m->nbcc++;
}

static int pick_kind(struct sim_rng *r)
{
    uint64_t x = sim_rng_below(r, 100);
    return x < 55 ? MK_PLAIN : x < 90 ? MK_ALT : MK_ATTACH;
}

/* A recent message of the user's mailbox to reply to (folder = Inbox or Sent). */
static const struct sim_msg *reply_candidate(struct sim *S, struct sim_rng *r, struct sim_user *u,
                                             int folder)
{
    if (!u->ring_n) return NULL;
    for (int tries = 0; tries < 4; tries++) {
        const struct sim_ring *g = &u->ring[sim_rng_below(r, u->ring_n)];
        if (g->folder != folder || !g->has_id) continue;
        const struct sim_msg *m = sim_ring_msg(S, g);
        if (m && m->kind != MK_LIST && m->kind != MK_SCANNER && m->depth < 6) return m;
    }
    return NULL;
}

static void make_reply(struct sim *S, struct sim_msg *m, const struct sim_msg *p)
{
    m->parent = sim_msg_slot(S, p);
    m->parent_serial = p->serial;
    m->topic = p->topic;
    m->depth = (uint8_t)(p->depth + 1);
    m->subj_seed = p->subj_seed; /* same thread, same subject */
}

static mh_status send_common(struct sim *S, struct sim_user *u, struct sim_device *d,
                             struct sim_msg *m, mh_time t, const struct sim_ip *ip,
                             struct sim_rng *r)
{
    MH_TRY(sim_life_token(S, u, d, ip, t, sim_rng_next(r)));
    MH_TRY(sim_mail_send(S, m, ip));
    const struct sim_devinfo *di = sim_devinfo(d->kind);
    struct sim_send s;
    memset(&s, 0, sizeof s);
    s.t = t;
    s.u = u;
    s.msg = m;
    s.subject = sim_msg_subject(S, m);
    s.app_id = dev_app_id(d->kind);
    s.client_info = di->client_info;
    s.ip = ip;
    s.session = d->session;
    s.token = d->token;
    s.issued = d->token_t - 5 * SIM_MIN;
    s.h = sim_rng_next(r);
    return sim_emit_send(S, &s);
}

static mh_status on_send(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_device *d = &u->dev[e->a % u->ndev];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_ip *ip = dev_ip(S, u, d, e->t, e->x);
    struct sim_msg *m = sim_msg_new(S, e->t, SIM_ADDR(A_USER, e->u), sim_rng_next(&r));
    m->kind = (uint8_t)pick_kind(&r);
    const struct sim_msg *p = sim_rng_chance(&r, 0.35) ? reply_candidate(S, &r, u, F_INBOX) : NULL;
    if (p && p->serial != m->serial) {
        sim_addr to = p->from == m->from ? p->rcpt[0] : p->from;
        make_reply(S, m, p);
        add_rcpt(m, to, 0);
        if (sim_rng_chance(&r, 0.4))
            for (uint32_t i = 0; i < p->nto && i < 3; i++) add_rcpt(m, p->rcpt[i], 1);
    } else {
        m->topic = sim_text_topic(&r, u->dept);
        static const float ext[D__N] = {0.3f,  0.15f, 0.4f,  0.12f, 0.55f, 0.25f,
                                        0.15f, 0.3f,  0.25f, 0.1f,  0.35f};
        bool external = sim_rng_chance(&r, ext[u->dept]) && S->ncontacts;
        uint32_t nto = (uint32_t)sim_rng_range(&r, 1, 3);
        for (uint32_t i = 0; i < nto; i++)
            add_rcpt(m, external && i == 0 ? random_contact(S, &r, true) : colleague(S, &r, u), 0);
        if (sim_rng_chance(&r, 0.3)) add_rcpt(m, colleague(S, &r, u), 1);
        if (external && sim_rng_chance(&r, 0.3)) add_rcpt(m, random_contact(S, &r, false), 1);
        if (sim_rng_chance(&r, 0.05))
            add_rcpt(m,
                     sim_rng_chance(&r, 0.5) && S->ncontacts ? random_contact(S, &r, true)
                                                             : colleague(S, &r, u),
                     2);
    }
    if (!m->nto) add_rcpt(m, colleague(S, &r, u), 0);
    return send_common(S, u, d, m, e->t, ip, &r);
}

static mh_status on_inbound(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    if (!S->ncontacts) return MH_OK;
    const struct sim_msg *p = sim_rng_chance(&r, 0.35) ? reply_candidate(S, &r, u, F_SENT) : NULL;
    sim_addr from = SIM_NONE;
    if (p)
        for (uint32_t i = 0; i < (uint32_t)p->nto + p->ncc; i++)
            if (SIM_ADDR_KIND(p->rcpt[i]) == A_CONTACT) {
                from = p->rcpt[i];
                break;
            }
    if (from == SIM_NONE) {
        p = NULL;
        from = random_contact(S, &r, true);
    }
    struct sim_msg *m = sim_msg_new(S, e->t, from, sim_rng_next(&r));
    m->kind = (uint8_t)pick_kind(&r);
    if (p) {
        make_reply(S, m, p);
    } else {
        m->topic = sim_text_topic(&r, u->dept);
    }
    add_rcpt(m, SIM_ADDR(A_USER, e->u), 0);
    if (sim_rng_chance(&r, 0.25)) add_rcpt(m, colleague(S, &r, u), 1);
    const struct sim_contact *c = &S->contacts[SIM_ADDR_IDX(from)];
    const struct sim_partner *pt = &S->partners[c->partner];
    if (sim_rng_chance(&r, 0.2) && pt->ncontacts > 1) {
        /* a colleague at the partner in copy, or as Reply-To */
        uint32_t k = pt->first_contact + (uint32_t)sim_rng_below(&r, pt->ncontacts);
        if (k != SIM_ADDR_IDX(from)) {
            if (sim_rng_chance(&r, 0.5))
                m->reply_to = SIM_ADDR(A_CONTACT, k);
            else
                add_rcpt(m, SIM_ADDR(A_CONTACT, k), 1);
        }
    }
    return sim_mail_send(S, m, NULL);
}

static mh_status on_secret_mail(struct sim *S, const struct sim_ev *e)
{
    const struct sim_secret_plan *p = &S->splan[e->a];
    struct sim_user *u = &S->users[p->from];
    struct sim_device *d = &u->dev[0];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_ip *ip = dev_ip(S, u, d, e->t, e->x);
    struct sim_msg *m = sim_msg_new(S, e->t, SIM_ADDR(A_USER, p->from), sim_rng_next(&r));
    m->kind = sim_rng_chance(&r, 0.5) ? MK_PLAIN : MK_ALT;
    m->topic = sim_text_topic(&r, D_IT);
    m->secret = (uint8_t)(p->kind + 1);
    m->secret_flags = (uint8_t)((p->in_attachment ? SECRET_IN_ATTACHMENT : 0) |
                                (p->for_app ? SECRET_FOR_APP : 0));
    add_rcpt(m, SIM_ADDR(A_USER, p->to), 0);
    S->splan[e->a].serial = m->serial;
    return send_common(S, u, d, m, e->t, ip, &r);
}

static mh_status on_list(struct sim *S, const struct sim_ev *e)
{
    struct sim_rng r;
    rng_for(S, &r, e->x);
    const struct sim_list *l = &S->lists[e->a];
    if (!S->nlist_members || !S->ncontacts) return MH_OK;
    struct sim_msg *m = sim_msg_new(S, e->t, random_contact(S, &r, false), sim_rng_next(&r));
    m->kind = MK_LIST;
    m->list = e->a;
    m->topic = sim_text_topic(&r, e->a == 0 ? D_SECURITY : D_MARKETING);
    m->sender = SIM_ADDR(A_LIST, e->a);
    if (e->a == 1) m->reply_to = SIM_ADDR(A_LIST, e->a);
    add_rcpt(m, SIM_ADDR(A_LIST, e->a), 0);
    (void)l;
    return sim_mail_send_extra(S, m, NULL, S->list_members, S->nlist_members);
}

static mh_status on_scanner(struct sim *S, const struct sim_ev *e)
{
    struct sim_rng r;
    rng_for(S, &r, e->x);
    struct sim_msg *m = sim_msg_new(S, e->t, SIM_ADDR(A_SCANNER, e->a), sim_rng_next(&r));
    m->kind = MK_SCANNER;
    add_rcpt(m, SIM_ADDR(A_USER, e->u), 0);
    return sim_mail_send(S, m, &S->tenants[e->a].office_ip[0]);
}

static mh_status on_rule(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    struct sim_rule ru;
    memset(&ru, 0, sizeof ru);
    ru.t = e->t;
    ru.u = u;
    ru.ip = dev_ip(S, u, &u->dev[0], e->t, e->x);
    ru.h = sim_rng_next(&r);
    if (sim_rng_chance(&r, 0.6)) {
        const struct sim_user *c = &S->users[SIM_ADDR_IDX(colleague(S, &r, u))];
        ru.name = sim_rng_chance(&r, 0.5) ? "Forward invoices" : "While I am out";
        ru.params[0][0] = "SubjectContainsWords";
        ru.params[0][1] = sim_rng_chance(&r, 0.5) ? "invoice" : "urgent";
        ru.params[1][0] = "ForwardTo";
        ru.params[1][1] = c->upn;
        ru.params[2][0] = "StopProcessingRules";
        ru.params[2][1] = "False";
        ru.nparams = 3;
    } else {
        ru.name = "Newsletters";
        ru.params[0][0] = "From";
        ru.params[0][1] = S->nlists ? S->lists[0].addr : "news@example.org";
        ru.params[1][0] = "MoveToFolder";
        ru.params[1][1] = "Archive";
        ru.params[2][0] = "MarkAsRead";
        ru.params[2][1] = "True";
        ru.nparams = 3;
    }
    return sim_emit_inbox_rule(S, &ru);
}

/* ---------------------------------------------------------------- apps */

mh_status sim_app_signin(struct sim *S, struct sim_app *a, mh_time t, const struct sim_ip *ip,
                         int err, struct sim_rng *r)
{
    struct sim_signin si;
    memset(&si, 0, sizeof si);
    si.cat = a->kind == APP_MI ? SI_MI : SI_SP;
    si.t = t;
    sim_guid(r, si.id);
    sim_guid(r, si.corr);
    si.tenant = a->tenant;
    si.app = a;
    si.res = a->resource;
    si.ip = ip ? ip : &a->ip;
    si.err = err;
    if (!err) {
        memcpy(a->token, si.id, 16);
        a->token_t = t;
        a->has_token = 1;
    }
    return sim_emit_signin(S, &si);
}

static mh_status on_app_signin(struct sim *S, const struct sim_ev *e)
{
    struct sim_rng r;
    rng_for(S, &r, e->x);
    struct sim_app *a = &S->apps[e->u];
    int err = a->kind == APP_SAAS && sim_rng_chance(&r, 0.03) ? 7000215 : 0;
    return sim_app_signin(S, a, e->t, NULL, err, &r);
}

static mh_status on_backup(struct sim *S, const struct sim_ev *e)
{
    struct sim_rng r;
    rng_for(S, &r, e->x);
    struct sim_app *a = &S->apps[e->a];
    struct sim_user *owner = &S->users[e->u];
    struct sim_mia_item items[MH_SIM_RING];
    uint32_t n = 0;
    for (uint32_t k = 0; k < owner->ring_n; k++) {
        const struct sim_ring *g = &owner->ring[k];
        if (g->t >= e->t || !g->has_id) continue;
        items[n].serial = g->serial;
        items[n].from = g->from;
        items[n].folder = g->folder;
        n++;
    }
    if (!n) return MH_OK;
    if (!a->has_token || e->t - a->token_t >= TOKEN_LIFE) {
        MH_TRY(sim_app_signin(S, a, e->t, NULL, 0, &r));
    }
    char appid[37];
    sim_guid_str(a->app_id, appid);
    struct sim_mia m;
    memset(&m, 0, sizeof m);
    m.t = e->t;
    m.tenant = owner->tenant;
    m.owner = owner;
    m.app = a;
    m.app_id = sim_res_id[RES_GRAPH];
    m.client_app_id = appid;
    m.client_app_name = a->name;
    m.client_info = "Client=REST;Client=RESTSystem;;";
    m.ip = &a->ip;
    m.token = a->token;
    m.issued = a->token_t - 5 * SIM_MIN;
    m.items = items;
    m.nitems = n;
    m.h = sim_rng_next(&r);
    return sim_emit_mia(S, &m);
}

/* ---------------------------------------------------------------- admin */

static void key_desc(char *out, size_t cap, const uint8_t *k1, const uint8_t *k2, const char *type,
                     const char *name1, const char *name2)
{
    char a[37], b[37];
    sim_guid_str(k1, a);
    if (k2) {
        sim_guid_str(k2, b);
        snprintf(out, cap,
                 "[\"[KeyIdentifier=%s,KeyType=%s,KeyUsage=Verify,DisplayName=%s]\","
                 "\"[KeyIdentifier=%s,KeyType=%s,KeyUsage=Verify,DisplayName=%s]\"]",
                 a, type, name1, b, type, name2);
    } else {
        snprintf(out, cap, "[\"[KeyIdentifier=%s,KeyType=%s,KeyUsage=Verify,DisplayName=%s]\"]", a,
                 type, name1);
    }
}

static const char *const roles[][2] = {
    {"Helpdesk Administrator", "729827e3-9c14-49f7-bb1b-9608f156bbb8"},
    {"Exchange Administrator", "29232cdf-9323-42fd-ade2-1d097af3e4de"},
    {"User Administrator", "fe930be7-5e62-47db-91af-98c3a49a38b1"},
    {"Reports Reader", "4a5d8f65-41da-4de4-8968-e035b65339cf"},
};

static mh_status on_admin(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *adm = &S->users[e->u];
    struct sim_tenant *tn = &S->tenants[e->b];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    uint8_t corr[16], k1[16], k2[16], tid[16];
    sim_guid(&r, corr);
    sim_guid(&r, k1);
    sim_guid(&r, k2);
    char kd_old[400], kd_new[800], buf[256], buf2[256];
    struct sim_dirop d;
    memset(&d, 0, sizeof d);
    d.t = e->t;
    d.tenant = e->b;
    d.corr = corr;
    d.h = sim_rng_next(&r);
    d.by_user = adm;
    d.ip = sim_user_ip(S, adm, (uint32_t)((e->t - S->start) / SIM_DAY), 0, e->x);
    d.user_agent = admin_ua;
    switch (e->a) {
    case AD_ROLE: {
        struct sim_user *who = &S->users[tenant_user(S, &r, e->b)];
        uint32_t k = (uint32_t)sim_rng_below(&r, 4);
        d.activity = "Add member to role";
        d.category = "RoleManagement";
        d.op_type = "Assign";
        d.ext_category = "Role";
        d.tgt[0] = (struct sim_target_res){"User", who->oid, NULL, who->upn};
        d.ntgt = 1;
        snprintf(buf, sizeof buf, "\"%s\"", roles[k][1]);
        snprintf(buf2, sizeof buf2, "\"%s\"", roles[k][0]);
        d.mp[0] = (struct sim_mprop){"Role.ObjectID", NULL, buf};
        d.mp[1] = (struct sim_mprop){"Role.DisplayName", NULL, buf2};
        d.mp[2] = (struct sim_mprop){"Role.TemplateId", NULL, buf};
        d.nmp = 3;
        return sim_emit_dirop(S, &d);
    }
    case AD_SECRET: {
        uint32_t ai = tn->first_app + (uint32_t)sim_rng_below(&r, tn->napps);
        struct sim_app *a = &S->apps[ai];
        if (a->kind != APP_SAAS) return MH_OK;
        d.activity = "Update application \xe2\x80\x93 Certificates and secrets management ";
        d.category = "ApplicationManagement";
        d.op_type = "Update";
        d.ext_category = "Application";
        d.tgt[0] = (struct sim_target_res){"Application", a->obj_id, a->name, NULL};
        d.ntgt = 1;
        key_desc(kd_old, sizeof kd_old, k1, NULL, "Password", "prod", NULL);
        key_desc(kd_new, sizeof kd_new, k1, k2, "Password", "prod", "prod-rotated");
        d.mp[0] = (struct sim_mprop){"KeyDescription", kd_old, kd_new};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"KeyDescription\""};
        d.nmp = 2;
        return sim_emit_dirop(S, &d);
    }
    case AD_MI_CERT: {
        uint32_t ai = tn->first_app + (uint32_t)sim_rng_below(&r, tn->napps);
        struct sim_app *a = &S->apps[ai];
        if (a->kind != APP_MI) return MH_OK;
        char cn[64], ap[37];
        sim_guid_str(a->app_id, ap);
        snprintf(cn, sizeof cn, "CN=%s", ap);
        d.activity = "Add service principal credentials";
        d.category = "ApplicationManagement";
        d.op_type = "Update";
        d.by_user = NULL;
        d.by_app_name = "Managed Service Identity";
        sim_guid(&r, tid);
        d.by_app_spid = tid;
        d.ip = NULL;
        d.user_agent = "Microsoft Azure Graph Client Library 2.1.17-internal";
        d.tgt[0] = (struct sim_target_res){"ServicePrincipal", a->sp_id, a->name, NULL};
        d.ntgt = 1;
        key_desc(kd_old, sizeof kd_old, k1, NULL, "AsymmetricX509Cert", cn, NULL);
        key_desc(kd_new, sizeof kd_new, k1, k2, "AsymmetricX509Cert", cn, cn);
        d.mp[0] = (struct sim_mprop){"KeyDescription", kd_old, kd_new};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"KeyDescription\""};
        d.nmp = 2;
        return sim_emit_dirop(S, &d);
    }
    case AD_CONSENT: {
        uint32_t ai = tn->first_app + (uint32_t)sim_rng_below(&r, tn->napps);
        struct sim_app *a = &S->apps[ai];
        if (a->kind != APP_SAAS) return MH_OK;
        char sp[37], res[37];
        sim_guid_str(a->sp_id, sp);
        sim_guid_str(tn->graph_sp, res);
        d.activity = "Consent to application";
        d.category = "ApplicationManagement";
        d.op_type = "Assign";
        d.ext_category = "ServicePrincipal";
        d.tgt[0] = (struct sim_target_res){"ServicePrincipal", a->sp_id, a->name, NULL};
        d.ntgt = 1;
        snprintf(kd_new, sizeof kd_new,
                 "[] => [[Id: %.8sQ, ClientId: %s, PrincipalId: , ResourceId: %s, ConsentType: "
                 "AllPrincipals, Scope:  User.Read Mail.Read offline_access, CreatedDateTime: , "
                 "LastModifiedDateTime ]]; ",
                 sp, sp, res);
        d.mp[0] = (struct sim_mprop){"ConsentContext.IsAdminConsent", NULL, "\"True\""};
        d.mp[1] = (struct sim_mprop){"ConsentContext.IsAppOnly", NULL, "\"False\""};
        d.mp[2] = (struct sim_mprop){"ConsentContext.OnBehalfOfAll", NULL, "\"True\""};
        d.mp[3] = (struct sim_mprop){"ConsentContext.Tags", NULL,
                                     "\"WindowsAzureActiveDirectoryIntegratedApp\""};
        d.mp[4] = (struct sim_mprop){"ConsentAction.Permissions", NULL, kd_new};
        d.mp[5] =
            (struct sim_mprop){"ConsentAction.Reason", NULL, "\"Risky application detected\""};
        d.nmp = 6;
        if (sim_rng_chance(&r, 0.5)) d.mp[5].newv = "\"\"";
        MH_TRY(sim_emit_dirop(S, &d));
        d.activity = "Add delegated permission grant";
        d.op_type = "Add";
        d.t += 1 * SIM_SEC;
        d.h = sim_rng_next(&r);
        d.tgt[0] =
            (struct sim_target_res){"ServicePrincipal", tn->graph_sp, "Microsoft Graph", NULL};
        d.mp[0] = (struct sim_mprop){"DelegatedPermissionGrant.Scope", NULL,
                                     "\" User.Read Mail.Read offline_access\""};
        d.mp[1] =
            (struct sim_mprop){"DelegatedPermissionGrant.ConsentType", NULL, "\"AllPrincipals\""};
        snprintf(buf, sizeof buf, "\"%s\"", sp);
        d.mp[2] = (struct sim_mprop){"ServicePrincipal.ObjectID", NULL, buf};
        d.nmp = 3;
        return sim_emit_dirop(S, &d);
    }
    case AD_UPDATE_USER: {
        struct sim_user *who = &S->users[tenant_user(S, &r, e->b)];
        d.activity = "Update user";
        d.category = "UserManagement";
        d.op_type = "Update";
        d.ext_category = "User";
        d.tgt[0] = (struct sim_target_res){"User", who->oid, NULL, who->upn};
        d.ntgt = 1;
        snprintf(buf, sizeof buf, "[\"%s\"]", who->title);
        d.mp[0] = (struct sim_mprop){"JobTitle", "[]", buf};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"JobTitle\""};
        d.nmp = 2;
        return sim_emit_dirop(S, &d);
    }
    default: {
        char upn[160];
        snprintf(upn, sizeof upn, "new.hire%u@%s", (unsigned)sim_rng_range(&r, 100, 999),
                 tn->domain);
        d.activity = "Add user";
        d.category = "UserManagement";
        d.op_type = "Add";
        d.ext_category = "User";
        d.tgt[0] = (struct sim_target_res){"User", k2, NULL, upn};
        d.ntgt = 1;
        d.mp[0] = (struct sim_mprop){"AccountEnabled", "[]", "[true]"};
        d.mp[1] = (struct sim_mprop){"Included Updated Properties", NULL, "\"AccountEnabled\""};
        d.nmp = 2;
        return sim_emit_dirop(S, &d);
    }
    }
}

static mh_status on_disabled(struct sim *S, const struct sim_ev *e)
{
    struct sim_user *u = &S->users[e->u];
    struct sim_rng r;
    rng_for(S, &r, e->x);
    int dv = u->ndev > 1 ? 1 : 0;
    struct sim_signin si;
    fill_user_signin(S, &si, u, &u->dev[dv], &u->mobile_ip, e->t, &r, SI_NONINT);
    si.err = 50057;
    si.mfa = false;
    si.incoming = "refreshToken";
    return sim_emit_signin(S, &si);
}

mh_status sim_life_event(struct sim *S, const struct sim_ev *e)
{
    switch (e->type) {
    case EV_SIGNIN:
        return on_signin(S, e);
    case EV_READ:
        return on_read(S, e, false);
    case EV_DELEGATE:
        return on_read(S, e, true);
    case EV_SYNC:
        return on_sync(S, e);
    case EV_SEND:
        return on_send(S, e);
    case EV_INBOUND:
        return on_inbound(S, e);
    case EV_RULE:
        return on_rule(S, e);
    case EV_APP_SIGNIN:
        return on_app_signin(S, e);
    case EV_BACKUP:
        return on_backup(S, e);
    case EV_ADMIN:
        return on_admin(S, e);
    case EV_DISABLED:
        return on_disabled(S, e);
    case EV_LIST:
        return on_list(S, e);
    case EV_SCANNER:
        return on_scanner(S, e);
    case EV_SECRET_MAIL:
        return on_secret_mail(S, e);
    default:
        return MH_OK;
    }
}
