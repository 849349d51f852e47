/*
 * rules/yaml.h -- YAML documents as a positioned node tree (libyaml adapter)
 *
 * Pipeline: rule files -> [rules: yaml] -> sigma loader -> ruleset.
 * Only yaml.c includes yaml.h (libyaml). It runs libyaml's event parser and
 * builds, per document, a tree of nodes that remember where they came from
 * (1-based line and column, byte offset), so that every later error about a
 * rule can point at the exact key or value.
 *
 * Data model: a node is a scalar (text + style), a sequence (items) or a
 * mapping (key/value pairs kept in file order; duplicate keys are kept and
 * mh_ymap_get returns the LAST one, as PyYAML does). Anchors and aliases are
 * resolved by sharing the anchored node; a file's node count is bounded with
 * aliases counted as expanded (MH_YAML_MAX_NODES), so "billion laughs"
 * input is refused instead of blowing up later traversals.
 *
 * Scalars are typed as PyYAML (YAML 1.1) types them, because Sigma's
 * reference implementation loads rules with PyYAML: a plain `50126` is an
 * int, `0x1F` an int, `yes`/`on`/`true` a bool, `~`/`null`/empty a null,
 * `1.5` a float; anything quoted is a string. See mh_yscalar_type.
 *
 * Ownership: everything lives in the file's arena; mh_yaml_fini frees it.
 * Limits: depth MH_YAML_MAX_DEPTH, nodes MH_YAML_MAX_NODES, documents
 * MH_YAML_MAX_DOCS. Threading: a file object is used by one thread.
 */
#ifndef MH_RULES_YAML_H
#define MH_RULES_YAML_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "mailhound/status.h"

enum mh_ykind { MH_Y_SCALAR = 0, MH_Y_SEQ, MH_Y_MAP };
enum mh_ystyle { MH_YS_PLAIN = 0, MH_YS_QUOTED }; /* quoted = single, double, literal, folded, !!str */

enum mh_ytype { MH_YT_NULL = 0, MH_YT_BOOL, MH_YT_INT, MH_YT_FLOAT, MH_YT_STR };

struct mh_ynode {
    uint8_t kind;  /* enum mh_ykind */
    uint8_t style; /* enum mh_ystyle (scalars) */
    uint32_t line, col; /* 1-based position of the node's first character */
    uint64_t offset;    /* byte offset in the file */
    const char *str;    /* scalar text, NUL-terminated (may contain NUL bytes: use len) */
    size_t len;
    struct mh_ynode **kids; /* sequence: n items; mapping: 2n entries key, value, ... */
    uint32_t n;             /* items (sequence) or pairs (mapping) */
    uint32_t weight;        /* nodes in the subtree with aliases expanded (saturating) */
};

struct mh_ydoc {
    struct mh_ynode *root; /* NULL for an empty document */
    uint32_t line;         /* 1-based line where the document starts */
};

struct mh_yfile {
    struct mh_arena arena;
    struct mh_ydoc *docs;
    size_t ndocs;
};

void mh_yaml_init(struct mh_yfile *f);
void mh_yaml_fini(struct mh_yfile *f);

/*
 * Parse every document of data[0..len). On a syntax error the documents
 * before the faulty one are kept (f->ndocs) and MH_EPARSE is returned with
 * err->line/column/offset at the problem and libyaml's message in detail.
 * MH_ELIMIT for the limits above, MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_yaml_parse(struct mh_yfile *f, const char *data, size_t len,
                                      mh_error *err);

/* Value of the last pair whose key is the scalar k in map m; NULL if none or m is not a map. */
const struct mh_ynode *mh_ymap_get(const struct mh_ynode *m, const char *k);
/* Key node of that pair (for positions), or NULL. */
const struct mh_ynode *mh_ymap_key(const struct mh_ynode *m, const char *k);

/* PyYAML (YAML 1.1) type of a scalar; MH_YT_STR for collections is meaningless. */
enum mh_ytype mh_yscalar_type(const struct mh_ynode *n);
/* Integer value of an MH_YT_INT scalar (decimal, 0x, 0o, 0b, legacy 0-octal, '_' allowed).
 * MH_EINVAL if not an int, MH_ELIMIT when out of range. */
MH_MUST_CHECK mh_status mh_yscalar_int(const struct mh_ynode *n, int64_t *out);
/* Bool value of an MH_YT_BOOL scalar. */
bool mh_yscalar_bool(const struct mh_ynode *n);
/* True when the scalar equals s exactly. */
bool mh_yscalar_is(const struct mh_ynode *n, const char *s);

#endif
