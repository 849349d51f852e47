/*
 * fuzz/fuzz_json_diff.c -- differential fuzzing: ingest/json.c against jansson
 *
 * jansson (Debian libjansson-dev, used in fuzz/ only) is a strict RFC 8259
 * parser. For every input both parse it (jansson: json_loadb with
 * JSON_DECODE_ANY | JSON_ALLOW_NUL); acceptance must agree, and for accepted
 * inputs the value trees must be equal: types (jansson's integer and real are
 * both our MH_JNUM), string bytes after unescaping, array lengths, object keys
 * in order and count, numbers compared as text -> double where both are finite.
 *
 * Allowed differences (each one is checked to be the cause, not assumed):
 *  1. Depth. We stop at MH_JSON_MAX_DEPTH (128) with MH_ELIMIT; jansson at
 *     2048. We reject with MH_ELIMIT "nesting too deep", jansson accepts.
 *  2. Huge integers. jansson rejects integer text that overflows json_int_t
 *     (long long); we accept any size and report MH_ELIMIT on conversion. We
 *     accept, jansson rejects, and some integer node has mh_json_int ==
 *     MH_ELIMIT.
 *  3. Huge reals. jansson rejects a real whose strtod overflows to +-inf; we
 *     accept (mh_json_double == MH_ELIMIT). Same shape as 2.
 *  4. NUL in object keys. jansson rejects "\u0000" inside a key even with
 *     JSON_ALLOW_NUL; we accept. We accept, jansson rejects, and some decoded
 *     key contains a 0 byte.
 *  5. NUL after a token. jansson drops a NUL byte that directly follows a
 *     number or a literal (its lexer reads the byte as the token's end, puts
 *     it back, and the put-back NUL is lost): it accepts "[1\0]" as [1] and
 *     "0\0" as 0. We reject at that byte. Checked by removing every such NUL
 *     we stop at: the rest must then parse and equal jansson's tree.
 *  6. Duplicate keys. Both accept; jansson keeps one entry per key, at the
 *     position of the first occurrence, with the value of the last; our tape
 *     keeps all members (lookups return the first). Compared accordingly.
 * Anything else aborts.
 */
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "ingest/json.h"

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static struct mh_jdoc doc;
static struct mh_arena arena;
static int inited;

static struct mh_slice str_of(uint32_t i)
{
    struct mh_slice v = MH_SLICE_NULL;
    ASSERT(mh_json_str(&doc, i, &arena, &v) == MH_OK);
    return v;
}

/* Does any number make jansson reject (allowed differences 2 and 3), or any
 * key contain NUL (difference 4)? */
static bool has_allowed_cause(void)
{
    for (uint32_t i = 0; i < doc.n; i++) {
        const struct mh_jnode *nd = &doc.nodes[i];
        if (nd->type == MH_JNUM) {
            if (!(nd->flags & MH_JF_NUM_FRAC)) {
                int64_t v;
                if (mh_json_int(&doc, i, &v) == MH_ELIMIT) return true;
            } else {
                double v;
                if (mh_json_double(&doc, i, &v) == MH_ELIMIT) return true;
            }
        }
        if (nd->type == MH_JOBJ) {
            for (uint32_t k = i + 1; k < nd->next; k = doc.nodes[k + 1].next) {
                struct mh_slice key = str_of(k);
                if (key.len && memchr(key.ptr, 0, key.len)) return true;
            }
        }
    }
    return false;
}

static void compare(uint32_t i, const json_t *j)
{
    const struct mh_jnode *nd = &doc.nodes[i];
    switch (nd->type) {
    case MH_JNULL:
        ASSERT(json_is_null(j));
        break;
    case MH_JTRUE:
        ASSERT(json_is_true(j));
        break;
    case MH_JFALSE:
        ASSERT(json_is_false(j));
        break;
    case MH_JNUM: {
        ASSERT(json_is_number(j));
        /* jansson types integer text as integer, anything with . or e as real */
        ASSERT(json_is_integer(j) == !(nd->flags & MH_JF_NUM_FRAC));
        double ours;
        ASSERT(mh_json_double(&doc, i, &ours) == MH_OK); /* jansson accepted: finite */
        double theirs = json_number_value(j);
        if (isfinite(ours) && isfinite(theirs)) ASSERT(ours == theirs);
        if (json_is_integer(j)) {
            int64_t iv;
            ASSERT(mh_json_int(&doc, i, &iv) == MH_OK && iv == json_integer_value(j));
        }
        break;
    }
    case MH_JSTR: {
        ASSERT(json_is_string(j));
        struct mh_slice v = str_of(i);
        ASSERT(v.len == json_string_length(j));
        ASSERT(v.len == 0 || memcmp(v.ptr, json_string_value(j), v.len) == 0);
        break;
    }
    case MH_JARR: {
        ASSERT(json_is_array(j));
        ASSERT(nd->len == json_array_size(j));
        size_t k = 0;
        for (uint32_t c = mh_json_first(&doc, i); c != MH_JNONE; c = mh_json_next(&doc, i, c))
            compare(c, json_array_get(j, k++));
        ASSERT(k == nd->len);
        break;
    }
    case MH_JOBJ: {
        ASSERT(json_is_object(j));
        /* unique keys in order of first occurrence, each with its last value */
        void *it = json_object_iter((json_t *)j);
        size_t uniq = 0;
        for (uint32_t k = i + 1; k < nd->next; k = doc.nodes[k + 1].next) {
            struct mh_slice key = str_of(k);
            if (mh_json_get(&doc, i, key.ptr, key.len) != k + 1) continue; /* a duplicate */
            uniq++;
            ASSERT(it != NULL);
            const char *jk = json_object_iter_key(it);
            size_t jl = json_object_iter_key_len(it);
            ASSERT(jl == key.len && memcmp(jk, key.ptr, jl) == 0);
            uint32_t last = k + 1;
            for (uint32_t m = doc.nodes[k + 1].next; m < nd->next; m = doc.nodes[m + 1].next)
                if (mh_json_str_eq(&doc, m, key.ptr, key.len)) last = m + 1;
            compare(last, json_object_iter_value(it));
            it = json_object_iter_next((json_t *)j, it);
        }
        ASSERT(it == NULL);
        ASSERT(uniq == json_object_size(j));
        break;
    }
    default:
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!inited) {
        mh_jdoc_init(&doc, NULL);
        mh_arena_init(&arena, 1 << 16, 256u << 20);
        inited = 1;
    }
    mh_arena_reset(&arena);
    mh_error err;
    mh_error_clear(&err);
    mh_status st = mh_json_parse(&doc, (const char *)data, size, &err);
    json_error_t jerr;
    json_t *j = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_ALLOW_NUL, &jerr);
    if (st == MH_OK && j) {
        compare(0, j);
    } else if (st == MH_OK && !j) {
        /* differences 2, 3, 4: jansson names the cause, and the cause is there */
        static const char *const causes[] = {"too big integer", "too big negative integer",
                                             "real number overflow", "NUL byte in object key"};
        bool named = false;
        for (size_t k = 0; k < sizeof causes / sizeof causes[0]; k++)
            if (strncmp(jerr.text, causes[k], strlen(causes[k])) == 0) named = true;
        ASSERT(named);
        ASSERT(has_allowed_cause());
    } else if (st != MH_OK && j) {
        if (st == MH_ELIMIT) {
            ASSERT(strcmp(err.msg, "nesting too deep") == 0); /* difference 1 */
        } else {
            /* difference 5: drop each NUL we stop at that follows a token */
            char *copy = mh_malloc(size);
            ASSERT(copy != NULL);
            memcpy(copy, data, size);
            size_t n = size;
            while (st == MH_EPARSE) {
                size_t at = (size_t)err.offset;
                ASSERT(at > 0 && at < n && copy[at] == '\0');
                unsigned char prev = (unsigned char)copy[at - 1];
                ASSERT((prev >= '0' && prev <= '9') || (prev >= 'a' && prev <= 'z'));
                memmove(copy + at, copy + at + 1, n - at - 1);
                n--;
                st = mh_json_parse(&doc, copy, n, &err);
            }
            ASSERT(st == MH_OK);
            compare(0, j);
            mh_free(copy);
        }
    }
    json_decref(j);
    return 0;
}
