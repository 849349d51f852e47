/*
 * notify/run.h -- one notification run: scope.json + mail store -> DIR
 *
 * Pipeline: scope (scope.json) + ingest (mail store) -> [notify: run] ->
 * DIR/packages/..., DIR/indicators.stix.json, the ledger. `mailhound notify`
 * and `mailhound investigate` both call mh_notify_run; docs/notify.md §8
 * describes the wiring and every output.
 *
 * Steps: parse scope.json (incidents: ids, windows, context ips/apps and
 * optional "user_agents"; mailboxes[].messages[]: message_id, mailbox,
 * confidence, evidence) -> merge per message id (mailboxes and evidence
 * united, the strongest confidence kept: observed > inferred-sync >
 * inferred-throttle) -> for each message in the store, its parties (every
 * address of From, Sender, Reply-To, To, Cc, Bcc from the store's index;
 * List-Id, also from the index -> the list's host) -> organisation keys
 * (mh_orgs) -> per organisation, in key order: read the messages' raw bytes,
 * mh_ledger_publish_batch (new packages made durable and recorded in batches
 * of 256: one syncfs and one transaction each) -> flush -> envelopes for
 * packages that lack one when a certificate exists -> index.csv from the
 * ledger -> the STIX bundle.
 *
 * Messages the store lacks (scope lists them from logs or the message trace)
 * cannot be shipped: they are counted and reported through on_note. So are
 * unresolved legacy DNs, invalid addresses, drifted packages and embedded
 * messages that could not be inspected for Bcc.
 *
 * Determinism: every list is processed in byte order of its key; the
 * Bagging-Date and the STIX timestamps come from opts or, when absent, from
 * the latest incident last_seen in scope.json (never the clock).
 * Memory: one organisation's messages at a time. Threading: one run at a time
 * per DIR and ledger.
 */
#ifndef MH_NOTIFY_RUN_H
#define MH_NOTIFY_RUN_H

#include <stddef.h>
#include <stdint.h>

#include "base/time.h"
#include "ingest/mailstore.h"
#include "mailhound/status.h"
#include "notify/org.h"

struct mh_notify_opts {
    const char *outdir;        /* DIR (required) */
    const char *ledger;        /* ledger file (NULL: DIR/notify-ledger.db) */
    const char *certdir;       /* CERTDIR/<org dir>.pem recipients, or NULL */
    const char *secrets_path;  /* secrets.jsonl (findings per message_id), or NULL */
    const char *source_org;    /* who notifies (NULL: the domain of the first mailbox) */
    const char *contact;       /* Contact-Email, or NULL */
    const char *incident_id;   /* External-Identifier (NULL: the incident ids, ',') */
    mh_time date;              /* Bagging-Date / STIX time (MH_TIME_NONE: from scope) */
    const char *tlp;           /* STIX TLP level, NULL = amber */
    mh_orgs *orgs;             /* organisation rules (required); the run adds the
                                  domains of the scoped mailboxes as internal */
    size_t batch;              /* new packages per durability batch (0: 256); the
                                  output does not depend on it */
};

struct mh_notify_stats {
    uint64_t messages;       /* distinct messages in scope */
    uint64_t not_in_store;   /* of which the mail store lacks (not shipped) */
    uint64_t unreadable;     /* of which could not be read */
    uint64_t orgs;           /* organisations notified in this run */
    uint64_t created, present, rewritten, drifted, removed; /* packages */
    uint64_t new_messages;   /* (org, message) pairs handed out in this run */
    uint64_t addr_internal, addr_unresolved, addr_invalid; /* address occurrences */
    uint64_t opaque;         /* messages with embedded parts not inspectable for Bcc */
    uint64_t envelopes, no_certificate;
    uint64_t indicators, indicators_skipped;
    uint64_t secrets_skipped; /* malformed secrets.jsonl lines (each noted) */
    uint64_t scope_skipped;   /* scope.json messages naming no message (each noted) */
};

/* Something a person should know (kind: "not-in-store", "unresolved",
 * "invalid", "drift", "no-certificate", "unreadable"); detail is a message id,
 * an address or an organisation key. Kind "malformed secrets.jsonl line,
 * skipped" and "scope.json message skipped": detail is "file[:line]: byte
 * B: reason". May be NULL. */
typedef void (*mh_notify_note_fn)(void *ctx, const char *kind, const char *detail);

/*
 * Run once. scope_json[0..n) is the text of scope.json; store the mail (may
 * hold more than the scope). MH_EPARSE (scope.json), MH_EINVAL (options, no
 * date), MH_EIO, MH_EDB, MH_ENOMEM, MH_ELIMIT, MH_ECRYPTO.
 */
MH_MUST_CHECK mh_status mh_notify_run(const struct mh_notify_opts *o, const mh_mailstore *store,
                                      const char *scope_json, size_t n,
                                      struct mh_notify_stats *stats, mh_notify_note_fn note,
                                      void *ctx, mh_error *err);

#endif
