/*
 * base/db.h -- the one SQLite adapter (only src/base/db.c includes sqlite3.h)
 *
 * Used by stateful parts of mailhound that must survive a crash: today the
 * notification ledger (notify/ledger.c). The adapter translates SQLite's
 * result codes into mh_status (SQLITE_NOMEM -> MH_ENOMEM, everything else ->
 * MH_EDB with SQLite's own message in mh_error.detail and the OS errno in
 * mh_error.sys_errno), so no caller ever sees an `int rc`.
 *
 * Durability: every writable database is opened in WAL mode with
 * synchronous=FULL, so a transaction that mh_db_commit() reported as
 * committed survives a process kill or power loss, and one that was not
 * committed leaves no trace. foreign_keys=ON; a busy timeout of
 * MH_DB_BUSY_TIMEOUT_MS lets two processes share one file.
 *
 * Memory: SQLite is configured (once per process, before its first use) to
 * allocate through the mh_malloc seam, so mh_alloc_fail_after() reaches
 * inside SQLite and tests can check every out-of-memory path.
 *
 * Statements: mh_db_stmt is a prepared statement; bind with 1-based indexes,
 * step until *row is false, read columns with 0-based indexes. Text returned
 * by mh_db_column_text() is valid until the next step/reset/finalize.
 *
 * Threading: a mh_db and its statements belong to one thread at a time.
 *
 * Example:
 *   mh_db *db; mh_db_stmt *q; bool row;
 *   MH_CHECK(mh_db_open("ledger.db", MH_DB_CREATE, &db, err));
 *   MH_CHECK(mh_db_prepare(db, "SELECT n FROM t WHERE k = ?1", &q, err));
 *   MH_CHECK(mh_db_bind_text(q, 1, "key", 3, err));
 *   while (!(st = mh_db_step(q, &row, err)) && row) use(mh_db_column_int(q, 0));
 */
#ifndef MH_BASE_DB_H
#define MH_BASE_DB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/slice.h"
#include "mailhound/status.h"

typedef struct mh_db mh_db;
typedef struct mh_db_stmt mh_db_stmt;

#define MH_DB_READONLY 0x1u /* open an existing database read-only */
#define MH_DB_CREATE 0x2u   /* create the file when missing (ignored with READONLY) */

/*
 * Open (or create) the database at path (":memory:" for a private in-memory
 * one). flags: MH_DB_*. On success *out owns the connection (mh_db_close).
 * MH_EDB (cannot open, not a database, pragmas failed), MH_ENOMEM, MH_EINVAL.
 */
MH_MUST_CHECK mh_status mh_db_open(const char *path, unsigned flags, mh_db **out, mh_error *err);

/* Close the connection; finalizes statements the caller forgot. NULL is a no-op. */
void mh_db_close(mh_db *db);

/* Run one or more SQL statements that return no rows the caller needs. */
MH_MUST_CHECK mh_status mh_db_exec(mh_db *db, const char *sql, mh_error *err);

/* Prepare one statement (sql must hold exactly one). *out: mh_db_finalize. */
MH_MUST_CHECK mh_status mh_db_prepare(mh_db *db, const char *sql, mh_db_stmt **out,
                                      mh_error *err);
/* Release a statement. NULL is a no-op. */
void mh_db_finalize(mh_db_stmt *s);

/* Bind parameters (1-based). Text and blobs are copied by SQLite. */
MH_MUST_CHECK mh_status mh_db_bind_int(mh_db_stmt *s, int idx, int64_t v, mh_error *err);
MH_MUST_CHECK mh_status mh_db_bind_text(mh_db_stmt *s, int idx, const char *p, size_t n,
                                        mh_error *err);
MH_MUST_CHECK mh_status mh_db_bind_blob(mh_db_stmt *s, int idx, const void *p, size_t n,
                                        mh_error *err);
MH_MUST_CHECK mh_status mh_db_bind_null(mh_db_stmt *s, int idx, mh_error *err);

/*
 * Advance. *row = true when a result row is ready, false when the statement
 * has finished (then reset it before stepping again). MH_EDB on a constraint
 * violation or any other failure (the statement is then reset).
 */
MH_MUST_CHECK mh_status mh_db_step(mh_db_stmt *s, bool *row, mh_error *err);

/* Reset a statement for re-execution and clear its bindings. */
void mh_db_reset(mh_db_stmt *s);

/* Column accessors (0-based) for the current row. */
int mh_db_column_count(mh_db_stmt *s);
bool mh_db_column_is_null(mh_db_stmt *s, int col);
int64_t mh_db_column_int(mh_db_stmt *s, int col);
/* Text of a column as a slice valid until the next step/reset (NULL column:
 * {NULL,0}). MH_ENOMEM when SQLite could not convert the value. */
MH_MUST_CHECK mh_status mh_db_column_text(mh_db_stmt *s, int col, struct mh_slice *out,
                                          mh_error *err);

/* BEGIN IMMEDIATE / COMMIT / ROLLBACK. rollback is best effort (never fails
 * visibly: SQLite rolls back on its own when it must). */
MH_MUST_CHECK mh_status mh_db_begin(mh_db *db, mh_error *err);
MH_MUST_CHECK mh_status mh_db_commit(mh_db *db, mh_error *err);
void mh_db_rollback(mh_db *db);
bool mh_db_in_transaction(mh_db *db);

/* Rows changed by the last INSERT/UPDATE/DELETE; rowid of the last INSERT. */
int64_t mh_db_changes(mh_db *db);
int64_t mh_db_last_rowid(mh_db *db);

/* Version of the linked SQLite ("3.40.1"). */
const char *mh_db_sqlite_version(void);

#endif
