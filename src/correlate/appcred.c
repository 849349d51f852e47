/*
 * correlate/appcred.c -- D5 application credential added: key diff, actor history, dormancy
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * The Sigma rule d05_app_credential.yml reports every credential change
 * (medium). This detector adds what one event cannot say (detections.md §5
 * D5, the Midnight Blizzard pivot: a password added to a DORMANT legacy OAuth
 * application by an account that never managed it):
 *
 *  1. Key diff. KeyDescription old and new values are parsed for
 *     KeyIdentifier GUIDs (log-formats.md §9): new = in new, not in old;
 *     removed = in old, not in new. No new key -> nothing to judge. Old empty
 *     -> the first credential of a new application (Sentinel
 *     NewAppOrServicePrincipalCredential requires old not empty; creation is
 *     D7/D8's business) -> nothing. "added" = nothing removed (a second
 *     credential next to the existing one); "rotated" = an old key removed
 *     in the same change (what owners do) -> one level lower.
 *  2. Actor history. Every application-management change (credentials,
 *     app / SP updates, owners, consent, grants) records (application key,
 *     actor) with its earliest time. The credential's actor is "new" when no
 *     record of that actor on any key of the application is older than
 *     5 minutes before the change (the same burst of work is not history).
 *     The verdict needs directory-log history: >= d5.actor_history before
 *     the change = complete; >= d5.min_history = partial; else unknown.
 *  3. Dormancy. Service-principal / managed-identity sign-ins, and user
 *     sign-ins to non-first-party applications, record per application key
 *     the days with a successful sign-in (earliest time of each day). The
 *     application is dormant when its last sign-in before the change is
 *     >= d5.dormant old (complete), or when it never signed in while the
 *     service-principal sign-in stream covers >= d5.min_history before the
 *     change but less than d5.dormant (partial: "no sign-in in the N days
 *     the logs cover"). No service-principal stream -> unknown.
 *
 * Application keys: the credential event names the Application (or service
 * principal) OBJECT id and display name; sign-ins carry the app id, the
 * service-principal object id and the display name. Any of them joins
 * (lower-cased display names of >= 4 characters; GUIDs canonical). A
 * credential whose application cannot be joined to its sign-ins by any key
 * looks dormant: that is the cost of the display-name bridge (docs/detections.md).
 *
 * Verdict (one detection mh.d5.credential_added per credential change; the
 * same change seen in the AuditLogs and in the UAL is merged on its new key
 * id, earliest copy = evidence):
 *     dormant complete + new actor (complete or partial)   critical
 *     dormant complete                                     high
 *     dormant partial + new actor                          high
 *     dormant partial                                      medium
 *     new actor only                                       low
 *     neither                                              no detection
 *   "rotated" lowers one level (floor informational); a certificate added by
 *   "Managed Service Identity" is at most low (the catalogue's FP trap:
 *   lowered, not suppressed).
 *
 * Example: sign-in logs from 03-04; "PoC Graph Client" has no sign-in; on
 * 03-10 demo.user17 (no directory change before) adds a password next to
 * the existing one -> dormancy partial (6 days), actor new (partial), added
 * -> high. A SaaS app signing in daily whose secret an admin adds -> actor
 * new only -> low.
 *
 * Boosters (each raises the verdict one level, once; a credential with
 * neither dormancy nor a new actor but with a booster is reported low):
 *   grant     a consent or app role assignment to the same application key
 *             within d5.grant_window (2 d) before the change (Sentinel
 *             CredentialAddedAfterAdminConsent). Grants are kept as history
 *             records of the actor "~grant" (first and last time per key, so
 *             they persist with the actor history); with grants both before
 *             and after the change only first/last are known, and a grant in
 *             between is missed (it can only under-report).
 *   app actor the actor is itself an application ("app:..." key): app-to-app.
 *   dangerous the application was granted (app role assignment or consent)
 *             a permission of rules/data/dangerous-permissions.tsv before the
 *             change (AppRole.Value / AppRole.Id / ConsentAction.Permissions),
 *             kept as history records of the actor "~danger".
 *   new address the actor's address is new to the tenant: no successful
 *             sign-in (any user, application or stream) came from it at
 *             least d5.new_address (1 d) before the change, and its network
 *             (ASN, learned from a sign-in from that address, when one has
 *             it) is not one the tenant signed in from before either. It
 *             needs sign-in coverage of d5.min_history before the change;
 *             without it, or when the address table is full, the verdict
 *             is "unknown" and nothing is boosted. An address that only the
 *             attacker's own spray success used hours before stays new (the
 *             Midnight Blizzard path); a new address of a known ISP does not
 *             boost (DHCP churn of employees). Addresses of all tenants in
 *             the input form one set: with several tenants hunted together
 *             one tenant's address counts as known for all, which can only
 *             miss a booster, never add one.
 *
 * State (state.h): d5_signin(key, day, first) within d5.dormant + 1 day of
 * the run's end; d5_actor(key, actor, first, last) while last is within
 * d5.actor_history;
 * d5_cover(kind, first) for the directory, service-principal and all sign-in
 * streams; d5_address(ip, asn, first, last) and d5_asn(asn, first, last)
 * while last is within d5.actor_history.
 * Verdicts use minima only, so the same input with the same state gives the
 * same detections.
 *
 * Limits: MH_D5_MAX_APPS keys with sign-in days (MH_D5_MAX_DAYS_PER_APP
 * latest days each: an older day is dropped, which can only make an app look
 * dormant for longer than the logs show -- never when it signed in within
 * the kept days), MH_D5_MAX_ACTORS management records, MH_D5_MAX_CREDENTIALS
 * changes, MH_D5_MAX_KEYS key ids per KeyDescription side, MH_D5_MAX_ADDRESSES
 * addresses and MH_D5_MAX_ASNS networks. New keys beyond a cap are not
 * tracked (stats.dropped). Not thread-safe.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "normalize/ident.h"

static const char *const d5_tags[] = {"attack.persistence", "attack.t1098.001",
                                      "attack.privilege-escalation", "mailhound.d5"};
static const struct mh_det_rule rule_d5 = {
    "mh.d5.credential_added", "Credential added to a dormant application or by a new actor", "D5",
    "A password or certificate added to an existing application whose service principal has not "
    "signed in for a long time, or by an account that never managed it (Midnight Blizzard: the "
    "dormant legacy OAuth application)",
    d5_tags, 4};

#define USEC_DAY ((mh_time)86400 * MH_USEC_PER_SEC)
/* History "actor" of permission grants: no real actor key starts with '~'
 * (users are lower-case UPNs, applications "app:..."). */
#define GRANT_MARKER MH_SLICE_LIT("~grant")
#define DANGER_MARKER MH_SLICE_LIT("~danger")
#define SAME_WORK ((mh_time)300 * MH_USEC_PER_SEC) /* 5 min: one burst of work */

struct dayrec {
    int64_t day;
    mh_time first;
};

struct appact { /* sign-in days of one application key */
    uint32_t key;
    uint32_t n, cap;
    struct dayrec *d; /* ascending by day */
};

struct actrec { /* one actor's changes to one application key */
    uint32_t key, actor;
    mh_time first, last;
};

struct addrrec { /* an address some sign-in succeeded from */
    uint32_t ip, asn; /* asn 0: unknown */
    mh_time first, last;
};

struct asnrec { /* a network some sign-in succeeded from */
    uint32_t asn;
    mh_time first, last;
};

struct cred {
    struct mh_det_evid ev; /* earliest copy */
    uint32_t name, app, object, actor, key_type;
    uint32_t n_new, n_old, n_removed;
    bool msi, has_tenant_copy;
};

struct appcred {
    struct mh_map act_idx;   /* key id -> index in acts */
    struct appact *acts;
    size_t nacts, cap_acts;
    struct mh_map actors;    /* {app key, actor} -> index in acrs */
    struct actrec *acrs;
    size_t nacrs, cap_acrs;
    struct mh_map cred_idx;  /* smallest new KeyIdentifier -> index in creds */
    struct cred *creds;
    size_t ncreds, cap_creds;
    struct mh_map addr_idx;  /* ip string id -> index in addrs */
    struct addrrec *addrs;
    size_t naddrs, cap_addrs;
    struct mh_map asn_idx;   /* asn -> index in asns */
    struct asnrec *asns;
    size_t nasns, cap_asns;
    bool addrs_full;         /* an address was refused: "new" cannot be told */
    mh_time dir_first, sp_first, si_first;          /* this run */
    mh_time st_dir_first, st_sp_first, st_si_first; /* state */
};

static mh_time tmin(mh_time a, mh_time b)
{
    if (a == MH_TIME_NONE) return b;
    if (b == MH_TIME_NONE) return a;
    return a < b ? a : b;
}

static int64_t day_of(mh_time t)
{
    return t >= 0 ? t / USEC_DAY : -((-t + USEC_DAY - 1) / USEC_DAY);
}

static mh_status ac_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct appcred *a = mh_calloc(1, sizeof *a);
    if (!a) return MH_ENOMEM;
    mh_map_init(&a->act_idx, MH_D5_MAX_APPS, false);
    mh_map_init(&a->actors, MH_D5_MAX_ACTORS, false);
    mh_map_init(&a->cred_idx, MH_D5_MAX_CREDENTIALS, false);
    mh_map_init(&a->addr_idx, MH_D5_MAX_ADDRESSES, false);
    mh_map_init(&a->asn_idx, MH_D5_MAX_ASNS, false);
    a->dir_first = a->sp_first = a->si_first = MH_TIME_NONE;
    a->st_dir_first = a->st_sp_first = a->st_si_first = MH_TIME_NONE;
    *self = a;
    return MH_OK;
}

static void ac_destroy(void *self)
{
    struct appcred *a = self;
    for (size_t i = 0; i < a->nacts; i++) mh_free(a->acts[i].d);
    mh_free(a->acts);
    mh_free(a->creds);
    mh_free(a->acrs);
    mh_free(a->addrs);
    mh_free(a->asns);
    mh_map_fini(&a->addr_idx);
    mh_map_fini(&a->asn_idx);
    mh_map_fini(&a->act_idx);
    mh_map_fini(&a->actors);
    mh_map_fini(&a->cred_idx);
    mh_free(a);
}

/* ---- sign-in days ---- */

static mh_status get_act(struct mh_det_ctx *cx, struct appcred *a, uint32_t key,
                         struct appact **out)
{
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &a->act_idx, &key, sizeof key, a->acts, a->cap_acts, a->nacts, MH_D5_MAX_APPS,
                *out, &created, st);
    if (!st && created) (*out)->key = key;
    return st;
}

/* Record a sign-in at t; keeps the latest MH_D5_MAX_DAYS_PER_APP days (the
 * set kept does not depend on the order of insertion). */
static mh_status act_add(struct appact *p, mh_time t)
{
    int64_t day = day_of(t);
    uint32_t lo = 0, hi = p->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (p->d[mid].day < day) lo = mid + 1;
        else hi = mid;
    }
    if (lo < p->n && p->d[lo].day == day) {
        if (t < p->d[lo].first) p->d[lo].first = t;
        return MH_OK;
    }
    if (p->n == MH_D5_MAX_DAYS_PER_APP) {
        if (lo == 0) return MH_OK; /* older than every kept day */
        memmove(p->d, p->d + 1, (size_t)(lo - 1) * sizeof *p->d);
        p->d[lo - 1] = (struct dayrec){day, t};
        return MH_OK;
    }
    /* p->n < MH_D5_MAX_DAYS_PER_APP here: at the cap the oldest day was replaced above */
    MH_TRY(MH_GROW(p->d, p->cap, (size_t)p->n + 1, 8, MH_D5_MAX_DAYS_PER_APP));
    memmove(p->d + lo + 1, p->d + lo, (size_t)(p->n - lo) * sizeof *p->d);
    p->d[lo] = (struct dayrec){day, t};
    p->n++;
    return MH_OK;
}

/* Latest known sign-in time before t of key (a lower bound within its day:
 * the earliest sign-in of that day); MH_TIME_NONE when none. */
static mh_time act_last_before(const struct appcred *a, uint32_t key, mh_time t)
{
    if (!key) return MH_TIME_NONE;
    struct mh_map_entry *e = mh_map_get(&a->act_idx, (const char *)&key, sizeof key);
    if (!e) return MH_TIME_NONE;
    const struct appact *p = &a->acts[e->value];
    for (uint32_t i = p->n; i > 0; i--)
        if (p->d[i - 1].first < t) return p->d[i - 1].first;
    return MH_TIME_NONE;
}

static mh_status note_signin(struct mh_det_ctx *cx, struct appcred *a, uint32_t key, mh_time t)
{
    if (!key) return MH_OK;
    struct appact *p;
    MH_TRY(get_act(cx, a, key, &p));
    return p ? act_add(p, t) : MH_OK;
}

/* ---- addresses and networks the tenant signed in from ---- */

static mh_status note_asn(struct mh_det_ctx *cx, struct appcred *a, uint32_t asn, mh_time first,
                          mh_time last)
{
    struct asnrec *r;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &a->asn_idx, &asn, sizeof asn, a->asns, a->cap_asns, a->nasns, MH_D5_MAX_ASNS,
                r, &created, st);
    if (st || !r) return st; /* a network not kept: its addresses decide alone */
    if (created) {
        *r = (struct asnrec){asn, first, last};
        return MH_OK;
    }
    if (first < r->first) r->first = first;
    if (last > r->last) r->last = last;
    return MH_OK;
}

static mh_status note_address(struct mh_det_ctx *cx, struct appcred *a, uint32_t ip, uint32_t asn,
                              mh_time first, mh_time last)
{
    if (!ip) return MH_OK;
    struct addrrec *r;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &a->addr_idx, &ip, sizeof ip, a->addrs, a->cap_addrs, a->naddrs,
                MH_D5_MAX_ADDRESSES, r, &created, st);
    if (st) return st;
    if (!r) {
        a->addrs_full = true;
        return MH_OK;
    }
    if (created) {
        *r = (struct addrrec){ip, asn, first, last};
    } else {
        if (first < r->first) r->first = first;
        if (last > r->last) r->last = last;
        if (!r->asn || (asn && asn < r->asn)) r->asn = asn; /* the smallest: order-free */
    }
    return asn ? note_asn(cx, a, asn, first, last) : MH_OK;
}

/* autonomousSystemNumber of a sign-in (Entra sign-in logs have it; UAL
 * logons do not): 0 when absent or not a number in 1..2^32-1. */
static mh_status asn_of(struct mh_event *ev, uint32_t *out)
{
    struct mh_slice s;
    *out = 0;
    MH_TRY(mh_det_field(ev, mh_det_asn_paths, &s));
    int64_t v;
    if (s.len && mh_det_parse_i64(s, &v) && v > 0 && v <= UINT32_MAX) *out = (uint32_t)v;
    return MH_OK;
}

enum addr_verdict { A_NONE = 0, A_UNKNOWN, A_KNOWN, A_KNOWN_NETWORK, A_NEW };

/* Is the change's address (interned ip) new to the tenant at t? */
static enum addr_verdict address_verdict(const struct appcred *a, const struct mh_detector_config *cf,
                                         uint32_t ip, mh_time t, uint32_t *asn)
{
    *asn = 0;
    if (!ip) return A_NONE;
    mh_time si = tmin(a->si_first, a->st_si_first);
    if (a->addrs_full || si == MH_TIME_NONE || si > t - cf->d5_min_history) return A_UNKNOWN;
    mh_time known_before = t - cf->d5_new_address;
    struct mh_map_entry *e = mh_map_get(&a->addr_idx, (const char *)&ip, sizeof ip);
    if (!e) return A_NEW;
    const struct addrrec *r = &a->addrs[e->value];
    *asn = r->asn;
    if (r->first <= known_before) return A_KNOWN;
    if (!r->asn) return A_NEW;
    e = mh_map_get(&a->asn_idx, (const char *)&r->asn, sizeof r->asn);
    return e && a->asns[e->value].first <= known_before ? A_KNOWN_NETWORK : A_NEW;
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* First GUID inside text (canonical, lower-case) interned; 0 when none. */
static uint32_t intern_guid_in(struct mh_det_ctx *cx, struct mh_slice s)
{
    for (size_t i = 0; i + 36 <= s.len; i++) {
        if (!is_hex(s.ptr[i]) || (i > 0 && is_hex(s.ptr[i - 1]))) continue;
        struct mh_guid g;
        if (mh_guid_parse(s.ptr + i, 36, &g) == MH_OK &&
            (i + 36 == s.len || !is_hex(s.ptr[i + 36]))) {
            char out[37];
            mh_guid_format(&g, out);
            return mh_det_intern(cx, mh_slice_make(out, 36));
        }
    }
    return 0;
}

static mh_status guid_at(struct mh_det_ctx *cx, struct mh_event *ev, const char *const *paths,
                         uint32_t *out)
{
    struct mh_slice s;
    MH_TRY(mh_det_field(ev, paths, &s));
    *out = s.len ? intern_guid_in(cx, s) : 0;
    return MH_OK;
}

/* Lower-cased display name (quotes stripped, >= 4 characters) or 0. */
static mh_status name_at(struct mh_det_ctx *cx, struct mh_event *ev, const char *const *paths,
                         uint32_t *out)
{
    struct mh_slice s;
    *out = 0;
    MH_TRY(mh_det_field(ev, paths, &s));
    while (s.len && (s.ptr[0] == '"' || s.ptr[0] == ' ')) s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == '"' || s.ptr[s.len - 1] == ' ')) s.len--;
    struct mh_guid g;
    if (s.len == 36 && mh_guid_parse(s.ptr, s.len, &g) == MH_OK) return MH_OK; /* an id, not a name */
    if (s.len >= 4) *out = mh_det_intern_lower(cx, s);
    return MH_OK;
}

static mh_status feed_signin(struct appcred *a, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const sp_paths[] = {"properties.servicePrincipalId", "servicePrincipalId",
                                           NULL};
    static const char *const name_paths[] = {"properties.appDisplayName", "appDisplayName",
                                             "properties.servicePrincipalName",
                                             "servicePrincipalName", "AppDisplayName", NULL};
    bool app_only = ev->kind == MH_SRC_SIGNIN_SERVICE_PRINCIPAL ||
                    ev->kind == MH_SRC_SIGNIN_MANAGED_IDENTITY;
    if (ev->kind == MH_SRC_SIGNIN_SERVICE_PRINCIPAL) a->sp_first = tmin(a->sp_first, ev->time);
    a->si_first = tmin(a->si_first, ev->time);
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    if (has && code != 0) return MH_OK;
    struct mh_slice ip;
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    if (ip.len) {
        uint32_t asn;
        MH_TRY(asn_of(ev, &asn));
        MH_TRY(note_address(cx, a, mh_det_intern(cx, ip), asn, ev->time, ev->time));
    }
    struct mh_slice app;
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    if (!app.len || mh_det_first_party(cx, app)) {
        if (!app_only) return MH_OK; /* users signing in to Microsoft's own clients */
        app = MH_SLICE_NULL;
    }
    uint32_t ia = app.len ? intern_guid_in(cx, app) : 0, isp = 0, in;
    if (app_only) MH_TRY(guid_at(cx, ev, sp_paths, &isp));
    MH_TRY(name_at(cx, ev, name_paths, &in));
    MH_TRY(note_signin(cx, a, ia, ev->time));
    MH_TRY(note_signin(cx, a, isp, ev->time));
    return note_signin(cx, a, in, ev->time);
}

/* ---- directory changes ---- */

/* Application-management operations (canonical keys, normalize/ident.h). */
static bool is_app_management(struct mh_slice op, bool *credential, bool *role)
{
    *credential = mh_slice_eq_cstr(op, "add service principal credentials") ||
                  mh_slice_eq_cstr(op, "update application - certificates and secrets management");
    *role = mh_slice_eq_cstr(op, "add app role assignment to service principal");
    if (*credential || *role) return true;
    static const char *const extra[] = {"add delegated permission grant",
                                        "add oauth2permissiongrant", NULL};
    for (const char *const *p = extra; *p; p++)
        if (mh_slice_eq_cstr(op, *p)) return true;
    for (size_t i = 0; i + 11 <= op.len; i++)
        if (memcmp(op.ptr + i, "application", 11) == 0) return true;
    for (size_t i = 0; i + 17 <= op.len; i++)
        if (memcmp(op.ptr + i, "service principal", 17) == 0) return true;
    return false;
}

/* Actor as a history key: a user's lower-case UPN, else "app:<name or id>". */
static mh_status actor_key(struct mh_det_ctx *cx, struct mh_event *ev, uint32_t *out, bool *msi)
{
    static const char *const app_name_paths[] = {"initiatedBy.app.displayName",
                                                 "properties.initiatedBy.app.displayName",
                                                 "InitiatedBy.app.displayName", NULL};
    static const char *const app_sp_paths[] = {"initiatedBy.app.servicePrincipalId",
                                               "properties.initiatedBy.app.servicePrincipalId",
                                               "InitiatedBy.app.servicePrincipalId", NULL};
    struct mh_slice user, name;
    char buf[300];
    *out = 0;
    *msi = false;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_field(ev, app_name_paths, &name));
    if (mh_slice_eq_nocase(name, MH_SLICE_LIT("Managed Service Identity")) ||
        mh_slice_eq_nocase(user, MH_SLICE_LIT("Managed Service Identity")))
        *msi = true;
    bool sp_user = user.len > 17 && mh_slice_eq_nocase(mh_slice_make(user.ptr, 17),
                                                       MH_SLICE_LIT("ServicePrincipal_"));
    if (user.len && !sp_user && memchr(user.ptr, '@', user.len)) {
        *out = mh_det_intern_lower(cx, user);
        return MH_OK;
    }
    struct mh_slice id = name.len ? name : user;
    if (!id.len) {
        MH_TRY(mh_det_field(ev, app_sp_paths, &id));
        if (!id.len) return MH_OK;
    }
    if (id.len > sizeof buf - 5) id.len = sizeof buf - 5;
    memcpy(buf, "app:", 4);
    memcpy(buf + 4, id.ptr, id.len);
    *out = mh_det_intern_lower(cx, mh_slice_make(buf, id.len + 4));
    return MH_OK;
}

static mh_status note_actor(struct mh_det_ctx *cx, struct appcred *a, uint32_t key,
                            uint32_t actor, mh_time first, mh_time last)
{
    if (!key || !actor) return MH_OK;
    uint32_t k[2] = {key, actor};
    struct actrec *r;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &a->actors, k, sizeof k, a->acrs, a->cap_acrs, a->nacrs, MH_D5_MAX_ACTORS, r,
                &created, st);
    if (st || !r) return st;
    if (created) {
        *r = (struct actrec){key, actor, first, last};
        return MH_OK;
    }
    if (first < r->first) r->first = first;
    if (last > r->last) r->last = last;
    return MH_OK;
}

/* A grant to one of keys in [t - window, t]: first or last of its record
 * (grants in between are not kept). */
static bool granted_before(const struct appcred *a, const uint32_t *keys, int n, uint32_t marker,
                           mh_time t, mh_time window)
{
    if (!marker) return false;
    for (int k = 0; k < n; k++) {
        if (!keys[k]) continue;
        uint32_t key[2] = {keys[k], marker};
        struct mh_map_entry *e = mh_map_get(&a->actors, (const char *)key, sizeof key);
        if (!e) continue;
        const struct actrec *r = &a->acrs[e->value];
        if ((r->first <= t && r->first >= t - window) || (r->last <= t && r->last >= t - window))
            return true;
    }
    return false;
}

/* Earliest management of key by actor, MH_TIME_NONE when none. */
static mh_time actor_first(const struct appcred *a, uint32_t key, uint32_t actor)
{
    if (!key || !actor) return MH_TIME_NONE;
    uint32_t k[2] = {key, actor};
    struct mh_map_entry *e = mh_map_get(&a->actors, (const char *)k, sizeof k);
    return e ? a->acrs[e->value].first : MH_TIME_NONE;
}

/* KeyIdentifier GUIDs of a KeyDescription value (sorted canonical text). */
struct keyset {
    char id[MH_D5_MAX_KEYS][37];
    size_t n;
    bool truncated;
    struct mh_slice first_type; /* KeyType= of the first key */
};

static int cmp_key(const void *x, const void *y)
{
    return memcmp(x, y, 36);
}

static void parse_keys(struct mh_slice s, struct keyset *k)
{
    static const char tag[] = "KeyIdentifier=";
    const size_t tl = sizeof tag - 1;
    memset(k, 0, sizeof *k);
    for (size_t i = 0; i + tl + 36 <= s.len; i++) {
        if (memcmp(s.ptr + i, tag, tl) != 0) continue;
        struct mh_guid g;
        if (mh_guid_parse(s.ptr + i + tl, 36, &g) != MH_OK) continue;
        if (k->n == MH_D5_MAX_KEYS) {
            k->truncated = true;
            break;
        }
        mh_guid_format(&g, k->id[k->n]);
        if (k->n == 0) { /* KeyType=... up to ',' or ']' within this key */
            for (size_t j = i + tl + 36; j + 8 <= s.len && s.ptr[j] != ']'; j++) {
                if (memcmp(s.ptr + j, "KeyType=", 8) != 0) continue;
                size_t e = j + 8;
                while (e < s.len && s.ptr[e] != ',' && s.ptr[e] != ']') e++;
                k->first_type = mh_slice_make(s.ptr + j + 8, e - j - 8);
                break;
            }
        }
        k->n++;
    }
    qsort(k->id, k->n, sizeof k->id[0], cmp_key);
}

static bool keyset_has(const struct keyset *k, const char *id)
{
    return bsearch(id, k->id, k->n, sizeof k->id[0], cmp_key) != NULL;
}

static mh_status feed_credential(struct appcred *a, struct mh_det_ctx *cx, struct mh_event *ev,
                                 uint32_t name, uint32_t app, uint32_t object, uint32_t actor,
                                 bool msi)
{
    static const char *const new_paths[] = {
        "targetResources.modifiedProperties.KeyDescription.NewValue",
        "properties.targetResources.modifiedProperties.KeyDescription.NewValue",
        "ModifiedProperties.KeyDescription.NewValue", NULL};
    static const char *const old_paths[] = {
        "targetResources.modifiedProperties.KeyDescription.OldValue",
        "properties.targetResources.modifiedProperties.KeyDescription.OldValue",
        "ModifiedProperties.KeyDescription.OldValue", NULL};
    struct mh_slice sn, so;
    MH_TRY(mh_det_field(ev, new_paths, &sn));
    MH_TRY(mh_det_field(ev, old_paths, &so));
    struct keyset *kn = mh_malloc(sizeof *kn), *ko = mh_malloc(sizeof *ko);
    mh_status st = MH_OK;
    if (!kn || !ko) {
        st = MH_ENOMEM;
        goto out;
    }
    parse_keys(sn, kn);
    parse_keys(so, ko);
    /* the first credential of an application, or nothing added: not D5's case */
    if (ko->n == 0 || kn->n == 0) goto out;
    uint32_t n_new = 0, n_removed = 0;
    const char *first_new = NULL;
    for (size_t i = 0; i < kn->n; i++)
        if (!keyset_has(ko, kn->id[i])) {
            if (!first_new) first_new = kn->id[i];
            n_new++;
        }
    for (size_t i = 0; i < ko->n; i++) n_removed += !keyset_has(kn, ko->id[i]);
    if (!n_new) goto out;
    struct cred *c;
    bool created;
    MH_DET_SLOT(cx, &a->cred_idx, first_new, 36, a->creds, a->cap_creds, a->ncreds,
                MH_D5_MAX_CREDENTIALS, c, &created, st);
    if (st || !c) goto out;
    if (created) c->ev.time = MH_TIME_NONE;
    if (mh_det_evid_before(ev, &c->ev)) {
        MH_CHECK(mh_det_capture(cx, ev, &c->ev));
        if (actor) c->actor = actor;
        c->n_new = n_new;
        c->n_old = (uint32_t)ko->n;
        c->n_removed = n_removed;
        c->key_type = mh_det_intern(cx, kn->first_type);
    }
    if (!c->actor) c->actor = actor;
    if (!c->name) c->name = name;
    if (!c->app) c->app = app;
    if (!c->object) c->object = object;
    c->msi |= msi;
out:
    mh_free(kn);
    mh_free(ko);
    return st;
}

static mh_status feed_directory(struct appcred *a, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const target_paths[] = {"targetResources.id", "properties.targetResources.id",
                                               "Target.ID", NULL};
    static const char *const name_paths[] = {"targetResources.displayName",
                                             "properties.targetResources.displayName",
                                             "ExtendedProperties.targetName", "ObjectId", NULL};
    static const char *const app_paths[] = {
        "targetResources.modifiedProperties.AppId",
        "targetResources.modifiedProperties.AppPrincipalId",
        "targetResources.modifiedProperties.TargetId.ServicePrincipalNames",
        "properties.targetResources.modifiedProperties.AppId",
        "properties.targetResources.modifiedProperties.AppPrincipalId",
        "ModifiedProperties.AppId", "ModifiedProperties.AppPrincipalId",
        "ModifiedProperties.TargetId.ServicePrincipalNames", NULL};
    static const char *const client_obj_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.ObjectID",
        "properties.targetResources.modifiedProperties.ServicePrincipal.ObjectID",
        "ModifiedProperties.ServicePrincipal.ObjectID", NULL};
    static const char *const client_app_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.AppId",
        "properties.targetResources.modifiedProperties.ServicePrincipal.AppId",
        "ModifiedProperties.ServicePrincipal.AppId", NULL};
    static const char *const client_name_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.DisplayName",
        "properties.targetResources.modifiedProperties.ServicePrincipal.DisplayName",
        "ModifiedProperties.ServicePrincipal.DisplayName", NULL};
    static const char *const perm_paths[] = {
        "targetResources.modifiedProperties.AppRole.Value",
        "targetResources.modifiedProperties.AppRole.Id",
        "targetResources.modifiedProperties.ConsentAction.Permissions",
        "properties.targetResources.modifiedProperties.AppRole.Value",
        "properties.targetResources.modifiedProperties.AppRole.Id",
        "properties.targetResources.modifiedProperties.ConsentAction.Permissions",
        "ModifiedProperties.AppRole.Value", "ModifiedProperties.AppRole.Id",
        "ModifiedProperties.ConsentAction.Permissions", NULL};
    a->dir_first = tmin(a->dir_first, ev->time);
    struct mh_slice op;
    bool credential, role;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!is_app_management(op, &credential, &role)) return MH_OK;
    uint32_t object, app, name, actor;
    bool msi;
    if (role) { /* the client SP is in ServicePrincipal.*; the target is the resource */
        MH_TRY(guid_at(cx, ev, client_obj_paths, &object));
        MH_TRY(guid_at(cx, ev, client_app_paths, &app));
        MH_TRY(name_at(cx, ev, client_name_paths, &name));
    } else {
        MH_TRY(guid_at(cx, ev, target_paths, &object));
        MH_TRY(guid_at(cx, ev, app_paths, &app));
        MH_TRY(name_at(cx, ev, name_paths, &name));
    }
    if (app && mh_det_first_party(cx, mh_det_str(cx, app))) return MH_OK;
    MH_TRY(actor_key(cx, ev, &actor, &msi));
    uint32_t keys[3] = {name, app, object};
    bool grant = role || mh_slice_eq_cstr(op, "consent to application");
    uint32_t marker = grant ? mh_det_intern(cx, GRANT_MARKER) : 0, danger = 0;
    if (grant) {
        struct mh_slice perms;
        MH_TRY(mh_det_field(ev, perm_paths, &perms));
        if (mh_permset_find(&cx->dangerous, perms).len) danger = mh_det_intern(cx, DANGER_MARKER);
    }
    for (int k = 0; k < 3; k++) {
        MH_TRY(note_actor(cx, a, keys[k], actor, ev->time, ev->time));
        MH_TRY(note_actor(cx, a, keys[k], marker, ev->time, ev->time));
        MH_TRY(note_actor(cx, a, keys[k], danger, ev->time, ev->time));
    }
    if (!credential) return MH_OK;
    return feed_credential(a, cx, ev, name, app, object, actor, msi);
}

static mh_status ac_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct appcred *a = self;
    if (!cx->cfg.d5_enabled) return MH_OK;
    if (ev->kind == MH_SRC_DIRECTORY_AUDIT || ev->kind == MH_SRC_UAL_ENTRA_DIRECTORY)
        return feed_directory(a, cx, ev);
    if (mh_det_is_signin(ev->kind)) return feed_signin(a, cx, ev);
    return MH_OK;
}

/* ---- verdict ---- */

enum hist { H_UNKNOWN = 0, H_PARTIAL, H_COMPLETE };

static enum mh_level lower(enum mh_level l)
{
    return l > MH_LEVEL_INFORMATIONAL ? (enum mh_level)(l - 1) : l;
}

static mh_status ac_finish(void *self, struct mh_det_ctx *cx)
{
    struct appcred *a = self;
    const struct mh_detector_config *cf = &cx->cfg;
    mh_time dir_first = tmin(a->dir_first, a->st_dir_first);
    mh_time sp_first = tmin(a->sp_first, a->st_sp_first);
    uint32_t marker = mh_det_lookup(cx, GRANT_MARKER), danger_marker = mh_det_lookup(cx, DANGER_MARKER);
    for (size_t i = 0; i < a->ncreds; i++) {
        const struct cred *c = &a->creds[i];
        mh_time t = c->ev.time;
        uint32_t keys[3] = {c->name, c->app, c->object};

        /* dormancy */
        mh_time last = MH_TIME_NONE;
        for (int k = 0; k < 3; k++) {
            mh_time l = act_last_before(a, keys[k], t);
            if (l != MH_TIME_NONE && (last == MH_TIME_NONE || l > last)) last = l;
        }
        enum hist dormant = H_UNKNOWN;
        bool active = false;
        mh_time idle = 0;
        if (last != MH_TIME_NONE) {
            idle = t - last;
            if (idle >= cf->d5_dormant) dormant = H_COMPLETE;
            else active = true;
        } else if (sp_first != MH_TIME_NONE && sp_first < t) {
            idle = t - sp_first;
            if (idle >= cf->d5_dormant) dormant = H_COMPLETE;
            else if (idle >= cf->d5_min_history) dormant = H_PARTIAL;
        }

        /* actor history */
        enum hist newactor = H_UNKNOWN;
        bool known = false;
        for (int k = 0; k < 3; k++) {
            mh_time f = actor_first(a, keys[k], c->actor);
            if (f != MH_TIME_NONE && f < t - SAME_WORK) known = true;
        }
        mh_time hist = dir_first != MH_TIME_NONE && dir_first < t ? t - dir_first : 0;
        if (c->actor && !known) {
            if (hist >= cf->d5_actor_history) newactor = H_COMPLETE;
            else if (hist >= cf->d5_min_history) newactor = H_PARTIAL;
        }

        /* boosters */
        bool grant = granted_before(a, keys, 3, marker, t, cf->d5_grant_window);
        bool danger = false;
        for (int k = 0; k < 3 && danger_marker; k++) {
            mh_time f = actor_first(a, keys[k], danger_marker);
            if (f != MH_TIME_NONE && f <= t) danger = true;
        }
        struct mh_slice actor_text = mh_det_str(cx, c->actor);
        bool app_actor = actor_text.len > 4 && memcmp(actor_text.ptr, "app:", 4) == 0;
        uint32_t asn;
        enum addr_verdict addr = address_verdict(a, cf, c->ev.ent[MH_ENT_IP], t, &asn);
        bool new_addr = addr == A_NEW;
        bool boosted = grant || app_actor || danger || new_addr;

        bool added = c->n_removed == 0;
        enum mh_level lvl;
        if (dormant == H_COMPLETE) lvl = newactor ? MH_LEVEL_CRITICAL : MH_LEVEL_HIGH;
        else if (dormant == H_PARTIAL) lvl = newactor ? MH_LEVEL_HIGH : MH_LEVEL_MEDIUM;
        else if (newactor) lvl = MH_LEVEL_LOW;
        else if (boosted) lvl = MH_LEVEL_INFORMATIONAL; /* raised to low below */
        else continue;
        if (boosted && lvl < MH_LEVEL_CRITICAL) lvl = (enum mh_level)(lvl + 1);
        if (!added) lvl = lower(lvl);
        bool cert = mh_slice_eq_nocase(mh_det_str(cx, c->key_type),
                                       MH_SLICE_LIT("AsymmetricX509Cert"));
        if (c->msi && cert && lvl > MH_LEVEL_LOW) lvl = MH_LEVEL_LOW;

        struct mh_det_pending *d = mh_det_pend(cx, &rule_d5, lvl, &c->ev);
        static const char *const hname[] = {"unknown", "partial", "complete"};
        mh_det_pend_str(cx, d, "application", mh_det_str(cx, c->name));
        mh_det_pend_str(cx, d, "object_id", mh_det_str(cx, c->object));
        mh_det_pend_str(cx, d, "target_app_id", mh_det_str(cx, c->app));
        mh_det_pend_str(cx, d, "key_change", added ? MH_SLICE_LIT("added") : MH_SLICE_LIT("rotated"));
        mh_det_pend_num(cx, d, "new_keys", c->n_new);
        mh_det_pend_num(cx, d, "old_keys", c->n_old);
        mh_det_pend_num(cx, d, "removed_keys", c->n_removed);
        mh_det_pend_str(cx, d, "key_type", mh_det_str(cx, c->key_type));
        mh_det_pend_str(cx, d, "actor", mh_det_str(cx, c->actor));
        mh_det_pend_str(cx, d, "actor_history",
                        known ? MH_SLICE_LIT("known")
                              : newactor ? MH_SLICE_LIT("new") : MH_SLICE_LIT("unknown"));
        mh_det_pend_str(cx, d, "actor_history_coverage", mh_slice_cstr(hname[newactor]));
        mh_det_pend_num(cx, d, "directory_history_days", hist / USEC_DAY);
        mh_det_pend_str(cx, d, "dormancy",
                        active ? MH_SLICE_LIT("active") : mh_slice_cstr(hname[dormant]));
        mh_det_pend_num(cx, d, "idle_days", idle / USEC_DAY);
        mh_det_pend_str(cx, d, "last_signin",
                        last != MH_TIME_NONE ? MH_SLICE_LIT("seen") : MH_SLICE_LIT("none in coverage"));
        if (c->msi && cert) mh_det_pend_str(cx, d, "note", MH_SLICE_LIT("managed identity certificate"));
        static const char *const aname[] = {NULL, "unknown", "known", "new, known network", "new"};
        if (addr != A_NONE) mh_det_pend_str(cx, d, "actor_address", mh_slice_cstr(aname[addr]));
        if (asn) mh_det_pend_num(cx, d, "actor_asn", asn);
        if (boosted) {
            char b[80];
            int n = snprintf(b, sizeof b, "%s%s%s%s", grant ? ",grant_before" : "",
                             danger ? ",dangerous_permission" : "", app_actor ? ",app_actor" : "",
                             new_addr ? ",new_address" : "");
            mh_det_pend_str(cx, d, "boosters", mh_slice_make(b + 1, (size_t)n - 1));
        }
    }
    return MH_OK;
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

static mh_status ac_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct appcred *a = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    MH_CHECK(mh_db_prepare(db, "SELECT kind, first FROM d5_cover ORDER BY kind", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        int64_t kind = mh_db_column_int(q, 0);
        if (kind == 0) a->st_dir_first = mh_db_column_int(q, 1);
        else if (kind == 1) a->st_sp_first = mh_db_column_int(q, 1);
        else if (kind == 2) a->st_si_first = mh_db_column_int(q, 1);
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT key, first FROM d5_signin ORDER BY key, day", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t k;
        MH_CHECK(intern_col(cx, q, 0, &k));
        MH_CHECK(note_signin(cx, a, k, mh_db_column_int(q, 1)));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT key, actor, first, last FROM d5_actor ORDER BY key, actor",
                           &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t k, ac;
        MH_CHECK(intern_col(cx, q, 0, &k));
        MH_CHECK(intern_col(cx, q, 1, &ac));
        MH_CHECK(note_actor(cx, a, k, ac, mh_db_column_int(q, 2), mh_db_column_int(q, 3)));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT asn, first, last FROM d5_asn ORDER BY asn", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        int64_t asn = mh_db_column_int(q, 0);
        if (asn <= 0 || asn > UINT32_MAX) continue;
        MH_CHECK(note_asn(cx, a, (uint32_t)asn, mh_db_column_int(q, 1), mh_db_column_int(q, 2)));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT ip, asn, first, last FROM d5_address ORDER BY ip", &q,
                           cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t ip;
        int64_t asn = mh_db_column_int(q, 1);
        MH_CHECK(intern_col(cx, q, 0, &ip));
        MH_CHECK(note_address(cx, a, ip, asn > 0 && asn <= UINT32_MAX ? (uint32_t)asn : 0,
                              mh_db_column_int(q, 2), mh_db_column_int(q, 3)));
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status ac_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct appcred *a = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    mh_db *db = mh_state_db(stt);
    mh_time now = cx->run_last != MH_TIME_NONE ? cx->run_last : 0;
    if (!cx->cfg.d5_enabled) return MH_OK;
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO d5_cover VALUES(?1, ?2)", &q, cx->err));
    mh_time firsts[3] = {tmin(a->dir_first, a->st_dir_first), tmin(a->sp_first, a->st_sp_first),
                         tmin(a->si_first, a->st_si_first)};
    for (int k = 0; k < 3; k++) {
        if (firsts[k] == MH_TIME_NONE) continue;
        MH_CHECK(mh_db_bind_int(q, 1, k, cx->err));
        MH_CHECK(mh_db_bind_int(q, 2, firsts[k], cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    /* the merged sets are written whole: what was loaded is in memory */
    MH_CHECK(mh_db_exec(db, "DELETE FROM d5_signin; DELETE FROM d5_actor; DELETE FROM d5_address;"
                            " DELETE FROM d5_asn", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d5_signin VALUES(?1, ?2, ?3)", &q, cx->err));
    int64_t oldest = day_of(now - cx->cfg.d5_dormant) - 1;
    for (size_t i = 0; i < a->nacts; i++) {
        const struct appact *p = &a->acts[i];
        for (uint32_t j = 0; j < p->n; j++) {
            if (p->d[j].day < oldest) continue;
            MH_CHECK(mh_det_bind_str(cx, q, 1, p->key));
            MH_CHECK(mh_db_bind_int(q, 2, p->d[j].day, cx->err));
            MH_CHECK(mh_db_bind_int(q, 3, p->d[j].first, cx->err));
            MH_CHECK(mh_det_step(cx, q));
        }
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d5_actor VALUES(?1, ?2, ?3, ?4)", &q, cx->err));
    for (size_t i = 0; i < a->nacrs; i++) {
        const struct actrec *r = &a->acrs[i];
        if (now - r->last > cx->cfg.d5_actor_history) continue; /* retention */
        MH_CHECK(mh_det_bind_str(cx, q, 1, r->key));
        MH_CHECK(mh_det_bind_str(cx, q, 2, r->actor));
        MH_CHECK(mh_db_bind_int(q, 3, r->first, cx->err));
        MH_CHECK(mh_db_bind_int(q, 4, r->last, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d5_address VALUES(?1, ?2, ?3, ?4)", &q, cx->err));
    for (size_t i = 0; i < a->naddrs; i++) {
        const struct addrrec *r = &a->addrs[i];
        if (now - r->last > cx->cfg.d5_actor_history) continue; /* retention */
        MH_CHECK(mh_det_bind_str(cx, q, 1, r->ip));
        MH_CHECK(mh_db_bind_int(q, 2, r->asn, cx->err));
        MH_CHECK(mh_db_bind_int(q, 3, r->first, cx->err));
        MH_CHECK(mh_db_bind_int(q, 4, r->last, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d5_asn VALUES(?1, ?2, ?3)", &q, cx->err));
    for (size_t i = 0; i < a->nasns; i++) {
        const struct asnrec *r = &a->asns[i];
        if (now - r->last > cx->cfg.d5_actor_history) continue;
        MH_CHECK(mh_db_bind_int(q, 1, r->asn, cx->err));
        MH_CHECK(mh_db_bind_int(q, 2, r->first, cx->err));
        MH_CHECK(mh_db_bind_int(q, 3, r->last, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_appcred_ops = {
    "appcred", ac_create, ac_feed, ac_finish, ac_load, ac_save, ac_destroy,
};
