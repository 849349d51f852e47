/*
 * base/hash.c -- 64-bit hash and bounded string map (see hash.h)
 */
#include "base/hash.h"

#include <string.h>

#include "base/alloc.h"

static inline uint64_t mix(uint64_t a, uint64_t b)
{
    __uint128_t r = (__uint128_t)a * b;
    return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline uint64_t rd64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

static inline uint64_t rd_tail(const unsigned char *p, size_t n)
{
    uint64_t v = 0;
    memcpy(&v, p, n);
    return v;
}

#define P0 0xa0761d6478bd642fULL
#define P1 0xe7037ed1a0b428dbULL
#define P2 0x8ebc6af09c88c6e3ULL

uint64_t mh_hash64(const void *data, size_t n, uint64_t seed)
{
    const unsigned char *p = data;
    uint64_t h = seed ^ P0 ^ (uint64_t)n;
    while (n >= 16) {
        h = mix(rd64(p) ^ P1, rd64(p + 8) ^ h);
        p += 16;
        n -= 16;
    }
    if (n >= 8) {
        h = mix(rd64(p) ^ P1, h ^ P2);
        p += 8;
        n -= 8;
    }
    if (n) h = mix(rd_tail(p, n) ^ P2, h ^ P1);
    return mix(h ^ P0, h ^ P2);
}

uint64_t mh_hash64_nocase(const void *data, size_t n, uint64_t seed)
{
    unsigned char tmp[64];
    const unsigned char *p = data;
    uint64_t h = seed ^ (uint64_t)n;
    while (n) {
        size_t k = n < sizeof tmp ? n : sizeof tmp;
        for (size_t i = 0; i < k; i++) tmp[i] = mh_ascii_lower(p[i]);
        h = mh_hash64(tmp, k, h);
        p += k;
        n -= k;
    }
    return h;
}

void mh_map_init(struct mh_map *m, size_t max_keys, bool nocase)
{
    memset(m, 0, sizeof *m);
    m->max_keys = max_keys ? max_keys : ((size_t)1 << 30);
    m->nocase = nocase;
    mh_arena_init(&m->keys, 65536, 0);
}

void mh_map_fini(struct mh_map *m)
{
    mh_free(m->entries);
    mh_free(m->slots);
    mh_arena_fini(&m->keys);
    memset(m, 0, sizeof *m);
}

void mh_map_clear(struct mh_map *m)
{
    size_t max = m->max_keys;
    bool nc = m->nocase;
    mh_map_fini(m);
    mh_map_init(m, max, nc);
}

static uint64_t key_hash(const struct mh_map *m, const char *k, size_t n)
{
    return m->nocase ? mh_hash64_nocase(k, n, 0) : mh_hash64(k, n, 0);
}

static bool key_eq(const struct mh_map *m, struct mh_slice a, const char *k, size_t n)
{
    struct mh_slice b = {k, n};
    return m->nocase ? mh_slice_eq_nocase(a, b) : mh_slice_eq(a, b);
}

#define SLOT_TAG(h) ((h) & 0xffffffff00000000ULL)

static struct mh_map_entry *find(const struct mh_map *m, const char *k, size_t n, uint64_t h)
{
    if (!m->nslots) return NULL;
    size_t mask = m->nslots - 1;
    uint64_t tag = SLOT_TAG(h);
    for (size_t i = (size_t)h & mask;; i = (i + 1) & mask) {
        uint64_t s = m->slots[i];
        if (!s) return NULL;
        if (SLOT_TAG(s) != tag) continue;
        struct mh_map_entry *e = &m->entries[(uint32_t)s - 1];
        if (e->hash == h && key_eq(m, e->key, k, n)) return e;
    }
}

struct mh_map_entry *mh_map_get(const struct mh_map *m, const char *k, size_t n)
{
    if (!m->nslots) return NULL;
    return find(m, k, n, key_hash(m, k, n));
}

static void place(uint64_t *slots, size_t mask, uint64_t h, size_t e)
{
    size_t i = (size_t)h & mask;
    while (slots[i]) i = (i + 1) & mask;
    slots[i] = SLOT_TAG(h) | (uint64_t)(e + 1);
}

static mh_status rehash(struct mh_map *m, size_t nslots)
{
    uint64_t *ns = mh_calloc(nslots, sizeof *ns);
    if (!ns) return MH_ENOMEM;
    mh_prefault(ns, nslots * sizeof *ns); /* the rehash writes all over it */
    for (size_t e = 0; e < m->n; e++) place(ns, nslots - 1, m->entries[e].hash, e);
    mh_free(m->slots);
    m->slots = ns;
    m->nslots = nslots;
    return MH_OK;
}

mh_status mh_map_put(struct mh_map *m, const char *k, size_t n, struct mh_map_entry **out,
                     bool *created)
{
    uint64_t h = key_hash(m, k, n);
    struct mh_map_entry *e = find(m, k, n, h);
    if (e) {
        if (created) *created = false;
        *out = e;
        return MH_OK;
    }
    if (m->n >= m->max_keys || m->n >= UINT32_MAX - 1) return MH_ELIMIT;
    if ((m->n + 1) * 2 > m->nslots) MH_TRY(rehash(m, m->nslots ? m->nslots * 2 : 64));
    if (MH_GROW(m->entries, m->cap_entries, (size_t)m->n + 1, 32, SIZE_MAX) != MH_OK)
        return MH_ENOMEM;
    char *kc = mh_arena_strndup(&m->keys, k, n);
    if (!kc) return MH_ENOMEM;
    e = &m->entries[m->n];
    e->key = mh_slice_make(kc, n);
    e->hash = h;
    e->value = 0;
    place(m->slots, m->nslots - 1, h, m->n);
    m->n++;
    if (created) *created = true;
    *out = e;
    return MH_OK;
}
