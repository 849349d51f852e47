/*
 * notify/crypto.h -- OpenSSL adapter for notify: CMS envelopes and SHA-1
 *
 * Pipeline: scope -> [notify: packages] -> delivery. Packages name every
 * payload file by its SHA-256 (BagIt manifests: base/sha256.h, the one
 * SHA-256, usable by every stage), STIX ids are UUIDv5 (SHA-1 of namespace
 * + name, here), and a package sent to an organisation that has an
 * X.509 certificate is wrapped in a CMS AuthEnvelopedData (RFC 5083) with
 * AES-256-GCM: one RecipientInfo per certificate (RSA: key transport, EC:
 * key agreement), PEM output, readable by S/MIME clients and
 * `openssl cms -decrypt -inform PEM -in X.pem -recip cert.pem -inkey key.pem`.
 *
 * OpenSSL headers are included by two adapters only (scripts/checksrc):
 * base/sha256.c (message digests, needed upstream of notify) and this file.
 * OpenSSL errors become MH_ECRYPTO (MH_ENOMEM for OpenSSL allocation
 * failures) with the first queued OpenSSL reason in mh_error.detail
 * (mh_ossl_error); I/O failures are MH_EIO with errno.
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
#include "base/sha256.h"
#include "mailhound/status.h"

#define MH_SHA1_LEN 20

/* One-shot SHA-1 of a buffer (p may be NULL when n is 0): STIX UUIDv5 ids.
 * MH_ENOMEM, MH_ECRYPTO. SHA-256 is base/sha256.h. */
MH_MUST_CHECK mh_status mh_digest_sha1(const void *p, size_t n, uint8_t out[MH_SHA1_LEN],
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
