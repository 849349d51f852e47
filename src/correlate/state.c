/*
 * correlate/state.c -- detector baselines in SQLite (see state.h for the schema)
 *
 * Pipeline: ingest -> normalize -> match -> [correlate] -> scope. The only
 * SQL of the stateful detectors' schema lives here (DDL); each detector's
 * load/save code reads and writes its own table through base/db.h.
 *
 * Versioning: mh_meta.schema_version is written when a file is created; an
 * existing file of this version gets the tables added since (every statement
 * of the schema is CREATE TABLE IF NOT EXISTS: additions are additive); an
 * existing file with another version is refused (MH_ESTATE). A database that
 * is not ours (no mh_meta table but other tables) is refused as well.
 * Threading: one thread at a time.
 */
#include "correlate/state.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

struct mh_state {
    mh_db *db;
};

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS mh_meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);"
    "CREATE TABLE IF NOT EXISTS mh_run(run INTEGER PRIMARY KEY, first INTEGER NOT NULL,"
    " last INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d9_cover(scope INTEGER NOT NULL, tenant TEXT NOT NULL,"
    " mailbox TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " PRIMARY KEY(scope, tenant, mailbox));"
    "CREATE TABLE IF NOT EXISTS d9_pair(scope INTEGER NOT NULL, tenant TEXT NOT NULL,"
    " mailbox TEXT NOT NULL, app_id TEXT NOT NULL, client_app_id TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, count INTEGER NOT NULL,"
    " PRIMARY KEY(scope, tenant, mailbox, app_id, client_app_id));"
    "CREATE TABLE IF NOT EXISTS d7_spaddr(tenant TEXT NOT NULL, sp TEXT NOT NULL,"
    " ip TEXT NOT NULL, first INTEGER NOT NULL, PRIMARY KEY(tenant, sp, ip));"
    "CREATE TABLE IF NOT EXISTS d7_spcover(tenant TEXT PRIMARY KEY, first INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d11_day(kind INTEGER NOT NULL, key TEXT NOT NULL,"
    " day INTEGER NOT NULL, sum INTEGER NOT NULL, PRIMARY KEY(kind, key, day));"
    "CREATE TABLE IF NOT EXISTS d11_cover(day INTEGER PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS d12_gap(mailbox TEXT NOT NULL, start INTEGER NOT NULL,"
    " end INTEGER NOT NULL, PRIMARY KEY(mailbox, start));"
    "CREATE TABLE IF NOT EXISTS d2_good(user TEXT NOT NULL, ip TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(user, ip));"
    /* added after schema 1 was released: created in old files on open (additive) */
    "CREATE TABLE IF NOT EXISTS d5_cover(kind INTEGER PRIMARY KEY, first INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d5_signin(key TEXT NOT NULL, day INTEGER NOT NULL,"
    " first INTEGER NOT NULL, PRIMARY KEY(key, day));"
    "CREATE TABLE IF NOT EXISTS d5_actor(key TEXT NOT NULL, actor TEXT NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(key, actor));"
    "CREATE TABLE IF NOT EXISTS d9_path(tenant TEXT NOT NULL, client_app_id TEXT NOT NULL,"
    " path INTEGER NOT NULL, first INTEGER NOT NULL, PRIMARY KEY(tenant, client_app_id, path));"
    "CREATE TABLE IF NOT EXISTS d14_owner(upn TEXT NOT NULL, oid TEXT NOT NULL,"
    " last INTEGER NOT NULL, PRIMARY KEY(upn, oid));"
    "CREATE TABLE IF NOT EXISTS d5_address(ip TEXT PRIMARY KEY, asn INTEGER NOT NULL,"
    " first INTEGER NOT NULL, last INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d5_asn(asn INTEGER PRIMARY KEY, first INTEGER NOT NULL,"
    " last INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d10_cover(tenant TEXT PRIMARY KEY, first INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d10_pair(tenant TEXT NOT NULL, accessor TEXT NOT NULL,"
    " mailbox TEXT NOT NULL, folder TEXT NOT NULL, first INTEGER NOT NULL, last INTEGER NOT NULL,"
    " PRIMARY KEY(tenant, accessor, mailbox, folder));"
    "CREATE TABLE IF NOT EXISTS d11_hour(mailbox TEXT NOT NULL, hour INTEGER NOT NULL,"
    " sum INTEGER NOT NULL, PRIMARY KEY(mailbox, hour));"
    "CREATE TABLE IF NOT EXISTS d11_hour_cover(hour INTEGER PRIMARY KEY);"
    "CREATE TABLE IF NOT EXISTS sigma_carry(seq INTEGER PRIMARY KEY, corr TEXT NOT NULL,"
    " pos INTEGER NOT NULL, base TEXT NOT NULL, time INTEGER NOT NULL, grp TEXT NOT NULL,"
    " value TEXT, file TEXT NOT NULL, key TEXT NOT NULL, record INTEGER NOT NULL,"
    " off INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS d1_fail(source TEXT NOT NULL, prefix INTEGER NOT NULL,"
    " time INTEGER NOT NULL, user TEXT NOT NULL, PRIMARY KEY(source, time, user));"
    "CREATE TABLE IF NOT EXISTS d1_account(source TEXT NOT NULL, prefix INTEGER NOT NULL,"
    " user TEXT NOT NULL, last INTEGER NOT NULL, PRIMARY KEY(source, user));"
    "CREATE TABLE IF NOT EXISTS d1_success(source TEXT PRIMARY KEY, prefix INTEGER NOT NULL,"
    " user TEXT NOT NULL, time INTEGER NOT NULL);";

static mh_status read_version(mh_db *db, bool *has_meta, int64_t *version, int64_t *ntables,
                              mh_error *err)
{
    mh_status st = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    *has_meta = false;
    *version = 0;
    MH_CHECK(mh_db_prepare(db, "SELECT count(*), sum(name = 'mh_meta') FROM sqlite_master"
                               " WHERE type = 'table'", &q, err));
    MH_CHECK(mh_db_step(q, &row, err));
    if (row) {
        *ntables = mh_db_column_int(q, 0);
        *has_meta = mh_db_column_int(q, 1) > 0;
    }
    mh_db_finalize(q);
    q = NULL;
    if (!*has_meta) goto out;
    MH_CHECK(mh_db_prepare(db, "SELECT value FROM mh_meta WHERE key = 'schema_version'", &q, err));
    MH_CHECK(mh_db_step(q, &row, err));
    if (row) {
        struct mh_slice v;
        MH_CHECK(mh_db_column_text(q, 0, &v, err));
        int64_t x = 0;
        for (size_t i = 0; i < v.len && v.ptr[i] >= '0' && v.ptr[i] <= '9'; i++)
            x = x * 10 + (v.ptr[i] - '0');
        *version = x;
    }
out:
    mh_db_finalize(q);
    return st;
}

mh_status mh_state_open(const char *path, mh_state **out, mh_error *err)
{
    mh_status st = MH_OK;
    mh_state *s = mh_calloc(1, sizeof *s);
    bool has_meta;
    int64_t version, ntables = 0;
    if (!s) return MH_ENOMEM;
    MH_CHECK(mh_db_open(path && path[0] ? path : ":memory:", MH_DB_CREATE, &s->db, err));
    MH_CHECK(read_version(s->db, &has_meta, &version, &ntables, err));
    if (!has_meta && ntables > 0) {
        st = mh_error_set(err, MH_ESTATE, "not a mailhound state file", "%s", path ? path : "");
        goto out;
    }
    if (has_meta && version != MH_STATE_SCHEMA_VERSION) {
        st = mh_error_set(err, MH_ESTATE, "state file from another mailhound version",
                          "schema %lld, this build reads %d", (long long)version,
                          MH_STATE_SCHEMA_VERSION);
        goto out;
    }
    if (!has_meta) {
        char sql[160];
        MH_CHECK(mh_db_begin(s->db, err));
        st = mh_db_exec(s->db, schema, err);
        if (!st) {
            snprintf(sql, sizeof sql,
                     "INSERT INTO mh_meta(key, value) VALUES('schema_version', '%d'),"
                     " ('created_by', 'mailhound')",
                     MH_STATE_SCHEMA_VERSION);
            st = mh_db_exec(s->db, sql, err);
        }
        if (!st) st = mh_db_commit(s->db, err);
        if (st) {
            mh_db_rollback(s->db);
            goto out;
        }
    } else {
        /* a file of this version written before the additive tables existed */
        MH_CHECK(mh_db_exec(s->db, schema, err));
    }
out:
    if (st) {
        mh_state_close(s);
        return st;
    }
    *out = s;
    return MH_OK;
}

void mh_state_close(mh_state *st)
{
    if (!st) return;
    if (st->db && mh_db_in_transaction(st->db)) mh_db_rollback(st->db);
    mh_db_close(st->db);
    mh_free(st);
}

mh_db *mh_state_db(mh_state *st)
{
    return st->db;
}

mh_status mh_state_begin(mh_state *st, mh_error *err)
{
    return mh_db_begin(st->db, err);
}

mh_status mh_state_commit(mh_state *st, mh_error *err)
{
    return mh_db_commit(st->db, err);
}

void mh_state_rollback(mh_state *st)
{
    mh_db_rollback(st->db);
}

mh_status mh_state_exec(mh_state *st, const char *sql, mh_error *err)
{
    return mh_db_exec(st->db, sql, err);
}

mh_status mh_state_add_run(mh_state *st, mh_time first, mh_time last, mh_error *err)
{
    mh_status s = MH_OK;
    mh_db_stmt *q = NULL;
    bool row;
    MH_TRY(mh_db_prepare(st->db, "INSERT INTO mh_run(first, last) VALUES(?1, ?2)", &q, err));
    s = mh_db_bind_int(q, 1, first, err);
    if (!s) s = mh_db_bind_int(q, 2, last, err);
    if (!s) s = mh_db_step(q, &row, err);
    mh_db_finalize(q);
    return s;
}

mh_status mh_state_runs(mh_state *st, int64_t *out, mh_error *err)
{
    mh_status s;
    mh_db_stmt *q = NULL;
    bool row = false;
    MH_TRY(mh_db_prepare(st->db, "SELECT count(*) FROM mh_run", &q, err));
    s = mh_db_step(q, &row, err);
    if (!s && row) *out = mh_db_column_int(q, 0);
    mh_db_finalize(q);
    return s;
}
