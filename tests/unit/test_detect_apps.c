/*
 * tests/unit/test_detect_apps.c -- the issue-5 detectors: D5 credential diff / actor history /
 * dormancy (appcred.c), D9 Graph and direct (mailpath.c), D14 token object (tokenowner.c)
 *
 * Records are written in the export shapes the simulator and Microsoft use
 * (Graph directoryAudit with KeyDescription old/new, UAL AzureActiveDirectory
 * with ModifiedProperties, Azure Monitor sign-in records, UAL
 * MailItemsAccessed), turned into events by the real normalizer and fed to
 * the detector set; each test checks rule, level and the deciding fields,
 * positive and negative, plus order independence and the state file.
 * Needs rules/data/first-party-apps.tsv (the working directory is the source tree).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/time.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "mh_test.h"
#include "mh_testdet.h"
#include "normalize/event.h"

#define TENANT "8d4121ed-0008-406d-bff9-0d5bb312183c"
#define EXO "00000002-0000-0ff1-ce00-000000000000"
#define GRAPH "00000003-0000-0000-c000-000000000000"
#define OUTLOOK_MOBILE "27922004-5251-4030-b22d-91ecd9a37ea4"
#define APP_X "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"

#define K1 "11111111-1111-4111-8111-111111111111"
#define K2 "22222222-2222-4222-8222-222222222222"
#define K3 "33333333-3333-4333-8333-333333333333"
#define K4 "44444444-4444-4444-8444-444444444444"
#define K5 "55555555-5555-4555-8555-555555555555"
#define K6 "66666666-6666-4666-8666-666666666666"

static mh_time T0;

static mh_time at(int day, int hour, int min)
{
    return T0 + ((((mh_time)day * 24 + hour) * 60 + min) * 60) * MH_USEC_PER_SEC;
}

static const char *iso(mh_time t, char *buf)
{
    mh_time_format(t, buf, 0);
    return buf;
}

/* ---- harness ---- */

struct got {
    char rule[64];
    enum mh_level level;
    char fields[1024];
    uint64_t record;
};

struct run {
    struct mh_testdet det;
    struct got got[64];
    size_t ngot;
    char all[8192];
    size_t nall;
};

static bool ours(const char *rule)
{
    return strncmp(rule, "mh.d5.", 6) == 0 || strcmp(rule, "mh.d9.graph_and_direct") == 0 ||
           strcmp(rule, "mh.d14.token_object_mismatch") == 0;
}

static mh_status on_det(void *ctx, const struct mh_detection *d)
{
    struct run *r = ctx;
    if (!ours(d->finding.rule_id) || r->ngot == sizeof r->got / sizeof r->got[0]) return MH_OK;
    struct got *g = &r->got[r->ngot++];
    memset(g, 0, sizeof *g);
    snprintf(g->rule, sizeof g->rule, "%s", d->finding.rule_id);
    g->level = d->finding.level;
    g->record = d->finding.ref.record;
    size_t n = 0;
    for (size_t i = 0; i < d->nfields && n < sizeof g->fields; i++)
        n += (size_t)snprintf(g->fields + n, sizeof g->fields - n, "%s=%.*s;", d->fields[i].name,
                              (int)d->fields[i].value.len, d->fields[i].value.ptr);
    if (r->nall < sizeof r->all)
        r->nall += (size_t)snprintf(r->all + r->nall, sizeof r->all - r->nall, "%s|%s|%llu|%s\n",
                                    g->rule, mh_level_name(g->level),
                                    (unsigned long long)g->record, g->fields);
    return MH_OK;
}

static void run_begin(struct run *r, const struct mh_detector_config *cfg, mh_state *st)
{
    memset(r, 0, sizeof *r);
    mh_testdet_begin(&r->det, cfg, st, on_det, r);
}

static void feed(struct run *r, const char *json)
{
    mh_testdet_feed(&r->det, json);
}

static void run_end(struct run *r)
{
    mh_testdet_finish(&r->det);
    mh_testdet_free(&r->det);
}

static const struct got *find(const struct run *r, const char *rule, const char *field)
{
    for (size_t i = 0; i < r->ngot; i++)
        if (strcmp(r->got[i].rule, rule) == 0 && (!field || strstr(r->got[i].fields, field)))
            return &r->got[i];
    return NULL;
}

static void dump(const struct run *r)
{
    fprintf(stderr, "--- %zu detections\n%s", r->ngot, r->all);
}

/* ---- record builders ---- */

static char buf[64][4096];
static size_t nbuf;

static const char *fmt(const char *f, ...) MH_PRINTF(1, 2);
static const char *fmt(const char *f, ...)
{
    char *b = buf[nbuf++ % 64];
    va_list ap;
    va_start(ap, f);
    vsnprintf(b, sizeof buf[0], f, ap);
    va_end(ap);
    return b;
}

/* KeyDescription value: ids separated by spaces, all of type `type`. */
static const char *keydesc(const char *ids, const char *type)
{
    static char out[4][1024];
    static int k;
    char *o = out[k++ % 4];
    size_t n = 0;
    o[n++] = '[';
    const char *p = ids;
    bool first = true;
    while (*p) {
        n += (size_t)snprintf(o + n, 1024 - n,
                              "%s\\\"[KeyIdentifier=%.36s,KeyType=%s,KeyUsage=Verify,"
                              "DisplayName=k]\\\"",
                              first ? "" : ",", p, type);
        first = false;
        p += 36;
        while (*p == ' ') p++;
    }
    snprintf(o + n, 1024 - n, "]");
    return o;
}

/* Graph directoryAudit credential change (the simulator's / Microsoft's shape). */
static const char *al_cred(mh_time t, const char *actor_upn, const char *msi_name, const char *obj,
                           const char *name, const char *oldk, const char *newk, const char *type)
{
    char ts[40], actor[256];
    if (msi_name)
        snprintf(actor, sizeof actor,
                 "{\"app\":{\"appId\":null,\"displayName\":\"%s\",\"servicePrincipalId\":"
                 "\"9e3f62cf-0000-4000-8000-000000000001\"}}", msi_name);
    else
        snprintf(actor, sizeof actor,
                 "{\"user\":{\"userPrincipalName\":\"%s\",\"ipAddress\":\"198.51.100.7\"}}",
                 actor_upn);
    return fmt("{\"id\":\"Directory_%s\",\"category\":\"ApplicationManagement\","
               "\"result\":\"success\",\"activityDisplayName\":\"Update application \xe2\x80\x93 "
               "Certificates and secrets management \",\"activityDateTime\":\"%s\","
               "\"loggedByService\":\"Core Directory\",\"operationType\":\"Update\","
               "\"initiatedBy\":%s,\"targetResources\":[{\"id\":\"%s\",\"displayName\":\"%s\","
               "\"type\":\"Application\",\"modifiedProperties\":[{\"displayName\":"
               "\"KeyDescription\",\"oldValue\":\"%s\",\"newValue\":\"%s\"}]}]}",
               obj, iso(t, ts), actor, obj, name, oldk ? keydesc(oldk, type) : "[]",
               keydesc(newk, type));
}

/* The same change as a UAL AzureActiveDirectory record (second copy). */
static const char *ual_cred(mh_time t, const char *actor_upn, const char *obj, const char *name,
                            const char *oldk, const char *newk)
{
    char ts[40];
    return fmt("{\"CreationTime\":\"%s\",\"Id\":\"%.8s-aaaa-4aaa-8aaa-aaaaaaaaaaaa\","
               "\"Operation\":\"Update application \xe2\x80\x93 Certificates and secrets "
               "management.\",\"OrganizationId\":\"" TENANT "\",\"RecordType\":8,"
               "\"ResultStatus\":\"Success\",\"UserType\":0,\"Workload\":\"AzureActiveDirectory\","
               "\"ObjectId\":\"%s\",\"UserId\":\"%s\",\"ActorIpAddress\":\"198.51.100.7\","
               "\"ModifiedProperties\":[{\"Name\":\"KeyDescription\",\"NewValue\":\"%s\","
               "\"OldValue\":\"%s\"}],\"Target\":[{\"ID\":\"Application_%s\",\"Type\":2},"
               "{\"ID\":\"%s\",\"Type\":1}]}",
               iso(t, ts), newk, name, actor_upn, keydesc(newk, "Password"),
               keydesc(oldk, "Password"), obj, name);
}

/* Another application-management change ("Update application"). */
static const char *al_update(mh_time t, const char *actor_upn, const char *obj, const char *name)
{
    char ts[40];
    return fmt("{\"id\":\"Directory_u\",\"category\":\"ApplicationManagement\","
               "\"result\":\"success\",\"activityDisplayName\":\"Update application\","
               "\"activityDateTime\":\"%s\",\"loggedByService\":\"Core Directory\","
               "\"initiatedBy\":{\"user\":{\"userPrincipalName\":\"%s\"}},"
               "\"targetResources\":[{\"id\":\"%s\",\"displayName\":\"%s\",\"type\":"
               "\"Application\",\"modifiedProperties\":[]}]}",
               iso(t, ts), actor_upn, obj, name);
}

/* A directory change unrelated to applications (directory coverage). */
static const char *al_role(mh_time t)
{
    char ts[40];
    return fmt("{\"id\":\"Directory_r\",\"category\":\"RoleManagement\",\"result\":\"success\","
               "\"activityDisplayName\":\"Add member to role\",\"activityDateTime\":\"%s\","
               "\"loggedByService\":\"Core Directory\",\"initiatedBy\":{\"user\":"
               "{\"userPrincipalName\":\"admin@contoso.com\"}},\"targetResources\":[{\"id\":"
               "\"0a000000-0000-4000-8000-000000000001\",\"type\":\"User\","
               "\"userPrincipalName\":\"bob@contoso.com\"}]}",
               iso(t, ts));
}

/* Service-principal sign-in of an application. */
static const char *sp_signin(mh_time t, const char *app_id, const char *name, int code)
{
    char ts[40];
    iso(t, ts);
    return fmt("{\"time\":\"%s\",\"category\":\"ServicePrincipalSignInLogs\","
               "\"operationName\":\"Sign-in activity\",\"tenantId\":\"" TENANT "\","
               "\"properties\":{\"id\":\"%.8s-5150-4000-8000-%012lld\",\"createdDateTime\":\"%s\","
               "\"appId\":\"%s\",\"appDisplayName\":\"%s\",\"servicePrincipalId\":"
               "\"5e000000-0000-4000-8000-000000000009\",\"servicePrincipalName\":\"%s\","
               "\"ipAddress\":\"18.184.202.225\",\"status\":{\"errorCode\":%d}}}",
               ts, app_id, (long long)(t / MH_USEC_PER_SEC % 1000000000000LL), ts, app_id, name,
               name, code);
}

static const char *user_signin(mh_time t, const char *upn, const char *oid)
{
    char ts[40];
    iso(t, ts);
    return fmt("{\"time\":\"%s\",\"category\":\"SignInLogs\",\"operationName\":\"Sign-in activity\","
               "\"tenantId\":\"" TENANT "\",\"properties\":{\"id\":"
               "\"a1000000-0000-4000-8000-%012lld\",\"createdDateTime\":\"%s\","
               "\"userPrincipalName\":\"%s\",\"userId\":\"%s\",\"appId\":"
               "\"c44b4083-3bb0-49c1-b47d-974e53cbdf3c\",\"ipAddress\":\"203.0.113.5\","
               "\"status\":{\"errorCode\":0}}}",
               ts, (long long)(t / MH_USEC_PER_SEC % 1000000000000LL), ts, upn, oid);
}

/* A user's successful sign-in from ip (asn 0: the record has none). */
static const char *addr_signin(mh_time t, const char *upn, const char *ip, unsigned asn)
{
    char ts[40], as[48] = "";
    if (asn) snprintf(as, sizeof as, ",\"autonomousSystemNumber\":%u", asn);
    iso(t, ts);
    return fmt("{\"time\":\"%s\",\"category\":\"SignInLogs\",\"operationName\":\"Sign-in activity\","
               "\"tenantId\":\"" TENANT "\",\"properties\":{\"id\":"
               "\"a2000000-0000-4000-8000-%012lld\",\"createdDateTime\":\"%s\","
               "\"userPrincipalName\":\"%s\",\"appId\":"
               "\"c44b4083-3bb0-49c1-b47d-974e53cbdf3c\",\"ipAddress\":\"%s\"%s,"
               "\"status\":{\"errorCode\":0}}}",
               ts, (long long)(t / MH_USEC_PER_SEC % 1000000000000LL), ts, upn, ip, as);
}

static const char *mia(mh_time t, const char *mailbox, const char *user, int user_type,
                       int logon, const char *app, const char *client, const char *info,
                       const char *token_oid)
{
    char ts[40], oid[96] = "";
    if (token_oid) snprintf(oid, sizeof oid, ",\"TokenObjectId\":\"%s\"", token_oid);
    return fmt("{\"CreationTime\":\"%s\",\"Id\":\"b0000000-0000-4000-8000-%012lld\","
               "\"Operation\":\"MailItemsAccessed\",\"OrganizationId\":\"" TENANT "\","
               "\"RecordType\":50,\"ResultStatus\":\"Succeeded\",\"UserType\":%d,"
               "\"Workload\":\"Exchange\",\"UserId\":\"%s\",\"MailboxOwnerUPN\":\"%s\","
               "\"LogonType\":%d,\"AppId\":\"%s\",\"ClientAppId\":\"%s\","
               "\"ClientIPAddress\":\"203.0.113.10\",\"ClientInfoString\":\"%s\","
               "\"OperationCount\":1%s,\"OperationProperties\":[{\"Name\":\"MailAccessType\","
               "\"Value\":\"Bind\"}]}",
               iso(t, ts), (long long)(t / MH_USEC_PER_SEC % 1000000000000LL), user_type, user,
               mailbox, logon, app, client, info, oid);
}

#define GOOD_APP "c0ffee00-0000-4000-8000-000000000001"
#define GOOD_OBJ "0b100000-0000-4000-8000-000000000001"
#define LEG_OBJ "0b100000-0000-4000-8000-000000000002"
#define LEG2_OBJ "0b100000-0000-4000-8000-000000000003"
#define MI_OBJ "0b100000-0000-4000-8000-000000000004"

/* The office address every al_cred / al_update actor acts from (198.51.100.7),
 * known from a sign-in on day 0 unless a test says otherwise. */
#define OFFICE_IP "198.51.100.7"
#define OFFICE_ASN 64500u

/* Days 0..7: the SP stream (Good App daily), directory coverage from day 0, the
 * office address signed in from on day 0. */
static void baseline(struct run *r, int days)
{
    feed(r, al_role(at(0, 8, 0)));
    feed(r, addr_signin(at(0, 7, 0), "admin@contoso.com", OFFICE_IP, OFFICE_ASN));
    for (int d = 0; d < days; d++) feed(r, sp_signin(at(d, 2, 0), GOOD_APP, "Good App", 0));
}

/* ---- D5 ---- */

static void t_d5_dormant_new_actor(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    baseline(&r, 8);
    /* the legacy app never signs in; a failed attempt is not a sign-in */
    feed(&r, sp_signin(at(3, 4, 0), "7e9a0000-0000-4000-8000-00000000000a", "Legacy App", 7000215));
    /* day 6: a user who never managed it adds a password next to the existing one (AL + UAL) */
    feed(&r, al_cred(at(6, 10, 17), "test@contoso.com", NULL, LEG_OBJ, "Legacy App", K1, K1 " " K2,
                     "Password"));
    uint64_t al_rec = r.det.recno;
    feed(&r, ual_cred(at(6, 10, 17), "test@contoso.com", LEG_OBJ, "Legacy App", K1, K1 " " K2));
    /* day 6: an admin adds a secret to Good App, which signs in daily */
    feed(&r, al_cred(at(6, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K3, K3 " " K4,
                     "Password"));
    /* the first credential of a new app (old empty): not D5's case */
    feed(&r, al_cred(at(6, 12, 0), "test@contoso.com", NULL, LEG2_OBJ, "New App", NULL, K5,
                     "Password"));
    run_end(&r);
    CHECK_INT(r.ngot, 2);
    const struct got *g = find(&r, "mh.d5.credential_added", "application=legacy app;");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->level, MH_LEVEL_HIGH);
        CHECK(g->record == al_rec || g->record == al_rec + 1); /* one detection for both copies */
        CHECK(strstr(g->fields, "key_change=added;") != NULL);
        CHECK(strstr(g->fields, "actor_history=new;") != NULL);
        CHECK(strstr(g->fields, "dormancy=partial;") != NULL);
        CHECK(strstr(g->fields, "idle_days=6;") != NULL);
    }
    g = find(&r, "mh.d5.credential_added", "application=good app;");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->level, MH_LEVEL_LOW);
        CHECK(strstr(g->fields, "dormancy=active;") != NULL);
    }
    if (r.ngot != 2) dump(&r);
}

static void t_d5_rotation_known_actor_msi(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    baseline(&r, 8);
    /* rotation (old key removed) on a dormant app by a new actor: high -> medium */
    feed(&r, al_cred(at(6, 9, 0), "owner@contoso.com", NULL, LEG_OBJ, "Legacy App", K1, K2,
                     "Password"));
    /* the admin managed Good App on day 1: known actor, active app -> nothing */
    feed(&r, al_update(at(1, 9, 0), "admin@contoso.com", GOOD_OBJ, "Good App"));
    feed(&r, al_cred(at(6, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K3, K3 " " K4,
                     "Password"));
    /* managed-identity certificate on a dormant identity: at most low */
    feed(&r, al_cred(at(6, 12, 0), NULL, "Managed Service Identity", MI_OBJ, "mi-func-1", K5,
                     K5 " " K6, "AsymmetricX509Cert"));
    run_end(&r);
    CHECK_INT(r.ngot, 2);
    const struct got *g = find(&r, "mh.d5.credential_added", "application=legacy app;");
    CHECK(g && g->level == MH_LEVEL_MEDIUM);
    CHECK(g && strstr(g->fields, "key_change=rotated;") && strstr(g->fields, "removed_keys=1;"));
    g = find(&r, "mh.d5.credential_added", "application=mi-func-1;");
    CHECK(g && g->level == MH_LEVEL_LOW);
    CHECK(!find(&r, "mh.d5.credential_added", "application=good app;"));
    if (r.ngot != 2) dump(&r);
}

static void t_d5_history_limits(void)
{
    /* too little history (1 day of logs): no verdict at all */
    struct run r;
    run_begin(&r, NULL, NULL);
    baseline(&r, 2);
    feed(&r, al_cred(at(1, 10, 0), "test@contoso.com", NULL, LEG_OBJ, "Legacy App", K1, K1 " " K2,
                     "Password"));
    run_end(&r);
    CHECK_INT(r.ngot, 0);

    /* with d5.dormant = 5d the same 6 days are a complete verdict: critical */
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d5.dormant", "5d", NULL) == MH_OK);
    run_begin(&r, &c, NULL);
    baseline(&r, 8);
    feed(&r, al_cred(at(6, 10, 0), "test@contoso.com", NULL, LEG_OBJ, "Legacy App", K1, K1 " " K2,
                     "Password"));
    /* Good App signed in 5 days before its change but not since: dormant (complete), known
       actor -> high */
    feed(&r, al_update(at(0, 9, 0), "admin@contoso.com", GOOD_OBJ, "Good App2"));
    feed(&r, sp_signin(at(0, 3, 0), "c0ffee00-0000-4000-8000-000000000002", "Good App2", 0));
    feed(&r, al_cred(at(6, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App2", K3, K3 " " K4,
                     "Password"));
    run_end(&r);
    const struct got *g = find(&r, "mh.d5.credential_added", "application=legacy app;");
    CHECK(g && g->level == MH_LEVEL_CRITICAL && strstr(g->fields, "dormancy=complete;"));
    g = find(&r, "mh.d5.credential_added", "application=good app2;");
    CHECK(g && g->level == MH_LEVEL_HIGH && strstr(g->fields, "actor_history=known;") &&
          strstr(g->fields, "last_signin=seen;"));
    if (r.ngot != 2) dump(&r);
}

/* Same verdicts in reverse feed order; the actor history survives in the state. */
static void t_d5_order_and_state(void)
{
    const char *recs[16];
    size_t n = 0;
    recs[n++] = al_role(at(0, 8, 0));
    recs[n++] = addr_signin(at(0, 7, 0), "admin@contoso.com", OFFICE_IP, OFFICE_ASN);
    for (int d = 0; d < 8; d++) recs[n++] = sp_signin(at(d, 2, 0), GOOD_APP, "Good App", 0);
    recs[n++] = al_cred(at(6, 10, 17), "test@contoso.com", NULL, LEG_OBJ, "Legacy App", K1,
                        K1 " " K2, "Password");
    recs[n++] = al_cred(at(6, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K3,
                        K3 " " K4, "Password");
    struct run a, b;
    run_begin(&a, NULL, NULL);
    for (size_t i = 0; i < n; i++) feed(&a, recs[i]);
    run_end(&a);
    run_begin(&b, NULL, NULL);
    for (size_t i = n; i > 0; i--) feed(&b, recs[i - 1]);
    run_end(&b);
    CHECK_INT(a.ngot, 2);
    CHECK_INT(b.ngot, 2);
    /* records are numbered in feed order; compare the verdicts without them */
    for (size_t i = 0; i < a.ngot && i < b.ngot; i++) {
        CHECK_STREQ(a.got[i].rule, b.got[i].rule);
        CHECK_INT(a.got[i].level, b.got[i].level);
        CHECK_STREQ(a.got[i].fields, b.got[i].fields);
    }

    /* run 1 (days 0..8): the admin updates Good App; run 2 (day 20): the admin's credential
       change is "known" through the state, and Legacy App is still dormant */
    char path[] = "/tmp/mh_test_apps_XXXXXX";
    if (!mh_testdet_state_path(path)) return;
    mh_state *st = NULL;
    CHECK(mh_state_open(path, &st, NULL) == MH_OK);
    run_begin(&a, NULL, st);
    baseline(&a, 9);
    feed(&a, al_update(at(2, 9, 0), "admin@contoso.com", GOOD_OBJ, "Good App"));
    run_end(&a);
    CHECK_INT(a.ngot, 0);
    mh_state_close(st);
    st = NULL;
    CHECK(mh_state_open(path, &st, NULL) == MH_OK);
    run_begin(&b, NULL, st);
    for (int d = 19; d < 22; d++) feed(&b, sp_signin(at(d, 2, 0), GOOD_APP, "Good App", 0));
    feed(&b, al_cred(at(20, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K3, K3 " " K4,
                     "Password"));
    feed(&b, al_cred(at(20, 12, 0), "test@contoso.com", NULL, LEG_OBJ, "Legacy App", K1,
                     K1 " " K2, "Password"));
    run_end(&b);
    mh_state_close(st);
    unlink(path);
    CHECK(!find(&b, "mh.d5.credential_added", "application=good app;"));
    const struct got *g = find(&b, "mh.d5.credential_added", "application=legacy app;");
    CHECK(g && g->level == MH_LEVEL_HIGH && strstr(g->fields, "idle_days=20;"));
    if (b.ngot != 1) dump(&b);
}

/* rec (an al_cred) acted from ip instead of the office address. */
static const char *from_ip(const char *rec, const char *ip)
{
    const char *at_ip = strstr(rec, OFFICE_IP);
    if (!at_ip) return rec;
    return fmt("%.*s%s%s", (int)(at_ip - rec), rec, ip, at_ip + strlen(OFFICE_IP));
}

/* The new-address booster: a known admin's change to an active app has no
 * verdict of its own; from an address no sign-in used a day before, it is low. */
static void t_d5_new_address(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    baseline(&r, 8);
    feed(&r, al_update(at(1, 9, 0), "admin@contoso.com", GOOD_OBJ, "Good App"));
    /* never signed in from */
    feed(&r, from_ip(al_cred(at(6, 10, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K1,
                             K1 " " K2, "Password"),
                     "192.0.2.66"));
    /* signed in from it 2 hours before (the attacker's own success), other network */
    feed(&r, addr_signin(at(6, 9, 0), "admin@contoso.com", "192.0.2.77", 9299));
    feed(&r, from_ip(al_cred(at(6, 11, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K3,
                             K3 " " K4, "Password"),
                     "192.0.2.77"));
    /* new address of the office's network (DHCP churn): not boosted */
    feed(&r, addr_signin(at(6, 11, 30), "admin@contoso.com", "198.51.100.99", OFFICE_ASN));
    feed(&r, from_ip(al_cred(at(6, 12, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K5,
                             K5 " " K6, "Password"),
                     "198.51.100.99"));
    /* the office address itself (baseline, day 0): not boosted */
    feed(&r, al_cred(at(6, 13, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K2,
                     K2 " " K3, "Password"));
    run_end(&r);
    CHECK_INT(r.ngot, 2);
    const struct got *g = find(&r, "mh.d5.credential_added", "removed_keys=0;key_type=Password;"
                                                             "actor=admin@contoso.com;");
    CHECK(g && g->level == MH_LEVEL_LOW && strstr(g->fields, "actor_address=new;") &&
          strstr(g->fields, "boosters=new_address;"));
    size_t boosted = 0, asn = 0;
    for (size_t i = 0; i < r.ngot; i++) {
        boosted += strstr(r.got[i].fields, "boosters=new_address;") != NULL;
        asn += strstr(r.got[i].fields, "actor_asn=9299;") != NULL;
    }
    CHECK_INT(boosted, 2);
    CHECK_INT(asn, 1);
    if (r.ngot != 2) dump(&r);

    /* sign-in logs covering less than d5.min_history before the change: unknown, no boost */
    run_begin(&r, NULL, NULL);
    feed(&r, al_role(at(0, 8, 0)));
    feed(&r, al_update(at(0, 9, 0), "admin@contoso.com", GOOD_OBJ, "Good App"));
    for (int d = 4; d < 8; d++) feed(&r, sp_signin(at(d, 2, 0), GOOD_APP, "Good App", 0));
    feed(&r, from_ip(al_cred(at(6, 10, 0), "admin@contoso.com", NULL, GOOD_OBJ, "Good App", K1,
                             K1 " " K2, "Password"),
                     "192.0.2.66"));
    run_end(&r);
    CHECK_INT(r.ngot, 0);
    if (r.ngot) dump(&r);
}

/* ---- D9 Graph and direct ---- */

static void t_d9_graph_and_direct(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    for (int d = 0; d < 3; d++)
        feed(&r, mia(at(d, 1, 0), "a@contoso.com", APP_X, 5, 0, GRAPH, APP_X,
                     "Client=REST;Client=RESTSystem;;", NULL));
    feed(&r, mia(at(3, 14, 0), "ceo@contoso.com", APP_X, 5, 0, EXO, APP_X,
                 "Client=WebServices;ExchangeWebServices", NULL));
    uint64_t ews = r.det.recno;
    feed(&r, mia(at(3, 15, 0), "ceo@contoso.com", APP_X, 5, 0, EXO, APP_X,
                 "Client=WebServices;ExchangeWebServices", NULL));
    /* negatives: a first-party client on both paths; an app on Graph only */
    feed(&r, mia(at(1, 9, 0), "b@contoso.com", "b@contoso.com", 0, 0, GRAPH, OUTLOOK_MOBILE,
                 "Client=REST", NULL));
    feed(&r, mia(at(1, 9, 5), "b@contoso.com", "b@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=REST", NULL));
    feed(&r, mia(at(2, 1, 0), "c@contoso.com", "c0ffee00-0000-4000-8000-0000000000bb", 5, 0, GRAPH,
                 "c0ffee00-0000-4000-8000-0000000000bb", "Client=REST", NULL));
    run_end(&r);
    CHECK_INT(r.ngot, 1);
    const struct got *g = find(&r, "mh.d9.graph_and_direct", NULL);
    CHECK(g && g->level == MH_LEVEL_MEDIUM && g->record == ews);
    CHECK(g && strstr(g->fields, "graph_records=3;") && strstr(g->fields, "direct_records=2;"));
    if (r.ngot != 1) dump(&r);

    /* across runs: Graph in run 1, direct in run 2 -> reported in run 2 only */
    char path[] = "/tmp/mh_test_apps_XXXXXX";
    if (!mh_testdet_state_path(path)) return;
    mh_state *st = NULL;
    for (int k = 0; k < 3; k++) {
        CHECK(mh_state_open(path, &st, NULL) == MH_OK);
        run_begin(&r, NULL, st);
        if (k == 0)
            feed(&r, mia(at(0, 1, 0), "a@contoso.com", APP_X, 5, 0, GRAPH, APP_X, "Client=REST",
                         NULL));
        else
            feed(&r, mia(at(5, 1, 0), "a@contoso.com", APP_X, 5, 0, EXO, APP_X,
                         "Client=WebServices;ExchangeWebServices", NULL));
        run_end(&r);
        mh_state_close(st);
        CHECK_INT(r.ngot, k == 0 ? 0 : 1); /* run 3 repeats run 2's input: same verdict */
    }
    unlink(path);
}

/* ---- D14 token object ---- */

#define ALICE_OID "3f2a0000-0000-4000-8000-000000000001"
#define OTHER_OID "7d0c0000-0000-4000-8000-000000000002"

static void t_d14_token_owner(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    feed(&r, user_signin(at(0, 8, 0), "Alice@contoso.com", ALICE_OID));
    feed(&r, mia(at(0, 9, 0), "alice@contoso.com", "alice@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=REST", ALICE_OID));
    feed(&r, mia(at(1, 9, 0), "alice@contoso.com", "alice@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=OWA", OTHER_OID));
    uint64_t bad = r.det.recno;
    feed(&r, mia(at(1, 9, 5), "alice@contoso.com", "alice@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=OWA", OTHER_OID));
    /* negatives: app-only access names the app; a delegate logon names the delegate; an owner
       whose object id no sign-in gives */
    feed(&r, mia(at(1, 2, 0), "alice@contoso.com", APP_X, 5, 0, GRAPH, APP_X, "Client=REST",
                 OTHER_OID));
    feed(&r, mia(at(1, 3, 0), "alice@contoso.com", "pa@contoso.com", 0, 2, EXO, OUTLOOK_MOBILE,
                 "Client=OWA", OTHER_OID));
    feed(&r, mia(at(1, 4, 0), "bob@contoso.com", "bob@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=OWA", OTHER_OID));
    run_end(&r);
    CHECK_INT(r.ngot, 1);
    const struct got *g = find(&r, "mh.d14.token_object_mismatch", NULL);
    CHECK(g && g->level == MH_LEVEL_MEDIUM && g->record == bad);
    CHECK(g && strstr(g->fields, "token_object_id=" OTHER_OID ";"));
    if (r.ngot != 1) dump(&r);

    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d14.token_owner", "false", NULL) == MH_OK);
    CHECK(mh_detector_config_set(&c, "d9.graph_and_direct", "no", NULL) == MH_OK);
    CHECK(mh_detector_config_set(&c, "d5.enabled", "off", NULL) == MH_OK);
    CHECK(mh_detector_config_set(&c, "d5.min_history", "1x", NULL) == MH_EINVAL);
    run_begin(&r, &c, NULL);
    feed(&r, user_signin(at(0, 8, 0), "alice@contoso.com", ALICE_OID));
    feed(&r, mia(at(1, 9, 0), "alice@contoso.com", "alice@contoso.com", 0, 0, EXO, OUTLOOK_MOBILE,
                 "Client=OWA", OTHER_OID));
    run_end(&r);
    CHECK_INT(r.ngot, 0);
}

static void setup(void)
{
    CHECK(mh_time_parse("2024-03-01T00:00:00Z", 20, &T0) == MH_OK);
    setenv("MAILHOUND_DATA", ".", 0);
}

/* The dangerous-permission list: whole words, any case, ids in any case;
 * a bad line is reported with its file and line. */
static void t_d5_permset(void)
{
    struct mh_permset ps;
    mh_error err;
    mh_error_clear(&err);
    CHECK_INT(mh_permset_load(&ps, "rules/data/dangerous-permissions.tsv", &err), MH_OK);
    static const struct {
        const char *text, *want;
    } C[] = {
        {"full_access_as_app", "full_access_as_app"},
        {"[] => [[Id: x, ConsentType: AllPrincipals, Scope: User.Read mail.send, ]]", "mail.send"},
        {"Mail.ReadBasic User.Read offline_access", ""},         /* not listed: whole words only */
        {"Mail.Read.Shared", ""},                                  /* a longer word */
        {"DC890D15-9560-4A4C-9B7F-A736EC74EC40", "DC890D15-9560-4A4C-9B7F-A736EC74EC40"}, /* role id */
        {"\"Directory.ReadWrite.All\"", "Directory.ReadWrite.All"},
        {"", ""},
    };
    for (size_t i = 0; i < sizeof C / sizeof C[0]; i++) {
        struct mh_slice got = mh_permset_find(&ps, mh_slice_cstr(C[i].text));
        char gs[64];
        snprintf(gs, sizeof gs, "%.*s", (int)(got.len < 63 ? got.len : 63), got.len ? got.ptr : "");
        if (!mh_slice_eq_cstr(got, C[i].want))
            fprintf(stderr, "  case %zu: got '%s'\n", i, gs);
        CHECK(mh_slice_eq_cstr(got, C[i].want));
    }
    mh_permset_fini(&ps);
    char path[] = "/tmp/mh-perms-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    static const char bad[] = "# comment\nMail.Read\t-\nMail Read\t-\n";
    CHECK(write(fd, bad, sizeof bad - 1) == (ssize_t)(sizeof bad - 1));
    close(fd);
    mh_error_clear(&err);
    CHECK_INT(mh_permset_load(&ps, path, &err), MH_EPARSE);
    CHECK_INT(err.line, 3);
    mh_permset_fini(&ps);
    /* a line longer than the reader's buffer is an error, not two lines: the
       tail of this comment would otherwise load as the permission "xxx..." */
    FILE *lf = fopen(path, "w");
    CHECK(lf != NULL);
    if (!lf) return;
    fputs("Mail.Read\t-\n# ", lf);
    for (int i = 0; i < (int)MH_CONFIG_MAX_LINE; i++) fputc('x', lf);
    fputs("\nMail.Send\t-\n", lf);
    fclose(lf);
    mh_error_clear(&err);
    CHECK_INT(mh_permset_load(&ps, path, &err), MH_EINVAL);
    CHECK_INT(err.line, 2);
    mh_permset_fini(&ps);
    mh_error_clear(&err);
    CHECK_INT(mh_permset_load(&ps, "/nonexistent/perms.tsv", &err), MH_EIO);
    mh_permset_fini(&ps);
    unlink(path);
}

int main(void)
{
    setup();
    static const struct mh_test tests[] = {
        {"d5_dormant_new_actor", t_d5_dormant_new_actor},
        {"d5_rotation_known_actor_msi", t_d5_rotation_known_actor_msi},
        {"d5_history_limits", t_d5_history_limits},
        {"d5_order_and_state", t_d5_order_and_state},
        {"d5_new_address", t_d5_new_address},
        {"d9_graph_and_direct", t_d9_graph_and_direct},
        {"d14_token_owner", t_d14_token_owner},
        {"d5_permset", t_d5_permset},
    };
    return MH_TEST_RUN(tests);
}
