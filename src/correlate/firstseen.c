/*
 * correlate/firstseen.c -- D9 first-seen application reading mail; D7 step 5
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * D9 (detections.md §6, CISA AA23-193A: how Storm-0558 was found). For every
 * MailItemsAccessed record the pair (AppId, ClientAppId) is recorded per
 * TENANT (scope 0) and per (tenant, MAILBOX) (scope 1), with the earliest time
 * it was seen and that record as evidence. Each scope also records its
 * coverage: the earliest MailItemsAccessed of the tenant / mailbox at all.
 * At finish a pair is FIRST-SEEN when
 *     first(pair) >= coverage_first(scope) + d9.baseline
 * i.e. the scope had `baseline` of mail-access history and the pair was not in
 * it. Because only minima are kept, the verdict does not depend on input order.
 *
 *   tenant scope, pair new      -> mh.d9.first_seen_app (high); informational
 *                                  when BOTH ids are first-party (Graph with an
 *                                  unknown client is exactly the malicious case,
 *                                  so a first-party AppId alone never lowers it)
 *   mailbox scope, pair new to  -> mh.d9.first_seen_app_mailbox (medium) for every
 *     the tenant                   mailbox the new pair read: the scope list
 *   mailbox scope only          -> same id, low (a known app reading a mailbox it
 *                                  never read), only when the mailbox baseline is
 *                                  complete; never for first-party pairs;
 *                                  informational when the pair is a ROUTINE BULK
 *                                  READER: it read d9.bulk_reader_mailboxes (6,
 *                                  the D10 threshold) or more mailboxes within the
 *                                  tenant's baseline -- a backup or archiving app
 *                                  holding full_access_as_app since before the
 *                                  logs start reaches mailboxes it had not read
 *                                  every day (new staff, rotation). Whether such
 *                                  an app reads MORE than usual is D11's question
 *                                  (mean + k sigma of its daily volume), and a new
 *                                  app is tenant-new (above).
 * A pair that appears more than a day into a scope's history but before
 * `baseline` of it exists is "baseline incomplete": no detection, counted in
 * stats.d9_baseline_incomplete (the pairs of the first day are the baseline).
 * The issue sets d9.baseline = 7d (the catalogue says 14d; config tunes it).
 *
 * Example: tenant audited from 2024-01-01; (00000002-0000-0ff1-ce00-000000000000,
 * 6f1c...) first reads mail 2024-01-10 -> first-seen (10d >= 7d); the same pair
 * seen 2024-01-03 -> part of the baseline.
 *
 * D7 step 5: a service-principal sign-in (success) from an IP the service
 * principal never used -> mh.d7.sp_signin_new_ip: low once the tenant has
 * `d7.sp_baseline` of SP sign-ins, informational (baseline=incomplete) after
 * its first day but before that; addresses of the first day are the baseline. New applications have no addresses yet, so
 * every address of an attacker-created app is new: that is the point.
 *
 * State (state.h): d9_cover, d9_pair, d7_spaddr, d7_spcover. A run's evidence
 * replaces the stored one when it is not later, so rerunning the same input
 * with the same state gives the same detections, and a pair first seen in an
 * earlier run is not reported again. Retention: pairs not seen for
 * d9.retention are not written back.
 *
 * Limits: MH_D9_MAX_PAIRS, MH_D9_MAX_SCOPES, MH_D7_MAX_SP_ADDRS -- new keys
 * beyond are not tracked (stats.dropped). Not thread-safe.
 */
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"

static const char *const d9_tags[] = {"attack.collection", "attack.t1114.002",
                                      "attack.t1550.001", "mailhound.d9"};
static const struct mh_det_rule rule_d9 = {
    "mh.d9.first_seen_app", "Application reading mail for the first time in the tenant", "D9",
    "MailItemsAccessed by an (AppId, ClientAppId) pair outside the tenant's baseline "
    "(CISA AA23-193A: the signal that exposed Storm-0558)",
    d9_tags, 4};
static const struct mh_det_rule rule_d9m = {
    "mh.d9.first_seen_app_mailbox", "Application reading a mailbox for the first time", "D9",
    "MailItemsAccessed on this mailbox by an (AppId, ClientAppId) pair the mailbox's baseline "
    "does not contain",
    d9_tags, 4};
static const char *const sp_tags[] = {"attack.initial-access", "attack.t1078.004",
                                      "mailhound.d7"};
static const struct mh_det_rule rule_sp = {
    "mh.d7.sp_signin_new_ip", "Service principal signed in from a new address", "D7",
    "Service-principal sign-in from an IP address this application never used before "
    "(Midnight Blizzard chain, step 5)",
    sp_tags, 3};

struct cover {
    uint8_t scope;
    uint32_t tenant, mailbox;
    mh_time run_first, run_last;     /* MH_TIME_NONE: not seen in this run */
    mh_time state_first, state_last; /* MH_TIME_NONE: not in the state */
};

struct pair {
    uint8_t scope;
    uint32_t tenant, mailbox, app, client;
    struct mh_det_evid ev;           /* earliest record of this run */
    bool in_run;
    uint64_t run_count;
    mh_time run_last;
    mh_time state_first, state_last;
    int64_t state_count;
    uint32_t mailboxes;              /* tenant scope: mailboxes read in this run */
    uint32_t base_mailboxes;         /* tenant scope: mailboxes first read within the
                                        tenant's baseline (this run or the state) */
};

struct spaddr {
    uint32_t tenant, sp, ip;
    struct mh_det_evid ev;
    bool in_run;
    mh_time state_first;
};

struct spcover {
    uint32_t tenant;
    mh_time run_first, state_first;
};

struct firstseen {
    struct mh_map cover_idx, pair_idx, sp_idx, spc_idx; /* binary key -> index */
    struct cover *covers;
    size_t ncovers, cap_covers;
    struct pair *pairs;
    size_t npairs, cap_pairs;
    struct spaddr *sps;
    size_t nsps, cap_sps;
    struct spcover *spcs;
    size_t nspcs, cap_spcs;
};

static mh_status fs_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct firstseen *f = mh_calloc(1, sizeof *f);
    if (!f) return MH_ENOMEM;
    mh_map_init(&f->cover_idx, MH_D9_MAX_SCOPES, false);
    mh_map_init(&f->pair_idx, MH_D9_MAX_PAIRS, false);
    mh_map_init(&f->sp_idx, MH_D7_MAX_SP_ADDRS, false);
    mh_map_init(&f->spc_idx, MH_D9_MAX_SCOPES, false);
    *self = f;
    return MH_OK;
}

static void fs_destroy(void *self)
{
    struct firstseen *f = self;
    mh_map_fini(&f->cover_idx);
    mh_map_fini(&f->pair_idx);
    mh_map_fini(&f->sp_idx);
    mh_map_fini(&f->spc_idx);
    mh_free(f->covers);
    mh_free(f->pairs);
    mh_free(f->sps);
    mh_free(f->spcs);
    mh_free(f);
}

static mh_status get_cover(struct mh_det_ctx *cx, struct firstseen *f, uint8_t scope,
                           uint32_t tenant, uint32_t mailbox, struct cover **out)
{
    uint32_t key[3] = {scope, tenant, mailbox};
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &f->cover_idx, key, sizeof key, f->covers, f->cap_covers, f->ncovers,
                MH_D9_MAX_SCOPES, *out, &created, st);
    if (!st && created) {
        struct cover *c = *out;
        c->scope = scope;
        c->tenant = tenant;
        c->mailbox = mailbox;
        c->run_first = c->run_last = c->state_first = c->state_last = MH_TIME_NONE;
    }
    return st;
}

static mh_status get_pair(struct mh_det_ctx *cx, struct firstseen *f, uint8_t scope,
                          uint32_t tenant, uint32_t mailbox, uint32_t app, uint32_t client,
                          struct pair **out)
{
    uint32_t key[5] = {scope, tenant, mailbox, app, client};
    struct pair *p;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &f->pair_idx, key, sizeof key, f->pairs, f->cap_pairs, f->npairs,
                MH_D9_MAX_PAIRS, p, &created, st);
    if (!st && created) {
        p->scope = scope;
        p->tenant = tenant;
        p->mailbox = mailbox;
        p->app = app;
        p->client = client;
        p->ev.time = MH_TIME_NONE;
        p->run_last = p->state_first = p->state_last = MH_TIME_NONE;
    }
    *out = p;
    return st;
}

static void cover_touch(struct cover *c, mh_time t)
{
    if (!c) return;
    if (c->run_first == MH_TIME_NONE || t < c->run_first) c->run_first = t;
    if (c->run_last == MH_TIME_NONE || t > c->run_last) c->run_last = t;
}

static mh_status pair_touch(struct mh_det_ctx *cx, struct pair *p, struct mh_event *ev)
{
    if (!p) return MH_OK;
    if (!p->in_run || ev->time < p->ev.time) MH_TRY(mh_det_capture(cx, ev, &p->ev));
    p->in_run = true;
    p->run_count++;
    if (p->run_last == MH_TIME_NONE || ev->time > p->run_last) p->run_last = ev->time;
    return MH_OK;
}

static mh_status feed_mail(struct firstseen *f, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct mh_slice app, client, mailbox, tenant;
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    if (!app.len) return MH_OK; /* no application recorded: nothing to judge */
    MH_TRY(mh_det_entity(ev, MH_ENT_CLIENT_APP_ID, &client));
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    MH_TRY(mh_det_entity(ev, MH_ENT_TENANT, &tenant));
    uint32_t ia = mh_det_intern(cx, app), ic = mh_det_intern(cx, client);
    uint32_t it = mh_det_intern(cx, tenant), im = mh_det_intern_lower(cx, mailbox);
    /* a string the cap refused would merge keys: do not track the record */
    if (!ia || (client.len && !ic) || (tenant.len && !it) || (mailbox.len && !im)) {
        cx->stats.dropped++;
        return MH_OK;
    }
    struct cover *c;
    struct pair *p;
    MH_TRY(get_cover(cx, f, 0, it, 0, &c));
    cover_touch(c, ev->time);
    MH_TRY(get_pair(cx, f, 0, it, 0, ia, ic, &p));
    MH_TRY(pair_touch(cx, p, ev));
    if (im && cx->cfg.d9_mailbox) {
        MH_TRY(get_cover(cx, f, 1, it, im, &c));
        cover_touch(c, ev->time);
        MH_TRY(get_pair(cx, f, 1, it, im, ia, ic, &p));
        MH_TRY(pair_touch(cx, p, ev));
    }
    return MH_OK;
}

static mh_status get_spc(struct mh_det_ctx *cx, struct firstseen *f, uint32_t tenant,
                         struct spcover **out)
{
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &f->spc_idx, &tenant, sizeof tenant, f->spcs, f->cap_spcs, f->nspcs,
                MH_D9_MAX_SCOPES, *out, &created, st);
    if (!st && created) **out = (struct spcover){tenant, MH_TIME_NONE, MH_TIME_NONE};
    return st;
}

static mh_status get_sp(struct mh_det_ctx *cx, struct firstseen *f, uint32_t tenant, uint32_t sp,
                        uint32_t ip, struct spaddr **out)
{
    uint32_t key[3] = {tenant, sp, ip};
    struct spaddr *s;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &f->sp_idx, key, sizeof key, f->sps, f->cap_sps, f->nsps, MH_D7_MAX_SP_ADDRS, s,
                &created, st);
    if (!st && created) {
        s->tenant = tenant;
        s->sp = sp;
        s->ip = ip;
        s->ev.time = MH_TIME_NONE;
        s->state_first = MH_TIME_NONE;
    }
    *out = s;
    return st;
}

static mh_status feed_sp(struct firstseen *f, struct mh_det_ctx *cx, struct mh_event *ev)
{
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    if (has && code != 0) return MH_OK;
    struct mh_slice app, ip, tenant;
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    MH_TRY(mh_det_entity(ev, MH_ENT_TENANT, &tenant));
    uint32_t it = mh_det_intern(cx, tenant);
    struct spcover *c;
    MH_TRY(get_spc(cx, f, it, &c));
    if (c && (c->run_first == MH_TIME_NONE || ev->time < c->run_first)) c->run_first = ev->time;
    if (!app.len || !ip.len) return MH_OK;
    uint32_t ia = mh_det_intern(cx, app), ii = mh_det_intern(cx, ip);
    if (!ia || !ii) {
        cx->stats.dropped++;
        return MH_OK;
    }
    struct spaddr *s;
    MH_TRY(get_sp(cx, f, it, ia, ii, &s));
    if (s && (!s->in_run || ev->time < s->ev.time)) {
        MH_TRY(mh_det_capture(cx, ev, &s->ev));
        s->in_run = true;
    }
    return MH_OK;
}

static mh_status fs_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct firstseen *f = self;
    if (ev->kind == MH_SRC_UAL_MAILBOX && cx->cfg.d9_enabled) {
        struct mh_slice op;
        MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
        if (mh_slice_eq_cstr(op, "mailitemsaccessed")) return feed_mail(f, cx, ev);
        return MH_OK;
    }
    if (ev->kind == MH_SRC_SIGNIN_SERVICE_PRINCIPAL && cx->cfg.sp_new_ip_enabled)
        return feed_sp(f, cx, ev);
    return MH_OK;
}

static mh_time tmin(mh_time a, mh_time b)
{
    if (a == MH_TIME_NONE) return b;
    if (b == MH_TIME_NONE) return a;
    return a < b ? a : b;
}

static const struct cover *find_cover(const struct firstseen *f, uint8_t scope, uint32_t tenant,
                                      uint32_t mailbox)
{
    uint32_t key[3] = {scope, tenant, mailbox};
    struct mh_map_entry *e = mh_map_get(&f->cover_idx, (const char *)key, sizeof key);
    return e ? &f->covers[e->value] : NULL;
}

static const struct pair *find_pair(const struct firstseen *f, uint8_t scope, uint32_t tenant,
                                    uint32_t mailbox, uint32_t app, uint32_t client)
{
    uint32_t key[5] = {scope, tenant, mailbox, app, client};
    struct mh_map_entry *e = mh_map_get(&f->pair_idx, (const char *)key, sizeof key);
    return e ? &f->pairs[e->value] : NULL;
}

/* Is this run's evidence the pair's first sighting overall? */
static bool reportable(const struct pair *p)
{
    return p->in_run && (p->state_first == MH_TIME_NONE || p->ev.time <= p->state_first);
}

/*
 * 1 = new after a complete baseline; 0 = part of the baseline; -1 = baseline
 * incomplete: the pair appeared more than a day after the scope's coverage
 * started but before `baseline` of history existed -- it could be new, but
 * there is not enough history to say (counted, reported as a precondition).
 */
static int judge(const struct mh_det_ctx *cx, const struct cover *c, mh_time first)
{
    if (!c) return -1;
    mh_time cf = tmin(c->run_first, c->state_first);
    if (cf == MH_TIME_NONE) return -1;
    if (first < cf + cx->cfg.d9_baseline)
        return first >= cf + 86400 * MH_USEC_PER_SEC ? -1 : 0;
    return 1;
}

static void pair_fields(struct mh_det_ctx *cx, struct mh_det_pending *d, const struct pair *p,
                        const struct cover *c)
{
    char dur[32];
    size_t n = mh_det_format_duration(cx->cfg.d9_baseline, dur);
    mh_det_pend_str(cx, d, "app_id", mh_det_str(cx, p->app));
    mh_det_pend_str(cx, d, "client_app_id", mh_det_str(cx, p->client));
    mh_det_pend_str(cx, d, "tenant", mh_det_str(cx, p->tenant));
    mh_det_pend_str(cx, d, "baseline", mh_slice_make(dur, n));
    mh_det_pend_num(cx, d, "coverage_start", tmin(c->run_first, c->state_first) / MH_USEC_PER_SEC);
    if (d) {
        d->first = p->ev.time;
        d->last = p->run_last;
        d->count = p->run_count;
    }
}

static mh_status finish_d9(struct firstseen *f, struct mh_det_ctx *cx)
{
    /* mailboxes read per tenant-scope pair (for the tenant detection's fields) */
    for (size_t i = 0; i < f->npairs; i++) {
        const struct pair *p = &f->pairs[i];
        if (p->scope != 1) continue;
        struct pair *t = (struct pair *)find_pair(f, 0, p->tenant, 0, p->app, p->client);
        if (!t) continue;
        if (p->in_run) t->mailboxes++;
        /* read within the tenant's baseline: part of the app's routine breadth */
        const struct cover *tc = find_cover(f, 0, p->tenant, 0);
        mh_time cf = tc ? tmin(tc->run_first, tc->state_first) : MH_TIME_NONE;
        mh_time first = p->in_run ? tmin(p->ev.time, p->state_first) : p->state_first;
        if (cf != MH_TIME_NONE && first != MH_TIME_NONE && first < cf + cx->cfg.d9_baseline)
            t->base_mailboxes++;
    }
    for (size_t i = 0; i < f->npairs; i++) {
        const struct pair *p = &f->pairs[i];
        if (!reportable(p)) continue;
        bool fp = mh_det_first_party(cx, mh_det_str(cx, p->app)) &&
                  (!p->client || mh_det_first_party(cx, mh_det_str(cx, p->client)));
        if (p->scope == 0) {
            const struct cover *c = find_cover(f, 0, p->tenant, 0);
            int v = judge(cx, c, p->ev.time);
            if (v < 0) cx->stats.d9_baseline_incomplete++;
            if (v <= 0) continue;
            struct mh_det_pending *d =
                mh_det_pend(cx, &rule_d9, fp ? MH_LEVEL_INFORMATIONAL : MH_LEVEL_HIGH, &p->ev);
            pair_fields(cx, d, p, c);
            mh_det_pend_num(cx, d, "mailboxes", p->mailboxes);
            if (fp) mh_det_pend_str(cx, d, "note", MH_SLICE_LIT("both ids first-party"));
            continue;
        }
        if (fp) continue;
        /* mailbox scope: new to the tenant -> medium; new to the mailbox only -> low */
        const struct pair *t = find_pair(f, 0, p->tenant, 0, p->app, p->client);
        const struct cover *tc = find_cover(f, 0, p->tenant, 0);
        bool tenant_new = t && reportable(t) && judge(cx, tc, t->ev.time) > 0;
        const struct cover *c = find_cover(f, 1, p->tenant, p->mailbox);
        enum mh_level lvl;
        bool routine = false;
        if (tenant_new) {
            lvl = MH_LEVEL_MEDIUM;
        } else {
            int v = judge(cx, c, p->ev.time);
            if (v < 0) cx->stats.d9_baseline_incomplete++;
            if (v <= 0) continue;
            routine = t && cx->cfg.d9_bulk_mailboxes && t->base_mailboxes >= cx->cfg.d9_bulk_mailboxes;
            lvl = routine ? MH_LEVEL_INFORMATIONAL : MH_LEVEL_LOW;
        }
        struct mh_det_pending *d = mh_det_pend(cx, &rule_d9m, lvl, &p->ev);
        pair_fields(cx, d, p, c ? c : tc);
        mh_det_pend_str(cx, d, "new_to", tenant_new ? MH_SLICE_LIT("tenant")
                                                    : MH_SLICE_LIT("mailbox"));
        if (routine) {
            mh_det_pend_str(cx, d, "note", MH_SLICE_LIT("routine bulk reader"));
            mh_det_pend_num(cx, d, "baseline_mailboxes", t->base_mailboxes);
        }
    }
    return MH_OK;
}

static mh_status finish_sp(struct firstseen *f, struct mh_det_ctx *cx)
{
    for (size_t i = 0; i < f->nsps; i++) {
        const struct spaddr *s = &f->sps[i];
        if (!s->in_run || (s->state_first != MH_TIME_NONE && s->state_first < s->ev.time))
            continue;
        struct mh_map_entry *e = mh_map_get(&f->spc_idx, (const char *)&s->tenant, sizeof s->tenant);
        if (!e) continue;
        const struct spcover *c = &f->spcs[e->value];
        mh_time cf = tmin(c->run_first, c->state_first);
        if (cf == MH_TIME_NONE || s->ev.time < cf + MH_USEC_PER_SEC * 86400) continue;
        /* Past the first day but before d7.sp_baseline: the address is new
         * but the history is short -- reported at informational level with
         * baseline=incomplete (the coverage model: a gap is said, never
         * silent), low once the baseline is complete. */
        bool complete = s->ev.time >= cf + cx->cfg.sp_baseline;
        struct mh_det_pending *d =
            mh_det_pend(cx, &rule_sp, complete ? MH_LEVEL_LOW : MH_LEVEL_INFORMATIONAL, &s->ev);
        mh_det_pend_str(cx, d, "app_id", mh_det_str(cx, s->sp));
        mh_det_pend_str(cx, d, "ip", mh_det_str(cx, s->ip));
        mh_det_pend_str(cx, d, "baseline",
                        complete ? MH_SLICE_LIT("complete") : MH_SLICE_LIT("incomplete"));
    }
    return MH_OK;
}

static mh_status fs_finish(void *self, struct mh_det_ctx *cx)
{
    struct firstseen *f = self;
    MH_TRY(finish_d9(f, cx));
    return finish_sp(f, cx);
}

/* ---- state ---- */

static mh_status intern_col(struct mh_det_ctx *cx, mh_db_stmt *q, int col, uint32_t *out)
{
    struct mh_slice s;
    MH_TRY(mh_db_column_text(q, col, &s, cx->err));
    *out = mh_det_intern(cx, s);
    if (s.len && !*out) return mh_error_set(cx->err, MH_ELIMIT, "state too large", "%s", "strings");
    return MH_OK;
}

static mh_status fs_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct firstseen *f = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    MH_CHECK(mh_db_prepare(db, "SELECT scope, tenant, mailbox, first, last FROM d9_cover"
                               " ORDER BY scope, tenant, mailbox", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t t, m;
        struct cover *c;
        MH_CHECK(intern_col(cx, q, 1, &t));
        MH_CHECK(intern_col(cx, q, 2, &m));
        MH_CHECK(get_cover(cx, f, (uint8_t)mh_db_column_int(q, 0), t, m, &c));
        if (!c) continue;
        c->state_first = mh_db_column_int(q, 3);
        c->state_last = mh_db_column_int(q, 4);
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT scope, tenant, mailbox, app_id, client_app_id, first, last,"
                               " count FROM d9_pair ORDER BY scope, tenant, mailbox, app_id,"
                               " client_app_id", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t t, m, a, c;
        struct pair *p;
        MH_CHECK(intern_col(cx, q, 1, &t));
        MH_CHECK(intern_col(cx, q, 2, &m));
        MH_CHECK(intern_col(cx, q, 3, &a));
        MH_CHECK(intern_col(cx, q, 4, &c));
        MH_CHECK(get_pair(cx, f, (uint8_t)mh_db_column_int(q, 0), t, m, a, c, &p));
        if (!p) continue;
        p->state_first = mh_db_column_int(q, 5);
        p->state_last = mh_db_column_int(q, 6);
        p->state_count = mh_db_column_int(q, 7);
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT tenant, sp, ip, first FROM d7_spaddr ORDER BY tenant, sp, ip",
                           &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t t, s, i;
        struct spaddr *a;
        MH_CHECK(intern_col(cx, q, 0, &t));
        MH_CHECK(intern_col(cx, q, 1, &s));
        MH_CHECK(intern_col(cx, q, 2, &i));
        MH_CHECK(get_sp(cx, f, t, s, i, &a));
        if (a) a->state_first = mh_db_column_int(q, 3);
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT tenant, first FROM d7_spcover ORDER BY tenant", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t t;
        struct spcover *c;
        MH_CHECK(intern_col(cx, q, 0, &t));
        MH_CHECK(get_spc(cx, f, t, &c));
        if (c) c->state_first = mh_db_column_int(q, 1);
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_time tmax(mh_time a, mh_time b)
{
    if (a == MH_TIME_NONE) return b;
    if (b == MH_TIME_NONE) return a;
    return a > b ? a : b;
}

static mh_status fs_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct firstseen *f = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    mh_db *db = mh_state_db(stt);
    mh_time now = tmax(cx->run_last, 0);
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO d9_cover VALUES(?1, ?2, ?3, ?4, ?5)", &q,
                           cx->err));
    for (size_t i = 0; i < f->ncovers; i++) {
        const struct cover *c = &f->covers[i];
        MH_CHECK(mh_db_bind_int(q, 1, c->scope, cx->err));
        MH_CHECK(mh_det_bind_str(cx, q, 2, c->tenant));
        MH_CHECK(mh_det_bind_str(cx, q, 3, c->mailbox));
        MH_CHECK(mh_db_bind_int(q, 4, tmin(c->run_first, c->state_first), cx->err));
        MH_CHECK(mh_db_bind_int(q, 5, tmax(c->run_last, c->state_last), cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_exec(db, "DELETE FROM d9_pair", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d9_pair VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)", &q,
                           cx->err));
    for (size_t i = 0; i < f->npairs; i++) {
        const struct pair *p = &f->pairs[i];
        mh_time first = p->in_run ? tmin(p->ev.time, p->state_first) : p->state_first;
        mh_time last = tmax(p->run_last, p->state_last);
        if (first == MH_TIME_NONE) continue;
        if (last != MH_TIME_NONE && now - last > cx->cfg.d9_retention) continue;
        MH_CHECK(mh_db_bind_int(q, 1, p->scope, cx->err));
        MH_CHECK(mh_det_bind_str(cx, q, 2, p->tenant));
        MH_CHECK(mh_det_bind_str(cx, q, 3, p->mailbox));
        MH_CHECK(mh_det_bind_str(cx, q, 4, p->app));
        MH_CHECK(mh_det_bind_str(cx, q, 5, p->client));
        MH_CHECK(mh_db_bind_int(q, 6, first, cx->err));
        MH_CHECK(mh_db_bind_int(q, 7, last, cx->err));
        MH_CHECK(mh_db_bind_int(q, 8, (int64_t)p->run_count + p->state_count, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO d7_spaddr VALUES(?1, ?2, ?3, ?4)", &q,
                           cx->err));
    for (size_t i = 0; i < f->nsps; i++) {
        const struct spaddr *s = &f->sps[i];
        MH_CHECK(mh_det_bind_str(cx, q, 1, s->tenant));
        MH_CHECK(mh_det_bind_str(cx, q, 2, s->sp));
        MH_CHECK(mh_det_bind_str(cx, q, 3, s->ip));
        MH_CHECK(mh_db_bind_int(q, 4, s->in_run ? tmin(s->ev.time, s->state_first) : s->state_first,
                                cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO d7_spcover VALUES(?1, ?2)", &q, cx->err));
    for (size_t i = 0; i < f->nspcs; i++) {
        const struct spcover *c = &f->spcs[i];
        mh_time first = tmin(c->run_first, c->state_first);
        if (first == MH_TIME_NONE) continue;
        MH_CHECK(mh_det_bind_str(cx, q, 1, c->tenant));
        MH_CHECK(mh_db_bind_int(q, 2, first, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_firstseen_ops = {
    "firstseen", fs_create, fs_feed, fs_finish, fs_load, fs_save, fs_destroy,
};
