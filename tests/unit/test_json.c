/*
 * tests/unit/test_json.c -- ingest/json: RFC 8259 conformance, tape layout,
 * accessors, numbers, limits, allocation failure, SIMD vs scalar scanner.
 *
 * The conformance table is (input, expected status, expected byte offset,
 * expected reason). Every input is parsed twice, with the SIMD string scanner
 * and with the scalar one (MH_JDOC_SCALAR), and both must give the same
 * result and the same tape.
 */
#include <math.h>
#include <stdlib.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "ingest/json.h"
#include "mailhound/limits.h"
#include "mh_test.h"

/* ---- helpers ---- */

struct presult {
    mh_status st;
    uint64_t off;
    const char *msg;
};

static struct presult parse_mode(struct mh_jdoc *d, const char *s, size_t n, bool scalar)
{
    mh_error err;
    mh_error_clear(&err);
    d->opts = scalar ? MH_JDOC_SCALAR : 0;
    struct presult r = {mh_json_parse(d, s, n, &err), 0, NULL};
    r.off = err.offset;
    r.msg = err.msg;
    return r;
}

/* Parse with both scanners; check they agree (status, offset, reason, tape). */
static struct presult parse_both(struct mh_jdoc *d, const char *s, size_t n)
{
    struct mh_jdoc sc;
    mh_jdoc_init(&sc, NULL);
    sc.max_nodes = d->max_nodes;
    struct presult a = parse_mode(d, s, n, false);
    struct presult b = parse_mode(&sc, s, n, true);
    CHECK_INT(a.st, b.st);
    if (a.st != MH_OK) {
        CHECK_INT(a.off, b.off);
        CHECK(a.msg == b.msg);
    } else {
        CHECK_INT(d->n, sc.n);
        if (d->n == sc.n) CHECK(memcmp(d->nodes, sc.nodes, d->n * sizeof *d->nodes) == 0);
    }
    if (a.st != b.st || (a.st && a.off != b.off))
        fprintf(stderr, "  simd/scalar disagree on input of %zu bytes: %.*s\n", n, (int)n, s);
    mh_jdoc_fini(&sc);
    return a;
}

#define OK(s)                                                                                      \
    {                                                                                              \
        s, sizeof(s) - 1, MH_OK, 0, NULL                                                           \
    }
#define BAD(s, off, msg)                                                                           \
    {                                                                                              \
        s, sizeof(s) - 1, MH_EPARSE, off, msg                                                      \
    }
#define LIM(s, off, msg)                                                                           \
    {                                                                                              \
        s, sizeof(s) - 1, MH_ELIMIT, off, msg                                                      \
    }

static const char R_EOF[] = "unexpected end of input";
static const char R_UNTERM[] = "unterminated string";
static const char R_ESC[] = "invalid escape";
static const char R_SUR[] = "invalid surrogate";
static const char R_UTF8[] = "invalid UTF-8";
static const char R_CTRL[] = "control character in string";
static const char R_CHAR[] = "unexpected character";
static const char R_TRAIL[] = "trailing characters";
static const char R_NUM[] = "number format";
static const char R_LIT[] = "invalid literal";
static const char R_COMMA[] = "trailing comma";
static const char R_COLON[] = "expected ':'";
static const char R_KEY[] = "expected string key";

static const struct conf {
    const char *in;
    size_t len;
    mh_status st;
    uint64_t off;
    const char *msg;
} conformance[] = {
    /* values and whitespace */
    OK("0"),
    OK("-0"),
    OK("0e0"),
    OK("0E+0"),
    OK("-0.0e-0"),
    OK("1.5"),
    OK("-12.25E-3"),
    OK("123456789012345678901234567890"),
    OK("1e400"),
    OK("-1e400"),
    OK("1e-400"),
    OK("\"\""),
    OK("\"a\""),
    OK("[]"),
    OK("{}"),
    OK(" [ ] "),
    OK("\t\r\n 1\n"),
    OK("true"),
    OK("false"),
    OK("null"),
    OK("[1,2,3]"),
    OK("{\"a\":1,\"b\":[true,false,null]}"),
    OK("{ \"a\" : [ 1 , { } ] , \"b\" : \"\" }"),
    OK("[[[]]]"),
    OK("{\"a\":1,\"a\":2}"),
    OK("{\"\":0}"),
    /* escapes */
    OK("\"\\u0000\""),
    OK("\"\\ud83d\\ude00\""),
    OK("\"\\uD83D\\uDE00\""),
    OK("\"\\\"\\\\\\/\\b\\f\\n\\r\\t\""),
    OK("\"\\u00e9\\u20AC\\uffff\\uFFFE\""),
    OK("\"\\udbff\\udfff\""),
    OK("\"\\ud800\\udc00\""),
    /* UTF-8 boundaries */
    OK("\"\xc2\x80\""),
    OK("\"\xdf\xbf\""),
    OK("\"\xe0\xa0\x80\""),
    OK("\"\xef\xbf\xbf\""),
    OK("\"\xed\x9f\xbf\""),
    OK("\"\xee\x80\x80\""),
    OK("\"\xf0\x90\x80\x80\""),
    OK("\"\xf4\x8f\xbf\xbf\""),
    OK("\"\xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""),
    OK("\"\x7f\""),
    OK("\" \""),
    /* empty / whitespace set */
    BAD("", 0, R_EOF),
    BAD("   ", 3, R_EOF),
    BAD("\f1", 0, R_CHAR),
    BAD("\v1", 0, R_CHAR),
    BAD("\xc2\xa0"
        "1",
        0, R_CHAR),
    BAD("\xef\xbb\xbf"
        "1",
        0, R_CHAR),
    BAD("1\f", 1, R_TRAIL),
    BAD("1\x00", 1, R_TRAIL),
    /* numbers */
    BAD("01", 1, R_NUM),
    BAD("-01", 2, R_NUM),
    BAD("00", 1, R_NUM),
    BAD("+1", 0, R_CHAR),
    BAD(".5", 0, R_CHAR),
    BAD("1.", 2, R_NUM),
    BAD("1.e5", 2, R_NUM),
    BAD("1e", 2, R_NUM),
    BAD("1e+", 3, R_NUM),
    BAD("1E-x", 3, R_NUM),
    BAD("-", 1, R_NUM),
    BAD("- 1", 1, R_NUM),
    BAD("NaN", 0, R_CHAR),
    BAD("Infinity", 0, R_CHAR),
    BAD("-Infinity", 1, R_NUM),
    BAD("1.2.3", 3, R_NUM),
    BAD("1e5e5", 3, R_NUM),
    BAD("0x10", 1, R_TRAIL),
    BAD("[1-2]", 2, R_NUM),
    BAD("1+2", 1, R_NUM),
    BAD("[01]", 2, R_NUM),
    /* literals */
    BAD("tru", 3, R_EOF),
    BAD("trux", 3, R_LIT),
    BAD("True", 0, R_CHAR),
    BAD("nulll", 4, R_TRAIL),
    BAD("[fals]", 5, R_LIT),
    BAD("nul", 3, R_EOF),
    BAD("[n]", 2, R_LIT),
    /* structure */
    BAD("[1,]", 3, R_COMMA),
    BAD("{\"a\":1,}", 7, R_COMMA),
    BAD("[,1]", 1, R_CHAR),
    BAD("[1 2]", 3, R_CHAR),
    BAD("{\"a\" 1}", 5, R_COLON),
    BAD("{a:1}", 1, R_KEY),
    BAD("{\"a\":1 \"b\":2}", 7, R_CHAR),
    BAD("{,}", 1, R_KEY),
    BAD("{\"a\":1,,}", 7, R_KEY),
    BAD("[1]x", 3, R_TRAIL),
    BAD("1 2", 2, R_TRAIL),
    BAD("[1]]", 3, R_TRAIL),
    BAD("{\"a\":1}}", 7, R_TRAIL),
    BAD("\"a\"\n\"b\"", 4, R_TRAIL),
    BAD("{\"a\"}", 4, R_COLON),
    BAD("{\"a\":}", 5, R_CHAR),
    BAD("[}", 1, R_CHAR),
    BAD("{]", 1, R_KEY),
    BAD("[1}", 2, R_CHAR),
    BAD("{\"a\":1]", 6, R_CHAR),
    BAD("]", 0, R_CHAR),
    BAD(":", 0, R_CHAR),
    BAD(",", 0, R_CHAR),
    BAD("{1:1}", 1, R_KEY),
    BAD("['a']", 1, R_CHAR),
    /* truncation */
    BAD("{\"a\":1", 6, R_EOF),
    BAD("[1,", 3, R_EOF),
    BAD("[", 1, R_EOF),
    BAD("{", 1, R_EOF),
    BAD("{\"a\"", 4, R_EOF),
    BAD("{\"a\":", 5, R_EOF),
    BAD("[1", 2, R_EOF),
    BAD("{\"a\":1,", 7, R_EOF),
    /* comments */
    BAD("// c\n1", 0, R_CHAR),
    BAD("[1]/*c*/", 3, R_TRAIL),
    BAD("[1 /*c*/]", 3, R_CHAR),
    BAD("#1", 0, R_CHAR),
    /* strings: termination, escapes */
    BAD("\"abc", 4, R_UNTERM),
    BAD("\"", 1, R_UNTERM),
    BAD("\"\\", 2, R_UNTERM),
    BAD("\"\\u12", 5, R_UNTERM),
    BAD("\"\\x\"", 1, R_ESC),
    BAD("\"\\u12G4\"", 1, R_ESC),
    BAD("\"\\U0041\"", 1, R_ESC),
    BAD("\"\\'\"", 1, R_ESC),
    BAD("\"\\a\"", 1, R_ESC),
    BAD("\"\\0\"", 1, R_ESC),
    BAD("\"ab\\u\"", 3, R_ESC),
    BAD("\"\\u12\"", 1, R_ESC),
    BAD("\"\\ud83d\"", 1, R_SUR),
    BAD("\"\\ud83dx\"", 1, R_SUR),
    BAD("\"\\ud83d\\u0041\"", 1, R_SUR),
    BAD("\"\\ude00\"", 1, R_SUR),
    BAD("\"\\ude00\\ud83d\"", 1, R_SUR),
    BAD("\"a\\ud83d\\ud83d\\ude00\"", 2, R_SUR),
    BAD("\"\\ud83d\\uzzzz\"", 1, R_ESC),
    BAD("\"\\ud83d\\n\"", 1, R_SUR),
    BAD("\"\\udfff\"", 1, R_SUR),
    BAD("\"\\ud800\\ue000\"", 1, R_SUR),
    BAD("\"\\ud83d", 7, R_UNTERM),
    BAD("\"\\ud83d\\", 8, R_UNTERM),
    /* control characters */
    BAD("\"a\x01\"", 2, R_CTRL),
    BAD("\"\t\"", 1, R_CTRL),
    BAD("\"\n\"", 1, R_CTRL),
    BAD("\"\x1f\"", 1, R_CTRL),
    BAD("\"\x00\"", 1, R_CTRL),
    BAD("\"\r\"", 1, R_CTRL),
    /* invalid UTF-8, every class */
    BAD("\"\x80\"", 1, R_UTF8),
    BAD("\"\xbf\"", 1, R_UTF8),
    BAD("\"\xc0\x80\"", 1, R_UTF8),
    BAD("\"\xc1\xbf\"", 1, R_UTF8),
    BAD("\"\xe0\x80\x80\"", 1, R_UTF8),
    BAD("\"\xe0\x9f\xbf\"", 1, R_UTF8),
    BAD("\"\xf0\x80\x80\x80\"", 1, R_UTF8),
    BAD("\"\xf0\x8f\xbf\xbf\"", 1, R_UTF8),
    BAD("\"\xed\xa0\x80\"", 1, R_UTF8),
    BAD("\"\xed\xbf\xbf\"", 1, R_UTF8),
    BAD("\"\xed\xa0\xbd\xed\xb8\x80\"", 1, R_UTF8),
    BAD("\"\xf4\x90\x80\x80\"", 1, R_UTF8),
    BAD("\"\xf5\x80\x80\x80\"", 1, R_UTF8),
    BAD("\"\xf7\xbf\xbf\xbf\"", 1, R_UTF8),
    BAD("\"\xf8\x88\x80\x80\x80\"", 1, R_UTF8),
    BAD("\"\xfc\x84\x80\x80\x80\x80\"", 1, R_UTF8),
    BAD("\"\xfe\"", 1, R_UTF8),
    BAD("\"\xff\"", 1, R_UTF8),
    BAD("\"\xc3\"", 1, R_UTF8),
    BAD("\"\xe2\x82\"", 1, R_UTF8),
    BAD("\"\xf0\x9f\x98\"", 1, R_UTF8),
    BAD("\"\xc3", 1, R_UTF8),
    BAD("\"\xc3"
        "a\"",
        1, R_UTF8),
    BAD("\"a\xc3\xa9\x80\"", 4, R_UTF8),
    BAD("\"\xe2\x28\xa1\"", 1, R_UTF8),
    BAD("\"\xf0\x9f\x98\x80\x80\"", 5, R_UTF8),
    BAD("{\"k\xff\":1}", 3, R_UTF8),
    BAD("[\"\xc3\xa9\",\"\xc3\"]", 7, R_UTF8),
    BAD("\xc3\xa9", 0, R_CHAR),
};

static void t_conformance(void)
{
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    for (size_t i = 0; i < sizeof conformance / sizeof conformance[0]; i++) {
        const struct conf *c = &conformance[i];
        struct presult r = parse_both(&d, c->in, c->len);
        bool ok = r.st == c->st && (c->st == MH_OK || (r.off == c->off && r.msg == c->msg));
        /* reasons are compared by content: the library's strings are its own */
        if (!ok && r.st == c->st && r.off == c->off && r.msg && c->msg && !strcmp(r.msg, c->msg))
            ok = true;
        CHECK(ok);
        if (!ok)
            fprintf(stderr, "  case %zu [%.*s]: got %s at %llu (%s), want %s at %llu (%s)\n", i,
                    (int)c->len, c->in, mh_status_str(r.st), (unsigned long long)r.off,
                    r.msg ? r.msg : "-", mh_status_str(c->st), (unsigned long long)c->off,
                    c->msg ? c->msg : "-");
        if (r.st == MH_OK)
            CHECK_INT(d.n > 0, 1);
        else
            CHECK_INT(d.n, 0);
    }
    mh_jdoc_fini(&d);
}

/* Nesting: exactly MH_JSON_MAX_DEPTH levels parse, one more is MH_ELIMIT. */
static void t_depth(void)
{
    enum { D = MH_JSON_MAX_DEPTH };
    static char buf[2 * (D + 1) * 6 + 16];
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    for (int extra = 0; extra <= 1; extra++) {
        for (int kind = 0; kind < 2; kind++) {
            size_t n = 0, opens = (size_t)D + (size_t)extra;
            for (size_t i = 0; i < opens; i++) {
                if (kind == 0)
                    buf[n++] = '[';
                else {
                    memcpy(buf + n, "{\"k\":", 5);
                    n += 5;
                }
            }
            buf[n++] = '1';
            for (size_t i = 0; i < opens; i++) buf[n++] = kind == 0 ? ']' : '}';
            struct presult r = parse_both(&d, buf, n);
            if (!extra) {
                CHECK_INT(r.st, MH_OK);
                CHECK_INT(d.nodes[d.n - 1].reserved, D);
            } else {
                CHECK_INT(r.st, MH_ELIMIT);
                CHECK_INT(r.off, kind == 0 ? (uint64_t)D : (uint64_t)D * 5);
                CHECK_STREQ(r.msg, "nesting too deep");
            }
        }
    }
    mh_jdoc_fini(&d);
}

static void t_limits(void)
{
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    d.max_nodes = 5;
    struct presult r = parse_both(&d, "[1,2,3,4]", 9);
    CHECK_INT(r.st, MH_OK);
    CHECK_INT(d.n, 5);
    r = parse_both(&d, "[1,2,3,4,5]", 11);
    CHECK_INT(r.st, MH_ELIMIT);
    CHECK_INT(r.off, 9);
    CHECK_STREQ(r.msg, "too many values");
    CHECK_INT(d.n, 0);
    r = parse_both(&d, "{\"a\":1,\"b\":2}", 13); /* 5 nodes */
    CHECK_INT(r.st, MH_OK);
    r = parse_both(&d, "{\"a\":1,\"b\":2,\"c\":3}", 19); /* key c is the 6th node */
    CHECK_INT(r.st, MH_ELIMIT);
    CHECK_INT(r.off, 13);
    /* input size: the length is checked before any byte is read */
    mh_error err;
    mh_error_clear(&err);
    if (sizeof(size_t) > 4) {
        CHECK_INT(mh_json_parse(&d, "1", (size_t)UINT32_MAX + 1, &err), MH_ELIMIT);
        CHECK_STREQ(err.msg, "input too large");
    }
    CHECK_INT(mh_json_parse(&d, NULL, 0, &err), MH_EPARSE);
    CHECK_INT(mh_json_parse(&d, NULL, 3, NULL), MH_EINVAL);
    mh_jdoc_fini(&d);
}

/* ---- tape structure ---- */

struct tnode {
    uint32_t len, next;
    enum mh_jtype type;
    const char *raw;
};

static void check_tape(const char *in, const struct tnode *want, size_t nwant)
{
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    struct presult r = parse_both(&d, in, strlen(in));
    CHECK_INT(r.st, MH_OK);
    CHECK_INT(d.n, nwant);
    for (uint32_t i = 0; i < d.n && i < nwant; i++) {
        CHECK_INT(d.nodes[i].type, want[i].type);
        CHECK_INT(d.nodes[i].len, want[i].len);
        CHECK_INT(d.nodes[i].next, want[i].next);
        struct mh_slice raw = mh_json_raw(&d, i);
        CHECK_SLICE(raw, want[i].raw);
    }
    mh_jdoc_fini(&d);
}

static void t_tape(void)
{
    /* the example of json.h */
    static const struct tnode a[] = {
        {2, 7, MH_JOBJ, "{\"a\":[1,2],\"b\":\"x\"}"},
        {1, 2, MH_JSTR, "a"},
        {2, 5, MH_JARR, "[1,2]"},
        {1, 4, MH_JNUM, "1"},
        {1, 5, MH_JNUM, "2"},
        {1, 6, MH_JSTR, "b"},
        {1, 7, MH_JSTR, "x"},
    };
    check_tape("{\"a\":[1,2],\"b\":\"x\"}", a, sizeof a / sizeof a[0]);
    /* nested containers, empty ones, whitespace everywhere */
    static const struct tnode b[] = {
        {3, 15, MH_JOBJ,
         "{ \"a\" : { \"b\" : [ 1 , { \"c\" : [ ] } ] , \"d\" : [ ] } , \"e\" : "
         "-3.5e1 , \"f\" : { } }"},
        {1, 2, MH_JSTR, "a"},
        {2, 11, MH_JOBJ, "{ \"b\" : [ 1 , { \"c\" : [ ] } ] , \"d\" : [ ] }"},
        {1, 4, MH_JSTR, "b"},
        {2, 9, MH_JARR, "[ 1 , { \"c\" : [ ] } ]"},
        {1, 6, MH_JNUM, "1"},
        {1, 9, MH_JOBJ, "{ \"c\" : [ ] }"},
        {1, 8, MH_JSTR, "c"},
        {0, 9, MH_JARR, "[ ]"},
        {1, 10, MH_JSTR, "d"},
        {0, 11, MH_JARR, "[ ]"},
        {1, 12, MH_JSTR, "e"},
        {6, 13, MH_JNUM, "-3.5e1"},
        {1, 14, MH_JSTR, "f"},
        {0, 15, MH_JOBJ, "{ }"},
    };
    check_tape("{ \"a\" : { \"b\" : [ 1 , { \"c\" : [ ] } ] , \"d\" : [ ] } , \"e\" : -3.5e1 , "
               "\"f\" : { } }",
               b, sizeof b / sizeof b[0]);
    static const struct tnode c[] = {
        {3, 5, MH_JARR, "[[[]],[],true]"},
        {1, 3, MH_JARR, "[[]]"},
        {0, 3, MH_JARR, "[]"},
        {0, 4, MH_JARR, "[]"},
        {4, 5, MH_JTRUE, "true"},
    };
    check_tape("[[[]],[],true]", c, sizeof c / sizeof c[0]);
    static const struct tnode e[] = {{5, 1, MH_JFALSE, "false"}};
    check_tape("  false  ", e, 1);
    static const struct tnode f[] = {{3, 1, MH_JSTR, "a\\n"}};
    check_tape(" \"a\\n\" ", f, 1);
}

/* Every container's raw text re-parses into the same subtree. */
static void t_raw_reparse(void)
{
    static const char *const docs[] = {
        "{\"a\":{\"b\":[1,{\"c\":[[],{}]}],\"d\":[]},\"e\":{\"f\":{\"g\":{}}}}",
        "[ [ [ 1 ] , [ ] ] , { \"x\" : [ { } ] } , \"s\" ]",
        "{\"k\":\"]}\\\"]}\",\"l\":[\"[\",\"{\"]}",
    };
    struct mh_jdoc d, sub;
    mh_jdoc_init(&d, NULL);
    mh_jdoc_init(&sub, NULL);
    for (size_t k = 0; k < sizeof docs / sizeof docs[0]; k++) {
        CHECK_INT(mh_json_parse(&d, docs[k], strlen(docs[k]), NULL), MH_OK);
        for (uint32_t i = 0; i < d.n; i++) {
            if (d.nodes[i].type != MH_JARR && d.nodes[i].type != MH_JOBJ) continue;
            struct mh_slice raw = mh_json_raw(&d, i);
            CHECK(raw.len >= 2);
            CHECK(raw.ptr[raw.len - 1] == (d.nodes[i].type == MH_JARR ? ']' : '}'));
            CHECK_INT(mh_json_parse(&sub, raw.ptr, raw.len, NULL), MH_OK);
            CHECK_INT(sub.n, d.nodes[i].next - i);
        }
    }
    mh_jdoc_fini(&d);
    mh_jdoc_fini(&sub);
}

/* ---- accessors ---- */

#define GET(d, o, k) mh_json_get((d), (o), (k), sizeof(k) - 1)
#define GETI(d, o, k) mh_json_get_nocase((d), (o), (k), sizeof(k) - 1)

static void t_get(void)
{
    static const char in[] =
        "{\"Operation\":\"MailItemsAccessed\",\"a\\u0062\":1,\"dup\":\"first\",\"dup\":\"second\","
        "\"sub\":{\"Operation\":\"inner\",\"x\":[1,2,{\"y\":3}]},\"\\/p\":true,\"\":\"empty\","
        "\"\\u0041Bc\":4,\"tail\":null}";
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    CHECK_INT(mh_json_parse(&d, in, sizeof in - 1, NULL), MH_OK);
    uint32_t v = GET(&d, 0, "Operation");
    CHECK(v != MH_JNONE && mh_json_str_eq(&d, v, "MailItemsAccessed", 17));
    v = GET(&d, 0, "ab"); /* escaped key */
    CHECK(v != MH_JNONE && mh_json_type(&d, v) == MH_JNUM);
    CHECK_INT(GET(&d, 0, "a\\u0062"), MH_JNONE); /* raw bytes do not match */
    v = GET(&d, 0, "dup");
    CHECK(v != MH_JNONE && mh_json_str_eq(&d, v, "first", 5));
    v = GET(&d, 0, "tail"); /* after a nested subtree: skipped through next */
    CHECK(v != MH_JNONE && mh_json_type(&d, v) == MH_JNULL);
    uint32_t sub = GET(&d, 0, "sub");
    CHECK(sub != MH_JNONE && mh_json_type(&d, sub) == MH_JOBJ);
    v = GET(&d, sub, "Operation");
    CHECK(v != MH_JNONE && mh_json_str_eq(&d, v, "inner", 5));
    CHECK_INT(GET(&d, sub, "tail"), MH_JNONE);
    uint32_t x = GET(&d, sub, "x");
    CHECK_INT(GET(&d, x, "y"), MH_JNONE); /* not an object */
    CHECK_INT(mh_json_get(&d, 9999, "x", 1), MH_JNONE);
    CHECK(GET(&d, 0, "/p") != MH_JNONE);
    v = GET(&d, 0, "");
    CHECK(v != MH_JNONE && mh_json_str_eq(&d, v, "empty", 5));
    CHECK_INT(GET(&d, 0, "missing"), MH_JNONE);
    CHECK_INT(GET(&d, 0, "operation"), MH_JNONE);
    v = GETI(&d, 0, "operation");
    CHECK(v != MH_JNONE && mh_json_str_eq(&d, v, "MailItemsAccessed", 17));
    CHECK(GETI(&d, 0, "AB") != MH_JNONE);
    CHECK(GETI(&d, 0, "abc") != MH_JNONE); /* escaped \u0041Bc */
    CHECK(GETI(&d, 0, "ABC") != MH_JNONE);
    CHECK_INT(GETI(&d, 0, "abd"), MH_JNONE);
    CHECK_INT(GETI(&d, 0, "Operatio"), MH_JNONE);
    mh_jdoc_fini(&d);
}

static void t_iterate(void)
{
    static const char in[] = "{\"a\":[10,[20,21],{\"b\":30},40],\"c\":{},\"d\":[]}";
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    CHECK_INT(mh_json_parse(&d, in, sizeof in - 1, NULL), MH_OK);
    const char *keys[4];
    size_t nk = 0;
    for (uint32_t k = mh_json_first(&d, 0); k != MH_JNONE; k = mh_json_next(&d, 0, k + 1)) {
        struct mh_slice s;
        CHECK_INT(mh_json_str(&d, k, NULL, &s), MH_OK);
        if (nk < 4) keys[nk] = s.ptr;
        nk++;
        /* k+1 is the value; mh_json_next from the value yields the next key */
    }
    CHECK_INT(nk, 3);
    CHECK(nk == 3 && keys[0][0] == 'a' && keys[1][0] == 'c' && keys[2][0] == 'd');
    uint32_t a = GET(&d, 0, "a");
    const char *want[] = {"10", "[20,21]", "{\"b\":30}", "40"};
    size_t ne = 0;
    for (uint32_t e = mh_json_first(&d, a); e != MH_JNONE; e = mh_json_next(&d, a, e)) {
        if (ne < 4) CHECK_SLICE(mh_json_raw(&d, e), want[ne]);
        ne++;
    }
    CHECK_INT(ne, 4);
    CHECK_INT(mh_json_first(&d, GET(&d, 0, "c")), MH_JNONE);
    CHECK_INT(mh_json_first(&d, GET(&d, 0, "d")), MH_JNONE);
    mh_jdoc_fini(&d);
}

static void t_str(void)
{
    static const struct {
        const char *in, *want;
        size_t wantlen;
    } cases[] = {
        {"\"plain\"", "plain", 5},
        {"\"\\ud83d\\ude00\"", "\xf0\x9f\x98\x80", 4},
        {"\"\\u0000\"", "\0", 1},
        {"\"a\\u0000b\"", "a\0b", 3},
        {"\"a\\nb\\t\\\"\\\\\\/\\b\\f\\r\"", "a\nb\t\"\\/\b\f\r", 10},
        {"\"\\u00e9\\u20ac\\uFFFF\"", "\xc3\xa9\xe2\x82\xac\xef\xbf\xbf", 8},
        {"\"\\udbff\\udfff\"", "\xf4\x8f\xbf\xbf", 4},
        {"\"\\u007f\\u0080\\u07ff\\u0800\"", "\x7f\xc2\x80\xdf\xbf\xe0\xa0\x80", 8},
        {"\"caf\xc3\xa9\"", "caf\xc3\xa9", 5},
        {"\"\"", "", 0},
        {"\"C:\\\\Users\\\\x\"", "C:\\Users\\x", 10},
    };
    struct mh_jdoc d;
    struct mh_arena ar;
    mh_jdoc_init(&d, NULL);
    mh_arena_init(&ar, 4096, 1 << 20);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(mh_json_parse(&d, cases[i].in, strlen(cases[i].in), NULL), MH_OK);
        struct mh_slice s = MH_SLICE_NULL;
        CHECK_INT(mh_json_str(&d, 0, &ar, &s), MH_OK);
        CHECK_INT(s.len, cases[i].wantlen);
        CHECK(s.len == cases[i].wantlen && memcmp(s.ptr, cases[i].want, s.len) == 0);
        bool escaped = (d.nodes[0].flags & MH_JF_ESCAPED) != 0;
        CHECK_INT(escaped, strchr(cases[i].in, '\\') != NULL);
        /* zero-copy: unescaped strings point into the input */
        if (!escaped)
            CHECK(s.ptr == cases[i].in + 1);
        else
            CHECK(s.ptr < cases[i].in || s.ptr > cases[i].in + strlen(cases[i].in));
        CHECK(mh_json_str_eq(&d, 0, cases[i].want, cases[i].wantlen));
        if (cases[i].wantlen) {
            CHECK(!mh_json_str_eq(&d, 0, cases[i].want, cases[i].wantlen - 1));
            char tmp[32];
            memcpy(tmp, cases[i].want, cases[i].wantlen);
            tmp[cases[i].wantlen - 1] ^= 0x01;
            CHECK(!mh_json_str_eq(&d, 0, tmp, cases[i].wantlen));
        }
        CHECK(!mh_json_str_eq(&d, 0, "0123456789abcdef", 16));
        /* the unescape primitive gives the same bytes */
        char out[64];
        size_t ol = 0;
        CHECK_INT(mh_json_unescape(cases[i].in + 1, strlen(cases[i].in) - 2, out, &ol), MH_OK);
        CHECK(ol == cases[i].wantlen && memcmp(out, cases[i].want, ol) == 0);
        CHECK_INT((d.nodes[0].flags & MH_JF_NONASCII) != 0, strstr(cases[i].in, "caf") != NULL);
    }
    /* escaped string with no arena; non-string nodes */
    CHECK_INT(mh_json_parse(&d, "[\"a\\n\",1]", 9, NULL), MH_OK);
    struct mh_slice s;
    CHECK_INT(mh_json_str(&d, 1, NULL, &s), MH_EINVAL);
    CHECK_INT(mh_json_str(&d, 2, &ar, &s), MH_EINVAL);
    CHECK_INT(mh_json_str(&d, 0, &ar, &s), MH_EINVAL);
    CHECK(!mh_json_str_eq(&d, 2, "1", 1));
    /* a full arena is MH_ELIMIT */
    struct mh_arena tiny;
    mh_arena_init(&tiny, 16, 16);
    CHECK_INT(mh_json_parse(&d, "\"\\n0123456789abcdefghij\"", 24, NULL), MH_OK);
    CHECK_INT(mh_json_str(&d, 0, &tiny, &s), MH_ELIMIT);
    mh_arena_fini(&tiny);
    /* unescape rejects what the parser would */
    static const char *const badesc[] = {
        "\\x", "\\", "\\u12", "\\ud83d", "\\ude00", "\\ud83d\\u0041", "\\u12g4"};
    for (size_t i = 0; i < sizeof badesc / sizeof badesc[0]; i++) {
        char out[16];
        size_t ol = 0;
        CHECK_INT(mh_json_unescape(badesc[i], strlen(badesc[i]), out, &ol), MH_EPARSE);
    }
    mh_arena_fini(&ar);
    mh_jdoc_fini(&d);
}

static void t_numbers(void)
{
    static const struct {
        const char *in;
        mh_status ist;
        int64_t iv;
        mh_status dst;
        double dv;
    } cases[] = {
        {"0", MH_OK, 0, MH_OK, 0.0},
        {"-0", MH_OK, 0, MH_OK, -0.0},
        {"0e0", MH_OK, 0, MH_OK, 0.0},
        {"42", MH_OK, 42, MH_OK, 42.0},
        {"-17", MH_OK, -17, MH_OK, -17.0},
        {"9223372036854775807", MH_OK, INT64_MAX, MH_OK, 9223372036854775807.0},
        {"-9223372036854775808", MH_OK, INT64_MIN, MH_OK, -9223372036854775808.0},
        {"9223372036854775808", MH_ELIMIT, 0, MH_OK, 9223372036854775808.0},
        {"-9223372036854775809", MH_ELIMIT, 0, MH_OK, -9223372036854775809.0},
        {"123456789012345678901234567890", MH_ELIMIT, 0, MH_OK, 123456789012345678901234567890.0},
        {"1e400", MH_ELIMIT, 0, MH_ELIMIT, 0},
        {"-1e400", MH_ELIMIT, 0, MH_ELIMIT, 0},
        {"1e-400", MH_EINVAL, 0, MH_OK, 0.0},
        {"1.5e1", MH_OK, 15, MH_OK, 15.0},
        {"100e-2", MH_OK, 1, MH_OK, 1.0},
        {"0.5", MH_EINVAL, 0, MH_OK, 0.5},
        {"1e18", MH_OK, INT64_C(1000000000000000000), MH_OK, 1e18},
        {"1e19", MH_ELIMIT, 0, MH_OK, 1e19},
        {"-9.223372036854775808e18", MH_OK, INT64_MIN, MH_OK, -9.223372036854775808e18},
        {"9.223372036854775808e18", MH_ELIMIT, 0, MH_OK, 9.223372036854775808e18},
        {"0e999999999999999", MH_OK, 0, MH_OK, 0.0},
        {"0.000e5", MH_OK, 0, MH_OK, 0.0},
        {"1e999999999999999999999", MH_ELIMIT, 0, MH_ELIMIT, 0},
        {"120000000000000000000e-3", MH_OK, INT64_C(120000000000000000), MH_OK, 1.2e17},
        {"1e2", MH_OK, 100, MH_OK, 100.0},
        {"2.0", MH_OK, 2, MH_OK, 2.0},
        {"1.5", MH_EINVAL, 0, MH_OK, 1.5},
        {"-12.25E-3", MH_EINVAL, 0, MH_OK, -0.01225},
        {"1E+2", MH_OK, 100, MH_OK, 100.0},
        {"9.3e18", MH_ELIMIT, 0, MH_OK, 9.3e18},
        {"1.7976931348623157e308", MH_ELIMIT, 0, MH_OK, 1.7976931348623157e308},
    };
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        CHECK_INT(mh_json_parse(&d, cases[i].in, strlen(cases[i].in), NULL), MH_OK);
        int64_t iv = 12345;
        double dv = 12345;
        mh_status ist = mh_json_int(&d, 0, &iv);
        mh_status dst = mh_json_double(&d, 0, &dv);
        CHECK_INT(ist, cases[i].ist);
        CHECK_INT(dst, cases[i].dst);
        if (ist == MH_OK)
            CHECK_INT(iv, cases[i].iv);
        else
            CHECK_INT(iv, 12345); /* untouched on failure */
        if (dst == MH_OK)
            CHECK(dv == cases[i].dv && signbit(dv) == signbit(cases[i].dv));
        else
            CHECK(dv == 12345);
        if (ist != cases[i].ist || dst != cases[i].dst)
            fprintf(stderr, "  number %s: int %s, double %s\n", cases[i].in, mh_status_str(ist),
                    mh_status_str(dst));
    }
    /* flags */
    CHECK_INT(mh_json_parse(&d, "[-1.5,2,3e1]", 12, NULL), MH_OK);
    CHECK_INT(d.nodes[1].flags, MH_JF_NUM_NEG | MH_JF_NUM_FRAC);
    CHECK_INT(d.nodes[2].flags, 0);
    CHECK_INT(d.nodes[3].flags, MH_JF_NUM_FRAC);
    /* a long number (> stack buffer) converts */
    char big[400];
    memset(big, '0', sizeof big);
    big[0] = '1';
    memcpy(big + sizeof big - 6, "e-393", 5);
    big[sizeof big - 1] = '\0'; /* "1" 393 zeros... e-393 */
    size_t bl = strlen(big);
    CHECK_INT(mh_json_parse(&d, big, bl, NULL), MH_OK);
    double dv = 0;
    CHECK_INT(mh_json_double(&d, 0, &dv), MH_OK);
    CHECK(fabs(dv - 1.0) < 1e-15);
    /* non-numbers */
    int64_t iv;
    CHECK_INT(mh_json_parse(&d, "[\"1\",true]", 10, NULL), MH_OK);
    CHECK_INT(mh_json_int(&d, 1, &iv), MH_EINVAL);
    CHECK_INT(mh_json_double(&d, 2, &dv), MH_EINVAL);
    CHECK_INT(mh_json_int(&d, 77, &iv), MH_EINVAL);
    mh_jdoc_fini(&d);
}

/* ---- memory ---- */

static char *make_big(size_t elems, size_t *len)
{
    char *s = mh_malloc(elems * 16 + 64);
    if (!s) return NULL;
    size_t n = 0;
    s[n++] = '[';
    for (size_t i = 0; i < elems; i++) {
        n += (size_t)snprintf(s + n, 32, "%s{\"k\\n\":%zu}", i ? "," : "", i);
    }
    s[n++] = ']';
    *len = n;
    return s;
}

static void t_alloc_failure(void)
{
    size_t blen = 0;
    char *big = make_big(3000, &blen);
    CHECK(big != NULL);
    if (!big) return;
    int runs = 0, ok = 0;
    for (int64_t k = 0; k < 200; k++) {
        struct mh_jdoc d;
        struct mh_arena ar;
        mh_arena_init(&ar, 1024, 1 << 20);
        mh_jdoc_init(&d, NULL);
        mh_alloc_fail_after(k);
        mh_status st = mh_json_parse(&d, big, blen, NULL);
        struct mh_slice s = MH_SLICE_NULL;
        if (st == MH_OK) st = mh_json_str(&d, 2, &ar, &s);
        /* a >127-byte number allocates a conversion buffer */
        struct mh_jdoc d2;
        mh_jdoc_init(&d2, &ar);
        char num[200];
        memset(num, '7', sizeof num);
        if (st == MH_OK) st = mh_json_parse(&d2, num, sizeof num, NULL);
        double dv = 0;
        if (st == MH_OK) st = mh_json_double(&d2, 0, &dv);
        mh_alloc_fail_after(-1);
        runs++;
        CHECK(st == MH_OK || st == MH_ENOMEM);
        if (st == MH_OK) {
            ok = 1;
            CHECK_SLICE(s, "k\n");
            CHECK(dv > 7.7e199 && dv < 7.8e199);
        }
        mh_jdoc_fini(&d2);
        mh_jdoc_fini(&d);
        mh_arena_fini(&ar);
        if (ok) break;
    }
    CHECK(ok);
    CHECK(runs > 3); /* several allocations were exercised */
    mh_free(big);
}

static void t_reuse(void)
{
    size_t blen = 0;
    char *big = make_big(2000, &blen);
    CHECK(big != NULL);
    if (!big) return;
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    CHECK_INT(mh_json_parse(&d, big, blen, NULL), MH_OK);
    CHECK_INT(d.n, 1 + 2000 * 3);
    uint64_t before = mh_alloc_count();
    for (int i = 0; i < 5; i++) {
        CHECK_INT(mh_json_parse(&d, "{\"a\":1}", 7, NULL), MH_OK);
        CHECK_INT(mh_json_parse(&d, big, blen, NULL), MH_OK);
        CHECK_INT(mh_json_parse(&d, "[1,", 3, NULL), MH_EPARSE);
    }
    CHECK_INT(mh_alloc_count(), before); /* steady state: no allocation */
    mh_jdoc_fini(&d);
    mh_jdoc_fini(&d); /* idempotent */

    /* arena mode: nodes live in the arena; fini frees nothing */
    struct mh_arena ar;
    mh_arena_init(&ar, 4096, 64u << 20);
    mh_jdoc_init(&d, &ar);
    CHECK_INT(mh_json_parse(&d, big, blen, NULL), MH_OK);
    CHECK_INT(d.n, 1 + 2000 * 3);
    uint32_t last = GET(&d, d.n - 3, "k\n");
    CHECK(last != MH_JNONE);
    int64_t v = 0;
    CHECK(last != MH_JNONE && mh_json_int(&d, last, &v) == MH_OK && v == 1999);
    CHECK(ar.used > 0);
    mh_jdoc_fini(&d);
    mh_arena_fini(&ar);
    /* arena mode after the arena's owner reset it: the tape is fresh memory,
     * not the pre-reset array that new arena allocations now overlap */
    mh_arena_init(&ar, 1 << 16, 1 << 20);
    mh_jdoc_init(&d, &ar);
    CHECK_INT(mh_json_parse(&d, "[1,2,3]", 7, NULL), MH_OK);
    mh_arena_reset(&ar);
    CHECK_INT(mh_json_parse(&d, "{\"a\":[true]}", 12, NULL), MH_OK);
    unsigned char *junk = mh_arena_alloc(&ar, 4096);
    CHECK(junk != NULL);
    if (junk) memset(junk, 0xff, 4096);
    CHECK_INT(d.n, 4);
    CHECK_INT(d.nodes[0].type, MH_JOBJ);
    CHECK_INT(d.nodes[0].next, 4);
    CHECK(GET(&d, 0, "a") == 2);
    mh_jdoc_fini(&d);
    mh_arena_fini(&ar);
    /* near the arena's cap the tape grows by a quarter instead of doubling:
     * 200 numbers = 201 nodes; arrays of 41, 82, 164 nodes (4592 bytes) then
     * 328 (5248 more) do not fit in 8192 bytes, 205 (3280 more) do */
    {
        char arr[512];
        size_t an = 0;
        arr[an++] = '[';
        for (int i = 0; i < 200; i++) {
            if (i) arr[an++] = ',';
            arr[an++] = '7';
        }
        arr[an++] = ']';
        for (int round = 0; round < 2; round++) {
            mh_arena_init(&ar, 1 << 16, round == 0 ? 8192 : 7000);
            mh_jdoc_init(&d, &ar);
            mh_error e2;
            mh_status ast = mh_json_parse(&d, arr, an, &e2);
            if (round == 0) {
                CHECK_INT(ast, MH_OK);
                CHECK_INT(d.n, 201);
            } else {
                CHECK_INT(ast, MH_ELIMIT);
                CHECK_STREQ(e2.msg, "document arena full");
            }
            mh_jdoc_fini(&d);
            mh_arena_fini(&ar);
        }
    }
    /* arena too small: MH_ELIMIT, clean */
    mh_arena_init(&ar, 1024, 8192);
    mh_jdoc_init(&d, &ar);
    mh_error err;
    CHECK_INT(mh_json_parse(&d, big, blen, &err), MH_ELIMIT);
    CHECK_STREQ(err.msg, "document arena full");
    CHECK_INT(d.n, 0);
    mh_jdoc_fini(&d);
    mh_arena_fini(&ar);
    mh_free(big);
}

/* ---- SIMD scanner vs scalar scanner ---- */

static void t_simd_vs_scalar(void)
{
#if !defined(__SSE2__) || defined(MH_JSON_NO_SIMD)
    printf("note: no SSE2 in this build; both instances are the scalar scanner\n");
#endif
    static const struct {
        const char *ins; /* bytes put at the position */
        mh_status st;    /* expected result */
        int err_at_ins;  /* error offset is the insertion point (else end of input) */
    } specials[] = {
        {"\\\"", MH_OK, 0},
        {"\\n", MH_OK, 0},
        {"\\u00e9", MH_OK, 0},
        {"\\ud83d\\ude00", MH_OK, 0},
        {"\xc3\xa9", MH_OK, 0},
        {"\xf0\x9f\x98\x80", MH_OK, 0},
        {"\x7f", MH_OK, 0},
        {" ", MH_OK, 0},
        {"\x01", MH_EPARSE, 1},
        {"\x1f", MH_EPARSE, 1},
        {"\x80", MH_EPARSE, 1},
        {"\xc3(", MH_EPARSE, 1},
        {"\xed\xa0\x80", MH_EPARSE, 1},
        {"\\x", MH_EPARSE, 1},
        {"\\ud83d", MH_EPARSE, 1},
        {"\"", MH_EPARSE, 0},
        {"\xff", MH_EPARSE, 1},
        {"\\uZ", MH_EPARSE, 1},
    };
    static const char *const prefix[] = {"", "[", "{\"key\":", " [1, \"x\", "};
    static const char *const suffix[] = {"", "]", "}", "]"};
    struct mh_jdoc d;
    mh_jdoc_init(&d, NULL);
    char buf[256];
    size_t cases = 0;
    for (size_t sp = 0; sp < sizeof specials / sizeof specials[0]; sp++) {
        size_t il = strlen(specials[sp].ins);
        for (size_t ctx = 0; ctx < 4; ctx++) {
            size_t pl = strlen(prefix[ctx]);
            for (size_t len = 0; len <= 100; len++) {
                for (size_t pos = 0; pos <= len; pos++) {
                    size_t n = 0;
                    memcpy(buf, prefix[ctx], pl);
                    n = pl;
                    buf[n++] = '"';
                    for (size_t i = 0; i < pos; i++) buf[n++] = (char)('a' + i % 26);
                    size_t at = n;
                    memcpy(buf + n, specials[sp].ins, il);
                    n += il;
                    for (size_t i = pos; i < len; i++) buf[n++] = (char)('A' + i % 26);
                    buf[n++] = '"';
                    memcpy(buf + n, suffix[ctx], strlen(suffix[ctx]));
                    n += strlen(suffix[ctx]);
                    struct presult r = parse_both(&d, buf, n);
                    cases++;
                    if (specials[sp].ins[0] == '"') {
                        /* an unescaped quote ends the string early: just agree */
                        continue;
                    }
                    CHECK_INT(r.st, specials[sp].st);
                    if (r.st == MH_EPARSE && specials[sp].err_at_ins) CHECK_INT(r.off, at);
                }
            }
        }
        /* strings of every length 0..100 without specials, plus ASCII edges */
    }
    for (size_t len = 0; len <= 100; len++) {
        size_t n = 0;
        buf[n++] = '"';
        for (size_t i = 0; i < len; i++) buf[n++] = (char)(0x20 + (i * 7) % 0x60);
        /* keep it a valid string: no quote or backslash */
        for (size_t i = 1; i < n; i++)
            if (buf[i] == '"' || buf[i] == '\\') buf[i] = '_';
        buf[n++] = '"';
        struct presult r = parse_both(&d, buf, n);
        CHECK_INT(r.st, MH_OK);
        CHECK_INT(d.nodes[0].len, len);
        /* truncated copy: unterminated, offset = end of input, in both */
        r = parse_both(&d, buf, n - 1);
        CHECK_INT(r.st, MH_EPARSE);
        CHECK_INT(r.off, n - 1);
        cases += 2;
    }
    for (size_t i = 0; i < sizeof conformance / sizeof conformance[0]; i++)
        (void)parse_both(&d, conformance[i].in, conformance[i].len);
    CHECK(cases > 10000);
    mh_jdoc_fini(&d);
}

int main(void)
{
    static const struct mh_test T[] = {
        {"conformance", t_conformance},
        {"depth", t_depth},
        {"limits", t_limits},
        {"tape", t_tape},
        {"raw_reparse", t_raw_reparse},
        {"get", t_get},
        {"iterate", t_iterate},
        {"str", t_str},
        {"numbers", t_numbers},
        {"alloc_failure", t_alloc_failure},
        {"reuse", t_reuse},
        {"simd_vs_scalar", t_simd_vs_scalar},
    };
    return MH_TEST_RUN(T);
}
