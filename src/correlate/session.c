/*
 * correlate/session.c -- D15 session anomalies
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents.
 *
 * Two signals (detections.md §7 D15, Microsoft-Analyzer-Suite
 * Suspicious-Sessions.sql and Find-AiTMSuspiciousUserLogin.sql):
 *
 * 1. One session, several places. Per sign-in session id (sign-ins of every
 *    stream and UAL logons), the distinct countries (location.countryOrRegion
 *    or the Azure Monitor `location` code) and autonomous systems
 *    (autonomousSystemNumber) it was seen from, each with its earliest
 *    sighting. At finish a session with more than d15.max_countries countries
 *    or more than d15.max_asns ASNs -> mh.d15.session_multi_location; the
 *    evidence is the sighting that introduced the first extra value (by
 *    time, so the verdict and the evidence do not depend on input order).
 *    Travel keeps a session across countries and mobile clients hop between
 *    carriers (the false-positive traps: the simulated tenant produced ~1.5
 *    two-ASN sessions per user and day), so one extra country or extra ASNs
 *    alone are low; two or more extra countries medium. d15.max_asns
 *    defaults to 3 (the catalogue says 1).
 *
 * 2. AiTM login pair. Per user, successful interactive logins (interactive
 *    sign-ins with error code 0, UAL UserLoggedIn), the most recent
 *    MH_D15_LOGINS_PER_USER kept sorted by time. Two consecutive logins from
 *    different IPs within d15.aitm_gap (30 s) -> mh.d15.aitm_login_pair:
 *    medium; low when the two addresses are of different families (dual-stack
 *    v4/v6 clients are the common benign case). One detection per later login.
 *
 * 3. Shared egress (for incident grouping, not a detection). Per IP, the
 *    distinct users whose user sign-ins (interactive, non-interactive, UAL
 *    logon) from it succeeded (error code 0) and failed (a code of
 *    d2.failure_codes, as D1; MFA prompts and other codes are not counted). An IP from which at
 *    least incident.egress_users (5) users succeeded, and at least as many
 *    succeeded as failed (Sentinel's NAT rule, as D1), is an office / NAT
 *    egress (in the simulated tenants every other address has one or two
 *    users; the smallest office of a 300-user run five): at finish it gets a timeless MH_KEY_SHARED marker link, and the
 *    incident builder joins nothing through it (two admins at one office are
 *    not one actor). Learnt from the data, never from a tenant description.
 *    A sprayer's address has many failing accounts and few successes; an
 *    attacker address in a high alert still links (incident.c).
 *
 * Example: session 7cf1... seen from DE (AS 3320) at 09:00 and from NG
 * (AS 37148) at 09:40 -> multi-location, evidence = the 09:40 sign-in.
 *
 * Limits: MH_D15_MAX_SESSIONS, MH_D15_MAX_VALUES_PER_SESSION (saturates: the
 * session still alerts on what it holds), MH_D15_MAX_USERS,
 * MH_D15_LOGINS_PER_USER (oldest evicted), MH_EGRESS_MAX_PAIRS and
 * MH_EGRESS_MAX_IPS (beyond: not counted, so an IP can only fail to be
 * recognised as shared). No state persisted (sessions are short-lived; the
 * egress tally is per run). Not thread-safe.
 */
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"

static const char *const tags_multi[] = {"attack.defense-evasion", "attack.t1550.004",
                                         "attack.initial-access", "attack.t1078.004",
                                         "mailhound.d15"};
static const struct mh_det_rule rule_multi = {
    "mh.d15.session_multi_location", "One session used from several countries or networks",
    "D15",
    "A sign-in session id seen from more countries or autonomous systems than allowed: a "
    "stolen session cookie or refresh token replayed elsewhere (or travel)",
    tags_multi, 5};
static const char *const tags_aitm[] = {"attack.credential-access", "attack.t1557",
                                        "attack.t1539", "mailhound.d15"};
static const struct mh_det_rule rule_aitm = {
    "mh.d15.aitm_login_pair", "Logins of one user from two addresses seconds apart", "D15",
    "Consecutive successful logins of one user from different IP addresses within the AiTM gap "
    "(adversary-in-the-middle proxy relaying the victim's login)",
    tags_aitm, 4};

enum { DIM_COUNTRY = 0, DIM_ASN = 1 };

struct sval {
    uint32_t value, ip, next; /* next: index + 1 in vals, 0 = end */
    uint8_t dim;
    mh_time t;
    struct mh_source_ref ref;
};

struct sess {
    uint32_t session, user;
    uint32_t head;   /* index + 1 of the first value */
    uint8_t n[2];
    bool saturated;
};

struct login {
    mh_time t;
    uint32_t ip, session;
    struct mh_source_ref ref;
};

struct user {
    uint32_t user;
    uint8_t n;
    struct login l[MH_D15_LOGINS_PER_USER];
};

struct pairhit {
    uint32_t user, ip, other_ip, session;
    mh_time t, other_t;
    struct mh_source_ref ref;
    bool cross_family;
};

struct egress {
    uint32_t ip;
    uint32_t ok_users, failed_users; /* distinct users with a success / a failure */
};

struct session_det {
    struct mh_map sess_idx, user_idx, hit_idx;
    struct mh_map egress_idx;       /* ip id -> index in egress */
    struct mh_map egress_pairs;     /* {ip, user} -> bit 1 success seen, bit 2 failure seen */
    struct egress *egress;
    size_t negress, cap_egress;
    struct sess *sess;
    size_t nsess, cap_sess;
    struct sval *vals;
    size_t nvals, cap_vals;
    struct user *users;
    size_t nusers, cap_users;
    struct pairhit *hits;
    size_t nhits, cap_hits;
};

static mh_status sd_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct session_det *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    mh_map_init(&s->sess_idx, MH_D15_MAX_SESSIONS, false);
    mh_map_init(&s->user_idx, MH_D15_MAX_USERS, false);
    mh_map_init(&s->hit_idx, MH_D15_MAX_USERS, false);
    mh_map_init(&s->egress_idx, MH_EGRESS_MAX_IPS, false);
    mh_map_init(&s->egress_pairs, MH_EGRESS_MAX_PAIRS, false);
    *self = s;
    return MH_OK;
}

static void sd_destroy(void *self)
{
    struct session_det *s = self;
    mh_map_fini(&s->sess_idx);
    mh_map_fini(&s->user_idx);
    mh_map_fini(&s->hit_idx);
    mh_map_fini(&s->egress_idx);
    mh_map_fini(&s->egress_pairs);
    mh_free(s->egress);
    mh_free(s->sess);
    mh_free(s->vals);
    mh_free(s->users);
    mh_free(s->hits);
    mh_free(s);
}

static mh_status add_value(struct mh_det_ctx *cx, struct session_det *s, struct sess *ss,
                           uint8_t dim, uint32_t value, uint32_t ip, struct mh_event *ev)
{
    struct mh_source_ref ref = {ev->rec ? ev->rec->file : 0, ev->rec ? ev->rec->number : 0,
                                ev->rec ? ev->rec->offset : 0};
    uint32_t total = 0;
    for (uint32_t i = ss->head; i; i = s->vals[i - 1].next, total++) {
        struct sval *v = &s->vals[i - 1];
        if (v->dim != dim || v->value != value) continue;
        if (ev->time < v->t) { /* keep the earliest sighting */
            v->t = ev->time;
            v->ip = ip;
            v->ref = ref;
        }
        return MH_OK;
    }
    if (total >= MH_D15_MAX_VALUES_PER_SESSION) {
        ss->saturated = true;
        return MH_OK;
    }
    mh_status st;
    MH_DET_GROW(s->vals, s->cap_vals, s->nvals, (size_t)MH_D15_MAX_SESSIONS * 4, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    s->vals[s->nvals] = (struct sval){value, ip, ss->head, dim, ev->time, ref};
    ss->head = (uint32_t)++s->nvals;
    ss->n[dim]++;
    return MH_OK;
}

static mh_status feed_location(struct session_det *s, struct mh_det_ctx *cx, struct mh_event *ev,
                               struct mh_slice sess)
{
    static const char *const cc_paths[] = {"properties.location.countryOrRegion",
                                           "location.countryOrRegion",
                                           "LocationDetails.countryOrRegion", "location",
                                           "Location", NULL};
    struct mh_slice cc, asn, user, ip;
    MH_TRY(mh_det_field(ev, cc_paths, &cc));
    MH_TRY(mh_det_field(ev, mh_det_asn_paths, &asn));
    if (!cc.len && !asn.len) return MH_OK;
    uint32_t isess = mh_det_intern(cx, sess);
    if (!isess) return MH_OK;
    struct sess *ss;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &s->sess_idx, &isess, sizeof isess, s->sess, s->cap_sess, s->nsess,
                MH_D15_MAX_SESSIONS, ss, &created, st);
    if (st || !ss) return st;
    if (created) ss->session = isess;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    if (!ss->user) ss->user = mh_det_intern_lower(cx, user);
    uint32_t iip = mh_det_intern(cx, ip);
    if (cc.len && cc.len <= 8) {
        char up[8];
        for (size_t i = 0; i < cc.len; i++)
            up[i] = (char)(cc.ptr[i] >= 'a' && cc.ptr[i] <= 'z' ? cc.ptr[i] - 32 : cc.ptr[i]);
        uint32_t v = mh_det_intern(cx, mh_slice_make(up, cc.len));
        if (v) MH_TRY(add_value(cx, s, ss, DIM_COUNTRY, v, iip, ev));
    }
    if (asn.len && !mh_slice_eq_cstr(asn, "0")) {
        uint32_t v = mh_det_intern(cx, asn);
        if (v) MH_TRY(add_value(cx, s, ss, DIM_ASN, v, iip, ev));
    }
    return MH_OK;
}

static bool same_family(struct mh_slice a, struct mh_slice b)
{
    bool a6 = memchr(a.ptr, ':', a.len) != NULL, b6 = memchr(b.ptr, ':', b.len) != NULL;
    return a6 == b6;
}

static mh_status record_hit(struct mh_det_ctx *cx, struct session_det *s, uint32_t user,
                            const struct login *later, const struct login *earlier)
{
    uint64_t key[2] = {(uint64_t)user << 32 | later->ref.file, later->ref.record};
    struct pairhit *h;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &s->hit_idx, key, sizeof key, s->hits, s->cap_hits, s->nhits, MH_D15_MAX_USERS,
                h, &created, st);
    if (st || !created) return st;
    *h = (struct pairhit){
        user,      later->ip, earlier->ip, later->session, later->t, earlier->t, later->ref,
        !same_family(mh_det_str(cx, later->ip), mh_det_str(cx, earlier->ip))};
    return MH_OK;
}

static mh_status check_pair(struct mh_det_ctx *cx, struct session_det *s, uint32_t user,
                            const struct login *a, const struct login *b)
{
    /* a earlier than (or as early as) b */
    if (a->ip == b->ip || !a->ip || !b->ip) return MH_OK;
    if (b->t - a->t > cx->cfg.d15_aitm_gap) return MH_OK;
    return record_hit(cx, s, user, b, a);
}

static mh_status feed_login(struct session_det *s, struct mh_det_ctx *cx, struct mh_event *ev)
{
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    if (!has || code != 0) return MH_OK;
    struct mh_slice user, ip, sess;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    if (!user.len || !ip.len) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_SESSION_ID, &sess));
    uint32_t iu = mh_det_intern_lower(cx, user), iip = mh_det_intern(cx, ip);
    if (!iu || !iip) return MH_OK;
    struct user *u;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &s->user_idx, &iu, sizeof iu, s->users, s->cap_users, s->nusers,
                MH_D15_MAX_USERS, u, &created, st);
    if (st || !u) return st;
    if (created) u->user = iu;
    struct login l = {ev->time, iip, mh_det_intern(cx, sess),
                      {ev->rec ? ev->rec->file : 0, ev->rec ? ev->rec->number : 0,
                       ev->rec ? ev->rec->offset : 0}};
    /* insertion point (sorted by time) */
    size_t pos = u->n;
    while (pos > 0 && u->l[pos - 1].t > l.t) pos--;
    if (u->n == MH_D15_LOGINS_PER_USER) {
        if (pos == 0) return MH_OK; /* older than everything kept: evicted at once */
        memmove(&u->l[0], &u->l[1], (pos - 1) * sizeof u->l[0]);
        pos--;
    } else {
        memmove(&u->l[pos + 1], &u->l[pos], (u->n - pos) * sizeof u->l[0]);
        u->n++;
    }
    u->l[pos] = l;
    if (pos > 0) MH_TRY(check_pair(cx, s, iu, &u->l[pos - 1], &u->l[pos]));
    if (pos + 1 < u->n) MH_TRY(check_pair(cx, s, iu, &u->l[pos], &u->l[pos + 1]));
    return MH_OK;
}

/* Shared-egress tally: one more (ip, user, outcome) of a user sign-in. */
static mh_status feed_egress(struct session_det *s, struct mh_det_ctx *cx, struct mh_event *ev)
{
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    /* as D1: a failure is a spray-type failure (d2.failure_codes), not an MFA
       prompt or a blocked client; other codes say nothing about the address */
    if (!has || (code != 0 && !mh_det_code_in(cx->cfg.failure_codes, cx->cfg.n_failure_codes, code)))
        return MH_OK;
    struct mh_slice user, ip;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_IP, &ip));
    if (!user.len || !ip.len) return MH_OK;
    uint32_t iu = mh_det_intern_lower(cx, user), iip = mh_det_intern(cx, ip);
    if (!iu || !iip) return MH_OK;
    uint32_t key[2] = {iip, iu};
    struct mh_map_entry *pe;
    bool created;
    mh_status st = mh_map_put(&s->egress_pairs, (const char *)key, sizeof key, &pe, &created);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (created) pe->value = 0;
    uint64_t bit = code == 0 ? 1u : 2u;
    if (pe->value & bit) return MH_OK;
    struct egress *g;
    MH_DET_SLOT(cx, &s->egress_idx, &iip, sizeof iip, s->egress, s->cap_egress, s->negress,
                MH_EGRESS_MAX_IPS, g, &created, st);
    if (st || !g) return st;
    if (created) g->ip = iip;
    pe->value |= bit;
    if (bit == 1) g->ok_users++;
    else g->failed_users++;
    return MH_OK;
}

static bool user_stream(enum mh_source_kind k)
{
    return k == MH_SRC_SIGNIN_INTERACTIVE || k == MH_SRC_SIGNIN_NONINTERACTIVE ||
           k == MH_SRC_UAL_ENTRA_LOGON;
}

static mh_status sd_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct session_det *s = self;
    /* incident.egress_users = 0: no egress is ever shared, nothing to tally */
    if (cx->cfg.incident_egress_users && user_stream(ev->kind)) MH_TRY(feed_egress(s, cx, ev));
    if (!cx->cfg.d15_enabled || !mh_det_stream_bit(ev->kind)) return MH_OK;
    struct mh_slice sess;
    MH_TRY(mh_det_entity(ev, MH_ENT_SESSION_ID, &sess));
    if (sess.len) MH_TRY(feed_location(s, cx, ev, sess));
    if (ev->kind == MH_SRC_SIGNIN_INTERACTIVE || ev->kind == MH_SRC_UAL_ENTRA_LOGON)
        MH_TRY(feed_login(s, cx, ev));
    return MH_OK;
}

/* Values of one dimension sorted by first sighting (at most MAX_VALUES). */
static size_t sorted_values(const struct session_det *s, const struct sess *ss, uint8_t dim,
                            const struct sval **out)
{
    size_t n = 0;
    for (uint32_t i = ss->head; i; i = s->vals[i - 1].next) {
        const struct sval *v = &s->vals[i - 1];
        if (v->dim != dim) continue;
        size_t j = n++;
        while (j > 0 && (out[j - 1]->t > v->t ||
                         (out[j - 1]->t == v->t && out[j - 1]->value > v->value))) {
            out[j] = out[j - 1];
            j--;
        }
        out[j] = v;
    }
    return n;
}

static void list_field(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name,
                       const struct sval *const *v, size_t n)
{
    char buf[256];
    size_t len = 0;
    for (size_t i = 0; i < n; i++) {
        struct mh_slice s = mh_det_str(cx, v[i]->value);
        if (len + s.len + 1 >= sizeof buf) break;
        if (i) buf[len++] = ',';
        memcpy(buf + len, s.ptr, s.len);
        len += s.len;
    }
    mh_det_pend_str(cx, p, name, mh_slice_make(buf, len));
}

/* Shared egress IPs -> MH_KEY_SHARED marker links (see 3. above). */
static mh_status finish_egress(struct session_det *s, struct mh_det_ctx *cx)
{
    if (!cx->cfg.incident_egress_users) return MH_OK; /* 0 = never (nothing was tallied) */
    uint32_t marker = 0;
    for (size_t i = 0; i < s->negress; i++) {
        const struct egress *g = &s->egress[i];
        if (g->ok_users < cx->cfg.incident_egress_users || g->ok_users < g->failed_users) continue;
        if (!marker) marker = mh_det_intern(cx, MH_SLICE_LIT("shared egress"));
        if (!marker) return MH_OK; /* string cap: counted by the intern */
        MH_TRY(mh_det_identity(cx, MH_KEY_IP, g->ip, MH_KEY_SHARED, marker, cx->run_first,
                               "shared egress"));
    }
    return MH_OK;
}

static mh_status sd_finish(void *self, struct mh_det_ctx *cx)
{
    struct session_det *s = self;
    MH_TRY(finish_egress(s, cx));
    if (!cx->cfg.d15_enabled) return MH_OK;
    const struct sval *cc[MH_D15_MAX_VALUES_PER_SESSION], *as[MH_D15_MAX_VALUES_PER_SESSION];
    for (size_t i = 0; i < s->nsess; i++) {
        const struct sess *ss = &s->sess[i];
        bool many_cc = ss->n[DIM_COUNTRY] > cx->cfg.d15_max_countries;
        bool many_as = ss->n[DIM_ASN] > cx->cfg.d15_max_asns;
        if (!many_cc && !many_as) continue;
        size_t ncc = sorted_values(s, ss, DIM_COUNTRY, cc);
        size_t nas = sorted_values(s, ss, DIM_ASN, as);
        /* evidence: the sighting that first broke a limit */
        const struct sval *ev_v = NULL;
        if (many_cc) ev_v = cc[cx->cfg.d15_max_countries];
        if (many_as && (!ev_v || as[cx->cfg.d15_max_asns]->t < ev_v->t))
            ev_v = as[cx->cfg.d15_max_asns];
        struct mh_det_evid ev;
        memset(&ev, 0, sizeof ev);
        ev.time = ev_v->t;
        ev.ent[MH_ENT_USER] = ss->user;
        ev.ent[MH_ENT_IP] = ev_v->ip;
        ev.ent[MH_ENT_SESSION_ID] = ss->session;
        ev.ref = ev_v->ref;
        /* travel keeps one session across two countries and mobile clients hop
           between carriers: one extra country, or extra ASNs alone, are low;
           two or more extra countries medium */
        enum mh_level lvl = many_cc && ss->n[DIM_COUNTRY] >= cx->cfg.d15_max_countries + 2
                                ? MH_LEVEL_MEDIUM
                                : MH_LEVEL_LOW;
        struct mh_det_pending *p = mh_det_pend(cx, &rule_multi, lvl, &ev);
        if (!p) continue;
        p->first = ncc ? cc[0]->t : as[0]->t;
        if (nas && as[0]->t < p->first) p->first = as[0]->t;
        p->count = ncc + nas;
        list_field(cx, p, "countries", cc, ncc);
        list_field(cx, p, "asns", as, nas);
        if (ss->saturated) mh_det_pend_str(cx, p, "note", MH_SLICE_LIT("value cap reached"));
    }
    for (size_t i = 0; i < s->nhits; i++) {
        const struct pairhit *h = &s->hits[i];
        struct mh_det_evid ev;
        memset(&ev, 0, sizeof ev);
        ev.time = h->t;
        ev.ent[MH_ENT_USER] = h->user;
        ev.ent[MH_ENT_IP] = h->ip;
        ev.ent[MH_ENT_SESSION_ID] = h->session;
        ev.ref = h->ref;
        struct mh_det_pending *p =
            mh_det_pend(cx, &rule_aitm, h->cross_family ? MH_LEVEL_LOW : MH_LEVEL_MEDIUM, &ev);
        if (!p) continue;
        p->first = h->other_t;
        p->count = 2;
        mh_det_pend_str(cx, p, "other_ip", mh_det_str(cx, h->other_ip));
        mh_det_pend_num(cx, p, "gap_seconds", (h->t - h->other_t) / MH_USEC_PER_SEC);
        if (h->cross_family) mh_det_pend_str(cx, p, "note", MH_SLICE_LIT("IPv4/IPv6 pair"));
    }
    return MH_OK;
}

const struct mh_det_ops mh_det_session_ops = {
    "session", sd_create, sd_feed, sd_finish, NULL, NULL, sd_destroy,
};
