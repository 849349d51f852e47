/*
 * base/hash.h -- hashing and a bounded string-keyed hash map
 *
 * mh_hash64: a fast non-cryptographic 64-bit hash (wyhash-style mixing,
 * written here) for tables only; never for integrity (use SHA-256).
 *
 * mh_map: open addressing with linear probing, keys copied into the map's own
 * arena, one uint64 value per key (a count, an index or a pointer cast).
 * Capacity is bounded by `max_keys`; inserting beyond it fails with MH_ELIMIT
 * and the caller decides the eviction policy. Iteration order is insertion
 * order (entries are kept in an array), so output built from a map is
 * deterministic.
 *
 * Not thread-safe.
 */
#ifndef MH_BASE_HASH_H
#define MH_BASE_HASH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/slice.h"
#include "mailhound/status.h"

uint64_t mh_hash64(const void *p, size_t n, uint64_t seed);
/* Hash of the ASCII-lowercased bytes. */
uint64_t mh_hash64_nocase(const void *p, size_t n, uint64_t seed);

struct mh_map_entry {
    struct mh_slice key; /* points into the map arena, NUL-terminated */
    uint64_t hash;
    uint64_t value;
};

struct mh_map {
    struct mh_map_entry *entries; /* insertion order */
    uint64_t *slots;              /* low 32 bits: index+1 into entries (0 = empty);
                                     high 32: the hash's top bits, so a probe
                                     rejects most other keys without touching
                                     their entry */
    size_t n, cap_entries, nslots;
    size_t max_keys;
    bool nocase;
    struct mh_arena keys;
};

void mh_map_init(struct mh_map *m, size_t max_keys, bool nocase);
void mh_map_fini(struct mh_map *m);
void mh_map_clear(struct mh_map *m);
/* Find; returns the entry or NULL. */
struct mh_map_entry *mh_map_get(const struct mh_map *m, const char *k, size_t n);
/* Find or insert (value 0 when new). *created tells which, may be NULL. */
MH_MUST_CHECK mh_status mh_map_put(struct mh_map *m, const char *k, size_t n,
                                   struct mh_map_entry **out, bool *created);

#endif
