/*
 * tests/unit/test_normalize.c -- normalize/: identifiers, classification, time,
 * entities, field paths (every folding rule, JSON in strings), leaves,
 * allocation failures.
 *
 * Records are written with ' for " (and \' for an escaped quote inside a
 * JSON string) to keep the tables readable; rec() converts them.
 */
#include <stdlib.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "base/time.h"
#include "ingest/json.h"
#include "ingest/reader.h"
#include "mailhound/limits.h"
#include "mh_test.h"
#include "normalize/event.h"
#include "normalize/ident.h"
#include "normalize/stream.h"

/* ---- helpers ---- */

#define MAXREC 8192
#define KEYLIT(s) s, sizeof(s) - 1

struct trec {
    char text[MAXREC];
    struct mh_record r;
};

static void rec(struct trec *t, const char *tmpl, enum mh_format fmt)
{
    size_t n = strlen(tmpl);
    if (n >= MAXREC) n = MAXREC - 1;
    for (size_t i = 0; i < n; i++) t->text[i] = tmpl[i] == '\'' ? '"' : tmpl[i];
    t->text[n] = '\0';
    memset(&t->r, 0, sizeof t->r);
    t->r.json = t->text;
    t->r.json_len = (uint32_t)n;
    t->r.raw = t->text;
    t->r.raw_len = (uint32_t)n;
    t->r.format = (uint16_t)fmt;
    t->r.number = 1;
    t->r.line = 1;
}

static mh_time T(const char *s)
{
    mh_time t = MH_TIME_NONE;
    if (s && mh_time_parse(s, strlen(s), &t) != MH_OK) return MH_TIME_NONE;
    return t;
}

/* "name=value|..." of every present entity, in mh_entity order. */
static mh_status entities(struct mh_event *ev, char *out, size_t cap)
{
    size_t n = 0;
    out[0] = '\0';
    for (int e = 0; e < MH_ENT__COUNT; e++) {
        struct mh_slice v;
        mh_status st = mh_event_entity(ev, (enum mh_entity)e, &v);
        if (st == MH_ENOTFOUND) continue;
        if (st) return st;
        int k = snprintf(out + n, cap - n, "%s%s=%.*s", n ? "|" : "",
                         mh_entity_name((enum mh_entity)e), (int)v.len, v.ptr);
        if (k > 0) n += (size_t)k;
        if (n >= cap) n = cap - 1;
    }
    return MH_OK;
}

struct collect {
    char buf[4096];
    size_t n;
    int count;
};

static bool collect_value(void *ctx, const struct mh_value *v)
{
    struct collect *c = ctx;
    int k = snprintf(c->buf + c->n, sizeof c->buf - c->n, "%s%.*s", c->count ? "|" : "",
                     (int)v->text.len, v->text.ptr);
    if (k > 0) c->n += (size_t)k;
    if (c->n >= sizeof c->buf) c->n = sizeof c->buf - 1;
    c->count++;
    return false;
}

/* All values at path joined with '|' ("" when none). */
static const char *get_all(struct mh_event *ev, const char *path, struct collect *c)
{
    memset(c, 0, sizeof *c);
    bool found = false;
    mh_status st = mh_event_get(ev, path, strlen(path), collect_value, c, &found);
    if (st) snprintf(c->buf, sizeof c->buf, "<%s>", mh_status_str(st));
    CHECK(found == (c->count > 0) || st);
    return c->buf;
}

/* ---- identifiers ---- */

static void t_ip(void)
{
    static const struct {
        const char *in, *out;
        int family, port;
    } cases[] = {
        {"1.2.3.4", "1.2.3.4", 4, -1},
        {"175.45.176.99:17362", "175.45.176.99", 4, 17362},
        {" 10.0.0.1 ", "10.0.0.1", 4, -1},
        {"[2a09:bac5:114:105::1a:9b]:54809", "2a09:bac5:114:105::1a:9b", 6, 54809},
        {"[2603:1036:4:3f::5]:1672", "2603:1036:4:3f::5", 6, 1672},
        {"2a09:bac1:820:8::1a:9c", "2a09:bac1:820:8::1a:9c", 6, -1},
        {"2603:10b6:5:345::11", "2603:10b6:5:345::11", 6, -1},
        {"::ffff:1.2.3.4", "1.2.3.4", 4, -1},
        {"::FFFF:175.45.176.99", "175.45.176.99", 4, -1},
        {"0:0:0:0:0:ffff:a00:1", "10.0.0.1", 4, -1},
        {"[::ffff:1.2.3.4]:80", "1.2.3.4", 4, 80},
        {"2001:DB8:0:0:0:0:2:1", "2001:db8::2:1", 6, -1},
        {"2001:0db8:0000:0001:0001:0001:0001:0001", "2001:db8:0:1:1:1:1:1", 6, -1},
        {"2001:0:0:1:0:0:0:1", "2001:0:0:1::1", 6, -1},
        {"2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1", 6, -1},
        {"::", "::", 6, -1},
        {"::1", "::1", 6, -1},
        {"[::1]", "::1", 6, -1},
        {"1::", "1::", 6, -1},
        {"1:0:0:0:0:0:0:0", "1::", 6, -1},
        {"0:0:0:0:0:0:0:1", "::1", 6, -1},
        {"64:ff9b::192.0.2.33", "64:ff9b::c000:221", 6, -1},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mh_ip ip;
        char buf[MH_IP_TEXT_MAX];
        mh_status st = mh_ip_parse(cases[i].in, strlen(cases[i].in), &ip);
        if (st) fprintf(stderr, "rejected: %s\n", cases[i].in);
        CHECK_INT(st, MH_OK);
        if (st) continue;
        mh_ip_format(&ip, buf);
        CHECK_STREQ(buf, cases[i].out);
        CHECK_INT(ip.family, cases[i].family);
        CHECK_INT(ip.port, cases[i].port);
        struct mh_slice c = mh_ip_canon(cases[i].in, strlen(cases[i].in), buf);
        CHECK_SLICE(c, cases[i].out);
    }
    /* not addresses: kept as trimmed text */
    static const char *bad[] = {"Unknown",
                                "256.1.1.1",
                                "1.2.3",
                                "01.2.3.4",
                                "1.2.3.4.5",
                                "1:2:3:4:5:6:7:8:9",
                                "1::2::3",
                                "fe80::1%eth0",
                                "[::1]:99999",
                                "1.2.3.4:",
                                "1.2.3.4:x",
                                ":1:2:3:4:5:6:7",
                                "1:2:3:4:5:6:7:",
                                "[::1",
                                "12345::",
                                "::1.2.3",
                                "1:2:3:4:5:6:7:8::",
                                "::ffff:1.2.3.4:80"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mh_ip ip;
        mh_status st = mh_ip_parse(bad[i], strlen(bad[i]), &ip);
        if (st != MH_EPARSE) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK_INT(st, MH_EPARSE);
        char buf[MH_IP_TEXT_MAX];
        CHECK_SLICE(mh_ip_canon(bad[i], strlen(bad[i]), buf), bad[i]);
    }
    char buf[MH_IP_TEXT_MAX];
    CHECK_SLICE(mh_ip_canon(KEYLIT("  junk \r\n"), buf), "junk");
    CHECK_SLICE(mh_ip_canon("", 0, buf), "");
}

static void t_guid_uti(void)
{
    struct mh_guid g;
    char txt[37], uti[23];
    CHECK_INT(mh_guid_parse(KEYLIT("{4D63C1C4-C95B-4D3C-8E0A-1271FD813E00}"), &g), MH_OK);
    mh_guid_format(&g, txt);
    CHECK_STREQ(txt, "4d63c1c4-c95b-4d3c-8e0a-1271fd813e00");
    CHECK_INT(mh_guid_parse(KEYLIT("4d63c1c4c95b4d3c8e0a1271fd813e00"), &g), MH_EPARSE);
    CHECK_INT(mh_guid_parse(KEYLIT("4d63c1c4-c95b-4d3c-8e0a-1271fd813e0g"), &g), MH_EPARSE);
    CHECK_INT(mh_guid_parse(KEYLIT("Directory_9cee9603-bca7"), &g), MH_EPARSE);

    /* §12 worked example, both ways */
    CHECK_INT(mh_uti_decode(KEYLIT("xMFjTVvJPE2OChJx_YE-AA"), &g), MH_UTI_B64URL_LE);
    mh_guid_format(&g, txt);
    CHECK_STREQ(txt, "4d63c1c4-c95b-4d3c-8e0a-1271fd813e00");
    CHECK_INT(mh_uti_encode(&g, uti), 22);
    CHECK_STREQ(uti, "xMFjTVvJPE2OChJx_YE-AA");
    /* older / sanitised encoding: base64 of the ASCII id */
    CHECK_INT(mh_uti_decode(KEYLIT("OTMzZjIwYzAtZWZkZi00NzdmLTk1ODYtZTVjYzU2NmQyZTAw"), &g),
              MH_UTI_B64_ASCII);
    mh_guid_format(&g, txt);
    CHECK_STREQ(txt, "933f20c0-efdf-477f-9586-e5cc566d2e00");
    /* opaque: wrong length, bad alphabet, non-canonical tail bits, not a GUID inside */
    CHECK_INT(mh_uti_decode(KEYLIT("abc"), &g), MH_UTI_OPAQUE);
    CHECK_INT(mh_uti_decode(KEYLIT("xMFjTVvJPE2OChJx_YE-A!"), &g), MH_UTI_OPAQUE);
    CHECK_INT(mh_uti_decode(KEYLIT("xMFjTVvJPE2OChJx/YE+AA"), &g), MH_UTI_OPAQUE);
    CHECK_INT(mh_uti_decode(KEYLIT("xMFjTVvJPE2OChJx_YE-AB"), &g), MH_UTI_OPAQUE);
    CHECK_INT(mh_uti_decode(KEYLIT("QUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFBQUFB"), &g),
              MH_UTI_OPAQUE);
    /* round trip over pseudo-random GUIDs */
    uint64_t x = 0x9E3779B97F4A7C15u;
    int ok = 0;
    for (int i = 0; i < 2000; i++) {
        struct mh_guid a, b;
        for (int k = 0; k < 16; k++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            a.b[k] = (uint8_t)x;
        }
        mh_uti_encode(&a, uti);
        ok += mh_uti_decode(uti, 22, &b) == MH_UTI_B64URL_LE && memcmp(&a, &b, 16) == 0;
    }
    CHECK_INT(ok, 2000);
}

static void t_operation_key(void)
{
    static const struct {
        const char *in, *out;
    } cases[] = {
        {"Add member to role.", "add member to role"},
        {"Update application \xE2\x80\x93 Certificates and secrets management ",
         "update application - certificates and secrets management"},
        {"Update application - Certificates and secrets management",
         "update application - certificates and secrets management"},
        {"A \xE2\x80\x94 B", "a - b"},
        {"  Consent to application. ", "consent to application"},
        {"Foo..", "foo."},
        {"Set-Mailbox", "set-mailbox"},
        {"MailItemsAccessed", "mailitemsaccessed"},
        {"\xC3\x89t\xC3\xA9.", "\xC3\x89t\xC3\xA9"}, /* non-ASCII kept as is */
        {"\xE2\x80", "\xE2\x80"},                    /* truncated sequence kept */
        {".", ""},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char out[128];
        size_t n = mh_operation_key(cases[i].in, strlen(cases[i].in), out);
        CHECK_MEM(out, n, cases[i].out);
    }
}

/* ---- classification, time, entities ---- */

struct kcase {
    const char *name;
    enum mh_format fmt;
    const char *json;
    const char *kind;
    const char *time; /* NULL: MH_TIME_NONE */
    uint32_t flags;
    const char *ents;
};

static const struct kcase kcases[] = {
    {"ual exchange admin", MH_FMT_JSONL,
     "{'CreationTime':'2023-07-23T12:32:53','Id':'97fc1f52-4cd1-498b-f05e-08db8b78efd7',"
     "'Operation':'Add-MailboxPermission','OrganizationId':'8D4121ED-0000-4000-8000-000000000001',"
     "'RecordType':1,'ResultStatus':'True','UserKey':'10032002643F6746','UserType':2,'Version':1,"
     "'Workload':'Exchange','ClientIP':'[2a09:bac5:114:105::1a:9b]:54809',"
     "'UserId':'stinger@contoso.onmicrosoft.com','AppId':'fb78d390-0c51-40cd-8e17-fdbfab77341b',"
     "'ClientAppId':'','Parameters':[{'Name':'Identity','Value':'Henrietta@contoso.onmicrosoft.com'"
     "},"
     "{'Name':'AccessRights','Value':'FullAccess'}],'SessionId':'9c3eaae9-a913-4161-b3f5-"
     "e25c7da47797'}",
     "ual.exchange_admin", "2023-07-23T12:32:53Z", 0,
     "user=stinger@contoso.onmicrosoft.com|ip=2a09:bac5:114:105::1a:9b|"
     "app_id=fb78d390-0c51-40cd-8e17-fdbfab77341b|session_id=9c3eaae9-a913-4161-b3f5-e25c7da47797|"
     "tenant=8d4121ed-0000-4000-8000-000000000001|operation=Add-MailboxPermission|"
     "operation_key=add-mailboxpermission"},
    {"ual sts logon", MH_FMT_JSONL,
     "{'CreationTime':'2023-07-23T12:13:33','Id':'F3D31AD2-1cd5-4a62-a296-b11e0d250700',"
     "'Operation':'UserLoggedIn','RecordType':15,'ResultStatus':'Success','Workload':'"
     "AzureActiveDirectory',"
     "'ClientIP':'2a09:bac1:820:8::1a:9c','ObjectId':'00000002-0000-0ff1-ce00-000000000000',"
     "'UserId':'Henrietta@contoso.onmicrosoft.com','ApplicationId':'00000002-0000-0ff1-ce00-"
     "000000000000',"
     "'DeviceProperties':[{'Name':'OS','Value':'Windows "
     "10'},{'Name':'SessionId','Value':'7cf18d3a-5bd6-4236-b966-ae2138f12851'}],"
     "'ErrorNumber':'0'}",
     "ual.entra_logon", "2023-07-23T12:13:33Z", 0,
     "user=Henrietta@contoso.onmicrosoft.com|ip=2a09:bac1:820:8::1a:9c|"
     "app_id=00000002-0000-0ff1-ce00-000000000000|session_id=7cf18d3a-5bd6-4236-b966-ae2138f12851|"
     "token_id=f3d31ad2-1cd5-4a62-a296-b11e0d250700|operation=UserLoggedIn|operation_key="
     "userloggedin"},
    {"ual failed logon by operation", MH_FMT_JSONL,
     "{'CreationTime':'2023-07-23T12:13:34','Operation':'UserLoginFailed','RecordType':99,"
     "'Workload':'AzureActiveDirectory','UserId':'Adelecontoso.onmicrosoft.com'}",
     "ual.entra_logon", "2023-07-23T12:13:34Z", 0,
     "user=Adelecontoso.onmicrosoft.com|operation=UserLoginFailed|operation_key=userloginfailed"},
    {"ual mailitemsaccessed", MH_FMT_JSON_ARRAY,
     "{'CreationTime':'2024-01-12T09:20:00','Operation':'MailItemsAccessed','RecordType':50,"
     "'Workload':'Exchange','UserId':'exec@victim.example','MailboxOwnerUPN':'exec@victim.example',"
     "'ClientIPAddress':'::ffff:203.0.113.5','ClientIP':'','AppId':'',"
     "'ClientAppId':'','AppAccessContext':{'AADSessionId':'0b6b2a39-0000-4000-8000-00000000000a',"
     "'APIId':'00000003-0000-0000-c000-000000000000','ClientAppId':'D3590ED6-52B3-4102-AEFF-"
     "AAD2292AB01C',"
     "'UniqueTokenId':'xMFjTVvJPE2OChJx_YE-AA','IssuedAtTime':'2024-01-12T09:15:00'},"
     "'OperationProperties':[{'Name':'MailAccessType','Value':'Bind'},{'Name':'IsThrottled','Value'"
     ":'False'}]}",
     "ual.mailbox", "2024-01-12T09:20:00Z", 0,
     "user=exec@victim.example|ip=203.0.113.5|client_app_id=d3590ed6-52b3-4102-aeff-aad2292ab01c|"
     "session_id=0b6b2a39-0000-4000-8000-00000000000a|token_id=4d63c1c4-c95b-4d3c-8e0a-"
     "1271fd813e00|"
     "mailbox=exec@victim.example|operation=MailItemsAccessed|operation_key=mailitemsaccessed"},
    {"ual opaque uti kept with case", MH_FMT_JSONL,
     "{'CreationTime':'2024-01-12T09:20:00','Operation':'Send','RecordType':2,'Workload':'Exchange'"
     ","
     "'AppAccessContext':{'UniqueTokenId':'AbC-opaque'}}",
     "ual.mailbox", "2024-01-12T09:20:00Z", 0,
     "token_id=AbC-opaque|operation=Send|operation_key=send"},
    {"ual directory", MH_FMT_JSONL,
     "{'CreationTime':'2023-07-23T06:46:28','Operation':'Add member to role.','RecordType':8,"
     "'Workload':'AzureActiveDirectory','UserId':'stinger@contoso.onmicrosoft.com',"
     "'ActorIpAddress':'[2001:db8:0:0::5]:443',"
     "'ModifiedProperties':[{'Name':'Role.DisplayName','NewValue':'Company "
     "Administrator','OldValue':''}]}",
     "ual.entra_directory", "2023-07-23T06:46:28Z", 0,
     "user=stinger@contoso.onmicrosoft.com|ip=2001:db8::5|operation=Add member to role.|"
     "operation_key=add member to role"},
    {"ual sharepoint", MH_FMT_JSONL,
     "{'CreationTime':'2023-07-23T06:46:28','Operation':'FileAccessed','RecordType':6,"
     "'Workload':'SharePoint','UserId':'a@b.example','ClientIP':'198.51.100.1'}",
     "ual.other", "2023-07-23T06:46:28Z", 0,
     "user=a@b.example|ip=198.51.100.1|operation=FileAccessed|operation_key=fileaccessed"},
    {"ual bad time", MH_FMT_JSONL,
     "{'CreationTime':'yesterday','Operation':'Send','RecordType':2,'Workload':'Exchange'}",
     "ual.mailbox", NULL, MH_EVF_BAD_TIME, "operation=Send|operation_key=send"},
    {"purview8 row", MH_FMT_CSV_PURVIEW8,
     "{'RecordId':'97fc1f52-4cd1-498b-f05e-08db8b78efd7','CreationDate':'2023-07-23T12:32:53."
     "0000000Z ',"
     "'RecordType':'1','Operation':'Set-Mailbox','UserId':'admin@contoso.example',"
     "'AuditData':'{\\'CreationTime\\':\\'2023-07-23T12:40:00\\',\\'Operation\\':\\'Set-Mailbox\\',"
     "\\'RecordType\\':1,\\'Workload\\':\\'Exchange\\',\\'UserId\\':\\'admin@contoso.example\\',"
     "\\'ClientIP\\':\\'198.51.100.7:5000\\',\\'Parameters\\':[{\\'Name\\':\\'AuditLogAgeLimit\\',"
     "\\'Value\\':\\'1.00:00:00\\'}]}'}",
     "ual.exchange_admin", "2023-07-23T12:40:00Z", MH_EVF_UNWRAPPED,
     "user=admin@contoso.example|ip=198.51.100.7|operation=Set-Mailbox|operation_key=set-mailbox"},
    {"purview4 row without CreationTime", MH_FMT_CSV_PURVIEW4,
     "{'CreationDate':'9/20/2023 4:05:03 AM','UserIds':'u@x.example','Operations':'New-InboxRule',"
     "'AuditData':'{\\'Operation\\':\\'New-InboxRule\\',\\'RecordType\\':1}'}",
     "ual.exchange_admin", "2023-09-20T04:05:03Z", MH_EVF_UNWRAPPED,
     "user=u@x.example|operation=New-InboxRule|operation_key=new-inboxrule"},
    {"search-ual object with AuditData object", MH_FMT_JSON_ARRAY,
     "{'RunspaceId':'x','RecordType':'ExchangeItem','CreationDate':'2023-09-20T04:05:03',"
     "'UserIds':'u@x.example','Operations':'Send',"
     "'AuditData':{'CreationTime':'2023-09-20T04:05:01','Operation':'Send','RecordType':2,"
     "'Workload':'Exchange','UserId':'u@x.example'}}",
     "ual.mailbox", "2023-09-20T04:05:01Z", MH_EVF_UNWRAPPED,
     "user=u@x.example|operation=Send|operation_key=send"},
    {"wrapper with empty AuditData", MH_FMT_CSV_PURVIEW4,
     "{'CreationDate':'9/20/2023 4:05:03 AM','UserIds':'u@x.example','Operations':'UserLoggedIn',"
     "'AuditData':''}",
     "ual.entra_logon", "2023-09-20T04:05:03Z", 0,
     "user=u@x.example|operation=UserLoggedIn|operation_key=userloggedin"},
    {"azure monitor interactive", MH_FMT_AZURE_RECORDS,
     "{'time':'2022-01-24T05:10:08.6816663Z','resourceId':'/tenants/"
     "4bbb79f7-0000-4000-8000-000000000000/providers/Microsoft.aadiam',"
     "'operationName':'Sign-in "
     "activity','category':'SignInLogs','tenantId':'4BBB79F7-0000-4000-8000-000000000000',"
     "'resultType':'0','callerIpAddress':'1.128.3.4',"
     "'properties':{'id':'933f20c0-efdf-477f-9586-e5cc566d2e00','createdDateTime':'2022-01-24T05:"
     "10:07.5+00:00',"
     "'userPrincipalName':'m@outlook.example','appId':'c44b4083-3bb0-49c1-b47d-974e53cbdf3c',"
     "'ipAddress':'1.128.3.4','status':{'errorCode':0},'isInteractive':true,"
     "'uniqueTokenIdentifier':'OTMzZjIwYzAtZWZkZi00NzdmLTk1ODYtZTVjYzU2NmQyZTAw'}}",
     "signin.interactive", "2022-01-24T05:10:07.5Z", 0,
     "user=m@outlook.example|ip=1.128.3.4|app_id=c44b4083-3bb0-49c1-b47d-974e53cbdf3c|"
     "token_id=933f20c0-efdf-477f-9586-e5cc566d2e00|tenant=4bbb79f7-0000-4000-8000-000000000000|"
     "operation=Sign-in activity|operation_key=sign-in activity"},
    {"azure monitor noninteractive", MH_FMT_AZURE_RECORDS,
     "{'time':'2025-01-01T00:00:00Z','category':'NonInteractiveUserSignInLogs','operationName':'"
     "Sign-in activity',"
     "'properties':{'createdDateTime':'bogus','sessionId':'7cf18d3a-5bd6-4236-b966-ae2138f12851',"
     "'uniqueTokenIdentifier':'xMFjTVvJPE2OChJx_YE-AA'}}",
     "signin.noninteractive", NULL, MH_EVF_BAD_TIME,
     "session_id=7cf18d3a-5bd6-4236-b966-ae2138f12851|token_id=4d63c1c4-c95b-4d3c-8e0a-"
     "1271fd813e00|"
     "operation=Sign-in activity|operation_key=sign-in activity"},
    {"azure monitor service principal", MH_FMT_AZURE_RECORDS,
     "{'time':'2025-01-01T00:00:00Z','category':'ServicePrincipalSignInLogs','properties':{}}",
     "signin.service_principal", "2025-01-01T00:00:00Z", 0, ""},
    {"azure monitor microsoft service principal", MH_FMT_AZURE_RECORDS,
     "{'time':'2025-01-01T00:00:00Z','category':'MicrosoftServicePrincipalSignInLogs','properties':"
     "{}}",
     "signin.service_principal", "2025-01-01T00:00:00Z", 0, ""},
    {"azure monitor managed identity", MH_FMT_AZURE_RECORDS,
     "{'time':'2025-01-01T00:00:00Z','category':'ManagedIdentitySignInLogs','properties':{}}",
     "signin.managed_identity", "2025-01-01T00:00:00Z", 0, ""},
    {"azure monitor audit", MH_FMT_AZURE_RECORDS,
     "{'time':'2022-01-22T18:15:02.5168093Z','operationName':'Add service principal credentials',"
     "'category':'AuditLogs','callerIpAddress':'1.128.3.4','properties':{'id':'Directory_x_1',"
     "'activityDisplayName':'Add service principal "
     "credentials','activityDateTime':'2022-01-22T18:15:02.5168093+00:00',"
     "'initiatedBy':{'app':{'appId':null,'displayName':'Managed Service Identity'}}}}",
     "audit.directory", "2022-01-22T18:15:02.516809Z", 0,
     "ip=1.128.3.4|operation=Add service principal credentials|"
     "operation_key=add service principal credentials"},
    {"azure monitor other category", MH_FMT_AZURE_RECORDS,
     "{'time':'2025-01-01T00:00:00Z','category':'ProvisioningLogs','properties':{}}", "unknown",
     "2025-01-01T00:00:00Z", 0, ""},
    {"graph signin noninteractive", MH_FMT_GRAPH_PAGE,
     "{'id':'4d63c1c4-c95b-4d3c-8e0a-1271fd813e00','createdDateTime':'2025-03-01T10:00:00Z',"
     "'appId':'d3590ed6-52b3-4102-aeff-aad2292ab01c','status':{'errorCode':0},'isInteractive':"
     "false,"
     "'userPrincipalName':'exec@victim.example','ipAddress':'2001:db8::1','resourceTenantId':'t1'}",
     "signin.noninteractive", "2025-03-01T10:00:00Z", 0,
     "user=exec@victim.example|ip=2001:db8::1|app_id=d3590ed6-52b3-4102-aeff-aad2292ab01c|"
     "token_id=4d63c1c4-c95b-4d3c-8e0a-1271fd813e00|tenant=t1"},
    {"graph signin event types", MH_FMT_GRAPH_PAGE,
     "{'id':'x','createdDateTime':'2025-03-01T10:00:00Z','appId':'a','status':{},"
     "'isInteractive':true,'signInEventTypes':['servicePrincipal']}",
     "signin.service_principal", "2025-03-01T10:00:00Z", 0, "app_id=a|token_id=x"},
    {"graph directory audit", MH_FMT_GRAPH_PAGE,
     "{'id':'Directory_1','activityDisplayName':'Consent to "
     "application','activityDateTime':'2025-03-01T10:00:00Z',"
     "'loggedByService':'Core "
     "Directory','initiatedBy':{'user':{'userPrincipalName':'v@victim.example',"
     "'ipAddress':'203.0.113.9'}},'additionalDetails':[{'key':'User-Agent','value':'curl'}]}",
     "audit.directory", "2025-03-01T10:00:00Z", 0,
     "user=v@victim.example|ip=203.0.113.9|operation=Consent to application|"
     "operation_key=consent to application"},
    {"la signinlogs row", MH_FMT_CSV_LOGANALYTICS,
     "{'TimeGenerated':'4/28/2021, 2:54:37.000 PM','Type':'SigninLogs','OperationName':'Sign-in "
     "activity',"
     "'UserId':'6b5e2a9f-0000-4000-8000-000000000001','UserPrincipalName':'adelev@m365x816222."
     "onmicrosoft.com',"
     "'IPAddress':'175.45.176.99','Id':'D655A0B1-dcd7-4fea-af0c-c8d5c82a7917','TenantId':'"
     "workspace',"
     "'AADTenantId':'aad-tenant','AppId':'c44b4083-3bb0-49c1-b47d-974e53cbdf3c','IsInteractive':'"
     "TRUE'}",
     "signin.interactive", "2021-04-28T14:54:37Z", 0,
     "user=adelev@m365x816222.onmicrosoft.com|ip=175.45.176.99|app_id=c44b4083-3bb0-49c1-b47d-"
     "974e53cbdf3c|"
     "token_id=d655a0b1-dcd7-4fea-af0c-c8d5c82a7917|tenant=aad-tenant|operation=Sign-in activity|"
     "operation_key=sign-in activity"},
    {"la signin tables", MH_FMT_CSV_LOGANALYTICS,
     "{'Type':'AADNonInteractiveUserSignInLogs','CreatedDateTime':'2025-03-01T10:00:00Z'}",
     "signin.noninteractive", "2025-03-01T10:00:00Z", 0, ""},
    {"la sp table", MH_FMT_CSV_LOGANALYTICS, "{'Type':'AADServicePrincipalSignInLogs'}",
     "signin.service_principal", NULL, 0, ""},
    {"la mi table", MH_FMT_CSV_LOGANALYTICS, "{'Type':'AADManagedIdentitySignInLogs'}",
     "signin.managed_identity", NULL, 0, ""},
    {"la officeactivity names", MH_FMT_CSV_LOGANALYTICS,
     "{'Type':'OfficeActivity','RecordType':'ExchangeAdmin','Operation':'New-InboxRule',"
     "'OfficeWorkload':'Exchange','TimeGenerated':'4/28/2021, 2:33:14.000 "
     "PM','ClientIP':'175.45.176.99:17362',"
     "'UserId':'AdeleV@M365x816222.OnMicrosoft.com','OrganizationId':'org'}",
     "ual.exchange_admin", "2021-04-28T14:33:14Z", 0,
     "user=AdeleV@M365x816222.OnMicrosoft.com|ip=175.45.176.99|tenant=org|operation=New-InboxRule|"
     "operation_key=new-inboxrule"},
    {"la officeactivity numbers", MH_FMT_CSV_LOGANALYTICS,
     "{'Type':'OfficeActivity','RecordType':'50','Operation':'MailItemsAccessed','OfficeWorkload':'"
     "Exchange',"
     "'TimeGenerated':'4/28/2021, 2:29:15.000 PM','Client_IPAddress':'175.45.176.99',"
     "'MailboxOwnerUPN':'AdeleV@M365x816222.OnMicrosoft.com'}",
     "ual.mailbox", "2021-04-28T14:29:15Z", 0,
     "ip=175.45.176.99|mailbox=AdeleV@M365x816222.OnMicrosoft.com|operation=MailItemsAccessed|"
     "operation_key=mailitemsaccessed"},
    {"la officeactivity sharepoint", MH_FMT_CSV_LOGANALYTICS,
     "{'Type':'OfficeActivity','RecordType':'SharePointFileOperation','Operation':'FileAccessed',"
     "'OfficeWorkload':'SharePoint','TimeGenerated':'4/28/2021, 2:29:15.000 PM'}",
     "ual.other", "2021-04-28T14:29:15Z", 0, "operation=FileAccessed|operation_key=fileaccessed"},
    {"la officeactivity group", MH_FMT_CSV_LOGANALYTICS,
     "{'Type':'OfficeActivity','RecordType':'ExchangeItemGroup','Operation':'MoveToDeletedItems',"
     "'TimeGenerated':'4/28/2021, 2:29:22.000 PM'}",
     "ual.mailbox", "2021-04-28T14:29:22Z", 0,
     "operation=MoveToDeletedItems|operation_key=movetodeleteditems"},
    {"la auditlogs hunting row, no time", MH_FMT_CSV_LOGANALYTICS,
     "{'OperationName':'Update application \xE2\x80\x93 Certificates and secrets management ',"
     "'InitiatedBy':'{\\'user\\':{\\'displayName\\':null,\\'userPrincipalName\\':\\'victim@example."
     "onmicrosoft.com\\',"
     "\\'ipAddress\\':\\'45.153.160.2\\'}}','Type':'AuditLogs'}",
     "audit.directory", NULL, 0,
     "user=victim@example.onmicrosoft.com|ip=45.153.160.2|"
     "operation=Update application \xE2\x80\x93 Certificates and secrets management|"
     "operation_key=update application - certificates and secrets management"},
    {"trace v2 row", MH_FMT_CSV_TRACE,
     "{'Organization':'victim.example','MessageId':'<a@b>','Received':'1/12/2024 9:14:03 AM',"
     "'SenderAddress':'exec@victim.example','RecipientAddress':'p@partner.example','Status':'"
     "Delivered',"
     "'FromIP':'198.51.100.7','MessageTraceId':'5b0c2d6e-1f3a-4c6e-9d21-08dc1c2a9f11'}",
     "trace.message", "2024-01-12T09:14:03Z", 0, "ip=198.51.100.7"},
    {"trace summary row", MH_FMT_CSV_TRACE_SUMMARY,
     "{'origin_timestamp_utc':'2024-01-12T09:14:03.1234567Z','sender_address':'exec@victim.example'"
     ","
     "'network_message_id':'5b0c2d6e-1f3a-4c6e-9d21-08dc1c2a9f11','original_client_ip':'198.51.100."
     "7'}",
     "trace.message", "2024-01-12T09:14:03.123456Z", 0, "ip=198.51.100.7"},
    {"trace extended row", MH_FMT_CSV_TRACE_EXTENDED,
     "{'date_time_utc':'2024-01-12T09:14:04Z','client_ip':'10.1.2.3','tenant_id':'T'}",
     "trace.message", "2024-01-12T09:14:04Z", 0, "ip=10.1.2.3|tenant=T"},
    {"trace row by format only", MH_FMT_CSV_TRACE, "{'Subject':'hello','Size':'10'}",
     "trace.message", NULL, 0, ""},
    /* Graph activity: the uti (SignInActivityId) decodes to the sign-in id
       (log-formats.md §12); the user is an object id; never LA TenantId */
    {"la graph activity", MH_FMT_JSONL,
     "{'Type':'MicrosoftGraphActivityLogs','TimeGenerated':'2025-03-01T10:07:00Z',"
     "'RequestMethod':'GET','RequestUri':'https://graph.microsoft.com/v1.0/me/messages',"
     "'AppId':'6F1C2B3A-4D5E-4F60-8A9B-0C1D2E3F4A5B','UserId':'0D000000-0000-4000-8000-0000000000DA',"
     "'IPAddress':'192.0.2.99','SignInActivityId':'xMFjTVvJPE2OChJx_YE-AA',"
     "'SessionId':'9C3EAAE9-A913-4161-B3F5-E25C7DA47797','TenantId':'workspace',"
     "'AadTenantId':'8D4121ED-0008-406D-BFF9-0D5BB312183C'}",
     "graph.activity", "2025-03-01T10:07:00Z", 0,
     "user=0d000000-0000-4000-8000-0000000000da|ip=192.0.2.99|app_id=6f1c2b3a-4d5e-4f60-8a9b-"
     "0c1d2e3f4a5b|session_id=9c3eaae9-a913-4161-b3f5-e25c7da47797|token_id=4d63c1c4-c95b-4d3c-"
     "8e0a-1271fd813e00|tenant=8d4121ed-0008-406d-bff9-0d5bb312183c|operation=GET|operation_key=get"},
    {"monitor graph activity", MH_FMT_JSONL,
     "{'time':'2025-03-01T10:07:01Z','category':'MicrosoftGraphActivityLogs',"
     "'operationName':'Microsoft Graph Activity','callerIpAddress':'192.0.2.99',"
     "'properties':{'timeGenerated':'2025-03-01T10:07:00Z','requestMethod':'POST',"
     "'requestUri':'https://graph.microsoft.com/v1.0/applications','appId':'a','userId':'',"
     "'servicePrincipalId':'sp','signInActivityId':'opaque-uti','tenantId':'t'}}",
     "graph.activity", "2025-03-01T10:07:00Z", 0,
     "ip=192.0.2.99|app_id=a|token_id=opaque-uti|tenant=t|operation=POST|operation_key=post"},
    {"graph activity row without its table name", MH_FMT_JSONL,
     "{'TimeGenerated':'2025-03-01T10:07:00Z','RequestUri':'/v1.0/me','SignInActivityId':'',"
     "'RequestMethod':'GET'}",
     "graph.activity", "2025-03-01T10:07:00Z", 0, "operation=GET|operation_key=get"},
    {"unknown", MH_FMT_JSONL, "{'foo':1,'time':'2025-01-01T00:00:00Z'}", "unknown",
     "2025-01-01T00:00:00Z", 0, ""},
};

static void t_classify(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    static struct trec t[sizeof kcases / sizeof kcases[0]];
    struct mh_event ev[sizeof kcases / sizeof kcases[0]];
    /* all events of the "batch" stay alive: init everything first, check after */
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        rec(&t[i], kcases[i].json, kcases[i].fmt);
        mh_error err;
        mh_error_clear(&err);
        mh_status st = mh_event_init(nz, &t[i].r, &ev[i], &err);
        if (st)
            fprintf(stderr, "case %s: %s (%s) at %llu\n", kcases[i].name, mh_status_str(st),
                    err.msg ? err.msg : "", (unsigned long long)err.offset);
        CHECK_INT(st, MH_OK);
        if (st) ev[i].rec = NULL;
    }
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        const struct kcase *k = &kcases[i];
        if (!ev[i].rec) continue;
        mh_test_current = k->name;
        CHECK_STREQ(mh_source_kind_name(ev[i].kind), k->kind);
        CHECK_INT(ev[i].time, T(k->time));
        CHECK_INT(ev[i].flags, k->flags);
        char ents[2048];
        CHECK_INT(entities(&ev[i], ents, sizeof ents), MH_OK);
        CHECK_STREQ(ents, k->ents);
    }
    mh_test_current = "classify";
    /* entity cache: the same slice comes back */
    struct mh_slice a, b;
    CHECK_INT(mh_event_entity(&ev[0], MH_ENT_IP, &a), MH_OK);
    CHECK_INT(mh_event_entity(&ev[0], MH_ENT_IP, &b), MH_OK);
    CHECK(a.ptr == b.ptr && a.len == b.len);
    CHECK_INT(mh_event_entity(&ev[0], MH_ENT_MAILBOX, &a), MH_ENOTFOUND);
    CHECK_INT(mh_event_entity(&ev[0], MH_ENT__COUNT, &a), MH_EINVAL);
    /* bad time: the rejected field is known */
    for (size_t i = 0; i < sizeof kcases / sizeof kcases[0]; i++) {
        if (!(ev[i].flags & MH_EVF_BAD_TIME)) continue;
        CHECK(ev[i].time_field != NULL);
        CHECK(ev[i].time_doc != NULL && ev[i].time_node != MH_JNONE);
    }
    CHECK_STREQ(mh_source_kind_name(MH_SRC__COUNT), "unknown");
    CHECK_STREQ(mh_entity_name(MH_ENT_OPERATION_KEY), "operation_key");
    mh_normalizer_reset(nz);
    mh_normalizer_free(nz);
    mh_normalizer_free(NULL);
}

static void t_malformed(void)
{
    static const struct {
        const char *json;
        enum mh_format fmt;
        mh_status st;
        long offset; /* -1: the AuditData string's start */
    } cases[] = {
        {"{'a':1,}", MH_FMT_JSONL, MH_EPARSE, 7},
        {"{'a':", MH_FMT_JSONL, MH_EPARSE, 5},
        {"[1]", MH_FMT_JSONL, MH_EPARSE, 0},
        {"'x'", MH_FMT_JSONL, MH_EPARSE, 0},
        {"{'CreationDate':'x','AuditData':'{bad'}", MH_FMT_CSV_PURVIEW4, MH_EPARSE, 34},
        {"{'CreationDate':'x','AuditData':'{\\'a\\':}'}", MH_FMT_CSV_PURVIEW4, MH_EPARSE, 33},
        {"{'CreationDate':'x','AuditData':'[1,2]'}", MH_FMT_CSV_PURVIEW4, MH_EPARSE, 33},
        {"{'CreationDate':'x','AuditData':'plain text'}", MH_FMT_CSV_PURVIEW4, MH_EPARSE, 33},
        {"{'CreationDate':'x','AuditData':42}", MH_FMT_CSV_PURVIEW4, MH_EPARSE, 32},
    };
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct trec t;
        struct mh_event ev;
        mh_error err;
        mh_error_clear(&err);
        rec(&t, cases[i].json, cases[i].fmt);
        mh_status st = mh_event_init(nz, &t.r, &ev, &err);
        if (st != cases[i].st) fprintf(stderr, "case %zu: %s\n", i, cases[i].json);
        CHECK_INT(st, cases[i].st);
        CHECK(err.msg != NULL);
        if (cases[i].offset) CHECK_INT(err.offset, cases[i].offset);
    }
    /* a good record after bad ones still works (no slot leaked) */
    struct trec t;
    struct mh_event ev;
    rec(&t, "{'RecordType':2,'Operation':'Send'}", MH_FMT_JSONL);
    CHECK_INT(mh_event_init(nz, &t.r, &ev, NULL), MH_OK);
    CHECK_INT(ev.kind, MH_SRC_UAL_MAILBOX);
    mh_normalizer_free(nz);
}

/* ---- field paths ---- */

static const char path_record[] =
    "{'a.b':{'c':1},'a':{'b':{'c':2}},'x':[{'y':1},{'y':[2,3]},{'z':0}],'n':[1,[2,3],[]],"
    "'k\\u0065y':'escaped key','num':15,'t':true,'nul':null,'e':'',"
    "'Parameters':[{'Name':'ForwardTo','Value':'evil@attacker.example'},"
    "{'Name':'DeliverToMailboxAndForward','Value':'True'},{'Name':'ForwardTo','Value':'second@x."
    "example'}],"
    "'ModifiedProperties':[{'Name':'Role.DisplayName','NewValue':'Company "
    "Administrator','OldValue':'old'},"
    "{'Name':'KeyDescription','NewValue':'[\\'[KeyIdentifier=1,KeyType=Password]\\']','OldValue':'["
    "]'}],"
    "'ExtendedProperties':[{'Name':'additionalDetails','Value':'{\\'UserType\\':\\'Member\\',"
    "\\'User-Agent\\':\\'Mozilla/5.0\\'}'},{'Name':'extendedAuditEventCategory','Value':'Role'}],"
    "'targetResources':[{'id':'t1','modifiedProperties':[{'displayName':'KeyDescription',"
    "'oldValue':null,'newValue':'[\\'[KeyIdentifier=2]\\']'},"
    "{'displayName':'Included Updated "
    "Properties','oldValue':null,'newValue':'\\'KeyDescription\\''}]}],"
    "'additionalDetails':[{'key':'User-Agent','value':'Graph "
    "Client'},{'key':'AppId','value':'a70a7931'}],"
    "'Folders':'[{\\'Path\\':\\'\\\\\\\\Inbox\\',\\'FolderItems\\':[{\\'InternetMessageId\\':\\'<"
    "m1@x>\\'},"
    "{\\'InternetMessageId\\':\\'<m2@x>\\'}]}]',"
    "'OperationProperties':'[{\\'Name\\':\\'MailAccessType\\',\\'Value\\':\\'Bind\\'}]',"
    "'Status':'{\\'errorCode\\':50057}','DeviceDetail':' {\\'browser\\':\\'Edge\\'}',"
    "'NotJson':'{not json','Text':'hello'}";

static void t_paths(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    struct trec t;
    struct mh_event ev;
    rec(&t, path_record, MH_FMT_JSONL);
    CHECK_INT(mh_event_init(nz, &t.r, &ev, NULL), MH_OK);
    struct collect c;
    static const struct {
        const char *path, *want;
    } cases[] = {
        /* exact keys, keys containing dots (both readings) */
        {"a.b.c", "1|2"},
        {"a.b", "{\"c\":1}|{\"c\":2}"},
        {"a", "{\"b\":{\"c\":2}}"},
        {"k\x65y", "escaped key"},
        {"num", "15"},
        {"t", "true"},
        {"nul", ""},
        {"e", ""},
        {"missing", ""},
        {"a.c", ""},
        {"num.x", ""},
        /* any-element */
        {"x.y", "1|2|3"},
        {"x.z", "0"},
        {"n", "1|2|3"},
        /* Name/Value, duplicates kept, names case-insensitive, keys exact */
        {"Parameters.ForwardTo", "evil@attacker.example|second@x.example"},
        {"Parameters.forwardto", "evil@attacker.example|second@x.example"},
        {"parameters.ForwardTo", ""},
        {"Parameters.DeliverToMailboxAndForward", "True"},
        {"Parameters.Name", "ForwardTo|DeliverToMailboxAndForward|ForwardTo"},
        /* ModifiedProperties: names with dots, NewValue default */
        {"ModifiedProperties.Role.DisplayName.NewValue", "Company Administrator"},
        {"ModifiedProperties.Role.DisplayName.OldValue", "old"},
        {"ModifiedProperties.Role.DisplayName", "Company Administrator"},
        {"ModifiedProperties.Role.DisplayName.newvalue", "Company Administrator"},
        {"ModifiedProperties.KeyDescription", "[\"[KeyIdentifier=1,KeyType=Password]\"]"},
        {"ModifiedProperties.Role", ""},
        /* Name/Value whose value is JSON text */
        {"ExtendedProperties.additionalDetails.UserType", "Member"},
        {"ExtendedProperties.additionalDetails.User-Agent", "Mozilla/5.0"},
        {"ExtendedProperties.extendedAuditEventCategory", "Role"},
        /* Graph modifiedProperties */
        {"targetResources.modifiedProperties.KeyDescription.newValue", "[\"[KeyIdentifier=2]\"]"},
        {"targetResources.modifiedProperties.KeyDescription.OldValue", ""},
        {"targetResources.modifiedProperties.KeyDescription", "[\"[KeyIdentifier=2]\"]"},
        {"targetResources.modifiedProperties.Included Updated Properties", "\"KeyDescription\""},
        {"targetResources.id", "t1"},
        /* key/value lists */
        {"additionalDetails.User-Agent", "Graph Client"},
        {"additionalDetails.AppId", "a70a7931"},
        /* JSON held in strings (Log Analytics dynamic columns) */
        {"Folders.Path", "\\Inbox"},
        {"Folders.FolderItems.InternetMessageId", "<m1@x>|<m2@x>"},
        {"OperationProperties.MailAccessType", "Bind"},
        {"Status.errorCode", "50057"},
        {"DeviceDetail.browser", "Edge"},
        {"NotJson.x", ""},
        {"Text.x", ""},
        {"Folders", "[{\"Path\":\"\\\\Inbox\",\"FolderItems\":[{\"InternetMessageId\":\"<m1@x>\"},"
                    "{\"InternetMessageId\":\"<m2@x>\"}]}]"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const char *got = get_all(&ev, cases[i].path, &c);
        if (strcmp(got, cases[i].want) != 0) fprintf(stderr, "path %s\n", cases[i].path);
        CHECK_STREQ(got, cases[i].want);
    }
    /* get_str: first string/number */
    struct mh_slice s;
    CHECK_INT(mh_event_get_str(&ev, "num", &s), MH_OK);
    CHECK_SLICE(s, "15");
    CHECK_INT(mh_event_get_str(&ev, "Parameters.ForwardTo", &s), MH_OK);
    CHECK_SLICE(s, "evil@attacker.example");
    CHECK_INT(mh_event_get_str(&ev, "t", &s), MH_ENOTFOUND);
    CHECK_INT(mh_event_get_str(&ev, "missing", &s), MH_ENOTFOUND);
    /* found without a callback; stopping early */
    bool found = false;
    CHECK_INT(mh_event_get(&ev, "x.y", 3, NULL, NULL, &found), MH_OK);
    CHECK(found);
    CHECK_INT(mh_event_get(&ev, "x.q", 3, NULL, NULL, &found), MH_OK);
    CHECK(!found);
    /* path length limit */
    static char longp[MH_MAX_FIELD_PATH + 2];
    memset(longp, 'a', sizeof longp - 1);
    CHECK_INT(mh_event_get(&ev, longp, sizeof longp - 1, NULL, NULL, &found), MH_ELIMIT);
    mh_normalizer_free(nz);
}

/* JSON-in-string nesting: level k holds {"a": <level k+1 as a string>}. */
static void t_nested_depth(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    for (int levels = 1; levels <= MH_JSON_MAX_NESTED_DEPTH + 2; levels++) {
        struct mh_buf a, b;
        mh_buf_init(&a, 1 << 20);
        mh_buf_init(&b, 1 << 20);
        CHECK_INT(mh_buf_puts(&a, "{\"v\":\"deep\"}"), MH_OK);
        for (int k = 0; k < levels; k++) {
            mh_buf_clear(&b);
            CHECK_INT(mh_buf_puts(&b, "{\"a\":\""), MH_OK);
            CHECK_INT(mh_json_escape(&b, a.data, a.len), MH_OK);
            CHECK_INT(mh_buf_puts(&b, "\"}"), MH_OK);
            mh_buf_clear(&a);
            CHECK_INT(mh_buf_append(&a, b.data, b.len), MH_OK);
        }
        struct mh_record r;
        memset(&r, 0, sizeof r);
        r.json = r.raw = a.data;
        r.json_len = r.raw_len = (uint32_t)a.len;
        struct mh_event ev;
        CHECK_INT(mh_event_init(nz, &r, &ev, NULL), MH_OK);
        char path[128] = "";
        for (int k = 0; k < levels; k++) strncat(path, "a.", sizeof path - strlen(path) - 1);
        strncat(path, "v", sizeof path - strlen(path) - 1);
        struct collect c;
        const char *got = get_all(&ev, path, &c);
        CHECK_STREQ(got, levels <= MH_JSON_MAX_NESTED_DEPTH ? "deep" : "");
        mh_normalizer_reset(nz);
        mh_buf_fini(&a);
        mh_buf_fini(&b);
    }
    mh_normalizer_free(nz);
}

static void t_unwrapped_fallback(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    struct trec t;
    struct mh_event ev;
    rec(&t, kcases[8].json, kcases[8].fmt); /* the Purview 8-column row */
    CHECK_INT(mh_event_init(nz, &t.r, &ev, NULL), MH_OK);
    CHECK(ev.flags & MH_EVF_UNWRAPPED);
    CHECK(ev.doc != ev.record_doc);
    struct collect c;
    CHECK_STREQ(get_all(&ev, "CreationTime", &c), "2023-07-23T12:40:00");
    CHECK_STREQ(get_all(&ev, "RecordId", &c), "97fc1f52-4cd1-498b-f05e-08db8b78efd7");
    CHECK_STREQ(get_all(&ev, "CreationDate", &c), "2023-07-23T12:32:53.0000000Z ");
    CHECK_STREQ(get_all(&ev, "RecordType", &c), "1");
    CHECK_STREQ(get_all(&ev, "Parameters.AuditLogAgeLimit", &c), "1.00:00:00");
    CHECK_STREQ(get_all(&ev, "AuditData.ClientIP", &c), "198.51.100.7:5000");
    mh_normalizer_free(nz);
}

/* ---- leaves ---- */

struct leafcol {
    struct mh_buf out;
    int n;
};

static bool collect_leaf(void *ctx, struct mh_slice path, const struct mh_value *v)
{
    struct leafcol *l = ctx;
    l->n++;
    return mh_buf_printf(&l->out, "%.*s=%.*s\n", (int)path.len, path.ptr, (int)v->text.len,
                         v->text.ptr) != MH_OK;
}

static bool stop_leaf(void *ctx, struct mh_slice path, const struct mh_value *v)
{
    (void)path, (void)v;
    (*(size_t *)ctx)++;
    return true;
}

static void t_leaves(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    struct trec t;
    struct mh_event ev;
    rec(&t,
        "{'Operation':'New-InboxRule','n':[1,[2]],'o':{'p':null,'q':false},"
        "'Parameters':[{'Name':'ForwardTo','Value':'x@evil.example'}],"
        "'ModifiedProperties':[{'Name':'Role.DisplayName','NewValue':'Admin','OldValue':''}],"
        "'additionalDetails':[{'key':'User-Agent','value':'curl'}],"
        "'Folders':'[{\\'Path\\':\\'Inbox\\'}]','plain':[{'a':1}]}",
        MH_FMT_JSONL);
    CHECK_INT(mh_event_init(nz, &t.r, &ev, NULL), MH_OK);
    struct leafcol l;
    mh_buf_init(&l.out, 1 << 20);
    l.n = 0;
    CHECK_INT(mh_event_leaves(&ev, collect_leaf, &l), MH_OK);
    CHECK_STREQ(l.out.data, "Operation=New-InboxRule\n"
                            "n=1\n"
                            "n=2\n"
                            "o.p=\n"
                            "o.q=false\n"
                            "Parameters.ForwardTo=x@evil.example\n"
                            "ModifiedProperties.Role.DisplayName.NewValue=Admin\n"
                            "ModifiedProperties.Role.DisplayName.OldValue=\n"
                            "additionalDetails.User-Agent=curl\n"
                            "Folders=[{\"Path\":\"Inbox\"}]\n"
                            "Folders.Path=Inbox\n"
                            "plain.a=1\n");
    /* every leaf path resolves with mh_event_get to (at least) that value */
    int ok = 0, total = 0;
    const char *p = l.out.data;
    while (*p) {
        const char *eq = strchr(p, '='), *nl = strchr(p, '\n');
        char path[256], want[256];
        snprintf(path, sizeof path, "%.*s", (int)(eq - p), p);
        snprintf(want, sizeof want, "%.*s", (int)(nl - eq - 1), eq + 1);
        struct collect c;
        const char *got = get_all(&ev, path, &c);
        total++;
        ok += strstr(got, want) != NULL;
        p = nl + 1;
    }
    CHECK_INT(ok, total);
    /* wrapper columns appear after the body, AuditData and shadowed keys excluded */
    mh_buf_clear(&l.out);
    rec(&t,
        "{'RecordId':'r1','Operation':'X','AuditData':'{\\'Operation\\':\\'Send\\',\\'RecordType\\'"
        ":2}'}",
        MH_FMT_CSV_PURVIEW8);
    CHECK_INT(mh_event_init(nz, &t.r, &ev, NULL), MH_OK);
    CHECK_INT(mh_event_leaves(&ev, collect_leaf, &l), MH_OK);
    CHECK_STREQ(l.out.data, "Operation=Send\nRecordType=2\nRecordId=r1\n");
    /* stop early */
    size_t n = 0;
    CHECK_INT(mh_event_leaves(&ev, stop_leaf, &n), MH_OK);
    CHECK_INT(n, 1);
    mh_buf_fini(&l.out);
    mh_normalizer_free(nz);
}

static bool count_leaf(void *ctx, struct mh_slice path, const struct mh_value *v)
{
    (void)path, (void)v;
    (*(size_t *)ctx)++;
    return false;
}

static void t_leaf_limit(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    struct mh_buf b;
    mh_buf_init(&b, 16u << 20);
    CHECK_INT(mh_buf_puts(&b, "{\"x\":["), MH_OK);
    mh_status st = MH_OK;
    for (unsigned i = 0; i <= MH_MAX_FIELDS_PER_EVENT && !st; i++)
        st = mh_buf_puts(&b, i ? ",0" : "0");
    CHECK_INT(st, MH_OK);
    CHECK_INT(mh_buf_puts(&b, "]}"), MH_OK);
    struct mh_record r;
    memset(&r, 0, sizeof r);
    r.json = r.raw = b.data;
    r.json_len = r.raw_len = (uint32_t)b.len;
    struct mh_event ev;
    CHECK_INT(mh_event_init(nz, &r, &ev, NULL), MH_OK);
    size_t n = 0;
    CHECK_INT(mh_event_leaves(&ev, count_leaf, &n), MH_ELIMIT);
    CHECK_INT(n, MH_MAX_FIELDS_PER_EVENT);
    mh_buf_fini(&b);
    mh_normalizer_free(nz);
}

/* ---- pool and resets ---- */

static void t_pool(void)
{
    mh_normalizer *nz = NULL;
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    if (!nz) return;
    struct trec t;
    rec(&t, kcases[3].json, kcases[3].fmt);
    /* many live events, each on its own tape, all still readable */
    enum { N = 300 };
    static struct mh_event ev[N];
    for (int round = 0; round < 3; round++) {
        int ok = 0;
        for (int i = 0; i < N; i++) ok += mh_event_init(nz, &t.r, &ev[i], NULL) == MH_OK;
        CHECK_INT(ok, N);
        for (int i = 0; i < N; i++) CHECK(ev[i].doc != ev[(i + 1) % N].doc);
        int same = 0;
        for (int i = 0; i < N; i++) {
            struct mh_slice s;
            same += mh_event_entity(&ev[i], MH_ENT_TOKEN_ID, &s) == MH_OK &&
                    mh_slice_eq_cstr(s, "4d63c1c4-c95b-4d3c-8e0a-1271fd813e00");
        }
        CHECK_INT(same, N);
        mh_normalizer_reset(nz);
    }
    mh_normalizer_free(nz);
}

/* ---- allocation failures ---- */

/* One full pass over a few records; returns the first failure (or MH_OK). */
static mh_status exercise(void)
{
    static const int which[] = {3, 8, 12, 30, 27};
    mh_normalizer *nz = NULL;
    mh_status st = mh_normalizer_new(&nz);
    if (st) return st;
    static struct trec t[5];
    struct mh_event ev[5];
    for (int i = 0; i < 5 && !st; i++) {
        rec(&t[i], kcases[which[i]].json, kcases[which[i]].fmt);
        st = mh_event_init(nz, &t[i].r, &ev[i], NULL);
        for (int e = 0; e < MH_ENT__COUNT && !st; e++) {
            struct mh_slice s;
            st = mh_event_entity(&ev[i], (enum mh_entity)e, &s);
            if (st == MH_ENOTFOUND) st = MH_OK;
        }
        if (!st) {
            size_t n = 0;
            st = mh_event_leaves(&ev[i], count_leaf, &n);
        }
    }
    if (!st) {
        struct trec p;
        struct mh_event pe;
        rec(&p, path_record, MH_FMT_JSONL);
        st = mh_event_init(nz, &p.r, &pe, NULL);
        struct collect c;
        memset(&c, 0, sizeof c);
        if (!st)
            st = mh_event_get(&pe, "Folders.FolderItems.InternetMessageId", 37, collect_value, &c,
                              NULL);
        if (!st)
            st = mh_event_get(&pe, "ExtendedProperties.additionalDetails.UserType", 45,
                              collect_value, &c, NULL);
        if (!st) {
            size_t n = 0;
            st = mh_event_leaves(&pe, count_leaf, &n);
        }
    }
    mh_normalizer_reset(nz);
    mh_normalizer_free(nz);
    return st;
}

static void t_alloc_failures(void)
{
    int enomem = 0, other = 0, k;
    for (k = 0; k < 500; k++) {
        mh_alloc_fail_after(k);
        uint64_t before = mh_alloc_count();
        mh_status st = exercise();
        uint64_t used = mh_alloc_count() - before;
        mh_alloc_fail_after(-1);
        if (st == MH_ENOMEM)
            enomem++;
        else if (st)
            other++;
        if (st == MH_OK && used <= (uint64_t)k) break; /* the failure never fired */
    }
    CHECK(k < 500);
    CHECK(enomem > 0);
    CHECK_INT(other, 0);
    CHECK_INT(exercise(), MH_OK);
}

/* ---- the event stream: reader + normalizer, reports, counts, chunking ---- */

struct reports {
    struct mh_buf text;
    int bad, warn, fatal;
};

static void rep(struct reports *r, const char *what, const mh_error *err)
{
    char line[512];
    mh_error_format(err, line, sizeof line);
    CHECK_INT(mh_buf_printf(&r->text, "%s %s\n", what, line), MH_OK);
}

static void on_bad(void *ctx, const mh_error *err, bool fatal)
{
    struct reports *r = ctx;
    if (fatal)
        r->fatal++;
    else
        r->bad++;
    rep(r, fatal ? "FATAL" : "BAD", err);
}

static void on_warn(void *ctx, const mh_error *err, bool fatal)
{
    struct reports *r = ctx;
    (void)fatal;
    r->warn++;
    rep(r, "WARN", err);
}

static const char stream_input[] =
    "{\"CreationTime\":\"2024-01-12T09:20:00\",\"Operation\":\"MailItemsAccessed\",\"RecordType\":"
    "50,"
    "\"ClientIPAddress\":\"[2001:db8::1]:443\",\"AppAccessContext\":{\"UniqueTokenId\":"
    "\"xMFjTVvJPE2OChJx_YE-AA\"}}\n"
    "{\"CreationTime\":\"2024-01-12T09:21:00\",\"Operation\":\"Send\",\"RecordType\":2,}\n"
    "{\"CreationTime\":\"soon\",\"Operation\":\"Send\",\"RecordType\":2}\n"
    "{\"category\":\"SignInLogs\",\"properties\":{\"createdDateTime\":\"2024-01-12T09:00:00Z\","
    "\"id\":\"4D63C1C4-C95B-4D3C-8E0A-1271FD813E00\"}}\n";

/* Run the stream over stream_input; summary of every event into out. */
/* An event stream over one memory input reporting into r; NULL on failure. */
static mh_evstream *open_stream(struct reports *r, size_t chunk, size_t batch_records,
                                const char *name, const char *in, size_t len)
{
    struct mh_evstream_opts o;
    memset(&o, 0, sizeof o);
    o.on_bad = on_bad;
    o.on_warn = on_warn;
    o.ctx = r;
    o.reader.chunk_bytes = chunk;
    o.reader.batch_records = batch_records;
    mh_evstream *s = NULL;
    CHECK_INT(mh_evstream_new(&o, &s), MH_OK);
    if (s) CHECK_INT(mh_evstream_add_memory(s, name, in, len), MH_OK);
    return s;
}

static void run_stream(size_t chunk, struct mh_buf *out, struct reports *r,
                       struct mh_evstream_stats *ss)
{
    /* several batches: events die with their batch */
    mh_evstream *s = open_stream(r, chunk, 2, "mem.jsonl", stream_input, sizeof stream_input - 1);
    if (!s) return;
    struct mh_event *ev;
    mh_status st;
    while ((st = mh_evstream_next(s, &ev)) == MH_OK) {
        char ents[512], t[32];
        CHECK_INT(entities(ev, ents, sizeof ents), MH_OK);
        mh_time_format(ev->time, t, 0);
        CHECK_INT(mh_buf_printf(out, "%s %llu@%llu %s %s [%s]\n", mh_source_kind_name(ev->kind),
                                (unsigned long long)ev->rec->number,
                                (unsigned long long)ev->rec->offset, t,
                                mh_evstream_file_name(s, ev->rec->file), ents),
                  MH_OK);
    }
    CHECK_INT(st, MH_EOF);
    mh_evstream_stats(s, ss);
    mh_evstream_free(s);
}

/* Reports come in input order whatever the batch size: the reader's (records
 * 2 and 4: not objects) are held back and passed on around the normalizer's
 * (record 3: AuditData that is not JSON). */
static void t_stream_report_order(void)
{
    static const char in[] = "{\"CreationTime\":\"2024-01-12T09:20:00\",\"RecordType\":2}\n"
                             "42\n"
                             "{\"AuditData\":\"{bad\",\"CreationDate\":\"2024-01-12T09:21:00\"}\n"
                             "17\n"
                             "{\"CreationTime\":\"2024-01-12T09:22:00\",\"RecordType\":2}\n";
    static const size_t batch_records[] = {1, 2, 3, 4096};
    for (size_t b = 0; b < sizeof batch_records / sizeof batch_records[0]; b++) {
        struct reports r;
        memset(&r, 0, sizeof r);
        mh_buf_init(&r.text, 1 << 20);
        mh_evstream *s = open_stream(&r, 0, batch_records[b], "order.jsonl", in, sizeof in - 1);
        if (!s) return;
        struct mh_event *ev;
        mh_status st;
        int events = 0;
        while ((st = mh_evstream_next(s, &ev)) == MH_OK) {
            events++;
            CHECK_INT(mh_buf_printf(&r.text, "EVENT %llu\n", (unsigned long long)ev->rec->number),
                      MH_OK);
        }
        CHECK_INT(st, MH_EOF);
        CHECK_INT(events, 2);
        CHECK_INT(r.bad, 3);
        const char *p1 = strstr(r.text.data, "EVENT 1\n"), *p2 = strstr(r.text.data, "record 2,");
        const char *p3 = strstr(r.text.data, "record 3,"), *p4 = strstr(r.text.data, "record 4,");
        const char *p5 = strstr(r.text.data, "EVENT 5\n");
        CHECK(p1 && p2 && p3 && p4 && p5);
        CHECK(p1 < p2 && p2 < p3 && p3 < p4 && p4 < p5);
        if (!(p1 && p2 && p3 && p4 && p5) || !(p1 < p2 && p2 < p3 && p3 < p4 && p4 < p5))
            fprintf(stderr, "batch_records %zu:\n%s", batch_records[b], r.text.data);
        mh_evstream_free(s);
        mh_buf_fini(&r.text);
    }
}

static void t_stream(void)
{
    struct mh_buf first;
    mh_buf_init(&first, 1 << 20);
    static const size_t chunks[] = {0, 1, 7, 64};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        struct mh_buf out;
        struct reports r;
        struct mh_evstream_stats ss;
        memset(&r, 0, sizeof r);
        mh_buf_init(&out, 1 << 20);
        mh_buf_init(&r.text, 1 << 20);
        run_stream(chunks[i], &out, &r, &ss);
        CHECK_INT(ss.records, 4);
        CHECK_INT(ss.events, 3);
        CHECK_INT(ss.skipped, 1);
        CHECK_INT(ss.skipped_normalize + ss.ingest.records_skipped, 1);
        CHECK_INT(ss.bad_time, 1);
        CHECK_INT(ss.no_time, 1);
        CHECK_INT(ss.by_kind[MH_SRC_UAL_MAILBOX], 2);
        CHECK_INT(ss.by_kind[MH_SRC_SIGNIN_INTERACTIVE], 1);
        CHECK_INT(ss.first, T("2024-01-12T09:00:00Z"));
        CHECK_INT(ss.last, T("2024-01-12T09:20:00Z"));
        CHECK_INT(r.bad, 1);
        CHECK_INT(r.warn, 1);
        CHECK_INT(r.fatal, 0);
        /* positions: line 2 is skipped at its trailing comma (byte 259 of the
         * input); line 3's time value starts at byte 278 */
        CHECK(strstr(r.text.data, "BAD mem.jsonl:2: record 2, byte 259: ") != NULL);
        CHECK(strstr(r.text.data, "WARN mem.jsonl:3: record 3, byte 278: unparseable time") !=
              NULL);
        CHECK(strstr(r.text.data, "CreationTime: \"soon\"") != NULL);
        if (i == 0) {
            CHECK_STREQ(out.data,
                        "ual.mailbox 1@0 2024-01-12T09:20:00Z mem.jsonl [ip=2001:db8::1|"
                        "token_id=4d63c1c4-c95b-4d3c-8e0a-1271fd813e00|operation=MailItemsAccessed|"
                        "operation_key=mailitemsaccessed]\n"
                        "ual.mailbox 3@261  mem.jsonl [operation=Send|operation_key=send]\n"
                        "signin.interactive 4@319 2024-01-12T09:00:00Z mem.jsonl "
                        "[token_id=4d63c1c4-c95b-4d3c-8e0a-1271fd813e00]\n");
            CHECK_INT(mh_buf_append(&first, out.data, out.len), MH_OK);
        } else {
            /* any input chunking: byte-identical events */
            CHECK_STREQ(out.data, first.data);
        }
        if (r.bad != 1 || r.warn != 1) fprintf(stderr, "%s", r.text.data);
        mh_buf_fini(&out);
        mh_buf_fini(&r.text);
    }
    mh_buf_fini(&first);
}

int main(void)
{
    static const struct mh_test T_[] = {
        {"ip", t_ip},
        {"guid_uti", t_guid_uti},
        {"operation_key", t_operation_key},
        {"classify", t_classify},
        {"malformed", t_malformed},
        {"paths", t_paths},
        {"nested_depth", t_nested_depth},
        {"unwrapped_fallback", t_unwrapped_fallback},
        {"leaves", t_leaves},
        {"leaf_limit", t_leaf_limit},
        {"pool", t_pool},
        {"alloc_failures", t_alloc_failures},
        {"stream", t_stream},
        {"stream_report_order", t_stream_report_order},
    };
    return MH_TEST_RUN(T_);
}
