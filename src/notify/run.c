/*
 * notify/run.c -- one notification run (see run.h)
 *
 * Data model (all strings in one arena owned by the run):
 *   items[]  one per (message id, our mailbox) of scope.json, then sorted by
 *            id and merged into msgs[] (mailboxes and evidence united);
 *   msgs[]   distinct scoped messages: the store's message, joined mailboxes,
 *            evidence, confidence, secret count;
 *   orgs     key -> struct org (kind, display name, member list of
 *            (message, that org's addresses with roles)), processed in key
 *            order.
 * Every container is bounded: scope.json by the JSON reader's limits, the
 * organisations by MH_ORG_MAX_ENTRIES, one package by MH_PKG_MAX_MESSAGES.
 */
#include "notify/run.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "ingest/json.h"
#include "mailhound/limits.h"
#include "notify/fs.h"
#include "notify/ledger.h"
#include "notify/package.h"
#include "notify/stix.h"

/* New packages per durability batch (one syncfs + one transaction each). */
#define NOTIFY_BATCH 256u

struct item {
    const char *id, *mailbox, *evidence;
    int conf; /* 0 observed, 1 inferred-sync, 2 inferred-throttle */
};

struct smsg {
    const char *id;
    const struct mh_mail_msg *mm; /* NULL: not in the store */
    const char *mailboxes, *evidence;
    int conf;
    unsigned secrets;
};

struct member {
    uint32_t msg;
    const char *addresses;
};

struct org {
    const char *key;
    const char *name;
    enum mh_org_kind kind;
    struct member *m;
    size_t n, cap;
};

struct run {
    const struct mh_notify_opts *o;
    const mh_mailstore *store;
    struct mh_notify_stats *st;
    mh_notify_note_fn note;
    void *ctx;
    mh_error *err;
    struct mh_arena a;
    struct mh_jdoc d;
    struct item *items;
    size_t nitems, capitems;
    struct smsg *msgs;
    size_t nmsgs;
    struct mh_map orgmap; /* key -> index into orgs */
    struct org *orgs;
    size_t norgs, caporgs;
    struct mh_map noted; /* addresses already reported */
    struct mh_stix_indicator *ind;
    size_t nind, capind;
    mh_time first, last, date;
    struct mh_buf ids; /* incident ids, ',' */
};

static const char *const conf_names[] = {"observed", "inferred-sync", "inferred-throttle"};

static void note(struct run *r, const char *kind, const char *detail)
{
    if (r->note) r->note(r->ctx, kind, detail);
}

static mh_status oom(struct run *r)
{
    return mh_error_set(r->err, MH_ENOMEM, "out of memory", NULL);
}

static const char *dup_slice(struct run *r, struct mh_slice s)
{
    return mh_arena_strndup(&r->a, s.ptr ? s.ptr : "", s.len);
}

/* ---- scope.json ---- */

static mh_status jstr(struct run *r, uint32_t obj, const char *k, struct mh_slice *out)
{
    *out = MH_SLICE_NULL;
    uint32_t v = mh_json_get(&r->d, obj, k, strlen(k));
    if (v == MH_JNONE || mh_json_type(&r->d, v) != MH_JSTR) return MH_OK;
    mh_status st = mh_json_str(&r->d, v, &r->a, out);
    return st ? mh_error_set(r->err, st, "cannot decode scope.json string", NULL) : MH_OK;
}

static mh_status jtime(struct run *r, uint32_t obj, const char *k, mh_time *out)
{
    struct mh_slice s;
    *out = MH_TIME_NONE;
    MH_TRY(jstr(r, obj, k, &s));
    if (s.len && mh_time_parse(s.ptr, s.len, out) != MH_OK) *out = MH_TIME_NONE;
    return MH_OK;
}

static mh_status add_indicators(struct run *r, uint32_t ctxobj, const char *k, enum mh_stix_kind kind,
                                const char *why, mh_time first, mh_time last)
{
    uint32_t arr = mh_json_get(&r->d, ctxobj, k, strlen(k));
    if (arr == MH_JNONE || mh_json_type(&r->d, arr) != MH_JARR) return MH_OK;
    for (uint32_t i = mh_json_first(&r->d, arr); i != MH_JNONE; i = mh_json_next(&r->d, arr, i)) {
        if (mh_json_type(&r->d, i) != MH_JSTR) continue;
        struct mh_slice v;
        if (mh_json_str(&r->d, i, &r->a, &v)) return oom(r);
        mh_status st = MH_GROW(r->ind, r->capind, r->nind + 1, 16, MH_STIX_MAX_INDICATORS);
        if (st) return mh_error_set(r->err, st, "too many indicators", NULL);
        const char *val = dup_slice(r, v);
        if (!val) return oom(r);
        r->ind[r->nind++] = (struct mh_stix_indicator){kind, val, why, first, last};
    }
    return MH_OK;
}

static mh_status parse_incidents(struct run *r)
{
    uint32_t incs = mh_json_get(&r->d, 0, "incidents", 9);
    if (incs == MH_JNONE || mh_json_type(&r->d, incs) != MH_JARR) return MH_OK;
    for (uint32_t i = mh_json_first(&r->d, incs); i != MH_JNONE; i = mh_json_next(&r->d, incs, i)) {
        if (mh_json_type(&r->d, i) != MH_JOBJ) continue;
        struct mh_slice id;
        mh_time f, l;
        MH_TRY(jstr(r, i, "id", &id));
        MH_TRY(jtime(r, i, "first_seen", &f));
        MH_TRY(jtime(r, i, "last_seen", &l));
        if (id.len) {
            mh_status st = r->ids.len ? mh_buf_putc(&r->ids, ',') : MH_OK;
            if (!st) st = mh_buf_append(&r->ids, id.ptr, id.len);
            if (st) return mh_error_set(r->err, st, "incident ids too long", NULL);
        }
        if (f != MH_TIME_NONE && (r->first == MH_TIME_NONE || f < r->first)) r->first = f;
        if (l != MH_TIME_NONE && (r->last == MH_TIME_NONE || l > r->last)) r->last = l;
        uint32_t c = mh_json_get(&r->d, i, "context", 7);
        if (c == MH_JNONE || mh_json_type(&r->d, c) != MH_JOBJ) continue;
        MH_TRY(add_indicators(r, c, "ips", MH_STIX_IP, "attacker address", f, l));
        MH_TRY(add_indicators(r, c, "apps", MH_STIX_APP_ID, "application used by the attacker", f, l));
        MH_TRY(add_indicators(r, c, "user_agents", MH_STIX_USER_AGENT, "attacker user agent", f, l));
    }
    return MH_OK;
}

static int conf_rank(struct mh_slice c)
{
    if (mh_slice_eq_cstr(c, "inferred-sync")) return 1;
    if (mh_slice_eq_cstr(c, "inferred-throttle")) return 2;
    return 0;
}

static mh_status evidence_text(struct run *r, uint32_t msg, const char **out)
{
    struct mh_buf b;
    mh_status st = MH_OK;
    mh_buf_init(&b, MH_PKG_MAX_TEXT_BYTES);
    uint32_t ev = mh_json_get(&r->d, msg, "evidence", 8);
    if (ev != MH_JNONE && mh_json_type(&r->d, ev) == MH_JARR)
        for (uint32_t e = mh_json_first(&r->d, ev); e != MH_JNONE && !st; e = mh_json_next(&r->d, ev, e)) {
            if (mh_json_type(&r->d, e) != MH_JOBJ) continue;
            struct mh_slice file;
            int64_t rec = 0;
            /* the file's name below the input folder: packages go to other
               organisations, which need not learn where our logs lie */
            MH_CHECK(jstr(r, e, "file_key", &file));
            if (!file.len) MH_CHECK(jstr(r, e, "file", &file));
            uint32_t rn = mh_json_get(&r->d, e, "record", 6);
            if (rn != MH_JNONE && mh_json_int(&r->d, rn, &rec) != MH_OK) rec = 0;
            if (!file.len) continue;
            if (b.len) st = mh_buf_putc(&b, ';');
            if (!st) st = mh_buf_append(&b, file.ptr, file.len);
            if (!st && rec > 0) st = mh_buf_printf(&b, ":%lld", (long long)rec);
        }
    if (st == MH_ELIMIT) st = MH_OK; /* evidence beyond 64 KiB is cut */
    if (st) {
        st = oom(r);
        goto out;
    }
    *out = mh_arena_strndup(&r->a, b.data ? b.data : "", b.len);
    if (!*out) st = oom(r);
out:
    mh_buf_fini(&b);
    return st;
}

/* A scope.json message that names no message (not an object, no
 * message_id): one note with its byte offset, counted; the rest is read. */
static void bad_scope_message(struct run *r, uint32_t m, const char *reason)
{
    char text[256];
    mh_error e;
    mh_error_clear(&e);
    mh_error_set(&e, MH_EPARSE, reason, NULL);
    uint64_t off = mh_json_node(&r->d, m)->off - (mh_json_type(&r->d, m) == MH_JSTR); /* its quote */
    mh_error_at(&e, "scope.json", 0, 0, off, 0);
    mh_error_format(&e, text, sizeof text);
    r->st->scope_skipped++;
    note(r, "scope.json message skipped", text);
}

static mh_status parse_messages(struct run *r)
{
    uint32_t mbxs = mh_json_get(&r->d, 0, "mailboxes", 9);
    if (mbxs == MH_JNONE || mh_json_type(&r->d, mbxs) != MH_JARR)
        return mh_error_set(r->err, MH_EPARSE, "scope.json has no \"mailboxes\" array", NULL);
    for (uint32_t b = mh_json_first(&r->d, mbxs); b != MH_JNONE; b = mh_json_next(&r->d, mbxs, b)) {
        if (mh_json_type(&r->d, b) != MH_JOBJ) continue;
        struct mh_slice box;
        MH_TRY(jstr(r, b, "mailbox", &box));
        const char *at = box.len ? memchr(box.ptr, '@', box.len) : NULL;
        if (at) { /* our own domain: never notified */
            mh_status st = mh_orgs_add_internal(r->o->orgs, at + 1, box.len - (size_t)(at + 1 - box.ptr), NULL);
            if (st == MH_ENOMEM || st == MH_ELIMIT) return mh_error_set(r->err, st, "cannot add internal domain", NULL);
        }
        uint32_t ms = mh_json_get(&r->d, b, "messages", 8);
        if (ms == MH_JNONE || mh_json_type(&r->d, ms) != MH_JARR) continue;
        for (uint32_t m = mh_json_first(&r->d, ms); m != MH_JNONE; m = mh_json_next(&r->d, ms, m)) {
            if (mh_json_type(&r->d, m) != MH_JOBJ) {
                bad_scope_message(r, m, "message is not an object");
                continue;
            }
            struct mh_slice id, conf, mb;
            MH_TRY(jstr(r, m, "message_id", &id));
            MH_TRY(jstr(r, m, "confidence", &conf));
            MH_TRY(jstr(r, m, "mailbox", &mb));
            if (!id.len) {
                bad_scope_message(r, m, "message without message_id");
                continue;
            }
            mh_status st = MH_GROW(r->items, r->capitems, r->nitems + 1, 16, UINT32_MAX);
            if (st) return mh_error_set(r->err, st, "too many messages", NULL);
            struct item *it = &r->items[r->nitems];
            it->id = dup_slice(r, id);
            it->mailbox = dup_slice(r, mb.len ? mb : box);
            it->conf = conf_rank(conf);
            if (!it->id || !it->mailbox) return oom(r);
            MH_TRY(evidence_text(r, m, &it->evidence));
            r->nitems++;
        }
    }
    return MH_OK;
}

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->id, y->id);
    return c ? c : strcmp(x->mailbox, y->mailbox);
}

/* Join the distinct ';'-separated parts of a and b (a's order first). */
static mh_status join_distinct(struct run *r, const char *a, const char *b, const char **out)
{
    struct mh_buf j;
    mh_status st = MH_OK;
    mh_buf_init(&j, MH_PKG_MAX_TEXT_BYTES);
    st = mh_buf_puts(&j, a);
    const char *p = b;
    while (!st && *p) {
        const char *semi = strchr(p, ';');
        size_t n = semi ? (size_t)(semi - p) : strlen(p);
        bool seen = false;
        for (const char *q = j.data ? j.data : ""; *q && !seen;) {
            const char *qs = strchr(q, ';');
            size_t qn = qs ? (size_t)(qs - q) : strlen(q);
            seen = qn == n && !memcmp(q, p, n);
            q += qn + (qs ? 1 : 0);
        }
        if (!seen && n) {
            if (j.len) st = mh_buf_putc(&j, ';');
            if (!st) st = mh_buf_append(&j, p, n);
        }
        p += n + (semi ? 1 : 0);
    }
    if (st == MH_ELIMIT) st = MH_OK;
    if (!st) {
        *out = mh_arena_strndup(&r->a, j.data ? j.data : "", j.len);
        if (!*out) st = MH_ENOMEM;
    }
    mh_buf_fini(&j);
    return st ? oom(r) : MH_OK;
}

static mh_status merge_messages(struct run *r)
{
    if (r->nitems > 1) qsort(r->items, r->nitems, sizeof *r->items, cmp_item);
    r->msgs = mh_calloc(r->nitems ? r->nitems : 1, sizeof *r->msgs);
    if (!r->msgs) return oom(r);
    for (size_t i = 0; i < r->nitems; i++) {
        const struct item *it = &r->items[i];
        struct smsg *m = r->nmsgs ? &r->msgs[r->nmsgs - 1] : NULL;
        if (!m || strcmp(m->id, it->id) != 0) {
            m = &r->msgs[r->nmsgs++];
            m->id = it->id;
            m->mailboxes = it->mailbox;
            m->evidence = it->evidence;
            m->conf = it->conf;
            m->mm = mh_mailstore_find(r->store, it->id, strlen(it->id));
            continue;
        }
        MH_TRY(join_distinct(r, m->mailboxes, it->mailbox, &m->mailboxes));
        MH_TRY(join_distinct(r, m->evidence, it->evidence, &m->evidence));
        if (it->conf < m->conf) m->conf = it->conf;
    }
    r->st->messages = r->nmsgs;
    return MH_OK;
}

/* ---- secrets.jsonl ---- */

/* A line that is not a finding: one note with file, line, byte offset and
 * reason, counted in secrets_skipped; the rest of the file is still read.
 * e->offset is within the line (the JSON reader's). */
static void bad_secrets_line(struct run *r, mh_error *e, uint64_t lineno, uint64_t off)
{
    char text[512];
    if (!e->msg) mh_error_set(e, MH_EPARSE, "malformed line", NULL);
    mh_error_at(e, r->o->secrets_path, lineno, 0, off + e->offset, 0);
    mh_error_format(e, text, sizeof text);
    r->st->secrets_skipped++;
    note(r, "malformed secrets.jsonl line, skipped", text);
}

static mh_status count_secrets(struct run *r)
{
    mh_status st = MH_OK;
    struct mh_buf b;
    struct mh_jdoc d;
    struct mh_arena a;
    if (!r->o->secrets_path) return MH_OK;
    mh_buf_init(&b, (size_t)1 << 30);
    mh_jdoc_init(&d, NULL);
    mh_arena_init(&a, 4096, 0);
    MH_CHECK(mh_fs_read(r->o->secrets_path, &b, (size_t)1 << 30, r->err));
    size_t off = 0;
    uint64_t lineno = 0;
    while (off < b.len) {
        const char *line = b.data + off;
        const char *nl = memchr(line, '\n', b.len - off);
        size_t n = nl ? (size_t)(nl - line) : b.len - off;
        off += n + (nl ? 1 : 0);
        lineno++;
        if (n == 0 || (n == 1 && line[0] == '\r')) continue;
        mh_error e;
        mh_error_clear(&e);
        st = mh_json_parse(&d, line, n, &e);
        if (st == MH_OK && mh_json_type(&d, 0) != MH_JOBJ)
            st = mh_error_set(&e, MH_EPARSE, "not a JSON object", NULL);
        uint32_t v = st ? MH_JNONE : mh_json_get(&d, 0, "message_id", 10);
        struct mh_slice id;
        mh_arena_reset(&a);
        if (!st && v != MH_JNONE && mh_json_type(&d, v) == MH_JNULL) continue; /* not in mail */
        if (!st && (v == MH_JNONE || mh_json_type(&d, v) != MH_JSTR))
            st = mh_error_set(&e, MH_EPARSE, "no \"message_id\" string", NULL);
        if (!st) st = mh_json_str(&d, v, &a, &id);
        if (st == MH_ENOMEM) {
            st = oom(r);
            goto out;
        }
        if (st) {
            st = MH_OK;
            bad_secrets_line(r, &e, lineno, (uint64_t)(line - b.data));
            continue;
        }
        /* msgs[] is sorted by id: binary search */
        size_t lo = 0, hi = r->nmsgs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            size_t ml = strlen(r->msgs[mid].id);
            int c = memcmp(r->msgs[mid].id, id.ptr, ml < id.len ? ml : id.len);
            if (!c) c = (ml > id.len) - (ml < id.len);
            if (c == 0) {
                r->msgs[mid].secrets++;
                break;
            }
            if (c < 0) lo = mid + 1;
            else hi = mid;
        }
    }
out:
    mh_arena_fini(&a);
    mh_jdoc_fini(&d);
    mh_buf_fini(&b);
    return st;
}

/* ---- parties ---- */

struct party {
    uint32_t org;
    const char *addr; /* "role:address" */
};

static int cmp_party(const void *a, const void *b)
{
    const struct party *x = a, *y = b;
    if (x->org != y->org) return x->org < y->org ? -1 : 1;
    return strcmp(x->addr, y->addr);
}

static mh_status org_index(struct run *r, const struct mh_org *o, uint32_t *out)
{
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&r->orgmap, o->key, strlen(o->key), &e, &created);
    if (st) return mh_error_set(r->err, st, st == MH_ELIMIT ? "too many organisations" : "out of memory", NULL);
    if (created) {
        st = MH_GROW(r->orgs, r->caporgs, r->norgs + 1, 16, MH_ORG_MAX_ENTRIES);
        if (st) return mh_error_set(r->err, st, "too many organisations", NULL);
        struct org *g = &r->orgs[r->norgs];
        memset(g, 0, sizeof *g);
        g->key = e->key.ptr;
        g->name = o->name;
        g->kind = o->kind;
        e->value = r->norgs++;
    }
    *out = (uint32_t)e->value;
    return MH_OK;
}

static void note_once(struct run *r, const char *kind, const char *addr)
{
    struct mh_map_entry *e;
    bool created = false;
    if (mh_map_put(&r->noted, addr, strlen(addr), &e, &created) != MH_OK || created) note(r, kind, addr);
}

static mh_status parties(struct run *r, uint32_t mi, struct mh_buf *tmp)
{
    mh_status st = MH_OK;
    const struct smsg *m = &r->msgs[mi];
    struct party *p = NULL;
    size_t np = 0, cap = 0;
    struct mh_org o;
    for (uint32_t i = 0; i < m->mm->naddrs; i++) {
        const struct mh_mail_addr *a = &m->mm->addrs[i];
        MH_CHECK(mh_orgs_classify(r->o->orgs, a->addr, strlen(a->addr), &o, r->err));
        if (o.kind == MH_ORG_INTERNAL) {
            r->st->addr_internal++;
            continue;
        }
        if (o.kind == MH_ORG_UNRESOLVED || o.kind == MH_ORG_INVALID) {
            if (o.kind == MH_ORG_UNRESOLVED) r->st->addr_unresolved++;
            else r->st->addr_invalid++;
            note_once(r, o.kind == MH_ORG_UNRESOLVED ? "unresolved" : "invalid", a->addr);
            continue;
        }
        uint32_t oi;
        MH_CHECK(org_index(r, &o, &oi));
        st = MH_GROW(p, cap, np + 1, 16, MH_MAX_MAIL_ADDRESSES + 2);
        if (st) {
            st = mh_error_set(r->err, st, "too many parties", NULL);
            goto out;
        }
        char *s = mh_arena_alloc(&r->a, strlen(a->addr) + 16);
        if (!s) {
            st = oom(r);
            goto out;
        }
        snprintf(s, strlen(a->addr) + 16, "%s:%s", mh_mail_role_name((enum mh_mail_role)a->role), o.address);
        p[np++] = (struct party){oi, s};
    }
    /* a mailing list: its host is a party (List-Id indexed by the store) */
    if (m->mm->list_id) {
        struct mh_slice id;
        if (mh_org_list_id(m->mm->list_id, strlen(m->mm->list_id), &id) == MH_OK) {
            MH_CHECK(mh_orgs_classify_list(r->o->orgs, id.ptr, id.len, &o, r->err));
            if (o.kind == MH_ORG_LIST) {
                uint32_t oi;
                MH_CHECK(org_index(r, &o, &oi));
                st = MH_GROW(p, cap, np + 1, 16, MH_MAX_MAIL_ADDRESSES + 2);
                char *s = st ? NULL : mh_arena_alloc(&r->a, strlen(o.address) + 8);
                if (!s) {
                    st = st ? mh_error_set(r->err, st, "too many parties", NULL) : oom(r);
                    goto out;
                }
                snprintf(s, strlen(o.address) + 8, "list:%s", o.address);
                p[np++] = (struct party){oi, s};
            }
        }
    }
    if (np > 1) qsort(p, np, sizeof *p, cmp_party);
    for (size_t i = 0; i < np;) {
        size_t j = i;
        mh_buf_clear(tmp);
        for (; j < np && p[j].org == p[i].org; j++) {
            if (j > i && !strcmp(p[j].addr, p[j - 1].addr)) continue;
            if (tmp->len && mh_buf_putc(tmp, ';')) break;
            if (mh_buf_puts(tmp, p[j].addr)) break;
        }
        struct org *g = &r->orgs[p[i].org];
        st = MH_GROW(g->m, g->cap, g->n + 1, 16, MH_PKG_MAX_MESSAGES);
        if (st) {
            st = mh_error_set(r->err, st, "too many messages for one organisation", "%s", g->key);
            goto out;
        }
        const char *addrs = mh_arena_strndup(&r->a, tmp->data ? tmp->data : "", tmp->len);
        if (!addrs) {
            st = oom(r);
            goto out;
        }
        g->m[g->n++] = (struct member){mi, addrs};
        i = j;
    }
out:
    mh_free(p);
    return st;
}

static mh_status read_raw(struct run *r, const struct smsg *m, struct mh_buf *out)
{
    const struct mh_mail_loc *loc = mh_mailstore_loc(r->store, m->mm->first_loc);
    return mh_mailstore_read(r->store, loc, false, out, r->err);
}

/* ---- per organisation ---- */

static int cmp_org(const void *a, const void *b)
{
    return strcmp(((const struct org *)a)->key, ((const struct org *)b)->key);
}

static const char *kind_name(enum mh_org_kind k)
{
    return k == MH_ORG_FREEMAIL ? "individual" : k == MH_ORG_LIST ? "list" : "organisation";
}

static mh_status envelopes(struct run *r, const struct org *g, uint64_t npkgs)
{
    char dirname[256], cert[PATH_MAX], pkg[PATH_MAX], env[PATH_MAX], encdir[PATH_MAX];
    mh_certs *c = NULL;
    mh_status st = MH_OK;
    MH_TRY(mh_pkg_dirname(g->key, dirname, sizeof dirname, r->err));
    MH_TRY(mh_fs_path(cert, sizeof cert, r->err, "%s/%s.pem", r->o->certdir, dirname));
    if (!mh_fs_exists(cert)) {
        r->st->no_certificate++;
        note(r, "no-certificate", g->key);
        return MH_OK;
    }
    MH_TRY(mh_fs_path(encdir, sizeof encdir, r->err, "%s/encrypted", r->o->outdir));
    MH_CHECK(mh_fs_mkdirs(encdir, r->err));
    for (uint64_t seq = 0; seq < npkgs; seq++) {
        MH_CHECK(mh_pkg_path(r->o->outdir, g->key, (unsigned)seq, pkg, sizeof pkg, r->err));
        if (seq == 0) MH_CHECK(mh_fs_path(env, sizeof env, r->err, "%s/%s.tar.cms.pem", encdir, dirname));
        else
            MH_CHECK(mh_fs_path(env, sizeof env, r->err, "%s/%s.supplement-%llu.tar.cms.pem", encdir,
                                dirname, (unsigned long long)seq));
        if (mh_fs_exists(env) || !mh_fs_exists(pkg)) continue;
        if (!c) {
            MH_CHECK(mh_certs_new(&c, r->err));
            MH_CHECK(mh_certs_add_file(c, cert, r->err));
        }
        MH_CHECK(mh_pkg_encrypt(pkg, r->date, c, env, r->err));
        r->st->envelopes++;
    }
out:
    mh_certs_free(c);
    return st;
}

static mh_status publish(struct run *r, mh_ledger *lg, mh_ledger_batch *batch, const struct org *g,
                         const char *source,
                         const char *incident, struct mh_buf *bufs)
{
    mh_status st = MH_OK;
    struct mh_pkg_message *pm = mh_calloc(g->n ? g->n : 1, sizeof *pm);
    size_t n = 0;
    if (!pm) return oom(r);
    for (size_t i = 0; i < g->n; i++) {
        const struct smsg *m = &r->msgs[g->m[i].msg];
        mh_buf_clear(&bufs[i]);
        if (read_raw(r, m, &bufs[i]) != MH_OK) {
            mh_error_clear(r->err);
            r->st->unreadable++;
            note(r, "unreadable", m->id);
            continue;
        }
        pm[n++] = (struct mh_pkg_message){
            .message_id = m->id,
            .date = m->mm->date,
            .subject = m->mm->subject,
            .mailbox = m->mailboxes,
            .addresses = g->m[i].addresses,
            .evidence = m->evidence,
            .confidence = conf_names[m->conf],
            .secrets = m->secrets,
            .raw = bufs[i].data ? bufs[i].data : "",
            .raw_len = bufs[i].len,
        };
    }
    struct mh_pkg_info info = {
        .org_key = g->key,
        .org_name = g->name,
        .kind = kind_name(g->kind),
        .source_org = source,
        .contact = r->o->contact,
        .incident_id = incident,
        .bagging_date = r->date,
        .access_first = r->first,
        .access_last = r->last,
    };
    struct mh_publish_result res;
    MH_CHECK(mh_ledger_publish_batch(lg, batch, r->o->outdir, &info, pm, n, &res, r->err));
    r->st->created += res.created;
    r->st->present += res.present;
    r->st->rewritten += res.rewritten;
    r->st->drifted += res.drifted;
    r->st->removed += res.removed;
    r->st->new_messages += res.new_messages;
    r->st->opaque += res.created ? res.pkg.opaque : 0;
    if (res.drifted) note(r, "drift", g->key);
out:
    mh_free(pm);
    return st;
}

mh_status mh_notify_run(const struct mh_notify_opts *o, const mh_mailstore *store,
                        const char *scope_json, size_t n, struct mh_notify_stats *stats,
                        mh_notify_note_fn notefn, void *ctx, mh_error *err)
{
    mh_status st = MH_OK;
    struct run r;
    struct mh_notify_stats local;
    mh_ledger *lg = NULL;
    mh_ledger_batch *batch = NULL;
    struct mh_buf tmp, stix, *bufs = NULL;
    struct mh_pkg_index_row *rows = NULL;
    char (*kinds)[16] = NULL;
    char ledger_path[PATH_MAX], path[PATH_MAX];
    memset(&r, 0, sizeof r);
    memset(&local, 0, sizeof local);
    r.o = o;
    r.store = store;
    r.st = stats ? stats : &local;
    memset(r.st, 0, sizeof *r.st);
    r.note = notefn;
    r.ctx = ctx;
    r.err = err;
    r.first = r.last = MH_TIME_NONE;
    mh_arena_init(&r.a, 1u << 20, 0);
    mh_jdoc_init(&r.d, NULL);
    mh_map_init(&r.orgmap, MH_ORG_MAX_ENTRIES, false);
    mh_map_init(&r.noted, MH_ORG_MAX_ENTRIES, true);
    mh_buf_init(&r.ids, MH_PKG_MAX_TEXT_BYTES);
    mh_buf_init(&tmp, MH_PKG_MAX_TEXT_BYTES);
    mh_buf_init(&stix, (size_t)1 << 30);
    if (!o || !o->outdir || !o->orgs || !store) {
        st = mh_error_set(err, MH_EINVAL, "notify needs DIR, organisation rules and a mail store", NULL);
        goto out;
    }
    MH_CHECK(mh_json_parse(&r.d, scope_json, n, err));
    if (mh_json_type(&r.d, 0) != MH_JOBJ) {
        st = mh_error_set(err, MH_EPARSE, "scope.json must be a JSON object", NULL);
        goto out;
    }
    MH_CHECK(parse_incidents(&r));
    MH_CHECK(parse_messages(&r));
    MH_CHECK(merge_messages(&r));
    MH_CHECK(count_secrets(&r));
    r.date = o->date != MH_TIME_NONE ? o->date : r.last;
    if (r.date == MH_TIME_NONE) {
        st = mh_error_set(err, MH_EINVAL, "no date for the packages",
                          "scope.json has no incident last_seen: give --date");
        goto out;
    }
    const char *source = o->source_org;
    if (!source) {
        const char *first_box = r.nitems ? r.items[0].mailbox : NULL;
        for (size_t i = 1; i < r.nitems; i++)
            if (strcmp(r.items[i].mailbox, first_box) < 0) first_box = r.items[i].mailbox;
        const char *at = first_box ? strchr(first_box, '@') : NULL;
        source = at ? at + 1 : "the notifying organisation";
    }
    const char *incident = o->incident_id ? o->incident_id : r.ids.len ? r.ids.data : "unspecified";

    /* parties of every message in the store */
    for (size_t i = 0; i < r.nmsgs; i++) {
        if (!r.msgs[i].mm) {
            r.st->not_in_store++;
            note(&r, "not-in-store", r.msgs[i].id);
            continue;
        }
        MH_CHECK(parties(&r, (uint32_t)i, &tmp));
    }
    if (r.norgs > 1) qsort(r.orgs, r.norgs, sizeof *r.orgs, cmp_org);
    r.st->orgs = r.norgs;

    MH_CHECK(mh_pkg_recover(o->outdir, err));
    if (o->ledger) snprintf(ledger_path, sizeof ledger_path, "%s", o->ledger);
    else MH_CHECK(mh_fs_path(ledger_path, sizeof ledger_path, err, "%s/notify-ledger.db", o->outdir));
    MH_CHECK(mh_fs_mkdirs(o->outdir, err));
    MH_CHECK(mh_ledger_open(ledger_path, &lg, err));
    rows = mh_calloc(r.norgs ? r.norgs : 1, sizeof *rows);
    kinds = mh_calloc(r.norgs ? r.norgs : 1, sizeof *kinds);
    size_t maxn = 1;
    for (size_t i = 0; i < r.norgs; i++)
        if (r.orgs[i].n > maxn) maxn = r.orgs[i].n;
    bufs = mh_calloc(maxn, sizeof *bufs);
    if (!rows || !kinds || !bufs) {
        st = oom(&r);
        goto out;
    }
    for (size_t i = 0; i < maxn; i++) mh_buf_init(&bufs[i], MH_MAX_MESSAGE_BYTES);
    /* New packages are staged and made durable + recorded in batches
     * (ledger.h): one syncfs and one transaction per batch. */
    MH_CHECK(mh_ledger_batch_new(o->batch ? o->batch : NOTIFY_BATCH, &batch, err));
    for (size_t i = 0; i < r.norgs; i++) {
        const struct org *g = &r.orgs[i];
        MH_CHECK(publish(&r, lg, batch, g, source, incident, bufs));
        for (size_t k = 0; k < g->n; k++) { /* release the bytes between organisations */
            mh_buf_fini(&bufs[k]);
            mh_buf_init(&bufs[k], MH_MAX_MESSAGE_BYTES);
        }
    }
    MH_CHECK(mh_ledger_flush(lg, batch, err));
    for (size_t i = 0; i < r.norgs; i++) {
        const struct org *g = &r.orgs[i];
        struct mh_ledger_totals t;
        MH_CHECK(mh_ledger_org_totals(lg, g->key, &t, err));
        snprintf(kinds[i], sizeof kinds[i], "%s", t.kind[0] ? t.kind : kind_name(g->kind));
        rows[i] = (struct mh_pkg_index_row){g->key, kinds[i], t.messages, t.secrets};
        if (o->certdir) MH_CHECK(envelopes(&r, g, t.packages));
    }
    MH_CHECK(mh_pkg_write_index(o->outdir, rows, r.norgs, err));
    if (mh_notify_crash_hook) mh_notify_crash_hook("index-written");

    struct mh_stix_opts so = {source, o->contact, r.date, o->tlp};
    struct mh_stix_result sr;
    MH_CHECK(mh_stix_bundle(&so, r.ind, r.nind, &stix, &sr, err));
    r.st->indicators = sr.indicators;
    r.st->indicators_skipped = sr.skipped;
    MH_CHECK(mh_fs_path(path, sizeof path, err, "%s/indicators.stix.json", o->outdir));
    MH_CHECK(mh_fs_write_atomic(path, stix.data, stix.len, err));
out:
    if (bufs) {
        size_t maxb = 1;
        for (size_t i = 0; i < r.norgs; i++)
            if (r.orgs[i].n > maxb) maxb = r.orgs[i].n;
        for (size_t i = 0; i < maxb; i++) mh_buf_fini(&bufs[i]);
    }
    mh_free(bufs);
    mh_free(kinds);
    mh_free(rows);
    mh_ledger_batch_free(batch);
    mh_ledger_close(lg);
    for (size_t i = 0; i < r.norgs; i++) mh_free(r.orgs[i].m);
    mh_free(r.orgs);
    mh_free(r.msgs);
    mh_free(r.items);
    mh_free(r.ind);
    mh_buf_fini(&stix);
    mh_buf_fini(&tmp);
    mh_buf_fini(&r.ids);
    mh_map_fini(&r.noted);
    mh_map_fini(&r.orgmap);
    mh_jdoc_fini(&r.d);
    mh_arena_fini(&r.a);
    return st;
}
