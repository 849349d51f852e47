/*
 * normalize/entity.c -- canonical entities of an event (user, IP, ids, operation)
 *
 * Pipeline: ingest -> [normalize] -> match -> correlate. Detections and
 * correlation group and join on these values, so each has ONE definition
 * here, whatever the source (../shared/docs/log-formats.md §11, §12):
 *
 *   entity         paths, first non-empty string/number wins     canonical form
 *   user           UAL: UserId, UserIds                           as written
 *                  Graph activity: UserId (an object id)          GUID lower-case
 *                  sign-ins: userPrincipalName, UserPrincipalName,
 *                    properties.userPrincipalName
 *                  audits: initiatedBy.user.userPrincipalName (also
 *                    InitiatedBy., properties.initiatedBy.)
 *   ip             ClientIP, ClientIPAddress, Client_IPAddress,    mh_ip_canon: port,
 *                  ActorIpAddress, initiatedBy.user.ipAddress       brackets, ::ffff:
 *                  (+ InitiatedBy., properties.), callerIpAddress,   stripped; RFC 5952;
 *                  ipAddress, IPAddress, properties.ipAddress;      invalid: trimmed
 *                  trace: FromIP, original_client_ip, client_ip      text
 *   app_id         AppId, appId, ApplicationId, properties.appId,  GUID lower-case
 *                  initiatedBy.app.appId (+ variants)               (else as written)
 *                  -- never AppAccessContext.APIId (the API called)
 *   client_app_id  ClientAppId, AppAccessContext.ClientAppId        GUID lower-case
 *   session_id     SessionId, AppAccessContext.AADSessionId,        GUID lower-case
 *                  sessionId, properties.sessionId,
 *                  DeviceProperties.SessionId
 *   token_id       sign-ins: id, Id, properties.id, then the UTI    lower-case GUID of
 *                  (uniqueTokenIdentifier...); UAL STS logons: Id;  the sign-in id; an
 *                  other UAL: AppAccessContext.UniqueTokenId        undecodable UTI as
 *                  (decoded per §12); Graph activity:               written (case kept)
 *                  SignInActivityId (the token's uti, decoded)
 *   mailbox        MailboxOwnerUPN                                  as written
 *   tenant         OrganizationId, tenantId, AADTenantId,           GUID lower-case
 *                  TokenTenantId, (properties.)resourceTenantId,
 *                  ResourceTenantId, homeTenantId, HomeTenantId,
 *                  tenant_id -- never LA TenantId (the workspace);
 *                  Graph activity: AadTenantId, properties.tenantId
 *   operation      Operation, Operations, activityDisplayName,      as written
 *                  properties.activityDisplayName, OperationName,
 *                  ActivityDisplayName, operationName; Graph
 *                  activity: RequestMethod (the URI stays a field)
 *   operation_key  mh_operation_key(operation)                      §11.1
 *
 * Values are cached per event (ent_done bit + slice; a NULL slice caches
 * "absent"). Canonical text lives in the normalizer arena.
 * Threading: the event's normalizer; one thread at a time.
 */
#include <string.h>

#include "normalize/event.h"
#include "normalize/ident.h"
#include "normalize/internal.h"

static const char *const entity_names[MH_ENT__COUNT] = {
    [MH_ENT_USER] = "user",
    [MH_ENT_IP] = "ip",
    [MH_ENT_APP_ID] = "app_id",
    [MH_ENT_CLIENT_APP_ID] = "client_app_id",
    [MH_ENT_SESSION_ID] = "session_id",
    [MH_ENT_TOKEN_ID] = "token_id",
    [MH_ENT_MAILBOX] = "mailbox",
    [MH_ENT_TENANT] = "tenant",
    [MH_ENT_OPERATION] = "operation",
    [MH_ENT_OPERATION_KEY] = "operation_key",
};

const char *mh_entity_name(enum mh_entity e)
{
    return (unsigned)e < MH_ENT__COUNT ? entity_names[e] : "unknown";
}

#define PATHS(...) ((const char *const[]){__VA_ARGS__, NULL})

static bool is_ual(enum mh_source_kind k)
{
    return k >= MH_SRC_UAL_EXCHANGE_ADMIN && k <= MH_SRC_UAL_OTHER;
}

static bool is_signin(enum mh_source_kind k)
{
    return k >= MH_SRC_SIGNIN_INTERACTIVE && k <= MH_SRC_SIGNIN_MANAGED_IDENTITY;
}

struct first {
    struct mh_slice s;
    bool got;
};

static bool take_nonempty(void *ctx, const struct mh_value *v)
{
    struct first *f = ctx;
    if (v->type != MH_JSTR && v->type != MH_JNUM) return false;
    struct mh_slice t = mh_slice_trim(v->text);
    if (t.len == 0) return false;
    f->s = t;
    f->got = true;
    return true;
}

/* First non-empty string/number among paths; MH_ENOTFOUND if none. */
static mh_status first_of(struct mh_event *ev, const char *const *paths, struct mh_slice *out)
{
    for (const char *const *p = paths; *p; p++) {
        struct first f = {MH_SLICE_NULL, false};
        mh_status st = mh_event_get(ev, *p, strlen(*p), take_nonempty, &f, NULL);
        if (st) return st;
        if (f.got) {
            *out = f.s;
            return MH_OK;
        }
    }
    return MH_ENOTFOUND;
}

static mh_status copy_out(struct mh_event *ev, const char *s, size_t n, struct mh_slice *out)
{
    void *mem;
    mh_status st = mh_nz_alloc(ev->nz, n ? n : 1, &mem);
    if (st) return st;
    memcpy(mem, s, n);
    *out = mh_slice_make(mem, n);
    return MH_OK;
}

/* A GUID in canonical lower-case form; anything else unchanged. */
static mh_status guid_canon(struct mh_event *ev, struct mh_slice in, struct mh_slice *out)
{
    struct mh_guid g;
    if (mh_guid_parse(in.ptr, in.len, &g) != MH_OK) {
        *out = in;
        return MH_OK;
    }
    /* 36 bytes that parsed, no upper-case digit: already the canonical text */
    bool upper = in.len != 36;
    for (size_t i = 0; i < in.len && !upper; i++) upper = in.ptr[i] >= 'A' && in.ptr[i] <= 'F';
    if (!upper) {
        *out = in;
        return MH_OK;
    }
    char buf[37];
    return copy_out(ev, buf, mh_guid_format(&g, buf), out);
}

static mh_status uti_canon(struct mh_event *ev, struct mh_slice in, struct mh_slice *out)
{
    struct mh_guid g;
    if (mh_uti_decode(in.ptr, in.len, &g) == MH_UTI_OPAQUE) {
        *out = in;
        return MH_OK;
    }
    char buf[37];
    size_t n = mh_guid_format(&g, buf);
    return copy_out(ev, buf, n, out);
}

static mh_status find_user(struct mh_event *ev, struct mh_slice *out)
{
    if (is_signin(ev->kind))
        return first_of(
            ev, PATHS("userPrincipalName", "UserPrincipalName", "properties.userPrincipalName"),
            out);
    if (ev->kind == MH_SRC_DIRECTORY_AUDIT)
        return first_of(ev,
                        PATHS("initiatedBy.user.userPrincipalName",
                              "InitiatedBy.user.userPrincipalName",
                              "properties.initiatedBy.user.userPrincipalName"),
                        out);
    if (ev->kind == MH_SRC_MESSAGE_TRACE) return MH_ENOTFOUND;
    if (ev->kind == MH_SRC_GRAPH_ACTIVITY) { /* the object id: Graph logs carry no UPN */
        struct mh_slice s;
        mh_status st = first_of(ev, PATHS("UserId", "userId", "properties.userId"), &s);
        return st ? st : guid_canon(ev, s, out);
    }
    if (is_ual(ev->kind)) return first_of(ev, PATHS("UserId", "UserIds"), out);
    return first_of(ev, PATHS("UserId", "userPrincipalName", "UserPrincipalName"), out);
}

static mh_status find_ip(struct mh_event *ev, struct mh_slice *in)
{
    if (ev->kind == MH_SRC_MESSAGE_TRACE)
        return first_of(ev, PATHS("FromIP", "fromIP", "original_client_ip", "client_ip"), in);
    return first_of(ev,
                    PATHS("ClientIP", "ClientIPAddress", "Client_IPAddress", "ActorIpAddress",
                          "initiatedBy.user.ipAddress", "InitiatedBy.user.ipAddress",
                          "properties.initiatedBy.user.ipAddress", "callerIpAddress", "ipAddress",
                          "IPAddress", "properties.ipAddress"),
                    in);
}

static mh_status find_token(struct mh_event *ev, struct mh_slice *out)
{
    struct mh_slice s;
    mh_status st;
    if (is_signin(ev->kind)) {
        st = first_of(ev, PATHS("id", "Id", "properties.id"), &s);
        if (st == MH_OK) return guid_canon(ev, s, out);
        if (st != MH_ENOTFOUND) return st;
        st = first_of(ev,
                      PATHS("uniqueTokenIdentifier", "UniqueTokenIdentifier",
                            "properties.uniqueTokenIdentifier"),
                      &s);
        return st ? st : uti_canon(ev, s, out);
    }
    if (ev->kind == MH_SRC_UAL_ENTRA_LOGON) {
        st = first_of(ev, PATHS("Id", "IntraSystemId"), &s);
        return st ? st : guid_canon(ev, s, out);
    }
    if (is_ual(ev->kind) || ev->kind == MH_SRC_UNKNOWN) {
        st = first_of(ev, PATHS("AppAccessContext.UniqueTokenId"), &s);
        return st ? st : uti_canon(ev, s, out);
    }
    if (ev->kind == MH_SRC_GRAPH_ACTIVITY) { /* SignInActivityId is the token's uti */
        st = first_of(ev,
                      PATHS("SignInActivityId", "signInActivityId", "properties.signInActivityId"),
                      &s);
        return st ? st : uti_canon(ev, s, out);
    }
    return MH_ENOTFOUND;
}

static mh_status find_operation(struct mh_event *ev, struct mh_slice *out)
{
    if (ev->kind == MH_SRC_GRAPH_ACTIVITY) /* the HTTP method; the URI is a field */
        return first_of(ev, PATHS("RequestMethod", "requestMethod", "properties.requestMethod"),
                        out);
    return first_of(ev,
                    PATHS("Operation", "Operations", "activityDisplayName",
                          "properties.activityDisplayName", "OperationName", "ActivityDisplayName",
                          "operationName"),
                    out);
}

static mh_status compute(struct mh_event *ev, enum mh_entity e, struct mh_slice *out)
{
    struct mh_slice s;
    mh_status st;
    switch (e) {
    case MH_ENT_USER:
        return find_user(ev, out);
    case MH_ENT_IP: {
        if ((st = find_ip(ev, &s))) return st;
        char buf[MH_IP_TEXT_MAX];
        struct mh_slice c = mh_ip_canon(s.ptr, s.len, buf);
        if (c.ptr != buf) {
            *out = c;
            return MH_OK;
        }
        return copy_out(ev, c.ptr, c.len, out);
    }
    case MH_ENT_APP_ID:
        st = first_of(ev,
                      PATHS("AppId", "appId", "ApplicationId", "properties.appId",
                            "initiatedBy.app.appId", "InitiatedBy.app.appId",
                            "properties.initiatedBy.app.appId"),
                      &s);
        return st ? st : guid_canon(ev, s, out);
    case MH_ENT_CLIENT_APP_ID:
        st = first_of(ev, PATHS("ClientAppId", "AppAccessContext.ClientAppId"), &s);
        return st ? st : guid_canon(ev, s, out);
    case MH_ENT_SESSION_ID:
        st = first_of(ev,
                      PATHS("SessionId", "AppAccessContext.AADSessionId", "sessionId",
                            "properties.sessionId", "DeviceProperties.SessionId"),
                      &s);
        return st ? st : guid_canon(ev, s, out);
    case MH_ENT_TOKEN_ID:
        return find_token(ev, out);
    case MH_ENT_MAILBOX:
        return first_of(ev, PATHS("MailboxOwnerUPN"), out);
    case MH_ENT_TENANT:
        if (ev->kind == MH_SRC_GRAPH_ACTIVITY) { /* never TenantId: the workspace */
            st = first_of(ev, PATHS("AadTenantId", "AADTenantId", "properties.tenantId", "tenantId"),
                          &s);
            return st ? st : guid_canon(ev, s, out);
        }
        st = first_of(ev,
                      PATHS("OrganizationId", "tenantId", "AADTenantId", "TokenTenantId",
                            "resourceTenantId", "properties.resourceTenantId", "ResourceTenantId",
                            "homeTenantId", "properties.homeTenantId", "HomeTenantId", "tenant_id"),
                      &s);
        return st ? st : guid_canon(ev, s, out);
    case MH_ENT_OPERATION:
        return find_operation(ev, out);
    case MH_ENT_OPERATION_KEY: {
        if ((st = mh_event_entity(ev, MH_ENT_OPERATION, &s))) return st;
        void *mem;
        if ((st = mh_nz_alloc(ev->nz, s.len ? s.len : 1, &mem))) return st;
        *out = mh_slice_make(mem, mh_operation_key(s.ptr, s.len, mem));
        return MH_OK;
    }
    default:
        return MH_EINVAL;
    }
}

mh_status mh_event_entity(struct mh_event *ev, enum mh_entity e, struct mh_slice *out)
{
    if ((unsigned)e >= MH_ENT__COUNT) return MH_EINVAL;
    uint32_t bit = 1u << e;
    if (ev->ent_done & bit) {
        if (!ev->ent[e].ptr) return MH_ENOTFOUND;
        *out = ev->ent[e];
        return MH_OK;
    }
    struct mh_slice s = MH_SLICE_NULL;
    mh_status st = compute(ev, e, &s);
    if (st && st != MH_ENOTFOUND) return st; /* not cached: a later call may succeed */
    ev->ent_done |= bit;
    ev->ent[e] = st ? MH_SLICE_NULL : s;
    if (st) return st;
    *out = s;
    return MH_OK;
}
