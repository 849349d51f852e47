/*
 * fuzz/fuzz_json.c -- libFuzzer target for the JSON reader (ingest/json.c)
 *
 * For every input: parse with the SIMD and the scalar string scanner (same
 * status, error offset, reason and tape); on success walk every node and
 * check the tape invariants (next within the parent, child counts, object
 * keys are strings, depth), decode every string (decoded bytes are valid
 * UTF-8; mh_json_str_eq(decoded) is true; a changed byte compares false),
 * look every key up with mh_json_get / _nocase (finds a member with an equal
 * key, the first one), re-parse the raw text of every container into the
 * same subtree, convert every number. On failure the error offset is within
 * the input (len included) and the document is empty.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "ingest/json.h"

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static bool valid_utf8(const unsigned char *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        unsigned char c = s[i];
        if (c < 0x80) {
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if (c >= 0xC2 && c <= 0xDF)
            k = 2, cp = c & 0x1F, min = 0x80;
        else if (c >= 0xE0 && c <= 0xEF)
            k = 3, cp = c & 0x0F, min = 0x800;
        else if (c >= 0xF0 && c <= 0xF4)
            k = 4, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i < k) return false;
        for (size_t j = 1; j < k; j++) {
            if ((s[i + j] & 0xC0) != 0x80) return false;
            cp = (cp << 6) | (s[i + j] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
        i += k;
    }
    return true;
}

static struct mh_jdoc doc, doc2, sub;
static struct mh_arena arena;
static int inited;

static void check_tape(const struct mh_jdoc *d)
{
    ASSERT(d->n > 0);
    ASSERT(d->nodes[0].next == d->n);
    ASSERT(d->nodes[0].reserved == 0);
    for (uint32_t i = 0; i < d->n; i++) {
        const struct mh_jnode *nd = &d->nodes[i];
        ASSERT(nd->next > i && nd->next <= d->n);
        ASSERT(nd->type <= MH_JOBJ);
        if (nd->type != MH_JARR && nd->type != MH_JOBJ) {
            ASSERT(nd->next == i + 1);
            ASSERT((size_t)nd->off + nd->len <= d->srclen);
            continue;
        }
        /* children: count them and check they stay inside */
        uint32_t count = 0;
        for (uint32_t c = i + 1; c < nd->next; c = d->nodes[c].next) {
            ASSERT(d->nodes[c].next <= nd->next);
            ASSERT(d->nodes[c].reserved == nd->reserved + 1);
            if (nd->type == MH_JOBJ) {
                ASSERT(d->nodes[c].type == MH_JSTR);
                ASSERT(c + 1 < nd->next);
                c = c + 1; /* the value */
                ASSERT(d->nodes[c].reserved == nd->reserved + 1);
            }
            count++;
        }
        ASSERT(count == nd->len);
        /* iteration API agrees */
        uint32_t k = 0;
        for (uint32_t c = mh_json_first(d, i); c != MH_JNONE;
             c = mh_json_next(d, i, nd->type == MH_JOBJ ? c + 1 : c))
            k++;
        ASSERT(k == nd->len);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!inited) {
        mh_jdoc_init(&doc, NULL);
        mh_jdoc_init(&doc2, NULL);
        mh_jdoc_init(&sub, NULL);
        mh_arena_init(&arena, 1 << 16, 64u << 20);
        inited = 1;
    }
    mh_arena_reset(&arena);
    const char *s = (const char *)data;
    mh_error e1, e2;
    mh_error_clear(&e1);
    mh_error_clear(&e2);
    doc.opts = 0;
    doc2.opts = MH_JDOC_SCALAR;
    mh_status st = mh_json_parse(&doc, s, size, &e1);
    mh_status st2 = mh_json_parse(&doc2, s, size, &e2);
    ASSERT(st == st2);
    if (st != MH_OK) {
        ASSERT(st == MH_EPARSE || st == MH_ELIMIT);
        ASSERT(e1.offset == e2.offset && e1.msg == e2.msg && e1.msg != NULL);
        ASSERT(e1.offset <= size);
        ASSERT(doc.n == 0 && doc2.n == 0);
        return 0;
    }
    ASSERT(doc.n == doc2.n && memcmp(doc.nodes, doc2.nodes, doc.n * sizeof *doc.nodes) == 0);
    check_tape(&doc);

    for (uint32_t i = 0; i < doc.n; i++) {
        const struct mh_jnode *nd = &doc.nodes[i];
        switch (nd->type) {
        case MH_JSTR: {
            struct mh_slice v;
            mh_status sst = mh_json_str(&doc, i, &arena, &v);
            if (sst == MH_ELIMIT) break; /* arena cap on a pathological input */
            ASSERT(sst == MH_OK);
            ASSERT(v.len <= nd->len);
            ASSERT(valid_utf8((const unsigned char *)v.ptr, v.len));
            ASSERT(mh_json_str_eq(&doc, i, v.ptr, v.len));
            if (!(nd->flags & MH_JF_ESCAPED)) ASSERT(v.ptr == s + nd->off);
            if (v.len) {
                char *c = mh_arena_alloc(&arena, v.len);
                if (c) {
                    memcpy(c, v.ptr, v.len);
                    c[v.len / 2] ^= 0x20;
                    ASSERT(!mh_json_str_eq(&doc, i, c, v.len));
                    ASSERT(!mh_json_str_eq(&doc, i, v.ptr, v.len - 1));
                }
            }
            break;
        }
        case MH_JNUM: {
            int64_t iv;
            double dv;
            mh_status a = mh_json_int(&doc, i, &iv);
            mh_status b = mh_json_double(&doc, i, &dv);
            ASSERT(a == MH_OK || a == MH_EINVAL || a == MH_ELIMIT);
            ASSERT(b == MH_OK || b == MH_ELIMIT || b == MH_ENOMEM);
            if (a == MH_OK && b == MH_OK) {
                /* an integer's double is the correctly rounded integer */
                ASSERT(dv == (double)iv);
            }
            break;
        }
        case MH_JOBJ: {
            /* every key is found, and the lookup returns its first occurrence */
            for (uint32_t k = i + 1; k < nd->next; k = doc.nodes[k + 1].next) {
                struct mh_slice key;
                if (mh_json_str(&doc, k, &arena, &key) != MH_OK) break;
                uint32_t v = mh_json_get(&doc, i, key.ptr, key.len);
                ASSERT(v != MH_JNONE && v <= k + 1);
                ASSERT(mh_json_str_eq(&doc, v - 1, key.ptr, key.len));
                uint32_t w = mh_json_get_nocase(&doc, i, key.ptr, key.len);
                ASSERT(w != MH_JNONE && w <= v);
            }
        }
        /* fallthrough */
        case MH_JARR: {
            struct mh_slice raw = mh_json_raw(&doc, i);
            ASSERT(raw.ptr == s + nd->off && raw.len >= 2);
            ASSERT((size_t)nd->off + raw.len <= size);
            ASSERT(raw.ptr[raw.len - 1] == (nd->type == MH_JARR ? ']' : '}'));
            ASSERT(mh_json_parse(&sub, raw.ptr, raw.len, NULL) == MH_OK);
            ASSERT(sub.n == nd->next - i);
            break;
        }
        default: {
            struct mh_slice raw = mh_json_raw(&doc, i);
            ASSERT(raw.len == (nd->type == MH_JFALSE ? 5u : 4u));
        }
        }
    }
    return 0;
}
