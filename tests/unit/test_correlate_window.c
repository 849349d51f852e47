/*
 * tests/unit/test_correlate_window.c -- Sigma correlations over crafted hit streams
 * (src/correlate/window.h): every type, window edges, suppression,
 * out-of-order input, lateness drops, per-key caps, idle expiry, chaining
 * (the specification's failed-logins-then-success example), ranges,
 * generate, and the implicit correlation of a legacy count() condition.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/window.h"
#include "correlate/state.h"
#include "mailhound/limits.h"
#include "mh_test.h"

#define S(x) ((int64_t)(x) * 1000000)

struct got {
    int n;
    char title[32][128];
    double count[32];
    mh_time time[32];
    bool capped[32];
    uint32_t nrefs[32];
    char group[32][64];
};

static mh_status collect(void *ctx, const struct mh_alert *a)
{
    struct got *g = ctx;
    if (g->n < 32) {
        snprintf(g->title[g->n], 128, "%s", a->rule->title);
        g->count[g->n] = a->count;
        g->time[g->n] = a->time;
        g->capped[g->n] = a->capped;
        g->nrefs[g->n] = a->nrefs;
        g->group[g->n][0] = 0;
        for (uint32_t i = 0; i < a->ngroup; i++)
            snprintf(g->group[g->n] + strlen(g->group[g->n]), 64 - strlen(g->group[g->n]), "%s%.*s",
                     i ? "|" : "", (int)a->gval[i].len, a->gval[i].ptr ? a->gval[i].ptr : "");
    }
    g->n++;
    return MH_OK;
}

static mh_ruleset *load(const char *yaml, char *warnings, size_t wcap);

static char *W;
static size_t WCAP;

static void note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    (void)ctx;
    (void)r;
    if (k == MH_NOTE_REJECTED) fprintf(stderr, "rejected: %s %s\n", e->msg, e->detail);
    if (k != MH_NOTE_LOADED && W)
        snprintf(W + strlen(W), WCAP - strlen(W), "%s: %s; ", e->msg ? e->msg : "", e->detail);
}

static mh_ruleset *load(const char *yaml, char *warnings, size_t wcap)
{
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    o.on_note = note;
    W = warnings;
    WCAP = wcap;
    if (W) W[0] = 0;
    mh_ruleset *rs = NULL;
    if (mh_ruleset_new(&o, &rs, NULL) != MH_OK) return NULL;
    if (mh_ruleset_add_memory(rs, "test.yml", yaml, strlen(yaml), NULL) != MH_OK ||
        mh_ruleset_compile(rs, NULL) != MH_OK) {
        mh_ruleset_free(rs);
        return NULL;
    }
    return rs;
}

static const struct mh_rule *named(const mh_ruleset *rs, const char *ref)
{
    return mh_ruleset_find(rs, ref);
}

/* Feed one hit: base rule `base` (by name), group key, value, time in seconds. */
static void feed(mh_correlator *c, const mh_ruleset *rs, const char *base, const char *group,
                 const char *value, int64_t t_us, uint64_t record)
{
    const struct mh_rule *b = named(rs, base);
    CHECK(b != NULL);
    if (!b) return;
    for (size_t i = 0; i < rs->ncorrs; i++) {
        const struct mh_rule *cr = rs->rules[rs->corrs[i]];
        if (cr->disabled) continue;
        for (uint32_t j = 0; j < cr->corr->nrules; j++) {
            if (cr->corr->rule_idx[j] != b->index) continue;
            struct mh_corr_hit h;
            memset(&h, 0, sizeof h);
            h.corr = cr->index;
            h.pos = j;
            h.time = t_us;
            h.group = mh_slice_cstr(group);
            h.value = value ? mh_slice_cstr(value) : MH_SLICE_NULL;
            h.ref.file = "f";
            h.ref.record = record;
            CHECK_INT(mh_correlator_feed(c, &h), MH_OK);
        }
    }
}

static mh_correlator *mk(const mh_ruleset *rs, struct got *g, int64_t lateness)
{
    mh_correlator *c = NULL;
    struct mh_correlator_opts o = {lateness, collect, g};
    memset(g, 0, sizeof *g);
    CHECK_INT(mh_correlator_new(rs, &o, &c), MH_OK);
    return c;
}

static const char *BASES = "title: failed\nname: failed\nlogsource: {product: json}\n"
                           "detection: {sel: {r: f}, condition: sel}\n---\n"
                           "title: ok\nname: ok\nlogsource: {product: json}\n"
                           "detection: {sel: {r: s}, condition: sel}\n";

static mh_ruleset *with_bases(const char *corr, char *w, size_t wcap)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s---\n%s", BASES, corr);
    return load(buf, w, wcap);
}

static void t_event_count_edges(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    /* exactly on the window edge: [t - 10m, t] is inclusive */
    feed(c, rs, "failed", "1.1.1.1", NULL, S(0), 1);
    feed(c, rs, "failed", "1.1.1.1", NULL, S(300), 2);
    feed(c, rs, "failed", "1.1.1.1", NULL, S(600), 3);
    /* one microsecond past the edge for another group: only 2 in window */
    feed(c, rs, "failed", "2.2.2.2", NULL, S(0), 4);
    feed(c, rs, "failed", "2.2.2.2", NULL, S(300), 5);
    feed(c, rs, "failed", "2.2.2.2", NULL, S(600) + 1, 6);
    /* suppression: the 4th hit inside the same window does not fire again */
    feed(c, rs, "failed", "1.1.1.1", NULL, S(700), 7);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK_STREQ(g.title[0], "burst");
    CHECK(g.count[0] == 3);
    CHECK(g.time[0] == S(600));
    CHECK_STREQ(g.group[0], "1.1.1.1");
    CHECK_INT(g.nrefs[0], 3);
    /* base rules referenced without generate emit nothing of their own */
    CHECK(!named(rs, "failed")->emit);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_rearm(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 1m, condition: {gte: 2}}\n", NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    for (int i = 0; i < 6; i++) feed(c, rs, "failed", "a", NULL, S(i * 20), (uint64_t)i);
    /* fires at 20 s, silent until 80 s, fires again at 100 s */
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 2);
    CHECK(g.time[0] == S(20));
    CHECK(g.time[1] == S(100));
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_value_count(void)
{
    mh_ruleset *rs = with_bases("title: spray\ncorrelation: {type: value_count, rules: [failed], "
                                "group-by: [ip], timespan: 20m, condition: {field: user, gte: 3}}\n",
                                NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    feed(c, rs, "failed", "ip1", "alice", S(0), 1);
    feed(c, rs, "failed", "ip1", "ALICE", S(10), 2); /* same user (case-insensitive) */
    feed(c, rs, "failed", "ip1", "bob", S(20), 3);
    feed(c, rs, "failed", "ip2", "carol", S(25), 4); /* other group */
    feed(c, rs, "failed", "ip1", NULL, S(28), 5);    /* no value: ignored */
    feed(c, rs, "failed", "ip1", "carol", S(30), 6);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK(g.count[0] == 3);
    CHECK(g.time[0] == S(30));
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_temporal(void)
{
    mh_ruleset *rs = with_bases("title: both\ncorrelation: {type: temporal, rules: [failed, ok], "
                                "group-by: [user], timespan: 5m}\n---\n"
                                "title: ordered\ncorrelation: {type: temporal_ordered, rules: [failed, ok], "
                                "group-by: [user], timespan: 5m}\n", NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    /* u1: ok then failed -> temporal yes, ordered no */
    feed(c, rs, "ok", "u1", NULL, S(0), 1);
    feed(c, rs, "failed", "u1", NULL, S(60), 2);
    /* u2: failed then ok -> both */
    feed(c, rs, "failed", "u2", NULL, S(100), 3);
    feed(c, rs, "ok", "u2", NULL, S(200), 4);
    /* u3: too far apart */
    feed(c, rs, "failed", "u3", NULL, S(1000), 5);
    feed(c, rs, "ok", "u3", NULL, S(1000 + 301), 6);
    /* groups do not mix: failed for u4, ok for u5 */
    feed(c, rs, "failed", "u4", NULL, S(2000), 7);
    feed(c, rs, "ok", "u5", NULL, S(2001), 8);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 3);
    CHECK_STREQ(g.title[0], "both");
    CHECK_STREQ(g.group[0], "u1");
    CHECK_STREQ(g.title[1], "both");
    CHECK_STREQ(g.group[1], "u2");
    CHECK_STREQ(g.title[2], "ordered");
    CHECK_STREQ(g.group[2], "u2");
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_out_of_order(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    struct got g1, g2, g3;
    /* reverse time order (as Purview exports are): sorted before evaluation */
    mh_correlator *c = mk(rs, &g1, -1);
    feed(c, rs, "failed", "a", NULL, S(600), 3);
    feed(c, rs, "failed", "a", NULL, S(300), 2);
    feed(c, rs, "failed", "a", NULL, S(0), 1);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g1.n, 1);
    CHECK(g1.time[0] == S(600));
    mh_correlator_free(c);
    /* with a 1-minute lateness, a hit 5 minutes late is dropped and counted */
    c = mk(rs, &g2, S(60));
    feed(c, rs, "failed", "a", NULL, S(0), 1);
    feed(c, rs, "failed", "a", NULL, S(600), 3);
    feed(c, rs, "failed", "a", NULL, S(300), 2);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g2.n, 0);
    CHECK_INT(mh_correlator_stats(c)->late, 1);
    mh_correlator_free(c);
    /* within the lateness it is reordered */
    c = mk(rs, &g3, S(400));
    feed(c, rs, "failed", "a", NULL, S(0), 1);
    feed(c, rs, "failed", "a", NULL, S(600), 3);
    feed(c, rs, "failed", "a", NULL, S(300), 2);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g3.n, 1);
    /* untimed hits are counted and skipped */
    feed(c, rs, "failed", "a", NULL, MH_TIME_NONE, 9);
    CHECK_INT(mh_correlator_stats(c)->untimed, 1);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_caps(void)
{
    mh_ruleset *rs = with_bases("title: flood\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 1d, condition: {gte: 100001}}\n", NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, 0);
    for (uint64_t i = 0; i <= MH_MAX_EVENTS_PER_KEY; i++) feed(c, rs, "failed", "x", NULL, (int64_t)i, i);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    /* the window holds at most MH_MAX_EVENTS_PER_KEY entries: 100001 is never reached */
    CHECK_INT(g.n, 0);
    CHECK_INT(mh_correlator_stats(c)->entries_evicted, 1);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
    /* an alert of a group that lost state says so */
    rs = with_bases("title: flood2\ncorrelation: {type: event_count, rules: [failed], "
                    "group-by: [ip], timespan: 1d, condition: {gte: 100000}}\n", NULL, 0);
    c = mk(rs, &g, 0);
    for (uint64_t i = 0; i < MH_MAX_EVENTS_PER_KEY + 10; i++) feed(c, rs, "failed", "x", NULL, (int64_t)i, i);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK(!g.capped[0]); /* fired at exactly 100000, before any eviction */
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_idle_expiry(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 1m, condition: {gte: 5}}\n", NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, 0);
    for (int i = 0; i < 100; i++) {
        char ip[32];
        snprintf(ip, sizeof ip, "10.0.0.%d", i);
        feed(c, rs, "failed", ip, NULL, S(i * 120), (uint64_t)i);
    }
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK(mh_correlator_stats(c)->groups_expired >= 98);
    CHECK_INT(g.n, 0);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_chain_spec_example(void)
{
    /* ../shared/corpora/sigma/correlation-examples/.../spec_example_failed_logins_then_success.yml */
    const char *y =
        "title: Correlation - Multiple Failed Logins Followed by Successful Login\n"
        "correlation: {type: temporal_ordered, rules: [multiple_failed_login, successful_login], "
        "group-by: [User], timespan: 10m}\nlevel: high\n---\n"
        "title: Multiple failed logons\nname: multiple_failed_login\n"
        "correlation: {type: event_count, rules: [failed_login], group-by: [User], timespan: 10m, "
        "condition: {gte: 10}}\n---\n"
        "title: Single failed login\nname: failed_login\nlogsource: {product: json}\n"
        "detection: {selection: {EventID: [529, 4625]}, condition: selection}\n---\n"
        "title: Successful login\nname: successful_login\nlogsource: {product: json}\n"
        "detection: {selection: {EventID: [528, 4624]}, condition: selection}\n";
    mh_ruleset *rs = load(y, NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    for (int i = 0; i < 10; i++) feed(c, rs, "failed_login", "bob", NULL, S(i * 10), (uint64_t)i);
    feed(c, rs, "successful_login", "bob", NULL, S(200), 20);
    /* alice: only 9 failures then a success: nothing */
    for (int i = 0; i < 9; i++) feed(c, rs, "failed_login", "alice", NULL, S(i * 10), (uint64_t)(30 + i));
    feed(c, rs, "successful_login", "alice", NULL, S(200), 40);
    /* carol: success before the failures: nothing (ordered) */
    feed(c, rs, "successful_login", "carol", NULL, S(0), 50);
    for (int i = 0; i < 10; i++) feed(c, rs, "failed_login", "carol", NULL, S(10 + i), (uint64_t)(51 + i));
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    /* the inner correlation is referenced without generate: only the outer alerts */
    CHECK_INT(g.n, 1);
    CHECK_STREQ(g.title[0], "Correlation - Multiple Failed Logins Followed by Successful Login");
    CHECK_STREQ(g.group[0], "bob");
    CHECK(g.time[0] == S(200));
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

static void t_generate_and_range(void)
{
    mh_ruleset *rs = with_bases("title: some\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gt: 1, lte: 2}, generate: true}\n",
                                NULL, 0);
    CHECK(named(rs, "failed")->emit);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    feed(c, rs, "failed", "a", NULL, S(0), 1);
    feed(c, rs, "failed", "a", NULL, S(1), 2); /* count 2: in (1, 2] */
    feed(c, rs, "failed", "b", NULL, S(0), 3);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK(g.count[0] == 2);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
    char w[1024];
    rs = with_bases("title: bad\ncorrelation: {type: event_count, rules: [failed], group-by: [ip], "
                    "timespan: 10m, condition: {gt: 1, gte: 2}}\n", w, sizeof w);
    CHECK(rs != NULL);
    CHECK(strstr(w, "must form a range") != NULL);
    mh_ruleset_free(rs);
}

static void t_sum_avg_percentile(void)
{
    mh_ruleset *rs = with_bases(
        "title: sum\ncorrelation: {type: value_sum, rules: [failed], group-by: [u], timespan: 1h, "
        "condition: {field: bytes, gte: 1000}}\n---\n"
        "title: avg\ncorrelation: {type: value_avg, rules: [ok], group-by: [u], timespan: 1h, "
        "condition: {field: bytes, gt: 50}}\n", NULL, 0);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    feed(c, rs, "failed", "u", "400", S(0), 1);
    feed(c, rs, "failed", "u", "abc", S(1), 2); /* not a number: ignored */
    feed(c, rs, "failed", "u", "600.5", S(2), 3);
    feed(c, rs, "ok", "u", "40", S(3), 4);
    feed(c, rs, "ok", "u", "80", S(4), 5); /* avg 60 */
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 2);
    CHECK_STREQ(g.title[0], "sum");
    CHECK(g.count[0] == 1000.5);
    CHECK_STREQ(g.title[1], "avg");
    CHECK(g.count[1] == 60);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
    rs = with_bases("title: rare\ncorrelation: {type: value_percentile, rules: [failed], group-by: [h], "
                    "timespan: 1d, condition: {field: img, lte: 10}}\n", NULL, 0);
    c = mk(rs, &g, -1);
    for (int i = 0; i < 19; i++) feed(c, rs, "failed", "h", "common.exe", S(i), (uint64_t)i);
    feed(c, rs, "failed", "h", "rare.exe", S(100), 99); /* 1 of 20 = 5 % */
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK(g.count[0] == 5);
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

/* Carry-over through the state: a window split over two runs fires as one
 * run would; rerunning a run over the state it wrote gives the same alerts;
 * a changed rule drops its carried hits. */
static mh_correlator *carry_run_l(const mh_ruleset *rs, struct got *g, mh_db *db, const int64_t *t,
                                  const uint64_t *rec, size_t n, const char *file, int64_t lateness)
{
    mh_correlator *c = mk(rs, g, lateness);
    CHECK_INT(mh_correlator_load(c, db, NULL), MH_OK);
    for (size_t i = 0; i < n; i++) {
        const struct mh_rule *b = named(rs, "failed");
        struct mh_corr_hit h;
        memset(&h, 0, sizeof h);
        h.corr = rs->corrs[0];
        h.pos = 0;
        h.time = t[i];
        h.group = mh_slice_cstr("1.1.1.1");
        h.ref.file = file;
        h.ref.key = file;
        h.ref.record = rec[i];
        CHECK(b && rs->rules[rs->corrs[0]]->corr->rule_idx[0] == b->index);
        CHECK_INT(mh_correlator_feed(c, &h), MH_OK);
    }
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(mh_correlator_save(c, db, NULL), MH_OK);
    return c;
}

static mh_correlator *carry_run(const mh_ruleset *rs, struct got *g, mh_db *db, const int64_t *t,
                                const uint64_t *rec, size_t n, const char *file)
{
    return carry_run_l(rs, g, db, t, rec, n, file, -1);
}

/* The carried hits live in the detectors' state database: an in-memory one
 * (mh_state_open(NULL)) has the real sigma_carry schema. */
static mh_db *carry_db(mh_state **st)
{
    mh_error err;
    mh_error_clear(&err);
    *st = NULL;
    CHECK_INT(mh_state_open(NULL, st, &err), MH_OK);
    return *st ? mh_state_db(*st) : NULL;
}

static int64_t carry_rows(mh_db *db)
{
    mh_db_stmt *q = NULL;
    bool row = false;
    int64_t n = -1;
    if (mh_db_prepare(db, "SELECT count(*) FROM sigma_carry", &q, NULL) == MH_OK &&
        mh_db_step(q, &row, NULL) == MH_OK && row)
        n = mh_db_column_int(q, 0);
    mh_db_finalize(q);
    return n;
}

/* Carry-over with --lateness: replays do not move the watermark, so a rerun
 * over the state it wrote keeps its own hits (they were all dropped as late,
 * and the alert lost). A row whose time is no log time is skipped and
 * counted; a run without a state keeps no carry. */
static void t_carry_edges(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    mh_state *st = NULL;
    mh_db *db = carry_db(&st);
    struct got g;
    int64_t t[] = {S(0), S(60), S(120), S(3600), S(7200)};
    uint64_t r[] = {1, 2, 3, 4, 5};
    mh_correlator *c = carry_run_l(rs, &g, db, t, r, 5, "day.jsonl", S(30));
    CHECK_INT(g.n, 1);
    mh_correlator_free(c);
    c = carry_run_l(rs, &g, db, t, r, 5, "day.jsonl", S(30));
    CHECK_INT(g.n, 1);
    CHECK(g.n && g.time[0] == S(120));
    CHECK_INT((int)mh_correlator_stats(c)->late, 0);
    mh_correlator_free(c);
    /* a hand-edited row: time = INT64_MIN */
    CHECK_INT(mh_db_exec(db, "UPDATE sigma_carry SET time = -9223372036854775808 WHERE seq = "
                             "(SELECT min(seq) FROM sigma_carry)", NULL), MH_OK);
    c = mk(rs, &g, -1);
    CHECK_INT(mh_correlator_load(c, db, NULL), MH_OK);
    CHECK_INT((int)mh_correlator_stats(c)->replay_skipped, 1);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    mh_correlator_free(c);
    /* no load (no state): nothing carried, save writes no hit */
    CHECK(carry_rows(db) > 0);
    c = mk(rs, &g, -1);
    for (int i = 0; i < 5; i++) feed(c, rs, "failed", "9.9.9.9", NULL, t[i], r[i]);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(mh_correlator_save(c, db, NULL), MH_OK);
    CHECK_INT((int)carry_rows(db), 0);
    mh_correlator_free(c);
    mh_state_close(st);
    mh_ruleset_free(rs);
}

static void t_carry_over(void)
{
    mh_ruleset *rs = with_bases("title: burst\nid: 0d1c0000-0000-4000-8000-000000000001\n"
                                "correlation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    mh_state *st = NULL;
    mh_db *db = carry_db(&st);
    struct got g;
    /* run 1: two failures, no firing */
    int64_t t1[] = {S(0), S(60)};
    uint64_t r1[] = {1, 2};
    mh_correlator *c = carry_run(rs, &g, db, t1, r1, 2, "day1.jsonl");
    CHECK_INT(g.n, 0);
    mh_correlator_free(c);
    /* run 2: the third failure fires with the first two as evidence, whose
       file names are the first run's */
    int64_t t2[] = {S(120), S(3600)};
    uint64_t r2[] = {1, 2};
    c = carry_run(rs, &g, db, t2, r2, 2, "day2.jsonl");
    CHECK_INT(g.n, 1);
    CHECK(g.n && g.count[0] == 3 && g.time[0] == S(120) && g.nrefs[0] == 3);
    CHECK_INT((int)mh_correlator_stats(c)->replayed, 2);
    mh_correlator_free(c);
    /* run 2 again over the state it wrote: its own hits supersede their
       replays; the same single firing */
    c = carry_run(rs, &g, db, t2, r2, 2, "day2.jsonl");
    CHECK_INT(g.n, 1);
    CHECK(g.n && g.count[0] == 3 && g.time[0] == S(120));
    CHECK_INT((int)mh_correlator_stats(c)->replay_superseded, 2);
    CHECK_INT((int)mh_correlator_stats(c)->replay_fired, 0);
    mh_correlator_free(c);
    /* run 3, an hour later: the old hits are replayed, fire nothing new */
    int64_t t3[] = {S(7200)};
    uint64_t r3[] = {1};
    c = carry_run(rs, &g, db, t3, r3, 1, "day3.jsonl");
    CHECK_INT(g.n, 0);
    mh_correlator_free(c);
    /* the same correlation under another id: the carried hits are skipped */
    mh_ruleset *rs2 = with_bases("title: burst\nid: 0d1c0000-0000-4000-8000-000000000002\n"
                                 "correlation: {type: event_count, rules: [failed], "
                                 "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    CHECK(rs2 != NULL);
    if (rs2) {
        c = mk(rs2, &g, -1);
        CHECK_INT(mh_correlator_load(c, db, NULL), MH_OK);
        CHECK((int)mh_correlator_stats(c)->replay_skipped > 0);
        CHECK_INT((int)mh_correlator_stats(c)->replayed, 0);
        mh_correlator_free(c);
        mh_ruleset_free(rs2);
    }
    mh_state_close(st);
    mh_ruleset_free(rs);
}

static void t_loading(void)
{
    char w[2048];
    mh_ruleset *rs = with_bases("title: nogroup\ncorrelation: {type: event_count, rules: [failed], "
                                "timespan: 10m, condition: {gte: 2}}\n", w, sizeof w);
    CHECK(strstr(w, "correlation without group-by") != NULL);
    struct got g;
    mh_correlator *c = mk(rs, &g, -1);
    feed(c, rs, "failed", "", NULL, S(0), 1);
    feed(c, rs, "failed", "", NULL, S(1), 2);
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1); /* one global group */
    mh_correlator_free(c);
    mh_ruleset_free(rs);
    rs = with_bases("title: t\ncorrelation: {type: event_count, rules: [nope], group-by: [a], "
                    "timespan: 10m, condition: {gte: 2}}\n", w, sizeof w);
    CHECK(strstr(w, "correlation disabled") != NULL);
    mh_ruleset_free(rs);
    rs = with_bases("title: t\ncorrelation: {type: event_count, rules: [failed], group-by: [a], "
                    "timespan: 1M, condition: {gte: 2}}\n", w, sizeof w);
    CHECK(strstr(w, "months and years") != NULL);
    mh_ruleset_free(rs);
    rs = with_bases("title: t\ncorrelation: {type: value_median, rules: [failed], group-by: [a], "
                    "timespan: 1h, condition: {gte: 2}}\n", w, sizeof w);
    CHECK(strstr(w, "pySigma extension") != NULL);
    mh_ruleset_free(rs);
    /* legacy count() pipe: an implicit value_count correlation */
    rs = load("title: legacy\nlogsource: {product: json}\ndetection:\n  sel: {r: f}\n  timeframe: 5m\n"
              "  condition: sel | count(user) by ip > 2\n", w, sizeof w);
    CHECK(rs != NULL);
    CHECK(strstr(w, "legacy aggregation translated") != NULL);
    c = mk(rs, &g, -1);
    const struct mh_rule *base = NULL;
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i]->kind == MH_RK_DETECTION) base = rs->rules[i];
    CHECK(base && !base->emit);
    for (int i = 0; i < 3 && base; i++) {
        char u[8];
        snprintf(u, sizeof u, "u%d", i);
        feed(c, rs, base->name, "ip", u, S(i), (uint64_t)i);
    }
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    CHECK_INT(g.n, 1);
    CHECK_STREQ(g.title[0], "legacy");
    mh_correlator_free(c);
    mh_ruleset_free(rs);
}

/* Pending hits live in 1 MiB pool blocks: many hits (several blocks), a
 * hit larger than a block, hits released as they come (lateness) and all
 * at the finish (sort all) must give the same alerts in any feed order. */
static void pool_run(const mh_ruleset *rs, struct got *g, int64_t lateness, bool reverse,
                     const char *big)
{
    mh_correlator *c = mk(rs, g, lateness);
    char grp[400];
    enum { N = 12000 };
    for (int k = 0; k < N; k++) {
        int i = reverse ? N - 1 - k : k;
        snprintf(grp, sizeof grp, "%0300d", i % 97); /* 97 groups, 300-byte keys */
        feed(c, rs, "failed", grp, NULL, S(i), (uint64_t)i + 1);
        if (i % 4000 == 0) feed(c, rs, "failed", big, NULL, S(i), (uint64_t)i + 1000000);
    }
    CHECK_INT(mh_correlator_finish(c), MH_OK);
    mh_correlator_free(c);
}

static void t_pool(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: event_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {gte: 3}}\n", NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    size_t bn = (size_t)3 << 20; /* a 3 MiB group key: its own block */
    char *big = malloc(bn + 1);
    CHECK(big != NULL);
    if (!big) return;
    memset(big, 'x', bn);
    big[bn] = 0;
    static struct got a, b, c;
    pool_run(rs, &a, -1, false, big);
    pool_run(rs, &b, -1, true, big);
    pool_run(rs, &c, S(3600), false, big);
    /* each of the 97 groups: a hit every 97 s, so 3 within 10 min; and the big key's 3 hits
       lie 4000 s apart: it never fires */
    CHECK(a.n > 97);
    CHECK_INT(b.n, a.n);
    CHECK_INT(c.n, a.n);
    for (int i = 0; i < 32 && i < a.n; i++) {
        CHECK(a.time[i] == b.time[i] && a.time[i] == c.time[i]);
        CHECK_STREQ(a.group[i], b.group[i]);
        CHECK_STREQ(a.group[i], c.group[i]);
    }
    free(big);
    mh_ruleset_free(rs);
}

/* Every allocation of a run can fail: the correlator returns MH_ENOMEM (or
 * MH_ELIMIT) and frees everything (ASan's leak check), whichever
 * allocation it was -- the pool blocks, the heap, groups, the finish's sort
 * buffer. Hits with long keys so that a few hundred fill several blocks. */
static void t_alloc_failures(void)
{
    mh_ruleset *rs = with_bases("title: burst\ncorrelation: {type: value_count, rules: [failed], "
                                "group-by: [ip], timespan: 10m, condition: {field: user, gte: 2}}\n",
                                NULL, 0);
    CHECK(rs != NULL);
    if (!rs) return;
    CHECK_INT((int)rs->ncorrs, 1);
    if (rs->ncorrs != 1) {
        mh_ruleset_free(rs);
        return;
    }
    const struct mh_rule *cr = rs->rules[rs->corrs[0]];
    static char grp[6000];
    int ok = 0, nomem = 0;
    for (int64_t k = 0; k < 400 && ok < 3; k++) {
        struct got g;
        mh_correlator *c = NULL;
        struct mh_correlator_opts o = {k % 2 ? S(60) : -1, collect, &g};
        memset(&g, 0, sizeof g);
        mh_alloc_fail_after(k);
        mh_status st = mh_correlator_new(rs, &o, &c);
        for (int i = 0; i < 600 && !st; i++) {
            int t = 599 - i;
            snprintf(grp, sizeof grp, "%05d", t % 7);
            memset(grp + 5, 'g', 4000); /* 4 KB group keys: a block holds ~250 hits */
            grp[4005] = 0;
            char user[16];
            snprintf(user, sizeof user, "u%d", t % 5);
            struct mh_corr_hit h;
            memset(&h, 0, sizeof h);
            h.corr = cr->index;
            h.pos = 0;
            h.time = S(t);
            h.group = mh_slice_cstr(grp);
            h.value = mh_slice_cstr(user);
            h.ref.file = "f";
            h.ref.record = (uint64_t)t + 1;
            st = mh_correlator_feed(c, &h);
        }
        if (!st) st = mh_correlator_finish(c);
        mh_alloc_fail_after(-1);
        if (st == MH_OK) {
            ok++;
            CHECK(g.n > 0);
        } else if (st == MH_ENOMEM || st == MH_ELIMIT) {
            nomem++;
        } else {
            CHECK(!"unexpected status");
        }
        mh_correlator_free(c);
    }
    CHECK(nomem > 10);
    CHECK(ok > 0);
    mh_ruleset_free(rs);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"event_count_edges", t_event_count_edges}, {"rearm", t_rearm},
        {"value_count", t_value_count},             {"temporal", t_temporal},
        {"out_of_order", t_out_of_order},           {"caps", t_caps},
        {"idle_expiry", t_idle_expiry},             {"chain_spec_example", t_chain_spec_example},
        {"generate_and_range", t_generate_and_range}, {"sum_avg_percentile", t_sum_avg_percentile},
        {"loading", t_loading},                     {"carry_over", t_carry_over},
        {"pool", t_pool},                           {"alloc_failures", t_alloc_failures},
        {"carry_edges", t_carry_edges},
    };
    return MH_TEST_RUN(T);
}
