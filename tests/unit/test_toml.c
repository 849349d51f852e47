/*
 * tests/unit/test_toml.c -- the TOML reader (src/secrets/toml.c)
 *
 * Table-driven: documents with the JSON rendering expected of them, and
 * broken documents with the message and line:col expected. The JSON renderer
 * here is also a tool: `test_toml --dump FILE` prints a file's tree as JSON,
 * which tests/mail/test_toml_tomllib.sh compares with Python's tomllib.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/jsonw.h"
#include "mailhound/limits.h"
#include "mh_test.h"
#include "secrets/toml.h"

static void render(struct mh_jw *w, const struct mh_toml_value *v)
{
    switch (v->type) {
    case MH_TOML_TABLE:
        mh_jw_obj_begin(w);
        for (const struct mh_toml_kv *kv = v->u.table.first; kv; kv = kv->next) {
            mh_jw_keyn(w, kv->key.ptr, kv->key.len);
            render(w, kv->val);
        }
        mh_jw_obj_end(w);
        break;
    case MH_TOML_ARRAY:
        mh_jw_arr_begin(w);
        for (const struct mh_toml_value *e = v->u.array.first; e; e = e->next) render(w, e);
        mh_jw_arr_end(w);
        break;
    case MH_TOML_STRING:
        mh_jw_strn(w, v->u.str.ptr, v->u.str.len);
        break;
    case MH_TOML_INT:
        mh_jw_int(w, v->u.i);
        break;
    case MH_TOML_FLOAT:
        if (isnan(v->u.f))
            mh_jw_str(w, "nan");
        else if (isinf(v->u.f))
            mh_jw_str(w, v->u.f > 0 ? "inf" : "-inf");
        else
            mh_jw_double(w, v->u.f);
        break;
    case MH_TOML_BOOL:
        mh_jw_bool(w, v->u.b);
        break;
    }
}

static char *to_json(const char *text, mh_status *st, mh_error *err)
{
    struct mh_toml_doc *d = NULL;
    mh_error_clear(err);
    *st = mh_toml_parse(text, strlen(text), "t.toml", &d, err);
    if (*st) return NULL;
    struct mh_buf b;
    mh_buf_init(&b, 1u << 24);
    struct mh_jw w;
    mh_jw_init(&w, &b);
    render(&w, mh_toml_root(d));
    mh_toml_free(d);
    char *s = mh_strndup(b.data ? b.data : "", b.len);
    mh_buf_fini(&b);
    return s;
}

struct ok_case {
    const char *toml, *json;
};

static const struct ok_case OK[] = {
    {"", "{}"},
    {"# only a comment\n\n", "{}"},
    {"a = 1\nb = -2\nc = +3\nd = 1_000", "{\"a\":1,\"b\":-2,\"c\":3,\"d\":1000}"},
    {"h = 0xDEAD_beef\no = 0o17\nb = 0b101", "{\"h\":3735928559,\"o\":15,\"b\":5}"},
    {"f = 3.5\ng = -0.25\ne = 1e3\nx = 2.5E-1", "{\"f\":3.5,\"g\":-0.25,\"e\":1000,\"x\":0.25}"},
    {"i = inf\nn = -inf\nq = nan", "{\"i\":\"inf\",\"n\":\"-inf\",\"q\":\"nan\"}"},
    {"t = true\nf = false", "{\"t\":true,\"f\":false}"},
    {"s = \"a\\tb\\n\\\"q\\\"\\\\ \\u00e9 \\U0001F600\"",
     "{\"s\":\"a\\tb\\n\\\"q\\\"\\\\ \xc3\xa9 \xf0\x9f\x98\x80\"}"},
    {"l = 'C:\\path\\n'", "{\"l\":\"C:\\\\path\\\\n\"}"},
    {"r = '''\n(?i)\\b(x)'''", "{\"r\":\"(?i)\\\\b(x)\"}"},
    {"r = '''a''''", "{\"r\":\"a'\"}"},
    {"m = \"\"\"\nline1\nline2 \\\n   cont\"\"\"", "{\"m\":\"line1\\nline2 cont\"}"},
    {"m = \"\"\"a\"\"\"\"\"", "{\"m\":\"a\\\"\\\"\"}"},
    {"a = [1, 2, 3,]\nb = [\n  'x', # c\n  \"y\",\n]\nc = []",
     "{\"a\":[1,2,3],\"b\":[\"x\",\"y\"],\"c\":[]}"},
    {"p = ['''\\.bb$''','''\\.bbappend$''',]", "{\"p\":[\"\\\\.bb$\",\"\\\\.bbappend$\"]}"},
    {"a.b.c = 1\na.b.d = 2\n\"q k\".'l' = 3",
     "{\"a\":{\"b\":{\"c\":1,\"d\":2}},\"q k\":{\"l\":3}}"},
    {"[t]\nx = 1\n[u.v]\ny = 2\n[u]\nz = 3", "{\"t\":{\"x\":1},\"u\":{\"v\":{\"y\":2},\"z\":3}}"},
    {"[[rules]]\nid = 'a'\n[[rules.allowlists]]\nx = 1\n[[rules.allowlists]]\nx = 2\n"
     "[[rules]]\nid = 'b'\n[rules.allowlist]\ny = 1",
     "{\"rules\":[{\"id\":\"a\",\"allowlists\":[{\"x\":1},{\"x\":2}]},"
     "{\"id\":\"b\",\"allowlist\":{\"y\":1}}]}"},
    {"  [ a . b ]  # spaced\n  k = 1", "{\"a\":{\"b\":{\"k\":1}}}"},
    {"it = { a = 1, b.c = 'x' }\ne = {}", "{\"it\":{\"a\":1,\"b\":{\"c\":\"x\"}},\"e\":{}}"},
    {"a = [[1, 2], ['x'], [{k = 1}]]", "{\"a\":[[1,2],[\"x\"],[{\"k\":1}]]}"},
    {"crlf = 1\r\n[t]\r\nx = '''a\r\nb'''\r\n", "{\"crlf\":1,\"t\":{\"x\":\"a\\r\\nb\"}}"},
    {"\xEF\xBB\xBF"
     "bom = 1",
     "{\"bom\":1}"},
    {"1234 = 'digits key'\n-x_ = 2", "{\"1234\":\"digits key\",\"-x_\":2}"},
};

struct bad_case {
    const char *toml, *msg;
    unsigned line, col;
};

static const struct bad_case BAD[] = {
    {"a = 1\na = 2", "duplicate key", 2, 1},
    {"[t]\n[t]", "table already defined", 2, 2},
    {"a = 'x\nb = 1", "newline in a single-line string", 1, 7},
    {"a = \"abc", "unterminated string", 1, 5},
    {"a = '''abc", "unterminated string", 1, 5},
    {"a = 1 2", "expected end of line", 1, 7},
    {"a = ", "expected a value", 1, 5},
    {"= 1", "expected a key", 1, 1},
    {"a 1", "expected '=' after a key", 1, 3},
    {"a = \"\\q\"", "invalid escape", 1, 6},
    {"a = \"\\uD800\"", "escape is not a Unicode scalar value", 1, 6},
    {"a = 1979-05-27", "dates and times are not supported", 1, 5},
    {"a = 07:32:00", "dates and times are not supported", 1, 5},
    {"a = 01", "leading zero in a number", 1, 5},
    {"a = 1__0", "invalid number", 1, 5},
    {"a = 9223372036854775808", "integer out of range", 1, 5},
    {"a = [1, 2", "unterminated array", 1, 10},
    {"a = [1 2]", "expected ',' or ']' in array", 1, 8},
    {"a = 1\n[[a]]", "key is not an array of tables", 2, 3},
    {"a = [1]\n[[a]]", "key is not an array of tables", 2, 3},
    {"[[a]]\n[a]", "key is not a table", 2, 2},
    {"[a]\nb.c = 1\n[a.b]", "table already defined", 3, 4},
    {"[a.b.c]\n[a]\nb.c.d = 1", "table already defined", 3, 1},
    {"a = {x = 1}\n[a]", "table already defined", 2, 2},
    {"a = {x = 1}\na.y = 2", "table already defined", 2, 1},
    {"a = { x = 1, }", "expected a key", 1, 14},
    {"a.b = 1\na.b.c = 2", "key is not a table", 2, 3},
    {"[a\nx = 1", "expected ']' after a table name", 1, 3},
    {"a = \"x\x01\"", "control character in a string", 1, 7},
    {"a = 'ok' # \xff", "invalid UTF-8", 1, 12},
    {"a = \"\xc3\x28\"", "invalid UTF-8", 1, 6},
    {"a = tru", "expected a value", 1, 5},
    {"a = 1\rb = 2", "expected end of line", 1, 6},
};

static void t_ok(void)
{
    for (size_t i = 0; i < sizeof OK / sizeof OK[0]; i++) {
        mh_status st;
        mh_error err;
        char *j = to_json(OK[i].toml, &st, &err);
        if (st) {
            char m[512];
            mh_error_format(&err, m, sizeof m);
            fprintf(stderr, "case %zu: %s\n", i, m);
        }
        CHECK_INT(st, MH_OK);
        CHECK_STREQ(j, OK[i].json);
        mh_free(j);
    }
}

static void t_bad(void)
{
    for (size_t i = 0; i < sizeof BAD / sizeof BAD[0]; i++) {
        mh_status st;
        mh_error err;
        char *j = to_json(BAD[i].toml, &st, &err);
        CHECK(j == NULL);
        mh_free(j);
        CHECK_INT(st, MH_EPARSE);
        CHECK_STREQ(err.msg, BAD[i].msg);
        if (err.line != BAD[i].line || err.column != BAD[i].col)
            fprintf(stderr, "case %zu (%s): at %llu:%llu\n", i, BAD[i].msg,
                    (unsigned long long)err.line, (unsigned long long)err.column);
        CHECK_INT(err.line, BAD[i].line);
        CHECK_INT(err.column, BAD[i].col);
        CHECK_STREQ(err.origin, "t.toml");
    }
}

static void t_limits(void)
{
    /* nesting deeper than MH_TOML_MAX_DEPTH */
    struct mh_buf b;
    mh_buf_init(&b, 1u << 20);
    CHECK_INT(mh_buf_puts(&b, "a = "), MH_OK);
    for (unsigned i = 0; i < MH_TOML_MAX_DEPTH + 1; i++) CHECK_INT(mh_buf_putc(&b, '['), MH_OK);
    struct mh_toml_doc *d = NULL;
    mh_error err;
    CHECK_INT(mh_toml_parse(b.data, b.len, NULL, &d, &err), MH_ELIMIT);
    CHECK(d == NULL);
    /* exactly at the limit parses */
    mh_buf_clear(&b);
    CHECK_INT(mh_buf_puts(&b, "a = "), MH_OK);
    for (unsigned i = 0; i < MH_TOML_MAX_DEPTH; i++) CHECK_INT(mh_buf_putc(&b, '['), MH_OK);
    for (unsigned i = 0; i < MH_TOML_MAX_DEPTH; i++) CHECK_INT(mh_buf_putc(&b, ']'), MH_OK);
    CHECK_INT(mh_toml_parse(b.data, b.len, NULL, &d, &err), MH_OK);
    mh_toml_free(d);
    /* many keys in one table stay fast (indexed) */
    mh_buf_clear(&b);
    for (int i = 0; i < 20000; i++) CHECK_INT(mh_buf_printf(&b, "k%d = %d\n", i, i), MH_OK);
    CHECK_INT(mh_buf_puts(&b, "k77 = 1\n"), MH_OK);
    CHECK_INT(mh_toml_parse(b.data, b.len, NULL, &d, &err), MH_EPARSE);
    CHECK_STREQ(err.msg, "duplicate key");
    CHECK_INT(err.line, 20001);
    mh_buf_fini(&b);
    /* embedded NUL via escape is kept, with its length */
    CHECK_INT(mh_toml_parse("s = \"a\\u0000b\"", 14, NULL, &d, &err), MH_OK);
    const struct mh_toml_value *s = mh_toml_get(mh_toml_root(d), "s");
    CHECK(s && s->type == MH_TOML_STRING && s->u.str.len == 3 && s->u.str.ptr[1] == '\0');
    mh_toml_free(d);
}

static void t_positions(void)
{
    const char *txt = "title = 'x'\n\n[[rules]]\nid = 'a'\n  [[rules]]\nid = 'b'\n";
    struct mh_toml_doc *d = NULL;
    mh_error err;
    CHECK_INT(mh_toml_parse(txt, strlen(txt), NULL, &d, &err), MH_OK);
    const struct mh_toml_value *r = mh_toml_array_first(mh_toml_get(mh_toml_root(d), "rules"));
    CHECK(r && r->line == 3 && r->col == 1);
    CHECK(r && r->next && r->next->line == 5 && r->next->col == 3);
    const struct mh_toml_value *id = mh_toml_get(r->next, "id");
    CHECK(id && id->line == 6 && id->col == 6);
    CHECK(mh_toml_get(mh_toml_root(d), "nope") == NULL);
    CHECK(mh_toml_get(id, "x") == NULL);
    CHECK(mh_toml_array_first(id) == NULL);
    mh_toml_free(d);
}

static void t_alloc_fail(void)
{
    const char *txt = "[[rules]]\nid = 'a'\nkeywords = ['x', 'y']\n[rules.allowlist]\n"
                      "regexes = ['''a''']\nt = { a = 1 }\n";
    int ok = 0;
    for (int64_t n = 0; n < 200; n++) {
        struct mh_toml_doc *d = NULL;
        mh_error err;
        mh_alloc_fail_after(n);
        mh_status st = mh_toml_parse(txt, strlen(txt), NULL, &d, &err);
        mh_alloc_fail_after(-1);
        CHECK(st == MH_OK || st == MH_ENOMEM);
        if (st == MH_OK) {
            ok++;
            mh_toml_free(d);
        }
    }
    CHECK(ok > 0);
}

static void t_gitleaks_file(void)
{
    const char *path = "../shared/corpora/gitleaks/gitleaks/gitleaks.toml";
    FILE *f = fopen(path, "rb");
    if (!f) {
        printf("skipped: %s absent\n", path);
        return;
    }
    struct mh_buf b;
    mh_buf_init(&b, MH_MAX_RULE_FILE_BYTES);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        CHECK_INT(mh_buf_append(&b, chunk, k), MH_OK);
    fclose(f);
    struct mh_toml_doc *d = NULL;
    mh_error err;
    CHECK_INT(mh_toml_parse(b.data, b.len, path, &d, &err), MH_OK);
    const struct mh_toml_value *rules = mh_toml_get(mh_toml_root(d), "rules");
    CHECK(rules && rules->type == MH_TOML_ARRAY && rules->u.array.of_tables);
    CHECK_INT(rules ? rules->u.array.n : 0, 222);
    size_t with_regex = 0;
    for (const struct mh_toml_value *r = mh_toml_array_first(rules); r; r = r->next)
        if (mh_toml_get(r, "regex")) with_regex++;
    CHECK_INT(with_regex, 221);
    mh_toml_free(d);
    mh_buf_fini(&b);
}

static int dump(const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return 2;
    struct mh_buf b, o;
    mh_buf_init(&b, MH_MAX_RULE_FILE_BYTES);
    mh_buf_init(&o, 1u << 28);
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (mh_buf_append(&b, chunk, k)) return 2;
    fclose(f);
    struct mh_toml_doc *d = NULL;
    mh_error err;
    if (mh_toml_parse(b.data, b.len, path, &d, &err)) {
        char m[512];
        mh_error_format(&err, m, sizeof m);
        fprintf(stderr, "%s\n", m);
        return 1;
    }
    struct mh_jw w;
    mh_jw_init(&w, &o);
    render(&w, mh_toml_root(d));
    fwrite(o.data, 1, o.len, stdout);
    putchar('\n');
    mh_toml_free(d);
    mh_buf_fini(&b);
    mh_buf_fini(&o);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 3 && strcmp(argv[1], "--dump") == 0) return dump(argv[2]);
    static const struct mh_test T[] = {
        {"ok", t_ok},
        {"bad", t_bad},
        {"limits", t_limits},
        {"positions", t_positions},
        {"alloc_fail", t_alloc_fail},
        {"gitleaks_file", t_gitleaks_file},
    };
    return MH_TEST_RUN(T);
}
