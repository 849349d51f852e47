/*
 * base/sha256.h -- SHA-256 (FIPS 180-4), self-contained
 *
 * Used where a fingerprint must be computed without the OpenSSL adapter
 * (src/notify/crypto.c owns OpenSSL): the simulator's truth file gives the
 * SHA-256 of every planted secret. Written here from the standard; checked
 * against the FIPS 180-4 / NIST example vectors in tests/unit/test_sim.c.
 *
 * Streaming: init, update any number of times, final. No allocation, no
 * failure. Thread-safety: one context per thread.
 */
#ifndef MH_BASE_SHA256_H
#define MH_BASE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define MH_SHA256_LEN 32

struct mh_sha256 {
    uint32_t h[8];
    uint64_t nbytes; /* message length so far */
    unsigned char blk[64];
    size_t nblk; /* bytes waiting in blk */
};

void mh_sha256_init(struct mh_sha256 *c);
void mh_sha256_update(struct mh_sha256 *c, const void *p, size_t n);
void mh_sha256_final(struct mh_sha256 *c, unsigned char out[MH_SHA256_LEN]);
/* One shot: digest of p[0..n). */
void mh_sha256(const void *p, size_t n, unsigned char out[MH_SHA256_LEN]);
/* One shot, as 64 lower-case hex digits + NUL into hex[65]. */
void mh_sha256_hex(const void *p, size_t n, char hex[2 * MH_SHA256_LEN + 1]);

#endif
