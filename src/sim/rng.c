/*
 * sim/rng.c -- splitmix64 seeding and xoshiro256** (see rng.h)
 */
#include "sim/rng.h"

#include <math.h>

uint64_t sim_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

void sim_rng_seed(struct sim_rng *r, uint64_t seed)
{
    uint64_t st = seed;
    for (int i = 0; i < 4; i++) r->s[i] = sim_splitmix64(&st);
    if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3])) r->s[0] = 1;
}

uint64_t sim_mix(uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t st = a ^ UINT64_C(0x6a09e667f3bcc909);
    uint64_t h = sim_splitmix64(&st);
    st = h ^ b;
    h = sim_splitmix64(&st);
    st = h ^ c;
    return sim_splitmix64(&st);
}

void sim_rng_derive(struct sim_rng *r, uint64_t seed, uint64_t purpose, uint64_t a, uint64_t b)
{
    sim_rng_seed(r, sim_mix(seed, purpose * UINT64_C(0x100000001b3) ^ a, b));
}

static inline uint64_t rotl(uint64_t x, int k)
{
    return (x << k) | (x >> (64 - k));
}

uint64_t sim_rng_next(struct sim_rng *r)
{
    uint64_t *s = r->s;
    const uint64_t result = rotl(s[1] * 5, 7) * 9;
    const uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t sim_rng_below(struct sim_rng *r, uint64_t n)
{
    if (n == 0) return 0;
    uint64_t x = sim_rng_next(r);
    unsigned __int128 m = (unsigned __int128)x * n;
    uint64_t l = (uint64_t)m;
    if (l < n) {
        uint64_t t = -n % n;
        while (l < t) {
            x = sim_rng_next(r);
            m = (unsigned __int128)x * n;
            l = (uint64_t)m;
        }
    }
    return (uint64_t)(m >> 64);
}

int64_t sim_rng_range(struct sim_rng *r, int64_t lo, int64_t hi)
{
    if (hi <= lo) return lo;
    return lo + (int64_t)sim_rng_below(r, (uint64_t)(hi - lo) + 1);
}

double sim_rng_unit(struct sim_rng *r)
{
    return (double)(sim_rng_next(r) >> 11) * 0x1.0p-53;
}

bool sim_rng_chance(struct sim_rng *r, double p)
{
    return sim_rng_unit(r) < p;
}

size_t sim_rng_weighted(struct sim_rng *r, const uint16_t *w, size_t n)
{
    uint64_t total = 0;
    for (size_t i = 0; i < n; i++) total += w[i];
    uint64_t x = sim_rng_below(r, total);
    for (size_t i = 0; i < n; i++) {
        if (x < w[i]) return i;
        x -= w[i];
    }
    return n ? n - 1 : 0;
}

void sim_rng_bytes(struct sim_rng *r, void *out, size_t n)
{
    unsigned char *p = out;
    while (n) {
        uint64_t x = sim_rng_next(r);
        for (int i = 0; i < 8 && n; i++, n--) {
            *p++ = (unsigned char)x;
            x >>= 8;
        }
    }
}

uint32_t sim_rng_poisson(struct sim_rng *r, double mean)
{
    if (mean <= 0) return 0;
    if (mean > 30) mean = 30;
    double l = exp(-mean), p = 1.0;
    uint32_t k = 0;
    do {
        k++;
        p *= sim_rng_unit(r);
    } while (p > l);
    return k - 1;
}

void sim_rng_shuffle_u32(struct sim_rng *r, uint32_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)sim_rng_below(r, i);
        uint32_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}
