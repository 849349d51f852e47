/*
 * rules/yaml.c -- libyaml adapter: documents -> positioned node trees
 *
 * Pipeline: rule files -> [yaml] -> sigma loader. See yaml.h for the model.
 *
 * Construction: libyaml's event API drives an explicit stack of open
 * collections (no recursion, depth <= MH_YAML_MAX_DEPTH). Each open frame
 * collects its children in a temporary vector; at the collection's end they
 * are copied into the arena. Anchors map to the already built node; an alias
 * attaches that node again (shared, never copied) and its weight counts
 * again, which bounds any later traversal by MH_YAML_MAX_NODES.
 *
 * libyaml allocates through the C library (it has no allocator hook); every
 * event is deleted right after use and the parser in every exit path.
 */
#include "rules/yaml.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct frame {
    struct mh_ynode *node;
    struct mh_ynode **kids;
    size_t n, cap;
    char *anchor; /* anchor of the collection, registered at its end */
};

struct anchor {
    char *name;
    struct mh_ynode *node;
};

struct builder {
    struct mh_yfile *f;
    struct frame stack[MH_YAML_MAX_DEPTH + 1];
    int depth;
    struct anchor *anchors;
    size_t nanchors, capanchors;
    struct mh_ydoc *docs;
    size_t ndocs, capdocs;
    struct mh_ynode *root;
    uint64_t nodes; /* expanded nodes in the current document */
};

void mh_yaml_init(struct mh_yfile *f)
{
    memset(f, 0, sizeof *f);
    mh_arena_init(&f->arena, 64u << 10, (size_t)MH_MAX_RULE_FILE_BYTES * 16u);
}

void mh_yaml_fini(struct mh_yfile *f)
{
    if (!f) return;
    mh_arena_fini(&f->arena);
    mh_free(f->docs);
    memset(f, 0, sizeof *f);
}

static mh_status at_mark(mh_error *err, mh_status st, const char *msg, const yaml_mark_t *m,
                         const char *detail)
{
    mh_error_set(err, st, msg, "%s", detail ? detail : "");
    if (err) {
        err->line = m->line + 1;
        err->column = m->column + 1;
        err->offset = m->index;
    }
    return st;
}

static struct mh_ynode *new_node(struct builder *b, int kind, const yaml_mark_t *m)
{
    struct mh_ynode *n = mh_arena_alloc(&b->f->arena, sizeof *n);
    if (!n) return NULL;
    memset(n, 0, sizeof *n);
    n->kind = (uint8_t)kind;
    n->line = (uint32_t)(m->line + 1);
    n->col = (uint32_t)(m->column + 1);
    n->offset = m->index;
    n->weight = 1;
    return n;
}

static mh_status add_anchor(struct builder *b, const char *name, struct mh_ynode *node)
{
    MH_TRY(MH_GROW(b->anchors, b->capanchors, b->nanchors + 1, 16, MH_YAML_MAX_NODES));
    char *copy = mh_arena_strndup(&b->f->arena, name, strlen(name));
    if (!copy) return MH_ENOMEM;
    b->anchors[b->nanchors].name = copy;
    b->anchors[b->nanchors].node = node;
    b->nanchors++;
    return MH_OK;
}

static struct mh_ynode *find_anchor(const struct builder *b, const char *name)
{
    /* The latest definition wins (YAML allows redefinition). */
    for (size_t i = b->nanchors; i-- > 0;)
        if (strcmp(b->anchors[i].name, name) == 0) return b->anchors[i].node;
    return NULL;
}

/* Attach a finished node to the open collection (or make it the root). */
static mh_status attach(struct builder *b, struct mh_ynode *n)
{
    b->nodes += n->weight;
    if (b->nodes > MH_YAML_MAX_NODES) return MH_ELIMIT;
    if (b->depth == 0) {
        b->root = n;
        return MH_OK;
    }
    struct frame *fr = &b->stack[b->depth];
    if (MH_GROW(fr->kids, fr->cap, fr->n + 1, 8, SIZE_MAX) != MH_OK) return MH_ENOMEM;
    fr->kids[fr->n++] = n;
    uint64_t w = (uint64_t)fr->node->weight + n->weight;
    fr->node->weight = w > UINT32_MAX ? UINT32_MAX : (uint32_t)w;
    return MH_OK;
}

static void reset_stack(struct builder *b)
{
    for (int i = 1; i <= b->depth; i++) {
        mh_free(b->stack[i].kids);
        mh_free(b->stack[i].anchor);
        memset(&b->stack[i], 0, sizeof b->stack[i]);
    }
    b->depth = 0;
}

static mh_status push_doc(struct builder *b, uint32_t line)
{
    if (b->ndocs >= MH_YAML_MAX_DOCS) return MH_ELIMIT;
    MH_TRY(MH_GROW(b->docs, b->capdocs, b->ndocs + 1, 4, MH_YAML_MAX_DOCS));
    b->docs[b->ndocs].root = b->root;
    b->docs[b->ndocs].line = line;
    b->ndocs++;
    return MH_OK;
}

/* Handle one event; *done set at stream end. */
static mh_status on_event(struct builder *b, const yaml_event_t *ev, uint32_t *doc_line,
                          bool *done, mh_error *err)
{
    mh_status st = MH_OK;
    const yaml_mark_t *m = &ev->start_mark;
    switch (ev->type) {
    case YAML_STREAM_START_EVENT:
    case YAML_NO_EVENT:
        return MH_OK;
    case YAML_STREAM_END_EVENT:
        *done = true;
        return MH_OK;
    case YAML_DOCUMENT_START_EVENT:
        b->root = NULL;
        b->nodes = 0;
        b->nanchors = 0; /* anchors are document-local */
        *doc_line = (uint32_t)(m->line + 1);
        return MH_OK;
    case YAML_DOCUMENT_END_EVENT:
        st = push_doc(b, *doc_line);
        if (st == MH_ELIMIT)
            return at_mark(err, st, "too many YAML documents", m, "limit MH_YAML_MAX_DOCS");
        return st;
    case YAML_ALIAS_EVENT: {
        struct mh_ynode *n = find_anchor(b, (const char *)ev->data.alias.anchor);
        if (!n)
            return at_mark(err, MH_EPARSE, "unknown YAML alias", m,
                           (const char *)ev->data.alias.anchor);
        st = attach(b, n);
        break;
    }
    case YAML_SCALAR_EVENT: {
        struct mh_ynode *n = new_node(b, MH_Y_SCALAR, m);
        if (!n) return MH_ENOMEM;
        const char *tag = (const char *)ev->data.scalar.tag;
        bool str_tag = tag && strcmp(tag, "tag:yaml.org,2002:str") == 0;
        n->style = (ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE && !str_tag) ? MH_YS_PLAIN
                                                                                 : MH_YS_QUOTED;
        size_t len = ev->data.scalar.length;
        char *s = mh_arena_alloc(&b->f->arena, len + 1);
        if (!s) return MH_ENOMEM;
        memcpy(s, ev->data.scalar.value, len);
        s[len] = '\0';
        n->str = s;
        n->len = len;
        if (ev->data.scalar.anchor) {
            st = add_anchor(b, (const char *)ev->data.scalar.anchor, n);
            if (st) break;
        }
        st = attach(b, n);
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
    case YAML_MAPPING_START_EVENT: {
        if (b->depth >= MH_YAML_MAX_DEPTH)
            return at_mark(err, MH_ELIMIT, "YAML nesting too deep", m, "limit MH_YAML_MAX_DEPTH");
        bool seq = ev->type == YAML_SEQUENCE_START_EVENT;
        struct mh_ynode *n = new_node(b, seq ? MH_Y_SEQ : MH_Y_MAP, m);
        if (!n) return MH_ENOMEM;
        const yaml_char_t *anchor =
            seq ? ev->data.sequence_start.anchor : ev->data.mapping_start.anchor;
        struct frame *fr = &b->stack[++b->depth];
        memset(fr, 0, sizeof *fr);
        fr->node = n;
        if (anchor) {
            fr->anchor = mh_strdup((const char *)anchor);
            if (!fr->anchor) return MH_ENOMEM;
        }
        return MH_OK;
    }
    case YAML_SEQUENCE_END_EVENT:
    case YAML_MAPPING_END_EVENT: {
        struct frame *fr = &b->stack[b->depth];
        struct mh_ynode *n = fr->node;
        if (fr->n) {
            n->kids = mh_arena_alloc(&b->f->arena, fr->n * sizeof *n->kids);
            if (!n->kids) return MH_ENOMEM;
            memcpy(n->kids, fr->kids, fr->n * sizeof *n->kids);
        }
        n->n = (uint32_t)(n->kind == MH_Y_MAP ? fr->n / 2 : fr->n);
        char *anchor = fr->anchor;
        mh_free(fr->kids);
        memset(fr, 0, sizeof *fr);
        b->depth--;
        /* The collection's weight is final only now: register the anchor here
         * (an alias inside its own anchor is a libyaml error anyway). */
        if (anchor) {
            st = add_anchor(b, anchor, n);
            mh_free(anchor);
            if (st) break;
        }
        st = attach(b, n);
        break;
    }
    }
    if (st == MH_ELIMIT)
        return at_mark(err, st, "YAML document too large", m,
                       "more than MH_YAML_MAX_NODES nodes (aliases expanded)");
    if (st == MH_ENOMEM) return mh_error_set(err, st, "out of memory", "%s", "yaml");
    return st;
}

mh_status mh_yaml_parse(struct mh_yfile *f, const char *data, size_t len, mh_error *err)
{
    mh_status st = MH_OK;
    yaml_parser_t parser;
    struct builder b;
    memset(&b, 0, sizeof b);
    b.f = f;
    if (!data && len) return mh_error_set(err, MH_EINVAL, "bad argument", "%s", "yaml");
    if (len > MH_MAX_RULE_FILE_BYTES)
        return mh_error_set(err, MH_ELIMIT, "rule file too large", "%zu bytes (limit %u)", len,
                            (unsigned)MH_MAX_RULE_FILE_BYTES);
    if (!yaml_parser_initialize(&parser))
        return mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "yaml parser");
    yaml_parser_set_input_string(&parser, (const unsigned char *)(data ? data : ""), len);
    yaml_parser_set_encoding(&parser, YAML_UTF8_ENCODING);

    bool done = false;
    uint32_t doc_line = 1;
    while (!done) {
        yaml_event_t ev;
        if (!yaml_parser_parse(&parser, &ev)) {
            if (parser.error == YAML_MEMORY_ERROR) {
                st = mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "libyaml");
            } else {
                char detail[200];
                snprintf(detail, sizeof detail, "%s%s%s", parser.problem ? parser.problem : "?",
                         parser.context ? " " : "", parser.context ? parser.context : "");
                st = at_mark(err, MH_EPARSE, "YAML syntax error", &parser.problem_mark, detail);
            }
            break;
        }
        st = on_event(&b, &ev, &doc_line, &done, err);
        yaml_event_delete(&ev);
        if (st) break;
    }
    yaml_parser_delete(&parser);
    reset_stack(&b);
    mh_free(b.anchors);
    /* Keep the documents parsed before an error: the caller reports them. */
    mh_free(f->docs);
    f->docs = b.docs;
    f->ndocs = b.ndocs;
    return st;
}

static bool key_is(const struct mh_ynode *k, const char *s)
{
    size_t n = strlen(s);
    return k && k->kind == MH_Y_SCALAR && k->len == n && memcmp(k->str, s, n) == 0;
}

const struct mh_ynode *mh_ymap_key(const struct mh_ynode *m, const char *k)
{
    if (!m || m->kind != MH_Y_MAP) return NULL;
    for (uint32_t i = m->n; i-- > 0;)
        if (key_is(m->kids[2 * i], k)) return m->kids[2 * i];
    return NULL;
}

const struct mh_ynode *mh_ymap_get(const struct mh_ynode *m, const char *k)
{
    if (!m || m->kind != MH_Y_MAP) return NULL;
    for (uint32_t i = m->n; i-- > 0;)
        if (key_is(m->kids[2 * i], k)) return m->kids[2 * i + 1];
    return NULL;
}

bool mh_yscalar_is(const struct mh_ynode *n, const char *s)
{
    return key_is(n, s);
}

static bool in_list(const char *s, size_t n, const char *const *list)
{
    for (; *list; list++)
        if (strlen(*list) == n && memcmp(*list, s, n) == 0) return true;
    return false;
}

static bool all_of(const char *s, size_t n, const char *set)
{
    if (n == 0) return false;
    for (size_t i = 0; i < n; i++)
        if (!s[i] || !strchr(set, s[i])) return false;
    return true;
}

/* Sexagesimal tail ":[0-5]?[0-9]" repeated, at least once. */
static bool sexagesimal_tail(const char *s, size_t n)
{
    size_t i = 0;
    if (n == 0) return false;
    while (i < n) {
        if (s[i] != ':') return false;
        i++;
        size_t d = 0;
        while (i < n && s[i] >= '0' && s[i] <= '9' && d < 3) i++, d++;
        if (d == 0 || d > 2) return false;
        if (d == 2 && s[i - 2] > '5') return false;
    }
    return true;
}

static bool is_int(const char *s, size_t n)
{
    if (n && (s[0] == '-' || s[0] == '+')) s++, n--;
    if (n == 0) return false;
    if (n > 2 && s[0] == '0' && s[1] == 'b') return all_of(s + 2, n - 2, "01_");
    if (n > 2 && s[0] == '0' && s[1] == 'x') return all_of(s + 2, n - 2, "0123456789abcdefABCDEF_");
    if (n == 1 && s[0] == '0') return true;
    if (s[0] == '0') return all_of(s + 1, n - 1, "01234567_");
    if (s[0] < '1' || s[0] > '9') return false;
    size_t i = 1;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) i++;
    return i == n || sexagesimal_tail(s + i, n - i);
}

static bool is_float(const char *s, size_t n)
{
    static const char *const special[] = {".inf", ".Inf", ".INF", "-.inf", "-.Inf", "-.INF",
                                          "+.inf", "+.Inf", "+.INF", ".nan", ".NaN", ".NAN",
                                          NULL};
    if (in_list(s, n, special)) return true;
    size_t i = 0;
    if (i < n && (s[i] == '-' || s[i] == '+')) i++;
    size_t d0 = i;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) i++;
    bool lead = i > d0;
    if (lead && !(s[d0] >= '0' && s[d0] <= '9')) return false;
    if (lead && i < n && s[i] == ':') {
        /* sexagesimal float: [0-9][0-9_]*(:[0-5]?[0-9])+\.[0-9_]* */
        size_t j = i;
        while (j < n && s[j] != '.') j++;
        if (j == n || !sexagesimal_tail(s + i, j - i)) return false;
        i = j;
    }
    if (i >= n || s[i] != '.') return false;
    if (!lead && d0 != 0) return false; /* "+.5" is not a float in PyYAML */
    i++;
    size_t f0 = i;
    while (i < n && ((s[i] >= '0' && s[i] <= '9') || s[i] == '_')) i++;
    if (!lead && i == f0) return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        i++;
        if (i >= n || (s[i] != '-' && s[i] != '+')) return false;
        i++;
        size_t e0 = i;
        while (i < n && s[i] >= '0' && s[i] <= '9') i++;
        if (i == e0) return false;
    }
    return i == n;
}

enum mh_ytype mh_yscalar_type(const struct mh_ynode *n)
{
    static const char *const nulls[] = {"~", "null", "Null", "NULL", NULL};
    static const char *const bools[] = {"yes", "Yes", "YES", "no",   "No",    "NO",
                                        "true", "True", "TRUE", "false", "False", "FALSE",
                                        "on",  "On",  "ON",  "off",  "Off",   "OFF",
                                        NULL};
    if (!n || n->kind != MH_Y_SCALAR) return MH_YT_STR;
    if (n->style != MH_YS_PLAIN) return MH_YT_STR;
    if (n->len == 0 || in_list(n->str, n->len, nulls)) return MH_YT_NULL;
    if (in_list(n->str, n->len, bools)) return MH_YT_BOOL;
    if (is_int(n->str, n->len)) return MH_YT_INT;
    if (is_float(n->str, n->len)) return MH_YT_FLOAT;
    return MH_YT_STR;
}

bool mh_yscalar_bool(const struct mh_ynode *n)
{
    if (!n || n->len == 0) return false;
    char c = n->str[0];
    return c == 'y' || c == 'Y' || c == 't' || c == 'T' ||
           ((c == 'o' || c == 'O') && n->len == 2 && (n->str[1] == 'n' || n->str[1] == 'N'));
}

mh_status mh_yscalar_int(const struct mh_ynode *n, int64_t *out)
{
    if (mh_yscalar_type(n) != MH_YT_INT) return MH_EINVAL;
    const char *s = n->str;
    size_t len = n->len, i = 0;
    bool neg = false;
    if (s[0] == '-' || s[0] == '+') neg = s[0] == '-', i++;
    unsigned base = 10;
    if (len - i > 2 && s[i] == '0' && s[i + 1] == 'b') base = 2, i += 2;
    else if (len - i > 2 && s[i] == '0' && s[i + 1] == 'x') base = 16, i += 2;
    else if (len - i > 1 && s[i] == '0') base = 8, i += 1;
    uint64_t total = 0, part = 0;
    for (; i < len; i++) {
        char c = s[i];
        if (c == '_') continue;
        if (c == ':') { /* base 60 */
            if (total > UINT64_MAX / 60) return MH_ELIMIT;
            total = total * 60 + part;
            part = 0;
            continue;
        }
        unsigned d = (c >= '0' && c <= '9')   ? (unsigned)(c - '0')
                     : (c >= 'a' && c <= 'f') ? (unsigned)(c - 'a' + 10)
                                              : (unsigned)(c - 'A' + 10);
        if (part > (UINT64_MAX - d) / base) return MH_ELIMIT;
        part = part * base + d;
    }
    bool sexa = memchr(n->str, ':', n->len) != NULL;
    if (sexa) {
        if (total > UINT64_MAX / 60) return MH_ELIMIT;
        total = total * 60 + part;
    } else {
        total = part;
    }
    if (neg ? total > (uint64_t)INT64_MAX + 1 : total > (uint64_t)INT64_MAX) return MH_ELIMIT;
    *out = neg ? (int64_t)(0 - total) : (int64_t)total;
    return MH_OK;
}
