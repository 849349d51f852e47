/*
 * notify/org.c -- organisation keys of addresses (see org.h for the rules)
 *
 * Data model: five bounded hash maps (mh_map, insertion-ordered) whose
 * values point into one arena owned by the mh_orgs:
 *   internal   domain -> 1                  (lower-case)
 *   free_exact domain -> 1                  ("gmail.com")
 *   free_wild  label  -> 1                  ("yahoo" from "yahoo.*")
 *   overrides  domain -> struct override*   (key / +N / freemail, name)
 *   dns        DN (case-insensitive) -> SMTP address (NUL-terminated)
 * Lookups walk the address's domain from the full name up through its
 * parents ("a.b.example.com", "b.example.com", "example.com", "com"), so
 * subdomains inherit every entry and the deepest entry wins.
 *
 * Invariants: every stored domain is ASCII-lower-cased with no leading or
 * trailing dot; mh_orgs_count() <= MH_ORG_MAX_ENTRIES. Classification never
 * allocates (fixed buffers in struct mh_org), so it is thread-safe on a
 * built table.
 */
#include "notify/org.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/arena.h"
#include "base/buf.h"
#include "base/hash.h"
#include "ingest/json.h"
#include "notify/fs.h"
#include "notify/psl.h"

#ifndef MH_DATA_DIR
#define MH_DATA_DIR "."
#endif

enum ovr_mode { OVR_KEY, OVR_DEEPER, OVR_FREEMAIL };

struct override {
    enum ovr_mode mode;
    int deeper;      /* OVR_DEEPER: labels below the listed domain */
    const char *key; /* OVR_KEY */
    const char *name;
};

struct mh_orgs {
    struct mh_map internal, free_exact, free_wild, overrides, dns;
    struct mh_arena strings;
};

const char *mh_org_kind_str(enum mh_org_kind k)
{
    switch (k) {
    case MH_ORG_DOMAIN:
    case MH_ORG_OVERRIDE: return "organisation";
    case MH_ORG_FREEMAIL: return "individual";
    case MH_ORG_LIST: return "list";
    case MH_ORG_INTERNAL: return "internal";
    case MH_ORG_UNRESOLVED: return "unresolved";
    case MH_ORG_INVALID: return "invalid";
    }
    return "invalid";
}

bool mh_org_kind_notified(enum mh_org_kind k)
{
    return k == MH_ORG_DOMAIN || k == MH_ORG_OVERRIDE || k == MH_ORG_FREEMAIL || k == MH_ORG_LIST;
}

mh_status mh_orgs_new(mh_orgs **out, mh_error *err)
{
    mh_orgs *o = mh_calloc(1, sizeof *o);
    if (!o) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    mh_map_init(&o->internal, MH_ORG_MAX_ENTRIES, false);
    mh_map_init(&o->free_exact, MH_ORG_MAX_ENTRIES, false);
    mh_map_init(&o->free_wild, MH_ORG_MAX_ENTRIES, false);
    mh_map_init(&o->overrides, MH_ORG_MAX_ENTRIES, false);
    mh_map_init(&o->dns, MH_ORG_MAX_ENTRIES, true);
    mh_arena_init(&o->strings, 65536, 0);
    *out = o;
    return MH_OK;
}

void mh_orgs_free(mh_orgs *o)
{
    if (!o) return;
    mh_map_fini(&o->internal);
    mh_map_fini(&o->free_exact);
    mh_map_fini(&o->free_wild);
    mh_map_fini(&o->overrides);
    mh_map_fini(&o->dns);
    mh_arena_fini(&o->strings);
    mh_free(o);
}

size_t mh_orgs_count(const mh_orgs *o)
{
    return o->internal.n + o->free_exact.n + o->free_wild.n + o->overrides.n + o->dns.n;
}

/* ---- small string helpers ---- */

static bool is_ws(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v';
}

static bool prefix_nocase(const char *s, size_t n, const char *p)
{
    size_t k = strlen(p);
    return n >= k && mh_slice_eq_nocase(mh_slice_make(s, k), mh_slice_make(p, k));
}

/* Normalise a domain into out (lower-case ASCII, one trailing dot dropped).
 * Returns a fixed reason when it is not a usable domain, NULL when fine. */
static const char *norm_domain(const char *d, size_t n, char *out, size_t outsz, size_t *outlen)
{
    if (n && d[n - 1] == '.') n--;
    if (n == 0) return "empty domain";
    if (d[0] == '[') return "domain literal (IP address)";
    if (n >= outsz) return "address too long";
    size_t label = 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)d[i];
        if (c == '.') {
            if (label == 0) return "empty label in domain";
            label = 0;
            out[i] = '.';
            continue;
        }
        if (!(c >= 0x80 || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '_'))
            return "invalid character in domain";
        out[i] = (char)mh_ascii_lower(c);
        label++;
    }
    if (label == 0) return "empty label in domain";
    out[n] = '\0';
    *outlen = n;
    return NULL;
}

static const char *check_local(const char *l, size_t n)
{
    if (n == 0) return "empty local part";
    bool quoted = n >= 2 && l[0] == '"' && l[n - 1] == '"';
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)l[i];
        if (c < 0x20 || c == 0x7f) return "control character in address";
        if (quoted) continue;
        if (is_ws(c) || strchr("<>()[],;:\\\"@", c)) return "invalid character in local part";
    }
    return NULL;
}

static void set_invalid(struct mh_org *out, enum mh_org_kind kind, const char *reason)
{
    out->kind = kind;
    out->key[0] = '\0';
    out->reason = reason;
    out->name = NULL;
}

/* ---- table building ---- */

static mh_status room(const mh_orgs *o, mh_error *err)
{
    if (mh_orgs_count(o) >= MH_ORG_MAX_ENTRIES)
        return mh_error_set(err, MH_ELIMIT, "too many organisation entries", "limit %u",
                            (unsigned)MH_ORG_MAX_ENTRIES);
    return MH_OK;
}

static mh_status put(struct mh_map *m, const char *k, size_t n, uint64_t v, mh_error *err)
{
    struct mh_map_entry *e;
    mh_status st = mh_map_put(m, k, n, &e, NULL);
    if (st) return mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "too many entries", NULL);
    e->value = v;
    return MH_OK;
}

static mh_status domain_arg(const char *d, size_t n, char *buf, size_t *len, mh_error *err)
{
    struct mh_slice s = mh_slice_trim(mh_slice_make(d, n));
    if (s.len && s.ptr[0] == '.') { /* ".example.com" = example.com and below */
        s.ptr++;
        s.len--;
    }
    const char *why = norm_domain(s.ptr, s.len, buf, MH_MAX_ADDRESS_BYTES + 1, len);
    if (why) return mh_error_set(err, MH_EINVAL, why, "%.*s", (int)(s.len > 80 ? 80 : s.len), s.ptr);
    return MH_OK;
}

mh_status mh_orgs_add_internal(mh_orgs *o, const char *domain, size_t n, mh_error *err)
{
    char d[MH_MAX_ADDRESS_BYTES + 1];
    size_t len;
    MH_TRY(domain_arg(domain, n, d, &len, err));
    MH_TRY(room(o, err));
    return put(&o->internal, d, len, 1, err);
}

mh_status mh_orgs_add_freemail(mh_orgs *o, const char *pattern, size_t n, mh_error *err)
{
    char d[MH_MAX_ADDRESS_BYTES + 1];
    size_t len;
    struct mh_slice s = mh_slice_trim(mh_slice_make(pattern, n));
    MH_TRY(room(o, err));
    if (s.len > 2 && s.ptr[s.len - 1] == '*' && s.ptr[s.len - 2] == '.') {
        MH_TRY(domain_arg(s.ptr, s.len - 2, d, &len, err));
        if (memchr(d, '.', len))
            return mh_error_set(err, MH_EINVAL, "wildcard needs a single label", "%s.*", d);
        return put(&o->free_wild, d, len, 1, err);
    }
    MH_TRY(domain_arg(s.ptr, s.len, d, &len, err));
    return put(&o->free_exact, d, len, 1, err);
}

static bool valid_key(const char *k)
{
    size_t n = strlen(k);
    if (n == 0 || n > MH_MAX_ADDRESS_BYTES || k[0] == '.' || k[0] == '+' || k[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)k[i];
        if (c <= 0x20 || c == 0x7f || c == '/' || c == '\\' || c == ',' || c == '"') return false;
    }
    return true;
}

mh_status mh_orgs_add_override(mh_orgs *o, const char *domain, const char *key, const char *name,
                               mh_error *err)
{
    char d[MH_MAX_ADDRESS_BYTES + 1];
    size_t len;
    if (!domain || !key) return mh_error_set(err, MH_EINVAL, "override needs a domain and a key", NULL);
    MH_TRY(domain_arg(domain, strlen(domain), d, &len, err));
    MH_TRY(room(o, err));
    struct override *ov = mh_arena_alloc(&o->strings, sizeof *ov);
    if (!ov) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    memset(ov, 0, sizeof *ov);
    if (!strcmp(key, "freemail")) {
        ov->mode = OVR_FREEMAIL;
    } else if (key[0] == '+' && key[1] >= '1' && key[1] <= '9' && key[2] == '\0') {
        ov->mode = OVR_DEEPER;
        ov->deeper = key[1] - '0';
    } else {
        if (!valid_key(key))
            return mh_error_set(err, MH_EINVAL, "invalid organisation key", "%.80s", key);
        ov->mode = OVR_KEY;
        ov->key = mh_arena_strndup(&o->strings, key, strlen(key));
        if (!ov->key) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    }
    if (name && *name) {
        ov->name = mh_arena_strndup(&o->strings, name, strlen(name));
        if (!ov->name) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    }
    return put(&o->overrides, d, len, (uint64_t)(uintptr_t)ov, err);
}

/* Canonical DN text: trimmed, <...>, "EX:"/"X500:" prefix removed. */
static struct mh_slice dn_canon(const char *s, size_t n)
{
    struct mh_slice t = mh_slice_trim(mh_slice_make(s, n));
    if (t.len >= 2 && t.ptr[0] == '<' && t.ptr[t.len - 1] == '>') t = mh_slice_trim(mh_slice_make(t.ptr + 1, t.len - 2));
    if (prefix_nocase(t.ptr, t.len, "ex:")) t = mh_slice_make(t.ptr + 3, t.len - 3);
    else if (prefix_nocase(t.ptr, t.len, "x500:")) t = mh_slice_make(t.ptr + 5, t.len - 5);
    return t;
}

mh_status mh_orgs_add_dn(mh_orgs *o, const char *dn, size_t dn_len, const char *address,
                         size_t addr_len, mh_error *err)
{
    struct mh_slice d = dn_canon(dn, dn_len);
    struct mh_slice a = mh_slice_trim(mh_slice_make(address, addr_len));
    if (d.len == 0 || d.ptr[0] != '/' || a.len == 0 || !memchr(a.ptr, '@', a.len))
        return mh_error_set(err, MH_EINVAL, "DN mapping needs '/O=...' and an address", NULL);
    if (a.len > MH_MAX_ADDRESS_BYTES) return mh_error_set(err, MH_ELIMIT, "address too long", NULL);
    MH_TRY(room(o, err));
    char *copy = mh_arena_strndup(&o->strings, a.ptr, a.len);
    if (!copy) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    return put(&o->dns, d.ptr, d.len, (uint64_t)(uintptr_t)copy, err);
}

/* ---- files ---- */

typedef mh_status (*line_fn)(mh_orgs *o, char *line, mh_error *err);

/* Call fn for every line with its comment ('#' at the start or after a
 * blank) removed and blanks trimmed; blank lines are skipped. */
static mh_status each_line(mh_orgs *o, const char *path, line_fn fn, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_buf b;
    mh_buf_init(&b, MH_ORG_MAX_FILE_BYTES + 1);
    MH_CHECK(mh_fs_read(path, &b, MH_ORG_MAX_FILE_BYTES, err));
    char *p = b.data;
    uint64_t lineno = 0;
    size_t off = 0;
    while (off < b.len) {
        char *line = p + off;
        char *nl = memchr(line, '\n', b.len - off);
        size_t len = nl ? (size_t)(nl - line) : b.len - off;
        off += len + (nl ? 1 : 0);
        lineno++;
        line[len] = '\0';
        for (size_t i = 0; i < len; i++)
            if (line[i] == '#' && (i == 0 || is_ws((unsigned char)line[i - 1]))) {
                len = i;
                break;
            }
        while (len && is_ws((unsigned char)line[len - 1])) len--;
        line[len] = '\0';
        char *t = line;
        while (*t && is_ws((unsigned char)*t)) t++;
        if (!*t) continue;
        st = fn(o, t, err);
        if (st) {
            mh_error_at(err, path, lineno, (uint64_t)(t - line) + 1, (uint64_t)(line - p), 0);
            goto out;
        }
    }
out:
    mh_buf_fini(&b);
    return st;
}

/* Cut the first blank-separated token off *s (NUL-terminating it). */
static char *token(char **s)
{
    char *t = *s;
    while (*t && is_ws((unsigned char)*t)) t++;
    if (!*t) return NULL;
    char *e = t;
    while (*e && !is_ws((unsigned char)*e)) e++;
    if (*e) *e++ = '\0';
    while (*e && is_ws((unsigned char)*e)) e++;
    *s = e;
    return t;
}

static mh_status line_freemail(mh_orgs *o, char *line, mh_error *err)
{
    char *d = token(&line);
    if (*line) return mh_error_set(err, MH_EPARSE, "expected one domain per line", NULL);
    return mh_orgs_add_freemail(o, d, strlen(d), err);
}

static mh_status line_override(mh_orgs *o, char *line, mh_error *err)
{
    char *dom = token(&line);
    char *key = token(&line);
    if (!key) return mh_error_set(err, MH_EPARSE, "expected '<domain> <key> [name]'", NULL);
    return mh_orgs_add_override(o, dom, key, *line ? line : NULL, err);
}

static mh_status line_dn(mh_orgs *o, char *line, mh_error *err)
{
    /* The address is the last token, the DN everything before it. */
    size_t n = strlen(line), cut = n;
    while (cut && !is_ws((unsigned char)line[cut - 1])) cut--;
    if (cut == 0) return mh_error_set(err, MH_EPARSE, "expected '<legacy DN> <address>'", NULL);
    return mh_orgs_add_dn(o, line, cut, line + cut, n - cut, err);
}

mh_status mh_orgs_load_freemail(mh_orgs *o, const char *path, mh_error *err)
{
    return each_line(o, path, line_freemail, err);
}

mh_status mh_orgs_load_overrides(mh_orgs *o, const char *path, mh_error *err)
{
    return each_line(o, path, line_override, err);
}

mh_status mh_orgs_load_dn_map(mh_orgs *o, const char *path, mh_error *err)
{
    return each_line(o, path, line_dn, err);
}

mh_status mh_orgs_load_default_freemail(mh_orgs *o, mh_error *err)
{
    char path[4096];
    const char *base = getenv("MAILHOUND_DATA");
    if (!base || !*base) base = MH_DATA_DIR;
    MH_TRY(mh_fs_path(path, sizeof path, err, "%s/rules/notify/freemail.txt", base));
    return mh_orgs_load_freemail(o, path, err);
}

/* ---- tenant.json ---- */

static mh_status json_bad(mh_error *err, const struct mh_jdoc *d, uint32_t node, const char *what)
{
    mh_error_set(err, MH_EPARSE, what, NULL);
    if (err && node != MH_JNONE) err->offset = d->nodes[node].off;
    return MH_EPARSE;
}

static mh_status json_string(const struct mh_jdoc *d, uint32_t i, struct mh_arena *a,
                             struct mh_slice *out, mh_error *err)
{
    if (mh_json_type(d, i) != MH_JSTR) return json_bad(err, d, i, "expected a string");
    mh_status st = mh_json_str(d, i, a, out);
    if (st) return mh_error_set(err, st, "cannot decode string", NULL);
    return MH_OK;
}

typedef mh_status (*domain_fn)(mh_orgs *o, struct mh_slice dom, void *ctx, mh_error *err);

static mh_status each_string(mh_orgs *o, const struct mh_jdoc *d, uint32_t arr, struct mh_arena *a,
                             domain_fn fn, void *ctx, mh_error *err)
{
    if (arr == MH_JNONE) return MH_OK;
    if (mh_json_type(d, arr) != MH_JARR) return json_bad(err, d, arr, "expected an array of strings");
    for (uint32_t i = mh_json_first(d, arr); i != MH_JNONE; i = mh_json_next(d, arr, i)) {
        struct mh_slice s;
        MH_TRY(json_string(d, i, a, &s, err));
        mh_status st = fn(o, s, ctx, err);
        if (st) {
            if (err) err->offset = d->nodes[i].off;
            return st;
        }
    }
    return MH_OK;
}

static mh_status add_internal_cb(mh_orgs *o, struct mh_slice dom, void *ctx, mh_error *err)
{
    (void)ctx;
    return mh_orgs_add_internal(o, dom.ptr, dom.len, err);
}

struct partner_ctx {
    const char *key;
    const char *name;
};

static mh_status add_partner_cb(mh_orgs *o, struct mh_slice dom, void *ctx, mh_error *err)
{
    const struct partner_ctx *p = ctx;
    char d[MH_MAX_ADDRESS_BYTES + 1];
    if (dom.len > MH_MAX_ADDRESS_BYTES) return mh_error_set(err, MH_ELIMIT, "domain too long", NULL);
    memcpy(d, dom.ptr, dom.len);
    d[dom.len] = '\0';
    return mh_orgs_add_override(o, d, p->key, p->name, err);
}

static mh_status tenant_partner(mh_orgs *o, const struct mh_jdoc *d, uint32_t p, struct mh_arena *a,
                                mh_error *err)
{
    if (mh_json_type(d, p) != MH_JOBJ) return json_bad(err, d, p, "partner must be an object");
    struct mh_slice key = MH_SLICE_NULL, name = MH_SLICE_NULL;
    uint32_t k = mh_json_get(d, p, "key", 3);
    uint32_t n = mh_json_get(d, p, "name", 4);
    uint32_t f = mh_json_get(d, p, "freemail", 8);
    uint32_t doms = mh_json_get(d, p, "domains", 7);
    bool freemail = f != MH_JNONE && mh_json_type(d, f) == MH_JTRUE;
    if (f != MH_JNONE && mh_json_type(d, f) != MH_JTRUE && mh_json_type(d, f) != MH_JFALSE)
        return json_bad(err, d, f, "\"freemail\" must be true or false");
    if (k != MH_JNONE) MH_TRY(json_string(d, k, a, &key, err));
    if (n != MH_JNONE) MH_TRY(json_string(d, n, a, &name, err));
    if (!freemail && key.len == 0) return json_bad(err, d, p, "partner without \"key\"");
    char *kc = mh_arena_strndup(a, freemail ? "freemail" : key.ptr, freemail ? 8 : key.len);
    char *nc = name.len ? mh_arena_strndup(a, name.ptr, name.len) : NULL;
    if (!kc || (name.len && !nc)) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    struct partner_ctx pc = {kc, nc};
    return each_string(o, d, doms, a, add_partner_cb, &pc, err);
}

static mh_status tenant_user(mh_orgs *o, const struct mh_jdoc *d, uint32_t u, struct mh_arena *a,
                             mh_error *err)
{
    static const char *const dn_keys[] = {"legacy_dn", "legacyExchangeDN", "legacy_exchange_dn"};
    static const char *const addr_keys[] = {"mail", "address", "upn", "email", "userPrincipalName"};
    if (mh_json_type(d, u) != MH_JOBJ) return MH_OK;
    uint32_t dn = MH_JNONE, ad = MH_JNONE;
    for (size_t i = 0; i < 3 && dn == MH_JNONE; i++)
        dn = mh_json_get(d, u, dn_keys[i], strlen(dn_keys[i]));
    for (size_t i = 0; i < 5 && ad == MH_JNONE; i++)
        ad = mh_json_get(d, u, addr_keys[i], strlen(addr_keys[i]));
    if (dn == MH_JNONE || ad == MH_JNONE) return MH_OK;
    struct mh_slice sdn, sad;
    MH_TRY(json_string(d, dn, a, &sdn, err));
    MH_TRY(json_string(d, ad, a, &sad, err));
    return mh_orgs_add_dn(o, sdn.ptr, sdn.len, sad.ptr, sad.len, err);
}

mh_status mh_orgs_load_tenant(mh_orgs *o, const char *json, size_t n, mh_error *err)
{
    mh_status st = MH_OK;
    struct mh_jdoc d;
    struct mh_arena a;
    mh_jdoc_init(&d, NULL);
    mh_arena_init(&a, 65536, MH_ORG_MAX_FILE_BYTES);
    MH_CHECK(mh_json_parse(&d, json, n, err));
    if (mh_json_type(&d, 0) != MH_JOBJ) {
        st = json_bad(err, &d, 0, "tenant file must be a JSON object");
        goto out;
    }
    static const char *const internal_keys[] = {"internal_domains", "domains", "accepted_domains"};
    for (size_t i = 0; i < 3; i++)
        MH_CHECK(each_string(o, &d, mh_json_get(&d, 0, internal_keys[i], strlen(internal_keys[i])),
                             &a, add_internal_cb, NULL, err));
    uint32_t tenants = mh_json_get(&d, 0, "tenants", 7);
    if (tenants != MH_JNONE && mh_json_type(&d, tenants) == MH_JARR)
        for (uint32_t t = mh_json_first(&d, tenants); t != MH_JNONE; t = mh_json_next(&d, tenants, t))
            if (mh_json_type(&d, t) == MH_JOBJ)
                for (size_t i = 0; i < 3; i++)
                    MH_CHECK(each_string(o, &d,
                                         mh_json_get(&d, t, internal_keys[i], strlen(internal_keys[i])),
                                         &a, add_internal_cb, NULL, err));
    uint32_t partners = mh_json_get(&d, 0, "partners", 8);
    if (partners != MH_JNONE) {
        if (mh_json_type(&d, partners) != MH_JARR) {
            st = json_bad(err, &d, partners, "\"partners\" must be an array");
            goto out;
        }
        for (uint32_t p = mh_json_first(&d, partners); p != MH_JNONE; p = mh_json_next(&d, partners, p))
            MH_CHECK(tenant_partner(o, &d, p, &a, err));
    }
    uint32_t users = mh_json_get(&d, 0, "users", 5);
    if (users != MH_JNONE && mh_json_type(&d, users) == MH_JARR)
        for (uint32_t u = mh_json_first(&d, users); u != MH_JNONE; u = mh_json_next(&d, users, u))
            MH_CHECK(tenant_user(o, &d, u, &a, err));
out:
    mh_arena_fini(&a);
    mh_jdoc_fini(&d);
    return st;
}

mh_status mh_orgs_load_tenant_file(mh_orgs *o, const char *path, mh_error *err)
{
    struct mh_buf b;
    mh_buf_init(&b, MH_ORG_MAX_FILE_BYTES + 1);
    mh_status st = mh_fs_read(path, &b, MH_ORG_MAX_FILE_BYTES, err);
    if (!st) st = mh_orgs_load_tenant(o, b.data ? b.data : "", b.len, err);
    if (st) mh_error_at(err, path, 0, 0, err ? err->offset : 0, 0);
    mh_buf_fini(&b);
    return st;
}

/* ---- classification ---- */

/* Deepest entry of m matching dom or one of its parents; *at = offset of the
 * matching suffix in dom. */
static struct mh_map_entry *find_parent(const struct mh_map *m, const char *dom, size_t n, size_t *at)
{
    if (!m->n) return NULL;
    size_t i = 0;
    for (;;) {
        struct mh_map_entry *e = mh_map_get(m, dom + i, n - i);
        if (e) {
            if (at) *at = i;
            return e;
        }
        const char *dot = memchr(dom + i, '.', n - i);
        if (!dot) return NULL;
        i = (size_t)(dot - dom) + 1;
    }
}

static void copy_str(char *dst, const char *src, size_t n)
{
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* Lower-cased whole address as the key of an individual. */
static void individual(struct mh_org *out)
{
    size_t n = strlen(out->address);
    for (size_t i = 0; i <= n; i++) out->key[i] = (char)mh_ascii_lower((unsigned char)out->address[i]);
    out->kind = MH_ORG_FREEMAIL;
}

/* A free-mail domain: its users are individuals; a list there is keyed by
 * its own address. */
static void freemail(struct mh_org *out, bool is_list)
{
    if (!is_list) {
        individual(out);
        return;
    }
    out->kind = MH_ORG_LIST;
    copy_str(out->key, out->address, strlen(out->address));
}

static bool is_freemail(const mh_orgs *o, const char *dom, size_t n, const char *reg)
{
    size_t regoff = (size_t)(reg - dom);
    size_t at;
    if (find_parent(&o->free_exact, dom, n, &at) && at <= regoff) return true;
    const char *dot = strchr(reg, '.');
    size_t lab = dot ? (size_t)(dot - reg) : strlen(reg);
    return mh_map_get(&o->free_wild, reg, lab) != NULL;
}

/* Classify a normalised domain (out->address already set). */
static mh_status classify_domain(const mh_orgs *o, const char *dom, size_t n, bool is_list,
                                 struct mh_org *out, mh_error *err)
{
    size_t at;
    struct mh_map_entry *e = find_parent(&o->internal, dom, n, &at);
    if (e) {
        out->kind = MH_ORG_INTERNAL;
        copy_str(out->key, dom + at, n - at);
        return MH_OK;
    }
    e = find_parent(&o->overrides, dom, n, &at);
    if (e) {
        const struct override *ov = (const struct override *)(uintptr_t)e->value;
        out->name = ov->name;
        if (ov->mode == OVR_FREEMAIL) {
            freemail(out, is_list);
            return MH_OK;
        }
        out->kind = is_list ? MH_ORG_LIST : MH_ORG_OVERRIDE;
        if (ov->mode == OVR_KEY) {
            copy_str(out->key, ov->key, strlen(ov->key));
            return MH_OK;
        }
        /* +N: keep N more labels left of the listed domain. */
        size_t start = at;
        for (int k = 0; k < ov->deeper && start > 0; k++) {
            size_t j = start - 1; /* the dot before the current suffix */
            while (j > 0 && dom[j - 1] != '.') j--;
            start = j;
        }
        copy_str(out->key, dom + start, n - start);
        return MH_OK;
    }
    const char *reg = NULL;
    mh_status st = mh_psl_registrable(dom, &reg, err);
    if (st == MH_ENOTFOUND) {
        set_invalid(out, MH_ORG_INVALID, "no registrable domain (public suffix or single label)");
        return MH_OK;
    }
    if (st) return st;
    if (is_freemail(o, dom, n, reg)) {
        freemail(out, is_list);
        return MH_OK;
    }
    out->kind = is_list ? MH_ORG_LIST : MH_ORG_DOMAIN;
    copy_str(out->key, reg, strlen(reg));
    return MH_OK;
}

/* Decode an IMCEAEX local part ("_O=ENRON_OU=NA_CN=X+2EY") into a DN. */
static bool imceaex_decode(const char *s, size_t n, char *out, size_t outsz, size_t *outlen)
{
    static const char hex[] = "0123456789abcdef";
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (k + 1 >= outsz) return false;
        char c = s[i];
        if (c == '_') {
            c = '/';
        } else if (c == '+') {
            if (i + 2 >= n) return false;
            const char *h1 = strchr(hex, mh_ascii_lower((unsigned char)s[i + 1]));
            const char *h2 = strchr(hex, mh_ascii_lower((unsigned char)s[i + 2]));
            if (!h1 || !h2 || !s[i + 1] || !s[i + 2]) return false;
            c = (char)(((h1 - hex) << 4) | (h2 - hex));
            i += 2;
        }
        out[k++] = c;
    }
    out[k] = '\0';
    *outlen = k;
    return true;
}

static mh_status classify_smtp(const mh_orgs *o, struct mh_slice s, struct mh_org *out,
                               mh_error *err, int depth);

static mh_status classify_dn(const mh_orgs *o, struct mh_slice dn, struct mh_org *out,
                             mh_error *err, int depth)
{
    struct mh_map_entry *e = mh_map_get(&o->dns, dn.ptr, dn.len);
    size_t n = dn.len < MH_MAX_ADDRESS_BYTES ? dn.len : MH_MAX_ADDRESS_BYTES;
    copy_str(out->address, dn.ptr, n);
    if (!e) {
        set_invalid(out, MH_ORG_UNRESOLVED, "Exchange legacy DN not in the mapping");
        return MH_OK;
    }
    if (depth > 0) {
        set_invalid(out, MH_ORG_INVALID, "DN mapping points to another DN");
        return MH_OK;
    }
    const char *addr = (const char *)(uintptr_t)e->value;
    MH_TRY(classify_smtp(o, mh_slice_cstr(addr), out, err, depth + 1));
    out->via_dn = true;
    return MH_OK;
}

static mh_status classify_smtp(const mh_orgs *o, struct mh_slice s, struct mh_org *out,
                               mh_error *err, int depth)
{
    s = mh_slice_trim(s);
    if (s.len >= 2 && s.ptr[0] == '<' && s.ptr[s.len - 1] == '>') s = mh_slice_trim(mh_slice_make(s.ptr + 1, s.len - 2));
    if (prefix_nocase(s.ptr, s.len, "mailto:")) s = mh_slice_make(s.ptr + 7, s.len - 7);
    else if (prefix_nocase(s.ptr, s.len, "smtp:")) s = mh_slice_make(s.ptr + 5, s.len - 5);

    struct mh_slice dn = dn_canon(s.ptr, s.len);
    if (dn.len && dn.ptr[0] == '/') return classify_dn(o, dn, out, err, depth);

    const char *at = NULL;
    for (size_t i = s.len; i > 0; i--)
        if (s.ptr[i - 1] == '@') {
            at = s.ptr + i - 1;
            break;
        }
    if (s.len == 0) {
        set_invalid(out, MH_ORG_INVALID, "empty address");
        return MH_OK;
    }
    if (s.len > MH_MAX_ADDRESS_BYTES) {
        set_invalid(out, MH_ORG_INVALID, "address too long");
        return MH_OK;
    }
    copy_str(out->address, s.ptr, s.len);
    if (!at) {
        set_invalid(out, MH_ORG_INVALID, "no '@' in address");
        return MH_OK;
    }
    size_t llen = (size_t)(at - s.ptr);
    if (prefix_nocase(s.ptr, llen, "imceaex-")) {
        char dnbuf[MH_MAX_ADDRESS_BYTES + 1];
        size_t dl;
        if (!imceaex_decode(s.ptr + 8, llen - 8, dnbuf, sizeof dnbuf, &dl) || dl == 0 || dnbuf[0] != '/') {
            set_invalid(out, MH_ORG_UNRESOLVED, "malformed IMCEAEX encapsulation");
            return MH_OK;
        }
        return classify_dn(o, mh_slice_make(dnbuf, dl), out, err, depth);
    }
    const char *why = check_local(s.ptr, llen);
    if (why) {
        set_invalid(out, MH_ORG_INVALID, why);
        return MH_OK;
    }
    char dom[MH_MAX_ADDRESS_BYTES + 1];
    size_t dlen;
    why = norm_domain(at + 1, s.len - llen - 1, dom, sizeof dom, &dlen);
    if (why) {
        set_invalid(out, MH_ORG_INVALID, why);
        return MH_OK;
    }
    /* address = local part as found + '@' + normalised domain */
    memcpy(out->address + llen + 1, dom, dlen + 1);
    return classify_domain(o, dom, dlen, false, out, err);
}

mh_status mh_orgs_classify(const mh_orgs *o, const char *addr, size_t n, struct mh_org *out,
                           mh_error *err)
{
    memset(out, 0, sizeof *out);
    return classify_smtp(o, mh_slice_make(addr ? addr : "", addr ? n : 0), out, err, 0);
}

mh_status mh_org_list_id(const char *value, size_t n, struct mh_slice *id)
{
    struct mh_slice v = mh_slice_make(value, n);
    const char *lt = NULL, *gt = NULL;
    for (size_t i = v.len; i > 0; i--)
        if (v.ptr[i - 1] == '>' && !gt) gt = v.ptr + i - 1;
        else if (v.ptr[i - 1] == '<' && gt) {
            lt = v.ptr + i - 1;
            break;
        }
    struct mh_slice s = (lt && gt) ? mh_slice_make(lt + 1, (size_t)(gt - lt - 1)) : v;
    s = mh_slice_trim(s);
    if (s.len == 0 || !memchr(s.ptr, '.', s.len)) return MH_EPARSE;
    for (size_t i = 0; i < s.len; i++)
        if (is_ws((unsigned char)s.ptr[i]) || s.ptr[i] == '<' || s.ptr[i] == '>') return MH_EPARSE;
    *id = s;
    return MH_OK;
}

mh_status mh_orgs_classify_list(const mh_orgs *o, const char *list_id, size_t n, struct mh_org *out,
                                mh_error *err)
{
    memset(out, 0, sizeof *out);
    struct mh_slice s = mh_slice_trim(mh_slice_make(list_id ? list_id : "", list_id ? n : 0));
    char dom[MH_MAX_ADDRESS_BYTES + 1];
    size_t dlen;
    const char *why = norm_domain(s.ptr, s.len, dom, sizeof dom, &dlen);
    if (why) {
        set_invalid(out, MH_ORG_INVALID, why);
        return MH_OK;
    }
    copy_str(out->address, dom, dlen);
    if (dlen >= 10 && !strcmp(dom + dlen - 10, ".localhost")) {
        set_invalid(out, MH_ORG_INVALID, "list id in the localhost namespace");
        return MH_OK;
    }
    return classify_domain(o, dom, dlen, true, out, err);
}
