/*
 * tests/unit/test_multimatch.c -- the Hyperscan adapter (src/rules/multimatch.h)
 */
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "mh_test.h"
#include "rules/multimatch.h"

#define MAXHITS 64
struct hits {
    int n;
    unsigned id[MAXHITS];
    uint64_t from[MAXHITS], to[MAXHITS];
    int stop_after; /* 0 = never */
};

static int collect(void *ctx, unsigned id, uint64_t from, uint64_t to)
{
    struct hits *h = ctx;
    if (h->n < MAXHITS) {
        h->id[h->n] = id;
        h->from[h->n] = from;
        h->to[h->n] = to;
    }
    h->n++;
    return h->stop_after && h->n >= h->stop_after;
}

static int has(const struct hits *h, unsigned id, uint64_t from, uint64_t to)
{
    int c = 0;
    for (int i = 0; i < h->n && i < MAXHITS; i++)
        c += h->id[i] == id && h->from[i] == from && h->to[i] == to;
    return c;
}

static void scan(const struct mh_mm_pattern *p, size_t n, const char *data, size_t len,
                 struct hits *h)
{
    struct mh_mm_db *db = NULL;
    struct mh_mm_scratch *s = NULL;
    size_t bad = 99;
    mh_error err = {0};
    CHECK_INT(mh_mm_compile(p, n, &db, &bad, &err), MH_OK);
    CHECK_INT(mh_mm_count(db), n);
    CHECK_INT(mh_mm_scratch_alloc(db, &s), MH_OK);
    if (db && s) CHECK_INT(mh_mm_scan(db, s, data, len, collect, h), MH_OK);
    mh_mm_scratch_free(s);
    mh_mm_free(db);
}

static void t_mixed(void)
{
    const struct mh_mm_pattern p[] = {
        {"Inbox", 5, 7, MH_MM_LITERAL | MH_MM_CASELESS},
        {"a[0-9]+z", 8, 9, MH_MM_SOM},
        {"New-InboxRule", 13, 11, MH_MM_LITERAL},
        {"x.y", 3, 12, MH_MM_DOTALL | MH_MM_SINGLEMATCH},
    };
    struct hits h = {0};
    const char *d = "x INBOX a12z New-InboxRule x\ny x-y";
    scan(p, 4, d, strlen(d), &h);
    CHECK_INT(has(&h, 7, 2, 7), 1);   /* INBOX, caseless */
    CHECK_INT(has(&h, 7, 17, 22), 1); /* Inbox inside New-InboxRule */
    CHECK_INT(has(&h, 9, 8, 12), 1);  /* regex with start of match */
    CHECK_INT(has(&h, 11, 13, 26), 1);
    int n12 = 0;
    for (int i = 0; i < h.n; i++) n12 += h.id[i] == 12;
    CHECK_INT(n12, 1); /* single match */
    CHECK_INT(h.n, 5);
}

static void t_case_and_nul(void)
{
    const struct mh_mm_pattern p[] = {
        {"abc", 3, 1, MH_MM_LITERAL},
        {"a\0b", 3, 2, MH_MM_LITERAL},
        {"q\0r", 3, 3, 0}, /* regex with a NUL byte */
    };
    struct hits h = {0};
    scan(p, 3, "ABC abc a\0b q\0r", 15, &h);
    CHECK_INT(has(&h, 1, 4, 7), 1);
    CHECK_INT(has(&h, 1, 0, 3), 0);
    CHECK_INT(has(&h, 2, 8, 11), 1);
    int n3 = 0;
    for (int i = 0; i < h.n; i++) n3 += h.id[i] == 3 && h.to[i] == 15;
    CHECK_INT(n3, 1);
}

static void t_stop(void)
{
    const struct mh_mm_pattern p[] = {{"a", 1, 1, MH_MM_LITERAL}, {"b+", 2, 2, 0}};
    struct hits h = {0};
    h.stop_after = 2;
    scan(p, 2, "aaaaabbbb", 9, &h);
    CHECK_INT(h.n, 2);
}

static void t_unsupported(void)
{
    const struct mh_mm_pattern p[] = {
        {"ok", 2, 1, MH_MM_LITERAL},
        {"fine[0-9]", 9, 2, 0},
        {"(a)\\1", 5, 3, 0}, /* backreference: Hyperscan cannot do it exactly */
    };
    struct mh_mm_db *db = NULL;
    size_t bad = 99;
    mh_error err = {0};
    CHECK_INT(mh_mm_compile(p, 3, &db, &bad, &err), MH_EUNSUPPORTED);
    CHECK(db == NULL);
    CHECK_INT(bad, 2);
    CHECK(err.detail[0] != '\0');
    /* retry in prefilter mode: a superset that still matches "aa" */
    struct mh_mm_pattern q[3];
    memcpy(q, p, sizeof q);
    q[2].flags |= MH_MM_PREFILTER;
    struct hits h = {0};
    scan(q, 3, "zz aa", 5, &h);
    int n3 = 0;
    for (int i = 0; i < h.n; i++) n3 += h.id[i] == 3;
    CHECK(n3 >= 1);
    /* syntax error: rejected with the right index */
    const struct mh_mm_pattern r[] = {{"x", 1, 1, 0}, {"y(", 2, 2, 0}};
    bad = 99;
    CHECK_INT(mh_mm_compile(r, 2, &db, &bad, &err), MH_EUNSUPPORTED);
    CHECK_INT(bad, 1);
    /* an empty literal is rejected with its index too */
    const struct mh_mm_pattern e[] = {{"x", 1, 1, MH_MM_LITERAL}, {"", 0, 2, MH_MM_LITERAL}};
    bad = 99;
    mh_status st = mh_mm_compile(e, 2, &db, &bad, &err);
    CHECK_INT(st, MH_EUNSUPPORTED);
    CHECK_INT(bad, 1);
}

static void t_empty(void)
{
    struct mh_mm_db *db = NULL;
    struct mh_mm_scratch *s = NULL;
    struct hits h = {0};
    CHECK_INT(mh_mm_compile(NULL, 0, &db, NULL, NULL), MH_OK);
    CHECK_INT(mh_mm_scratch_alloc(db, &s), MH_OK);
    CHECK_INT(mh_mm_scan(db, s, "abc", 3, collect, &h), MH_OK);
    CHECK_INT(h.n, 0);
    CHECK_INT(mh_mm_bytes(db), 0);
    mh_mm_scratch_free(s);
    mh_mm_free(db);
}

static void t_scratch_grow(void)
{
    /* one scratch serves two databases once grown for both */
    const struct mh_mm_pattern a[] = {{"alpha", 5, 1, MH_MM_LITERAL}};
    const struct mh_mm_pattern b[] = {{"be+ta", 5, 2, 0}, {"gamma", 5, 3, MH_MM_LITERAL}};
    struct mh_mm_db *da = NULL, *dbb = NULL;
    struct mh_mm_scratch *s = NULL;
    CHECK_INT(mh_mm_compile(a, 1, &da, NULL, NULL), MH_OK);
    CHECK_INT(mh_mm_compile(b, 2, &dbb, NULL, NULL), MH_OK);
    CHECK_INT(mh_mm_scratch_alloc(da, &s), MH_OK);
    CHECK_INT(mh_mm_scratch_alloc(dbb, &s), MH_OK);
    CHECK(mh_mm_bytes(dbb) > 0);
    struct hits h1 = {0}, h2 = {0};
    CHECK_INT(mh_mm_scan(da, s, "alpha beeta gamma", 17, collect, &h1), MH_OK);
    CHECK_INT(mh_mm_scan(dbb, s, "alpha beeta gamma", 17, collect, &h2), MH_OK);
    CHECK_INT(h1.n, 1);
    CHECK_INT(h2.n, 2);
    CHECK_INT(has(&h2, 3, 12, 17), 1);
    mh_mm_scratch_free(s);
    mh_mm_free(dbb);
    mh_mm_free(da);
}

static void t_alloc_failure(void)
{
    const struct mh_mm_pattern p[] = {{"lit", 3, 1, MH_MM_LITERAL}, {"re+x", 4, 2, 0}};
    int ok = 0;
    for (int64_t k = 0; k < 200 && !ok; k++) {
        struct mh_mm_db *db = NULL;
        struct mh_mm_scratch *s = NULL;
        mh_alloc_fail_after(k);
        mh_status a = mh_mm_compile(p, 2, &db, NULL, NULL);
        mh_status b = a == MH_OK ? mh_mm_scratch_alloc(db, &s) : MH_ENOMEM;
        mh_alloc_fail_after(-1);
        CHECK(a == MH_OK || a == MH_ENOMEM);
        CHECK(b == MH_OK || b == MH_ENOMEM);
        CHECK((a == MH_OK) == (db != NULL));
        if (a == MH_OK && b == MH_OK) {
            struct hits h = {0};
            CHECK_INT(mh_mm_scan(db, s, "lit reex", 8, collect, &h), MH_OK);
            CHECK_INT(h.n, 2);
            ok = 1;
        }
        mh_mm_scratch_free(s);
        mh_mm_free(db);
    }
    CHECK(ok);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"mixed", t_mixed},
        {"case_and_nul", t_case_and_nul},
        {"stop", t_stop},
        {"unsupported", t_unsupported},
        {"empty", t_empty},
        {"scratch_grow", t_scratch_grow},
        {"alloc_failure", t_alloc_failure},
    };
    return MH_TEST_RUN(T);
}
