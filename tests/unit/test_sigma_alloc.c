/*
 * tests/unit/test_sigma_alloc.c -- allocation failures in the Sigma engine:
 * make the N-th allocation fail, for every N, through loading, compiling,
 * matching and correlating; expect a clean MH_ENOMEM (or success), no crash,
 * no leak (ASan's leak checker runs at exit).
 */
#include <string.h>

#include "base/alloc.h"
#include "correlate/window.h"
#include "match/match.h"
#include "mh_test.h"
#include "normalize/event.h"
#include "rules/ruleset.h"

static const char *RULES =
    "title: a\nname: a\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    Operation|contains: [inbox, forward]\n    ip|cidr: 10.0.0.0/8\n"
    "  f: {x|re: '^a+b$'}\n  kw: [needle]\n  condition: sel and not f or kw\n"
    "---\ntitle: c\ncorrelation: {type: value_count, rules: [a], group-by: [ip], timespan: 5m, "
    "condition: {field: user, gte: 2}}\n";

static const char *EVENT = "{\"Operation\":\"New-InboxRule\",\"ip\":\"10.1.1.1\",\"user\":\"u\","
                           "\"t\":\"2024-01-01T00:00:00Z\"}";

static mh_status on_alert(void *ctx, const struct mh_alert *a)
{
    (void)a;
    (*(int *)ctx)++;
    return MH_OK;
}

static mh_status on_match(void *ctx, const struct mh_rule *r, struct mh_event *ev)
{
    (void)r;
    (void)ev;
    (*(int *)ctx)++;
    return MH_OK;
}

/* The whole pipeline once; returns the first failure status. */
static mh_status pipeline(int *matches)
{
    mh_status st = MH_OK;
    mh_ruleset *rs = NULL;
    mh_matcher *m = NULL;
    mh_normalizer *nz = NULL;
    mh_correlator *c = NULL;
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    MH_CHECK(mh_ruleset_new(&o, &rs, NULL));
    MH_CHECK(mh_ruleset_add_memory(rs, "t.yml", RULES, strlen(RULES), NULL));
    if (rs->stats.rejected) {
        /* a rejection caused by a failed allocation inside the loader */
        st = MH_ENOMEM;
        goto out;
    }
    MH_CHECK(mh_ruleset_compile(rs, NULL));
    MH_CHECK(mh_matcher_new(rs, false, &m));
    MH_CHECK(mh_normalizer_new(&nz));
    int alerts = 0;
    struct mh_correlator_opts co = {-1, on_alert, &alerts};
    MH_CHECK(mh_correlator_new(rs, &co, &c));
    struct mh_record rec;
    memset(&rec, 0, sizeof rec);
    rec.json = EVENT;
    rec.json_len = (uint32_t)strlen(EVENT);
    bool any = false;
    MH_CHECK(mh_match_prefilter(m, rec.json, rec.json_len, &any));
    struct mh_event ev;
    MH_CHECK(mh_event_init(nz, &rec, &ev, NULL));
    MH_CHECK(mh_match_event(m, &ev, on_match, matches));
    struct mh_corr_hit h;
    memset(&h, 0, sizeof h);
    h.corr = rs->corrs[0];
    h.time = 1;
    h.group = mh_slice_cstr("10.1.1.1");
    h.value = mh_slice_cstr("u1");
    MH_CHECK(mh_correlator_feed(c, &h));
    h.value = mh_slice_cstr("u2");
    h.time = 2;
    MH_CHECK(mh_correlator_feed(c, &h));
    MH_CHECK(mh_correlator_finish(c));
    if (alerts != 1) st = MH_EINVAL;
out:
    mh_correlator_free(c);
    mh_normalizer_free(nz);
    mh_matcher_free(m);
    mh_ruleset_free(rs);
    return st;
}

static void t_every_allocation(void)
{
    int matches = 0;
    CHECK_INT(pipeline(&matches), MH_OK);
    CHECK_INT(matches, 1);
    int ok = 0, fails = 0, bad = 0;
    for (int64_t k = 0; k < 20000 && !ok; k++) {
        matches = 0;
        mh_alloc_fail_after(k);
        mh_status st = pipeline(&matches);
        mh_alloc_fail_after(-1);
        if (st == MH_OK) ok = 1;
        else if (st == MH_ENOMEM || st == MH_ELIMIT) fails++;
        else {
            bad++;
            fprintf(stderr, "allocation %lld failed: status %s\n", (long long)k, mh_status_str(st));
        }
    }
    CHECK(ok);
    CHECK_INT(bad, 0);
    CHECK(fails > 50);
    printf("pipeline survived %d injected allocation failures\n", fails);
}

int main(void)
{
    static const struct mh_test T[] = {{"every_allocation", t_every_allocation}};
    return MH_TEST_RUN(T);
}
