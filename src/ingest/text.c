/*
 * ingest/text.c -- streaming UTF-16 to UTF-8 conversion (see text.h)
 *
 * Pipeline: decompress -> [text] -> split/csv.
 * Each code unit is consumed as soon as it is complete; its UTF-8 bytes go
 * to the caller's window or, when that is full, to t->pend (<= 4 bytes),
 * which the next call flushes first. Surrogate pairs combine into one code
 * point (4 UTF-8 bytes). Example: "A" U+1F600 in UTF-16LE is
 * 41 00 3D D8 00 DE -> 41 F0 9F 98 80.
 */
#include "ingest/text.h"

#include <string.h>

void mh_text_init(struct mh_text *t, enum mh_encoding enc, uint64_t start_off)
{
    memset(t, 0, sizeof *t);
    t->enc = enc;
    t->in_off = start_off;
}

static unsigned encode_utf8(uint32_t cp, unsigned char *o)
{
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

static mh_status bad(mh_error *err, uint64_t off, const char *what)
{
    mh_status st = mh_error_set(err, MH_EPARSE, "invalid UTF-16", "%s at byte %llu", what,
                                (unsigned long long)off);
    if (err) err->offset = off;
    return st;
}

mh_status mh_text_step(struct mh_text *t, const void *in, size_t in_len, size_t *in_used, void *out,
                       size_t out_cap, size_t *out_n, mh_error *err)
{
    const unsigned char *p = in;
    unsigned char *o = out;
    size_t i = 0, k = 0;
    bool le = t->enc == MH_ENC_UTF16LE;
    mh_status st = MH_OK;

    while (t->pend_pos < t->npend && k < out_cap) o[k++] = t->pend[t->pend_pos++];
    while (k < out_cap && i < in_len) {
        unsigned char b0, b1;
        uint64_t uoff;
        if (t->has_carry) {
            b0 = t->carry;
            b1 = p[i++];
            t->has_carry = false;
            uoff = t->in_off - 1;
        } else if (i + 1 < in_len) {
            b0 = p[i];
            b1 = p[i + 1];
            uoff = t->in_off + i;
            i += 2;
        } else {
            t->carry = p[i++];
            t->has_carry = true;
            break;
        }
        uint16_t u = le ? (uint16_t)(b0 | (b1 << 8)) : (uint16_t)((b0 << 8) | b1);
        uint32_t cp;
        if (t->has_hi) {
            if (u < 0xDC00 || u > 0xDFFF) {
                st = bad(err, t->hi_off, "unpaired high surrogate");
                goto out;
            }
            cp = 0x10000 + (((uint32_t)t->hi - 0xD800) << 10) + (u - 0xDC00);
            t->has_hi = false;
        } else if (u >= 0xD800 && u <= 0xDBFF) {
            t->hi = u;
            t->has_hi = true;
            t->hi_off = uoff;
            continue;
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
            st = bad(err, uoff, "unpaired low surrogate");
            goto out;
        } else {
            cp = u;
        }
        unsigned char tmp[4];
        unsigned n = encode_utf8(cp, tmp);
        unsigned j = 0;
        while (j < n && k < out_cap) o[k++] = tmp[j++];
        if (j < n) {
            memcpy(t->pend, tmp + j, n - j);
            t->npend = n - j;
            t->pend_pos = 0;
        }
    }
out:
    t->in_off += i;
    *in_used = i;
    *out_n = k;
    return st;
}

mh_status mh_text_finish(struct mh_text *t, mh_error *err)
{
    if (t->has_hi) return bad(err, t->hi_off, "unpaired high surrogate at end of input");
    if (t->has_carry) return bad(err, t->in_off - 1, "odd trailing byte");
    return MH_OK;
}
