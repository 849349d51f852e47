/*
 * rules/fieldmap.c -- per-logsource routes and field alias tables, loaded from data
 *
 * Pipeline: rules/fieldmaps/NAME.yml -> [fieldmap] -> ruleset routes -> compile.
 *
 * One YAML file per route (docs/sigma.md §10, docs/hunt.md):
 *
 *   logsource: {product: azure, service: signinlogs}   # the rules it serves
 *   sources: [signin.interactive, signin.noninteractive] # event kinds (event.h names; `any`)
 *   when_any: [riskEventType]                          # optional: event must have one
 *   try_prefixes: [properties.]                        # also try properties.<field>
 *   try_case: true                                     # also try ipAddress for IPAddress, ...
 *   fields:                                            # rule field -> extra paths
 *     ResultType: [resultType, status.errorCode]
 *     properties.message:
 *       - {path: activityDisplayName, trim: true}
 *       - {path: Operation, trim: true, strip_dot: true}
 *       - {path: authenticationProtocol, values: {deviceCode: Device Code}}
 *
 * A rule field always resolves to its literal path first, then to the
 * listed aliases, then to the prefixed and case-flipped variants of all of
 * them (any of them may match). `trim` strips ASCII whitespace, `strip_dot`
 * one trailing '.', `unquote` the quotes of a JSON-encoded string value,
 * `values` rewrites an event value (matched case-insensitively; key `*` =
 * any other value) into the text the rule expects; such a field is
 * "synthetic" and never gives prefilter literals.
 *
 * Files are read in sorted order; problems are reported as MH_EPARSE with
 * file:line:col (a broken field map is a configuration error, not skipped).
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"
#include "normalize/event.h"
#include "rules/ruleset.h"
#include "rules/yaml.h"

static mh_status fm_err(mh_error *err, const char *file, const struct mh_ynode *at,
                        const char *msg, const char *detail)
{
    mh_error_set(err, MH_EPARSE, msg, "%s", detail);
    mh_error_at(err, file, at ? at->line : 0, at ? at->col : 0, at ? at->offset : 0, 0);
    return MH_EPARSE;
}

static const char *dup_lower(mh_ruleset *rs, const struct mh_ynode *n)
{
    if (!n || n->kind != MH_Y_SCALAR) return NULL;
    char *s = mh_arena_strndup(&rs->arena, n->str, n->len);
    if (s)
        for (char *p = s; *p; p++) *p = (char)mh_ascii_lower((unsigned char)*p);
    return s;
}

static mh_status parse_path(mh_ruleset *rs, const char *file, const struct mh_ynode *y,
                            struct mh_fpath *p, mh_error *err)
{
    memset(p, 0, sizeof *p);
    const struct mh_ynode *pathn = y;
    if (y->kind == MH_Y_MAP) {
        pathn = mh_ymap_get(y, "path");
        if (!pathn) return fm_err(err, file, y, "bad field map", "alias entry needs 'path'");
        const struct mh_ynode *t = mh_ymap_get(y, "trim");
        if (t && mh_yscalar_bool(t)) p->xform |= MH_FX_TRIM;
        t = mh_ymap_get(y, "strip_dot");
        if (t && mh_yscalar_bool(t)) p->xform |= MH_FX_STRIP_DOT;
        t = mh_ymap_get(y, "unquote");
        if (t && mh_yscalar_bool(t)) p->xform |= MH_FX_UNQUOTE;
        const struct mh_ynode *vm = mh_ymap_get(y, "values");
        if (vm) {
            if (vm->kind != MH_Y_MAP) return fm_err(err, file, vm, "bad field map", "'values' must be a mapping");
            struct mh_vmap_entry *e = mh_arena_alloc(&rs->arena, (vm->n ? vm->n : 1) * sizeof *e);
            if (!e) return MH_ENOMEM;
            for (uint32_t i = 0; i < vm->n; i++) {
                const struct mh_ynode *k = vm->kids[2 * i], *v = vm->kids[2 * i + 1];
                if (k->kind != MH_Y_SCALAR || v->kind != MH_Y_SCALAR)
                    return fm_err(err, file, k, "bad field map", "'values' maps strings to strings");
                e[i].from = mh_arena_strndup(&rs->arena, k->str, k->len);
                e[i].to = mh_arena_strndup(&rs->arena, v->str, v->len);
                if (!e[i].from || !e[i].to) return MH_ENOMEM;
            }
            p->vmap = e;
            p->nvmap = vm->n;
        }
    }
    if (pathn->kind != MH_Y_SCALAR || pathn->len == 0 || pathn->len > MH_MAX_FIELD_PATH)
        return fm_err(err, file, pathn, "bad field map", "a path must be a non-empty string");
    p->path = mh_arena_strndup(&rs->arena, pathn->str, pathn->len);
    if (!p->path) return MH_ENOMEM;
    p->len = (uint32_t)pathn->len;
    return MH_OK;
}

static mh_status load_one(mh_ruleset *rs, const char *file, const char *stem, const char *data,
                          size_t len, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_yfile yf;
    mh_yaml_init(&yf);
    st = mh_yaml_parse(&yf, data, len, err);
    if (st) {
        if (err) snprintf(err->origin, sizeof err->origin, "%.255s", file);
        goto out;
    }
    if (yf.ndocs != 1 || !yf.docs[0].root || yf.docs[0].root->kind != MH_Y_MAP) {
        st = fm_err(err, file, NULL, "bad field map", "expected one mapping document");
        goto out;
    }
    const struct mh_ynode *root = yf.docs[0].root;
    struct mh_route *rt = &rs->routes[rs->nroutes];
    memset(rt, 0, sizeof *rt);
    mh_map_init(&rt->aliases, 100000, false);
    rs->nroutes++;
    rt->name = mh_arena_strndup(&rs->arena, stem, strlen(stem));
    if (!rt->name) MH_CHECK(MH_ENOMEM);
    const struct mh_ynode *ls = mh_ymap_get(root, "logsource");
    if (!ls || ls->kind != MH_Y_MAP) {
        st = fm_err(err, file, root, "bad field map", "missing 'logsource' mapping");
        goto out;
    }
    rt->product = dup_lower(rs, mh_ymap_get(ls, "product"));
    rt->service = dup_lower(rs, mh_ymap_get(ls, "service"));
    rt->category = dup_lower(rs, mh_ymap_get(ls, "category"));
    const struct mh_ynode *src = mh_ymap_get(root, "sources");
    if (!src || src->kind != MH_Y_SEQ) {
        st = fm_err(err, file, root, "bad field map", "missing 'sources' list");
        goto out;
    }
    for (uint32_t i = 0; i < src->n; i++) {
        const struct mh_ynode *s = src->kids[i];
        if (mh_yscalar_is(s, "any")) {
            rt->kinds = (1u << MH_SRC__COUNT) - 1;
            continue;
        }
        int k = -1;
        for (int q = 0; q < MH_SRC__COUNT; q++)
            if (mh_yscalar_is(s, mh_source_kind_name((enum mh_source_kind)q))) k = q;
        if (k < 0) {
            st = fm_err(err, file, s, "bad field map", "unknown source kind (see normalize/event.h)");
            goto out;
        }
        rt->kinds |= 1u << k;
    }
    const struct mh_ynode *when = mh_ymap_get(root, "when_any");
    if (when) {
        if (when->kind != MH_Y_SEQ) {
            st = fm_err(err, file, when, "bad field map", "'when_any' must be a list");
            goto out;
        }
        rt->when = mh_arena_alloc(&rs->arena, (when->n ? when->n : 1) * sizeof *rt->when);
        if (!rt->when) MH_CHECK(MH_ENOMEM);
        for (uint32_t i = 0; i < when->n; i++) {
            if (when->kids[i]->kind != MH_Y_SCALAR) {
                st = fm_err(err, file, when->kids[i], "bad field map", "paths are strings");
                goto out;
            }
            rt->when[rt->nwhen] = mh_arena_strndup(&rs->arena, when->kids[i]->str, when->kids[i]->len);
            if (!rt->when[rt->nwhen++]) MH_CHECK(MH_ENOMEM);
        }
    }
    const struct mh_ynode *pre = mh_ymap_get(root, "try_prefixes");
    if (pre) {
        if (pre->kind != MH_Y_SEQ) {
            st = fm_err(err, file, pre, "bad field map", "'try_prefixes' must be a list");
            goto out;
        }
        rt->prefix = mh_arena_alloc(&rs->arena, (pre->n ? pre->n : 1) * sizeof *rt->prefix);
        if (!rt->prefix) MH_CHECK(MH_ENOMEM);
        for (uint32_t i = 0; i < pre->n; i++) {
            if (pre->kids[i]->kind != MH_Y_SCALAR) {
                st = fm_err(err, file, pre->kids[i], "bad field map", "prefixes are strings");
                goto out;
            }
            rt->prefix[rt->nprefix] = mh_arena_strndup(&rs->arena, pre->kids[i]->str, pre->kids[i]->len);
            if (!rt->prefix[rt->nprefix++]) MH_CHECK(MH_ENOMEM);
        }
    }
    const struct mh_ynode *tc = mh_ymap_get(root, "try_case");
    rt->try_case = tc && mh_yscalar_bool(tc);
    const struct mh_ynode *fields = mh_ymap_get(root, "fields");
    if (fields) {
        if (fields->kind != MH_Y_MAP) {
            st = fm_err(err, file, fields, "bad field map", "'fields' must be a mapping");
            goto out;
        }
        rt->alias = mh_arena_alloc(&rs->arena, (fields->n ? fields->n : 1) * sizeof *rt->alias);
        if (!rt->alias) MH_CHECK(MH_ENOMEM);
        for (uint32_t i = 0; i < fields->n; i++) {
            const struct mh_ynode *k = fields->kids[2 * i], *v = fields->kids[2 * i + 1];
            if (k->kind != MH_Y_SCALAR || k->len == 0) {
                st = fm_err(err, file, k, "bad field map", "field names are strings");
                goto out;
            }
            struct mh_alias *a = &rt->alias[rt->nalias];
            a->field = mh_arena_strndup(&rs->arena, k->str, k->len);
            uint32_t np = v->kind == MH_Y_SEQ ? v->n : 1;
            a->paths = mh_arena_alloc(&rs->arena, (np ? np : 1) * sizeof *a->paths);
            if (!a->field || !a->paths) MH_CHECK(MH_ENOMEM);
            for (uint32_t j = 0; j < np; j++)
                MH_CHECK(parse_path(rs, file, v->kind == MH_Y_SEQ ? v->kids[j] : v, &a->paths[j], err));
            a->npaths = np;
            struct mh_map_entry *e;
            bool created;
            MH_CHECK(mh_map_put(&rt->aliases, k->str, k->len, &e, &created));
            if (!created) {
                st = fm_err(err, file, k, "bad field map", "field listed twice");
                goto out;
            }
            e->value = rt->nalias + 1;
            rt->nalias++;
        }
    }
out:
    mh_yaml_fini(&yf);
    return st;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

mh_status mh_fieldmaps_load(mh_ruleset *rs, const char *dir, mh_error *err)
{
    mh_status st = MH_OK;
    char **names = NULL;
    size_t n = 0, cap = 0;
    char *buf = NULL;
    DIR *d = opendir(dir);
    if (!d) {
        /* No field maps: rules resolve literal paths only and route nowhere. */
        return MH_OK;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        size_t l = strlen(e->d_name);
        if (e->d_name[0] == '.' || l < 5 || strcmp(e->d_name + l - 4, ".yml") != 0) continue;
        if (MH_GROW(names, cap, n + 1, 16, SIZE_MAX) != MH_OK) {
            closedir(d);
            MH_CHECK(MH_ENOMEM);
        }
        names[n] = mh_strdup(e->d_name);
        if (!names[n]) {
            closedir(d);
            MH_CHECK(MH_ENOMEM);
        }
        n++;
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp_str);
    rs->routes = mh_calloc(n ? n : 1, sizeof *rs->routes);
    buf = mh_malloc(MH_MAX_FIELDMAP_BYTES + 1);
    if (!rs->routes || !buf) MH_CHECK(MH_ENOMEM);
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        FILE *f = fopen(path, "rb");
        if (!f) {
            st = mh_error_set(err, MH_EIO, "cannot read field map", "%s: %s", path, strerror(errno));
            goto out;
        }
        size_t len = fread(buf, 1, MH_MAX_FIELDMAP_BYTES + 1, f);
        fclose(f);
        if (len > MH_MAX_FIELDMAP_BYTES) {
            st = mh_error_set(err, MH_ELIMIT, "field map too large", "%s", path);
            goto out;
        }
        names[i][strlen(names[i]) - 4] = '\0';
        char *file = mh_arena_strndup(&rs->arena, path, strlen(path));
        if (!file) MH_CHECK(MH_ENOMEM);
        MH_CHECK(load_one(rs, file, names[i], buf, len, err));
    }
out:
    mh_free(buf);
    for (size_t i = 0; i < n; i++) mh_free(names[i]);
    mh_free(names);
    return st;
}
