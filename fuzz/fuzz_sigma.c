/*
 * fuzz/fuzz_sigma.c -- the Sigma rule loader and compiler on arbitrary YAML
 *
 * Input: a rule file (any bytes). Invariants:
 *   - loading never crashes, leaks or reads out of bounds (ASan/UBSan);
 *   - every non-empty YAML document yields exactly one LOADED or REJECTED
 *     note, and a YAML syntax error one REJECTED note;
 *   - compile succeeds (rule problems are notes, not failures), then every
 *     loaded rule can be explained and evaluated against a few events.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "match/match.h"
#include "normalize/event.h"
#include "rules/explain.h"
#include "rules/ruleset.h"

struct counts {
    unsigned loaded, rejected;
};

static void note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    (void)r;
    (void)e;
    struct counts *c = ctx;
    if (k == MH_NOTE_LOADED) c->loaded++;
    if (k == MH_NOTE_REJECTED) c->rejected++;
}

static const char *const events[] = {
    "{\"Operation\":\"New-InboxRule\",\"Parameters\":[{\"Name\":\"ForwardTo\",\"Value\":\"x@y\"}]}",
    "{\"a\":1,\"b\":\"text\",\"c\":{\"d\":[1,\"two\",null]},\"t\":\"2024-01-02T03:04:05Z\"}",
    ("{\"RecordType\":15,\"Operation\":\"UserLoginFailed\",\"CreationTime\":\"2023-07-23T12:13:33\","
     "\"Workload\":\"AzureActiveDirectory\",\"ClientIP\":\"10.1.2.3\",\"UserId\":\"u@x\"}"),
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct counts c = {0, 0};
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    o.expand_dir = "tests/data/sigma/expand";
    o.on_note = note;
    o.ctx = &c;
    mh_ruleset *rs = NULL;
    if (mh_ruleset_new(&o, &rs, NULL) != MH_OK) return 0;
    if (mh_ruleset_add_memory(rs, "fuzz.yml", (const char *)data, size, NULL) != MH_OK) abort();
    if (c.loaded + c.rejected != rs->stats.loaded + rs->stats.rejected) abort();
    if (c.loaded != rs->stats.loaded) abort();
    if (mh_ruleset_compile(rs, NULL) != MH_OK) {
        mh_ruleset_free(rs);
        return 0; /* only resource failures end here */
    }
    struct mh_buf b;
    mh_buf_init(&b, 1u << 24);
    for (size_t i = 0; i < rs->nrules; i++) {
        mh_buf_clear(&b);
        if (mh_rule_explain(rs, rs->rules[i], &b) != MH_OK) abort();
    }
    mh_buf_fini(&b);
    mh_normalizer *nz = NULL;
    mh_matcher *m = NULL;
    if (mh_normalizer_new(&nz) == MH_OK && mh_matcher_new(rs, false, &m) == MH_OK) {
        for (size_t e = 0; e < sizeof events / sizeof events[0]; e++) {
            struct mh_record rec;
            memset(&rec, 0, sizeof rec);
            rec.json = events[e];
            rec.json_len = (uint32_t)strlen(events[e]);
            struct mh_event ev;
            if (mh_event_init(nz, &rec, &ev, NULL) != MH_OK) continue;
            for (size_t i = 0; i < rs->nrules; i++) {
                bool ok;
                (void)mh_match_rule(m, rs->rules[i], &ev, &ok);
            }
        }
    }
    mh_matcher_free(m);
    mh_normalizer_free(nz);
    mh_ruleset_free(rs);
    return 0;
}
