/*
 * sim/sim.c -- mh_sim_run: the day loop and the event scheduler
 *
 * Pipeline: sim. Order of work:
 *   1. check options; build the world (tenant.c); write tenant.json;
 *   2. plan the attacks (they choose targets, whose mailboxes are then
 *      indexed from the first message on) and the planted secret mails;
 *   3. for each UTC day: open the day's log files, plan normal life and the
 *      attacks' events of that day, pop events in (time, seq) order until
 *      the day ends (events that spill past midnight wait for the next day,
 *      so every record lands in the file of the day of its time stamp),
 *      append the day's mail to the mbox files, close the day's files;
 *   4. write truth.json.
 *
 * Scheduler: a binary min-heap of struct sim_ev keyed by (t, seq); seq is a
 * global insertion counter, so ties are broken deterministically. Bounded by
 * MH_SIM_MAX_EVENTS (about a day of events for the largest world).
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "sim/model.h"

void mh_sim_opts_default(struct mh_sim_opts *o)
{
    memset(o, 0, sizeof *o);
    o->users = 2000;
    o->days = 14;
    struct mh_civil c = {2024, 3, 4, 0, 0, 0, 0};
    o->start = mh_time_from_civil(&c);
    o->seed = 1;
    o->scenarios = MH_SIM_MIDNIGHT_BLIZZARD | MH_SIM_STORM_0558;
    o->partners = 40;
    o->tenants = 3;
}

mh_status mh_sim_parse_scenario(const char *s, unsigned *out)
{
    if (strcmp(s, "midnight-blizzard") == 0)
        *out = MH_SIM_MIDNIGHT_BLIZZARD;
    else if (strcmp(s, "storm-0558") == 0)
        *out = MH_SIM_STORM_0558;
    else if (strcmp(s, "all") == 0)
        *out = MH_SIM_MIDNIGHT_BLIZZARD | MH_SIM_STORM_0558;
    else if (strcmp(s, "none") == 0)
        *out = 0;
    else
        return MH_EINVAL;
    return MH_OK;
}

/* ---------------------------------------------------------------- heap */

static bool before(const struct sim_ev *a, const struct sim_ev *b)
{
    return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

mh_status sim_schedule(struct sim *S, const struct sim_ev *e)
{
    if (e->t >= S->end || e->t < S->start) return MH_OK; /* outside the period: never happens */
    mh_status st = MH_GROW(S->heap, S->heap_cap, S->nheap + 1, 65536, MH_SIM_MAX_EVENTS);
    if (st == MH_ELIMIT)
        return mh_error_set(S->err, MH_ELIMIT, "too many pending events", "MH_SIM_MAX_EVENTS = %u",
                            MH_SIM_MAX_EVENTS);
    if (st) return st;
    size_t i = S->nheap++;
    struct sim_ev x = *e;
    x.seq = S->seq++;
    while (i > 0) {
        size_t p = (i - 1) / 2;
        if (!before(&x, &S->heap[p])) break;
        S->heap[i] = S->heap[p];
        i = p;
    }
    S->heap[i] = x;
    return MH_OK;
}

static void pop(struct sim *S, struct sim_ev *out)
{
    *out = S->heap[0];
    struct sim_ev last = S->heap[--S->nheap];
    size_t i = 0, n = S->nheap;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct sim_ev *best = &last;
        if (l < n && before(&S->heap[l], best)) m = l, best = &S->heap[l];
        if (r < n && before(&S->heap[r], best)) m = r;
        if (m == i) break;
        S->heap[i] = S->heap[m];
        i = m;
    }
    if (n) S->heap[i] = last;
}

/* ---------------------------------------------------------------- run */

static mh_status check(const struct mh_sim_opts *o, mh_error *err)
{
    if (!o->out_dir || !*o->out_dir)
        return mh_error_set(err, MH_EINVAL, "missing output directory", "use --out DIR");
    if (o->users < 10 || o->users > MH_SIM_MAX_USERS)
        return mh_error_set(err, MH_EINVAL, "--users out of range", "10..%u", MH_SIM_MAX_USERS);
    if (o->days < 1 || o->days > MH_SIM_MAX_DAYS)
        return mh_error_set(err, MH_EINVAL, "--days out of range", "1..%u", MH_SIM_MAX_DAYS);
    if (o->tenants < 1 || o->tenants > MH_SIM_MAX_TENANTS)
        return mh_error_set(err, MH_EINVAL, "--tenants out of range", "1..%u", MH_SIM_MAX_TENANTS);
    if (o->partners < 1 || o->partners > MH_SIM_MAX_PARTNERS)
        return mh_error_set(err, MH_EINVAL, "--partners out of range", "1..%u",
                            MH_SIM_MAX_PARTNERS);
    if (o->start % SIM_DAY)
        return mh_error_set(err, MH_EINVAL, "--start must be a date (00:00 UTC)", NULL);
    /* the CLI's range: keeps start + days from overflowing and every time
     * stamp written at four-digit years */
    if (o->start < 0 || o->start > mh_days_from_civil(2200, 12, 31) * SIM_DAY)
        return mh_error_set(err, MH_EINVAL, "--start out of range", "1970-01-01..2200-12-31");
    return MH_OK;
}

static mh_status dispatch(struct sim *S, const struct sim_ev *e)
{
    if (e->type < EV_LIFE_MAX) return sim_life_event(S, e);
    if (e->type >= EV_MB_FIRST && e->type <= EV_MB_LAST) return sim_mb_event(S, e);
    if (e->type >= EV_STORM_FIRST && e->type <= EV_STORM_LAST) return sim_storm_event(S, e);
    return MH_OK;
}

static mh_status run_days(struct sim *S)
{
    for (uint32_t day = 0; day < S->o.days; day++) {
        mh_time d1 = S->start + (mh_time)(day + 1) * SIM_DAY;
        S->day = day;
        MH_TRY(sim_out_day_begin(S, day));
        MH_TRY(sim_life_plan_day(S, day));
        if (S->mb) MH_TRY(sim_mb_plan_day(S, day));
        if (S->storm) MH_TRY(sim_storm_plan_day(S, day));
        while (S->nheap && S->heap[0].t < d1) {
            struct sim_ev e;
            pop(S, &e);
            S->now = e.t;
            MH_TRY(dispatch(S, &e));
        }
        MH_TRY(sim_mail_day_flush(S));
        MH_TRY(sim_out_day_end(S));
    }
    return MH_OK;
}

mh_status mh_sim_run(const struct mh_sim_opts *o, struct mh_sim_report *rep, mh_error *err)
{
    MH_TRY(check(o, err));
    mh_status st = MH_OK;
    struct sim *S = mh_calloc(1, sizeof *S);
    if (!S) return MH_ENOMEM;
    S->o = *o;
    S->err = err;
    S->files_dirfd = -1;
    S->spool_fd = -1;
    S->start = o->start;
    S->end = o->start + (mh_time)o->days * SIM_DAY;
    mh_arena_init(&S->arena, 1 << 20, (size_t)1 << 32);
    sim_untag(S);
    S->dir = mh_strdup(o->out_dir);
    if (!S->dir) {
        st = MH_ENOMEM;
        goto out;
    }
    if (mkdir(o->out_dir, 0777) != 0 && errno != EEXIST) {
        int e = errno;
        st = mh_error_set(err, MH_EIO, "cannot create output directory", "%s", o->out_dir);
        if (err) err->sys_errno = e;
        goto out;
    }
    S->files_dirfd = open(o->out_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (S->files_dirfd < 0) {
        int e = errno;
        st = mh_error_set(err, MH_EIO, "cannot open output directory", "%s", o->out_dir);
        if (err) err->sys_errno = e;
        goto out;
    }
    MH_CHECK(sim_truth_init(S));
    MH_CHECK(sim_world_build(S));
    MH_CHECK(sim_out_init(S));
    MH_CHECK(sim_mail_init(S));
    MH_CHECK(sim_life_init(S));
    if (o->scenarios & MH_SIM_MIDNIGHT_BLIZZARD) MH_CHECK(sim_mb_init(S));
    if (o->scenarios & MH_SIM_STORM_0558) MH_CHECK(sim_storm_init(S));
    MH_CHECK(sim_world_write_json(S));
    MH_CHECK(run_days(S));
    MH_CHECK(sim_out_close_all(S));
    MH_CHECK(sim_truth_write(S));
    if (rep) {
        memset(rep, 0, sizeof *rep);
        rep->bytes = S->bytes_out;
        rep->records = S->records_out;
        rep->messages = S->messages;
        for (uint32_t i = 0; i < S->nusers; i++) rep->mailboxes += S->mbox_seen[i];
        rep->malicious = S->nrefs;
        rep->users = S->nusers;
    }
out:
    if (st == MH_ENOMEM && err && err->code != MH_ENOMEM)
        mh_error_set(err, st, "out of memory", NULL);
    sim_mb_fini(S);
    sim_storm_fini(S);
    mh_free(S->splan);
    sim_truth_fini(S);
    sim_mail_fini(S);
    sim_out_fini(S);
    mh_free(S->heap);
    mh_free(S->users);
    mh_free(S->apps);
    mh_free(S->tenants);
    mh_free(S->partners);
    mh_free(S->contacts);
    mh_free(S->lists);
    mh_free(S->orgs);
    mh_free(S->list_members);
    if (S->files_dirfd >= 0) close(S->files_dirfd);
    mh_free(S->dir);
    mh_arena_fini(&S->arena);
    mh_free(S);
    return st;
}
