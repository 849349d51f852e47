/*
 * base/time.c -- civil time arithmetic and multi-format parsing (see time.h)
 *
 * days_from_civil / civil_from_days follow Howard Hinnant's public-domain
 * algorithms (re-derived here): era-based, exact for every int year.
 */
#include "base/time.h"

#include <stdio.h>
#include <string.h>

int64_t mh_days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    const int64_t era = (y >= 0 ? y : y - 399) / 400;
    const int64_t yoe = y - era * 400;
    const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    const int64_t doe = z - era * 146097;
    const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    const int64_t yy = yoe + era * 400;
    const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    const int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yy + (*m <= 2));
}

mh_time mh_time_from_civil(const struct mh_civil *c)
{
    int64_t days = mh_days_from_civil(c->year, c->month, c->day);
    int64_t secs = days * 86400 + c->hour * 3600 + c->min * 60 + c->sec;
    return secs * MH_USEC_PER_SEC + c->usec;
}

void mh_time_to_civil(mh_time t, struct mh_civil *c)
{
    int64_t secs = t / MH_USEC_PER_SEC;
    int64_t us = t % MH_USEC_PER_SEC;
    if (us < 0) us += MH_USEC_PER_SEC, secs -= 1;
    int64_t days = secs / 86400;
    int64_t rem = secs % 86400;
    if (rem < 0) rem += 86400, days -= 1;
    civil_from_days(days, &c->year, &c->month, &c->day);
    c->hour = (int)(rem / 3600);
    c->min = (int)(rem % 3600 / 60);
    c->sec = (int)(rem % 60);
    c->usec = (int)us;
}

/* ---- parsing ---- */

struct cur {
    const char *p, *e;
};

static int digits(struct cur *c, int minn, int maxn, int *out)
{
    int v = 0, n = 0;
    while (c->p < c->e && n < maxn && *c->p >= '0' && *c->p <= '9') {
        v = v * 10 + (*c->p - '0');
        c->p++;
        n++;
    }
    if (n < minn) return 0;
    *out = v;
    return 1;
}

static int lit(struct cur *c, char ch)
{
    if (c->p < c->e && *c->p == ch) {
        c->p++;
        return 1;
    }
    return 0;
}

static int fraction(struct cur *c, int *usec)
{
    /* after '.', 1..9+ digits; keep 6 */
    int n = 0, v = 0;
    while (c->p < c->e && *c->p >= '0' && *c->p <= '9') {
        if (n < 6) v = v * 10 + (*c->p - '0');
        n++;
        c->p++;
    }
    if (n == 0) return 0;
    for (int k = n; k < 6; k++) v *= 10;
    *usec = v;
    return 1;
}

static int valid(const struct mh_civil *t)
{
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (t->month < 1 || t->month > 12 || t->day < 1) return 0;
    if (t->day > mdays[t->month - 1]) return 0;
    if (t->month == 2 && t->day == 29) {
        int y = t->year;
        if (!((y % 4 == 0 && y % 100 != 0) || y % 400 == 0)) return 0;
    }
    return t->hour <= 23 && t->min <= 59 && t->sec <= 60 && t->year >= 1 && t->year <= 9999;
}

static int zone(struct cur *c, int64_t *offset_s)
{
    *offset_s = 0;
    if (c->p >= c->e) return 1;
    if (*c->p == 'Z' || *c->p == 'z') {
        c->p++;
        return 1;
    }
    if (*c->p == '+' || *c->p == '-') {
        int sign = *c->p == '-' ? -1 : 1;
        c->p++;
        int hh, mm = 0;
        if (!digits(c, 2, 2, &hh)) return 0;
        lit(c, ':');
        if (c->p < c->e) {
            if (!digits(c, 2, 2, &mm)) return 0;
        }
        if (hh > 23 || mm > 59) return 0;
        *offset_s = sign * (hh * 3600 + mm * 60);
        return 1;
    }
    return 1;
}

static int parse_iso(struct cur *c, struct mh_civil *t, int64_t *off)
{
    if (!digits(c, 4, 4, &t->year) || !lit(c, '-') || !digits(c, 2, 2, &t->month) ||
        !lit(c, '-') || !digits(c, 2, 2, &t->day))
        return 0;
    if (c->p == c->e) return 1; /* date only */
    if (!lit(c, 'T') && !lit(c, ' ') && !lit(c, 't')) return 0;
    if (!digits(c, 2, 2, &t->hour) || !lit(c, ':') || !digits(c, 2, 2, &t->min)) return 0;
    if (lit(c, ':')) {
        if (!digits(c, 2, 2, &t->sec)) return 0;
        if (lit(c, '.') || lit(c, ',')) {
            if (!fraction(c, &t->usec)) return 0;
        }
    }
    return zone(c, off);
}

static int parse_us(struct cur *c, struct mh_civil *t, int64_t *off)
{
    /* M/D/YYYY[,] H:MM[:SS[.fff]] [AM|PM] */
    if (!digits(c, 1, 2, &t->month) || !lit(c, '/') || !digits(c, 1, 2, &t->day) ||
        !lit(c, '/') || !digits(c, 4, 4, &t->year))
        return 0;
    lit(c, ',');
    if (c->p == c->e) return 1;
    if (!lit(c, ' ')) return 0;
    while (c->p < c->e && *c->p == ' ') c->p++;
    if (!digits(c, 1, 2, &t->hour) || !lit(c, ':') || !digits(c, 2, 2, &t->min)) return 0;
    if (lit(c, ':')) {
        if (!digits(c, 2, 2, &t->sec)) return 0;
        if (lit(c, '.')) {
            if (!fraction(c, &t->usec)) return 0;
        }
    }
    while (c->p < c->e && *c->p == ' ') c->p++;
    if (c->e - c->p >= 2) {
        char a = (char)(c->p[0] | 0x20), m = (char)(c->p[1] | 0x20);
        if ((a == 'a' || a == 'p') && m == 'm') {
            if (t->hour < 1 || t->hour > 12) return 0;
            if (a == 'a' && t->hour == 12) t->hour = 0;
            else if (a == 'p' && t->hour != 12) t->hour += 12;
            c->p += 2;
        }
    }
    while (c->p < c->e && *c->p == ' ') c->p++;
    return zone(c, off);
}

mh_status mh_time_parse(const char *s, size_t n, mh_time *out)
{
    while (n && (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        n--;
    if (!n) return MH_EPARSE;
    struct mh_civil t = {0};
    int64_t off = 0;
    struct cur c = {s, s + n};
    int ok;
    /* ISO if the 5th char is '-' */
    if (n >= 10 && s[4] == '-') ok = parse_iso(&c, &t, &off);
    else ok = parse_us(&c, &t, &off);
    if (!ok || c.p != c.e || !valid(&t)) return MH_EPARSE;
    if (t.sec == 60) t.sec = 59; /* leap second: clamp */
    *out = mh_time_from_civil(&t) - off * MH_USEC_PER_SEC;
    return MH_OK;
}

/* v (0 <= v < 10^width) as exactly `width` digits, zero-padded. */
static char *put_digits(char *o, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        o[i] = (char)('0' + v % 10);
        v /= 10;
    }
    return o + width;
}

size_t mh_time_format(mh_time t, char *out, int always_frac)
{
    if (t == MH_TIME_NONE) {
        out[0] = '\0';
        return 0;
    }
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    if (c.year >= 0 && c.year <= 9999) { /* the common case, without printf */
        char *o = out;
        o = put_digits(o, c.year, 4);
        *o++ = '-';
        o = put_digits(o, c.month, 2);
        *o++ = '-';
        o = put_digits(o, c.day, 2);
        *o++ = 'T';
        o = put_digits(o, c.hour, 2);
        *o++ = ':';
        o = put_digits(o, c.min, 2);
        *o++ = ':';
        o = put_digits(o, c.sec, 2);
        if (c.usec || always_frac) {
            *o++ = '.';
            o = put_digits(o, c.usec, 6);
        }
        *o++ = 'Z';
        *o = '\0';
        return (size_t)(o - out);
    }
    int n;
    if (c.usec || always_frac)
        n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", c.year, c.month, c.day,
                     c.hour, c.min, c.sec, c.usec);
    else
        n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                     c.min, c.sec);
    return n > 0 ? (size_t)n : 0;
}

size_t mh_time_format_sec(mh_time t, char *out)
{
    if (t == MH_TIME_NONE) {
        out[0] = '\0';
        return 0;
    }
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    int n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02dZ", c.year, c.month, c.day, c.hour,
                     c.min, c.sec);
    return n > 0 ? (size_t)n : 0;
}
