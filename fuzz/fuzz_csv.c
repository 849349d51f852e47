/*
 * fuzz/fuzz_csv.c -- the CSV row parser and the row -> JSON mapping on arbitrary bytes
 *
 * Input: byte 0 picks the piece size (1..32) the input is fed in, the rest
 * is the CSV text. Invariants checked:
 *   - the parser gives the same rows and bad rows fed whole or in pieces,
 *     with the window sliding as the reader slides it;
 *   - every row of the header's width maps to a valid JSON object (jansson),
 *     with no key twice;
 *   - the one-pass field escaper equals decode-then-mh_json_escape (differential);
 *   - no crash, no leak, no out-of-bounds read (ASan/UBSan).
 */
#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "base/jsonw.h"
#include "ingest/csv.h"

static void render(const char *in, size_t n, size_t piece, size_t max_record, struct mh_buf *out,
                   bool map)
{
    struct mh_csv c;
    struct mh_csv_map m;
    bool have_map = false;
    size_t have = 0;
    uint64_t keep = 0;
    if (mh_csv_init(&c, 0, max_record) != MH_OK) return;
    struct mh_split_item it;
    for (;;) {
        enum mh_csv_ev ev = mh_csv_next(&c, in + keep, keep, have - (size_t)keep, have == n, &it);
        if (ev == MH_CSV_END) break;
        if (ev == MH_CSV_NEED) {
            keep = mh_csv_keep(&c);
            have = have + piece > n ? n : have + piece;
            continue;
        }
        if (mh_buf_printf(out, "%d #%llu L%llu @%llu+%llu n=%zu %s\n", (int)ev,
                          (unsigned long long)it.number, (unsigned long long)it.line,
                          (unsigned long long)it.start, (unsigned long long)it.len, c.nfields,
                          ev == MH_CSV_BAD ? it.reason : "") != MH_OK)
            break;
        if (ev != MH_CSV_ROW || !map) continue;
        if (!have_map) {
            if (mh_csv_map_init(&m, in + keep, keep, c.fields, c.nfields) != MH_OK) break;
            have_map = true;
            continue;
        }
        /* fast escaping == decode then mh_json_escape, for every field */
        for (size_t f = 0; f < c.nfields; f++) {
            const char *fp = in + c.fields[f].start;
            size_t fl = (size_t)(c.fields[f].end - c.fields[f].start);
            struct mh_buf fast, text, slow;
            mh_buf_init(&fast, 0);
            mh_buf_init(&text, 0);
            mh_buf_init(&slow, 0);
            if (mh_csv_field_json(fp, fl, &fast) != MH_OK || mh_csv_field_text(fp, fl, &text) ||
                mh_json_escape(&slow, text.data ? text.data : "", text.len) != MH_OK)
                abort();
            if (fast.len != slow.len || (fast.len && memcmp(fast.data, slow.data, fast.len))) {
                fprintf(stderr, "field escaping differs for field of %zu bytes:", fl);
                for (size_t k = 0; k < fl; k++) fprintf(stderr, " %02x", (unsigned char)fp[k]);
                fprintf(stderr, "\n%s\n%s\n", fast.data, slow.data);
                abort();
            }
            mh_buf_fini(&fast);
            mh_buf_fini(&text);
            mh_buf_fini(&slow);
        }
        if (m.format == MH_FMT_UNKNOWN || c.nfields != m.ncols) continue;
        struct mh_buf json;
        mh_buf_init(&json, 0);
        if (mh_csv_map_row(&m, in + keep, keep, c.fields, c.nfields, &json) == MH_OK) {
            json_error_t e;
            json_t *v =
                json_loadb(json.data, json.len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &e);
            if (!v || !json_is_object(v)) {
                fprintf(stderr, "invalid JSON from a CSV row: %s\n%s\n", e.text, json.data);
                abort();
            }
            json_decref(v);
        }
        mh_buf_fini(&json);
    }
    if (have_map) mh_csv_map_fini(&m);
    mh_csv_fini(&c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 16)) return 0;
    size_t piece = (size_t)(data[0] % 32) + 1;
    size_t max_record = data[0] & 0x80 ? 64 : 0;
    const char *in = (const char *)data + 1;
    size_t n = size - 1;
    struct mh_buf a, b;
    mh_buf_init(&a, 0);
    mh_buf_init(&b, 0);
    render(in, n, n ? n : 1, max_record, &a, true);
    render(in, n, piece, max_record, &b, false);
    if (a.len != b.len || (a.len && memcmp(a.data, b.data, a.len) != 0)) {
        fprintf(stderr, "rows differ with piece %zu:\n--- whole\n%s--- pieces\n%s", piece,
                a.data ? a.data : "", b.data ? b.data : "");
        abort();
    }
    mh_buf_fini(&a);
    mh_buf_fini(&b);
    return 0;
}
