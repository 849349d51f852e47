/*
 * ingest/mime.h -- the GMime adapter: headers, addresses, dates, and the MIME walk
 *
 * Pipeline: mail store (ingest/mailstore.h) -> [ingest: mime] -> secrets
 * scan, scope, notify. mime.c is the only file that includes GMime (and
 * GLib); it owns every GMime object, reference and error, and hands out
 * plain C data: UTF-8 strings in caller arenas/buffers, mh_time, mh_status.
 *
 * Two uses:
 *  1. Header-only indexing (the fast path, no MIME tree is built):
 *     mh_mime_parse_addresses (one address-list header value -> mailboxes,
 *     groups flattened; a tolerant reader, see below), mh_mime_parse_date
 *     (RFC 5322 date -> mh_time), mh_mime_decode_header (RFC 2047 -> UTF-8).
 *  2. The full MIME walk (mh_mime_walk) when content is needed: the message
 *     is parsed once by GMime and visited with GMimePartIter, which descends
 *     into message/rfc822 parts (g_mime_message_foreach does not). Each
 *     visited piece becomes one fragment (the unit the secret scanner sees):
 *       headers   all header fields, unfolded and RFC 2047-decoded, one
 *                 "Name: value" per line; part "headers" for the message,
 *                 "<path>.headers" for an embedded message at <path>
 *       text      a text/ (any subtype) leaf, transfer-decoded then converted to UTF-8
 *       attachment a non-text leaf whose decoded bytes look like text (no NUL
 *                 in the first 8000 bytes, as git and gitleaks decide), as UTF-8
 *       binary    any other leaf: no data, but its filename and type (path
 *                 rules such as gitleaks' pkcs12-file still apply)
 *       opaque    encrypted content (multipart/encrypted, application/
 *                 pkcs7-mime): cannot be read without keys; listed, not scanned
 *       skipped   a leaf over MH_MAX_FRAGMENT_BYTES decoded, deeper than
 *                 MH_MAX_MIME_DEPTH or past MH_MAX_MIME_PARTS: listed, counted
 *     Part paths are GMime's ("1", "1.2", "2.1"); a single-part message's
 *     body is "1". Nothing is dropped silently: every leaf is one fragment.
 *
 * Text conversion policy (GMime's g_mime_text_part_get_text converts only a
 * declared, iconv-known charset and returns other bytes unchanged): the
 * transfer-decoded bytes are converted from the declared charset with
 * iconv (GMime's charset aliases); invalid sequences become U+FFFD and the
 * fragment records fallback "replacement". Without a usable charset (none,
 * us-ascii, utf-8, or unknown to iconv) valid UTF-8 is kept (fallback
 * "utf-8" when another charset was declared) and anything else is read as
 * windows-1252 (fallback "windows-1252"). Fragment text is always valid
 * UTF-8. mbox ">From " quoting is undone for content by the caller (the
 * mail store), never here.
 *
 * Malformed: GMime's parser warnings are counted per message; a message is
 * malformed when GMime cannot build it or reports a critical issue
 * (GMIME_CRIT_*), a truncated message, or a malformed message/multipart.
 * The walk still visits whatever GMime recovered.
 *
 * Threading: mh_mime_init once (thread-safe, idempotent). A walker is used
 * by one thread at a time; the address/date/header functions are
 * thread-safe. Memory: GMime's allocations go through GLib (not the mh_*
 * seam); everything handed out is copied into caller-owned arenas/buffers.
 */
#ifndef MH_INGEST_MIME_H
#define MH_INGEST_MIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/utf8.h"
#include "base/time.h"
#include "mailhound/status.h"

/* Initialise GMime (once per process; later calls are no-ops). */
MH_MUST_CHECK mh_status mh_mime_init(mh_error *err);

/* ---- header-only helpers ---- */

struct mh_mime_addr {
    const char *name; /* display name, UTF-8, "" when none */
    const char *addr; /* addr-spec; IDN domains as A-labels, domain lower-cased */
};

/*
 * Parse one address-list header value (raw bytes as found, folded or not,
 * RFC 2047 words allowed) with a tolerant RFC 5322 reader (GMime's own
 * parser drops real addresses such as "k..allen@enron.com"): groups are
 * flattened, source routes dropped, a comment names an address without a
 * phrase, addresses without a domain are kept, names are RFC 2047-decoded
 * and IDN domains converted to A-labels (both by GMime), control characters
 * removed. Results are appended to *list (grown in arena a, at most `max`
 * in total). Statuses: MH_OK; MH_ENOMEM; MH_ELIMIT (more than max: the rest
 * dropped).
 */
MH_MUST_CHECK mh_status mh_mime_parse_addresses(const char *value, size_t n, struct mh_arena *a,
                                                struct mh_mime_addr **list, size_t *count,
                                                size_t max);

/* RFC 5322 (and common broken) date to mh_time; MH_EPARSE when unreadable. */
MH_MUST_CHECK mh_status mh_mime_parse_date(const char *value, size_t n, mh_time *out);

/* RFC 2047-decode an unstructured header value to UTF-8 into out (cleared first). */
MH_MUST_CHECK mh_status mh_mime_decode_header(const char *value, size_t n, struct mh_buf *out);

/* ---- UTF-8 ---- */

/* mh_utf8_valid / mh_utf8_repair: base/utf8.h */
/* Append windows-1252 bytes s[0..n) to out as UTF-8 (WHATWG mapping). */
MH_MUST_CHECK mh_status mh_cp1252_to_utf8(const char *s, size_t n, struct mh_buf *out);

/* ---- the MIME walk ---- */

enum mh_frag_kind {
    MH_FRAG_HEADERS = 1,
    MH_FRAG_TEXT,
    MH_FRAG_ATTACHMENT,
    MH_FRAG_BINARY,
    MH_FRAG_OPAQUE,
    MH_FRAG_SKIPPED,
};

const char *mh_frag_kind_name(enum mh_frag_kind k); /* "headers", "text", ... */

struct mh_mime_fragment {
    enum mh_frag_kind kind;
    const char *part;         /* "headers", "1", "1.2", "2.headers" */
    const char *content_type; /* lower-case "type/subtype" ("" for headers) */
    const char *filename;     /* attachment file name, NULL when none */
    const char *charset;      /* declared charset, NULL when none */
    const char *fallback;     /* NULL, "utf-8", "windows-1252" or "replacement" */
    const char *reason;       /* why skipped/opaque, NULL otherwise */
    const char *data;         /* UTF-8 text (headers/text/attachment), else NULL */
    size_t len;
    uint64_t decoded_bytes; /* size after transfer decoding (0 when not decoded) */
    unsigned depth;         /* 0 = the message itself, 1 = inside one embedded message... */
};

/* Per-message counters, filled by mh_mime_walk. */
struct mh_mime_stats {
    uint32_t leaves; /* leaf parts visited */
    uint32_t by_kind[MH_FRAG_SKIPPED + 1];
    uint32_t embedded; /* message/rfc822 parts entered */
    uint32_t warnings; /* GMime parser warnings */
    uint32_t critical; /* of which GMIME_CRIT_* */
    bool malformed;
    char reason[96]; /* first reason for `malformed` */
};

/* Called per fragment in document order; a non-MH_OK return stops the walk
 * and is returned by mh_mime_walk. Fragment strings live until the callback
 * returns. */
typedef mh_status (*mh_mime_fragment_fn)(void *ctx, const struct mh_mime_fragment *f);

struct mh_mime_walker;

MH_MUST_CHECK mh_status mh_mime_walker_new(struct mh_mime_walker **out, mh_error *err);
void mh_mime_walker_free(struct mh_mime_walker *w);

/*
 * Parse raw[0..n) (one RFC 5322 message, LF or CRLF) and call fn for each
 * fragment. stats (required) is reset and filled. Statuses: MH_OK (also
 * for malformed messages: see stats->malformed); MH_EPARSE when GMime
 * cannot build a message at all (no fragment was delivered); MH_ELIMIT when
 * n > MH_MAX_MESSAGE_BYTES; MH_ENOMEM; or fn's status.
 */
MH_MUST_CHECK mh_status mh_mime_walk(struct mh_mime_walker *w, const char *raw, size_t n,
                                     mh_mime_fragment_fn fn, void *ctx, struct mh_mime_stats *stats,
                                     mh_error *err);

#endif
