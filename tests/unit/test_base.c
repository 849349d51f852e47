/*
 * tests/unit/test_base.c -- base/: time, buffers, arena, map, JSON writer, errors
 */
#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "base/slice.h"
#include "base/time.h"
#include "base/utf8.h"
#include "mailhound/limits.h"
#include "mh_test.h"

static mh_time T(const char *s)
{
    mh_time t = 0;
    if (mh_time_parse(s, strlen(s), &t) != MH_OK) return MH_TIME_NONE;
    return t;
}

static void t_time_parse(void)
{
    /* 2023-07-23T12:13:33Z = 1690114413 */
    const mh_time base = INT64_C(1690114413) * MH_USEC_PER_SEC;
    static const struct {
        const char *in;
        int64_t delta_us;
    } ok[] = {
        {"2023-07-23T12:13:33", 0},
        {"2023-07-23T12:13:33Z", 0},
        {"2023-07-23 12:13:33", 0},
        {" 2023-07-23T12:13:33.0000000Z ", 0},
        {"2023-07-23T12:13:33.6816663+00:00", 681666},
        {"2023-07-23T14:13:33+02:00", 0},
        {"2023-07-23T07:13:33-0500", 0},
        {"7/23/2023 12:13:33 PM", 0},
        {"7/23/2023, 12:13:33.000 PM", 0},
        {"7/23/2023 12:13:33", 0},
        {"07/23/2023 12:13:33 pm", 0},
    };
    for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
        mh_time t = T(ok[i].in);
        if (t != base + ok[i].delta_us) fprintf(stderr, "input: %s\n", ok[i].in);
        CHECK_INT(t, base + ok[i].delta_us);
    }
    CHECK_INT(T("9/20/2023 4:05:03 AM"), T("2023-09-20T04:05:03Z"));
    CHECK_INT(T("9/20/2023 12:05:03 AM"), T("2023-09-20T00:05:03Z"));
    CHECK_INT(T("4/28/2021, 2:54:37.000 PM"), T("2021-04-28T14:54:37Z"));
    CHECK_INT(T("1970-01-01T00:00:00Z"), 0);
    CHECK_INT(T("1969-12-31T23:59:59Z"), -MH_USEC_PER_SEC);
    CHECK_INT(T("2024-02-29T00:00:00Z"), INT64_C(1709164800) * MH_USEC_PER_SEC);
    static const char *bad[] = {"", "now", "2023-02-29T00:00:00", "2023-13-01", "2023-07-23T25:00:00",
                                "13/40/2023 1:00:00 PM", "2023-07-23T12:13:33Zjunk", "7/23/2023 13:00:00 PM",
                                "2023-07-23T12:13:33.", "2023-7-23"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        mh_time t;
        mh_status st = mh_time_parse(bad[i], strlen(bad[i]), &t);
        if (st != MH_EPARSE) fprintf(stderr, "accepted: %s\n", bad[i]);
        CHECK(st == MH_EPARSE);
    }
}

static void t_time_format(void)
{
    char b[32];
    CHECK_INT(mh_time_format(T("2023-07-23T12:13:33.5Z"), b, 0), 27);
    CHECK_STREQ(b, "2023-07-23T12:13:33.500000Z");
    mh_time_format(T("2023-07-23T12:13:33Z"), b, 0);
    CHECK_STREQ(b, "2023-07-23T12:13:33Z");
    mh_time_format_sec(T("1969-12-31T23:59:59.25Z"), b);
    CHECK_STREQ(b, "1969-12-31T23:59:59Z");
    /* round trip over a range of days, including leap years */
    for (int64_t d = -800000; d < 800000; d += 997) {
        mh_time t = d * 86400 * MH_USEC_PER_SEC + 12345;
        struct mh_civil c;
        mh_time_to_civil(t, &c);
        CHECK_INT(mh_time_from_civil(&c), t);
    }
}

static void t_buf(void)
{
    struct mh_buf b;
    mh_buf_init(&b, 16);
    CHECK(mh_buf_puts(&b, "hello") == MH_OK);
    CHECK(mh_buf_printf(&b, " %d", 42) == MH_OK);
    CHECK_MEM(b.data, b.len, "hello 42");
    CHECK(mh_buf_puts(&b, "0123456789") == MH_ELIMIT);
    CHECK_MEM(b.data, b.len, "hello 42");
    mh_buf_consume(&b, 6);
    CHECK_MEM(b.data, b.len, "42");
    mh_buf_fini(&b);
}

static void t_arena(void)
{
    struct mh_arena a;
    mh_arena_init(&a, 64, 1000);
    char *p = mh_arena_strndup(&a, "abc", 3);
    CHECK_STREQ(p, "abc");
    CHECK(((uintptr_t)mh_arena_alloc(&a, 3) & 15) == 0);
    CHECK(mh_arena_alloc(&a, 500) != NULL); /* bigger than a block */
    CHECK(mh_arena_alloc(&a, 600) == NULL); /* over the cap */
    mh_arena_reset(&a);
    CHECK(a.used == 0);
    CHECK(mh_arena_alloc(&a, 900) != NULL);
    mh_arena_fini(&a);

    /* a loop of batches bigger than one block settles on one block: from
     * the second batch on, no batch allocates */
    mh_arena_init(&a, 256, 1u << 20);
    uint64_t allocs = 0;
    for (int batch = 0; batch < 4; batch++) {
        if (batch == 2) allocs = mh_alloc_count();
        for (int i = 0; i < 40; i++) CHECK(mh_arena_alloc(&a, 100) != NULL);
        mh_arena_reset(&a);
    }
    CHECK(mh_alloc_count() == allocs);
    CHECK(a.head != NULL);
    mh_arena_fini(&a);
    /* a block over MH_ARENA_KEEP (one huge document) is not kept */
    mh_arena_init(&a, 256, 0);
    CHECK(mh_arena_alloc(&a, (size_t)MH_ARENA_KEEP + 16) != NULL);
    mh_arena_reset(&a);
    CHECK(a.head == NULL);
    CHECK(mh_arena_alloc(&a, 10) != NULL);
    mh_arena_fini(&a);
}

static void t_map(void)
{
    struct mh_map m;
    mh_map_init(&m, 1000, true);
    struct mh_map_entry *e;
    bool created;
    char k[32];
    for (int i = 0; i < 1000; i++) {
        int n = snprintf(k, sizeof k, "Key-%d", i);
        CHECK(mh_map_put(&m, k, (size_t)n, &e, &created) == MH_OK);
        e->value = (uint64_t)i;
    }
    CHECK(mh_map_put(&m, "another", 7, &e, &created) == MH_ELIMIT);
    e = mh_map_get(&m, "KEY-500", 7);
    CHECK(e && e->value == 500);
    CHECK(mh_map_get(&m, "key-1000", 8) == NULL);
    CHECK_SLICE(m.entries[3].key, "Key-3"); /* insertion order */
    mh_map_fini(&m);
    CHECK(mh_hash64("abc", 3, 0) != mh_hash64("abd", 3, 0));
    CHECK(mh_hash64_nocase("ABC", 3, 0) == mh_hash64_nocase("abc", 3, 0));
}

static void t_jsonw(void)
{
    struct mh_buf b;
    mh_buf_init(&b, 0);
    struct mh_jw w;
    mh_jw_init(&w, &b);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "s");
    mh_jw_str(&w, "a\"b\\c\n\x01\xff\xc3\xa9");
    mh_jw_key(&w, "n");
    mh_jw_int(&w, -5);
    mh_jw_key(&w, "a");
    mh_jw_arr_begin(&w);
    mh_jw_bool(&w, true);
    mh_jw_null(&w);
    mh_jw_double(&w, 0.5);
    mh_jw_arr_end(&w);
    mh_jw_key(&w, "t");
    mh_jw_time(&w, 0);
    mh_jw_obj_end(&w);
    CHECK(mh_jw_status(&w) == MH_OK);
    CHECK_MEM(b.data, b.len,
              "{\"s\":\"a\\\"b\\\\c\\n\\u0001\xef\xbf\xbd\xc3\xa9\",\"n\":-5,\"a\":[true,null,0.5],"
              "\"t\":\"1970-01-01T00:00:00Z\"}");
    mh_buf_fini(&b);
}

static void t_alloc_fail(void)
{
    struct mh_map m;
    mh_map_init(&m, 0, false);
    struct mh_map_entry *e;
    mh_alloc_fail_after(0);
    CHECK(mh_map_put(&m, "a", 1, &e, NULL) == MH_ENOMEM);
    CHECK(mh_map_put(&m, "a", 1, &e, NULL) == MH_OK);
    mh_map_fini(&m);
}

static void t_grow(void)
{
    /* growth sequence: first, then doubling, clamped at max */
    int *v = NULL;
    size_t cap = 0;
    CHECK(MH_GROW(v, cap, 0, 4, 20) == MH_OK && !v && cap == 0);
    CHECK(MH_GROW(v, cap, 1, 4, 20) == MH_OK && v && cap == 4);
    CHECK(MH_GROW(v, cap, 4, 4, 20) == MH_OK && cap == 4);
    CHECK(MH_GROW(v, cap, 5, 4, 20) == MH_OK && cap == 8);
    CHECK(MH_GROW(v, cap, 9, 4, 20) == MH_OK && cap == 16);
    for (int i = 0; i < 16; i++) v[i] = i;
    CHECK(MH_GROW(v, cap, 17, 4, 20) == MH_OK && cap == 20); /* clamped */
    CHECK(v[15] == 15);
    CHECK(MH_GROW(v, cap, 20, 4, 20) == MH_OK && cap == 20);
    CHECK(MH_GROW(v, cap, 21, 4, 20) == MH_ELIMIT && cap == 20);
    /* need far beyond cap: doubles until it fits, in one step */
    uint32_t cap32 = 0;
    double *d = NULL;
    CHECK(MH_GROW(d, cap32, 100, 8, SIZE_MAX) == MH_OK && cap32 == 128);
    CHECK(MH_GROW(d, cap32, 129, 8, SIZE_MAX) == MH_OK && cap32 == 256);
    /* a uint32_t capacity stays below 2^32 whatever max says */
    CHECK(MH_GROW(d, cap32, (size_t)UINT32_MAX + 1, 8, SIZE_MAX) == MH_ELIMIT && cap32 == 256);
    /* ENOMEM through the allocation seam: array and capacity untouched */
    int *keep = v;
    mh_alloc_fail_after(0);
    CHECK(MH_GROW(v, cap, 21, 4, 40) == MH_ENOMEM && v == keep && cap == 20);
    CHECK(MH_GROW(v, cap, 21, 4, 40) == MH_OK && cap == 40 && v[15] == 15);
    /* overflow guard: need * elem beyond SIZE_MAX is a limit, not a wrap */
    char (*big)[1 << 20] = NULL;
    size_t bcap = 0;
    CHECK(MH_GROW(big, bcap, SIZE_MAX / 1024, 1, SIZE_MAX) == MH_ELIMIT && !big && bcap == 0);
    void *raw = NULL;
    size_t rcap = 0;
    CHECK(mh_grow(&raw, &rcap, 3, 0, 1, 8) == MH_EINVAL);
    CHECK(mh_grow(&raw, &rcap, 3, 2, 1, 8) == MH_OK && rcap == 4);
    mh_free(raw);
    mh_free(d);
    mh_free(v);
}

static void t_error(void)
{
    mh_error e;
    mh_error_clear(&e);
    CHECK(mh_error_set(&e, MH_EPARSE, "unterminated string", "at %s", "x") == MH_EPARSE);
    mh_error_at(&e, "a.json", 3, 5, 120, 2);
    char out[256];
    mh_error_format(&e, out, sizeof out);
    CHECK_STREQ(out, "a.json:3:5: record 2, byte 120: unterminated string (at x)");
}

static void t_utf8(void)
{
    static const struct {
        const char *in;
        size_t len; /* expected sequence length, 0 = invalid */
        uint32_t cp;
    } T[] = {
        {"A", 1, 0x41},           {"\xc3\xa9", 2, 0xE9},        {"\xe2\x80\x93", 3, 0x2013},
        {"\xf0\x9f\x98\x80", 4, 0x1F600}, {"\xc0\xaf", 0, 0},   /* overlong */
        {"\xe0\x80\xaf", 0, 0},  /* overlong */ {"\xed\xa0\x80", 0, 0}, /* surrogate */
        {"\xf4\x90\x80\x80", 0, 0}, /* > U+10FFFF */ {"\xc3", 0, 0}, /* cut */
        {"\x80", 0, 0},          {"\xff", 0, 0},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        uint32_t cp = 0;
        size_t k = mh_utf8_decode((const unsigned char *)T[i].in, strlen(T[i].in), &cp);
        CHECK_INT(k, T[i].len);
        if (k) CHECK_INT(cp, T[i].cp);
    }
    CHECK(mh_utf8_valid("plain ascii text, long enough for the 8-byte path", 49));
    CHECK(!mh_utf8_valid("abcdefgh\xed\xa0\x80", 11));
    struct mh_buf b;
    mh_buf_init(&b, 0);
    bool rep = false;
    CHECK(mh_utf8_repair("a\xff" "b\xc3\xa9", 5, &b, &rep) == MH_OK);
    CHECK(rep);
    CHECK_MEM(b.data, b.len, "a\xef\xbf\xbd" "b\xc3\xa9");
    mh_buf_fini(&b);
}

/* mh_prefault is advisory: NULL, sizes below MH_PREFAULT_MIN and spans
 * without a whole page do nothing; on an unaligned buffer it touches only
 * whole pages inside it and leaves the contents as they were. */
static void t_prefault(void)
{
    mh_prefault(NULL, (size_t)1 << 20);
    char small[64] = "kept";
    mh_prefault(small, sizeof small);
    CHECK_STREQ(small, "kept");
    size_t n = (size_t)3 << 20;
    unsigned char *b = mh_malloc(n + 1);
    CHECK(b != NULL);
    if (!b) return;
    for (size_t i = 0; i < n + 1; i++) b[i] = (unsigned char)(i * 7);
    mh_prefault(b + 1, n); /* unaligned start, inside the block */
    bool same = true;
    for (size_t i = 0; i < n + 1; i++) same &= b[i] == (unsigned char)(i * 7);
    CHECK(same);
    mh_free(b);
}

int main(void)
{
    static const struct mh_test T_[] = {
        {"time_parse", t_time_parse}, {"time_format", t_time_format}, {"buf", t_buf},
        {"arena", t_arena},           {"map", t_map},                 {"jsonw", t_jsonw},
        {"alloc_fail", t_alloc_fail}, {"grow", t_grow}, {"error", t_error},
        {"utf8", t_utf8}, {"prefault", t_prefault},
    };
    return MH_TEST_RUN(T_);
}
