/*
 * scope/exfil.c -- from records in attacker context to messages, per mailbox
 *
 * Pipeline: feed -> decide -> [collect] -> output.
 * Bases (detections.md R2; docs/scope.md §3-§5):
 *   bind      every InternetMessageId a Bind record in context lists
 *             (confidence observed); a record whose OperationCount exceeds
 *             the items it lists is PARTIAL (binds it did not itemise);
 *   sent      Item.InternetMessageId of Send / SendAs / SendOnBehalf in
 *             context (observed: the attacker wrote it);
 *   sync      every message of the Sync'd folder that existed at the Sync:
 *             stored messages of that mailbox, in that folder, whose Date is
 *             at or before the record's time (unknown Date: included)
 *             (inferred-sync);
 *   throttle  an IsThrottled=True record starts a window [t, t + 24 h]
 *             during which binds were not audited; when the window is in or
 *             near an attacker context, every stored message of the mailbox
 *             that existed at some moment of the window -- Date at or before
 *             the window's end, or unknown -- is taken (inferred-throttle).
 *             In context: the record itself matched; near: a record of the
 *             same mailbox matched some incident within [t - near, t + 24 h];
 *             or the mailbox is listed by an incident whose window holds t.
 * Mailboxes: the log's MailboxOwnerUPN (lower-case) is looked up among the
 * store's mailboxes by owner address (or mailbox name when the owner is
 * unknown). A mailbox whose stored messages all sit in the root folder of
 * mbox files (one mbox per mailbox: the export flattened its folders) is
 * FLATTENED: there "\Inbox" means the messages not From the owner and
 * "\Sent Items" those From the owner; any other mail folder means the whole
 * mailbox (it cannot be told apart).
 * Union: one entry per (mailbox, message id) with the bit set of its bases
 * and its evidence (one per record, basis and incident; at most
 * MH_SCOPE_MAX_EVIDENCE, the rest counted). Messages the store lacks are
 * joined with the message trace by id.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "scope/internal.h"

/* ------------------------------------------------------------ store view */

static mh_status store_view(mh_scope *s)
{
    const mh_mailstore *st = s->o.store;
    if (!st) return MH_OK;
    size_t nmb = mh_mailstore_nmailboxes(st), nl = mh_mailstore_nlocs(st);
    s->loc_first = mh_malloc((nmb ? nmb : 1) * sizeof *s->loc_first);
    s->loc_next = mh_malloc((nl ? nl : 1) * sizeof *s->loc_next);
    s->smb_next = mh_malloc((nmb ? nmb : 1) * sizeof *s->smb_next);
    if (!s->loc_first || !s->loc_next || !s->smb_next) return MH_ENOMEM;
    for (size_t i = 0; i < nmb; i++) s->loc_first[i] = SC_NONE;
    for (size_t i = nl; i-- > 0;) {
        const struct mh_mail_loc *L = mh_mailstore_loc(st, i);
        s->loc_next[i] = s->loc_first[L->mailbox];
        s->loc_first[L->mailbox] = (uint32_t)i;
    }
    for (size_t i = nmb; i-- > 0;) {
        const struct mh_mailbox *mb = mh_mailstore_mailbox(st, i);
        const char *k = mb->owner ? mb->owner : mb->name;
        struct mh_slice c;
        MH_TRY(mh_scope_canon(SC_K_MBX, mh_slice_cstr(k), &s->tmp, &c));
        struct mh_map_entry *e;
        bool created;
        MH_TRY(mh_map_put(&s->store_owner, c.ptr, c.len, &e, &created));
        s->smb_next[i] = created ? SC_NONE : (uint32_t)e->value;
        e->value = i; /* lists end up in ascending order */
    }
    return MH_OK;
}

/* ------------------------------------------------------------ mailboxes */

static mh_status get_mbx(mh_scope *s, uint32_t key, uint32_t *out)
{
    struct mh_slice a = mh_scope_key_value(s, key);
    struct mh_map_entry *e;
    bool created;
    MH_TRY(mh_map_put(&s->mbx_ix, a.ptr, a.len, &e, &created));
    if (!created) {
        *out = (uint32_t)e->value;
        return MH_OK;
    }
    e->value = SC_NONE;
    MH_TRY(mh_scope_grow((void **)&s->mbxs, &s->capmbxs, s->nmbxs + 1, sizeof *s->mbxs,
                         MH_SCOPE_MAX_KEYS));
    struct sc_mbx *M = &s->mbxs[s->nmbxs];
    memset(M, 0, sizeof *M);
    MH_TRY(mh_scope_str(s, a.ptr, a.len, &M->addr));
    if (M->addr == SC_NONE) return MH_ELIMIT;
    const struct mh_map_entry *so = s->o.store ? mh_map_get(&s->store_owner, a.ptr, a.len) : NULL;
    uint32_t n = 0;
    for (uint32_t i = so ? (uint32_t)so->value : SC_NONE; i != SC_NONE; i = s->smb_next[i]) n++;
    if (n) {
        M->smb = mh_malloc(n * sizeof *M->smb);
        if (!M->smb) return MH_ENOMEM;
        bool flat = true;
        for (uint32_t i = (uint32_t)so->value; i != SC_NONE; i = s->smb_next[i]) {
            M->smb[M->nsmb++] = i;
            for (uint32_t l = s->loc_first[i]; l != SC_NONE && flat; l = s->loc_next[l]) {
                const struct mh_mail_loc *L = mh_mailstore_loc(s->o.store, l);
                const char *f = mh_mailstore_folder(s->o.store, L->folder);
                flat = f && strcmp(f, "INBOX") == 0 &&
                       mh_mailstore_file(s->o.store, L->file)->kind == MH_STORE_MBOX;
            }
        }
        M->flattened = flat;
    }
    e->value = s->nmbxs;
    *out = (uint32_t)s->nmbxs++;
    return MH_OK;
}

/* ------------------------------------------------------------ messages */

static mh_status add_ev(mh_scope *s, uint32_t mbx, uint32_t msgid, const struct mh_mail_msg *m,
                        enum sc_basis b, uint32_t rec, uint32_t inc, uint8_t lev, uint32_t folder,
                        uint8_t how, bool *fresh)
{
    if (fresh) *fresh = false;
    if (msgid == SC_NONE) return MH_OK;
    uint32_t key[2] = {mbx, msgid};
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->msg_ix, (const char *)key, sizeof key, &e, &created);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (created) {
        e->value = SC_NONE;
        MH_TRY(mh_scope_grow((void **)&s->msgs, &s->capmsgs, s->nmsgs + 1, sizeof *s->msgs,
                             MH_SCOPE_MAX_MESSAGES));
        struct sc_msg *M = &s->msgs[s->nmsgs];
        memset(M, 0, sizeof *M);
        M->mbx = mbx;
        M->msgid = msgid;
        M->ev_first = M->ev_last = SC_NONE;
        M->trace = SC_NONE;
        M->loc = SC_NONE;
        M->m = m;
        e->value = s->nmsgs++;
        s->mbxs[mbx].nmsgs++;
    }
    struct sc_msg *M = &s->msgs[e->value];
    M->bases |= (uint8_t)(1u << b);
    for (uint32_t i = M->ev_first; i != SC_NONE; i = s->evs[i].next)
        if (s->evs[i].rec == rec && s->evs[i].basis == b && s->evs[i].inc == inc) return MH_OK;
    if (fresh) *fresh = true;
    if (M->nev >= MH_SCOPE_MAX_EVIDENCE) {
        M->omitted++;
        return MH_OK;
    }
    MH_TRY(mh_scope_grow((void **)&s->evs, &s->capevs, s->nevs + 1, sizeof *s->evs,
                         (size_t)UINT32_MAX - 1));
    uint32_t k = (uint32_t)s->nevs++;
    s->evs[k] = (struct sc_ev){rec, inc, folder, SC_NONE, (uint8_t)b, lev, how};
    if (M->ev_last == SC_NONE) M->ev_first = k;
    else s->evs[M->ev_last].next = k;
    M->ev_last = k;
    M->nev++;
    return MH_OK;
}

static bool from_owner(const mh_scope *s, const struct sc_mbx *M, const struct mh_mail_msg *m)
{
    struct mh_slice owner = mh_scope_str_get(s, M->addr);
    for (uint32_t i = 0; i < m->naddrs; i++)
        if (m->addrs[i].role == MH_ROLE_FROM &&
            mh_slice_eq_nocase(mh_slice_cstr(m->addrs[i].addr), owner))
            return true;
    return false;
}

/* What an enumeration selects. */
struct sel {
    enum sc_basis basis;
    uint32_t rec, inc, folder; /* evidence */
    uint8_t lev;
    mh_time limit;             /* Date <= limit (unknown dates included) */
    struct mh_slice path;      /* log folder path; unused for the whole mailbox */
    enum sc_how how;
    bool strip_inbox;
};

static bool selected(const mh_scope *s, const struct sc_mbx *M, const struct sel *q,
                     const struct mh_mail_loc *L, const struct mh_mail_msg *m)
{
    if (m->date != MH_TIME_NONE && m->date > q->limit) return false;
    switch (q->how) {
    case SC_H_WHOLE:
        return true;
    case SC_H_SPLIT: {
        bool sent = from_owner(s, M, m);
        return mh_folder_classify(q->path) == MH_FOLDER_SENT ? sent : !sent;
    }
    case SC_H_FOLDER: {
        const char *f = mh_mailstore_folder(s->o.store, L->folder);
        return f && mh_folder_match(q->path, mh_slice_cstr(f), q->strip_inbox);
    }
    default:
        return false;
    }
}

static mh_status enumerate(mh_scope *s, uint32_t mbx, const struct sel *q, uint32_t *count)
{
    *count = 0;
    const mh_mailstore *st = s->o.store;
    for (uint32_t k = 0; k < s->mbxs[mbx].nsmb; k++) {
        for (uint32_t l = s->loc_first[s->mbxs[mbx].smb[k]]; l != SC_NONE; l = s->loc_next[l]) {
            const struct mh_mail_loc *L = mh_mailstore_loc(st, l);
            const struct mh_mail_msg *m = mh_mailstore_msg(st, L->msg);
            if (!selected(s, &s->mbxs[mbx], q, L, m)) continue;
            uint32_t id;
            MH_TRY(mh_scope_str(s, m->message_id, strlen(m->message_id), &id));
            bool fresh;
            MH_TRY(add_ev(s, mbx, id, m, q->basis, q->rec, q->inc, q->lev, q->folder,
                          (uint8_t)q->how, &fresh));
            if (fresh) (*count)++;
        }
    }
    return MH_OK;
}

/* The way a Sync of `path` reaches the store of mailbox mbx. */
static enum sc_how sync_how(const mh_scope *s, uint32_t mbx, struct mh_slice path)
{
    const struct sc_mbx *M = &s->mbxs[mbx];
    enum mh_folder_class c = mh_folder_classify(path);
    if (c == MH_FOLDER_NONMAIL) return SC_H_NONMAIL;
    if (!M->nsmb) return SC_H_NOSTORE;
    if (c == MH_FOLDER_ROOT) return SC_H_WHOLE;
    if (M->flattened) return (c == MH_FOLDER_INBOX || c == MH_FOLDER_SENT) ? SC_H_SPLIT : SC_H_WHOLE;
    return SC_H_FOLDER;
}

static mh_status sync_folder(mh_scope *s, uint32_t mbx, const struct sc_match *mt, uint32_t folder)
{
    const struct sc_rec *r = &s->recs[mt->rec];
    struct sel q = {SC_B_SYNC, mt->rec, mt->inc, folder, mt->level, r->t,
                    folder == SC_NONE ? MH_SLICE_NULL : mh_scope_str_get(s, folder), SC_H_WHOLE,
                    false};
    q.how = sync_how(s, mbx, q.path);
    uint32_t n = 0;
    if (q.how == SC_H_FOLDER) {
        MH_TRY(enumerate(s, mbx, &q, &n));
        if (!n) { /* Maildir++: "\Inbox\X" stored as "X" */
            q.strip_inbox = true;
            MH_TRY(enumerate(s, mbx, &q, &n));
        }
        if (!n) {
            /* nothing there: was the folder in the store at all? */
            bool any = false;
            for (uint32_t k = 0; k < s->mbxs[mbx].nsmb && !any; k++)
                for (uint32_t l = s->loc_first[s->mbxs[mbx].smb[k]]; l != SC_NONE && !any;
                     l = s->loc_next[l]) {
                    const char *f = mh_mailstore_folder(s->o.store, mh_mailstore_loc(s->o.store, l)->folder);
                    any = f && (mh_folder_match(q.path, mh_slice_cstr(f), false) ||
                                mh_folder_match(q.path, mh_slice_cstr(f), true));
                }
            if (!any) q.how = SC_H_NOTFOUND;
        }
    } else if (q.how == SC_H_WHOLE || q.how == SC_H_SPLIT) {
        MH_TRY(enumerate(s, mbx, &q, &n));
    }
    MH_TRY(mh_scope_grow((void **)&s->syncs, &s->capsyncs, s->nsyncs + 1, sizeof *s->syncs,
                         (size_t)UINT32_MAX - 1));
    s->syncs[s->nsyncs++] = (struct sc_sync){mbx, mt->rec, mt->inc, folder, (uint8_t)q.how, n};
    return MH_OK;
}

static mh_status apply_match(mh_scope *s, const struct sc_match *mt)
{
    const struct sc_rec *r = &s->recs[mt->rec];
    if (r->f[SC_F_MBX] == SC_NONE) return MH_OK;
    uint32_t mbx;
    MH_TRY(get_mbx(s, r->f[SC_F_MBX], &mbx));
    if (r->op == SC_OP_SYNC) {
        for (uint32_t i = 0; i < r->nitems; i++)
            MH_TRY(sync_folder(s, mbx, mt, s->items[r->item0 + i].folder));
        if (!r->nitems) MH_TRY(sync_folder(s, mbx, mt, SC_NONE));
        return MH_OK;
    }
    enum sc_basis b = r->op == SC_OP_SEND ? SC_B_SENT : SC_B_BIND;
    for (uint32_t i = 0; i < r->nitems; i++) {
        const struct sc_item *it = &s->items[r->item0 + i];
        MH_TRY(add_ev(s, mbx, it->msgid, NULL, b, mt->rec, mt->inc, mt->level, it->folder,
                      SC_H_FOLDER, NULL));
    }
    return MH_OK;
}

/* ------------------------------------------------------------ throttling */

struct hit { /* a matched record: mailbox, time, incident */
    uint32_t mbx;
    uint32_t inc;
    mh_time t;
};

static int hit_cmp(const void *a, const void *b)
{
    const struct hit *x = a, *y = b;
    if (x->mbx != y->mbx) return x->mbx < y->mbx ? -1 : 1;
    if (x->t != y->t) return x->t < y->t ? -1 : 1;
    return x->inc < y->inc ? -1 : x->inc > y->inc;
}

/* First incident with a hit on mailbox key `mbx` in [lo, hi], SC_NONE. */
static uint32_t near_hit(const struct hit *h, size_t n, uint32_t mbx, mh_time lo, mh_time hi)
{
    size_t a = 0, b = n;
    while (a < b) {
        size_t m = a + (b - a) / 2;
        if (h[m].mbx < mbx || (h[m].mbx == mbx && h[m].t < lo)) a = m + 1;
        else b = m;
    }
    uint32_t best = SC_NONE;
    for (size_t i = a; i < n && h[i].mbx == mbx && h[i].t <= hi; i++)
        if (h[i].inc < best) best = h[i].inc;
    return best;
}

static mh_time tsub(mh_time t, mh_time d)
{
    return t < SC_TIME_MIN + d ? SC_TIME_MIN : t - d;
}

static mh_status throttles(mh_scope *s)
{
    mh_status st = MH_OK;
    struct hit *h = mh_malloc((s->nmatches ? s->nmatches : 1) * sizeof *h);
    struct sc_match *best = mh_malloc((s->nrecs ? s->nrecs : 1) * sizeof *best);
    if (!h || !best) {
        st = MH_ENOMEM;
        goto out;
    }
    size_t nh = 0;
    for (size_t i = 0; i < s->nrecs; i++) best[i] = (struct sc_match){SC_NONE, SC_NONE, 0};
    for (size_t i = 0; i < s->nmatches; i++) {
        const struct sc_match *mt = &s->matches[i];
        const struct sc_rec *r = &s->recs[mt->rec];
        if (mt->inc < best[mt->rec].inc) best[mt->rec] = *mt;
        if (r->f[SC_F_MBX] == SC_NONE) continue;
        h[nh++] = (struct hit){r->f[SC_F_MBX], mt->inc, r->t};
    }
    qsort(h, nh, sizeof *h, hit_cmp);
    for (size_t i = 0; i < s->nrecs; i++) {
        const struct sc_rec *r = &s->recs[i];
        if (!r->throttled || r->f[SC_F_MBX] == SC_NONE) continue;
        uint32_t mbx;
        MH_CHECK(get_mbx(s, r->f[SC_F_MBX], &mbx));
        struct sc_tw w = {mbx, (uint32_t)i, SC_NONE, r->t, mh_scope_time_add(r->t, s->o.throttle_span), 0, 0};
        uint8_t lev = best[i].level;
        if (best[i].inc != SC_NONE) {
            w.inc = best[i].inc;
            w.how = 1;
        }
        if (w.inc == SC_NONE) {
            w.inc = near_hit(h, nh, r->f[SC_F_MBX], tsub(r->t, s->o.near), w.end);
            if (w.inc != SC_NONE) w.how = 2;
        }
        for (uint32_t k = 0; w.inc == SC_NONE && k < s->nincs; k++) {
            const struct sc_inc *I = &s->incs[k];
            bool listed = mh_scope_list_has(&I->given, r->f[SC_F_MBX]) ||
                          (r->f[SC_F_MBXUSER] != SC_NONE &&
                           mh_scope_list_has(&I->given, r->f[SC_F_MBXUSER]));
            if (listed && r->t >= I->wstart && r->t <= I->wend) {
                w.inc = k;
                w.how = 3;
            }
        }
        if (w.how && s->mbxs[mbx].nsmb) {
            struct sel q = {SC_B_THROTTLE, (uint32_t)i, w.inc, SC_NONE, lev, w.end, MH_SLICE_NULL,
                            SC_H_WHOLE, false};
            MH_CHECK(enumerate(s, mbx, &q, &w.nmsgs));
        }
        if (w.how) s->st.throttle_windows_in_context++;
        MH_CHECK(mh_scope_grow((void **)&s->tws, &s->captws, s->ntws + 1, sizeof *s->tws,
                               (size_t)UINT32_MAX - 1));
        s->tws[s->ntws++] = w;
    }
out:
    mh_free(h);
    mh_free(best);
    return st;
}

/* ------------------------------------------------------------ resolve */

static mh_status resolve(mh_scope *s)
{
    mh_status st = MH_OK;
    uint8_t *seen = mh_calloc((s->strs.n + 7) / 8 + 1, 1);
    if (!seen) return MH_ENOMEM;
    for (size_t i = 0; i < s->nmsgs; i++) {
        struct sc_msg *M = &s->msgs[i];
        struct mh_slice id = mh_scope_str_get(s, M->msgid);
        if (!M->m && s->o.store) M->m = mh_mailstore_find(s->o.store, id.ptr, id.len);
        if (M->m) {
            const struct sc_mbx *B = &s->mbxs[M->mbx];
            for (uint32_t l = M->m->first_loc; l != MH_MAIL_NONE && M->loc == SC_NONE;
                 l = mh_mailstore_loc(s->o.store, l)->next)
                for (uint32_t k = 0; k < B->nsmb; k++)
                    if (mh_mailstore_loc(s->o.store, l)->mailbox == B->smb[k]) M->loc = l;
            s->st.in_store++;
        } else {
            s->st.not_in_store++;
            const struct mh_map_entry *e = mh_map_get(&s->trace_ix, id.ptr, id.len);
            if (e && e->value != SC_NONE) {
                M->trace = (uint32_t)e->value;
                s->st.trace_joined++;
            }
        }
        if (!(seen[M->msgid / 8] & (1u << (M->msgid % 8)))) {
            seen[M->msgid / 8] |= (uint8_t)(1u << (M->msgid % 8));
            s->st.distinct_messages++;
        }
        for (int b = 0; b < SC_B__N; b++)
            if (M->bases & (1u << b)) s->st.by_basis[b]++;
        if (M->bases & ((1u << SC_B_BIND) | (1u << SC_B_SENT))) s->st.by_confidence[0]++;
        else if (M->bases & (1u << SC_B_SYNC)) s->st.by_confidence[1]++;
        else s->st.by_confidence[2]++;
    }
    s->st.messages = s->nmsgs;
    s->st.mailboxes = s->nmbxs;
    mh_free(seen);
    return st;
}

mh_status mh_scope_collect(mh_scope *s)
{
    MH_TRY(store_view(s));
    for (size_t i = 0; i < s->nmatches; i++) MH_TRY(apply_match(s, &s->matches[i]));
    /* per-record counts (once per record, whatever the number of incidents) */
    for (size_t i = 0; i < s->nrecs; i++) {
        const struct sc_rec *r = &s->recs[i];
        if (!r->matched || r->f[SC_F_MBX] == SC_NONE) continue;
        uint32_t mbx;
        MH_TRY(get_mbx(s, r->f[SC_F_MBX], &mbx));
        struct sc_mbx *M = &s->mbxs[mbx];
        if (r->op == SC_OP_SYNC) M->sync_records++;
        else if (r->op == SC_OP_SEND) M->send_records++;
        else {
            M->bind_records++;
            if (r->opcount > r->nitems) {
                M->partial++;
                M->unlisted += r->opcount - r->nitems;
                s->st.partial++;
            }
        }
    }
    MH_TRY(throttles(s));
    return resolve(s);
}
