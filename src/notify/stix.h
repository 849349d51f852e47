/*
 * notify/stix.h -- attacker indicators as a STIX 2.1 bundle for partners
 *
 * Pipeline: incidents/scope -> [notify: indicators] -> DIR/indicators.stix.json.
 * Organisations that corresponded with a compromised mailbox get the
 * attacker's indicators so they can search their own logs
 * (../shared/docs/mail-and-secrets.md §10.1). Output: one bundle with
 *   - the TLP marking definition used (TLP 1.0 ids predefined by STIX 2.1),
 *   - one identity (the notifier: name, identity_class "organization",
 *     contact_information),
 *   - one indicator per distinct (kind, value), sorted by kind then value:
 *       ip          [ipv4-addr:value = '198.51.100.7'] / [ipv6-addr:value = '2001:db8::1']
 *                   (CIDR "198.51.100.0/24" accepted; IPv6 in canonical RFC 5952 form)
 *       app id      [x-entra-application:app_id = '00000003-0000-0ff1-ce00-000000000000']
 *                   (custom observable: STIX has no OAuth client id object)
 *       user agent  [network-traffic:extensions.'http-request-ext'.request_header.'User-Agent' = '...']
 *     each with created_by_ref, object_marking_refs, indicator_types,
 *     pattern_type "stix", pattern_version "2.1", valid_from.
 *
 * Timestamps: created = modified = opts.created (explicit: never the clock),
 * valid_from = the indicator's first sighting or opts.created; all with
 * millisecond precision ("2024-01-12T10:00:00.000Z", as the schemas demand).
 * Ids: "<type>--<UUIDv5>" from a mailhound namespace and the object's
 * natural key (identity name; identity name + kind + canonical value), so the
 * same indicator keeps its id across runs and notifiers; the bundle id hashes
 * the identity, the indicator ids and the timestamp. Same input, same bytes.
 *
 * Values are validated; invalid ones (not an IP, not a GUID, empty or
 * control characters) are skipped and counted, never exported. Duplicates
 * merge (earliest first_seen, latest last_seen, first description in order).
 * Limits: MH_STIX_MAX_INDICATORS. Threading: reentrant.
 */
#ifndef MH_NOTIFY_STIX_H
#define MH_NOTIFY_STIX_H

#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/time.h"
#include "mailhound/status.h"

enum mh_stix_kind {
    MH_STIX_IP = 0,
    MH_STIX_APP_ID,
    MH_STIX_USER_AGENT,
};

struct mh_stix_indicator {
    enum mh_stix_kind kind;
    const char *value;       /* IP[/prefix], application id (GUID), user agent */
    const char *description; /* why it is an indicator ("password spray source"), may be NULL */
    mh_time first_seen;      /* MH_TIME_NONE when unknown */
    mh_time last_seen;       /* MH_TIME_NONE when unknown */
};

struct mh_stix_opts {
    const char *identity_name;    /* the notifier (required) */
    const char *identity_contact; /* contact_information, may be NULL */
    mh_time created;              /* created/modified of every object (required) */
    const char *tlp;              /* "white" | "green" | "amber" | "red"; NULL = "amber" */
};

struct mh_stix_result {
    size_t indicators; /* distinct indicators written */
    size_t skipped;    /* invalid values left out */
};

/*
 * Append the bundle (compact JSON + "\n") to out. res may be NULL.
 * MH_EINVAL (options), MH_ELIMIT (more than MH_STIX_MAX_INDICATORS, or out's
 * maximum), MH_ENOMEM, MH_ECRYPTO.
 */
MH_MUST_CHECK mh_status mh_stix_bundle(const struct mh_stix_opts *o,
                                       const struct mh_stix_indicator *ind, size_t n,
                                       struct mh_buf *out, struct mh_stix_result *res,
                                       mh_error *err);

/* RFC 4122 name-based UUID, version 5 (SHA-1): "xxxxxxxx-xxxx-5xxx-yxxx-xxxxxxxxxxxx". */
MH_MUST_CHECK mh_status mh_uuid5(const uint8_t ns[16], const void *name, size_t n,
                                 char out[37], mh_error *err);

/* Millisecond ISO-8601 UTC ("2024-01-12T10:00:00.000Z"); out holds 32 bytes. */
size_t mh_stix_time(mh_time t, char out[32]);

#endif
