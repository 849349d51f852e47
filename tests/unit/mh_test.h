/*
 * tests/unit/mh_test.h -- the unit-test harness (header only)
 *
 * A test file lists its cases and calls mh_test_main:
 *
 *   static void t_parse(void) { CHECK(x == 1); CHECK_STREQ(s, "a"); }
 *   int main(void) { static const struct mh_test T[] = {{"parse", t_parse}};
 *                    return MH_TEST_RUN(T); }
 *
 * Every CHECK counts; a failing one prints file:line and the expression and
 * the case goes on. The last line is "N passed, N failed" (checks).
 */
#ifndef MH_TEST_H
#define MH_TEST_H

#include <stdio.h>
#include <string.h>

struct mh_test {
    const char *name;
    void (*fn)(void);
};

static int mh_test_pass, mh_test_fail;
static const char *mh_test_current;

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (cond) mh_test_pass++;                                                                  \
        else {                                                                                     \
            mh_test_fail++;                                                                        \
            fprintf(stderr, "%s:%d: [%s] CHECK failed: %s\n", __FILE__, __LINE__,                  \
                    mh_test_current, #cond);                                                       \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b)                                                                            \
    do {                                                                                           \
        long long a_ = (long long)(a), b_ = (long long)(b);                                        \
        if (a_ == b_) mh_test_pass++;                                                              \
        else {                                                                                     \
            mh_test_fail++;                                                                        \
            fprintf(stderr, "%s:%d: [%s] %s == %lld, expected %lld\n", __FILE__, __LINE__,         \
                    mh_test_current, #a, a_, b_);                                                  \
        }                                                                                          \
    } while (0)

#define CHECK_MEM(p, n, s)                                                                         \
    do {                                                                                           \
        const char *p_ = (const char *)(p);                                                        \
        size_t n_ = (size_t)(n);                                                                   \
        const char *s_ = (s);                                                                      \
        if (p_ && n_ == strlen(s_) && memcmp(p_, s_, n_) == 0) mh_test_pass++;                     \
        else {                                                                                     \
            mh_test_fail++;                                                                        \
            fprintf(stderr, "%s:%d: [%s] %s is \"%.*s\", expected \"%s\"\n", __FILE__, __LINE__,   \
                    mh_test_current, #p, p_ ? (int)n_ : 6, p_ ? p_ : "(null)", s_);                \
        }                                                                                          \
    } while (0)

static inline size_t mh_test_strlen(const char *s)
{
    return s ? strlen(s) : 0;
}

#define CHECK_STREQ(a, b) CHECK_MEM((a), mh_test_strlen(a), (b))
#define CHECK_SLICE(sl, s) CHECK_MEM((sl).ptr, (sl).len, (s))

static inline int mh_test_main(const struct mh_test *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        mh_test_current = t[i].name;
        int before = mh_test_fail;
        t[i].fn();
        if (mh_test_fail != before) fprintf(stderr, "FAIL %s\n", t[i].name);
    }
    printf("%d passed, %d failed\n", mh_test_pass, mh_test_fail);
    return mh_test_fail ? 1 : 0;
}

#define MH_TEST_RUN(arr) mh_test_main((arr), sizeof(arr) / sizeof((arr)[0]))

#endif
