/*
 * sim/ual.c -- Unified Audit Log records of the Exchange and Entra workloads
 *
 * Pipeline: sim. Writes AuditData objects (log-formats.md §3) into the
 * tenant's day file logs/ual/<tenant>-<date>.jsonl (and, through out.c, the
 * Purview twin row for the primary tenant):
 *   MailItemsAccessed (RecordType 50): Bind records list every message in
 *     Folders[].FolderItems[].InternetMessageId (with angle brackets) grouped
 *     by folder path ("\\Inbox", JSON-escaped backslash); Sync records name
 *     one folder and carry no items; OperationProperties MailAccessType and
 *     IsThrottled; AppAccessContext links the token (UniqueTokenId = the
 *     sign-in's UTI, IssuedAtTime 5 minutes before the sign-in, AADSessionId)
 *     and is omitted for background access (no token);
 *   Send (RecordType 2) with Item{Id, InternetMessageId, ParentFolder,
 *     SizeInBytes, Subject, Attachments};
 *   New-InboxRule (RecordType 1) with Parameters [{Name, Value}] (strings);
 *   UserLoggedIn / UserLoginFailed (RecordType 15, STS logon twin of an
 *     interactive sign-in).
 * CreationTime is "YYYY-MM-DDThh:mm:ss" (UTC, no zone, no fraction).
 *
 * App-only access (an app with full_access_as_app / Mail.Read application
 * permission) is written with UserType 5, UserId and UserKey = the app id,
 * and the app's ids in AppId/ClientAppId.
 */
#include <string.h>

#include "sim/model.h"

const char *const sim_folder_path[F__N] = {"\\\\Inbox", "\\\\Sent Items", "\\\\Archive"};

/* Common head of an Exchange mailbox record. */
static void mbx_head(struct sim_tx *t, mh_time tm, const uint8_t *id, int rtype, const char *op,
                     const struct sim_tenant *tn)
{
    SIM_LIT(t, "{\"CreationTime\":\"");
    sim_tx_time_ual(t, tm);
    SIM_LIT(t, "\",\"Id\":\"");
    sim_tx_guid(t, id);
    SIM_LIT(t, "\",\"Operation\":\"");
    sim_tx_s(t, op);
    SIM_LIT(t, "\",\"OrganizationId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"RecordType\":");
    sim_tx_u64(t, (uint64_t)rtype);
}

static void idbytes(uint64_t h, uint8_t id[16])
{
    struct sim_rng r;
    sim_rng_seed(&r, h);
    sim_guid(&r, id);
}

static void app_ctx(struct sim_tx *t, const uint8_t *session, const uint8_t *token, mh_time issued,
                    const char *client_app_id, const char *client_name, const char *api_id,
                    uint64_t h, const char *uti_override)
{
    char uti[32];
    uint8_t corr[16];
    idbytes(h ^ 0xC0771D, corr);
    SIM_LIT(t, ",\"AppAccessContext\":{");
    if (session) {
        SIM_LIT(t, "\"AADSessionId\":\"");
        sim_tx_guid(t, session);
        SIM_LIT(t, "\",");
    }
    SIM_LIT(t, "\"APIId\":\"");
    sim_tx_s(t, api_id);
    SIM_LIT(t, "\",\"ClientAppId\":\"");
    sim_tx_s(t, client_app_id);
    SIM_LIT(t, "\",\"ClientAppName\":\"");
    sim_tx_jsons(t, client_name);
    SIM_LIT(t, "\",\"CorrelationId\":\"");
    sim_tx_guid(t, corr);
    SIM_LIT(t, "\",\"IssuedAtTime\":\"");
    sim_tx_time_ual(t, issued);
    SIM_LIT(t, "\",\"UniqueTokenId\":\"");
    if (uti_override) {
        sim_tx_s(t, uti_override);
    } else {
        sim_uti(token, uti);
        sim_tx_s(t, uti);
    }
    SIM_LIT(t, "\"}");
}

mh_status sim_emit_mia(struct sim *S, const struct sim_mia *m)
{
    const struct sim_tenant *tn = &S->tenants[m->tenant];
    const struct sim_user *o = m->owner;
    uint8_t id[16];
    char appbuf[40];
    idbytes(m->h, id);
    struct sim_tx *t = sim_rec_begin(S, m->tenant, FK_UAL);
    mbx_head(t, m->t, id, 50, "MailItemsAccessed", tn);
    SIM_LIT(t, ",\"ResultStatus\":\"Succeeded\",\"UserKey\":\"");
    const char *user_id;
    if (m->actor) {
        sim_tx_puid(t, m->actor->puid);
        SIM_LIT(t, "\",\"UserType\":0");
        user_id = m->actor->upn;
    } else {
        sim_guid_str(m->app->app_id, appbuf);
        sim_tx_s(t, appbuf);
        SIM_LIT(t, "\",\"UserType\":5");
        user_id = appbuf;
    }
    SIM_LIT(t, ",\"Version\":1,\"Workload\":\"Exchange\",\"UserId\":\"");
    sim_tx_jsons(t, user_id);
    SIM_LIT(t, "\",\"AppId\":\"");
    sim_tx_s(t, m->app_id);
    SIM_LIT(t, "\",\"ClientAppId\":\"");
    sim_tx_s(t, m->client_app_id);
    SIM_LIT(t, "\",\"ClientIPAddress\":\"");
    sim_tx_ip(t, m->ip);
    SIM_LIT(t, "\",\"ClientInfoString\":\"");
    sim_tx_jsons(t, m->client_info);
    SIM_LIT(t, "\",\"ExternalAccess\":false,\"InternalLogonType\":0,\"LogonType\":");
    sim_tx_u64(t, (uint64_t)m->logon_type);
    if (m->actor) {
        SIM_LIT(t, ",\"LogonUserSid\":\"");
        sim_tx_sid(t, tn, m->actor->rid);
        sim_tx_c(t, '"');
    }
    SIM_LIT(t, ",\"MailboxGuid\":\"");
    sim_tx_guid(t, o->mbx);
    SIM_LIT(t, "\",\"MailboxOwnerSid\":\"");
    sim_tx_sid(t, tn, o->rid);
    SIM_LIT(t, "\",\"MailboxOwnerUPN\":\"");
    sim_tx_jsons(t, o->upn);
    SIM_LIT(t, "\",\"OperationProperties\":[{\"Name\":\"MailAccessType\",\"Value\":\"");
    sim_tx_s(t, m->sync ? "Sync" : "Bind");
    SIM_LIT(t, "\"},{\"Name\":\"IsThrottled\",\"Value\":\"");
    sim_tx_s(t, m->throttled ? "True" : "False");
    SIM_LIT(t, "\"}],\"OrganizationName\":\"");
    sim_tx_s(t, tn->onms);
    SIM_LIT(t, "\",\"OriginatingServer\":\"");
    sim_tx_server(t, tn, m->h);
    SIM_LIT(t, "\\r\\n\"");
    if (m->session) {
        SIM_LIT(t, ",\"SessionId\":\"");
        sim_tx_guid(t, m->session);
        sim_tx_c(t, '"');
    }
    if (m->token || m->uti_override) {
        SIM_LIT(t, ",\"TokenObjectId\":\"");
        if (m->token_oid)
            sim_tx_guid(t, m->token_oid);
        else if (m->actor)
            sim_tx_guid(t, m->actor->oid);
        else
            sim_tx_guid(t, m->app->sp_id);
        SIM_LIT(t, "\",\"TokenTenantId\":\"");
        sim_tx_guid(t, tn->id);
        sim_tx_c(t, '"');
        app_ctx(t, m->session, m->token, m->issued, m->client_app_id,
                m->client_app_name ? m->client_app_name : "", sim_res_id[RES_EXO], m->h,
                m->uti_override);
    }
    SIM_LIT(t, ",\"OperationCount\":");
    sim_tx_u64(t, m->sync ? 1 : (m->op_count ? m->op_count : m->nitems));
    SIM_LIT(t, ",\"Folders\":[");
    if (m->sync) {
        SIM_LIT(t, "{\"Id\":\"");
        sim_tx_folder_id(t, o->mbx, m->sync_folder);
        SIM_LIT(t, "\",\"Path\":\"");
        sim_tx_s(t, sim_folder_path[m->sync_folder]);
        SIM_LIT(t, "\"}");
    } else {
        bool first_folder = true;
        for (int f = 0; f < F__N; f++) {
            bool any = false;
            for (uint32_t i = 0; i < m->nitems; i++) {
                if (m->items[i].folder != f) continue;
                if (!any) {
                    if (!first_folder) sim_tx_c(t, ',');
                    SIM_LIT(t, "{\"FolderItems\":[");
                    first_folder = false;
                } else {
                    sim_tx_c(t, ',');
                }
                any = true;
                SIM_LIT(t, "{\"InternetMessageId\":\"");
                sim_tx_msgid(S, t, m->items[i].serial, m->items[i].from);
                SIM_LIT(t, "\"}");
            }
            if (!any) continue;
            SIM_LIT(t, "],\"Id\":\"");
            sim_tx_folder_id(t, o->mbx, f);
            SIM_LIT(t, "\",\"Path\":\"");
            sim_tx_s(t, sim_folder_path[f]);
            SIM_LIT(t, "\"}");
        }
    }
    SIM_LIT(t, "]}");
    /* user_id may point at appbuf: the Purview row is written inside sim_rec_end */
    sim_rec_ual(S, id, 50, "MailItemsAccessed", user_id, m->t);
    return sim_rec_end(S, m->t);
}

mh_status sim_emit_send(struct sim *S, const struct sim_send *s)
{
    const struct sim_user *u = s->u;
    const struct sim_tenant *tn = &S->tenants[u->tenant];
    uint8_t id[16];
    idbytes(s->h, id);
    struct sim_tx *t = sim_rec_begin(S, u->tenant, FK_UAL);
    mbx_head(t, s->t, id, 2, "Send", tn);
    SIM_LIT(t, ",\"ResultStatus\":\"Succeeded\",\"UserKey\":\"");
    sim_tx_puid(t, u->puid);
    SIM_LIT(t, "\",\"UserType\":0,\"Version\":1,\"Workload\":\"Exchange\",\"ClientIP\":\"");
    sim_tx_ip(t, s->ip);
    SIM_LIT(t, "\",\"UserId\":\"");
    sim_tx_jsons(t, u->upn);
    SIM_LIT(t, "\",\"AppId\":\"");
    sim_tx_s(t, s->app_id);
    SIM_LIT(t, "\",\"ClientAppId\":\"\",\"ClientIPAddress\":\"");
    sim_tx_ip(t, s->ip);
    SIM_LIT(t, "\",\"ClientInfoString\":\"");
    sim_tx_jsons(t, s->client_info);
    SIM_LIT(t, "\",\"ExternalAccess\":false,\"InternalLogonType\":0,\"LogonType\":0,"
               "\"LogonUserSid\":\"");
    sim_tx_sid(t, tn, u->rid);
    SIM_LIT(t, "\",\"MailboxGuid\":\"");
    sim_tx_guid(t, u->mbx);
    SIM_LIT(t, "\",\"MailboxOwnerSid\":\"");
    sim_tx_sid(t, tn, u->rid);
    SIM_LIT(t, "\",\"MailboxOwnerUPN\":\"");
    sim_tx_jsons(t, u->upn);
    SIM_LIT(t, "\",\"OrganizationName\":\"");
    sim_tx_s(t, tn->onms);
    SIM_LIT(t, "\",\"OriginatingServer\":\"");
    sim_tx_server(t, tn, s->h);
    SIM_LIT(t, "\\r\\n\"");
    if (s->session) {
        SIM_LIT(t, ",\"SessionId\":\"");
        sim_tx_guid(t, s->session);
        sim_tx_c(t, '"');
    }
    if (s->token) {
        SIM_LIT(t, ",\"TokenObjectId\":\"");
        sim_tx_guid(t, u->oid);
        SIM_LIT(t, "\",\"TokenTenantId\":\"");
        sim_tx_guid(t, tn->id);
        sim_tx_c(t, '"');
        app_ctx(t, s->session, s->token, s->issued, s->app_id, "", sim_res_id[RES_EXO], s->h, NULL);
    }
    SIM_LIT(t, ",\"Item\":{\"Id\":\"");
    sim_tx_item_id(t, u->mbx, s->msg->serial);
    SIM_LIT(t, "\",\"InternetMessageId\":\"");
    sim_tx_msgid(S, t, s->msg->serial, s->msg->from);
    SIM_LIT(t, "\",\"ParentFolder\":{\"Id\":\"");
    sim_tx_folder_id(t, u->mbx, F_SENT);
    SIM_LIT(t, "\",\"Path\":\"\\\\Sent Items\"},\"SizeInBytes\":");
    sim_tx_u64(t, s->msg->size);
    SIM_LIT(t, ",\"Subject\":\"");
    sim_tx_jsons(t, s->subject);
    sim_tx_c(t, '"');
    if (s->msg->kind == MK_ATTACH) SIM_LIT(t, ",\"Attachments\":\"1 attachment\"");
    SIM_LIT(t, "},\"SaveToSentItems\":true}");
    sim_rec_ual(S, id, 2, "Send", u->upn, s->t);
    return sim_rec_end(S, s->t);
}

mh_status sim_emit_inbox_rule(struct sim *S, const struct sim_rule *r)
{
    const struct sim_user *u = r->u;
    const struct sim_tenant *tn = &S->tenants[u->tenant];
    uint8_t id[16], sess[16];
    idbytes(r->h, id);
    idbytes(r->h ^ 0x5e55, sess);
    struct sim_tx *t = sim_rec_begin(S, u->tenant, FK_UAL);
    mbx_head(t, r->t, id, 1, "New-InboxRule", tn);
    SIM_LIT(t, ",\"ResultStatus\":\"True\",\"UserKey\":\"");
    sim_tx_puid(t, u->puid);
    SIM_LIT(t, "\",\"UserType\":2,\"Version\":1,\"Workload\":\"Exchange\",\"ClientIP\":\"");
    sim_tx_ip(t, r->ip);
    SIM_LIT(t, ":");
    sim_tx_u64(t, 1024 + r->h % 60000);
    SIM_LIT(t, "\",\"ObjectId\":\"");
    sim_tx_s(t, tn->srv[0]);
    SIM_LIT(t, ".prod.outlook.com/Microsoft Exchange Hosted Organizations/");
    sim_tx_s(t, tn->onms);
    sim_tx_c(t, '/');
    sim_tx_jsons(t, u->upn);
    SIM_LIT(t, "\\\\");
    sim_tx_jsons(t, r->name);
    SIM_LIT(t, "\",\"UserId\":\"");
    sim_tx_jsons(t, u->upn);
    SIM_LIT(t, "\",\"AppId\":\"00000002-0000-0ff1-ce00-000000000000\",\"ClientAppId\":\"\","
               "\"ExternalAccess\":false,\"OrganizationName\":\"");
    sim_tx_s(t, tn->onms);
    SIM_LIT(t, "\",\"OriginatingServer\":\"");
    sim_tx_server(t, tn, r->h);
    SIM_LIT(
        t,
        "\\r\\n\",\"Parameters\":[{\"Name\":\"AlwaysDeleteOutlookRulesBlob\",\"Value\":\"False\"},"
        "{\"Name\":\"Force\",\"Value\":\"False\"},{\"Name\":\"Name\",\"Value\":\"");
    sim_tx_jsons(t, r->name);
    SIM_LIT(t, "\"}");
    for (uint32_t i = 0; i < r->nparams; i++) {
        SIM_LIT(t, ",{\"Name\":\"");
        sim_tx_s(t, r->params[i][0]);
        SIM_LIT(t, "\",\"Value\":\"");
        sim_tx_jsons(t, r->params[i][1]);
        SIM_LIT(t, "\"}");
    }
    SIM_LIT(t, "],\"SessionId\":\"");
    sim_tx_guid(t, sess);
    SIM_LIT(t, "\"}");
    sim_rec_ual(S, id, 1, "New-InboxRule", u->upn, r->t);
    return sim_rec_end(S, r->t);
}

mh_status sim_emit_sts(struct sim *S, const struct sim_signin *si)
{
    const struct sim_tenant *tn = &S->tenants[si->tenant];
    const struct sim_devinfo *di = si->dev ? sim_devinfo(si->dev->kind) : NULL;
    const bool ok = si->err == 0;
    const char *op = ok ? "UserLoggedIn" : "UserLoginFailed";
    const char *upn = si->upn_override ? si->upn_override : si->user->upn;
    struct sim_tx *t = sim_rec_begin(S, si->tenant, FK_UAL);
    SIM_LIT(t, "{\"CreationTime\":\"");
    sim_tx_time_ual(t, si->t);
    SIM_LIT(t, "\",\"Id\":\"");
    sim_tx_guid(t, si->id);
    SIM_LIT(t, "\",\"Operation\":\"");
    sim_tx_s(t, op);
    SIM_LIT(t, "\",\"OrganizationId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"RecordType\":15,\"ResultStatus\":\"");
    sim_tx_s(t, ok ? "Success" : "Failed");
    SIM_LIT(t, "\",\"UserKey\":\"");
    if (si->upn_override)
        SIM_LIT(t, "Not Available");
    else
        sim_tx_guid(t, si->user->oid);
    SIM_LIT(
        t, "\",\"UserType\":0,\"Version\":1,\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"");
    sim_tx_ip(t, si->ip);
    SIM_LIT(t, "\",\"ObjectId\":\"");
    sim_tx_s(t, si->err == 50034 ? "Unknown" : sim_res_id[si->res]);
    SIM_LIT(t, "\",\"UserId\":\"");
    sim_tx_jsons(t, upn);
    SIM_LIT(t, "\",\"AzureActiveDirectoryEventType\":1,\"ExtendedProperties\":["
               "{\"Name\":\"ResultStatusDetail\",\"Value\":\"");
    sim_tx_s(t, ok ? "Success"
                : si->err == 50074 || si->err == 50076 || si->err == 50140 || si->err == 16000
                    ? "Redirect"
                    : "UserError");
    SIM_LIT(t, "\"},{\"Name\":\"UserAgent\",\"Value\":\"");
    sim_tx_jsons(t, si->ua ? si->ua : di ? di->ua : "");
    SIM_LIT(t, "\"},{\"Name\":\"UserAuthenticationMethod\",\"Value\":\"");
    sim_tx_s(t, si->mfa ? "16457" : "1");
    SIM_LIT(t, "\"},{\"Name\":\"RequestType\",\"Value\":\"");
    sim_tx_s(t, si->protocol && strcmp(si->protocol, "ropc") == 0 ? "OAuth2:Token"
                                                                  : "OAuth2:Authorize");
    SIM_LIT(t, "\"}],\"ModifiedProperties\":[],\"Actor\":[");
    if (!si->upn_override) {
        SIM_LIT(t, "{\"ID\":\"");
        sim_tx_guid(t, si->user->oid);
        SIM_LIT(t, "\",\"Type\":0},");
    }
    SIM_LIT(t, "{\"ID\":\"");
    sim_tx_jsons(t, upn);
    SIM_LIT(t, "\",\"Type\":5}],\"ActorContextId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"ActorIpAddress\":\"");
    sim_tx_ip(t, si->ip);
    SIM_LIT(t, "\",\"InterSystemsId\":\"");
    sim_tx_guid(t, si->corr);
    SIM_LIT(t, "\",\"IntraSystemId\":\"");
    sim_tx_guid(t, si->id);
    SIM_LIT(t, "\",\"SupportTicketId\":\"\",\"Target\":[{\"ID\":\"");
    sim_tx_s(t, sim_res_id[si->res]);
    SIM_LIT(t, "\",\"Type\":0}],\"TargetContextId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"ApplicationId\":\"");
    sim_tx_s(t, si->client_id);
    SIM_LIT(t, "\",\"DeviceProperties\":[{\"Name\":\"OS\",\"Value\":\"");
    sim_tx_s(t, di ? di->ual_os : "Windows 10");
    SIM_LIT(t, "\"},{\"Name\":\"BrowserType\",\"Value\":\"");
    sim_tx_s(t, di ? di->ual_browser : "Chrome");
    SIM_LIT(t, "\"},{\"Name\":\"IsCompliantAndManaged\",\"Value\":\"");
    sim_tx_s(t, si->dev && si->dev->managed ? "True" : "False");
    sim_tx_c(t, '"');
    sim_tx_c(t, '}');
    if (si->session) {
        SIM_LIT(t, ",{\"Name\":\"SessionId\",\"Value\":\"");
        sim_tx_guid(t, si->session);
        SIM_LIT(t, "\"}");
    }
    SIM_LIT(t, "],\"ErrorNumber\":\"");
    sim_tx_u64(t, (uint64_t)si->err);
    sim_tx_c(t, '"');
    if (!ok) {
        SIM_LIT(t, ",\"LogonError\":\"");
        sim_tx_s(t, sim_logon_error(si->err));
        sim_tx_c(t, '"');
    }
    sim_tx_c(t, '}');
    sim_rec_ual(S, si->id, 15, op, upn, si->t);
    return sim_rec_end(S, si->t);
}
