/*
 * bench/prefilter.c -- the floor under `hunt`'s per-core throughput
 *
 *   bench_prefilter FILE RULES...
 *
 * Compiles the rules exactly as hunt does (mh_ruleset_add_path, then
 * mh_ruleset_compile) and times, in CPU seconds of this process, the two
 * passes every hunt run makes over every byte of a JSON Lines FILE before any
 * record is parsed:
 *   1. input: read(2) in MH_READ_CHUNK_BYTES chunks from the page cache, with
 *      a memchr for the line ends (the cheapest possible splitter);
 *   2. prefilter: the ruleset's literal database (rs->pf_db, Hyperscan)
 *      scanned over each record, as match.c does, with a callback that only
 *      counts.
 * Their sum is a lower bound on hunt's CPU time for these rules on this
 * machine: the JSON-aware splitter, parsing, evaluation and alert rendering
 * all come on top. Prints each pass in GB per CPU second, best of 3 (the
 * file is read once beforehand so the page cache is warm). Not a test.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "mailhound/limits.h"
#include "rules/multimatch.h"
#include "rules/ruleset.h"

static double cpu_now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static uint64_t g_hits;

static int count_hit(void *ctx, unsigned id, uint64_t from, uint64_t to)
{
    (void)ctx;
    (void)id;
    (void)from;
    (void)to;
    g_hits++;
    return 0;
}

/* Pass 1: read(2) + memchr over the whole file; returns CPU seconds, or < 0. */
static double pass_read(const char *path, char *chunk, uint64_t *lines)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    double t0 = cpu_now();
    uint64_t n = 0;
    for (;;) {
        ssize_t k = read(fd, chunk, MH_READ_CHUNK_BYTES);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) break;
        const char *p = chunk, *end = chunk + k;
        while ((p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            n++;
            p++;
        }
    }
    double t = cpu_now() - t0;
    close(fd);
    *lines = n;
    return t;
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: bench_prefilter FILE RULES...\n");
        return 2;
    }
    mh_error err = {0};
    struct mh_ruleset_opts ro = {0};
    mh_ruleset *rs = NULL;
    if (mh_ruleset_new(&ro, &rs, &err) != MH_OK) return 1;
    for (int i = 2; i < argc; i++)
        if (mh_ruleset_add_path(rs, argv[i], &err) != MH_OK) {
            fprintf(stderr, "bench_prefilter: %s: %s\n", argv[i], err.msg ? err.msg : "failed");
            return 1;
        }
    if (mh_ruleset_compile(rs, &err) != MH_OK) {
        fprintf(stderr, "bench_prefilter: compile: %s\n", err.msg ? err.msg : "failed");
        return 1;
    }
    struct stat sb;
    if (stat(argv[1], &sb) != 0 || sb.st_size <= 0) {
        fprintf(stderr, "bench_prefilter: %s: cannot stat or empty\n", argv[1]);
        return 1;
    }
    size_t size = (size_t)sb.st_size;
    char *chunk = mh_malloc(MH_READ_CHUNK_BYTES);
    char *all = mh_malloc(size);
    struct mh_mm_scratch *scratch = NULL;
    if (!chunk || !all || mh_mm_scratch_alloc(rs->pf_db, &scratch) != MH_OK) return 1;
    FILE *f = fopen(argv[1], "rb");
    if (!f || fread(all, 1, size, f) != size) {
        fprintf(stderr, "bench_prefilter: %s: short read\n", argv[1]);
        return 1;
    }
    fclose(f);

    double best_read = 1e30, best_scan = 1e30;
    uint64_t lines = 0;
    for (int rep = 0; rep < 3; rep++) {
        double t = pass_read(argv[1], chunk, &lines);
        if (t < 0) return 1;
        if (t < best_read) best_read = t;
        g_hits = 0;
        double t0 = cpu_now();
        const char *p = all, *end = all + size;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            if (!nl) nl = end;
            if (mh_mm_scan(rs->pf_db, scratch, p, (size_t)(nl - p), count_hit, NULL) != MH_OK) return 1;
            p = nl + 1;
        }
        t = cpu_now() - t0;
        if (t < best_scan) best_scan = t;
    }
    double gb = (double)size / 1e9;
    printf("prefilter floor: %.2f GB, %llu records, %zu prefilter patterns, %zu active rules\n", gb,
           (unsigned long long)lines, mh_mm_count(rs->pf_db), rs->nactive);
    printf("  input (read + line ends): %.3f CPU s, %.2f GB per CPU second\n", best_read,
           gb / best_read);
    printf("  prefilter (Hyperscan per record): %.3f CPU s, %.2f GB per CPU second, %llu hits\n",
           best_scan, gb / best_scan, (unsigned long long)g_hits);
    printf("  both, before any parsing: %.3f CPU s, at most %.2f GB per CPU second for hunt\n",
           best_read + best_scan, gb / (best_read + best_scan));
    mh_mm_scratch_free(scratch);
    mh_free(all);
    mh_free(chunk);
    mh_ruleset_free(rs);
    return 0;
}
