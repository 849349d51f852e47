/*
 * normalize/path.c -- field access by path, and leaf enumeration
 *
 * Pipeline: ingest -> [normalize] -> match. mh_event_get is what a Sigma
 * field name resolves to; mh_event_leaves feeds keyword search and field
 * listings. Both read the tape in place: nothing is copied except strings
 * with escapes (decoded into the normalizer arena) and JSON held in strings
 * (parsed into a nested tape in the arena, once per batch).
 *
 * Resolution of a path P against a value V (recursive):
 *   P empty        -> V is a result; an array yields each element instead
 *                     (any-element), recursively;
 *   V object       -> for EVERY member whose key K is P, or a prefix of P
 *                     followed by '.', resolve the rest against its value.
 *                     Keys may contain dots: "Role.DisplayName" matches the
 *                     key "Role.DisplayName" and also "Role" -> "DisplayName".
 *   V array        -> each element: resolve P literally (any-element); and,
 *                     if the element is a folded list item, by its name:
 *       {Name, Value}                 "N[.rest]" -> Value[.rest]
 *       {Name, NewValue?, OldValue?}  "N" or "N.NewValue" -> NewValue,
 *       {displayName, newValue?, oldValue?}      "N.OldValue" -> OldValue,
 *                                     "N.other" -> NewValue.other
 *       {key, value}                  "N[.rest]" -> value[.rest]
 *     Item names are compared ASCII case-insensitively (cmdlet parameter
 *     names are case-insensitive in PowerShell); keys are exact.
 *   V string, P non-empty -> when the string holds a JSON object or array
 *                     (after optional whitespace), resolve P in it; at most
 *                     MH_JSON_MAX_NESTED_DEPTH levels of JSON-in-string.
 *   otherwise      -> nothing.
 * If nothing was found in an unwrapped AuditData body, the path is resolved
 * against the wrapper row (RecordId, CreationDate, AssociatedAdminUnits...).
 *
 * Example: LA OfficeActivity row {"Parameters":"[{\"Name\":\"ForwardTo\",
 * \"Value\":\"x@evil.example\"}]"}: "Parameters.ForwardTo" -> string ->
 * nested array -> item Name "ForwardTo" -> "x@evil.example".
 *
 * Leaves: every scalar reachable from the body with the path that
 * resolves to it (folded items appear under their names, modified
 * properties as N.NewValue / N.OldValue, array elements share their array's
 * path). A string holding a JSON container is a leaf itself AND its nested
 * leaves follow with longer paths. Bounded by MH_MAX_FIELDS_PER_EVENT
 * leaves and MH_MAX_FIELD_PATH bytes per path (MH_ELIMIT beyond).
 *
 * Threading: uses the event's normalizer; one thread at a time.
 */
#include <string.h>

#include "mailhound/limits.h"
#include "normalize/event.h"
#include "normalize/internal.h"

enum fold { FOLD_NONE = 0, FOLD_NV, FOLD_MOD, FOLD_KV };

struct fold_item {
    enum fold kind;
    uint32_t name;  /* string node */
    uint32_t value; /* NV/KV value; MOD: new value */
    uint32_t old;   /* MOD: old value */
};

#define KEY(s) s, sizeof(s) - 1

static enum fold fold_of(const struct mh_jdoc *d, uint32_t obj, struct fold_item *it)
{
    if (mh_json_type(d, obj) != MH_JOBJ || mh_json_node(d, obj)->len < 2) return FOLD_NONE;
    it->old = MH_JNONE;
    uint32_t n = mh_json_get(d, obj, KEY("Name"));
    if (n != MH_JNONE && mh_json_type(d, n) == MH_JSTR) {
        uint32_t nv = mh_json_get(d, obj, KEY("NewValue"));
        uint32_t ov = mh_json_get(d, obj, KEY("OldValue"));
        it->name = n;
        if (nv != MH_JNONE || ov != MH_JNONE) {
            it->value = nv;
            it->old = ov;
            return it->kind = FOLD_MOD;
        }
        it->value = mh_json_get(d, obj, KEY("Value"));
        if (it->value != MH_JNONE) return it->kind = FOLD_NV;
    }
    n = mh_json_get(d, obj, KEY("displayName"));
    if (n != MH_JNONE && mh_json_type(d, n) == MH_JSTR) {
        uint32_t nv = mh_json_get(d, obj, KEY("newValue"));
        uint32_t ov = mh_json_get(d, obj, KEY("oldValue"));
        if (nv != MH_JNONE || ov != MH_JNONE) {
            it->name = n;
            it->value = nv;
            it->old = ov;
            return it->kind = FOLD_MOD;
        }
    }
    n = mh_json_get(d, obj, KEY("key"));
    if (n != MH_JNONE && mh_json_type(d, n) == MH_JSTR) {
        it->name = n;
        it->value = mh_json_get(d, obj, KEY("value"));
        if (it->value != MH_JNONE) return it->kind = FOLD_KV;
    }
    return it->kind = FOLD_NONE;
}

/* s is P, or a prefix of P followed by '.': return the rest's offset (or -1). */
static long prefix_of(struct mh_slice s, const char *p, size_t n, bool nocase)
{
    if (s.len > n) return -1;
    if (nocase) {
        if (!mh_slice_eq_nocase(s, mh_slice_make(p, s.len))) return -1;
    } else if (s.len && memcmp(s.ptr, p, s.len) != 0) {
        return -1;
    }
    if (s.len == n) return (long)n;
    if (p[s.len] != '.') return -1;
    return (long)s.len + 1;
}

/* ---- values ---- */

static mh_status make_value(struct mh_normalizer *nz, const struct mh_jdoc *d, uint32_t i,
                            struct mh_value *v)
{
    v->type = mh_json_type(d, i);
    v->doc = d;
    v->node = i;
    switch (v->type) {
    case MH_JSTR:
        return mh_nz_str(nz, d, i, &v->text);
    case MH_JNULL:
        v->text = mh_slice_make("", 0);
        return MH_OK;
    default:
        v->text = mh_json_raw(d, i);
        return MH_OK;
    }
}

/* ---- mh_event_get ---- */

struct walk {
    struct mh_normalizer *nz;
    mh_value_fn fn;
    void *ctx;
    bool found, stop;
    mh_status st;
};

static void fail(struct walk *w, mh_status st)
{
    w->st = st;
    w->stop = true;
}

static void emit(struct walk *w, const struct mh_jdoc *d, uint32_t i)
{
    if (w->stop) return;
    if (mh_json_type(d, i) == MH_JARR) {
        for (uint32_t c = mh_json_first(d, i); c != MH_JNONE && !w->stop; c = mh_json_next(d, i, c))
            emit(w, d, c);
        return;
    }
    struct mh_value v;
    mh_status st = make_value(w->nz, d, i, &v);
    if (st) {
        fail(w, st);
        return;
    }
    w->found = true;
    if (w->fn && w->fn(w->ctx, &v)) w->stop = true;
}

static void resolve(struct walk *w, const struct mh_jdoc *d, uint32_t i, const char *p, size_t n,
                    int level);

static void resolve_fold(struct walk *w, const struct mh_jdoc *d, const struct fold_item *it,
                         const char *p, size_t n, int level)
{
    struct mh_slice name;
    mh_status st = mh_nz_str(w->nz, d, it->name, &name);
    if (st) {
        fail(w, st);
        return;
    }
    long r = prefix_of(name, p, n, true);
    if (r < 0) return;
    const char *rest = p + r;
    size_t rn = n - (size_t)r;
    if (it->kind != FOLD_MOD) {
        resolve(w, d, it->value, rest, rn, level);
        return;
    }
    const char *dot = memchr(rest, '.', rn);
    size_t seg = dot ? (size_t)(dot - rest) : rn;
    size_t after = dot ? seg + 1 : seg;
    struct mh_slice s = mh_slice_make(rest, seg);
    if (mh_slice_eq_nocase(s, MH_SLICE_LIT("NewValue"))) {
        if (it->value != MH_JNONE) resolve(w, d, it->value, rest + after, rn - after, level);
    } else if (mh_slice_eq_nocase(s, MH_SLICE_LIT("OldValue"))) {
        if (it->old != MH_JNONE) resolve(w, d, it->old, rest + after, rn - after, level);
    } else if (it->value != MH_JNONE) {
        resolve(w, d, it->value, rest, rn, level);
    }
}

/* ---- member indexes of large objects ---- */

void mh_nz_index_drop(struct mh_normalizer *nz, const struct mh_jdoc *doc)
{
    for (unsigned k = 0; k < NZ_INDEXES; k++)
        if (!doc || nz->idx[k].doc == doc) nz->idx[k].doc = NULL;
    if (!doc || nz->memo.doc == doc || nz->memo.record_doc == doc) nz->memo.doc = NULL;
}

/* Keys are short: length, first and last 8 bytes are enough for a table
 * whose hits are confirmed by comparing the bytes. */
static uint32_t key_hash(const char *p, size_t n)
{
    uint64_t a = 0, b = 0;
    if (n >= 8) {
        memcpy(&a, p, 8);
        memcpy(&b, p + n - 8, 8);
    } else {
        for (size_t k = 0; k < n; k++) a = a << 8 | (unsigned char)p[k];
    }
    uint64_t h = (a * 0x9E3779B97F4A7C15ULL) ^ (b * 0xC2B2AE3D27D4EB4FULL) ^ (uint64_t)n;
    return (uint32_t)(h >> 32) ^ (uint32_t)h;
}

/* The index of object i of d; NULL when the object is small or too large
 * for a table, when it has not been walked NZ_INDEX_WALKS times yet (most
 * objects are looked into once or twice: a table would cost more than it
 * saves), or when one of its keys cannot be decoded (the walk then does
 * what it always did, errors included). */
static const struct nz_index *index_of(struct mh_normalizer *nz, const struct mh_jdoc *d,
                                       uint32_t i)
{
    uint32_t members = mh_json_node(d, i)->len;
    if (members < NZ_INDEX_MIN || members > NZ_INDEX_SLOTS / 2) return NULL;
    struct nz_index *x = NULL;
    for (unsigned k = 0; k < NZ_INDEXES && !x; k++)
        if (nz->idx[k].doc == d && nz->idx[k].node == i) x = &nz->idx[k];
    if (!x) {
        x = &nz->idx[nz->idx_next];
        nz->idx_next = (nz->idx_next + 1) % NZ_INDEXES;
        x->doc = d;
        x->node = i;
        x->walks = 1;
        x->built = x->unusable = false;
        return NULL;
    }
    if (x->built) return x->unusable ? NULL : x;
    if (++x->walks < NZ_INDEX_WALKS) return NULL;
    x->built = true;
    uint32_t size = NZ_INDEX_MIN * 2;
    while (size < members * 2) size *= 2;
    x->mask = size - 1;
    memset(x->key, 0, size * sizeof x->key[0]);
    for (uint32_t k = mh_json_first(d, i); k != MH_JNONE; k = mh_json_next(d, i, k + 1)) {
        struct mh_slice key;
        if (mh_nz_str(nz, d, k, &key) != MH_OK) {
            x->unusable = true;
            return NULL;
        }
        uint32_t h = key_hash(key.ptr, key.len);
        uint32_t s = h & x->mask;
        while (x->key[s]) s = (s + 1) & x->mask;
        x->key[s] = k + 1;
        x->hash[s] = h;
    }
    return x;
}

struct member {
    uint32_t key;  /* key node */
    uint32_t rest; /* offset of the rest of the path */
};

/* Members of an indexed object whose key is P or a prefix of P followed by
 * '.', in document order (what the walk below visits). False when there are
 * more than fit: the caller walks. */
static bool index_find(struct mh_normalizer *nz, const struct nz_index *x, const struct mh_jdoc *d,
                       const char *p, size_t n, struct member *out, size_t cap, size_t *nout)
{
    size_t m = 0;
    for (size_t e = 0; e <= n; e++) {
        const char *dot = memchr(p + e, '.', n - e);
        e = dot ? (size_t)(dot - p) : n;
        uint32_t h = key_hash(p, e);
        for (uint32_t s = h & x->mask; x->key[s]; s = (s + 1) & x->mask) {
            if (x->hash[s] != h) continue;
            uint32_t k = x->key[s] - 1;
            struct mh_slice key;
            if (mh_nz_str(nz, d, k, &key) != MH_OK) return false;
            if (key.len != e || (e && memcmp(key.ptr, p, e) != 0)) continue;
            if (m == cap) return false;
            size_t j = m++;
            while (j && out[j - 1].key > k) {
                out[j] = out[j - 1];
                j--;
            }
            out[j] = (struct member){k, (uint32_t)(e == n ? n : e + 1)};
        }
    }
    *nout = m;
    return true;
}

/* Every member whose key is P or a prefix of P followed by '.', in order. */
static void resolve_members(struct walk *w, const struct mh_jdoc *d, uint32_t i, const char *p,
                            size_t n, int level)
{
    const struct nz_index *x = index_of(w->nz, d, i);
    struct member mem[16];
    size_t nm;
    if (x && index_find(w->nz, x, d, p, n, mem, sizeof mem / sizeof mem[0], &nm)) {
        for (size_t k = 0; k < nm && !w->stop; k++)
            resolve(w, d, mem[k].key + 1, p + mem[k].rest, n - mem[k].rest, level);
        return;
    }
    for (uint32_t k = mh_json_first(d, i); k != MH_JNONE && !w->stop; k = mh_json_next(d, i, k + 1)) {
        const struct mh_jnode *kn = mh_json_node(d, k);
        /* cheap reject before decoding: an unescaped key longer than P */
        if (!(kn->flags & MH_JF_ESCAPED) && (kn->len > n || (kn->len && d->src[kn->off] != p[0])))
            continue;
        struct mh_slice key;
        mh_status st = mh_nz_str(w->nz, d, k, &key);
        if (st) {
            fail(w, st);
            return;
        }
        long r = prefix_of(key, p, n, false);
        if (r >= 0) resolve(w, d, k + 1, p + r, n - (size_t)r, level);
    }
}

static void resolve(struct walk *w, const struct mh_jdoc *d, uint32_t i, const char *p, size_t n,
                    int level)
{
    if (w->stop) return;
    if (n == 0) {
        emit(w, d, i);
        return;
    }
    switch (mh_json_type(d, i)) {
    case MH_JOBJ:
        resolve_members(w, d, i, p, n, level);
        return;
    case MH_JARR:
        for (uint32_t c = mh_json_first(d, i); c != MH_JNONE && !w->stop;
             c = mh_json_next(d, i, c)) {
            resolve(w, d, c, p, n, level);
            struct fold_item it;
            if (!w->stop && fold_of(d, c, &it) != FOLD_NONE) resolve_fold(w, d, &it, p, n, level);
        }
        return;
    case MH_JSTR: {
        if (level >= MH_JSON_MAX_NESTED_DEPTH) return;
        const struct mh_jdoc *nested;
        mh_status st = mh_nz_nested(w->nz, d, i, &nested);
        if (st) {
            fail(w, st);
            return;
        }
        if (nested) resolve(w, nested, 0, p, n, level + 1);
        return;
    }
    default:
        return;
    }
}

static mh_status walk_event(struct mh_event *ev, const char *path, size_t plen, mh_value_fn fn,
                            void *ctx, bool *found)
{
    struct walk w = {ev->nz, fn, ctx, false, false, MH_OK};
    resolve(&w, ev->doc, ev->body, path, plen, 0);
    if (!w.found && !w.stop && (ev->flags & MH_EVF_UNWRAPPED))
        resolve(&w, ev->record_doc, ev->record_root, path, plen, 0);
    if (found) *found = w.found;
    return w.st;
}

/* ---- memo of the current event's answers ---- */

struct collect {
    struct nz_memo *m;
    uint32_t n;
    bool over;
};

static bool collect_value(void *ctx, const struct mh_value *v)
{
    struct collect *c = ctx;
    if (c->n == NZ_MEMO_PER_PATH || c->m->nvals == NZ_MEMO_VALUES) {
        c->over = true;
        return true;
    }
    c->m->val[c->m->nvals++] = *v;
    c->n++;
    return false;
}

/* The memo entry of path for ev (created empty when new); NULL when the
 * memo is full (the caller walks). */
static struct nz_memo_path *memo_slot(struct mh_event *ev, const char *path, size_t plen,
                                      bool *fresh)
{
    struct nz_memo *m = &ev->nz->memo;
    if (m->doc != ev->doc || m->body != ev->body || m->record_doc != ev->record_doc ||
        m->record_root != ev->record_root) {
        m->doc = ev->doc;
        m->body = ev->body;
        m->record_doc = ev->record_doc;
        m->record_root = ev->record_root;
        if (++m->gen == 0) {
            memset(m->path, 0, sizeof m->path);
            m->gen = 1;
        }
        m->npaths = m->nvals = m->ntext = 0;
    }
    uint32_t h = key_hash(path, plen);
    uint32_t mask = NZ_MEMO_PATHS - 1;
    for (uint32_t i = h & mask;; i = (i + 1) & mask) {
        struct nz_memo_path *e = &m->path[i];
        if (e->gen != m->gen) {
            /* new: keep at most half the table full, and the text */
            if (m->npaths >= NZ_MEMO_PATHS / 2 || plen > NZ_MEMO_TEXT - m->ntext) return NULL;
            e->gen = m->gen;
            e->hash = h;
            e->off = m->ntext;
            e->len = (uint32_t)plen;
            memcpy(m->text + m->ntext, path, plen);
            m->ntext += (uint32_t)plen;
            m->npaths++;
            e->first = e->n = 0;
            *fresh = true;
            return e;
        }
        if (e->hash == h && e->len == plen && memcmp(m->text + e->off, path, plen) == 0) {
            *fresh = false;
            return e;
        }
    }
}

mh_status mh_event_get(struct mh_event *ev, const char *path, size_t plen, mh_value_fn fn,
                       void *ctx, bool *found)
{
    if (plen > MH_MAX_FIELD_PATH) return MH_ELIMIT;
    bool fresh = false;
    struct nz_memo_path *e = ev->nz ? memo_slot(ev, path, plen, &fresh) : NULL;
    if (!e || e->n == UINT32_MAX) return walk_event(ev, path, plen, fn, ctx, found);
    struct nz_memo *m = &ev->nz->memo;
    if (fresh) {
        /* Walk once to the end, keeping every value; any trouble (an error,
           too many values) and the path is walked as before, every time. */
        struct collect c = {m, 0, false};
        uint32_t first = m->nvals;
        mh_status st = walk_event(ev, path, plen, collect_value, &c, NULL);
        if (st || c.over) {
            m->nvals = first;
            e->n = UINT32_MAX;
            return walk_event(ev, path, plen, fn, ctx, found);
        }
        e->first = first;
        e->n = c.n;
    }
    uint32_t first = e->first, n = e->n;
    if (found) *found = n > 0;
    if (fn)
        for (uint32_t i = 0; i < n; i++)
            if (fn(ctx, &m->val[first + i])) break;
    return MH_OK;
}

struct first_str {
    struct mh_slice s;
    bool got;
};

static bool take_first_str(void *ctx, const struct mh_value *v)
{
    struct first_str *f = ctx;
    if (v->type != MH_JSTR && v->type != MH_JNUM) return false;
    f->s = v->text;
    f->got = true;
    return true;
}

mh_status mh_event_get_str(struct mh_event *ev, const char *path, struct mh_slice *out)
{
    struct first_str f = {MH_SLICE_NULL, false};
    mh_status st = mh_event_get(ev, path, strlen(path), take_first_str, &f, NULL);
    if (st) return st;
    if (!f.got) return MH_ENOTFOUND;
    *out = f.s;
    return MH_OK;
}

/* ---- mh_event_leaves ---- */

struct leaves {
    struct mh_normalizer *nz;
    mh_leaf_fn fn;
    void *ctx;
    char path[MH_MAX_FIELD_PATH];
    size_t plen;
    size_t nseg; /* segments in path: an empty key is a segment too, so a
                    path never silently loses one ("" then "a" gives ".a") */
    size_t count;
    bool stop;
    mh_status st;
};

static bool push(struct leaves *lw, struct mh_slice seg)
{
    size_t need = seg.len + (lw->nseg ? 1 : 0);
    if (need > MH_MAX_FIELD_PATH - lw->plen) {
        lw->st = MH_ELIMIT;
        lw->stop = true;
        return false;
    }
    if (lw->nseg) lw->path[lw->plen++] = '.';
    memcpy(lw->path + lw->plen, seg.ptr, seg.len);
    lw->plen += seg.len;
    lw->nseg++;
    return true;
}

static void leaf_walk(struct leaves *lw, const struct mh_jdoc *d, uint32_t i, int level);

static void leaf_under(struct leaves *lw, const struct mh_jdoc *d, uint32_t i, struct mh_slice seg,
                       int level)
{
    size_t saved = lw->plen, savedseg = lw->nseg;
    if (!push(lw, seg)) return;
    leaf_walk(lw, d, i, level);
    lw->plen = saved;
    lw->nseg = savedseg;
}

static void leaf_emit(struct leaves *lw, const struct mh_jdoc *d, uint32_t i)
{
    if (++lw->count > MH_MAX_FIELDS_PER_EVENT) {
        lw->st = MH_ELIMIT;
        lw->stop = true;
        return;
    }
    struct mh_value v;
    mh_status st = make_value(lw->nz, d, i, &v);
    if (st) {
        lw->st = st;
        lw->stop = true;
        return;
    }
    if (lw->fn(lw->ctx, mh_slice_make(lw->path, lw->plen), &v)) lw->stop = true;
}

static void leaf_walk(struct leaves *lw, const struct mh_jdoc *d, uint32_t i, int level)
{
    if (lw->stop) return;
    mh_status st;
    switch (mh_json_type(d, i)) {
    case MH_JOBJ:
        for (uint32_t k = mh_json_first(d, i); k != MH_JNONE && !lw->stop;
             k = mh_json_next(d, i, k + 1)) {
            struct mh_slice key;
            if ((st = mh_nz_str(lw->nz, d, k, &key))) goto fail;
            leaf_under(lw, d, k + 1, key, level);
        }
        return;
    case MH_JARR:
        for (uint32_t c = mh_json_first(d, i); c != MH_JNONE && !lw->stop;
             c = mh_json_next(d, i, c)) {
            struct fold_item it;
            if (fold_of(d, c, &it) == FOLD_NONE) {
                leaf_walk(lw, d, c, level);
                continue;
            }
            struct mh_slice name;
            if ((st = mh_nz_str(lw->nz, d, it.name, &name))) goto fail;
            if (it.kind != FOLD_MOD) {
                leaf_under(lw, d, it.value, name, level);
                continue;
            }
            size_t saved = lw->plen, savedseg = lw->nseg;
            if (!push(lw, name)) return;
            if (it.value != MH_JNONE) leaf_under(lw, d, it.value, MH_SLICE_LIT("NewValue"), level);
            if (it.old != MH_JNONE) leaf_under(lw, d, it.old, MH_SLICE_LIT("OldValue"), level);
            lw->plen = saved;
            lw->nseg = savedseg;
        }
        return;
    case MH_JSTR: {
        leaf_emit(lw, d, i);
        if (lw->stop || level >= MH_JSON_MAX_NESTED_DEPTH) return;
        const struct mh_jdoc *nested;
        if ((st = mh_nz_nested(lw->nz, d, i, &nested))) goto fail;
        if (nested) leaf_walk(lw, nested, 0, level + 1);
        return;
    }
    default:
        leaf_emit(lw, d, i);
        return;
    }
fail:
    lw->st = st;
    lw->stop = true;
}

mh_status mh_event_leaves(struct mh_event *ev, mh_leaf_fn fn, void *ctx)
{
    struct leaves lw;
    lw.nz = ev->nz;
    lw.fn = fn;
    lw.ctx = ctx;
    lw.plen = 0;
    lw.nseg = 0;
    lw.count = 0;
    lw.stop = false;
    lw.st = MH_OK;
    leaf_walk(&lw, ev->doc, ev->body, 0);
    if (!(ev->flags & MH_EVF_UNWRAPPED)) return lw.st;
    /* Wrapper columns reachable through the fallback (not shadowed by the body). */
    const struct mh_jdoc *d = ev->record_doc;
    uint32_t root = ev->record_root;
    for (uint32_t k = mh_json_first(d, root); k != MH_JNONE && !lw.stop;
         k = mh_json_next(d, root, k + 1)) {
        struct mh_slice key;
        mh_status st = mh_nz_str(lw.nz, d, k, &key);
        if (st) return st;
        if (mh_slice_eq(key, MH_SLICE_LIT("AuditData"))) continue;
        if (mh_json_get(ev->doc, ev->body, key.ptr, key.len) != MH_JNONE) continue;
        leaf_under(&lw, d, k + 1, key, 0);
    }
    return lw.st;
}
