/*
 * mailhound/status.h -- the one error vocabulary of the library
 *
 * Every fallible function returns mh_status. MH_OK is 0, so `if (st)` tests
 * for failure. Details travel in an optional caller-owned mh_error: a fixed
 * message (static string), a formatted detail, and the position in the input
 * (origin file, line, column, byte offset, record number) where it applies.
 *
 * The library never prints and never aborts; src/cli/ decides what a person
 * sees (see mh_error_format()).
 */
#ifndef MAILHOUND_STATUS_H
#define MAILHOUND_STATUS_H

#include <stddef.h>
#include <stdint.h>

#if defined(__GNUC__) || defined(__clang__)
#define MH_MUST_CHECK __attribute__((warn_unused_result))
#define MH_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define MH_EXPORT __attribute__((visibility("default")))
#else
#define MH_MUST_CHECK
#define MH_PRINTF(f, a)
#define MH_EXPORT
#endif

typedef enum mh_status {
    MH_OK = 0,
    MH_ENOMEM,   /* allocation failed (or was made to fail by a test) */
    MH_EINVAL,   /* bad argument or bad configuration */
    MH_EPARSE,   /* malformed input: the record/rule/message is skipped */
    MH_ELIMIT,   /* a limit from limits.h was exceeded */
    MH_EIO,      /* read/write/open failed; errno captured in mh_error */
    MH_ENOTFOUND,/* lookup found nothing (not always an error) */
    MH_EOF,      /* end of input reached (not an error) */
    MH_EUNSUPPORTED, /* input recognised but not supported */
    MH_ESTATE,   /* persisted state is inconsistent or from another version */
    MH_ECRYPTO,  /* OpenSSL or hashing failure */
    MH_EDB,      /* SQLite failure */
    MH_STATUS_MAX
} mh_status;

/* Position-carrying error detail. All fields optional; 0 / NULL = unknown. */
typedef struct mh_error {
    mh_status code;
    const char *msg;      /* fixed message, static storage */
    char detail[256];     /* formatted detail (may be empty) */
    char origin[256];     /* file or rule path the error applies to */
    uint64_t line;        /* 1-based */
    uint64_t column;      /* 1-based */
    uint64_t offset;      /* byte offset from the start of the (decoded) input */
    uint64_t record;      /* 1-based record number */
    int sys_errno;        /* captured errno, 0 if none */
} mh_error;

/* Name of a status ("MH_EPARSE" -> "parse error"). Never NULL. */
MH_EXPORT const char *mh_status_str(mh_status st);

/* Reset an error to "no error". err may be NULL. */
MH_EXPORT void mh_error_clear(mh_error *err);

/*
 * Record an error. err may be NULL (then only the status is returned).
 * msg must be a string literal or otherwise static. Returns st, so callers
 * can write `return mh_error_set(err, MH_EPARSE, "bad escape", "%s", x);`.
 */
MH_EXPORT mh_status mh_error_set(mh_error *err, mh_status st, const char *msg, const char *fmt, ...)
    MH_PRINTF(4, 5);

/* Set the position fields of err (no-op on NULL). */
MH_EXPORT void mh_error_at(mh_error *err, const char *origin, uint64_t line, uint64_t column,
                           uint64_t offset, uint64_t record);

/*
 * Record an I/O failure: MH_EIO with msg, the current errno in sys_errno and
 * origin = path (NULL: none). Call it right after the failing call, before
 * anything can change errno. err may be NULL. Returns MH_EIO.
 */
MH_EXPORT mh_status mh_error_io(mh_error *err, const char *msg, const char *path);

/*
 * Render "origin:line:col: record R, byte B: msg (detail)" into out (always
 * NUL-terminated). Unknown parts are left out.
 */
MH_EXPORT size_t mh_error_format(const mh_error *err, char *out, size_t outsz);

/* Propagate a failing status (no cleanup needed). */
#define MH_TRY(expr)                                                                               \
    do {                                                                                           \
        mh_status mh_try_st_ = (expr);                                                             \
        if (mh_try_st_ != MH_OK) return mh_try_st_;                                                \
    } while (0)

/* Propagate to the function's single cleanup label; needs `mh_status st` and `out:` */
#define MH_CHECK(expr)                                                                             \
    do {                                                                                           \
        st = (expr);                                                                               \
        if (st != MH_OK) goto out;                                                                 \
    } while (0)

#endif
