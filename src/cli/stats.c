/*
 * cli/stats.c -- `mailhound stats`: what is in these logs, and what was not usable
 *
 * Pipeline: [reader -> normalizer] (normalize/stream.h) -> counters -> a
 * plain-text table (default) or one JSON object (--json). Counts: events by
 * source kind, by operation (as written), by export format; time range;
 * records read / used / skipped; files read / failed; bytes.
 *
 * Determinism: every list is sorted by count (descending), then by name
 * (bytewise ascending); the JSON layout is an output contract (docs/cli.md).
 * Operations are counted in a map bounded by MH_MAX_STATS_OPERATIONS; once
 * full, further distinct operations are counted under "(other)" and the
 * output says how many events that was.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "base/time.h"
#include "cli/cli.h"
#include "ingest/reader.h"
#include "mailhound/limits.h"
#include "normalize/event.h"
#include "normalize/stream.h"

#define ROWS_MAX ((int)MH_SRC__COUNT > (int)MH_FMT__COUNT ? (int)MH_SRC__COUNT : (int)MH_FMT__COUNT)
#define NO_OPERATION "(none)"
#define OTHER_OPERATION "(other)"

static void usage(FILE *out)
{
    fputs("usage: mailhound stats [--json] [-q] PATH...\n"
          "       mailhound stats --help\n"
          "\n"
          "Read the given logs and count what they hold: events by source kind\n"
          "(ual.mailbox, signin.interactive, audit.directory, ...), by operation\n"
          "and by export format; the time range covered; records read, used and\n"
          "skipped; files read and failed; bytes read. Use it first on any new\n"
          "export to see that every record is understood.\n"
          "\n"
          "PATH is a log file, a folder (read recursively, in name order) or - for\n"
          "standard input; every export format is recognised by content, gzip and\n"
          "zstd are decompressed (see mailhound cat --help).\n"
          "\n"
          "Lists are sorted by count, largest first, then by name. An event\n"
          "without an operation is counted as (none). Records read = used +\n"
          "skipped. Events whose time field did not parse are kept, reported on\n"
          "standard error and counted as \"unparseable\"; exports without a time\n"
          "column (hunting-query results) count as \"without time\".\n"
          "\n"
          "Options:\n"
          "  --json        one JSON object on standard output instead of the table\n"
          "                (layout in docs/cli.md)\n"
          "  -q, --quiet   do not print per-record warnings (they are still counted)\n"
          "  -h, --help    this text\n"
          "\n"
          "Exit status:\n"
          "  0  the run completed (even if records were skipped)\n"
          "  1  usage error, a file could not be read, or an internal error\n"
          "\n"
          "Examples:\n"
          "  mailhound stats exports/\n"
          "  mailhound stats --json audit.csv | jq .records\n",
          out);
}

struct stats {
    struct mh_cli_bad bad;
    struct mh_map ops;
    uint64_t ops_other;
};

struct row {
    const char *name;
    size_t len;
    uint64_t count;
};

static int row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    if (x->count != y->count) return x->count > y->count ? -1 : 1;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    if (c) return c;
    return x->len < y->len ? -1 : x->len > y->len;
}

static mh_status count_op(struct stats *s, struct mh_event *ev)
{
    struct mh_slice op;
    mh_status st = mh_event_entity(ev, MH_ENT_OPERATION, &op);
    if (st == MH_ENOTFOUND)
        op = MH_SLICE_LIT(NO_OPERATION);
    else if (st)
        return st;
    struct mh_map_entry *e = mh_map_get(&s->ops, op.ptr, op.len);
    if (!e) {
        st = mh_map_put(&s->ops, op.ptr, op.len, &e, NULL);
        if (st == MH_ELIMIT) {
            s->ops_other++;
            return MH_OK;
        }
        if (st) return st;
    }
    e->value++;
    return MH_OK;
}

/* Sorted rows; caller frees. */
static struct row *sorted_ops(const struct stats *s, size_t *n)
{
    size_t cnt = s->ops.n + (s->ops_other ? 1 : 0);
    struct row *r = mh_calloc(cnt ? cnt : 1, sizeof *r);
    if (!r) return NULL;
    for (size_t i = 0; i < s->ops.n; i++)
        r[i] = (struct row){s->ops.entries[i].key.ptr, s->ops.entries[i].key.len,
                            s->ops.entries[i].value};
    if (s->ops_other)
        r[s->ops.n] = (struct row){OTHER_OPERATION, strlen(OTHER_OPERATION), s->ops_other};
    qsort(r, cnt, sizeof *r, row_cmp);
    *n = cnt;
    return r;
}

static size_t sorted_kinds(const struct mh_evstream_stats *ss, struct row r[MH_SRC__COUNT])
{
    size_t n = 0;
    for (int k = 0; k < MH_SRC__COUNT; k++) {
        if (!ss->by_kind[k]) continue;
        const char *name = mh_source_kind_name((enum mh_source_kind)k);
        r[n++] = (struct row){name, strlen(name), ss->by_kind[k]};
    }
    qsort(r, n, sizeof *r, row_cmp);
    return n;
}

static size_t sorted_formats(const struct mh_evstream_stats *ss, struct row r[MH_FMT__COUNT])
{
    size_t n = 0;
    for (int f = 0; f < MH_FMT__COUNT; f++) {
        if (!ss->ingest.by_format[f]) continue;
        const char *name = mh_format_name((enum mh_format)f);
        r[n++] = (struct row){name, strlen(name), ss->ingest.by_format[f]};
    }
    qsort(r, n, sizeof *r, row_cmp);
    return n;
}

/* Display width of UTF-8 text: code points (no wide-character tables). */
static size_t width(const char *s, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) w += ((unsigned char)s[i] & 0xC0) != 0x80;
    return w;
}

static void print_table(const char *title, const char *unit, const struct row *r, size_t n)
{
    size_t w = 40;
    for (size_t i = 0; i < n; i++) {
        size_t k = width(r[i].name, r[i].len);
        if (k > w) w = k;
    }
    printf("\n%s%*s %10s\n", title, (int)(w - strlen(title)), "", unit);
    for (size_t i = 0; i < n; i++)
        printf("%.*s%*s %10llu\n", (int)r[i].len, r[i].name, (int)(w - width(r[i].name, r[i].len)),
               "", (unsigned long long)r[i].count);
}

static void print_text(const struct mh_evstream_stats *ss, const struct row *ops, size_t nops)
{
    char t1[32], t2[32];
    printf("files      %llu read, %llu failed", (unsigned long long)ss->ingest.files,
           (unsigned long long)ss->ingest.files_failed);
    if (ss->ingest.files_not_logs)
        printf(", %llu not logs (skipped)", (unsigned long long)ss->ingest.files_not_logs);
    putchar('\n');
    printf("bytes      %llu read, %llu decoded\n", (unsigned long long)ss->ingest.bytes_in,
           (unsigned long long)ss->ingest.bytes);
    printf("records    %llu read, %llu used, %llu skipped\n", (unsigned long long)ss->records,
           (unsigned long long)ss->events, (unsigned long long)ss->skipped);
    if (ss->first != MH_TIME_NONE) {
        mh_time_format(ss->first, t1, 0);
        mh_time_format(ss->last, t2, 0);
        printf("time       %s .. %s\n", t1, t2);
    } else {
        printf("time       (none)\n");
    }
    printf("           %llu events without time (%llu unparseable)\n",
           (unsigned long long)ss->no_time, (unsigned long long)ss->bad_time);
    struct row r[ROWS_MAX];
    print_table("format", "records", r, sorted_formats(ss, r));
    print_table("source", "events", r, sorted_kinds(ss, r));
    print_table("operation", "events", ops, nops);
}

static void jw_rows(struct mh_jw *w, const char *key, const struct row *r, size_t n)
{
    mh_jw_key(w, key);
    mh_jw_obj_begin(w);
    for (size_t i = 0; i < n; i++) {
        mh_jw_keyn(w, r[i].name, r[i].len);
        mh_jw_uint(w, r[i].count);
    }
    mh_jw_obj_end(w);
}

static mh_status print_json(const struct mh_evstream_stats *ss, const struct row *ops, size_t nops)
{
    struct mh_buf b;
    mh_buf_init(&b, (size_t)1 << 30);
    struct mh_jw w;
    mh_jw_init(&w, &b);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "files");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "read");
    mh_jw_uint(&w, ss->ingest.files);
    mh_jw_key(&w, "failed");
    mh_jw_uint(&w, ss->ingest.files_failed);
    mh_jw_key(&w, "not_logs");
    mh_jw_uint(&w, ss->ingest.files_not_logs);
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "bytes");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "read");
    mh_jw_uint(&w, ss->ingest.bytes_in);
    mh_jw_key(&w, "decoded");
    mh_jw_uint(&w, ss->ingest.bytes);
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "records");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "read");
    mh_jw_uint(&w, ss->records);
    mh_jw_key(&w, "used");
    mh_jw_uint(&w, ss->events);
    mh_jw_key(&w, "skipped");
    mh_jw_uint(&w, ss->skipped);
    mh_jw_obj_end(&w);
    mh_jw_key(&w, "time");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "first");
    mh_jw_time(&w, ss->first);
    mh_jw_key(&w, "last");
    mh_jw_time(&w, ss->last);
    mh_jw_key(&w, "without");
    mh_jw_uint(&w, ss->no_time);
    mh_jw_key(&w, "unparseable");
    mh_jw_uint(&w, ss->bad_time);
    mh_jw_obj_end(&w);
    struct row r[ROWS_MAX];
    jw_rows(&w, "formats", r, sorted_formats(ss, r));
    jw_rows(&w, "sources", r, sorted_kinds(ss, r));
    jw_rows(&w, "operations", ops, nops);
    mh_jw_obj_end(&w);
    mh_status st = mh_jw_status(&w);
    if (!st) st = mh_buf_putc(&b, '\n');
    if (!st && fwrite(b.data, 1, b.len, stdout) != b.len) st = MH_EIO;
    mh_buf_fini(&b);
    return st;
}

/* stats' own option (mh_cli_opt_fn): --json. */
static int stats_option(void *ctx, int argc, char **argv, int *i)
{
    (void)argc;
    if (strcmp(argv[*i], "--json") != 0) return MH_CLI_OPT_UNKNOWN;
    *(bool *)ctx = true;
    return MH_CLI_OPT_TAKEN;
}

int mh_cli_stats(int argc, char **argv)
{
    struct stats s;
    memset(&s, 0, sizeof s);
    bool json = false;
    struct mh_cli_args args;
    int rc = mh_cli_parse_paths("stats", argc, argv, usage, stats_option, &json, &args);
    if (rc != MH_CLI_GO_ON) {
        mh_cli_args_fini(&args);
        return rc;
    }
    s.bad.quiet = args.quiet;

    rc = MH_EXIT_OK;
    mh_evstream *es = NULL;
    struct row *ops = NULL;
    size_t nops = 0;
    mh_map_init(&s.ops, MH_MAX_STATS_OPERATIONS, false);
    mh_status st =
        mh_cli_open_logs(&s.bad, (const char *const *)args.paths, (size_t)args.npaths, &es);
    while (!st) {
        struct mh_event *ev;
        st = mh_evstream_next(es, &ev);
        if (!st) st = count_op(&s, ev);
    }
    if (st == MH_EOF) {
        struct mh_evstream_stats ss;
        mh_evstream_stats(es, &ss);
        ops = sorted_ops(&s, &nops);
        if (!ops) {
            st = MH_ENOMEM;
        } else if (json) {
            st = print_json(&ss, ops, nops);
        } else {
            print_text(&ss, ops, nops);
            st = MH_OK;
        }
        if (ss.ingest.files_failed) rc = MH_EXIT_ERROR;
    }
    if (st) {
        mh_cli_fail("stats: %s", mh_status_str(st));
        rc = MH_EXIT_ERROR;
    }
    if (fflush(stdout) != 0) {
        mh_cli_fail("stats: cannot write to standard output");
        rc = MH_EXIT_ERROR;
    }
    mh_free(ops);
    mh_map_fini(&s.ops);
    mh_evstream_free(es);
    mh_cli_args_fini(&args);
    return rc;
}
