/*
 * fuzz/fuzz_sigma_diff.c -- differential: fast path (literal prefilter + fast
 * matchers) == reference path (no prefilter, PCRE2 for every string) on
 * fuzzed rules and events.
 *
 * The input drives a small generator so that rules and events share fields
 * and values (a random YAML rule would almost never match anything):
 *   - one rule with 1..3 identifiers, each 1..3 items: a field from a small
 *     set, a modifier chain from the full list (contains, startswith,
 *     endswith, all, re(+i), cased, cidr, gt/lt, neq, exists, windash,
 *     base64offset, utf16, keywords ...), 1..3 values over an alphabet with
 *     wildcards, escapes, `/`, quotes and non-ASCII; a condition shape from
 *     a list (and, or, not, 1 of, all of, parentheses);
 *   - events: JSON objects over the same fields, with strings, numbers,
 *     arrays, Name/Value lists and JSON-in-string values, whose text may use
 *     JSON escapes (\u0041, \/, \") that hide characters from the raw text.
 * Invariant: for every event, the rule matches on the fast path exactly when
 * it matches on the reference path (abort otherwise). A rule the loader
 * rejects is skipped.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "match/match.h"
#include "normalize/event.h"
#include "rules/ruleset.h"

struct rd {
    const uint8_t *p;
    size_t n, i;
};

static unsigned pick(struct rd *r, unsigned n)
{
    if (!n) return 0;
    unsigned v = r->i < r->n ? r->p[r->i++] : 0;
    return v % n;
}

static const char *const FIELDS[] = {"a", "b", "c.d", "Parameters.ForwardTo", "ip", "n"};
static const char *const MODS[] = {
    "", "|contains", "|startswith", "|endswith", "|contains|all", "|cased", "|contains|cased",
    "|re", "|re|i", "|cidr", "|gt", "|lte", "|neq", "|contains|neq", "|exists",
    "|windash|contains", "|base64offset|contains", "|utf16le|base64|contains", "|base64|contains",
    "|endswith|windash", "|startswith|cased"};
static const char *const ALPHA[] = {"a", "A", "b", "B", "\xc3\xa9", "\xc3\x89", "*", "?", "\\", "-",
                                    "/", " ", "1", "0", ".", ":", "k", "K", "\xe2\x84\xaa", "x@y",
                                    "10.0.0.0/8", "'", "\"", "+", "inbox"};
static const char *const EVALS[] = {"a", "A", "b", "\\u0041", "\\/", "\\\"", "\\\\", "\xc3\xa9",
                                    "\xc3\x89", "-", "/", " ", "1", "0", ".", ":", "k", "\xe2\x84\xaa",
                                    "x@y", "10.1.2.3", "\\u00e9", "inbox", "\xe2\x80\x93", "\\u002B", "+"};
static const char *const CONDS[] = {"s0", "s0 and s1", "s0 or s1", "not s0", "s0 and not s1",
                                    "1 of s*", "all of s*", "(s0 or s1) and not s2", "not (s0 and s1)",
                                    "s0 and (s1 or s2)"};

static int yq(struct mh_buf *b, const char *s)
{
    /* YAML single-quoted scalar */
    int st = mh_buf_putc(b, '\'');
    for (; *s && !st; s++) st = *s == '\'' ? mh_buf_puts(b, "''") : mh_buf_putc(b, *s);
    return st ? st : mh_buf_putc(b, '\'');
}

static void gen_value(struct rd *r, char *out, size_t cap, const char *const *alpha, unsigned na)
{
    unsigned len = 1 + pick(r, 5);
    size_t w = 0;
    out[0] = 0;
    for (unsigned i = 0; i < len; i++) {
        const char *s = alpha[pick(r, na)];
        size_t l = strlen(s);
        if (w + l + 1 >= cap) break;
        memcpy(out + w, s, l + 1);
        w += l;
    }
}

static int gen_rule(struct rd *r, struct mh_buf *b)
{
    int st = mh_buf_puts(b, "title: fuzz\nlogsource: {product: json}\ndetection:\n");
    unsigned nd = 1 + pick(r, 3);
    for (unsigned d = 0; d < nd && !st; d++) {
        st = mh_buf_printf(b, "  s%u:\n", d);
        if (pick(r, 6) == 0) { /* keyword list */
            char v[64];
            gen_value(r, v, sizeof v, ALPHA, sizeof ALPHA / sizeof *ALPHA);
            st = st ? st : mh_buf_puts(b, "    - ");
            st = st ? st : yq(b, v);
            st = st ? st : mh_buf_putc(b, '\n');
            continue;
        }
        unsigned ni = 1 + pick(r, 3);
        for (unsigned i = 0; i < ni && !st; i++) {
            const char *mod = MODS[pick(r, sizeof MODS / sizeof *MODS)];
            st = mh_buf_printf(b, "    '%s%s':", FIELDS[pick(r, sizeof FIELDS / sizeof *FIELDS)], mod);
            unsigned nv = 1 + pick(r, 3);
            bool num = strstr(mod, "gt") || strstr(mod, "lte");
            bool ex = strstr(mod, "exists") != NULL;
            for (unsigned v = 0; v < nv && !st; v++) {
                char val[64];
                if (ex) snprintf(val, sizeof val, "%s", pick(r, 2) ? "true" : "false");
                else if (num) snprintf(val, sizeof val, "%d", (int)pick(r, 200) - 50);
                else if (pick(r, 8) == 0) snprintf(val, sizeof val, "%u", pick(r, 20));
                else gen_value(r, val, sizeof val, ALPHA, sizeof ALPHA / sizeof *ALPHA);
                st = mh_buf_puts(b, "\n      - ");
                if (!st) st = (ex || num) ? mh_buf_puts(b, val) : yq(b, val);
            }
            st = st ? st : mh_buf_putc(b, '\n');
        }
    }
    const char *c = CONDS[pick(r, sizeof CONDS / sizeof *CONDS)];
    return st ? st : mh_buf_printf(b, "  condition: '%s'\n", c);
}

static int gen_json_string(struct rd *r, struct mh_buf *b)
{
    char v[96];
    gen_value(r, v, sizeof v, EVALS, sizeof EVALS / sizeof *EVALS);
    /* EVALS are already JSON-escaped fragments; raw '"' and '\\' never appear alone */
    return mh_buf_printf(b, "\"%s\"", v);
}

static int gen_value_json(struct rd *r, struct mh_buf *b, int depth)
{
    switch (pick(r, depth < 2 ? 6 : 3)) {
    case 0: return mh_buf_printf(b, "%d", (int)pick(r, 200) - 50);
    case 1:
    case 2: return gen_json_string(r, b);
    case 3: {
        int st = mh_buf_putc(b, '[');
        unsigned n = pick(r, 3);
        for (unsigned i = 0; i < n && !st; i++) {
            if (i) st = mh_buf_putc(b, ',');
            if (!st) st = gen_value_json(r, b, depth + 1);
        }
        return st ? st : mh_buf_putc(b, ']');
    }
    case 4: { /* Name/Value list */
        char v[96];
        gen_value(r, v, sizeof v, EVALS, sizeof EVALS / sizeof *EVALS);
        return mh_buf_printf(b, "[{\"Name\":\"ForwardTo\",\"Value\":\"%s\"}]", v);
    }
    default: /* JSON in a string */
        return mh_buf_puts(b, "\"{\\\"d\\\":\\\"a-b\\\",\\\"ForwardTo\\\":\\\"x@y\\\"}\"");
    }
}

static int gen_event(struct rd *r, struct mh_buf *b)
{
    int st = mh_buf_putc(b, '{');
    unsigned n = pick(r, 5);
    static const char *const keys[] = {"a", "b", "c", "Parameters", "ip", "n", "c.d"};
    for (unsigned i = 0; i < n && !st; i++) {
        if (i) st = mh_buf_putc(b, ',');
        const char *k = keys[pick(r, sizeof keys / sizeof *keys)];
        if (!st) st = mh_buf_printf(b, "\"%s\":", k);
        if (!st && strcmp(k, "c") == 0) {
            st = mh_buf_puts(b, "{\"d\":");
            if (!st) st = gen_value_json(r, b, 1);
            if (!st) st = mh_buf_putc(b, '}');
        } else if (!st) {
            st = gen_value_json(r, b, 0);
        }
    }
    return st ? st : mh_buf_putc(b, '}');
}

struct hit {
    bool hit;
};

static mh_status on_match(void *ctx, const struct mh_rule *r, struct mh_event *ev)
{
    (void)r;
    (void)ev;
    ((struct hit *)ctx)->hit = true;
    return MH_OK;
}

static int run(const mh_ruleset *rs, mh_matcher *m, mh_normalizer *nz, const char *json, size_t n)
{
    struct mh_record rec;
    memset(&rec, 0, sizeof rec);
    rec.json = json;
    rec.json_len = (uint32_t)n;
    bool any = false;
    if (mh_match_prefilter(m, json, n, &any) != MH_OK) return -1;
    if (!any) return 0;
    struct mh_event ev;
    if (mh_event_init(nz, &rec, &ev, NULL) != MH_OK) return -2;
    struct hit h = {false};
    (void)rs;
    if (mh_match_event(m, &ev, on_match, &h) != MH_OK) return -1;
    return h.hit;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rd r = {data, size, 0};
    struct mh_buf rule, ev;
    mh_buf_init(&rule, 1u << 20);
    mh_buf_init(&ev, 1u << 20);
    if (gen_rule(&r, &rule) != MH_OK) goto out;
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = "rules/fieldmaps";
    mh_ruleset *rs = NULL;
    if (mh_ruleset_new(&o, &rs, NULL) != MH_OK) goto out;
    if (mh_ruleset_add_memory(rs, "diff.yml", rule.data, rule.len, NULL) == MH_OK &&
        rs->stats.loaded == 1 && mh_ruleset_compile(rs, NULL) == MH_OK) {
        mh_normalizer *nz = NULL;
        mh_matcher *fast = NULL, *ref = NULL;
        if (mh_normalizer_new(&nz) == MH_OK && mh_matcher_new(rs, false, &fast) == MH_OK &&
            mh_matcher_new(rs, true, &ref) == MH_OK) {
            for (int e = 0; e < 4; e++) {
                mh_buf_clear(&ev);
                if (gen_event(&r, &ev) != MH_OK) break;
                int a = run(rs, fast, nz, ev.data, ev.len);
                int b = run(rs, ref, nz, ev.data, ev.len);
                if (a == -2 && b == 0) a = 0; /* unparsed: the prefilter skipped it */
                if (a != b && !(a == 0 && b == -2)) {
                    fprintf(stderr, "fast %d != reference %d\nrule:\n%s\nevent: %s\n", a, b, rule.data, ev.data);
                    abort();
                }
                mh_normalizer_reset(nz);
            }
        }
        mh_matcher_free(ref);
        mh_matcher_free(fast);
        mh_normalizer_free(nz);
    }
    mh_ruleset_free(rs);
out:
    mh_buf_fini(&ev);
    mh_buf_fini(&rule);
    return 0;
}
