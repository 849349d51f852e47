/*
 * sim/signin.c -- Entra ID sign-in records (Azure Monitor / Event Hubs form)
 *
 * Pipeline: sim. Writes one record per sign-in into the day file of its
 * stream (logs/signin/<tenant>-<date>-<stream>.json, a {"records":[..]}
 * body, log-formats.md §8): top-level Azure Monitor fields (time with 7
 * fraction digits and Z, resourceId /tenants/<tid>/providers/Microsoft.aadiam,
 * category, resultType as a string, callerIpAddress, ...) and `properties`
 * = the Graph signIn body in camelCase (createdDateTime with +00:00,
 * status.errorCode as a number, uniqueTokenIdentifier = base64url of the id's
 * little-endian bytes, sessionId, deviceDetail, location, ...).
 *
 * Interactive user sign-ins are also written to the UAL as the STS logon
 * (RecordType 15 UserLoggedIn / UserLoginFailed; Id = IntraSystemId = the
 * sign-in id, InterSystemsId = correlationId, ErrorNumber as a string) --
 * sim_emit_sts in ual.c -- as real tenants show both.
 *
 * Device/client table: the user agents, operating systems and first-party
 * client ids each kind of device presents (Outlook desktop, OWA in a browser,
 * Outlook mobile).
 */
#include <string.h>

#include "sim/model.h"

const char *const sim_res_id[RES__N] = {
    "00000003-0000-0000-c000-000000000000", "00000002-0000-0ff1-ce00-000000000000",
    "00000003-0000-0ff1-ce00-000000000000", "cfa8b339-82a2-471a-a3c9-0fc0be7a4093",
    "797f4846-ba00-4fd7-ba43-dac1f8f63013",
};
const char *const sim_res_name[RES__N] = {
    "Microsoft Graph", "Office 365 Exchange Online",           "Office 365 SharePoint Online",
    "Azure Key Vault", "Windows Azure Service Management API",
};

static const char *const cat_name[4] = {"SignInLogs", "NonInteractiveUserSignInLogs",
                                        "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"};

const char *sim_err_reason(int code)
{
    switch (code) {
    case 0:
        return "";
    case 50126:
        return "Error validating credentials due to invalid username or password.";
    case 50053:
        return "The account is locked, you've tried to sign in too many times with an incorrect "
               "user ID or password.";
    case 50034:
        return "The user account does not exist in the directory. To sign into this application, "
               "the account must be added to the directory.";
    case 50057:
        return "User account is disabled. The account has been disabled by an administrator.";
    case 50074:
        return "Strong Authentication is required.";
    case 50076:
        return "Due to a configuration change made by your administrator, or because you moved to "
               "a new location, you must use multi-factor authentication to access the resource.";
    case 50140:
        return "This error occurred due to 'Keep me signed in' interrupt when the user was "
               "signing-in.";
    case 16000:
        return "Either multiple user identities are available for the current request or selected "
               "account is not supported for the scenario.";
    case 50058:
        return "Session information is not sufficient for single-sign-on.";
    case 500121:
        return "Authentication failed during strong authentication request.";
    case 7000215:
        return "Invalid client secret is provided.";
    default:
        return "Other.";
    }
}

const char *sim_logon_error(int code)
{
    switch (code) {
    case 50126:
        return "InvalidUserNameOrPassword";
    case 50053:
        return "IdsLocked";
    case 50034:
        return "UserAccountNotFound";
    case 50057:
        return "UserAccountDisabled";
    case 50074:
        return "UserStrongAuthClientAuthNRequiredInterrupt";
    case 50076:
        return "UserStrongAuthClientAuthNRequired";
    case 50140:
        return "KmsiInterrupt";
    case 16000:
        return "UserAccountSelectionInvalid";
    case 50058:
        return "SsoUserAccountNotFoundInResourceTenant";
    case 500121:
        return "AuthenticationFailedStrongAuthRequest";
    default:
        return "OtherError";
    }
}

static const struct sim_devinfo devs[DEV__N] = {
    {"Windows10", "Rich Client 5.2.9.0", "Mobile Apps and Desktop clients",
     "Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.17328; Pro)",
     "d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office", "Client=MSExchangeRPC",
     "Azure AD joined", "Windows 10", "Rich Client"},
    {"MacOs", "Rich Client 4.5.0.0", "Mobile Apps and Desktop clients",
     "Microsoft Office/16.0 (Macintosh; Mac OS X 14.3; Microsoft Outlook 16.81.24021221; Pro)",
     "d3590ed6-52b3-4102-aeff-aad2292ab01c", "Microsoft Office", "Client=MSExchangeRPC",
     "Azure AD registered", "MacOs", "Rich Client"},
    {"Windows10", "Edge 122.0.0", "Browser",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0",
     "9199bf20-a13f-4107-85dc-02114787ef48", "One Outlook Web",
     "Client=OWA;Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like "
     "Gecko) Chrome/122.0.0.0 Safari/537.36 Edg/122.0.0.0;",
     "", "Windows 10", "Edge"},
    {"Ios 17.3.1", "Mobile Safari", "Mobile Apps and Desktop clients", "Outlook-iOS/2.0",
     "27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile", "Client=REST;Client=RESTSystem;;",
     "Azure AD registered", "iOS", "Rich Client"},
    {"Android 14", "Rich Client 4.2.0.0", "Mobile Apps and Desktop clients", "Outlook-Android/2.0",
     "27922004-5251-4030-b22d-91ecd9a37ea4", "Outlook Mobile", "Client=REST;Client=RESTSystem;;",
     "Azure AD registered", "Android", "Rich Client"},
};

const struct sim_devinfo *sim_devinfo(int kind)
{
    return &devs[kind % DEV__N];
}

static void kv(struct sim_tx *t, const char *k, const char *v)
{
    sim_tx_kv(t, k, v);
}

static void location(struct sim_tx *t, const struct sim_ip *ip)
{
    const struct sim_city *c = sim_ip_city(ip);
    SIM_LIT(t, "\"location\":{\"city\":\"");
    sim_tx_s(t, c->name);
    SIM_LIT(t, "\",\"state\":\"");
    sim_tx_s(t, c->state);
    SIM_LIT(t, "\",\"countryOrRegion\":\"");
    sim_tx_s(t, c->country);
    SIM_LIT(t, "\",\"geoCoordinates\":{\"latitude\":");
    sim_tx_s(t, c->lat);
    SIM_LIT(t, ",\"longitude\":");
    sim_tx_s(t, c->lon);
    SIM_LIT(t, "}}");
}

static void status(struct sim_tx *t, int err)
{
    SIM_LIT(t, "\"status\":{\"errorCode\":");
    sim_tx_u64(t, (uint64_t)err);
    if (err) {
        SIM_LIT(t, ",\"failureReason\":\"");
        sim_tx_jsons(t, sim_err_reason(err));
        sim_tx_c(t, '"');
        if (err == 50074 || err == 50076)
            SIM_LIT(t, ",\"additionalDetails\":\"MFA required in Azure AD\"");
    }
    sim_tx_c(t, '}');
}

mh_status sim_emit_signin(struct sim *S, const struct sim_signin *si)
{
    const struct sim_tenant *tn = &S->tenants[si->tenant];
    const bool user = si->cat == SI_INT || si->cat == SI_NONINT;
    char uti[32];
    sim_uti(si->id, uti);
    struct sim_tx *t = sim_rec_begin(S, si->tenant, FK_SI_INT + si->cat);
    SIM_LIT(t, "{\"time\":\"");
    sim_tx_time_7z(t, si->t);
    SIM_LIT(t, "\",\"resourceId\":\"/tenants/");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "/providers/Microsoft.aadiam\",\"operationName\":\"Sign-in activity\","
               "\"operationVersion\":\"1.0\",\"category\":\"");
    sim_tx_s(t, cat_name[si->cat]);
    SIM_LIT(t, "\",\"tenantId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"resultType\":\"");
    sim_tx_u64(t, (uint64_t)si->err);
    SIM_LIT(t, "\",\"resultSignature\":\"None\",");
    if (si->err) kv(t, "\"resultDescription\":", sim_err_reason(si->err)), sim_tx_c(t, ',');
    SIM_LIT(t, "\"durationMs\":0,\"callerIpAddress\":\"");
    sim_tx_ip(t, si->ip);
    SIM_LIT(t, "\",\"correlationId\":\"");
    sim_tx_guid(t, si->corr);
    SIM_LIT(t, "\",\"identity\":\"");
    if (user)
        sim_tx_jsons(t, si->user ? si->user->display : "");
    else
        sim_tx_jsons(t, si->app->name);
    SIM_LIT(t, "\",\"Level\":4,\"location\":\"");
    sim_tx_s(t, sim_ip_city(si->ip)->country);
    SIM_LIT(t, "\",\"properties\":{\"id\":\"");
    sim_tx_guid(t, si->id);
    SIM_LIT(t, "\",\"createdDateTime\":\"");
    sim_tx_time_7off(t, si->t);
    sim_tx_c(t, '"');
    if (user) {
        const char *upn = si->upn_override ? si->upn_override : si->user->upn;
        SIM_LIT(t, ",\"userDisplayName\":\"");
        if (si->user && !si->upn_override) sim_tx_jsons(t, si->user->display);
        SIM_LIT(t, "\",\"userPrincipalName\":\"");
        sim_tx_jsons(t, upn);
        SIM_LIT(t, "\",\"userId\":\"");
        if (si->user && !si->upn_override) sim_tx_guid(t, si->user->oid);
        SIM_LIT(t, "\",\"userType\":\"Member\",\"appId\":\"");
        sim_tx_s(t, si->client_id);
        SIM_LIT(t, "\",\"appDisplayName\":\"");
        sim_tx_s(t, si->client_name);
        sim_tx_c(t, '"');
    } else {
        SIM_LIT(t, ",\"appId\":\"");
        sim_tx_guid(t, si->app->app_id);
        SIM_LIT(t, "\",\"appDisplayName\":\"");
        sim_tx_jsons(t, si->app->name);
        SIM_LIT(t, "\",\"servicePrincipalId\":\"");
        sim_tx_guid(t, si->app->sp_id);
        SIM_LIT(t, "\",\"servicePrincipalName\":\"");
        sim_tx_jsons(t, si->app->name);
        sim_tx_c(t, '"');
        if (si->cat == SI_MI) SIM_LIT(t, ",\"managedIdentityType\":\"SystemAssigned\"");
    }
    SIM_LIT(t, ",\"ipAddress\":\"");
    sim_tx_ip(t, si->ip);
    SIM_LIT(t, "\",\"autonomousSystemNumber\":");
    sim_tx_u64(t, sim_ip_net(si->ip)->asn);
    SIM_LIT(t, ",\"correlationId\":\"");
    sim_tx_guid(t, si->corr);
    SIM_LIT(t, "\",\"originalRequestId\":\"");
    sim_tx_guid(t, si->id);
    SIM_LIT(t, "\",\"uniqueTokenIdentifier\":\"");
    sim_tx_s(t, uti);
    SIM_LIT(t, "\",\"resourceDisplayName\":\"");
    sim_tx_s(t, sim_res_name[si->res]);
    SIM_LIT(t, "\",\"resourceId\":\"");
    sim_tx_s(t, sim_res_id[si->res]);
    SIM_LIT(t, "\",\"resourceTenantId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",\"homeTenantId\":\"");
    sim_tx_guid(t, tn->id);
    SIM_LIT(t, "\",");
    status(t, si->err);
    sim_tx_c(t, ',');
    location(t, si->ip);
    if (user) {
        const struct sim_devinfo *di = si->dev ? sim_devinfo(si->dev->kind) : NULL;
        SIM_LIT(t, ",\"clientAppUsed\":\"");
        sim_tx_s(t, si->client_used ? si->client_used : (di ? di->client_used : "Browser"));
        SIM_LIT(t, "\",\"userAgent\":\"");
        sim_tx_jsons(t, si->ua ? si->ua : (di ? di->ua : ""));
        SIM_LIT(t, "\",\"deviceDetail\":{\"deviceId\":\"");
        if (si->dev && si->dev->managed) sim_tx_guid(t, si->dev->id);
        SIM_LIT(t, "\",\"displayName\":\"");
        if (si->dev && si->dev->managed && si->user) {
            SIM_LIT(t, "LT-");
            sim_tx_hex(t, si->dev->id, 3, true);
        }
        SIM_LIT(t, "\",\"operatingSystem\":\"");
        sim_tx_s(t, di ? di->os : "Windows10");
        SIM_LIT(t, "\",\"browser\":\"");
        sim_tx_s(t, di ? di->browser : "Chrome 122.0.0");
        SIM_LIT(t, "\",\"isCompliant\":");
        sim_tx_s(t, si->dev && si->dev->managed ? "true" : "false");
        SIM_LIT(t, ",\"isManaged\":");
        sim_tx_s(t, si->dev && si->dev->managed ? "true" : "false");
        SIM_LIT(t, ",\"trustType\":\"");
        if (si->dev && si->dev->managed && di) sim_tx_s(t, di->trust);
        SIM_LIT(t, "\"},\"isInteractive\":");
        sim_tx_s(t, si->cat == SI_INT ? "true" : "false");
        SIM_LIT(t, ",\"authenticationRequirement\":\"");
        sim_tx_s(t, si->mfa ? "multiFactorAuthentication" : "singleFactorAuthentication");
        SIM_LIT(t, "\",\"authenticationProtocol\":\"");
        sim_tx_s(t, si->protocol ? si->protocol : "none");
        SIM_LIT(t, "\",\"incomingTokenType\":\"");
        sim_tx_s(t, si->incoming ? si->incoming : "none");
        SIM_LIT(t, "\",\"clientCredentialType\":\"none\",\"sessionId\":\"");
        if (si->session) sim_tx_guid(t, si->session);
        SIM_LIT(t, "\",\"conditionalAccessStatus\":\"");
        sim_tx_s(t, si->err == 0 && si->mfa ? "success" : "notApplied");
        SIM_LIT(t, "\",\"crossTenantAccessType\":\"none\"");
    } else {
        SIM_LIT(t, ",\"isInteractive\":false,\"clientCredentialType\":\"");
        sim_tx_s(t, si->cat == SI_MI ? "managedIdentity"
                    : si->app->cert  ? "certificate"
                                     : "clientSecret");
        SIM_LIT(t, "\",\"conditionalAccessStatus\":\"notApplied\"");
    }
    SIM_LIT(t, ",\"tokenIssuerType\":\"AzureAD\",\"tokenIssuerName\":\"\","
               "\"riskDetail\":\"none\",\"riskLevelAggregated\":\"none\","
               "\"riskLevelDuringSignIn\":\"none\",\"riskState\":\"none\","
               "\"riskEventTypes_v2\":[],\"processingTimeInMilliseconds\":");
    sim_tx_u64(t, 40 + (si->id[5] % 200));
    SIM_LIT(t, "}}");
    MH_TRY(sim_rec_end(S, si->t));
    if (si->cat == SI_INT) MH_TRY(sim_emit_sts(S, si));
    return MH_OK;
}
