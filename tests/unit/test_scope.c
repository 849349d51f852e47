/*
 * tests/unit/test_scope.c -- scope: folder names, incidents, the context rule, bases, output
 *
 * The crafted case in tests/data/scope (made by make_data.py, whose comments
 * say what the rule of docs/scope.md must make of every record) is scoped
 * through the library and the result checked message by message; the same
 * run with other reader chunkings and input orders must give the same bytes;
 * every allocation the scope makes is made to fail once (clean MH_ENOMEM, no
 * leak under ASan). Run from the source root (ctest does).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "mailhound/limits.h"
#include "correlate/detector.h"
#include "ingest/json.h"
#include "ingest/mailstore.h"
#include "mh_test.h"
#include "normalize/stream.h"
#include "scope/scope.h"

#define DATA "tests/data/scope/"

/* ------------------------------------------------------------ folders */

static void t_folder_classify(void)
{
    static const struct {
        const char *path;
        enum mh_folder_class c;
    } T[] = {
        {"\\Inbox", MH_FOLDER_INBOX},          {"INBOX", MH_FOLDER_INBOX},
        {"inbox/Projects", MH_FOLDER_INBOX},   {"\\Sent Items", MH_FOLDER_SENT},
        {"sent_items", MH_FOLDER_SENT},        {"_sent_mail", MH_FOLDER_SENT},
        {"Sent", MH_FOLDER_SENT},              {".Sent", MH_FOLDER_SENT},
        {"\\Deleted Items", MH_FOLDER_DELETED}, {"Trash", MH_FOLDER_DELETED},
        {"deleted_items", MH_FOLDER_DELETED},  {"\\Junk Email", MH_FOLDER_JUNK},
        {"Spam", MH_FOLDER_JUNK},              {"\\Drafts", MH_FOLDER_DRAFTS},
        {"\\Archive", MH_FOLDER_ARCHIVE},      {"\\Outbox", MH_FOLDER_OUTBOX},
        {"\\Calendar", MH_FOLDER_NONMAIL},     {"\\Contacts", MH_FOLDER_NONMAIL},
        {"\\", MH_FOLDER_ROOT},                {"", MH_FOLDER_ROOT},
        {"\\Top of Information Store", MH_FOLDER_ROOT},
        {"\\Projects", MH_FOLDER_OTHER},       {"all_documents", MH_FOLDER_OTHER},
        {"notes_inbox", MH_FOLDER_OTHER},      {"Sentinel", MH_FOLDER_OTHER},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        enum mh_folder_class c = mh_folder_classify(mh_slice_cstr(T[i].path));
        if (c != T[i].c) fprintf(stderr, "  classify(%s) = %d\n", T[i].path, (int)c);
        CHECK_INT(c, T[i].c);
    }
}

static void t_folder_match(void)
{
    static const struct {
        const char *log, *store;
        bool strip, want;
    } T[] = {
        {"\\Inbox", "INBOX", false, true},
        {"\\Inbox", "inbox", false, true},
        {"\\Inbox", "Sent", false, false},
        {"\\Sent Items", "Sent", false, true},
        {"\\Sent Items", "sent_items", false, true},
        {"\\Sent Items", "_sent_mail", false, true},
        {"\\Sent Items", "INBOX", false, false},
        {"\\Deleted Items", "Trash", false, true},
        {"\\Inbox\\Projects", "INBOX/Projects", false, true},
        {"\\Inbox\\Projects", "inbox/projects", false, true},
        {"\\Inbox\\Projects", "Projects", false, false},
        {"\\Inbox\\Projects", "Projects", true, true},
        {"\\Inbox\\Projects", "Other", true, false},
        {"\\Projects\\Helios", "Projects/Helios", false, true},
        {"\\Projects\\Helios", "Projects", false, false},
        {"\\Projects", "Projects/Helios", false, false},
        {"\\Q1 Reports", "q1_reports", false, true},
        {"\\Inbox", "", false, false},
    };
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        bool got = mh_folder_match(mh_slice_cstr(T[i].log), mh_slice_cstr(T[i].store), T[i].strip);
        if (got != T[i].want) fprintf(stderr, "  match(%s, %s, %d)\n", T[i].log, T[i].store, T[i].strip);
        CHECK(got == T[i].want);
    }
}

/* ------------------------------------------------------------ incidents */

static mh_status load(const char *json, const char *only, size_t *n, mh_error *err)
{
    struct mh_scope_opts o;
    mh_scope_opts_defaults(&o);
    o.only_incident = only;
    mh_scope *s = NULL;
    mh_status st = mh_scope_new(&o, &s);
    if (!st) st = mh_scope_load_incidents(s, json, strlen(json), err);
    *n = s ? mh_scope_incident_count(s) : 0;
    mh_scope_free(s);
    return st;
}

static void t_incidents_json(void)
{
    mh_error err;
    size_t n;
    mh_error_clear(&err);
    CHECK_INT(load("{\"incidents\":[]}", NULL, &n, &err), MH_OK);
    CHECK_INT(n, 0);
    CHECK_INT(load("{\"incidents\":[{\"id\":\"A\",\"first_seen\":null},{\"id\":\"B\","
                   "\"first_seen\":\"2024-01-10T09:00:00Z\",\"last_seen\":\"2024-01-10T10:00:00Z\","
                   "\"entities\":{\"users\":[\"X@Y\",1,null],\"ips\":\"notalist\"},\"extra\":[1]}]}",
                   NULL, &n, &err),
              MH_OK);
    CHECK_INT(n, 2);
    CHECK_INT(load("{\"incidents\":[{\"id\":\"A\"},{\"id\":\"B\"}]}", "B", &n, &err), MH_OK);
    CHECK_INT(n, 1);
    CHECK_INT(load("{\"incidents\":[{\"id\":\"A\"}]}", "Z", &n, &err), MH_OK);
    CHECK_INT(n, 0);
    CHECK_INT(load("{\"alerts\":[]}", NULL, &n, &err), MH_EPARSE);
    CHECK_STREQ(err.msg, "missing incidents array");
    CHECK_INT(load("[]", NULL, &n, &err), MH_EPARSE);
    CHECK_INT(load("{\"incidents\":[{\"score\":1}]}", NULL, &n, &err), MH_EPARSE);
    CHECK_STREQ(err.msg, "incident without id");
    CHECK_INT(load("{\"incidents\":[{\"id\":\"A\",\"last_seen\":\"yesterday\"}]}", NULL, &n, &err),
              MH_EPARSE);
    CHECK_STREQ(err.msg, "bad time");
    CHECK(err.offset > 0);
    CHECK_INT(load("{\"incidents\":[1]}", NULL, &n, &err), MH_EPARSE);
    CHECK_INT(load("{\"incidents\":[", NULL, &n, &err), MH_EPARSE);
}

/* ------------------------------------------------------------ the crafted case */

struct env {
    mh_mailstore *store;
    struct mh_appset fp;
    bool have_fp;
};

static void env_init(struct env *e)
{
    memset(e, 0, sizeof *e);
    mh_error err;
    mh_error_clear(&err);
    struct mh_mailstore_opts mo;
    memset(&mo, 0, sizeof mo);
    CHECK_INT(mh_mailstore_new(&mo, &e->store, &err), MH_OK);
    if (e->store) CHECK_INT(mh_mailstore_add(e->store, DATA "mail", &err), MH_OK);
    e->have_fp = mh_appset_load(&e->fp, "rules/data/first-party-apps.tsv", &err) == MH_OK;
    CHECK(e->have_fp);
}

static void env_fini(struct env *e)
{
    mh_mailstore_free(e->store);
    if (e->have_fp) mh_appset_fini(&e->fp);
}

static mh_status to_buf(void *ctx, const char *p, size_t n)
{
    return mh_buf_append(ctx, p, n);
}

/* Allocation-failure injection around the scope's own calls. */
static int64_t g_budget = -1; /* allocations the scope may still make; -1: no limit */
static uint64_t g_base;
static bool g_failed;

static void arm(void)
{
    if (g_budget >= 0) mh_alloc_fail_after(g_budget);
    g_base = mh_alloc_count();
}

static void disarm(mh_status st)
{
    uint64_t used = mh_alloc_count() - g_base;
    mh_alloc_fail_after(-1);
    if (g_budget >= 0) g_budget = used >= (uint64_t)g_budget ? 0 : g_budget - (int64_t)used;
    if (st == MH_ENOMEM) g_failed = true;
}

#define SCOPED(call) (arm(), st = (call), disarm(st), st)

struct run_opts {
    const char *const *paths;
    size_t npaths;
    size_t chunk;
    bool first_party;
    const char *only;
    void (*on_warn)(void *ctx, const mh_error *err, bool fatal);
    void *warn_ctx;
    const char *incidents; /* incidents.json text; NULL: DATA "incidents.json" */
    const char *name;      /* file name and key in evidence; NULL: the reader's */
};

static mh_status run(const struct env *e, const struct run_opts *ro, struct mh_buf *out,
                     struct mh_scope_stats *stats)
{
    mh_status st = MH_OK;
    mh_scope *s = NULL;
    mh_evstream *es = NULL;
    mh_error err;
    mh_error_clear(&err);
    struct mh_scope_opts o;
    mh_scope_opts_defaults(&o);
    o.store = e->store;
    o.first_party = ro->first_party && e->have_fp ? &e->fp : NULL;
    o.only_incident = ro->only;
    o.on_warn = ro->on_warn;
    o.warn_ctx = ro->warn_ctx;
    if (SCOPED(mh_scope_new(&o, &s))) goto out;
    if (ro->incidents ? SCOPED(mh_scope_load_incidents(s, ro->incidents, strlen(ro->incidents), &err))
                      : SCOPED(mh_scope_load_incidents_file(s, DATA "incidents.json", &err)))
        goto out;
    struct mh_evstream_opts eo;
    memset(&eo, 0, sizeof eo);
    eo.reader.chunk_bytes = ro->chunk;
    MH_CHECK(mh_evstream_new(&eo, &es));
    for (size_t i = 0; i < ro->npaths; i++) MH_CHECK(mh_evstream_add_path(es, ro->paths[i]));
    for (;;) {
        struct mh_event *ev;
        st = mh_evstream_next(es, &ev);
        if (st == MH_EOF) break;
        if (st) goto out;
        const char *fname = ro->name ? ro->name : mh_evstream_file_name(es, ev->rec->file);
        const char *fkey = ro->name ? ro->name : mh_evstream_file_key(es, ev->rec->file);
        if (SCOPED(mh_scope_feed(s, ev, fname, fkey))) goto out;
    }
    if (SCOPED(mh_scope_finish(s))) goto out;
    mh_buf_clear(out);
    if (SCOPED(mh_scope_write_json(s, to_buf, out))) goto out;
    if (stats) mh_scope_get_stats(s, stats);
    st = MH_OK;
out:
    mh_evstream_free(es);
    mh_scope_free(s);
    return st;
}

static const char *const PATHS[] = {DATA "logs", DATA "trace.csv"};
static const char *const PATHS_REV[] = {DATA "trace.csv", DATA "logs/ual.jsonl",
                                        DATA "logs/purview.csv"};

/* --- a tiny reader for the output --- */

struct doc {
    struct mh_jdoc d;
    struct mh_arena a;
};

static bool doc_parse(struct doc *x, const struct mh_buf *b)
{
    mh_jdoc_init(&x->d, NULL);
    mh_arena_init(&x->a, 65536, 0);
    mh_error err;
    mh_error_clear(&err);
    return mh_json_parse(&x->d, b->data, b->len, &err) == MH_OK;
}

static void doc_fini(struct doc *x)
{
    mh_jdoc_fini(&x->d);
    mh_arena_fini(&x->a);
}

static uint32_t get(const struct doc *x, uint32_t o, const char *k)
{
    return o == MH_JNONE ? MH_JNONE : mh_json_get(&x->d, o, k, strlen(k));
}

static struct mh_slice sget(struct doc *x, uint32_t o, const char *k)
{
    struct mh_slice v = MH_SLICE_NULL;
    uint32_t n = get(x, o, k);
    if (n != MH_JNONE && mh_json_type(&x->d, n) == MH_JSTR && mh_json_str(&x->d, n, &x->a, &v))
        v = MH_SLICE_NULL;
    if (n != MH_JNONE && mh_json_type(&x->d, n) != MH_JSTR) v = mh_json_raw(&x->d, n);
    return v;
}

static uint32_t find_in(struct doc *x, uint32_t arr, const char *k, const char *v)
{
    if (arr == MH_JNONE) return MH_JNONE;
    for (uint32_t i = mh_json_first(&x->d, arr); i != MH_JNONE; i = mh_json_next(&x->d, arr, i))
        if (mh_slice_eq_cstr(sget(x, i, k), v)) return i;
    return MH_JNONE;
}

/* "id confidence bases;..." for the messages of one mailbox, in output order. */
static void mailbox_line(struct doc *x, const char *mailbox, struct mh_buf *line)
{
    mh_buf_clear(line);
    uint32_t mb = find_in(x, get(x, 0, "mailboxes"), "mailbox", mailbox);
    uint32_t ms = get(x, mb, "messages");
    if (ms == MH_JNONE) {
        CHECK_INT(mh_buf_puts(line, "(mailbox absent)"), MH_OK);
        return;
    }
    for (uint32_t i = mh_json_first(&x->d, ms); i != MH_JNONE; i = mh_json_next(&x->d, ms, i)) {
        struct mh_slice id = sget(x, i, "message_id"), c = sget(x, i, "confidence");
        struct mh_slice b = sget(x, i, "bases");
        CHECK_INT(mh_buf_printf(line, "%s%.*s %.*s %.*s", line->len ? ";" : "", (int)id.len,
                                id.ptr, (int)c.len, c.ptr, (int)b.len, b.ptr),
                  MH_OK);
    }
}

static void t_crafted(void)
{
    struct env e;
    env_init(&e);
    struct mh_buf out, line;
    mh_buf_init(&out, (size_t)1 << 26);
    mh_buf_init(&line, 1 << 16);
    struct mh_scope_stats t;
    struct run_opts ro = {PATHS, 2, 0, true, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(run(&e, &ro, &out, &t), MH_OK);
    struct doc x;
    CHECK(doc_parse(&x, &out));

    /* the bases, per mailbox, as make_data.py's comments say */
    static const struct {
        const char *mailbox, *want;
    } M[] = {
        {"exec@contoso.example",
         "<s0@mail.contoso.example> inferred-sync [\"sync\"];"
         "<m1@mail.contoso.example> observed [\"bind\"];"
         "<m2@mail.contoso.example> observed [\"bind\"];"
         "<m5@mail.contoso.example> observed [\"bind\"];"
         "<p1@mail.contoso.example> inferred-sync [\"sync\"];"
         "<s1@mail.contoso.example> observed [\"sync\",\"sent\"]"},
        {"cfo@contoso.example",
         "<c4@partner.example> observed [\"bind\"];"
         "<c1@partner.example> inferred-sync [\"sync\",\"throttle\"];"
         "<c2@contoso.example> inferred-throttle [\"throttle\"];"
         "<c3@partner.example> inferred-throttle [\"throttle\"]"},
        {"legal@contoso.example",
         "<l1@contoso.example> inferred-throttle [\"throttle\"];"
         "<l2@contoso.example> inferred-throttle [\"throttle\"]"},
        {"hr@contoso.example",
         "<h1@contoso.example> observed [\"bind\"];<h2@contoso.example> observed [\"bind\"]"},
    };
    for (size_t i = 0; i < sizeof M / sizeof M[0]; i++) {
        mailbox_line(&x, M[i].mailbox, &line);
        if (strcmp(line.data, M[i].want) != 0)
            fprintf(stderr, "  %s:\n    got  %s\n    want %s\n", M[i].mailbox, line.data, M[i].want);
        CHECK(strcmp(line.data, M[i].want) == 0);
    }
    uint32_t mbs = get(&x, 0, "mailboxes");
    CHECK_INT(mh_json_node(&x.d, mbs)->len, 4);
    /* mailboxes sorted by address */
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, mbs), "mailbox"), "cfo@contoso.example");

    /* evidence: the attacker's Bind, partial */
    uint32_t exec = find_in(&x, mbs, "mailbox", "exec@contoso.example");
    uint32_t m1 = find_in(&x, get(&x, exec, "messages"), "message_id", "<m1@mail.contoso.example>");
    uint32_t ev = mh_json_first(&x.d, get(&x, m1, "evidence"));
    CHECK_SLICE(sget(&x, ev, "basis"), "bind");
    CHECK_SLICE(sget(&x, ev, "incident"), "INC-A");
    CHECK_SLICE(sget(&x, ev, "match"), "session");
    CHECK_SLICE(sget(&x, ev, "file"), DATA "logs/ual.jsonl");
    CHECK_SLICE(sget(&x, ev, "record"), "1");
    CHECK_SLICE(sget(&x, ev, "offset"), "0");
    CHECK_SLICE(sget(&x, ev, "record_id"), "00000001-aaaa-4bbb-8ccc-dddddddddddd");
    CHECK_SLICE(sget(&x, ev, "folder"), "\\Inbox");
    CHECK_SLICE(sget(&x, ev, "operation_count"), "5");
    CHECK_SLICE(sget(&x, ev, "items"), "2");
    CHECK_SLICE(sget(&x, ev, "partial"), "true");
    CHECK_SLICE(sget(&x, m1, "folder"), "INBOX");
    CHECK_SLICE(sget(&x, m1, "in_store"), "true");
    CHECK_SLICE(sget(&x, m1, "from"), "[\"kim@partner.example\"]");
    CHECK_SLICE(sget(&x, m1, "subject"), "Budget");
    CHECK_SLICE(sget(&x, m1, "date"), "2024-01-09T08:00:00Z");
    CHECK_SLICE(sget(&x, get(&x, exec, "records"), "partial"), "1");
    CHECK_SLICE(sget(&x, get(&x, exec, "records"), "unlisted_binds"), "3");
    uint32_t m2 = find_in(&x, get(&x, exec, "messages"), "message_id", "<m2@mail.contoso.example>");
    CHECK_SLICE(sget(&x, m2, "cc"), "[\"ann@other.example\"]");
    CHECK(get(&x, m2, "bcc") == MH_JNONE);
    uint32_t m5 = find_in(&x, get(&x, exec, "messages"), "message_id", "<m5@mail.contoso.example>");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, get(&x, m5, "evidence")), "match"), "ip+client");
    /* the sent copy keeps its Bcc in the store: listed for notify */
    uint32_t s0 = find_in(&x, get(&x, exec, "messages"), "message_id", "<s0@mail.contoso.example>");
    CHECK_SLICE(sget(&x, s0, "bcc"), "[\"bo@secret.example\"]");
    CHECK_SLICE(sget(&x, s0, "folder"), "Sent");
    uint32_t s1 = find_in(&x, get(&x, exec, "messages"), "message_id", "<s1@mail.contoso.example>");
    uint32_t s1e = get(&x, s1, "evidence");
    CHECK_INT(mh_json_node(&x.d, s1e)->len, 2);
    /* sorted by file: logs/purview.csv (the SendAs row) before logs/ual.jsonl */
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, s1e), "file"), DATA "logs/purview.csv");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, s1e), "basis"), "sent");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, s1e), "operation"), "SendAs");
    uint32_t sy = get(&x, exec, "syncs");
    CHECK_INT(mh_json_node(&x.d, sy)->len, 3);
    CHECK_SLICE(sget(&x, find_in(&x, sy, "folder", "\\Inbox\\Projects"), "how"), "folder");
    CHECK_SLICE(sget(&x, find_in(&x, sy, "folder", "\\Calendar"), "how"), "not-mail");
    CHECK_SLICE(sget(&x, find_in(&x, sy, "folder", "\\Sent Items"), "messages"), "2");

    /* the trace join: c4 is not in the store */
    uint32_t cfo = find_in(&x, mbs, "mailbox", "cfo@contoso.example");
    CHECK_SLICE(sget(&x, cfo, "flattened"), "true");
    uint32_t c4 = find_in(&x, get(&x, cfo, "messages"), "message_id", "<c4@partner.example>");
    CHECK_SLICE(sget(&x, c4, "in_store"), "false");
    CHECK_SLICE(sget(&x, c4, "subject"), "Term sheet v2");
    CHECK_SLICE(sget(&x, c4, "from"), "[\"dana@partner.example\"]");
    CHECK_SLICE(sget(&x, c4, "date"), "2024-01-10T08:15:00Z");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, get(&x, c4, "evidence")), "match"), "session-learned");
    uint32_t tr = get(&x, c4, "trace");
    CHECK_SLICE(sget(&x, tr, "rows"), "2");
    CHECK_SLICE(sget(&x, tr, "recipients"),
                "[{\"address\":\"Legal@contoso.example\",\"status\":\"Delivered\"},"
                "{\"address\":\"cfo@contoso.example\",\"status\":\"Delivered\"}]");
    CHECK_SLICE(sget(&x, find_in(&x, get(&x, cfo, "syncs"), "folder", "\\Inbox"), "how"),
                "split-by-sender");
    uint32_t tw = mh_json_first(&x.d, get(&x, cfo, "throttle_windows"));
    CHECK_SLICE(sget(&x, tw, "basis"), "near");
    CHECK_SLICE(sget(&x, tw, "start"), "2024-01-10T10:45:00Z");
    CHECK_SLICE(sget(&x, tw, "end"), "2024-01-11T10:45:00Z");
    CHECK_SLICE(sget(&x, tw, "messages"), "3");

    uint32_t legal = find_in(&x, mbs, "mailbox", "legal@contoso.example");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, get(&x, legal, "throttle_windows")), "basis"),
                "mailbox-listed");
    CHECK_SLICE(sget(&x, legal, "flattened"), "false");
    uint32_t hr = find_in(&x, mbs, "mailbox", "hr@contoso.example");
    tw = mh_json_first(&x.d, get(&x, hr, "throttle_windows"));
    CHECK_SLICE(sget(&x, tw, "in_context"), "false");
    CHECK_SLICE(sget(&x, tw, "messages"), "0");
    CHECK(find_in(&x, get(&x, hr, "notes"), "code", "throttled-out-of-context") != MH_JNONE);
    uint32_t h1 = find_in(&x, get(&x, hr, "messages"), "message_id", "<h1@contoso.example>");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, get(&x, h1, "evidence")), "match"), "client_app");
    uint32_t h2 = find_in(&x, get(&x, hr, "messages"), "message_id", "<h2@contoso.example>");
    CHECK_SLICE(sget(&x, mh_json_first(&x.d, get(&x, h2, "evidence")), "match"), "user");

    /* the incident's context as learned */
    uint32_t inc = mh_json_first(&x.d, get(&x, 0, "incidents"));
    uint32_t ctx = get(&x, inc, "context");
    CHECK_SLICE(sget(&x, ctx, "users"), "[\"exec@contoso.example\"]");
    CHECK_SLICE(sget(&x, ctx, "apps"), "[\"9f1a2b3c-1111-4222-8333-444455556666\"]");
    CHECK_SLICE(sget(&x, ctx, "ignored_apps"), "[\"d3590ed6-52b3-4102-aeff-aad2292ab01c\"]");
    CHECK_SLICE(sget(&x, ctx, "shared_ips"),
                "[{\"ip\":\"192.0.2.77\",\"all_principals\":false,"
                "\"principals\":[\"exec@contoso.example\"]}]");
    CHECK_SLICE(sget(&x, get(&x, ctx, "learned"), "sessions"),
                "[\"aaaaaaaa-0000-4000-8000-000000000002\"]");
    CHECK_SLICE(sget(&x, inc, "window"),
                "{\"start\":\"2024-01-10T08:00:00Z\",\"end\":\"2024-01-11T12:00:00Z\"}");
    doc_fini(&x);

    CHECK_INT(t.incidents, 2);
    CHECK_INT(t.mailboxes, 4);
    CHECK_INT(t.messages, 14);
    CHECK_INT(t.distinct_messages, 14);
    CHECK_INT(t.duplicates, 1);
    CHECK_INT(t.in_context, 8);
    CHECK_INT(t.partial, 1);
    CHECK_INT(t.throttle_records, 3);
    CHECK_INT(t.throttle_windows_in_context, 2);
    CHECK_INT(t.not_in_store, 1);
    CHECK_INT(t.trace_joined, 1);
    CHECK_INT(t.by_confidence[0], 7);
    CHECK_INT(t.by_confidence[1], 3);
    CHECK_INT(t.by_confidence[2], 4);
    CHECK_INT(t.dropped, 0);

    /* without the first-party list, Microsoft Office (listed by INC-A) matches hr's own read */
    ro.first_party = false;
    CHECK_INT(run(&e, &ro, &out, &t), MH_OK);
    CHECK(doc_parse(&x, &out));
    mailbox_line(&x, "hr@contoso.example", &line);
    CHECK(strstr(line.data, "<h3@contoso.example> observed") != NULL);
    doc_fini(&x);

    /* one incident only: INC-B has nothing in these logs */
    ro.first_party = true;
    ro.only = "INC-B";
    CHECK_INT(run(&e, &ro, &out, &t), MH_OK);
    CHECK_INT(t.incidents, 1);
    CHECK_INT(t.messages, 0);
    CHECK_INT(t.throttle_windows_in_context, 0);
    CHECK_INT(t.mailboxes, 3); /* the three throttled mailboxes, out of context */

    mh_buf_fini(&out);
    mh_buf_fini(&line);
    env_fini(&e);
}

/* A Folders value that is JSON text but does not parse: the record is
 * counted and reported once (file, record, offset), its items unknown. */
struct warned {
    int n;
    mh_error last;
};
static void on_warn(void *ctx, const mh_error *err, bool fatal)
{
    struct warned *w = ctx;
    (void)fatal;
    w->n++;
    w->last = *err;
}

static void t_bad_folders(void)
{
    struct env e;
    env_init(&e);
    /* the attacker's Bind of m1/m2 (record 1 of the crafted UAL), its Folders
     * turned into broken JSON text, as a second record after a good one */
    FILE *f = fopen(DATA "logs/ual.jsonl", "rb");
    CHECK(f != NULL);
    char buf[8192];
    CHECK(f && fgets(buf, sizeof buf, f) != NULL);
    if (f) fclose(f);
    char *folders = strstr(buf, "\"Folders\":");
    CHECK(folders != NULL);
    char path[] = "/tmp/mh-scope-badfolders-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    FILE *o = fd >= 0 ? fdopen(fd, "wb") : NULL;
    CHECK(o != NULL);
    if (o && folders) {
        fputs(buf, o);                                     /* record 1: as it is */
        char *id = strstr(buf, "00000001-aaaa");               /* record 2: its own Id */
        if (id) id[6] = 'f';
        fprintf(o, "%.*s\"Folders\":\"[{\\\"Path\\\":\"}\n", (int)(folders - buf), buf);
        fclose(o);
    }
    struct warned w = {0};
    mh_error_clear(&w.last);
    const char *const paths[] = {path};
    struct mh_buf out;
    mh_buf_init(&out, (size_t)1 << 26);
    struct mh_scope_stats t;
    struct run_opts ro = {paths, 1, 0, true, NULL, on_warn, &w, NULL, NULL};
    CHECK_INT(run(&e, &ro, &out, &t), MH_OK);
    CHECK_INT(t.bad_folders, 1);
    CHECK_INT(w.n, 1);
    CHECK_INT(w.last.record, 2);
    CHECK_INT(w.last.line, 2);
    CHECK_INT(w.last.offset, strlen(buf));
    CHECK(strstr(w.last.origin, "mh-scope-badfolders-") != NULL);
    CHECK(strstr((const char *)out.data, "\"bad_folders\":1") != NULL);
    /* the good record's messages are still taken */
    CHECK(strstr((const char *)out.data, "<m1@mail.contoso.example>") != NULL);
    unlink(path);
    mh_buf_fini(&out);
    env_fini(&e);
}

static void t_deterministic(void)
{
    struct env e;
    env_init(&e);
    struct mh_buf a, b;
    mh_buf_init(&a, (size_t)1 << 26);
    mh_buf_init(&b, (size_t)1 << 26);
    struct run_opts ro = {PATHS, 2, 0, true, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(run(&e, &ro, &a, NULL), MH_OK);
    static const size_t chunks[] = {1, 7, 64, 4096};
    for (size_t i = 0; i < sizeof chunks / sizeof chunks[0]; i++) {
        ro.chunk = chunks[i];
        CHECK_INT(run(&e, &ro, &b, NULL), MH_OK);
        CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    }
    struct run_opts rev = {PATHS_REV, 3, 0, true, NULL, NULL, NULL, NULL, NULL};
    CHECK_INT(run(&e, &rev, &b, NULL), MH_OK);
    if (a.len != b.len || memcmp(a.data, b.data, a.len) != 0) {
        size_t k = 0;
        while (k < a.len && k < b.len && a.data[k] == b.data[k]) k++;
        fprintf(stderr, "  orders differ at byte %zu: ...%.80s\n  vs ...%.80s\n", k,
                a.data + (k > 40 ? k - 40 : 0), b.data + (k > 40 ? k - 40 : 0));
    }
    CHECK(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
    CHECK(a.len > 1000 && a.data[a.len - 1] == '\n');
    mh_buf_fini(&a);
    mh_buf_fini(&b);
    env_fini(&e);
}

static void t_alloc_failures(void)
{
    struct env e;
    env_init(&e);
    struct mh_buf out, ref;
    mh_buf_init(&out, (size_t)1 << 26);
    mh_buf_init(&ref, (size_t)1 << 26);
    struct run_opts ro = {PATHS, 2, 0, true, NULL, NULL, NULL, NULL, NULL};
    g_budget = -1;
    uint64_t before = mh_alloc_count();
    CHECK_INT(run(&e, &ro, &ref, NULL), MH_OK);
    uint64_t total = mh_alloc_count() - before; /* an upper bound of the scope's own */
    int64_t step = total > 1500 ? (int64_t)(total / 1500) : 1;
    unsigned failed = 0, ok = 0, bad = 0;
    for (int64_t n = 0; n < (int64_t)total; n += step) {
        g_budget = n;
        g_failed = false;
        mh_status st = run(&e, &ro, &out, NULL);
        if (st == MH_OK) {
            ok++;
            if (out.len != ref.len || memcmp(out.data, ref.data, ref.len) != 0) bad++;
        } else if (st == MH_ENOMEM && g_failed) {
            failed++;
        } else {
            bad++;
            fprintf(stderr, "  allocation %lld: %s\n", (long long)n, mh_status_str(st));
        }
    }
    g_budget = -1;
    fprintf(stderr, "  alloc failures: %llu allocations, %u failed cleanly, %u completed\n",
            (unsigned long long)total, failed, ok);
    CHECK(failed >= 50); /* the scope makes ~85 allocations on this case */
    CHECK(ok > 0); /* budgets beyond the scope's allocations complete normally */
    CHECK_INT(bad, 0);
    mh_buf_fini(&out);
    mh_buf_fini(&ref);
    env_fini(&e);
}

/* ------------------------------------------------------------ app-wide basis */

#define APP_X "9f1a2b3c-1111-4222-8333-444455556666"
#define APP_Y "0b5e6a7c-2222-4333-8444-555566667777"
#define SP_X "7c1e9d20-aaaa-4bbb-8ccc-000000000011"
#define SESS "aaaaaaaa-0000-4000-8000-000000000001"
#define INC_APPS(apps, sessions)                                                                   \
    "{\"incidents\":[{\"id\":\"INC-W\",\"score\":90,\"level\":\"critical\","                       \
    "\"first_seen\":\"2024-01-10T10:00:00Z\",\"last_seen\":\"2024-01-10T12:00:00Z\","              \
    "\"entities\":{\"apps\":[" apps "],\"sessions\":[" sessions "]}}]}"

/* A MailItemsAccessed Bind of one message (UAL JSON Lines). */
#define MIA(id, t, user, app, mbx, sess)                                                           \
    "{\"CreationTime\":\"" t "\",\"Id\":\"" id "\",\"Operation\":\"MailItemsAccessed\","          \
    "\"RecordType\":50,\"Workload\":\"Exchange\",\"UserId\":\"" user "\",\"AppId\":\"" app "\","  \
    "\"ClientAppId\":\"" app "\",\"ClientIPAddress\":\"198.51.100.7\",\"MailboxOwnerUPN\":\"" mbx  \
    "\",\"SessionId\":\"" sess "\",\"OperationProperties\":[{\"Name\":\"MailAccessType\","         \
    "\"Value\":\"Bind\"}],\"OperationCount\":1,\"Folders\":[{\"Path\":\"\\\\Inbox\","             \
    "\"FolderItems\":[{\"InternetMessageId\":\"<" id "@x.example>\"}]}]}\n"

/* Graph directoryAudit: an app role assignment (values JSON-encoded, as Entra writes them). */
#define ROLE(id, t, role_id, role, sp, app)                                                        \
    "{\"id\":\"Directory_" id "\",\"category\":\"ApplicationManagement\",\"correlationId\":\""     \
    id "\",\"result\":\"success\",\"activityDisplayName\":\"Add app role assignment to service "   \
    "principal\",\"activityDateTime\":\"" t "\",\"loggedByService\":\"Core Directory\","           \
    "\"operationType\":\"Assign\",\"initiatedBy\":{\"app\":{\"displayName\":\"Legacy\"}},"         \
    "\"targetResources\":[{\"id\":\"3b8f0e12-bbbb-4ccc-8ddd-000000000022\",\"displayName\":"      \
    "\"Microsoft Graph\",\"type\":\"ServicePrincipal\",\"modifiedProperties\":["                   \
    "{\"displayName\":\"AppRole.Id\",\"oldValue\":null,\"newValue\":\"\\\"" role_id "\\\"\"},"     \
    "{\"displayName\":\"AppRole.Value\",\"oldValue\":null,\"newValue\":\"\\\"" role "\\\"\"},"    \
    "{\"displayName\":\"ServicePrincipal.ObjectID\",\"oldValue\":null,\"newValue\":\"\\\"" sp     \
    "\\\"\"},{\"displayName\":\"ServicePrincipal.AppId\",\"oldValue\":null,\"newValue\":\"\\\""   \
    app "\\\"\"}]}],\"additionalDetails\":[]}\n"

/* Graph directoryAudit: a consent naming the service principal only. */
#define CONSENT(id, t, app_only, perms, sp)                                                        \
    "{\"id\":\"Directory_" id "\",\"category\":\"ApplicationManagement\",\"correlationId\":\""     \
    id "\",\"result\":\"success\",\"activityDisplayName\":\"Consent to application\","             \
    "\"activityDateTime\":\"" t "\",\"loggedByService\":\"Core Directory\",\"operationType\":"     \
    "\"Assign\",\"initiatedBy\":{\"user\":{\"userPrincipalName\":\"admin@x.example\"}},"           \
    "\"targetResources\":[{\"id\":\"" sp "\",\"displayName\":\"Reader\",\"type\":"                 \
    "\"ServicePrincipal\",\"modifiedProperties\":[{\"displayName\":\"ConsentContext.IsAppOnly\","  \
    "\"oldValue\":null,\"newValue\":\"\\\"" app_only "\\\"\"},{\"displayName\":"                   \
    "\"ConsentAction.Permissions\",\"oldValue\":null,\"newValue\":\"[] => [[Id: 1, ClientId: " sp  \
    ", ConsentType: AllPrincipals, Scope: " perms ", ]]; \"}]}],\"additionalDetails\":[]}\n"

#define FULL_ID "dc890d15-9560-4a4c-9b7f-a736ec74ec40"
#define READ_ID "810c84a8-4a9e-49e6-bf7d-12d183f40d01"
#define USER_READ_ALL_ID "df021288-bdef-4463-88db-98f22de89214"
/* the three mailboxes: a read by the app (touched), b by its owner in the
 * window (audited), c by its owner before the window only (unaudited) */
#define THREE_MBX                                                                                  \
    MIA("r1", "2024-01-10T10:30:00", APP_X, APP_X, "A@x.example", "bbbbbbbb-0000-4000-8000-000000000001") \
    MIA("r2", "2024-01-10T11:00:00", "b@x.example", "d3590ed6-52b3-4102-aeff-aad2292ab01c",        \
        "b@x.example", "bbbbbbbb-0000-4000-8000-000000000002")                                     \
    MIA("r3", "2024-01-05T11:00:00", "c@x.example", "d3590ed6-52b3-4102-aeff-aad2292ab01c",        \
        "c@x.example", "bbbbbbbb-0000-4000-8000-000000000003")

/* Scope `logs` (written to a temp file) against `incidents`, no mail store. */
static mh_status run_text(const char *incidents, const char *logs, struct mh_buf *out,
                          struct mh_scope_stats *t)
{
    char path[] = "/tmp/mh-scope-appwide-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return MH_EIO;
    FILE *f = fdopen(fd, "wb");
    if (!f) return MH_EIO;
    fputs(logs, f);
    fclose(f);
    const char *paths[] = {path};
    struct env none;
    memset(&none, 0, sizeof none);
    struct run_opts ro = {.paths = paths, .npaths = 1, .incidents = incidents, .name = "log"};
    mh_status st = run(&none, &ro, out, t);
    unlink(path);
    return st;
}

/* The app_wide member's text (from `"app_wide":` to the summary). */
static struct mh_slice app_wide_text(const struct mh_buf *b)
{
    const char *p = b->data ? strstr(b->data, "\"app_wide\":[") : NULL;
    const char *e = p ? strstr(p, ",\"summary\":") : NULL;
    return p && e ? mh_slice_make(p, (size_t)(e - p)) : MH_SLICE_NULL;
}

static void t_app_wide(void)
{
    static const struct {
        const char *name, *incidents, *logs;
        uint64_t grants, results, unaudited;
        const char *want; /* app_wide text; NULL: no member at all */
    } T[] = {
        {"Graph Mail.Read by id, app listed", INC_APPS("\"" APP_X "\"", ""),
         ROLE("g1", "2024-01-10T09:30:00Z", READ_ID, "", SP_X, APP_X) THREE_MBX, 1, 1, 1,
         "\"app_wide\":[{\"incident\":\"INC-W\",\"app\":\"" APP_X "\",\"permission\":"
         "\"Mail.Read\",\"granted\":\"2024-01-10T09:30:00Z\",\"grant\":{\"file\":\"log\","
         "\"file_key\":\"log\",\"record\":1,\"line\":1,\"offset\":0,\"record_id\":"
         "\"Directory_g1\",\"time\":\"2024-01-10T09:30:00Z\",\"operation\":\"Add app role "
         "assignment to service principal\"},\"window\":{\"start\":\"2024-01-10T09:30:00Z\","
         "\"end\":\"2024-01-11T12:00:00Z\"},\"touched\":[\"a@x.example\"],\"audited\":"
         "[\"b@x.example\"],\"unaudited\":[\"c@x.example\"],\"notes\":[{\"code\":"
         "\"app-wide-unaudited\",\"text\":\"the app held Mail.Read from 2024-01-10T09:30:00Z to "
         "2024-01-11T12:00:00Z; 1 mailbox(es) have no MailItemsAccessed record in that time or "
         "were throttled in it: potentially accessed, unaudited (their messages are not "
         "listed)\"}]}]"},
        /* a grant before the window: the window stays the incident's; the
           owner's read at 11:00 of b keeps it audited */
        {"grant before the window", INC_APPS("\"" APP_X "\"", ""),
         ROLE("g1", "2024-01-02T00:00:00Z", FULL_ID, "full_access_as_app", SP_X, APP_X) THREE_MBX,
         1, 1, 1, NULL},
        {"granted after the window", INC_APPS("\"" APP_X "\"", ""),
         ROLE("g1", "2024-01-11T12:00:01Z", FULL_ID, "full_access_as_app", SP_X, APP_X) THREE_MBX,
         1, 0, 0, "\"app_wide\":[]"},
        {"not a mail permission", INC_APPS("\"" APP_X "\"", ""),
         ROLE("g1", "2024-01-10T09:30:00Z", USER_READ_ALL_ID, "User.Read.All", SP_X, APP_X)
             THREE_MBX,
         0, 0, 0, NULL},
        {"app in no incident", INC_APPS("\"" APP_X "\"", ""),
         ROLE("g1", "2024-01-10T09:30:00Z", FULL_ID, "full_access_as_app", SP_X, APP_Y) THREE_MBX,
         1, 0, 0, "\"app_wide\":[]"},
        /* the incident lists a session, not the app: its record of the app joins */
        {"app of a context match", INC_APPS("", "\"bbbbbbbb-0000-4000-8000-000000000001\""),
         ROLE("g1", "2024-01-10T09:30:00Z", FULL_ID, "full_access_as_app", SP_X, APP_X) THREE_MBX,
         1, 1, 1, NULL},
        /* an app-only consent names the principal; a role assignment (not a
           mail one) tells its app id; a delegated consent is no app-wide grant */
        {"consent resolved through the principal", INC_APPS("\"" APP_X "\"", ""),
         CONSENT("c1", "2024-01-10T09:00:00Z", "True", "Mail.ReadWrite User.Read.All", SP_X)
             CONSENT("c2", "2024-01-10T08:00:00Z", "False", "Mail.Read", SP_X)
                 ROLE("g1", "2024-01-10T09:30:00Z", USER_READ_ALL_ID, "User.Read.All", SP_X, APP_X)
                     THREE_MBX,
         1, 1, 1, NULL},
    };
    struct mh_buf out;
    mh_buf_init(&out, (size_t)1 << 26);
    for (size_t i = 0; i < sizeof T / sizeof T[0]; i++) {
        struct mh_scope_stats t;
        memset(&t, 0, sizeof t);
        mh_status st = run_text(T[i].incidents, T[i].logs, &out, &t);
        if (st || t.app_wide_grants != T[i].grants || t.app_wide != T[i].results ||
            t.unaudited_mailboxes != T[i].unaudited)
            fprintf(stderr, "  app-wide case '%s': %s, grants %llu, results %llu, unaudited %llu\n",
                    T[i].name, mh_status_str(st), (unsigned long long)t.app_wide_grants,
                    (unsigned long long)t.app_wide, (unsigned long long)t.unaudited_mailboxes);
        CHECK_INT(st, MH_OK);
        CHECK_INT(t.app_wide_grants, T[i].grants);
        CHECK_INT(t.app_wide, T[i].results);
        CHECK_INT(t.unaudited_mailboxes, T[i].unaudited);
        struct mh_slice aw = app_wide_text(&out);
        if (!T[i].grants) {
            CHECK(out.data && !strstr(out.data, "app_wide"));
        } else if (T[i].want) {
            if (!mh_slice_eq_cstr(aw, T[i].want))
                fprintf(stderr, "  app-wide case '%s': %.*s\n", T[i].name, (int)aw.len, aw.ptr);
            CHECK(mh_slice_eq_cstr(aw, T[i].want));
        }
        if (!strcmp(T[i].name, "consent resolved through the principal"))
            CHECK(mh_slice_find(aw, MH_SLICE_LIT("\"permission\":\"Mail.ReadWrite\",\"granted\":"
                                                 "\"2024-01-10T09:00:00Z\"")) != (size_t)-1);
    }

    /* an app-only consent whose principal no role assignment names: no app,
       no result, but counted (app_wide_unresolved) rather than lost */
    {
        struct mh_scope_stats t;
        memset(&t, 0, sizeof t);
        CHECK_INT(run_text(INC_APPS("\"" APP_X "\"", ""),
                           CONSENT("c1", "2024-01-10T09:00:00Z", "True", "full_access_as_app", SP_X)
                               THREE_MBX,
                           &out, &t),
                  MH_OK);
        CHECK_INT(t.app_wide_grants, 0);
        CHECK_INT(t.app_wide_unresolved, 1);
        CHECK(out.data && strstr(out.data, "\"app_wide_unresolved\":1}") != NULL);
        CHECK(out.data && !strstr(out.data, "\"app_wide\":["));
    }

    /* at MH_SCOPE_MAX_GRANTS the rest is counted as dropped; with no mail
       grant in the logs a cap of the app-wide bookkeeping (here the service
       principals of non-mail role assignments) changes nothing in the output */
    struct mh_buf logs;
    mh_buf_init(&logs, (size_t)1 << 26);
    for (unsigned i = 0; i < MH_SCOPE_MAX_GRANTS + 3; i++) {
        char id[16], sp[40], app[40];
        snprintf(id, sizeof id, "%08x", i);
        snprintf(sp, sizeof sp, "%08x-aaaa-4bbb-8ccc-000000000011", i);
        snprintf(app, sizeof app, "%08x-1111-4222-8333-444455556666", i);
        CHECK_INT(mh_buf_printf(&logs, ROLE("%s", "2024-01-10T09:30:00Z", USER_READ_ALL_ID,
                                            "User.Read.All", "%s", "%s"),
                                id, id, sp, app),
                  MH_OK);
    }
    {
        struct mh_scope_stats t;
        CHECK_INT(run_text(INC_APPS("\"" APP_X "\"", ""), logs.data, &out, &t), MH_OK);
        CHECK_INT(t.app_wide_grants, 0);
        CHECK_INT(t.dropped, 0);
        CHECK(out.data && !strstr(out.data, "app_wide"));
    }
    mh_buf_clear(&logs);
    for (unsigned i = 0; i < MH_SCOPE_MAX_GRANTS + 3; i++) {
        char id[16], app[40];
        snprintf(id, sizeof id, "%08x", i);
        snprintf(app, sizeof app, "%08x-1111-4222-8333-444455556666", i);
        CHECK_INT(mh_buf_printf(&logs, ROLE("%s", "2024-01-10T09:30:00Z", FULL_ID,
                                            "full_access_as_app", SP_X, "%s"),
                                id, id, app),
                  MH_OK);
    }
    struct mh_scope_stats t;
    CHECK_INT(run_text(INC_APPS("\"" APP_X "\"", ""), logs.data, &out, &t), MH_OK);
    CHECK_INT(t.app_wide_grants, MH_SCOPE_MAX_GRANTS);
    CHECK_INT(t.dropped, 3);
    mh_buf_fini(&logs);
    mh_buf_fini(&out);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"folder_classify", t_folder_classify},
        {"folder_match", t_folder_match},
        {"incidents_json", t_incidents_json},
        {"crafted", t_crafted},
        {"bad_folders", t_bad_folders},
        {"deterministic", t_deterministic},
        {"alloc_failures", t_alloc_failures},
        {"app_wide", t_app_wide},
    };
    return MH_TEST_RUN(T);
}
