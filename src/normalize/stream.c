/*
 * normalize/stream.c -- reader + normalizer as one event stream (see stream.h)
 *
 * Pipeline: [ingest -> normalize] -> consumer. One batch at a time: the
 * normalizer is reset before each refill, so memory is bounded by one batch
 * (MH_BATCH_BYTES of records, their tapes, MH_EVENT_ARENA_BYTES of lazily
 * decoded data).
 *
 * Report order: the reader's reports are held (ingest/held.h) with their
 * position in the batch and passed on just before the record they preceded;
 * the normalizer's follow their own record. So reports come in input order
 * whatever the batch size.
 *
 * Positions in reports are those of the decoded file: the
 * record's line and number, and the byte offset of the problem when the
 * record is JSON text from the file itself (JSON Lines, arrays, pages);
 * for CSV rows (a synthesised JSON object) the offset of the row.
 */
#include "normalize/stream.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "ingest/held.h"
#include "mailhound/limits.h"

struct mh_evstream {
    struct mh_evstream_opts opts;
    struct mh_held held; /* the reader's reports of the batch (ingest/held.h) */
    mh_reader *reader;
    mh_normalizer *nz;
    struct mh_batch batch;
    size_t next;             /* next record of the batch */
    struct mh_event *events; /* one slot per record of the batch */
    size_t nevents;          /* slots allocated */
    bool eof;
    struct mh_evstream_stats st;
};

/* The reader's on_bad: keep the report until its record position is reached. */
static void hold(void *ctx, const mh_error *err, bool fatal)
{
    mh_evstream *s = ctx;
    mh_held_add(&s->held, err, fatal, s->batch.n, s->opts.on_bad, s->opts.ctx);
}

mh_status mh_evstream_new(const struct mh_evstream_opts *opts, mh_evstream **out)
{
    mh_status st = MH_OK;
    mh_evstream *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    if (opts) s->opts = *opts;
    mh_batch_init(&s->batch);
    s->st.first = s->st.last = MH_TIME_NONE;
    struct mh_reader_opts ro = s->opts.reader;
    if (s->opts.on_bad) {
        ro.on_bad = hold;
        ro.ctx = s;
    } else {
        ro.on_bad = NULL; /* counted by the reader, reported to nobody */
    }
    MH_CHECK(mh_reader_new(&ro, &s->reader));
    MH_CHECK(mh_normalizer_new(&s->nz));
    *out = s;
    return MH_OK;
out:
    mh_evstream_free(s);
    return st;
}

void mh_evstream_free(mh_evstream *s)
{
    if (!s) return;
    mh_held_fini(&s->held);
    mh_free(s->events);
    mh_normalizer_free(s->nz);
    mh_batch_fini(&s->batch);
    mh_reader_free(s->reader);
    mh_free(s);
}

mh_status mh_evstream_add_path(mh_evstream *s, const char *path)
{
    return mh_reader_add_path(s->reader, path);
}

mh_status mh_evstream_add_memory(mh_evstream *s, const char *name, const void *data, size_t len)
{
    return mh_reader_add_memory(s->reader, name, data, len);
}

const char *mh_evstream_file_name(const mh_evstream *s, uint32_t file)
{
    return mh_reader_file_name(s->reader, file);
}

const char *mh_evstream_file_key(const mh_evstream *s, uint32_t file)
{
    return mh_reader_file_key(s->reader, file);
}

void mh_evstream_stats(const mh_evstream *s, struct mh_evstream_stats *out)
{
    *out = s->st;
    const struct mh_ingest_stats *in = mh_reader_stats(s->reader);
    out->ingest = *in;
    out->skipped = in->records_skipped + s->st.skipped_normalize;
    out->records = out->events + out->skipped;
}

/* Offset in the decoded file of byte `off` of the record's JSON text. */
static uint64_t file_offset(const struct mh_record *rec, uint64_t off)
{
    if (rec->json == rec->raw && off <= rec->json_len) return rec->offset + off;
    return rec->offset;
}

static void report_bad(mh_evstream *s, const struct mh_record *rec, mh_error *err)
{
    s->st.skipped_normalize++;
    if (!s->opts.on_bad) return;
    mh_error_at(err, mh_reader_file_name(s->reader, rec->file), rec->line, 0,
                file_offset(rec, err->offset), rec->number);
    s->opts.on_bad(s->opts.ctx, err, false);
}

static void report_bad_time(mh_evstream *s, const struct mh_event *ev)
{
    if (!s->opts.on_warn) return;
    const struct mh_record *rec = ev->rec;
    mh_error err;
    mh_error_clear(&err);
    struct mh_slice v = MH_SLICE_NULL;
    uint64_t off = 0;
    if (ev->time_doc && ev->time_node != MH_JNONE) {
        v = mh_json_raw(ev->time_doc, ev->time_node);
        if (ev->time_doc == ev->record_doc) off = mh_json_node(ev->time_doc, ev->time_node)->off;
    }
    int shown = v.len > 64 ? 64 : (int)v.len;
    mh_error_set(&err, MH_EPARSE, "unparseable time; event kept with time unknown",
                 "%s: \"%.*s%s\"", ev->time_field ? ev->time_field : "time", shown,
                 v.ptr ? v.ptr : "", v.len > 64 ? "..." : "");
    mh_error_at(&err, mh_reader_file_name(s->reader, rec->file), rec->line, 0,
                file_offset(rec, off), rec->number);
    s->opts.on_warn(s->opts.ctx, &err, false);
}

static mh_status refill(mh_evstream *s)
{
    mh_normalizer_reset(s->nz);
    s->next = 0;
    mh_status st = mh_reader_fill(s->reader, &s->batch);
    if (st == MH_EOF) {
        s->eof = true;
        return MH_EOF;
    }
    if (st) return st;
    if (s->batch.n > s->nevents) {
        size_t n = s->batch.n;
        if (n > MH_MAX_LIVE_EVENTS) return MH_ELIMIT;
        struct mh_event *ne = mh_realloc(s->events, n * sizeof *ne);
        if (!ne) return MH_ENOMEM;
        s->events = ne;
        s->nevents = n;
    }
    return MH_OK;
}

mh_status mh_evstream_next(mh_evstream *s, struct mh_event **out)
{
    for (;;) {
        if (s->eof) return MH_EOF;
        if (s->next >= s->batch.n) {
            /* after the batch's last record; then those of the next fill */
            mh_held_release(&s->held, SIZE_MAX, s->opts.on_bad, s->opts.ctx);
            mh_status st = refill(s);
            if (st) {
                mh_held_release(&s->held, SIZE_MAX, s->opts.on_bad, s->opts.ctx);
                return st;
            }
            continue;
        }
        if (mh_held_any(&s->held)) mh_held_release(&s->held, s->next, s->opts.on_bad, s->opts.ctx);
        size_t i = s->next++;
        const struct mh_record *rec = &s->batch.recs[i];
        struct mh_event *ev = &s->events[i];
        mh_error err;
        mh_error_clear(&err);
        mh_status st = mh_event_init(s->nz, rec, ev, &err);
        if (st == MH_ENOMEM) return st;
        if (st) {
            report_bad(s, rec, &err);
            continue;
        }
        s->st.events++;
        s->st.by_kind[ev->kind]++;
        if (ev->flags & MH_EVF_BAD_TIME) {
            s->st.bad_time++;
            report_bad_time(s, ev);
        }
        if (ev->time == MH_TIME_NONE) {
            s->st.no_time++;
        } else {
            if (s->st.first == MH_TIME_NONE || ev->time < s->st.first) s->st.first = ev->time;
            if (s->st.last == MH_TIME_NONE || ev->time > s->st.last) s->st.last = ev->time;
        }
        *out = ev;
        return MH_OK;
    }
}
