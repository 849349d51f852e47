/*
 * sim/model.h -- the simulated world and the generator's shared state
 *
 * Pipeline: sim (generates test data; nothing downstream includes it except
 * src/cli/simulate.c through sim/sim.h).
 *
 * Data model
 *   world: tenants (id, domains, offices, Exchange servers), users (identity,
 *          department, time zone, devices, home/office/travel addresses, a
 *          ring of the last MH_SIM_RING messages in their mailbox), apps
 *          (third-party, backup, managed identities, one dormant legacy app),
 *          partner organisations with contacts (incl. free-mail individuals
 *          and multi-domain organisations), mailing lists, notification
 *          organisations ("orgs": the key the notify stage groups by).
 *   time:  a discrete-event scheduler (sim.c): every action is an event
 *          {time, seq, type, args}; events are planned one UTC day at a time
 *          (per user: life.c; per tenant: life.c; attacks: attack_*.c) and
 *          popped in (time, seq) order. A handler writes records stamped with
 *          the event's time only, so every output file is time-ordered; work
 *          that happens later is scheduled as a new event.
 *   out:   out.c owns every output file (open day files, write buffers,
 *          record counters); mail.c owns the day's message spool and the
 *          mbox files; truth.c owns the ground truth.
 *
 * Invariants
 *   - Record numbers are counted exactly as the reader counts them (JSON
 *     Lines: line; {"records":[..]} / {"value":[..]}: element; CSV: data row).
 *   - While sim.tag is set (an attack handler is running), every record
 *     written is referenced in truth.malicious with that scenario and step.
 *   - Attackers only use NET_ATK_* address blocks and ids they generate;
 *     normal life never does (geo.h).
 *   - Normal life draws from its own random streams (rng.h), so it is the
 *     same for every scenario.
 *
 * Memory (bounded; see docs/simulate.md): O(users) for the world (about
 * 1 KB per user), O(events of one day) for the scheduler, O(messages of one
 * day) for mail metadata (message bytes go to a spool file), the recent
 * message table (MH_SIM_MSG_TABLE), the indexed history of attack target
 * mailboxes (MH_SIM_MAX_TARGET_MSGS) and the truth (MH_SIM_MAX_TRUTH_REFS).
 * Each output file has one MH_SIM_FILE_BUF write buffer while open.
 *
 * Ownership: struct sim owns everything (arena for strings, mh_malloc'd
 * arrays); sim_free releases it. Thread-safety: single-threaded.
 */
#ifndef MH_SIM_MODEL_H
#define MH_SIM_MODEL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/hash.h"
#include "base/time.h"
#include "mailhound/limits.h"
#include "mailhound/status.h"
#include "sim/emit.h"
#include "sim/geo.h"
#include "sim/rng.h"
#include "sim/sim.h"

#define SIM_NONE UINT32_MAX
#define SIM_MIN (INT64_C(60) * MH_USEC_PER_SEC)
#define SIM_HOUR (INT64_C(3600) * MH_USEC_PER_SEC)
#define SIM_DAY (INT64_C(86400) * MH_USEC_PER_SEC)
#define SIM_SEC MH_USEC_PER_SEC

/* ---------------------------------------------------------------- world */

enum sim_dept {
    D_EXEC = 0,
    D_SECURITY,
    D_LEGAL,
    D_ENGINEERING,
    D_SALES,
    D_FINANCE,
    D_HR,
    D_MARKETING,
    D_OPERATIONS,
    D_IT,
    D_SUPPORT,
    D__N
};
extern const char *const sim_dept_name[D__N];

enum sim_user_flag {
    UF_EXEC = 1 << 0,     /* executive (Midnight Blizzard / Storm-0558 target pool) */
    UF_ADMIN = 1 << 1,    /* does directory and Exchange admin work */
    UF_TESTACCT = 1 << 2, /* the legacy test account: no MFA, dormant */
    UF_NOMFA = 1 << 3,
    UF_DISABLED = 1 << 4, /* departed employee; an old phone keeps trying */
    UF_TRAVELLER = 1 << 5,
    UF_ASSISTANT = 1 << 6, /* reads its executive's mailbox as a delegate */
    UF_REMOTE = 1 << 7,    /* works from home, never from an office */
    UF_DESKTOP = 1 << 8,   /* uses desktop Outlook (Sync records) */
    UF_LISTS = 1 << 9,     /* subscribed to the mailing lists */
};

enum sim_dev_kind { DEV_WIN = 0, DEV_MAC, DEV_WEB, DEV_IOS, DEV_ANDROID, DEV__N };

struct sim_device {
    uint8_t kind;
    uint8_t managed; /* registered device: deviceId present */
    uint8_t has_session;
    uint8_t has_token;
    uint8_t id[16];      /* deviceId */
    uint8_t session[16]; /* current Entra session (sid) */
    uint8_t token[16];   /* sign-in id of the current Exchange token */
    mh_time session_t, token_t;
};

/* One message in a mailbox (for Bind records and replies). */
struct sim_ring {
    uint64_t serial;
    uint32_t from;  /* sim_addr of the sender (message id style) */
    uint32_t slot;  /* index into the recent-message table */
    mh_time t;      /* delivery time */
    uint8_t folder; /* enum sim_folder */
    uint8_t read;
    uint8_t has_id; /* has a Message-ID (scanner mail has none) */
};

struct sim_user {
    const char *upn, *first, *last, *display, *title;
    uint8_t oid[16], mbx[16];
    uint64_t puid;
    uint32_t rid; /* RID of the user's SID */
    uint32_t tenant;
    uint32_t boss;   /* assistants: the executive (user index), else SIM_NONE */
    uint32_t target; /* slot in the target index + 1, 0 = not indexed */
    uint16_t flags;
    uint8_t dept;
    uint8_t office;               /* index into the tenant's offices */
    int16_t tz;                   /* minutes east of UTC */
    uint8_t work_start, work_end; /* local hours */
    uint16_t home_city;
    uint16_t travel_first, travel_last, travel_city; /* days; 0xffff = none */
    float activity;                                  /* messages sent per working day */
    struct sim_ip home_ip, mobile_ip, travel_ip;
    uint8_t ndev;
    struct sim_device dev[3];
    uint8_t ring_n, ring_head;
    struct sim_ring ring[MH_SIM_RING];
};

enum sim_app_kind { APP_SAAS = 0, APP_BACKUP, APP_LEGACY, APP_MI, APP_ATTACKER };
enum sim_resource { RES_GRAPH = 0, RES_EXO, RES_SPO, RES_KEYVAULT, RES_AZMGMT, RES__N };
extern const char *const sim_res_id[RES__N];
extern const char *const sim_res_name[RES__N];

struct sim_app {
    const char *name;
    uint8_t app_id[16], sp_id[16], obj_id[16];
    uint32_t tenant;
    uint8_t kind;
    uint8_t cert;     /* authenticates with a certificate (else a secret) */
    uint8_t resource; /* enum sim_resource it usually calls */
    uint8_t signins;  /* sign-ins per day */
    uint8_t has_token;
    struct sim_ip ip;  /* where it runs */
    uint8_t token[16]; /* sign-in id of its current app-only token */
    mh_time token_t;
};

struct sim_tenant {
    const char *name, *label, *domain, *onms, *scanner;
    uint8_t id[16];
    uint8_t exo_sp[16], graph_sp[16]; /* resource service principals in this tenant */
    uint32_t first_user, nusers;
    uint32_t first_app, napps;
    uint8_t noffices;
    uint16_t office_city[4];
    struct sim_ip office_ip[4];
    char srv[4][16]; /* mailbox servers, e.g. AM0PR08MB5432 */
    char region[12]; /* e.g. eurprd08 */
    uint32_t sid[3]; /* domain SID sub-authorities */
    uint32_t admins[6];
    uint8_t nadmins;
    uint32_t test_user;  /* legacy test account (primary tenant) or SIM_NONE */
    uint32_t legacy_app; /* dormant legacy OAuth app (primary tenant) or SIM_NONE */
    uint32_t backup_app;
    uint32_t disabled_user;
    uint32_t stolen_app; /* app whose client secret travels by mail */
};

/* Addresses: 2-bit kind + index. */
typedef uint32_t sim_addr;
enum { A_USER = 0, A_CONTACT = 1, A_LIST = 2, A_SCANNER = 3 };
#define SIM_ADDR(kind, idx) (((uint32_t)(kind) << 30) | (uint32_t)(idx))
#define SIM_ADDR_KIND(a) ((a) >> 30)
#define SIM_ADDR_IDX(a) ((a)&0x3fffffffu)

enum sim_msgid_style { MS_EXO = 0, MS_GMAIL, MS_UUID, MS_HEX, MS_YAHOO };

struct sim_partner {
    const char *name, *key;
    const char *dom[3];
    uint8_t ndom;
    uint8_t freemail;
    uint8_t style; /* enum sim_msgid_style of its mail system */
    uint8_t industry;
    uint32_t first_contact, ncontacts;
    uint32_t org; /* SIM_NONE for free-mail providers */
};

struct sim_contact {
    const char *addr, *display;
    uint32_t partner;
    uint32_t org;
};

struct sim_list {
    const char *name, *addr, *list_id, *host, *bounce;
    uint32_t org;
};

/* Notification organisation (truth.notify key). */
struct sim_org {
    const char *key;
};

/* ---------------------------------------------------------------- mail */

enum sim_folder { F_INBOX = 0, F_SENT, F_ARCHIVE, F__N };
extern const char *const sim_folder_path[F__N]; /* "\\Inbox" as JSON text */

/* A message in the recent-message table. */
struct sim_msg {
    uint64_t serial;
    uint64_t body_seed;
    uint64_t subj_seed; /* subject placeholders; a reply keeps its thread's */
    mh_time t;
    sim_addr from, sender, reply_to; /* sender/reply_to: SIM_NONE when absent */
    uint32_t parent;                 /* slot of the message replied to, SIM_NONE */
    uint64_t parent_serial;
    uint16_t topic;
    uint8_t depth; /* reply depth ("Re: ") */
    uint8_t nto, ncc, nbcc;
    uint8_t kind;         /* enum sim_msg_kind */
    uint8_t secret;       /* planted secret kind + 1, 0 = none */
    uint8_t secret_flags; /* SECRET_IN_ATTACHMENT | SECRET_FOR_APP */
    uint8_t has_id;
    uint32_t size;                  /* bytes of the sender's copy */
    sim_addr rcpt[MH_SIM_MAX_RCPT]; /* To, then Cc, then Bcc */
    uint32_t list;                  /* mailing list, SIM_NONE */
};

enum sim_msg_kind { MK_PLAIN = 0, MK_ALT, MK_ATTACH, MK_LIST, MK_SCANNER };
#define SECRET_IN_ATTACHMENT 1
#define SECRET_FOR_APP 2

/* Indexed message of an attack-target mailbox. */
struct sim_tmsg {
    uint64_t serial;
    sim_addr from;
    mh_time t;
    uint32_t user;      /* mailbox owner */
    uint32_t party_off; /* orgs of this message in sim.parties */
    uint8_t nparty;
    uint8_t folder;
    uint8_t has_id;
    uint8_t exfil;  /* 1: in an attacker Bind, 2: in a Sync'd folder */
    uint8_t secret; /* planted secret kind + 1 */
};

struct sim_target {
    uint32_t user;
    uint32_t *idx; /* into sim.tmsg, in delivery order */
    uint32_t n, cap;
};

/* Planted secret (truth.secrets when its message is exfiltrated). */
struct sim_secret {
    uint64_t serial;
    sim_addr from;
    const char *rule;
    char fp[65];
};

/* ---------------------------------------------------------------- events */

struct sim_ev {
    mh_time t;
    uint64_t seq;
    uint64_t x; /* per-event random seed / payload */
    uint32_t u; /* user / app / slot */
    uint32_t a, b;
    uint16_t type;
    uint16_t c;
};

enum sim_ev_type {
    /* life.c */
    EV_SIGNIN = 1,
    EV_REFRESH,
    EV_READ,
    EV_SYNC,
    EV_SEND,
    EV_INBOUND,
    EV_RULE,
    EV_DELEGATE,
    EV_APP_SIGNIN,
    EV_BACKUP,
    EV_ADMIN,
    EV_DISABLED,
    EV_LIST,
    EV_SCANNER,
    EV_SECRET_MAIL,
    EV_LIFE_MAX,
    /* attack_mb.c */
    EV_MB_FIRST = 100,
    EV_MB_LAST = 199,
    /* attack_storm.c */
    EV_STORM_FIRST = 200,
    EV_STORM_LAST = 299,
};

/* ---------------------------------------------------------------- output */

enum sim_fkind { FK_UAL = 0, FK_SI_INT, FK_SI_NONINT, FK_SI_SP, FK_SI_MI, FK_AUDIT, FK__DAY };
enum sim_container { C_JSONL = 0, C_RECORDS, C_GRAPH, C_CSV, C_CSV16 };

struct sim_file {
    const char *rel; /* path relative to DIR (arena) */
    int fd;
    uint8_t container;
    uint8_t open;
    uint64_t nrec;
    struct sim_tx buf;
};

/* Purview twin of the UAL record being written. */
struct sim_ualmeta {
    const uint8_t *id;
    int rtype;
    const char *op;
    const char *user;
    mh_time t;
};

/* Truth */
enum { SC_MB = 0, SC_STORM = 1, SC__N };
#define SIM_MAX_STEPS 16
struct sim_step {
    const char *name, *desc;
    mh_time first, last;
    bool used;
};
struct sim_ref {
    uint32_t file;
    uint8_t scen, step;
    uint64_t record;
};

struct sim_attack_mb;
struct sim_attack_storm;

struct sim {
    struct mh_sim_opts o;
    mh_error *err;
    struct mh_arena arena; /* strings of the world */

    /* world */
    struct sim_tenant *tenants;
    uint32_t ntenants;
    struct sim_user *users;
    uint32_t nusers;
    struct sim_app *apps;
    uint32_t napps;
    struct sim_partner *partners;
    uint32_t npartners;
    struct sim_contact *contacts;
    uint32_t ncontacts;
    struct sim_list *lists;
    uint32_t nlists;
    struct sim_org *orgs;
    uint32_t norgs, orgs_cap;
    uint32_t *list_members; /* users subscribed to lists */
    uint32_t nlist_members;

    /* clock */
    mh_time start, end, now;
    uint32_t day; /* current day index */

    /* scheduler */
    struct sim_ev *heap;
    size_t nheap, heap_cap;
    uint64_t seq;

    /* output */
    char *dir;
    struct sim_file *files;
    uint32_t nfiles, files_cap;
    uint32_t dayfile[MH_SIM_MAX_TENANTS][FK__DAY];
    uint32_t purview, trace;
    int files_dirfd;   /* DIR, opened once */
    uint32_t cur_file; /* record being written */
    int cur_kind;
    uint32_t cur_tenant;
    size_t cur_start;
    struct sim_ualmeta ual;
    struct sim_tx scratch; /* Purview/trace row staging */
    uint64_t bytes_out;
    uint64_t records_out;

    /* mail */
    struct sim_msg *msgs; /* recent-message table, MH_SIM_MSG_TABLE slots */
    uint64_t next_serial;
    int spool_fd;
    uint64_t spool_len;
    struct sim_tx spool_buf;
    struct sim_tx msgbuf; /* message being composed */
    struct sim_tx tmp;    /* subject scratch */
    struct sim_tx text;   /* body text scratch */
    struct sim_tx part;   /* encoded part scratch */
    struct sim_tx mbuf;   /* mbox write buffer */
    struct sim_dlv *dlv;
    size_t ndlv, dlv_cap;
    uint64_t messages, mailbox_bytes;
    uint8_t *mbox_seen; /* per user: mbox file created */

    /* attack targets and truth */
    struct sim_target *targets;
    uint32_t ntargets;
    struct sim_tmsg *tmsg;
    size_t ntmsg, tmsg_cap;
    uint32_t *parties;
    size_t nparties, parties_cap;
    struct sim_secret *secrets;
    uint32_t nsecrets, secrets_cap;
    struct sim_ref *refs;
    size_t nrefs, refs_cap;
    struct sim_step steps[SC__N][SIM_MAX_STEPS];
    int tag_scen, tag_step; /* -1: not malicious */
    struct mh_map truth_ips, truth_users, truth_apps;

    /* attacks */
    struct sim_attack_mb *mb;
    struct sim_attack_storm *storm;
    /* planned secret mails (life.c) */
    struct sim_secret_plan *splan;
    uint32_t nsplan;
};

/* One mailbox delivery of the current day. */
struct sim_dlv {
    uint32_t user;
    uint8_t folder;
    uint8_t sender_copy;
    uint64_t seq;
    mh_time t;
    uint64_t off; /* message bytes in the spool */
    uint32_t len;
    uint32_t bcc_off, bcc_len; /* Bcc header inside the message (sender copy only) */
    sim_addr env_from;
};

/* A secret mail planned by life (kind, time, sender, recipient). */
struct sim_secret_plan {
    mh_time t;
    uint64_t serial; /* set when sent */
    uint32_t from, to;
    uint8_t kind;
    uint8_t in_attachment;
    uint8_t for_app; /* carries the client secret of tenant.stolen_app */
};

/* ------------------------------------------------ identifiers (ids.c) */

void sim_guid(struct sim_rng *r, uint8_t g[16]);
/* base64url (no padding) of the .NET little-endian bytes of GUID g:
 * the sign-in uniqueTokenIdentifier (log-formats.md §12). out >= 23 bytes. */
size_t sim_uti(const uint8_t g[16], char *out);
void sim_tx_sid(struct sim_tx *t, const struct sim_tenant *tn, uint32_t rid);
void sim_tx_puid(struct sim_tx *t, uint64_t puid);
/* Exchange folder id ("LgAAAA..."), stable per (mailbox, folder). */
void sim_tx_folder_id(struct sim_tx *t, const uint8_t mbx[16], int folder);
/* Exchange item id, stable per (mailbox, serial). */
void sim_tx_item_id(struct sim_tx *t, const uint8_t mbx[16], uint64_t serial);
/* Internet message id with angle brackets, from (serial, sender). */
void sim_tx_msgid(struct sim *S, struct sim_tx *t, uint64_t serial, sim_addr from);
/* Originating server "AM0PR08MB5432 (15.20.7452.028)" */
void sim_tx_server(struct sim_tx *t, const struct sim_tenant *tn, uint64_t h);

/* -------------------------------------------------- world (tenant.c) */

MH_MUST_CHECK mh_status sim_world_build(struct sim *S);
MH_MUST_CHECK mh_status sim_world_write_json(struct sim *S);
const char *sim_addr_email(const struct sim *S, sim_addr a);
const char *sim_addr_display(const struct sim *S, sim_addr a);
/* Organisation of an address for notification, SIM_NONE for internal ones. */
uint32_t sim_addr_org(const struct sim *S, sim_addr a);
/* Country/time zone helpers for a user's location on a day. */
const struct sim_ip *sim_user_ip(const struct sim *S, const struct sim_user *u, uint32_t day,
                                 int kind /* 0 office/home, 1 mobile */, uint64_t h);
static inline struct sim_tenant *sim_user_tenant(struct sim *S, const struct sim_user *u)
{
    return &S->tenants[u->tenant];
}

/* ------------------------------------------------- output (out.c) */

MH_MUST_CHECK mh_status sim_out_init(struct sim *S);
void sim_out_fini(struct sim *S);
MH_MUST_CHECK mh_status sim_out_day_begin(struct sim *S, uint32_t day);
MH_MUST_CHECK mh_status sim_out_day_end(struct sim *S);
MH_MUST_CHECK mh_status sim_out_close_all(struct sim *S);
/* Begin a record in (tenant, kind) day file; returns the buffer to write the
 * record text into (JSON object). */
struct sim_tx *sim_rec_begin(struct sim *S, uint32_t tenant, int kind);
/* For UAL records: set before sim_rec_end to produce the Purview row. */
static inline void sim_rec_ual(struct sim *S, const uint8_t *id, int rtype, const char *op,
                               const char *user, mh_time t)
{
    S->ual.id = id;
    S->ual.rtype = rtype;
    S->ual.op = op;
    S->ual.user = user;
    S->ual.t = t;
}
MH_MUST_CHECK mh_status sim_rec_end(struct sim *S, mh_time t);
/* Trace row (UTF-8 in S->scratch) -> trace file as UTF-16LE. */
MH_MUST_CHECK mh_status sim_out_trace_row(struct sim *S);
MH_MUST_CHECK mh_status sim_out_write_file(struct sim *S, const char *rel, const void *p, size_t n);
/* p[0..n) to fd, over short writes and EINTR; MH_EIO (errno, DIR/rel) on failure. */
MH_MUST_CHECK mh_status sim_out_write_fd(struct sim *S, int fd, const char *rel, const void *p,
                                         size_t n);
MH_MUST_CHECK mh_status sim_out_mkdirs(struct sim *S, const char *rel_dir);

/* ------------------------------------------------ writers */

/* signin.c */
enum sim_si_cat { SI_INT = 0, SI_NONINT, SI_SP, SI_MI };
struct sim_signin {
    uint8_t cat;
    mh_time t;
    uint8_t id[16], corr[16];
    uint32_t tenant;
    const struct sim_user *user;         /* user sign-ins */
    const char *upn_override;            /* spray against a name that does not exist */
    const struct sim_app *app;           /* SP / MI sign-ins */
    const char *client_id, *client_name; /* user sign-ins: the client app */
    int res;                             /* enum sim_resource */
    const struct sim_ip *ip;
    int err; /* AADSTS code, 0 = success */
    const char *ua;
    const char *client_used; /* clientAppUsed */
    const struct sim_device *dev;
    const uint8_t *session; /* NULL: none */
    bool mfa;
    const char *protocol; /* authenticationProtocol */
    const char *incoming; /* incomingTokenType */
};
MH_MUST_CHECK mh_status sim_emit_signin(struct sim *S, const struct sim_signin *si);
const char *sim_err_reason(int code);
const char *sim_logon_error(int code);
/* What a kind of device presents: OS, browser, clientAppUsed, user agent,
 * first-party client id/name, Exchange ClientInfoString, trust type, and the
 * OS/BrowserType of UAL DeviceProperties. */
struct sim_devinfo {
    const char *os, *browser, *client_used, *ua, *client_id, *client_name, *client_info, *trust,
        *ual_os, *ual_browser;
};
const struct sim_devinfo *sim_devinfo(int kind);

/* ual.c */
struct sim_mia_item {
    uint64_t serial;
    sim_addr from;
    uint8_t folder;
};
struct sim_mia {
    mh_time t;
    uint32_t tenant;
    const struct sim_user *owner;
    const struct sim_user *actor; /* NULL: app-only (app) */
    const struct sim_app *app;    /* app-only accessor */
    int logon_type;               /* 0 owner, 1 admin, 2 delegated */
    const char *app_id, *client_app_id, *client_info, *client_app_name;
    const struct sim_ip *ip;
    const uint8_t *session;   /* SessionId, NULL: absent */
    const uint8_t *token;     /* sign-in id behind the token, NULL: no AppAccessContext */
    const char *uti_override; /* forged token id text */
    mh_time issued;           /* AppAccessContext.IssuedAtTime */
    const uint8_t *token_oid; /* TokenObjectId, NULL: actor's oid */
    bool sync;
    bool throttled;
    int sync_folder;
    const struct sim_mia_item *items;
    uint32_t nitems;
    uint32_t op_count;
    uint64_t h; /* per-record random bits (ids) */
};
MH_MUST_CHECK mh_status sim_emit_mia(struct sim *S, const struct sim_mia *m);
struct sim_send {
    mh_time t;
    const struct sim_user *u;
    const struct sim_msg *msg;
    const char *subject;
    const char *app_id, *client_info;
    const struct sim_ip *ip;
    const uint8_t *session, *token;
    mh_time issued;
    uint64_t h;
};
MH_MUST_CHECK mh_status sim_emit_send(struct sim *S, const struct sim_send *s);
struct sim_rule {
    mh_time t;
    const struct sim_user *u;
    const struct sim_ip *ip;
    const char *name;
    const char *params[8][2];
    uint32_t nparams;
    uint64_t h;
};
MH_MUST_CHECK mh_status sim_emit_inbox_rule(struct sim *S, const struct sim_rule *r);
/* UAL STS logon twin of an interactive sign-in (called by signin.c). */
MH_MUST_CHECK mh_status sim_emit_sts(struct sim *S, const struct sim_signin *si);

/* audit.c */
struct sim_mprop {
    const char *name, *oldv, *newv; /* values as they appear in AuditLogs (JSON text) */
};
struct sim_target_res {
    const char *type; /* "ServicePrincipal", "Application", "User", "Role" */
    const uint8_t *id;
    const char *name;
    const char *upn;
};
struct sim_dirop {
    mh_time t;
    uint32_t tenant;
    const char *activity; /* AuditLogs form (no trailing dot) */
    const char *category;
    const char *op_type;
    const uint8_t *corr;
    uint64_t h;
    const struct sim_user *by_user;
    const struct sim_app *by_app;
    const char *by_app_name; /* e.g. "Managed Service Identity" when by_app is NULL */
    const uint8_t *by_app_spid;
    const struct sim_ip *ip; /* NULL: none */
    struct sim_target_res tgt[2];
    uint32_t ntgt;
    struct sim_mprop mp[12];
    uint32_t nmp;
    const char *user_agent;
    const char *ext_category; /* UAL extendedAuditEventCategory */
};
MH_MUST_CHECK mh_status sim_emit_dirop(struct sim *S, const struct sim_dirop *d);

/* trace.c */
MH_MUST_CHECK mh_status sim_trace_open(struct sim *S);
MH_MUST_CHECK mh_status sim_emit_trace(struct sim *S, const struct sim_msg *m, const char *subject,
                                       const struct sim_ip *client_ip, int direction,
                                       const uint32_t *extra, uint32_t nextra);

/* ------------------------------------------------- mail (mail.c, text.c) */

MH_MUST_CHECK mh_status sim_mail_init(struct sim *S);
void sim_mail_fini(struct sim *S);
/* Allocate a message slot with a fresh serial. */
struct sim_msg *sim_msg_new(struct sim *S, mh_time t, sim_addr from, uint64_t body_seed);
static inline uint32_t sim_msg_slot(const struct sim *S, const struct sim_msg *m)
{
    return (uint32_t)(m - S->msgs);
}
/* Compose, spool, deliver (internal mailboxes), trace. direction: 0 internal
 * or outbound (sender in a tenant), 1 inbound. client_ip: sender's address. */
MH_MUST_CHECK mh_status sim_mail_send(struct sim *S, struct sim_msg *m,
                                      const struct sim_ip *client_ip);
/* Same, plus envelope-only recipients (mailing-list subscribers). */
MH_MUST_CHECK mh_status sim_mail_send_extra(struct sim *S, struct sim_msg *m,
                                            const struct sim_ip *client_ip, const uint32_t *extra,
                                            uint32_t nextra);
/* Subject of a message into S->tmp (NUL-terminated), returns it. */
const char *sim_msg_subject(struct sim *S, const struct sim_msg *m);
MH_MUST_CHECK mh_status sim_mail_day_flush(struct sim *S);
/* The message a ring entry refers to, or NULL when evicted. */
const struct sim_msg *sim_ring_msg(const struct sim *S, const struct sim_ring *r);

/* text.c: names, subjects and bodies */
extern const uint16_t sim_ntopics;
void sim_text_subject(struct sim_tx *t, uint16_t topic, uint64_t seed);
/* Plain-text body paragraphs (no greeting/signature). */
void sim_text_body(struct sim_tx *t, uint16_t topic, uint64_t seed);
uint16_t sim_text_topic(struct sim_rng *r, int dept);
const char *sim_text_title(int dept, struct sim_rng *r, bool exec);
/* Free-form word for names of things (apps, partners). */
const char *sim_text_word(struct sim_rng *r, int set);
void sim_text_attachment(struct sim_rng *r, const char **name, const char **ctype);

/* secrets.c */
enum sim_secret_kind { SK_AWS = 0, SK_GITHUB, SK_SLACK, SK_AZURE, SK_GENERIC, SK__N };
extern const char *const sim_secret_rule[SK__N];
/* Write the planted-secret paragraph for kind into t; the secret value
 * (the string gitleaks extracts) is copied into secret (>= 256 bytes). */
void sim_secret_text(struct sim_rng *r, int kind, const char *context, struct sim_tx *t,
                     char *secret);
double sim_entropy(const char *s, size_t n);

/* ------------------------------------------------- life and attacks */

MH_MUST_CHECK mh_status sim_life_init(struct sim *S);
MH_MUST_CHECK mh_status sim_life_plan_day(struct sim *S, uint32_t day);
MH_MUST_CHECK mh_status sim_life_event(struct sim *S, const struct sim_ev *ev);
/* Current (or fresh) Exchange token of a device at time t; may emit a
 * non-interactive sign-in (only at t). */
/* App-only sign-in (service principal or managed identity) at t from ip
 * (NULL: the app's own address); on success the app's token is replaced. */
MH_MUST_CHECK mh_status sim_app_signin(struct sim *S, struct sim_app *a, mh_time t,
                                       const struct sim_ip *ip, int err, struct sim_rng *r);
MH_MUST_CHECK mh_status sim_life_token(struct sim *S, struct sim_user *u, struct sim_device *d,
                                       const struct sim_ip *ip, mh_time t, uint64_t h);

MH_MUST_CHECK mh_status sim_mb_init(struct sim *S);
void sim_mb_fini(struct sim *S);
MH_MUST_CHECK mh_status sim_mb_plan_day(struct sim *S, uint32_t day);
MH_MUST_CHECK mh_status sim_mb_event(struct sim *S, const struct sim_ev *ev);
MH_MUST_CHECK mh_status sim_storm_init(struct sim *S);
void sim_storm_fini(struct sim *S);
MH_MUST_CHECK mh_status sim_storm_plan_day(struct sim *S, uint32_t day);
MH_MUST_CHECK mh_status sim_storm_event(struct sim *S, const struct sim_ev *ev);

/* scheduler (sim.c) */
MH_MUST_CHECK mh_status sim_schedule(struct sim *S, const struct sim_ev *ev);

/* ------------------------------------------------- truth (truth.c) */

MH_MUST_CHECK mh_status sim_truth_init(struct sim *S);
void sim_truth_fini(struct sim *S);
void sim_truth_define_step(struct sim *S, int scen, int step, const char *name, const char *desc);
static inline void sim_tag(struct sim *S, int scen, int step)
{
    S->tag_scen = scen;
    S->tag_step = step;
}
static inline void sim_untag(struct sim *S)
{
    S->tag_scen = S->tag_step = -1;
}
/* Called by out.c for every record written while tagged. */
MH_MUST_CHECK mh_status sim_truth_ref(struct sim *S, uint32_t file, uint64_t record, mh_time t);
MH_MUST_CHECK mh_status sim_truth_ip(struct sim *S, const struct sim_ip *ip);
MH_MUST_CHECK mh_status sim_truth_user(struct sim *S, const char *upn);
MH_MUST_CHECK mh_status sim_truth_app(struct sim *S, const uint8_t app_id[16]);
/* Target mailboxes: index their full history from now on. */
MH_MUST_CHECK mh_status sim_target_add(struct sim *S, uint32_t user);
MH_MUST_CHECK mh_status sim_target_record(struct sim *S, uint32_t user, const struct sim_msg *m,
                                          uint8_t folder, mh_time t);
struct sim_target *sim_target_of(struct sim *S, uint32_t user);
MH_MUST_CHECK mh_status sim_secret_add(struct sim *S, uint64_t serial, sim_addr from,
                                       const char *rule, const char *secret);
MH_MUST_CHECK mh_status sim_truth_write(struct sim *S);

#endif
