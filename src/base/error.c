/*
 * base/error.c -- mh_status names and mh_error formatting (see mailhound/status.h)
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mailhound/status.h"

const char *mh_status_str(mh_status st)
{
    switch (st) {
    case MH_OK: return "ok";
    case MH_ENOMEM: return "out of memory";
    case MH_EINVAL: return "invalid argument";
    case MH_EPARSE: return "parse error";
    case MH_ELIMIT: return "limit exceeded";
    case MH_EIO: return "I/O error";
    case MH_ENOTFOUND: return "not found";
    case MH_EOF: return "end of input";
    case MH_EUNSUPPORTED: return "unsupported";
    case MH_ESTATE: return "inconsistent state";
    case MH_ECRYPTO: return "cryptographic failure";
    case MH_EDB: return "database error";
    default: return "unknown status";
    }
}

void mh_error_clear(mh_error *err)
{
    if (err) memset(err, 0, sizeof *err);
}

mh_status mh_error_set(mh_error *err, mh_status st, const char *msg, const char *fmt, ...)
{
    if (!err) return st;
    err->code = st;
    err->msg = msg;
    err->detail[0] = '\0';
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->detail, sizeof err->detail, fmt, ap);
        va_end(ap);
    }
    return st;
}

void mh_error_at(mh_error *err, const char *origin, uint64_t line, uint64_t column, uint64_t offset,
                 uint64_t record)
{
    if (!err) return;
    if (origin) snprintf(err->origin, sizeof err->origin, "%s", origin);
    if (line) err->line = line;
    if (column) err->column = column;
    err->offset = offset;
    if (record) err->record = record;
}

mh_status mh_error_io(mh_error *err, const char *msg, const char *path)
{
    int e = errno; /* before anything below can change it */
    mh_error_set(err, MH_EIO, msg, NULL);
    mh_error_at(err, path, 0, 0, 0, 0);
    if (err) err->sys_errno = e;
    return MH_EIO;
}

size_t mh_error_format(const mh_error *err, char *out, size_t outsz)
{
    if (!outsz) return 0;
    out[0] = '\0';
    if (!err) return 0;
    size_t n = 0;
#define PUT(...)                                                                                   \
    do {                                                                                           \
        if (n < outsz) {                                                                           \
            int k_ = snprintf(out + n, outsz - n, __VA_ARGS__);                                    \
            if (k_ > 0) n += (size_t)k_;                                                           \
        }                                                                                          \
    } while (0)
    if (err->origin[0]) {
        PUT("%s", err->origin);
        if (err->line) PUT(":%llu", (unsigned long long)err->line);
        if (err->line && err->column) PUT(":%llu", (unsigned long long)err->column);
        PUT(": ");
    }
    if (err->record) PUT("record %llu, ", (unsigned long long)err->record);
    if (err->origin[0] || err->record) PUT("byte %llu: ", (unsigned long long)err->offset);
    PUT("%s", err->msg ? err->msg : mh_status_str(err->code));
    if (err->detail[0]) PUT(" (%s)", err->detail);
    if (err->sys_errno) PUT(": %s", strerror(err->sys_errno));
#undef PUT
    return n < outsz ? n : outsz - 1;
}
