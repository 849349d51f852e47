/*
 * scope/scope.c -- life cycle, interned strings, context keys, incidents
 *
 * Pipeline: correlate (incidents.json) -> [scope]. See scope/scope.h for the
 * whole stage and scope/internal.h for the data model.
 *
 * Incidents: the JSON contract of correlate/incident.h
 *   {"incidents":[{"id","score","level","first_seen","last_seen",
 *     "entities":{"users":[],"ips":[],"apps":[],"sessions":[],"tokens":[],
 *                 "mailboxes":[]},"steps":[...]}]}
 * Unknown members are ignored; id is required; first_seen / last_seen may be
 * null or absent (that side of the window is open); entity values that are
 * not strings are skipped. Each value becomes a key "<kind><canonical>"
 * (users/mailboxes lower-case, IPs canonical, GUIDs lower-case, UTIs decoded
 * to the sign-in id they encode, log-formats.md §12) listing the incident.
 * First-party app ids (mh_appset) are kept aside as "ignored": they would
 * match every Exchange or Graph client of the tenant.
 *
 * Window of incident K: [first_seen - before, last_seen + after], saturating.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "ingest/json.h"
#include "normalize/ident.h"
#include "scope/internal.h"

const char *const mh_scope_level_name[SC_L__N] = {
    "none", "user", "ip+client", "token-learned", "session-learned", "ip", "app", "client_app",
    "token", "session",
};
const char *const mh_scope_basis_name[SC_B__N] = {"bind", "sync", "throttle", "sent"};
const char *const mh_scope_how_name[SC_H__N] = {"folder", "split-by-sender", "whole-mailbox",
                                                "folder-not-in-store", "not-mail",
                                                "mailbox-not-in-store"};

void mh_scope_opts_defaults(struct mh_scope_opts *o)
{
    memset(o, 0, sizeof *o);
    o->before = MH_SCOPE_DEFAULT_BEFORE;
    o->after = MH_SCOPE_DEFAULT_AFTER;
    o->throttle_span = MH_SCOPE_THROTTLE_SPAN;
    o->near = MH_SCOPE_DEFAULT_NEAR;
}

mh_status mh_scope_new(const struct mh_scope_opts *o, mh_scope **out)
{
    if (!o || o->before < 0 || o->after < 0 || o->throttle_span < 0 || o->near < 0)
        return MH_EINVAL;
    mh_scope *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    s->o = *o;
    mh_arena_init(&s->arena, 65536, 0);
    mh_map_init(&s->strs, MH_SCOPE_MAX_STRINGS, false);
    mh_map_init(&s->keymap, MH_SCOPE_MAX_KEYS, false);
    mh_map_init(&s->rids, MH_SCOPE_MAX_RECORDS, false);
    mh_map_init(&s->pairs, MH_SCOPE_MAX_PAIRS, false);
    mh_map_init(&s->trace_ix, MH_SCOPE_MAX_TRACE_MSGS, false);
    mh_map_init(&s->mbx_ix, MH_SCOPE_MAX_KEYS, false);
    mh_map_init(&s->msg_ix, MH_SCOPE_MAX_MESSAGES, false);
    mh_map_init(&s->store_owner, MH_MAX_MAIL_LOCATIONS, false);
    mh_map_init(&s->grant_ix, MH_SCOPE_MAX_GRANTS, false);
    mh_map_init(&s->sp_app, MH_SCOPE_MAX_GRANTS, false);
    mh_map_init(&s->aud_ix, MH_SCOPE_MAX_AUDIT_MAILBOXES, false);
    mh_map_init(&s->aud_obs, MH_SCOPE_MAX_AUDIT_OBS, false);
    mh_buf_init(&s->tmp, (size_t)1 << 24);
    mh_buf_init(&s->tmp2, (size_t)1 << 24);
    mh_arena_init(&s->scratch, 65536, MH_EVENT_ARENA_BYTES);
    mh_jdoc_init(&s->nested, &s->scratch);
    s->last_file = SC_NONE;
    s->last_file_str = SC_NONE;
    *out = s;
    return MH_OK;
}

static void list_fini(struct sc_list *l)
{
    mh_free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

void mh_scope_free(mh_scope *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nkeys; i++) {
        list_fini(&s->keys[i].given);
        list_fini(&s->keys[i].learned);
    }
    for (size_t i = 0; i < s->nincs; i++) {
        list_fini(&s->incs[i].given);
        list_fini(&s->incs[i].learned);
        list_fini(&s->incs[i].ignored);
    }
    for (size_t i = 0; i < s->nmbxs; i++) mh_free(s->mbxs[i].smb);
    mh_scope_appwide_free(s);
    mh_free(s->keys);
    mh_free(s->incs);
    mh_free(s->win);
    mh_free(s->recs);
    mh_free(s->items);
    mh_free(s->matches);
    mh_free(s->traces);
    mh_free(s->rcpts);
    mh_free(s->mbxs);
    mh_free(s->msgs);
    mh_free(s->evs);
    mh_free(s->tws);
    mh_free(s->syncs);
    mh_free(s->loc_first);
    mh_free(s->loc_next);
    mh_free(s->smb_next);
    mh_map_fini(&s->strs);
    mh_map_fini(&s->keymap);
    mh_map_fini(&s->rids);
    mh_map_fini(&s->pairs);
    mh_map_fini(&s->trace_ix);
    mh_map_fini(&s->mbx_ix);
    mh_map_fini(&s->msg_ix);
    mh_map_fini(&s->store_owner);
    mh_buf_fini(&s->tmp);
    mh_buf_fini(&s->tmp2);
    mh_jdoc_fini(&s->nested);
    mh_arena_fini(&s->scratch);
    mh_arena_fini(&s->arena);
    mh_free(s);
}

/* ------------------------------------------------------------ containers */

mh_status mh_scope_grow(void **p, size_t *cap, size_t need, size_t elem, size_t max)
{
    if (need <= *cap) return MH_OK;
    if (need > max) return MH_ELIMIT;
    size_t nc = *cap ? *cap : 16;
    while (nc < need) nc *= 2;
    if (nc > max) nc = max;
    void *q = mh_realloc(*p, nc * elem);
    if (!q) return MH_ENOMEM;
    *p = q;
    *cap = nc;
    return MH_OK;
}

mh_status mh_scope_slot(struct mh_map *m, const void *k, size_t kn, struct sc_array a,
                        uint32_t *idx, bool *created, uint64_t *dropped)
{
    *idx = SC_NONE;
    *created = false;
    struct mh_map_entry *e;
    bool fresh;
    mh_status st = mh_map_put(m, k, kn, &e, &fresh);
    if (st == MH_ELIMIT) {
        (*dropped)++;
        return MH_OK;
    }
    if (st) return st;
    if (!fresh) {
        *idx = (uint32_t)e->value;
        return MH_OK;
    }
    e->value = SC_NONE; /* stays unusable when the array cannot grow */
    st = mh_scope_grow(a.p, a.cap, *a.n + 1, a.elem, a.max);
    if (st == MH_ELIMIT) {
        (*dropped)++;
        return MH_OK;
    }
    if (st) return st;
    memset((char *)*a.p + *a.n * a.elem, 0, a.elem);
    e->value = *a.n;
    *idx = (uint32_t)(*a.n)++;
    *created = true;
    return MH_OK;
}

mh_status mh_scope_str(mh_scope *s, const char *p, size_t n, uint32_t *id)
{
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->strs, p, n, &e, &created);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        *id = SC_NONE;
        return MH_OK;
    }
    if (st) return st;
    if (created) e->value = s->strs.n - 1;
    *id = (uint32_t)e->value;
    return MH_OK;
}

static mh_status key_text(mh_scope *s, char kind, struct mh_slice v)
{
    mh_buf_clear(&s->tmp2);
    MH_TRY(mh_buf_putc(&s->tmp2, kind));
    return mh_buf_append(&s->tmp2, v.ptr, v.len);
}

mh_status mh_scope_key(mh_scope *s, char kind, struct mh_slice v, uint32_t *id)
{
    MH_TRY(key_text(s, kind, v));
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->keymap, s->tmp2.data, s->tmp2.len, &e, &created);
    if (st == MH_ELIMIT) {
        s->st.dropped++;
        *id = SC_NONE;
        return MH_OK;
    }
    if (st) return st;
    if (created) {
        size_t k = s->keymap.n - 1;
        st = mh_scope_grow((void **)&s->keys, &s->capkeys, k + 1, sizeof *s->keys,
                           MH_SCOPE_MAX_KEYS);
        if (st) {
            /* keep the map and the array in step: the entry stays, unusable */
            e->value = SC_NONE;
            if (st == MH_ELIMIT) {
                s->st.dropped++;
                *id = SC_NONE;
                return MH_OK;
            }
            return st;
        }
        /* slots of entries that failed earlier stay zeroed (never referenced) */
        memset(&s->keys[s->nkeys], 0, (k + 1 - s->nkeys) * sizeof *s->keys);
        s->nkeys = k + 1;
        e->value = k;
    }
    *id = (uint32_t)e->value;
    return MH_OK;
}

uint32_t mh_scope_key_find(const mh_scope *s, char kind, struct mh_slice v)
{
    char small[256];
    if (v.len + 1 > sizeof small) {
        /* long values are rare (user agents): compare through the scratch buffer */
        mh_scope *w = (mh_scope *)s;
        if (key_text(w, kind, v)) return SC_NONE;
        struct mh_map_entry *e = mh_map_get(&s->keymap, w->tmp2.data, w->tmp2.len);
        return e ? (uint32_t)e->value : SC_NONE;
    }
    small[0] = kind;
    if (v.len) memcpy(small + 1, v.ptr, v.len);
    struct mh_map_entry *e = mh_map_get(&s->keymap, small, v.len + 1);
    return e ? (uint32_t)e->value : SC_NONE;
}

bool mh_scope_ref_less(const mh_scope *s, uint32_t fa, uint64_t ra, uint32_t fb, uint64_t rb)
{
    if (fa != fb) {
        if (fa == SC_NONE || fb == SC_NONE) return fb == SC_NONE;
        int c = mh_slice_cmp(mh_scope_str_get(s, fa), mh_scope_str_get(s, fb));
        if (c) return c < 0;
    }
    return ra < rb;
}

bool mh_scope_list_has(const struct sc_list *l, uint32_t v)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->v[mid] == v) return true;
        if (l->v[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return false;
}

mh_status mh_scope_list_add(struct sc_list *l, uint32_t v, bool *added)
{
    uint32_t lo = 0, hi = l->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (l->v[mid] == v) {
            if (added) *added = false;
            return MH_OK;
        }
        if (l->v[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    size_t cap = l->cap;
    MH_TRY(mh_scope_grow((void **)&l->v, &cap, (size_t)l->n + 1, sizeof *l->v, UINT32_MAX - 1));
    l->cap = (uint32_t)cap;
    memmove(l->v + lo + 1, l->v + lo, (l->n - lo) * sizeof *l->v);
    l->v[lo] = v;
    l->n++;
    if (added) *added = true;
    return MH_OK;
}

/* Lower-case 8-4-4-4-12 hex: what mh_guid_format would print. */
static bool guid_canonical(struct mh_slice v)
{
    if (v.len != 36) return false;
    for (size_t i = 0; i < 36; i++) {
        char c = v.ptr[i];
        bool dash = i == 8 || i == 13 || i == 18 || i == 23;
        if (dash ? c != '-' : !((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    }
    return true;
}

mh_status mh_scope_canon(char kind, struct mh_slice v, struct mh_buf *buf, struct mh_slice *out)
{
    v = mh_slice_trim(v);
    mh_buf_clear(buf);
    switch (kind) {
    case SC_K_USER:
    case SC_K_MBX:
        MH_TRY(mh_buf_reserve(buf, v.len + 1));
        for (size_t i = 0; i < v.len; i++) buf->data[i] = (char)mh_ascii_lower((unsigned char)v.ptr[i]);
        buf->len = v.len;
        buf->data[v.len] = '\0';
        *out = mh_slice_make(buf->data, buf->len);
        return MH_OK;
    case SC_K_IP: {
        char ipb[MH_IP_TEXT_MAX];
        struct mh_slice c = mh_ip_canon(v.ptr, v.len, ipb);
        MH_TRY(mh_buf_append(buf, c.ptr, c.len));
        *out = mh_slice_make(buf->data, buf->len);
        return MH_OK;
    }
    case SC_K_APP:
    case SC_K_SESSION:
    case SC_K_TOKEN: {
        if (guid_canonical(v)) { /* the normalizer's form: nothing to do */
            *out = v;
            return MH_OK;
        }
        struct mh_guid g;
        bool ok = mh_guid_parse(v.ptr, v.len, &g) == MH_OK;
        if (!ok && kind == SC_K_TOKEN) ok = mh_uti_decode(v.ptr, v.len, &g) != MH_UTI_OPAQUE;
        if (ok) {
            char gb[37];
            size_t n = mh_guid_format(&g, gb);
            MH_TRY(mh_buf_append(buf, gb, n));
            *out = mh_slice_make(buf->data, buf->len);
            return MH_OK;
        }
        *out = v;
        return MH_OK;
    }
    default:
        *out = v;
        return MH_OK;
    }
}

/* ------------------------------------------------------------ incidents */

static mh_time sat_sub(mh_time t, mh_time d)
{
    return t < SC_TIME_MIN + d ? SC_TIME_MIN : t - d;
}

mh_time mh_scope_time_add(mh_time t, mh_time d)
{
    return t > SC_TIME_MAX - d ? SC_TIME_MAX : t + d;
}

static mh_status add_keys(mh_scope *s, uint32_t inc, char kind, const struct mh_slice *v, size_t n)
{
    struct sc_inc *I = &s->incs[inc];
    for (size_t i = 0; i < n; i++) {
        struct mh_slice c;
        MH_TRY(mh_scope_canon(kind, v[i], &s->tmp, &c));
        if (!c.len) continue;
        uint32_t k;
        MH_TRY(mh_scope_key(s, kind, c, &k));
        if (k == SC_NONE) continue;
        if (kind == SC_K_APP && s->o.first_party && mh_appset_has(s->o.first_party, c)) {
            MH_TRY(mh_scope_list_add(&I->ignored, k, NULL));
            continue;
        }
        MH_TRY(mh_scope_list_add(&I->given, k, NULL));
        MH_TRY(mh_scope_list_add(&s->keys[k].given, inc, NULL));
    }
    return MH_OK;
}

mh_status mh_scope_add_incident(mh_scope *s, const struct mh_scope_incident *in)
{
    if (s->fed) return MH_EINVAL;
    if (s->o.only_incident && !mh_slice_eq_cstr(in->id, s->o.only_incident)) return MH_OK;
    if (s->o.keep && !s->o.keep(s->o.keep_ctx, in)) return MH_OK;
    if (s->nincs >= MH_SCOPE_MAX_INCIDENTS) return MH_ELIMIT;
    MH_TRY(mh_scope_grow((void **)&s->incs, &s->capincs, s->nincs + 1, sizeof *s->incs,
                         MH_SCOPE_MAX_INCIDENTS));
    uint32_t k = (uint32_t)s->nincs;
    struct sc_inc *I = &s->incs[k];
    memset(I, 0, sizeof *I);
    I->id = mh_arena_strndup(&s->arena, in->id.ptr ? in->id.ptr : "", in->id.len);
    I->level = mh_arena_strndup(&s->arena, in->level.ptr ? in->level.ptr : "", in->level.len);
    if (!I->id || !I->level) return MH_ENOMEM;
    s->nincs++;
    I->score = in->score;
    I->first = in->first_seen;
    I->last = in->last_seen;
    I->wstart = in->first_seen == MH_TIME_NONE ? SC_TIME_MIN : sat_sub(in->first_seen, s->o.before);
    I->wend = in->last_seen == MH_TIME_NONE ? SC_TIME_MAX : mh_scope_time_add(in->last_seen, s->o.after);
    MH_TRY(add_keys(s, k, SC_K_USER, in->users, in->nusers));
    MH_TRY(add_keys(s, k, SC_K_IP, in->ips, in->nips));
    MH_TRY(add_keys(s, k, SC_K_APP, in->apps, in->napps));
    MH_TRY(add_keys(s, k, SC_K_SESSION, in->sessions, in->nsessions));
    MH_TRY(add_keys(s, k, SC_K_TOKEN, in->tokens, in->ntokens));
    MH_TRY(add_keys(s, k, SC_K_MBX, in->mailboxes, in->nmailboxes));
    s->st.incidents = s->nincs;
    return MH_OK;
}

size_t mh_scope_incident_count(const mh_scope *s)
{
    return s->nincs;
}

static mh_status json_fail(mh_error *err, mh_status st, const char *msg, uint64_t off)
{
    mh_error_set(err, st, msg, NULL);
    mh_error_at(err, NULL, 0, 0, off, 0);
    return st;
}

/* Strings of array member `name` of object o (non-strings skipped). */
static mh_status str_list(const struct mh_jdoc *d, uint32_t o, const char *name,
                          struct mh_arena *a, const struct mh_slice **out, size_t *n)
{
    *out = NULL;
    *n = 0;
    if (o == MH_JNONE) return MH_OK;
    uint32_t arr = mh_json_get(d, o, name, strlen(name));
    if (arr == MH_JNONE || mh_json_type(d, arr) != MH_JARR) return MH_OK;
    size_t cnt = mh_json_node(d, arr)->len;
    if (!cnt) return MH_OK;
    struct mh_slice *v = mh_arena_alloc(a, cnt * sizeof *v);
    if (!v) return MH_ENOMEM;
    size_t k = 0;
    for (uint32_t i = mh_json_first(d, arr); i != MH_JNONE; i = mh_json_next(d, arr, i)) {
        if (mh_json_type(d, i) != MH_JSTR) continue;
        MH_TRY(mh_json_str(d, i, a, &v[k]));
        k++;
    }
    *out = v;
    *n = k;
    return MH_OK;
}

static mh_status get_time(const struct mh_jdoc *d, uint32_t o, const char *name, struct mh_arena *a,
                          mh_time *out, mh_error *err)
{
    *out = MH_TIME_NONE;
    uint32_t v = mh_json_get(d, o, name, strlen(name));
    if (v == MH_JNONE || mh_json_type(d, v) == MH_JNULL) return MH_OK;
    struct mh_slice t;
    if (mh_json_type(d, v) != MH_JSTR || mh_json_str(d, v, a, &t) ||
        mh_time_parse(t.ptr, t.len, out))
        return json_fail(err, MH_EPARSE, "bad time", mh_json_node(d, v)->off);
    return MH_OK;
}

static mh_status load_one(mh_scope *s, const struct mh_jdoc *d, uint32_t o, struct mh_arena *a,
                          mh_error *err)
{
    struct mh_scope_incident in;
    memset(&in, 0, sizeof in);
    if (mh_json_type(d, o) != MH_JOBJ)
        return json_fail(err, MH_EPARSE, "incident is not an object", mh_json_node(d, o)->off);
    uint32_t v = mh_json_get(d, o, "id", 2);
    if (v == MH_JNONE || mh_json_type(d, v) != MH_JSTR)
        return json_fail(err, MH_EPARSE, "incident without id", mh_json_node(d, o)->off);
    MH_TRY(mh_json_str(d, v, a, &in.id));
    v = mh_json_get(d, o, "level", 5);
    if (v != MH_JNONE && mh_json_type(d, v) == MH_JSTR) MH_TRY(mh_json_str(d, v, a, &in.level));
    v = mh_json_get(d, o, "score", 5);
    if (v != MH_JNONE && mh_json_type(d, v) == MH_JNUM && mh_json_int(d, v, &in.score))
        in.score = 0;
    MH_TRY(get_time(d, o, "first_seen", a, &in.first_seen, err));
    MH_TRY(get_time(d, o, "last_seen", a, &in.last_seen, err));
    uint32_t ent = mh_json_get(d, o, "entities", 8);
    if (ent != MH_JNONE && mh_json_type(d, ent) != MH_JOBJ) ent = MH_JNONE;
    MH_TRY(str_list(d, ent, "users", a, &in.users, &in.nusers));
    MH_TRY(str_list(d, ent, "ips", a, &in.ips, &in.nips));
    MH_TRY(str_list(d, ent, "apps", a, &in.apps, &in.napps));
    MH_TRY(str_list(d, ent, "sessions", a, &in.sessions, &in.nsessions));
    MH_TRY(str_list(d, ent, "tokens", a, &in.tokens, &in.ntokens));
    MH_TRY(str_list(d, ent, "mailboxes", a, &in.mailboxes, &in.nmailboxes));
    mh_status st = mh_scope_add_incident(s, &in);
    if (st == MH_ELIMIT) return mh_error_set(err, st, "too many incidents", "MH_SCOPE_MAX_INCIDENTS");
    return st;
}

mh_status mh_scope_load_incidents(mh_scope *s, const char *json, size_t len, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_jdoc d;
    struct mh_arena a;
    mh_jdoc_init(&d, NULL);
    mh_arena_init(&a, 65536, 0);
    MH_CHECK(mh_json_parse(&d, json, len, err));
    if (mh_json_type(&d, 0) != MH_JOBJ) {
        st = json_fail(err, MH_EPARSE, "missing incidents array", 0);
        goto out;
    }
    uint32_t arr = mh_json_get(&d, 0, "incidents", 9);
    if (arr == MH_JNONE || mh_json_type(&d, arr) != MH_JARR) {
        st = json_fail(err, MH_EPARSE, "missing incidents array", 0);
        goto out;
    }
    for (uint32_t i = mh_json_first(&d, arr); i != MH_JNONE; i = mh_json_next(&d, arr, i)) {
        MH_CHECK(load_one(s, &d, i, &a, err));
        mh_arena_reset(&a);
    }
out:
    mh_arena_fini(&a);
    mh_jdoc_fini(&d);
    return st;
}

mh_status mh_scope_load_incidents_file(mh_scope *s, const char *path, mh_error *err)
{
    mh_status st = MH_OK;
    char *buf = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        st = mh_error_set(err, MH_EIO, "cannot read incidents", "%s: %s", path, strerror(e));
        if (err) err->sys_errno = e;
        goto out;
    }
    if (sb.st_size < 0 || (uint64_t)sb.st_size > MH_SCOPE_MAX_INCIDENTS_BYTES) {
        st = mh_error_set(err, MH_ELIMIT, "incidents file too large", "%s", path);
        goto out;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    buf = mh_malloc(n ? n : 1);
    if (!buf) {
        st = MH_ENOMEM;
        goto out;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            st = mh_error_set(err, MH_EIO, "cannot read incidents", "%s: %s", path,
                              r < 0 ? strerror(errno) : "file shrank");
            goto out;
        }
        got += (size_t)r;
    }
    st = mh_scope_load_incidents(s, buf, n, err);
    if (st && err && !err->origin[0]) mh_error_at(err, path, 0, 0, err->offset, 0);
out:
    if (fd >= 0) close(fd);
    mh_free(buf);
    return st;
}

/* ------------------------------------------------------------ finish, stats */

mh_status mh_scope_finish(mh_scope *s)
{
    if (s->finished) return MH_EINVAL;
    s->finished = true;
    MH_TRY(mh_scope_decide(s));
    MH_TRY(mh_scope_collect(s));
    return mh_scope_appwide(s);
}

void mh_scope_get_stats(const mh_scope *s, struct mh_scope_stats *out)
{
    *out = s->st;
}
