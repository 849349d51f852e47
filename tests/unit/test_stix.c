/*
 * tests/unit/test_stix.c -- notify/stix.c: the STIX 2.1 indicator bundle
 *
 * The bundle is parsed back with the strict JSON reader and checked against
 * the STIX 2.1 schema's required properties (oasis-open/cti-stix2-json-
 * schemas, summarised in mail-and-secrets.md §10.1): bundle without
 * spec_version; every object's type, spec_version "2.1", "<type>--<UUID>"
 * id, millisecond timestamps; identity name; indicator pattern,
 * pattern_type, valid_from; references that resolve inside the bundle.
 * Also: canonical patterns and escaping, invalid values skipped, duplicates
 * merged, determinism and id stability, the UUIDv5 RFC 4122 vector.
 */
#include <ctype.h>

#include "base/arena.h"
#include "ingest/json.h"
#include "mailhound/limits.h"
#include "mh_test.h"
#include "notify/stix.h"

static mh_time T(const char *s)
{
    mh_time t = MH_TIME_NONE;
    if (mh_time_parse(s, strlen(s), &t) != MH_OK) return MH_TIME_NONE;
    return t;
}

static const struct mh_stix_indicator sample[] = {
    {MH_STIX_IP, "198.51.100.7", "password spray source", MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_IP, "2001:DB8:0:0:0:0:0:1", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_IP, "203.0.113.0/24", "residential proxy range", MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_APP_ID, "B1C2D3E4-0000-4000-8000-00000000ABCD", "attacker OAuth app", MH_TIME_NONE,
     MH_TIME_NONE},
    {MH_STIX_USER_AGENT, "python-requests/2.31 'quoted' \\ slash", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_IP, "198.51.100.7", "dup", MH_TIME_NONE, MH_TIME_NONE}, /* merged */
    /* invalid: skipped */
    {MH_STIX_IP, "999.1.1.1", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_IP, "10.0.0.0/33", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_APP_ID, "not-a-guid", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_USER_AGENT, "line\nbreak", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_USER_AGENT, "", NULL, MH_TIME_NONE, MH_TIME_NONE},
    {MH_STIX_IP, NULL, NULL, MH_TIME_NONE, MH_TIME_NONE},
};
#define NSAMPLE (sizeof sample / sizeof sample[0])

static struct mh_stix_opts opts(void)
{
    return (struct mh_stix_opts){"Contoso Incident Response", "ir@contoso.com",
                                 T("2024-06-27T12:00:00.123456Z"), NULL};
}

static int ms_time(const char *s, size_t n)
{
    /* YYYY-MM-DDTHH:MM:SS.mmmZ exactly */
    static const char shape[] = "dddd-dd-ddTdd:dd:dd.dddZ";
    if (n != sizeof shape - 1) return 0;
    for (size_t i = 0; i < n; i++)
        if (shape[i] == 'd' ? !isdigit((unsigned char)s[i]) : s[i] != shape[i]) return 0;
    return 1;
}

static int uuid_form(const char *s, size_t n, int want_v5)
{
    if (n != 36) return 0;
    for (size_t i = 0; i < n; i++) {
        if (i == 8 || i == 13 || i == 18 || i == 23) {
            if (s[i] != '-') return 0;
        } else if (!isxdigit((unsigned char)s[i]) || isupper((unsigned char)s[i])) {
            return 0;
        }
    }
    if (want_v5 && (s[14] != '5' || !strchr("89ab", s[19]))) return 0;
    return 1;
}

static struct mh_slice get_str(const struct mh_jdoc *d, uint32_t obj, const char *k)
{
    uint32_t v = mh_json_get(d, obj, k, strlen(k));
    struct mh_slice s = MH_SLICE_NULL;
    if (v != MH_JNONE && mh_json_type(d, v) == MH_JSTR) s = mh_json_raw(d, v);
    return s;
}

/* Structural validation; returns the number of problems (printed). */
static int validate(const char *json, size_t n, size_t *n_indicators)
{
    struct mh_jdoc d;
    mh_error err;
    int bad = 0;
    char ids[64][80];
    size_t nids = 0;
    mh_jdoc_init(&d, NULL);
    if (mh_json_parse(&d, json, n, &err) != MH_OK) {
        fprintf(stderr, "not JSON: %s at %llu\n", err.msg, (unsigned long long)err.offset);
        mh_jdoc_fini(&d);
        return 1;
    }
#define PROBLEM(...)                                                                               \
    do {                                                                                           \
        fprintf(stderr, __VA_ARGS__);                                                              \
        fputc('\n', stderr);                                                                       \
        bad++;                                                                                     \
    } while (0)
    if (!mh_slice_eq_cstr(get_str(&d, 0, "type"), "bundle")) PROBLEM("bundle type");
    struct mh_slice bid = get_str(&d, 0, "id");
    if (bid.len != 8 + 36 || memcmp(bid.ptr, "bundle--", 8) || !uuid_form(bid.ptr + 8, 36, 1))
        PROBLEM("bundle id");
    if (mh_json_get(&d, 0, "spec_version", 12) != MH_JNONE) PROBLEM("bundle has spec_version");
    uint32_t objs = mh_json_get(&d, 0, "objects", 7);
    if (objs == MH_JNONE || mh_json_type(&d, objs) != MH_JARR) {
        PROBLEM("no objects");
        mh_jdoc_fini(&d);
        return bad;
    }
    struct mh_slice identity = MH_SLICE_NULL, marking = MH_SLICE_NULL;
    *n_indicators = 0;
    for (uint32_t o = mh_json_first(&d, objs); o != MH_JNONE; o = mh_json_next(&d, objs, o)) {
        struct mh_slice type = get_str(&d, o, "type"), id = get_str(&d, o, "id");
        if (!mh_slice_eq_cstr(get_str(&d, o, "spec_version"), "2.1")) PROBLEM("spec_version");
        if (id.len != type.len + 2 + 36 || memcmp(id.ptr, type.ptr, type.len) ||
            memcmp(id.ptr + type.len, "--", 2) ||
            !uuid_form(id.ptr + type.len + 2, 36, !mh_slice_eq_cstr(type, "marking-definition")))
            PROBLEM("id form: %.*s", (int)id.len, id.ptr);
        for (size_t i = 0; i < nids; i++)
            if (strlen(ids[i]) == id.len && !memcmp(ids[i], id.ptr, id.len)) PROBLEM("duplicate id");
        if (nids < 64) snprintf(ids[nids++], sizeof ids[0], "%.*s", (int)id.len, id.ptr);
        struct mh_slice created = get_str(&d, o, "created");
        if (!ms_time(created.ptr, created.len)) PROBLEM("created not ms: %.*s", (int)created.len, created.ptr);
        if (mh_slice_eq_cstr(type, "marking-definition")) {
            marking = id;
            if (!mh_slice_eq_cstr(get_str(&d, o, "definition_type"), "tlp")) PROBLEM("tlp");
            continue;
        }
        struct mh_slice modified = get_str(&d, o, "modified");
        if (!ms_time(modified.ptr, modified.len)) PROBLEM("modified not ms");
        if (mh_slice_eq_cstr(type, "identity")) {
            identity = id;
            if (!get_str(&d, o, "name").len) PROBLEM("identity name");
            if (!mh_slice_eq_cstr(get_str(&d, o, "identity_class"), "organization")) PROBLEM("class");
        } else if (mh_slice_eq_cstr(type, "indicator")) {
            (*n_indicators)++;
            struct mh_slice pat = get_str(&d, o, "pattern"), vf = get_str(&d, o, "valid_from");
            if (pat.len < 4 || pat.ptr[0] != '[' || pat.ptr[pat.len - 1] != ']') PROBLEM("pattern");
            if (!mh_slice_eq_cstr(get_str(&d, o, "pattern_type"), "stix")) PROBLEM("pattern_type");
            if (!mh_slice_eq_cstr(get_str(&d, o, "pattern_version"), "2.1")) PROBLEM("pattern_version");
            if (!ms_time(vf.ptr, vf.len)) PROBLEM("valid_from");
            if (!mh_slice_eq(get_str(&d, o, "created_by_ref"), identity)) PROBLEM("created_by_ref");
            uint32_t refs = mh_json_get(&d, o, "object_marking_refs", 19);
            uint32_t r0 = refs == MH_JNONE ? MH_JNONE : mh_json_first(&d, refs);
            if (r0 == MH_JNONE || !mh_slice_eq(mh_json_raw(&d, r0), marking)) PROBLEM("marking ref");
            uint32_t types = mh_json_get(&d, o, "indicator_types", 15);
            if (types == MH_JNONE || mh_json_type(&d, types) != MH_JARR) PROBLEM("indicator_types");
        } else {
            PROBLEM("unexpected type %.*s", (int)type.len, type.ptr);
        }
    }
    if (!identity.len || !marking.len) PROBLEM("identity or marking missing");
#undef PROBLEM
    mh_jdoc_fini(&d);
    return bad;
}

static void t_bundle(void)
{
    struct mh_buf out;
    struct mh_stix_result res;
    mh_error err;
    struct mh_stix_opts o = opts();
    mh_buf_init(&out, 0);
    CHECK_INT(mh_stix_bundle(&o, sample, NSAMPLE, &out, &res, &err), MH_OK);
    CHECK_INT(res.indicators, 5);
    CHECK_INT(res.skipped, 6);
    size_t ni = 0;
    CHECK_INT(validate(out.data, out.len, &ni), 0);
    CHECK_INT(ni, 5);
    CHECK(out.len && out.data[out.len - 1] == '\n');
    static const char *want[] = {
        "\"pattern\":\"[ipv4-addr:value = '198.51.100.7']\"",
        "\"pattern\":\"[ipv4-addr:value = '203.0.113.0/24']\"",
        "\"pattern\":\"[ipv6-addr:value = '2001:db8::1']\"",
        "\"pattern\":\"[x-entra-application:app_id = 'b1c2d3e4-0000-4000-8000-00000000abcd']\"",
        "'User-Agent' = 'python-requests/2.31 \\\\'quoted\\\\' \\\\\\\\ slash']\"",
        "\"created\":\"2024-06-27T12:00:00.123Z\"",
        "\"valid_from\":\"2024-06-27T12:00:00.123Z\"",
        "\"description\":\"password spray source\"",
        "\"id\":\"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82\"",
        "\"contact_information\":\"ir@contoso.com\"",
    };
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        if (!strstr(out.data, want[i])) fprintf(stderr, "missing: %s\n", want[i]);
        CHECK(strstr(out.data, want[i]) != NULL);
    }
    /* sorted by kind then value: ip 198.. < ip 2001.. < ip 203.. < app < UA */
    const char *a = strstr(out.data, "198.51.100.7'"), *b = strstr(out.data, "2001:db8::1'"),
               *c = strstr(out.data, "203.0.113.0/24'"), *d = strstr(out.data, "x-entra-application"),
               *e = strstr(out.data, "User-Agent");
    CHECK(a && b && c && d && e && a < b && b < c && c < d && d < e);
    CHECK(strstr(out.data, "999.1.1.1") == NULL && strstr(out.data, "not-a-guid") == NULL);
    mh_buf_fini(&out);
}

static void t_determinism(void)
{
    struct mh_buf a, b, c, d;
    mh_buf_init(&a, 0);
    mh_buf_init(&b, 0);
    mh_buf_init(&c, 0);
    mh_buf_init(&d, 0);
    struct mh_stix_opts o = opts();
    struct mh_stix_indicator rev[NSAMPLE];
    for (size_t i = 0; i < NSAMPLE; i++) rev[i] = sample[NSAMPLE - 1 - i];
    /* the duplicate's description must not win because of order: drop it */
    for (size_t i = 0; i < NSAMPLE; i++)
        if (rev[i].description && !strcmp(rev[i].description, "dup")) rev[i].description = NULL;
    struct mh_stix_indicator fwd[NSAMPLE];
    memcpy(fwd, sample, sizeof fwd);
    for (size_t i = 0; i < NSAMPLE; i++)
        if (fwd[i].description && !strcmp(fwd[i].description, "dup")) fwd[i].description = NULL;
    CHECK_INT(mh_stix_bundle(&o, fwd, NSAMPLE, &a, NULL, NULL), MH_OK);
    CHECK_INT(mh_stix_bundle(&o, rev, NSAMPLE, &b, NULL, NULL), MH_OK);
    CHECK(a.len == b.len && !memcmp(a.data, b.data, a.len));
    /* a later timestamp: same indicator ids, new bundle id */
    struct mh_stix_opts later = o;
    later.created = T("2024-07-01T00:00:00Z");
    CHECK_INT(mh_stix_bundle(&later, fwd, NSAMPLE, &c, NULL, NULL), MH_OK);
    const char *ia = strstr(a.data, "\"indicator--"), *ic = strstr(c.data, "\"indicator--");
    CHECK(ia && ic && !strncmp(ia, ic, 50));
    CHECK(strncmp(strstr(a.data, "bundle--"), strstr(c.data, "bundle--"), 44) != 0);
    /* another notifier: other ids */
    struct mh_stix_opts other = o;
    other.identity_name = "Fabrikam CERT";
    CHECK_INT(mh_stix_bundle(&other, fwd, NSAMPLE, &d, NULL, NULL), MH_OK);
    const char *id2 = strstr(d.data, "\"indicator--");
    CHECK(id2 && strncmp(ia, id2, 50) != 0);
    mh_buf_fini(&a);
    mh_buf_fini(&b);
    mh_buf_fini(&c);
    mh_buf_fini(&d);
}

static void t_merge_and_times(void)
{
    struct mh_stix_indicator in[] = {
        {MH_STIX_IP, "198.51.100.9", NULL, T("2024-01-12T10:00:00Z"), T("2024-01-12T11:00:00Z")},
        {MH_STIX_IP, "198.51.100.9", "seen again", T("2024-01-10T08:30:00.5Z"), T("2024-01-11T00:00:00Z")},
        {MH_STIX_IP, "198.51.100.9", NULL, MH_TIME_NONE, T("2024-01-14T00:00:00Z")},
    };
    struct mh_buf out;
    struct mh_stix_result res;
    struct mh_stix_opts o = opts();
    o.tlp = "green";
    mh_buf_init(&out, 0);
    CHECK_INT(mh_stix_bundle(&o, in, 3, &out, &res, NULL), MH_OK);
    CHECK_INT(res.indicators, 1);
    size_t ni;
    CHECK_INT(validate(out.data, out.len, &ni), 0);
    CHECK(strstr(out.data, "\"valid_from\":\"2024-01-10T08:30:00.500Z\"") != NULL);
    CHECK(strstr(out.data, "seen again; seen 2024-01-10T08:30:00.500Z to 2024-01-14T00:00:00.000Z") != NULL);
    CHECK(strstr(out.data, "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da") != NULL);
    /* no indicators at all is still a valid bundle */
    mh_buf_clear(&out);
    CHECK_INT(mh_stix_bundle(&o, NULL, 0, &out, &res, NULL), MH_OK);
    CHECK_INT(validate(out.data, out.len, &ni), 0);
    CHECK_INT(ni, 0);
    mh_buf_fini(&out);
}

static void t_errors_and_uuid(void)
{
    struct mh_buf out;
    mh_error err;
    mh_buf_init(&out, 0);
    struct mh_stix_opts o = opts();
    o.identity_name = NULL;
    CHECK_INT(mh_stix_bundle(&o, sample, 1, &out, NULL, &err), MH_EINVAL);
    o = opts();
    o.created = MH_TIME_NONE;
    CHECK_INT(mh_stix_bundle(&o, sample, 1, &out, NULL, &err), MH_EINVAL);
    o = opts();
    o.tlp = "purple";
    CHECK_INT(mh_stix_bundle(&o, sample, 1, &out, NULL, &err), MH_EINVAL);
    o = opts();
    CHECK_INT(mh_stix_bundle(&o, sample, MH_STIX_MAX_INDICATORS + 1, &out, NULL, &err), MH_ELIMIT);
    CHECK_INT(out.len, 0);
    /* RFC 4122 appendix / Python uuid.uuid5(NAMESPACE_DNS, "python.org") */
    static const uint8_t dns[16] = {0x6b, 0xa7, 0xb8, 0x10, 0x9d, 0xad, 0x11, 0xd1,
                                    0x80, 0xb4, 0x00, 0xc0, 0x4f, 0xd4, 0x30, 0xc8};
    char u[37];
    CHECK_INT(mh_uuid5(dns, "python.org", 10, u, &err), MH_OK);
    CHECK_STREQ(u, "886313e1-3b8a-5372-9b90-0c9aee199e5d");
    char ts[32];
    mh_stix_time(T("1999-12-31T23:59:59.9999Z"), ts);
    CHECK_STREQ(ts, "1999-12-31T23:59:59.999Z");
    mh_buf_fini(&out);
}

int main(void)
{
    static const struct mh_test T_[] = {
        {"bundle", t_bundle},
        {"determinism", t_determinism},
        {"merge_and_times", t_merge_and_times},
        {"errors_and_uuid", t_errors_and_uuid},
    };
    return MH_TEST_RUN(T_);
}
