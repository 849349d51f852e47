/*
 * fuzz/fuzz_mail.c -- libFuzzer target for the mail reader (ingest/mailstore.c, ingest/mime.c)
 *
 * The input is indexed as one in-memory mail file (mbox when it starts with
 * "From ", else one message, else "not mail"); every location is then read
 * back (raw and with From_ quoting undone) and walked by the MIME walker.
 * Checked invariants: locations lie inside the input, in order, without
 * overlap; the raw read returns exactly those bytes; every message has a
 * normalized <...> id; every address is non-empty, NUL-free; every fragment
 * with data is valid UTF-8 within MH_MAX_FRAGMENT_BYTES; fragment kinds are
 * known and part paths non-empty. The header helpers (addresses, date, RFC
 * 2047) also run on the input's first line.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "ingest/mailstore.h"
#include "ingest/mime.h"
#include "mailhound/limits.h"

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static mh_status on_frag(void *ctx, const struct mh_mime_fragment *f)
{
    (void)ctx;
    ASSERT(f->kind >= MH_FRAG_HEADERS && f->kind <= MH_FRAG_SKIPPED);
    ASSERT(f->part && f->part[0]);
    ASSERT(f->content_type);
    if (f->data) {
        ASSERT(f->len <= (size_t)MH_MAX_FRAGMENT_BYTES * 3);
        ASSERT(mh_utf8_valid(f->data, f->len));
    } else {
        ASSERT(f->len == 0);
    }
    return MH_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static struct mh_mime_walker *w;
    mh_error err;
    if (!w && mh_mime_walker_new(&w, &err)) return 0;
    mh_mailstore *s = NULL;
    if (mh_mailstore_new(NULL, &s, &err)) return 0;
    if (mh_mailstore_add_memory(s, "fuzz.mbox", data, size, &err) == MH_OK) {
        struct mh_buf raw, content;
        mh_buf_init(&raw, (size_t)MH_MAX_MESSAGE_BYTES + 16);
        mh_buf_init(&content, (size_t)MH_MAX_MESSAGE_BYTES + 16);
        uint64_t prev_end = 0;
        for (size_t i = 0; i < mh_mailstore_nlocs(s); i++) {
            const struct mh_mail_loc *l = mh_mailstore_loc(s, i);
            ASSERT(l->marker <= l->start && l->start <= l->end && l->end <= size);
            ASSERT(i == 0 || l->marker >= prev_end);
            prev_end = l->end;
            const struct mh_mail_msg *m = mh_mailstore_msg(s, l->msg);
            ASSERT(m && m->message_id[0] == '<' && m->message_id[strlen(m->message_id) - 1] == '>');
            for (uint32_t k = 0; k < m->naddrs; k++) ASSERT(m->addrs[k].addr[0]);
            ASSERT(mh_mailstore_read(s, l, false, &raw, &err) == MH_OK);
            ASSERT(raw.len == l->end - l->start);
            ASSERT(raw.len == 0 || memcmp(raw.data, data + l->start, raw.len) == 0);
            ASSERT(mh_mailstore_read(s, l, true, &content, &err) == MH_OK);
            ASSERT(content.len <= raw.len);
            struct mh_mime_stats st;
            mh_status rc = mh_mime_walk(w, content.data, content.len, on_frag, NULL, &st, &err);
            ASSERT(rc == MH_OK || rc == MH_EPARSE || rc == MH_ELIMIT);
        }
        mh_buf_fini(&raw);
        mh_buf_fini(&content);
    }
    mh_mailstore_free(s);

    /* header helpers on the first line */
    size_t n = 0;
    while (n < size && n < 4096 && data[n] != '\n') n++;
    struct mh_arena a;
    mh_arena_init(&a, 4096, 1u << 24);
    struct mh_mime_addr *list = NULL;
    size_t cnt = 0;
    mh_status rc = mh_mime_parse_addresses((const char *)data, n, &a, &list, &cnt, 1000);
    ASSERT(rc == MH_OK || rc == MH_ELIMIT || rc == MH_ENOMEM);
    for (size_t k = 0; k < cnt; k++) ASSERT(mh_utf8_valid(list[k].name, strlen(list[k].name)));
    mh_arena_fini(&a);
    mh_time t;
    (void)mh_mime_parse_date((const char *)data, n, &t);
    struct mh_buf dec;
    mh_buf_init(&dec, 1u << 20);
    if (mh_mime_decode_header((const char *)data, n, &dec) == MH_OK)
        ASSERT(mh_utf8_valid(dec.data ? dec.data : "", dec.len));
    mh_buf_fini(&dec);
    return 0;
}
