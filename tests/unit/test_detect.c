/*
 * tests/unit/test_detect.c -- the stateful detectors over event streams built from JSON records
 *
 * Each case crafts records in the real export shapes (UAL AuditData, Azure
 * Monitor sign-in records, Graph directoryAudit), turns them into events with
 * mh_event_init, feeds the detectors and checks what they decide: D9 baseline
 * then first-seen pair, D14 sign-in present / absent / coverage gap / not
 * settled / both UTI encodings, D15 two countries and AiTM, D11 spike (daily;
 * hourly: z-score, MAD floor, minimum, burst, fallback, order, state), D12
 * throttle gap, D1 and D2/D3 spray success, D1 across runs (split exports,
 * reruns, no second report, retention), D8 ephemeral SP, context follow-ups,
 * out-of-order input, state save/reload, config parsing, allocation failure.
 * Needs rules/data/first-party-apps.tsv (MH_DATA_DIR = the source tree).
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/time.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "mh_test.h"
#include "mh_testdet.h"
#include "normalize/event.h"
#include "normalize/ident.h"

#define TENANT "8d4121ed-0008-406d-bff9-0d5bb312183c"
#define EXO "00000002-0000-0ff1-ce00-000000000000"
#define GRAPH "00000003-0000-0000-c000-000000000000"
#define EVIL_APP "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"
#define OUTLOOK_MOBILE "27922004-5251-4030-b22d-91ecd9a37ea4"

/* ---- record builders ---- */

static mh_time T0; /* 2024-03-01T00:00:00Z */

static mh_time at(int day, int hour, int min, int sec)
{
    return T0 + ((((mh_time)day * 24 + hour) * 60 + min) * 60 + sec) * MH_USEC_PER_SEC;
}

static const char *iso(mh_time t, char *buf)
{
    mh_time_format(t, buf, 0);
    return buf;
}

/* A growing JSON object text: kv(...) adds "key":"value" when value is non-empty. */
struct jb {
    char s[4096];
    size_t n;
    bool first;
};

static void jb_open(struct jb *j)
{
    j->n = 0;
    j->first = true;
    j->s[j->n++] = '{';
    j->s[j->n] = 0;
}

static void jb_raw(struct jb *j, const char *key, const char *fmt, ...) MH_PRINTF(3, 4);
static void jb_raw(struct jb *j, const char *key, const char *fmt, ...)
{
    va_list ap;
    j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "%s\"%s\":", j->first ? "" : ",", key);
    va_start(ap, fmt);
    j->n += (size_t)vsnprintf(j->s + j->n, sizeof j->s - j->n, fmt, ap);
    va_end(ap);
    j->first = false;
}

static void jb_str(struct jb *j, const char *key, const char *v)
{
    if (v && *v) jb_raw(j, key, "\"%s\"", v);
}

static void jb_close(struct jb *j)
{
    j->n += (size_t)snprintf(j->s + j->n, sizeof j->s - j->n, "}");
}

struct mia {
    const char *mailbox, *user, *app, *client, *ip, *session, *uti, *access, *throttled, *tenant,
        *user_type, *folders; /* folders: comma-separated paths (Folders[].Path) */
    mh_time iat;
    int count;
};

static const char *mia_json(struct jb *j, mh_time t, const struct mia *m, int id)
{
    char ts[32], ia[32], idb[48], ctx[512];
    jb_open(j);
    jb_str(j, "CreationTime", iso(t, ts));
    snprintf(idb, sizeof idb, "00000000-0000-4000-8000-%012d", id);
    jb_str(j, "Id", idb);
    jb_str(j, "Operation", "MailItemsAccessed");
    jb_str(j, "OrganizationId", m->tenant ? m->tenant : TENANT);
    jb_raw(j, "RecordType", "50");
    jb_raw(j, "UserType", "%s", m->user_type ? m->user_type : "0");
    jb_str(j, "Workload", "Exchange");
    jb_str(j, "UserId", m->user ? m->user : m->mailbox);
    jb_str(j, "MailboxOwnerUPN", m->mailbox);
    jb_str(j, "AppId", m->app);
    jb_str(j, "ClientAppId", m->client);
    jb_str(j, "ClientIPAddress", m->ip);
    jb_str(j, "SessionId", m->session);
    jb_raw(j, "OperationCount", "%d", m->count ? m->count : 1);
    jb_raw(j, "OperationProperties",
           "[{\"Name\":\"MailAccessType\",\"Value\":\"%s\"},{\"Name\":\"IsThrottled\","
           "\"Value\":\"%s\"}]",
           m->access ? m->access : "Bind", m->throttled ? m->throttled : "False");
    if (m->uti || m->iat) {
        size_t n = (size_t)snprintf(ctx, sizeof ctx, "{");
        if (m->uti) n += (size_t)snprintf(ctx + n, sizeof ctx - n, "\"UniqueTokenId\":\"%s\"", m->uti);
        if (m->iat)
            n += (size_t)snprintf(ctx + n, sizeof ctx - n, "%s\"IssuedAtTime\":\"%s\"",
                                  m->uti ? "," : "", iso(m->iat, ia));
        snprintf(ctx + n, sizeof ctx - n, "}");
        jb_raw(j, "AppAccessContext", "%s", ctx);
    }
    if (m->folders) {
        char fb[1024];
        size_t n = (size_t)snprintf(fb, sizeof fb, "[");
        for (const char *p = m->folders; *p;) {
            const char *e = strchr(p, ',');
            size_t l = e ? (size_t)(e - p) : strlen(p);
            n += (size_t)snprintf(fb + n, sizeof fb - n, "%s{\"Path\":\"\\\\%.*s\"}",
                                  p == m->folders ? "" : ",", (int)l, p);
            p += l + (e ? 1 : 0);
        }
        snprintf(fb + n, sizeof fb - n, "]");
        jb_raw(j, "Folders", "%s", fb);
    }
    jb_close(j);
    return j->s;
}

struct signin {
    const char *category, *id, *user, *ip, *session, *uti, *country, *asn, *auth, *sp_id, *app;
    int code;
};

static const char *signin_json(struct jb *j, mh_time t, const struct signin *s)
{
    char ts[32], props[2048];
    size_t n = 0;
    n += (size_t)snprintf(props + n, sizeof props - n,
                          "{\"id\":\"%s\",\"createdDateTime\":\"%s\",\"userPrincipalName\":\"%s\","
                          "\"ipAddress\":\"%s\",\"status\":{\"errorCode\":%d},\"appId\":\"%s\"",
                          s->id, iso(t, ts), s->user ? s->user : "", s->ip ? s->ip : "", s->code,
                          s->app ? s->app : "c44b4083-3bb0-49c1-b47d-974e53cbdf3c");
    if (s->session) n += (size_t)snprintf(props + n, sizeof props - n, ",\"sessionId\":\"%s\"", s->session);
    if (s->uti)
        n += (size_t)snprintf(props + n, sizeof props - n, ",\"uniqueTokenIdentifier\":\"%s\"",
                              s->uti);
    if (s->country)
        n += (size_t)snprintf(props + n, sizeof props - n,
                              ",\"location\":{\"countryOrRegion\":\"%s\"}", s->country);
    if (s->asn)
        n += (size_t)snprintf(props + n, sizeof props - n, ",\"autonomousSystemNumber\":%s", s->asn);
    if (s->auth)
        n += (size_t)snprintf(props + n, sizeof props - n,
                              ",\"authenticationRequirement\":\"%s\"", s->auth);
    if (s->sp_id)
        n += (size_t)snprintf(props + n, sizeof props - n, ",\"servicePrincipalId\":\"%s\"",
                              s->sp_id);
    snprintf(props + n, sizeof props - n, "}");
    jb_open(j);
    jb_str(j, "time", ts);
    jb_str(j, "category", s->category ? s->category : "SignInLogs");
    jb_str(j, "operationName", "Sign-in activity");
    jb_str(j, "tenantId", TENANT);
    jb_raw(j, "properties", "%s", props);
    jb_close(j);
    return j->s;
}

/* Graph directoryAudit record. */
static const char *audit_json(struct jb *j, mh_time t, const char *activity, const char *actor,
                              const char *target_id, const char *modprops)
{
    char ts[32];
    jb_open(j);
    jb_str(j, "id", "Directory_test");
    jb_str(j, "category", "ApplicationManagement");
    jb_str(j, "activityDisplayName", activity);
    jb_str(j, "activityDateTime", iso(t, ts));
    jb_str(j, "loggedByService", "Core Directory");
    jb_raw(j, "initiatedBy", "{\"user\":{\"userPrincipalName\":\"%s\",\"ipAddress\":\"198.51.100.7\"}}",
           actor);
    jb_raw(j, "targetResources",
           "[{\"id\":\"%s\",\"type\":\"ServicePrincipal\",\"modifiedProperties\":[%s]}]", target_id,
           modprops ? modprops : "");
    jb_close(j);
    return j->s;
}

/* ---- harness ---- */

struct got {
    char rule[64];
    enum mh_level level;
    mh_time time;
    char user[96], ip[64], mailbox[96], app[64], client[64], session[64], token[64];
    char fields[512];
    const char *precondition;
};

struct run {
    struct mh_testdet det;
    struct got got[256];
    size_t ngot;
    char all[16384]; /* every detection serialized, for order-independence checks */
    size_t nall;
};

static void copy_slice(char *dst, size_t cap, struct mh_slice s)
{
    size_t n = s.len < cap - 1 ? s.len : cap - 1;
    if (n) memcpy(dst, s.ptr, n);
    dst[n] = 0;
}

static mh_status on_det(void *ctx, const struct mh_detection *d)
{
    struct run *r = ctx;
    char ts[32];
    r->nall += (size_t)snprintf(r->all + r->nall, sizeof r->all - r->nall, "%s|%s|%s|%llu|",
                                d->finding.rule_id, mh_level_name(d->finding.level),
                                iso(d->finding.time, ts), (unsigned long long)d->finding.ref.record);
    for (size_t i = 0; i < d->nfields && r->nall < sizeof r->all - 64; i++)
        r->nall += (size_t)snprintf(r->all + r->nall, sizeof r->all - r->nall, "%s=%.*s;",
                                    d->fields[i].name, (int)d->fields[i].value.len,
                                    d->fields[i].value.ptr);
    if (r->nall < sizeof r->all - 2) r->all[r->nall++] = '\n', r->all[r->nall] = 0;
    if (r->ngot == sizeof r->got / sizeof r->got[0]) return MH_OK;
    struct got *g = &r->got[r->ngot++];
    memset(g, 0, sizeof *g);
    snprintf(g->rule, sizeof g->rule, "%s", d->finding.rule_id);
    g->level = d->finding.level;
    g->time = d->finding.time;
    g->precondition = d->precondition;
    copy_slice(g->user, sizeof g->user, d->finding.ent[MH_ENT_USER]);
    copy_slice(g->ip, sizeof g->ip, d->finding.ent[MH_ENT_IP]);
    copy_slice(g->mailbox, sizeof g->mailbox, d->finding.ent[MH_ENT_MAILBOX]);
    copy_slice(g->app, sizeof g->app, d->finding.ent[MH_ENT_APP_ID]);
    copy_slice(g->client, sizeof g->client, d->finding.ent[MH_ENT_CLIENT_APP_ID]);
    copy_slice(g->session, sizeof g->session, d->finding.ent[MH_ENT_SESSION_ID]);
    copy_slice(g->token, sizeof g->token, d->finding.ent[MH_ENT_TOKEN_ID]);
    size_t n = 0;
    for (size_t i = 0; i < d->nfields; i++)
        n += (size_t)snprintf(g->fields + n, sizeof g->fields - n, "%s=%.*s;", d->fields[i].name,
                              (int)d->fields[i].value.len, d->fields[i].value.ptr);
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
}

static void run_free(struct run *r)
{
    mh_testdet_free(&r->det);
}

static size_t count_rule(const struct run *r, const char *rule)
{
    size_t n = 0;
    for (size_t i = 0; i < r->ngot; i++) n += strcmp(r->got[i].rule, rule) == 0;
    return n;
}

static const struct got *find_rule(const struct run *r, const char *rule, const char *mailbox)
{
    for (size_t i = 0; i < r->ngot; i++)
        if (strcmp(r->got[i].rule, rule) == 0 && (!mailbox || strcmp(r->got[i].mailbox, mailbox) == 0))
            return &r->got[i];
    return NULL;
}

static void dump(const struct run *r)
{
    fprintf(stderr, "--- %zu detections\n%s", r->ngot, r->all);
}

/* ---- D9 ---- */

/* Owner reads every day; at day 9 an unknown client reads two mailboxes via
 * Graph, a first-party pair shows up, and a day-3 pair is part of the baseline. */
static size_t d9_records(char recs[][4096], bool reversed)
{
    struct jb j;
    size_t n = 0;
    int id = 1;
    for (int day = 0; day < 10; day++) {
        struct mia a = {.mailbox = "alice@contoso.com", .app = EXO, .ip = "203.0.113.10"};
        struct mia b = {.mailbox = "bob@contoso.com", .app = EXO, .ip = "203.0.113.11"};
        snprintf(recs[n++], 4096, "%s", mia_json(&j, at(day, 9, 0, 0), &a, id++));
        snprintf(recs[n++], 4096, "%s", mia_json(&j, at(day, 10, 0, 0), &b, id++));
    }
    struct mia early = {.mailbox = "alice@contoso.com", .app = GRAPH,
                        .client = "11111111-2222-4333-8444-555555555555", .ip = "203.0.113.10"};
    snprintf(recs[n++], 4096, "%s", mia_json(&j, at(3, 11, 0, 0), &early, id++));
    struct mia evil_a = {.mailbox = "alice@contoso.com", .user = "svc", .app = GRAPH,
                         .client = EVIL_APP, .ip = "192.0.2.66"};
    struct mia evil_b = evil_a;
    evil_b.mailbox = "bob@contoso.com";
    snprintf(recs[n++], 4096, "%s", mia_json(&j, at(9, 3, 0, 0), &evil_a, id++));
    snprintf(recs[n++], 4096, "%s", mia_json(&j, at(9, 3, 5, 0), &evil_b, id++));
    snprintf(recs[n++], 4096, "%s", mia_json(&j, at(9, 4, 0, 0), &evil_b, id++));
    struct mia fp = {.mailbox = "bob@contoso.com", .app = EXO, .client = OUTLOOK_MOBILE,
                     .ip = "203.0.113.11"};
    snprintf(recs[n++], 4096, "%s", mia_json(&j, at(9, 12, 0, 0), &fp, id++));
    if (reversed) {
        for (size_t i = 0; i < n / 2; i++) {
            char tmp[4096];
            memcpy(tmp, recs[i], 4096);
            memcpy(recs[i], recs[n - 1 - i], 4096);
            memcpy(recs[n - 1 - i], tmp, 4096);
        }
    }
    return n;
}

static char recbuf[64][4096];

static void t_d9_first_seen(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    size_t n = d9_records(recbuf, false);
    for (size_t i = 0; i < n; i++) feed(&r, recbuf[i]);
    run_end(&r);
    const struct got *g = find_rule(&r, "mh.d9.first_seen_app", NULL);
    CHECK(g != NULL);
    if (g) {
        CHECK_STREQ(g->client, EVIL_APP);
        CHECK(g->level == MH_LEVEL_HIGH);
        CHECK_INT(g->time, at(9, 3, 0, 0));
        CHECK(strstr(g->fields, "mailboxes=2;") != NULL);
    }
    /* one tenant alert for the evil pair, one informational for the first-party pair */
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 2);
    size_t info = 0;
    for (size_t i = 0; i < r.ngot; i++)
        if (strcmp(r.got[i].rule, "mh.d9.first_seen_app") == 0 &&
            r.got[i].level == MH_LEVEL_INFORMATIONAL) {
            info++;
            CHECK_STREQ(r.got[i].client, OUTLOOK_MOBILE);
        }
    CHECK_INT(info, 1);
    /* per mailbox: medium for both mailboxes the new pair read */
    const struct got *ma = find_rule(&r, "mh.d9.first_seen_app_mailbox", "alice@contoso.com");
    const struct got *mb = find_rule(&r, "mh.d9.first_seen_app_mailbox", "bob@contoso.com");
    CHECK(ma && ma->level == MH_LEVEL_MEDIUM);
    CHECK(mb && mb->level == MH_LEVEL_MEDIUM && mb->time == at(9, 3, 5, 0));
    /* the day-3 pair is in the baseline; alice's day-3 pair is not new */
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app_mailbox"), 2);
    /* the high finding's address is an attacker context: bob's two reads from
       it are reported once more as context; alice's single read is already
       the evidence of a detection */
    CHECK_INT(count_rule(&r, "mh.ctx.mail_access_in_context"), 1);
    const struct got *cg = find_rule(&r, "mh.ctx.mail_access_in_context", NULL);
    CHECK(cg && strcmp(cg->mailbox, "bob@contoso.com") == 0);
    if (r.ngot != 5) dump(&r);
    CHECK_INT(r.ngot, 5);
    run_free(&r);
}

/* The same detections in a and b apart from record numbers (which follow the
 * feed order): rule, time, mailbox, client app and fields. */
static void check_same(const struct run *a, const struct run *b)
{
    CHECK_INT(b->ngot, a->ngot);
    for (size_t i = 0; i < a->ngot && i < b->ngot; i++) {
        CHECK_STREQ(b->got[i].rule, a->got[i].rule);
        CHECK_INT(b->got[i].time, a->got[i].time);
        CHECK_STREQ(b->got[i].mailbox, a->got[i].mailbox);
        CHECK_STREQ(b->got[i].client, a->got[i].client);
        CHECK_STREQ(b->got[i].fields, a->got[i].fields);
    }
}

static void t_d9_out_of_order(void)
{
    struct run a, b;
    run_begin(&a, NULL, NULL);
    size_t n = d9_records(recbuf, false);
    for (size_t i = 0; i < n; i++) feed(&a, recbuf[i]);
    run_end(&a);
    run_begin(&b, NULL, NULL);
    n = d9_records(recbuf, true);
    for (size_t i = 0; i < n; i++) feed(&b, recbuf[i]);
    run_end(&b);
    /* record numbers differ with the order: compare everything but them */
    check_same(&a, &b);
    run_free(&a);
    run_free(&b);
}

static void t_d9_short_baseline(void)
{
    /* only 5 days of history: nothing is "first seen" with a 7-day baseline */
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    for (int day = 0; day < 5; day++) {
        struct mia a = {.mailbox = "alice@contoso.com", .app = EXO};
        feed(&r, mia_json(&j, at(day, 9, 0, 0), &a, day));
    }
    struct mia evil = {.mailbox = "alice@contoso.com", .app = GRAPH, .client = EVIL_APP};
    feed(&r, mia_json(&j, at(4, 12, 0, 0), &evil, 99));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 0);
    CHECK(mh_detectors_stats(r.det.d)->d9_baseline_incomplete > 0);
    run_free(&r);
    /* the same with d9.baseline = 3d fires */
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d9.baseline", "3d", NULL) == MH_OK);
    run_begin(&r, &c, NULL);
    for (int day = 0; day < 5; day++) {
        struct mia a = {.mailbox = "alice@contoso.com", .app = EXO};
        feed(&r, mia_json(&j, at(day, 9, 0, 0), &a, day));
    }
    feed(&r, mia_json(&j, at(4, 12, 0, 0), &evil, 99));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 1);
    run_free(&r);
}

/* ---- D14 ---- */

static void uti_of(const char *id, char out[23])
{
    struct mh_guid g;
    CHECK(mh_guid_parse(id, strlen(id), &g) == MH_OK);
    mh_uti_encode(&g, out);
}

/* base64 (standard, padded) of the ASCII id: the older encoding */
static void uti_ascii(const char *id, char *out)
{
    static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    size_t n = strlen(id), o = 0;
    for (size_t i = 0; i < n; i += 3) {
        unsigned v = (unsigned char)id[i] << 16;
        if (i + 1 < n) v |= (unsigned char)id[i + 1] << 8;
        if (i + 2 < n) v |= (unsigned char)id[i + 2];
        out[o++] = b64[v >> 18 & 63];
        out[o++] = b64[v >> 12 & 63];
        out[o++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
        out[o++] = i + 2 < n ? b64[v & 63] : '=';
    }
    out[o] = 0;
}

/* Dense interactive + non-interactive sign-ins every 20 minutes from 06:00 to
 * 18:00 of day 0, plus a 4-hour gap on day 1 (06:00-08:00, then 12:00-18:00). */
static void feed_signin_streams(struct run *r)
{
    struct jb j;
    int id = 1000;
    for (int day = 0; day < 2; day++) {
        for (int m = 6 * 60; m <= 18 * 60; m += 20) {
            if (day == 1 && m > 8 * 60 && m < 12 * 60) continue;
            char sid[40];
            snprintf(sid, sizeof sid, "aaaaaaaa-0000-4000-8000-%012d", id++);
            struct signin s = {.category = "SignInLogs", .id = sid, .user = "carol@contoso.com",
                               .ip = "203.0.113.20"};
            feed(r, signin_json(&j, at(day, m / 60, m % 60, 0), &s));
            snprintf(sid, sizeof sid, "bbbbbbbb-0000-4000-8000-%012d", id++);
            s.category = "NonInteractiveUserSignInLogs";
            s.id = sid;
            feed(r, signin_json(&j, at(day, m / 60, m % 60, 30), &s));
        }
    }
}

static void t_d14_tokens(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    const char *good_id = "4d63c1c4-c95b-4d3c-8e0a-1271fd813e00";
    const char *old_id = "933f20c0-efdf-477f-9586-e5cc566d2e00";
    char uti_good[23], uti_old[64], uti_forged[23], uti_gap[23], uti_late[23];
    uti_of(good_id, uti_good);
    uti_ascii(old_id, uti_old);
    uti_of("deadbeef-0000-4000-8000-000000000001", uti_forged);
    uti_of("deadbeef-0000-4000-8000-000000000002", uti_gap);
    uti_of("deadbeef-0000-4000-8000-000000000003", uti_late);
    /* workload first: candidates must be re-checked at finish */
    struct mia m = {.mailbox = "carol@contoso.com", .app = EXO, .uti = uti_good,
                    .iat = at(0, 10, 0, 0), .ip = "203.0.113.20"};
    feed(&r, mia_json(&j, at(0, 10, 7, 0), &m, 1));
    feed_signin_streams(&r);
    /* the sign-in that issued uti_good, 5 minutes after IssuedAtTime */
    struct signin s = {.category = "NonInteractiveUserSignInLogs", .id = good_id,
                       .user = "carol@contoso.com", .ip = "203.0.113.20"};
    feed(&r, signin_json(&j, at(0, 10, 5, 0), &s));
    /* old encoding: sign-in carries only its id; workload the base64 ASCII UTI */
    struct signin s2 = {.category = "SignInLogs", .id = old_id, .user = "carol@contoso.com"};
    feed(&r, signin_json(&j, at(0, 11, 0, 0), &s2));
    struct mia m2 = m;
    m2.uti = uti_old;
    m2.iat = at(0, 11, 0, 0);
    feed(&r, mia_json(&j, at(0, 11, 20, 0), &m2, 2));
    /* forged: covered time, no sign-in; used 3 times */
    struct mia f = {.mailbox = "carol@contoso.com", .app = EXO, .uti = uti_forged,
                    .iat = at(0, 13, 0, 0), .ip = "192.0.2.99", .session = NULL};
    feed(&r, mia_json(&j, at(0, 13, 1, 0), &f, 3));
    feed(&r, mia_json(&j, at(0, 13, 30, 0), &f, 4));
    feed(&r, mia_json(&j, at(0, 13, 2, 0), &f, 5));
    /* in the day-1 gap: unverifiable */
    struct mia g = f;
    g.uti = uti_gap;
    g.iat = at(1, 10, 0, 0);
    g.mailbox = "dave@contoso.com";
    feed(&r, mia_json(&j, at(1, 10, 1, 0), &g, 6));
    /* one hour before the end of coverage: not settled */
    struct mia l = f;
    l.uti = uti_late;
    l.iat = at(1, 17, 0, 0);
    l.mailbox = "erin@contoso.com";
    feed(&r, mia_json(&j, at(1, 17, 1, 0), &l, 7));
    /* a record without any token id is never evidence */
    struct mia none = {.mailbox = "frank@contoso.com", .app = EXO};
    feed(&r, mia_json(&j, at(0, 12, 0, 0), &none, 8));
    run_end(&r);

    CHECK_INT(count_rule(&r, "mh.d14.token_without_signin"), 1);
    const struct got *fg = find_rule(&r, "mh.d14.token_without_signin", NULL);
    if (fg) {
        CHECK(fg->level == MH_LEVEL_HIGH);
        CHECK_INT(fg->time, at(0, 13, 1, 0)); /* earliest use is the evidence */
        CHECK_STREQ(fg->token, "deadbeef-0000-4000-8000-000000000001");
        CHECK(strstr(fg->fields, "reason=uti_unknown;") != NULL);
        CHECK_STREQ(fg->precondition, "met");
    }
    CHECK_INT(count_rule(&r, "mh.d14.token_unverifiable"), 2);
    const struct got *gg = find_rule(&r, "mh.d14.token_unverifiable", "dave@contoso.com");
    CHECK(gg && gg->level == MH_LEVEL_LOW && strstr(gg->fields, "gap in") != NULL);
    if (gg) CHECK_STREQ(gg->precondition, "unmet");
    const struct got *lg = find_rule(&r, "mh.d14.token_unverifiable", "erin@contoso.com");
    CHECK(lg && strstr(lg->fields, "not settled") != NULL);
    /* the forged token's address became an attacker context: its other reads
       (the two unverifiable ones, and the forged token's 3 uses) are context */
    CHECK_INT(count_rule(&r, "mh.ctx.mail_access_in_context"), 3);
    if (r.ngot != 6) dump(&r);
    CHECK_INT(r.ngot, 6);
    run_free(&r);
}

static void t_d14_time_mismatch_and_no_signins(void)
{
    /* a known sign-in id whose time is impossible for the token is still a candidate */
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    feed_signin_streams(&r);
    const char *id = "12345678-0000-4000-8000-000000000abc";
    char uti[23];
    uti_of(id, uti);
    struct signin s = {.category = "SignInLogs", .id = id, .user = "carol@contoso.com"};
    feed(&r, signin_json(&j, at(0, 7, 0, 0), &s));
    struct mia m = {.mailbox = "carol@contoso.com", .app = EXO, .uti = uti, .iat = at(0, 12, 0, 0)};
    feed(&r, mia_json(&j, at(0, 12, 3, 0), &m, 1));
    run_end(&r);
    const struct got *g = find_rule(&r, "mh.d14.token_without_signin", NULL);
    CHECK(g && strstr(g->fields, "reason=uti_time_mismatch;") != NULL);
    run_free(&r);

    /* no sign-in logs at all: one informational "not evaluable", never forged */
    run_begin(&r, NULL, NULL);
    feed(&r, mia_json(&j, at(0, 12, 3, 0), &m, 1));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d14.token_without_signin"), 0);
    CHECK_INT(count_rule(&r, "mh.d14.not_evaluable"), 1);
    const struct got *ne = find_rule(&r, "mh.d14.not_evaluable", NULL);
    CHECK(ne && ne->level == MH_LEVEL_INFORMATIONAL);
    run_free(&r);

    /* a missing stream (no non-interactive sign-ins): unverifiable */
    run_begin(&r, NULL, NULL);
    for (int mi = 6 * 60; mi <= 18 * 60; mi += 20) {
        char sid[40];
        snprintf(sid, sizeof sid, "cccccccc-0000-4000-8000-%012d", mi);
        struct signin si = {.category = "SignInLogs", .id = sid, .user = "carol@contoso.com"};
        feed(&r, signin_json(&j, at(0, mi / 60, mi % 60, 0), &si));
    }
    feed(&r, mia_json(&j, at(0, 12, 3, 0), &m, 1));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d14.token_without_signin"), 0);
    const struct got *u = find_rule(&r, "mh.d14.token_unverifiable", NULL);
    CHECK(u && strstr(u->fields, "no noninteractive sign-ins") != NULL);
    run_free(&r);
}

/* ---- D15 ---- */

static void t_d15_sessions(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    const char *sess = "7cf18d3a-5bd6-4236-b966-ae2138f12851";
    struct signin a = {.category = "NonInteractiveUserSignInLogs", .id = "a1000000-0000-4000-8000-000000000001",
                       .user = "gina@contoso.com", .ip = "203.0.113.30", .session = sess,
                       .country = "DE", .asn = "3320"};
    feed(&r, signin_json(&j, at(0, 9, 0, 0), &a));
    struct signin b = a;
    b.id = "a1000000-0000-4000-8000-000000000002";
    b.ip = "198.51.100.40";
    b.country = "NG";
    b.asn = "37148";
    feed(&r, signin_json(&j, at(0, 9, 40, 0), &b));
    struct signin c = a;
    c.id = "a1000000-0000-4000-8000-000000000003";
    feed(&r, signin_json(&j, at(0, 8, 0, 0), &c)); /* earlier, same place: out of order */
    /* another session: one country, two IPs of one ASN -> nothing */
    struct signin d = {.category = "SignInLogs", .id = "a1000000-0000-4000-8000-000000000004",
                       .user = "hank@contoso.com", .ip = "203.0.113.50",
                       .session = "11111111-aaaa-4bbb-8ccc-000000000001", .country = "US",
                       .asn = "7018"};
    feed(&r, signin_json(&j, at(0, 9, 0, 0), &d));
    d.id = "a1000000-0000-4000-8000-000000000005";
    d.ip = "203.0.113.51";
    feed(&r, signin_json(&j, at(0, 15, 0, 0), &d));
    /* AiTM: interactive successes of ivan from two IPs 12 s apart; two v4/v6 */
    struct signin e = {.category = "SignInLogs", .id = "a1000000-0000-4000-8000-000000000006",
                       .user = "ivan@contoso.com", .ip = "203.0.113.60"};
    feed(&r, signin_json(&j, at(1, 9, 0, 0), &e));
    e.id = "a1000000-0000-4000-8000-000000000007";
    e.ip = "192.0.2.61";
    feed(&r, signin_json(&j, at(1, 9, 0, 12), &e));
    e.id = "a1000000-0000-4000-8000-000000000008";
    e.ip = "2001:db8::61";
    feed(&r, signin_json(&j, at(1, 12, 0, 0), &e));
    e.id = "a1000000-0000-4000-8000-000000000009";
    e.ip = "192.0.2.62";
    feed(&r, signin_json(&j, at(1, 12, 0, 20), &e));
    /* 2 minutes apart: not AiTM */
    e.id = "a1000000-0000-4000-8000-000000000010";
    e.ip = "192.0.2.63";
    feed(&r, signin_json(&j, at(1, 12, 2, 20), &e));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d15.session_multi_location"), 1);
    const struct got *g = find_rule(&r, "mh.d15.session_multi_location", NULL);
    if (g) {
        CHECK_INT(g->time, at(0, 9, 40, 0));
        CHECK_STREQ(g->ip, "198.51.100.40");
        CHECK(strstr(g->fields, "countries=DE,NG;") != NULL);
        CHECK(strstr(g->fields, "asns=3320,37148;") != NULL);
    }
    CHECK_INT(count_rule(&r, "mh.d15.aitm_login_pair"), 2);
    size_t med = 0, low = 0;
    for (size_t i = 0; i < r.ngot; i++) {
        if (strcmp(r.got[i].rule, "mh.d15.aitm_login_pair")) continue;
        med += r.got[i].level == MH_LEVEL_MEDIUM;
        low += r.got[i].level == MH_LEVEL_LOW;
    }
    CHECK_INT(med, 1);
    CHECK_INT(low, 1);
    run_free(&r);
}

/* ---- D11, D12 ---- */

static void t_d11_volume(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    static const int daily[] = {40, 55, 38, 61, 47, 52, 44, 50};
    int id = 1;
    for (int day = 0; day < 8; day++) {
        struct mia m = {.mailbox = "judy@contoso.com", .app = EXO, .count = daily[day]};
        feed(&r, mia_json(&j, at(day, 9, 0, 0), &m, id++));
        struct mia o = {.mailbox = "ken@contoso.com", .app = EXO, .count = 300};
        feed(&r, mia_json(&j, at(day, 9, 0, 0), &o, id++));
    }
    /* day 8: judy read 2,400 items; ken as usual */
    struct mia spike = {.mailbox = "judy@contoso.com", .app = EXO, .count = 1200};
    feed(&r, mia_json(&j, at(8, 2, 0, 0), &spike, id++));
    feed(&r, mia_json(&j, at(8, 3, 0, 0), &spike, id++));
    struct mia o = {.mailbox = "ken@contoso.com", .app = EXO, .count = 310};
    feed(&r, mia_json(&j, at(8, 9, 0, 0), &o, id++));
    run_end(&r);
    const struct got *g = find_rule(&r, "mh.d11.mail_volume_mailbox", "judy@contoso.com");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->time, at(8, 2, 0, 0));
        CHECK(strstr(g->fields, "day_volume=2400;") != NULL);
        CHECK(strstr(g->fields, "baseline_days=8;") != NULL);
    }
    CHECK(find_rule(&r, "mh.d11.mail_volume_mailbox", "ken@contoso.com") == NULL);
    /* the application pair (EXO, "") also spiked: 2,710 against ~350 */
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_app"), 1);
    run_free(&r);
}

/* ---- D11 per mailbox and hour (hourly.c) ---- */

/* A record of `items` items read from mailbox at t; by the owner unless
 * evil (an unknown application through Graph). */
static void read_items(struct run *r, const char *mailbox, mh_time t, int items, bool evil)
{
    static int id = 100000;
    struct jb j;
    struct mia m = {.mailbox = mailbox, .app = evil ? GRAPH : EXO, .client = evil ? EVIL_APP : NULL,
                    .user = evil ? "svc@contoso.com" : NULL, .count = items};
    feed(r, mia_json(&j, t, &m, id++));
}

/* Days [from, to) covered from 00:05 to 23:55 (a clock mailbox reading at
 * both ends), so empty hours of other mailboxes count 0. */
static void cover_days(struct run *r, int from, int to)
{
    for (int d = from; d < to; d++) {
        read_items(r, "clock@contoso.com", at(d, 0, 5, 0), 1, false);
        read_items(r, "clock@contoso.com", at(d, 23, 55, 0), 1, false);
    }
}

static bool has_fields(const struct got *g, const char *want)
{
    if (!g) return false;
    if (strstr(g->fields, want)) return true;
    fprintf(stderr, "fields %s lack %s\n", g->fields, want);
    return false;
}

static void t_d11_hour_zscore(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    cover_days(&r, 0, 11);
    for (int d = 0; d < 10; d++) {
        /* alice: 0, 1 or 2 items at 03:00 (median 1, mad 1), more at 09:00 */
        if (d % 3) read_items(&r, "alice@contoso.com", at(d, 3, 5, 0), d % 3, false);
        read_items(&r, "alice@contoso.com", at(d, 9, 0, 0), 4 + d % 5, false);
        /* two busy shared mailboxes: 100..120 items at 10:00 (median 110, mad 5) */
        read_items(&r, "shared@contoso.com", at(d, 10, 0, 0), 100 + 5 * (d % 5), false);
        read_items(&r, "busy@contoso.com", at(d, 10, 0, 0), 100 + 5 * (d % 5), false);
    }
    /* day 10 03:00: an application reads 140 items from alice's mailbox */
    read_items(&r, "alice@contoso.com", at(10, 3, 5, 0), 1, false);
    read_items(&r, "alice@contoso.com", at(10, 3, 40, 0), 70, true);
    read_items(&r, "alice@contoso.com", at(10, 3, 10, 0), 70, true);
    /* 150 items in shared@: z = 40 / (1.4826 * max(5, sqrt(110) / 1.4826)) = 3.8 */
    read_items(&r, "shared@contoso.com", at(10, 10, 0, 0), 150, false);
    /* 200 items in busy@: z = 8.6 */
    read_items(&r, "busy@contoso.com", at(10, 10, 0, 0), 200, false);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 2);
    const struct got *g = find_rule(&r, "mh.d11.mail_volume_hour", "alice@contoso.com");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->level, MH_LEVEL_LOW);
        CHECK_INT(g->time, at(10, 3, 10, 0)); /* the most items, the earliest of the two */
        CHECK_STREQ(g->client, EVIL_APP);
        CHECK(has_fields(g, "hour=2024-03-11T03:00:00Z;count=141;median=1.0;mad=1.0;z=94.4;"
                            "samples=10;baseline=hour_of_day;threshold=20;hours=1;burst_count=141;"));
    }
    CHECK(find_rule(&r, "mh.d11.mail_volume_hour", "shared@contoso.com") == NULL);
    g = find_rule(&r, "mh.d11.mail_volume_hour", "busy@contoso.com");
    CHECK(has_fields(g, "count=200;median=110.0;mad=5.0;z=8.6;samples=10;baseline=hour_of_day;"
                        "threshold=160;"));
    run_free(&r);
}

static void t_d11_hour_floor_min(void)
{
    struct run r;
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    c.d11_hourly_min = 1;
    /* an all-zero history at 03:00 (median 0, mad 0): the floor (1) makes one
       item z = 0.7, eight items z = 5.4 */
    run_begin(&r, &c, NULL);
    cover_days(&r, 0, 11);
    for (int d = 0; d < 10; d++) {
        read_items(&r, "carol@contoso.com", at(d, 9, 0, 0), 3, false);
        read_items(&r, "dave@contoso.com", at(d, 9, 0, 0), 3, false);
    }
    read_items(&r, "carol@contoso.com", at(10, 3, 0, 0), 1, false);
    read_items(&r, "dave@contoso.com", at(10, 3, 0, 0), 8, false);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 1);
    CHECK(has_fields(find_rule(&r, "mh.d11.mail_volume_hour", "dave@contoso.com"),
                     "count=8;median=0.0;mad=0.0;z=5.4;"));
    run_free(&r);
    /* d11.hourly_min (20): three reads of 6 items where there were none (z =
       12) do not alert; 20 items do */
    run_begin(&r, NULL, NULL);
    cover_days(&r, 0, 11);
    for (int d = 0; d < 10; d++) {
        read_items(&r, "erin@contoso.com", at(d, 9, 0, 0), 3, false);
        read_items(&r, "frank@contoso.com", at(d, 9, 0, 0), 3, false);
    }
    for (int i = 0; i < 3; i++) read_items(&r, "erin@contoso.com", at(10, 3, 10 * i, 0), 6, false);
    read_items(&r, "frank@contoso.com", at(10, 3, 0, 0), 20, false);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 1);
    CHECK(has_fields(find_rule(&r, "mh.d11.mail_volume_hour", "frank@contoso.com"), "count=20;"));
    run_free(&r);
}

static void t_d11_hour_burst(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    cover_days(&r, 0, 11);
    for (int d = 0; d < 10; d++) read_items(&r, "gina@contoso.com", at(d, 9, 0, 0), 3, false);
    /* 02:00 and 03:00: one burst (peak 03:00); 05:00 after a quiet hour: another */
    read_items(&r, "gina@contoso.com", at(10, 2, 30, 0), 30, true);
    read_items(&r, "gina@contoso.com", at(10, 3, 20, 0), 50, true);
    read_items(&r, "gina@contoso.com", at(10, 5, 0, 0), 40, true);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 2);
    const struct got *g = find_rule(&r, "mh.d11.mail_volume_hour", "gina@contoso.com");
    CHECK(g != NULL);
    if (g) {
        CHECK_INT(g->time, at(10, 3, 20, 0));
        CHECK(has_fields(g, "hour=2024-03-11T03:00:00Z;count=50;"));
        CHECK(has_fields(g, "hours=2;burst_count=80;"));
    }
    if (r.ngot == 2) CHECK(has_fields(&r.got[1], "hour=2024-03-11T05:00:00Z;count=40;") &&
                           has_fields(&r.got[1], "hours=1;burst_count=40;"));
    run_free(&r);
}

/* The detection of rule on mailbox at time t (its evidence), or NULL. */
static const struct got *find_at(const struct run *r, const char *rule, const char *mailbox,
                                 mh_time t)
{
    for (size_t i = 0; i < r->ngot; i++)
        if (!strcmp(r->got[i].rule, rule) && !strcmp(r->got[i].mailbox, mailbox) &&
            r->got[i].time == t)
            return &r->got[i];
    return NULL;
}

static void t_d11_hour_fallback(void)
{
    static const char *const R = "mh.d11.mail_volume_hour";
    struct run r;
    run_begin(&r, NULL, NULL);
    cover_days(&r, 0, 37);
    /* henry: a weekly report job reads 200 items on Fridays (day 0 is a
       Friday) at 10:00, 2 items on other days, five weeks long; then 210 on
       the sixth Friday and 200 on the Saturday after */
    for (int d = 0; d < 35; d++)
        read_items(&r, "henry@contoso.com", at(d, 10, 0, 0), d % 7 ? 2 : 200, false);
    read_items(&r, "henry@contoso.com", at(35, 10, 0, 0), 210, false);
    read_items(&r, "henry@contoso.com", at(36, 10, 0, 0), 200, false);
    /* ivan: the same job, two weeks and a day */
    for (int d = 0; d < 14; d++)
        read_items(&r, "ivan@contoso.com", at(d, 10, 0, 0), d % 7 ? 2 : 200, false);
    read_items(&r, "ivan@contoso.com", at(14, 10, 0, 0), 210, false);
    /* judy read 200 items on day 5: five days of history are too few */
    read_items(&r, "judy@contoso.com", at(5, 3, 0, 0), 200, true);
    run_end(&r);
    /* under four weeks the hour of day is the baseline, and a weekly job
       stands out on its day (days 7, 14, 21: the cost of little history);
       with four Fridays the hour of week knows it (days 28, 35 quiet) and
       the same volume on a Saturday is the anomaly */
    CHECK_INT(count_rule(&r, R), 6);
    CHECK(has_fields(find_at(&r, R, "henry@contoso.com", at(7, 10, 0, 0)),
                     "median=2.0;mad=0.0;z=133.5;samples=7;baseline=hour_of_day;"));
    CHECK(find_at(&r, R, "henry@contoso.com", at(14, 10, 0, 0)) != NULL);
    CHECK(has_fields(find_at(&r, R, "henry@contoso.com", at(21, 10, 0, 0)),
                     "samples=21;baseline=hour_of_day;"));
    CHECK(find_at(&r, R, "henry@contoso.com", at(28, 10, 0, 0)) == NULL);
    CHECK(find_at(&r, R, "henry@contoso.com", at(35, 10, 0, 0)) == NULL);
    CHECK(has_fields(find_at(&r, R, "henry@contoso.com", at(36, 10, 0, 0)),
                     "median=2.0;mad=0.0;z=133.5;samples=4;baseline=hour_of_week;"));
    CHECK(has_fields(find_at(&r, R, "ivan@contoso.com", at(14, 10, 0, 0)),
                     "count=210;median=2.0;mad=0.0;z=140.3;samples=14;baseline=hour_of_day;"));
    CHECK(find_rule(&r, R, "judy@contoso.com") == NULL);
    CHECK(mh_detectors_stats(r.det.d)->d11_hours_unjudged >= 1);
    run_free(&r);
}

#define HOUR_REC_BYTES 1200

static size_t keep_rec(char (*recs)[HOUR_REC_BYTES], size_t n, const char *json)
{
    snprintf(recs[n], HOUR_REC_BYTES, "%s", json);
    return n + 1;
}

static void t_d11_hour_order(void)
{
    /* the records of the burst and z-score cases, fed forward, backward and
       odd-then-even: the same detections */
    static char recs[64][HOUR_REC_BYTES];
    size_t n = 0;
    struct jb j;
    for (int d = 0; d < 11; d++) {
        for (int h = 0; h < 24; h += 23) {
            struct mia c = {.mailbox = "clock@contoso.com", .app = EXO, .count = 1};
            n = keep_rec(recs, n, mia_json(&j, at(d, h, 5, 0), &c, (int)n + 1));
        }
        if (d == 10) break;
        struct mia g = {.mailbox = "gina@contoso.com", .app = EXO, .count = 3 + d % 2};
        n = keep_rec(recs, n, mia_json(&j, at(d, 9, 0, 0), &g, (int)n + 1));
        struct mia s = {.mailbox = "busy@contoso.com", .app = EXO, .count = 100 + 5 * (d % 5)};
        n = keep_rec(recs, n, mia_json(&j, at(d, 10, 0, 0), &s, (int)n + 1));
    }
    /* {hour, items, minute, who}: ties on items are broken by the earlier time */
    static const int burst[][4] = {{2, 30, 15, 1}, {2, 20, 45, 0}, {3, 50, 25, 1}, {3, 50, 15, 2},
                                   {5, 40, 0, 1},  {10, 200, 0, 0}};
    for (size_t i = 0; i < sizeof burst / sizeof burst[0]; i++) {
        struct mia e = {.mailbox = i < 5 ? "gina@contoso.com" : "busy@contoso.com",
                        .app = burst[i][3] ? GRAPH : EXO,
                        .client = burst[i][3] == 1 ? EVIL_APP : burst[i][3] == 2 ? OUTLOOK_MOBILE : NULL,
                        .count = burst[i][1]};
        n = keep_rec(recs, n, mia_json(&j, at(10, burst[i][0], burst[i][2], 0), &e, (int)n + 1));
    }
    struct run a;
    run_begin(&a, NULL, NULL);
    for (size_t i = 0; i < n; i++) feed(&a, recs[i]);
    run_end(&a);
    CHECK_INT(count_rule(&a, "mh.d11.mail_volume_hour"), 3);
    const struct got *g = find_rule(&a, "mh.d11.mail_volume_hour", "gina@contoso.com");
    if (g) {
        CHECK_INT(g->time, at(10, 3, 15, 0));
        CHECK_STREQ(g->client, OUTLOOK_MOBILE);
    }
    for (int order = 1; order < 3; order++) {
        struct run b;
        run_begin(&b, NULL, NULL);
        for (size_t i = 0; i < n; i++) {
            size_t h = (n + 1) / 2;
            feed(&b, recs[order == 1 ? n - 1 - i : i < h ? 2 * i : 2 * (i - h) + 1]);
        }
        run_end(&b);
        check_same(&a, &b); /* record numbers follow the feed order */
        run_free(&b);
    }
    run_free(&a);
}

static void t_d11_hour_state(void)
{
    char path[] = "/tmp/mh_test_hour_XXXXXX";
    if (!mh_testdet_state_path(path)) return;
    mh_state *st = NULL;
    mh_error err;
    mh_error_clear(&err);
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    struct run r;
    /* run 1: ten days of kate's history (1 item at 03:00 every other day) */
    run_begin(&r, NULL, st);
    cover_days(&r, 0, 10);
    for (int d = 0; d < 10; d++) {
        if (d % 2) read_items(&r, "kate@contoso.com", at(d, 3, 0, 0), 1, false);
        read_items(&r, "kate@contoso.com", at(d, 9, 0, 0), 5, false);
    }
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 0);
    run_free(&r);
    mh_state_close(st);
    st = NULL;
    /* run 2, day 10 only: the baseline comes from the file */
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    run_begin(&r, NULL, st);
    cover_days(&r, 10, 11);
    read_items(&r, "kate@contoso.com", at(10, 3, 20, 0), 120, true);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 1);
    CHECK(has_fields(find_rule(&r, "mh.d11.mail_volume_hour", "kate@contoso.com"),
                     "count=120;median=0.5;mad=0.5;z=80.6;samples=10;"));
    char first[sizeof r.all];
    snprintf(first, sizeof first, "%s", r.all);
    run_free(&r);
    /* run 2 again with the file it wrote: the same detections */
    run_begin(&r, NULL, st);
    cover_days(&r, 10, 11);
    read_items(&r, "kate@contoso.com", at(10, 3, 20, 0), 120, true);
    run_end(&r);
    CHECK_STREQ(r.all, first);
    run_free(&r);
    mh_state_close(st);
    unlink(path);
    /* the same day without the file: no history, not judged */
    run_begin(&r, NULL, NULL);
    cover_days(&r, 10, 11);
    read_items(&r, "kate@contoso.com", at(10, 3, 20, 0), 120, true);
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_hour"), 0);
    CHECK(mh_detectors_stats(r.det.d)->d11_hours_unjudged >= 1);
    run_free(&r);
}

struct gaps {
    size_t n;
    char mailbox[4][64];
    mh_time start[4], end[4];
};

static mh_status on_gap(void *ctx, const struct mh_coverage_gap *g)
{
    struct gaps *gs = ctx;
    if (gs->n < 4) {
        copy_slice(gs->mailbox[gs->n], 64, g->mailbox);
        gs->start[gs->n] = g->start;
        gs->end[gs->n] = g->end;
    }
    gs->n++;
    return MH_OK;
}

static void t_d12_throttle(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    struct mia t = {.mailbox = "Laura@contoso.com", .app = GRAPH, .client = EVIL_APP,
                    .throttled = "True"};
    feed(&r, mia_json(&j, at(2, 20, 0, 0), &t, 2));
    feed(&r, mia_json(&j, at(2, 10, 0, 0), &t, 1));
    struct mia n = {.mailbox = "mike@contoso.com", .app = EXO, .throttled = "False"};
    feed(&r, mia_json(&j, at(2, 10, 0, 0), &n, 3));
    struct mia o = {.mailbox = "nina@contoso.com", .app = EXO, .throttled = "True"};
    feed(&r, mia_json(&j, at(5, 0, 0, 0), &o, 4));
    run_end(&r);
    struct gaps gs;
    memset(&gs, 0, sizeof gs);
    CHECK(mh_detectors_gaps(r.det.d, on_gap, &gs) == MH_OK);
    CHECK_INT(gs.n, 2);
    CHECK_STREQ(gs.mailbox[0], "laura@contoso.com");
    CHECK_INT(gs.start[0], at(2, 10, 0, 0));
    CHECK_INT(gs.end[0], at(3, 20, 0, 0));
    CHECK_STREQ(gs.mailbox[1], "nina@contoso.com");
    CHECK_INT(count_rule(&r, "mh.d12.throttled_mailbox"), 2);
    const struct got *g = find_rule(&r, "mh.d12.throttled_mailbox", "Laura@contoso.com");
    CHECK(g && g->level == MH_LEVEL_MEDIUM); /* Graph + third-party client */
    const struct got *g2 = find_rule(&r, "mh.d12.throttled_mailbox", "nina@contoso.com");
    CHECK(g2 && g2->level == MH_LEVEL_LOW);
    run_free(&r);
}

/* ---- D2 / D3 ---- */

static void t_d2_spray(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    char id[40], ip[32];
    int n = 1;
    /* the user's normal life: succeeds from home, one typo from home */
    struct signin s = {.category = "SignInLogs", .user = "test@contoso.com", .ip = "203.0.113.1"};
    for (int day = 0; day < 3; day++) {
        snprintf(id, sizeof id, "d2000000-0000-4000-8000-%012d", n++);
        s.id = id;
        s.code = 0;
        feed(&r, signin_json(&j, at(day, 8, 0, 0), &s));
    }
    snprintf(id, sizeof id, "d2000000-0000-4000-8000-%012d", n++);
    s.id = id;
    s.code = 50126;
    feed(&r, signin_json(&j, at(1, 7, 59, 0), &s));
    /* 6 residential addresses fail, one attempt each over 4 days */
    for (int k = 0; k < 6; k++) {
        snprintf(id, sizeof id, "d2000000-0000-4000-8000-%012d", n++);
        snprintf(ip, sizeof ip, "198.18.%d.%d", k, 10 + k);
        struct signin f = {.category = "SignInLogs", .id = id, .user = "Test@contoso.com",
                           .ip = ip, .code = 50126};
        feed(&r, signin_json(&j, at(3 + k / 2, 2 + k, 0, 0), &f));
    }
    /* then the spray source 198.18.5.15 succeeds, single-factor */
    snprintf(id, sizeof id, "d2000000-0000-4000-8000-%012d", n++);
    struct signin ok = {.category = "SignInLogs", .id = id, .user = "test@contoso.com",
                        .ip = "198.18.5.15", .code = 0, .auth = "singleFactorAuthentication"};
    feed(&r, signin_json(&j, at(6, 23, 0, 0), &ok));
    /* and the real user from a new hotel address with MFA */
    snprintf(id, sizeof id, "d2000000-0000-4000-8000-%012d", n++);
    struct signin hotel = {.category = "SignInLogs", .id = id, .user = "test@contoso.com",
                           .ip = "203.0.113.99", .code = 0, .auth = "multiFactorAuthentication"};
    feed(&r, signin_json(&j, at(6, 9, 0, 0), &hotel));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d2.spray_success"), 2);
    const struct got *top = NULL;
    for (size_t i = 0; i < r.ngot; i++)
        if (!strcmp(r.got[i].rule, "mh.d2.spray_success") && r.got[i].level == MH_LEVEL_HIGH)
            top = &r.got[i];
    CHECK(top != NULL);
    if (top) CHECK_STREQ(top->ip, "198.18.5.15");
    const struct got *d3 = find_rule(&r, "mh.d3.spray_success_no_mfa", NULL);
    CHECK(d3 && d3->level == MH_LEVEL_HIGH && strcmp(d3->ip, "198.18.5.15") == 0);
    CHECK_INT(count_rule(&r, "mh.d3.spray_success_no_mfa"), 1);
    run_free(&r);

    /* watched account: critical; fewer than 5 failing sources: nothing */
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d3.watch_accounts", "test@, breakglass", NULL) == MH_OK);
    run_begin(&r, &c, NULL);
    for (int k = 0; k < 5; k++) {
        snprintf(id, sizeof id, "d3000000-0000-4000-8000-%012d", k);
        snprintf(ip, sizeof ip, "198.18.9.%d", k);
        struct signin f = {.category = "NonInteractiveUserSignInLogs", .id = id,
                           .user = "test@contoso.com", .ip = ip, .code = 50053};
        feed(&r, signin_json(&j, at(1, k, 0, 0), &f));
    }
    feed(&r, signin_json(&j, at(2, 0, 0, 0), &ok));
    run_end(&r);
    const struct got *crit = find_rule(&r, "mh.d3.spray_success_no_mfa", NULL);
    CHECK(crit && crit->level == MH_LEVEL_CRITICAL);
    run_free(&r);
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d2.slow_min_sources", "7", NULL) == MH_OK);
    run_begin(&r, &c, NULL);
    for (int k = 0; k < 5; k++) {
        snprintf(id, sizeof id, "d4000000-0000-4000-8000-%012d", k);
        snprintf(ip, sizeof ip, "198.18.9.%d", k);
        struct signin f = {.category = "SignInLogs", .id = id, .user = "test@contoso.com",
                           .ip = ip, .code = 50126};
        feed(&r, signin_json(&j, at(1, k, 0, 0), &f));
    }
    feed(&r, signin_json(&j, at(2, 0, 0, 0), &ok));
    run_end(&r);
    CHECK_INT(r.ngot, 0);
    run_free(&r);
}

/* ---- D1 ---- */

static const char *ual_logon_json(struct jb *j, mh_time t, const char *user, const char *ip, int code,
                                  int id)
{
    char ts[32], idb[48];
    jb_open(j);
    jb_str(j, "CreationTime", iso(t, ts));
    snprintf(idb, sizeof idb, "11111111-0000-4000-8000-%012d", id);
    jb_str(j, "Id", idb);
    jb_str(j, "Operation", code ? "UserLoginFailed" : "UserLoggedIn");
    jb_str(j, "OrganizationId", TENANT);
    jb_raw(j, "RecordType", "15");
    jb_str(j, "Workload", "AzureActiveDirectory");
    jb_str(j, "ClientIP", ip);
    jb_str(j, "UserId", user);
    jb_raw(j, "ErrorNumber", "\"%d\"", code);
    jb_close(j);
    return j->s;
}

static void t_d1_spray(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    static const char *users[] = {"matt", "lynne", "adele", "miriam", "megan", "alex"};
    char u[64], ip[64];
    int id = 1;
    /* the o365spray shape: 6 accounts fail from one IPv6 within seconds, one logs in */
    for (int i = 0; i < 6; i++) {
        snprintf(u, sizeof u, "%s@contoso.com", users[i]);
        feed(&r, ual_logon_json(&j, at(0, 9, 17, 44 + (i > 2)), u, "2a09:bac1:820:8::1a:9c", 50126, id++));
    }
    feed(&r, ual_logon_json(&j, at(0, 9, 17, 45), "henrietta@contoso.com", "2a09:bac1:820:8::1a:9c", 0,
                            id++));
    /* privacy addresses of one /64: 5 accounts, then a success from a sixth address */
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof u, "v6user%d@contoso.com", i);
        snprintf(ip, sizeof ip, "2001:db8:aa:bb::%x", 0x100 + i);
        feed(&r, ual_logon_json(&j, at(1, 3, i, 0), u, ip, 50053, id++));
    }
    feed(&r, ual_logon_json(&j, at(1, 4, 0, 0), "v6user3@contoso.com", "2001:db8:aa:bb::999", 0, id++));
    /* an office NAT: 5 typos, 7 people signing in -> shared egress, suppressed */
    for (int i = 0; i < 7; i++) {
        snprintf(u, sizeof u, "staff%d@contoso.com", i);
        if (i < 5) feed(&r, ual_logon_json(&j, at(2, 8, i, 0), u, "198.51.100.1", 50126, id++));
        feed(&r, ual_logon_json(&j, at(2, 8, 10 + i, 0), u, "198.51.100.1", 0, id++));
    }
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d1.spray_success"), 2);
    const struct got *g = find_rule(&r, "mh.d1.spray_success", NULL);
    if (g) {
        CHECK_STREQ(g->user, "henrietta@contoso.com");
        CHECK(strstr(g->fields, "source_ip=2a09:bac1:820:8::1a:9c;failing_accounts=6;") != NULL);
        CHECK(g->level == MH_LEVEL_HIGH);
    }
    bool prefix = false;
    for (size_t i = 0; i < r.ngot; i++)
        if (strstr(r.got[i].fields, "source_prefix=2001:db8:aa:bb::/64;")) prefix = true;
    CHECK(prefix);
    run_free(&r);
}

/* ---- D1 across runs (--state) ---- */

/* Three daily exports. A (IPv6 and its /64): 6 accounts fail 09:00-09:05,
 * successes at 10:00 and 10:30 -- cut after the 4th failure; the first
 * account's success again the next day (not a new spray). B: 5 accounts fail at 08:00 on day
 * 0 without a success, and again on day 5 followed by a success (a second
 * spray, more than d1.success_lookback after the first). N: an office NAT
 * whose 7 staff sign in in the first export, 5 of them mistype and one signs
 * in again in the second (shared egress: never reported). */
#define D1_A "2a09:bac1:820:8::1a:9c"
#define D1_B "203.0.113.77"
#define D1_N "198.51.100.1"

struct d1rec {
    mh_time t;
    char user[48];
    const char *ip;
    int code;
};

static size_t d1_part(int part, struct d1rec *v)
{
    size_t n = 0;
    char u[48];
#define D1_ADD(T, U, IP, CODE) (v[n].t = (T), snprintf(v[n].user, sizeof v[n].user, "%s", (U)), \
                                v[n].ip = (IP), v[n].code = (CODE), n++)
    if (part == 0) {
        for (int i = 0; i < 4; i++) {
            snprintf(u, sizeof u, "a%d@contoso.com", i);
            D1_ADD(at(0, 9, i, 0), u, D1_A, 50126);
        }
        for (int i = 0; i < 5; i++) {
            snprintf(u, sizeof u, "b%d@contoso.com", i);
            D1_ADD(at(0, 8, i, 0), u, D1_B, 50126);
        }
        for (int i = 0; i < 7; i++) {
            snprintf(u, sizeof u, "staff%d@contoso.com", i);
            D1_ADD(at(0, 8, 10 + i, 0), u, D1_N, 0);
        }
    } else if (part == 1) {
        D1_ADD(at(0, 9, 4, 0), "a4@contoso.com", D1_A, 50126);
        D1_ADD(at(0, 9, 5, 0), "a5@contoso.com", D1_A, 50126);
        D1_ADD(at(0, 10, 0, 0), "henrietta@contoso.com", D1_A, 0);
        D1_ADD(at(0, 10, 30, 0), "carol@contoso.com", D1_A, 0);
        for (int i = 0; i < 5; i++) {
            snprintf(u, sizeof u, "staff%d@contoso.com", i);
            D1_ADD(at(0, 9, 30 + i, 0), u, D1_N, 50126);
        }
        D1_ADD(at(0, 9, 40, 0), "staff5@contoso.com", D1_N, 0);
    } else {
        D1_ADD(at(1, 12, 0, 0), "henrietta@contoso.com", D1_A, 0);
        for (int i = 0; i < 5; i++) {
            snprintf(u, sizeof u, "b%d@contoso.com", i);
            D1_ADD(at(5, 8, i, 0), u, D1_B, 50053);
        }
        D1_ADD(at(5, 9, 0, 0), "bsucc@contoso.com", D1_B, 0);
    }
#undef D1_ADD
    return n;
}

/* Feed the parts from..to (inclusive), forwards or backwards. */
static void d1_feed_parts(struct run *r, int from, int to, bool reversed)
{
    struct d1rec v[64];
    size_t n = 0;
    for (int p = from; p <= to; p++) n += d1_part(p, v + n);
    struct jb j;
    for (size_t i = 0; i < n; i++) {
        size_t k = reversed ? n - 1 - i : i;
        feed(r, ual_logon_json(&j, v[k].t, v[k].user, v[k].ip, v[k].code, (int)k + 1));
    }
}

/* The D1 detections of a run without their evidence's record number (that
 * depends on the file the record is read from), sorted, one per line. */
static void d1_keys(const struct run *r, char *out, size_t cap)
{
    char lines[16][800];
    size_t n = 0, len = 0;
    char ts[32];
    for (size_t i = 0; i < r->ngot && n < 16; i++) {
        const struct got *g = &r->got[i];
        if (strncmp(g->rule, "mh.d1.", 6) != 0) continue;
        snprintf(lines[n++], sizeof lines[0], "%s|%s|%s|%s|%s|%s", g->rule,
                 mh_level_name(g->level), iso(g->time, ts), g->user, g->ip, g->fields);
    }
    qsort(lines, n, sizeof lines[0], (int (*)(const void *, const void *))strcmp);
    out[0] = 0;
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(out + len, cap > len ? cap - len : 0, "%s\n", lines[i]);
}

static int64_t d1_rows(mh_state *st, const char *sql)
{
    mh_db_stmt *q = NULL;
    bool row = false;
    int64_t v = -1;
    mh_error err;
    mh_error_clear(&err);
    if (mh_db_prepare(mh_state_db(st), sql, &q, &err) != MH_OK) return -1;
    if (mh_db_step(q, &row, &err) == MH_OK && row) v = mh_db_column_int(q, 0);
    mh_db_finalize(q);
    return v;
}

/* A new state file at path (a mkstemp template); NULL after a failed CHECK. */
static mh_state *state_new(char *path)
{
    mh_state *st = NULL;
    mh_error err;
    mh_error_clear(&err);
    if (!mh_testdet_state_path(path)) return NULL;
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    return st;
}

/* Split runs over one state; returns each run's D1 keys and full output. */
static void d1_split(bool reversed, char keys[3][2048], bool check_reruns)
{
    char path[] = "/tmp/mh_test_d1state_XXXXXX";
    mh_state *st = state_new(path);
    if (!st) return;
    struct run r;
    char all[3][sizeof r.all];
    for (int p = 0; p < 3; p++) {
        run_begin(&r, NULL, st);
        d1_feed_parts(&r, p, p, reversed);
        run_end(&r);
        d1_keys(&r, keys[p], sizeof keys[p]);
        snprintf(all[p], sizeof all[p], "%s", r.all);
        run_free(&r);
        if (p == 2 && check_reruns) {
            /* bounded: after day 5 nothing of day 0 is kept (A's and B's first
               spray, the NAT), only B's second spray, its account and mark */
            CHECK_INT(d1_rows(st, "SELECT count(*) FROM d1_fail"), 5);
            CHECK_INT(d1_rows(st, "SELECT count(*) FROM d1_account"), 1);
            CHECK_INT(d1_rows(st, "SELECT count(*) FROM d1_success"), 1);
            CHECK_INT(d1_rows(st, "SELECT min(time) FROM d1_fail"), at(5, 8, 0, 0));
        }
        if (!check_reruns || p == 0) continue;
        /* rerun the same export over the state it wrote: the same detections */
        run_begin(&r, NULL, st);
        d1_feed_parts(&r, p, p, reversed);
        run_end(&r);
        CHECK_STREQ(r.all, all[p]);
        if (strcmp(r.all, all[p]))
            fprintf(stderr, "rerun of part %d:\n%s---\n%s", p, all[p], r.all);
        run_free(&r);
    }
    if (check_reruns) {
        /* and the first export again, after the others: still nothing */
        run_begin(&r, NULL, st);
        d1_feed_parts(&r, 0, 0, reversed);
        run_end(&r);
        CHECK_STREQ(r.all, all[0]);
        run_free(&r);
    }
    mh_state_close(st);
    unlink(path);
}

static void t_d1_state(void)
{
    struct run r;
    char one12[2048], one_all[2048];
    /* one run over the first two exports, one over all three */
    run_begin(&r, NULL, NULL);
    d1_feed_parts(&r, 0, 1, false);
    run_end(&r);
    d1_keys(&r, one12, sizeof one12);
    run_free(&r);
    run_begin(&r, NULL, NULL);
    d1_feed_parts(&r, 0, 2, false);
    run_end(&r);
    d1_keys(&r, one_all, sizeof one_all);
    CHECK_INT(count_rule(&r, "mh.d1.spray_success"), 2);
    /* B's second spray is judged on its own (the first had no success within
       d1.success_lookback): spray_at is day 5 08:04 */
    const struct got *b = NULL;
    for (size_t i = 0; i < r.ngot; i++)
        if (!strcmp(r.got[i].rule, "mh.d1.spray_success") && !strcmp(r.got[i].ip, D1_B))
            b = &r.got[i];
    CHECK(b != NULL);
    if (b) {
        char want[128];
        snprintf(want, sizeof want, "spray_at=%lld;",
                 (long long)(at(5, 8, 4, 0) / MH_USEC_PER_SEC));
        CHECK(strstr(b->fields, want) != NULL);
    }
    run_free(&r);
    CHECK(strstr(one12, "henrietta@contoso.com|" D1_A "|source_ip=" D1_A
                        ";failing_accounts=6;succeeding_accounts=2;") != NULL);

    /* split runs: the spray + success reported once, by the run that completes
       it, as one run reports it; nothing by the first export; the next day's
       success of A not again, B's second spray by the third run */
    char keys[3][2048], rkeys[3][2048];
    d1_split(false, keys, true);
    CHECK_STREQ(keys[0], "");
    CHECK_STREQ(keys[1], one12);
    char both[4096];
    snprintf(both, sizeof both, "%s%s", keys[1], keys[2]);
    CHECK_STREQ(both, one_all);
    CHECK(strstr(keys[2], D1_A) == NULL);
    if (strcmp(both, one_all)) fprintf(stderr, "one run:\n%ssplit:\n%s", one_all, both);
    /* order independence: every export read backwards gives the same */
    d1_split(true, rkeys, false);
    for (int p = 0; p < 3; p++) CHECK_STREQ(rkeys[p], keys[p]);
}

/* A sprayer past the per-source cap: the state keeps its newest
 * MH_D1_STATE_FAILURES_PER_SOURCE failures (the rest counted), so the next
 * run still has room for its own -- a new spray days later is judged. */
static void t_d1_state_cap(void)
{
    char path[] = "/tmp/mh_test_d1cap_XXXXXX";
    mh_state *st = state_new(path);
    if (!st) return;
    struct run r;
    struct jb j;
    char u[48];
    const uint32_t nfail = MH_D1_MAX_FAILURES_PER_SOURCE + 904;
    run_begin(&r, NULL, st);
    for (uint32_t i = 0; i < nfail; i++) {
        snprintf(u, sizeof u, "victim%u@contoso.com", i);
        feed(&r, ual_logon_json(&j, at(0, 0, 0, 0) + (mh_time)i * 10 * MH_USEC_PER_SEC, u,
                                "192.0.2.44", 50126, (int)i + 1));
    }
    run_end(&r);
    CHECK(mh_detectors_stats(r.det.d)->dropped >=
          904 + MH_D1_MAX_FAILURES_PER_SOURCE - MH_D1_STATE_FAILURES_PER_SOURCE);
    run_free(&r);
    CHECK_INT(d1_rows(st, "SELECT count(*) FROM d1_fail"), MH_D1_STATE_FAILURES_PER_SOURCE);
    CHECK_INT(d1_rows(st, "SELECT max(time) FROM d1_fail"),
              at(0, 0, 0, 0) + (mh_time)(MH_D1_MAX_FAILURES_PER_SOURCE - 1) * 10 * MH_USEC_PER_SEC);
    /* day 3, 20:00: a new spray and a success, beyond the lookback of day 0's */
    run_begin(&r, NULL, st);
    int id = 1;
    for (int i = 0; i < 5; i++) {
        snprintf(u, sizeof u, "late%d@contoso.com", i);
        feed(&r, ual_logon_json(&j, at(3, 20, i, 0), u, "192.0.2.44", 50126, id++));
    }
    feed(&r, ual_logon_json(&j, at(3, 20, 30, 0), "late2@contoso.com", "192.0.2.44", 0, id++));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d1.spray_success"), 1);
    run_free(&r);
    mh_state_close(st);
    unlink(path);
}

/* ---- D8 and context ---- */

static void t_d8_ephemeral(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    const char *sp = "5e5e5e5e-0000-4000-8000-000000000001";
    const char *res = "aaaaaaaa-bbbb-4ccc-8ddd-eeeeeeeeeeee";
    char mp[512];
    feed(&r, audit_json(&j, at(0, 10, 0, 0), "Add service principal", "ops@contoso.com", sp, NULL));
    snprintf(mp, sizeof mp,
             "{\"displayName\":\"AppRole.Value\",\"newValue\":\"\\\"full_access_as_app\\\"\"},"
             "{\"displayName\":\"ServicePrincipal.ObjectID\",\"newValue\":\"\\\"%s\\\"\"},"
             "{\"displayName\":\"ServicePrincipal.AppId\",\"newValue\":\"\\\"%s\\\"\"}",
             sp, EVIL_APP);
    feed(&r, audit_json(&j, at(0, 10, 2, 0), "Add app role assignment to service principal",
                        "ops@contoso.com", res, mp));
    struct signin si = {.category = "ServicePrincipalSignInLogs",
                        .id = "5e000000-0000-4000-8000-000000000001", .ip = "192.0.2.7",
                        .sp_id = sp, .app = EVIL_APP};
    feed(&r, signin_json(&j, at(0, 10, 4, 0), &si));
    feed(&r, audit_json(&j, at(0, 10, 8, 0), "Delete service principal", "ops@contoso.com", sp,
                        NULL));
    /* a long-lived SP deleted a day later: not ephemeral */
    const char *sp2 = "5e5e5e5e-0000-4000-8000-000000000002";
    feed(&r, audit_json(&j, at(0, 11, 0, 0), "Add service principal", "ops@contoso.com", sp2, NULL));
    feed(&r, audit_json(&j, at(0, 11, 1, 0), "Add service principal credentials", "ops@contoso.com",
                        sp2, NULL));
    feed(&r, audit_json(&j, at(1, 11, 0, 0), "Delete service principal", "ops@contoso.com", sp2,
                        NULL));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d8.ephemeral_sp"), 1);
    const struct got *g = find_rule(&r, "mh.d8.ephemeral_sp", NULL);
    if (g) {
        CHECK(g->level == MH_LEVEL_HIGH); /* it also signed in */
        CHECK(strstr(g->fields, "steps=created,app_role,signin,deleted;") != NULL);
        CHECK(strstr(g->fields, "lifetime_seconds=480;") != NULL);
    }
    run_free(&r);
}

struct links {
    size_t n;
    char text[2048];
    size_t len;
};

static mh_status on_link(void *ctx, const struct mh_link *l)
{
    struct links *x = ctx;
    x->n++;
    x->len += (size_t)snprintf(x->text + x->len, sizeof x->text - x->len, "%d:%.*s>%d:%.*s(%s)\n",
                               l->a_kind, (int)l->a.len, l->a.ptr, l->b_kind, (int)l->b.len,
                               l->b.ptr, l->why);
    return MH_OK;
}

static void t_links_and_context(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    char mp[512];
    const char *obj = "0b0b0b0b-0000-4000-8000-000000000001";
    snprintf(mp, sizeof mp,
             "{\"displayName\":\"KeyDescription\",\"newValue\":\"[\\\"[KeyIdentifier=1714a3cf-c8dc-"
             "40e6-bc2a-fdfaf55baf42,KeyType=Password]\\\"]\"},"
             "{\"displayName\":\"TargetId.ServicePrincipalNames\",\"newValue\":\"\\\"%s;"
             "https://legacy.example\\\"\"}",
             EVIL_APP);
    feed(&r, audit_json(&j, at(0, 10, 0, 0), "Update application – Certificates and secrets management ",
                        "Victim@Contoso.com", obj, mp));
    /* mail read and synced from the attacker's address later */
    struct mia bind = {.mailbox = "ceo@contoso.com", .app = EXO, .ip = "192.0.2.200",
                       .session = "5e550000-0000-4000-8000-000000000001"};
    feed(&r, mia_json(&j, at(0, 12, 0, 0), &bind, 1));
    struct mia sync = bind;
    sync.access = "Sync";
    feed(&r, mia_json(&j, at(0, 12, 5, 0), &sync, 2));
    struct mia other = {.mailbox = "cfo@contoso.com", .app = EXO, .ip = "203.0.113.5"};
    feed(&r, mia_json(&j, at(0, 12, 0, 0), &other, 3));
    /* a high Sigma alert from the attacker's address seeds the context */
    struct mh_finding a;
    memset(&a, 0, sizeof a);
    a.rule_id = "sigma-rule";
    a.level = MH_LEVEL_HIGH;
    a.time = at(0, 9, 0, 0);
    a.ent[MH_ENT_IP] = MH_SLICE_LIT("192.0.2.200");
    CHECK(mh_detectors_add_finding(r.det.d, &a, NULL) == MH_OK);
    a.level = MH_LEVEL_MEDIUM;
    a.ent[MH_ENT_IP] = MH_SLICE_LIT("203.0.113.5"); /* below the seed level */
    CHECK(mh_detectors_add_finding(r.det.d, &a, NULL) == MH_OK);
    run_end(&r);
    struct links l;
    memset(&l, 0, sizeof l);
    CHECK(mh_detectors_links(r.det.d, on_link, &l) == MH_OK);
    CHECK(strstr(l.text, "0:victim@contoso.com>2:" EVIL_APP "(added credentials)") != NULL);
    CHECK(strstr(l.text, "2:" EVIL_APP ">5:0b0b0b0b-0000-4000-8000-000000000001(same application)") !=
          NULL);
    if (count_rule(&r, "mh.ctx.mail_access_in_context") != 1) dump(&r);
    CHECK_INT(count_rule(&r, "mh.ctx.mail_access_in_context"), 1);
    const struct got *s = find_rule(&r, "mh.d13.sync_in_attacker_context", NULL);
    CHECK(s && s->level == MH_LEVEL_MEDIUM); /* IP-only match */
    CHECK(find_rule(&r, "mh.ctx.mail_access_in_context", "cfo@contoso.com") == NULL);
    run_free(&r);
}

/* Office egress: many users succeed from one address -> a shared marker link
   for the incident builder; a sprayer's address (12 failing accounts, 6
   successes: fewer succeed than fail) and a family's address (3 users) are
   not shared. */
static void t_shared_egress(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    char user[64], id[64];
    int k = 0;
    for (int i = 0; i < 12; i++) {
        snprintf(user, sizeof user, "staff%02d@contoso.com", i);
        snprintf(id, sizeof id, "e9000000-0000-4000-8000-%012d", ++k);
        struct signin s = {.category = i % 2 ? "NonInteractiveUserSignInLogs" : "SignInLogs",
                           .id = id, .user = user, .ip = "198.51.100.1"};
        feed(&r, signin_json(&j, at(0, 8, i, 0), &s));
        feed(&r, signin_json(&j, at(1, 8, i, 0), &s)); /* the same user again: counted once */
        snprintf(id, sizeof id, "e9000000-0000-4000-8000-%012d", ++k);
        struct signin f = {.id = id, .user = user, .ip = "192.0.2.99", .code = 50126};
        feed(&r, signin_json(&j, at(0, 3, i, 0), &f));
    }
    /* the sprayer's successes: 6 of the 12 accounts that failed there */
    for (int i = 0; i < 6; i++) {
        snprintf(user, sizeof user, "staff%02d@contoso.com", i);
        snprintf(id, sizeof id, "e9000000-0000-4000-8000-%012d", ++k);
        struct signin won = {.id = id, .user = user, .ip = "192.0.2.99"};
        feed(&r, signin_json(&j, at(0, 4, i, 0), &won));
    }
    for (int i = 0; i < 3; i++) {
        snprintf(user, sizeof user, "family%d@contoso.com", i);
        snprintf(id, sizeof id, "e9000000-0000-4000-8000-%012d", ++k);
        struct signin s = {.id = id, .user = user, .ip = "203.0.113.77"};
        feed(&r, signin_json(&j, at(0, 20, i, 0), &s));
    }
    run_end(&r);
    struct links l;
    memset(&l, 0, sizeof l);
    CHECK(mh_detectors_links(r.det.d, on_link, &l) == MH_OK);
    CHECK(strstr(l.text, "1:198.51.100.1>7:shared egress(shared egress)") != NULL);
    CHECK(strstr(l.text, "192.0.2.99") == NULL);
    CHECK(strstr(l.text, "203.0.113.77") == NULL);
    if (l.n != 1) fprintf(stderr, "links:\n%s", l.text);
    CHECK_INT(l.n, 1);
    run_free(&r);

    /* 4 users are fewer than incident.egress_users (5): no marker */
    run_begin(&r, NULL, NULL);
    for (int i = 0; i < 4; i++) {
        snprintf(user, sizeof user, "staff%02d@contoso.com", i);
        snprintf(id, sizeof id, "e9100000-0000-4000-8000-%012d", i);
        struct signin s = {.id = id, .user = user, .ip = "198.51.100.1"};
        feed(&r, signin_json(&j, at(0, 8, i, 0), &s));
    }
    run_end(&r);
    memset(&l, 0, sizeof l);
    CHECK(mh_detectors_links(r.det.d, on_link, &l) == MH_OK);
    CHECK_INT(l.n, 0);
    run_free(&r);

    /* an office where 5 users succeed and 6 others are prompted for MFA
       (50074): a prompt is not a failure (as D1), so it is shared egress */
    run_begin(&r, NULL, NULL);
    for (int i = 0; i < 11; i++) {
        snprintf(user, sizeof user, "staff%02d@contoso.com", i);
        snprintf(id, sizeof id, "e9200000-0000-4000-8000-%012d", i);
        struct signin s = {.id = id, .user = user, .ip = "198.51.100.1", .code = i < 5 ? 0 : 50074};
        feed(&r, signin_json(&j, at(0, 8, i, 0), &s));
    }
    run_end(&r);
    memset(&l, 0, sizeof l);
    CHECK(mh_detectors_links(r.det.d, on_link, &l) == MH_OK);
    CHECK(strstr(l.text, "1:198.51.100.1>7:shared egress(shared egress)") != NULL);
    CHECK_INT(l.n, 1);
    run_free(&r);
}

/* A backup app that read many mailboxes within the baseline reading one more
   later is routine (informational); a known app that read one mailbox reading
   another is low. */
static void t_d9_bulk_reader(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    struct jb j;
    char mb[9][40];
    int id = 1;
    const char *backup = "7bc0ec29-b123-4ac2-95e2-cb3e73a11c1f";
    const char *narrow = "11111111-2222-4333-8444-555555555555";
    for (int m = 0; m < 9; m++) {
        snprintf(mb[m], sizeof mb[m], "user%d@contoso.com", m);
        struct mia own = {.mailbox = mb[m], .app = EXO, .ip = "203.0.113.10"};
        for (int day = 0; day < 10; day++) feed(&r, mia_json(&j, at(day, 9, 0, 0), &own, id++));
    }
    for (int m = 0; m < 8; m++) {
        struct mia b = {.mailbox = mb[m], .user = backup, .app = EXO, .client = backup,
                        .ip = "40.112.28.126", .user_type = "5"};
        feed(&r, mia_json(&j, at(0, 9, 30 + m, 0), &b, id++));
    }
    struct mia n0 = {.mailbox = mb[0], .user = "helpdesk@contoso.com", .app = GRAPH,
                     .client = narrow, .ip = "203.0.113.20"};
    feed(&r, mia_json(&j, at(1, 10, 0, 0), &n0, id++));
    struct mia b8 = {.mailbox = mb[8], .user = backup, .app = EXO, .client = backup,
                     .ip = "40.112.28.126", .user_type = "5"};
    feed(&r, mia_json(&j, at(9, 2, 0, 0), &b8, id++));
    struct mia n8 = n0;
    n8.mailbox = mb[8];
    feed(&r, mia_json(&j, at(9, 10, 0, 0), &n8, id++));
    run_end(&r);
    int seen = 0;
    for (size_t i = 0; i < r.ngot; i++) {
        const struct got *g = &r.got[i];
        if (strcmp(g->rule, "mh.d9.first_seen_app_mailbox") != 0) continue;
        seen++;
        CHECK_STREQ(g->mailbox, mb[8]);
        if (strcmp(g->client, backup) == 0) {
            CHECK(g->level == MH_LEVEL_INFORMATIONAL);
            CHECK(strstr(g->fields, "routine bulk reader") != NULL);
            CHECK(strstr(g->fields, "baseline_mailboxes=8;") != NULL);
        } else {
            CHECK_STREQ(g->client, narrow);
            CHECK(g->level == MH_LEVEL_LOW);
        }
    }
    if (seen != 2) dump(&r);
    CHECK_INT(seen, 2);
    run_free(&r);
}

/* ---- state ---- */

static void t_state_reload(void)
{
    char path[] = "/tmp/mh_test_state_XXXXXX";
    if (!mh_testdet_state_path(path)) return;
    mh_state *st = NULL;
    mh_error err;
    mh_error_clear(&err);
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    struct jb j;
    struct run r;
    /* run 1: days 0..7, the baseline */
    run_begin(&r, NULL, st);
    for (int day = 0; day < 8; day++) {
        struct mia a = {.mailbox = "alice@contoso.com", .app = EXO, .count = 50};
        feed(&r, mia_json(&j, at(day, 9, 0, 0), &a, day + 1));
    }
    run_end(&r);
    CHECK_INT(r.ngot, 0);
    run_free(&r);
    mh_state_close(st);
    st = NULL;
    /* run 2 on another day only: the baseline comes from the file */
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    int64_t runs = 0;
    CHECK(mh_state_runs(st, &runs, &err) == MH_OK);
    CHECK_INT(runs, 1);
    struct mia evil = {.mailbox = "alice@contoso.com", .app = GRAPH, .client = EVIL_APP, .count = 2000};
    run_begin(&r, NULL, st);
    feed(&r, mia_json(&j, at(9, 3, 0, 0), &evil, 1));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 1);
    CHECK_INT(count_rule(&r, "mh.d11.mail_volume_mailbox"), 1);
    char first[sizeof r.all];
    snprintf(first, sizeof first, "%s", r.all);
    run_free(&r);
    /* rerun of run 2 with the state it wrote: the same detections */
    run_begin(&r, NULL, st);
    feed(&r, mia_json(&j, at(9, 3, 0, 0), &evil, 1));
    run_end(&r);
    CHECK_STREQ(r.all, first);
    run_free(&r);
    /* run 3 later: the pair is known now */
    run_begin(&r, NULL, st);
    feed(&r, mia_json(&j, at(12, 3, 0, 0), &evil, 1));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 0);
    run_free(&r);
    /* without the state, run 2 alone has no baseline */
    run_begin(&r, NULL, NULL);
    feed(&r, mia_json(&j, at(9, 3, 0, 0), &evil, 1));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d9.first_seen_app"), 0);
    run_free(&r);
    mh_state_close(st);
    /* a file of another schema version is refused */
    st = NULL;
    mh_db *db = NULL;
    CHECK(mh_db_open(path, MH_DB_CREATE, &db, &err) == MH_OK);
    CHECK(mh_db_exec(db, "UPDATE mh_meta SET value = '999' WHERE key = 'schema_version'", &err) ==
          MH_OK);
    mh_db_close(db);
    CHECK(mh_state_open(path, &st, &err) == MH_ESTATE);
    CHECK(st == NULL);
    unlink(path);
    char wal[600];
    snprintf(wal, sizeof wal, "%s-wal", path);
    unlink(wal);
    snprintf(wal, sizeof wal, "%s-shm", path);
    unlink(wal);
}

/* ---- D10 baseline variant ---- */

/* A delegate reading mailbox on day at 09:00 + minute (folders optional). */
static const char *delegate(struct jb *j, const char *user, const char *mailbox, int day, int minute,
                            const char *folders, int id)
{
    struct mia m = {.mailbox = mailbox, .user = user, .app = EXO, .folders = folders};
    return mia_json(j, at(day, 9, minute, 0), &m, id);
}

/* Days 0..3 are the baseline (coverage from day 0; d10.baseline = 30d). */
static void d10_baseline(struct run *r)
{
    struct jb j;
    for (int d = 0; d < 4; d++) {
        feed(r, delegate(&j, "alice@contoso.com", "alice@contoso.com", d, 0, NULL, 100 + d));
        feed(r, delegate(&j, "assistant@contoso.com", "ceo@contoso.com", d, 1, NULL, 110 + d));
        feed(r, delegate(&j, "auditor@contoso.com", "pa@contoso.com", d, 2, "Inbox", 120 + d));
    }
}

static void t_d10_new_mailboxes(void)
{
    struct jb j;
    struct run r;
    run_begin(&r, NULL, NULL);
    d10_baseline(&r);
    /* the assistant's usual mailbox (known), then two new ones 7 days apart */
    feed(&r, delegate(&j, "assistant@contoso.com", "ceo@contoso.com", 33, 0, NULL, 1));
    feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 33, 5, NULL, 2));
    feed(&r, delegate(&j, "assistant@contoso.com", "legal@contoso.com", 40, 0, NULL, 3));
    /* one new mailbox only */
    feed(&r, delegate(&j, "helper@contoso.com", "hr@contoso.com", 33, 0, NULL, 4));
    /* two new mailboxes 19 days apart (outside d10.new_window) */
    feed(&r, delegate(&j, "temp@contoso.com", "a@contoso.com", 31, 0, NULL, 5));
    feed(&r, delegate(&j, "temp@contoso.com", "b@contoso.com", 50, 0, NULL, 6));
    /* two new mailboxes within the baseline (day 10): not judged */
    feed(&r, delegate(&j, "early@contoso.com", "c@contoso.com", 10, 0, NULL, 7));
    feed(&r, delegate(&j, "early@contoso.com", "d@contoso.com", 10, 5, NULL, 8));
    /* six new folders of a known mailbox in one read */
    feed(&r, delegate(&j, "auditor@contoso.com", "pa@contoso.com", 35, 0,
                      "Inbox,Finance,Legal,HR,Board,Payroll,Archive", 9));
    /* an application reading many new mailboxes is D9's, not D10's */
    for (int i = 0; i < 4; i++) {
        struct mia m = {.mailbox = i % 2 ? "x@contoso.com" : "y@contoso.com", .user = EVIL_APP,
                        .app = GRAPH, .client = EVIL_APP, .user_type = "5"};
        feed(&r, mia_json(&j, at(36, 9, i, 0), &m, 20 + i));
    }
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d10.new_other_mailboxes"), 2);
    const struct got *g = find_rule(&r, "mh.d10.new_other_mailboxes", "legal@contoso.com");
    CHECK(g && g->level == MH_LEVEL_MEDIUM && g->time == at(40, 9, 0, 0));
    CHECK(g && strstr(g->fields, "accessor=assistant@contoso.com;crossed=mailboxes;"
                                 "new_mailboxes=2;new_folders=0;"
                                 "mailboxes=cfo@contoso.com,legal@contoso.com;") != NULL);
    g = find_rule(&r, "mh.d10.new_other_mailboxes", "pa@contoso.com");
    CHECK(g && strstr(g->fields, "accessor=auditor@contoso.com;crossed=folders;new_mailboxes=0;"
                                 "new_folders=6;") != NULL);
    if (count_rule(&r, "mh.d10.new_other_mailboxes") != 2) dump(&r);
    run_free(&r);

    /* d10.max_new_mailboxes = 2: the assistant's two new mailboxes are allowed */
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK(mh_detector_config_set(&c, "d10.max_new_mailboxes", "2", NULL) == MH_OK);
    CHECK(mh_detector_config_set(&c, "d10.enabled", "true", NULL) == MH_OK);
    run_begin(&r, &c, NULL);
    d10_baseline(&r);
    feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 33, 5, NULL, 2));
    feed(&r, delegate(&j, "assistant@contoso.com", "legal@contoso.com", 40, 0, NULL, 3));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d10.new_other_mailboxes"), 0);
    run_free(&r);
}

/* The baseline and the pairs carry over in --state; a reported accessor is
 * not reported again for the same pairs; the same input twice gives the same. */
static void t_d10_state(void)
{
    char path[] = "/tmp/mh_test_d10_XXXXXX";
    if (!mh_testdet_state_path(path)) return;
    mh_state *st = NULL;
    mh_error err;
    mh_error_clear(&err);
    struct jb j;
    struct run r;
    CHECK(mh_state_open(path, &st, &err) == MH_OK);
    run_begin(&r, NULL, st);
    d10_baseline(&r);
    run_end(&r);
    CHECK_INT(r.ngot, 0);
    run_free(&r);
    char first[sizeof r.all] = "";
    for (int pass = 0; pass < 2; pass++) {
        run_begin(&r, NULL, st);
        feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 33, 5, NULL, 2));
        feed(&r, delegate(&j, "assistant@contoso.com", "legal@contoso.com", 40, 0, NULL, 3));
        run_end(&r);
        CHECK_INT(count_rule(&r, "mh.d10.new_other_mailboxes"), 1);
        if (pass == 0) snprintf(first, sizeof first, "%s", r.all);
        else CHECK_STREQ(r.all, first);
        run_free(&r);
    }
    /* later reads of the same mailboxes: known by now */
    run_begin(&r, NULL, st);
    feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 41, 5, NULL, 2));
    feed(&r, delegate(&j, "assistant@contoso.com", "legal@contoso.com", 41, 6, NULL, 3));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d10.new_other_mailboxes"), 0);
    run_free(&r);
    /* without the state, days 33..40 alone have no baseline */
    run_begin(&r, NULL, NULL);
    feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 33, 5, NULL, 2));
    feed(&r, delegate(&j, "assistant@contoso.com", "legal@contoso.com", 40, 0, NULL, 3));
    run_end(&r);
    CHECK_INT(count_rule(&r, "mh.d10.new_other_mailboxes"), 0);
    run_free(&r);
    mh_state_close(st);
    unlink(path);
}

/* ---- config ---- */

static void t_config(void)
{
    struct mh_detector_config c;
    mh_detector_config_defaults(&c);
    CHECK_INT(c.d9_baseline, 7 * 86400 * MH_USEC_PER_SEC);
    CHECK_INT(c.d14_skew_after, 600 * MH_USEC_PER_SEC);
    CHECK_INT(c.n_failure_codes, 3);
    mh_error err;
    mh_error_clear(&err);
    CHECK(mh_detector_config_set(&c, "d11.k", "3.5", &err) == MH_OK);
    CHECK(c.d11_k == 3.5);
    CHECK(c.d11_hourly && c.d11_hourly_z == 4.7 && c.d11_hourly_min == 20);
    CHECK_INT(c.d11_hourly_baseline, 28 * 86400 * MH_USEC_PER_SEC);
    CHECK(mh_detector_config_set(&c, "d11.hourly_z", "3", &err) == MH_OK);
    CHECK(c.d11_hourly_z == 3.0);
    CHECK(mh_detector_config_set(&c, "d11.hourly", "false", &err) == MH_OK);
    CHECK(!c.d11_hourly);
    CHECK(mh_detector_config_set(&c, "d2.failure_codes", "50126, 50053", &err) == MH_OK);
    CHECK_INT(c.n_failure_codes, 2);
    CHECK(mh_detector_config_set(&c, "incident.weight.d9", "55", &err) == MH_OK);
    CHECK_INT(c.weights[9], 55);
    CHECK(mh_detector_config_set(&c, "d14.app_streams", "service_principal,managed_identity",
                                 &err) == MH_OK);
    CHECK_INT(c.d14_app_streams, MH_STREAM_SERVICE_PRINCIPAL | MH_STREAM_MANAGED_IDENTITY);
    CHECK(mh_detector_config_set(&c, "d9.baseline", "7", &err) == MH_EINVAL); /* unit needed */
    CHECK(mh_detector_config_set(&c, "d9.basline", "7d", &err) == MH_EINVAL);
    CHECK(strstr(err.detail, "d9.basline") != NULL);
    CHECK(mh_detector_config_set(&c, "context.seed_level", "loud", &err) == MH_EINVAL);
    CHECK(mh_detector_config_set(&c, "incident.weight.d18", "5", &err) == MH_EINVAL);

    char path[] = "/tmp/mh_test_conf_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    const char text[] = "# comment\n\nd9.baseline = 14d   # catalogue value\nd15.aitm_gap=45s\n"
                        "d3.watch_accounts = test@, legacy\nbogus line\n";
    CHECK(write(fd, text, sizeof text - 1) == (ssize_t)(sizeof text - 1));
    close(fd);
    mh_detector_config_defaults(&c);
    mh_error_clear(&err);
    CHECK(mh_detector_config_load(&c, path, &err) == MH_EINVAL);
    CHECK_INT(err.line, 6);
    CHECK_INT(c.d9_baseline, 14 * 86400 * MH_USEC_PER_SEC);
    CHECK_INT(c.d15_aitm_gap, 45 * MH_USEC_PER_SEC);
    CHECK(mh_det_list_match(c.d3_watch_accounts, MH_SLICE_LIT("TEST@contoso.com"), true));
    CHECK(!mh_det_list_match(c.d3_watch_accounts, MH_SLICE_LIT("alice@contoso.com"), true));
    unlink(path);
    /* the shipped config loads and equals the defaults */
    struct mh_detector_config d;
    mh_detector_config_defaults(&c);
    mh_detector_config_defaults(&d);
    char shipped[1100];
    snprintf(shipped, sizeof shipped, "%s/config/detectors.conf", c.data_dir);
    mh_error_clear(&err);
    mh_status s = mh_detector_config_load(&d, shipped, &err);
    if (s) fprintf(stderr, "%s:%llu: %s %s\n", shipped, (unsigned long long)err.line,
                   err.msg ? err.msg : "", err.detail);
    CHECK(s == MH_OK);
    CHECK(memcmp(&c, &d, sizeof c) == 0);
}

/* ---- allocation failure ---- */

static void t_alloc_failure(void)
{
    struct jb j;
    int ok = 0, nomem = 0;
    for (int64_t k = 0; k < 400; k++) {
        struct run r;
        memset(&r, 0, sizeof r);
        if (mh_normalizer_new(&r.det.nz) != MH_OK) continue;
        struct mh_detector_config c;
        mh_detector_config_defaults(&c);
        mh_alloc_fail_after(k);
        mh_status s = mh_detectors_new(&c, NULL, on_det, &r, &r.det.d, NULL);
        for (int i = 0; i < 12 && !s; i++) {
            struct mia m = {.mailbox = "alice@contoso.com", .app = i < 11 ? EXO : GRAPH,
                            .client = i < 11 ? NULL : EVIL_APP, .uti = "opaque-token"};
            struct mh_record rec;
            memset(&rec, 0, sizeof rec);
            const char *js = mia_json(&j, at(i, 9, 0, 0), &m, i);
            rec.json = rec.raw = js;
            rec.json_len = rec.raw_len = (uint32_t)strlen(js);
            rec.number = (uint64_t)i + 1;
            struct mh_event ev;
            s = mh_event_init(r.det.nz, &rec, &ev, NULL);
            if (!s) s = mh_detectors_feed(r.det.d, &ev, NULL);
            mh_normalizer_reset(r.det.nz);
        }
        if (!s) s = mh_detectors_finish(r.det.d, NULL);
        mh_alloc_fail_after(-1);
        if (s == MH_OK) ok++;
        else if (s == MH_ENOMEM || s == MH_ELIMIT) nomem++;
        else CHECK(!"unexpected status");
        mh_detectors_free(r.det.d);
        mh_normalizer_free(r.det.nz);
    }
    CHECK(nomem > 0);
    CHECK(ok > 0);
}

/* Pending detections keep their fields in one pool: a record written to
 * after another one was started moves its fields to the end, so each
 * record's fields stay contiguous and in the order they were added. */
static void t_pending_fields(void)
{
    static const struct mh_det_rule rule = {"mh.test", "test", "D1", "", NULL, 0};
    struct mh_det_ctx cx;
    memset(&cx, 0, sizeof cx);
    mh_map_init(&cx.strs, 1000, false);
    struct mh_det_evid ev;
    memset(&ev, 0, sizeof ev);
    ev.time = at(0, 1, 0, 0);
    struct mh_det_pending *a = mh_det_pend(&cx, &rule, MH_LEVEL_LOW, &ev);
    CHECK(a != NULL);
    mh_det_pend_str(&cx, a, "a1", MH_SLICE_LIT("x"));
    mh_det_pend_num(&cx, a, "a2", 7);
    struct mh_det_pending *b = mh_det_pend(&cx, &rule, MH_LEVEL_LOW, &ev);
    mh_det_pend_str(&cx, b, "b1", MH_SLICE_LIT("y"));
    a = &cx.pending[0]; /* pend may have moved the array */
    mh_det_pend_num(&cx, a, "a3", 9); /* back to the first record */
    mh_det_pend_num(&cx, b = &cx.pending[1], "b2", 3);
    CHECK_INT(a->nfields, 3);
    CHECK_INT(b->nfields, 2);
    const struct mh_det_field *fa = cx.fields + a->f0, *fb = cx.fields + b->f0;
    CHECK_STREQ(fa[0].name, "a1");
    CHECK_SLICE(mh_det_str(&cx, fa[0].str), "x");
    CHECK_STREQ(fa[1].name, "a2");
    CHECK_INT(fa[1].num, 7);
    CHECK_STREQ(fa[2].name, "a3");
    CHECK_INT(fa[2].num, 9);
    CHECK_STREQ(fb[0].name, "b1");
    CHECK_SLICE(mh_det_str(&cx, fb[0].str), "y");
    CHECK_STREQ(fb[1].name, "b2");
    CHECK_INT(fb[1].num, 3);
    /* at most MH_DETECTION_MAX_FIELDS per record, the rest dropped */
    for (int i = 0; i < MH_DETECTION_MAX_FIELDS + 2; i++) mh_det_pend_num(&cx, b, "n", i);
    CHECK_INT(b->nfields, MH_DETECTION_MAX_FIELDS);
    mh_free(cx.pending);
    mh_free(cx.fields);
    mh_map_fini(&cx.strs);
}

/* D11 per hour, per-mailbox cap: a mailbox read evenly (50 items every hour
 * for 90 days = 2,160 hours, past MH_D11_MAX_HOURS_PER_MAILBOX) raises
 * nothing. The evicted oldest hours used to read as 0-item samples and made
 * two detections. */
static void t_d11_evicted_hours(void)
{
    struct run r;
    run_begin(&r, NULL, NULL);
    for (int d = 0; d < 90; d++)
        for (int h = 0; h < 24; h++) read_items(&r, "steady@contoso.com", at(d, h, 30, 0), 50, false);
    run_end(&r);
    CHECK(mh_detectors_stats(r.det.d)->dropped > 0); /* the cap was reached */
    CHECK_INT((int)count_rule(&r, "mh.d11.mail_volume_hour"), 0);
    run_free(&r);
}

/* A day or hour inserted out of order into a full series (volume.c's days,
 * hourly.c's hours) keeps it sorted and duplicate-free: the state saves
 * (a duplicate failed its UNIQUE key and rolled every detector back). */
static void t_series_insert_at_cap(void)
{
    for (int which = 0; which < 2; which++) {
        char path[] = "/tmp/mh_series_XXXXXX";
        mh_state *st = state_new(path);
        if (!st) return;
        struct mh_detector_config c;
        mh_detector_config_defaults(&c);
        struct run r;
        if (which == 0) { /* hours: 2,048 kept, hour 1000 arrives last */
            run_begin(&r, &c, st);
            for (int k = 0; k < 2049; k++)
                if (k != 1000) read_items(&r, "steady@contoso.com", at(k / 24, k % 24, 30, 0), 5, false);
            read_items(&r, "steady@contoso.com", at(1000 / 24, 1000 % 24, 30, 0), 5, false);
        } else { /* days: 400 kept, day 200 arrives last */
            c.d11_baseline = 500LL * 86400 * MH_USEC_PER_SEC; /* keep every day in the state */
            c.d11_hourly = false;
            run_begin(&r, &c, st);
            for (int d = 0; d < 401; d++)
                if (d != 200) read_items(&r, "steady@contoso.com", at(d, 10, 0, 0), 5, false);
            read_items(&r, "steady@contoso.com", at(200, 10, 0, 0), 5, false);
        }
        run_end(&r); /* CHECKs that finish (and the state's save) succeeded */
        run_free(&r);
        mh_state_close(st);
        unlink(path);
    }
}

/* mh_det_sorted_insert: below the cap an insert shifts the tail; at the cap
 * the oldest makes room and the order holds; older than all kept: NULL. */
static void t_sorted_insert(void)
{
    int32_t v[4] = {10, 20, 30, 0};
    uint32_t n = 3;
    bool ev;
    int32_t *p = mh_det_sorted_insert(v, &n, 4, sizeof *v, 1, &ev);
    CHECK(p == &v[1] && !ev && n == 4 && *p == 0);
    *p = 15;
    CHECK(v[0] == 10 && v[2] == 20 && v[3] == 30);
    p = mh_det_sorted_insert(v, &n, 4, sizeof *v, 3, &ev); /* 25 between 20 and 30 */
    CHECK(ev && n == 4 && p == &v[2]);
    *p = 25;
    CHECK(v[0] == 15 && v[1] == 20 && v[2] == 25 && v[3] == 30);
    p = mh_det_sorted_insert(v, &n, 4, sizeof *v, 4, &ev); /* newest */
    CHECK(ev && p == &v[3]);
    *p = 40;
    CHECK(v[0] == 20 && v[1] == 25 && v[2] == 30 && v[3] == 40);
    CHECK(mh_det_sorted_insert(v, &n, 4, sizeof *v, 0, &ev) == NULL && ev && v[0] == 20);
}

/* D10's state retention counts from the latest read D10 saw: one other
 * record dated 2099 in a run no longer expires every pair, after which the
 * next day's normal delegate reads were "new" (a medium detection). */
static void t_d10_future_record(void)
{
    char path[] = "/tmp/mh_d10f_XXXXXX";
    mh_state *st = state_new(path);
    if (!st) return;
    struct jb j;
    struct run r;
    run_begin(&r, NULL, st);
    for (int d = 0; d < 35; d++) {
        feed(&r, delegate(&j, "assistant@contoso.com", "ceo@contoso.com", d, 0, NULL, 10 + 2 * d));
        feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", d, 1, NULL, 11 + 2 * d));
    }
    mh_time fut;
    CHECK(mh_time_parse("2099-01-01T00:00:00Z", 20, &fut) == MH_OK);
    struct mia m = {.mailbox = "bob@contoso.com", .app = EXO};
    feed(&r, mia_json(&j, fut, &m, 999));
    run_end(&r);
    run_free(&r);
    run_begin(&r, NULL, st);
    feed(&r, delegate(&j, "assistant@contoso.com", "ceo@contoso.com", 36, 0, NULL, 1));
    feed(&r, delegate(&j, "assistant@contoso.com", "cfo@contoso.com", 36, 1, NULL, 2));
    run_end(&r);
    CHECK_INT((int)count_rule(&r, "mh.d10.new_other_mailboxes"), 0);
    run_free(&r);
    mh_state_close(st);
    unlink(path);
}

int main(void)
{
    if (mh_time_parse("2024-03-01T00:00:00Z", 20, &T0) != MH_OK) return 1;
    static const struct mh_test tests[] = {
        {"d9_first_seen", t_d9_first_seen},
        {"d9_out_of_order", t_d9_out_of_order},
        {"d9_short_baseline", t_d9_short_baseline},
        {"d14_tokens", t_d14_tokens},
        {"d14_mismatch_and_no_signins", t_d14_time_mismatch_and_no_signins},
        {"d15_sessions", t_d15_sessions},
        {"d11_volume", t_d11_volume},
        {"d11_hour_zscore", t_d11_hour_zscore},
        {"d11_hour_floor_min", t_d11_hour_floor_min},
        {"d11_hour_burst", t_d11_hour_burst},
        {"d11_hour_fallback", t_d11_hour_fallback},
        {"d11_hour_order", t_d11_hour_order},
        {"d11_hour_state", t_d11_hour_state},
        {"d12_throttle", t_d12_throttle},
        {"d1_spray", t_d1_spray},
        {"d1_state", t_d1_state},
        {"d1_state_cap", t_d1_state_cap},
        {"d2_spray", t_d2_spray},
        {"d8_ephemeral", t_d8_ephemeral},
        {"links_and_context", t_links_and_context},
        {"shared_egress", t_shared_egress},
        {"d9_bulk_reader", t_d9_bulk_reader},
        {"state_reload", t_state_reload},
        {"d10_new_mailboxes", t_d10_new_mailboxes},
        {"d10_state", t_d10_state},
        {"config", t_config},
        {"alloc_failure", t_alloc_failure},
        {"pending_fields", t_pending_fields},
        {"d11_evicted_hours", t_d11_evicted_hours},
        {"series_insert_at_cap", t_series_insert_at_cap},
        {"sorted_insert", t_sorted_insert},
        {"d10_future_record", t_d10_future_record},
    };
    return MH_TEST_RUN(tests);
}
