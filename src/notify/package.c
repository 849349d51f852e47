/*
 * notify/package.c -- BagIt package writer, index, recovery, tar, envelope
 * (see package.h for the layout and the guarantees)
 *
 * Write protocol for one package P = <parent>/<name> (crash hooks in []):
 *   1. T = <parent>/.mh-tmp-<name>: removed if left over, created empty;
 *   2. payload: data/messages/<n>-<sha12>.eml (redacted), data/messages.csv;
 *      tag files: bagit.txt, bag-info.txt, manifest-sha256.txt, notice.md,
 *      tagmanifest-sha256.txt (written without a per-file fsync) [hook
 *      "pkg-file" after each];
 *   3. the package hash is compared with expect_hash (if any): a mismatch
 *      removes T and changes nothing;
 *   4. syncfs (every file and directory at once; without syncfs: sync(),
 *      then fsync T/data/messages, T/data, T)          [hook "pkg-synced"]
 *   5. P absent: rename T -> P.  P present: rename P -> O = .mh-old-<name>
 *      [hook "pkg-old-moved"], rename T -> P, move O/supplement-* into P,
 *      remove O                                             [hook "pkg-swapped"]
 *   6. fsync <parent>                                   [hook "pkg-done"]
 * mh_pkg_write does 1-6 for one package; mh_pkg_stage does 1-3 and
 * mh_pkg_install 4-6 for a batch of staged packages: ONE syncfs for the
 * batch instead of one per package (syncfs waits for every dirty page of the
 * file system, the dominant cost of a run with thousands of organisations on
 * a busy disk), each parent directory fsync'd once.
 * A kill anywhere leaves T and/or O behind; mh_pkg_recover() removes T,
 * puts O back when P is missing, or merges O's supplements into P and
 * removes O. Because a package is a pure function of its inputs, rewriting
 * it after a kill gives the same bytes.
 *
 * Memory: one message at a time is redacted into a reused buffer; the CSV and
 * manifests are built in memory (bounded by MH_PKG_MAX_TAG_BYTES).
 */
#include "notify/package.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/sha256.h"
#include "base/slice.h"
#include "mailhound/limits.h"
#include "notify/fs.h"
#include "notify/redact.h"

void (*mh_notify_crash_hook)(const char *point);

static void hook(const char *point)
{
    if (mh_notify_crash_hook) mh_notify_crash_hook(point);
}

static mh_status buf_fail(mh_error *err, mh_status st, const char *what)
{
    if (st == MH_OK) return MH_OK;
    return mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : what, NULL);
}

/* MH_CHECK for buffer building: a failing status gets its mh_error text. */
#define BCHECK(expr) MH_CHECK(buf_fail(err, (expr), "package file too large"))

/* ---- names ---- */

static bool dir_char(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '_' || c == '@' || c == '+' || c == '=' || c == '-';
}

mh_status mh_pkg_dirname(const char *org_key, char *out, size_t outsz, mh_error *err)
{
    size_t n = org_key ? strlen(org_key) : 0;
    if (n == 0) return mh_error_set(err, MH_EINVAL, "empty organisation key", NULL);
    if (outsz < 212) return mh_error_set(err, MH_EINVAL, "directory name buffer too small", NULL);
    bool clean = n <= 200 && org_key[0] != '.';
    for (size_t i = 0; i < n && clean; i++) clean = dir_char((unsigned char)org_key[i]);
    if (clean) {
        memcpy(out, org_key, n + 1);
        return MH_OK;
    }
    char hex[MH_SHA256_HEX];
    MH_TRY(mh_sha256_hex(org_key, n, hex, err));
    size_t k = n < 200 ? n : 200;
    for (size_t i = 0; i < k; i++) out[i] = dir_char((unsigned char)org_key[i]) ? org_key[i] : '_';
    if (out[0] == '.') out[0] = '_';
    snprintf(out + k, outsz - k, "-%.8s", hex);
    return MH_OK;
}

mh_status mh_pkg_path(const char *outdir, const char *org_key, unsigned seq, char *out,
                      size_t outsz, mh_error *err)
{
    char dir[256];
    MH_TRY(mh_pkg_dirname(org_key, dir, sizeof dir, err));
    if (seq == 0) return mh_fs_path(out, outsz, err, "%s/packages/%s", outdir, dir);
    return mh_fs_path(out, outsz, err, "%s/packages/%s/supplement-%u", outdir, dir, seq);
}

/* Split P into its parent directory and base name. */
static void split_path(const char *p, char *parent, size_t psz, const char **base)
{
    const char *slash = strrchr(p, '/');
    size_t n = slash ? (size_t)(slash - p) : 1;
    if (!slash) {
        snprintf(parent, psz, ".");
        *base = p;
        return;
    }
    if (n >= psz) n = psz - 1;
    memcpy(parent, p, n);
    parent[n ? n : 1] = '\0';
    if (!n) parent[0] = '/';
    *base = slash + 1;
}

/* ---- text helpers ---- */

static mh_status csv_field(struct mh_buf *b, const char *s)
{
    if (!s) return MH_OK;
    size_t n = strlen(s);
    if (n > MH_PKG_MAX_TEXT_BYTES) n = MH_PKG_MAX_TEXT_BYTES;
    bool quote = false;
    for (size_t i = 0; i < n && !quote; i++) quote = s[i] == ',' || s[i] == '"' || s[i] == '\r' || s[i] == '\n';
    if (!quote) return mh_buf_append(b, s, n);
    MH_TRY(mh_buf_putc(b, '"'));
    for (size_t i = 0; i < n; i++) {
        if (s[i] == '"') MH_TRY(mh_buf_putc(b, '"'));
        MH_TRY(mh_buf_putc(b, s[i]));
    }
    return mh_buf_putc(b, '"');
}

/* One line of text: control characters become spaces; '|' is escaped for a
 * Markdown table cell when cell is set. */
static mh_status one_line(struct mh_buf *b, const char *s, bool cell)
{
    if (!s) return MH_OK;
    size_t n = strlen(s);
    if (n > MH_PKG_MAX_TEXT_BYTES) n = MH_PKG_MAX_TEXT_BYTES;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f) c = ' ';
        if (cell && c == '|') MH_TRY(mh_buf_putc(b, '\\'));
        MH_TRY(mh_buf_putc(b, (char)c));
    }
    return MH_OK;
}

static void fmt_date(mh_time t, char out[32])
{
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    snprintf(out, 32, "%04d-%02d-%02d", c.year, c.month, c.day);
}

static void fmt_minute(mh_time t, char out[40])
{
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    snprintf(out, 40, "%04d-%02d-%02d %02d:%02d", c.year, c.month, c.day, c.hour, c.min);
}

/* ---- ordering ---- */

static int cmp_msg(const void *a, const void *b)
{
    const struct mh_pkg_message *x = *(const struct mh_pkg_message *const *)a;
    const struct mh_pkg_message *y = *(const struct mh_pkg_message *const *)b;
    if (x->date != y->date) return x->date < y->date ? -1 : 1; /* MH_TIME_NONE is INT64_MIN */
    return strcmp(x->message_id, y->message_id);
}

/* ---- the letter ---- */

struct mailbox_count {
    const char *name;
    size_t len;
    uint64_t n;
};

static int cmp_mailbox(const void *a, const void *b)
{
    const struct mailbox_count *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->name, y->name, n);
    return c ? c : (x->len > y->len) - (x->len < y->len);
}

static mh_status notice(struct mh_buf *b, const struct mh_pkg_info *in,
                        const struct mh_pkg_message *const *order, size_t n, size_t secrets)
{
    mh_status st = MH_OK;
    struct mh_map boxes;
    struct mailbox_count *counts = NULL;
    char d[40], e[40];
    mh_map_init(&boxes, MH_PKG_MAX_MESSAGES, false);
    const char *who = in->org_name && *in->org_name ? in->org_name : in->org_key;

    MH_CHECK(mh_buf_puts(b, "# Notice: email you exchanged with "));
    MH_CHECK(one_line(b, in->source_org, false));
    MH_CHECK(mh_buf_puts(b, " was taken by an attacker\n\n**To:** "));
    MH_CHECK(one_line(b, who, false));
    if (who != in->org_key) {
        MH_CHECK(mh_buf_puts(b, " ("));
        MH_CHECK(one_line(b, in->org_key, false));
        MH_CHECK(mh_buf_puts(b, ")"));
    }
    MH_CHECK(mh_buf_puts(b, "  \n**From:** "));
    MH_CHECK(one_line(b, in->source_org, false));
    if (in->contact) {
        MH_CHECK(mh_buf_puts(b, " <"));
        MH_CHECK(one_line(b, in->contact, false));
        MH_CHECK(mh_buf_puts(b, ">"));
    }
    MH_CHECK(mh_buf_puts(b, "  \n**Reference:** "));
    MH_CHECK(one_line(b, in->incident_id, false));
    MH_CHECK(mh_buf_puts(b, " / "));
    MH_CHECK(one_line(b, in->org_key, false));
    if (in->seq) MH_CHECK(mh_buf_printf(b, " / supplement %u", in->seq));
    fmt_date(in->bagging_date, d);
    MH_CHECK(mh_buf_printf(b, "  \n**Date:** %s\n\n## What happened\n\n", d));

    MH_CHECK(mh_buf_puts(b, "An unauthorised party gained access to email mailboxes at "));
    MH_CHECK(one_line(b, in->source_org, false));
    if (in->access_first != MH_TIME_NONE && in->access_last != MH_TIME_NONE) {
        fmt_minute(in->access_first, d);
        fmt_minute(in->access_last, e);
        MH_CHECK(mh_buf_printf(b, " between %s and %s UTC", d, e));
    }
    MH_CHECK(mh_buf_printf(b,
                           " and copied messages from them. %zu of the messages taken %s exchanged "
                           "with you: your address%s appear%s in them as sender or recipient.",
                           n, n == 1 ? "was" : "were", n == 1 ? "" : "es", n == 1 ? "s" : ""));
    mh_time lo = MH_TIME_NONE, hi = MH_TIME_NONE;
    for (size_t i = 0; i < n; i++)
        if (order[i]->date != MH_TIME_NONE) {
            if (lo == MH_TIME_NONE || order[i]->date < lo) lo = order[i]->date;
            if (hi == MH_TIME_NONE || order[i]->date > hi) hi = order[i]->date;
        }
    if (lo != MH_TIME_NONE) {
        fmt_date(lo, d);
        fmt_date(hi, e);
        MH_CHECK(mh_buf_printf(b, " The messages are dated from %s to %s.", d, e));
    }
    MH_CHECK(mh_buf_puts(b, " This package holds those messages so that you can see exactly what "
                            "was exposed.\n\n"));
    if (in->seq)
        MH_CHECK(mh_buf_printf(b, "This is supplement %u to the package(s) we sent you earlier for "
                                  "this incident. It holds only messages identified since; none of "
                                  "them was in an earlier package.\n\n",
                               in->seq));

    /* Our mailboxes, with message counts, in byte order. */
    for (size_t i = 0; i < n; i++) {
        const char *m = order[i]->mailbox ? order[i]->mailbox : "";
        while (*m) {
            const char *semi = strchr(m, ';');
            size_t len = semi ? (size_t)(semi - m) : strlen(m);
            struct mh_slice t = mh_slice_trim(mh_slice_make(m, len));
            if (t.len) {
                struct mh_map_entry *ent;
                st = mh_map_put(&boxes, t.ptr, t.len, &ent, NULL);
                if (st) goto out;
                ent->value++;
            }
            m += len + (semi ? 1 : 0);
        }
    }
    MH_CHECK(mh_buf_puts(b, "## Which of our mailboxes\n\n| mailbox | messages |\n|---|---|\n"));
    if (boxes.n) {
        counts = mh_calloc(boxes.n, sizeof *counts);
        if (!counts) {
            st = MH_ENOMEM;
            goto out;
        }
        for (size_t i = 0; i < boxes.n; i++)
            counts[i] = (struct mailbox_count){boxes.entries[i].key.ptr, boxes.entries[i].key.len,
                                               boxes.entries[i].value};
        qsort(counts, boxes.n, sizeof *counts, cmp_mailbox);
        for (size_t i = 0; i < boxes.n; i++) {
            MH_CHECK(mh_buf_puts(b, "| "));
            MH_CHECK(one_line(b, counts[i].name, true));
            MH_CHECK(mh_buf_printf(b, " | %llu |\n", (unsigned long long)counts[i].n));
        }
    } else {
        MH_CHECK(mh_buf_puts(b, "| (not recorded) | |\n"));
    }

    MH_CHECK(mh_buf_puts(
        b,
        "\n## What is in this package\n\n"
        "- `data/messages.csv`: one row per message: Message-ID, date (UTC), subject, our mailbox, "
        "your addresses in it with their role (from, sender, reply-to, to, cc, bcc), the evidence "
        "we hold that it was taken, our confidence (`observed`: the attacker's access to this "
        "message is recorded; `inferred-sync`: a folder holding it was synchronised by the "
        "attacker; `inferred-throttle`: it was in a mailbox during a period of bulk access), and "
        "whether it contains a secret.\n"
        "- `data/messages/`: the messages themselves, byte for byte as stored in our mailboxes, "
        "except that Bcc header fields were removed (they would disclose other recipients).\n\n"));
    if (secrets)
        MH_CHECK(mh_buf_printf(b,
                               "**%zu secret%s (passwords, keys, tokens) %s found** in these "
                               "messages: see the rows with `has_secret` = `true`.\n\n",
                               secrets, secrets == 1 ? "" : "s", secrets == 1 ? "was" : "were"));
    else
        MH_CHECK(mh_buf_puts(b, "We found no passwords, keys or tokens in these messages; please "
                                "check them yourself as well.\n\n"));

    MH_CHECK(mh_buf_puts(
        b,
        "## What you should do\n\n"
        "1. Rotate every password, key or token that appears in these messages (the rows with "
        "`has_secret` = `true` first) and any other secret you recognise in them: assume the "
        "attacker has read all of them.\n"
        "2. Review the messages for information that could be used against you or others "
        "(contracts, payment details, personal data, internal contacts) and inform the people "
        "concerned.\n"
        "3. Expect targeted phishing that reuses these conversations: confirm any unusual request "
        "that appears to come from us through a channel you already know, not by replying to the "
        "message.\n"
        "4. Search your own logs for the attacker indicators we share (STIX 2.1 bundle), if you "
        "received them.\n"));
    MH_CHECK(mh_buf_puts(b, "5. Questions: contact "));
    MH_CHECK(one_line(b, in->contact ? in->contact : in->source_org, false));
    MH_CHECK(mh_buf_puts(b, " and quote the reference above.\n\n"));

    MH_CHECK(mh_buf_puts(
        b,
        "## How to verify this package\n\n"
        "This directory is a BagIt 1.0 bag (RFC 8493). From inside it, run:\n\n"
        "    sha256sum -c tagmanifest-sha256.txt\n"
        "    sha256sum -c manifest-sha256.txt\n\n"
        "Every line must end in `OK`. The first command checks this letter and the manifests, the "
        "second every message and `data/messages.csv`. To be sure the package is the one we "
        "sent, compare its fingerprint with the one we give you through a channel you trust "
        "(not this email):\n\n"
        "    sha256sum tagmanifest-sha256.txt\n"));
out:
    mh_free(counts);
    mh_map_fini(&boxes);
    return st;
}

/* ---- writing one package ---- */

struct writer {
    char tmp[PATH_MAX];
    struct mh_buf manifest; /* payload manifest lines */
    uint64_t bytes, files;
};

/* Write T/<rel> and add "<sha256>  <rel>" to list (when list is not NULL). */
static mh_status put_file(struct writer *w, const char *rel, const void *data, size_t n,
                          struct mh_buf *list, char sha_out[MH_SHA256_HEX], mh_error *err)
{
    char path[PATH_MAX], hex[MH_SHA256_HEX];
    MH_TRY(mh_fs_path(path, sizeof path, err, "%s/%s", w->tmp, rel));
    MH_TRY(mh_sha256_hex(data, n, hex, err));
    MH_TRY(mh_fs_write(path, data, n, false, err)); /* made durable at once in swap_in */
    hook("pkg-file");
    if (list) {
        mh_status st = mh_buf_printf(list, "%s  %s\n", hex, rel);
        if (st) return buf_fail(err, st, "manifest too large");
    }
    if (sha_out) memcpy(sha_out, hex, MH_SHA256_HEX);
    return MH_OK;
}

static mh_status check_input(const struct mh_pkg_info *in, const struct mh_pkg_message *msgs,
                             size_t n, mh_error *err)
{
    if (!in || !in->org_key || !in->source_org || !in->incident_id || !in->kind)
        return mh_error_set(err, MH_EINVAL, "package info incomplete",
                            "org_key, kind, source_org and incident_id are required");
    if (in->bagging_date == MH_TIME_NONE)
        return mh_error_set(err, MH_EINVAL, "package needs an explicit Bagging-Date", NULL);
    if (n == 0 || !msgs) return mh_error_set(err, MH_EINVAL, "package without messages", NULL);
    if (n > MH_PKG_MAX_MESSAGES)
        return mh_error_set(err, MH_ELIMIT, "too many messages in one package", "%zu > %u", n,
                            (unsigned)MH_PKG_MAX_MESSAGES);
    for (size_t i = 0; i < n; i++)
        if (!msgs[i].message_id || !*msgs[i].message_id || (!msgs[i].raw && msgs[i].raw_len))
            return mh_error_set(err, MH_EINVAL, "message without id or bytes", "index %zu", i);
    return MH_OK;
}

/* Move every supplement-* directory of from/ into to/ (unless present there). */
static mh_status merge_supplements(const char *from, const char *to, mh_error *err)
{
    mh_status st = MH_OK;
    DIR *d = opendir(from);
    if (!d) return errno == ENOENT ? MH_OK : mh_error_io(err, "cannot read directory", from);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strncmp(e->d_name, "supplement-", 11) != 0) continue;
        char a[PATH_MAX], b[PATH_MAX];
        MH_CHECK(mh_fs_path(a, sizeof a, err, "%s/%s", from, e->d_name));
        MH_CHECK(mh_fs_path(b, sizeof b, err, "%s/%s", to, e->d_name));
        if (mh_fs_exists(b)) continue;
        if (rename(a, b) != 0) {
            st = mh_error_io(err, "cannot move supplement", a);
            goto out;
        }
    }
out:
    closedir(d);
    return st;
}

/* Put T in place of P (step 5). */
static mh_status swap_one(const char *tmp, const char *final, bool *replaced, mh_error *err)
{
    char parent[PATH_MAX], old[PATH_MAX];
    const char *base;
    split_path(final, parent, sizeof parent, &base);
    *replaced = false;
    if (mh_fs_exists(final)) {
        MH_TRY(mh_fs_path(old, sizeof old, err, "%s/.mh-old-%s", parent, base));
        MH_TRY(mh_fs_rmtree(old, err));
        if (rename(final, old) != 0) return mh_error_io(err, "cannot move old package", final);
        hook("pkg-old-moved");
        if (rename(tmp, final) != 0) return mh_error_io(err, "cannot rename package", final);
        hook("pkg-swapped");
        MH_TRY(merge_supplements(old, final, err));
        MH_TRY(mh_fs_rmtree(old, err));
        *replaced = true;
    } else {
        if (rename(tmp, final) != 0) return mh_error_io(err, "cannot rename package", final);
        hook("pkg-swapped");
    }
    return MH_OK;
}

mh_status mh_pkg_install(struct mh_pkg_staged *v, size_t n, mh_error *err)
{
    char parent[PATH_MAX], prev[PATH_MAX];
    const char *base;
    if (n == 0) return MH_OK;
    /* Step 4, once for the batch: one syncfs makes every staged file and
     * directory durable. */
    MH_TRY(mh_fs_sync_all(v[0].tmp, err));
#if !defined(__linux__)
    /* Linux's syncfs writes back the directories too and waits; elsewhere
     * mh_fs_sync_all falls back to sync(), which need not: fsync them. */
    for (size_t i = 0; i < n; i++) {
        char sub[PATH_MAX];
        MH_TRY(mh_fs_path(sub, sizeof sub, err, "%s/data/messages", v[i].tmp));
        MH_TRY(mh_fs_fsync_dir(sub, err));
        MH_TRY(mh_fs_path(sub, sizeof sub, err, "%s/data", v[i].tmp));
        MH_TRY(mh_fs_fsync_dir(sub, err));
        MH_TRY(mh_fs_fsync_dir(v[i].tmp, err));
    }
#endif
    hook("pkg-synced");
    for (size_t i = 0; i < n; i++) MH_TRY(swap_one(v[i].tmp, v[i].final, &v[i].replaced, err));
    /* Step 6: each distinct parent once (staged in order, so mostly runs). */
    prev[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        split_path(v[i].final, parent, sizeof parent, &base);
        if (!strcmp(parent, prev)) continue;
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++) {
            char pj[PATH_MAX];
            split_path(v[j].final, pj, sizeof pj, &base);
            seen = !strcmp(pj, parent);
        }
        if (!seen) MH_TRY(mh_fs_fsync_dir(parent, err));
        memcpy(prev, parent, sizeof prev);
    }
    hook("pkg-done");
    return MH_OK;
}

static mh_status write_bag(struct writer *w, const struct mh_pkg_info *in,
                           const struct mh_pkg_message *msgs, const struct mh_pkg_message **order,
                           size_t n, struct mh_pkg_shipped *shipped, struct mh_pkg_result *res,
                           mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_redact red;
    struct mh_buf body, csv, tag, tagman, man;
    char rel[128], date[32], hex[MH_SHA256_HEX];
    mh_redact_init(&red);
    mh_buf_init(&body, MH_MAX_MESSAGE_BYTES);
    mh_buf_init(&csv, MH_PKG_MAX_TAG_BYTES);
    mh_buf_init(&tag, MH_PKG_MAX_TAG_BYTES);
    mh_buf_init(&tagman, MH_PKG_MAX_TAG_BYTES);
    mh_buf_init(&man, MH_PKG_MAX_TAG_BYTES);
    size_t secrets = 0;

    BCHECK(mh_buf_puts(&csv, "message_id,date,subject,mailbox,addresses,evidence,confidence,"
                             "has_secret\r\n"));
    for (size_t i = 0; i < n; i++) {
        const struct mh_pkg_message *m = order[i];
        struct mh_pkg_shipped sh;
        memset(&sh, 0, sizeof sh);
        if (i && !strcmp(order[i - 1]->message_id, m->message_id)) {
            st = mh_error_set(err, MH_EINVAL, "message listed twice in one package", "%.200s",
                              m->message_id);
            goto out;
        }
        const char *raw = m->raw ? m->raw : "";
        MH_CHECK(mh_redact_scan(&red, raw, m->raw_len, err));
        mh_buf_clear(&body);
        BCHECK(mh_redact_copy(&red, raw, m->raw_len, &body));
        MH_CHECK(mh_sha256_hex(body.data, body.len, sh.sha256, err));
        MH_CHECK(mh_sha256_hex(raw, m->raw_len, sh.orig_sha256, err));
        snprintf(sh.file, sizeof sh.file, "%06zu-%.12s.eml", i + 1, sh.sha256);
        snprintf(rel, sizeof rel, "data/messages/%s", sh.file);
        MH_CHECK(put_file(w, rel, body.data ? body.data : "", body.len, &w->manifest, NULL, err));
        w->bytes += body.len;
        w->files++;
        sh.removed = red.n;
        sh.opaque = red.opaque;
        if (red.n) {
            mh_buf_clear(&tag);
            BCHECK(mh_redact_names(&red, &tag));
            snprintf(sh.removed_names, sizeof sh.removed_names, "%s", tag.data);
        }
        if (red.n) res->redacted++;
        if (red.opaque) res->opaque++;
        secrets += m->secrets;
        if (shipped) shipped[m - msgs] = sh;

        date[0] = '\0';
        if (m->date != MH_TIME_NONE) mh_time_format_sec(m->date, date);
        const char *cols[7] = {m->message_id, date, m->subject, m->mailbox,
                               m->addresses, m->evidence, m->confidence};
        for (size_t c = 0; c < 7; c++) {
            BCHECK(csv_field(&csv, cols[c]));
            BCHECK(mh_buf_putc(&csv, ','));
        }
        BCHECK(mh_buf_puts(&csv, m->secrets ? "true\r\n" : "false\r\n"));
    }
    /* "data/messages.csv" sorts before "data/messages/..." ('.' < '/'). */
    MH_CHECK(mh_sha256_hex(csv.data, csv.len, hex, err));
    BCHECK(mh_buf_printf(&man, "%s  data/messages.csv\n", hex));
    BCHECK(mh_buf_append(&man, w->manifest.data, w->manifest.len));
    MH_CHECK(put_file(w, "data/messages.csv", csv.data, csv.len, NULL, NULL, err));
    w->bytes += csv.len;
    w->files++;

    /* Tag files, in the tag manifest's (byte) order. */
    mh_buf_clear(&tag);
    fmt_date(in->bagging_date, date);
    BCHECK(mh_buf_puts(&tag, "Source-Organization: "));
    BCHECK(one_line(&tag, in->source_org, false));
    if (in->contact) {
        BCHECK(mh_buf_puts(&tag, "\nContact-Email: "));
        BCHECK(one_line(&tag, in->contact, false));
    }
    BCHECK(mh_buf_puts(&tag, "\nExternal-Identifier: "));
    BCHECK(one_line(&tag, in->incident_id, false));
    BCHECK(mh_buf_puts(&tag, "\nBag-Group-Identifier: "));
    BCHECK(one_line(&tag, in->org_key, false));
    BCHECK(mh_buf_printf(&tag, "\nBagging-Date: %s\nPayload-Oxum: %llu.%llu\n", date,
                         (unsigned long long)w->bytes, (unsigned long long)w->files));
    if (in->seq)
        BCHECK(mh_buf_printf(&tag, "Internal-Sender-Description: supplement %u: only messages "
                                   "not in earlier packages\n", in->seq));
    MH_CHECK(put_file(w, "bag-info.txt", tag.data, tag.len, &tagman, NULL, err));
    static const char bagit[] = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n";
    MH_CHECK(put_file(w, "bagit.txt", bagit, sizeof bagit - 1, &tagman, NULL, err));
    MH_CHECK(put_file(w, "manifest-sha256.txt", man.data, man.len, &tagman, NULL, err));
    mh_buf_clear(&tag);
    BCHECK(notice(&tag, in, order, n, secrets));
    MH_CHECK(put_file(w, "notice.md", tag.data, tag.len, &tagman, NULL, err));
    MH_CHECK(put_file(w, "tagmanifest-sha256.txt", tagman.data, tagman.len, NULL, res->hash, err));
    res->payload_bytes = w->bytes;
    res->payload_files = w->files;
    res->messages = n;
    res->secrets = secrets;
out:
    mh_buf_fini(&man);
    mh_buf_fini(&tagman);
    mh_buf_fini(&tag);
    mh_buf_fini(&csv);
    mh_buf_fini(&body);
    mh_redact_fini(&red);
    return st;
}

mh_status mh_pkg_stage(const char *outdir, const struct mh_pkg_info *info,
                       const struct mh_pkg_message *msgs, size_t n, const char *expect_hash,
                       struct mh_pkg_shipped *shipped, struct mh_pkg_result *res_out,
                       struct mh_pkg_staged *out, mh_error *err)
{
    mh_status st = MH_OK;
    struct writer w;
    struct mh_pkg_result res;
    const struct mh_pkg_message **order = NULL;
    char final[PATH_MAX], parent[PATH_MAX], sub[PATH_MAX];
    const char *base;
    bool made = false;
    memset(&res, 0, sizeof res);
    memset(&w, 0, sizeof w);
    mh_buf_init(&w.manifest, MH_PKG_MAX_TAG_BYTES);
    MH_CHECK(check_input(info, msgs, n, err));
    MH_CHECK(mh_pkg_path(outdir, info->org_key, info->seq, final, sizeof final, err));
    split_path(final, parent, sizeof parent, &base);
    MH_CHECK(mh_fs_path(w.tmp, sizeof w.tmp, err, "%s/.mh-tmp-%s", parent, base));

    order = mh_calloc(n, sizeof *order);
    if (!order) {
        st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        goto out;
    }
    for (size_t i = 0; i < n; i++) order[i] = &msgs[i];
    qsort(order, n, sizeof *order, cmp_msg);

    MH_CHECK(mh_fs_mkdirs(parent, err));
    MH_CHECK(mh_fs_rmtree(w.tmp, err));
    made = true;
    /* T, T/data, T/data/messages: the parent exists, so three mkdirs */
    if (mkdir(w.tmp, 0755) != 0) {
        st = mh_error_io(err, "cannot create directory", w.tmp);
        goto out;
    }
    MH_CHECK(mh_fs_path(sub, sizeof sub, err, "%s/data", w.tmp));
    if (mkdir(sub, 0755) != 0) {
        st = mh_error_io(err, "cannot create directory", sub);
        goto out;
    }
    MH_CHECK(mh_fs_path(sub, sizeof sub, err, "%s/data/messages", w.tmp));
    if (mkdir(sub, 0755) != 0) {
        st = mh_error_io(err, "cannot create directory", sub);
        goto out;
    }
    MH_CHECK(write_bag(&w, info, msgs, order, n, shipped, &res, err));
    if (expect_hash && strcmp(expect_hash, res.hash) != 0) {
        st = mh_error_set(err, MH_ESTATE, "package differs from the recorded one",
                          "%s: recorded %.12s, now %.12s", info->org_key, expect_hash, res.hash);
        goto out;
    }
    memcpy(out->tmp, w.tmp, sizeof out->tmp);
    memcpy(out->final, final, sizeof out->final);
    out->replaced = false;
    made = false;
    if (res_out) *res_out = res;
out:
    if (made && mh_fs_rmtree(w.tmp, NULL) != MH_OK) {
        /* best effort: mh_pkg_recover() removes it on the next run */
    }
    mh_free(order);
    mh_buf_fini(&w.manifest);
    return st;
}

mh_status mh_pkg_write(const char *outdir, const struct mh_pkg_info *info,
                       const struct mh_pkg_message *msgs, size_t n, const char *expect_hash,
                       struct mh_pkg_shipped *shipped, struct mh_pkg_result *res_out, mh_error *err)
{
    struct mh_pkg_result res;
    struct mh_pkg_staged sg;
    MH_TRY(mh_pkg_stage(outdir, info, msgs, n, expect_hash, shipped, &res, &sg, err));
    mh_status st = mh_pkg_install(&sg, 1, err);
    if (st) {
        if (mh_fs_rmtree(sg.tmp, NULL) != MH_OK) {
            /* best effort, as above */
        }
        return st;
    }
    res.replaced = sg.replaced;
    if (res_out) *res_out = res;
    return MH_OK;
}

mh_status mh_pkg_hash(const char *pkgdir, char out[MH_SHA256_HEX], mh_error *err)
{
    char path[PATH_MAX];
    uint8_t md[MH_SHA256_LEN];
    MH_TRY(mh_fs_path(path, sizeof path, err, "%s/tagmanifest-sha256.txt", pkgdir));
    if (!mh_fs_exists(path)) return mh_error_set(err, MH_ENOTFOUND, "no package", "%.200s", pkgdir);
    MH_TRY(mh_sha256_file(path, md, NULL, err));
    mh_hex(md, sizeof md, out);
    return MH_OK;
}

/* ---- recovery ---- */

/* Names in dir (without . and ..) into names (cleared first). */
static mh_status list_dir(const char *dir, struct mh_map *names, mh_error *err)
{
    mh_status st = MH_OK;
    mh_map_clear(names);
    DIR *d = opendir(dir);
    if (!d) return errno == ENOENT ? MH_OK : mh_error_io(err, "cannot read directory", dir);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        struct mh_map_entry *ent;
        st = mh_map_put(names, e->d_name, strlen(e->d_name), &ent, NULL);
        if (st) {
            mh_error_set(err, st, "too many entries", "%.200s", dir);
            break;
        }
    }
    closedir(d);
    return st;
}

static mh_status recover_dir(const char *dir, int level, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_map names;
    mh_map_init(&names, MH_ORG_MAX_ENTRIES, false);
    /* Collect names first: the loop renames and removes entries. */
    MH_CHECK(list_dir(dir, &names, err));
    for (size_t i = 0; i < names.n; i++) {
        const char *name = names.entries[i].key.ptr;
        size_t len = names.entries[i].key.len;
        char p[PATH_MAX], q[PATH_MAX];
        MH_CHECK(mh_fs_path(p, sizeof p, err, "%s/%s", dir, name));
        if (!strncmp(name, ".mh-tmp-", 8) || (len > 7 && !strcmp(name + len - 7, ".mh-tmp"))) {
            MH_CHECK(mh_fs_rmtree(p, err));
        } else if (!strncmp(name, ".mh-old-", 8)) {
            MH_CHECK(mh_fs_path(q, sizeof q, err, "%s/%s", dir, name + 8));
            if (!mh_fs_exists(q)) {
                if (rename(p, q) != 0) {
                    st = mh_error_io(err, "cannot restore package", q);
                    goto out;
                }
            } else {
                MH_CHECK(merge_supplements(p, q, err));
                MH_CHECK(mh_fs_rmtree(p, err));
            }
        }
    }
    if (level == 0) { /* then inside every organisation's directory (supplements) */
        MH_CHECK(list_dir(dir, &names, err));
        for (size_t i = 0; i < names.n; i++) {
            const char *name = names.entries[i].key.ptr;
            char p[PATH_MAX];
            if (name[0] == '.') continue;
            MH_CHECK(mh_fs_path(p, sizeof p, err, "%s/%s", dir, name));
            if (mh_fs_is_dir(p)) MH_CHECK(recover_dir(p, 1, err));
        }
    }
    MH_CHECK(mh_fs_fsync_dir(dir, err));
out:
    mh_map_fini(&names);
    return st;
}

mh_status mh_pkg_recover(const char *outdir, mh_error *err)
{
    char dir[PATH_MAX];
    MH_TRY(mh_fs_path(dir, sizeof dir, err, "%s/packages", outdir));
    if (!mh_fs_is_dir(dir)) return MH_OK;
    return recover_dir(dir, 0, err);
}

/* ---- index ---- */

static int cmp_row(const void *a, const void *b)
{
    return strcmp(((const struct mh_pkg_index_row *)a)->org, ((const struct mh_pkg_index_row *)b)->org);
}

mh_status mh_pkg_write_index(const char *outdir, const struct mh_pkg_index_row *rows, size_t n,
                             mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_buf b;
    struct mh_pkg_index_row *sorted = NULL;
    char dir[PATH_MAX], path[PATH_MAX];
    mh_buf_init(&b, MH_PKG_MAX_TAG_BYTES);
    MH_CHECK(mh_fs_path(dir, sizeof dir, err, "%s/packages", outdir));
    MH_CHECK(mh_fs_path(path, sizeof path, err, "%s/index.csv", dir));
    if (n) {
        sorted = mh_calloc(n, sizeof *sorted);
        if (!sorted) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
        memcpy(sorted, rows, n * sizeof *rows);
        qsort(sorted, n, sizeof *sorted, cmp_row);
    }
    st = mh_buf_puts(&b, "org,kind,messages,secrets\r\n");
    for (size_t i = 0; i < n && !st; i++) {
        if (!sorted[i].org || !sorted[i].kind) {
            st = mh_error_set(err, MH_EINVAL, "index row without org or kind", NULL);
            goto out;
        }
        if (!(st = csv_field(&b, sorted[i].org)) && !(st = mh_buf_putc(&b, ',')) &&
            !(st = csv_field(&b, sorted[i].kind)))
            st = mh_buf_printf(&b, ",%llu,%llu\r\n", (unsigned long long)sorted[i].messages,
                               (unsigned long long)sorted[i].secrets);
    }
    if (st) {
        buf_fail(err, st, "index too large");
        goto out;
    }
    MH_CHECK(mh_fs_mkdirs(dir, err));
    MH_CHECK(mh_fs_write_atomic(path, b.data, b.len, err));
out:
    mh_free(sorted);
    mh_buf_fini(&b);
    return st;
}

/* ---- deterministic ustar ---- */

struct tar {
    int fd;
    const char *path;
    uint64_t written;
    long long mtime;
};

static mh_status tar_write(struct tar *t, const void *p, size_t n, mh_error *err)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(t->fd, c, n);
        if (w < 0) {
            if (errno == EINTR) continue;
            return mh_error_io(err, "cannot write archive", t->path);
        }
        c += w;
        n -= (size_t)w;
        t->written += (uint64_t)w;
    }
    return MH_OK;
}

static mh_status tar_header(struct tar *t, const char *name, bool dir, uint64_t size, mh_error *err)
{
    unsigned char h[512];
    memset(h, 0, sizeof h);
    size_t n = strlen(name);
    const char *nm = name;
    size_t pre = 0;
    if (n > 100) { /* split into prefix (<=155) '/' name (<=100) */
        size_t cut = 0;
        for (size_t i = 0; i < n; i++)
            if (name[i] == '/' && i <= 155 && n - i - 1 <= 100 && n - i - 1 > 0) {
                cut = i;
                break;
            }
        if (!cut) return mh_error_set(err, MH_ELIMIT, "name too long for ustar", "%.100s", name);
        pre = cut;
        nm = name + cut + 1;
        memcpy(h + 345, name, pre);
    }
    memcpy(h, nm, strlen(nm));
    snprintf((char *)h + 100, 8, "%07o", dir ? 0755u : 0644u);
    snprintf((char *)h + 108, 8, "%07o", 0u);
    snprintf((char *)h + 116, 8, "%07o", 0u);
    snprintf((char *)h + 124, 12, "%011llo", (unsigned long long)size);
    snprintf((char *)h + 136, 12, "%011llo", (unsigned long long)t->mtime);
    h[156] = dir ? '5' : '0';
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (size_t i = 0; i < sizeof h; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    return tar_write(t, h, sizeof h, err);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Add dir (on disk) as member prefix `name` and everything below it. */
static mh_status tar_tree(struct tar *t, const char *dir, const char *name, int depth, bool top,
                          mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_map names;
    const char **list = NULL;
    DIR *d = NULL;
    int fd = -1;
    char *chunk = NULL;
    mh_map_init(&names, MH_PKG_MAX_MESSAGES + 16, false);
    if (depth > MH_MAX_PATH_DEPTH) return mh_error_set(err, MH_ELIMIT, "directory too deep", NULL);
    char member[PATH_MAX];
    MH_CHECK(mh_fs_path(member, sizeof member, err, "%s/", name));
    MH_CHECK(tar_header(t, member, true, 0, err));
    d = opendir(dir);
    if (!d) {
        st = mh_error_io(err, "cannot read directory", dir);
        goto out;
    }
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue; /* ., .., and our .mh-* temporaries */
        if (top && !strncmp(e->d_name, "supplement-", 11)) continue;
        struct mh_map_entry *ent;
        st = mh_map_put(&names, e->d_name, strlen(e->d_name), &ent, NULL);
        if (st) {
            mh_error_set(err, st, "too many files", NULL);
            goto out;
        }
    }
    if (names.n) {
        list = mh_calloc(names.n, sizeof *list);
        if (!list) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
        for (size_t i = 0; i < names.n; i++) list[i] = names.entries[i].key.ptr;
        qsort(list, names.n, sizeof *list, cmp_str);
    }
    chunk = mh_malloc(65536);
    if (!chunk) {
        st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
        goto out;
    }
    for (size_t i = 0; i < names.n; i++) {
        char p[PATH_MAX], m[PATH_MAX];
        struct stat sb;
        MH_CHECK(mh_fs_path(p, sizeof p, err, "%s/%s", dir, list[i]));
        MH_CHECK(mh_fs_path(m, sizeof m, err, "%s/%s", name, list[i]));
        if (lstat(p, &sb) != 0) {
            st = mh_error_io(err, "cannot stat", p);
            goto out;
        }
        if (S_ISDIR(sb.st_mode)) {
            MH_CHECK(tar_tree(t, p, m, depth + 1, false, err));
            continue;
        }
        if (!S_ISREG(sb.st_mode)) continue; /* packages hold only files and directories */
        if ((long long)sb.st_size >= MH_TAR_MAX_FILE_BYTES) {
            st = mh_error_set(err, MH_ELIMIT, "file too large for ustar", "%.200s", p);
            goto out;
        }
        MH_CHECK(tar_header(t, m, false, (uint64_t)sb.st_size, err));
        fd = open(p, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0) {
            st = mh_error_io(err, "cannot open file", p);
            goto out;
        }
        uint64_t left = (uint64_t)sb.st_size;
        while (left) {
            ssize_t r = read(fd, chunk, left < 65536 ? (size_t)left : 65536);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                st = r == 0 ? mh_error_set(err, MH_EIO, "file shrank while archiving", "%.200s", p)
                            : mh_error_io(err, "cannot read file", p);
                goto out;
            }
            MH_CHECK(tar_write(t, chunk, (size_t)r, err));
            left -= (uint64_t)r;
        }
        close(fd);
        fd = -1;
        static const char zeros[512];
        size_t pad = (size_t)((512 - (sb.st_size % 512)) % 512);
        MH_CHECK(tar_write(t, zeros, pad, err));
    }
out:
    if (fd >= 0) close(fd);
    mh_free(chunk);
    if (d) closedir(d);
    mh_free(list);
    mh_map_fini(&names);
    return st;
}

mh_status mh_pkg_tar(const char *pkgdir, mh_time mtime, const char *out_path, mh_error *err)
{
    mh_status st = MH_OK;
    char tmp[PATH_MAX], parent[PATH_MAX];
    const char *base;
    struct tar t = {-1, out_path, 0, 0};
    char dir[PATH_MAX];
    MH_TRY(mh_fs_path(tmp, sizeof tmp, err, "%s.mh-tmp", out_path));
    MH_TRY(mh_fs_path(dir, sizeof dir, err, "%s", pkgdir));
    for (size_t k = strlen(dir); k > 1 && dir[k - 1] == '/'; k--) dir[k - 1] = '\0';
    split_path(dir, parent, sizeof parent, &base);
    t.mtime = (mtime == MH_TIME_NONE || mtime < 0) ? 0 : (long long)(mtime / MH_USEC_PER_SEC);
    t.fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (t.fd < 0) return mh_error_io(err, "cannot create archive", tmp);
    MH_CHECK(tar_tree(&t, dir, base, 0, true, err));
    static const char zeros[10240];
    MH_CHECK(tar_write(&t, zeros, 1024, err));
    size_t pad = (size_t)((10240 - t.written % 10240) % 10240);
    MH_CHECK(tar_write(&t, zeros, pad, err));
    if (fsync(t.fd) != 0) {
        st = mh_error_io(err, "cannot sync archive", tmp);
        goto out;
    }
    if (close(t.fd) != 0) {
        t.fd = -1;
        st = mh_error_io(err, "cannot write archive", tmp);
        goto out;
    }
    t.fd = -1;
    if (rename(tmp, out_path) != 0) {
        st = mh_error_io(err, "cannot rename archive", out_path);
        goto out;
    }
    MH_CHECK(mh_fs_fsync_parent(out_path, err));
out:
    if (t.fd >= 0) close(t.fd);
    if (st) unlink(tmp);
    return st;
}

mh_status mh_pkg_encrypt(const char *pkgdir, mh_time mtime, const mh_certs *certs,
                         const char *out_path, mh_error *err)
{
    char tarpath[PATH_MAX];
    MH_TRY(mh_fs_path(tarpath, sizeof tarpath, err, "%s.tar.mh-tmp", out_path));
    mh_status st = mh_pkg_tar(pkgdir, mtime, tarpath, err);
    if (!st) st = mh_cms_encrypt_file(certs, tarpath, out_path, err);
    unlink(tarpath);
    return st;
}
