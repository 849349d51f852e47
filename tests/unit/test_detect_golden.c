/*
 * tests/unit/test_detect_golden.c -- golden cases of the built-in detectors
 *
 * Runs every case under tests/data/detect/ whose rules are all built-in
 * detector ids ("mh.*") through the real input path (mh_evstream: reader +
 * normalizer) and the detectors, and compares the alerts of those rules with
 * the case's `expect` file (format: tests/detect/make_cases.py). Cases of
 * Sigma rules need `mailhound hunt` and run in tests/detect/test_golden.sh.
 * The working directory is the source tree (CMake sets it).
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate/detector.h"
#include "mh_test.h"
#include "normalize/stream.h"

#define CASES "tests/data/detect"
#define MAXL 256

/* Bounded copy (truncates). */
static void copy(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = 0;
}

struct expect {
    char rules[16][64];
    size_t nrules;
    char alerts[MAXL][96];
    size_t nalerts;
};

static bool read_expect(const char *path, struct expect *e)
{
    FILE *f = fopen(path, "r");
    if (!f) return false;
    char line[2048];
    memset(e, 0, sizeof *e);
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = 0;
        if (strncmp(line, "rules ", 6) == 0) {
            char *save = NULL;
            for (char *t = strtok_r(line + 6, " ", &save); t && e->nrules < 16;
                 t = strtok_r(NULL, " ", &save))
                copy(e->rules[e->nrules++], sizeof e->rules[0], t);
        } else if (strncmp(line, "alert ", 6) == 0 && e->nalerts < MAXL) {
            copy(e->alerts[e->nalerts++], sizeof e->alerts[0], line + 6);
        }
    }
    fclose(f);
    return true;
}

struct got {
    const struct expect *e;
    char alerts[MAXL][96];
    size_t n;
};

static mh_status on_det(void *ctx, const struct mh_detection *d)
{
    struct got *g = ctx;
    for (size_t i = 0; i < g->e->nrules; i++) {
        if (strcmp(g->e->rules[i], d->finding.rule_id) != 0) continue;
        if (g->n < MAXL)
            snprintf(g->alerts[g->n++], sizeof g->alerts[0], "%s %llu", d->finding.rule_id,
                     (unsigned long long)d->finding.ref.record);
    }
    return MH_OK;
}

static int cmp(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void run_case(const char *name, int *ran)
{
    char path[512];
    struct expect e;
    snprintf(path, sizeof path, CASES "/%.64s/expect", name);
    if (!read_expect(path, &e)) return;
    for (size_t i = 0; i < e.nrules; i++)
        if (strncmp(e.rules[i], "mh.", 3) != 0) return; /* a Sigma case */
    (*ran)++;
    struct got g;
    memset(&g, 0, sizeof g);
    g.e = &e;
    struct mh_detector_config cfg;
    mh_detector_config_defaults(&cfg);
    mh_detectors *d = NULL;
    mh_evstream *s = NULL;
    mh_error err;
    mh_error_clear(&err);
    CHECK(mh_detectors_new(&cfg, NULL, on_det, &g, &d, &err) == MH_OK);
    CHECK(mh_evstream_new(NULL, &s) == MH_OK);
    snprintf(path, sizeof path, CASES "/%.64s/input.jsonl", name);
    if (!d || !s || mh_evstream_add_path(s, path) != MH_OK) {
        CHECK(!"setup");
        goto out;
    }
    struct mh_event *ev;
    mh_status st;
    while ((st = mh_evstream_next(s, &ev)) == MH_OK) CHECK(mh_detectors_feed(d, ev, &err) == MH_OK);
    CHECK(st == MH_EOF);
    CHECK(mh_detectors_finish(d, &err) == MH_OK);
    qsort(g.alerts, g.n, sizeof g.alerts[0], cmp);
    qsort(e.alerts, e.nalerts, sizeof e.alerts[0], cmp);
    bool same = g.n == e.nalerts;
    for (size_t i = 0; same && i < g.n; i++) same = strcmp(g.alerts[i], e.alerts[i]) == 0;
    if (!same) {
        fprintf(stderr, "case %s: got %zu alerts, expected %zu\n", name, g.n, e.nalerts);
        for (size_t i = 0; i < g.n; i++) fprintf(stderr, "  got      %s\n", g.alerts[i]);
        for (size_t i = 0; i < e.nalerts; i++) fprintf(stderr, "  expected %s\n", e.alerts[i]);
    }
    CHECK(same);
out:
    mh_evstream_free(s);
    mh_detectors_free(d);
}

static void t_cases(void)
{
    DIR *dir = opendir(CASES);
    if (!dir) {
        fprintf(stderr, "no %s (run from the source tree)\n", CASES);
        CHECK(dir != NULL);
        return;
    }
    char names[128][64];
    size_t n = 0;
    struct dirent *de;
    while ((de = readdir(dir)) && n < 128)
        if (de->d_name[0] != '.') copy(names[n++], sizeof names[0], de->d_name);
    closedir(dir);
    qsort(names, n, sizeof names[0], cmp);
    int ran = 0;
    for (size_t i = 0; i < n; i++) run_case(names[i], &ran);
    CHECK(ran >= 8); /* the built-in cases exist: a missing data tree must not pass */
}

/* Real sample (../shared, skipped when absent): the o365spray spray with its
 * follow-up success is detected by the built-in D1 on Henrietta's logon. */
static void t_shared_o365spray(void)
{
    const char *path = "../shared/corpora/m365/otrf-security-datasets/m365-atomic/o365spray_reporting.json";
    FILE *f = fopen(path, "r");
    if (!f) {
        printf("skipped: %s is absent (no shared corpora on this machine)\n", path);
        return;
    }
    fclose(f);
    struct expect e;
    memset(&e, 0, sizeof e);
    copy(e.rules[0], sizeof e.rules[0], "mh.d1.spray_success");
    e.nrules = 1;
    struct got g;
    memset(&g, 0, sizeof g);
    g.e = &e;
    struct mh_detector_config cfg;
    mh_detector_config_defaults(&cfg);
    mh_detectors *d = NULL;
    mh_evstream *s = NULL;
    CHECK(mh_detectors_new(&cfg, NULL, on_det, &g, &d, NULL) == MH_OK);
    CHECK(mh_evstream_new(NULL, &s) == MH_OK);
    if (d && s && mh_evstream_add_path(s, path) == MH_OK) {
        struct mh_event *ev;
        while (mh_evstream_next(s, &ev) == MH_OK) CHECK(mh_detectors_feed(d, ev, NULL) == MH_OK);
        CHECK(mh_detectors_finish(d, NULL) == MH_OK);
    }
    /* record 2 is the first UserLoggedIn of Henrietta from the spraying address */
    CHECK_INT(g.n, 1);
    if (g.n) CHECK_STREQ(g.alerts[0], "mh.d1.spray_success 2");
    mh_evstream_free(s);
    mh_detectors_free(d);
}

int main(void)
{
    static const struct mh_test tests[] = {{"cases", t_cases}, {"shared_o365spray", t_shared_o365spray}};
    return MH_TEST_RUN(tests);
}
