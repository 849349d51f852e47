/*
 * normalize/ident.c -- IP addresses, GUIDs, UTIs and operation keys (see ident.h)
 *
 * Pipeline: ingest -> [normalize] -> match. Pure functions over byte
 * ranges; the entity accessors call them once per event and cache the
 * result. Parsers are strict (a value that is not exactly an address or a
 * GUID is reported as MH_EPARSE and kept as text by the caller) because a
 * lenient parser would merge distinct keys.
 */
#include "normalize/ident.h"

#include <string.h>

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *n)
{
    while (*n && is_ws(**s)) (*s)++, (*n)--;
    while (*n && is_ws((*s)[*n - 1])) (*n)--;
}

/* ---- IPv4 / IPv6 ---- */

/* Dotted quad, decimal 0..255 per part, no leading zeros ("010" is
 * ambiguous between octal and decimal, so it is not an address). */
static bool parse_v4(const char *s, size_t n, uint8_t out[4])
{
    size_t i = 0;
    for (int part = 0; part < 4; part++) {
        if (part > 0) {
            if (i >= n || s[i] != '.') return false;
            i++;
        }
        size_t start = i;
        unsigned v = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && i - start < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == start || v > 255) return false;
        if (i - start > 1 && s[start] == '0') return false;
        out[part] = (uint8_t)v;
    }
    return i == n;
}

static bool parse_v6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t head[8], tail[8];
    int nh = 0, nt = 0;
    bool dbl = false;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        dbl = true;
        i = 2;
    } else if (n && s[0] == ':') {
        return false;
    }
    while (i < n) {
        size_t j = i;
        bool dot = false;
        while (j < n && s[j] != ':') dot |= s[j++] == '.';
        if (j == i) return false;
        uint16_t g[2];
        int ng;
        if (dot) {
            uint8_t v4[4];
            if (j != n || !parse_v4(s + i, j - i, v4)) return false;
            g[0] = (uint16_t)(v4[0] << 8 | v4[1]);
            g[1] = (uint16_t)(v4[2] << 8 | v4[3]);
            ng = 2;
        } else {
            if (j - i > 4) return false;
            unsigned v = 0;
            for (size_t k = i; k < j; k++) {
                int h = mh_hex_value((unsigned char)s[k]);
                if (h < 0) return false;
                v = v << 4 | (unsigned)h;
            }
            g[0] = (uint16_t)v;
            ng = 1;
        }
        for (int k = 0; k < ng; k++) {
            if (nh + nt >= 8) return false;
            if (dbl)
                tail[nt++] = g[k];
            else
                head[nh++] = g[k];
        }
        if (j == n) break;
        if (j + 1 < n && s[j + 1] == ':') {
            if (dbl) return false;
            dbl = true;
            i = j + 2;
        } else {
            i = j + 1;
            if (i == n) return false; /* trailing single ':' */
        }
    }
    if (dbl ? nh + nt > 7 : nh + nt != 8) return false;
    uint16_t all[8] = {0};
    for (int k = 0; k < nh; k++) all[k] = head[k];
    for (int k = 0; k < nt; k++) all[8 - nt + k] = tail[k];
    for (int k = 0; k < 8; k++) {
        out[2 * k] = (uint8_t)(all[k] >> 8);
        out[2 * k + 1] = (uint8_t)all[k];
    }
    return true;
}

static bool parse_port(const char *s, size_t n, int32_t *port)
{
    if (n == 0 || n > 5) return false;
    int32_t v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        v = v * 10 + (s[i] - '0');
    }
    if (v > 65535) return false;
    *port = v;
    return true;
}

mh_status mh_ip_parse(const char *s, size_t n, struct mh_ip *out)
{
    struct mh_ip ip;
    memset(&ip, 0, sizeof ip);
    ip.port = -1;
    trim(&s, &n);
    if (n == 0) return MH_EPARSE;
    const char *host = s;
    size_t hlen = n;
    if (s[0] == '[') {
        const char *close = memchr(s, ']', n);
        if (!close) return MH_EPARSE;
        host = s + 1;
        hlen = (size_t)(close - host);
        size_t rest = n - (size_t)(close - s) - 1;
        if (rest) {
            if (close[1] != ':' || !parse_port(close + 2, rest - 1, &ip.port)) return MH_EPARSE;
        }
        if (!parse_v6(host, hlen, ip.addr)) return MH_EPARSE;
        ip.family = 6;
    } else {
        size_t colons = 0, first = 0;
        for (size_t i = 0; i < n; i++)
            if (s[i] == ':' && colons++ == 0) first = i;
        if (colons == 1) {
            if (!parse_port(s + first + 1, n - first - 1, &ip.port)) return MH_EPARSE;
            hlen = first;
        }
        if (colons <= 1) {
            if (!parse_v4(host, hlen, ip.addr)) return MH_EPARSE;
            ip.family = 4;
        } else {
            if (!parse_v6(host, hlen, ip.addr)) return MH_EPARSE;
            ip.family = 6;
        }
    }
    static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
    if (ip.family == 6 && memcmp(ip.addr, mapped, 12) == 0) {
        memmove(ip.addr, ip.addr + 12, 4);
        memset(ip.addr + 4, 0, 12);
        ip.family = 4;
    }
    *out = ip;
    return MH_OK;
}

static size_t put_dec(char *out, unsigned v)
{
    char tmp[4];
    size_t k = 0;
    do {
        tmp[k++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < k; i++) out[i] = tmp[k - 1 - i];
    return k;
}

size_t mh_ip_format(const struct mh_ip *ip, char out[MH_IP_TEXT_MAX])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    if (ip->family == 4) {
        for (int i = 0; i < 4; i++) {
            if (i) out[n++] = '.';
            n += put_dec(out + n, ip->addr[i]);
        }
        out[n] = '\0';
        return n;
    }
    uint16_t g[8];
    for (int i = 0; i < 8; i++) g[i] = (uint16_t)(ip->addr[2 * i] << 8 | ip->addr[2 * i + 1]);
    int best = -1, best_len = 1; /* RFC 5952 4.2.2: a single 0 group is not compressed */
    for (int i = 0; i < 8;) {
        if (g[i]) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && g[j] == 0) j++;
        if (j - i > best_len) best = i, best_len = j - i;
        i = j;
    }
    for (int i = 0; i < 8; i++) {
        if (i == best) {
            out[n++] = ':';
            out[n++] = ':';
            i += best_len - 1;
            continue;
        }
        if (i && i != best + best_len) out[n++] = ':';
        bool started = false;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (g[i] >> sh) & 15u;
            if (d || started || sh == 0) {
                out[n++] = hex[d];
                started = true;
            }
        }
    }
    out[n] = '\0';
    return n;
}

struct mh_slice mh_ip_canon(const char *s, size_t n, char buf[MH_IP_TEXT_MAX])
{
    struct mh_ip ip;
    if (mh_ip_parse(s, n, &ip) == MH_OK) return mh_slice_make(buf, mh_ip_format(&ip, buf));
    trim(&s, &n);
    return mh_slice_make(s, n);
}

/* ---- GUIDs ---- */

/* Hex digit value + 1 (0: not a hex digit): one table load per digit, no branches. */
#define H(c, v) [c] = (v) + 1
static const uint8_t hex_p1[256] = {
    H('0', 0),  H('1', 1),  H('2', 2),  H('3', 3),  H('4', 4),  H('5', 5),  H('6', 6),
    H('7', 7),  H('8', 8),  H('9', 9),  H('a', 10), H('b', 11), H('c', 12), H('d', 13),
    H('e', 14), H('f', 15), H('A', 10), H('B', 11), H('C', 12), H('D', 13), H('E', 14),
    H('F', 15),
};
#undef H

mh_status mh_guid_parse(const char *s, size_t n, struct mh_guid *out)
{
    trim(&s, &n);
    if (n == 38 && s[0] == '{' && s[37] == '}') s++, n -= 2;
    if (n != 36 || s[8] != '-' || s[13] != '-' || s[18] != '-' || s[23] != '-') return MH_EPARSE;
    /* where each byte's two digits start: 8-4-4-4-12 */
    static const uint8_t at[16] = {0, 2, 4, 6, 9, 11, 14, 16, 19, 21, 24, 26, 28, 30, 32, 34};
    const unsigned char *u = (const unsigned char *)s;
    struct mh_guid g;
    unsigned bad = 0;
    for (int k = 0; k < 16; k++) {
        unsigned hi = hex_p1[u[at[k]]], lo = hex_p1[u[at[k] + 1]];
        bad |= (hi == 0) | (lo == 0);
        g.b[k] = (uint8_t)((hi - 1) << 4 | (lo - 1));
    }
    if (bad) return MH_EPARSE;
    *out = g;
    return MH_OK;
}

size_t mh_guid_format(const struct mh_guid *g, char out[37])
{
    static const char hex[] = "0123456789abcdef";
    size_t n = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[n++] = '-';
        out[n++] = hex[g->b[i] >> 4];
        out[n++] = hex[g->b[i] & 15];
    }
    out[n] = '\0';
    return n;
}

/* ---- UTIs ---- */

/* .NET Guid.ToByteArray(): Data1 (4), Data2 (2), Data3 (2) little-endian. */
static const int le_order[16] = {3, 2, 1, 0, 5, 4, 7, 6, 8, 9, 10, 11, 12, 13, 14, 15};

static int b64val(char c, bool url)
{
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == (url ? '-' : '+')) return 62;
    if (c == (url ? '_' : '/')) return 63;
    return -1;
}

/* Decode n characters (no padding, n % 4 != 1) into out; returns bytes or -1. */
static long b64_decode(const char *s, size_t n, bool url, uint8_t *out, size_t cap)
{
    uint32_t acc = 0;
    int bits = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        int v = b64val(s[i], url);
        if (v < 0) return -1;
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            if (k >= cap) return -1;
            out[k++] = (uint8_t)(acc >> bits);
        }
    }
    if (bits >= 6 || (acc & ((1u << bits) - 1u)) != 0) return -1; /* non-canonical tail */
    return (long)k;
}

enum mh_uti_form mh_uti_decode(const char *s, size_t n, struct mh_guid *id)
{
    uint8_t buf[36];
    if (n == 22) {
        if (b64_decode(s, n, true, buf, sizeof buf) != 16) return MH_UTI_OPAQUE;
        for (int i = 0; i < 16; i++) id->b[i] = buf[le_order[i]];
        return MH_UTI_B64URL_LE;
    }
    if (n == 48) {
        struct mh_guid g;
        if (b64_decode(s, n, false, buf, sizeof buf) != 36) return MH_UTI_OPAQUE;
        if (mh_guid_parse((const char *)buf, 36, &g) != MH_OK) return MH_UTI_OPAQUE;
        *id = g;
        return MH_UTI_B64_ASCII;
    }
    return MH_UTI_OPAQUE;
}

size_t mh_uti_encode(const struct mh_guid *id, char out[23])
{
    static const char alpha[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    uint8_t b[16];
    for (int i = 0; i < 16; i++) b[i] = id->b[le_order[i]];
    size_t n = 0;
    uint32_t acc = 0;
    int bits = 0;
    for (int i = 0; i < 16; i++) {
        acc = acc << 8 | b[i];
        bits += 8;
        while (bits >= 6) {
            bits -= 6;
            out[n++] = alpha[(acc >> bits) & 63u];
        }
    }
    if (bits) out[n++] = alpha[(acc << (6 - bits)) & 63u];
    out[n] = '\0';
    return n;
}

/* ---- operation keys ---- */

size_t mh_operation_key(const char *s, size_t n, char *out)
{
    trim(&s, &n);
    if (n && s[n - 1] == '.') {
        n--;
        while (n && is_ws(s[n - 1])) n--;
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        /* U+2013 EN DASH = E2 80 93, U+2014 EM DASH = E2 80 94 */
        if (c == 0xE2 && i + 2 < n && (unsigned char)s[i + 1] == 0x80 &&
            ((unsigned char)s[i + 2] == 0x93 || (unsigned char)s[i + 2] == 0x94)) {
            out[k++] = '-';
            i += 2;
            continue;
        }
        out[k++] = (char)mh_ascii_lower(c);
    }
    return k;
}
