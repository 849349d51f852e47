/*
 * ingest/mime.c -- the GMime adapter (see mime.h): the only file that includes GMime
 *
 * Ownership: every GMime/GLib object is created and released inside one
 * function here; callers only see copies (arena strings, mh_buf text).
 * GMime reports problems through a parser-options warning callback; each
 * walker has its own options object whose callback counts into the stats of
 * the message being parsed. A process-wide options object (loose
 * compliance, no callback) serves the thread-safe header helpers.
 *
 * Addresses are read by a tolerant list reader written here (GMime's,
 * even in loose mode, drops real addresses with dots where RFC 5322 forbids
 * them); GMime still decodes RFC 2047 display names and IDN domains. It is
 * also several times faster, which the header-only index needs.
 *
 * Walk order: the message's headers, then GMimePartIter order (depth-first,
 * document order). Multipart containers produce no fragment of their own;
 * an embedded message produces its header fragment when its message/rfc822
 * part is visited, then its parts follow with paths under that part.
 *
 * Threading: g_mime_init runs once under pthread_once. GMime parsers,
 * streams and messages are never shared between threads.
 */
#include "ingest/mime.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/slice.h"
#include "mailhound/limits.h"

/* Bytes sniffed for NUL to decide text vs binary (git's and gitleaks' rule). */
#define SNIFF_BYTES 8000u

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static GMimeParserOptions *loose_opts;

static void configure(GMimeParserOptions *po)
{
    static const char *fallback[] = {"utf-8", "windows-1252", NULL};
    g_mime_parser_options_set_address_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_rfc2047_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_parameter_compliance_mode(po, GMIME_RFC_COMPLIANCE_LOOSE);
    g_mime_parser_options_set_allow_addresses_without_domain(po, TRUE);
    g_mime_parser_options_set_fallback_charsets(po, fallback);
}

static void do_init(void)
{
    g_mime_init();
    loose_opts = g_mime_parser_options_new();
    if (loose_opts) configure(loose_opts);
}

mh_status mh_mime_init(mh_error *err)
{
    pthread_once(&init_once, do_init);
    if (!loose_opts) return mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "GMime init");
    return MH_OK;
}

/* ---- UTF-8: base/utf8.h ---- */

/* windows-1252 0x80..0x9F (WHATWG: the five unassigned bytes map to C1 controls) */
static const uint16_t CP1252[32] = {
    0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
    0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
    0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
};

mh_status mh_cp1252_to_utf8(const char *s, size_t n, struct mh_buf *out)
{
    MH_TRY(mh_buf_reserve(out, n + n / 2));
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && (unsigned char)s[j] < 0x80) j++;
        MH_TRY(mh_buf_append(out, s + i, j - i));
        if (j == n) break;
        unsigned c = (unsigned char)s[j];
        unsigned cp = c < 0xA0 ? CP1252[c - 0x80] : c;
        char u[3];
        size_t k;
        if (cp < 0x800) {
            u[0] = (char)(0xC0 | (cp >> 6));
            u[1] = (char)(0x80 | (cp & 0x3F));
            k = 2;
        } else {
            u[0] = (char)(0xE0 | (cp >> 12));
            u[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
            u[2] = (char)(0x80 | (cp & 0x3F));
            k = 3;
        }
        MH_TRY(mh_buf_append(out, u, k));
        i = j + 1;
    }
    return MH_OK;
}

/* ---- header helpers ---- */

static char *zcopy(const char *s, size_t n, char *stackbuf, size_t stacksz)
{
    if (n < stacksz) {
        memcpy(stackbuf, s, n);
        stackbuf[n] = '\0';
        return stackbuf;
    }
    return g_strndup(s, n);
}

static void zfree(char *z, char *stackbuf)
{
    if (z != stackbuf) g_free(z);
}

static mh_status push_addr(struct mh_arena *a, struct mh_mime_addr **list, size_t *count,
                           size_t max, const char *name, size_t nl, const char *addr, size_t al)
{
    if (*count >= max) return MH_ELIMIT;
    /* capacity doubles at powers of two (the arena cannot realloc) */
    size_t n = *count;
    if (n == 0 || (n >= 4 && (n & (n - 1)) == 0)) {
        size_t cap = n == 0 ? 4 : n * 2;
        struct mh_mime_addr *v = mh_arena_alloc(a, cap * sizeof *v);
        if (!v) return MH_ENOMEM;
        if (n) memcpy(v, *list, n * sizeof *v);
        *list = v;
    }
    char *nm = mh_arena_strndup(a, name ? name : "", name ? nl : 0);
    char *ad = mh_arena_strndup(a, addr, al);
    if (!nm || !ad) return MH_ENOMEM;
    char *at = strrchr(ad, '@');
    if (at)
        for (char *p = at + 1; *p; p++) *p = (char)mh_ascii_lower((unsigned char)*p);
    (*list)[n].name = nm;
    (*list)[n].addr = ad;
    *count = n + 1;
    return MH_OK;
}

/*
 * A tolerant RFC 5322 address-list reader. GMime's parser (even in loose
 * mode) drops real addresses such as "k..allen@enron.com" or
 * "bass.k.@enron.com" (dots where RFC 5322 forbids them), so the list is
 * split and read here; GMime still decodes RFC 2047 display names and IDN
 * domains. Items are separated by top-level commas (outside quotes,
 * comments, <angle addresses> and [domain literals]); "name: a, b;" groups
 * are flattened. An item is "phrase <addr>" (the last angle address wins, a
 * source route "@a,@b:" is dropped) or a bare addr-spec (comments removed, a
 * comment serves as the name). Whitespace inside an address is removed
 * (obsolete "john . smith @ x.com"). Items with neither '@' nor <> that hold
 * several words are display names without an address and are skipped; a
 * single word is kept (addresses without a domain exist in old mail).
 */
static size_t skip_delim(const char *s, size_t i, size_t n, char open, char close)
{
    int depth = 0;
    for (; i < n; i++) {
        char c = s[i];
        if (c == '\\') {
            i++;
            continue;
        }
        if (open == '"') {
            if (c == '"' && depth) return i + 1;
            depth = 1;
            continue;
        }
        if (c == open && (open == '(' || depth == 0))
            depth++;
        else if (c == close && --depth == 0)
            return i + 1;
        else if (open == '<' && c == '"')
            i = skip_delim(s, i, n, '"', '"') - 1;
    }
    return n;
}

static bool is_ws(char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Append s[a..b) minus comments and (outside quotes) whitespace to out. */
static void compact(const char *s, size_t a, size_t b, char *out, size_t *on, size_t cap)
{
    for (size_t i = a; i < b && *on + 1 < cap;) {
        char c = s[i];
        if (c == '(') {
            i = skip_delim(s, i, b, '(', ')');
        } else if (c == '"') {
            size_t e = skip_delim(s, i, b, '"', '"');
            for (; i < e && *on + 1 < cap; i++)
                if ((unsigned char)s[i] >= 0x20 && s[i] != 0x7F) out[(*on)++] = s[i];
        } else if (is_ws(c) || (unsigned char)c < 0x20 || c == 0x7F) {
            i++; /* whitespace and control characters (NUL...) are not part of an address */
        } else {
            out[(*on)++] = c;
            i++;
        }
    }
}

/* The text of the first (comment) in s[a..b), trimmed, into out. */
static void first_comment(const char *s, size_t a, size_t b, char *out, size_t *on, size_t cap)
{
    for (size_t i = a; i < b;) {
        char c = s[i];
        if (c == '"') {
            i = skip_delim(s, i, b, '"', '"');
        } else if (c == '(') {
            size_t e = skip_delim(s, i, b, '(', ')');
            size_t ca = i + 1, cb = e;
            if (cb > ca && s[cb - 1] == ')') cb--;
            while (ca < cb && is_ws(s[ca])) ca++;
            while (cb > ca && is_ws(s[cb - 1])) cb--;
            size_t k = cb - ca < cap - 1 ? cb - ca : cap - 1;
            for (size_t j = 0; j < k; j++) {
                unsigned char u = (unsigned char)s[ca + j];
                out[j] = u < 0x20 || u == 0x7F ? ' ' : (char)u;
            }
            *on = k;
            return;
        } else {
            i++;
        }
    }
}

/* Display name of s[a..b): quoted strings unquoted, words joined by one space. */
static void phrase(const char *s, size_t a, size_t b, char *out, size_t *on, size_t cap)
{
    bool space = false;
    for (size_t i = a; i < b && *on + 2 < cap;) {
        char c = s[i];
        if (c == '(') {
            i = skip_delim(s, i, b, '(', ')');
            space = *on > 0;
        } else if (is_ws(c) || (unsigned char)c < 0x20 || c == 0x7F) {
            i++;
            space = *on > 0;
        } else if (c == '"') {
            size_t e = skip_delim(s, i, b, '"', '"');
            if (space && *on + 1 < cap) out[(*on)++] = ' ';
            space = false;
            for (size_t k = i + 1; k < e && *on + 1 < cap; k++) {
                if (s[k] == '"' && k + 1 == e) break;
                if (s[k] == '\\' && k + 1 < e) k++;
                if ((unsigned char)s[k] >= 0x20 && s[k] != 0x7F) out[(*on)++] = s[k];
            }
            i = e;
        } else {
            if (space && *on + 1 < cap) out[(*on)++] = ' ';
            space = false;
            out[(*on)++] = c;
            i++;
        }
    }
}

struct addr_ctx {
    struct mh_arena *a;
    struct mh_mime_addr **list;
    size_t *count, max;
    char name[1024], addr[1024], comment[512], dec[2048];
};

static mh_status add_item(struct addr_ctx *x, const char *s, size_t a, size_t b)
{
    while (a < b && is_ws(s[a])) a++;
    while (b > a && is_ws(s[b - 1])) b--;
    if (a == b) return MH_OK;
    /* last top-level angle address */
    size_t la = SIZE_MAX, lb = 0;
    bool has_at = false;
    for (size_t i = a; i < b;) {
        char c = s[i];
        if (c == '"')
            i = skip_delim(s, i, b, '"', '"');
        else if (c == '(')
            i = skip_delim(s, i, b, '(', ')');
        else if (c == '[')
            i = skip_delim(s, i, b, '[', ']');
        else if (c == '<') {
            la = i;
            lb = skip_delim(s, i, b, '<', '>');
            i = lb;
        } else {
            has_at |= c == '@';
            i++;
        }
    }
    size_t nn = 0, an = 0, cn = 0;
    if (la != SIZE_MAX) {
        size_t ia = la + 1, ib = lb;
        if (ib > ia && s[ib - 1] == '>') ib--;
        while (ia < ib && is_ws(s[ia])) ia++;
        if (ia < ib && s[ia] == '@') { /* obsolete source route "@a,@b:" */
            const char *colon = memchr(s + ia, ':', ib - ia);
            if (colon) ia = (size_t)(colon - s) + 1;
        }
        compact(s, ia, ib, x->addr, &an, sizeof x->addr);
        phrase(s, a, la, x->name, &nn, sizeof x->name);
        if (!nn) first_comment(s, lb, b, x->name, &nn, sizeof x->name);
    } else {
        compact(s, a, b, x->addr, &an, sizeof x->addr);
        first_comment(s, a, b, x->comment, &cn, sizeof x->comment);
        if (!has_at) {
            /* several words without '@' or <>: a name without an address */
            bool words = false;
            for (size_t i = a; i < b; i++)
                if (is_ws(s[i])) words = true;
            if (words) return MH_OK;
        }
        if (cn) {
            size_t k = cn < sizeof x->name ? cn : sizeof x->name - 1;
            memcpy(x->name, x->comment, k);
            nn = k;
        }
    }
    if (!an) return MH_OK;
    x->addr[an] = '\0';
    x->name[nn] = '\0';
    const char *name = x->name;
    size_t namelen = nn;
    char *decoded = NULL;
    if (memmem(x->name, nn, "=?", 2)) {
        decoded = g_mime_utils_header_decode_phrase(loose_opts, x->name);
        if (decoded) {
            name = decoded;
            namelen = strlen(decoded);
        }
    }
    /* names end up in JSON and reports: valid UTF-8 only */
    struct mh_buf nb;
    mh_buf_init(&nb, sizeof x->dec);
    mh_status st = MH_OK;
    if (!mh_utf8_valid(name, namelen)) {
        st = mh_cp1252_to_utf8(name, namelen, &nb);
        if (!st) {
            name = nb.data;
            namelen = nb.len;
        }
    }
    const char *addr = x->addr;
    size_t addrlen = an;
    InternetAddress *ia = NULL;
    for (size_t i = 0; i < an && !st; i++)
        if ((unsigned char)x->addr[i] >= 0x80) {
            /* IDN: GMime (libidn2) gives the A-label form */
            ia = internet_address_mailbox_new("", x->addr);
            const char *idn =
                ia ? internet_address_mailbox_get_idn_addr(INTERNET_ADDRESS_MAILBOX(ia)) : NULL;
            if (idn && *idn) {
                addr = idn;
                addrlen = strlen(idn);
            }
            break;
        }
    struct mh_buf ab;
    mh_buf_init(&ab, sizeof x->dec);
    if (!st && !mh_utf8_valid(addr, addrlen)) {
        st = mh_cp1252_to_utf8(x->addr, an, &ab);
        if (!st) {
            addr = ab.data;
            addrlen = ab.len;
        }
    }
    if (!st) st = push_addr(x->a, x->list, x->count, x->max, name, namelen, addr, addrlen);
    if (ia) g_object_unref(ia);
    g_free(decoded);
    mh_buf_fini(&ab);
    mh_buf_fini(&nb);
    return st;
}

mh_status mh_mime_parse_addresses(const char *value, size_t n, struct mh_arena *a,
                                  struct mh_mime_addr **list, size_t *count, size_t max)
{
    if (mh_mime_init(NULL)) return MH_ENOMEM;
    struct addr_ctx *x = mh_malloc(sizeof *x);
    if (!x) return MH_ENOMEM;
    x->a = a;
    x->list = list;
    x->count = count;
    x->max = max;
    mh_status st = MH_OK;
    size_t item = 0;
    bool in_group = false;
    bool seen_at_or_angle = false;
    for (size_t i = 0; i < n && !st;) {
        char c = value[i];
        if (c == '"') {
            i = skip_delim(value, i, n, '"', '"');
        } else if (c == '(') {
            i = skip_delim(value, i, n, '(', ')');
        } else if (c == '<') {
            seen_at_or_angle = true;
            i = skip_delim(value, i, n, '<', '>');
        } else if (c == '[') {
            i = skip_delim(value, i, n, '[', ']');
        } else if (c == ',' || (c == ';' && in_group)) {
            st = add_item(x, value, item, i);
            if (c == ';') in_group = false;
            item = ++i;
            seen_at_or_angle = false;
        } else if (c == ':' && !in_group && !seen_at_or_angle) {
            in_group = true; /* "name:" starts a group; the name is not an address */
            item = ++i;
        } else {
            seen_at_or_angle |= c == '@';
            i++;
        }
    }
    if (!st) st = add_item(x, value, item, n);
    mh_free(x);
    return st;
}

mh_status mh_mime_parse_date(const char *value, size_t n, mh_time *out)
{
    if (mh_mime_init(NULL)) return MH_ENOMEM;
    char sb[256];
    char *z = zcopy(value, n, sb, sizeof sb);
    GDateTime *dt = g_mime_utils_header_decode_date(z);
    zfree(z, sb);
    if (!dt) return MH_EPARSE;
    *out = (mh_time)g_date_time_to_unix(dt) * MH_USEC_PER_SEC + g_date_time_get_microsecond(dt);
    g_date_time_unref(dt);
    return MH_OK;
}

mh_status mh_mime_decode_header(const char *value, size_t n, struct mh_buf *out)
{
    if (mh_mime_init(NULL)) return MH_ENOMEM;
    mh_buf_clear(out);
    if (!memmem(value, n, "=?", 2)) {
        /* no encoded words: unfold and trim here (GMime's path opens iconv) */
        size_t b = 0, e = n;
        while (b < e &&
               (value[b] == ' ' || value[b] == '\t' || value[b] == '\r' || value[b] == '\n'))
            b++;
        while (e > b && (value[e - 1] == ' ' || value[e - 1] == '\t' || value[e - 1] == '\r' ||
                         value[e - 1] == '\n'))
            e--;
        size_t start = out->len;
        if (mh_utf8_valid(value + b, e - b))
            MH_TRY(mh_buf_append(out, value + b, e - b));
        else
            MH_TRY(mh_cp1252_to_utf8(value + b, e - b, out));
        /* folding: CRLF/LF followed by whitespace is one space */
        size_t w = start;
        for (size_t r = start; r < out->len; r++) {
            char c = out->data[r];
            if (c == '\r' || c == '\n') continue;
            out->data[w++] = c;
        }
        out->len = w;
        out->data[w] = '\0';
        return MH_OK;
    }
    char sb[1024];
    char *z = zcopy(value, n, sb, sizeof sb);
    char *unf = g_mime_utils_header_unfold(z);
    zfree(z, sb);
    char *dec = unf ? g_mime_utils_header_decode_text(loose_opts, unf) : NULL;
    g_free(unf);
    if (!dec) return MH_ENOMEM;
    const char *s = dec;
    while (*s == ' ' || *s == '\t') s++;
    size_t len = strlen(s);
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t')) len--;
    mh_status st =
        mh_utf8_valid(s, len) ? mh_buf_append(out, s, len) : mh_utf8_repair(s, len, out, NULL);
    g_free(dec);
    return st;
}

/* ---- the walker ---- */

struct mh_mime_walker {
    GMimeParserOptions *po;
    struct mh_mime_stats *cur; /* message being parsed (warning callback target) */
    struct mh_buf text;        /* fragment text */
    struct mh_buf raw;         /* transfer-decoded bytes */
    bool truncated;            /* GMIME_WARN_TRUNCATED_MESSAGE seen */
    char skip_prefix[256];     /* children of an opaque container are skipped */
    size_t skip_len;
};

static const char *warning_name(GMimeParserWarning w)
{
    switch (w) {
    case GMIME_WARN_DUPLICATED_HEADER:
        return "duplicated header";
    case GMIME_WARN_DUPLICATED_PARAMETER:
        return "duplicated parameter";
    case GMIME_WARN_UNENCODED_8BIT_HEADER:
        return "unencoded 8-bit header";
    case GMIME_WARN_INVALID_CONTENT_TYPE:
        return "invalid content type";
    case GMIME_WARN_INVALID_RFC2047_HEADER_VALUE:
        return "invalid RFC 2047 header value";
    case GMIME_WARN_MALFORMED_MULTIPART:
        return "malformed multipart";
    case GMIME_WARN_TRUNCATED_MESSAGE:
        return "truncated message";
    case GMIME_WARN_MALFORMED_MESSAGE:
        return "malformed message";
    case GMIME_CRIT_INVALID_HEADER_NAME:
        return "invalid header name";
    case GMIME_CRIT_CONFLICTING_HEADER:
        return "conflicting header";
    case GMIME_CRIT_CONFLICTING_PARAMETER:
        return "conflicting parameter";
    case GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY:
        return "multipart without boundary";
    case GMIME_WARN_INVALID_PARAMETER:
        return "invalid parameter";
    case GMIME_WARN_INVALID_ADDRESS_LIST:
        return "invalid address list";
    case GMIME_CRIT_NESTING_OVERFLOW:
        return "MIME nesting overflow";
    case GMIME_WARN_PART_WITHOUT_CONTENT:
        return "part without content";
    case GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT:
        return "part without headers or content";
    }
    return "parser warning";
}

static void on_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer user)
{
    (void)item;
    struct mh_mime_walker *w = user;
    struct mh_mime_stats *s = w->cur;
    if (!s) return;
    s->warnings++;
    bool crit =
        code == GMIME_CRIT_INVALID_HEADER_NAME || code == GMIME_CRIT_CONFLICTING_HEADER ||
        code == GMIME_CRIT_CONFLICTING_PARAMETER || code == GMIME_CRIT_MULTIPART_WITHOUT_BOUNDARY ||
        code == GMIME_CRIT_NESTING_OVERFLOW || code == GMIME_CRIT_PART_WITHOUT_HEADERS_OR_CONTENT;
    if (crit) s->critical++;
    if (code == GMIME_WARN_TRUNCATED_MESSAGE) {
        /* decided after parsing: a message of headers only is "truncated"
         * for GMime but valid (RFC 5322 bodies are optional) */
        w->truncated = true;
        return;
    }
    if (crit || code == GMIME_WARN_MALFORMED_MESSAGE || code == GMIME_WARN_MALFORMED_MULTIPART) {
        if (!s->malformed)
            snprintf(s->reason, sizeof s->reason, "%s at byte %lld", warning_name(code),
                     (long long)offset);
        s->malformed = true;
    }
}

mh_status mh_mime_walker_new(struct mh_mime_walker **out, mh_error *err)
{
    MH_TRY(mh_mime_init(err));
    struct mh_mime_walker *w = mh_calloc(1, sizeof *w);
    if (!w) return mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "mime walker");
    w->po = g_mime_parser_options_new();
    if (!w->po) {
        mh_free(w);
        return mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "GMime options");
    }
    configure(w->po);
    g_mime_parser_options_set_warning_callback(w->po, on_warning, w);
    mh_buf_init(&w->text, (size_t)MH_MAX_FRAGMENT_BYTES * 3 + 64);
    mh_buf_init(&w->raw, (size_t)MH_MAX_FRAGMENT_BYTES + 1);
    *out = w;
    return MH_OK;
}

void mh_mime_walker_free(struct mh_mime_walker *w)
{
    if (!w) return;
    g_mime_parser_options_free(w->po);
    mh_buf_fini(&w->text);
    mh_buf_fini(&w->raw);
    mh_free(w);
}

const char *mh_frag_kind_name(enum mh_frag_kind k)
{
    switch (k) {
    case MH_FRAG_HEADERS:
        return "headers";
    case MH_FRAG_TEXT:
        return "text";
    case MH_FRAG_ATTACHMENT:
        return "attachment";
    case MH_FRAG_BINARY:
        return "binary";
    case MH_FRAG_OPAQUE:
        return "opaque";
    case MH_FRAG_SKIPPED:
        return "skipped";
    }
    return "?";
}

static bool label_is(const char *cs, const char *const *names)
{
    for (; *names; names++)
        if (g_ascii_strcasecmp(cs, *names) == 0) return true;
    return false;
}

/* Convert decoded bytes to UTF-8 in w->text per the policy in mime.h. */
static mh_status to_utf8(struct mh_mime_walker *w, const char *charset, const char *in, size_t n,
                         const char **fallback)
{
    static const char *const plain[] = {"utf-8",    "utf8",           "us-ascii",  "ascii",
                                        "us_ascii", "ansi_x3.4-1968", "iso646-us", NULL};
    mh_buf_clear(&w->text);
    *fallback = NULL;
    iconv_t cd = (iconv_t)-1;
    bool declared = charset && *charset;
    if (declared && !label_is(charset, plain)) cd = g_mime_iconv_open("UTF-8", charset);
    if (cd == (iconv_t)-1) {
        if (mh_utf8_valid(in, n)) {
            if (declared && !label_is(charset, plain)) *fallback = "utf-8";
            return mh_buf_append(&w->text, in, n);
        }
        *fallback = "windows-1252";
        return mh_cp1252_to_utf8(in, n, &w->text);
    }
    mh_status st = MH_OK;
    bool replaced = false;
    char *inp = (char *)in;
    size_t inleft = n;
    bool flushing = false;
    for (;;) {
        st = mh_buf_reserve(&w->text, inleft * 2 + 64);
        if (st) break;
        char *outp = w->text.data + w->text.len;
        size_t outcap = w->text.cap - w->text.len - 1, outleft = outcap;
        size_t r = flushing ? iconv(cd, NULL, NULL, &outp, &outleft)
                            : iconv(cd, &inp, &inleft, &outp, &outleft);
        int e = errno;
        w->text.len += outcap - outleft;
        w->text.data[w->text.len] = '\0';
        if (r != (size_t)-1) {
            if (flushing) break;
            flushing = true; /* all input taken: emit any pending shift sequence */
            continue;
        }
        if (e == E2BIG) continue;
        if (flushing) break;
        /* EILSEQ / EINVAL: one byte becomes U+FFFD, the converter starts afresh */
        st = mh_buf_append(&w->text, "\xEF\xBF\xBD", 3);
        if (st) break;
        replaced = true;
        inp++;
        inleft--;
        iconv(cd, NULL, NULL, NULL, NULL);
        if (!inleft) flushing = true;
    }
    g_mime_iconv_close(cd);
    if (st) return st;
    if (!mh_utf8_valid(w->text.data, w->text.len)) {
        /* a broken converter table: repair in place via raw */
        mh_buf_clear(&w->raw);
        MH_TRY(mh_buf_append(&w->raw, w->text.data, w->text.len));
        mh_buf_clear(&w->text);
        MH_TRY(mh_utf8_repair(w->raw.data, w->raw.len, &w->text, NULL));
        replaced = true;
    }
    if (replaced) *fallback = "replacement";
    return MH_OK;
}

/* Header block of obj as "Name: value\n" lines into w->text. */
static mh_status headers_text(struct mh_mime_walker *w, GMimeObject *obj)
{
    mh_buf_clear(&w->text);
    GMimeHeaderList *hl = g_mime_object_get_header_list(obj);
    int count = hl ? g_mime_header_list_get_count(hl) : 0;
    for (int i = 0; i < count; i++) {
        GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
        const char *name = g_mime_header_get_name(h);
        const char *val = g_mime_header_get_value(h);
        if (!name) continue;
        size_t nl = strlen(name), vl = val ? strlen(val) : 0;
        if (mh_utf8_valid(name, nl))
            MH_TRY(mh_buf_append(&w->text, name, nl));
        else
            MH_TRY(mh_utf8_repair(name, nl, &w->text, NULL));
        MH_TRY(mh_buf_append(&w->text, ": ", 2));
        size_t before = w->text.len;
        if (vl && mh_utf8_valid(val, vl))
            MH_TRY(mh_buf_append(&w->text, val, vl));
        else if (vl)
            MH_TRY(mh_utf8_repair(val, vl, &w->text, NULL));
        /* unfold what GMime left folded: line breaks inside a value become spaces */
        for (size_t k = before; k < w->text.len; k++)
            if (w->text.data[k] == '\r' || w->text.data[k] == '\n') w->text.data[k] = ' ';
        MH_TRY(mh_buf_putc(&w->text, '\n'));
    }
    return MH_OK;
}

static mh_status emit(const struct mh_mime_fragment *f, struct mh_mime_stats *st,
                      mh_mime_fragment_fn fn, void *ctx)
{
    st->by_kind[f->kind]++;
    return fn(ctx, f);
}

static unsigned path_depth(const char *path)
{
    unsigned d = 1;
    for (; *path; path++) d += *path == '.';
    return d;
}

static void lower(char *s)
{
    for (; s && *s; s++) *s = (char)mh_ascii_lower((unsigned char)*s);
}

static bool has_nul(const char *p, size_t n)
{
    return memchr(p, '\0', n < SNIFF_BYTES ? n : SNIFF_BYTES) != NULL;
}

/* Transfer-decode a leaf into w->raw; *size gets the decoded size, *too_big
 * is set (and w->raw left empty) when it exceeds MH_MAX_FRAGMENT_BYTES. */
static mh_status decode_leaf(struct mh_mime_walker *w, GMimePart *part, uint64_t *size,
                             bool *too_big)
{
    mh_buf_clear(&w->raw);
    *too_big = false;
    *size = 0;
    GMimeDataWrapper *content = g_mime_part_get_content(part);
    if (!content) return MH_OK;
    GMimeStream *mem = g_mime_stream_mem_new();
    if (!mem) return MH_ENOMEM;
    g_mime_data_wrapper_write_to_stream(content, mem);
    GByteArray *ba = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
    mh_status st = MH_OK;
    *size = ba ? ba->len : 0;
    if (*size > MH_MAX_FRAGMENT_BYTES)
        *too_big = true;
    else if (*size)
        st = mh_buf_append(&w->raw, ba->data, ba->len);
    g_object_unref(mem);
    return st;
}

static bool is_media(const char *ct)
{
    return !strncmp(ct, "image/", 6) || !strncmp(ct, "audio/", 6) || !strncmp(ct, "video/", 6) ||
           !strncmp(ct, "font/", 5) || !strncmp(ct, "model/", 6);
}

struct walk {
    struct mh_mime_walker *w;
    mh_mime_fragment_fn fn;
    void *ctx;
    struct mh_mime_stats *stats;
    char msgpath[MH_MAX_MIME_DEPTH][64]; /* paths of the embedded messages we are inside */
    unsigned nmsg;
};

static unsigned message_depth(struct walk *wk, const char *path)
{
    size_t n = strlen(path);
    while (wk->nmsg) {
        const char *p = wk->msgpath[wk->nmsg - 1];
        size_t k = strlen(p);
        if (n > k && !strncmp(path, p, k) && path[k] == '.') break;
        wk->nmsg--;
    }
    return wk->nmsg;
}

static mh_status visit_leaf(struct walk *wk, GMimeObject *obj, const char *path, unsigned depth)
{
    struct mh_mime_walker *w = wk->w;
    GMimePart *part = GMIME_PART(obj);
    char ct[128] = "application/octet-stream";
    GMimeContentType *ctype = g_mime_object_get_content_type(obj);
    char *mt = ctype ? g_mime_content_type_get_mime_type(ctype) : NULL;
    if (mt) snprintf(ct, sizeof ct, "%s", mt);
    g_free(mt);
    lower(ct);
    const char *filename = g_mime_part_get_filename(part);
    const char *charset = g_mime_object_get_content_type_parameter(obj, "charset");
    struct mh_mime_fragment f = {
        .part = path, .content_type = ct, .filename = filename, .charset = charset, .depth = depth};
    wk->stats->leaves++;
    if (!strcmp(ct, "application/pkcs7-mime") || !strcmp(ct, "application/x-pkcs7-mime")) {
        f.kind = MH_FRAG_OPAQUE;
        f.reason = "S/MIME envelope";
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    if (is_media(ct)) {
        f.kind = MH_FRAG_BINARY;
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    bool too_big;
    MH_TRY(decode_leaf(w, part, &f.decoded_bytes, &too_big));
    if (too_big) {
        f.kind = MH_FRAG_SKIPPED;
        f.reason = "decoded part larger than the fragment limit";
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    bool text = !strncmp(ct, "text/", 5);
    if (!text && has_nul(w->raw.data ? w->raw.data : "", w->raw.len)) {
        f.kind = MH_FRAG_BINARY;
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    mh_status st = to_utf8(w, charset, w->raw.data ? w->raw.data : "", w->raw.len, &f.fallback);
    if (st == MH_ELIMIT) {
        f.kind = MH_FRAG_SKIPPED;
        f.reason = "converted text larger than the fragment limit";
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    if (st) return st;
    f.kind = text ? MH_FRAG_TEXT : MH_FRAG_ATTACHMENT;
    f.data = w->text.data ? w->text.data : "";
    f.len = w->text.len;
    return emit(&f, wk->stats, wk->fn, wk->ctx);
}

static mh_status visit(struct walk *wk, GMimeObject *obj, const char *path)
{
    struct mh_mime_walker *w = wk->w;
    if (w->skip_len && !strncmp(path, w->skip_prefix, w->skip_len) && path[w->skip_len] == '.')
        return MH_OK;
    unsigned depth = message_depth(wk, path);
    if (GMIME_IS_MULTIPART_ENCRYPTED(obj)) {
        struct mh_mime_fragment f = {.kind = MH_FRAG_OPAQUE,
                                     .part = path,
                                     .content_type = "multipart/encrypted",
                                     .reason = "PGP/MIME encrypted",
                                     .depth = depth};
        snprintf(w->skip_prefix, sizeof w->skip_prefix, "%s", path);
        w->skip_len = strlen(w->skip_prefix);
        wk->stats->leaves++;
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    if (GMIME_IS_MULTIPART(obj)) return MH_OK;
    if (path_depth(path) > MH_MAX_MIME_DEPTH) {
        struct mh_mime_fragment f = {.kind = MH_FRAG_SKIPPED,
                                     .part = path,
                                     .content_type = "",
                                     .reason = "deeper than the MIME depth limit",
                                     .depth = depth};
        wk->stats->leaves++;
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    if (GMIME_IS_MESSAGE_PART(obj)) {
        GMimeMessage *m = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));
        wk->stats->embedded++;
        if (!m) return MH_OK;
        if (wk->nmsg < MH_MAX_MIME_DEPTH) snprintf(wk->msgpath[wk->nmsg++], 64, "%s", path);
        char hp[300];
        snprintf(hp, sizeof hp, "%s.headers", path);
        mh_status st = headers_text(w, GMIME_OBJECT(m));
        if (st) return st;
        struct mh_mime_fragment f = {.kind = MH_FRAG_HEADERS,
                                     .part = hp,
                                     .content_type = "message/rfc822",
                                     .data = w->text.data ? w->text.data : "",
                                     .len = w->text.len,
                                     .depth = depth + 1};
        return emit(&f, wk->stats, wk->fn, wk->ctx);
    }
    if (GMIME_IS_PART(obj)) return visit_leaf(wk, obj, path, depth);
    return MH_OK;
}

mh_status mh_mime_walk(struct mh_mime_walker *w, const char *raw, size_t n, mh_mime_fragment_fn fn,
                       void *ctx, struct mh_mime_stats *stats, mh_error *err)
{
    mh_status st = MH_OK;
    GMimeStream *stream = NULL;
    GMimeParser *parser = NULL;
    GMimeMessage *msg = NULL;
    GMimePartIter *it = NULL;
    memset(stats, 0, sizeof *stats);
    w->skip_len = 0;
    if (n > MH_MAX_MESSAGE_BYTES)
        return mh_error_set(err, MH_ELIMIT, "message too large", "%zu bytes", n);
    stream = g_mime_stream_mem_new_with_buffer(raw ? raw : "", n);
    if (!stream) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "GMime stream"));
    parser = g_mime_parser_new_with_stream(stream);
    if (!parser) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "GMime parser"));
    g_mime_parser_set_format(parser, GMIME_FORMAT_MESSAGE);
    w->cur = stats;
    w->truncated = false;
    msg = g_mime_parser_construct_message(parser, w->po);
    w->cur = NULL;
    if (w->truncated && (memmem(raw, n, "\n\n", 2) || memmem(raw, n, "\n\r\n", 3))) {
        if (!stats->malformed)
            snprintf(stats->reason, sizeof stats->reason,
                     "truncated message (a MIME part is not closed)");
        stats->malformed = true;
    }
    if (!msg) {
        stats->malformed = true;
        snprintf(stats->reason, sizeof stats->reason, "GMime could not parse a message");
        MH_CHECK(mh_error_set(err, MH_EPARSE, "unparsable message", NULL));
    }
    struct walk wk = {.w = w, .fn = fn, .ctx = ctx, .stats = stats};
    MH_CHECK(headers_text(w, GMIME_OBJECT(msg)));
    struct mh_mime_fragment hf = {.kind = MH_FRAG_HEADERS,
                                  .part = "headers",
                                  .content_type = "",
                                  .data = w->text.data ? w->text.data : "",
                                  .len = w->text.len};
    MH_CHECK(emit(&hf, stats, fn, ctx));
    it = g_mime_part_iter_new(GMIME_OBJECT(msg));
    if (!it) MH_CHECK(mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "GMime iterator"));
    size_t visited = 0;
    if (g_mime_part_iter_is_valid(it)) {
        do {
            GMimeObject *cur = g_mime_part_iter_get_current(it);
            char *path = g_mime_part_iter_get_path(it);
            if (++visited > MH_MAX_MIME_PARTS) {
                struct mh_mime_fragment f = {.kind = MH_FRAG_SKIPPED,
                                             .part = path ? path : "?",
                                             .content_type = "",
                                             .reason = "more parts than the MIME part limit"};
                stats->leaves++;
                st = emit(&f, stats, fn, ctx);
                g_free(path);
                break;
            }
            /* GMime calls a single-part body "0"; report it as part 1 */
            const char *pp = path && *path && strcmp(path, "0") != 0 ? path : "1";
            st = cur ? visit(&wk, cur, pp) : MH_OK;
            g_free(path);
            if (st) break;
        } while (g_mime_part_iter_next(it));
    }
    if (st == MH_ENOMEM) mh_error_set(err, MH_ENOMEM, "out of memory", "%s", "MIME walk");
out:
    if (it) g_mime_part_iter_free(it);
    if (msg) g_object_unref(msg);
    if (parser) g_object_unref(parser);
    if (stream) g_object_unref(stream);
    return st;
}
