/*
 * scope/feed.c -- events in: the records scope needs, kept in compact form
 *
 * Pipeline: normalize (events) -> [scope feed] -> decide -> collect -> output.
 * The logs are read once; an event is looked at for four reasons:
 *
 *  1. Mailbox records (ual.mailbox, Operation MailItemsAccessed, Send,
 *     SendAs, SendOnBehalf) are CANDIDATES when they carry IsThrottled=True,
 *     or when their time lies in the window of some incident (records
 *     outside every window can never be in context) and either one of their
 *     keys -- user, mailbox, client IP, session, token, AppId, ClientAppId --
 *     is listed by an incident, or they carry a session or token id (which a
 *     later learned key may match). A candidate keeps its time, reference
 *     (file, record, line, offset, record Id), the key index of every field
 *     (created now, so that keys learned later reach it), OperationCount,
 *     MailAccessType and its items: (InternetMessageId, folder path) pairs of
 *     Folders[].FolderItems[] for Bind, the folder paths for Sync,
 *     Item.InternetMessageId / Item.ParentFolder.Path for Send*. Candidates
 *     repeat across overlapping exports: a record Id seen before is counted
 *     as a duplicate and dropped.
 *  2. Mailbox records outside every window of the incidents that list their
 *     client IP, and that carry none of the incidents' listed sessions,
 *     tokens or apps (the attacker's own activity before or after the
 *     window): the principals involved (UserId and mailbox owner) "share"
 *     that IP, and the record's session is the owner's, not the attacker's
 *     (docs/scope.md §2). Kept as (IP key, principal key) pairs and a flag on
 *     the session key.
 *  3. Directory records granting an application permission that reads
 *     every mailbox, and every MailItemsAccessed record's mailbox and time
 *     (the app-wide basis: appwide.c).
 *  4. Message-trace rows (trace.message) of messages the mail store lacks:
 *     sender, subject, earliest time, recipients with their status, the
 *     reference of the least row (by file name, record: any input order
 *     gives the same), whose sender, subject and statuses win. Columns of every trace layout are read
 *     (Get-MessageTrace, enhanced summary with recipient_status
 *     "addr##Event, Event;addr2##...", extended report, Graph).
 *
 * Folders held in a JSON string (Log Analytics OfficeActivity exports) are
 * parsed here with a scratch tape (arena reset per event).
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "scope/internal.h"

/* ------------------------------------------------------------ small helpers */

static bool slice_ieq(struct mh_slice a, const char *b)
{
    return mh_slice_eq_nocase(mh_slice_trim(a), mh_slice_cstr(b));
}

/* Canonical key of an entity; create or only find. SC_NONE when absent. */
static mh_status ent_key(mh_scope *s, struct mh_event *ev, enum mh_entity e, char kind,
                         bool create, uint32_t *out)
{
    *out = SC_NONE;
    struct mh_slice v;
    mh_status st = mh_event_entity(ev, e, &v);
    if (st == MH_ENOTFOUND) return MH_OK;
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    struct mh_slice c;
    MH_TRY(mh_scope_canon(kind, v, &s->tmp, &c));
    if (!c.len) return MH_OK;
    if (create) return mh_scope_key(s, kind, c, out);
    *out = mh_scope_key_find(s, kind, c);
    return MH_OK;
}

mh_status mh_scope_field(struct mh_event *ev, const char *path, struct mh_slice *out)
{
    mh_status st = mh_event_get_str(ev, path, out);
    if (st == MH_ENOTFOUND || st == MH_ELIMIT) {
        *out = MH_SLICE_NULL;
        return MH_OK;
    }
    return st;
}

mh_status mh_scope_first_field(struct mh_event *ev, const char *const *paths, struct mh_slice *out)
{
    for (size_t i = 0; paths[i]; i++) {
        MH_TRY(mh_scope_field(ev, paths[i], out));
        *out = mh_slice_trim(*out);
        if (out->len) return MH_OK;
    }
    *out = MH_SLICE_NULL;
    return MH_OK;
}

static bool listed(const mh_scope *s, uint32_t k)
{
    return k != SC_NONE && s->keys[k].given.n > 0;
}

static mh_status msgid_str(mh_scope *s, struct mh_slice v, uint32_t *id)
{
    *id = SC_NONE;
    if (!mh_message_id_normalize(v.ptr, v.len, &s->tmp)) return MH_OK;
    return mh_scope_str(s, s->tmp.data, s->tmp.len, id);
}

mh_status mh_scope_file_str(mh_scope *s, const struct mh_event *ev, const char *name,
                            const char *key, uint32_t *id, uint32_t *kid)
{
    if (ev->rec->file != s->last_file || s->last_file_str == SC_NONE) {
        const char *n = name ? name : "", *k = key ? key : n;
        MH_TRY(mh_scope_str(s, n, strlen(n), &s->last_file_str));
        MH_TRY(mh_scope_str(s, k, strlen(k), &s->last_key_str));
        s->last_file = ev->rec->file;
    }
    *id = s->last_file_str;
    *kid = s->last_key_str;
    return MH_OK;
}

/* ------------------------------------------------------------ shared IPs */

static bool outside_all(const mh_scope *s, const struct sc_key *k, mh_time t)
{
    for (uint32_t i = 0; i < k->given.n; i++) {
        const struct sc_inc *I = &s->incs[k->given.v[i]];
        if (t >= I->wstart && t <= I->wend) return false;
    }
    return true;
}

static mh_status pair_add(mh_scope *s, uint32_t ip, uint32_t user)
{
    if (user == SC_NONE) return MH_OK;
    uint32_t key[2] = {ip, user};
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->pairs, (const char *)key, sizeof key, &e, &created);
    if (st == MH_ELIMIT) {
        /* cannot remember who: saturate, the IP counts as shared by everyone */
        s->keys[ip].outside = UINT32_MAX;
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (created && s->keys[ip].outside < UINT32_MAX) s->keys[ip].outside++;
    return MH_OK;
}

/* f: the record's keys found so far (no creation). */
static mh_status observe_outside(mh_scope *s, struct mh_event *ev, const uint32_t *f)
{
    uint32_t ip = f[SC_F_IP];
    if (ev->time == MH_TIME_NONE || !outside_all(s, &s->keys[ip], ev->time)) return MH_OK;
    /* the attacker's own activity outside the window says nothing about the owner */
    if (listed(s, f[SC_F_SESSION]) || listed(s, f[SC_F_TOKEN]) || listed(s, f[SC_F_APP]) ||
        listed(s, f[SC_F_CAPP]))
        return MH_OK;
    uint32_t u, m, sess;
    MH_TRY(ent_key(s, ev, MH_ENT_USER, SC_K_USER, true, &u));
    MH_TRY(ent_key(s, ev, MH_ENT_MAILBOX, SC_K_USER, true, &m));
    MH_TRY(pair_add(s, ip, u));
    if (m != u) MH_TRY(pair_add(s, ip, m));
    MH_TRY(ent_key(s, ev, MH_ENT_SESSION_ID, SC_K_SESSION, true, &sess));
    if (sess != SC_NONE) s->keys[sess].outside = 1;
    return MH_OK;
}

/* ------------------------------------------------------------ windows */

static int time_cmp(const void *a, const void *b)
{
    const mh_time *x = a, *y = b;
    if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
    return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* The union of the incident windows, as sorted disjoint intervals. */
static mh_status build_windows(mh_scope *s)
{
    s->win = mh_malloc((s->nincs ? s->nincs : 1) * 2 * sizeof *s->win);
    if (!s->win) return MH_ENOMEM;
    for (size_t i = 0; i < s->nincs; i++) {
        s->win[2 * i] = s->incs[i].wstart;
        s->win[2 * i + 1] = s->incs[i].wend;
    }
    qsort(s->win, s->nincs, 2 * sizeof *s->win, time_cmp);
    size_t n = 0;
    for (size_t i = 0; i < s->nincs; i++) {
        mh_time a = s->win[2 * i], b = s->win[2 * i + 1];
        if (n && a <= s->win[2 * n - 1]) {
            if (b > s->win[2 * n - 1]) s->win[2 * n - 1] = b;
        } else {
            s->win[2 * n] = a;
            s->win[2 * n + 1] = b;
            n++;
        }
    }
    s->nwin = n;
    return MH_OK;
}

bool mh_scope_in_windows(const mh_scope *s, mh_time t)
{
    size_t lo = 0, hi = s->nwin;
    while (lo < hi) { /* first interval whose end >= t */
        size_t mid = lo + (hi - lo) / 2;
        if (s->win[2 * mid + 1] < t) lo = mid + 1;
        else hi = mid;
    }
    return lo < s->nwin && s->win[2 * lo] <= t;
}

/* ------------------------------------------------------------ items */

struct walk {
    mh_scope *s;
    struct mh_event *ev;
    const char *file_name;
    bool sync;
    mh_status st;
};

/* A Folders value that is JSON text but does not parse: the record stays
 * (its other evidence holds), its items are unknown -- counted, reported. */
static void bad_folders(struct walk *w, const mh_error *perr)
{
    mh_scope *s = w->s;
    s->st.bad_folders++;
    if (!s->o.on_warn) return;
    const struct mh_record *rec = w->ev->rec;
    mh_error err;
    mh_error_clear(&err);
    mh_error_set(&err, MH_EPARSE, "Folders is not valid JSON; the record's items are unknown",
                 "%s at byte %llu of the value", perr->msg ? perr->msg : "parse error",
                 (unsigned long long)perr->offset);
    mh_error_at(&err, w->file_name, rec->line, 0, rec->offset, rec->number);
    s->o.on_warn(s->o.warn_ctx, &err, false);
}

static mh_status add_item(mh_scope *s, uint32_t msgid, uint32_t folder)
{
    mh_status st = mh_scope_grow((void **)&s->items, &s->capitems, s->nitems + 1,
                                 sizeof *s->items, MH_SCOPE_MAX_ITEMS);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    s->items[s->nitems].msgid = msgid;
    s->items[s->nitems].folder = folder;
    s->nitems++;
    return MH_OK;
}

static mh_status json_string(mh_scope *s, const struct mh_jdoc *d, uint32_t obj, const char *k,
                             struct mh_slice *out)
{
    *out = MH_SLICE_NULL;
    uint32_t v = mh_json_get(d, obj, k, strlen(k));
    if (v == MH_JNONE || mh_json_type(d, v) != MH_JSTR) return MH_OK;
    mh_status st = mh_json_str(d, v, &s->scratch, out);
    if (st == MH_ELIMIT || st == MH_EINVAL) {
        *out = MH_SLICE_NULL;
        return MH_OK;
    }
    return st;
}

/* One Folders[] element: its path, and for Bind its FolderItems. */
static mh_status walk_folder(struct walk *w, const struct mh_jdoc *d, uint32_t f)
{
    mh_scope *s = w->s;
    if (mh_json_type(d, f) != MH_JOBJ) return MH_OK;
    struct mh_slice path;
    MH_TRY(json_string(s, d, f, "Path", &path));
    uint32_t folder = SC_NONE;
    path = mh_slice_trim(path);
    if (path.len) MH_TRY(mh_scope_str(s, path.ptr, path.len, &folder));
    if (w->sync) return add_item(s, SC_NONE, folder);
    uint32_t arr = mh_json_get(d, f, "FolderItems", 11);
    if (arr == MH_JNONE || mh_json_type(d, arr) != MH_JARR) return MH_OK;
    for (uint32_t i = mh_json_first(d, arr); i != MH_JNONE; i = mh_json_next(d, arr, i)) {
        if (mh_json_type(d, i) != MH_JOBJ) continue;
        struct mh_slice id;
        MH_TRY(json_string(s, d, i, "InternetMessageId", &id));
        uint32_t msgid;
        MH_TRY(msgid_str(s, id, &msgid));
        if (msgid != SC_NONE) MH_TRY(add_item(s, msgid, folder));
    }
    return MH_OK;
}

static mh_status walk_value(struct walk *w, const struct mh_jdoc *d, uint32_t node)
{
    if (mh_json_type(d, node) == MH_JARR) {
        for (uint32_t i = mh_json_first(d, node); i != MH_JNONE; i = mh_json_next(d, node, i))
            MH_TRY(walk_folder(w, d, i));
        return MH_OK;
    }
    return walk_folder(w, d, node);
}

static bool on_folder(void *ctx, const struct mh_value *v)
{
    struct walk *w = ctx;
    if (v->type == MH_JOBJ) {
        w->st = walk_value(w, v->doc, v->node);
    } else if (v->type == MH_JSTR) {
        /* Folders as a JSON string (Log Analytics): parse it here */
        struct mh_slice t = mh_slice_trim(v->text);
        if (!t.len || (t.ptr[0] != '[' && t.ptr[0] != '{')) return false;
        mh_error perr;
        mh_error_clear(&perr);
        mh_status st = mh_json_parse(&w->s->nested, t.ptr, t.len, &perr);
        if (st == MH_ENOMEM) w->st = st;
        else if (st == MH_OK) w->st = walk_value(w, &w->s->nested, 0);
        else bad_folders(w, &perr);
    }
    return w->st != MH_OK;
}

static mh_status folder_items(mh_scope *s, struct mh_event *ev, const char *file_name, bool sync)
{
    struct walk w = {s, ev, file_name, sync, MH_OK};
    mh_status st = mh_event_get(ev, "Folders", 7, on_folder, &w, NULL);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        st = MH_OK;
    }
    return st ? st : w.st;
}

static mh_status send_items(mh_scope *s, struct mh_event *ev)
{
    struct mh_slice id, path;
    MH_TRY(mh_scope_field(ev, "Item.InternetMessageId", &id));
    uint32_t msgid, folder = SC_NONE;
    MH_TRY(msgid_str(s, id, &msgid));
    if (msgid == SC_NONE) return MH_OK;
    MH_TRY(mh_scope_field(ev, "Item.ParentFolder.Path", &path));
    path = mh_slice_trim(path);
    if (path.len) MH_TRY(mh_scope_str(s, path.ptr, path.len, &folder));
    return add_item(s, msgid, folder);
}

/* ------------------------------------------------------------ mailbox records */

enum rec_kind { RK_NONE = 0, RK_MIA, RK_SEND };

static enum rec_kind record_kind(struct mh_event *ev, struct mh_slice *op)
{
    if (ev->kind != MH_SRC_UAL_MAILBOX) return RK_NONE;
    struct mh_slice k;
    if (mh_event_entity(ev, MH_ENT_OPERATION_KEY, &k) != MH_OK) return RK_NONE;
    if (mh_event_entity(ev, MH_ENT_OPERATION, op) != MH_OK) *op = k;
    if (mh_slice_eq_cstr(k, "mailitemsaccessed")) return RK_MIA;
    if (mh_slice_eq_cstr(k, "send") || mh_slice_eq_cstr(k, "sendas") ||
        mh_slice_eq_cstr(k, "sendonbehalf"))
        return RK_SEND;
    return RK_NONE;
}

static const enum mh_entity field_entity[SC_F__N] = {
    [SC_F_USER] = MH_ENT_USER,        [SC_F_MBX] = MH_ENT_MAILBOX,
    [SC_F_MBXUSER] = MH_ENT_MAILBOX,  [SC_F_IP] = MH_ENT_IP,
    [SC_F_SESSION] = MH_ENT_SESSION_ID, [SC_F_TOKEN] = MH_ENT_TOKEN_ID,
    [SC_F_APP] = MH_ENT_APP_ID,       [SC_F_CAPP] = MH_ENT_CLIENT_APP_ID,
    [SC_F_CLIENT] = MH_ENT__COUNT,
};
static const char field_kind[SC_F__N] = {
    [SC_F_USER] = SC_K_USER,   [SC_F_MBX] = SC_K_MBX,         [SC_F_MBXUSER] = SC_K_USER,
    [SC_F_IP] = SC_K_IP,       [SC_F_SESSION] = SC_K_SESSION, [SC_F_TOKEN] = SC_K_TOKEN,
    [SC_F_APP] = SC_K_APP,     [SC_F_CAPP] = SC_K_APP,        [SC_F_CLIENT] = SC_K_CLIENT,
};

static mh_status fields(mh_scope *s, struct mh_event *ev, bool create, uint32_t f[SC_F__N])
{
    for (int i = 0; i < SC_F__N; i++) {
        if (i == SC_F_CLIENT) {
            struct mh_slice c;
            MH_TRY(mh_scope_field(ev, "ClientInfoString", &c));
            c = mh_slice_trim(c);
            f[i] = SC_NONE;
            if (!c.len) continue;
            if (create) MH_TRY(mh_scope_key(s, SC_K_CLIENT, c, &f[i]));
            else f[i] = mh_scope_key_find(s, SC_K_CLIENT, c);
            continue;
        }
        MH_TRY(ent_key(s, ev, field_entity[i], field_kind[i], create, &f[i]));
    }
    return MH_OK;
}

static mh_status mailbox_record(mh_scope *s, struct mh_event *ev, enum rec_kind rk,
                                struct mh_slice op, const char *file_name, const char *file_key)
{
    s->st.mailbox_records++;
    uint32_t f[SC_F__N];
    MH_TRY(fields(s, ev, false, f));
    if (listed(s, f[SC_F_IP])) MH_TRY(observe_outside(s, ev, f));

    bool throttled = false, sync = false;
    if (rk == RK_MIA) {
        MH_TRY(mh_scope_audit_feed(s, ev));
        struct mh_slice v;
        MH_TRY(mh_scope_field(ev, "OperationProperties.IsThrottled", &v));
        throttled = slice_ieq(v, "true");
        MH_TRY(mh_scope_field(ev, "OperationProperties.MailAccessType", &v));
        sync = slice_ieq(v, "sync");
    }
    bool cand = false;
    if (ev->time != MH_TIME_NONE && mh_scope_in_windows(s, ev->time)) {
        struct mh_slice v;
        cand = mh_event_entity(ev, MH_ENT_SESSION_ID, &v) == MH_OK ||
               mh_event_entity(ev, MH_ENT_TOKEN_ID, &v) == MH_OK;
        for (int i = 0; i < SC_F__N && !cand; i++) cand = i != SC_F_CLIENT && listed(s, f[i]);
    }
    if (!cand && !throttled) return MH_OK;

    struct mh_slice rid;
    MH_TRY(mh_scope_field(ev, "Id", &rid));
    rid = mh_slice_trim(rid);
    if (rid.len) {
        struct mh_map_entry *e;
        bool created;
        mh_status st = mh_map_put(&s->rids, rid.ptr, rid.len, &e, &created);
        if (st == MH_OK && !created) {
            s->st.duplicates++;
            return MH_OK;
        }
        if (st == MH_ELIMIT) s->st.dropped++; /* kept, but no longer de-duplicated */
        else if (st) return st;
    }
    if (ev->time == MH_TIME_NONE) {
        s->st.no_time++;
        return MH_OK;
    }
    mh_status st = mh_scope_grow((void **)&s->recs, &s->caprecs, s->nrecs + 1, sizeof *s->recs,
                                 MH_SCOPE_MAX_RECORDS);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    struct sc_rec r;
    memset(&r, 0, sizeof r);
    MH_TRY(fields(s, ev, true, r.f));
    r.t = ev->time;
    r.record = ev->rec->number;
    r.line = ev->rec->line;
    r.offset = ev->rec->offset;
    MH_TRY(mh_scope_file_str(s, ev, file_name, file_key, &r.file, &r.fkey));
    r.rid = SC_NONE;
    if (rid.len) MH_TRY(mh_scope_str(s, rid.ptr, rid.len, &r.rid));
    MH_TRY(mh_scope_str(s, op.ptr, op.len, &r.opname));
    r.throttled = throttled;
    r.op = rk == RK_SEND ? SC_OP_SEND : sync ? SC_OP_SYNC : SC_OP_BIND;
    struct mh_slice cnt;
    MH_TRY(mh_scope_field(ev, "OperationCount", &cnt));
    for (size_t i = 0; i < cnt.len && cnt.ptr[i] >= '0' && cnt.ptr[i] <= '9'; i++)
        r.opcount = r.opcount > UINT32_MAX / 10 ? UINT32_MAX : r.opcount * 10 + (uint32_t)(cnt.ptr[i] - '0');
    r.item0 = (uint32_t)s->nitems;
    if (rk == RK_SEND) MH_TRY(send_items(s, ev));
    else MH_TRY(folder_items(s, ev, file_name, sync));
    r.nitems = (uint32_t)(s->nitems - r.item0);
    s->recs[s->nrecs++] = r;
    s->st.candidates++;
    if (throttled) s->st.throttle_records++;
    return MH_OK;
}

/* ------------------------------------------------------------ message trace */

static const char *const P_MSGID[] = {"MessageId", "message_id", "messageId", "Message ID", NULL};
static const char *const P_SENDER[] = {"SenderAddress", "sender_address", "senderAddress", NULL};
static const char *const P_SUBJECT[] = {"Subject", "message_subject", "subject", NULL};
static const char *const P_RCPT[] = {"RecipientAddress", "recipient_address", "recipientAddress",
                                     NULL};
static const char *const P_STATUS[] = {"Status", "status", "event_id", NULL};

static mh_status add_rcpt(mh_scope *s, struct sc_trace *t, struct mh_slice addr,
                          struct mh_slice status, uint32_t file, uint64_t record)
{
    addr = mh_slice_trim(addr);
    if (!addr.len) return MH_OK;
    /* lower-case the domain only (local parts are case-sensitive in principle) */
    mh_buf_clear(&s->tmp);
    MH_TRY(mh_buf_append(&s->tmp, addr.ptr, addr.len));
    char *at = memchr(s->tmp.data, '@', s->tmp.len);
    for (char *p = at; p && p < s->tmp.data + s->tmp.len; p++)
        *p = (char)mh_ascii_lower((unsigned char)*p);
    uint32_t a, stt = SC_NONE;
    MH_TRY(mh_scope_str(s, s->tmp.data, s->tmp.len, &a));
    if (a == SC_NONE) return MH_OK;
    status = mh_slice_trim(status);
    if (status.len) MH_TRY(mh_scope_str(s, status.ptr, status.len, &stt));
    for (uint32_t i = t->rc_first; i != SC_NONE; i = s->rcpts[i].next) {
        struct sc_rcpt *c = &s->rcpts[i];
        if (c->addr != a) continue;
        /* several rows (extended report: one per event): the least row's status */
        if (stt != SC_NONE &&
            (c->status == SC_NONE || mh_scope_ref_less(s, file, record, c->file, c->record))) {
            c->status = stt;
            c->file = file;
            c->record = record;
        }
        return MH_OK;
    }
    mh_status st = mh_scope_grow((void **)&s->rcpts, &s->caprcpts, s->nrcpts + 1,
                                 sizeof *s->rcpts, MH_SCOPE_MAX_TRACE_RCPTS);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    uint32_t k = (uint32_t)s->nrcpts++;
    s->rcpts[k] = (struct sc_rcpt){a, stt, SC_NONE, file, record};
    if (t->rc_last == SC_NONE) t->rc_first = k;
    else s->rcpts[t->rc_last].next = k;
    t->rc_last = k;
    t->nrc++;
    return MH_OK;
}

/* recipient_status: "a@x##Receive, Deliver;b@y##Receive, Fail" (log-formats.md §10) */
static mh_status recipient_status(mh_scope *s, struct sc_trace *t, struct mh_slice v,
                                  uint32_t file, uint64_t record)
{
    const char *p = v.ptr, *end = v.ptr + v.len;
    while (p < end) {
        const char *semi = memchr(p, ';', (size_t)(end - p));
        const char *e = semi ? semi : end;
        struct mh_slice entry = mh_slice_make(p, (size_t)(e - p));
        size_t hh = mh_slice_find(entry, MH_SLICE_LIT("##"));
        struct mh_slice addr = entry, status = MH_SLICE_NULL;
        if (hh != (size_t)-1) {
            addr = mh_slice_make(entry.ptr, hh);
            status = mh_slice_make(entry.ptr + hh + 2, entry.len - hh - 2);
        }
        MH_TRY(add_rcpt(s, t, addr, status, file, record));
        p = e + 1;
    }
    return MH_OK;
}

static mh_status trace_row(mh_scope *s, struct mh_event *ev, const char *file_name,
                           const char *file_key)
{
    struct mh_slice v;
    MH_TRY(mh_scope_first_field(ev, P_MSGID, &v));
    if (!v.len || !mh_message_id_normalize(v.ptr, v.len, &s->tmp)) return MH_OK;
    if (s->o.store && mh_mailstore_find(s->o.store, s->tmp.data, s->tmp.len)) return MH_OK;
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->trace_ix, s->tmp.data, s->tmp.len, &e, &created);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (created) {
        e->value = SC_NONE;
        uint32_t id;
        MH_TRY(mh_scope_str(s, s->tmp.data, s->tmp.len, &id));
        if (id == SC_NONE) return MH_OK;
        st = mh_scope_grow((void **)&s->traces, &s->captraces, s->ntraces + 1, sizeof *s->traces,
                           MH_SCOPE_MAX_TRACE_MSGS);
        if (st == MH_ELIMIT) {
            s->st.dropped++;
            return MH_OK;
        }
        if (st) return st;
        struct sc_trace *t = &s->traces[s->ntraces];
        memset(t, 0, sizeof *t);
        t->msgid = id;
        t->sender = t->subject = SC_NONE;
        t->rc_first = t->rc_last = SC_NONE;
        t->t = ev->time;
        t->file = t->fkey = SC_NONE;
        e->value = s->ntraces++;
    }
    if (e->value == SC_NONE) return MH_OK;
    struct sc_trace *t = &s->traces[e->value];
    uint32_t file, fkey;
    MH_TRY(mh_scope_file_str(s, ev, file_name, file_key, &file, &fkey));
    uint64_t record = ev->rec->number;
    /* the least row (file name, record) names the message: any input order gives the same */
    bool least = t->rows == 0 || mh_scope_ref_less(s, file, record, t->file, t->record);
    if (least) {
        t->file = file;
        t->fkey = fkey;
        t->record = record;
        t->offset = ev->rec->offset;
    }
    t->rows++;
    s->st.trace_rows++;
    if (ev->time != MH_TIME_NONE && (t->t == MH_TIME_NONE || ev->time < t->t)) t->t = ev->time;
    MH_TRY(mh_scope_first_field(ev, P_SENDER, &v));
    if (v.len && (least || t->sender == SC_NONE)) MH_TRY(mh_scope_str(s, v.ptr, v.len, &t->sender));
    MH_TRY(mh_scope_first_field(ev, P_SUBJECT, &v));
    if (v.len && (least || t->subject == SC_NONE))
        MH_TRY(mh_scope_str(s, v.ptr, v.len, &t->subject));
    MH_TRY(mh_scope_first_field(ev, P_RCPT, &v));
    if (v.len) {
        struct mh_slice status;
        MH_TRY(mh_scope_first_field(ev, P_STATUS, &status));
        return add_rcpt(s, t, v, status, file, record);
    }
    MH_TRY(mh_scope_field(ev, "recipient_status", &v));
    return recipient_status(s, t, v, file, record);
}

/* ------------------------------------------------------------ entry point */

mh_status mh_scope_feed(mh_scope *s, struct mh_event *ev, const char *file_name,
                        const char *file_key)
{
    if (s->finished) return MH_EINVAL;
    if (!s->fed) MH_TRY(build_windows(s));
    s->fed = true;
    s->st.events++;
    mh_arena_reset(&s->scratch);
    if (ev->kind == MH_SRC_MESSAGE_TRACE) return trace_row(s, ev, file_name, file_key);
    if (ev->kind == MH_SRC_DIRECTORY_AUDIT || ev->kind == MH_SRC_UAL_ENTRA_DIRECTORY)
        return mh_scope_grant_feed(s, ev, file_name, file_key);
    struct mh_slice op;
    enum rec_kind rk = record_kind(ev, &op);
    if (rk == RK_NONE) return MH_OK;
    return mailbox_record(s, ev, rk, op, file_name, file_key);
}
