/*
 * ingest/json.h -- zero-copy JSON reader with a tape index
 *
 * Pipeline: bytes -> [ingest: records] -> normalize. Every JSON record is
 * parsed into a tape: a flat array of fixed-size nodes in document order.
 * Nothing is copied: strings and numbers are (offset, length) slices into
 * the input, strings are unescaped lazily (only when asked, and only if the
 * node is flagged MH_JF_ESCAPED). A field is found by walking the members of
 * one object, skipping each value's whole subtree in O(1) through `next`.
 *
 * Tape layout (example `{"a":[1,2],"b":"x"}`):
 *   0 OBJ  len=2 (members)  next=7
 *   1 STR "a" (key)         next=2
 *   2 ARR  len=2            next=5
 *   3 NUM 1                 next=4
 *   4 NUM 2                 next=5
 *   5 STR "b" (key)         next=6
 *   6 STR "x"               next=7
 * Children of a container c are c+1 .. nodes[c].next-1; object members are
 * key,value pairs. For strings, off/len cover the bytes BETWEEN the quotes.
 *
 * Conformance: RFC 8259 exactly -- one value (with surrounding whitespace),
 * no trailing commas, no comments, no NaN/Infinity, no leading zeros, no
 * control characters in strings, escapes limited to the RFC set, \u escapes
 * must form valid UTF-16 (paired surrogates), strings must be valid UTF-8
 * (overlongs, surrogates encoded in UTF-8 and code points > U+10FFFF are
 * rejected). Numbers of any size are accepted (kept as text; conversion
 * reports range errors). Duplicate keys are kept (lookups return the first).
 * Limits: depth MH_JSON_MAX_DEPTH, nodes MH_JSON_MAX_NODES, input < 4 GiB.
 * Errors carry the byte offset of the offending byte and a fixed reason.
 *
 * Ownership: mh_jdoc owns its node array (reused across parses: no
 * allocation in steady state) and borrows the input, which must outlive it.
 * Thread-safety: one mh_jdoc per thread. Design note: docs/json.md.
 */
#ifndef MH_INGEST_JSON_H
#define MH_INGEST_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/slice.h"
#include "mailhound/status.h"

enum mh_jtype {
    MH_JNULL = 0,
    MH_JFALSE,
    MH_JTRUE,
    MH_JNUM,
    MH_JSTR,
    MH_JARR,
    MH_JOBJ,
};

#define MH_JF_ESCAPED 0x01  /* string contains backslash escapes */
#define MH_JF_NONASCII 0x02 /* string contains bytes >= 0x80 */
#define MH_JF_NUM_FRAC 0x04 /* number has a fraction or exponent */
#define MH_JF_NUM_NEG 0x08  /* number is negative */

#define MH_JNONE UINT32_MAX

struct mh_jnode {
    uint32_t off;      /* byte offset of the value (strings: first byte after the quote) */
    uint32_t len;      /* strings/numbers/literals: byte length; containers: child count
                          (members for objects) */
    uint32_t next;     /* index one past this value's subtree */
    uint8_t type;      /* enum mh_jtype */
    uint8_t flags;     /* MH_JF_* */
    uint16_t reserved; /* nesting depth of the value (root 0; keys as their value);
                          used by mh_json_raw to find a container's end */
};

#define MH_JDOC_SCALAR 0x01 /* opts: never use the SIMD string scanner (tests) */

struct mh_jdoc {
    const char *src;
    size_t srclen;
    struct mh_jnode *nodes;
    uint32_t n;             /* nodes in use */
    uint32_t cap;           /* nodes allocated */
    uint32_t max_nodes;     /* 0 = MH_JSON_MAX_NODES; otherwise min(max_nodes, that) */
    struct mh_arena *arena; /* if set, nodes come from it (no free) -- for nested docs */
    uint32_t opts;          /* MH_JDOC_* (0 after init) */
};

/* Initialise an empty document. arena may be NULL (heap, reused). With an
 * arena (nested documents), every parse allocates a fresh node array from it
 * (sized from the input; abandoned, not freed, when it grows), so the tape
 * lives exactly as long as the arena's current contents; arena exhaustion is
 * MH_ELIMIT ("document arena full"). */
void mh_jdoc_init(struct mh_jdoc *d, struct mh_arena *arena);
void mh_jdoc_fini(struct mh_jdoc *d);

/*
 * Parse src[0..len) as one JSON text. On success the root is node 0.
 * MH_EPARSE (malformed; err->offset = byte), MH_ELIMIT (depth/nodes/size),
 * MH_ENOMEM. On failure the document is empty (n = 0). err->msg is one of a
 * fixed set of reasons ("unterminated string", "invalid escape", "invalid
 * surrogate", "invalid UTF-8", "control character in string", "unexpected
 * character", "trailing characters", "trailing comma", "number format",
 * "invalid literal", "expected ':'", "expected string key", "unexpected end
 * of input", "nesting too deep", "too many values", "input too large",
 * "document arena full").
 * err->offset: the offending byte; the backslash of a bad escape; the lead
 * byte of bad UTF-8; len when the input ends too early. src may be NULL only
 * when len is 0 (then: "unexpected end of input").
 */
MH_MUST_CHECK mh_status mh_json_parse(struct mh_jdoc *d, const char *src, size_t len,
                                      mh_error *err);

/* Member value of object node `obj` with key k (exact bytes; escaped keys are
 * compared after unescaping). MH_JNONE if absent or obj is not an object. */
uint32_t mh_json_get(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t klen);
/* Same, ASCII case-insensitive key comparison. */
uint32_t mh_json_get_nocase(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t klen);

static inline const struct mh_jnode *mh_json_node(const struct mh_jdoc *d, uint32_t i)
{
    return &d->nodes[i];
}
static inline enum mh_jtype mh_json_type(const struct mh_jdoc *d, uint32_t i)
{
    return (enum mh_jtype)d->nodes[i].type;
}
/* First child of a container (MH_JNONE if empty); next sibling (MH_JNONE past the end).
 * In an object the children alternate key, value: to visit members, step from
 * the value -- for (k = mh_json_first(d, o); k != MH_JNONE; k = mh_json_next(d, o, k + 1)). */
static inline uint32_t mh_json_first(const struct mh_jdoc *d, uint32_t c)
{
    return d->nodes[c].len ? c + 1 : MH_JNONE;
}
static inline uint32_t mh_json_next(const struct mh_jdoc *d, uint32_t parent, uint32_t i)
{
    uint32_t n = d->nodes[i].next;
    return n < d->nodes[parent].next ? n : MH_JNONE;
}
/* Raw source bytes of a value: strings without quotes, containers whole. */
struct mh_slice mh_json_raw(const struct mh_jdoc *d, uint32_t i);

/*
 * String value (or key) as UTF-8 bytes. Unescaped strings are returned as a
 * slice into the input (no copy); escaped ones are decoded into `arena`
 * (which may be NULL only if the caller knows the string is unescaped).
 * MH_EINVAL if the node is not a string (or escaped with no arena),
 * MH_ENOMEM/MH_ELIMIT from the arena.
 */
MH_MUST_CHECK mh_status mh_json_str(const struct mh_jdoc *d, uint32_t i, struct mh_arena *arena,
                                    struct mh_slice *out);
/* Compare a string node with bytes without decoding into memory. */
bool mh_json_str_eq(const struct mh_jdoc *d, uint32_t i, const char *s, size_t n);

/* Number conversion. MH_EINVAL (not a number or not integral for _int),
 * MH_ELIMIT (out of range: huge numbers parse but do not convert).
 * mh_json_int is exact: "1e3", "2.0" and "1.5e1" are integers, "1e-400" and
 * "0.5" are not (MH_EINVAL), "1e19" is out of range (MH_ELIMIT).
 * mh_json_double rounds correctly (strtod); underflow gives 0 or a
 * subnormal, overflow MH_ELIMIT; it may allocate (MH_ENOMEM) for numbers
 * longer than 127 bytes. */
MH_MUST_CHECK mh_status mh_json_int(const struct mh_jdoc *d, uint32_t i, int64_t *out);
MH_MUST_CHECK mh_status mh_json_double(const struct mh_jdoc *d, uint32_t i, double *out);

/*
 * Decode the body of a JSON string (between the quotes, escapes allowed) into
 * out, which must have room for n bytes (decoding never grows). Returns the
 * decoded length via *outlen. MH_EPARSE on a bad escape.
 */
MH_MUST_CHECK mh_status mh_json_unescape(const char *s, size_t n, char *out, size_t *outlen);

#endif
