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
 * Field paths (mh_event_get): dot-separated, resolved against the body:
 *  - object members by exact key; a key may itself contain dots
 *    ("ModifiedProperties.Role.DisplayName.NewValue" works);
 *  - arrays apply the rest of the path to every element (any-element);
 *  - Name/Value lists (Parameters, ExtendedProperties, DeviceProperties,
 *    OperationProperties, and any array of {Name,Value}) fold by Name:
 *    "Parameters.ForwardTo" -> each Value whose Name is "ForwardTo";
 *  - ModifiedProperties {Name,NewValue,OldValue} and Graph modifiedProperties
 *    {displayName,newValue,oldValue}: "<list>.<Name>.NewValue"/".OldValue";
 *    "<list>.<Name>" alone means NewValue;
 *  - key/value lists ({key,value}: additionalDetails, authenticationProcessingDetails)
 *    fold by key;
 *  - a string holding JSON (AuditData, additionalDetails, modifiedProperties
 *    values, Log Analytics dynamic columns) is parsed when the path goes
 *    through it (depth MH_JSON_MAX_NESTED_DEPTH);
 *  - the first path segment is also looked up in `properties` for Azure
 *    Monitor records when absent at top level is NOT done here -- aliasing is
 *    the rules stage's job (field maps); this layer resolves literal paths.
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
    MH_SRC_DIRECTORY_AUDIT,     /* Graph directoryAudit / AuditLogs */
    MH_SRC_MESSAGE_TRACE,
    MH_SRC__COUNT
};

/* Stable names used in output: "ual.exchange_admin", "ual.mailbox",
 * "ual.entra_logon", "ual.entra_directory", "ual.other", "signin.interactive",
 * "signin.noninteractive", "signin.service_principal",
 * "signin.managed_identity", "audit.directory", "trace.message", "unknown". */
const char *mh_source_kind_name(enum mh_source_kind k);

enum mh_entity {
    MH_ENT_USER = 0,       /* UPN / UserId / userPrincipalName (as written) */
    MH_ENT_IP,             /* client IP: port, brackets and ::ffff: stripped */
    MH_ENT_APP_ID,         /* AppId / appId / ApplicationId */
    MH_ENT_CLIENT_APP_ID,  /* ClientAppId / AppAccessContext.ClientAppId */
    MH_ENT_SESSION_ID,     /* SessionId / AADSessionId / sessionId / DeviceProperties.SessionId */
    MH_ENT_TOKEN_ID,       /* canonical sign-in request id (lower-case GUID) a UTI maps to;
                              the opaque UTI when it does not decode */
    MH_ENT_MAILBOX,        /* MailboxOwnerUPN */
    MH_ENT_TENANT,         /* OrganizationId / tenantId / TokenTenantId */
    MH_ENT_OPERATION,      /* operation as written */
    MH_ENT_OPERATION_KEY,  /* canonical: trimmed, one trailing '.' removed, dashes folded, lower-case */
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

struct mh_event {
    const struct mh_record *rec;
    enum mh_source_kind kind;
    mh_time time;              /* MH_TIME_NONE when the record has no usable time */
    const struct mh_jdoc *doc; /* the record's tape */
    uint32_t body;             /* object rules look at: unwrapped AuditData, or the record */
    uint32_t record_root;      /* root object of the record as read (before unwrapping) */
    struct mh_normalizer *nz;  /* owner of lazily decoded data */
    uint32_t ent_done;         /* bit per entity: cached */
    struct mh_slice ent[MH_ENT__COUNT];
};

typedef struct mh_normalizer mh_normalizer;

MH_MUST_CHECK mh_status mh_normalizer_new(mh_normalizer **out);
void mh_normalizer_free(mh_normalizer *nz);
/* Release everything decoded for previous events (call per batch). */
void mh_normalizer_reset(mh_normalizer *nz);

/*
 * Parse and classify one record. MH_EPARSE for malformed JSON (err has the
 * byte offset inside the record; caller adds rec->offset and reports),
 * MH_ELIMIT for limits. The event is valid until the next call with the same
 * normalizer slot or mh_normalizer_reset(). Each call uses a fresh tape, so
 * several events of one batch can be alive at once.
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
 * search, `cat`). Paths are as mh_event_get accepts them (folded lists
 * appear folded). Bounded by MH_MAX_FIELDS_PER_EVENT.
 */
typedef bool (*mh_leaf_fn)(void *ctx, struct mh_slice path, const struct mh_value *v);
MH_MUST_CHECK mh_status mh_event_leaves(struct mh_event *ev, mh_leaf_fn fn, void *ctx);

/* Canonical entity (cached). MH_ENOTFOUND when the event has none. */
MH_MUST_CHECK mh_status mh_event_entity(struct mh_event *ev, enum mh_entity e,
                                        struct mh_slice *out);

#endif
