/*
 * tests/unit/test_sha256.c -- base/sha256.c: the one SHA-256 (over OpenSSL EVP)
 *
 * Vectors: FIPS 180-4 / NIST examples ("", "abc", the 448- and 896-bit
 * messages, one million 'a' streamed in uneven pieces), two byte-oriented
 * NIST CAVP short messages, and generated messages at every padding
 * boundary (55/56, 63/64/65, 119/120, 127/128/129 bytes; digests from an
 * independent implementation, Python's hashlib). Incremental: every two-way
 * split of a 200-byte message and three-way splits agree with the one-shot
 * digest. Files: the file digest equals the buffer digest; a missing file is
 * MH_EIO with errno and the path. Errors: misuse is MH_EINVAL; OpenSSL's
 * allocations are routed through a counting allocator
 * (CRYPTO_set_mem_functions, before anything touches OpenSSL) so the N-th can
 * be made to fail: init / one-shot / file return MH_ENOMEM or MH_ECRYPTO,
 * never crash, leave the output untouched and OpenSSL's error queue empty
 * (ASan checks for leaks); the next call works again.
 */
#include <openssl/crypto.h>
#include <openssl/err.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/sha256.h"
#include "mh_test.h"

/* ---- OpenSSL allocations that can be made to fail ---- */

static long ossl_fail_at = -1; /* fail the allocation with this index; -1: never */
static long ossl_allocs;

static void *t_malloc(size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (ossl_fail_at >= 0 && ossl_allocs++ == ossl_fail_at) return NULL;
    return malloc(n);
}

static void *t_realloc(void *p, size_t n, const char *file, int line)
{
    (void)file;
    (void)line;
    if (ossl_fail_at >= 0 && ossl_allocs++ == ossl_fail_at) return NULL;
    return realloc(p, n);
}

static void t_free(void *p, const char *file, int line)
{
    (void)file;
    (void)line;
    free(p);
}

static void fail_ossl_alloc(long k)
{
    ossl_allocs = 0;
    ossl_fail_at = k;
}

/* ---- vectors ---- */

static void hex_of(const uint8_t md[MH_SHA256_LEN], char out[MH_SHA256_HEX])
{
    mh_hex(md, MH_SHA256_LEN, out);
}

static void t_nist(void)
{
    static const struct {
        const char *in, *hex;
    } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopq"
         "klmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
        {"\xd3", "28969cdfa74a12c82f3bad960b0b000aca2ac329deea5c2328ebc6f2ba9802c1"},
        {"\x11\xaf", "5ca7133fa735326081558ac312c620eeca9970d1e70a4b95533d956f072d1f98"},
    };
    char hex[MH_SHA256_HEX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_INT(mh_sha256_hex(v[i].in, strlen(v[i].in), hex, NULL), MH_OK);
        CHECK_STREQ(hex, v[i].hex);
    }
    uint8_t md[MH_SHA256_LEN];
    CHECK_INT(mh_sha256(NULL, 0, md, NULL), MH_OK);
    hex_of(md, hex);
    CHECK_STREQ(hex, v[0].hex);

    /* one million 'a', streamed in pieces of 1, 4, 13, 40, ... bytes */
    struct mh_sha256 h = {0};
    char a[1000];
    memset(a, 'a', sizeof a);
    CHECK_INT(mh_sha256_init(&h, NULL), MH_OK);
    size_t left = 1000000, step = 1;
    while (left) {
        size_t k = step < left ? step : left;
        if (k > sizeof a) k = sizeof a;
        CHECK_INT(mh_sha256_update(&h, a, k, NULL), MH_OK);
        left -= k;
        step = step * 3 + 1;
    }
    CHECK_INT(mh_sha256_final(&h, md, NULL), MH_OK);
    CHECK(h.ctx == NULL);
    hex_of(md, hex);
    CHECK_STREQ(hex, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

/* byte i of the generated messages */
static unsigned char gen(size_t i)
{
    return (unsigned char)((i * 7 + 3) & 255);
}

static void t_padding_boundaries(void)
{
    static const struct {
        size_t n;
        const char *hex;
    } v[] = {
        {55, "e7313d333c272e639f790978283f9eb392e843d0f29b7016828bb1daa4aac70b"},
        {56, "4324d65f3c103567f5589c710bc08f8523f929a9272e3af36fc968e52abc6c27"},
        {63, "81c80242132f230c3bd41b3e63bbcff16107339549214a99614ff26664625055"},
        {64, "39e3d7b6b5d075d37d053ad89b24b41bef4f3c29760c84447cab3f3be1882241"},
        {65, "aacca6ff74fdbb296d165a45cecfa04e5127bc008770fbbdd48006f2d2fae95e"},
        {119, "9ce7368e4daf32341631b492e80359dc9f594b48453cd0dd5bf0b19279cc177e"},
        {120, "7836b787757e95e58b3ca5aec90b1b004e8deba1e50e9675af9cabf1a13a04b5"},
        {127, "a8d23e75d936f303d248888d9b165ee543f4cbafcad3c9dd2a79bd84faa11d07"},
        {128, "d2742f1f4ac6bb7ca2b239ee18402ba8b3f9f8e652d2a72973c2b9ba11c08cf6"},
        {129, "307f8fc2c1622b92762e818d39a185d4d667ad49a4b07ceae1f4afa008a93ec4"},
        {1000, "1e9bc38cbf860b9ec31918b065f9b52476c549a782e0e7990bed8ce3868d2371"},
    };
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = gen(i);
    char hex[MH_SHA256_HEX];
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        CHECK_INT(mh_sha256_hex(buf, v[i].n, hex, NULL), MH_OK);
        CHECK_STREQ(hex, v[i].hex);
    }
}

static void t_incremental_splits(void)
{
    unsigned char buf[200];
    for (size_t i = 0; i < sizeof buf; i++) buf[i] = gen(i);
    uint8_t one[MH_SHA256_LEN], got[MH_SHA256_LEN];
    CHECK_INT(mh_sha256(buf, sizeof buf, one, NULL), MH_OK);
    int bad = 0;
    for (size_t k = 0; k <= sizeof buf; k++) {
        struct mh_sha256 h = {0};
        if (mh_sha256_init(&h, NULL) || mh_sha256_update(&h, buf, k, NULL) ||
            mh_sha256_update(&h, buf + k, sizeof buf - k, NULL) || mh_sha256_final(&h, got, NULL))
            bad++;
        else if (memcmp(one, got, sizeof one) != 0)
            bad++;
        mh_sha256_fini(&h);
    }
    for (size_t k = 0; k <= sizeof buf; k += 13)
        for (size_t j = k; j <= sizeof buf; j += 29) {
            struct mh_sha256 h = {0};
            if (mh_sha256_init(&h, NULL) || mh_sha256_update(&h, buf, k, NULL) ||
                mh_sha256_update(&h, buf + k, j - k, NULL) ||
                mh_sha256_update(&h, buf + j, sizeof buf - j, NULL) ||
                mh_sha256_final(&h, got, NULL))
                bad++;
            else if (memcmp(one, got, sizeof one) != 0)
                bad++;
            mh_sha256_fini(&h);
        }
    CHECK_INT(bad, 0);
}

static void t_file(void)
{
    char path[] = "/tmp/mh_sha256_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return;
    size_t n = (3u << 20) + 17; /* several read chunks and a partial one */
    unsigned char *data = mh_malloc(n);
    CHECK(data != NULL);
    if (!data) {
        close(fd);
        unlink(path);
        return;
    }
    for (size_t i = 0; i < n; i++) data[i] = (unsigned char)(i * 7 + (i >> 13));
    CHECK_INT(write(fd, data, n), (long long)n);
    close(fd);
    uint8_t a[MH_SHA256_LEN], b[MH_SHA256_LEN];
    uint64_t size = 0;
    mh_error err;
    mh_error_clear(&err);
    CHECK_INT(mh_sha256_file(path, a, &size, &err), MH_OK);
    CHECK_INT(size, n);
    CHECK_INT(mh_sha256(data, n, b, &err), MH_OK);
    CHECK(memcmp(a, b, sizeof a) == 0);
    /* the read buffer comes from the mh_malloc seam */
    mh_alloc_fail_after(0);
    CHECK_INT(mh_sha256_file(path, a, NULL, &err), MH_ENOMEM);
    mh_alloc_fail_after(-1);
    mh_free(data);
    unlink(path);
    mh_error_clear(&err);
    CHECK_INT(mh_sha256_file("/nonexistent/x", a, NULL, &err), MH_EIO);
    CHECK(err.sys_errno != 0);
    CHECK_STREQ(err.origin, "/nonexistent/x");
}

static void t_misuse(void)
{
    struct mh_sha256 h = {0};
    uint8_t md[MH_SHA256_LEN];
    mh_error err;
    mh_error_clear(&err);
    CHECK_INT(mh_sha256_update(&h, "x", 1, &err), MH_EINVAL);
    CHECK_INT(mh_sha256_final(&h, md, &err), MH_EINVAL);
    mh_sha256_fini(&h); /* zeroed: no-op */
    mh_sha256_fini(NULL);
    CHECK_INT(mh_sha256_init(&h, &err), MH_OK);
    CHECK_INT(mh_sha256_final(&h, md, &err), MH_OK);
    CHECK_INT(mh_sha256_final(&h, md, &err), MH_EINVAL); /* final released it */
    mh_sha256_fini(&h);                                  /* after final: no-op */
    CHECK_INT(mh_sha256_init(&h, &err), MH_OK);
    CHECK_INT(mh_sha256_update(&h, "abc", 3, &err), MH_OK);
    mh_sha256_fini(&h); /* abandoned: released (ASan: no leak) */
    CHECK(h.ctx == NULL);
}

static void t_alloc_failure(void)
{
    uint8_t md[MH_SHA256_LEN];
    char hex[MH_SHA256_HEX];
    mh_error err;
    /* warm up: the SHA-256 implementation is fetched once, outside the loop */
    CHECK_INT(mh_sha256(NULL, 0, md, NULL), MH_OK);

    /* the first OpenSSL allocation of a digest is its context */
    struct mh_sha256 h = {0};
    mh_error_clear(&err);
    fail_ossl_alloc(0);
    CHECK_INT(mh_sha256_init(&h, &err), MH_ENOMEM);
    fail_ossl_alloc(-1);
    CHECK(h.ctx == NULL);
    CHECK(err.code == MH_ENOMEM && err.msg != NULL);
    CHECK(ERR_peek_error() == 0);

    /* fail each OpenSSL allocation of a one-shot digest in turn */
    int bad = 0, failed = 0;
    for (long k = 0; k < 64; k++) {
        memset(hex, 'x', sizeof hex);
        mh_error_clear(&err);
        fail_ossl_alloc(k);
        mh_status st = mh_sha256_hex("abc", 3, hex, &err);
        long used = ossl_allocs;
        fail_ossl_alloc(-1);
        if (st == MH_OK) {
            if (strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") !=
                0)
                bad++;
            if (used <= k) break; /* every allocation has been failed once */
            continue;
        }
        failed++;
        if (st != MH_ENOMEM && st != MH_ECRYPTO) bad++;
        if (hex[0] != 'x' || hex[MH_SHA256_HEX - 1] != 'x') bad++; /* output untouched */
        if (err.code != st || ERR_peek_error() != 0) bad++;
    }
    CHECK_INT(bad, 0);
    CHECK(failed >= 1);
    /* and it works again */
    CHECK_INT(mh_sha256_hex("abc", 3, hex, NULL), MH_OK);
    CHECK_STREQ(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void t_hex(void)
{
    static const uint8_t b[] = {0x00, 0x01, 0x7f, 0x80, 0xab, 0xff};
    char out[2 * sizeof b + 1];
    mh_hex(b, sizeof b, out);
    CHECK_STREQ(out, "00017f80abff");
    mh_hex(b, 0, out);
    CHECK_STREQ(out, "");
}

int main(void)
{
    /* before anything touches OpenSSL: its allocations go through t_malloc */
    if (!CRYPTO_set_mem_functions(t_malloc, t_realloc, t_free)) {
        fprintf(stderr, "CRYPTO_set_mem_functions failed: OpenSSL already allocated\n");
        return 1;
    }
    static const struct mh_test T[] = {
        {"nist", t_nist},
        {"padding_boundaries", t_padding_boundaries},
        {"incremental_splits", t_incremental_splits},
        {"file", t_file},
        {"misuse", t_misuse},
        {"alloc_failure", t_alloc_failure},
        {"hex", t_hex},
    };
    return MH_TEST_RUN(T);
}
