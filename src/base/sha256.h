/*
 * base/sha256.h -- SHA-256 (FIPS 180-4): the one implementation, over OpenSSL EVP
 *
 * Every SHA-256 in mailhound comes from here: mail-store message ids
 * (ingest/mailstore.c), secret fingerprints (secrets/scan.c), the planted
 * secrets of the simulator's truth file (sim/truth.c), package manifests and
 * the ledger's package hashes (notify/). It lives in base/ so that every
 * stage may use it (the stage order forbids ingest/ or secrets/ from
 * reaching notify/crypto.c); base/sha256.c is the OpenSSL adapter for
 * message digests, notify/crypto.c the one for CMS envelopes and SHA-1
 * (scripts/checksrc lists both).
 *
 * Errors: OpenSSL allocates (a digest context per init), so every function
 * that computes can fail: MH_ENOMEM when the context cannot be allocated,
 * MH_ECRYPTO when OpenSSL refuses (no SHA-256 in the loaded providers, an
 * internal failure; the first queued OpenSSL reason is in err->detail and
 * the thread's OpenSSL error queue is left empty). On failure the output
 * is untouched. err may be NULL.
 *
 * Streaming: init, update any number of times, final (which releases the
 * context); fini releases a context without a result and is safe after
 * final, after a failed init and on a zeroed struct, so a single cleanup
 * label can always call it.
 *
 *   struct mh_sha256 h = {0};
 *   MH_CHECK(mh_sha256_init(&h, err));
 *   MH_CHECK(mh_sha256_update(&h, p, n, err));
 *   MH_CHECK(mh_sha256_final(&h, md, err));
 * out:
 *   mh_sha256_fini(&h);
 *
 * Cost: the SHA-256 implementation is fetched from OpenSSL once per process
 * (thread-safe); after that a digest costs one context allocation plus
 * OpenSSL's assembly compression (SHA-NI / AVX2 where the CPU has them).
 * Threading: all functions are reentrant; one mh_sha256 per thread.
 */
#ifndef MH_BASE_SHA256_H
#define MH_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

#define MH_SHA256_LEN 32
#define MH_SHA256_HEX 65 /* 64 lower-case hex digits + NUL */

struct mh_sha256 {
    void *ctx; /* EVP_MD_CTX; NULL when not started or finished */
};

/* Start a digest. MH_ENOMEM, MH_ECRYPTO (h->ctx stays NULL). */
MH_MUST_CHECK mh_status mh_sha256_init(struct mh_sha256 *h, mh_error *err);
/* Add p[0..n) (p may be NULL when n is 0). MH_EINVAL when h is not started,
 * MH_ECRYPTO. */
MH_MUST_CHECK mh_status mh_sha256_update(struct mh_sha256 *h, const void *p, size_t n,
                                         mh_error *err);
/* Finish into out and release the context (also on failure). MH_EINVAL when
 * h is not started, MH_ECRYPTO. */
MH_MUST_CHECK mh_status mh_sha256_final(struct mh_sha256 *h, uint8_t out[MH_SHA256_LEN],
                                        mh_error *err);
/* Release without a result; h may be NULL, zeroed or finished. */
void mh_sha256_fini(struct mh_sha256 *h);

/* One shot: digest of p[0..n) (p may be NULL when n is 0). MH_ENOMEM, MH_ECRYPTO. */
MH_MUST_CHECK mh_status mh_sha256(const void *p, size_t n, uint8_t out[MH_SHA256_LEN],
                                  mh_error *err);
/* One shot, as 64 lower-case hex digits + NUL into hex. MH_ENOMEM, MH_ECRYPTO. */
MH_MUST_CHECK mh_status mh_sha256_hex(const void *p, size_t n, char hex[MH_SHA256_HEX],
                                      mh_error *err);
/*
 * Digest of a whole file, read in MH_READ_CHUNK_BYTES pieces; *size (may be
 * NULL) receives its length. MH_EIO (errno in err, origin = path) when it
 * cannot be opened or read; MH_ENOMEM, MH_ECRYPTO.
 */
MH_MUST_CHECK mh_status mh_sha256_file(const char *path, uint8_t out[MH_SHA256_LEN], uint64_t *size,
                                       mh_error *err);

/*
 * For the OpenSSL adapters (this one and notify/crypto.c): the first queued
 * OpenSSL error as err (msg = what, detail = OpenSSL's reason), the thread's
 * error queue cleared. Returns MH_ENOMEM for an OpenSSL allocation failure,
 * else MH_ECRYPTO.
 */
MH_MUST_CHECK mh_status mh_ossl_error(mh_error *err, const char *what);

/* Lower-case hex of p[0..n) into out (2n+1 bytes, NUL-terminated): digests, UUIDs. */
void mh_hex(const uint8_t *p, size_t n, char *out);

#endif
