/*
 * bench/mail.c -- bench_mail: the two mail figures of issue 6 (run by bench/mail.sh)
 *
 *   bench_mail index PATH...
 *       header-only indexing (mail store walk, split, SHA-256, header scan,
 *       addresses, dates): messages per second of CPU time and of wall time.
 *   bench_mail secrets RULES REPS PATH...
 *       decodes every message once (MIME walk, not timed), keeps the decoded
 *       fragments in memory, then times only the secret scan over them with
 *       the rule file RULES (REPS passes): MB/s of decoded text per CPU
 *       second. Also prints the rule compile time and how many regexes
 *       Hyperscan compiled exactly / in prefilter mode / not at all.
 *
 * One thread. CPU time comes from getrusage (user + system), so a busy
 * machine inflates wall time but not the per-core figure.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "ingest/mailstore.h"
#include "ingest/mime.h"
#include "secrets/gitleaks.h"
#include "secrets/scan.h"

static double cpu_now(void)
{
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
           ru.ru_stime.tv_usec / 1e6;
}

static double wall_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + t.tv_nsec / 1e9;
}

static void quiet_bad(void *ctx, const mh_error *e, bool fatal)
{
    (void)ctx, (void)e, (void)fatal;
}

static mh_mailstore *build(char **paths, int n, double *cpu, double *wall)
{
    mh_mailstore *s = NULL;
    mh_error err;
    struct mh_mailstore_opts o = {quiet_bad, NULL, NULL, NULL};
    if (mh_mailstore_new(&o, &s, &err)) return NULL;
    double c0 = cpu_now(), w0 = wall_now();
    for (int i = 0; i < n; i++)
        if (mh_mailstore_add(s, paths[i], &err)) fprintf(stderr, "bench_mail: cannot read %s\n", paths[i]);
    *cpu = cpu_now() - c0;
    *wall = wall_now() - w0;
    return s;
}

static int cmd_index(int argc, char **argv)
{
    double cpu, wall;
    mh_mailstore *s = build(argv, argc, &cpu, &wall);
    if (!s) return 1;
    const struct mh_mailstore_stats *st = mh_mailstore_stats(s);
    printf("index: %llu messages, %llu files, %.1f MB raw; cpu %.3f s, wall %.3f s; "
           "%.0f msg/s per CPU second (%.0f msg/s wall)\n",
           (unsigned long long)st->locations, (unsigned long long)st->files, st->bytes / 1e6, cpu,
           wall, st->locations / (cpu > 0 ? cpu : 1e-9), st->locations / (wall > 0 ? wall : 1e-9));
    mh_mailstore_free(s);
    return 0;
}

struct frags {
    struct mh_buf text; /* fragments back to back */
    size_t *off;        /* start of each fragment (n + 1 entries) */
    size_t n, cap;
};

static mh_status keep(void *ctx, const struct mh_mime_fragment *f)
{
    struct frags *fr = ctx;
    if (!f->data) return MH_OK;
    if (fr->n + 2 > fr->cap) {
        size_t nc = fr->cap ? fr->cap * 2 : 1024;
        size_t *v = mh_realloc(fr->off, nc * sizeof *v);
        if (!v) return MH_ENOMEM;
        fr->off = v;
        fr->cap = nc;
    }
    fr->off[fr->n] = fr->text.len;
    MH_TRY(mh_buf_append(&fr->text, f->data, f->len));
    fr->n++;
    fr->off[fr->n] = fr->text.len;
    return MH_OK;
}

static mh_status count(void *ctx, const struct mh_secret_finding *f, const char *text)
{
    (void)f, (void)text;
    (*(size_t *)ctx)++;
    return MH_OK;
}

static int cmd_secrets(int argc, char **argv)
{
    if (argc < 3) return 2;
    const char *rules = argv[0];
    int reps = atoi(argv[1]) > 0 ? atoi(argv[1]) : 1;
    double cpu, wall;
    mh_mailstore *s = build(argv + 2, argc - 2, &cpu, &wall);
    if (!s) return 1;
    struct frags fr = {0};
    mh_buf_init(&fr.text, (size_t)1 << 34);
    struct mh_mime_walker *w = NULL;
    mh_error err;
    struct mh_buf raw;
    mh_buf_init(&raw, (size_t)1 << 30);
    if (mh_mime_walker_new(&w, &err)) return 1;
    double d0 = cpu_now();
    for (size_t i = 0; i < mh_mailstore_nlocs(s); i++) {
        struct mh_mime_stats ms;
        if (mh_mailstore_read(s, mh_mailstore_loc(s, i), true, &raw, &err)) continue;
        mh_status st = mh_mime_walk(w, raw.data, raw.len, keep, &fr, &ms, &err);
        if (st == MH_ENOMEM) return 1; /* unparsable messages are simply not counted */
    }
    double decode_cpu = cpu_now() - d0;
    mh_buf_fini(&raw);
    mh_mime_walker_free(w);

    struct mh_gl_config *c = NULL;
    struct mh_secrets_engine *e = NULL;
    struct mh_secrets_scratch *sc = NULL;
    struct mh_secrets_compile_stats cs;
    double c0 = cpu_now(), w0 = wall_now();
    if (mh_gl_load_file(rules, NULL, &c, &err) || mh_secrets_compile(c, 0, &e, &cs, &err) ||
        mh_secrets_scratch_new(e, &sc)) {
        char m[512];
        mh_error_format(&err, m, sizeof m);
        fprintf(stderr, "bench_mail: %s\n", m);
        return 1;
    }
    double ccpu = cpu_now() - c0, cwall = wall_now() - w0;
    printf("rules %s: %zu rules, %zu regexes: %zu exact in Hyperscan, %zu prefilter, %zu PCRE2 only; "
           "%zu keywords; load+compile cpu %.2f s (wall %.2f s)\n",
           rules, cs.rules, cs.regex_rules, cs.hs_exact, cs.hs_prefilter, cs.pcre_only, cs.keywords,
           ccpu, cwall);
    size_t findings = 0;
    struct mh_secrets_scan_stats st;
    memset(&st, 0, sizeof st);
    double s0 = cpu_now(), sw0 = wall_now();
    for (int r = 0; r < reps; r++)
        for (size_t i = 0; i < fr.n; i++)
            if (mh_secrets_scan(e, sc, "bench", fr.text.data + fr.off[i], fr.off[i + 1] - fr.off[i],
                                count, &findings, &st))
                return 1;
    double scpu = cpu_now() - s0, swall = wall_now() - sw0;
    double mb = (double)fr.text.len * reps / 1e6;
    printf("secrets: %llu messages -> %zu fragments, %.1f MB decoded text (decode cpu %.2f s, "
           "%.1f MB/s); scan x%d: %zu findings, cpu %.3f s, %.0f MB/s per CPU second (%.0f MB/s "
           "wall)\n",
           (unsigned long long)mh_mailstore_nlocs(s), fr.n, fr.text.len / 1e6, decode_cpu,
           fr.text.len / 1e6 / (decode_cpu > 0 ? decode_cpu : 1e-9), reps, findings / (size_t)reps,
           scpu, mb / (scpu > 0 ? scpu : 1e-9), mb / (swall > 0 ? swall : 1e-9));
    printf("secrets: per pass: %llu rule x fragment pairs past the keyword gate, %llu confirmed "
           "with PCRE2, %llu matches, %llu below entropy, %llu allowlisted\n",
           (unsigned long long)(st.gated_rules / (unsigned)reps),
           (unsigned long long)(st.confirmed_rules / (unsigned)reps),
           (unsigned long long)(st.matches / (unsigned)reps),
           (unsigned long long)(st.low_entropy / (unsigned)reps),
           (unsigned long long)(st.allowlisted / (unsigned)reps));
    mh_secrets_scratch_free(sc);
    mh_secrets_engine_free(e);
    mh_gl_free(c);
    mh_buf_fini(&fr.text);
    mh_free(fr.off);
    mh_mailstore_free(s);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc >= 3 && !strcmp(argv[1], "index")) return cmd_index(argc - 2, argv + 2);
    if (argc >= 5 && !strcmp(argv[1], "secrets")) return cmd_secrets(argc - 2, argv + 2);
    fprintf(stderr, "usage: bench_mail index PATH...\n"
                    "       bench_mail secrets RULES REPS PATH...\n");
    return 2;
}
