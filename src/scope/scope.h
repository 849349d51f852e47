/*
 * scope/scope.h -- from incidents to the exfiltrated messages, with evidence
 *
 * Pipeline: correlate (incidents.json) -> [scope] -> secrets, notify.
 * In:  incidents (the JSON of `mailhound hunt --incidents`, or added one by
 *      one), the normalized events of the logs (fed once, in any order), the
 *      mail store (ingest/mailstore.h) and message-trace rows among the events.
 * Out: per incident its attacker context; per victim mailbox the messages
 *      taken, each with its bases (bind / sync / throttle / sent), confidence
 *      (observed, inferred-sync, inferred-throttle), evidence (file, record,
 *      line, byte offset, record id, reason) and, where the store lacks the
 *      message, what the message trace says; throttle windows and coverage
 *      notes; summary counts. scope.json is the output contract: docs/scope.md.
 *
 * Attacker context (docs/scope.md §2 has the full rule): a mailbox record is
 * in the context of incident K when its time lies in K's window
 * [first_seen - before, last_seen + after] and it matches K by
 *   session / token   (SessionId, AADSessionId / UniqueTokenId decoded),
 *   app               (AppId or ClientAppId; first-party ids never match),
 *   ip                (client IP listed by K and NOT shared: not seen
 *                      accessing the same principal's mailbox, or any two
 *                      principals' mailboxes, outside K's window),
 *   ip+client         (a shared IP plus a ClientInfoString learned from K's
 *                      stronger matches), or
 *   user              (a principal of K acting on ANOTHER mailbox).
 * A user acting on its own mailbox, a shared IP alone or a ClientInfoString
 * alone never suffice. Sessions, tokens and client strings of records matched
 * by session, token or an unshared IP are learned (to a fixpoint), so the
 * attacker's other records in the same session join the context.
 *
 * Use: mh_scope_new -> mh_scope_add_incident / mh_scope_load_incidents ->
 * mh_scope_feed (every event) -> mh_scope_finish -> mh_scope_write_json.
 * Feeding keeps only the records that can matter (mailbox records touching
 * an incident key or a victim, throttle records, trace rows of messages the
 * store lacks), in compact form: memory is bounded by the MH_SCOPE_* limits
 * in mailhound/limits.h; what a cap drops is counted and reported, and can
 * only lose messages, never invent them.
 *
 * Determinism: output depends only on the inputs and their order as the
 * reader delivers them (sorted paths); every list is sorted (docs/scope.md).
 * Ownership: the scope borrows the store and the first-party set (both must
 * outlive it) and copies everything it keeps from events.
 * Threading: one thread at a time.
 */
#ifndef MH_SCOPE_SCOPE_H
#define MH_SCOPE_SCOPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "base/time.h"
#include "correlate/detector.h"
#include "ingest/mailstore.h"
#include "mailhound/status.h"
#include "normalize/event.h"

/* Defaults (docs/scope.md §2-§4). */
#define MH_SCOPE_DEFAULT_BEFORE (INT64_C(3600) * MH_USEC_PER_SEC)        /* 1 h */
#define MH_SCOPE_DEFAULT_AFTER (INT64_C(86400) * MH_USEC_PER_SEC)        /* 24 h */
#define MH_SCOPE_THROTTLE_SPAN (INT64_C(86400) * MH_USEC_PER_SEC)        /* 24 h unaudited */
#define MH_SCOPE_DEFAULT_NEAR (INT64_C(86400) * MH_USEC_PER_SEC)         /* 24 h */

struct mh_scope_incident;

struct mh_scope_opts {
    mh_time before;       /* window margin before first_seen (>= 0) */
    mh_time after;        /* window margin after last_seen (>= 0) */
    mh_time throttle_span;/* unaudited time after an IsThrottled record */
    mh_time near;         /* a throttle is "near" attacker activity on its mailbox
                             within this distance before its start */
    const char *only_incident;             /* keep only this incident id; NULL = all */
    /* Keep this incident? (after only_incident; NULL keeps all). `mailhound
     * investigate` selects by level or by a list of ids with it. */
    bool (*keep)(void *ctx, const struct mh_scope_incident *in);
    void *keep_ctx;
    const struct mh_appset *first_party;   /* ids that never match; may be NULL */
    const mh_mailstore *store;             /* the mail; may be NULL (then only ids) */
    /* A record kept with a problem (its Folders value is JSON text that does
     * not parse: its items are unknown), with file, line, record and byte
     * offset; counted in stats.bad_folders either way. May be NULL. */
    void (*on_warn)(void *ctx, const mh_error *err, bool fatal);
    void *warn_ctx;
};

/* Fill opts with the defaults above (no incident filter, no store). */
void mh_scope_opts_defaults(struct mh_scope_opts *o);

/* One incident as the incidents.json contract carries it (slices borrowed
 * for the duration of the call). Times may be MH_TIME_NONE: that side of the
 * window is open. */
struct mh_scope_incident {
    struct mh_slice id, level;
    int64_t score;
    mh_time first_seen, last_seen;
    const struct mh_slice *users, *ips, *apps, *sessions, *tokens, *mailboxes;
    size_t nusers, nips, napps, nsessions, ntokens, nmailboxes;
};

typedef struct mh_scope mh_scope;

/* New scope. MH_EINVAL (negative margins), MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_new(const struct mh_scope_opts *o, mh_scope **out);
void mh_scope_free(mh_scope *s);

/*
 * Add one incident (copied; entity values canonicalized: users and
 * mailboxes lower-cased, IPs and GUIDs in canonical form, UTIs decoded to
 * the sign-in id). Ignored (MH_OK) when opts.only_incident names another
 * or opts.keep declines it.
 * MH_EINVAL after the first mh_scope_feed, MH_ELIMIT, MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_scope_add_incident(mh_scope *s, const struct mh_scope_incident *inc);

/*
 * Parse incidents.json text ({"incidents":[...]}, docs/scope.md §1) and add
 * every incident. MH_EPARSE with the byte offset / a fixed reason ("missing
 * incidents array", "incident without id", "bad time"), MH_ELIMIT, MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_scope_load_incidents(mh_scope *s, const char *json, size_t len,
                                                mh_error *err);
/* Read a file (at most MH_SCOPE_MAX_INCIDENTS_BYTES) and load it. MH_EIO. */
MH_MUST_CHECK mh_status mh_scope_load_incidents_file(mh_scope *s, const char *path, mh_error *err);

/* Incidents kept so far. With opts.only_incident, 0 means it was not found. */
size_t mh_scope_incident_count(const mh_scope *s);

/*
 * Consider one event. file_name names ev->rec->file in evidence, file_key its
 * name relative to the input it was found under (NULL: file_name), which
 * notify packages cite (copied once per file). Events of no interest cost a
 * few lookups. MH_ENOMEM only: caps are counted, not failed.
 */
MH_MUST_CHECK mh_status mh_scope_feed(mh_scope *s, struct mh_event *ev, const char *file_name,
                                      const char *file_key);

/* Decide the contexts and collect the messages. Call once, after the last
 * feed. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_finish(mh_scope *s);

/* Where mh_scope_write_json sends its bytes (in pieces of about 1 MiB). */
typedef mh_status (*mh_scope_sink)(void *ctx, const char *p, size_t n);

/* Write scope.json (compact JSON, one line, trailing newline) through sink.
 * The sink's status is returned; MH_ENOMEM. After mh_scope_finish. */
MH_MUST_CHECK mh_status mh_scope_write_json(const mh_scope *s, mh_scope_sink sink, void *ctx);

struct mh_scope_stats {
    uint64_t incidents;
    uint64_t events;            /* events fed */
    uint64_t mailbox_records;   /* MailItemsAccessed / Send* records seen */
    uint64_t candidates;        /* kept for the decision */
    uint64_t duplicates;        /* candidate records seen again (same record Id) */
    uint64_t no_time;           /* candidates and grant records without a usable time
                                   (never matched) */
    uint64_t in_context;        /* candidate records in some attacker context */
    uint64_t partial;           /* in-context Bind records with OperationCount > items */
    uint64_t throttle_records;  /* IsThrottled=True records */
    uint64_t throttle_windows_in_context;
    uint64_t trace_rows;        /* message-trace rows kept (store lacks the message) */
    uint64_t mailboxes;         /* victim mailboxes with messages or throttle windows */
    uint64_t messages;          /* (mailbox, message) pairs */
    uint64_t distinct_messages; /* distinct message ids */
    uint64_t by_confidence[3];  /* observed, inferred-sync, inferred-throttle */
    uint64_t by_basis[4];       /* bind, sync, throttle, sent (a pair may count in several) */
    uint64_t in_store, not_in_store, trace_joined;
    uint64_t bad_folders;       /* candidate mailbox records (in a window, or throttled)
                                   whose Folders text does not parse (items unknown;
                                   reported through opts.on_warn) */
    uint64_t dropped;           /* records, items, trace rows or evidence lost to a cap */
    uint64_t app_wide_grants;   /* distinct (app, permission) grants of full_access_as_app,
                                   Mail.Read, Mail.ReadWrite seen in the logs */
    uint64_t app_wide;          /* (incident, app) app-wide results */
    uint64_t unaudited_mailboxes; /* distinct mailboxes unaudited in some result */
    uint64_t app_wide_unresolved; /* app-only consent grants whose service principal no
                                     app role assignment of the logs names (no app: no result) */
};
void mh_scope_get_stats(const mh_scope *s, struct mh_scope_stats *out);

/*
 * App-wide results (docs/scope.md §3, app-wide), in output order (incident,
 * then app): an app holding full_access_as_app, Mail.Read or Mail.ReadWrite
 * (application) during an incident's window, with the number of mailboxes
 * it touched, audited without a hit and potentially accessed (unaudited).
 * Valid after mh_scope_finish; strings live as long as the scope.
 */
struct mh_scope_app_wide {
    const char *incident;
    struct mh_slice app;    /* canonical app id */
    const char *permission; /* "full_access_as_app", "Mail.ReadWrite", "Mail.Read" */
    mh_time granted;        /* the earliest grant seen */
    mh_time start, end;     /* the window (SC_TIME bounds: open) */
    uint64_t touched, audited, unaudited;
};
size_t mh_scope_app_wide_count(const mh_scope *s);
/* Result i < mh_scope_app_wide_count(s). */
void mh_scope_app_wide_get(const mh_scope *s, size_t i, struct mh_scope_app_wide *out);

/* ---- folder paths (scope/folder.c; docs/scope.md §5) ---- */

enum mh_folder_class {
    MH_FOLDER_OTHER = 0, /* a user folder: compared by name */
    MH_FOLDER_ROOT,      /* "\" or "\Top of Information Store": the whole mailbox */
    MH_FOLDER_INBOX,
    MH_FOLDER_SENT,
    MH_FOLDER_DELETED,
    MH_FOLDER_DRAFTS,
    MH_FOLDER_JUNK,
    MH_FOLDER_ARCHIVE,
    MH_FOLDER_OUTBOX,
    MH_FOLDER_NONMAIL,   /* Calendar, Contacts, Tasks, Notes, Journal: no messages */
};

/* Class of the FIRST component of a folder name ("\Sent Items", "sent_mail",
 * "INBOX/Projects", ".Trash" all work: '\' and '/' separate components). */
enum mh_folder_class mh_folder_classify(struct mh_slice path);

/*
 * True when the mail-store folder `store` is the Exchange folder `log_path`
 * ("\Inbox\Projects" = "INBOX/Projects" = "inbox/projects"): same number of
 * components, the first equal by class (well-known) or by name, the rest by
 * name; names compare ASCII case-insensitively. With `strip_inbox`, a log
 * path under \Inbox also matches the store folder without that component
 * ("\Inbox\Projects" = "Projects", Maildir++ style).
 */
bool mh_folder_match(struct mh_slice log_path, struct mh_slice store, bool strip_inbox);

#endif
