/*
 * secrets/gitleaks.c -- gitleaks' rule files: read, extend, validate (see gitleaks.h)
 *
 * One load = one loader (arena + list of compiled regexes, both handed to
 * the final config) and one `level` per file of the [extend] chain. A level
 * is gitleaks' Translate(): rules in file order (an id index per level),
 * global allowlists, allowlists aimed at rules (targetRules), then the
 * extension merged in (gitleaks' Config.extend), then -- at the top level
 * only -- validation and targeted allowlists. The final config copies the
 * top level's arrays into the arena.
 *
 * Divergences from gitleaks, all towards reporting more: gitleaks skips its
 * post-extension validation (a global depth counter is never reset), so a
 * rule left with neither regex nor path after [extend] loads silently; here
 * it loads too (valid/extend_rule_new.toml) but is listed in
 * mh_gl_config_warnings and never matches. An empty rule id is always an
 * error (newer gitleaks agrees: invalid/extend_invalid_ruleid.toml). Target
 * rule ids are checked after extension as well.
 */
#include "secrets/gitleaks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "mailhound/limits.h"
#include "secrets/toml.h"

#define GL_MSG "invalid gitleaks config"

struct reglist {
    struct mh_regex **v;
    size_t n, cap;
};

struct priv {
    struct mh_arena arena;
    struct reglist regs;
    const char **warnings;
    size_t nwarnings, capwarnings;
};

struct loader {
    struct priv *pv;
    const struct mh_gl_load_opts *opts;
    mh_error *err;
    unsigned max_depth_seen;
};

struct target {
    const char *rule;
    struct mh_gl_allowlist *al;
};

struct level {
    const char *origin;
    const char *title, *description, *min_version;
    struct mh_gl_rule **rules;
    size_t n, cap;
    struct mh_map ids; /* id -> index + 1 */
    struct mh_gl_allowlist **al;
    size_t nal, capal;
    struct target *tg;
    size_t ntg, captg;
    const char *ext_path;
    bool ext_default;
    struct mh_gl_strs disabled;
    uint32_t ext_line;
    bool extended;
};

/* ---- small helpers ---- */

static mh_status nomem(struct loader *ld)
{
    return mh_error_set(ld->err, MH_ENOMEM, "out of memory", NULL);
}

static mh_status gl_fail(struct loader *ld, const char *origin, uint32_t line, const char *fmt, ...)
    MH_PRINTF(4, 5);
static mh_status gl_fail(struct loader *ld, const char *origin, uint32_t line, const char *fmt, ...)
{
    if (ld->err) {
        va_list ap;
        va_start(ap, fmt);
        ld->err->code = MH_EPARSE;
        ld->err->msg = GL_MSG;
        vsnprintf(ld->err->detail, sizeof ld->err->detail, fmt, ap);
        va_end(ap);
        ld->err->line = ld->err->column = ld->err->offset = 0;
        mh_error_at(ld->err, origin, line, 0, 0, 0);
    }
    return MH_EPARSE;
}

static void *agrow(struct loader *ld, void *old, size_t n, size_t *cap, size_t elem)
{
    if (n < *cap) return old;
    size_t nc = *cap ? *cap * 2 : 8;
    void *p = mh_arena_alloc(&ld->pv->arena, nc * elem);
    if (!p) return NULL;
    if (old) memcpy(p, old, n * elem);
    *cap = nc;
    return p;
}

static const char *adup(struct loader *ld, const char *s, size_t n)
{
    return mh_arena_strndup(&ld->pv->arena, s, n);
}

static void lower_ascii(char *s)
{
    for (; *s; s++) *s = (char)mh_ascii_lower((unsigned char)*s);
}

static mh_status warn(struct loader *ld, const char *fmt, ...) MH_PRINTF(2, 3);
static mh_status warn(struct loader *ld, const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    struct priv *pv = ld->pv;
    const char **w = agrow(ld, pv->warnings, pv->nwarnings, &pv->capwarnings, sizeof *w);
    const char *s = adup(ld, buf, strlen(buf));
    if (!w || !s) return nomem(ld);
    pv->warnings = w;
    w[pv->nwarnings++] = s;
    return MH_OK;
}

static mh_status compile(struct loader *ld, const char *pat, size_t len, const char *origin,
                         uint32_t line, const char *what, struct mh_regex **out)
{
    struct reglist *rl = &ld->pv->regs;
    if (MH_GROW(rl->v, rl->cap, rl->n + 1, 64, SIZE_MAX) != MH_OK) return nomem(ld);
    mh_error e;
    mh_error_clear(&e);
    mh_status st = mh_regex_compile(pat, len, 0, out, &e);
    if (st == MH_ENOMEM) return nomem(ld);
    if (st) {
        return gl_fail(ld, origin, line, "%s: invalid regex '%.*s': %s", what,
                       (int)(len > 120 ? 120 : len), pat, e.detail);
    }
    rl->v[rl->n++] = *out;
    return MH_OK;
}

/* ---- typed getters over TOML ---- */

static mh_status get_str(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                         const char *key, const char **out)
{
    const struct mh_toml_value *v = mh_toml_get(t, key);
    *out = NULL;
    if (!v) return MH_OK;
    if (v->type != MH_TOML_STRING)
        return gl_fail(ld, origin, v->line, "'%s' must be a string, not %s", key,
                       mh_toml_type_name(v->type));
    if (!(*out = adup(ld, v->u.str.ptr, v->u.str.len))) return nomem(ld);
    return MH_OK;
}

static mh_status get_strs(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                          const char *key, bool lower, struct mh_gl_strs *out)
{
    const struct mh_toml_value *v = mh_toml_get(t, key);
    out->v = NULL;
    out->n = 0;
    if (!v) return MH_OK;
    if (v->type != MH_TOML_ARRAY)
        return gl_fail(ld, origin, v->line, "'%s' must be an array of strings, not %s", key,
                       mh_toml_type_name(v->type));
    if (!v->u.array.n) return MH_OK;
    out->v = mh_arena_alloc(&ld->pv->arena, v->u.array.n * sizeof *out->v);
    if (!out->v) return nomem(ld);
    for (const struct mh_toml_value *e = v->u.array.first; e; e = e->next) {
        if (e->type != MH_TOML_STRING)
            return gl_fail(ld, origin, e->line, "'%s' must be an array of strings, not of %s", key,
                           mh_toml_type_name(e->type));
        char *s = mh_arena_strndup(&ld->pv->arena, e->u.str.ptr, e->u.str.len);
        if (!s) return nomem(ld);
        if (lower) lower_ascii(s);
        out->v[out->n++] = s;
    }
    return MH_OK;
}

static mh_status get_int(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                         const char *key, int64_t *out)
{
    const struct mh_toml_value *v = mh_toml_get(t, key);
    if (!v) return MH_OK;
    if (v->type != MH_TOML_INT)
        return gl_fail(ld, origin, v->line, "'%s' must be an integer, not %s", key,
                       mh_toml_type_name(v->type));
    *out = v->u.i;
    return MH_OK;
}

static mh_status get_num(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                         const char *key, double *out)
{
    const struct mh_toml_value *v = mh_toml_get(t, key);
    if (!v) return MH_OK;
    if (v->type == MH_TOML_INT)
        *out = (double)v->u.i;
    else if (v->type == MH_TOML_FLOAT)
        *out = v->u.f;
    else
        return gl_fail(ld, origin, v->line, "'%s' must be a number, not %s", key,
                       mh_toml_type_name(v->type));
    return MH_OK;
}

static mh_status get_bool(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                          const char *key, bool *out)
{
    const struct mh_toml_value *v = mh_toml_get(t, key);
    if (!v) return MH_OK;
    if (v->type != MH_TOML_BOOL)
        return gl_fail(ld, origin, v->line, "'%s' must be a boolean, not %s", key,
                       mh_toml_type_name(v->type));
    *out = v->u.b;
    return MH_OK;
}

static mh_status expect_table(struct loader *ld, const char *origin, const struct mh_toml_value *v,
                              const char *what)
{
    if (v->type == MH_TOML_TABLE) return MH_OK;
    return gl_fail(ld, origin, v->line, "%s must be a table, not %s", what,
                   mh_toml_type_name(v->type));
}

/* ---- allowlists ---- */

/* Join patterns as (?:p1)|(?:p2) and compile; on failure find the culprit. */
static mh_status compile_joined(struct loader *ld, const struct mh_gl_strs *pats,
                                const char *origin, uint32_t line, const char *what,
                                struct mh_regex **out)
{
    *out = NULL;
    if (!pats->n) return MH_OK;
    for (size_t i = 0; i < pats->n; i++) {
        struct mh_regex *one;
        MH_TRY(compile(ld, pats->v[i], strlen(pats->v[i]), origin, line, what, &one));
    }
    if (pats->n == 1) {
        *out = ld->pv->regs.v[ld->pv->regs.n - 1];
        return MH_OK;
    }
    struct mh_buf b;
    mh_buf_init(&b, MH_MAX_RULE_FILE_BYTES);
    mh_status st = MH_OK;
    for (size_t i = 0; i < pats->n && !st; i++) {
        if (i) st = mh_buf_putc(&b, '|');
        if (!st) st = mh_buf_printf(&b, "(?:%s)", pats->v[i]);
    }
    if (st == MH_ENOMEM)
        st = nomem(ld);
    else if (st)
        st = gl_fail(ld, origin, line, "%s: too many patterns", what);
    if (!st) st = compile(ld, b.data, b.len, origin, line, what, out);
    mh_buf_fini(&b);
    return st;
}

static mh_status dedup(struct loader *ld, struct mh_gl_strs *s, bool trim)
{
    if (!s->n) return MH_OK;
    struct mh_map seen;
    mh_map_init(&seen, s->n, false);
    size_t k = 0;
    mh_status st = MH_OK;
    for (size_t i = 0; i < s->n; i++) {
        const char *v = s->v[i];
        size_t n = strlen(v);
        if (trim) {
            struct mh_slice t = mh_slice_trim(mh_slice_make(v, n));
            v = adup(ld, t.ptr, t.len);
            if (!v) {
                st = nomem(ld);
                break;
            }
            n = t.len;
        }
        bool created;
        struct mh_map_entry *e;
        st = mh_map_put(&seen, v, n, &e, &created);
        if (st) {
            st = nomem(ld);
            break;
        }
        if (created) s->v[k++] = v;
    }
    s->n = k;
    mh_map_fini(&seen);
    return st;
}

/* gitleaks parseAllowlist + Allowlist.Validate. prefix names the table in errors. */
static mh_status parse_allowlist(struct loader *ld, const char *origin,
                                 const struct mh_toml_value *t, const char *prefix,
                                 struct mh_gl_strs *targets, struct mh_gl_allowlist **out)
{
    MH_TRY(expect_table(ld, origin, t, prefix));
    struct mh_gl_allowlist *a = mh_arena_alloc(&ld->pv->arena, sizeof *a);
    if (!a) return nomem(ld);
    memset(a, 0, sizeof *a);
    a->origin = origin;
    a->line = t->line;
    const char *cond = NULL, *target = NULL;
    MH_TRY(get_str(ld, origin, t, "description", &a->description));
    MH_TRY(get_str(ld, origin, t, "condition", &cond));
    MH_TRY(get_str(ld, origin, t, "regexTarget", &target));
    MH_TRY(get_strs(ld, origin, t, "commits", true, &a->commits));
    MH_TRY(get_strs(ld, origin, t, "paths", false, &a->paths));
    MH_TRY(get_strs(ld, origin, t, "regexes", false, &a->regexes));
    MH_TRY(get_strs(ld, origin, t, "stopwords", true, &a->stopwords));
    if (targets) MH_TRY(get_strs(ld, origin, t, "targetRules", false, targets));
    char up[16] = "";
    if (cond) {
        size_t n = strlen(cond);
        for (size_t i = 0; i < n && i + 1 < sizeof up; i++)
            up[i] = (char)((cond[i] >= 'a' && cond[i] <= 'z') ? cond[i] - 32 : cond[i]);
        up[n < sizeof up ? n : sizeof up - 1] = '\0';
        if (n >= sizeof up) up[0] = '?';
    }
    if (!cond || !*cond || !strcmp(up, "OR") || !strcmp(up, "||")) {
        a->condition = MH_GL_OR;
    } else if (!strcmp(up, "AND") || !strcmp(up, "&&")) {
        a->condition = MH_GL_AND;
    } else {
        return gl_fail(ld, origin, t->line,
                       "%s unknown allowlist |condition| '%s' (expected 'and', 'or')", prefix,
                       cond);
    }
    if (!target || !*target || !strcmp(target, "secret"))
        a->target = MH_GL_TARGET_SECRET;
    else if (!strcmp(target, "match"))
        a->target = MH_GL_TARGET_MATCH;
    else if (!strcmp(target, "line"))
        a->target = MH_GL_TARGET_LINE;
    else
        return gl_fail(ld, origin, t->line,
                       "%s unknown allowlist |regexTarget| '%s' (expected 'match', 'line')", prefix,
                       target);
    if (!a->commits.n && !a->paths.n && !a->regexes.n && !a->stopwords.n)
        return gl_fail(ld, origin, t->line,
                       "%s must contain at least one check for: commits, paths, regexes, or "
                       "stopwords",
                       prefix);
    MH_TRY(dedup(ld, &a->commits, true));
    MH_TRY(dedup(ld, &a->stopwords, false));
    MH_TRY(compile_joined(ld, &a->paths, origin, t->line, prefix, &a->path_re));
    MH_TRY(compile_joined(ld, &a->regexes, origin, t->line, prefix, &a->regex_re));
    *out = a;
    return MH_OK;
}

/* ---- rules ---- */

static mh_status parse_rule(struct loader *ld, const char *origin, const struct mh_toml_value *t,
                            struct mh_gl_rule **out)
{
    MH_TRY(expect_table(ld, origin, t, "[[rules]]"));
    struct mh_gl_rule *r = mh_arena_alloc(&ld->pv->arena, sizeof *r);
    if (!r) return nomem(ld);
    memset(r, 0, sizeof *r);
    r->origin = origin;
    r->line = t->line;
    int64_t sg = 0;
    MH_TRY(get_str(ld, origin, t, "id", &r->id));
    if (!r->id) r->id = "";
    MH_TRY(get_str(ld, origin, t, "description", &r->description));
    MH_TRY(get_str(ld, origin, t, "regex", &r->regex));
    MH_TRY(get_str(ld, origin, t, "path", &r->path));
    MH_TRY(get_int(ld, origin, t, "secretGroup", &sg));
    MH_TRY(get_num(ld, origin, t, "entropy", &r->entropy));
    MH_TRY(get_strs(ld, origin, t, "keywords", true, &r->keywords));
    MH_TRY(get_strs(ld, origin, t, "tags", false, &r->tags));
    MH_TRY(get_bool(ld, origin, t, "skipReport", &r->skip_report));
    if (sg < 0 || sg > 1000)
        return gl_fail(ld, origin, t->line, "%s: invalid secretGroup %lld", r->id, (long long)sg);
    r->secret_group = (int)sg;
    /* gitleaks treats "" like absent */
    if (r->regex && !*r->regex) r->regex = NULL;
    if (r->path && !*r->path) r->path = NULL;
    /* id first: gitleaks names the rule in every later message */
    if (!mh_slice_trim(mh_slice_cstr(r->id)).len) {
        if (r->regex)
            return gl_fail(ld, origin, t->line, "rule |id| is missing or empty, regex: %s",
                           r->regex);
        if (r->path)
            return gl_fail(ld, origin, t->line, "rule |id| is missing or empty, path: %s", r->path);
        if (r->description)
            return gl_fail(ld, origin, t->line, "rule |id| is missing or empty, description: %s",
                           r->description);
        return gl_fail(ld, origin, t->line, "rule |id| is missing or empty");
    }
    if (r->regex)
        MH_TRY(compile(ld, r->regex, strlen(r->regex), origin, t->line, r->id, &r->regex_re));
    if (r->path) MH_TRY(compile(ld, r->path, strlen(r->path), origin, t->line, r->id, &r->path_re));

    const struct mh_toml_value *old = mh_toml_get(t, "allowlist");
    const struct mh_toml_value *arr = mh_toml_get(t, "allowlists");
    size_t nal = (old ? 1 : 0);
    if (arr) {
        if (arr->type != MH_TOML_ARRAY)
            return gl_fail(ld, origin, arr->line,
                           "%s: [[rules.allowlists]] must be an array of tables", r->id);
        nal += arr->u.array.n;
    }
    if (old && arr && arr->u.array.n)
        return gl_fail(ld, origin, old->line,
                       "%s: [rules.allowlist] is deprecated, it cannot be used alongside "
                       "[[rules.allowlist]]",
                       r->id);
    char prefix[160];
    snprintf(prefix, sizeof prefix, "%s: [[rules.allowlists]]", r->id);
    if (nal) {
        r->allowlists = mh_arena_alloc(&ld->pv->arena, nal * sizeof *r->allowlists);
        if (!r->allowlists) return nomem(ld);
        if (arr)
            for (const struct mh_toml_value *e = arr->u.array.first; e; e = e->next)
                MH_TRY(
                    parse_allowlist(ld, origin, e, prefix, NULL, &r->allowlists[r->nallowlists++]));
        if (old)
            MH_TRY(
                parse_allowlist(ld, origin, old, prefix, NULL, &r->allowlists[r->nallowlists++]));
    }

    const struct mh_toml_value *req = mh_toml_get(t, "required");
    if (req) {
        if (req->type != MH_TOML_ARRAY)
            return gl_fail(ld, origin, req->line,
                           "%s: [[rules.required]] must be an array of tables", r->id);
        r->required = mh_arena_alloc(&ld->pv->arena, (req->u.array.n + 1) * sizeof *r->required);
        if (!r->required) return nomem(ld);
        for (const struct mh_toml_value *e = req->u.array.first; e; e = e->next) {
            MH_TRY(expect_table(ld, origin, e, "[[rules.required]]"));
            struct mh_gl_required *q = &r->required[r->nrequired++];
            int64_t wl = -1, wc = -1;
            MH_TRY(get_str(ld, origin, e, "id", &q->id));
            MH_TRY(get_int(ld, origin, e, "withinLines", &wl));
            MH_TRY(get_int(ld, origin, e, "withinColumns", &wc));
            if (!q->id || !*q->id)
                return gl_fail(ld, origin, e->line, "%s: [[rules.required]] rule ID is empty",
                               r->id);
            if (wl < -1 || wl > 1000000 || wc < -1 || wc > 1000000)
                return gl_fail(ld, origin, e->line, "%s: [[rules.required]] distance out of range",
                               r->id);
            q->within_lines = (int)wl;
            q->within_columns = (int)wc;
        }
    }
    *out = r;
    return MH_OK;
}

static mh_status level_add_rule(struct loader *ld, struct level *lv, struct mh_gl_rule *r)
{
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&lv->ids, r->id, strlen(r->id), &e, &created);
    if (st == MH_ELIMIT)
        return gl_fail(ld, lv->origin, r->line, "too many rules (limit %u)",
                       (unsigned)MH_MAX_RULES);
    if (st) return nomem(ld);
    if (!created) { /* a later definition of the same id replaces the earlier one */
        lv->rules[e->value - 1] = r;
        return MH_OK;
    }
    struct mh_gl_rule **v = agrow(ld, lv->rules, lv->n, &lv->cap, sizeof *v);
    if (!v) return nomem(ld);
    lv->rules = v;
    v[lv->n++] = r;
    e->value = lv->n;
    return MH_OK;
}

static struct mh_gl_rule *level_find(struct level *lv, const char *id)
{
    struct mh_map_entry *e = mh_map_get(&lv->ids, id, strlen(id));
    return e ? lv->rules[e->value - 1] : NULL;
}

static mh_status add_allowlist(struct loader *ld, struct level *lv, struct mh_gl_allowlist *a)
{
    struct mh_gl_allowlist **v = agrow(ld, lv->al, lv->nal, &lv->capal, sizeof *v);
    if (!v) return nomem(ld);
    lv->al = v;
    v[lv->nal++] = a;
    return MH_OK;
}

static mh_status concat_strs(struct loader *ld, struct mh_gl_strs *dst, const struct mh_gl_strs *a,
                             const struct mh_gl_strs *b)
{
    size_t n = a->n + b->n;
    dst->n = 0;
    dst->v = NULL;
    if (!n) return MH_OK;
    dst->v = mh_arena_alloc(&ld->pv->arena, n * sizeof *dst->v);
    if (!dst->v) return nomem(ld);
    for (size_t i = 0; i < a->n; i++) dst->v[dst->n++] = a->v[i];
    for (size_t i = 0; i < b->n; i++) dst->v[dst->n++] = b->v[i];
    return MH_OK;
}

static int cmp_rule_id(const void *a, const void *b)
{
    const struct mh_gl_rule *x = *(struct mh_gl_rule *const *)a,
                            *y = *(struct mh_gl_rule *const *)b;
    return strcmp(x->id, y->id);
}

/* gitleaks Config.extend(): merge base into lv. */
static mh_status merge(struct loader *ld, struct level *lv, struct level *base)
{
    for (size_t i = 0; i < lv->disabled.n; i++)
        if (!level_find(base, lv->disabled.v[i]))
            MH_TRY(warn(ld, "%s: disabled rule '%s' does not exist in the extended config",
                        lv->origin, lv->disabled.v[i]));
    for (size_t i = 0; i < base->n; i++) {
        struct mh_gl_rule *br = base->rules[i];
        bool disabled = false;
        for (size_t k = 0; k < lv->disabled.n && !disabled; k++)
            disabled = strcmp(lv->disabled.v[k], br->id) == 0;
        if (disabled) continue;
        struct mh_gl_rule *cur = level_find(lv, br->id);
        if (!cur) {
            MH_TRY(level_add_rule(ld, lv, br));
            continue;
        }
        struct mh_gl_rule *m = mh_arena_alloc(&ld->pv->arena, sizeof *m);
        if (!m) return nomem(ld);
        *m = *br;
        if (cur->description && *cur->description) m->description = cur->description;
        if (cur->entropy != 0) m->entropy = cur->entropy;
        if (cur->secret_group != 0) m->secret_group = cur->secret_group;
        if (cur->regex_re) {
            m->regex = cur->regex;
            m->regex_re = cur->regex_re;
        }
        if (cur->path_re) {
            m->path = cur->path;
            m->path_re = cur->path_re;
        }
        MH_TRY(concat_strs(ld, &m->tags, &br->tags, &cur->tags));
        MH_TRY(concat_strs(ld, &m->keywords, &br->keywords, &cur->keywords));
        size_t na = br->nallowlists + cur->nallowlists;
        m->allowlists = NULL;
        m->nallowlists = 0;
        if (na) {
            m->allowlists = mh_arena_alloc(&ld->pv->arena, na * sizeof *m->allowlists);
            if (!m->allowlists) return nomem(ld);
            for (size_t k = 0; k < br->nallowlists; k++)
                m->allowlists[m->nallowlists++] = br->allowlists[k];
            for (size_t k = 0; k < cur->nallowlists; k++)
                m->allowlists[m->nallowlists++] = cur->allowlists[k];
        }
        m->origin = cur->origin;
        m->line = cur->line;
        MH_TRY(level_add_rule(ld, lv, m)); /* replaces cur in place */
    }
    for (size_t i = 0; i < base->nal; i++) MH_TRY(add_allowlist(ld, lv, base->al[i]));
    qsort(lv->rules, lv->n, sizeof *lv->rules, cmp_rule_id);
    for (size_t i = 0; i < lv->n; i++) {
        struct mh_map_entry *e = mh_map_get(&lv->ids, lv->rules[i]->id, strlen(lv->rules[i]->id));
        if (e) e->value = i + 1;
    }
    lv->extended = true;
    return MH_OK;
}

/* ---- files and paths ---- */

static mh_status read_file(struct loader *ld, const char *path, struct mh_buf *b)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        /* gitleaks' wording; the errno text is in the detail, so sys_errno stays 0 */
        mh_error_set(ld->err, MH_EIO, "cannot open rule file", "open %s: %s", path, strerror(e));
        mh_error_at(ld->err, path, 0, 0, 0, 0);
        return MH_EIO;
    }
    mh_status st = MH_OK;
    char chunk[65536];
    size_t k;
    while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) {
        st = mh_buf_append(b, chunk, k);
        if (st) break;
    }
    if (!st && ferror(f)) {
        st = mh_error_set(ld->err, MH_EIO, "cannot read rule file", "%s", path);
        mh_error_at(ld->err, path, 0, 0, 0, 0);
    } else if (st == MH_ELIMIT) {
        mh_error_set(ld->err, MH_ELIMIT, "rule file too large", "limit %u bytes",
                     (unsigned)MH_MAX_RULE_FILE_BYTES);
        mh_error_at(ld->err, path, 0, 0, 0, 0);
    } else if (st) {
        st = nomem(ld);
    }
    fclose(f);
    return st;
}

/* dir + "/" + rel with "." and ".." removed lexically (Go's filepath.Join). */
static mh_status join_clean(const char *dir, const char *rel, struct mh_buf *out)
{
    struct mh_buf tmp;
    mh_buf_init(&tmp, 65536);
    mh_status st = MH_OK;
    if (rel[0] != '/' && dir && *dir) st = mh_buf_printf(&tmp, "%s/", dir);
    if (!st) st = mh_buf_puts(&tmp, rel);
    mh_buf_clear(out);
    if (!st) {
        bool abs = tmp.data[0] == '/';
        size_t nseg = 0, segs[1024];
        const char *p = tmp.data;
        if (abs) st = mh_buf_putc(out, '/');
        while (*p && !st) {
            while (*p == '/') p++;
            const char *s = p;
            while (*p && *p != '/') p++;
            size_t n = (size_t)(p - s);
            if (n == 0 || (n == 1 && s[0] == '.')) continue;
            if (n == 2 && s[0] == '.' && s[1] == '.') {
                if (nseg && !(out->len - segs[nseg - 1] == 2 &&
                              !memcmp(out->data + segs[nseg - 1], "..", 2))) {
                    out->len = segs[--nseg];
                    if (out->len && out->data[out->len - 1] == '/' && !(abs && out->len == 1))
                        out->len--;
                    out->data[out->len] = '\0';
                    continue;
                }
                if (abs) continue;
            }
            if (nseg == sizeof segs / sizeof segs[0]) {
                st = MH_ELIMIT;
                break;
            }
            if (out->len && out->data[out->len - 1] != '/') st = mh_buf_putc(out, '/');
            segs[nseg++] = out->len;
            if (!st) st = mh_buf_append(out, s, n);
        }
        if (!st && out->len == 0) st = mh_buf_putc(out, '.');
    }
    mh_buf_fini(&tmp);
    return st;
}

static void dir_of(const char *path, char *out, size_t outsz)
{
    const char *slash = path ? strrchr(path, '/') : NULL;
    if (!slash) {
        snprintf(out, outsz, ".");
        return;
    }
    size_t n = (size_t)(slash - path);
    if (n == 0) n = 1;
    snprintf(out, outsz, "%.*s", (int)n, path);
}

static bool file_exists(const char *p)
{
    FILE *f = fopen(p, "rb");
    if (!f) return false;
    fclose(f);
    return true;
}

/* ---- one level ---- */

static mh_status load_level(struct loader *ld, const char *text, size_t n, const char *origin,
                            unsigned depth, struct level *lv);

static mh_status load_extension(struct loader *ld, struct level *lv, unsigned depth)
{
    mh_status st = MH_OK;
    struct mh_buf path, text;
    mh_buf_init(&path, 65536);
    mh_buf_init(&text, MH_MAX_RULE_FILE_BYTES);
    struct level base;
    memset(&base, 0, sizeof base);
    mh_map_init(&base.ids, MH_MAX_RULES, false);
    const char *file = NULL;
    if (lv->ext_default) {
        if (!ld->opts || !ld->opts->default_path) {
            st = gl_fail(ld, lv->origin, lv->ext_line,
                         "failed to load extended default config, err: no default configuration");
            goto out;
        }
        file = ld->opts->default_path;
    } else {
        /* candidates: opts->base_dir, the including file's directory, the working directory */
        char dir[4096];
        dir_of(lv->origin, dir, sizeof dir);
        const char *cands[3] = {ld->opts ? ld->opts->base_dir : NULL, dir, NULL};
        for (size_t i = 0; i < 3 && !file; i++) {
            if (i < 2 && !cands[i]) continue;
            st = join_clean(cands[i], lv->ext_path, &path);
            if (st) {
                st = nomem(ld);
                goto out;
            }
            if (file_exists(path.data)) file = path.data;
        }
        if (!file) {
            st = gl_fail(ld, lv->origin, lv->ext_line,
                         "failed to load extended config, err: open %s: no such file or directory",
                         lv->ext_path);
            goto out;
        }
    }
    const char *fname = adup(ld, file, strlen(file));
    if (!fname) {
        st = nomem(ld);
        goto out;
    }
    st = read_file(ld, fname, &text);
    if (st) goto out;
    st = load_level(ld, text.data ? text.data : "", text.len, fname, depth + 1, &base);
    if (st) goto out;
    st = merge(ld, lv, &base);
out:
    mh_map_fini(&base.ids);
    mh_buf_fini(&text);
    mh_buf_fini(&path);
    return st;
}

static mh_status read_top(struct loader *ld, const struct mh_toml_value *root, struct level *lv)
{
    const char *origin = lv->origin;
    MH_TRY(get_str(ld, origin, root, "title", &lv->title));
    MH_TRY(get_str(ld, origin, root, "description", &lv->description));
    MH_TRY(get_str(ld, origin, root, "minVersion", &lv->min_version));
    const struct mh_toml_value *ext = mh_toml_get(root, "extend");
    if (ext) {
        MH_TRY(expect_table(ld, origin, ext, "[extend]"));
        const char *url = NULL;
        lv->ext_line = ext->line;
        MH_TRY(get_str(ld, origin, ext, "path", &lv->ext_path));
        MH_TRY(get_str(ld, origin, ext, "url", &url));
        MH_TRY(get_bool(ld, origin, ext, "useDefault", &lv->ext_default));
        MH_TRY(get_strs(ld, origin, ext, "disabledRules", false, &lv->disabled));
        if (lv->ext_path && !*lv->ext_path) lv->ext_path = NULL;
        if (url && *url)
            MH_TRY(
                warn(ld, "%s: [extend] url is not implemented (as in gitleaks); ignored", origin));
    }
    return MH_OK;
}

static mh_status load_level(struct loader *ld, const char *text, size_t n, const char *origin,
                            unsigned depth, struct level *lv)
{
    mh_status st = MH_OK;
    struct mh_toml_doc *doc = NULL;
    lv->origin = origin;
    if (depth > ld->max_depth_seen) ld->max_depth_seen = depth;
    st = mh_toml_parse(text, n, origin, &doc, ld->err);
    if (st) goto out;
    const struct mh_toml_value *root = mh_toml_root(doc);
    MH_CHECK(read_top(ld, root, lv));

    const struct mh_toml_value *rules = mh_toml_get(root, "rules");
    if (rules && rules->type != MH_TOML_ARRAY)
        MH_CHECK(gl_fail(ld, origin, rules->line, "[[rules]] must be an array of tables"));
    for (const struct mh_toml_value *e = mh_toml_array_first(rules); e; e = e->next) {
        struct mh_gl_rule *r = NULL;
        MH_CHECK(parse_rule(ld, origin, e, &r));
        MH_CHECK(level_add_rule(ld, lv, r));
    }
    for (size_t i = 0; i < lv->n; i++)
        for (size_t k = 0; k < lv->rules[i]->nrequired; k++)
            if (!level_find(lv, lv->rules[i]->required[k].id))
                MH_CHECK(gl_fail(ld, origin, lv->rules[i]->line,
                                 "%s: [[rules.required]] rule ID '%s' does not exist",
                                 lv->rules[i]->id, lv->rules[i]->required[k].id));

    const struct mh_toml_value *old = mh_toml_get(root, "allowlist");
    const struct mh_toml_value *arr = mh_toml_get(root, "allowlists");
    if (arr && arr->type != MH_TOML_ARRAY)
        MH_CHECK(gl_fail(ld, origin, arr->line, "[[allowlists]] must be an array of tables"));
    if (old && arr && arr->u.array.n)
        MH_CHECK(gl_fail(ld, origin, old->line,
                         "[allowlist] is deprecated, it cannot be used alongside [[allowlists]]"));
    for (int pass = 0; pass < 2; pass++) {
        const struct mh_toml_value *e = pass == 0 ? mh_toml_array_first(arr) : old;
        for (; e; e = pass == 0 ? e->next : NULL) {
            struct mh_gl_allowlist *a;
            struct mh_gl_strs targets = {0};
            MH_CHECK(parse_allowlist(ld, origin, e, "[[allowlists]]", &targets, &a));
            if (!targets.n) {
                MH_CHECK(add_allowlist(ld, lv, a));
                continue;
            }
            for (size_t i = 0; i < targets.n; i++) {
                struct target *tg = agrow(ld, lv->tg, lv->ntg, &lv->captg, sizeof *tg);
                if (!tg) MH_CHECK(nomem(ld));
                lv->tg = tg;
                tg[lv->ntg].rule = targets.v[i];
                tg[lv->ntg++].al = a;
            }
        }
    }

    if (depth < MH_GL_MAX_EXTEND_DEPTH) {
        if (lv->ext_path && lv->ext_default)
            MH_CHECK(gl_fail(ld, origin, lv->ext_line,
                             "unable to load config due to extend.path and extend.useDefault being "
                             "set"));
        if (lv->ext_default || lv->ext_path) MH_CHECK(load_extension(ld, lv, depth));
    }
out:
    mh_toml_free(doc);
    return st;
}

/* Top-level validation (gitleaks Rule.Validate on the final rules) + targeted allowlists. */
static mh_status validate(struct loader *ld, struct level *lv)
{
    for (size_t i = 0; i < lv->n; i++) {
        struct mh_gl_rule *r = lv->rules[i];
        if (!r->regex_re && !r->path_re) {
            if (!lv->extended)
                return gl_fail(ld, r->origin, r->line,
                               "%s: both |regex| and |path| are empty, this rule will have no "
                               "effect",
                               r->id);
            MH_TRY(warn(ld,
                        "%s:%u: %s: both |regex| and |path| are empty after [extend]; the rule "
                        "never matches",
                        r->origin, (unsigned)r->line, r->id));
        }
        if (r->regex_re && (unsigned)r->secret_group > mh_regex_groups(r->regex_re))
            return gl_fail(ld, r->origin, r->line,
                           "%s: invalid regex secret group %d, max regex secret group %u", r->id,
                           r->secret_group, mh_regex_groups(r->regex_re));
    }
    for (size_t i = 0; i < lv->ntg; i++) {
        struct mh_gl_rule *r = level_find(lv, lv->tg[i].rule);
        if (!r)
            return gl_fail(ld, lv->origin, lv->tg[i].al->line,
                           "[[allowlists]] target rule ID '%s' does not exist", lv->tg[i].rule);
        struct mh_gl_allowlist **v =
            mh_arena_alloc(&ld->pv->arena, (r->nallowlists + 1) * sizeof *v);
        if (!v) return nomem(ld);
        if (r->nallowlists) memcpy(v, r->allowlists, r->nallowlists * sizeof *v);
        v[r->nallowlists] = lv->tg[i].al;
        /* copy-on-write: a rule object may be shared with nobody else, but stay safe */
        struct mh_gl_rule *c = mh_arena_alloc(&ld->pv->arena, sizeof *c);
        if (!c) return nomem(ld);
        *c = *r;
        c->allowlists = v;
        c->nallowlists++;
        MH_TRY(level_add_rule(ld, lv, c));
    }
    return MH_OK;
}

static void free_priv(struct priv *pv)
{
    if (!pv) return;
    for (size_t i = 0; i < pv->regs.n; i++) mh_regex_free(pv->regs.v[i]);
    mh_free(pv->regs.v);
    mh_arena_fini(&pv->arena);
    mh_free(pv);
}

mh_status mh_gl_load_mem(const char *text, size_t n, const char *origin,
                         const struct mh_gl_load_opts *opts, struct mh_gl_config **out,
                         mh_error *err)
{
    mh_status st = MH_OK;
    struct level top;
    memset(&top, 0, sizeof top);
    mh_map_init(&top.ids, MH_MAX_RULES, false);
    struct mh_gl_config *c = NULL;
    struct loader ld = {.opts = opts, .err = err};
    ld.pv = mh_calloc(1, sizeof *ld.pv);
    if (!ld.pv) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", NULL));
    mh_arena_init(&ld.pv->arena, 1u << 16, 0);
    const char *org = adup(&ld, origin ? origin : "<memory>", strlen(origin ? origin : "<memory>"));
    if (!org) MH_CHECK(nomem(&ld));
    MH_CHECK(load_level(&ld, text, n, org, 0, &top));
    MH_CHECK(validate(&ld, &top));
    c = mh_arena_alloc(&ld.pv->arena, sizeof *c);
    if (!c) MH_CHECK(nomem(&ld));
    memset(c, 0, sizeof *c);
    c->title = top.title;
    c->description = top.description;
    c->min_version = top.min_version;
    c->rules = top.rules;
    c->nrules = top.n;
    c->allowlists = top.al;
    c->nallowlists = top.nal;
    c->extend_depth = ld.max_depth_seen;
    c->priv = ld.pv;
    *out = c;
    ld.pv = NULL;
out:
    mh_map_fini(&top.ids);
    free_priv(ld.pv);
    return st;
}

mh_status mh_gl_load_file(const char *path, const struct mh_gl_load_opts *opts,
                          struct mh_gl_config **out, mh_error *err)
{
    struct mh_buf b;
    mh_buf_init(&b, MH_MAX_RULE_FILE_BYTES);
    struct loader ld = {.opts = opts, .err = err};
    mh_status st = read_file(&ld, path, &b);
    if (!st) st = mh_gl_load_mem(b.data ? b.data : "", b.len, path, opts, out, err);
    mh_buf_fini(&b);
    return st;
}

void mh_gl_free(struct mh_gl_config *c)
{
    if (c) free_priv(c->priv);
}

const struct mh_gl_rule *mh_gl_find(const struct mh_gl_config *c, const char *id)
{
    for (size_t i = 0; c && i < c->nrules; i++)
        if (strcmp(c->rules[i]->id, id) == 0) return c->rules[i];
    return NULL;
}

size_t mh_gl_config_warnings(const struct mh_gl_config *c, const char *const **out)
{
    const struct priv *pv = c ? c->priv : NULL;
    *out = pv ? pv->warnings : NULL;
    return pv ? pv->nwarnings : 0;
}
