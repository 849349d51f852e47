/*
 * normalize/event.c -- records -> events: parse, classify, unwrap, time
 *
 * Pipeline: ingest (records) -> [normalize] -> match -> correlate.
 * In:  one mh_record (a JSON object text: a UAL AuditData object, a
 *      wrapper / Purview / Log Analytics row, an Azure Monitor record, a
 *      Graph object or a message-trace row).
 * Out: an mh_event: source kind, UTC time, body object, record root.
 *
 * Classification by record shape (../shared/docs/log-formats.md §2), first
 * match wins:
 *   1. `AuditData` member (object or JSON string): a UAL wrapper object,
 *      Search-UnifiedAuditLog or Purview CSV row. AuditData is unwrapped into
 *      the body; the kind comes from the body's RecordType / Operation /
 *      Workload (falling back to the row's columns); time from the body's
 *      CreationTime, else the row's CreationDate.
 *   2. `Type` = a Log Analytics table name (OfficeActivity, SigninLogs,
 *      AADNonInteractiveUserSignInLogs, AADServicePrincipalSignInLogs,
 *      AADManagedIdentitySignInLogs, ADFSSignInLogs, AuditLogs,
 *      MicrosoftGraphActivityLogs). Time from
 *      TimeGenerated (then CreatedDateTime / ActivityDateTime for the
 *      sign-in / audit tables). Hunting exports without any time column are
 *      events with time MH_TIME_NONE.
 *   3. `RecordType` + one of Operation / CreationTime / Workload: UAL
 *      AuditData; time CreationTime.
 *   4. `category` + `properties` object: Azure Monitor diagnostic record;
 *      time properties.createdDateTime (sign-ins) / activityDateTime
 *      (audits) / timeGenerated (Graph activity), else `time`.
 *   5. `createdDateTime` + `appId` + `status`: Graph signIn. The stream is
 *      signInEventTypes[0] when present, else isInteractive, else
 *      interactive.
 *   6. `RequestUri` + `SignInActivityId` (or camelCase): a Graph activity
 *      row without its table name; time TimeGenerated. Then
 *      `activityDisplayName` + (`loggedByService` | `activityDateTime`) +
 *      `initiatedBy`: Graph directoryAudit.
 *   7. Message trace: MessageTraceId, network_message_id,
 *      origin_timestamp_utc, date_time_utc, Received + an address column, or
 *      Graph exchangeMessageTrace (receivedDateTime + senderAddress).
 *   Anything else is MH_SRC_UNKNOWN (still an event; `cat` shows it).
 *
 * UAL kinds: RecordType 1 / ExchangeAdmin -> exchange_admin; 2, 3, 50 /
 * ExchangeItem* -> mailbox; 15, 9 / AzureActiveDirectory*Logon -> entra_logon;
 * 8 / AzureActiveDirectory -> entra_directory; otherwise the Operation
 * (MailItemsAccessed, Send, SendAs, SendOnBehalf -> mailbox; UserLoggedIn,
 * UserLoginFailed -> entra_logon), then Workload AzureActiveDirectory ->
 * entra_directory, else ual.other. Unknown RecordType values never drop a
 * record.
 *
 * Time: the first time field present (non-null, non-empty) decides. When it
 * does not parse, the event keeps time MH_TIME_NONE and MH_EVF_BAD_TIME;
 * the caller reports it (normalize/stream.c does).
 *
 * Ownership: tapes come from the normalizer's pool, decoded data from its
 * arena; both are recycled by mh_normalizer_reset. Threading: one
 * normalizer per thread.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/hash.h"
#include "mailhound/limits.h"
#include "normalize/event.h"
#include "normalize/internal.h"

static const char *const kind_names[MH_SRC__COUNT] = {
    [MH_SRC_UNKNOWN] = "unknown",
    [MH_SRC_UAL_EXCHANGE_ADMIN] = "ual.exchange_admin",
    [MH_SRC_UAL_MAILBOX] = "ual.mailbox",
    [MH_SRC_UAL_ENTRA_LOGON] = "ual.entra_logon",
    [MH_SRC_UAL_ENTRA_DIRECTORY] = "ual.entra_directory",
    [MH_SRC_UAL_OTHER] = "ual.other",
    [MH_SRC_SIGNIN_INTERACTIVE] = "signin.interactive",
    [MH_SRC_SIGNIN_NONINTERACTIVE] = "signin.noninteractive",
    [MH_SRC_SIGNIN_SERVICE_PRINCIPAL] = "signin.service_principal",
    [MH_SRC_SIGNIN_MANAGED_IDENTITY] = "signin.managed_identity",
    [MH_SRC_DIRECTORY_AUDIT] = "audit.directory",
    [MH_SRC_MESSAGE_TRACE] = "trace.message",
    [MH_SRC_GRAPH_ACTIVITY] = "graph.activity",
};

const char *mh_source_kind_name(enum mh_source_kind k)
{
    return (unsigned)k < MH_SRC__COUNT ? kind_names[k] : "unknown";
}

/* ---- normalizer ---- */

mh_status mh_normalizer_new(mh_normalizer **out)
{
    mh_normalizer *nz = mh_calloc(1, sizeof *nz);
    if (!nz) return MH_ENOMEM;
    /* one block holds a typical batch's decoded data: no malloc per batch */
    mh_arena_init(&nz->arena, 4u << 20, MH_EVENT_ARENA_BYTES);
    *out = nz;
    return MH_OK;
}

void mh_normalizer_free(mh_normalizer *nz)
{
    if (!nz) return;
    for (size_t i = 0; i < nz->npool; i++) {
        if (!nz->pool[i]) continue;
        mh_jdoc_fini(nz->pool[i]);
        mh_free(nz->pool[i]);
    }
    mh_free(nz->pool);
    mh_arena_fini(&nz->arena);
    mh_free(nz);
}

void mh_normalizer_reset(mh_normalizer *nz)
{
    /* Keep node arrays up to the budget so a steady batch loop allocates
     * nothing; release the rest (one huge record must not pin its tape). */
    uint64_t kept = 0;
    for (size_t i = 0; i < nz->npool; i++) {
        struct mh_jdoc *d = nz->pool[i];
        if (!d) continue;
        kept += d->cap;
        if (kept > MH_NZ_POOL_NODES) mh_jdoc_fini(d);
    }
    nz->used = 0;
    mh_arena_reset(&nz->arena); /* keeps a block sized to the busiest batch */
    memset(nz->nest, 0, sizeof nz->nest);
    mh_nz_index_drop(nz, NULL);
}

mh_status mh_nz_alloc(struct mh_normalizer *nz, size_t n, void **out)
{
    void *p = mh_arena_alloc(&nz->arena, n);
    if (!p) {
        size_t need = (n + 15u) & ~(size_t)15u;
        return (need < n || need > nz->arena.cap - nz->arena.used) ? MH_ELIMIT : MH_ENOMEM;
    }
    *out = p;
    return MH_OK;
}

mh_status mh_nz_str(struct mh_normalizer *nz, const struct mh_jdoc *doc, uint32_t i,
                    struct mh_slice *out)
{
    mh_status st = mh_json_str(doc, i, &nz->arena, out);
    if (st == MH_ENOMEM && nz->arena.used + doc->nodes[i].len + 16 > nz->arena.cap) st = MH_ELIMIT;
    return st;
}

static bool looks_like_container(struct mh_slice s)
{
    for (size_t i = 0; i < s.len; i++) {
        char c = s.ptr[i];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        return c == '{' || c == '[';
    }
    return false;
}

/* Shared by mh_nz_nested (lenient) and unwrapping (strict: parse errors are
 * returned with err filled and nothing cached). */
static mh_status nested_impl(struct mh_normalizer *nz, const struct mh_jdoc *doc, uint32_t node,
                             bool strict, const struct mh_jdoc **out, mh_error *err)
{
    uintptr_t key = (uintptr_t)doc ^ ((uintptr_t)node * 0x9E3779B97F4A7C15u);
    uint32_t b = (uint32_t)((key ^ (key >> 17) ^ (key >> 31)) % NZ_NEST_BUCKETS);
    for (struct nz_nested *e = nz->nest[b]; e; e = e->next) {
        if (e->doc == doc && e->node == node) {
            if (!e->nested && strict)
                return mh_error_set(err, MH_EPARSE, "JSON string does not hold a JSON object",
                                    NULL);
            *out = e->nested;
            return MH_OK;
        }
    }
    struct mh_slice s;
    mh_status st = mh_nz_str(nz, doc, node, &s);
    if (st) return st;
    struct mh_jdoc *nested = NULL;
    if (looks_like_container(s)) {
        void *mem;
        if ((st = mh_nz_alloc(nz, sizeof(struct mh_jdoc), &mem))) return st;
        nested = mem;
        mh_jdoc_init(nested, &nz->arena);
        st = mh_json_parse(nested, s.ptr, s.len, strict ? err : NULL);
        if (st == MH_ENOMEM && nz->arena.used + 16 * (uint64_t)s.len > nz->arena.cap)
            st = MH_ELIMIT;
        if (st == MH_ENOMEM || (strict && st)) return st;
        if (st) nested = NULL; /* malformed or over a tape limit: a lookup finds nothing */
    } else if (strict) {
        mh_error_set(err, MH_EPARSE, "JSON string does not hold a JSON object", NULL);
        mh_error_at(err, NULL, 0, 0, 0, 0);
        return MH_EPARSE;
    }
    void *mem;
    if ((st = mh_nz_alloc(nz, sizeof(struct nz_nested), &mem))) return st;
    struct nz_nested *e = mem;
    e->doc = doc;
    e->node = node;
    e->nested = nested;
    e->next = nz->nest[b];
    nz->nest[b] = e;
    *out = nested;
    return MH_OK;
}

mh_status mh_nz_nested(struct mh_normalizer *nz, const struct mh_jdoc *doc, uint32_t node,
                       const struct mh_jdoc **out)
{
    return nested_impl(nz, doc, node, false, out, NULL);
}

/* ---- small lookups used by classification ---- */

#define KEY(s) s, sizeof(s) - 1

static uint32_t get(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t n)
{
    return obj == MH_JNONE ? MH_JNONE : mh_json_get(d, obj, k, n);
}

/* Member present with a non-null value (a string must be non-empty). */
static bool has(const struct mh_jdoc *d, uint32_t obj, const char *k, size_t n)
{
    uint32_t v = get(d, obj, k, n);
    if (v == MH_JNONE) return false;
    enum mh_jtype t = mh_json_type(d, v);
    if (t == MH_JNULL) return false;
    return t != MH_JSTR || mh_json_node(d, v)->len > 0;
}

static bool str_is(const struct mh_jdoc *d, uint32_t v, const char *s, size_t n)
{
    return v != MH_JNONE && mh_json_type(d, v) == MH_JSTR && mh_json_str_eq(d, v, s, n);
}

/* Literal dotted path, members only ("properties.createdDateTime"). */
static uint32_t get_path(const struct mh_jdoc *d, uint32_t obj, const char *path)
{
    uint32_t cur = obj;
    const char *p = path;
    for (;;) {
        const char *dot = strchr(p, '.');
        size_t n = dot ? (size_t)(dot - p) : strlen(p);
        cur = get(d, cur, p, n);
        if (cur == MH_JNONE || !dot) return cur;
        p = dot + 1;
    }
}

/* Boolean member: JSON true/false or "true"/"TRUE"/"False"... */
static bool get_bool(const struct mh_jdoc *d, uint32_t obj, const char *path, bool *out)
{
    uint32_t v = get_path(d, obj, path);
    if (v == MH_JNONE) return false;
    switch (mh_json_type(d, v)) {
    case MH_JTRUE:
        *out = true;
        return true;
    case MH_JFALSE:
        *out = false;
        return true;
    case MH_JSTR: {
        struct mh_slice s = mh_json_raw(d, v);
        if (mh_slice_eq_nocase(s, MH_SLICE_LIT("true"))) return *out = true, true;
        if (mh_slice_eq_nocase(s, MH_SLICE_LIT("false"))) return *out = false, true;
        return false;
    }
    default:
        return false;
    }
}

/* ---- UAL kinds ---- */

/* RecordType as a number (JSON number or digit string); -1 if not numeric. */
static long record_type_num(const struct mh_jdoc *d, uint32_t v)
{
    if (v == MH_JNONE) return -1;
    enum mh_jtype t = mh_json_type(d, v);
    if (t != MH_JNUM && t != MH_JSTR) return -1;
    struct mh_slice s = mh_json_raw(d, v);
    if (s.len == 0 || s.len > 9) return -1;
    long n = 0;
    for (size_t i = 0; i < s.len; i++) {
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return -1;
        n = n * 10 + (s.ptr[i] - '0');
    }
    return n;
}

struct name_kind {
    const char *name;
    enum mh_source_kind kind;
};

static const struct name_kind ual_type_names[] = {
    {"ExchangeAdmin", MH_SRC_UAL_EXCHANGE_ADMIN},
    {"ExchangeItem", MH_SRC_UAL_MAILBOX},
    {"ExchangeItemGroup", MH_SRC_UAL_MAILBOX},
    {"ExchangeItemAggregated", MH_SRC_UAL_MAILBOX},
    {"ExchangeAggregatedOperation", MH_SRC_UAL_MAILBOX},
    {"AzureActiveDirectoryStsLogon", MH_SRC_UAL_ENTRA_LOGON},
    {"AzureActiveDirectoryAccountLogon", MH_SRC_UAL_ENTRA_LOGON},
    {"AzureActiveDirectory", MH_SRC_UAL_ENTRA_DIRECTORY},
};

static const struct name_kind ual_operations[] = {
    {"MailItemsAccessed", MH_SRC_UAL_MAILBOX},
    {"Send", MH_SRC_UAL_MAILBOX},
    {"SendAs", MH_SRC_UAL_MAILBOX},
    {"SendOnBehalf", MH_SRC_UAL_MAILBOX},
    {"UserLoggedIn", MH_SRC_UAL_ENTRA_LOGON},
    {"UserLoginFailed", MH_SRC_UAL_ENTRA_LOGON},
};

static enum mh_source_kind by_name(const struct mh_jdoc *d, uint32_t v, const struct name_kind *t,
                                   size_t n)
{
    if (v == MH_JNONE || mh_json_type(d, v) != MH_JSTR) return MH_SRC_UNKNOWN;
    for (size_t i = 0; i < n; i++)
        if (mh_json_str_eq(d, v, t[i].name, strlen(t[i].name))) return t[i].kind;
    return MH_SRC_UNKNOWN;
}

/* First member among keys[] present in (d1,o1), then in (d2,o2). */
static uint32_t get2(const struct mh_jdoc *d1, uint32_t o1, const struct mh_jdoc *d2, uint32_t o2,
                     const char *const *keys, const struct mh_jdoc **dout)
{
    *dout = d1;
    for (int pass = 0; pass < 2; pass++) {
        const struct mh_jdoc *d = pass ? d2 : d1;
        uint32_t o = pass ? o2 : o1;
        if (!d || o == MH_JNONE) continue;
        for (const char *const *k = keys; *k; k++) {
            uint32_t v = get(d, o, *k, strlen(*k));
            if (v != MH_JNONE && mh_json_type(d, v) != MH_JNULL) {
                *dout = d;
                return v;
            }
        }
    }
    return MH_JNONE;
}

static enum mh_source_kind ual_kind(const struct mh_jdoc *d1, uint32_t o1, const struct mh_jdoc *d2,
                                    uint32_t o2)
{
    static const char *const rt_keys[] = {"RecordType", NULL};
    static const char *const op_keys[] = {"Operation", "Operations", NULL};
    static const char *const wl_keys[] = {"Workload", "OfficeWorkload", NULL};
    const struct mh_jdoc *d = NULL;
    uint32_t rt = get2(d1, o1, d2, o2, rt_keys, &d);
    if (rt != MH_JNONE) {
        switch (record_type_num(d, rt)) {
        case 1:
            return MH_SRC_UAL_EXCHANGE_ADMIN;
        case 2:
        case 3:
        case 50:
            return MH_SRC_UAL_MAILBOX;
        case 9:
        case 15:
            return MH_SRC_UAL_ENTRA_LOGON;
        case 8:
            return MH_SRC_UAL_ENTRA_DIRECTORY;
        default:
            break;
        }
        enum mh_source_kind k =
            by_name(d, rt, ual_type_names, sizeof ual_type_names / sizeof ual_type_names[0]);
        if (k != MH_SRC_UNKNOWN) return k;
    }
    uint32_t op = get2(d1, o1, d2, o2, op_keys, &d);
    if (op != MH_JNONE) {
        enum mh_source_kind k =
            by_name(d, op, ual_operations, sizeof ual_operations / sizeof ual_operations[0]);
        if (k != MH_SRC_UNKNOWN) return k;
    }
    uint32_t wl = get2(d1, o1, d2, o2, wl_keys, &d);
    if (str_is(d, wl, KEY("AzureActiveDirectory"))) return MH_SRC_UAL_ENTRA_DIRECTORY;
    return MH_SRC_UAL_OTHER;
}

/* ---- time ---- */

/*
 * Take the time from the first of paths[] present in (d, obj). Returns
 * true when a field was present (parsed or not).
 */
static bool take_time(struct mh_event *ev, const struct mh_jdoc *d, uint32_t obj,
                      const char *const *paths)
{
    if (!d || obj == MH_JNONE) return false;
    for (const char *const *p = paths; *p; p++) {
        uint32_t v = get_path(d, obj, *p);
        if (v == MH_JNONE) continue;
        enum mh_jtype t = mh_json_type(d, v);
        if (t == MH_JNULL || (t == MH_JSTR && mh_json_node(d, v)->len == 0)) continue;
        ev->time_field = *p;
        ev->time_doc = d;
        ev->time_node = v;
        mh_time tm;
        /* Time strings never contain escapes worth decoding: a raw slice is
         * exact, and an escaped one is rejected as unparseable. */
        struct mh_slice s = mh_json_raw(d, v);
        if (t == MH_JSTR && !(mh_json_node(d, v)->flags & MH_JF_ESCAPED) &&
            mh_time_parse(s.ptr, s.len, &tm) == MH_OK) {
            ev->time = tm;
        } else {
            ev->time = MH_TIME_NONE;
            ev->flags |= MH_EVF_BAD_TIME;
        }
        return true;
    }
    return false;
}

#define PATHS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* ---- shapes ---- */

static mh_status classify_wrapper(struct mh_normalizer *nz, struct mh_event *ev, uint32_t ad,
                                  mh_error *err)
{
    const struct mh_jdoc *d = ev->record_doc;
    const uint32_t root = ev->record_root;
    const struct mh_jdoc *bd = NULL;
    uint32_t body = MH_JNONE;
    enum mh_jtype t = mh_json_type(d, ad);
    if (t == MH_JOBJ) {
        bd = d;
        body = ad;
    } else if (t == MH_JSTR && !mh_slice_eq(mh_slice_trim(mh_json_raw(d, ad)), MH_SLICE_NULL)) {
        mh_status st = nested_impl(nz, d, ad, true, &bd, err);
        if (st == MH_EPARSE || st == MH_ELIMIT) {
            const struct mh_jnode *n = mh_json_node(d, ad);
            uint64_t inner = err ? err->offset : 0;
            char detail[sizeof err->detail];
            snprintf(detail, sizeof detail, "%s", err ? err->detail : "");
            mh_error_set(err, st, err && err->msg ? err->msg : "malformed AuditData",
                         "in the AuditData JSON string%s%s", detail[0] ? ": " : "", detail);
            mh_error_at(err, NULL, 0, 0, n->off + ((n->flags & MH_JF_ESCAPED) ? 0 : inner), 0);
            return st;
        }
        if (st) return st;
        if (mh_json_type(bd, 0) != MH_JOBJ) {
            mh_error_set(err, MH_EPARSE, "AuditData is not a JSON object", NULL);
            mh_error_at(err, NULL, 0, 0, mh_json_node(d, ad)->off, 0);
            return MH_EPARSE;
        }
        body = 0;
    } else if (t != MH_JNULL && t != MH_JSTR) {
        mh_error_set(err, MH_EPARSE, "AuditData is neither a JSON object nor a JSON string", NULL);
        mh_error_at(err, NULL, 0, 0, mh_json_node(d, ad)->off, 0);
        return MH_EPARSE;
    }
    if (body != MH_JNONE) {
        ev->doc = bd;
        ev->body = body;
        ev->flags |= MH_EVF_UNWRAPPED;
    }
    ev->kind = ual_kind(bd, body, d, root);
    if (!take_time(ev, bd, body, PATHS("CreationTime")))
        (void)take_time(ev, d, root, PATHS("CreationDate", "CreationTime"));
    return MH_OK;
}

struct table_kind {
    const char *table;
    enum mh_source_kind kind;
};

static const struct table_kind la_tables[] = {
    {"SigninLogs", MH_SRC_SIGNIN_INTERACTIVE},
    {"AADNonInteractiveUserSignInLogs", MH_SRC_SIGNIN_NONINTERACTIVE},
    {"AADServicePrincipalSignInLogs", MH_SRC_SIGNIN_SERVICE_PRINCIPAL},
    {"AADManagedIdentitySignInLogs", MH_SRC_SIGNIN_MANAGED_IDENTITY},
    {"ADFSSignInLogs", MH_SRC_SIGNIN_INTERACTIVE},
    {"AuditLogs", MH_SRC_DIRECTORY_AUDIT},
    {"OfficeActivity", MH_SRC_UAL_OTHER}, /* refined by ual_kind */
    {"MicrosoftGraphActivityLogs", MH_SRC_GRAPH_ACTIVITY},
};

static bool classify_log_analytics(struct mh_event *ev)
{
    const struct mh_jdoc *d = ev->doc;
    uint32_t type = get(d, ev->body, KEY("Type"));
    if (type == MH_JNONE || mh_json_type(d, type) != MH_JSTR) return false;
    size_t i = 0, n = sizeof la_tables / sizeof la_tables[0];
    while (i < n && !mh_json_str_eq(d, type, la_tables[i].table, strlen(la_tables[i].table))) i++;
    if (i == n) return false;
    enum mh_source_kind k = la_tables[i].kind;
    bool interactive;
    if (k == MH_SRC_UAL_OTHER)
        k = ual_kind(d, ev->body, NULL, MH_JNONE);
    else if (i == 4 && get_bool(d, ev->body, "IsInteractive", &interactive) && !interactive)
        k = MH_SRC_SIGNIN_NONINTERACTIVE; /* ADFS carries both streams */
    ev->kind = k;
    if (k == MH_SRC_DIRECTORY_AUDIT)
        (void)take_time(ev, d, ev->body, PATHS("TimeGenerated", "ActivityDateTime"));
    else if (k >= MH_SRC_SIGNIN_INTERACTIVE && k <= MH_SRC_SIGNIN_MANAGED_IDENTITY)
        (void)take_time(ev, d, ev->body, PATHS("TimeGenerated", "CreatedDateTime"));
    else
        (void)take_time(ev, d, ev->body, PATHS("TimeGenerated"));
    return true;
}

static const struct table_kind monitor_categories[] = {
    {"SignInLogs", MH_SRC_SIGNIN_INTERACTIVE},
    {"NonInteractiveUserSignInLogs", MH_SRC_SIGNIN_NONINTERACTIVE},
    {"ServicePrincipalSignInLogs", MH_SRC_SIGNIN_SERVICE_PRINCIPAL},
    {"MicrosoftServicePrincipalSignInLogs", MH_SRC_SIGNIN_SERVICE_PRINCIPAL},
    {"ManagedIdentitySignInLogs", MH_SRC_SIGNIN_MANAGED_IDENTITY},
    {"ADFSSignInLogs", MH_SRC_SIGNIN_INTERACTIVE},
    {"AuditLogs", MH_SRC_DIRECTORY_AUDIT},
    {"MicrosoftGraphActivityLogs", MH_SRC_GRAPH_ACTIVITY},
};

static bool classify_monitor(struct mh_event *ev)
{
    const struct mh_jdoc *d = ev->doc;
    uint32_t cat = get(d, ev->body, KEY("category"));
    uint32_t props = get(d, ev->body, KEY("properties"));
    if (cat == MH_JNONE || mh_json_type(d, cat) != MH_JSTR || props == MH_JNONE ||
        mh_json_type(d, props) != MH_JOBJ)
        return false;
    size_t i = 0, n = sizeof monitor_categories / sizeof monitor_categories[0];
    while (i < n && !mh_json_str_eq(d, cat, monitor_categories[i].table,
                                    strlen(monitor_categories[i].table)))
        i++;
    enum mh_source_kind k = i < n ? monitor_categories[i].kind : MH_SRC_UNKNOWN;
    bool interactive;
    if (i == 5 && get_bool(d, props, "isInteractive", &interactive) && !interactive)
        k = MH_SRC_SIGNIN_NONINTERACTIVE;
    ev->kind = k;
    if (k == MH_SRC_DIRECTORY_AUDIT)
        (void)take_time(ev, d, ev->body, PATHS("properties.activityDateTime", "time"));
    else if (k == MH_SRC_GRAPH_ACTIVITY)
        (void)take_time(ev, d, ev->body, PATHS("properties.timeGenerated", "time"));
    else if (k != MH_SRC_UNKNOWN)
        (void)take_time(ev, d, ev->body, PATHS("properties.createdDateTime", "time"));
    else
        (void)take_time(ev, d, ev->body, PATHS("time"));
    return true;
}

static bool classify_graph(struct mh_event *ev)
{
    const struct mh_jdoc *d = ev->doc;
    uint32_t b = ev->body;
    if (has(d, b, KEY("createdDateTime")) && get(d, b, KEY("appId")) != MH_JNONE &&
        get(d, b, KEY("status")) != MH_JNONE) {
        enum mh_source_kind k = MH_SRC_SIGNIN_INTERACTIVE;
        uint32_t types = get(d, b, KEY("signInEventTypes"));
        uint32_t first = (types != MH_JNONE && mh_json_type(d, types) == MH_JARR)
                             ? mh_json_first(d, types)
                             : MH_JNONE;
        bool interactive;
        if (str_is(d, first, KEY("nonInteractiveUser")))
            k = MH_SRC_SIGNIN_NONINTERACTIVE;
        else if (str_is(d, first, KEY("servicePrincipal")))
            k = MH_SRC_SIGNIN_SERVICE_PRINCIPAL;
        else if (str_is(d, first, KEY("managedIdentity")))
            k = MH_SRC_SIGNIN_MANAGED_IDENTITY;
        else if (str_is(d, first, KEY("interactiveUser")))
            k = MH_SRC_SIGNIN_INTERACTIVE;
        else if (get_bool(d, b, "isInteractive", &interactive) && !interactive)
            k = MH_SRC_SIGNIN_NONINTERACTIVE;
        ev->kind = k;
        (void)take_time(ev, d, b, PATHS("createdDateTime"));
        return true;
    }
    /* the id column is there even when empty (a request without a token id) */
    if ((has(d, b, KEY("RequestUri")) && get(d, b, KEY("SignInActivityId")) != MH_JNONE) ||
        (has(d, b, KEY("requestUri")) && get(d, b, KEY("signInActivityId")) != MH_JNONE)) {
        ev->kind = MH_SRC_GRAPH_ACTIVITY;
        (void)take_time(ev, d, b, PATHS("TimeGenerated", "timeGenerated"));
        return true;
    }
    if (has(d, b, KEY("activityDisplayName")) && get(d, b, KEY("initiatedBy")) != MH_JNONE &&
        (get(d, b, KEY("loggedByService")) != MH_JNONE ||
         get(d, b, KEY("activityDateTime")) != MH_JNONE)) {
        ev->kind = MH_SRC_DIRECTORY_AUDIT;
        (void)take_time(ev, d, b, PATHS("activityDateTime"));
        return true;
    }
    return false;
}

static bool classify_trace(struct mh_event *ev)
{
    const struct mh_jdoc *d = ev->doc;
    uint32_t b = ev->body;
    bool trace = has(d, b, KEY("MessageTraceId")) || has(d, b, KEY("network_message_id")) ||
                 has(d, b, KEY("origin_timestamp_utc")) || has(d, b, KEY("date_time_utc")) ||
                 (has(d, b, KEY("Received")) &&
                  (has(d, b, KEY("RecipientAddress")) || has(d, b, KEY("SenderAddress")))) ||
                 (has(d, b, KEY("receivedDateTime")) && has(d, b, KEY("senderAddress")) &&
                  has(d, b, KEY("recipientAddress")));
    if (!trace) return false;
    ev->kind = MH_SRC_MESSAGE_TRACE;
    (void)take_time(ev, d, b,
                    PATHS("Received", "origin_timestamp_utc", "date_time_utc", "receivedDateTime"));
    return true;
}

static mh_status classify(struct mh_normalizer *nz, struct mh_event *ev, mh_error *err)
{
    const struct mh_jdoc *d = ev->doc;
    uint32_t root = ev->record_root;
    uint32_t ad = get(d, root, KEY("AuditData"));
    if (ad != MH_JNONE) return classify_wrapper(nz, ev, ad, err);
    if (classify_log_analytics(ev)) return MH_OK;
    if (get(d, root, KEY("RecordType")) != MH_JNONE &&
        (get(d, root, KEY("Operation")) != MH_JNONE ||
         get(d, root, KEY("CreationTime")) != MH_JNONE ||
         get(d, root, KEY("Workload")) != MH_JNONE)) {
        ev->kind = ual_kind(d, root, NULL, MH_JNONE);
        (void)take_time(ev, d, root, PATHS("CreationTime"));
        return MH_OK;
    }
    if (classify_monitor(ev) || classify_graph(ev) || classify_trace(ev)) return MH_OK;
    /* Also recognise message-trace CSV rows whose marker columns are empty. */
    enum mh_format f = (enum mh_format)ev->rec->format;
    if (f == MH_FMT_CSV_TRACE || f == MH_FMT_CSV_TRACE_SUMMARY || f == MH_FMT_CSV_TRACE_EXTENDED) {
        ev->kind = MH_SRC_MESSAGE_TRACE;
        (void)take_time(ev, d, root, PATHS("Received", "origin_timestamp_utc", "date_time_utc"));
        return MH_OK;
    }
    ev->kind = MH_SRC_UNKNOWN;
    (void)take_time(ev, d, root,
                    PATHS("TimeGenerated", "time", "CreationTime", "createdDateTime",
                          "activityDateTime", "CreationDate"));
    return MH_OK;
}

/* ---- events ---- */

static mh_status take_tape(struct mh_normalizer *nz, struct mh_jdoc **out, mh_error *err)
{
    if (nz->used >= MH_MAX_LIVE_EVENTS)
        return mh_error_set(err, MH_ELIMIT, "too many live events",
                            "%u events since the last normalizer reset",
                            (unsigned)MH_MAX_LIVE_EVENTS);
    if (nz->used == nz->npool) {
        size_t ncap = nz->npool ? nz->npool * 2 : 64;
        if (ncap > MH_MAX_LIVE_EVENTS) ncap = MH_MAX_LIVE_EVENTS;
        struct mh_jdoc **np = mh_realloc(nz->pool, ncap * sizeof *np);
        if (!np) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        for (size_t i = nz->npool; i < ncap; i++) np[i] = NULL;
        nz->pool = np;
        nz->npool = ncap;
    }
    if (!nz->pool[nz->used]) {
        struct mh_jdoc *d = mh_malloc(sizeof *d);
        if (!d) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        mh_jdoc_init(d, NULL);
        nz->pool[nz->used] = d;
    }
    *out = nz->pool[nz->used];
    mh_nz_index_drop(nz, *out); /* a tape parsed again is another object */
    return MH_OK;
}

mh_status mh_event_init(mh_normalizer *nz, const struct mh_record *rec, struct mh_event *ev,
                        mh_error *err)
{
    struct mh_jdoc *d = NULL;
    mh_status st = take_tape(nz, &d, err);
    if (st) return st;
    st = mh_json_parse(d, rec->json, rec->json_len, err);
    if (st) return st;
    if (mh_json_type(d, 0) != MH_JOBJ) {
        mh_error_set(err, MH_EPARSE, "record is not a JSON object", NULL);
        mh_error_at(err, NULL, 0, 0, mh_json_node(d, 0)->off, 0);
        return MH_EPARSE;
    }
    struct mh_event e;
    memset(&e, 0, sizeof e);
    e.rec = rec;
    e.kind = MH_SRC_UNKNOWN;
    e.time = MH_TIME_NONE;
    e.doc = d;
    e.record_doc = d;
    e.body = 0;
    e.record_root = 0;
    e.time_node = MH_JNONE;
    e.nz = nz;
    st = classify(nz, &e, err);
    if (st) return st;
    nz->used++;
    *ev = e;
    return MH_OK;
}
