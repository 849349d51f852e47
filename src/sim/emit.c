/*
 * sim/emit.c -- appenders and formatters behind sim/emit.h
 */
#include "sim/emit.h"

#include "base/alloc.h"

void sim_tx_init(struct sim_tx *t, size_t max)
{
    t->p = NULL;
    t->len = t->cap = 0;
    t->max = max;
    t->st = MH_OK;
}

void sim_tx_fini(struct sim_tx *t)
{
    mh_free(t->p);
    t->p = NULL;
    t->len = t->cap = 0;
}

bool sim_tx_grow(struct sim_tx *t, size_t n)
{
    if (t->st) return false;
    if (n > t->max || t->len > t->max - n) {
        t->st = MH_ELIMIT;
        return false;
    }
    size_t need = t->len + n;
    size_t nc = t->cap ? t->cap : 4096;
    while (nc < need) nc *= 2;
    if (nc > t->max) nc = t->max;
    char *q = mh_realloc(t->p, nc);
    if (!q) {
        t->st = MH_ENOMEM;
        return false;
    }
    t->p = q;
    t->cap = nc;
    return true;
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
    const char *dg = upper ? "0123456789ABCDEF" : "0123456789abcdef";
    const unsigned char *b = p;
    if (!sim_tx_room(t, 2 * n)) return;
    char *o = t->p + t->len;
    for (size_t i = 0; i < n; i++) {
        o[2 * i] = dg[b[i] >> 4];
        o[2 * i + 1] = dg[b[i] & 15];
    }
    t->len += 2 * n;
}

void sim_tx_guid(struct sim_tx *t, const uint8_t g[16])
{
    static const char dg[] = "0123456789abcdef";
    if (!sim_tx_room(t, 36)) return;
    char *o = t->p + t->len;
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) o[k++] = '-';
        o[k++] = dg[g[i] >> 4];
        o[k++] = dg[g[i] & 15];
    }
    t->len += 36;
}

void sim_tx_json(struct sim_tx *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    size_t run = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x20 && c != '"' && c != '\\') {
            run++;
            continue;
        }
        sim_tx_put(t, s + i - run, run);
        run = 0;
        char esc[6] = {'\\', 0, 0, 0, 0, 0};
        size_t k = 2;
        switch (c) {
        case '"':
            esc[1] = '"';
            break;
        case '\\':
            esc[1] = '\\';
            break;
        case '\n':
            esc[1] = 'n';
            break;
        case '\r':
            esc[1] = 'r';
            break;
        case '\t':
            esc[1] = 't';
            break;
        default:
            esc[1] = 'u';
            esc[2] = '0';
            esc[3] = '0';
            esc[4] = hex[c >> 4];
            esc[5] = hex[c & 15];
            k = 6;
        }
        sim_tx_put(t, esc, k);
    }
    sim_tx_put(t, s + n - run, run);
}

void sim_tx_kv(struct sim_tx *t, const char *k, const char *v)
{
    sim_tx_s(t, k);
    sim_tx_c(t, '"');
    sim_tx_jsons(t, v);
    sim_tx_c(t, '"');
}

/* "YYYY-MM-DDThh:mm:ss" into o (19 bytes). */
static void fmt_sec(char *o, mh_time tm, int *usec)
{
    struct mh_civil c;
    mh_time_to_civil(tm, &c);
    int y = c.year;
    o[0] = (char)('0' + y / 1000 % 10);
    o[1] = (char)('0' + y / 100 % 10);
    o[2] = (char)('0' + y / 10 % 10);
    o[3] = (char)('0' + y % 10);
    o[4] = '-';
    o[5] = (char)('0' + c.month / 10);
    o[6] = (char)('0' + c.month % 10);
    o[7] = '-';
    o[8] = (char)('0' + c.day / 10);
    o[9] = (char)('0' + c.day % 10);
    o[10] = 'T';
    o[11] = (char)('0' + c.hour / 10);
    o[12] = (char)('0' + c.hour % 10);
    o[13] = ':';
    o[14] = (char)('0' + c.min / 10);
    o[15] = (char)('0' + c.min % 10);
    o[16] = ':';
    o[17] = (char)('0' + c.sec / 10);
    o[18] = (char)('0' + c.sec % 10);
    *usec = c.usec;
}

void sim_tx_time_ual(struct sim_tx *t, mh_time tm)
{
    char o[20];
    int us;
    fmt_sec(o, tm, &us);
    sim_tx_put(t, o, 19);
}

static void time7(struct sim_tx *t, mh_time tm, const char *suffix, size_t sn)
{
    char o[40];
    int us;
    fmt_sec(o, tm, &us);
    o[19] = '.';
    for (int i = 25; i >= 20; i--) {
        o[i] = (char)('0' + us % 10);
        us /= 10;
    }
    o[26] = '0';
    memcpy(o + 27, suffix, sn);
    sim_tx_put(t, o, 27 + sn);
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
    t->len += b64raw(t->p + t->len, p, n, alpha, pad);
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
    static const char dg[] = "0123456789abcdef";
    int k = 0;
    for (int i = 0; i < 16; i++) {
        if (i == 4 || i == 6 || i == 8 || i == 10) out[k++] = '-';
        out[k++] = dg[g[i] >> 4];
        out[k++] = dg[g[i] & 15];
    }
    out[36] = '\0';
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
