/*
 * ingest/detect.c -- compression, encoding and CSV layout detection
 *
 * Pipeline: ingest; called by reader.c on stream prefixes and by csv.c's
 * caller on the header row. See detect.h for the rules; docs/formats.md for
 * the user-facing description.
 *
 * Unsupported containers (zip, 7z, xz, bzip2) are named from their magic so
 * the reader can say "extract it first" instead of failing on binary text.
 *
 * CSV layouts (first match wins; names compare case-insensitively):
 *   csv-purview4   exactly {CreationDate, UserIds, Operations|RecordType, AuditData}
 *   csv-purview8   exactly the 8 columns of the new Purview audit export
 *   csv-ual-ps     AuditData + CreationDate + >= 2 of the Search-UnifiedAuditLog
 *                  object properties (RunspaceId, ResultIndex, ResultCount,
 *                  Identity, IsValid, ObjectState)
 *   csv-trace-extended  date_time_utc, client_ip, event_id, network_message_id,
 *                  recipient_address, sender_address
 *   csv-trace-summary   origin_timestamp_utc, sender_address, recipient_status,
 *                  network_message_id
 *   csv-trace      MessageId, Received, SenderAddress, RecipientAddress
 *   csv-loganalytics    a Type or SourceSystem column, TenantId + TimeGenerated,
 *                  or any column name that had a " [UTC]"-style unit suffix
 *   csv            any other header that passes the plausibility check
 *
 * Stateless and thread-safe.
 */
#include "ingest/detect.h"

#include <string.h>

#include "mailhound/limits.h"

static const char *const format_names[MH_FMT__COUNT] = {
    [MH_FMT_UNKNOWN] = "unknown",
    [MH_FMT_JSONL] = "jsonl",
    [MH_FMT_JSON_ARRAY] = "json-array",
    [MH_FMT_GRAPH_PAGE] = "graph-page",
    [MH_FMT_AZURE_RECORDS] = "azure-records",
    [MH_FMT_CSV_PURVIEW4] = "csv-purview4",
    [MH_FMT_CSV_PURVIEW8] = "csv-purview8",
    [MH_FMT_CSV_UAL_PS] = "csv-ual-ps",
    [MH_FMT_CSV_LOGANALYTICS] = "csv-loganalytics",
    [MH_FMT_CSV_TRACE] = "csv-trace",
    [MH_FMT_CSV_TRACE_SUMMARY] = "csv-trace-summary",
    [MH_FMT_CSV_TRACE_EXTENDED] = "csv-trace-extended",
    [MH_FMT_CSV_GENERIC] = "csv",
};

const char *mh_format_name(enum mh_format f)
{
    if ((unsigned)f >= MH_FMT__COUNT) return "unknown";
    return format_names[f];
}

const char *mh_compression_name(enum mh_compression c)
{
    switch (c) {
    case MH_COMP_GZIP:
        return "gzip";
    case MH_COMP_ZSTD:
        return "zstd";
    default:
        return "none";
    }
}

const char *mh_encoding_name(enum mh_encoding e)
{
    switch (e) {
    case MH_ENC_UTF16LE:
        return "utf-16le";
    case MH_ENC_UTF16BE:
        return "utf-16be";
    default:
        return "utf-8";
    }
}

enum mh_compression mh_detect_compression(const void *p, size_t n)
{
    const unsigned char *b = p;
    if (n >= 2 && b[0] == 0x1F && b[1] == 0x8B) return MH_COMP_GZIP;
    if (n >= 4 && b[0] == 0x28 && b[1] == 0xB5 && b[2] == 0x2F && b[3] == 0xFD) return MH_COMP_ZSTD;
    return MH_COMP_NONE;
}

const char *mh_detect_unsupported(const void *p, size_t n)
{
    static const struct {
        const char *magic;
        size_t len;
        const char *name;
    } m[] = {
        {"PK\x03\x04", 4, "zip archive"},
        {"7z\xBC\xAF\x27\x1C", 6, "7z archive"},
        {"\xFD"
         "7zXZ\x00",
         6, "xz stream"},
    };
    for (size_t i = 0; i < sizeof m / sizeof m[0]; i++)
        if (n >= m[i].len && memcmp(p, m[i].magic, m[i].len) == 0) return m[i].name;
    const unsigned char *b = p;
    if (n >= 4 && memcmp(b, "BZh", 3) == 0 && b[3] >= '1' && b[3] <= '9') return "bzip2 stream";
    return NULL;
}

/* UTF-16LE without BOM: the first line (or the whole prefix when it has no
 * line end) is ASCII with a 00 after every byte, at least two characters. */
static bool looks_utf16le(const unsigned char *b, size_t n)
{
    size_t pairs = 0;
    for (size_t i = 0; i + 1 < n; i += 2) {
        if (b[i + 1] != 0 || b[i] == 0 || b[i] >= 0x80) return false;
        pairs++;
        if (b[i] == '\n') break;
    }
    return pairs >= 2;
}

bool mh_detect_encoding(const void *p, size_t n, bool eof, enum mh_encoding *enc, size_t *bom)
{
    const unsigned char *b = p;
    if (n >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF) {
        *enc = MH_ENC_UTF8;
        *bom = 3;
        return true;
    }
    if (n >= 2 && b[0] == 0xFF && b[1] == 0xFE) {
        *enc = MH_ENC_UTF16LE;
        *bom = 2;
        return true;
    }
    if (n >= 2 && b[0] == 0xFE && b[1] == 0xFF) {
        *enc = MH_ENC_UTF16BE;
        *bom = 2;
        return true;
    }
    if (!eof && n < MH_DETECT_PREFIX_BYTES) return false;
    *bom = 0;
    *enc = looks_utf16le(b, n) ? MH_ENC_UTF16LE : MH_ENC_UTF8;
    return true;
}

/* ---- CSV layouts ---- */

static bool has(const struct mh_slice *names, size_t n, const char *want)
{
    struct mh_slice w = mh_slice_cstr(want);
    for (size_t i = 0; i < n; i++)
        if (mh_slice_eq_nocase(names[i], w)) return true;
    return false;
}

static bool has_all(const struct mh_slice *names, size_t n, const char *const *want, size_t nwant)
{
    for (size_t i = 0; i < nwant; i++)
        if (!has(names, n, want[i])) return false;
    return true;
}

static size_t count_of(const struct mh_slice *names, size_t n, const char *const *want,
                       size_t nwant)
{
    size_t k = 0;
    for (size_t i = 0; i < nwant; i++) k += has(names, n, want[i]);
    return k;
}

#define NELEM(a) (sizeof(a) / sizeof((a)[0]))

/* A plausible column name: non-empty, bounded, no control bytes, and not a
 * sentence (a README line with a comma would otherwise pass as a header). */
static bool plausible_name(struct mh_slice s)
{
    if (s.len == 0 || s.len > MH_MAX_CSV_NAME_BYTES) return false;
    size_t spaces = 0;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7F) return false;
        if (c == ' ') spaces++;
    }
    return spaces <= 4;
}

enum mh_format mh_detect_csv_layout(const struct mh_slice *names, size_t n, bool unit_suffix)
{
    static const char *const p4a[] = {"CreationDate", "UserIds", "Operations", "AuditData"};
    static const char *const p4b[] = {"CreationDate", "UserIds", "RecordType", "AuditData"};
    static const char *const p8[] = {
        "RecordId", "CreationDate", "RecordType",           "Operation",
        "UserId",   "AuditData",    "AssociatedAdminUnits", "AssociatedAdminUnitsNames"};
    static const char *const ps_core[] = {"AuditData", "CreationDate"};
    static const char *const ps_props[] = {"RunspaceId", "ResultIndex", "ResultCount",
                                           "Identity",   "IsValid",     "ObjectState"};
    static const char *const ext[] = {"date_time_utc",      "client_ip",         "event_id",
                                      "network_message_id", "recipient_address", "sender_address"};
    static const char *const sum[] = {"origin_timestamp_utc", "sender_address", "recipient_status",
                                      "network_message_id"};
    static const char *const trace[] = {"MessageId", "Received", "SenderAddress",
                                        "RecipientAddress"};

    if (n < 2) return MH_FMT_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        if (!plausible_name(names[i])) return MH_FMT_UNKNOWN;

    if (n == 4 && (has_all(names, n, p4a, 4) || has_all(names, n, p4b, 4)))
        return MH_FMT_CSV_PURVIEW4;
    if (n == 8 && has_all(names, n, p8, 8)) return MH_FMT_CSV_PURVIEW8;
    if (has_all(names, n, ps_core, NELEM(ps_core)) &&
        count_of(names, n, ps_props, NELEM(ps_props)) >= 2)
        return MH_FMT_CSV_UAL_PS;
    if (has_all(names, n, ext, NELEM(ext))) return MH_FMT_CSV_TRACE_EXTENDED;
    if (has_all(names, n, sum, NELEM(sum))) return MH_FMT_CSV_TRACE_SUMMARY;
    if (has_all(names, n, trace, NELEM(trace))) return MH_FMT_CSV_TRACE;
    if (unit_suffix || has(names, n, "Type") || has(names, n, "SourceSystem") ||
        (has(names, n, "TenantId") && has(names, n, "TimeGenerated")))
        return MH_FMT_CSV_LOGANALYTICS;
    return MH_FMT_CSV_GENERIC;
}
