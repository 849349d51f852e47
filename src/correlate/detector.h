/*
 * correlate/detector.h -- stateful detectors: the built-in detections Sigma cannot express
 *
 * Pipeline: ingest -> normalize -> match -> [correlate] -> scope.
 * In:  normalized events (struct mh_event), in any order; optionally the alerts
 *      the Sigma engine raised on the same input (mh_detectors_add_finding), which
 *      seed the "attacker context" follow-ups.
 * Out: detections (struct mh_detection) in the same shape as Sigma alerts
 *      (rule id, title, level, tags, time, entities, evidence reference,
 *      fields), coverage gaps for the scope stage (D12 throttling), and links
 *      between principals for the incident builder (an actor that changed an
 *      application; an application's object id and its app id).
 *
 * The detectors (../shared/docs/detections.md; docs/detections.md says which
 * catalogue item lives where):
 *   firstseen.c  D9  first-seen (AppId, ClientAppId) pair reading mail, per
 *                    tenant and per mailbox, after a baseline;
 *                D7 step 5: service-principal sign-in from an IP new to it
 *   tokencheck.c D14 token without sign-in (UTI and session index, coverage)
 *   session.c    D15 one session from several countries / ASNs; AiTM
 *                    logins of one user from two IPs within 30 s; office / NAT
 *                    egress learnt from sign-ins (MH_KEY_SHARED links)
 *   volume.c     D11 mail-read volume per app and per mailbox (mean + k.sigma)
 *   hourly.c     D11 items read per mailbox and hour (robust z-score on the
 *                    hour of week, else the hour of day)
 *   throttle.c   D12 IsThrottled: mailbox unaudited for 24 h (coverage gap)
 *   spray.c      D1 spray from one source followed by a success; D2
 *                    low-and-slow spray followed by a success from a new
 *                    source; D3 that success without MFA / over legacy auth
 *   appcred.c    D5 credential added to a dormant application / by an
 *                    actor new to it (KeyDescription diff)
 *   mailpath.c   D9 one application reading mail through Graph and directly
 *   tokenowner.c D14 owner logon with a token of another object id
 *   chain.c      D8 ephemeral service principal; application-change links
 *                    for incidents; attacker-context follow-ups (D13 sync in
 *                    attacker context, activity from an implicated IP/session)
 *
 * Decision model. Input may arrive in any order across files (collectors
 * slice time; directories are read in name order), so every detector COLLECTS
 * during the pass and DECIDES at mh_detectors_finish(): what it decides depends
 * on the set of events, not on their order (only the point where a cap is
 * reached depends on order). Detections are then sorted (time, rule id,
 * evidence reference, entities) before they are handed out, so the output is
 * byte-identical for any feed order and any thread count of the caller.
 *
 * Preconditions (detections.md §3): a detector that depends on a baseline or
 * on the absence of something says so: D9 needs `d9.baseline` of mail-access
 * history for the scope it judges; D14 needs sign-in coverage of the span it
 * judges and reports "unverifiable" (low) otherwise, never "forged".
 *
 * Memory: every container is bounded by a cap in mailhound/limits.h
 * (MH_DET_*); what a cap does when reached is written next to it (new keys are
 * not tracked and counted in mh_detector_stats.dropped; a dropped key can only
 * lose a detection or turn it into "unverifiable", never create one).
 * Strings (users, IPs, ids) are interned once per detector set.
 *
 * State: with an mh_state (state.h) the baselines (D9 pairs and coverage, D11
 * daily volumes and hourly mailbox volumes, D12 gaps, D2 known-good sources, D7
 * SP addresses, D1 recent failures, succeeding accounts and reported successes
 * per source) are loaded
 * at creation and written back by finish, so a run continues the baseline of
 * the previous one. Merging is idempotent: rerunning the same input with the
 * same state file gives the same detections.
 *
 * Threading: an mh_detectors is used by one thread at a time; a multi-threaded
 * caller feeds it from one thread (the order does not matter).
 *
 * Example (hunt):
 *   struct mh_detector_config cfg; mh_detector_config_defaults(&cfg);
 *   MH_CHECK(mh_detector_config_load(&cfg, "config/detectors.conf", err));
 *   MH_CHECK(mh_detectors_new(&cfg, state, on_detection, ctx, &det, err));
 *   while (next event ev) MH_CHECK(mh_detectors_feed(det, ev, err));
 *   for each Sigma alert a: mh_finding_from_alert(a, &f);
 *                           MH_CHECK(mh_detectors_add_finding(det, &f, err));
 *   MH_CHECK(mh_detectors_finish(det, err));   -- on_detection called here
 *   mh_detectors_free(det);
 */
#ifndef MH_CORRELATE_DETECTOR_H
#define MH_CORRELATE_DETECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/db.h"
#include "base/hash.h"
#include "base/slice.h"
#include "base/time.h"
#include "mailhound/limits.h"
#include "mailhound/status.h"
#include "normalize/event.h"
#include "rules/sigma.h"

/* ------------------------------------------------------------------------ */
/* Alerts and detections: the shape every consumer sees                     */
/* ------------------------------------------------------------------------ */

/* Levels are the Sigma engine's (rules/sigma.h: enum mh_level, MH_LEVEL_NONE
 * .. MH_LEVEL_CRITICAL, mh_level_name, mh_level_parse), one vocabulary. */

/* Entities carried by findings: enum mh_entity USER .. MAILBOX (user, ip,
 * app_id, client_app_id, session_id, token_id, mailbox), same indexes and
 * count as match/alert.h. */
#ifndef MH_ALERT_ENTITIES
#define MH_ALERT_ENTITIES 7
#endif

/* Where the evidence is: the reader's file index, record number, byte offset. */
struct mh_source_ref {
    uint32_t file;
    uint64_t record;
    uint64_t offset;
};

/*
 * A finding, the generic alert: what the incident builder takes from Sigma
 * rules (mh_finding_from_alert() converts a match/alert.h mh_alert) and from
 * the detectors alike. Everything is borrowed for the duration of the call
 * that receives it.
 *   rule_id    Sigma rule id (UUID) or detector id ("mh.d9.first_seen_app")
 *   detection  catalogue item "D1".."D17", or NULL: then derived from a tag
 *              "mailhound.dN" (see mh_finding_detection())
 *   tags       e.g. "attack.t1114.002", "mailhound.d9"; may be NULL if ntags 0
 *   ent        canonical entity text (empty slice = absent)
 */
struct mh_finding {
    const char *rule_id;
    const char *title;
    const char *detection;
    enum mh_level level;
    const char *const *tags;
    size_t ntags;
    mh_time time;
    struct mh_slice ent[MH_ALERT_ENTITIES];
    struct mh_source_ref ref;   /* file: the reader's file index */
    const char *file_name;      /* the file's name when known (Sigma alerts), else NULL */
    const char *file_key;       /* its name relative to its input root (ingest/reader.h
                                   mh_reader_file_key), hashed into incident ids; NULL:
                                   unknown (the incident builder then hashes "") */
};

/* Catalogue item of a finding: a->detection, else "Dn" from a tag
 * "mailhound.dN" (written into buf, 8 bytes), else NULL. */
const char *mh_finding_detection(const struct mh_finding *a, char buf[8]);

struct mh_alert; /* match/alert.h */
/* View a Sigma alert (match/alert.h) as a finding: rule id, title, level and
 * tags from its rule, entities, time, source (file name and key; ref.file = 0).
 * Borrows from a. */
void mh_finding_from_alert(const struct mh_alert *a, struct mh_finding *out);

#define MH_DETECTION_MAX_FIELDS 20

struct mh_kv {
    const char *name;
    struct mh_slice value;
};

/*
 * A detector's result. `finding` is the generic part (pass &d->finding to the
 * incident builder). first/last/count describe the evidence aggregated into
 * it (one token used 40 times, one session seen from 3 countries); fields are
 * the values that made the decision ("countries" = "DE,US", "baseline_days" =
 * "7"). precondition is "met" or, for "unverifiable" results, "unmet" with the
 * reason in the field "reason".
 */
struct mh_detection {
    struct mh_finding finding;
    const char *description;
    mh_time first, last;
    uint64_t count;
    const char *precondition;
    struct mh_kv fields[MH_DETECTION_MAX_FIELDS];
    size_t nfields;
};

/* Receives each detection; everything in *d is valid during the call only.
 * A non-OK status stops mh_detectors_finish() and is returned by it. */
typedef mh_status (*mh_detection_fn)(void *ctx, const struct mh_detection *d);

/* ------------------------------------------------------------------------ */
/* Configuration: config/detectors.conf, `key = value` lines                */
/* ------------------------------------------------------------------------ */

#define MH_DET_MAX_CODES 32
#define MH_DET_LIST_BYTES 1024
#define MH_DET_PATH_BYTES 1024
/* Incident weights are indexed by catalogue number 1..17 (0 unused). */
#define MH_DET_NWEIGHTS 18

/* Sign-in stream bits (d14.delegated_streams, d14.app_streams). */
#define MH_STREAM_INTERACTIVE 0x1u
#define MH_STREAM_NONINTERACTIVE 0x2u
#define MH_STREAM_SERVICE_PRINCIPAL 0x4u
#define MH_STREAM_MANAGED_IDENTITY 0x8u
#define MH_STREAM_UAL_LOGON 0x10u

struct mh_detector_config {
    /* §3 coverage model */
    mh_time coverage_max_gap;                    /* coverage.max_gap = 60m (union of the
                                                    streams a token may come from) */
    mh_time coverage_max_stream_gap;             /* coverage.max_stream_gap = 6h (each stream) */
    int32_t success_codes[MH_DET_MAX_CODES];     /* d.success_codes */
    size_t n_success_codes;

    /* D1 spray from one source + success, NAT suppression (spray.c) */
    bool d1_enabled;                             /* d1.enabled = true */
    mh_time d1_window;                           /* d1.window = 20m */
    uint32_t d1_min_users;                       /* d1.min_users = 5 */
    mh_time d1_success_lookback;                 /* d1.success_lookback = 3d */

    /* D2 low-and-slow spray + success, D3 (spray.c) */
    bool d2_enabled;                             /* d2.enabled = true */
    int32_t failure_codes[MH_DET_MAX_CODES];     /* d2.failure_codes = 50126,50053,50055 */
    size_t n_failure_codes;
    mh_time d2_slow_window;                      /* d2.slow_window = 7d */
    uint32_t d2_slow_min_sources;                /* d2.slow_min_sources = 5 */
    mh_time d2_new_source_lookback;              /* d2.new_source_lookback = 30d */
    char d3_watch_accounts[MH_DET_LIST_BYTES];   /* d3.watch_accounts = (comma list, substrings) */
    char d3_allow_accounts[MH_DET_LIST_BYTES];   /* d3.allow_accounts = */

    /* D5 credential added: key diff, actor history, dormancy (appcred.c) */
    bool d5_enabled;                             /* d5.enabled = true */
    mh_time d5_dormant;                          /* d5.dormant = 90d */
    mh_time d5_actor_history;                    /* d5.actor_history = 90d */
    mh_time d5_min_history;                      /* d5.min_history = 3d (partial verdicts) */
    mh_time d5_grant_window;                     /* d5.grant_window = 2d (consent-then-credential) */
    mh_time d5_new_address;                      /* d5.new_address = 1d (actor address new to the
                                                    tenant: first sign-in from it less than this
                                                    before the change, or none) */

    /* D7 chain / incidents (incident.c) and D8 (chain.c) */
    mh_time d7_window;                           /* d7.window = 7d */
    int32_t d7_alert_score;                      /* d7.alert_score = 60 */
    int32_t weights[MH_DET_NWEIGHTS];            /* incident.weight.dN */
    int32_t incident_min_score;                  /* incident.min_score = 30 */
    uint32_t incident_max_key_users;             /* incident.max_key_users = 10: an IP or app
                                                    seen in alerts of more users is shared
                                                    (NAT, Microsoft service) and links nothing */
    uint32_t incident_egress_users;              /* incident.egress_users = 5: an IP from which
                                                    at least this many users signed in
                                                    successfully (and at least as many as
                                                    failed) is a shared egress (session.c) */
    uint32_t incident_min_stages;                /* incident.min_stages = 2: the score raises the
                                                    level only when the incident's medium+
                                                    alerts span this many stages (access,
                                                    change, collection) */
    bool d8_enabled;                             /* d8.enabled = true */
    mh_time d8_window;                           /* d8.window = 10m */
    bool sp_new_ip_enabled;                      /* d7.sp_new_ip = true */
    mh_time sp_baseline;                         /* d7.sp_baseline = 7d */

    /* D9 (firstseen.c) */
    bool d9_enabled;                             /* d9.enabled = true */
    mh_time d9_baseline;                         /* d9.baseline = 7d (issue 5; catalogue 14d) */
    mh_time d9_retention;                        /* d9.retention = 90d */
    bool d9_mailbox;                             /* d9.per_mailbox = true */
    bool d9_dual_path;                           /* d9.graph_and_direct = true (mailpath.c) */
    uint32_t d9_bulk_mailboxes;                  /* d9.bulk_reader_mailboxes = 6: a known pair
                                                    that read this many mailboxes in its
                                                    baseline is a routine bulk reader */

    /* D10 baseline variant (crossmbx.c) */
    bool d10_enabled;                            /* d10.enabled = true */
    mh_time d10_baseline;                        /* d10.baseline = 30d */
    mh_time d10_new_window;                      /* d10.new_window = 14d */
    uint32_t d10_max_new_mailboxes;              /* d10.max_new_mailboxes = 1 */
    uint32_t d10_max_new_folders;                /* d10.max_new_folders = 5 */

    /* D11 (volume.c) */
    bool d11_enabled;                            /* d11.enabled = true */
    double d11_k;                                /* d11.k = 2.5 (per app) */
    double d11_mailbox_k;                        /* d11.mailbox_k = 3 */
    mh_time d11_baseline;                        /* d11.baseline = 30d */
    uint32_t d11_min_baseline_days;              /* d11.min_baseline_days = 7 */
    uint64_t d11_min_volume;                     /* d11.min_volume = 200 */
    /* D11 per mailbox and hour (hourly.c; needs d11.enabled too) */
    bool d11_hourly;                             /* d11.hourly = true */
    mh_time d11_hourly_baseline;                 /* d11.hourly_baseline = 28d (catalogue
                                                    14d: two samples per hour of week) */
    double d11_hourly_z;                         /* d11.hourly_z = 4.7 (robust z; = the
                                                    catalogue's anomaly score 3) */
    uint64_t d11_hourly_min;                     /* d11.hourly_min = 20 items in the hour */
    double d11_hourly_mad_floor;                 /* d11.hourly_mad_floor = 1 (items) */
    uint32_t d11_hourly_week_samples;            /* d11.hourly_week_samples = 4 */
    uint32_t d11_hourly_day_samples;             /* d11.hourly_day_samples = 7 */

    /* D12 (throttle.c) */
    bool d12_enabled;                            /* d12.enabled = true */
    mh_time d12_unaudited;                       /* d12.unaudited = 24h */

    /* D14 (tokencheck.c) */
    bool d14_enabled;                            /* d14.enabled = true */
    mh_time d14_skew_before;                     /* d14.skew_before = 1m */
    mh_time d14_skew_after;                      /* d14.skew_after = 10m */
    mh_time d14_session_lookback;                /* d14.session_lookback = 24h */
    mh_time d14_token_lifetime;                  /* d14.token_lifetime = 90m */
    mh_time d14_settle;                          /* d14.settle = 2h */
    uint32_t d14_delegated_streams;              /* d14.delegated_streams = interactive,noninteractive */
    uint32_t d14_app_streams;                    /* d14.app_streams = service_principal */
    bool d14_token_owner;                        /* d14.token_owner = true (tokenowner.c) */
    mh_time d14_owner_retention;                 /* d14.owner_retention = 90d */

    /* D15 (session.c) */
    bool d15_enabled;                            /* d15.enabled = true */
    uint32_t d15_max_countries;                  /* d15.max_countries = 1 */
    uint32_t d15_max_asns;                       /* d15.max_asns = 3 (catalogue: 1) */
    mh_time d15_aitm_gap;                        /* d15.aitm_gap = 30s */

    /* attacker-context follow-ups (chain.c) */
    bool ctx_enabled;                            /* context.enabled = true */
    enum mh_level ctx_seed_level;                /* context.seed_level = high */

    /* data */
    char first_party_apps[MH_DET_PATH_BYTES];    /* first_party_apps = rules/data/first-party-apps.tsv */
    char dangerous_permissions[MH_DET_PATH_BYTES]; /* dangerous_permissions =
                                                      rules/data/dangerous-permissions.tsv */
    char data_dir[MH_DET_PATH_BYTES];            /* where relative data paths resolve;
                                                    default $MAILHOUND_DATA, else MH_DATA_DIR */
};

/* The catalogue's defaults (documented in config/detectors.conf). */
void mh_detector_config_defaults(struct mh_detector_config *c);
/*
 * Apply one `key = value` setting. MH_EINVAL (unknown key, bad value) with
 * the key in err->detail.
 */
MH_MUST_CHECK mh_status mh_detector_config_set(struct mh_detector_config *c, const char *key,
                                               const char *value, mh_error *err);
/*
 * Read a config file (`key = value`, `#` comments, blank lines) on top of
 * what c holds. MH_EIO (cannot read), MH_EINVAL (bad line: err has the file
 * and line). c is partially updated on failure.
 */
MH_MUST_CHECK mh_status mh_detector_config_load(struct mh_detector_config *c, const char *path,
                                                mh_error *err);

/* ------------------------------------------------------------------------ */
/* First-party application ids (rules/data/first-party-apps.tsv)            */
/* ------------------------------------------------------------------------ */

struct mh_appset {
    struct mh_map ids; /* lower-case GUID text -> 1 */
};
/* Load `app_id<TAB>name...` lines ('#' comments). MH_EIO, MH_EPARSE (not a
 * GUID, err has the line), MH_ENOMEM. s is initialised either way; fini it. */
MH_MUST_CHECK mh_status mh_appset_load(struct mh_appset *s, const char *path, mh_error *err);
void mh_appset_fini(struct mh_appset *s);
/* True when id (any case, optional braces) is in the set. */
bool mh_appset_has(const struct mh_appset *s, struct mh_slice id);
/* Dangerous permissions (rules/data/dangerous-permissions.tsv): names
 * (case-insensitive) and app role / scope ids of detections.md §2.2. */
struct mh_permset {
    struct mh_map keys; /* name or canonical GUID (case-insensitive map) -> 1 */
};
/* Load `name<TAB>id<TAB>...` lines (id may be '-'); MH_EIO, MH_EPARSE (err
 * has the line), MH_ENOMEM. s is initialised either way; fini it. */
MH_MUST_CHECK mh_status mh_permset_load(struct mh_permset *s, const char *path, mh_error *err);
void mh_permset_fini(struct mh_permset *s);
/* The first listed permission named in text (words of [A-Za-z0-9._-]: a
 * ConsentAction.Permissions or AppRole.Value text), as it is written there;
 * an empty slice when none. */
struct mh_slice mh_permset_find(const struct mh_permset *s, struct mh_slice text);

/* Resolve a data path: absolute paths as given, else data_dir/path. */
MH_MUST_CHECK mh_status mh_data_path(const struct mh_detector_config *c, const char *rel,
                                     char out[MH_DET_PATH_BYTES]);

/* ------------------------------------------------------------------------ */
/* The detector set                                                         */
/* ------------------------------------------------------------------------ */

typedef struct mh_detectors mh_detectors;
typedef struct mh_state mh_state; /* state.h */

struct mh_detector_stats {
    uint64_t events;          /* events fed */
    uint64_t events_no_time;  /* skipped: no usable time */
    uint64_t detections;      /* emitted by finish */
    uint64_t dropped;         /* keys/entries not tracked because a cap was reached */
    uint64_t strings_dropped; /* entity strings not interned (cap) */
    uint64_t unverifiable;    /* D14 tokens that could not be judged */
    uint64_t d14_tokens;      /* D14 tokens judged (matched + candidates) */
    uint64_t d9_baseline_incomplete; /* D9 first-seen pairs in a scope without baseline */
    uint64_t d11_hours_unjudged; /* D11 mailbox hours >= d11.hourly_min with too few
                                    baseline samples to be judged */
};

/* A coverage gap for the scope stage: the mailbox was not audited (D12). */
struct mh_coverage_gap {
    struct mh_slice mailbox;
    mh_time start, end;
    const char *reason;       /* "throttled" */
    struct mh_source_ref ref; /* the IsThrottled record */
};
typedef mh_status (*mh_gap_fn)(void *ctx, const struct mh_coverage_gap *g);

/* Link kinds between principals (for incident grouping). */
enum mh_key_kind {
    MH_KEY_USER = 0,
    MH_KEY_IP,
    MH_KEY_APP,     /* app id or client app id (first-party ids never link) */
    MH_KEY_SESSION,
    MH_KEY_TOKEN,
    MH_KEY_OBJECT,  /* directory object id (application / service principal) */
    MH_KEY_NAME,    /* display name of an application (lower-case): a bridge only */
    MH_KEY_SHARED,  /* marker: "a is shared by many principals" (an office egress IP,
                       session.c); such a key links nothing (incident.c) */
    MH_KEY__COUNT
};
/* An actor and a principal it acted on, or two names of one principal. */
struct mh_link {
    enum mh_key_kind a_kind, b_kind;
    struct mh_slice a, b;
    mh_time time;
    const char *why; /* "added credentials", "granted app role", "same application" ... */
    bool identity;   /* a and b name one principal (time does not matter) */
};
typedef mh_status (*mh_link_fn)(void *ctx, const struct mh_link *l);

/*
 * Create the detectors enabled in cfg (copied). state may be NULL (nothing
 * persisted); with a state the baselines are loaded now. emit receives each
 * detection at finish. MH_ENOMEM, MH_EIO/MH_EPARSE (first-party list),
 * MH_ESTATE/MH_EDB (state). *out untouched on failure.
 */
MH_MUST_CHECK mh_status mh_detectors_new(const struct mh_detector_config *cfg, mh_state *state,
                                         mh_detection_fn emit, void *emit_ctx,
                                         mh_detectors **out, mh_error *err);
/* Free everything; NULL is a no-op. Does not close the state. */
void mh_detectors_free(mh_detectors *d);

/*
 * Feed one event. Events without a time are counted and ignored. The event is
 * only read during the call (nothing is kept pointing into it). MH_ENOMEM;
 * MH_ELIMIT only for internal limits of the normalizer. Never called after
 * finish.
 */
MH_MUST_CHECK mh_status mh_detectors_feed(mh_detectors *d, struct mh_event *ev, mh_error *err);

/*
 * Tell the detectors about a finding of another engine (Sigma: convert with
 * mh_finding_from_alert). Findings at or above context.seed_level seed the
 * attacker context (their IP and session; copied). Call before finish.
 */
MH_MUST_CHECK mh_status mh_detectors_add_finding(mh_detectors *d, const struct mh_finding *a,
                                               mh_error *err);

/*
 * Another engine's state written with the detectors' (in their transaction,
 * so a killed run leaves neither half): the Sigma correlator's carry-over.
 * One saver; set before finish.
 */
typedef mh_status (*mh_state_saver_fn)(void *ctx, mh_state *st, mh_error *err);
void mh_detectors_set_saver(mh_detectors *d, mh_state_saver_fn fn, void *ctx);

/*
 * End of input: every detector decides, detections are sorted and passed to
 * emit, the state (if any) is written in one transaction. Call once.
 */
MH_MUST_CHECK mh_status mh_detectors_finish(mh_detectors *d, mh_error *err);

/* After finish: coverage gaps (sorted by mailbox, start) and principal links
 * (sorted), each through its callback. */
MH_MUST_CHECK mh_status mh_detectors_gaps(const mh_detectors *d, mh_gap_fn fn, void *ctx);
MH_MUST_CHECK mh_status mh_detectors_links(const mh_detectors *d, mh_link_fn fn, void *ctx);

const struct mh_detector_stats *mh_detectors_stats(const mh_detectors *d);
/* The first-party set the detectors loaded (for the incident builder). */
const struct mh_appset *mh_detectors_first_party(const mh_detectors *d);

/* ------------------------------------------------------------------------ */
/* For detector implementations (src/correlate/ *.c) -- not for callers     */
/* ------------------------------------------------------------------------ */

/* Static metadata of one detection kind. */
struct mh_det_rule {
    const char *id;          /* "mh.d9.first_seen_app" */
    const char *title;
    const char *detection;   /* "D9" */
    const char *description;
    const char *const *tags;
    size_t ntags;
};

/* Evidence kept for a deferred decision: entities interned + source ref. */
struct mh_det_evid {
    mh_time time;
    uint32_t ent[MH_ALERT_ENTITIES]; /* string ids, 0 = absent */
    struct mh_source_ref ref;
};

struct mh_det_field {
    const char *name;  /* static */
    uint32_t str;      /* interned value, when !is_num */
    bool is_num;
    int64_t num;
};

/* A detection waiting for the final sort. Its fields live in the context's
 * field pool (cx->fields[f0 .. f0 + nfields)): most detections carry two to
 * five of the MH_DETECTION_MAX_FIELDS, and a pending record is sorted and
 * kept for every detection of the run, so it stays small (~110 bytes). */
struct mh_det_pending {
    const struct mh_det_rule *rule;
    enum mh_level level;
    mh_time first, last;
    uint64_t count;
    bool unmet; /* precondition unmet ("unverifiable") */
    struct mh_det_evid ev;
    uint32_t nfields;
    uint32_t f0; /* index of the first field in cx->fields */
};

struct mh_det_ctx;

/* One detector: created with the set, fed every event, asked to decide.
 * load and save are NULL for a detector that persists nothing. */
struct mh_det_ops {
    const char *name;
    MH_MUST_CHECK mh_status (*create)(struct mh_det_ctx *cx, void **self);
    MH_MUST_CHECK mh_status (*feed)(void *self, struct mh_det_ctx *cx, struct mh_event *ev);
    MH_MUST_CHECK mh_status (*finish)(void *self, struct mh_det_ctx *cx);
    MH_MUST_CHECK mh_status (*load)(void *self, struct mh_det_ctx *cx, mh_state *st);
    MH_MUST_CHECK mh_status (*save)(void *self, struct mh_det_ctx *cx, mh_state *st);
    void (*destroy)(void *self);
};

extern const struct mh_det_ops mh_det_firstseen_ops;
extern const struct mh_det_ops mh_det_tokencheck_ops;
extern const struct mh_det_ops mh_det_session_ops;
extern const struct mh_det_ops mh_det_volume_ops;
extern const struct mh_det_ops mh_det_hourly_ops;
extern const struct mh_det_ops mh_det_throttle_ops;
extern const struct mh_det_ops mh_det_spray_ops;
extern const struct mh_det_ops mh_det_chain_ops;
extern const struct mh_det_ops mh_det_appcred_ops;
extern const struct mh_det_ops mh_det_mailpath_ops;
extern const struct mh_det_ops mh_det_tokenowner_ops;
extern const struct mh_det_ops mh_det_crossmbx_ops;

/* Internal records of the shared context. */
struct mh_det_gap_rec {
    uint32_t mailbox;
    mh_time start, end;
    struct mh_source_ref ref;
};
struct mh_det_link_rec {
    uint8_t a_kind, b_kind;
    bool identity;
    uint32_t a, b;
    mh_time time;
    const char *why;
};

/* Shared by the detectors of one set. */
#define MH_DET_ICACHE 64 /* mh_det_intern's recent-slice cache (power of two) */

struct mh_det_ctx {
    struct mh_detector_config cfg;
    struct mh_appset first_party;
    struct mh_permset dangerous; /* dangerous permissions (appcred.c booster) */
    struct mh_map strs;              /* interned strings: id = index + 1 */
    struct mh_det_pending *pending;  /* detections waiting for finish */
    size_t npending, cap_pending;
    struct mh_det_field *fields;     /* their fields, each detection's contiguous */
    size_t nfields, cap_fields;
    struct mh_det_gap_rec *gaps;
    size_t ngaps, cap_gaps;
    struct mh_det_link_rec *links;
    size_t nlinks, cap_links;
    struct mh_map identities;        /* identity links already recorded */
    struct mh_map seeds;             /* "ip:<x>" / "session:<x>" of alerts >= seed level */
    struct mh_detector_stats stats;
    mh_time run_first, run_last;     /* time range of the events fed in this run */
    mh_error *err;                   /* of the public call in progress (may be NULL) */
    /* mh_det_capture of the event being fed, shared by the detectors that
       capture it (several do): valid while feeding and cap_feed == feeds. */
    bool feeding;
    uint64_t feeds, cap_feed;
    const struct mh_event *cap_ev;
    struct mh_det_evid cap;
    /* mh_det_error_code of the event being fed, the same way (code_feed == feeds) */
    uint64_t code_feed;
    const struct mh_event *code_ev;
    bool code_has;
    int64_t code;
    /* mh_det_intern: recent slices (address -> id, confirmed by content) */
    uint32_t icache[MH_DET_ICACHE];
    const char *icache_ptr[MH_DET_ICACHE];
};

/* Intern s (empty -> 0). At the cap returns 0 and counts strings_dropped. */
uint32_t mh_det_intern(struct mh_det_ctx *cx, struct mh_slice s);
/* Intern the ASCII-lower-cased form of s (UPNs, mailboxes). */
uint32_t mh_det_intern_lower(struct mh_det_ctx *cx, struct mh_slice s);
/* Look up without inserting (0 when absent). */
uint32_t mh_det_lookup(const struct mh_det_ctx *cx, struct mh_slice s);
/* Text of an interned string (empty slice for 0). */
struct mh_slice mh_det_str(const struct mh_det_ctx *cx, uint32_t id);
/* State persistence helpers shared by the detectors' save functions: bind
 * interned string id as text (id 0 -> ""); run a statement that returns no
 * row and reset it for the next binding. Errors go to cx->err. */
MH_MUST_CHECK mh_status mh_det_bind_str(struct mh_det_ctx *cx, mh_db_stmt *q, int idx, uint32_t id);
MH_MUST_CHECK mh_status mh_det_step(struct mh_det_ctx *cx, mh_db_stmt *q);

/* Entity of ev (empty slice when absent). MH_ENOMEM/MH_ELIMIT only. */
MH_MUST_CHECK mh_status mh_det_entity(struct mh_event *ev, enum mh_entity e, struct mh_slice *out);
/* First non-empty scalar at any of the NULL-terminated paths (booleans as
 * "true"/"false"); empty slice when none. */
MH_MUST_CHECK mh_status mh_det_field(struct mh_event *ev, const char *const *paths,
                                     struct mh_slice *out);
/* Items a MailItemsAccessed record stands for: its OperationCount (binds
 * aggregated into it, detections.md) clamped to 10^9; 1 when absent, below 1
 * or not a decimal integer (mh_det_parse_i64). MH_ENOMEM/MH_ELIMIT only. */
MH_MUST_CHECK mh_status mh_det_operation_count(struct mh_event *ev, uint64_t *out);
/* Error/result code of a sign-in or UAL logon; false when the event has none.
 * Read once per fed event (several detectors ask), like mh_det_capture. */
MH_MUST_CHECK mh_status mh_det_error_code(struct mh_det_ctx *cx, struct mh_event *ev, bool *has,
                                          int64_t *code);
/* Does ev come before the captured evidence e (time, then file, then record)?
 * True when e is empty (time MH_TIME_NONE): the earliest copy is the
 * evidence, whatever the input order. */
bool mh_det_evid_before(const struct mh_event *ev, const struct mh_det_evid *e);
/* Capture the evidence of ev (interns its alert entities). */
MH_MUST_CHECK mh_status mh_det_capture(struct mh_det_ctx *cx, struct mh_event *ev,
                                       struct mh_det_evid *out);
bool mh_det_code_in(const int32_t *codes, size_t n, int64_t code);
/* A decimal integer as logs write it ("50126", "-1", "50126.0"); false otherwise. */
bool mh_det_parse_i64(struct mh_slice s, int64_t *out);
bool mh_det_is_signin(enum mh_source_kind k);
/* Paths of a sign-in's autonomous system number (Entra sign-in logs: Azure
 * Monitor, Graph, Log Analytics). */
extern const char *const mh_det_asn_paths[];
/* Stream bit of a sign-in source kind (0 for other kinds). */
uint32_t mh_det_stream_bit(enum mh_source_kind k);
/* Case-insensitive "is s one of the comma-separated items of list" (substring
 * match when substr). */
bool mh_det_list_match(const char *list, struct mh_slice s, bool substr);
/* True when the lower-case GUID text is a first-party application. */
bool mh_det_first_party(const struct mh_det_ctx *cx, struct mh_slice id);

/* Start a pending detection (NULL at the cap: counted as dropped). */
struct mh_det_pending *mh_det_pend(struct mh_det_ctx *cx, const struct mh_det_rule *rule,
                                   enum mh_level level, const struct mh_det_evid *ev);
/* Add a field to p (the latest pending record or an earlier one; at most
 * MH_DETECTION_MAX_FIELDS, beyond or at the pool's cap the field is dropped
 * and counted). p NULL is a no-op. */
void mh_det_pend_str(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name,
                     struct mh_slice v);
void mh_det_pend_num(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name, int64_t v);
/* Record a coverage gap / a link (dropped and counted at the cap). Identity
 * links (two names of one principal) are recorded once per pair. */
MH_MUST_CHECK mh_status mh_det_gap(struct mh_det_ctx *cx, uint32_t mailbox, mh_time start,
                                   mh_time end, const struct mh_source_ref *ref);
MH_MUST_CHECK mh_status mh_det_link(struct mh_det_ctx *cx, enum mh_key_kind ak, uint32_t a,
                                    enum mh_key_kind bk, uint32_t b, mh_time t, const char *why);
MH_MUST_CHECK mh_status mh_det_identity(struct mh_det_ctx *cx, enum mh_key_kind ak, uint32_t a,
                                        enum mh_key_kind bk, uint32_t b, mh_time t,
                                        const char *why);
/* Seed "ip:<x>" / "session:<x>" from the detections pending so far at or
 * above context.seed_level (chain.c, which finishes last, before it looks). */
MH_MUST_CHECK mh_status mh_det_seed_from_pending(struct mh_det_ctx *cx);
/* True when "ip:<x>" / "session:<x>" was seeded by an alert. */
bool mh_det_seeded(const struct mh_det_ctx *cx, const char *prefix, struct mh_slice v);

/* A zero-filled element inserted at index i of an array of *n elements kept
 * sorted by the caller (i from its binary search), where at most max are
 * kept. Below max the array must have room for *n + 1 (grow it first); at
 * max the oldest element (index 0) makes room: *evicted is set, and NULL is
 * returned when the new element would be the oldest itself (i == 0). Used by
 * the per-key day and hour series (volume.c, hourly.c). */
void *mh_det_sorted_insert(void *arr, uint32_t *n, uint32_t max, size_t size, uint32_t i,
                           bool *evicted);

/* Make room for one more element of a bounded array (st = MH_ELIMIT at max,
 * MH_ENOMEM; arr and cap updated). Needs base/alloc.h. MH_DET_GROW starts at
 * 64 elements (arrays shared by many keys); MH_DET_GROW_N starts at `first`,
 * for the small per-key arrays of which there is one per IP or user (most
 * hold one or two elements: 64 would be the bulk of the detectors' memory). */
#define MH_DET_GROW(arr, cap, n, max, st) MH_DET_GROW_N(arr, cap, n, max, 64, st)
#define MH_DET_GROW_N(arr, cap, n, max, first, st)                                                 \
    do {                                                                                           \
        (st) = MH_GROW(arr, cap, (size_t)(n) + 1, first, max);                                     \
    } while (0)

/*
 * Element of a bounded array indexed by a map (key -> index): the existing one
 * for key, or a zero-filled one appended (*created, may be NULL; the caller
 * fills in its fields). When the map or the array is at its cap a new key is
 * not tracked: *out is NULL, the key is counted in stats.dropped and the
 * status is MH_OK (the caller skips the record). MH_ENOMEM. Use it through
 * MH_DET_SLOT, which keeps the array's type:
 *   MH_DET_SLOT(cx, &v->idx, k, sizeof k, v->s, v->cap, v->ns, MH_D11_MAX_KEYS,
 *               ser, &created, st);
 */
MH_MUST_CHECK mh_status mh_det_slot(struct mh_det_ctx *cx, struct mh_map *idx, const void *key,
                                    size_t klen, void **arr, size_t *cap, size_t *n, size_t size,
                                    size_t max, void **out, bool *created);
#define MH_DET_SLOT(cx, idx, key, klen, arr, cap, n, max, out, created, st)                        \
    do {                                                                                           \
        void *arr_ = (arr), *out_;                                                                 \
        (st) = mh_det_slot((cx), (idx), (key), (klen), &arr_, &(cap), &(n), sizeof *(arr), (max),  \
                           &out_, (created));                                                      \
        (arr) = arr_;                                                                              \
        (out) = out_;                                                                              \
    } while (0)

/* Seconds of a duration as text ("7d", "90m") for fields. */
size_t mh_det_format_duration(mh_time d, char out[32]);

#endif
