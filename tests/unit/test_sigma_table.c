/*
 * tests/unit/test_sigma_table.c -- data-driven Sigma semantics tables
 *
 * Runs every table under tests/sigma/semantics/ (always) and
 * tests/sigma/cloud/ (only when ../shared/corpora/sigma is present: the
 * SigmaHQ rules live there). A table is YAML:
 *
 *   cases:
 *     - name: contains is case-insensitive
 *       rule: |                 # a rule document (title/logsource added if absent)
 *         detection: {sel: {Operation|contains: inbox}, condition: sel}
 *       match:   ['{"Operation":"New-InboxRule"}']   # JSON events that must match
 *       nomatch: ['{"Operation":"Set-Mailbox"}']     # and must not
 *       reject: unknown modifier  # or: the rule must be rejected with this text
 *       warn: legacy aggregation  # a warning containing this text is expected
 *
 * A cloud table names a corpus rule instead of `rule:` (`file:` relative to
 * ../shared/corpora/sigma). Every event is evaluated by the fast path
 * (prefilter + fast matchers) AND the reference path (no prefilter, PCRE2
 * only): both must give the expected answer (the differential test on
 * every table input).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "match/match.h"
#include "mh_test.h"
#include "mh_testfs.h"
#include "normalize/event.h"
#include "rules/ruleset.h"
#include "rules/yaml.h"

#define SHARED "../shared/corpora/sigma"

struct notes {
    char rejected[1024];
    char warnings[4096];
};

static void on_note(void *ctx, enum mh_note_kind k, const struct mh_rule *r, const mh_error *e)
{
    (void)r;
    struct notes *n = ctx;
    char line[600];
    snprintf(line, sizeof line, "%s: %s; ", e->msg ? e->msg : "", e->detail);
    char *dst = k == MH_NOTE_REJECTED ? n->rejected : k == MH_NOTE_WARNING ? n->warnings : NULL;
    size_t cap = k == MH_NOTE_REJECTED ? sizeof n->rejected : sizeof n->warnings;
    if (dst) snprintf(dst + strlen(dst), cap - strlen(dst), "%s", line);
}

static int cases_run, events_run;

struct hit {
    const struct mh_rule *target;
    bool hit;
};

static mh_status on_match(void *ctx, const struct mh_rule *r, struct mh_event *ev)
{
    (void)ev;
    struct hit *h = ctx;
    if (r == h->target) h->hit = true;
    return MH_OK;
}

/* Evaluate one event in one mode: 1 matched, 0 not, -1 error. */
static int eval(const mh_ruleset *rs, const struct mh_rule *target, mh_normalizer *nz,
                const char *json, bool reference, const char *where)
{
    struct mh_record rec;
    memset(&rec, 0, sizeof rec);
    rec.json = json;
    rec.json_len = (uint32_t)strlen(json);
    rec.raw = json;
    rec.raw_len = rec.json_len;
    rec.number = 1;
    mh_matcher *m = NULL;
    if (mh_matcher_new(rs, reference, &m) != MH_OK) return -1;
    bool any = false;
    int result = 0;
    if (mh_match_prefilter(m, json, rec.json_len, &any) != MH_OK) result = -1;
    if (result == 0 && any) {
        struct mh_event ev;
        mh_error err;
        mh_error_clear(&err);
        if (mh_event_init(nz, &rec, &ev, &err) != MH_OK) {
            fprintf(stderr, "%s: bad test event: %s (%s)\n", where, err.msg, err.detail);
            result = -1;
        } else {
            struct hit h = {target, false};
            if (mh_match_event(m, &ev, on_match, &h) != MH_OK) result = -1;
            else result = h.hit;
        }
    }
    mh_matcher_free(m);
    mh_normalizer_reset(nz);
    return result;
}

static const struct mh_rule *first_rule(const mh_ruleset *rs)
{
    /* the correlation if any (its inputs are helpers), else the first rule */
    for (size_t i = 0; i < rs->nrules; i++)
        if (rs->rules[i]->kind == MH_RK_DETECTION && rs->rules[i]->emit) return rs->rules[i];
    return rs->nrules ? rs->rules[0] : NULL;
}

static void run_events(const mh_ruleset *rs, const struct mh_rule *target, mh_normalizer *nz,
                       const struct mh_ynode *list, bool want, const char *where)
{
    if (!list) return;
    if (list->kind != MH_Y_SEQ) {
        fprintf(stderr, "%s: match/nomatch must be a list\n", where);
        CHECK(0);
        return;
    }
    for (uint32_t i = 0; i < list->n; i++) {
        const struct mh_ynode *e = list->kids[i];
        char w[600];
        snprintf(w, sizeof w, "%s: %s[%u]", where, want ? "match" : "nomatch", i);
        for (int mode = 0; mode < 2; mode++) {
            int got = eval(rs, target, nz, e->str, mode == 1, w);
            if (got != (int)want)
                fprintf(stderr, "%s (%s path): got %d, want %d: %s\n", w,
                        mode ? "reference" : "fast", got, want, e->str);
            CHECK(got == (int)want);
        }
        events_run++;
    }
}

static void run_case(const char *table, const struct mh_ynode *c, mh_normalizer *nz,
                     const char *fieldmaps, const char *expand)
{
    const struct mh_ynode *name = mh_ymap_get(c, "name");
    const struct mh_ynode *rule = mh_ymap_get(c, "rule");
    const struct mh_ynode *file = mh_ymap_get(c, "file");
    const struct mh_ynode *reject = mh_ymap_get(c, "reject");
    const struct mh_ynode *warn = mh_ymap_get(c, "warn");
    char where[512];
    snprintf(where, sizeof where, "%s:%u: %s", table, c->line, name ? name->str : "(unnamed)");
    struct notes notes;
    memset(&notes, 0, sizeof notes);
    struct mh_ruleset_opts o = {0};
    o.fieldmap_dir = fieldmaps;
    o.expand_dir = expand;
    o.on_note = on_note;
    o.ctx = &notes;
    mh_ruleset *rs = NULL;
    mh_error err;
    mh_error_clear(&err);
    if (mh_ruleset_new(&o, &rs, &err) != MH_OK) {
        fprintf(stderr, "%s: ruleset: %s %s\n", where, err.msg, err.detail);
        CHECK(0);
        return;
    }
    cases_run++;
    if (rule) {
        size_t n = rule->len;
        char *text = malloc(n + 128);
        size_t w = 0;
        if (!strstr(rule->str, "title:")) w += (size_t)snprintf(text + w, 64, "title: t\n");
        if (!strstr(rule->str, "logsource:"))
            w += (size_t)snprintf(text + w, 64, "logsource: {product: json}\n");
        memcpy(text + w, rule->str, n);
        w += n;
        CHECK_INT(mh_ruleset_add_memory(rs, where, text, w, &err), MH_OK);
        free(text);
    } else if (file) {
        char path[1024];
        snprintf(path, sizeof path, "%s/%s", SHARED, file->str);
        CHECK_INT(mh_ruleset_add_path(rs, path, &err), MH_OK);
    }
    CHECK_INT(mh_ruleset_compile(rs, &err), MH_OK);
    if (reject) {
        bool ok = strstr(notes.rejected, reject->str) != NULL;
        if (!ok) fprintf(stderr, "%s: expected rejection '%s', got '%s'\n", where, reject->str, notes.rejected);
        CHECK(ok);
    } else if (notes.rejected[0]) {
        fprintf(stderr, "%s: unexpected rejection: %s\n", where, notes.rejected);
        CHECK(0);
    }
    if (warn) {
        bool ok = strstr(notes.warnings, warn->str) != NULL;
        if (!ok) fprintf(stderr, "%s: expected warning '%s', got '%s'\n", where, warn->str, notes.warnings);
        CHECK(ok);
    }
    const struct mh_rule *target = first_rule(rs);
    if (!reject && target) {
        run_events(rs, target, nz, mh_ymap_get(c, "match"), true, where);
        run_events(rs, target, nz, mh_ymap_get(c, "nomatch"), false, where);
    }
    mh_ruleset_free(rs);
}

static void run_table(const char *path, mh_normalizer *nz, const char *fieldmaps,
                      const char *expand)
{
    size_t len = 0;
    char *data = slurp(path, &len);
    CHECK(data != NULL);
    if (!data) return;
    struct mh_yfile yf;
    mh_yaml_init(&yf);
    mh_error err;
    mh_error_clear(&err);
    if (mh_yaml_parse(&yf, data, len, &err) != MH_OK) {
        fprintf(stderr, "%s:%llu:%llu: %s (%s)\n", path, (unsigned long long)err.line,
                (unsigned long long)err.column, err.msg, err.detail);
        CHECK(0);
    } else if (yf.ndocs == 1 && yf.docs[0].root) {
        const struct mh_ynode *root = yf.docs[0].root;
        const struct mh_ynode *cases = mh_ymap_get(root, "cases");
        const struct mh_ynode *file = mh_ymap_get(root, "file");
        if (file) {
            /* a cloud table: one corpus rule, cases inherit it */
            run_case(path, root, nz, fieldmaps, expand);
        }
        for (uint32_t i = 0; cases && i < cases->n; i++) run_case(path, cases->kids[i], nz, fieldmaps, expand);
    }
    mh_yaml_fini(&yf);
    mh_free(data);
}

static int cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void run_dir(const char *dir, mh_normalizer *nz, const char *fieldmaps, const char *expand)
{
    DIR *d = opendir(dir);
    if (!d) return;
    char *names[4096];
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < 4096) {
        size_t l = strlen(e->d_name);
        if (l > 4 && strcmp(e->d_name + l - 4, ".yml") == 0) names[n++] = strdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, cmp);
    for (size_t i = 0; i < n; i++) {
        char p[1024];
        snprintf(p, sizeof p, "%s/%s", dir, names[i]);
        run_table(p, nz, fieldmaps, expand);
        free(names[i]);
    }
}

static mh_normalizer *NZ;

static void t_semantics(void)
{
    run_dir("tests/sigma/semantics", NZ, "rules/fieldmaps", "tests/data/sigma/expand");
    CHECK(cases_run > 50);
    printf("semantics tables: %d cases, %d events (each on the fast and the reference path)\n",
           cases_run, events_run);
}

static void t_cloud(void)
{
    struct stat sb;
    if (stat(SHARED, &sb) != 0) {
        printf("skipped: cloud rule tables (%s absent)\n", SHARED);
        return;
    }
    int before = cases_run;
    run_dir("tests/sigma/cloud", NZ, "rules/fieldmaps", "tests/data/sigma/expand");
    printf("cloud rule tables: %d rules, %d events in all\n", cases_run - before, events_run);
    CHECK(cases_run - before >= 173);
}

int main(void)
{
    if (mh_normalizer_new(&NZ) != MH_OK) return 1;
    static const struct mh_test T[] = {{"semantics", t_semantics}, {"cloud", t_cloud}};
    int rc = MH_TEST_RUN(T);
    mh_normalizer_free(NZ);
    return rc;
}
