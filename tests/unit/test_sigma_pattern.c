/*
 * tests/unit/test_sigma_pattern.c -- Sigma strings, transforms and patterns
 * (src/rules/pattern.h): pySigma escaping, every shape, glob semantics,
 * base64/base64offset/utf16/windash, and fast path == reference regex.
 */
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "mh_test.h"
#include "rules/pattern.h"

static struct mh_arena A;
static struct mh_regex_scratch *S;

/* Render an sstr as text with * and ? for wildcards and \x for other specials. */
static const char *render(const struct mh_sstr *s)
{
    static char buf[1024];
    size_t w = 0;
    for (size_t i = 0; i < s->n && w + 5 < sizeof buf; i++) {
        if (s->t[i] == MH_SP_STAR) buf[w++] = '*';
        else if (s->t[i] == MH_SP_ONE) buf[w++] = '?';
        else if (s->b[i] == '*' || s->b[i] == '?') buf[w++] = '\\', buf[w++] = s->b[i];
        else if (s->b[i] == 0) memcpy(buf + w, "\\0", 2), w += 2;
        else buf[w++] = s->b[i];
    }
    buf[w] = 0;
    return buf;
}

static void t_escaping(void)
{
    /* ../shared/docs/sigma.md §5.2 table (YAML single-quoted text as written) */
    static const struct {
        const char *in, *out;
    } T[] = {
        {"C:\\Windows\\*", "C:\\Windows\\*"},   /* literal star */
        {"C:\\Windows\\\\*", "C:\\Windows\\*"}, /* backslash + wildcard */
        {"\\\\\\*", "\\\\*"},                   /* \ + literal * */
        {"\\\\\\\\", "\\\\"},
        {"\\\\example.exe", "\\example.exe"},
        {"\\example.exe", "\\example.exe"},
        {"a?b*", "a?b*"},
        {"trail\\", "trail\\"},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        struct mh_sstr s;
        mh_sstr_init(&s);
        CHECK_INT(mh_sstr_parse(&s, T[i].in, strlen(T[i].in)), MH_OK);
        CHECK_STREQ(render(&s), T[i].out);
        mh_sstr_fini(&s);
    }
    /* the star in case 0 is literal, in case 1 a wildcard */
    struct mh_sstr a, b;
    mh_sstr_init(&a);
    mh_sstr_init(&b);
    CHECK_INT(mh_sstr_parse(&a, "C:\\Windows\\*", 12), MH_OK);
    CHECK_INT(mh_sstr_parse(&b, "C:\\Windows\\\\*", 13), MH_OK);
    CHECK(!mh_sstr_has_wild(&a));
    CHECK(mh_sstr_has_wild(&b));
    mh_sstr_fini(&a);
    mh_sstr_fini(&b);
}

static bool pm(const char *pattern, bool cased, const char *subject, int *shape)
{
    struct mh_sstr s;
    struct mh_pattern p;
    mh_error err = {0};
    bool m = false, r = false;
    mh_sstr_init(&s);
    CHECK_INT(mh_sstr_parse(&s, pattern, strlen(pattern)), MH_OK);
    CHECK_INT(mh_pattern_compile(&A, &s, cased, &p, &err), MH_OK);
    CHECK_INT(mh_pattern_match(&p, S, subject, strlen(subject), &m), MH_OK);
    CHECK_INT(mh_pattern_match_ref(&p, S, subject, strlen(subject), &r), MH_OK);
    if (m != r) fprintf(stderr, "fast %d != ref %d for '%s' on '%s'\n", m, r, pattern, subject);
    CHECK(m == r);
    if (shape) *shape = p.shape;
    mh_pattern_fini(&p);
    mh_sstr_fini(&s);
    return m;
}

static void t_match_table(void)
{
    static const struct {
        const char *pat;
        bool cased;
        const char *subj;
        bool want;
        int shape;
    } T[] = {
        {"Set-Mailbox", false, "set-mailbox", true, MH_PS_EXACT},
        {"Set-Mailbox", false, "Set-MailboxX", false, MH_PS_EXACT},
        {"Set-Mailbox", true, "set-mailbox", false, MH_PS_EXACT},
        {"Set-*", false, "SET-InboxRule", true, MH_PS_PREFIX},
        {"Set-*", false, "New-InboxRule", false, MH_PS_PREFIX},
        {"*\\cmd.exe", false, "C:\\Windows\\CMD.EXE", true, MH_PS_SUFFIX},
        {"*ForwardTo*", false, "[{\"Name\":\"forwardto\"}]", true, MH_PS_CONTAINS},
        {"*ForwardTo*", false, "Forward To", false, MH_PS_CONTAINS},
        {"*", false, "", true, MH_PS_ANY},
        {"", false, "", true, MH_PS_EXACT},
        {"", false, "x", false, MH_PS_EXACT},
        {"a?c", false, "abc", true, MH_PS_GLOB},
        {"a?c", false, "ac", false, MH_PS_GLOB},
        {"a?c", false, "a\xc3\xa9" "c", true, MH_PS_GLOB}, /* ? = one code point */
        {"a?c", false, "a\xc3\xa9\xc3\xa9" "c", false, MH_PS_GLOB},
        {"a*b*c", false, "aXbYbZc", true, MH_PS_GLOB},
        {"a*b*c", false, "aXbYbZ", false, MH_PS_GLOB},
        {"*a*b", false, "xxaxxbxxb", true, MH_PS_GLOB},
        {"*ab?", false, "abab", false, MH_PS_GLOB},
        {"*ab?", false, "xabz", true, MH_PS_GLOB},
        {"*a?a*", false, "bbaxa", true, MH_PS_GLOB},
        {"C:\\Windows\\*", false, "c:\\windows*", true, MH_PS_EXACT}, /* literal star */
        {"C:\\Windows\\*", false, "c:\\windows\\x", false, MH_PS_EXACT},
        {"C:\\Windows\\\\*", false, "c:\\windows\\x", true, MH_PS_PREFIX},
        {"Update application \xe2\x80\x93 Cert*", false, "update APPLICATION \xe2\x80\x93 certs", true, MH_PS_REGEX},
        {"\xc3\x89T\xc3\x89", false, "\xc3\xa9t\xc3\xa9", true, MH_PS_REGEX}, /* Unicode folding */
        {"\xc3\x89T\xc3\x89", true, "\xc3\xa9t\xc3\xa9", false, MH_PS_EXACT},
        {"50126", false, "50126", true, MH_PS_EXACT},
        {"*?*", false, "", false, MH_PS_GLOB},
        {"*?*", false, "x", true, MH_PS_GLOB},
        {"**", false, "", true, MH_PS_GLOB},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        int shape = -1;
        bool got = pm(T[i].pat, T[i].cased, T[i].subj, &shape);
        if (got != T[i].want || shape != T[i].shape)
            fprintf(stderr, "case %zu: '%s' on '%s': got %d shape %d\n", i, T[i].pat, T[i].subj,
                    got, shape);
        CHECK(got == T[i].want);
        CHECK_INT(shape, T[i].shape);
    }
}

static void t_transforms(void)
{
    struct mh_sstr s;
    mh_sstr_init(&s);
    CHECK_INT(mh_sstr_parse(&s, "ForwardTo", 9), MH_OK);
    CHECK_INT(mh_sstr_contains(&s), MH_OK);
    CHECK_STREQ(render(&s), "*ForwardTo*");
    CHECK_INT(mh_sstr_contains(&s), MH_OK); /* idempotent */
    CHECK_STREQ(render(&s), "*ForwardTo*");
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "Set-", 4), MH_OK);
    CHECK_INT(mh_sstr_startswith(&s), MH_OK);
    CHECK_STREQ(render(&s), "Set-*");
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "\\cmd.exe", 8), MH_OK);
    CHECK_INT(mh_sstr_endswith(&s), MH_OK);
    CHECK_STREQ(render(&s), "*\\cmd.exe");
    /* base64 of "ping" = cGluZw== */
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "ping", 4), MH_OK);
    CHECK_INT(mh_sstr_base64(&s, false), MH_OK);
    CHECK_STREQ(render(&s), "cGluZw==");
    /* wildcards are not allowed under base64 */
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "pi*", 3), MH_OK);
    CHECK_INT(mh_sstr_base64(&s, false), MH_EINVAL);
    mh_sstr_fini(&s);
}

static void offsets(const char *in, bool wide, const char *e0, const char *e1, const char *e2)
{
    struct mh_sstr s, o[3];
    mh_sstr_init(&s);
    for (int i = 0; i < 3; i++) mh_sstr_init(&o[i]);
    CHECK_INT(mh_sstr_parse(&s, in, strlen(in)), MH_OK);
    if (wide) CHECK_INT(mh_sstr_utf16(&s, 0), MH_OK);
    CHECK_INT(mh_sstr_base64offset(&s, false, o), MH_OK);
    CHECK_STREQ(render(&o[0]), e0);
    CHECK_STREQ(render(&o[1]), e1);
    CHECK_STREQ(render(&o[2]), e2);
    for (int i = 0; i < 3; i++) mh_sstr_fini(&o[i]);
    mh_sstr_fini(&s);
}

static void t_base64offset(void)
{
    /* sigma.md §6 examples */
    offsets("ping", false, "cGluZ", "Bpbm", "waW5n");
    offsets("cmd", false, "Y21k", "NtZ", "jbW");
    offsets("ping", true, "cABpAG4AZw", "AAaQBuAGcA", "wAGkAbgBnA");
}

static void t_utf16(void)
{
    struct mh_sstr s;
    mh_sstr_init(&s);
    CHECK_INT(mh_sstr_parse(&s, "ab", 2), MH_OK);
    CHECK_INT(mh_sstr_utf16(&s, 1), MH_OK); /* BE */
    CHECK_INT(s.n, 4);
    CHECK(memcmp(s.b, "\0a\0b", 4) == 0);
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "ab", 2), MH_OK);
    CHECK_INT(mh_sstr_utf16(&s, 2), MH_OK); /* LE + BOM (as UTF-8 U+FEFF) */
    CHECK_INT(s.n, 7);
    CHECK(memcmp(s.b, "\xef\xbb\xbf" "a\0b\0", 7) == 0);
    /* base64 after utf16 turns the BOM into FF FE: b64(ff fe 61 00 62 00) = //5hAGIA */
    CHECK_INT(mh_sstr_base64(&s, true), MH_OK);
    CHECK_STREQ(render(&s), "//5hAGIA");
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "\xc3\xa9", 2), MH_OK);
    CHECK_INT(mh_sstr_utf16(&s, 0), MH_EINVAL); /* ASCII only, as pySigma */
    mh_sstr_fini(&s);
}

struct collect {
    int n;
    char out[40][64];
};

static mh_status on_var(void *ctx, const struct mh_sstr *s)
{
    struct collect *c = ctx;
    if (c->n < 40) snprintf(c->out[c->n], 64, "%s", render(s));
    c->n++;
    return MH_OK;
}

static void t_windash(void)
{
    struct mh_sstr s;
    struct collect c = {0};
    mh_sstr_init(&s);
    CHECK_INT(mh_sstr_parse(&s, " -exec ", 7), MH_OK);
    CHECK_INT(mh_sstr_windash(&s, 4096, on_var, &c), MH_OK);
    CHECK_INT(c.n, 5);
    CHECK_STREQ(c.out[0], " -exec ");
    CHECK_STREQ(c.out[1], " /exec ");
    CHECK_STREQ(c.out[2], " \xe2\x80\x93" "exec ");
    CHECK_STREQ(c.out[4], " \xe2\x80\x95" "exec ");
    /* only the first dash of -param-name starts a flag */
    c.n = 0;
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "-param-name", 11), MH_OK);
    CHECK_INT(mh_sstr_windash(&s, 4096, on_var, &c), MH_OK);
    CHECK_INT(c.n, 5);
    CHECK_STREQ(c.out[1], "/param-name");
    /* two flags: 25 variants; a dash after a wildcard counts as at a start */
    c.n = 0;
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "*-a -b", 6), MH_OK);
    CHECK_INT(mh_sstr_windash(&s, 4096, on_var, &c), MH_OK);
    CHECK_INT(c.n, 25);
    /* limit */
    c.n = 0;
    CHECK_INT(mh_sstr_windash(&s, 10, on_var, &c), MH_ELIMIT);
    /* no flag: the value itself */
    c.n = 0;
    s.n = 0;
    CHECK_INT(mh_sstr_parse(&s, "a-b", 3), MH_OK);
    CHECK_INT(mh_sstr_windash(&s, 4096, on_var, &c), MH_OK);
    CHECK_INT(c.n, 1);
    mh_sstr_fini(&s);
}

static void t_safe_run(void)
{
    struct mh_sstr s;
    struct mh_pattern p;
    const char *r;
    size_t l;
    mh_sstr_init(&s);
    CHECK_INT(mh_sstr_parse(&s, "*\\Inbox/New Rule*", 17), MH_OK);
    CHECK_INT(mh_pattern_compile(&A, &s, false, &p, NULL), MH_OK);
    mh_pattern_safe_run(&p, &r, &l);
    CHECK_MEM(r, l, "new rule");
    mh_pattern_fini(&p);
    mh_safe_run("a\"bc'de+fgh", 11, false, &r, &l);
    CHECK_MEM(r, l, "fgh");
    mh_safe_run("Disk Size", 9, true, &r, &l); /* Unicode folding: no k/s */
    CHECK_MEM(r, l, "ize");
    mh_sstr_fini(&s);
}

/* Random patterns and subjects: fast path and reference agree. */
static void t_random_diff(void)
{
    static const char alpha[] = "aAb*?\\-";
    unsigned seed = 12345;
    int mismatches = 0;
    for (int iter = 0; iter < 3000; iter++) {
        char pat[12], subj[12];
        int pl = (int)((seed = seed * 1103515245 + 12345) >> 16) % 8;
        for (int i = 0; i < pl; i++)
            pat[i] = alpha[((seed = seed * 1103515245 + 12345) >> 16) % (sizeof alpha - 1)];
        pat[pl] = 0;
        int sl = (int)((seed = seed * 1103515245 + 12345) >> 16) % 9;
        for (int i = 0; i < sl; i++)
            subj[i] = "aAbB-\\*"[((seed = seed * 1103515245 + 12345) >> 16) % 7];
        subj[sl] = 0;
        int before = mh_test_fail;
        (void)pm(pat, (iter & 1) != 0, subj, NULL);
        if (mh_test_fail != before) mismatches++;
    }
    CHECK_INT(mismatches, 0);
}

int main(void)
{
    mh_arena_init(&A, 1 << 16, 1 << 26);
    if (mh_regex_scratch_new(&S) != MH_OK) return 1;
    static const struct mh_test T[] = {
        {"escaping", t_escaping},     {"match_table", t_match_table},
        {"transforms", t_transforms}, {"base64offset", t_base64offset},
        {"utf16", t_utf16},           {"windash", t_windash},
        {"safe_run", t_safe_run},     {"random_diff", t_random_diff},
    };
    int rc = MH_TEST_RUN(T);
    mh_regex_scratch_free(S);
    mh_arena_fini(&A);
    return rc;
}
