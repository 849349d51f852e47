/*
 * correlate/mailpath.c -- D9 one application reading mail through Graph and directly
 *
 * Pipeline: normalize -> [correlate: stateful detector] -> incidents, scope.
 *
 * detections.md §6 D9: "Also flag apps reading mail both directly and via
 * Graph" (Microsoft hunting query "OAuth Apps accessing user mail both via
 * GraphAPI and directly"). An application X reads mail
 *   via Graph   when a MailItemsAccessed record has AppId = Microsoft Graph
 *               (00000003-0000-0000-c000-000000000000) and ClientAppId = X;
 *   directly    when AppId is not Graph (Exchange Online for EWS / OWA REST,
 *               or X itself) and ClientAppId = X, or ClientAppId is empty and
 *               AppId = X.
 * An approved product uses one API; one application holding both an EWS grant
 * (full_access_as_app) and Graph Mail.Read, and using both, is the shape of an
 * attacker trying whatever its stolen application can do. Microsoft's own
 * clients use both (Outlook on REST and Graph): X first-party -> ignored
 * (rules/data/first-party-apps.tsv).
 *
 * Decision at finish: per (tenant, X), the earliest record of each path in
 * this run and in the state. Both paths known, and the LATER of the two first
 * sightings is in this run -> mh.d9.graph_and_direct (medium), evidence = the
 * record where the second path appeared. A combination first complete in an
 * earlier run is not reported again. Minima only: order-independent.
 *
 * Example: backup app e45924eb reads 300 mailboxes via Graph every night since
 * 03-04; on 03-12 the same ClientAppId reads a mailbox with AppId Exchange
 * Online and ClientInfoString Client=WebServices;ExchangeWebServices -> medium
 * on that EWS record.
 *
 * State: d9_path(tenant, client_app_id, path, first). Limits: MH_D9_MAX_PATHS
 * entries; new ones beyond are not tracked (stats.dropped). Not thread-safe.
 */
#include <string.h>

#include "base/alloc.h"
#include "correlate/detector.h"
#include "correlate/state.h"

#define GRAPH_APP "00000003-0000-0000-c000-000000000000"

static const char *const tags[] = {"attack.collection", "attack.t1114.002", "attack.t1550.001",
                                   "mailhound.d9"};
static const struct mh_det_rule rule_dual = {
    "mh.d9.graph_and_direct", "Application reading mail both through Graph and directly", "D9",
    "One application (ClientAppId) read mailboxes through Microsoft Graph and directly through "
    "Exchange (EWS / REST): Microsoft hunting query \"OAuth Apps accessing user mail both via "
    "GraphAPI and directly\"",
    tags, 4};

struct path {
    uint32_t tenant, client;
    uint8_t kind;           /* 0 Graph, 1 direct */
    struct mh_det_evid ev;  /* earliest record of this run; time MH_TIME_NONE: none */
    uint32_t info;          /* ClientInfoString of that record */
    uint64_t count;
    mh_time state_first;
};

struct mailpath {
    struct mh_map idx;
    struct path *paths;
    size_t n, cap;
};

static mh_status mp_create(struct mh_det_ctx *cx, void **self)
{
    (void)cx;
    struct mailpath *m = mh_calloc(1, sizeof *m);
    if (!m) return MH_ENOMEM;
    mh_map_init(&m->idx, MH_D9_MAX_PATHS, false);
    *self = m;
    return MH_OK;
}

static void mp_destroy(void *self)
{
    struct mailpath *m = self;
    mh_map_fini(&m->idx);
    mh_free(m->paths);
    mh_free(m);
}

static mh_status get_path(struct mh_det_ctx *cx, struct mailpath *m, uint32_t tenant,
                          uint32_t client, uint8_t kind, struct path **out)
{
    uint32_t key[3] = {tenant, client, kind};
    struct path *p;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &m->idx, key, sizeof key, m->paths, m->cap, m->n, MH_D9_MAX_PATHS, p, &created,
                st);
    if (!st && created) {
        p->tenant = tenant;
        p->client = client;
        p->kind = kind;
        p->ev.time = p->state_first = MH_TIME_NONE;
    }
    *out = p;
    return st;
}

static const struct path *find_path(const struct mailpath *m, uint32_t tenant, uint32_t client,
                                    uint8_t kind)
{
    uint32_t key[3] = {tenant, client, kind};
    struct mh_map_entry *e = mh_map_get(&m->idx, (const char *)key, sizeof key);
    return e ? &m->paths[e->value] : NULL;
}

static mh_status mp_feed(void *self, struct mh_det_ctx *cx, struct mh_event *ev)
{
    static const char *const info_paths[] = {"ClientInfoString", NULL};
    struct mailpath *m = self;
    if (!cx->cfg.d9_dual_path || ev->kind != MH_SRC_UAL_MAILBOX) return MH_OK;
    struct mh_slice op, app, client, tenant;
    MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
    if (!mh_slice_eq_cstr(op, "mailitemsaccessed")) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_APP_ID, &app));
    MH_TRY(mh_det_entity(ev, MH_ENT_CLIENT_APP_ID, &client));
    bool graph = mh_slice_eq_nocase(app, MH_SLICE_LIT(GRAPH_APP));
    struct mh_slice x = client.len ? client : (graph ? MH_SLICE_NULL : app);
    if (!x.len || mh_det_first_party(cx, x)) return MH_OK;
    MH_TRY(mh_det_entity(ev, MH_ENT_TENANT, &tenant));
    uint32_t it = mh_det_intern(cx, tenant), ix = mh_det_intern(cx, x);
    if (!ix || (tenant.len && !it)) {
        cx->stats.dropped++;
        return MH_OK;
    }
    struct path *p;
    MH_TRY(get_path(cx, m, it, ix, graph ? 0 : 1, &p));
    if (!p) return MH_OK;
    p->count++;
    if (p->ev.time == MH_TIME_NONE || ev->time < p->ev.time) {
        struct mh_slice info;
        MH_TRY(mh_det_capture(cx, ev, &p->ev));
        MH_TRY(mh_det_field(ev, info_paths, &info));
        p->info = mh_det_intern(cx, info);
    }
    return MH_OK;
}

static mh_time first_of(const struct path *p)
{
    if (p->ev.time == MH_TIME_NONE) return p->state_first;
    if (p->state_first == MH_TIME_NONE) return p->ev.time;
    return p->ev.time < p->state_first ? p->ev.time : p->state_first;
}

static mh_status mp_finish(void *self, struct mh_det_ctx *cx)
{
    struct mailpath *m = self;
    for (size_t i = 0; i < m->n; i++) {
        const struct path *g = &m->paths[i];
        if (g->kind != 0) continue;
        const struct path *d = find_path(m, g->tenant, g->client, 1);
        if (!d) continue;
        mh_time fg = first_of(g), fd = first_of(d);
        if (fg == MH_TIME_NONE || fd == MH_TIME_NONE) continue;
        const struct path *later = fd >= fg ? d : g;
        /* the combination became complete in an earlier run: reported then */
        if (later->ev.time == MH_TIME_NONE || first_of(later) != later->ev.time) continue;
        struct mh_det_pending *p = mh_det_pend(cx, &rule_dual, MH_LEVEL_MEDIUM, &later->ev);
        mh_det_pend_str(cx, p, "client_app_id", mh_det_str(cx, g->client));
        mh_det_pend_str(cx, p, "tenant", mh_det_str(cx, g->tenant));
        mh_det_pend_num(cx, p, "graph_first", fg / MH_USEC_PER_SEC);
        mh_det_pend_num(cx, p, "direct_first", fd / MH_USEC_PER_SEC);
        mh_det_pend_num(cx, p, "graph_records", (int64_t)g->count);
        mh_det_pend_num(cx, p, "direct_records", (int64_t)d->count);
        mh_det_pend_str(cx, p, "direct_client_info", mh_det_str(cx, d->info));
        if (p) {
            p->first = fg < fd ? fg : fd;
            p->last = later->ev.time;
            p->count = g->count + d->count;
        }
    }
    return MH_OK;
}

static mh_status mp_load(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct mailpath *m = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(mh_state_db(stt), "SELECT tenant, client_app_id, path, first FROM d9_path"
                           " ORDER BY tenant, client_app_id, path", &q, cx->err));
    while (!(st = mh_db_step(q, &row, cx->err)) && row) {
        struct mh_slice t, c;
        MH_CHECK(mh_db_column_text(q, 0, &t, cx->err));
        uint32_t it = mh_det_intern(cx, t);
        MH_CHECK(mh_db_column_text(q, 1, &c, cx->err));
        uint32_t ic = mh_det_intern(cx, c);
        if ((t.len && !it) || (c.len && !ic)) {
            st = mh_error_set(cx->err, MH_ELIMIT, "state too large", "%s", "strings");
            goto out;
        }
        struct path *p;
        MH_CHECK(get_path(cx, m, it, ic, mh_db_column_int(q, 2) ? 1 : 0, &p));
        if (p) p->state_first = mh_db_column_int(q, 3);
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status mp_save(void *self, struct mh_det_ctx *cx, mh_state *stt)
{
    struct mailpath *m = self;
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(mh_state_db(stt), "INSERT OR REPLACE INTO d9_path VALUES(?1, ?2, ?3, ?4)",
                           &q, cx->err));
    for (size_t i = 0; i < m->n; i++) {
        const struct path *p = &m->paths[i];
        mh_time f = first_of(p);
        if (f == MH_TIME_NONE) continue;
        struct mh_slice t = mh_det_str(cx, p->tenant), c = mh_det_str(cx, p->client);
        MH_CHECK(mh_db_bind_text(q, 1, t.ptr ? t.ptr : "", t.len, cx->err));
        MH_CHECK(mh_db_bind_text(q, 2, c.ptr ? c.ptr : "", c.len, cx->err));
        MH_CHECK(mh_db_bind_int(q, 3, p->kind, cx->err));
        MH_CHECK(mh_db_bind_int(q, 4, f, cx->err));
        MH_CHECK(mh_db_step(q, &row, cx->err));
        mh_db_reset(q);
    }
out:
    mh_db_finalize(q);
    return st;
}

const struct mh_det_ops mh_det_mailpath_ops = {
    "mailpath", mp_create, mp_feed, mp_finish, mp_load, mp_save, mp_destroy,
};
