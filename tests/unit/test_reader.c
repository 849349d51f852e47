/*
 * tests/unit/test_reader.c -- ingest/reader.c end to end: every format, every
 * wrapper, every encoding and compression, bad input, limits, chunking, and
 * the file keys (names relative to the input root).
 *
 * Inputs are the files under tests/data/formats/ (written for this project)
 * and variants built here: UTF-16LE with and without BOM, UTF-16BE, gzip
 * (one and several members), zstd (several frames), truncated streams,
 * directory trees. A run renders every record and every report as text, so
 * two runs compare as strings (chunk-size independence, encodings). The
 * shared-corpus case reads ../shared/corpora/m365 and is skipped, saying
 * so, when that folder is absent.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/reader.h"
#include "mailhound/limits.h"
#include "mh_test.h"
#include "mh_testfs.h"

#define DATA "tests/data/formats/"
#define SHARED "../shared/corpora/m365/"

/* ------------------------------------------------------------ helpers */

struct in {
    const char *name; /* path, or the name of a memory input */
    const void *mem;  /* NULL: name is a path */
    size_t len;
};

struct run {
    char *recs; /* one line per record */
    char *bads; /* one line per report */
    size_t nrecs, nbad, nfatal;
    mh_status st;
    struct mh_ingest_stats stats;
    char formats[8][32]; /* format of files 0..7 */
};

enum { D_FULL = 0, D_CONTENT = 1 }; /* D_CONTENT: json, number and format only */

struct bad_ctx {
    struct mh_buf *out;
    size_t n, fatal;
};

static void on_bad(void *ctx, const mh_error *e, bool fatal)
{
    struct bad_ctx *b = ctx;
    char line[1024];
    mh_error_format(e, line, sizeof line);
    if (mh_buf_printf(b->out, "%s %s\n", fatal ? "FATAL" : "BAD", line) != MH_OK) return;
    b->n++;
    if (fatal) b->fatal++;
}

static char *take(struct mh_buf *b)
{
    char *s = strdup(b->data ? b->data : "");
    mh_buf_fini(b);
    return s;
}

static void run_free(struct run *r)
{
    free(r->recs);
    free(r->bads);
    memset(r, 0, sizeof *r);
}

/* Read inputs with the given chunk size (0 = default) and limits. */
static void run_opts(const struct in *ins, size_t n, size_t chunk, size_t max_record,
                     size_t batch_records, int mode, struct run *out)
{
    struct mh_buf recs, bads;
    mh_buf_init(&recs, 0);
    mh_buf_init(&bads, 0);
    struct bad_ctx bc = {&bads, 0, 0};
    struct mh_reader_opts o = {0};
    o.on_bad = on_bad;
    o.ctx = &bc;
    o.chunk_bytes = chunk;
    o.max_record_bytes = max_record;
    o.batch_records = batch_records;
    memset(out, 0, sizeof *out);
    mh_reader *r = NULL;
    struct mh_batch b;
    mh_batch_init(&b);
    mh_status st = mh_reader_new(&o, &r);
    for (size_t i = 0; st == MH_OK && i < n; i++)
        st = ins[i].mem ? mh_reader_add_memory(r, ins[i].name, ins[i].mem, ins[i].len)
                        : mh_reader_add_path(r, ins[i].name);
    while (st == MH_OK && (st = mh_reader_fill(r, &b)) == MH_OK) {
        for (size_t i = 0; i < b.n; i++) {
            const struct mh_record *x = &b.recs[i];
            mh_status ps;
            if (mode == D_CONTENT)
                ps = mh_buf_printf(&recs, "#%llu %s %.*s\n", (unsigned long long)x->number,
                                   mh_format_name((enum mh_format)x->format), (int)x->json_len,
                                   x->json);
            else
                ps = mh_buf_printf(&recs, "%s #%llu L%llu @%llu %s %.*s | %.*s\n",
                                   mh_reader_file_name(r, x->file), (unsigned long long)x->number,
                                   (unsigned long long)x->line, (unsigned long long)x->offset,
                                   mh_format_name((enum mh_format)x->format), (int)x->json_len,
                                   x->json, (int)x->raw_len, x->raw);
            if (ps != MH_OK) st = ps;
            out->nrecs++;
        }
    }
    if (st == MH_EOF) st = MH_OK;
    out->st = st;
    if (r) {
        out->stats = *mh_reader_stats(r);
        for (uint32_t f = 0; f < 8 && mh_reader_file_name(r, f); f++)
            snprintf(out->formats[f], sizeof out->formats[f], "%s",
                     mh_format_name(mh_reader_file_format(r, f)));
    }
    mh_batch_fini(&b);
    mh_reader_free(r);
    out->nbad = bc.n;
    out->nfatal = bc.fatal;
    out->recs = take(&recs);
    out->bads = take(&bads);
}

static void run_mem(const char *name, const void *p, size_t len, struct run *out)
{
    struct in in = {name, p ? p : "", len};
    run_opts(&in, 1, 0, 0, 0, D_FULL, out);
}

static void run_str(const char *s, struct run *out)
{
    run_mem("mem", s, strlen(s), out);
}

static void run_path(const char *path, int mode, struct run *out)
{
    struct in in = {path, NULL, 0};
    run_opts(&in, 1, 0, 0, 0, mode, out);
}

/* UTF-8 -> UTF-16 (le or be), optional BOM. Caller frees. */
static unsigned char *to_utf16(const unsigned char *s, size_t n, int le, int bom, size_t *out_len)
{
    unsigned char *o = malloc(n * 4 + 4);
    size_t k = 0;
#define PUT16(u)                                                                                   \
    do {                                                                                           \
        unsigned u_ = (u);                                                                         \
        o[k++] = (unsigned char)(le ? (u_ & 0xFF) : (u_ >> 8));                                    \
        o[k++] = (unsigned char)(le ? (u_ >> 8) : (u_ & 0xFF));                                    \
    } while (0)
    if (bom) PUT16(0xFEFF);
    size_t i = 0;
    if (n >= 3 && s[0] == 0xEF && s[1] == 0xBB && s[2] == 0xBF) i = 3;
    while (i < n) {
        unsigned c = s[i], cp, len;
        if (c < 0x80)
            cp = c, len = 1;
        else if (c < 0xE0)
            cp = c & 0x1F, len = 2;
        else if (c < 0xF0)
            cp = c & 0x0F, len = 3;
        else
            cp = c & 0x07, len = 4;
        for (unsigned j = 1; j < len; j++) cp = (cp << 6) | (s[i + j] & 0x3F);
        i += len;
        if (cp >= 0x10000) {
            cp -= 0x10000;
            PUT16(0xD800 + (cp >> 10));
            PUT16(0xDC00 + (cp & 0x3FF));
        } else {
            PUT16(cp);
        }
    }
#undef PUT16
    *out_len = k;
    return o;
}

static unsigned char *gzip_of(const void *p, size_t n, size_t *out_len)
{
    z_stream z;
    memset(&z, 0, sizeof z);
    if (deflateInit2(&z, 6, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) return NULL;
    size_t cap = deflateBound(&z, (uLong)n) + 64;
    unsigned char *o = malloc(cap);
    z.next_in = (Bytef *)(uintptr_t)p;
    z.avail_in = (uInt)n;
    z.next_out = o;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH);
    *out_len = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(o);
        return NULL;
    }
    return o;
}

/* Two gzip members (split at half) or two zstd frames, concatenated. */
static unsigned char *compress_two(int zstd, const unsigned char *p, size_t n, size_t *out_len)
{
    size_t h = n / 2, l1 = 0, l2 = 0;
    unsigned char *a, *b;
    if (zstd) {
        size_t c1 = ZSTD_compressBound(h), c2 = ZSTD_compressBound(n - h);
        a = malloc(c1);
        b = malloc(c2);
        l1 = ZSTD_compress(a, c1, p, h, 3);
        l2 = ZSTD_compress(b, c2, p + h, n - h, 3);
        if (ZSTD_isError(l1) || ZSTD_isError(l2)) l1 = l2 = 0;
    } else {
        a = gzip_of(p, h, &l1);
        b = gzip_of(p + h, n - h, &l2);
    }
    unsigned char *o = malloc(l1 + l2 + 1);
    memcpy(o, a, l1);
    memcpy(o + l1, b, l2);
    free(a);
    free(b);
    *out_len = l1 + l2;
    return o;
}

/* ------------------------------------------------------------ JSON */

static void t_jsonl_positions(void)
{
    const char *in = "{\"a\":1}\r\n\r\n  {\"b\":\"x}y\\\"{\"}\n{\"c\":[1,{\"d\":2}]}";
    struct run r;
    run_str(in, &r);
    CHECK_INT(r.st, MH_OK);
    CHECK_STREQ(r.recs, "mem #1 L1 @0 jsonl {\"a\":1} | {\"a\":1}\n"
                        "mem #2 L3 @13 jsonl {\"b\":\"x}y\\\"{\"} | {\"b\":\"x}y\\\"{\"}\n"
                        "mem #3 L4 @28 jsonl {\"c\":[1,{\"d\":2}]} | {\"c\":[1,{\"d\":2}]}\n");
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "jsonl");
    CHECK_INT(r.stats.records_read, 3);
    CHECK_INT(r.stats.by_format[MH_FMT_JSONL], 3);
    CHECK_INT(r.stats.bytes, strlen(in));
    run_free(&r);

    /* several objects on one line, and pretty-printed ones spanning lines */
    run_str("{\"a\":1}{\"b\":2} {\"c\":3}\n{\n  \"d\": {\n    \"e\": [1, 2]\n  }\n}\n", &r);
    CHECK_INT(r.nrecs, 4);
    CHECK(strstr(r.recs, "mem #3 L1 @15 jsonl {\"c\":3}") != NULL);
    CHECK(strstr(r.recs, "mem #4 L2 @23 jsonl {\n  \"d\": {\n    \"e\": [1, 2]\n  }\n} | ") !=
          NULL);
    CHECK_INT(r.nbad, 0);
    run_free(&r);
}

static void t_jsonl_broken_line(void)
{
    struct run r;
    run_path(DATA "ual_broken.jsonl", D_FULL, &r);
    CHECK_INT(r.st, MH_OK);
    CHECK_INT(r.nrecs, 3);
    CHECK_INT(r.nbad, 1);
    CHECK_INT(r.nfatal, 0);
    CHECK_INT(r.stats.records_skipped, 1);
    CHECK(strstr(r.bads, "ual_broken.jsonl:2: record 2, byte 293: record not closed") != NULL);
    CHECK(strstr(r.recs, "#1 L1 @0 ") != NULL);
    CHECK(strstr(r.recs, "#3 L3 @405 ") != NULL);
    CHECK(strstr(r.recs, "#4 L4 @780 ") != NULL);
    run_free(&r);

    /* Each kind of breakage on line 2; lines 1 and 3 are always read. */
    static const struct {
        const char *line2, *reason;
    } cases[] = {
        {"{\"a\":\"unterminated string", "newline inside a string"},
        {"{\"a\":[1,2}", "mismatched closing bracket"},
        {"{\"a\":1}}", "unexpected bytes between records"},
        {"garbage, not JSON", "unexpected bytes between records"},
        {"{\"a\":1,\"b\":", "record not closed before the next line's object"},
        {"[1,2", "unterminated"}, /* an array opened on line 2 swallows line 3's object */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char buf[256];
        snprintf(buf, sizeof buf, "{\"n\":1}\n%s\n{\"n\":3}\n", cases[i].line2);
        run_str(buf, &r);
        CHECK(strstr(r.recs, "#1 L1 @0 jsonl {\"n\":1}") != NULL);
        if (i + 1 < sizeof cases / sizeof cases[0])
            CHECK(strstr(r.recs, " L3 @") != NULL && strstr(r.recs, "jsonl {\"n\":3}") != NULL);
        CHECK(r.nbad >= 1);
        CHECK(strstr(r.bads, cases[i].reason) != NULL);
        if (!strstr(r.bads, cases[i].reason)) fprintf(stderr, "case %zu: %s", i, r.bads);
        CHECK_INT(r.nfatal, 0);
        run_free(&r);
    }
    /* garbage lines are reported once per region, not once per line */
    run_str("{\"n\":1}\nxx\nyy\nzz\n{\"n\":2}\n", &r);
    CHECK_INT(r.nbad, 1);
    CHECK_INT(r.nrecs, 2);
    run_free(&r);
    /* end of input inside a record */
    run_str("{\"n\":1}\n{\"n\":", &r);
    CHECK_INT(r.nrecs, 1);
    CHECK(strstr(r.bads, "mem:2: record 2, byte 8: unterminated record at end of input") != NULL);
    run_free(&r);
}

static void t_json_array(void)
{
    struct run r;
    run_path(DATA "mgmt_blob.json", D_FULL, &r);
    CHECK_INT(r.nrecs, 3);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "json-array");
    CHECK(strstr(r.recs, "#1 L2 @4 json-array {\n    \"CreationTime\"") != NULL);
    CHECK(strstr(r.recs, "#3 L34 @869 json-array") != NULL);
    run_free(&r);

    /* non-object elements are bad records, the objects around them are read */
    run_str("[{\"a\":1}, 42, \"s]\", [1,[2]], null, {\"b\":2}]", &r);
    CHECK_STREQ(r.recs, "mem #1 L1 @1 json-array {\"a\":1} | {\"a\":1}\n"
                        "mem #6 L1 @35 json-array {\"b\":2} | {\"b\":2}\n");
    CHECK_INT(r.nbad, 4);
    CHECK(strstr(r.bads, "record 2, byte 10: array element is not an object") != NULL);
    CHECK(strstr(r.bads, "record 5, byte 29:") != NULL);
    run_free(&r);

    /* empty array, and two arrays back to back */
    run_str("[]\n[ ]", &r);
    CHECK_INT(r.nrecs, 0);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "json-array");
    run_free(&r);
    run_str("[{\"a\":1}]\n[{\"a\":2}]\n", &r);
    CHECK_INT(r.nrecs, 2);
    run_free(&r);
    /* truncated array: complete elements kept, the tail reported */
    run_str("[{\"a\":1},{\"a\":2},{\"a\"", &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 1);
    CHECK(strstr(r.bads, "record 3") != NULL);
    run_free(&r);
}

static void t_graph_and_records(void)
{
    struct run r;
    run_path(DATA "graph_signins.json", D_FULL, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "graph-page");
    CHECK(strstr(r.recs, "#1 L1 @93 graph-page {\"id\": \"933f20c0") != NULL);
    CHECK(strstr(r.recs, "#2 L1 @427 graph-page {\"id\": \"4d63c1c4") != NULL);
    CHECK(strstr(r.recs, "odata") == NULL);
    run_free(&r);

    run_path(DATA "azure_records.json", D_FULL, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "azure-records");
    CHECK(strstr(r.recs, "#1 L1 @55 azure-records {\"time\": \"2022-01-22T18:15:02") != NULL);
    CHECK(strstr(r.recs, "not this one") == NULL);
    run_free(&r);

    /* Event Hubs bodies one per line; an empty page; a value key that is not a page */
    run_str("{\"records\":[{\"a\":1}]}\n{\"records\":[]}\n{\"records\":[{\"a\":2},{\"a\":3}]}\n",
            &r);
    CHECK_INT(r.nrecs, 3);
    CHECK(strstr(r.recs, "#3 L3 @") != NULL);
    run_free(&r);
    run_str("{\"@odata.context\":\"x\",\"value\":[]}", &r);
    CHECK_INT(r.nrecs, 0);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "graph-page");
    run_free(&r);
    run_str("{\"value\":[1,2],\"k\":\"v\"}\n{\"value\":[{\"x\":1}]}\n", &r);
    CHECK_INT(r.nrecs, 2); /* JSONL: once the file is JSON Lines, objects are records */
    CHECK_STREQ(r.formats[0], "jsonl");
    CHECK(strstr(r.recs, "#2 L2 @24 jsonl {\"value\":[{\"x\":1}]}") != NULL);
    run_free(&r);
}

/* ------------------------------------------------------------ CSV */

static void t_purview(void)
{
    struct run r;
    run_path(DATA "purview4.csv", D_FULL, &r);
    CHECK_INT(r.st, MH_OK);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "csv-purview4");
    CHECK(strstr(r.recs,
                 "#1 L2 @46 csv-purview4 {\"CreationDate\":\"9/20/2023 4:05:03 AM\","
                 "\"UserIds\":\"adele@contoso.example\",\"Operations\":\"New-InboxRule\","
                 "\"AuditData\":\"{\\\"CreationTime\\\":\\\"2023-09-20T04:05:03\\\"") != NULL);
    CHECK(strstr(r.recs, "\\\"Value\\\":\\\"legal, \\\\\\\"urgent\\\\\\\"\\\"}]}\"} | ") != NULL);
    CHECK(strstr(r.recs,
                 "#2 L3 @409 csv-purview4 {\"CreationDate\":\"2026-08-31T10:18:39.0000000Z \","
                 "\"UserIds\":\"adele@contoso.example\",\"Operations\":\"MailItemsAccessed\","
                 "\"AuditData\":\"{\\r\\n  \\\"CreationTime\\\"") != NULL);
    /* raw is the row text as written */
    CHECK(
        strstr(r.recs,
               "| 2026-08-31T10:18:39.0000000Z ,adele@contoso.example,MailItemsAccessed,\"{\r\n") !=
        NULL);
    run_free(&r);

    run_path(DATA "purview8.csv", D_FULL, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "csv-purview8");
    /* empty AssociatedAdminUnits cells are omitted */
    CHECK(strstr(r.recs, "AssociatedAdminUnits") == NULL);
    CHECK(strstr(r.recs,
                 "{\"RecordId\":\"97fc1f52-4cd1-498b-f05e-08db8b78efd7\","
                 "\"CreationDate\":\"2026-08-31T10:18:39.0000000Z \",\"RecordType\":\"50\"") !=
          NULL);
    run_free(&r);

    run_path(DATA "ual_ps.csv", D_FULL, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_STREQ(r.formats[0], "csv-ual-ps");
    CHECK(strstr(r.recs, "\"ObjectState\":\"Unchanged\"}") != NULL);
    run_free(&r);

    /* PowerShell variant of the 4-column export, header case-insensitive */
    run_str("creationdate,USERIDS,RecordType,AuditData\n1/2/2024 3:04:05 PM,a@b,1,\"{}\"\n", &r);
    CHECK_STREQ(r.formats[0], "csv-purview4");
    CHECK(strstr(r.recs, "{\"creationdate\":\"1/2/2024 3:04:05 PM\",\"USERIDS\":\"a@b\","
                         "\"RecordType\":\"1\",\"AuditData\":\"{}\"}") != NULL);
    run_free(&r);
}

static void t_loganalytics(void)
{
    struct run r;
    run_path(DATA "la_signinlogs.csv", D_FULL, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 0);
    CHECK_STREQ(r.formats[0], "csv-loganalytics");
    /* [UTC] suffix stripped; X_dynamic / X_string folded into X, first non-empty wins */
    CHECK(strstr(r.recs, "\"TimeGenerated\":\"4/28/2021, 2:29:15.000 PM\"") != NULL);
    CHECK(strstr(r.recs, "\"CreatedDateTime\":\"4/28/2021, 2:28:31.522 PM\"") != NULL);
    CHECK(strstr(r.recs, "[UTC]") == NULL);
    CHECK(strstr(r.recs, "_dynamic\"") == NULL);
    CHECK(strstr(r.recs, "_string\"") == NULL);
    CHECK(strstr(r.recs, "\"DeviceDetail\":\"{\\r\\n  \\\"deviceId\\\": \\\"\\\",\\r\\n") != NULL);
    CHECK(strstr(r.recs, "\"DeviceDetail\":\"{}\"") != NULL);
    CHECK(strstr(r.recs, "\"Status\":\"{\\\"errorCode\\\":50058}\"") != NULL);
    CHECK(strstr(r.recs, "#2 L10 @932 ") != NULL);
    run_free(&r);

    /* a plain X column wins over X_dynamic; duplicates keep the first */
    run_str("Type,Status,Status_dynamic,A [UTC],A,B_string,B_dynamic\n"
            "SigninLogs,,{\"x\":1},t1,t2,,{\"y\":2}\n",
            &r);
    CHECK(strstr(r.recs, "{\"Type\":\"SigninLogs\",\"Status_dynamic\":\"{\\\"x\\\":1}\","
                         "\"A\":\"t1\",\"B\":\"{\\\"y\\\":2}\"}") != NULL);
    run_free(&r);
    /* hunting-query export without a time column is still a table export */
    run_str("SourceSystem,OperationName,ResultType\nAzure AD,Sign-in activity,50057\n", &r);
    CHECK_STREQ(r.formats[0], "csv-loganalytics");
    CHECK_INT(r.nrecs, 1);
    run_free(&r);
}

static void t_message_trace_encodings(void)
{
    static const char *const files[] = {DATA "trace_v2.csv", DATA "trace_summary.csv",
                                        DATA "trace_extended.csv"};
    static const char *const fmts[] = {"csv-trace", "csv-trace-summary", "csv-trace-extended"};
    for (size_t f = 0; f < 3; f++) {
        size_t n = 0;
        unsigned char *u8 = (unsigned char *)slurp(files[f], &n);
        CHECK(u8 != NULL);
        if (!u8) continue;
        struct run base;
        run_mem("t", u8, n, &base);
        CHECK_INT(base.nrecs, 2);
        CHECK_INT(base.nbad, 0);
        CHECK_STREQ(base.formats[0], fmts[f]);
        struct in one = {"t", u8, n};
        run_free(&base);
        run_opts(&one, 1, 0, 0, 0, D_CONTENT, &base);
        /* UTF-16LE with BOM, without BOM, UTF-16BE with BOM: same records */
        for (int v = 0; v < 3; v++) {
            size_t ln = 0;
            unsigned char *u16 = to_utf16(u8, n, v != 2, v != 1, &ln);
            struct in in = {"t16", u16, ln};
            struct run r;
            for (size_t chunk = 1; chunk <= 64; chunk = chunk * 8 - 1) {
                run_opts(&in, 1, chunk, 0, 0, D_CONTENT, &r);
                CHECK_STREQ(r.recs, base.recs);
                CHECK_INT(r.nbad, 0);
                CHECK_STREQ(r.formats[0], fmts[f]);
                run_free(&r);
            }
            free(u16);
        }
        run_free(&base);
        mh_free(u8);
    }
    /* the #TYPE line of Export-Csv is skipped; quoted header names unquoted */
    struct run r;
    run_path(DATA "trace_v2.csv", D_FULL, &r);
    CHECK(strstr(r.recs, "#1 L3 @292 csv-trace {\"PSComputerName\":\"outlook.office365.com\"") !=
          NULL);
    CHECK(strstr(r.recs, "\"Subject\":\"Q4 numbers, \\\"final\\\"\"") != NULL);
    CHECK(strstr(r.recs, "\"Subject\":\"Q4 numbers \xe2\x80\x93 \xc3\xbcn\xc3\xaf") != NULL);
    run_free(&r);
    /* the stored UTF-16LE (no BOM) report equals the UTF-8 one */
    struct run a, b;
    run_path(DATA "trace_summary.csv", D_CONTENT, &a);
    run_path(DATA "trace_summary_utf16le.csv", D_CONTENT, &b);
    CHECK_INT(b.nrecs, 2);
    CHECK_STREQ(a.recs, b.recs);
    run_free(&a);
    run_free(&b);
    /* a supplementary-plane character survives UTF-16 with surrogate pairs */
    const char *s = "k,v\n1,\xf0\x9f\x98\x80 ok\n";
    size_t ln = 0;
    unsigned char *u16 = to_utf16((const unsigned char *)s, strlen(s), 1, 0, &ln);
    run_mem("emoji", u16, ln, &r);
    CHECK(strstr(r.recs, "{\"k\":\"1\",\"v\":\"\xf0\x9f\x98\x80 ok\"}") != NULL);
    run_free(&r);
    free(u16);
}

static void t_invalid_utf16(void)
{
    /* "k,v\n1,2\n" then an unpaired low surrogate, in UTF-16LE with BOM */
    static const unsigned char in[] = {0xFF, 0xFE, 'k', 0,   ',',  0,    'v',  0,    '\n',
                                       0,    '1',  0,   ',', 0,    '2',  0,    '\n', 0,
                                       '3',  0,    ',', 0,   0x00, 0xDC, '\n', 0};
    struct run r;
    run_mem("bad16", in, sizeof in, &r);
    CHECK_INT(r.st, MH_OK);
    CHECK_INT(r.nrecs, 1);
    CHECK_INT(r.nfatal, 1);
    CHECK_INT(r.stats.files_failed, 1);
    CHECK(strstr(r.bads,
                 "FATAL bad16: byte 22: invalid UTF-16 (unpaired low surrogate at byte 22)") !=
          NULL);
    run_free(&r);
    /* odd trailing byte; dangling high surrogate */
    static const unsigned char odd[] = {0xFF, 0xFE, '[', 0, ']', 0, '\n'};
    run_mem("odd", odd, sizeof odd, &r);
    CHECK_INT(r.nfatal, 1);
    CHECK(strstr(r.bads, "odd trailing byte") != NULL);
    run_free(&r);
    static const unsigned char hi[] = {0xFE, 0xFF, 0, '[', 0, ']', 0xD8, 0x3D};
    run_mem("hi", hi, sizeof hi, &r);
    CHECK_INT(r.nfatal, 1);
    CHECK(strstr(r.bads, "byte 6: invalid UTF-16 (unpaired high surrogate at end of input") !=
          NULL);
    run_free(&r);
}

static void t_csv_bad_rows(void)
{
    struct run r;
    run_str("a,b\n1,2\n1,2,3\n4\n5,6\n", &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nbad, 2);
    CHECK(strstr(r.bads,
                 "mem:3: record 2, byte 8: wrong number of fields (3 fields, header has 2)") !=
          NULL);
    CHECK(strstr(r.bads, "mem:4: record 3, byte 14: wrong number of fields") != NULL);
    CHECK(strstr(r.recs, "mem #4 L5 @16 csv {\"a\":\"5\",\"b\":\"6\"} | 5,6\n") != NULL);
    run_free(&r);
    /* an unterminated quote at end of input costs one row: the rest is re-read */
    run_str("a,b\n1,\"oops\n3,4\n5,6\n", &r);
    CHECK_INT(r.nbad, 1);
    CHECK(strstr(r.bads, "mem:2: record 1, byte 4: unterminated quoted field at end of input") !=
          NULL);
    CHECK_INT(r.nrecs, 2);
    CHECK(strstr(r.recs, "mem #2 L3 @12 csv {\"a\":\"3\",\"b\":\"4\"}") != NULL);
    run_free(&r);
    /* not a CSV header: prose, a single column, binary */
    static const char *const notcsv[] = {
        "Source: a README line, with a comma in it and many words\nmore\n",
        "just one column\nsecond line\n", "\x01\x02\x03,\x04\n"};
    for (size_t i = 0; i < 3; i++) {
        run_str(notcsv[i], &r);
        CHECK_INT(r.nfatal, 1);
        CHECK_INT(r.nrecs, 0);
        CHECK(strstr(r.bads, "unrecognised format") != NULL);
        run_free(&r);
    }
}

/* ------------------------------------------------------------ compression */

static void t_compression(void)
{
    static const char *const files[] = {DATA "ual.jsonl", DATA "purview8.csv",
                                        DATA "graph_signins.json",
                                        DATA "trace_summary_utf16le.csv"};
    for (size_t f = 0; f < 4; f++) {
        size_t n = 0;
        unsigned char *plain = (unsigned char *)slurp(files[f], &n);
        CHECK(plain != NULL);
        if (!plain) continue;
        struct in pin = {"x", plain, n};
        struct run base;
        run_opts(&pin, 1, 0, 0, 0, D_CONTENT, &base);
        CHECK(base.nrecs >= 2);
        size_t gl = 0;
        unsigned char *gz = gzip_of(plain, n, &gl);
        for (int kind = 0; kind < 3; kind++) {
            size_t cl = 0;
            unsigned char *c = kind == 0 ? gz : compress_two(kind == 2, plain, n, &cl);
            if (kind == 0) cl = gl;
            struct in in = {"x.bin", c, cl};
            for (size_t chunk = 1; chunk <= 64; chunk = chunk * 8 - 1) {
                struct run r;
                run_opts(&in, 1, chunk, 0, 0, D_CONTENT, &r);
                CHECK_STREQ(r.recs, base.recs);
                CHECK_INT(r.nbad, 0);
                CHECK_INT(r.stats.bytes_in, cl);
                run_free(&r);
            }
            /* truncated: a fatal error, the records before the cut are kept */
            struct in cut = {"cut", c, cl * 3 / 4};
            struct run r;
            run_opts(&cut, 1, 0, 0, 0, D_CONTENT, &r);
            CHECK_INT(r.nfatal, 1);
            CHECK_INT(r.stats.files_failed, 1);
            CHECK(strstr(r.bads, kind == 2 ? "truncated zstd stream" : "truncated gzip stream") !=
                      NULL ||
                  strstr(r.bads, "corrupt") != NULL);
            CHECK(r.nrecs < base.nrecs);
            CHECK(strncmp(r.recs, base.recs, strlen(r.recs)) == 0); /* a prefix */
            run_free(&r);
            if (kind) free(c);
        }
        free(gz);
        run_free(&base);
        mh_free(plain);
    }
    /* gzip truncated after the last complete record: that record is delivered */
    const char *j = "{\"a\":1}\n{\"a\":2}\n{\"a\":3";
    size_t gl = 0;
    unsigned char *gz = gzip_of(j, strlen(j), &gl);
    struct in in = {"t.gz", gz, gl - 8}; /* drop the CRC/size trailer only */
    struct run r;
    run_opts(&in, 1, 0, 0, 0, D_CONTENT, &r);
    CHECK_INT(r.nrecs, 2);
    CHECK_INT(r.nfatal, 1);
    CHECK_INT(r.nbad, 1); /* only the fatal report: the partial record goes with it */
    char want[96];
    snprintf(want, sizeof want, "FATAL t.gz: byte %zu: truncated gzip stream", gl - 8);
    CHECK(strstr(r.bads, want) != NULL);
    run_free(&r);
    free(gz);
    /* archives and compressions mailhound does not read are named, not taken for text */
    run_mem("x.zip", "PK\x03\x04\x14\x00\x00\x00", 8, &r);
    CHECK(strstr(r.bads, "FATAL x.zip: byte 0: unsupported archive or compression (zip archive: "
                         "extract it first)") != NULL);
    run_free(&r);
    run_mem("x.bz2", "BZh91AY&SY", 10, &r);
    CHECK(strstr(r.bads, "bzip2 stream") != NULL);
    run_free(&r);
    /* corrupt deflate data */
    unsigned char junk[64] = {0x1F, 0x8B, 8, 0, 0, 0, 0, 0, 0, 3, 0xFF, 0xFF, 0xFF};
    run_mem("junk.gz", junk, sizeof junk, &r);
    CHECK_INT(r.nfatal, 1);
    CHECK(strstr(r.bads, "corrupt gzip stream") != NULL);
    run_free(&r);
}

static void t_zip_bomb(void)
{
    size_t n = 8u << 20;
    char *z = malloc(n);
    memset(z, ' ', n);
    memcpy(z, "{\"a\":1}\n", 8);
    size_t zl = 0;
    unsigned char *c = malloc(ZSTD_compressBound(n));
    zl = ZSTD_compress(c, ZSTD_compressBound(n), z, n, 19);
    CHECK(!ZSTD_isError(zl));
    struct run r;
    run_mem("bomb.zst", c, zl, &r);
    CHECK_INT(r.nfatal, 1);
    CHECK(strstr(r.bads, "decompression ratio limit exceeded") != NULL);
    CHECK_INT(r.nrecs, 1); /* the record before the flood is delivered */
    run_free(&r);
    free(c);
    free(z);
}

/* ------------------------------------------------------------ files */

static void write_file(const char *path, const char *s)
{
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fputs(s, f);
    fclose(f);
}

static void t_directories(void)
{
    char root[] = "/tmp/mh_test_reader_XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    char p[512];
    snprintf(p, sizeof p, "%s/b", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/a/z", root);
    mkdir(p, 0700);
    snprintf(p, sizeof p, "%s/empty.json", root);
    write_file(p, "");
    snprintf(p, sizeof p, "%s/a/z/deep.json", root);
    write_file(p, "{\"f\":\"a/z/deep\"}\n");
    snprintf(p, sizeof p, "%s/a/Z.json", root); /* 'Z' < 'z' byte-wise */
    write_file(p, "{\"f\":\"a/Z\"}\n");
    snprintf(p, sizeof p, "%s/a.json", root);
    write_file(p, "[{\"f\":\"a.json\"}]");
    snprintf(p, sizeof p, "%s/b/t.csv", root);
    write_file(p, "x,y\n1,2\n");
    struct in ins[] = {{root, NULL, 0}, {"/nonexistent/mh/path.json", NULL, 0}};
    struct run r;
    run_opts(ins, 2, 0, 0, 0, D_CONTENT, &r);
    CHECK_STREQ(r.recs, "#1 jsonl {\"f\":\"a/Z\"}\n"
                        "#1 jsonl {\"f\":\"a/z/deep\"}\n"
                        "#1 json-array {\"f\":\"a.json\"}\n"
                        "#1 csv {\"x\":\"1\",\"y\":\"2\"}\n");
    CHECK_INT(r.stats.files, 6);
    CHECK_INT(r.stats.files_failed, 1);
    CHECK(strstr(r.bads, "FATAL /nonexistent/mh/path.json: byte 0: cannot open: No such file") !=
          NULL);
    CHECK_STREQ(r.formats[3], "csv");
    CHECK_STREQ(r.formats[4], "unknown"); /* empty.json: fine, 0 records */
    run_free(&r);

    /* stdin ("-") */
    snprintf(p, sizeof p, "%s/a/Z.json", root);
    int saved = dup(0);
    FILE *f = fopen(p, "rb");
    if (f && saved >= 0 && dup2(fileno(f), 0) == 0) {
        struct in s = {"-", NULL, 0};
        run_opts(&s, 1, 0, 0, 0, D_FULL, &r);
        CHECK_STREQ(r.recs, "- #1 L1 @0 jsonl {\"f\":\"a/Z\"} | {\"f\":\"a/Z\"}\n");
        run_free(&r);
        dup2(saved, 0);
    } else {
        CHECK(0);
    }
    if (f) fclose(f);
    if (saved >= 0) close(saved);

    static const char *const rm[] = {"a/z/deep.json", "a/Z.json", "a.json", "b/t.csv",
                                     "empty.json",    "a/z",      "a",      "b"};
    for (size_t i = 0; i < sizeof rm / sizeof rm[0]; i++) {
        snprintf(p, sizeof p, "%s/%s", root, rm[i]);
        if (remove(p) != 0) CHECK(0);
    }
    rmdir(root);
}

/* Keys (mh_reader_file_key): below the caller's folder however the folder
 * is spelt (trailing slashes, relative), the base name of a file or buffer
 * named by the caller, "-" for stdin; always a suffix of the name. */
static void t_file_keys(void)
{
    char root[] = "/tmp/mh_test_keys_XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    /* a tree, in creation order; removed in reverse (NULL content: a folder) */
    static const struct {
        const char *rel, *text;
    } tree[] = {{"a", NULL},
                {"a/z", NULL},
                {"a/z/deep.json", "{\"f\":1}\n"},
                {"a/Z.json", "{\"f\":2}\n"},
                {"top.json", "{\"f\":3}\n"}};
    enum { NTREE = sizeof tree / sizeof tree[0] };
    char p[600], slash[600], zf[600];
    for (size_t i = 0; i < NTREE; i++) {
        snprintf(p, sizeof p, "%s/%s", root, tree[i].rel);
        if (tree[i].text) write_file(p, tree[i].text);
        else mkdir(p, 0700);
    }
    snprintf(zf, sizeof zf, "%s/a/Z.json", root);
    snprintf(slash, sizeof slash, "%s//", root);
    int saved = dup(0);
    FILE *devnull = fopen("/dev/null", "rb");
    CHECK(saved >= 0 && devnull && dup2(fileno(devnull), 0) == 0);
    mh_reader *r = NULL;
    CHECK(mh_reader_new(NULL, &r) == MH_OK);
    CHECK(mh_reader_add_path(r, root) == MH_OK);
    CHECK(mh_reader_add_path(r, slash) == MH_OK);
    CHECK(mh_reader_add_path(r, zf) == MH_OK);
    CHECK(mh_reader_add_path(r, "tests/data/formats") == MH_OK); /* relative */
    CHECK(mh_reader_add_path(r, DATA "purview8.csv") == MH_OK);
    CHECK(mh_reader_add_path(r, "-") == MH_OK);
    CHECK(mh_reader_add_memory(r, "x/y/mem.json", "{}\n", 3) == MH_OK);
    struct mh_batch b;
    mh_batch_init(&b);
    while (mh_reader_fill(r, &b) == MH_OK) {
    }
    mh_batch_fini(&b);
    struct mh_buf keys;
    mh_buf_init(&keys, 1u << 16);
    uint32_t f = 0;
    for (; mh_reader_file_name(r, f); f++) {
        const char *nm = mh_reader_file_name(r, f), *k = mh_reader_file_key(r, f);
        CHECK(k && k >= nm && k <= nm + strlen(nm) && k[0] != '/'); /* a suffix */
        /* the formats folder: only its two CSV files named below */
        if (strstr(nm, "formats") && strcmp(k, "purview8.csv") != 0 &&
            strcmp(k, "trace_v2.csv") != 0)
            continue;
        CHECK(mh_buf_printf(&keys, "%s\n", k ? k : "(null)") == MH_OK);
    }
    CHECK(mh_reader_file_key(r, f) == NULL);
    CHECK_STREQ(keys.data, "a/Z.json\na/z/deep.json\ntop.json\n" /* root */
                           "a/Z.json\na/z/deep.json\ntop.json\n" /* root// */
                           "Z.json\n"                            /* root/a/Z.json */
                           "purview8.csv\ntrace_v2.csv\n"        /* tests/data/formats */
                           "purview8.csv\n"                      /* DATA "purview8.csv" */
                           "-\nmem.json\n");                     /* stdin, x/y/mem.json */
    mh_buf_fini(&keys);
    mh_reader_free(r);
    if (saved >= 0) {
        dup2(saved, 0);
        close(saved);
    }
    if (devnull) fclose(devnull);
    for (size_t i = NTREE; i-- > 0;) {
        snprintf(p, sizeof p, "%s/%s", root, tree[i].rel);
        if (remove(p) != 0) CHECK(0);
    }
    rmdir(root);
}

/* A file in a folder that is not a log: one non-fatal report, counted in
 * files_not_logs; the same file named by the caller (or given in memory)
 * fails. Records of the other files are unaffected. */
struct not_log_ctx {
    size_t not_logs, fatal, other;
    char origin[256];
};

static void on_bad_not_log(void *ctx, const mh_error *e, bool fatal)
{
    struct not_log_ctx *c = ctx;
    if (mh_reader_not_a_log(e)) {
        c->not_logs++;
        snprintf(c->origin, sizeof c->origin, "%s", e->origin);
        if (fatal || e->record || e->line) c->other += 100; /* must be a plain file report */
    } else if (fatal) {
        c->fatal++;
    } else {
        c->other++;
    }
}

static void t_not_a_log(void)
{
    char root[] = "/tmp/mh_test_reader_XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    char readme[512], log[512], bin[512];
    snprintf(readme, sizeof readme, "%s/README.md", root);
    write_file(readme, "# Exports\nSee the ticket.\n");
    snprintf(log, sizeof log, "%s/ual.json", root);
    write_file(log, "{\"f\":1}\n");
    snprintf(bin, sizeof bin, "%s/z.bin", root);
    write_file(bin, "\x7f" "ELF\x02\x01\x01\x03\x04binary,stuff\x05\x06");
    for (int named = 0; named < 3; named++) {
        struct not_log_ctx c = {0};
        struct mh_reader_opts o = {0};
        o.on_bad = on_bad_not_log;
        o.ctx = &c;
        mh_reader *r = NULL;
        struct mh_batch b;
        mh_batch_init(&b);
        CHECK_INT(mh_reader_new(&o, &r), MH_OK);
        if (!r) return;
        static const char text[] = "just a note\n";
        mh_status st = named == 0   ? mh_reader_add_path(r, root)
                       : named == 1 ? mh_reader_add_path(r, readme)
                                    : mh_reader_add_memory(r, "note.txt", text, sizeof text - 1);
        CHECK_INT(st, MH_OK);
        size_t recs = 0;
        while ((st = mh_reader_fill(r, &b)) == MH_OK) recs += b.n;
        CHECK_INT(st, MH_EOF);
        const struct mh_ingest_stats *s = mh_reader_stats(r);
        if (named == 0) {
            CHECK_INT(recs, 1);
            CHECK_INT(c.not_logs, 2); /* README.md and z.bin */
            CHECK_INT(s->files_not_logs, 2);
            CHECK_INT(s->files, 3);
            CHECK_INT(s->files_failed + s->records_skipped, 0);
            CHECK_STREQ(c.origin, bin);
        } else {
            CHECK_INT(c.not_logs, 0);
            CHECK_INT(c.fatal, 1);
            CHECK_INT(s->files_failed, 1);
            CHECK_INT(s->files_not_logs, 0);
        }
        CHECK_INT(c.other, 0);
        mh_batch_fini(&b);
        mh_reader_free(r);
    }
    CHECK(!mh_reader_not_a_log(NULL));
    remove(readme);
    remove(log);
    remove(bin);
    rmdir(root);
}

static void t_directory_depth(void)
{
    char root[] = "/tmp/mh_test_depth_XXXXXX";
    if (!mkdtemp(root)) {
        CHECK(0);
        return;
    }
    enum { LEVELS = MH_MAX_PATH_DEPTH + 2 };
    static char path[LEVELS + 1][512];
    snprintf(path[0], sizeof path[0], "%s", root);
    for (int i = 1; i <= LEVELS; i++) {
        char prev[sizeof path[0]];
        memcpy(prev, path[i - 1], sizeof prev);
        int n = snprintf(path[i], sizeof path[i], "%s/d", prev);
        CHECK(n > 0 && (size_t)n < sizeof path[i]);
        mkdir(path[i], 0700);
    }
    char f[600], top[600];
    CHECK(snprintf(f, sizeof f, "%s/deep.json", path[LEVELS]) < (int)sizeof f);
    write_file(f, "{\"deep\":1}\n");
    snprintf(top, sizeof top, "%s/top.json", root);
    write_file(top, "{\"top\":1}\n");
    struct in in = {root, NULL, 0};
    struct run r;
    run_opts(&in, 1, 0, 0, 0, D_CONTENT, &r);
    CHECK_STREQ(r.recs, "#1 jsonl {\"top\":1}\n");
    CHECK_INT(r.nfatal, 1);
    CHECK(strstr(r.bads, "directory nesting too deep") != NULL);
    run_free(&r);
    remove(f);
    remove(top);
    for (int i = LEVELS; i >= 1; i--) rmdir(path[i]);
    rmdir(root);
}

static void t_empty_and_blank(void)
{
    struct run r;
    run_mem("empty", NULL, 0, &r);
    CHECK_INT(r.nrecs, 0);
    CHECK_INT(r.nbad, 0);
    CHECK_INT(r.stats.files, 1);
    run_free(&r);
    run_str(" \r\n\n\t\n", &r);
    CHECK_INT(r.nrecs, 0);
    CHECK_INT(r.nbad, 0);
    run_free(&r);
    run_str("\xef\xbb\xbf", &r); /* a BOM alone */
    CHECK_INT(r.nrecs, 0);
    CHECK_INT(r.nbad, 0);
    run_free(&r);
    /* a UTF-8 BOM counts in offsets (offsets are file offsets for UTF-8) */
    run_str("\xef\xbb\xbf{\"a\":1}", &r);
    CHECK_STREQ(r.recs, "mem #1 L1 @3 jsonl {\"a\":1} | {\"a\":1}\n");
    run_free(&r);
}

/* ------------------------------------------------------------ limits */

static void t_record_limit(void)
{
    char big[600];
    memset(big, 'x', sizeof big);
    char in[1024];
    snprintf(in, sizeof in, "{\"a\":1}\n{\"big\":\"%.*s\"}\n{\"a\":3}\n", 300, big);
    struct in i1 = {"lim", in, strlen(in)};
    for (size_t chunk = 1; chunk <= 4096; chunk = chunk * 8 - 1) {
        struct run r;
        run_opts(&i1, 1, chunk, 100, 0, D_FULL, &r);
        CHECK_INT(r.nrecs, 2);
        CHECK_INT(r.nbad, 1);
        CHECK(strstr(r.bads, "BAD lim:2: record 2, byte 8: record too large") != NULL);
        CHECK(strstr(r.recs, "lim #3 L3 @319 jsonl {\"a\":3}") != NULL);
        run_free(&r);
    }
    snprintf(in, sizeof in, "h1,h2\n1,2\n\"%.*s\",3\n4,5\n", 300, big);
    struct in i2 = {"lim.csv", in, strlen(in)};
    for (size_t chunk = 1; chunk <= 4096; chunk = chunk * 8 - 1) {
        struct run r;
        run_opts(&i2, 1, chunk, 100, 0, D_FULL, &r);
        CHECK_INT(r.nrecs, 2);
        CHECK_INT(r.nbad, 1);
        CHECK(strstr(r.bads, "BAD lim.csv:3: record 2, byte 10: record too large") != NULL);
        CHECK(strstr(r.recs, "lim.csv #3 L4 @315 csv {\"h1\":\"4\",\"h2\":\"5\"}") != NULL);
        run_free(&r);
    }
    /* nesting deeper than the splitter tracks */
    size_t depth = 1100;
    char *deep = malloc(2 * depth + 32);
    size_t k = 0;
    for (size_t i = 0; i < depth; i++) deep[k++] = '[';
    deep[k++] = '\n';
    memcpy(deep + k, "{\"ok\":1}\n", 9);
    k += 9;
    struct run r;
    run_mem("deep", deep, k, &r);
    CHECK(strstr(r.bads, "nesting too deep") != NULL);
    CHECK(strstr(r.recs, "{\"ok\":1}") != NULL);
    run_free(&r);
    free(deep);
}

/* ------------------------------------------------------------ chunking */

static const char *const all_files[] = {
    DATA "ual.jsonl",
    DATA "ual_broken.jsonl",
    DATA "mgmt_blob.json",
    DATA "graph_signins.json",
    DATA "azure_records.json",
    DATA "purview4.csv",
    DATA "purview8.csv",
    DATA "ual_ps.csv",
    DATA "la_signinlogs.csv",
    DATA "trace_v2.csv",
    DATA "trace_summary.csv",
    DATA "trace_extended.csv",
    DATA "trace_summary_utf16le.csv",
};

static void t_chunk_independence(void)
{
    size_t nf = sizeof all_files / sizeof all_files[0];
    struct in ins[sizeof all_files / sizeof all_files[0]];
    for (size_t i = 0; i < nf; i++) ins[i] = (struct in){all_files[i], NULL, 0};
    struct run base;
    run_opts(ins, nf, 0, 0, 0, D_FULL, &base);
    CHECK_INT(base.st, MH_OK);
    CHECK_INT(base.nrecs, 29);
    CHECK_INT(base.nbad, 1);
    static const size_t chunks[] = {1, 2, 3, 7, 64, 4093};
    for (size_t c = 0; c < sizeof chunks / sizeof chunks[0]; c++) {
        struct run r;
        run_opts(ins, nf, chunks[c], 0, 0, D_FULL, &r);
        CHECK_STREQ(r.recs, base.recs);
        CHECK_STREQ(r.bads, base.bads);
        CHECK_INT(r.stats.bytes, base.stats.bytes);
        run_free(&r);
        /* small batches too: batches of one record */
        run_opts(ins, nf, chunks[c], 0, 1, D_FULL, &r);
        CHECK_STREQ(r.recs, base.recs);
        run_free(&r);
    }
    run_free(&base);
}

static void t_batches_stay_valid(void)
{
    struct mh_reader_opts o = {0};
    o.batch_records = 2;
    mh_reader *r = NULL;
    CHECK_INT(mh_reader_new(&o, &r), MH_OK);
    CHECK_INT(mh_reader_add_path(r, DATA "ual.jsonl"), MH_OK);
    CHECK_INT(mh_reader_add_path(r, DATA "purview4.csv"), MH_OK);
    struct mh_batch a, b;
    mh_batch_init(&a);
    mh_batch_init(&b);
    CHECK_INT(mh_reader_fill(r, &a), MH_OK);
    CHECK_INT(a.n, 2);
    char first[64];
    snprintf(first, sizeof first, "%.*s", 40, a.recs[0].json);
    CHECK_INT(mh_reader_fill(r, &b), MH_OK);
    CHECK_INT(b.n, 2); /* the last JSONL record and the first CSV row */
    CHECK_INT(b.recs[1].format, MH_FMT_CSV_PURVIEW4);
    CHECK(memcmp(a.recs[0].json, first, strlen(first)) == 0);
    CHECK_INT(mh_reader_fill(r, &a), MH_OK);
    CHECK_INT(a.n, 1);
    CHECK_INT(mh_reader_fill(r, &a), MH_EOF);
    CHECK_INT(a.n, 0);
    CHECK_INT(mh_reader_fill(r, &a), MH_EOF);
    mh_batch_fini(&a);
    mh_batch_fini(&b);
    mh_reader_free(r);
    mh_reader_free(NULL);
    mh_batch_fini(NULL);
}

static void t_alloc_failures(void)
{
    size_t n = 0;
    unsigned char *csv = (unsigned char *)slurp(DATA "la_signinlogs.csv", &n);
    size_t gl = 0;
    unsigned char *gz = csv ? gzip_of(csv, n, &gl) : NULL;
    const char *js = "{\"records\":[{\"a\":1},{\"b\":2}]}\n";
    struct in ins[] = {
        {"la.csv.gz", gz, gl}, {"rec.json", js, strlen(js)}, {DATA "ual_broken.jsonl", NULL, 0}};
    struct run ok;
    run_opts(ins, 3, 64, 0, 0, D_FULL, &ok);
    CHECK_INT(ok.st, MH_OK);
    int done = 0, enomem = 0;
    for (int64_t i = 0; i < 2000 && !done; i++) {
        struct run r;
        mh_alloc_fail_after(i);
        run_opts(ins, 3, 64, 0, 0, D_FULL, &r);
        mh_alloc_fail_after(-1);
        if (r.st == MH_OK) {
            /* the failure hit nothing of the reader's (or nothing at all): same result */
            CHECK_STREQ(r.recs, ok.recs);
            done = r.stats.records_read == ok.stats.records_read && i > 50;
        } else {
            CHECK_INT(r.st, MH_ENOMEM);
            enomem++;
        }
        run_free(&r);
    }
    CHECK(enomem > 10);
    run_free(&ok);
    free(gz);
    mh_free(csv);
}

/* ------------------------------------------------------------ shared corpus */

static void t_shared_corpus(void)
{
    struct stat st;
    if (stat(SHARED, &st) != 0) {
        printf("skipped: shared corpus check (%s not present)\n", SHARED);
        return;
    }
    static const struct {
        const char *path;
        uint64_t records;
        const char *format;
    } files[] = {
        {"otrf-security-datasets/m365-atomic/o365spray_default.json", 9, "jsonl"},
        {"otrf-security-datasets/m365-atomic/o365spray_reporting.json", 14, "jsonl"},
        {"otrf-security-datasets/m365-atomic/add_a_user_to_company_administrator_role.json", 1,
         "jsonl"},
        {"otrf-security-datasets/m365-atomic/disable_strong_authentication.json", 3, "jsonl"},
        {"otrf-security-datasets/m365-atomic/enable_pop_imap_owa.json", 1, "jsonl"},
        {"otrf-security-datasets/m365-atomic/mail_account_delegation_full_access_permissions.json",
         1, "jsonl"},
        {"otrf-security-datasets/m365-atomic/set-mailbox-audit_log_age_limit_to_zero.json", 1,
         "jsonl"},
        {"otrf-security-datasets/m365-atomic/set_mailboxauditbypassassociation.json", 1, "jsonl"},
        {"otrf-security-datasets/m365-atomic/unified_auditlog_ingestion_stopped.json", 1, "jsonl"},
        {"azure-sentinel-training-lab/office_activity.csv", 266, "csv-loganalytics"},
        {"azure-sentinel-training-lab/office_activity_inbox_rule.csv", 2, "csv-loganalytics"},
        {"azure-sentinel-training-lab/sign-in_adelete.csv", 56, "csv-loganalytics"},
        {"azure-sentinel-training-lab/disable_accounts.csv", 4, "csv-loganalytics"},
        {"azure-sentinel-training-lab/AuditLogs_Hunting.csv", 5, "csv-loganalytics"},
        {"azure-sentinel-training-lab/signinLogs.csv", 1, "csv-loganalytics"},
        {"elastic-integrations-fixtures/test-signinlogs-sample.log", 2, "jsonl"},
        {"elastic-integrations-fixtures/test-signinlogs-raw.log", 5, "jsonl"},
        {"elastic-integrations-fixtures/test-audit-logs-sample.log", 3, "jsonl"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        char path[512];
        snprintf(path, sizeof path, SHARED "%s", files[i].path);
        struct in in = {path, NULL, 0};
        for (size_t chunk = 0; chunk <= 7; chunk += 7) {
            struct run r;
            run_opts(&in, 1, chunk, 0, 0, D_FULL, &r);
            CHECK_INT(r.st, MH_OK);
            CHECK_INT(r.nrecs, files[i].records);
            CHECK_INT(r.stats.records_skipped, 0);
            CHECK_INT(r.stats.files_failed, 0);
            CHECK_STREQ(r.formats[0], files[i].format);
            if (r.nrecs != files[i].records || r.nbad) fprintf(stderr, "%s:\n%s", path, r.bads);
            run_free(&r);
        }
    }
}

int main(void)
{
    static const struct mh_test T[] = {
        {"jsonl_positions", t_jsonl_positions},
        {"jsonl_broken_line", t_jsonl_broken_line},
        {"json_array", t_json_array},
        {"graph_and_records", t_graph_and_records},
        {"purview", t_purview},
        {"loganalytics", t_loganalytics},
        {"message_trace_encodings", t_message_trace_encodings},
        {"invalid_utf16", t_invalid_utf16},
        {"csv_bad_rows", t_csv_bad_rows},
        {"compression", t_compression},
        {"zip_bomb", t_zip_bomb},
        {"directories", t_directories},
        {"file_keys", t_file_keys},
        {"not_a_log", t_not_a_log},
        {"directory_depth", t_directory_depth},
        {"empty_and_blank", t_empty_and_blank},
        {"record_limit", t_record_limit},
        {"chunk_independence", t_chunk_independence},
        {"batches_stay_valid", t_batches_stay_valid},
        {"alloc_failures", t_alloc_failures},
        {"shared_corpus", t_shared_corpus},
    };
    return MH_TEST_RUN(T);
}
