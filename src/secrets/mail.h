/*
 * secrets/mail.h -- secrets in a mail store, message by message
 *
 * Pipeline: ingest (mail store index, MIME walk) -> [secrets: mail] ->
 * findings with their place (message, mailbox, folder, part) -> the
 * secrets.jsonl contract (docs/secrets.md). `mailhound secrets` scans a
 * whole store (and plain text files); `mailhound investigate` scans only
 * the copies scope found taken: opts.want, asked per location with the
 * message and the mailbox that holds the copy.
 *
 * Scan unit: each location of the store's index in order that opts.want
 * accepts; a wanted copy whose raw bytes (SHA-256) equal an earlier WANTED
 * copy of the same message is not scanned again. Unwanted copies are never
 * scanned and never stand in for a wanted one, so a finding names the first
 * wanted copy of its content. Example: <m1> sits byte-identical in
 * archive@ (indexed first) and in exec@, and opts.want accepts only exec@'s
 * copy (investigate: scope.json lists <m1> under exec@ only): the scan reads
 * exec@'s copy and the finding names exec@; without a filter (`mailhound
 * secrets`) it reads archive@'s copy once and names archive@.
 * Per location: mh_mime_walk -> each decoded fragment (text) or, for
 * binary/opaque parts with a file name, the fragment path only (path rules)
 * -> mh_secrets_scan. A message GMime cannot build at all is scanned as its
 * raw bytes (UTF-8, else windows-1252 -> UTF-8), part "raw". Malformed
 * messages are reported once through opts.on_malformed (file, message
 * number, byte offset, reason) and still scanned as far as GMime read them.
 *
 * Fragment path (for path rules and path allowlists):
 *   <mailbox>/<folder>/<Message-ID without <> and with '/' as '_'>/<part>[/<filename>]
 * and the file's own path for plain text files.
 *
 * Redaction: the secret is never handed out in full unless opts.show: the
 * first and last 4 characters stay (a quarter of the length each for
 * secrets under 16 characters, so at least half is always hidden) and the
 * middle becomes "****". The fingerprint is the SHA-256 of the full secret.
 *
 * Determinism: findings arrive in index order, fragment order, then by
 * secret offset and rule order. Threading: one scan per scanner (the engine
 * may be shared; the scratch and walker may not).
 */
#ifndef MH_SECRETS_MAIL_H
#define MH_SECRETS_MAIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "ingest/mailstore.h"
#include "ingest/mime.h"
#include "mailhound/status.h"
#include "secrets/scan.h"

/* One finding with its place. Strings live until the callback returns;
 * message fields are NULL for a plain text file. */
struct mh_secrets_place {
    const char *rule;     /* gitleaks rule id */
    bool generic;         /* lower tier */
    const char *message_id, *mailbox, *owner, *folder;
    const char *file;     /* file of the copy scanned */
    const char *part;     /* "1.2", "headers", "raw", "file" */
    const char *filename; /* attachment name or NULL */
    uint32_t line, column;
    const char *secret;   /* redacted unless opts.show */
    size_t secret_len;
    char fingerprint[65]; /* lower-case hex SHA-256 of the secret */
    double entropy;
};

typedef mh_status (*mh_secrets_place_fn)(void *ctx, const struct mh_secrets_place *p);

struct mh_secrets_mail_opts {
    const struct mh_secrets_engine *eng; /* required */
    bool show;                           /* secrets in full */
    /* Scan the copy of message m that mailbox mb holds? Asked for each
     * location in index order, and again for the earlier locations of the
     * same message when deciding whether an identical copy was already
     * scanned: it must give the same answer for the same (m, mb). Both
     * pointers are the store's, valid for the call. NULL: every copy. */
    bool (*want)(void *ctx, const struct mh_mail_msg *m, const struct mh_mailbox *mb);
    mh_secrets_place_fn on_finding;      /* required; a non-MH_OK status stops the scan */
    /* A malformed message (err has file, message number, byte offset,
     * reason). May be NULL. */
    void (*on_malformed)(void *ctx, const mh_error *err);
    void *ctx;
};

struct mh_secrets_mail_stats {
    uint64_t scanned;     /* locations scanned */
    uint64_t malformed;   /* of which reported malformed */
    uint64_t unparsable;  /* of which scanned as raw bytes */
    uint64_t unreadable;  /* locations whose bytes could not be read (skipped) */
    uint64_t parts;       /* fragments */
    uint64_t text_bytes;  /* decoded text scanned */
    uint64_t findings, generic;
    struct mh_secrets_scan_stats scan;
};

typedef struct mh_secrets_scanner mh_secrets_scanner;

/* New scanner (owns a scratch and a MIME walker). MH_ENOMEM, or GMime's
 * failure in err. */
MH_MUST_CHECK mh_status mh_secrets_scanner_new(const struct mh_secrets_mail_opts *o,
                                               mh_secrets_scanner **out, mh_error *err);
void mh_secrets_scanner_free(mh_secrets_scanner *s);

/*
 * Scan every wanted copy of store (see "Scan unit"). Unreadable copies
 * are counted (and reported through on_malformed with MH_EIO), not fatal.
 * MH_ENOMEM, or the callback's status.
 */
MH_MUST_CHECK mh_status mh_secrets_scan_store(mh_secrets_scanner *s, const mh_mailstore *store);

/* Scan one plain text file's content (valid UTF-8; text NULL with n == 0:
 * path rules only), part "file", fragment path = path. MH_ENOMEM, or the
 * callback's status. */
MH_MUST_CHECK mh_status mh_secrets_scan_file_text(mh_secrets_scanner *s, const char *path,
                                                  const char *text, size_t n);

const struct mh_secrets_mail_stats *mh_secrets_scanner_stats(const mh_secrets_scanner *s);

/* Append p as one secrets.jsonl object (keys in the contract's order,
 * docs/secrets.md), followed by '\n'. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_secrets_place_json(const struct mh_secrets_place *p, struct mh_buf *out);

/* Append the redacted form of s[0..n) (see above) to out. MH_ENOMEM. */
MH_MUST_CHECK mh_status mh_secrets_redact(const char *s, size_t n, struct mh_buf *out);

#endif
