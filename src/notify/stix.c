/*
 * notify/stix.c -- STIX 2.1 indicator bundle (see stix.h)
 *
 * Steps: validate + canonicalise each value into an owned copy (IP through
 * inet_pton/inet_ntop, GUIDs lower-cased, user agents as given), sort by
 * (kind, canonical value, input order), merge duplicates, derive ids, write
 * with the JSON writer. The pattern's string literal escapes backslash and
 * single quote ('\\', '\''), the only escapes STIX patterning defines.
 *
 * The mailhound UUIDv5 namespace is uuid5(STIX SCO namespace
 * 00abedb4-aa42-466c-9c01-fed23315a9b7, "mailhound"), computed on use.
 */
#include "notify/stix.h"

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "base/jsonw.h"
#include "mailhound/limits.h"
#include "notify/crypto.h"

static const uint8_t stix_sco_ns[16] = {0x00, 0xab, 0xed, 0xb4, 0xaa, 0x42, 0x46, 0x6c,
                                        0x9c, 0x01, 0xfe, 0xd2, 0x33, 0x15, 0xa9, 0xb7};

static const struct {
    const char *name, *id, *label;
} tlps[] = {
    {"white", "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "TLP:WHITE"},
    {"green", "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "TLP:GREEN"},
    {"amber", "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "TLP:AMBER"},
    {"red", "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "TLP:RED"},
};

size_t mh_stix_time(mh_time t, char out[32])
{
    struct mh_civil c;
    mh_time_to_civil(t, &c);
    int n = snprintf(out, 32, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", c.year, c.month, c.day,
                     c.hour, c.min, c.sec, c.usec / 1000);
    return n > 0 ? (size_t)n : 0;
}

static void uuid_text(const uint8_t u[16], char out[37])
{
    char hex[33];
    mh_hex(u, 16, hex);
    snprintf(out, 37, "%.8s-%.4s-%.4s-%.4s-%.12s", hex, hex + 8, hex + 12, hex + 16, hex + 20);
}

static mh_status uuid5_bytes(const uint8_t ns[16], const void *name, size_t n, uint8_t out[16],
                             mh_error *err)
{
    mh_status st = MH_OK;
    uint8_t md[MH_SHA1_LEN];
    uint8_t *buf = mh_malloc(16 + n);
    if (!buf) return mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
    memcpy(buf, ns, 16);
    if (n) memcpy(buf + 16, name, n);
    MH_CHECK(mh_digest_sha1(buf, 16 + n, md, err));
    memcpy(out, md, 16);
    out[6] = (uint8_t)((out[6] & 0x0f) | 0x50);
    out[8] = (uint8_t)((out[8] & 0x3f) | 0x80);
out:
    mh_free(buf);
    return st;
}

mh_status mh_uuid5(const uint8_t ns[16], const void *name, size_t n, char out[37], mh_error *err)
{
    uint8_t u[16];
    MH_TRY(uuid5_bytes(ns, name, n, u, err));
    uuid_text(u, out);
    return MH_OK;
}

/* ---- values ---- */

struct item {
    enum mh_stix_kind kind;
    bool v6;
    char *value; /* canonical, owned */
    const char *description;
    mh_time first, last;
    size_t order; /* input position: stable merge */
};

static char *canon_ip(const char *v, bool *v6)
{
    char addr[64], out[96];
    const char *slash = strchr(v, '/');
    size_t n = slash ? (size_t)(slash - v) : strlen(v);
    if (n == 0 || n >= sizeof addr) return NULL;
    memcpy(addr, v, n);
    addr[n] = '\0';
    unsigned char bin[16];
    int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
    if (inet_pton(family, addr, bin) != 1) return NULL;
    if (!inet_ntop(family, bin, out, sizeof out)) return NULL;
    *v6 = family == AF_INET6;
    if (slash) {
        char *end = NULL;
        const char *p = slash + 1;
        if (*p < '0' || *p > '9') return NULL;
        unsigned long len = strtoul(p, &end, 10);
        if (*end || len > (family == AF_INET6 ? 128u : 32u)) return NULL;
        size_t k = strlen(out);
        snprintf(out + k, sizeof out - k, "/%lu", len);
    }
    return mh_strdup(out);
}

static char *canon_guid(const char *v)
{
    static const int dash[] = {8, 13, 18, 23};
    if (strlen(v) != 36) return NULL;
    char out[37];
    for (int i = 0; i < 36; i++) {
        char c = v[i];
        bool want_dash = i == dash[0] || i == dash[1] || i == dash[2] || i == dash[3];
        if (want_dash) {
            if (c != '-') return NULL;
        } else {
            if (c >= 'A' && c <= 'F') c = (char)(c + 32);
            if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return NULL;
        }
        out[i] = c;
    }
    out[36] = '\0';
    return mh_strdup(out);
}

static char *canon_text(const char *v)
{
    size_t n = strlen(v);
    if (n == 0 || n > MH_PKG_MAX_TEXT_BYTES) return NULL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)v[i] < 0x20 || v[i] == 0x7f) return NULL;
    return mh_strdup(v);
}

static int cmp_item(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    if (x->kind != y->kind) return x->kind < y->kind ? -1 : 1;
    int c = strcmp(x->value, y->value);
    if (c) return c;
    return (x->order > y->order) - (x->order < y->order);
}

static const char *kind_key(enum mh_stix_kind k)
{
    return k == MH_STIX_IP ? "ip" : k == MH_STIX_APP_ID ? "app" : "user-agent";
}

/* STIX pattern string literal body. */
static mh_status pattern_literal(struct mh_buf *b, const char *v)
{
    for (; *v; v++) {
        if (*v == '\\' || *v == '\'') MH_TRY(mh_buf_putc(b, '\\'));
        MH_TRY(mh_buf_putc(b, *v));
    }
    return MH_OK;
}

static mh_status pattern(struct mh_buf *b, const struct item *it)
{
    if (it->kind == MH_STIX_IP)
        MH_TRY(mh_buf_puts(b, it->v6 ? "[ipv6-addr:value = '" : "[ipv4-addr:value = '"));
    else if (it->kind == MH_STIX_APP_ID)
        MH_TRY(mh_buf_puts(b, "[x-entra-application:app_id = '"));
    else
        MH_TRY(mh_buf_puts(b, "[network-traffic:extensions.'http-request-ext'.request_header."
                              "'User-Agent' = '"));
    MH_TRY(pattern_literal(b, it->value));
    return mh_buf_puts(b, "']");
}

static mh_status write_indicator(struct mh_jw *w, const struct item *it, const char *id,
                                 const char *identity_id, const char *marking, const char *ts,
                                 struct mh_buf *scratch)
{
    char vf[32], a[32], b[32];
    mh_buf_clear(scratch);
    MH_TRY(pattern(scratch, it));
    mh_jw_obj_begin(w);
    mh_jw_key(w, "type");
    mh_jw_str(w, "indicator");
    mh_jw_key(w, "spec_version");
    mh_jw_str(w, "2.1");
    mh_jw_key(w, "id");
    mh_jw_str(w, id);
    mh_jw_key(w, "created_by_ref");
    mh_jw_str(w, identity_id);
    mh_jw_key(w, "created");
    mh_jw_str(w, ts);
    mh_jw_key(w, "modified");
    mh_jw_str(w, ts);
    mh_jw_key(w, "name");
    {
        struct mh_buf nm;
        mh_buf_init(&nm, MH_PKG_MAX_TEXT_BYTES * 2);
        mh_status st = mh_buf_puts(&nm, it->kind == MH_STIX_IP       ? "Attacker IP address "
                                        : it->kind == MH_STIX_APP_ID ? "Attacker application "
                                                                     : "Attacker user agent ");
        if (!st) st = mh_buf_puts(&nm, it->value);
        if (st) {
            mh_buf_fini(&nm);
            return st;
        }
        mh_jw_str(w, nm.data);
        mh_buf_fini(&nm);
    }
    if (it->description || it->first != MH_TIME_NONE) {
        struct mh_buf d;
        mh_buf_init(&d, MH_PKG_MAX_TEXT_BYTES * 2);
        mh_status st = MH_OK;
        if (it->description) st = mh_buf_puts(&d, it->description);
        if (!st && it->first != MH_TIME_NONE) {
            mh_stix_time(it->first, a);
            mh_stix_time(it->last != MH_TIME_NONE ? it->last : it->first, b);
            st = mh_buf_printf(&d, "%sseen %s to %s", it->description ? "; " : "", a, b);
        }
        if (st) {
            mh_buf_fini(&d);
            return st;
        }
        mh_jw_key(w, "description");
        mh_jw_str(w, d.data);
        mh_buf_fini(&d);
    }
    mh_jw_key(w, "indicator_types");
    mh_jw_arr_begin(w);
    mh_jw_str(w, it->kind == MH_STIX_USER_AGENT ? "anomalous-activity" : "malicious-activity");
    mh_jw_arr_end(w);
    mh_jw_key(w, "pattern");
    mh_jw_strn(w, scratch->data, scratch->len);
    mh_jw_key(w, "pattern_type");
    mh_jw_str(w, "stix");
    mh_jw_key(w, "pattern_version");
    mh_jw_str(w, "2.1");
    mh_jw_key(w, "valid_from");
    mh_stix_time(it->first != MH_TIME_NONE ? it->first : MH_TIME_NONE, vf);
    mh_jw_str(w, it->first != MH_TIME_NONE ? vf : ts);
    mh_jw_key(w, "object_marking_refs");
    mh_jw_arr_begin(w);
    mh_jw_str(w, marking);
    mh_jw_arr_end(w);
    mh_jw_obj_end(w);
    return MH_OK;
}

mh_status mh_stix_bundle(const struct mh_stix_opts *o, const struct mh_stix_indicator *ind,
                         size_t n, struct mh_buf *out, struct mh_stix_result *res,
                         mh_error *err)
{
    mh_status st = MH_OK;
    struct item *items = NULL;
    struct mh_buf key, scratch, ids;
    size_t ni = 0, skipped = 0;
    char ts[32], identity_id[64], id[64], uuid[37];
    uint8_t ns[16];
    mh_buf_init(&key, MH_PKG_MAX_TEXT_BYTES * 4);
    mh_buf_init(&scratch, MH_PKG_MAX_TEXT_BYTES * 4);
    mh_buf_init(&ids, (size_t)MH_STIX_MAX_INDICATORS * 64 + 256);
    if (!o || !o->identity_name || !*o->identity_name || o->created == MH_TIME_NONE) {
        st = mh_error_set(err, MH_EINVAL, "STIX bundle needs an identity name and a timestamp", NULL);
        goto out;
    }
    if (n > MH_STIX_MAX_INDICATORS) {
        st = mh_error_set(err, MH_ELIMIT, "too many indicators", "%zu > %u", n,
                          (unsigned)MH_STIX_MAX_INDICATORS);
        goto out;
    }
    size_t t = 2; /* amber */
    if (o->tlp) {
        for (t = 0; t < 4 && strcmp(o->tlp, tlps[t].name) != 0; t++) {}
        if (t == 4) {
            st = mh_error_set(err, MH_EINVAL, "unknown TLP level", "%.20s", o->tlp);
            goto out;
        }
    }
    MH_CHECK(uuid5_bytes(stix_sco_ns, "mailhound", 9, ns, err));
    mh_stix_time(o->created, ts);

    if (n) {
        items = mh_calloc(n, sizeof *items);
        if (!items) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
    }
    for (size_t i = 0; i < n; i++) {
        struct item it = {ind[i].kind, false, NULL, ind[i].description, ind[i].first_seen,
                          ind[i].last_seen, i};
        const char *v = ind[i].value;
        if (v) {
            if (ind[i].kind == MH_STIX_IP) it.value = canon_ip(v, &it.v6);
            else if (ind[i].kind == MH_STIX_APP_ID) it.value = canon_guid(v);
            else if (ind[i].kind == MH_STIX_USER_AGENT) it.value = canon_text(v);
        }
        if (!it.value) { /* invalid (or out of memory: treated alike, never exported) */
            skipped++;
            continue;
        }
        if (it.description && (!*it.description || strlen(it.description) > MH_PKG_MAX_TEXT_BYTES))
            it.description = NULL;
        items[ni++] = it;
    }
    if (ni > 1) qsort(items, ni, sizeof *items, cmp_item);
    size_t k = 0; /* merge duplicates into the first of each run */
    for (size_t i = 0; i < ni; i++) {
        if (k && items[k - 1].kind == items[i].kind && !strcmp(items[k - 1].value, items[i].value)) {
            struct item *m = &items[k - 1];
            if (items[i].first != MH_TIME_NONE && (m->first == MH_TIME_NONE || items[i].first < m->first))
                m->first = items[i].first;
            if (items[i].last != MH_TIME_NONE && (m->last == MH_TIME_NONE || items[i].last > m->last))
                m->last = items[i].last;
            if (!m->description) m->description = items[i].description;
            mh_free(items[i].value);
            items[i].value = NULL;
            continue;
        }
        items[k++] = items[i];
    }
    ni = k;

    st = mh_buf_printf(&key, "identity|%s", o->identity_name);
    if (st) {
        mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "identity name too long", NULL);
        goto out;
    }
    MH_CHECK(mh_uuid5(ns, key.data, key.len, uuid, err));
    snprintf(identity_id, sizeof identity_id, "identity--%s", uuid);
    st = mh_buf_printf(&ids, "bundle|%s|%s|%s", identity_id, tlps[t].id, ts);
    for (size_t i = 0; i < ni && !st; i++) {
        mh_buf_clear(&key);
        st = mh_buf_printf(&key, "indicator|%s|%s|", o->identity_name, kind_key(items[i].kind));
        if (!st) st = mh_buf_puts(&key, items[i].value);
        if (!st) st = mh_uuid5(ns, key.data, key.len, uuid, err);
        if (!st) st = mh_buf_printf(&ids, "|%s", uuid);
    }
    if (st) {
        mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "indicator too long", NULL);
        goto out;
    }
    MH_CHECK(mh_uuid5(ns, ids.data, ids.len, uuid, err));

    struct mh_jw w;
    mh_jw_init(&w, out);
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "type");
    mh_jw_str(&w, "bundle");
    mh_jw_key(&w, "id");
    snprintf(id, sizeof id, "bundle--%s", uuid);
    mh_jw_str(&w, id);
    mh_jw_key(&w, "objects");
    mh_jw_arr_begin(&w);

    mh_jw_obj_begin(&w); /* the TLP marking, as predefined by STIX 2.1 */
    mh_jw_key(&w, "type");
    mh_jw_str(&w, "marking-definition");
    mh_jw_key(&w, "spec_version");
    mh_jw_str(&w, "2.1");
    mh_jw_key(&w, "id");
    mh_jw_str(&w, tlps[t].id);
    mh_jw_key(&w, "created");
    mh_jw_str(&w, "2017-01-20T00:00:00.000Z");
    mh_jw_key(&w, "definition_type");
    mh_jw_str(&w, "tlp");
    mh_jw_key(&w, "name");
    mh_jw_str(&w, tlps[t].label);
    mh_jw_key(&w, "definition");
    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "tlp");
    mh_jw_str(&w, tlps[t].name);
    mh_jw_obj_end(&w);
    mh_jw_obj_end(&w);

    mh_jw_obj_begin(&w);
    mh_jw_key(&w, "type");
    mh_jw_str(&w, "identity");
    mh_jw_key(&w, "spec_version");
    mh_jw_str(&w, "2.1");
    mh_jw_key(&w, "id");
    mh_jw_str(&w, identity_id);
    mh_jw_key(&w, "created");
    mh_jw_str(&w, ts);
    mh_jw_key(&w, "modified");
    mh_jw_str(&w, ts);
    mh_jw_key(&w, "name");
    mh_jw_str(&w, o->identity_name);
    mh_jw_key(&w, "identity_class");
    mh_jw_str(&w, "organization");
    if (o->identity_contact) {
        mh_jw_key(&w, "contact_information");
        mh_jw_str(&w, o->identity_contact);
    }
    mh_jw_obj_end(&w);

    for (size_t i = 0; i < ni; i++) {
        mh_buf_clear(&key);
        if (mh_buf_printf(&key, "indicator|%s|%s|", o->identity_name, kind_key(items[i].kind)) ||
            mh_buf_puts(&key, items[i].value)) {
            st = mh_error_set(err, MH_ENOMEM, "out of memory", NULL);
            goto out;
        }
        MH_CHECK(mh_uuid5(ns, key.data, key.len, uuid, err));
        snprintf(id, sizeof id, "indicator--%s", uuid);
        st = write_indicator(&w, &items[i], id, identity_id, tlps[t].id, ts, &scratch);
        if (st) {
            mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "indicator too long", NULL);
            goto out;
        }
    }
    mh_jw_arr_end(&w);
    mh_jw_obj_end(&w);
    st = mh_jw_status(&w);
    if (!st) st = mh_buf_putc(out, '\n');
    if (st) {
        mh_error_set(err, st, st == MH_ENOMEM ? "out of memory" : "bundle too large", NULL);
        goto out;
    }
    if (res) {
        res->indicators = ni;
        res->skipped = skipped;
    }
out:
    for (size_t i = 0; i < ni; i++) mh_free(items[i].value);
    mh_free(items);
    mh_buf_fini(&ids);
    mh_buf_fini(&scratch);
    mh_buf_fini(&key);
    return st;
}
