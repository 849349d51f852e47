/*
 * notify/crypto.c -- OpenSSL adapter: SHA-1 via EVP, CMS AuthEnvelopedData
 * (AES-256-GCM) to X.509 recipients (see crypto.h)
 *
 * One of the two files that include OpenSSL headers (scripts/checksrc; the
 * other is base/sha256.c, the one SHA-256). Every OpenSSL call that can
 * fail is checked; mh_ossl_error puts the first queued OpenSSL error into
 * mh_error.detail and clears the thread's error queue, so an error never
 * leaks into an unrelated later call. A malloc failure inside OpenSSL
 * becomes MH_ENOMEM, everything else MH_ECRYPTO.
 *
 * Envelopes: CMS_encrypt(certs, in, EVP_aes_256_gcm(), CMS_BINARY |
 * CMS_STREAM) yields AuthEnvelopedData (RFC 5083) because the cipher is an
 * AEAD; with CMS_STREAM nothing is read until PEM_write_bio_CMS_stream, which
 * streams the content from `in` to `out` -- a multi-gigabyte package never
 * sits in memory. RSA recipients get KeyTransRecipientInfo (OpenSSL's
 * default padding), EC recipients KeyAgreeRecipientInfo with OpenSSL's
 * default KDF (dhSinglePass-stdDH-sha1kdf).
 */
#include "notify/crypto.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/sha256.h"
#include "notify/fs.h"

struct mh_certs {
    STACK_OF(X509) * sk;
};

static mh_status digest_buf(const EVP_MD *md, const void *p, size_t n, uint8_t *out, size_t outlen,
                            mh_error *err)
{
    unsigned int len = 0;
    uint8_t tmp[EVP_MAX_MD_SIZE];
    ERR_clear_error();
    if (EVP_Digest(n ? p : "", n, tmp, &len, md, NULL) != 1 || len != outlen)
        return mh_ossl_error(err, "digest failed");
    memcpy(out, tmp, outlen);
    return MH_OK;
}

mh_status mh_digest_sha1(const void *p, size_t n, uint8_t out[MH_SHA1_LEN], mh_error *err)
{
    return digest_buf(EVP_sha1(), p, n, out, MH_SHA1_LEN, err);
}

mh_status mh_certs_new(mh_certs **out, mh_error *err)
{
    mh_certs *c = mh_calloc(1, sizeof *c);
    if (!c) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    ERR_clear_error();
    c->sk = sk_X509_new_null();
    if (!c->sk) {
        mh_free(c);
        return mh_error_set(err, MH_ENOMEM, "out of memory", "sk_X509_new_null");
    }
    *out = c;
    return MH_OK;
}

void mh_certs_free(mh_certs *c)
{
    if (!c) return;
    sk_X509_pop_free(c->sk, X509_free);
    mh_free(c);
}

size_t mh_certs_count(const mh_certs *c)
{
    return c ? (size_t)sk_X509_num(c->sk) : 0;
}

mh_status mh_certs_add_pem(mh_certs *c, const void *pem, size_t n, mh_error *err)
{
    mh_status st = MH_OK;
    BIO *bio = NULL;
    STACK_OF(X509) *got = NULL;
    X509 *x = NULL;
    if (n > INT_MAX) return mh_error_set(err, MH_ELIMIT, "certificate file too large", NULL);
    ERR_clear_error();
    bio = BIO_new_mem_buf(pem, (int)n);
    got = sk_X509_new_null();
    if (!bio || !got) {
        st = mh_ossl_error(err, "out of memory");
        goto out;
    }
    while ((x = PEM_read_bio_X509(bio, NULL, NULL, NULL)) != NULL) {
        if (!sk_X509_push(got, x)) {
            st = mh_ossl_error(err, "out of memory");
            goto out;
        }
        x = NULL;
    }
    /* The loop ends with "no start line" at the end of the text; anything
     * else is a malformed certificate. */
    unsigned long e = ERR_peek_last_error();
    if (e && !(ERR_GET_LIB(e) == ERR_LIB_PEM && ERR_GET_REASON(e) == PEM_R_NO_START_LINE)) {
        st = mh_ossl_error(err, "malformed certificate");
        goto out;
    }
    ERR_clear_error();
    if (sk_X509_num(got) == 0) {
        st = mh_error_set(err, MH_ECRYPTO, "no certificate found",
                          "expected a PEM CERTIFICATE block");
        goto out;
    }
    while (sk_X509_num(got) > 0) {
        X509 *first = sk_X509_shift(got);
        if (!sk_X509_push(c->sk, first)) {
            X509_free(first);
            st = mh_ossl_error(err, "out of memory");
            goto out;
        }
    }
out:
    X509_free(x);
    sk_X509_pop_free(got, X509_free);
    BIO_free(bio);
    return st;
}

mh_status mh_certs_add_file(mh_certs *c, const char *path, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_buf b;
    char tmp[65536];
    mh_buf_init(&b, 16u << 20);
    FILE *f = fopen(path, "rb");
    if (!f) return mh_error_io(err, "cannot open certificate", path);
    size_t r;
    while ((r = fread(tmp, 1, sizeof tmp, f)) > 0) {
        st = mh_buf_append(&b, tmp, r);
        if (st) {
            mh_error_set(err, st, "cannot read certificate", NULL);
            goto out;
        }
    }
    if (ferror(f)) {
        st = mh_error_io(err, "cannot read certificate", path);
        goto out;
    }
    st = mh_certs_add_pem(c, b.data ? b.data : "", b.len, err);
    if (st) mh_error_at(err, path, 0, 0, 0, 0);
out:
    fclose(f);
    mh_buf_fini(&b);
    return st;
}

/* Encrypt from `in` to `out` (both open BIOs). */
static mh_status envelope(const mh_certs *c, BIO *in, BIO *out, mh_error *err)
{
    mh_status st = MH_OK;
    const int flags = CMS_BINARY | CMS_STREAM;
    CMS_ContentInfo *cms = CMS_encrypt(c->sk, in, EVP_aes_256_gcm(), flags);
    if (!cms) return mh_ossl_error(err, "CMS encryption failed");
    if (PEM_write_bio_CMS_stream(out, cms, in, flags) != 1 || BIO_flush(out) != 1) {
        st = mh_ossl_error(err, "CMS output failed");
        goto out;
    }
out:
    CMS_ContentInfo_free(cms);
    return st;
}

mh_status mh_cms_encrypt(const mh_certs *c, const void *in, size_t n, struct mh_buf *out,
                         mh_error *err)
{
    mh_status st = MH_OK;
    BIO *bin = NULL, *bout = NULL;
    if (!mh_certs_count(c)) return mh_error_set(err, MH_EINVAL, "no recipient certificate", NULL);
    if (n > INT_MAX)
        return mh_error_set(err, MH_ELIMIT, "input too large for memory envelope",
                            "use mh_cms_encrypt_file");
    ERR_clear_error();
    bin = BIO_new_mem_buf(n ? in : "", (int)n);
    bout = BIO_new(BIO_s_mem());
    if (!bin || !bout) {
        st = mh_ossl_error(err, "out of memory");
        goto out;
    }
    MH_CHECK(envelope(c, bin, bout, err));
    char *p = NULL;
    long len = BIO_get_mem_data(bout, &p);
    if (len < 0) {
        st = mh_ossl_error(err, "CMS output failed");
        goto out;
    }
    st = mh_buf_append(out, p, (size_t)len);
    if (st) mh_error_set(err, st, "cannot hold the envelope", NULL);
out:
    BIO_free(bin);
    BIO_free(bout);
    return st;
}

mh_status mh_cms_encrypt_file(const mh_certs *c, const char *in_path, const char *out_path,
                              mh_error *err)
{
    mh_status st = MH_OK;
    BIO *bin = NULL, *bout = NULL;
    FILE *f = NULL;
    char tmp[PATH_MAX];
    bool made = false;
    if (!mh_certs_count(c)) return mh_error_set(err, MH_EINVAL, "no recipient certificate", NULL);
    if (snprintf(tmp, sizeof tmp, "%s.tmp", out_path) >= (int)sizeof tmp)
        return mh_error_set(err, MH_ELIMIT, "path too long", "%s", out_path);
    ERR_clear_error();
    bin = BIO_new_file(in_path, "rb");
    if (!bin) {
        ERR_clear_error();
        st = mh_error_io(err, "cannot open package", in_path);
        goto out;
    }
    f = fopen(tmp, "wb");
    if (!f) {
        st = mh_error_io(err, "cannot create envelope", tmp);
        goto out;
    }
    made = true;
    bout = BIO_new_fp(f, BIO_NOCLOSE);
    if (!bout) {
        st = mh_ossl_error(err, "out of memory");
        goto out;
    }
    MH_CHECK(envelope(c, bin, bout, err));
    if (fflush(f) != 0 || fsync(fileno(f)) != 0) {
        st = mh_error_io(err, "cannot write envelope", tmp);
        goto out;
    }
    int rc = fclose(f);
    f = NULL;
    if (rc != 0) {
        st = mh_error_io(err, "cannot write envelope", tmp);
        goto out;
    }
    if (rename(tmp, out_path) != 0) {
        st = mh_error_io(err, "cannot rename envelope", out_path);
        goto out;
    }
    made = false;
    MH_CHECK(mh_fs_fsync_parent(out_path, err));
out:
    BIO_free(bout);
    if (f) fclose(f);
    if (made) unlink(tmp);
    BIO_free(bin);
    return st;
}
