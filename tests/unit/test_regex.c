/*
 * tests/unit/test_regex.c -- the PCRE2 adapter (src/rules/regex.h)
 */
#include <pthread.h>
#include <stdint.h>
#include <string.h>

#include "base/alloc.h"
#include "mh_test.h"
#include "rules/regex.h"

static bool run(const char *pat, unsigned flags, const char *subj)
{
    struct mh_regex *re = NULL;
    struct mh_regex_scratch *s = NULL;
    bool m = false;
    mh_error err = {0};
    CHECK_INT(mh_regex_compile(pat, strlen(pat), flags, &re, &err), MH_OK);
    CHECK_INT(mh_regex_scratch_new(&s), MH_OK);
    if (re && s) CHECK_INT(mh_regex_exec(re, s, subj, strlen(subj), 0, NULL, 0, &m), MH_OK);
    mh_regex_scratch_free(s);
    mh_regex_free(re);
    return m;
}

static void t_table(void)
{
    static const struct {
        const char *pat;
        unsigned flags;
        const char *subj;
        bool want;
    } T[] = {
        {"abc", 0, "xxabcxx", true},
        {"abc", 0, "xxABCxx", false},
        {"abc", MH_RE_CASELESS, "xxABCxx", true},
        {"^b$", 0, "a\nb\nc", false},
        {"^b$", MH_RE_MULTILINE, "a\nb\nc", true},
        {"a.c", 0, "a\nc", false},
        {"a.c", MH_RE_DOTALL, "a\nc", true},
        {"caf\xc3\xa9", MH_RE_CASELESS, "CAF\xc3\x89", true}, /* UTF-8 case folding */
        {"^.$", 0, "\xc3\xa9", true},                         /* one code point */
        {"b", 0, "a\xff\xfe" "b", true},                      /* invalid UTF-8 subject */
        {"\\d{3}-\\d{4}", 0, "call 555-1234", true},
        {"\\d{3}-\\d{4}", 0, "call 55-1234", false},
        {"", 0, "", true},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        bool got = run(T[i].pat, T[i].flags, T[i].subj);
        if (got != T[i].want) fprintf(stderr, "case %zu: /%s/ on \"%s\"\n", i, T[i].pat, T[i].subj);
        CHECK(got == T[i].want);
    }
}

static void t_groups(void)
{
    struct mh_regex *re = NULL;
    struct mh_regex_scratch *s = NULL;
    struct mh_span g[4];
    bool m = false;
    CHECK_INT(mh_regex_compile("a(b+)(x)?(c)", 12, MH_RE_CASELESS, &re, NULL), MH_OK);
    CHECK_INT(mh_regex_groups(re), 3);
    CHECK_INT(mh_regex_scratch_new(&s), MH_OK);
    CHECK_INT(mh_regex_exec(re, s, "zzABBc", 6, 0, g, 4, &m), MH_OK);
    CHECK(m);
    CHECK_INT(g[0].start, 2);
    CHECK_INT(g[0].end, 6);
    CHECK_INT(g[1].start, 3);
    CHECK_INT(g[1].end, 5);
    CHECK(g[2].start == SIZE_MAX && g[2].end == SIZE_MAX);
    CHECK_INT(g[3].start, 5);
    /* start offset: search from byte 3 finds nothing */
    CHECK_INT(mh_regex_exec(re, s, "zzABBc", 6, 3, g, 4, &m), MH_OK);
    CHECK(!m);
    CHECK_INT(mh_regex_exec(re, s, "zzABBc", 6, 7, g, 4, &m), MH_EINVAL);
    /* NULL subject with zero length */
    CHECK_INT(mh_regex_exec(re, s, NULL, 0, 0, NULL, 0, &m), MH_OK);
    CHECK(!m);
    mh_regex_scratch_free(s);
    mh_regex_free(re);
}

static void t_many_groups(void)
{
    /* more groups than the scratch's initial ovector */
    char pat[400];
    size_t n = 0;
    for (int i = 0; i < 40; i++) n += (size_t)snprintf(pat + n, sizeof pat - n, "(a)");
    struct mh_regex *re = NULL;
    struct mh_regex_scratch *s = NULL;
    struct mh_span g[41];
    bool m = false;
    char subj[41];
    memset(subj, 'a', 40);
    subj[40] = 0;
    CHECK_INT(mh_regex_compile(pat, n, 0, &re, NULL), MH_OK);
    CHECK_INT(mh_regex_groups(re), 40);
    CHECK_INT(mh_regex_scratch_new(&s), MH_OK);
    CHECK_INT(mh_regex_exec(re, s, subj, 40, 0, g, 41, &m), MH_OK);
    CHECK(m);
    CHECK_INT(g[40].start, 39);
    CHECK_INT(g[40].end, 40);
    mh_regex_scratch_free(s);
    mh_regex_free(re);
}

static void t_nul_bytes(void)
{
    struct mh_regex *re = NULL;
    struct mh_regex_scratch *s = NULL;
    bool m = false;
    CHECK_INT(mh_regex_compile("a\0b", 3, 0, &re, NULL), MH_OK);
    CHECK_INT(mh_regex_scratch_new(&s), MH_OK);
    CHECK_INT(mh_regex_exec(re, s, "xa\0b", 4, 0, NULL, 0, &m), MH_OK);
    CHECK(m);
    CHECK_INT(mh_regex_exec(re, s, "xab", 3, 0, NULL, 0, &m), MH_OK);
    CHECK(!m);
    mh_regex_scratch_free(s);
    mh_regex_free(re);
}

static void t_errors(void)
{
    struct mh_regex *re = NULL;
    mh_error err = {0};
    CHECK_INT(mh_regex_compile("ab(c", 4, 0, &re, &err), MH_EPARSE);
    CHECK(re == NULL);
    CHECK_INT(err.column, 5);
    CHECK(strstr(err.detail, "missing closing parenthesis") != NULL);
    mh_error_clear(&err);
    CHECK_INT(mh_regex_compile("a[z-a]", 6, 0, &re, &err), MH_EPARSE);
    CHECK_INT(err.column, 5); /* PCRE2 points at the range end */
    mh_error_clear(&err);
    CHECK_INT(mh_regex_compile("x", 70000, 0, &re, &err), MH_ELIMIT);
}

static void t_limit(void)
{
    /* catastrophic backtracking: (a+)+$ on aaaa...b */
    struct mh_regex *re = NULL;
    struct mh_regex_scratch *s = NULL;
    bool m = true;
    char subj[64];
    memset(subj, 'a', 40);
    subj[40] = 'b';
    CHECK_INT(mh_regex_compile("(a+)+$", 6, 0, &re, NULL), MH_OK);
    CHECK_INT(mh_regex_scratch_new(&s), MH_OK);
    CHECK_INT(mh_regex_exec(re, s, subj, 41, 0, NULL, 0, &m), MH_ELIMIT);
    mh_regex_scratch_free(s);
    mh_regex_free(re);
}

struct thr {
    const struct mh_regex *re;
    int hits;
};

static void *thr_main(void *p)
{
    struct thr *t = p;
    struct mh_regex_scratch *s = NULL;
    if (mh_regex_scratch_new(&s) != MH_OK) return NULL;
    char buf[64];
    for (int i = 0; i < 2000; i++) {
        int n = snprintf(buf, sizeof buf, "user%d@contoso.com", i);
        bool m = false;
        if (mh_regex_exec(t->re, s, buf, (size_t)n, 0, NULL, 0, &m) == MH_OK && m) t->hits++;
    }
    mh_regex_scratch_free(s);
    return NULL;
}

static void t_threads(void)
{
    struct mh_regex *re = NULL;
    CHECK_INT(mh_regex_compile("user\\d*7@CONTOSO", 16, MH_RE_CASELESS, &re, NULL), MH_OK);
    pthread_t th[4];
    struct thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){re, 0};
        CHECK_INT(pthread_create(&th[i], NULL, thr_main, &t[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_INT(t[i].hits, 200);
    }
    mh_regex_free(re);
}

static void t_alloc_failure(void)
{
    /* Make each allocation fail in turn: clean MH_ENOMEM, never a crash. */
    int ok = 0;
    for (int64_t k = 0; k < 64 && !ok; k++) {
        struct mh_regex *re = NULL;
        struct mh_regex_scratch *s = NULL;
        mh_alloc_fail_after(k);
        mh_status a = mh_regex_compile("(x+)y", 5, 0, &re, NULL);
        mh_status b = mh_regex_scratch_new(&s);
        mh_alloc_fail_after(-1);
        if (a != MH_OK && a != MH_ENOMEM) fprintf(stderr, "k=%lld a=%d\n", (long long)k, a);
        CHECK(a == MH_OK || a == MH_ENOMEM);
        CHECK(b == MH_OK || b == MH_ENOMEM);
        CHECK((a == MH_OK) == (re != NULL));
        CHECK((b == MH_OK) == (s != NULL));
        if (a == MH_OK && b == MH_OK) {
            bool m = false;
            CHECK_INT(mh_regex_exec(re, s, "axxy", 4, 0, NULL, 0, &m), MH_OK);
            CHECK(m);
            ok = 1;
        }
        mh_regex_scratch_free(s);
        mh_regex_free(re);
    }
    CHECK(ok);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"table", t_table},         {"groups", t_groups}, {"many_groups", t_many_groups},
        {"nul_bytes", t_nul_bytes}, {"errors", t_errors}, {"limit", t_limit},
        {"threads", t_threads},     {"alloc_failure", t_alloc_failure},
    };
    return MH_TEST_RUN(T);
}
