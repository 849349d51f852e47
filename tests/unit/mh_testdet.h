/*
 * tests/unit/mh_testdet.h -- the detector harness shared by the detector unit tests (header only)
 *
 * What test_detect.c and test_detect_apps.c each used to carry a copy of: a
 * real normalizer and detector set, records fed one JSON object at a time
 * (JSONL, numbered from 1 in feed order) and the detections going to the
 * test's own callback.
 *
 *   struct run { struct mh_testdet det; ...what on_det collects... };
 *   mh_testdet_begin(&r.det, NULL, NULL, on_det, &r);   (NULL: default config, no state)
 *   mh_testdet_feed(&r.det, json);  ...
 *   mh_testdet_finish(&r.det);                          (end of input: pending detections)
 *   mh_testdet_free(&r.det);
 *
 * mh_testdet_state_path(path) turns a mkstemp template ("/tmp/x_XXXXXX") into
 * a fresh name for a state file that does not exist yet.
 *
 * Each step CHECKs what it calls (begin 2, feed 3 -- or 1 when the record does
 * not normalize --, finish 1), so a test counts the same checks as before.
 */
#ifndef MH_TESTDET_H
#define MH_TESTDET_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "correlate/detector.h"
#include "mh_test.h"
#include "normalize/event.h"

struct mh_testdet {
    mh_normalizer *nz;
    mh_detectors *d;
    uint64_t recno; /* records fed so far */
};

static inline void mh_testdet_begin(struct mh_testdet *t, const struct mh_detector_config *cfg,
                                    mh_state *st, mh_detection_fn on_det, void *ctx)
{
    memset(t, 0, sizeof *t);
    struct mh_detector_config c;
    if (cfg) c = *cfg;
    else mh_detector_config_defaults(&c);
    CHECK(mh_normalizer_new(&t->nz) == MH_OK);
    mh_error err;
    mh_error_clear(&err);
    mh_status s = mh_detectors_new(&c, st, on_det, ctx, &t->d, &err);
    if (s) fprintf(stderr, "detectors_new: %s %s %s\n", mh_status_str(s), err.msg ? err.msg : "",
                   err.detail);
    CHECK(s == MH_OK);
}

/* Feed one record; record numbers count from 1 in feed order. */
static inline void mh_testdet_feed(struct mh_testdet *t, const char *json)
{
    struct mh_record rec;
    memset(&rec, 0, sizeof rec);
    rec.json = rec.raw = json;
    rec.json_len = rec.raw_len = (uint32_t)strlen(json);
    rec.format = MH_FMT_JSONL;
    rec.number = ++t->recno;
    rec.line = rec.number;
    struct mh_event ev;
    mh_error err;
    mh_error_clear(&err);
    mh_status s = mh_event_init(t->nz, &rec, &ev, &err);
    if (s) fprintf(stderr, "event_init: %s %s (%s)\n", mh_status_str(s), err.msg ? err.msg : "", json);
    CHECK(s == MH_OK);
    if (s) return;
    CHECK(ev.time != MH_TIME_NONE);
    CHECK(mh_detectors_feed(t->d, &ev, &err) == MH_OK);
    mh_normalizer_reset(t->nz);
}

static inline void mh_testdet_finish(struct mh_testdet *t)
{
    mh_error err;
    mh_error_clear(&err);
    mh_status s = mh_detectors_finish(t->d, &err);
    if (s) fprintf(stderr, "finish: %s %s %s\n", mh_status_str(s), err.msg ? err.msg : "", err.detail);
    CHECK(s == MH_OK);
}

static inline void mh_testdet_free(struct mh_testdet *t)
{
    mh_detectors_free(t->d);
    mh_normalizer_free(t->nz);
    t->d = NULL;
    t->nz = NULL;
}

/* A fresh state-file name from the mkstemp template in path (the file made
 * and removed again); false, after a failed CHECK, when mkstemp fails. */
static inline bool mh_testdet_state_path(char *path)
{
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    if (fd < 0) return false;
    close(fd);
    unlink(path);
    return true;
}

#endif
