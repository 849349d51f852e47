/*
 * cli/cat.c -- `mailhound cat`: normalized events, one JSON object per line
 *
 * Pipeline: [reader -> normalizer] (normalize/stream.h) -> JSON lines on
 * stdout. This is the view of what the engine sees: source kind, time,
 * canonical entities and the fields rules are matched against. The line
 * layout is an output contract (docs/cli.md):
 *
 *   {"source":"ual.mailbox","format":"jsonl","file":"a.json","record":3,
 *    "line":3,"offset":812,"time":"2023-07-23T12:32:53Z",
 *    "entities":{"user":"...","ip":"...",...},"fields":{...},
 *    "wrapper":{...}}
 *
 * - keys always in this order; "entities" lists only present entities, in
 *   mh_entity order; "time" is null when unknown;
 * - "fields" is the body (unwrapped AuditData, or the record) re-serialised
 *   compactly from the tape: strings and numbers byte-for-byte as in the
 *   input (escapes kept), only insignificant whitespace removed;
 * - "wrapper" appears only when AuditData was unwrapped: the row's other
 *   columns (CreationDate, RecordId, ...), same rendering;
 * - "time_error":true appears when a time field did not parse.
 * Output is buffered and written in blocks; identical input gives
 * byte-identical output.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "cli/cli.h"
#include "ingest/reader.h"
#include "normalize/event.h"
#include "normalize/stream.h"

#define CAT_FLUSH_BYTES (1u << 20)
#define CAT_OUT_MAX ((size_t)MH_MAX_RECORD_BYTES * 2 + (1u << 20))

static void usage(FILE *out)
{
    fputs("usage: mailhound cat [--format jsonl] [--limit N] [-q] PATH...\n"
          "       mailhound cat --help\n"
          "\n"
          "Print every record of the given logs as a normalized event, one JSON\n"
          "object per line: the view of what the detection engine sees.\n"
          "\n"
          "PATH is a log file, a folder (read recursively, in name order) or - for\n"
          "standard input. Every export format is recognised by content: UAL JSON\n"
          "Lines and Management Activity arrays, Purview and Search-UnifiedAuditLog\n"
          "CSV, Graph pages, Azure Monitor {\"records\":[...]} bodies, Log Analytics\n"
          "table exports (CSV or JSON), Exchange message trace reports; gzip and\n"
          "zstd are decompressed, UTF-16 is decoded.\n"
          "\n"
          "Each line holds, in this order: \"source\" (the source kind, e.g.\n"
          "ual.mailbox, signin.noninteractive), \"format\" (the export format),\n"
          "\"file\", \"record\" (1-based number in the file), \"line\", \"offset\"\n"
          "(byte offset of the record in the decoded file), \"time\" (UTC ISO-8601,\n"
          "or null when unknown), \"entities\" (canonical user, ip, app_id,\n"
          "client_app_id, session_id, token_id, mailbox, tenant, operation,\n"
          "operation_key -- only those present), \"fields\" (the record body\n"
          "compacted: unwrapped AuditData, or the record itself), \"wrapper\" (only\n"
          "when AuditData was unwrapped: the row's other columns) and\n"
          "\"time_error\":true when a time field could not be parsed.\n"
          "See docs/cli.md and docs/events.md.\n"
          "\n"
          "Options:\n"
          "  --format jsonl   output format (the only one, and the default)\n"
          "  --limit N        stop after N events\n"
          "  -q, --quiet      no summary line at the end (warnings are still printed)\n"
          "  -h, --help       this text\n"
          "\n"
          "Bad input: a malformed record is reported once on standard error with\n"
          "file, line, record number, byte offset and reason, counted and skipped;\n"
          "an event whose time does not parse is kept (time null) with a warning.\n"
          "A summary line ends the run: records read, used, skipped; files read,\n"
          "failed.\n"
          "\n"
          "Exit status:\n"
          "  0  the run completed (even if records were skipped)\n"
          "  1  usage error, a file could not be read, or an internal error\n"
          "\n"
          "Examples:\n"
          "  mailhound cat audit.jsonl | jq -c 'select(.source==\"ual.mailbox\")'\n"
          "  mailhound cat --limit 5 exports/\n"
          "  zcat signins.json.gz | mailhound cat -\n",
          out);
}

struct cat {
    struct mh_buf out;
    struct mh_buf tmp;
    struct mh_cli_bad bad;
    bool write_failed;
};

/* Compact JSON of tape node i: tokens verbatim, whitespace dropped. */
static mh_status compact(struct mh_buf *b, const struct mh_jdoc *d, uint32_t i)
{
    mh_status st = MH_OK;
    const struct mh_jnode *n = mh_json_node(d, i);
    switch ((enum mh_jtype)n->type) {
    case MH_JOBJ:
    case MH_JARR: {
        bool obj = n->type == MH_JOBJ;
        MH_CHECK(mh_buf_putc(b, obj ? '{' : '['));
        bool first = true;
        for (uint32_t c = mh_json_first(d, i); c != MH_JNONE; c = mh_json_next(d, i, c)) {
            if (!first) MH_CHECK(mh_buf_putc(b, ','));
            first = false;
            if (obj) {
                MH_CHECK(compact(b, d, c));
                MH_CHECK(mh_buf_putc(b, ':'));
                c++;
            }
            MH_CHECK(compact(b, d, c));
        }
        MH_CHECK(mh_buf_putc(b, obj ? '}' : ']'));
        break;
    }
    case MH_JSTR: {
        struct mh_slice s = mh_json_raw(d, i);
        MH_CHECK(mh_buf_putc(b, '"'));
        MH_CHECK(mh_buf_append(b, s.ptr, s.len));
        MH_CHECK(mh_buf_putc(b, '"'));
        break;
    }
    default: {
        struct mh_slice s = mh_json_raw(d, i);
        MH_CHECK(mh_buf_append(b, s.ptr, s.len));
        break;
    }
    }
out:
    return st;
}

/* Length of the compact rendering of node i (a walk over its tape slice). */
static uint64_t compact_len(const struct mh_jdoc *d, uint32_t i)
{
    uint64_t n = 0;
    for (uint32_t k = i; k < mh_json_node(d, i)->next; k++) {
        const struct mh_jnode *nd = mh_json_node(d, k);
        switch ((enum mh_jtype)nd->type) {
        case MH_JSTR: n += (uint64_t)nd->len + 2; break;
        case MH_JNUM: n += nd->len; break;
        case MH_JNULL:
        case MH_JTRUE: n += 4; break;
        case MH_JFALSE: n += 5; break;
        case MH_JARR: n += 2 + (nd->len ? nd->len - 1 : 0); break;
        case MH_JOBJ: n += 2 + (nd->len ? 2u * nd->len - 1 : 0); break;
        }
    }
    return n;
}

/* The body as compact JSON: the raw bytes when they already are (JSON Lines
 * usually), else re-serialised from the tape. */
static mh_status put_compact(struct mh_buf *b, const struct mh_jdoc *d, uint32_t i)
{
    struct mh_slice raw = mh_json_raw(d, i);
    if (compact_len(d, i) == raw.len) return mh_buf_append(b, raw.ptr, raw.len);
    return compact(b, d, i);
}

/* The wrapper row without its AuditData member. */
static mh_status compact_wrapper(struct mh_buf *b, const struct mh_event *ev)
{
    mh_status st = MH_OK;
    const struct mh_jdoc *d = ev->record_doc;
    uint32_t root = ev->record_root;
    bool first = true;
    MH_CHECK(mh_buf_putc(b, '{'));
    for (uint32_t k = mh_json_first(d, root); k != MH_JNONE; k = mh_json_next(d, root, k + 1)) {
        if (mh_json_str_eq(d, k, "AuditData", 9)) continue;
        if (!first) MH_CHECK(mh_buf_putc(b, ','));
        first = false;
        MH_CHECK(compact(b, d, k));
        MH_CHECK(mh_buf_putc(b, ':'));
        MH_CHECK(compact(b, d, k + 1));
    }
    MH_CHECK(mh_buf_putc(b, '}'));
out:
    return st;
}

static mh_status write_event(struct cat *c, mh_evstream *s, struct mh_event *ev)
{
    mh_status st = MH_OK;
    const struct mh_record *rec = ev->rec;
    struct mh_jw w;
    mh_jw_init(&w, &c->out);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "source");
    mh_jw_str(&w, mh_source_kind_name(ev->kind));
    mh_jw_key(&w, "format");
    mh_jw_str(&w, mh_format_name((enum mh_format)rec->format));
    mh_jw_key(&w, "file");
    mh_jw_str(&w, mh_evstream_file_name(s, rec->file));
    mh_jw_key(&w, "record");
    mh_jw_uint(&w, rec->number);
    mh_jw_key(&w, "line");
    mh_jw_uint(&w, rec->line);
    mh_jw_key(&w, "offset");
    mh_jw_uint(&w, rec->offset);
    mh_jw_key(&w, "time");
    mh_jw_time(&w, ev->time);
    mh_jw_key(&w, "entities");
    mh_jw_obj_begin(&w);
    for (int e = 0; e < MH_ENT__COUNT; e++) {
        struct mh_slice v;
        mh_status es = mh_event_entity(ev, (enum mh_entity)e, &v);
        if (es == MH_ENOTFOUND) continue;
        if (es) return es;
        mh_jw_key(&w, mh_entity_name((enum mh_entity)e));
        mh_jw_strn(&w, v.ptr, v.len);
    }
    mh_jw_obj_end(&w);
    mh_buf_clear(&c->tmp);
    MH_CHECK(put_compact(&c->tmp, ev->doc, ev->body));
    mh_jw_key(&w, "fields");
    mh_jw_raw(&w, c->tmp.data, c->tmp.len);
    if (ev->flags & MH_EVF_UNWRAPPED) {
        mh_buf_clear(&c->tmp);
        MH_CHECK(compact_wrapper(&c->tmp, ev));
        mh_jw_key(&w, "wrapper");
        mh_jw_raw(&w, c->tmp.data, c->tmp.len);
    }
    if (ev->flags & MH_EVF_BAD_TIME) {
        mh_jw_key(&w, "time_error");
        mh_jw_bool(&w, true);
    }
    mh_jw_obj_end(&w);
    MH_CHECK(mh_jw_status(&w));
    MH_CHECK(mh_buf_putc(&c->out, '\n'));
out:
    return st;
}

static void flush(struct cat *c)
{
    if (c->out.len && !c->write_failed && fwrite(c->out.data, 1, c->out.len, stdout) != c->out.len)
        c->write_failed = true;
    mh_buf_clear(&c->out);
}

static bool parse_limit(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s || *end || s[0] == '-') return false;
    *out = v;
    return true;
}

/* cat's own options (mh_cli_opt_fn): --format jsonl, --limit N. */
static int cat_option(void *ctx, int argc, char **argv, int *i)
{
    uint64_t *limit = ctx;
    bool is;
    const char *v = mh_cli_value("--format", argc, argv, i, &is);
    if (is) {
        if (v && strcmp(v, "jsonl") == 0) return MH_CLI_OPT_TAKEN;
        mh_cli_fail("cat: --format takes jsonl (the only output format)");
        return MH_CLI_OPT_BAD;
    }
    v = mh_cli_value("--limit", argc, argv, i, &is);
    if (is) {
        if (v && parse_limit(v, limit)) return MH_CLI_OPT_TAKEN;
        mh_cli_fail("cat: --limit takes a non-negative number");
        return MH_CLI_OPT_BAD;
    }
    return MH_CLI_OPT_UNKNOWN;
}

int mh_cli_cat(int argc, char **argv)
{
    struct cat c;
    memset(&c, 0, sizeof c);
    uint64_t limit = UINT64_MAX;
    struct mh_cli_args args;
    int rc = mh_cli_parse_paths("cat", argc, argv, usage, cat_option, &limit, &args);
    if (rc != MH_CLI_GO_ON) {
        mh_cli_args_fini(&args);
        return rc;
    }
    bool quiet = args.quiet;

    rc = MH_EXIT_OK;
    mh_evstream *s = NULL;
    mh_buf_init(&c.out, CAT_OUT_MAX);
    mh_buf_init(&c.tmp, CAT_OUT_MAX);
    mh_status st =
        mh_cli_open_logs(&c.bad, (const char *const *)args.paths, (size_t)args.npaths, &s);
    uint64_t n = 0;
    while (!st && n < limit) {
        struct mh_event *ev;
        st = mh_evstream_next(s, &ev);
        if (st) break;
        st = write_event(&c, s, ev);
        n++;
        if (c.out.len >= CAT_FLUSH_BYTES) flush(&c);
    }
    flush(&c);
    if (st == MH_EOF || (st == MH_OK && n >= limit)) {
        st = MH_OK;
    } else if (st) {
        mh_cli_fail("cat: %s", mh_status_str(st));
        rc = MH_EXIT_ERROR;
    }
    if (fflush(stdout) != 0 || c.write_failed) {
        mh_cli_fail("cat: cannot write to standard output");
        rc = MH_EXIT_ERROR;
    }
    if (s) {
        struct mh_evstream_stats ss;
        mh_evstream_stats(s, &ss);
        if (ss.ingest.files_failed) rc = MH_EXIT_ERROR;
        char not_logs[48] = "";
        if (ss.ingest.files_not_logs)
            snprintf(not_logs, sizeof not_logs, ", %llu not logs",
                     (unsigned long long)ss.ingest.files_not_logs);
        if (!quiet)
            fprintf(stderr,
                    "mailhound: cat: %llu records read, %llu used, %llu skipped; "
                    "%llu files read, %llu failed%s; %llu with unparseable time%s\n",
                    (unsigned long long)ss.records, (unsigned long long)ss.events,
                    (unsigned long long)ss.skipped, (unsigned long long)ss.ingest.files,
                    (unsigned long long)ss.ingest.files_failed, not_logs,
                    (unsigned long long)ss.bad_time, n >= limit ? " (stopped at --limit)" : "");
    }
    mh_evstream_free(s);
    mh_buf_fini(&c.tmp);
    mh_buf_fini(&c.out);
    mh_cli_args_fini(&args);
    return rc;
}
