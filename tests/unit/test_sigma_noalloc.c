/*
 * tests/unit/test_sigma_noalloc.c -- the match stage allocates nothing per event
 *
 * match/match.c's rule: once a matcher, a normalizer and an output buffer
 * are warm, a batch loop (normalizer reset, prefilter, event, match, alert,
 * render) makes no allocation at all. The test runs every record once to
 * warm up, then again with the allocation seam set to fail the next
 * allocation (malloc, calloc and realloc alike, PCRE2's and Hyperscan's
 * included): every step must still succeed, with the same matches.
 *
 * The rules touch each value kind and modifier the walk can meet: string
 * shapes, regex (one with more groups than the regex scratch holds), cidr,
 * comparisons, time parts, fieldref, null/exists, keywords, value maps from
 * a field map, base64offset and windash; the records hold escaped strings,
 * JSON in strings and folded parameter lists.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "mailhound/limits.h"
#include "match/alert.h"
#include "match/match.h"
#include "mh_test.h"
#include "normalize/event.h"
#include "rules/ruleset.h"

static const char *RULES =
    "title: shapes\nid: r1\nlevel: high\ntags: [attack.t1, attack.t2]\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    Operation|contains: [inbox, forward]\n"
    "    Operation|startswith: New\n    Operation|endswith: Rule\n"
    "  glob: {UserId: 'a*@ex?mple.com'}\n  condition: sel and glob\n"
    "---\ntitle: regex\nid: r2\nlevel: high\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    Operation|re: '^(N)(e)(w)(-)(I)(n)(b)(o)(x)(R)(u)(l)(e)(a?)(b?)(c?)(d?)(e?)"
    "(f?)(g?)(h?)(i?)(j?)(k?)(l?)(m?)(n?)(o?)(p?)(q?)(r?)(s?)(t?)(u?)(v?)(w?)(x?)(y?)(z?)$'\n"
    "    Parameters.ForwardTo|re|i: 'EVIL\\.example$'\n  condition: sel\n"
    "---\ntitle: net\nid: r3\nlevel: medium\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    ClientIP|cidr: [10.0.0.0/8, '2001:db8::/32']\n"
    "    Count|gte: 3\n    CreationTime|hour: 12\n  condition: sel\n"
    "---\ntitle: refs\nid: r4\nlevel: low\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    UserId|fieldref: MailboxOwnerUPN\n    Missing: null\n"
    "    ClientIP|exists: true\n  kw: [needle, 'x@evil']\n  condition: sel or kw\n"
    "---\ntitle: mapped\nid: r5\nlevel: high\nlogsource: {product: m365, service: exchange}\n"
    "detection:\n  sel:\n    eventName: New-InboxRule\n    status: success\n  condition: sel\n"
    "---\ntitle: encoded\nid: r6\nlevel: low\nlogsource: {product: json}\n"
    "detection:\n  sel:\n    CommandLine|base64offset|contains: secret\n"
    "  dash:\n    CommandLine|windash|contains: ' -enc '\n  condition: sel or dash\n";

static const char *EVENTS[] = {
    "{\"Operation\":\"New-InboxRule\",\"UserId\":\"alice@example.com\",\"ClientIP\":\"10.1.1.1:443\","
    "\"Count\":4,\"CreationTime\":\"2024-01-01T12:30:00Z\",\"MailboxOwnerUPN\":\"alice@example.com\","
    "\"Parameters\":[{\"Name\":\"ForwardTo\",\"Value\":\"x@EVIL.example\"}],"
    "\"RecordType\":1,\"Workload\":\"Exchange\",\"ResultStatus\":\"True\"}",
    "{\"Type\":\"OfficeActivity\",\"TimeGenerated\":\"2024-01-01T12:00:00Z\",\"Operation\":\"Set-Mailbox\","
    "\"UserId\":\"b\\u00f6b@example.com\",\"Parameters\":\"[{\\\"Name\\\":\\\"ForwardTo\\\","
    "\\\"Value\\\":\\\"y@evil.example\\\"}]\",\"ClientIP\":\"[2001:db8::1]:80\",\"note\":\"needle\"}",
    "{\"CreationTime\":\"2024-01-01T13:00:00\",\"Operation\":\"Run\",\"CommandLine\":"
    "\"powershell /enc c2VjcmV0 -enc x\",\"UserId\":\"c@example.com\",\"Count\":\"2\"}",
    "{\"AuditData\":\"{\\\"Operation\\\":\\\"New-InboxRule\\\",\\\"RecordType\\\":1,"
    "\\\"ResultStatus\\\":\\\"Succeeded\\\",\\\"UserId\\\":\\\"d@example.com\\\"}\","
    "\"CreationDate\":\"2024-01-01T14:00:00Z\",\"RecordId\":\"r\"}",
};

#define NEV (sizeof EVENTS / sizeof EVENTS[0])

struct run {
    mh_matcher *m;
    struct mh_buf out;
    int matches;
    mh_status st;
};

static mh_status on_match(void *ctx, const struct mh_rule *r, struct mh_event *ev)
{
    struct run *x = ctx;
    struct mh_alert a;
    x->matches++;
    MH_TRY(mh_alert_from_match(x->m, r, ev, "t.jsonl", &a));
    MH_TRY(mh_alert_render(&x->out, MH_AF_JSONL, &a));
    MH_TRY(mh_alert_render(&x->out, MH_AF_CSV, &a));
    return mh_alert_render(&x->out, MH_AF_TABLE, &a);
}

/* One batch: every record through prefilter, normalizer, matcher, alerts. */
static mh_status batch(struct run *x, mh_normalizer *nz, struct mh_record *recs)
{
    mh_normalizer_reset(nz);
    mh_buf_clear(&x->out);
    for (size_t i = 0; i < NEV; i++) {
        bool any = false;
        MH_TRY(mh_match_prefilter(x->m, recs[i].json, recs[i].json_len, &any));
        struct mh_event ev;
        MH_TRY(mh_event_init(nz, &recs[i], &ev, NULL));
        MH_TRY(mh_match_event(x->m, &ev, on_match, x));
    }
    return MH_OK;
}

static void t_steady_batch_allocates_nothing(void)
{
    mh_ruleset *rs = NULL;
    mh_normalizer *nz = NULL;
    struct run x;
    memset(&x, 0, sizeof x);
    mh_buf_init(&x.out, 1u << 20);
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    CHECK_INT(mh_ruleset_new(&o, &rs, NULL), MH_OK);
    CHECK_INT(mh_ruleset_add_memory(rs, "t.yml", RULES, strlen(RULES), NULL), MH_OK);
    CHECK_INT((int)rs->stats.rejected, 0);
    CHECK_INT(mh_ruleset_compile(rs, NULL), MH_OK);
    CHECK_INT(mh_matcher_new(rs, false, &x.m), MH_OK);
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    struct mh_record recs[NEV];
    memset(recs, 0, sizeof recs);
    for (size_t i = 0; i < NEV; i++) {
        recs[i].json = recs[i].raw = EVENTS[i];
        recs[i].json_len = recs[i].raw_len = (uint32_t)strlen(EVENTS[i]);
        recs[i].number = i + 1;
    }

    CHECK_INT(batch(&x, nz, recs), MH_OK);
    int warm = x.matches;
    CHECK(warm >= 6); /* every rule matches something */
    size_t warm_len = x.out.len;

    x.matches = 0;
    mh_alloc_fail_after(0);
    mh_status st = batch(&x, nz, recs);
    mh_alloc_fail_after(-1);
    CHECK_INT(st, MH_OK);
    CHECK_INT(x.matches, warm);
    CHECK_INT(x.out.len, warm_len);

    mh_buf_fini(&x.out);
    mh_normalizer_free(nz);
    mh_matcher_free(x.m);
    mh_ruleset_free(rs);
}

/* A keyword search over an event with more leaves than MH_MAX_FIELDS_PER_EVENT
 * stops at the cap: counted in leaf_limits (hunt warns), never silent. The
 * needle is escaped so the raw-text test cannot see it; it sits past the cap. */
static void t_keyword_leaf_limit(void)
{
    static const char *KW = "title: kw\nid: k1\nlevel: low\nlogsource: {product: json}\n"
                            "detection:\n  kw: [needle]\n  condition: kw\n";
    mh_ruleset *rs = NULL;
    mh_normalizer *nz = NULL;
    struct run x;
    memset(&x, 0, sizeof x);
    mh_buf_init(&x.out, 1u << 20);
    struct mh_buf rec;
    mh_buf_init(&rec, 1u << 22);
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    CHECK_INT(mh_ruleset_new(&o, &rs, NULL), MH_OK);
    CHECK_INT(mh_ruleset_add_memory(rs, "k.yml", KW, strlen(KW), NULL), MH_OK);
    CHECK_INT(mh_ruleset_compile(rs, NULL), MH_OK);
    CHECK_INT(mh_matcher_new(rs, false, &x.m), MH_OK);
    CHECK_INT(mh_normalizer_new(&nz), MH_OK);
    for (int leaves = 10; leaves <= MH_MAX_FIELDS_PER_EVENT + 10; leaves += MH_MAX_FIELDS_PER_EVENT) {
        mh_buf_clear(&rec);
        CHECK_INT(mh_buf_append(&rec, "{\"a\":[", 6), MH_OK);
        for (int i = 0; i < leaves; i++) CHECK_INT(mh_buf_append(&rec, i ? ",0" : "0", i ? 2 : 1), MH_OK);
        static const char tail[] = "],\"z\":\"ne\\u0065dle\"}";
        CHECK_INT(mh_buf_append(&rec, tail, sizeof tail - 1), MH_OK);
        struct mh_record r;
        memset(&r, 0, sizeof r);
        r.json = r.raw = (const char *)rec.data;
        r.json_len = r.raw_len = (uint32_t)rec.len;
        r.number = 1;
        mh_normalizer_reset(nz);
        bool any = false;
        x.matches = 0;
        CHECK_INT(mh_match_prefilter(x.m, r.json, r.json_len, &any), MH_OK);
        struct mh_event ev;
        CHECK_INT(mh_event_init(nz, &r, &ev, NULL), MH_OK);
        CHECK_INT(mh_match_event(x.m, &ev, on_match, &x), MH_OK);
        bool cut = leaves > MH_MAX_FIELDS_PER_EVENT;
        CHECK_INT(x.matches, cut ? 0 : 1);
        CHECK_INT((int)mh_matcher_stats(x.m)->leaf_limits, cut ? 1 : 0);
    }
    mh_buf_fini(&rec);
    mh_buf_fini(&x.out);
    mh_normalizer_free(nz);
    mh_matcher_free(x.m);
    mh_ruleset_free(rs);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"steady_batch_allocates_nothing", t_steady_batch_allocates_nothing},
        {"keyword_leaf_limit", t_keyword_leaf_limit}};
    return MH_TEST_RUN(T);
}
