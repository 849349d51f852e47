/*
 * sim/emit.c -- appenders and formatters behind sim/emit.h
 */
#include "sim/emit.h"

#include "base/jsonw.h"
#include "base/sha256.h"

void sim_tx_init(struct sim_tx *t, size_t max)
{
    mh_buf_init(&t->b, max);
    t->st = MH_OK;
}

void sim_tx_fini(struct sim_tx *t)
{
    mh_buf_fini(&t->b);
}

bool sim_tx_grow(struct sim_tx *t, size_t n)
{
    if (!t->st) t->st = mh_buf_reserve(&t->b, n);
    return !t->st;
}

void sim_tx_u64(struct sim_tx *t, uint64_t v)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    sim_tx_put(t, tmp + i, (size_t)(24 - i));
}

void sim_tx_i64(struct sim_tx *t, int64_t v)
{
    if (v < 0) {
        sim_tx_c(t, '-');
        sim_tx_u64(t, (uint64_t)0 - (uint64_t)v);
    } else {
        sim_tx_u64(t, (uint64_t)v);
    }
}

void sim_tx_u64w(struct sim_tx *t, uint64_t v, int width)
{
    char tmp[24];
    int i = 24;
    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v && i > 0);
    while (24 - i < width && i > 0) tmp[--i] = '0';
    sim_tx_put(t, tmp + i, (size_t)(24 - i));
}

void sim_tx_hex(struct sim_tx *t, const void *p, size_t n, bool upper)
{
    if (!sim_tx_room(t, 2 * n)) return;
    char *o = t->b.data + t->b.len;
    mh_hex(p, n, o);
    if (upper)
        for (size_t i = 0; i < 2 * n; i++)
            if (o[i] >= 'a') o[i] = (char)(o[i] - 'a' + 'A');
    sim_tx_commit(t, 2 * n);
}

void sim_tx_guid(struct sim_tx *t, const uint8_t g[16])
{
    if (!sim_tx_room(t, 36)) return;
    sim_guid_str(g, t->b.data + t->b.len);
    sim_tx_commit(t, 36);
}

void sim_tx_json(struct sim_tx *t, const char *s, size_t n)
{
    if (!t->st) t->st = mh_json_escape(&t->b, s, n);
}

void sim_tx_kv(struct sim_tx *t, const char *k, const char *v)
{
    sim_tx_s(t, k);
    sim_tx_c(t, '"');
    sim_tx_jsons(t, v);
    sim_tx_c(t, '"');
}

void sim_tx_time_ual(struct sim_tx *t, mh_time tm)
{
    char o[32];
    size_t n = mh_time_format(tm, o, 1); /* ...ss.uuuuuuZ */
    sim_tx_put(t, o, n - 8);
}

/* ...ss.uuuuuu then the seventh digit 0 and the zone suffix. */
static void time7(struct sim_tx *t, mh_time tm, const char *suffix, size_t sn)
{
    char o[40];
    size_t n = mh_time_format(tm, o, 1);
    o[n - 1] = '0';
    memcpy(o + n, suffix, sn);
    sim_tx_put(t, o, n + sn);
}

void sim_tx_time_7z(struct sim_tx *t, mh_time tm)
{
    time7(t, tm, "Z", 1);
}

void sim_tx_time_7off(struct sim_tx *t, mh_time tm)
{
    time7(t, tm, "+00:00", 6);
}

static size_t b64raw(char *o, const void *p, size_t n, const char *alpha, bool pad)
{
    const unsigned char *b = p;
    size_t k = 0, i = 0;
    for (; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8 | b[i + 2];
        o[k++] = alpha[v >> 18];
        o[k++] = alpha[(v >> 12) & 63];
        o[k++] = alpha[(v >> 6) & 63];
        o[k++] = alpha[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)b[i] << 16;
        o[k++] = alpha[v >> 18];
        o[k++] = alpha[(v >> 12) & 63];
        if (pad) {
            o[k++] = '=';
            o[k++] = '=';
        }
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)b[i] << 16 | (uint32_t)b[i + 1] << 8;
        o[k++] = alpha[v >> 18];
        o[k++] = alpha[(v >> 12) & 63];
        o[k++] = alpha[(v >> 6) & 63];
        if (pad) o[k++] = '=';
    }
    return k;
}

static void b64(struct sim_tx *t, const void *p, size_t n, const char *alpha, bool pad)
{
    if (!sim_tx_room(t, (n + 2) / 3 * 4)) return;
    sim_tx_commit(t, b64raw(t->b.data + t->b.len, p, n, alpha, pad));
}

size_t sim_b64url_str(const void *p, size_t n, char *out)
{
    size_t k = b64raw(out, p, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                      false);
    out[k] = '\0';
    return k;
}

void sim_guid_str(const uint8_t g[16], char out[37])
{
    mh_hex(g, 4, out);
    out[8] = '-';
    mh_hex(g + 4, 2, out + 9);
    out[13] = '-';
    mh_hex(g + 6, 2, out + 14);
    out[18] = '-';
    mh_hex(g + 8, 2, out + 19);
    out[23] = '-';
    mh_hex(g + 10, 6, out + 24);
}

void sim_tx_b64(struct sim_tx *t, const void *p, size_t n)
{
    b64(t, p, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/", true);
}

void sim_tx_b64url(struct sim_tx *t, const void *p, size_t n)
{
    b64(t, p, n, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", false);
}

void sim_tx_csvq(struct sim_tx *t, const char *s, size_t n)
{
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] != '"') {
            run++;
            continue;
        }
        sim_tx_put(t, s + i - run, run + 1);
        sim_tx_c(t, '"');
        run = 0;
    }
    sim_tx_put(t, s + n - run, run);
}
