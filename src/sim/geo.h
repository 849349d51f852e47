/*
 * sim/geo.h -- places, networks and IP addresses of the simulated world
 *
 * Pipeline: sim. A static table of cities (country, state, coordinates,
 * UTC offset) and of address blocks ("networks": an IPv4 /16 or an IPv6 /48,
 * with city, ASN and a ROLE). Roles partition the address space so that the
 * ground truth stays honest:
 *   HOME, OFFICE, MOBILE, HOTEL, CLOUD   -- only ever used by normal life;
 *   ATK_RES, ATK_HOST                    -- only ever used by attackers.
 * A detection can therefore never be "right" by accident on an address, and
 * `--scenario none` provably contains no attacker address. Which attacker
 * blocks, countries and hosts a run uses is drawn per seed, so no single
 * address or prefix is constant across seeds.
 *
 * The blocks look like public ISP / hosting space but are not claims about
 * real allocations. IPv6 blocks are written without zero compression
 * (valid RFC 4291 text; every group non-empty).
 */
#ifndef MH_SIM_GEO_H
#define MH_SIM_GEO_H

#include <stdint.h>

#include "sim/emit.h"
#include "sim/rng.h"

enum sim_net_role {
    NET_HOME = 0,
    NET_OFFICE,
    NET_MOBILE,
    NET_HOTEL,
    NET_CLOUD,
    NET_ATK_RES,
    NET_ATK_HOST,
    NET__ROLES
};

struct sim_city {
    const char *name, *state, *country, *lat, *lon;
    int16_t tz_min; /* standard UTC offset in minutes */
};

struct sim_net {
    uint16_t p[3]; /* v4: p[0].p[1] = first two octets; v6: first three groups */
    uint8_t v6;
    uint8_t role;
    uint16_t city;
    uint32_t asn;
};

/* An address: a network plus host bits. */
struct sim_ip {
    uint16_t net;
    uint16_t h16;
    uint32_t pad;
    uint64_t h64;
};

extern const struct sim_city sim_cities[];
extern const uint16_t sim_ncities;
extern const struct sim_net sim_nets[];
extern const uint16_t sim_nnets;

/* Index of the city with that name, or 0. */
uint16_t sim_city_find(const char *name);
/* A random network of `role`, in `country` when not NULL (falls back to any
 * country when that country has none). */
uint16_t sim_net_pick(struct sim_rng *r, int role, const char *country);
/* Number of networks with that role and the i-th of them. */
uint16_t sim_net_count(int role);
uint16_t sim_net_nth(int role, uint16_t i);
void sim_ip_make(struct sim_rng *r, uint16_t net, struct sim_ip *ip);
const struct sim_city *sim_ip_city(const struct sim_ip *ip);
static inline const struct sim_net *sim_ip_net(const struct sim_ip *ip)
{
    return &sim_nets[ip->net];
}
void sim_tx_ip(struct sim_tx *t, const struct sim_ip *ip);
/* Text form into out (>= 48 bytes); returns length. */
size_t sim_ip_str(const struct sim_ip *ip, char *out);

#endif
