/*
 * rules/load.c -- one YAML document -> one Sigma rule (detection, correlation, filter)
 *
 * Pipeline: yaml -> [load] -> ruleset (compile). Called by ruleset.c for
 * every document of every rule file.
 *
 * A detection item goes through pySigma's pipeline (sigma/rule/detection.py,
 * sigma/modifiers.py): the key is split into field and modifiers, each YAML
 * value is typed (PyYAML types: int, float, bool, null, string), then the
 * modifiers are applied left to right -- value modifiers to every value,
 * list modifiers (`all`, `neq`) to the item -- with pySigma's type checks
 * (e.g. `contains` on a number, `re` after another modifier, `exists` on a
 * keyword are errors). The surviving values are compiled into mh_vmatch.
 *
 * Every rejection names the YAML node (line:col) and the reason; a rule
 * that loads but can never run (unresolved `expand` placeholder) is kept,
 * disabled, with a warning.
 *
 * Ownership: rule data in the ruleset arena; regexes registered with
 * mh_ruleset_keep_regex (freed with the ruleset). Temporary value lists are
 * heap and freed on every path.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "mailhound/limits.h"
#include "rules/condition.h"
#include "rules/pattern.h"
#include "rules/ruleset.h"
#include "rules/yaml.h"

/* ---- loader context ---- */

struct lctx {
    mh_ruleset *rs;
    struct mh_rule *r;
    const char *file;
    mh_error *err;
    const char *disable_why; /* set: rule loads disabled */
};

static mh_status rej(struct lctx *c, const struct mh_ynode *at, const char *msg, const char *fmt,
                     ...) MH_PRINTF(4, 5);

static mh_status rej(struct lctx *c, const struct mh_ynode *at, const char *msg, const char *fmt,
                     ...)
{
    char d[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    mh_error_set(c->err, MH_EPARSE, msg, "%s", d);
    if (at) mh_error_at(c->err, c->file, at->line, at->col, at->offset, 0);
    else mh_error_at(c->err, c->file, c->r->line, c->r->col, 0, 0);
    return MH_EPARSE;
}

static void warn(struct lctx *c, const struct mh_ynode *at, const char *msg, const char *fmt, ...)
    MH_PRINTF(4, 5);

static void warn(struct lctx *c, const struct mh_ynode *at, const char *msg, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    if (at) mh_ruleset_warnv(c->rs, c->r, c->file, at->line, at->col, at->offset, msg, fmt, ap);
    else mh_ruleset_warnv(c->rs, c->r, c->file, c->r->line, c->r->col, 0, msg, fmt, ap);
    va_end(ap);
}

static char *adup(struct lctx *c, const char *s, size_t n)
{
    return mh_arena_strndup(&c->rs->arena, s, n);
}

/* Scalar text (any scalar); NULL for collections. */
static const char *scalar_text(struct lctx *c, const struct mh_ynode *n)
{
    if (!n || n->kind != MH_Y_SCALAR) return NULL;
    return adup(c, n->str, n->len);
}

static const char *lower_dup(struct lctx *c, const struct mh_ynode *n)
{
    if (!n || n->kind != MH_Y_SCALAR || mh_yscalar_type(n) == MH_YT_NULL) return NULL;
    char *s = adup(c, n->str, n->len);
    if (!s) return NULL;
    for (char *p = s; *p; p++) *p = (char)mh_ascii_lower((unsigned char)*p);
    return s;
}

/* ---- values ---- */

enum pvt {
    PV_STR = 0, PV_NUM, PV_BOOL, PV_NULL, PV_RE, PV_CIDR, PV_CMP, PV_EXISTS, PV_TIME, PV_FIELDREF
};

struct pv {
    uint8_t type;
    bool cased;
    bool b;
    bool is_int;
    uint8_t op;      /* CMP / TIME / FIELDREF shape */
    unsigned reflags;
    double num;
    struct mh_sstr s; /* STR, FIELDREF name; RE text (literal bytes); CIDR text; NUM text */
    const char *src;  /* as written */
    uint32_t src_len;
};

struct pvlist {
    struct pv *v;
    size_t n, cap;
};

static void pvlist_fini(struct pvlist *l)
{
    for (size_t i = 0; i < l->n; i++) mh_sstr_fini(&l->v[i].s);
    mh_free(l->v);
    memset(l, 0, sizeof *l);
}

static mh_status pvlist_push(struct pvlist *l, struct pv **out)
{
    if (l->n >= MH_MAX_SIGMA_ITEM_VALUES) return MH_ELIMIT;
    MH_TRY(MH_GROW(l->v, l->cap, l->n + 1, 4, MH_MAX_SIGMA_ITEM_VALUES));
    memset(&l->v[l->n], 0, sizeof l->v[l->n]);
    mh_sstr_init(&l->v[l->n].s);
    *out = &l->v[l->n++];
    return MH_OK;
}

/* Python-like repr of a number for textual comparison. */
static void num_text(double d, bool is_int, int64_t iv, char *out, size_t n)
{
    if (is_int) {
        snprintf(out, n, "%lld", (long long)iv);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(out, n, "%.*g", prec, d);
        if (strtod(out, NULL) == d) break;
    }
    if (!strchr(out, '.') && !strchr(out, 'e') && !strchr(out, 'n') && !strchr(out, 'i')) {
        size_t l = strlen(out);
        if (l + 2 < n) memcpy(out + l, ".0", 3);
    }
}

/* Type one YAML scalar the way PyYAML + pySigma's sigma_type do. */
static mh_status scalar_value(struct lctx *c, const struct mh_ynode *y, bool as_string,
                              struct pv *v)
{
    v->src = y->str;
    v->src_len = (uint32_t)y->len;
    enum mh_ytype t = as_string ? MH_YT_STR : mh_yscalar_type(y);
    if (t == MH_YT_NULL) {
        v->type = PV_NULL;
        return MH_OK;
    }
    if (t == MH_YT_BOOL) {
        v->type = PV_BOOL;
        v->b = mh_yscalar_bool(y);
        return MH_OK;
    }
    if (t == MH_YT_INT || t == MH_YT_FLOAT) {
        char txt[64];
        int64_t iv = 0;
        if (t == MH_YT_INT) {
            if (mh_yscalar_int(y, &iv) != MH_OK) {
                /* out of range for int64: keep it as a float */
                t = MH_YT_FLOAT;
            }
        }
        if (t == MH_YT_INT) {
            v->is_int = true;
            v->num = (double)iv;
        } else {
            char buf[128];
            size_t k = 0;
            for (size_t i = 0; i < y->len && k + 1 < sizeof buf; i++)
                if (y->str[i] != '_') buf[k++] = y->str[i];
            buf[k] = 0;
            if (strstr(buf, "inf") || strstr(buf, "Inf") || strstr(buf, "INF"))
                v->num = buf[0] == '-' ? -INFINITY : INFINITY;
            else if (strstr(buf, "nan") || strstr(buf, "NaN") || strstr(buf, "NAN"))
                v->num = NAN;
            else
                v->num = strtod(buf, NULL);
        }
        v->type = PV_NUM;
        num_text(v->num, v->is_int, iv, txt, sizeof txt);
        return mh_sstr_push_bytes(&v->s, txt, strlen(txt));
    }
    v->type = PV_STR;
    mh_status st = mh_sstr_parse(&v->s, y->str, y->len);
    if (st == MH_ELIMIT) return rej(c, y, "value too long", "limit %d bytes", MH_MAX_SIGMA_VALUE_BYTES);
    return st;
}

enum modid {
    M_CONTAINS = 0, M_STARTSWITH, M_ENDSWITH, M_ALL, M_BASE64, M_BASE64OFFSET, M_WIDE, M_UTF16LE,
    M_UTF16BE, M_UTF16, M_WINDASH, M_RE, M_I, M_M, M_S, M_CIDR, M_CASED, M_EXISTS, M_EXPAND,
    M_FIELDREF, M_GT, M_GTE, M_LT, M_LTE, M_NEQ, M_MINUTE, M_HOUR, M_DAY, M_WEEK, M_MONTH, M_YEAR,
    M__COUNT
};

static const struct {
    const char *name;
    int id;
} modnames[] = {
    {"contains", M_CONTAINS}, {"startswith", M_STARTSWITH}, {"endswith", M_ENDSWITH},
    {"all", M_ALL},           {"base64", M_BASE64},         {"base64offset", M_BASE64OFFSET},
    {"wide", M_WIDE},         {"utf16le", M_UTF16LE},       {"utf16be", M_UTF16BE},
    {"utf16", M_UTF16},       {"windash", M_WINDASH},       {"re", M_RE},
    {"i", M_I},               {"ignorecase", M_I},          {"m", M_M},
    {"multiline", M_M},       {"s", M_S},                   {"dotall", M_S},
    {"cidr", M_CIDR},         {"cased", M_CASED},           {"exists", M_EXISTS},
    {"expand", M_EXPAND},     {"fieldref", M_FIELDREF},     {"gt", M_GT},
    {"gte", M_GTE},           {"lt", M_LT},                 {"lte", M_LTE},
    {"neq", M_NEQ},           {"minute", M_MINUTE},         {"hour", M_HOUR},
    {"day", M_DAY},           {"week", M_WEEK},             {"month", M_MONTH},
    {"year", M_YEAR},
};

static int mod_lookup(const char *s, size_t n)
{
    for (size_t i = 0; i < sizeof modnames / sizeof modnames[0]; i++)
        if (strlen(modnames[i].name) == n && memcmp(modnames[i].name, s, n) == 0)
            return modnames[i].id;
    return -1;
}

static const char *pv_type_name(int t)
{
    static const char *const names[] = {"string", "number", "boolean", "null", "regex",
                                        "cidr", "comparison", "exists", "time part", "field reference"};
    return names[t];
}

/* ---- expand placeholders ---- */

struct expand_vals {
    uint32_t n;
    const char **v;
    uint32_t *len;
};

static mh_status load_placeholder(struct lctx *c, const char *name, size_t nlen,
                                  const struct expand_vals **out)
{
    mh_ruleset *rs = c->rs;
    struct mh_map_entry *e = mh_map_get(&rs->expand, name, nlen);
    if (e) {
        *out = (const struct expand_vals *)(uintptr_t)e->value;
        return MH_OK;
    }
    char dir[4200], path[4400];
    if (rs->opts.expand_dir) snprintf(dir, sizeof dir, "%s", rs->opts.expand_dir);
    else snprintf(dir, sizeof dir, "%s/config/expand", rs->data_dir);
    snprintf(path, sizeof path, "%s/%.*s.txt", dir, (int)nlen, name);
    struct expand_vals *ev = mh_arena_alloc(&rs->arena, sizeof *ev);
    if (!ev) return MH_ENOMEM;
    memset(ev, 0, sizeof *ev);
    FILE *f = fopen(path, "rb");
    if (f) {
        char line[4096];
        size_t cap = 0;
        while (fgets(line, sizeof line, f)) {
            size_t l = strlen(line);
            while (l && (line[l - 1] == '\n' || line[l - 1] == '\r')) l--;
            size_t b = 0;
            while (b < l && (line[b] == ' ' || line[b] == '\t')) b++;
            while (l > b && (line[l - 1] == ' ' || line[l - 1] == '\t')) l--;
            if (l == b || line[b] == '#') continue;
            if (ev->n == cap) {
                size_t nc = cap ? cap * 2 : 16;
                if (nc > MH_MAX_VALUES_PER_ITEM) break;
                const char **nv = mh_arena_alloc(&rs->arena, nc * sizeof *nv);
                uint32_t *nl = mh_arena_alloc(&rs->arena, nc * sizeof *nl);
                if (!nv || !nl) {
                    fclose(f);
                    return MH_ENOMEM;
                }
                if (ev->n) {
                    memcpy(nv, ev->v, ev->n * sizeof *nv);
                    memcpy(nl, ev->len, ev->n * sizeof *nl);
                }
                ev->v = nv;
                ev->len = nl;
                cap = nc;
            }
            ev->v[ev->n] = adup(c, line + b, l - b);
            if (!ev->v[ev->n]) {
                fclose(f);
                return MH_ENOMEM;
            }
            ev->len[ev->n] = (uint32_t)(l - b);
            ev->n++;
        }
        fclose(f);
    }
    MH_TRY(mh_map_put(&rs->expand, name, nlen, &e, NULL));
    e->value = (uint64_t)(uintptr_t)ev;
    *out = ev;
    return MH_OK;
}

/* Expand %name% placeholders in the literal text of a string value. */
static mh_status apply_expand(struct lctx *c, const struct mh_ynode *at, struct pvlist *in,
                              struct pvlist *out)
{
    for (size_t i = 0; i < in->n; i++) {
        struct pv *v = &in->v[i];
        /* find the first placeholder */
        size_t a = SIZE_MAX, b = 0;
        for (size_t k = 0; k < v->s.n; k++) {
            if (v->s.t[k] != MH_SP_LIT || v->s.b[k] != '%') continue;
            if (k > 0 && v->s.t[k - 1] == MH_SP_LIT && v->s.b[k - 1] == '\\') continue;
            size_t e = k + 1;
            while (e < v->s.n && v->s.t[e] == MH_SP_LIT && v->s.b[e] != '%' &&
                   (isalnum((unsigned char)v->s.b[e]) || v->s.b[e] == '_' || v->s.b[e] == '-'))
                e++;
            if (e < v->s.n && e > k + 1 && v->s.t[e] == MH_SP_LIT && v->s.b[e] == '%') {
                a = k, b = e;
                break;
            }
        }
        if (a == SIZE_MAX) {
            struct pv *o;
            MH_TRY(pvlist_push(out, &o));
            struct mh_sstr keep = o->s;
            *o = *v;
            o->s = keep;
            MH_TRY(mh_sstr_copy(&o->s, &v->s));
            continue;
        }
        char name[256];
        size_t nlen = b - a - 1;
        if (nlen >= sizeof name) return rej(c, at, "bad placeholder", "%s", "name too long");
        memcpy(name, v->s.b + a + 1, nlen);
        const struct expand_vals *ev = NULL;
        MH_TRY(load_placeholder(c, name, nlen, &ev));
        if (ev->n == 0) {
            if (!c->disable_why) {
                char *why = mh_arena_alloc(&c->rs->arena, nlen + 80);
                if (!why) return MH_ENOMEM;
                snprintf(why, nlen + 80, "unresolved expand placeholder %%%.*s%%", (int)nlen, name);
                c->disable_why = why;
            }
            continue;
        }
        /* one value per placeholder value; the remainder may hold more placeholders */
        struct pvlist tmp = {0};
        mh_status st = MH_OK;
        for (uint32_t k = 0; k < ev->n && st == MH_OK; k++) {
            struct pv *o;
            st = pvlist_push(&tmp, &o);
            if (st) break;
            struct mh_sstr keep = o->s;
            *o = *v;
            o->s = keep;
            for (size_t q = 0; q < a && st == MH_OK; q++) st = mh_sstr_push(&o->s, v->s.t[q], v->s.b[q]);
            if (st == MH_OK) st = mh_sstr_parse(&o->s, ev->v[k], ev->len[k]);
            for (size_t q = b + 1; q < v->s.n && st == MH_OK; q++)
                st = mh_sstr_push(&o->s, v->s.t[q], v->s.b[q]);
        }
        if (st == MH_OK) st = apply_expand(c, at, &tmp, out);
        pvlist_fini(&tmp);
        if (st) return st;
    }
    return MH_OK;
}

/* ---- CIDR ---- */

static mh_status parse_cidr(struct lctx *c, const struct mh_ynode *at, struct pv *v,
                            struct mh_vmatch *m)
{
    char buf[128];
    size_t n = v->s.n < sizeof buf - 1 ? v->s.n : sizeof buf - 1;
    memcpy(buf, v->s.b, n);
    buf[n] = 0;
    char *slash = strchr(buf, '/');
    size_t alen = slash ? (size_t)(slash - buf) : n;
    long bits = -1;
    if (slash) {
        char *end = NULL;
        errno = 0;
        bits = strtol(slash + 1, &end, 10);
        if (!*(slash + 1) || *end || errno) bits = -2;
    }
    memset(m->cidr_addr, 0, 16);
    if (mh_parse_ipv4(buf, alen, m->cidr_addr)) {
        m->cidr_v6 = false;
        if (bits == -1) bits = 32;
        if (bits < 0 || bits > 32) return rej(c, at, "invalid CIDR network", "'%s'", buf);
    } else if (mh_parse_ipv6(buf, alen, m->cidr_addr)) {
        m->cidr_v6 = true;
        if (bits == -1) bits = 128;
        if (bits < 0 || bits > 128) return rej(c, at, "invalid CIDR network", "'%s'", buf);
    } else {
        return rej(c, at, "invalid CIDR network", "'%s'", buf);
    }
    m->cidr_bits = (uint8_t)bits;
    /* host bits set: pySigma (ipaddress strict) refuses; we mask them and warn */
    int total = m->cidr_v6 ? 128 : 32;
    bool host = false;
    for (int b = (int)bits; b < total; b++) {
        uint8_t mask = (uint8_t)(0x80u >> (b % 8));
        if (m->cidr_addr[b / 8] & mask) host = true, m->cidr_addr[b / 8] &= (uint8_t)~mask;
    }
    if (host) warn(c, at, "CIDR network has host bits set", "'%s' (masked)", buf);
    return MH_OK;
}

/* ---- detection items ---- */

static mh_status compile_values(struct lctx *c, const struct mh_ynode *at, struct mh_item *it,
                                struct pvlist *vals)
{
    mh_ruleset *rs = c->rs;
    it->nvals = (uint32_t)vals->n;
    it->vals = mh_arena_alloc(&rs->arena, (vals->n ? vals->n : 1) * sizeof *it->vals);
    if (!it->vals) return MH_ENOMEM;
    memset(it->vals, 0, (vals->n ? vals->n : 1) * sizeof *it->vals);
    for (size_t i = 0; i < vals->n; i++) {
        struct pv *v = &vals->v[i];
        struct mh_vmatch *m = &it->vals[i];
        m->src = v->src ? adup(c, v->src, v->src_len) : NULL;
        m->src_len = v->src_len;
        mh_error perr;
        mh_error_clear(&perr);
        switch (v->type) {
        case PV_STR:
        case PV_NUM:
            m->kind = v->type == PV_STR ? MH_VK_STR : MH_VK_NUM;
            m->num = v->num;
            if (it->keyword) MH_TRY(mh_sstr_contains(&v->s));
            if (mh_pattern_compile(&rs->arena, &v->s, v->cased, &m->pat, &perr) != MH_OK)
                return rej(c, at, "cannot compile value", "%s %s", perr.msg ? perr.msg : "",
                           perr.detail);
            MH_TRY(mh_ruleset_keep_regex(rs, m->pat.ref));
            MH_TRY(mh_ruleset_keep_regex(rs, m->pat.re));
            break;
        case PV_BOOL:
            m->kind = MH_VK_BOOL;
            m->bval = v->b;
            break;
        case PV_NULL:
            if (it->keyword) return rej(c, at, "null keyword", "%s", "null must be bound to a field");
            m->kind = MH_VK_NULL;
            break;
        case PV_RE: {
            m->kind = MH_VK_RE;
            m->re_flags = (uint8_t)v->reflags;
            if (mh_regex_compile(v->s.b ? v->s.b : "", v->s.n, v->reflags, &m->re, &perr) != MH_OK)
                return rej(c, at, "invalid regular expression", "%s at pattern column %llu",
                           perr.detail, (unsigned long long)perr.column);
            MH_TRY(mh_ruleset_keep_regex(rs, m->re));
            break;
        }
        case PV_CIDR:
            m->kind = MH_VK_CIDR;
            MH_TRY(parse_cidr(c, at, v, m));
            break;
        case PV_CMP:
            m->kind = MH_VK_CMP;
            m->op = v->op;
            m->num = v->num;
            break;
        case PV_EXISTS:
            m->kind = MH_VK_EXISTS;
            m->bval = v->b;
            break;
        case PV_TIME:
            m->kind = MH_VK_TIME;
            m->op = v->op;
            m->num = v->num;
            break;
        case PV_FIELDREF:
            m->kind = MH_VK_FIELDREF;
            m->op = v->op;
            m->cased = v->cased;
            m->ref_name = adup(c, v->s.b ? v->s.b : "", v->s.n);
            if (!m->ref_name) return MH_ENOMEM;
            m->field = MH_FIELD_KEYWORD;
            break;
        }
    }
    return MH_OK;
}

struct windash_ctx {
    struct pvlist *out;
    const struct pv *tmpl;
};

static mh_status windash_emit(void *ctx, const struct mh_sstr *s)
{
    struct windash_ctx *w = ctx;
    struct pv *o;
    MH_TRY(pvlist_push(w->out, &o));
    struct mh_sstr keep = o->s;
    *o = *w->tmpl;
    o->s = keep;
    return mh_sstr_copy(&o->s, s);
}

static mh_status parse_item(struct lctx *c, const struct mh_ynode *key, const struct mh_ynode *val,
                            struct mh_item **out)
{
    mh_status st = MH_OK;
    mh_ruleset *rs = c->rs;
    struct pvlist vals = {0}, tmp = {0};
    struct mh_item *it = mh_arena_alloc(&rs->arena, sizeof *it);
    if (!it) return MH_ENOMEM;
    memset(it, 0, sizeof *it);
    it->line = key ? key->line : val->line;
    it->col = key ? key->col : val->col;
    it->field = MH_FIELD_KEYWORD;
    const struct mh_ynode *at = key ? key : val;

    /* key: field|mod|mod */
    int mods[32];
    size_t nmods = 0;
    const char *field = NULL;
    size_t flen = 0;
    if (key) {
        if (key->kind != MH_Y_SCALAR) return rej(c, key, "bad detection key", "%s", "not a string");
        it->key = adup(c, key->str, key->len);
        const char *k = key->str, *end = key->str + key->len;
        const char *bar = memchr(k, '|', key->len);
        field = k;
        flen = bar ? (size_t)(bar - k) : key->len;
        const char *p = bar;
        while (p && p < end) {
            const char *q = memchr(p + 1, '|', (size_t)(end - p - 1));
            const char *me = q ? q : end;
            int id = mod_lookup(p + 1, (size_t)(me - p - 1));
            if (id < 0)
                return rej(c, key, "unknown modifier", "'%.*s' in '%s'", (int)(me - p - 1), p + 1,
                           it->key);
            if (nmods == sizeof mods / sizeof mods[0])
                return rej(c, key, "too many modifiers", "'%s'", it->key);
            mods[nmods++] = id;
            p = q;
        }
    }
    it->keyword = !field || flen == 0;
    if (!it->keyword) {
        it->fname = adup(c, field, flen);
        if (!it->fname) return MH_ENOMEM;
    }
    bool has_re = false;
    for (size_t i = 0; i < nmods; i++) has_re |= mods[i] == M_RE;

    /* values */
    if (val->kind == MH_Y_MAP)
        return rej(c, val, "bad detection value", "a mapping is not a value (under '%s')",
                   it->key ? it->key : "keyword");
    size_t nv = val->kind == MH_Y_SEQ ? val->n : 1;
    for (size_t i = 0; i < nv; i++) {
        const struct mh_ynode *y = val->kind == MH_Y_SEQ ? val->kids[i] : val;
        if (y->kind != MH_Y_SCALAR) {
            st = rej(c, y, "bad detection value", "nested %s in a value list",
                     y->kind == MH_Y_MAP ? "mapping" : "list");
            goto out;
        }
        struct pv *v;
        st = pvlist_push(&vals, &v);
        if (st == MH_ELIMIT) st = rej(c, y, "too many values", "limit %d", MH_MAX_SIGMA_ITEM_VALUES);
        if (st) goto out;
        st = scalar_value(c, y, has_re, v);
        if (st) goto out;
    }

    /* modifiers, left to right */
    bool utf16_applied = false;
    for (size_t mi = 0; mi < nmods; mi++) {
        int m = mods[mi];
        const char *mname = NULL;
        for (size_t q = 0; q < sizeof modnames / sizeof modnames[0]; q++)
            if (modnames[q].id == m) {
                mname = modnames[q].name;
                break;
            }
        if (m == M_ALL) {
            it->all = true;
            continue;
        }
        if (m == M_NEQ) {
            it->negated = true;
            continue;
        }
        if ((m == M_RE || m == M_CIDR || m == M_EXISTS) && mi > 0) {
            st = rej(c, key, "modifier order", "'%s' only applies to unmodified values ('%s')",
                     mname, it->key);
            goto out;
        }
        if (m == M_EXISTS && it->keyword) {
            st = rej(c, key, "bad modifier", "%s", "'exists' must be applied to a field");
            goto out;
        }
        if (m == M_EXPAND) {
            for (size_t i = 0; i < vals.n; i++)
                if (vals.v[i].type != PV_STR && vals.v[i].type != PV_RE) {
                    st = rej(c, key, "modifier incompatible with value",
                             "'expand' on a %s value", pv_type_name(vals.v[i].type));
                    goto out;
                }
            st = apply_expand(c, key, &vals, &tmp);
            if (st) goto out;
            pvlist_fini(&vals);
            vals = tmp;
            memset(&tmp, 0, sizeof tmp);
            continue;
        }
        for (size_t i = 0; i < vals.n; i++) {
            struct pv *v = &vals.v[i];
            int t = v->type;
            bool ok = true;
            switch (m) {
            case M_CONTAINS:
            case M_STARTSWITH:
            case M_ENDSWITH:
                if (t == PV_STR) {
                    st = m == M_CONTAINS     ? mh_sstr_contains(&v->s)
                         : m == M_STARTSWITH ? mh_sstr_startswith(&v->s)
                                             : mh_sstr_endswith(&v->s);
                } else if (t == PV_RE) {
                    /* regexes are searched unanchored: adding .* changes nothing */
                } else if (t == PV_FIELDREF) {
                    uint8_t want = m == M_CONTAINS ? MH_PS_CONTAINS
                                   : m == M_STARTSWITH ? MH_PS_PREFIX
                                                       : MH_PS_SUFFIX;
                    if (v->op == MH_PS_EXACT) v->op = want;
                    else if (v->op != want) v->op = MH_PS_CONTAINS;
                } else {
                    ok = false;
                }
                break;
            case M_BASE64:
            case M_BASE64OFFSET:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                if (mh_sstr_has_wild(&v->s)) {
                    st = rej(c, key, "bad value for base64",
                             "%s", "base64 encoding of strings with wildcards is not allowed");
                    goto out;
                }
                break;
            case M_WIDE:
            case M_UTF16LE:
            case M_UTF16BE:
            case M_UTF16:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                st = mh_sstr_utf16(&v->s, m == M_UTF16BE ? 1 : m == M_UTF16 ? 2 : 0);
                if (st == MH_EINVAL) {
                    st = rej(c, key, "bad value for UTF-16 modifier",
                             "'%s' only allowed for ASCII strings", mname);
                    goto out;
                }
                break;
            case M_WINDASH:
                ok = t == PV_STR;
                break;
            case M_RE:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                /* the regex is the value as written, without Sigma escaping */
                v->type = PV_RE;
                v->s.n = 0;
                st = mh_sstr_push_bytes(&v->s, v->src, v->src_len);
                break;
            case M_I:
            case M_M:
            case M_S:
                if (t != PV_RE) {
                    ok = false;
                    break;
                }
                v->reflags |= m == M_I ? MH_RE_CASELESS : m == M_M ? MH_RE_MULTILINE : MH_RE_DOTALL;
                break;
            case M_CIDR:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                v->type = PV_CIDR;
                break;
            case M_CASED:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                v->cased = true;
                break;
            case M_EXISTS:
                if (t != PV_BOOL) {
                    ok = false;
                    break;
                }
                v->type = PV_EXISTS;
                break;
            case M_FIELDREF:
                if (t != PV_STR) {
                    ok = false;
                    break;
                }
                if (mh_sstr_has_wild(&v->s)) {
                    st = rej(c, key, "bad field reference", "%s",
                             "field references must not contain wildcards");
                    goto out;
                }
                v->type = PV_FIELDREF;
                v->op = MH_PS_EXACT;
                break;
            case M_GT:
            case M_GTE:
            case M_LT:
            case M_LTE:
                if (t != PV_NUM) {
                    ok = false;
                    break;
                }
                v->type = PV_CMP;
                v->op = m == M_GT ? MH_CMP_GT : m == M_GTE ? MH_CMP_GTE : m == M_LT ? MH_CMP_LT : MH_CMP_LTE;
                break;
            case M_MINUTE:
            case M_HOUR:
            case M_DAY:
            case M_WEEK:
            case M_MONTH:
            case M_YEAR:
                if (t != PV_NUM) {
                    ok = false;
                    break;
                }
                v->type = PV_TIME;
                v->op = (uint8_t)(m - M_MINUTE);
                break;
            default:
                break;
            }
            if (st == MH_ELIMIT) {
                st = rej(c, key, "value too long", "after '%s'", mname);
                goto out;
            }
            if (st) goto out;
            if (!ok) {
                st = rej(c, key, "modifier incompatible with value", "'%s' on a %s value (%.*s)",
                         mname, pv_type_name(t), (int)(v->src_len > 60 ? 60 : v->src_len),
                         v->src ? v->src : "");
                goto out;
            }
        }
        /* multi-value transforms */
        if (m == M_BASE64) {
            for (size_t i = 0; i < vals.n; i++) {
                st = mh_sstr_base64(&vals.v[i].s, utf16_applied);
                if (st) goto out;
            }
        } else if (m == M_BASE64OFFSET || m == M_WINDASH) {
            for (size_t i = 0; i < vals.n; i++) {
                struct pv *v = &vals.v[i];
                if (m == M_BASE64OFFSET) {
                    struct mh_sstr o[3];
                    for (int k = 0; k < 3; k++) mh_sstr_init(&o[k]);
                    st = mh_sstr_base64offset(&v->s, utf16_applied, o);
                    for (int k = 0; k < 3 && st == MH_OK; k++) {
                        struct pv *n;
                        st = pvlist_push(&tmp, &n);
                        if (st) break;
                        struct mh_sstr keep = n->s;
                        *n = *v;
                        n->s = keep;
                        st = mh_sstr_copy(&n->s, &o[k]);
                    }
                    for (int k = 0; k < 3; k++) mh_sstr_fini(&o[k]);
                } else {
                    struct windash_ctx w = {&tmp, v};
                    st = mh_sstr_windash(&v->s, MH_MAX_VALUES_PER_ITEM, windash_emit, &w);
                }
                if (st == MH_ELIMIT) {
                    st = rej(c, key, "too many values", "'%s' expands past %d values", mname,
                             MH_MAX_VALUES_PER_ITEM);
                    goto out;
                }
                if (st) goto out;
            }
            pvlist_fini(&vals);
            vals = tmp;
            memset(&tmp, 0, sizeof tmp);
        }
        if (m == M_UTF16) utf16_applied = true;
    }
    if (it->all && nv < 2 && vals.n < 2 && !it->keyword) {
        /* pySigma accepts `all` on one value; the SigmaHQ validator warns */
    }
    for (size_t i = 0; i < nmods; i++)
        if (mods[i] == M_WINDASH && it->all) {
            st = rej(c, key, "bad modifiers", "%s", "'all' cannot be combined with 'windash'");
            goto out;
        }
    for (size_t i = 0; i < vals.n; i++)
        if (vals.v[i].type == PV_BOOL && it->keyword) {
            /* keyword true/false: search the text */
            vals.v[i].type = PV_STR;
            st = mh_sstr_push_bytes(&vals.v[i].s, vals.v[i].b ? "true" : "false",
                                    vals.v[i].b ? 4 : 5);
            if (st) goto out;
        }
    if (vals.n == 0 && !c->disable_why) {
        if (it->keyword) {
            st = rej(c, at, "empty keyword list", "%s", "no value");
            goto out;
        }
        /* `field: []` is null in pySigma */
        struct pv *v;
        st = pvlist_push(&vals, &v);
        if (st) goto out;
        v->type = PV_NULL;
    }
    st = compile_values(c, val, it, &vals);
    if (st) goto out;
    *out = it;
out:
    pvlist_fini(&tmp);
    pvlist_fini(&vals);
    return st;
}

static struct mh_dnode *dnode(struct lctx *c, int kind, uint32_t n)
{
    struct mh_dnode *d = mh_arena_alloc(&c->rs->arena, sizeof *d);
    if (!d) return NULL;
    memset(d, 0, sizeof *d);
    d->kind = (uint8_t)kind;
    d->n = n;
    if (n) {
        d->kids = mh_arena_alloc(&c->rs->arena, n * sizeof *d->kids);
        if (!d->kids) return NULL;
    }
    return d;
}

static mh_status parse_detection(struct lctx *c, const struct mh_ynode *y, int depth,
                                 struct mh_dnode **out)
{
    if (depth > MH_MAX_CONDITION_DEPTH)
        return rej(c, y, "detection too deeply nested", "limit %d", MH_MAX_CONDITION_DEPTH);
    if (y->kind == MH_Y_MAP) {
        if (y->n == 0) return rej(c, y, "empty detection", "%s", "the mapping has no field");
        struct mh_dnode *d = dnode(c, MH_DN_AND, y->n);
        if (!d) return MH_ENOMEM;
        for (uint32_t i = 0; i < y->n; i++) {
            struct mh_dnode *leaf = dnode(c, MH_DN_ITEM, 0);
            if (!leaf) return MH_ENOMEM;
            MH_TRY(parse_item(c, y->kids[2 * i], y->kids[2 * i + 1], &leaf->item));
            d->kids[i] = leaf;
        }
        *out = d->n == 1 ? d->kids[0] : d;
        return MH_OK;
    }
    if (y->kind == MH_Y_SEQ) {
        if (y->n == 0) return rej(c, y, "empty detection", "%s", "the list is empty");
        bool scalars = true;
        for (uint32_t i = 0; i < y->n; i++) scalars &= y->kids[i]->kind == MH_Y_SCALAR;
        if (scalars) {
            struct mh_dnode *leaf = dnode(c, MH_DN_ITEM, 0);
            if (!leaf) return MH_ENOMEM;
            MH_TRY(parse_item(c, NULL, y, &leaf->item));
            *out = leaf;
            return MH_OK;
        }
        struct mh_dnode *d = dnode(c, MH_DN_OR, y->n);
        if (!d) return MH_ENOMEM;
        for (uint32_t i = 0; i < y->n; i++) MH_TRY(parse_detection(c, y->kids[i], depth + 1, &d->kids[i]));
        *out = d->n == 1 ? d->kids[0] : d;
        return MH_OK;
    }
    struct mh_dnode *leaf = dnode(c, MH_DN_ITEM, 0);
    if (!leaf) return MH_ENOMEM;
    MH_TRY(parse_item(c, NULL, y, &leaf->item));
    *out = leaf;
    return MH_OK;
}

/* Parse the search identifiers and condition of a detection/filter section. */
static mh_status parse_detection_section(struct lctx *c, const struct mh_ynode *det,
                                         const struct mh_ynode *condnode,
                                         struct mh_cond_agg *agg, const struct mh_ynode **aggat)
{
    struct mh_rule *r = c->r;
    uint32_t nd = 0;
    for (uint32_t i = 0; i < det->n; i++) {
        const struct mh_ynode *k = det->kids[2 * i];
        if (mh_yscalar_is(k, "condition") || mh_yscalar_is(k, "timeframe")) continue;
        if (r->kind == MH_RK_FILTER && mh_yscalar_is(k, "rules")) continue;
        nd++;
    }
    if (nd == 0) return rej(c, det, "no search identifier", "%s", "the detection defines no selection");
    r->dets = mh_arena_alloc(&c->rs->arena, nd * sizeof *r->dets);
    if (!r->dets) return MH_ENOMEM;
    r->ndets = 0;
    for (uint32_t i = 0; i < det->n; i++) {
        const struct mh_ynode *k = det->kids[2 * i];
        if (mh_yscalar_is(k, "condition") || mh_yscalar_is(k, "timeframe")) continue;
        if (r->kind == MH_RK_FILTER && mh_yscalar_is(k, "rules")) continue;
        if (k->kind != MH_Y_SCALAR || k->len == 0)
            return rej(c, k, "bad search identifier", "%s", "must be a non-empty string");
        for (uint32_t j = 0; j < r->ndets; j++)
            if (strcmp(r->dets[j].name, k->str) == 0)
                warn(c, k, "duplicate search identifier", "'%s' (the last one wins, as PyYAML)",
                     k->str);
        struct mh_det *d = &r->dets[r->ndets];
        /* duplicates: PyYAML keeps the last; replace the earlier one */
        uint32_t slot = r->ndets;
        for (uint32_t j = 0; j < r->ndets; j++)
            if (strcmp(r->dets[j].name, k->str) == 0) slot = j, d = &r->dets[j];
        d->name = adup(c, k->str, k->len);
        d->line = k->line;
        d->col = k->col;
        MH_TRY(parse_detection(c, det->kids[2 * i + 1], 0, &d->root));
        if (slot == r->ndets) r->ndets++;
    }
    if (!condnode) return rej(c, det, "missing condition", "%s", "detection has no 'condition'");
    uint32_t nc = condnode->kind == MH_Y_SEQ ? condnode->n : 1;
    if (condnode->kind == MH_Y_MAP || nc == 0)
        return rej(c, condnode, "bad condition", "%s", "must be a string or a list of strings");
    struct mh_cnode *root = NULL;
    if (nc > 1) {
        root = mh_arena_alloc(&c->rs->arena, sizeof *root);
        if (!root) return MH_ENOMEM;
        memset(root, 0, sizeof *root);
        root->kind = MH_CN_OR;
        root->n = nc;
        root->kids = mh_arena_alloc(&c->rs->arena, nc * sizeof *root->kids);
        if (!root->kids) return MH_ENOMEM;
    }
    for (uint32_t i = 0; i < nc; i++) {
        const struct mh_ynode *cn = condnode->kind == MH_Y_SEQ ? condnode->kids[i] : condnode;
        if (cn->kind != MH_Y_SCALAR)
            return rej(c, cn, "bad condition", "%s", "must be a string");
        mh_error perr;
        mh_error_clear(&perr);
        struct mh_cnode *t = NULL;
        struct mh_cond_agg a;
        mh_status st = mh_cond_parse(&c->rs->arena, cn->str, cn->len, r->dets, r->ndets, &t,
                                     agg ? &a : NULL, &perr);
        if (st == MH_ENOMEM) return st;
        if (st) {
            mh_error_set(c->err, MH_EPARSE, perr.msg, "%s (condition: '%s')", perr.detail, cn->str);
            /* column inside a plain single-line scalar maps to the file */
            uint64_t col = cn->col + (cn->style == MH_YS_PLAIN ? perr.column - 1 : 0);
            mh_error_at(c->err, c->file, cn->line, col, cn->offset, 0);
            return MH_EPARSE;
        }
        if (agg && a.present) {
            if (nc > 1) return rej(c, cn, "bad condition", "%s", "aggregation in a condition list");
            *agg = a;
            *aggat = cn;
        }
        if (nc > 1) root->kids[i] = t;
        else root = t;
    }
    r->cond = root;
    return MH_OK;
}

/* ---- durations ---- */

static bool parse_span(const char *s, size_t n, int64_t *us, bool *ambiguous)
{
    *ambiguous = false;
    size_t i = 0;
    while (i < n && s[i] == ' ') i++;
    size_t d0 = i;
    uint64_t v = 0;
    while (i < n && s[i] >= '0' && s[i] <= '9') {
        if (v > 1000000000ull) return false;
        v = v * 10 + (uint64_t)(s[i++] - '0');
    }
    if (i == d0 || i + 1 != n) return false;
    int64_t mul;
    switch (s[i]) {
    case 's': mul = 1; break;
    case 'm': mul = 60; break;
    case 'h': mul = 3600; break;
    case 'd': mul = 86400; break;
    case 'w': mul = 7 * 86400; break;
    case 'M':
    case 'y': *ambiguous = true; return false;
    default: return false;
    }
    *us = (int64_t)v * mul * 1000000;
    return true;
}

/* ---- correlation ---- */

static mh_status str_list(struct lctx *c, const struct mh_ynode *y, uint32_t *n, const char ***out,
                          const char *what)
{
    uint32_t k = y->kind == MH_Y_SEQ ? y->n : 1;
    if (y->kind == MH_Y_MAP) return rej(c, y, "bad correlation", "'%s' must be a list", what);
    const char **v = mh_arena_alloc(&c->rs->arena, (k ? k : 1) * sizeof *v);
    if (!v) return MH_ENOMEM;
    for (uint32_t i = 0; i < k; i++) {
        const struct mh_ynode *e = y->kind == MH_Y_SEQ ? y->kids[i] : y;
        if (e->kind != MH_Y_SCALAR || e->len == 0)
            return rej(c, e, "bad correlation", "'%s' entries must be strings", what);
        v[i] = adup(c, e->str, e->len);
        if (!v[i]) return MH_ENOMEM;
    }
    *n = k;
    *out = v;
    return MH_OK;
}

static mh_status parse_bounds(struct lctx *c, const struct mh_ynode *cond, struct mh_corr *k)
{
    static const struct {
        const char *name;
        uint8_t op;
    } ops[] = {{"gt", MH_CMP_GT}, {"gte", MH_CMP_GTE}, {"lt", MH_CMP_LT},
               {"lte", MH_CMP_LTE}, {"eq", MH_CMP_EQ},  {"neq", MH_CMP_NEQ}};
    if (cond->kind != MH_Y_MAP) return rej(c, cond, "bad correlation condition", "%s", "must be a mapping");
    for (uint32_t i = 0; i < cond->n; i++) {
        const struct mh_ynode *key = cond->kids[2 * i], *v = cond->kids[2 * i + 1];
        if (mh_yscalar_is(key, "field")) {
            if (v->kind != MH_Y_SCALAR) return rej(c, v, "bad correlation condition", "%s", "'field' must be a string");
            k->field = adup(c, v->str, v->len);
            continue;
        }
        if (mh_yscalar_is(key, "percentile")) {
            enum mh_ytype t = mh_yscalar_type(v);
            if (t != MH_YT_INT && t != MH_YT_FLOAT)
                return rej(c, v, "bad correlation condition", "%s", "'percentile' must be a number");
            k->percentile = strtod(v->str, NULL);
            continue;
        }
        int op = -1;
        for (size_t q = 0; q < sizeof ops / sizeof ops[0]; q++)
            if (mh_yscalar_is(key, ops[q].name)) op = ops[q].op;
        if (op < 0)
            return rej(c, key, "bad correlation condition", "unknown operator '%s'",
                       key->kind == MH_Y_SCALAR ? key->str : "?");
        enum mh_ytype t = mh_yscalar_type(v);
        if (t != MH_YT_INT && t != MH_YT_FLOAT)
            return rej(c, v, "bad correlation condition", "'%s' needs a number", key->str);
        if (k->nbounds == 2)
            return rej(c, key, "bad correlation condition", "%s", "at most two bounds (a range)");
        k->bounds[k->nbounds].op = (uint8_t)op;
        k->bounds[k->nbounds].value = strtod(v->str, NULL);
        k->nbounds++;
    }
    if (k->nbounds == 2) {
        bool lo0 = k->bounds[0].op == MH_CMP_GT || k->bounds[0].op == MH_CMP_GTE;
        bool hi0 = k->bounds[0].op == MH_CMP_LT || k->bounds[0].op == MH_CMP_LTE;
        bool lo1 = k->bounds[1].op == MH_CMP_GT || k->bounds[1].op == MH_CMP_GTE;
        bool hi1 = k->bounds[1].op == MH_CMP_LT || k->bounds[1].op == MH_CMP_LTE;
        if (!((lo0 && hi1) || (hi0 && lo1)))
            return rej(c, cond, "bad correlation condition", "%s",
                       "two bounds must form a range (one of gt/gte and one of lt/lte)");
    }
    return MH_OK;
}

static mh_status load_correlation(struct lctx *c, const struct mh_ynode *root)
{
    struct mh_rule *r = c->r;
    const struct mh_ynode *cy = mh_ymap_get(root, "correlation");
    if (cy->kind != MH_Y_MAP) return rej(c, cy, "bad correlation", "%s", "'correlation' must be a mapping");
    struct mh_corr *k = mh_arena_alloc(&c->rs->arena, sizeof *k);
    if (!k) return MH_ENOMEM;
    memset(k, 0, sizeof *k);
    k->percentile = 50;
    r->corr = k;
    const struct mh_ynode *t = mh_ymap_get(cy, "type");
    static const char *const types[] = {"event_count", "value_count", "temporal", "temporal_ordered",
                                        "value_sum", "value_avg", "value_percentile", NULL};
    if (!t || t->kind != MH_Y_SCALAR) return rej(c, cy, "bad correlation", "%s", "missing 'type'");
    int ti = -1;
    for (int i = 0; types[i]; i++)
        if (mh_yscalar_is(t, types[i])) ti = i;
    if (ti < 0) {
        if (mh_yscalar_is(t, "value_median") || mh_yscalar_is(t, "temporal_extended") ||
            mh_yscalar_is(t, "temporal_ordered_extended"))
            return rej(c, t, "unsupported correlation type", "'%s' is a pySigma extension, not in the specification", t->str);
        return rej(c, t, "unknown correlation type", "'%s'", t->str);
    }
    k->type = (uint8_t)ti;
    const struct mh_ynode *rules = mh_ymap_get(cy, "rules");
    if (!rules) return rej(c, cy, "bad correlation", "%s", "missing 'rules'");
    MH_TRY(str_list(c, rules, &k->nrules, &k->rule_refs, "rules"));
    if (k->nrules == 0) return rej(c, rules, "bad correlation", "%s", "'rules' is empty");
    const struct mh_ynode *gb = mh_ymap_get(cy, "group-by");
    if (gb) {
        MH_TRY(str_list(c, gb, &k->ngroup, &k->group_by, "group-by"));
    } else {
        warn(c, cy, "correlation without group-by", "%s", "one global group (decision, docs/sigma.md)");
    }
    const struct mh_ynode *ts = mh_ymap_get(cy, "timespan");
    if (!ts) ts = mh_ymap_get(cy, "timeframe");
    if (!ts || ts->kind != MH_Y_SCALAR) return rej(c, cy, "bad correlation", "%s", "missing 'timespan'");
    bool amb = false;
    if (!parse_span(ts->str, ts->len, &k->timespan_us, &amb))
        return rej(c, ts, "bad timespan", amb ? "'%s': months and years have no fixed length" : "'%s' (number + s m h d w)", ts->str);
    if (k->timespan_us <= 0) return rej(c, ts, "bad timespan", "'%s' must be positive", ts->str);
    const struct mh_ynode *cond = mh_ymap_get(cy, "condition");
    if (cond) MH_TRY(parse_bounds(c, cond, k));
    bool needs_cond = k->type != MH_CORR_TEMPORAL && k->type != MH_CORR_TEMPORAL_ORDERED;
    if (needs_cond && k->nbounds == 0)
        return rej(c, cond ? cond : cy, "bad correlation", "'%s' needs a condition", types[ti]);
    bool needs_field = k->type == MH_CORR_VALUE_COUNT || k->type == MH_CORR_VALUE_SUM ||
                       k->type == MH_CORR_VALUE_AVG || k->type == MH_CORR_VALUE_PERCENTILE;
    if (needs_field && !k->field)
        return rej(c, cond ? cond : cy, "bad correlation", "'%s' needs condition.field", types[ti]);
    const struct mh_ynode *al = mh_ymap_get(cy, "aliases");
    if (al) {
        if (al->kind != MH_Y_MAP) return rej(c, al, "bad correlation", "%s", "'aliases' must be a mapping");
        k->naliases = al->n;
        k->aliases = mh_arena_alloc(&c->rs->arena, (al->n ? al->n : 1) * sizeof *k->aliases);
        if (!k->aliases) return MH_ENOMEM;
        for (uint32_t i = 0; i < al->n; i++) {
            const struct mh_ynode *an = al->kids[2 * i], *am = al->kids[2 * i + 1];
            struct mh_corr_alias *a = &k->aliases[i];
            if (an->kind != MH_Y_SCALAR || am->kind != MH_Y_MAP)
                return rej(c, an, "bad correlation alias", "%s", "alias: {rule: field, ...}");
            a->name = adup(c, an->str, an->len);
            a->n = am->n;
            a->rules = mh_arena_alloc(&c->rs->arena, (am->n ? am->n : 1) * sizeof *a->rules);
            a->fields = mh_arena_alloc(&c->rs->arena, (am->n ? am->n : 1) * sizeof *a->fields);
            if (!a->rules || !a->fields) return MH_ENOMEM;
            for (uint32_t j = 0; j < am->n; j++) {
                const struct mh_ynode *rk = am->kids[2 * j], *fv = am->kids[2 * j + 1];
                if (rk->kind != MH_Y_SCALAR || fv->kind != MH_Y_SCALAR)
                    return rej(c, rk, "bad correlation alias", "%s", "alias: {rule: field, ...}");
                a->rules[j] = adup(c, rk->str, rk->len);
                a->fields[j] = adup(c, fv->str, fv->len);
            }
            bool grouped = false;
            for (uint32_t j = 0; j < k->ngroup; j++) grouped |= strcmp(k->group_by[j], a->name) == 0;
            if (!grouped) warn(c, an, "alias not used in group-by", "'%s'", a->name);
        }
    }
    const struct mh_ynode *gen = mh_ymap_get(cy, "generate");
    if (!gen) gen = mh_ymap_get(root, "generate");
    if (gen) {
        if (mh_yscalar_type(gen) != MH_YT_BOOL)
            return rej(c, gen, "bad correlation", "%s", "'generate' must be true or false");
        k->generate = mh_yscalar_bool(gen);
    }
    return MH_OK;
}

/* ---- filter ---- */

static mh_status load_filter(struct lctx *c, const struct mh_ynode *root)
{
    struct mh_rule *r = c->r;
    const struct mh_ynode *fy = mh_ymap_get(root, "filter");
    if (fy->kind != MH_Y_MAP) return rej(c, fy, "bad filter", "%s", "'filter' must be a mapping");
    if (!mh_ymap_get(root, "logsource"))
        return rej(c, fy, "bad filter", "%s", "a filter needs a 'logsource'");
    struct mh_filter *f = mh_arena_alloc(&c->rs->arena, sizeof *f);
    if (!f) return MH_ENOMEM;
    memset(f, 0, sizeof *f);
    r->filter = f;
    const struct mh_ynode *rules = mh_ymap_get(fy, "rules");
    if (!rules || (rules->kind == MH_Y_SCALAR && mh_yscalar_is(rules, "any")) ||
        (rules->kind == MH_Y_SEQ && rules->n == 0)) {
        f->any_rule = true;
    } else {
        MH_TRY(str_list(c, rules, &f->nrules, &f->rule_refs, "rules"));
    }
    MH_TRY(parse_detection_section(c, fy, mh_ymap_get(fy, "condition"), NULL, NULL));
    if (!mh_cond_has_not(r->cond))
        warn(c, mh_ymap_get(fy, "condition"), "filter condition has no 'not'",
             "%s", "it restricts the rules to matching events instead of suppressing them "
                   "(pySigma semantics: rule and filter)");
    return MH_OK;
}

/* ---- the document ---- */

static mh_status load_tags(struct lctx *c, const struct mh_ynode *tags)
{
    struct mh_rule *r = c->r;
    if (tags->kind == MH_Y_SCALAR) {
        if (mh_yscalar_type(tags) == MH_YT_NULL) return MH_OK;
        r->tags = mh_arena_alloc(&c->rs->arena, sizeof *r->tags);
        if (!r->tags) return MH_ENOMEM;
        r->tags[0] = scalar_text(c, tags);
        r->ntags = 1;
        return MH_OK;
    }
    if (tags->kind != MH_Y_SEQ) return rej(c, tags, "bad tags", "%s", "must be a list");
    uint32_t n = tags->n < MH_RULE_MAX_TAGS ? tags->n : MH_RULE_MAX_TAGS;
    r->tags = mh_arena_alloc(&c->rs->arena, (n ? n : 1) * sizeof *r->tags);
    if (!r->tags) return MH_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        const char *t = scalar_text(c, tags->kids[i]);
        if (!t) return rej(c, tags->kids[i], "bad tags", "%s", "tags must be strings");
        r->tags[r->ntags++] = t;
    }
    return MH_OK;
}

/* Build the implicit correlation of a legacy `| count()` condition. */
static mh_status legacy_correlation(struct lctx *c, const struct mh_cond_agg *agg,
                                    const struct mh_ynode *at, const struct mh_ynode *det,
                                    struct mh_rule **extra)
{
    struct mh_rule *base = c->r;
    struct mh_rule *r = mh_arena_alloc(&c->rs->arena, sizeof *r);
    struct mh_corr *k = mh_arena_alloc(&c->rs->arena, sizeof *k);
    if (!r || !k) return MH_ENOMEM;
    *r = *base;
    memset(k, 0, sizeof *k);
    r->kind = MH_RK_CORRELATION;
    r->dets = NULL;
    r->ndets = 0;
    r->cond = NULL;
    r->corr = k;
    k->implicit = true;
    k->type = agg->distinct ? MH_CORR_VALUE_COUNT : MH_CORR_EVENT_COUNT;
    char nm[96];
    snprintf(nm, sizeof nm, "__legacy_%s_%u_%u", base->id ? base->id : "rule", base->line,
             (unsigned)c->rs->nrules);
    base->name = adup(c, nm, strlen(nm));
    base->id = NULL;
    k->nrules = 1;
    k->rule_refs = mh_arena_alloc(&c->rs->arena, sizeof *k->rule_refs);
    if (!k->rule_refs || !base->name) return MH_ENOMEM;
    k->rule_refs[0] = base->name;
    if (agg->distinct) k->field = adup(c, agg->field, strlen(agg->field));
    if (agg->group[0]) {
        k->ngroup = 1;
        k->group_by = mh_arena_alloc(&c->rs->arena, sizeof *k->group_by);
        if (!k->group_by) return MH_ENOMEM;
        k->group_by[0] = adup(c, agg->group, strlen(agg->group));
    }
    k->nbounds = 1;
    k->bounds[0].op = agg->op;
    k->bounds[0].value = agg->value;
    const struct mh_ynode *tf = mh_ymap_get(det, "timeframe");
    if (tf && tf->kind == MH_Y_SCALAR) {
        bool amb;
        if (!parse_span(tf->str, tf->len, &k->timespan_us, &amb))
            return rej(c, tf, "bad timeframe", "'%s'", tf->str);
    } else {
        k->timespan_us = INT64_MAX / 4; /* no timeframe: the whole input */
    }
    warn(c, at, "legacy aggregation translated", "'| count(%s)%s%s' became an implicit %s correlation",
         agg->field, agg->group[0] ? " by " : "", agg->group,
         agg->distinct ? "value_count" : "event_count");
    *extra = r;
    return MH_OK;
}

mh_status mh_ruleset_load_doc(mh_ruleset *rs, const char *file, uint32_t doc, const void *ynode,
                              uint32_t line)
{
    const struct mh_ynode *root = ynode;
    mh_error err;
    mh_error_clear(&err);
    struct mh_rule *r = mh_arena_alloc(&rs->arena, sizeof *r);
    if (!r) return MH_ENOMEM;
    memset(r, 0, sizeof *r);
    r->file = file;
    r->doc = doc;
    r->line = root ? root->line : line;
    r->col = root ? root->col : 1;
    r->emit = true;
    struct lctx c = {rs, r, file, &err, NULL};
    mh_status st = MH_OK;
    struct mh_rule *extra = NULL;

    if (!root) {
        /* an empty document (e.g. a trailing '---') is not a rule */
        return MH_OK;
    }
    if (root->kind != MH_Y_MAP) {
        st = rej(&c, root, "not a rule", "%s", "the document is not a mapping");
        goto done;
    }
    const struct mh_ynode *det = mh_ymap_get(root, "detection");
    const struct mh_ynode *cor = mh_ymap_get(root, "correlation");
    const struct mh_ynode *fil = mh_ymap_get(root, "filter");
    int kinds = (det != NULL) + (cor != NULL) + (fil != NULL);
    if (kinds == 0) {
        st = rej(&c, root, "not a rule", "%s", "no 'detection', 'correlation' or 'filter' section");
        goto done;
    }
    if (kinds > 1) {
        st = rej(&c, root, "ambiguous document", "%s",
                 "more than one of 'detection', 'correlation', 'filter'");
        goto done;
    }
    r->kind = det ? MH_RK_DETECTION : cor ? MH_RK_CORRELATION : MH_RK_FILTER;
    const struct mh_ynode *title = mh_ymap_get(root, "title");
    if (!title || title->kind != MH_Y_SCALAR || mh_yscalar_type(title) == MH_YT_NULL) {
        st = rej(&c, root, "missing title", "%s", "'title' is mandatory");
        goto done;
    }
    r->title = scalar_text(&c, title);
    const struct mh_ynode *y;
    if ((y = mh_ymap_get(root, "id"))) r->id = scalar_text(&c, y);
    if ((y = mh_ymap_get(root, "name"))) r->name = scalar_text(&c, y);
    if ((y = mh_ymap_get(root, "status"))) r->status = scalar_text(&c, y);
    if ((y = mh_ymap_get(root, "description"))) r->description = scalar_text(&c, y);
    if ((y = mh_ymap_get(root, "author"))) r->author = scalar_text(&c, y);
    if ((y = mh_ymap_get(root, "level")) && y->kind == MH_Y_SCALAR && mh_yscalar_type(y) != MH_YT_NULL) {
        r->level = (uint8_t)mh_level_parse(y->str, y->len);
        if (r->level == MH_LEVEL_NONE) warn(&c, y, "unknown level", "'%s'", y->str);
    }
    if ((y = mh_ymap_get(root, "tags"))) {
        st = load_tags(&c, y);
        if (st) goto done;
    }
    const struct mh_ynode *ls = mh_ymap_get(root, "logsource");
    if (ls) {
        if (ls->kind != MH_Y_MAP) {
            st = rej(&c, ls, "bad logsource", "%s", "must be a mapping");
            goto done;
        }
        r->product = lower_dup(&c, mh_ymap_get(ls, "product"));
        r->service = lower_dup(&c, mh_ymap_get(ls, "service"));
        r->category = lower_dup(&c, mh_ymap_get(ls, "category"));
    }
    if (r->kind == MH_RK_DETECTION) {
        if (!ls) {
            st = rej(&c, root, "missing logsource", "%s", "'logsource' is mandatory");
            goto done;
        }
        if (det->kind != MH_Y_MAP) {
            st = rej(&c, det, "bad detection", "%s", "'detection' must be a mapping");
            goto done;
        }
        struct mh_cond_agg agg;
        const struct mh_ynode *aggat = NULL;
        memset(&agg, 0, sizeof agg);
        st = parse_detection_section(&c, det, mh_ymap_get(det, "condition"), &agg, &aggat);
        if (st) goto done;
        if (agg.present) {
            st = legacy_correlation(&c, &agg, aggat, det, &extra);
            if (st) goto done;
        }
    } else if (r->kind == MH_RK_CORRELATION) {
        st = load_correlation(&c, root);
        if (st) goto done;
    } else {
        st = load_filter(&c, root);
        if (st) goto done;
    }
    if (c.disable_why) {
        r->disabled = true;
        r->disabled_why = c.disable_why;
        warn(&c, NULL, "rule disabled", "%s", c.disable_why);
    }
done:
    if (st == MH_ENOMEM) return st;
    if (st) {
        rs->stats.rejected++;
        mh_ruleset_note(rs, MH_NOTE_REJECTED, r, &err);
        return MH_OK;
    }
    if (rs->nrules + 2 > MH_MAX_RULES) {
        mh_error_set(&err, MH_ELIMIT, "too many rules", "limit %d", MH_MAX_RULES);
        mh_error_at(&err, file, r->line, r->col, 0, 0);
        rs->stats.rejected++;
        mh_ruleset_note(rs, MH_NOTE_REJECTED, r, &err);
        return MH_OK;
    }
    struct mh_rule *add[2] = {r, extra};
    for (int i = 0; i < 2 && add[i]; i++) {
        if (MH_GROW(rs->rules, rs->caprules, rs->nrules + 1, 256, SIZE_MAX) != MH_OK)
            return MH_ENOMEM;
        add[i]->index = (uint32_t)rs->nrules;
        rs->rules[rs->nrules++] = add[i];
    }
    rs->stats.loaded++;
    if (r->kind == MH_RK_DETECTION) rs->stats.detection++;
    else if (r->kind == MH_RK_CORRELATION) rs->stats.correlation++;
    else rs->stats.filter++;
    if (extra) rs->stats.correlation++;
    if (r->disabled) rs->stats.disabled++;
    mh_error_clear(&err);
    mh_error_at(&err, file, r->line, r->col, 0, 0);
    mh_ruleset_note(rs, MH_NOTE_LOADED, r, &err);
    return MH_OK;
}
