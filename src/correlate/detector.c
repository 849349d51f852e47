/*
 * correlate/detector.c -- the stateful-detector framework (see detector.h)
 *
 * Pipeline: ingest -> normalize -> match -> [correlate] -> scope.
 * This file owns what the detectors share: configuration (config/detectors.conf),
 * the first-party application list, string interning, evidence capture, the
 * pending-detection list and its final sort, coverage gaps, principal links,
 * attacker-context seeds, and the registration table that drives every
 * detector through create / load / feed / finish / save / destroy.
 *
 * Registration table (Suricata-style): `registry` below lists the detectors in
 * the order their finish runs. chain.c runs last because its context
 * follow-ups are seeded by the other detectors' high findings.
 *
 * Determinism: detections are collected as mh_det_pending records (interned
 * strings, no pointers into events) and sorted by (time, rule id, file,
 * record, offset, level, entities, fields) before emission, so any feed order
 * gives the same output.
 *
 * Limits: MH_DET_MAX_STRINGS, MH_DET_MAX_PENDING, MH_DET_MAX_GAPS,
 * MH_DET_MAX_LINKS, MH_DET_MAX_SEEDS (limits.h): beyond a cap the new item is
 * dropped and counted in stats.dropped / stats.strings_dropped.
 * Threading: one thread at a time per mh_detectors.
 */
#include "correlate/detector.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/alloc.h"
#include "correlate/state.h"
#include "match/alert.h"
#include "normalize/ident.h"

#ifndef MH_DATA_DIR
#define MH_DATA_DIR "."
#endif

/* ---- findings ---- */

void mh_finding_from_alert(const struct mh_alert *a, struct mh_finding *out)
{
    memset(out, 0, sizeof *out);
    const struct mh_rule *r = a->rule;
    out->rule_id = r && r->id ? r->id : (r && r->name ? r->name : "");
    out->title = r && r->title ? r->title : out->rule_id;
    out->level = r ? (enum mh_level)r->level : MH_LEVEL_NONE;
    out->tags = r ? (const char *const *)r->tags : NULL;
    out->ntags = r ? r->ntags : 0;
    out->time = a->time;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) out->ent[i] = a->ent[i].ptr ? a->ent[i] : MH_SLICE_NULL;
    out->ref.record = a->source.record;
    out->ref.offset = a->source.offset;
    out->file_name = a->source.file;
    out->file_key = a->source.key;
}

const char *mh_finding_detection(const struct mh_finding *a, char buf[8])
{
    if (a->detection && a->detection[0]) return a->detection;
    for (size_t i = 0; i < a->ntags; i++) {
        const char *t = a->tags[i];
        if (!t || strncmp(t, "mailhound.d", 11) != 0) continue;
        const char *p = t + 11;
        int v = 0, nd = 0;
        while (*p >= '0' && *p <= '9' && nd < 3) v = v * 10 + (*p++ - '0'), nd++;
        if (nd == 0 || v < 1 || v >= MH_DET_NWEIGHTS || (*p && *p != '.')) continue;
        snprintf(buf, 8, "D%d", v);
        return buf;
    }
    return NULL;
}

/* ---- configuration ---- */

static const int32_t default_success_codes[] = {0,     50055, 50057, 50155, 50105, 50133,
                                                50005, 50076, 50079, 50173, 50158, 50072,
                                                50074, 53003, 53000, 53001, 50129};
static const int32_t default_failure_codes[] = {50126, 50053, 50055};
static const int32_t default_weights[MH_DET_NWEIGHTS] = {
    [1] = 20, [2] = 20, [3] = 20, [4] = 10, [5] = 20, [6] = 30, [7] = 15, [8] = 30, [9] = 40,
    [10] = 40, [11] = 15, [12] = 10, [13] = 30, [14] = 50, [15] = 15, [16] = 25, [17] = 25};

#define SEC(n) ((mh_time)(n) * MH_USEC_PER_SEC)
#define MIN(n) SEC((n) * 60)
#define HOUR(n) MIN((n) * 60)
#define DAY(n) HOUR((n) * 24)

void mh_detector_config_defaults(struct mh_detector_config *c)
{
    memset(c, 0, sizeof *c);
    c->coverage_max_gap = MIN(60);
    c->coverage_max_stream_gap = HOUR(6);
    memcpy(c->success_codes, default_success_codes, sizeof default_success_codes);
    c->n_success_codes = sizeof default_success_codes / sizeof default_success_codes[0];

    c->d1_enabled = true;
    c->d1_window = MIN(20);
    c->d1_min_users = 5;
    c->d1_success_lookback = DAY(3);

    c->d2_enabled = true;
    memcpy(c->failure_codes, default_failure_codes, sizeof default_failure_codes);
    c->n_failure_codes = sizeof default_failure_codes / sizeof default_failure_codes[0];
    c->d2_slow_window = DAY(7);
    c->d2_slow_min_sources = 5;
    c->d2_new_source_lookback = DAY(30);

    c->d5_enabled = true;
    c->d5_dormant = DAY(90);
    c->d5_actor_history = DAY(90);
    c->d5_min_history = DAY(3);
    c->d5_grant_window = DAY(2);
    c->d5_new_address = DAY(1);

    c->d7_window = DAY(7);
    c->d7_alert_score = 60;
    memcpy(c->weights, default_weights, sizeof default_weights);
    c->incident_min_score = 30;
    c->incident_max_key_users = 10;
    c->incident_min_stages = 2;
    c->incident_egress_users = 5;
    c->d8_enabled = true;
    c->d8_window = MIN(10);
    c->sp_new_ip_enabled = true;
    c->sp_baseline = DAY(7);

    c->d9_enabled = true;
    c->d9_baseline = DAY(7);
    c->d9_retention = DAY(90);
    c->d9_mailbox = true;
    c->d9_dual_path = true;
    c->d9_bulk_mailboxes = 6;

    c->d10_enabled = true;
    c->d10_baseline = DAY(30);
    c->d10_new_window = DAY(14);
    c->d10_max_new_mailboxes = 1;
    c->d10_max_new_folders = 5;

    c->d11_enabled = true;
    c->d11_k = 2.5;
    c->d11_mailbox_k = 3.0;
    c->d11_baseline = DAY(30);
    c->d11_min_baseline_days = 7;
    c->d11_min_volume = 200;
    c->d11_hourly = true;
    c->d11_hourly_baseline = DAY(28);
    c->d11_hourly_z = 4.7;
    c->d11_hourly_min = 20;
    c->d11_hourly_mad_floor = 1.0;
    c->d11_hourly_week_samples = 4;
    c->d11_hourly_day_samples = 7;

    c->d12_enabled = true;
    c->d12_unaudited = HOUR(24);

    c->d14_enabled = true;
    c->d14_skew_before = MIN(1);
    c->d14_skew_after = MIN(10);
    c->d14_session_lookback = HOUR(24);
    c->d14_token_lifetime = MIN(90);
    c->d14_settle = HOUR(2);
    c->d14_delegated_streams = MH_STREAM_INTERACTIVE | MH_STREAM_NONINTERACTIVE;
    c->d14_app_streams = MH_STREAM_SERVICE_PRINCIPAL;
    c->d14_token_owner = true;
    c->d14_owner_retention = DAY(90);

    c->d15_enabled = true;
    c->d15_max_countries = 1;
    c->d15_max_asns = 3;
    c->d15_aitm_gap = SEC(30);

    c->ctx_enabled = true;
    c->ctx_seed_level = MH_LEVEL_HIGH;

    snprintf(c->first_party_apps, sizeof c->first_party_apps, "%s",
             "rules/data/first-party-apps.tsv");
    snprintf(c->dangerous_permissions, sizeof c->dangerous_permissions, "%s",
             "rules/data/dangerous-permissions.tsv");
    const char *dd = getenv("MAILHOUND_DATA");
    snprintf(c->data_dir, sizeof c->data_dir, "%s", dd && dd[0] ? dd : MH_DATA_DIR);
}

static mh_status parse_duration(const char *v, mh_time *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || errno || !(x >= 0) || x > 1e9) return MH_EINVAL;
    while (*end == ' ' || *end == '\t') end++;
    double unit;
    switch (*end) {
    case 's': unit = 1; break;
    case 'm': unit = 60; break;
    case 'h': unit = 3600; break;
    case 'd': unit = 86400; break;
    case 'w': unit = 7 * 86400; break;
    default: return MH_EINVAL;
    }
    if (end[1] != '\0') return MH_EINVAL;
    /* "1e9d" would overflow mh_time: at most ~146,000 years, room left to add to a time */
    if (x * unit > (double)(INT64_MAX / MH_USEC_PER_SEC / 2)) return MH_EINVAL;
    *out = (mh_time)llround(x * unit * (double)MH_USEC_PER_SEC);
    return MH_OK;
}

static mh_status parse_uint(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    if (*v == '-' || *v == '\0') return MH_EINVAL;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || *end || x > max) return MH_EINVAL;
    *out = x;
    return MH_OK;
}

static mh_status parse_double(const char *v, double *out)
{
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (end == v || *end || errno || !isfinite(x) || x < 0) return MH_EINVAL;
    *out = x;
    return MH_OK;
}

static mh_status parse_bool(const char *v, bool *out)
{
    static const char *const t[] = {"true", "yes", "on", "1"}, *const f[] = {"false", "no", "off",
                                                                             "0"};
    struct mh_slice s = mh_slice_cstr(v);
    for (int i = 0; i < 4; i++) {
        if (mh_slice_eq_nocase(s, mh_slice_cstr(t[i]))) return *out = true, MH_OK;
        if (mh_slice_eq_nocase(s, mh_slice_cstr(f[i]))) return *out = false, MH_OK;
    }
    return MH_EINVAL;
}

static mh_status parse_codes(const char *v, int32_t *codes, size_t *n)
{
    size_t k = 0;
    int32_t tmp[MH_DET_MAX_CODES];
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        char *end;
        errno = 0;
        long x = strtol(p, &end, 10);
        if (end == p || errno || x < 0 || x > INT32_MAX || k == MH_DET_MAX_CODES) return MH_EINVAL;
        if (*end && *end != ',' && *end != ' ') return MH_EINVAL;
        tmp[k++] = (int32_t)x;
        p = end;
    }
    memcpy(codes, tmp, k * sizeof *tmp);
    *n = k;
    return MH_OK;
}

static mh_status parse_streams(const char *v, uint32_t *out)
{
    static const struct {
        const char *name;
        uint32_t bit;
    } names[] = {{"interactive", MH_STREAM_INTERACTIVE},
                 {"noninteractive", MH_STREAM_NONINTERACTIVE},
                 {"service_principal", MH_STREAM_SERVICE_PRINCIPAL},
                 {"managed_identity", MH_STREAM_MANAGED_IDENTITY},
                 {"ual_logon", MH_STREAM_UAL_LOGON}};
    uint32_t bits = 0;
    const char *p = v;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',' && *e != ' ') e++;
        struct mh_slice item = mh_slice_make(p, (size_t)(e - p));
        bool ok = false;
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            if (mh_slice_eq_nocase(item, mh_slice_cstr(names[i].name))) {
                bits |= names[i].bit;
                ok = true;
            }
        }
        if (!ok) return MH_EINVAL;
        p = e;
    }
    *out = bits;
    return MH_OK;
}

static mh_status set_text(char *dst, size_t cap, const char *v)
{
    size_t n = strlen(v);
    if (n >= cap) return MH_EINVAL;
    memcpy(dst, v, n + 1);
    return MH_OK;
}

enum opt_type { T_DUR, T_U32, T_U64, T_I32, T_DBL, T_BOOL, T_CODES, T_STREAMS, T_TEXT, T_LEVEL };

struct opt {
    const char *key;
    enum opt_type type;
    size_t off;   /* offset in the config */
    size_t aux;   /* T_CODES: offset of the count; T_TEXT: capacity */
};

#define O(k, t, f) {k, t, offsetof(struct mh_detector_config, f), 0}
#define OC(k, f, nf)                                                                               \
    {k, T_CODES, offsetof(struct mh_detector_config, f), offsetof(struct mh_detector_config, nf)}
#define OT(k, f) {k, T_TEXT, offsetof(struct mh_detector_config, f), sizeof(((struct mh_detector_config *)0)->f)}

static const struct opt options[] = {
    O("coverage.max_gap", T_DUR, coverage_max_gap),
    O("coverage.max_stream_gap", T_DUR, coverage_max_stream_gap),
    OC("d.success_codes", success_codes, n_success_codes),
    O("d1.enabled", T_BOOL, d1_enabled),
    O("d1.window", T_DUR, d1_window),
    O("d1.min_users", T_U32, d1_min_users),
    O("d1.success_lookback", T_DUR, d1_success_lookback),
    O("d2.enabled", T_BOOL, d2_enabled),
    OC("d2.failure_codes", failure_codes, n_failure_codes),
    O("d2.slow_window", T_DUR, d2_slow_window),
    O("d2.slow_min_sources", T_U32, d2_slow_min_sources),
    O("d2.new_source_lookback", T_DUR, d2_new_source_lookback),
    OT("d3.watch_accounts", d3_watch_accounts),
    OT("d3.allow_accounts", d3_allow_accounts),
    O("d5.enabled", T_BOOL, d5_enabled),
    O("d5.dormant", T_DUR, d5_dormant),
    O("d5.actor_history", T_DUR, d5_actor_history),
    O("d5.min_history", T_DUR, d5_min_history),
    O("d5.grant_window", T_DUR, d5_grant_window),
    O("d5.new_address", T_DUR, d5_new_address),
    O("d7.window", T_DUR, d7_window),
    O("d7.alert_score", T_I32, d7_alert_score),
    O("d7.sp_new_ip", T_BOOL, sp_new_ip_enabled),
    O("d7.sp_baseline", T_DUR, sp_baseline),
    O("incident.min_score", T_I32, incident_min_score),
    O("incident.max_key_users", T_U32, incident_max_key_users),
    O("incident.min_stages", T_U32, incident_min_stages),
    O("incident.egress_users", T_U32, incident_egress_users),
    O("d8.enabled", T_BOOL, d8_enabled),
    O("d8.window", T_DUR, d8_window),
    O("d9.enabled", T_BOOL, d9_enabled),
    O("d9.baseline", T_DUR, d9_baseline),
    O("d9.retention", T_DUR, d9_retention),
    O("d9.per_mailbox", T_BOOL, d9_mailbox),
    O("d9.graph_and_direct", T_BOOL, d9_dual_path),
    O("d9.bulk_reader_mailboxes", T_U32, d9_bulk_mailboxes),
    O("d10.enabled", T_BOOL, d10_enabled),
    O("d10.baseline", T_DUR, d10_baseline),
    O("d10.new_window", T_DUR, d10_new_window),
    O("d10.max_new_mailboxes", T_U32, d10_max_new_mailboxes),
    O("d10.max_new_folders", T_U32, d10_max_new_folders),
    O("d11.enabled", T_BOOL, d11_enabled),
    O("d11.k", T_DBL, d11_k),
    O("d11.mailbox_k", T_DBL, d11_mailbox_k),
    O("d11.baseline", T_DUR, d11_baseline),
    O("d11.min_baseline_days", T_U32, d11_min_baseline_days),
    O("d11.min_volume", T_U64, d11_min_volume),
    O("d11.hourly", T_BOOL, d11_hourly),
    O("d11.hourly_baseline", T_DUR, d11_hourly_baseline),
    O("d11.hourly_z", T_DBL, d11_hourly_z),
    O("d11.hourly_min", T_U64, d11_hourly_min),
    O("d11.hourly_mad_floor", T_DBL, d11_hourly_mad_floor),
    O("d11.hourly_week_samples", T_U32, d11_hourly_week_samples),
    O("d11.hourly_day_samples", T_U32, d11_hourly_day_samples),
    O("d12.enabled", T_BOOL, d12_enabled),
    O("d12.unaudited", T_DUR, d12_unaudited),
    O("d14.enabled", T_BOOL, d14_enabled),
    O("d14.skew_before", T_DUR, d14_skew_before),
    O("d14.skew_after", T_DUR, d14_skew_after),
    O("d14.session_lookback", T_DUR, d14_session_lookback),
    O("d14.token_lifetime", T_DUR, d14_token_lifetime),
    O("d14.settle", T_DUR, d14_settle),
    O("d14.delegated_streams", T_STREAMS, d14_delegated_streams),
    O("d14.app_streams", T_STREAMS, d14_app_streams),
    O("d14.token_owner", T_BOOL, d14_token_owner),
    O("d14.owner_retention", T_DUR, d14_owner_retention),
    O("d15.enabled", T_BOOL, d15_enabled),
    O("d15.max_countries", T_U32, d15_max_countries),
    O("d15.max_asns", T_U32, d15_max_asns),
    O("d15.aitm_gap", T_DUR, d15_aitm_gap),
    O("context.enabled", T_BOOL, ctx_enabled),
    O("context.seed_level", T_LEVEL, ctx_seed_level),
    OT("first_party_apps", first_party_apps),
    OT("dangerous_permissions", dangerous_permissions),
    OT("data_dir", data_dir),
};

mh_status mh_detector_config_set(struct mh_detector_config *c, const char *key, const char *value,
                                 mh_error *err)
{
    char *base = (char *)c;
    /* incident.weight.dN */
    if (strncmp(key, "incident.weight.d", 17) == 0) {
        uint64_t n, w;
        if (parse_uint(key + 17, MH_DET_NWEIGHTS - 1, &n) || n == 0 || parse_uint(value, 1000, &w))
            return mh_error_set(err, MH_EINVAL, "bad detector setting", "%s = %s", key, value);
        c->weights[n] = (int32_t)w;
        return MH_OK;
    }
    for (size_t i = 0; i < sizeof options / sizeof options[0]; i++) {
        const struct opt *o = &options[i];
        if (strcmp(o->key, key) != 0) continue;
        mh_status st = MH_OK;
        void *dst = base + o->off;
        uint64_t u;
        switch (o->type) {
        case T_DUR: st = parse_duration(value, (mh_time *)dst); break;
        case T_U32:
            st = parse_uint(value, UINT32_MAX, &u);
            if (!st) *(uint32_t *)dst = (uint32_t)u;
            break;
        case T_U64: st = parse_uint(value, UINT64_MAX, (uint64_t *)dst); break;
        case T_I32:
            st = parse_uint(value, INT32_MAX, &u);
            if (!st) *(int32_t *)dst = (int32_t)u;
            break;
        case T_DBL: st = parse_double(value, (double *)dst); break;
        case T_BOOL: st = parse_bool(value, (bool *)dst); break;
        case T_CODES: st = parse_codes(value, (int32_t *)dst, (size_t *)(base + o->aux)); break;
        case T_STREAMS: st = parse_streams(value, (uint32_t *)dst); break;
        case T_TEXT: st = set_text((char *)dst, o->aux, value); break;
        case T_LEVEL: {
            enum mh_level l = mh_level_parse(value, strlen(value));
            if (l == MH_LEVEL_NONE) st = MH_EINVAL;
            else *(enum mh_level *)dst = l;
            break;
        }
        }
        if (st) return mh_error_set(err, MH_EINVAL, "bad detector setting", "%s = %s", key, value);
        return MH_OK;
    }
    return mh_error_set(err, MH_EINVAL, "unknown detector setting", "%s", key);
}

static char *trim_inplace(char *s)
{
    while (*s == ' ' || *s == '\t') s++;
    size_t n = strlen(s);
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r' || s[n - 1] == '\n'))
        s[--n] = '\0';
    return s;
}

/* The next line of f into line (MH_CONFIG_MAX_LINE bytes), counted in
 * *lineno. False at the end, and on a line that does not fit (*st =
 * MH_EINVAL, path:line in err) or a read error (*st = MH_EIO, cannot_read):
 * neither may pass for the end of the file. */
static bool next_line(FILE *f, char *line, const char *path, const char *cannot_read,
                      uint64_t *lineno, mh_status *st, mh_error *err)
{
    if (!fgets(line, (int)MH_CONFIG_MAX_LINE, f)) {
        if (ferror(f)) {
            *st = mh_error_set(err, MH_EIO, cannot_read, "%s", path);
            if (err) err->sys_errno = errno;
        }
        return false;
    }
    ++*lineno;
    size_t n = strlen(line);
    if (n == MH_CONFIG_MAX_LINE - 1 && line[n - 1] != '\n') {
        *st = mh_error_set(err, MH_EINVAL, "line too long", "%u bytes max",
                           (unsigned)MH_CONFIG_MAX_LINE);
        mh_error_at(err, path, *lineno, 0, 0, 0);
        return false;
    }
    return true;
}

mh_status mh_detector_config_load(struct mh_detector_config *c, const char *path, mh_error *err)
{
    mh_status st = MH_OK;
    char *line = NULL;
    FILE *f = fopen(path, "r");
    if (!f) {
        st = mh_error_set(err, MH_EIO, "cannot open detector config", "%s", path);
        if (err) err->sys_errno = errno;
        return st;
    }
    line = mh_malloc(MH_CONFIG_MAX_LINE);
    if (!line) {
        st = MH_ENOMEM;
        goto out;
    }
    uint64_t lineno = 0;
    while (next_line(f, line, path, "cannot read detector config", &lineno, &st, err)) {
        /* A '#' starts a comment when it begins the line or follows a blank. */
        for (char *p = line; *p; p++) {
            if (*p == '#' && (p == line || p[-1] == ' ' || p[-1] == '\t')) {
                *p = '\0';
                break;
            }
        }
        char *s = trim_inplace(line);
        if (!*s) continue;
        char *eq = strchr(s, '=');
        if (!eq) {
            st = mh_error_set(err, MH_EINVAL, "expected key = value", "%s", s);
            mh_error_at(err, path, lineno, 0, 0, 0);
            goto out;
        }
        *eq = '\0';
        char *key = trim_inplace(s), *val = trim_inplace(eq + 1);
        st = mh_detector_config_set(c, key, val, err);
        if (st) {
            mh_error_at(err, path, lineno, 0, 0, 0);
            goto out;
        }
    }
out:
    mh_free(line);
    fclose(f);
    return st;
}

/* ---- first-party applications ---- */

mh_status mh_data_path(const struct mh_detector_config *c, const char *rel,
                       char out[MH_DET_PATH_BYTES])
{
    int n = rel[0] == '/' ? snprintf(out, MH_DET_PATH_BYTES, "%s", rel)
                          : snprintf(out, MH_DET_PATH_BYTES, "%s/%s", c->data_dir, rel);
    return (n < 0 || n >= MH_DET_PATH_BYTES) ? MH_EINVAL : MH_OK;
}

/* Read a data list (a rules/data/ .tsv file): '#' comments and blank lines skipped;
 * each line's first two columns (tab or space separated; the second may be
 * empty) go to fn. A line fn rejects or a line too long is reported at
 * path:line, a read error as MH_EIO: the list is never cut short silently. */
typedef mh_status (*list_line_fn)(void *ctx, struct mh_slice c1, struct mh_slice c2, mh_error *err);

static mh_status read_list(const char *path, const char *what, list_line_fn fn, void *ctx,
                           mh_error *err)
{
    mh_status st = MH_OK;
    char line[MH_CONFIG_MAX_LINE];
    FILE *f = fopen(path, "r");
    if (!f) {
        st = mh_error_set(err, MH_EIO, "cannot open data list", "%s: %s", what, path);
        if (err) err->sys_errno = errno;
        return st;
    }
    uint64_t lineno = 0;
    while (next_line(f, line, path, "cannot read data list", &lineno, &st, err)) {
        char *p = trim_inplace(line);
        if (!*p || *p == '#') continue;
        size_t n1 = strcspn(p, "\t ");
        char *q = p + n1;
        q += strspn(q, "\t ");
        size_t n2 = strcspn(q, "\t ");
        st = fn(ctx, mh_slice_make(p, n1), mh_slice_make(q, n2), err);
        if (st) {
            mh_error_at(err, path, lineno, 1, 0, 0);
            break;
        }
    }
    fclose(f);
    return st;
}

static mh_status put_guid(struct mh_map *m, struct mh_slice s, bool *ok)
{
    struct mh_guid g;
    *ok = mh_guid_parse(s.ptr, s.len, &g) == MH_OK;
    if (!*ok) return MH_OK;
    char canon[37];
    size_t cn = mh_guid_format(&g, canon);
    struct mh_map_entry *e;
    MH_TRY(mh_map_put(m, canon, cn, &e, NULL));
    e->value = 1;
    return MH_OK;
}

/* A rejected word of a list line (at most 64 bytes of it in the detail). */
static mh_status list_bad(mh_error *err, const char *why, struct mh_slice word)
{
    return mh_error_set(err, MH_EPARSE, why, "%.*s", (int)(word.len > 64 ? 64 : word.len),
                        word.ptr);
}

static mh_status appset_line(void *ctx, struct mh_slice id, struct mh_slice name, mh_error *err)
{
    (void)name;
    bool ok;
    MH_TRY(put_guid(&((struct mh_appset *)ctx)->ids, id, &ok));
    return ok ? MH_OK : list_bad(err, "first-party list: not an application id", id);
}

mh_status mh_appset_load(struct mh_appset *s, const char *path, mh_error *err)
{
    mh_map_init(&s->ids, 1u << 20, false);
    return read_list(path, "first-party application list", appset_line, s, err);
}

void mh_appset_fini(struct mh_appset *s)
{
    mh_map_fini(&s->ids);
}

bool mh_appset_has(const struct mh_appset *s, struct mh_slice id)
{
    struct mh_guid g;
    if (!id.len || mh_guid_parse(id.ptr, id.len, &g) != MH_OK) return false;
    char canon[37];
    size_t cn = mh_guid_format(&g, canon);
    return mh_map_get(&s->ids, canon, cn) != NULL;
}

/* ---- dangerous permissions ---- */

static bool perm_char(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
           ch == '.' || ch == '_' || ch == '-';
}

static mh_status permset_line(void *ctx, struct mh_slice name, struct mh_slice id, mh_error *err)
{
    struct mh_permset *s = ctx;
    for (size_t i = 0; i < name.len; i++)
        if (!perm_char(name.ptr[i])) return list_bad(err, "permission list: not a permission name", name);
    struct mh_map_entry *e;
    MH_TRY(mh_map_put(&s->keys, name.ptr, name.len, &e, NULL));
    e->value = 1;
    bool ok = true;
    if (id.len && !mh_slice_eq_cstr(id, "-")) MH_TRY(put_guid(&s->keys, id, &ok));
    return ok ? MH_OK : list_bad(err, "permission list: not a role or scope id", id);
}

mh_status mh_permset_load(struct mh_permset *s, const char *path, mh_error *err)
{
    mh_map_init(&s->keys, 1u << 16, true);
    return read_list(path, "permission list", permset_line, s, err);
}

void mh_permset_fini(struct mh_permset *s)
{
    mh_map_fini(&s->keys);
}

struct mh_slice mh_permset_find(const struct mh_permset *s, struct mh_slice text)
{
    for (size_t i = 0; i < text.len;) {
        if (!perm_char(text.ptr[i])) {
            i++;
            continue;
        }
        size_t j = i;
        while (j < text.len && perm_char(text.ptr[j])) j++;
        /* a role or scope id is a word too (hex digits and '-', no braces):
           the case-insensitive map matches it in any case as it stands */
        struct mh_slice w = mh_slice_make(text.ptr + i, j - i);
        if (mh_map_get(&s->keys, w.ptr, w.len)) return w;
        i = j;
    }
    return MH_SLICE_NULL;
}

/* ---- the detector set ---- */

static const struct mh_det_ops *const registry[] = {
    &mh_det_firstseen_ops, &mh_det_tokencheck_ops, &mh_det_session_ops, &mh_det_volume_ops,
    &mh_det_hourly_ops,    &mh_det_throttle_ops,   &mh_det_spray_ops,   &mh_det_appcred_ops,
    &mh_det_mailpath_ops,  &mh_det_tokenowner_ops, &mh_det_crossmbx_ops, &mh_det_chain_ops,
};
#define NDET (sizeof registry / sizeof registry[0])

struct mh_detectors {
    struct mh_det_ctx cx;
    void *self[NDET];
    mh_state *state;
    mh_detection_fn emit;
    void *emit_ctx;
    mh_state_saver_fn saver;
    void *saver_ctx;
    bool finished;
};

void mh_detectors_set_saver(mh_detectors *d, mh_state_saver_fn fn, void *ctx)
{
    d->saver = fn;
    d->saver_ctx = ctx;
}

void mh_detectors_free(mh_detectors *d)
{
    if (!d) return;
    for (size_t i = 0; i < NDET; i++)
        if (d->self[i]) registry[i]->destroy(d->self[i]);
    mh_appset_fini(&d->cx.first_party);
    mh_permset_fini(&d->cx.dangerous);
    mh_map_fini(&d->cx.strs);
    mh_map_fini(&d->cx.seeds);
    mh_map_fini(&d->cx.identities);
    mh_free(d->cx.pending);
    mh_free(d->cx.fields);
    mh_free(d->cx.gaps);
    mh_free(d->cx.links);
    mh_free(d);
}

mh_status mh_detectors_new(const struct mh_detector_config *cfg, mh_state *state,
                           mh_detection_fn emit, void *emit_ctx, mh_detectors **out, mh_error *err)
{
    mh_status st = MH_OK;
    char path[MH_DET_PATH_BYTES];
    mh_detectors *d = mh_calloc(1, sizeof *d);
    if (!d) return MH_ENOMEM;
    d->cx.cfg = *cfg;
    d->cx.err = err;
    d->cx.run_first = d->cx.run_last = MH_TIME_NONE;
    d->state = state;
    d->emit = emit;
    d->emit_ctx = emit_ctx;
    mh_map_init(&d->cx.strs, MH_DET_MAX_STRINGS, false);
    mh_map_init(&d->cx.seeds, MH_DET_MAX_SEEDS, true);
    mh_map_init(&d->cx.identities, MH_DET_MAX_LINKS, false);
    if (mh_data_path(cfg, cfg->first_party_apps, path)) {
        mh_map_init(&d->cx.first_party.ids, 1, false);
        st = mh_error_set(err, MH_EINVAL, "data path too long", "%s", cfg->first_party_apps);
        goto out;
    }
    MH_CHECK(mh_appset_load(&d->cx.first_party, path, err));
    if (mh_data_path(cfg, cfg->dangerous_permissions, path)) {
        st = mh_error_set(err, MH_EINVAL, "data path too long", "%s", cfg->dangerous_permissions);
        goto out;
    }
    MH_CHECK(mh_permset_load(&d->cx.dangerous, path, err));
    for (size_t i = 0; i < NDET; i++) {
        MH_CHECK(registry[i]->create(&d->cx, &d->self[i]));
        if (state && registry[i]->load) MH_CHECK(registry[i]->load(d->self[i], &d->cx, state));
    }
out:
    if (st) {
        mh_detectors_free(d);
        return st;
    }
    d->cx.err = NULL;
    *out = d;
    return MH_OK;
}

mh_status mh_detectors_feed(mh_detectors *d, struct mh_event *ev, mh_error *err)
{
    if (d->finished) return mh_error_set(err, MH_EINVAL, "detectors already finished", "%s", "");
    d->cx.stats.events++;
    if (ev->time == MH_TIME_NONE) {
        d->cx.stats.events_no_time++;
        return MH_OK;
    }
    if (d->cx.run_first == MH_TIME_NONE || ev->time < d->cx.run_first) d->cx.run_first = ev->time;
    if (d->cx.run_last == MH_TIME_NONE || ev->time > d->cx.run_last) d->cx.run_last = ev->time;
    d->cx.err = err;
    d->cx.feeds++; /* invalidates the capture of the previous event */
    d->cx.feeding = true;
    mh_status st = MH_OK;
    for (size_t i = 0; i < NDET && !st; i++) st = registry[i]->feed(d->self[i], &d->cx, ev);
    d->cx.feeding = false;
    d->cx.err = NULL;
    return st;
}

static mh_status seed(struct mh_det_ctx *cx, const char *prefix, struct mh_slice v)
{
    char key[600];
    if (!v.len || v.len > 512) return MH_OK;
    int n = snprintf(key, sizeof key, "%s:%.*s", prefix, (int)v.len, v.ptr);
    struct mh_map_entry *e;
    mh_status st = mh_map_put(&cx->seeds, key, (size_t)n, &e, NULL);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    return st;
}

mh_status mh_detectors_add_finding(mh_detectors *d, const struct mh_finding *a, mh_error *err)
{
    (void)err;
    if (a->level < d->cx.cfg.ctx_seed_level) return MH_OK;
    MH_TRY(seed(&d->cx, "ip", a->ent[MH_ENT_IP]));
    MH_TRY(seed(&d->cx, "session", a->ent[MH_ENT_SESSION_ID]));
    return MH_OK;
}

bool mh_det_seeded(const struct mh_det_ctx *cx, const char *prefix, struct mh_slice v)
{
    char key[600];
    if (!v.len || v.len > 512) return false;
    int n = snprintf(key, sizeof key, "%s:%.*s", prefix, (int)v.len, v.ptr);
    return mh_map_get(&cx->seeds, key, (size_t)n) != NULL;
}

mh_status mh_det_seed_from_pending(struct mh_det_ctx *cx)
{
    for (size_t i = 0; i < cx->npending; i++) {
        const struct mh_det_pending *p = &cx->pending[i];
        if (p->unmet || p->level < cx->cfg.ctx_seed_level) continue;
        MH_TRY(seed(cx, "ip", mh_det_str(cx, p->ev.ent[MH_ENT_IP])));
        MH_TRY(seed(cx, "session", mh_det_str(cx, p->ev.ent[MH_ENT_SESSION_ID])));
    }
    return MH_OK;
}

#define CMP(a, b)                                                                                  \
    do {                                                                                           \
        if ((a) != (b)) return (a) < (b) ? -1 : 1;                                                 \
    } while (0)

/* Comparators take the context through glibc's qsort_r (_GNU_SOURCE). */
static int cmp_pending(const void *pa, const void *pb, void *arg)
{
    const struct mh_det_pending *a = pa, *b = pb;
    const struct mh_det_ctx *cx = arg;
    CMP(a->ev.time, b->ev.time);
    int c = strcmp(a->rule->id, b->rule->id);
    if (c) return c;
    CMP(a->ev.ref.file, b->ev.ref.file);
    CMP(a->ev.ref.record, b->ev.ref.record);
    CMP(a->ev.ref.offset, b->ev.ref.offset);
    CMP(a->level, b->level);
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) {
        c = mh_slice_cmp(mh_det_str(cx, a->ev.ent[i]), mh_det_str(cx, b->ev.ent[i]));
        if (c) return c;
    }
    CMP(a->first, b->first);
    CMP(a->last, b->last);
    CMP(a->count, b->count);
    CMP(a->nfields, b->nfields);
    const struct mh_det_field *fa = cx->fields + a->f0, *fb = cx->fields + b->f0;
    for (uint32_t i = 0; i < a->nfields; i++) {
        c = strcmp(fa[i].name, fb[i].name);
        if (c) return c;
        CMP(fa[i].is_num, fb[i].is_num);
        if (fa[i].is_num) CMP(fa[i].num, fb[i].num);
        else {
            c = mh_slice_cmp(mh_det_str(cx, fa[i].str), mh_det_str(cx, fb[i].str));
            if (c) return c;
        }
    }
    return 0;
}

static mh_status emit_one(mh_detectors *d, const struct mh_det_pending *p)
{
    struct mh_det_ctx *cx = &d->cx;
    struct mh_detection det;
    char nums[MH_DETECTION_MAX_FIELDS][24];
    memset(&det, 0, sizeof det);
    det.finding.rule_id = p->rule->id;
    det.finding.title = p->rule->title;
    det.finding.detection = p->rule->detection;
    det.finding.level = p->level;
    det.finding.tags = p->rule->tags;
    det.finding.ntags = p->rule->ntags;
    det.finding.time = p->ev.time;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) det.finding.ent[i] = mh_det_str(cx, p->ev.ent[i]);
    det.finding.ref = p->ev.ref;
    det.description = p->rule->description;
    det.first = p->first;
    det.last = p->last;
    det.count = p->count;
    det.precondition = p->unmet ? "unmet" : "met";
    const struct mh_det_field *pf = cx->fields + p->f0;
    for (uint32_t i = 0; i < p->nfields; i++) {
        det.fields[i].name = pf[i].name;
        if (pf[i].is_num) {
            int n = snprintf(nums[i], sizeof nums[i], "%lld", (long long)pf[i].num);
            det.fields[i].value = mh_slice_make(nums[i], (size_t)n);
        } else {
            det.fields[i].value = mh_det_str(cx, pf[i].str);
        }
    }
    det.nfields = p->nfields;
    cx->stats.detections++;
    return d->emit ? d->emit(d->emit_ctx, &det) : MH_OK;
}

static int cmp_gap(const void *pa, const void *pb, void *arg)
{
    const struct mh_det_gap_rec *a = pa, *b = pb;
    const struct mh_det_ctx *cx = arg;
    int c = mh_slice_cmp(mh_det_str(cx, a->mailbox), mh_det_str(cx, b->mailbox));
    if (c) return c;
    CMP(a->start, b->start);
    CMP(a->end, b->end);
    CMP(a->ref.file, b->ref.file);
    CMP(a->ref.record, b->ref.record);
    return 0;
}

static int cmp_link(const void *pa, const void *pb, void *arg)
{
    const struct mh_det_link_rec *a = pa, *b = pb;
    const struct mh_det_ctx *cx = arg;
    CMP(a->time, b->time);
    CMP(a->a_kind, b->a_kind);
    int c = mh_slice_cmp(mh_det_str(cx, a->a), mh_det_str(cx, b->a));
    if (c) return c;
    CMP(a->b_kind, b->b_kind);
    c = mh_slice_cmp(mh_det_str(cx, a->b), mh_det_str(cx, b->b));
    if (c) return c;
    CMP(a->identity, b->identity);
    return strcmp(a->why, b->why);
}

mh_status mh_detectors_finish(mh_detectors *d, mh_error *err)
{
    mh_status st = MH_OK;
    bool in_tx = false;
    if (d->finished) return mh_error_set(err, MH_EINVAL, "detectors already finished", "%s", "");
    d->finished = true;
    d->cx.err = err;
    for (size_t i = 0; i < NDET; i++) MH_CHECK(registry[i]->finish(d->self[i], &d->cx));
    if (d->cx.npending)
        qsort_r(d->cx.pending, d->cx.npending, sizeof *d->cx.pending, cmp_pending, &d->cx);
    if (d->cx.ngaps) qsort_r(d->cx.gaps, d->cx.ngaps, sizeof *d->cx.gaps, cmp_gap, &d->cx);
    if (d->cx.nlinks) qsort_r(d->cx.links, d->cx.nlinks, sizeof *d->cx.links, cmp_link, &d->cx);
    if (d->state) {
        MH_CHECK(mh_state_begin(d->state, err));
        in_tx = true;
        for (size_t i = 0; i < NDET; i++)
            if (registry[i]->save) MH_CHECK(registry[i]->save(d->self[i], &d->cx, d->state));
        if (d->saver) MH_CHECK(d->saver(d->saver_ctx, d->state, err));
        if (d->cx.run_first != MH_TIME_NONE)
            MH_CHECK(mh_state_add_run(d->state, d->cx.run_first, d->cx.run_last, err));
        MH_CHECK(mh_state_commit(d->state, err));
        in_tx = false;
    }
    for (size_t i = 0; i < d->cx.npending; i++) MH_CHECK(emit_one(d, &d->cx.pending[i]));
out:
    if (in_tx) mh_state_rollback(d->state);
    d->cx.err = NULL;
    return st;
}

mh_status mh_detectors_gaps(const mh_detectors *d, mh_gap_fn fn, void *ctx)
{
    for (size_t i = 0; i < d->cx.ngaps; i++) {
        const struct mh_det_gap_rec *g = &d->cx.gaps[i];
        struct mh_coverage_gap out = {mh_det_str(&d->cx, g->mailbox), g->start, g->end,
                                      "throttled", g->ref};
        MH_TRY(fn(ctx, &out));
    }
    return MH_OK;
}

mh_status mh_detectors_links(const mh_detectors *d, mh_link_fn fn, void *ctx)
{
    for (size_t i = 0; i < d->cx.nlinks; i++) {
        const struct mh_det_link_rec *l = &d->cx.links[i];
        struct mh_link out = {(enum mh_key_kind)l->a_kind, (enum mh_key_kind)l->b_kind,
                              mh_det_str(&d->cx, l->a), mh_det_str(&d->cx, l->b), l->time, l->why,
                              l->identity};
        MH_TRY(fn(ctx, &out));
    }
    return MH_OK;
}

const struct mh_detector_stats *mh_detectors_stats(const mh_detectors *d)
{
    return &d->cx.stats;
}

const struct mh_appset *mh_detectors_first_party(const mh_detectors *d)
{
    return &d->cx.first_party;
}

/* ---- helpers for detector implementations ---- */

/* The detectors intern the same entity slices of an event one after the
 * other: a small cache keyed by the slice's address remembers the id, and a
 * hit is confirmed by comparing the text, so a reused buffer with other
 * bytes simply misses. */
static size_t icache_slot(struct mh_slice s)
{
    uintptr_t a = (uintptr_t)s.ptr;
    return (size_t)((a >> 3) ^ (a >> 11) ^ s.len) & (MH_DET_ICACHE - 1);
}

uint32_t mh_det_intern(struct mh_det_ctx *cx, struct mh_slice s)
{
    if (!s.len) return 0;
    size_t slot = icache_slot(s);
    uint32_t id = cx->icache[slot];
    if (id && cx->icache_ptr[slot] == s.ptr) {
        struct mh_slice k = cx->strs.entries[id - 1].key;
        if (k.len == s.len && memcmp(k.ptr, s.ptr, s.len) == 0) return id;
    }
    struct mh_map_entry *e;
    bool created;
    mh_status st = mh_map_put(&cx->strs, s.ptr, s.len, &e, &created);
    if (st) {
        cx->stats.strings_dropped++;
        return 0;
    }
    /* entries are kept in insertion order: the id is the index + 1 */
    id = (uint32_t)(e - cx->strs.entries) + 1;
    cx->icache[slot] = id;
    cx->icache_ptr[slot] = s.ptr;
    return id;
}

uint32_t mh_det_intern_lower(struct mh_det_ctx *cx, struct mh_slice s)
{
    char buf[512];
    if (s.len > sizeof buf) return mh_det_intern(cx, s);
    bool upper = false;
    for (size_t i = 0; i < s.len; i++) {
        buf[i] = (char)mh_ascii_lower((unsigned char)s.ptr[i]);
        upper |= buf[i] != s.ptr[i];
    }
    return mh_det_intern(cx, upper ? mh_slice_make(buf, s.len) : s);
}

uint32_t mh_det_lookup(const struct mh_det_ctx *cx, struct mh_slice s)
{
    if (!s.len) return 0;
    struct mh_map_entry *e = mh_map_get(&cx->strs, s.ptr, s.len);
    return e ? (uint32_t)(e - cx->strs.entries) + 1 : 0;
}

struct mh_slice mh_det_str(const struct mh_det_ctx *cx, uint32_t id)
{
    if (!id || id > cx->strs.n) return MH_SLICE_NULL;
    return cx->strs.entries[id - 1].key;
}

mh_status mh_det_bind_str(struct mh_det_ctx *cx, mh_db_stmt *q, int idx, uint32_t id)
{
    struct mh_slice s = mh_det_str(cx, id);
    return mh_db_bind_text(q, idx, s.ptr ? s.ptr : "", s.len, cx->err);
}

mh_status mh_det_step(struct mh_det_ctx *cx, mh_db_stmt *q)
{
    bool row;
    mh_status st = mh_db_step(q, &row, cx->err);
    mh_db_reset(q);
    return st;
}

mh_status mh_det_entity(struct mh_event *ev, enum mh_entity e, struct mh_slice *out)
{
    mh_status st = mh_event_entity(ev, e, out);
    if (st == MH_ENOTFOUND) {
        *out = MH_SLICE_NULL;
        return MH_OK;
    }
    if (st) return st;
    *out = mh_slice_trim(*out);
    return MH_OK;
}

struct scalar {
    struct mh_slice s;
    bool got;
};

static bool take_scalar(void *ctx, const struct mh_value *v)
{
    struct scalar *f = ctx;
    struct mh_slice t;
    switch (v->type) {
    case MH_JSTR:
    case MH_JNUM: t = mh_slice_trim(v->text); break;
    case MH_JTRUE: t = MH_SLICE_LIT("true"); break;
    case MH_JFALSE: t = MH_SLICE_LIT("false"); break;
    default: return false;
    }
    if (!t.len) return false;
    f->s = t;
    f->got = true;
    return true;
}

mh_status mh_det_field(struct mh_event *ev, const char *const *paths, struct mh_slice *out)
{
    for (const char *const *p = paths; *p; p++) {
        struct scalar f = {MH_SLICE_NULL, false};
        MH_TRY(mh_event_get(ev, *p, strlen(*p), take_scalar, &f, NULL));
        if (f.got) {
            *out = f.s;
            return MH_OK;
        }
    }
    *out = MH_SLICE_NULL;
    return MH_OK;
}

bool mh_det_parse_i64(struct mh_slice s, int64_t *out)
{
    if (!s.len || s.len > 18) return false;
    size_t i = 0;
    bool neg = false;
    if (s.ptr[0] == '-') neg = true, i = 1;
    if (i == s.len) return false;
    int64_t v = 0;
    for (; i < s.len; i++) {
        if (s.ptr[i] == '.') { /* "50126.0" */
            for (size_t j = i + 1; j < s.len; j++)
                if (s.ptr[j] != '0') return false;
            break;
        }
        if (s.ptr[i] < '0' || s.ptr[i] > '9') return false;
        v = v * 10 + (s.ptr[i] - '0');
    }
    *out = neg ? -v : v;
    return true;
}

mh_status mh_det_error_code(struct mh_det_ctx *cx, struct mh_event *ev, bool *has, int64_t *code)
{
    static const char *const paths[] = {"properties.status.errorCode", "status.errorCode",
                                        "ErrorNumber", "ResultType", "resultType",
                                        "Status.errorCode", NULL};
    /* Several detectors ask for the code of the same event: read it once. */
    if (cx->feeding && cx->code_feed == cx->feeds && cx->code_ev == ev) {
        *has = cx->code_has;
        *code = cx->code;
        return MH_OK;
    }
    struct mh_slice s;
    bool got = false;
    int64_t v = 0;
    MH_TRY(mh_det_field(ev, paths, &s));
    if (s.len && mh_det_parse_i64(s, &v)) got = true;
    /* UAL STS logons without ErrorNumber: the operation says it. */
    if (!got && ev->kind == MH_SRC_UAL_ENTRA_LOGON) {
        struct mh_slice op;
        MH_TRY(mh_det_entity(ev, MH_ENT_OPERATION_KEY, &op));
        if (mh_slice_eq_cstr(op, "userloggedin")) got = true, v = 0;
    }
    if (cx->feeding) {
        cx->code_feed = cx->feeds;
        cx->code_ev = ev;
        cx->code_has = got;
        cx->code = v;
    }
    *has = got;
    if (got) *code = v;
    return MH_OK;
}

bool mh_det_evid_before(const struct mh_event *ev, const struct mh_det_evid *e)
{
    if (e->time == MH_TIME_NONE || ev->time < e->time) return true;
    if (ev->time != e->time || !ev->rec) return false;
    return ev->rec->file < e->ref.file ||
           (ev->rec->file == e->ref.file && ev->rec->number < e->ref.record);
}

mh_status mh_det_capture(struct mh_det_ctx *cx, struct mh_event *ev, struct mh_det_evid *out)
{
    /* Several detectors capture the same event: intern its entities once. */
    if (cx->feeding && cx->cap_feed == cx->feeds && cx->cap_ev == ev) {
        *out = cx->cap;
        return MH_OK;
    }
    struct mh_det_evid e;
    memset(&e, 0, sizeof e);
    e.time = ev->time;
    for (int i = 0; i < MH_ALERT_ENTITIES; i++) {
        struct mh_slice s;
        MH_TRY(mh_det_entity(ev, (enum mh_entity)i, &s));
        e.ent[i] = mh_det_intern(cx, s);
    }
    if (ev->rec) {
        e.ref.file = ev->rec->file;
        e.ref.record = ev->rec->number;
        e.ref.offset = ev->rec->offset;
    }
    if (cx->feeding) {
        cx->cap = e;
        cx->cap_ev = ev;
        cx->cap_feed = cx->feeds;
    }
    *out = e;
    return MH_OK;
}

mh_status mh_det_operation_count(struct mh_event *ev, uint64_t *out)
{
    static const char *const count_paths[] = {"OperationCount", NULL};
    struct mh_slice cnt;
    MH_TRY(mh_det_field(ev, count_paths, &cnt));
    int64_t v;
    if (!cnt.len || !mh_det_parse_i64(cnt, &v) || v < 1) v = 1;
    *out = v > 1000000000 ? 1000000000u : (uint64_t)v;
    return MH_OK;
}

bool mh_det_code_in(const int32_t *codes, size_t n, int64_t code)
{
    for (size_t i = 0; i < n; i++)
        if (codes[i] == code) return true;
    return false;
}

const char *const mh_det_asn_paths[] = {"properties.autonomousSystemNumber",
                                         "autonomousSystemNumber", "AutonomousSystemNumber", NULL};

bool mh_det_is_signin(enum mh_source_kind k)
{
    return k >= MH_SRC_SIGNIN_INTERACTIVE && k <= MH_SRC_SIGNIN_MANAGED_IDENTITY;
}

uint32_t mh_det_stream_bit(enum mh_source_kind k)
{
    switch (k) {
    case MH_SRC_SIGNIN_INTERACTIVE: return MH_STREAM_INTERACTIVE;
    case MH_SRC_SIGNIN_NONINTERACTIVE: return MH_STREAM_NONINTERACTIVE;
    case MH_SRC_SIGNIN_SERVICE_PRINCIPAL: return MH_STREAM_SERVICE_PRINCIPAL;
    case MH_SRC_SIGNIN_MANAGED_IDENTITY: return MH_STREAM_MANAGED_IDENTITY;
    case MH_SRC_UAL_ENTRA_LOGON: return MH_STREAM_UAL_LOGON;
    default: return 0;
    }
}

bool mh_det_list_match(const char *list, struct mh_slice s, bool substr)
{
    const char *p = list;
    while (*p) {
        while (*p == ' ' || *p == ',') p++;
        if (!*p) break;
        const char *e = p;
        while (*e && *e != ',') e++;
        struct mh_slice item = mh_slice_trim(mh_slice_make(p, (size_t)(e - p)));
        if (item.len) {
            if (!substr) {
                if (mh_slice_eq_nocase(item, s)) return true;
            } else if (item.len <= s.len) {
                for (size_t i = 0; i + item.len <= s.len; i++)
                    if (mh_slice_eq_nocase(item, mh_slice_make(s.ptr + i, item.len))) return true;
            }
        }
        p = e;
    }
    return false;
}

bool mh_det_first_party(const struct mh_det_ctx *cx, struct mh_slice id)
{
    return mh_appset_has(&cx->first_party, id);
}

struct mh_det_pending *mh_det_pend(struct mh_det_ctx *cx, const struct mh_det_rule *rule,
                                   enum mh_level level, const struct mh_det_evid *ev)
{
    if (MH_GROW(cx->pending, cx->cap_pending, cx->npending + 1, 64, MH_DET_MAX_PENDING) != MH_OK) {
        cx->stats.dropped++;
        return NULL;
    }
    struct mh_det_pending *p = &cx->pending[cx->npending++];
    memset(p, 0, sizeof *p);
    p->rule = rule;
    p->level = level;
    p->ev = *ev;
    p->first = p->last = ev->time;
    p->count = 1;
    p->f0 = (uint32_t)cx->nfields;
    return p;
}

/* The next field slot of p in the pool. A record's fields must stay
 * contiguous: when another record's fields were appended since (a detector
 * went back to an earlier record), p's fields move to the end first. */
static struct mh_det_field *pend_field(struct mh_det_ctx *cx, struct mh_det_pending *p)
{
    if (!p || p->nfields == MH_DETECTION_MAX_FIELDS) return NULL;
    bool at_end = p->f0 + p->nfields == cx->nfields;
    size_t need = at_end ? 1 : (size_t)p->nfields + 1;
    if (MH_GROW(cx->fields, cx->cap_fields, cx->nfields + need, 256,
                (size_t)MH_DET_MAX_PENDING * MH_DETECTION_MAX_FIELDS) != MH_OK) {
        cx->stats.dropped++;
        return NULL;
    }
    if (!at_end) {
        memcpy(cx->fields + cx->nfields, cx->fields + p->f0, p->nfields * sizeof *cx->fields);
        p->f0 = (uint32_t)cx->nfields;
        cx->nfields += p->nfields;
    }
    cx->nfields++;
    return &cx->fields[p->f0 + p->nfields++];
}

void mh_det_pend_str(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name,
                     struct mh_slice v)
{
    struct mh_det_field *f = pend_field(cx, p);
    if (!f) return;
    f->name = name;
    f->is_num = false;
    f->str = mh_det_intern(cx, v);
    f->num = 0;
}

void mh_det_pend_num(struct mh_det_ctx *cx, struct mh_det_pending *p, const char *name, int64_t v)
{
    struct mh_det_field *f = pend_field(cx, p);
    if (!f) return;
    f->name = name;
    f->is_num = true;
    f->str = 0;
    f->num = v;
}

void *mh_det_sorted_insert(void *arr, uint32_t *n, uint32_t max, size_t size, uint32_t i,
                           bool *evicted)
{
    char *a = arr;
    *evicted = *n >= max;
    if (*evicted) {
        if (i == 0) return NULL;
        /* [1, i) moves down one: slot i - 1 is the new element's */
        memmove(a, a + size, (size_t)(i - 1) * size);
        i--;
    } else {
        memmove(a + (size_t)(i + 1) * size, a + (size_t)i * size, (size_t)(*n - i) * size);
        (*n)++;
    }
    memset(a + (size_t)i * size, 0, size);
    return a + (size_t)i * size;
}

mh_status mh_det_slot(struct mh_det_ctx *cx, struct mh_map *idx, const void *key, size_t klen,
                      void **arr, size_t *cap, size_t *n, size_t size, size_t max, void **out,
                      bool *created)
{
    struct mh_map_entry *e;
    bool made = false;
    mh_status st = MH_OK;
    *out = NULL;
    if (created) *created = false;
    if (*n >= max) {
        /* the array is full: only a key it already holds has a slot */
        e = mh_map_get(idx, key, klen);
        if (!e) st = MH_ELIMIT;
    } else {
        st = mh_map_put(idx, key, klen, &e, &made);
    }
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    if (made) {
        /* *n < max here: a full array takes no new key (above) */
        MH_TRY(mh_grow(arr, cap, *n + 1, size, 64, max));
        e->value = *n;
        memset((char *)*arr + *n * size, 0, size);
        (*n)++;
        if (created) *created = true;
    }
    *out = (char *)*arr + (size_t)e->value * size;
    return MH_OK;
}

mh_status mh_det_gap(struct mh_det_ctx *cx, uint32_t mailbox, mh_time start, mh_time end,
                     const struct mh_source_ref *ref)
{
    mh_status st;
    MH_DET_GROW(cx->gaps, cx->cap_gaps, cx->ngaps, MH_DET_MAX_GAPS, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    cx->gaps[cx->ngaps++] = (struct mh_det_gap_rec){mailbox, start, end, *ref};
    return MH_OK;
}

mh_status mh_det_link(struct mh_det_ctx *cx, enum mh_key_kind ak, uint32_t a, enum mh_key_kind bk,
                      uint32_t b, mh_time t, const char *why)
{
    if (!a || !b || (a == b && ak == bk)) return MH_OK;
    mh_status st;
    MH_DET_GROW(cx->links, cx->cap_links, cx->nlinks, MH_DET_MAX_LINKS, st);
    if (st == MH_ELIMIT) {
        cx->stats.dropped++;
        return MH_OK;
    }
    if (st) return st;
    cx->links[cx->nlinks++] = (struct mh_det_link_rec){(uint8_t)ak, (uint8_t)bk, false, a, b, t, why};
    return MH_OK;
}

mh_status mh_det_identity(struct mh_det_ctx *cx, enum mh_key_kind ak, uint32_t a,
                          enum mh_key_kind bk, uint32_t b, mh_time t, const char *why)
{
    if (!a || !b || (a == b && ak == bk)) return MH_OK;
    /* one record per unordered pair; the earliest time is kept (deterministic) */
    uint32_t k[4] = {ak, a, bk, b};
    if (ak > bk || (ak == bk && a > b)) {
        k[0] = bk, k[1] = b, k[2] = ak, k[3] = a;
    }
    struct mh_det_link_rec *l;
    bool created;
    mh_status st;
    MH_DET_SLOT(cx, &cx->identities, k, sizeof k, cx->links, cx->cap_links, cx->nlinks,
                MH_DET_MAX_LINKS, l, &created, st);
    if (st || !l) return st;
    if (created)
        *l = (struct mh_det_link_rec){(uint8_t)k[0], (uint8_t)k[2], true, k[1], k[3], t, why};
    else if (t < l->time)
        l->time = t;
    return MH_OK;
}

size_t mh_det_format_duration(mh_time d, char out[32])
{
    int64_t s = d / MH_USEC_PER_SEC;
    int n;
    if (s % 86400 == 0 && s) n = snprintf(out, 32, "%lldd", (long long)(s / 86400));
    else if (s % 3600 == 0 && s) n = snprintf(out, 32, "%lldh", (long long)(s / 3600));
    else if (s % 60 == 0 && s) n = snprintf(out, 32, "%lldm", (long long)(s / 60));
    else n = snprintf(out, 32, "%llds", (long long)s);
    return n < 0 ? 0 : (size_t)n;
}
