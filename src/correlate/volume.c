/*
 * correlate/volume.c -- D11 mail-read volume anomaly per application and per mailbox
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents.
 *
 * Every MailItemsAccessed record adds its OperationCount (1 when absent) to
 * the day (UTC) of two series: the application pair "AppId|ClientAppId"
 * (kind 0) and the mailbox (kind 1). The days on which the input has any
 * MailItemsAccessed at all are the COVERED days (a day without records in a
 * covered period counts as 0 for a series; an uncovered day is not a sample).
 *
 * At finish, for every series and every day d of this run:
 *     baseline = covered days in [d - d11.baseline, d - 1]   (>= d11.min_baseline_days)
 *     sigma    = max(stddev, sqrt(mean), 1)                  (Poisson floor: a flat
 *                                                             series cannot alert on +1)
 *     alert when value(d) > mean + k * sigma and value(d) >= d11.min_volume
 * with k = d11.k for applications (Microsoft "Anomaly of MailItemAccess by
 * GraphAPI": 2.5 sigma over 30 days) and d11.mailbox_k for mailboxes (3: the
 * "raise to cut noise" setting of MailItemsAccessedTimeSeries; the hour-of-week
 * seasonal model is replaced by whole days -- documented in docs/detections.md).
 * -> mh.d11.mail_volume_app / mh.d11.mail_volume_mailbox (medium): migrations
 * and backup runs are the false-positive trap, so the incident decides.
 *
 * Example: mailbox with 40, 55, 38, 61, 47, 52, 44 reads on seven covered
 * days (mean 48.1, sd 7.5, sigma 7.5): 2,400 reads the next day -> alert.
 *
 * State (state.h): d11_day (series, day, sum) for the last d11.baseline days
 * and d11_cover (covered days). Days covered by this run replace the stored
 * sums (rerunning the same input is idempotent; split runs at day boundaries).
 * Limits: MH_D11_MAX_KEYS (new series beyond are not tracked), MH_D11_MAX_DAYS
 * per series (oldest day evicted). Not thread-safe.
 */
#include <math.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"

static const char *const tags[] = {"attack.collection", "attack.t1114.002", "mailhound.d11"};
static const struct mh_det_rule rule_app = {
    "mh.d11.mail_volume_app", "Unusual mail-read volume by an application", "D11",
    "Daily MailItemsAccessed volume of an (AppId, ClientAppId) pair above mean + k sigma of "
    "its baseline",
    tags, 3};
static const struct mh_det_rule rule_mbx = {
    "mh.d11.mail_volume_mailbox", "Unusual mail-read volume on a mailbox", "D11",
    "Daily MailItemsAccessed volume of a mailbox above mean + k sigma of its baseline", tags, 3};

#define USEC_PER_DAY (INT64_C(86400) * MH_USEC_PER_SEC)

struct vday {
    int32_t day;
    bool in_run, in_state;
    uint64_t run_sum, state_sum;
    struct mh_det_evid ev; /* first record of the day in this run */
};

struct series {
    uint8_t kind;
    uint32_t key;
    struct vday *days; /* sorted by day */
    uint32_t n, cap;
};

struct volume {
    struct mh_map idx;
    struct series *s;
    size_t ns, cap;
    struct mh_map covered; /* day -> 1 (this run) | 2 (state) */
};

static mh_status vol_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct volume *v = mh_calloc(1, sizeof *v);
    if (!v) return MH_ENOMEM;
    mh_map_init(&v->idx, MH_D11_MAX_KEYS, false);
    mh_map_init(&v->covered, 1u << 20, false);
    *self = v;
    return MH_OK;
}

static void vol_destroy(void *self)
{
    struct volume *v = self;
    for (size_t i = 0; i < v->ns; i++) mh_free(v->s[i].days);
    mh_free(v->s);
    mh_map_fini(&v->idx);
    mh_map_fini(&v->covered);
    mh_free(v);
}

static int32_t day_of(mh_time t)
{
    int64_t d = t >= 0 ? t / USEC_PER_DAY : -((-t + USEC_PER_DAY - 1) / USEC_PER_DAY);
    return (int32_t)d;
}

static mh_status get_series(struct mh_det_ctx *cx, struct volume *v, uint8_t kind, uint32_t key,
                            struct series **out)
{
    uint32_t k[2] = {kind, key};
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &v->idx, k, sizeof k, v->s, v->cap, v->ns, MH_D11_MAX_KEYS, *out, &created, st);
    if (!st && created) {
        (*out)->kind = kind;
        (*out)->key = key;
    }
    return st;
}

/* The day record of s (created in order; the oldest is evicted at the cap). */
static mh_status get_day(struct series *s, int32_t day, struct vday **out)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->days[mid].day < day) lo = mid + 1;
        else hi = mid;
    }
    if (lo < s->n && s->days[lo].day == day) {
        *out = &s->days[lo];
        return MH_OK;
    }
    if (s->n < MH_D11_MAX_DAYS) MH_TRY(MH_GROW(s->days, s->cap, (size_t)s->n + 1, 8, MH_D11_MAX_DAYS));
    bool evicted;
    struct vday *d = mh_det_sorted_insert(s->days, &s->n, MH_D11_MAX_DAYS, sizeof *s->days, lo, &evicted);
    *out = d; /* NULL: older than every kept day */
    if (!d) return MH_OK;
    d->day = day;
    d->ev.time = MH_TIME_NONE;
    return MH_OK;
}

static mh_status mark_covered(struct volume *v, int32_t day, uint64_t bit)
{
    struct mh_map_entry *e;
    mh_status st = mh_map_put(&v->covered, (const char *)&day, sizeof day, &e, NULL);
    if (st == MH_ELIMIT) return MH_OK;
    if (st) return st;
    e->value |= bit;
    return MH_OK;
}

static uint64_t covered_bits(const struct volume *v, int32_t day)
{
    struct mh_map_entry *e = mh_map_get(&v->covered, (const char *)&day, sizeof day);
    return e ? e->value : 0;
}

static mh_status add(struct mh_det_ctx *cx, struct volume *v, uint8_t kind, uint32_t key,
                     struct mh_event *ev, uint64_t amount)
{
    struct series *s;
    struct vday *d;
    MH_TRY(get_series(cx, v, kind, key, &s));
    if (!s) return MH_OK;
    MH_TRY(get_day(s, day_of(ev->time), &d));
    if (!d) return MH_OK;
    if (!d->in_run || ev->time < d->ev.time) MH_TRY(mh_det_capture(cx, ev, &d->ev));
    d->in_run = true;
    d->run_sum += amount;
    return MH_OK;
}

static mh_status vol_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct volume *v = self;
    if (!cx->cfg.d11_enabled || ev->kind != MH_SRC_UAL_MAILBOX) return MH_OK;
    struct mh_slice op, app, client, mailbox;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!mh_slice_eq_cstr(op, "mailitemsaccessed")) return MH_OK;
    MH_TRY(mark_covered(v, day_of(ev->time), 1));
    uint64_t amount;
    MH_TRY(mh_det_operation_count(ev, &amount));
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    MH_TRY(mh_det_entity(ev, MH_ENT_CLIENT_APP_ID, &client));
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    if (app.len) {
        char buf[300];
        if (app.len + client.len + 1 < sizeof buf) {
            memcpy(buf, app.ptr, app.len);
            buf[app.len] = '|';
            if (client.len) memcpy(buf + app.len + 1, client.ptr, client.len);
            uint32_t k = mh_det_intern(cx, mh_slice_make(buf, app.len + 1 + client.len));
            if (k) MH_TRY(add(cx, v, 0, k, ev, amount));
        }
    }
    if (mailbox.len) {
        uint32_t k = mh_det_intern_lower(cx, mailbox);
        if (k) MH_TRY(add(cx, v, 1, k, ev, amount));
    }
    return MH_OK;
}

/* Merged value of a day: this run's sum when the run covers the day. */
static bool day_value(const struct volume *v, const struct vday *d, uint64_t *out)
{
    uint64_t bits = covered_bits(v, d->day);
    if (bits & 1) {
        *out = d->in_run ? d->run_sum : 0;
        return true;
    }
    if (bits & 2) {
        *out = d->in_state ? d->state_sum : 0;
        return true;
    }
    return false;
}

static mh_status vol_finish(void *self, struct mh_det_ctx *cx)
{
    struct volume *v = self;
    if (!cx->cfg.d11_enabled) return MH_OK;
    int32_t bdays = (int32_t)(cx->cfg.d11_baseline / USEC_PER_DAY);
    if (bdays < 1) bdays = 1;
    for (size_t i = 0; i < v->ns; i++) {
        const struct series *s = &v->s[i];
        double k = s->kind == 0 ? cx->cfg.d11_k : cx->cfg.d11_mailbox_k;
        for (uint32_t j = 0; j < s->n; j++) {
            const struct vday *d = &s->days[j];
            if (!d->in_run || d->run_sum < cx->cfg.d11_min_volume) continue;
            /* baseline samples: covered days before d (absent series day = 0) */
            double sum = 0, sq = 0;
            uint32_t nsamp = 0;
            uint32_t jj = j;
            for (int32_t day = d->day - bdays; day < d->day; day++) {
                uint64_t bits = covered_bits(v, day);
                if (!bits) continue;
                while (jj > 0 && s->days[jj - 1].day >= day) jj--;
                while (jj < j && s->days[jj].day < day) jj++;
                uint64_t x = 0;
                if (jj < j && s->days[jj].day == day) day_value(v, &s->days[jj], &x);
                sum += (double)x;
                sq += (double)x * (double)x;
                nsamp++;
            }
            if (nsamp < cx->cfg.d11_min_baseline_days) continue;
            double mean = sum / nsamp, var = sq / nsamp - mean * mean;
            double sd = var > 0 ? sqrt(var) : 0, sigma = sd;
            if (sigma < sqrt(mean)) sigma = sqrt(mean);
            if (sigma < 1) sigma = 1;
            double limit = mean + k * sigma;
            if ((double)d->run_sum <= limit) continue;
            struct mh_det_pending *p = mh_det_pend(cx, s->kind == 0 ? &rule_app : &rule_mbx,
                                                   MH_LEVEL_MEDIUM, &d->ev);
            if (!p) continue;
            p->count = d->run_sum;
            mh_det_pend_str(cx, p, s->kind == 0 ? "app_pair" : "mailbox", mh_det_str(cx, s->key));
            mh_det_pend_num(cx, p, "day_volume", (int64_t)d->run_sum);
            mh_det_pend_num(cx, p, "baseline_mean", (int64_t)llround(mean));
            mh_det_pend_num(cx, p, "baseline_sigma", (int64_t)llround(sigma));
            mh_det_pend_num(cx, p, "threshold", (int64_t)llround(limit));
            mh_det_pend_num(cx, p, "baseline_days", nsamp);
        }
    }
    return MH_OK;
}

static mh_status vol_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct volume *v = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    MH_CHECK(mh_db_prepare(db, "SELECT day FROM d11_cover ORDER BY day", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row)
        MH_CHECK(mark_covered(v, (int32_t)mh_db_column_int(q, 0), 2));
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT kind, key, day, sum FROM d11_day ORDER BY kind, key, day",
                           &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice key;
        MH_CHECK(mh_db_column_text(q, 1, &key, cx->err));
        uint32_t k = mh_det_intern(cx, key);
        if (!k) continue;
        struct series *s;
        struct vday *d;
        MH_CHECK(get_series(cx, v, (uint8_t)mh_db_column_int(q, 0), k, &s));
        if (!s) continue;
        MH_CHECK(get_day(s, (int32_t)mh_db_column_int(q, 2), &d));
        if (!d) continue;
        d->in_state = true;
        d->state_sum = (uint64_t)mh_db_column_int(q, 3);
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status vol_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct volume *v = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    int32_t last = INT32_MIN;
    for (size_t i = 0; i < v->covered.n; i++) {
        int32_t day;
        memcpy(&day, v->covered.entries[i].key.ptr, sizeof day);
        if (day > last) last = day;
    }
    if (last == INT32_MIN) return MH_OK;
    int32_t keep_from = last - (int32_t)(cx->cfg.d11_baseline / USEC_PER_DAY);
    MH_CHECK(mh_db_exec(db, "DELETE FROM d11_day; DELETE FROM d11_cover;", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d11_cover VALUES(?1)", &q, cx->err));
    for (size_t i = 0; i < v->covered.n; i++) {
        int32_t day;
        memcpy(&day, v->covered.entries[i].key.ptr, sizeof day);
        if (day < keep_from) continue;
        MH_CHECK(mh_db_bind_int(q, 1, day, cx->err));
        MH_CHECK(mh_db_step(q, &row, cx->err));
        mh_db_reset(q);
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d11_day VALUES(?1, ?2, ?3, ?4)", &q, cx->err));
    for (size_t i = 0; i < v->ns; i++) {
        const struct series *s = &v->s[i];
        struct mh_slice key = mh_det_str(cx, s->key);
        for (uint32_t j = 0; j < s->n; j++) {
            uint64_t x;
            if (s->days[j].day < keep_from || !day_value(v, &s->days[j], &x) || !x) continue;
            MH_CHECK(mh_db_bind_int(q, 1, s->kind, cx->err));
            MH_CHECK(mh_db_bind_text(q, 2, key.ptr, key.len, cx->err));
            MH_CHECK(mh_db_bind_int(q, 3, s->days[j].day, cx->err));
            MH_CHECK(mh_db_bind_int(q, 4, (int64_t)x, cx->err));
            MH_CHECK(mh_db_step(q, &row, cx->err));
            mh_db_reset(q);
        }
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_volume_ops = {
    "volume", vol_create, vol_feed, vol_finish, vol_load, vol_save, vol_destroy,
};
