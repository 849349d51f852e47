/*
 * rules/condition.c -- recursive-descent parser for Sigma conditions
 *
 * See condition.h for the grammar and decisions. Recursion depth is bounded
 * by MH_MAX_CONDITION_DEPTH (parentheses and `not` chains), so hostile input
 * cannot exhaust the stack.
 */
#include "rules/condition.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mailhound/limits.h"

enum tok_kind { T_END = 0, T_WORD, T_LPAREN, T_RPAREN };

struct parser {
    struct mh_arena *a;
    const char *s;
    size_t n, pos;
    const struct mh_det *dets;
    uint32_t ndets;
    int depth;
    mh_error *err;
    /* current token */
    int kind;
    size_t tpos, tlen;
};

static bool is_space(char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

static void next(struct parser *p)
{
    while (p->pos < p->n && is_space(p->s[p->pos])) p->pos++;
    p->tpos = p->pos;
    if (p->pos >= p->n) {
        p->kind = T_END;
        p->tlen = 0;
        return;
    }
    char c = p->s[p->pos];
    if (c == '(' || c == ')') {
        p->kind = c == '(' ? T_LPAREN : T_RPAREN;
        p->tlen = 1;
        p->pos++;
        return;
    }
    size_t st = p->pos;
    while (p->pos < p->n && !is_space(p->s[p->pos]) && p->s[p->pos] != '(' &&
           p->s[p->pos] != ')')
        p->pos++;
    p->kind = T_WORD;
    p->tlen = p->pos - st;
}

static bool word_is(const struct parser *p, const char *w)
{
    size_t l = strlen(w);
    return p->kind == T_WORD && p->tlen == l && memcmp(p->s + p->tpos, w, l) == 0;
}

static mh_status fail(struct parser *p, size_t at, const char *msg, const char *fmt, ...)
    MH_PRINTF(4, 5);

static mh_status fail(struct parser *p, size_t at, const char *msg, const char *fmt, ...)
{
    char d[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d, sizeof d, fmt, ap);
    va_end(ap);
    mh_error_set(p->err, MH_EPARSE, msg, "%s", d);
    if (p->err) p->err->column = at + 1;
    return MH_EPARSE;
}

static struct mh_cnode *node(struct parser *p, int kind, uint32_t n)
{
    struct mh_cnode *c = mh_arena_alloc(p->a, sizeof *c);
    if (!c) return NULL;
    memset(c, 0, sizeof *c);
    c->kind = (uint8_t)kind;
    c->n = n;
    if (n) {
        c->kids = mh_arena_alloc(p->a, n * sizeof *c->kids);
        if (!c->kids) return NULL;
    }
    return c;
}

bool mh_cond_pattern_match(const char *pat, size_t plen, const char *name)
{
    /* iterative wildcard match with single-star backtracking */
    size_t nlen = strlen(name), pi = 0, ni = 0, star = SIZE_MAX, mark = 0;
    while (ni < nlen) {
        if (pi < plen && pat[pi] == '*') {
            star = pi++;
            mark = ni;
        } else if (pi < plen && pat[pi] == name[ni]) {
            pi++, ni++;
        } else if (star != SIZE_MAX) {
            pi = star + 1;
            ni = ++mark;
        } else {
            return false;
        }
    }
    while (pi < plen && pat[pi] == '*') pi++;
    return pi == plen;
}

static mh_status parse_or(struct parser *p, struct mh_cnode **out);

static mh_status parse_of(struct parser *p, bool all, size_t qpos, struct mh_cnode **out)
{
    next(p); /* past quantifier */
    if (!word_is(p, "of"))
        return fail(p, p->tpos, "bad condition", "expected 'of' after '%.*s'",
                    (int)(p->tpos - qpos), p->s + qpos);
    next(p);
    if (p->kind != T_WORD)
        return fail(p, p->tpos, "bad condition", "%s", "expected a pattern or 'them' after 'of'");
    const char *pat = p->s + p->tpos;
    size_t plen = p->tlen, ppos = p->tpos;
    bool them = plen == 4 && memcmp(pat, "them", 4) == 0;
    bool under = plen && pat[0] == '_';
    uint32_t cnt = 0;
    for (uint32_t i = 0; i < p->ndets; i++) {
        const char *nm = p->dets[i].name;
        if (nm[0] == '_' && (them || !under)) continue;
        if (them || mh_cond_pattern_match(pat, plen, nm)) cnt++;
    }
    if (cnt == 0)
        return fail(p, ppos, "condition pattern matches no search identifier",
                    "'%.*s' (decision: load-time error, see docs/sigma.md)", (int)plen, pat);
    struct mh_cnode *c = node(p, all ? MH_CN_AND : MH_CN_OR, cnt);
    if (!c) return MH_ENOMEM;
    uint32_t k = 0;
    for (uint32_t i = 0; i < p->ndets; i++) {
        const char *nm = p->dets[i].name;
        if (nm[0] == '_' && (them || !under)) continue;
        if (!(them || mh_cond_pattern_match(pat, plen, nm))) continue;
        struct mh_cnode *id = node(p, MH_CN_ID, 0);
        if (!id) return MH_ENOMEM;
        id->det = i;
        c->kids[k++] = id;
    }
    next(p);
    *out = cnt == 1 ? c->kids[0] : c;
    return MH_OK;
}

static mh_status parse_primary(struct parser *p, struct mh_cnode **out)
{
    if (p->kind == T_LPAREN) {
        size_t open = p->tpos;
        if (++p->depth > MH_MAX_CONDITION_DEPTH)
            return fail(p, open, "condition too deeply nested", "limit %d",
                        MH_MAX_CONDITION_DEPTH);
        next(p);
        MH_TRY(parse_or(p, out));
        if (p->kind != T_RPAREN)
            return fail(p, p->tpos, "bad condition", "expected ')' to close '(' at column %zu",
                        open + 1);
        p->depth--;
        next(p);
        return MH_OK;
    }
    if (p->kind == T_RPAREN) return fail(p, p->tpos, "bad condition", "%s", "unexpected ')'");
    if (p->kind == T_END)
        return fail(p, p->tpos, "bad condition", "%s", "unexpected end of condition");
    size_t at = p->tpos;
    if (word_is(p, "1") || word_is(p, "any")) return parse_of(p, false, at, out);
    if (word_is(p, "all")) return parse_of(p, true, at, out);
    if (word_is(p, "and") || word_is(p, "or") || word_is(p, "of") || word_is(p, "them"))
        return fail(p, at, "bad condition", "unexpected '%.*s'", (int)p->tlen, p->s + at);
    /* "2 of x" etc. */
    if (p->tlen && p->s[at] >= '0' && p->s[at] <= '9') {
        size_t save = p->pos;
        int savek = p->kind;
        size_t savet = p->tpos, savel = p->tlen;
        next(p);
        bool of = word_is(p, "of");
        p->pos = save, p->kind = savek, p->tpos = savet, p->tlen = savel;
        if (of)
            return fail(p, at, "unsupported quantifier", "'%.*s of' (only '1 of' and 'all of')",
                        (int)p->tlen, p->s + at);
    }
    for (uint32_t i = 0; i < p->ndets; i++) {
        if (strlen(p->dets[i].name) == p->tlen && memcmp(p->dets[i].name, p->s + at, p->tlen) == 0) {
            struct mh_cnode *c = node(p, MH_CN_ID, 0);
            if (!c) return MH_ENOMEM;
            c->det = i;
            *out = c;
            next(p);
            return MH_OK;
        }
    }
    if (memchr(p->s + at, '*', p->tlen))
        return fail(p, at, "bad condition", "pattern '%.*s' outside '1 of'/'all of'",
                    (int)p->tlen, p->s + at);
    return fail(p, at, "unknown search identifier", "'%.*s' is not defined in detection",
                (int)p->tlen, p->s + at);
}

static mh_status parse_not(struct parser *p, struct mh_cnode **out)
{
    if (word_is(p, "not")) {
        size_t at = p->tpos;
        if (++p->depth > MH_MAX_CONDITION_DEPTH)
            return fail(p, at, "condition too deeply nested", "limit %d", MH_MAX_CONDITION_DEPTH);
        next(p);
        struct mh_cnode *k = NULL;
        MH_TRY(parse_not(p, &k));
        p->depth--;
        struct mh_cnode *c = node(p, MH_CN_NOT, 1);
        if (!c) return MH_ENOMEM;
        c->kids[0] = k;
        *out = c;
        return MH_OK;
    }
    return parse_primary(p, out);
}

/* Parse a chain of `sub (op sub)*` into an n-ary node. */
static mh_status parse_chain(struct parser *p, const char *op, int kind,
                             mh_status (*sub)(struct parser *, struct mh_cnode **),
                             struct mh_cnode **out)
{
    struct mh_cnode *first = NULL;
    MH_TRY(sub(p, &first));
    if (!word_is(p, op)) {
        *out = first;
        return MH_OK;
    }
    /* collect operands (bounded by the condition length) */
    struct mh_cnode *stackbuf[64];
    struct mh_cnode **v = stackbuf;
    size_t n = 0, cap = 64;
    v[n++] = first;
    while (word_is(p, op)) {
        next(p);
        struct mh_cnode *k = NULL;
        MH_TRY(sub(p, &k));
        if (n == cap) {
            struct mh_cnode **nv = mh_arena_alloc(p->a, cap * 2 * sizeof *nv);
            if (!nv) return MH_ENOMEM;
            memcpy(nv, v, n * sizeof *nv);
            v = nv;
            cap *= 2;
        }
        v[n++] = k;
    }
    struct mh_cnode *c = node(p, kind, (uint32_t)n);
    if (!c) return MH_ENOMEM;
    memcpy(c->kids, v, n * sizeof *v);
    *out = c;
    return MH_OK;
}

static mh_status parse_and(struct parser *p, struct mh_cnode **out)
{
    return parse_chain(p, "and", MH_CN_AND, parse_not, out);
}

static mh_status parse_or(struct parser *p, struct mh_cnode **out)
{
    return parse_chain(p, "or", MH_CN_OR, parse_and, out);
}

/* Legacy aggregation after '|': count([field]) [by group] op number. */
static mh_status parse_agg(struct parser *p, size_t start, struct mh_cond_agg *agg)
{
    const char *s = p->s;
    size_t i = start, n = p->n;
    while (i < n && is_space(s[i])) i++;
    size_t w0 = i;
    while (i < n && ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z'))) i++;
    size_t wl = i - w0;
    if (wl == 4 && memcmp(s + w0, "near", 4) == 0)
        return fail(p, w0, "unsupported legacy condition",
                    "%s", "'near' aggregation is not supported: use a temporal correlation rule");
    if (!(wl == 5 && memcmp(s + w0, "count", 5) == 0))
        return fail(p, w0, "unsupported legacy condition",
                    "aggregation '%.*s' is not supported (only count()): use a correlation rule",
                    (int)wl, s + w0);
    while (i < n && is_space(s[i])) i++;
    if (i >= n || s[i] != '(') return fail(p, i, "bad legacy aggregation", "%s", "expected '('");
    i++;
    size_t f0 = i;
    while (i < n && s[i] != ')') i++;
    if (i >= n) return fail(p, f0, "bad legacy aggregation", "%s", "expected ')'");
    size_t fl = i - f0;
    while (fl && is_space(s[f0])) f0++, fl--;
    while (fl && is_space(s[f0 + fl - 1])) fl--;
    if (fl >= sizeof agg->field) return fail(p, f0, "bad legacy aggregation", "%s", "field too long");
    memcpy(agg->field, s + f0, fl);
    agg->field[fl] = 0;
    agg->distinct = fl > 0;
    i++;
    while (i < n && is_space(s[i])) i++;
    if (i + 2 <= n && memcmp(s + i, "by", 2) == 0 && (i + 2 == n || is_space(s[i + 2]))) {
        i += 2;
        while (i < n && is_space(s[i])) i++;
        size_t g0 = i;
        while (i < n && !is_space(s[i]) && s[i] != '>' && s[i] != '<' && s[i] != '=' && s[i] != '!')
            i++;
        if (i == g0 || i - g0 >= sizeof agg->group)
            return fail(p, g0, "bad legacy aggregation", "%s", "expected a field after 'by'");
        memcpy(agg->group, s + g0, i - g0);
        agg->group[i - g0] = 0;
        while (i < n && is_space(s[i])) i++;
    }
    size_t o0 = i;
    if (i + 1 < n && s[i] == '>' && s[i + 1] == '=') agg->op = MH_CMP_GTE, i += 2;
    else if (i + 1 < n && s[i] == '<' && s[i + 1] == '=') agg->op = MH_CMP_LTE, i += 2;
    else if (i + 1 < n && s[i] == '=' && s[i + 1] == '=') agg->op = MH_CMP_EQ, i += 2;
    else if (i + 1 < n && s[i] == '!' && s[i + 1] == '=') agg->op = MH_CMP_NEQ, i += 2;
    else if (i < n && s[i] == '>') agg->op = MH_CMP_GT, i++;
    else if (i < n && s[i] == '<') agg->op = MH_CMP_LT, i++;
    else if (i < n && s[i] == '=') agg->op = MH_CMP_EQ, i++;
    else return fail(p, o0, "bad legacy aggregation", "%s", "expected a comparison operator");
    while (i < n && is_space(s[i])) i++;
    char num[64];
    size_t k = 0;
    while (i < n && !is_space(s[i]) && k + 1 < sizeof num) num[k++] = s[i++];
    num[k] = 0;
    char *end = NULL;
    agg->value = strtod(num, &end);
    if (k == 0 || !end || *end) return fail(p, o0, "bad legacy aggregation", "%s", "expected a number");
    while (i < n && is_space(s[i])) i++;
    if (i != n) return fail(p, i, "bad legacy aggregation", "%s", "trailing text");
    agg->present = true;
    return MH_OK;
}

mh_status mh_cond_parse(struct mh_arena *a, const char *text, size_t len, const struct mh_det *dets,
                        uint32_t ndets, struct mh_cnode **out, struct mh_cond_agg *agg,
                        mh_error *err)
{
    struct parser p = {.a = a, .s = text, .n = len, .dets = dets, .ndets = ndets, .err = err};
    if (agg) memset(agg, 0, sizeof *agg);
    const char *bar = memchr(text, '|', len);
    if (bar) {
        size_t at = (size_t)(bar - text);
        if (!agg)
            return fail(&p, at, "unsupported condition", "%s",
                        "the '|' pipe syntax is not allowed here");
        MH_TRY(parse_agg(&p, at + 1, agg));
        p.n = at;
    }
    next(&p);
    if (p.kind == T_END) return fail(&p, 0, "bad condition", "%s", "empty condition");
    struct mh_cnode *c = NULL;
    MH_TRY(parse_or(&p, &c));
    if (p.kind != T_END)
        return fail(&p, p.tpos, "bad condition", "unexpected '%.*s'", (int)p.tlen, p.s + p.tpos);
    *out = c;
    return MH_OK;
}

bool mh_cond_has_not(const struct mh_cnode *c)
{
    if (!c) return false;
    if (c->kind == MH_CN_NOT) return true;
    for (uint32_t i = 0; i < c->n; i++)
        if (mh_cond_has_not(c->kids[i])) return true;
    return false;
}
