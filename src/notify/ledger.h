/*
 * notify/ledger.h -- what was handed to whom: the notification ledger (SQLite)
 *
 * Pipeline: organisations -> packages -> [notify: ledger]. Every package and
 * every (organisation, message) pair handed out is recorded, with a snapshot
 * of what was shipped (the messages.csv fields, the SHA-256 of the original
 * and of the shipped bytes, the Bcc fields removed, the package hash). The
 * ledger is the internal chain-of-custody log of mail-and-secrets.md §7-§8.
 *
 * Semantics (docs/notify.md):
 *   - a pair (org, message id) is recorded at most once: nothing is ever
 *     listed twice;
 *   - mh_ledger_publish(org, messages) re-materialises the org's recorded
 *     packages that are missing from DIR (from the snapshot + the message
 *     bytes: byte-identical, checked against the recorded package hash) and
 *     writes ONE new package with the messages not yet recorded: seq 0 (the
 *     first package) or supplement-<k>; a rerun on the same inputs records
 *     nothing new and leaves DIR byte-identical;
 *   - a recorded package that cannot be reproduced (its messages are no
 *     longer in the input, or their bytes changed) is left as it is and
 *     counted as drifted; it is never silently replaced.
 *
 * Crash safety: a new package is written to a temporary directory, made
 * durable, renamed into place, and only then recorded in ONE transaction
 * (packages row + item rows). Killed before the commit, the package is
 * unrecorded: the restart computes the same new set, the same seq, rewrites
 * the same bytes over it and commits. Killed after, the restart finds it
 * recorded and intact. Unrecorded package directories (leftovers of a killed
 * run whose inputs then changed) are removed. Run mh_pkg_recover(DIR) once
 * at the start of a run.
 *
 * Threading: one mh_ledger per thread; the file may be shared by processes
 * (SQLite locking, WAL). Limits: MH_LEDGER_MAX_ITEMS_PER_ORG.
 */
#ifndef MH_NOTIFY_LEDGER_H
#define MH_NOTIFY_LEDGER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "mailhound/status.h"
#include "notify/package.h"

typedef struct mh_ledger mh_ledger;

#define MH_LEDGER_SCHEMA 1

/* Open or create the ledger at path (":memory:" for tests). MH_ESTATE when
 * the file is a ledger of another schema version; MH_EDB, MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_ledger_open(const char *path, mh_ledger **out, mh_error *err);
void mh_ledger_close(mh_ledger *lg);

/* Is (org, message_id) recorded? */
MH_MUST_CHECK mh_status mh_ledger_has(mh_ledger *lg, const char *org, const char *message_id,
                                      bool *out, mh_error *err);

/* For each of ids[0..n): is_new[i] = not recorded for org; *n_new counts them. */
MH_MUST_CHECK mh_status mh_ledger_new_items(mh_ledger *lg, const char *org,
                                            const char *const *ids, size_t n, bool *is_new,
                                            size_t *n_new, mh_error *err);

struct mh_ledger_totals {
    uint64_t packages, messages, secrets;
    char kind[16]; /* kind of the org's first package ("" when none) */
};
/* Totals over every package recorded for org (zeros when none). */
MH_MUST_CHECK mh_status mh_ledger_org_totals(mh_ledger *lg, const char *org,
                                             struct mh_ledger_totals *out, mh_error *err);

struct mh_publish_result {
    bool created;        /* a new package was written and recorded */
    unsigned seq;        /* its seq (0 = first package, k = supplement-k) */
    size_t new_messages; /* messages in it */
    size_t present;      /* recorded packages found intact in DIR */
    size_t rewritten;    /* recorded packages re-materialised identically */
    size_t drifted;      /* recorded packages that could not be reproduced */
    size_t removed;      /* unrecorded leftover package directories removed */
    struct mh_pkg_result pkg; /* the new package (when created) */
};

/*
 * Bring DIR up to date for one organisation (semantics above). info gives the
 * organisation and the letter for a NEW package (info->seq is ignored: the
 * ledger decides); recorded packages keep their recorded info. msgs[0..n) are
 * every message currently in scope for this organisation (borrowed; n may be
 * 0; message ids must be distinct). res may be NULL.
 * MH_EINVAL, MH_EIO, MH_EDB, MH_ENOMEM, MH_ELIMIT.
 */
MH_MUST_CHECK mh_status mh_ledger_publish(mh_ledger *lg, const char *outdir,
                                          const struct mh_pkg_info *info,
                                          const struct mh_pkg_message *msgs, size_t n,
                                          struct mh_publish_result *res, mh_error *err);

/*
 * Batches: the same as mh_ledger_publish, but a new package is only staged
 * (built in its temporary directory) and kept in the batch; mh_ledger_flush
 * makes every staged package durable with ONE file-system sync, renames them
 * into place and records them all in ONE transaction. The crash argument is
 * unchanged (a package is recorded only after it is durable and in place;
 * killed before the commit, the rerun finds the batch's packages unrecorded,
 * computes the same sets and seqs and rewrites the same bytes), but a run
 * with thousands of organisations pays a few syncs instead of thousands.
 * The batch flushes itself when it is full (max_packages, at most
 * MH_LEDGER_MAX_BATCH; MH_LEDGER_MAX_BATCH_ITEMS rows) and before it takes
 * an organisation it already holds. res->created means "staged, recorded at
 * the next flush". Call mh_ledger_flush before reading the ledger
 * (mh_ledger_org_totals) or the packages. mh_ledger_batch_free drops what
 * was not flushed (temporary directories removed, nothing recorded).
 * Strings are copied; the message bytes are not needed after the call.
 */
typedef struct mh_ledger_batch mh_ledger_batch;
MH_MUST_CHECK mh_status mh_ledger_batch_new(size_t max_packages, mh_ledger_batch **out,
                                            mh_error *err);
void mh_ledger_batch_free(mh_ledger_batch *b);
MH_MUST_CHECK mh_status mh_ledger_publish_batch(mh_ledger *lg, mh_ledger_batch *batch,
                                                const char *outdir,
                                                const struct mh_pkg_info *info,
                                                const struct mh_pkg_message *msgs, size_t n,
                                                struct mh_publish_result *res, mh_error *err);
MH_MUST_CHECK mh_status mh_ledger_flush(mh_ledger *lg, mh_ledger_batch *b, mh_error *err);

/* A deterministic text dump of every row (ordered by key), for tests and
 * audits; appended to out. */
MH_MUST_CHECK mh_status mh_ledger_dump(mh_ledger *lg, struct mh_buf *out, mh_error *err);

#endif
