/*
 * cli/secrets.c -- `mailhound secrets PATH...`: secrets in decoded mail, gitleaks rules
 *
 * Pipeline: mail store index (ingest/mailstore.h) -> per distinct message
 * content: MIME walk (ingest/mime.h) -> fragments -> secret scan
 * (secrets/scan.h) -> one line per finding; the store walk, redaction and
 * the jsonl rendering are secrets/mail.h (shared with `mailhound
 * investigate`). Files under PATH that are not mail are scanned as plain
 * text (path-only rules on binary ones).
 *
 * Output contract (jsonl; keys always in this order, docs/secrets.md):
 *   {"rule":"aws-access-token","tier":"specific","message_id":"<...>",
 *    "mailbox":"alice@example.com","owner":"alice@example.com",
 *    "folder":"INBOX","file":"store/alice@example.com.mbox","part":"1.2",
 *    "filename":null,"line":3,"column":12,"secret":"AKIA****MPLE",
 *    "fingerprint":"<sha256 hex of the secret>","entropy":3.6842}
 * A plain text file gives "message_id":null,"mailbox":null,...,"part":"file".
 * The secret is never printed in full unless --show-secrets: the first and
 * last 4 characters stay (fewer for short secrets: a quarter of the length
 * each, so at least half is always hidden) and the middle becomes "****".
 *
 * Scan unit: each location of the index in order; a copy whose raw bytes
 * (SHA-256) equal an earlier copy of the same message is not scanned again.
 * Malformed messages are reported once (file, message number, byte offset,
 * reason) and still scanned as far as GMime read them; one GMime cannot
 * parse at all is scanned as raw text (part "raw").
 *
 * Summary on stderr: messages read / scanned / malformed, parts, bytes of
 * decoded text, findings. Exit: 0 done, 1 usage or input error, 2 findings
 * with --fail-on-finding.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/hash.h"
#include "base/jsonw.h"
#include "cli/cli.h"
#include "ingest/mailstore.h"
#include "ingest/mime.h"
#include "mailhound/limits.h"
#include "secrets/gitleaks.h"
#include "secrets/mail.h"
#include "secrets/scan.h"

#define OUT_FLUSH_BYTES (1u << 16)

static void usage(FILE *out)
{
    fputs("usage: mailhound secrets [options] PATH...\n"
          "       mailhound secrets --help\n"
          "\n"
          "Find secrets (keys, tokens, passwords) in mail, with gitleaks rules, in\n"
          "decoded text only: MIME bodies and text attachments after transfer and\n"
          "charset decoding, header blocks, embedded messages; never in base64 or\n"
          "quoted-printable form.\n"
          "\n"
          "PATH is an mbox file, a Maildir (cur/, new/, Maildir++ .Folders), an MH\n"
          "tree (the Enron maildir/<user>/<folder>/<N> layout), a .eml file, or a\n"
          "folder of such mailboxes (one sub-folder or mbox file per mailbox).\n"
          "Other files found under PATH are scanned as plain text.\n"
          "\n"
          "Options:\n"
          "  --rules FILE       gitleaks TOML rule file (default: the rules shipped in\n"
          "                     rules/secrets/default.toml; [extend] useDefault = true\n"
          "                     extends those)\n"
          "  --gitleaks FILE    same as --rules, for gitleaks' own gitleaks.toml\n"
          "  --format FMT       jsonl (default) or table\n"
          "  -o FILE            write findings to FILE instead of standard output\n"
          "  --show-secrets     print secrets in full (default: first and last 4\n"
          "                     characters, the middle as ****)\n"
          "  --owner FILE       mailbox owners: lines \"<mailbox> <address>\"\n"
          "  --fail-on-finding  exit 2 when anything was found\n"
          "  -q, --quiet        no per-message warnings (still counted)\n"
          "  -h, --help         this text\n"
          "\n"
          "One finding per line (jsonl): rule, tier (specific, or generic for the\n"
          "lower-confidence generic rules), message_id, mailbox, owner, folder,\n"
          "file, part (MIME part path such as 1.2, headers, 2.headers for an\n"
          "embedded message, file for plain text), filename, line and column in\n"
          "the decoded part, secret (redacted), fingerprint (SHA-256 of the\n"
          "secret, lower-case hex), entropy. See docs/secrets.md.\n"
          "\n"
          "Exit status: 0 run completed, 1 usage or input error, 2 findings with\n"
          "--fail-on-finding.\n",
          out);
}

struct run {
    FILE *out;
    bool table, quiet;
    mh_secrets_scanner *sc;
    mh_mailstore *store;
    struct mh_buf line;   /* output being built */
    struct mh_buf others; /* NUL-separated paths of non-mail files */
    size_t nothers;
    uint64_t malformed;   /* reported by the mail store */
    struct mh_cli_bad msgs; /* reported by the scan (mh_cli_on_message) */
    uint64_t other_files, other_binary, other_skipped;
    mh_status err_st;
};

/* ---- output ---- */

static mh_status emit(void *ctx, const struct mh_secrets_place *p)
{
    struct run *r = ctx;
    mh_status st;
    if (r->table)
        st = mh_buf_printf(&r->line, "%-28s %-8s %-24s %-10s %-8s %5u  %-36.*s %.12s  %s\n",
                           p->rule, p->generic ? "generic" : "specific",
                           p->mailbox ? p->mailbox : "-", p->folder ? p->folder : "-", p->part,
                           (unsigned)p->line, (int)p->secret_len, p->secret, p->fingerprint,
                           p->message_id ? p->message_id : p->file);
    else
        st = mh_secrets_place_json(p, &r->line);
    if (st) {
        r->err_st = MH_ENOMEM;
        return MH_ENOMEM;
    }
    if (r->line.len >= OUT_FLUSH_BYTES) {
        fwrite(r->line.data, 1, r->line.len, r->out);
        mh_buf_clear(&r->line);
    }
    return MH_OK;
}

/* A malformed message (warning) or one that could not be read (error). */
static void on_malformed(void *ctx, const mh_error *err)
{
    struct run *r = ctx;
    mh_cli_on_message(&r->msgs, err);
    if (r->msgs.files) r->err_st = MH_EIO;
}

static void on_other(void *ctx, const char *path, uint64_t size)
{
    (void)size;
    struct run *r = ctx;
    if (mh_buf_append(&r->others, path, strlen(path) + 1) == MH_OK)
        r->nothers++;
    else
        r->other_skipped++;
}

static void on_bad(void *ctx, const mh_error *err, bool fatal)
{
    struct run *r = ctx;
    if (!fatal)
        r->malformed++;
    else
        r->err_st = MH_EIO;
    if (r->quiet && !fatal) return;
    char line[1024];
    mh_error_format(err, line, sizeof line);
    fprintf(stderr, "mailhound: %s: %s\n", fatal ? "error" : "warning", line);
}

static mh_status scan_others(struct run *r)
{
    struct mh_buf data, u;
    mh_buf_init(&data, MH_MAX_FRAGMENT_BYTES + 1);
    mh_buf_init(&u, (size_t)MH_MAX_FRAGMENT_BYTES * 3 + 16);
    mh_status st = MH_OK;
    const char *p = r->others.data;
    for (size_t i = 0; i < r->nothers && !st; i++, p += strlen(p) + 1) {
        FILE *f = fopen(p, "rb");
        if (!f) {
            mh_cli_fail("cannot read %s: %s", p, strerror(errno));
            r->err_st = MH_EIO;
            continue;
        }
        mh_buf_clear(&data);
        char chunk[65536];
        size_t k;
        bool big = false;
        while ((k = fread(chunk, 1, sizeof chunk, f)) > 0)
            if (mh_buf_append(&data, chunk, k)) {
                big = true;
                break;
            }
        fclose(f);
        r->other_files++;
        size_t sniff = data.len < 8000 ? data.len : 8000;
        if (big || (sniff && memchr(data.data, '\0', sniff))) {
            /* binary or too large: only path rules */
            if (big) {
                r->other_skipped++;
                if (!r->quiet)
                    fprintf(stderr,
                            "mailhound: warning: %s: larger than %u bytes, content not scanned\n",
                            p, (unsigned)MH_MAX_FRAGMENT_BYTES);
            } else {
                r->other_binary++;
            }
            st = mh_secrets_scan_file_text(r->sc, p, NULL, 0);
            continue;
        }
        mh_buf_clear(&u);
        st = mh_utf8_valid(data.data ? data.data : "", data.len)
                 ? mh_buf_append(&u, data.data ? data.data : "", data.len)
                 : mh_cp1252_to_utf8(data.data, data.len, &u);
        if (!st) st = mh_secrets_scan_file_text(r->sc, p, u.data ? u.data : "", u.len);
    }
    mh_buf_fini(&u);
    mh_buf_fini(&data);
    return st;
}

static const char *data_dir(void)
{
    const char *d = getenv("MAILHOUND_DATA");
    return d && *d ? d : MH_DATA_DIR;
}

int mh_cli_secrets(int argc, char **argv)
{
    const char *rules = NULL, *fmt = "jsonl", *outpath = NULL, *owner = NULL;
    bool show = false, quiet = false, fail_on = false;
    const char **paths = mh_calloc((size_t)argc + 1, sizeof *paths);
    size_t npaths = 0;
    if (!paths) return MH_EXIT_ERROR;
    bool rest = false; /* after "--": every word is a PATH */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (rest) {
            paths[npaths++] = a;
        } else if (strcmp(a, "--") == 0) {
            rest = true;
        } else if (mh_cli_is_help(a)) {
            usage(stdout);
            mh_free(paths);
            return MH_EXIT_OK;
        } else if ((!strcmp(a, "--rules") || !strcmp(a, "--gitleaks")) && has) {
            rules = argv[++i];
        } else if (!strcmp(a, "--format") && has) {
            fmt = argv[++i];
        } else if (!strcmp(a, "-o") && has) {
            outpath = argv[++i];
        } else if (!strcmp(a, "--owner") && has) {
            owner = argv[++i];
        } else if (!strcmp(a, "--show-secrets")) {
            show = true;
        } else if (!strcmp(a, "--fail-on-finding")) {
            fail_on = true;
        } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
            quiet = true;
        } else if (a[0] == '-' && a[1]) {
            mh_cli_fail("secrets: unknown or incomplete option '%s' (see mailhound secrets --help)",
                        a);
            mh_free(paths);
            return MH_EXIT_ERROR;
        } else {
            paths[npaths++] = a;
        }
    }
    if (!npaths || (strcmp(fmt, "jsonl") && strcmp(fmt, "table"))) {
        usage(stderr);
        mh_free(paths);
        return MH_EXIT_ERROR;
    }

    int rc = MH_EXIT_ERROR;
    struct run r;
    memset(&r, 0, sizeof r);
    r.table = !strcmp(fmt, "table");
    r.quiet = quiet;
    r.msgs.quiet = quiet;
    mh_buf_init(&r.line, (size_t)MH_MAX_FRAGMENT_BYTES * 8);
    mh_buf_init(&r.others, (size_t)1 << 32);
    struct mh_gl_config *cfg = NULL;
    struct mh_secrets_engine *eng = NULL;
    mh_error err;
    mh_error_clear(&err);

    char def[4096];
    snprintf(def, sizeof def, "%s/rules/secrets/default.toml", data_dir());
    struct mh_gl_load_opts lo = {def, NULL};
    if (mh_gl_load_file(rules ? rules : def, &lo, &cfg, &err)) {
        mh_cli_error("cannot load the secret rules", &err);
        goto out;
    }
    const char *const *warns;
    size_t nw = mh_gl_config_warnings(cfg, &warns);
    for (size_t i = 0; i < nw; i++) fprintf(stderr, "mailhound: warning: %s\n", warns[i]);
    struct mh_secrets_compile_stats cs;
    if (mh_secrets_compile(cfg, 0, &eng, &cs, &err)) {
        mh_cli_error("cannot compile the secret rules", &err);
        goto out;
    }
    struct mh_secrets_mail_opts mo = {eng, show, NULL, emit, on_malformed, &r};
    if (mh_secrets_scanner_new(&mo, &r.sc, &err)) {
        mh_cli_fail("out of memory");
        goto out;
    }
    struct mh_mailstore_opts so = {on_bad, on_other, &r, owner};
    if (mh_mailstore_new(&so, &r.store, &err)) {
        mh_cli_error("cannot set up the mail store", &err);
        goto out;
    }
    for (size_t i = 0; i < npaths; i++)
        if (mh_mailstore_add(r.store, paths[i], &err)) {
            mh_cli_error(NULL, &err);
            r.err_st = MH_EIO;
            if (err.code == MH_ENOMEM || err.code == MH_ELIMIT) goto out;
        }
    r.out = mh_cli_open_out(outpath);
    if (!r.out) goto out;
    if (r.table)
        fprintf(r.out, "%-28s %-8s %-24s %-10s %-8s %5s  %-36s %-12s  %s\n", "RULE", "TIER",
                "MAILBOX", "FOLDER", "PART", "LINE", "SECRET", "FINGERPRINT", "MESSAGE-ID / FILE");
    if (mh_secrets_scan_store(r.sc, r.store) || scan_others(&r) || r.err_st == MH_ENOMEM) {
        mh_cli_fail("secrets: out of memory");
        goto out;
    }
    if (r.line.len) fwrite(r.line.data, 1, r.line.len, r.out);
    if (fflush(r.out) != 0 || ferror(r.out)) {
        mh_cli_fail("secrets: cannot write the output");
        goto out;
    }
    const struct mh_mailstore_stats *ss = mh_mailstore_stats(r.store);
    const struct mh_secrets_mail_stats *ms = mh_secrets_scanner_stats(r.sc);
    fprintf(stderr,
            "mailhound: secrets: %llu messages read (%llu distinct), %llu scanned, %llu malformed; "
            "%llu parts, %llu bytes of decoded text; %llu other files (%llu binary); "
            "%llu findings (%llu generic); %zu rules\n",
            (unsigned long long)ss->locations, (unsigned long long)ss->distinct,
            (unsigned long long)ms->scanned, (unsigned long long)(r.malformed + ms->malformed),
            (unsigned long long)ms->parts, (unsigned long long)ms->text_bytes,
            (unsigned long long)r.other_files, (unsigned long long)r.other_binary,
            (unsigned long long)ms->findings, (unsigned long long)ms->generic, cs.rules);
    rc = r.err_st ? MH_EXIT_ERROR : (fail_on && ms->findings) ? MH_EXIT_ALERT : MH_EXIT_OK;
out:
    if (r.out && r.out != stdout) fclose(r.out);
    mh_mailstore_free(r.store);
    mh_secrets_scanner_free(r.sc);
    mh_secrets_engine_free(eng);
    mh_gl_free(cfg);
    mh_buf_fini(&r.others);
    mh_buf_fini(&r.line);
    mh_free(paths);
    return rc;
}
