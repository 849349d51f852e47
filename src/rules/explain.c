/*
 * rules/explain.c -- human-readable account of a compiled rule (see explain.h)
 */
#include "rules/explain.h"

#include <string.h>

#include "rules/pattern.h"

static const char *shape_name(uint8_t s)
{
    static const char *const n[] = {"equals", "startswith", "endswith", "contains", "any", "glob", "unicode-regex"};
    return s < 7 ? n[s] : "?";
}

static mh_status put_cond(struct mh_buf *b, const struct mh_rule *r, const struct mh_cnode *c)
{
    switch (c->kind) {
    case MH_CN_ID: return mh_buf_puts(b, r->dets[c->det].name);
    case MH_CN_NOT:
        MH_TRY(mh_buf_puts(b, "not "));
        return put_cond(b, r, c->kids[0]);
    case MH_CN_TRUE: return mh_buf_puts(b, "true");
    case MH_CN_FALSE: return mh_buf_puts(b, "false");
    default: break;
    }
    MH_TRY(mh_buf_putc(b, '('));
    for (uint32_t i = 0; i < c->n; i++) {
        if (i) MH_TRY(mh_buf_puts(b, c->kind == MH_CN_AND ? " and " : " or "));
        MH_TRY(put_cond(b, r, c->kids[i]));
    }
    return mh_buf_putc(b, ')');
}

struct cost {
    uint64_t units, regexes, keywords, items, values;
};

static mh_status put_value(struct mh_buf *b, const struct mh_vmatch *v, struct cost *c,
                           const mh_ruleset *rs)
{
    c->values++;
    switch (v->kind) {
    case MH_VK_STR:
    case MH_VK_NUM:
        MH_TRY(mh_buf_printf(b, "%s%s '%.*s'%s", v->kind == MH_VK_NUM ? "number " : "",
                             shape_name(v->pat.shape), (int)v->pat.text_len, v->pat.text,
                             v->pat.cased ? " (cased)" : ""));
        if (v->pat.shape == MH_PS_REGEX || v->pat.shape == MH_PS_GLOB) c->units += 2;
        break;
    case MH_VK_BOOL: MH_TRY(mh_buf_printf(b, "bool %s", v->bval ? "true" : "false")); break;
    case MH_VK_NULL: MH_TRY(mh_buf_puts(b, "null (absent or null)")); break;
    case MH_VK_RE:
        MH_TRY(mh_buf_printf(b, "regex /%.*s/%s%s%s", (int)v->src_len, v->src ? v->src : "",
                             (v->re_flags & MH_RE_CASELESS) ? "i" : "", (v->re_flags & MH_RE_MULTILINE) ? "m" : "",
                             (v->re_flags & MH_RE_DOTALL) ? "s" : ""));
        c->regexes++;
        c->units += 10;
        break;
    case MH_VK_CIDR: MH_TRY(mh_buf_printf(b, "cidr %.*s", (int)v->src_len, v->src ? v->src : "")); break;
    case MH_VK_CMP: {
        static const char *const ops[] = {">", ">=", "<", "<=", "==", "!="};
        MH_TRY(mh_buf_printf(b, "number %s %g", ops[v->op % 6], v->num));
        break;
    }
    case MH_VK_EXISTS: MH_TRY(mh_buf_printf(b, "exists %s", v->bval ? "true" : "false")); break;
    case MH_VK_TIME: {
        static const char *const parts[] = {"minute", "hour", "day", "week", "month", "year"};
        MH_TRY(mh_buf_printf(b, "%s == %g", parts[v->op % 6], v->num));
        break;
    }
    case MH_VK_FIELDREF: {
        const struct mh_field *f = mh_ruleset_field(rs, v->field);
        MH_TRY(mh_buf_printf(b, "field %s %s", shape_name(v->op), f ? f->name : v->ref_name));
        break;
    }
    }
    return MH_OK;
}

static mh_status put_dnode(struct mh_buf *b, const mh_ruleset *rs, const struct mh_dnode *d,
                           int depth, struct cost *c)
{
    for (int i = 0; i < depth; i++) MH_TRY(mh_buf_puts(b, "  "));
    if (d->kind != MH_DN_ITEM) {
        MH_TRY(mh_buf_printf(b, "%s of:\n", d->kind == MH_DN_AND ? "all" : "any"));
        for (uint32_t i = 0; i < d->n; i++) MH_TRY(put_dnode(b, rs, d->kids[i], depth + 1, c));
        return MH_OK;
    }
    const struct mh_item *it = d->item;
    c->items++;
    const struct mh_field *f = it->keyword ? NULL : mh_ruleset_field(rs, it->field);
    uint64_t paths = f ? f->npaths : 1;
    c->units += paths * it->nvals;
    if (it->keyword) c->keywords++, c->units += 50 * it->nvals;
    MH_TRY(mh_buf_printf(b, "%s%s%s: %s of %u value%s:", it->keyword ? "keyword" : it->fname,
                         it->negated ? " (neq: negated)" : "", "", it->all ? "all" : "any", it->nvals,
                         it->nvals == 1 ? "" : "s"));
    uint32_t show = it->nvals < 8 ? it->nvals : 8;
    for (uint32_t i = 0; i < show; i++) {
        MH_TRY(mh_buf_puts(b, i ? ", " : " "));
        MH_TRY(put_value(b, &it->vals[i], c, rs));
    }
    for (uint32_t i = show; i < it->nvals; i++) {
        struct mh_buf sink;
        mh_buf_init(&sink, 1 << 20);
        mh_status st = put_value(&sink, &it->vals[i], c, rs);
        mh_buf_fini(&sink);
        MH_TRY(st);
    }
    if (show < it->nvals) MH_TRY(mh_buf_printf(b, ", ... (%u more)", it->nvals - show));
    return mh_buf_putc(b, '\n');
}

static mh_status collect_fields(const struct mh_dnode *d, uint32_t *seen, uint32_t *n, uint32_t cap)
{
    if (d->kind != MH_DN_ITEM) {
        for (uint32_t i = 0; i < d->n; i++) MH_TRY(collect_fields(d->kids[i], seen, n, cap));
        return MH_OK;
    }
    const struct mh_item *it = d->item;
    if (it->keyword || it->field == MH_FIELD_KEYWORD) return MH_OK;
    for (uint32_t i = 0; i < *n; i++)
        if (seen[i] == it->field) return MH_OK;
    if (*n < cap) seen[(*n)++] = it->field;
    return MH_OK;
}

mh_status mh_rule_explain(const mh_ruleset *rs, const struct mh_rule *r, struct mh_buf *b)
{
    static const char *const kinds[] = {"detection", "correlation", "filter"};
    MH_TRY(mh_buf_printf(b, "rule: %s\n", r->title ? r->title : ""));
    if (r->id) MH_TRY(mh_buf_printf(b, "  id: %s\n", r->id));
    if (r->name) MH_TRY(mh_buf_printf(b, "  name: %s\n", r->name));
    MH_TRY(mh_buf_printf(b, "  file: %s:%u:%u\n", r->file, r->line, r->col));
    MH_TRY(mh_buf_printf(b, "  kind: %s, level: %s, status: %s%s%s\n", kinds[r->kind % 3],
                         r->level ? mh_level_name((enum mh_level)r->level) : "-",
                         r->status ? r->status : "-", r->disabled ? ", DISABLED: " : "",
                         r->disabled ? r->disabled_why : ""));
    if (!r->emit) MH_TRY(mh_buf_puts(b, "  emits no alert of its own (input of a correlation)\n"));
    MH_TRY(mh_buf_printf(b, "  logsource: product=%s service=%s category=%s\n",
                         r->product ? r->product : "-", r->service ? r->service : "-",
                         r->category ? r->category : "-"));
    if (r->kind == MH_RK_CORRELATION) {
        const struct mh_corr *k = r->corr;
        MH_TRY(mh_buf_printf(b, "  correlation: %s over %lld s%s\n", mh_corr_type_name((enum mh_corr_type)k->type),
                             (long long)(k->timespan_us / 1000000), k->implicit ? " (from a legacy count() condition)" : ""));
        for (uint32_t j = 0; j < k->nrules; j++)
            MH_TRY(mh_buf_printf(b, "    input %u: %s%s\n", j, k->rule_refs[j],
                                 k->rule_idx && k->rule_idx[j] == UINT32_MAX ? " (not loaded)" : ""));
        for (uint32_t g = 0; g < k->ngroup; g++) MH_TRY(mh_buf_printf(b, "    group-by: %s\n", k->group_by[g]));
        if (k->field) MH_TRY(mh_buf_printf(b, "    field: %s\n", k->field));
        static const char *const ops[] = {"gt", "gte", "lt", "lte", "eq", "neq"};
        for (uint32_t i = 0; i < k->nbounds; i++)
            MH_TRY(mh_buf_printf(b, "    condition: %s %g\n", ops[k->bounds[i].op % 6], k->bounds[i].value));
        return MH_OK;
    }
    if (r->kind == MH_RK_DETECTION) {
        if (r->route == UINT32_MAX) {
            MH_TRY(mh_buf_puts(b, "  route: none (no field map serves this logsource: the rule never meets an event)\n"));
        } else {
            const struct mh_route *rt = &rs->routes[r->route];
            MH_TRY(mh_buf_printf(b, "  route: %s (event kinds mask 0x%x%s)\n", rt->name, rt->kinds,
                                 rt->nwhen ? ", with a shape test" : ""));
        }
    }
    if (r->cond) {
        MH_TRY(mh_buf_puts(b, "  condition: "));
        MH_TRY(put_cond(b, r, r->cond));
        MH_TRY(mh_buf_putc(b, '\n'));
    }
    struct cost c = {0};
    for (uint32_t d = 0; d < r->ndets; d++) {
        MH_TRY(mh_buf_printf(b, "  %s:\n", r->dets[d].name));
        MH_TRY(put_dnode(b, rs, r->dets[d].root, 2, &c));
    }
    uint32_t seen[256], n = 0;
    for (uint32_t d = 0; d < r->ndets; d++) MH_TRY(collect_fields(r->dets[d].root, seen, &n, 256));
    if (n) MH_TRY(mh_buf_puts(b, "  fields used (paths tried, in order):\n"));
    for (uint32_t i = 0; i < n; i++) {
        const struct mh_field *f = mh_ruleset_field(rs, seen[i]);
        if (!f) continue;
        MH_TRY(mh_buf_printf(b, "    %s ->", f->name));
        for (uint32_t p = 0; p < f->npaths; p++) {
            const struct mh_fpath *fp = &f->paths[p];
            MH_TRY(mh_buf_printf(b, "%s %s%s%s%s%s", p ? "," : "", fp->path,
                                 (fp->xform & MH_FX_TRIM) ? " [trim]" : "",
                                 (fp->xform & MH_FX_STRIP_DOT) ? " [strip-dot]" : "",
                                 (fp->xform & MH_FX_UNQUOTE) ? " [unquote]" : "", fp->nvmap ? " [value map]" : ""));
        }
        MH_TRY(mh_buf_putc(b, '\n'));
    }
    if (r->kind == MH_RK_DETECTION && rs->compiled && !r->disabled && r->route != UINT32_MAX) {
        if (r->always) {
            MH_TRY(mh_buf_puts(b, "  prefilter: none -- the rule is a candidate for every record (its "
                                  "condition can hold without any literal: not/neq/null/exists/"
                                  "comparisons, or values without a safe literal of 2+ characters)\n"));
        } else {
            MH_TRY(mh_buf_puts(b, "  prefilter literals (one must occur in the raw record):"));
            for (size_t i = 0; i < rs->nlits; i++)
                for (uint32_t k = 0; k < rs->lits[i].nrules; k++)
                    if (rs->lits[i].rules[k] == r->index)
                        MH_TRY(mh_buf_printf(b, " \"%.*s\"%s", (int)rs->lits[i].len, rs->lits[i].text,
                                             rs->lits[i].cased ? "" : "/i"));
            MH_TRY(mh_buf_putc(b, '\n'));
        }
    }
    MH_TRY(mh_buf_printf(b, "  cost: %llu items, %llu values, %llu regexes, %llu keyword searches; "
                            "~%llu units per evaluated event%s\n",
                         (unsigned long long)c.items, (unsigned long long)c.values,
                         (unsigned long long)c.regexes, (unsigned long long)c.keywords,
                         (unsigned long long)c.units,
                         r->always ? " (every record is parsed and evaluated)" : " (only records with a literal)"));
    return MH_OK;
}
