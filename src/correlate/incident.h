/*
 * correlate/incident.h -- alerts sharing an actor become one incident
 *
 * Pipeline: match (Sigma alerts) + correlate (detections) -> [incidents] -> scope.
 * In:  findings (struct mh_finding, detector.h) from the Sigma engine and
 *      the stateful detectors; principal links from the detectors
 *      (mh_detectors_links: "user U added credentials to app X", "object O is
 *      app X").
 * Out: incidents: an ordered chain of steps, a score, a level, first/last
 *      seen and the entities (users, IPs, apps, sessions, tokens, mailboxes),
 *      as the JSON of `mailhound hunt --incidents FILE`:
 *        {"incidents":[{"id","score","level","first_seen","last_seen",
 *          "entities":{"users":[],"ips":[],"apps":[],"sessions":[],"tokens":[],
 *          "mailboxes":[]},"steps":[{"detection","time","alert"}]}]}
 *      and a one-paragraph plain-English summary per incident for the terminal.
 *
 * Grouping (single linkage over shared actors within a time span): two alerts
 * are in one incident when they share a key -- user (case-insensitive), IP,
 * application (app id or client app id; first-party ids excluded), session or
 * token -- and are at most d7.window apart, or are joined through a chain of
 * such pairs or through a link (the link's endpoints attach to the alert of
 * each key nearest the link's time, within d7.window; a key without alerts is
 * a bridge; identity links -- two names of one principal, such as an object id
 * and its app id -- attach at any distance). Mailboxes are listed but do not
 * link (a victim mailbox is not an actor). A key seen in alerts of more than
 * incident.max_key_users distinct users (corporate NAT, Microsoft service
 * addresses, a popular app) is shared and links nothing, and so is a key the
 * detectors marked shared (an MH_KEY_SHARED link: an office egress learnt
 * from the sign-in logs, session.c) -- unless one of its alerts is high or
 * critical (an attacker address reading many victims' mail is the attack, not
 * a NAT). Shared IPs are not listed in the incident's "ips", nor the IPs and
 * sessions of user-side alerts (weak anomalies: low D1-D4 / D15, a victim's
 * own travel; and, in an incident at high or above, access and change
 * alerts below high other than D14 and mh.ctx.*: a victim's own inbox rule,
 * a sprayed user's own MFA login) unless another alert names them too:
 * consumers scope high incidents by these lists. Informational alerts are not grouped.
 *
 * Score (D7, the weighted chain): the sum of incident.weight.dN over the
 * DISTINCT catalogue items among the incident's alerts (each alert's
 * mh_finding_detection()); an item seen only in low alerts counts half (weak
 * attributes: a known app reading a new mailbox, a session in two countries).
 * Stages: access (D1-D4, D14, D15, mh.ctx.signin_*), change (D5-D8, D16,
 * D17), collection (D9-D13, mh.ctx.mail_access_* / send_*).
 * Level: the highest alert level, raised to high when
 * score >= d7.alert_score and to critical when score >= 2 x d7.alert_score --
 * only when the medium+ alerts span incident.min_stages stages (admin routine
 * or a backup app's reading alone is one stage and is not promoted). A high
 * access alert plus a medium+ collection alert is critical (a confirmed
 * attacker read mail) and its score is raised to 2 x d7.alert_score.
 * An incident is kept when its medium+ items score >= incident.min_score or
 * its level is high or critical; a lone low/medium alert, or one medium with
 * weak low attributes, is not an incident.
 *
 * Steps: one per distinct rule id, at its earliest alert, ordered by (time,
 * detection, rule id); "detection" is the catalogue item ("D9") or "other",
 * "alert" the rule id.
 *
 * Determinism: ids are "INC-" + 16 hex digits of SHA-256 over the
 * incident's sorted alert identities (rule id, file key, time, record,
 * offset, entities). The file key is the finding's file_key, the file's name
 * relative to the input root it was found under (ingest/reader.h), never the
 * path as given nor the reader's file index: the same logs hunted from
 * another folder (or a copy of it, or through a link) keep their ids. (Logs
 * named in another order can still give other ids when the alerts change:
 * a logon in two exports is cited from the one read first.) Incidents are
 * ordered by score (descending), first_seen, id; entity lists are sorted.
 * The same alerts in any order give byte-identical output. Building can
 * then fail with MH_ECRYPTO (OpenSSL) besides MH_ENOMEM.
 *
 * Limits: MH_INCIDENT_MAX_ALERTS (alerts beyond are dropped and counted),
 * MH_INCIDENT_MAX_LINKS, MH_INCIDENT_MAX_ENTITIES per list ("more" counts the
 * rest). Threading: one thread at a time.
 */
#ifndef MH_CORRELATE_INCIDENT_H
#define MH_CORRELATE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/slice.h"
#include "base/time.h"
#include "correlate/detector.h"
#include "mailhound/status.h"

struct mh_incident_config {
    mh_time window;                      /* d7.window */
    int32_t alert_score;                 /* d7.alert_score */
    int32_t min_score;                   /* incident.min_score */
    uint32_t max_key_users;              /* incident.max_key_users */
    uint32_t min_stages;                 /* incident.min_stages */
    int32_t weights[MH_DET_NWEIGHTS];    /* incident.weight.dN */
};

/* The incident settings of a detector configuration. */
void mh_incident_config_from(const struct mh_detector_config *dc, struct mh_incident_config *out);

enum mh_incident_list {
    MH_INC_USERS = 0,
    MH_INC_IPS,
    MH_INC_APPS,
    MH_INC_SESSIONS,
    MH_INC_TOKENS,
    MH_INC_MAILBOXES,
    MH_INC__LISTS
};

struct mh_incident_step {
    const char *detection; /* "D9" or "other" */
    const char *rule_id;
    const char *title;
    enum mh_level level;
    mh_time time;
    struct mh_source_ref ref;
    const char *file_name; /* when the alert carried one, else NULL */
    uint32_t alerts;       /* alerts of this rule in the incident */
};

struct mh_incident {
    char id[24];
    int32_t score;
    enum mh_level level;
    mh_time first_seen, last_seen;
    size_t nalerts;
    const struct mh_slice *list[MH_INC__LISTS]; /* sorted, borrowed from the builder */
    size_t nlist[MH_INC__LISTS];
    size_t more[MH_INC__LISTS];                 /* entries beyond MH_INCIDENT_MAX_ENTITIES */
    const struct mh_incident_step *steps;
    size_t nsteps;
};

typedef struct mh_incidents mh_incidents;

/*
 * New builder. first_party (may be NULL: no app id is excluded) must outlive
 * the builder (mh_detectors_first_party() gives the detectors' set).
 * MH_ENOMEM.
 */
MH_MUST_CHECK mh_status mh_incidents_new(const struct mh_incident_config *cfg,
                                         const struct mh_appset *first_party, mh_incidents **out);
void mh_incidents_free(mh_incidents *b);

/* Add one finding (copied). Informational findings are ignored. Beyond
 * MH_INCIDENT_MAX_ALERTS the alert is dropped (counted). MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_incidents_add(mh_incidents *b, const struct mh_finding *a);
/* Add a principal link (copied); matches mh_link_fn, ctx = the builder. */
MH_MUST_CHECK mh_status mh_incidents_add_link(void *builder, const struct mh_link *l);
/* mh_detection_fn adapter: adds &d->finding (ctx = the builder). */
MH_MUST_CHECK mh_status mh_incidents_add_detection(void *builder, const struct mh_detection *d);

/* Group, score and order. Call once, after every add. MH_ENOMEM, MH_ECRYPTO
 * (the SHA-256 of an id: OpenSSL failed). */
MH_MUST_CHECK mh_status mh_incidents_build(mh_incidents *b);

size_t mh_incidents_count(const mh_incidents *b);
const struct mh_incident *mh_incidents_get(const mh_incidents *b, size_t i);
uint64_t mh_incidents_dropped(const mh_incidents *b);

/* Append the JSON document above (one line, no trailing newline). */
MH_MUST_CHECK mh_status mh_incidents_write_json(const mh_incidents *b, struct mh_buf *out);
/* Append the plain-English paragraph of incident i (no trailing newline). */
MH_MUST_CHECK mh_status mh_incident_summary(const mh_incidents *b, size_t i, struct mh_buf *out);

#endif
