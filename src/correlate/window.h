/*
 * correlate/window.h -- Sigma correlation rules over base-rule hits, in event time
 *
 * Pipeline: match (hits of rules referenced by correlations) -> [window] -> alerts.
 *
 * Input: one mh_corr_hit per (base-rule match, referencing correlation),
 * fed in input order. Hits are put in event-time order through a bounded
 * reordering buffer: with lateness L >= 0 a hit is released once a hit L
 * later has been seen; with L < 0 (default) hits are held until the buffer
 * is full (MH_MAX_CORR_PENDING) or the input ends, i.e. the input is sorted
 * whatever its order. A hit older than one already released, or (L >= 0)
 * more than L older than the newest hit seen, is late: counted and dropped. Hits without a time are counted and skipped.
 *
 * Semantics per type (docs/sigma.md §7): sliding windows [t - timespan, t]
 * evaluated at each hit of a group; event_count = hits in the window,
 * value_count = distinct values, value_sum / value_avg over the numeric
 * values, value_percentile = share (percent) of the window's hits that have
 * the current hit's value, temporal = distinct referenced rules in the
 * window (condition, or all of them), temporal_ordered = the rules in list
 * order within the window. After a firing the group is silent until the
 * window has slid past the firing time (once per group per window). A
 * firing is an alert (if the correlation emits) and a hit for every
 * correlation that references it (chaining; group values carried by name).
 *
 * State: per correlation a hash of groups in LRU (= event time) order;
 * groups idle for longer than the timespan are dropped; at most
 * MH_MAX_KEYS_PER_CORRELATION groups (least recent evicted),
 * MH_MAX_EVENTS_PER_KEY entries per group (oldest evicted),
 * MH_MAX_DISTINCT_PER_KEY distinct values (saturates), MH_MAX_CORR_ENTRIES
 * entries overall (least recent group evicted). Every eviction is counted and
 * an alert whose group lost state says `capped`.
 *
 * Threading: one correlator, fed by one thread (the output thread).
 */
#ifndef MH_CORRELATE_WINDOW_H
#define MH_CORRELATE_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "base/db.h"
#include "base/time.h"
#include "match/alert.h"
#include "rules/ruleset.h"

struct mh_corr_hit {
    uint32_t corr;  /* rule index of the correlation */
    uint32_t pos;   /* position in corr->rules */
    mh_time time;
    struct mh_slice group; /* group values joined by 0x1f, in group-by order */
    struct mh_slice value; /* value field (value_* types); ptr NULL = absent */
    struct mh_alert_ref ref;
    struct mh_slice ent[MH_ALERT_ENTITIES];
};

typedef mh_status (*mh_corr_out_fn)(void *ctx, const struct mh_alert *a);

struct mh_correlator_opts {
    int64_t lateness_us; /* < 0: sort everything (bounded by MH_MAX_CORR_PENDING) */
    mh_corr_out_fn out;
    void *ctx;
};

struct mh_corr_stats {
    uint64_t hits, untimed, late, fired, emitted;
    uint64_t groups_expired, groups_evicted, entries_evicted, distinct_saturated;
    uint64_t pending_max;
    /* carry-over: hits fed back from the state, their (silent) firings, those
       a hit of this run superseded, those skipped (rule gone or changed), and
       hits the carry had no room for (MH_MAX_CORR_CARRY) */
    uint64_t replayed, replay_fired, replay_superseded, replay_skipped, carry_dropped;
};

typedef struct mh_correlator mh_correlator;

MH_MUST_CHECK mh_status mh_correlator_new(const mh_ruleset *rs, const struct mh_correlator_opts *o,
                                          mh_correlator **out);
void mh_correlator_free(mh_correlator *c);
/* Copy h in (strings too); may release older hits and fire. */
MH_MUST_CHECK mh_status mh_correlator_feed(mh_correlator *c, const struct mh_corr_hit *h);
/* Release every pending hit (end of input). */
MH_MUST_CHECK mh_status mh_correlator_finish(mh_correlator *c);
/* Carry-over between runs (table sigma_carry of the case database, see
 * correlate/state.h): load feeds the previous run's recent hits back (call it
 * after mh_correlator_new, before the first feed; it also makes the run keep
 * its own carry -- without a load nothing is kept and save writes no hit);
 * save writes this run's (after mh_correlator_finish, inside the state's
 * transaction). A carried hit's file name and key are copied; a live hit's
 * ref.file / ref.key must stay valid until save. */
MH_MUST_CHECK mh_status mh_correlator_load(mh_correlator *c, mh_db *db, mh_error *err);
MH_MUST_CHECK mh_status mh_correlator_save(const mh_correlator *c, mh_db *db, mh_error *err);
const struct mh_corr_stats *mh_correlator_stats(const mh_correlator *c);

/* True when rule r feeds at least one enabled correlation. */
bool mh_corr_is_input(const mh_ruleset *rs, uint32_t rule);

#endif
