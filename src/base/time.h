/*
 * base/time.h -- UTC timestamps in microseconds, civil conversion, parsing
 *
 * mailhound keeps time as int64 microseconds since 1970-01-01T00:00:00Z
 * (mh_time). MH_TIME_NONE marks "time unknown" (rows without a time column);
 * such events are excluded from windowed logic, never given "now".
 *
 * mh_time_parse accepts every form the M365 / Entra exports use
 * (../shared/docs/log-formats.md §11.3):
 *   2023-07-23T12:13:33                 (UAL CreationTime: no zone = UTC)
 *   2022-01-24T05:10:08.6816663+00:00   (Graph; up to 7 fraction digits,
 *   2022-01-24T05:10:08.6816663Z         digits beyond 6 are truncated)
 *   2026-08-31T10:18:39.0000000Z        (Purview, trailing space trimmed)
 *   2023-07-23 12:13:33[.fff][Z]        (space instead of T)
 *   9/20/2023 4:05:03 AM                (US locale, Purview / trace)
 *   4/28/2021, 2:54:37.000 PM           (Log Analytics portal CSV)
 *   9/20/2023 16:05:03                  (24 h US form)
 * Offsets +hh:mm / -hhmm are applied. Anything else is MH_EPARSE.
 * No gmtime/localtime: conversions are pure arithmetic (proleptic Gregorian).
 */
#ifndef MH_BASE_TIME_H
#define MH_BASE_TIME_H

#include <stddef.h>
#include <stdint.h>

#include "mailhound/status.h"

typedef int64_t mh_time;
#define MH_TIME_NONE INT64_MIN
#define MH_USEC_PER_SEC INT64_C(1000000)

struct mh_civil {
    int year, month, day, hour, min, sec, usec;
};

/* Days since 1970-01-01 for a proleptic Gregorian date. */
int64_t mh_days_from_civil(int y, int m, int d);
mh_time mh_time_from_civil(const struct mh_civil *c);
void mh_time_to_civil(mh_time t, struct mh_civil *c);

/* Parse any supported form (leading/trailing whitespace ignored). */
MH_MUST_CHECK mh_status mh_time_parse(const char *s, size_t n, mh_time *out);

/* "2023-07-23T12:13:33.123456Z" (fraction omitted when 0 unless always_frac).
 * out must hold 32 bytes; returns length. MH_TIME_NONE gives "". */
size_t mh_time_format(mh_time t, char *out, int always_frac);
/* Seconds precision, no fraction: "2023-07-23T12:13:33Z" */
size_t mh_time_format_sec(mh_time t, char *out);

#endif
