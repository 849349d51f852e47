/*
 * tests/unit/test_db.c -- base/db.c: the SQLite adapter
 *
 * Statements, binds, columns, transactions, error translation (syntax,
 * constraint, unopenable file, not-a-database), durability pragmas, and the
 * allocation seam: every allocation of a full open/exec/query/close cycle is
 * made to fail in turn and must give a clean MH_ENOMEM (ASan checks leaks).
 */
#include <stdlib.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/db.h"
#include "mh_test.h"

static char tmpdir[256];

static void make_tmpdir(void)
{
    /* tmpfs when there is one: the allocation-failure loop syncs hundreds of times */
    snprintf(tmpdir, sizeof tmpdir, "%s/mh-test-db-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        exit(1);
    }
}

static void cleanup(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    if (system(cmd) != 0) fprintf(stderr, "cleanup failed\n");
}

static void t_basic(void)
{
    mh_db *db = NULL;
    mh_db_stmt *ins = NULL, *sel = NULL;
    mh_error err;
    bool row;
    char path[300];
    snprintf(path, sizeof path, "%s/a.db", tmpdir);
    CHECK_INT(mh_db_open(path, MH_DB_CREATE, &db, &err), MH_OK);
    if (!db) return;
    CHECK_INT(mh_db_exec(db, "CREATE TABLE t(k TEXT PRIMARY KEY, n INTEGER, b BLOB)", &err), MH_OK);
    CHECK_INT(mh_db_prepare(db, "INSERT INTO t(k, n, b) VALUES(?1, ?2, ?3)", &ins, &err), MH_OK);
    static const char *keys[] = {"alpha", "beta", "gamma\xc3\xa9"};
    for (int i = 0; i < 3; i++) {
        CHECK_INT(mh_db_bind_text(ins, 1, keys[i], strlen(keys[i]), &err), MH_OK);
        CHECK_INT(mh_db_bind_int(ins, 2, (int64_t)i * 1000000000000LL, &err), MH_OK);
        if (i == 1) CHECK_INT(mh_db_bind_null(ins, 3, &err), MH_OK);
        else CHECK_INT(mh_db_bind_blob(ins, 3, "x\0y", 3, &err), MH_OK);
        CHECK_INT(mh_db_step(ins, &row, &err), MH_OK);
        CHECK(!row);
        CHECK_INT(mh_db_changes(db), 1);
        mh_db_reset(ins);
    }
    /* duplicate key: constraint -> MH_EDB with SQLite's message */
    CHECK_INT(mh_db_bind_text(ins, 1, "alpha", 5, &err), MH_OK);
    CHECK_INT(mh_db_step(ins, &row, &err), MH_EDB);
    CHECK(strstr(err.detail, "UNIQUE") != NULL);
    mh_db_reset(ins);

    CHECK_INT(mh_db_prepare(db, "SELECT k, n, b FROM t WHERE n >= ?1 ORDER BY k", &sel, &err), MH_OK);
    CHECK_INT(mh_db_bind_int(sel, 1, 1, &err), MH_OK);
    CHECK_INT(mh_db_column_count(sel), 3);
    int rows = 0;
    while (mh_db_step(sel, &row, &err) == MH_OK && row) {
        struct mh_slice k, b;
        CHECK_INT(mh_db_column_text(sel, 0, &k, &err), MH_OK);
        CHECK_INT(mh_db_column_text(sel, 2, &b, &err), MH_OK);
        if (rows == 0) {
            CHECK_SLICE(k, "beta");
            CHECK(mh_db_column_is_null(sel, 2));
            CHECK(b.ptr == NULL && b.len == 0);
            CHECK_INT(mh_db_column_int(sel, 1), 1000000000000LL);
        } else {
            CHECK_SLICE(k, "gamma\xc3\xa9");
            CHECK_INT(b.len, 3);
            CHECK_INT(mh_db_column_int(sel, 1), 2000000000000LL);
        }
        rows++;
    }
    CHECK_INT(rows, 2);
    mh_db_finalize(sel);
    mh_db_finalize(ins);
    mh_db_close(db);

    /* WAL + synchronous=FULL are in force on a reopened writer */
    CHECK_INT(mh_db_open(path, 0, &db, &err), MH_OK);
    if (!db) return;
    CHECK_INT(mh_db_prepare(db, "PRAGMA journal_mode", &sel, &err), MH_OK);
    CHECK_INT(mh_db_step(sel, &row, &err), MH_OK);
    struct mh_slice mode;
    CHECK_INT(mh_db_column_text(sel, 0, &mode, &err), MH_OK);
    CHECK_SLICE(mode, "wal");
    mh_db_finalize(sel);
    CHECK_INT(mh_db_prepare(db, "PRAGMA synchronous", &sel, &err), MH_OK);
    CHECK_INT(mh_db_step(sel, &row, &err), MH_OK);
    CHECK_INT(mh_db_column_int(sel, 0), 2); /* FULL */
    mh_db_finalize(sel);
    CHECK_INT(mh_db_prepare(db, "PRAGMA foreign_keys", &sel, &err), MH_OK);
    CHECK_INT(mh_db_step(sel, &row, &err), MH_OK);
    CHECK_INT(mh_db_column_int(sel, 0), 1);
    mh_db_finalize(sel);
    mh_db_close(db);
}

static int64_t count_rows(mh_db *db)
{
    mh_db_stmt *q = NULL;
    bool row = false;
    int64_t n = -1;
    if (mh_db_prepare(db, "SELECT count(*) FROM t", &q, NULL) == MH_OK &&
        mh_db_step(q, &row, NULL) == MH_OK && row)
        n = mh_db_column_int(q, 0);
    mh_db_finalize(q);
    return n;
}

static void t_transactions(void)
{
    mh_db *db = NULL;
    mh_error err;
    CHECK_INT(mh_db_open(":memory:", MH_DB_CREATE, &db, &err), MH_OK);
    if (!db) return;
    CHECK_INT(mh_db_exec(db, "CREATE TABLE t(x INTEGER)", &err), MH_OK);
    CHECK(!mh_db_in_transaction(db));
    CHECK_INT(mh_db_begin(db, &err), MH_OK);
    CHECK(mh_db_in_transaction(db));
    CHECK_INT(mh_db_exec(db, "INSERT INTO t VALUES(1); INSERT INTO t VALUES(2)", &err), MH_OK);
    mh_db_rollback(db);
    CHECK(!mh_db_in_transaction(db));
    CHECK_INT(count_rows(db), 0);
    CHECK_INT(mh_db_begin(db, &err), MH_OK);
    CHECK_INT(mh_db_exec(db, "INSERT INTO t VALUES(3)", &err), MH_OK);
    CHECK_INT(mh_db_commit(db, &err), MH_OK);
    CHECK_INT(count_rows(db), 1);
    CHECK_INT(mh_db_last_rowid(db), 1);
    /* commit without a transaction fails and says so */
    CHECK_INT(mh_db_commit(db, &err), MH_EDB);
    CHECK(strstr(err.detail, "no transaction") != NULL);
    mh_db_rollback(db); /* harmless outside a transaction */
    mh_db_close(db);
}

static void t_errors(void)
{
    mh_db *db = NULL;
    mh_db_stmt *s = NULL;
    mh_error err;
    char path[300], msg[512];
    /* syntax error: MH_EDB, SQLite's message kept */
    CHECK_INT(mh_db_open(":memory:", MH_DB_CREATE, &db, &err), MH_OK);
    if (!db) return;
    mh_error_clear(&err);
    CHECK_INT(mh_db_exec(db, "SELEC 1", &err), MH_EDB);
    CHECK(strstr(err.detail, "syntax error") != NULL);
    mh_error_format(&err, msg, sizeof msg);
    CHECK(strstr(msg, "SQL statement failed") != NULL);
    CHECK_INT(mh_db_prepare(db, "SELECT * FROM missing", &s, &err), MH_EDB);
    CHECK(strstr(err.detail, "no such table") != NULL);
    CHECK(s == NULL);
    CHECK_INT(mh_db_prepare(db, "SELECT 1; SELECT 2", &s, &err), MH_EINVAL);
    CHECK_INT(mh_db_prepare(db, "   ", &s, &err), MH_EINVAL);
    CHECK_INT(mh_db_prepare(db, "SELECT ?1", &s, &err), MH_OK);
    CHECK_INT(mh_db_bind_int(s, 5, 1, &err), MH_EDB); /* index out of range */
    CHECK(strstr(err.detail, "range") != NULL);
    /* the statement is left for mh_db_close to finalize */
    mh_db_close(db);

    /* unopenable path: MH_EDB with the origin and errno */
    mh_error_clear(&err);
    snprintf(path, sizeof path, "%s/no/such/dir/x.db", tmpdir);
    db = NULL;
    CHECK_INT(mh_db_open(path, MH_DB_CREATE, &db, &err), MH_EDB);
    CHECK(db == NULL);
    CHECK(strstr(err.origin, "no/such/dir") != NULL);
    CHECK(strstr(err.detail, "unable to open") != NULL);
    /* read-only open of a missing file */
    snprintf(path, sizeof path, "%s/missing.db", tmpdir);
    CHECK_INT(mh_db_open(path, MH_DB_READONLY, &db, &err), MH_EDB);
    /* not a database */
    snprintf(path, sizeof path, "%s/junk.db", tmpdir);
    FILE *f = fopen(path, "wb");
    if (f) {
        for (int i = 0; i < 512; i++) fputs("this is not sqlite ", f);
        fclose(f);
    }
    mh_error_clear(&err);
    CHECK_INT(mh_db_open(path, MH_DB_CREATE, &db, &err), MH_EDB);
    CHECK(strstr(err.detail, "not a database") != NULL);
    CHECK_INT(mh_db_open(NULL, 0, &db, &err), MH_EINVAL);
    CHECK(mh_db_sqlite_version()[0] == '3');
}

/* One complete use of the adapter; returns the first failing status. */
static mh_status cycle(const char *path)
{
    mh_status st = MH_OK;
    mh_db *db = NULL;
    mh_db_stmt *q = NULL;
    bool row;
    struct mh_slice v;
    MH_CHECK(mh_db_open(path, MH_DB_CREATE, &db, NULL));
    MH_CHECK(mh_db_exec(db, "CREATE TABLE IF NOT EXISTS t(k TEXT PRIMARY KEY, v TEXT)", NULL));
    MH_CHECK(mh_db_begin(db, NULL));
    MH_CHECK(mh_db_prepare(db, "INSERT OR REPLACE INTO t VALUES(?1, ?2)", &q, NULL));
    for (int i = 0; i < 20; i++) {
        char k[32], val[200];
        snprintf(k, sizeof k, "key-%d", i);
        memset(val, 'a' + i, sizeof val);
        MH_CHECK(mh_db_bind_text(q, 1, k, strlen(k), NULL));
        MH_CHECK(mh_db_bind_text(q, 2, val, sizeof val, NULL));
        MH_CHECK(mh_db_step(q, &row, NULL));
        mh_db_reset(q);
    }
    mh_db_finalize(q);
    q = NULL;
    MH_CHECK(mh_db_commit(db, NULL));
    MH_CHECK(mh_db_prepare(db, "SELECT v FROM t WHERE k = 'key-7'", &q, NULL));
    MH_CHECK(mh_db_step(q, &row, NULL));
    if (!row) {
        st = MH_ESTATE;
        goto out;
    }
    MH_CHECK(mh_db_column_text(q, 0, &v, NULL));
    if (v.len != 200 || v.ptr[0] != 'h') st = MH_ESTATE;
out:
    mh_db_finalize(q);
    mh_db_close(db);
    return st;
}

static void t_alloc_failures(void)
{
    char path[300];
    int ok_runs = 0, enomem = 0, other = 0, streak = 0;
    snprintf(path, sizeof path, "%s/alloc.db", tmpdir);
    CHECK_INT(cycle(path), MH_OK);
    uint64_t before = mh_alloc_count();
    CHECK_INT(cycle(path), MH_OK);
    uint64_t per_run = mh_alloc_count() - before;
    /* Each failure point in turn: the cycle must fail cleanly (no crash, no
     * leak: ASan) with MH_ENOMEM, or MH_EDB where SQLite reports an
     * allocation failure inside its pager as an I/O error, or succeed where
     * SQLite can do without the memory (caches); a run without injection
     * must then succeed on the same file. Past the last allocation every
     * run succeeds: stop after a long streak of successes. */
    int k;
    for (k = 0; k < 5000 && streak < 25; k++) {
        mh_alloc_fail_after(k);
        mh_status st = cycle(path);
        mh_alloc_fail_after(-1);
        if (st == MH_OK) {
            ok_runs++;
            streak++;
        } else {
            streak = 0;
            if (st == MH_ENOMEM) enomem++;
            else if (st == MH_EDB) other++;
            else {
                fprintf(stderr, "fail point %d: unexpected %s\n", k, mh_status_str(st));
                CHECK(0);
            }
        }
        CHECK_INT(cycle(path), MH_OK);
    }
    CHECK(streak >= 25);
    CHECK((uint64_t)k >= per_run); /* every allocation point was tried */
    CHECK(enomem > 20);
    fprintf(stderr, "db alloc failures: %d points (%llu allocations per run), %d ENOMEM, %d EDB, "
                    "%d ok\n", k, (unsigned long long)per_run, enomem, other, ok_runs);
}

int main(void)
{
    make_tmpdir();
    static const struct mh_test T[] = {
        {"basic", t_basic},
        {"transactions", t_transactions},
        {"errors", t_errors},
        {"alloc_failures", t_alloc_failures},
    };
    int rc = MH_TEST_RUN(T);
    cleanup();
    return rc;
}
