/*
 * correlate/tokenowner.c -- D14 owner logon with a token issued to another object
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * detections.md §7 D14 lists, besides the UTI and session checks of
 * tokencheck.c, a third candidate: "TokenObjectId != the mailbox owner's
 * object id on an owner-logon record". The token a mailbox record was made
 * with names its subject (TokenObjectId); on an OWNER logon (LogonType 0,
 * UserType 0 regular user, UserId = MailboxOwnerUPN) that subject is the
 * owner. A token whose subject is someone else, presented as the owner, was
 * minted for a different identity than the one it claims -- the shape of a
 * forged or confused token. Unlike the UTI check this is a positive
 * mismatch, not an absence, so it needs no coverage model; it needs the
 * owner's object id, which the sign-in logs give (userPrincipalName and
 * userId of successful user sign-ins).
 *
 * Collected: (UPN, object id) from interactive and non-interactive sign-ins
 * (and the state); owner-logon records with a TokenObjectId aggregated per
 * (mailbox, TokenObjectId): earliest record, count. At finish, a pair whose
 * mailbox owner has known object ids none of which is the token's ->
 * mh.d14.token_object_mismatch (medium). Owner unknown -> nothing (no
 * verdict without the owner's id). App-only records (UserType 5/6) and
 * delegate / admin logons (LogonType 1/2) are not owner logons: their token
 * names the application or the delegate, legitimately.
 *
 * Example: MailboxOwnerUPN alice@contoso.com, UserId alice@contoso.com,
 * LogonType 0, TokenObjectId 7d0c...; sign-ins give alice's userId 3f2a... ->
 * mismatch (medium), evidence the first such record.
 *
 * State: d14_owner(upn, oid, last), pairs seen within d14.owner_retention.
 * Limits: MH_D14_MAX_OWNERS pairs, MH_D14_MAX_OWNER_CANDIDATES candidates;
 * beyond, new keys are not tracked (stats.dropped: a lost owner can only
 * lose a detection). Not thread-safe.
 */
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "normalize/ident.h"

static const char *const tags[] = {"attack.defense-evasion", "attack.t1550.001",
                                   "attack.credential-access", "attack.t1606.002", "mailhound.d14"};
static const struct mh_det_rule rule_mismatch = {
    "mh.d14.token_object_mismatch", "Owner logon with a token issued to another identity", "D14",
    "Mailbox access recorded as the owner's own logon whose token (TokenObjectId) names another "
    "object than the owner's user id in the sign-in logs",
    tags, 5};

struct cand {
    uint32_t mailbox, oid;
    struct mh_det_evid ev;
    uint64_t count;
    mh_time last;
};

struct tokenowner {
    struct mh_map owners;   /* {upn, oid} -> last time seen */
    struct mh_map by_upn;   /* upn -> number of oids (presence) */
    struct mh_map cand_idx; /* {mailbox, oid} -> index in cands */
    struct cand *cands;
    size_t ncands, cap_cands;
};

static mh_status to_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct tokenowner *o = mh_calloc(1, sizeof *o);
    if (!o) return MH_ENOMEM;
    mh_map_init(&o->owners, MH_D14_MAX_OWNERS, false);
    mh_map_init(&o->by_upn, MH_D14_MAX_OWNERS, false);
    mh_map_init(&o->cand_idx, MH_D14_MAX_OWNER_CANDIDATES, false);
    *self = o;
    return MH_OK;
}

static void to_destroy(void *self)
{
    struct tokenowner *o = self;
    mh_map_fini(&o->owners);
    mh_map_fini(&o->by_upn);
    mh_map_fini(&o->cand_idx);
    mh_free(o->cands);
    mh_free(o);
}

/* Canonical GUID text of s interned, 0 when s is not a GUID. */
static uint32_t intern_guid(struct mh_det_ctx *cx, struct mh_slice s)
{
    struct mh_guid g;
    char out[37];
    if (!s.len || mh_guid_parse(s.ptr, s.len, &g) != MH_OK) return 0;
    mh_guid_format(&g, out);
    return mh_det_intern(cx, mh_slice_make(out, 36));
}

static mh_status note_owner(struct mh_det_ctx *cx, struct tokenowner *o, uint32_t upn,
                            uint32_t oid, mh_time t)
{
    uint32_t k[2] = {upn, oid};
    struct mh_map_entry *e, *u;
    bool created;
    mh_status st = mh_map_put(&o->owners, (const char *)k, sizeof k, &e, &created);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (created || t > (mh_time)e->value) e->value = (uint64_t)t;
    if (!created) return MH_OK;
    st = mh_map_put(&o->by_upn, (const char *)&upn, sizeof upn, &u, NULL);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    u->value++;
    return MH_OK;
}

static mh_status feed_signin(struct tokenowner *o, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const oid_paths[] = {"properties.userId", "userId", "UserId", NULL};
    bool has;
    int64_t code;
    MH_TRY(mh_det_error_code(cx, ev, &has, &code));
    if (has && code != 0) return MH_OK;
    struct mh_slice upn, oid;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &upn));
    if (!upn.len || !memchr(upn.ptr, '@', upn.len)) return MH_OK;
    MH_TRY(mh_det_field(ev, oid_paths, &oid));
    uint32_t io = intern_guid(cx, oid), iu = mh_det_intern_lower(cx, upn);
    if (!io || !iu) return MH_OK;
    return note_owner(cx, o, iu, io, ev->time);
}

static mh_status feed_mailbox(struct tokenowner *o, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const logon_paths[] = {"LogonType", NULL};
    static const char *const type_paths[] = {"UserType", NULL};
    static const char *const oid_paths[] = {"TokenObjectId", NULL};
    struct mh_slice logon, type, oid, user, mailbox;
    MH_TRY(mh_det_field(ev, oid_paths, &oid));
    if (!oid.len) return MH_OK;
    MH_TRY(mh_det_field(ev, logon_paths, &logon));
    MH_TRY(mh_det_field(ev, type_paths, &type));
    if (!mh_slice_eq_cstr(logon, "0") || !mh_slice_eq_cstr(type, "0")) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    if (!mailbox.len || !mh_slice_eq_nocase(user, mailbox)) return MH_OK;
    uint32_t io = intern_guid(cx, oid), im = mh_det_intern_lower(cx, mailbox);
    if (!io || !im) return MH_OK;
    uint32_t k[2] = {im, io};
    struct cand *c;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &o->cand_idx, k, sizeof k, o->cands, o->cap_cands, o->ncands,
                MH_D14_MAX_OWNER_CANDIDATES, c, &created, st);
    if (st || !c) return st;
    if (created) {
        c->mailbox = im;
        c->oid = io;
        c->ev.time = c->last = MH_TIME_NONE;
    }
    c->count++;
    if (c->ev.time == MH_TIME_NONE || ev->time < c->ev.time) MH_TRY(mh_det_capture(cx, ev, &c->ev));
    if (c->last == MH_TIME_NONE || ev->time > c->last) c->last = ev->time;
    return MH_OK;
}

static mh_status to_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct tokenowner *o = self;
    if (!cx->cfg.d14_token_owner) return MH_OK;
    if (ev->kind == MH_SRC_SIGNIN_INTERACTIVE || ev->kind == MH_SRC_SIGNIN_NONINTERACTIVE)
        return feed_signin(o, cx, ev);
    if (ev->kind == MH_SRC_UAL_MAILBOX) return feed_mailbox(o, cx, ev);
    return MH_OK;
}

static mh_status to_finish(void *self, struct mh_det_ctx *cx)
{
    struct tokenowner *o = self;
    for (size_t i = 0; i < o->ncands; i++) {
        const struct cand *c = &o->cands[i];
        struct mh_map_entry *u = mh_map_get(&o->by_upn, (const char *)&c->mailbox, sizeof c->mailbox);
        if (!u || !u->value) continue; /* owner's object id unknown: no verdict */
        uint32_t k[2] = {c->mailbox, c->oid};
        if (mh_map_get(&o->owners, (const char *)k, sizeof k)) continue;
        struct mh_det_pending *d = mh_det_pend(cx, &rule_mismatch, MH_LEVEL_MEDIUM, &c->ev);
        mh_det_pend_str(cx, d, "token_object_id", mh_det_str(cx, c->oid));
        mh_det_pend_num(cx, d, "owner_object_ids", (int64_t)u->value);
        if (d) {
            d->last = c->last;
            d->count = c->count;
        }
    }
    return MH_OK;
}

static mh_status to_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct tokenowner *o = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(mh_state_db(stt), "SELECT upn, oid, last FROM d14_owner ORDER BY upn, oid",
                           &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice u, g;
        MH_CHECK(mh_db_column_text(q, 0, &u, cx->err));
        uint32_t iu = mh_det_intern(cx, u);
        MH_CHECK(mh_db_column_text(q, 1, &g, cx->err));
        uint32_t ig = mh_det_intern(cx, g);
        if (!iu || !ig) {
            st = mh_error_set(cx->err, MH_ELIMIT, "state too large", "%s", "strings");
            goto out;
        }
        MH_CHECK(note_owner(cx, o, iu, ig, mh_db_column_int(q, 2)));
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status to_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct tokenowner *o = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    mh_time now = cx->run_last != MH_TIME_NONE ? cx->run_last : 0;
    MH_CHECK(mh_db_exec(db, "DELETE FROM d14_owner", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d14_owner VALUES(?1, ?2, ?3)", &q, cx->err));
    for (size_t i = 0; i < o->owners.n; i++) {
        const struct mh_map_entry *e = &o->owners.entries[i];
        uint32_t k[2];
        memcpy(k, e->key.ptr, sizeof k);
        if (now - (mh_time)e->value > cx->cfg.d14_owner_retention) continue;
        struct mh_slice u = mh_det_str(cx, k[0]), g = mh_det_str(cx, k[1]);
        MH_CHECK(mh_db_bind_text(q, 1, u.ptr, u.len, cx->err));
        MH_CHECK(mh_db_bind_text(q, 2, g.ptr, g.len, cx->err));
        MH_CHECK(mh_db_bind_int(q, 3, (mh_time)e->value, cx->err));
        MH_CHECK(mh_db_step(q, &row, cx->err));
        mh_db_reset(q);
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_tokenowner_ops = {
    "tokenowner", to_create, to_feed, to_finish, to_load, to_save, to_destroy,
};
