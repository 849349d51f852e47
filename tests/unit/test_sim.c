/*
 * tests/unit/test_sim.c -- sim/: building blocks and whole runs
 *
 * The UTI encoding against the worked example
 * of log-formats.md §12; the PRNG (determinism, bounds, stream
 * independence); the network table (unique prefixes, roles partition the
 * space); the text emitters (timestamps, JSON, CSV quoting, base64); the
 * planted-secret shapes of every gitleaks rule the simulator uses; option
 * validation; a tiny complete run twice (byte-identical trees); and
 * allocation-failure injection through the whole generator (clean
 * MH_ENOMEM, no crash; ASan reports leaks).
 *
 * The truth/log consistency checks live in tests/sim/check_sim.py (script
 * tests), which reads the output independently of the generator.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "mh_test.h"
#include "sim/model.h"

/* ------------------------------------------------------------ ids */

static void parse_guid(const char *s, uint8_t g[16])
{
    int k = 0;
    for (const char *p = s; *p && k < 32; p++) {
        if (*p == '-') continue;
        int v = *p <= '9' ? *p - '0' : (*p | 32) - 'a' + 10;
        if (k % 2 == 0)
            g[k / 2] = (uint8_t)(v << 4);
        else
            g[k / 2] |= (uint8_t)v;
        k++;
    }
}

static void t_uti(void)
{
    uint8_t g[16];
    char out[32], txt[37];
    parse_guid("4d63c1c4-c95b-4d3c-8e0a-1271fd813e00", g);
    sim_guid_str(g, txt);
    CHECK_STREQ(txt, "4d63c1c4-c95b-4d3c-8e0a-1271fd813e00");
    CHECK_INT(sim_uti(g, out), 22);
    CHECK_STREQ(out, "xMFjTVvJPE2OChJx_YE-AA");
    struct sim_rng r;
    sim_rng_seed(&r, 42);
    sim_guid(&r, g);
    CHECK((g[6] >> 4) == 4);
    CHECK((g[8] & 0xc0) == 0x80);
}

/* ------------------------------------------------------------ rng */

static void t_rng(void)
{
    struct sim_rng a, b, c;
    sim_rng_derive(&a, 7, SIM_S_LIFE, 3, 9);
    sim_rng_derive(&b, 7, SIM_S_LIFE, 3, 9);
    sim_rng_derive(&c, 7, SIM_S_LIFE, 3, 10);
    int same = 0, differ = 0;
    for (int i = 0; i < 1000; i++) {
        uint64_t x = sim_rng_next(&a), y = sim_rng_next(&b), z = sim_rng_next(&c);
        same += x == y;
        differ += x != z;
    }
    CHECK_INT(same, 1000);
    CHECK(differ > 990);
    uint32_t hist[7] = {0};
    bool in = true;
    for (int i = 0; i < 70000; i++) {
        uint64_t v = sim_rng_below(&a, 7);
        in &= v < 7;
        if (v < 7) hist[v]++;
        int64_t w = sim_rng_range(&a, -3, 3);
        in &= w >= -3 && w <= 3;
    }
    CHECK(in);
    for (int i = 0; i < 7; i++) CHECK(hist[i] > 9000 && hist[i] < 11000);
    double sum = 0;
    for (int i = 0; i < 20000; i++) sum += sim_rng_poisson(&a, 2.5);
    CHECK(sum / 20000 > 2.4 && sum / 20000 < 2.6);
    static const uint16_t w[3] = {1, 0, 3};
    uint32_t wh[3] = {0};
    for (int i = 0; i < 4000; i++) wh[sim_rng_weighted(&a, w, 3)]++;
    CHECK_INT(wh[1], 0);
    CHECK(wh[2] > 2 * wh[0]);
    uint32_t arr[50], seen = 0;
    for (uint32_t i = 0; i < 50; i++) arr[i] = i;
    sim_rng_shuffle_u32(&a, arr, 50);
    for (uint32_t i = 0; i < 50; i++) seen |= 0, seen += arr[i];
    CHECK_INT(seen, 50 * 49 / 2);
}

/* ------------------------------------------------------------ geo */

static void t_geo(void)
{
    bool unique = true, cities = true;
    for (uint16_t i = 0; i < sim_nnets; i++) {
        cities &= sim_nets[i].city < sim_ncities;
        for (uint16_t j = 0; j < i; j++)
            if (sim_nets[i].v6 == sim_nets[j].v6 && sim_nets[i].p[0] == sim_nets[j].p[0] &&
                sim_nets[i].p[1] == sim_nets[j].p[1] &&
                (!sim_nets[i].v6 || sim_nets[i].p[2] == sim_nets[j].p[2]))
                unique = false;
    }
    CHECK(unique);
    CHECK(cities);
    for (int role = 0; role < NET__ROLES; role++) CHECK(sim_net_count(role) > 0);
    CHECK(sim_net_count(NET_ATK_RES) >= 20);
    struct sim_rng r;
    sim_rng_seed(&r, 1);
    for (int i = 0; i < 200; i++) {
        uint16_t n = sim_net_pick(&r, NET_ATK_HOST, NULL);
        CHECK(sim_nets[n].role == NET_ATK_HOST);
    }
    uint16_t n = sim_net_pick(&r, NET_HOME, "DE");
    CHECK_STREQ(sim_cities[sim_nets[n].city].country, "DE");
    struct sim_ip ip = {.net = 0, .h16 = (12 << 8) | 34};
    char s[48];
    sim_ip_str(&ip, s);
    CHECK_STREQ(s, "73.21.12.34");
}

/* ------------------------------------------------------------ emit */

static void t_emit(void)
{
    struct sim_tx t;
    sim_tx_init(&t, 1 << 20);
    struct mh_civil c = {2024, 3, 4, 9, 12, 33, 123456};
    mh_time tm = mh_time_from_civil(&c);
    sim_tx_time_ual(&t, tm);
    sim_tx_c(&t, '|');
    sim_tx_time_7z(&t, tm);
    sim_tx_c(&t, '|');
    sim_tx_time_7off(&t, tm);
    CHECK_MEM(t.b.data, t.b.len,
              "2024-03-04T09:12:33|2024-03-04T09:12:33.1234560Z|2024-03-04T09:12:33.1234560+00:00");
    mh_buf_clear(&t.b);
    sim_tx_json(&t, "a\"b\\c\n\x01\xc3\xa9", 9);
    CHECK_MEM(t.b.data, t.b.len, "a\\\"b\\\\c\\n\\u0001\xc3\xa9");
    mh_buf_clear(&t.b);
    sim_tx_csvq(&t, "x\"y\"\"", 5);
    CHECK_MEM(t.b.data, t.b.len, "x\"\"y\"\"\"\"");
    mh_buf_clear(&t.b);
    sim_tx_b64(&t, "any carnal pleas", 16);
    CHECK_MEM(t.b.data, t.b.len, "YW55IGNhcm5hbCBwbGVhcw==");
    mh_buf_clear(&t.b);
    sim_tx_u64w(&t, 7, 3);
    sim_tx_c(&t, ' ');
    sim_tx_i64(&t, -42);
    CHECK_MEM(t.b.data, t.b.len, "007 -42");
    CHECK(t.st == MH_OK);
    struct sim_tx small;
    sim_tx_init(&small, 8);
    sim_tx_put(&small, "0123456789", 10);
    CHECK(small.st == MH_ELIMIT);
    SIM_LIT(&small, "x");
    CHECK(small.st == MH_ELIMIT);
    sim_tx_fini(&small);
    sim_tx_fini(&t);
}

/* ------------------------------------------------------------ secrets */

static bool all_in(const char *s, size_t n, const char *set)
{
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i])) return false;
    return true;
}

static const char ALNUM[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

static void t_secrets(void)
{
    static const double thr[SK__N] = {3.0, 3.0, 3.0, 3.0, 3.5};
    int bad[SK__N] = {0};
    char sec[256];
    for (int kind = 0; kind < SK__N; kind++)
        for (uint64_t seed = 0; seed < 300; seed++) {
            struct sim_rng r;
            struct sim_tx t;
            sim_rng_derive(&r, seed, SIM_S_SECRET, (uint64_t)kind, 0);
            sim_tx_init(&t, 4096);
            sim_secret_text(&r, kind, "Atlas", &t, sec);
            size_t n = strlen(sec);
            bool ok = sim_entropy(sec, n) > thr[kind] && t.b.len > n && t.st == MH_OK;
            switch (kind) {
            case SK_AWS:
                ok &= n == 20 && memcmp(sec, "AKIA", 4) == 0 &&
                      all_in(sec + 4, 16, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567");
                break;
            case SK_GITHUB:
                ok &= n == 40 && memcmp(sec, "ghp_", 4) == 0 && all_in(sec + 4, 36, ALNUM);
                break;
            case SK_SLACK:
                ok &= n == 56 && memcmp(sec, "xoxb-", 5) == 0 &&
                      all_in(sec + 5, 12, "0123456789") && sec[17] == '-' &&
                      all_in(sec + 18, 13, "0123456789") && sec[31] == '-' &&
                      all_in(sec + 32, 24, ALNUM);
                break;
            case SK_AZURE:
                ok &= n == 40 && all_in(sec, 3, ALNUM) && sec[3] >= '0' && sec[3] <= '9' &&
                      sec[4] == 'Q' && sec[5] == '~' &&
                      all_in(sec + 6, 34,
                             "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_~.-");
                break;
            default: {
                ok &= n >= 16 && n <= 20 && all_in(sec, n, "0123456789QXZJKVWqxzjkvw") &&
                      strpbrk(sec, "0123456789") != NULL;
                for (size_t i = 2; i < n; i++)
                    ok &= !(sec[i] == sec[i - 1] && sec[i] == sec[i - 2]);
                /* the value sits between "Password=" and ';' */
                char pat[300];
                snprintf(pat, sizeof pat, "Password=%s;", sec);
                ok &= t.st == MH_OK && memmem(t.b.data, t.b.len, pat, strlen(pat)) != NULL;
            }
            }
            if (!ok) bad[kind]++;
            sim_tx_fini(&t);
        }
    for (int kind = 0; kind < SK__N; kind++) CHECK_INT(bad[kind], 0);
    CHECK(sim_entropy("aaaa", 4) == 0.0);
    CHECK(sim_entropy("abcd", 4) == 2.0);
}

/* ------------------------------------------------------------ whole runs */

static void rm_tree(int dirfd, const char *path)
{
    int fd = openat(dirfd, path, O_RDONLY | O_DIRECTORY);
    if (fd < 0) {
        unlinkat(dirfd, path, 0);
        return;
    }
    DIR *d = fdopendir(fd);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        rm_tree(fd, e->d_name);
    }
    if (d) closedir(d);
    unlinkat(dirfd, path, AT_REMOVEDIR);
}

/* Compare two trees file by file; returns the number of files compared or -1. */
static long same_tree(const char *a, const char *b)
{
    DIR *d = opendir(a);
    if (!d) return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        char pa[1024], pb[1024];
        snprintf(pa, sizeof pa, "%s/%s", a, e->d_name);
        snprintf(pb, sizeof pb, "%s/%s", b, e->d_name);
        struct stat sa, sb;
        if (stat(pa, &sa) || stat(pb, &sb)) {
            n = -1;
            break;
        }
        if (S_ISDIR(sa.st_mode)) {
            long k = same_tree(pa, pb);
            if (k < 0) {
                n = -1;
                break;
            }
            n += k;
            continue;
        }
        if (sa.st_size != sb.st_size) {
            n = -1;
            break;
        }
        FILE *fa = fopen(pa, "rb"), *fb = fopen(pb, "rb");
        bool eq = fa && fb;
        char ba[65536], bb[65536];
        while (eq) {
            size_t ra = fread(ba, 1, sizeof ba, fa), rb = fread(bb, 1, sizeof bb, fb);
            if (ra != rb || memcmp(ba, bb, ra) != 0) eq = false;
            if (ra == 0) break;
        }
        if (fa) fclose(fa);
        if (fb) fclose(fb);
        if (!eq) {
            n = -1;
            break;
        }
        n++;
    }
    closedir(d);
    return n;
}

static void tiny(struct mh_sim_opts *o, const char *dir)
{
    mh_sim_opts_default(o);
    o->out_dir = dir;
    o->users = 20;
    o->days = 2;
    o->tenants = 2;
    o->partners = 6;
    o->seed = 11;
}

static void t_options(void)
{
    struct mh_sim_opts o;
    mh_error err;
    unsigned sc = 99;
    CHECK(mh_sim_parse_scenario("none", &sc) == MH_OK && sc == 0);
    CHECK(mh_sim_parse_scenario("all", &sc) == MH_OK && sc == 3);
    CHECK(mh_sim_parse_scenario("storm-0558", &sc) == MH_OK && sc == MH_SIM_STORM_0558);
    CHECK(mh_sim_parse_scenario("midnight", &sc) == MH_EINVAL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    o.users = 5;
    mh_error_clear(&err);
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EINVAL);
    CHECK(strstr(err.msg, "--users") != NULL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    o.days = 0;
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EINVAL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    o.start += 3600 * MH_USEC_PER_SEC;
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EINVAL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    o.start = (INT64_MAX / SIM_DAY) * SIM_DAY; /* start + days would overflow */
    mh_error_clear(&err);
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EINVAL);
    CHECK(strstr(err.msg, "--start") != NULL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    o.start = -SIM_DAY;
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EINVAL);
    tiny(&o, "/nonexistent-dir-for-test/x");
    mh_error_clear(&err);
    CHECK(mh_sim_run(&o, NULL, &err) == MH_EIO);
}

static void t_run_deterministic(void)
{
    char base[] = "/tmp/mh-test-sim-XXXXXX";
    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    char a[256], b[256], c[256];
    snprintf(a, sizeof a, "%s/a", base);
    snprintf(b, sizeof b, "%s/b", base);
    snprintf(c, sizeof c, "%s/c", base);
    struct mh_sim_opts o;
    struct mh_sim_report ra, rb;
    mh_error err;
    tiny(&o, a);
    CHECK(mh_sim_run(&o, &ra, &err) == MH_OK);
    tiny(&o, b);
    CHECK(mh_sim_run(&o, &rb, &err) == MH_OK);
    CHECK(ra.bytes > 100000 && ra.bytes == rb.bytes);
    CHECK(ra.malicious > 0);
    CHECK(ra.messages > 10 && ra.mailboxes > 10);
    long n = same_tree(a, b);
    CHECK(n > 40);
    /* another seed: different bytes */
    tiny(&o, c);
    o.seed = 12;
    CHECK(mh_sim_run(&o, NULL, &err) == MH_OK);
    CHECK(same_tree(a, c) < 0);
    /* no attack at all: no malicious references */
    struct mh_sim_report rn;
    tiny(&o, c);
    o.scenarios = 0;
    CHECK(mh_sim_run(&o, &rn, &err) == MH_OK);
    CHECK_INT(rn.malicious, 0);
    struct stat st;
    char p[300];
    snprintf(p, sizeof p, "%s/logs/trace.csv", a);
    CHECK(stat(p, &st) == 0 && st.st_size > 1000);
    snprintf(p, sizeof p, "%s/.sim-spool", a);
    CHECK(stat(p, &st) != 0); /* the spool is unlinked */
    rm_tree(AT_FDCWD, base);
}

static void t_alloc_failures(void)
{
    char base[] = "/tmp/mh-test-simfail-XXXXXX";
    if (!mkdtemp(base)) {
        CHECK(!"mkdtemp");
        return;
    }
    struct mh_sim_opts o;
    mh_error err;
    tiny(&o, base);
    o.days = 1;
    uint64_t before = mh_alloc_count();
    CHECK(mh_sim_run(&o, NULL, &err) == MH_OK);
    int64_t total = (int64_t)(mh_alloc_count() - before);
    CHECK(total > 20);
    /* make the k-th allocation fail for ~50 values of k spread over the run */
    int64_t step = total / 50 > 0 ? total / 50 : 1;
    int runs = 0, enomem = 0;
    for (int64_t k = 0; k < total; k += step) {
        tiny(&o, base);
        o.days = 1;
        mh_error_clear(&err);
        mh_alloc_fail_after(k);
        mh_status st = mh_sim_run(&o, NULL, &err);
        mh_alloc_fail_after(-1);
        runs++;
        if (st == MH_ENOMEM)
            enomem++;
        else
            fprintf(stderr, "allocation %lld of %lld failed: %s\n", (long long)k, (long long)total,
                    mh_status_str(st));
    }
    CHECK_INT(enomem, runs);
    /* and a clean run still works afterwards */
    tiny(&o, base);
    CHECK(mh_sim_run(&o, NULL, &err) == MH_OK);
    rm_tree(AT_FDCWD, base);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"uti", t_uti},
        {"rng", t_rng},
        {"geo", t_geo},
        {"emit", t_emit},
        {"secrets", t_secrets},
        {"options", t_options},
        {"run_deterministic", t_run_deterministic},
        {"alloc_failures", t_alloc_failures},
    };
    return MH_TEST_RUN(T);
}
