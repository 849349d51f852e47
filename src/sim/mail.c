/*
 * sim/mail.c -- messages: MIME composition, delivery, mbox files
 *
 * Pipeline: sim. life.c decides who writes to whom and when (a struct
 * sim_msg); this file turns it into RFC 5322 / MIME bytes, delivers it to
 * every mailbox of a simulated tenant that receives it (and to the sender's
 * Sent Items), writes the message-trace row and indexes attack-target
 * mailboxes for the truth.
 *
 * MIME shapes (chosen by msg.kind): text/plain; multipart/alternative
 * (text/plain + text/html); multipart/mixed with an attachment (base64);
 * mailing-list posts (List-Id, List-Unsubscribe, Precedence, Sender = the
 * list's bounce address); scanner mail (a multifunction printer relaying a
 * PDF: no Message-ID at all). Text parts are 7bit when plain ASCII with
 * short lines, else quoted-printable; non-ASCII display names and subjects
 * are RFC 2047 encoded words (B or Q). Replies carry In-Reply-To and
 * References and quote the message they answer (regenerated from its seed,
 * text.c), Outlook style for internal senders, "On ... wrote:" for others.
 * Planted secrets (secrets.c) go into the text or into a text attachment.
 *
 * Copies: the sender's copy (Sent Items) holds the Bcc header; recipients'
 * copies are the same bytes without it. Every copy of a message has the same
 * Message-ID, which is also the trace message_id and the InternetMessageId of
 * MailItemsAccessed and Send records (ids.c).
 *
 * Streaming: composed bytes go to a spool file (DIR/.sim-spool, unlinked at
 * once); deliveries of the day are (mailbox, spool range) entries; at the end
 * of each day sim_mail_day_flush sorts them by mailbox and appends each
 * mailbox's messages to mail/<address>.mbox with one open/close per mailbox
 * and day ("From " envelope lines; body lines starting with "From " are
 * written as ">From "). Memory: the day's delivery list
 * (<= MH_SIM_MAX_DELIVERIES) and the recent-message table.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/alloc.h"
#include "sim/model.h"
#include "sim/text.h"

#define SPOOL_NAME ".sim-spool"

mh_status sim_mail_init(struct sim *S)
{
    S->msgs = mh_calloc(MH_SIM_MSG_TABLE, sizeof *S->msgs);
    if (!S->msgs) return MH_ENOMEM;
    sim_tx_init(&S->spool_buf, (size_t)MH_SIM_FILE_BUF * 4);
    sim_tx_init(&S->msgbuf, MH_SIM_MAX_MSG_BYTES);
    sim_tx_init(&S->tmp, 4096);
    sim_tx_init(&S->text, MH_SIM_MAX_MSG_BYTES);
    sim_tx_init(&S->part, MH_SIM_MAX_MSG_BYTES);
    sim_tx_init(&S->mbuf, (size_t)MH_SIM_FILE_BUF * 4);
    S->spool_fd = openat(S->files_dirfd, SPOOL_NAME, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (S->spool_fd < 0)
        return mh_error_set(S->err, MH_EIO, "cannot create spool", "%s/%s: %s", S->dir, SPOOL_NAME,
                            strerror(errno));
    unlinkat(S->files_dirfd, SPOOL_NAME, 0);
    S->mbox_seen = mh_calloc(S->nusers ? S->nusers : 1, 1);
    if (!S->mbox_seen) return MH_ENOMEM;
    return MH_OK;
}

void sim_mail_fini(struct sim *S)
{
    if (S->spool_fd >= 0) close(S->spool_fd);
    S->spool_fd = -1;
    mh_free(S->msgs);
    S->msgs = NULL;
    mh_free(S->dlv);
    S->dlv = NULL;
    mh_free(S->mbox_seen);
    S->mbox_seen = NULL;
    sim_tx_fini(&S->spool_buf);
    sim_tx_fini(&S->msgbuf);
    sim_tx_fini(&S->tmp);
    sim_tx_fini(&S->text);
    sim_tx_fini(&S->part);
    sim_tx_fini(&S->mbuf);
}

struct sim_msg *sim_msg_new(struct sim *S, mh_time t, sim_addr from, uint64_t body_seed)
{
    uint64_t serial = ++S->next_serial;
    struct sim_msg *m = &S->msgs[serial & (MH_SIM_MSG_TABLE - 1)];
    memset(m, 0, sizeof *m);
    m->serial = serial;
    m->t = t;
    m->from = from;
    m->sender = m->reply_to = SIM_NONE;
    m->parent = SIM_NONE;
    m->list = SIM_NONE;
    m->body_seed = body_seed;
    m->subj_seed = body_seed;
    m->has_id = SIM_ADDR_KIND(from) != A_SCANNER;
    return m;
}

const struct sim_msg *sim_ring_msg(const struct sim *S, const struct sim_ring *r)
{
    const struct sim_msg *m = &S->msgs[r->slot];
    return m->serial == r->serial ? m : NULL;
}

static const struct sim_msg *parent_of(const struct sim *S, const struct sim_msg *m)
{
    if (m->parent == SIM_NONE) return NULL;
    const struct sim_msg *p = &S->msgs[m->parent];
    return p->serial == m->parent_serial ? p : NULL;
}

/* ------------------------------------------------------------ helpers */

static bool is_ascii(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

static const char *const wday[7] = {"Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"};
static const char *const mon[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                    "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static void two(struct sim_tx *t, int v)
{
    sim_tx_c(t, (char)('0' + v / 10));
    sim_tx_c(t, (char)('0' + v % 10));
}

/* RFC 5322 date in the sender's zone: "Mon, 04 Mar 2024 10:12:33 +0100" */
static void rfc_date(struct sim_tx *t, mh_time tm, int tz)
{
    struct mh_civil c;
    mh_time lt = tm + (mh_time)tz * SIM_MIN;
    mh_time_to_civil(lt, &c);
    int64_t days = lt / SIM_DAY;
    sim_tx_s(t, wday[((days % 7) + 7) % 7]);
    SIM_LIT(t, ", ");
    two(t, c.day);
    sim_tx_c(t, ' ');
    sim_tx_s(t, mon[c.month - 1]);
    sim_tx_c(t, ' ');
    sim_tx_u64(t, (uint64_t)c.year);
    sim_tx_c(t, ' ');
    two(t, c.hour);
    sim_tx_c(t, ':');
    two(t, c.min);
    sim_tx_c(t, ':');
    two(t, c.sec);
    sim_tx_c(t, ' ');
    sim_tx_c(t, tz < 0 ? '-' : '+');
    int a = tz < 0 ? -tz : tz;
    two(t, a / 60);
    two(t, a % 60);
}

/* asctime form for the mbox "From " line: "Mon Mar  4 09:12:33 2024" */
static void asc_date(struct sim_tx *t, mh_time tm)
{
    struct mh_civil c;
    mh_time_to_civil(tm, &c);
    int64_t days = tm / SIM_DAY;
    sim_tx_s(t, wday[((days % 7) + 7) % 7]);
    sim_tx_c(t, ' ');
    sim_tx_s(t, mon[c.month - 1]);
    sim_tx_c(t, ' ');
    if (c.day < 10) sim_tx_c(t, ' ');
    sim_tx_u64(t, (uint64_t)c.day);
    sim_tx_c(t, ' ');
    two(t, c.hour);
    sim_tx_c(t, ':');
    two(t, c.min);
    sim_tx_c(t, ':');
    two(t, c.sec);
    sim_tx_c(t, ' ');
    sim_tx_u64(t, (uint64_t)c.year);
}

static int addr_tz(const struct sim *S, sim_addr a)
{
    if (SIM_ADDR_KIND(a) == A_USER) return S->users[SIM_ADDR_IDX(a)].tz;
    return 0;
}

/* RFC 2047 encoded words (UTF-8), split at character boundaries so each
 * word stays under 75 characters; words are separated by folding. */
static void encoded_words(struct sim_tx *t, const char *s, size_t n, bool q)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t i = 0;
    bool first = true;
    while (i < n) {
        size_t take = n - i < 36 ? n - i : 36;
        while (take < n - i && ((unsigned char)s[i + take] & 0xC0) == 0x80) take--;
        if (!first) SIM_LIT(t, "\n ");
        first = false;
        if (q) {
            SIM_LIT(t, "=?UTF-8?Q?");
            for (size_t k = i; k < i + take; k++) {
                unsigned char c = (unsigned char)s[k];
                if (c == ' ')
                    sim_tx_c(t, '_');
                else if (c >= 0x80 || c == '=' || c == '?' || c == '_' || c < 0x20 || c == '"' ||
                         c == '(' || c == ')' || c == ',') {
                    sim_tx_c(t, '=');
                    sim_tx_c(t, hex[c >> 4]);
                    sim_tx_c(t, hex[c & 15]);
                } else {
                    sim_tx_c(t, (char)c);
                }
            }
        } else {
            SIM_LIT(t, "=?UTF-8?B?");
            sim_tx_b64(t, s + i, take);
        }
        SIM_LIT(t, "?=");
        i += take;
    }
}

static void phrase(struct sim_tx *t, const char *disp, bool q)
{
    size_t n = strlen(disp);
    if (is_ascii(disp, n)) {
        sim_tx_c(t, '"');
        for (size_t i = 0; i < n; i++) {
            if (disp[i] == '"' || disp[i] == '\\') sim_tx_c(t, '\\');
            sim_tx_c(t, disp[i]);
        }
        sim_tx_c(t, '"');
    } else {
        encoded_words(t, disp, n, q);
    }
}

static void mailbox(struct sim *S, struct sim_tx *t, sim_addr a, bool q)
{
    const char *disp = sim_addr_display(S, a);
    if (disp && *disp) {
        phrase(t, disp, q);
        sim_tx_c(t, ' ');
    }
    sim_tx_c(t, '<');
    sim_tx_s(t, sim_addr_email(S, a));
    sim_tx_c(t, '>');
}

static void addr_list(struct sim *S, struct sim_tx *t, const char *name, const sim_addr *a,
                      uint32_t n, bool q)
{
    if (!n) return;
    sim_tx_s(t, name);
    SIM_LIT(t, ": ");
    for (uint32_t i = 0; i < n; i++) {
        if (i) SIM_LIT(t, ",\n ");
        mailbox(S, t, a[i], q);
    }
    sim_tx_c(t, '\n');
}

/* Quoted-printable body (RFC 2045 §6.7), lines <= 76 with soft breaks. */
static void qp(struct sim_tx *t, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '\n') {
            sim_tx_c(t, '\n');
            col = 0;
            continue;
        }
        bool lit = (c >= 33 && c <= 126 && c != '=') ||
                   ((c == ' ' || c == '\t') && i + 1 < n && s[i + 1] != '\n');
        size_t w = lit ? 1 : 3;
        if (col + w > 75) {
            SIM_LIT(t, "=\n");
            col = 0;
        }
        if (lit) {
            sim_tx_c(t, (char)c);
        } else {
            sim_tx_c(t, '=');
            sim_tx_c(t, hex[c >> 4]);
            sim_tx_c(t, hex[c & 15]);
        }
        col += w;
    }
    sim_tx_c(t, '\n');
}

static bool needs_qp(const char *s, size_t n)
{
    size_t col = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= 0x80) return true;
        if (c == '\n')
            col = 0;
        else if (++col > 76)
            return true;
    }
    return false;
}

static void b64_lines(struct sim_tx *t, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i += 57) {
        sim_tx_b64(t, b + i, n - i < 57 ? n - i : 57);
        sim_tx_c(t, '\n');
    }
}

/* A text part: headers + encoded body. */
static void text_part(struct sim_tx *t, const char *ctype, const char *s, size_t n)
{
    SIM_LIT(t, "Content-Type: ");
    sim_tx_s(t, ctype);
    SIM_LIT(t, "; charset=\"utf-8\"\n");
    if (needs_qp(s, n)) {
        SIM_LIT(t, "Content-Transfer-Encoding: quoted-printable\n\n");
        qp(t, s, n);
    } else {
        SIM_LIT(t, "Content-Transfer-Encoding: 7bit\n\n");
        sim_tx_put(t, s, n);
        sim_tx_c(t, '\n');
    }
}

static void html_escape(struct sim_tx *t, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        switch (s[i]) {
        case '<':
            SIM_LIT(t, "&lt;");
            break;
        case '>':
            SIM_LIT(t, "&gt;");
            break;
        case '&':
            SIM_LIT(t, "&amp;");
            break;
        default:
            sim_tx_c(t, s[i]);
        }
    }
}

/* ------------------------------------------------------------ text */

static const char *first_name(struct sim *S, sim_addr a, char *buf, size_t cap)
{
    if (SIM_ADDR_KIND(a) == A_USER) return S->users[SIM_ADDR_IDX(a)].first;
    const char *d = sim_addr_display(S, a);
    if (!d || !*d) return "there";
    size_t k = 0;
    while (d[k] && d[k] != ' ' && k + 1 < cap) {
        buf[k] = d[k];
        k++;
    }
    buf[k] = '\0';
    return buf;
}

static const char *org_name(struct sim *S, sim_addr a)
{
    switch (SIM_ADDR_KIND(a)) {
    case A_USER:
        return S->tenants[S->users[SIM_ADDR_IDX(a)].tenant].name;
    case A_CONTACT: {
        const struct sim_partner *p = &S->partners[S->contacts[SIM_ADDR_IDX(a)].partner];
        return p->freemail ? NULL : p->name;
    }
    default:
        return NULL;
    }
}

/* Greeting, body, signature of m (without quoted history or secrets). */
static void message_text(struct sim *S, struct sim_tx *t, const struct sim_msg *m)
{
    char nb[64];
    if (m->kind == MK_SCANNER) {
        SIM_LIT(t, "Scanned document from device MFP-");
        sim_tx_u64(t, 100 + m->body_seed % 800);
        SIM_LIT(t, ".\nNumber of pages: ");
        sim_tx_u64(t, 1 + (m->body_seed >> 8) % 9);
        SIM_LIT(t, "\nPlease do not reply to this message.\n");
        return;
    }
    if (m->kind == MK_LIST) {
        sim_text_body(t, m->topic, m->body_seed);
        SIM_LIT(t, "\n\n--\nYou are receiving this because you are subscribed to ");
        sim_tx_s(t, S->lists[m->list].name);
        SIM_LIT(t, ".\nTo unsubscribe, visit https://");
        sim_tx_s(t, S->lists[m->list].host);
        SIM_LIT(t, "/unsubscribe\n");
        return;
    }
    if (m->nto == 1) {
        SIM_LIT(t, "Hi ");
        sim_tx_s(t, first_name(S, m->rcpt[0], nb, sizeof nb));
        SIM_LIT(t, ",\n\n");
    } else {
        SIM_LIT(t, "Hi all,\n\n");
    }
    sim_text_body(t, m->topic, m->body_seed);
    SIM_LIT(t, "\n\nBest regards,\n");
    sim_tx_s(t, sim_addr_display(S, m->from));
    sim_tx_c(t, '\n');
    if (SIM_ADDR_KIND(m->from) == A_USER) {
        sim_tx_s(t, S->users[SIM_ADDR_IDX(m->from)].title);
        sim_tx_c(t, '\n');
    }
    const char *org = org_name(S, m->from);
    if (org) {
        sim_tx_s(t, org);
        sim_tx_c(t, '\n');
    }
}

static const char *const lwday[7] = {"Thursday", "Friday",  "Saturday", "Sunday",
                                     "Monday",   "Tuesday", "Wednesday"};
static const char *const lmon[12] = {"January",   "February", "March",    "April",
                                     "May",       "June",     "July",     "August",
                                     "September", "October",  "November", "December"};

/* Quoted history of a reply (the parent regenerated). */
static void quote_parent(struct sim *S, struct sim_tx *t, const struct sim_msg *m,
                         const struct sim_msg *p)
{
    struct sim_tx q;
    sim_tx_init(&q, MH_SIM_MAX_MSG_BYTES);
    message_text(S, &q, p);
    struct mh_civil c;
    int tz = addr_tz(S, m->from);
    mh_time lt = p->t + (mh_time)tz * SIM_MIN;
    mh_time_to_civil(lt, &c);
    int64_t days = lt / SIM_DAY;
    if (SIM_ADDR_KIND(m->from) == A_USER) {
        SIM_LIT(t, "\n\n________________________________\nFrom: ");
        sim_tx_s(t, sim_addr_display(S, p->from));
        SIM_LIT(t, " <");
        sim_tx_s(t, sim_addr_email(S, p->from));
        SIM_LIT(t, ">\nSent: ");
        sim_tx_s(t, lwday[((days % 7) + 7) % 7]);
        SIM_LIT(t, ", ");
        sim_tx_s(t, lmon[c.month - 1]);
        sim_tx_c(t, ' ');
        sim_tx_u64(t, (uint64_t)c.day);
        SIM_LIT(t, ", ");
        sim_tx_u64(t, (uint64_t)c.year);
        sim_tx_c(t, ' ');
        sim_tx_u64(t, (uint64_t)(c.hour % 12 ? c.hour % 12 : 12));
        sim_tx_c(t, ':');
        two(t, c.min);
        sim_tx_s(t, c.hour < 12 ? " AM" : " PM");
        SIM_LIT(t, "\nTo: ");
        for (uint32_t i = 0; i < p->nto; i++) {
            if (i) SIM_LIT(t, "; ");
            sim_tx_s(t, sim_addr_display(S, p->rcpt[i]));
            SIM_LIT(t, " <");
            sim_tx_s(t, sim_addr_email(S, p->rcpt[i]));
            sim_tx_c(t, '>');
        }
        SIM_LIT(t, "\nSubject: ");
        sim_text_subject(t, p->topic, p->subj_seed);
        SIM_LIT(t, "\n\n");
        sim_tx_put(t, q.b.data, q.b.len);
    } else {
        SIM_LIT(t, "\n\nOn ");
        sim_tx_s(t, wday[((days % 7) + 7) % 7]);
        SIM_LIT(t, ", ");
        sim_tx_u64(t, (uint64_t)c.day);
        sim_tx_c(t, ' ');
        sim_tx_s(t, mon[c.month - 1]);
        sim_tx_c(t, ' ');
        sim_tx_u64(t, (uint64_t)c.year);
        SIM_LIT(t, " at ");
        two(t, c.hour);
        sim_tx_c(t, ':');
        two(t, c.min);
        SIM_LIT(t, ", ");
        sim_tx_s(t, sim_addr_display(S, p->from));
        SIM_LIT(t, " <");
        sim_tx_s(t, sim_addr_email(S, p->from));
        SIM_LIT(t, "> wrote:\n");
        size_t ls = 0;
        for (size_t i = 0; i <= q.b.len; i++) {
            if (i < q.b.len && q.b.data[i] != '\n') continue;
            SIM_LIT(t, "> ");
            sim_tx_put(t, q.b.data + ls, i - ls);
            sim_tx_c(t, '\n');
            ls = i + 1;
        }
    }
    if (q.st && !t->st) t->st = q.st;
    sim_tx_fini(&q);
}

const char *sim_msg_subject(struct sim *S, const struct sim_msg *m)
{
    struct sim_tx *t = &S->tmp;
    mh_buf_clear(&t->b);
    if (m->kind == MK_SCANNER) {
        SIM_LIT(t, "Scanned from MFP-");
        sim_tx_u64(t, 100 + m->body_seed % 800);
    } else {
        if (m->depth) sim_tx_s(t, SIM_ADDR_KIND(m->from) == A_USER ? "RE: " : "Re: ");
        if (m->kind == MK_LIST) {
            sim_tx_c(t, '[');
            sim_tx_s(t, S->lists[m->list].name);
            SIM_LIT(t, "] ");
        }
        sim_text_subject(t, m->topic, m->subj_seed);
    }
    sim_tx_c(t, '\0');
    if (t->st) return "";
    return t->b.data;
}

/* ------------------------------------------------------------ compose */

/* Outlook-style MIME boundary "_004_<24 hex>_" into out[32]. */
static void boundary(char out[32], const char *tag, uint64_t serial, uint64_t seed)
{
    static const char dg[] = "0123456789ABCDEF";
    uint8_t b[12];
    uint64_t h = sim_mix(seed, serial, (uint64_t)tag[2]);
    for (int i = 0; i < 8; i++) b[i] = (uint8_t)(h >> (8 * i));
    for (int i = 0; i < 4; i++) b[8 + i] = (uint8_t)(serial >> (8 * i));
    memcpy(out, tag, 5);
    for (int i = 0; i < 12; i++) {
        out[5 + 2 * i] = dg[b[i] >> 4];
        out[6 + 2 * i] = dg[b[i] & 15];
    }
    out[29] = '_';
    out[30] = '\0';
}

/* Build the whole message into S->msgbuf; *bcc_off/len locate the Bcc line. */
static mh_status compose(struct sim *S, struct sim_msg *m, const struct sim_ip *client_ip,
                         uint32_t *bcc_off, uint32_t *bcc_len)
{
    struct sim_tx *t = &S->msgbuf;
    struct sim_tx *x = &S->text;
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_MAIL, m->serial, 1);
    const bool q = (m->serial & 1) != 0; /* alternate Q and B encoded words */
    const uint32_t fidx = SIM_ADDR_IDX(m->from);
    const struct sim_tenant *tn = NULL;
    if (SIM_ADDR_KIND(m->from) == A_USER)
        tn = &S->tenants[S->users[fidx].tenant];
    else if (SIM_ADDR_KIND(m->from) == A_SCANNER)
        tn = &S->tenants[fidx];
    mh_buf_clear(&t->b);
    mh_buf_clear(&x->b);
    *bcc_off = *bcc_len = 0;

    /* body text first: its length decides nothing in the headers */
    char secret[256];
    secret[0] = '\0';
    message_text(S, x, m);
    const struct sim_msg *p = parent_of(S, m);
    if (p) quote_parent(S, x, m, p);
    size_t secret_at = SIZE_MAX;
    struct sim_tx sec;
    sim_tx_init(&sec, 8192);
    if (m->secret) {
        int kind = m->secret - 1;
        struct sim_rng rs;
        sim_rng_derive(&rs, S->o.seed, SIM_S_SECRET, m->serial, 0);
        const char *ctx = "Atlas";
        if ((m->secret_flags & SECRET_FOR_APP) && tn && tn->stolen_app != SIM_NONE)
            ctx = S->apps[tn->stolen_app].name;
        else
            ctx = sim_text_word(&rs, 0);
        sim_secret_text(&rs, kind, ctx, &sec, secret);
        if (!(m->secret_flags & SECRET_IN_ATTACHMENT)) {
            /* after the first paragraph of the body, before the signature */
            secret_at = 0;
            for (size_t i = 0; i + 1 < x->b.len; i++)
                if (x->b.data[i] == '\n' && x->b.data[i + 1] == '\n') {
                    secret_at = i;
                    if (x->b.data[0] == 'H') { /* skip the greeting's blank line */
                        for (size_t k = i + 2; k + 1 < x->b.len; k++)
                            if (x->b.data[k] == '\n' && x->b.data[k + 1] == '\n') {
                                secret_at = k;
                                break;
                            }
                    }
                    break;
                }
        }
    }

    /* headers */
    SIM_LIT(t, "Received: from ");
    if (tn) {
        sim_tx_s(t, tn->srv[m->serial % 4]);
        SIM_LIT(t, ".");
        sim_tx_s(t, tn->region);
        SIM_LIT(t, ".prod.outlook.com");
    } else {
        SIM_LIT(t, "mail.");
        const char *e = sim_addr_email(S, m->sender != SIM_NONE ? m->sender : m->from);
        const char *at = strchr(e, '@');
        sim_tx_s(t, at ? at + 1 : "example.invalid");
    }
    if (client_ip) {
        SIM_LIT(t, " (");
        sim_tx_ip(t, client_ip);
        sim_tx_c(t, ')');
    }
    SIM_LIT(t, "\n by mx.prod.outlook.com with Microsoft SMTP Server; ");
    rfc_date(t, m->t, 0);
    sim_tx_c(t, '\n');
    SIM_LIT(t, "From: ");
    mailbox(S, t, m->from, q);
    sim_tx_c(t, '\n');
    if (m->sender != SIM_NONE) {
        SIM_LIT(t, "Sender: ");
        mailbox(S, t, m->sender, q);
        sim_tx_c(t, '\n');
    }
    if (m->reply_to != SIM_NONE) {
        SIM_LIT(t, "Reply-To: ");
        mailbox(S, t, m->reply_to, q);
        sim_tx_c(t, '\n');
    }
    addr_list(S, t, "To", m->rcpt, m->nto, q);
    addr_list(S, t, "Cc", m->rcpt + m->nto, m->ncc, q);
    if (m->nbcc) {
        *bcc_off = (uint32_t)t->b.len;
        addr_list(S, t, "Bcc", m->rcpt + m->nto + m->ncc, m->nbcc, q);
        *bcc_len = (uint32_t)(t->b.len - *bcc_off);
    }
    const char *subj = sim_msg_subject(S, m);
    size_t sl = strlen(subj);
    SIM_LIT(t, "Subject: ");
    if (is_ascii(subj, sl))
        sim_tx_put(t, subj, sl);
    else
        encoded_words(t, subj, sl, q);
    SIM_LIT(t, "\nDate: ");
    rfc_date(t, m->t, addr_tz(S, m->from));
    sim_tx_c(t, '\n');
    if (m->has_id) {
        SIM_LIT(t, "Message-ID: ");
        sim_tx_msgid(S, t, m->serial, m->from);
        sim_tx_c(t, '\n');
    }
    if (p) {
        SIM_LIT(t, "In-Reply-To: ");
        sim_tx_msgid(S, t, p->serial, p->from);
        SIM_LIT(t, "\nReferences: ");
        const struct sim_msg *chain[4];
        int nc = 0;
        for (const struct sim_msg *a = p; a && nc < 4; a = parent_of(S, a)) chain[nc++] = a;
        for (int i = nc - 1; i >= 0; i--) {
            sim_tx_msgid(S, t, chain[i]->serial, chain[i]->from);
            if (i) SIM_LIT(t, "\n ");
        }
        sim_tx_c(t, '\n');
        SIM_LIT(t, "Thread-Topic: ");
        size_t off = 0;
        if (sl > 4 && (memcmp(subj, "RE: ", 4) == 0 || memcmp(subj, "Re: ", 4) == 0)) off = 4;
        if (is_ascii(subj + off, sl - off))
            sim_tx_put(t, subj + off, sl - off);
        else
            encoded_words(t, subj + off, sl - off, q);
        sim_tx_c(t, '\n');
    }
    if (m->kind == MK_LIST) {
        const struct sim_list *l = &S->lists[m->list];
        SIM_LIT(t, "List-Id: ");
        sim_tx_s(t, l->name);
        SIM_LIT(t, " <");
        sim_tx_s(t, l->list_id);
        SIM_LIT(t, ">\nList-Unsubscribe: <https://");
        sim_tx_s(t, l->host);
        SIM_LIT(t, "/unsubscribe>\nPrecedence: list\n");
    }
    SIM_LIT(t, "MIME-Version: 1.0\n");

    /* body */
    const char *body = x->b.data;
    size_t blen = x->b.len;
    struct sim_tx *plain = &S->part;
    mh_buf_clear(&plain->b);
    if (secret_at != SIZE_MAX && secret_at <= blen) {
        sim_tx_put(plain, body, secret_at);
        SIM_LIT(plain, "\n\n");
        sim_tx_put(plain, sec.b.data, sec.b.len);
        sim_tx_put(plain, body + secret_at, blen - secret_at);
    } else {
        sim_tx_put(plain, body, blen);
    }
    int kind = m->kind;
    bool attach_secret = m->secret && (m->secret_flags & SECRET_IN_ATTACHMENT);
    if (attach_secret && kind != MK_ATTACH) kind = MK_ATTACH;
    char bmix[32], balt[32];
    if (kind == MK_PLAIN) {
        text_part(t, "text/plain", plain->b.data, plain->b.len);
    } else {
        boundary(bmix, "_004_", m->serial, S->o.seed);
        boundary(balt, "_000_", m->serial, S->o.seed);
        bool mixed = kind == MK_ATTACH || kind == MK_SCANNER;
        bool alt = kind == MK_ALT || kind == MK_LIST || (kind == MK_ATTACH && (m->serial & 2));
        if (mixed) {
            SIM_LIT(t, "Content-Type: multipart/mixed;\n\tboundary=\"");
            sim_tx_s(t, bmix);
            SIM_LIT(t, "\"\n\n--");
            sim_tx_s(t, bmix);
            sim_tx_c(t, '\n');
        }
        if (alt) {
            SIM_LIT(t, "Content-Type: multipart/alternative;\n\tboundary=\"");
            sim_tx_s(t, balt);
            SIM_LIT(t, "\"\n\n--");
            sim_tx_s(t, balt);
            sim_tx_c(t, '\n');
            text_part(t, "text/plain", plain->b.data, plain->b.len);
            SIM_LIT(t, "\n--");
            sim_tx_s(t, balt);
            sim_tx_c(t, '\n');
            struct sim_tx h;
            sim_tx_init(&h, MH_SIM_MAX_MSG_BYTES);
            SIM_LIT(&h, "<html><head><meta http-equiv=\"Content-Type\" content=\"text/html; "
                        "charset=utf-8\"></head><body><div>");
            /* paragraphs; the secret paragraph (if any) verbatim in <pre> */
            size_t ps = 0;
            for (size_t i = 0; i <= blen; i++) {
                if (i < blen && !(body[i] == '\n' && i + 1 < blen && body[i + 1] == '\n')) continue;
                SIM_LIT(&h, "\n<p>");
                html_escape(&h, body + ps, i - ps);
                SIM_LIT(&h, "</p>");
                if (i == secret_at) {
                    SIM_LIT(&h, "\n<pre>");
                    html_escape(&h, sec.b.data, sec.b.len);
                    SIM_LIT(&h, "</pre>");
                }
                ps = i + 2;
                i++;
            }
            SIM_LIT(&h, "\n</div></body></html>");
            text_part(t, "text/html", h.b.data, h.b.len);
            if (h.st && !t->st) t->st = h.st;
            sim_tx_fini(&h);
            SIM_LIT(t, "\n--");
            sim_tx_s(t, balt);
            SIM_LIT(t, "--\n");
        } else if (mixed) {
            text_part(t, "text/plain", plain->b.data, plain->b.len);
        }
        if (mixed) {
            SIM_LIT(t, "\n--");
            sim_tx_s(t, bmix);
            sim_tx_c(t, '\n');
            if (attach_secret) {
                static const char *const names[] = {"credentials.txt", "deploy-notes.txt",
                                                    "config.env", "handover.txt"};
                const char *fn = names[m->serial % 4];
                SIM_LIT(t, "Content-Type: text/plain; charset=\"utf-8\"; name=\"");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\"\nContent-Description: ");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\nContent-Disposition: attachment; filename=\"");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\"\nContent-Transfer-Encoding: base64\n\n");
                b64_lines(t, sec.b.data, sec.b.len);
            } else {
                const char *fn, *ct;
                sim_text_attachment(&r, &fn, &ct);
                if (kind == MK_SCANNER) fn = "scan.pdf", ct = "application/pdf";
                size_t an = 400 + (size_t)sim_rng_below(&r, 1100);
                uint8_t blob[2400];
                sim_rng_bytes(&r, blob, an);
                if (strcmp(ct, "application/pdf") == 0) memcpy(blob, "%PDF-1.7\n", 9);
                SIM_LIT(t, "Content-Type: ");
                sim_tx_s(t, ct);
                SIM_LIT(t, "; name=\"");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\"\nContent-Description: ");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\nContent-Disposition: attachment; filename=\"");
                sim_tx_s(t, fn);
                SIM_LIT(t, "\"; size=");
                sim_tx_u64(t, an);
                SIM_LIT(t, "\nContent-Transfer-Encoding: base64\n\n");
                b64_lines(t, blob, an);
            }
            SIM_LIT(t, "\n--");
            sim_tx_s(t, bmix);
            SIM_LIT(t, "--\n");
        }
    }
    if (m->secret && !sec.st)
        MH_TRY(sim_secret_add(S, m->serial, m->from, sim_secret_rule[m->secret - 1], secret));
    if (sec.st && !t->st) t->st = sec.st;
    sim_tx_fini(&sec);
    if (x->st || t->st || plain->st)
        return mh_error_set(S->err,
                            t->st   ? t->st
                            : x->st ? x->st
                                    : plain->st,
                            "message too large", "serial %llu", (unsigned long long)m->serial);
    return MH_OK;
}

/* ------------------------------------------------------------ deliver */

/* The spool buffer -> the spool file (so pread sees everything). */
static mh_status spool_flush(struct sim *S)
{
    MH_TRY(sim_out_write_fd(S, S->spool_fd, SPOOL_NAME, S->spool_buf.b.data, S->spool_buf.b.len));
    S->spool_len += S->spool_buf.b.len;
    mh_buf_clear(&S->spool_buf.b);
    return MH_OK;
}

static mh_status spool_write(struct sim *S, const char *p, size_t n, uint64_t *off)
{
    *off = S->spool_len + S->spool_buf.b.len;
    sim_tx_put(&S->spool_buf, p, n);
    if (S->spool_buf.st) return mh_error_set(S->err, S->spool_buf.st, "spool buffer", NULL);
    if (S->spool_buf.b.len >= MH_SIM_FILE_BUF) return spool_flush(S);
    return MH_OK;
}

static void ring_push(struct sim_user *u, const struct sim_msg *m, uint32_t slot, mh_time t,
                      uint8_t folder)
{
    struct sim_ring *r = &u->ring[u->ring_head];
    u->ring_head = (uint8_t)((u->ring_head + 1) % MH_SIM_RING);
    if (u->ring_n < MH_SIM_RING) u->ring_n++;
    r->serial = m->serial;
    r->from = m->from;
    r->slot = slot;
    r->t = t;
    r->folder = folder;
    r->read = 0;
    r->has_id = m->has_id;
}

static mh_status add_dlv(struct sim *S, uint32_t user, uint8_t folder, bool sender_copy, mh_time t,
                         uint64_t off, uint32_t len, uint32_t bcc_off, uint32_t bcc_len,
                         sim_addr env)
{
    mh_status st = MH_GROW(S->dlv, S->dlv_cap, S->ndlv + 1, 4096, MH_SIM_MAX_DELIVERIES);
    if (st == MH_ELIMIT)
        return mh_error_set(S->err, MH_ELIMIT, "too many deliveries in one day",
                            "limit MH_SIM_MAX_DELIVERIES = %u", MH_SIM_MAX_DELIVERIES);
    if (st) return st;
    struct sim_dlv *d = &S->dlv[S->ndlv++];
    d->user = user;
    d->folder = folder;
    d->sender_copy = sender_copy;
    d->seq = S->ndlv;
    d->t = t;
    d->off = off;
    d->len = len;
    d->bcc_off = sender_copy ? 0 : bcc_off;
    d->bcc_len = sender_copy ? 0 : bcc_len;
    d->env_from = env;
    return MH_OK;
}

static mh_status deliver(struct sim *S, struct sim_msg *m, uint32_t user, uint8_t folder,
                         bool sender_copy, mh_time t, uint64_t off, uint32_t bcc_off,
                         uint32_t bcc_len)
{
    struct sim_user *u = &S->users[user];
    sim_addr env = m->sender != SIM_NONE ? m->sender : m->from;
    MH_TRY(add_dlv(S, user, folder, sender_copy, t, off, m->size, bcc_off, bcc_len, env));
    ring_push(u, m, sim_msg_slot(S, m), t, folder);
    if (u->target) MH_TRY(sim_target_record(S, user, m, folder, t));
    S->mailbox_bytes += m->size - (sender_copy ? 0 : bcc_len);
    return MH_OK;
}

mh_status sim_mail_send(struct sim *S, struct sim_msg *m, const struct sim_ip *client_ip)
{
    return sim_mail_send_extra(S, m, client_ip, NULL, 0);
}

mh_status sim_mail_send_extra(struct sim *S, struct sim_msg *m, const struct sim_ip *client_ip,
                              const uint32_t *extra, uint32_t nextra)
{
    uint32_t bcc_off, bcc_len;
    MH_TRY(compose(S, m, client_ip, &bcc_off, &bcc_len));
    struct sim_tx *t = &S->msgbuf;
    /* mbox escaping of body lines that start with "From " */
    for (size_t i = 1; i + 5 < t->b.len; i++) {
        if (t->b.data[i - 1] == '\n' && memcmp(t->b.data + i, "From ", 5) == 0) {
            if (!sim_tx_room(t, 1)) break;
            memmove(t->b.data + i + 1, t->b.data + i, t->b.len - i);
            t->b.data[i] = '>';
            sim_tx_commit(t, 1);
            if (bcc_len && bcc_off > i) bcc_off++;
        }
    }
    m->size = (uint32_t)t->b.len;
    uint64_t off;
    MH_TRY(spool_write(S, t->b.data, t->b.len, &off));
    S->messages++;
    struct sim_rng r;
    sim_rng_derive(&r, S->o.seed, SIM_S_MAIL, m->serial, 2);
    if (SIM_ADDR_KIND(m->from) == A_USER)
        MH_TRY(deliver(S, m, SIM_ADDR_IDX(m->from), F_SENT, true, m->t, off, bcc_off, bcc_len));
    uint32_t nr = (uint32_t)m->nto + m->ncc + m->nbcc;
    for (uint32_t i = 0; i < nr; i++) {
        sim_addr a = m->rcpt[i];
        if (SIM_ADDR_KIND(a) != A_USER) continue;
        bool dup = false;
        for (uint32_t k = 0; k < i; k++) dup |= m->rcpt[k] == a;
        if (dup || a == m->from) continue;
        mh_time dt = m->t + (mh_time)sim_rng_range(&r, 2, 25) * SIM_SEC;
        MH_TRY(deliver(S, m, SIM_ADDR_IDX(a), F_INBOX, false, dt, off, bcc_off, bcc_len));
    }
    for (uint32_t i = 0; i < nextra; i++) {
        mh_time dt = m->t + (mh_time)sim_rng_range(&r, 5, 90) * SIM_SEC;
        MH_TRY(deliver(S, m, extra[i], F_INBOX, false, dt, off, bcc_off, bcc_len));
    }
    /* trace: the primary tenant's view */
    bool ours_from =
        SIM_ADDR_KIND(m->from) == A_USER && S->users[SIM_ADDR_IDX(m->from)].tenant == 0;
    bool ours_to = false;
    for (uint32_t i = 0; i < nr; i++)
        ours_to |=
            SIM_ADDR_KIND(m->rcpt[i]) == A_USER && S->users[SIM_ADDR_IDX(m->rcpt[i])].tenant == 0;
    for (uint32_t i = 0; i < nextra; i++) ours_to |= S->users[extra[i]].tenant == 0;
    if (ours_from || ours_to)
        MH_TRY(sim_emit_trace(S, m, sim_msg_subject(S, m), client_ip, ours_from ? 0 : 1, extra,
                              nextra));
    return MH_OK;
}

/* ------------------------------------------------------------ mbox flush */

static int cmp_dlv(const void *a, const void *b)
{
    const struct sim_dlv *x = a, *y = b;
    if (x->user != y->user) return x->user < y->user ? -1 : 1;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static mh_status mbox_write(struct sim *S, int fd, const char *rel)
{
    MH_TRY(sim_out_write_fd(S, fd, rel, S->mbuf.b.data, S->mbuf.b.len));
    S->bytes_out += S->mbuf.b.len;
    mh_buf_clear(&S->mbuf.b);
    return MH_OK;
}

mh_status sim_mail_day_flush(struct sim *S)
{
    mh_status st = MH_OK;
    int fd = -1;
    char rel[320];
    MH_TRY(spool_flush(S));
    qsort(S->dlv, S->ndlv, sizeof *S->dlv, cmp_dlv);
    for (size_t i = 0; i < S->ndlv;) {
        uint32_t user = S->dlv[i].user;
        snprintf(rel, sizeof rel, "mail/%s.mbox", S->users[user].upn);
        int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (S->mbox_seen[user] ? O_APPEND : O_TRUNC);
        fd = openat(S->files_dirfd, rel, flags, 0666);
        if (fd < 0) {
            st = mh_error_set(S->err, MH_EIO, "cannot open mailbox", "%s/%s: %s", S->dir, rel,
                              strerror(errno));
            goto out;
        }
        S->mbox_seen[user] = 1;
        for (; i < S->ndlv && S->dlv[i].user == user; i++) {
            const struct sim_dlv *d = &S->dlv[i];
            struct sim_tx *t = &S->mbuf;
            SIM_LIT(t, "From ");
            sim_tx_s(t, sim_addr_email(S, d->env_from));
            sim_tx_c(t, ' ');
            asc_date(t, d->t);
            sim_tx_c(t, '\n');
            if (!sim_tx_room(t, d->len + 2)) {
                st = mh_error_set(S->err, t->st, "mailbox buffer", NULL);
                goto out;
            }
            ssize_t got = pread(S->spool_fd, t->b.data + t->b.len, d->len, (off_t)d->off);
            if (got != (ssize_t)d->len) {
                st = mh_error_set(S->err, MH_EIO, "cannot read spool", "%s",
                                  got < 0 ? strerror(errno) : "short read");
                goto out;
            }
            if (d->bcc_len) {
                memmove(t->b.data + t->b.len + d->bcc_off,
                        t->b.data + t->b.len + d->bcc_off + d->bcc_len,
                        d->len - d->bcc_off - d->bcc_len);
                sim_tx_commit(t, d->len - d->bcc_len);
            } else {
                sim_tx_commit(t, d->len);
            }
            if (t->b.len && t->b.data[t->b.len - 1] != '\n') sim_tx_c(t, '\n');
            sim_tx_c(t, '\n');
            if (t->b.len >= MH_SIM_FILE_BUF) MH_CHECK(mbox_write(S, fd, rel));
        }
        MH_CHECK(mbox_write(S, fd, rel));
        if (close(fd) != 0) {
            fd = -1;
            st = mh_error_set(S->err, MH_EIO, "cannot close mailbox", "%s/%s", S->dir, rel);
            goto out;
        }
        fd = -1;
    }
    S->ndlv = 0;
    if (ftruncate(S->spool_fd, 0) != 0 || lseek(S->spool_fd, 0, SEEK_SET) != 0) {
        st = mh_error_set(S->err, MH_EIO, "cannot reset spool", "%s", strerror(errno));
        goto out;
    }
    S->spool_len = 0;
out:
    if (fd >= 0) close(fd);
    return st;
}
