/*
 * sim/audit.c -- Entra directory operations: Graph directoryAudit + UAL twin
 *
 * Pipeline: sim. One directory change is written twice, as tenants hold it:
 *   logs/audit/<tenant>-<date>.json   Graph directoryAudit objects in a
 *     {"@odata.context":...,"value":[..]} page (log-formats.md §9): id
 *     Directory_<correlationId>_<5 chars>_<9 digits>, activityDisplayName
 *     WITHOUT a trailing dot (and, for the credential activity, with the en
 *     dash and the trailing space of real exports), initiatedBy.user or
 *     initiatedBy.app, targetResources[].modifiedProperties with JSON-encoded
 *     oldValue/newValue strings, additionalDetails [{key,value}];
 *   logs/ual/...jsonl   AuditData RecordType 8, Workload AzureActiveDirectory,
 *     Operation WITH one trailing dot (trailing spaces trimmed first),
 *     ModifiedProperties [{Name, NewValue, OldValue}] (one JSON level less:
 *     "\"full_access_as_app\"" becomes full_access_as_app), ExtendedProperties
 *     with additionalDetails as a JSON string, ActorIpAddress (no ClientIP),
 *     Actor/Target [{ID, Type}], InterSystemsId = correlationId.
 * Both carry the same correlationId, so consent, grant and credential
 * records of one change can be joined as in real data.
 */
#include <stdio.h>
#include <string.h>

#include "sim/model.h"

static void idbytes(uint64_t h, uint8_t id[16])
{
    struct sim_rng r;
    sim_rng_seed(&r, h);
    sim_guid(&r, id);
}

/* JSON string value or null. */
static void jstr_or_null(struct sim_tx *t, const char *v)
{
    if (!v) {
        SIM_LIT(t, "null");
        return;
    }
    sim_tx_c(t, '"');
    sim_tx_jsons(t, v);
    sim_tx_c(t, '"');
}

/* UAL form of an AuditLogs value: a JSON string literal loses its quotes. */
static void ual_value(struct sim_tx *t, const char *v)
{
    sim_tx_c(t, '"');
    if (v) {
        size_t n = strlen(v);
        if (n >= 2 && v[0] == '"' && v[n - 1] == '"') {
            /* unescape \" and \\ (the only escapes the simulator produces) */
            for (size_t i = 1; i + 1 < n; i++) {
                if (v[i] == '\\' && i + 2 < n) i++;
                char c = v[i];
                if (c == '"' || c == '\\') sim_tx_c(t, '\\');
                sim_tx_c(t, c);
            }
        } else {
            sim_tx_jsons(t, v);
        }
    }
    sim_tx_c(t, '"');
}

static mh_status graph_record(struct sim *S, const struct sim_dirop *d, const char *ua)
{
    struct sim_tx *t = sim_rec_begin(S, d->tenant, FK_AUDIT);
    static const char an[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";
    uint64_t h = sim_mix(d->h, 0xA0D17, 1);
    SIM_LIT(t, "{\"id\":\"Directory_");
    sim_tx_guid(t, d->corr);
    sim_tx_c(t, '_');
    for (int i = 0; i < 5; i++) sim_tx_c(t, an[(h >> (6 * i)) % 36]);
    sim_tx_c(t, '_');
    sim_tx_u64(t, 100000000 + (h >> 32) % 900000000);
    SIM_LIT(t, "\",\"category\":\"");
    sim_tx_s(t, d->category);
    SIM_LIT(t, "\",\"correlationId\":\"");
    sim_tx_guid(t, d->corr);
    SIM_LIT(t, "\",\"result\":\"success\",\"resultReason\":\"\",\"activityDisplayName\":\"");
    sim_tx_jsons(t, d->activity);
    SIM_LIT(t, "\",\"activityDateTime\":\"");
    sim_tx_time_7off(t, d->t);
    SIM_LIT(t, "\",\"loggedByService\":\"Core Directory\",\"operationType\":\"");
    sim_tx_s(t, d->op_type);
    SIM_LIT(t, "\",\"userAgent\":");
    jstr_or_null(t, ua);
    SIM_LIT(t, ",\"initiatedBy\":{");
    if (d->by_user) {
        SIM_LIT(t, "\"user\":{\"id\":\"");
        sim_tx_guid(t, d->by_user->oid);
        SIM_LIT(t, "\",\"displayName\":null,\"userPrincipalName\":\"");
        sim_tx_jsons(t, d->by_user->upn);
        SIM_LIT(t, "\",\"ipAddress\":");
        if (d->ip) {
            sim_tx_c(t, '"');
            sim_tx_ip(t, d->ip);
            sim_tx_c(t, '"');
        } else {
            SIM_LIT(t, "null");
        }
        SIM_LIT(t, ",\"roles\":[]}");
    } else {
        SIM_LIT(t, "\"app\":{\"appId\":");
        if (d->by_app) {
            sim_tx_c(t, '"');
            sim_tx_guid(t, d->by_app->app_id);
            sim_tx_c(t, '"');
        } else {
            SIM_LIT(t, "null");
        }
        SIM_LIT(t, ",\"displayName\":\"");
        sim_tx_jsons(t, d->by_app ? d->by_app->name : d->by_app_name);
        SIM_LIT(t, "\",\"servicePrincipalId\":\"");
        sim_tx_guid(t, d->by_app ? d->by_app->sp_id : d->by_app_spid);
        SIM_LIT(t, "\",\"servicePrincipalName\":null}");
    }
    SIM_LIT(t, "},\"targetResources\":[");
    for (uint32_t i = 0; i < d->ntgt; i++) {
        const struct sim_target_res *r = &d->tgt[i];
        if (i) sim_tx_c(t, ',');
        SIM_LIT(t, "{\"id\":\"");
        sim_tx_guid(t, r->id);
        SIM_LIT(t, "\",\"displayName\":");
        jstr_or_null(t, r->name);
        SIM_LIT(t, ",\"type\":\"");
        sim_tx_s(t, r->type);
        SIM_LIT(t, "\",\"userPrincipalName\":");
        jstr_or_null(t, r->upn);
        SIM_LIT(t, ",\"modifiedProperties\":[");
        if (i == 0) {
            for (uint32_t k = 0; k < d->nmp; k++) {
                if (k) sim_tx_c(t, ',');
                SIM_LIT(t, "{\"displayName\":\"");
                sim_tx_jsons(t, d->mp[k].name);
                SIM_LIT(t, "\",\"oldValue\":");
                jstr_or_null(t, d->mp[k].oldv);
                SIM_LIT(t, ",\"newValue\":");
                jstr_or_null(t, d->mp[k].newv);
                sim_tx_c(t, '}');
            }
        }
        SIM_LIT(t, "],\"administrativeUnits\":[]}");
    }
    SIM_LIT(t, "],\"additionalDetails\":[");
    if (ua) {
        SIM_LIT(t, "{\"key\":\"User-Agent\",\"value\":\"");
        sim_tx_jsons(t, ua);
        SIM_LIT(t, "\"}");
    }
    if (d->by_app) {
        if (ua) sim_tx_c(t, ',');
        SIM_LIT(t, "{\"key\":\"AppId\",\"value\":\"");
        sim_tx_guid(t, d->by_app->app_id);
        SIM_LIT(t, "\"}");
    }
    SIM_LIT(t, "]}");
    return sim_rec_end(S, d->t);
}

static mh_status ual_record(struct sim *S, const struct sim_dirop *d, const char *ua)
{
    const struct sim_tenant *tn = &S->tenants[d->tenant];
    uint8_t id[16];
    idbytes(sim_mix(d->h, 0x0A1, 2), id);
    char op[160], actor[80];
    size_t n = strlen(d->activity);
    while (n && d->activity[n - 1] == ' ') n--;
    if (n > sizeof op - 2) n = sizeof op - 2;
    memcpy(op, d->activity, n);
    op[n] = '.';
    op[n + 1] = '\0';
    struct sim_tx *t = sim_rec_begin(S, d->tenant, FK_UAL);
    SIM_LIT(t, "{\"CreationTime\":\"");
    sim_tx_time_ual(t, d->t);
    SIM_LIT(t, "\",\"Id\":\"");
    sim_tx_guid(t, id);
    SIM_LIT(t, "\",\"Operation\":\"");
    sim_tx_jsons(t, op);
    SIM_LIT(t, "\",\"OrganizationId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"RecordType\":8,\"ResultStatus\":\"Success\",\"UserKey\":\"");
    if (d->by_user) {
        sim_tx_puid(t, d->by_user->puid);
        sim_tx_c(t, '@');
        sim_tx_s(t, tn->onms);
        snprintf(actor, sizeof actor, "%s", d->by_user->upn);
    } else {
        char g[37];
        sim_guid_str(d->by_app ? d->by_app->sp_id : d->by_app_spid, g);
        snprintf(actor, sizeof actor, "ServicePrincipal_%s", g);
        sim_tx_s(t, g);
    }
    SIM_LIT(
        t, "\",\"UserType\":0,\"Version\":1,\"Workload\":\"AzureActiveDirectory\",\"ObjectId\":\"");
    if (d->ntgt) {
        if (d->tgt[0].upn)
            sim_tx_jsons(t, d->tgt[0].upn);
        else if (d->tgt[0].name)
            sim_tx_jsons(t, d->tgt[0].name);
        else
            sim_tx_guid(t, d->tgt[0].id);
    }
    SIM_LIT(t, "\",\"UserId\":\"");
    sim_tx_jsons(t, actor);
    SIM_LIT(t, "\",\"AzureActiveDirectoryEventType\":1,\"ExtendedProperties\":["
               "{\"Name\":\"additionalDetails\",\"Value\":\"{");
    if (ua) {
        SIM_LIT(t, "\\\"User-Agent\\\":\\\"");
        sim_tx_jsons(t, ua); /* plain ASCII user agents: no quote or backslash inside */
        SIM_LIT(t, "\\\"");
    }
    if (d->by_app) {
        if (ua) sim_tx_c(t, ',');
        SIM_LIT(t, "\\\"AppId\\\":\\\"");
        sim_tx_guid(t, d->by_app->app_id);
        SIM_LIT(t, "\\\"");
    }
    SIM_LIT(t, "}\"},{\"Name\":\"extendedAuditEventCategory\",\"Value\":\"");
    sim_tx_s(t, d->ext_category ? d->ext_category : "ServicePrincipal");
    SIM_LIT(t, "\"},{\"Name\":\"correlationId\",\"Value\":\"");
    sim_tx_guid(t, d->corr);
    SIM_LIT(t, "\"},{\"Name\":\"resultType\",\"Value\":\"Success\"},"
               "{\"Name\":\"auditEventCategory\",\"Value\":\"");
    sim_tx_s(t, d->category);
    SIM_LIT(t, "\"}");
    if (d->by_user) {
        SIM_LIT(t, ",{\"Name\":\"actorUPN\",\"Value\":\"");
        sim_tx_jsons(t, d->by_user->upn);
        SIM_LIT(t, "\"}");
    } else if (d->by_app) {
        SIM_LIT(t, ",{\"Name\":\"actorAppID\",\"Value\":\"");
        sim_tx_guid(t, d->by_app->app_id);
        SIM_LIT(t, "\"}");
    }
    if (d->ntgt && d->tgt[0].name) {
        SIM_LIT(t, ",{\"Name\":\"targetName\",\"Value\":\"");
        sim_tx_jsons(t, d->tgt[0].name);
        SIM_LIT(t, "\"}");
    }
    SIM_LIT(t, "],\"ModifiedProperties\":[");
    for (uint32_t k = 0; k < d->nmp; k++) {
        if (k) sim_tx_c(t, ',');
        SIM_LIT(t, "{\"Name\":\"");
        sim_tx_jsons(t, d->mp[k].name);
        SIM_LIT(t, "\",\"NewValue\":");
        ual_value(t, d->mp[k].newv);
        SIM_LIT(t, ",\"OldValue\":");
        ual_value(t, d->mp[k].oldv);
        sim_tx_c(t, '}');
    }
    SIM_LIT(t, "],\"Actor\":[");
    if (d->by_user) {
        SIM_LIT(t, "{\"ID\":\"");
        sim_tx_jsons(t, d->by_user->upn);
        SIM_LIT(t, "\",\"Type\":5},{\"ID\":\"");
        sim_tx_puid(t, d->by_user->puid);
        SIM_LIT(t, "\",\"Type\":3},{\"ID\":\"User_");
        sim_tx_guid(t, d->by_user->oid);
        SIM_LIT(t, "\",\"Type\":2}");
    } else {
        SIM_LIT(t, "{\"ID\":\"");
        sim_tx_jsons(t, d->by_app ? d->by_app->name : d->by_app_name);
        SIM_LIT(t, "\",\"Type\":1}");
        if (d->by_app) {
            SIM_LIT(t, ",{\"ID\":\"");
            sim_tx_guid(t, d->by_app->app_id);
            SIM_LIT(t, "\",\"Type\":2}");
        }
        SIM_LIT(t, ",{\"ID\":\"");
        sim_tx_jsons(t, actor);
        SIM_LIT(t, "\",\"Type\":2}");
    }
    SIM_LIT(t, "],\"ActorContextId\":\"");
    sim_tx_guid(t, tn->id);
    sim_tx_c(t, '"');
    if (d->ip) {
        SIM_LIT(t, ",\"ActorIpAddress\":\"");
        sim_tx_ip(t, d->ip);
        sim_tx_c(t, '"');
    }
    SIM_LIT(t, ",\"InterSystemsId\":\"");
    sim_tx_guid(t, d->corr);
    SIM_LIT(t, "\",\"IntraSystemId\":\"");
    sim_tx_guid(t, id);
    SIM_LIT(t, "\",\"SupportTicketId\":\"\",\"Target\":[");
    for (uint32_t i = 0; i < d->ntgt; i++) {
        const struct sim_target_res *r = &d->tgt[i];
        if (i) sim_tx_c(t, ',');
        SIM_LIT(t, "{\"ID\":\"");
        sim_tx_s(t, r->type);
        sim_tx_c(t, '_');
        sim_tx_guid(t, r->id);
        SIM_LIT(t, "\",\"Type\":2}");
        if (r->name) {
            SIM_LIT(t, ",{\"ID\":\"");
            sim_tx_jsons(t, r->name);
            SIM_LIT(t, "\",\"Type\":1}");
        }
        if (r->upn) {
            SIM_LIT(t, ",{\"ID\":\"");
            sim_tx_jsons(t, r->upn);
            SIM_LIT(t, "\",\"Type\":5}");
        }
    }
    SIM_LIT(t, "],\"TargetContextId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\"}");
    sim_rec_ual(S, id, 8, op, actor, d->t);
    return sim_rec_end(S, d->t);
}

mh_status sim_emit_dirop(struct sim *S, const struct sim_dirop *d)
{
    const char *ua = d->user_agent;
    MH_TRY(graph_record(S, d, ua));
    return ual_record(S, d, ua);
}
