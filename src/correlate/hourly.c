/*
 * correlate/hourly.c -- D11 per mailbox: items read in an hour against the same hour of the
 * week (or of the day) in the mailbox's baseline, as a robust z-score
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents.
 *
 * The catalogue's per-mailbox D11 (Microsoft "MailItemsAccessedTimeSeries":
 * hourly counts, seasonal anomaly over 14 days), as a robust z-score on
 * hour-of-week buckets with an hour-of-day fallback; volume.c keeps the
 * daily series per application and per mailbox.
 *
 * What is counted. Every MailItemsAccessed record, whoever reads (owner,
 * delegate, application), adds its OperationCount (1 when absent) to the
 * UTC hour of its mailbox: ITEMS, not records. Microsoft's query counts
 * records, but Exchange aggregates the binds of one client context over two
 * minutes into one record (OperationCount = binds aggregated), so records
 * measure how many two-minute windows someone was reading (at most ~30 an
 * hour per session), not how much: a bulk read of 5,000 items in an hour
 * and a busy owner's hour look alike. Items are what D11 is about and what
 * the daily series sums too. (On the simulated tenants, records found 25 of
 * 109 attacked mailboxes at any threshold quiet on normal life; items 77.)
 * A Sync record counts 1 although it stands for a folder (D13's question).
 *
 * Coverage. Per UTC day, the hours from the first to the last
 * MailItemsAccessed record of the input (any mailbox) are COVERED: a
 * mailbox without records in a covered hour read 0 items then; an hour
 * outside every covered span is not a sample (a missing export slice, the
 * hours before an export starts). One span for the whole input (not per
 * tenant), like volume.c's covered days.
 *
 * Verdict (at finish). Every hour h of THIS run in which a mailbox read
 * x >= d11.hourly_min items is judged against the covered hours of the
 * previous d11.hourly_baseline (B):
 *   1. hour of week: h - 168k (k = 1, 2, ...) inside B; used when at least
 *      d11.hourly_week_samples (4) are covered (B = 28 d holds four);
 *   2. else hour of day: h - 24k inside B; used when at least
 *      d11.hourly_day_samples (7) are covered -- a week of the daily rhythm
 *      (the owner at 09:00, the backup at 01:00), weekends included;
 *   3. else not judged (stats.d11_hours_unjudged): too little history. The
 *      mailbox's hours overall are not a fallback: most hours of a mailbox
 *      are empty, so their median and MAD are 0 and only the floor would
 *      speak.
 *     med = median(samples), mad = median(|s - med|)
 *     mad' = max(mad, d11.hourly_mad_floor, sqrt(med) / 1.4826)
 *     z = (x - med) / (1.4826 * mad')
 * The floors keep an all-zero history (mad 0) from making any read an
 * anomaly, and give a regular reader (mad 0 around a median of 100 items)
 * at least Poisson noise (1.4826 * mad' >= sqrt(med)). The hour is
 * anomalous when z >= d11.hourly_z (4.7: the catalogue's "raise to 3"
 * anomaly score is Tukey's far-out fence, Q3 + 3 IQR = median + 4.72 sigma
 * for normal data; its noisy 1.5 is 2.7 sigma) and x >= d11.hourly_min
 * (20), so a mailbox read 3 times instead of never does not alert.
 * Consecutive anomalous hours of a mailbox are one burst: one detection,
 * mh.d11.mail_volume_hour, LOW (hour counts are noisier than days; the
 * daily series is medium), its evidence the record with the most items in
 * the burst's peak hour (highest z), fields of the peak hour (hour, count,
 * median, mad, z, samples, baseline, threshold) and of the burst (hours,
 * burst_count; first/last = the burst's hours).
 *
 * Example: alice@ read 0-6 items at 03:00 UTC on each of 10 covered days
 * (med 2, mad 2 -> mad' 2, 1.4826 mad' = 2.97); at 03:00 on day 11 an
 * application reads 140 items: z = (140 - 2) / 2.97 = 46 -> low alert; 15
 * items would be z = 4.4 and under d11.hourly_min anyway.
 *
 * Order independence: sums, coverage spans (bit sets) and the evidence (most
 * items, then earliest time, file, record) are functions of the set of
 * records. State (state.h): d11_hour(mailbox, hour, sum) for non-empty
 * hours and d11_hour_cover(hour). Hours this run covers replace the stored
 * ones (rerunning the same input with the file is idempotent; runs may be
 * split at hour boundaries); what is written starts B before the first hour
 * this run covers, so a rerun sees the same baseline.
 * Limits: MH_D11_MAX_HOURLY_MAILBOXES mailboxes and MH_D11_MAX_HOUR_BUCKETS
 * buckets (new ones beyond: not tracked), MH_D11_MAX_HOURS_PER_MAILBOX per
 * mailbox (the oldest evicted), MH_D11_MAX_HOUR_SAMPLES samples per judged
 * hour, MH_D11_MAX_COVER_HOURS stored covered hours; every drop is counted
 * in stats.dropped and can only lose a detection. Not thread-safe.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"

static const char *const tags[] = {"attack.collection", "attack.t1114.002", "mailhound.d11"};
static const struct mh_det_rule rule_hour = {
    "mh.d11.mail_volume_hour", "Unusual hourly mail-read volume on a mailbox", "D11",
    "Items read from a mailbox in an hour (MailItemsAccessed OperationCount) far above the same "
    "hour of the week or day in its baseline (robust z-score)",
    tags, 3};

#define USEC_PER_HOUR (INT64_C(3600) * MH_USEC_PER_SEC)
#define HOURS_PER_WEEK 168
#define MAD_SCALE 1.4826 /* MAD -> sigma for normal data */

enum { IN_RUN = 1, IN_STATE = 2 };

struct bucket {
    int32_t hour;   /* hours since the epoch (UTC) */
    uint32_t ev;    /* 1 + index of this run's evidence in h->evs; 0 = none */
    uint64_t run;   /* items read in this run */
    uint64_t state; /* items stored by earlier runs */
    uint8_t flags;  /* IN_RUN, IN_STATE */
};

struct evid {
    struct mh_det_evid ev; /* the record with the most items in the hour */
    uint64_t items;        /* its OperationCount */
};

struct series {
    uint32_t mailbox;
    struct bucket *b; /* sorted by hour */
    uint32_t n, cap;
    int32_t floor; /* hours at or before it were evicted or dropped at a cap:
                      unknown, so never a sample (INT32_MIN: none) */
};

struct hourly {
    struct mh_map idx; /* mailbox id -> series index */
    struct series *s;
    size_t ns, cap;
    struct evid *evs;
    size_t nev, cap_ev;
    size_t nbuckets;           /* over all series */
    struct mh_map run_days;    /* day -> bit set of the hours of day with records */
    struct mh_map state_hours; /* hour -> 1: hours the stored baseline covers */
};

static mh_status hr_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct hourly *h = mh_calloc(1, sizeof *h);
    if (!h) return MH_ENOMEM;
    mh_map_init(&h->idx, MH_D11_MAX_HOURLY_MAILBOXES, false);
    mh_map_init(&h->run_days, MH_D11_MAX_COVER_HOURS / 24, false);
    mh_map_init(&h->state_hours, MH_D11_MAX_COVER_HOURS, false);
    *self = h;
    return MH_OK;
}

static void hr_destroy(void *self)
{
    struct hourly *h = self;
    for (size_t i = 0; i < h->ns; i++) mh_free(h->s[i].b);
    mh_free(h->s);
    mh_free(h->evs);
    mh_map_fini(&h->idx);
    mh_map_fini(&h->run_days);
    mh_map_fini(&h->state_hours);
    mh_free(h);
}

/* floor(t / 1 h), also before the epoch */
static int32_t hour_of(mh_time t)
{
    int64_t q = t / USEC_PER_HOUR;
    if (t % USEC_PER_HOUR < 0) q--;
    return (int32_t)q;
}

static int32_t day_of_hour(int32_t hour)
{
    return hour >= 0 ? hour / 24 : -((-hour + 23) / 24);
}

/* ---- coverage ---- */

static uint64_t run_day_bits(const struct hourly *h, int32_t day)
{
    struct mh_map_entry *e = mh_map_get(&h->run_days, (const char *)&day, sizeof day);
    return e ? e->value : 0;
}

/* The span [lo, hi] (hours of day) this run covers on a day; false when none. */
static bool run_span(uint64_t bits, int *lo, int *hi)
{
    if (!bits) return false;
    *lo = __builtin_ctzll(bits);
    *hi = 63 - __builtin_clzll(bits);
    return true;
}

static bool run_covers(const struct hourly *h, int32_t hour)
{
    int32_t day = day_of_hour(hour);
    int lo, hi, hod = hour - day * 24;
    return run_span(run_day_bits(h, day), &lo, &hi) && hod >= lo && hod <= hi;
}

static bool state_covers(const struct hourly *h, int32_t hour)
{
    return mh_map_get(&h->state_hours, (const char *)&hour, sizeof hour) != NULL;
}

static mh_status mark_run(struct mh_det_ctx *cx, struct hourly *h, int32_t hour)
{
    int32_t day = day_of_hour(hour);
    struct mh_map_entry *e;
    mh_status st = mh_map_put(&h->run_days, (const char *)&day, sizeof day, &e, NULL);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++; /* less coverage: fewer samples, never a detection */
        return MH_OK;
    }
    if (st) return st;
    e->value |= UINT64_C(1) << (hour - day * 24);
    return MH_OK;
}

/* ---- series and buckets ---- */

static mh_status get_series(struct mh_det_ctx *cx, struct hourly *h, uint32_t mailbox,
                            struct series **out)
{
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &h->idx, &mailbox, sizeof mailbox, h->s, h->cap, h->ns,
                MH_D11_MAX_HOURLY_MAILBOXES, *out, &created, st);
    if (!st && created) {
        (*out)->mailbox = mailbox;
        (*out)->floor = INT32_MIN;
    }
    return st;
}

static uint32_t lower_bound(const struct series *s, int32_t hour)
{
    uint32_t lo = 0, hi = s->n;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->b[mid].hour < hour) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

static const struct bucket *find_bucket(const struct series *s, int32_t hour)
{
    uint32_t i = lower_bound(s, hour);
    return i < s->n && s->b[i].hour == hour ? &s->b[i] : NULL;
}

/* The bucket of hour in s, created in order; NULL (counted) when a cap keeps
 * it out. At the per-mailbox cap the oldest hour makes room. */
static mh_status get_bucket(struct mh_det_ctx *cx, struct hourly *h, struct series *s, int32_t hour,
                            struct bucket **out)
{
    uint32_t i = lower_bound(s, hour);
    *out = NULL;
    if (i < s->n && s->b[i].hour == hour) {
        *out = &s->b[i];
        return MH_OK;
    }
    if (s->n < MH_D11_MAX_HOURS_PER_MAILBOX) {
        if (h->nbuckets >= MH_D11_MAX_HOUR_BUCKETS) {
            cx->stats.dropped++;
            if (hour > s->floor) s->floor = hour; /* a covered hour without its count */
            return MH_OK;
        }
        MH_TRY(MH_GROW(s->b, s->cap, (size_t)s->n + 1, 16, MH_D11_MAX_HOURS_PER_MAILBOX));
    }
    int32_t oldest = s->n ? s->b[0].hour : INT32_MIN; /* what an eviction removes */
    bool evicted;
    struct bucket *nb =
        mh_det_sorted_insert(s->b, &s->n, MH_D11_MAX_HOURS_PER_MAILBOX, sizeof *s->b, i, &evicted);
    if (evicted) {
        cx->stats.dropped++;
        int32_t gone = nb ? oldest : hour;
        if (gone > s->floor) s->floor = gone;
    } else {
        h->nbuckets++;
    }
    if (!nb) return MH_OK; /* older than every kept hour */
    nb->hour = hour;
    *out = nb;
    return MH_OK;
}

/* Does the record (items, ev) make better evidence than e? Most items, then
 * the earliest, then the lowest file and record: a total order on records. */
static bool better(const struct evid *e, uint64_t items, const struct mh_event *ev)
{
    if (items != e->items) return items > e->items;
    return mh_det_evid_before(ev, &e->ev);
}

static mh_status hr_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    struct hourly *h = self;
    if (!cx->cfg.d11_enabled || !cx->cfg.d11_hourly || ev->kind != MH_SRC_UAL_MAILBOX) return MH_OK;
    struct mh_slice op, mailbox;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!mh_slice_eq_cstr(op, "mailitemsaccessed")) return MH_OK;
    int32_t hour = hour_of(ev->time);
    MH_TRY(mark_run(cx, h, hour));
    MH_TRY(mh_det_entity(ev, MH_ENT_MAILBOX, &mailbox));
    uint32_t k = mailbox.len ? mh_det_intern_lower(cx, mailbox) : 0;
    if (!k) return MH_OK;
    uint64_t items;
    MH_TRY(mh_det_operation_count(ev, &items));
    struct series *s;
    struct bucket *b;
    MH_TRY(get_series(cx, h, k, &s));
    if (!s) return MH_OK;
    MH_TRY(get_bucket(cx, h, s, hour, &b));
    if (!b) return MH_OK;
    if (!(b->flags & IN_RUN)) {
        mh_status gs = MH_GROW(h->evs, h->cap_ev, h->nev + 1, 64, MH_D11_MAX_HOUR_BUCKETS);
        if (gs == MH_ELIMIT) {
            cx->stats.dropped++;
            return MH_OK;
        }
        MH_TRY(gs);
        memset(&h->evs[h->nev], 0, sizeof *h->evs);
        b->ev = (uint32_t)++h->nev;
        b->flags |= IN_RUN;
    }
    b->run = b->run + items < b->run ? UINT64_MAX : b->run + items;
    struct evid *e = &h->evs[b->ev - 1];
    if (!e->items || better(e, items, ev)) {
        MH_TRY(mh_det_capture(cx, ev, &e->ev));
        e->items = items;
    }
    return MH_OK;
}

/* ---- the verdict ---- */

/* Items read in hour of s (b: its bucket, NULL when none): this run's where
 * the run covers the hour, else the stored value where the state covers it;
 * false when the hour is not a sample (not covered, or at or before the
 * series' floor: its count was evicted or dropped, and a missing bucket there
 * must not read as 0). */
static bool hour_value(const struct hourly *h, const struct series *s, const struct bucket *b,
                       int32_t hour, uint64_t *out)
{
    if (hour <= s->floor) return false;
    if (run_covers(h, hour)) {
        *out = b && (b->flags & IN_RUN) ? b->run : 0;
        return true;
    }
    if (state_covers(h, hour)) {
        *out = b && (b->flags & IN_STATE) ? b->state : 0;
        return true;
    }
    return false;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static double median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

struct judged {
    int32_t hour;
    uint32_t ev;
    uint64_t count;
    double med, mad, z, threshold;
    uint32_t samples;
    bool weekly;
};

/* The baseline samples of hour in s, `step` hours apart within the baseline. */
static uint32_t samples(const struct hourly *h, const struct series *s, int32_t hour, int32_t step,
                        int64_t base_hours, double *out)
{
    uint32_t n = 0;
    for (int64_t back = step; back <= base_hours && n < MH_D11_MAX_HOUR_SAMPLES; back += step) {
        int64_t hh = (int64_t)hour - back;
        uint64_t x;
        if (hh <= s->floor) break; /* nothing older is known */
        if (hour_value(h, s, find_bucket(s, (int32_t)hh), (int32_t)hh, &x)) out[n++] = (double)x;
    }
    return n;
}

/* Judge bucket b of s: false when it has too few samples (counted). */
static bool judge(struct mh_det_ctx *cx, const struct hourly *h, const struct series *s,
                  const struct bucket *b, struct judged *j)
{
    const struct mh_detector_config *c = &cx->cfg;
    double v[MH_D11_MAX_HOUR_SAMPLES];
    int64_t base_hours = c->d11_hourly_baseline / USEC_PER_HOUR;
    uint32_t n = samples(h, s, b->hour, HOURS_PER_WEEK, base_hours, v);
    j->weekly = n >= c->d11_hourly_week_samples && n > 0;
    if (!j->weekly) {
        n = samples(h, s, b->hour, 24, base_hours, v);
        if (n < c->d11_hourly_day_samples || n == 0) {
            cx->stats.d11_hours_unjudged++;
            return false;
        }
    }
    j->hour = b->hour;
    j->ev = b->ev;
    j->count = b->run;
    j->samples = n;
    j->med = median(v, n);
    for (uint32_t i = 0; i < n; i++) v[i] = fabs(v[i] - j->med);
    j->mad = median(v, n);
    double mad = j->mad;
    if (mad < c->d11_hourly_mad_floor) mad = c->d11_hourly_mad_floor;
    if (mad < sqrt(j->med) / MAD_SCALE) mad = sqrt(j->med) / MAD_SCALE;
    if (mad < 1e-6) mad = 1e-6; /* d11.hourly_mad_floor = 0 and an all-zero history */
    double scale = MAD_SCALE * mad;
    j->z = ((double)j->count - j->med) / scale;
    j->threshold = ceil(j->med + c->d11_hourly_z * scale);
    if (j->threshold < (double)c->d11_hourly_min) j->threshold = (double)c->d11_hourly_min;
    return true;
}

static void pend_real(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name, double x)
{
    char buf[40];
    int n = snprintf(buf, sizeof buf, "%.1f", x);
    mh_det_pend_str(cx, p, name, mh_slice_make(buf, (size_t)n));
}

/* One detection for the burst [first, last] of s, described by its peak. */
static void report(struct mh_det_ctx *cx, const struct hourly *h, const struct series *s,
                   int32_t first, int32_t last, uint64_t total, const struct judged *pk)
{
    struct mh_det_pending *p = mh_det_pend(cx, &rule_hour, MH_LEVEL_LOW, &h->evs[pk->ev - 1].ev);
    if (!p) return;
    char ts[40];
    p->first = (mh_time)first * USEC_PER_HOUR;
    p->last = (mh_time)last * USEC_PER_HOUR + USEC_PER_HOUR - 1;
    p->count = total;
    mh_det_pend_str(cx, p, "mailbox", mh_det_str(cx, s->mailbox));
    size_t n = mh_time_format_sec((mh_time)pk->hour * USEC_PER_HOUR, ts);
    mh_det_pend_str(cx, p, "hour", mh_slice_make(ts, n));
    mh_det_pend_num(cx, p, "count", (int64_t)pk->count);
    pend_real(cx, p, "median", pk->med);
    pend_real(cx, p, "mad", pk->mad);
    pend_real(cx, p, "z", pk->z);
    mh_det_pend_num(cx, p, "samples", pk->samples);
    mh_det_pend_str(cx, p, "baseline",
                    pk->weekly ? MH_SLICE_LIT("hour_of_week") : MH_SLICE_LIT("hour_of_day"));
    mh_det_pend_num(cx, p, "threshold", (int64_t)pk->threshold);
    mh_det_pend_num(cx, p, "hours", (int64_t)last - first + 1);
    mh_det_pend_num(cx, p, "burst_count", (int64_t)(total > INT64_MAX ? INT64_MAX : total));
}

static mh_status hr_finish(void *self, struct mh_det_ctx *cx)
{
    struct hourly *h = self;
    const struct mh_detector_config *c = &cx->cfg;
    if (!c->d11_enabled || !c->d11_hourly) return MH_OK;
    for (size_t i = 0; i < h->ns; i++) {
        const struct series *s = &h->s[i];
        bool open = false;
        int32_t first = 0, last = 0;
        uint64_t total = 0;
        struct judged pk, j;
        memset(&pk, 0, sizeof pk);
        for (uint32_t k = 0; k < s->n; k++) {
            const struct bucket *b = &s->b[k];
            if (!(b->flags & IN_RUN) || b->run < c->d11_hourly_min) continue;
            if (!judge(cx, h, s, b, &j) || j.z < c->d11_hourly_z) continue;
            if (open && b->hour == last + 1) {
                last = b->hour;
                total += b->run;
                if (j.z > pk.z) pk = j;
                continue;
            }
            if (open) report(cx, h, s, first, last, total, &pk);
            open = true;
            first = last = b->hour;
            total = b->run;
            pk = j;
        }
        if (open) report(cx, h, s, first, last, total, &pk);
    }
    return MH_OK;
}

/* ---- state ---- */

static mh_status hr_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct hourly *h = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_db *db = mh_state_db(stt);
    MH_CHECK(mh_db_prepare(db, "SELECT hour FROM d11_hour_cover ORDER BY hour", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        int32_t hour = (int32_t)mh_db_column_int(q, 0);
        struct mh_map_entry *e;
        mh_status ps = mh_map_put(&h->state_hours, (const char *)&hour, sizeof hour, &e, NULL);
        if (ps == MH_ELIMIT) cx->stats.dropped++;
        else MH_CHECK(ps);
    }
    if (st) goto out;
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "SELECT mailbox, hour, sum FROM d11_hour ORDER BY mailbox, hour", &q,
                           cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice mailbox;
        MH_CHECK(mh_db_column_text(q, 0, &mailbox, cx->err));
        uint32_t k = mh_det_intern(cx, mailbox);
        if (!k) continue;
        struct series *s;
        struct bucket *b;
        MH_CHECK(get_series(cx, h, k, &s));
        if (!s) continue;
        MH_CHECK(get_bucket(cx, h, s, (int32_t)mh_db_column_int(q, 1), &b));
        if (!b) continue;
        b->flags |= IN_STATE;
        b->state = (uint64_t)mh_db_column_int(q, 2);
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status insert_hour(struct mh_det_ctx *cx, mh_db_stmt *q, int32_t hour)
{
    MH_TRY(mh_db_bind_int(q, 1, hour, cx->err));
    return mh_det_step(cx, q);
}

static mh_status hr_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct hourly *h = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    mh_db *db = mh_state_db(stt);
    int32_t first = INT32_MAX;
    int lo, hi;
    for (size_t i = 0; i < h->run_days.n; i++) {
        int32_t day;
        memcpy(&day, h->run_days.entries[i].key.ptr, sizeof day);
        if (run_span(h->run_days.entries[i].value, &lo, &hi) && day * 24 + lo < first)
            first = day * 24 + lo;
    }
    if (first == INT32_MAX) return MH_OK; /* nothing read: the stored baseline stands */
    int64_t keep = (int64_t)first - cx->cfg.d11_hourly_baseline / USEC_PER_HOUR;
    MH_CHECK(mh_db_exec(db, "DELETE FROM d11_hour; DELETE FROM d11_hour_cover;", cx->err));
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d11_hour_cover VALUES(?1)", &q, cx->err));
    for (size_t i = 0; i < h->run_days.n; i++) {
        int32_t day;
        memcpy(&day, h->run_days.entries[i].key.ptr, sizeof day);
        if (!run_span(h->run_days.entries[i].value, &lo, &hi)) continue;
        for (int hod = lo; hod <= hi; hod++)
            if (day * 24 + hod >= keep) MH_CHECK(insert_hour(cx, q, day * 24 + hod));
    }
    for (size_t i = 0; i < h->state_hours.n; i++) {
        int32_t hour;
        memcpy(&hour, h->state_hours.entries[i].key.ptr, sizeof hour);
        if (hour >= keep && !run_covers(h, hour)) MH_CHECK(insert_hour(cx, q, hour));
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_prepare(db, "INSERT INTO d11_hour VALUES(?1, ?2, ?3)", &q, cx->err));
    for (size_t i = 0; i < h->ns; i++) {
        const struct series *s = &h->s[i];
        for (uint32_t k = 0; k < s->n; k++) {
            const struct bucket *b = &s->b[k];
            uint64_t x;
            if (b->hour < keep || !hour_value(h, s, b, b->hour, &x) || !x) continue;
            MH_CHECK(mh_det_bind_str(cx, q, 1, s->mailbox));
            MH_CHECK(mh_db_bind_int(q, 2, b->hour, cx->err));
            MH_CHECK(mh_db_bind_int(q, 3, x > INT64_MAX ? INT64_MAX : (int64_t)x, cx->err));
            MH_CHECK(mh_det_step(cx, q));
        }
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_hourly_ops = {
    "hourly", hr_create, hr_feed, hr_finish, hr_load, hr_save, hr_destroy,
};
