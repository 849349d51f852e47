/*
 * base/jsonw.c -- streaming JSON writer (see jsonw.h)
 */
#include "base/jsonw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "base/time.h"
#include "base/utf8.h"

void mh_jw_init(struct mh_jw *w, struct mh_buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    w->first[0] = true;
}

/* Bytes written as they are inside a JSON string: ASCII from 0x20 but '"' and '\\'. */
static inline bool plain(unsigned char c)
{
    return c >= 0x20 && c < 0x80 && c != '"' && c != '\\';
}

/* Length of the leading run of plain bytes of s[0..n): eight at a time
 * while no byte of a word can need escaping (any doubt ends the word loop;
 * the byte loop decides). */
static size_t plain_run(const char *s, size_t n)
{
    const uint64_t ones = 0x0101010101010101ULL, high = 0x8080808080808080ULL;
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        uint64_t x;
        memcpy(&x, s + k, 8);
        uint64_t q = x ^ (ones * '"'), b = x ^ (ones * '\\');
        uint64_t bad = (x & high) | ((x - ones * 0x20) & ~x & high) | ((q - ones) & ~q & high) |
                       ((b - ones) & ~b & high);
        if (bad) break;
    }
    while (k < n && plain((unsigned char)s[k])) k++;
    return k;
}

static void put(struct mh_jw *w, const char *s, size_t n)
{
    if (!w->st) w->st = mh_buf_append(w->out, s, n);
}

/* Called before every value and every key. */
static void sep(struct mh_jw *w)
{
    if (w->after_key) {
        w->after_key = false;
        return;
    }
    if (!w->first[w->depth]) put(w, ",", 1);
    w->first[w->depth] = false;
}

static void open(struct mh_jw *w, char c)
{
    sep(w);
    if (w->depth >= MH_JSON_MAX_DEPTH) {
        if (!w->st) w->st = MH_ELIMIT;
        return;
    }
    put(w, &c, 1);
    w->depth++;
    w->first[w->depth] = true;
}

static void close_(struct mh_jw *w, char c)
{
    if (w->depth == 0) {
        if (!w->st) w->st = MH_EINVAL;
        return;
    }
    w->depth--;
    put(w, &c, 1);
}

void mh_jw_obj_begin(struct mh_jw *w)
{
    open(w, '{');
}
void mh_jw_obj_end(struct mh_jw *w)
{
    close_(w, '}');
}
void mh_jw_arr_begin(struct mh_jw *w)
{
    open(w, '[');
}
void mh_jw_arr_end(struct mh_jw *w)
{
    close_(w, ']');
}

mh_status mh_json_escape(struct mh_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)s;
    size_t i = plain_run(s, n), run = i;
    while (i < n) {
        unsigned char c = p[i];
        if (plain(c)) {
            i++;
            run++;
            continue;
        }
        if (run) MH_TRY(mh_buf_append(out, s + i - run, run));
        run = 0;
        if (c >= 0x80) {
            size_t k = mh_utf8_decode(p + i, n - i, NULL);
            if (k) {
                MH_TRY(mh_buf_append(out, s + i, k));
                i += k;
            } else {
                MH_TRY(mh_buf_append(out, "\xEF\xBF\xBD", 3));
                i++;
            }
            continue;
        }
        char esc[7];
        size_t el = 2;
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; break;
        case '\\': esc[1] = '\\'; break;
        case '\n': esc[1] = 'n'; break;
        case '\r': esc[1] = 'r'; break;
        case '\t': esc[1] = 't'; break;
        case '\b': esc[1] = 'b'; break;
        case '\f': esc[1] = 'f'; break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            el = 6;
        }
        MH_TRY(mh_buf_append(out, esc, el));
        i++;
    }
    if (run) MH_TRY(mh_buf_append(out, s + i - run, run));
    return MH_OK;
}

static void quoted(struct mh_jw *w, const char *s, size_t n)
{
    put(w, "\"", 1);
    if (!w->st) w->st = mh_json_escape(w->out, s, n);
    put(w, "\"", 1);
}

void mh_jw_keyn(struct mh_jw *w, const char *k, size_t n)
{
    sep(w);
    quoted(w, k, n);
    put(w, ":", 1);
    w->after_key = true;
}

void mh_jw_strn(struct mh_jw *w, const char *s, size_t n)
{
    sep(w);
    quoted(w, s ? s : "", s ? n : 0);
}

void mh_jw_str(struct mh_jw *w, const char *s)
{
    if (!s) {
        mh_jw_null(w);
        return;
    }
    mh_jw_strn(w, s, strlen(s));
}

/* Decimal digits of v, right-aligned in b[0..32); returns the first. */
static char *digits(char b[32], uint64_t v)
{
    char *p = b + 32;
    do {
        *--p = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return p;
}

void mh_jw_int(struct mh_jw *w, int64_t v)
{
    char b[32];
    char *p = digits(b, v < 0 ? 0 - (uint64_t)v : (uint64_t)v);
    if (v < 0) *--p = '-';
    sep(w);
    put(w, p, (size_t)(b + 32 - p));
}

void mh_jw_uint(struct mh_jw *w, uint64_t v)
{
    char b[32];
    char *p = digits(b, v);
    sep(w);
    put(w, p, (size_t)(b + 32 - p));
}

void mh_jw_double(struct mh_jw *w, double v)
{
    if (!isfinite(v)) {
        mh_jw_null(w);
        return;
    }
    char b[40];
    int n = snprintf(b, sizeof b, "%.17g", v);
    sep(w);
    put(w, b, (size_t)n);
}

void mh_jw_bool(struct mh_jw *w, bool v)
{
    sep(w);
    if (v) put(w, "true", 4);
    else put(w, "false", 5);
}

void mh_jw_null(struct mh_jw *w)
{
    sep(w);
    put(w, "null", 4);
}

void mh_jw_raw(struct mh_jw *w, const char *json, size_t n)
{
    sep(w);
    put(w, json, n);
}

void mh_jw_time(struct mh_jw *w, int64_t t)
{
    if (t == MH_TIME_NONE) {
        mh_jw_null(w);
        return;
    }
    char b[32];
    size_t n = mh_time_format(t, b, 0);
    mh_jw_strn(w, b, n);
}
