/*
 * correlate/state.h -- detector baselines persisted in the case database (SQLite)
 *
 * Pipeline: ingest -> normalize -> match -> [correlate] -> scope. `mailhound
 * hunt --state FILE` keeps the stateful detectors' baselines in FILE so that
 * the next run continues them (a first-seen pair of last week is not new this
 * week; the volume baseline keeps its 30 days). Without --state the detectors
 * keep everything in memory and forget it at exit (mh_state_open(NULL) opens a
 * private in-memory database, which gives the same code path).
 *
 * Data model (schema version MH_STATE_SCHEMA_VERSION; one table per kind of
 * baseline, readable with the sqlite3 shell):
 *   mh_meta(key, value)            "schema_version", "created_by"
 *   mh_run(run, first, last, at)   one row per finished run: event-time range
 *   d9_cover(scope, tenant, mailbox, first, last)
 *                                  MailItemsAccessed coverage per tenant
 *                                  (scope 0, mailbox '') and per mailbox (1)
 *   d9_pair(scope, tenant, mailbox, app_id, client_app_id, first, last, count)
 *   d7_spaddr(tenant, sp, ip, first)   service principal sign-in addresses
 *   d11_day(kind, key, day, sum)   daily mail-read volume (kind 0 app, 1 mailbox)
 *   d11_cover(day)                 days with MailItemsAccessed records (daily series)
 *   d11_hour(mailbox, hour, sum)   items read per mailbox and UTC hour (hours since
 *                                  the epoch; non-empty hours only)
 *   d11_hour_cover(hour)           hours the hourly series cover (empty hours in
 *                                  them count 0)
 *   d12_gap(mailbox, start, end)   throttled (unaudited) windows
 *   d2_good(user, ip, first, last) sources a user succeeded from
 *   d5_cover(kind, first)          earliest directory (0) / SP sign-in (1) /
 *                                  any sign-in (2) event
 *   d5_signin(key, day, first)     days an application key signed in
 *   d5_actor(key, actor, first, last)  who managed an application
 *   d9_path(tenant, client_app_id, path, first)  mail read via Graph (0) / directly (1)
 *   d14_owner(upn, oid, last)      user object ids seen in sign-ins
 *   d5_address(ip, asn, first, last)  addresses with a successful sign-in
 *   d5_asn(asn, first, last)       networks (ASN) with a successful sign-in
 *   d10_cover(tenant, first)       earliest MailItemsAccessed per tenant
 *   d10_pair(tenant, accessor, mailbox, folder, first, last)
 *                                  other users' mailboxes (folder '') and their
 *                                  folders a user read
 *   sigma_carry(seq, corr, pos, base, time, grp, value, file, key, record, off)
 *                                  Sigma correlation base hits from the run's
 *                                  earliest hit minus each correlation's
 *                                  horizon on (at most MH_MAX_CORR_CARRY;
 *                                  window.c)
 *   d1_fail(source, prefix, time, user)   D1 failures per source (IP, or
 *                                  IPv6 /64 when prefix = 1) within
 *                                  d1.success_lookback + d1.window of the end
 *   d1_account(source, prefix, user, last)  accounts that succeeded from a
 *                                  source (NAT suppression), same retention
 *   d1_success(source, prefix, user, time)  the earliest success reported
 *                                  for a source (not reported again)
 * Tables added later are created in existing files of the same version on
 * open (additive: no version change).
 * Times are microseconds since the epoch (mh_time). Strings are as the
 * detectors canonicalise them (lower-case GUIDs and UPNs).
 *
 * Versioning: opening a file whose schema_version differs fails with
 * MH_ESTATE ("state file from another mailhound version") -- never a silent
 * reinterpretation. A new file gets the current schema.
 *
 * Invariants: the detectors write their whole merged baseline in one
 * transaction at the end of a run (mh_detectors_finish), so a killed run
 * leaves the previous baseline intact. Retention (d9.retention, d11.baseline,
 * d1.success_lookback + d1.window, d11.hourly_baseline ...) bounds what is written.
 *
 * Ownership/threading: an mh_state owns its connection; one thread at a time.
 */
#ifndef MH_CORRELATE_STATE_H
#define MH_CORRELATE_STATE_H

#include <stdint.h>

#include "base/db.h"
#include "base/time.h"
#include "mailhound/status.h"

#define MH_STATE_SCHEMA_VERSION 1

typedef struct mh_state mh_state;

/*
 * Open or create the state database at path; NULL or "" gives a private
 * in-memory database. MH_ESTATE (other schema version), MH_EDB, MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_state_open(const char *path, mh_state **out, mh_error *err);
/* Close; NULL is a no-op. An open transaction is rolled back. */
void mh_state_close(mh_state *st);

/* The connection, for detector load/save code (correlate/ only). */
mh_db *mh_state_db(mh_state *st);

/* Transaction around a whole save. */
MH_MUST_CHECK mh_status mh_state_begin(mh_state *st, mh_error *err);
MH_MUST_CHECK mh_status mh_state_commit(mh_state *st, mh_error *err);
void mh_state_rollback(mh_state *st);

/* Record a finished run (inside the save transaction). */
MH_MUST_CHECK mh_status mh_state_add_run(mh_state *st, mh_time first, mh_time last,
                                         mh_error *err);
/* Number of runs recorded so far. */
MH_MUST_CHECK mh_status mh_state_runs(mh_state *st, int64_t *out, mh_error *err);

/* Helpers for load/save code: prepare-and-run one statement with no result. */
MH_MUST_CHECK mh_status mh_state_exec(mh_state *st, const char *sql, mh_error *err);

#endif
