/*
 * scope/appwide.c -- the app-wide basis: apps that could read every mailbox
 *
 * Pipeline: feed (grants, audit observations) -> decide -> [appwide] ->
 * output. detections.md R2 basis 4: an app holding full_access_as_app
 * (Office 365 Exchange Online) or the Mail.Read / Mail.ReadWrite application
 * permission during an incident's window could read ANY mailbox of the
 * tenant (Midnight Blizzard read executives' mail through EWS this way).
 * The mailboxes it touched have their messages scoped by the other bases;
 * every other mailbox is either audited without a hit or "potentially
 * accessed, unaudited" -- a mailbox-level finding, messages are not listed.
 *
 * Grants (mh_scope_grant_feed, per directory record: Entra audit in Graph,
 * Azure Monitor or Log Analytics form, UAL AzureActiveDirectory):
 *   "Add app role assignment to service principal" whose AppRole.Value is
 *     full_access_as_app / Mail.Read / Mail.ReadWrite or whose AppRole.Id is
 *     dc890d15-... / 810c84a8-... / e2a3a72e-...; the granted app is
 *     ServicePrincipal.AppId (ServicePrincipal.ObjectID -> AppId is also
 *     remembered, for consents);
 *   "Consent to application" with ConsentContext.IsAppOnly = True (an
 *     application permission: delegated consent, even AllPrincipals, reads
 *     only the signed-in user's mail) whose ConsentAction.Permissions names
 *     one of them as a word; the app is the first GUID of
 *     TargetId.ServicePrincipalNames, else the target service principal's
 *     object id resolved through an app role assignment of the logs.
 *   Kept per (app or service principal, permission): the earliest copy
 *   (time, then file name and record: any input order gives the same), with
 *   its reference. First-party apps are never granted here (their ids match
 *   every client). Removals are not followed: from its grant on, an app holds
 *   the permission to the end of every window.
 *
 * Audit observations (mh_scope_audit_feed, per MailItemsAccessed record):
 *   the MailboxOwnerUPN (lower-case) joins the universe of mailboxes; when
 *   the record's time lies in incident K's window, (mailbox, K) keeps the
 *   LAST such time. "Some record in [max(window start, grant), window end]"
 *   is then "last >= max(window start, grant)": one time per (mailbox,
 *   incident), whatever the grant turns out to be.
 *
 * Results (mh_scope_appwide, after decide): incident K and app A form a
 * result when A has a grant no later than K's window end and K lists A
 * (entities.apps) or a record of A (AppId or ClientAppId) is in K's context.
 * Window: K's window from the grant on. Universe: the mail store's mailboxes
 * (owner address, else name) and every MailboxOwnerUPN of a MailItemsAccessed
 * record. Each mailbox is
 *   touched    a MailItemsAccessed record of A is in K's context on it;
 *   unaudited  else when an IsThrottled record of it opens a throttle span
 *              (docs/scope.md §4) overlapping the window: binds went
 *              unaudited, or when no MailItemsAccessed record of anyone lies
 *              in the window (auditing off or unlicensed, or no activity:
 *              the logs cannot tell);
 *   audited    else: auditing recorded activity there and A did not appear.
 * One result per (K, A): the earliest grant among A's permissions.
 *
 * Example (tests/data/scope): INC-A lists app 9f1a...; the UAL grants it
 * full_access_as_app at 2024-01-10T08:30; INC-A's window is 08:00 .. 01-11
 * 12:00, so the result's window is 08:30 .. 01-11 12:00. The app read hr
 * (touched); exec has its owner's records in the window (audited); cfo and
 * legal were throttled in it, ceo has no record at all (unaudited).
 *
 * Limits: MH_SCOPE_MAX_GRANTS grants, MH_SCOPE_MAX_AUDIT_MAILBOXES mailboxes,
 * MH_SCOPE_MAX_AUDIT_OBS observations, MH_SCOPE_MAX_APP_WIDE results; what a
 * cap drops is counted in summary.dropped. A lost observation makes a
 * mailbox unaudited, never audited; a lost mailbox or result is missing
 * from the output (counted), never invented.
 * Cost: per MailItemsAccessed record one lookup, plus one per incident whose
 * window holds it; the classification is results x mailboxes, done when
 * there is a result.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "normalize/ident.h"
#include "scope/internal.h"

const char *const mh_scope_perm_name[SC_P__N] = {"full_access_as_app", "Mail.ReadWrite",
                                                 "Mail.Read"};
static const char *const perm_id[SC_P__N] = {"dc890d15-9560-4a4c-9b7f-a736ec74ec40",
                                             "e2a3a72e-5f79-4c64-b1b1-878b674786c9",
                                             "810c84a8-4a9e-49e6-bf7d-12d183f40d01"};

/* ------------------------------------------------------------ fields */

/* Where the forms put targetResources[].modifiedProperties: Graph, Azure
 * Monitor, Log Analytics AuditLogs, UAL. */
static const char *const modprop_prefix[] = {
    "targetResources.modifiedProperties.", "properties.targetResources.modifiedProperties.",
    "TargetResources.modifiedProperties.", "ModifiedProperties.", NULL};

/* A value without the JSON quotes Entra audits keep around it, trimmed. */
static struct mh_slice unquote(struct mh_slice v)
{
    v = mh_slice_trim(v);
    while (v.len && (v.ptr[0] == '"' || v.ptr[0] == ' ')) v.ptr++, v.len--;
    while (v.len && (v.ptr[v.len - 1] == '"' || v.ptr[v.len - 1] == ' ')) v.len--;
    return v;
}

static mh_status get_str(struct mh_event *ev, const char *path, struct mh_slice *out)
{
    MH_TRY(mh_scope_field(ev, path, out));
    *out = unquote(*out);
    return MH_OK;
}

/* The modified property `name` of the first form that has it. */
static mh_status modprop(struct mh_event *ev, const char *name, struct mh_slice *out)
{
    char path[160];
    for (size_t i = 0; modprop_prefix[i]; i++) {
        size_t a = strlen(modprop_prefix[i]), b = strlen(name);
        if (a + b + 1 > sizeof path) continue;
        memcpy(path, modprop_prefix[i], a);
        memcpy(path + a, name, b + 1);
        MH_TRY(get_str(ev, path, out));
        if (out->len) return MH_OK;
    }
    *out = MH_SLICE_NULL;
    return MH_OK;
}

static bool word_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '.' || c == '_' || c == '-';
}

/* text names `w` as a whole word (ASCII case-insensitive). */
static bool names_word(struct mh_slice text, const char *w)
{
    size_t n = strlen(w);
    for (size_t i = 0; i + n <= text.len; i++) {
        if (!mh_slice_eq_nocase(mh_slice_make(text.ptr + i, n), mh_slice_make(w, n))) continue;
        if ((i == 0 || !word_char(text.ptr[i - 1])) &&
            (i + n == text.len || !word_char(text.ptr[i + n])))
            return true;
    }
    return false;
}

/* Permission of an app role (its value or id); SC_P__N when none of ours. */
static enum sc_perm role_perm(struct mh_slice value, struct mh_slice id)
{
    for (int p = 0; p < SC_P__N; p++)
        if (mh_slice_eq_nocase(value, mh_slice_cstr(mh_scope_perm_name[p])) ||
            mh_slice_eq_nocase(id, mh_slice_cstr(perm_id[p])))
            return (enum sc_perm)p;
    return SC_P__N;
}

/* Canonical GUID at the start of v ("<appid>;https://..."), or empty. */
static mh_status guid_prefix(mh_scope *s, struct mh_slice v, struct mh_slice *out)
{
    *out = MH_SLICE_NULL;
    v = unquote(v);
    if (v.len > 17 && mh_slice_eq_nocase(mh_slice_make(v.ptr, 17), MH_SLICE_LIT("ServicePrincipal_")))
        v = mh_slice_make(v.ptr + 17, v.len - 17);
    if (v.len < 36) return MH_OK;
    struct mh_guid g;
    if (mh_guid_parse(v.ptr, 36, &g) != MH_OK) return MH_OK;
    return mh_scope_canon(SC_K_APP, mh_slice_make(v.ptr, 36), &s->tmp, out);
}

/* ------------------------------------------------------------ grants */

static mh_status add_grant(mh_scope *s, struct mh_event *ev, uint32_t app, uint32_t sp,
                           enum sc_perm perm, const char *file_name, const char *file_key)
{
    uint32_t key[3] = {app, sp, (uint32_t)perm}, gi;
    bool created;
    MH_TRY(mh_scope_slot(&s->grant_ix, key, sizeof key,
                         SC_ARRAY(s, grants, ngrants, capgrants, MH_SCOPE_MAX_GRANTS), &gi, &created,
                         &s->aw_dropped));
    if (gi == SC_NONE) return MH_OK;
    struct sc_grant *g = &s->grants[gi];
    uint32_t file, fkey;
    MH_TRY(mh_scope_file_str(s, ev, file_name, file_key, &file, &fkey));
    if (!created && (ev->time > g->t ||
                     (ev->time == g->t && !mh_scope_ref_less(s, file, ev->rec->number, g->file,
                                                             g->record))))
        return MH_OK;
    struct mh_slice rid, op;
    static const char *const rid_paths[] = {"Id", "id", NULL};
    MH_TRY(mh_scope_first_field(ev, rid_paths, &rid));
    if (mh_event_entity(ev, MH_ENT_OPERATION, &op) != MH_OK) op = MH_SLICE_LIT("");
    g->app = app;
    g->sp = sp;
    g->perm = (uint8_t)perm;
    g->t = ev->time;
    g->record = ev->rec->number;
    g->line = ev->rec->line;
    g->offset = ev->rec->offset;
    g->file = file;
    g->fkey = fkey;
    g->rid = SC_NONE;
    if (rid.len) MH_TRY(mh_scope_str(s, rid.ptr, rid.len, &g->rid));
    return mh_scope_str(s, op.ptr, op.len, &g->opname);
}

static bool first_party(const mh_scope *s, struct mh_slice app)
{
    return s->o.first_party && mh_appset_has(s->o.first_party, app);
}

static mh_status role_assignment(mh_scope *s, struct mh_event *ev, const char *file_name,
                                 const char *file_key)
{
    struct mh_slice value, id, v, app;
    MH_TRY(modprop(ev, "AppRole.Value", &value));
    MH_TRY(modprop(ev, "AppRole.Id", &id));
    enum sc_perm p = role_perm(value, id);
    MH_TRY(modprop(ev, "ServicePrincipal.AppId", &v));
    MH_TRY(guid_prefix(s, v, &app));
    if (!app.len || first_party(s, app)) return MH_OK;
    uint32_t ak;
    MH_TRY(mh_scope_key(s, SC_K_APP, app, &ak));
    if (ak == SC_NONE) return MH_OK;
    /* remember the service principal's app id: consents name the principal only */
    MH_TRY(modprop(ev, "ServicePrincipal.ObjectID", &v));
    MH_TRY(guid_prefix(s, v, &v));
    if (v.len) {
        struct mh_map_entry *e;
        bool created;
        mh_status st = mh_map_put(&s->sp_app, v.ptr, v.len, &e, &created);
        if (st == MH_ELIMIT) s->aw_dropped++;
        else if (st) return st;
        else if (created) e->value = ak;
    }
    if (p == SC_P__N) return MH_OK;
    return add_grant(s, ev, ak, SC_NONE, p, file_name, file_key);
}

static mh_status consent(mh_scope *s, struct mh_event *ev, const char *file_name,
                         const char *file_key)
{
    static const char *const target_paths[] = {
        "targetResources.id", "properties.targetResources.id", "TargetResources.id", "Target.ID",
        NULL};
    struct mh_slice v;
    MH_TRY(modprop(ev, "ConsentContext.IsAppOnly", &v));
    if (!mh_slice_eq_nocase(v, MH_SLICE_LIT("true"))) return MH_OK;
    struct mh_slice perms;
    MH_TRY(modprop(ev, "ConsentAction.Permissions", &perms));
    bool any = false;
    for (int p = 0; p < SC_P__N; p++) any |= names_word(perms, mh_scope_perm_name[p]);
    if (!any) return MH_OK;
    uint32_t ak = SC_NONE, sp = SC_NONE;
    struct mh_slice app;
    MH_TRY(modprop(ev, "TargetId.ServicePrincipalNames", &v));
    MH_TRY(guid_prefix(s, v, &app));
    if (app.len) {
        if (first_party(s, app)) return MH_OK;
        MH_TRY(mh_scope_key(s, SC_K_APP, app, &ak));
        if (ak == SC_NONE) return MH_OK;
    } else {
        MH_TRY(mh_scope_first_field(ev, target_paths, &v));
        MH_TRY(guid_prefix(s, v, &v));
        if (!v.len) return MH_OK;
        MH_TRY(mh_scope_str(s, v.ptr, v.len, &sp));
        if (sp == SC_NONE) return MH_OK;
    }
    /* `perms` points into the event, which outlives these calls */
    for (int p = 0; p < SC_P__N; p++)
        if (names_word(perms, mh_scope_perm_name[p]))
            MH_TRY(add_grant(s, ev, ak, sp, (enum sc_perm)p, file_name, file_key));
    return MH_OK;
}

mh_status mh_scope_grant_feed(mh_scope *s, struct mh_event *ev, const char *file_name,
                              const char *file_key)
{
    struct mh_slice op;
    if (mh_event_entity(ev, MH_ENT_OPERATION_KEY, &op) != MH_OK) return MH_OK;
    bool role = mh_slice_eq_cstr(op, "add app role assignment to service principal");
    if (!role && !mh_slice_eq_cstr(op, "consent to application")) return MH_OK;
    if (ev->time == MH_TIME_NONE) { /* a grant cannot be placed in time: counted, skipped */
        s->st.no_time++;
        return MH_OK;
    }
    return role ? role_assignment(s, ev, file_name, file_key) : consent(s, ev, file_name, file_key);
}

/* ------------------------------------------------------------ audit observations */

/* Index of mailbox address a in the universe (added); SC_NONE at the cap. */
static mh_status aud_get(mh_scope *s, struct mh_slice a, uint32_t *out)
{
    *out = SC_NONE;
    uint32_t i;
    bool created;
    MH_TRY(mh_scope_slot(&s->aud_ix, a.ptr, a.len,
                         SC_ARRAY(s, auds, nauds, capauds, MH_SCOPE_MAX_AUDIT_MAILBOXES), &i,
                         &created, &s->aw_dropped));
    if (i == SC_NONE) return MH_OK;
    if (created) s->auds[i] = (struct sc_aud){(uint32_t)(s->aud_ix.n - 1), SC_NONE};
    *out = i;
    return MH_OK;
}

struct mh_slice mh_scope_aud_name(const mh_scope *s, uint32_t aud)
{
    return s->aud_ix.entries[s->auds[aud].entry].key;
}

mh_status mh_scope_audit_feed(mh_scope *s, struct mh_event *ev)
{
    if (!s->nincs) return MH_OK;
    struct mh_slice v, a;
    mh_status st = mh_event_entity(ev, MH_ENT_MAILBOX, &v);
    if (st == MH_ENOTFOUND || st == MH_ELIMIT) return MH_OK; /* ELIMIT: fields() counts it */
    if (st) return st;
    MH_TRY(mh_scope_canon(SC_K_MBX, v, &s->tmp, &a));
    if (!a.len) return MH_OK;
    uint32_t aud;
    MH_TRY(aud_get(s, a, &aud));
    if (aud == SC_NONE || ev->time == MH_TIME_NONE || !mh_scope_in_windows(s, ev->time))
        return MH_OK;
    for (uint32_t k = 0; k < s->nincs; k++) {
        const struct sc_inc *I = &s->incs[k];
        if (ev->time < I->wstart || ev->time > I->wend) continue;
        uint32_t key[2] = {aud, k};
        struct mh_map_entry *e;
        bool created;
        st = mh_map_put(&s->aud_obs, (const char *)key, sizeof key, &e, &created);
        if (st == MH_ELIMIT) { /* the mailbox will look unaudited: the safe side */
            s->aw_dropped++;
            continue;
        }
        if (st) return st;
        if (created || ev->time > (mh_time)e->value) e->value = (uint64_t)ev->time;
    }
    return MH_OK;
}

/* ------------------------------------------------------------ results */

static const struct sc_grant *grant_of(const mh_scope *s, const struct sc_aw *w)
{
    return &s->grants[w->grant];
}

/* App key of grant g: its own, or its service principal's; SC_NONE. */
static uint32_t grant_app(const mh_scope *s, const struct sc_grant *g)
{
    if (g->app != SC_NONE) return g->app;
    if (g->sp == SC_NONE) return SC_NONE;
    struct mh_slice sp = mh_scope_str_get(s, g->sp);
    const struct mh_map_entry *e = mh_map_get(&s->sp_app, sp.ptr, sp.len);
    return e ? (uint32_t)e->value : SC_NONE;
}

/* g earlier than h: time, then permission, then reference. */
static bool grant_less(const mh_scope *s, const struct sc_grant *g, const struct sc_grant *h)
{
    if (g->t != h->t) return g->t < h->t;
    if (g->perm != h->perm) return g->perm < h->perm;
    return mh_scope_ref_less(s, g->file, g->record, h->file, h->record);
}

/* Per app key: its earliest grant (index + 1 in the map value). */
static mh_status best_grants(mh_scope *s, struct mh_map *best)
{
    for (size_t i = 0; i < s->ngrants; i++) {
        uint32_t app = grant_app(s, &s->grants[i]);
        if (app == SC_NONE) continue;
        struct mh_map_entry *e;
        bool created;
        MH_TRY(mh_map_put(best, (const char *)&app, sizeof app, &e, &created));
        if (created || grant_less(s, &s->grants[i], &s->grants[e->value - 1])) e->value = i + 1;
    }
    return MH_OK;
}

/* The result (inc, app) in ix, created when the grant is in time; SC_NONE. */
static mh_status aw_get(mh_scope *s, struct mh_map *ix, const struct mh_map *best, uint32_t inc,
                        uint32_t app, bool create, uint32_t *out)
{
    *out = SC_NONE;
    if (app == SC_NONE) return MH_OK;
    const struct mh_map_entry *b = mh_map_get(best, (const char *)&app, sizeof app);
    if (!b) return MH_OK;
    uint32_t key[2] = {inc, app};
    if (!create) {
        const struct mh_map_entry *e = mh_map_get(ix, (const char *)key, sizeof key);
        *out = e ? (uint32_t)e->value : SC_NONE;
        return MH_OK;
    }
    const struct sc_inc *I = &s->incs[inc];
    const struct sc_grant *g = &s->grants[b->value - 1];
    if (g->t > I->wend) return MH_OK; /* granted after the window */
    bool created;
    MH_TRY(mh_scope_slot(ix, key, sizeof key,
                         SC_ARRAY(s, aws, naws, capaws, MH_SCOPE_MAX_APP_WIDE), out, &created,
                         &s->aw_dropped));
    if (!created) return MH_OK;
    struct sc_aw *w = &s->aws[*out];
    w->inc = inc;
    w->grant = (uint32_t)(b->value - 1);
    w->start = g->t > I->wstart ? g->t : I->wstart;
    w->end = I->wend;
    return MH_OK;
}

/* Results of every incident: the apps it lists, then those of its matches. */
static mh_status build_results(mh_scope *s, const struct mh_map *best, struct mh_map *ix)
{
    uint32_t w;
    for (uint32_t k = 0; k < s->nincs; k++) {
        const struct sc_inc *I = &s->incs[k];
        for (uint32_t i = 0; i < I->given.n; i++)
            if (mh_scope_key_kind(s, I->given.v[i]) == SC_K_APP)
                MH_TRY(aw_get(s, ix, best, k, I->given.v[i], true, &w));
    }
    for (size_t i = 0; i < s->nmatches; i++) {
        const struct sc_match *mt = &s->matches[i];
        const struct sc_rec *r = &s->recs[mt->rec];
        MH_TRY(aw_get(s, ix, best, mt->inc, r->f[SC_F_APP], true, &w));
        MH_TRY(aw_get(s, ix, best, mt->inc, r->f[SC_F_CAPP], true, &w));
    }
    return MH_OK;
}

/* Touched mailboxes: MailItemsAccessed records of the app in the context. */
static mh_status touched(mh_scope *s, const struct mh_map *best, struct mh_map *ix)
{
    for (size_t i = 0; i < s->nmatches; i++) {
        const struct sc_match *mt = &s->matches[i];
        const struct sc_rec *r = &s->recs[mt->rec];
        if (r->op == SC_OP_SEND || r->f[SC_F_MBX] == SC_NONE) continue;
        uint32_t apps[2] = {r->f[SC_F_APP], r->f[SC_F_CAPP]};
        for (int a = 0; a < 2; a++) {
            uint32_t w, aud;
            MH_TRY(aw_get(s, ix, best, mt->inc, apps[a], false, &w));
            if (w == SC_NONE) continue;
            MH_TRY(aud_get(s, mh_scope_key_value(s, r->f[SC_F_MBX]), &aud));
            if (aud != SC_NONE) MH_TRY(mh_scope_list_add(&s->aws[w].touched, aud, NULL));
        }
    }
    return MH_OK;
}

/* The universe: the store's mailboxes join those of the logs; throttled
 * records are chained per mailbox. */
static mh_status universe(mh_scope *s)
{
    const mh_mailstore *st = s->o.store;
    size_t nmb = st ? mh_mailstore_nmailboxes(st) : 0;
    for (size_t i = 0; i < nmb; i++) {
        const struct mh_mailbox *mb = mh_mailstore_mailbox(st, i);
        struct mh_slice c;
        MH_TRY(mh_scope_canon(SC_K_MBX, mh_slice_cstr(mb->owner ? mb->owner : mb->name), &s->tmp,
                              &c));
        uint32_t aud;
        if (c.len) MH_TRY(aud_get(s, c, &aud));
    }
    s->aud_thr_next = mh_malloc((s->nrecs ? s->nrecs : 1) * sizeof *s->aud_thr_next);
    if (!s->aud_thr_next) return MH_ENOMEM;
    for (size_t i = s->nrecs; i-- > 0;) {
        const struct sc_rec *r = &s->recs[i];
        s->aud_thr_next[i] = SC_NONE;
        if (!r->throttled || r->f[SC_F_MBX] == SC_NONE) continue;
        uint32_t aud;
        MH_TRY(aud_get(s, mh_scope_key_value(s, r->f[SC_F_MBX]), &aud));
        if (aud == SC_NONE) continue;
        s->aud_thr_next[i] = s->auds[aud].thr;
        s->auds[aud].thr = (uint32_t)i;
    }
    return MH_OK;
}

enum sc_awc mh_scope_aw_class(const mh_scope *s, const struct sc_aw *w, uint32_t aud)
{
    if (mh_scope_list_has(&w->touched, aud)) return SC_AW_TOUCHED;
    for (uint32_t i = s->auds[aud].thr; i != SC_NONE; i = s->aud_thr_next[i]) {
        mh_time t = s->recs[i].t;
        mh_time end = mh_scope_time_add(t, s->o.throttle_span);
        if (t <= w->end && end >= w->start) return SC_AW_UNAUDITED;
    }
    uint32_t key[2] = {aud, w->inc};
    const struct mh_map_entry *e = mh_map_get(&s->aud_obs, (const char *)key, sizeof key);
    return e && (mh_time)e->value >= w->start ? SC_AW_AUDITED : SC_AW_UNAUDITED;
}

static int aw_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_aw *x = a, *y = b;
    if (x->inc != y->inc) return x->inc < y->inc ? -1 : 1;
    return mh_slice_cmp(mh_scope_key_value(s, grant_app(s, grant_of(s, x))),
                        mh_scope_key_value(s, grant_app(s, grant_of(s, y))));
}

/* Distinct (app, permission) grants resolved to an app. */
static mh_status count_grants(mh_scope *s)
{
    struct mh_map seen;
    mh_map_init(&seen, MH_SCOPE_MAX_GRANTS, false);
    mh_status st = MH_OK;
    for (size_t i = 0; i < s->ngrants; i++) {
        uint32_t key[2] = {grant_app(s, &s->grants[i]), s->grants[i].perm};
        if (key[0] == SC_NONE) { /* an app-only consent naming a principal never resolved */
            s->st.app_wide_unresolved++;
            continue;
        }
        struct mh_map_entry *e;
        bool created;
        MH_CHECK(mh_map_put(&seen, (const char *)key, sizeof key, &e, &created));
        s->st.app_wide_grants += created;
    }
out:
    mh_map_fini(&seen);
    return st;
}

mh_status mh_scope_appwide(mh_scope *s)
{
    mh_status st = MH_OK;
    struct mh_map best, ix;
    uint8_t *unaudited = NULL;
    mh_map_init(&best, MH_SCOPE_MAX_GRANTS, false);
    mh_map_init(&ix, MH_SCOPE_MAX_APP_WIDE, false);
    if (!s->ngrants) goto out;
    MH_CHECK(count_grants(s));
    MH_CHECK(best_grants(s, &best));
    MH_CHECK(build_results(s, &best, &ix));
    if (!s->naws) goto out;
    MH_CHECK(touched(s, &best, &ix));
    MH_CHECK(universe(s));
    qsort_r(s->aws, s->naws, sizeof *s->aws, aw_cmp, s);
    unaudited = mh_calloc(s->nauds ? s->nauds : 1, 1);
    if (!unaudited) {
        st = MH_ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < s->naws; i++) {
        struct sc_aw *w = &s->aws[i];
        for (uint32_t a = 0; a < s->nauds; a++) {
            enum sc_awc c = mh_scope_aw_class(s, w, a);
            w->n[c]++;
            if (c == SC_AW_UNAUDITED) unaudited[a] = 1;
        }
    }
    for (uint32_t a = 0; a < s->nauds; a++) s->st.unaudited_mailboxes += unaudited[a];
    s->st.app_wide = s->naws;
out:
    if (s->ngrants) s->st.dropped += s->aw_dropped;
    mh_free(unaudited);
    mh_map_fini(&best);
    mh_map_fini(&ix);
    return st;
}

/* ------------------------------------------------------------ accessors */

size_t mh_scope_app_wide_count(const mh_scope *s)
{
    return s->finished ? s->naws : 0;
}

void mh_scope_app_wide_get(const mh_scope *s, size_t i, struct mh_scope_app_wide *out)
{
    const struct sc_aw *w = &s->aws[i];
    const struct sc_grant *g = grant_of(s, w);
    out->incident = s->incs[w->inc].id;
    out->app = mh_scope_key_value(s, grant_app(s, g));
    out->permission = mh_scope_perm_name[g->perm];
    out->granted = g->t;
    out->start = w->start;
    out->end = w->end;
    out->touched = w->n[SC_AW_TOUCHED];
    out->audited = w->n[SC_AW_AUDITED];
    out->unaudited = w->n[SC_AW_UNAUDITED];
}

void mh_scope_appwide_free(mh_scope *s)
{
    for (size_t i = 0; i < s->naws; i++) mh_free(s->aws[i].touched.v);
    mh_free(s->aws);
    mh_free(s->grants);
    mh_free(s->auds);
    mh_free(s->aud_thr_next);
    mh_map_fini(&s->grant_ix);
    mh_map_fini(&s->sp_app);
    mh_map_fini(&s->aud_ix);
    mh_map_fini(&s->aud_obs);
}
