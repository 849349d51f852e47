/*
 * rules/explain.h -- `mailhound rules explain`: what a compiled rule does
 *
 * Pipeline: compiled ruleset -> [explain] -> text (cli prints it).
 * For one rule: its route (field map) and source kinds, the condition,
 * every identifier with its items, the fields used with the paths they
 * resolve to, the prefilter literals chosen (or why the rule is always a
 * candidate), the regexes, and a cost estimate (relative units: one unit
 * = one path lookup with one comparison).
 */
#ifndef MH_RULES_EXPLAIN_H
#define MH_RULES_EXPLAIN_H

#include "base/buf.h"
#include "rules/ruleset.h"

MH_MUST_CHECK mh_status mh_rule_explain(const mh_ruleset *rs, const struct mh_rule *r,
                                        struct mh_buf *out);

#endif
