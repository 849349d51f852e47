/*
 * notify/redact.h -- remove Bcc header fields from a message by byte splicing
 *
 * Pipeline: scope -> [notify: redact] -> packages. The victim's Sent Items
 * hold the sender's copy, which still carries Bcc:. Every copy handed to an
 * organisation -- the Bcc'd one included -- gets those fields removed
 * (../shared/docs/mail-and-secrets.md §7), and nothing else changes: no
 * re-serialisation, the remaining bytes are the original bytes in order.
 *
 * What is removed: every header field whose name contains "bcc" (ASCII,
 * case-insensitive: Bcc, BCC, Resent-Bcc, X-bcc, X-Original-Bcc, ...),
 * from the start of its name to the end of its last folded continuation line
 * (the line break included), in
 *   - the message's header block,
 *   - the header block of every MIME part (multipart/ at any depth),
 *   - embedded messages (message/rfc822, message/global, and the default
 *     message/rfc822 parts of multipart/digest), recursively,
 *   - text/rfc822-headers parts (delivery reports quote original headers).
 * Line ends may be LF or CRLF (mixed is fine). A header block ends at the
 * first empty line; lines that are neither a field nor a continuation (an
 * mbox "From " line, junk) are skipped, not taken as the end, so a Bcc
 * after junk is still removed.
 *
 * Opaque parts: an embedded message whose Content-Transfer-Encoding is
 * base64 or quoted-printable cannot be spliced without re-encoding; it is
 * counted in `opaque` (the caller decides: ship with a warning or hold
 * back), as is anything beyond MH_MAX_MIME_DEPTH.
 *
 * Example:  "From: a@x\r\nBcc: b@y,\r\n c@z\r\nTo: d@w\r\n\r\nhi"
 *        -> "From: a@x\r\nTo: d@w\r\n\r\nhi"      fields = [{off 11, len 21, "Bcc"}]
 *
 * Ownership: a struct mh_redact is caller-owned (init/fini) and reusable;
 * field names are copies it owns. Offsets refer to the ORIGINAL buffer.
 * Limits: MH_REDACT_MAX_FIELDS fields per message (MH_ELIMIT beyond: the
 * message must not be shipped). Threading: one struct per thread.
 */
#ifndef MH_NOTIFY_REDACT_H
#define MH_NOTIFY_REDACT_H

#include <stdbool.h>
#include <stddef.h>

#include "base/arena.h"
#include "base/buf.h"
#include "mailhound/status.h"

struct mh_redact_field {
    size_t off, len;  /* removed byte range [off, off+len) of the original */
    const char *name; /* field name as found (NUL-terminated copy) */
    unsigned depth;   /* 0 = the message's own header, >0 = inside parts */
};

struct mh_redact {
    struct mh_redact_field *fields;
    size_t n, cap;
    size_t removed_bytes; /* sum of the field lengths */
    size_t opaque;        /* embedded messages that could not be inspected */
    struct mh_arena names;
};

void mh_redact_init(struct mh_redact *r);
void mh_redact_fini(struct mh_redact *r);

/* True when a header field name (n bytes) is one that is removed. */
bool mh_redact_is_bcc_name(const char *name, size_t n);

/*
 * Find every Bcc-like field of msg[0..len) (r is cleared first). MH_ENOMEM,
 * MH_ELIMIT (more than MH_REDACT_MAX_FIELDS). Never modifies msg.
 */
MH_MUST_CHECK mh_status mh_redact_scan(struct mh_redact *r, const char *msg, size_t len,
                                       mh_error *err);

/* Splice the scanned fields out of msg in place; returns the new length. */
size_t mh_redact_apply(const struct mh_redact *r, char *msg, size_t len);

/* Append the redacted bytes of msg (scanned into r) to out. */
MH_MUST_CHECK mh_status mh_redact_copy(const struct mh_redact *r, const char *msg, size_t len,
                                       struct mh_buf *out);

/* Comma-separated distinct removed names in first-seen order ("Bcc,X-bcc")
 * appended to out (nothing when none). */
MH_MUST_CHECK mh_status mh_redact_names(const struct mh_redact *r, struct mh_buf *out);

#endif
