/*
 * notify/crypto.h -- the one OpenSSL adapter: digests and CMS envelopes
 *
 * Pipeline: scope -> [notify: packages] -> delivery. Packages name every
 * payload file by its SHA-256 (BagIt manifests), STIX ids are UUIDv5 (SHA-1
 * of namespace + name), and a package sent to an organisation that has an
 * X.509 certificate is wrapped in a CMS AuthEnvelopedData (RFC 5083) with
 * AES-256-GCM: one RecipientInfo per certificate (RSA: key transport, EC:
 * key agreement), PEM output, readable by S/MIME clients and
 * `openssl cms -decrypt -inform PEM -in X.pem -recip cert.pem -inkey key.pem`.
 *
 * Only src/notify/crypto.c includes OpenSSL headers. OpenSSL errors become
 * MH_ECRYPTO with the first queued OpenSSL reason in mh_error.detail; I/O
 * failures are MH_EIO with errno.
 *
 * Names: mh_digest_* (base/sha256.h owns the mh_sha256_* names: a small
 * self-contained SHA-256 for code that must not depend on OpenSSL; both give
 * the same digests, tests/unit/test_crypto.c checks that they agree).
 *
 * Determinism: digests are deterministic; CMS envelopes are not (a fresh
 * random content key and IV per envelope, by design) -- the plaintext
 * package inside is.
 *
 * Memory: OpenSSL allocates with its own allocator (it cannot be switched to
 * the mh_malloc seam once any other library has touched OpenSSL).
 * Threading: all functions are reentrant; a mh_certs is read-only once built
 * and may be shared by threads.
 */
#ifndef MH_NOTIFY_CRYPTO_H
#define MH_NOTIFY_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "mailhound/status.h"

#ifndef MH_SHA256_LEN
#define MH_SHA256_LEN 32 /* same value as base/sha256.h */
#endif
#define MH_SHA256_HEX 65 /* 64 hex digits + NUL */
#define MH_SHA1_LEN 20

/* Incremental SHA-256 (EVP). init/update/final; fini releases without a result
 * (safe after final and on a zeroed struct). */
struct mh_digest {
    void *ctx; /* EVP_MD_CTX */
};
MH_MUST_CHECK mh_status mh_digest_init(struct mh_digest *h, mh_error *err);
MH_MUST_CHECK mh_status mh_digest_update(struct mh_digest *h, const void *p, size_t n,
                                         mh_error *err);
MH_MUST_CHECK mh_status mh_digest_final(struct mh_digest *h, uint8_t out[MH_SHA256_LEN],
                                        mh_error *err);
void mh_digest_fini(struct mh_digest *h);

/* One-shot digests of a buffer (p may be NULL when n is 0). */
MH_MUST_CHECK mh_status mh_digest_sha256(const void *p, size_t n, uint8_t out[MH_SHA256_LEN],
                                      mh_error *err);
MH_MUST_CHECK mh_status mh_digest_sha1(const void *p, size_t n, uint8_t out[MH_SHA1_LEN],
                                    mh_error *err);
/* SHA-256 of a whole file, read in MH_READ_CHUNK_BYTES pieces; *size (may be
 * NULL) receives its length. MH_EIO with errno when it cannot be read. */
MH_MUST_CHECK mh_status mh_digest_sha256_file(const char *path, uint8_t out[MH_SHA256_LEN],
                                       uint64_t *size, mh_error *err);

/* Lower-case hex of p[0..n) into out (2n+1 bytes, NUL-terminated). */
void mh_hex(const uint8_t *p, size_t n, char *out);
/* Convenience: SHA-256 hex of a buffer into out[MH_SHA256_HEX]. */
MH_MUST_CHECK mh_status mh_digest_sha256_hex(const void *p, size_t n, char out[MH_SHA256_HEX],
                                      mh_error *err);

/* A set of recipient certificates (X.509). */
typedef struct mh_certs mh_certs;
MH_MUST_CHECK mh_status mh_certs_new(mh_certs **out, mh_error *err);
void mh_certs_free(mh_certs *c);
/* Add every certificate in a PEM text (one or more BEGIN CERTIFICATE
 * blocks). MH_ECRYPTO when the text holds none or one is malformed. */
MH_MUST_CHECK mh_status mh_certs_add_pem(mh_certs *c, const void *pem, size_t n, mh_error *err);
/* Same, from a file (MH_EIO when unreadable). */
MH_MUST_CHECK mh_status mh_certs_add_file(mh_certs *c, const char *path, mh_error *err);
size_t mh_certs_count(const mh_certs *c);

/*
 * Encrypt in[0..n) to every certificate in c as CMS AuthEnvelopedData with
 * AES-256-GCM (CMS_BINARY | CMS_STREAM) and append the PEM text
 * ("-----BEGIN CMS-----") to out. MH_EINVAL when c is empty, MH_ECRYPTO,
 * MH_ENOMEM, MH_ELIMIT (out's maximum).
 */
MH_MUST_CHECK mh_status mh_cms_encrypt(const mh_certs *c, const void *in, size_t n,
                                       struct mh_buf *out, mh_error *err);
/*
 * Same, streaming from the file in_path to out_path: the envelope is written
 * to "<out_path>.tmp", fsync'd, then renamed over out_path, so out_path is
 * either absent, the old file, or the complete envelope.
 */
MH_MUST_CHECK mh_status mh_cms_encrypt_file(const mh_certs *c, const char *in_path,
                                            const char *out_path, mh_error *err);

#endif
