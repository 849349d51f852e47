/*
 * sim/geo.c -- the city and network tables and address helpers (see geo.h)
 */
#include "sim/geo.h"

#include <string.h>

const struct sim_city sim_cities[] = {
    /* 0 */ {"New York", "New York", "US", "40.7128", "-74.0060", -300},
    {"Seattle", "Washington", "US", "47.6062", "-122.3321", -480},
    {"Chicago", "Illinois", "US", "41.8781", "-87.6298", -360},
    {"Austin", "Texas", "US", "30.2672", "-97.7431", -360},
    {"Boston", "Massachusetts", "US", "42.3601", "-71.0589", -300},
    /* 5 */ {"London", "England", "GB", "51.5074", "-0.1278", 0},
    {"Manchester", "England", "GB", "53.4808", "-2.2426", 0},
    {"Munich", "Bavaria", "DE", "48.1351", "11.5820", 60},
    {"Berlin", "Berlin", "DE", "52.5200", "13.4050", 60},
    {"Hamburg", "Hamburg", "DE", "53.5511", "9.9937", 60},
    /* 10 */ {"Paris", "Ile-de-France", "FR", "48.8566", "2.3522", 60},
    {"Lyon", "Auvergne-Rhone-Alpes", "FR", "45.7640", "4.8357", 60},
    {"Amsterdam", "Noord-Holland", "NL", "52.3676", "4.9041", 60},
    {"Dublin", "Dublin", "IE", "53.3498", "-6.2603", 0},
    {"Toronto", "Ontario", "CA", "43.6532", "-79.3832", -300},
    /* 15 */ {"Tokyo", "Tokyo", "JP", "35.6762", "139.6503", 540},
    {"Singapore", "Singapore", "SG", "1.3521", "103.8198", 480},
    {"Sydney", "New South Wales", "AU", "-33.8688", "151.2093", 600},
    {"Madrid", "Madrid", "ES", "40.4168", "-3.7038", 60},
    {"Zurich", "Zurich", "CH", "47.3769", "8.5417", 60},
    /* 20 */ {"Stockholm", "Stockholm", "SE", "59.3293", "18.0686", 60},
    {"Warsaw", "Mazowieckie", "PL", "52.2297", "21.0122", 60},
    {"Milan", "Lombardy", "IT", "45.4642", "9.1900", 60},
    {"Sao Paulo", "Sao Paulo", "BR", "-23.5505", "-46.6333", -180},
    {"Mumbai", "Maharashtra", "IN", "19.0760", "72.8777", 330},
    /* 25 */ {"Bengaluru", "Karnataka", "IN", "12.9716", "77.5946", 330},
    {"Ho Chi Minh City", "Ho Chi Minh", "VN", "10.8231", "106.6297", 420},
    {"Jakarta", "Jakarta", "ID", "-6.2088", "106.8456", 420},
    {"Istanbul", "Istanbul", "TR", "41.0082", "28.9784", 180},
    {"Mexico City", "Ciudad de Mexico", "MX", "19.4326", "-99.1332", -360},
    /* 30 */ {"Johannesburg", "Gauteng", "ZA", "-26.2041", "28.0473", 120},
    {"Cairo", "Cairo", "EG", "30.0444", "31.2357", 120},
    {"Bangkok", "Bangkok", "TH", "13.7563", "100.5018", 420},
    {"Manila", "Metro Manila", "PH", "14.5995", "120.9842", 480},
    {"Buenos Aires", "Buenos Aires", "AR", "-34.6037", "-58.3816", -180},
    /* 35 */ {"Bogota", "Bogota", "CO", "4.7110", "-74.0721", -300},
    {"Lagos", "Lagos", "NG", "6.5244", "3.3792", 60},
    {"Bucharest", "Bucuresti", "RO", "44.4268", "26.1025", 120},
    {"Chisinau", "Chisinau", "MD", "47.0105", "28.8638", 120},
    {"Vilnius", "Vilnius", "LT", "54.6872", "25.2797", 120},
    /* 40 */ {"Frankfurt", "Hesse", "DE", "50.1109", "8.6821", 60},
    {"Ashburn", "Virginia", "US", "39.0438", "-77.4874", -300},
    {"San Jose", "California", "US", "37.3382", "-121.8863", -480},
    {"Kyiv", "Kyiv", "UA", "50.4501", "30.5234", 120},
    {"Seoul", "Seoul", "KR", "37.5665", "126.9780", 540},
    /* 45 */ {"Hong Kong", "Hong Kong", "HK", "22.3193", "114.1694", 480},
    {"Lisbon", "Lisboa", "PT", "38.7223", "-9.1393", 0},
    {"Vienna", "Vienna", "AT", "48.2082", "16.3738", 60},
    {"Helsinki", "Uusimaa", "FI", "60.1699", "24.9384", 120},
    {"Prague", "Prague", "CZ", "50.0755", "14.4378", 60},
};
const uint16_t sim_ncities = sizeof sim_cities / sizeof sim_cities[0];

#define V4(a, b, city, asn, role)                                                                  \
    {                                                                                              \
        {a, b, 0}, 0, role, city, asn                                                              \
    }
#define V6(a, b, c, city, asn, role)                                                               \
    {                                                                                              \
        {a, b, c}, 1, role, city, asn                                                              \
    }

const struct sim_net sim_nets[] = {
    /* normal life: home broadband */
    V4(73, 21, 0, 7922, NET_HOME),
    V4(98, 116, 0, 7922, NET_HOME),
    V4(24, 45, 1, 7922, NET_HOME),
    V4(71, 212, 1, 20115, NET_HOME),
    V4(67, 180, 2, 7018, NET_HOME),
    V4(99, 53, 3, 7018, NET_HOME),
    V4(108, 20, 4, 701, NET_HOME),
    V6(0x2601, 0x0184, 0x4a00, 0, 7922, NET_HOME),
    V6(0x2600, 0x1700, 0x2b10, 1, 7018, NET_HOME),
    V4(86, 142, 5, 5089, NET_HOME),
    V4(81, 107, 5, 2856, NET_HOME),
    V4(90, 215, 6, 5607, NET_HOME),
    V6(0x2a00, 0x23c7, 0x1e40, 5, 2856, NET_HOME),
    V4(91, 63, 7, 3320, NET_HOME),
    V4(84, 152, 8, 3320, NET_HOME),
    V4(95, 91, 9, 6805, NET_HOME),
    V6(0x2003, 0x00e4, 0x2f20, 7, 3320, NET_HOME),
    V4(88, 161, 10, 3215, NET_HOME),
    V4(92, 184, 11, 15557, NET_HOME),
    V4(83, 85, 12, 1136, NET_HOME),
    V4(89, 101, 13, 5466, NET_HOME),
    V4(70, 49, 14, 812, NET_HOME),
    V4(31, 0, 18, 12479, NET_HOME),
    V4(178, 196, 19, 3303, NET_HOME),
    V4(94, 255, 20, 1257, NET_HOME),
    V4(83, 28, 21, 5617, NET_HOME),
    V4(79, 35, 22, 3269, NET_HOME),
    V4(87, 210, 46, 3243, NET_HOME),
    V4(62, 46, 47, 8447, NET_HOME),
    V4(193, 166, 48, 1759, NET_HOME),
    V4(212, 96, 49, 5610, NET_HOME),
    V4(126, 10, 15, 2516, NET_HOME),
    V4(202, 45, 17, 1221, NET_HOME),
    /* offices: business fibre, one static egress per office (NAT for many users) */
    V4(63, 117, 0, 209, NET_OFFICE),
    V4(64, 125, 1, 6461, NET_OFFICE),
    V4(65, 196, 2, 174, NET_OFFICE),
    V4(62, 254, 5, 2914, NET_OFFICE),
    V4(80, 156, 7, 3209, NET_OFFICE),
    V4(212, 227, 8, 8560, NET_OFFICE),
    V4(194, 154, 10, 5511, NET_OFFICE),
    V4(145, 131, 12, 1103, NET_OFFICE),
    V4(213, 94, 13, 2110, NET_OFFICE),
    V4(206, 47, 14, 6327, NET_OFFICE),
    V4(203, 141, 16, 9506, NET_OFFICE),
    V4(210, 130, 15, 4713, NET_OFFICE),
    /* mobile carriers (CGNAT) */
    V4(172, 56, 0, 21928, NET_MOBILE),
    V4(174, 204, 1, 6167, NET_MOBILE),
    V4(148, 252, 5, 12576, NET_MOBILE),
    V4(82, 132, 5, 206067, NET_MOBILE),
    V4(109, 40, 7, 3209, NET_MOBILE),
    V4(176, 150, 10, 51207, NET_MOBILE),
    V6(0x2607, 0xfb90, 0x5c21, 2, 21928, NET_MOBILE),
    V6(0x2a01, 0x0598, 0x8880, 8, 3209, NET_MOBILE),
    /* hotels / travel wifi */
    V4(153, 156, 15, 4713, NET_HOTEL),
    V4(118, 200, 16, 4773, NET_HOTEL),
    V4(101, 181, 17, 1221, NET_HOTEL),
    V4(37, 165, 10, 3215, NET_HOTEL),
    V4(85, 58, 18, 3352, NET_HOTEL),
    V4(77, 109, 22, 30722, NET_HOTEL),
    V4(99, 229, 14, 577, NET_HOTEL),
    V4(217, 162, 12, 8075, NET_HOTEL),
    V4(46, 114, 19, 6830, NET_HOTEL),
    V4(45, 48, 3, 7922, NET_HOTEL),
    /* cloud datacentres: apps, managed identities, Microsoft services */
    V4(20, 42, 41, 8075, NET_CLOUD),
    V4(40, 112, 41, 8075, NET_CLOUD),
    V4(52, 168, 42, 8075, NET_CLOUD),
    V4(13, 69, 13, 8075, NET_CLOUD),
    V4(20, 79, 12, 8075, NET_CLOUD),
    V4(51, 124, 5, 8075, NET_CLOUD),
    V4(3, 208, 41, 14618, NET_CLOUD),
    V4(35, 190, 42, 15169, NET_CLOUD),
    V4(18, 184, 40, 16509, NET_CLOUD),
    /* attackers: residential proxies in many countries */
    V4(177, 37, 23, 28573, NET_ATK_RES),
    V4(189, 6, 23, 27699, NET_ATK_RES),
    V4(201, 17, 23, 26599, NET_ATK_RES),
    V4(49, 36, 24, 45609, NET_ATK_RES),
    V4(117, 196, 25, 9829, NET_ATK_RES),
    V4(106, 207, 24, 45609, NET_ATK_RES),
    V4(113, 161, 26, 7552, NET_ATK_RES),
    V4(14, 169, 26, 45899, NET_ATK_RES),
    V4(36, 71, 27, 17974, NET_ATK_RES),
    V4(114, 122, 27, 23700, NET_ATK_RES),
    V4(78, 186, 28, 9121, NET_ATK_RES),
    V4(88, 230, 28, 9121, NET_ATK_RES),
    V4(187, 189, 29, 8151, NET_ATK_RES),
    V4(189, 203, 29, 8151, NET_ATK_RES),
    V4(105, 224, 30, 37457, NET_ATK_RES),
    V4(41, 44, 31, 8452, NET_ATK_RES),
    V4(156, 204, 31, 8452, NET_ATK_RES),
    V4(171, 97, 32, 45758, NET_ATK_RES),
    V4(49, 228, 32, 17552, NET_ATK_RES),
    V4(112, 198, 33, 9299, NET_ATK_RES),
    V4(122, 54, 33, 132199, NET_ATK_RES),
    V4(181, 46, 34, 7303, NET_ATK_RES),
    V4(190, 19, 34, 10318, NET_ATK_RES),
    V4(186, 84, 35, 10620, NET_ATK_RES),
    V4(102, 89, 36, 29465, NET_ATK_RES),
    V4(105, 112, 36, 36873, NET_ATK_RES),
    V4(76, 150, 3, 11427, NET_ATK_RES),
    V4(47, 186, 2, 5650, NET_ATK_RES),
    V4(97, 118, 41, 701, NET_ATK_RES),
    V4(93, 175, 21, 12741, NET_ATK_RES),
    V4(5, 173, 21, 5617, NET_ATK_RES),
    V4(176, 36, 43, 15895, NET_ATK_RES),
    V4(91, 214, 43, 21497, NET_ATK_RES),
    V6(0x2804, 0x14c, 0x5b80, 23, 28573, NET_ATK_RES),
    V6(0x2409, 0x4060, 0x2e8a, 24, 55836, NET_ATK_RES),
    V6(0x2405, 0x4802, 0x91e0, 33, 9299, NET_ATK_RES),
    /* attackers: rented VPS / hosting */
    V4(185, 220, 12, 208294, NET_ATK_HOST),
    V4(45, 134, 12, 49981, NET_ATK_HOST),
    V4(193, 42, 40, 44066, NET_ATK_HOST),
    V4(91, 219, 39, 61272, NET_ATK_HOST),
    V4(5, 252, 37, 9009, NET_ATK_HOST),
    V4(146, 70, 5, 9009, NET_ATK_HOST),
    V4(194, 165, 38, 200019, NET_ATK_HOST),
    V4(152, 89, 42, 399629, NET_ATK_HOST),
    V4(172, 94, 41, 63949, NET_ATK_HOST),
    V4(104, 238, 42, 20473, NET_ATK_HOST),
    V4(159, 203, 40, 14061, NET_ATK_HOST),
    V4(185, 156, 20, 42708, NET_ATK_HOST),
    V4(89, 187, 49, 60068, NET_ATK_HOST),
    V4(212, 102, 47, 60068, NET_ATK_HOST),
    V4(138, 199, 45, 60068, NET_ATK_HOST),
};
const uint16_t sim_nnets = sizeof sim_nets / sizeof sim_nets[0];

uint16_t sim_city_find(const char *name)
{
    for (uint16_t i = 0; i < sim_ncities; i++)
        if (strcmp(sim_cities[i].name, name) == 0) return i;
    return 0;
}

uint16_t sim_net_count(int role)
{
    uint16_t n = 0;
    for (uint16_t i = 0; i < sim_nnets; i++) n += sim_nets[i].role == role;
    return n;
}

uint16_t sim_net_nth(int role, uint16_t k)
{
    for (uint16_t i = 0; i < sim_nnets; i++)
        if (sim_nets[i].role == role && k-- == 0) return i;
    return 0;
}

uint16_t sim_net_pick(struct sim_rng *r, int role, const char *country)
{
    uint16_t cand[256], n = 0;
    for (uint16_t i = 0; i < sim_nnets && n < 256; i++) {
        if (sim_nets[i].role != role) continue;
        if (country && strcmp(sim_cities[sim_nets[i].city].country, country) != 0) continue;
        cand[n++] = i;
    }
    if (n == 0 && country) return sim_net_pick(r, role, NULL);
    if (n == 0) return 0;
    return cand[sim_rng_below(r, n)];
}

void sim_ip_make(struct sim_rng *r, uint16_t net, struct sim_ip *ip)
{
    ip->net = net;
    /* v4: third octet 1..254, fourth 2..253 (no network/broadcast look-alikes) */
    uint16_t a = (uint16_t)sim_rng_range(r, 1, 254), b = (uint16_t)sim_rng_range(r, 2, 253);
    ip->h16 = (uint16_t)(a << 8 | b);
    ip->pad = 0;
    ip->h64 = sim_rng_next(r) | UINT64_C(0x0001000100010001);
}

const struct sim_city *sim_ip_city(const struct sim_ip *ip)
{
    return &sim_cities[sim_nets[ip->net].city];
}

static size_t put_hex16(char *o, unsigned v)
{
    static const char dg[] = "0123456789abcdef";
    size_t k = 0;
    int started = 0;
    for (int s = 12; s >= 0; s -= 4) {
        unsigned d = (v >> s) & 15;
        if (d || started || s == 0) {
            o[k++] = dg[d];
            started = 1;
        }
    }
    return k;
}

static size_t put_dec(char *o, unsigned v)
{
    char tmp[8];
    int i = 8;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    memcpy(o, tmp + i, (size_t)(8 - i));
    return (size_t)(8 - i);
}

size_t sim_ip_str(const struct sim_ip *ip, char *o)
{
    const struct sim_net *n = &sim_nets[ip->net];
    size_t k = 0;
    if (!n->v6) {
        k += put_dec(o + k, n->p[0]);
        o[k++] = '.';
        k += put_dec(o + k, n->p[1]);
        o[k++] = '.';
        k += put_dec(o + k, ip->h16 >> 8);
        o[k++] = '.';
        k += put_dec(o + k, ip->h16 & 255);
    } else {
        unsigned g[8] = {n->p[0],
                         n->p[1],
                         n->p[2],
                         ip->h16,
                         (unsigned)(ip->h64 >> 48) & 0xffff,
                         (unsigned)(ip->h64 >> 32) & 0xffff,
                         (unsigned)(ip->h64 >> 16) & 0xffff,
                         (unsigned)ip->h64 & 0xffff};
        for (int i = 0; i < 8; i++) {
            if (i) o[k++] = ':';
            k += put_hex16(o + k, g[i] ? g[i] : 1);
        }
    }
    o[k] = '\0';
    return k;
}

void sim_tx_ip(struct sim_tx *t, const struct sim_ip *ip)
{
    char b[48];
    size_t n = sim_ip_str(ip, b);
    sim_tx_put(t, b, n);
}
