/*
 * ingest/mailstore.c -- mail stores on disk, indexed per message (see mailstore.h)
 *
 * Walk: add() decides the mailbox level (file, Maildir, address-named
 * directory, folder of mailboxes), then walk_mailbox() descends folders.
 * Each file is loaded once (read() for small files into a reusable buffer,
 * mmap() for large ones), sniffed (mbox / message / other), split (mbox) and
 * every message is indexed from its header block only:
 *
 *   raw bytes --sha256--> loc.sha256
 *             --header scan (unfold by slicing, names matched ASCII
 *               case-insensitively)--> Message-ID, Date, Subject, List-Id
 *               and the six address headers (values as raw slices)
 *             --mime.h helpers--> addresses, date, decoded subject
 *
 * Data: locations and messages in growable arrays (bounded by
 * MH_MAX_MAIL_LOCATIONS), strings in one arena, Message-ID -> message and
 * folder name -> folder indexes in mh_maps. A message's locations are a
 * singly linked list through loc.next (tail kept in a private array).
 *
 * Ownership: the store owns every string it hands out; in-memory files
 * (mh_mailstore_add_memory) are copied and kept for mh_mailstore_read.
 */
#include "ingest/mailstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/hash.h"
#include "base/sha256.h"
#include "base/slice.h"
#include "ingest/mime.h"
#include "mailhound/limits.h"

/* Files up to this size are read() into a reusable buffer, larger ones mmap()ed. */
#define SMALL_FILE_BYTES (1u << 20)
/* Bytes sniffed to tell mail from other files. */
#define SNIFF_BYTES 4096u

enum sniff { SNIFF_OTHER = 0, SNIFF_MBOX, SNIFF_MESSAGE };

struct mh_mailstore {
    struct mh_mailstore_opts opts;
    struct mh_arena strings;
    struct mh_mail_file *files;
    const char **filemem; /* in-memory file bytes (NULL for disk files) */
    size_t nfiles, capfiles;
    struct mh_mailbox *mboxes;
    size_t nmbox, capmbox;
    const char **folders;
    size_t nfolders, capfolders;
    struct mh_map folder_ix;
    struct mh_mail_loc *locs;
    size_t nlocs, caplocs;
    struct mh_mail_msg *msgs;
    uint32_t *tail; /* last location of each message */
    size_t nmsgs, capmsgs;
    struct mh_map ids;    /* Message-ID -> message index */
    struct mh_map owners; /* mailbox name -> owner (arena string pointer) */
    struct mh_mailstore_stats stats;
    struct mh_buf filebuf;   /* small-file reads */
    struct mh_buf tmp;       /* unfolded header values */
    struct mh_buf idbuf;     /* normalized Message-ID */
    struct mh_arena scratch; /* per-message address parsing */
    mh_error *err;
};

struct fmap {
    const char *data;
    size_t len;
    void *map;
};

/* A header field of interest: raw value slices, first occurrence only for single fields. */
struct hdrs {
    struct mh_slice id, date, subject, list_id;
    struct mh_slice role[MH_ROLE__COUNT][8];
    unsigned nrole[MH_ROLE__COUNT];
    bool malformed;
    size_t bad_off; /* offset of the invalid line from the message start */
};

const char *mh_mail_role_name(enum mh_mail_role r)
{
    static const char *const N[] = {"from", "sender", "reply-to", "to", "cc", "bcc"};
    return r < MH_ROLE__COUNT ? N[r] : "?";
}

const char *mh_store_kind_name(enum mh_store_kind k)
{
    switch (k) {
    case MH_STORE_MBOX:
        return "mbox";
    case MH_STORE_MAILDIR:
        return "maildir";
    case MH_STORE_MH:
        return "mh";
    case MH_STORE_FILE:
        return "file";
    }
    return "?";
}

/* ---- small helpers ---- */

static mh_status nomem(mh_mailstore *s)
{
    return mh_error_set(s->err, MH_ENOMEM, "out of memory", NULL);
}

static void *grow(void *p, size_t n, size_t *cap, size_t elem, size_t max)
{
    void *q = p;
    return mh_grow(&q, cap, n + 1, elem, 64, max) == MH_OK ? q : NULL;
}

static const char *sdup(mh_mailstore *s, const char *p, size_t n)
{
    return mh_arena_strndup(&s->strings, p, n);
}

static const char *base_name(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *e = path + n;
    const char *b = e;
    while (b > path && b[-1] != '/') b--;
    return b;
}

/* Length of the base name of path (without trailing slashes). */
static size_t base_len(const char *path)
{
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    return (size_t)(path + n - base_name(path));
}

static bool ends_with_nocase(const char *s, size_t n, const char *suf)
{
    size_t k = strlen(suf);
    return n > k && mh_slice_eq_nocase(mh_slice_make(s + n - k, k), mh_slice_make(suf, k));
}

/* File name minus a .mbox/.mbx/.eml extension. */
static size_t stem_len(const char *name, size_t n)
{
    static const char *const ext[] = {".mbox", ".mbx", ".eml"};
    for (size_t i = 0; i < 3; i++)
        if (ends_with_nocase(name, n, ext[i])) return n - strlen(ext[i]);
    return n;
}

/* local@domain.tld: one '@', printable, no spaces or slashes, a dot inside the domain. */
static bool looks_like_address(const char *p, size_t n)
{
    size_t at = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c <= ' ' || c == 0x7F || c == '/' || c == '<' || c == '>' || c == ',') return false;
        if (c == '@') {
            if (at != SIZE_MAX) return false;
            at = i;
        }
    }
    if (at == SIZE_MAX || at == 0 || at + 1 >= n) return false;
    const char *d = p + at + 1;
    size_t dn = n - at - 1;
    const char *dot = memchr(d, '.', dn);
    return dot && dot != d && d[dn - 1] != '.';
}

/* ---- registries: mailboxes, folders, files ---- */

static mh_status add_mailbox(mh_mailstore *s, const char *name, size_t n, const char *path,
                             uint32_t *out)
{
    struct mh_mailbox *v = grow(s->mboxes, s->nmbox, &s->capmbox, sizeof *v, MH_MAX_MAIL_FILES);
    if (!v) return s->nmbox >= MH_MAX_MAIL_FILES ? MH_ELIMIT : nomem(s);
    s->mboxes = v;
    struct mh_mailbox *m = &v[s->nmbox];
    m->name = sdup(s, name, n);
    m->path = sdup(s, path, strlen(path));
    m->owner = NULL;
    if (!m->name || !m->path) return nomem(s);
    struct mh_map_entry *e = mh_map_get(&s->owners, name, n);
    if (e) {
        m->owner = (const char *)(uintptr_t)e->value;
    } else if (looks_like_address(name, n)) {
        char *o = mh_arena_strndup(&s->strings, name, n);
        if (!o) return nomem(s);
        for (char *p = strrchr(o, '@'); p && *p; p++) *p = (char)mh_ascii_lower((unsigned char)*p);
        m->owner = o;
    }
    *out = (uint32_t)s->nmbox++;
    return MH_OK;
}

static mh_status intern_folder(mh_mailstore *s, const char *name, size_t n, uint32_t *out)
{
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->folder_ix, name, n, &e, &created);
    if (st) return st == MH_ENOMEM ? nomem(s) : st;
    if (!created) {
        *out = (uint32_t)e->value;
        return MH_OK;
    }
    const char **v = grow(s->folders, s->nfolders, &s->capfolders, sizeof *v, MH_MAX_MAIL_FILES);
    if (!v) return nomem(s);
    s->folders = v;
    v[s->nfolders] = e->key.ptr;
    e->value = s->nfolders;
    *out = (uint32_t)s->nfolders++;
    return MH_OK;
}

static mh_status add_file(mh_mailstore *s, const char *path, uint32_t mb, uint32_t folder,
                          enum mh_store_kind kind, uint64_t size, const char *mem, uint32_t *out)
{
    if (s->nfiles >= MH_MAX_MAIL_FILES)
        return mh_error_set(s->err, MH_ELIMIT, "too many mail files", "limit %u",
                            (unsigned)MH_MAX_MAIL_FILES);
    size_t cap = s->capfiles;
    struct mh_mail_file *v = grow(s->files, s->nfiles, &cap, sizeof *v, MH_MAX_MAIL_FILES);
    if (!v) return nomem(s);
    s->files = v;
    size_t cap2 = s->capfiles;
    const char **m = grow(s->filemem, s->nfiles, &cap2, sizeof *m, MH_MAX_MAIL_FILES);
    if (!m) return nomem(s);
    s->filemem = m;
    s->capfiles = cap < cap2 ? cap : cap2;
    struct mh_mail_file *f = &v[s->nfiles];
    f->path = sdup(s, path, strlen(path));
    if (!f->path) return nomem(s);
    f->mailbox = mb;
    f->folder = folder;
    f->kind = (uint8_t)kind;
    f->size = size;
    m[s->nfiles] = mem;
    *out = (uint32_t)s->nfiles++;
    return MH_OK;
}

/* ---- owner map ---- */

static mh_status load_owner_map(mh_mailstore *s, const char *path)
{
    FILE *f = fopen(path, "rb");
    if (!f) return mh_error_io(s->err, "cannot open owner map", path);
    mh_status st = MH_OK;
    char line[4096];
    uint64_t lineno = 0, bytes = 0;
    while (!st && fgets(line, sizeof line, f)) {
        size_t len = strlen(line);
        uint64_t at = bytes; /* byte offset of the line */
        lineno++;
        bytes += len;
        if (bytes > MH_MAX_OWNER_MAP_BYTES) {
            st = mh_error_set(s->err, MH_ELIMIT, "owner map too large", NULL);
            mh_error_at(s->err, path, lineno, 0, at, 0);
            break;
        }
        const char *first = line + strspn(line, " \t\r");
        if (!(len && line[len - 1] == '\n') && !feof(f)) {
            /* Longer than the buffer: a comment's rest is skipped; a
             * mapping line that long cannot be one. */
            if (*first != '#') {
                st = mh_error_set(s->err, MH_EPARSE, "bad owner map line", "line too long");
                mh_error_at(s->err, path, lineno, 0, at, 0);
                break;
            }
            int c;
            while ((c = fgetc(f)) != EOF && c != '\n') bytes++;
            bytes += c == '\n';
            continue;
        }
        char *p = line, *tok[3] = {0};
        size_t ntok = 0;
        while (*p && ntok < 3) {
            while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n') p++;
            if (!*p || *p == '#') break;
            tok[ntok++] = p;
            while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') p++;
            if (*p) *p++ = '\0';
        }
        if (ntok == 0) continue;
        if (ntok != 2 || !looks_like_address(tok[1], strlen(tok[1]))) {
            st = mh_error_set(s->err, MH_EPARSE, "bad owner map line",
                              "expected \"<mailbox> <owner address>\"");
            mh_error_at(s->err, path, lineno, 0, at, 0);
            break;
        }
        struct mh_map_entry *e;
        bool created;
        st = mh_map_put(&s->owners, tok[0], strlen(tok[0]), &e, &created);
        if (st) {
            st = st == MH_ENOMEM ? nomem(s) : st;
            break;
        }
        char *o = mh_arena_strndup(&s->strings, tok[1], strlen(tok[1]));
        if (!o) {
            st = nomem(s);
            break;
        }
        for (char *q = strrchr(o, '@'); q && *q; q++) *q = (char)mh_ascii_lower((unsigned char)*q);
        e->value = (uint64_t)(uintptr_t)o;
    }
    fclose(f);
    return st;
}

/* ---- life cycle ---- */

mh_status mh_mailstore_new(const struct mh_mailstore_opts *opts, mh_mailstore **out, mh_error *err)
{
    MH_TRY(mh_mime_init(err));
    mh_mailstore *s = mh_calloc(1, sizeof *s);
    if (!s) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    if (opts) s->opts = *opts;
    mh_arena_init(&s->strings, 1u << 16, 0);
    mh_arena_init(&s->scratch, 1u << 14, 64u << 20);
    mh_map_init(&s->folder_ix, MH_MAX_MAIL_FILES, false);
    mh_map_init(&s->ids, MH_MAX_MAIL_LOCATIONS, false);
    mh_map_init(&s->owners, 1u << 20, false);
    mh_buf_init(&s->filebuf, SMALL_FILE_BYTES + 1);
    mh_buf_init(&s->tmp, MH_MAX_MAIL_HEADER_BYTES + 16);
    mh_buf_init(&s->idbuf, MH_MAX_MAIL_HEADER_BYTES + 16);
    s->err = err;
    mh_status st = MH_OK;
    if (opts && opts->owner_map) st = load_owner_map(s, opts->owner_map);
    if (st) {
        mh_mailstore_free(s);
        return st;
    }
    *out = s;
    return MH_OK;
}

void mh_mailstore_free(mh_mailstore *s)
{
    if (!s) return;
    for (size_t i = 0; i < s->nfiles; i++) mh_free((void *)s->filemem[i]);
    mh_free(s->files);
    mh_free(s->filemem);
    mh_free(s->mboxes);
    mh_free(s->folders);
    mh_free(s->locs);
    mh_free(s->msgs);
    mh_free(s->tail);
    mh_map_fini(&s->folder_ix);
    mh_map_fini(&s->ids);
    mh_map_fini(&s->owners);
    mh_buf_fini(&s->filebuf);
    mh_buf_fini(&s->tmp);
    mh_buf_fini(&s->idbuf);
    mh_arena_fini(&s->scratch);
    mh_arena_fini(&s->strings);
    mh_free(s);
}

/* ---- reporting ---- */

static void report(mh_mailstore *s, const char *path, uint64_t offset, uint64_t record,
                   const char *msg, const char *detail, bool fatal)
{
    if (!s->opts.on_bad) return;
    mh_error e;
    mh_error_clear(&e);
    mh_error_set(&e, fatal ? MH_EIO : MH_EPARSE, msg, "%s", detail ? detail : "");
    mh_error_at(&e, path, 0, 0, offset, record);
    s->opts.on_bad(s->opts.ctx, &e, fatal);
}

/* ---- header scan ---- */

static bool name_is(const char *p, size_t n, const char *lit)
{
    return mh_slice_eq_nocase(mh_slice_make(p, n), mh_slice_cstr(lit));
}

static void scan_headers(const char *m, size_t len, struct hdrs *h)
{
    memset(h, 0, sizeof *h);
    size_t limit = len < MH_MAX_MAIL_HEADER_BYTES ? len : MH_MAX_MAIL_HEADER_BYTES;
    struct mh_slice *cur = NULL;
    bool in_field = false;
    size_t p = 0;
    while (p < limit) {
        const char *nl = memchr(m + p, '\n', limit - p);
        size_t le = nl ? (size_t)(nl - m) : limit; /* line end (exclusive, at '\n') */
        size_t ce = le;
        if (ce > p && m[ce - 1] == '\r') ce--;
        if (ce == p) break; /* blank line: end of the header block */
        char c = m[p];
        if (c == ' ' || c == '\t') {
            if (!in_field) { /* a continuation line with no field before it */
                h->malformed = true;
                h->bad_off = p;
                break;
            }
            if (cur) cur->len = ce - (size_t)(cur->ptr - m);
        } else {
            size_t k = p;
            while (k < ce && m[k] != ':' && (unsigned char)m[k] > 32 && (unsigned char)m[k] < 127)
                k++;
            /* GMime allows spaces between the name and the colon */
            size_t nameend = k;
            while (k < ce && (m[k] == ' ' || m[k] == '\t')) k++;
            if (k >= ce || m[k] != ':' || nameend == p) {
                h->malformed = true;
                h->bad_off = p;
                break;
            }
            const char *name = m + p;
            size_t nn = nameend - p;
            struct mh_slice val = mh_slice_make(m + k + 1, ce - k - 1);
            cur = NULL;
            in_field = true;
            int role = -1;
            switch (nn) {
            case 2:
                if (name_is(name, nn, "to"))
                    role = MH_ROLE_TO;
                else if (name_is(name, nn, "cc"))
                    role = MH_ROLE_CC;
                break;
            case 3:
                if (name_is(name, nn, "bcc")) role = MH_ROLE_BCC;
                break;
            case 4:
                if (name_is(name, nn, "from"))
                    role = MH_ROLE_FROM;
                else if (name_is(name, nn, "date") && !h->date.ptr)
                    cur = &h->date;
                break;
            case 6:
                if (name_is(name, nn, "sender")) role = MH_ROLE_SENDER;
                break;
            case 7:
                if (name_is(name, nn, "subject") && !h->subject.ptr)
                    cur = &h->subject;
                else if (name_is(name, nn, "list-id") && !h->list_id.ptr)
                    cur = &h->list_id;
                break;
            case 8:
                if (name_is(name, nn, "reply-to")) role = MH_ROLE_REPLY_TO;
                break;
            case 10:
                if (name_is(name, nn, "message-id") && !h->id.ptr) cur = &h->id;
                break;
            default:
                break;
            }
            if (role >= 0 && h->nrole[role] < 8) cur = &h->role[role][h->nrole[role]++];
            if (cur) *cur = val;
        }
        if (!nl) break;
        p = le + 1;
    }
}

/* Value with folding line breaks turned into spaces, in s->tmp. */
static mh_status unfold(mh_mailstore *s, struct mh_slice v)
{
    mh_buf_clear(&s->tmp);
    MH_TRY(mh_buf_append(&s->tmp, v.ptr, v.len));
    for (size_t i = 0; i < s->tmp.len; i++)
        if (s->tmp.data[i] == '\r' || s->tmp.data[i] == '\n') s->tmp.data[i] = ' ';
    return MH_OK;
}

bool mh_message_id_normalize(const char *v, size_t n, struct mh_buf *out)
{
    mh_buf_clear(out);
    /* skip leading whitespace and (comments) */
    size_t i = 0;
    int depth = 0;
    for (; i < n; i++) {
        char c = v[i];
        if (depth) {
            if (c == ')')
                depth--;
            else if (c == '(')
                depth++;
            continue;
        }
        if (c == '(')
            depth++;
        else if (c != ' ' && c != '\t' && c != '\r' && c != '\n')
            break;
    }
    if (i == n) return false;
    bool bracketed = v[i] == '<';
    size_t j = bracketed ? i + 1 : i;
    size_t start = j;
    for (; j < n; j++) {
        char c = v[j];
        if (bracketed ? c == '>' : (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '('))
            break;
    }
    if (bracketed && j == n) return false; /* no closing bracket */
    size_t inner_n = 0;
    if (mh_buf_putc(out, '<')) return false;
    for (size_t k = start; k < j; k++) {
        char c = v[k];
        if (c == ' ' || c == '\t' || c == '\r' || c == '\n') continue;
        if ((unsigned char)c < 0x20 || c == 0x7F) { /* NUL and controls: not an id */
            mh_buf_clear(out);
            return false;
        }
        if (mh_buf_putc(out, c)) return false;
        inner_n++;
    }
    if (mh_buf_putc(out, '>')) return false;
    bool ok = inner_n > 0 && (bracketed || memchr(out->data, '@', out->len) != NULL);
    if (!ok) mh_buf_clear(out);
    return ok;
}

/* ---- indexing one message ---- */

static mh_status parse_roles(mh_mailstore *s, const struct hdrs *h, struct mh_mail_addr **out,
                             uint32_t *nout)
{
    *out = NULL;
    *nout = 0;
    size_t total = 0;
    struct mh_mime_addr *all[MH_ROLE__COUNT] = {0};
    size_t cnt[MH_ROLE__COUNT] = {0};
    for (int r = 0; r < MH_ROLE__COUNT; r++) {
        for (unsigned k = 0; k < h->nrole[r]; k++) {
            MH_TRY(unfold(s, h->role[r][k]));
            mh_status st = mh_mime_parse_addresses(s->tmp.data, s->tmp.len, &s->scratch, &all[r],
                                                   &cnt[r], MH_MAX_MAIL_ADDRESSES);
            if (st == MH_ELIMIT)
                s->stats.addr_dropped++;
            else if (st)
                return nomem(s);
        }
        total += cnt[r];
    }
    if (total > MH_MAX_MAIL_ADDRESSES) {
        s->stats.addr_dropped += total - MH_MAX_MAIL_ADDRESSES;
        total = MH_MAX_MAIL_ADDRESSES;
    }
    if (!total) return MH_OK;
    struct mh_mail_addr *v = mh_arena_alloc(&s->strings, total * sizeof *v);
    if (!v) return nomem(s);
    size_t n = 0;
    for (int r = 0; r < MH_ROLE__COUNT && n < total; r++)
        for (size_t k = 0; k < cnt[r] && n < total; k++) {
            v[n].name = sdup(s, all[r][k].name, strlen(all[r][k].name));
            v[n].addr = sdup(s, all[r][k].addr, strlen(all[r][k].addr));
            if (!v[n].name || !v[n].addr) return nomem(s);
            v[n].role = (uint8_t)r;
            n++;
        }
    *out = v;
    *nout = (uint32_t)n;
    return MH_OK;
}

static bool addr_in(const struct mh_mail_addr *v, size_t n, const struct mh_mail_addr *a)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].role == a->role && !strcasecmp(v[i].addr, a->addr)) return true;
    return false;
}

/* Union of msg's addresses with those of another copy. */
static mh_status merge_addrs(mh_mailstore *s, struct mh_mail_msg *msg, const struct mh_mail_addr *v,
                             uint32_t n)
{
    size_t extra = 0;
    for (uint32_t i = 0; i < n; i++) extra += !addr_in(msg->addrs, msg->naddrs, &v[i]);
    if (!extra) return MH_OK;
    size_t total = msg->naddrs + extra;
    if (total > MH_MAX_MAIL_ADDRESSES) total = MH_MAX_MAIL_ADDRESSES;
    struct mh_mail_addr *u = mh_arena_alloc(&s->strings, total * sizeof *u);
    if (!u) return nomem(s);
    size_t k = 0;
    for (uint32_t i = 0; i < msg->naddrs && k < total; i++) u[k++] = msg->addrs[i];
    for (uint32_t i = 0; i < n && k < total; i++)
        if (!addr_in(u, k, &v[i])) u[k++] = v[i];
    msg->addrs = u;
    msg->naddrs = (uint32_t)k;
    return MH_OK;
}

static mh_status index_message(mh_mailstore *s, uint32_t file, const char *data, uint64_t marker,
                               uint64_t start, uint64_t end, uint32_t index, bool from_quoted)
{
    const struct mh_mail_file *f = &s->files[file];
    if (end - start > MH_MAX_MESSAGE_BYTES) {
        s->stats.oversized++;
        s->stats.malformed++;
        char d[96];
        snprintf(d, sizeof d, "%llu bytes (limit %u); skipped", (unsigned long long)(end - start),
                 (unsigned)MH_MAX_MESSAGE_BYTES);
        report(s, f->path, start, index + 1, "message too large", d, false);
        return MH_OK;
    }
    if (s->nlocs >= MH_MAX_MAIL_LOCATIONS)
        return mh_error_set(s->err, MH_ELIMIT, "too many messages", "limit %u",
                            (unsigned)MH_MAX_MAIL_LOCATIONS);
    struct mh_mail_loc *lv =
        grow(s->locs, s->nlocs, &s->caplocs, sizeof *lv, MH_MAX_MAIL_LOCATIONS);
    if (!lv) return nomem(s);
    s->locs = lv;
    const char *m = data + start;
    size_t len = (size_t)(end - start);
    struct mh_mail_loc *loc = &lv[s->nlocs];
    memset(loc, 0, sizeof *loc);
    loc->file = file;
    loc->mailbox = f->mailbox;
    loc->folder = f->folder;
    loc->index = index;
    loc->marker = marker;
    loc->start = start;
    loc->end = end;
    loc->next = MH_MAIL_NONE;
    MH_TRY(mh_sha256(m, len, loc->sha256, s->err));
    if (from_quoted) loc->flags |= MH_LOC_FROM_QUOTED;

    struct hdrs h;
    scan_headers(m, len, &h);
    if (h.malformed) {
        loc->flags |= MH_LOC_MALFORMED;
        s->stats.malformed++;
        report(s, f->path, start + h.bad_off, index + 1, "malformed message",
               "invalid header line (the rest is read as body)", false);
    }
    mh_arena_reset(&s->scratch);
    struct mh_mail_addr *addrs;
    uint32_t naddrs;
    MH_TRY(parse_roles(s, &h, &addrs, &naddrs));

    bool synthetic = !(h.id.ptr && mh_message_id_normalize(h.id.ptr, h.id.len, &s->idbuf));
    if (synthetic) {
        char hex[65];
        mh_hex(loc->sha256, 32, hex);
        mh_buf_clear(&s->idbuf);
        if (mh_buf_printf(&s->idbuf, "<%s@sha256.mailhound.invalid>", hex)) return nomem(s);
    }
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&s->ids, s->idbuf.data, s->idbuf.len, &e, &created);
    if (st) return st == MH_ENOMEM ? nomem(s) : st;
    uint32_t li = (uint32_t)s->nlocs;
    s->nlocs++;
    s->stats.locations++;
    s->stats.bytes += len;
    if (!created) {
        struct mh_mail_msg *msg = &s->msgs[e->value];
        loc->msg = (uint32_t)e->value;
        s->locs[s->tail[e->value]].next = li;
        s->tail[e->value] = li;
        msg->nlocs++;
        s->stats.duplicates++;
        return merge_addrs(s, msg, addrs, naddrs);
    }
    size_t cap = s->capmsgs;
    struct mh_mail_msg *mv = grow(s->msgs, s->nmsgs, &cap, sizeof *mv, MH_MAX_MAIL_LOCATIONS);
    if (!mv) return nomem(s);
    s->msgs = mv;
    size_t cap2 = s->capmsgs;
    uint32_t *tv = grow(s->tail, s->nmsgs, &cap2, sizeof *tv, MH_MAX_MAIL_LOCATIONS);
    if (!tv) return nomem(s);
    s->tail = tv;
    s->capmsgs = cap < cap2 ? cap : cap2;
    struct mh_mail_msg *msg = &mv[s->nmsgs];
    memset(msg, 0, sizeof *msg);
    msg->message_id = e->key.ptr;
    msg->synthetic_id = synthetic;
    msg->date = MH_TIME_NONE;
    if (h.date.ptr) {
        MH_TRY(unfold(s, h.date));
        mh_time t;
        if (mh_mime_parse_date(s->tmp.data, s->tmp.len, &t) == MH_OK) msg->date = t;
    }
    if (h.subject.ptr) {
        struct mh_buf dec;
        mh_buf_init(&dec, MH_MAX_MAIL_HEADER_BYTES * 3);
        st = mh_mime_decode_header(h.subject.ptr, h.subject.len, &dec);
        if (!st) msg->subject = sdup(s, dec.data ? dec.data : "", dec.len);
        mh_buf_fini(&dec);
        if (st || !msg->subject) return nomem(s);
    }
    if (h.list_id.ptr) { /* notify makes the list's host a party */
        MH_TRY(unfold(s, h.list_id));
        msg->list_id = sdup(s, s->tmp.data ? s->tmp.data : "", s->tmp.len);
        if (!msg->list_id) return nomem(s);
    }
    msg->addrs = addrs;
    msg->naddrs = naddrs;
    msg->first_loc = li;
    msg->nlocs = 1;
    loc->msg = (uint32_t)s->nmsgs;
    tv[s->nmsgs] = li;
    e->value = s->nmsgs;
    s->nmsgs++;
    s->stats.distinct++;
    s->stats.synthetic_ids += synthetic;
    return MH_OK;
}

/* Split an mbox into messages: every line starting "From " is a boundary.
 * The same pass notes messages with ^>+From  lines (quoting to undo). */
static mh_status index_mbox(mh_mailstore *s, uint32_t file, const char *d, size_t n)
{
    size_t mark = 0; /* d starts with "From " (sniffed) */
    uint32_t index = 0;
    while (mark < n) {
        const char *eol = memchr(d + mark, '\n', n - mark);
        size_t begin = eol ? (size_t)(eol - d) + 1 : n;
        size_t next = n, p = begin;
        bool quoted = false;
        while (p < n) {
            if (d[p] == 'F' && n - p >= 5 && !memcmp(d + p, "From ", 5)) {
                next = p;
                break;
            }
            if (d[p] == '>') {
                size_t j = p;
                while (j < n && d[j] == '>') j++;
                quoted |= n - j >= 5 && !memcmp(d + j, "From ", 5);
            }
            const char *nl = memchr(d + p, '\n', n - p);
            if (!nl) break;
            p = (size_t)(nl - d) + 1;
        }
        size_t end = next;
        if (next < n) { /* the line break before the next From_ line is the separator */
            end = next - 1;
            if (end > begin && d[end - 1] == '\r') end--;
        }
        if (end < begin) end = begin;
        MH_TRY(index_message(s, file, d, mark, begin, end, index++, quoted));
        mark = next;
    }
    return MH_OK;
}

/* ---- files ---- */

static enum sniff sniff(const char *d, size_t n)
{
    if (n >= 5 && !memcmp(d, "From ", 5)) return SNIFF_MBOX;
    size_t k = n < SNIFF_BYTES ? n : SNIFF_BYTES;
    if (memchr(d, '\0', k)) return SNIFF_OTHER;
    /* the first line must be a header field: [A-Za-z0-9_-]+ ':' */
    size_t i = 0;
    while (i < k && ((d[i] >= 'A' && d[i] <= 'Z') || (d[i] >= 'a' && d[i] <= 'z') ||
                     (d[i] >= '0' && d[i] <= '9') || d[i] == '-' || d[i] == '_'))
        i++;
    return i > 0 && i < k && d[i] == ':' ? SNIFF_MESSAGE : SNIFF_OTHER;
}

static void unload(struct fmap *fm)
{
    if (fm->map) munmap(fm->map, fm->len);
    memset(fm, 0, sizeof *fm);
}

/* Load a file: MH_OK, MH_ENOMEM, or MH_EIO (reported, counted). */
static mh_status load(mh_mailstore *s, const char *path, struct fmap *fm)
{
    memset(fm, 0, sizeof *fm);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        s->stats.unreadable++;
        report(s, path, 0, 0, "cannot read file", strerror(e), true);
        return MH_EIO;
    }
    s->stats.files++;
    size_t size = (size_t)sb.st_size;
    mh_status st = MH_OK;
    if (size == 0) {
        fm->data = "";
    } else if (size <= SMALL_FILE_BYTES) {
        mh_buf_clear(&s->filebuf);
        st = mh_buf_reserve(&s->filebuf, size);
        size_t got = 0;
        int rerr = 0;
        while (!st && got < size) {
            ssize_t r = read(fd, s->filebuf.data + got, size - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) {
                rerr = r < 0 ? errno : 0;
                break;
            }
            got += (size_t)r;
        }
        if (st) {
            st = nomem(s);
        } else if (got < size) { /* a read error or a file that shrank: not half-indexed */
            s->stats.unreadable++;
            report(s, path, got, 0, "cannot read file", rerr ? strerror(rerr) : "file shrank", true);
            st = MH_EIO;
        } else {
            s->filebuf.len = got;
            fm->data = s->filebuf.data;
            fm->len = got;
        }
    } else {
        void *p = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED) {
            int e = errno;
            s->stats.unreadable++;
            report(s, path, 0, 0, "cannot map file", strerror(e), true);
            st = MH_EIO;
        } else {
            madvise(p, size, MADV_SEQUENTIAL);
            fm->map = p;
            fm->data = p;
            fm->len = size;
        }
    }
    close(fd);
    return st;
}

static void other(mh_mailstore *s, const char *path, uint64_t size)
{
    s->stats.other_files++;
    if (s->opts.on_other) s->opts.on_other(s->opts.ctx, path, size);
}

/* Index loaded bytes as one mail file of mailbox mb / folder. */
static mh_status index_loaded(mh_mailstore *s, const char *path, const struct fmap *fm,
                              enum sniff kind, enum mh_store_kind sk, uint32_t mb,
                              const char *folder, size_t folder_n, const char *mem)
{
    uint32_t fo = 0, fi = 0;
    MH_TRY(intern_folder(s, folder, folder_n, &fo));
    MH_TRY(add_file(s, path, mb, fo, kind == SNIFF_MBOX ? MH_STORE_MBOX : sk, fm->len, mem, &fi));
    s->stats.mail_files++;
    if (kind == SNIFF_MBOX) return index_mbox(s, fi, fm->data, fm->len);
    return index_message(s, fi, fm->data, 0, 0, fm->len, 0, false);
}

/* ---- directories ---- */

struct dirlist {
    char **names; /* each name is preceded by one byte: 'd', 'f', 'o' or '?' (d_type) */
    size_t n;
};

static bool all_digits(const char *s)
{
    if (!*s) return false;
    for (; *s; s++)
        if (*s < '0' || *s > '9') return false;
    return true;
}

static int name_cmp(const void *a, const void *b)
{
    const char *x = *(char *const *)a + 1, *y = *(char *const *)b + 1;
    if (all_digits(x) && all_digits(y)) {
        size_t lx = strlen(x), ly = strlen(y);
        while (lx > 1 && *x == '0') x++, lx--;
        while (ly > 1 && *y == '0') y++, ly--;
        if (lx != ly) return lx < ly ? -1 : 1;
    }
    return strcmp(x, y);
}

static void dirlist_free(struct dirlist *d)
{
    for (size_t i = 0; i < d->n; i++) mh_free(d->names[i]);
    mh_free(d->names);
    d->names = NULL;
    d->n = 0;
}

/* A failure load() and list_dir() reported and counted lets the walk go on;
 * only MH_ENOMEM stops it. */
static mh_status go_on(mh_status st)
{
    return st == MH_ENOMEM ? st : MH_OK;
}

/* List a directory: MH_OK, MH_ENOMEM, or MH_EIO / MH_ELIMIT (reported, counted). */
static mh_status list_dir(mh_mailstore *s, const char *path, struct dirlist *out)
{
    out->names = NULL;
    out->n = 0;
    DIR *dir = opendir(path);
    if (!dir) {
        int e = errno;
        s->stats.unreadable++;
        report(s, path, 0, 0, "cannot read directory", strerror(e), true);
        return MH_EIO;
    }
    size_t cap = 0;
    mh_status st = MH_OK;
    struct dirent *de;
    while ((de = readdir(dir)) != NULL) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..")) continue;
        char **v = grow(out->names, out->n, &cap, sizeof *v, MH_MAX_MAIL_FILES);
        if (!v) {
            st = out->n >= MH_MAX_MAIL_FILES ? MH_ELIMIT : MH_ENOMEM;
            break;
        }
        out->names = v;
        size_t nl = strlen(de->d_name);
        char *e = mh_malloc(nl + 2);
        if (!e) {
            st = MH_ENOMEM;
            break;
        }
        e[0] = de->d_type == DT_DIR                               ? 'd'
               : de->d_type == DT_REG                             ? 'f'
               : de->d_type == DT_UNKNOWN || de->d_type == DT_LNK ? '?'
                                                                  : 'o';
        memcpy(e + 1, de->d_name, nl + 1);
        v[out->n++] = e;
    }
    closedir(dir);
    if (st == MH_ELIMIT) {
        s->stats.unreadable++;
        report(s, path, 0, 0, "directory too large", "skipped", true);
    }
    if (st) {
        dirlist_free(out);
        return st == MH_ENOMEM ? nomem(s) : st;
    }
    if (out->n) qsort(out->names, out->n, sizeof *out->names, name_cmp);
    return MH_OK;
}

static mh_status join(const char *dir, const char *name, struct mh_buf *out)
{
    mh_buf_clear(out);
    size_t n = strlen(dir);
    while (n > 1 && dir[n - 1] == '/') n--;
    MH_TRY(mh_buf_append(out, dir, n));
    if (!(n == 1 && dir[0] == '/')) MH_TRY(mh_buf_putc(out, '/'));
    return mh_buf_puts(out, name);
}

static int kind_of(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0) return -1;
    if (S_ISDIR(sb.st_mode)) return 'd';
    if (S_ISREG(sb.st_mode)) return 'f';
    return 'o';
}

/* Kind of a listed entry: from d_type when the file system gives it, else stat(). */
static int entry_kind(const char *entry, const char *path)
{
    return entry[0] == '?' ? kind_of(path) : entry[0];
}

static bool is_maildir(const char *path)
{
    char buf[4096];
    snprintf(buf, sizeof buf, "%s/cur", path);
    if (kind_of(buf) == 'd') return true;
    snprintf(buf, sizeof buf, "%s/new", path);
    return kind_of(buf) == 'd';
}

/* A path buffer per recursion level keeps paths alive across calls. */
static mh_status walk_mailbox(mh_mailstore *s, const char *dir, uint32_t mb, const char *rel,
                              unsigned depth);

static mh_status folder_name(const char *rel, const char *name, size_t n, struct mh_buf *out)
{
    mh_buf_clear(out);
    if (rel && *rel) {
        MH_TRY(mh_buf_puts(out, rel));
        if (n) MH_TRY(mh_buf_putc(out, '/'));
    }
    return mh_buf_append(out, name, n);
}

/* One file inside a mailbox folder. */
static mh_status mailbox_file(mh_mailstore *s, const char *path, const char *name, uint32_t mb,
                              const char *rel, enum mh_store_kind sk)
{
    struct fmap fm;
    mh_status ls = load(s, path, &fm);
    if (ls) return go_on(ls);
    mh_status st = MH_OK;
    enum sniff k = sniff(fm.data, fm.len);
    struct mh_buf folder;
    mh_buf_init(&folder, 65536);
    if (k == SNIFF_OTHER || name[0] == '.') {
        other(s, path, fm.len);
    } else if (k == SNIFF_MBOX && sk != MH_STORE_MAILDIR) {
        size_t n = strlen(name);
        st = folder_name(rel, name, stem_len(name, n), &folder);
        if (!st) st = index_loaded(s, path, &fm, k, sk, mb, folder.data, folder.len, NULL);
    } else {
        const char *fo = rel && *rel ? rel : "INBOX";
        st = index_loaded(s, path, &fm, k, sk, mb, fo, strlen(fo), NULL);
    }
    if (st == MH_ENOMEM) st = nomem(s);
    mh_buf_fini(&folder);
    unload(&fm);
    return st;
}

static mh_status walk_maildir(mh_mailstore *s, const char *dir, uint32_t mb, const char *rel,
                              unsigned depth)
{
    if (depth > MH_MAX_PATH_DEPTH) {
        report(s, dir, 0, 0, "directory too deep", "skipped", true);
        s->stats.unreadable++;
        return MH_OK;
    }
    struct dirlist dl;
    mh_status st = list_dir(s, dir, &dl);
    if (st) return go_on(st);
    struct mh_buf path, sub, fname;
    mh_buf_init(&path, 65536);
    mh_buf_init(&sub, 65536);
    mh_buf_init(&fname, 65536);
    for (size_t i = 0; i < dl.n && !st; i++) {
        const char *e = dl.names[i] + 1;
        if ((st = join(dir, e, &path))) break;
        int k = entry_kind(dl.names[i], path.data);
        if (k == 'd' && (!strcmp(e, "cur") || !strcmp(e, "new"))) {
            struct dirlist ml;
            if ((st = go_on(list_dir(s, path.data, &ml)))) break;
            for (size_t j = 0; j < ml.n && !st; j++) {
                if ((st = join(path.data, ml.names[j] + 1, &sub))) break;
                if (entry_kind(ml.names[j], sub.data) != 'f') continue;
                st = mailbox_file(s, sub.data, ml.names[j] + 1, mb, rel, MH_STORE_MAILDIR);
            }
            dirlist_free(&ml);
        } else if (k == 'd' && !strcmp(e, "tmp")) {
            struct dirlist tl;
            if ((st = go_on(list_dir(s, path.data, &tl)))) break;
            s->stats.maildir_tmp += tl.n;
            dirlist_free(&tl);
        } else if (k == 'd' && e[0] == '.' && is_maildir(path.data)) {
            /* Maildir++ folder: ".Archive.2023" -> "Archive/2023" */
            if ((st = folder_name(rel, e + 1, strlen(e + 1), &fname))) break;
            for (size_t c = rel && *rel ? strlen(rel) + 1 : 0; c < fname.len; c++)
                if (fname.data[c] == '.') fname.data[c] = '/';
            st = walk_maildir(s, path.data, mb, fname.data, depth + 1);
        } else if (k == 'd' && e[0] != '.') {
            if ((st = folder_name(rel, e, strlen(e), &fname))) break;
            st = walk_mailbox(s, path.data, mb, fname.data, depth + 1);
        } else if (k == 'f') {
            other(s, path.data, 0); /* dovecot-uidlist, maildirfolder, ... */
        }
    }
    if (st == MH_ENOMEM) st = nomem(s);
    mh_buf_fini(&fname);
    mh_buf_fini(&sub);
    mh_buf_fini(&path);
    dirlist_free(&dl);
    return st;
}

static mh_status walk_mailbox(mh_mailstore *s, const char *dir, uint32_t mb, const char *rel,
                              unsigned depth)
{
    if (is_maildir(dir)) return walk_maildir(s, dir, mb, rel, depth);
    if (depth > MH_MAX_PATH_DEPTH) {
        report(s, dir, 0, 0, "directory too deep", "skipped", true);
        s->stats.unreadable++;
        return MH_OK;
    }
    struct dirlist dl;
    mh_status st = list_dir(s, dir, &dl);
    if (st) return go_on(st);
    struct mh_buf path, fname;
    mh_buf_init(&path, 65536);
    mh_buf_init(&fname, 65536);
    for (size_t i = 0; i < dl.n && !st; i++) {
        const char *e = dl.names[i] + 1;
        if ((st = join(dir, e, &path))) break;
        int k = entry_kind(dl.names[i], path.data);
        if (k == 'd') {
            if (e[0] == '.') continue; /* hidden directories (.git, ...) are not folders */
            if ((st = folder_name(rel, e, strlen(e), &fname))) break;
            st = walk_mailbox(s, path.data, mb, fname.data, depth + 1);
        } else if (k == 'f') {
            st = mailbox_file(s, path.data, e, mb, rel, MH_STORE_MH);
        }
    }
    if (st == MH_ENOMEM) st = nomem(s);
    mh_buf_fini(&fname);
    mh_buf_fini(&path);
    dirlist_free(&dl);
    return st;
}

/* A folder of mailboxes: each sub-directory and mbox file is a mailbox. */
static mh_status walk_mailboxes(mh_mailstore *s, const char *dir, unsigned depth)
{
    struct dirlist dl;
    mh_status st = list_dir(s, dir, &dl);
    if (st) return go_on(st);
    uint32_t loose = MH_MAIL_NONE;
    struct mh_buf path;
    mh_buf_init(&path, 65536);
    for (size_t i = 0; i < dl.n && !st; i++) {
        const char *e = dl.names[i] + 1;
        if ((st = join(dir, e, &path))) break;
        int k = entry_kind(dl.names[i], path.data);
        if (k == 'd') {
            if (e[0] == '.') continue;
            if (!strcmp(e, "maildir") && !is_maildir(path.data) && depth < 2) {
                st = walk_mailboxes(s, path.data, depth + 1); /* the CMU Enron layout */
                continue;
            }
            uint32_t mb;
            if ((st = add_mailbox(s, e, strlen(e), path.data, &mb))) break;
            st = walk_mailbox(s, path.data, mb, "", 1);
        } else if (k == 'f') {
            struct fmap fm;
            mh_status ls = load(s, path.data, &fm);
            if (ls) {
                st = go_on(ls);
                continue;
            }
            enum sniff sk = sniff(fm.data, fm.len);
            if (sk == SNIFF_OTHER || e[0] == '.') {
                other(s, path.data, fm.len);
            } else if (sk == SNIFF_MBOX) {
                uint32_t mb;
                size_t n = strlen(e);
                st = add_mailbox(s, e, stem_len(e, n), path.data, &mb);
                if (!st)
                    st = index_loaded(s, path.data, &fm, sk, MH_STORE_FILE, mb, "INBOX", 5, NULL);
            } else {
                if (loose == MH_MAIL_NONE)
                    st = add_mailbox(s, base_name(dir), base_len(dir), dir, &loose);
                if (!st)
                    st =
                        index_loaded(s, path.data, &fm, sk, MH_STORE_FILE, loose, "INBOX", 5, NULL);
            }
            unload(&fm);
        }
    }
    if (st == MH_ENOMEM) st = nomem(s);
    mh_buf_fini(&path);
    dirlist_free(&dl);
    return st;
}

mh_status mh_mailstore_add(mh_mailstore *s, const char *path, mh_error *err)
{
    s->err = err;
    int k = kind_of(path);
    if (k < 0) return mh_error_io(err, "cannot open mail store", path);
    if (k == 'f') {
        struct fmap fm;
        mh_status ls = load(s, path, &fm);
        if (ls) return go_on(ls);
        mh_status st = MH_OK;
        enum sniff sk = sniff(fm.data, fm.len);
        if (sk == SNIFF_OTHER) {
            other(s, path, fm.len);
        } else {
            uint32_t mb;
            const char *b = base_name(path);
            st = add_mailbox(s, b, stem_len(b, base_len(path)), path, &mb);
            if (!st) st = index_loaded(s, path, &fm, sk, MH_STORE_FILE, mb, "INBOX", 5, NULL);
        }
        unload(&fm);
        return st;
    }
    if (k != 'd') {
        mh_error_set(err, MH_EIO, "not a file or directory", NULL);
        mh_error_at(err, path, 0, 0, 0, 0);
        return MH_EIO;
    }
    const char *b = base_name(path);
    size_t bl = base_len(path);
    if (is_maildir(path) || looks_like_address(b, bl)) {
        uint32_t mb;
        MH_TRY(add_mailbox(s, b, bl, path, &mb));
        return walk_mailbox(s, path, mb, "", 0);
    }
    return walk_mailboxes(s, path, 0);
}

mh_status mh_mailstore_add_memory(mh_mailstore *s, const char *name, const void *data, size_t len,
                                  mh_error *err)
{
    s->err = err;
    char *copy = mh_malloc(len ? len : 1);
    if (!copy) return nomem(s);
    if (len) memcpy(copy, data, len);
    struct fmap fm = {copy, len, NULL};
    s->stats.files++;
    enum sniff sk = sniff(copy, len);
    if (sk == SNIFF_OTHER) {
        other(s, name, len);
        mh_free(copy);
        return MH_OK;
    }
    uint32_t mb;
    const char *b = base_name(name);
    mh_status st = add_mailbox(s, b, stem_len(b, base_len(name)), name, &mb);
    size_t before = s->nfiles;
    if (!st) st = index_loaded(s, name, &fm, sk, MH_STORE_FILE, mb, "INBOX", 5, copy);
    if (s->nfiles == before) mh_free(copy); /* not registered: not owned by a file entry */
    return st;
}

/* ---- accessors ---- */

size_t mh_mailstore_nmsgs(const mh_mailstore *s)
{
    return s->nmsgs;
}

size_t mh_mailstore_nlocs(const mh_mailstore *s)
{
    return s->nlocs;
}

size_t mh_mailstore_nmailboxes(const mh_mailstore *s)
{
    return s->nmbox;
}

size_t mh_mailstore_nfiles(const mh_mailstore *s)
{
    return s->nfiles;
}

const struct mh_mail_msg *mh_mailstore_msg(const mh_mailstore *s, size_t i)
{
    return i < s->nmsgs ? &s->msgs[i] : NULL;
}

const struct mh_mail_loc *mh_mailstore_loc(const mh_mailstore *s, size_t i)
{
    return i < s->nlocs ? &s->locs[i] : NULL;
}

const struct mh_mailbox *mh_mailstore_mailbox(const mh_mailstore *s, size_t i)
{
    return i < s->nmbox ? &s->mboxes[i] : NULL;
}

const struct mh_mail_file *mh_mailstore_file(const mh_mailstore *s, size_t i)
{
    return i < s->nfiles ? &s->files[i] : NULL;
}

const char *mh_mailstore_folder(const mh_mailstore *s, size_t i)
{
    return i < s->nfolders ? s->folders[i] : NULL;
}

const struct mh_mailstore_stats *mh_mailstore_stats(const mh_mailstore *s)
{
    return &s->stats;
}

const struct mh_mail_msg *mh_mailstore_find(const mh_mailstore *s, const char *id, size_t n)
{
    struct mh_map_entry *e = mh_map_get(&s->ids, id, n);
    return e ? &s->msgs[e->value] : NULL;
}

/* Remove one '>' from every line matching ^>+From  (mboxo/mboxrd). */
static void unquote_from(struct mh_buf *b)
{
    size_t w = 0;
    for (size_t r = 0; r < b->len;) {
        bool bol = r == 0 || b->data[r - 1] == '\n';
        if (bol && b->data[r] == '>') {
            size_t j = r;
            while (j < b->len && b->data[j] == '>') j++;
            if (b->len - j >= 5 && !memcmp(b->data + j, "From ", 5)) r++; /* drop one '>' */
        }
        /* copy up to and including the next newline */
        const char *nl = memchr(b->data + r, '\n', b->len - r);
        size_t e = nl ? (size_t)(nl - b->data) + 1 : b->len;
        memmove(b->data + w, b->data + r, e - r);
        w += e - r;
        r = e;
    }
    b->len = w;
    if (b->data) b->data[w] = '\0';
}

mh_status mh_mailstore_read(const mh_mailstore *s, const struct mh_mail_loc *loc, bool content,
                            struct mh_buf *out, mh_error *err)
{
    mh_buf_clear(out);
    const struct mh_mail_file *f = &s->files[loc->file];
    size_t n = (size_t)(loc->end - loc->start);
    if (mh_buf_reserve(out, n)) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    const char *mem = s->filemem[loc->file];
    if (mem) {
        memcpy(out->data, mem + loc->start, n);
    } else {
        int fd = open(f->path, O_RDONLY | O_CLOEXEC);
        struct stat sb;
        if (fd < 0 || fstat(fd, &sb) != 0) {
            int e = errno;
            if (fd >= 0) close(fd);
            mh_error_set(err, MH_EIO, "cannot read mail file", "%s", strerror(e));
            mh_error_at(err, f->path, 0, 0, loc->start, loc->index + 1);
            return MH_EIO;
        }
        if ((uint64_t)sb.st_size != f->size) {
            close(fd);
            mh_error_set(err, MH_ESTATE, "mail file changed since indexing", "size %llu, was %llu",
                         (unsigned long long)sb.st_size, (unsigned long long)f->size);
            mh_error_at(err, f->path, 0, 0, loc->start, loc->index + 1);
            return MH_ESTATE;
        }
        size_t got = 0;
        while (got < n) {
            ssize_t r = pread(fd, out->data + got, n - got, (off_t)(loc->start + got));
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(fd);
        if (got != n) {
            mh_error_set(err, MH_EIO, "short read from mail file", NULL);
            mh_error_at(err, f->path, 0, 0, loc->start, loc->index + 1);
            return MH_EIO;
        }
    }
    out->len = n;
    out->data[n] = '\0';
    if (content && (loc->flags & MH_LOC_FROM_QUOTED)) unquote_from(out);
    return MH_OK;
}
