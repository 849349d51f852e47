/*
 * fuzz/fuzz_toml.c -- libFuzzer target for the TOML reader and the gitleaks
 * config loader (secrets/toml.c, secrets/gitleaks.c)
 *
 * Every input is parsed as TOML: on success every value is visited (types
 * known, strings NUL-terminated at their length, array/table counts equal
 * their lists, depth bounded); on failure the error carries a line and
 * column within the input. Then the same bytes are loaded as a gitleaks
 * rule file (no [extend] file access: useDefault has no default here) and,
 * when that succeeds, compiled and run over the input itself.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mailhound/limits.h"
#include "secrets/gitleaks.h"
#include "secrets/scan.h"
#include "secrets/toml.h"

#define ASSERT(c)                                                                                  \
    do {                                                                                           \
        if (!(c)) abort();                                                                         \
    } while (0)

static void visit(const struct mh_toml_value *v, unsigned depth)
{
    ASSERT(depth <= 2 * MH_TOML_MAX_DEPTH + 2);
    switch (v->type) {
    case MH_TOML_TABLE: {
        size_t n = 0;
        for (const struct mh_toml_kv *kv = v->u.table.first; kv; kv = kv->next, n++) {
            ASSERT(kv->key.ptr[kv->key.len] == '\0');
            ASSERT(mh_toml_get(v, kv->key.ptr) != NULL || memchr(kv->key.ptr, 0, kv->key.len));
            visit(kv->val, depth + 1);
        }
        ASSERT(n == v->u.table.n);
        break;
    }
    case MH_TOML_ARRAY: {
        size_t n = 0;
        for (const struct mh_toml_value *e = v->u.array.first; e; e = e->next, n++) visit(e, depth + 1);
        ASSERT(n == v->u.array.n);
        break;
    }
    case MH_TOML_STRING: ASSERT(v->u.str.ptr[v->u.str.len] == '\0'); break;
    case MH_TOML_INT:
    case MH_TOML_FLOAT:
    case MH_TOML_BOOL: break;
    default: ASSERT(0);
    }
}

static mh_status sink(void *ctx, const struct mh_secret_finding *f, const char *text)
{
    (void)ctx, (void)text;
    ASSERT(f->path_only || (f->secret_start <= f->secret_end && f->match_start <= f->match_end));
    return MH_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    struct mh_toml_doc *d = NULL;
    mh_error err;
    mh_error_clear(&err);
    if (mh_toml_parse(text, size, "fuzz.toml", &d, &err) == MH_OK) {
        visit(mh_toml_root(d), 0);
        mh_toml_free(d);
    } else {
        ASSERT(err.code != MH_OK && err.msg);
        if (err.code == MH_EPARSE) ASSERT(err.line >= 1 && err.column >= 1 && err.offset <= size);
    }
    if (size > 4096) return 0; /* keep regex compiles cheap */
    struct mh_gl_config *c = NULL;
    mh_error_clear(&err);
    if (mh_gl_load_mem(text, size, "fuzz.toml", NULL, &c, &err) != MH_OK) return 0;
    struct mh_secrets_engine *e = NULL;
    struct mh_secrets_scratch *s = NULL;
    if (mh_secrets_compile(c, 0, &e, NULL, &err) == MH_OK && mh_secrets_scratch_new(e, &s) == MH_OK) {
        mh_status rc = mh_secrets_scan(e, s, "fuzz/path", text, size, sink, NULL, NULL);
        ASSERT(rc == MH_OK || rc == MH_ENOMEM);
    }
    mh_secrets_scratch_free(s);
    mh_secrets_engine_free(e);
    mh_gl_free(c);
    return 0;
}
