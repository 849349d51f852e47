/*
 * tests/unit/test_crypto.c -- notify/crypto.c: SHA-1 and CMS envelopes
 *
 * SHA-1 against RFC 3174 "abc" and the empty string (SHA-256 is
 * base/sha256.c: tests/unit/test_sha256.c).
 * CMS: throwaway RSA-2048 and EC P-256 certificates are made here with the
 * OpenSSL API (tests may include OpenSSL; the library may not), a buffer and
 * a multi-megabyte file are enveloped to both, and each recipient decrypts
 * with the OpenSSL API and with `openssl cms -decrypt` when the binary is
 * installed. The envelope must be AuthEnvelopedData with AES-256-GCM, and a
 * key that is not a recipient must not open it.
 */
#include <openssl/pem.h> /* before cms.h: it declares the CMS PEM functions */
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <openssl/x509.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdlib.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/sha256.h"
#include "mh_test.h"
#include "mh_testfs.h"
#include "notify/crypto.h"

static char tmpdir[256];

static void t_sha1(void)
{
    uint8_t md1[MH_SHA1_LEN];
    char hex[2 * MH_SHA1_LEN + 1];
    mh_error err;
    CHECK_INT(mh_digest_sha1("abc", 3, md1, &err), MH_OK);
    mh_hex(md1, sizeof md1, hex);
    CHECK_STREQ(hex, "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK_INT(mh_digest_sha1(NULL, 0, md1, &err), MH_OK);
    mh_hex(md1, sizeof md1, hex);
    CHECK_STREQ(hex, "da39a3ee5e6b4b0d3255bfef95601890afd80709");
}

/* ---- throwaway certificates ---- */

struct ident {
    EVP_PKEY *key;
    X509 *cert;
    char cert_pem[8192];
    char key_pem[8192];
};

static X509 *self_signed(EVP_PKEY *k, const char *cn)
{
    X509 *x = X509_new();
    if (!x) return NULL;
    X509_set_version(x, 2);
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), 0);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400L);
    X509_set_pubkey(x, k);
    X509_NAME *name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, k, EVP_sha256())) {
        X509_free(x);
        return NULL;
    }
    return x;
}

static int make_ident(struct ident *id, bool ec, const char *cn)
{
    memset(id, 0, sizeof *id);
    id->key = ec ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
    if (!id->key) return 0;
    id->cert = self_signed(id->key, cn);
    if (!id->cert) return 0;
    BIO *b = BIO_new(BIO_s_mem());
    char *p;
    PEM_write_bio_X509(b, id->cert);
    long n = BIO_get_mem_data(b, &p);
    fmtp(id->cert_pem, sizeof id->cert_pem, "%.*s", (int)n, p);
    BIO_free(b);
    b = BIO_new(BIO_s_mem());
    PEM_write_bio_PrivateKey(b, id->key, NULL, NULL, 0, NULL, NULL);
    n = BIO_get_mem_data(b, &p);
    fmtp(id->key_pem, sizeof id->key_pem, "%.*s", (int)n, p);
    BIO_free(b);
    return 1;
}

static void free_ident(struct ident *id)
{
    X509_free(id->cert);
    EVP_PKEY_free(id->key);
}

/* Decrypt a PEM envelope with the API; returns 1 and fills out on success. */
static int api_decrypt(const char *pem, size_t n, struct ident *id, struct mh_buf *out, int *auth)
{
    int ok = 0;
    BIO *in = BIO_new_mem_buf(pem, (int)n);
    BIO *o = BIO_new(BIO_s_mem());
    CMS_ContentInfo *cms = PEM_read_bio_CMS(in, NULL, NULL, NULL);
    if (cms) {
        *auth = OBJ_obj2nid(CMS_get0_type(cms)) == NID_id_smime_ct_authEnvelopedData;
        if (CMS_decrypt(cms, id->key, id->cert, NULL, o, CMS_BINARY) == 1) {
            char *p;
            long len = BIO_get_mem_data(o, &p);
            ok = mh_buf_append(out, p, (size_t)len) == MH_OK;
        }
    }
    ERR_clear_error();
    CMS_ContentInfo_free(cms);
    BIO_free(o);
    BIO_free(in);
    return ok;
}

static int write_text(const char *path, const char *s, size_t n)
{
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    size_t w = fwrite(s, 1, n, f);
    return fclose(f) == 0 && w == n;
}

static int have_openssl_cli(void)
{
    return system("openssl version >/dev/null 2>&1") == 0;
}

/* Decrypt envelope file env with the openssl binary; compare with expect. */
static int cli_decrypt_matches(const char *env, struct ident *id, const char *tag,
                               const void *expect, size_t n)
{
    char cert[300], key[300], outp[300], cmd[1400];
    fmtp(cert, sizeof cert, "%s/%s.crt", tmpdir, tag);
    fmtp(key, sizeof key, "%s/%s.key", tmpdir, tag);
    fmtp(outp, sizeof outp, "%s/%s.out", tmpdir, tag);
    if (!write_text(cert, id->cert_pem, strlen(id->cert_pem)) ||
        !write_text(key, id->key_pem, strlen(id->key_pem)))
        return 0;
    fmtp(cmd, sizeof cmd,
             "openssl cms -decrypt -binary -inform PEM -in '%s' -recip '%s' -inkey '%s' -out '%s' "
             "2>/dev/null",
             env, cert, key, outp);
    if (system(cmd) != 0) return 0;
    struct mh_buf b;
    mh_buf_init(&b, 64u << 20);
    FILE *f = fopen(outp, "rb");
    int same = 0;
    if (f) {
        char tmp[65536];
        size_t r;
        while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
            if (mh_buf_append(&b, tmp, r) != MH_OK) break;
        fclose(f);
        same = b.len == n && (n == 0 || memcmp(b.data, expect, n) == 0);
    }
    mh_buf_fini(&b);
    return same;
}

static struct ident rsa, ec, stranger;
static int idents_ok;

static void t_certs(void)
{
    mh_certs *c = NULL;
    mh_error err;
    idents_ok = make_ident(&rsa, false, "rsa recipient") && make_ident(&ec, true, "ec recipient") &&
                make_ident(&stranger, true, "not a recipient");
    CHECK(idents_ok);
    if (!idents_ok) return;
    CHECK_INT(mh_certs_new(&c, &err), MH_OK);
    if (!c) return;
    char both[16384];
    fmtp(both, sizeof both, "# two recipients\n%s%s", rsa.cert_pem, ec.cert_pem);
    CHECK_INT(mh_certs_add_pem(c, both, strlen(both), &err), MH_OK);
    CHECK_INT(mh_certs_count(c), 2);
    /* no certificate at all */
    mh_error_clear(&err);
    CHECK_INT(mh_certs_add_pem(c, "hello\n", 6, &err), MH_ECRYPTO);
    CHECK_STREQ(err.msg, "no certificate found");
    /* a damaged certificate: nothing of the text is added */
    char bad[8192];
    fmtp(bad, sizeof bad, "%s", rsa.cert_pem);
    char *mid = strstr(bad, "\n") + 10;
    memcpy(mid, "!!!!", 4);
    CHECK_INT(mh_certs_add_pem(c, bad, strlen(bad), &err), MH_ECRYPTO);
    CHECK_INT(mh_certs_count(c), 2);
    CHECK_INT(mh_certs_add_file(c, "/nonexistent.pem", &err), MH_EIO);
    /* encrypting to nobody is refused */
    mh_certs *empty = NULL;
    struct mh_buf out;
    mh_buf_init(&out, 0);
    CHECK_INT(mh_certs_new(&empty, &err), MH_OK);
    CHECK_INT(mh_cms_encrypt(empty, "x", 1, &out, &err), MH_EINVAL);
    mh_certs_free(empty);
    mh_certs_free(c);
    mh_certs_free(NULL);
    mh_buf_fini(&out);
}

static void t_cms_roundtrip(void)
{
    if (!idents_ok) return;
    mh_certs *c = NULL;
    mh_error err;
    char path[300];
    CHECK_INT(mh_certs_new(&c, &err), MH_OK);
    fmtp(path, sizeof path, "%s/recipients.pem", tmpdir);
    char both[16384];
    fmtp(both, sizeof both, "%s%s", rsa.cert_pem, ec.cert_pem);
    CHECK(write_text(path, both, strlen(both)));
    CHECK_INT(mh_certs_add_file(c, path, &err), MH_OK);
    CHECK_INT(mh_certs_count(c), 2);

    /* binary content: zeros, high bytes, CR LF (CMS_BINARY keeps them) */
    size_t n = 100000;
    unsigned char *data = mh_malloc(n);
    for (size_t i = 0; i < n; i++) data[i] = (unsigned char)((i * 31) ^ (i >> 7));
    memcpy(data, "\r\n\0\r", 4);
    struct mh_buf env, env2, dec;
    mh_buf_init(&env, 0);
    mh_buf_init(&env2, 0);
    mh_buf_init(&dec, 0);
    CHECK_INT(mh_cms_encrypt(c, data, n, &env, &err), MH_OK);
    CHECK(env.len > n && !strncmp(env.data, "-----BEGIN CMS-----", 19));
    int auth = 0;
    CHECK(api_decrypt(env.data, env.len, &rsa, &dec, &auth));
    CHECK(auth);
    CHECK(dec.len == n && memcmp(dec.data, data, n) == 0);
    mh_buf_clear(&dec);
    CHECK(api_decrypt(env.data, env.len, &ec, &dec, &auth));
    CHECK(dec.len == n && memcmp(dec.data, data, n) == 0);
    mh_buf_clear(&dec);
    CHECK(!api_decrypt(env.data, env.len, &stranger, &dec, &auth));
    /* a fresh content key every time: same input, different envelope */
    CHECK_INT(mh_cms_encrypt(c, data, n, &env2, &err), MH_OK);
    CHECK(env.len != env2.len || memcmp(env.data, env2.data, env.len) != 0);

    /* file to file, streaming (5 MB) */
    char in[300], outp[300];
    fmtp(in, sizeof in, "%s/big.bin", tmpdir);
    fmtp(outp, sizeof outp, "%s/big.cms.pem", tmpdir);
    size_t big = 5u << 20;
    unsigned char *bd = mh_malloc(big);
    for (size_t i = 0; i < big; i++) bd[i] = (unsigned char)(i ^ (i >> 11));
    CHECK(write_text(in, (const char *)bd, big));
    CHECK_INT(mh_cms_encrypt_file(c, in, outp, &err), MH_OK);
    char tmpname[320];
    fmtp(tmpname, sizeof tmpname, "%s.tmp", outp);
    CHECK(access(tmpname, F_OK) != 0); /* renamed into place */
    struct mh_buf fenv;
    mh_buf_init(&fenv, 0);
    FILE *f = fopen(outp, "rb");
    if (f) {
        char tmp[65536];
        size_t r;
        while ((r = fread(tmp, 1, sizeof tmp, f)) > 0)
            if (mh_buf_append(&fenv, tmp, r) != MH_OK) break;
        fclose(f);
    }
    mh_buf_clear(&dec);
    CHECK(api_decrypt(fenv.data, fenv.len, &ec, &dec, &auth));
    CHECK(auth);
    CHECK(dec.len == big && memcmp(dec.data, bd, big) == 0);
    CHECK_INT(mh_cms_encrypt_file(c, "/nonexistent/in", outp, &err), MH_EIO);

    if (have_openssl_cli()) {
        char envp[300];
        fmtp(envp, sizeof envp, "%s/small.cms.pem", tmpdir);
        CHECK(write_text(envp, env.data, env.len));
        CHECK(cli_decrypt_matches(envp, &rsa, "rsa", data, n));
        CHECK(cli_decrypt_matches(envp, &ec, "ec", data, n));
        CHECK(cli_decrypt_matches(outp, &rsa, "rsa-big", bd, big));
        CHECK(!cli_decrypt_matches(envp, &stranger, "stranger", data, n));
    } else {
        fprintf(stderr, "note: no openssl binary; decrypted with the API only\n");
    }
    mh_buf_fini(&fenv);
    mh_free(bd);
    mh_free(data);
    mh_buf_fini(&dec);
    mh_buf_fini(&env2);
    mh_buf_fini(&env);
    mh_certs_free(c);
}

int main(void)
{
    fmtp(tmpdir, sizeof tmpdir, "/tmp/mh-test-crypto-XXXXXX");
    if (!mkdtemp(tmpdir)) return 1;
    static const struct mh_test T[] = {
        {"sha1", t_sha1},
        {"certs", t_certs},
        {"cms_roundtrip", t_cms_roundtrip},
    };
    int rc = MH_TEST_RUN(T);
    free_ident(&rsa);
    free_ident(&ec);
    free_ident(&stranger);
    char cmd[300];
    fmtp(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) rc = 1;
    return rc;
}
