/*
 * notify/ledger.c -- the notification ledger over SQLite (see ledger.h)
 *
 * Schema (version MH_LEDGER_SCHEMA, in meta):
 *   packages(org, seq, kind, org_name, source_org, contact, incident_id,
 *            bagging_date, access_first, access_last, hash, messages,
 *            secrets, payload_bytes)                 PRIMARY KEY (org, seq)
 *   items(org, message_id, seq, date, subject, mailbox, addresses, evidence,
 *         confidence, secrets, sha256, orig_sha256, file, removed,
 *         removed_names)                             PRIMARY KEY (org, message_id)
 *         FOREIGN KEY (org, seq) -> packages
 * Times are mh_time (µs since the epoch, UTC) or NULL. No wall-clock value is
 * stored anywhere, so the ledgers of an interrupted and of an uninterrupted
 * run compare equal row for row (mh_ledger_dump).
 *
 * mh_ledger_publish for one organisation:
 *   1. index the input by message id (duplicates -> MH_EINVAL);
 *   2. load the org's recorded packages and items (snapshot) into an arena;
 *      items come ordered by (seq, message_id), so each package's members
 *      are one contiguous run;
 *   3. remove unrecorded package directories of this org (leftovers);
 *   4. each recorded package: intact in DIR (tag-manifest hash equals the
 *      recorded one) -> present; else rewrite from the snapshot with the
 *      recorded hash as expectation -> rewritten, or drifted when a member
 *      is missing from the input or the bytes differ;
 *   5. the input messages not recorded -> one new package, seq = last + 1,
 *      written (package.c protocol), then recorded in one transaction.
 * Crash hooks: "ledger-before-commit", "ledger-in-tx", "ledger-committed".
 */
#include "notify/ledger.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/db.h"
#include "base/hash.h"
#include "mailhound/limits.h"
#include "notify/fs.h"

struct mh_ledger {
    mh_db *db;
    mh_db_stmt *has;
};

static void hook(const char *point)
{
    if (mh_notify_crash_hook) mh_notify_crash_hook(point);
}

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS packages("
    " org TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, org_name TEXT,"
    " source_org TEXT NOT NULL, contact TEXT, incident_id TEXT NOT NULL,"
    " bagging_date INTEGER NOT NULL, access_first INTEGER, access_last INTEGER,"
    " hash TEXT NOT NULL, messages INTEGER NOT NULL, secrets INTEGER NOT NULL,"
    " payload_bytes INTEGER NOT NULL, PRIMARY KEY(org, seq));"
    "CREATE TABLE IF NOT EXISTS items("
    " org TEXT NOT NULL, message_id TEXT NOT NULL, seq INTEGER NOT NULL, date INTEGER,"
    " subject TEXT, mailbox TEXT, addresses TEXT, evidence TEXT, confidence TEXT,"
    " secrets INTEGER NOT NULL, sha256 TEXT NOT NULL, orig_sha256 TEXT NOT NULL,"
    " file TEXT NOT NULL, removed INTEGER NOT NULL, removed_names TEXT,"
    " PRIMARY KEY(org, message_id), FOREIGN KEY(org, seq) REFERENCES packages(org, seq));"
    "INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '1');";

static mh_status bind_str(mh_db_stmt *s, int i, const char *v, mh_error *err)
{
    return v ? mh_db_bind_text(s, i, v, strlen(v), err) : mh_db_bind_null(s, i, err);
}

static mh_status bind_time(mh_db_stmt *s, int i, mh_time t, mh_error *err)
{
    return t == MH_TIME_NONE ? mh_db_bind_null(s, i, err) : mh_db_bind_int(s, i, t, err);
}

mh_status mh_ledger_open(const char *path, mh_ledger **out, mh_error *err)
{
    mh_status st = MH_OK;
    mh_ledger *lg = NULL;
    mh_db_stmt *q = NULL;
    bool row;
    struct mh_slice v;
    lg = mh_calloc(1, sizeof *lg);
    if (!lg) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    MH_CHECK(mh_db_open(path, MH_DB_CREATE, &lg->db, err));
    MH_CHECK(mh_db_exec(lg->db, schema, err));
    MH_CHECK(mh_db_prepare(lg->db, "SELECT value FROM meta WHERE key = 'schema'", &q, err));
    MH_CHECK(mh_db_step(q, &row, err));
    if (!row) {
        st = mh_error_set(err, MH_ESTATE, "ledger without schema version", "%.200s", path);
        goto out;
    }
    MH_CHECK(mh_db_column_text(q, 0, &v, err));
    if (!mh_slice_eq_cstr(v, "1")) {
        st = mh_error_set(err, MH_ESTATE, "ledger of another schema version", "%.*s",
                          (int)(v.len > 20 ? 20 : v.len), v.ptr ? v.ptr : "");
        goto out;
    }
    MH_CHECK(mh_db_prepare(lg->db, "SELECT 1 FROM items WHERE org = ?1 AND message_id = ?2",
                           &lg->has, err));
    *out = lg;
    lg = NULL;
out:
    mh_db_finalize(q);
    mh_ledger_close(lg);
    return st;
}

void mh_ledger_close(mh_ledger *lg)
{
    if (!lg) return;
    mh_db_finalize(lg->has);
    mh_db_close(lg->db);
    mh_free(lg);
}

mh_status mh_ledger_has(mh_ledger *lg, const char *org, const char *message_id, bool *out,
                        mh_error *err)
{
    mh_status st = MH_OK;
    bool row = false;
    if (!org || !message_id) return mh_error_set(err, MH_EINVAL, "org and message id required", NULL);
    MH_CHECK(mh_db_bind_text(lg->has, 1, org, strlen(org), err));
    MH_CHECK(mh_db_bind_text(lg->has, 2, message_id, strlen(message_id), err));
    MH_CHECK(mh_db_step(lg->has, &row, err));
    *out = row;
out:
    mh_db_reset(lg->has);
    return st;
}

mh_status mh_ledger_new_items(mh_ledger *lg, const char *org, const char *const *ids, size_t n,
                              bool *is_new, size_t *n_new, mh_error *err)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        bool has;
        MH_TRY(mh_ledger_has(lg, org, ids[i], &has, err));
        is_new[i] = !has;
        k += !has;
    }
    *n_new = k;
    return MH_OK;
}

mh_status mh_ledger_org_totals(mh_ledger *lg, const char *org, struct mh_ledger_totals *out,
                               mh_error *err)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    struct mh_slice kind;
    memset(out, 0, sizeof *out);
    MH_CHECK(mh_db_prepare(lg->db,
                           "SELECT count(*), coalesce(sum(messages), 0), coalesce(sum(secrets), 0),"
                           " (SELECT kind FROM packages WHERE org = ?1 ORDER BY seq LIMIT 1)"
                           " FROM packages WHERE org = ?1",
                           &q, err));
    MH_CHECK(mh_db_bind_text(q, 1, org, strlen(org), err));
    MH_CHECK(mh_db_step(q, &row, err));
    if (row) {
        out->packages = (uint64_t)mh_db_column_int(q, 0);
        out->messages = (uint64_t)mh_db_column_int(q, 1);
        out->secrets = (uint64_t)mh_db_column_int(q, 2);
        MH_CHECK(mh_db_column_text(q, 3, &kind, err));
        if (kind.len >= sizeof out->kind) kind.len = sizeof out->kind - 1;
        if (kind.len) memcpy(out->kind, kind.ptr, kind.len);
        out->kind[kind.len] = '\0';
    }
out:
    mh_db_finalize(q);
    return st;
}

/* ---- publish ---- */

struct recpkg {
    struct mh_pkg_info info;
    char hash[MH_SHA256_HEX];
    size_t first, count; /* members: items[first .. first+count) */
};

struct pub {
    mh_ledger *lg;
    const char *outdir;
    struct mh_arena arena;
    struct mh_map input;    /* message id -> input index + 1 */
    struct mh_map recorded; /* message id -> 1 */
    struct recpkg *pkgs;
    size_t npkgs;
    struct mh_pkg_message *items;
    size_t nitems, capitems;
    mh_error *err;
};

static mh_status col_str(struct pub *p, mh_db_stmt *q, int col, const char **out)
{
    struct mh_slice s;
    MH_TRY(mh_db_column_text(q, col, &s, p->err));
    if (!s.ptr) {
        *out = NULL;
        return MH_OK;
    }
    char *c = mh_arena_strndup(&p->arena, s.ptr, s.len);
    if (!c) return mh_error_set(p->err, MH_ENOMEM, "out of memory", NULL);
    *out = c;
    return MH_OK;
}

static mh_time col_time(mh_db_stmt *q, int col)
{
    return mh_db_column_is_null(q, col) ? MH_TIME_NONE : (mh_time)mh_db_column_int(q, col);
}

static mh_status load_packages(struct pub *p, const char *org)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    size_t cap = 0;
    mh_error *err = p->err;
    MH_CHECK(mh_db_prepare(p->lg->db,
                           "SELECT seq, kind, org_name, source_org, contact, incident_id,"
                           " bagging_date, access_first, access_last, hash FROM packages"
                           " WHERE org = ?1 ORDER BY seq",
                           &q, err));
    MH_CHECK(mh_db_bind_text(q, 1, org, strlen(org), err));
    for (;;) {
        MH_CHECK(mh_db_step(q, &row, err));
        if (!row) break;
        if (MH_GROW(p->pkgs, cap, p->npkgs + 1, 8, SIZE_MAX) != MH_OK) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
        struct recpkg *r = &p->pkgs[p->npkgs];
        memset(r, 0, sizeof *r);
        int64_t seq = mh_db_column_int(q, 0);
        if (seq < 0 || seq > INT_MAX) {
            st = mh_error_set(err, MH_ESTATE, "corrupt ledger: bad package number", NULL);
            goto out;
        }
        r->info.seq = (unsigned)seq;
        r->info.org_key = org;
        const char *hash = NULL;
        MH_CHECK(col_str(p, q, 1, &r->info.kind));
        MH_CHECK(col_str(p, q, 2, &r->info.org_name));
        MH_CHECK(col_str(p, q, 3, &r->info.source_org));
        MH_CHECK(col_str(p, q, 4, &r->info.contact));
        MH_CHECK(col_str(p, q, 5, &r->info.incident_id));
        r->info.bagging_date = col_time(q, 6);
        r->info.access_first = col_time(q, 7);
        r->info.access_last = col_time(q, 8);
        MH_CHECK(col_str(p, q, 9, &hash));
        if (!hash || strlen(hash) != MH_SHA256_HEX - 1) {
            st = mh_error_set(err, MH_ESTATE, "corrupt ledger: bad package hash", NULL);
            goto out;
        }
        memcpy(r->hash, hash, MH_SHA256_HEX);
        p->npkgs++;
    }
out:
    mh_db_finalize(q);
    return st;
}

static mh_status load_items(struct pub *p, const char *org)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    mh_error *err = p->err;
    size_t pk = 0;
    MH_CHECK(mh_db_prepare(p->lg->db,
                           "SELECT message_id, seq, date, subject, mailbox, addresses, evidence,"
                           " confidence, secrets FROM items WHERE org = ?1"
                           " ORDER BY seq, message_id",
                           &q, err));
    MH_CHECK(mh_db_bind_text(q, 1, org, strlen(org), err));
    for (;;) {
        MH_CHECK(mh_db_step(q, &row, err));
        if (!row) break;
        if (p->nitems >= MH_LEDGER_MAX_ITEMS_PER_ORG) {
            st = mh_error_set(err, MH_ELIMIT, "too many recorded messages for one organisation",
                              "limit %u", (unsigned)MH_LEDGER_MAX_ITEMS_PER_ORG);
            goto out;
        }
        if (MH_GROW(p->items, p->capitems, p->nitems + 1, 64, SIZE_MAX) != MH_OK) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
        struct mh_pkg_message *m = &p->items[p->nitems];
        memset(m, 0, sizeof *m);
        MH_CHECK(col_str(p, q, 0, &m->message_id));
        int64_t seq = mh_db_column_int(q, 1);
        m->date = col_time(q, 2);
        MH_CHECK(col_str(p, q, 3, &m->subject));
        MH_CHECK(col_str(p, q, 4, &m->mailbox));
        MH_CHECK(col_str(p, q, 5, &m->addresses));
        MH_CHECK(col_str(p, q, 6, &m->evidence));
        MH_CHECK(col_str(p, q, 7, &m->confidence));
        m->secrets = (unsigned)mh_db_column_int(q, 8);
        /* Attach to its package (both lists are ordered by seq). */
        while (pk < p->npkgs && (int64_t)p->pkgs[pk].info.seq < seq) pk++;
        if (pk == p->npkgs || (int64_t)p->pkgs[pk].info.seq != seq || !m->message_id) {
            st = mh_error_set(err, MH_ESTATE, "corrupt ledger: item without its package", NULL);
            goto out;
        }
        if (p->pkgs[pk].count == 0) p->pkgs[pk].first = p->nitems;
        p->pkgs[pk].count++;
        struct mh_map_entry *e = mh_map_get(&p->input, m->message_id, strlen(m->message_id));
        /* raw stays NULL (raw_len 0) when the message is not in the input */
        if (e) m->raw_len = (size_t)e->value; /* temporarily: input index + 1 */
        struct mh_map_entry *re;
        st = mh_map_put(&p->recorded, m->message_id, strlen(m->message_id), &re, NULL);
        if (st) {
            mh_error_set(err, st, "out of memory", NULL);
            goto out;
        }
        p->nitems++;
    }
out:
    mh_db_finalize(q);
    return st;
}

static bool recorded_seq(const struct pub *p, unsigned seq)
{
    for (size_t i = 0; i < p->npkgs; i++)
        if (p->pkgs[i].info.seq == seq) return true;
    return false;
}

/* Remove this org's package directories that the ledger does not know. */
static mh_status remove_unrecorded(struct pub *p, const char *org, size_t *removed)
{
    mh_status st = MH_OK;
    char base[PATH_MAX], sub[PATH_MAX];
    DIR *d = NULL;
    mh_error *err = p->err;
    MH_CHECK(mh_pkg_path(p->outdir, org, 0, base, sizeof base, err));
    if (!mh_fs_is_dir(base)) goto out;
    if (!recorded_seq(p, 0)) {
        MH_CHECK(mh_fs_rmtree(base, err));
        (*removed)++;
        goto out;
    }
    d = opendir(base);
    if (!d) goto out;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "supplement-", 11) != 0) continue;
        char *end = NULL;
        unsigned long k = strtoul(e->d_name + 11, &end, 10);
        if (end && *end == '\0' && k > 0 && k <= UINT_MAX && recorded_seq(p, (unsigned)k)) continue;
        MH_CHECK(mh_fs_path(sub, sizeof sub, err, "%s/%s", base, e->d_name));
        MH_CHECK(mh_fs_rmtree(sub, err));
        (*removed)++;
    }
out:
    if (d) closedir(d);
    return st;
}

/* Insert the rows of one package (inside the caller's transaction). */
static mh_status record_rows(mh_db *db, const struct mh_pkg_info *info,
                             const struct mh_pkg_message *msgs, size_t n,
                             const struct mh_pkg_shipped *sh, const struct mh_pkg_result *r,
                             mh_error *err)
{
    mh_status st = MH_OK;
    mh_db_stmt *qp = NULL, *qi = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(db,
                           "INSERT INTO packages(org, seq, kind, org_name, source_org, contact,"
                           " incident_id, bagging_date, access_first, access_last, hash, messages,"
                           " secrets, payload_bytes) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
                           "?13,?14)",
                           &qp, err));
    MH_CHECK(mh_db_prepare(db,
                           "INSERT INTO items(org, message_id, seq, date, subject, mailbox,"
                           " addresses, evidence, confidence, secrets, sha256, orig_sha256, file,"
                           " removed, removed_names) VALUES(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,"
                           "?13,?14,?15)",
                           &qi, err));
    MH_CHECK(bind_str(qp, 1, info->org_key, err));
    MH_CHECK(mh_db_bind_int(qp, 2, info->seq, err));
    MH_CHECK(bind_str(qp, 3, info->kind, err));
    MH_CHECK(bind_str(qp, 4, info->org_name, err));
    MH_CHECK(bind_str(qp, 5, info->source_org, err));
    MH_CHECK(bind_str(qp, 6, info->contact, err));
    MH_CHECK(bind_str(qp, 7, info->incident_id, err));
    MH_CHECK(mh_db_bind_int(qp, 8, info->bagging_date, err));
    MH_CHECK(bind_time(qp, 9, info->access_first, err));
    MH_CHECK(bind_time(qp, 10, info->access_last, err));
    MH_CHECK(bind_str(qp, 11, r->hash, err));
    MH_CHECK(mh_db_bind_int(qp, 12, (int64_t)r->messages, err));
    MH_CHECK(mh_db_bind_int(qp, 13, (int64_t)r->secrets, err));
    MH_CHECK(mh_db_bind_int(qp, 14, (int64_t)r->payload_bytes, err));
    MH_CHECK(mh_db_step(qp, &row, err));
    for (size_t i = 0; i < n; i++) {
        const struct mh_pkg_message *m = &msgs[i];
        mh_db_reset(qi);
        MH_CHECK(bind_str(qi, 1, info->org_key, err));
        MH_CHECK(bind_str(qi, 2, m->message_id, err));
        MH_CHECK(mh_db_bind_int(qi, 3, info->seq, err));
        MH_CHECK(bind_time(qi, 4, m->date, err));
        MH_CHECK(bind_str(qi, 5, m->subject, err));
        MH_CHECK(bind_str(qi, 6, m->mailbox, err));
        MH_CHECK(bind_str(qi, 7, m->addresses, err));
        MH_CHECK(bind_str(qi, 8, m->evidence, err));
        MH_CHECK(bind_str(qi, 9, m->confidence, err));
        MH_CHECK(mh_db_bind_int(qi, 10, m->secrets, err));
        MH_CHECK(bind_str(qi, 11, sh[i].sha256, err));
        MH_CHECK(bind_str(qi, 12, sh[i].orig_sha256, err));
        MH_CHECK(bind_str(qi, 13, sh[i].file, err));
        MH_CHECK(mh_db_bind_int(qi, 14, (int64_t)sh[i].removed, err));
        MH_CHECK(bind_str(qi, 15, sh[i].removed ? sh[i].removed_names : NULL, err));
        MH_CHECK(mh_db_step(qi, &row, err));
    }
out:
    mh_db_finalize(qi);
    mh_db_finalize(qp);
    return st;
}

/* ---- batches ---- */

struct pending {
    struct mh_pkg_info info;      /* strings in the batch arena */
    struct mh_pkg_result res;     /* of the staged bag */
    struct mh_pkg_message *msgs;  /* [n], strings in the arena, no bytes */
    struct mh_pkg_shipped *sh;    /* [n] */
    size_t n;
};

struct mh_ledger_batch {
    struct mh_arena a;
    struct pending *p;
    struct mh_pkg_staged *staged; /* parallel to p */
    size_t n, max, items;
};

mh_status mh_ledger_batch_new(size_t max_packages, mh_ledger_batch **out, mh_error *err)
{
    if (max_packages == 0) max_packages = 1;
    if (max_packages > MH_LEDGER_MAX_BATCH) max_packages = MH_LEDGER_MAX_BATCH;
    mh_ledger_batch *b = mh_calloc(1, sizeof *b);
    if (b) {
        b->p = mh_calloc(max_packages, sizeof *b->p);
        b->staged = mh_calloc(max_packages, sizeof *b->staged);
    }
    if (!b || !b->p || !b->staged) {
        if (b) {
            mh_free(b->p);
            mh_free(b->staged);
        }
        mh_free(b);
        return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    }
    b->max = max_packages;
    mh_arena_init(&b->a, 1u << 16, 0);
    *out = b;
    return MH_OK;
}

static void batch_reset(mh_ledger_batch *b)
{
    for (size_t i = 0; i < b->n; i++) {
        mh_free(b->p[i].msgs);
        mh_free(b->p[i].sh);
    }
    memset(b->p, 0, b->max * sizeof *b->p);
    b->n = b->items = 0;
    mh_arena_reset(&b->a);
}

void mh_ledger_batch_free(mh_ledger_batch *b)
{
    if (!b) return;
    for (size_t i = 0; i < b->n; i++) /* staged, never installed: best effort */
        if (mh_fs_rmtree(b->staged[i].tmp, NULL) != MH_OK) {
            /* mh_pkg_recover() removes it on the next run */
        }
    batch_reset(b);
    mh_arena_fini(&b->a);
    mh_free(b->staged);
    mh_free(b->p);
    mh_free(b);
}

static const char *bdup(mh_ledger_batch *b, const char *s, bool *oom)
{
    if (!s) return NULL;
    const char *c = mh_arena_strndup(&b->a, s, strlen(s));
    if (!c) *oom = true;
    return c;
}

/* Keep what the transaction needs of a staged package (copies). */
static mh_status batch_add(mh_ledger_batch *b, const struct mh_pkg_info *info,
                           const struct mh_pkg_message *msgs, size_t n,
                           const struct mh_pkg_shipped *sh, const struct mh_pkg_result *res,
                           const struct mh_pkg_staged *sg, mh_error *err)
{
    struct pending *pd = &b->p[b->n];
    bool oom = false;
    memset(pd, 0, sizeof *pd);
    pd->msgs = mh_calloc(n, sizeof *pd->msgs);
    pd->sh = mh_malloc(n * sizeof *pd->sh);
    if (!pd->msgs || !pd->sh) oom = true;
    pd->info = *info;
    pd->info.org_key = bdup(b, info->org_key, &oom);
    pd->info.org_name = bdup(b, info->org_name, &oom);
    pd->info.kind = bdup(b, info->kind, &oom);
    pd->info.source_org = bdup(b, info->source_org, &oom);
    pd->info.contact = bdup(b, info->contact, &oom);
    pd->info.incident_id = bdup(b, info->incident_id, &oom);
    for (size_t i = 0; i < n && !oom; i++) {
        const struct mh_pkg_message *m = &msgs[i];
        struct mh_pkg_message *c = &pd->msgs[i];
        c->message_id = bdup(b, m->message_id, &oom);
        c->date = m->date;
        c->subject = bdup(b, m->subject, &oom);
        c->mailbox = bdup(b, m->mailbox, &oom);
        c->addresses = bdup(b, m->addresses, &oom);
        c->evidence = bdup(b, m->evidence, &oom);
        c->confidence = bdup(b, m->confidence, &oom);
        c->secrets = m->secrets;
        pd->sh[i] = sh[i];
    }
    if (oom) {
        mh_free(pd->msgs);
        mh_free(pd->sh);
        memset(pd, 0, sizeof *pd);
        return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    }
    pd->n = n;
    pd->res = *res;
    b->staged[b->n] = *sg;
    b->n++;
    b->items += n;
    return MH_OK;
}

/* Record n staged-and-installed packages in ONE transaction, between the
 * crash hooks of the protocol (also the path of a single package). */
static mh_status record_tx(mh_db *db, const struct pending *pd, size_t n, mh_error *err)
{
    mh_status st = MH_OK;
    hook("ledger-before-commit");
    MH_TRY(mh_db_begin(db, err));
    for (size_t i = 0; i < n && !st; i++)
        st = record_rows(db, &pd[i].info, pd[i].msgs, pd[i].n, pd[i].sh, &pd[i].res, err);
    if (!st) {
        hook("ledger-in-tx");
        st = mh_db_commit(db, err);
    }
    if (st) {
        mh_db_rollback(db);
        return st;
    }
    hook("ledger-committed");
    return MH_OK;
}

mh_status mh_ledger_flush(mh_ledger *lg, mh_ledger_batch *b, mh_error *err)
{
    if (!b || b->n == 0) return MH_OK;
    MH_TRY(mh_pkg_install(b->staged, b->n, err));
    /* installed: nothing left for mh_ledger_batch_free to remove */
    mh_status st = record_tx(lg->db, b->p, b->n, err);
    batch_reset(b);
    return st;
}

static bool batch_has(const mh_ledger_batch *b, const char *org)
{
    for (size_t i = 0; i < b->n; i++)
        if (!strcmp(b->p[i].info.org_key, org)) return true;
    return false;
}

static mh_status publish(mh_ledger *lg, mh_ledger_batch *batch, const char *outdir,
                         const struct mh_pkg_info *info, const struct mh_pkg_message *msgs, size_t n,
                         struct mh_publish_result *res_out, mh_error *err)
{
    mh_status st = MH_OK;
    struct pub p;
    struct mh_publish_result res;
    struct mh_pkg_message *fresh = NULL;
    struct mh_pkg_shipped *shipped = NULL;
    memset(&res, 0, sizeof res);
    memset(&p, 0, sizeof p);
    p.lg = lg;
    p.outdir = outdir;
    p.err = err;
    mh_arena_init(&p.arena, 65536, 0);
    mh_map_init(&p.input, MH_PKG_MAX_MESSAGES, false);
    mh_map_init(&p.recorded, MH_LEDGER_MAX_ITEMS_PER_ORG, false);
    if (!lg || !outdir || !info || !info->org_key || (n && !msgs)) {
        st = mh_error_set(err, MH_EINVAL, "publish needs a ledger, DIR, info and messages", NULL);
        goto out;
    }
    const char *org = info->org_key;
    /* The ledger must know the batch before this org is read from it; a
     * full batch is flushed before it takes another package. */
    if (batch && (batch_has(batch, org) || batch->n == batch->max ||
                  batch->items + n > MH_LEDGER_MAX_BATCH_ITEMS))
        MH_CHECK(mh_ledger_flush(lg, batch, err));

    for (size_t i = 0; i < n; i++) {
        struct mh_map_entry *e;
        bool created;
        if (!msgs[i].message_id) {
            st = mh_error_set(err, MH_EINVAL, "message without id", "index %zu", i);
            goto out;
        }
        st = mh_map_put(&p.input, msgs[i].message_id, strlen(msgs[i].message_id), &e, &created);
        if (st) {
            mh_error_set(err, st, st == MH_ELIMIT ? "too many messages for one organisation"
                                                  : "out of memory", NULL);
            goto out;
        }
        if (!created) {
            st = mh_error_set(err, MH_EINVAL, "message listed twice", "%.200s", msgs[i].message_id);
            goto out;
        }
        e->value = i + 1;
    }
    MH_CHECK(load_packages(&p, org));
    MH_CHECK(load_items(&p, org));
    /* Give recorded items their bytes from the input (raw_len held index + 1). */
    for (size_t i = 0; i < p.nitems; i++) {
        size_t idx = p.items[i].raw_len;
        p.items[i].raw_len = 0;
        p.items[i].raw = NULL;
        if (idx) {
            p.items[i].raw = msgs[idx - 1].raw ? msgs[idx - 1].raw : "";
            p.items[i].raw_len = msgs[idx - 1].raw_len;
        }
    }
    MH_CHECK(remove_unrecorded(&p, org, &res.removed));

    for (size_t k = 0; k < p.npkgs; k++) {
        struct recpkg *r = &p.pkgs[k];
        char dir[PATH_MAX], have[MH_SHA256_HEX];
        MH_CHECK(mh_pkg_path(outdir, org, r->info.seq, dir, sizeof dir, err));
        mh_status hs = mh_pkg_hash(dir, have, NULL);
        if (hs == MH_OK && !strcmp(have, r->hash)) {
            res.present++;
            continue;
        }
        bool complete = r->count > 0;
        for (size_t i = 0; i < r->count && complete; i++) complete = p.items[r->first + i].raw != NULL;
        if (!complete) {
            res.drifted++;
            continue;
        }
        mh_status ws = mh_pkg_write(outdir, &r->info, p.items + r->first, r->count, r->hash, NULL,
                                    NULL, err);
        if (ws == MH_ESTATE) {
            mh_error_clear(err);
            res.drifted++;
            continue;
        }
        MH_CHECK(ws);
        res.rewritten++;
    }

    size_t nfresh = 0;
    if (n) {
        fresh = mh_calloc(n, sizeof *fresh);
        shipped = mh_calloc(n, sizeof *shipped);
        if (!fresh || !shipped) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++)
        if (!mh_map_get(&p.recorded, msgs[i].message_id, strlen(msgs[i].message_id)))
            fresh[nfresh++] = msgs[i];
    if (nfresh) {
        struct mh_pkg_info ni = *info;
        ni.seq = p.npkgs ? p.pkgs[p.npkgs - 1].info.seq + 1 : 0;
        if (!batch) {
            MH_CHECK(mh_pkg_write(outdir, &ni, fresh, nfresh, NULL, shipped, &res.pkg, err));
            const struct pending one = {ni, res.pkg, fresh, shipped, nfresh};
            MH_CHECK(record_tx(lg->db, &one, 1, err));
        } else {
            struct mh_pkg_staged sg;
            MH_CHECK(mh_pkg_stage(outdir, &ni, fresh, nfresh, NULL, shipped, &res.pkg, &sg, err));
            st = batch_add(batch, &ni, fresh, nfresh, shipped, &res.pkg, &sg, err);
            if (st) {
                if (mh_fs_rmtree(sg.tmp, NULL) != MH_OK) {
                    /* best effort: mh_pkg_recover() removes it */
                }
                goto out;
            }
        }
        res.created = true;
        res.seq = ni.seq;
        res.new_messages = nfresh;
    }
    if (res_out) *res_out = res;
out:
    mh_free(shipped);
    mh_free(fresh);
    mh_free(p.items);
    mh_free(p.pkgs);
    mh_map_fini(&p.recorded);
    mh_map_fini(&p.input);
    mh_arena_fini(&p.arena);
    return st;
}

mh_status mh_ledger_publish(mh_ledger *lg, const char *outdir, const struct mh_pkg_info *info,
                            const struct mh_pkg_message *msgs, size_t n,
                            struct mh_publish_result *res, mh_error *err)
{
    return publish(lg, NULL, outdir, info, msgs, n, res, err);
}

mh_status mh_ledger_publish_batch(mh_ledger *lg, mh_ledger_batch *batch, const char *outdir,
                                  const struct mh_pkg_info *info,
                                  const struct mh_pkg_message *msgs, size_t n,
                                  struct mh_publish_result *res, mh_error *err)
{
    if (!batch) return mh_error_set(err, MH_EINVAL, "no batch", NULL);
    return publish(lg, batch, outdir, info, msgs, n, res, err);
}

/* ---- dump ---- */

static mh_status dump_query(mh_ledger *lg, const char *title, const char *sql, struct mh_buf *out,
                            mh_error *err)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_CHECK(mh_db_prepare(lg->db, sql, &q, err));
    st = mh_buf_printf(out, "[%s]\n", title);
    for (;;) {
        if (st) {
            mh_error_set(err, st, "dump too large", NULL);
            goto out;
        }
        MH_CHECK(mh_db_step(q, &row, err));
        if (!row) break;
        int nc = mh_db_column_count(q);
        for (int c = 0; c < nc && !st; c++) {
            struct mh_slice v;
            MH_CHECK(mh_db_column_text(q, c, &v, err));
            if (c) st = mh_buf_putc(out, '\t');
            if (!st) st = v.ptr ? mh_buf_append(out, v.ptr, v.len) : mh_buf_puts(out, "\\N");
        }
        if (!st) st = mh_buf_putc(out, '\n');
    }
out:
    mh_db_finalize(q);
    return st;
}

mh_status mh_ledger_dump(mh_ledger *lg, struct mh_buf *out, mh_error *err)
{
    MH_TRY(dump_query(lg, "meta", "SELECT key, value FROM meta ORDER BY key", out, err));
    MH_TRY(dump_query(lg, "packages", "SELECT * FROM packages ORDER BY org, seq", out, err));
    return dump_query(lg, "items", "SELECT * FROM items ORDER BY org, message_id", out, err);
}
