/*
 * sim/emit.h -- fast text emission for the simulator's writers
 *
 * Pipeline: sim. Every record the simulator writes is appended to a
 * struct sim_tx -- a base/buf.h mh_buf (growable, with a hard maximum, kept
 * NUL-terminated) plus a sticky status -- through the inline helpers below.
 * Errors are sticky, as in base/jsonw.h: once an append fails (MH_ENOMEM, or
 * MH_ELIMIT past the maximum), later appends are no-ops and the status is
 * checked once when the buffer is flushed. This keeps the hot
 * path (hundreds of appends per record, >= 100 MB/s overall) free of
 * per-call error plumbing and of printf.
 *
 * Formats provided: literals, C strings, JSON-escaped strings (base/jsonw.h
 * mh_json_escape; the simulator only escapes text it generated, which is
 * valid UTF-8 without \b or \f, so its output is that of RFC 8259's minimal
 * escaping),
 * unsigned and signed decimals, GUIDs (lower-case 8-4-4-4-12 from 16 bytes in
 * text order), hex, IPv4/IPv6 addresses, and every timestamp form the
 * exports use (log-formats.md §11.3):
 *   sim_tx_time_ual   2024-03-04T09:12:33            (UAL CreationTime)
 *   sim_tx_time_7z    2024-03-04T09:12:33.1234560Z   (Azure Monitor `time`, trace)
 *   sim_tx_time_7off  2024-03-04T09:12:33.1234560+00:00 (Graph createdDateTime)
 * The seventh fractional digit is always 0 (times are kept in microseconds);
 * all three are cut from base/time.h mh_time_format.
 *
 * Ownership: the buffer owns its bytes (mh_buf_init/mh_buf_fini).
 * Thread-safety: none needed (the simulator is single-threaded).
 */
#ifndef MH_SIM_EMIT_H
#define MH_SIM_EMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "base/buf.h"
#include "base/time.h"
#include "mailhound/status.h"

struct sim_tx {
    struct mh_buf b; /* the bytes: b.data[0..b.len) */
    mh_status st;    /* first failure, sticky */
};

void sim_tx_init(struct sim_tx *t, size_t max);
void sim_tx_fini(struct sim_tx *t);
/* Make room for n more bytes; false (and sticky status) on failure. */
bool sim_tx_grow(struct sim_tx *t, size_t n);

/* Room for n more bytes and the NUL (mh_buf_reserve's test, inline). */
static inline bool sim_tx_room(struct sim_tx *t, size_t n)
{
    if (!t->st && t->b.cap - t->b.len > n) return true;
    return sim_tx_grow(t, n);
}

/* Count n bytes written at b.data + b.len as content. */
static inline void sim_tx_commit(struct sim_tx *t, size_t n)
{
    t->b.len += n;
    t->b.data[t->b.len] = '\0';
}

static inline void sim_tx_put(struct sim_tx *t, const void *s, size_t n)
{
    if (!sim_tx_room(t, n)) return;
    memcpy(t->b.data + t->b.len, s, n);
    sim_tx_commit(t, n);
}

static inline void sim_tx_c(struct sim_tx *t, char c)
{
    if (!sim_tx_room(t, 1)) return;
    t->b.data[t->b.len] = c;
    sim_tx_commit(t, 1);
}

static inline void sim_tx_s(struct sim_tx *t, const char *s)
{
    sim_tx_put(t, s, strlen(s));
}

#define SIM_LIT(t, s) sim_tx_put((t), (s), sizeof(s) - 1)

void sim_tx_u64(struct sim_tx *t, uint64_t v);
void sim_tx_i64(struct sim_tx *t, int64_t v);
/* Zero-padded to `width` digits. */
void sim_tx_u64w(struct sim_tx *t, uint64_t v, int width);
void sim_tx_hex(struct sim_tx *t, const void *p, size_t n, bool upper);
void sim_tx_guid(struct sim_tx *t, const uint8_t g[16]);
/* JSON string body (no quotes). */
void sim_tx_json(struct sim_tx *t, const char *s, size_t n);
static inline void sim_tx_jsons(struct sim_tx *t, const char *s)
{
    sim_tx_json(t, s, strlen(s));
}
/* "key":"value" helpers for JSON objects; `k` includes the quotes and colon,
 * e.g. sim_tx_kv(t, "\"Operation\":", "Send"). */
void sim_tx_kv(struct sim_tx *t, const char *k, const char *v);

void sim_tx_time_ual(struct sim_tx *t, mh_time tm);
void sim_tx_time_7z(struct sim_tx *t, mh_time tm);
void sim_tx_time_7off(struct sim_tx *t, mh_time tm);

/* base64 (standard alphabet, padded) and base64url without padding. */
void sim_tx_b64(struct sim_tx *t, const void *p, size_t n);
void sim_tx_b64url(struct sim_tx *t, const void *p, size_t n);

/* GUID text into out[37] (NUL-terminated). */
void sim_guid_str(const uint8_t g[16], char out[37]);
/* base64url without padding of p[0..n) into out (>= 4*(n+2)/3+1 bytes). */
size_t sim_b64url_str(const void *p, size_t n, char *out);

/* Append s doubling every '"' (CSV cell body). */
void sim_tx_csvq(struct sim_tx *t, const char *s, size_t n);

#endif
