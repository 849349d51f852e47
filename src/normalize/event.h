/*
 * normalize/event.h -- records -> normalized events
 *
 * Pipeline: ingest -> [normalize] -> match -> correlate.
 * In:  an mh_record (one JSON object text, see ingest/reader.h).
 * Out: an mh_event: source kind, UTC time (microseconds), the record's tape,
 *      the body object rules look at, field access by path, and canonical
 *      entity accessors. Nothing is copied; lazily decoded values live in the
 *      normalizer's per-batch arena.
 *
 * Source kinds are decided by record shape (../shared/docs/log-formats.md §2):
 * UAL AuditData (RecordType/Operation/CreationTime/Workload), UAL wrapper
 * objects and Purview rows (AuditData string or object -> unwrapped), Azure
 * Monitor records (category/operationName/properties), Graph signIn and
 * directoryAudit, Log Analytics rows (Type column), message trace rows.
 *
 * Field paths (mh_event_get): dot-separated, resolved against the body
 * (docs/events.md has the full rules and examples):
 *  - object members by exact key; a key may itself contain dots
 *    ("ModifiedProperties.Role.DisplayName.NewValue" works): every member
 *    whose key is the path or a prefix of it followed by '.' is followed;
 *  - arrays apply the rest of the path to every element (any-element); a
 *    path ending on an array yields its elements;
 *  - Name/Value lists (Parameters, ExtendedProperties, DeviceProperties,
 *    OperationProperties, and any array of {Name,Value}) fold by Name:
 *    "Parameters.ForwardTo" -> each Value whose Name is "ForwardTo";
 *  - ModifiedProperties {Name,NewValue,OldValue} and Graph modifiedProperties
 *    {displayName,newValue,oldValue}: "<list>.<Name>.NewValue"/".OldValue";
 *    "<list>.<Name>" alone means NewValue;
 *  - key/value lists ({key,value}: additionalDetails, authenticationProcessingDetails)
 *    fold by key;
 *  - folded item names and the NewValue/OldValue selector compare ASCII
 *    case-insensitively; object keys exactly;
 *  - a string holding a JSON object or array (AuditData, additionalDetails,
 *    modifiedProperties values, Log Analytics dynamic columns) is parsed when
 *    the path goes through it (at most MH_JSON_MAX_NESTED_DEPTH levels);
 *  - a path found nowhere in an unwrapped AuditData body is resolved against
 *    the wrapper row (RecordId, CreationDate, ...);
 *  - aliasing between sources (properties.ipAddress vs IPAddress) is NOT done
 *    here -- that is the rules stage's job (field maps); this layer resolves
 *    literal paths.
 *
 * Thread-safety: one mh_normalizer per thread; events borrow from it and from
 * the batch, and are valid until mh_normalizer_reset().
 */
#ifndef MH_NORMALIZE_EVENT_H
#define MH_NORMALIZE_EVENT_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/slice.h"
#include "base/time.h"
#include "ingest/json.h"
#include "ingest/reader.h"
#include "mailhound/status.h"

enum mh_source_kind {
    MH_SRC_UNKNOWN = 0,
    MH_SRC_UAL_EXCHANGE_ADMIN,  /* RecordType 1 */
    MH_SRC_UAL_MAILBOX,         /* RecordType 2, 3, 50 (MailItemsAccessed, Send, ...) */
    MH_SRC_UAL_ENTRA_LOGON,     /* RecordType 15 / 9 (UserLoggedIn, UserLoginFailed) */
    MH_SRC_UAL_ENTRA_DIRECTORY, /* RecordType 8 (and other AzureActiveDirectory) */
    MH_SRC_UAL_OTHER,           /* SharePoint, OneDrive, Teams, ... */
    MH_SRC_SIGNIN_INTERACTIVE,
    MH_SRC_SIGNIN_NONINTERACTIVE,
    MH_SRC_SIGNIN_SERVICE_PRINCIPAL,
    MH_SRC_SIGNIN_MANAGED_IDENTITY,
    MH_SRC_DIRECTORY_AUDIT, /* Graph directoryAudit / AuditLogs */
    MH_SRC_MESSAGE_TRACE,
    MH_SRC_GRAPH_ACTIVITY, /* Microsoft Graph activity logs (MicrosoftGraphActivityLogs) */
    MH_SRC__COUNT
};

/* Stable names used in output: "ual.exchange_admin", "ual.mailbox",
 * "ual.entra_logon", "ual.entra_directory", "ual.other", "signin.interactive",
 * "signin.noninteractive", "signin.service_principal",
 * "signin.managed_identity", "audit.directory", "trace.message",
 * "graph.activity", "unknown". */
const char *mh_source_kind_name(enum mh_source_kind k);

enum mh_entity {
    MH_ENT_USER = 0,      /* UPN / UserId / userPrincipalName (as written) */
    MH_ENT_IP,            /* client IP: port, brackets and ::ffff: stripped */
    MH_ENT_APP_ID,        /* AppId / appId / ApplicationId */
    MH_ENT_CLIENT_APP_ID, /* ClientAppId / AppAccessContext.ClientAppId */
    MH_ENT_SESSION_ID,    /* SessionId / AADSessionId / sessionId / DeviceProperties.SessionId */
    MH_ENT_TOKEN_ID,      /* canonical sign-in request id (lower-case GUID) a UTI maps to;
                             the opaque UTI when it does not decode */
    MH_ENT_MAILBOX,       /* MailboxOwnerUPN */
    MH_ENT_TENANT,        /* OrganizationId / tenantId / TokenTenantId */
    MH_ENT_OPERATION,     /* operation as written */
    MH_ENT_OPERATION_KEY, /* trimmed, one trailing '.' removed, dashes folded, lower-case */
    MH_ENT__COUNT
};
const char *mh_entity_name(enum mh_entity e); /* "user", "ip", "app_id", ... */

struct mh_value {
    enum mh_jtype type;
    struct mh_slice text;      /* string: decoded UTF-8; number: its text; true/false;
                                  null: empty; container: raw JSON text */
    const struct mh_jdoc *doc; /* the document holding the value */
    uint32_t node;
};

/* Return true to stop the iteration. */
typedef bool (*mh_value_fn)(void *ctx, const struct mh_value *v);

/*
 * Event flags (mh_event.flags).
 * MH_EVF_UNWRAPPED: the body is AuditData unwrapped from a wrapper row or a
 *   Purview / Search-UnifiedAuditLog CSV row (record_doc/record_root keep it).
 * MH_EVF_BAD_TIME: a time field was present but did not parse; time is
 *   MH_TIME_NONE and the caller reports a warning (time_field, time_doc and
 *   time_node say which value). The event is still used.
 */
#define MH_EVF_UNWRAPPED 0x01u
#define MH_EVF_BAD_TIME 0x02u

struct mh_event {
    const struct mh_record *rec;
    enum mh_source_kind kind;
    mh_time time;                     /* MH_TIME_NONE when the record has no usable time */
    const struct mh_jdoc *doc;        /* the tape holding `body`: the record's tape, or the
                                         nested tape of an AuditData JSON string */
    uint32_t body;                    /* object rules look at: unwrapped AuditData, or the record */
    uint32_t record_root;             /* root object of the record as read (in record_doc) */
    const struct mh_jdoc *record_doc; /* the record's own tape (== doc unless AuditData
                                         was a JSON string) */
    uint32_t flags;                   /* MH_EVF_* */
    const char *time_field;           /* path the time was taken (or rejected) from; NULL if none */
    const struct mh_jdoc *time_doc;   /* tape and node of that value (NULL / MH_JNONE if none) */
    uint32_t time_node;
    struct mh_normalizer *nz;           /* owner of lazily decoded data */
    uint32_t ent_done;                  /* bit per entity: looked up (cached) */
    struct mh_slice ent[MH_ENT__COUNT]; /* ptr NULL = entity absent */
};

typedef struct mh_normalizer mh_normalizer;

MH_MUST_CHECK mh_status mh_normalizer_new(mh_normalizer **out);
void mh_normalizer_free(mh_normalizer *nz);
/* Release everything decoded for previous events (call per batch). */
void mh_normalizer_reset(mh_normalizer *nz);

/*
 * Parse and classify one record. MH_EPARSE for malformed JSON (err has the
 * byte offset inside rec->json; caller adds rec->offset and reports; for an
 * AuditData JSON string the offset is that of the bad byte when the string
 * has no escapes, else of the string's start), MH_ELIMIT for limits
 * (including more than MH_MAX_LIVE_EVENTS events without a reset),
 * MH_ENOMEM. Each call takes a fresh tape from the normalizer's pool, so
 * every event initialised since the last mh_normalizer_reset() stays valid
 * (as long as the batch holding rec is alive). A record that parses but has
 * an unparseable time is an event with MH_EVF_BAD_TIME, not an error.
 */
MH_MUST_CHECK mh_status mh_event_init(mh_normalizer *nz, const struct mh_record *rec,
                                      struct mh_event *ev, mh_error *err);

/*
 * Call fn for each value found at `path` (see the folding rules above).
 * Returns MH_OK (whether or not anything was found), MH_ELIMIT/MH_ENOMEM.
 * *found (may be NULL) tells whether the path resolved at least once.
 */
MH_MUST_CHECK mh_status mh_event_get(struct mh_event *ev, const char *path, size_t plen,
                                     mh_value_fn fn, void *ctx, bool *found);
/* First string/number value at path as text; MH_ENOTFOUND if none. */
MH_MUST_CHECK mh_status mh_event_get_str(struct mh_event *ev, const char *path,
                                         struct mh_slice *out);
/*
 * Call fn(ctx, path, value) for every scalar leaf of the body (keyword
 * search, field listings). Paths are as mh_event_get accepts them (folded
 * lists appear folded; array elements share the array's path); a string
 * holding JSON is a leaf and its nested leaves follow; for an unwrapped body
 * the wrapper's columns not shadowed by the body come last. fn returning
 * true stops the walk (MH_OK). MH_ELIMIT past MH_MAX_FIELDS_PER_EVENT leaves
 * or a path longer than MH_MAX_FIELD_PATH; MH_ENOMEM.
 */
typedef bool (*mh_leaf_fn)(void *ctx, struct mh_slice path, const struct mh_value *v);
MH_MUST_CHECK mh_status mh_event_leaves(struct mh_event *ev, mh_leaf_fn fn, void *ctx);

/* Canonical entity (cached; docs/events.md lists the paths and forms).
 * MH_ENOTFOUND when the event has none, MH_EINVAL for a bad e, MH_ENOMEM /
 * MH_ELIMIT from the arena (not cached: a later call may succeed). The slice
 * lives in the event's record or the normalizer arena until the reset. */
MH_MUST_CHECK mh_status mh_event_entity(struct mh_event *ev, enum mh_entity e,
                                        struct mh_slice *out);

#endif
