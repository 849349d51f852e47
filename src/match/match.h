/*
 * match/match.h -- evaluate a compiled Sigma ruleset against records and events
 *
 * Pipeline: ruleset (compiled) -> [match] -> correlate / alerts.
 *
 * Per record: mh_match_prefilter scans the raw record text with the
 * ruleset's Hyperscan literal database and marks the candidate rules (rules
 * with a necessary literal present, plus the `always` rules). When no rule
 * is a candidate the record need not be parsed at all. Otherwise the caller
 * normalizes it (mh_event_init) and mh_match_event evaluates the candidate
 * rules routed to the event's source kind, in rule order, calling fn for
 * each match.
 *
 * Reference mode (mh_matcher_new(..., true)): no prefilter (every active
 * rule is a candidate) and every string comparison goes through the
 * pattern's PCRE2 reference regex. The differential test asserts that both
 * modes produce the same matches.
 *
 * Semantics: docs/sigma.md (project) -- any-element over arrays, aliases
 * ORed, two-valued logic (a missing field matches nothing; `not` inverts),
 * `null` = absent or null, keywords search the raw record and every leaf.
 *
 * Threading: the ruleset is shared read-only; one matcher per thread. The
 * hot path does not allocate (the scratch buffers are sized at creation).
 */
#ifndef MH_MATCH_MATCH_H
#define MH_MATCH_MATCH_H

#include <stdbool.h>
#include <stdint.h>

#include "mailhound/status.h"
#include "normalize/event.h"
#include "rules/ruleset.h"

typedef struct mh_matcher mh_matcher;

struct mh_match_stats {
    uint64_t records;       /* records offered to the prefilter */
    uint64_t skipped;       /* records with no candidate rule (never parsed) */
    uint64_t events;        /* events evaluated */
    uint64_t rule_evals;    /* rule evaluations */
    uint64_t matches;       /* rule matches */
    uint64_t regex_limits;  /* regex executions cut by the PCRE2 limits (counted as no match) */
    uint64_t leaf_limits;   /* keyword searches cut at MH_MAX_FIELDS_PER_EVENT leaves (the
                               leaves past the cap are not searched) */
};

MH_MUST_CHECK mh_status mh_matcher_new(const mh_ruleset *rs, bool reference, mh_matcher **out);
void mh_matcher_free(mh_matcher *m);
const struct mh_match_stats *mh_matcher_stats(const mh_matcher *m);

/* Mark the candidate rules for the record raw[0..n); *any = some candidate. */
MH_MUST_CHECK mh_status mh_match_prefilter(mh_matcher *m, const char *raw, size_t n, bool *any);

/* Called for each matching rule (rule order). Return non-OK to stop. */
typedef mh_status (*mh_match_fn)(void *ctx, const struct mh_rule *r, struct mh_event *ev);

/* Evaluate the candidates of the last prefilter against ev (ev->rec->json is
 * the raw text used for keywords). */
MH_MUST_CHECK mh_status mh_match_event(mh_matcher *m, struct mh_event *ev, mh_match_fn fn,
                                       void *ctx);

/* Evaluate one rule regardless of routing and prefilter (tests, explain). */
MH_MUST_CHECK mh_status mh_match_rule(mh_matcher *m, const struct mh_rule *r,
                                      struct mh_event *ev, bool *matched);

/*
 * First value of a resolved field (after its path transforms), for alert
 * `fields` and correlation keys. Strings point into the event/normalizer
 * (valid until mh_normalizer_reset) or into the ruleset (mapped values).
 */
MH_MUST_CHECK mh_status mh_match_field_value(mh_matcher *m, struct mh_event *ev, uint32_t field,
                                             struct mh_slice *out, bool *found);

/* Numeric text: optional sign, digits, optional fraction (exponent only if
 * allow_exp). Exposed for the correlation stage and tests. */
bool mh_num_parse(const char *s, size_t n, bool allow_exp, double *out);

#endif
