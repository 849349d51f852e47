/*
 * correlate/incident.c -- incident grouping, D7 scoring, JSON and summaries (see incident.h)
 *
 * Pipeline: match + correlate -> [incidents] -> scope.
 *
 * Data model: alerts are copied as small records of interned string ids
 * (struct ialert). Build:
 *   1. key occurrences (kind, value, alert, time) for every linking entity;
 *      shared keys (more than max_key_users distinct users, or marked by an
 *      MH_KEY_SHARED link: a learnt office egress) are removed unless a high
 *      alert holds them, and shared IPs are hidden from the entity lists;
 *   2. sorted by (kind, value, time): consecutive occurrences of one key at
 *      most `window` apart are unioned (union-find over alerts);
 *   3. links: each endpoint is the key's alert nearest the link time (within
 *      the window) or, for a key without alerts, a bridge node of its own;
 *   4. groups (union-find roots) become incidents: steps, score, level
 *      (stages and escalation, see incident.h), entities, id (incident_id:
 *      SHA-256 over the members' evidence -- rule, file key, time, record,
 *      offset, entities -- so not over where the files lie); the kept ones
 *      are sorted.
 * Example: office 198.51.100.7 (40 users sign in there) is marked shared by
 * session.c; admin A's consent grant and admin B's role add from it stay two
 * incidents, each one stage (change) and so at most medium.
 * Everything is a function of the SET of alerts and links: sorts use total
 * orders on string text, never on interning order or pointers.
 * Memory: bounded by MH_INCIDENT_MAX_ALERTS / MH_INCIDENT_MAX_LINKS.
 * Threading: one thread at a time.
 */
#include "correlate/incident.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "base/sha256.h"

void mh_incident_config_from(const struct mh_detector_config *dc, struct mh_incident_config *out)
{
    memset(out, 0, sizeof *out);
    out->window = dc->d7_window;
    out->alert_score = dc->d7_alert_score;
    out->min_score = dc->incident_min_score;
    out->max_key_users = dc->incident_max_key_users;
    out->min_stages = dc->incident_min_stages;
    memcpy(out->weights, dc->weights, sizeof out->weights);
}

struct ialert {
    uint32_t rule, title, det; /* interned; det 0 = no catalogue item */
    uint32_t fname;            /* interned file name (Sigma alerts), 0 = none */
    uint32_t key;              /* interned file key (name below its input root), 0 = none */
    uint32_t ent[MH_ALERT_ENTITIES];
    uint8_t level;
    uint8_t stage; /* STAGE_* of the alert, 0 = none (stage_of) */
    uint16_t item; /* catalogue number of det ("D9" -> 9), 0 = none */
    mh_time time;
    struct mh_source_ref ref;
};

struct ilink {
    uint8_t ak, bk;
    bool identity;
    uint32_t a, b;
    mh_time t;
};

struct occ {
    uint8_t kind;
    uint32_t val;
    uint32_t alert;
    mh_time t;
};

struct inc_int {
    struct mh_incident pub;
    size_t step0, ent0[MH_INC__LISTS];
    bool chain;      /* its medium+ alerts span incident.min_stages stages */
    bool escalated;  /* confirmed access + collection: critical */
};

/* Stages of the chain (see incident.h "Level"). */
enum { STAGE_ACCESS = 1, STAGE_CHANGE = 2, STAGE_COLLECT = 4 };

/* "D9" -> 9; anything else -> 0. */
static int catalogue_number(const char *d)
{
    if (d[0] != 'D') return 0;
    int v = 0;
    for (const char *p = d + 1; *p; p++) {
        if (*p < '0' || *p > '9' || v > 100) return 0;
        v = v * 10 + (*p - '0');
    }
    return v;
}

/*
 * Stage of an alert of catalogue item v and rule id r in the chain: ACCESS
 * (getting in: D1-D4 spray and weak auth, D14 forged token, D15 session
 * anomaly, sign-ins from an attacker's address), CHANGE (arming the tenant:
 * D5-D8 credentials, permissions, roles, apps; D16/D17 inbox rules and audit
 * tampering), COLLECT (reading mail: D9-D13, mail read or sent from an
 * attacker's session or address). 0: no stage.
 */
static uint8_t stage_of(int v, const char *r)
{
    if ((v >= 1 && v <= 4) || v == 14 || v == 15) return STAGE_ACCESS;
    if ((v >= 5 && v <= 8) || v == 16 || v == 17) return STAGE_CHANGE;
    if (v >= 9 && v <= 13) return STAGE_COLLECT;
    if (v == 0 && strncmp(r, "mh.ctx.", 7) == 0)
        return strstr(r, "signin") ? STAGE_ACCESS : STAGE_COLLECT;
    return 0;
}

struct mh_incidents {
    struct mh_incident_config cfg;
    const struct mh_appset *fp;
    struct mh_map strs;
    struct ialert *alerts;
    size_t nalerts, cap_alerts;
    struct ilink *links;
    size_t nlinks, cap_links;
    uint64_t dropped;
    bool built;
    /* results */
    struct inc_int *incs;
    size_t nincs, cap_incs;
    struct mh_incident_step *steps;
    size_t nsteps, cap_steps;
    struct mh_slice *ents;
    size_t nents, cap_ents;
    uint8_t *hidden_ip; /* during build: per string id, 1 = a shared IP (not listed) */
};

mh_status mh_incidents_new(const struct mh_incident_config *cfg, const struct mh_appset *first_party,
                           mh_incidents **out)
{
    mh_incidents *b = mh_calloc(1, sizeof *b);
    if (!b) return MH_ENOMEM;
    b->cfg = *cfg;
    b->fp = first_party;
    mh_map_init(&b->strs, MH_DET_MAX_STRINGS, false);
    *out = b;
    return MH_OK;
}

void mh_incidents_free(mh_incidents *b)
{
    if (!b) return;
    mh_map_fini(&b->strs);
    mh_free(b->alerts);
    mh_free(b->links);
    mh_free(b->incs);
    mh_free(b->steps);
    mh_free(b->ents);
    mh_free(b);
}

/* Intern (lower-cased when lower); 0 for empty. MH_ELIMIT at the cap. */
static mh_status intern(mh_incidents *b, struct mh_slice s, bool lower, uint32_t *out)
{
    char buf[512];
    *out = 0;
    s = mh_slice_trim(s);
    if (!s.len) return MH_OK;
    if (lower && s.len <= sizeof buf) {
        for (size_t i = 0; i < s.len; i++) buf[i] = (char)mh_ascii_lower((unsigned char)s.ptr[i]);
        s = mh_slice_make(buf, s.len);
    }
    struct mh_map_entry *e;
    MH_TRY(mh_map_put(&b->strs, s.ptr, s.len, &e, NULL));
    *out = (uint32_t)(e - b->strs.entries) + 1;
    return MH_OK;
}

static struct mh_slice str(const mh_incidents *b, uint32_t id)
{
    return id ? b->strs.entries[id - 1].key : MH_SLICE_NULL;
}

static const char *cstr(const mh_incidents *b, uint32_t id)
{
    return id ? b->strs.entries[id - 1].key.ptr : ""; /* map keys are NUL-terminated */
}

static bool lower_entity(int e)
{
    return e == MH_ENT_USER || e == MH_ENT_MAILBOX || e == MH_ENT_APP_ID ||
           e == MH_ENT_CLIENT_APP_ID || e == MH_ENT_SESSION_ID;
}

mh_status mh_incidents_add(mh_incidents *b, const struct mh_finding *a)
{
    if (b->built || a->level <= MH_LEVEL_INFORMATIONAL) return MH_OK;
    mh_status st;
    MH_DET_GROW(b->alerts, b->cap_alerts, b->nalerts, MH_INCIDENT_MAX_ALERTS, st);
    if (st == MH_ELIMIT) {
        b->dropped++;
        return MH_OK;
    }
    if (st) return st;
    struct ialert x;
    memset(&x, 0, sizeof x);
    char dbuf[8];
    const char *det = mh_finding_detection(a, dbuf);
    st = intern(b, mh_slice_cstr(a->rule_id ? a->rule_id : ""), false, &x.rule);
    if (!st) st = intern(b, mh_slice_cstr(a->title ? a->title : ""), false, &x.title);
    if (!st && det) st = intern(b, mh_slice_cstr(det), false, &x.det);
    if (!st && a->file_name) st = intern(b, mh_slice_cstr(a->file_name), false, &x.fname);
    if (!st && a->file_key) st = intern(b, mh_slice_cstr(a->file_key), false, &x.key);
    for (int i = 0; i < MH_ALERT_ENTITIES && !st; i++)
        st = intern(b, a->ent[i], lower_entity(i), &x.ent[i]);
    if (st == MH_ELIMIT) {
        b->dropped++;
        return MH_OK;
    }
    if (st) return st;
    x.level = (uint8_t)a->level;
    x.item = (uint16_t)catalogue_number(det ? det : "");
    x.stage = stage_of(x.item, a->rule_id ? a->rule_id : "");
    x.time = a->time;
    x.ref = a->ref;
    b->alerts[b->nalerts++] = x;
    return MH_OK;
}

mh_status mh_incidents_add_detection(void *builder, const struct mh_detection *d)
{
    return mh_incidents_add(builder, &d->finding);
}

mh_status mh_incidents_add_link(void *builder, const struct mh_link *l)
{
    mh_incidents *b = builder;
    if (b->built) return MH_OK;
    mh_status st;
    MH_DET_GROW(b->links, b->cap_links, b->nlinks, MH_INCIDENT_MAX_LINKS, st);
    if (st == MH_ELIMIT) {
        b->dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (l->a_kind >= MH_KEY__COUNT || l->b_kind >= MH_KEY__COUNT) return MH_OK;
    struct ilink x = {(uint8_t)l->a_kind, (uint8_t)l->b_kind, l->identity, 0, 0, l->time};
    bool la = l->a_kind != MH_KEY_IP && l->a_kind != MH_KEY_TOKEN;
    bool lb = l->b_kind != MH_KEY_IP && l->b_kind != MH_KEY_TOKEN;
    st = intern(b, l->a, la, &x.a);
    if (!st) st = intern(b, l->b, lb, &x.b);
    if (st == MH_ELIMIT) {
        b->dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (!x.a || !x.b) return MH_OK;
    b->links[b->nlinks++] = x;
    return MH_OK;
}

/* ---- union-find ---- */

static uint32_t find(uint32_t *p, uint32_t x)
{
    while (p[x] != x) {
        p[x] = p[p[x]];
        x = p[x];
    }
    return x;
}

static void unite(uint32_t *p, uint32_t a, uint32_t b)
{
    a = find(p, a);
    b = find(p, b);
    if (a == b) return;
    if (a < b) p[b] = a; /* smallest index is the root: deterministic */
    else p[a] = b;
}

#define CMP(a, b)                                                                                  \
    do {                                                                                           \
        if ((a) != (b)) return (a) < (b) ? -1 : 1;                                                 \
    } while (0)

static int cmp_occ(const void *pa, const void *pb, void *arg)
{
    const struct occ *a = pa, *b = pb;
    const mh_incidents *m = arg;
    CMP(a->kind, b->kind);
    int c = mh_slice_cmp(str(m, a->val), str(m, b->val));
    if (c) return c;
    CMP(a->t, b->t);
    CMP(a->alert, b->alert);
    return 0;
}

/* Order on alerts by identity (for ids and steps): by what the id hashes
 * (incident_id) and det and level, never by where the file lies or the
 * reader's file index; alerts equal in all of those (the same evidence read
 * twice) hash alike, so the id does not depend on their order; the file
 * name last only so that steps show the same file whatever the add order. */
static int cmp_alert(const mh_incidents *m, const struct ialert *a, const struct ialert *b)
{
    CMP(a->time, b->time);
    int c = strcmp(cstr(m, a->det), cstr(m, b->det));
    if (c) return c;
    c = strcmp(cstr(m, a->rule), cstr(m, b->rule));
    if (c) return c;
    c = strcmp(cstr(m, a->key), cstr(m, b->key));
    if (c) return c;
    CMP(a->ref.record, b->ref.record);
    CMP(a->ref.offset, b->ref.offset);
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) {
        c = mh_slice_cmp(str(m, a->ent[i]), str(m, b->ent[i]));
        if (c) return c;
    }
    CMP(a->level, b->level);
    return strcmp(cstr(m, a->fname), cstr(m, b->fname));
}

struct member {
    uint32_t root, alert;
};

static int cmp_member(const void *pa, const void *pb, void *arg)
{
    const struct member *a = pa, *b = pb;
    const mh_incidents *m = arg;
    CMP(a->root, b->root);
    int c = cmp_alert(m, &m->alerts[a->alert], &m->alerts[b->alert]);
    if (c) return c;
    CMP(a->alert, b->alert);
    return 0;
}

/* Occurrences of linking keys of alert i. */
static mh_status add_occs(mh_incidents *b, uint32_t i, struct occ **v, size_t *n, size_t *cap)
{
    static const struct {
        int ent;
        uint8_t kind;
    } map[] = {{MH_ENT_USER, MH_KEY_USER},         {MH_ENT_IP, MH_KEY_IP},
               {MH_ENT_APP_ID, MH_KEY_APP},        {MH_ENT_CLIENT_APP_ID, MH_KEY_APP},
               {MH_ENT_SESSION_ID, MH_KEY_SESSION}, {MH_ENT_TOKEN_ID, MH_KEY_TOKEN}};
    const struct ialert *a = &b->alerts[i];
    for (size_t k = 0; k < sizeof map / sizeof map[0]; k++) {
        uint32_t val = a->ent[map[k].ent];
        if (!val) continue;
        if (map[k].kind == MH_KEY_APP && b->fp && mh_appset_has(b->fp, str(b, val))) continue;
        if (MH_GROW(*v, *cap, *n + 1, 256, SIZE_MAX) != MH_OK) return MH_ENOMEM;
        (*v)[(*n)++] = (struct occ){map[k].kind, val, i, a->time};
    }
    return MH_OK;
}

/* Group boundaries: for key group g, occurrences [start, end). */
struct kgroup {
    uint8_t kind;
    uint32_t val;
    size_t start, end;
    bool shared;
    uint32_t bridge; /* node index for a key without alerts (0 = none yet) */
};

static int cmp_kgroup_key(const struct kgroup *g, uint8_t kind, struct mh_slice v,
                          const mh_incidents *m)
{
    CMP(g->kind, kind);
    return mh_slice_cmp(str(m, g->val), v);
}

static struct kgroup *find_group(struct kgroup *g, size_t ng, uint8_t kind, uint32_t val,
                                 const mh_incidents *m)
{
    size_t lo = 0, hi = ng;
    struct mh_slice v = str(m, val);
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = cmp_kgroup_key(&g[mid], kind, v, m);
        if (c == 0) return &g[mid];
        if (c < 0) lo = mid + 1;
        else hi = mid;
    }
    return NULL;
}

/* Alert of group g nearest to t within window; UINT32_MAX if none. */
static uint32_t nearest(const struct occ *o, const struct kgroup *g, mh_time t, mh_time window)
{
    size_t lo = g->start, hi = g->end;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (o[mid].t < t) lo = mid + 1;
        else hi = mid;
    }
    uint32_t best = UINT32_MAX;
    mh_time bd = 0;
    for (size_t k = lo > g->start ? lo - 1 : lo; k < g->end && k <= lo; k++) {
        mh_time d = o[k].t > t ? o[k].t - t : t - o[k].t;
        if (d <= window && (best == UINT32_MAX || d < bd)) {
            best = o[k].alert;
            bd = d;
        }
    }
    return best;
}

static mh_status push_slice(mh_incidents *b, struct mh_slice s)
{
    if (MH_GROW(b->ents, b->cap_ents, b->nents + 1, 256, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    b->ents[b->nents++] = s;
    return MH_OK;
}

static int cmp_slice_q(const void *a, const void *b)
{
    return mh_slice_cmp(*(const struct mh_slice *)a, *(const struct mh_slice *)b);
}

/*
 * Addresses and sessions that describe a user rather than the attacker, left
 * out of the "ips" and "sessions" lists (they still join, score and make
 * steps; a stronger alert naming the same value lists it):
 *  - a weak anomaly (a low D1-D4 or D15 alert: the victim's own travel, a
 *    legacy client, one attempt on a disabled account), in any incident;
 *  - in an incident at high or above, an ACCESS or CHANGE alert below high
 *    (a forged-token victim's own forwarding rule to a colleague is made from
 *    her home; a sprayed user's own MFA login from a new network is a medium
 *    D2 success). The attacker's addresses come from the high alerts, the
 *    token checks (D14) and the collection follow-ups (D9-D13, mh.ctx.*),
 *    listed at any level.
 */
static bool user_side(const struct ialert *a, enum mh_level inc_level)
{
    int v = a->item;
    if (a->level < MH_LEVEL_MEDIUM && ((v >= 1 && v <= 4) || v == 15)) return true;
    /* v == 0: mh.ctx.* (or no stage at all) */
    if (inc_level < MH_LEVEL_HIGH || a->level >= MH_LEVEL_HIGH || v == 0 || v == 14) return false;
    return a->stage == STAGE_ACCESS || a->stage == STAGE_CHANGE;
}

/* Entity list of one incident: distinct sorted values, capped. */
static mh_status build_list(mh_incidents *b, struct inc_int *inc, int list, const struct member *mm,
                            size_t n)
{
    static const int ents[MH_INC__LISTS][2] = {
        [MH_INC_USERS] = {MH_ENT_USER, -1},       [MH_INC_IPS] = {MH_ENT_IP, -1},
        [MH_INC_APPS] = {MH_ENT_APP_ID, MH_ENT_CLIENT_APP_ID},
        [MH_INC_SESSIONS] = {MH_ENT_SESSION_ID, -1}, [MH_INC_TOKENS] = {MH_ENT_TOKEN_ID, -1},
        [MH_INC_MAILBOXES] = {MH_ENT_MAILBOX, -1}};
    size_t start = b->nents;
    for (size_t i = 0; i < n; i++) {
        const struct ialert *a = &b->alerts[mm[i].alert];
        if ((list == MH_INC_IPS || list == MH_INC_SESSIONS) && user_side(a, inc->pub.level))
            continue;
        for (int k = 0; k < 2; k++) {
            if (ents[list][k] < 0) continue;
            uint32_t v = a->ent[ents[list][k]];
            if (!v) continue;
            if (list == MH_INC_APPS && b->fp && mh_appset_has(b->fp, str(b, v))) continue;
            if (list == MH_INC_IPS && b->hidden_ip && b->hidden_ip[v]) continue;
            MH_TRY(push_slice(b, str(b, v)));
        }
    }
    size_t cnt = b->nents - start;
    if (cnt) qsort(b->ents + start, cnt, sizeof *b->ents, cmp_slice_q);
    size_t o = 0;
    for (size_t i = 0; i < cnt; i++)
        if (!o || mh_slice_cmp(b->ents[start + o - 1], b->ents[start + i]) != 0)
            b->ents[start + o++] = b->ents[start + i];
    size_t keep = o > MH_INCIDENT_MAX_ENTITIES ? MH_INCIDENT_MAX_ENTITIES : o;
    inc->ent0[list] = start;
    inc->pub.nlist[list] = keep;
    inc->pub.more[list] = o - keep;
    b->nents = start + keep;
    return MH_OK;
}

static int popcount8(uint8_t x)
{
    int n = 0;
    for (; x; x &= (uint8_t)(x - 1)) n++;
    return n;
}

static void put_u64(uint8_t *p, uint64_t v)
{
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* A string into the id digest, length first so that field boundaries are
 * unambiguous ("ab" + "c" never digests as "a" + "bc"). */
static mh_status digest_str(struct mh_sha256 *h, struct mh_slice s)
{
    uint8_t len[8];
    put_u64(len, s.len);
    MH_TRY(mh_sha256_update(h, len, sizeof len, NULL));
    return mh_sha256_update(h, s.ptr, s.len, NULL);
}

/*
 * The incident id: "INC-" + the first 8 bytes of SHA-256, in hex, over its
 * members in cmp_alert order, each as (rule id, file key, time, record,
 * offset, entities), strings length-prefixed, integers 8 bytes little-endian,
 * after a version tag. Only the evidence counts: the file key is the file's
 * name below the input root it was found under (ingest/reader.h), not the
 * path as given nor the reader's file index, so the same logs hunted from
 * another folder keep their ids. A collision needs two different member
 * lists with equal digests: about 2^-64 per pair.
 * MH_ENOMEM, MH_ECRYPTO (OpenSSL).
 */
static mh_status incident_id(const mh_incidents *b, const struct member *mm, size_t n,
                             char id[24])
{
    static const char tag[] = "mailhound incident id v2";
    struct mh_sha256 h = {0};
    uint8_t md[MH_SHA256_LEN];
    mh_status st = MH_OK;
    MH_CHECK(mh_sha256_init(&h, NULL));
    MH_CHECK(mh_sha256_update(&h, tag, sizeof tag, NULL));
    for (size_t i = 0; i < n; i++) {
        const struct ialert *a = &b->alerts[mm[i].alert];
        uint8_t num[24];
        MH_CHECK(digest_str(&h, str(b, a->rule)));
        MH_CHECK(digest_str(&h, str(b, a->key)));
        put_u64(num, (uint64_t)a->time);
        put_u64(num + 8, a->ref.record);
        put_u64(num + 16, a->ref.offset);
        MH_CHECK(mh_sha256_update(&h, num, sizeof num, NULL));
        for (int e = 0; e < MH_ALERT_ENTITIES; e++) MH_CHECK(digest_str(&h, str(b, a->ent[e])));
    }
    MH_CHECK(mh_sha256_final(&h, md, NULL));
    uint64_t v = 0;
    for (int i = 0; i < 8; i++) v = v << 8 | md[i];
    snprintf(id, 24, "INC-%016llx", (unsigned long long)v);
out:
    mh_sha256_fini(&h);
    return st;
}

static enum mh_level score_level(const mh_incidents *b, int32_t score, enum mh_level max)
{
    enum mh_level l = max;
    if (score >= 2 * b->cfg.alert_score && l < MH_LEVEL_CRITICAL) l = MH_LEVEL_CRITICAL;
    else if (score >= b->cfg.alert_score && l < MH_LEVEL_HIGH) l = MH_LEVEL_HIGH;
    return l;
}

static mh_status build_incident(mh_incidents *b, const struct member *mm, size_t n)
{
    struct inc_int inc;
    memset(&inc, 0, sizeof inc);
    uint8_t seen[MH_DET_NWEIGHTS] = {0}; /* 1: only low alerts, 2: a medium+ alert */
    enum mh_level max = MH_LEVEL_INFORMATIONAL;
    bool access_high = false, collected = false;
    uint8_t stages = 0; /* STAGE_* bits of the medium+ alerts */
    inc.pub.first_seen = inc.pub.last_seen = MH_TIME_NONE;
    for (size_t i = 0; i < n; i++) {
        const struct ialert *a = &b->alerts[mm[i].alert];
        if (a->level > max) max = (enum mh_level)a->level;
        if (a->level >= MH_LEVEL_MEDIUM) stages |= a->stage;
        if (a->stage == STAGE_ACCESS && a->level >= MH_LEVEL_HIGH) access_high = true;
        if (a->stage == STAGE_COLLECT && a->level >= MH_LEVEL_MEDIUM) collected = true;
        if (a->time != MH_TIME_NONE) {
            if (inc.pub.first_seen == MH_TIME_NONE || a->time < inc.pub.first_seen)
                inc.pub.first_seen = a->time;
            if (inc.pub.last_seen == MH_TIME_NONE || a->time > inc.pub.last_seen)
                inc.pub.last_seen = a->time;
        }
        int v = a->item;
        if (v > 0 && v < MH_DET_NWEIGHTS) {
            uint8_t w = a->level >= MH_LEVEL_MEDIUM ? 2 : 1;
            if (w > seen[v]) seen[v] = w;
        }
    }
    int32_t score = 0, strong = 0; /* strong: items with a medium+ alert only */
    for (int v = 1; v < MH_DET_NWEIGHTS; v++) {
        score += seen[v] == 2 ? b->cfg.weights[v] : seen[v] == 1 ? b->cfg.weights[v] / 2 : 0;
        strong += seen[v] == 2 ? b->cfg.weights[v] : 0;
    }
    /* the score raises the level only for a chain across stages: admin routine
       (grants, role members, credentials) or a backup app's reading alone never
       reaches high by adding up */
    inc.chain = popcount8(stages) >= (int)b->cfg.min_stages;
    enum mh_level lvl = inc.chain ? score_level(b, score, max) : max;
    /* an attacker confirmed at the door (a high access alert: spray success,
       forged token) who then read mail is the worst case: critical, and the
       score is at least the critical threshold so the order agrees */
    if (access_high && collected) {
        inc.escalated = true;
        lvl = MH_LEVEL_CRITICAL;
        if (score < 2 * b->cfg.alert_score) score = 2 * b->cfg.alert_score;
    }
    /* weak (low) attributes add to a chain but never make an incident alone */
    if (strong < b->cfg.min_score && lvl < MH_LEVEL_HIGH) return MH_OK;
    MH_TRY(incident_id(b, mm, n, inc.pub.id));
    inc.pub.score = score;
    inc.pub.level = lvl;
    inc.pub.nalerts = n;
    /* steps: one per rule id, at its earliest alert (members are in alert order) */
    inc.step0 = b->nsteps;
    for (size_t i = 0; i < n; i++) {
        const struct ialert *a = &b->alerts[mm[i].alert];
        size_t k = inc.step0;
        for (; k < b->nsteps; k++)
            if (strcmp(b->steps[k].rule_id, cstr(b, a->rule)) == 0) break;
        if (k < b->nsteps) {
            b->steps[k].alerts++;
            continue;
        }
        if (MH_GROW(b->steps, b->cap_steps, b->nsteps + 1, 64, SIZE_MAX) != MH_OK)
            return MH_ENOMEM;
        const char *d = cstr(b, a->det);
        b->steps[b->nsteps++] = (struct mh_incident_step){
            d[0] ? d : "other", cstr(b, a->rule), cstr(b, a->title), (enum mh_level)a->level,
            a->time, a->ref, a->fname ? cstr(b, a->fname) : NULL, 1};
    }
    inc.pub.nsteps = b->nsteps - inc.step0;
    for (int l = 0; l < MH_INC__LISTS; l++) MH_TRY(build_list(b, &inc, l, mm, n));
    if (MH_GROW(b->incs, b->cap_incs, b->nincs + 1, 16, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    b->incs[b->nincs++] = inc;
    return MH_OK;
}

static int cmp_inc(const void *pa, const void *pb)
{
    const struct inc_int *a = pa, *b = pb;
    if (a->pub.score != b->pub.score) return a->pub.score > b->pub.score ? -1 : 1;
    if (a->pub.level != b->pub.level) return a->pub.level > b->pub.level ? -1 : 1;
    CMP(a->pub.first_seen, b->pub.first_seen);
    return strcmp(a->pub.id, b->pub.id);
}

mh_status mh_incidents_build(mh_incidents *b)
{
    mh_status st = MH_OK;
    struct occ *occ = NULL;
    size_t nocc = 0, cap_occ = 0;
    struct kgroup *groups = NULL;
    size_t ngroups = 0;
    uint32_t *parent = NULL;
    struct member *mm = NULL;
    if (b->built) return MH_OK;
    b->built = true;
    size_t n = b->nalerts;
    for (uint32_t i = 0; i < n; i++) MH_CHECK(add_occs(b, i, &occ, &nocc, &cap_occ));
    if (nocc) qsort_r(occ, nocc, sizeof *occ, cmp_occ, b);
    /* key groups */
    groups = mh_calloc(nocc + 1, sizeof *groups);
    if (!groups) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < nocc;) {
        size_t j = i;
        while (j < nocc && occ[j].kind == occ[i].kind && occ[j].val == occ[i].val) j++;
        groups[ngroups++] = (struct kgroup){occ[i].kind, occ[i].val, i, j, false, 0};
        i = j;
    }
    /* shared keys: IPs and apps seen with too many distinct users in alerts,
       and keys the detectors learnt to be shared (office egress: MH_KEY_SHARED) */
    for (size_t l = 0; l < b->nlinks; l++) {
        const struct ilink *x = &b->links[l];
        if (x->ak != MH_KEY_SHARED && x->bk != MH_KEY_SHARED) continue;
        struct kgroup *g = x->ak == MH_KEY_SHARED ? find_group(groups, ngroups, x->bk, x->b, b)
                                                  : find_group(groups, ngroups, x->ak, x->a, b);
        if (g) g->shared = true;
    }
    for (size_t g = 0; g < ngroups; g++) {
        if (groups[g].kind != MH_KEY_IP && groups[g].kind != MH_KEY_APP) continue;
        uint32_t users[64];
        size_t nu = 0;
        bool high = false;
        for (size_t k = groups[g].start; k < groups[g].end; k++) {
            if (b->alerts[occ[k].alert].level >= MH_LEVEL_HIGH) high = true;
            uint32_t u = b->alerts[occ[k].alert].ent[MH_ENT_USER];
            if (!u || nu > b->cfg.max_key_users) continue;
            size_t x = 0;
            while (x < nu && users[x] != u) x++;
            if (x < nu) continue;
            if (nu < sizeof users / sizeof users[0]) users[nu++] = u;
        }
        if (nu > b->cfg.max_key_users) groups[g].shared = true;
        /* a key in a high finding is the attacker's, however many victims it has */
        if (high) groups[g].shared = false;
    }
    /* shared IPs are not the incident's entities either (investigate scopes by them) */
    b->hidden_ip = mh_calloc(b->strs.n + 1, 1);
    if (!b->hidden_ip) MH_CHECK(MH_ENOMEM);
    for (size_t g = 0; g < ngroups; g++)
        if (groups[g].shared && groups[g].kind == MH_KEY_IP) b->hidden_ip[groups[g].val] = 1;
    /* nodes: alerts, then one bridge per link key without alerts */
    size_t nnodes = n + 2 * b->nlinks;
    parent = mh_malloc((nnodes ? nnodes : 1) * sizeof *parent);
    if (!parent) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < nnodes; i++) parent[i] = (uint32_t)i;
    for (size_t g = 0; g < ngroups; g++) {
        if (groups[g].shared) continue;
        for (size_t k = groups[g].start + 1; k < groups[g].end; k++)
            if (occ[k].t - occ[k - 1].t <= b->cfg.window) unite(parent, occ[k - 1].alert, occ[k].alert);
    }
    /* links (sorted by text for a deterministic bridge numbering) */
    uint32_t next_bridge = (uint32_t)n;
    struct mh_map bridges;
    mh_map_init(&bridges, 0, false);
    for (size_t l = 0; l < b->nlinks && !st; l++) {
        const struct ilink *x = &b->links[l];
        if (x->ak == MH_KEY_SHARED || x->bk == MH_KEY_SHARED) continue; /* a marker, not a link */
        uint32_t node[2];
        bool ok = true;
        for (int side = 0; side < 2 && ok; side++) {
            uint8_t kind = side ? x->bk : x->ak;
            uint32_t val = side ? x->b : x->a;
            if (kind == MH_KEY_APP && b->fp && mh_appset_has(b->fp, str(b, val))) {
                ok = false;
                break;
            }
            struct kgroup *g = find_group(groups, ngroups, kind, val, b);
            if (g && g->shared) {
                ok = false;
            } else if (g) {
                /* an identity is timeless: any alert of the key will do */
                uint32_t a = nearest(occ, g, x->t, x->identity ? INT64_MAX : b->cfg.window);
                if (a == UINT32_MAX) ok = false;
                else node[side] = a;
            } else {
                uint64_t key[2] = {kind, val};
                struct mh_map_entry *e;
                bool created;
                st = mh_map_put(&bridges, (const char *)key, sizeof key, &e, &created);
                if (st) break;
                if (created) e->value = next_bridge++;
                node[side] = (uint32_t)e->value;
            }
        }
        if (!st && ok) unite(parent, node[0], node[1]);
    }
    mh_map_fini(&bridges);
    if (st) goto out;
    /* groups of alerts */
    mm = mh_malloc((n ? n : 1) * sizeof *mm);
    if (!mm) MH_CHECK(MH_ENOMEM);
    for (uint32_t i = 0; i < n; i++) mm[i] = (struct member){find(parent, i), i};
    /* roots are alert indexes (smallest wins), which depend on add order: re-key
       each group by its smallest member in alert order before sorting */
    if (n) {
        qsort_r(mm, n, sizeof *mm, cmp_member, b);
        for (size_t i = 0; i < n;) {
            size_t j = i;
            uint32_t best = mm[i].alert;
            while (j < n && mm[j].root == mm[i].root) {
                if (cmp_alert(b, &b->alerts[mm[j].alert], &b->alerts[best]) < 0) best = mm[j].alert;
                j++;
            }
            for (size_t k = i; k < j; k++) mm[k].root = best;
            i = j;
        }
        for (size_t i = 0; i < n;) {
            size_t j = i;
            while (j < n && mm[j].root == mm[i].root) j++;
            MH_CHECK(build_incident(b, mm + i, j - i));
            i = j;
        }
    }
    if (b->nincs) qsort(b->incs, b->nincs, sizeof *b->incs, cmp_inc);
    for (size_t i = 0; i < b->nincs; i++) {
        struct inc_int *inc = &b->incs[i];
        inc->pub.steps = b->steps + inc->step0;
        for (int l = 0; l < MH_INC__LISTS; l++) inc->pub.list[l] = b->ents + inc->ent0[l];
    }
out:
    mh_free(b->hidden_ip);
    b->hidden_ip = NULL;
    mh_free(occ);
    mh_free(groups);
    mh_free(parent);
    mh_free(mm);
    return st;
}

size_t mh_incidents_count(const mh_incidents *b)
{
    return b->nincs;
}

const struct mh_incident *mh_incidents_get(const mh_incidents *b, size_t i)
{
    return i < b->nincs ? &b->incs[i].pub : NULL;
}

uint64_t mh_incidents_dropped(const mh_incidents *b)
{
    return b->dropped;
}

static const char *const list_names[MH_INC__LISTS] = {"users",    "ips",    "apps",
                                                      "sessions", "tokens", "mailboxes"};

mh_status mh_incidents_write_json(const mh_incidents *b, struct mh_buf *out)
{
    struct mh_jw w;
    mh_jw_init(&w, out);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "incidents");
    mh_jw_arr_begin(&w);
    for (size_t i = 0; i < b->nincs; i++) {
        const struct mh_incident *inc = &b->incs[i].pub;
        mh_jw_obj_begin(&w);
        mh_jw_key(&w, "id");
        mh_jw_str(&w, inc->id);
        mh_jw_key(&w, "score");
        mh_jw_int(&w, inc->score);
        mh_jw_key(&w, "level");
        mh_jw_str(&w, mh_level_name(inc->level));
        mh_jw_key(&w, "first_seen");
        mh_jw_time(&w, inc->first_seen);
        mh_jw_key(&w, "last_seen");
        mh_jw_time(&w, inc->last_seen);
        mh_jw_key(&w, "entities");
        mh_jw_obj_begin(&w);
        for (int l = 0; l < MH_INC__LISTS; l++) {
            mh_jw_key(&w, list_names[l]);
            mh_jw_arr_begin(&w);
            for (size_t k = 0; k < inc->nlist[l]; k++)
                mh_jw_strn(&w, inc->list[l][k].ptr, inc->list[l][k].len);
            mh_jw_arr_end(&w);
        }
        mh_jw_obj_end(&w);
        mh_jw_key(&w, "steps");
        mh_jw_arr_begin(&w);
        for (size_t k = 0; k < inc->nsteps; k++) {
            const struct mh_incident_step *s = &inc->steps[k];
            mh_jw_obj_begin(&w);
            mh_jw_key(&w, "detection");
            mh_jw_str(&w, s->detection);
            mh_jw_key(&w, "time");
            mh_jw_time(&w, s->time);
            mh_jw_key(&w, "alert");
            mh_jw_str(&w, s->rule_id);
            mh_jw_obj_end(&w);
        }
        mh_jw_arr_end(&w);
        mh_jw_obj_end(&w);
    }
    mh_jw_arr_end(&w);
    mh_jw_obj_end(&w);
    return mh_jw_status(&w);
}

/* "a, b, c and 4 more" */
static mh_status list_text(struct mh_buf *out, const struct mh_incident *inc, int l)
{
    size_t n = inc->nlist[l], show = n < 3 ? n : 3;
    size_t rest = n - show + inc->more[l];
    for (size_t i = 0; i < show; i++) {
        const char *sep = i == 0 ? "" : (i + 1 == show && !rest) ? " and " : ", ";
        MH_TRY(mh_buf_printf(out, "%s%.*s", sep, (int)inc->list[l][i].len, inc->list[l][i].ptr));
    }
    if (rest) MH_TRY(mh_buf_printf(out, " and %zu more", rest));
    return MH_OK;
}

mh_status mh_incident_summary(const mh_incidents *b, size_t i, struct mh_buf *out)
{
    static const char *const nouns[MH_INC__LISTS][2] = {
        {"user", "users"},       {"IP address", "IP addresses"}, {"application", "applications"},
        {"session", "sessions"}, {"token", "tokens"},            {"mailbox", "mailboxes"}};
    const struct mh_incident *inc = mh_incidents_get(b, i);
    if (!inc) return MH_EINVAL;
    char t0[32], t1[32];
    mh_time_format_sec(inc->first_seen, t0);
    mh_time_format_sec(inc->last_seen, t1);
    MH_TRY(mh_buf_printf(out, "%s (%s, score %d): between %s and %s, %zu alert%s of %zu kind%s",
                         inc->id, mh_level_name(inc->level), inc->score, t0, t1, inc->nalerts,
                         inc->nalerts == 1 ? "" : "s", inc->nsteps, inc->nsteps == 1 ? "" : "s"));
    int parts = 0, total = 0;
    for (int l = 0; l < MH_INC__LISTS; l++)
        if (l != MH_INC_TOKENS && inc->nlist[l]) total++;
    for (int l = 0; l < MH_INC__LISTS; l++) {
        if (l == MH_INC_TOKENS || !inc->nlist[l]) continue;
        size_t cnt = inc->nlist[l] + inc->more[l];
        const char *sep = parts == 0 ? " involving " : (parts + 1 == total) ? " and " : ", ";
        MH_TRY(mh_buf_printf(out, "%s%zu %s (", sep, cnt, nouns[l][cnt == 1 ? 0 : 1]));
        MH_TRY(list_text(out, inc, l));
        MH_TRY(mh_buf_puts(out, ")"));
        parts++;
    }
    MH_TRY(mh_buf_puts(out, ". What happened, in order:"));
    for (size_t k = 0; k < inc->nsteps; k++) {
        const struct mh_incident_step *s = &inc->steps[k];
        char ts[32];
        mh_time_format_sec(s->time, ts);
        MH_TRY(mh_buf_printf(out, "%s %s %s (%s", k ? ";" : "", ts,
                             s->title[0] ? s->title : s->rule_id, s->detection));
        if (s->alerts > 1) MH_TRY(mh_buf_printf(out, ", %u alerts", s->alerts));
        MH_TRY(mh_buf_puts(out, ")"));
    }
    MH_TRY(mh_buf_puts(out, "."));
    if (b->incs[i].escalated)
        MH_TRY(mh_buf_puts(out, " Mail was read after an access alert at level high: critical."));
    else if (inc->score >= b->cfg.alert_score && b->incs[i].chain)
        MH_TRY(mh_buf_printf(out, " The chain scores %d, at or above the alert score %d.",
                             inc->score, b->cfg.alert_score));
    return MH_OK;
}
