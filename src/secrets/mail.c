/*
 * secrets/mail.c -- secrets in a mail store, message by message (mail.h)
 *
 * Moved out of cli/secrets.c so that `mailhound secrets` and `mailhound
 * investigate` share one scan: index order, the caller's per-copy filter,
 * identical wanted copies skipped, MIME fragments scanned, raw fallback,
 * redaction, the jsonl rendering. The scanner holds "what is being scanned
 * now" (message, mailbox, folder, part) while mh_mime_walk delivers
 * fragments and mh_secrets_scan delivers findings; each finding becomes an
 * mh_secrets_place for the caller.
 */
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "base/sha256.h"
#include "base/utf8.h"
#include "mailhound/limits.h"
#include "secrets/mail.h"

struct mh_secrets_scanner {
    struct mh_secrets_mail_opts o;
    struct mh_secrets_scratch *scratch;
    struct mh_mime_walker *walker;
    struct mh_secrets_mail_stats st;
    /* what is being scanned now */
    const char *message_id, *mailbox, *owner, *folder, *file, *part, *filename;
    struct mh_buf path; /* synthetic fragment path */
    struct mh_buf sec;  /* the secret as handed out */
};

mh_status mh_secrets_redact(const char *s, size_t n, struct mh_buf *out)
{
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

static void jw_opt(struct mh_jw *w, const char *k, const char *v)
{
    mh_jw_key(w, k);
    if (v)
        mh_jw_str(w, v);
    else
        mh_jw_null(w);
}

mh_status mh_secrets_place_json(const struct mh_secrets_place *p, struct mh_buf *out)
{
    char ent[32];
    snprintf(ent, sizeof ent, "%.4f", p->entropy);
    struct mh_jw w;
    mh_jw_init(&w, out);
    mh_jw_obj_begin(&w);
    jw_opt(&w, "rule", p->rule);
    jw_opt(&w, "tier", p->generic ? "generic" : "specific");
    jw_opt(&w, "message_id", p->message_id);
    jw_opt(&w, "mailbox", p->mailbox);
    jw_opt(&w, "owner", p->owner);
    jw_opt(&w, "folder", p->folder);
    jw_opt(&w, "file", p->file);
    jw_opt(&w, "part", p->part);
    jw_opt(&w, "filename", p->filename);
    mh_jw_key(&w, "line");
    mh_jw_uint(&w, p->line);
    mh_jw_key(&w, "column");
    mh_jw_uint(&w, p->column);
    mh_jw_key(&w, "secret");
    mh_jw_strn(&w, p->secret ? p->secret : "", p->secret_len);
    jw_opt(&w, "fingerprint", p->fingerprint);
    mh_jw_key(&w, "entropy");
    mh_jw_raw(&w, ent, strlen(ent));
    mh_jw_obj_end(&w);
    MH_TRY(mh_jw_status(&w));
    return mh_buf_putc(out, '\n');
}

static mh_status emit(void *ctx, const struct mh_secret_finding *f, const char *text)
{
    mh_secrets_scanner *s = ctx;
    mh_buf_clear(&s->sec);
    if (f->path_only)
        MH_TRY(mh_buf_append(&s->sec, s->path.data, s->path.len));
    else if (s->o.show)
        MH_TRY(mh_buf_append(&s->sec, text + f->secret_start, f->secret_end - f->secret_start));
    else
        MH_TRY(mh_secrets_redact(text + f->secret_start, f->secret_end - f->secret_start, &s->sec));
    struct mh_secrets_place p;
    memset(&p, 0, sizeof p);
    p.rule = f->rule->id;
    p.generic = f->generic;
    p.message_id = s->message_id;
    p.mailbox = s->mailbox;
    p.owner = s->owner;
    p.folder = s->folder;
    p.file = s->file;
    p.part = s->part;
    p.filename = s->filename;
    p.line = f->line;
    p.column = f->column;
    p.secret = s->sec.data ? s->sec.data : "";
    p.secret_len = s->sec.len;
    mh_hex(f->sha256, 32, p.fingerprint);
    p.entropy = f->entropy;
    s->st.findings++;
    s->st.generic += f->generic;
    return s->o.on_finding(s->o.ctx, &p);
}

static mh_status scan_text(mh_secrets_scanner *s, const char *text, size_t n)
{
    return mh_secrets_scan(s->o.eng, s->scratch, s->path.data, text, n, emit, s, &s->st.scan);
}

static mh_status set_path(mh_secrets_scanner *s, const char *part, const char *filename)
{
    mh_buf_clear(&s->path);
    if (s->message_id) {
        MH_TRY(mh_buf_printf(&s->path, "%s/%s/", s->mailbox, s->folder));
        /* the Message-ID without <>, '/' made safe for path rules */
        size_t n = strlen(s->message_id);
        for (size_t i = 1; i + 1 < n; i++)
            MH_TRY(mh_buf_putc(&s->path, s->message_id[i] == '/' ? '_' : s->message_id[i]));
        MH_TRY(mh_buf_printf(&s->path, "/%s", part));
        if (filename) MH_TRY(mh_buf_printf(&s->path, "/%s", filename));
    } else {
        MH_TRY(mh_buf_puts(&s->path, s->file));
    }
    return MH_OK;
}

static mh_status on_fragment(void *ctx, const struct mh_mime_fragment *f)
{
    mh_secrets_scanner *s = ctx;
    s->st.parts++;
    s->part = f->part;
    s->filename = f->filename;
    MH_TRY(set_path(s, f->part, f->filename));
    if (f->data) {
        s->st.text_bytes += f->len;
        return scan_text(s, f->data, f->len);
    }
    /* binary, opaque, skipped: only path rules (an attachment's file name) */
    return f->filename ? scan_text(s, NULL, 0) : MH_OK;
}

static void report(mh_secrets_scanner *s, const mh_mailstore *store, const struct mh_mail_loc *loc,
                   mh_status code, const char *msg, const char *why)
{
    if (!s->o.on_malformed) return;
    const struct mh_mail_file *f = mh_mailstore_file(store, loc->file);
    mh_error e;
    mh_error_clear(&e);
    mh_error_set(&e, code, msg, "%s", why);
    mh_error_at(&e, f->path, 0, 0, loc->start, loc->index + 1);
    s->o.on_malformed(s->o.ctx, &e);
}

static bool wanted(const mh_secrets_scanner *s, const mh_mailstore *store,
                   const struct mh_mail_msg *m, const struct mh_mail_loc *loc)
{
    return !s->o.want || s->o.want(s->o.ctx, m, mh_mailstore_mailbox(store, loc->mailbox));
}

/* An identical copy of m came earlier in index order and was itself wanted
 * (so it was scanned, or reported unreadable): an unwanted copy never
 * stands in for a wanted one, and the finding names the first wanted copy. */
static bool seen_copy(const mh_secrets_scanner *s, const mh_mailstore *store,
                      const struct mh_mail_msg *m, const struct mh_mail_loc *loc, size_t li)
{
    for (uint32_t k = m->first_loc; k != MH_MAIL_NONE && k < li;) {
        const struct mh_mail_loc *o = mh_mailstore_loc(store, k);
        if (!memcmp(o->sha256, loc->sha256, 32) && wanted(s, store, m, o)) return true;
        k = o->next;
    }
    return false;
}

/* GMime could not read the message at all: scan its bytes as they are. */
static mh_status scan_raw(mh_secrets_scanner *s, const struct mh_buf *raw)
{
    s->part = "raw";
    s->filename = NULL;
    MH_TRY(set_path(s, "raw", NULL));
    struct mh_buf u;
    mh_buf_init(&u, (size_t)MH_MAX_MESSAGE_BYTES * 3);
    const char *d = raw->data ? raw->data : "";
    mh_status st = mh_utf8_valid(d, raw->len) ? mh_buf_append(&u, d, raw->len)
                                              : mh_cp1252_to_utf8(d, raw->len, &u);
    s->st.parts++;
    s->st.text_bytes += u.len;
    if (!st) st = scan_text(s, u.data ? u.data : "", u.len);
    mh_buf_fini(&u);
    return st;
}

mh_status mh_secrets_scan_store(mh_secrets_scanner *s, const mh_mailstore *store)
{
    mh_status st = MH_OK;
    struct mh_buf raw;
    mh_buf_init(&raw, MH_MAX_MESSAGE_BYTES + 16);
    size_t n = mh_mailstore_nlocs(store);
    for (size_t li = 0; li < n && !st; li++) {
        const struct mh_mail_loc *loc = mh_mailstore_loc(store, li);
        const struct mh_mail_msg *m = mh_mailstore_msg(store, loc->msg);
        if (!wanted(s, store, m, loc)) continue;
        if (seen_copy(s, store, m, loc, li)) continue;
        const struct mh_mailbox *mb = mh_mailstore_mailbox(store, loc->mailbox);
        mh_error err;
        mh_error_clear(&err);
        st = mh_mailstore_read(store, loc, true, &raw, &err);
        if (st == MH_ENOMEM) break;
        if (st) {
            s->st.unreadable++;
            if (s->o.on_malformed) s->o.on_malformed(s->o.ctx, &err);
            st = MH_OK;
            continue;
        }
        s->st.scanned++;
        s->message_id = m->message_id;
        s->mailbox = mb->name;
        s->owner = mb->owner;
        s->folder = mh_mailstore_folder(store, loc->folder);
        s->file = mh_mailstore_file(store, loc->file)->path;
        struct mh_mime_stats ms;
        st = mh_mime_walk(s->walker, raw.data, raw.len, on_fragment, s, &ms, &err);
        if (st == MH_EPARSE || st == MH_ELIMIT) {
            s->st.unparsable++;
            s->st.malformed++;
            report(s, store, loc, MH_EPARSE, "malformed message",
                   st == MH_ELIMIT ? "too large to parse" : ms.reason);
            st = scan_raw(s, &raw);
            continue;
        }
        if (st) break;
        if (ms.malformed && !(loc->flags & MH_LOC_MALFORMED)) {
            s->st.malformed++;
            report(s, store, loc, MH_EPARSE, "malformed message", ms.reason);
        }
    }
    s->message_id = s->mailbox = s->owner = s->folder = s->file = NULL;
    mh_buf_fini(&raw);
    return st;
}

mh_status mh_secrets_scan_file_text(mh_secrets_scanner *s, const char *path, const char *text,
                                    size_t n)
{
    s->message_id = s->mailbox = s->owner = s->folder = s->filename = NULL;
    s->file = path;
    s->part = "file";
    MH_TRY(set_path(s, "file", NULL));
    s->st.text_bytes += n;
    mh_status st = scan_text(s, n ? text : NULL, n);
    s->file = NULL;
    return st;
}

mh_status mh_secrets_scanner_new(const struct mh_secrets_mail_opts *o, mh_secrets_scanner **out,
                                 mh_error *err)
{
    if (!o || !o->eng || !o->on_finding) return MH_EINVAL;
    mh_secrets_scanner *s = mh_calloc(1, sizeof *s);
    if (!s) return MH_ENOMEM;
    s->o = *o;
    mh_buf_init(&s->path, 1u << 20);
    mh_buf_init(&s->sec, MH_MAX_FRAGMENT_BYTES + 16);
    mh_status st = mh_secrets_scratch_new(o->eng, &s->scratch);
    if (!st) st = mh_mime_walker_new(&s->walker, err);
    if (st) {
        mh_secrets_scanner_free(s);
        return st;
    }
    *out = s;
    return MH_OK;
}

void mh_secrets_scanner_free(mh_secrets_scanner *s)
{
    if (!s) return;
    mh_mime_walker_free(s->walker);
    mh_secrets_scratch_free(s->scratch);
    mh_buf_fini(&s->sec);
    mh_buf_fini(&s->path);
    mh_free(s);
}

const struct mh_secrets_mail_stats *mh_secrets_scanner_stats(const mh_secrets_scanner *s)
{
    return &s->st;
}
