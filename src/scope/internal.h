/*
 * scope/internal.h -- the data model shared by the files of src/scope/
 *
 * Not for other stages: scope/scope.h is the interface.
 *
 * Everything is indices into arrays owned by struct mh_scope, so the arrays
 * can grow (realloc) without invalidating references:
 *   strs   interned byte strings (message ids, folder paths, file names,
 *          record ids, subjects, addresses); id = entry index of an mh_map;
 *   keys   context keys, "<kind><canonical value>" (kind: one letter, below),
 *          each with the incidents that LIST it (given) and that LEARNED it;
 *          every field of a kept record is a key index, so learning a key
 *          later reaches records read before;
 *   incs   incidents with their windows and keys;
 *   recs   candidate mailbox records (compact), items = their message ids;
 *   matches (record, incident, level) after the decision (decide.c);
 *   mbxs / msgs / evs / tws / syncs: the result (exfil.c), written by output.c;
 *   traces / rcpts: message-trace rows of messages the store lacks;
 *   grants / auds / aws: the app-wide basis (appwide.c): application
 *          permissions that read every mailbox granted in the logs, the
 *          mailbox universe with its MailItemsAccessed observations, and
 *          the (incident, app) results.
 *
 * Files: scope.c (life cycle, strings, keys, incidents), feed.c (events ->
 * candidates, trace rows, shared-IP observations), decide.c (the context
 * rule and the learning fixpoint), exfil.c (bases -> messages), appwide.c
 * (grants, audit coverage, the app-wide basis), output.c (scope.json),
 * folder.c (folder names).
 */
#ifndef MH_SCOPE_INTERNAL_H
#define MH_SCOPE_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/hash.h"
#include "base/time.h"
#include "ingest/json.h"
#include "mailhound/limits.h"
#include "scope/scope.h"

#define SC_NONE UINT32_MAX
#define SC_TIME_MIN INT64_MIN
#define SC_TIME_MAX INT64_MAX

/* Key kinds: the first byte of a key. */
#define SC_K_USER 'u'    /* principal (UPN / user id), lower-case */
#define SC_K_MBX 'm'     /* victim mailbox listed by an incident, lower-case */
#define SC_K_IP 'i'      /* canonical IP */
#define SC_K_APP 'a'     /* app id / client app id (GUID lower-case) */
#define SC_K_SESSION 's' /* session id (GUID lower-case) */
#define SC_K_TOKEN 't'   /* sign-in id a UTI decodes to, or the opaque UTI */
#define SC_K_CLIENT 'c'  /* ClientInfoString as written */

struct sc_list {
    uint32_t *v;
    uint32_t n, cap;
};

struct sc_key {
    struct sc_list given;   /* incidents listing the key (ascending) */
    struct sc_list learned; /* incidents that learned it (ascending) */
    uint32_t outside;       /* IP keys: principals seen outside every window (saturates);
                               session keys: seen on a listed IP outside every window */
};

/* Match levels, weakest first (docs/scope.md §2). Direct evidence (a listed
 * key, an unshared listed IP) ranks above learned keys, so evidence names the
 * record's own reason rather than a key it taught. */
enum sc_level {
    SC_L_NONE = 0,
    SC_L_USER,      /* a principal of the incident on another mailbox */
    SC_L_IPCLIENT,  /* shared IP + learned ClientInfoString */
    SC_L_TOKEN_L,   /* learned token */
    SC_L_SESSION_L, /* learned session */
    SC_L_IP,        /* unshared IP */
    SC_L_APP,       /* AppId listed */
    SC_L_CLIENTAPP, /* ClientAppId listed */
    SC_L_TOKEN,     /* listed token */
    SC_L_SESSION,   /* listed session */
    SC_L__N
};
extern const char *const mh_scope_level_name[SC_L__N];

struct sc_inc {
    const char *id, *level; /* arena copies */
    int64_t score;
    mh_time first, last;    /* as given (MH_TIME_NONE = open) */
    mh_time wstart, wend;   /* window; SC_TIME_MIN / SC_TIME_MAX when open */
    struct sc_list given;   /* key indices listed (input order, deduplicated) */
    struct sc_list learned; /* key indices learned */
    struct sc_list ignored; /* app keys ignored as first-party */
    uint64_t by_level[SC_L__N];
    uint64_t records;       /* records matched */
};

/* Fields of a kept record (key indices). */
enum sc_field {
    SC_F_USER = 0, /* 'u' of UserId */
    SC_F_MBX,      /* 'm' of MailboxOwnerUPN */
    SC_F_MBXUSER,  /* 'u' of MailboxOwnerUPN */
    SC_F_IP,
    SC_F_SESSION,
    SC_F_TOKEN,
    SC_F_APP,
    SC_F_CAPP,
    SC_F_CLIENT,
    SC_F__N
};

enum sc_op { SC_OP_BIND = 0, SC_OP_SYNC, SC_OP_SEND };

struct sc_rec {
    mh_time t;
    uint64_t record, line, offset;
    uint32_t file, fkey, rid, opname; /* strings (fkey: the file's relative name) */
    uint32_t f[SC_F__N];        /* keys or SC_NONE */
    uint32_t opcount;           /* OperationCount (0 when absent) */
    uint32_t item0, nitems;     /* range in items */
    uint8_t op;                 /* enum sc_op */
    uint8_t throttled;
    uint8_t matched;            /* matched by some incident */
};

struct sc_item {
    uint32_t msgid;  /* string (normalized, with <>) */
    uint32_t folder; /* string (log path) or SC_NONE */
};

struct sc_match {
    uint32_t rec, inc;
    uint8_t level;
};

/* Bases of a message (bit = 1 << basis). */
enum sc_basis { SC_B_BIND = 0, SC_B_SYNC, SC_B_THROTTLE, SC_B_SENT, SC_B__N };
extern const char *const mh_scope_basis_name[SC_B__N];

struct sc_ev {
    uint32_t rec;    /* evidence record */
    uint32_t inc;    /* incident (SC_NONE: none, e.g. an out-of-context throttle) */
    uint32_t folder; /* log folder path, SC_NONE */
    uint32_t next;   /* next evidence of the same message, SC_NONE */
    uint8_t basis, level;
    uint8_t how;     /* sync/throttle: enum sc_how */
};

/* How a sync or throttle basis reached the store (docs/scope.md §5). */
enum sc_how {
    SC_H_FOLDER = 0,  /* folder found by name */
    SC_H_SPLIT,       /* flattened mailbox: Inbox / Sent Items told apart by From */
    SC_H_WHOLE,       /* the whole mailbox (root, or a folder a flattened store cannot tell) */
    SC_H_NOTFOUND,    /* folder not in the store */
    SC_H_NONMAIL,     /* calendar / contacts ...: no messages */
    SC_H_NOSTORE,     /* mailbox not in the store */
    SC_H__N
};
extern const char *const mh_scope_how_name[SC_H__N];

struct sc_msg {
    uint32_t mbx;           /* index into mbxs */
    uint32_t msgid;         /* string */
    uint32_t ev_first, ev_last, nev, omitted;
    uint32_t trace;         /* index into traces, SC_NONE */
    const struct mh_mail_msg *m; /* store message, NULL when absent */
    uint32_t loc;           /* location of m in this mailbox's store mailboxes, else SC_NONE */
    uint8_t bases;          /* bit set of enum sc_basis */
};

struct sc_mbx {
    uint32_t addr;          /* string: lower-case address */
    uint32_t *smb;          /* store mailbox indices */
    uint32_t nsmb;
    bool flattened;         /* every stored message of it is in a root folder */
    uint64_t partial, unlisted, bind_records, sync_records, send_records;
    uint64_t nmsgs;
};

struct sc_tw {              /* throttle window */
    uint32_t mbx, rec, inc; /* inc: the incident that put it in context, SC_NONE */
    mh_time start, end;
    uint8_t how;            /* 0 out of context, 1 record in context, 2 near, 3 mailbox listed */
    uint32_t nmsgs;
};

struct sc_sync {
    uint32_t mbx, rec, inc, folder;
    uint8_t how;            /* enum sc_how */
    uint32_t nmsgs;
};

struct sc_trace {
    uint32_t msgid, sender, subject; /* strings (SC_NONE), from the least row having them */
    mh_time t;                       /* earliest row time */
    uint32_t rows;
    uint32_t rc_first, rc_last, nrc;
    uint32_t file, fkey;             /* the least row by (file name, record), its file key */
    uint64_t record, offset;
};

struct sc_rcpt {
    uint32_t addr, status, next;
    uint32_t file;   /* the row the status comes from (the least by file name, record) */
    uint64_t record;
};

/* Application permissions that read every mailbox (docs/scope.md §3, app-wide). */
enum sc_perm { SC_P_FULL_ACCESS = 0, SC_P_MAIL_READWRITE, SC_P_MAIL_READ, SC_P__N };
extern const char *const mh_scope_perm_name[SC_P__N];

struct sc_grant {           /* the earliest copy of one (app, permission) grant */
    uint32_t app;           /* SC_K_APP key of the granted app id; SC_NONE until a
                               consent naming only the service principal is resolved */
    uint32_t sp;            /* string: service principal object id (consent), SC_NONE */
    mh_time t;
    uint64_t record, line, offset;
    uint32_t file, fkey, rid, opname; /* strings, as struct sc_rec */
    uint8_t perm;           /* enum sc_perm */
};

struct sc_aud {             /* a mailbox of the app-wide universe */
    uint32_t entry;         /* its aud_ix entry, whose key is the lower-case address */
    uint32_t thr;           /* first throttled record of it (chain: aud_thr_next), SC_NONE */
};

/* Classes of a mailbox in an app-wide result. */
enum sc_awc { SC_AW_TOUCHED = 0, SC_AW_AUDITED, SC_AW_UNAUDITED, SC_AW__N };

struct sc_aw {              /* app-wide result of one (incident, app) */
    uint32_t inc, grant;
    mh_time start, end;     /* the incident window, from the grant on */
    struct sc_list touched; /* aud indices, ascending */
    uint64_t n[SC_AW__N];
};

struct mh_scope {
    struct mh_scope_opts o;
    struct mh_arena arena;   /* incident strings */
    struct mh_map strs;      /* interned strings */
    struct mh_map keymap;    /* key text -> index into keys */
    struct sc_key *keys;
    size_t nkeys, capkeys;
    struct sc_inc *incs;
    size_t nincs, capincs;
    bool fed;                /* the first event arrived (no more incidents) */
    mh_time *win;            /* union of the incident windows: sorted, disjoint [start, end] */
    size_t nwin;
    bool finished;

    struct mh_map rids;      /* record ids of kept records (de-duplication) */
    struct mh_map pairs;     /* (IP key, principal key) seen outside windows */
    struct sc_rec *recs;
    size_t nrecs, caprecs;
    struct sc_item *items;
    size_t nitems, capitems;
    struct sc_match *matches;
    size_t nmatches, capmatches;

    struct mh_map trace_ix;  /* message id -> index into traces */
    struct sc_trace *traces;
    size_t ntraces, captraces;
    struct sc_rcpt *rcpts;
    size_t nrcpts, caprcpts;

    struct mh_map mbx_ix;    /* lower-case address -> index into mbxs */
    struct sc_mbx *mbxs;
    size_t nmbxs, capmbxs;
    struct mh_map msg_ix;    /* mailbox index + message id -> index into msgs */
    struct sc_msg *msgs;
    size_t nmsgs, capmsgs;
    struct sc_ev *evs;
    size_t nevs, capevs;
    struct sc_tw *tws;
    size_t ntws, captws;
    struct sc_sync *syncs;
    size_t nsyncs, capsyncs;

    /* store view (exfil.c): locations per store mailbox, owners */
    uint32_t *loc_first, *loc_next; /* per store mailbox: first location; per location: next */
    struct mh_map store_owner;      /* lower-case owner/name -> first store mailbox + 1 chain */
    uint32_t *smb_next;             /* next store mailbox with the same lower-case key */

    uint32_t last_file;             /* file index of the previous event, its string */
    uint32_t last_file_str;
    uint32_t last_key_str;          /* and its key (relative name) */
    struct mh_buf tmp, tmp2;        /* scratch */
    /* app-wide basis (appwide.c) */
    struct mh_map grant_ix;         /* (app or SP string, permission) -> index into grants */
    struct sc_grant *grants;
    size_t ngrants, capgrants;
    struct mh_map sp_app;           /* SP object id -> app key (from app role assignments) */
    struct mh_map aud_ix;           /* lower-case address -> index into auds */
    struct sc_aud *auds;
    size_t nauds, capauds;
    struct mh_map aud_obs;          /* (aud, incident) -> last MailItemsAccessed time in the window */
    uint32_t *aud_thr_next;         /* per record: next throttled record of the same mailbox */
    uint64_t aw_dropped;            /* app-wide entries lost to a cap: added to st.dropped only
                                       when the logs hold a grant (else the output is unchanged) */
    struct sc_aw *aws;
    size_t naws, capaws;

    struct mh_arena scratch;        /* per event (decoded strings) */
    struct mh_jdoc nested;          /* Folders held in a JSON string (Log Analytics) */
    struct mh_scope_stats st;
};

/* scope.c */
MH_MUST_CHECK mh_status mh_scope_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max);
/* A growable array of struct mh_scope: its pointer, count, capacity, element size, cap. */
struct sc_array {
    void **p;
    size_t *n, *cap;
    size_t elem, max;
};
#define SC_ARRAY(s, arr, n, cap, max) ((struct sc_array){(void **)&(s)->arr, &(s)->n, &(s)->cap, sizeof *(s)->arr, (max)})
/* Find key k in map m, whose values index array a, or append a zeroed
 * element for it (*created). *idx = SC_NONE when the map or the array is at
 * its cap (counted in *dropped; a key the array could not take stays
 * unusable). MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_slot(struct mh_map *m, const void *k, size_t kn,
                                      struct sc_array a, uint32_t *idx, bool *created,
                                      uint64_t *dropped);
/* Address of app-wide universe mailbox aud (lower-case; the aud_ix key). */
struct mh_slice mh_scope_aud_name(const mh_scope *s, uint32_t aud);
/* t + d, saturating at SC_TIME_MAX (d >= 0). */
mh_time mh_scope_time_add(mh_time t, mh_time d);
/* Intern bytes; *id = SC_NONE when the string cap is reached (counted). */
MH_MUST_CHECK mh_status mh_scope_str(mh_scope *s, const char *p, size_t n, uint32_t *id);
static inline struct mh_slice mh_scope_str_get(const mh_scope *s, uint32_t id)
{
    return s->strs.entries[id].key;
}
/* Key of kind k and canonical value v (created when absent); SC_NONE at the cap. */
MH_MUST_CHECK mh_status mh_scope_key(mh_scope *s, char kind, struct mh_slice v, uint32_t *id);
/* Existing key or SC_NONE. */
uint32_t mh_scope_key_find(const mh_scope *s, char kind, struct mh_slice v);
static inline struct mh_slice mh_scope_key_value(const mh_scope *s, uint32_t k)
{
    struct mh_slice e = s->keymap.entries[k].key;
    return mh_slice_make(e.ptr + 1, e.len - 1);
}
static inline char mh_scope_key_kind(const mh_scope *s, uint32_t k)
{
    return s->keymap.entries[k].key.ptr[0];
}
bool mh_scope_list_has(const struct sc_list *l, uint32_t v);
/* (file a, record a) < (file b, record b), files compared by name. */
bool mh_scope_ref_less(const mh_scope *s, uint32_t fa, uint64_t ra, uint32_t fb, uint64_t rb);
/* Insert v keeping the list ascending; *added tells whether it was new. */
MH_MUST_CHECK mh_status mh_scope_list_add(struct sc_list *l, uint32_t v, bool *added);
/* Canonical text of an entity value of kind k (trimmed; users and mailboxes
 * lower-case, IPs canonical, GUIDs lower-case, UTIs decoded to the sign-in
 * id). *out points into v or into buf (cleared first). MH_ENOMEM, MH_ELIMIT. */
MH_MUST_CHECK mh_status mh_scope_canon(char kind, struct mh_slice v, struct mh_buf *buf,
                                       struct mh_slice *out);

/* feed.c */
/* The file string and file key string of ev's file (cached per file). */
MH_MUST_CHECK mh_status mh_scope_file_str(mh_scope *s, const struct mh_event *ev, const char *name,
                                          const char *key, uint32_t *id, uint32_t *kid);
/* The first string or number at path (empty when absent or at a limit). */
MH_MUST_CHECK mh_status mh_scope_field(struct mh_event *ev, const char *path, struct mh_slice *out);
/* The first non-empty trimmed value among paths (NULL-terminated), else empty. */
MH_MUST_CHECK mh_status mh_scope_first_field(struct mh_event *ev, const char *const *paths,
                                             struct mh_slice *out);
/* t lies in the union of the incident windows. */
bool mh_scope_in_windows(const mh_scope *s, mh_time t);

/* appwide.c */
/* A directory record (Entra audit, UAL AzureActiveDirectory): keep it when it
 * grants an application permission of enum sc_perm. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_grant_feed(mh_scope *s, struct mh_event *ev, const char *file_name,
                                            const char *file_key);
/* A MailItemsAccessed record: its mailbox joins the universe, its time the
 * audit observation of every incident window holding it. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_audit_feed(mh_scope *s, struct mh_event *ev);
/* After decide and the store view: the (incident, app) results. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_scope_appwide(mh_scope *s);
/* Class of mailbox aud in result w (enum sc_awc). */
enum sc_awc mh_scope_aw_class(const mh_scope *s, const struct sc_aw *w, uint32_t aud);
void mh_scope_appwide_free(mh_scope *s);

/* decide.c */
MH_MUST_CHECK mh_status mh_scope_decide(mh_scope *s);
/* exfil.c */
MH_MUST_CHECK mh_status mh_scope_collect(mh_scope *s);

#endif
