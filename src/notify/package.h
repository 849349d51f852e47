/*
 * notify/package.h -- one BagIt 1.0 package per organisation (RFC 8493)
 *
 * Pipeline: scope -> organisations -> [notify: package] -> ledger/delivery.
 * Layout (docs/notify.md is the contract):
 *
 *   DIR/packages/index.csv                 org,kind,messages,secrets (CRLF)
 *   DIR/packages/<org dir>/                the first package of an organisation
 *     bagit.txt                            BagIt-Version: 1.0 / Tag-File-Character-Encoding: UTF-8
 *     bag-info.txt                         Source-Organization, Contact-Email, External-Identifier,
 *                                          Bag-Group-Identifier, Bagging-Date, Payload-Oxum
 *     manifest-sha256.txt                  "<sha256>  data/<path>" per payload file
 *     tagmanifest-sha256.txt               same for the four tag files above + notice.md
 *     notice.md                            the letter: what happened, when, our mailboxes,
 *                                          what to do, how to verify (sha256sum -c)
 *     data/messages.csv                    message_id,date,subject,mailbox,addresses,
 *                                          evidence,confidence,has_secret (RFC 4180, CRLF)
 *     data/messages/<n>-<sha12>.eml        n = 000001.., sha12 = first 12 hex of the
 *                                          SHA-256 of the shipped (Bcc-redacted) bytes
 *   DIR/packages/<org dir>/supplement-<k>/ later packages (k = 1, 2, ...): a complete
 *                                          bag of their own with only new messages
 *
 * Every message is Bcc-redacted here (notify/redact.h), whoever calls: no
 * code path can ship a Bcc header. Messages are ordered by (date, unknown
 * dates first; message id; SHA-256), so the same set gives the same bytes
 * whatever the input order.
 *
 * Determinism: a package is a pure function of (info, the set of messages):
 * no clock, no random names, no file-system order; Bagging-Date is an input.
 * The package hash (SHA-256 of tagmanifest-sha256.txt, which pins every other
 * byte through manifest-sha256.txt) identifies it.
 *
 * Crash safety: the bag is built under "<parent>/.mh-tmp-<name>", every file
 * and directory fsync'd, then renamed into place (an existing directory is
 * first renamed to ".mh-old-<name>", its supplement-* subdirectories moved
 * into the new one, then removed). mh_pkg_recover() finishes or undoes what a
 * killed run left: temp dirs removed, old dirs restored or merged.
 *
 * Threading: distinct organisations may be written concurrently; one
 * package directory by one thread at a time.
 */
#ifndef MH_NOTIFY_PACKAGE_H
#define MH_NOTIFY_PACKAGE_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/time.h"
#include "mailhound/status.h"
#include "notify/crypto.h"

struct mh_pkg_message {
    const char *message_id; /* normalised Message-ID, no <> (required) */
    mh_time date;           /* MH_TIME_NONE when unknown */
    const char *subject;    /* decoded UTF-8, may be NULL */
    const char *mailbox;    /* our mailbox(es) it was taken from, ';'-separated */
    const char *addresses;  /* this organisation's addresses with roles ("to:a@y;cc:b@y") */
    const char *evidence;   /* event references, ';'-separated (may be NULL) */
    const char *confidence; /* observed | inferred-sync | inferred-throttle */
    unsigned secrets;       /* secret findings in the message; has_secret = secrets > 0 */
    const char *raw;        /* the message as stored (borrowed; redacted in a copy) */
    size_t raw_len;
};

struct mh_pkg_info {
    const char *org_key;     /* organisation key (Bag-Group-Identifier; directory name) */
    const char *org_name;    /* display name for the letter (NULL: the key) */
    const char *kind;        /* "organisation" | "individual" | "list" */
    const char *source_org;  /* Source-Organization: who notifies (required) */
    const char *contact;     /* Contact-Email (may be NULL) */
    const char *incident_id; /* External-Identifier (required) */
    mh_time bagging_date;    /* Bagging-Date (required, explicit: never the clock) */
    mh_time access_first;    /* attacker access window for the letter (MH_TIME_NONE: */
    mh_time access_last;     /*   the letter gives the messages' date range instead) */
    unsigned seq;            /* 0 = first package, k = supplement-k */
};

/* Per message: what was shipped (filled by mh_pkg_write when asked). */
struct mh_pkg_shipped {
    char sha256[MH_SHA256_HEX];      /* shipped (redacted) bytes */
    char orig_sha256[MH_SHA256_HEX]; /* bytes as given */
    char file[48];                   /* "000001-0123456789ab.eml" */
    size_t removed;                  /* Bcc fields removed */
    char removed_names[256];         /* their distinct names, "Bcc,X-bcc" (truncated) */
    size_t opaque;                   /* embedded messages not inspectable (redact.h) */
};

struct mh_pkg_result {
    char hash[MH_SHA256_HEX]; /* SHA-256 of tagmanifest-sha256.txt */
    uint64_t payload_bytes, payload_files;
    size_t messages, secrets;  /* secrets = sum of mh_pkg_message.secrets */
    size_t redacted, opaque;   /* messages with fields removed / with opaque parts */
    bool replaced;             /* an existing directory was replaced */
};

/* Test seam: called at named points of the write protocol (see package.c and
 * ledger.c); a test sets it to _exit() in a child to simulate a crash. */
extern void (*mh_notify_crash_hook)(const char *point);

/* Directory name for an organisation key: the key itself when it is made of
 * [A-Za-z0-9._@+=-], does not start with '.' and is <= 200 bytes; otherwise
 * the key with other bytes as '_' (truncated) + "-" + 8 hex of its SHA-256. */
MH_MUST_CHECK mh_status mh_pkg_dirname(const char *org_key, char *out, size_t outsz,
                                       mh_error *err);

/* DIR/packages/<org dir> (seq 0) or .../<org dir>/supplement-<seq>. */
MH_MUST_CHECK mh_status mh_pkg_path(const char *outdir, const char *org_key, unsigned seq,
                                    char *out, size_t outsz, mh_error *err);

/*
 * Write one package (atomically, see above). msgs[0..n) with n >= 1, borrowed.
 * expect_hash: NULL, or the package hash this package must have (a recorded
 * package being rewritten): if the result differs nothing is replaced and
 * MH_ESTATE is returned ("package differs from the recorded one"). shipped:
 * NULL or n entries, filled in msgs order. res may be NULL.
 * MH_EINVAL (missing fields, duplicate message ids), MH_ELIMIT, MH_EIO,
 * MH_ENOMEM, MH_ECRYPTO.
 */
MH_MUST_CHECK mh_status mh_pkg_write(const char *outdir, const struct mh_pkg_info *info,
                                     const struct mh_pkg_message *msgs, size_t n,
                                     const char *expect_hash, struct mh_pkg_shipped *shipped,
                                     struct mh_pkg_result *res, mh_error *err);

/* A package built in its temporary directory, not yet in place. */
struct mh_pkg_staged {
    char tmp[PATH_MAX];   /* <parent>/.mh-tmp-<name> */
    char final[PATH_MAX]; /* <parent>/<name> */
    bool replaced;        /* set by mh_pkg_install: an existing directory was replaced */
};

/*
 * mh_pkg_write in two halves, for batches: mh_pkg_stage builds the bag in
 * its temporary directory (same arguments and statuses as mh_pkg_write; on
 * success *out names it); mh_pkg_install(v, n) makes every staged bag
 * durable with one file-system sync, renames each into place (in v's order;
 * an existing directory is replaced as in mh_pkg_write) and fsyncs each
 * parent directory once. The staged bags must be of distinct packages, and
 * none may be inside another's directory being replaced (stage a first
 * package and its organisation's supplements in different batches when the
 * first package exists). A staged bag never installed is a temporary
 * directory that mh_pkg_recover() removes. MH_EIO.
 */
MH_MUST_CHECK mh_status mh_pkg_stage(const char *outdir, const struct mh_pkg_info *info,
                                     const struct mh_pkg_message *msgs, size_t n,
                                     const char *expect_hash, struct mh_pkg_shipped *shipped,
                                     struct mh_pkg_result *res, struct mh_pkg_staged *out,
                                     mh_error *err);
MH_MUST_CHECK mh_status mh_pkg_install(struct mh_pkg_staged *v, size_t n, mh_error *err);

/* SHA-256 hex of an existing package's tagmanifest-sha256.txt (its package
 * hash). MH_ENOTFOUND when the package is absent. */
MH_MUST_CHECK mh_status mh_pkg_hash(const char *pkgdir, char out[MH_SHA256_HEX], mh_error *err);

/* Finish or undo half-done writes under DIR/packages (see above). */
MH_MUST_CHECK mh_status mh_pkg_recover(const char *outdir, mh_error *err);

struct mh_pkg_index_row {
    const char *org;
    const char *kind;
    uint64_t messages, secrets;
};
/* Write DIR/packages/index.csv atomically; rows are sorted by org here. */
MH_MUST_CHECK mh_status mh_pkg_write_index(const char *outdir, const struct mh_pkg_index_row *rows,
                                           size_t n, mh_error *err);

/*
 * Archive a package directory as a deterministic POSIX ustar (sorted names,
 * "<basename>/..." members, mode 0644/0755, uid/gid 0, mtime = mtime,
 * supplement-* subdirectories left out) and write it atomically to out_path.
 */
MH_MUST_CHECK mh_status mh_pkg_tar(const char *pkgdir, mh_time mtime, const char *out_path,
                                   mh_error *err);

/*
 * Encrypt a package for its organisation: the ustar of pkgdir wrapped in CMS
 * AuthEnvelopedData (AES-256-GCM) to every certificate in certs, written
 * atomically to out_path (PEM). The intermediate tar is removed.
 */
MH_MUST_CHECK mh_status mh_pkg_encrypt(const char *pkgdir, mh_time mtime, const mh_certs *certs,
                                       const char *out_path, mh_error *err);

#endif
