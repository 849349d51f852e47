/*
 * cli/secrets.c -- `mailhound secrets PATH...`: secrets in decoded mail, gitleaks rules
 *
 * Pipeline: mail store index (ingest/mailstore.h) -> per distinct message
 * content: MIME walk (ingest/mime.h) -> fragments -> secret scan
 * (secrets/scan.h) -> one line per finding. Files under PATH that are not
 * mail are scanned as plain text (path-only rules on binary ones).
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
    bool table, show, quiet;
    const struct mh_secrets_engine *eng;
    struct mh_secrets_scratch *scratch;
    struct mh_secrets_scan_stats sst;
    mh_mailstore *store;
    /* what is being scanned now */
    const char *message_id, *mailbox, *owner, *folder, *file, *part, *filename;
    struct mh_buf path;   /* synthetic fragment path */
    struct mh_buf line;   /* output being built */
    struct mh_buf others; /* NUL-separated paths of non-mail files */
    size_t nothers;
    uint64_t findings, generic, parts, text_bytes, scanned, malformed, unparsable;
    uint64_t other_files, other_binary, other_skipped;
    mh_status err_st;
};

/* ---- output ---- */

static mh_status redact(const char *s, size_t n, bool show, struct mh_buf *out)
{
    mh_buf_clear(out);
    if (show) return mh_buf_append(out, s, n);
    size_t chars = 0;
    for (size_t i = 0; i < n; i++) chars += ((unsigned char)s[i] & 0xC0) != 0x80;
    size_t k = chars >= 16 ? 4 : chars / 4;
    /* byte offset after the first k characters, and of the last k */
    size_t head = 0, seen = 0;
    while (head < n && seen < k) {
        head++;
        while (head < n && ((unsigned char)s[head] & 0xC0) == 0x80) head++;
        seen++;
    }
    size_t tail = n;
    seen = 0;
    while (tail > head && seen < k) {
        tail--;
        while (tail > head && ((unsigned char)s[tail] & 0xC0) == 0x80) tail--;
        seen++;
    }
    MH_TRY(mh_buf_append(out, s, head));
    MH_TRY(mh_buf_append(out, "****", 4));
    return mh_buf_append(out, s + tail, n - tail);
}

static void hex(const unsigned char *d, size_t n, char *out)
{
    static const char X[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = X[d[i] >> 4];
        out[2 * i + 1] = X[d[i] & 15];
    }
    out[2 * n] = '\0';
}

static void jw_opt(struct mh_jw *w, const char *k, const char *v)
{
    mh_jw_key(w, k);
    if (v)
        mh_jw_str(w, v);
    else
        mh_jw_null(w);
}

static mh_status emit(void *ctx, const struct mh_secret_finding *f, const char *text)
{
    struct run *r = ctx;
    mh_status st;
    struct mh_buf sec;
    mh_buf_init(&sec, MH_MAX_FRAGMENT_BYTES + 16);
    if (f->path_only)
        st = redact(r->path.data, r->path.len, true, &sec);
    else
        st = redact(text + f->secret_start, f->secret_end - f->secret_start, r->show, &sec);
    char fp[65], ent[32];
    hex(f->sha256, 32, fp);
    snprintf(ent, sizeof ent, "%.4f", f->entropy);
    r->findings++;
    r->generic += f->generic;
    if (st) {
        /* out of memory: reported below */
    } else if (r->table) {
        st = mh_buf_printf(&r->line, "%-28s %-8s %-24s %-10s %-8s %5u  %-36s %.12s  %s\n",
                           f->rule->id, f->generic ? "generic" : "specific",
                           r->mailbox ? r->mailbox : "-", r->folder ? r->folder : "-", r->part,
                           (unsigned)f->line, sec.data ? sec.data : "", fp,
                           r->message_id ? r->message_id : r->file);
    } else {
        struct mh_jw w;
        mh_jw_init(&w, &r->line);
        mh_jw_obj_begin(&w);
        jw_opt(&w, "rule", f->rule->id);
        jw_opt(&w, "tier", f->generic ? "generic" : "specific");
        jw_opt(&w, "message_id", r->message_id);
        jw_opt(&w, "mailbox", r->mailbox);
        jw_opt(&w, "owner", r->owner);
        jw_opt(&w, "folder", r->folder);
        jw_opt(&w, "file", r->file);
        jw_opt(&w, "part", r->part);
        jw_opt(&w, "filename", r->filename);
        mh_jw_key(&w, "line");
        mh_jw_uint(&w, f->line);
        mh_jw_key(&w, "column");
        mh_jw_uint(&w, f->column);
        mh_jw_key(&w, "secret");
        mh_jw_strn(&w, sec.data ? sec.data : "", sec.len);
        jw_opt(&w, "fingerprint", fp);
        mh_jw_key(&w, "entropy");
        mh_jw_raw(&w, ent, strlen(ent));
        mh_jw_obj_end(&w);
        st = mh_jw_status(&w);
        if (!st) st = mh_buf_putc(&r->line, '\n');
    }
    mh_buf_fini(&sec);
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

/* ---- scanning ---- */

static mh_status scan_text(struct run *r, const char *text, size_t n)
{
    mh_status st = mh_secrets_scan(r->eng, r->scratch, r->path.data, text, n, emit, r, &r->sst);
    if (st == MH_ENOMEM) r->err_st = st;
    return st;
}

static mh_status set_path(struct run *r, const char *part, const char *filename)
{
    mh_buf_clear(&r->path);
    if (r->message_id) {
        MH_TRY(mh_buf_printf(&r->path, "%s/%s/", r->mailbox, r->folder));
        /* the Message-ID without <>, '/' made safe for path rules */
        size_t n = strlen(r->message_id);
        for (size_t i = 1; i + 1 < n; i++)
            MH_TRY(mh_buf_putc(&r->path, r->message_id[i] == '/' ? '_' : r->message_id[i]));
        MH_TRY(mh_buf_printf(&r->path, "/%s", part));
        if (filename) MH_TRY(mh_buf_printf(&r->path, "/%s", filename));
    } else {
        MH_TRY(mh_buf_puts(&r->path, r->file));
    }
    return MH_OK;
}

static mh_status on_fragment(void *ctx, const struct mh_mime_fragment *f)
{
    struct run *r = ctx;
    r->parts++;
    r->part = f->part;
    r->filename = f->filename;
    MH_TRY(set_path(r, f->part, f->filename));
    if (f->data) {
        r->text_bytes += f->len;
        return scan_text(r, f->data, f->len);
    }
    /* binary, opaque, skipped: only path rules (an attachment's file name) */
    return f->filename ? scan_text(r, NULL, 0) : MH_OK;
}

static void warn_malformed(struct run *r, const struct mh_mail_loc *loc, const char *why)
{
    r->malformed++;
    if (r->quiet) return;
    const struct mh_mail_file *f = mh_mailstore_file(r->store, loc->file);
    mh_error e;
    mh_error_clear(&e);
    mh_error_set(&e, MH_EPARSE, "malformed message", "%s", why);
    mh_error_at(&e, f->path, 0, 0, loc->start, loc->index + 1);
    char line[1024];
    mh_error_format(&e, line, sizeof line);
    fprintf(stderr, "mailhound: warning: %s\n", line);
}

static bool seen_copy(const mh_mailstore *s, const struct mh_mail_loc *loc, size_t li)
{
    const struct mh_mail_msg *m = mh_mailstore_msg(s, loc->msg);
    for (uint32_t k = m->first_loc; k != MH_MAIL_NONE && k < li;) {
        const struct mh_mail_loc *o = mh_mailstore_loc(s, k);
        if (!memcmp(o->sha256, loc->sha256, 32)) return true;
        k = o->next;
    }
    return false;
}

static mh_status scan_store(struct run *r, struct mh_mime_walker *w)
{
    mh_status st = MH_OK;
    struct mh_buf raw;
    mh_buf_init(&raw, MH_MAX_MESSAGE_BYTES + 16);
    size_t n = mh_mailstore_nlocs(r->store);
    for (size_t li = 0; li < n && !st; li++) {
        const struct mh_mail_loc *loc = mh_mailstore_loc(r->store, li);
        if (seen_copy(r->store, loc, li)) continue;
        const struct mh_mail_msg *m = mh_mailstore_msg(r->store, loc->msg);
        const struct mh_mailbox *mb = mh_mailstore_mailbox(r->store, loc->mailbox);
        mh_error err;
        mh_error_clear(&err);
        st = mh_mailstore_read(r->store, loc, true, &raw, &err);
        if (st) {
            mh_cli_error("reading a message", &err);
            st = st == MH_ENOMEM ? st : MH_OK;
            r->err_st = MH_EIO;
            continue;
        }
        r->scanned++;
        r->message_id = m->message_id;
        r->mailbox = mb->name;
        r->owner = mb->owner;
        r->folder = mh_mailstore_folder(r->store, loc->folder);
        r->file = mh_mailstore_file(r->store, loc->file)->path;
        struct mh_mime_stats ms;
        st = mh_mime_walk(w, raw.data, raw.len, on_fragment, r, &ms, &err);
        if (st == MH_EPARSE || st == MH_ELIMIT) {
            /* GMime could not read it at all: scan the bytes as they are */
            r->unparsable++;
            warn_malformed(r, loc, st == MH_ELIMIT ? "too large to parse" : ms.reason);
            r->part = "raw";
            r->filename = NULL;
            st = set_path(r, "raw", NULL);
            if (!st) {
                struct mh_buf u;
                mh_buf_init(&u, (size_t)MH_MAX_MESSAGE_BYTES * 3);
                st = mh_utf8_valid(raw.data, raw.len) ? mh_buf_append(&u, raw.data, raw.len)
                                                      : mh_cp1252_to_utf8(raw.data, raw.len, &u);
                r->parts++;
                r->text_bytes += u.len;
                if (!st) st = scan_text(r, u.data, u.len);
                mh_buf_fini(&u);
            }
            continue;
        }
        if (st) break;
        if (ms.malformed && !(loc->flags & MH_LOC_MALFORMED)) warn_malformed(r, loc, ms.reason);
    }
    mh_buf_fini(&raw);
    return st;
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
        r->message_id = r->mailbox = r->owner = r->folder = r->filename = NULL;
        r->file = p;
        r->part = "file";
        st = set_path(r, "file", NULL);
        if (st) break;
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
            st = scan_text(r, NULL, 0);
            continue;
        }
        mh_buf_clear(&u);
        st = mh_utf8_valid(data.data ? data.data : "", data.len)
                 ? mh_buf_append(&u, data.data ? data.data : "", data.len)
                 : mh_cp1252_to_utf8(data.data, data.len, &u);
        r->text_bytes += u.len;
        if (!st) st = scan_text(r, u.data ? u.data : "", u.len);
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
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has = i + 1 < argc;
        if (mh_cli_is_help(a)) {
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
    r.show = show;
    r.quiet = quiet;
    mh_buf_init(&r.path, 1u << 20);
    mh_buf_init(&r.line, (size_t)MH_MAX_FRAGMENT_BYTES * 8);
    mh_buf_init(&r.others, (size_t)1 << 32);
    struct mh_gl_config *cfg = NULL;
    struct mh_secrets_engine *eng = NULL;
    struct mh_mime_walker *w = NULL;
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
    if (mh_secrets_scratch_new(eng, &r.scratch) || mh_mime_walker_new(&w, &err)) {
        mh_cli_fail("out of memory");
        goto out;
    }
    r.eng = eng;
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
    if (scan_store(&r, w) || scan_others(&r) || r.err_st == MH_ENOMEM) {
        mh_cli_fail("secrets: out of memory");
        goto out;
    }
    if (r.line.len) fwrite(r.line.data, 1, r.line.len, r.out);
    if (fflush(r.out) != 0 || ferror(r.out)) {
        mh_cli_fail("secrets: cannot write the output");
        goto out;
    }
    const struct mh_mailstore_stats *ss = mh_mailstore_stats(r.store);
    fprintf(stderr,
            "mailhound: secrets: %llu messages read (%llu distinct), %llu scanned, %llu malformed; "
            "%llu parts, %llu bytes of decoded text; %llu other files (%llu binary); "
            "%llu findings (%llu generic); %zu rules\n",
            (unsigned long long)ss->locations, (unsigned long long)ss->distinct,
            (unsigned long long)r.scanned, (unsigned long long)r.malformed,
            (unsigned long long)r.parts, (unsigned long long)r.text_bytes,
            (unsigned long long)r.other_files, (unsigned long long)r.other_binary,
            (unsigned long long)r.findings, (unsigned long long)r.generic, cs.rules);
    rc = r.err_st ? MH_EXIT_ERROR : (fail_on && r.findings) ? MH_EXIT_ALERT : MH_EXIT_OK;
out:
    if (r.out && r.out != stdout) fclose(r.out);
    mh_mailstore_free(r.store);
    mh_mime_walker_free(w);
    mh_secrets_scratch_free(r.scratch);
    mh_secrets_engine_free(eng);
    mh_gl_free(cfg);
    mh_buf_fini(&r.others);
    mh_buf_fini(&r.line);
    mh_buf_fini(&r.path);
    mh_free(paths);
    return rc;
}
