/*
 * correlate/chain.c -- D8 ephemeral service principal, application links, attacker context
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * Three jobs over directory, sign-in and mailbox events, all decided at finish:
 *
 * 1. D8 ephemeral service principal (detections.md §5; Sentinel
 *    SuspiciousServicePrincipalcreationactivity). Per service-principal OBJECT
 *    id: when it was created, given an app role, given credentials, signed in,
 *    deleted (earliest time of each). Created and deleted within d8.window
 *    with a role or credential step in between -> mh.d8.ephemeral_sp (medium;
 *    high when it also signed in). CI pipelines do this too (the trap).
 *    The role assignment names the CLIENT service principal in
 *    ServicePrincipal.ObjectID (the target resource is the resource SP, e.g.
 *    "Office 365 Exchange Online"); the others name it as the target.
 *
 * 2. Links for incidents (D7 chain). Sigma alerts carry the ACTOR of a
 *    directory change (the user or app that did it), not the application it
 *    changed; the weighted chain needs both. For every application-management
 *    operation (app / SP created, credentials added, app role granted,
 *    consent, delegated grant, owner added, SP deleted) this records links
 *    actor -> target (app id, else object id), and identities (timeless, once
 *    per pair): object id <-> app id <-> display name of the target and of an
 *    acting application (Graph initiatedBy.app; UAL "ServicePrincipal_<id>"),
 *    and service-principal sign-ins' servicePrincipalId <-> appId. The
 *    incident builder uses them to join "user U added a secret to app X" with
 *    "X created app Y" and "Y read 40 mailboxes" (the credential event names
 *    the Application object, the apps act as their service principal: the
 *    display name is often the only bridge). additionalDetails.AppId is not
 *    used: it names the calling application. First-party ids never link.
 *
 * 3. Attacker-context follow-ups (D13 and R2 context). Sign-in successes and
 *    mailbox activity (MailItemsAccessed Bind/Sync, Send) are aggregated per
 *    (IP or session, principal, kind) with their earliest record. At finish the
 *    IPs and sessions of alerts at or above context.seed_level (Sigma alerts
 *    via mh_detectors_add_finding, and the other detectors' findings) are the
 *    attacker context, and every aggregate in it becomes a detection:
 *      Sync in the context (session match)   mh.d13.sync_in_attacker_context  high
 *      Sync in the context (IP only)         same id                          medium
 *      mail read in the context              mh.ctx.mail_access_in_context    medium
 *                                            (low on an IP-only match)
 *      mail sent in the context              mh.ctx.send_in_context           medium / low
 *      sign-in success from a context IP     mh.ctx.signin_in_context         low
 *    An owner's desktop Outlook behind the attacker's NAT matches by IP only,
 *    hence the lower levels without a session match (detections.md D13).
 *    An aggregate of ONE record that another detection already reports is
 *    not repeated.
 *
 * Limits: MH_D8_MAX_OBJECTS, MH_CTX_MAX_ENTRIES (new keys beyond are not
 * tracked), links share MH_DET_MAX_LINKS. Nothing persisted. Not thread-safe.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "normalize/ident.h"

static const char *const tags_d8[] = {"attack.persistence", "attack.t1098.001",
                                      "attack.defense-evasion", "attack.t1070", "mailhound.d8"};
static const struct mh_det_rule rule_d8 = {
    "mh.d8.ephemeral_sp", "Service principal created, used and deleted within minutes", "D8",
    "A service principal was created, given an app role or credentials (and signed in) and "
    "deleted again within the D8 window: a throw-away identity",
    tags_d8, 5};
static const char *const tags_d13[] = {"attack.collection", "attack.t1114.002",
                                       "mailhound.d13"};
static const struct mh_det_rule rule_sync = {
    "mh.d13.sync_in_attacker_context", "Mailbox folders synced in an attacker context", "D13",
    "MailItemsAccessed Sync from the session or address of an attacker: every item of the "
    "synced folders must be assumed taken",
    tags_d13, 3};
static const char *const tags_ctx_mail[] = {"attack.collection", "attack.t1114.002"};
static const struct mh_det_rule rule_mail = {
    "mh.ctx.mail_access_in_context", "Mail read from an attacker's session or address", NULL,
    "MailItemsAccessed Bind records from the session or IP address of a high-level finding",
    tags_ctx_mail, 2};
static const char *const tags_ctx_send[] = {"attack.exfiltration", "attack.t1114.002"};
static const struct mh_det_rule rule_send = {
    "mh.ctx.send_in_context", "Mail sent from an attacker's session or address", NULL,
    "Send / SendAs / SendOnBehalf from the session or IP address of a high-level finding",
    tags_ctx_send, 2};
static const char *const tags_ctx_login[] = {"attack.initial-access", "attack.t1078.004"};
static const struct mh_det_rule rule_login = {
    "mh.ctx.signin_in_context", "Sign-in from an attacker's address", NULL,
    "Successful sign-in from the IP address of a high-level finding", tags_ctx_login, 2};

/* ---- directory operations ---- */

enum dir_op {
    OP_NONE = 0,
    OP_APP_CREATED,
    OP_SP_CREATED,
    OP_CREDENTIAL,
    OP_ROLE,
    OP_CONSENT,
    OP_GRANT,
    OP_OWNER,
    OP_SP_DELETED,
    OP_USER, /* a user created or given a role: the target is a user */
};

static const struct {
    const char *key;
    enum dir_op op;
    const char *why;
} dir_ops[] = {
    {"add application", OP_APP_CREATED, "created application"},
    {"add service principal", OP_SP_CREATED, "created service principal"},
    {"add service principal credentials", OP_CREDENTIAL, "added credentials"},
    {"update application - certificates and secrets management", OP_CREDENTIAL,
     "added credentials"},
    {"add app role assignment to service principal", OP_ROLE, "granted app role"},
    {"consent to application", OP_CONSENT, "consented"},
    {"add delegated permission grant", OP_GRANT, "granted delegated permission"},
    {"add oauth2permissiongrant", OP_GRANT, "granted delegated permission"},
    {"add owner to application", OP_OWNER, "added owner"},
    {"add owner to service principal", OP_OWNER, "added owner"},
    {"delete service principal", OP_SP_DELETED, "deleted service principal"},
    {"remove service principal", OP_SP_DELETED, "deleted service principal"},
    {"add user", OP_USER, "created user"},
    {"add member to role", OP_USER, "added to role"},
    {"add eligible member to role", OP_USER, "added to role"},
};

/* D8 timeline of one service-principal object. */
struct spobj {
    uint32_t object;
    struct mh_det_evid created; /* time MH_TIME_NONE: not seen */
    mh_time deleted, role, cred, signin;
};

enum ctx_kind { K_LOGIN = 0, K_BIND, K_SYNC, K_SEND };

struct ctxent {
    uint8_t by_session; /* 0: ctx is an IP, 1: a session */
    uint8_t kind;
    uint32_t ctx, principal;
    mh_time last;
    uint64_t count;
    struct mh_det_evid ev;
};

struct chain {
    struct mh_map sp_idx, ctx_idx;
    struct spobj *sps;
    size_t nsps, cap_sps;
    struct ctxent *ents;
    size_t nents, cap_ents;
};

static mh_status ch_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct chain *c = mh_calloc(1, sizeof *c);
    if (!c) return MH_ENOMEM;
    mh_map_init(&c->sp_idx, MH_D8_MAX_OBJECTS, false);
    mh_map_init(&c->ctx_idx, MH_CTX_MAX_ENTRIES, false);
    *self = c;
    return MH_OK;
}

static void ch_destroy(void *self)
{
    struct chain *c = self;
    mh_map_fini(&c->sp_idx);
    mh_map_fini(&c->ctx_idx);
    mh_free(c->sps);
    mh_free(c->ents);
    mh_free(c);
}

static bool is_hex(char ch)
{
    return (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') || (ch >= 'A' && ch <= 'F');
}

/* First 8-4-4-4-12 GUID inside text, canonical (lower-case) into out. */
static bool find_guid(struct mh_slice s, char out[37])
{
    for (size_t i = 0; i + 36 <= s.len; i++) {
        if (!is_hex(s.ptr[i]) || (i > 0 && is_hex(s.ptr[i - 1]))) continue;
        struct mh_guid g;
        if (mh_guid_parse(s.ptr + i, 36, &g) == MH_OK &&
            (i + 36 == s.len || !is_hex(s.ptr[i + 36]))) {
            mh_guid_format(&g, out);
            return true;
        }
    }
    return false;
}

static mh_status guid_at(struct mh_det_ctx *cx, struct mh_event *ev, const char *const *paths,
                         uint32_t *out)
{
    struct mh_slice s;
    char g[37];
    *out = 0;
    MH_TRY(mh_det_field(ev, paths, &s));
    if (s.len && find_guid(s, g)) *out = mh_det_intern(cx, mh_slice_make(g, 36));
    return MH_OK;
}

/* Lower-cased display name (JSON quotes stripped) as a bridge key; names
 * shorter than 4 characters link nothing. */
static mh_status name_at(struct mh_det_ctx *cx, struct mh_event *ev, const char *const *paths,
                         uint32_t *out)
{
    struct mh_slice s;
    *out = 0;
    MH_TRY(mh_det_field(ev, paths, &s));
    while (s.len && (s.ptr[0] == '"' || s.ptr[0] == ' ')) s.ptr++, s.len--;
    while (s.len && (s.ptr[s.len - 1] == '"' || s.ptr[s.len - 1] == ' ')) s.len--;
    if (s.len >= 4) *out = mh_det_intern_lower(cx, s);
    return MH_OK;
}

static mh_status get_sp(struct mh_det_ctx *cx, struct chain *c, uint32_t object,
                        struct spobj **out)
{
    struct spobj *s;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &c->sp_idx, &object, sizeof object, c->sps, c->cap_sps, c->nsps,
                MH_D8_MAX_OBJECTS, s, &created, st);
    if (!st && created) {
        s->object = object;
        s->created.time = MH_TIME_NONE;
        s->deleted = s->role = s->cred = s->signin = MH_TIME_NONE;
    }
    *out = s;
    return st;
}

static void tmin_into(mh_time *dst, mh_time t)
{
    if (*dst == MH_TIME_NONE || t < *dst) *dst = t;
}

/* Actor of a directory event as link keys (user, or acting app and its object). */
static mh_status actor_keys(struct mh_det_ctx *cx, struct mh_event *ev, uint32_t *au, uint32_t *aa,
                            uint32_t *ao)
{
    static const char *const actor_sp_paths[] = {"initiatedBy.app.servicePrincipalId",
                                                 "properties.initiatedBy.app.servicePrincipalId",
                                                 "InitiatedBy.app.servicePrincipalId", NULL};
    struct mh_slice user, actor_app;
    char g[37];
    *au = *aa = *ao = 0;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &actor_app));
    if (user.len > 17 &&
        mh_slice_eq_nocase(mh_slice_make(user.ptr, 17), MH_SLICE_LIT("ServicePrincipal_")) &&
        find_guid(mh_slice_make(user.ptr + 17, user.len - 17), g)) {
        *ao = mh_det_intern(cx, mh_slice_make(g, 36));
        /* alerts name this actor by the whole user string: tie it to the object */
        MH_TRY(mh_det_identity(cx, MH_KEY_USER, mh_det_intern_lower(cx, user), MH_KEY_OBJECT, *ao,
                               ev->time, "same service principal"));
    } else
        *au = mh_det_intern_lower(cx, user);
    if (actor_app.len && !mh_det_first_party(cx, actor_app)) {
        *aa = mh_det_intern(cx, actor_app);
        uint32_t sp;
        MH_TRY(guid_at(cx, ev, actor_sp_paths, &sp));
        if (sp) *ao = sp;
    }
    return MH_OK;
}

/* "Add user" / "Add member to role": actor -> the user (created or promoted). */
static mh_status feed_user_op(struct mh_det_ctx *cx, struct mh_event *ev, const char *why)
{
    static const char *const upn_paths[] = {"targetResources.userPrincipalName",
                                            "properties.targetResources.userPrincipalName",
                                            "TargetResources.userPrincipalName", "ObjectId", NULL};
    struct mh_slice upn;
    MH_TRY(mh_det_field(ev, upn_paths, &upn));
    if (!upn.len || !memchr(upn.ptr, '@', upn.len)) return MH_OK;
    uint32_t target = mh_det_intern_lower(cx, upn), au, aa, ao;
    MH_TRY(actor_keys(cx, ev, &au, &aa, &ao));
    if (au) MH_TRY(mh_det_link(cx, MH_KEY_USER, au, MH_KEY_USER, target, ev->time, why));
    if (aa) MH_TRY(mh_det_link(cx, MH_KEY_APP, aa, MH_KEY_USER, target, ev->time, why));
    else if (ao) MH_TRY(mh_det_link(cx, MH_KEY_OBJECT, ao, MH_KEY_USER, target, ev->time, why));
    return MH_OK;
}

static mh_status feed_directory(struct chain *c, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const target_paths[] = {"targetResources.id", "properties.targetResources.id",
                                               "TargetResources.id", "Target.ID", "ObjectId", NULL};
    static const char *const client_obj_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.ObjectID",
        "properties.targetResources.modifiedProperties.ServicePrincipal.ObjectID",
        "ModifiedProperties.ServicePrincipal.ObjectID", NULL};
    static const char *const client_app_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.AppId",
        "properties.targetResources.modifiedProperties.ServicePrincipal.AppId",
        "ModifiedProperties.ServicePrincipal.AppId", NULL};
    static const char *const app_paths[] = {
        /* not additionalDetails.AppId: it names the CALLING application */
        "targetResources.modifiedProperties.AppId", "targetResources.modifiedProperties.AppPrincipalId",
        "targetResources.modifiedProperties.TargetId.ServicePrincipalNames",
        "properties.targetResources.modifiedProperties.AppId",
        "properties.targetResources.modifiedProperties.AppPrincipalId",
        "properties.targetResources.modifiedProperties.TargetId.ServicePrincipalNames",
        "ModifiedProperties.AppId", "ModifiedProperties.AppPrincipalId",
        "ModifiedProperties.TargetId.ServicePrincipalNames", NULL};
    struct mh_slice op;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    size_t k = 0;
    for (; k < sizeof dir_ops / sizeof dir_ops[0]; k++)
        if (mh_slice_eq_cstr(op, dir_ops[k].key)) break;
    if (k == sizeof dir_ops / sizeof dir_ops[0]) return MH_OK;
    enum dir_op kind = dir_ops[k].op;
    if (kind == OP_USER) return feed_user_op(cx, ev, dir_ops[k].why);

    static const char *const target_name_paths[] = {"targetResources.displayName",
                                                    "properties.targetResources.displayName",
                                                    "TargetResources.displayName", NULL};
    static const char *const client_name_paths[] = {
        "targetResources.modifiedProperties.ServicePrincipal.DisplayName",
        "properties.targetResources.modifiedProperties.ServicePrincipal.DisplayName",
        "ModifiedProperties.ServicePrincipal.DisplayName", NULL};
    static const char *const actor_name_paths[] = {"initiatedBy.app.displayName",
                                                   "properties.initiatedBy.app.displayName",
                                                   "InitiatedBy.app.displayName", NULL};
    uint32_t object = 0, app = 0, name = 0;
    if (kind == OP_ROLE) { /* the client SP is in ServicePrincipal.*; the target is the resource */
        MH_TRY(guid_at(cx, ev, client_obj_paths, &object));
        MH_TRY(guid_at(cx, ev, client_app_paths, &app));
        MH_TRY(name_at(cx, ev, client_name_paths, &name));
    } else {
        MH_TRY(guid_at(cx, ev, target_paths, &object));
        MH_TRY(guid_at(cx, ev, app_paths, &app));
        MH_TRY(name_at(cx, ev, target_name_paths, &name));
    }
    if (app && mh_det_first_party(cx, mh_det_str(cx, app))) app = object = name = 0;

    /* actor: a user, an application (Graph initiatedBy.app), or in the UAL a
       "ServicePrincipal_<object id>" user */
    uint32_t au, aa, ao, an = 0;
    MH_TRY(actor_keys(cx, ev, &au, &aa, &ao));
    if (aa) MH_TRY(name_at(cx, ev, actor_name_paths, &an));
    /* identities (timeless): an object and its app id, a name and its ids */
    MH_TRY(mh_det_identity(cx, MH_KEY_OBJECT, object, MH_KEY_APP, app, ev->time, "same application"));
    MH_TRY(mh_det_identity(cx, MH_KEY_OBJECT, object, MH_KEY_NAME, name, ev->time, "same name"));
    MH_TRY(mh_det_identity(cx, MH_KEY_APP, app, MH_KEY_NAME, name, ev->time, "same name"));
    MH_TRY(mh_det_identity(cx, MH_KEY_APP, aa, MH_KEY_OBJECT, ao, ev->time, "same application"));
    MH_TRY(mh_det_identity(cx, MH_KEY_APP, aa, MH_KEY_NAME, an, ev->time, "same name"));
    /* the action: actor -> target */
    const char *why = dir_ops[k].why;
    uint32_t target = app ? app : object;
    enum mh_key_kind tk = app ? MH_KEY_APP : MH_KEY_OBJECT;
    if (target) {
        if (au) MH_TRY(mh_det_link(cx, MH_KEY_USER, au, tk, target, ev->time, why));
        if (aa) MH_TRY(mh_det_link(cx, MH_KEY_APP, aa, tk, target, ev->time, why));
        else if (ao) MH_TRY(mh_det_link(cx, MH_KEY_OBJECT, ao, tk, target, ev->time, why));
    }

    /* D8 timeline */
    if (!cx->cfg.d8_enabled || !object) return MH_OK;
    if (kind != OP_SP_CREATED && kind != OP_ROLE && kind != OP_CREDENTIAL &&
        kind != OP_SP_DELETED)
        return MH_OK;
    struct spobj *s;
    MH_TRY(get_sp(cx, c, object, &s));
    if (!s) return MH_OK;
    switch (kind) {
    case OP_SP_CREATED:
        if (s->created.time == MH_TIME_NONE || ev->time < s->created.time)
            MH_TRY(mh_det_capture(cx, ev, &s->created));
        break;
    case OP_ROLE: tmin_into(&s->role, ev->time); break;
    case OP_CREDENTIAL: tmin_into(&s->cred, ev->time); break;
    default: tmin_into(&s->deleted, ev->time); break;
    }
    return MH_OK;
}

static mh_status feed_sp_signin(struct chain *c, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const obj_paths[] = {"properties.servicePrincipalId", "servicePrincipalId",
                                            "ServicePrincipalId", NULL};
    uint32_t object;
    MH_TRY(guid_at(cx, ev, obj_paths, &object));
    if (!object) return MH_OK;
    struct mh_slice app;
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    if (app.len && !mh_det_first_party(cx, app))
        MH_TRY(mh_det_identity(cx, MH_KEY_OBJECT, object, MH_KEY_APP, mh_det_intern(cx, app), ev->time,
                               "same application"));
    /* only objects already followed or to be followed: a lookup first keeps
       the table to SPs that appear in directory events when those came first */
    if (!cx->cfg.d8_enabled) return MH_OK;
    struct spobj *s;
    MH_TRY(get_sp(cx, c, object, &s));
    if (s) tmin_into(&s->signin, ev->time);
    return MH_OK;
}

static mh_status put_ctx(struct mh_det_ctx *cx, struct chain *c, uint8_t by_session,
                         uint32_t ctxv, uint32_t principal, enum ctx_kind kind, struct mh_event *ev)
{
    if (!ctxv) return MH_OK;
    uint32_t key[4] = {by_session, ctxv, principal, (uint32_t)kind};
    struct ctxent *x;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &c->ctx_idx, key, sizeof key, c->ents, c->cap_ents, c->nents,
                MH_CTX_MAX_ENTRIES, x, &created, st);
    if (st || !x) return st;
    if (created) {
        x->by_session = by_session;
        x->kind = (uint8_t)kind;
        x->ctx = ctxv;
        x->principal = principal;
        x->ev.time = MH_TIME_NONE;
        x->last = MH_TIME_NONE;
    }
    x->count++;
    if (x->last == MH_TIME_NONE || ev->time > x->last) x->last = ev->time;
    if (x->ev.time == MH_TIME_NONE || ev->time < x->ev.time) MH_TRY(mh_det_capture(cx, ev, &x->ev));
    return MH_OK;
}

static mh_status feed_context(struct chain *c, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const mat_paths[] = {"OperationProperties.MailAccessType", NULL};
    enum ctx_kind kind;
    uint32_t principal;
    struct mh_slice ip, sess, op;
    if (mh_det_is_signin(ev->kind) || ev->kind == MH_SRC_UAL_ENTRA_LOGON) {
        if (ev->kind == MH_SRC_SIGNIN_SERVICE_PRINCIPAL || ev->kind == MH_SRC_SIGNIN_MANAGED_IDENTITY)
            return MH_OK;
        bool has;
        int64_t code;
        MH_TRY(mh_det_error_code(cx, ev, &has, &code));
        if (!has || code != 0) return MH_OK;
        struct mh_slice user;
        MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
        principal = mh_det_intern_lower(cx, user);
        kind = K_LOGIN;
    } else if (ev->kind == MH_SRC_UAL_MAILBOX) {
        MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
        if (mh_slice_eq_cstr(op, "mailitemsaccessed")) {
            struct mh_slice mat;
            MH_TRY(mh_det_field(ev, mat_paths, &mat));
            kind = mh_slice_eq_nocase(mat, MH_SLICE_LIT("Sync")) ? K_SYNC : K_BIND;
        } else if (mh_slice_eq_cstr(op, "send") || mh_slice_eq_cstr(op, "sendas") ||
                   mh_slice_eq_cstr(op, "sendonbehalf")) {
            kind = K_SEND;
        } else {
            return MH_OK;
        }
        struct mh_slice mb;
        MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mb));
        if (!mb.len) MH_TRY(mh_det_entity(ev, MH_ENT_USER, &mb));
        principal = mh_det_intern_lower(cx, mb);
    } else {
        return MH_OK;
    }
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    MH_TRY(put_ctx(cx, c, 0, mh_det_intern(cx, ip), principal, kind, ev));
    if (kind != K_LOGIN) {
        MH_TRY(mh_det_entity(ev, MH_ENT_SESSION_ID, &sess));
        MH_TRY(put_ctx(cx, c, 1, mh_det_intern(cx, sess), principal, kind, ev));
    }
    return MH_OK;
}

static mh_status ch_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct chain *c = self;
    if (ev->kind == MH_SRC_DIRECTORY_AUDIT || ev->kind == MH_SRC_UAL_ENTRA_DIRECTORY)
        return feed_directory(c, cx, ev);
    if (ev->kind == MH_SRC_SIGNIN_SERVICE_PRINCIPAL) MH_TRY(feed_sp_signin(c, cx, ev));
    if (cx->cfg.ctx_enabled) return feed_context(c, cx, ev);
    return MH_OK;
}

static bool within(mh_time t, mh_time a, mh_time b)
{
    return t != MH_TIME_NONE && t >= a && t <= b;
}

static mh_status finish_d8(struct chain *c, struct mh_det_ctx *cx)
{
    for (size_t i = 0; i < c->nsps; i++) {
        const struct spobj *s = &c->sps[i];
        mh_time a = s->created.time, b = s->deleted;
        if (a == MH_TIME_NONE || b == MH_TIME_NONE || b < a || b - a > cx->cfg.d8_window)
            continue;
        bool role = within(s->role, a, b), cred = within(s->cred, a, b);
        bool signin = within(s->signin, a, b);
        if (!role && !cred) continue;
        struct mh_det_pending *p =
            mh_det_pend(cx, &rule_d8, signin ? MH_LEVEL_HIGH : MH_LEVEL_MEDIUM, &s->created);
        if (!p) continue;
        p->last = b;
        mh_det_pend_str(cx, p, "service_principal", mh_det_str(cx, s->object));
        mh_det_pend_num(cx, p, "lifetime_seconds", (b - a) / MH_USEC_PER_SEC);
        char steps[64];
        int n = snprintf(steps, sizeof steps, "created%s%s%s,deleted", role ? ",app_role" : "",
                         cred ? ",credentials" : "", signin ? ",signin" : "");
        mh_det_pend_str(cx, p, "steps", mh_slice_make(steps, (size_t)n));
    }
    return MH_OK;
}

static mh_status finish_ctx(struct chain *c, struct mh_det_ctx *cx)
{
    mh_status st = MH_OK;
    struct mh_map alerted; /* evidence records the other detections already point at */
    if (!cx->seeds.n) return MH_OK;
    mh_map_init(&alerted, MH_DET_MAX_PENDING, false);
    for (size_t i = 0; i < cx->npending; i++) {
        if (cx->pending[i].unmet || cx->pending[i].level == MH_LEVEL_INFORMATIONAL) continue;
        const struct mh_source_ref *r = &cx->pending[i].ev.ref;
        uint64_t k[3] = {r->file, r->record, r->offset};
        struct mh_map_entry *e;
        st = mh_map_put(&alerted, (const char *)k, sizeof k, &e, NULL);
        if (st == MH_ELIMIT) st = MH_OK;
        if (st) goto out;
    }
    for (size_t i = 0; i < c->nents; i++) {
        const struct ctxent *x = &c->ents[i];
        if (!mh_det_seeded(cx, x->by_session ? "session" : "ip", mh_det_str(cx, x->ctx))) continue;
        /* a single record that already carries a detection adds nothing */
        uint64_t k[3] = {x->ev.ref.file, x->ev.ref.record, x->ev.ref.offset};
        if (x->count == 1 && mh_map_get(&alerted, (const char *)k, sizeof k)) continue;
        const struct mh_det_rule *r;
        enum mh_level lvl;
        switch (x->kind) {
        case K_SYNC:
            r = &rule_sync;
            lvl = x->by_session ? MH_LEVEL_HIGH : MH_LEVEL_MEDIUM;
            break;
        case K_BIND:
            r = &rule_mail;
            lvl = x->by_session ? MH_LEVEL_MEDIUM : MH_LEVEL_LOW;
            break;
        case K_SEND:
            r = &rule_send;
            lvl = x->by_session ? MH_LEVEL_MEDIUM : MH_LEVEL_LOW;
            break;
        default:
            r = &rule_login;
            lvl = MH_LEVEL_LOW;
            break;
        }
        struct mh_det_pending *p = mh_det_pend(cx, r, lvl, &x->ev);
        if (!p) continue;
        p->last = x->last;
        p->count = x->count;
        mh_det_pend_str(cx, p, "context", x->by_session ? MH_SLICE_LIT("session")
                                                        : MH_SLICE_LIT("ip"));
        mh_det_pend_str(cx, p, "context_value", mh_det_str(cx, x->ctx));
    }
out:
    mh_map_fini(&alerted);
    return st;
}

static mh_status ch_finish(void *self, struct mh_det_ctx *cx)
{
    struct chain *c = self;
    /* the other detectors have decided: their high findings seed the context
       (D8's own, added below, do not) */
    MH_TRY(mh_det_seed_from_pending(cx));
    if (cx->cfg.d8_enabled) MH_TRY(finish_d8(c, cx));
    if (cx->cfg.ctx_enabled) MH_TRY(finish_ctx(c, cx));
    return MH_OK;
}

const struct mh_det_ops mh_det_chain_ops = {
    "chain", ch_create, ch_feed, ch_finish, NULL, NULL, ch_destroy,
};
