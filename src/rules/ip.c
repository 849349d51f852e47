/*
 * rules/ip.c -- IPv4 / IPv6 text to bytes, for the cidr modifier
 *
 * Pipeline: sigma loader (cidr networks) and match (event values). Strict
 * forms: dotted quad with 1-3 digit parts <= 255; RFC 4291 IPv6 text with
 * at most one `::` and an optional dotted-quad tail. Pure functions.
 */
#include <ctype.h>
#include <string.h>

#include "base/slice.h"
#include "rules/pattern.h"

bool mh_parse_ipv4(const char *s, size_t n, uint8_t out[4])
{
    int part = 0;
    size_t i = 0;
    while (part < 4) {
        if (i >= n || !isdigit((unsigned char)s[i])) return false;
        unsigned v = 0, d = 0;
        while (i < n && isdigit((unsigned char)s[i]) && d < 4) v = v * 10 + (unsigned)(s[i++] - '0'), d++;
        if (v > 255 || d > 3) return false;
        out[part++] = (uint8_t)v;
        if (part < 4) {
            if (i >= n || s[i] != '.') return false;
            i++;
        }
    }
    return i == n;
}

bool mh_parse_ipv6(const char *s, size_t n, uint8_t out[16])
{
    uint16_t w[8] = {0};
    int nw = 0, gap = -1;
    size_t i = 0;
    if (n >= 2 && s[0] == ':' && s[1] == ':') {
        gap = 0;
        i = 2;
        if (i == n) {
            memset(out, 0, 16);
            return true;
        }
    } else if (n && s[0] == ':') {
        return false;
    }
    while (i < n) {
        if (nw >= 8) return false;
        /* embedded IPv4 tail */
        size_t j = i;
        while (j < n && s[j] != ':') j++;
        if (memchr(s + i, '.', j - i)) {
            uint8_t v4[4];
            if (j != n || nw > 6 || !mh_parse_ipv4(s + i, n - i, v4)) return false;
            w[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
            w[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
            i = n;
            break;
        }
        if (j - i == 0 || j - i > 4) return false;
        unsigned v = 0;
        for (size_t k = i; k < j; k++) {
            int h = mh_hex_value((unsigned char)s[k]);
            if (h < 0) return false;
            v = v << 4 | (unsigned)h;
        }
        w[nw++] = (uint16_t)v;
        i = j;
        if (i < n) {
            i++; /* ':' */
            if (i < n && s[i] == ':') {
                if (gap >= 0) return false;
                gap = nw;
                i++;
            } else if (i == n) {
                return false;
            }
        }
    }
    if (gap < 0 && nw != 8) return false;
    if (gap >= 0 && nw > 7) return false;
    uint16_t full[8] = {0};
    if (gap < 0) {
        memcpy(full, w, sizeof full);
    } else {
        int tail = nw - gap;
        for (int k = 0; k < gap; k++) full[k] = w[k];
        for (int k = 0; k < tail; k++) full[8 - tail + k] = w[gap + k];
    }
    for (int k = 0; k < 8; k++) out[2 * k] = (uint8_t)(full[k] >> 8), out[2 * k + 1] = (uint8_t)full[k];
    return true;
}

