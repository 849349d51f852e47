/*
 * rules/condition.h -- Sigma condition expressions -> condition trees
 *
 * Pipeline: sigma loader -> [condition] -> mh_cnode tree in the rule.
 *
 * Grammar (../shared/docs/sigma.md §4; precedence loosest to tightest:
 * or, and, not, x-of, parentheses):
 *   expr    := and ("or" and)*
 *   and     := not ("and" not)*
 *   not     := "not" not | primary
 *   primary := "(" expr ")" | ("1" | "any" | "all") "of" (pattern | "them") | identifier
 * Operators are lower-case only. `1 of P` is an OR over every identifier
 * whose whole name matches P (`*` = any run), `all of P` an AND; identifiers
 * starting with `_` are excluded unless P itself starts with `_`. An unknown
 * identifier, or a pattern that matches nothing, is an error (decision).
 *
 * A `|` starts the legacy v1 aggregation (`... | count(f) by g > 5`):
 * mh_cond_parse returns the expression before it and fills `agg` when it is
 * a count form; `near` and min/max/avg/sum are errors.
 *
 * Nodes are allocated from the caller's arena. Errors carry the 1-based
 * column inside the condition string (err->column).
 */
#ifndef MH_RULES_CONDITION_H
#define MH_RULES_CONDITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "mailhound/status.h"
#include "rules/sigma.h"

struct mh_cond_agg {
    bool present;
    bool distinct;          /* count(field): distinct values of field */
    char field[128];        /* count(field) */
    char group[128];        /* by group ("" if none) */
    uint8_t op;             /* enum mh_cmp */
    double value;
};

MH_MUST_CHECK mh_status mh_cond_parse(struct mh_arena *a, const char *text, size_t len,
                                      const struct mh_det *dets, uint32_t ndets,
                                      struct mh_cnode **out, struct mh_cond_agg *agg,
                                      mh_error *err);

/* Whole-name match of a condition pattern (`*` = any run, case-sensitive). */
bool mh_cond_pattern_match(const char *pat, size_t plen, const char *name);

/* True when the tree contains a NOT node. */
bool mh_cond_has_not(const struct mh_cnode *c);

#endif
