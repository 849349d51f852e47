/*
 * tests/unit/test_incident.c -- incident grouping, D7 scoring, JSON, summaries
 *
 * Alerts are built by hand (the generic struct mh_finding); the cases check
 * linking by shared actors within the window, links through principals
 * without alerts, shared (NAT) keys and learnt shared-egress markers,
 * first-party exclusion, scoring and levels (stages, escalation of a
 * confirmed access that read mail), the exact JSON, that the add order
 * changes nothing, and that ids hash the evidence (file key, record), not
 * where the files lie (path as given, reader file index).
 */
#include <stdio.h>
#include <string.h>

#include "base/buf.h"
#include "base/time.h"
#include "correlate/detector.h"
#include "correlate/incident.h"
#include "match/alert.h"
#include "mh_test.h"

#define DAY (INT64_C(86400) * MH_USEC_PER_SEC)
#define EXO "00000002-0000-0ff1-ce00-000000000000"

static mh_time T0;

struct a {
    const char *rule, *det;
    enum mh_level level;
    int64_t t; /* seconds after T0 */
    const char *user, *ip, *app, *client, *session, *mailbox;
    uint64_t record;
};

static struct mh_finding mk(const struct a *x)
{
    struct mh_finding al;
    memset(&al, 0, sizeof al);
    al.rule_id = x->rule;
    al.title = x->rule;
    al.detection = x->det;
    al.level = x->level;
    al.time = T0 + x->t * MH_USEC_PER_SEC;
    al.ent[MH_ENT_USER] = mh_slice_cstr(x->user);
    al.ent[MH_ENT_IP] = mh_slice_cstr(x->ip);
    al.ent[MH_ENT_APP_ID] = mh_slice_cstr(x->app);
    al.ent[MH_ENT_CLIENT_APP_ID] = mh_slice_cstr(x->client);
    al.ent[MH_ENT_SESSION_ID] = mh_slice_cstr(x->session);
    al.ent[MH_ENT_MAILBOX] = mh_slice_cstr(x->mailbox);
    al.ref.record = x->record;
    return al;
}

static struct mh_appset fp;

static mh_incidents *build_dc(const struct mh_detector_config *dc, const struct a *xs, size_t n,
                              bool reverse, const struct mh_link *links, size_t nlinks)
{
    struct mh_incident_config c;
    mh_incident_config_from(dc, &c);
    mh_incidents *b = NULL;
    CHECK(mh_incidents_new(&c, &fp, &b) == MH_OK);
    for (size_t i = 0; i < n; i++) {
        struct mh_finding al = mk(&xs[reverse ? n - 1 - i : i]);
        CHECK(mh_incidents_add(b, &al) == MH_OK);
    }
    for (size_t i = 0; i < nlinks; i++) CHECK(mh_incidents_add_link(b, &links[reverse ? nlinks - 1 - i : i]) == MH_OK);
    CHECK(mh_incidents_build(b) == MH_OK);
    return b;
}

static mh_incidents *build(const struct a *xs, size_t n, bool reverse, const struct mh_link *links,
                           size_t nlinks)
{
    struct mh_detector_config dc;
    mh_detector_config_defaults(&dc);
    return build_dc(&dc, xs, n, reverse, links, nlinks);
}

static const struct a chain[] = {
    {"spray", "D2", MH_LEVEL_HIGH, 0, "Test@contoso.com", "198.18.0.5", NULL, NULL, NULL, NULL, 1},
    {"cred", "D5", MH_LEVEL_MEDIUM, 3600, "test@contoso.com", "198.18.0.5", NULL, NULL, NULL, NULL, 2},
    {"firstseen", "D9", MH_LEVEL_HIGH, 2 * 86400, "svc-evil", "192.0.2.9", EXO,
     "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b", NULL, "ceo@contoso.com", 3},
    {"firstseen-mbx", NULL, MH_LEVEL_MEDIUM, 2 * 86400 + 60, "svc-evil", "192.0.2.9", EXO,
     "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b", NULL, "cfo@contoso.com", 4},
    /* unrelated lone medium: not an incident */
    {"inboxrule", "D16", MH_LEVEL_MEDIUM, 100, "zoe@contoso.com", "203.0.113.77", NULL, NULL, NULL,
     NULL, 5},
    /* same IP as the spray but 30 days later: outside the window */
    {"late", "D17", MH_LEVEL_HIGH, 30 * 86400, "other@contoso.com", "198.18.0.5", NULL, NULL, NULL,
     NULL, 6},
    /* informational alerts are never grouped */
    {"info", "D9", MH_LEVEL_INFORMATIONAL, 100, "test@contoso.com", NULL, NULL, NULL, NULL, NULL, 7},
};

static void t_group_with_link(void)
{
    struct mh_link l = {MH_KEY_USER, MH_KEY_APP, MH_SLICE_LIT("TEST@contoso.com"),
                        MH_SLICE_LIT("6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"), T0 + 7200 * MH_USEC_PER_SEC,
                        "added credentials", false};
    mh_incidents *b = build(chain, sizeof chain / sizeof chain[0], false, &l, 1);
    CHECK_INT(mh_incidents_count(b), 2);
    const struct mh_incident *i0 = mh_incidents_get(b, 0);
    if (i0) {
        CHECK_INT(i0->nalerts, 4);
        /* D2 + D5 + D9 = 80 (the unmapped rule adds nothing); but a high access
           alert (the spray's success) followed by mail collection (D9) is
           critical, and the score is raised to the critical threshold */
        CHECK_INT(i0->score, 120);
        CHECK(i0->level == MH_LEVEL_CRITICAL);
        CHECK_INT(i0->nsteps, 4);
        CHECK_STREQ(i0->steps[0].rule_id, "spray");
        CHECK_STREQ(i0->steps[3].detection, "other");
        CHECK_INT(i0->nlist[MH_INC_USERS], 2);
        CHECK_SLICE(i0->list[MH_INC_USERS][0], "svc-evil");
        CHECK_SLICE(i0->list[MH_INC_USERS][1], "test@contoso.com");
        /* Exchange is first-party: only the client app is listed */
        CHECK_INT(i0->nlist[MH_INC_APPS], 1);
        CHECK_INT(i0->nlist[MH_INC_MAILBOXES], 2);
        CHECK_INT(i0->first_seen, T0);
        CHECK_INT(i0->last_seen, T0 + (2 * 86400 + 60) * MH_USEC_PER_SEC);
    }
    const struct mh_incident *i1 = mh_incidents_get(b, 1);
    CHECK(i1 && i1->nalerts == 1 && strcmp(i1->steps[0].rule_id, "late") == 0);
    mh_incidents_free(b);

    /* without the link the chain falls apart in two */
    b = build(chain, 4, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 2);
    mh_incidents_free(b);

    /* a link through a principal without alerts (object id) is a bridge; the
       identity link (object = app) holds whatever its time */
    struct mh_link l2[2] = {
        {MH_KEY_USER, MH_KEY_OBJECT, MH_SLICE_LIT("test@contoso.com"),
         MH_SLICE_LIT("0b0b0b0b-0000-4000-8000-000000000001"), T0, "added credentials", false},
        {MH_KEY_OBJECT, MH_KEY_APP, MH_SLICE_LIT("0b0b0b0b-0000-4000-8000-000000000001"),
         MH_SLICE_LIT("6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"), T0 + 60 * DAY, "same application",
         true}};
    b = build(chain, 4, false, l2, 2);
    CHECK_INT(mh_incidents_count(b), 1);
    mh_incidents_free(b);
    /* the same action link 60 days away from every alert links nothing */
    l2[0].time = T0 + 60 * DAY;
    b = build(chain, 4, false, l2, 2);
    CHECK_INT(mh_incidents_count(b), 2);
    mh_incidents_free(b);
}

static void t_shared_ip(void)
{
    /* 12 users' medium alerts from one NAT address: no incident */
    struct a xs[12];
    char users[12][32];
    for (int i = 0; i < 12; i++) {
        snprintf(users[i], sizeof users[i], "user%02d@contoso.com", i);
        xs[i] = (struct a){"rule", "D16", MH_LEVEL_MEDIUM, i * 60, users[i], "203.0.113.1",
                           NULL,   NULL,  NULL, NULL, (uint64_t)i + 1};
    }
    mh_incidents *b = build(xs, 12, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 0);
    mh_incidents_free(b);
    /* the same with 3 users links them: D16 alone scores 25, but two kinds do */
    xs[1].det = "D17";
    b = build(xs, 3, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 1);
    if (mh_incidents_count(b)) CHECK_INT(mh_incidents_get(b, 0)->score, 50);
    mh_incidents_free(b);
    /* a first-party app never links two users */
    struct a f[2] = {{"r1", "D9", MH_LEVEL_MEDIUM, 0, "a@x", NULL, EXO, NULL, NULL, NULL, 1},
                     {"r2", "D11", MH_LEVEL_MEDIUM, 0, "b@x", NULL, EXO, NULL, NULL, NULL, 2}};
    b = build(f, 2, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 1); /* D9 alone scores 40 >= 30; D11 alone 15 is dropped */
    if (mh_incidents_count(b)) CHECK_INT(mh_incidents_get(b, 0)->nalerts, 1);
    mh_incidents_free(b);
}

/* Office egress learnt by the detectors (MH_KEY_SHARED marker): links nothing,
   is not listed -- unless a high alert holds it. */
static void t_shared_marker(void)
{
    struct a xs[3] = {
        {"grant", "D6", MH_LEVEL_MEDIUM, 0, "admin1@contoso.com", "198.51.100.7", NULL, NULL, NULL,
         NULL, 1},
        {"role", "D7", MH_LEVEL_MEDIUM, 600, "admin2@contoso.com", "198.51.100.7", NULL, NULL, NULL,
         NULL, 2},
        {"cred", "D5", MH_LEVEL_MEDIUM, 1200, "admin3@contoso.com", "198.51.100.7", NULL, NULL,
         NULL, NULL, 3},
    };
    struct mh_link m = {MH_KEY_IP, MH_KEY_SHARED, MH_SLICE_LIT("198.51.100.7"),
                        MH_SLICE_LIT("shared egress"), T0, "shared egress", true};
    /* without the marker three admins at one office are one actor */
    mh_incidents *b = build(xs, 3, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 1);
    if (mh_incidents_count(b)) {
        CHECK_INT(mh_incidents_get(b, 0)->score, 65);
        /* changes alone (admin routine) are not promoted by their score */
        CHECK(mh_incidents_get(b, 0)->level == MH_LEVEL_MEDIUM);
    }
    mh_incidents_free(b);
    /* with it: three lone alerts, no incident (D6 alone 30 is kept: one) */
    b = build(xs, 3, false, &m, 1);
    CHECK_INT(mh_incidents_count(b), 1);
    if (mh_incidents_count(b)) {
        const struct mh_incident *i = mh_incidents_get(b, 0);
        CHECK_INT(i->nalerts, 1);
        CHECK_INT(i->nlist[MH_INC_IPS], 0);
    }
    mh_incidents_free(b);
    /* the marker's kinds in either order */
    struct mh_link r = {MH_KEY_SHARED, MH_KEY_IP, MH_SLICE_LIT("shared egress"),
                        MH_SLICE_LIT("198.51.100.7"), T0, "shared egress", true};
    b = build(xs, 3, true, &r, 1);
    CHECK_INT(mh_incidents_count(b), 1);
    if (mh_incidents_count(b)) CHECK_INT(mh_incidents_get(b, 0)->nalerts, 1);
    mh_incidents_free(b);
    /* a high alert on the address makes it the attacker's: it links and is listed */
    xs[1].level = MH_LEVEL_HIGH;
    b = build(xs, 3, false, &m, 1);
    CHECK_INT(mh_incidents_count(b), 1);
    if (mh_incidents_count(b)) {
        const struct mh_incident *i = mh_incidents_get(b, 0);
        CHECK_INT(i->nalerts, 3);
        CHECK_INT(i->nlist[MH_INC_IPS], 1);
    }
    mh_incidents_free(b);
}

/* Forged token (high access alert) + mail read in its session: critical. */
static void t_escalation(void)
{
    struct a xs[4] = {
        {"mh.d14.token_without_signin", "D14", MH_LEVEL_HIGH, 0, "ceo@contoso.com",
         "203.0.113.50", NULL, NULL, "5e550000-0000-4000-8000-0000000000aa", "ceo@contoso.com", 1},
        {"mh.ctx.mail_access_in_context", NULL, MH_LEVEL_MEDIUM, 60, "ceo@contoso.com",
         "203.0.113.50", NULL, NULL, "5e550000-0000-4000-8000-0000000000aa", "ceo@contoso.com", 2},
        /* the victim's own travel (her home address, her session) */
        {"mh.d15.session_multi_location", "D15", MH_LEVEL_LOW, 120, "ceo@contoso.com",
         "198.51.100.99", NULL, NULL, "5e550000-0000-4000-8000-0000000000bb", NULL, 3},
        /* and her own forwarding rule to a colleague, from home */
        {"fwd", "D16", MH_LEVEL_MEDIUM, 180, "ceo@contoso.com", "198.51.100.98", NULL, NULL,
         "5e550000-0000-4000-8000-0000000000cc", NULL, 4},
    };
    mh_incidents *b = build(xs, 4, false, NULL, 0);
    const struct mh_incident *i = mh_incidents_get(b, 0);
    CHECK(i && i->level == MH_LEVEL_CRITICAL && i->score == 120);
    if (i) {
        /* the weak anomaly and the user's own change add their steps, not
           their addresses or sessions */
        CHECK_INT(i->nsteps, 4);
        CHECK_INT(i->nlist[MH_INC_IPS], 1);
        CHECK_SLICE(i->list[MH_INC_IPS][0], "203.0.113.50");
        CHECK_INT(i->nlist[MH_INC_SESSIONS], 1);
    }
    struct mh_buf sum;
    mh_buf_init(&sum, 1u << 16);
    CHECK(mh_incident_summary(b, 0, &sum) == MH_OK);
    CHECK(strstr(sum.data, "Mail was read after an access alert at level high") != NULL);
    mh_buf_fini(&sum);
    mh_incidents_free(b);
    /* the mail read only by address (low): high (D14), not critical; score 57 */
    xs[1].level = MH_LEVEL_LOW;
    b = build(xs, 3, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->level == MH_LEVEL_HIGH && i->score == 57);
    mh_incidents_free(b);
    /* with the forwarding rule: access + change, 82 >= 60 -> high by score */
    xs[0].level = MH_LEVEL_MEDIUM;
    b = build(xs, 4, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->level == MH_LEVEL_HIGH && i->score == 82);
    if (i) CHECK_INT(i->nlist[MH_INC_IPS], 1); /* the change is user-side at high */
    mh_incidents_free(b);
    /* a high CHANGE alert (full_access_as_app granted) + collection is not
       escalated: a new backup product does exactly that */
    struct a ys[2] = {
        {"grant", "D6", MH_LEVEL_HIGH, 0, "admin@contoso.com", NULL, NULL,
         "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b", NULL, NULL, 1},
        {"firstseen-mbx", "D9", MH_LEVEL_MEDIUM, 60, "svc", NULL, EXO,
         "6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b", NULL, "cfo@contoso.com", 2},
    };
    b = build(ys, 2, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->level == MH_LEVEL_HIGH && i->score == 70);
    mh_incidents_free(b);
    /* weak (low) attributes never make an incident on their own: a forwarding
       rule (D16 medium, 25) with a session in two countries (D15 low, 7) */
    struct a zs[2] = {
        {"fwd", "D16", MH_LEVEL_MEDIUM, 0, "u@contoso.com", "192.0.2.8", NULL, NULL, NULL, NULL, 1},
        {"travel", "D15", MH_LEVEL_LOW, 60, "u@contoso.com", "192.0.2.8", NULL, NULL, NULL, NULL, 2},
    };
    b = build(zs, 2, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 0);
    mh_incidents_free(b);
}

static void t_json_exact(void)
{
    struct a xs[2] = {
        {"r-1", "D14", MH_LEVEL_HIGH, 60, "u@contoso.com", "192.0.2.1", NULL, NULL,
         "5e550000-0000-4000-8000-000000000001", "u@contoso.com", 1},
        {"r-2", "D15", MH_LEVEL_MEDIUM, 0, "u@contoso.com", "192.0.2.2", NULL, NULL,
         "5e550000-0000-4000-8000-000000000001", NULL, 2},
    };
    mh_incidents *b = build(xs, 2, false, NULL, 0);
    struct mh_buf out;
    mh_buf_init(&out, 1u << 20);
    CHECK(mh_incidents_write_json(b, &out) == MH_OK);
    const struct mh_incident *inc = mh_incidents_get(b, 0);
    char want[2048];
    snprintf(want, sizeof want,
             "{\"incidents\":[{\"id\":\"%s\",\"score\":65,\"level\":\"high\","
             "\"first_seen\":\"2024-03-01T00:00:00Z\",\"last_seen\":\"2024-03-01T00:01:00Z\","
             "\"entities\":{\"users\":[\"u@contoso.com\"],\"ips\":[\"192.0.2.1\"],"
             "\"apps\":[],\"sessions\":[\"5e550000-0000-4000-8000-000000000001\"],\"tokens\":[],"
             "\"mailboxes\":[\"u@contoso.com\"]},\"steps\":[{\"detection\":\"D15\","
             "\"time\":\"2024-03-01T00:00:00Z\",\"alert\":\"r-2\"},{\"detection\":\"D14\","
             "\"time\":\"2024-03-01T00:01:00Z\",\"alert\":\"r-1\"}]}]}",
             inc ? inc->id : "?");
    CHECK_STREQ(out.data, want);
    CHECK(inc && strncmp(inc->id, "INC-", 4) == 0 && strlen(inc->id) == 20);
    struct mh_buf sum;
    mh_buf_init(&sum, 1u << 16);
    CHECK(mh_incident_summary(b, 0, &sum) == MH_OK);
    CHECK(strstr(sum.data, inc ? inc->id : "?") != NULL);
    /* a high incident lists the addresses of its high alerts (D14), not the
       medium access anomaly's (user-side): 1 IP address */
    CHECK(strstr(sum.data, "involving 1 user (u@contoso.com), 1 IP address (192.0.2.1), "
                           "1 session") != NULL);
    CHECK(strstr(sum.data, "score 65") != NULL);
    mh_buf_fini(&sum);
    mh_buf_fini(&out);
    mh_incidents_free(b);
}

static void t_order_independent(void)
{
    struct mh_link l = {MH_KEY_USER, MH_KEY_APP, MH_SLICE_LIT("test@contoso.com"),
                        MH_SLICE_LIT("6f1c2b3a-4d5e-4f60-8a9b-0c1d2e3f4a5b"), T0, "added credentials",
                        false};
    mh_incidents *a = build(chain, sizeof chain / sizeof chain[0], false, &l, 1);
    mh_incidents *b = build(chain, sizeof chain / sizeof chain[0], true, &l, 1);
    struct mh_buf x, y;
    mh_buf_init(&x, 1u << 20);
    mh_buf_init(&y, 1u << 20);
    CHECK(mh_incidents_write_json(a, &x) == MH_OK);
    CHECK(mh_incidents_write_json(b, &y) == MH_OK);
    CHECK(x.len > 50);
    CHECK_STREQ(x.data, y.data);
    mh_buf_fini(&x);
    mh_buf_fini(&y);
    mh_incidents_free(a);
    mh_incidents_free(b);
}

static void t_levels(void)
{
    /* score >= 2 x alert_score: critical even with medium alerts */
    struct a xs[4] = {
        {"a", "D9", MH_LEVEL_MEDIUM, 0, "u@x", NULL, NULL, NULL, NULL, NULL, 1},
        {"b", "D10", MH_LEVEL_MEDIUM, 1, "u@x", NULL, NULL, NULL, NULL, NULL, 2},
        {"c", "D14", MH_LEVEL_MEDIUM, 2, "u@x", NULL, NULL, NULL, NULL, NULL, 3},
        {"d", NULL, MH_LEVEL_LOW, 3, "u@x", NULL, NULL, NULL, NULL, NULL, 4},
    };
    mh_incidents *b = build(xs, 4, false, NULL, 0);
    const struct mh_incident *i = mh_incidents_get(b, 0);
    CHECK(i && i->score == 130 && i->level == MH_LEVEL_CRITICAL);
    mh_incidents_free(b);
    /* an item seen only in low alerts counts half: D14 low alone = 25 < 30 */
    xs[2].level = MH_LEVEL_LOW;
    b = build(xs + 2, 1, false, NULL, 0);
    CHECK_INT(mh_incidents_count(b), 0);
    mh_incidents_free(b);
    /* D9 + D10 medium + D14 low = 105: the low D14 is no access stage, and a
       chain of collection alone is not promoted by its score (backup apps) */
    b = build(xs, 3, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->score == 105 && i->level == MH_LEVEL_MEDIUM);
    mh_incidents_free(b);
    /* D14 medium makes two stages: promoted to high (105 >= 60) */
    xs[2].level = MH_LEVEL_MEDIUM;
    xs[1].det = "D5";
    b = build(xs, 3, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->score == 110 && i->level == MH_LEVEL_HIGH);
    mh_incidents_free(b);
    /* incident.min_stages = 1 restores plain score promotion */
    xs[1].det = "D10";
    xs[2].level = MH_LEVEL_LOW;
    struct mh_detector_config dc;
    mh_detector_config_defaults(&dc);
    CHECK(mh_detector_config_set(&dc, "incident.min_stages", "1", NULL) == MH_OK);
    CHECK_INT(dc.incident_min_stages, 1);
    b = build_dc(&dc, xs, 3, false, NULL, 0);
    i = mh_incidents_get(b, 0);
    CHECK(i && i->score == 105 && i->level == MH_LEVEL_HIGH);
    mh_incidents_free(b);
    /* a tag "mailhound.d6" gives the catalogue item when detection is NULL */
    const char *tags[] = {"attack.t1098", "mailhound.d6"};
    struct mh_finding al;
    memset(&al, 0, sizeof al);
    al.tags = tags;
    al.ntags = 2;
    char buf[8];
    CHECK_STREQ(mh_finding_detection(&al, buf), "D6");
    tags[1] = "mailhound.d18";
    CHECK(mh_finding_detection(&al, buf) == NULL);
}

/* A Sigma alert (match/alert.h) seen as a finding. */
static void t_from_alert(void)
{
    static const char *tags[] = {"attack.t1114.003", "mailhound.d16"};
    struct mh_rule r;
    memset(&r, 0, sizeof r);
    r.id = "d24d3171-233e-474b-9e31-83036d06c1d3";
    r.title = "Inbox rule forwarding or redirecting mail";
    r.level = MH_LEVEL_MEDIUM;
    r.tags = tags;
    r.ntags = 2;
    struct mh_alert a;
    memset(&a, 0, sizeof a);
    a.rule = &r;
    a.time = T0;
    a.source.file = "logs/ual/x.jsonl";
    a.source.key = "ual/x.jsonl";
    a.source.record = 7;
    a.ent[MH_ENT_USER] = MH_SLICE_LIT("a@contoso.com");
    a.ent[MH_ENT_IP] = MH_SLICE_LIT("192.0.2.1");
    struct mh_finding f;
    mh_finding_from_alert(&a, &f);
    CHECK_STREQ(f.rule_id, r.id);
    CHECK(f.level == MH_LEVEL_MEDIUM);
    CHECK_INT(f.ref.record, 7);
    CHECK_STREQ(f.file_name, "logs/ual/x.jsonl");
    CHECK_STREQ(f.file_key, "ual/x.jsonl");
    CHECK_SLICE(f.ent[MH_ENT_IP], "192.0.2.1");
    CHECK(f.ent[MH_ENT_MAILBOX].len == 0);
    char buf[8];
    CHECK_STREQ(mh_finding_detection(&f, buf), "D16");
    /* with a D17 finding of the same user it makes an incident (25 + 25) */
    struct mh_detector_config dc;
    mh_detector_config_defaults(&dc);
    struct mh_incident_config c;
    mh_incident_config_from(&dc, &c);
    mh_incidents *b = NULL;
    CHECK(mh_incidents_new(&c, NULL, &b) == MH_OK);
    CHECK(mh_incidents_add(b, &f) == MH_OK);
    struct a other = {"x", "D17", MH_LEVEL_MEDIUM, 60, "A@contoso.com", NULL, NULL, NULL, NULL, NULL, 1};
    struct mh_finding g = mk(&other);
    CHECK(mh_incidents_add(b, &g) == MH_OK);
    CHECK(mh_incidents_build(b) == MH_OK);
    CHECK_INT(mh_incidents_count(b), 1);
    const struct mh_incident *i = mh_incidents_get(b, 0);
    CHECK(i && i->score == 50 && i->nsteps == 2);
    if (i) CHECK_STREQ(i->steps[0].file_name, "logs/ual/x.jsonl");
    mh_incidents_free(b);
}

/* Id of the one incident of two alerts whose evidence lies in files named
 * name0/name1 (paths as given), keyed key0/key1 (relative to their input
 * roots), at reader file indexes file0/file1; record of the second + dr. */
struct where {
    const char *name[2], *key[2];
    uint32_t file[2];
    uint64_t dr;
};

static void id_of(const struct where *w, char id[24])
{
    struct a xs[2] = {
        {"r-1", "D14", MH_LEVEL_HIGH, 60, "u@contoso.com", "192.0.2.1", NULL, NULL, NULL, NULL, 1},
        {"r-2", "D15", MH_LEVEL_MEDIUM, 0, "u@contoso.com", "192.0.2.2", NULL, NULL, NULL, NULL, 2},
    };
    struct mh_detector_config dc;
    mh_detector_config_defaults(&dc);
    struct mh_incident_config c;
    mh_incident_config_from(&dc, &c);
    mh_incidents *b = NULL;
    CHECK(mh_incidents_new(&c, &fp, &b) == MH_OK);
    for (int i = 0; i < 2; i++) {
        struct mh_finding f = mk(&xs[i]);
        f.file_name = w->name[i];
        f.file_key = w->key[i];
        f.ref.file = w->file[i];
        if (i) f.ref.record += w->dr;
        CHECK(mh_incidents_add(b, &f) == MH_OK);
    }
    CHECK(mh_incidents_build(b) == MH_OK);
    const struct mh_incident *inc = mh_incidents_get(b, 0);
    CHECK(inc != NULL);
    snprintf(id, 24, "%s", inc ? inc->id : "?");
    mh_incidents_free(b);
}

/* Ids hash the evidence (file key, record, ...), never where the files lie:
 * neither the path as given nor the reader's file index. */
static void t_id_evidence(void)
{
    static const struct where base = {{"/case/logs/ual/a.jsonl", "/case/logs/signin/b.json"},
                                      {"ual/a.jsonl", "signin/b.json"}, {0, 1}, 0};
    char want[24], got[24];
    id_of(&base, want);
    CHECK(strncmp(want, "INC-", 4) == 0 && strlen(want) == 20);
    /* another folder, relative, other file indexes (argument order): same id */
    struct where w = base;
    w.name[0] = "logs/ual/a.jsonl";
    w.name[1] = "/mnt/copy/logs/signin/b.json";
    w.file[0] = 7;
    w.file[1] = 2;
    id_of(&w, got);
    CHECK_STREQ(got, want);
    /* a detector finding: no file name, only the index and the key */
    w.name[0] = w.name[1] = NULL;
    id_of(&w, got);
    CHECK_STREQ(got, want);
    /* other evidence: another file below the root, another record, no key */
    w = base;
    w.key[1] = "signin/c.json";
    id_of(&w, got);
    CHECK(strcmp(got, want) != 0);
    w = base;
    w.dr = 1;
    id_of(&w, got);
    CHECK(strcmp(got, want) != 0);
    w = base;
    w.key[0] = NULL;
    id_of(&w, got);
    CHECK(strcmp(got, want) != 0);
}

int main(void)
{
    if (mh_time_parse("2024-03-01T00:00:00Z", 20, &T0) != MH_OK) return 1;
    struct mh_detector_config dc;
    mh_detector_config_defaults(&dc);
    char path[MH_DET_PATH_BYTES];
    if (mh_data_path(&dc, dc.first_party_apps, path) != MH_OK ||
        mh_appset_load(&fp, path, NULL) != MH_OK) {
        fprintf(stderr, "cannot load %s\n", path);
        return 1;
    }
    static const struct mh_test tests[] = {
        {"group_with_link", t_group_with_link}, {"shared_ip", t_shared_ip},
        {"json_exact", t_json_exact},           {"order_independent", t_order_independent},
        {"levels", t_levels},                   {"from_alert", t_from_alert},
        {"id_evidence", t_id_evidence},
        {"shared_marker", t_shared_marker},     {"escalation", t_escalation},
    };
    int rc = MH_TEST_RUN(tests);
    mh_appset_fini(&fp);
    return rc;
}
