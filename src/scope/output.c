/*
 * scope/output.c -- scope.json, the output contract of `mailhound scope`
 *
 * Pipeline: collect -> [output] -> notify (and people). Layout and field
 * meanings: docs/scope.md §6. One compact JSON object, keys in a fixed
 * order, every list sorted:
 *   incidents      input order (incidents.json is ordered by correlate);
 *   context lists  by value (bytes);
 *   mailboxes      by address (lower-case bytes);
 *   messages       by date (unknown first), then message id (bytes);
 *   evidence       by file, record number, basis, incident (input order);
 *   syncs, throttle windows  by record time, then file and record;
 *   app_wide       by incident (input order), then app id; its mailbox
 *                  lists by address (present only when the logs hold a grant).
 * Bytes are handed to the sink in pieces of about 1 MiB, so the output can
 * exceed memory.
 */
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "scope/internal.h"

#define FLUSH_BYTES ((size_t)1 << 20)
#define NOTE_BYTES ((size_t)4096)

struct pair { /* a shared-IP observation: IP key, principal key */
    uint32_t ip, user;
};

struct out {
    const mh_scope *s;
    struct mh_jw w;
    struct mh_buf buf;
    struct mh_buf text;
    mh_scope_sink sink;
    void *ctx;
    mh_status st;
    struct pair *pairs; /* shared-IP observations, sorted */
    size_t npairs;
};

static void flush(struct out *o, bool force)
{
    if (o->st || (!force && o->buf.len < FLUSH_BYTES)) return;
    if (o->w.st) {
        o->st = o->w.st;
        return;
    }
    if (o->buf.len) o->st = o->sink(o->ctx, o->buf.data, o->buf.len);
    mh_buf_clear(&o->buf);
}

static void jstr(struct out *o, const char *k, struct mh_slice v)
{
    mh_jw_key(&o->w, k);
    mh_jw_strn(&o->w, v.ptr, v.len);
}

static void jsid(struct out *o, const char *k, uint32_t id)
{
    mh_jw_key(&o->w, k);
    if (id == SC_NONE) mh_jw_null(&o->w);
    else {
        struct mh_slice v = mh_scope_str_get(o->s, id);
        mh_jw_strn(&o->w, v.ptr, v.len);
    }
}

static void jtime(struct out *o, const char *k, mh_time t)
{
    mh_jw_key(&o->w, k);
    if (t == SC_TIME_MIN || t == SC_TIME_MAX) mh_jw_null(&o->w);
    else mh_jw_time(&o->w, t);
}

static void juint(struct out *o, const char *k, uint64_t v)
{
    mh_jw_key(&o->w, k);
    mh_jw_uint(&o->w, v);
}

/* ------------------------------------------------------------ sorting */


static int key_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    return mh_slice_cmp(mh_scope_key_value(s, *(const uint32_t *)a),
                     mh_scope_key_value(s, *(const uint32_t *)b));
}

static int mbx_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_mbx *x = &s->mbxs[*(const uint32_t *)a];
    const struct sc_mbx *y = &s->mbxs[*(const uint32_t *)b];
    return mh_slice_cmp(mh_scope_str_get(s, x->addr), mh_scope_str_get(s, y->addr));
}

static mh_time msg_date(const mh_scope *s, const struct sc_msg *m)
{
    if (m->m) return m->m->date;
    if (m->trace != SC_NONE) return s->traces[m->trace].t;
    return MH_TIME_NONE;
}

static int msg_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_msg *x = &s->msgs[*(const uint32_t *)a];
    const struct sc_msg *y = &s->msgs[*(const uint32_t *)b];
    if (x->mbx != y->mbx) {
        int c = mh_slice_cmp(mh_scope_str_get(s, s->mbxs[x->mbx].addr),
                          mh_scope_str_get(s, s->mbxs[y->mbx].addr));
        if (c) return c;
    }
    mh_time dx = msg_date(s, x), dy = msg_date(s, y);
    if (dx != dy) return dx < dy ? -1 : 1; /* MH_TIME_NONE is INT64_MIN: unknown first */
    return mh_slice_cmp(mh_scope_str_get(s, x->msgid), mh_scope_str_get(s, y->msgid));
}

static int rec_ref_cmp(const mh_scope *s, uint32_t ra, uint32_t rb)
{
    const struct sc_rec *x = &s->recs[ra], *y = &s->recs[rb];
    if (mh_scope_ref_less(s, x->file, x->record, y->file, y->record)) return -1;
    if (mh_scope_ref_less(s, y->file, y->record, x->file, x->record)) return 1;
    return ra < rb ? -1 : ra > rb;
}

static int ev_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_ev *x = &s->evs[*(const uint32_t *)a];
    const struct sc_ev *y = &s->evs[*(const uint32_t *)b];
    int c = rec_ref_cmp(s, x->rec, y->rec);
    if (c) return c;
    if (x->basis != y->basis) return x->basis < y->basis ? -1 : 1;
    return x->inc < y->inc ? -1 : x->inc > y->inc;
}

static int tw_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_tw *x = &s->tws[*(const uint32_t *)a];
    const struct sc_tw *y = &s->tws[*(const uint32_t *)b];
    if (x->mbx != y->mbx) return x->mbx < y->mbx ? -1 : 1;
    if (x->start != y->start) return x->start < y->start ? -1 : 1;
    return rec_ref_cmp(s, x->rec, y->rec);
}

static int sync_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    const struct sc_sync *x = &s->syncs[*(const uint32_t *)a];
    const struct sc_sync *y = &s->syncs[*(const uint32_t *)b];
    if (x->mbx != y->mbx) return x->mbx < y->mbx ? -1 : 1;
    mh_time tx = s->recs[x->rec].t, ty = s->recs[y->rec].t;
    if (tx != ty) return tx < ty ? -1 : 1;
    int c = rec_ref_cmp(s, x->rec, y->rec);
    if (c) return c;
    if (x->folder != y->folder) {
        if (x->folder == SC_NONE || y->folder == SC_NONE) return x->folder == SC_NONE ? -1 : 1;
        c = mh_slice_cmp(mh_scope_str_get(s, x->folder), mh_scope_str_get(s, y->folder));
        if (c) return c;
    }
    return x->inc < y->inc ? -1 : x->inc > y->inc;
}

static uint32_t *index_array(size_t n)
{
    uint32_t *v = mh_malloc((n ? n : 1) * sizeof *v);
    if (v)
        for (size_t i = 0; i < n; i++) v[i] = (uint32_t)i;
    return v;
}

/* ------------------------------------------------------------ pieces */

/* REF members (docs/scope.md §6) of a record or a grant. */
static void ref_of(struct out *o, uint32_t file, uint32_t fkey, uint64_t record, uint64_t line,
                   uint64_t offset, uint32_t rid, mh_time t, uint32_t opname)
{
    jsid(o, "file", file);
    jsid(o, "file_key", fkey);
    juint(o, "record", record);
    juint(o, "line", line);
    juint(o, "offset", offset);
    jsid(o, "record_id", rid);
    jtime(o, "time", t);
    jsid(o, "operation", opname);
}

static void ref(struct out *o, uint32_t rec)
{
    const struct sc_rec *r = &o->s->recs[rec];
    ref_of(o, r->file, r->fkey, r->record, r->line, r->offset, r->rid, r->t, r->opname);
}

static void inc_id(struct out *o, const char *k, uint32_t inc)
{
    mh_jw_key(&o->w, k);
    if (inc == SC_NONE) mh_jw_null(&o->w);
    else mh_jw_str(&o->w, o->s->incs[inc].id);
}

static mh_status key_list(struct out *o, const char *name, const struct sc_list *l, char kind)
{
    uint32_t *v = mh_malloc((l->n ? l->n : 1) * sizeof *v);
    if (!v) return MH_ENOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < l->n; i++)
        if (mh_scope_key_kind(o->s, l->v[i]) == kind) v[n++] = l->v[i];
    const mh_scope *s = o->s;
    qsort_r(v, n, sizeof *v, key_cmp, (void *)s);
    mh_jw_key(&o->w, name);
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < n; i++) {
        struct mh_slice k = mh_scope_key_value(o->s, v[i]);
        mh_jw_strn(&o->w, k.ptr, k.len);
    }
    mh_jw_arr_end(&o->w);
    mh_free(v);
    return MH_OK;
}

static int pair_cmp(const void *a, const void *b, void *ctx)
{
    const struct pair *x = a, *y = b;
    if (x->ip != y->ip) return x->ip < y->ip ? -1 : 1;
    return mh_slice_cmp(mh_scope_key_value(ctx, x->user), mh_scope_key_value(ctx, y->user));
}

/* The (IP, principal) observations, sorted by IP key then principal. */
static mh_status sorted_pairs(struct out *o)
{
    const mh_scope *s = o->s;
    o->pairs = mh_malloc((s->pairs.n ? s->pairs.n : 1) * sizeof *o->pairs);
    if (!o->pairs) return MH_ENOMEM;
    for (size_t p = 0; p < s->pairs.n; p++) {
        uint32_t pr[2];
        memcpy(pr, s->pairs.entries[p].key.ptr, sizeof pr);
        o->pairs[p] = (struct pair){pr[0], pr[1]};
    }
    o->npairs = s->pairs.n;
    qsort_r(o->pairs, o->npairs, sizeof *o->pairs, pair_cmp, (void *)s);
    return MH_OK;
}

/* IPs of incident I found shared, with the principals that share them. */
static mh_status shared_ips(struct out *o, const struct sc_inc *I)
{
    const mh_scope *s = o->s;
    uint32_t *ips = mh_malloc((I->given.n ? I->given.n : 1) * sizeof *ips);
    if (!ips) return MH_ENOMEM;
    size_t n = 0;
    for (uint32_t i = 0; i < I->given.n; i++)
        if (mh_scope_key_kind(s, I->given.v[i]) == SC_K_IP && s->keys[I->given.v[i]].outside)
            ips[n++] = I->given.v[i];
    qsort_r(ips, n, sizeof *ips, key_cmp, (void *)s);
    mh_jw_key(&o->w, "shared_ips");
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < n; i++) {
        size_t lo = 0, hi = o->npairs;
        while (lo < hi) {
            size_t mid = lo + (hi - lo) / 2;
            if (o->pairs[mid].ip < ips[i]) lo = mid + 1;
            else hi = mid;
        }
        mh_jw_obj_begin(&o->w);
        jstr(o, "ip", mh_scope_key_value(s, ips[i]));
        mh_jw_key(&o->w, "all_principals");
        mh_jw_bool(&o->w, s->keys[ips[i]].outside >= 2);
        mh_jw_key(&o->w, "principals");
        mh_jw_arr_begin(&o->w);
        for (size_t p = lo; p < o->npairs && o->pairs[p].ip == ips[i]; p++) {
            struct mh_slice v = mh_scope_key_value(s, o->pairs[p].user);
            mh_jw_strn(&o->w, v.ptr, v.len);
        }
        mh_jw_arr_end(&o->w);
        mh_jw_obj_end(&o->w);
    }
    mh_jw_arr_end(&o->w);
    mh_free(ips);
    return MH_OK;
}

static mh_status incident(struct out *o, uint32_t k)
{
    const struct sc_inc *I = &o->s->incs[k];
    mh_jw_obj_begin(&o->w);
    mh_jw_key(&o->w, "id");
    mh_jw_str(&o->w, I->id);
    mh_jw_key(&o->w, "score");
    mh_jw_int(&o->w, I->score);
    mh_jw_key(&o->w, "level");
    mh_jw_str(&o->w, I->level);
    mh_jw_key(&o->w, "first_seen");
    mh_jw_time(&o->w, I->first);
    mh_jw_key(&o->w, "last_seen");
    mh_jw_time(&o->w, I->last);
    mh_jw_key(&o->w, "window");
    mh_jw_obj_begin(&o->w);
    jtime(o, "start", I->wstart);
    jtime(o, "end", I->wend);
    mh_jw_obj_end(&o->w);
    mh_jw_key(&o->w, "context");
    mh_jw_obj_begin(&o->w);
    MH_TRY(key_list(o, "users", &I->given, SC_K_USER));
    MH_TRY(key_list(o, "ips", &I->given, SC_K_IP));
    MH_TRY(key_list(o, "apps", &I->given, SC_K_APP));
    MH_TRY(key_list(o, "sessions", &I->given, SC_K_SESSION));
    MH_TRY(key_list(o, "tokens", &I->given, SC_K_TOKEN));
    MH_TRY(key_list(o, "mailboxes", &I->given, SC_K_MBX));
    MH_TRY(key_list(o, "ignored_apps", &I->ignored, SC_K_APP));
    MH_TRY(shared_ips(o, I));
    mh_jw_key(&o->w, "learned");
    mh_jw_obj_begin(&o->w);
    MH_TRY(key_list(o, "sessions", &I->learned, SC_K_SESSION));
    MH_TRY(key_list(o, "tokens", &I->learned, SC_K_TOKEN));
    MH_TRY(key_list(o, "client_info", &I->learned, SC_K_CLIENT));
    mh_jw_obj_end(&o->w);
    mh_jw_obj_end(&o->w);
    juint(o, "records", I->records);
    mh_jw_key(&o->w, "by_match");
    mh_jw_obj_begin(&o->w);
    for (int l = SC_L__N - 1; l > SC_L_NONE; l--)
        if (I->by_level[l]) juint(o, mh_scope_level_name[l], I->by_level[l]);
    mh_jw_obj_end(&o->w);
    mh_jw_obj_end(&o->w);
    return MH_OK;
}

static void addrs(struct out *o, const char *k, const struct mh_mail_msg *m, enum mh_mail_role r,
                  bool always)
{
    uint32_t n = 0;
    for (uint32_t i = 0; m && i < m->naddrs; i++) n += m->addrs[i].role == r;
    if (!n && !always) return;
    mh_jw_key(&o->w, k);
    mh_jw_arr_begin(&o->w);
    for (uint32_t i = 0; m && i < m->naddrs; i++)
        if (m->addrs[i].role == r) mh_jw_str(&o->w, m->addrs[i].addr);
    mh_jw_arr_end(&o->w);
}

/* The evidence of m in output order (caller frees *out). */
static mh_status sorted_evidence(const mh_scope *s, const struct sc_msg *m, uint32_t **out,
                                 size_t *n)
{
    uint32_t *v = mh_malloc((m->nev ? m->nev : 1) * sizeof *v);
    if (!v) return MH_ENOMEM;
    size_t k = 0;
    for (uint32_t i = m->ev_first; i != SC_NONE; i = s->evs[i].next) v[k++] = i;
    qsort_r(v, k, sizeof *v, ev_cmp, (void *)s);
    *out = v;
    *n = k;
    return MH_OK;
}

static void evidence(struct out *o, const struct sc_msg *m, const uint32_t *v, size_t n)
{
    const mh_scope *s = o->s;
    mh_jw_key(&o->w, "evidence");
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < n; i++) {
        const struct sc_ev *e = &s->evs[v[i]];
        const struct sc_rec *r = &s->recs[e->rec];
        mh_jw_obj_begin(&o->w);
        mh_jw_key(&o->w, "basis");
        mh_jw_str(&o->w, mh_scope_basis_name[e->basis]);
        inc_id(o, "incident", e->inc);
        mh_jw_key(&o->w, "match");
        if (e->level) mh_jw_str(&o->w, mh_scope_level_name[e->level]);
        else mh_jw_null(&o->w);
        ref(o, e->rec);
        jsid(o, "folder", e->folder);
        if (e->basis == SC_B_SYNC || e->basis == SC_B_THROTTLE) {
            mh_jw_key(&o->w, "how");
            mh_jw_str(&o->w, mh_scope_how_name[e->how]);
        }
        if (e->basis == SC_B_BIND) {
            juint(o, "operation_count", r->opcount);
            juint(o, "items", r->nitems);
            mh_jw_key(&o->w, "partial");
            mh_jw_bool(&o->w, r->opcount > r->nitems);
        }
        mh_jw_obj_end(&o->w);
    }
    mh_jw_arr_end(&o->w);
    if (m->omitted) juint(o, "evidence_omitted", m->omitted);
}

static int rcpt_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    return mh_slice_cmp(mh_scope_str_get(s, s->rcpts[*(const uint32_t *)a].addr),
                     mh_scope_str_get(s, s->rcpts[*(const uint32_t *)b].addr));
}

static mh_status trace_obj(struct out *o, const struct sc_trace *t)
{
    const mh_scope *s = o->s;
    uint32_t *rc = mh_malloc((t->nrc ? t->nrc : 1) * sizeof *rc);
    if (!rc) return MH_ENOMEM;
    size_t n = 0;
    for (uint32_t i = t->rc_first; i != SC_NONE; i = s->rcpts[i].next) rc[n++] = i;
    qsort_r(rc, n, sizeof *rc, rcpt_cmp, (void *)s);
    mh_jw_key(&o->w, "trace");
    mh_jw_obj_begin(&o->w);
    jsid(o, "sender", t->sender);
    jsid(o, "subject", t->subject);
    mh_jw_key(&o->w, "received");
    mh_jw_time(&o->w, t->t);
    mh_jw_key(&o->w, "recipients");
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < n; i++) {
        mh_jw_obj_begin(&o->w);
        jsid(o, "address", s->rcpts[rc[i]].addr);
        jsid(o, "status", s->rcpts[rc[i]].status);
        mh_jw_obj_end(&o->w);
    }
    mh_jw_arr_end(&o->w);
    juint(o, "rows", t->rows);
    jsid(o, "file", t->file);
    jsid(o, "file_key", t->fkey);
    juint(o, "record", t->record);
    juint(o, "offset", t->offset);
    mh_jw_obj_end(&o->w);
    mh_free(rc);
    return MH_OK;
}

static mh_status message(struct out *o, const struct sc_msg *m)
{
    const mh_scope *s = o->s;
    const struct mh_mail_msg *mm = m->m;
    const struct sc_trace *t = m->trace != SC_NONE ? &s->traces[m->trace] : NULL;
    uint32_t *ev;
    size_t nev;
    MH_TRY(sorted_evidence(s, m, &ev, &nev));
    uint32_t logfolder = SC_NONE; /* of the first evidence naming one: order-independent */
    for (size_t i = 0; i < nev && logfolder == SC_NONE; i++) logfolder = s->evs[ev[i]].folder;
    mh_jw_obj_begin(&o->w);
    jsid(o, "message_id", m->msgid);
    jsid(o, "mailbox", s->mbxs[m->mbx].addr);
    mh_jw_key(&o->w, "folder");
    if (m->loc != SC_NONE) {
        const struct mh_mail_loc *L = mh_mailstore_loc(s->o.store, m->loc);
        mh_jw_str(&o->w, mh_mailstore_folder(s->o.store, L->folder));
    } else if (logfolder != SC_NONE) {
        struct mh_slice f = mh_scope_str_get(s, logfolder);
        mh_jw_strn(&o->w, f.ptr, f.len);
    } else {
        mh_jw_null(&o->w);
    }
    mh_jw_key(&o->w, "date");
    mh_jw_time(&o->w, msg_date(s, m));
    if (mm) {
        mh_jw_key(&o->w, "subject");
        if (mm->subject) mh_jw_str(&o->w, mm->subject);
        else mh_jw_null(&o->w);
    } else {
        jsid(o, "subject", t ? t->subject : SC_NONE);
    }
    if (mm || !t || t->sender == SC_NONE) {
        addrs(o, "from", mm, MH_ROLE_FROM, true);
    } else {
        mh_jw_key(&o->w, "from");
        mh_jw_arr_begin(&o->w);
        struct mh_slice f = mh_scope_str_get(s, t->sender);
        mh_jw_strn(&o->w, f.ptr, f.len);
        mh_jw_arr_end(&o->w);
    }
    addrs(o, "sender", mm, MH_ROLE_SENDER, false);
    addrs(o, "reply_to", mm, MH_ROLE_REPLY_TO, false);
    addrs(o, "to", mm, MH_ROLE_TO, true);
    addrs(o, "cc", mm, MH_ROLE_CC, true);
    addrs(o, "bcc", mm, MH_ROLE_BCC, false);
    mh_jw_key(&o->w, "confidence");
    if (m->bases & ((1u << SC_B_BIND) | (1u << SC_B_SENT))) mh_jw_str(&o->w, "observed");
    else if (m->bases & (1u << SC_B_SYNC)) mh_jw_str(&o->w, "inferred-sync");
    else mh_jw_str(&o->w, "inferred-throttle");
    mh_jw_key(&o->w, "bases");
    mh_jw_arr_begin(&o->w);
    for (int b = 0; b < SC_B__N; b++)
        if (m->bases & (1u << b)) mh_jw_str(&o->w, mh_scope_basis_name[b]);
    mh_jw_arr_end(&o->w);
    mh_jw_key(&o->w, "in_store");
    mh_jw_bool(&o->w, mm != NULL);
    if (mm && mm->synthetic_id) {
        mh_jw_key(&o->w, "synthetic_id");
        mh_jw_bool(&o->w, true);
    }
    mh_status st = t ? trace_obj(o, t) : MH_OK;
    if (!st) evidence(o, m, ev, nev);
    mh_jw_obj_end(&o->w);
    mh_free(ev);
    return st;
}

static void note(struct out *o, const char *code)
{
    mh_jw_obj_begin(&o->w);
    mh_jw_key(&o->w, "code");
    mh_jw_str(&o->w, code);
    mh_jw_key(&o->w, "text");
    if (o->text.len) mh_jw_strn(&o->w, o->text.data, o->text.len);
    else mh_jw_str(&o->w, "");
    mh_jw_obj_end(&o->w);
    mh_buf_clear(&o->text);
}

static void tfmt(mh_time t, char b[32])
{
    if (t == SC_TIME_MAX || t == SC_TIME_MIN) memcpy(b, "-", 2);
    else mh_time_format(t, b, 0);
}

static mh_status notes(struct out *o, uint32_t mbx, const uint32_t *tw, size_t ntw,
                       const uint32_t *sy, size_t nsy, uint64_t not_in_store, uint64_t joined)
{
    const mh_scope *s = o->s;
    const struct sc_mbx *M = &s->mbxs[mbx];
    char a[32], b[32];
    mh_jw_key(&o->w, "notes");
    mh_jw_arr_begin(&o->w);
    if (!M->nsmb) {
        MH_TRY(mh_buf_puts(&o->text, "the mail store holds no mailbox for this address: messages "
                                     "come from the logs (and the message trace) only; Sync and "
                                     "throttle windows cannot be enumerated"));
        note(o, "mailbox-not-in-store");
    } else if (M->flattened) {
        MH_TRY(mh_buf_puts(&o->text, "every stored message of this mailbox is in one folder: "
                                     "\\Inbox and \\Sent Items are told apart by the From "
                                     "address, any other folder means the whole mailbox"));
        note(o, "flattened");
    }
    if (M->partial) {
        MH_TRY(mh_buf_printf(&o->text,
                             "%llu Bind record(s) in attacker context count more binds than they "
                             "list (%llu not itemised: repeated reads of listed messages, or "
                             "messages not identified)",
                             (unsigned long long)M->partial, (unsigned long long)M->unlisted));
        note(o, "partial");
    }
    if (not_in_store) {
        MH_TRY(mh_buf_printf(&o->text,
                             "%llu message(s) named in the logs are not in the mail store; %llu "
                             "of them found in the message trace",
                             (unsigned long long)not_in_store, (unsigned long long)joined));
        note(o, "messages-not-in-store");
    }
    for (size_t i = 0; i < nsy; i++) {
        const struct sc_sync *y = &s->syncs[sy[i]];
        if (y->how != SC_H_NOTFOUND && y->how != SC_H_NONMAIL) continue;
        struct mh_slice f = y->folder == SC_NONE ? MH_SLICE_LIT("(none)")
                                                 : mh_scope_str_get(s, y->folder);
        tfmt(s->recs[y->rec].t, a);
        MH_TRY(mh_buf_printf(&o->text, "Sync of %.*s at %s: %s", (int)f.len, f.ptr, a,
                             y->how == SC_H_NONMAIL ? "not a mail folder"
                                                    : "the folder is not in the mail store"));
        note(o, y->how == SC_H_NONMAIL ? "sync-not-mail" : "folder-not-in-store");
    }
    for (size_t i = 0; i < ntw; i++) {
        const struct sc_tw *w = &s->tws[tw[i]];
        tfmt(w->start, a);
        tfmt(w->end, b);
        if (w->how) {
            MH_TRY(mh_buf_printf(&o->text,
                                 "bind auditing stopped from %s to %s (IsThrottled): every "
                                 "message that existed then is included",
                                 a, b));
            note(o, "throttled");
        } else {
            MH_TRY(mh_buf_printf(&o->text,
                                 "bind auditing stopped from %s to %s (IsThrottled), not near "
                                 "attacker activity: a coverage gap, not scoped",
                                 a, b));
            note(o, "throttled-out-of-context");
        }
    }
    mh_jw_arr_end(&o->w);
    return MH_OK;
}

static void sync_obj(struct out *o, const struct sc_sync *y)
{
    mh_jw_obj_begin(&o->w);
    inc_id(o, "incident", y->inc);
    jsid(o, "folder", y->folder);
    mh_jw_key(&o->w, "how");
    mh_jw_str(&o->w, mh_scope_how_name[y->how]);
    juint(o, "messages", y->nmsgs);
    mh_jw_key(&o->w, "evidence");
    mh_jw_obj_begin(&o->w);
    ref(o, y->rec);
    mh_jw_obj_end(&o->w);
    mh_jw_obj_end(&o->w);
}

static void tw_obj(struct out *o, const struct sc_tw *w)
{
    static const char *const how[] = {NULL, "record", "near", "mailbox-listed"};
    mh_jw_obj_begin(&o->w);
    jtime(o, "start", w->start);
    jtime(o, "end", w->end);
    mh_jw_key(&o->w, "in_context");
    mh_jw_bool(&o->w, w->how != 0);
    mh_jw_key(&o->w, "basis");
    if (w->how) mh_jw_str(&o->w, how[w->how]);
    else mh_jw_null(&o->w);
    inc_id(o, "incident", w->inc);
    juint(o, "messages", w->nmsgs);
    mh_jw_key(&o->w, "evidence");
    mh_jw_obj_begin(&o->w);
    ref(o, w->rec);
    mh_jw_obj_end(&o->w);
    mh_jw_obj_end(&o->w);
}

static mh_status mailboxes(struct out *o)
{
    const mh_scope *s = o->s;
    mh_status st = MH_OK;
    uint32_t *mb = index_array(s->nmbxs), *ms = index_array(s->nmsgs);
    uint32_t *tw = index_array(s->ntws), *sy = index_array(s->nsyncs);
    if (!mb || !ms || !tw || !sy) {
        st = MH_ENOMEM;
        goto out;
    }
    qsort_r(mb, s->nmbxs, sizeof *mb, mbx_cmp, (void *)s);
    qsort_r(ms, s->nmsgs, sizeof *ms, msg_cmp, (void *)s);
    qsort_r(tw, s->ntws, sizeof *tw, tw_cmp, (void *)s);
    qsort_r(sy, s->nsyncs, sizeof *sy, sync_cmp, (void *)s);
    /* messages are sorted by address, like the mailboxes: walk both in step;
       throttle windows and syncs are sorted by mailbox index: find their runs */
    size_t mi = 0;
    mh_jw_key(&o->w, "mailboxes");
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < s->nmbxs; i++) {
        uint32_t b = mb[i];
        const struct sc_mbx *M = &s->mbxs[b];
        size_t t0 = 0, t1, y0 = 0, y1;
        while (t0 < s->ntws && s->tws[tw[t0]].mbx < b) t0++;
        for (t1 = t0; t1 < s->ntws && s->tws[tw[t1]].mbx == b;) t1++;
        while (y0 < s->nsyncs && s->syncs[sy[y0]].mbx < b) y0++;
        for (y1 = y0; y1 < s->nsyncs && s->syncs[sy[y1]].mbx == b;) y1++;
        mh_jw_obj_begin(&o->w);
        jsid(o, "mailbox", M->addr);
        mh_jw_key(&o->w, "in_store");
        mh_jw_bool(&o->w, M->nsmb > 0);
        mh_jw_key(&o->w, "store_mailboxes");
        mh_jw_arr_begin(&o->w);
        for (uint32_t k = 0; k < M->nsmb; k++)
            mh_jw_str(&o->w, mh_mailstore_mailbox(s->o.store, M->smb[k])->name);
        mh_jw_arr_end(&o->w);
        mh_jw_key(&o->w, "flattened");
        mh_jw_bool(&o->w, M->flattened);
        mh_jw_key(&o->w, "records");
        mh_jw_obj_begin(&o->w);
        juint(o, "bind", M->bind_records);
        juint(o, "sync", M->sync_records);
        juint(o, "send", M->send_records);
        juint(o, "partial", M->partial);
        juint(o, "unlisted_binds", M->unlisted);
        mh_jw_obj_end(&o->w);
        uint64_t nis = 0, joined = 0;
        mh_jw_key(&o->w, "messages");
        mh_jw_arr_begin(&o->w);
        for (; mi < s->nmsgs && s->msgs[ms[mi]].mbx == b; mi++) {
            const struct sc_msg *m = &s->msgs[ms[mi]];
            if (!m->m) {
                nis++;
                joined += m->trace != SC_NONE;
            }
            MH_CHECK(message(o, m));
            flush(o, false);
            if (o->st) {
                st = o->st;
                goto out;
            }
        }
        mh_jw_arr_end(&o->w);
        mh_jw_key(&o->w, "syncs");
        mh_jw_arr_begin(&o->w);
        for (size_t k = y0; k < y1; k++) sync_obj(o, &s->syncs[sy[k]]);
        mh_jw_arr_end(&o->w);
        mh_jw_key(&o->w, "throttle_windows");
        mh_jw_arr_begin(&o->w);
        for (size_t k = t0; k < t1; k++) tw_obj(o, &s->tws[tw[k]]);
        mh_jw_arr_end(&o->w);
        MH_CHECK(notes(o, b, tw + t0, t1 - t0, sy + y0, y1 - y0, nis, joined));
        mh_jw_obj_end(&o->w);
    }
    mh_jw_arr_end(&o->w);
out:
    mh_free(mb);
    mh_free(ms);
    mh_free(tw);
    mh_free(sy);
    return st;
}

/* ------------------------------------------------------------ app-wide */

static int aud_cmp(const void *a, const void *b, void *ctx)
{
    const mh_scope *s = ctx;
    return mh_slice_cmp(mh_scope_aud_name(s, *(const uint32_t *)a),
                        mh_scope_aud_name(s, *(const uint32_t *)b));
}

static void aw_list(struct out *o, const char *k, const struct sc_aw *w, enum sc_awc c,
                    const uint32_t *auds)
{
    const mh_scope *s = o->s;
    mh_jw_key(&o->w, k);
    mh_jw_arr_begin(&o->w);
    if (w->n[c])
        for (size_t i = 0; i < s->nauds; i++)
            if (mh_scope_aw_class(s, w, auds[i]) == c) {
                struct mh_slice a = mh_scope_aud_name(s, auds[i]);
                mh_jw_strn(&o->w, a.ptr, a.len);
            }
    mh_jw_arr_end(&o->w);
}

static mh_status aw_obj(struct out *o, const struct sc_aw *w, const uint32_t *auds)
{
    const mh_scope *s = o->s;
    const struct sc_grant *g = &s->grants[w->grant];
    struct mh_scope_app_wide a;
    mh_scope_app_wide_get(s, (size_t)(w - s->aws), &a);
    char t0[32], t1[32];
    mh_jw_obj_begin(&o->w);
    inc_id(o, "incident", w->inc);
    jstr(o, "app", a.app);
    mh_jw_key(&o->w, "permission");
    mh_jw_str(&o->w, a.permission);
    jtime(o, "granted", g->t);
    mh_jw_key(&o->w, "grant");
    mh_jw_obj_begin(&o->w);
    ref_of(o, g->file, g->fkey, g->record, g->line, g->offset, g->rid, g->t, g->opname);
    mh_jw_obj_end(&o->w);
    mh_jw_key(&o->w, "window");
    mh_jw_obj_begin(&o->w);
    jtime(o, "start", w->start);
    jtime(o, "end", w->end);
    mh_jw_obj_end(&o->w);
    aw_list(o, "touched", w, SC_AW_TOUCHED, auds);
    aw_list(o, "audited", w, SC_AW_AUDITED, auds);
    aw_list(o, "unaudited", w, SC_AW_UNAUDITED, auds);
    mh_jw_key(&o->w, "notes");
    mh_jw_arr_begin(&o->w);
    if (w->n[SC_AW_UNAUDITED]) {
        tfmt(w->start, t0);
        tfmt(w->end, t1);
        MH_TRY(mh_buf_printf(&o->text,
                             "the app held %s from %s to %s; %llu mailbox(es) have no "
                             "MailItemsAccessed record in that time or were throttled in it: "
                             "potentially accessed, unaudited (their messages are not listed)",
                             a.permission, t0, t1, (unsigned long long)w->n[SC_AW_UNAUDITED]));
        note(o, "app-wide-unaudited");
    }
    mh_jw_arr_end(&o->w);
    mh_jw_obj_end(&o->w);
    return MH_OK;
}

/* "app_wide": present when the logs hold a grant (docs/scope.md §6). */
static mh_status app_wide(struct out *o)
{
    const mh_scope *s = o->s;
    if (!s->st.app_wide_grants) return MH_OK;
    uint32_t *auds = index_array(s->nauds);
    if (!auds) return MH_ENOMEM;
    qsort_r(auds, s->nauds, sizeof *auds, aud_cmp, (void *)s);
    mh_status st = MH_OK;
    mh_jw_key(&o->w, "app_wide");
    mh_jw_arr_begin(&o->w);
    for (size_t i = 0; i < s->naws && !st; i++) {
        st = aw_obj(o, &s->aws[i], auds);
        flush(o, false);
        if (!st) st = o->st;
    }
    mh_jw_arr_end(&o->w);
    mh_free(auds);
    return st;
}

static void summary(struct out *o)
{
    const struct mh_scope_stats *t = &o->s->st;
    mh_jw_key(&o->w, "summary");
    mh_jw_obj_begin(&o->w);
    juint(o, "incidents", t->incidents);
    juint(o, "mailboxes", t->mailboxes);
    juint(o, "messages", t->messages);
    juint(o, "distinct_messages", t->distinct_messages);
    mh_jw_key(&o->w, "by_confidence");
    mh_jw_obj_begin(&o->w);
    juint(o, "observed", t->by_confidence[0]);
    juint(o, "inferred-sync", t->by_confidence[1]);
    juint(o, "inferred-throttle", t->by_confidence[2]);
    mh_jw_obj_end(&o->w);
    mh_jw_key(&o->w, "by_basis");
    mh_jw_obj_begin(&o->w);
    for (int b = 0; b < SC_B__N; b++) juint(o, mh_scope_basis_name[b], t->by_basis[b]);
    mh_jw_obj_end(&o->w);
    juint(o, "in_store", t->in_store);
    juint(o, "not_in_store", t->not_in_store);
    juint(o, "trace_joined", t->trace_joined);
    mh_jw_key(&o->w, "records");
    mh_jw_obj_begin(&o->w);
    juint(o, "events", t->events);
    juint(o, "mailbox", t->mailbox_records);
    juint(o, "candidates", t->candidates);
    juint(o, "duplicates", t->duplicates);
    juint(o, "without_time", t->no_time);
    juint(o, "in_context", t->in_context);
    juint(o, "partial", t->partial);
    juint(o, "throttled", t->throttle_records);
    juint(o, "throttle_windows_in_context", t->throttle_windows_in_context);
    juint(o, "trace_rows", t->trace_rows);
    juint(o, "bad_folders", t->bad_folders);
    mh_jw_obj_end(&o->w);
    juint(o, "dropped", t->dropped);
    if (t->app_wide_grants || t->app_wide_unresolved) {
        juint(o, "app_wide_grants", t->app_wide_grants);
        juint(o, "app_wide", t->app_wide);
        juint(o, "unaudited_mailboxes", t->unaudited_mailboxes);
        juint(o, "app_wide_unresolved", t->app_wide_unresolved);
    }
    mh_jw_obj_end(&o->w);
}

mh_status mh_scope_write_json(const mh_scope *s, mh_scope_sink sink, void *ctx)
{
    if (!s->finished) return MH_EINVAL;
    struct out o;
    memset(&o, 0, sizeof o);
    o.s = s;
    o.sink = sink;
    o.ctx = ctx;
    mh_buf_init(&o.buf, (size_t)1 << 34);
    mh_buf_init(&o.text, NOTE_BYTES);
    mh_jw_init(&o.w, &o.buf);
    mh_status st = MH_OK;
    mh_jw_obj_begin(&o.w);
    juint(&o, "scope_version", 1);
    mh_jw_key(&o.w, "parameters");
    mh_jw_obj_begin(&o.w);
    mh_jw_key(&o.w, "incident");
    if (s->o.only_incident) mh_jw_str(&o.w, s->o.only_incident);
    else mh_jw_null(&o.w);
    mh_jw_key(&o.w, "window_before_s");
    mh_jw_int(&o.w, s->o.before / MH_USEC_PER_SEC);
    mh_jw_key(&o.w, "window_after_s");
    mh_jw_int(&o.w, s->o.after / MH_USEC_PER_SEC);
    mh_jw_key(&o.w, "throttle_span_s");
    mh_jw_int(&o.w, s->o.throttle_span / MH_USEC_PER_SEC);
    mh_jw_key(&o.w, "throttle_near_s");
    mh_jw_int(&o.w, s->o.near / MH_USEC_PER_SEC);
    mh_jw_key(&o.w, "mail_store");
    mh_jw_bool(&o.w, s->o.store != NULL);
    mh_jw_obj_end(&o.w);
    MH_CHECK(sorted_pairs(&o));
    mh_jw_key(&o.w, "incidents");
    mh_jw_arr_begin(&o.w);
    for (size_t k = 0; k < s->nincs; k++) MH_CHECK(incident(&o, (uint32_t)k));
    mh_jw_arr_end(&o.w);
    MH_CHECK(mailboxes(&o));
    MH_CHECK(app_wide(&o));
    summary(&o);
    mh_jw_obj_end(&o.w);
    if (!o.w.st) o.w.st = mh_buf_putc(&o.buf, '\n');
    flush(&o, true);
    st = o.st ? o.st : o.w.st;
out:
    if (!st && o.w.st) st = o.w.st;
    mh_free(o.pairs);
    mh_buf_fini(&o.buf);
    mh_buf_fini(&o.text);
    return st;
}
