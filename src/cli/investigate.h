/*
 * cli/investigate.h -- what `mailhound investigate` hands to its summary
 *
 * investigate.c runs the pipeline and keeps, for summary.c, the texts of
 * the outputs it wrote (incidents.json, scope.json, packages/index.csv), the
 * secrets found (already redacted) and the counters of every stage.
 * summary.c renders summary.md from these alone, so the file is a pure
 * function of the outputs: byte-identical for identical inputs.
 */
#ifndef MH_CLI_INVESTIGATE_H
#define MH_CLI_INVESTIGATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "ingest/json.h"
#include "ingest/mailstore.h"
#include "normalize/stream.h"
#include "notify/run.h"
#include "scope/scope.h"
#include "secrets/mail.h"

/* One finding of secrets.jsonl, as the summary needs it (strings owned by
 * the investigation's arena). */
struct mh_inv_secret {
    const char *rule, *secret, *fingerprint, *message_id, *mailbox;
    bool generic;
};

/* A rule's title, for the steps of the incident stories. */
struct mh_inv_rule {
    const char *id, *title;
};

struct mh_inv_summary {
    /* selection */
    const char *min_level;         /* level name, or NULL when ids were given */
    const char *const *ids;        /* --incident ids */
    size_t nids;
    bool hunted;                   /* false: incidents came from --incidents FILE */
    int hunt_rc;                   /* hunt's exit status (0 or 1) */
    /* outputs (parsed; the documents may be empty) */
    const struct mh_jdoc *incidents; /* incidents.json */
    const struct mh_jdoc *scope;     /* scope.json */
    const char *index_csv;           /* packages/index.csv, NULL when notify did not run */
    size_t index_len;
    const struct mh_inv_secret *secrets;
    size_t nsecrets;
    const struct mh_inv_rule *rules; /* from alerts.jsonl, sorted by id; may be empty */
    size_t nrules;
    /* counters */
    struct mh_evstream_stats logs;
    struct mh_scope_stats scoped;
    const struct mh_mailstore_stats *mail;
    uint64_t mail_bad;               /* mail store problems reported */
    const struct mh_secrets_mail_stats *sec;
    bool notified;                   /* mh_notify_run ran */
    const char *notify_skipped;      /* why not, when it did not */
    struct mh_notify_stats notify;
};

/* Append summary.md (docs/investigate.md §3). MH_ENOMEM, MH_EPARSE (a
 * document without the expected shape). */
MH_MUST_CHECK mh_status mh_inv_summary_render(const struct mh_inv_summary *s, struct mh_buf *out);

#endif
