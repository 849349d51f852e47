/*
 * base/db.c -- SQLite adapter: connections, statements, transactions (see db.h)
 *
 * The only file that includes sqlite3.h. Three jobs:
 *  1. route SQLite's memory through the mh_malloc seam (configured once per
 *     process with pthread_once, before sqlite3_initialize), keeping the
 *     allocation size in a 16-byte header because SQLite asks for it (xSize);
 *  2. translate result codes: SQLITE_NOMEM -> MH_ENOMEM, anything else ->
 *     MH_EDB; the detail is "<sqlite3_errstr>: <sqlite3_errmsg>" and the OS
 *     errno (sqlite3_system_errno) goes to mh_error.sys_errno;
 *  3. apply the durability settings every writer needs: WAL journal,
 *     synchronous=FULL, foreign keys on, a busy timeout.
 *
 * mh_db_stmt is the sqlite3_stmt itself behind an opaque type (no extra
 * allocation per statement). mh_db wraps the connection handle.
 *
 * If another component of the process initialised SQLite first, configuring
 * the allocator fails with SQLITE_MISUSE; SQLite then keeps its own malloc
 * and everything still works (only failure injection does not reach it).
 */
#include "base/db.h"

#include <pthread.h>
#include <sqlite3.h>
#include <string.h>

#include "base/alloc.h"
#include "mailhound/limits.h"

struct mh_db {
    sqlite3 *h;
};

#define HDR 16 /* keeps 16-byte alignment of the user pointer */

static void *sq_malloc(int n)
{
    if (n < 0) return NULL;
    unsigned char *p = mh_malloc((size_t)n + HDR);
    if (!p) return NULL;
    memcpy(p, &(size_t){(size_t)n}, sizeof(size_t));
    return p + HDR;
}

static void sq_free(void *p)
{
    if (p) mh_free((unsigned char *)p - HDR);
}

static void *sq_realloc(void *p, int n)
{
    if (n < 0) return NULL;
    if (!p) return sq_malloc(n);
    unsigned char *q = mh_realloc((unsigned char *)p - HDR, (size_t)n + HDR);
    if (!q) return NULL;
    memcpy(q, &(size_t){(size_t)n}, sizeof(size_t));
    return q + HDR;
}

static int sq_size(void *p)
{
    size_t n;
    if (!p) return 0;
    memcpy(&n, (unsigned char *)p - HDR, sizeof n);
    return (int)n;
}

static int sq_roundup(int n)
{
    return (n + 7) & ~7;
}

static int sq_init(void *app)
{
    (void)app;
    return SQLITE_OK;
}

static void sq_shutdown(void *app)
{
    (void)app;
}

static pthread_once_t config_once = PTHREAD_ONCE_INIT;

static void configure(void)
{
    static const sqlite3_mem_methods mem = {sq_malloc, sq_free,     sq_realloc, sq_size,
                                            sq_roundup, sq_init, sq_shutdown, NULL};
    /* SQLITE_MISUSE when SQLite is already initialised: keep its allocator. */
    (void)sqlite3_config(SQLITE_CONFIG_MALLOC, &mem);
}

/* Translate a failing SQLite result code. h may be NULL. */
static mh_status fail(sqlite3 *h, int rc, mh_error *err, const char *what)
{
    mh_status st = ((rc & 0xff) == SQLITE_NOMEM) ? MH_ENOMEM : MH_EDB;
    if (!err) return st;
    const char *msg = h ? sqlite3_errmsg(h) : NULL;
    const char *str = sqlite3_errstr(rc);
    if (msg && strcmp(msg, str) != 0)
        mh_error_set(err, st, what, "%s: %s", str, msg);
    else
        mh_error_set(err, st, what, "%s", str);
    err->sys_errno = h ? sqlite3_system_errno(h) : 0;
    return st;
}

static sqlite3 *stmt_db(mh_db_stmt *s)
{
    return sqlite3_db_handle((sqlite3_stmt *)s);
}

mh_status mh_db_open(const char *path, unsigned flags, mh_db **out, mh_error *err)
{
    mh_status st = MH_OK;
    mh_db *db = NULL;
    sqlite3 *h = NULL;
    if (!path || !out) return mh_error_set(err, MH_EINVAL, "database path missing", NULL);
    pthread_once(&config_once, configure);

    int oflags = (flags & MH_DB_READONLY) ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (!(flags & MH_DB_READONLY) && (flags & MH_DB_CREATE)) oflags |= SQLITE_OPEN_CREATE;
    oflags |= SQLITE_OPEN_NOMUTEX; /* one thread at a time per connection (db.h) */
    int rc = sqlite3_open_v2(path, &h, oflags, NULL);
    if (rc != SQLITE_OK) {
        st = fail(h, rc, err, "cannot open database");
        mh_error_at(err, path, 0, 0, 0, 0);
        goto out;
    }
    sqlite3_extended_result_codes(h, 1);
    rc = sqlite3_busy_timeout(h, MH_DB_BUSY_TIMEOUT_MS);
    if (rc != SQLITE_OK) {
        st = fail(h, rc, err, "cannot configure database");
        goto out;
    }
    db = mh_calloc(1, sizeof *db);
    if (!db) {
        st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        goto out;
    }
    db->h = h;
    h = NULL;
    /* Reading the schema here makes "file is not a database" fail at open. */
    const char *pragmas = (flags & MH_DB_READONLY)
                              ? "PRAGMA foreign_keys=ON; PRAGMA schema_version;"
                              : "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
                                "PRAGMA foreign_keys=ON; PRAGMA schema_version;";
    st = mh_db_exec(db, pragmas, err);
    if (st) {
        mh_error_at(err, path, 0, 0, 0, 0);
        goto out;
    }
    *out = db;
    db = NULL;
out:
    mh_db_close(db);
    if (h) sqlite3_close_v2(h);
    return st;
}

void mh_db_close(mh_db *db)
{
    if (!db) return;
    sqlite3_stmt *s;
    while ((s = sqlite3_next_stmt(db->h, NULL)) != NULL) sqlite3_finalize(s);
    sqlite3_close_v2(db->h);
    mh_free(db);
}

mh_status mh_db_exec(mh_db *db, const char *sql, mh_error *err)
{
    if (!db || !sql) return mh_error_set(err, MH_EINVAL, "no database or statement", NULL);
    int rc = sqlite3_exec(db->h, sql, NULL, NULL, NULL);
    if (rc != SQLITE_OK) return fail(db->h, rc, err, "SQL statement failed");
    return MH_OK;
}

mh_status mh_db_prepare(mh_db *db, const char *sql, mh_db_stmt **out, mh_error *err)
{
    if (!db || !sql || !out)
        return mh_error_set(err, MH_EINVAL, "no database or statement", NULL);
    sqlite3_stmt *s = NULL;
    const char *tail = NULL;
    int rc = sqlite3_prepare_v2(db->h, sql, -1, &s, &tail);
    if (rc != SQLITE_OK) return fail(db->h, rc, err, "cannot prepare statement");
    if (!s) return mh_error_set(err, MH_EINVAL, "empty SQL statement", NULL);
    while (tail && (*tail == ' ' || *tail == '\n' || *tail == '\t' || *tail == ';')) tail++;
    if (tail && *tail) {
        sqlite3_finalize(s);
        return mh_error_set(err, MH_EINVAL, "more than one SQL statement", "%.60s", tail);
    }
    *out = (mh_db_stmt *)s;
    return MH_OK;
}

void mh_db_finalize(mh_db_stmt *s)
{
    if (s) sqlite3_finalize((sqlite3_stmt *)s);
}

static mh_status bound(mh_db_stmt *s, int rc, mh_error *err)
{
    return rc == SQLITE_OK ? MH_OK : fail(stmt_db(s), rc, err, "cannot bind parameter");
}

mh_status mh_db_bind_int(mh_db_stmt *s, int idx, int64_t v, mh_error *err)
{
    return bound(s, sqlite3_bind_int64((sqlite3_stmt *)s, idx, (sqlite3_int64)v), err);
}

mh_status mh_db_bind_text(mh_db_stmt *s, int idx, const char *p, size_t n, mh_error *err)
{
    if (n > (size_t)INT32_MAX) return mh_error_set(err, MH_ELIMIT, "text too long", NULL);
    if (!p) return mh_db_bind_null(s, idx, err);
    return bound(s, sqlite3_bind_text((sqlite3_stmt *)s, idx, p, (int)n, SQLITE_TRANSIENT), err);
}

mh_status mh_db_bind_blob(mh_db_stmt *s, int idx, const void *p, size_t n, mh_error *err)
{
    if (n > (size_t)INT32_MAX) return mh_error_set(err, MH_ELIMIT, "blob too long", NULL);
    if (!p) return mh_db_bind_null(s, idx, err);
    return bound(s, sqlite3_bind_blob((sqlite3_stmt *)s, idx, p, (int)n, SQLITE_TRANSIENT), err);
}

mh_status mh_db_bind_null(mh_db_stmt *s, int idx, mh_error *err)
{
    return bound(s, sqlite3_bind_null((sqlite3_stmt *)s, idx), err);
}

mh_status mh_db_step(mh_db_stmt *s, bool *row, mh_error *err)
{
    int rc = sqlite3_step((sqlite3_stmt *)s);
    if (rc == SQLITE_ROW) {
        *row = true;
        return MH_OK;
    }
    if (rc == SQLITE_DONE) {
        *row = false;
        return MH_OK;
    }
    mh_status st = fail(stmt_db(s), rc, err, "SQL step failed");
    sqlite3_reset((sqlite3_stmt *)s);
    return st;
}

void mh_db_reset(mh_db_stmt *s)
{
    if (!s) return;
    sqlite3_reset((sqlite3_stmt *)s);
    sqlite3_clear_bindings((sqlite3_stmt *)s);
}

int mh_db_column_count(mh_db_stmt *s)
{
    return sqlite3_column_count((sqlite3_stmt *)s);
}

bool mh_db_column_is_null(mh_db_stmt *s, int col)
{
    return sqlite3_column_type((sqlite3_stmt *)s, col) == SQLITE_NULL;
}

int64_t mh_db_column_int(mh_db_stmt *s, int col)
{
    return (int64_t)sqlite3_column_int64((sqlite3_stmt *)s, col);
}

mh_status mh_db_column_text(mh_db_stmt *s, int col, struct mh_slice *out, mh_error *err)
{
    sqlite3_stmt *q = (sqlite3_stmt *)s;
    if (sqlite3_column_type(q, col) == SQLITE_NULL) {
        *out = MH_SLICE_NULL;
        return MH_OK;
    }
    const unsigned char *t = sqlite3_column_text(q, col);
    if (!t) return fail(stmt_db(s), SQLITE_NOMEM, err, "cannot read column");
    *out = mh_slice_make((const char *)t, (size_t)sqlite3_column_bytes(q, col));
    return MH_OK;
}

mh_status mh_db_begin(mh_db *db, mh_error *err)
{
    return mh_db_exec(db, "BEGIN IMMEDIATE", err);
}

mh_status mh_db_commit(mh_db *db, mh_error *err)
{
    mh_status st = mh_db_exec(db, "COMMIT", err);
    if (st) mh_db_rollback(db);
    return st;
}

void mh_db_rollback(mh_db *db)
{
    if (db && !sqlite3_get_autocommit(db->h)) (void)sqlite3_exec(db->h, "ROLLBACK", NULL, NULL, NULL);
}

bool mh_db_in_transaction(mh_db *db)
{
    return db && !sqlite3_get_autocommit(db->h);
}

int64_t mh_db_changes(mh_db *db)
{
    return (int64_t)sqlite3_changes64(db->h);
}

int64_t mh_db_last_rowid(mh_db *db)
{
    return (int64_t)sqlite3_last_insert_rowid(db->h);
}

const char *mh_db_sqlite_version(void)
{
    return sqlite3_libversion();
}
