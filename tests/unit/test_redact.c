/*
 * tests/unit/test_redact.c -- notify/redact.c: Bcc removal by splicing
 *
 * Hand-written cases (the header comment's example with exact offsets,
 * folded fields, Bcc first/last/alone, no final line break, continuation
 * lines of other fields that merely contain "Bcc:", bodies that contain
 * "Bcc:" lines) and a property test: thousands of generated messages with
 * Bcc-like fields in random positions, folded with spaces or tabs, LF, CRLF
 * or mixed line ends, inside multipart parts, message/rfc822 and
 * multipart/digest at several depths, and base64-encoded embedded messages
 * (opaque). The generator knows which bytes are Bcc fields, so the oracle is
 * exact: after redaction the message must equal the generated message
 * without those bytes -- every other byte unchanged -- and a rescan of the
 * result must find no Bcc field.
 */
#include <stdlib.h>

#include "base/alloc.h"
#include "mailhound/limits.h"
#include "mh_test.h"
#include "notify/redact.h"

static int redact_eq(const char *in, const char *expect, size_t fields)
{
    struct mh_redact r;
    struct mh_buf out;
    mh_redact_init(&r);
    mh_buf_init(&out, 0);
    int ok = mh_redact_scan(&r, in, strlen(in), NULL) == MH_OK && r.n == fields &&
             mh_redact_copy(&r, in, strlen(in), &out) == MH_OK && out.len == strlen(expect) &&
             memcmp(out.data ? out.data : "", expect, out.len) == 0;
    if (!ok)
        fprintf(stderr, "in:     [%s]\ngot:    [%.*s] (%zu fields)\nexpect: [%s]\n", in, (int)out.len,
                out.data ? out.data : "", r.n, expect);
    mh_buf_fini(&out);
    mh_redact_fini(&r);
    return ok;
}

static void t_cases(void)
{
    /* the example from redact.h, with offsets */
    const char *m = "From: a@x\r\nBcc: b@y,\r\n c@z\r\nTo: d@w\r\n\r\nhi";
    struct mh_redact r;
    mh_redact_init(&r);
    CHECK_INT(mh_redact_scan(&r, m, strlen(m), NULL), MH_OK);
    CHECK_INT(r.n, 1);
    CHECK_INT(r.fields[0].off, 11);
    CHECK_INT(r.fields[0].len, 17);
    CHECK_STREQ(r.fields[0].name, "Bcc");
    CHECK_INT(r.fields[0].depth, 0);
    char copy[128];
    snprintf(copy, sizeof copy, "%s", m);
    size_t n = mh_redact_apply(&r, copy, strlen(copy));
    CHECK_MEM(copy, n, "From: a@x\r\nTo: d@w\r\n\r\nhi");
    mh_redact_fini(&r);

    CHECK(redact_eq("Bcc: x\nFrom: a\n\nbody\n", "From: a\n\nbody\n", 1));
    CHECK(redact_eq("From: a\nBcc: x", "From: a\n", 1));             /* last, no line end */
    CHECK(redact_eq("Bcc: x", "", 1));                                /* alone */
    CHECK(redact_eq("Bcc:\nTo: a\n\n", "To: a\n\n", 1));              /* empty value */
    CHECK(redact_eq("BCC : x\n\tfolded\n  again\nTo: a\n", "To: a\n", 1));
    CHECK(redact_eq("Resent-Bcc: x\nX-bcc: y\nX-Original-BCC: z\nSubject: s\n\n",
                    "Subject: s\n\n", 3));
    CHECK(redact_eq("Subject: about\n Bcc: not a field\nTo: a\n\n",
                    "Subject: about\n Bcc: not a field\nTo: a\n\n", 0));
    CHECK(redact_eq("To: a\n\nBcc: in the body\n", "To: a\n\nBcc: in the body\n", 0));
    CHECK(redact_eq("From MAILER-DAEMON Mon Jan  1 00:00:00 2001\nBcc: x\nTo: a\n\n",
                    "From MAILER-DAEMON Mon Jan  1 00:00:00 2001\nTo: a\n\n", 1));
    CHECK(redact_eq("To: a\njunk line\nBcc: after junk\n\n", "To: a\njunk line\n\n", 1));
    CHECK(redact_eq("", "", 0));
    CHECK(redact_eq("\n\nBcc: body\n", "\n\nBcc: body\n", 0));
    CHECK(redact_eq("Subject: bcc\nBC: x\nBc c: y\n\n", "Subject: bcc\nBC: x\nBc c: y\n\n", 0));
    /* embedded message, boundary quoted, part headers */
    CHECK(redact_eq("Content-Type: multipart/mixed; boundary=\"xx yy\"\nBcc: top\n\npre\n"
                    "--xx yy\nContent-Type: message/rfc822\n\nFrom: in\nBcc: inner\n\ninner body\n"
                    "--xx yy--\nBcc: epilogue\n",
                    "Content-Type: multipart/mixed; boundary=\"xx yy\"\n\npre\n"
                    "--xx yy\nContent-Type: message/rfc822\n\nFrom: in\n\ninner body\n"
                    "--xx yy--\nBcc: epilogue\n",
                    2));
    /* folded Content-Type with the boundary on a continuation line */
    CHECK(redact_eq("Content-Type: multipart/mixed;\n\tboundary=b1\n\n--b1\nBcc: part\n\nx\n--b1--\n",
                    "Content-Type: multipart/mixed;\n\tboundary=b1\n\n--b1\n\nx\n--b1--\n", 1));
    /* text/rfc822-headers in a delivery report */
    CHECK(redact_eq("Content-Type: multipart/report; boundary=r\n\n--r\n"
                    "Content-Type: text/rfc822-headers\n\nFrom: o\nBcc: leaked\nTo: t\n--r--\n",
                    "Content-Type: multipart/report; boundary=r\n\n--r\n"
                    "Content-Type: text/rfc822-headers\n\nFrom: o\nTo: t\n--r--\n",
                    1));
    /* base64 embedded message: opaque, untouched */
    const char *b64 = "Content-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
                      "QmNjOiB4CgpoaQo=\n";
    mh_redact_init(&r);
    CHECK_INT(mh_redact_scan(&r, b64, strlen(b64), NULL), MH_OK);
    CHECK_INT(r.n, 0);
    CHECK_INT(r.opaque, 1);
    mh_redact_fini(&r);
    CHECK(mh_redact_is_bcc_name("x-BcC-y", 7) && !mh_redact_is_bcc_name("bc", 2));

    /* names: distinct, in first-seen order */
    const char *names = "Bcc: a\nX-bcc: b\nBcc: c\n\n";
    struct mh_buf nb;
    mh_buf_init(&nb, 0);
    mh_redact_init(&r);
    CHECK_INT(mh_redact_scan(&r, names, strlen(names), NULL), MH_OK);
    CHECK_INT(mh_redact_names(&r, &nb), MH_OK);
    CHECK_STREQ(nb.data, "Bcc,X-bcc");
    mh_redact_fini(&r);
    mh_buf_fini(&nb);
}

static void t_depth_limit(void)
{
    /* message/rfc822 nested beyond MH_MAX_MIME_DEPTH: counted opaque, no crash */
    struct mh_buf b;
    mh_buf_init(&b, 0);
    for (int i = 0; i < 60; i++)
        if (mh_buf_puts(&b, "Content-Type: message/rfc822\nBcc: x\n\n") != MH_OK) break;
    struct mh_redact r;
    mh_redact_init(&r);
    CHECK_INT(mh_redact_scan(&r, b.data, b.len, NULL), MH_OK);
    CHECK_INT(r.n, MH_MAX_MIME_DEPTH + 1);
    CHECK_INT(r.opaque, 1);
    mh_redact_fini(&r);
    mh_buf_fini(&b);
}

/* ---- the property test ---- */

static uint64_t rng = 88172645463325252ull;

static uint32_t rnd(uint32_t n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (uint32_t)(rng % n);
}

struct gen {
    struct mh_buf all, expect;
    int eol_mode; /* 0 LF, 1 CRLF, 2 mixed */
    size_t bcc_fields;
    size_t opaque;
    int ok;
};

static void put(struct gen *g, int keep, const char *s)
{
    if (mh_buf_puts(&g->all, s) != MH_OK) g->ok = 0;
    if (keep && mh_buf_puts(&g->expect, s) != MH_OK) g->ok = 0;
}

static const char *eol(struct gen *g)
{
    int crlf = g->eol_mode == 1 || (g->eol_mode == 2 && rnd(2));
    return crlf ? "\r\n" : "\n";
}

/* One header line (name: value) + random folding, kept or not. */
static void field(struct gen *g, int keep, const char *name, const char *value)
{
    char line[256];
    snprintf(line, sizeof line, "%s%s:%s%s", name, rnd(8) ? "" : " ", rnd(5) ? " " : "", value);
    put(g, keep, line);
    put(g, keep, eol(g));
    /* Content-* fields are not folded with filler: it would change their meaning. */
    int folds = (rnd(4) == 0 && strncmp(name, "Content-", 8) != 0) ? (int)rnd(3) + 1 : 0;
    for (int i = 0; i < folds; i++) {
        put(g, keep, rnd(2) ? " " : "\t");
        put(g, keep, i == 0 && !strcmp(value, "x") ? "Bcc: looks like a field" : "more, c@z.example");
        put(g, keep, eol(g));
    }
}

static void message(struct gen *g, int depth);

static void headers(struct gen *g, const char *ctype, const char *extra_field)
{
    static const char *keep_names[] = {"From", "To", "Cc", "Subject", "Reply-To", "Message-ID",
                                       "X-Mailer", "Received", "BC", "X-Spam-Status"};
    static const char *keep_values[] = {"a@x.example", "hello bcc: world", "<id@x>", "x",
                                        "from a by b; Mon, 1 Jan 2024 00:00:00 +0000", ""};
    static const char *bcc_names[] = {"Bcc", "BCC", "bcc", "Resent-Bcc", "X-bcc", "X-Original-BCC"};
    int nf = (int)rnd(7) + 1;
    int ct_at = ctype ? (int)rnd((uint32_t)nf + 1) : -1;
    for (int i = 0; i <= nf; i++) {
        if (i == ct_at) {
            field(g, 1, "Content-Type", ctype);
            if (extra_field) field(g, 1, "Content-Transfer-Encoding", extra_field);
        }
        if (i == nf) break;
        if (rnd(3) == 0) {
            field(g, 0, bcc_names[rnd(6)], rnd(4) ? "hidden@secret.example" : "");
            g->bcc_fields++;
        } else {
            field(g, 1, keep_names[rnd(10)], keep_values[rnd(6)]);
        }
        if (rnd(20) == 0) { /* a junk line inside the block */
            put(g, 1, "junk without colon");
            put(g, 1, eol(g));
        }
    }
    put(g, 1, eol(g));
}

static void body_text(struct gen *g)
{
    int lines = (int)rnd(4);
    for (int i = 0; i < lines; i++) {
        put(g, 1, rnd(3) == 0 ? "Bcc: this is body text, not a header" : "some text, a=b; c");
        put(g, 1, eol(g));
    }
}

static void message(struct gen *g, int depth)
{
    uint32_t shape = depth >= 3 ? 0 : rnd(6);
    char ctype[128], b[64];
    snprintf(b, sizeof b, "=_b%d_%u", depth, rnd(1000000));
    switch (shape) {
    case 0: /* plain */
        headers(g, rnd(2) ? "text/plain; charset=utf-8" : NULL, NULL);
        body_text(g);
        break;
    case 1:
    case 2: { /* multipart/mixed with text and embedded messages */
        snprintf(ctype, sizeof ctype, "multipart/mixed; boundary=%s%s%s", rnd(2) ? "\"" : "", b,
                 "");
        if (ctype[strlen("multipart/mixed; boundary=")] == '"') strncat(ctype, "\"", sizeof ctype - strlen(ctype) - 1);
        headers(g, ctype, NULL);
        put(g, 1, "preamble");
        put(g, 1, eol(g));
        int parts = (int)rnd(3) + 1;
        for (int i = 0; i < parts; i++) {
            put(g, 1, "--");
            put(g, 1, b);
            put(g, 1, eol(g));
            if (rnd(2)) {
                headers(g, "message/rfc822", rnd(2) ? "7bit" : NULL);
                message(g, depth + 1);
            } else {
                headers(g, "text/plain", NULL);
                body_text(g);
            }
        }
        put(g, 1, "--");
        put(g, 1, b);
        put(g, 1, "--");
        put(g, 1, eol(g));
        put(g, 1, "Bcc: epilogue text");
        put(g, 1, eol(g));
        break;
    }
    case 3: /* message/rfc822 at the top */
        headers(g, "message/rfc822", NULL);
        message(g, depth + 1);
        break;
    case 4: { /* multipart/digest: parts default to message/rfc822 */
        snprintf(ctype, sizeof ctype, "multipart/digest; boundary=%s", b);
        headers(g, ctype, NULL);
        int parts = (int)rnd(2) + 1;
        for (int i = 0; i < parts; i++) {
            put(g, 1, "--");
            put(g, 1, b);
            put(g, 1, eol(g));
            put(g, 1, eol(g)); /* no part headers */
            message(g, depth + 1);
        }
        put(g, 1, "--");
        put(g, 1, b);
        put(g, 1, "--");
        put(g, 1, eol(g));
        break;
    }
    default: /* base64 embedded message: opaque */
        headers(g, "message/rfc822", "base64");
        put(g, 1, "QmNjOiBoaWRkZW5Ac2VjcmV0LmV4YW1wbGUKCmhp");
        put(g, 1, eol(g));
        g->opaque++;
        break;
    }
}

static void t_property(void)
{
    int failures = 0, total_fields = 0;
    struct mh_redact r, again;
    struct mh_buf out;
    mh_redact_init(&r);
    mh_redact_init(&again);
    mh_buf_init(&out, 0);
    for (int i = 0; i < 3000; i++) {
        struct gen g;
        mh_buf_init(&g.all, 0);
        mh_buf_init(&g.expect, 0);
        g.eol_mode = (int)rnd(3);
        g.bcc_fields = 0;
        g.opaque = 0;
        g.ok = 1;
        if (rnd(10) == 0) put(&g, 1, "From sender@example.com Mon Jan  1 00:00:00 2024\n");
        message(&g, 0);
        if (rnd(4) == 0 && g.all.len) { /* drop the final line end sometimes */
            size_t cut = g.all.data[g.all.len - 1] == '\n' ? 1 : 0;
            if (cut && g.expect.len && g.expect.data[g.expect.len - 1] == '\n' &&
                g.expect.len <= g.all.len) {
                /* only when the last line is kept (then both end alike) */
                g.all.len--;
                g.expect.len--;
                if (g.all.len && g.all.data[g.all.len - 1] == '\r' && g.expect.len &&
                    g.expect.data[g.expect.len - 1] == '\r') {
                    g.all.len--;
                    g.expect.len--;
                }
            }
        }
        int ok = g.ok;
        mh_buf_clear(&out);
        ok = ok && mh_redact_scan(&r, g.all.data, g.all.len, NULL) == MH_OK;
        ok = ok && r.n == g.bcc_fields && r.opaque == g.opaque;
        ok = ok && r.removed_bytes == g.all.len - g.expect.len;
        ok = ok && mh_redact_copy(&r, g.all.data, g.all.len, &out) == MH_OK;
        ok = ok && out.len == g.expect.len && memcmp(out.data ? out.data : "", g.expect.data ? g.expect.data : "", out.len) == 0;
        for (size_t k = 0; ok && k < r.n; k++)
            ok = mh_redact_is_bcc_name(r.fields[k].name, strlen(r.fields[k].name));
        /* in place gives the same bytes; a rescan finds nothing left */
        if (ok) {
            size_t nl = mh_redact_apply(&r, g.all.data, g.all.len);
            ok = nl == g.expect.len && memcmp(g.all.data, g.expect.data ? g.expect.data : "", nl) == 0;
            ok = ok && mh_redact_scan(&again, g.all.data, nl, NULL) == MH_OK && again.n == 0;
        }
        total_fields += (int)g.bcc_fields;
        if (!ok && failures++ < 3)
            fprintf(stderr, "message %d: %zu fields expected, %zu found, opaque %zu/%zu\n---\n%.*s\n---\n", i,
                    g.bcc_fields, r.n, g.opaque, r.opaque, (int)(g.all.len > 3000 ? 3000 : g.all.len),
                    g.all.data);
        mh_buf_fini(&g.all);
        mh_buf_fini(&g.expect);
    }
    CHECK_INT(failures, 0);
    CHECK(total_fields > 3000);
    fprintf(stderr, "redaction property: 3000 messages, %d Bcc fields\n", total_fields);
    mh_buf_fini(&out);
    mh_redact_fini(&again);
    mh_redact_fini(&r);
}

static void t_alloc_failures(void)
{
    const char *m = "Bcc: a\nX-bcc: b\nResent-Bcc: c\nTo: d\n\n";
    int enomem = 0, k;
    for (k = 0; k < 100; k++) {
        struct mh_redact r;
        mh_redact_init(&r);
        mh_alloc_fail_after(k);
        mh_status st = mh_redact_scan(&r, m, strlen(m), NULL);
        mh_alloc_fail_after(-1);
        if (st == MH_ENOMEM) {
            enomem++;
            CHECK_INT(r.n, 0);
        } else {
            CHECK_INT(st, MH_OK);
            CHECK_INT(r.n, 3);
            mh_redact_fini(&r);
            break;
        }
        mh_redact_fini(&r);
    }
    CHECK(enomem >= 2);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"cases", t_cases},
        {"depth_limit", t_depth_limit},
        {"property", t_property},
        {"alloc_failures", t_alloc_failures},
    };
    return MH_TEST_RUN(T);
}
