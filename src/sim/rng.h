/*
 * sim/rng.h -- the simulator's own pseudo-random numbers
 *
 * Pipeline: sim (test-data generator), used by every sim/ file.
 * Generator: xoshiro256** (Blackman & Vigna), seeded through splitmix64.
 * Never rand(): output must be byte-identical for the same --seed on every
 * platform and libc.
 *
 * Streams: a generator is derived from (seed, purpose, a, b) by mixing the
 * four values through splitmix64, so every concern draws from its own
 * stream -- e.g. (seed, LIFE, user, day) for one user's day. Normal life is
 * thus independent of the attack scenarios: `--scenario none` produces the
 * same normal activity as `--scenario all`, only without the attacker.
 *
 * All helpers are exact integer arithmetic except sim_rng_unit (a double in
 * [0,1) from the top 53 bits), which is deterministic under IEEE-754.
 * Thread-safety: a generator is plain state; one per user of it.
 */
#ifndef MH_SIM_RNG_H
#define MH_SIM_RNG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct sim_rng {
    uint64_t s[4];
};

/* Purposes for sim_rng_derive (stream families). */
enum sim_stream {
    SIM_S_WORLD = 1, /* tenants, users, apps, partners */
    SIM_S_LIFE,      /* (user, day): one user's day */
    SIM_S_TENANT,    /* (tenant, day): tenant-level admin work, apps */
    SIM_S_MAIL,      /* (serial, 0): one message's text */
    SIM_S_MB,        /* Midnight Blizzard plan */
    SIM_S_STORM,     /* Storm-0558 plan */
    SIM_S_SECRET,    /* planted secrets */
    SIM_S_IDS,       /* record ids */
};

uint64_t sim_splitmix64(uint64_t *state);
void sim_rng_seed(struct sim_rng *r, uint64_t seed);
void sim_rng_derive(struct sim_rng *r, uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b);
uint64_t sim_rng_next(struct sim_rng *r);
/* Uniform in [0, n); n = 0 gives 0. Unbiased (Lemire's method). */
uint64_t sim_rng_below(struct sim_rng *r, uint64_t n);
/* Uniform in [lo, hi] (inclusive). */
int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi);
/* Double in [0, 1). */
double sim_rng_unit(struct sim_rng *r);
/* True with probability p. */
bool sim_rng_chance(struct sim_rng *r, double p);
/* Index drawn with the given integer weights (sum > 0). */
size_t sim_rng_weighted(struct sim_rng *r, const uint16_t *w, size_t n);
/* Fill n bytes. */
void sim_rng_bytes(struct sim_rng *r, void *out, size_t n);
/* Poisson-distributed count with mean `mean` (Knuth; mean <= 30). */
uint32_t sim_rng_poisson(struct sim_rng *r, double mean);
/* Shuffle an array of uint32 in place (Fisher-Yates). */
void sim_rng_shuffle_u32(struct sim_rng *r, uint32_t *a, size_t n);
/* A 64-bit hash of (a, b, c) for ids that must not need a generator. */
uint64_t sim_mix(uint64_t a, uint64_t b, uint64_t c);

#endif
