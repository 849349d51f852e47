/*
 * ingest/mailstore.h -- mail stores on disk, indexed per message (header-only fast path)
 *
 * Pipeline: [ingest: mail store] -> mime walk (content, ingest/mime.h) ->
 * scope, secrets, notify. The index is built from the header block of each
 * message only (no MIME parse); content is read back on demand by location.
 *
 * Layouts (decided by content and directory structure, never by extension):
 *   mbox       a file starting with "From ": messages split at every line
 *              starting "From " (GMime's and MimeKit's rule); a message's
 *              bytes run from after its From_ line to before the line break
 *              that precedes the next From_ line (MimeKit's offsets). ">From "
 *              quoting (mboxo/mboxrd) stays in the raw bytes (hashes are of
 *              the original) and is undone for content (one '>' removed from
 *              every line matching ^>+From ).
 *   Maildir    a directory with cur/ or new/ (tmp/ is in-delivery and is
 *              skipped, counted); Maildir++ subfolders ".Sent", ".Archive.2023"
 *              are folders of the same mailbox ("Sent", "Archive/2023").
 *   MH         numbered files in folder directories; the CMU Enron layout
 *              maildir/<user>/<folder>/<N> (a directory named "maildir" that
 *              is not a Maildir holds one mailbox per sub-directory).
 *   message    any other file whose first line is a header field
 *              ("Name: value"; .eml, MH, Maildir files).
 *   other      anything else (README, JSON, binaries): not mail; reported
 *              through opts->on_other (`mailhound secrets` scans such files
 *              as plain text) and counted.
 *
 * Mailboxes: a path given to mh_mailstore_add is a file (one mailbox named
 * after it, minus a .mbox/.mbx/.eml extension), a Maildir (one mailbox), a
 * directory named like an address (one mailbox whose sub-directories are
 * folders), or a folder of mailboxes: each sub-directory and each mbox file
 * in it is a mailbox; loose message files directly in it form a mailbox
 * named after the folder. The mailbox owner is its name when that is an
 * address (alice@example.com, alice@example.com.mbox), else the --owner
 * mapping file ("<mailbox> <owner address>" per line, '#' comments), else
 * unknown (NULL). Folder: "INBOX" for messages at a mailbox's root, else the
 * path of the folder inside the mailbox ("inbox", "Sent", "Archive/2019").
 *
 * Index per location: file, mailbox, folder, index in file, raw byte range
 * [start, end) (+ the From_ marker offset for mbox), SHA-256 of those bytes.
 * Per distinct message: normalized Message-ID, date, subject, the addresses
 * of From, Sender, Reply-To, To, Cc, Bcc (mh_mime_parse_addresses;
 * domains lower-cased), and its locations.
 *
 * Message-ID normalization: the first <...> of the header with whitespace
 * and comments removed, kept in its case, angle brackets included
 * ("<1.JavaMail.evans@thyme>"); a bare id with an '@' gets brackets. A
 * message without a usable Message-ID gets the synthetic id
 *     <HEX64@sha256.mailhound.invalid>
 * where HEX64 is the lower-case SHA-256 of the message's raw bytes (the
 * reserved .invalid TLD cannot clash with a real id); synthetic = true.
 *
 * Duplicates: locations with the same Message-ID collapse into one message
 * that keeps every location (linked in index order); the message's fields
 * come from the first location, its address list is the union over all
 * copies (a sender's copy contributes its Bcc).
 *
 * Bad input: a message whose header block has an invalid line (GMime would
 * stop reading headers there) or that exceeds MH_MAX_MESSAGE_BYTES is
 * reported once through opts->on_bad (fatal=false) with file, byte offset
 * and reason, counted in stats.malformed; it stays in the index (except an
 * oversized one, which is skipped). An unreadable file or directory is
 * reported with fatal=true and counted in stats.unreadable.
 *
 * Determinism: directory entries are visited in byte order, except that
 * all-digit names (MH) compare numerically; the index is identical for
 * identical trees. Limits: MH_MAX_MAIL_FILES files, MH_MAX_MAIL_LOCATIONS
 * locations, MH_MAX_PATH_DEPTH directory depth, MH_MAX_MAIL_HEADER_BYTES of
 * header block read per message, MH_MAX_MAIL_ADDRESSES per message.
 * Threading: a store is built by one thread; once built, the read-only
 * accessors and mh_mailstore_read (with per-thread buffers) may be used
 * from several threads.
 */
#ifndef MH_INGEST_MAILSTORE_H
#define MH_INGEST_MAILSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/time.h"
#include "mailhound/status.h"

#define MH_MAIL_NONE UINT32_MAX

enum mh_mail_role {
    MH_ROLE_FROM = 0,
    MH_ROLE_SENDER,
    MH_ROLE_REPLY_TO,
    MH_ROLE_TO,
    MH_ROLE_CC,
    MH_ROLE_BCC,
    MH_ROLE__COUNT
};

const char *mh_mail_role_name(enum mh_mail_role r); /* "from", "sender", "reply-to", ... */

enum mh_store_kind { MH_STORE_MBOX = 1, MH_STORE_MAILDIR, MH_STORE_MH, MH_STORE_FILE };

const char *mh_store_kind_name(enum mh_store_kind k); /* "mbox", "maildir", "mh", "file" */

struct mh_mail_addr {
    const char *name; /* display name, "" when none */
    const char *addr; /* addr-spec, domain lower-cased */
    uint8_t role;     /* enum mh_mail_role */
};

/* Location flags */
#define MH_LOC_MALFORMED 1u   /* reported bad (invalid header line) */
#define MH_LOC_FROM_QUOTED 2u /* mbox message with ">From " lines (undone for content) */

struct mh_mail_loc {
    uint32_t file, mailbox, folder;
    uint32_t index;  /* 0-based position of the message in its file */
    uint32_t msg;    /* distinct message it belongs to */
    uint32_t next;   /* next location of the same message, MH_MAIL_NONE at the end */
    uint64_t marker; /* mbox: offset of the From_ line; else == start */
    uint64_t start, end;
    unsigned char sha256[32];
    uint32_t flags;
};

struct mh_mail_msg {
    const char *message_id; /* normalized, with <> */
    bool synthetic_id;
    mh_time date;        /* MH_TIME_NONE when missing or unreadable */
    const char *subject; /* RFC 2047-decoded UTF-8, NULL when none */
    const struct mh_mail_addr *addrs;
    uint32_t naddrs;
    uint32_t first_loc, nlocs;
    const char *list_id; /* the first List-Id: value, unfolded, as found; NULL when none */
};

struct mh_mailbox {
    const char *name;
    const char *owner; /* NULL when unknown */
    const char *path;  /* directory or file the mailbox was found at */
};

struct mh_mail_file {
    const char *path;
    uint32_t mailbox, folder;
    uint8_t kind; /* enum mh_store_kind */
    uint64_t size;
};

struct mh_mailstore_stats {
    uint64_t files;         /* files opened */
    uint64_t mail_files;    /* of which mail (mbox or message) */
    uint64_t other_files;   /* of which not mail (on_other) */
    uint64_t unreadable;    /* files/dirs that could not be read */
    uint64_t maildir_tmp;   /* files in Maildir tmp/ (skipped) */
    uint64_t locations;     /* messages found (every copy) */
    uint64_t distinct;      /* distinct Message-IDs */
    uint64_t duplicates;    /* locations collapsed into an earlier message */
    uint64_t synthetic_ids; /* messages without a usable Message-ID */
    uint64_t malformed;     /* messages reported bad */
    uint64_t oversized;     /* messages over MH_MAX_MESSAGE_BYTES (skipped) */
    uint64_t addr_dropped;  /* addresses beyond MH_MAX_MAIL_ADDRESSES per message */
    uint64_t bytes;         /* raw message bytes indexed */
};

struct mh_mailstore_opts {
    /* Malformed message (fatal=false) or unreadable file (fatal=true). May be NULL. */
    void (*on_bad)(void *ctx, const mh_error *err, bool fatal);
    /* A file that is not mail. May be NULL. */
    void (*on_other)(void *ctx, const char *path, uint64_t size);
    void *ctx;
    const char *owner_map; /* --owner file, NULL for none */
};

typedef struct mh_mailstore mh_mailstore;

/* New empty store; reads opts->owner_map (MH_EIO / MH_EPARSE with line). */
MH_MUST_CHECK mh_status mh_mailstore_new(const struct mh_mailstore_opts *opts, mh_mailstore **out,
                                         mh_error *err);
void mh_mailstore_free(mh_mailstore *s);

/*
 * Walk path (file or directory) and index every message found. Bad input
 * is reported and skipped (see above); the return is MH_OK unless the
 * path itself is missing (MH_EIO), a limit is hit (MH_ELIMIT) or memory
 * runs out (MH_ENOMEM).
 */
MH_MUST_CHECK mh_status mh_mailstore_add(mh_mailstore *s, const char *path, mh_error *err);

/* Index one in-memory file (tests, fuzzing); name is its path in reports
 * and mailbox naming. The bytes are copied. */
MH_MUST_CHECK mh_status mh_mailstore_add_memory(mh_mailstore *s, const char *name, const void *data,
                                                size_t len, mh_error *err);

size_t mh_mailstore_nmsgs(const mh_mailstore *s);
size_t mh_mailstore_nlocs(const mh_mailstore *s);
size_t mh_mailstore_nmailboxes(const mh_mailstore *s);
size_t mh_mailstore_nfiles(const mh_mailstore *s);
const struct mh_mail_msg *mh_mailstore_msg(const mh_mailstore *s, size_t i);
const struct mh_mail_loc *mh_mailstore_loc(const mh_mailstore *s, size_t i);
const struct mh_mailbox *mh_mailstore_mailbox(const mh_mailstore *s, size_t i);
const struct mh_mail_file *mh_mailstore_file(const mh_mailstore *s, size_t i);
const char *mh_mailstore_folder(const mh_mailstore *s, size_t i);
const struct mh_mailstore_stats *mh_mailstore_stats(const mh_mailstore *s);
/* Message by normalized Message-ID (with <>), NULL when absent. */
const struct mh_mail_msg *mh_mailstore_find(const mh_mailstore *s, const char *id, size_t n);

/*
 * Read a location's bytes into out (cleared first): raw (exactly the indexed
 * bytes, SHA-256 as recorded) or, with content = true, with mbox ">From "
 * quoting undone (for MIME decoding). MH_EIO when the file cannot be read,
 * MH_ESTATE when its size changed since indexing. Thread-safe with distinct
 * out buffers.
 */
MH_MUST_CHECK mh_status mh_mailstore_read(const mh_mailstore *s, const struct mh_mail_loc *loc,
                                          bool content, struct mh_buf *out, mh_error *err);

/* Normalize a Message-ID header value into out (cleared first): "<...>".
 * Returns false (out empty) when the value holds no usable id. */
bool mh_message_id_normalize(const char *value, size_t n, struct mh_buf *out);

#endif
