/*
 * fuzz/fuzz_detect.c -- the whole record reader over one in-memory input:
 * compression and encoding detection, decompression, UTF-16 decoding,
 * container detection, JSON splitting and CSV rows.
 *
 * Input: byte 0 picks the chunk size (1..16) and a small record limit; the
 * rest is the file. Invariants checked:
 *   - counts add up: records delivered == stats.records_read == sum of
 *     by_format; non-fatal reports == records_skipped; fatal reports ==
 *     files_failed <= files;
 *   - every record is non-empty, within the record limit, and a JSON
 *     record's json == raw and starts with '{' and ends with '}';
 *   - the default chunk size and the small one give the same records and
 *     reports when no file-level fault happened; with a fault (corrupt
 *     stream, ratio guard) the records of one run are a prefix of the other's;
 *   - no crash, no leak (ASan/UBSan, libFuzzer -detect_leaks).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/buf.h"
#include "ingest/reader.h"

struct counts {
    struct mh_buf *bads;
    uint64_t bad, fatal;
};

static void on_bad(void *ctx, const mh_error *e, bool fatal)
{
    struct counts *c = ctx;
    char line[1024];
    mh_error_format(e, line, sizeof line);
    if (fatal)
        c->fatal++;
    else
        c->bad++;
    if (!fatal && mh_buf_printf(c->bads, "%s\n", line) != MH_OK) abort();
}

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "invariant failed: %s\n", #cond);                                      \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

static uint64_t run(const uint8_t *p, size_t n, size_t chunk, size_t max_record,
                    struct mh_buf *recs, struct mh_buf *bads)
{
    struct counts c = {bads, 0, 0};
    struct mh_reader_opts o = {0};
    o.on_bad = on_bad;
    o.ctx = &c;
    o.chunk_bytes = chunk;
    o.max_record_bytes = max_record;
    o.batch_records = 3;
    mh_reader *r = NULL;
    CHECK(mh_reader_new(&o, &r) == MH_OK);
    CHECK(mh_reader_add_memory(r, "fuzz", p, n) == MH_OK);
    struct mh_batch b;
    mh_batch_init(&b);
    uint64_t delivered = 0;
    mh_status st;
    while ((st = mh_reader_fill(r, &b)) == MH_OK) {
        CHECK(b.n >= 1);
        for (size_t i = 0; i < b.n; i++) {
            const struct mh_record *x = &b.recs[i];
            CHECK(x->json_len >= 2 && x->json_len <= max_record);
            CHECK(x->format > MH_FMT_UNKNOWN && x->format < MH_FMT__COUNT);
            CHECK(x->json[0] == '{' && x->json[x->json_len - 1] == '}');
            if (x->format <= MH_FMT_AZURE_RECORDS)
                CHECK(x->raw == x->json && x->raw_len == x->json_len);
            CHECK(x->number >= 1 && x->line >= 1);
            CHECK(mh_buf_printf(recs, "#%llu L%llu @%llu %s %.*s\n", (unsigned long long)x->number,
                                (unsigned long long)x->line, (unsigned long long)x->offset,
                                mh_format_name((enum mh_format)x->format), (int)x->json_len,
                                x->json) == MH_OK);
            delivered++;
        }
    }
    CHECK(st == MH_EOF && b.n == 0);
    const struct mh_ingest_stats *s = mh_reader_stats(r);
    uint64_t sum = 0;
    for (int f = 0; f < MH_FMT__COUNT; f++) sum += s->by_format[f];
    CHECK(s->records_read == delivered && sum == delivered);
    CHECK(s->records_skipped == c.bad);
    CHECK(s->files_failed == c.fatal && s->files == 1 && c.fatal <= 1);
    CHECK(s->bytes_in <= n);
    mh_batch_fini(&b);
    mh_reader_free(r);
    return c.fatal;
}

static bool prefix(const struct mh_buf *a, const struct mh_buf *b)
{
    return a->len <= b->len && (a->len == 0 || memcmp(a->data, b->data, a->len) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1 || size > (1u << 16)) return 0;
    size_t chunk = (size_t)(data[0] & 15) + 1;
    size_t max_record = data[0] & 0x80 ? 256 : 1u << 20;
    struct mh_buf r1, b1, r2, b2;
    mh_buf_init(&r1, 0);
    mh_buf_init(&b1, 0);
    mh_buf_init(&r2, 0);
    mh_buf_init(&b2, 0);
    uint64_t f1 = run(data + 1, size - 1, 0, max_record, &r1, &b1);
    uint64_t f2 = run(data + 1, size - 1, chunk, max_record, &r2, &b2);
    if (!f1 && !f2) {
        if (r1.len != r2.len || (r1.len && memcmp(r1.data, r2.data, r1.len) != 0) ||
            b1.len != b2.len || (b1.len && memcmp(b1.data, b2.data, b1.len) != 0)) {
            fprintf(stderr, "chunk %zu differs:\n--- default\n%s%s--- chunked\n%s%s", chunk,
                    r1.data ? r1.data : "", b1.data ? b1.data : "", r2.data ? r2.data : "",
                    b2.data ? b2.data : "");
            abort();
        }
    } else {
        CHECK(prefix(&r1, &r2) || prefix(&r2, &r1));
    }
    mh_buf_fini(&r1);
    mh_buf_fini(&b1);
    mh_buf_fini(&r2);
    mh_buf_fini(&b2);
    return 0;
}
