/*
 * cli/hunt.c -- `mailhound hunt [-r RULES]... [options] PATH...`
 *
 * Runs the built-in pack and any other Sigma rules (and their correlations)
 * over every log the reader understands, runs the stateful detectors, groups
 * the alerts into incidents and prints them (docs/hunt.md).
 *
 * Pipeline and threads: the main thread reads batches (mh_reader_fill) into
 * a ring of slots; N workers take filled slots in sequence order, and for
 * each record run the literal prefilter on the raw text, normalize only the
 * records some rule may match, evaluate the candidate rules and render the
 * alerts into the slot's buffer, together with the problems found (bad
 * records) and the correlation hits (copied). The main thread consumes
 * slots strictly in sequence: it prints the problems, writes the alerts,
 * then feeds the hits to the correlator, whose alerts follow. Output is
 * therefore byte-identical for any -j and any batch boundaries: alerts in
 * input order, rule order within a record, correlation alerts at the point
 * of the input where they were decided (and at the end for the ones the
 * reorder buffer releases last).
 *
 * Detectors and incidents (default; --no-detectors turns them off): workers
 * then normalize every record, not only the prefilter's candidates, and keep
 * the slot's events and Sigma alerts; each slot owns its normalizer, so they
 * stay valid until the main thread has consumed the slot. The main thread
 * feeds the events (input order) and the Sigma and correlation alerts to the
 * stateful detectors and the incident builder -- one thread, so their state
 * needs no lock. At the end the detectors decide; their detections are
 * written after the other alerts, as alerts of the same shape, in their
 * sorted order; then the incidents are built (--incidents FILE as JSON; in
 * the table format they are printed before the alerts, which wait in a
 * temporary file). Everything stays byte-identical for any -j.
 *
 * Exit: 0 the run completed; 1 usage error, unreadable rules or input
 * files (a non-log file met inside a folder is skipped with a warning);
 * 2 with --fail-on-alert when any alert was written.
 */
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "cli/cli.h"
#include "correlate/detector.h"
#include "correlate/incident.h"
#include "correlate/state.h"
#include "correlate/window.h"
#include "ingest/held.h"
#include "ingest/reader.h"
#include "mailhound/limits.h"
#include "match/alert.h"
#include "match/match.h"
#include "normalize/event.h"
#include "rules/ruleset.h"

#define NAME_PAGE 1024u
#define NAME_PAGES 1024u

/* A file's name as the reader gives it (source.file) and its key, the name
 * relative to its input root (a suffix of name: mh_reader_file_key), which
 * incident ids hash so that they do not depend on where the logs lie. */
struct fname {
    char *name;
    const char *key;
};

struct names {
    struct fname *page[NAME_PAGES]; /* fixed table of pages: workers read while main appends */
    uint32_t n;
};

static const char *name_get(const struct names *nm, uint32_t i)
{
    if (i >= nm->n) return NULL;
    return nm->page[i / NAME_PAGE][i % NAME_PAGE].name;
}

static const char *key_get(const struct names *nm, uint32_t i)
{
    if (i >= nm->n) return NULL;
    return nm->page[i / NAME_PAGE][i % NAME_PAGE].key;
}

/* A Sigma alert kept for the detectors and the incident builder: its
 * entities borrow from the slot's events (valid until the slot is reused). */
struct kept_alert {
    const struct mh_rule *rule;
    mh_time time;
    const char *file, *key;
    uint64_t record, offset;
    struct mh_slice ent[MH_ALERT_ENTITIES];
};

struct slot {
    struct mh_batch b;
    mh_normalizer *nz; /* per slot: the slot's events stay valid until it is consumed */
    struct mh_event *evs; /* events for the detectors (in input order) */
    size_t nevs, capevs;
    struct kept_alert *kept;
    size_t nkept, capkept;
    int state; /* 0 empty, 1 filled, 2 busy, 3 done */
    uint64_t seq;
    struct mh_buf out, notes;
    struct mh_held held; /* the reader's reports of this batch, released in record order */
    uint64_t alerts, bad, warns, matches;
    struct mh_corr_hit *hits;
    size_t nhits, caphits;
    struct mh_arena harena;
    mh_status err;
};

struct hunt;

struct worker {
    struct hunt *h;
    pthread_t th;
    mh_matcher *m;
    struct slot *cur;
};

struct hunt {
    /* options */
    enum mh_alert_format fmt;
    enum mh_level min_level;
    mh_time from, to;
    bool reference, stats, fail_on_alert, quiet, progress;
    bool detectors; /* run the stateful detectors (and build incidents) */
    int jobs;
    /* state */
    mh_ruleset *rs;
    mh_reader *rd;
    struct names names;
    struct slot *slots;
    int nslots;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
    struct worker *w;
    FILE *out;
    struct mh_buf obuf;
    mh_correlator *corr;
    uint8_t *is_input; /* per rule: feeds a correlation */
    uint64_t alerts, corr_alerts, det_alerts, bad, warns;
    mh_detectors *det;
    mh_incidents *inc;
    mh_error det_err;
    struct mh_cli_bad badctx;
    struct slot *filling; /* the slot mh_reader_fill is filling (main thread) */
    mh_status fatal;
};

/* ---- per record ---- */

struct hitctx {
    struct hunt *h;
    struct slot *s;
    mh_matcher *m;
    const char *file, *key; /* name_get, key_get of the record's file */
};

static const enum mh_entity ents[MH_ALERT_ENTITIES] = {
    MH_ENT_USER, MH_ENT_IP, MH_ENT_APP_ID, MH_ENT_CLIENT_APP_ID,
    MH_ENT_SESSION_ID, MH_ENT_TOKEN_ID, MH_ENT_MAILBOX};

static mh_status keep(struct slot *s, struct mh_slice in, struct mh_slice *out)
{
    if (!in.ptr) {
        *out = MH_SLICE_NULL;
        return MH_OK;
    }
    char *p = mh_arena_alloc(&s->harena, in.len + 1);
    if (!p) return MH_ELIMIT;
    memcpy(p, in.ptr, in.len);
    p[in.len] = 0;
    *out = mh_slice_make(p, in.len);
    return MH_OK;
}

static mh_status corr_hits(struct hitctx *c, const struct mh_rule *r, struct mh_event *ev)
{
    const mh_ruleset *rs = c->h->rs;
    for (size_t ci = 0; ci < rs->ncorrs; ci++) {
        const struct mh_rule *cr = rs->rules[rs->corrs[ci]];
        if (cr->disabled) continue;
        const struct mh_corr *k = cr->corr;
        for (uint32_t j = 0; j < k->nrules; j++) {
            if (k->rule_idx[j] != r->index) continue;
            struct slot *s = c->s;
            if (MH_GROW(s->hits, s->caphits, s->nhits + 1, 256, SIZE_MAX) != MH_OK)
                return MH_ENOMEM;
            struct mh_corr_hit *hit = &s->hits[s->nhits];
            memset(hit, 0, sizeof *hit);
            hit->corr = cr->index;
            hit->pos = j;
            hit->time = ev->time;
            hit->ref.file = c->file;
            hit->ref.key = c->key;
            hit->ref.record = ev->rec->number;
            hit->ref.offset = ev->rec->offset;
            /* group key: values joined by 0x1f */
            char key[4096];
            size_t kl = 0;
            for (uint32_t g = 0; g < k->ngroup; g++) {
                struct mh_slice v = MH_SLICE_NULL;
                bool found = false;
                uint32_t f = k->gfield[j * k->ngroup + g];
                if (f != MH_FIELD_KEYWORD) MH_TRY(mh_match_field_value(c->m, ev, f, &v, &found));
                if (g && kl < sizeof key) key[kl++] = '\x1f';
                size_t take = found ? (v.len < sizeof key - kl ? v.len : sizeof key - kl) : 0;
                if (take) memcpy(key + kl, v.ptr, take);
                kl += take;
            }
            MH_TRY(keep(s, mh_slice_make(key, kl), &hit->group));
            if (k->vfield[j] != MH_FIELD_KEYWORD) {
                struct mh_slice v;
                bool found = false;
                MH_TRY(mh_match_field_value(c->m, ev, k->vfield[j], &v, &found));
                if (found) MH_TRY(keep(s, v, &hit->value));
            }
            for (int e = 0; e < MH_ALERT_ENTITIES; e++) {
                struct mh_slice v;
                mh_status st = mh_event_entity(ev, ents[e], &v);
                if (st == MH_OK) MH_TRY(keep(s, v, &hit->ent[e]));
                else if (st != MH_ENOTFOUND) return st;
            }
            s->nhits++;
        }
    }
    return MH_OK;
}

static mh_status keep_alert(struct slot *s, const struct mh_alert *a)
{
    if (MH_GROW(s->kept, s->capkept, s->nkept + 1, 64, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    struct kept_alert *k = &s->kept[s->nkept++];
    k->rule = a->rule;
    k->time = a->time;
    k->file = a->source.file;
    k->key = a->source.key;
    k->record = a->source.record;
    k->offset = a->source.offset;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) k->ent[i] = a->ent[i];
    return MH_OK;
}

static mh_status keep_event(struct slot *s, const struct mh_event *ev)
{
    if (MH_GROW(s->evs, s->capevs, s->nevs + 1, 256, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    s->evs[s->nevs++] = *ev;
    return MH_OK;
}

static mh_status on_hit(void *ctx, const struct mh_rule *r, struct mh_event *ev)
{
    struct hitctx *c = ctx;
    c->s->matches++;
    if (r->emit && (r->level >= c->h->min_level || c->h->detectors)) {
        struct mh_alert a;
        MH_TRY(mh_alert_from_match(c->m, r, ev, c->file, &a));
        a.source.key = c->key;
        if (r->level >= c->h->min_level) {
            MH_TRY(mh_alert_render(&c->s->out, c->h->fmt, &a));
            c->s->alerts++;
        }
        if (c->h->detectors) MH_TRY(keep_alert(c->s, &a));
    }
    if (c->h->is_input[r->index]) MH_TRY(corr_hits(c, r, ev));
    return MH_OK;
}

static void note(struct slot *s, const char *fmt, ...) MH_PRINTF(2, 3);
static void note(struct slot *s, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (mh_buf_vprintf(&s->notes, fmt, ap) != MH_OK) s->err = MH_ENOMEM;
    va_end(ap);
}

/* Release target of a slot's held reader reports: their line into the slot's
 * notes (already counted, and only those shown, when held). */
static void note_bad(void *ctx, const mh_error *err, bool fatal)
{
    char line[MH_CLI_BAD_LINE];
    mh_cli_bad_line(err, fatal, line, sizeof line);
    note(ctx, "%s", line);
}

/* Printed at once: before any fill, or when a holder overflows. */
static void print_bad(void *ctx, const mh_error *err, bool fatal)
{
    (void)ctx;
    char line[MH_CLI_BAD_LINE];
    mh_cli_bad_line(err, fatal, line, sizeof line);
    fputs(line, stderr);
}

static void process_slot(struct hunt *h, struct worker *w, struct slot *s)
{
    mh_buf_clear(&s->out);
    mh_buf_clear(&s->notes);
    s->alerts = s->bad = s->warns = s->matches = 0;
    s->nhits = s->nevs = s->nkept = 0;
    mh_arena_reset(&s->harena);
    s->err = MH_OK;
    mh_normalizer_reset(s->nz);
    for (size_t i = 0; i < s->b.n && !s->err; i++) {
        mh_held_release(&s->held, i, note_bad, s);
        const struct mh_record *rec = &s->b.recs[i];
        bool any = false;
        mh_status st = mh_match_prefilter(w->m, rec->json, rec->json_len, &any);
        if (st) {
            s->err = st;
            break;
        }
        if (!any && !h->detectors) continue; /* the detectors look at every event */
        const char *file = name_get(&h->names, rec->file);
        struct mh_event ev;
        mh_error err;
        mh_error_clear(&err);
        st = mh_event_init(s->nz, rec, &ev, &err);
        if (st == MH_ENOMEM) {
            s->err = st;
            break;
        }
        if (st) {
            if (!h->quiet)
            note(s, "mailhound: warning: skipped: %s:%llu: record %llu, byte %llu: %s%s%s%s\n",
                 file ? file : "-", (unsigned long long)rec->line, (unsigned long long)rec->number,
                 (unsigned long long)(rec->offset + err.offset), err.msg ? err.msg : mh_status_str(st),
                 err.detail[0] ? " (" : "", err.detail, err.detail[0] ? ")" : "");
            s->bad++;
            continue;
        }
        if (ev.flags & MH_EVF_BAD_TIME) {
            if (!h->quiet)
            note(s, "mailhound: warning: %s:%llu: record %llu, byte %llu: unparseable time in '%s' (time unknown)\n",
                 file ? file : "-", (unsigned long long)rec->line, (unsigned long long)rec->number,
                 (unsigned long long)rec->offset, ev.time_field ? ev.time_field : "?");
            s->warns++;
        }
        if (ev.time != MH_TIME_NONE && ((h->from != MH_TIME_NONE && ev.time < h->from) ||
                                        (h->to != MH_TIME_NONE && ev.time > h->to)))
            continue;
        struct hitctx c = {h, s, w->m, file, key_get(&h->names, rec->file)};
        st = any ? mh_match_event(w->m, &ev, on_hit, &c) : MH_OK;
        if (st == MH_ELIMIT) {
            if (!h->quiet)
            note(s, "mailhound: warning: %s:%llu: record %llu: a limit was reached while matching (record skipped)\n",
                 file ? file : "-", (unsigned long long)rec->line, (unsigned long long)rec->number);
            s->bad++;
            continue;
        }
        if (st) s->err = st;
        else if (h->detectors && ev.time != MH_TIME_NONE) s->err = keep_event(s, &ev);
    }
    mh_held_release(&s->held, SIZE_MAX, note_bad, s); /* after the batch's last record */
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct hunt *h = w->h;
    pthread_mutex_lock(&h->mu);
    for (;;) {
        struct slot *pick = NULL;
        while (!h->stop) {
            for (int i = 0; i < h->nslots; i++)
                if (h->slots[i].state == 1 && (!pick || h->slots[i].seq < pick->seq)) pick = &h->slots[i];
            if (pick) break;
            pthread_cond_wait(&h->cv, &h->mu);
        }
        if (!pick) break;
        pick->state = 2;
        pthread_mutex_unlock(&h->mu);
        process_slot(h, w, pick);
        pthread_mutex_lock(&h->mu);
        pick->state = 3;
        pthread_cond_broadcast(&h->cv);
    }
    pthread_mutex_unlock(&h->mu);
    return NULL;
}

/* ---- output (main thread) ---- */

static mh_status flush_out(struct hunt *h)
{
    if (h->obuf.len && fwrite(h->obuf.data, 1, h->obuf.len, h->out) != h->obuf.len) return MH_EIO;
    mh_buf_clear(&h->obuf);
    return MH_OK;
}

/* A Sigma alert (or correlation alert) seen by the detectors and the
 * incident builder. */
static mh_status add_finding(struct hunt *h, const struct mh_alert *a)
{
    struct mh_finding f;
    mh_finding_from_alert(a, &f);
    MH_TRY(mh_detectors_add_finding(h->det, &f, &h->det_err));
    return h->inc ? mh_incidents_add(h->inc, &f) : MH_OK;
}

static mh_status on_corr_alert(void *ctx, const struct mh_alert *a)
{
    struct hunt *h = ctx;
    if (h->detectors) MH_TRY(add_finding(h, a));
    if (a->rule->level < h->min_level) return MH_OK;
    MH_TRY(mh_alert_render(&h->obuf, h->fmt, a));
    h->corr_alerts++;
    if (h->obuf.len > (1u << 20)) return flush_out(h);
    return MH_OK;
}

static mh_status consume(struct hunt *h, struct slot *s)
{
    if (s->err) return s->err;
    MH_TRY(flush_out(h)); /* header, correlation alerts decided earlier */
    if (s->notes.len) fwrite(s->notes.data, 1, s->notes.len, stderr); /* -q: errors only */
    h->bad += s->bad;
    h->warns += s->warns;
    if (s->out.len && fwrite(s->out.data, 1, s->out.len, h->out) != s->out.len) return MH_EIO;
    h->alerts += s->alerts;
    if (h->detectors) {
        for (size_t i = 0; i < s->nevs; i++) MH_TRY(mh_detectors_feed(h->det, &s->evs[i], &h->det_err));
        for (size_t i = 0; i < s->nkept; i++) {
            const struct kept_alert *k = &s->kept[i];
            struct mh_alert a;
            memset(&a, 0, sizeof a);
            a.rule = k->rule;
            a.time = k->time;
            a.source.file = k->file;
            a.source.key = k->key;
            a.source.record = k->record;
            a.source.offset = k->offset;
            for (int e = 0; e < MH_ALERT_ENTITIES; e++) a.ent[e] = k->ent[e];
            MH_TRY(add_finding(h, &a));
        }
    }
    for (size_t i = 0; i < s->nhits; i++) MH_TRY(mh_correlator_feed(h->corr, &s->hits[i]));
    return flush_out(h);
}

/* The correlator's carry-over, written in the detectors' state transaction. */
static mh_status save_carry(void *ctx, mh_state *st, mh_error *err)
{
    return mh_correlator_save(ctx, mh_state_db(st), err);
}

/* A detection of the stateful detectors, written as an alert with the same
 * keys as a Sigma alert: rule_id = the detector id, its title, level, tags,
 * source, entities and fields (no logsource: a detector reads many). */
static mh_status on_detection(void *ctx, const struct mh_detection *d)
{
    struct hunt *h = ctx;
    const struct mh_finding *f = &d->finding;
    if (h->inc) {
        /* detectors know the reader's file index; incident ids hash the key */
        struct mh_finding g = *f;
        if (!g.file_key) g.file_key = key_get(&h->names, f->ref.file);
        MH_TRY(mh_incidents_add(h->inc, &g));
    }
    if (f->level < h->min_level) return MH_OK;
    struct mh_rule r;
    memset(&r, 0, sizeof r);
    r.kind = MH_RK_DETECTION;
    r.level = (uint8_t)f->level;
    r.emit = true;
    r.id = f->rule_id;
    r.title = f->title;
    r.description = d->description;
    r.ntags = (uint32_t)f->ntags;
    r.tags = (const char **)(uintptr_t)f->tags;
    struct mh_alert a;
    memset(&a, 0, sizeof a);
    a.time = f->time;
    a.rule = &r;
    a.source.file = f->file_name ? f->file_name : name_get(&h->names, f->ref.file);
    if (!a.source.file) a.source.file = "-";
    a.source.record = f->ref.record;
    a.source.offset = f->ref.offset;
    for (size_t i = 0; i < d->nfields && a.nfields < MH_ALERT_MAX_FIELDS; i++) {
        a.fname[a.nfields] = d->fields[i].name;
        a.fval[a.nfields++] = d->fields[i].value;
    }
    for (int e = 0; e < MH_ALERT_ENTITIES; e++) a.ent[e] = f->ent[e].len ? f->ent[e] : MH_SLICE_NULL;
    MH_TRY(mh_alert_render(&h->obuf, h->fmt, &a));
    h->det_alerts++;
    if (h->obuf.len > (1u << 20)) return flush_out(h);
    return MH_OK;
}

static mh_status remember_names(struct hunt *h, const struct mh_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        uint32_t f = b->recs[i].file;
        while (h->names.n <= f) {
            uint32_t k = h->names.n;
            if (k / NAME_PAGE >= NAME_PAGES) return MH_ELIMIT;
            if (!h->names.page[k / NAME_PAGE]) {
                h->names.page[k / NAME_PAGE] = mh_calloc(NAME_PAGE, sizeof(struct fname));
                if (!h->names.page[k / NAME_PAGE]) return MH_ENOMEM;
            }
            const char *nm = mh_reader_file_name(h->rd, k);
            const char *key = mh_reader_file_key(h->rd, k);
            char *d = mh_strdup(nm ? nm : "-");
            if (!d) return MH_ENOMEM;
            /* the key is a suffix of the name: point into the copy */
            h->names.page[k / NAME_PAGE][k % NAME_PAGE] =
                (struct fname){d, nm && key ? d + (key - nm) : d};
            h->names.n++;
        }
    }
    return MH_OK;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void progress(struct hunt *h, double t0, bool end)
{
    static double last;
    if (!h->progress) return;
    double t = now_s();
    if (!end && t - last < 0.5) return;
    last = t;
    const struct mh_ingest_stats *is = mh_reader_stats(h->rd);
    if (end) {
        fputs("\r\033[K", stderr);
        return;
    }
    fprintf(stderr, "\r\033[Kmailhound hunt: %.1f MB, %llu records, %llu alerts, %.1f s",
            (double)is->bytes / 1e6, (unsigned long long)is->records_read,
            (unsigned long long)(h->alerts + h->corr_alerts), t - t0);
}

static mh_status run(struct hunt *h)
{
    mh_status st = MH_OK;
    double t0 = now_s();
    bool eof = false;
    uint64_t next_fill = 0, next_out = 0;
    int nthreads = h->jobs > 1 ? h->jobs : 0;
    if (nthreads) {
        for (int i = 0; i < nthreads; i++)
            if (pthread_create(&h->w[i].th, NULL, worker_main, &h->w[i]) != 0) {
                nthreads = i;
                st = MH_ENOMEM;
                break;
            }
        if (st) goto join;
    }
    pthread_mutex_lock(&h->mu);
    for (;;) {
        /* write finished slots in order */
        bool progressed = false;
        for (int i = 0; i < h->nslots; i++) {
            struct slot *s = &h->slots[i];
            if (s->state == 3 && s->seq == next_out) {
                pthread_mutex_unlock(&h->mu);
                st = consume(h, s);
                progress(h, t0, false);
                pthread_mutex_lock(&h->mu);
                s->state = 0;
                next_out++;
                progressed = true;
                if (st) break;
            }
        }
        if (st) break;
        if (progressed) continue;
        if (eof && next_out == next_fill) break;
        struct slot *free_slot = NULL;
        for (int i = 0; i < h->nslots && !eof; i++)
            if (h->slots[i].state == 0) free_slot = &h->slots[i];
        if (free_slot) {
            pthread_mutex_unlock(&h->mu);
            h->filling = free_slot;
            mh_status fs = mh_reader_fill(h->rd, &free_slot->b);
            h->filling = NULL;
            if (fs == MH_OK) fs = remember_names(h, &free_slot->b);
            if (!nthreads && fs == MH_OK) process_slot(h, &h->w[0], free_slot);
            pthread_mutex_lock(&h->mu);
            if (fs == MH_EOF) {
                eof = true;
                continue;
            }
            if (fs) {
                st = fs;
                break;
            }
            free_slot->seq = next_fill++;
            free_slot->state = nthreads ? 1 : 3;
            pthread_cond_broadcast(&h->cv);
            continue;
        }
        pthread_cond_wait(&h->cv, &h->mu);
    }
    h->stop = true;
    pthread_cond_broadcast(&h->cv);
    pthread_mutex_unlock(&h->mu);
join:
    for (int i = 0; i < nthreads; i++) pthread_join(h->w[i].th, NULL);
    /* reports of the fill that met the end of input (a last file failed or
       skipped): every batch before it is out by now, and no worker runs */
    for (int i = 0; i < h->nslots; i++) mh_held_release(&h->slots[i].held, SIZE_MAX, print_bad, NULL);
    if (st == MH_OK) st = mh_correlator_finish(h->corr);
    if (st == MH_OK) st = flush_out(h);
    if (st == MH_OK && h->detectors) {
        st = mh_detectors_finish(h->det, &h->det_err);
        if (st == MH_OK && h->inc) st = mh_detectors_links(h->det, mh_incidents_add_link, h->inc);
        if (st == MH_OK && h->inc) st = mh_incidents_build(h->inc);
    }
    if (st == MH_OK) st = flush_out(h);
    progress(h, t0, true);
    return st;
}

/* ---- options ---- */

static void usage(FILE *o)
{
    fputs("usage: mailhound hunt [-r RULES]... [options] PATH...\n"
          "  -r RULES           more Sigma rules: file or folder (repeatable; added to the built-in pack)\n"
          "  --no-builtin       do not load the built-in pack (<data>/rules/builtin)\n"
          "  --state FILE       keep the stateful detectors' baselines in FILE (SQLite; default: none, this run only)\n"
          "  --detectors-config FILE  detector thresholds (default: <data>/config/detectors.conf)\n"
          "  --no-detectors     Sigma rules only: no stateful detectors, no incidents\n"
          "  --incidents FILE   write the incidents as JSON to FILE\n"
          "  --format F         table | jsonl | csv (default: table on a terminal, else jsonl)\n"
          "  -o FILE            write alerts to FILE\n"
          "  --min-level L      informational | low | medium | high | critical\n"
          "  --from T, --to T   only events in this time range (ISO-8601 or any log time form)\n"
          "  -j N               worker threads (default: CPUs, at most 64)\n"
          "  --stats            events/s, MB/s, rules and alerts on stderr\n"
          "  --fail-on-alert    exit 2 when any alert was written\n"
          "  --reference        reference matcher: no prefilter, PCRE2 only (slow; for checks)\n"
          "  --lateness DUR     correlation reordering window (e.g. 1h); default: sort all\n"
          "  --fieldmaps DIR    field maps (default: <data>/rules/fieldmaps)\n"
          "  --expand DIR       expand placeholders (default: <data>/config/expand)\n"
          "  -q                 do not print skipped records (still counted)\n"
          "PATH is a log file or folder (recursive), or - for stdin.\n",
          o);
}

static bool parse_span(const char *s, int64_t *us)
{
    char *end = NULL;
    long long v = strtoll(s, &end, 10);
    if (end == s || v < 0) return false;
    int64_t mul = *end == 's' ? 1 : *end == 'm' ? 60 : *end == 'h' ? 3600 : *end == 'd' ? 86400 : 0;
    if (!mul || end[1]) return false;
    *us = (int64_t)v * mul * 1000000;
    return true;
}

static void rule_note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    struct hunt *h = ctx;
    if (k == MH_NOTE_LOADED || h->quiet) return;
    fprintf(stderr, "mailhound: %s: ", k == MH_NOTE_REJECTED ? "warning: rule rejected" : "warning");
    if (e->origin[0]) fprintf(stderr, "%s", e->origin);
    if (e->line) fprintf(stderr, ":%llu:%llu", (unsigned long long)e->line, (unsigned long long)e->column);
    fprintf(stderr, ": %s%s%s%s\n", e->msg ? e->msg : "", e->detail[0] ? ": " : "", e->detail,
            r && r->title && k == MH_NOTE_WARNING ? "" : "");
}

/* Input problems: the reader decides (a non-log file in a folder is a
 * warning, named on the command line an error); reported as by every command. */
static void on_bad(void *ctx, const mh_error *err, bool fatal)
{
    struct hunt *h = ctx;
    if (!mh_cli_bad_count(&h->badctx, err, fatal)) return;
    /* held until the slot's worker reaches the record: stderr keeps input
       order whatever the thread count and timing (ingest/held.h) */
    if (h->filling)
        mh_held_add(&h->filling->held, err, fatal, h->filling->b.n, print_bad, NULL);
    else
        print_bad(NULL, err, fatal);
}

/* True when dir is one of paths or inside one of them (both resolved). */
static bool covered(const char *dir, const char **paths, int n)
{
    char rd[PATH_MAX], rp[PATH_MAX];
    if (!realpath(dir, rd)) return false;
    for (int i = 0; i < n; i++) {
        if (!realpath(paths[i], rp)) continue;
        size_t l = strlen(rp);
        if (strncmp(rd, rp, l) == 0 && (rd[l] == 0 || rd[l] == '/' || strcmp(rp, "/") == 0)) return true;
    }
    return false;
}

static mh_status write_incidents(struct hunt *h, const char *path)
{
    struct mh_buf b;
    mh_buf_init(&b, (size_t)1 << 31);
    mh_status st = mh_incidents_write_json(h->inc, &b);
    if (st == MH_OK) st = mh_buf_printf(&b, "\n");
    if (st == MH_OK) {
        FILE *f = fopen(path, "wb");
        if (!f) st = MH_EIO;
        else {
            if (fwrite(b.data, 1, b.len, f) != b.len) st = MH_EIO;
            if (fclose(f) != 0) st = MH_EIO;
        }
    }
    if (st == MH_EIO) mh_cli_fail("hunt: cannot write %s: %s", path, strerror(errno));
    else if (st) mh_cli_fail("hunt: incidents: %s", mh_status_str(st));
    mh_buf_fini(&b);
    return st;
}

/* First n entries of an incident list, comma-separated, "(+k)" for the rest. */
static mh_status list_text(struct mh_buf *b, const struct mh_incident *in, enum mh_incident_list k,
                           const char *label, size_t n, bool *first)
{
    size_t total = in->nlist[k] + in->more[k];
    if (!total) return MH_OK;
    MH_TRY(mh_buf_printf(b, "%s%s ", *first ? "" : "; ", label));
    *first = false;
    for (size_t i = 0; i < in->nlist[k] && i < n; i++)
        MH_TRY(mh_buf_printf(b, "%s%.*s", i ? "," : "", (int)in->list[k][i].len, in->list[k][i].ptr));
    if (total > n) MH_TRY(mh_buf_printf(b, " (+%zu)", total - n));
    return MH_OK;
}

/* Table: one line per incident, then a paragraph per incident. */
static mh_status print_incidents(struct hunt *h, FILE *o)
{
    struct mh_buf b;
    mh_buf_init(&b, (size_t)1 << 30);
    mh_status st = MH_OK;
    size_t n = mh_incidents_count(h->inc);
    if (!n) {
        st = mh_buf_printf(&b, "INCIDENTS: none\n\nALERTS\n");
        goto out;
    }
    st = mh_buf_printf(&b, "INCIDENTS (%zu)\n%-20s  %-8s  %5s  %-20s  %-20s  %5s  %s\n", n, "ID", "LEVEL",
                       "SCORE", "FIRST SEEN", "LAST SEEN", "STEPS", "KEY ENTITIES");
    for (size_t i = 0; i < n && st == MH_OK; i++) {
        const struct mh_incident *in = mh_incidents_get(h->inc, i);
        char f[40], l[40];
        mh_time_format_sec(in->first_seen, f);
        mh_time_format_sec(in->last_seen, l);
        st = mh_buf_printf(&b, "%-20s  %-8s  %5d  %-20s  %-20s  %5zu  ", in->id, mh_level_name(in->level),
                           (int)in->score, f, l, in->nsteps);
        bool first = true;
        if (st == MH_OK) st = list_text(&b, in, MH_INC_USERS, "users", 3, &first);
        if (st == MH_OK) st = list_text(&b, in, MH_INC_IPS, "ips", 3, &first);
        if (st == MH_OK) st = list_text(&b, in, MH_INC_APPS, "apps", 2, &first);
        if (st == MH_OK) st = mh_buf_printf(&b, "\n");
    }
    if (st == MH_OK) st = mh_buf_printf(&b, "\n");
    for (size_t i = 0; i < n && st == MH_OK; i++) {
        st = mh_incident_summary(h->inc, i, &b);
        if (st == MH_OK) st = mh_buf_printf(&b, "\n\n");
    }
    if (st == MH_OK) st = mh_buf_printf(&b, "ALERTS\n");
out:
    if (st == MH_OK && b.len && fwrite(b.data, 1, b.len, o) != b.len) st = MH_EIO;
    mh_buf_fini(&b);
    return st;
}

static mh_status copy_file(FILE *from, FILE *to)
{
    char buf[65536];
    size_t n;
    if (fflush(from) != 0 || fseek(from, 0, SEEK_SET) != 0) return MH_EIO;
    while ((n = fread(buf, 1, sizeof buf, from)) > 0)
        if (fwrite(buf, 1, n, to) != n) return MH_EIO;
    return ferror(from) ? MH_EIO : MH_OK;
}

int mh_cli_hunt(int argc, char **argv)
{
    struct hunt h;
    memset(&h, 0, sizeof h);
    h.from = h.to = MH_TIME_NONE;
    h.min_level = MH_LEVEL_NONE;
    h.fmt = isatty(1) ? MH_AF_TABLE : MH_AF_JSONL;
    long nprocs = sysconf(_SC_NPROCESSORS_ONLN);
    h.jobs = nprocs > 0 ? (int)(nprocs > MH_MAX_THREADS ? MH_MAX_THREADS : nprocs) : 1;
    int64_t lateness = -1;
    const char *outpath = NULL, *state_path = NULL, *detcfg_path = NULL, *inc_path = NULL;
    bool no_builtin = false;
    h.detectors = true;
    mh_state *state = NULL;
    FILE *alerts_tmp = NULL, *final_out = NULL;
    struct mh_ruleset_opts ro = {0};
    const char **rulepaths = mh_calloc((size_t)argc + 1, sizeof *rulepaths);
    const char **paths = mh_calloc((size_t)argc + 1, sizeof *paths);
    int nr = 0, np = 0, rc = MH_EXIT_OK;
    if (!rulepaths || !paths) {
        mh_cli_fail("%s", "out of memory");
        rc = MH_EXIT_ERROR;
        goto done;
    }
    bool rest = false; /* after "--": every word is a PATH */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (rest) paths[np++] = a;
        else if (strcmp(a, "--") == 0) rest = true;
        else if (mh_cli_is_help(a)) {
            usage(stdout);
            goto done;
        } else if (strcmp(a, "-r") == 0 && has) rulepaths[nr++] = argv[++i];
        else if (strcmp(a, "--format") == 0 && has) {
            const char *f = argv[++i];
            if (strcmp(f, "table") == 0) h.fmt = MH_AF_TABLE;
            else if (strcmp(f, "jsonl") == 0 || strcmp(f, "json") == 0) h.fmt = MH_AF_JSONL;
            else if (strcmp(f, "csv") == 0) h.fmt = MH_AF_CSV;
            else {
                mh_cli_fail("hunt: unknown format '%s' (table, jsonl, csv)", f);
                rc = MH_EXIT_ERROR;
                goto done;
            }
        } else if (strcmp(a, "-o") == 0 && has) outpath = argv[++i];
        else if (strcmp(a, "--min-level") == 0 && has) {
            const char *l = argv[++i];
            h.min_level = mh_level_parse(l, strlen(l));
            if (h.min_level == MH_LEVEL_NONE) {
                mh_cli_fail("hunt: unknown level '%s'", l);
                rc = MH_EXIT_ERROR;
                goto done;
            }
        } else if ((strcmp(a, "--from") == 0 || strcmp(a, "--to") == 0) && has) {
            mh_time t;
            const char *v = argv[++i];
            if (mh_time_parse(v, strlen(v), &t) != MH_OK) {
                mh_cli_fail("hunt: %s: cannot parse time '%s'", a, v);
                rc = MH_EXIT_ERROR;
                goto done;
            }
            if (a[2] == 'f') h.from = t;
            else h.to = t;
        } else if (strcmp(a, "-j") == 0 && has) {
            char *end;
            long j = strtol(argv[++i], &end, 10);
            if (*end || j < 1 || j > MH_MAX_THREADS) {
                mh_cli_fail("hunt: -j takes 1..%d", MH_MAX_THREADS);
                rc = MH_EXIT_ERROR;
                goto done;
            }
            h.jobs = (int)j;
        } else if (strcmp(a, "--stats") == 0) h.stats = true;
        else if (strcmp(a, "--fail-on-alert") == 0) h.fail_on_alert = true;
        else if (strcmp(a, "--reference") == 0) h.reference = true;
        else if (strcmp(a, "-q") == 0) h.quiet = true;
        else if (strcmp(a, "--lateness") == 0 && has) {
            if (!parse_span(argv[++i], &lateness)) {
                mh_cli_fail("hunt: --lateness takes a duration like 30m");
                rc = MH_EXIT_ERROR;
                goto done;
            }
        } else if (strcmp(a, "--no-builtin") == 0) no_builtin = true;
        else if (strcmp(a, "--no-detectors") == 0) h.detectors = false;
        else if (strcmp(a, "--state") == 0 && has) state_path = argv[++i];
        else if (strcmp(a, "--detectors-config") == 0 && has) detcfg_path = argv[++i];
        else if (strcmp(a, "--incidents") == 0 && has) inc_path = argv[++i];
        else if (strcmp(a, "--fieldmaps") == 0 && has) ro.fieldmap_dir = argv[++i];
        else if (strcmp(a, "--expand") == 0 && has) ro.expand_dir = argv[++i];
        else if (a[0] == '-' && a[1]) {
            mh_cli_fail("hunt: unknown option %s (see mailhound hunt --help)", a);
            rc = MH_EXIT_ERROR;
            goto done;
        } else paths[np++] = a;
    }
    if (!np) {
        usage(stderr);
        rc = MH_EXIT_ERROR;
        goto done;
    }
    /* rules */
    ro.on_note = rule_note;
    ro.ctx = &h;
    mh_error err;
    mh_error_clear(&err);
    if (mh_ruleset_new(&ro, &h.rs, &err) != MH_OK) {
        mh_cli_error("field maps", &err);
        rc = MH_EXIT_ERROR;
        goto done;
    }
    if (!no_builtin) {
        /* the built-in pack, once: not again when a -r folder holds it */
        static char builtin[4200];
        snprintf(builtin, sizeof builtin, "%s/rules/builtin", h.rs->data_dir);
        if (!covered(builtin, rulepaths, nr)) rulepaths[nr++] = builtin;
    }
    if (!nr) {
        mh_cli_fail("hunt: no rules (--no-builtin without -r)");
        rc = MH_EXIT_ERROR;
        goto done;
    }
    for (int i = 0; i < nr; i++)
        if (mh_ruleset_add_path(h.rs, rulepaths[i], &err) != MH_OK) {
            mh_cli_error(NULL, &err);
            rc = MH_EXIT_ERROR;
            goto done;
        }
    if (mh_ruleset_compile(h.rs, &err) != MH_OK) {
        mh_cli_error("rules", &err);
        rc = MH_EXIT_ERROR;
        goto done;
    }
    h.is_input = mh_calloc(h.rs->nrules ? h.rs->nrules : 1, 1);
    if (!h.is_input) goto oom;
    for (size_t i = 0; i < h.rs->nrules; i++) h.is_input[i] = mh_corr_is_input(h.rs, (uint32_t)i);
    struct mh_correlator_opts co = {lateness, on_corr_alert, &h};
    if (mh_correlator_new(h.rs, &co, &h.corr) != MH_OK) goto oom;
    if (h.detectors) {
        struct mh_detector_config dc;
        mh_detector_config_defaults(&dc);
        char defcfg[MH_DET_PATH_BYTES + 32];
        snprintf(defcfg, sizeof defcfg, "%s/config/detectors.conf", dc.data_dir);
        const char *cfg = detcfg_path ? detcfg_path : defcfg;
        if ((detcfg_path || access(cfg, R_OK) == 0) && mh_detector_config_load(&dc, cfg, &err) != MH_OK) {
            mh_cli_error("detectors config", &err);
            rc = MH_EXIT_ERROR;
            goto done;
        }
        /* Without --state the baselines would go to an in-memory database that
           is dropped at exit: skip it (no load of an empty one, no save). */
        if (state_path && mh_state_open(state_path, &state, &err) != MH_OK) {
            mh_cli_error("state", &err);
            rc = MH_EXIT_ERROR;
            goto done;
        }
        if (mh_detectors_new(&dc, state, on_detection, &h, &h.det, &err) != MH_OK) {
            mh_cli_error("detectors", &err);
            rc = MH_EXIT_ERROR;
            goto done;
        }
        /* Sigma correlation windows continue across runs as the baselines do */
        if (state) {
            if (mh_correlator_load(h.corr, mh_state_db(state), &err) != MH_OK) {
                mh_cli_error("state", &err);
                rc = MH_EXIT_ERROR;
                goto done;
            }
            mh_detectors_set_saver(h.det, save_carry, h.corr);
        }
        struct mh_incident_config ic;
        mh_incident_config_from(&dc, &ic);
        if ((inc_path || h.fmt == MH_AF_TABLE) &&
            mh_incidents_new(&ic, mh_detectors_first_party(h.det), &h.inc) != MH_OK)
            goto oom;
    } else if (state_path || inc_path) {
        mh_cli_fail("hunt: --state and --incidents need the detectors (drop --no-detectors)");
        rc = MH_EXIT_ERROR;
        goto done;
    }
    /* input */
    h.badctx.quiet = h.quiet;
    struct mh_reader_opts rdo = {0};
    rdo.on_bad = on_bad;
    rdo.ctx = &h;
    if (mh_reader_new(&rdo, &h.rd) != MH_OK) goto oom;
    for (int i = 0; i < np; i++)
        if (mh_reader_add_path(h.rd, paths[i]) != MH_OK) goto oom;
    /* workers and slots */
    int nw = h.jobs > 1 ? h.jobs : 1;
    h.nslots = h.jobs > 1 ? h.jobs + 2 : 1;
    h.slots = mh_calloc((size_t)h.nslots, sizeof *h.slots);
    h.w = mh_calloc((size_t)nw, sizeof *h.w);
    if (!h.slots || !h.w) goto oom;
    for (int i = 0; i < h.nslots; i++) {
        mh_batch_init(&h.slots[i].b);
        if (mh_normalizer_new(&h.slots[i].nz) != MH_OK) goto oom;
        mh_buf_init(&h.slots[i].out, (size_t)1 << 31);
        mh_buf_init(&h.slots[i].notes, (size_t)1 << 28);
        mh_arena_init(&h.slots[i].harena, 1u << 16, (size_t)1 << 30);
    }
    for (int i = 0; i < nw; i++) {
        h.w[i].h = &h;
        if (mh_matcher_new(h.rs, h.reference, &h.w[i].m) != MH_OK) goto oom;
    }
    pthread_mutex_init(&h.mu, NULL);
    pthread_cond_init(&h.cv, NULL);
    h.out = mh_cli_open_out(outpath);
    if (!h.out) {
        rc = MH_EXIT_ERROR;
        goto done;
    }
    if (h.inc && h.fmt == MH_AF_TABLE) {
        /* table: incidents first, so the alerts wait in a temporary file */
        alerts_tmp = tmpfile();
        if (!alerts_tmp) {
            mh_cli_fail("hunt: cannot create a temporary file: %s", strerror(errno));
            rc = MH_EXIT_ERROR;
            goto done;
        }
        final_out = h.out;
        h.out = alerts_tmp;
    }
    mh_buf_init(&h.obuf, (size_t)1 << 31);
    h.progress = isatty(2) && !h.quiet;
    if (h.fmt != MH_AF_JSONL) {
        if (mh_alert_header(&h.obuf, h.fmt) != MH_OK) goto oom;
    }
    double t0 = now_s();
    mh_status st = run(&h);
    double dt = now_s() - t0;
    if (st && h.det_err.code) {
        mh_cli_error("detectors", &h.det_err);
        rc = MH_EXIT_ERROR;
    } else if (st) {
        mh_error e2;
        mh_error_clear(&e2);
        mh_error_set(&e2, st, st == MH_EIO ? "cannot write output" : "hunt failed", "%s", mh_status_str(st));
        mh_cli_error(NULL, &e2);
        rc = MH_EXIT_ERROR;
    }
    if (st == MH_OK && h.inc && inc_path && write_incidents(&h, inc_path) != MH_OK) rc = MH_EXIT_ERROR;
    if (final_out) {
        if (st == MH_OK && (print_incidents(&h, final_out) != MH_OK || copy_file(alerts_tmp, final_out) != MH_OK)) {
            mh_cli_fail("hunt: cannot write output");
            rc = MH_EXIT_ERROR;
        }
        fclose(alerts_tmp);
        alerts_tmp = NULL;
        h.out = final_out;
        final_out = NULL;
    }
    if (h.out != stdout) fclose(h.out);
    else fflush(stdout);
    h.out = NULL;
    const struct mh_ingest_stats *is = mh_reader_stats(h.rd);
    struct mh_match_stats ms = {0};
    for (int i = 0; i < nw; i++) {
        const struct mh_match_stats *s = mh_matcher_stats(h.w[i].m);
        ms.records += s->records;
        ms.skipped += s->skipped;
        ms.events += s->events;
        ms.rule_evals += s->rule_evals;
        ms.matches += s->matches;
        ms.regex_limits += s->regex_limits;
        ms.leaf_limits += s->leaf_limits;
    }
    /* a cut evaluation may have missed a match: always said, not only with --stats */
    if (ms.regex_limits && !h.quiet)
        fprintf(stderr, "mailhound: warning: %llu regex executions hit the PCRE2 limits (no match)\n",
                (unsigned long long)ms.regex_limits);
    if (ms.leaf_limits && !h.quiet)
        fprintf(stderr,
                "mailhound: warning: %llu keyword searches stopped at %u fields of one event (the "
                "rest not searched)\n",
                (unsigned long long)ms.leaf_limits, (unsigned)MH_MAX_FIELDS_PER_EVENT);
    if (h.stats) {
        const struct mh_corr_stats *cs = mh_correlator_stats(h.corr);
        fprintf(stderr,
                "mailhound: stats: %zu rules (%zu active, %zu prefilter literals, %zu always), "
                "%llu files, %.1f MB, %llu records, %llu parsed (%llu never parsed: no candidate rule), "
                "%llu rule evaluations, %llu alerts + %llu correlation alerts, %llu skipped, "
                "%.3f s, %.1f MB/s, %.0f records/s, %d threads%s\n",
                h.rs->nrules, h.rs->nactive, h.rs->nlits, h.rs->nalways,
                (unsigned long long)is->files, (double)is->bytes / 1e6,
                (unsigned long long)is->records_read, (unsigned long long)ms.events,
                (unsigned long long)ms.skipped, (unsigned long long)ms.rule_evals,
                (unsigned long long)h.alerts, (unsigned long long)h.corr_alerts,
                (unsigned long long)(is->records_skipped + h.bad), dt,
                dt > 0 ? (double)is->bytes / 1e6 / dt : 0, dt > 0 ? (double)is->records_read / dt : 0,
                h.jobs, h.reference ? ", reference matcher" : "");
        if (h.det) {
            const struct mh_detector_stats *ds = mh_detectors_stats(h.det);
            fprintf(stderr,
                    "mailhound: stats: detectors: %llu events, %llu detections (%llu written), "
                    "%llu dropped at caps, %llu unverifiable tokens; %zu incidents\n",
                    (unsigned long long)ds->events, (unsigned long long)ds->detections,
                    (unsigned long long)h.det_alerts, (unsigned long long)ds->dropped,
                    (unsigned long long)ds->unverifiable, h.inc ? mh_incidents_count(h.inc) : (size_t)0);
        }
        if (cs->hits)
            fprintf(stderr,
                    "mailhound: stats: correlation: %llu hits, %llu fired, %llu untimed, %llu late, "
                    "%llu groups expired, %llu evicted, %llu entries evicted, %llu distinct saturated\n",
                    (unsigned long long)cs->hits, (unsigned long long)cs->fired,
                    (unsigned long long)cs->untimed, (unsigned long long)cs->late,
                    (unsigned long long)cs->groups_expired, (unsigned long long)cs->groups_evicted,
                    (unsigned long long)cs->entries_evicted, (unsigned long long)cs->distinct_saturated);
        if (cs->replayed || cs->replay_skipped || cs->carry_dropped)
            fprintf(stderr,
                    "mailhound: stats: correlation carry-over: %llu hits from the state (%llu "
                    "firings already reported, %llu superseded by the same hit, %llu skipped: rule "
                    "gone or changed), %llu hits not kept for the next run (cap)\n",
                    (unsigned long long)cs->replayed, (unsigned long long)cs->replay_fired,
                    (unsigned long long)cs->replay_superseded, (unsigned long long)cs->replay_skipped,
                    (unsigned long long)cs->carry_dropped);
    }
    if (is->files_failed) rc = MH_EXIT_ERROR;
    if (rc == MH_EXIT_OK && h.fail_on_alert && h.alerts + h.corr_alerts + h.det_alerts) rc = MH_EXIT_ALERT;
    goto done;
oom:
    mh_cli_fail("%s", "out of memory");
    rc = MH_EXIT_ERROR;
done:
    if (h.w)
        for (int i = 0; i < (h.jobs > 1 ? h.jobs : 1); i++) {
            mh_matcher_free(h.w[i].m);
        }
    if (h.slots)
        for (int i = 0; i < h.nslots; i++) {
            mh_batch_fini(&h.slots[i].b);
            mh_buf_fini(&h.slots[i].out);
            mh_buf_fini(&h.slots[i].notes);
            mh_held_fini(&h.slots[i].held);
            mh_arena_fini(&h.slots[i].harena);
            mh_free(h.slots[i].hits);
            mh_free(h.slots[i].evs);
            mh_free(h.slots[i].kept);
            mh_normalizer_free(h.slots[i].nz);
        }
    if (h.slots) {
        pthread_mutex_destroy(&h.mu);
        pthread_cond_destroy(&h.cv);
    }
    mh_free(h.slots);
    mh_free(h.w);
    mh_buf_fini(&h.obuf);
    for (uint32_t p = 0; p < NAME_PAGES; p++) {
        if (!h.names.page[p]) continue;
        for (uint32_t i = 0; i < NAME_PAGE; i++) mh_free(h.names.page[p][i].name);
        mh_free(h.names.page[p]);
    }
    if (alerts_tmp) fclose(alerts_tmp);
    if (final_out && final_out != stdout) fclose(final_out);
    mh_incidents_free(h.inc);
    mh_detectors_free(h.det);
    mh_state_close(state);
    mh_correlator_free(h.corr);
    mh_reader_free(h.rd);
    mh_free(h.is_input);
    mh_ruleset_free(h.rs);
    mh_free(rulepaths);
    mh_free(paths);
    return rc;
}
