/*
 * base/sha256.c -- SHA-256 over OpenSSL EVP (see sha256.h)
 *
 * The OpenSSL adapter for message digests (scripts/checksrc: this file and
 * notify/crypto.c are the only ones that include OpenSSL headers). It
 * replaced a hand-written FIPS 180-4 compression function: one
 * implementation, and OpenSSL's is the vetted and faster one.
 *
 * The EVP_MD is fetched explicitly once and reused (an atomic pointer):
 * with OpenSSL 3 an EVP_DigestInit_ex(EVP_sha256()) does an implicit
 * provider fetch on every call, which costs more than hashing a 40-byte
 * secret. The fetched EVP_MD lives until the process exits (never freed:
 * threads may be hashing while another returns from main).
 *
 * Every OpenSSL call that can fail is checked; EVP_MD_CTX_new failing is
 * MH_ENOMEM, anything else MH_ECRYPTO with the first queued reason, and the
 * thread's OpenSSL error queue is cleared so nothing leaks into a later,
 * unrelated OpenSSL call.
 */
#include "base/sha256.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

static _Atomic(EVP_MD *) md_cache;

/* The fetched SHA-256, or NULL (OpenSSL's reason queued). A failed fetch
 * (out of memory) is not remembered: the next call tries again. Two
 * threads racing both fetch; the loser frees its copy. */
static const EVP_MD *sha256_md(void)
{
    EVP_MD *m = atomic_load_explicit(&md_cache, memory_order_acquire);
    if (m) return m;
    m = EVP_MD_fetch(NULL, "SHA256", NULL);
    if (!m) return NULL;
    EVP_MD *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&md_cache, &none, m, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        EVP_MD_free(m);
        return none;
    }
    return m;
}

mh_status mh_ossl_error(mh_error *err, const char *what)
{
    unsigned long e = ERR_get_error();
    char reason[200] = "no OpenSSL error queued";
    if (e) ERR_error_string_n(e, reason, sizeof reason);
    ERR_clear_error();
    mh_status st = e && ERR_GET_REASON(e) == ERR_R_MALLOC_FAILURE ? MH_ENOMEM : MH_ECRYPTO;
    return mh_error_set(err, st, what, "%s", reason);
}

void mh_hex(const uint8_t *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

mh_status mh_sha256_init(struct mh_sha256 *h, mh_error *err)
{
    h->ctx = NULL;
    ERR_clear_error();
    const EVP_MD *md = sha256_md();
    if (!md) return mh_ossl_error(err, "SHA-256 unavailable");
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    if (!c) {
        ERR_clear_error();
        return mh_error_set(err, MH_ENOMEM, "out of memory", "EVP_MD_CTX_new");
    }
    if (EVP_DigestInit_ex(c, md, NULL) != 1) {
        EVP_MD_CTX_free(c);
        return mh_ossl_error(err, "SHA-256 init failed");
    }
    h->ctx = c;
    return MH_OK;
}

mh_status mh_sha256_update(struct mh_sha256 *h, const void *p, size_t n, mh_error *err)
{
    if (!h->ctx) return mh_error_set(err, MH_EINVAL, "digest not started", NULL);
    if (n && EVP_DigestUpdate(h->ctx, p, n) != 1)
        return mh_ossl_error(err, "SHA-256 update failed");
    return MH_OK;
}

mh_status mh_sha256_final(struct mh_sha256 *h, uint8_t out[MH_SHA256_LEN], mh_error *err)
{
    if (!h->ctx) return mh_error_set(err, MH_EINVAL, "digest not started", NULL);
    uint8_t md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    int ok = EVP_DigestFinal_ex(h->ctx, md, &len);
    mh_sha256_fini(h);
    if (ok != 1 || len != MH_SHA256_LEN) return mh_ossl_error(err, "SHA-256 final failed");
    memcpy(out, md, MH_SHA256_LEN);
    return MH_OK;
}

void mh_sha256_fini(struct mh_sha256 *h)
{
    if (h && h->ctx) {
        EVP_MD_CTX_free(h->ctx);
        h->ctx = NULL;
    }
}

mh_status mh_sha256(const void *p, size_t n, uint8_t out[MH_SHA256_LEN], mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_sha256 h = {0};
    MH_CHECK(mh_sha256_init(&h, err));
    MH_CHECK(mh_sha256_update(&h, p, n, err));
    MH_CHECK(mh_sha256_final(&h, out, err));
out:
    mh_sha256_fini(&h);
    return st;
}

mh_status mh_sha256_hex(const void *p, size_t n, char hex[MH_SHA256_HEX], mh_error *err)
{
    uint8_t md[MH_SHA256_LEN];
    MH_TRY(mh_sha256(p, n, md, err));
    mh_hex(md, sizeof md, hex);
    return MH_OK;
}

mh_status mh_sha256_file(const char *path, uint8_t out[MH_SHA256_LEN], uint64_t *size,
                         mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_sha256 h = {0};
    unsigned char *chunk = NULL;
    uint64_t total = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return mh_error_io(err, "cannot open file", path);
    chunk = mh_malloc(MH_READ_CHUNK_BYTES);
    if (!chunk) {
        st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        goto out;
    }
    MH_CHECK(mh_sha256_init(&h, err));
    for (;;) {
        ssize_t r = read(fd, chunk, MH_READ_CHUNK_BYTES);
        if (r < 0) {
            if (errno == EINTR) continue;
            st = mh_error_io(err, "cannot read file", path);
            goto out;
        }
        if (r == 0) break;
        MH_CHECK(mh_sha256_update(&h, chunk, (size_t)r, err));
        total += (uint64_t)r;
    }
    MH_CHECK(mh_sha256_final(&h, out, err));
    if (size) *size = total;
out:
    mh_sha256_fini(&h);
    mh_free(chunk);
    close(fd);
    return st;
}
