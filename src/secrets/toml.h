/*
 * secrets/toml.h -- a small TOML 1.0 reader, enough for gitleaks rule files
 *
 * Pipeline: [secrets: rule files] -> gitleaks config -> scan. No C TOML
 * library is packaged in Debian 12, so mailhound reads TOML itself.
 *
 * Supported: comments; bare, "quoted" and 'literal' keys; dotted keys;
 * [tables], [[arrays.of.tables]] (dotted, e.g. [[rules.allowlists]]);
 * basic "..." strings with every TOML escape; literal '...' strings;
 * multi-line """...""" and '''...''' strings (first newline trimmed,
 * line-ending backslash); decimal/hex/octal/binary integers with '_'
 * separators; floats incl. exponent, inf and nan; booleans; arrays
 * (multi-line, trailing comma, comments inside); inline tables.
 * Not supported (rejected with a reason): offset/local date-times.
 *
 * Data model: the document is a tree of mh_toml_value nodes in one arena
 * owned by the mh_toml_doc. Tables keep their keys in file order (a linked
 * list of mh_toml_kv) and an index (one hash map per document keyed by
 * table + key) for O(1) lookup; arrays keep their items in order. Strings
 * are decoded (escapes applied) and NUL-terminated; they may contain NUL
 * bytes, so use .len.
 *
 * Errors: MH_EPARSE with err->line / err->column (1-based; the column counts
 * bytes) / err->offset and a fixed message ("duplicate key", "unterminated
 * string", ...), the key or token in err->detail. The TOML table rules are
 * enforced: a key or [table] is defined once, [[x]] only extends an array of
 * tables, a table defined by dotted keys cannot be reopened with [x].
 *
 * Limits: input <= MH_MAX_RULE_FILE_BYTES, nesting of arrays and inline
 * tables <= MH_TOML_MAX_DEPTH, values per document <= MH_TOML_MAX_VALUES
 * (MH_ELIMIT). The document must be valid UTF-8.
 *
 * Thread-safety: a parsed document is immutable and may be read by any
 * number of threads.
 *
 * Example:
 *   struct mh_toml_doc *d;
 *   mh_toml_parse("[[rules]]\nid = 'x'\n", 18, "a.toml", &d, &err);
 *   const struct mh_toml_value *rules = mh_toml_get(mh_toml_root(d), "rules");
 *   const struct mh_toml_value *r0 = mh_toml_array_first(rules);   // a table
 *   mh_toml_get(r0, "id")->u.str  ->  {"x", 1}
 */
#ifndef MH_SECRETS_TOML_H
#define MH_SECRETS_TOML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "mailhound/status.h"

enum mh_toml_type {
    MH_TOML_TABLE = 1,
    MH_TOML_ARRAY,
    MH_TOML_STRING,
    MH_TOML_INT,
    MH_TOML_FLOAT,
    MH_TOML_BOOL,
};

struct mh_toml_kv;

struct mh_toml_value {
    enum mh_toml_type type;
    uint32_t line, col;         /* where the value (or the [table] header) starts */
    struct mh_toml_value *next; /* next item when this value is an array element */
    union {
        struct mh_slice str; /* MH_TOML_STRING (decoded, NUL-terminated) */
        int64_t i;           /* MH_TOML_INT */
        double f;            /* MH_TOML_FLOAT */
        bool b;              /* MH_TOML_BOOL */
        struct {
            struct mh_toml_kv *first, *last;
            size_t n;
            unsigned flags; /* parser-private definition state */
        } table;
        struct {
            struct mh_toml_value *first, *last;
            size_t n;
            bool of_tables; /* created by [[header]] */
        } array;
    } u;
};

struct mh_toml_kv {
    struct mh_slice key; /* decoded, NUL-terminated */
    struct mh_toml_value *val;
    struct mh_toml_kv *next;
};

struct mh_toml_doc;

/*
 * Parse text[0..n). origin names the input in errors (may be NULL).
 * Statuses: MH_OK; MH_EPARSE (syntax or TOML rule violation, position in
 * err); MH_ELIMIT; MH_ENOMEM. *out untouched on failure.
 */
MH_MUST_CHECK mh_status mh_toml_parse(const char *text, size_t n, const char *origin,
                                      struct mh_toml_doc **out, mh_error *err);
/* Release a document and every value in it; NULL is a no-op. */
void mh_toml_free(struct mh_toml_doc *d);
/* The root table. */
const struct mh_toml_value *mh_toml_root(const struct mh_toml_doc *d);

/* Value of key in table t (NULL when t is not a table or has no such key). */
const struct mh_toml_value *mh_toml_get(const struct mh_toml_value *t, const char *key);
/* First item of an array (NULL when empty or not an array); then use ->next. */
const struct mh_toml_value *mh_toml_array_first(const struct mh_toml_value *a);
/* Type name for messages: "table", "array", "string", "integer", "float", "boolean". */
const char *mh_toml_type_name(enum mh_toml_type t);

#endif
