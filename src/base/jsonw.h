/*
 * base/jsonw.h -- streaming JSON writer into an mh_buf
 *
 * Used by every JSON output (cat, hunt alerts, incidents, truth, scope,
 * STIX). Commas and nesting are tracked; errors are sticky (check once with
 * mh_jw_status at the end). Strings are escaped per RFC 8259; invalid UTF-8
 * is replaced by U+FFFD so output is always valid UTF-8 JSON. Output is
 * compact (no spaces) and byte-deterministic.
 */
#ifndef MH_BASE_JSONW_H
#define MH_BASE_JSONW_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "mailhound/limits.h"

struct mh_jw {
    struct mh_buf *out;
    int depth;
    bool first[MH_JSON_MAX_DEPTH + 1]; /* no element written yet at this level */
    bool after_key;
    mh_status st;
};

void mh_jw_init(struct mh_jw *w, struct mh_buf *out);
void mh_jw_obj_begin(struct mh_jw *w);
void mh_jw_obj_end(struct mh_jw *w);
void mh_jw_arr_begin(struct mh_jw *w);
void mh_jw_arr_end(struct mh_jw *w);
void mh_jw_keyn(struct mh_jw *w, const char *k, size_t n);
/* Inline so that the length of a literal key is folded at compile time
 * (keys are written for every alert and event). */
static inline void mh_jw_key(struct mh_jw *w, const char *k)
{
    mh_jw_keyn(w, k, strlen(k));
}
void mh_jw_str(struct mh_jw *w, const char *s);
void mh_jw_strn(struct mh_jw *w, const char *s, size_t n);
void mh_jw_int(struct mh_jw *w, int64_t v);
void mh_jw_uint(struct mh_jw *w, uint64_t v);
void mh_jw_double(struct mh_jw *w, double v); /* %.17g, non-finite -> null */
void mh_jw_bool(struct mh_jw *w, bool v);
void mh_jw_null(struct mh_jw *w);
/* Insert already-valid JSON text as one value. */
void mh_jw_raw(struct mh_jw *w, const char *json, size_t n);
/* A time as an ISO-8601 UTC string, or null when MH_TIME_NONE. */
void mh_jw_time(struct mh_jw *w, int64_t t);
/* Escape s into out as a JSON string body (no quotes). */
MH_MUST_CHECK mh_status mh_json_escape(struct mh_buf *out, const char *s, size_t n);
static inline mh_status mh_jw_status(const struct mh_jw *w)
{
    return w->st;
}

#endif
