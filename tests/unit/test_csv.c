/*
 * tests/unit/test_csv.c -- ingest/csv.c: RFC 4180 rows, positions, the
 * row -> JSON mapping, and the CSV layout table of ingest/detect.c
 *
 * The row cases are a table: input -> rendered rows. A rendered row is
 * `#number Lline @offset [field|field|...]` with the fields decoded, or
 * `BAD #number Lline @offset reason`. Every case runs with the input cut in
 * pieces of 1, 2, 3, 5, 64 bytes and whole, the window sliding as the reader
 * slides it (bytes before mh_csv_keep() dropped), and must render the same.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "base/slice.h"
#include "ingest/csv.h"
#include "ingest/detect.h"
#include "mh_test.h"

/* Parse `in` fed in pieces of `piece` bytes (0 = whole); render into out. */
static void parse(const char *in, size_t piece, size_t max_record, struct mh_buf *out)
{
    size_t n = strlen(in), have = 0;
    struct mh_csv c;
    if (mh_csv_init(&c, 0, max_record) != MH_OK) return;
    struct mh_split_item it;
    uint64_t keep = 0;
    for (int guard = 0; guard < 100000; guard++) {
        bool eof = have == n;
        enum mh_csv_ev ev = mh_csv_next(&c, in + keep, keep, have - (size_t)keep, eof, &it);
        if (ev == MH_CSV_END) break;
        if (ev == MH_CSV_NEED) {
            keep = mh_csv_keep(&c);
            size_t step = piece ? piece : n;
            have = have + step > n ? n : have + step;
            continue;
        }
        if (ev == MH_CSV_BAD) {
            if (mh_buf_printf(out, "BAD #%llu L%llu @%llu %s\n", (unsigned long long)it.number,
                              (unsigned long long)it.line, (unsigned long long)it.start,
                              it.reason) != MH_OK)
                break;
            continue;
        }
        if (mh_buf_printf(out, "#%llu L%llu @%llu [", (unsigned long long)it.number,
                          (unsigned long long)it.line, (unsigned long long)it.start) != MH_OK)
            break;
        for (size_t i = 0; i < c.nfields; i++) {
            if (i && mh_buf_putc(out, '|') != MH_OK) break;
            if (mh_csv_field_text(in + c.fields[i].start,
                                  (size_t)(c.fields[i].end - c.fields[i].start), out) != MH_OK)
                break;
        }
        if (mh_buf_puts(out, "]\n") != MH_OK) break;
        /* the row span is the row text without its line end */
        if (it.len && in[it.start + it.len - 1] == '\n') CHECK(0);
    }
    mh_csv_fini(&c);
}

static void t_rows_table(void)
{
    static const struct {
        const char *in, *want;
    } cases[] = {
        {"a,b\n1,2\n", "#1 L1 @0 [a|b]\n#2 L2 @4 [1|2]\n"},
        {"a,b\r\n1,2\r\n", "#1 L1 @0 [a|b]\n#2 L2 @5 [1|2]\n"},
        {"a,b\n1,2", "#1 L1 @0 [a|b]\n#2 L2 @4 [1|2]\n"},     /* no final line end */
        {"a,b\r\n1,2\r", "#1 L1 @0 [a|b]\n#2 L2 @5 [1|2]\n"}, /* CR at EOF */
        {",\n,,\n", "#1 L1 @0 [|]\n#2 L2 @2 [||]\n"},         /* empty fields */
        {"\"a\",\"b,c\"\n", "#1 L1 @0 [a|b,c]\n"},            /* quoted comma */
        {"\"x \"\"y\"\"\",z\n", "#1 L1 @0 [x \"y\"|z]\n"},    /* doubled quotes */
        {"\"\"\"\",\"\"\n", "#1 L1 @0 [\"|]\n"},              /* """" and "" */
        {"\"l1\nl2\r\nl3\",x\ny,z\n", "#1 L1 @0 [l1\nl2\r\nl3|x]\n#2 L4 @14 [y|z]\n"},
        {"a,\"b\"\r\n\r\n\nc,d\n", "#1 L1 @0 [a|b]\n#2 L4 @10 [c|d]\n"}, /* blank lines skipped */
        {"ab\"c,d\n", "#1 L1 @0 [ab\"c|d]\n"},                           /* quote inside unquoted */
        {"\"ab\"c,d\n", "#1 L1 @0 [abc|d]\n"}, /* bytes after closing quote */
        {"a\rb,c\n", "#1 L1 @0 [a\rb|c]\n"},   /* lone CR is data */
        {" a , b \n", "#1 L1 @0 [ a | b ]\n"}, /* spaces kept */
        {"\xef\xbc\x8c,\xc3\xa9\n", "#1 L1 @0 [\xef\xbc\x8c|\xc3\xa9]\n"}, /* UTF-8 kept */
        {"a,b\n\"open,1\n2,3\n",
         "#1 L1 @0 [a|b]\nBAD #2 L2 @4 unterminated quoted field at end of input\n"
         "#3 L3 @12 [2|3]\n"},
        {"\"never closed", "BAD #1 L1 @0 unterminated quoted field at end of input\n"},
        {"", ""},
        {"\n\r\n", ""},
        {"x", "#1 L1 @0 [x]\n"},
        {"\"q\"", "#1 L1 @0 [q]\n"},
        {"\"q\"\r\n", "#1 L1 @0 [q]\n"},
    };
    static const size_t pieces[] = {0, 1, 2, 3, 5, 64};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        for (size_t p = 0; p < sizeof pieces / sizeof pieces[0]; p++) {
            struct mh_buf out;
            mh_buf_init(&out, 0);
            parse(cases[i].in, pieces[p], 0, &out);
            const char *got = out.data ? out.data : "";
            if (strcmp(got, cases[i].want) != 0)
                fprintf(stderr, "case %zu piece %zu\n got: %s\nwant: %s\n", i, pieces[p], got,
                        cases[i].want);
            CHECK_STREQ(got, cases[i].want);
            mh_buf_fini(&out);
        }
    }
}

static void t_row_limits(void)
{
    /* a row over the limit is reported once, scanned to its end, and skipped */
    const char *in = "a,b\n\"0123456789\n0123456789\n0123456789\",x\nc,d\n";
    static const size_t pieces[] = {0, 1, 4, 7};
    for (size_t p = 0; p < 4; p++) {
        struct mh_buf out;
        mh_buf_init(&out, 0);
        parse(in, pieces[p], 20, &out);
        CHECK_STREQ(out.data, "#1 L1 @0 [a|b]\nBAD #2 L2 @4 record too large\n#3 L5 @41 [c|d]\n");
        mh_buf_fini(&out);
    }
    /* more fields than MH_MAX_CSV_COLUMNS */
    size_t n = MH_MAX_CSV_COLUMNS + 2;
    char *wide = malloc(2 * n + 16);
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        wide[k++] = 'x';
        wide[k++] = i + 1 < n ? ',' : '\n';
    }
    memcpy(wide + k, "y\n", 3);
    struct mh_buf out;
    mh_buf_init(&out, 0);
    parse(wide, 0, 0, &out);
    CHECK(strncmp(out.data, "BAD #1 L1 @0 too many fields\n#2 L2 @", 36) == 0);
    mh_buf_fini(&out);
    free(wide);
}

/* Build a map from a header line and render one row as JSON. */
static void map_row(const char *header, const char *row, enum mh_format *fmt, struct mh_buf *json)
{
    char text[4096];
    snprintf(text, sizeof text, "%s\n%s\n", header, row);
    struct mh_csv c;
    struct mh_csv_map m;
    memset(&m, 0, sizeof m);
    if (mh_csv_init(&c, 0, 0) != MH_OK) return;
    struct mh_split_item it;
    size_t n = strlen(text);
    CHECK_INT(mh_csv_next(&c, text, 0, n, true, &it), MH_CSV_ROW);
    CHECK_INT(mh_csv_map_init(&m, text, 0, c.fields, c.nfields), MH_OK);
    *fmt = m.format;
    if (m.format != MH_FMT_UNKNOWN && mh_csv_next(&c, text, 0, n, true, &it) == MH_CSV_ROW) {
        CHECK_INT(c.nfields, m.ncols);
        CHECK_INT(mh_csv_map_row(&m, text, 0, c.fields, c.nfields, json), MH_OK);
    }
    mh_csv_map_fini(&m);
    mh_csv_fini(&c);
}

static void t_mapping(void)
{
    static const struct {
        const char *header, *row, *format, *json;
    } cases[] = {
        {"a,\"b [UTC]\",c", "1,,\"x \"\"y\"\"\"", "csv-loganalytics",
         "{\"a\":\"1\",\"c\":\"x \\\"y\\\"\"}"},
        {"a,b", "\"tab\there\",\"nl\r\nx\\\"", "csv",
         "{\"a\":\"tab\\there\",\"b\":\"nl\\r\\nx\\\\\"}"},
        {"a,a,A", "1,2,3", "csv", "{\"a\":\"1\",\"A\":\"3\"}"}, /* later duplicate dropped */
        {"\"Time Generated [UTC]\",x", "t,1", "csv-loganalytics",
         "{\"Time Generated\":\"t\",\"x\":\"1\"}"},
        {"Type,S_dynamic,S_string", "T,,{}", "csv-loganalytics", "{\"Type\":\"T\",\"S\":\"{}\"}"},
        {"Type,S_dynamic,S_string", "T,[1],{}", "csv-loganalytics",
         "{\"Type\":\"T\",\"S\":\"[1]\"}"},
        {"Type,S_string,S", "T,a,b", "csv-loganalytics",
         "{\"Type\":\"T\",\"S_string\":\"a\",\"S\":\"b\"}"},
        {"x_dynamic,y", "1,2", "csv", "{\"x_dynamic\":\"1\",\"y\":\"2\"}"}, /* not Log Analytics */
        {"k\"q,v", "1,2", "csv", "{\"k\\\"q\":\"1\",\"v\":\"2\"}"},
        {"a,b", ",", "csv", "{}"},
        {"a,b", "\"\",\"\"", "csv", "{}"},
        {"a,b", "\xc3\xa9,\xff", "csv", "{\"a\":\"\xc3\xa9\",\"b\":\"\xef\xbf\xbd\"}"},
        /* names that differ only in invalid UTF-8 escape alike: one key (fuzz/regress/csv) */
        {"a,\xf2\xb1,\xf2\xf2", "1,2,3", "csv", "{\"a\":\"1\",\"\xef\xbf\xbd\xef\xbf\xbd\":\"2\"}"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mh_buf json;
        mh_buf_init(&json, 0);
        enum mh_format f = MH_FMT_UNKNOWN;
        map_row(cases[i].header, cases[i].row, &f, &json);
        CHECK_STREQ(mh_format_name(f), cases[i].format);
        CHECK_STREQ(json.data ? json.data : "", cases[i].json);
        mh_buf_fini(&json);
    }
}

static void t_layouts(void)
{
    static const struct {
        const char *header, *format;
    } cases[] = {
        {"CreationDate,UserIds,Operations,AuditData", "csv-purview4"},
        {"creationdate,userids,operations,auditdata", "csv-purview4"},
        {"CreationDate,UserIds,RecordType,AuditData", "csv-purview4"},
        {"RecordId,CreationDate,RecordType,Operation,UserId,AuditData,AssociatedAdminUnits,"
         "AssociatedAdminUnitsNames",
         "csv-purview8"},
        {"RunspaceId,RecordType,CreationDate,UserIds,Operations,AuditData,ResultIndex,ResultCount,"
         "Identity,IsValid,ObjectState",
         "csv-ual-ps"},
        {"AuditData,ObjectState,CreationDate,Identity,Operations", "csv-ual-ps"},
        {"\"PSComputerName\",\"RunspaceId\",\"PSShowComputerName\",\"Organization\",\"MessageId\","
         "\"Received\",\"SenderAddress\",\"RecipientAddress\",\"Subject\",\"Status\",\"ToIP\","
         "\"FromIP\",\"Size\",\"MessageTraceId\",\"StartDate\",\"EndDate\",\"Index\"",
         "csv-trace"},
        {"Organization,MessageId,Received,SenderAddress,RecipientAddress,Subject,Status,ToIP,"
         "FromIP,"
         "Size,MessageTraceId",
         "csv-trace"},
        {"origin_timestamp_utc,sender_address,recipient_status,message_subject,total_bytes,"
         "message_id,network_message_id,original_client_ip,directionality,connector_id,"
         "delivery_priority",
         "csv-trace-summary"},
        {"date_time_utc,client_ip,client_hostname,server_ip,server_hostname,source_context,"
         "connector_id,source,event_id,internal_message_id,message_id,network_message_id,"
         "recipient_address,recipient_status,total_bytes,recipient_count,related_recipient_address,"
         "reference,message_subject,sender_address,return_path,message_info,directionality,"
         "tenant_id,original_client_ip,original_server_ip,custom_data",
         "csv-trace-extended"},
        {"TenantId,TimeGenerated [UTC],Operation", "csv-loganalytics"},
        {"StartTime [UTC],IPAddress", "csv-loganalytics"},
        {"OperationName,Type", "csv-loganalytics"},
        {"SourceSystem,OperationName,ResultType", "csv-loganalytics"},
        {"TenantId,TimeGenerated", "csv-loganalytics"},
        {"TenantId,Time", "csv"},
        {"foo,bar", "csv"},
        {"only", "unknown"},
        {"a,,b", "unknown"},
        {"This is a sentence with many words,and more", "unknown"},
        {"a\x01,b", "unknown"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mh_buf json;
        mh_buf_init(&json, 0);
        enum mh_format f = MH_FMT_UNKNOWN;
        map_row(cases[i].header, "", &f, &json);
        if (strcmp(mh_format_name(f), cases[i].format) != 0)
            fprintf(stderr, "header: %s\n", cases[i].header);
        CHECK_STREQ(mh_format_name(f), cases[i].format);
        mh_buf_fini(&json);
    }
}

static void t_detect_bytes(void)
{
    CHECK_INT(mh_detect_compression("\x1f\x8b\x08\x00", 4), MH_COMP_GZIP);
    CHECK_INT(mh_detect_compression("\x28\xb5\x2f\xfd", 4), MH_COMP_ZSTD);
    CHECK_INT(mh_detect_compression("\x28\xb5\x2f", 3), MH_COMP_NONE);
    CHECK_INT(mh_detect_compression("{\"a\"", 4), MH_COMP_NONE);
    static const struct {
        const char *p;
        size_t n;
        enum mh_encoding enc;
        size_t bom;
    } cases[] = {
        {"\xef\xbb\xbf{}", 5, MH_ENC_UTF8, 3},
        {"\xff\xfe{\0}\0", 6, MH_ENC_UTF16LE, 2},
        {"\xfe\xff\0{\0}", 6, MH_ENC_UTF16BE, 2},
        {"a\0,\0b\0\n\0", 8, MH_ENC_UTF16LE, 0},
        {"a\0,\0b\0", 6, MH_ENC_UTF16LE, 0},
        {"a\0", 2, MH_ENC_UTF8, 0}, /* one character is not enough to call it UTF-16 */
        {"a\0,\xe9", 4, MH_ENC_UTF8, 0},
        {"abc,def\n", 8, MH_ENC_UTF8, 0},
        {"", 0, MH_ENC_UTF8, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        enum mh_encoding e = MH_ENC_UTF8;
        size_t bom = 99;
        CHECK(mh_detect_encoding(cases[i].p, cases[i].n, true, &e, &bom));
        CHECK_INT(e, cases[i].enc);
        CHECK_INT(bom, cases[i].bom);
    }
    enum mh_encoding e;
    size_t bom;
    CHECK(!mh_detect_encoding("a\0b\0", 4, false, &e, &bom)); /* wants more before deciding */
    CHECK_STREQ(mh_encoding_name(MH_ENC_UTF16LE), "utf-16le");
    CHECK_STREQ(mh_compression_name(MH_COMP_ZSTD), "zstd");
    CHECK_STREQ(mh_format_name(MH_FMT_CSV_PURVIEW8), "csv-purview8");
    CHECK_STREQ(mh_format_name((enum mh_format)999), "unknown");
}

static void t_field_json(void)
{
    /* one-pass escaping == decode, then mh_json_escape */
    static const char *const fields[] = {
        "",
        "plain",
        "\"q\"",
        "\"a\"\"b\"",
        "\"open",
        "\"x\"tail\"",
        "a\"b",
        "\\back\\",
        "\"c\x01\x1f\x7f\"",
        "\"\r\n\t\b\f\"",
        "\xc3\xa9\"",
        "\"\xff\xfe\xc3\"",
        "\"\xed\xa0\x80\"",
        "\"\xf0\x9f\x98\x80\"\"\"",
        "\"\xd3\"\x9dx", /* the closing quote splits a UTF-8 sequence (fuzz/regress/csv) */
    };
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
        struct mh_buf fast, text, slow;
        mh_buf_init(&fast, 0);
        mh_buf_init(&text, 0);
        mh_buf_init(&slow, 0);
        size_t n = strlen(fields[i]);
        CHECK_INT(mh_csv_field_json(fields[i], n, &fast), MH_OK);
        CHECK_INT(mh_csv_field_text(fields[i], n, &text), MH_OK);
        CHECK_INT(mh_json_escape(&slow, text.data ? text.data : "", text.len), MH_OK);
        CHECK_STREQ(fast.data ? fast.data : "", slow.data ? slow.data : "");
        mh_buf_fini(&fast);
        mh_buf_fini(&text);
        mh_buf_fini(&slow);
    }
    /* a long cell crosses the 4096-byte reservation blocks */
    size_t n = 20000;
    char *big = malloc(n + 3);
    big[0] = '"';
    for (size_t i = 1; i <= n; i++) big[i] = "a\"\xc3\xa9\n"[i % 5];
    big[n + 1] = '"';
    big[n + 2] = '\0';
    struct mh_buf fast, text, slow;
    mh_buf_init(&fast, 0);
    mh_buf_init(&text, 0);
    mh_buf_init(&slow, 0);
    CHECK_INT(mh_csv_field_json(big, n + 2, &fast), MH_OK);
    CHECK_INT(mh_csv_field_text(big, n + 2, &text), MH_OK);
    CHECK_INT(mh_json_escape(&slow, text.data, text.len), MH_OK);
    CHECK(fast.len == slow.len && memcmp(fast.data, slow.data, fast.len) == 0);
    mh_buf_fini(&fast);
    mh_buf_fini(&text);
    mh_buf_fini(&slow);
    free(big);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"rows_table", t_rows_table},     {"row_limits", t_row_limits},
        {"mapping", t_mapping},           {"layouts", t_layouts},
        {"detect_bytes", t_detect_bytes}, {"field_json", t_field_json},
    };
    return MH_TEST_RUN(T);
}
