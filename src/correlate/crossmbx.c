/*
 * correlate/crossmbx.c -- D10 baseline variant: a user reading other users'
 * mailboxes (or folders in them) not read within the baseline (pairs are
 * kept d10.baseline + d10.new_window after their last read, so a mailbox
 * read every two months is new each time)
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * The Sigma rule d10_cross_mailbox_access.yml catches bursts (> 5 other
 * mailboxes in 10 minutes, low). This detector adds the 30-day baseline
 * (detections.md §6 D10; Microsoft "Anomaly of MailItemAccess by Other Users
 * Mailbox"): a delegate or admin account that starts reading mailboxes it
 * did not read within the baseline -- a compromised assistant, or an attacker who gave himself
 * FullAccess -- without the volume a burst rule needs.
 *
 * Data model. Every MailItemsAccessed record whose accessor is a USER other
 * than the mailbox owner (UserId is a UPN and differs from MailboxOwnerUPN)
 * records the pair (tenant, accessor, mailbox, folder 0) and one pair per
 * folder path of the record (tenant, accessor, mailbox, folder), each with
 * its earliest time (and that record as evidence) and its latest. App-only
 * access is D9's (a new (AppId, ClientAppId) pair per mailbox). The tenant's
 * coverage is its earliest MailItemsAccessed of any kind.
 *
 * Verdict (at finish; minima only, so input order does not matter). A pair
 * is NEW when first(pair) >= coverage_first(tenant) + d10.baseline: the
 * tenant had the baseline's history and the pair was not in it. Per
 * (tenant, accessor), sorted by first time: the accessor alerts when more
 * than d10.max_new_mailboxes new mailboxes (1), or more than
 * d10.max_new_folders new folders of other mailboxes (5), were first read
 * within d10.new_window (14 d) of each other. The evidence is the record
 * that crossed the threshold, and only a pair first seen in this run can
 * cross it (pairs from the state count towards the window, but an accessor
 * reported by an earlier run is not reported again for the same pairs).
 * One detection per accessor: mh.d10.new_other_mailboxes, medium, with the
 * counts and the first new mailboxes by name.
 *
 * Example: baseline 30 d from 2024-01-01; on 2024-02-12 assistant@ reads
 * ceo@ (read daily since January: known) and, for the first time, cfo@ and
 * legal@ -> 2 new mailboxes within 14 d > 1 -> medium, evidence the legal@
 * record.
 *
 * State (state.h): d10_cover(tenant, first) and d10_pair(tenant, accessor,
 * mailbox, folder, first, last), pairs written while last is within
 * d10.baseline + d10.new_window of the run's end.
 *
 * Limits: MH_D10_MAX_PAIRS pairs, MH_D10_MAX_FOLDERS folder paths per record,
 * MH_D10_MAX_TENANTS tenants; new keys beyond are not tracked
 * (stats.dropped), which can only miss a detection. Not thread-safe.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"
#include "mailhound/limits.h"

static const char *const d10_tags[] = {"attack.collection", "attack.t1114.002", "mailhound.d10"};
static const struct mh_det_rule rule_d10 = {
    "mh.d10.new_other_mailboxes", "Account reading other users' mailboxes it never read before",
    "D10",
    "MailItemsAccessed by a delegate or admin account on mailboxes (or folders of other users' "
    "mailboxes) outside its baseline, more than the configured number within the window "
    "(Microsoft: Anomaly of MailItemAccess by Other Users Mailbox)",
    d10_tags, 3};

struct xpair {
    uint32_t tenant, accessor, mailbox, folder; /* folder 0: the mailbox itself */
    struct mh_det_evid ev;                      /* earliest record of this run */
    bool in_run;
    mh_time last;        /* latest sighting, run or state */
    mh_time state_first; /* MH_TIME_NONE: not in the state */
};

struct xcover {
    uint32_t tenant;
    mh_time first; /* run or state */
};

struct crossmbx {
    struct mh_map pair_idx, cover_idx; /* binary key -> index */
    struct xpair *pairs;
    size_t npairs, cap_pairs;
    struct xcover *covers;
    size_t ncovers, cap_covers;
};

static mh_time tmin(mh_time a, mh_time b)
{
    if (a == MH_TIME_NONE) return b;
    if (b == MH_TIME_NONE) return a;
    return a < b ? a : b;
}

static mh_time pair_first(const struct xpair *p)
{
    return tmin(p->in_run ? p->ev.time : MH_TIME_NONE, p->state_first);
}

static mh_status xm_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct crossmbx *x = mh_calloc(1, sizeof *x);
    if (!x) return MH_ENOMEM;
    mh_map_init(&x->pair_idx, MH_D10_MAX_PAIRS, false);
    mh_map_init(&x->cover_idx, MH_D10_MAX_TENANTS, false);
    *self = x;
    return MH_OK;
}

static void xm_destroy(void *self)
{
    struct crossmbx *x = self;
    mh_map_fini(&x->pair_idx);
    mh_map_fini(&x->cover_idx);
    mh_free(x->pairs);
    mh_free(x->covers);
    mh_free(x);
}

static mh_status note_cover(struct mh_det_ctx *cx, struct crossmbx *x, uint32_t tenant, mh_time t)
{
    struct xcover *c;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &x->cover_idx, &tenant, sizeof tenant, x->covers, x->cap_covers, x->ncovers,
                MH_D10_MAX_TENANTS, c, &created, st);
    if (st || !c) return st;
    if (created) c->tenant = tenant;
    c->first = created ? t : tmin(c->first, t);
    return MH_OK;
}

/* The pair's slot (NULL at the cap: counted as dropped). */
static mh_status get_pair(struct mh_det_ctx *cx, struct crossmbx *x, const uint32_t key[4],
                          struct xpair **out)
{
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &x->pair_idx, key, 4 * sizeof key[0], x->pairs, x->cap_pairs, x->npairs,
                MH_D10_MAX_PAIRS, *out, &created, st);
    if (st || !*out || !created) return st;
    struct xpair *p = *out;
    p->tenant = key[0];
    p->accessor = key[1];
    p->mailbox = key[2];
    p->folder = key[3];
    p->last = p->state_first = MH_TIME_NONE;
    return MH_OK;
}

static mh_status note_run(struct mh_det_ctx *cx, struct crossmbx *x, const uint32_t key[4],
                          struct mh_event *ev)
{
    struct xpair *p;
    MH_TRY(get_pair(cx, x, key, &p));
    if (!p) return MH_OK;
    if (!p->in_run || mh_det_evid_before(ev, &p->ev)) {
        MH_TRY(mh_det_capture(cx, ev, &p->ev));
        p->in_run = true;
    }
    if (p->last == MH_TIME_NONE || ev->time > p->last) p->last = ev->time;
    return MH_OK;
}

struct folders {
    struct mh_slice path[MH_D10_MAX_FOLDERS];
    size_t n;
    bool over;
};

static bool take_folder(void *ctx, const struct mh_value *v)
{
    struct folders *f = ctx;
    if (v->type != MH_JSTR || !v->text.len) return false;
    if (f->n == MH_D10_MAX_FOLDERS) {
        f->over = true;
        return true;
    }
    f->path[f->n++] = v->text;
    return false;
}

static mh_status xm_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct crossmbx *x = self;
    if (!cx->cfg.d10_enabled || ev->kind != MH_SRC_UAL_MAILBOX) return MH_OK;
    struct mh_slice op, tenant, user, mailbox;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!mh_slice_eq_cstr(op, "mailitemsaccessed")) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_TENANT, &tenant));
    uint32_t it = mh_det_intern_lower(cx, tenant);
    MH_TRY(note_cover(cx, x, it, ev->time));
    MH_TRY(mh_det_entity(ev, MH_ENT_USER, &user));
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    /* a user (a UPN) reading a mailbox that is not its own; apps are D9's */
    if (!mailbox.len || !user.len || !memchr(user.ptr, '@', user.len) ||
        mh_slice_eq_nocase(user, mailbox))
        return MH_OK;
    uint32_t key[4] = {it, mh_det_intern_lower(cx, user), mh_det_intern_lower(cx, mailbox), 0};
    if (!key[1] || !key[2]) return MH_OK;
    MH_TRY(note_run(cx, x, key, ev));
    struct folders f;
    f.n = 0;
    f.over = false;
    MH_TRY(mh_event_get(ev, "Folders.Path", 12, take_folder, &f, NULL));
    if (f.over) cx->stats.dropped++;
    for (size_t i = 0; i < f.n; i++) {
        key[3] = mh_det_intern_lower(cx, f.path[i]);
        if (key[3]) MH_TRY(note_run(cx, x, key, ev));
    }
    return MH_OK;
}

/* ---- verdict ---- */

struct judged {
    const struct xpair *p;
    mh_time first;
};

static int cmp_judged(const void *pa, const void *pb)
{
    const struct judged *a = pa, *b = pb;
    const struct xpair *x = a->p, *y = b->p;
#define CMP(u, v)                                                                                  \
    if ((u) != (v)) return (u) < (v) ? -1 : 1
    CMP(x->tenant, y->tenant);
    CMP(x->accessor, y->accessor);
    CMP(x->folder != 0, y->folder != 0);
    CMP(a->first, b->first);
    CMP(x->mailbox, y->mailbox);
    CMP(x->folder, y->folder);
#undef CMP
    return 0;
}

/* Index of the first item of v[0..n) (sorted by first) that makes more than
 * max items within window, and that this run reports; n when none. */
static size_t crossing(const struct judged *v, size_t n, uint32_t max, mh_time window)
{
    for (size_t i = max; i < n; i++) {
        if (v[i].first - v[i - max].first > window) continue;
        const struct xpair *p = v[i].p;
        if (p->in_run && (p->state_first == MH_TIME_NONE || p->ev.time <= p->state_first)) return i;
    }
    return n;
}

/* Count of items of v[0..n) within window before v[at].first (inclusive). */
static size_t within(const struct judged *v, size_t at, mh_time window)
{
    size_t k = 0;
    for (size_t i = at + 1; i > 0; i--) {
        if (v[at].first - v[i - 1].first > window) break;
        k++;
    }
    return k;
}

static mh_status report(struct mh_det_ctx *cx, const struct judged *mb, size_t nmb,
                        const struct judged *fo, size_t nfo)
{
    const struct mh_detector_config *cf = &cx->cfg;
    size_t im = crossing(mb, nmb, cf->d10_max_new_mailboxes, cf->d10_new_window);
    size_t ifo = crossing(fo, nfo, cf->d10_max_new_folders, cf->d10_new_window);
    if (im == nmb && ifo == nfo) return MH_OK;
    /* the earlier crossing is the evidence */
    bool by_mb = im < nmb && (ifo == nfo || mb[im].first <= fo[ifo].first);
    const struct judged *t = by_mb ? &mb[im] : &fo[ifo];
    struct mh_det_pending *d = mh_det_pend(cx, &rule_d10, MH_LEVEL_MEDIUM, &t->p->ev);
    mh_det_pend_str(cx, d, "accessor", mh_det_str(cx, t->p->accessor));
    mh_det_pend_str(cx, d, "crossed", by_mb ? MH_SLICE_LIT("mailboxes") : MH_SLICE_LIT("folders"));
    size_t at_mb = nmb, at_fo = nfo;
    for (size_t i = 0; i < nmb; i++)
        if (mb[i].first <= t->first) at_mb = i;
    for (size_t i = 0; i < nfo; i++)
        if (fo[i].first <= t->first) at_fo = i;
    mh_det_pend_num(cx, d, "new_mailboxes", at_mb < nmb ? (int64_t)within(mb, at_mb, cf->d10_new_window) : 0);
    mh_det_pend_num(cx, d, "new_folders", at_fo < nfo ? (int64_t)within(fo, at_fo, cf->d10_new_window) : 0);
    /* the new mailboxes up to the crossing, by name (at most 3) */
    char names[400];
    size_t len = 0, shown = 0;
    for (size_t i = 0; i < nmb && shown < 3; i++) {
        if (mb[i].first > t->first || t->first - mb[i].first > cf->d10_new_window) continue;
        struct mh_slice s = mh_det_str(cx, mb[i].p->mailbox);
        if (len + s.len + 2 > sizeof names) break;
        if (len) names[len++] = ',';
        memcpy(names + len, s.ptr, s.len);
        len += s.len;
        shown++;
    }
    if (len) mh_det_pend_str(cx, d, "mailboxes", mh_slice_make(names, len));
    mh_det_pend_num(cx, d, "baseline_days", cf->d10_baseline / ((mh_time)86400 * MH_USEC_PER_SEC));
    return MH_OK;
}

static mh_status xm_finish(void *self, struct mh_det_ctx *cx)
{
    struct crossmbx *x = self;
    if (!cx->cfg.d10_enabled || !x->npairs) return MH_OK;
    struct judged *v = mh_malloc(x->npairs * sizeof *v);
    if (!v) return MH_ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < x->npairs; i++) {
        const struct xpair *p = &x->pairs[i];
        struct mh_map_entry *e = mh_map_get(&x->cover_idx, (const char *)&p->tenant, sizeof p->tenant);
        mh_time first = pair_first(p);
        if (!e || first == MH_TIME_NONE) continue;
        if (first < x->covers[e->value].first + cx->cfg.d10_baseline) continue; /* baseline */
        v[n++] = (struct judged){p, first};
    }
    qsort(v, n, sizeof *v, cmp_judged);
    mh_status st = MH_OK;
    for (size_t i = 0; i < n && !st;) {
        size_t j = i;
        while (j < n && v[j].p->tenant == v[i].p->tenant && v[j].p->accessor == v[i].p->accessor) j++;
        size_t k = i;
        while (k < j && v[k].p->folder == 0) k++;
        st = report(cx, v + i, k - i, v + k, j - k);
        i = j;
    }
    mh_free(v);
    return st;
}

/* ---- state ---- */

static mh_status xm_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct crossmbx *x = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    if (!cx->cfg.d10_enabled) return MH_OK;
    MH_CHECK(mh_db_prepare(db, "SELECT tenant, first FROM d10_cover ORDER BY tenant", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice t;
        MH_CHECK(mh_db_column_text(q, 0, &t, cx->err));
        MH_CHECK(note_cover(cx, x, mh_det_intern(cx, t), mh_db_column_int(q, 1)));
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT tenant, accessor, mailbox, folder, first, last FROM d10_pair"
                               " ORDER BY tenant, accessor, mailbox, folder", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        uint32_t key[4];
        for (int c = 0; c < 4; c++) {
            struct mh_slice s;
            MH_CHECK(mh_db_column_text(q, c, &s, cx->err));
            key[c] = mh_det_intern(cx, s);
            if (s.len && !key[c]) {
                st = mh_error_set(cx->err, MH_ELIMIT, "state too large", "%s", "strings");
                goto out;
            }
        }
        struct xpair *p;
        MH_CHECK(get_pair(cx, x, key, &p));
        if (!p) continue;
        mh_time f = mh_db_column_int(q, 4), l = mh_db_column_int(q, 5);
        p->state_first = tmin(p->state_first, f);
        if (p->last == MH_TIME_NONE || l > p->last) p->last = l;
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status xm_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct crossmbx *x = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    mh_db *db = mh_state_db(stt);
    if (!cx->cfg.d10_enabled) return MH_OK;
    /* retention counts from the latest read this detector saw, not from the
       run's latest event of any kind (one sign-in dated 2099 must not expire
       every pair) */
    mh_time now = MH_TIME_NONE;
    for (size_t i = 0; i < x->npairs; i++)
        if (x->pairs[i].last > now) now = x->pairs[i].last;
    MH_CHECK(mh_db_exec(db, "DELETE FROM d10_cover; DELETE FROM d10_pair", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d10_cover VALUES(?1, ?2)", &q, cx->err));
    for (size_t i = 0; i < x->ncovers; i++) {
        MH_CHECK(mh_det_bind_str(cx, q, 1, x->covers[i].tenant));
        MH_CHECK(mh_db_bind_int(q, 2, x->covers[i].first, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d10_pair VALUES(?1, ?2, ?3, ?4, ?5, ?6)", &q, cx->err));
    for (size_t i = 0; i < x->npairs; i++) {
        const struct xpair *p = &x->pairs[i];
        if (p->last == MH_TIME_NONE || now - p->last > cx->cfg.d10_baseline + cx->cfg.d10_new_window)
            continue; /* retention */
        MH_CHECK(mh_det_bind_str(cx, q, 1, p->tenant));
        MH_CHECK(mh_det_bind_str(cx, q, 2, p->accessor));
        MH_CHECK(mh_det_bind_str(cx, q, 3, p->mailbox));
        MH_CHECK(mh_det_bind_str(cx, q, 4, p->folder));
        MH_CHECK(mh_db_bind_int(q, 5, pair_first(p), cx->err));
        MH_CHECK(mh_db_bind_int(q, 6, p->last, cx->err));
        MH_CHECK(mh_det_step(cx, q));
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_crossmbx_ops = {
    "crossmbx", xm_create, xm_feed, xm_finish, xm_load, xm_save, xm_destroy,
};
