/*
 * match/alert.h -- an alert as data, and its three renderings (jsonl, csv, table)
 *
 * Pipeline: match (rule hits) / correlate (correlation firings) -> [alert] -> cli output.
 *
 * The JSON object is the contract of issue 3 (docs/hunt.md), keys in this
 * order: time, rule_id, rule_title, level, tags, logsource, source {file,
 * record, offset}, fields, entities {user, ip, app_id, client_app_id,
 * session_id, token_id, mailbox}, and for correlations correlation {type,
 * group, count, events[], capped (only when a state cap was hit)}.
 *
 * Ownership: an mh_alert borrows every string (event, ruleset, batch);
 * render it before they go away. Rendering appends to a bounded mh_buf and
 * is deterministic byte for byte.
 */
#ifndef MH_MATCH_ALERT_H
#define MH_MATCH_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/time.h"
#include "match/match.h"

#define MH_ALERT_MAX_FIELDS 64
#define MH_ALERT_ENTITIES 7 /* user ip app_id client_app_id session_id token_id mailbox */

/* Where an alert's evidence is. file: the path as given or found (rendered
 * as source.file); key: the file's name relative to its input root
 * (ingest/reader.h mh_reader_file_key), never rendered -- what incident ids
 * hash, so that they do not depend on where the logs lie; NULL = unknown. */
struct mh_alert_ref {
    const char *file;
    const char *key;
    uint64_t record, offset;
};

struct mh_alert {
    mh_time time;
    const struct mh_rule *rule;
    struct mh_alert_ref source;
    uint32_t nfields;
    const char *fname[MH_ALERT_MAX_FIELDS];
    struct mh_slice fval[MH_ALERT_MAX_FIELDS];
    struct mh_slice ent[MH_ALERT_ENTITIES]; /* ptr NULL = absent */
    /* correlation */
    bool is_corr;
    bool capped;
    double count; /* events, distinct values, rules, or the sum/average */
    uint32_t ngroup;
    const char *const *gname;
    const struct mh_slice *gval;
    uint32_t nrefs;
    const struct mh_alert_ref *refs;
};

enum mh_alert_format { MH_AF_JSONL = 0, MH_AF_CSV, MH_AF_TABLE };

extern const char *const mh_alert_entity_names[MH_ALERT_ENTITIES];

/* Fill a detection alert from a match (fields, entities, time, source). */
MH_MUST_CHECK mh_status mh_alert_from_match(mh_matcher *m, const struct mh_rule *r,
                                            struct mh_event *ev, const char *file,
                                            struct mh_alert *a);
/* Header line (csv, table) or nothing (jsonl). */
MH_MUST_CHECK mh_status mh_alert_header(struct mh_buf *out, enum mh_alert_format f);
MH_MUST_CHECK mh_status mh_alert_render(struct mh_buf *out, enum mh_alert_format f,
                                        const struct mh_alert *a);

#endif
