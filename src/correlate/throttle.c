/*
 * correlate/throttle.c -- D12 throttled mailbox: an audit coverage gap
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> scope (gaps), incidents.
 *
 * "If more than 1000 MailItemsAccessed audit records are generated in less
 * than 24 hours, Exchange Online will stop generating auditing records for
 * MailItemsAccessed" (log-formats.md §4). A record with OperationProperties
 * IsThrottled = True marks the start: the mailbox is UNAUDITED for the next
 * d12.unaudited (24 h) and every item in it must be assumed accessed (R2
 * basis "throttle"). Per mailbox the windows [t, t + 24h] of all throttled
 * records are merged (sorted, overlapping windows joined); the earliest
 * record of each merged window is its evidence.
 *
 * Out at finish:
 *   - coverage gaps (mh_detectors_gaps): every merged window, for scope;
 *   - mh.d12.throttled_mailbox: low, a heavy legitimate user is throttled
 *     too; medium when the throttled access came through Microsoft Graph with
 *     a third-party ClientAppId (Microsoft's "MailItemsAccessed Throttling
 *     [Nobelium]" hunting query). The incident builder raises it further when
 *     the window overlaps other findings on the same mailbox or app.
 *
 * Example: IsThrottled records at 10:00 and 20:00 -> one gap 10:00 .. 20:00+24h.
 * State (state.h): d12_gap; windows of earlier runs are merged with this run's
 * (union: idempotent). Limits: windows share MH_DET_MAX_GAPS. Not thread-safe.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"

static const char *const tags[] = {"attack.defense-evasion", "attack.t1562.008",
                                   "attack.collection", "attack.t1114.002", "mailhound.d12"};
static const struct mh_det_rule rule = {
    "mh.d12.throttled_mailbox", "Mailbox audit throttled: 24 hours unaudited", "D12",
    "MailItemsAccessed with IsThrottled = True: Exchange stops bind auditing of this mailbox "
    "for 24 hours, so every item must be assumed accessed in that window",
    tags, 5};

#define GRAPH_APP_ID "00000003-0000-0000-c000-000000000000"

struct window {
    uint32_t mailbox;
    mh_time start, end;
    bool from_state, graph_third_party;
    struct mh_det_evid ev;
};

struct throttle {
    struct window *w;
    size_t n, cap;
};

static mh_status th_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct throttle *t = mh_calloc(1, sizeof *t);
    if (!t) return MH_ENOMEM;
    *self = t;
    return MH_OK;
}

static void th_destroy(void *self)
{
    struct throttle *t = self;
    mh_free(t->w);
    mh_free(t);
}

static mh_status push(struct mh_det_ctx *cx, struct throttle *t, const struct window *w)
{
    mh_status st;
    MH_DET_GROW(t->w, t->cap, t->n, MH_DET_MAX_GAPS, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    t->w[t->n++] = *w;
    return MH_OK;
}

static mh_status th_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const thr_paths[] = {"OperationProperties.IsThrottled", "IsThrottled",
                                            NULL};
    struct throttle *t = self;
    if (!cx->cfg.d12_enabled || ev->kind != MH_SRC_UAL_MAILBOX) return MH_OK;
    struct mh_slice op, thr, mailbox, app, client;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!mh_slice_eq_cstr(op, "mailitemsaccessed")) return MH_OK;
    MH_TRY(mh_det_field(ev, thr_paths, &thr));
    if (!mh_slice_eq_nocase(thr, MH_SLICE_LIT("true"))) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    MH_TRY(mh_det_entity(ev, MH_ENT_CLIENT_APP_ID, &client));
    struct window w;
    memset(&w, 0, sizeof w);
    w.mailbox = mh_det_intern_lower(cx, mailbox);
    if (!w.mailbox) return MH_OK;
    w.start = ev->time;
    w.end = ev->time + cx->cfg.d12_unaudited;
    w.graph_third_party = mh_slice_eq_nocase(app, MH_SLICE_LIT(GRAPH_APP_ID)) && client.len &&
                          !mh_det_first_party(cx, client);
    MH_TRY(mh_det_capture(cx, ev, &w.ev));
    return push(cx, t, &w);
}

static int cmp_window(const void *pa, const void *pb, void *arg)
{
    const struct window *a = pa, *b = pb;
    const struct mh_det_ctx *cx = arg;
    struct mh_slice ma = mh_det_str(cx, a->mailbox), mb = mh_det_str(cx, b->mailbox);
    size_t n = ma.len < mb.len ? ma.len : mb.len;
    int c = n ? memcmp(ma.ptr, mb.ptr, n) : 0;
    if (c) return c;
    if (ma.len != mb.len) return ma.len < mb.len ? -1 : 1;
    if (a->start != b->start) return a->start < b->start ? -1 : 1;
    if (a->from_state != b->from_state) return a->from_state ? 1 : -1; /* run evidence first */
    if (a->ev.ref.file != b->ev.ref.file) return a->ev.ref.file < b->ev.ref.file ? -1 : 1;
    if (a->ev.ref.record != b->ev.ref.record) return a->ev.ref.record < b->ev.ref.record ? -1 : 1;
    return 0;
}

/* Sort and merge overlapping windows of one mailbox (in place). */
static void merge(struct mh_det_ctx *cx, struct throttle *t)
{
    if (!t->n) return;
    qsort_r(t->w, t->n, sizeof *t->w, cmp_window, cx);
    size_t o = 0;
    for (size_t i = 1; i < t->n; i++) {
        struct window *cur = &t->w[o], *nx = &t->w[i];
        if (nx->mailbox == cur->mailbox && nx->start <= cur->end) {
            if (nx->end > cur->end) cur->end = nx->end;
            cur->graph_third_party |= nx->graph_third_party;
            if (cur->from_state && !nx->from_state) { /* keep this run's evidence */
                mh_time s = cur->start;
                cur->ev = nx->ev;
                cur->from_state = false;
                cur->start = s;
            }
            continue;
        }
        t->w[++o] = *nx;
    }
    t->n = o + 1;
}

static mh_status th_finish(void *self, struct mh_det_ctx *cx)
{
    struct throttle *t = self;
    if (!cx->cfg.d12_enabled) return MH_OK;
    merge(cx, t);
    for (size_t i = 0; i < t->n; i++) {
        const struct window *w = &t->w[i];
        MH_TRY(mh_det_gap(cx, w->mailbox, w->start, w->end, &w->ev.ref));
        if (w->from_state) continue; /* reported by the run that saw it */
        struct mh_det_pending *p = mh_det_pend(
            cx, &rule, w->graph_third_party ? MH_LEVEL_MEDIUM : MH_LEVEL_LOW, &w->ev);
        if (!p) continue;
        p->first = w->start;
        p->last = w->end;
        mh_det_pend_num(cx, p, "unaudited_from", w->start / MH_USEC_PER_SEC);
        mh_det_pend_num(cx, p, "unaudited_to", w->end / MH_USEC_PER_SEC);
        if (w->graph_third_party)
            mh_det_pend_str(cx, p, "note", MH_SLICE_LIT("Graph access by a third-party client"));
    }
    return MH_OK;
}

static mh_status th_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct throttle *t = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(mh_state_db(stt),
                           "SELECT mailbox, start, end FROM d12_gap ORDER BY mailbox, start", &q,
                           cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice mb;
        MH_CHECK(mh_db_column_text(q, 0, &mb, cx->err));
        struct window w;
        memset(&w, 0, sizeof w);
        w.mailbox = mh_det_intern(cx, mb);
        if (!w.mailbox) continue;
        w.start = mh_db_column_int(q, 1);
        w.end = mh_db_column_int(q, 2);
        w.from_state = true;
        w.ev.time = w.start;
        w.ev.ent[MH_ENT_MAILBOX] = w.mailbox;
        MH_CHECK(push(cx, t, &w));
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status th_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct throttle *t = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    MH_CHECK(mh_db_exec(db, "DELETE FROM d12_gap", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO d12_gap VALUES(?1, ?2, ?3)", &q, cx->err));
    for (size_t i = 0; i < t->n; i++) {
        struct mh_slice mb = mh_det_str(cx, t->w[i].mailbox);
        MH_CHECK(mh_db_bind_text(q, 1, mb.ptr, mb.len, cx->err));
        MH_CHECK(mh_db_bind_int(q, 2, t->w[i].start, cx->err));
        MH_CHECK(mh_db_bind_int(q, 3, t->w[i].end, cx->err));
        MH_CHECK(mh_db_step(q, &row, cx->err));
        mh_db_reset(q);
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_throttle_ops = {
    "throttle", th_create, th_feed, th_finish, th_load, th_save, th_destroy,
};
